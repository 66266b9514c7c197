//! `raft-kv client`: one operation against a cluster. Prints the result on stdout; exit code 0
//! on success, 1 when the operation surely did not happen, 2 when its outcome is unknown.
//!
//! [`ClientCommand`] is only the command-line grammar (positional key and value, `--expected`,
//! help texts, the membership commands and `transfer-leader`): it becomes the one KV operation type,
//! [`raft::kv::Op`], or an [`AdminRequest`] in [`ClientCommand::into_request`], and the result
//! printed is the [`OpResult`] the cluster answered. `--admin-token-file` and `--force` turn an
//! admin request into an [`AuthorizedAdmin`] (see `docs/security.md`).

use std::{process::ExitCode, time::Duration};

use anyhow::Result;
use clap::{Args, Subcommand};
use raft::client::{Client, ClientConfig, ClientError};
use raft::kv::{AdminRequest, AuthorizedAdmin, Op, OpResult, PresentedToken};
use raft::net::read_secret_file;

use super::addrs::parse_addrs;

#[derive(Args)]
pub struct ClientArgs {
    /// Client ports of the nodes: `127.0.0.1:8001,127.0.0.1:8002,...`.
    #[arg(long)]
    cluster: String,
    /// Give up after this long (retries included).
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// File holding the cluster's admin token (the nodes' `--admin-token-file`), sent with admin
    /// commands (add-learner, promote, remove, transfer-leader). Default: none (taken only by nodes
    /// without a token whose client port is on loopback).
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<std::path::PathBuf>,
    /// Carry out a membership change even when it leaves fewer voters than the nodes' floor
    /// (`raft-kv serve --min-voters`). Default: off.
    #[arg(long)]
    force: bool,
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

/// What `--admin-token-file` and `--force` add to an admin request; `None` when neither is given
/// (the request then goes as older nodes know it).
struct Credentials {
    token: Option<PresentedToken>,
    force: bool,
}

fn credentials(args: &ClientArgs) -> Result<Option<Credentials>> {
    if args.admin_token_file.is_none() && !args.force {
        return Ok(None);
    }
    let token = match &args.admin_token_file {
        Some(path) => Some(PresentedToken(read_secret_file("admin token", path)?)),
        None => None,
    };
    Ok(Some(Credentials {
        token,
        force: args.force,
    }))
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
    let credentials = credentials(&args)?;
    let mut client = Client::new(cfg);
    let result: Result<String, ClientError> = match args.command.into_request() {
        Request::Kv(op) => client.execute(op).await.map(describe),
        Request::Admin(request) => match credentials {
            None => client.admin(request).await,
            Some(Credentials { token, force }) => {
                client
                    .authorized_admin(AuthorizedAdmin {
                        request,
                        token,
                        force,
                    })
                    .await
            }
        }
        .map(|()| "ok".into()),
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
