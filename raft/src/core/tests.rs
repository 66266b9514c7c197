//! Unit tests of the protocol rules, each driving one or a few nodes by hand through a tiny
//! lossless in-module message pump (scenario tests with a faulty network live in `raft/tests`).

use std::collections::{BTreeMap, BTreeSet};

use super::*;

fn config(id: NodeId) -> Config {
    Config {
        seed: 7,
        ..Config::new(id)
    }
}

fn entry(index: Index, term: Term) -> Entry {
    Entry {
        term,
        index,
        kind: EntryKind::Normal,
        data: vec![index as u8],
    }
}

/// A few nodes wired together; messages are delivered until quiet.
struct Pump {
    nodes: BTreeMap<NodeId, Node>,
    isolated: BTreeSet<NodeId>,
    delivered: Vec<Message>,
    applied: BTreeMap<NodeId, Vec<Entry>>,
    reads: BTreeMap<NodeId, Vec<ReadState>>,
}

impl Pump {
    fn new(n: u64) -> Pump {
        Pump::with(n, config)
    }

    fn with(n: u64, cfg: impl Fn(NodeId) -> Config) -> Pump {
        let conf = ConfState::with_voters(1..=n);
        let nodes = (1..=n)
            .map(|id| (id, Node::bootstrap(cfg(id), conf.clone()).unwrap()))
            .collect();
        Pump {
            nodes,
            isolated: BTreeSet::new(),
            delivered: Vec::new(),
            applied: BTreeMap::new(),
            reads: BTreeMap::new(),
        }
    }

    fn node(&mut self, id: NodeId) -> &mut Node {
        self.nodes.get_mut(&id).unwrap()
    }

    /// Collects every Ready and delivers its messages, until no node has anything to do.
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut msgs = Vec::new();
            for (id, node) in self.nodes.iter_mut() {
                if node.has_ready() {
                    let rd = node.ready();
                    self.applied
                        .entry(*id)
                        .or_default()
                        .extend(rd.committed_entries);
                    self.reads.entry(*id).or_default().extend(rd.read_states);
                    msgs.extend(rd.messages);
                    node.advance();
                }
            }
            if msgs.is_empty() {
                return;
            }
            for m in msgs {
                if self.isolated.contains(&m.from) || self.isolated.contains(&m.to) {
                    continue;
                }
                if let Some(node) = self.nodes.get_mut(&m.to) {
                    self.delivered.push(m.clone());
                    node.step(m).unwrap();
                }
            }
        }
        panic!("the pump did not quiesce");
    }

    fn tick_all(&mut self, ticks: u32) {
        for _ in 0..ticks {
            for node in self.nodes.values_mut() {
                node.tick();
            }
            self.run();
        }
    }

    fn elect(&mut self, id: NodeId) {
        self.node(id).campaign();
        self.run();
        assert_eq!(self.node(id).status().role, Role::Leader);
    }

    /// Ticks only `ids` until one of them leads; returns it.
    fn tick_until_leader(&mut self, ids: &[NodeId]) -> NodeId {
        for _ in 0..500 {
            for id in ids {
                self.node(*id).tick();
            }
            self.run();
            if let Some(id) = ids
                .iter()
                .find(|id| self.nodes[id].status().role == Role::Leader)
            {
                return *id;
            }
        }
        panic!("no leader among {ids:?}");
    }

    fn count(&self, kind: &str) -> usize {
        self.delivered
            .iter()
            .filter(|m| m.body.kind_name() == kind)
            .count()
    }
}

/// A follower whose log holds the given terms at indexes 1.. (already persisted).
fn node_with_log(id: NodeId, voters: u64, term: Term, terms: &[Term]) -> Node {
    let entries = terms
        .iter()
        .enumerate()
        .map(|(i, t)| entry(i as Index + 1, *t))
        .collect();
    let persisted = PersistedState {
        hard_state: HardState {
            term,
            vote: None,
            commit: 0,
        },
        snapshot: None,
        entries,
    };
    Node::restart(config(id), ConfState::with_voters(1..=voters), persisted).unwrap()
}

fn msg(from: NodeId, to: NodeId, term: Term, body: MessageBody) -> Message {
    Message {
        from,
        to,
        term,
        body,
    }
}

fn append(
    from: NodeId,
    to: NodeId,
    term: Term,
    prev: (Index, Term),
    entries: Vec<Entry>,
) -> Message {
    msg(
        from,
        to,
        term,
        MessageBody::AppendEntries {
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries,
            commit: 0,
        },
    )
}

