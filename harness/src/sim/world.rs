//! The simulator's side of the world: the library's test world (`raft::testing::world`: nodes
//! running the real `raft::driver::Driver` on their real storage code over simulated disks, the
//! network, virtual time, the invariant checker after every batch) driven by what is the
//! harness's own: the clients and their workload, the history, the fault schedule, leader churn
//! and the membership operator (`world/membership.rs`, which adds a learner, promotes, removes
//! and replaces the way an operator would). Both share one event queue, so one seed orders
//! everything.

mod membership;

use raft::core::{NodeId, Role, Status};
use raft::testing::world::{Handled, Requester, Supervisor, WorldConfig, WorldError};
use raft::testing::Violation as InvariantViolation;
use rand::Rng;

use self::membership::{Operator, OPERATOR};
use super::churn::{Churn, Strike, StrikeKind};
use super::client::{Next, SimClient, ATTEMPT_TIMEOUT_US};
use super::events::SimEvent;
use super::history::SimHistory;
use super::schedule::{links_between, links_out_of, Fault, Link, PartitionShape, Step, Targets};
use super::spec::SimSpec;
use super::workload::OpGenerator;
use crate::nemesis::resolved::Resolved;
use crate::nemesis::schedule::{link_list, node_list};

/// Why a run stopped early.
#[derive(Debug)]
pub enum Stop {
    Invariant(InvariantViolation),
    BadReply(String),
    Harness(String),
}

impl From<WorldError> for Stop {
    fn from(err: WorldError) -> Stop {
        match err {
            WorldError::Invariant(violation) => Stop::Invariant(violation),
            WorldError::Broken(reason) | WorldError::Stalled(reason) => Stop::Harness(reason),
        }
    }
}

/// The library world with the simulator's events in its queue.
type Cluster = raft::testing::world::World<SimEvent>;

/// What a fault did when it started, to undo it when it ends.
enum Applied {
    /// Cut links, and the node they isolate when the fault aimed at one (a leader).
    Cut(Vec<Link>, Vec<NodeId>),
    Killed(Vec<NodeId>),
    Paused(Vec<NodeId>),
    Delayed(Vec<Link>),
    Lossy(Vec<Link>),
    /// Stale links out of these source nodes.
    Stale(Vec<Link>, Vec<NodeId>),
    /// A membership action (in progress, or skipped for the reason given), and the nodes it
    /// acts on (none when skipped).
    Member(String, Vec<NodeId>),
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
    cluster: Cluster,
    clients: Vec<SimClient>,
    generators: Vec<OpGenerator>,
    steps: Vec<Step>,
    applied: Vec<Option<Applied>>,
    next_process: u64,
    ops_started: u64,
    active_clients: usize,
    /// Leader churn (`spec.churn`); its strikes are fault steps appended after the schedule's.
    churn: Option<Churn>,
    static_steps: usize,
    /// For each strike step: the moment and term it followed, for the history.
    strike_notes: Vec<String>,
    /// For each strike step: the leader it strikes, by id (not a schedule position).
    strike_nodes: Vec<NodeId>,
    operator: Operator,
    pub history: SimHistory,
    pub stats: WorldStats,
}

