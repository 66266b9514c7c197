//! The membership lane of a real run: carries out the schedule's membership steps (`add-learner`,
//! `promote`, `remove`, `replace`, `transfer-leader`, the same [`Fault`]s the simulator draws)
//! against a live cluster through [`Db::take_spare`], [`Db::change_membership`] and
//! [`Db::retire`], one action at a time, each within its step's window.
//!
//! The lane keeps its own view of the configuration (the voters and learners its own changes
//! made, starting from the initial nodes). It never goes below `min(3, n)` voters (a replacement
//! removes first with `force`, then adds and promotes the new node) and never removes an initial
//! voter when that would leave fewer than a majority of the initial voters as members. A learner
//! is promoted once the leader sees it caught up: the lane asks for the promotion every 100 ms
//! and the leader refuses it, naming the learner's match index and its commit index, until the
//! learner holds the committed log; the wait (or the last refusal, when 10 s or the step's window
//! ran out first) is in the action's end event. A
//! removed node is stopped once its removal is committed; a replaced node's data is wiped. Each
//! action records `<step>-start` and `<step>-end` nemesis events (`add-learner-start`, ...) whose
//! `fault` object lists the nodes acted on.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::resolved::Resolved;
use super::runner::NemesisRunner;
use super::schedule::{node_list, Fault, NodeId, Step, Targets};
use crate::db::{DbError, MembershipChange};

/// How often the lane asks the leader again whether a learner has caught up.
const CATCH_UP_POLL: Duration = Duration::from_millis(100);
/// The longest the lane waits for a learner to catch up before it gives the promotion up.
const CATCH_UP_BOUND: Duration = Duration::from_secs(10);
/// What a leader's refusal to promote a learner that is behind says (the raft core's
/// `ProposeError::LearnerBehind`; etcd says "in sync with leader").
const BEHIND_MARKERS: [&str; 2] = ["has not caught up", "in sync with leader"];
/// Pause between attempts of a change whose outcome was unknown or that was refused for now.
const RETRY_PAUSE: Duration = Duration::from_millis(300);

/// The configuration as the lane's own changes left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneView {
    pub initial: Vec<NodeId>,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
}

impl LaneView {
    pub fn new(initial: Vec<NodeId>) -> LaneView {
        LaneView {
            voters: initial.clone(),
            initial,
            learners: Vec::new(),
        }
    }

    /// The fewest voters the lane leaves: `min(3, n)`.
    pub fn floor(&self) -> usize {
        self.initial.len().min(3)
    }

    /// The voter a schedule's target names: `Nodes([k])` is the k-th voter by id (wrapping),
    /// `leader` the leader found; then moved off an initial voter when removing it would leave
    /// fewer than a majority of the initial voters as members (to the newest added voter), or
    /// `None` when no voter may go.
    pub fn victim(&self, target: &Targets, leader: Option<NodeId>) -> Option<NodeId> {
        let mut voters = self.voters.clone();
        voters.sort_unstable();
        let chosen = match target {
            Targets::Nodes(slots) => {
                let slot = slots.first().copied().unwrap_or(1).max(1) as usize - 1;
                voters.get(slot % voters.len().max(1)).copied()?
            }
            Targets::Leader => leader
                .filter(|l| voters.contains(l))
                .or(voters.first().copied())?,
        };
        let initial_left = voters.iter().filter(|v| self.initial.contains(v)).count();
        let majority = self.initial.len() / 2 + 1;
        if self.initial.contains(&chosen) && initial_left <= majority {
            return voters
                .iter()
                .rev()
                .find(|v| !self.initial.contains(v))
                .copied();
        }
        Some(chosen)
    }
}

/// One action's outcome: what it acted on and what happened, for the end event.
struct Outcome {
    nodes: Vec<NodeId>,
    done: Vec<String>,
}

impl Outcome {
    fn note(&mut self, text: impl Into<String>) {
        self.done.push(text.into());
    }
}

