//! Raft safety invariants, asserted after every step of every node: at most one leader per term,
//! and every node's committed prefix agrees with every other's (the same term and bytes at every
//! committed index, across crashes and restarts). The configuration invariants live beside them
//! (`conf_invariants.rs`). A violation stops the run.

use std::collections::BTreeMap;

use raft::core::{ConfChange, ConfState, Entry, EntryKind, Index, NodeId, Status, Term};

use super::conf_invariants::ConfInvariants;

/// Which invariant broke, with the facts that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantViolation {
    /// `two-leaders`, `committed-mismatch`, or one of the configuration invariants'
    /// (`non-voter-leader`, `removed-node-elected`, `conf-changes-in-flight`,
    /// `commit-without-quorum`).
    pub name: &'static str,
    pub detail: String,
}

/// A node's log as the driver handed it out (written entries, synced or not), for comparing
/// committed prefixes. Entries at or below a snapshot are not kept.
#[derive(Debug, Default, Clone)]
pub struct LogMirror {
    /// Index of `entries[0]`.
    first: Index,
    entries: Vec<(Term, u64)>,
    /// The membership changes among `entries`, by index.
    conf: BTreeMap<Index, ConfChange>,
    /// Highest committed index already compared.
    pub checked: Index,
}

impl LogMirror {
    /// The mirror of a log read back from disk.
    pub fn from_entries(entries: &[Entry], commit: Index) -> LogMirror {
        let mut mirror = LogMirror {
            first: entries.first().map_or(1, |e| e.index),
            entries: Vec::new(),
            conf: BTreeMap::new(),
            checked: commit,
        };
        mirror.write(entries);
        mirror
    }

    /// Entries written by a batch replace everything from their first index on.
    pub fn write(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        if self.entries.is_empty() || first.index < self.first {
            self.first = first.index;
            self.entries.clear();
        }
        let keep = (first.index - self.first) as usize;
        self.entries.truncate(keep);
        if self.entries.len() < keep {
            // A gap (a snapshot came between): start over at this entry.
            self.first = first.index;
            self.entries.clear();
            self.conf.clear();
        }
        self.conf.split_off(&first.index);
        self.entries
            .extend(entries.iter().map(|e| (e.term, fingerprint(&e.data))));
        for entry in entries.iter().filter(|e| e.kind == EntryKind::ConfChange) {
            // An undecodable change is ignored by the core too.
            if let Ok(change) = postcard::from_bytes::<ConfChange>(&entry.data) {
                self.conf.insert(entry.index, change);
            }
        }
    }

