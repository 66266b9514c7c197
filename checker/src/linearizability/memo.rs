//! Lowe's memo for the search: the set of (linearized operations, model state) pairs already
//! explored, plus an interner that gives each distinct model state a small id.
//!
//! The linearized set is a bitset; its hash is kept incrementally (Zobrist: XOR of one tag per
//! operation) so a lookup costs one hash-map probe plus a compare of the bitset words on a hit.
//! All entries live in flat arenas, so the memory they take is known and can be bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::mem::size_of;

use super::hash::{hash_of, mix64, PassThroughBuild};

const NONE: u32 = u32::MAX;

/// Distinct model states, each with an id and a precomputed hash.
pub struct StateInterner<S> {
    states: Vec<S>,
    hashes: Vec<u64>,
    next_same_hash: Vec<u32>,
    first_by_hash: HashMap<u64, u32, PassThroughBuild>,
}

impl<S: Eq + Hash> Default for StateInterner<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Eq + Hash> StateInterner<S> {
    pub fn new() -> Self {
        StateInterner {
            states: Vec::new(),
            hashes: Vec::new(),
            next_same_hash: Vec::new(),
            first_by_hash: HashMap::with_hasher(PassThroughBuild),
        }
    }

    /// The id of `state`, adding it when new.
    pub fn intern(&mut self, state: S) -> u32 {
        let hash = hash_of(&state);
        let first = self.first_by_hash.get(&hash).copied().unwrap_or(NONE);
        let mut id = first;
        while id != NONE {
            if self.states[id as usize] == state {
                return id;
            }
            id = self.next_same_hash[id as usize];
        }
        let new_id = self.states.len() as u32;
        self.states.push(state);
        self.hashes.push(hash);
        self.next_same_hash.push(first);
        self.first_by_hash.insert(hash, new_id);
        new_id
    }

    pub fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    pub fn hash(&self, id: u32) -> u64 {
        self.hashes[id as usize]
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Bytes held (the states' own heap data is not counted beyond their inline size).
    pub fn bytes(&self) -> usize {
        self.states.capacity() * size_of::<S>()
            + self.hashes.capacity() * 8
            + self.next_same_hash.capacity() * 4
            + self.first_by_hash.capacity() * 13
    }
}

/// Chain entries compared at most per lookup; past that a configuration is explored again
/// (correct, only slower).
const MAX_CHAIN_SCAN: usize = 64;

/// The explored configurations: (linearized bitset, state id) pairs, with dominance.
///
/// A configuration is skipped when an explored one has the same state, the same completed
/// operations linearized, and a subset of the unknown-outcome ones: the explored one can do
/// everything the new one can (unknown operations are optional and never constrain others), so
/// if it led nowhere the new one cannot either. Without unknown operations this is exact equality.
pub struct Memo {
    words: usize,
    completed: Vec<u64>,
    first_by_hash: HashMap<u64, u32, PassThroughBuild>,
    bits: Vec<u64>,
    state: Vec<u32>,
    next_same_hash: Vec<u32>,
}

impl Memo {
    /// A memo for bitsets over the operations; `completed` has a bit for each operation that returned.
    pub fn new(completed: Vec<u64>) -> Self {
        Memo {
            words: completed.len(),
            completed,
            first_by_hash: HashMap::with_hasher(PassThroughBuild),
            bits: Vec::new(),
            state: Vec::new(),
            next_same_hash: Vec::new(),
        }
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
    pub fn insert(
        &mut self,
        completed_hash: u64,
        state_hash: u64,
        bits: &[u64],
        state: u32,
    ) -> bool {
        let hash = mix64(completed_hash ^ state_hash.rotate_left(17));
        let first = self.first_by_hash.get(&hash).copied().unwrap_or(NONE);
        let mut entry = first;
        let mut scanned = 0;
        while entry != NONE && scanned < MAX_CHAIN_SCAN {
            let at = entry as usize;
            if self.state[at] == state
                && self.dominates(&self.bits[at * self.words..(at + 1) * self.words], bits)
            {
                return false;
            }
            entry = self.next_same_hash[at];
            scanned += 1;
        }
        let new_entry = self.state.len() as u32;
        self.bits.extend_from_slice(bits);
        self.state.push(state);
        self.next_same_hash.push(first);
        self.first_by_hash.insert(hash, new_entry);
        true
    }

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    /// Bytes held by the memo.
    pub fn bytes(&self) -> usize {
        self.bits.capacity() * 8
            + self.completed.capacity() * 8
            + self.state.capacity() * 4
            + self.next_same_hash.capacity() * 4
            + self.first_by_hash.capacity() * 13
    }
}
