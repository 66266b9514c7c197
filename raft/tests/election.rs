//! Leader election scenarios on the simulated cluster: the first election, re-election after the
//! leader is lost, no leader without a quorum (and no term inflation, thanks to pre-vote), and
//! many elections under random disconnects. Election timeout is 10..20 ticks, heartbeat 1 tick.

mod support;

use raft::core::Role;
use support::{Cluster, Options};

const ELECTION: u64 = 20;

#[test]
fn initial_election() {
    let mut c = Cluster::new(Options::new(3, 1));
    let leader = c.wait_leader(5 * ELECTION);
    let term = c.status(leader).unwrap().term;
    assert!(term >= 1, "leader elected in term 0");
    for id in c.alive() {
        let s = c.status(id).unwrap();
        assert_eq!(s.term, term, "node {id} is in another term");
        assert_eq!(s.leader, Some(leader), "node {id} does not follow {leader}");
    }
    // With no failures the leader and its term stay put.
    c.run(10 * ELECTION);
    assert_eq!(c.stable_leader(), Some(leader));
    assert_eq!(
        c.status(leader).unwrap().term,
        term,
        "term changed without failures"
    );
    c.finish();
}

#[test]
fn re_election_after_leader_loss() {
    let mut c = Cluster::new(Options::new(3, 2));
    let first = c.wait_leader(5 * ELECTION);
    c.isolate(first);
    let second = c.wait_leader(5 * ELECTION);
    assert_ne!(first, second, "the isolated leader was re-elected");
    // Check-quorum: the old leader stops leading within an election timeout or two.
    c.run(2 * ELECTION);
    assert_ne!(
        c.status(first).unwrap().role,
        Role::Leader,
        "isolated leader still leads"
    );
    // The old leader rejoins: still exactly one leader, and it is followed.
    c.reconnect(first);
    let after = c.wait_leader(5 * ELECTION);
    c.run(2 * ELECTION);
    assert_eq!(c.stable_leader(), Some(after));
    // Two of three gone: no leader anywhere.
    let others: Vec<_> = c.alive().into_iter().filter(|id| *id != after).collect();
    c.isolate(after);
    c.isolate(others[0]);
    c.run(4 * ELECTION);
    assert!(
        c.leaders().is_empty(),
        "leader without a quorum: {:?}",
        c.leaders()
    );
    // One comes back: a quorum again, so a leader again.
    c.reconnect(others[0]);
    c.isolate(after);
    c.wait_leader(5 * ELECTION);
    c.finish();
}

#[test]
fn no_leader_without_quorum() {
    let mut c = Cluster::new(Options::new(5, 3));
    let leader = c.wait_leader(5 * ELECTION);
    let term = c.status(leader).unwrap().term;
    // Leave the leader with one follower: a minority of 5.
    let follower = c.alive().into_iter().find(|id| *id != leader).unwrap();
    let rest: Vec<_> = c
        .alive()
        .into_iter()
        .filter(|id| *id != leader && *id != follower)
        .collect();
    c.partition(&[&[leader, follower], &rest]);
    c.run(6 * ELECTION);
    let minority_leaders: Vec<_> = c
        .leaders()
        .into_iter()
        .filter(|(id, _)| *id == leader || *id == follower)
        .collect();
    assert!(
        minority_leaders.is_empty(),
        "minority has leaders {minority_leaders:?}"
    );
    // Pre-vote: nodes in the minority cannot win a pre-vote, so their term does not grow.
    for id in [leader, follower] {
        assert_eq!(
            c.status(id).unwrap().term,
            term,
            "node {id} inflated its term"
        );
    }
    // Cut everyone off from everyone: nobody leads, and nobody's term runs away.
    c.partition(&[]);
    c.run(6 * ELECTION);
    assert!(
        c.leaders().is_empty(),
        "leaders without quorum: {:?}",
        c.leaders()
    );
    let max_term = c
        .alive()
        .iter()
        .map(|id| c.status(*id).unwrap().term)
        .max()
        .unwrap();
    c.run(10 * ELECTION);
    let max_term_later = c
        .alive()
        .iter()
        .map(|id| c.status(*id).unwrap().term)
        .max()
        .unwrap();
    assert_eq!(
        max_term, max_term_later,
        "isolated nodes keep bumping their terms"
    );
    c.heal();
    c.wait_leader(10 * ELECTION);
    c.finish();
}

#[test]
fn many_elections_with_random_disconnects_seven_nodes() {
    let mut c = Cluster::new(Options::new(7, 4));
    c.wait_leader(5 * ELECTION);
    for round in 0..10 {
        // Disconnect three random nodes: four remain, a quorum of seven.
        let mut ids = c.alive();
        let mut cut = Vec::new();
        for _ in 0..3 {
            let i = c.random_range(0..ids.len() as u64) as usize;
            cut.push(ids.remove(i));
        }
        for id in &cut {
            c.isolate(*id);
        }
        let leader = c.wait_leader(10 * ELECTION);
        assert!(
            !cut.contains(&leader),
            "round {round}: disconnected node {leader} is the stable leader"
        );
        for id in &cut {
            c.reconnect(*id);
        }
        c.wait_leader(10 * ELECTION);
    }
    assert!(c.inv.as_ref().unwrap().leader_terms() >= 1);
    c.finish();
}

#[test]
fn leader_in_minority_steps_down_within_election_timeout() {
    let mut c = Cluster::new(Options::new(3, 5));
    let leader = c.wait_leader(5 * ELECTION);
    c.isolate(leader);
    // Check-quorum: the leader notices within one (randomized, at most 2x) election timeout.
    let stepped_down = c.run_until(2 * ELECTION + 2, |c| {
        c.status(leader).unwrap().role != Role::Leader
    });
    assert!(stepped_down, "isolated leader kept leading");
    c.finish();
}

#[test]
fn rejoining_node_does_not_disrupt_the_leader() {
    let mut c = Cluster::new(Options::new(5, 6));
    let leader = c.wait_leader(5 * ELECTION);
    let term = c.status(leader).unwrap().term;
    let loner = c.alive().into_iter().find(|id| *id != leader).unwrap();
    c.isolate(loner);
    // Long enough for many election timeouts of the loner.
    c.run(20 * ELECTION);
    c.reconnect(loner);
    c.run(5 * ELECTION);
    // Pre-vote: the loner never won a pre-vote, so it never bumped its term, and the leader
    // keeps its term and its followers.
    assert_eq!(
        c.stable_leader(),
        Some(leader),
        "the rejoining node disrupted the leader"
    );
    assert_eq!(c.status(leader).unwrap().term, term);
    assert_eq!(c.status(loner).unwrap().leader, Some(leader));
    c.finish();
}
