//! The Raft check on hand-made event sets: each kind of violation is reported by name, and a
//! healthy set (restarts included) passes.

use raft::events::{EventRecord, NodeEvent, RoleName, TruncationCause};
use raft::kv::Digest;

use super::check::StreamChecker;

fn at(time_ns: u64, node: u64, event: NodeEvent) -> EventRecord {
    EventRecord {
        time_ns,
        node,
        event,
    }
}

fn started(time_ns: u64, node: u64, commit: u64) -> EventRecord {
    at(
        time_ns,
        node,
        NodeEvent::Started {
            term: 1,
            vote: None,
            commit,
            applied: 0,
            applied_digest: None,
            snapshot_index: 0,
            snapshot_term: 0,
            last_index: commit,
            voters: vec![1, 2, 3],
            learners: vec![],
        },
    )
}

fn role(time_ns: u64, node: u64, role: RoleName, term: u64, leader: Option<u64>) -> EventRecord {
    at(time_ns, node, NodeEvent::Role { role, term, leader })
}

fn commit(time_ns: u64, node: u64, from: u64, to: u64) -> EventRecord {
    at(time_ns, node, NodeEvent::Commit { commit: to, from })
}

fn applied(time_ns: u64, node: u64, index: u64, digest: u64) -> EventRecord {
    at(
        time_ns,
        node,
        NodeEvent::Applied {
            index,
            digest: Digest(digest),
        },
    )
}

fn truncated(time_ns: u64, node: u64, term: u64, from: u64, acked: u64) -> EventRecord {
    at(
        time_ns,
        node,
        NodeEvent::LogTruncated {
            cause: TruncationCause::Entries,
            term,
            from_index: from,
            last_index: from + 3,
            acked_index: acked,
        },
    )
}

fn healthy() -> Vec<EventRecord> {
    vec![
        started(1, 1, 0),
        started(1, 2, 0),
        started(1, 3, 0),
        role(2, 1, RoleName::Leader, 2, Some(1)),
        role(3, 2, RoleName::Follower, 2, Some(1)),
        commit(4, 1, 0, 70),
        commit(5, 2, 0, 70),
        applied(6, 1, 64, 0xabc),
        applied(7, 2, 64, 0xabc),
        // A truncation of entries never acknowledged in this term is fine.
        truncated(8, 3, 2, 10, 9),
        // Node 2 restarts with a lower commit (what it persisted): a new lifetime.
        started(9, 2, 40),
        commit(10, 2, 40, 71),
        role(11, 2, RoleName::Leader, 3, Some(2)),
    ]
}

fn names(records: &[EventRecord]) -> Vec<String> {
    let (violations, count) = StreamChecker::new(Some(0)).run(records);
    assert_eq!(count, violations.len());
    violations.into_iter().map(|v| v.name).collect()
}

#[test]
fn a_healthy_cluster_with_restarts_passes() {
    assert_eq!(names(&healthy()), Vec::<String>::new());
}

#[test]
fn two_leaders_in_one_term_are_named() {
    let mut records = healthy();
    records.push(role(12, 3, RoleName::Leader, 2, Some(3)));
    assert_eq!(names(&records), vec!["two-leaders"]);
}

#[test]
fn different_digests_at_one_applied_index_are_named() {
    let mut records = healthy();
    records.push(commit(12, 3, 0, 70));
    records.push(applied(13, 3, 64, 0xdef));
    assert_eq!(names(&records), vec!["state-machine-safety"]);
}

#[test]
fn truncating_an_acknowledged_entry_of_the_same_term_is_named() {
    let mut records = healthy();
    records.push(truncated(12, 3, 2, 10, 10));
    let (violations, _) = StreamChecker::new(Some(2)).run(&records);
    assert_eq!(violations.len(), 1);
    let v = &violations[0];
    assert_eq!(
        (v.name.as_str(), v.node, v.time_ns),
        ("acked-entry-truncated", 3, 12)
    );
    assert_eq!(v.time_s, Some(10e-9));
    assert!(v.detail.contains("acknowledging index 10"), "{}", v.detail);
}

#[test]
fn a_commit_going_back_within_one_lifetime_is_named() {
    let mut records = healthy();
    records.push(commit(12, 1, 70, 65));
    assert_eq!(names(&records), vec!["commit-regressed"]);
}

#[test]
fn a_leader_outside_its_own_configuration_is_named() {
    let mut records = healthy();
    records.push(at(
        12,
        3,
        NodeEvent::Membership {
            voters: vec![1, 2],
            learners: vec![3],
        },
    ));
    records.push(role(13, 3, RoleName::Leader, 9, Some(3)));
    assert_eq!(names(&records), vec!["non-voter-leader"]);
}

#[test]
fn applying_past_the_commit_index_is_named() {
    let mut records = healthy();
    records.push(applied(12, 1, 128, 0x123));
    assert_eq!(names(&records), vec!["applied-beyond-commit"]);
}
