//! Replication rules: reject hints, truncation, Figure 8, batching, flow control.

use super::*;
use crate::core::*;

#[test]
fn follower_reject_hint_names_the_conflicting_term_and_its_first_index() {
    let mut follower = node_with_log(2, 3, 5, &[1, 2, 2, 2, 2]);
    follower
        .step(append(1, 2, 5, (5, 4), vec![entry(6, 5)]))
        .unwrap();
    assert_eq!(
        last_response(&mut follower),
        MessageBody::AppendEntriesResponse {
            success: false,
            index: 5,
            reject_hint: Some(RejectHint {
                conflict_term: Some(2),
                first_index: 2
            }),
        }
    );
    // Too short a log: hint is its length + 1.
    follower.step(append(1, 2, 5, (9, 4), vec![])).unwrap();
    assert_eq!(
        last_response(&mut follower),
        MessageBody::AppendEntriesResponse {
            success: false,
            index: 9,
            reject_hint: Some(RejectHint {
                conflict_term: None,
                first_index: 6
            }),
        }
    );
}

#[test]
fn leader_skips_a_whole_term_per_round_trip() {
    // Leader (term 5) log: 1 1 3 3 3 3; follower: 1 2 2 2 2 2 2 2 (divergent term-2 suffix).
    let mut leader = node_with_log(1, 2, 4, &[1, 1, 3, 3, 3, 3]);
    leader.campaign();
    leader.ready();
    leader
        .step(msg(2, 1, 5, MessageBody::PreVoteResponse { granted: true }))
        .unwrap();
    leader.ready();
    leader
        .step(msg(2, 1, 5, MessageBody::VoteResponse { granted: true }))
        .unwrap();
    assert_eq!(leader.status().role, Role::Leader);
    let mut follower = node_with_log(2, 2, 5, &[1, 2, 2, 2, 2, 2, 2, 2]);
    let mut round_trips = 0;
    loop {
        let rd = leader.ready();
        let Some(m) = rd.messages.into_iter().find(|m| m.to == 2) else {
            break;
        };
        follower.step(m).unwrap();
        let resp = follower.ready().messages.pop().unwrap();
        let done = matches!(
            resp.body,
            MessageBody::AppendEntriesResponse { success: true, .. }
        );
        leader.step(resp).unwrap();
        round_trips += 1;
        if done {
            break;
        }
    }
    assert!(round_trips <= 3, "{round_trips} round trips");
    assert_eq!(follower.status().last_index, 7);
    assert_eq!(follower.log_term(2), Some(1));
    assert_eq!(follower.log_term(7), Some(5));
}

#[test]
fn stale_append_never_truncates_matching_entries() {
    let mut follower = node_with_log(2, 3, 2, &[]);
    let all: Vec<Entry> = (1..=5).map(|i| entry(i, 2)).collect();
    follower.step(append(1, 2, 2, (0, 0), all.clone())).unwrap();
    follower.ready();
    // A delayed copy of an older, shorter AppendEntries arrives.
    follower
        .step(append(1, 2, 2, (1, 2), all[1..3].to_vec()))
        .unwrap();
    assert_eq!(follower.status().last_index, 5);
    assert_eq!(
        last_response(&mut follower),
        MessageBody::AppendEntriesResponse {
            success: true,
            index: 3,
            reject_hint: None
        }
    );
}

#[test]
fn planted_truncate_matching_bug_drops_acknowledged_entries() {
    let mut cfg = config(2);
    cfg.bugs.truncate_matching = true;
    let mut follower = Node::bootstrap(cfg, ConfState::with_voters([1, 2, 3])).unwrap();
    let all: Vec<Entry> = (1..=5).map(|i| entry(i, 2)).collect();
    follower.step(append(1, 2, 2, (0, 0), all.clone())).unwrap();
    follower
        .step(append(1, 2, 2, (1, 2), all[1..3].to_vec()))
        .unwrap();
    assert_eq!(follower.status().last_index, 3);
}

#[test]
fn follower_truncates_from_the_first_real_conflict_only() {
    let mut follower = node_with_log(2, 3, 3, &[1, 1, 2, 2]);
    follower.ready();
    // Leader of term 3 has 1 1 2 3 3.
    follower
        .step(append(
            1,
            2,
            3,
            (1, 1),
            vec![entry(2, 1), entry(3, 2), entry(4, 3), entry(5, 3)],
        ))
        .unwrap();
    let rd = follower.ready();
    assert_eq!(
        rd.entries.first().map(|e| e.index),
        Some(4),
        "only 4.. is rewritten"
    );
    assert_eq!(follower.log_term(4), Some(3));
    assert_eq!(follower.status().last_index, 5);
}

