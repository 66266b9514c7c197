//! The byte format of a KV snapshot: a format version, then the applied index, the rolling digest
//! of the applied sequence (version 2 on; see [`super::digest`]), the data map, the sessions and
//! the tombstones, all in a canonical order so equal states give equal bytes. Version 1 snapshots
//! (without the digest) are refused with [`KvError::SnapshotVersion`].
//!
//! Restore is strict: keys and client ids must be strictly increasing, every session must be
//! consistent with the applied index, and tombstones must be unique and not live.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize, Serializer};

use super::config::KvPlantedBugs;
use super::digest::Digest;
use super::error::KvError;
use super::session::{Session, FIRST_SEQ};

/// The snapshot format this code writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 2;

/// Borrowed view used to write a snapshot without copying the state.
#[derive(Serialize)]
struct SnapshotBodyRef<'a> {
    applied_index: u64,
    applied_digest: Option<Digest>,
    #[serde(serialize_with = "map_as_pairs")]
    data: &'a BTreeMap<String, String>,
    #[serde(serialize_with = "map_as_pairs")]
    sessions: &'a BTreeMap<u64, Session>,
    tombstones: &'a VecDeque<u64>,
}

/// Owned form read back (maps as pair lists, so order and uniqueness can be checked).
#[derive(Deserialize)]
struct SnapshotBody {
    applied_index: u64,
    applied_digest: Option<Digest>,
    data: Vec<(String, String)>,
    sessions: Vec<(u64, Session)>,
    tombstones: Vec<u64>,
}

/// A decoded, validated snapshot.
#[derive(Debug, PartialEq, Eq)]
pub struct SnapshotParts {
    pub applied_index: u64,
    /// The digest of the applied sequence up to `applied_index` (`None`: the machine that took
    /// the snapshot did not know it).
    pub applied_digest: Option<Digest>,
    pub data: BTreeMap<String, String>,
    pub sessions: BTreeMap<u64, Session>,
    pub tombstones: Vec<u64>,
}

fn map_as_pairs<S: Serializer, K: Serialize, V: Serialize>(
    map: &&BTreeMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(map.iter())
}

/// Encodes the state. Deterministic: equal inputs give byte-identical output.
pub fn encode(
    applied_index: u64,
    applied_digest: Option<Digest>,
    data: &BTreeMap<String, String>,
    sessions: &BTreeMap<u64, Session>,
    tombstones: &VecDeque<u64>,
) -> Vec<u8> {
    let body = SnapshotBodyRef {
        applied_index,
        applied_digest,
        data,
        sessions,
        tombstones,
    };
    // As for Command::encode: postcard into a Vec has no failure path for these types.
    postcard::to_allocvec(&(SNAPSHOT_FORMAT_VERSION, body))
        .expect("postcard encoding of a KV snapshot into a Vec cannot fail")
}

/// Encodes the state as a machine with `bugs` does: like [`encode`], except that the planted bug
/// `snapshot-drops-sessions` leaves the session table and the tombstones out.
pub fn encode_with_bugs(
    bugs: &KvPlantedBugs,
    applied_index: u64,
    applied_digest: Option<Digest>,
    data: &BTreeMap<String, String>,
    sessions: &BTreeMap<u64, Session>,
    tombstones: &VecDeque<u64>,
) -> Vec<u8> {
    if bugs.snapshot_drops_sessions {
        // PLANTED BUG `snapshot-drops-sessions`: the sessions are "only a cache".
        return encode(
            applied_index,
            applied_digest,
            data,
            &BTreeMap::new(),
            &VecDeque::new(),
        );
    }
    encode(applied_index, applied_digest, data, sessions, tombstones)
}

/// Decodes and validates snapshot bytes.
pub fn decode(bytes: &[u8]) -> Result<SnapshotParts, KvError> {
    let decode_err = |source| KvError::Decode {
        what: "KV snapshot",
        source,
    };
    let (version, rest) = postcard::take_from_bytes::<u32>(bytes).map_err(decode_err)?;
    if version != SNAPSHOT_FORMAT_VERSION {
        return Err(KvError::SnapshotVersion {
            found: version,
            expected: SNAPSHOT_FORMAT_VERSION,
        });
    }
    let (body, rest) = postcard::take_from_bytes::<SnapshotBody>(rest).map_err(decode_err)?;
    if !rest.is_empty() {
        return Err(KvError::SnapshotInvalid(format!(
            "{} trailing bytes after the snapshot body",
            rest.len()
        )));
    }
    validate(body)
}

fn validate(body: SnapshotBody) -> Result<SnapshotParts, KvError> {
    let invalid = |msg: String| Err(KvError::SnapshotInvalid(msg));
    if let Some(w) = body.data.windows(2).find(|w| w[0].0 >= w[1].0) {
        return invalid(format!(
            "data keys must be strictly increasing, found {:?} then {:?}",
            w[0].0, w[1].0
        ));
    }
    if let Some(w) = body.sessions.windows(2).find(|w| w[0].0 >= w[1].0) {
        return invalid(format!(
            "session client ids must be strictly increasing, found {} then {}",
            w[0].0, w[1].0
        ));
    }
    for (client, s) in &body.sessions {
        if s.last_seq < FIRST_SEQ {
            return invalid(format!("session {client} has sequence 0"));
        }
        if s.last_active > body.applied_index {
            return invalid(format!(
                "session {client} was active at index {} after the applied index {}",
                s.last_active, body.applied_index
            ));
        }
    }
    let sessions: BTreeMap<u64, Session> = body.sessions.into_iter().collect();
    let mut seen = std::collections::BTreeSet::new();
    for client in &body.tombstones {
        if !seen.insert(*client) {
            return invalid(format!("client {client} is tombstoned twice"));
        }
        if sessions.contains_key(client) {
            return invalid(format!("client {client} is both live and tombstoned"));
        }
    }
    Ok(SnapshotParts {
        applied_index: body.applied_index,
        applied_digest: body.applied_digest,
        data: body.data.into_iter().collect(),
        sessions,
        tombstones: body.tombstones,
    })
}
