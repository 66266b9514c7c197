//! The replica driver: one `raft::core::Node`, its `KvStateMachine` and the clients waiting on
//! them, with no IO. The IO layer feeds it ticks, peer messages and client requests, and after
//! each input drains [`Driver::next_batch`], doing each batch in order: persist, then send, then
//! reply. When a batch's writes are durable it reports so with [`Driver::on_persisted`]. The
//! real server and the deterministic simulator run this same code.

use thiserror::Error;

use crate::core::{
    ConfChange, CoreError, Entry, EntryKind, Index, LogMark, Message, Node, NodeId, PersistedState,
    ProposeError, Role, Status,
};
use crate::kv::{
    AdminRequest, ClientRequest, ClientResponse, Command, KvError, KvStateMachine, Op, OpResult,
};

use super::batch::{DriverBatch, SnapshotToPersist, Token};
use super::bugs::UnsafeBugs;
use super::config::DriverConfig;
use super::waiters::{ReadWaiter, TransferWaiter, Waiters, WriteKind, WriteWaiter};
use crate::coverage::{self, Mark};

/// Why a driver could not be built or could not go on.
#[derive(Debug, Error)]
pub enum DriverError {
    /// The core refused its config or persisted state.
    #[error("raft core: {0}")]
    Core(#[from] CoreError),
    /// A snapshot's state machine bytes did not restore.
    #[error("snapshot at index {index} does not restore: {source}")]
    Snapshot {
        index: Index,
        #[source]
        source: KvError,
    },
}

/// One replica: core + KV machine + waiting clients.
pub struct Driver {
    node: Node,
    kv: KvStateMachine,
    cfg: DriverConfig,
    waiters: Waiters,
    /// Answers decided outside `next_batch` (refusals, stale reads), delivered with the next batch.
    replies: Vec<(Token, ClientResponse)>,
    next_read_id: u64,
    last_snapshot_index: Index,
    was_leader: bool,
}

impl Driver {
    /// A replica restarting from what earlier batches persisted (empty state = a new node).
    pub fn new(cfg: DriverConfig, persisted: PersistedState) -> Result<Driver, DriverError> {
        let mut kv = KvStateMachine::new(cfg.kv.clone());
        let mut last_snapshot_index = 0;
        if let Some(snap) = &persisted.snapshot {
            kv.restore(&snap.data)
                .map_err(|source| DriverError::Snapshot {
                    index: snap.index,
                    source,
                })?;
            last_snapshot_index = snap.index;
            coverage::hit(Mark::SnapshotRestoredOnRestart);
        }
        let node = Node::restart(cfg.node.clone(), cfg.initial_conf.clone(), persisted)?;
        Ok(Driver {
            node,
            kv,
            cfg,
            waiters: Waiters::default(),
            replies: Vec::new(),
            next_read_id: 1,
            last_snapshot_index,
            was_leader: false,
        })
    }

    /// One tick of logical time.
    pub fn on_tick(&mut self) {
        self.node.tick();
        for transfer in &mut self.waiters.transfers {
            transfer.ticks_left = transfer.ticks_left.saturating_sub(1);
        }
    }

    /// A message from a peer. Misaddressed messages are logged and dropped.
    pub fn on_message(&mut self, msg: Message) {
        let from = msg.from;
        if let Err(err) = self.node.step(msg) {
            tracing::warn!(node = self.cfg.node.id, from, error = %err, "dropping peer message");
        }
    }

    /// The writes of the batch that carried `mark` in `ack_when_durable` are durable (and so
    /// are those of every batch before it): they count toward commit on this replica now. Check
    /// [`Driver::has_work`] afterwards (a lone voter, or a leader whose followers were faster,
    /// may commit on this call).
    pub fn on_persisted(&mut self, mark: LogMark) {
        self.node.on_persisted(mark);
    }

    /// Starts an election now (tests, tools).
    pub fn campaign(&mut self) {
        self.node.campaign();
    }

    /// A client request; its answer comes out of a later [`Driver::next_batch`] with `token`.
    pub fn on_client_request(&mut self, token: Token, request: ClientRequest) {
        if self.waiters.len() >= self.cfg.max_pending {
            self.replies.push((token, ClientResponse::Busy));
            return;
        }
        match request {
            ClientRequest::Kv {
                op: Op::Get { key },
                ..
            } => self.on_read(token, key),
            ClientRequest::Kv { client_id, seq, op } => self.on_write(token, client_id, seq, op),
            ClientRequest::Admin(admin) => self.on_admin(token, admin),
            // Credentials and the voter floor are the IO layer's to check (the server's admin
            // gate); the replica carries out what reaches it.
            ClientRequest::AuthorizedAdmin(admin) => self.on_admin(token, admin.request),
        }
    }

