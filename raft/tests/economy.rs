//! Message economy on the library's test world (3 nodes, ticks of 50 ms, elections after 10..20
//! ticks, a heartbeat per tick): what an election, an idle stretch and a stream of writes cost
//! in messages and bytes, and that a follower that never answers costs a bounded number of
//! bytes. Counts are of the peer messages recorded as sent.

use std::collections::BTreeMap;

use raft::core::{Message, MessageBody, NodeId};
use raft::kv::ClientResponse;
use raft::testing::world::{NetworkSpec, ScriptedWorld, WorldConfig, WorldError};

const TICK: u64 = 50_000;

fn config(seed: u64) -> WorldConfig {
    let mut config = WorldConfig::new(3, seed);
    config.network = NetworkSpec::reliable();
    config
}

fn world(config: WorldConfig) -> ScriptedWorld {
    let mut w = ScriptedWorld::new(config).expect("the world starts");
    w.record_messages();
    w
}

/// Number of messages of each kind.
fn count_by_kind(msgs: &[Message]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for m in msgs {
        *counts.entry(m.body.kind_name()).or_insert(0) += 1;
    }
    counts
}

/// Bytes of entry data carried by AppendEntries messages.
fn append_payload_bytes<'a>(msgs: impl IntoIterator<Item = &'a Message>) -> usize {
    msgs.into_iter()
        .map(|m| match &m.body {
            MessageBody::AppendEntries { entries, .. } => {
                entries.iter().map(|e| e.data.len()).sum::<usize>()
            }
            _ => 0,
        })
        .sum()
}

/// Runs until a stable leader whose whole log every node has committed.
fn settle(w: &mut ScriptedWorld) -> Result<NodeId, WorldError> {
    let settled = w.run_until(200 * TICK, |w| {
        let Some(leader) = w.stable_leader() else {
            return false;
        };
        let last = w.status(leader).unwrap().last_index;
        w.running()
            .iter()
            .all(|id| w.status(*id).unwrap().commit >= last)
    })?;
    assert!(settled, "no settled leader (seed {})", w.seed());
    Ok(w.stable_leader().unwrap())
}

#[test]
fn three_node_election_takes_at_most_30_messages() -> Result<(), WorldError> {
    let mut worst = 0;
    for seed in 1..=20 {
        let mut w = world(config(seed));
        settle(&mut w)?;
        let n = w.recorded().len();
        assert!(
            n <= 30,
            "seed {seed}: election took {n} messages: {:?}",
            count_by_kind(w.recorded())
        );
        assert!(
            n >= 4,
            "seed {seed}: an election with {n} messages cannot have happened"
        );
        worst = worst.max(n);
    }
    eprintln!("3-node election: at most {worst} messages over 20 seeds");
    Ok(())
}

#[test]
fn ten_idle_ticks_take_at_most_60_messages() -> Result<(), WorldError> {
    let mut worst = 0;
    for seed in 1..=5 {
        let mut w = world(config(seed));
        let leader = settle(&mut w)?;
        w.run_for(2 * TICK)?;
        let term = w.status(leader).unwrap().term;
        let before = w.recorded().len();
        w.run_for(10 * TICK)?;
        let idle = &w.recorded()[before..];
        let n = idle.len();
        assert!(
            n <= 60,
            "seed {seed}: ten idle ticks took {n} messages: {:?}",
            count_by_kind(idle)
        );
        assert!(n >= 2, "seed {seed}: the leader went silent");
        worst = worst.max(n);
        assert_eq!(w.stable_leader(), Some(leader));
        assert_eq!(w.status(leader).unwrap().term, term);
    }
    eprintln!("ten idle ticks (3 nodes): at most {worst} messages over 5 seeds");
    Ok(())
}

