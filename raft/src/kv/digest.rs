//! The KV machine's rolling digest of what it applied: every applied index folds its index, its
//! kind (command, no-op, other entry) and its bytes into a 64-bit value, so two replicas with
//! equal digests at an index applied the same sequence up to it. The digest travels in the
//! snapshot (a replica restored from one continues the sender's digest) and is reported at every
//! [`CHECKPOINT_EVERY`]-th index, where replicas can be compared (`raft::events`).

use serde::{Deserialize, Serialize, Serializer};

/// The applied index's digest is kept as a checkpoint at every multiple of this.
pub const CHECKPOINT_EVERY: u64 = 64;

/// What kind of entry an applied index was (folded into the digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppliedKind {
    /// A KV command (its encoded bytes follow).
    Command,
    /// An empty normal entry (the leader's no-op).
    Noop,
    /// An entry that is not a KV command (a membership change), marked applied.
    Other,
}

/// A 64-bit digest, written as 16 lowercase hex digits (a JSON number would lose bits in
/// JavaScript).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub u64);

impl Digest {
    /// The digest before anything is applied.
    pub const EMPTY: Digest = Digest(0xcbf2_9ce4_8422_2325);

    /// The digest after also applying `index` of `kind` with `bytes` (FNV-1a style over 8-byte
    /// words; stable across processes and platforms).
    pub fn fold(self, index: u64, kind: AppliedKind, bytes: &[u8]) -> Digest {
        const PRIME: u64 = 0x0100_0000_01b3;
        let kind = match kind {
            AppliedKind::Command => 1u64,
            AppliedKind::Noop => 2,
            AppliedKind::Other => 3,
        };
        let mut hash = self.0;
        for word in [index, kind, bytes.len() as u64] {
            hash = (hash ^ word).wrapping_mul(PRIME);
        }
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            hash = (hash ^ u64::from_le_bytes(buf)).wrapping_mul(PRIME);
        }
        for &byte in words.remainder() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
        Digest(hash)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            u64::from_str_radix(&text, 16)
                .map(Digest)
                .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a hex digest")))
        } else {
            u64::deserialize(deserializer).map(Digest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_depends_on_index_kind_bytes_and_order() {
        let a = Digest::EMPTY.fold(1, AppliedKind::Command, b"put x 1");
        assert_ne!(a, Digest::EMPTY.fold(2, AppliedKind::Command, b"put x 1"));
        assert_ne!(a, Digest::EMPTY.fold(1, AppliedKind::Command, b"put x 2"));
        assert_ne!(a, Digest::EMPTY.fold(1, AppliedKind::Other, b"put x 1"));
        let ab = a.fold(2, AppliedKind::Noop, b"");
        let ba =
            Digest::EMPTY
                .fold(2, AppliedKind::Noop, b"")
                .fold(1, AppliedKind::Command, b"put x 1");
        assert_ne!(ab, ba);
        assert_eq!(
            ab,
            Digest::EMPTY
                .fold(1, AppliedKind::Command, b"put x 1")
                .fold(2, AppliedKind::Noop, b"")
        );
    }

    #[test]
    fn json_carries_hex_and_postcard_carries_the_number() {
        let digest = Digest(0x00ab_cdef_0123_4567);
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, "\"00abcdef01234567\"");
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"xyz\"").is_err());
        let bytes = postcard::to_allocvec(&digest).unwrap();
        assert_eq!(postcard::from_bytes::<Digest>(&bytes).unwrap(), digest);
    }
}
