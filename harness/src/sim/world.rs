//! The simulated world: nodes (the real `raft::driver::Driver`), their disks, the network, the
//! clients and the fault schedule, advanced one event at a time in simulated time. Each node
//! input is followed by draining the driver's batches with the server's order: persist (a
//! simulated fsync, reported durable to the driver when it completes), then send, then reply.
//! Raft invariants are checked after every batch. Membership actions (add a learner, promote,
//! remove, replace) are carried out by an operator in `world/membership.rs`.

mod membership;

use std::collections::BTreeMap;

use raft::core::{ConfState, Config, PersistedState, PlantedBugs, Role};
use raft::driver::{Driver, DriverBatch, DriverConfig, Token, UnsafeBugs};
use raft::kv::ClientResponse;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::membership::{Operator, OPERATOR};
use super::churn::{Churn, Strike, StrikeKind};
use super::client::{Next, SimClient, ATTEMPT_TIMEOUT_US};
use super::disk::SimDisk;
use super::events::{Event, EventQueue};
use super::history::SimHistory;
use super::invariants::{observe_batch, Checker, InvariantViolation};
use super::network::Network;
use super::schedule::{links_between, links_out_of, Fault, Link, PartitionShape, Step, Targets};
use super::spec::SimSpec;
use super::workload::OpGenerator;

/// Why a run stopped early.
#[derive(Debug)]
pub enum Stop {
    Invariant(InvariantViolation),
    BadReply(String),
    Harness(String),
}

struct SimNode {
    id: u64,
    driver: Option<Driver>,
    incarnation: u32,
    paused: bool,
    held: Vec<Event>,
    disk: SimDisk,
    /// Removed from the cluster by a committed change: stopped for good.
    removed: bool,
}

/// What a fault did when it started, to undo it when it ends.
enum Applied {
    Cut(Vec<Link>),
    Killed(Vec<usize>),
    Paused(Vec<usize>),
    Delayed(Vec<Link>),
    Lossy(Vec<Link>),
    Stale(Vec<Link>),
    /// A membership action (in progress, or skipped for the reason given).
    Member(String),
}

/// Counters of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorldStats {
    pub events: u64,
    pub messages: u64,
    pub sim_time_us: u64,
}

/// One simulated cluster with its clients.
pub struct World {
    spec: SimSpec,
    now: u64,
    rng: ChaCha8Rng,
    queue: EventQueue,
    nodes: Vec<SimNode>,
    network: Network,
    clients: Vec<SimClient>,
    generators: Vec<OpGenerator>,
    steps: Vec<Step>,
    applied: Vec<Option<Applied>>,
    invariants: Checker,
    tokens: BTreeMap<Token, (usize, u64)>,
    next_token: Token,
    next_process: u64,
    ops_started: u64,
    active_clients: usize,
    driver_bugs: UnsafeBugs,
    core_bugs: PlantedBugs,
    /// Leader churn (`spec.churn`); its strikes are fault steps appended after the schedule's.
    churn: Option<Churn>,
    static_steps: usize,
    /// For each strike step: the moment and term it followed, for the history.
    strike_notes: Vec<String>,
    /// The cluster's nodes now, by id: the initial ones, plus nodes started to join, minus the
    /// removed. Clients rotate through this list, and faults that name nodes name its members
    /// (see [`World::member_at`]).
    members: Vec<u64>,
    operator: Operator,
    pub history: SimHistory,
    pub stats: WorldStats,
}