    fn on_read(&mut self, token: Token, key: String) {
        if self.node.role() != Role::Leader {
            let refusal = self.not_leader();
            self.replies.push((token, refusal));
        } else if self.cfg.bugs.stale_read {
            // Planted bug "stale-read": answer from local state, no read index.
            let value = self.kv.read(&key);
            self.replies
                .push((token, ClientResponse::Ok(OpResult::Value(value))));
        } else {
            self.waiters.unsent_reads.push(ReadWaiter { token, key });
        }
    }

    fn on_write(&mut self, token: Token, client_id: u64, seq: u64, op: Op) {
        let keep_op = self.cfg.bugs.ack_before_commit.then(|| op.clone());
        let data = Command { client_id, seq, op }.encode();
        match self.node.propose(data) {
            Ok(index) => {
                let kind = WriteKind::Kv {
                    client_id,
                    seq,
                    op: keep_op,
                };
                self.add_write_waiter(index, WriteWaiter { token, kind });
            }
            Err(_) => {
                let refusal = self.not_leader();
                self.replies.push((token, refusal));
            }
        }
    }

    fn on_admin(&mut self, token: Token, admin: AdminRequest) {
        let change = match admin {
            AdminRequest::AddLearner { id, .. } => ConfChange::AddLearner(id),
            AdminRequest::Promote { id } => ConfChange::Promote(id),
            AdminRequest::Remove { id } => ConfChange::Remove(id),
            AdminRequest::TransferLeadership { to } => return self.on_transfer(token, to),
        };
        match self.node.propose_conf_change(change.clone()) {
            Ok(index) => self.add_write_waiter(
                index,
                WriteWaiter {
                    token,
                    kind: WriteKind::Admin(change),
                },
            ),
            Err(ProposeError::NotLeader(_)) => {
                let refusal = self.not_leader();
                self.replies.push((token, refusal));
            }
            Err(ProposeError::NoCommitInTerm | ProposeError::ConfChangePending { .. }) => {
                self.replies.push((token, ClientResponse::Busy));
            }
            // A definite refusal that names how far the learner is (the operator retries, and
            // measures the catch-up by it).
            Err(err) => self
                .replies
                .push((token, ClientResponse::Error(err.to_string()))),
        }
    }

    /// Starts handing leadership to `to`; the answer waits until `to` is seen leading
    /// ([`Driver::settle_transfers`]).
    fn on_transfer(&mut self, token: Token, to: NodeId) {
        let status = self.node.status();
        if status.role != Role::Leader {
            // A retry after the hand-over finished: the target leads already.
            let response = if status.leader == Some(to) {
                ClientResponse::AdminOk
            } else {
                self.not_leader()
            };
            self.replies.push((token, response));
            return;
        }
        match self.node.transfer_leadership(to) {
            Ok(()) if to == self.cfg.node.id => self.replies.push((token, ClientResponse::AdminOk)),
            Ok(()) => self.waiters.transfers.push(TransferWaiter {
                token,
                target: to,
                ticks_left: self.cfg.node.election_tick.saturating_mul(2),
            }),
            Err(ProposeError::NotLeader(_)) => {
                let refusal = self.not_leader();
                self.replies.push((token, refusal));
            }
            // Definite: nothing was started.
            Err(err) => self
                .replies
                .push((token, ClientResponse::Error(err.to_string()))),
        }
    }

    /// Answers the transfers whose target leads now (`AdminOk`), whose leadership went elsewhere
    /// or whose time ran out (outcome unknown: the target may still win).
    fn settle_transfers(&mut self) {
        if self.waiters.transfers.is_empty() {
            return;
        }
        let status = self.node.status();
        let transfers = std::mem::take(&mut self.waiters.transfers);
        for transfer in transfers {
            let response = if status.leader == Some(transfer.target) {
                ClientResponse::AdminOk
            } else if status.leader.is_some() && status.role != Role::Leader {
                ClientResponse::Error(format!(
                    "outcome unknown: leadership went to {:?}, not {}",
                    status.leader, transfer.target
                ))
            } else if transfer.ticks_left == 0 {
                ClientResponse::Error(format!(
                    "outcome unknown: leadership transfer to {} did not finish in time",
                    transfer.target
                ))
            } else {
                self.waiters.transfers.push(transfer);
                continue;
            };
            self.replies.push((transfer.token, response));
        }
    }

    fn add_write_waiter(&mut self, index: Index, waiter: WriteWaiter) {
        // A waiter left at this index by an earlier term's proposal lost its entry.
        if let Some(old) = self.waiters.writes.insert(index, waiter) {
            let refusal = self.not_leader();
            self.replies.push((old.token, refusal));
        }
    }

