//! [`CommandClient`]: a [`DbClient`] speaking the command protocol ([`super::protocol`]) to the
//! nodes of a [`super::CommandDb`], one kept-open TCP connection per node.
//!
//! An operation starts at one node (a workload client's home node, a patient client's last node
//! that answered) and moves on to the next only while the outcome is definite: the connection
//! was refused or timed out before anything was sent, or the node answered `fail`. Once a request
//! was sent, a timeout, a lost connection or a reply that cannot be understood ends the operation
//! with outcome unknown (history `info`), and that connection is dropped (a late reply must not be
//! taken for the next request's).

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use raft::client::ErrorKind;
use raft::kv::Op;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::protocol::{
    decode_leader_reply, decode_reply, encode_leader_probe, encode_request, MAX_REPLY_BYTES,
};
use crate::db::{ClientFailure, ClientProfile, DbClient, KvReply, NodeId};

/// A patient client's time per operation (at least).
const PATIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong with one node.
enum Trouble {
    /// Nothing was sent: the operation surely did not take effect there.
    NotSent(ClientFailure),
    /// The request was sent (or may have been) and no usable reply came.
    Lost(ClientFailure),
}

/// A session with every node of a command-driven system.
pub struct CommandClient {
    nodes: Vec<(NodeId, SocketAddr)>,
    connections: Vec<Option<BufReader<TcpStream>>>,
    /// A workload client's home node (index into `nodes`).
    home: Option<usize>,
    /// Where the next operation starts.
    next: usize,
    op_timeout: Duration,
    next_id: u64,
    last: Option<NodeId>,
}

impl CommandClient {
    /// A client of `nodes` (id and client address of each). A workload client starts every
    /// operation at `nodes[home % len]` and takes up to `workload_timeout` per operation; a
    /// patient one starts where the last answer came from and takes at least 5 s.
    pub fn new(
        nodes: Vec<(NodeId, SocketAddr)>,
        profile: ClientProfile,
        home: usize,
        workload_timeout: Duration,
    ) -> CommandClient {
        let len = nodes.len().max(1);
        let (home, op_timeout) = match profile {
            ClientProfile::Workload => (Some(home % len), workload_timeout),
            ClientProfile::Patient => (None, workload_timeout.max(PATIENT_TIMEOUT)),
        };
        CommandClient {
            connections: nodes.iter().map(|_| None).collect(),
            nodes,
            home,
            next: home.unwrap_or(0),
            op_timeout,
            next_id: 1,
            last: None,
        }
    }

    /// Changes the time one operation may take.
    pub fn with_op_timeout(mut self, op_timeout: Duration) -> CommandClient {
        self.op_timeout = op_timeout;
        self
    }

