//! Durability before commit: a node counts its own copy of an entry toward commit only once the
//! application acknowledged it durable (`on_persisted`); stale acknowledgements (for writes
//! rewritten since) count only below the rewrite; a restart starts with everything durable.

use super::*;
use crate::core::*;

fn lone_voter_leader() -> Node {
    let mut node = Node::bootstrap(config(1), ConfState::with_voters([1])).unwrap();
    node.campaign();
    assert_eq!(node.role(), Role::Leader);
    node
}

#[test]
fn a_lone_voter_commits_only_what_it_acknowledged_as_durable() {
    let mut node = lone_voter_leader();
    let noop = node.ready();
    let noop_mark = noop.ack_when_durable.expect("the no-op is to be persisted");
    assert_eq!(noop_mark, LogMark { index: 1, term: 1 });
    assert_eq!(
        node.commit_index(),
        0,
        "committed before its write is durable"
    );
    node.on_persisted(noop_mark);
    assert_eq!(node.commit_index(), 1);
    assert_eq!(node.durable_index(), 1);

    // Two Readys in flight before the first is durable: acknowledging the second covers both.
    node.propose(b"a".to_vec()).unwrap();
    let first = node.ready().ack_when_durable.unwrap();
    node.propose(b"b".to_vec()).unwrap();
    let second = node.ready().ack_when_durable.unwrap();
    assert_eq!((first.index, second.index), (2, 3));
    assert_eq!(node.commit_index(), 1);
    node.on_persisted(second);
    assert_eq!(node.commit_index(), 3);
    assert!(
        node.has_ready(),
        "the newly committed entries are handed out"
    );
    let applied: Vec<Index> = node
        .ready()
        .committed_entries
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(applied, [2, 3]);
    // The late acknowledgement of the first write changes nothing.
    node.on_persisted(first);
    assert_eq!(node.commit_index(), 3);
}

#[test]
fn a_leader_whose_own_write_is_not_durable_commits_on_two_follower_acks_but_not_one() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    let before = pump.node(1).commit_index();
    let index = pump.node(1).propose(b"x".to_vec()).unwrap();
    let rd = pump.node(1).ready();
    let own = rd.ack_when_durable.unwrap();
    // Each follower persists and acknowledges at once (through the pump's disks).
    let mut answers = Vec::new();
    for m in rd.messages {
        if matches!(m.body, MessageBody::AppendEntries { .. }) {
            let to = m.to;
            pump.node(to).step(m).unwrap();
            answers.extend(durable_ready(pump.node(to)).messages);
        }
    }
    assert_eq!(answers.len(), 2);
    let mut answers = answers.into_iter();
    pump.node(1).step(answers.next().unwrap()).unwrap();
    assert_eq!(
        pump.node(1).commit_index(),
        before,
        "one follower plus a leader copy that is not durable is no quorum"
    );
    pump.node(1).step(answers.next().unwrap()).unwrap();
    assert_eq!(
        pump.node(1).commit_index(),
        index,
        "two durable follower copies are a quorum of three"
    );
    assert!(pump.node(1).durable_index() < index);
    pump.node(1).on_persisted(own);
    assert_eq!(pump.node(1).durable_index(), index);
}

#[test]
fn an_acknowledgement_of_a_write_rewritten_since_does_not_count_beyond_the_rewrite() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.node(1).propose(b"a".to_vec()).unwrap();
    pump.node(1).propose(b"b".to_vec()).unwrap();
    pump.run();
    assert_eq!(pump.node(1).commit_index(), 3);
    assert_eq!(pump.node(1).applied_index(), 3);

    // Entries 4 and 5 go out in Ready A, whose fsync is still pending.
    pump.node(1).propose(b"c".to_vec()).unwrap();
    pump.node(1).propose(b"d".to_vec()).unwrap();
    let a = pump.node(1).ready();
    let stale = a.ack_when_durable.unwrap();
    // A snapshot at 3 rewrites the whole stored log: the tail 4..=5 goes out again in Ready B.
    pump.node(1).snapshot_taken(3, b"state@3".to_vec()).unwrap();
    let b = pump.node(1).ready();
    assert_eq!(b.snapshot.as_ref().map(|s| s.index), Some(3));
    let fresh = b.ack_when_durable.unwrap();
    assert_eq!(stale, fresh, "the same last entry, written twice");

    pump.node(1).on_persisted(stale);
    assert_eq!(
        pump.node(1).durable_index(),
        3,
        "the rewrite may be torn by a crash: A only vouches for what lies below it"
    );
    // Follower 2 persists 4..=5 and acknowledges; follower 3 hears nothing.
    let mut answers = Vec::new();
    for m in a.messages {
        if m.to == 2 && matches!(m.body, MessageBody::AppendEntries { .. }) {
            pump.node(2).step(m).unwrap();
            answers.extend(durable_ready(pump.node(2)).messages);
        }
    }
    assert!(!answers.is_empty());
    for m in answers {
        pump.node(1).step(m).unwrap();
    }
    assert_eq!(
        pump.node(1).commit_index(),
        3,
        "a stale acknowledgement must not make the leader's copy count"
    );
    pump.node(1).on_persisted(fresh);
    assert_eq!(pump.node(1).commit_index(), 5);
}

#[test]
fn an_acknowledgement_of_entries_truncated_since_counts_only_below_the_truncation() {
    // Node 1 leads term 2 over [1]: its no-op (2, 2) goes out in Ready A and is not durable yet.
    let mut node = node_with_log(1, 3, 1, &[1]);
    node.campaign();
    for v in [2, 3] {
        for body in [
            MessageBody::PreVoteResponse { granted: true },
            MessageBody::VoteResponse { granted: true },
        ] {
            let _ = node.step(msg(v, 1, 2, body));
        }
    }
    assert_eq!(node.role(), Role::Leader);
    let stale = node.ready().ack_when_durable.unwrap();
    assert_eq!(stale, LogMark { index: 2, term: 2 });
    // The leader of term 3 overwrites index 2 before A is durable; Ready B writes (2, 3).
    node.step(append(2, 1, 3, (1, 1), vec![entry(2, 3)]))
        .unwrap();
    assert_eq!(node.log_term(2), Some(3));
    let fresh = node.ready().ack_when_durable.unwrap();
    assert_eq!(fresh, LogMark { index: 2, term: 3 });
    node.on_persisted(stale);
    assert_eq!(node.durable_index(), 1, "(2, 2) is not what the log holds");
    node.on_persisted(fresh);
    assert_eq!(node.durable_index(), 2);
}

#[test]
fn a_restart_starts_with_everything_durable_and_commits_on_the_new_no_op_only() {
    let persisted = PersistedState {
        hard_state: HardState {
            term: 1,
            vote: Some(1),
            commit: 1,
        },
        snapshot: None,
        entries: vec![entry(1, 1), entry(2, 1), entry(3, 1)],
    };
    let mut node = Node::restart(config(1), ConfState::with_voters([1]), persisted).unwrap();
    assert_eq!(node.durable_index(), 3);
    assert_eq!(node.commit_index(), 1);
    node.campaign();
    assert_eq!(node.role(), Role::Leader);
    assert_eq!(
        node.commit_index(),
        1,
        "durable entries of an old term are not committed by counting"
    );
    let mark = node.ready().ack_when_durable.unwrap();
    assert_eq!(mark, LogMark { index: 4, term: 2 });
    assert_eq!(node.commit_index(), 1);
    node.on_persisted(mark);
    assert_eq!(node.commit_index(), 4);
}