impl World {
    /// Builds the world of `spec` with the fault `steps`; `history` already holds its header.
    pub fn new(
        spec: SimSpec,
        steps: Vec<Step>,
        history: SimHistory,
        record_events: bool,
    ) -> Result<World, Stop> {
        let (driver_bugs, core_bugs) = spec.parsed_bugs().map_err(Stop::Harness)?;
        let n = spec.nodes;
        let clients = (0..spec.clients as u64)
            .map(|i| SimClient::new(i, n, i % n + 1))
            .collect();
        let generators = (0..spec.clients as u64)
            .map(|i| OpGenerator::new(&spec, i))
            .collect();
        let cluster = Cluster::new(WorldConfig {
            seed: spec.seed,
            nodes: n,
            tick_us: spec.tick_ms * 1_000,
            election_ticks: spec.election_ticks,
            max_msg_bytes: spec.max_msg_bytes,
            max_inflight_msgs: spec.max_inflight_msgs,
            snapshot_chunk_bytes: spec.snapshot_chunk_bytes,
            snapshot_every: spec.snapshot_every,
            session_idle_entries: spec.session_idle_entries,
            driver_bugs,
            core_bugs,
            network: spec.network.clone(),
            tune: |_| {},
            digest_states: false,
            record_events,
        })?;
        let mut world = World {
            cluster,
            clients,
            generators,
            applied: steps.iter().map(|_| None).collect(),
            churn: spec.churn.clone().map(|c| Churn::new(c, spec.seed)),
            static_steps: steps.len(),
            strike_notes: Vec::new(),
            strike_nodes: Vec::new(),
            steps,
            operator: Operator::default(),
            next_process: spec.clients as u64,
            ops_started: 0,
            active_clients: 0,
            history,
            stats: WorldStats::default(),
            spec,
        };
        for (i, step) in world.steps.iter().enumerate() {
            world
                .cluster
                .schedule(step.start_ms * 1_000, SimEvent::FaultStart { step: i });
            world
                .cluster
                .schedule(step.end_ms * 1_000, SimEvent::FaultEnd { step: i });
        }
        for client in 0..world.clients.len() {
            let at = world.cluster.rng().random_range(0..100_000);
            world.cluster.schedule(at, SimEvent::ClientStart { client });
            world.active_clients += 1;
        }
        Ok(world)
    }

    /// Runs to the end; `Err` when an invariant broke or the harness failed.
    pub fn run(&mut self) -> Result<(), Stop> {
        let quiet_end = (self.spec.time_ms + self.spec.final_reads_ms) * 1_000;
        let hard_end = quiet_end + super::client::OP_TIMEOUT_US + ATTEMPT_TIMEOUT_US;
        let mut result = Ok(());
        let mut last = 0;
        while let Some((time, event)) = self.cluster.next_event() {
            if time > hard_end || (time >= quiet_end && self.active_clients == 0) {
                break;
            }
            last = time;
            self.stats.events += 1;
            result = self.handle(time, event);
            if result.is_err() {
                break;
            }
        }
        self.stats.sim_time_us = last;
        self.stats.messages = self.cluster.network().sent;
        result
    }

    /// Virtual time now (µs).
    fn now(&self) -> u64 {
        self.cluster.now()
    }

    fn handle(
        &mut self,
        time: u64,
        event: raft::testing::world::Event<SimEvent>,
    ) -> Result<(), Stop> {
        let mut watch = LeaderWatch {
            churn: self.churn.as_mut(),
            steps: &mut self.steps,
            applied: &mut self.applied,
            strike_notes: &mut self.strike_notes,
            strike_nodes: &mut self.strike_nodes,
            end_us: self.spec.time_ms * 1_000,
        };
        let handled = self.cluster.handle(time, event, &mut watch);
        if self.cluster.take_members_changed() {
            self.tell_clients();
        }
        match handled? {
            Handled::Done => {}
            Handled::Reply(Requester { client, attempt }, response) => {
                if client == OPERATOR {
                    self.on_admin_reply(attempt, response);
                } else if self.clients[client].attempt == attempt {
                    let next = self.clients[client].on_response(time, response);
                    self.follow(client, next)?;
                }
            }
            Handled::Owner(event) => match event {
                SimEvent::ClientTimeout { client, attempt } => {
                    if self.clients[client].attempt == attempt {
                        let next = self.clients[client].on_timeout(time);
                        self.follow(client, next)?;
                    }
                }
                SimEvent::ClientRetry { client, attempt } => {
                    if self.clients[client].attempt == attempt {
                        let next = self.clients[client].retry(time);
                        self.follow(client, next)?;
                    }
                }
                SimEvent::ClientStart { client } => self.start_op(client)?,
                SimEvent::FaultStart { step } => self.fault_start(step)?,
                SimEvent::FaultEnd { step } => self.fault_end(step)?,
                SimEvent::MemberPoll { step } => self.member_poll(step)?,
            },
        }
        Ok(())
    }

