//! Figure 8 of the Raft paper, scripted exactly on five nodes of the library's test world (one
//! entry per append, one append in flight, so an old-term entry can reach a majority before the
//! new leader's no-op):
//! 1. leader L replicates write A (term t1) to one follower F only;
//! 2. L crashes; a leader X of a later term appends its no-op at A's index, sends it to nobody,
//!    and crashes;
//! 3. L restarts and leads term t3; A (an old-term entry) reaches a majority but L's own no-op
//!    reaches nobody; L crashes;
//! 4. X restarts, wins (its last term is higher) and overwrites A everywhere.
//!
//! A correct core never counts A as committed in step 3, so step 4 is safe. With the planted
//! `commit_old_term` bug it does, and step 4 destroys a committed entry: the world's invariant
//! checker stops the script with a violation.

use raft::core::{EntryKind, MessageBody, NodeId};
use raft::testing::world::{NetworkSpec, ScriptedWorld, WorldConfig, WorldError};

const AGREE: u64 = 20_000_000;
const TICK: u64 = 50_000;

/// Runs the script; returns the world at the end.
pub fn figure8_script(seed: u64, planted_bug: bool) -> Result<ScriptedWorld, WorldError> {
    let mut config = WorldConfig::new(5, seed);
    config.network = NetworkSpec::reliable();
    config.max_msg_bytes = 1;
    config.max_inflight_msgs = 1;
    config.core_bugs.commit_old_term = planted_bug;
    let mut w = ScriptedWorld::new(config)?;
    w.replicate("base", "x", 5, AGREE)?;
    let l = w.wait_leader(AGREE)?;
    let others: Vec<NodeId> = w.running().into_iter().filter(|id| *id != l).collect();
    let f = others[0];
    // 1. A reaches F only.
    w.partition(&[&[l, f], &others[1..]]);
    let before = w.status(l).unwrap().last_index;
    w.submit_put(l, "A", "A");
    let a = before + 1;
    let got_a = w.run_until(AGREE, |w| w.status(f).is_some_and(|s| s.last_index >= a))?;
    assert!(got_a, "F did not get A");
    w.run_for(TICK / 5)?;
    w.crash(l);
    // 2. A new leader among the other three; none of its appends get out.
    w.world_mut().set_drop_filter(Some(Box::new(|m| {
        matches!(m.body, MessageBody::AppendEntries { .. })
    })));
    let side = others[1..].to_vec();
    let elected = w.run_until(AGREE, |w| w.leader().is_some_and(|id| side.contains(&id)))?;
    assert!(elected, "no leader among the majority side");
    let x = w.leader().unwrap();
    assert_eq!(
        w.status(x).map(|s| s.last_index),
        Some(a),
        "X has no entry at A's index"
    );
    // Its no-op reaches its disk (a crash keeps only what was synced).
    w.run_for(TICK)?;
    w.crash(x);
    // 3. L comes back and leads; its own-term entries never get out, older ones do.
    w.heal();
    w.restart(l)?;
    w.world_mut()
        .set_drop_filter(Some(Box::new(|m| match &m.body {
            MessageBody::AppendEntries { entries, .. } => entries
                .iter()
                .any(|e| e.term == m.term || e.kind == EntryKind::Noop),
            _ => false,
        })));
    let led = w.run_until(AGREE, |w| w.leader() == Some(l) || w.leader() == Some(f))?;
    assert!(led, "neither L nor F took over");
    w.run_for(40 * TICK)?;
    let leader = w.leader().unwrap();
    w.crash(leader);
    // 4. X comes back with the highest last term and takes over (the others are cut off from
    //    each other, so only X can gather a majority).
    w.world_mut().set_drop_filter(None);
    w.restart(x)?;
    let rest: Vec<NodeId> = w.running().into_iter().filter(|id| *id != x).collect();
    for a in &rest {
        for b in &rest {
            if a != b {
                w.world_mut().network_mut().cut_links(&[(*a, *b)]);
            }
        }
    }
    let x_leads = w.run_until(AGREE, |w| w.leader() == Some(x))?;
    assert!(x_leads, "X did not take over");
    w.heal();
    w.restart_all()?;
    w.replicate("end", "x", 5, AGREE)?;
    Ok(w)
}
