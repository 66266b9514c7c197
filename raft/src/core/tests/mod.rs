//! Unit tests of the protocol rules, each driving one or a few bare cores by hand through a tiny
//! in-module message pump (scenario tests with a faulty network, disks and clients run on the
//! one test world, `raft::testing::world`, in `raft/tests`). The pump runs the same invariant
//! checker (`raft::testing::Checker`) after every Ready it handles, unless a test plants a bug
//! on purpose. This file holds the pump and the builders; the rules are tested
//! in the files by concern.

mod arbitrary_input;
mod durability;
mod election;
mod membership;
mod membership_churn;
mod misc;
mod read_index;
mod reordered_appends;
mod replication;
mod snapshot;
mod snapshot_chunks;

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::testing::{Checker, SnapshotWrite};

pub(super) fn config(id: NodeId) -> Config {
    Config {
        seed: 7,
        ..Config::new(id)
    }
}

pub(super) fn entry(index: Index, term: Term) -> Entry {
    Entry {
        term,
        index,
        kind: EntryKind::Normal,
        data: vec![index as u8],
    }
}

/// A few nodes wired together; messages are delivered until quiet.
pub(super) struct Pump {
    pub(super) nodes: BTreeMap<NodeId, Node>,
    pub(super) isolated: BTreeSet<NodeId>,
    pub(super) delivered: Vec<Message>,
    pub(super) applied: BTreeMap<NodeId, Vec<Entry>>,
    pub(super) reads: BTreeMap<NodeId, Vec<ReadState>>,
    /// What each node's Readys told it to persist (for crash and restart).
    pub(super) disks: BTreeMap<NodeId, PersistedState>,
    /// Optional random message loss: (rng, probability).
    pub(super) loss: Option<(rand_chacha::ChaCha8Rng, f64)>,
    /// The invariant checker, run after every Ready (`None`: a test that breaks the protocol on
    /// purpose).
    pub(super) checker: Option<Checker>,
}

impl Pump {
    pub(super) fn new(n: u64) -> Pump {
        Pump::with(n, config)
    }

    pub(super) fn with(n: u64, cfg: impl Fn(NodeId) -> Config) -> Pump {
        let conf = ConfState::with_voters(1..=n);
        let nodes = (1..=n)
            .map(|id| (id, Node::bootstrap(cfg(id), conf.clone()).unwrap()))
            .collect();
        Pump {
            nodes,
            isolated: BTreeSet::new(),
            delivered: Vec::new(),
            applied: BTreeMap::new(),
            reads: BTreeMap::new(),
            disks: BTreeMap::new(),
            loss: None,
            checker: Some(Checker::new(conf)),
        }
    }

    /// Node `id` crashed and comes back as `node` (restarted from `pump.disks`, or new).
    pub(super) fn restart_node(&mut self, id: NodeId, node: Node) {
        if let Some(checker) = self.checker.as_mut() {
            checker.on_crash(id);
            let disk = self.disks.get(&id).cloned().unwrap_or_default();
            checked(checker.on_restart(id, &disk, &node.status()));
        }
        self.nodes.insert(id, node);
    }

    pub(super) fn node(&mut self, id: NodeId) -> &mut Node {
        self.nodes.get_mut(&id).unwrap()
    }

