//! The system a run tortures, as the run sees it: [`Target`] plans the nodes in the run directory
//! (starting nothing), and the planned nodes ([`PlannedNodes`]) give the peer addresses (and,
//! for client faults, the client addresses) to put behind the fault proxy and take the proxy's
//! addresses back, then become the run's [`Db`].
//! [`super::run`] takes any target; the systems gauntlet knows implement it beside their `Db`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::db::{Db, DbError, NodeId};
use crate::nemesis::NemesisKind;

/// What the run tells a target when it plans the nodes.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// The run directory: data directories, logs and event streams go here.
    pub dir: PathBuf,
    /// Nodes of the initial cluster, ids `1..=nodes`.
    pub nodes: usize,
    /// Spare nodes membership churn may start (ids after the initial ones).
    pub spares: usize,
    /// The run's seed.
    pub seed: u64,
}

/// How the nodes' peer traffic is put behind the fault proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRouting {
    /// Each node dials each peer at an address given per link: one proxy listener per directed
    /// link `from -> to`.
    PerLink,
    /// Each node has one advertised peer address that every other node dials, and its peers'
    /// HTTP requests name their sender in `X-PeerURLs` (their own advertised peer URLs): one
    /// proxy listener per node, the link told by the request (see
    /// `proxy::Proxy::start_by_destination`).
    PerDestination,
}

/// Nodes planned in a run directory, not started yet.
pub trait PlannedNodes: Send {
    /// The real peer address of every planned node, spares included (the proxy's targets).
    fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr>;
    /// The client addresses of every planned node (so the proxy's ports avoid them).
    fn client_addrs(&self) -> Vec<SocketAddr>;
    /// How the peer traffic goes through the proxy.
    fn routing(&self) -> PeerRouting {
        PeerRouting::PerLink
    }
    /// Takes the proxy's addresses: `route(from, to)` is where node `from` must dial to reach
    /// node `to` (with [`PeerRouting::PerDestination`] the same for every `from`). Comes before
    /// any node starts.
    fn route_peers(&mut self, route: &dyn Fn(NodeId, NodeId) -> SocketAddr) -> Result<(), DbError>;
    /// Puts every node's data directory on the harness's power-loss file system
    /// (`crate::powerloss`), for the `power-loss` and `disk-error` nemeses; comes before any
    /// node starts. Unsupported unless the target says otherwise.
    fn use_power_loss_fs(&mut self) -> Result<(), DbError> {
        Err(DbError::Unsupported {
            db: "this target",
            what: "the power-loss file system",
        })
    }
    /// The address each planned node (spares included) serves clients on, by id: the targets
    /// of the proxy's client links when a run routes its clients (a `client-partition` nemesis).
    /// Empty by default: the target's clients cannot be put behind the proxy.
    fn client_addrs_by_node(&self) -> BTreeMap<NodeId, SocketAddr> {
        BTreeMap::new()
    }
    /// Takes the proxy's client addresses: `route(node)` is where clients must dial to reach
    /// `node` (every client `Db::client` makes from now on, and whatever the nodes tell clients
    /// about each other). Called only when the run routes its clients, before any node starts.
    /// Default: nothing (clients dial the nodes).
    fn route_clients(&mut self, route: &dyn Fn(NodeId) -> SocketAddr) -> Result<(), DbError> {
        let _ = route;
        Ok(())
    }
    /// The nodes as the run's `Db`.
    fn into_db(self: Box<Self>) -> Box<dyn Db>;
}

/// A system `gauntlet test` can torture: the built-in ones (`crate::db`), or yours.
pub trait Target: Send + Sync {
    /// A short name (console, `test.json`).
    fn name(&self) -> &'static str;
    /// What is started, for the console (say, the executable).
    fn describe(&self) -> String;
    /// The target's own flags of `gauntlet test`, each with a leading space, for the replay
    /// command (say ` --db mine --mine-bin /usr/bin/mine`).
    fn replay_args(&self) -> String;
    /// The target's own options, saved in `test.json` under `target`.
    fn options_json(&self) -> serde_json::Value;
    /// A suffix of the test's name in the store (say `-bug-stale-read`), empty by default.
    fn test_name_suffix(&self) -> String {
        String::new()
    }
    /// Refuses, before anything starts, a nemesis the target cannot take (an error saying why).
    fn check_nemeses(&self, kinds: &[NemesisKind]) -> Result<(), String> {
        let _ = kinds;
        Ok(())
    }
    /// Plans the nodes; starts nothing.
    fn plan(&self, plan: &NodePlan) -> Result<Box<dyn PlannedNodes>, DbError>;
}
