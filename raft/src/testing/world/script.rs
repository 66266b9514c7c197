//! The world's scripted API, for the scenario tests in `raft/tests/`: run the world for a
//! while or until something holds, crash, restart, pause and cut nodes off, send KV and admin
//! requests and collect their answers, look at each node's status and KV machine, count the
//! messages sent. Time is virtual (microseconds); the invariant checker runs after every batch,
//! and a violation comes back as [`WorldError::Invariant`].

use std::collections::BTreeMap;

use crate::core::{Index, Message, NodeId, Role, Status, Term};
use crate::kv::{AdminRequest, ClientRequest, ClientResponse, Op};

use super::{Handled, Requester, World, WorldConfig, WorldError};

/// Names one request sent with [`ScriptedWorld::submit`]; its answer is [`ScriptedWorld::reply`].
pub type Ticket = u64;

/// How long [`ScriptedWorld::request`] waits for one answer before it asks again.
const ATTEMPT_US: u64 = 500_000;

/// A world driven by a script rather than by the simulator's clients and faults.
pub struct ScriptedWorld {
    world: World<()>,
    replies: BTreeMap<Ticket, ClientResponse>,
    next_ticket: Ticket,
}

impl ScriptedWorld {
    /// Builds the world of `config` and starts its nodes (nothing has run yet). The checker
    /// compares the nodes' KV states index by index (`WorldConfig::digest_states`).
    pub fn new(mut config: WorldConfig) -> Result<ScriptedWorld, WorldError> {
        config.digest_states = true;
        Ok(ScriptedWorld {
            world: World::new(config)?,
            replies: BTreeMap::new(),
            next_ticket: 1,
        })
    }