fn ten_writes_of_5000_bytes(all_at_once: bool) -> Result<(), WorldError> {
    let mut w = world(config(7));
    let leader = settle(&mut w)?;
    w.run_for(2 * TICK)?;
    let before = w.recorded().len();
    let value = "v".repeat(5000);
    let mut tickets = Vec::new();
    for i in 0..10 {
        tickets.push(w.submit_put(leader, &format!("k{i}"), &value));
        if !all_at_once {
            w.run_for(TICK)?;
        }
    }
    let applied = w.run_until(100 * TICK, |w| {
        (0..10).all(|i| w.holding(&format!("k{i}"), &value) == 3)
    })?;
    assert!(applied, "writes not applied");
    for ticket in tickets {
        assert!(matches!(w.reply(ticket), Some(ClientResponse::Ok(_))));
    }
    w.run_for(2 * TICK)?;
    let sent = &w.recorded()[before..];
    let bytes = append_payload_bytes(sent);
    eprintln!(
        "10 x 5,000 bytes ({}): {bytes} bytes of entries in AppendEntries, messages {:?}",
        if all_at_once {
            "at once"
        } else {
            "one per tick"
        },
        count_by_kind(sent)
    );
    assert!(
        bytes >= 2 * 50_000,
        "followers cannot have received everything: {bytes}"
    );
    assert!(
        bytes <= 2 * 50_000 + 50_000,
        "{bytes} bytes of entries sent"
    );
    Ok(())
}

#[test]
fn entry_bytes_cross_each_link_about_once_one_per_tick() -> Result<(), WorldError> {
    ten_writes_of_5000_bytes(false)
}

#[test]
fn entry_bytes_cross_each_link_about_once_at_once() -> Result<(), WorldError> {
    ten_writes_of_5000_bytes(true)
}

#[test]
fn writes_arriving_together_are_replicated_at_once_and_batched() -> Result<(), WorldError> {
    let mut w = world(config(8));
    let leader = settle(&mut w)?;
    w.run_for(2 * TICK)?;
    let before = w.recorded().len();
    let last = w.status(leader).unwrap().last_index + 10;
    let tickets: Vec<_> = (0..10)
        .map(|i| w.submit_put(leader, &format!("k{i}"), &"v".repeat(100)))
        .collect();
    // Well within a tick: no heartbeat carries them.
    let done = w.run_until(TICK / 2, |w| tickets.iter().all(|t| w.reply(*t).is_some()))?;
    assert!(done, "the writes were not answered within half a tick");
    let appends = w.recorded()[before..]
        .iter()
        .filter(|m| m.from == leader)
        .filter(|m| matches!(m.body, MessageBody::AppendEntries { .. }))
        .count();
    eprintln!("10 writes arriving together: {appends} appends from the leader");
    assert!(
        appends <= 2 * 10,
        "more than one append per write and follower: {appends}"
    );
    for id in w.running() {
        assert!(
            w.status(id).unwrap().last_index >= last,
            "node {id} did not get the writes without waiting for a tick"
        );
    }
    assert!(
        w.status(leader).unwrap().commit >= last,
        "the writes are not committed"
    );
    Ok(())
}

#[test]
fn a_silent_follower_costs_a_bounded_number_of_bytes() -> Result<(), WorldError> {
    const INFLIGHT: usize = 4;
    const MSG_BYTES: usize = 1024;
    const TICKS: u64 = 50;
    let mut config = config(9);
    config.max_inflight_msgs = INFLIGHT;
    config.max_msg_bytes = MSG_BYTES;
    // 100 writes a tick are 100 batches, each waiting for its own fsync on the leader's disk:
    // fast fsyncs, so that the disk is not what limits the stream.
    config.network.min_sync_us = 10;
    config.network.max_sync_us = 10;
    let mut w = world(config);
    let leader = settle(&mut w)?;
    let silent = w.running().into_iter().find(|id| *id != leader).unwrap();
    w.world_mut().network_mut().cut_links(&[(silent, leader)]);
    let before = w.recorded().len();
    for tick in 0..TICKS {
        for i in 0..100 {
            w.submit_put(leader, &format!("t{tick}-{i}"), &"7".repeat(50));
        }
        w.run_for(TICK)?;
    }
    let sent = &w.recorded()[before..];
    let bytes = append_payload_bytes(sent.iter().filter(|m| m.to == silent));
    let other_bytes =
        append_payload_bytes(sent.iter().filter(|m| m.from == leader && m.to != silent));
    eprintln!("silent follower got {bytes} bytes, the live one {other_bytes}");
    assert!(
        other_bytes >= (TICKS as usize) * 100 * 50,
        "live follower starved"
    );
    let bound = (INFLIGHT + TICKS as usize + 1) * MSG_BYTES;
    assert!(
        bytes <= bound,
        "{bytes} bytes sent to a silent follower, bound {bound}"
    );
    Ok(())
}
