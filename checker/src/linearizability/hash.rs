//! Small, fast, deterministic hashing for the search: an Fx-style hasher for model states, a
//! pass-through hasher for keys that are already well mixed, and splitmix64 for per-operation
//! random tags (Zobrist hashing of the linearized set).

use std::hash::{BuildHasher, Hash, Hasher};

/// Fx-style multiplicative hasher: fast on short keys, deterministic across runs.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hashes any value with [`FxHasher`], then mixes the result so every bit depends on the input.
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = FxHasher::default();
    value.hash(&mut hasher);
    mix64(hasher.finish())
}

/// The splitmix64 finalizer: a bijective mix of 64 bits.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A random-looking but fixed tag for operation `index`, for Zobrist hashing of bitsets.
#[inline]
pub fn zobrist_tag(index: usize) -> u64 {
    mix64(
        (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

/// A hasher for `u64` keys that are already uniformly mixed: passes them through.
#[derive(Default, Clone, Copy)]
pub struct PassThroughHasher {
    hash: u64,
}

impl Hasher for PassThroughHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash << 8) ^ u64::from(b) ^ (self.hash >> 56);
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.hash = i;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Builds [`PassThroughHasher`]s.
#[derive(Default, Clone, Copy)]
pub struct PassThroughBuild;

impl BuildHasher for PassThroughBuild {
    type Hasher = PassThroughHasher;
    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher::default()
    }
}
