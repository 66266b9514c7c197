//! What a failed client operation tells the caller: whether it surely did not happen
//! (definite: record `fail`) or may have happened (indefinite: record `info`), and what kind of
//! trouble ended it ([`ErrorKind`]: the last thing the client saw from the node it tried last).

use std::fmt;

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
    Definite { kind: ErrorKind, reason: String },
    /// The operation may or may not have taken effect.
    #[error("outcome unknown (the operation may have taken effect): {reason}")]
    Indefinite { kind: ErrorKind, reason: String },
    /// A membership change the leader refused as invalid; nothing changed.
    #[error("membership change rejected: {reason}")]
    Rejected { reason: String },
}

impl ClientError {
    /// True when the operation surely did not take effect (history: `fail`).
    pub fn is_definite(&self) -> bool {
        !matches!(self, ClientError::Indefinite { .. })
    }

    /// What kind of trouble ended the operation.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Definite { kind, .. } | ClientError::Indefinite { kind, .. } => *kind,
            ClientError::Rejected { .. } => ErrorKind::Rejected,
        }
    }
}

/// Why an attempt (and so, at the end, an operation) failed: a small closed set of what a
/// client can see, named in kebab-case ([`ErrorKind::name`]) in histories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// No answer in time: connecting, writing the request or waiting for the reply.
    Timeout,
    /// The node refused the connection (nothing listens: it is down or restarting).
    ConnectionRefused,
    /// The connection could not be made for another reason (unreachable, no address).
    ConnectionFailed,
    /// The connection broke or was closed after it was made (before the answer arrived).
    ConnectionReset,
    /// The node is not the leader and pointed at the one it believes leads.
    NotLeader,
    /// The node is not the leader and knows no leader.
    NoLeader,
    /// The node is overloaded and asked to retry.
    Busy,
    /// The session was unknown or its sequence stale (`SessionExpired`/`StaleSequence`).
    SessionExpired,
    /// The node answered with an error.
    ServerError,
    /// A membership change was rejected as invalid.
    Rejected,
    /// The answer did not fit the request (wrong result type, did not decode).
    BadReply,
    /// The request could not be encoded, or no node could be asked (empty node list).
    BadRequest,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Timeout,
        ErrorKind::ConnectionRefused,
        ErrorKind::ConnectionFailed,
        ErrorKind::ConnectionReset,
        ErrorKind::NotLeader,
        ErrorKind::NoLeader,
        ErrorKind::Busy,
        ErrorKind::SessionExpired,
        ErrorKind::ServerError,
        ErrorKind::Rejected,
        ErrorKind::BadReply,
        ErrorKind::BadRequest,
    ];

    /// The kebab-case name, as histories record it (`error_kind`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionRefused => "connection-refused",
            ErrorKind::ConnectionFailed => "connection-failed",
            ErrorKind::ConnectionReset => "connection-reset",
            ErrorKind::NotLeader => "not-leader",
            ErrorKind::NoLeader => "no-leader",
            ErrorKind::Busy => "busy",
            ErrorKind::SessionExpired => "session-expired",
            ErrorKind::ServerError => "server-error",
            ErrorKind::Rejected => "rejected",
            ErrorKind::BadReply => "bad-reply",
            ErrorKind::BadRequest => "bad-request",
        }
    }

    /// The kind named `name` ([`ErrorKind::name`]), if any.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_distinct_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in ErrorKind::ALL {
            let name = kind.name();
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name}"
            );
            assert!(seen.insert(name), "{name} twice");
            assert_eq!(ErrorKind::from_name(name), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("Timeout"), None);
    }

    #[test]
    fn a_rejection_has_its_own_kind() {
        let rejected = ClientError::Rejected { reason: "x".into() };
        assert_eq!(rejected.kind(), ErrorKind::Rejected);
        let lost = ClientError::Indefinite {
            kind: ErrorKind::ConnectionReset,
            reason: "y".into(),
        };
        assert_eq!(lost.kind(), ErrorKind::ConnectionReset);
        assert!(!lost.is_definite());
    }
}
