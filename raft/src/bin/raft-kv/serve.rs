//! `raft-kv serve`: starts a node, prints `ready <id> <client addr>` once serving, stops
//! gracefully on SIGTERM or Ctrl-C, and exits non-zero on a fatal error (a corrupt WAL names
//! its file and offset).

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{bail, Context, Result};
use clap::Args;
use raft::core::DEFAULT_SNAPSHOT_CHUNK_BYTES;
use raft::driver::UnsafeBugs;
use raft::net::framing::DEFAULT_MAX_FRAME_LEN;
use raft::server::{self, ServerConfig};
use tokio::signal::unix::{signal, SignalKind};

use super::addrs::parse_id_addrs;
use super::conn_args::ConnArgs;
use super::security_args::SecurityArgs;

/// A chunk and its message around it must fit in one peer frame.
const MAX_SNAPSHOT_CHUNK_BYTES: usize = DEFAULT_MAX_FRAME_LEN / 2;

#[derive(Args)]
pub struct ServeArgs {
    /// This node's id.
    #[arg(long)]
    id: u64,
    /// Raft address of every node: `1=127.0.0.1:7001,2=127.0.0.1:7002,...`.
    #[arg(long)]
    peers: String,
    /// Client address of every node, for leader hints: `1=127.0.0.1:8001,...`.
    #[arg(long)]
    client_peers: Option<String>,
    /// Voters of a new cluster, `1,2,3` (default: every id in --peers).
    #[arg(long)]
    voters: Option<String>,
    /// Where to accept peers (default: this node's entry in --peers).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Where to accept clients.
    #[arg(long, default_value = "127.0.0.1:0")]
    client_listen: SocketAddr,
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, default_value_t = 1)]
    cluster_id: u64,
    /// Election timeout (randomized in [t, 2t)).
    #[arg(long, default_value_t = 500)]
    election_ms: u64,
    /// Heartbeat interval (= one logical tick).
    #[arg(long, default_value_t = 50)]
    heartbeat_ms: u64,
    /// Snapshot and compact every this many applied entries (0 = never).
    #[arg(long, default_value_t = 10_000)]
    snapshot_every: u64,
    /// Bytes of snapshot data per InstallSnapshot chunk sent to a lagging follower, from 1 to
    /// 8388608 (half the peer frame limit).
    #[arg(long, default_value_t = DEFAULT_SNAPSHOT_CHUNK_BYTES)]
    snapshot_chunk_bytes: usize,
    /// Seed of the node's randomness.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// With --unsafe-bug ack-before-sync: how long written batches stay in memory only.
    #[arg(long, default_value_t = 1000)]
    lazy_sync_ms: u64,
    /// Append this node's event stream (JSON lines: role, term, commit, applied digests,
    /// snapshots, truncations; see docs/events.md) to this file, stamped with CLOCK_MONOTONIC.
    /// Default: no stream.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Stop (as on SIGTERM) once this process's parent is no longer the process with this id,
    /// checked every 200 ms: a harness that dies, even by SIGKILL, leaves no node behind.
    /// Default: run on whatever happens to the parent.
    #[arg(long, value_name = "PID")]
    exit_with_parent: Option<u32>,
    /// Turn on a planted bug (repeatable): stale-read, no-dedup, ack-before-commit,
    /// ack-before-sync, vote-any, snapshot-keeps-suffix, snapshot-drops-sessions,
    /// truncate-matching, skip-fsync. Default: none.
    #[arg(long = "unsafe-bug")]
    unsafe_bugs: Vec<String>,
    /// Connection limits and deadlines of the client port and the peer listener (boxed: keeps
    /// the subcommand enum small).
    #[command(flatten)]
    conn: Box<ConnArgs>,
    /// Admin token, voter floor, peer secret (boxed: keeps the subcommand enum small).
    #[command(flatten)]
    security: Box<SecurityArgs>,
}

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let parent = args.exit_with_parent;
    let cfg = config(args)?;
    init_tracing(cfg.id);
    let id = cfg.id;
    let node = server::start(cfg)
        .await
        .context("the node could not start")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {id} {}", node.client_addr())?;
        out.flush()?;
    }
    let stop = node.stop_token();
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!(node = id, "SIGTERM: stopping"),
            _ = interrupt.recv() => tracing::info!(node = id, "SIGINT: stopping"),
        }
        stop.cancel();
    });
    if let Some(parent) = parent {
        tokio::spawn(stop_when_orphaned(id, parent, node.stop_token()));
    }
    node.wait().await.context("the node stopped on an error")?;
    Ok(ExitCode::SUCCESS)
}

