//! One node's log as the checker sees it: the (term, digest) of every entry its batches
//! persisted after its snapshot, the membership changes among them, and how much of it is
//! durable. Rebuilt from what the node's storage reads back after a restart.

use std::collections::BTreeMap;

use crate::core::{ConfChange, Entry, EntryKind, Index, PersistedState, Term};

/// A stable 64-bit digest of an entry's identity and content (index, term, kind, data):
/// FNV-1a style over 8-byte words, no process-random hashing. Only compared for equality.
pub fn entry_digest(entry: &Entry) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let kind: u64 = match entry.kind {
        EntryKind::Normal => 0,
        EntryKind::Noop => 1,
        EntryKind::ConfChange => 2,
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for word in [entry.index, entry.term, kind, entry.data.len() as u64] {
        hash = (hash ^ word).wrapping_mul(PRIME);
    }
    let mut words = entry.data.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        hash = (hash ^ u64::from_le_bytes(bytes)).wrapping_mul(PRIME);
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
    }
    hash
}

/// A node's persisted log, as digests.
#[derive(Clone, Debug, Default)]
pub struct LogMirror {
    snap_index: Index,
    snap_term: Term,
    /// Index of `entries[0]`: `snap_index + 1` once a snapshot or entry was written.
    first: Index,
    entries: Vec<(Term, u64)>,
    /// The membership changes among `entries`, by index.
    conf: BTreeMap<Index, ConfChange>,
    /// Highest index known durable (entries above it may still be lost by a crash).
    durable: Index,
}

/// An entry a write removed from the log: (index, term, digest).
pub type Dropped = (Index, Term, u64);

impl LogMirror {
    /// The mirror of what a node's storage read back (all of it durable).
    pub fn from_persisted(state: &PersistedState) -> LogMirror {
        let mut mirror = LogMirror::default();
        if let Some(snap) = &state.snapshot {
            mirror.snapshot(snap.index, snap.term, true);
        }
        mirror.write(&state.entries);
        mirror.durable = mirror.last_index();
        mirror
    }

    /// Index of the snapshot, 0 without one.
    pub fn snapshot_index(&self) -> Index {
        self.snap_index
    }

    /// Index of the last entry (or of the snapshot when the log is empty).
    pub fn last_index(&self) -> Index {
        if self.entries.is_empty() {
            self.snap_index
        } else {
            self.first + self.entries.len() as u64 - 1
        }
    }

    /// Highest index known durable.
    pub fn durable_index(&self) -> Index {
        self.durable
    }

    /// The storage reports everything up to `index` durable.
    pub fn set_durable(&mut self, index: Index) {
        self.durable = index.min(self.last_index());
    }

    /// The (term, digest) of the entry at `index`, if the log holds it (not under the snapshot).
    pub fn get(&self, index: Index) -> Option<(Term, u64)> {
        if index < self.first || self.entries.is_empty() {
            return None;
        }
        self.entries.get((index - self.first) as usize).copied()
    }

    /// The term at `index`, from the log or the snapshot; index 0 has term 0.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        match index {
            0 => Some(0),
            i if i == self.snap_index => Some(self.snap_term),
            i => self.get(i).map(|(term, _)| term),
        }
    }

    /// The membership change at `index`, if the entry there is one.
    pub fn conf_change(&self, index: Index) -> Option<&ConfChange> {
        self.conf.get(&index)
    }

    /// The membership changes in the log, by index.
    pub fn conf_changes(&self) -> &BTreeMap<Index, ConfChange> {
        &self.conf
    }

    /// Entries written by a batch replace everything from their first index on; entries at or
    /// below the snapshot are ignored. Returns the entries removed that the batch did not write
    /// again identically.
    pub fn write(&mut self, entries: &[Entry]) -> Vec<Dropped> {
        let entries: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.index > self.snap_index)
            .collect();
        let Some(first) = entries.first().map(|e| e.index) else {
            return Vec::new();
        };
        if self.entries.is_empty() || first < self.first || first > self.last_index() + 1 {
            // Empty, or a gap: the log starts over at this entry.
            self.first = first;
        }
        let keep = (first - self.first) as usize;
        let mut dropped = Vec::new();
        // Entries written again identically stay durable; the log changes from here on.
        let mut changed_from = first + entries.len() as u64;
        for (offset, &(term, digest)) in self.entries.iter().enumerate().skip(keep) {
            let index = self.first + offset as u64;
            let again = entries
                .get(offset - keep)
                .is_some_and(|e| e.term == term && entry_digest(e) == digest);
            if !again {
                dropped.push((index, term, digest));
                changed_from = changed_from.min(index);
            }
        }
        let old_last = self.last_index();
        changed_from = changed_from.min(old_last + 1);
        self.entries.truncate(keep);
        self.conf.split_off(&first);
        self.durable = self.durable.min(changed_from.max(first) - 1);
        for entry in entries {
            self.entries.push((entry.term, entry_digest(entry)));
            if entry.kind == EntryKind::ConfChange {
                // An undecodable change is ignored by the core too.
                if let Ok(change) = postcard::from_bytes::<ConfChange>(&entry.data) {
                    self.conf.insert(entry.index, change);
                }
            }
        }
        dropped
    }

    /// A snapshot at (`index`, `term`) was persisted: it replaces the whole log when received
    /// (`replaces_log`), else it frees the entries up to `index`. Returns the entries above
    /// `index` it removed.
    pub fn snapshot(&mut self, index: Index, term: Term, replaces_log: bool) -> Vec<Dropped> {
        let mut dropped = Vec::new();
        if !replaces_log && index <= self.snap_index {
            return dropped;
        }
        if replaces_log {
            for offset in 0..self.entries.len() {
                let at = self.first + offset as u64;
                if at > index {
                    let (t, d) = self.entries[offset];
                    dropped.push((at, t, d));
                }
            }
            self.entries.clear();
            self.conf.clear();
        } else if index >= self.last_index() {
            self.entries.clear();
            self.conf.clear();
        } else if index >= self.first {
            self.entries.drain(..(index + 1 - self.first) as usize);
            self.conf = self.conf.split_off(&(index + 1));
        }
        if index >= self.snap_index {
            self.snap_index = index;
            self.snap_term = term;
        }
        self.first = self.snap_index + 1;
        if replaces_log {
            self.durable = self.durable.min(index);
        }
        dropped
    }
}