    /// True when [`Driver::next_batch`] has something to hand out.
    pub fn has_work(&self) -> bool {
        self.node.has_ready()
            || !self.replies.is_empty()
            || !self.waiters.unsent_reads.is_empty()
            || self.waiters.transfers.iter().any(|t| t.ticks_left == 0)
            || self.was_leader != (self.node.role() == Role::Leader)
    }

    /// The next batch of work. Call until [`Driver::has_work`] is false; do each batch in order
    /// (persist, then send, then reply). Batches may be taken while earlier ones are still being
    /// written, as long as their writes become durable in order and their messages and replies
    /// wait for their own fsync; report each fsync with [`Driver::on_persisted`].
    pub fn next_batch(&mut self) -> Result<DriverBatch, DriverError> {
        self.send_read_index();
        let mut batch = DriverBatch::default();
        if self.node.has_ready() {
            let ready = self.node.ready();
            if let Some(snapshot) = ready.snapshot {
                if snapshot.index > self.kv.applied_index() {
                    self.install_snapshot(&snapshot)?;
                    batch.persist.snapshot = Some(SnapshotToPersist::Installed(snapshot));
                } else {
                    batch.persist.snapshot = Some(SnapshotToPersist::Taken(snapshot));
                }
            }
            if self.cfg.bugs.ack_before_commit {
                self.ack_in_own_log(&ready.entries);
            }
            batch.persist.hard_state = ready.hard_state;
            batch.persist.entries = ready.entries;
            batch.ack_when_durable = ready.ack_when_durable;
            batch.then_send = ready.messages;
            for entry in &ready.committed_entries {
                self.apply(entry);
            }
            for state in ready.read_states {
                if let Some(reads) = self.waiters.confirming_reads.remove(&state.request_id) {
                    self.waiters
                        .confirmed_reads
                        .extend(reads.into_iter().map(|r| (state.index, r)));
                }
            }
            self.node.advance();
        }
        self.serve_reads();
        self.settle_transfers();
        self.notice_role_change();
        self.maybe_snapshot()?;
        batch.replies = std::mem::take(&mut self.replies);
        Ok(batch)
    }

    /// Asks for one read index covering every read collected since the last batch.
    fn send_read_index(&mut self) {
        if self.waiters.unsent_reads.is_empty() {
            return;
        }
        let reads = std::mem::take(&mut self.waiters.unsent_reads);
        let id = self.next_read_id;
        self.next_read_id += 1;
        match self.node.read_index(id) {
            Ok(()) => {
                self.waiters.confirming_reads.insert(id, reads);
            }
            Err(_) => {
                let refusal = self.not_leader();
                self.replies
                    .extend(reads.into_iter().map(|r| (r.token, refusal.clone())));
            }
        }
    }

    fn install_snapshot(&mut self, snapshot: &crate::core::Snapshot) -> Result<(), DriverError> {
        self.kv
            .restore(&snapshot.data)
            .map_err(|source| DriverError::Snapshot {
                index: snapshot.index,
                source,
            })?;
        self.last_snapshot_index = snapshot.index;
        // Proposals covered by the snapshot: we cannot tell whether ours is in it.
        let rest = self.waiters.writes.split_off(&(snapshot.index + 1));
        let covered = std::mem::replace(&mut self.waiters.writes, rest);
        for (_, waiter) in covered {
            self.replies.push((
                waiter.token,
                ClientResponse::Error(
                    "outcome unknown: the proposal was overtaken by a snapshot; retry with the same sequence".into(),
                ),
            ));
        }
        tracing::info!(
            node = self.cfg.node.id,
            term = self.node.status().term,
            index = snapshot.index,
            "installed snapshot"
        );
        Ok(())
    }

    /// Planted bug "ack-before-commit": answer writes as soon as they are in the leader's log,
    /// with a result guessed from the current state.
    fn ack_in_own_log(&mut self, entries: &[Entry]) {
        for entry in entries {
            let Some(waiter) = self.waiters.writes.get(&entry.index) else {
                continue;
            };
            let WriteKind::Kv { op: Some(op), .. } = &waiter.kind else {
                continue;
            };
            let current = self.kv.read(op.key());
            let guess = match op {
                Op::Get { .. } => OpResult::Value(current),
                Op::Put { .. } | Op::Append { .. } => OpResult::Written,
                Op::Cas { expected, .. } if *expected == current => OpResult::CasOk,
                Op::Cas { .. } => OpResult::CasMismatch { current },
                Op::Delete { .. } => OpResult::Deleted {
                    existed: current.is_some(),
                },
            };
            let token = waiter.token;
            self.waiters.writes.remove(&entry.index);
            self.replies.push((token, ClientResponse::Ok(guess)));
        }
    }