fn last_response(node: &mut Node) -> MessageBody {
    node.ready().messages.pop().expect("a response").body
}

#[test]
fn single_node_elects_itself_and_commits_at_once() {
    let mut pump = Pump::new(1);
    pump.elect(1);
    let index = pump.node(1).propose(b"x".to_vec()).unwrap();
    pump.run();
    assert_eq!(pump.node(1).status().commit, index);
    assert!(pump.applied[&1].iter().any(|e| e.data == b"x"));
}

#[test]
fn three_node_election_is_cheap_and_commits_a_noop() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    assert!(
        pump.delivered.len() <= 30,
        "{} messages",
        pump.delivered.len()
    );
    let term = pump.node(1).status().term;
    assert_eq!(term, 1, "pre-vote does not spend a term");
    for id in 2..=3 {
        assert_eq!(pump.node(id).status().leader, Some(1));
    }
    let noop = pump.node(1).log_entry(1).unwrap().clone();
    assert_eq!(noop.kind, EntryKind::Noop);
    assert_eq!(pump.node(1).status().commit, 1);
}

#[test]
fn election_timeouts_are_redrawn_in_range() {
    let mut node = Node::bootstrap(config(1), ConfState::with_voters([1, 2, 3])).unwrap();
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        node.reset_election_timer();
        assert!((10..20).contains(&node.randomized_timeout));
        seen.insert(node.randomized_timeout);
    }
    assert!(seen.len() > 5, "timeouts are not randomized: {seen:?}");
}

#[test]
fn same_seed_and_id_give_the_same_timeouts() {
    let mut a = Node::bootstrap(config(2), ConfState::with_voters([1, 2])).unwrap();
    let mut b = Node::bootstrap(config(2), ConfState::with_voters([1, 2])).unwrap();
    let mut c = Node::bootstrap(config(3), ConfState::with_voters([1, 3])).unwrap();
    let draw = |n: &mut Node| {
        (0..20)
            .map(|_| {
                n.reset_election_timer();
                n.randomized_timeout
            })
            .collect::<Vec<_>>()
    };
    let (da, db, dc) = (draw(&mut a), draw(&mut b), draw(&mut c));
    assert_eq!(da, db);
    assert_ne!(da, dc);
}

#[test]
fn vote_refused_to_a_candidate_with_a_stale_log() {
    let mut voter = node_with_log(2, 3, 3, &[1, 3]);
    // Older last term, longer log: refused.
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 9,
                last_log_term: 2,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: false }
    );
    assert_eq!(voter.hard_state().vote, None);
    // Same last term, shorter log: refused.
    voter
        .step(msg(
            3,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 1,
                last_log_term: 3,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: false }
    );
    // Same last term, same length: granted, and a second candidate of that term is refused.
    voter
        .step(msg(
            3,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 2,
                last_log_term: 3,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: true }
    );
    assert_eq!(voter.hard_state().vote, Some(3));
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 5,
                last_log_term: 4,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: false }
    );
}

#[test]
fn planted_vote_any_bug_grants_votes_to_stale_logs() {
    let persisted = PersistedState {
        hard_state: HardState {
            term: 3,
            vote: None,
            commit: 0,
        },
        snapshot: None,
        entries: vec![entry(1, 1), entry(2, 3)],
    };
    let mut cfg = config(2);
    cfg.bugs.vote_any = true;
    let mut voter = Node::restart(cfg, ConfState::with_voters([1, 2, 3]), persisted).unwrap();
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::Vote {
                last_log_index: 1,
                last_log_term: 1,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(
        last_response(&mut voter),
        MessageBody::VoteResponse { granted: true }
    );
}

#[test]
fn pre_vote_does_not_change_terms() {
    let mut voter = node_with_log(2, 3, 3, &[1, 3]);
    voter
        .step(msg(
            1,
            2,
            4,
            MessageBody::PreVote {
                last_log_index: 2,
                last_log_term: 3,
            },
        ))
        .unwrap();
    assert_eq!(
        voter.ready().messages[0],
        msg(2, 1, 4, MessageBody::PreVoteResponse { granted: true })
    );
    assert_eq!(voter.status().term, 3);
    assert_eq!(voter.hard_state().vote, None);
}

#[test]
fn an_isolated_node_does_not_inflate_its_term() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(3);
    pump.tick_all(100);
    assert_eq!(pump.node(3).status().term, 1, "pre-vote keeps the term");
    pump.isolated.clear();
    pump.tick_all(5);
    assert_eq!(
        pump.node(1).status().role,
        Role::Leader,
        "no disruption on rejoin"
    );
    assert_eq!(pump.node(3).status().leader, Some(1));
}

