//! Plugging a system into gauntlet, by hand: the tiny Python server of
//! `harness/tests/fixtures/tiny_kv.py` as a `CommandDb` (its config file says how to start a node
//! and when it is ready), three nodes started, six concurrent workload clients appending to lists
//! through the harness's recorder, the history checked by the checker, the verdict printed.
//!
//! ```text
//! cargo run -p harness --example plug_in_a_system            # correct server: valid, exit 0
//! cargo run -p harness --example plug_in_a_system -- --bug   # stale reads planted: exit 1
//! ```
//!
//! A Rust system would implement `harness::db::Db` and `harness::db::DbClient` instead of writing
//! a config; everything after `CommandDb::plan` below stays the same. See docs/your-system.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use checker::formats::jsonl::Header;
use harness::db::command::config::CommandConfig;
use harness::db::command::CommandDb;
use harness::db::{guard, ClientProfile, Db};
use harness::recorder::Recorder;
use harness::run::verdict::{judge, Judgement};
use harness::run::workers::Worker;
use harness::workload::{WorkerGenerator, WorkloadKind, WorkloadOptions};
use tokio_util::sync::CancellationToken;

/// Workload clients at once.
const CLIENTS: usize = 6;

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

/// Starts the system described by `config` in `dir`, runs the `append` workload for `duration`,
/// stops every node and checks the history (`dir/history.jsonl`).
async fn torture(config: &Path, dir: &Path, duration: Duration) -> anyhow::Result<Judgement> {
    guard::install_panic_hook();
    let config = CommandConfig::load(config)?;
    let mut db = CommandDb::plan(config, dir.to_path_buf())?;
    // A real run puts its fault proxy between the nodes here, before the first start:
    // `db.route_peers(|from, to| proxy.addr(LinkId::new(from, to)))`.
    // Process control is blocking; in async code it runs in `block_in_place`.
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        for node in db.nodes() {
            db.start(node)
                .map_err(|err| anyhow::anyhow!(err.describe()))?;
        }
        Ok(())
    })?;

    let kind = WorkloadKind::Append;
    let header = Header {
        format: Some("gauntlet-history".into()),
        version: Some(1),
        workload: Some(kind.name().into()),
        seed: Some(1),
        model: Some(kind.model().name().into()),
    };
    let history = dir.join("history.jsonl");
    let recorder = Arc::new(Recorder::create(&history, &header, CLIENTS as u64)?);
    let options = WorkloadOptions {
        kind,
        seed: 1,
        concurrency: CLIENTS,
        keys: 2,
        key_churn_ops: 0,
    };
    let stop = CancellationToken::new();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let worker = Worker {
                index,
                generator: WorkerGenerator::new(&options, index),
                // Each client starts its operations at its own node (1, 2, 3, 1, ...).
                client: db.client(ClientProfile::Workload),
                recorder: recorder.clone(),
                pace: None,
            };
            tokio::spawn(worker.run(stop.clone()))
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.cancel();
    for worker in workers {
        worker.await??;
    }
    drop(recorder);
    tokio::task::block_in_place(|| db.teardown());
    judge(&history, kind.model(), Duration::from_secs(30))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let bug = std::env::args().any(|arg| arg == "--bug");
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let judgement = torture(&config_path(bug), dir.path(), Duration::from_secs(3)).await?;
    println!(
        "{}: {} ok, {} fail, {} info; verdict {}{}",
        if bug {
            "tiny-kv --bug stale-reads"
        } else {
            "tiny-kv"
        },
        judgement.counts.ok,
        judgement.counts.fail,
        judgement.counts.info,
        judgement.outcome.name(),
        judgement
            .anomaly
            .map(|anomaly| format!(" ({anomaly})"))
            .unwrap_or_default()
    );
    Ok(std::process::ExitCode::from(judgement.outcome.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::verdict::ExitVerdict;

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
        let dir = tempfile::tempdir().unwrap();
        let correct = torture(&config_path(false), dir.path(), Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(correct.outcome, ExitVerdict::Valid, "{:?}", correct.anomaly);
        assert!(correct.counts.ok >= 30, "{:?}", correct.counts);
        let dir = tempfile::tempdir().unwrap();
        let buggy = torture(&config_path(true), dir.path(), Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(
            buggy.outcome,
            ExitVerdict::Violation,
            "stale reads unnoticed"
        );
    }
}
