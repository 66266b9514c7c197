//! The payload of a KV log entry: `(client id, sequence number, op)`, postcard-encoded.

use serde::{Deserialize, Serialize};

use super::error::KvError;
use super::op::Op;

/// One client request as it travels through the Raft log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Chosen by the client, unique per client session (a random u64 is fine).
    pub client_id: u64,
    /// Per-client sequence number, starting at [`crate::kv::FIRST_SEQ`]; a retry reuses it.
    pub seq: u64,
    pub op: Op,
}

impl Command {
    /// The bytes to propose to the Raft core.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain strings, integers and enums into a growable Vec has no failure path
        // in postcard (errors come only from custom Serialize impls or unknown-length sequences).
        postcard::to_allocvec(self).expect("postcard encoding of a Command into a Vec cannot fail")
    }

    /// Parses the bytes of a committed entry. Trailing bytes are rejected.
    pub fn decode(bytes: &[u8]) -> Result<Command, KvError> {
        let (command, rest) =
            postcard::take_from_bytes::<Command>(bytes).map_err(|source| KvError::Decode {
                what: "Command",
                source,
            })?;
        if rest.is_empty() {
            Ok(command)
        } else {
            Err(KvError::Decode {
                what: "Command",
                source: postcard::Error::DeserializeBadEncoding,
            })
        }
    }
}
