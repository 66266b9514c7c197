//! The one in-memory test world: a cluster of real replica drivers ([`crate::driver::Driver`],
//! each with its KV machine) on real storage code over a simulated file system
//! ([`disk::SimDisk`]: `NodeDisk<SimFs>`, whose crash keeps what was synced and a seeded part
//! of the rest), joined by a seeded network ([`network::Network`]: delay, loss, duplication,
//! reordering, cut, lossy, delayed and stale links), in virtual time (microseconds) driven by
//! one event queue ([`queue::EventQueue`]). The invariant checker ([`super::Checker`]) sees
//! every batch before it is carried out and every node's status after it, what the storage
//! reports durable, crashes and restarts; a violation stops the world.
//!
//! Each node input is followed by draining the driver's batches with the server's order:
//! persist (a simulated fsync, reported durable to the driver when it completes), then send,
//! then reply. A node whose removal is committed leaves the members but keeps running, as a real
//! node does, until a crash stops it for good.
//!
//! The world serves the deterministic simulator (`gauntlet sim`, whose clients, workload, fault
//! schedule and membership operator drive it through [`Event::Owner`] events and the fault
//! methods), the scenario tests in `raft/tests/` (through the scripted API of `script.rs`) and
//! the fuzz targets built on the simulator. Same seed, same run.

mod config;
mod control;
pub mod disk;
pub mod network;
mod observe;
pub mod queue;
mod script;

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::core::{Message, NodeId, PersistedState, Status};
use crate::driver::{Driver, DriverBatch, EventObserver, Token};
use crate::events::EventRecord;
use crate::kv::{ClientResponse, KvStateMachine};
use crate::storage::StorageError;

use super::{Checker, Violation};
pub use config::WorldConfig;
use disk::SimDisk;
pub use network::{Link, Network, NetworkSpec};
use observe::observe_batch;
pub use queue::{Event, EventQueue, Requester};
pub use script::{ScriptedWorld, Ticket};

/// Why the world stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A Raft invariant broke.
    #[error("{0}")]
    Invariant(Violation),
    /// The world itself failed (storage that does not reopen, a driver error): a bug in the
    /// code under test or in the world, since the world injects no disk faults.
    #[error("{0}")]
    Broken(String),
    /// A scripted scenario waited in vain (no leader, no answer) for as long as it allowed.
    #[error("{0}")]
    Stalled(String),
}

/// What handling one event left for the world's owner.
#[derive(Debug)]
pub enum Handled<X> {
    /// Nothing: the world handled it.
    Done,
    /// A node's answer reached its requester.
    Reply(Requester, ClientResponse),
    /// The owner's own event is due.
    Owner(X),
}

/// Told after every batch a node's driver handed out and the world carried out, with the
/// node's status after it: where the simulator's leader churn watches leaders.
pub trait Supervisor<X> {
    fn after_batch(&mut self, world: &mut World<X>, status: &Status);
}

/// No supervision.
impl<X> Supervisor<X> for () {
    fn after_batch(&mut self, _: &mut World<X>, _: &Status) {}
}

struct SimNode<X> {
    id: NodeId,
    driver: Option<Driver>,
    incarnation: u32,
    paused: bool,
    held: Vec<Event<X>>,
    disk: SimDisk,
    /// Removed from the cluster by a committed change: out of the members, never restarted.
    removed: bool,
    /// Derives the node's event stream from its batches (when the world records events).
    observer: Option<EventObserver>,
}

impl<X> SimNode<X> {
    fn new(id: NodeId, lazy: bool) -> SimNode<X> {
        SimNode {
            id,
            driver: None,
            incarnation: 0,
            paused: false,
            held: Vec::new(),
            disk: SimDisk::new(lazy),
            removed: false,
            observer: None,
        }
    }
}

/// One simulated cluster; `X` is the owner's kind of event.
pub struct World<X> {
    config: WorldConfig,
    now: u64,
    rng: ChaCha8Rng,
    queue: EventQueue<X>,
    nodes: Vec<SimNode<X>>,
    network: Network,
    checker: Checker,
    tokens: BTreeMap<Token, Requester>,
    next_token: Token,
    /// The cluster's nodes now, by id: the initial ones, plus nodes the owner added, minus the
    /// removed.
    members: Vec<NodeId>,
    /// Set when a removal changed `members`; the owner takes it.
    members_changed: bool,
    /// Every peer message sent, when recording (scenario tests that count messages).
    recorded: Option<Vec<Message>>,
    /// Every node's event stream (`raft::events`) in virtual time, when
    /// [`WorldConfig::record_events`] is on.
    events: Vec<EventRecord>,
    /// Peer messages this filter picks are lost (scripted scenarios that steer delivery).
    drop_filter: Option<DropFilter>,
    /// Nodes that crash when their next fsync completes, before anything waiting on it is sent
    /// (scripted scenarios).
    crash_after_sync: Vec<NodeId>,
}

