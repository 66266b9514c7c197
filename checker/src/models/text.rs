//! Append-only text for the kv model's state: appending, hashing and (almost always) comparing
//! cost O(1) instead of O(length), because a text is a shared chain of the pieces appended, with
//! its length and a polynomial rolling hash kept alongside. Equal length and hash are checked
//! first; only then are the contents compared (by pointer where the chains share pieces).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The rolling hash's base (odd, so multiplication by it is invertible modulo 2^64).
const BASE: u64 = 0x0100_0000_01b3;

/// A piece of text ready to be appended: its bytes, rolling hash and `BASE^len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    text: Arc<str>,
    hash: u64,
    shift: u64,
}

impl Piece {
    pub fn new(text: &str) -> Self {
        let (hash, shift) = text.bytes().fold((0u64, 1u64), |(h, p), b| {
            (
                h.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1),
                p.wrapping_mul(BASE),
            )
        });
        Piece {
            text: Arc::from(text),
            hash,
            shift,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The rolling hash of every prefix of this piece, by length (`len + 1` values).
    pub fn prefix_hashes(&self) -> Vec<u64> {
        let mut hashes = Vec::with_capacity(self.text.len() + 1);
        let mut hash = 0u64;
        hashes.push(hash);
        for b in self.text.bytes() {
            hash = hash.wrapping_mul(BASE).wrapping_add(u64::from(b) + 1);
            hashes.push(hash);
        }
        hashes
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[derive(Debug)]
struct Chunk {
    text: Arc<str>,
    prev: Option<Arc<Chunk>>,
}

/// A non-empty text built by appending pieces.
#[derive(Debug, Clone)]
pub struct Text {
    len: usize,
    hash: u64,
    last: Arc<Chunk>,
}

impl Text {
    /// The text of one piece; `None` when it is empty.
    pub fn from_piece(piece: &Piece) -> Option<Text> {
        (!piece.is_empty()).then(|| Text {
            len: piece.text.len(),
            hash: piece.hash,
            last: Arc::new(Chunk {
                text: piece.text.clone(),
                prev: None,
            }),
        })
    }

    /// This text followed by `piece`.
    pub fn append(&self, piece: &Piece) -> Text {
        if piece.is_empty() {
            return self.clone();
        }
        Text {
            len: self.len + piece.text.len(),
            hash: self.hash.wrapping_mul(piece.shift).wrapping_add(piece.hash),
            last: Arc::new(Chunk {
                text: piece.text.clone(),
                prev: Some(self.last.clone()),
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// True when this text may be a prefix of the string whose prefix hashes are given; false
    /// means it surely is not (equal strings have equal rolling hashes).
    pub fn may_prefix(&self, prefix_hashes: &[u64]) -> bool {
        prefix_hashes.get(self.len) == Some(&self.hash)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces from last to first.
    fn chunks_rev(&self) -> impl Iterator<Item = &Chunk> {
        std::iter::successors(Some(&*self.last), |chunk| chunk.prev.as_deref())
    }

    /// The whole text as one string.
    pub fn to_text(&self) -> String {
        let mut pieces: Vec<&str> = self.chunks_rev().map(|c| &*c.text).collect();
        pieces.reverse();
        pieces.concat()
    }

    /// Compares contents of two texts of equal length, from the end.
    fn same_contents(&self, other: &Text) -> bool {
        let mut left = self.chunks_rev();
        let mut right = other.chunks_rev();
        let (mut a, mut b): (&[u8], &[u8]) = (&[], &[]);
        loop {
            if a.is_empty() && b.is_empty() {
                // Aligned at a piece boundary: shared or equal pieces skip ahead cheaply.
                match (left.next(), right.next()) {
                    (None, None) => return true,
                    (Some(x), Some(y)) => {
                        if std::ptr::eq(x, y) {
                            return true;
                        }
                        if Arc::ptr_eq(&x.text, &y.text) {
                            continue;
                        }
                        a = x.text.as_bytes();
                        b = y.text.as_bytes();
                    }
                    _ => return false,
                }
            } else if a.is_empty() {
                match left.next() {
                    Some(x) => a = x.text.as_bytes(),
                    None => return false,
                }
            } else if b.is_empty() {
                match right.next() {
                    Some(y) => b = y.text.as_bytes(),
                    None => return false,
                }
            }
            let n = a.len().min(b.len());
            if a[a.len() - n..] != b[b.len() - n..] {
                return false;
            }
            a = &a[..a.len() - n];
            b = &b[..b.len() - n];
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.len == other.len
            && self.hash == other.hash
            && (Arc::ptr_eq(&self.last, &other.last) || self.same_contents(other))
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash ^ (self.len as u64).rotate_left(32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(pieces: &[&str]) -> Option<Text> {
        let mut text: Option<Text> = None;
        for p in pieces {
            let piece = Piece::new(p);
            text = match text {
                None => Text::from_piece(&piece),
                Some(t) => Some(t.append(&piece)),
            };
        }
        text
    }

    #[test]
    fn equal_strings_built_from_different_pieces_are_equal_and_hash_alike() {
        let a = text_of(&["ab", "c", "def"]).unwrap();
        let b = text_of(&["a", "bcd", "ef"]).unwrap();
        let c = text_of(&["abcdef"]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.hash, c.hash);
        assert_eq!(a.to_text(), "abcdef");
    }

    #[test]
    fn different_strings_differ() {
        let a = text_of(&["ab", "c"]).unwrap();
        assert_ne!(a, text_of(&["abd"]).unwrap());
        assert_ne!(a, text_of(&["ab"]).unwrap());
        assert_ne!(a, text_of(&["ba", "c"]).unwrap());
    }

    #[test]
    fn prefix_test_by_hashes() {
        let read = Piece::new("abcdef").prefix_hashes();
        assert!(text_of(&["ab", "cd"]).unwrap().may_prefix(&read));
        assert!(text_of(&["abcdef"]).unwrap().may_prefix(&read));
        assert!(!text_of(&["ab", "d"]).unwrap().may_prefix(&read));
        assert!(!text_of(&["abcdefg"]).unwrap().may_prefix(&read));
    }

    #[test]
    fn empty_pieces_make_no_text_and_change_nothing() {
        assert!(text_of(&[""]).is_none());
        let a = text_of(&["x"]).unwrap();
        assert_eq!(a.append(&Piece::new("")), a);
    }
}