#[test]
fn lease_makes_followers_ignore_disruptive_votes() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    // Node 3 sends a real vote request with a higher term while 2 hears from leader 1.
    pump.node(2)
        .step(msg(
            3,
            2,
            9,
            MessageBody::Vote {
                last_log_index: 100,
                last_log_term: 9,
                leadership_transfer: false,
            },
        ))
        .unwrap();
    assert_eq!(pump.node(2).status().term, 1);
    assert!(pump.node(2).ready().messages.is_empty());
}

#[test]
fn check_quorum_steps_down_a_cut_off_leader_within_a_timeout() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.node(1).read_index(42).unwrap();
    pump.isolated.insert(1);
    pump.run();
    let mut ticks = 0;
    while pump.node(1).status().role == Role::Leader {
        pump.node(1).tick();
        pump.run();
        ticks += 1;
        assert!(ticks <= 20, "leader still serving after {ticks} ticks");
    }
    assert!(
        pump.reads.get(&1).is_none_or(|r| r.is_empty()),
        "read served by a cut-off leader"
    );
}

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
    leader.ready();
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
    let after = pump.node(1).ready().messages;
    assert!(
        after
            .iter()
            .all(|m| !matches!(m.body, MessageBody::AppendEntries { .. })),
        "in-flight entries were resent: {} messages",
        after.len()
    );
    for r in append_responses {
        pump.node(1).step(r).unwrap();
    }
    pump.run();
    assert_eq!(pump.node(1).status().commit, 2);
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
        let rd = pump.node(1).ready();
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

#[test]
fn read_index_is_refused_by_a_non_leader() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    assert_eq!(
        pump.node(2).read_index(1),
        Err(NotLeader {
            leader_hint: Some(1)
        })
    );
}

#[test]
fn read_index_waits_for_a_quorum_heartbeat_round() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    let commit = pump.node(1).status().commit;
    pump.delivered.clear();
    pump.node(1).read_index(7).unwrap();
    let rd = pump.node(1).ready();
    assert!(rd.read_states.is_empty(), "not before the quorum answered");
    assert_eq!(
        rd.messages
            .iter()
            .filter(|m| matches!(m.body, MessageBody::Heartbeat { .. }))
            .count(),
        2
    );
    for m in rd.messages {
        let to = m.to;
        pump.node(to).step(m).unwrap();
    }
    pump.run();
    assert_eq!(
        pump.reads[&1],
        vec![ReadState {
            request_id: 7,
            index: commit
        }]
    );
}

#[test]
fn read_index_is_never_served_by_a_deposed_leader() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(1);
    pump.node(1).read_index(9).unwrap();
    pump.run();
    // The others elect a new leader; the old one learns the new term from a heartbeat.
    let new_leader = pump.tick_until_leader(&[2, 3]);
    pump.isolated.clear();
    pump.node(new_leader).tick();
    pump.run();
    assert_ne!(pump.node(1).status().role, Role::Leader);
    assert!(pump.reads.get(&1).is_none_or(|r| r.is_empty()));
    assert_eq!(
        pump.node(1).read_index(10),
        Err(NotLeader {
            leader_hint: Some(new_leader)
        })
    );
}

#[test]
fn read_index_waits_for_a_commit_in_the_leaders_term() {
    let mut pump = Pump::new(3);
    pump.node(1).campaign();
    // Run until node 1 is leader but before its no-op commits: deliver only votes.
    pump.isolated.insert(2);
    pump.isolated.insert(3);
    for _ in 0..3 {
        let msgs = pump.node(1).ready().messages;
        for m in msgs {
            let to = m.to;
            pump.node(to).step(m).unwrap();
            for r in pump.node(to).ready().messages {
                if !matches!(r.body, MessageBody::AppendEntriesResponse { .. }) {
                    pump.node(1).step(r).unwrap();
                }
            }
        }
    }
    assert_eq!(pump.node(1).status().role, Role::Leader);
    assert_eq!(pump.node(1).status().commit, 0);
    pump.node(1).read_index(5).unwrap();
    pump.node(1).tick();
    let rd = pump.node(1).ready();
    for m in rd.messages {
        if matches!(m.body, MessageBody::Heartbeat { .. }) {
            let to = m.to;
            pump.node(to).step(m).unwrap();
            for r in pump.node(to).ready().messages {
                pump.node(1).step(r).unwrap();
            }
        }
    }
    assert!(
        pump.node(1).ready().read_states.is_empty(),
        "no own-term commit yet"
    );
    pump.isolated.clear();
    pump.tick_all(2);
    assert_eq!(pump.reads[&1].len(), 1);
    assert!(pump.reads[&1][0].index >= 1);
}

