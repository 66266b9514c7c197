//! The membership operator of the simulated world: carries out the schedule's membership steps
//! (`add-learner`, `promote`, `remove`, `replace`, `transfer-leader`) the way an operator with a
//! console would.
//!
//! Each step is resolved against the configuration in effect (every committed change, as the
//! invariants saw them committed) when it starts, then becomes a list of stages done in order:
//! start a fresh node (a new id beyond every earlier one, an empty disk, the initial
//! configuration, so it is no member until the log says so), propose a change (an admin request
//! sent to the current leader, sent again while it answers `NotLeader` or `Busy` or nothing for
//! a second, until the change is seen committed), wait for a learner to catch up (its applied
//! index reaches the leader's commit index at the time of the look), wipe a removed node's disk,
//! hand leadership to a voter (a `TransferLeadership` request to the current leader, sent again
//! like a change, until the target is seen leading).
//! A removed node is stopped as soon as its removal is committed (by the library world), before
//! any later stage. The operator looks again every [`POLL_US`]; the action's start and end (done,
//! skipped, or given up at the step's end) are nemesis events in the history.

use std::collections::VecDeque;

use raft::core::{ConfChange, ConfState, NodeId, Role};
use raft::kv::{AdminRequest, ClientRequest, ClientResponse};
use raft::testing::world::Requester;

use super::super::events::SimEvent;
use super::super::schedule::{Fault, Targets};
use super::{Applied, Stop, World};
use crate::nemesis::resolved::Resolved;

/// The client index of the operator in `ClientArrive`/`ClientReply` events.
pub const OPERATOR: usize = usize::MAX;
/// How often the operator looks at the cluster while an action is in progress.
pub const POLL_US: u64 = 20_000;
/// How long the operator waits for an answer to a leadership transfer before it asks again.
pub const ADMIN_TIMEOUT_US: u64 = 1_000_000;
/// How long the operator waits for a membership change to be answered (committed) before it
/// sends it again: an impatient operator, so that a leader must refuse (`Busy`) a change while
/// another is in flight rather than count on the operator waiting.
pub const CHANGE_RESEND_US: u64 = 40_000;

/// One thing to do on the way to an action's end.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// Start the fresh node `id` (reserved when the action began).
    Start(NodeId),
    /// Have this change committed.
    Propose(ConfChange),
    /// Wait until this learner's applied index reaches the leader's commit index.
    CatchUp(NodeId),
    /// Wipe the disk of this (removed, stopped) node.
    Wipe(NodeId),
    /// Have this voter lead.
    Transfer(NodeId),
}

impl Stage {
    /// The node this stage acts on.
    fn node(&self) -> NodeId {
        match self {
            Stage::Start(id) | Stage::CatchUp(id) | Stage::Wipe(id) | Stage::Transfer(id) => *id,
            Stage::Propose(change) => change.node(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Stage::Start(id) => format!("start node {id}"),
            Stage::Propose(change) => describe_change(change),
            Stage::CatchUp(id) => format!("catch-up of {id}"),
            Stage::Wipe(id) => format!("wipe of {id}"),
            Stage::Transfer(id) => format!("transfer-leader to {id}"),
        }
    }
}

fn describe_change(change: &ConfChange) -> String {
    match change {
        ConfChange::AddLearner(id) => format!("add-learner {id}"),
        ConfChange::Promote(id) => format!("promote {id}"),
        ConfChange::Remove(id) => format!("remove {id}"),
    }
}

/// The action in progress.
#[derive(Debug)]
struct Action {
    step: usize,
    stages: VecDeque<Stage>,
    /// What was done so far, with simulated times, for the end event.
    done: Vec<String>,
}

/// The operator's state: at most one action at a time (the membership lane never overlaps).
#[derive(Debug, Default)]
pub struct Operator {
    action: Option<Action>,
    /// Number of the latest admin request; older answers are ignored.
    attempt: u64,
    /// When the unanswered request was sent.
    in_flight_since: Option<u64>,
    /// The leader refused the request outright (an `Error` that is not an unknown outcome): the
    /// action gives up.
    refusal: Option<String>,
}

impl Operator {
    /// True while the action of `step` is in progress.
    pub fn is_running(&self, step: usize) -> bool {
        self.action.as_ref().is_some_and(|a| a.step == step)
    }
}

impl World {
    /// The member that a schedule's node number `slot` names: the `slot`-th member by id,
    /// wrapping; while membership never changed, node `slot` itself.
    pub(super) fn member_at(&self, slot: NodeId) -> Option<NodeId> {
        let index = usize::try_from(slot.checked_sub(1)?).ok()?;
        let members = self.cluster.members();
        members.get(index % members.len().max(1)).copied()
    }

