//! The client library of `raft-kv`: [`Client`] finds the leader (following `NotLeader` hints),
//! retries with the same sequence number so a write is applied at most once, and reports
//! failures as definite or indefinite ([`ClientError`]). One operation at a time per client
//! (that is what a session's sequence numbers assume); use one `Client` per concurrent worker.
//!
//! The rules live in [`retry::ClientSession`], a state machine without IO or clocks; [`Client`]
//! drives it over sockets and the deterministic simulator drives the same machine over
//! simulated time, so both follow one set of rules.

mod error;
pub mod retry;
mod session;

pub use error::{ClientError, ErrorKind};
pub use retry::{Action, ClientSession, RetryPolicy, SessionIds, Success, Target};
pub use session::{Client, ClientConfig};
