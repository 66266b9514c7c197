//! Follower side of a snapshot transfer: the chunks of one snapshot (keyed by the leader's term
//! and the snapshot's index) are assembled in order; a chunk at any other offset is refused
//! without touching the assembly, and every answer says how many bytes are held so the leader
//! resumes there. A newer term or a newer snapshot replaces the assembly; the snapshot is
//! installed when the chunk marked `done` completes it. The assembly lives in memory only: a
//! restart loses it and the leader starts again from offset 0.

use super::error::CoreError;
use super::message::MessageBody;
use super::node::Node;
use super::types::{Index, NodeId, Snapshot, SnapshotMeta, Term};
use crate::coverage::{self, Mark};

/// A snapshot whose chunks are arriving.
#[derive(Clone, Debug)]
pub(crate) struct SnapshotAssembly {
    /// The term of the leader sending it.
    pub(crate) term: Term,
    pub(crate) meta: SnapshotMeta,
    /// The bytes received so far, in order from offset 0.
    pub(crate) data: Vec<u8>,
    /// How many chunks they came in.
    pub(crate) chunks: u32,
}

impl SnapshotAssembly {
    /// Which transfer this is: a later term, then a later snapshot, is newer.
    fn key(&self) -> (Term, Index) {
        (self.term, self.meta.index)
    }

    fn received(&self) -> u64 {
        self.data.len() as u64
    }
}

impl Node {
    /// Follower side of InstallSnapshot: one chunk of `meta`'s snapshot, from the leader of
    /// our term.
    pub(crate) fn handle_snapshot_chunk(
        &mut self,
        from: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        done: bool,
    ) -> Result<(), CoreError> {
        if meta.index > Index::MAX / 2 {
            return Err(CoreError::MalformedMessage {
                from,
                reason: format!("snapshot index {} is out of range", meta.index),
            });
        }
        if offset.checked_add(data.len() as u64).is_none() {
            return Err(CoreError::MalformedMessage {
                from,
                reason: format!("snapshot chunk at offset {offset} overflows"),
            });
        }
        let committed = self.log.committed;
        if meta.index <= committed {
            // We hold everything the snapshot covers: the transfer is over.
            if self
                .incoming_snapshot
                .as_ref()
                .is_some_and(|a| a.meta.index <= committed)
            {
                self.incoming_snapshot = None;
            }
            self.answer_chunk(from, meta.index, 0, false);
            return Ok(());
        }
        let key = (self.term, meta.index);
        match &self.incoming_snapshot {
            Some(assembly) if assembly.key() == key => {
                if assembly.meta != meta {
                    return Err(CoreError::MalformedMessage {
                        from,
                        reason: format!(
                            "two snapshots end at index {} in term {}",
                            meta.index, self.term
                        ),
                    });
                }
            }
            Some(assembly) if assembly.key() > key => {
                // A chunk of an older snapshot than the one being assembled.
                tracing::trace!(id = self.id, from, index = meta.index, "stale chunk");
                self.answer_chunk(from, meta.index, 0, true);
                return Ok(());
            }
            _ => {
                if let Some(old) = self.incoming_snapshot.take() {
                    tracing::debug!(
                        id = self.id,
                        from,
                        old_term = old.term,
                        old_index = old.meta.index,
                        index = meta.index,
                        "dropping a snapshot assembly for a newer one"
                    );
                }
                self.incoming_snapshot = Some(SnapshotAssembly {
                    term: self.term,
                    meta: meta.clone(),
                    data: Vec::new(),
                    chunks: 0,
                });
            }
        }
        let Some(assembly) = self.incoming_snapshot.as_mut() else {
            return Ok(());
        };
        if offset != assembly.received() {
            // Lost, reordered or duplicated: keep what we have and say where to resume.
            let received = assembly.received();
            tracing::trace!(id = self.id, from, offset, received, "chunk refused");
            self.answer_chunk(from, meta.index, received, true);
            return Ok(());
        }
        assembly.data.extend_from_slice(&data);
        assembly.chunks += 1;
        if !done {
            let received = assembly.received();
            self.answer_chunk(from, meta.index, received, false);
            return Ok(());
        }
        let Some(assembly) = self.incoming_snapshot.take() else {
            return Ok(());
        };
        coverage::hit_if(assembly.chunks > 1, Mark::SnapshotSentInChunks);
        let snapshot = Snapshot {
            index: meta.index,
            term: meta.term,
            conf: meta.conf,
            data: assembly.data,
        };
        let received = snapshot.data.len() as u64;
        self.install_snapshot(from, snapshot);
        self.answer_chunk(from, meta.index, received, false);
        Ok(())
    }

    fn answer_chunk(&mut self, to: NodeId, snapshot_index: Index, received: u64, rejected: bool) {
        let index = self.log.committed;
        self.send(
            to,
            MessageBody::InstallSnapshotResponse {
                snapshot_index,
                received,
                rejected,
                index,
            },
        );
    }
}
