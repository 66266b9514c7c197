//! Exactly-once sessions: duplicates, stale and out-of-session sequences, idle expiry, LRU
//! eviction, tombstones, and the planted `no-dedup` bug.

use super::*;
use crate::kv::{KvPlantedBugs, OpResult, Reply, FIRST_SEQ};

fn config(idle: u64, max_sessions: usize, max_tombstones: usize) -> KvConfig {
    KvConfig {
        session_idle_entries: idle,
        max_sessions,
        max_tombstones,
        bugs: KvPlantedBugs::default(),
    }
}

#[test]
fn duplicate_returns_cached_reply_without_applying() {
    let mut m = machine();
    let first = m.apply(1, &cmd(9, FIRST_SEQ, append("k", "x")));
    let retry = m.apply(2, &cmd(9, FIRST_SEQ, append("k", "x")));
    assert_eq!(first, retry);
    assert_eq!(m.read("k").as_deref(), Some("x"));
}

#[test]
fn duplicate_of_cas_returns_original_result_not_a_mismatch() {
    let mut m = machine();
    let cas = Op::Cas {
        key: "r".into(),
        expected: None,
        new: "1".into(),
    };
    assert_eq!(
        m.apply(1, &cmd(9, 1, cas.clone())),
        Reply::Ok(OpResult::CasOk)
    );
    assert_eq!(m.apply(2, &cmd(9, 1, cas)), Reply::Ok(OpResult::CasOk));
}

#[test]
fn older_sequence_is_stale_and_not_applied() {
    let mut m = machine();
    m.apply(1, &cmd(9, 1, append("k", "a")));
    m.apply(2, &cmd(9, 2, append("k", "b")));
    assert_eq!(
        m.apply(3, &cmd(9, 1, append("k", "a"))),
        Reply::StaleSequence
    );
    assert_eq!(m.read("k").as_deref(), Some("ab"));
}

#[test]
fn unknown_client_must_start_at_first_seq() {
    let mut m = machine();
    assert_eq!(m.apply(1, &cmd(9, 2, put("k", "v"))), Reply::SessionExpired);
    assert_eq!(m.apply(2, &cmd(9, 0, put("k", "v"))), Reply::SessionExpired);
    assert_eq!(m.read("k"), None);
    assert!(m.sessions().is_empty());
}

#[test]
fn sequence_gap_is_applied_and_skipped_numbers_become_stale() {
    let mut m = machine();
    m.apply(1, &cmd(9, 1, append("k", "a")));
    assert_eq!(
        m.apply(2, &cmd(9, 5, append("k", "e"))),
        Reply::Ok(OpResult::Written)
    );
    assert_eq!(
        m.apply(3, &cmd(9, 3, append("k", "c"))),
        Reply::StaleSequence
    );
    assert_eq!(m.read("k").as_deref(), Some("ae"));
}

#[test]
fn idle_session_expires_after_the_configured_number_of_entries() {
    let mut m = KvStateMachine::new(config(3, 100, 100));
    m.apply(1, &cmd(9, 1, append("k", "a")));
    m.mark_applied(4).unwrap(); // idle for 3 entries: still alive
    assert!(m.sessions().get(9).is_some());
    assert_eq!(
        m.apply(4 + 1, &cmd(9, 1, append("k", "a"))),
        Reply::SessionExpired
    );
    assert!(m.sessions().get(9).is_none());
    assert_eq!(
        m.apply(6, &cmd(9, 2, append("k", "b"))),
        Reply::SessionExpired
    );
    assert_eq!(m.read("k").as_deref(), Some("a"));
}

#[test]
fn activity_keeps_a_session_alive() {
    let mut m = KvStateMachine::new(config(3, 100, 100));
    for i in 1..=20u64 {
        assert_eq!(
            m.apply(i * 2, &cmd(9, i, append("k", "."))),
            Reply::Ok(OpResult::Written)
        );
    }
    assert_eq!(m.read("k").map(|v| v.len()), Some(20));
}

#[test]
fn expired_client_cannot_reopen_with_first_seq() {
    let mut m = KvStateMachine::new(config(1, 100, 100));
    m.apply(1, &cmd(9, 1, append("k", "a")));
    m.mark_applied(10).unwrap();
    // A late retry of the first request must not apply it again.
    assert_eq!(
        m.apply(11, &cmd(9, 1, append("k", "a"))),
        Reply::SessionExpired
    );
    assert_eq!(m.read("k").as_deref(), Some("a"));
    assert!(m.sessions().is_tombstoned(9));
}

#[test]
fn full_table_evicts_least_recently_active() {
    let mut m = KvStateMachine::new(config(1_000, 2, 100));
    m.apply(1, &cmd(1, 1, put("a", "1")));
    m.apply(2, &cmd(2, 1, put("b", "1")));
    m.apply(3, &cmd(1, 1, put("a", "1"))); // duplicate: touches client 1
    m.apply(4, &cmd(3, 1, put("c", "1"))); // evicts client 2, the least recently active
    assert_eq!(m.sessions().len(), 2);
    assert!(m.sessions().get(2).is_none());
    assert!(m.sessions().is_tombstoned(2));
    assert_eq!(m.apply(5, &cmd(2, 2, put("b", "2"))), Reply::SessionExpired);
    assert_eq!(
        m.apply(6, &cmd(1, 2, put("a", "2"))),
        Reply::Ok(OpResult::Written)
    );
}

#[test]
fn tombstones_are_bounded_oldest_forgotten_first() {
    let mut m = KvStateMachine::new(config(1_000, 1, 2));
    for client in 1..=4u64 {
        m.apply(client, &cmd(client, 1, put("k", "v")));
    }
    // Clients 1, 2 and 3 were evicted in that order; only the last two are remembered.
    let remembered: Vec<u64> = m.sessions().tombstones().iter().copied().collect();
    assert_eq!(remembered, vec![2, 3]);
    assert!(!m.sessions().is_tombstoned(1));
}

#[test]
fn no_dedup_bug_applies_a_retry_twice() {
    let mut cfg = KvConfig::default();
    cfg.bugs.no_dedup = true;
    let mut m = KvStateMachine::new(cfg);
    m.apply(1, &cmd(9, 1, append("k", "x")));
    m.apply(2, &cmd(9, 1, append("k", "x")));
    assert_eq!(m.read("k").as_deref(), Some("xx"));
}

#[test]
fn repeated_index_is_still_deduplicated() {
    let mut m = machine();
    m.apply(1, &cmd(9, 1, append("k", "x")));
    m.apply(1, &cmd(9, 1, append("k", "x")));
    assert_eq!(m.read("k").as_deref(), Some("x"));
    assert_eq!(m.applied_index(), 1);
}