    /// Collects every Ready (persisting it, then acknowledging its writes as durable) and
    /// delivers its messages, until no node has anything to do.
    pub(super) fn run(&mut self) {
        for _ in 0..10_000 {
            let mut msgs = Vec::new();
            let mut handled = false;
            for (id, node) in self.nodes.iter_mut() {
                if node.has_ready() {
                    handled = true;
                    let rd = node.ready();
                    if let Some(checker) = self.checker.as_mut() {
                        let snapshot = rd.snapshot.as_ref().map(|s| SnapshotWrite {
                            index: s.index,
                            term: s.term,
                            replaces_log: true,
                        });
                        checked(checker.on_persist(*id, snapshot, &rd.entries));
                    }
                    let disk = self.disks.entry(*id).or_default();
                    if let Some(hs) = rd.hard_state {
                        disk.hard_state = hs;
                    }
                    if let Some(snap) = &rd.snapshot {
                        disk.entries.clear();
                        disk.snapshot = Some(snap.clone());
                    }
                    if let Some(first) = rd.entries.first().map(|e| e.index) {
                        disk.entries.retain(|e| e.index < first);
                        disk.entries.extend(rd.entries.iter().cloned());
                    }
                    if let Some(mark) = rd.ack_when_durable {
                        node.on_persisted(mark);
                    }
                    if let Some(checker) = self.checker.as_mut() {
                        let durable = disk.entries.last().map(|e| e.index);
                        let snapshot = disk.snapshot.as_ref().map(|s| s.index);
                        checker.on_durable(*id, durable.or(snapshot).unwrap_or(0));
                        let term = node.status().term;
                        for entry in &rd.committed_entries {
                            checked(checker.on_apply(*id, entry, term));
                        }
                    }
                    self.applied
                        .entry(*id)
                        .or_default()
                        .extend(rd.committed_entries);
                    self.reads.entry(*id).or_default().extend(rd.read_states);
                    msgs.extend(rd.messages);
                    node.advance();
                    if let Some(checker) = self.checker.as_mut() {
                        checked(checker.check(&node.status()));
                    }
                }
            }
            if msgs.is_empty() && !handled {
                return;
            }
            for m in msgs {
                if self.isolated.contains(&m.from) || self.isolated.contains(&m.to) {
                    continue;
                }
                if let Some((rng, p)) = self.loss.as_mut() {
                    if rand::Rng::random_bool(rng, *p) {
                        continue;
                    }
                }
                if let Some(node) = self.nodes.get_mut(&m.to) {
                    self.delivered.push(m.clone());
                    // Checked once its Ready is handled: what a step changed in memory is not
                    // yet persisted (the checker's mirror of the log follows the disk).
                    node.step(m).unwrap();
                }
            }
        }
        panic!("the pump did not quiesce");
    }

    pub(super) fn tick_all(&mut self, ticks: u32) {
        for _ in 0..ticks {
            for node in self.nodes.values_mut() {
                node.tick();
            }
            self.run();
        }
    }

    pub(super) fn elect(&mut self, id: NodeId) {
        self.node(id).campaign();
        self.run();
        assert_eq!(self.node(id).status().role, Role::Leader);
    }

    /// Ticks only `ids` until one of them leads; returns it.
    pub(super) fn tick_until_leader(&mut self, ids: &[NodeId]) -> NodeId {
        for _ in 0..500 {
            for id in ids {
                self.node(*id).tick();
            }
            self.run();
            if let Some(id) = ids
                .iter()
                .find(|id| self.nodes[id].status().role == Role::Leader)
            {
                return *id;
            }
        }
        panic!("no leader among {ids:?}");
    }

    pub(super) fn count(&self, kind: &str) -> usize {
        self.delivered
            .iter()
            .filter(|m| m.body.kind_name() == kind)
            .count()
    }
}

/// Panics with the violation the checker found (a unit test's failure).
fn checked(result: Result<(), crate::testing::Violation>) {
    if let Err(violation) = result {
        panic!("invariant violated in the pump: {violation}");
    }
}

/// A follower whose log holds the given terms at indexes 1.. (already persisted).
pub(super) fn node_with_log(id: NodeId, voters: u64, term: Term, terms: &[Term]) -> Node {
    let entries = terms
        .iter()
        .enumerate()
        .map(|(i, t)| entry(i as Index + 1, *t))
        .collect();
    let persisted = PersistedState {
        hard_state: HardState {
            term,
            vote: None,
            commit: 0,
        },
        snapshot: None,
        entries,
    };
    Node::restart(config(id), ConfState::with_voters(1..=voters), persisted).unwrap()
}

pub(super) fn msg(from: NodeId, to: NodeId, term: Term, body: MessageBody) -> Message {
    Message {
        from,
        to,
        term,
        body,
    }
}

pub(super) fn append(
    from: NodeId,
    to: NodeId,
    term: Term,
    prev: (Index, Term),
    entries: Vec<Entry>,
) -> Message {
    msg(
        from,
        to,
        term,
        MessageBody::AppendEntries {
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries,
            commit: 0,
        },
    )
}

/// Takes a Ready and at once acknowledges its writes as durable (a synchronous disk).
pub(super) fn durable_ready(node: &mut Node) -> Ready {
    let rd = node.ready();
    if let Some(mark) = rd.ack_when_durable {
        node.on_persisted(mark);
    }
    rd
}

pub(super) fn last_response(node: &mut Node) -> MessageBody {
    node.ready().messages.pop().expect("a response").body
}