/// Builds a leader of `term` whose log holds `terms`, with followers 2..=n in probe state.
fn leader_with_log(n: u64, cfg: Config, term: Term, terms: &[Term]) -> Node {
    let entries = terms
        .iter()
        .enumerate()
        .map(|(i, t)| entry(i as Index + 1, *t))
        .collect();
    let persisted = PersistedState {
        hard_state: HardState {
            term: term - 1,
            vote: None,
            commit: 0,
        },
        snapshot: None,
        entries,
    };
    let mut cfg = cfg;
    cfg.pre_vote = false;
    let mut leader = Node::restart(cfg, ConfState::with_voters(1..=n), persisted).unwrap();
    leader.campaign();
    for v in 2..=n {
        leader
            .step(msg(v, 1, term, MessageBody::VoteResponse { granted: true }))
            .unwrap();
    }
    assert_eq!(leader.status().role, Role::Leader);
    assert_eq!(leader.status().term, term);
    durable_ready(&mut leader);
    leader
}

#[test]
fn figure_8_old_term_entries_are_not_committed_by_counting() {
    // Leader of term 4 holds an entry of term 2 at index 2 (and its no-op of term 4 at 3).
    let mut leader = leader_with_log(5, config(1), 4, &[1, 2]);
    for v in [2, 3] {
        leader
            .step(msg(
                v,
                1,
                4,
                MessageBody::AppendEntriesResponse {
                    success: true,
                    index: 2,
                    reject_hint: None,
                },
            ))
            .unwrap();
    }
    assert_eq!(
        leader.status().commit,
        0,
        "index 2 (term 2) is on a majority but not committable"
    );
    leader
        .step(msg(
            2,
            1,
            4,
            MessageBody::AppendEntriesResponse {
                success: true,
                index: 3,
                reject_hint: None,
            },
        ))
        .unwrap();
    leader
        .step(msg(
            3,
            1,
            4,
            MessageBody::AppendEntriesResponse {
                success: true,
                index: 3,
                reject_hint: None,
            },
        ))
        .unwrap();
    assert_eq!(
        leader.status().commit,
        3,
        "the own-term no-op commits everything before it"
    );
}

#[test]
fn planted_commit_old_term_bug_commits_by_counting() {
    let mut cfg = config(1);
    cfg.bugs.commit_old_term = true;
    let mut leader = leader_with_log(5, cfg, 4, &[1, 2]);
    for v in [2, 3] {
        leader
            .step(msg(
                v,
                1,
                4,
                MessageBody::AppendEntriesResponse {
                    success: true,
                    index: 2,
                    reject_hint: None,
                },
            ))
            .unwrap();
    }
    assert_eq!(leader.status().commit, 2);
}

#[test]
fn proposals_are_batched_into_one_append_per_follower() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.delivered.clear();
    for i in 0..10u8 {
        pump.node(1).propose(vec![i; 100]).unwrap();
    }
    pump.run();
    assert_eq!(pump.count("AppendEntries"), 2);
    assert_eq!(pump.node(1).status().commit, 11);
}

#[test]
fn heartbeat_responses_do_not_resend_inflight_entries() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.tick_all(3);
    // Propose; the leader sends the entries, then a heartbeat follows on the same links.
    pump.node(1).propose(vec![1; 1000]).unwrap();
    let appends = pump.node(1).ready().messages;
    assert_eq!(appends.len(), 2);
    pump.node(1).tick();
    let beats = pump.node(1).ready().messages;
    // Followers get both in order, but only the heartbeat answers reach the leader so far.
    let mut append_responses = Vec::new();
    for m in appends.into_iter().chain(beats) {
        let to = m.to;
        pump.node(to).step(m).unwrap();
        for r in pump.node(to).ready().messages {
            if matches!(r.body, MessageBody::HeartbeatResponse { .. }) {
                pump.node(1).step(r).unwrap();
            } else {
                append_responses.push(r);
            }
        }
    }
    // The heartbeat answers overtook the acks (as if the acks were lost): at most an empty
    // probe goes out, never the in-flight entries again.
    let after = pump.node(1).ready().messages;
    assert!(
        after.iter().all(|m| !matches!(
            &m.body,
            MessageBody::AppendEntries { entries, .. } if !entries.is_empty()
        )),
        "in-flight entries were resent: {} messages",
        after.len()
    );
    for m in after {
        let to = m.to;
        pump.node(to).step(m).unwrap();
        for r in pump.node(to).ready().messages {
            append_responses.push(r);
        }
    }
    for r in append_responses {
        pump.node(1).step(r).unwrap();
    }
    pump.run();
    assert_eq!(pump.node(1).status().commit, 2);
}

