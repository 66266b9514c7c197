//! [`EventObserver`]: derives a replica's event stream ([`crate::events`]) from what the driver
//! does, without trusting the core's account of itself: role, term, leader, commit index and
//! configuration from [`Driver::status`] after each batch; votes, snapshots and truncations from
//! what the batch persists; the KV digest checkpoints from the KV machine; and what this replica
//! acknowledged to a leader from the responses the batch sends. The real server and the
//! simulator feed it the same batches, so both write the same stream.

use crate::core::{ConfState, Index, MessageBody, NodeId, PersistedState, Role, Term};
use crate::events::{NodeEvent, TruncationCause};

use super::batch::{DriverBatch, SnapshotToPersist};
use super::log_terms::{LogTerms, Removed};
use super::replica::Driver;

/// What the observer saw last, to report changes only.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    role: Role,
    term: Term,
    leader: Option<NodeId>,
}

/// Watches one replica (one process lifetime) and says what changed after each batch.
#[derive(Debug)]
pub struct EventObserver {
    recovered: NodeEvent,
    log: LogTerms,
    seen: Option<Seen>,
    commit: Index,
    vote: (Term, Option<NodeId>),
    conf: Option<ConfState>,
    checkpoint: Option<Index>,
    /// (term, highest index acknowledged to that term's leader): from the outgoing
    /// `AppendEntriesResponse { success: true }` and `InstallSnapshotResponse` messages.
    acked: (Term, Index),
}

impl EventObserver {
    /// An observer of the replica about to start from `persisted` (call before handing it to
    /// [`Driver::new`]).
    pub fn new(persisted: &PersistedState) -> EventObserver {
        let hard = &persisted.hard_state;
        let log = LogTerms::from_persisted(persisted);
        let (snapshot_index, snapshot_term) = persisted
            .snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.index, s.term));
        EventObserver {
            recovered: NodeEvent::Started {
                term: hard.term,
                vote: hard.vote,
                commit: hard.commit,
                applied: 0,
                applied_digest: None,
                snapshot_index,
                snapshot_term,
                last_index: log.last_index(),
                voters: Vec::new(),
                learners: Vec::new(),
            },
            log,
            seen: None,
            commit: hard.commit,
            vote: (hard.term, hard.vote),
            conf: None,
            checkpoint: None,
            acked: (0, 0),
        }
    }

    /// The first events of the stream: `started` with what was recovered, then the replica's
    /// role, commit index and configuration as it starts.
    pub fn started(&mut self, driver: &Driver) -> Vec<NodeEvent> {
        let status = driver.status();
        let mut started = self.recovered.clone();
        if let NodeEvent::Started {
            commit,
            applied,
            applied_digest,
            voters,
            learners,
            ..
        } = &mut started
        {
            // At least the persisted commit; more when the snapshot covers more.
            *commit = (*commit).max(status.commit);
            self.commit = *commit;
            *applied = driver.kv().applied_index();
            *applied_digest = driver.kv().applied_digest();
            voters.clone_from(&status.conf.voters);
            learners.clone_from(&status.conf.learners);
        }
        self.conf = Some(status.conf.clone());
        self.checkpoint = driver.kv().last_checkpoint().map(|(i, _)| i);
        let mut events = vec![started];
        self.note_status(driver, &mut events);
        events
    }

    /// What batch `batch`, just taken from `driver`, changed (in the order it happened: what it
    /// persists, then what it sends, then the replica's state after it).
    pub fn observe(&mut self, driver: &Driver, batch: &DriverBatch) -> Vec<NodeEvent> {
        let mut events = Vec::new();
        let term = driver.status().term;
        if let Some(hard) = &batch.persist.hard_state {
            if let Some(vote) = hard.vote {
                if (hard.term, hard.vote) != self.vote {
                    events.push(NodeEvent::Vote {
                        term: hard.term,
                        vote,
                    });
                }
            }
            self.vote = (hard.term, hard.vote);
        }
        match &batch.persist.snapshot {
            Some(SnapshotToPersist::Taken(s)) => {
                self.log.snapshot_taken(s.index);
                events.push(NodeEvent::SnapshotTaken {
                    index: s.index,
                    term: s.term,
                });
            }
            Some(SnapshotToPersist::Installed(s)) => {
                let removed = self.log.snapshot_installed(s.index);
                events.push(NodeEvent::SnapshotInstalled {
                    index: s.index,
                    term: s.term,
                });
                self.note_truncation(
                    removed,
                    TruncationCause::InstalledSnapshot,
                    term,
                    &mut events,
                );
            }
            None => {}
        }
        let removed = self.log.write(&batch.persist.entries);
        self.note_truncation(removed, TruncationCause::Entries, term, &mut events);
        for msg in &batch.then_send {
            let acked = match msg.body {
                MessageBody::AppendEntriesResponse {
                    success: true,
                    index,
                    ..
                } => index,
                MessageBody::InstallSnapshotResponse { index, .. } => index,
                _ => continue,
            };
            if msg.term > self.acked.0 {
                self.acked = (msg.term, acked);
            } else if msg.term == self.acked.0 {
                self.acked.1 = self.acked.1.max(acked);
            }
        }
        self.note_status(driver, &mut events);
        events
    }

    /// The highest index this replica acknowledged to a leader in `term` (0: none).
    pub fn acked_in(&self, term: Term) -> Index {
        if self.acked.0 == term {
            self.acked.1
        } else {
            0
        }
    }

    fn note_truncation(
        &self,
        removed: Option<Removed>,
        cause: TruncationCause,
        term: Term,
        events: &mut Vec<NodeEvent>,
    ) {
        if let Some(Removed { from, last }) = removed {
            events.push(NodeEvent::LogTruncated {
                cause,
                term,
                from_index: from,
                last_index: last,
                acked_index: self.acked_in(term),
            });
        }
    }

    fn note_status(&mut self, driver: &Driver, events: &mut Vec<NodeEvent>) {
        let status = driver.status();
        let seen = Seen {
            role: status.role,
            term: status.term,
            leader: status.leader,
        };
        if self.seen.as_ref() != Some(&seen) {
            events.push(NodeEvent::Role {
                role: seen.role.into(),
                term: seen.term,
                leader: seen.leader,
            });
            self.seen = Some(seen);
        }
        if status.commit != self.commit {
            events.push(NodeEvent::Commit {
                commit: status.commit,
                from: self.commit,
            });
            self.commit = status.commit;
        }
        if let Some((index, digest)) = driver.kv().last_checkpoint() {
            if self.checkpoint != Some(index) {
                events.push(NodeEvent::Applied { index, digest });
                self.checkpoint = Some(index);
            }
        }
        if self.conf.as_ref() != Some(&status.conf) {
            events.push(NodeEvent::Membership {
                voters: status.conf.voters.clone(),
                learners: status.conf.learners.clone(),
            });
            self.conf = Some(status.conf);
        }
    }
}
