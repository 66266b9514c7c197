//! Snapshot scenarios: a lagging, a crashed and an unreliable follower catch up through
//! InstallSnapshot once the leader compacted its log past them; every node restarts from its
//! snapshot plus log tail.

mod support;

use raft::core::{MessageBody, NodeId};
use support::{Cluster, NetConfig, Options};

const ELECTION: u64 = 20;
const AGREE: u64 = 10 * ELECTION;
const EVERY: u64 = 10;

fn cluster(seed: u64) -> Cluster {
    let mut opts = Options::new(3, seed);
    opts.snapshot_every = Some(EVERY);
    opts.record_messages = true;
    Cluster::new(opts)
}

fn snapshots_sent_to(c: &Cluster, to: NodeId) -> usize {
    c.sent
        .iter()
        .filter(|m| m.to == to && matches!(m.body, MessageBody::InstallSnapshot { .. }))
        .count()
}

fn follower(c: &Cluster, leader: NodeId) -> NodeId {
    c.alive().into_iter().find(|id| *id != leader).unwrap()
}

#[test]
fn snapshot_install_on_lagging_follower() {
    let mut c = cluster(41);
    c.one(b"first", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let lagging = follower(&c, leader);
    c.isolate(lagging);
    let mut last = 0;
    for i in 0..5 * EVERY {
        last = c.one(format!("v{i}").as_bytes(), 2, AGREE);
    }
    let leader = c.wait_leader(5 * ELECTION);
    assert!(
        c.disks[&leader].snapshot_index() > c.apps[&lagging].applied + 1,
        "the leader did not compact past the lagging follower"
    );
    c.reconnect(lagging);
    assert!(
        c.run_until(AGREE, |c| c.apps[&lagging].applied >= last),
        "lagging follower did not catch up"
    );
    assert!(
        snapshots_sent_to(&c, lagging) >= 1,
        "no InstallSnapshot sent"
    );
    assert!(c.disks[&lagging].snapshot_index() >= EVERY);
    c.one(b"after", 3, AGREE);
    c.finish();
}

#[test]
fn snapshot_install_on_crashed_follower() {
    let mut c = cluster(42);
    c.one(b"first", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let crashed = follower(&c, leader);
    c.crash(crashed);
    let mut last = 0;
    for i in 0..5 * EVERY {
        last = c.one(format!("v{i}").as_bytes(), 2, AGREE);
    }
    c.restart(crashed);
    assert!(
        c.run_until(AGREE, |c| c.apps[&crashed].applied >= last),
        "crashed follower did not catch up"
    );
    assert!(
        snapshots_sent_to(&c, crashed) >= 1,
        "no InstallSnapshot sent"
    );
    // And it survives another crash right after installing the snapshot.
    c.crash_restart(crashed);
    assert!(c.run_until(AGREE, |c| c.apps[&crashed].applied >= last));
    c.one(b"after", 3, AGREE);
    c.finish();
}

#[test]
fn snapshot_install_on_unreliable_follower() {
    let mut opts = Options::new(3, 43);
    opts.snapshot_every = Some(EVERY);
    opts.record_messages = true;
    opts.net = NetConfig::unreliable();
    let mut c = Cluster::new(opts);
    let mut last = 0;
    for round in 0..6 {
        let leader = c.wait_leader(20 * ELECTION);
        let victim = follower(&c, leader);
        c.isolate(victim);
        for i in 0..2 * EVERY {
            last = c.one(format!("r{round}-{i}").as_bytes(), 2, 4 * AGREE);
        }
        c.reconnect(victim);
        c.run(ELECTION);
    }
    c.net.config = NetConfig::reliable();
    assert!(
        c.run_until(4 * AGREE, |c| c
            .alive()
            .iter()
            .all(|id| c.apps[id].applied >= last)),
        "not everyone caught up"
    );
    let installs: usize = c.ids.iter().map(|id| snapshots_sent_to(&c, *id)).sum();
    assert!(installs >= 1, "no InstallSnapshot sent");
    c.finish();
}

#[test]
fn everyone_restarts_from_snapshots() {
    let mut c = cluster(44);
    let mut last = 0;
    for i in 0..5 * EVERY + 5 {
        last = c.one(format!("v{i}").as_bytes(), 3, AGREE);
    }
    c.run(5);
    for id in c.ids.clone() {
        c.crash(id);
    }
    for id in c.ids.clone() {
        c.restart(id);
        let snap = c.disks[&id].snapshot_index();
        assert!(
            snap >= 5 * EVERY,
            "node {id} has no recent snapshot ({snap})"
        );
        // The app came back from the snapshot, then the core replays the log tail.
        assert!(c.apps[&id].applied >= snap);
    }
    assert!(c.run_until(AGREE, |c| c
        .alive()
        .iter()
        .all(|id| c.apps[id].applied >= last)));
    c.one(b"after", 3, AGREE);
    c.finish();
}

#[test]
fn lost_install_snapshot_is_sent_again() {
    use std::cell::Cell;
    use std::rc::Rc;
    let mut c = cluster(45);
    c.one(b"first", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let lagging = follower(&c, leader);
    c.isolate(lagging);
    let mut last = 0;
    for i in 0..5 * EVERY {
        last = c.one(format!("v{i}").as_bytes(), 2, AGREE);
    }
    // The first two InstallSnapshot messages are lost on the way.
    let lost = Rc::new(Cell::new(0u32));
    let counter = lost.clone();
    c.net.drop_filter = Some(Box::new(move |m| {
        let drop = matches!(m.body, MessageBody::InstallSnapshot { .. }) && counter.get() < 2;
        if drop {
            counter.set(counter.get() + 1);
        }
        drop
    }));
    c.reconnect(lagging);
    assert!(
        c.run_until(2 * AGREE, |c| c.apps[&lagging].applied >= last),
        "follower never got a snapshot after losing {}",
        lost.get()
    );
    assert_eq!(lost.get(), 2, "the snapshots were not lost as planned");
    assert!(snapshots_sent_to(&c, lagging) >= 3);
    c.finish();
}
