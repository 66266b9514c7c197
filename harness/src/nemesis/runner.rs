//! Applies a [`Schedule`] to a live cluster: at each step's start the fault is applied and a
//! `<fault>-start` nemesis event recorded; at its end it is reverted (links passed, nodes
//! restarted or resumed) and a `<fault>-end` event recorded. Targets named "the leader" are
//! resolved when the fault starts; both events carry what the fault hit ([`Resolved`]: the node
//! ids and the directed links). Node numbers and links of the schedule are mapped to the
//! members of the moment when the fault starts ([`super::members`]), so nodes added by
//! membership churn are struck too; a killed node removed meanwhile is not started again.
//! [`Cluster::heal_everything`] undoes any fault at all. The
//! membership lane runs apart ([`super::membership`]): its steps are actions, not states to undo.
//! Disk faults (`power-loss`, `disk-error`) go through [`Db::disk_fault`] ([`super::disk`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::members::{member_links, members_at};
use super::resolved::Resolved;
use super::schedule::{
    client_links, isolate, links_out_of, node_list, Fault, Lane, Link, NodeId, PartitionShape,
    Schedule, Step, Targets,
};
use crate::db::Db;
use crate::proxy::{LinkId, LinkState, ProxyHandle};
use crate::recorder::Recorder;

/// The live cluster a nemesis acts on.
#[derive(Clone)]
pub struct Cluster {
    pub db: Arc<Mutex<Box<dyn Db>>>,
    pub proxy: Arc<ProxyHandle>,
}

impl Cluster {
    pub fn db(&self) -> MutexGuard<'_, Box<dyn Db>> {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The node that serves reads as leader now, if exactly one is found (asks every node).
    pub async fn find_leader(&self) -> Option<NodeId> {
        let probes: Vec<(NodeId, _)> = {
            let db = self.db();
            db.nodes()
                .into_iter()
                .map(|n| (n, db.is_leader(n)))
                .collect()
        };
        let mut leaders = Vec::new();
        let results = futures::future::join_all(
            probes
                .into_iter()
                .map(|(n, probe)| async move { (n, probe.await) }),
        )
        .await;
        for (node, is_leader) in results {
            if is_leader {
                leaders.push(node);
            }
        }
        (leaders.len() == 1).then(|| leaders[0])
    }

    fn set_links(&self, links: &[Link], state: LinkState) {
        for &(from, to) in links {
            if let Err(err) = self.proxy.set(LinkId::new(from, to), state) {
                tracing::warn!(%err, "cannot set a link");
            }
        }
    }

    pub(super) fn with_db<T>(&self, f: impl FnOnce(&mut dyn Db) -> T) -> T {
        tokio::task::block_in_place(|| f(self.db().as_mut()))
    }

    /// Passes every link, disarms every disk error, resumes every paused node and starts every
    /// stopped one. Returns the problems it met (a node that does not start again), if any.
    pub fn heal_everything(&self) -> Vec<String> {
        self.proxy.heal_all();
        self.with_db(|db| {
            let mut problems = Vec::new();
            for node in db.nodes() {
                // Unsupported where the data directories are not on the power-loss file system.
                let _ = db.disk_fault(node, crate::db::DiskFault::Heal);
                if db.is_running(node) {
                    let _ = db.resume(node);
                } else if let Err(err) = db.start(node) {
                    problems.push(err.describe());
                }
            }
            problems
        })
    }
}

/// Runs a schedule against a cluster.
pub struct NemesisRunner {
    pub cluster: Cluster,
    pub recorder: Arc<Recorder>,
    /// What is broken right now, for the progress line.
    pub active: Arc<Mutex<Vec<String>>>,
}

/// A fault as applied, with what it takes to undo it.
pub(super) struct Applied {
    fault: Fault,
    links: Vec<Link>,
    nodes: Vec<NodeId>,
    detail: String,
}

impl Applied {
    /// What the fault hit, for the history.
    fn resolved(&self) -> Resolved {
        Resolved {
            nodes: self.nodes.clone(),
            links: self.links.clone(),
        }
    }
}

impl NemesisRunner {
    /// Walks the schedule from `started` until its end or `stop`, each lane on its own; always
    /// reverts the faults in progress before returning. Returns how many faults were applied.
    pub async fn run(
        &self,
        schedule: &Schedule,
        started: Instant,
        stop: CancellationToken,
    ) -> usize {
        let lanes = Lane::ALL.map(|lane| schedule.lane(lane));
        let [network, process, membership] = &lanes;
        let (network, process, membership) = futures::join!(
            self.run_lane(network, started, stop.clone()),
            self.run_lane(process, started, stop.clone()),
            self.run_membership_lane(membership, started, stop.clone()),
        );
        network + process + membership
    }

