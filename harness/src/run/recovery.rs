//! After the faults: waiting for the cluster to serve (a leader that answers a linearizable read),
//! and the final reads of every key by a fresh client, recorded in the history.

use std::sync::Arc;
use std::time::Duration;

use raft::kv::Op;
use tokio::time::Instant;

use crate::db::DbClient;
use crate::recorder::{Completion, Recorder};
use crate::workload::generator::final_read;
use crate::workload::WorkloadKind;

/// Polls with a read of a key the workload never uses until one succeeds or `timeout` passes.
/// Returns how long it took, or `None` if the cluster never served.
pub async fn wait_until_serving(client: &mut dyn DbClient, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        let probe = Op::Get {
            key: "__gauntlet_probe".into(),
        };
        match tokio::time::timeout(
            timeout.saturating_sub(started.elapsed()),
            client.call(probe),
        )
        .await
        {
            Ok(Ok(_)) => return Some(started.elapsed()),
            Ok(Err(failure)) => {
                tracing::debug!(reason = %failure.reason, "cluster not serving yet")
            }
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Outcome of the final reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FinalReads {
    pub keys: usize,
    /// Keys whose final read never succeeded.
    pub unread: Vec<String>,
}

/// Reads every key once more (up to `attempts` tries each), each attempt under a fresh process.
pub async fn final_reads(
    client: &mut dyn DbClient,
    recorder: &Arc<Recorder>,
    workload: WorkloadKind,
    keys: &[String],
    attempts: usize,
) -> std::io::Result<FinalReads> {
    let mut outcome = FinalReads {
        keys: keys.len(),
        unread: Vec::new(),
    };
    for key in keys {
        let op = final_read(workload, key);
        let mut done = false;
        for _ in 0..attempts.max(1) {
            let process = recorder.fresh_process();
            recorder.invoke(process, &op)?;
            let result = client.call(op.request()).await;
            let completion = Completion::classify(&op, &result);
            recorder.complete(process, &op, &completion, client.last_node())?;
            if matches!(completion, Completion::Ok(_)) {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if !done {
            outcome.unread.push(key.clone());
        }
    }
    Ok(outcome)
}
