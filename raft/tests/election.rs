//! Leader election scenarios on the library's test world (`raft::testing::world`): the first
//! election, re-election after the leader is lost, no leader without a quorum (and no term
//! inflation, thanks to pre-vote), and many elections under random disconnects. Election
//! timeout is 10..20 ticks of 50 ms, heartbeat 1 tick; `ELECTION` is the longest timeout.

use raft::core::{NodeId, Role};
use raft::testing::world::{NetworkSpec, ScriptedWorld, WorldConfig, WorldError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ELECTION: u64 = 1_000_000;

fn world(nodes: u64, seed: u64) -> ScriptedWorld {
    let mut config = WorldConfig::new(nodes, seed);
    config.network = NetworkSpec::reliable();
    ScriptedWorld::new(config).expect("the world starts")
}

fn term(w: &ScriptedWorld, id: NodeId) -> u64 {
    w.status(id).expect("node runs").term
}

#[test]
fn initial_election() -> Result<(), WorldError> {
    let mut w = world(3, 1);
    assert_eq!(w.election_us(), ELECTION);
    let leader = w.wait_leader(5 * ELECTION)?;
    let term = term(&w, leader);
    assert!(term >= 1, "leader elected in term 0");
    // A majority follows it; a heartbeat later, everyone does.
    w.run_for(2 * 50_000)?;
    for id in w.running() {
        let s = w.status(id).unwrap();
        assert_eq!(s.term, term, "node {id} is in another term");
        assert_eq!(s.leader, Some(leader), "node {id} does not follow {leader}");
    }
    // With no failures the leader and its term stay put.
    w.run_for(10 * ELECTION)?;
    assert_eq!(w.stable_leader(), Some(leader));
    assert_eq!(
        self::term(&w, leader),
        term,
        "term changed without failures"
    );
    Ok(())
}

#[test]
fn re_election_after_leader_loss() -> Result<(), WorldError> {
    let mut w = world(3, 2);
    let first = w.wait_leader(5 * ELECTION)?;
    w.isolate(first);
    let second = w.wait_leader(5 * ELECTION)?;
    assert_ne!(first, second, "the isolated leader was re-elected");
    // Check-quorum: the old leader stops leading within an election timeout or two.
    w.run_for(2 * ELECTION)?;
    assert_ne!(
        w.status(first).unwrap().role,
        Role::Leader,
        "isolated leader still leads"
    );
    // The old leader rejoins: still exactly one leader, and it is followed.
    w.reconnect(first);
    let after = w.wait_leader(5 * ELECTION)?;
    w.run_for(2 * ELECTION)?;
    assert_eq!(w.stable_leader(), Some(after));
    // Two of three gone: no leader anywhere (once check-quorum has had its timeout).
    let others: Vec<_> = w.running().into_iter().filter(|id| *id != after).collect();
    w.isolate(after);
    w.isolate(others[0]);
    w.run_for(4 * ELECTION)?;
    assert!(
        w.leaders().is_empty(),
        "leader without a quorum: {:?}",
        w.leaders()
    );
    // One comes back: a quorum again, so a leader again.
    w.reconnect(others[0]);
    w.isolate(after);
    w.wait_leader(5 * ELECTION)?;
    Ok(())
}

#[test]
fn no_leader_without_quorum() -> Result<(), WorldError> {
    let mut w = world(5, 3);
    let leader = w.wait_leader(5 * ELECTION)?;
    let first_term = term(&w, leader);
    // Leave the leader with one follower: a minority of 5.
    let follower = w.running().into_iter().find(|id| *id != leader).unwrap();
    let rest: Vec<_> = w
        .running()
        .into_iter()
        .filter(|id| *id != leader && *id != follower)
        .collect();
    w.partition(&[&[leader, follower], &rest]);
    w.run_for(6 * ELECTION)?;
    let minority_leaders: Vec<_> = w
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
        assert_eq!(term(&w, id), first_term, "node {id} inflated its term");
    }
    // Cut everyone off from everyone: nobody leads, and nobody's term runs away.
    w.partition(&[]);
    w.run_for(6 * ELECTION)?;
    assert!(
        w.leaders().is_empty(),
        "leaders without quorum: {:?}",
        w.leaders()
    );
    let max_term = |w: &ScriptedWorld| w.running().iter().map(|id| term(w, *id)).max();
    let before = max_term(&w);
    w.run_for(10 * ELECTION)?;
    assert_eq!(
        before,
        max_term(&w),
        "isolated nodes keep bumping their terms"
    );
    w.heal();
    w.wait_leader(10 * ELECTION)?;
    Ok(())
}

#[test]
fn many_elections_with_random_disconnects_seven_nodes() -> Result<(), WorldError> {
    let mut w = world(7, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    w.wait_leader(5 * ELECTION)?;
    for round in 0..10 {
        // Disconnect three random nodes: four remain, a quorum of seven.
        let mut ids = w.running();
        let mut cut = Vec::new();
        for _ in 0..3 {
            let i = rng.random_range(0..ids.len());
            cut.push(ids.remove(i));
        }
        for id in &cut {
            w.isolate(*id);
        }
        let leader = w.wait_leader(10 * ELECTION)?;
        assert!(
            !cut.contains(&leader),
            "round {round}: disconnected node {leader} is the stable leader"
        );
        for id in &cut {
            w.reconnect(*id);
        }
        w.wait_leader(10 * ELECTION)?;
    }
    assert!(w.world().checker().leader_terms() >= 1);
    Ok(())
}

#[test]
fn leader_in_minority_steps_down_within_election_timeout() -> Result<(), WorldError> {
    let mut w = world(3, 5);
    let leader = w.wait_leader(5 * ELECTION)?;
    w.isolate(leader);
    // Check-quorum: the leader notices within one (randomized, at most 2x) election timeout.
    let stepped_down = w.run_until(ELECTION + 2 * 50_000, |w| {
        w.status(leader).unwrap().role != Role::Leader
    })?;
    assert!(stepped_down, "isolated leader kept leading");
    Ok(())
}

#[test]
fn rejoining_node_does_not_disrupt_the_leader() -> Result<(), WorldError> {
    let mut w = world(5, 6);
    let leader = w.wait_leader(5 * ELECTION)?;
    let first_term = term(&w, leader);
    let loner = w.running().into_iter().find(|id| *id != leader).unwrap();
    w.isolate(loner);
    // Long enough for many election timeouts of the loner.
    w.run_for(20 * ELECTION)?;
    w.reconnect(loner);
    w.run_for(5 * ELECTION)?;
    // Pre-vote: the loner never won a pre-vote, so it never bumped its term, and the leader
    // keeps its term and its followers.
    assert_eq!(
        w.stable_leader(),
        Some(leader),
        "the rejoining node disrupted the leader"
    );
    assert_eq!(term(&w, leader), first_term);
    assert_eq!(w.status(loner).unwrap().leader, Some(leader));
    Ok(())
}
