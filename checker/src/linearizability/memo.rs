//! Lowe's memo for the search: the set of (linearized operations, model state) pairs already
//! explored.
//!
//! The linearized set is a bitset; its hash is kept incrementally (Zobrist: XOR of one tag per
//! operation) so a lookup costs one hash-map probe plus a compare of the bitset words on a hit.
//!
//! An entry does not store the whole bitset. The search linearizes operations roughly in the
//! order they were called, so a linearized set is a run of whole words that are all ones, a few
//! mixed words, and all zeros after them. An entry stores the count of leading all-ones words
//! and the words from there to the last nonzero one (the "middle"); the rest is implied. On a
//! million-operation history (15,625 words of bitset, 125 KB) an entry takes a few words instead
//! of 125 KB. All middles live in flat blocks, so the memory the memo takes is known and can be
//! bounded.

use std::collections::HashMap;
use std::mem::size_of;

use super::hash::{mix64, PassThroughBuild};
use super::linearized::Linearized;

const NONE: u32 = u32::MAX;

/// Chain entries compared at most per lookup; past that a configuration is explored again
/// (correct, only slower).
const MAX_CHAIN_SCAN: usize = 64;

/// Words per block of middles, about (a longer middle takes a block of its own).
const BLOCK_WORDS: usize = 1 << 16;

/// Where one entry's bitset is: its all-ones prefix, and its middle in a block.
#[derive(Clone, Copy, Debug)]
struct Stored {
    block: u32,
    offset: u32,
    ones: u32,
    len: u32,
}

/// The explored configurations: (linearized set, state id) pairs, with dominance.
///
/// A configuration is skipped when an explored one has the same state, the same completed
/// operations linearized, and a subset of the unknown-outcome ones: the explored one can do
/// everything the new one can (unknown operations are optional and never constrain others), so
/// if it led nowhere the new one cannot either. Without unknown operations this is exact equality.
pub struct Memo<S> {
    completed: Vec<u64>,
    first_by_hash: HashMap<u64, u32, PassThroughBuild>,
    /// Middles of all entries, in blocks (growing never copies old entries).
    blocks: Vec<Vec<u64>>,
    /// Words allocated in `blocks`.
    block_words: usize,
    stored: Vec<Stored>,
    state: Vec<S>,
    next_same_hash: Vec<u32>,
}

impl<S: Eq> Memo<S> {
    /// A memo for bitsets over the operations; `completed` has a bit for each operation that returned.
    pub fn new(completed: Vec<u64>) -> Self {
        Memo {
            completed,
            first_by_hash: HashMap::with_hasher(PassThroughBuild),
            blocks: Vec::new(),
            block_words: 0,
            stored: Vec::new(),
            state: Vec::new(),
            next_same_hash: Vec::new(),
        }
    }

    /// True when entry `old` makes `new` redundant: `old` ⊆ `new` and they differ only in unknown
    /// ops. Only the words where either set is neither all ones nor all zeros are compared.
    fn dominates(&self, old: Stored, new: &Linearized) -> bool {
        let middle = &self.blocks[old.block as usize]
            [old.offset as usize..old.offset as usize + old.len as usize];
        let (old_ones, old_end) = (old.ones as usize, old.ones as usize + old.len as usize);
        let from = old_ones.min(new.ones());
        let to = old_end.max(new.end());
        let new_words = new.words();
        (from..to).all(|i| {
            let o = if i < old_ones {
                u64::MAX
            } else if i < old_end {
                middle[i - old_ones]
            } else {
                0
            };
            let n = new_words[i];
            o & !n == 0 && (n & !o & self.completed[i]) == 0
        })
    }

    /// Stores `middle`, returning where.
    fn store(&mut self, ones: usize, middle: &[u64]) -> Stored {
        let fits = self
            .blocks
            .last()
            .is_some_and(|block| block.capacity() - block.len() >= middle.len());
        if !fits {
            let capacity = BLOCK_WORDS.max(middle.len());
            self.blocks.push(Vec::with_capacity(capacity));
            self.block_words += capacity;
        }
        let block = self.blocks.len() - 1;
        let words = &mut self.blocks[block];
        let offset = words.len();
        words.extend_from_slice(middle);
        Stored {
            block: block as u32,
            offset: offset as u32,
            ones: ones as u32,
            len: middle.len() as u32,
        }
    }

