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
