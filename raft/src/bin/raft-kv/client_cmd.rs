//! `raft-kv client`: one operation against a cluster. Prints the result on stdout; exit code 0
//! on success, 1 when the operation surely did not happen, 2 when its outcome is unknown.

use std::{process::ExitCode, time::Duration};

use anyhow::Result;
use clap::{Args, Subcommand};
use raft::client::{Client, ClientConfig, ClientError};
use raft::kv::AdminRequest;

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
    op: ClientOp,
}

#[derive(Subcommand)]
enum ClientOp {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
    },
    Append {
        key: String,
        value: String,
    },
    /// Set KEY to NEW if it currently holds --expected (absent when --expected is not given).
    Cas {
        key: String,
        new: String,
        #[arg(long)]
        expected: Option<String>,
    },
    Delete {
        key: String,
    },
    /// Add node ID as a learner.
    AddLearner {
        id: u64,
        peer_addr: String,
        client_addr: String,
    },
    Promote {
        id: u64,
    },
    Remove {
        id: u64,
    },
}

pub async fn run(args: ClientArgs) -> Result<ExitCode> {
    let mut cfg = ClientConfig::new(parse_addrs(&args.cluster)?);
    cfg.op_timeout = Duration::from_millis(args.timeout_ms);
    let mut client = Client::new(cfg);
    let result: Result<String, ClientError> = match args.op {
        ClientOp::Get { key } => client
            .get(&key)
            .await
            .map(|v| v.unwrap_or_else(|| "(absent)".into())),
        ClientOp::Put { key, value } => client.put(&key, &value).await.map(|_| "ok".into()),
        ClientOp::Append { key, value } => client.append(&key, &value).await.map(|_| "ok".into()),
        ClientOp::Cas { key, new, expected } => client
            .cas(&key, expected.as_deref(), &new)
            .await
            .map(|swapped| {
                if swapped {
                    "ok".into()
                } else {
                    "mismatch".into()
                }
            }),
        ClientOp::Delete { key } => client.delete(&key).await.map(|existed| {
            if existed {
                "deleted".into()
            } else {
                "absent".into()
            }
        }),
        ClientOp::AddLearner {
            id,
            peer_addr,
            client_addr,
        } => client
            .admin(AdminRequest::AddLearner {
                id,
                peer_addr,
                client_addr,
            })
            .await
            .map(|_| "ok".into()),
        ClientOp::Promote { id } => client
            .admin(AdminRequest::Promote { id })
            .await
            .map(|_| "ok".into()),
        ClientOp::Remove { id } => client
            .admin(AdminRequest::Remove { id })
            .await
            .map(|_| "ok".into()),
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
