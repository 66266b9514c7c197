//! One simulated run from spec to verdict: build the world, run it, check the history with the
//! checker. [`SimVerdict::outcome`] folds the verdict into the [`ExitVerdict`] every `gauntlet`
//! command exits with: 0 valid, 1 violation, 2 unknown, 3 harness failure.

use std::time::Duration;

use checker::formats::jsonl::{Header, FORMAT_VERSION};
use checker::formats::{self, Format};
use checker::{check_operations, CheckOptions, Verdict};
use raft::coverage::{self, MarkCounts};
use raft::events::EventRecord;

use super::history::SimHistory;
use super::schedule::Step;
use super::spec::SimSpec;
use super::world::{Stop, World, WorldStats};
use crate::verdict::ExitVerdict;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimVerdict {
    /// Invariants held and the history is linearizable.
    Valid,
    /// A safety violation; `kind` names it (`two-leaders`, `committed-mismatch`,
    /// `not-linearizable`, `bad-reply`) and is what `--shrink` keeps constant.
    Violation { kind: String, detail: String },
    /// The checker could not decide in its time bound.
    Unknown(String),
    /// The simulator itself failed (bad spec, a node that cannot restart, a malformed history).
    HarnessFailure(String),
}

impl SimVerdict {
    /// The exit verdict this verdict falls under.
    pub fn outcome(&self) -> ExitVerdict {
        match self {
            SimVerdict::Valid => ExitVerdict::Valid,
            SimVerdict::Violation { .. } => ExitVerdict::Violation,
            SimVerdict::Unknown(_) => ExitVerdict::Unknown,
            SimVerdict::HarnessFailure(_) => ExitVerdict::HarnessFailure,
        }
    }

    /// The process exit code (see [`ExitVerdict::exit_code`]).
    pub fn exit_code(&self) -> u8 {
        self.outcome().exit_code()
    }

    /// A short one-line description.
    pub fn summary(&self) -> String {
        match self {
            SimVerdict::Valid => "valid".into(),
            SimVerdict::Violation { kind, .. } => format!("violation: {kind}"),
            SimVerdict::Unknown(reason) => format!("unknown: {reason}"),
            SimVerdict::HarnessFailure(reason) => format!("harness failure: {reason}"),
        }
    }

    /// The failure class `--shrink` must preserve (`None` when valid).
    pub fn kind(&self) -> Option<&str> {
        match self {
            SimVerdict::Valid => None,
            SimVerdict::Violation { kind, .. } => Some(kind),
            SimVerdict::Unknown(_) => Some("unknown"),
            SimVerdict::HarnessFailure(_) => Some("harness-failure"),
        }
    }
}

/// Everything one run leaves behind.
#[derive(Clone, Debug)]
pub struct SimOutcome {
    pub spec: SimSpec,
    pub steps: Vec<Step>,
    pub verdict: SimVerdict,
    pub history: Vec<u8>,
    pub stats: WorldStats,
    pub ops: (u64, u64, u64, u64),
    /// The opportunities leader churn struck (what `--shrink` may spare).
    pub strikes: Vec<u32>,
    /// How often the run passed each coverage mark of the raft crate.
    pub coverage: MarkCounts,
    /// Every node's event stream in virtual time (with [`RunOptions::record_events`]).
    pub events: Vec<EventRecord>,
}

/// Knobs of the check after a run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Give up with `unknown` after this long in the checker.
    pub check_timeout: Duration,
    /// Keep every node's event stream (`raft::events`) in the outcome.
    pub record_events: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check_timeout: Duration::from_secs(30),
            record_events: false,
        }
    }
}