impl World {
    /// Builds the world of `spec` with the fault `steps`; `history` already holds its header.
    pub fn new(spec: SimSpec, steps: Vec<Step>, history: SimHistory) -> Result<World, Stop> {
        let (driver_bugs, core_bugs) = spec.parsed_bugs().map_err(Stop::Harness)?;
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let n = spec.nodes;
        let clients = (0..spec.clients as u64)
            .map(|i| SimClient::new(i, n, i % n + 1))
            .collect();
        let generators = (0..spec.clients as u64)
            .map(|i| OpGenerator::new(&spec, i))
            .collect();
        let mut world = World {
            now: 0,
            queue: EventQueue::default(),
            nodes: Vec::new(),
            network: Network::new(spec.network.clone()),
            clients,
            generators,
            applied: steps.iter().map(|_| None).collect(),
            churn: spec.churn.clone().map(|c| Churn::new(c, spec.seed)),
            static_steps: steps.len(),
            strike_notes: Vec::new(),
            steps,
            invariants: Checker::new(ConfState::with_voters(1..=n)),
            members: (1..=n).collect(),
            operator: Operator::default(),
            tokens: BTreeMap::new(),
            next_token: 1,
            next_process: spec.clients as u64,
            ops_started: 0,
            active_clients: 0,
            driver_bugs,
            core_bugs,
            history,
            stats: WorldStats::default(),
            rng: ChaCha8Rng::seed_from_u64(rng.random()),
            spec,
        };
        for id in 1..=n {
            world.nodes.push(SimNode {
                id,
                driver: None,
                incarnation: 0,
                paused: false,
                held: Vec::new(),
                disk: SimDisk::new(world.driver_bugs.ack_before_sync),
                removed: false,
            });
            world.start_node((id - 1) as usize)?;
        }
        for (i, step) in world.steps.iter().enumerate() {
            world
                .queue
                .push(step.start_ms * 1_000, Event::FaultStart { step: i });
            world
                .queue
                .push(step.end_ms * 1_000, Event::FaultEnd { step: i });
        }
        for client in 0..world.clients.len() {
            let at = world.rng.random_range(0..100_000);
            world.queue.push(at, Event::ClientStart { client });
            world.active_clients += 1;
        }
        Ok(world)
    }

    /// Runs to the end; `Err` when an invariant broke or the harness failed.
    pub fn run(&mut self) -> Result<(), Stop> {
        let quiet_end = (self.spec.time_ms + self.spec.final_reads_ms) * 1_000;
        let hard_end = quiet_end + super::client::OP_TIMEOUT_US + ATTEMPT_TIMEOUT_US;
        let mut result = Ok(());
        while let Some((time, event)) = self.queue.pop() {
            if time > hard_end || (time >= quiet_end && self.active_clients == 0) {
                break;
            }
            self.now = time;
            self.stats.events += 1;
            result = self.handle(event);
            if result.is_err() {
                break;
            }
        }
        self.stats.sim_time_us = self.now;
        self.stats.messages = self.network.sent;
        result
    }

    fn handle(&mut self, event: Event) -> Result<(), Stop> {
        if let Some(n) = event.node() {
            if n >= self.nodes.len() {
                return Ok(());
            }
            if self.nodes[n].paused {
                if let Event::Tick { node, incarnation } = event {
                    // A frozen node's clock does not advance.
                    self.schedule_tick(node, incarnation);
                } else {
                    self.nodes[n].held.push(event);
                }
                return Ok(());
            }
        }
        match event {
            Event::Tick { node, incarnation } => {
                if self.nodes[node].incarnation != incarnation {
                    return Ok(());
                }
                if let Some(driver) = self.nodes[node].driver.as_mut() {
                    driver.on_tick();
                    self.schedule_tick(node, incarnation);
                    self.pump(node)?;
                }
            }
            Event::Deliver { msg } => {
                let to = (msg.to - 1) as usize;
                if self.network.is_cut((msg.from, msg.to)) {
                    return Ok(());
                }
                if let Some(driver) = self.nodes[to].driver.as_mut() {
                    driver.on_message(msg);
                    self.pump(to)?;
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
                    return Ok(());
                }
                if let Some(number) = batch {
                    self.nodes[node].disk.sync_through(number);
                    let durable = self.nodes[node].disk.durable_last_index();
                    self.invariants.on_durable(self.nodes[node].id, durable);
                }
                // Only now do the batch's entries count toward commit on this node.
                if let (Some(mark), Some(driver)) = (durable, self.nodes[node].driver.as_mut()) {
                    driver.on_persisted(mark);
                }
                self.dispatch(node, send, replies);
                self.pump(node)?;
            }
            Event::LazySync { node, incarnation } => {
                if self.nodes[node].incarnation == incarnation {
                    let id = self.nodes[node].id;
                    self.nodes[node]
                        .disk
                        .flush_lazy(self.now)
                        .map_err(|err| storage_failure(id, err))?;
                    let durable = self.nodes[node].disk.durable_last_index();
                    self.invariants.on_durable(id, durable);
                    self.queue
                        .push(self.now + 1_000_000, Event::LazySync { node, incarnation });
                }
            }
            Event::ClientArrive {
                node,
                client,
                attempt,
                request,
            } => {
                if let Some(driver) = self.nodes[node].driver.as_mut() {
                    let token = self.next_token;
                    self.next_token += 1;
                    self.tokens.insert(token, (client, attempt));
                    driver.on_client_request(token, request);
                    self.pump(node)?;
                }
            }
            Event::ClientReply {
                client,
                attempt,
                response,
            } => {
                if client == OPERATOR {
                    self.on_admin_reply(attempt, response);
                } else if self.clients[client].attempt == attempt {
                    let next = self.clients[client].on_response(self.now, response);
                    self.follow(client, next)?;
                }
            }
            Event::ClientTimeout { client, attempt } => {
                if self.clients[client].attempt == attempt {
                    let next = self.clients[client].on_timeout(self.now);
                    self.follow(client, next)?;
                }
            }
            Event::ClientRetry { client, attempt } => {
                if self.clients[client].attempt == attempt {
                    let next = self.clients[client].retry(self.now);
                    self.follow(client, next)?;
                }
            }
            Event::ClientStart { client } => self.start_op(client)?,
            Event::FaultStart { step } => self.fault_start(step)?,
            Event::FaultEnd { step } => self.fault_end(step)?,
            Event::MemberPoll { step } => self.member_poll(step)?,
        }
        Ok(())
    }

