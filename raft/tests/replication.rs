//! Log replication scenarios: basic agreement, follower and leader failure, no commit without a
//! majority, concurrent proposals, a partitioned old leader whose uncommitted entries get
//! overwritten, and fast backup over long divergent logs (counting rejected appends).

mod support;

use support::messages::rejected_appends;
use support::{Cluster, Options};

const ELECTION: u64 = 20;
const AGREE: u64 = 10 * ELECTION;

fn value(tag: &str, i: u64) -> Vec<u8> {
    format!("{tag}-{i}").into_bytes()
}

#[test]
fn basic_agreement() {
    let mut c = Cluster::new(Options::new(3, 11));
    c.wait_leader(5 * ELECTION);
    let mut last = 0;
    for i in 1..=5 {
        let before = c.committed_log().len();
        let index = c.one(&value("basic", i), 3, AGREE);
        assert!(index > last, "index {index} did not advance past {last}");
        assert!(c.committed_log().len() > before);
        last = index;
    }
    // Every node applied everything, and the proposals sit in order in the committed log.
    c.run(5);
    let values: Vec<Vec<u8>> = c
        .committed_log()
        .into_iter()
        .filter(|e| e.kind == raft::core::EntryKind::Normal)
        .map(|e| e.data)
        .collect();
    let expected: Vec<Vec<u8>> = (1..=5).map(|i| value("basic", i)).collect();
    assert_eq!(values, expected);
    for id in c.alive() {
        assert!(c.apps[&id].applied >= last, "node {id} lags");
    }
    c.finish();
}