    /// Every node's event stream so far (empty unless the world records events).
    pub fn events(&self) -> &[raft::events::EventRecord] {
        self.cluster.events()
    }

    /// The elections leader churn struck, in order.
    pub fn churn_strikes(&self) -> Vec<u32> {
        self.churn.as_ref().map_or(Vec::new(), |c| c.struck.clone())
    }

    fn start_op(&mut self, client: usize) -> Result<(), Stop> {
        let workload_end = self.spec.time_ms * 1_000;
        let quiet_end = workload_end + self.spec.final_reads_ms * 1_000;
        let out_of_ops = self.spec.max_ops.is_some_and(|max| self.ops_started >= max);
        let now = self.now();
        if now >= quiet_end || out_of_ops {
            self.active_clients -= 1;
            return Ok(());
        }
        self.ops_started += 1;
        let op = self.generators[client].next_op(now >= workload_end);
        let process = self.clients[client].process;
        self.history
            .invoke(process, &op, now)
            .map_err(Stop::Harness)?;
        let next = self.clients[client].begin(now, op);
        self.follow(client, next)
    }

    fn follow(&mut self, client: usize, next: Next) -> Result<(), Stop> {
        let now = self.now();
        match next {
            Next::Send {
                node,
                attempt,
                request,
                timeout_us,
            } => {
                self.cluster
                    .send_request(node, Requester { client, attempt }, request);
                self.cluster.schedule(
                    now + timeout_us,
                    SimEvent::ClientTimeout { client, attempt },
                );
            }
            Next::Retry { after_us, attempt } => {
                self.cluster
                    .schedule(now + after_us, SimEvent::ClientRetry { client, attempt });
            }
            Next::Done(completion) => {
                let Some(flight) = self.clients[client].current.take() else {
                    return Ok(());
                };
                let op = flight.op;
                let process = self.clients[client].process;
                let node = self.clients[client].last_node;
                self.history
                    .complete(process, &op, &completion, node, now)
                    .map_err(Stop::Harness)?;
                if completion.is_bad_reply() {
                    let reason = completion.error().unwrap_or("bad reply");
                    return Err(Stop::BadReply(reason.to_string()));
                }
                if completion.is_indefinite() {
                    self.clients[client].process = self.next_process;
                    self.next_process += 1;
                }
                let think = self.cluster.rng().random_range(5_000..50_000);
                self.cluster
                    .schedule(now + think, SimEvent::ClientStart { client });
            }
        }
        Ok(())
    }

    /// The nodes a fault names, by id.
    fn resolve(&mut self, targets: &Targets) -> Vec<NodeId> {
        match targets {
            Targets::Nodes(ids) => {
                let mut nodes: Vec<NodeId> =
                    ids.iter().filter_map(|&id| self.member_at(id)).collect();
                nodes.sort_unstable();
                nodes.dedup();
                nodes
            }
            Targets::Leader => {
                let leader = match self.cluster.leader() {
                    Some(l) => l,
                    None => {
                        let members = self.cluster.members().len();
                        let pick = self.cluster.rng().random_range(0..members);
                        self.cluster.members()[pick]
                    }
                };
                vec![leader]
            }
        }
    }