    fn schedule_tick(&mut self, node: usize, incarnation: u32) {
        self.queue.push(
            self.now + self.spec.tick_ms * 1_000,
            Event::Tick { node, incarnation },
        );
    }

    /// Builds a node's driver from its disk and starts its timers.
    fn start_node(&mut self, n: usize) -> Result<(), Stop> {
        let node = &mut self.nodes[n];
        let persisted: PersistedState = node.disk.open(self.now).map_err(|err| {
            Stop::Harness(format!(
                "node {}: its storage does not reopen ({err}); a bug in the storage code or in \
                 SimFs, since the simulator injects no disk faults",
                node.id
            ))
        })?;
        let mut core = Config::new(node.id);
        core.election_tick = self.spec.election_ticks;
        core.heartbeat_tick = 1;
        core.max_msg_bytes = self.spec.max_msg_bytes.max(1);
        core.max_inflight_msgs = self.spec.max_inflight_msgs.max(1);
        core.snapshot_chunk_bytes = self.spec.snapshot_chunk_bytes.max(1);
        core.seed = self.spec.seed ^ (u64::from(node.incarnation) << 40);
        let mut cfg = DriverConfig::new(
            core,
            ConfState::with_voters(1..=self.spec.nodes),
            self.driver_bugs,
        );
        cfg.node.bugs = self.core_bugs;
        cfg.snapshot_every = self.spec.snapshot_every;
        cfg.kv.session_idle_entries = self
            .spec
            .session_idle_entries
            .unwrap_or(cfg.kv.session_idle_entries);
        let recovered = persisted.clone();
        let driver = Driver::new(cfg, persisted)
            .map_err(|err| Stop::Harness(format!("node {} does not restart: {err}", node.id)))?;
        let (id, status) = (node.id, driver.status());
        node.driver = Some(driver);
        self.invariants
            .on_restart(id, &recovered, &status)
            .and_then(|()| {
                let voters = self.invariants.committed_conf().voters;
                self.invariants.check_durability(&voters)
            })
            .map_err(Stop::Invariant)?;
        let incarnation = node.incarnation;
        let phase = self.rng.random_range(0..self.spec.tick_ms * 1_000);
        self.queue.push(
            self.now + phase,
            Event::Tick {
                node: n,
                incarnation,
            },
        );
        if self.driver_bugs.ack_before_sync {
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
    fn pump(&mut self, n: usize) -> Result<(), Stop> {
        loop {
            let node = &mut self.nodes[n];
            let Some(driver) = node.driver.as_mut() else {
                return Ok(());
            };
            if !driver.has_work() {
                return Ok(());
            }
            let batch = driver
                .next_batch()
                .map_err(|err| Stop::Harness(format!("node {}: {err}", node.id)))?;
            let status = driver.status();
            let commit = status.commit;
            observe_batch(&mut self.invariants, status.id, &batch.persist)
                .and_then(|()| self.invariants.check(&status))
                .map_err(Stop::Invariant)?;
            self.carry_out(n, batch)?;
            for removed in self.invariants.take_fresh_removals() {
                self.stop_removed(removed);
            }
            if status.role == Role::Leader {
                self.watch_leader(status.id, status.term, commit);
            }
        }
    }

    /// Leader churn: maybe strike a leader of a new term a moment from now.
    fn watch_leader(&mut self, id: u64, term: u64, commit: u64) {
        let end_us = self.spec.time_ms * 1_000;
        let Some(strike) = self
            .churn
            .as_mut()
            .and_then(|c| c.on_leader(self.now, id, term, commit, end_us))
        else {
            return;
        };
        let Strike {
            node,
            kind,
            at_us,
            until_us,
            moment,
            term,
            ..
        } = strike;
        self.strike_notes
            .push(format!("{} in term {term}", moment.name()));
        let fault = match kind {
            StrikeKind::Crash => Fault::Kill {
                targets: Targets::Nodes(vec![node]),
            },
            StrikeKind::Isolate => {
                let rest: Vec<u64> = self
                    .members
                    .iter()
                    .copied()
                    .filter(|&i| i != node)
                    .collect();
                Fault::Partition {
                    shape: PartitionShape::IsolateOne,
                    cut: links_between(&[node], &rest),
                }
            }
        };
        let step = self.steps.len();
        self.steps.push(Step {
            start_ms: at_us / 1_000,
            end_ms: until_us.div_ceil(1_000),
            fault,
        });
        self.applied.push(None);
        self.queue.push(at_us, Event::FaultStart { step });
        self.queue.push(until_us, Event::FaultEnd { step });
    }

    /// The elections leader churn struck, in order.
    pub fn churn_strikes(&self) -> Vec<u32> {
        self.churn.as_ref().map_or(Vec::new(), |c| c.struck.clone())
    }

    /// Persist, then send and reply: now if nothing is to be synced and nothing waits ahead,
    /// else when the simulated fsync completes (`ack-before-sync`: right away, synced later).
    /// The batch goes through the node's real storage code; a sync it issues takes effect (and
    /// the sends and replies go out) when the simulated fsync completes.
    fn carry_out(&mut self, n: usize, batch: DriverBatch) -> Result<(), Stop> {
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
        if self.driver_bugs.ack_before_sync {
            // The bug: the write is reported durable before any fsync.
            if let (Some(mark), Some(driver)) = (ack_when_durable, self.nodes[n].driver.as_mut()) {
                driver.on_persisted(mark);
            }
            self.dispatch(n, then_send, replies);
            return Ok(());
        }
        let busy_until = self.nodes[n].disk.busy_until;
        if !has_persist && busy_until <= self.now {
            self.dispatch(n, then_send, replies);
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

    fn dispatch(
        &mut self,
        _n: usize,
        send: Vec<raft::core::Message>,
        replies: Vec<(Token, ClientResponse)>,
    ) {
        for msg in send {
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
            let Some((client, attempt)) = self.tokens.remove(&token) else {
                continue;
            };
            if let Some(delay) = self.network.client_delay(&mut self.rng) {
                self.queue.push(
                    self.now + delay,
                    Event::ClientReply {
                        client,
                        attempt,
                        response,
                    },
                );
            }
        }
    }

    fn start_op(&mut self, client: usize) -> Result<(), Stop> {
        let workload_end = self.spec.time_ms * 1_000;
        let quiet_end = workload_end + self.spec.final_reads_ms * 1_000;
        let out_of_ops = self.spec.max_ops.is_some_and(|max| self.ops_started >= max);
        if self.now >= quiet_end || out_of_ops {
            self.active_clients -= 1;
            return Ok(());
        }
        self.ops_started += 1;
        let op = self.generators[client].next_op(self.now >= workload_end);
        let process = self.clients[client].process;
        self.history
            .invoke(process, &op, self.now)
            .map_err(Stop::Harness)?;
        let next = self.clients[client].begin(self.now, op);
        self.follow(client, next)
    }

    fn follow(&mut self, client: usize, next: Next) -> Result<(), Stop> {
        match next {
            Next::Send {
                node,
                attempt,
                request,
                timeout_us,
            } => {
                if let Some(delay) = self.network.client_delay(&mut self.rng) {
                    self.queue.push(
                        self.now + delay,
                        Event::ClientArrive {
                            node: (node - 1) as usize,
                            client,
                            attempt,
                            request,
                        },
                    );
                }
                self.queue.push(
                    self.now + timeout_us,
                    Event::ClientTimeout { client, attempt },
                );
            }
            Next::Retry { after_us, attempt } => {
                self.queue
                    .push(self.now + after_us, Event::ClientRetry { client, attempt });
            }
            Next::Done(completion) => {
                let Some(flight) = self.clients[client].current.take() else {
                    return Ok(());
                };
                let op = flight.op;
                let process = self.clients[client].process;
                self.history
                    .complete(process, &op, &completion, self.now)
                    .map_err(Stop::Harness)?;
                if completion.is_bad_reply() {
                    let reason = completion.error().unwrap_or("bad reply");
                    return Err(Stop::BadReply(reason.to_string()));
                }
                if completion.is_indefinite() {
                    self.clients[client].process = self.next_process;
                    self.next_process += 1;
                }
                let think = self.rng.random_range(5_000..50_000);
                self.queue
                    .push(self.now + think, Event::ClientStart { client });
            }
        }
        Ok(())
    }

    /// The node that leads in the highest term now, if any.
    fn current_leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| node.driver.as_ref().map(|d| (i, d.status())))
            .filter(|(_, s)| s.role == Role::Leader)
            .max_by_key(|(_, s)| s.term)
            .map(|(i, _)| i)
    }

    fn resolve(&mut self, targets: &Targets) -> Vec<usize> {
        match targets {
            Targets::Nodes(ids) => {
                let mut nodes: Vec<usize> = ids
                    .iter()
                    .filter_map(|&id| self.member_at(id))
                    .map(|id| (id - 1) as usize)
                    .collect();
                nodes.sort_unstable();
                nodes.dedup();
                nodes
            }
            Targets::Leader => {
                let leader = match self.current_leader() {
                    Some(l) => l,
                    None => {
                        let pick = self.rng.random_range(0..self.members.len());
                        (self.members[pick] - 1) as usize
                    }
                };
                vec![leader]
            }
        }
    }

    fn fault_start(&mut self, step: usize) -> Result<(), Stop> {
        let fault = self.steps[step].fault.clone();
        let applied = match &fault {
            Fault::Partition { shape, cut } => {
                let cut = if *shape == PartitionShape::IsolateLeader {
                    let leader = self.resolve(&Targets::Leader)[0] as u64 + 1;
                    let rest: Vec<u64> = self
                        .members
                        .iter()
                        .copied()
                        .filter(|&i| i != leader)
                        .collect();
                    links_between(&[leader], &rest)
                } else {
                    self.member_links(cut)
                };
                self.network.cut_links(&cut);
                Applied::Cut(cut)
            }
            Fault::Kill { targets } => {
                let nodes = self.resolve(targets);
                for &n in &nodes {
                    self.kill(n);
                }
                Applied::Killed(nodes)
            }
            Fault::Pause { targets } => {
                let nodes = self.resolve(targets);
                for &n in &nodes {
                    self.nodes[n].paused = true;
                }
                Applied::Paused(nodes)
            }
            Fault::Delay {
                links,
                fixed_ms,
                jitter_ms,
            } => {
                let links = self.member_links(links);
                self.network
                    .set_delay(&links, Some((*fixed_ms, *jitter_ms)));
                Applied::Delayed(links)
            }
            Fault::Loss { links } => {
                let links = self.member_links(links);
                self.network.set_lossy(&links, true);
                Applied::Lossy(links)
            }
            Fault::Stale {
                source,
                pass_ms,
                stall_ms,
                long_stall_ms,
                release_ms,
            } => {
                let sources: Vec<u64> = self
                    .resolve(source)
                    .into_iter()
                    .map(|n| n as u64 + 1)
                    .collect();
                let links = links_out_of(&sources, &self.members);
                self.network.set_stale(
                    &links,
                    Some((*pass_ms, (stall_ms + long_stall_ms) / 2, *release_ms)),
                );
                Applied::Stale(links)
            }
            Fault::AddLearner
            | Fault::Promote
            | Fault::Remove { .. }
            | Fault::Replace { .. }
            | Fault::TransferLeader => self.member_start(step),
        };
        let description = self.describe_step(step, &applied);
        self.history
            .nemesis("start", &fault, &description, self.now)
            .map_err(Stop::Harness)?;
        self.applied[step] = Some(applied);
        Ok(())
    }

    fn fault_end(&mut self, step: usize) -> Result<(), Stop> {
        let Some(applied) = self.applied[step].take() else {
            return Ok(());
        };
        match &applied {
            Applied::Cut(links) => self.network.heal_links(links),
            Applied::Killed(nodes) => {
                for &n in nodes {
                    if self.nodes[n].driver.is_none() && !self.nodes[n].removed {
                        self.start_node(n)?;
                    }
                }
            }
            Applied::Paused(nodes) => {
                for &n in nodes {
                    self.nodes[n].paused = false;
                    for event in std::mem::take(&mut self.nodes[n].held) {
                        self.queue.push(self.now, event);
                    }
                }
            }
            Applied::Delayed(links) => self.network.set_delay(links, None),
            Applied::Lossy(links) => self.network.set_lossy(links, false),
            Applied::Stale(links) => self.network.set_stale(links, None),
            Applied::Member(_) => {}
        }
        let description = match &applied {
            Applied::Member(skipped) if !self.operator.is_running(step) => skipped.clone(),
            Applied::Member(_) => self.member_give_up(step),
            _ => self.describe_step(step, &applied),
        };
        self.history
            .nemesis("end", &self.steps[step].fault, &description, self.now)
            .map_err(Stop::Harness)?;
        Ok(())
    }

    /// A fault's description for the history; leader churn's strikes say so.
    fn describe_step(&self, step: usize, applied: &Applied) -> String {
        let text = describe(&self.steps[step].fault, applied);
        if let Some(note) = step
            .checked_sub(self.static_steps)
            .and_then(|i| self.strike_notes.get(i))
        {
            format!("leader-churn ({note}) {text}")
        } else {
            text
        }
    }

    /// A crash: the process is gone, and its file system keeps what was synced plus a seeded
    /// part of the rest (`raft::storage::sim_fs`).
    fn kill(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.driver = None;
        node.incarnation += 1;
        node.paused = false;
        node.held.clear();
        node.disk.crash(&mut self.rng);
        self.invariants.on_crash(node.id);
    }
}

/// A storage error in the simulator: no disk faults are injected, so it is a bug in the storage
/// code or in `SimFs`, and the run stops as a harness failure.
fn storage_failure(node: u64, err: raft::storage::StorageError) -> Stop {
    Stop::Harness(format!(
        "node {node}: storage error ({err}); a bug in the storage code or in SimFs, since the \
         simulator injects no disk faults"
    ))
}

fn describe(fault: &Fault, applied: &Applied) -> String {
    let nodes = |ns: &[usize]| {
        ns.iter()
            .map(|n| (n + 1).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let links = |ls: &[Link]| {
        ls.iter()
            .map(|(a, b)| format!("{a}->{b}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match applied {
        Applied::Cut(l) => format!("partition cut [{}]", links(l)),
        Applied::Killed(n) => format!("kill [{}]", nodes(n)),
        Applied::Paused(n) => format!("pause [{}]", nodes(n)),
        Applied::Delayed(l) => match fault {
            Fault::Delay {
                fixed_ms,
                jitter_ms,
                ..
            } => format!("delay {fixed_ms}+{jitter_ms}ms [{}]", links(l)),
            _ => format!("delay [{}]", links(l)),
        },
        Applied::Lossy(l) => format!("loss [{}]", links(l)),
        Applied::Stale(l) => format!("stale-links [{}]", links(l)),
        Applied::Member(text) => text.clone(),
    }
}
