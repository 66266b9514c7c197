//! Message economy on a reliable network. Timing for all of these: election_tick 10 (timeouts
//! drawn in 10..20 ticks) and heartbeat_tick 1, so "a second" is 10 ticks (one election tick
//! period of heartbeats). Budgets: a 3-node election (up to every node knowing the leader's
//! first entry is committed) takes at most 30 messages; an idle second at most 60; and in steady
//! state entry bytes cross each link about once: 10 proposals of 5,000 bytes move at most
//! 2 x 50,000 + 50,000 bytes of entry data in AppendEntries.

mod support;

use support::messages::{append_payload_bytes, count_by_kind};
use support::{Cluster, Options};

const SECOND: u64 = 10;

fn cluster(seed: u64) -> Cluster {
    let mut opts = Options::new(3, seed);
    opts.record_messages = true;
    opts.configure = |cfg| {
        cfg.election_tick = 10;
        cfg.heartbeat_tick = 1;
    };
    Cluster::new(opts)
}

/// Tick until a stable leader exists and every node knows its first entry is committed.
fn settle(c: &mut Cluster) -> u64 {
    let settled = c.run_until(200, |c| {
        let Some(leader) = c.stable_leader() else {
            return false;
        };
        let last = c.status(leader).unwrap().last_index;
        c.alive()
            .iter()
            .all(|id| c.status(*id).unwrap().commit >= last)
    });
    assert!(settled, "no settled leader (seed {})", c.seed);
    c.stable_leader().unwrap()
}

#[test]
fn three_node_election_takes_at_most_30_messages() {
    let mut worst = 0;
    for seed in 1..=20 {
        let mut c = cluster(seed);
        settle(&mut c);
        let n = c.sent.len();
        assert!(
            n <= 30,
            "seed {seed}: election took {n} messages: {:?}",
            count_by_kind(&c.sent)
        );
        assert!(
            n >= 4,
            "seed {seed}: an election with {n} messages cannot have happened"
        );
        worst = worst.max(n);
        c.finish();
    }
    eprintln!("3-node election: at most {worst} messages over 20 seeds");
}

#[test]
fn idle_second_takes_at_most_60_messages() {
    let mut worst = 0;
    for seed in 1..=5 {
        let mut c = cluster(seed);
        let leader = settle(&mut c);
        c.run(2);
        let term = c.status(leader).unwrap().term;
        c.sent.clear();
        c.run(SECOND);
        let n = c.sent.len();
        assert!(
            n <= 60,
            "seed {seed}: idle second took {n} messages: {:?}",
            count_by_kind(&c.sent)
        );
        // The leader must still assert itself: at least one heartbeat to each follower.
        assert!(n >= 2, "seed {seed}: the leader went silent");
        worst = worst.max(n);
        assert_eq!(c.stable_leader(), Some(leader));
        assert_eq!(c.status(leader).unwrap().term, term);
        c.finish();
    }
    eprintln!("idle second (10 ticks, 3 nodes): at most {worst} messages over 5 seeds");
}

fn ten_proposals_of_5000_bytes(all_at_once: bool) {
    let mut c = cluster(7);
    let leader = settle(&mut c);
    c.run(2);
    c.sent.clear();
    let mut last = 0;
    for i in 0..10u8 {
        last = c.propose(leader, vec![i; 5000]).expect("leader accepts");
        if !all_at_once {
            c.tick();
        }
    }
    assert!(
        c.run_until(100, |c| c
            .alive()
            .iter()
            .all(|id| c.apps[id].applied >= last)),
        "proposals not applied"
    );
    c.run(2);
    let bytes = append_payload_bytes(&c.sent);
    eprintln!(
        "10 x 5,000 bytes ({}): {bytes} bytes of entries in AppendEntries, messages {:?}",
        if all_at_once {
            "one batch"
        } else {
            "one per tick"
        },
        count_by_kind(&c.sent)
    );
    assert!(
        bytes >= 2 * 50_000,
        "followers cannot have received everything: {bytes}"
    );
    assert!(
        bytes <= 2 * 50_000 + 50_000,
        "{bytes} bytes of entries sent"
    );
    c.finish();
}

#[test]
fn entry_bytes_cross_each_link_about_once_one_per_tick() {
    ten_proposals_of_5000_bytes(false);
}

#[test]
fn entry_bytes_cross_each_link_about_once_in_one_batch() {
    ten_proposals_of_5000_bytes(true);
}

#[test]
fn proposals_are_replicated_at_once_and_batched() {
    let mut c = cluster(8);
    let leader = settle(&mut c);
    c.run(2);
    c.sent.clear();
    // Ten proposals before the next Ready: one AppendEntries per follower, no tick needed.
    let last = c.with_node(leader, |n| {
        let mut last = 0;
        for i in 0..10u8 {
            last = n.propose(vec![i; 100]).expect("leader accepts");
        }
        last
    });
    c.deliver_due();
    let appends: Vec<_> = c
        .sent
        .iter()
        .filter(|m| m.from == leader)
        .filter(|m| matches!(m.body, raft::core::MessageBody::AppendEntries { .. }))
        .collect();
    assert_eq!(
        appends.len(),
        2,
        "not one batched append per follower: {appends:?}"
    );
    for id in c.alive() {
        assert_eq!(
            c.status(id).unwrap().last_index,
            last,
            "node {id} did not get the batch without waiting for a tick"
        );
    }
    assert!(
        c.status(leader).unwrap().commit >= last,
        "the batch is not committed"
    );
    c.finish();
}

#[test]
fn a_silent_follower_costs_a_bounded_number_of_bytes() {
    const INFLIGHT: usize = 4;
    const MSG_BYTES: usize = 1024;
    const TICKS: u64 = 50;
    let mut opts = Options::new(3, 9);
    opts.record_messages = true;
    opts.configure = |cfg| {
        cfg.max_inflight_msgs = INFLIGHT;
        cfg.max_msg_bytes = MSG_BYTES;
    };
    let mut c = Cluster::new(opts);
    let leader = settle(&mut c);
    let silent = c.alive().into_iter().find(|id| *id != leader).unwrap();
    c.isolate(silent);
    c.net.repair_one_way(leader, silent);
    // The follower receives but never answers; the leader writes 10 KB per tick.
    c.net.cut_one_way(silent, leader);
    c.sent.clear();
    for _ in 0..TICKS {
        c.with_node(leader, |n| {
            for _ in 0..100 {
                n.propose(vec![7; 100]).expect("leader accepts");
            }
        });
        c.tick();
    }
    let to_silent: Vec<_> = c.sent.iter().filter(|m| m.to == silent).cloned().collect();
    let bytes = append_payload_bytes(&to_silent);
    let to_other: Vec<_> = c
        .sent
        .iter()
        .filter(|m| m.from == leader && m.to != silent)
        .cloned()
        .collect();
    let other_bytes = append_payload_bytes(&to_other);
    eprintln!("silent follower got {bytes} bytes, the live one {other_bytes}");
    assert!(
        other_bytes >= (TICKS as usize) * 100 * 100,
        "live follower starved"
    );
    // The window plus one probe per heartbeat, each within the byte budget (an entry is 100
    // bytes of data plus overhead, so a budgeted message holds at most MSG_BYTES of data).
    let bound = (INFLIGHT + TICKS as usize + 1) * MSG_BYTES;
    assert!(
        bytes <= bound,
        "{bytes} bytes sent to a silent follower, bound {bound}"
    );
    c.finish();
}
