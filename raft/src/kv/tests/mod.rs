//! Tests of `raft::kv`: operations, sessions (exactly-once, expiry, eviction), snapshots,
//! protocol encoding, and property tests over random command logs.

mod ops;
mod properties;
mod protocol;
mod sessions;
mod snapshots;

use super::{Command, KvConfig, KvStateMachine, Op};

/// A command from `client` with `seq`.
pub(super) fn cmd(client: u64, seq: u64, op: Op) -> Command {
    Command {
        client_id: client,
        seq,
        op,
    }
}

pub(super) fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
    }
}

pub(super) fn append(key: &str, value: &str) -> Op {
    Op::Append {
        key: key.into(),
        value: value.into(),
    }
}

pub(super) fn get(key: &str) -> Op {
    Op::Get { key: key.into() }
}

pub(super) fn machine() -> KvStateMachine {
    KvStateMachine::new(KvConfig::default())
}
