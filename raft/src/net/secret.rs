//! Secrets read from files: the cluster's peer secret (the HMAC key of the handshake) and, through
//! [`read_secret_file`], any other shared secret a node is given (the admin token).
//!
//! A secret never appears in `Debug` output or logs. Trailing whitespace in the file (a final
//! newline) is not part of the secret; a secret shorter than [`MIN_SECRET_LEN`] bytes is refused as
//! too easy to guess.

use std::{fmt, path::Path, sync::Arc};

use thiserror::Error;

/// Fewest bytes a secret may have.
pub const MIN_SECRET_LEN: usize = 16;
/// Most bytes a secret may have (a secret file is a few bytes, not a data file).
pub const MAX_SECRET_LEN: usize = 4096;

/// Why a secret file could not be used.
#[derive(Debug, Error)]
pub enum SecretFileError {
    #[error("cannot read the {what} file {path}: {error}")]
    Read {
        what: &'static str,
        path: String,
        error: std::io::Error,
    },
    #[error("the {what} file {path} holds {len} bytes (trailing whitespace left out); a secret needs from {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes (for example 32 random bytes, hex-encoded)")]
    BadLength {
        what: &'static str,
        path: String,
        len: usize,
    },
}

/// Reads the secret in `path` (`what` names it in errors): the file's bytes without trailing ASCII
/// whitespace, from [`MIN_SECRET_LEN`] to [`MAX_SECRET_LEN`] bytes long.
pub fn read_secret_file(what: &'static str, path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let bytes = std::fs::read(path).map_err(|error| SecretFileError::Read {
        what,
        path: path.display().to_string(),
        error,
    })?;
    secret_from_bytes(what, path, bytes)
}

fn secret_from_bytes(
    what: &'static str,
    path: &Path,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>, SecretFileError> {
    let len = bytes.trim_ascii_end().len();
    bytes.truncate(len);
    if (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&len) {
        Ok(bytes)
    } else {
        Err(SecretFileError::BadLength {
            what,
            path: path.display().to_string(),
            len,
        })
    }
}

/// The key every member of a cluster shares and proves in the peer handshake. Cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerSecret(Arc<[u8]>);

impl PeerSecret {
    /// A secret made of `bytes` (tests and callers that hold the key already).
    pub fn new(bytes: impl Into<Vec<u8>>) -> PeerSecret {
        PeerSecret(Arc::from(bytes.into()))
    }

    /// Reads the secret from a file (see [`read_secret_file`]).
    pub fn read_file(path: &Path) -> Result<PeerSecret, SecretFileError> {
        read_secret_file("peer secret", path).map(PeerSecret::new)
    }

    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PeerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerSecret(<{} bytes, not shown>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_final_newline_is_not_part_of_the_secret_and_short_ones_are_refused() {
        let path = Path::new("s");
        let secret = secret_from_bytes("peer secret", path, b"0123456789abcdef\n".to_vec());
        assert_eq!(secret.unwrap(), b"0123456789abcdef");
        let err = secret_from_bytes("peer secret", path, b"short\n".to_vec()).unwrap_err();
        assert!(
            err.to_string().contains("holds 5 bytes"),
            "the error says what is wrong: {err}"
        );
        assert!(secret_from_bytes("x", path, vec![b'a'; MAX_SECRET_LEN + 1]).is_err());
        let missing = read_secret_file("peer secret", Path::new("/nonexistent/secret"));
        assert!(matches!(missing, Err(SecretFileError::Read { .. })));
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let shown = format!("{:?}", PeerSecret::new(b"very-secret-key-bytes".to_vec()));
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
