//! Snapshots: the application hands the core a snapshot of applied state, the core compacts
//! its log; a follower too far behind receives it in chunks (`snapshot_send`,
//! `snapshot_receive`) and restores from it here.

use super::error::CoreError;
use super::node::Node;
use super::types::{ConfState, Index, NodeId, Snapshot};
use crate::coverage::{self, Mark};

impl Node {
    pub(crate) fn take_snapshot(&mut self, index: Index, data: Vec<u8>) -> Result<(), CoreError> {
        if index > self.log.applied {
            return Err(CoreError::SnapshotBeyondApplied {
                index,
                applied: self.log.applied,
            });
        }
        if index <= self.log.snapshot_index() {
            return Err(CoreError::SnapshotOutOfDate {
                index,
                current: self.log.snapshot_index(),
            });
        }
        let Some(term) = self.log.term(index) else {
            return Err(CoreError::SnapshotOutOfDate {
                index,
                current: self.log.snapshot_index(),
            });
        };
        let conf = self.conf_at(index);
        let snapshot = Snapshot {
            index,
            term,
            conf,
            data,
        };
        coverage::hit(Mark::SnapshotTaken);
        self.log.compact(index, term);
        self.trim_conf_history(index);
        tracing::debug!(id = self.id, index, term, "log compacted to snapshot");
        self.pending_snapshot = Some(snapshot.clone());
        self.snapshot = Some(snapshot);
        Ok(())
    }

    /// The membership in effect at `index` (which must not be below the snapshot).
    fn conf_at(&self, index: Index) -> ConfState {
        self.conf_history
            .iter()
            .rev()
            .find(|(at, _)| *at <= index)
            .map_or_else(|| self.conf.clone(), |(_, c)| c.clone())
    }

    fn trim_conf_history(&mut self, index: Index) {
        let keep_from = self
            .conf_history
            .iter()
            .rposition(|(at, _)| *at <= index)
            .unwrap_or(0);
        self.conf_history.drain(..keep_from);
    }

    /// Follower: a snapshot fully received from the leader (`snapshot_receive`) and above our
    /// commit index replaces our state, unless we hold its last entry already.
    pub(crate) fn install_snapshot(&mut self, from: NodeId, snapshot: Snapshot) {
        let index = snapshot.index;
        let held = self.log.term(index);
        // An entry of another term at the snapshot's index: our log conflicts with the
        // snapshot's history there, and everything we hold from there on lost.
        let conflict = held.is_some_and(|term| term != snapshot.term);
        coverage::hit_if(conflict, Mark::SnapshotInstalledOverConflict);
        coverage::hit_if(held.is_none(), Mark::SnapshotInstalled);
        // PLANTED BUG `snapshot_keeps_suffix`: "we hold an entry at the snapshot's index" is
        // taken to mean that we hold the snapshot's last entry, whatever its term, so a
        // conflicting log is kept and committed.
        if held == Some(snapshot.term) || (conflict && self.cfg.bugs.snapshot_keeps_suffix) {
            // We hold the snapshot's last entry: just commit up to it.
            self.log.committed = index;
        } else {
            tracing::debug!(id = self.id, from, index, "restoring from snapshot");
            self.log.restore(index, snapshot.term);
            self.conf = snapshot.conf.clone();
            self.conf.normalize();
            self.conf_index = index;
            self.conf_history = vec![(index, self.conf.clone())];
            self.pending_snapshot = Some(snapshot.clone());
            self.snapshot = Some(snapshot);
        }
    }
}