#[test]
fn lost_acks_with_a_full_window_recover_without_resending_entries() {
    let mut cfg = config(1);
    cfg.max_inflight_msgs = 2;
    let mut pump = Pump::with(3, |id| if id == 1 { cfg.clone() } else { config(id) });
    pump.elect(1);
    pump.tick_all(2);
    // Fill node 3's window; node 3 gets every append but all its answers are lost.
    for _ in 0..2 {
        pump.node(1).propose(vec![5; 10]).unwrap();
        for m in pump.node(1).ready().messages {
            let to = m.to;
            pump.node(to).step(m).unwrap();
            let answers = pump.node(to).ready().messages;
            if to == 2 {
                for r in answers {
                    pump.node(1).step(r).unwrap();
                }
            }
        }
    }
    assert_eq!(pump.node(3).status().last_index, 3);
    pump.node(1).propose(vec![6; 10]).unwrap();
    let rd = pump.node(1).ready();
    assert!(
        rd.messages.iter().all(|m| m.to != 3),
        "node 3's window is full"
    );
    for m in rd.messages {
        let to = m.to;
        pump.node(to).step(m).unwrap();
    }
    pump.delivered.clear();
    // The link heals; a heartbeat round reveals the lost acks.
    pump.tick_all(3);
    assert_eq!(pump.node(3).status().last_index, 4);
    let resent: usize = pump
        .delivered
        .iter()
        .filter(|m| m.to == 3)
        .map(|m| match &m.body {
            MessageBody::AppendEntries { entries, .. } => entries.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(resent, 1, "only the entry node 3 never received is sent");
}

#[test]
fn a_lost_append_is_resent_after_the_next_heartbeat_round() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.tick_all(3);
    pump.node(1).propose(vec![1; 10]).unwrap();
    let lost = pump.node(1).ready().messages;
    assert_eq!(lost.len(), 2);
    pump.delivered.clear();
    pump.tick_all(2);
    assert_eq!(pump.count("AppendEntries"), 2, "one resend per follower");
    assert_eq!(pump.node(1).status().commit, 2);
}

#[test]
fn the_inflight_window_bounds_what_a_silent_follower_costs() {
    let mut cfg = config(1);
    cfg.max_inflight_msgs = 4;
    cfg.max_msg_bytes = 1000;
    let mut pump = Pump::with(3, |id| if id == 1 { cfg.clone() } else { config(id) });
    pump.elect(1);
    pump.isolated.insert(3);
    pump.delivered.clear();
    let mut sent_to_3 = 0;
    for _ in 0..50 {
        pump.node(1).propose(vec![0; 900]).unwrap();
        let rd = durable_ready(pump.node(1));
        sent_to_3 += rd
            .messages
            .iter()
            .filter(|m| m.to == 3 && matches!(m.body, MessageBody::AppendEntries { .. }))
            .count();
        for m in rd.messages {
            if m.to == 2 {
                pump.node(2).step(m).unwrap();
            }
        }
        pump.run();
    }
    assert_eq!(sent_to_3, 4, "window of 4 messages to the silent follower");
    assert_eq!(pump.node(1).status().commit, 51);
}

#[test]
fn messages_respect_the_byte_budget() {
    let mut cfg = config(1);
    cfg.max_msg_bytes = 1000;
    let mut pump = Pump::with(2, |id| if id == 1 { cfg.clone() } else { config(id) });
    pump.elect(1);
    pump.delivered.clear();
    for _ in 0..10 {
        pump.node(1).propose(vec![0; 300]).unwrap();
    }
    pump.run();
    for m in &pump.delivered {
        if let MessageBody::AppendEntries { entries, .. } = &m.body {
            let bytes: usize = entries.iter().map(|e| e.data.len()).sum();
            assert!(bytes <= 1000, "{bytes} bytes in one message");
        }
    }
    assert_eq!(pump.node(2).status().last_index, 11);
}
