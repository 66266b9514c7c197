//! Read-index scenarios: a leader serves a read at an index that covers every earlier commit
//! (the cluster checks each read state against what was committed when the read was asked), and
//! a deposed leader never hands out a read state.

mod support;

use support::{Cluster, Options};

const ELECTION: u64 = 20;
const AGREE: u64 = 10 * ELECTION;

fn reads_of(c: &Cluster, node: u64) -> usize {
    c.reads.iter().filter(|r| r.node == node).count()
}

#[test]
fn read_index_on_leader_covers_earlier_commits() {
    let mut c = Cluster::new(Options::new(3, 61));
    let mut last = 0;
    for i in 0..5u8 {
        last = c.one(&[i], 3, AGREE);
    }
    let leader = c.wait_leader(5 * ELECTION);
    for request in 1..=5u64 {
        c.read_index(leader, request).expect("leader accepts reads");
        c.propose(leader, vec![b'w', request as u8]).unwrap();
    }
    assert!(
        c.run_until(2 * ELECTION, |c| c
            .reads
            .iter()
            .filter(|r| r.served)
            .count()
            == 5),
        "reads not served: {:?}",
        c.reads
    );
    for r in &c.reads {
        assert_eq!(r.node, leader);
        assert!(
            r.state.index >= last,
            "read index {} below commit {last}",
            r.state.index
        );
    }
    c.finish();
}

#[test]
fn read_index_refused_on_deposed_leader() {
    let mut c = Cluster::new(Options::new(5, 62));
    c.one(b"x", 5, AGREE);
    let old = c.wait_leader(5 * ELECTION);
    let others: Vec<_> = c.alive().into_iter().filter(|id| *id != old).collect();
    c.partition(&[&[old, others[0]], &others[1..]]);
    // The old leader may still believe it leads for a moment and accept the read, but it can
    // never confirm leadership with a quorum, so no read state may come out of it.
    let accepted = c.read_index(old, 1).is_ok();
    assert!(accepted, "a fresh leader refused a read before any timeout");
    let new_leader_commit = {
        let mut last = 0;
        for i in 0..5u8 {
            last = c.one(&[b'n', i], 3, AGREE);
        }
        last
    };
    assert_eq!(
        reads_of(&c, old),
        0,
        "deposed leader served a read: {:?}",
        c.reads
    );
    // Once check-quorum deposed it, it refuses reads outright.
    assert!(c.run_until(2 * ELECTION, |c| c.status(old).unwrap().role
        != raft::core::Role::Leader));
    assert!(
        c.read_index(old, 2).is_err(),
        "deposed leader accepted a read"
    );
    c.heal();
    c.run(3 * ELECTION);
    assert!(
        c.reads
            .iter()
            .all(|r| r.node != old || r.state.index >= new_leader_commit),
        "stale read state after healing: {:?}",
        c.reads
    );
    c.finish();
}

#[test]
fn read_index_on_deposed_leader_without_check_quorum() {
    let mut opts = Options::new(3, 63);
    opts.configure = |cfg| cfg.check_quorum = false;
    let mut c = Cluster::new(opts);
    c.one(b"x", 3, AGREE);
    let old = c.wait_leader(5 * ELECTION);
    c.isolate(old);
    // Without check-quorum the old leader keeps believing; its reads must still never resolve.
    let mut last = 0;
    for i in 0..5u8 {
        last = c.one(&[b'n', i], 2, AGREE);
    }
    for request in 10..15 {
        let _ = c.read_index(old, request);
        c.run(ELECTION);
    }
    assert_eq!(
        reads_of(&c, old),
        0,
        "isolated old leader served reads: {:?}",
        c.reads
    );
    c.heal();
    c.run(3 * ELECTION);
    assert!(
        c.reads
            .iter()
            .all(|r| r.node != old || r.state.index >= last),
        "stale read state after healing: {:?}",
        c.reads
    );
    c.finish();
}

#[test]
fn read_index_waits_for_a_commit_in_the_new_leaders_term() {
    let mut c = Cluster::new(Options::new(3, 64));
    let committed = c.one(b"x", 3, AGREE);
    let old = c.wait_leader(5 * ELECTION);
    c.crash(old);
    // The new leader's appends (its no-op) get nowhere; heartbeats do.
    c.net.drop_filter = Some(Box::new(|m| {
        matches!(m.body, raft::core::MessageBody::AppendEntries { .. })
    }));
    assert!(
        c.run_until(10 * ELECTION, |c| c.leader().is_some()),
        "no new leader"
    );
    let new = c.leader().unwrap();
    c.read_index(new, 7)
        .expect("the new leader accepts the read");
    c.run(3 * ELECTION);
    assert!(
        c.reads.iter().all(|r| r.node != new),
        "read served before the new leader committed an entry of its term: {:?}",
        c.reads
    );
    c.net.drop_filter = None;
    assert!(
        c.run_until(5 * ELECTION, |c| c.reads.iter().any(|r| r.node == new)),
        "the read never resolved"
    );
    let read = c.reads.iter().find(|r| r.node == new).unwrap();
    assert!(
        read.state.index > committed,
        "read index does not cover the new term's no-op"
    );
    c.finish();
}
