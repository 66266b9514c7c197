//! One violating sequence per invariant (each must fail with its name), and agreeing
//! sequences that must pass.

use super::*;
use crate::core::{EntryKind, HardState};

fn entry(index: Index, term: Term, byte: u8) -> Entry {
    Entry {
        term,
        index,
        kind: EntryKind::Normal,
        data: vec![byte],
    }
}

fn conf_entry(index: Index, term: Term, change: ConfChange) -> Entry {
    Entry {
        term,
        index,
        kind: EntryKind::ConfChange,
        data: postcard::to_allocvec(&change).unwrap(),
    }
}

fn genesis() -> ConfState {
    ConfState::with_voters([1, 2, 3])
}

fn status(id: NodeId, role: Role, term: Term, commit: Index) -> Status {
    Status {
        id,
        role,
        term,
        leader: None,
        commit,
        applied: 0,
        last_index: commit,
        conf: genesis(),
    }
}

fn name(result: Check) -> &'static str {
    result
        .expect_err("the sequence must violate an invariant")
        .name
}

/// Every node of `ids` persisted `entries` durably.
fn persist_all(c: &mut Checker, ids: &[NodeId], entries: &[Entry]) {
    for &id in ids {
        c.on_persist(id, None, entries).unwrap();
        let last = entries.last().map_or(0, |e| e.index);
        c.on_durable(id, last);
    }
}

#[test]
fn an_agreeing_run_passes() {
    let mut c = Checker::new(genesis());
    let log = [entry(1, 1, 1), entry(2, 1, 2), entry(3, 2, 3)];
    persist_all(&mut c, &[1, 2, 3], &log);
    c.check(&status(1, Role::Leader, 2, 3)).unwrap();
    for id in [2, 3] {
        c.check(&status(id, Role::Follower, 2, 3)).unwrap();
    }
    for e in &log {
        c.on_apply(2, e, 2).unwrap();
    }
    c.on_applied_digest(2, 3, 77).unwrap();
    c.on_applied_digest(3, 3, 77).unwrap();
    c.check_durability(&[1, 2, 3]).unwrap();
    assert_eq!(c.max_committed(), 3);
}

#[test]
fn two_leaders_in_one_term() {
    let mut c = Checker::new(genesis());
    c.check(&status(1, Role::Leader, 3, 0)).unwrap();
    c.check(&status(2, Role::Leader, 4, 0)).unwrap();
    assert_eq!(name(c.check(&status(2, Role::Leader, 3, 0))), "two-leaders");
}

#[test]
fn log_matching_same_index_and_term_different_entry() {
    let mut c = Checker::new(genesis());
    c.on_persist(1, None, &[entry(1, 1, 1)]).unwrap();
    assert_eq!(
        name(c.on_persist(2, None, &[entry(1, 1, 9)])),
        "log-matching"
    );
}

#[test]
fn log_matching_same_entry_after_different_predecessor_terms() {
    let mut c = Checker::new(genesis());
    c.on_persist(1, None, &[entry(1, 1, 1), entry(2, 3, 2)])
        .unwrap();
    assert_eq!(
        name(c.on_persist(2, None, &[entry(1, 2, 1), entry(2, 3, 2)])),
        "log-matching"
    );
}

#[test]
fn log_matching_decreasing_terms() {
    let mut c = Checker::new(genesis());
    assert_eq!(
        name(c.on_persist(1, None, &[entry(1, 2, 1), entry(2, 1, 2)])),
        "log-matching"
    );
}

#[test]
fn leader_completeness_a_leader_without_a_committed_entry() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2], &[entry(1, 1, 1), entry(2, 1, 2)]);
    c.on_persist(3, None, &[entry(1, 1, 1)]).unwrap();
    c.check(&status(1, Role::Leader, 1, 2)).unwrap();
    // Node 3 lacks entry 2, committed in term 1, yet leads term 2.
    assert_eq!(
        name(c.check(&status(3, Role::Leader, 2, 1))),
        "leader-completeness"
    );
}

