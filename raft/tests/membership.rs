//! Membership scenarios: a learner catches up and is promoted, the leader removes itself, and
//! leadership moves to a chosen node by transfer.

mod support;

use raft::core::{ConfChange, Index, NodeId, ProposeError, Role};
use support::{Cluster, Options};

const ELECTION: u64 = 20;
const AGREE: u64 = 10 * ELECTION;

/// Propose a membership change through whoever leads, retrying while the leader is not ready
/// (no commit in its term yet, or another change pending); waits until `wait_on` applied it.
fn change(c: &mut Cluster, change: ConfChange, wait_on: &[NodeId]) -> Index {
    let start = c.now;
    while c.now < start + AGREE {
        if let Some(leader) = c.leader() {
            let ch = change.clone();
            match c.with_node(leader, |n| n.propose_conf_change(ch)) {
                Ok(index) => {
                    let applied = c.run_until(AGREE, |c| {
                        wait_on.iter().all(|id| c.apps[id].applied >= index)
                    });
                    assert!(applied, "{change:?} at {index} not applied on {wait_on:?}");
                    return index;
                }
                Err(ProposeError::NoCommitInTerm | ProposeError::ConfChangePending { .. }) => {}
                Err(ProposeError::NotLeader(_)) => {}
                Err(e) => panic!("{change:?} refused: {e}"),
            }
        }
        c.tick();
    }
    panic!("{change:?} could not be proposed within {AGREE} ticks");
}

#[test]
fn learner_catch_up_and_promotion() {
    let mut c = Cluster::new(Options::new(3, 51));
    for i in 0..30u8 {
        c.one(&[i], 3, AGREE);
    }
    c.add_node(4);
    assert_eq!(c.status(4).unwrap().role, Role::Follower);
    // A non-member never campaigns: its term stays at 0 while it is not in the conf.
    c.run(3 * ELECTION);
    assert_eq!(c.status(4).unwrap().term, 0, "a non-member campaigned");
    change(&mut c, ConfChange::AddLearner(4), &[1, 2, 3]);
    let last = c.one(b"after-learner", 3, AGREE);
    assert!(
        c.run_until(AGREE, |c| c.apps[&4].applied >= last),
        "learner did not catch up"
    );
    let s4 = c.status(4).unwrap();
    assert_eq!(s4.role, Role::Learner);
    assert!(s4.conf.learners.contains(&4));
    // A learner never leads or votes: cut off the voters' leader, the learner must not take over.
    let leader = c.wait_leader(5 * ELECTION);
    c.isolate(leader);
    c.wait_leader(10 * ELECTION);
    assert_ne!(c.stable_leader(), Some(4));
    c.reconnect(leader);
    c.wait_leader(10 * ELECTION);
    // Promote it; it now counts toward the quorum of four.
    change(&mut c, ConfChange::Promote(4), &[1, 2, 3, 4]);
    let s4 = c.status(4).unwrap();
    assert!(
        s4.conf.voters.contains(&4),
        "not a voter after promotion: {:?}",
        s4.conf
    );
    assert_eq!(s4.conf.voters.len(), 4);
    // With two of the old voters down, 4 is needed for the quorum of 3 out of 4.
    let leader = c.wait_leader(10 * ELECTION);
    let down: Vec<_> = [1, 2, 3]
        .into_iter()
        .filter(|id| *id != leader)
        .take(1)
        .collect();
    c.crash(down[0]);
    c.one(b"with-four", 3, AGREE);
    c.restart(down[0]);
    c.one(b"all-four", 4, AGREE);
    c.finish();
}

#[test]
fn removing_the_leader() {
    let mut c = Cluster::new(Options::new(3, 52));
    c.one(b"x", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let rest: Vec<_> = c.alive().into_iter().filter(|id| *id != leader).collect();
    let index = loop {
        match c.with_node(leader, |n| {
            n.propose_conf_change(ConfChange::Remove(leader))
        }) {
            Ok(index) => break index,
            Err(ProposeError::NoCommitInTerm) => c.tick(),
            Err(e) => panic!("remove refused: {e}"),
        }
    };
    assert!(
        c.run_until(AGREE, |c| rest.iter().all(|id| c.apps[id].applied >= index)),
        "removal not applied"
    );
    // A new leader among the remaining two; the removed node never leads again.
    let new = c.wait_leader(10 * ELECTION);
    assert!(rest.contains(&new), "removed node {leader} still leads");
    let conf = c.status(new).unwrap().conf;
    assert!(!conf.voters.contains(&leader));
    assert_eq!(conf.voters.len(), 2);
    for i in 0..5u8 {
        c.one(&[b'r', i], 2, AGREE);
        assert!(!c.leaders().iter().any(|(id, _)| *id == leader));
    }
    c.run(5 * ELECTION);
    assert!(!c.leaders().iter().any(|(id, _)| *id == leader));
    c.finish();
}

#[test]
fn leadership_transfer() {
    let mut c = Cluster::new(Options::new(3, 53));
    for i in 0..10u8 {
        c.one(&[i], 3, AGREE);
    }
    for _ in 0..3 {
        let leader = c.wait_leader(5 * ELECTION);
        let term = c.status(leader).unwrap().term;
        let target = c.alive().into_iter().find(|id| *id != leader).unwrap();
        c.with_node(leader, |n| n.transfer_leadership(target))
            .expect("transfer accepted");
        assert!(
            c.run_until(ELECTION, |c| c.stable_leader() == Some(target)),
            "leadership did not move to {target}"
        );
        let new_term = c.status(target).unwrap().term;
        assert_eq!(new_term, term + 1, "transfer took more than one election");
        c.one(b"after-transfer", 3, AGREE);
    }
    c.finish();
}

#[test]
fn leadership_transfer_to_lagging_follower_catches_it_up_first() {
    let mut c = Cluster::new(Options::new(3, 54));
    c.one(b"x", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let target = c.alive().into_iter().find(|id| *id != leader).unwrap();
    c.isolate(target);
    let mut last = 0;
    for i in 0..20u8 {
        last = c.one(&[i], 2, AGREE);
    }
    c.reconnect(target);
    c.with_node(leader, |n| n.transfer_leadership(target))
        .expect("transfer accepted");
    assert!(
        c.run_until(2 * ELECTION, |c| c.stable_leader() == Some(target)),
        "leadership did not move to the lagging {target}"
    );
    // It could only win with every committed entry (leader completeness is checked too).
    assert!(c.status(target).unwrap().last_index >= last);
    c.finish();
}