/// Picks the peer messages a scripted scenario loses.
pub type DropFilter = Box<dyn Fn(&Message) -> bool>;

impl<X> World<X> {
    /// Builds and starts the nodes 1..=`config.nodes`.
    pub fn new(config: WorldConfig) -> Result<World<X>, WorldError> {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let n = config.nodes;
        let mut world = World {
            now: 0,
            rng: ChaCha8Rng::seed_from_u64(rng.random()),
            queue: EventQueue::default(),
            nodes: Vec::new(),
            network: Network::new(config.network.clone()),
            checker: Checker::new(config.genesis()),
            tokens: BTreeMap::new(),
            next_token: 1,
            members: (1..=n).collect(),
            members_changed: false,
            recorded: None,
            events: Vec::new(),
            drop_filter: None,
            crash_after_sync: Vec::new(),
            config,
        };
        for id in 1..=n {
            let lazy = world.config.driver_bugs.ack_before_sync;
            world.nodes.push(SimNode::new(id, lazy));
            world.start_node((id - 1) as usize)?;
        }
        Ok(world)
    }

    // ----- the event loop -----

    /// Handles one event at `time` (from [`World::next_event`]).
    pub fn handle(
        &mut self,
        time: u64,
        event: Event<X>,
        supervisor: &mut dyn Supervisor<X>,
    ) -> Result<Handled<X>, WorldError> {
        self.now = time;
        if let Some(n) = event.node() {
            if n >= self.nodes.len() {
                return Ok(Handled::Done);
            }
            if self.nodes[n].paused {
                if let Event::Tick { node, incarnation } = event {
                    // A frozen node's clock does not advance.
                    self.schedule_tick(node, incarnation);
                } else {
                    self.nodes[n].held.push(event);
                }
                return Ok(Handled::Done);
            }
        }
        match event {
            Event::Tick { node, incarnation } => {
                if self.nodes[node].incarnation != incarnation {
                    return Ok(Handled::Done);
                }
                if let Some(driver) = self.nodes[node].driver.as_mut() {
                    driver.on_tick();
                    self.schedule_tick(node, incarnation);
                    self.pump(node, supervisor)?;
                }
            }
            Event::Deliver { msg } => {
                let to = (msg.to - 1) as usize;
                if self.network.is_cut((msg.from, msg.to)) {
                    return Ok(Handled::Done);
                }
                if let Some(driver) = self.nodes[to].driver.as_mut() {
                    driver.on_message(msg);
                    self.pump(to, supervisor)?;
                }
            }
            Event::Synced {
                node,
                incarnation,
                batch,
                durable,
                send,
                replies,
            } => {
                if self.nodes[node].incarnation != incarnation {
                    return Ok(Handled::Done);
                }
                if let Some(number) = batch {
                    self.nodes[node].disk.sync_through(number);
                    let id = self.nodes[node].id;
                    let durable = self.nodes[node].disk.durable_last_index();
                    self.checker.on_durable(id, durable);
                    if self.crash_after_sync.contains(&id) {
                        self.crash_after_sync.retain(|&other| other != id);
                        self.crash(id);
                        return Ok(Handled::Done);
                    }
                }
                // Only now do the batch's entries count toward commit on this node.
                if let (Some(mark), Some(driver)) = (durable, self.nodes[node].driver.as_mut()) {
                    driver.on_persisted(mark);
                }
                self.dispatch(send, replies);
                self.pump(node, supervisor)?;
            }
            Event::LazySync { node, incarnation } => {
                if self.nodes[node].incarnation == incarnation {
                    let id = self.nodes[node].id;
                    self.nodes[node]
                        .disk
                        .flush_lazy(self.now)
                        .map_err(|err| storage_failure(id, err))?;
                    let durable = self.nodes[node].disk.durable_last_index();
                    self.checker.on_durable(id, durable);
                    self.queue
                        .push(self.now + 1_000_000, Event::LazySync { node, incarnation });
                }
            }
            Event::Request {
                node,
                from,
                request,
            } => {
                if let Some(driver) = self.nodes[node].driver.as_mut() {
                    let token = self.next_token;
                    self.next_token += 1;
                    self.tokens.insert(token, from);
                    driver.on_client_request(token, request);
                    self.pump(node, supervisor)?;
                }
            }
            Event::Reply { to, response } => return Ok(Handled::Reply(to, response)),
            Event::Owner(event) => return Ok(Handled::Owner(event)),
        }
        Ok(Handled::Done)
    }