    fn fault_start(&mut self, step: usize) -> Result<(), Stop> {
        let fault = self.steps[step].fault.clone();
        // A leader churn strike names its leader by id: it is resolved among the members now,
        // not mapped from a schedule position (which, once membership changed, named another
        // node).
        let struck = step
            .checked_sub(self.static_steps)
            .and_then(|i| self.strike_nodes.get(i).copied());
        let applied = match &fault {
            Fault::Partition { shape, cut } => {
                let mut isolated = Vec::new();
                let cut = if let Some(leader) = struck {
                    isolated.push(leader);
                    strike_cut(leader, self.cluster.members())
                } else if *shape == PartitionShape::IsolateLeader {
                    let leader = self.resolve(&Targets::Leader)[0];
                    let rest: Vec<u64> = self
                        .cluster
                        .members()
                        .iter()
                        .copied()
                        .filter(|&i| i != leader)
                        .collect();
                    isolated.push(leader);
                    links_between(&[leader], &rest)
                } else {
                    self.member_links(cut)
                };
                self.cluster.network_mut().cut_links(&cut);
                Applied::Cut(cut, isolated)
            }
            // The simulator's crash is a power loss already: its disk (`SimFs`) keeps only what
            // was synced.
            Fault::Kill { targets } | Fault::PowerLoss { targets, .. } => {
                let nodes = match struck {
                    Some(leader) => strike_kill(leader, self.cluster.members()),
                    None => self.resolve(targets),
                };
                for &id in &nodes {
                    self.cluster.crash(id);
                }
                Applied::Killed(nodes)
            }
            Fault::Pause { targets } => {
                let nodes = self.resolve(targets);
                for &id in &nodes {
                    self.cluster.pause(id);
                }
                Applied::Paused(nodes)
            }
            Fault::Delay {
                links,
                fixed_ms,
                jitter_ms,
            } => {
                let links = self.member_links(links);
                self.cluster
                    .network_mut()
                    .set_delay(&links, Some((*fixed_ms, *jitter_ms)));
                Applied::Delayed(links)
            }
            Fault::Loss { links } => {
                let links = self.member_links(links);
                self.cluster.network_mut().set_lossy(&links, true);
                Applied::Lossy(links)
            }
            Fault::Stale {
                source,
                pass_ms,
                stall_ms,
                long_stall_ms,
                release_ms,
            } => {
                let sources: Vec<u64> = self.resolve(source);
                let links = links_out_of(&sources, self.cluster.members());
                self.cluster.network_mut().set_stale(
                    &links,
                    Some((*pass_ms, (stall_ms + long_stall_ms) / 2, *release_ms)),
                );
                Applied::Stale(links, sources)
            }
            // The simulator's clients reach the nodes outside its network model: nothing to cut.
            Fault::ClientPartition { .. } => Applied::Member(
                format!(
                    "{} skipped: the simulator has no client links",
                    fault.name()
                ),
                Vec::new(),
            ),
            Fault::AddLearner
            | Fault::Promote
            | Fault::Remove { .. }
            | Fault::Replace { .. }
            | Fault::TransferLeader => self.member_start(step),
            // Disk errors are not simulated (`parse_sim_nemesis_list` refuses them): no effect.
            Fault::DiskError { .. } => Applied::Paused(Vec::new()),
        };
        let description = self.describe_step(step, &applied);
        self.history
            .nemesis(
                "start",
                &fault,
                &resolved(&applied),
                &description,
                self.now(),
            )
            .map_err(Stop::Harness)?;
        self.applied[step] = Some(applied);
        Ok(())
    }

