//! The set of operations the search has linearized so far: a bitset over a partition's
//! operations that also keeps, as it changes, how many leading words are all ones and where its
//! last nonzero word is. The memo stores only the words between the two (see [`super::memo`]),
//! which on a long history is a few words however many operations it has.

/// A bitset that tracks its all-ones prefix and its nonzero end.
#[derive(Clone, Debug)]
pub struct Linearized {
    words: Vec<u64>,
    /// Leading words that are all ones (`words[..ones]` is all ones, `words[ones]` is not).
    ones: usize,
    /// One past the last nonzero word (`words[end..]` is all zero).
    end: usize,
}

impl Linearized {
    /// An empty set over `operations` operations.
    pub fn new(operations: usize) -> Self {
        Linearized {
            words: vec![0; operations.div_ceil(64).max(1)],
            ones: 0,
            end: 0,
        }
    }

    /// All the words, the set's full bitset.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// How many leading words are all ones.
    pub fn ones(&self) -> usize {
        self.ones
    }

    /// One past the last nonzero word.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The words between the all-ones prefix and the all-zero tail: what the memo stores.
    pub fn middle(&self) -> &[u64] {
        &self.words[self.ones..self.end]
    }

    pub fn contains(&self, position: usize) -> bool {
        self.words[position / 64] & (1 << (position % 64)) != 0
    }

    /// Adds operation `position`.
    pub fn insert(&mut self, position: usize) {
        let word = position / 64;
        self.words[word] |= 1 << (position % 64);
        self.end = self.end.max(word + 1);
        while self.ones < self.end && self.words[self.ones] == u64::MAX {
            self.ones += 1;
        }
    }

    /// Removes operation `position`.
    pub fn remove(&mut self, position: usize) {
        let word = position / 64;
        self.words[word] &= !(1 << (position % 64));
        self.ones = self.ones.min(word);
        while self.end > self.ones && self.words[self.end - 1] == 0 {
            self.end -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefix and end, found by scanning every word.
    fn scanned(set: &Linearized) -> (usize, usize) {
        let words = set.words();
        let ones = words.iter().take_while(|&&w| w == u64::MAX).count();
        let end = words.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        (ones, end)
    }

    #[test]
    fn prefix_and_end_follow_every_insert_and_remove() {
        let mut set = Linearized::new(300);
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mostly low positions, so prefixes of whole words fill up and empty again.
            let position = (state % 300) as usize / if state & 1 == 0 { 3 } else { 1 };
            if state & 6 == 0 {
                set.remove(position);
            } else {
                set.insert(position);
            }
            assert!(set.contains(position) == (state & 6 != 0));
            assert_eq!((set.ones(), set.end()), scanned(&set));
            assert_eq!(set.middle(), &set.words()[set.ones()..set.end()]);
        }
    }

    #[test]
    fn a_full_set_has_an_empty_middle() {
        let mut set = Linearized::new(128);
        for position in 0..128 {
            set.insert(position);
        }
        assert_eq!((set.ones(), set.end()), (2, 2));
        assert!(set.middle().is_empty());
        set.remove(5);
        assert_eq!((set.ones(), set.end()), (0, 2));
        assert_eq!(set.middle().len(), 2);
    }
}
