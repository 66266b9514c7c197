//! Snapshots: compaction, InstallSnapshot, restart from snapshot and tail.

use super::*;
use crate::core::*;

#[test]
fn snapshot_compacts_and_a_lagging_follower_gets_it() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(3);
    for i in 0..20u8 {
        pump.node(1).propose(vec![i]).unwrap();
        pump.run();
    }
    let applied = pump.node(1).status().applied;
    assert_eq!(applied, 21);
    pump.node(1)
        .snapshot_taken(15, b"state@15".to_vec())
        .unwrap();
    assert_eq!(pump.node(1).first_index(), 16);
    let rd = pump.node(1).ready();
    assert_eq!(rd.snapshot.as_ref().map(|s| s.index), Some(15));
    let tail: Vec<Index> = rd.entries.iter().map(|e| e.index).collect();
    assert_eq!(
        tail,
        [16, 17, 18, 19, 20, 21],
        "the snapshot comes with the whole log tail"
    );
    assert!(pump.node(1).snapshot_taken(30, vec![]).is_err());
    pump.isolated.clear();
    pump.delivered.clear();
    pump.tick_all(3);
    assert_eq!(pump.count("InstallSnapshot"), 1);
    assert_eq!(pump.node(3).status().commit, 21);
    assert_eq!(pump.node(3).first_index(), 16);
    // Node 3 applied the no-op before it was cut off, then the snapshot, then 16..=21.
    let applied3: Vec<Index> = pump.applied[&3].iter().map(|e| e.index).collect();
    assert_eq!(applied3, [1, 16, 17, 18, 19, 20, 21]);
}

#[test]
fn restart_from_snapshot_and_tail() {
    let snapshot = Snapshot {
        index: 10,
        term: 2,
        conf: ConfState::with_voters([1, 2, 3]),
        data: b"s".to_vec(),
    };
    let persisted = PersistedState {
        hard_state: HardState {
            term: 3,
            vote: Some(1),
            commit: 12,
        },
        snapshot: Some(snapshot),
        // The storage may still hold entries covered by the snapshot: they are skipped.
        entries: (9..=13)
            .map(|i| entry(i, if i <= 10 { 2 } else { 3 }))
            .collect(),
    };
    let mut node = Node::restart(config(1), ConfState::default(), persisted).unwrap();
    let status = node.status();
    assert_eq!(
        (
            status.term,
            status.commit,
            status.applied,
            status.last_index
        ),
        (3, 12, 10, 13)
    );
    assert_eq!(status.conf.voters, vec![1, 2, 3]);
    let rd = node.ready();
    assert!(rd.hard_state.is_none() && rd.entries.is_empty());
    let applied: Vec<Index> = rd.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(applied, vec![11, 12]);
}

#[test]
fn restart_rejects_a_gap_in_the_log() {
    let persisted = PersistedState {
        hard_state: HardState::default(),
        snapshot: None,
        entries: vec![entry(1, 1), entry(3, 1)],
    };
    let err = Node::restart(config(1), ConfState::with_voters([1]), persisted).err();
    assert!(matches!(err, Some(CoreError::InvalidPersistedState(_))));
}

#[test]
fn restart_rejects_an_absurd_snapshot_index() {
    let persisted = PersistedState {
        hard_state: HardState::default(),
        snapshot: Some(Snapshot {
            index: Index::MAX,
            term: 1,
            conf: ConfState::with_voters([1]),
            data: vec![],
        }),
        entries: vec![],
    };
    let err = Node::restart(config(1), ConfState::with_voters([1]), persisted).err();
    assert!(matches!(err, Some(CoreError::InvalidPersistedState(_))));
}

#[test]
fn restart_after_a_torn_batch_adopts_the_newest_term_in_the_log() {
    // Entries of term 3 reached the disk, the hard state of the same batch (term 3) did not.
    let persisted = PersistedState {
        hard_state: HardState {
            term: 2,
            vote: Some(2),
            commit: 1,
        },
        snapshot: None,
        entries: vec![entry(1, 1), entry(2, 3)],
    };
    let node = Node::restart(config(1), ConfState::with_voters([1, 2, 3]), persisted).unwrap();
    let status = node.status();
    assert_eq!((status.term, status.commit, status.last_index), (3, 1, 2));
    assert_eq!(
        node.hard_state().vote,
        None,
        "the vote of term 2 is not one of term 3"
    );
}

/// Node 3 holds entries 1..=5 of term 1 (a deposed leader's, never committed past 1); the leader
/// of term 3 sends a snapshot at index 4 of term 2. Returns node 3 after the InstallSnapshot.
fn install_over_a_conflicting_log(bugs: PlantedBugs) -> Node {
    let mut cfg = Config::new(3);
    cfg.bugs = bugs;
    let entries = (1..=5)
        .map(|index| Entry {
            term: 1,
            index,
            kind: EntryKind::Normal,
            data: vec![index as u8],
        })
        .collect();
    let persisted = PersistedState {
        hard_state: HardState {
            term: 1,
            vote: None,
            commit: 1,
        },
        snapshot: None,
        entries,
    };
    let mut node = Node::restart(cfg, ConfState::with_voters([1, 2, 3]), persisted).unwrap();
    let snapshot = Snapshot {
        index: 4,
        term: 2,
        conf: ConfState::with_voters([1, 2, 3]),
        data: b"state@4".to_vec(),
    };
    node.step(Message {
        from: 2,
        to: 3,
        term: 3,
        body: MessageBody::InstallSnapshot {
            meta: snapshot.meta(),
            offset: 0,
            data: snapshot.data,
            done: true,
        },
    })
    .unwrap();
    node
}

#[test]
fn a_snapshot_over_a_conflicting_log_replaces_the_whole_log() {
    crate::coverage::reset();
    let node = install_over_a_conflicting_log(PlantedBugs::default());
    let marks = crate::coverage::take();
    assert_eq!(
        marks.get(crate::coverage::Mark::SnapshotInstalledOverConflict),
        1
    );
    assert_eq!(node.first_index(), 5);
    assert_eq!(node.log_term(4), Some(2));
    assert_eq!(node.log_entry(5), None, "the conflicting suffix is gone");
    assert_eq!(node.status().commit, 4);
}

#[test]
fn planted_snapshot_keeps_suffix_keeps_and_commits_the_conflicting_log() {
    let bugs = PlantedBugs {
        snapshot_keeps_suffix: true,
        ..PlantedBugs::default()
    };
    let node = install_over_a_conflicting_log(bugs);
    assert_eq!(node.log_term(4), Some(1), "the old entry at 4 stays");
    assert!(node.log_entry(5).is_some(), "and so does the suffix");
    assert_eq!(
        node.status().commit,
        4,
        "committed as if it were the snapshot's"
    );
}