/// Cancels `stop` once the parent process is no longer `parent` (it died, and this process was
/// handed to init or a subreaper).
async fn stop_when_orphaned(id: u64, parent: u32, stop: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        every.tick().await;
        let now = std::os::unix::process::parent_id();
        if now != parent {
            tracing::warn!(
                node = id,
                parent,
                now,
                "the parent process is gone: stopping"
            );
            stop.cancel();
            return;
        }
    }
}

fn config(args: ServeArgs) -> Result<ServerConfig> {
    let peers = parse_id_addrs(&args.peers).context("--peers")?;
    let client_addrs = match &args.client_peers {
        Some(list) => parse_id_addrs(list)
            .context("--client-peers")?
            .into_iter()
            .map(|(id, a)| (id, a.to_string()))
            .collect(),
        None => Default::default(),
    };
    let voters: Vec<u64> = match &args.voters {
        Some(list) => list
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .with_context(|| format!("--voters: {v:?} is not a node id"))
            })
            .collect::<Result<_>>()?,
        None => {
            let mut v: Vec<u64> = peers.keys().copied().collect();
            if !v.contains(&args.id) {
                v.push(args.id);
            }
            v
        }
    };
    let listen = match args.listen.or_else(|| peers.get(&args.id).copied()) {
        Some(addr) => addr,
        None => bail!(
            "--listen is needed when --peers has no entry for node {}",
            args.id
        ),
    };
    if args.heartbeat_ms == 0 || args.election_ms <= args.heartbeat_ms {
        bail!(
            "--election-ms ({}) must be greater than --heartbeat-ms ({}), which must be at least 1",
            args.election_ms,
            args.heartbeat_ms
        );
    }
    if !(1..=MAX_SNAPSHOT_CHUNK_BYTES).contains(&args.snapshot_chunk_bytes) {
        bail!(
            "--snapshot-chunk-bytes must be from 1 to {MAX_SNAPSHOT_CHUNK_BYTES}, found {}",
            args.snapshot_chunk_bytes
        );
    }
    let bugs = UnsafeBugs::parse(&args.unsafe_bugs)?;
    let mut cfg = ServerConfig::new(args.id, args.data_dir);
    cfg.peers = peers;
    cfg.client_addrs = client_addrs;
    cfg.voters = voters;
    cfg.listen = listen;
    cfg.client_listen = args.client_listen;
    cfg.cluster_id = args.cluster_id;
    cfg.tick = Duration::from_millis(args.heartbeat_ms);
    cfg.election_ticks = u32::try_from((args.election_ms / args.heartbeat_ms).max(2))
        .context("--election-ms / --heartbeat-ms is too large")?;
    cfg.snapshot_every = args.snapshot_every;
    cfg.snapshot_chunk_bytes = args.snapshot_chunk_bytes;
    cfg.seed = args.seed;
    cfg.bugs = bugs;
    cfg.events = args.events;
    cfg.lazy_sync_interval = Duration::from_millis(args.lazy_sync_ms);
    args.conn.apply(&mut cfg)?;
    cfg.security = (*args.security).into_config()?;
    Ok(cfg)
}

fn init_tracing(id: u64) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Repeated warnings (a flood of bad connections) print at most once a second per kind.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .event_format(server::RateLimitedWarnings::new(
            tracing_subscriber::fmt::format().with_target(false),
        ))
        .init();
    tracing::info!(node = id, "raft-kv starting");
}