    /// A schedule's links, with both ends mapped to members ([`World::member_at`]).
    pub(super) fn member_links(&self, links: &[(NodeId, NodeId)]) -> Vec<(NodeId, NodeId)> {
        let mut mapped: Vec<(NodeId, NodeId)> = links
            .iter()
            .filter_map(|&(a, b)| Some((self.member_at(a)?, self.member_at(b)?)))
            .filter(|(a, b)| a != b)
            .collect();
        mapped.sort_unstable();
        mapped.dedup();
        mapped
    }

    /// The clients rotate through the members.
    pub(super) fn tell_clients(&mut self) {
        for client in &mut self.clients {
            client.set_members(self.cluster.members());
        }
    }

    /// The voter a `remove`/`replace` names: the leader, or the k-th voter by id (wrapping).
    fn pick_voter(&self, targets: &Targets, conf: &ConfState) -> NodeId {
        let leader = self.cluster.leader().filter(|id| conf.is_voter(*id));
        match (targets, leader) {
            (Targets::Leader, Some(id)) => id,
            (Targets::Nodes(slots), _) if !slots.is_empty() => {
                let k = slots[0].saturating_sub(1) as usize;
                conf.voters[k % conf.voters.len()]
            }
            _ => conf.voters[0],
        }
    }

    /// The voter a `transfer-leader` hands leadership to: of the running voters other than the
    /// leader, the one with the highest applied index (the lowest id on a tie); none without a
    /// leader.
    fn transfer_target(&self, conf: &ConfState) -> Option<NodeId> {
        let leader = self.cluster.leader()?;
        conf.voters
            .iter()
            .filter(|&&id| id != leader)
            .filter_map(|&id| {
                let status = self.cluster.status(id)?;
                Some((status.applied, std::cmp::Reverse(id)))
            })
            .max()
            .map(|(_, std::cmp::Reverse(id))| id)
    }

