//! What a failed client operation tells the caller: whether it surely did not happen
//! (definite: record `fail`) or may have happened (indefinite: record `info`).

use thiserror::Error;

/// A failed operation. Which variant is the contract the harness relies on:
///
/// | cause | variant |
/// |---|---|
/// | no node reachable, every attempt refused (`NotLeader`, `Busy`) or never written | `Definite` |
/// | a read (`get`) that failed in any way (reads change nothing) | `Definite` |
/// | `SessionExpired`/`StaleSequence` when no earlier attempt of this write may have landed | `Definite` |
/// | a write attempt was (maybe) delivered and then: timeout, connection lost, `Error` answer | `Indefinite` |
/// | `SessionExpired`/`StaleSequence` after such an attempt | `Indefinite` |
/// | the membership change was rejected as invalid | `Rejected` (definite) |
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The operation surely did not take effect.
    #[error("operation failed (it did not take effect): {reason}")]
    Definite { reason: String },
    /// The operation may or may not have taken effect.
    #[error("outcome unknown (the operation may have taken effect): {reason}")]
    Indefinite { reason: String },
    /// A membership change the leader refused as invalid; nothing changed.
    #[error("membership change rejected: {reason}")]
    Rejected { reason: String },
}

impl ClientError {
    /// True when the operation surely did not take effect (history: `fail`).
    pub fn is_definite(&self) -> bool {
        !matches!(self, ClientError::Indefinite { .. })
    }
}