    fn schedule_tick(&mut self, node: usize, incarnation: u32) {
        self.queue.push(
            self.now + self.config.tick_us,
            Event::Tick { node, incarnation },
        );
    }

    /// Builds a node's driver from its disk and starts its timers.
    fn start_node(&mut self, n: usize) -> Result<(), WorldError> {
        let node = &mut self.nodes[n];
        let persisted: PersistedState = node.disk.open(self.now).map_err(|err| {
            WorldError::Broken(format!(
                "node {}: its storage does not reopen ({err}); a bug in the storage code or in \
                 SimFs, since the simulator injects no disk faults",
                node.id
            ))
        })?;
        let cfg = self.config.driver_config(node.id, node.incarnation);
        let recovered = persisted.clone();
        let driver = Driver::new(cfg, persisted).map_err(|err| {
            WorldError::Broken(format!("node {} does not restart: {err}", node.id))
        })?;
        let (id, status) = (node.id, driver.status());
        if self.config.record_events {
            let mut observer = EventObserver::new(&recovered);
            let time_ns = self.now * 1_000;
            self.events.extend(
                observer
                    .started(&driver)
                    .into_iter()
                    .map(|event| EventRecord {
                        time_ns,
                        node: id,
                        event,
                    }),
            );
            node.observer = Some(observer);
        }
        node.driver = Some(driver);
        self.checker
            .on_restart(id, &recovered, &status)
            .and_then(|()| {
                let voters = self.checker.committed_conf().voters;
                self.checker.check_durability(&voters)
            })
            .map_err(WorldError::Invariant)?;
        let incarnation = node.incarnation;
        let phase = self.rng.random_range(0..self.config.tick_us);
        self.queue.push(
            self.now + phase,
            Event::Tick {
                node: n,
                incarnation,
            },
        );
        if self.config.driver_bugs.ack_before_sync {
            self.queue.push(
                self.now + 1_000_000,
                Event::LazySync {
                    node: n,
                    incarnation,
                },
            );
        }
        Ok(())
    }

    /// Drains a node's driver batch by batch.
    fn pump(&mut self, n: usize, supervisor: &mut dyn Supervisor<X>) -> Result<(), WorldError> {
        loop {
            let node = &mut self.nodes[n];
            let Some(driver) = node.driver.as_mut() else {
                return Ok(());
            };
            if !driver.has_work() {
                return Ok(());
            }
            let applied_before = driver.kv().applied_index();
            let checkpoint_before = driver.kv().last_checkpoint();
            let batch = driver
                .next_batch()
                .map_err(|err| WorldError::Broken(format!("node {}: {err}", node.id)))?;
            let status = driver.status();
            if let Some(observer) = node.observer.as_mut() {
                let time_ns = self.now * 1_000;
                self.events
                    .extend(observer.observe(driver, &batch).into_iter().map(|event| {
                        EventRecord {
                            time_ns,
                            node: status.id,
                            event,
                        }
                    }));
            }
            observe_batch(&mut self.checker, status.id, &batch.persist)
                .and_then(|()| self.checker.check(&status))
                .map_err(WorldError::Invariant)?;
            if self.config.digest_states && driver.kv().applied_index() != applied_before {
                let digest = state_digest(driver.kv());
                self.checker
                    .on_applied_digest(status.id, driver.kv().applied_index(), digest)
                    .map_err(WorldError::Invariant)?;
            } else if let Some((index, digest)) = driver.kv().last_checkpoint() {
                // Cheaper: the KV machine's rolling digest of its applied sequence, compared at
                // each checkpoint (what real nodes report in their event streams).
                if checkpoint_before != Some((index, digest)) {
                    self.checker
                        .on_applied_digest(status.id, index, digest.0)
                        .map_err(WorldError::Invariant)?;
                }
            }
            self.carry_out(n, batch)?;
            for removed in self.checker.take_fresh_removals() {
                self.retire_removed(removed);
            }
            supervisor.after_batch(self, &status);
        }
    }