    async fn run_lane(&self, steps: &[Step], started: Instant, stop: CancellationToken) -> usize {
        let mut applied_count = 0;
        for step in steps {
            let start_at = started + Duration::from_millis(step.start_ms);
            tokio::select! {
                _ = tokio::time::sleep_until(start_at) => {}
                _ = stop.cancelled() => break,
            }
            let applied = self.apply(&step.fault).await;
            applied_count += 1;
            let end_at = started + Duration::from_millis(step.end_ms);
            tokio::select! {
                _ = tokio::time::sleep_until(end_at) => {}
                _ = stop.cancelled() => {}
            }
            self.revert(applied);
            if stop.is_cancelled() {
                break;
            }
        }
        applied_count
    }

    /// The schedule's links mapped to the members of the moment.
    fn member_links(&self, links: &[Link]) -> Vec<Link> {
        member_links(&self.cluster.db().nodes(), links)
    }

    pub(super) fn set_active(&self, add: Option<&str>, remove: Option<&str>) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = remove {
            active.retain(|a| a != old);
        }
        if let Some(new) = add {
            active.push(new.to_string());
        }
    }

    async fn resolve_targets(&self, targets: &Targets) -> (Vec<NodeId>, String) {
        match targets {
            Targets::Nodes(slots) => {
                let nodes = members_at(&self.cluster.db().nodes(), slots);
                let detail = format!("nodes {}", super::schedule::node_list(&nodes));
                (nodes, detail)
            }
            Targets::Leader => match self.cluster.find_leader().await {
                Some(leader) => (vec![leader], format!("leader {leader}")),
                None => {
                    let first = self.cluster.db().nodes().first().copied().unwrap_or(1);
                    (
                        vec![first],
                        format!("no single leader found; node {first} instead"),
                    )
                }
            },
        }
    }

    async fn apply(&self, fault: &Fault) -> Applied {
        let mut applied = Applied {
            fault: fault.clone(),
            links: Vec::new(),
            nodes: Vec::new(),
            detail: String::new(),
        };
        let detail = match fault {
            Fault::Partition { shape, cut } => {
                let (links, detail) = if *shape == PartitionShape::IsolateLeader {
                    let (nodes, detail) = self.resolve_targets(&Targets::Leader).await;
                    let all = self.cluster.db().nodes();
                    let links = isolate(nodes[0], &all);
                    applied.nodes = nodes;
                    (links, format!("isolate {detail}"))
                } else {
                    let links = self.member_links(cut);
                    let detail = if links == *cut {
                        format!("{fault}")
                    } else {
                        format!("{fault} (on the members now: {})", link_list(&links))
                    };
                    (links, detail)
                };
                self.cluster
                    .set_links(&links, LinkState::Blackhole { drop: false });
                applied.links = links;
                detail
            }
            Fault::Delay {
                links,
                fixed_ms,
                jitter_ms,
            } => {
                let links = &self.member_links(links);
                self.cluster.set_links(
                    links,
                    LinkState::Delay {
                        fixed: Duration::from_millis(*fixed_ms),
                        jitter: Duration::from_millis(*jitter_ms),
                    },
                );
                applied.links = links.clone();
                format!("{fault}")
            }
            Fault::Loss { links } => {
                let links = &self.member_links(links);
                self.cluster
                    .set_links(links, LinkState::Blackhole { drop: true });
                applied.links = links.clone();
                format!("{fault}")
            }
            Fault::Stale {
                source,
                pass_ms,
                stall_ms,
                long_stall_ms,
                release_ms,
            } => {
                let (sources, detail) = self.resolve_targets(source).await;
                let all = self.cluster.db().nodes();
                let links = links_out_of(&sources, &all);
                self.cluster.set_links(
                    &links,
                    LinkState::Stale {
                        pass: Duration::from_millis(*pass_ms),
                        stall: Duration::from_millis(*stall_ms),
                        long_stall: Duration::from_millis(*long_stall_ms),
                        release: Duration::from_millis(*release_ms),
                    },
                );
                applied.links = links;
                applied.nodes = sources;
                format!(
                    "stale-links out of {detail} (pass {pass_ms}ms, stall {stall_ms}/{long_stall_ms}ms, release {release_ms}ms)"
                )
            }
            Fault::ClientPartition {
                targets,
                replies_only,
            } => {
                let (nodes, detail) = self.resolve_targets(targets).await;
                let links = client_links(nodes[0], *replies_only);
                // Held both ways, as a partition; replies dropped, so each client times out.
                let drop = *replies_only;
                self.cluster
                    .set_links(&links, LinkState::Blackhole { drop });
                applied.links = links;
                applied.nodes = nodes;
                if *replies_only {
                    format!("client-reply-loss: replies of {detail} to the clients dropped")
                } else {
                    format!("client-partition: clients cut from {detail}")
                }
            }
            Fault::Kill { targets } | Fault::Pause { targets } => {
                let (nodes, detail) = self.resolve_targets(targets).await;
                let kill = matches!(fault, Fault::Kill { .. });
                let errors = self.cluster.with_db(|db| {
                    nodes
                        .iter()
                        .filter_map(|&n| {
                            let result = if kill { db.kill(n) } else { db.pause(n) };
                            result.err().map(|e| e.describe())
                        })
                        .collect::<Vec<_>>()
                });
                applied.nodes = nodes;
                format!("{} {detail}{}", fault.name(), problems(&errors))
            }
            Fault::PowerLoss {
                targets,
                leader_first: true,
            } => {
                let (listed, _) = self.resolve_targets(targets).await;
                let (nodes, detail) = self.power_loss_leader_first(&listed).await;
                applied.nodes = nodes;
                detail
            }
            Fault::PowerLoss { targets, .. } | Fault::DiskError { targets } => {
                let (nodes, detail) = self.resolve_targets(targets).await;
                let detail = self.apply_disk_fault(fault, &nodes, &detail);
                applied.nodes = nodes;
                detail
            }
            // The membership lane carries these out (`super::membership`); never applied here.
            Fault::AddLearner
            | Fault::Promote
            | Fault::Remove { .. }
            | Fault::Replace { .. }
            | Fault::TransferLeader => {
                tracing::warn!(
                    fault = fault.name(),
                    "a membership step outside the membership lane"
                );
                format!("{} skipped: outside the membership lane", fault.name())
            }
        };
        tracing::info!(%detail, "nemesis: fault starts");
        self.set_active(Some(&detail), None);
        applied.detail = detail.clone();
        if let Err(err) = self
            .recorder
            .nemesis("start", fault, &applied.resolved(), &detail)
        {
            tracing::error!(%err, "cannot record a nemesis event");
        }
        applied
    }

    fn revert(&self, applied: Applied) {
        let detail = match &applied.fault {
            Fault::Partition { .. }
            | Fault::Delay { .. }
            | Fault::Loss { .. }
            | Fault::Stale { .. }
            | Fault::ClientPartition { .. } => {
                self.cluster.set_links(&applied.links, LinkState::Pass);
                format!("healed {} links", applied.links.len())
            }
            Fault::PowerLoss { .. } | Fault::DiskError { .. } => {
                self.revert_disk_fault(&applied.fault, &applied.nodes)
            }
            Fault::Kill { .. } => {
                let errors = self.cluster.with_db(|db| {
                    // A node that membership churn removed while it was down stays down.
                    let members = db.nodes();
                    applied
                        .nodes
                        .iter()
                        .filter(|n| members.contains(n))
                        .filter_map(|&n| db.start(n).err().map(|e| e.describe()))
                        .collect::<Vec<_>>()
                });
                format!(
                    "restarted nodes {}{}",
                    node_list(&applied.nodes),
                    problems(&errors)
                )
            }
            Fault::Pause { .. } => {
                let errors = self.cluster.with_db(|db| {
                    applied
                        .nodes
                        .iter()
                        .filter_map(|&n| db.resume(n).err().map(|e| e.describe()))
                        .collect::<Vec<_>>()
                });
                format!(
                    "resumed nodes {}{}",
                    node_list(&applied.nodes),
                    problems(&errors)
                )
            }
            Fault::AddLearner
            | Fault::Promote
            | Fault::Remove { .. }
            | Fault::Replace { .. }
            | Fault::TransferLeader => "skipped: outside the membership lane".to_string(),
        };
        tracing::info!(%detail, "nemesis: fault ends");
        self.set_active(None, Some(&applied.detail));
        if let Err(err) = self
            .recorder
            .nemesis("end", &applied.fault, &applied.resolved(), &detail)
        {
            tracing::error!(%err, "cannot record a nemesis event");
        }
    }
}

fn link_list(links: &[Link]) -> String {
    let parts: Vec<String> = links.iter().map(|(a, b)| format!("{a}->{b}")).collect();
    parts.join(" ")
}

pub(super) fn problems(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" (problems: {})", errors.join("; "))
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
