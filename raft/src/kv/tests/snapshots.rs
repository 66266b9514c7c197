//! Snapshot and restore: round trips, determinism, and strict rejection of bad bytes.

use std::collections::BTreeMap;

use super::*;
use crate::kv::digest::CHECKPOINT_EVERY;
use crate::kv::session::Session;
use crate::kv::snapshot::{self, SNAPSHOT_FORMAT_VERSION};
use crate::kv::{Digest, KvError, OpResult, Reply};

fn busy_machine() -> KvStateMachine {
    let mut m = KvStateMachine::new(KvConfig {
        session_idle_entries: 5,
        max_sessions: 3,
        max_tombstones: 4,
        ..KvConfig::default()
    });
    for i in 1..=12u64 {
        let client = i % 5;
        let seq = m.sessions().get(client).map_or(1, |s| s.last_seq + 1);
        m.apply(i, &cmd(client, seq, append(&format!("k{}", i % 3), "v")));
    }
    m
}

#[test]
fn restore_gives_equal_state_and_identical_bytes() {
    let m = busy_machine();
    let bytes = m.snapshot();
    let restored = KvStateMachine::from_snapshot(m.config().clone(), &bytes).unwrap();
    assert_eq!(restored, m);
    assert_eq!(restored.snapshot(), bytes);
    assert!(!restored.sessions().tombstones().is_empty());
}

#[test]
fn restored_machine_keeps_deduplicating() {
    let mut m = machine();
    m.apply(1, &cmd(9, 1, append("k", "x")));
    let mut restored = KvStateMachine::from_snapshot(KvConfig::default(), &m.snapshot()).unwrap();
    assert_eq!(
        restored.apply(2, &cmd(9, 1, append("k", "x"))),
        Reply::Ok(OpResult::Written)
    );
    assert_eq!(restored.read("k").as_deref(), Some("x"));
}

#[test]
fn equal_states_built_differently_give_identical_bytes() {
    let mut a = machine();
    a.apply(1, &cmd(1, 1, put("x", "1")));
    a.apply(2, &cmd(2, 1, put("y", "2")));
    let mut b = machine();
    b.apply(1, &cmd(1, 1, put("x", "1")));
    b.apply(2, &cmd(2, 1, put("y", "2")));
    assert_eq!(a.snapshot(), b.snapshot());
    b.apply(3, &cmd(2, 1, put("y", "2"))); // duplicate: data same, session activity differs
    assert_ne!(a.snapshot(), b.snapshot());
}

