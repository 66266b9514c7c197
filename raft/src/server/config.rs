//! Everything a `raft-kv` node needs to start: identity, addresses, data directory, timing,
//! snapshot cadence and chunk size, planted bugs, and authority (admin token, voter floor, peer
//! secret).

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use crate::core::NodeId;
use crate::driver::UnsafeBugs;
use crate::net::{ServeOptions, TransportOptions};

use super::authority::SecurityConfig;

/// Settings of one node.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub id: NodeId,
    /// Raft address of every known node (this one included or not); messages go to these, so a
    /// proxy can sit in between.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// Client-port address of every known node, for `NotLeader` hints (optional).
    pub client_addrs: BTreeMap<NodeId, String>,
    /// Voters of a brand-new cluster (ignored once the data directory holds state that says
    /// otherwise). Usually every id in `peers` plus this node.
    pub voters: Vec<NodeId>,
    /// Where to accept peer connections.
    pub listen: SocketAddr,
    /// Where to accept client connections.
    pub client_listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Peers of another cluster are refused at the handshake.
    pub cluster_id: u64,
    /// Length of one logical tick; heartbeats go out every tick.
    pub tick: Duration,
    /// Election timeout in ticks (randomized in `[n, 2n)`).
    pub election_ticks: u32,
    /// Snapshot every this many applied entries (0 = never).
    pub snapshot_every: u64,
    /// Bytes of snapshot data per InstallSnapshot chunk (at least 1).
    pub snapshot_chunk_bytes: usize,
    /// How long a client request may wait inside the node before it is answered "unknown".
    pub request_timeout: Duration,
    /// With `ack-before-sync`: how long written batches stay in memory before they are synced.
    pub lazy_sync_interval: Duration,
    /// Seed of the core's randomness (mixed with the node id).
    pub seed: u64,
    pub bugs: UnsafeBugs,
    /// Where to append the node's event stream (`raft::events`, JSON lines); `None`: none.
    pub events: Option<PathBuf>,
    /// Limits and timeouts of the client port (connections, per-source limit, deadlines).
    pub client_port: ServeOptions,
    /// Limits and timeouts of the peer transport and listener.
    pub transport: TransportOptions,
    /// Admin token, voter floor and peer secret (`docs/security.md`).
    pub security: SecurityConfig,
}

impl ServerConfig {
    /// A config with defaults for the timing (tick 50 ms, election 10 ticks), snapshot every
    /// 10,000 entries sent in chunks of 1 MiB, request timeout 5 s, no event stream, and the
    /// default connection limits of the client port and the peer transport.
    pub fn new(id: NodeId, data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            id,
            peers: BTreeMap::new(),
            client_addrs: BTreeMap::new(),
            voters: vec![id],
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            cluster_id: 1,
            tick: Duration::from_millis(50),
            election_ticks: 10,
            snapshot_every: 10_000,
            snapshot_chunk_bytes: crate::core::DEFAULT_SNAPSHOT_CHUNK_BYTES,
            request_timeout: Duration::from_secs(5),
            lazy_sync_interval: Duration::from_millis(1000),
            seed: 0,
            bugs: UnsafeBugs::default(),
            events: None,
            client_port: ServeOptions::default(),
            transport: TransportOptions::default(),
            security: SecurityConfig::default(),
        }
    }
}
