//! Read index: quorum confirmation, own-term commit, never from a deposed leader.

use super::*;
use crate::core::*;

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
