//! The simulator's side of the Raft invariant checker: the checker itself is the project's one
//! (`raft::testing::invariants`, shared with the scenario tests); this file only turns a driver
//! batch into what the checker observes. The world feeds it every batch before it is carried
//! out, the status after every batch, what the storage reports durable, crashes and restarts
//! (with what the real storage recovered). A violation stops the run; its kebab-case name is
//! the verdict's kind.

use raft::core::NodeId;
use raft::driver::{PersistBatch, SnapshotToPersist};
use raft::testing::SnapshotWrite;
pub use raft::testing::{Checker, Violation as InvariantViolation};

/// Node `id` is about to persist `batch`: the checker sees its snapshot, then its entries.
pub fn observe_batch(
    checker: &mut Checker,
    id: NodeId,
    batch: &PersistBatch,
) -> Result<(), InvariantViolation> {
    let snapshot = batch.snapshot.as_ref().map(|s| match s {
        SnapshotToPersist::Installed(s) => SnapshotWrite {
            index: s.index,
            term: s.term,
            replaces_log: true,
        },
        SnapshotToPersist::Taken(s) => SnapshotWrite {
            index: s.index,
            term: s.term,
            replaces_log: false,
        },
    });
    if snapshot.is_none() && batch.entries.is_empty() {
        return Ok(());
    }
    checker.on_persist(id, snapshot, &batch.entries)
}
