//! The one verdict every `gauntlet` subcommand ends with, and its exit code: `check`, `test` and
//! `sim` each reach a finer verdict of their own (a checker's report, a run's liveness, a
//! simulator invariant) and fold it into an [`ExitVerdict`] to exit with.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a `gauntlet` command ended, as the process exit code says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitVerdict {
    /// Exit 0: the history is linearizable (and, for a run, the cluster served again).
    Valid,
    /// Exit 1: a violation was found (a non-linearizable history, a broken invariant).
    Violation,
    /// Exit 2: no answer: the checker reached its bound, or the cluster lost liveness.
    Unknown,
    /// Exit 3: no verdict could be reached: unusable input or arguments, a harness that failed
    /// (a node that would not start, a malformed history of its own), an interrupted run.
    HarnessFailure,
}

impl ExitVerdict {
    /// Every verdict, in exit-code order.
    pub const ALL: [ExitVerdict; 4] = [
        ExitVerdict::Valid,
        ExitVerdict::Violation,
        ExitVerdict::Unknown,
        ExitVerdict::HarnessFailure,
    ];

    /// The process exit code: 0, 1, 2 or 3.
    pub const fn exit_code(self) -> u8 {
        match self {
            ExitVerdict::Valid => 0,
            ExitVerdict::Violation => 1,
            ExitVerdict::Unknown => 2,
            ExitVerdict::HarnessFailure => 3,
        }
    }

    /// The verdict of an exit code (`None` for codes gauntlet never exits with).
    pub fn from_exit_code(code: u8) -> Option<ExitVerdict> {
        ExitVerdict::ALL.into_iter().find(|v| v.exit_code() == code)
    }

    /// The kebab-case name a user sees: `valid`, `violation`, `unknown`, `harness-failure`.
    pub fn name(self) -> &'static str {
        match self {
            ExitVerdict::Valid => "valid",
            ExitVerdict::Violation => "violation",
            ExitVerdict::Unknown => "unknown",
            ExitVerdict::HarnessFailure => "harness-failure",
        }
    }

    /// What the linearizability checker's verdict means for the exit.
    pub fn of_check(verdict: &checker::Verdict) -> ExitVerdict {
        match verdict {
            checker::Verdict::Linearizable => ExitVerdict::Valid,
            checker::Verdict::NotLinearizable => ExitVerdict::Violation,
            checker::Verdict::Unknown { .. } => ExitVerdict::Unknown,
        }
    }

    /// How much this verdict outranks others when many runs end in one exit (a sweep): a harness
    /// failure first, then a violation, then an unknown, then valid.
    fn rank(self) -> u8 {
        match self {
            ExitVerdict::Valid => 0,
            ExitVerdict::Unknown => 1,
            ExitVerdict::Violation => 2,
            ExitVerdict::HarnessFailure => 3,
        }
    }

    /// The verdict of many runs: the highest-ranked of them (`Valid` when there are none).
    pub fn worst(verdicts: impl IntoIterator<Item = ExitVerdict>) -> ExitVerdict {
        verdicts
            .into_iter()
            .max_by_key(|v| v.rank())
            .unwrap_or(ExitVerdict::Valid)
    }
}

impl fmt::Display for ExitVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_names_and_serde_agree() {
        let codes: Vec<u8> = ExitVerdict::ALL.iter().map(|v| v.exit_code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3]);
        for verdict in ExitVerdict::ALL {
            assert_eq!(
                ExitVerdict::from_exit_code(verdict.exit_code()),
                Some(verdict)
            );
            let json = serde_json::to_string(&verdict).unwrap();
            assert_eq!(json, format!("\"{}\"", verdict.name()));
            assert_eq!(serde_json::from_str::<ExitVerdict>(&json).unwrap(), verdict);
        }
        assert_eq!(ExitVerdict::from_exit_code(4), None);
        assert_eq!(ExitVerdict::HarnessFailure.to_string(), "harness-failure");
    }

    #[test]
    fn a_harness_failure_outranks_a_violation_which_outranks_an_unknown() {
        use ExitVerdict::*;
        assert_eq!(ExitVerdict::worst([]), Valid);
        assert_eq!(ExitVerdict::worst([Valid, Unknown, Valid]), Unknown);
        assert_eq!(ExitVerdict::worst([Unknown, Violation, Valid]), Violation);
        assert_eq!(
            ExitVerdict::worst([Violation, HarnessFailure, Unknown]),
            HarnessFailure
        );
    }

    #[test]
    fn the_checker_verdicts_map_to_their_exit_codes() {
        assert_eq!(
            ExitVerdict::of_check(&checker::Verdict::Linearizable),
            ExitVerdict::Valid
        );
        assert_eq!(
            ExitVerdict::of_check(&checker::Verdict::NotLinearizable).exit_code(),
            1
        );
        let unknown = checker::Verdict::Unknown {
            reason: "time bound".into(),
        };
        assert_eq!(ExitVerdict::of_check(&unknown).exit_code(), 2);
    }
}
