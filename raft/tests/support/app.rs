//! The application each simulated node runs: it applies committed entries in order and keeps a
//! running hash of everything applied (so two nodes agree on a prefix exactly when their hashes at
//! that index agree). Its snapshot is that (index, term, hash) triple.

use raft::core::{Entry, EntryKind, Index, Term};

/// Running state of one node's state machine.
#[derive(Clone, Debug, Default)]
pub struct App {
    pub applied: Index,
    pub applied_term: Term,
    pub hash: u64,
    /// Index of the last snapshot this app took or restored from.
    pub last_snapshot: Index,
}

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Mix one 64-bit word into the hash (multiply-xorshift, 8 bytes at a time).
fn mix(hash: u64, word: u64) -> u64 {
    let h = (hash ^ word).wrapping_mul(MUL);
    h ^ (h >> 29)
}

fn hash_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        hash = mix(hash, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    mix(hash, u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56))
}

/// A hash of one entry's identity and content (index, term, kind, data).
pub fn entry_digest(entry: &Entry) -> u64 {
    let kind: u64 = match entry.kind {
        EntryKind::Normal => 0,
        EntryKind::Noop => 1,
        EntryKind::ConfChange => 2,
    };
    let mut h = mix(SEED, entry.index);
    h = mix(h, entry.term);
    h = mix(h, kind);
    h = mix(h, entry.data.len() as u64);
    hash_bytes(h, &entry.data)
}

/// The running hash after applying `entry` on top of `hash`.
pub fn chain(hash: u64, entry: &Entry) -> u64 {
    mix(mix(hash, entry_digest(entry)), hash.rotate_left(17))
}

impl App {
    /// Apply one committed entry. Returns an error when it is not the next index.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), String> {
        if entry.index != self.applied + 1 {
            return Err(format!(
                "applied index {} but was handed entry {}",
                self.applied, entry.index
            ));
        }
        self.applied = entry.index;
        self.applied_term = entry.term;
        self.hash = chain(self.hash, entry);
        Ok(())
    }

    /// The snapshot bytes of the current state.
    pub fn snapshot_data(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(24);
        data.extend_from_slice(&self.applied.to_le_bytes());
        data.extend_from_slice(&self.applied_term.to_le_bytes());
        data.extend_from_slice(&self.hash.to_le_bytes());
        data
    }

    /// Rebuild the state from snapshot bytes.
    pub fn restore(data: &[u8]) -> Result<App, String> {
        if data.len() != 24 {
            return Err(format!(
                "snapshot data of {} bytes, expected 24",
                data.len()
            ));
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&data[i * 8..i * 8 + 8]);
            u64::from_le_bytes(b)
        };
        Ok(App {
            applied: word(0),
            applied_term: word(1),
            hash: word(2),
            last_snapshot: word(0),
        })
    }
}
