//! Log replication: the leader's AppendEntries (batched per Ready, bounded by the in-flight
//! window and the byte budget), the follower's consistency check with its reject hint, the
//! truncation rule (only from the first entry that really conflicts), heartbeats, and the
//! commit rule (only entries of the leader's own term are committed by counting replicas).

use super::error::CoreError;
use super::message::{MessageBody, RejectHint};
use super::node::{Node, State};
use super::progress::ProgressState;
use super::types::{Entry, Index, NodeId, Term};
use crate::coverage::{self, Mark};

impl Node {
    /// Leader: send what each follower is missing (called once per Ready, so proposals made
    /// between two Readys travel in one AppendEntries per follower).
    pub(crate) fn flush_appends(&mut self) {
        let ids: Vec<NodeId> = self.progress.keys().copied().collect();
        for id in ids {
            self.send_append(id);
        }
    }

    /// Sends AppendEntries (or an InstallSnapshot) to `to` as far as flow control allows.
    pub(crate) fn send_append(&mut self, to: NodeId) {
        let max_inflight = self.cfg.max_inflight_msgs;
        let max_bytes = self.cfg.max_msg_bytes;
        loop {
            let Some(pr) = self.progress.get_mut(&to) else {
                return;
            };
            if matches!(pr.state, ProgressState::Snapshot(_)) {
                self.send_snapshot_chunks(to);
                return;
            }
            if !pr.can_send(max_inflight) {
                return;
            }
            let next = pr.next_index;
            let prev = next - 1;
            let Some(prev_term) = self.log.term(prev) else {
                // The follower needs entries we compacted: send the snapshot.
                self.send_snapshot_chunks(to);
                return;
            };
            if next > self.log.last_index() && !pr.needs_empty_probe() {
                return;
            }
            let entries = self.log.slice_bytes(next, max_bytes).to_vec();
            let last = entries.last().map(|e| e.index);
            pr.sent(last);
            pr.sent_round = self.reads.last_round;
            let probing = matches!(pr.state, ProgressState::Probe { .. });
            let commit = self.log.committed;
            self.send(
                to,
                MessageBody::AppendEntries {
                    prev_log_index: prev,
                    prev_log_term: prev_term,
                    entries,
                    commit,
                },
            );
            if probing {
                return;
            }
        }
    }

    pub(crate) fn broadcast_heartbeat(&mut self) {
        let committed = self.log.committed;
        self.reads.last_round += 1;
        let read_round = self.reads.last_round;
        let beats: Vec<(NodeId, Index)> = self
            .progress
            .iter()
            .map(|(id, p)| (*id, p.match_index.min(committed)))
            .collect();
        for (to, commit) in beats {
            self.send(to, MessageBody::Heartbeat { commit, read_round });
        }
    }

    /// Follower side of AppendEntries.
    pub(crate) fn handle_append(
        &mut self,
        from: NodeId,
        prev_log_index: Index,
        prev_log_term: Term,
        mut entries: Vec<Entry>,
        leader_commit: Index,
    ) -> Result<(), CoreError> {
        if prev_log_index
            .checked_add(entries.len() as Index + 1)
            .is_none()
        {
            return Err(CoreError::MalformedMessage {
                from,
                reason: format!(
                    "AppendEntries after index {prev_log_index} overflows the index space"
                ),
            });
        }
        for (i, e) in entries.iter().enumerate() {
            let expected = prev_log_index + 1 + i as Index;
            if e.index != expected {
                return Err(CoreError::MalformedMessage {
                    from,
                    reason: format!(
                        "AppendEntries entries must be contiguous after {prev_log_index}: expected index {expected}, found {}",
                        e.index
                    ),
                });
            }
        }
        let committed = self.log.committed;
        let (mut prev_index, mut prev_term) = (prev_log_index, prev_log_term);
        if prev_index < committed {
            // Everything up to our commit index matches the leader (leader completeness).
            let skip = ((committed - prev_index) as usize).min(entries.len());
            entries.drain(..skip);
            prev_index += skip as Index;
            if prev_index < committed {
                self.send(
                    from,
                    MessageBody::AppendEntriesResponse {
                        success: true,
                        index: committed,
                        reject_hint: None,
                    },
                );
                return Ok(());
            }
            prev_term = self.log.term(prev_index).unwrap_or(prev_term);
        }
        if self.log.term(prev_index) != Some(prev_term) {
            coverage::hit(Mark::AppendRejectedWithHint);
            let hint = self.reject_hint(prev_index);
            tracing::trace!(id = self.id, from, prev_index, ?hint, "append rejected");
            self.send(
                from,
                MessageBody::AppendEntriesResponse {
                    success: false,
                    index: prev_log_index,
                    reject_hint: Some(hint),
                },
            );
            return Ok(());
        }
        let last_new = prev_index + entries.len() as Index;
        if self.cfg.bugs.truncate_matching && !entries.is_empty() {
            // PLANTED BUG: drop everything after prevLogIndex, matching or not.
            self.log.truncate_from(prev_index + 1);
            for e in entries {
                self.log.push(e);
            }
        } else {
            let conflict = entries
                .iter()
                .position(|e| self.log.term(e.index) != Some(e.term));
            if let Some(pos) = conflict {
                let at = entries[pos].index;
                if at <= self.log.committed {
                    return Err(CoreError::MalformedMessage {
                        from,
                        reason: format!(
                            "entry {at} conflicts with a committed entry (commit {})",
                            self.log.committed
                        ),
                    });
                }
                if at <= self.log.last_index() {
                    coverage::hit(Mark::LogTruncatedOnConflict);
                    tracing::debug!(id = self.id, from, at, "truncating conflicting suffix");
                    self.log.truncate_from(at);
                }
                for e in entries.drain(pos..) {
                    self.log.push(e);
                }
            }
        }
        let new_commit = leader_commit.min(last_new);
        if new_commit > self.log.committed {
            self.log.committed = new_commit;
        }
        self.send(
            from,
            MessageBody::AppendEntriesResponse {
                success: true,
                index: last_new,
                reject_hint: None,
            },
        );
        Ok(())
    }

