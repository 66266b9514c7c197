//! A seeded, deterministic in-memory cluster of `raft::core::Node`s.
//!
//! Time moves in ticks. In each tick the live nodes tick one by one in a random order, and after
//! each the messages due are delivered (messages sent on a reliable network are due within the
//! same tick, so an election or a round of replication completes in one tick). Each node's Ready is handled exactly as the contract says:
//! persist to its `Disk` and acknowledge it durable (`on_persisted`), then send, then apply, then
//! serve reads, then `advance`. The invariant
//! checker runs after every tick of a node and every delivered message. A crash throws away the
//! node and its app (all volatile state); a restart rebuilds both from the disk alone.
//!
//! On panic the cluster prints its seed and tick, so any failure reproduces from the seed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use raft::core::{
    ConfState, Config, Entry, Index, Message, MessageBody, Node, NodeId, NotLeader, ReadState,
    Role, Status,
};
use raft::testing::{Checker, CheckerOptions, SnapshotWrite};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::app::App;
use super::disk::Disk;
use super::network::{NetConfig, Network};

/// How to build a cluster.
#[derive(Clone)]
pub struct Options {
    /// Voters are 1..=voters.
    pub voters: u64,
    /// Extra learners, numbered after the voters.
    pub learners: u64,
    pub seed: u64,
    pub net: NetConfig,
    /// The app snapshots every this many applied entries.
    pub snapshot_every: Option<u64>,
    /// Run the invariant checker (always on in tests; benches turn it off).
    pub check: bool,
    /// Keep every sent message in `Cluster::sent` (for message-economy tests).
    pub record_messages: bool,
    /// Adjust each node's config (election/heartbeat ticks, flow control, planted bugs).
    pub configure: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Options {
        Options {
            voters: 3,
            learners: 0,
            seed: 1,
            net: NetConfig::reliable(),
            snapshot_every: None,
            check: true,
            record_messages: false,
            configure: |_| {},
        }
    }
}

impl Options {
    pub fn new(voters: u64, seed: u64) -> Options {
        Options {
            voters,
            seed,
            ..Options::default()
        }
    }
}

/// A read state handed out by a node, and whether it was served (applied >= its index).
#[derive(Clone, Debug)]
pub struct ReadRecord {
    pub node: NodeId,
    pub state: ReadState,
    pub served: bool,
}

/// The simulated cluster.
pub struct Cluster {
    pub seed: u64,
    pub now: u64,
    /// Every node ever created, alive or crashed.
    pub ids: Vec<NodeId>,
    nodes: BTreeMap<NodeId, Node>,
    pub disks: BTreeMap<NodeId, Disk>,
    pub apps: BTreeMap<NodeId, App>,
    configs: BTreeMap<NodeId, Config>,
    pub genesis: ConfState,
    pub net: Network,
    pub rng: ChaCha8Rng,
    /// The project's invariant checker (`raft::testing`), when `Options::check` is set.
    pub inv: Option<Checker>,
    /// The committed entries seen (persisted as committed or applied), by index; kept while
    /// checking.
    committed: BTreeMap<Index, Entry>,
    /// Per node, the highest persisted commit index already recorded in `committed`.
    commit_recorded: HashMap<NodeId, Index>,
    pub snapshot_every: Option<u64>,
    pub record_messages: bool,
    pub sent: Vec<Message>,
    pub reads: Vec<ReadRecord>,
    read_bounds: HashMap<u64, Index>,
    pending_snapshot: HashMap<NodeId, Index>,
    crash_before_send: BTreeSet<NodeId>,
    /// Entries applied, summed over nodes.
    pub applied_total: u64,
    /// Normal entries applied by the first node that applied them (one count per index).
    pub committed_normal: u64,
    configure: fn(&mut Config),
    /// Print every Ready (set RAFT_TRACE=1).
    pub trace: bool,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "cluster failed: seed {} at tick {} (rerun with this seed to reproduce)",
                self.seed, self.now
            );
        }
    }
}

