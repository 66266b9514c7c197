//! `raft-kv client`: one operation against a cluster. Prints the result on stdout; exit code 0
//! on success, 1 when the operation surely did not happen, 2 when its outcome is unknown.
//!
//! [`ClientCommand`] is only the command-line grammar (positional key and value, `--expected`,
//! help texts, the membership commands and `transfer-leader`): it becomes the one KV operation type,
//! [`raft::kv::Op`], or an [`AdminRequest`] in [`ClientCommand::into_request`], and the result
//! printed is the [`OpResult`] the cluster answered.

use std::{process::ExitCode, time::Duration};

use anyhow::Result;
use clap::{Args, Subcommand};
use raft::client::{Client, ClientConfig, ClientError};
use raft::kv::{AdminRequest, Op, OpResult};

use super::addrs::parse_addrs;

#[derive(Args)]
pub struct ClientArgs {
    /// Client ports of the nodes: `127.0.0.1:8001,127.0.0.1:8002,...`.
    #[arg(long)]
    cluster: String,
    /// Give up after this long (retries included).
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Read KEY (a linearizable read); prints its value or `(absent)`.
    Get { key: String },
    /// Set KEY to VALUE.
    Put { key: String, value: String },
    /// Append VALUE to KEY's value (an absent key counts as empty).
    Append { key: String, value: String },
    /// Set KEY to NEW if it currently holds --expected (absent when --expected is not given);
    /// prints `ok` or `mismatch`.
    Cas {
        key: String,
        new: String,
        #[arg(long)]
        expected: Option<String>,
    },
    /// Remove KEY; prints `deleted` or `absent`.
    Delete { key: String },
    /// Add node ID as a learner.
    AddLearner {
        id: u64,
        peer_addr: String,
        client_addr: String,
    },
    /// Promote learner ID to voter.
    Promote { id: u64 },
    /// Remove node ID from the cluster.
    Remove { id: u64 },
    /// Hand leadership to voter ID; prints `ok` once ID leads.
    TransferLeader { id: u64 },
}

/// What a command sends: a KV operation or an admin request (membership, leadership).
enum Request {
    Kv(Op),
    Admin(AdminRequest),
}

impl ClientCommand {
    fn into_request(self) -> Request {
        match self {
            ClientCommand::Get { key } => Request::Kv(Op::Get { key }),
            ClientCommand::Put { key, value } => Request::Kv(Op::Put { key, value }),
            ClientCommand::Append { key, value } => Request::Kv(Op::Append { key, value }),
            ClientCommand::Cas { key, new, expected } => {
                Request::Kv(Op::Cas { key, expected, new })
            }
            ClientCommand::Delete { key } => Request::Kv(Op::Delete { key }),
            ClientCommand::AddLearner {
                id,
                peer_addr,
                client_addr,
            } => Request::Admin(AdminRequest::AddLearner {
                id,
                peer_addr,
                client_addr,
            }),
            ClientCommand::Promote { id } => Request::Admin(AdminRequest::Promote { id }),
            ClientCommand::Remove { id } => Request::Admin(AdminRequest::Remove { id }),
            ClientCommand::TransferLeader { id } => {
                Request::Admin(AdminRequest::TransferLeadership { to: id })
            }
        }
    }
}

/// A result as the command prints it.
fn describe(result: OpResult) -> String {
    match result {
        OpResult::Value(value) => value.unwrap_or_else(|| "(absent)".into()),
        OpResult::Written | OpResult::CasOk => "ok".into(),
        OpResult::CasMismatch { .. } => "mismatch".into(),
        OpResult::Deleted { existed: true } => "deleted".into(),
        OpResult::Deleted { existed: false } => "absent".into(),
    }
}

pub async fn run(args: ClientArgs) -> Result<ExitCode> {
    let mut cfg = ClientConfig::new(parse_addrs(&args.cluster)?);
    cfg.op_timeout = Duration::from_millis(args.timeout_ms);
    let mut client = Client::new(cfg);
    let result: Result<String, ClientError> = match args.command.into_request() {
        Request::Kv(op) => client.execute(op).await.map(describe),
        Request::Admin(request) => client.admin(request).await.map(|()| "ok".into()),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("raft-kv client: {err}");
            Ok(ExitCode::from(if err.is_definite() { 1 } else { 2 }))
        }
    }
}
