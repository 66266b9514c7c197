//! The disk faults of a real run, through [`Db::disk_fault`](crate::db::Db::disk_fault) on the
//! harness's power-loss file system (`crate::powerloss`):
//! - `power-loss`: SIGKILL the targets, drop what each had not synced, and restart them when the
//!   fault ends;
//! - `disk-error`: arm an `EIO` on the next fsync of each target; a correct node stops on it
//!   (its log says why). When the fault ends the disk error is disarmed (if it never fired) and a
//!   target that stopped is restarted, on the data it had synced.

use super::runner::{problems, NemesisRunner};
use super::schedule::{node_list, Fault, NodeId};
use crate::db::DiskFault;

/// How long `disk-error` waits at most, when its fault ends, for a target still running to stop
/// on the error it just met (its exit after an `EIO` is not instant).
const STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

impl NemesisRunner {
    /// Starts a `power-loss` or `disk-error` on `nodes`; the text for the history.
    pub(super) fn apply_disk_fault(&self, fault: &Fault, nodes: &[NodeId], detail: &str) -> String {
        let power_loss = matches!(fault, Fault::PowerLoss { .. });
        let errors = self.cluster.with_db(|db| {
            let mut errors = Vec::new();
            for &node in nodes {
                let result = if power_loss {
                    db.kill(node)
                        .and_then(|()| db.disk_fault(node, DiskFault::PowerLoss))
                } else {
                    db.disk_fault(node, DiskFault::FailNextSync)
                };
                if let Err(err) = result {
                    errors.push(err.describe());
                }
            }
            errors
        });
        if power_loss {
            format!(
                "power-loss {detail}: killed, unsynced data dropped{}",
                problems(&errors)
            )
        } else {
            format!(
                "disk-error {detail}: next fsync fails with EIO{}",
                problems(&errors)
            )
        }
    }

    /// Ends a `power-loss` (restart the targets) or a `disk-error` (disarm, restart the targets
    /// that stopped); the text for the history.
    pub(super) fn revert_disk_fault(&self, fault: &Fault, nodes: &[NodeId]) -> String {
        let power_loss = matches!(fault, Fault::PowerLoss { .. });
        let mut stopped = Vec::new();
        let errors = self.cluster.with_db(|db| {
            let mut errors = Vec::new();
            for &node in nodes {
                if !power_loss {
                    if let Err(err) = db.disk_fault(node, DiskFault::Heal) {
                        errors.push(err.describe());
                    }
                    let waited = std::time::Instant::now();
                    while db.is_running(node) && waited.elapsed() < STOP_WAIT {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    if db.is_running(node) {
                        continue;
                    }
                    stopped.push(node);
                }
                if let Err(err) = db.start(node) {
                    errors.push(err.describe());
                }
            }
            errors
        });
        if power_loss {
            format!(
                "restarted nodes {}{}",
                node_list(nodes),
                problems(&errors)
            )
        } else if stopped.is_empty() {
            format!(
                "disk healed; no node had stopped{}",
                problems(&errors)
            )
        } else {
            format!(
                "disk healed; restarted stopped nodes {}{}",
                node_list(&stopped),
                problems(&errors)
            )
        }
    }
}
