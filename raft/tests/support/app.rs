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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// A hash of one entry's identity and content (index, term, kind, data).
pub fn entry_digest(entry: &Entry) -> u64 {
    let kind: u8 = match entry.kind {
        EntryKind::Normal => 0,
        EntryKind::Noop => 1,
        EntryKind::ConfChange => 2,
    };
    let mut h = fnv(FNV_OFFSET, &entry.index.to_le_bytes());
    h = fnv(h, &entry.term.to_le_bytes());
    h = fnv(h, &[kind]);
    h = fnv(h, &(entry.data.len() as u64).to_le_bytes());
    fnv(h, &entry.data)
}

/// The running hash after applying `entry` on top of `hash`.
pub fn chain(hash: u64, entry: &Entry) -> u64 {
    fnv(
        hash ^ entry_digest(entry).rotate_left(17),
        &hash.to_le_bytes(),
    )
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
