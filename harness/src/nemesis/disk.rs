//! The disk faults of a real run, through [`Db::disk_fault`](crate::db::Db::disk_fault) on the
//! harness's power-loss file system (`crate::powerloss`):
//! - `power-loss`: SIGKILL the targets, drop what each had not synced, and restart them when the
//!   fault ends; with `leader_first`, the leader first, then the other targets at the moment
//!   right after one of them completed a sync (while they elect a new leader: see
//!   [`NemesisRunner::power_loss_leader_first`]);
//! - `disk-error`: arm an `EIO` on the next fsync of each target; a correct node stops on it
//!   (its log says why). When the fault ends the disk error is disarmed (if it never fired) and a
//!   target that stopped is restarted, on the data it had synced.

use std::time::Duration;

use super::runner::{problems, NemesisRunner};
use super::schedule::{node_list, Fault, NodeId};
use crate::db::DiskFault;

/// How long each sync of the surviving targets takes while a `leader_first` power loss waits
/// for one of them to sync: long enough that the first sync's node can say what it did (its
/// event stream is flushed every 50 ms) before the others' next syncs complete.
pub const CASCADE_SYNC_DELAY_MS: u64 = 100;
/// How long after that first sync the other targets lose power.
const CASCADE_CUT_AFTER: Duration = Duration::from_millis(20);
/// How long a `leader_first` power loss waits for a sync before it cuts anyway.
const CASCADE_WAIT: Duration = Duration::from_secs(3);

/// How long `disk-error` waits at most, when its fault ends, for a target still running to stop
/// on the error it just met (its exit after an `EIO` is not instant).
const STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

impl NemesisRunner {
    /// Starts a `power-loss` or `disk-error` on `nodes`; the text for the history.
    pub(super) fn apply_disk_fault(&self, fault: &Fault, nodes: &[NodeId], detail: &str) -> String {
        let power_loss = matches!(fault, Fault::PowerLoss { .. });
        let errors = self.cluster.with_db(|db| {
            let mut errors = Vec::new();
            if power_loss {
                // Every target's power goes at the same instant.
                for &node in nodes {
                    let _ = db.disk_fault(node, DiskFault::FreezeSyncs);
                }
            }
            for &node in nodes {
                let result = if power_loss {
                    db.disk_fault(node, DiskFault::PowerLoss)
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

    /// A `leader_first` power loss of `listed`: cut the leader (every listed node at once when
    /// there is no single leader), stall the other listed nodes' disks, wait until one of them
    /// completes a sync (in an election, the new leader's first entries, or a vote), then cut
    /// them all [`CASCADE_CUT_AFTER`] later. Returns every node cut, in the order they restart
    /// (the node whose sync came first last), and the history's text.
    pub(super) async fn power_loss_leader_first(&self, listed: &[NodeId]) -> (Vec<NodeId>, String) {
        let Some(leader) = self.cluster.find_leader().await else {
            let fault = Fault::PowerLoss {
                targets: super::schedule::Targets::Nodes(listed.to_vec()),
                leader_first: false,
            };
            let detail = format!("nodes {} (no single leader found)", node_list(listed));
            return (
                listed.to_vec(),
                self.apply_disk_fault(&fault, listed, &detail),
            );
        };
        let rest: Vec<NodeId> = listed.iter().copied().filter(|&n| n != leader).collect();
        let mut errors = Vec::new();
        let baseline = self.cluster.with_db(|db| {
            if let Err(err) = db.disk_fault(leader, DiskFault::PowerLoss) {
                errors.push(err.describe());
            }
            let slow = DiskFault::SlowSyncs {
                delay_ms: CASCADE_SYNC_DELAY_MS,
            };
            rest.iter()
                .map(|&n| {
                    if let Err(err) = db.disk_fault(n, slow) {
                        errors.push(err.describe());
                    }
                    db.disk_syncs(n)
                })
                .collect::<Vec<_>>()
        });
        let waited = std::time::Instant::now();
        let synced = loop {
            let now: Vec<Option<u64>> = {
                let db = self.cluster.db();
                rest.iter().map(|&n| db.disk_syncs(n)).collect()
            };
            let first = rest
                .iter()
                .zip(now.iter().zip(&baseline))
                .find(|(_, (now, before))| now > before)
                .map(|(&n, _)| n);
            if first.is_some() || waited.elapsed() >= CASCADE_WAIT {
                break first;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if synced.is_some() {
            tokio::time::sleep(CASCADE_CUT_AFTER).await;
        }
        let after_ms = waited.elapsed().as_millis();
        self.cluster.with_db(|db| {
            for &n in &rest {
                let _ = db.disk_fault(n, DiskFault::FreezeSyncs);
            }
            for &n in &rest {
                let result = db
                    .disk_fault(n, DiskFault::PowerLoss)
                    .and_then(|()| db.disk_fault(n, DiskFault::Heal));
                if let Err(err) = result {
                    errors.push(err.describe());
                }
            }
        });
        let when = match synced {
            Some(node) => format!("right after node {node} synced, {after_ms} ms later"),
            None => format!("{after_ms} ms later (no sync came)"),
        };
        // The restart at the end goes in this order: the node whose sync came first (the one
        // that made the most progress) comes back last, the others meanwhile elect.
        let mut nodes = vec![leader];
        nodes.extend(rest.iter().filter(|&&n| Some(n) != synced));
        nodes.extend(synced);
        let detail = format!(
            "power-loss leader {leader} first, then nodes {} {when}: killed, unsynced data dropped{}",
            node_list(&rest),
            problems(&errors)
        );
        (nodes, detail)
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
            format!("restarted nodes {}{}", node_list(nodes), problems(&errors))
        } else if stopped.is_empty() {
            format!("disk healed; no node had stopped{}", problems(&errors))
        } else {
            format!(
                "disk healed; restarted stopped nodes {}{}",
                node_list(&stopped),
                problems(&errors)
            )
        }
    }
}
