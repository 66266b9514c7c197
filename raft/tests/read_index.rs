//! Read-index scenarios on the library's test world: a KV read is served through the read-index
//! path (no log entry), so what it returns shows whether it was linearizable. Reads on the
//! leader see every earlier write; a deposed leader (with or without check-quorum) never serves
//! a read while cut off, and what it serves after healing is current; a new leader serves no
//! read before an entry of its own term commits.

use raft::core::{MessageBody, Role};
use raft::kv::{ClientResponse, Op, OpResult};
use raft::testing::world::{NetworkSpec, ScriptedWorld, Ticket, WorldConfig, WorldError};

const ELECTION: u64 = 1_000_000;
const AGREE: u64 = 10 * ELECTION;

fn world(nodes: u64, seed: u64) -> ScriptedWorld {
    let mut config = WorldConfig::new(nodes, seed);
    config.network = NetworkSpec::reliable();
    ScriptedWorld::new(config).expect("the world starts")
}

fn submit_get(w: &mut ScriptedWorld, to: u64, key: &str) -> Ticket {
    let request = w.kv_request(Op::Get { key: key.into() });
    w.submit(to, request)
}

/// The value a read returned, if it was served.
fn served(w: &ScriptedWorld, ticket: Ticket) -> Option<Option<String>> {
    match w.reply(ticket) {
        Some(ClientResponse::Ok(OpResult::Value(value))) => Some(value.clone()),
        _ => None,
    }
}

#[test]
fn read_index_on_leader_covers_earlier_commits() -> Result<(), WorldError> {
    let mut w = world(3, 61);
    for i in 0..5 {
        w.replicate("k", &format!("v{i}"), 3, AGREE)?;
    }
    let leader = w.wait_leader(5 * ELECTION)?;
    let mut reads = Vec::new();
    for r in 1..=5 {
        reads.push(submit_get(&mut w, leader, "k"));
        w.submit_put(leader, "k", &format!("w{r}"));
    }
    let all = w.run_until(2 * ELECTION, |w| {
        reads.iter().all(|t| served(w, *t).is_some())
    })?;
    assert!(all, "reads not served");
    for (r, ticket) in reads.iter().enumerate() {
        let value = served(&w, *ticket).unwrap().unwrap_or_default();
        // v4 was committed before any read; read r may see writes w1..w(r) sent before it.
        assert!(
            value == "v4"
                || (value.starts_with('w') && value[1..].parse::<usize>().unwrap() <= r + 1),
            "read {} returned {value}, older than what was committed before it",
            r + 1
        );
    }
    Ok(())
}

#[test]
fn read_index_refused_on_deposed_leader() -> Result<(), WorldError> {
    let mut w = world(5, 62);
    w.replicate("k", "x", 5, AGREE)?;
    let old = w.wait_leader(5 * ELECTION)?;
    let others: Vec<_> = w.running().into_iter().filter(|id| *id != old).collect();
    w.partition(&[&[old, others[0]], &others[1..]]);
    let first = submit_get(&mut w, old, "k");
    for i in 0..5 {
        w.replicate("k", &format!("n{i}"), 3, AGREE)?;
    }
    assert_eq!(served(&w, first), None, "deposed leader served a read");
    assert!(w.run_until(2 * ELECTION, |w| w.status(old).unwrap().role
        != Role::Leader)?);
    let second = submit_get(&mut w, old, "k");
    w.run_for(ELECTION / 10)?;
    assert!(
        matches!(w.reply(second), Some(ClientResponse::NotLeader { .. })),
        "deposed leader did not refuse a read: {:?}",
        w.reply(second)
    );
    w.heal();
    w.run_for(3 * ELECTION)?;
    if let Some(value) = served(&w, first) {
        assert_eq!(value.as_deref(), Some("n4"), "stale read after healing");
    }
    Ok(())
}

#[test]
fn read_index_on_deposed_leader_without_check_quorum() -> Result<(), WorldError> {
    let mut config = WorldConfig::new(3, 63);
    config.network = NetworkSpec::reliable();
    config.tune = |cfg| cfg.node.check_quorum = false;
    let mut w = ScriptedWorld::new(config)?;
    w.replicate("k", "x", 3, AGREE)?;
    let old = w.wait_leader(5 * ELECTION)?;
    w.isolate(old);
    for i in 0..5 {
        w.replicate("k", &format!("n{i}"), 2, AGREE)?;
    }
    let mut reads = Vec::new();
    for _ in 0..5 {
        reads.push(submit_get(&mut w, old, "k"));
        w.run_for(ELECTION)?;
    }
    for ticket in &reads {
        assert_eq!(
            served(&w, *ticket),
            None,
            "isolated old leader served a read"
        );
    }
    w.heal();
    w.run_for(3 * ELECTION)?;
    for ticket in &reads {
        if let Some(value) = served(&w, *ticket) {
            assert_eq!(value.as_deref(), Some("n4"), "stale read after healing");
        }
    }
    Ok(())
}

#[test]
fn read_index_waits_for_a_commit_in_the_new_leaders_term() -> Result<(), WorldError> {
    let mut w = world(3, 64);
    w.replicate("k", "x", 3, AGREE)?;
    let old = w.wait_leader(5 * ELECTION)?;
    w.crash(old);
    w.world_mut().set_drop_filter(Some(Box::new(|m| {
        matches!(m.body, MessageBody::AppendEntries { .. })
    })));
    assert!(
        w.run_until(10 * ELECTION, |w| w.leader().is_some())?,
        "no new leader"
    );
    let new = w.leader().unwrap();
    let read = submit_get(&mut w, new, "k");
    w.run_for(3 * ELECTION)?;
    assert_eq!(
        served(&w, read),
        None,
        "read served before the new leader committed an entry of its term"
    );
    w.world_mut().set_drop_filter(None);
    assert!(
        w.run_until(5 * ELECTION, |w| served(w, read).is_some())?,
        "the read never resolved"
    );
    assert_eq!(served(&w, read).unwrap().as_deref(), Some("x"));
    Ok(())
}
