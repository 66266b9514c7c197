//! Election rules: randomized timeouts, up-to-date votes, pre-vote, lease, check-quorum.

use std::collections::BTreeSet;

use super::*;
use crate::core::*;

#[test]
fn single_node_elects_itself_and_commits_at_once() {
    let mut pump = Pump::new(1);
    pump.elect(1);
    let index = pump.node(1).propose(b"x".to_vec()).unwrap();
    pump.run();
    assert_eq!(pump.node(1).status().commit, index);
    assert!(pump.applied[&1].iter().any(|e| e.data == b"x"));
}

#[test]
fn three_node_election_is_cheap_and_commits_a_noop() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    assert!(
        pump.delivered.len() <= 30,
        "{} messages",
        pump.delivered.len()
    );
    let term = pump.node(1).status().term;
    assert_eq!(term, 1, "pre-vote does not spend a term");
    for id in 2..=3 {
        assert_eq!(pump.node(id).status().leader, Some(1));
    }
    let noop = pump.node(1).log_entry(1).unwrap().clone();
    assert_eq!(noop.kind, EntryKind::Noop);
    assert_eq!(pump.node(1).status().commit, 1);
}

#[test]
fn election_timeouts_are_redrawn_in_range() {
    let mut node = Node::bootstrap(config(1), ConfState::with_voters([1, 2, 3])).unwrap();
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        node.reset_election_timer();
        assert!((10..20).contains(&node.randomized_timeout));
        seen.insert(node.randomized_timeout);
    }
    assert!(seen.len() > 5, "timeouts are not randomized: {seen:?}");
}

#[test]
fn same_seed_and_id_give_the_same_timeouts() {
    let mut a = Node::bootstrap(config(2), ConfState::with_voters([1, 2])).unwrap();
    let mut b = Node::bootstrap(config(2), ConfState::with_voters([1, 2])).unwrap();
    let mut c = Node::bootstrap(config(3), ConfState::with_voters([1, 3])).unwrap();
    let draw = |n: &mut Node| {
        (0..20)
            .map(|_| {
                n.reset_election_timer();
                n.randomized_timeout
            })
            .collect::<Vec<_>>()
    };
    let (da, db, dc) = (draw(&mut a), draw(&mut b), draw(&mut c));
    assert_eq!(da, db);
    assert_ne!(da, dc);
}

#[test]
fn vote_refused_to_a_candidate_with_a_stale_log() {
    let mut voter = node_with_log(2, 3, 3, &[1, 3]);
    // Older last term, longer log: refused.
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 9,
                last_log_term: 2,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: false }
    );
    assert_eq!(voter.hard_state().vote, None);
    // Same last term, shorter log: refused.
    voter
        .step(msg(
            3,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 1,
                last_log_term: 3,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: false }
    );
    // Same last term, same length: granted, and a second candidate of that term is refused.
    voter
        .step(msg(
            3,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 2,
                last_log_term: 3,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: true }
    );
    assert_eq!(voter.hard_state().vote, Some(3));
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 5,
                last_log_term: 4,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: false }
    );
}

#[test]
fn planted_vote_any_bug_grants_votes_to_stale_logs() {
    let persisted = PersistedState {
        hard_state: HardState {
            term: 3,
            vote: None,
            commit: 0,
        },
        snapshot: None,
        entries: vec![entry(1, 1), entry(2, 3)],
    };
    let mut cfg = config(2);
    cfg.bugs.vote_any = true;
    let mut voter = Node::restart(cfg, ConfState::with_voters([1, 2, 3]), persisted).unwrap();
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 1,
                last_log_term: 1,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: true }
    );
}

#[test]
fn pre_vote_does_not_change_terms() {
    let mut voter = node_with_log(2, 3, 3, &[1, 3]);
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::PreVote {
                last_log_index: 2,
                last_log_term: 3,
            },
        ))
        .unwrap();
    assert_eq!(
        voter.ready().messages[0],
        msg(2, 1, 4, MessageBody::PreVoteResponse { granted: true })
    );
    assert_eq!(voter.status().term, 3);
    assert_eq!(voter.hard_state().vote, None);
}

#[test]
fn an_isolated_node_does_not_inflate_its_term() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(3);
    pump.tick_all(100);
    assert_eq!(pump.node(3).status().term, 1, "pre-vote keeps the term");
    pump.isolated.clear();
    pump.tick_all(5);
    assert_eq!(
        pump.node(1).status().role,
        Role::Leader,
        "no disruption on rejoin"
    );
    assert_eq!(pump.node(3).status().leader, Some(1));
}

#[test]
fn lease_makes_followers_ignore_disruptive_votes() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    // Node 3 sends a real vote request with a higher term while 2 hears from leader 1.
    pump.node(2)
        .step(msg(
            3,
            2,
            9,
            MessageBody::Vote {
                last_log_index: 100,
                last_log_term: 9,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(pump.node(2).status().term, 1);
    assert!(pump.node(2).ready().messages.is_empty());
}

#[test]
fn check_quorum_steps_down_a_cut_off_leader_within_a_timeout() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    // Cut the leader off in the middle of its quorum bookkeeping.
    pump.tick_all(4);
    pump.node(1).read_index(42).unwrap();
    pump.isolated.insert(1);
    pump.run();
    let mut ticks = 0;
    while pump.node(1).status().role == Role::Leader {
        pump.node(1).tick();
        pump.run();
        ticks += 1;
        assert!(ticks <= 10, "leader still serving after {ticks} ticks");
    }
    assert!(ticks >= 9, "stepped down too early, after {ticks} ticks");
    assert!(
        pump.reads.get(&1).is_none_or(|r| r.is_empty()),
        "read served by a cut-off leader"
    );
}
