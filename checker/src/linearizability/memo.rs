//! Lowe's memo for the search: the set of (linearized operations, model state) pairs already
//! explored.
//!
//! The linearized set is a bitset; its hash is kept incrementally (Zobrist: XOR of one tag per
//! operation) so a lookup costs one hash-map probe plus a compare of the bitset words on a hit.
//! All entries live in flat arenas, so the memory they take is known and can be bounded.

use std::collections::HashMap;
use std::mem::size_of;

use super::hash::{mix64, PassThroughBuild};

const NONE: u32 = u32::MAX;

/// Chain entries compared at most per lookup; past that a configuration is explored again
/// (correct, only slower).
const MAX_CHAIN_SCAN: usize = 64;

/// The explored configurations: (linearized bitset, state id) pairs, with dominance.
///
/// A configuration is skipped when an explored one has the same state, the same completed
/// operations linearized, and a subset of the unknown-outcome ones: the explored one can do
/// everything the new one can (unknown operations are optional and never constrain others), so
/// if it led nowhere the new one cannot either. Without unknown operations this is exact equality.
pub struct Memo<S> {
    words: usize,
    completed: Vec<u64>,
    first_by_hash: HashMap<u64, u32, PassThroughBuild>,
    /// Bitsets of all entries, in fixed-size blocks (growing never copies old entries).
    blocks: Vec<Vec<u64>>,
    entries_per_block: usize,
    state: Vec<S>,
    next_same_hash: Vec<u32>,
}

/// Words per block of bitsets, about.
const BLOCK_WORDS: usize = 1 << 16;

impl<S: Eq> Memo<S> {
    /// A memo for bitsets over the operations; `completed` has a bit for each operation that returned.
    pub fn new(completed: Vec<u64>) -> Self {
        let words = completed.len().max(1);
        Memo {
            words,
            completed,
            first_by_hash: HashMap::with_hasher(PassThroughBuild),
            blocks: Vec::new(),
            entries_per_block: (BLOCK_WORDS / words).max(1),
            state: Vec::new(),
            next_same_hash: Vec::new(),
        }
    }

    fn bits_of(&self, entry: usize) -> &[u64] {
        let block = &self.blocks[entry / self.entries_per_block];
        let at = (entry % self.entries_per_block) * self.words;
        &block[at..at + self.words]
    }

    /// True when `old` makes `new` redundant: `old` ⊆ `new` and they differ only in unknown ops.
    fn dominates(&self, old: &[u64], new: &[u64]) -> bool {
        old.iter()
            .zip(new)
            .zip(&self.completed)
            .all(|((&o, &n), &c)| o & !n == 0 && (n & !o & c) == 0)
    }

    /// Adds (bits, state) unless an explored configuration dominates it; false when skipped.
    /// `completed_hash` must hash only the completed operations of `bits`.
    pub fn insert(&mut self, completed_hash: u64, state_hash: u64, bits: &[u64], state: &S) -> bool
    where
        S: Clone,
    {
        let hash = mix64(completed_hash ^ state_hash.rotate_left(17));
        let first = self.first_by_hash.get(&hash).copied().unwrap_or(NONE);
        let mut entry = first;
        let mut scanned = 0;
        while entry != NONE && scanned < MAX_CHAIN_SCAN {
            let at = entry as usize;
            if self.state[at] == *state && self.dominates(self.bits_of(at), bits) {
                return false;
            }
            entry = self.next_same_hash[at];
            scanned += 1;
        }
        let new_entry = self.state.len();
        if new_entry.is_multiple_of(self.entries_per_block) {
            self.blocks
                .push(Vec::with_capacity(self.entries_per_block * self.words));
        }
        if let Some(block) = self.blocks.last_mut() {
            block.extend_from_slice(bits);
        }
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
        self.blocks.len() * self.entries_per_block * self.words * 8
            + self.completed.capacity() * 8
            + self.state.capacity() * size_of::<S>()
            + self.next_same_hash.capacity() * 4
            + self.first_by_hash.capacity() * 13
    }
}