impl NemesisRunner {
    /// Walks the membership lane's steps from `started` until their end or `stop`. Returns how
    /// many actions were started.
    pub(super) async fn run_membership_lane(
        &self,
        steps: &[Step],
        started: Instant,
        stop: CancellationToken,
    ) -> usize {
        let mut view = LaneView::new(self.cluster.db().nodes());
        let mut count = 0;
        for step in steps {
            tokio::select! {
                _ = tokio::time::sleep_until(started + Duration::from_millis(step.start_ms)) => {}
                _ = stop.cancelled() => break,
            }
            count += 1;
            let deadline = started + Duration::from_millis(step.end_ms);
            self.record(
                "start",
                &step.fault,
                &Resolved::default(),
                &step.fault.to_string(),
            );
            self.set_active(Some(step.fault.name()), None);
            let outcome = self.act(&step.fault, &mut view, deadline, &stop).await;
            let detail = format!(
                "{}; voters {} learners {}",
                outcome.done.join(", "),
                node_list(&view.voters),
                node_list(&view.learners)
            );
            tracing::info!(%detail, "nemesis: membership action ends");
            self.set_active(None, Some(step.fault.name()));
            self.record("end", &step.fault, &Resolved::nodes(outcome.nodes), &detail);
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = stop.cancelled() => break,
            }
        }
        count
    }

    fn record(&self, phase: &str, fault: &Fault, resolved: &Resolved, detail: &str) {
        if let Err(err) = self.recorder.nemesis(phase, fault, resolved, detail) {
            tracing::error!(%err, "cannot record a nemesis event");
        }
    }

    async fn act(
        &self,
        fault: &Fault,
        view: &mut LaneView,
        deadline: Instant,
        stop: &CancellationToken,
    ) -> Outcome {
        let mut outcome = Outcome {
            nodes: Vec::new(),
            done: Vec::new(),
        };
        match fault {
            Fault::AddLearner => {
                self.add_and_promote(view, deadline, stop, false, &mut outcome)
                    .await;
            }
            Fault::Promote => match view.learners.first().copied() {
                None => outcome.note("skipped: no learner"),
                Some(learner) => {
                    outcome.nodes.push(learner);
                    self.promote(learner, view, deadline, stop, &mut outcome)
                        .await;
                }
            },
            Fault::Remove { targets } | Fault::Replace { targets } => {
                let replace = matches!(fault, Fault::Replace { .. });
                let floor = view.floor();
                if !replace && view.voters.len() <= floor {
                    outcome.note(format!(
                        "skipped: {} voters is the floor",
                        view.voters.len()
                    ));
                    return outcome;
                }
                let leader = match targets {
                    Targets::Leader => self.cluster.find_leader().await,
                    Targets::Nodes(_) => None,
                };
                let Some(victim) = view.victim(targets, leader) else {
                    outcome.note("skipped: no voter may leave");
                    return outcome;
                };
                outcome.nodes.push(victim);
                let force = view.voters.len() <= floor;
                let change = MembershipChange::Remove {
                    node: victim,
                    force,
                };
                if !self.until_done(change, deadline, stop, &mut outcome).await {
                    return outcome;
                }
                view.voters.retain(|&v| v != victim);
                let retired = self.cluster.with_db(|db| {
                    db.retire(victim)?;
                    if replace {
                        db.wipe(victim)?;
                    }
                    Ok::<_, DbError>(())
                });
                match retired {
                    Ok(()) if replace => outcome.note(format!("stopped and wiped {victim}")),
                    Ok(()) => outcome.note(format!("stopped {victim}")),
                    Err(err) => outcome.note(format!("stopping {victim}: {}", err.describe())),
                }
                if replace {
                    self.add_and_promote(view, deadline, stop, true, &mut outcome)
                        .await;
                }
            }
            Fault::TransferLeader => {
                let leader = self.cluster.find_leader().await;
                let to = view.voters.iter().copied().find(|&v| Some(v) != leader);
                match (leader, to) {
                    (Some(_), Some(to)) => {
                        outcome.nodes.push(to);
                        let change = MembershipChange::TransferLeader(to);
                        self.until_done(change, deadline, stop, &mut outcome).await;
                    }
                    _ => outcome.note("skipped: no leader or no other voter"),
                }
            }
            other => outcome.note(format!("skipped: {} is no membership step", other.name())),
        }
        outcome
    }

    /// Starts a spare and adds it as a learner; with `promote`, promotes it too.
    async fn add_and_promote(
        &self,
        view: &mut LaneView,
        deadline: Instant,
        stop: &CancellationToken,
        promote: bool,
        outcome: &mut Outcome,
    ) {
        let node = match self.cluster.with_db(|db| db.take_spare()) {
            Ok(node) => node,
            Err(err) => {
                outcome.note(format!("no spare started: {}", err.describe()));
                return;
            }
        };
        outcome.nodes.push(node);
        outcome.note(format!("started spare {node}"));
        let change = MembershipChange::AddLearner(node);
        if !self.until_done(change, deadline, stop, outcome).await {
            // Perhaps added (an unknown outcome): a later promotion tries it.
            view.learners.push(node);
            return;
        }
        view.learners.push(node);
        if promote {
            self.promote(node, view, deadline, stop, outcome).await;
        }
    }

    /// Measures the learner's catch-up, then promotes it: the promotion is asked of the leader
    /// every [`CATCH_UP_POLL`]; a leader that sees the learner behind refuses it and says how far
    /// the learner is (its match index against the commit index). The wait, and the last
    /// refusal, go into the end event; after [`CATCH_UP_BOUND`] (or at the step's end) the
    /// promotion is given up. Any other failure is retried as for every change.
    async fn promote(
        &self,
        learner: NodeId,
        view: &mut LaneView,
        deadline: Instant,
        stop: &CancellationToken,
        outcome: &mut Outcome,
    ) {
        let began = Instant::now();
        let bound = (began + CATCH_UP_BOUND).min(deadline);
        let change = MembershipChange::Promote(learner);
        let mut refusals = 0;
        let mut last_behind = String::new();
        let promoted = loop {
            let attempt = self.cluster.db().change_membership(change);
            match attempt.await {
                Ok(()) => {
                    let waited = began.elapsed().as_millis();
                    let seen = if refusals == 0 {
                        "the leader saw it caught up at once".to_string()
                    } else {
                        format!("{refusals} refusals, the last: {last_behind}")
                    };
                    outcome.note(format!(
                        "{change} after a catch-up wait of {waited} ms ({seen})"
                    ));
                    break true;
                }
                Err(err) if is_behind(&err) => {
                    refusals += 1;
                    last_behind = err.describe();
                }
                Err(err) => {
                    tracing::info!(%change, err = %err.describe(), "promotion failed; retrying");
                    break self.until_done(change, deadline, stop, outcome).await;
                }
            }
            if Instant::now() + CATCH_UP_POLL >= bound || stop.is_cancelled() {
                outcome.note(format!(
                    "{change} not done: not caught up after {} ms ({last_behind})",
                    began.elapsed().as_millis()
                ));
                break false;
            }
            tokio::select! {
                _ = tokio::time::sleep(CATCH_UP_POLL) => {}
                _ = stop.cancelled() => {}
            }
        };
        if promoted {
            view.learners.retain(|&l| l != learner);
            view.voters.push(learner);
        }
    }

    /// Sends `change` until it is committed, the deadline passes or the run stops; `true` when
    /// it was committed. Every failure is retried after a pause (a refusal may be temporary: a
    /// change already in flight, a learner still behind). A refusal after an attempt whose
    /// outcome was unknown counts as done: that attempt took effect, so the change no longer
    /// applies (`node 4 is already a member`, `node 4 is not a learner`).
    async fn until_done(
        &self,
        change: MembershipChange,
        deadline: Instant,
        stop: &CancellationToken,
        outcome: &mut Outcome,
    ) -> bool {
        let mut last_error;
        let mut maybe_done = false;
        loop {
            let attempt = self.cluster.db().change_membership(change);
            match attempt.await {
                Ok(()) => {
                    outcome.note(change.to_string());
                    return true;
                }
                Err(err) => {
                    let refused = matches!(err, DbError::Membership { definite: true, .. });
                    if refused && maybe_done && !is_behind(&err) {
                        outcome.note(format!(
                            "{change} (an earlier attempt took effect: {})",
                            err.describe()
                        ));
                        return true;
                    }
                    maybe_done |= matches!(
                        err,
                        DbError::Membership {
                            definite: false,
                            ..
                        }
                    );
                    tracing::info!(%change, err = %err.describe(), "membership change failed; retrying");
                    last_error = err.describe();
                }
            }
            if Instant::now() + RETRY_PAUSE >= deadline || stop.is_cancelled() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY_PAUSE) => {}
                _ = stop.cancelled() => {}
            }
        }
        outcome.note(format!("{change} not done: {last_error}"));
        false
    }
}

/// A definite refusal because the learner is still behind the leader.
fn is_behind(err: &DbError) -> bool {
    matches!(err, DbError::Membership { definite: true, reason, .. }
        if BEHIND_MARKERS.iter().any(|m| reason.contains(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_victim_is_the_slot_voter_unless_too_few_initial_voters_would_stay() {
        let mut view = LaneView::new(vec![1, 2, 3]);
        view.voters = vec![1, 2, 3, 4];
        assert_eq!(view.victim(&Targets::Nodes(vec![2]), None), Some(2));
        assert_eq!(view.victim(&Targets::Nodes(vec![6]), None), Some(2));
        assert_eq!(view.victim(&Targets::Leader, Some(3)), Some(3));
        // Two initial voters left: removing one would leave one of three; the new one goes.
        view.voters = vec![1, 3, 4, 5];
        assert_eq!(view.victim(&Targets::Nodes(vec![1]), None), Some(5));
        assert_eq!(view.victim(&Targets::Nodes(vec![4]), None), Some(5));
        view.voters = vec![1, 3];
        assert_eq!(view.victim(&Targets::Nodes(vec![1]), None), None);
        assert_eq!(view.floor(), 3);
    }
}