    fn fault_end(&mut self, step: usize) -> Result<(), Stop> {
        let Some(applied) = self.applied[step].take() else {
            return Ok(());
        };
        match &applied {
            Applied::Cut(links, _) => self.cluster.network_mut().heal_links(links),
            Applied::Killed(nodes) => {
                for &id in nodes {
                    self.cluster.restart(id)?;
                }
            }
            Applied::Paused(nodes) => {
                for &id in nodes {
                    self.cluster.resume(id);
                }
            }
            Applied::Delayed(links) => self.cluster.network_mut().set_delay(links, None),
            Applied::Lossy(links) => self.cluster.network_mut().set_lossy(links, false),
            Applied::Stale(links, _) => self.cluster.network_mut().set_stale(links, None),
            Applied::Member(..) => {}
        }
        let description = match &applied {
            Applied::Member(skipped, _) if !self.operator.is_running(step) => skipped.clone(),
            Applied::Member(..) => self.member_give_up(step),
            _ => self.describe_step(step, &applied),
        };
        self.history
            .nemesis(
                "end",
                &self.steps[step].fault,
                &resolved(&applied),
                &description,
                self.now(),
            )
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
}

/// The node a crash strike kills: its leader, if still a member.
fn strike_kill(leader: NodeId, members: &[NodeId]) -> Vec<NodeId> {
    members.iter().copied().filter(|&m| m == leader).collect()
}

/// The links an isolation strike cuts: between its leader and every other member (none when the
/// leader is no member any more), sorted.
fn strike_cut(leader: NodeId, members: &[NodeId]) -> Vec<Link> {
    if !members.contains(&leader) {
        return Vec::new();
    }
    let rest: Vec<NodeId> = members.iter().copied().filter(|&m| m != leader).collect();
    let mut cut = links_between(&[leader], &rest);
    cut.sort_unstable();
    cut.dedup();
    cut
}

/// What a fault hit, for the history's `fault` object.
fn resolved(applied: &Applied) -> Resolved {
    match applied {
        Applied::Cut(links, nodes) | Applied::Stale(links, nodes) => Resolved {
            nodes: nodes.clone(),
            links: links.clone(),
        },
        Applied::Killed(nodes) | Applied::Paused(nodes) => Resolved::nodes(nodes.clone()),
        Applied::Delayed(links) | Applied::Lossy(links) => Resolved::links(links.clone()),
        Applied::Member(_, nodes) => Resolved::nodes(nodes.clone()),
    }
}

fn describe(fault: &Fault, applied: &Applied) -> String {
    let (nodes, links) = (node_list, link_list);
    match applied {
        Applied::Cut(l, _) => format!("partition cut [{}]", links(l)),
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
        Applied::Stale(l, _) => format!("stale-links [{}]", links(l)),
        Applied::Member(text, _) => text.clone(),
    }
}

/// Leader churn's view of the world while it runs: told after every batch, it may strike a
/// leader of a new term a moment later (a fault step appended to the schedule).
struct LeaderWatch<'a> {
    churn: Option<&'a mut Churn>,
    steps: &'a mut Vec<Step>,
    applied: &'a mut Vec<Option<Applied>>,
    strike_notes: &'a mut Vec<String>,
    strike_nodes: &'a mut Vec<NodeId>,
    end_us: u64,
}

impl Supervisor<SimEvent> for LeaderWatch<'_> {
    fn after_batch(&mut self, cluster: &mut Cluster, status: &Status) {
        if status.role != Role::Leader {
            return;
        }
        let now = cluster.now();
        let Some(strike) = self
            .churn
            .as_mut()
            .and_then(|c| c.on_leader(now, status.id, status.term, status.commit, self.end_us))
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
        self.strike_nodes.push(node);
        let fault = match kind {
            StrikeKind::Crash => Fault::Kill {
                targets: Targets::Nodes(vec![node]),
            },
            StrikeKind::Isolate => {
                let rest: Vec<u64> = cluster
                    .members()
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
        cluster.schedule(at_us, SimEvent::FaultStart { step });
        cluster.schedule(until_us, SimEvent::FaultEnd { step });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strike_hits_its_leader_after_membership_changed() {
        // Node 3 was removed and node 6 joined: the leader 6 is the fifth member. Mapped as a
        // schedule position, 6 named member 1.
        let members = [1, 2, 4, 5, 6];
        assert_eq!(strike_kill(6, &members), vec![6]);
        let cut = strike_cut(6, &members);
        assert_eq!(cut.len(), 8);
        assert!(cut.iter().all(|&(a, b)| (a == 6) != (b == 6)));
        assert!(cut
            .iter()
            .all(|&(a, b)| members.contains(&a) && members.contains(&b)));
    }

    #[test]
    fn a_strike_on_a_removed_leader_does_nothing() {
        assert!(strike_kill(3, &[1, 2, 4]).is_empty());
        assert!(strike_cut(3, &[1, 2, 4]).is_empty());
    }

    #[test]
    fn with_the_initial_members_a_strike_is_what_the_schedule_mapping_gave() {
        let members: Vec<NodeId> = (1..=5).collect();
        let mut mapped = links_between(&[2], &[1, 3, 4, 5]);
        mapped.sort_unstable();
        assert_eq!(strike_cut(2, &members), mapped);
        assert_eq!(strike_kill(2, &members), vec![2]);
    }
}