#[test]
fn snapshot_compacts_and_a_lagging_follower_gets_it() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(3);
    for i in 0..20u8 {
        pump.node(1).propose(vec![i]).unwrap();
        pump.run();
    }
    let applied = pump.node(1).status().applied;
    assert_eq!(applied, 21);
    pump.node(1)
        .snapshot_taken(15, b"state@15".to_vec())
        .unwrap();
    assert_eq!(pump.node(1).first_index(), 16);
    let rd = pump.node(1).ready();
    assert_eq!(rd.snapshot.as_ref().map(|s| s.index), Some(15));
    let tail: Vec<Index> = rd.entries.iter().map(|e| e.index).collect();
    assert_eq!(
        tail,
        [16, 17, 18, 19, 20, 21],
        "the snapshot comes with the whole log tail"
    );
    assert!(pump.node(1).snapshot_taken(30, vec![]).is_err());
    pump.isolated.clear();
    pump.delivered.clear();
    pump.tick_all(3);
    assert_eq!(pump.count("InstallSnapshot"), 1);
    assert_eq!(pump.node(3).status().commit, 21);
    assert_eq!(pump.node(3).first_index(), 16);
    // Node 3 applied the no-op before it was cut off, then the snapshot, then 16..=21.
    let applied3: Vec<Index> = pump.applied[&3].iter().map(|e| e.index).collect();
    assert_eq!(applied3, [1, 16, 17, 18, 19, 20, 21]);
}

#[test]
fn restart_from_snapshot_and_tail() {
    let snapshot = Snapshot {
        index: 10,
        term: 2,
        conf: ConfState::with_voters([1, 2, 3]),
        data: b"s".to_vec(),
    };
    let persisted = PersistedState {
        hard_state: HardState {
            term: 3,
            vote: Some(1),
            commit: 12,
        },
        snapshot: Some(snapshot),
        // The storage may still hold entries covered by the snapshot: they are skipped.
        entries: (9..=13)
            .map(|i| entry(i, if i <= 10 { 2 } else { 3 }))
            .collect(),
    };
    let mut node = Node::restart(config(1), ConfState::default(), persisted).unwrap();
    let status = node.status();
    assert_eq!(
        (
            status.term,
            status.commit,
            status.applied,
            status.last_index
        ),
        (3, 12, 10, 13)
    );
    assert_eq!(status.conf.voters, vec![1, 2, 3]);
    let rd = node.ready();
    assert!(rd.hard_state.is_none() && rd.entries.is_empty());
    let applied: Vec<Index> = rd.committed_entries.iter().map(|e| e.index).collect();
    assert_eq!(applied, vec![11, 12]);
}

#[test]
fn restart_rejects_a_gap_in_the_log() {
    let persisted = PersistedState {
        hard_state: HardState::default(),
        snapshot: None,
        entries: vec![entry(1, 1), entry(3, 1)],
    };
    let err = Node::restart(config(1), ConfState::with_voters([1]), persisted).err();
    assert!(matches!(err, Some(CoreError::InvalidPersistedState(_))));
}

#[test]
fn conf_change_waits_for_an_own_term_commit_and_goes_one_at_a_time() {
    let mut pump = Pump::new(3);
    pump.node(1).campaign();
    // Elected, but its no-op is not committed before the first run.
    let early = pump.node(1).propose_conf_change(ConfChange::AddLearner(4));
    assert!(matches!(
        early,
        Err(ProposeError::NotLeader(_)) | Err(ProposeError::NoCommitInTerm)
    ));
    pump.run();
    assert_eq!(pump.node(1).status().role, Role::Leader);
    pump.node(1)
        .propose_conf_change(ConfChange::AddLearner(4))
        .unwrap();
    assert!(matches!(
        pump.node(1).propose_conf_change(ConfChange::AddLearner(5)),
        Err(ProposeError::ConfChangePending { .. })
    ));
    pump.run();
    assert_eq!(pump.node(1).status().conf.learners, vec![4]);
    pump.node(1)
        .propose_conf_change(ConfChange::AddLearner(5))
        .unwrap();
}

