//! The event observer on one follower fed AppendEntries by hand: what it reports, and that a
//! truncation names what the follower had acknowledged in the term, with and without the
//! planted `truncate-matching` bug.

use crate::core::{ConfState, Config, Entry, EntryKind, Message, MessageBody, PersistedState};
use crate::events::{NodeEvent, RoleName, TruncationCause};

use super::*;

fn follower(bugs: &[&str]) -> (Driver, EventObserver, Vec<NodeEvent>) {
    let cfg = DriverConfig::new(
        Config::new(1),
        ConfState::with_voters([1, 2, 3]),
        UnsafeBugs::parse(bugs).unwrap(),
    );
    let persisted = PersistedState::default();
    let mut observer = EventObserver::new(&persisted);
    let driver = Driver::new(cfg, persisted).unwrap();
    let events = observer.started(&driver);
    (driver, observer, events)
}

fn append(prev: u64, entries: std::ops::RangeInclusive<u64>, commit: u64) -> Message {
    Message {
        from: 2,
        to: 1,
        term: 1,
        body: MessageBody::AppendEntries {
            prev_log_index: prev,
            prev_log_term: if prev == 0 { 0 } else { 1 },
            entries: entries
                .map(|index| Entry {
                    index,
                    term: 1,
                    kind: EntryKind::Noop,
                    data: Vec::new(),
                })
                .collect(),
            commit,
        },
    }
}

/// Steps `msg`, drains every batch (reporting each durable at once), returns the events.
fn step(driver: &mut Driver, observer: &mut EventObserver, msg: Message) -> Vec<NodeEvent> {
    driver.on_message(msg);
    let mut events = Vec::new();
    while driver.has_work() {
        let batch = driver.next_batch().unwrap();
        events.extend(observer.observe(driver, &batch));
        if let Some(mark) = batch.ack_when_durable {
            driver.on_persisted(mark);
        }
    }
    events
}

fn truncations(events: &[NodeEvent]) -> Vec<(u64, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::LogTruncated {
                cause: TruncationCause::Entries,
                from_index,
                last_index,
                acked_index,
                ..
            } => Some((*from_index, *last_index, *acked_index)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_follower_reports_its_start_role_leader_and_commit() {
    let (mut driver, mut observer, started) = follower(&[]);
    assert!(matches!(
        &started[0],
        NodeEvent::Started { term: 0, last_index: 0, voters, .. } if voters == &vec![1, 2, 3]
    ));
    let events = step(&mut driver, &mut observer, append(0, 1..=3, 2));
    assert!(events.contains(&NodeEvent::Role {
        role: RoleName::Follower,
        term: 1,
        leader: Some(2)
    }));
    assert!(events.contains(&NodeEvent::Commit { commit: 2, from: 0 }));
    assert_eq!(observer.acked_in(1), 3);
    assert_eq!(observer.acked_in(2), 0);
    assert!(truncations(&events).is_empty());
}

#[test]
fn a_late_append_truncates_nothing_on_the_correct_build() {
    let (mut driver, mut observer, _) = follower(&[]);
    step(&mut driver, &mut observer, append(0, 1..=3, 0));
    let late = step(&mut driver, &mut observer, append(0, 1..=1, 0));
    assert!(truncations(&late).is_empty(), "{late:?}");
    assert_eq!(driver.status().last_index, 3);
}

#[test]
fn truncate_matching_drops_an_acknowledged_entry_and_the_event_says_so() {
    let (mut driver, mut observer, _) = follower(&["truncate-matching"]);
    step(&mut driver, &mut observer, append(0, 1..=3, 0));
    let late = step(&mut driver, &mut observer, append(0, 1..=1, 0));
    // Entries 2..3 left the log although 3 was acknowledged in term 1.
    assert_eq!(truncations(&late), vec![(2, 3, 3)]);
}
