//! `raft::kv`: the replicated key/value state machine that sits on top of the Raft log.
//!
//! Everything here is deterministic and IO-free: the same sequence of committed entries gives
//! byte-identical state (and snapshots) on every replica.
//!
//! * [`Op`] / [`OpResult`]: the operations (`get`, `put`, `append`, `cas`, `delete`) on string
//!   keys and values, and what they return.
//! * [`Command`]: what a log entry carries, `(client id, sequence number, op)`, postcard-encoded.
//! * [`KvStateMachine`]: applies commands with exactly-once client sessions (see
//!   [`session`] for the rules), serves reads for the read-index path, and takes and restores
//!   snapshots, keeping a rolling [`Digest`] of what it applied.
//! * [`protocol`]: the request/response types of the client port.
//!
//! `docs/kv.md` describes the session rules and their limits in prose.

pub mod command;
pub mod config;
pub mod digest;
pub mod error;
pub mod op;
pub mod protocol;
pub mod session;
pub mod snapshot;
pub mod state_machine;

#[cfg(test)]
mod tests;

pub use command::Command;
pub use config::{KvConfig, KvPlantedBugs};
pub use digest::Digest;
pub use error::KvError;
pub use op::{Op, OpResult};
pub use protocol::{
    AdminRequest, AuthorizedAdmin, ClientRequest, ClientRequestFrame, ClientResponse,
    ClientResponseFrame, NodeId, PresentedToken,
};
pub use session::FIRST_SEQ;
pub use state_machine::{KvStateMachine, Reply};