    /// Where the leader should retry after our log did not match at `prev_index`.
    fn reject_hint(&self, prev_index: Index) -> RejectHint {
        if prev_index > self.log.last_index() {
            return RejectHint {
                conflict_term: None,
                first_index: self.log.last_index() + 1,
            };
        }
        let conflict_term = self.log.term(prev_index);
        let first = self
            .log
            .first_index_of_term_at(prev_index)
            .max(self.log.committed + 1);
        RejectHint {
            conflict_term,
            first_index: first,
        }
    }

    pub(crate) fn handle_heartbeat(&mut self, from: NodeId, commit: Index, read_round: u64) {
        let commit = commit.min(self.log.last_index());
        if commit > self.log.committed {
            self.log.committed = commit;
        }
        let last_index = self.log.last_index();
        self.send(
            from,
            MessageBody::HeartbeatResponse {
                read_round,
                last_index,
            },
        );
    }

    /// Leader side of AppendEntriesResponse.
    pub(crate) fn handle_append_response(
        &mut self,
        from: NodeId,
        success: bool,
        index: Index,
        hint: Option<RejectHint>,
    ) {
        let last = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.ticks_since_heard = 0;
        if success {
            let progressed = pr.acknowledge(index.min(last));
            match &pr.state {
                ProgressState::Probe { .. } => pr.become_pipeline(),
                ProgressState::Snapshot(transfer) if pr.match_index >= transfer.index => {
                    pr.become_pipeline()
                }
                _ => {}
            }
            if progressed {
                self.maybe_commit();
                self.maybe_send_timeout_now(from);
            }
            return;
        }
        // Rejected.
        if index <= pr.match_index {
            return; // stale
        }
        match pr.state {
            ProgressState::Snapshot(_) => return,
            ProgressState::Probe { .. } if index.checked_add(1) != Some(pr.next_index) => return, // stale
            _ => {}
        }
        let candidate = match hint {
            None => index,
            Some(RejectHint {
                conflict_term: None,
                first_index,
            }) => first_index,
            Some(RejectHint {
                conflict_term: Some(term),
                first_index,
            }) => match self.log.last_index_with_term_at_most(term) {
                Some((i, t)) if t == term => i + 1,
                _ => first_index,
            },
        };
        let next = candidate.min(index).max(pr.match_index + 1);
        tracing::trace!(id = self.id, from, rejected = index, next, "probing");
        pr.become_probe(next);
    }

    /// Leader side of HeartbeatResponse: liveness, read-index acks, lost-message recovery.
    pub(crate) fn handle_heartbeat_response(
        &mut self,
        from: NodeId,
        read_round: u64,
        follower_last: Index,
    ) {
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        pr.ticks_since_heard = 0;
        pr.acked_read_round = pr.acked_read_round.max(read_round);
        match pr.state {
            ProgressState::Probe { .. } => {
                // The follower's length bounds where its log can match ours.
                if follower_last.saturating_add(1) < pr.next_index {
                    let next = follower_last + 1;
                    pr.become_probe(next);
                }
                pr.resume_probe();
            }
            ProgressState::Pipeline => {
                // The answer to a heartbeat sent after the last append overtook that append's
                // ack: on a FIFO link the append or its ack was lost. Probe from what the
                // follower holds: if it lacks entries they are resent, if only the acks were
                // lost an empty probe gets a fresh ack and frees the window. Otherwise in-flight
                // entries are never resent on a heartbeat.
                if !pr.inflight.is_empty() && read_round > pr.sent_round {
                    let next = follower_last.saturating_add(1).min(pr.next_index);
                    pr.become_probe(next);
                }
            }
            ProgressState::Snapshot(_) => {}
        }
        self.release_reads();
    }

    /// Leader: advance the commit index to the highest index durable on a quorum, but only if
    /// that entry is of the current term (Figure 8), unless the planted bug says otherwise. The
    /// leader's own copy counts up to what it acknowledged as durable (`on_persisted`), not up
    /// to its last index; a follower's counts up to what it acknowledged, which it sends only
    /// after its own write is durable.
    pub(crate) fn maybe_commit(&mut self) {
        if self.state != State::Leader {
            return;
        }
        let own = self.log.durable();
        let quorum_match = self.quorum_value(own, |p| {
            if p.assumed_caught_up {
                own // planted bug `promote_unready`
            } else {
                p.match_index
            }
        });
        if quorum_match <= self.log.committed {
            return;
        }
        let own_term = self.log.term(quorum_match) == Some(self.term);
        if own_term || self.cfg.bugs.commit_old_term {
            coverage::hit_if(
                self.log.term(self.log.committed + 1) != Some(self.term),
                Mark::OldTermCommitted,
            );
            self.log.committed = quorum_match;
            self.release_reads();
        }
    }
}