#[test]
fn follower_failure() {
    let mut c = Cluster::new(Options::new(3, 12));
    c.one(b"101", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let followers: Vec<_> = c.alive().into_iter().filter(|id| *id != leader).collect();
    c.isolate(followers[0]);
    // The leader and the remaining follower keep agreeing.
    c.one(b"102", 2, AGREE);
    c.one(b"103", 2, AGREE);
    // Both followers gone: nothing commits.
    c.isolate(followers[1]);
    let leader = c.leader().unwrap();
    let index = c.propose(leader, b"104".to_vec()).expect("leader accepts");
    c.run(4 * ELECTION);
    assert_eq!(
        c.n_applied(index).0,
        0,
        "entry committed without a majority"
    );
    c.finish();
}

#[test]
fn leader_failure() {
    let mut c = Cluster::new(Options::new(3, 13));
    c.one(b"101", 3, AGREE);
    let first = c.wait_leader(5 * ELECTION);
    c.isolate(first);
    c.one(b"102", 2, AGREE);
    c.one(b"103", 2, AGREE);
    let second = c.wait_leader(5 * ELECTION);
    c.isolate(second);
    // Nobody can commit now, whoever they think leads.
    let mut proposed = Vec::new();
    for id in c.alive() {
        if let Ok(index) = c.propose(id, b"104".to_vec()) {
            proposed.push(index);
        }
    }
    c.run(4 * ELECTION);
    for index in proposed {
        let (n, entry) = c.n_applied(index);
        assert!(
            n == 0 || entry.is_none_or(|e| e.data != b"104"),
            "entry 104 committed at {index} without a majority"
        );
    }
    c.finish();
}

#[test]
fn no_commit_without_majority() {
    let mut c = Cluster::new(Options::new(5, 14));
    c.one(b"10", 5, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let followers: Vec<_> = c.alive().into_iter().filter(|id| *id != leader).collect();
    for f in &followers[..3] {
        c.isolate(*f);
    }
    let index = c.propose(leader, b"20".to_vec()).expect("leader accepts");
    assert_eq!(index, c.status(leader).unwrap().last_index);
    c.run(4 * ELECTION);
    assert_eq!(c.n_applied(index).0, 0, "committed with 2 of 5");
    assert!(
        c.committed_entry(index).is_none(),
        "entry {index} recorded as committed"
    );
    c.heal();
    // After healing the cluster commits again.
    c.one(b"30", 5, AGREE);
    c.finish();
}

#[test]
fn concurrent_proposals() {
    let mut c = Cluster::new(Options::new(3, 15));
    let leader = c.wait_leader(5 * ELECTION);
    let mut indexes = Vec::new();
    for i in 0..20 {
        indexes.push(c.propose(leader, value("conc", i)).expect("leader accepts"));
    }
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 20, "two proposals got the same index");
    let last = *indexes.last().unwrap();
    assert!(
        c.run_until(AGREE, |c| c.n_applied(last).0 == 3),
        "not applied"
    );
    for index in &indexes {
        let data = c.committed_entry(*index).expect("committed").data;
        assert!(data.starts_with(b"conc-"), "index {index} holds {data:?}");
    }
    let values: std::collections::BTreeSet<Vec<u8>> = indexes
        .iter()
        .map(|i| c.committed_entry(*i).unwrap().data)
        .collect();
    assert_eq!(values.len(), 20, "a proposal is missing or duplicated");
    c.finish();
}

#[test]
fn partitioned_old_leader_rejoins_and_its_entries_are_overwritten() {
    let mut c = Cluster::new(Options::new(3, 16));
    c.one(b"101", 3, AGREE);
    let old = c.wait_leader(5 * ELECTION);
    c.isolate(old);
    // The old leader takes proposals it can never commit.
    let mut stale = Vec::new();
    for tag in [
        b"stale-1".to_vec(),
        b"stale-2".to_vec(),
        b"stale-3".to_vec(),
    ] {
        if let Ok(index) = c.propose(old, tag.clone()) {
            stale.push((index, tag));
        }
    }
    assert!(
        !stale.is_empty(),
        "the isolated leader refused proposals at once"
    );
    // The others elect a leader and commit at the same indexes.
    c.one(b"103", 2, AGREE);
    let new = c.wait_leader(5 * ELECTION);
    assert_ne!(new, old);
    c.isolate(new);
    c.reconnect(old);
    c.one(b"104", 2, AGREE);
    c.heal();
    c.one(b"105", 3, AGREE);
    c.run(2 * ELECTION);
    for (index, tag) in stale {
        if let Some(e) = c.committed_entry(index) {
            assert_ne!(
                e.data, tag,
                "uncommitted entry {index} of the old leader survived"
            );
        }
        assert!(c.apps[&old].applied >= index);
    }
    let log: Vec<Vec<u8>> = c.committed_log().into_iter().map(|e| e.data).collect();
    for v in [&b"101"[..], b"103", b"104", b"105"] {
        assert!(log.iter().any(|d| d == v), "{v:?} lost");
    }
    c.finish();
}

#[test]
fn fast_backup_over_fifty_divergent_entries() {
    let mut opts = Options::new(5, 17);
    opts.record_messages = true;
    let mut c = Cluster::new(opts);
    c.one(b"start", 5, AGREE);
    let leader1 = c.wait_leader(5 * ELECTION);
    let ids = c.alive();
    let pos = ids.iter().position(|i| *i == leader1).unwrap();
    let nth = |k: usize| ids[(pos + k) % 5];
    // Leader and one follower alone: 50 proposals that never commit.
    c.partition(&[&[leader1, nth(1)], &[nth(2), nth(3), nth(4)]]);
    for i in 0..50 {
        let _ = c.propose(leader1, value("lost-a", i));
    }
    c.run(ELECTION / 2);
    // The other three commit 50 entries.
    c.partition(&[&[nth(2), nth(3), nth(4)]]);
    for i in 0..50 {
        c.one(&value("kept-a", i), 3, AGREE);
    }
    // Their leader and one of them: 50 more that never commit.
    let leader2 = c.wait_leader(5 * ELECTION);
    let other = [nth(2), nth(3), nth(4)]
        .into_iter()
        .find(|id| *id != leader2)
        .unwrap();
    let third = [nth(2), nth(3), nth(4)]
        .into_iter()
        .find(|id| *id != leader2 && *id != other)
        .unwrap();
    c.partition(&[&[leader2, third]]);
    for i in 0..50 {
        let _ = c.propose(leader2, value("lost-b", i));
    }
    c.run(ELECTION / 2);
    // The first pair comes back with `other`, which must win and overwrite their 50 entries.
    c.partition(&[&[leader1, nth(1), other]]);
    let rejected_before = rejected_appends(&c.sent);
    for i in 0..50 {
        c.one(&value("kept-b", i), 3, AGREE);
    }
    let rejected_first_backup = rejected_appends(&c.sent) - rejected_before;
    c.heal();
    c.one(b"end", 5, AGREE);
    let rejected = rejected_appends(&c.sent);
    let log: Vec<Vec<u8>> = c.committed_log().into_iter().map(|e| e.data).collect();
    assert!(
        !log.iter().any(|d| d.starts_with(b"lost-")),
        "uncommitted entries were committed"
    );
    assert_eq!(log.iter().filter(|d| d.starts_with(b"kept-")).count(), 100);
    // With conflict hints a follower skips a whole divergent term per rejection; walking back
    // one entry per round trip would take at least 50 rejections per follower.
    eprintln!(
        "fast backup: {rejected_first_backup} rejected appends in the first backup, {rejected} in all"
    );
    assert!(
        rejected_first_backup <= 10,
        "{rejected_first_backup} rejected rounds to back up two followers over 50 entries"
    );
    assert!(rejected <= 25, "{rejected} rejected appends in total");
    c.finish();
}

#[test]
fn lost_acks_with_a_full_window_do_not_stall_a_follower() {
    let mut opts = Options::new(3, 18);
    opts.configure = |cfg| cfg.max_inflight_msgs = 2;
    let mut c = Cluster::new(opts);
    c.one(b"x", 3, AGREE);
    let leader = c.wait_leader(5 * ELECTION);
    let follower = c.alive().into_iter().find(|id| *id != leader).unwrap();
    // The follower receives every append, but its acks are lost: the window fills up.
    c.net.cut_one_way(follower, leader);
    for i in 0..4u8 {
        let _ = c.propose(leader, vec![b'a', i]);
        c.tick();
    }
    c.net.repair_one_way(follower, leader);
    let mut last = 0;
    for i in 0..5u8 {
        last = c.one(&[b'b', i], 2, AGREE);
    }
    assert!(
        c.run_until(5 * ELECTION, |c| c.apps[&follower].applied >= last),
        "follower {follower} stalled at {} (leader at {last})",
        c.apps[&follower].applied
    );
    c.finish();
}