    /// The world underneath, for anything the script does not wrap.
    pub fn world(&self) -> &World<()> {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut World<()> {
        &mut self.world
    }

    pub fn now(&self) -> u64 {
        self.world.now
    }

    pub fn seed(&self) -> u64 {
        self.world.config.seed
    }

    /// One election timeout at its longest (twice the configured ticks), in microseconds.
    pub fn election_us(&self) -> u64 {
        2 * u64::from(self.world.config.election_ticks) * self.world.config.tick_us
    }

    // ----- time -----

    /// Handles every event due within the next `us` microseconds.
    pub fn run_for(&mut self, us: u64) -> Result<(), WorldError> {
        let end = self.world.now + us;
        while self.world.queue.peek_time().is_some_and(|t| t <= end) {
            self.step()?;
        }
        self.world.now = end;
        Ok(())
    }

    /// Runs until `done` holds (looked at before each event) or `max_us` passed; says whether
    /// it held.
    pub fn run_until(
        &mut self,
        max_us: u64,
        mut done: impl FnMut(&ScriptedWorld) -> bool,
    ) -> Result<bool, WorldError> {
        let end = self.world.now + max_us;
        while !done(self) {
            if self.world.queue.peek_time().is_none_or(|t| t > end) {
                self.world.now = end;
                return Ok(done(self));
            }
            self.step()?;
        }
        Ok(true)
    }

    /// Runs until there is a stable leader ([`ScriptedWorld::stable_leader`]).
    pub fn wait_leader(&mut self, max_us: u64) -> Result<NodeId, WorldError> {
        if self.run_until(max_us, |w| w.stable_leader().is_some())? {
            if let Some(id) = self.stable_leader() {
                return Ok(id);
            }
        }
        Err(WorldError::Stalled(format!(
            "no stable leader within {max_us} µs (seed {}, at {} µs, leaders {:?})",
            self.seed(),
            self.now(),
            self.leaders()
        )))
    }

    fn step(&mut self) -> Result<(), WorldError> {
        let Some((time, event)) = self.world.next_event() else {
            return Ok(());
        };
        if let Handled::Reply(to, response) = self.world.handle(time, event, &mut ())? {
            self.replies.insert(to.client as Ticket, response);
        }
        Ok(())
    }

    // ----- looking -----

    pub fn status(&self, id: NodeId) -> Option<Status> {
        self.world.status(id)
    }

    /// The running nodes, by id.
    pub fn running(&self) -> Vec<NodeId> {
        (1..=self.world.nodes.len() as NodeId)
            .filter(|&id| self.world.is_running(id))
            .collect()
    }

    /// Every running node that believes it leads, with its term.
    pub fn leaders(&self) -> Vec<(NodeId, Term)> {
        self.running()
            .into_iter()
            .filter_map(|id| self.status(id))
            .filter(|s| s.role == Role::Leader)
            .map(|s| (s.id, s.term))
            .collect()
    }

    /// The running leader of the highest term.
    pub fn leader(&self) -> Option<NodeId> {
        self.world.leader()
    }

    /// A leader that a majority of its voters (running, reachable both ways) follow in its term.
    pub fn stable_leader(&self) -> Option<NodeId> {
        let id = self.leader()?;
        let status = self.status(id)?;
        let net = &self.world.network;
        let followers = status
            .conf
            .voters
            .iter()
            .filter(|&&v| {
                v == id
                    || (!net.is_cut((id, v))
                        && !net.is_cut((v, id))
                        && self
                            .status(v)
                            .is_some_and(|s| s.term == status.term && s.leader == Some(id)))
            })
            .count();
        (followers > status.conf.voters.len() / 2).then_some(id)
    }

    /// What node `id`'s KV machine holds under `key` (`None` also when the node is down).
    pub fn value(&self, id: NodeId, key: &str) -> Option<String> {
        self.world.driver(id)?.kv().read(key)
    }

    /// How many running nodes' KV machines hold `key = value`.
    pub fn holding(&self, key: &str, value: &str) -> usize {
        self.running()
            .into_iter()
            .filter(|&id| self.value(id, key).as_deref() == Some(value))
            .count()
    }

    /// Writes `key = value` through the leader, as a client would, and waits until `copies`
    /// running nodes applied it.
    pub fn replicate(
        &mut self,
        key: &str,
        value: &str,
        copies: usize,
        max_us: u64,
    ) -> Result<(), WorldError> {
        let end = self.now() + max_us;
        self.put(key, value, max_us)?;
        let left = end.saturating_sub(self.now());
        if self.run_until(left, |w| w.holding(key, value) >= copies)? {
            return Ok(());
        }
        Err(WorldError::Stalled(format!(
            "{key} = {value} applied on {} nodes, not {copies}, within {max_us} µs (seed {}, at \
             {} µs)",
            self.holding(key, value),
            self.seed(),
            self.now()
        )))
    }

    /// Node `id`'s applied index, when running.
    pub fn applied(&self, id: NodeId) -> Option<Index> {
        self.status(id).map(|s| s.applied)
    }

    /// The index of node `id`'s latest snapshot as its storage wrote it (0: none).
    pub fn snapshot_index(&self, id: NodeId) -> Index {
        self.world
            .checker
            .log(id)
            .map_or(0, |log| log.snapshot_index())
    }

    /// Peer messages sent so far (lost ones included).
    pub fn messages_sent(&self) -> u64 {
        self.world.network.sent
    }

    /// From now on, keep every peer message sent ([`ScriptedWorld::recorded`]).
    pub fn record_messages(&mut self) {
        self.world.recorded.get_or_insert_with(Vec::new);
    }

    pub fn recorded(&self) -> &[Message] {
        self.world.recorded.as_deref().unwrap_or(&[])
    }

    // ----- faults -----

    pub fn crash(&mut self, id: NodeId) {
        self.world.crash(id);
    }

    pub fn restart(&mut self, id: NodeId) -> Result<(), WorldError> {
        self.world.restart(id)
    }

    /// Crashes node `id` when its next fsync completes, before what waited on it is sent.
    pub fn crash_after_next_sync(&mut self, id: NodeId) {
        self.world.crash_after_next_sync(id);
    }

    /// Restarts every node that is down (and not removed).
    pub fn restart_all(&mut self) -> Result<(), WorldError> {
        self.world.disarm_crashes();
        for id in 1..=self.world.nodes.len() as NodeId {
            self.world.restart(id)?;
        }
        Ok(())
    }

    /// Node `id` starts an election now (if running).
    pub fn campaign(&mut self, id: NodeId) -> Result<(), WorldError> {
        self.world.campaign(id)
    }

    pub fn pause(&mut self, id: NodeId) {
        self.world.pause(id);
    }

    pub fn resume(&mut self, id: NodeId) {
        self.world.resume(id);
    }

    /// Cuts node `id` off from every other node, both ways.
    pub fn isolate(&mut self, id: NodeId) {
        for other in 1..=self.world.nodes.len() as NodeId {
            for link in [(id, other), (other, id)] {
                if other != id && !self.world.network.is_cut(link) {
                    self.world.network.cut_links(&[link]);
                }
            }
        }
    }

    /// Heals every link of node `id`.
    pub fn reconnect(&mut self, id: NodeId) {
        for other in 1..=self.world.nodes.len() as NodeId {
            self.world.network.uncut((id, other));
            self.world.network.uncut((other, id));
        }
    }

    /// Splits the nodes: nodes in different groups cannot talk, nodes in no group are cut off
    /// from all (after healing every earlier cut).
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.heal();
        let group_of = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        let n = self.world.nodes.len() as NodeId;
        for a in 1..=n {
            for b in 1..=n {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.world.network.cut_links(&[(a, b)]);
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.world.network.heal_all();
    }

    // ----- requests -----

    /// Sends `request` to node `to` over the client network; its answer, when it comes, is
    /// [`ScriptedWorld::reply`] of the returned ticket.
    pub fn submit(&mut self, to: NodeId, request: ClientRequest) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let from = Requester {
            client: ticket as usize,
            attempt: 0,
        };
        self.world.send_request(to, from, request);
        ticket
    }

    /// Sends a write of `key = value` (in a session of its own) to node `to`, without waiting.
    pub fn submit_put(&mut self, to: NodeId, key: &str, value: &str) -> Ticket {
        let request = self.kv_request(Op::Put {
            key: key.to_string(),
            value: value.to_string(),
        });
        self.submit(to, request)
    }

    pub fn reply(&self, ticket: Ticket) -> Option<&ClientResponse> {
        self.replies.get(&ticket)
    }

    /// A KV operation in a session of its own (client id = a fresh ticket number).
    pub fn kv_request(&mut self, op: Op) -> ClientRequest {
        let client_id = 1_000_000 + self.next_ticket;
        self.next_ticket += 1;
        ClientRequest::Kv {
            client_id,
            seq: 1,
            op,
        }
    }

    /// Sends `request` to the leader (any running member while there is none) until it is
    /// answered with something other than a refusal to try elsewhere, as a client would; a
    /// retried write keeps its session and sequence, so it takes effect at most once.
    pub fn request(
        &mut self,
        request: ClientRequest,
        max_us: u64,
    ) -> Result<ClientResponse, WorldError> {
        let end = self.now() + max_us;
        let mut turn = 0usize;
        while self.now() < end {
            let target = self.leader().or_else(|| {
                let running = self.running();
                (!running.is_empty()).then(|| running[turn % running.len()])
            });
            turn += 1;
            let Some(target) = target else {
                self.run_for(self.world.config.tick_us)?;
                continue;
            };
            let ticket = self.submit(target, request.clone());
            let wait = ATTEMPT_US.min(end.saturating_sub(self.now()));
            self.run_until(wait, |w| w.reply(ticket).is_some())?;
            match self.replies.remove(&ticket) {
                Some(ClientResponse::NotLeader { .. } | ClientResponse::Busy) | None => {
                    self.run_for(self.world.config.tick_us)?;
                }
                Some(response) => return Ok(response),
            }
        }
        Err(WorldError::Stalled(format!(
            "no answer to {request:?} within {max_us} µs (seed {}, at {} µs)",
            self.seed(),
            self.now()
        )))
    }

    /// Writes `key = value` through the leader and waits for its answer.
    pub fn put(
        &mut self,
        key: &str,
        value: &str,
        max_us: u64,
    ) -> Result<ClientResponse, WorldError> {
        let request = self.kv_request(Op::Put {
            key: key.to_string(),
            value: value.to_string(),
        });
        self.request(request, max_us)
    }

    /// Reads `key` through the leader (the read-index path) and waits for its answer.
    pub fn get(&mut self, key: &str, max_us: u64) -> Result<ClientResponse, WorldError> {
        let request = self.kv_request(Op::Get {
            key: key.to_string(),
        });
        self.request(request, max_us)
    }

    /// Asks the leader for a membership change and waits for its answer.
    pub fn admin(
        &mut self,
        admin: AdminRequest,
        max_us: u64,
    ) -> Result<ClientResponse, WorldError> {
        self.request(ClientRequest::Admin(admin), max_us)
    }

    /// A fresh, empty node under the next id, started (it knows only the initial configuration
    /// until the leader tells it more); add it with [`AdminRequest::AddLearner`].
    pub fn start_new_node(&mut self) -> Result<NodeId, WorldError> {
        let id = self.world.add_node();
        self.world.restart(id)?;
        self.world.add_member(id);
        Ok(id)
    }
}
