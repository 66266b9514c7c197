//! The raft-kv client as a [`DbClient`]: `raft::client::Client` with the harness's timeouts, its
//! definite/indefinite errors and their kinds mapped to [`ClientFailure`], and the address it
//! last talked to mapped back to a node id.

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use raft::client::{Client, ClientConfig, ClientError, ErrorKind};
use raft::kv::{Op, OpResult};

use super::{ClientFailure, ClientProfile, DbClient, KvReply, NodeId};

/// A raft-kv client session.
pub struct RaftKvClient {
    client: Client,
    /// Node ids by client address (the cluster list, and where leader hints point).
    ids: Vec<(SocketAddr, NodeId)>,
    /// For workload clients: the index of the node every operation starts at.
    home: Option<usize>,
}

impl RaftKvClient {
    /// A client of `cluster` (each node's id and client address). A workload client starts every
    /// operation at `cluster[home]` (following leader hints from there), so each worker keeps
    /// asking its own node, as in Jepsen; a patient client follows the leader it learned.
    pub fn new(
        cluster: Vec<(NodeId, SocketAddr)>,
        profile: ClientProfile,
        home: usize,
    ) -> RaftKvClient {
        let ids: Vec<(SocketAddr, NodeId)> = cluster.iter().map(|&(id, addr)| (addr, id)).collect();
        let mut config = ClientConfig::new(cluster.into_iter().map(|(_, addr)| addr).collect());
        let home = match profile {
            ClientProfile::Workload => Some(home),
            ClientProfile::Patient => None,
        };
        match profile {
            ClientProfile::Workload => {
                config.op_timeout = Duration::from_millis(2000);
                config.attempt_timeout = Duration::from_millis(400);
            }
            ClientProfile::Patient => {
                config.op_timeout = Duration::from_secs(5);
                config.attempt_timeout = Duration::from_secs(1);
            }
        }
        RaftKvClient {
            client: Client::new(config),
            ids,
            home,
        }
    }
}

/// Maps a client library result to the harness's terms (the simulator's clients use it too).
pub fn classify(result: Result<OpResult, ClientError>) -> Result<KvReply, ClientFailure> {
    match result {
        Ok(OpResult::Value(value)) => Ok(KvReply::Value(value)),
        Ok(OpResult::Written) => Ok(KvReply::Written),
        Ok(OpResult::CasOk) => Ok(KvReply::Cas(true)),
        Ok(OpResult::CasMismatch { .. }) => Ok(KvReply::Cas(false)),
        Ok(OpResult::Deleted { existed }) => Err(ClientFailure {
            definite: false,
            kind: ErrorKind::BadReply,
            reason: format!("unexpected result: deleted (existed: {existed})"),
        }),
        Err(err) => Err(ClientFailure {
            definite: err.is_definite(),
            kind: err.kind(),
            reason: err.to_string(),
        }),
    }
}

impl DbClient for RaftKvClient {
    fn call(&mut self, op: Op) -> BoxFuture<'_, Result<KvReply, ClientFailure>> {
        if let Some(home) = self.home {
            self.client.start_at(home);
        }
        async move { classify(self.client.execute(op).await) }.boxed()
    }

    fn last_node(&self) -> Option<NodeId> {
        let addr = self.client.last_node()?;
        self.ids
            .iter()
            .find(|(known, _)| *known == addr)
            .map(|&(_, id)| id)
    }
}

/// True when the node at `addr` serves a linearizable read itself (it is the leader).
pub async fn probe_is_leader(addr: SocketAddr) -> bool {
    let mut config = ClientConfig::new(vec![addr]);
    config.op_timeout = Duration::from_millis(600);
    config.attempt_timeout = Duration::from_millis(300);
    let mut client = Client::new(config);
    let served = client
        .execute(Op::Get {
            key: "__gauntlet_probe".into(),
        })
        .await
        .is_ok();
    served && client.known_leader().is_none_or(|leader| leader == addr)
}