impl Cluster {
    pub fn new(opts: Options) -> Cluster {
        let voters: Vec<NodeId> = (1..=opts.voters).collect();
        let learners: Vec<NodeId> = (opts.voters + 1..=opts.voters + opts.learners).collect();
        let genesis = ConfState {
            voters: voters.clone(),
            learners: learners.clone(),
        };
        let mut cluster = Cluster {
            seed: opts.seed,
            now: 0,
            ids: Vec::new(),
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            apps: BTreeMap::new(),
            configs: BTreeMap::new(),
            genesis: genesis.clone(),
            net: Network::new(opts.net.clone()),
            rng: ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed_0fc1_a57e_5500),
            inv: opts.check.then(|| {
                // The simulated disk persists every commit advance at once, so commit survives
                // crashes exactly.
                let options = CheckerOptions {
                    commit_survives_crash: true,
                };
                Checker::with_options(genesis.clone(), options)
            }),
            committed: BTreeMap::new(),
            commit_recorded: HashMap::new(),
            snapshot_every: opts.snapshot_every,
            record_messages: opts.record_messages,
            sent: Vec::new(),
            reads: Vec::new(),
            read_bounds: HashMap::new(),
            pending_snapshot: HashMap::new(),
            crash_before_send: BTreeSet::new(),
            applied_total: 0,
            committed_normal: 0,
            configure: opts.configure,
            trace: std::env::var_os("RAFT_TRACE").is_some(),
        };
        for id in voters.into_iter().chain(learners) {
            let config = cluster.config_for(id);
            let node = Node::bootstrap(config.clone(), genesis.clone())
                .unwrap_or_else(|e| panic!("bootstrap of node {id} failed: {e:?}"));
            cluster.add(id, config, node);
        }
        cluster
    }

    fn config_for(&self, id: NodeId) -> Config {
        let mut config = Config::new(id);
        config.seed = self.seed;
        (self.configure)(&mut config);
        config
    }

    fn add(&mut self, id: NodeId, config: Config, node: Node) {
        self.ids.push(id);
        self.configs.insert(id, config);
        self.disks.insert(id, Disk::default());
        self.apps.insert(id, App::default());
        self.nodes.insert(id, node);
        self.handle_ready(id);
    }

    /// Start a brand-new, empty node (to be added as a learner); it knows the genesis
    /// configuration only and learns the rest from the leader.
    pub fn add_node(&mut self, id: NodeId) {
        let config = self.config_for(id);
        let node = Node::restart(config.clone(), self.genesis.clone(), Default::default())
            .unwrap_or_else(|e| panic!("start of new node {id} failed: {e:?}"));
        self.add(id, config, node);
    }

    fn fail(&self, what: String) -> ! {
        panic!(
            "invariant violated (seed {}, tick {}): {what}",
            self.seed, self.now
        );
    }

    // ----- node access -----

    pub fn is_alive(&self, id: NodeId) -> bool {
        self.nodes.contains_key(&id)
    }

    pub fn alive(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    pub fn status(&self, id: NodeId) -> Option<Status> {
        self.nodes.get(&id).map(|n| n.status())
    }

    /// Run `f` on a live node, then handle its Ready.
    pub fn with_node<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Node) -> R) -> R {
        let node = self
            .nodes
            .get_mut(&id)
            .unwrap_or_else(|| panic!("node {id} is not alive"));
        let r = f(node);
        self.handle_ready(id);
        self.check_all();
        r
    }

    pub fn propose(&mut self, id: NodeId, data: Vec<u8>) -> Result<Index, NotLeader> {
        self.with_node(id, |n| n.propose(data))
    }

    /// Ask a node for a read index; the answer is checked against everything committed so far.
    pub fn read_index(&mut self, id: NodeId, request_id: u64) -> Result<(), NotLeader> {
        let bound = self.inv.as_ref().map_or(0, |i| i.max_committed());
        self.read_bounds.insert(request_id, bound);
        self.with_node(id, |n| n.read_index(request_id))
    }

    pub fn campaign(&mut self, id: NodeId) {
        self.with_node(id, |n| n.campaign());
    }

    /// Every live node that believes it is leader, with its term.
    pub fn leaders(&self) -> Vec<(NodeId, u64)> {
        self.nodes
            .iter()
            .map(|(id, n)| (*id, n.status()))
            .filter(|(_, s)| s.role == Role::Leader)
            .map(|(id, s)| (id, s.term))
            .collect()
    }

    /// The live leader of the highest term, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.leaders()
            .into_iter()
            .max_by_key(|(_, t)| *t)
            .map(|(id, _)| id)
    }

    /// A leader that a majority of its voters (live, reachable both ways) follow in its term.
    pub fn stable_leader(&self) -> Option<NodeId> {
        let (id, term) = self.leaders().into_iter().max_by_key(|(_, t)| *t)?;
        let conf = self.status(id)?.conf;
        let followers = conf
            .voters
            .iter()
            .filter(|v| {
                **v == id
                    || (!self.net.is_cut(id, **v)
                        && !self.net.is_cut(**v, id)
                        && self
                            .status(**v)
                            .is_some_and(|s| s.term == term && s.leader == Some(id)))
            })
            .count();
        (followers > conf.voters.len() / 2).then_some(id)
    }

    // ----- time -----

    /// One tick: the live nodes tick one after another in a random order, and after each the
    /// messages due are delivered (a tick is long compared to a message's trip).
    pub fn tick(&mut self) {
        let mut order = self.alive();
        order.shuffle(&mut self.rng);
        for id in order {
            if let Some(node) = self.nodes.get_mut(&id) {
                node.tick();
            }
            self.handle_ready(id);
            self.check_all();
            self.deliver_due();
        }
        self.deliver_due();
        self.now += 1;
    }

    pub fn run(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.tick();
        }
    }

    /// Tick until `done` holds (checked before each tick); false if `max_ticks` ran out.
    pub fn run_until(&mut self, max_ticks: u64, mut done: impl FnMut(&Cluster) -> bool) -> bool {
        for _ in 0..max_ticks {
            if done(self) {
                return true;
            }
            self.tick();
        }
        done(self)
    }

    /// Tick until there is a stable leader; panics after `max_ticks`.
    pub fn wait_leader(&mut self, max_ticks: u64) -> NodeId {
        if !self.run_until(max_ticks, |c| c.stable_leader().is_some()) {
            panic!(
                "no stable leader after {max_ticks} ticks (seed {}, leaders {:?})",
                self.seed,
                self.leaders()
            );
        }
        self.stable_leader().unwrap_or_else(|| unreachable!())
    }

    /// Deliver every message that is due now.
    pub fn deliver_due(&mut self) {
        let mut budget: u64 = 10_000_000;
        while let Some(msg) = self.net.next_due(self.now, &mut self.rng) {
            budget -= 1;
            if budget == 0 {
                self.fail("message storm: 10 million deliveries in one tick".into());
            }
            let to = msg.to;
            let Some(node) = self.nodes.get_mut(&to) else {
                self.net.stats.dropped += 1;
                continue;
            };
            if let Err(e) = node.step(msg) {
                self.fail(format!("node {to} refused a message: {e:?}"));
            }
            self.handle_ready(to);
            self.check_all();
        }
    }

    // ----- the Ready loop -----

    fn handle_ready(&mut self, id: NodeId) {
        loop {
            let Some(node) = self.nodes.get_mut(&id) else {
                return;
            };
            if !node.has_ready() {
                if let Some(index) = self.pending_snapshot.remove(&id) {
                    if self.disks[&id].snapshot_index() < index {
                        self.fail(format!(
                            "node {id}: snapshot_taken({index}) was not handed out in a Ready to persist"
                        ));
                    }
                }
                return;
            }
            let rd = node.ready();
            let term = if self.inv.is_some() {
                node.status().term
            } else {
                0
            };
            if self.trace {
                eprintln!(
                    "[t{}] node {id} ready: hs {:?} entries {:?} snap {:?} commit-out {:?} msgs {:?}",
                    self.now,
                    rd.hard_state,
                    rd.entries.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(),
                    rd.snapshot.as_ref().map(|s| (s.index, s.term)),
                    rd.committed_entries.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(),
                    rd.messages.iter().map(|m| format!("{}->{} t{} {:?}", m.from, m.to, m.term, m.body)).collect::<Vec<_>>()
                );
            }
            if let Some(inv) = self.inv.as_mut() {
                // A snapshot this node took (`maybe_snapshot`) frees its log; one received from
                // a leader replaces it.
                let taken = self.pending_snapshot.get(&id).copied();
                let snapshot = rd.snapshot.as_ref().map(|s| SnapshotWrite {
                    index: s.index,
                    term: s.term,
                    replaces_log: taken != Some(s.index),
                });
                if let Err(e) = inv.on_persist(id, snapshot, &rd.entries) {
                    self.fail(e.to_string());
                }
            }
            let disk = self.disks.get_mut(&id).unwrap_or_else(|| unreachable!());
            // (1) persist.
            if let Some(snap) = &rd.snapshot {
                disk.install_snapshot(snap.clone());
            }
            if !rd.entries.is_empty() {
                // Moved, not copied: the disk owns what the Ready handed over.
                if let Err(e) = disk.append(rd.entries) {
                    self.fail(format!("node {id}: {e}"));
                }
            }
            if let Some(hs) = rd.hard_state {
                let old = disk.hard_state;
                if hs.term < old.term {
                    self.fail(format!(
                        "node {id}'s term went back from {} to {}",
                        old.term, hs.term
                    ));
                }
                if hs.term == old.term && old.vote.is_some() && hs.vote != old.vote {
                    self.fail(format!(
                        "node {id} changed its vote in term {} from {:?} to {:?}",
                        hs.term, old.vote, hs.vote
                    ));
                }
                if hs.commit < old.commit {
                    self.fail(format!(
                        "node {id}'s persisted commit went back from {} to {}",
                        old.commit, hs.commit
                    ));
                }
                disk.hard_state = hs;
            }
            if let Some(inv) = self.inv.as_mut() {
                // The disk is synchronous: everything written is durable.
                inv.on_durable(id, self.disks[&id].last_index());
                self.record_persisted_commit(id);
            }
            // The disk is synchronous: the Ready is durable as soon as it is written, so it is
            // acknowledged at once (a crash before this point keeps the write yet loses the node
            // that would have counted it; nothing is counted that the disk does not hold).
            if let Some(mark) = rd.ack_when_durable {
                let node = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
                node.on_persisted(mark);
            }
            // A crash armed for this point: the Ready is durable but nothing was sent.
            if self.crash_before_send.remove(&id) {
                self.crash(id);
                return;
            }
            // (2) send, only now that it is durable.
            for msg in rd.messages {
                if msg.from != id {
                    self.fail(format!("node {id} sent a message from {}", msg.from));
                }
                if let MessageBody::AppendEntries {
                    prev_log_index,
                    entries,
                    ..
                } = &msg.body
                {
                    let budget = self.configs[&id].max_msg_bytes;
                    let bytes: usize = entries.iter().map(|e| e.data.len()).sum();
                    if entries.len() > 1 && bytes > budget {
                        self.fail(format!(
                            "node {id} sent {bytes} bytes of entries in one append, budget {budget}"
                        ));
                    }
                    if entries
                        .iter()
                        .enumerate()
                        .any(|(i, e)| e.index != prev_log_index + 1 + i as u64)
                    {
                        self.fail(format!("node {id} sent an append with misnumbered entries"));
                    }
                }
                if self.record_messages {
                    self.sent.push(msg.clone());
                }
                self.net.send(msg, self.now, &mut self.rng);
            }
            // (3) apply: snapshot first, then entries in order.
            let app = self.apps.get_mut(&id).unwrap_or_else(|| unreachable!());
            if let Some(snap) = &rd.snapshot {
                if snap.index > app.applied {
                    match App::restore(&snap.data) {
                        Ok(restored) => *app = restored,
                        Err(e) => self.fail(format!("node {id}: {e}")),
                    }
                    if let Some(inv) = self.inv.as_mut() {
                        let app = &self.apps[&id];
                        if let Err(e) = inv.on_applied_digest(id, app.applied, app.hash) {
                            self.fail(e.to_string());
                        }
                    }
                }
            }
            for entry in &rd.committed_entries {
                let app = self.apps.get_mut(&id).unwrap_or_else(|| unreachable!());
                if let Err(e) = app.apply(entry) {
                    self.fail(format!("node {id}: {e}"));
                }
                self.applied_total += 1;
                if let Some(inv) = self.inv.as_mut() {
                    let known = inv.is_committed(entry.index);
                    let app = &self.apps[&id];
                    let result = inv
                        .on_apply(id, entry, term)
                        .and_then(|()| inv.on_applied_digest(id, app.applied, app.hash));
                    if let Err(e) = result {
                        self.fail(e.to_string());
                    }
                    self.committed
                        .entry(entry.index)
                        .or_insert_with(|| entry.clone());
                    if !known && entry.kind == raft::core::EntryKind::Normal {
                        self.committed_normal += 1;
                    }
                }
            }
            // (4) read states: check them, serve once applied.
            for state in rd.read_states {
                if let Some(bound) = self.read_bounds.get(&state.request_id) {
                    if state.index < *bound {
                        self.fail(format!(
                            "stale read: node {id} gave read index {} for request {} but {} was committed before it was asked",
                            state.index, state.request_id, bound
                        ));
                    }
                }
                self.reads.push(ReadRecord {
                    node: id,
                    state,
                    served: false,
                });
            }
            let applied = self.apps[&id].applied;
            for r in self.reads.iter_mut().filter(|r| r.node == id && !r.served) {
                r.served = applied >= r.state.index;
            }
            let node = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
            node.advance();
            self.maybe_snapshot(id);
        }
    }

    fn maybe_snapshot(&mut self, id: NodeId) {
        let Some(every) = self.snapshot_every else {
            return;
        };
        let app = self.apps[&id].clone();
        if app.applied < app.last_snapshot + every {
            return;
        }
        let node = self.nodes.get_mut(&id).unwrap_or_else(|| unreachable!());
        if let Err(e) = node.snapshot_taken(app.applied, app.snapshot_data()) {
            self.fail(format!(
                "node {id} refused snapshot_taken({}): {e:?}",
                app.applied
            ));
        }
        if let Some(a) = self.apps.get_mut(&id) {
            a.last_snapshot = app.applied;
        }
        // The core hands the snapshot out in the next Ready for us to persist.
        self.pending_snapshot.insert(id, app.applied);
    }

    /// Records the entries node `id`'s persisted commit index newly covers.
    fn record_persisted_commit(&mut self, id: NodeId) {
        let disk = &self.disks[&id];
        let done = self.commit_recorded.get(&id).copied().unwrap_or(0);
        let from = done.max(disk.snapshot_index()) + 1;
        let commit = disk.hard_state.commit;
        for index in from..=commit {
            let Some(entry) = disk.entry(index) else {
                self.fail(format!(
                    "node {id} persisted commit {commit} but has no entry {index} (log ends at {})",
                    disk.last_index()
                ));
            };
            self.committed.entry(index).or_insert_with(|| entry.clone());
        }
        self.commit_recorded.insert(id, done.max(commit));
    }

    /// Run the per-node checks on every live node.
    pub fn check_all(&mut self) {
        let Some(inv) = self.inv.as_mut() else {
            return;
        };
        let mut failure = None;
        for (id, node) in &self.nodes {
            let status = node.status();
            if let Err(e) = inv.check(&status) {
                failure = Some(e.to_string());
                break;
            }
            let applied = self.apps[id].applied;
            if applied > status.commit {
                failure = Some(format!(
                    "node {id} applied {applied} beyond its commit {}",
                    status.commit
                ));
                break;
            }
        }
        if let Some(e) = failure {
            self.fail(e);
        }
    }

    /// Every committed entry is still held by enough voters' disks that every quorum of the
    /// latest applied membership includes one.
    pub fn check_durability(&self) {
        let Some(inv) = self.inv.as_ref() else {
            return;
        };
        // The committed membership; every quorum of its voters must hold a copy.
        let voters = inv.committed_conf().voters;
        if let Err(e) = inv.check_durability(&voters) {
            self.fail(e.to_string());
        }
    }

    // ----- faults -----

    /// Lose all volatile state of a node; only its disk survives.
    pub fn crash(&mut self, id: NodeId) {
        self.crash_before_send.remove(&id);
        if self.nodes.remove(&id).is_some() {
            if let Some(inv) = self.inv.as_mut() {
                inv.on_crash(id);
            }
            self.apps.insert(id, App::default());
            self.check_durability();
        }
    }

    /// Restart a crashed node from its disk alone.
    pub fn restart(&mut self, id: NodeId) {
        if self.nodes.contains_key(&id) {
            return;
        }
        let disk = self.disks[&id].clone();
        let config = self.configs[&id].clone();
        let node = Node::restart(config, self.genesis.clone(), disk.persisted())
            .unwrap_or_else(|e| self.fail(format!("restart of node {id} failed: {e:?}")));
        let app = match &disk.snapshot {
            Some(s) => App::restore(&s.data).unwrap_or_else(|e| self.fail(e)),
            None => App::default(),
        };
        if let Some(inv) = self.inv.as_mut() {
            let status = node.status();
            let r = inv
                .on_applied_digest(id, app.applied, app.hash)
                .and_then(|()| inv.on_restart(id, &disk.persisted(), &status));
            if let Err(e) = r {
                self.fail(e.to_string());
            }
        }
        self.apps.insert(id, app);
        self.nodes.insert(id, node);
        self.handle_ready(id);
        self.check_all();
        self.check_durability();
    }

    /// Crash the node while it handles its next Ready: after persisting, before sending,
    /// applying or advancing.
    pub fn crash_before_next_send(&mut self, id: NodeId) {
        if self.nodes.contains_key(&id) {
            self.crash_before_send.insert(id);
        }
    }

    /// Forget every armed crash.
    pub fn disarm_crashes(&mut self) {
        self.crash_before_send.clear();
    }

    /// Crash then restart at once.
    pub fn crash_restart(&mut self, id: NodeId) {
        self.crash(id);
        self.restart(id);
    }

    /// Cut a node off from everyone, both ways.
    pub fn isolate(&mut self, id: NodeId) {
        for other in self.ids.clone() {
            if other != id {
                self.net.cut_one_way(id, other);
                self.net.cut_one_way(other, id);
            }
        }
    }

    /// Reconnect a node to every node that is not itself isolated by another cut.
    pub fn reconnect(&mut self, id: NodeId) {
        for other in self.ids.clone() {
            self.net.repair_one_way(id, other);
            self.net.repair_one_way(other, id);
        }
    }

    /// Split the cluster: nodes in different groups cannot talk; nodes in no group are isolated.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.net.heal();
        let group_of = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        for a in self.ids.clone() {
            for b in self.ids.clone() {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.net.cut_one_way(a, b);
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.net.heal();
    }

    // ----- observations -----

    /// How many live nodes have applied `index`, and the committed entry there.
    pub fn n_applied(&self, index: Index) -> (usize, Option<Entry>) {
        let count = self
            .nodes
            .keys()
            .filter(|id| self.apps[id].applied >= index)
            .count();
        (count, self.committed_entry(index))
    }

    /// The committed entry at `index`, as recorded by the checker.
    pub fn committed_entry(&self, index: Index) -> Option<Entry> {
        self.committed.get(&index).cloned()
    }

    /// All committed entries in index order.
    pub fn committed_log(&self) -> Vec<Entry> {
        self.committed.values().cloned().collect()
    }

    /// Propose `data` to whoever leads, and wait until at least `expected` live nodes applied it
    /// (retrying with new leaders, like a client would). Returns the index, or panics after
    /// `max_ticks`.
    pub fn one(&mut self, data: &[u8], expected: usize, max_ticks: u64) -> Index {
        let start = self.now;
        while self.now < start + max_ticks {
            let Some(leader) = self.leader() else {
                self.tick();
                continue;
            };
            let Ok(index) = self.propose(leader, data.to_vec()) else {
                self.tick();
                continue;
            };
            let deadline = (self.now + 60).min(start + max_ticks);
            while self.now < deadline {
                let (count, entry) = self.n_applied(index);
                if count >= expected {
                    match entry {
                        Some(e) if e.data == data => return index,
                        _ => break,
                    }
                }
                self.tick();
            }
        }
        panic!(
            "one({:?}): not applied on {expected} nodes within {max_ticks} ticks (seed {})",
            String::from_utf8_lossy(data),
            self.seed
        );
    }

    /// Draw from the cluster's RNG (so tests stay deterministic per seed).
    pub fn random_range(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.rng.random_range(range)
    }

    pub fn random_bool(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// Checks at the end of a test: durability, and every live node agrees on what it applied.
    pub fn finish(&mut self) {
        self.check_all();
        self.check_durability();
    }
}
