//! The client library of `raft-kv`: [`Client`] finds the leader (following `NotLeader` hints),
//! retries with the same sequence number so a write is applied at most once, and reports
//! failures as definite or indefinite ([`ClientError`]). One operation at a time per client
//! (that is what a session's sequence numbers assume); use one `Client` per concurrent worker.

mod error;
mod session;

pub use error::ClientError;
pub use session::{Client, ClientConfig};
