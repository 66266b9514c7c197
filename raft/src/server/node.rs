//! The tokio node: one task owns the replica driver and the disk (no locks around the core);
//! peer messages, client requests and ticks come in through channels; each driver batch is
//! persisted (one fsync) and reported durable to the driver, then its messages sent, then its
//! replies delivered. Admin requests pass the admin gate (`super::authority`) before the driver
//! sees them, and the data directory's identity is checked before it is opened. With
//! `ServerConfig::events`, an [`EventObserver`] turns every batch into the node's event stream
//! (`raft::events`).

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use thiserror::Error;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

use crate::core::{ConfState, Config, Message};
use crate::driver::{Driver, DriverBatch, DriverConfig, DriverError, EventObserver, Token};
use crate::events::{EventWriter, NodeEvent};
use crate::kv::{AdminRequest, ClientRequest, ClientResponse};
use crate::net::{accept_peers, NetError, PeerTransport, TransportOptions};
use crate::storage::dir::create_dir_durable;
use crate::storage::{claim_data_dir, Claim, DirLock, NodeFs, StorageError};

use super::authority::AdminGate;
use super::client_port::{serve_clients, ClientInput};
use super::config::ServerConfig;
use super::disk::NodeDisk;
use super::startup_checks::check_voters;

/// Why a node could not start or had to stop.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The data directory could not be opened or written (a corrupt WAL names file and offset).
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("replica: {0}")]
    Driver(#[from] DriverError),
    #[error("network: {0}")]
    Net(#[from] NetError),
    #[error("cannot open the event stream {path}: {source}")]
    Events {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The configuration can never work (e.g. a voter without an address).
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Most peer messages or client requests queued for the driver task.
const INPUT_QUEUE: usize = 65_536;
/// Most inputs taken from one channel before the driver produces a batch.
const MAX_INPUTS_PER_BATCH: usize = 4096;

/// A started node. Dropping it does not stop it; call [`RunningNode::stop`].
pub struct RunningNode {
    client_addr: SocketAddr,
    peer_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<Result<(), ServerError>>,
}

impl RunningNode {
    /// Where clients connect.
    pub fn client_addr(&self) -> SocketAddr {
        self.client_addr
    }

    /// Where peers connect.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// Graceful stop: the driver task finishes its current batch, flushes, and ends.
    pub async fn stop(self) -> Result<(), ServerError> {
        self.stop.cancel();
        self.wait().await
    }

    /// Waits until the node ends (after [`RunningNode::stop`] or a fatal error).
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(ServerError::Storage(StorageError::InvalidLogWrite(
                format!("driver task failed: {join}"),
            ))),
        }
    }

    /// A token that stops the node when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// Opens storage, binds both ports and starts serving. Must run inside a multi-thread tokio
/// runtime (the fsync blocks its worker with `block_in_place`).
pub async fn start(cfg: ServerConfig) -> Result<RunningNode, ServerError> {
    check_voters(cfg.id, &cfg.voters, &cfg.peers).map_err(ServerError::Config)?;
    // `skip-fsync`: no sync of any file or directory, the identity file's included.
    let fs = NodeFs {
        skip_sync: cfg.bugs.skip_fsync,
    };
    let data_dir_lock = claim_identity(&cfg, fs)?;
    let lazy = cfg.bugs.ack_before_sync.then_some(cfg.lazy_sync_interval);
    let (mut disk, persisted) = NodeDisk::open_on_wall_clock(fs, &cfg.data_dir, lazy)?;
    disk.set_unsynced_vote(cfg.bugs.unsynced_vote);
    let mut node_cfg = Config::new(cfg.id);
    node_cfg.election_tick = cfg.election_ticks;
    node_cfg.heartbeat_tick = 1;
    node_cfg.seed = cfg.seed;
    node_cfg.snapshot_chunk_bytes = cfg.snapshot_chunk_bytes;
    let mut driver_cfg = DriverConfig::new(
        node_cfg,
        ConfState::with_voters(cfg.voters.iter().copied()),
        cfg.bugs,
    );
    driver_cfg.snapshot_every = cfg.snapshot_every;
    driver_cfg.client_addrs = cfg.client_addrs.clone();
    let observer = cfg
        .events
        .as_ref()
        .map(|path| (path, EventObserver::new(&persisted)));
    let driver = Driver::new(driver_cfg, persisted)?;
    let events = match observer {
        Some((path, observer)) => {
            let writer = EventWriter::open(path, cfg.id).map_err(|source| ServerError::Events {
                path: path.display().to_string(),
                source,
            })?;
            let mut stream = EventStream { observer, writer };
            let first = stream.observer.started(&driver);
            stream.write(&first).then_some(stream)
        }
        None => None,
    };
    let status = driver.status();
    tracing::info!(node = cfg.id, term = status.term, commit = status.commit, last_index = status.last_index, bugs = ?cfg.bugs.enabled_names(), "recovered state");

    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind { addr, source })
    };
    let peer_listener = bind(cfg.listen).await?;
    let client_listener = bind(cfg.client_listen).await?;
    let peer_addr = peer_listener
        .local_addr()
        .map_err(|source| ServerError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let client_addr = client_listener
        .local_addr()
        .map_err(|source| ServerError::Bind {
            addr: cfg.client_listen,
            source,
        })?;

    let (peer_tx, peer_rx) = mpsc::channel::<Message>(INPUT_QUEUE);
    let (client_tx, client_rx) = mpsc::channel::<ClientInput>(INPUT_QUEUE);
    let opts = TransportOptions {
        peer_secret: cfg.security.peer_secret.clone(),
        ..cfg.transport.clone()
    };
    let peers = cfg
        .peers
        .iter()
        .filter(|(id, _)| **id != cfg.id)
        .map(|(id, addr)| (*id, *addr))
        .collect();
    let transport =
        PeerTransport::start(cfg.id, cfg.cluster_id, peers, peer_tx.clone(), opts.clone())?;
    let peer_listener = accept_peers(peer_listener, cfg.id, cfg.cluster_id, peer_tx, &opts)?;
    let client_server = serve_clients(
        client_listener,
        client_tx,
        cfg.request_timeout,
        cfg.client_port.clone(),
    )?;
    let admin_gate = AdminGate::new(&cfg.security, client_addr);
    tracing::info!(
        node = cfg.id,
        peer_secret = cfg.security.peer_secret.is_some(),
        "{}",
        admin_gate.describe()
    );

    let stop = CancellationToken::new();
    let task = tokio::spawn(
        DriverLoop {
            driver,
            disk,
            transport,
            replies: HashMap::new(),
            next_token: 1,
            tick: cfg.tick,
            events,
            admin_gate,
            _data_dir_lock: data_dir_lock,
        }
        .run(
            peer_rx,
            client_rx,
            stop.clone(),
            peer_listener,
            client_server,
        ),
    );
    Ok(RunningNode {
        client_addr,
        peer_addr,
        stop,
        task,
    })
}

struct DriverLoop {
    driver: Driver,
    disk: NodeDisk<NodeFs>,
    transport: PeerTransport<Message>,
    replies: HashMap<Token, oneshot::Sender<ClientResponse>>,
    next_token: Token,
    tick: Duration,
    events: Option<EventStream>,
    admin_gate: AdminGate,
    /// Held until the node stops: the data directory is this process's.
    _data_dir_lock: DirLock,
}

/// Locks the data directory for this process and checks that it is this node's (creating its
/// identity file when it has none). The lock is held as long as the returned guard lives, so two
/// nodes started on one directory cannot both claim it.
fn claim_identity(cfg: &ServerConfig, fs: NodeFs) -> Result<DirLock, ServerError> {
    create_dir_durable(&fs, &cfg.data_dir)?;
    let lock = DirLock::acquire(&cfg.data_dir)?;
    let dir = cfg.data_dir.display();
    match claim_data_dir(&fs, &cfg.data_dir, cfg.id, cfg.cluster_id)? {
        Claim::Matched => {}
        Claim::Created => {
            tracing::info!(node = cfg.id, cluster = cfg.cluster_id, %dir, "new data directory")
        }
        Claim::Adopted => {
            tracing::warn!(node = cfg.id, cluster = cfg.cluster_id, %dir, "data directory had no identity file; adopted as this node's")
        }
    }
    Ok(lock)
}

/// The node's event stream: what the observer derives from each batch, written as it happens.
/// A write error is logged once and ends the stream; the node goes on.
struct EventStream {
    observer: EventObserver,
    writer: EventWriter,
}

impl EventStream {
    fn write(&mut self, events: &[NodeEvent]) -> bool {
        match self.writer.write(events) {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(error = %err, "cannot write the event stream; it ends here");
                false
            }
        }
    }

    fn flush(&mut self) -> bool {
        match self.writer.flush() {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(error = %err, "cannot flush the event stream; it ends here");
                false
            }
        }
    }
}

