//! The machine-readable summary every `gauntlet sim --seeds` sweep leaves in the store, at
//! `<store>/sim/sweeps/<A..B>[-shard-I-of-N].json`: what was run, what failed and how to reproduce
//! it, and the figures of the whole sweep. `gauntlet summarize` reads these files and merges the
//! shards of one sweep; `docs/nightly.md` lists the fields.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::shard::Shard;

/// The value of the `format` field.
pub const SWEEP_FORMAT: &str = "gauntlet-sim-sweep";

/// One sweep (or one shard of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// Always [`SWEEP_FORMAT`].
    pub format: String,
    pub version: u32,
    /// The whole sweep's range `A..B` (B excluded), shared by all its shards.
    pub seeds: String,
    pub first_seed: u64,
    pub end_seed: u64,
    /// The slice this file covers (`1/1` for a sweep without `--shard`).
    pub shard: Shard,
    /// When the sweep started (`YYYYMMDDTHHMMSS.mmmZ`, UTC).
    pub started: String,
    /// The `gauntlet sim` command line of this sweep (shard included).
    pub command: String,
    /// Seeds this shard was to run, and seeds it ran (fewer after `--until-first` stopped it).
    pub seeds_planned: u64,
    pub seeds_run: u64,
    /// Every failing seed, unknowns included, in seed order.
    pub failures: Vec<SweepFailure>,
    /// How many of `failures` are `unknown` (the checker gave up).
    pub unknowns: u64,
    /// Simulated seconds over all seeds run.
    pub simulated_s: f64,
    /// Wall-clock seconds of the sweep.
    pub wall_s: f64,
    /// Worker threads the sweep ran on.
    pub jobs: usize,
    /// Per coverage mark, how many seeds passed it, in the raft crate's mark order.
    pub coverage: Vec<MarkSeeds>,
    /// The sweep's exit code (the worst of its seeds).
    pub exit_code: u8,
}

/// One failing seed of a sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepFailure {
    pub seed: u64,
    /// `violation`, `unknown` or `harness-failure`.
    pub verdict: String,
    /// What failed: the violated invariant or anomaly (`two-leaders`, `not-linearizable`, ...),
    /// `unknown` or `harness-failure`.
    pub anomaly: String,
    /// The verdict in one line.
    pub summary: String,
    /// A `gauntlet sim --seed N ...` command that reproduces this seed on any machine.
    pub reproduce: String,
    /// Where its history, schedule and spec were saved (`<store>/sim/seed-N`, or `seed-N.2`, ...
    /// when an earlier run of the seed was saved there).
    pub dir: PathBuf,
}

/// How many seeds passed one coverage mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkSeeds {
    pub mark: String,
    pub seeds: u64,
}

impl SweepRecord {
    /// The file this record is saved as under `store`.
    pub fn path_in(&self, store: &Path) -> PathBuf {
        store.join("sim").join("sweeps").join(format!(
            "{}{}.json",
            self.seeds,
            self.shard.file_suffix()
        ))
    }

    /// Writes the record under `store`; returns the file's path.
    pub fn save(&self, store: &Path) -> anyhow::Result<PathBuf> {
        let path = self.path_in(store);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        crate::artifacts::write_json_atomic(&path, self)?;
        Ok(path)
    }
}