#[test]
fn committed_mismatch_two_entries_committed_at_one_index() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2], &[entry(1, 1, 1)]);
    c.on_persist(3, None, &[entry(1, 2, 5)]).unwrap();
    c.check(&status(1, Role::Follower, 2, 1)).unwrap();
    assert_eq!(
        name(c.check(&status(3, Role::Follower, 2, 1))),
        "committed-mismatch"
    );
}

#[test]
fn state_machine_safety_an_applied_entry_that_is_not_the_committed_one() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2, 3], &[entry(1, 1, 1)]);
    c.check(&status(1, Role::Follower, 1, 1)).unwrap();
    assert_eq!(
        name(c.on_apply(2, &entry(1, 1, 7), 1)),
        "state-machine-safety"
    );
}

#[test]
fn state_machine_safety_different_applied_digests() {
    let mut c = Checker::new(genesis());
    c.on_applied_digest(1, 4, 10).unwrap();
    c.on_applied_digest(2, 4, 10).unwrap();
    assert_eq!(name(c.on_applied_digest(3, 4, 11)), "state-machine-safety");
}

#[test]
fn commit_regressed_within_a_run() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2, 3], &[entry(1, 1, 1), entry(2, 1, 2)]);
    c.check(&status(1, Role::Follower, 1, 2)).unwrap();
    assert_eq!(
        name(c.check(&status(1, Role::Follower, 1, 1))),
        "commit-regressed"
    );
}

#[test]
fn commit_regressed_across_a_crash() {
    let persisted = PersistedState {
        hard_state: HardState {
            term: 1,
            vote: None,
            commit: 2,
        },
        snapshot: None,
        entries: vec![entry(1, 1, 1), entry(2, 1, 2)],
    };
    // Below what it persisted: always a violation.
    let mut c = Checker::new(genesis());
    c.on_crash(1);
    assert_eq!(
        name(c.on_restart(1, &persisted, &status(1, Role::Follower, 1, 1))),
        "commit-regressed"
    );
    // Below what it reported before the crash: a violation where commit survives crashes.
    let strict = CheckerOptions {
        commit_survives_crash: true,
    };
    let mut c = Checker::with_options(genesis(), strict);
    persist_all(&mut c, &[1, 2, 3], &persisted.entries);
    persist_all(&mut c, &[1, 2, 3], &[entry(3, 1, 3)]);
    c.check(&status(1, Role::Follower, 1, 3)).unwrap();
    c.on_crash(1);
    let mut longer = persisted.clone();
    longer.entries.push(entry(3, 1, 3));
    c.on_restart(1, &longer, &status(1, Role::Follower, 1, 2))
        .unwrap();
    assert_eq!(
        name(c.check(&status(1, Role::Follower, 1, 2))),
        "commit-regressed"
    );
}

#[test]
fn applied_regressed_and_applied_beyond_commit() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2, 3], &[entry(1, 1, 1), entry(2, 1, 2)]);
    let mut s = status(1, Role::Follower, 1, 2);
    s.applied = 2;
    c.check(&s).unwrap();
    s.applied = 1;
    assert_eq!(name(c.check(&s)), "applied-regressed");
    let mut c = Checker::new(genesis());
    let mut s = status(1, Role::Follower, 1, 1);
    s.applied = 2;
    assert_eq!(name(c.check(&s)), "applied-beyond-commit");
}

#[test]
fn committed_entry_lost_overwritten_on_a_disk() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2, 3], &[entry(1, 1, 1), entry(2, 1, 2)]);
    c.check(&status(1, Role::Follower, 1, 2)).unwrap();
    assert_eq!(
        name(c.on_persist(1, None, &[entry(2, 2, 8)])),
        "committed-entry-lost"
    );
}

