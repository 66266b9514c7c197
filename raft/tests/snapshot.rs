//! Snapshot scenarios on the library's test world (each replica snapshots every `EVERY` applied
//! entries): a lagging, a crashed and an unreliable follower catch up through InstallSnapshot,
//! every node restarts from its snapshot, and a lost InstallSnapshot is sent again.

use std::cell::Cell;
use std::rc::Rc;

use raft::core::{MessageBody, NodeId};
use raft::testing::world::{NetworkSpec, ScriptedWorld, WorldConfig, WorldError};

const ELECTION: u64 = 1_000_000;
const AGREE: u64 = 10 * ELECTION;
const EVERY: u64 = 10;

fn world(seed: u64, network: NetworkSpec) -> ScriptedWorld {
    let mut config = WorldConfig::new(3, seed);
    config.network = network;
    config.snapshot_every = EVERY;
    let mut w = ScriptedWorld::new(config).expect("the world starts");
    w.record_messages();
    w
}

fn snapshots_sent_to(w: &ScriptedWorld, to: NodeId) -> usize {
    w.recorded()
        .iter()
        .filter(|m| m.to == to && matches!(m.body, MessageBody::InstallSnapshot { .. }))
        .count()
}

fn follower(w: &ScriptedWorld, leader: NodeId) -> NodeId {
    w.running().into_iter().find(|id| *id != leader).unwrap()
}

/// Writes `count` values through the leader, each applied on `copies` nodes; returns the
/// leader's commit index after the last.
fn write_many(
    w: &mut ScriptedWorld,
    tag: &str,
    count: u64,
    copies: usize,
) -> Result<u64, WorldError> {
    for i in 0..count {
        w.replicate(&format!("{tag}{i}"), "x", copies, AGREE)?;
    }
    let leader = w.wait_leader(5 * ELECTION)?;
    Ok(w.status(leader).unwrap().commit)
}

fn caught_up(w: &ScriptedWorld, id: NodeId, last: u64) -> bool {
    w.applied(id).is_some_and(|a| a >= last)
}

#[test]
fn snapshot_install_on_lagging_follower() -> Result<(), WorldError> {
    let mut w = world(41, NetworkSpec::reliable());
    w.replicate("first", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let lagging = follower(&w, leader);
    w.isolate(lagging);
    let last = write_many(&mut w, "v", 5 * EVERY, 2)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    assert!(
        w.snapshot_index(leader) > w.applied(lagging).unwrap() + 1,
        "the leader did not compact past the lagging follower"
    );
    w.reconnect(lagging);
    assert!(
        w.run_until(AGREE, |w| caught_up(w, lagging, last))?,
        "lagging follower did not catch up"
    );
    assert!(
        snapshots_sent_to(&w, lagging) >= 1,
        "no InstallSnapshot sent"
    );
    assert!(w.snapshot_index(lagging) >= EVERY);
    w.replicate("after", "x", 3, AGREE)?;
    Ok(())
}

#[test]
fn snapshot_install_on_crashed_follower() -> Result<(), WorldError> {
    let mut w = world(42, NetworkSpec::reliable());
    w.replicate("first", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let crashed = follower(&w, leader);
    w.crash(crashed);
    let last = write_many(&mut w, "v", 5 * EVERY, 2)?;
    w.restart(crashed)?;
    assert!(
        w.run_until(AGREE, |w| caught_up(w, crashed, last))?,
        "crashed follower did not catch up"
    );
    assert!(
        snapshots_sent_to(&w, crashed) >= 1,
        "no InstallSnapshot sent"
    );
    // It restarts from the snapshot it installed.
    w.run_for(ELECTION / 10)?;
    w.crash(crashed);
    w.restart(crashed)?;
    assert!(w.run_until(AGREE, |w| caught_up(w, crashed, last))?);
    assert_eq!(w.value(crashed, "v0").as_deref(), Some("x"));
    w.replicate("after", "x", 3, AGREE)?;
    Ok(())
}

#[test]
fn snapshot_install_on_unreliable_follower() -> Result<(), WorldError> {
    let unreliable = NetworkSpec {
        loss_chance: 0.1,
        duplicate_chance: 0.1,
        ..NetworkSpec::default()
    };
    let mut w = world(43, unreliable);
    let mut last = 0;
    for round in 0..6 {
        let leader = w.wait_leader(20 * ELECTION)?;
        let victim = follower(&w, leader);
        w.isolate(victim);
        last = write_many(&mut w, &format!("r{round}-"), 2 * EVERY, 2)?;
        w.reconnect(victim);
        w.run_for(ELECTION)?;
    }
    w.world_mut()
        .network_mut()
        .set_spec(NetworkSpec::reliable());
    assert!(
        w.run_until(4 * AGREE, |w| w
            .running()
            .iter()
            .all(|id| caught_up(w, *id, last)))?,
        "not everyone caught up"
    );
    let installs: usize = (1..=3).map(|id| snapshots_sent_to(&w, id)).sum();
    assert!(installs >= 1, "no InstallSnapshot sent");
    Ok(())
}

#[test]
fn everyone_restarts_from_snapshots() -> Result<(), WorldError> {
    let mut w = world(44, NetworkSpec::reliable());
    let last = write_many(&mut w, "v", 5 * EVERY + 5, 3)?;
    w.run_for(ELECTION / 4)?;
    for id in 1..=3 {
        w.crash(id);
    }
    for id in 1..=3 {
        w.restart(id)?;
        let snap = w.snapshot_index(id);
        assert!(
            snap >= 5 * EVERY,
            "node {id} has no recent snapshot ({snap})"
        );
        assert!(w.applied(id).unwrap() >= snap);
    }
    assert!(w.run_until(AGREE, |w| w
        .running()
        .iter()
        .all(|id| caught_up(w, *id, last)))?);
    w.replicate("after", "x", 3, AGREE)?;
    assert_eq!(w.holding("v0", "x"), 3);
    Ok(())
}

#[test]
fn lost_install_snapshot_is_sent_again() -> Result<(), WorldError> {
    let mut w = world(45, NetworkSpec::reliable());
    w.replicate("first", "x", 3, AGREE)?;
    let leader = w.wait_leader(5 * ELECTION)?;
    let lagging = follower(&w, leader);
    w.isolate(lagging);
    let last = write_many(&mut w, "v", 5 * EVERY, 2)?;
    let lost = Rc::new(Cell::new(0u32));
    let counter = lost.clone();
    w.world_mut().set_drop_filter(Some(Box::new(move |m| {
        let drop = matches!(m.body, MessageBody::InstallSnapshot { .. }) && counter.get() < 2;
        if drop {
            counter.set(counter.get() + 1);
        }
        drop
    })));
    w.reconnect(lagging);
    assert!(
        w.run_until(2 * AGREE, |w| caught_up(w, lagging, last))?,
        "follower never got a snapshot after losing {}",
        lost.get()
    );
    assert_eq!(lost.get(), 2, "the snapshots were not lost as planned");
    assert!(snapshots_sent_to(&w, lagging) >= 3);
    Ok(())
}