#[test]
fn learner_catches_up_and_is_promoted() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    for i in 0..5u8 {
        pump.node(1).propose(vec![i]).unwrap();
    }
    pump.run();
    let learner = Node::bootstrap(config(4), ConfState::with_voters([1, 2, 3])).unwrap();
    pump.nodes.insert(4, learner);
    pump.node(1)
        .propose_conf_change(ConfChange::AddLearner(4))
        .unwrap();
    pump.run();
    pump.tick_all(2);
    assert_eq!(pump.node(4).status().role, Role::Learner);
    assert_eq!(pump.node(4).status().commit, pump.node(1).status().commit);
    // A learner never campaigns.
    for _ in 0..50 {
        pump.node(4).tick();
    }
    assert_eq!(pump.node(4).status().role, Role::Learner);
    pump.node(4).ready();
    pump.node(1)
        .propose_conf_change(ConfChange::Promote(4))
        .unwrap();
    pump.run();
    pump.tick_all(2);
    assert_eq!(pump.node(4).status().role, Role::Follower);
    assert_eq!(pump.node(1).status().conf.voters, vec![1, 2, 3, 4]);
}

#[test]
fn removing_the_leader_makes_it_step_down_and_others_elect() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.node(1)
        .propose_conf_change(ConfChange::Remove(1))
        .unwrap();
    pump.run();
    assert_ne!(pump.node(1).status().role, Role::Leader);
    assert_eq!(pump.node(2).status().conf.voters, vec![2, 3]);
    pump.nodes.remove(&1);
    pump.tick_all(60);
    let leaders: Vec<NodeId> = pump
        .nodes
        .values()
        .filter(|n| n.status().role == Role::Leader)
        .map(|n| n.status().id)
        .collect();
    assert_eq!(leaders.len(), 1);
}

#[test]
fn leadership_transfer_catches_up_then_times_out_the_target() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(3);
    for i in 0..5u8 {
        pump.node(1).propose(vec![i]).unwrap();
    }
    pump.run();
    pump.isolated.clear();
    pump.delivered.clear();
    pump.node(1).transfer_leadership(3).unwrap();
    assert!(
        pump.node(1).propose(vec![9]).is_err(),
        "proposals refused during transfer"
    );
    pump.tick_all(2);
    assert_eq!(pump.count("TimeoutNow"), 1);
    assert_eq!(pump.count("PreVote"), 0, "the target skips pre-vote");
    assert_eq!(pump.node(3).status().role, Role::Leader);
    assert_eq!(pump.node(1).status().leader, Some(3));
}

#[test]
fn messages_from_stale_terms_are_ignored() {
    let mut pump = Pump::new(3);
    pump.elect(1);
    pump.isolated.insert(1);
    let new_leader = pump.tick_until_leader(&[2, 3]);
    let other = 5 - new_leader;
    pump.isolated.clear();
    let before = pump.node(other).status();
    pump.node(other)
        .step(append(1, other, 1, (0, 0), vec![entry(1, 1), entry(2, 1)]))
        .unwrap();
    let after = pump.node(other).status();
    assert_eq!(before.last_index, after.last_index);
    assert_eq!(after.leader, Some(new_leader));
}

#[test]
fn a_message_for_another_node_is_an_error() {
    let mut node = Node::bootstrap(config(1), ConfState::with_voters([1, 2])).unwrap();
    let err = node.step(msg(2, 3, 1, MessageBody::TimeoutNow)).err();
    assert_eq!(err, Some(CoreError::WrongRecipient { to: 3, me: 1 }));
}

#[test]
fn bad_config_is_a_typed_error() {
    let mut cfg = config(1);
    cfg.election_tick = 1;
    assert!(matches!(
        Node::bootstrap(cfg, ConfState::with_voters([1])),
        Err(CoreError::InvalidConfig(_))
    ));
    assert!(matches!(
        Node::bootstrap(config(1), ConfState::default()),
        Err(CoreError::InvalidConfState(_))
    ));
}
