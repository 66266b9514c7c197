//! What the invariant checker observes of a driver batch: the world feeds it every batch before
//! it is carried out (its snapshot, then its entries).

use crate::core::NodeId;
use crate::driver::{PersistBatch, SnapshotToPersist};
use crate::testing::{Checker, SnapshotWrite, Violation};

/// Node `id` is about to persist `batch`: the checker sees its snapshot, then its entries.
pub fn observe_batch(
    checker: &mut Checker,
    id: NodeId,
    batch: &PersistBatch,
) -> Result<(), Violation> {
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