    /// Applies one committed entry and answers the client waiting for it, if any.
    fn apply(&mut self, entry: &Entry) {
        if entry.index <= self.kv.applied_index() {
            return;
        }
        let waiter = self.waiters.writes.remove(&entry.index);
        let response = match entry.kind {
            EntryKind::Normal => match self.kv.apply_entry(entry.index, &entry.data) {
                Ok(Some((client_id, seq, reply))) => match &waiter {
                    Some(WriteWaiter {
                        kind:
                            WriteKind::Kv {
                                client_id: c,
                                seq: s,
                                ..
                            },
                        ..
                    }) if *c == client_id && *s == seq => Some(reply.into()),
                    _ => None,
                },
                Ok(None) => None,
                Err(err) => {
                    tracing::error!(node = self.cfg.node.id, index = entry.index, error = %err, "committed entry is not a KV command; skipped");
                    None
                }
            },
            EntryKind::Noop => {
                self.mark_applied(entry.index);
                None
            }
            EntryKind::ConfChange => {
                self.mark_applied(entry.index);
                let change: Option<ConfChange> = postcard::from_bytes(&entry.data).ok();
                tracing::info!(node = self.cfg.node.id, index = entry.index, ?change, conf = ?self.node.status().conf, "membership change applied");
                match (&waiter, change) {
                    (
                        Some(WriteWaiter {
                            kind: WriteKind::Admin(mine),
                            ..
                        }),
                        Some(applied),
                    ) if *mine == applied => Some(ClientResponse::AdminOk),
                    _ => None,
                }
            }
        };
        if let Some(waiter) = waiter {
            // No matching response: another entry took this index, so our proposal is gone.
            let response = response.unwrap_or_else(|| self.not_leader());
            self.replies.push((waiter.token, response));
        }
    }

    fn mark_applied(&mut self, index: Index) {
        if let Err(err) = self.kv.mark_applied(index) {
            tracing::warn!(node = self.cfg.node.id, index, error = %err, "mark_applied refused");
        }
    }

    fn serve_reads(&mut self) {
        let applied = self.kv.applied_index();
        for read in self.waiters.take_servable_reads(applied) {
            let value = self.kv.read(&read.key);
            self.replies
                .push((read.token, ClientResponse::Ok(OpResult::Value(value))));
        }
    }

    /// A leader that stepped down fails the reads it had not confirmed (the core dropped them).
    fn notice_role_change(&mut self) {
        let is_leader = self.node.role() == Role::Leader;
        if is_leader != self.was_leader {
            let status = self.node.status();
            tracing::info!(node = status.id, term = status.term, role = ?status.role, leader = ?status.leader, "role changed");
        }
        if self.was_leader && !is_leader {
            let refusal = self.not_leader();
            let confirming = std::mem::take(&mut self.waiters.confirming_reads);
            self.replies.extend(
                confirming
                    .into_values()
                    .flatten()
                    .map(|r| (r.token, refusal.clone())),
            );
        }
        self.was_leader = is_leader;
    }

    fn maybe_snapshot(&mut self) -> Result<(), DriverError> {
        let applied = self.kv.applied_index();
        if self.cfg.snapshot_every == 0
            || applied < self.last_snapshot_index + self.cfg.snapshot_every
        {
            return Ok(());
        }
        self.node.snapshot_taken(applied, self.kv.snapshot())?;
        self.last_snapshot_index = applied;
        tracing::debug!(
            node = self.cfg.node.id,
            term = self.node.status().term,
            index = applied,
            "took snapshot"
        );
        Ok(())
    }

    /// The refusal a non-leader gives, with the leader's client address when known.
    fn not_leader(&self) -> ClientResponse {
        let leader_hint = self.node.status().leader.filter(|l| *l != self.cfg.node.id);
        ClientResponse::NotLeader {
            leader_hint,
            leader_client_addr: leader_hint.and_then(|l| self.cfg.client_addrs.get(&l).cloned()),
        }
    }

    /// The core's status.
    pub fn status(&self) -> Status {
        self.node.status()
    }

    /// This replica's id.
    pub fn id(&self) -> NodeId {
        self.cfg.node.id
    }

    /// The KV state machine (read-only).
    pub fn kv(&self) -> &KvStateMachine {
        &self.kv
    }

    /// The planted bugs in force.
    pub fn bugs(&self) -> UnsafeBugs {
        self.cfg.bugs
    }

    /// How many clients wait for an answer.
    pub fn pending(&self) -> usize {
        self.waiters.len()
    }

    /// Records a member's client address (for `NotLeader` hints).
    pub fn set_client_addr(&mut self, id: NodeId, addr: String) {
        self.cfg.client_addrs.insert(id, addr);
    }
}
