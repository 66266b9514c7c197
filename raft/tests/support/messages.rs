//! Message statistics for the economy tests: counts by kind, entry payload bytes carried by
//! AppendEntries, and how many appends were rejected.

use std::collections::BTreeMap;

use raft::core::{Message, MessageBody};

/// Number of messages of each kind.
pub fn count_by_kind(msgs: &[Message]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for m in msgs {
        *counts.entry(m.body.kind_name()).or_insert(0) += 1;
    }
    counts
}

/// Bytes of entry data carried by AppendEntries messages.
pub fn append_payload_bytes(msgs: &[Message]) -> usize {
    msgs.iter()
        .map(|m| match &m.body {
            MessageBody::AppendEntries { entries, .. } => {
                entries.iter().map(|e| e.data.len()).sum::<usize>()
            }
            _ => 0,
        })
        .sum()
}

/// AppendEntries responses that rejected the append.
pub fn rejected_appends(msgs: &[Message]) -> usize {
    msgs.iter()
        .filter(|m| {
            matches!(
                m.body,
                MessageBody::AppendEntriesResponse { success: false, .. }
            )
        })
        .count()
}
