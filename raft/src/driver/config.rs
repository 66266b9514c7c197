//! What a replica driver needs besides its persisted state: the core's config, the KV config,
//! snapshot cadence, limits, planted bugs and the client addresses of the members.

use std::collections::BTreeMap;

use crate::core::{ConfState, Config, NodeId};
use crate::kv::KvConfig;

use super::bugs::UnsafeBugs;

/// Settings of a [`super::Driver`].
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The Raft core's config (id, ticks, seed, flow control). Its planted bugs are set from
    /// `bugs` by [`DriverConfig::new`].
    pub node: Config,
    /// The membership a brand-new cluster starts with.
    pub initial_conf: ConfState,
    /// The KV machine's config (must be the same on every replica).
    pub kv: KvConfig,
    /// Take a snapshot (and compact the log) every this many applied entries; 0 = never.
    pub snapshot_every: u64,
    /// Most client requests waiting for an answer at once; more are answered `Busy`.
    pub max_pending: usize,
    /// Client-port address of each member, for `NotLeader` hints.
    pub client_addrs: BTreeMap<NodeId, String>,
    /// Planted bugs (all off by default).
    pub bugs: UnsafeBugs,
}

impl DriverConfig {
    /// Defaults for node `node.id` with voters `initial_conf`: snapshot every 10,000 entries,
    /// 100,000 pending requests, and the bugs applied to the core and KV configs.
    pub fn new(node: Config, initial_conf: ConfState, bugs: UnsafeBugs) -> DriverConfig {
        let mut cfg = DriverConfig {
            node,
            initial_conf,
            kv: KvConfig::default(),
            snapshot_every: 10_000,
            max_pending: 100_000,
            client_addrs: BTreeMap::new(),
            bugs,
        };
        cfg.kv.bugs.no_dedup = bugs.no_dedup;
        cfg.node.bugs.vote_any = bugs.vote_any;
        cfg.node.bugs.snapshot_keeps_suffix = bugs.snapshot_keeps_suffix;
        cfg.kv.bugs.snapshot_drops_sessions = bugs.snapshot_drops_sessions;
        cfg.node.bugs.truncate_matching = bugs.truncate_matching;
        cfg.node.bugs.promote_unready = bugs.promote_unready;
        cfg.node.bugs.two_changes_in_flight = bugs.two_changes_in_flight;
        if bugs.stale_read {
            // A node that answers reads without a read index trusts its leadership; it also does
            // not step down on its own when cut off, so the stale window lasts the partition.
            cfg.node.check_quorum = false;
        }
        cfg
    }
}