    async fn execute(&mut self, op: Op) -> Result<KvReply, ClientFailure> {
        let id = self.next_id;
        self.next_id += 1;
        let request = encode_request(id, &op)?;
        let deadline = Instant::now() + self.op_timeout;
        let mut last_failure = ClientFailure {
            definite: true,
            kind: ErrorKind::BadRequest,
            reason: "no node to ask".into(),
        };
        for step in 0..self.nodes.len() {
            let index = (self.next + step) % self.nodes.len();
            self.last = Some(self.nodes[index].0);
            match self.exchange(index, &request, deadline).await {
                Err(Trouble::NotSent(failure)) => last_failure = failure,
                Err(Trouble::Lost(failure)) => return Err(failure),
                Ok(line) => match decode_reply(&line, id, &op) {
                    Ok(reply) => {
                        self.next = index;
                        return Ok(reply);
                    }
                    Err(failure) if failure.definite => last_failure = failure,
                    Err(failure) => {
                        if failure.kind == ErrorKind::BadReply {
                            self.connections[index] = None;
                        }
                        return Err(failure);
                    }
                },
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        Err(last_failure)
    }

    /// Sends one request line to node `index` and reads one reply line, by `deadline`.
    async fn exchange(
        &mut self,
        index: usize,
        request: &str,
        deadline: Instant,
    ) -> Result<String, Trouble> {
        let (node, addr) = self.nodes[index];
        if self.connections[index].as_ref().is_some_and(is_closed) {
            self.connections[index] = None;
        }
        let connection = match self.connections[index].take() {
            Some(connection) => connection,
            None => BufReader::new(connect(node, addr, deadline).await?),
        };
        let connection = self.connections[index].insert(connection);
        let mut line = request.as_bytes().to_vec();
        line.push(b'\n');
        let exchange = async {
            connection.get_mut().write_all(&line).await?;
            read_reply_line(connection).await
        };
        let outcome = timeout_at(deadline, exchange).await;
        let lost = |kind: ErrorKind, reason: String| {
            Trouble::Lost(ClientFailure {
                definite: false,
                kind,
                reason: format!(
                    "node {node} ({addr}): {reason}; the request may have taken effect"
                ),
            })
        };
        let result = match outcome {
            Err(_) => Err(lost(ErrorKind::Timeout, "no reply in time".into())),
            Ok(Err(err)) => Err(lost(io_kind(&err), format!("connection lost: {err}"))),
            Ok(Ok(Err(why))) => Err(lost(ErrorKind::BadReply, why)),
            Ok(Ok(Ok(reply))) => Ok(reply),
        };
        if result.is_err() {
            self.connections[index] = None;
        }
        result
    }
}

/// Connects to node `node` at `addr` by `deadline`; a failure sent nothing.
async fn connect(node: NodeId, addr: SocketAddr, deadline: Instant) -> Result<TcpStream, Trouble> {
    let not_sent = |kind: ErrorKind, reason: String| {
        Trouble::NotSent(ClientFailure {
            definite: true,
            kind,
            reason: format!("node {node} ({addr}): {reason}; nothing was sent"),
        })
    };
    match timeout_at(deadline, TcpStream::connect(addr)).await {
        Err(_) => Err(not_sent(ErrorKind::Timeout, "connecting timed out".into())),
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionRefused => Err(not_sent(
            ErrorKind::ConnectionRefused,
            "connection refused".into(),
        )),
        Ok(Err(err)) => Err(not_sent(
            ErrorKind::ConnectionFailed,
            format!("cannot connect: {err}"),
        )),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    }
}

/// True when a kept connection can no longer carry a request: the node closed it (it restarted,
/// say) or sent something unasked.
fn is_closed(connection: &BufReader<TcpStream>) -> bool {
    if !connection.buffer().is_empty() {
        return true;
    }
    let mut probe = [0u8; 1];
    !matches!(
        connection.get_ref().try_read(&mut probe),
        Err(ref err) if err.kind() == std::io::ErrorKind::WouldBlock
    )
}

/// The history's kind for an I/O error after the request was sent.
fn io_kind(err: &std::io::Error) -> ErrorKind {
    match err.kind() {
        std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::ConnectionReset,
    }
}

/// Reads one reply line (without its line end). The inner error says why the bytes are no reply
/// (too long, not UTF-8); the outer one is an I/O error or the connection closing first.
async fn read_reply_line(
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<Result<String, String>> {
    let mut line = Vec::new();
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the node closed the connection before a whole reply line",
            ));
        }
        let (taken, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (buffer.len(), false),
        };
        line.extend_from_slice(&buffer[..taken]);
        reader.consume(taken);
        if line.len() > MAX_REPLY_BYTES + 1 {
            return Ok(Err(format!(
                "reply line longer than {MAX_REPLY_BYTES} bytes"
            )));
        }
        if done {
            break;
        }
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8(line).map_err(|_| "reply line is not UTF-8".to_string()))
}

impl DbClient for CommandClient {
    fn call(&mut self, op: Op) -> BoxFuture<'_, Result<KvReply, ClientFailure>> {
        if let Some(home) = self.home {
            self.next = home;
        }
        self.execute(op).boxed()
    }

    fn last_node(&self) -> Option<NodeId> {
        self.last
    }
}

/// True when the node at `addr` answers the leader probe with `"leader": true` within 600 ms.
pub async fn probe_is_leader(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_millis(600);
    let probe = async {
        let mut reader = BufReader::new(TcpStream::connect(addr).await?);
        let mut line = encode_leader_probe(0).into_bytes();
        line.push(b'\n');
        reader.get_mut().write_all(&line).await?;
        read_reply_line(&mut reader).await
    };
    matches!(
        timeout_at(deadline, probe).await,
        Ok(Ok(Ok(reply))) if decode_leader_reply(&reply, 0)
    )
}
