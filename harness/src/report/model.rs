//! What the timeline page shows, as plain serde data: operations, fault windows, node tracks and
//! the counterexample. Loaders ([`super::load`], [`super::from_history`]) fill it; the page writer
//! ([`super::timeline`]) draws it. Times are nanoseconds on the history's clock, or event positions
//! when the history records no time ([`ReportData::time_is_event_order`]).

use checker::history::Value;
use serde::{Deserialize, Serialize};

/// Everything the timeline page shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// What the page is about: the test name, the seed, the file.
    pub title: String,
    /// The verdict in kebab-case: `not-linearizable`, `linearizable`, `unknown`, or a run verdict
    /// (`invalid`, `valid`, `violation: committed-mismatch`, ...).
    pub verdict: String,
    /// One line more about the verdict (counts, when the violation showed), may be empty.
    pub verdict_detail: String,
    /// True when the history carries no clock: every time is then the event's position in it.
    pub time_is_event_order: bool,
    /// Client operations (failed ones included), in invocation order; an operation's id is its
    /// position here.
    pub operations: Vec<OperationBar>,
    /// Fault windows, by start.
    pub faults: Vec<FaultWindow>,
    /// One track per node, by node id.
    pub nodes: Vec<NodeTrack>,
    /// Why the history is not linearizable, when it is not.
    pub counterexample: Option<CounterexampleView>,
    /// Things the page could not show or had to guess, said on the page.
    pub notes: Vec<String>,
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Completed and took effect.
    Ok,
    /// Surely did not take effect.
    Fail,
    /// Unknown outcome (timed out, connection lost...).
    Info,
    /// Never completed before the history ended.
    Pending,
}

impl Outcome {
    /// The kebab-case name the page shows.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
            Outcome::Pending => "pending",
        }
    }
}

/// One client operation, from invocation to completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationBar {
    /// The client process (one lane each).
    pub process: u64,
    /// The function: `read`, `write`, `append`, `cas`...
    pub f: String,
    pub key: Option<Value>,
    /// What was asked (the invocation's value).
    pub input: Value,
    /// What came back (the completion's value), when it completed.
    pub output: Option<Value>,
    pub outcome: Outcome,
    /// Invocation time (ns on the history clock, or event position).
    pub invoke_ns: u64,
    /// Completion time; `None` for a pending operation.
    pub complete_ns: Option<u64>,
    /// Event indexes of the invocation and completion in the history.
    pub invoke_index: usize,
    pub complete_index: Option<usize>,
    /// Source lines of the invocation and completion.
    pub invoke_line: usize,
    pub complete_line: Option<usize>,
    /// The checker's id for this operation (failed operations have none: the checker drops them).
    pub checker_id: Option<usize>,
    /// The node that answered (for fail/info: the node last tried), when the history says.
    pub node: Option<u64>,
    /// Why it failed, in kebab-case (`timeout`, `connection-refused`, `not-leader`...), when known.
    pub error_kind: Option<String>,
    /// The error text, when the history has one.
    pub error: Option<String>,
}

/// A fault active between two instants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// The fault's kebab-case name: `partition`, `kill`, `pause`...
    pub name: String,
    /// What the nemesis said about it (start text, then end text).
    pub description: String,
    pub start_ns: u64,
    /// `None`: still active when the history ended.
    pub end_ns: Option<u64>,
    /// Nodes the fault names as targets (for a partition: every node with a cut link).
    pub targets: Vec<u64>,
}

/// A node's role in a span of time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpan {
    pub start_ns: u64,
    /// `None`: until the end of the history.
    pub end_ns: Option<u64>,
    /// `follower`, `pre-candidate`, `candidate`, `leader`, `learner`, or `down` (killed or
    /// stopped until it started again).
    pub role: String,
    pub term: u64,
    /// The leader this node knew of.
    pub leader: Option<u64>,
}

/// Something that happened to a node at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMark {
    pub time_ns: u64,
    /// kebab-case: `started`, `restarted`, `stopped`, `killed`, `paused`, `resumed`,
    /// `snapshot-taken`, `snapshot-installed`, `log-truncated`, `membership`, `raft-violation`.
    pub kind: String,
    pub detail: String,
}

/// One node's role and term over time, and its restarts and pauses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTrack {
    pub node: u64,
    pub spans: Vec<RoleSpan>,
    pub marks: Vec<NodeMark>,
}

/// An operation that cannot go next after the longest linearizable prefix, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedView {
    /// Index into [`ReportData::operations`].
    pub op: usize,
    pub reason: String,
}

/// The checker's counterexample, with operations named by their index in
/// [`ReportData::operations`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CounterexampleView {
    /// The key that has no linearization, as text.
    pub key: String,
    /// The longest linearizable prefix, in linearization order.
    pub prefix: Vec<usize>,
    /// The model state after it.
    pub state_after_prefix: String,
    pub blocked: Vec<BlockedView>,
    /// Operations concurrent with the blocked ones.
    pub concurrent: Vec<usize>,
    pub explanation: String,
    /// The named anomaly (`lost-write`...), when the list-append decider found it.
    pub anomaly: Option<String>,
}

impl CounterexampleView {
    /// Every operation the counterexample involves (blocked and concurrent), without repeats.
    pub fn involved(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.blocked.iter().map(|b| b.op).collect();
        ids.extend(&self.concurrent);
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        ids
    }
}
