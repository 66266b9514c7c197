//! The `raft-kv` node on tokio: storage (`NodeDisk`, one fsync per driver batch), peer transport
//! and listener (`raft::net`), the client port, a tick timer, and one task that owns the
//! sans-IO [`crate::driver::Driver`]. See `docs/server.md`.

mod authority;
mod client_port;
mod config;
mod disk;
mod node;
mod startup_checks;
mod warn_limit;

pub use authority::{AdminGate, AdminToken, SecurityConfig, DEFAULT_MIN_VOTERS};
pub use client_port::ClientInput;
pub use config::ServerConfig;
pub use disk::{NodeDisk, RaftStorage};
pub use node::{start, RunningNode, ServerError};
pub use warn_limit::{RateLimitedWarnings, WarnVerdict, WarnWindows, WARN_WINDOW};