    /// A snapshot replaced the log up to `index`.
    pub fn snapshot(&mut self, index: Index, replaces_all: bool) {
        if replaces_all || index + 1 >= self.first + self.entries.len() as u64 {
            self.entries.clear();
            self.conf.clear();
            self.first = index + 1;
        } else if index >= self.first {
            self.entries.drain(..(index + 1 - self.first) as usize);
            self.conf = self.conf.split_off(&(index + 1));
            self.first = index + 1;
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

    /// The term and fingerprint of the entry at `index`, if the log holds it.
    pub fn get(&self, index: Index) -> Option<(Term, u64)> {
        if index < self.first {
            return None;
        }
        self.entries.get((index - self.first) as usize).copied()
    }
}

/// The facts gathered so far across all nodes.
#[derive(Debug, Default)]
pub struct Invariants {
    leaders: BTreeMap<Term, NodeId>,
    /// By committed index (`committed[i]` is index `i`): the first (term, fingerprint, node)
    /// seen committed there. Committed indexes are dense, so a vector beats a map.
    committed: Vec<Option<(Term, u64, NodeId)>>,
    /// The configuration invariants and the committed membership changes.
    pub conf: ConfInvariants,
}

impl Invariants {
    /// The invariants of a cluster that starts with the configuration `genesis`.
    pub fn new(genesis: ConfState) -> Invariants {
        Invariants {
            conf: ConfInvariants::new(genesis),
            ..Invariants::default()
        }
    }

    /// Checks one node after a step.
    pub fn check(
        &mut self,
        status: &Status,
        mirror: &mut LogMirror,
    ) -> Result<(), InvariantViolation> {
        if status.role == raft::core::Role::Leader {
            let leader = *self.leaders.entry(status.term).or_insert(status.id);
            if leader != status.id {
                return Err(InvariantViolation {
                    name: "two-leaders",
                    detail: format!(
                        "nodes {leader} and {} were both leader in term {}",
                        status.id, status.term
                    ),
                });
            }
        }
        if status.commit > mirror.checked {
            for index in mirror.checked + 1..=status.commit {
                let Some((term, print)) = mirror.get(index) else {
                    continue;
                };
                let slot = index as usize;
                if self.committed.len() <= slot {
                    self.committed.resize(slot + 1, None);
                }
                if self.committed[slot].is_none() {
                    if let Some(change) = mirror.conf_change(index) {
                        self.conf.on_committed(index, term, change);
                    }
                }
                let first = *self.committed[slot].get_or_insert((term, print, status.id));
                if (first.0, first.1) != (term, print) {
                    return Err(InvariantViolation {
                        name: "committed-mismatch",
                        detail: format!(
                            "index {index} committed as term {} on node {} but as term {term} on node {}{}",
                            first.0,
                            first.2,
                            status.id,
                            if first.0 == term { " (same term, different bytes)" } else { "" }
                        ),
                    });
                }
            }
            mirror.checked = status.commit;
        }
        Ok(())
    }
}

/// A stable 64-bit fingerprint of entry bytes (FNV-1a over 8-byte words, then the length; no
/// process-random hashing). Only compared for equality, never written out.
fn fingerprint(data: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        hash = (hash ^ u64::from_le_bytes(bytes)).wrapping_mul(PRIME);
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
    }
    (hash ^ data.len() as u64).wrapping_mul(PRIME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::core::{ConfState, EntryKind, Role};

    fn entry(index: u64, term: u64, byte: u8) -> Entry {
        Entry {
            term,
            index,
            kind: EntryKind::Normal,
            data: vec![byte],
        }
    }

    fn status(id: u64, role: Role, term: u64, commit: u64) -> Status {
        Status {
            id,
            role,
            term,
            leader: None,
            commit,
            applied: commit,
            last_index: commit,
            conf: ConfState::with_voters([1, 2, 3]),
        }
    }

    #[test]
    fn two_leaders_in_one_term_are_caught() {
        let mut inv = Invariants::default();
        let mut m = LogMirror::default();
        inv.check(&status(1, Role::Leader, 3, 0), &mut m).unwrap();
        inv.check(&status(2, Role::Leader, 4, 0), &mut m).unwrap();
        let err = inv
            .check(&status(2, Role::Leader, 3, 0), &mut m)
            .unwrap_err();
        assert_eq!(err.name, "two-leaders");
    }

    #[test]
    fn diverging_committed_entries_are_caught_and_agreeing_ones_pass() {
        let mut inv = Invariants::default();
        let mut a = LogMirror::default();
        a.write(&[entry(1, 1, 1), entry(2, 1, 2)]);
        let mut b = LogMirror::default();
        b.write(&[entry(1, 1, 1), entry(2, 2, 9)]);
        inv.check(&status(1, Role::Follower, 1, 2), &mut a).unwrap();
        inv.check(&status(2, Role::Follower, 2, 1), &mut b).unwrap();
        let err = inv
            .check(&status(2, Role::Follower, 2, 2), &mut b)
            .unwrap_err();
        assert_eq!(err.name, "committed-mismatch");
        // Rewriting from index 2 on replaces the tail.
        b.write(&[entry(2, 1, 2)]);
        b.checked = 1;
        inv.check(&status(2, Role::Follower, 2, 2), &mut b).unwrap();
    }
}