    /// The removal of `id` was committed: take it out of the members (no fault, client or
    /// membership action picks it again). It keeps running, as a real node does after its
    /// removal, until a crash: a removed node that missed the commit of its removal still counts
    /// itself a voter, and the checker's `removed-node-elected` watches that it never leads.
    fn retire_removed(&mut self, id: NodeId) {
        let Some(n) = self.slot(id) else { return };
        self.nodes[n].removed = true;
        self.members.retain(|&m| m != id);
        self.members_changed = true;
    }

    /// Persist, then send and reply: now if nothing is to be synced and nothing waits ahead,
    /// else when the simulated fsync completes (`ack-before-sync`: right away, synced later).
    /// The batch goes through the node's real storage code; a sync it issues takes effect (and
    /// the sends and replies go out) when the simulated fsync completes.
    fn carry_out(&mut self, n: usize, batch: DriverBatch) -> Result<(), WorldError> {
        let DriverBatch {
            persist,
            ack_when_durable,
            then_send,
            replies,
        } = batch;
        let id = self.nodes[n].id;
        let has_persist = !persist.is_empty();
        let number = if !has_persist {
            None
        } else {
            self.nodes[n]
                .disk
                .write(persist)
                .map_err(|err| storage_failure(id, err))?
        };
        if self.config.driver_bugs.ack_before_sync {
            // The bug: the write is reported durable before any fsync.
            if let (Some(mark), Some(driver)) = (ack_when_durable, self.nodes[n].driver.as_mut()) {
                driver.on_persisted(mark);
            }
            self.dispatch(then_send, replies);
            return Ok(());
        }
        let busy_until = self.nodes[n].disk.busy_until;
        if !has_persist && busy_until <= self.now {
            self.dispatch(then_send, replies);
            return Ok(());
        }
        // Every batch with something to persist waits a simulated fsync, even one for which the
        // storage issued none (a commit-only hard state it defers): sending those at once, as
        // the server does, made the planted bugs rarer (no-dedup on the kv workload, or
        // truncate-matching, found in 5 of 300 swarm seeds instead of 12).
        let sync = if has_persist {
            self.network.sync_time(&mut self.rng)
        } else {
            0
        };
        let done = busy_until.max(self.now) + sync;
        self.nodes[n].disk.busy_until = done;
        let incarnation = self.nodes[n].incarnation;
        self.queue.push(
            done,
            Event::Synced {
                node: n,
                incarnation,
                batch: number,
                durable: ack_when_durable,
                send: then_send,
                replies,
            },
        );
        Ok(())
    }

    fn dispatch(&mut self, send: Vec<Message>, replies: Vec<(Token, ClientResponse)>) {
        for msg in send {
            if let Some(log) = self.recorded.as_mut() {
                log.push(msg.clone());
            }
            if self.drop_filter.as_ref().is_some_and(|drop| drop(&msg)) {
                continue;
            }
            let delays = self.network.peer_delays(&mut self.rng, (msg.from, msg.to));
            let valid = msg.to >= 1 && msg.to <= self.nodes.len() as u64;
            if !valid {
                continue;
            }
            if let Some((&last, rest)) = delays.split_last() {
                for &delay in rest {
                    self.queue
                        .push(self.now + delay, Event::Deliver { msg: msg.clone() });
                }
                self.queue.push(self.now + last, Event::Deliver { msg });
            }
        }
        for (token, response) in replies {
            let Some(to) = self.tokens.remove(&token) else {
                continue;
            };
            if let Some(delay) = self.network.client_delay(&mut self.rng) {
                self.queue
                    .push(self.now + delay, Event::Reply { to, response });
            }
        }
    }
}

/// A digest (FNV-1a) of a KV machine's whole state: applied index, data, sessions, tombstones
/// (encoded here rather than through the machine's snapshot, which a planted bug may thin out).
fn state_digest(kv: &KvStateMachine) -> u64 {
    let state = (
        kv.applied_index(),
        kv.data(),
        kv.sessions().sessions(),
        kv.sessions().tombstones(),
    );
    let bytes = postcard::to_allocvec(&state).unwrap_or_default();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A storage error in the world: no disk faults are injected, so it is a bug in the storage
/// code or in `SimFs`, and the world stops.
fn storage_failure(node: NodeId, err: StorageError) -> WorldError {
    WorldError::Broken(format!(
        "node {node}: storage error ({err}); a bug in the storage code or in SimFs, since the \
         simulator injects no disk faults"
    ))
}
