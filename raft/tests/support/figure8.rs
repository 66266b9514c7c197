//! Figure 8 of the Raft paper, scripted exactly on five nodes (one entry per append, one append
//! in flight, so an old-term entry can reach a majority before the new leader's no-op):
//! 1. leader L replicates entry A (term t1) to one follower F only;
//! 2. L crashes; a leader X of a later term appends its no-op at A's index, sends it to nobody,
//!    and crashes;
//! 3. L restarts and leads term t3; A (an old-term entry) reaches a majority but L's own no-op
//!    reaches nobody; L crashes;
//! 4. X restarts, wins (its last term is higher) and overwrites A everywhere.
//!
//! A correct core never counts A as committed in step 3, so step 4 is safe. With the planted
//! `commit_old_term` bug it does, and step 4 destroys a committed entry.

use raft::core::{EntryKind, MessageBody, NodeId};

use super::{Cluster, Options};

/// Runs the script; returns the index of A and the cluster at the end.
pub fn figure8_script(seed: u64, planted_bug: bool) -> (u64, Cluster) {
    let mut opts = Options::new(5, seed);
    opts.configure = if planted_bug {
        |cfg| {
            cfg.bugs.commit_old_term = true;
            cfg.max_msg_bytes = 1;
            cfg.max_inflight_msgs = 1;
        }
    } else {
        |cfg| {
            cfg.max_msg_bytes = 1;
            cfg.max_inflight_msgs = 1;
        }
    };
    let mut c = Cluster::new(opts);
    c.one(b"base", 5, 400);
    let l = c.wait_leader(200);
    let others: Vec<NodeId> = c.alive().into_iter().filter(|id| *id != l).collect();
    let f = others[0];
    // 1. A reaches F only.
    c.partition(&[&[l, f], &others[1..]]);
    let a = c.propose(l, b"A".to_vec()).expect("leader accepts A");
    c.deliver_due();
    assert_eq!(
        c.status(f).map(|s| s.last_index),
        Some(a),
        "F did not get A"
    );
    c.crash(l);
    // 2. A new leader among the other three; none of its appends get out.
    c.net.drop_filter = Some(Box::new(|m| {
        matches!(m.body, MessageBody::AppendEntries { .. })
    }));
    assert!(
        c.run_until(400, |c| c
            .leader()
            .is_some_and(|id| others[1..].contains(&id))),
        "no leader among the majority side"
    );
    let x = c.leader().unwrap_or_else(|| unreachable!());
    assert_eq!(
        c.status(x).map(|s| s.last_index),
        Some(a),
        "X has no entry at A's index"
    );
    c.crash(x);
    // 3. L comes back and leads; its own-term entries never get out, older ones do.
    c.heal();
    c.restart(l);
    c.net.drop_filter = Some(Box::new(|m| match &m.body {
        MessageBody::AppendEntries { entries, .. } => entries
            .iter()
            .any(|e| e.term == m.term || e.kind == EntryKind::Noop),
        _ => false,
    }));
    let led = c.run_until(400, |c| c.leader() == Some(l) || c.leader() == Some(f));
    assert!(led, "neither L nor F took over");
    c.run(40);
    let leader = c.leader().unwrap_or_else(|| unreachable!());
    c.crash(leader);
    // 4. X comes back with the highest last term and takes over (the others are cut off from
    //    each other, so only X can gather a majority).
    c.net.drop_filter = None;
    c.restart(x);
    let rest: Vec<NodeId> = c.alive().into_iter().filter(|id| *id != x).collect();
    for a in &rest {
        for b in &rest {
            if a != b {
                c.net.cut_one_way(*a, *b);
            }
        }
    }
    let x_leads = c.run_until(400, |c| c.leader() == Some(x));
    assert!(x_leads, "X did not take over");
    c.heal();
    for id in c.ids.clone() {
        c.restart(id);
    }
    c.one(b"end", 5, 400);
    c.finish();
    (a, c)
}