#[test]
fn truncated_or_extended_snapshot_is_refused_and_state_kept() {
    let m = busy_machine();
    let bytes = m.snapshot();
    let mut target = machine();
    target.apply(1, &cmd(1, 1, put("keep", "me")));
    let before = target.clone();
    for cut in 0..bytes.len() {
        assert!(
            target.restore(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
    let mut longer = bytes.clone();
    longer.push(7);
    assert!(matches!(
        target.restore(&longer),
        Err(KvError::SnapshotInvalid(_))
    ));
    assert_eq!(target, before);
}

#[test]
fn unknown_version_is_refused_with_both_versions_named() {
    let mut bytes = busy_machine().snapshot();
    bytes[0] = 99;
    let err = machine().restore(&bytes).unwrap_err();
    assert!(matches!(
        err,
        KvError::SnapshotVersion { found: 99, expected } if expected == SNAPSHOT_FORMAT_VERSION
    ));
}

fn raw_snapshot(
    applied: u64,
    data: Vec<(String, String)>,
    sessions: Vec<(u64, Session)>,
    tombstones: Vec<u64>,
) -> Vec<u8> {
    let digest: Option<Digest> = Some(Digest(7));
    postcard::to_allocvec(&(
        SNAPSHOT_FORMAT_VERSION,
        applied,
        digest,
        data,
        sessions,
        tombstones,
    ))
    .unwrap()
}

fn session(last_seq: u64, last_active: u64) -> Session {
    Session {
        last_seq,
        last_result: OpResult::Written,
        last_active,
    }
}

#[test]
fn raw_snapshot_layout_matches_encoder() {
    let mut data = BTreeMap::new();
    data.insert("a".to_string(), "1".to_string());
    let mut sessions = BTreeMap::new();
    sessions.insert(4u64, session(1, 3));
    let ours = snapshot::encode(3, Some(Digest(7)), &data, &sessions, &vec![7u64].into());
    let raw = raw_snapshot(
        3,
        vec![("a".into(), "1".into())],
        vec![(4, session(1, 3))],
        vec![7],
    );
    assert_eq!(ours, raw);
}

#[test]
fn invariant_violations_are_refused() {
    let kv = |k: &str| (k.to_string(), String::new());
    let cases = vec![
        (
            "unsorted keys",
            raw_snapshot(5, vec![kv("b"), kv("a")], vec![], vec![]),
        ),
        (
            "duplicate keys",
            raw_snapshot(5, vec![kv("a"), kv("a")], vec![], vec![]),
        ),
        (
            "unsorted sessions",
            raw_snapshot(
                5,
                vec![],
                vec![(2, session(1, 1)), (1, session(1, 1))],
                vec![],
            ),
        ),
        (
            "seq zero",
            raw_snapshot(5, vec![], vec![(1, session(0, 1))], vec![]),
        ),
        (
            "future activity",
            raw_snapshot(5, vec![], vec![(1, session(1, 6))], vec![]),
        ),
        (
            "live tombstone",
            raw_snapshot(5, vec![], vec![(1, session(1, 1))], vec![1]),
        ),
        (
            "double tombstone",
            raw_snapshot(5, vec![], vec![], vec![3, 3]),
        ),
    ];
    for (name, bytes) in cases {
        match machine().restore(&bytes) {
            Err(KvError::SnapshotInvalid(msg)) => assert!(!msg.is_empty(), "{name}"),
            other => panic!("{name}: expected SnapshotInvalid, got {other:?}"),
        }
    }
}

#[test]
fn restoring_sessions_passes_its_mark_and_planted_snapshot_drops_sessions_loses_them() {
    let m = busy_machine();
    crate::coverage::reset();
    KvStateMachine::from_snapshot(m.config().clone(), &m.snapshot()).unwrap();
    let marks = crate::coverage::take();
    assert_eq!(marks.get(crate::coverage::Mark::SessionsRestored), 1);

    let mut config = m.config().clone();
    assert!(config.bugs.enable("snapshot-drops-sessions"));
    let mut buggy = KvStateMachine::new(config.clone());
    buggy.apply(1, &cmd(9, 1, append("k", "x")));
    let mut restored = KvStateMachine::from_snapshot(config, &buggy.snapshot()).unwrap();
    assert!(restored.sessions().is_empty(), "the sessions were left out");
    assert_eq!(restored.data(), buggy.data(), "the data was not");
    // The retried write is applied a second time.
    restored.apply(2, &cmd(9, 1, append("k", "x")));
    assert_eq!(restored.read("k").as_deref(), Some("xx"));
}

#[test]
fn the_applied_digest_travels_in_the_snapshot_and_continues_there() {
    let mut source = busy_machine();
    let mut restored = machine();
    restored.restore(&source.snapshot()).unwrap();
    assert_eq!(restored.applied_digest(), source.applied_digest());
    let next = source.applied_index() + 1;
    source.apply_entry(next, &[]).unwrap();
    restored.apply_entry(next, &[]).unwrap();
    assert_eq!(restored.applied_digest(), source.applied_digest());
    assert_ne!(restored.applied_digest(), busy_machine().applied_digest());
}

#[test]
fn machines_that_applied_different_entries_differ_in_digest_at_the_checkpoint() {
    let mut a = machine();
    let mut b = machine();
    for index in 1..=CHECKPOINT_EVERY {
        a.apply_entry(index, &[]).unwrap();
        if index == 3 {
            b.mark_applied(index).unwrap();
        } else {
            b.apply_entry(index, &[]).unwrap();
        }
    }
    let (at_a, digest_a) = a.last_checkpoint().unwrap();
    let (at_b, digest_b) = b.last_checkpoint().unwrap();
    assert_eq!((at_a, at_b), (CHECKPOINT_EVERY, CHECKPOINT_EVERY));
    assert_ne!(digest_a, digest_b);
    assert_eq!(Some(digest_a), a.applied_digest());
}

#[test]
fn a_version_1_snapshot_without_digest_is_refused_by_name() {
    let v1 = postcard::to_allocvec(&(
        1u32,
        3u64,
        Vec::<(String, String)>::new(),
        Vec::<(u64, Session)>::new(),
        Vec::<u64>::new(),
    ))
    .unwrap();
    let err = machine().restore(&v1).unwrap_err();
    assert!(
        matches!(
            err,
            KvError::SnapshotVersion {
                found: 1,
                expected: 2
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("version 1"), "{err}");
}
