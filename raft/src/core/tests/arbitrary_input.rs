//! Property: arbitrary (even absurd) messages, ticks and API calls never panic a node; bad input
//! is at worst a typed error.

use proptest::prelude::*;

use super::*;
use crate::core::*;

#[derive(Debug, Clone)]
enum Action {
    Tick,
    Ready,
    Propose,
    Read(u64),
    Campaign,
    Snapshot(u64),
    Step(Message),
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..8, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    (number(), number(), 0usize..4).prop_map(|(start, term, n)| {
        (0..n as u64)
            .map(|i| Entry {
                term,
                index: start.wrapping_add(i),
                kind: EntryKind::Normal,
                data: vec![1],
            })
            .collect()
    })
}

fn body() -> impl Strategy<Value = MessageBody> {
    prop_oneof![
        (number(), number()).prop_map(|(a, b)| MessageBody::PreVote {
            last_log_index: a,
            last_log_term: b
        }),
        any::<bool>().prop_map(|granted| MessageBody::PreVoteResponse { granted }),
        (number(), number(), any::<bool>()).prop_map(|(a, b, t)| MessageBody::Vote {
            last_log_index: a,
            last_log_term: b,
            leadership_transfer: t
        }),
        any::<bool>().prop_map(|granted| MessageBody::VoteResponse { granted }),
        (number(), number(), entries(), number()).prop_map(|(p, t, entries, c)| {
            MessageBody::AppendEntries {
                prev_log_index: p,
                prev_log_term: t,
                entries,
                commit: c,
            }
        }),
        (
            any::<bool>(),
            number(),
            proptest::option::of((proptest::option::of(number()), number()))
        )
            .prop_map(
                |(success, index, hint)| MessageBody::AppendEntriesResponse {
                    success,
                    index,
                    reject_hint: hint.map(|(conflict_term, first_index)| RejectHint {
                        conflict_term,
                        first_index
                    }),
                }
            ),
        (number(), number())
            .prop_map(|(commit, read_round)| MessageBody::Heartbeat { commit, read_round }),
        (number(), number()).prop_map(|(read_round, last_index)| {
            MessageBody::HeartbeatResponse {
                read_round,
                last_index,
            }
        }),
        (number(), number(), number(), 0..4usize, any::<bool>()).prop_map(
            |(index, term, offset, len, done)| MessageBody::InstallSnapshot {
                meta: SnapshotMeta {
                    index,
                    term,
                    conf: ConfState::with_voters([1, 2, 3]),
                },
                offset,
                data: vec![7; len],
                done,
            }
        ),
        (number(), number(), any::<bool>(), number()).prop_map(
            |(snapshot_index, received, rejected, index)| MessageBody::InstallSnapshotResponse {
                snapshot_index,
                received,
                rejected,
                index,
            }
        ),
        Just(MessageBody::TimeoutNow),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => Just(Action::Tick),
        3 => Just(Action::Ready),
        1 => Just(Action::Propose),
        1 => any::<u64>().prop_map(Action::Read),
        1 => Just(Action::Campaign),
        1 => number().prop_map(Action::Snapshot),
        6 => (1u64..5, prop_oneof![0u64..4, number()], body()).prop_map(|(from, term, body)| {
            Action::Step(Message { from, to: 1, term, body })
        }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(
        start_as_leader in any::<bool>(),
        actions in proptest::collection::vec(action(), 1..80),
    ) {
        let mut node = Node::bootstrap(config(1), ConfState::with_voters([1, 2, 3])).unwrap();
        if start_as_leader {
            node.campaign();
            node.step(msg(2, 1, 1, MessageBody::PreVoteResponse { granted: true })).unwrap();
            node.step(msg(2, 1, 1, MessageBody::VoteResponse { granted: true })).unwrap();
            prop_assert_eq!(node.role(), Role::Leader);
        }
        for a in actions {
            match a {
                Action::Tick => node.tick(),
                Action::Ready => {
                    // The Ready cycle settles: a few rounds without new input leave nothing to do.
                    for _ in 0..4 {
                        node.ready();
                        node.advance();
                    }
                    prop_assert!(!node.has_ready(), "has_ready stays true without input");
                }
                Action::Propose => {
                    let _ = node.propose(vec![7]);
                }
                Action::Read(id) => {
                    let _ = node.read_index(id);
                }
                Action::Campaign => node.campaign(),
                Action::Snapshot(i) => {
                    let _ = node.snapshot_taken(i, vec![]);
                }
                Action::Step(m) => {
                    let _ = node.step(m);
                }
            }
            let s = node.status();
            prop_assert!(s.applied <= s.commit && s.commit <= s.last_index);
        }
    }
}