/// Runs `spec` and checks what happened.
pub fn run(spec: &SimSpec, opts: RunOptions) -> SimOutcome {
    let steps = spec.steps();
    let header = Header {
        format: Some("gauntlet-history".into()),
        version: Some(FORMAT_VERSION),
        workload: Some(spec.workload.name().into()),
        seed: Some(spec.seed),
        model: Some(spec.workload.model().name().into()),
    };
    let mut outcome = SimOutcome {
        spec: spec.clone(),
        steps: steps.clone(),
        verdict: SimVerdict::Valid,
        history: Vec::new(),
        stats: WorldStats::default(),
        ops: (0, 0, 0, 0),
        strikes: Vec::new(),
        coverage: MarkCounts::default(),
        events: Vec::new(),
    };
    if let Err(reason) = validate(spec) {
        outcome.verdict = SimVerdict::HarnessFailure(reason);
        return outcome;
    }
    let history = match SimHistory::new(&header) {
        Ok(history) => history,
        Err(reason) => {
            outcome.verdict = SimVerdict::HarnessFailure(reason);
            return outcome;
        }
    };
    // The world runs on this thread only, so this thread's counters are this run's.
    coverage::reset();
    let mut world = match World::new(spec.clone(), steps, history, opts.record_events) {
        Ok(world) => world,
        Err(stop) => {
            outcome.verdict = stop_verdict(stop);
            return outcome;
        }
    };
    let result = world.run();
    outcome.coverage = coverage::take();
    outcome.stats = world.stats;
    outcome.strikes = world.churn_strikes();
    outcome.events = world.events().to_vec();
    let counts = world.history.counts();
    outcome.ops = (counts.invoked, counts.ok, counts.fail, counts.info);
    outcome.history = world.history.take_bytes();
    outcome.verdict = match result {
        Err(stop) => stop_verdict(stop),
        Ok(()) => check_history(&outcome.history, spec, opts),
    };
    outcome
}

fn stop_verdict(stop: Stop) -> SimVerdict {
    match stop {
        Stop::Invariant(v) => SimVerdict::Violation {
            kind: v.name.into(),
            detail: v.detail,
        },
        Stop::BadReply(reason) => SimVerdict::Violation {
            kind: "bad-reply".into(),
            detail: reason,
        },
        Stop::Harness(reason) => SimVerdict::HarnessFailure(reason),
    }
}

/// Parses, pairs and checks a history with the workload's model.
pub fn check_history(bytes: &[u8], spec: &SimSpec, opts: RunOptions) -> SimVerdict {
    let parsed = match formats::load_bytes(bytes, Some(Format::Jsonl), "simulated history") {
        Ok(parsed) => parsed,
        Err(err) => return SimVerdict::HarnessFailure(format!("history does not parse: {err}")),
    };
    let ops = match checker::wellformed::pair(&parsed.history) {
        Ok(ops) => ops,
        Err(err) => return SimVerdict::HarnessFailure(format!("history is ill-formed: {err}")),
    };
    let check = CheckOptions {
        timeout: Some(opts.check_timeout),
        threads: 1,
        ..CheckOptions::default()
    };
    let report = check_operations(&ops, spec.workload.model(), &check);
    match report.verdict {
        Verdict::Linearizable => SimVerdict::Valid,
        Verdict::NotLinearizable => SimVerdict::Violation {
            kind: "not-linearizable".into(),
            detail: report.render_text(&ops),
        },
        Verdict::Unknown { reason } => SimVerdict::Unknown(reason),
    }
}

fn validate(spec: &SimSpec) -> Result<(), String> {
    let net = &spec.network;
    let chances = [net.slow_chance, net.loss_chance, net.duplicate_chance];
    if chances.iter().any(|c| !(0.0..=1.0).contains(c)) {
        return Err("network chances must be between 0 and 1".into());
    }
    if net.min_delay_us > net.max_delay_us || net.min_sync_us > net.max_sync_us {
        return Err("network and sync delays need min <= max".into());
    }
    if spec.nodes == 0 || spec.nodes > 15 {
        return Err(format!("expected 1 to 15 nodes, found {}", spec.nodes));
    }
    if let Some(churn) = &spec.churn {
        churn.validate()?;
    }
    if spec.tick_ms == 0 || spec.election_ticks < 2 {
        return Err("expected tick_ms >= 1 and election_ticks >= 2".into());
    }
    Ok(())
}