    /// A membership step starts: resolve it and begin its first stage (or skip it).
    pub(super) fn member_start(&mut self, step: usize) -> Applied {
        let fault = self.steps[step].fault.clone();
        if self.operator.action.is_some() {
            return Applied::Member(
                "skipped: another membership action is in progress".into(),
                Vec::new(),
            );
        }
        let conf = self.cluster.checker().committed_conf();
        let min_voters = (self.spec.nodes as usize).min(3);
        let stages: Vec<Stage> = match &fault {
            Fault::AddLearner => {
                let id = self.cluster.add_node();
                vec![Stage::Start(id), Stage::Propose(ConfChange::AddLearner(id))]
            }
            Fault::Promote => match conf.learners.first() {
                Some(&id) => vec![Stage::CatchUp(id), Stage::Propose(ConfChange::Promote(id))],
                None => {
                    return Applied::Member("skipped: no learner to promote".into(), Vec::new())
                }
            },
            Fault::Remove { targets } => {
                if conf.voters.len() <= min_voters {
                    return Applied::Member(
                        format!("skipped: only {} voters", conf.voters.len()),
                        Vec::new(),
                    );
                }
                vec![Stage::Propose(ConfChange::Remove(
                    self.pick_voter(targets, &conf),
                ))]
            }
            Fault::Replace { targets } => {
                if conf.voters.len() < min_voters.max(2) {
                    return Applied::Member(
                        format!("skipped: only {} voters", conf.voters.len()),
                        Vec::new(),
                    );
                }
                let old = self.pick_voter(targets, &conf);
                let new = self.cluster.add_node();
                vec![
                    Stage::Propose(ConfChange::Remove(old)),
                    Stage::Wipe(old),
                    Stage::Start(new),
                    Stage::Propose(ConfChange::AddLearner(new)),
                    Stage::CatchUp(new),
                    Stage::Propose(ConfChange::Promote(new)),
                ]
            }
            Fault::TransferLeader => match self.transfer_target(&conf) {
                Some(id) => vec![Stage::Transfer(id)],
                None => {
                    return Applied::Member(
                        "skipped: no leader or no other voter".into(),
                        Vec::new(),
                    )
                }
            },
            _ => return Applied::Member("skipped: not a membership step".into(), Vec::new()),
        };
        let plan = stages
            .iter()
            .map(Stage::describe)
            .collect::<Vec<_>>()
            .join(", then ");
        let mut nodes: Vec<NodeId> = Vec::new();
        for node in stages.iter().map(Stage::node) {
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
        self.operator.action = Some(Action {
            step,
            stages: stages.into(),
            done: Vec::new(),
        });
        self.operator.in_flight_since = None;
        self.operator.refusal = None;
        let now = self.cluster.now();
        self.cluster.schedule(now, SimEvent::MemberPoll { step });
        Applied::Member(plan, nodes)
    }

    /// The step's window ended with the action unfinished: give it up.
    pub(super) fn member_give_up(&mut self, step: usize) -> String {
        let Some(action) = self.operator.action.take().filter(|a| a.step == step) else {
            return "gave up".into();
        };
        let at = action
            .stages
            .front()
            .map_or_else(String::new, Stage::describe);
        let mut text = format!("gave up at {at}");
        if !action.done.is_empty() {
            text.push_str(&format!(" after {}", action.done.join(", ")));
        }
        text
    }

    /// An answer to the operator's admin request.
    pub(super) fn on_admin_reply(&mut self, attempt: u64, response: ClientResponse) {
        if attempt != self.operator.attempt {
            return;
        }
        self.operator.in_flight_since = None;
        // An unknown outcome (as the client library reads it) is no refusal: look and retry.
        match response {
            // A learner the leader does not yet see caught up: look again and retry.
            ClientResponse::Error(reason) if reason.contains("has not caught up") => {}
            ClientResponse::Error(reason) if !reason.contains("unknown") => {
                self.operator.refusal = Some(reason);
            }
            _ => {}
        }
    }

    /// The operator looks at the cluster and goes as far as it can.
    pub(super) fn member_poll(&mut self, step: usize) -> Result<(), Stop> {
        if !self.operator.is_running(step) {
            return Ok(());
        }
        loop {
            let Some(stage) = self
                .operator
                .action
                .as_ref()
                .and_then(|a| a.stages.front().cloned())
            else {
                return self.member_done(step);
            };
            if !self.advance(&stage)? {
                if let Some(reason) = self.operator.refusal.take() {
                    let action = self.operator.action.take();
                    let done = action.map(|a| a.done.join(", ")).unwrap_or_default();
                    let text = format!(
                        "gave up: {} refused ({reason}); done: {done}",
                        stage.describe()
                    );
                    return self.member_end(step, &text);
                }
                let at = self.cluster.now() + POLL_US;
                self.cluster.schedule(at, SimEvent::MemberPoll { step });
                return Ok(());
            }
            let now_ms = self.cluster.now() / 1_000;
            if let Some(action) = self.operator.action.as_mut() {
                action.stages.pop_front();
                action
                    .done
                    .push(format!("{} at {now_ms} ms", stage.describe()));
            }
            // Answers to this stage's requests arriving later are ignored.
            self.operator.attempt += 1;
            self.operator.in_flight_since = None;
            self.operator.refusal = None;
        }
    }

    fn member_done(&mut self, step: usize) -> Result<(), Stop> {
        let action = self.operator.action.take();
        let text = format!(
            "done: {}",
            action.map(|a| a.done.join(", ")).unwrap_or_default()
        );
        self.member_end(step, &text)
    }

    fn member_end(&mut self, step: usize, text: &str) -> Result<(), Stop> {
        let hit = self.applied[step]
            .take()
            .map_or_else(Resolved::default, |applied| super::resolved(&applied));
        let fault = self.steps[step].fault.clone();
        self.history
            .nemesis("end", &fault, &hit, text, self.cluster.now())
            .map_err(Stop::Harness)
    }

    /// Does what `stage` asks as far as it can now; true once it is complete.
    fn advance(&mut self, stage: &Stage) -> Result<bool, Stop> {
        match stage {
            Stage::Start(id) => {
                self.cluster.restart(*id)?;
                if self.cluster.add_member(*id) {
                    self.tell_clients();
                }
                Ok(true)
            }
            Stage::Wipe(id) => {
                self.cluster.wipe(*id);
                Ok(true)
            }
            Stage::CatchUp(id) => {
                let leader_commit = self
                    .cluster
                    .leader()
                    .and_then(|l| self.cluster.status(l))
                    .map(|s| s.commit);
                let applied = self
                    .cluster
                    .status(*id)
                    .filter(|s| s.role == Role::Learner || s.conf.is_learner(*id))
                    .map(|s| s.applied);
                Ok(matches!((leader_commit, applied), (Some(c), Some(a)) if a >= c))
            }
            Stage::Transfer(id) => {
                let leader = self.cluster.leader();
                if leader == Some(*id) {
                    self.operator.refusal = None;
                    return Ok(true);
                }
                let waiting = self
                    .operator
                    .in_flight_since
                    .is_some_and(|since| self.cluster.now() < since + ADMIN_TIMEOUT_US);
                if let (false, Some(leader)) = (waiting, leader) {
                    self.send_admin(leader, AdminRequest::TransferLeadership { to: *id });
                }
                Ok(false)
            }
            Stage::Propose(change) => {
                let conf = self.cluster.checker().committed_conf();
                let committed = match *change {
                    ConfChange::AddLearner(id) => conf.contains(id),
                    ConfChange::Promote(id) => conf.is_voter(id),
                    ConfChange::Remove(id) => self.cluster.checker().is_removed(id),
                };
                if committed {
                    self.operator.refusal = None;
                    return Ok(true);
                }
                let waiting = self
                    .operator
                    .in_flight_since
                    .is_some_and(|since| self.cluster.now() < since + CHANGE_RESEND_US);
                if !waiting {
                    if let Some(leader) = self.cluster.leader() {
                        self.send_admin(leader, admin_request(change));
                    }
                }
                Ok(false)
            }
        }
    }

    fn send_admin(&mut self, leader: NodeId, admin: AdminRequest) {
        self.operator.attempt += 1;
        self.operator.in_flight_since = Some(self.cluster.now());
        let from = Requester {
            client: OPERATOR,
            attempt: self.operator.attempt,
        };
        self.cluster
            .send_request(leader, from, ClientRequest::Admin(admin));
    }
}

/// The admin request that asks for `change`.
fn admin_request(change: &ConfChange) -> AdminRequest {
    match *change {
        ConfChange::AddLearner(id) => AdminRequest::AddLearner {
            id,
            peer_addr: format!("sim-node-{id}"),
            client_addr: format!("sim-node-{id}"),
        },
        ConfChange::Promote(id) => AdminRequest::Promote { id },
        ConfChange::Remove(id) => AdminRequest::Remove { id },
    }
}
