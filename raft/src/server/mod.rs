//! The `raft-kv` node on tokio: storage (`NodeDisk`, one fsync per driver batch), peer transport
//! and listener (`raft::net`), the client port, a tick timer, and one task that owns the
//! sans-IO [`crate::driver::Driver`]. See `docs/server.md`.

mod client_port;
mod config;
mod disk;
mod node;
mod warn_limit;

pub use client_port::ClientInput;
pub use config::ServerConfig;
pub use disk::{NodeDisk, RaftStorage};
pub use node::{start, RunningNode, ServerError};
pub use warn_limit::{RateLimitedWarnings, WarnVerdict, WarnWindows, WARN_WINDOW};