    /// Adds (set, state) unless an explored configuration dominates it; false when skipped.
    /// `completed_hash` must hash only the completed operations of `set`.
    pub fn insert(
        &mut self,
        completed_hash: u64,
        state_hash: u64,
        set: &Linearized,
        state: &S,
    ) -> bool
    where
        S: Clone,
    {
        let hash = mix64(completed_hash ^ state_hash.rotate_left(17));
        let first = self.first_by_hash.get(&hash).copied().unwrap_or(NONE);
        let mut entry = first;
        let mut scanned = 0;
        while entry != NONE && scanned < MAX_CHAIN_SCAN {
            let at = entry as usize;
            if self.state[at] == *state && self.dominates(self.stored[at], set) {
                return false;
            }
            entry = self.next_same_hash[at];
            scanned += 1;
        }
        let new_entry = self.state.len();
        let stored = self.store(set.ones(), set.middle());
        self.stored.push(stored);
        self.state.push(state.clone());
        self.next_same_hash.push(first);
        self.first_by_hash.insert(hash, new_entry as u32);
        true
    }

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// Bytes held by the memo (states' own heap data counted by their inline size only).
    pub fn bytes(&self) -> usize {
        self.block_words * 8
            + self.completed.capacity() * 8
            + self.stored.capacity() * size_of::<Stored>()
            + self.state.capacity() * size_of::<S>()
            + self.next_same_hash.capacity() * 4
            + self.first_by_hash.capacity() * 13
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set over `n` operations holding `0..full` and the positions in `extra`.
    fn set(n: usize, full: usize, extra: &[usize]) -> Linearized {
        let mut set = Linearized::new(n);
        for position in (0..full).chain(extra.iter().copied()) {
            set.insert(position);
        }
        set
    }

    #[test]
    fn an_entry_of_a_million_operation_set_takes_its_middle_not_its_width() {
        let n: usize = 1_000_000;
        let mut memo: Memo<u64> = Memo::new(vec![u64::MAX; n.div_ceil(64)]);
        let empty = memo.bytes();
        // 10,000 sets as a search of a long history makes them: a prefix of whole words done,
        // a few operations past it.
        let entries = 10_000;
        let mut s = Linearized::new(n);
        for i in 0..entries {
            let full = i * 64;
            let extra = [full + 3, full + 70, full + 130];
            extra.iter().for_each(|&position| s.insert(position));
            assert!(memo.insert(i as u64, 0, &s, &0));
            extra.iter().for_each(|&position| s.remove(position));
            (full..full + 64).for_each(|position| s.insert(position));
        }
        let per_entry = (memo.bytes() - empty) / entries;
        // A whole bitset would be 125,000 bytes an entry; the middle is 3 words, plus the
        // entry's bookkeeping and the blocks' unused room.
        assert!(per_entry < 128, "{per_entry} bytes an entry");
        assert!(memo.bytes() < 2 * BLOCK_WORDS * 8 + empty + entries * 128);
    }

    #[test]
    fn compressed_entries_compare_as_whole_bitsets() {
        let n = 640;
        // Operation 200 and 201 returned nothing (unknown outcome); all others completed.
        let mut completed = vec![u64::MAX; 10];
        completed[3] &= !(0b11 << 8);
        let mut memo: Memo<u8> = Memo::new(completed);
        let base = set(n, 128, &[130, 300]);
        assert!(memo.insert(1, 1, &base, &7));
        // The same set and state: dominated.
        assert!(!memo.insert(1, 1, &set(n, 128, &[130, 300]), &7));
        // Another state: new.
        assert!(memo.insert(1, 1, &set(n, 128, &[130, 300]), &8));
        // A superset by an unknown operation only: dominated.
        assert!(!memo.insert(1, 1, &set(n, 128, &[130, 200, 300]), &7));
        // A superset by a completed operation, or a set missing one, or a longer prefix: new.
        assert!(memo.insert(1, 1, &set(n, 128, &[130, 131, 300]), &7));
        assert!(memo.insert(1, 1, &set(n, 128, &[300]), &7));
        assert!(memo.insert(1, 1, &set(n, 192, &[300]), &7));
        assert!(memo.insert(1, 1, &set(n, 0, &[130, 300]), &7));
        // Everything: a prefix only, with an empty middle; and that again.
        assert!(memo.insert(2, 1, &set(n, n, &[]), &7));
        assert!(!memo.insert(2, 1, &set(n, n, &[]), &7));
        assert_eq!(memo.len(), 7);
    }
}
