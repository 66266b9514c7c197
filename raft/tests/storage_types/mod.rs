//! The entry and snapshot types the storage property tests store through `RaftDisk`: an entry
//! with an index, a term and bytes, and a snapshot that is only its position. Included with
//! `mod storage_types;`.

use raft::storage::{LogEntry, SnapshotMeta};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub index: u64,
    pub term: u64,
    pub data: Vec<u8>,
}

impl LogEntry for Entry {
    fn index(&self) -> u64 {
        self.index
    }
    fn term(&self) -> u64 {
        self.term
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snap {
    pub index: u64,
    pub term: u64,
}

impl SnapshotMeta for Snap {
    fn index(&self) -> u64 {
        self.index
    }
    fn term(&self) -> u64 {
        self.term
    }
}