#[test]
fn committed_entry_lost_held_by_too_few_voters() {
    let mut c = Checker::new(genesis());
    let log = [entry(1, 1, 1)];
    c.on_persist(1, None, &log).unwrap();
    c.on_durable(1, 1);
    c.on_persist(2, None, &log).unwrap();
    c.check(&status(1, Role::Leader, 1, 1)).unwrap();
    // Node 2 wrote it but never made it durable: one durable copy, two needed of three voters.
    assert_eq!(name(c.check_durability(&[1, 2, 3])), "committed-entry-lost");
    c.on_durable(2, 1);
    c.check_durability(&[1, 2, 3]).unwrap();
}

#[test]
fn committed_entry_lost_in_a_crash() {
    let mut c = Checker::new(genesis());
    persist_all(&mut c, &[1, 2, 3], &[entry(1, 1, 1)]);
    c.check(&status(1, Role::Follower, 1, 1)).unwrap();
    c.on_crash(1);
    let empty = PersistedState::default();
    assert_eq!(
        name(c.on_restart(1, &empty, &status(1, Role::Follower, 0, 0))),
        "committed-entry-lost"
    );
}

#[test]
fn a_snapshot_covering_committed_entries_loses_nothing() {
    let mut c = Checker::new(genesis());
    let log = [entry(1, 1, 1), entry(2, 1, 2)];
    persist_all(&mut c, &[1, 2, 3], &log);
    c.check(&status(1, Role::Leader, 1, 2)).unwrap();
    let snap = SnapshotWrite {
        index: 2,
        term: 1,
        replaces_log: false,
    };
    c.on_persist(2, Some(snap), &[]).unwrap();
    c.on_persist(
        3,
        Some(SnapshotWrite {
            replaces_log: true,
            ..snap
        }),
        &[],
    )
    .unwrap();
    c.check_durability(&[1, 2, 3]).unwrap();
}

#[test]
fn non_voter_leader() {
    let mut c = Checker::new(genesis());
    let mut s = status(4, Role::Leader, 3, 0);
    s.conf.learners.push(4);
    assert_eq!(name(c.check(&s)), "non-voter-leader");
}

#[test]
fn removed_node_elected() {
    let mut c = Checker::new(genesis());
    let log = [entry(1, 1, 1), conf_entry(2, 1, ConfChange::Remove(3))];
    persist_all(&mut c, &[1, 2, 3], &log);
    c.check(&status(1, Role::Leader, 1, 2)).unwrap();
    assert_eq!(c.take_fresh_removals(), vec![3]);
    assert!(c.is_removed(3));
    assert_eq!(c.committed_conf().voters, vec![1, 2]);
    let mut s = status(3, Role::Leader, 2, 2);
    s.conf = genesis();
    assert_eq!(name(c.check(&s)), "removed-node-elected");
}

#[test]
fn conf_changes_in_flight() {
    let mut c = Checker::new(genesis());
    c.on_persist(
        1,
        None,
        &[
            entry(1, 1, 1),
            conf_entry(2, 1, ConfChange::AddLearner(4)),
            conf_entry(3, 1, ConfChange::Promote(4)),
        ],
    )
    .unwrap();
    assert_eq!(
        name(c.check(&status(1, Role::Leader, 1, 1))),
        "conf-changes-in-flight"
    );
}

#[test]
fn commit_without_quorum_counting_a_learner() {
    let mut c = Checker::new(genesis());
    let full = [
        entry(1, 1, 1),
        conf_entry(2, 1, ConfChange::AddLearner(4)),
        entry(3, 1, 3),
    ];
    c.on_persist(1, None, &full).unwrap();
    c.on_persist(4, None, &full).unwrap();
    for id in [2, 3] {
        c.on_persist(id, None, &full[..2]).unwrap();
    }
    c.check(&status(1, Role::Leader, 1, 2)).unwrap();
    assert_eq!(
        name(c.check(&status(1, Role::Leader, 1, 3))),
        "commit-without-quorum"
    );
}
