//! Everything one run needs to know whatever the target, resolved from the command line: saved
//! in `test.json` (the target's own options beside it).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::nemesis::NemesisKind;
use crate::workload::WorkloadOptions;

/// The options of one `gauntlet test` run.
#[derive(Clone, Debug, Serialize)]
pub struct RunOptions {
    pub nodes: usize,
    #[serde(with = "secs")]
    pub time: Duration,
    pub workload: WorkloadOptions,
    pub nemesis: Vec<NemesisKind>,
    #[serde(with = "secs")]
    pub nemesis_interval: Duration,
    pub seed: u64,
    pub store: PathBuf,
    /// Total operations per second over all workers (0 = as fast as they can).
    pub rate: f64,
    /// How long the cluster has to serve again after everything is healed.
    #[serde(with = "secs")]
    pub recovery_timeout: Duration,
    /// The checker gives up (verdict unknown) after this long.
    #[serde(with = "secs")]
    pub check_timeout: Duration,
}

impl RunOptions {
    /// The test's name in the store: `<workload>-<nemeses joined by +>`, then the target's
    /// suffix ([`super::Target::test_name_suffix`]).
    pub fn test_name(&self, target_suffix: &str) -> String {
        let nemesis = if self.nemesis.is_empty() {
            "none".to_string()
        } else {
            self.nemesis
                .iter()
                .map(|n| n.name())
                .collect::<Vec<_>>()
                .join("+")
        };
        format!("{}-{nemesis}{target_suffix}", self.workload.kind.name())
    }
}

mod secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}
