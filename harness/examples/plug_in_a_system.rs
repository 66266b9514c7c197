//! Plugging a system into gauntlet: the tiny Python server of
//! `harness/tests/fixtures/tiny_kv.py`, described by a config file (how to start a node, when it
//! is ready), tortured by the same run `gauntlet test` makes: three nodes behind the fault proxy,
//! partitions and kills, the append workload, the recorder, the checker and every artifact of a
//! run directory. The run takes any [`Target`]; here the config-driven one, [`CommandTarget`].
//! raft-kv (`RaftKvTarget`) and etcd (`EtcdTarget`) go through exactly this call.
//!
//! ```text
//! cargo run -p harness --example plug_in_a_system            # correct server: valid, exit 0
//! cargo run -p harness --example plug_in_a_system -- --bug   # stale reads planted: exit 1
//! ```
//!
//! A system written in Rust implements `harness::run::Target`, `harness::run::PlannedNodes`,
//! `harness::db::Db` and `harness::db::DbClient` instead of writing a config. See
//! docs/your-system.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use harness::db::command_target::CommandTarget;
use harness::db::guard;
use harness::nemesis::NemesisKind;
use harness::run::{self, RunOptions, RunOutcome, Target};
use harness::workload::{WorkloadKind, WorkloadOptions};

/// The config file of the tiny server, correct or with its planted bug.
fn config_path(bug: bool) -> PathBuf {
    let name = if bug {
        "tiny_kv_stale_reads.json"
    } else {
        "tiny_kv.json"
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One run of `seconds` against the system of `config`, its run directory under `store`.
async fn torture(config: &Path, store: &Path, seconds: u64) -> anyhow::Result<RunOutcome> {
    guard::install_panic_hook();
    let target = CommandTarget::load(config.to_path_buf()).map_err(anyhow::Error::msg)?;
    let seed = 1;
    let options = RunOptions {
        nodes: 3,
        time: Duration::from_secs(seconds),
        workload: WorkloadOptions {
            kind: WorkloadKind::Append,
            seed,
            concurrency: 6,
            keys: 2,
            key_churn_ops: 0,
        },
        nemesis: vec![NemesisKind::Partition, NemesisKind::Kill],
        nemesis_interval: Duration::from_secs(1),
        seed,
        store: store.to_path_buf(),
        rate: 0.0,
        recovery_timeout: Duration::from_secs(20),
        check_timeout: Duration::from_secs(30),
    };
    println!("torturing {}", target.describe());
    run::run(options, &target).await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let bug = std::env::args().any(|arg| arg == "--bug");
    let store = tempfile::tempdir().context("creating a scratch store")?;
    let outcome = torture(&config_path(bug), store.path(), 5).await?;
    println!("{}", outcome.summary);
    // Keep the run directory for a look at timeline.html.
    let _ = store.keep();
    Ok(std::process::ExitCode::from(outcome.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::run::RunVerdict;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_example_passes_the_correct_server_and_catches_the_planted_bug() {
        if std::process::Command::new("python3")
            .arg("--version")
            .output()
            .is_err()
        {
            println!("SKIPPED: python3 not installed; the example's server needs it");
            return;
        }
        let store = tempfile::tempdir().unwrap();
        let correct = torture(&config_path(false), store.path(), 4).await.unwrap();
        assert_eq!(correct.exit_code(), 0, "{}", correct.summary);
        let counts = correct
            .results
            .counts
            .clone()
            .expect("the history was counted");
        assert!(counts.ok >= 30, "{}", correct.summary);
        assert!(correct.dir.join("timeline.html").is_file());
        let buggy = torture(&config_path(true), store.path(), 4).await.unwrap();
        assert_eq!(
            buggy.results.verdict,
            RunVerdict::Invalid,
            "{}",
            buggy.summary
        );
        assert_eq!(buggy.exit_code(), 1);
    }
}
