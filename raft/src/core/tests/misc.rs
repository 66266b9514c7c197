//! Stale terms, misaddressed messages, bad config.

use super::*;
use crate::core::*;

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

#[test]
fn an_idle_follower_has_no_ready() {
    let mut node = Node::bootstrap(config(1), ConfState::with_voters([1, 2, 3])).unwrap();
    assert!(!node.has_ready());
    let rd = node.ready();
    assert!(rd.is_empty() && !rd.needs_sync());
    node.tick();
    assert!(!node.has_ready(), "one tick is not an election");
    node.campaign();
    assert!(node.has_ready());
    let rd = node.ready();
    assert!(!rd.is_empty());
    assert!(!rd.needs_sync(), "a pre-vote changes nothing durable");
    assert_eq!(rd.messages.len(), 2);
}

#[test]
fn node_and_ready_can_move_between_threads() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Node>();
    assert_send::<Ready>();
    assert_send::<Message>();
}

#[test]
fn messages_round_trip_through_postcard() {
    let m = msg(
        1,
        2,
        3,
        MessageBody::AppendEntries {
            prev_log_index: 4,
            prev_log_term: 2,
            entries: vec![entry(5, 3)],
            commit: 4,
        },
    );
    let bytes = postcard::to_allocvec(&m).unwrap();
    let back: Message = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, m);
}
