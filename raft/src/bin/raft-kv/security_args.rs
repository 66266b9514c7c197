//! The authority flags of `raft-kv serve`: the admin token, the voter floor and the peer secret
//! (see `docs/security.md`), turned into the node's `SecurityConfig`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use raft::net::PeerSecret;
use raft::server::{AdminToken, SecurityConfig, DEFAULT_MIN_VOTERS};

#[derive(Args)]
pub struct SecurityArgs {
    /// File holding the admin token (16 to 4096 bytes; a final newline is not part of it): admin
    /// requests (add-learner, promote, remove, transfer-leader) must present it (`raft-kv client
    /// --admin-token-file`). Default: no token, and admin requests are taken only when
    /// --client-listen is a loopback address.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Refuse a membership change that would leave fewer voters than this, unless the client
    /// forces it (`raft-kv client --force`); at least 1.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_VOTERS)]
    min_voters: usize,
    /// File holding the cluster's peer secret (16 to 4096 bytes; a final newline is not part of
    /// it), the same on every node: peers prove it in the handshake and a peer without it is
    /// refused. Default: none (any host that can reach the peer port and names the cluster id is
    /// taken as a peer).
    #[arg(long, value_name = "FILE")]
    peer_secret_file: Option<PathBuf>,
}

impl SecurityArgs {
    /// Reads the files and checks the values.
    pub fn into_config(self) -> Result<SecurityConfig> {
        if self.min_voters == 0 {
            bail!("--min-voters must be at least 1");
        }
        Ok(SecurityConfig {
            admin_token: self
                .admin_token_file
                .map(|path| AdminToken::read_file(&path))
                .transpose()?,
            min_voters: self.min_voters,
            peer_secret: self
                .peer_secret_file
                .map(|path| PeerSecret::read_file(&path))
                .transpose()?,
        })
    }
}
