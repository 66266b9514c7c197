//! [`RaftKvTarget`]: raft-kv as a [`Target`] of `gauntlet test`, with the options only raft-kv
//! has (its executable, election and heartbeat times, snapshots, planted bugs). Its nodes dial
//! each peer at an address given per link, so every directed link gets its own proxy listener.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::raft_kv::{RaftKv, RaftKvOptions};
use super::{Db, DbError, NodeId};
use crate::run::{NodePlan, PlannedNodes, Target};

/// Default election timeout of the nodes, ms (`--election-ms`).
pub const DEFAULT_ELECTION_MS: u64 = 500;
/// Default heartbeat interval of the nodes, ms (`--heartbeat-ms`).
pub const DEFAULT_HEARTBEAT_MS: u64 = 50;
/// Default snapshot interval, applied entries (`--snapshot-every`).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 1000;

/// raft-kv's options of one run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RaftKvTarget {
    /// The `raft-kv` executable.
    pub binary: PathBuf,
    pub election_ms: u64,
    pub heartbeat_ms: u64,
    pub snapshot_every: u64,
    /// Planted bugs switched on in every node.
    pub unsafe_bugs: Vec<String>,
}

impl Target for RaftKvTarget {
    fn name(&self) -> &'static str {
        "raft-kv"
    }

    fn describe(&self) -> String {
        self.binary.display().to_string()
    }

    fn replay_args(&self) -> String {
        let mut args = String::new();
        if self.election_ms != DEFAULT_ELECTION_MS {
            args.push_str(&format!(" --election-ms {}", self.election_ms));
        }
        if self.heartbeat_ms != DEFAULT_HEARTBEAT_MS {
            args.push_str(&format!(" --heartbeat-ms {}", self.heartbeat_ms));
        }
        if self.snapshot_every != DEFAULT_SNAPSHOT_EVERY {
            args.push_str(&format!(" --snapshot-every {}", self.snapshot_every));
        }
        for bug in &self.unsafe_bugs {
            args.push_str(&format!(" --unsafe-bug {bug}"));
        }
        args
    }

    fn options_json(&self) -> serde_json::Value {
        json!(self)
    }

    fn test_name_suffix(&self) -> String {
        if self.unsafe_bugs.is_empty() {
            String::new()
        } else {
            format!("-bug-{}", self.unsafe_bugs.join("+"))
        }
    }

    fn plan(&self, plan: &NodePlan) -> Result<Box<dyn PlannedNodes>, DbError> {
        let raft_kv = RaftKv::plan(RaftKvOptions {
            binary: self.binary.clone(),
            nodes: plan.nodes,
            dir: plan.dir.clone(),
            cluster_id: plan.seed | 1,
            election_ms: self.election_ms,
            heartbeat_ms: self.heartbeat_ms,
            snapshot_every: self.snapshot_every,
            unsafe_bugs: self.unsafe_bugs.clone(),
            seed: plan.seed,
            ready_timeout: Duration::from_secs(15),
            extra_args: Vec::new(),
            spares: plan.spares,
        })?;
        Ok(Box::new(raft_kv))
    }
}

impl PlannedNodes for RaftKv {
    fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        RaftKv::peer_addrs(self)
    }

    fn client_addrs(&self) -> Vec<SocketAddr> {
        Db::client_addrs(self)
    }

    fn route_peers(&mut self, route: &dyn Fn(NodeId, NodeId) -> SocketAddr) -> Result<(), DbError> {
        RaftKv::route_peers(self, route);
        Ok(())
    }

    fn use_power_loss_fs(&mut self) -> Result<(), DbError> {
        RaftKv::use_power_loss_fs(self)
    }

    fn client_addrs_by_node(&self) -> BTreeMap<NodeId, SocketAddr> {
        // Every planned node, spares included.
        RaftKv::peer_addrs(self)
            .into_keys()
            .filter_map(|node| Some((node, RaftKv::client_addr(self, node)?)))
            .collect()
    }

    fn route_clients(&mut self, route: &dyn Fn(NodeId) -> SocketAddr) -> Result<(), DbError> {
        RaftKv::route_clients(self, route);
        Ok(())
    }

    fn into_db(self: Box<Self>) -> Box<dyn Db> {
        self
    }
}
