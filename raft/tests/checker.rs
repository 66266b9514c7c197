//! The invariant checker itself: each invariant, fed a hand-made violation, must report it
//! (and accept the matching legal history). Complements teeth.rs, which plants bugs in the core.

mod support;

use raft::core::{ConfState, Entry, EntryKind, HardState, Role, Status};
use support::app::App;
use support::disk::Disk;
use support::invariants::Invariants;

fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    Entry {
        term,
        index,
        kind: EntryKind::Normal,
        data: data.to_vec(),
    }
}

fn status(id: u64, role: Role, term: u64, commit: u64) -> Status {
    Status {
        id,
        role,
        term,
        leader: None,
        commit,
        applied: 0,
        last_index: commit,
        conf: ConfState::with_voters([1, 2, 3]),
    }
}

fn disk(entries: &[Entry], term: u64, commit: u64) -> Disk {
    let mut d = Disk::default();
    d.append(entries.to_vec()).unwrap();
    d.hard_state = HardState {
        term,
        vote: None,
        commit,
    };
    d
}

#[test]
fn two_leaders_in_one_term_are_reported() {
    let mut inv = Invariants::default();
    let d = Disk::default();
    let app = App::default();
    inv.check_node(&status(1, Role::Leader, 3, 0), &app, &d)
        .unwrap();
    inv.check_node(&status(2, Role::Leader, 4, 0), &app, &d)
        .unwrap();
    let err = inv
        .check_node(&status(3, Role::Leader, 3, 0), &app, &d)
        .unwrap_err();
    assert!(err.contains("election safety"), "{err}");
}

#[test]
fn same_index_and_term_with_different_entries_is_reported() {
    let mut inv = Invariants::default();
    let a = disk(&[entry(1, 1, b"x"), entry(2, 2, b"y")], 2, 0);
    inv.on_persist(1, &a, 1, 2, &[]).unwrap();
    // Same (2, 2) but a different predecessor term.
    let b = disk(&[entry(1, 2, b"x"), entry(2, 2, b"y")], 2, 0);
    let err = inv.on_persist(2, &b, 1, 2, &[]).unwrap_err();
    assert!(err.contains("log matching"), "{err}");
    // Same (index, term), different data.
    let c = disk(&[entry(1, 1, b"x"), entry(2, 2, b"z")], 2, 0);
    let err = inv.on_persist(3, &c, 1, 2, &[]).unwrap_err();
    assert!(err.contains("log matching"), "{err}");
}

#[test]
fn overwriting_a_committed_entry_is_reported() {
    let mut inv = Invariants::default();
    let a = disk(&[entry(1, 1, b"x")], 1, 1);
    inv.on_persist(1, &a, 1, 1, &[]).unwrap();
    let b = disk(&[entry(1, 2, b"w")], 2, 0);
    let err = inv.on_persist(2, &b, 1, 1, &[(1, 1)]).unwrap_err();
    assert!(err.contains("committed entry lost"), "{err}");
}

#[test]
fn a_leader_missing_a_committed_entry_is_reported() {
    let mut inv = Invariants::default();
    let a = disk(&[entry(1, 1, b"x")], 1, 1);
    inv.on_persist(1, &a, 1, 1, &[]).unwrap();
    let empty = Disk::default();
    let err = inv
        .check_node(&status(2, Role::Leader, 2, 0), &App::default(), &empty)
        .unwrap_err();
    assert!(err.contains("leader completeness"), "{err}");
}

#[test]
fn diverging_applied_sequences_are_reported() {
    let mut inv = Invariants::default();
    let mut one = App::default();
    one.apply(&entry(1, 1, b"x")).unwrap();
    inv.on_apply(1, &entry(1, 1, b"x"), &one, 1).unwrap();
    let mut two = App::default();
    two.apply(&entry(1, 1, b"y")).unwrap();
    let err = inv.on_apply(2, &entry(1, 1, b"y"), &two, 1).unwrap_err();
    assert!(err.contains("state machine safety"), "{err}");
    // Applying out of order is refused by the app itself.
    assert!(App::default().apply(&entry(2, 1, b"x")).is_err());
}

#[test]
fn commit_going_back_is_reported() {
    let mut inv = Invariants::default();
    let d = disk(&[entry(1, 1, b"x"), entry(2, 1, b"y")], 1, 2);
    inv.check_node(&status(1, Role::Follower, 1, 2), &App::default(), &d)
        .unwrap();
    let err = inv
        .check_node(&status(1, Role::Follower, 1, 1), &App::default(), &d)
        .unwrap_err();
    assert!(err.contains("commit went back"), "{err}");
}

#[test]
fn a_committed_entry_on_too_few_disks_is_reported() {
    let mut inv = Invariants::default();
    let a = disk(&[entry(1, 1, b"x")], 1, 1);
    inv.on_persist(1, &a, 1, 1, &[]).unwrap();
    let empty = Disk::default();
    inv.check_durability([&a, &a, &empty].into_iter(), 2)
        .unwrap();
    let err = inv
        .check_durability([&a, &empty, &empty].into_iter(), 2)
        .unwrap_err();
    assert!(err.contains("committed entry lost"), "{err}");
}
