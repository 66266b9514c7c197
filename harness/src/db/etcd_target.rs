//! [`EtcdTarget`]: an etcd cluster ([`EtcdDb`]) as a [`Target`] of `gauntlet test`. Each member
//! has one advertised peer address that every other member dials, so the proxy gets one
//! listener per member and tells the sender of each connection by its HTTP request
//! ([`PeerRouting::PerDestination`]). Membership churn is refused: `EtcdDb` does not change
//! etcd's membership.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::json;

use super::etcd::{EtcdDb, EtcdOptions};
use super::{Db, DbError, NodeId};
use crate::nemesis::NemesisKind;
use crate::run::{NodePlan, PeerRouting, PlannedNodes, Target};

/// How the workload's clients read (`--read-consistency`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadConsistency {
    /// Reads go through Raft (etcd's default): never stale.
    #[default]
    Linearizable,
    /// Reads are served by the member asked, from its own state (etcd's `serializable: true`):
    /// stale by design when that member is cut off.
    Serializable,
}

impl ReadConsistency {
    pub fn name(self) -> &'static str {
        match self {
            ReadConsistency::Linearizable => "linearizable",
            ReadConsistency::Serializable => "serializable",
        }
    }
}

impl FromStr for ReadConsistency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "linearizable" => Ok(ReadConsistency::Linearizable),
            "serializable" => Ok(ReadConsistency::Serializable),
            other => Err(format!(
                "unknown read consistency {other:?}: linearizable or serializable"
            )),
        }
    }
}

/// etcd's options of one run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EtcdTarget {
    /// The `etcd` executable (`--etcd-bin`).
    pub binary: PathBuf,
    /// How workload clients read (final reads are always linearizable).
    pub read_consistency: ReadConsistency,
}

impl Target for EtcdTarget {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn describe(&self) -> String {
        format!(
            "{}, {} reads",
            self.binary.display(),
            self.read_consistency.name()
        )
    }

    fn replay_args(&self) -> String {
        let mut args = format!(" --db etcd --etcd-bin {}", self.binary.display());
        if self.read_consistency != ReadConsistency::Linearizable {
            args.push_str(&format!(
                " --read-consistency {}",
                self.read_consistency.name()
            ));
        }
        args
    }

    fn options_json(&self) -> serde_json::Value {
        json!(self)
    }

    fn test_name_suffix(&self) -> String {
        match self.read_consistency {
            ReadConsistency::Linearizable => "-etcd".into(),
            ReadConsistency::Serializable => "-etcd-serializable".into(),
        }
    }

    fn check_nemeses(&self, kinds: &[NemesisKind]) -> Result<(), String> {
        if kinds.contains(&NemesisKind::Membership) {
            return Err(
                "--db etcd does not support the membership nemesis (gauntlet does not change \
                 etcd's membership); leave it out of --nemesis"
                    .into(),
            );
        }
        if let Some(kind) = kinds.iter().find(|k| k.needs_power_loss_fs()) {
            return Err(format!(
                "--db etcd does not support the {} nemesis (etcd's data directories are not put \
                 on the power-loss file system yet); leave it out of --nemesis",
                kind.name()
            ));
        }
        Ok(())
    }

    fn plan(&self, plan: &NodePlan) -> Result<Box<dyn PlannedNodes>, DbError> {
        let mut options = EtcdOptions::local(plan.dir.clone(), plan.nodes);
        options.binary = self.binary.clone();
        options.cluster_token = format!("gauntlet-{}", plan.seed);
        options.serializable_reads = self.read_consistency == ReadConsistency::Serializable;
        Ok(Box::new(EtcdDb::plan(options)?))
    }
}

impl PlannedNodes for EtcdDb {
    fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        EtcdDb::peer_addrs(self)
    }

    fn client_addrs(&self) -> Vec<SocketAddr> {
        Db::client_addrs(self)
    }

    fn routing(&self) -> PeerRouting {
        PeerRouting::PerDestination
    }

    fn route_peers(&mut self, route: &dyn Fn(NodeId, NodeId) -> SocketAddr) -> Result<(), DbError> {
        let nodes = Db::nodes(self);
        EtcdDb::route_peers(self, |to| {
            let from = nodes.iter().copied().find(|&n| n != to).unwrap_or(to);
            route(from, to)
        })
    }

    fn client_addrs_by_node(&self) -> BTreeMap<NodeId, SocketAddr> {
        // Every planned node, spares included.
        EtcdDb::peer_addrs(self)
            .into_keys()
            .filter_map(|node| Some((node, EtcdDb::client_addr(self, node)?)))
            .collect()
    }

    fn route_clients(&mut self, route: &dyn Fn(NodeId) -> SocketAddr) -> Result<(), DbError> {
        EtcdDb::route_clients(self, route);
        Ok(())
    }

    fn into_db(self: Box<Self>) -> Box<dyn Db> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_consistency_parses_its_names_and_refuses_others() {
        for consistency in [ReadConsistency::Linearizable, ReadConsistency::Serializable] {
            assert_eq!(consistency.name().parse(), Ok(consistency));
        }
        assert!("stale".parse::<ReadConsistency>().is_err());
    }

    #[test]
    fn etcd_refuses_membership_churn_and_disk_faults_and_takes_every_other_nemesis() {
        let target = EtcdTarget {
            binary: "etcd".into(),
            read_consistency: ReadConsistency::Serializable,
        };
        let err = target
            .check_nemeses(&[NemesisKind::Partition, NemesisKind::Membership])
            .unwrap_err();
        assert!(err.contains("membership"), "{err}");
        for disk in NemesisKind::every().filter(|k| k.needs_power_loss_fs()) {
            let err = target.check_nemeses(&[disk]).unwrap_err();
            assert!(err.contains(disk.name()), "{err}");
        }
        let others: Vec<NemesisKind> = NemesisKind::every()
            .filter(|k| *k != NemesisKind::Membership && !k.needs_power_loss_fs())
            .collect();
        assert!(others.contains(&NemesisKind::LagKill));
        assert_eq!(target.check_nemeses(&others), Ok(()));
        assert!(target
            .replay_args()
            .contains("--read-consistency serializable"));
    }
}