impl DriverLoop {
    async fn run(
        mut self,
        mut peer_rx: mpsc::Receiver<Message>,
        mut client_rx: mpsc::Receiver<ClientInput>,
        stop: CancellationToken,
        peer_listener: crate::net::ListenerHandle,
        client_server: crate::net::ListenerHandle,
    ) -> Result<(), ServerError> {
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break Ok(()),
                _ = ticker.tick() => self.driver.on_tick(),
                Some(msg) = peer_rx.recv() => self.driver.on_message(msg),
                Some(input) = client_rx.recv() => self.on_client(input),
            }
            // Take whatever else is already waiting, so one batch (one fsync) covers it all.
            for _ in 0..MAX_INPUTS_PER_BATCH {
                match peer_rx.try_recv() {
                    Ok(msg) => self.driver.on_message(msg),
                    Err(_) => break,
                }
            }
            for _ in 0..MAX_INPUTS_PER_BATCH {
                match client_rx.try_recv() {
                    Ok(input) => self.on_client(input),
                    Err(_) => break,
                }
            }
            if let Err(err) = self.drain_batches() {
                break Err(err);
            }
        };
        if let Err(err) = &result {
            let status = self.driver.status();
            tracing::error!(node = status.id, term = status.term, error = %err, "node stopping on a fatal error");
        }
        client_server.shutdown().await;
        peer_listener.shutdown().await;
        let flushed = tokio::task::block_in_place(|| self.disk.flush_lazy(true));
        if let Some(mut stream) = self.events.take() {
            if stream.write(&[NodeEvent::Stopped]) {
                stream.flush();
            }
        }
        self.transport.shutdown().await;
        let status = self.driver.status();
        tracing::info!(node = status.id, term = status.term, "node stopped");
        result.and(flushed.map_err(ServerError::from))
    }

    fn on_client(&mut self, input: ClientInput) {
        // Admin requests pass the gate (authority, voter floor) first; KV requests go straight on.
        let request = match input.request {
            kv @ ClientRequest::Kv { .. } => kv,
            admin => match self.admin_gate.admit(admin, &self.driver.status()) {
                Ok(request) => request,
                Err(refusal) => {
                    let _ = input.reply.send(refusal);
                    return;
                }
            },
        };
        let input = ClientInput {
            request,
            reply: input.reply,
        };
        let token = self.next_token;
        self.next_token += 1;
        if let ClientRequest::Admin(AdminRequest::AddLearner {
            id,
            peer_addr,
            client_addr,
        }) = &input.request
        {
            match peer_addr.parse::<SocketAddr>() {
                Ok(addr) => self.transport.add_peer(*id, addr),
                Err(err) => {
                    let _ = input.reply.send(ClientResponse::Error(format!(
                        "peer_addr {peer_addr:?} is not an ip:port address: {err}"
                    )));
                    return;
                }
            }
            self.driver.set_client_addr(*id, client_addr.clone());
        }
        self.replies.insert(token, input.reply);
        self.driver.on_client_request(token, input.request);
    }

    /// Writes what `batch` changed to the event stream, if there is one.
    fn observe(&mut self, batch: &DriverBatch) {
        if let Some(stream) = &mut self.events {
            let events = stream.observer.observe(&self.driver, batch);
            if !stream.write(&events) {
                self.events = None;
            }
        }
    }

    /// Persist (and report it durable), then send, then reply, for every batch the driver has.
    fn drain_batches(&mut self) -> Result<(), ServerError> {
        while self.driver.has_work() {
            let batch = self.driver.next_batch()?;
            self.observe(&batch);
            if !batch.persist.is_empty() {
                tokio::task::block_in_place(|| self.disk.persist(batch.persist))?;
            }
            // `persist` returns after the fsync (`ack-before-sync`: before it, which is the
            // bug), so the batch's entries count toward commit here from now on.
            if let Some(mark) = batch.ack_when_durable {
                self.driver.on_persisted(mark);
            }
            for msg in batch.then_send {
                let _ = self.transport.send(msg.to, msg);
            }
            for (token, response) in batch.replies {
                if let Some(reply) = self.replies.remove(&token) {
                    let _ = reply.send(response);
                }
            }
        }
        tokio::task::block_in_place(|| self.disk.flush_lazy(false))?;
        if let Some(stream) = &mut self.events {
            if let Err(err) = stream.writer.flush_if_due() {
                tracing::error!(error = %err, "cannot flush the event stream; it ends here");
                self.events = None;
            }
        }
        // Forget clients that gave up waiting.
        if self.replies.len() > 1024 && self.replies.len() > 2 * self.driver.pending() {
            self.replies.retain(|_, reply| !reply.is_closed());
        }
        Ok(())
    }
}
