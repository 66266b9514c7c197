//! Snapshots sent in chunks: a multi-chunk transfer installs the exact bytes, a lost chunk is
//! resent from the acknowledged offset (after a refusal or a timeout), out-of-order and
//! duplicate chunks leave the assembly intact, a new leader or a newer snapshot starts over, a
//! restarted follower starts again from offset 0, and a chunk of an old term is refused.

use super::*;
use crate::core::*;
use crate::coverage::{self, Mark};

const CHUNK: usize = 4;

fn chunked_config(id: NodeId) -> Config {
    Config {
        snapshot_chunk_bytes: CHUNK,
        ..config(id)
    }
}

/// Node 1 leads a 3-node cluster with node 3 cut off after the no-op; it applies 5 more entries
/// and takes a snapshot of `len` bytes at index 5; from then on messages between 1 and 3 move
/// only through [`round`], and the leader knows that node 3 needs the snapshot.
fn leader_with_snapshot(len: usize) -> (Pump, Vec<u8>) {
    let mut pump = Pump::with(3, chunked_config);
    pump.elect(1);
    pump.isolated.insert(3);
    for i in 0..5u8 {
        pump.node(1).propose(vec![i]).unwrap();
        pump.run();
    }
    let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
    pump.node(1).snapshot_taken(5, data.clone()).unwrap();
    pump.run();
    // A heartbeat shows the leader that node 3 lacks everything after index 1.
    pump.node(1).tick();
    let beat = round(&mut pump, &mut |_| true);
    assert!(chunk_offsets(&beat).is_empty());
    (pump, data)
}

/// One exchange between leader 1 and follower 3 (node 2 hears nothing): 1's Ready, its
/// messages to 3 that `deliver` lets through stepped into 3, then 3's answers stepped into 1.
/// Returns the messages delivered, in order.
fn round(pump: &mut Pump, deliver: &mut impl FnMut(&Message) -> bool) -> Vec<Message> {
    let mut delivered = Vec::new();
    let to_follower: Vec<Message> = durable_ready(pump.node(1))
        .messages
        .into_iter()
        .filter(|m| m.to == 3)
        .collect();
    for m in to_follower {
        if deliver(&m) {
            delivered.push(m.clone());
            pump.node(3).step(m).unwrap();
        }
    }
    let answers = durable_ready(pump.node(3)).messages;
    for m in answers {
        delivered.push(m.clone());
        pump.node(1).step(m).unwrap();
    }
    delivered
}

/// Rounds until node 3 holds the snapshot (at most `limit`); every message delivered.
fn rounds_until_installed(
    pump: &mut Pump,
    limit: usize,
    deliver: &mut impl FnMut(&Message) -> bool,
) -> Vec<Message> {
    let mut all = Vec::new();
    for _ in 0..limit {
        all.extend(round(pump, deliver));
        if pump.node(3).first_index() == 6 {
            return all;
        }
    }
    panic!("node 3 did not install the snapshot in {limit} rounds: {all:#?}");
}

/// The offsets of the chunks in `msgs`, in order.
fn chunk_offsets(msgs: &[Message]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match &m.body {
            MessageBody::InstallSnapshot { offset, .. } => Some(*offset),
            _ => None,
        })
        .collect()
}

/// The snapshot node 3 installed (its last Ready's).
fn installed_snapshot(node: &mut Node) -> Snapshot {
    node.snapshot.clone().expect("node 3 holds a snapshot")
}

fn chunk(meta: &SnapshotMeta, data: &[u8], offset: usize, done: bool) -> MessageBody {
    MessageBody::InstallSnapshot {
        meta: meta.clone(),
        offset: offset as u64,
        data: data[offset..(offset + CHUNK).min(data.len())].to_vec(),
        done,
    }
}

/// `(received, rejected)` of the answer to the last chunk.
fn chunk_answer(node: &mut Node) -> (u64, bool) {
    match last_response(node) {
        MessageBody::InstallSnapshotResponse {
            received, rejected, ..
        } => (received, rejected),
        other => panic!("expected an InstallSnapshotResponse, got {other:?}"),
    }
}

/// A follower in term `term` whose log holds one entry, and a 10-byte snapshot at index 10.
fn follower_and_snapshot(term: Term) -> (Node, SnapshotMeta, Vec<u8>) {
    let node = node_with_log(3, 3, term, &[1]);
    let meta = SnapshotMeta {
        index: 10,
        term: 1,
        conf: ConfState::with_voters([1, 2, 3]),
    };
    (node, meta, (10..20).collect())
}

#[test]
fn a_snapshot_of_many_chunks_is_installed_byte_for_byte() {
    let (mut pump, data) = leader_with_snapshot(4 * CHUNK + 3);
    coverage::reset();
    let msgs = rounds_until_installed(&mut pump, 20, &mut |_| true);
    let marks = coverage::take();
    assert_eq!(chunk_offsets(&msgs), [0, 4, 8, 12, 16]);
    let snapshot = installed_snapshot(pump.node(3));
    assert_eq!(snapshot.data, data, "the chunks are assembled in order");
    assert_eq!((snapshot.index, snapshot.term), (5, 1));
    assert_eq!(pump.node(3).commit_index(), 5);
    assert_eq!(marks.get(Mark::SnapshotSent), 1);
    assert_eq!(marks.get(Mark::SnapshotSentInChunks), 1);
    assert_eq!(marks.get(Mark::SnapshotChunkResent), 0);
    // The leader follows with the log after the snapshot.
    pump.isolated.clear();
    pump.tick_all(2);
    assert_eq!(pump.node(3).status().last_index, 6);
}

#[test]
fn chunks_stay_within_a_small_window() {
    let (mut pump, _) = leader_with_snapshot(20 * CHUNK);
    let chunks_to_3 = |rd: Ready| {
        let chunks: Vec<Message> = rd.messages.into_iter().filter(|m| m.to == 3).collect();
        chunk_offsets(&chunks)
    };
    let first = chunks_to_3(durable_ready(pump.node(1)));
    assert_eq!(first, [0, 4, 8, 12], "one window of chunks");
    pump.node(1).propose(vec![1]).unwrap();
    let second = chunks_to_3(durable_ready(pump.node(1)));
    assert!(
        second.is_empty(),
        "no chunk beyond the window before an answer"
    );
}

#[test]
fn a_lost_chunk_is_resent_from_the_acknowledged_offset() {
    let (mut pump, data) = leader_with_snapshot(6 * CHUNK);
    coverage::reset();
    let mut lost_once = false;
    let msgs = rounds_until_installed(&mut pump, 20, &mut |m| {
        let lose = !lost_once && matches!(m.body, MessageBody::InstallSnapshot { offset: 4, .. });
        lost_once |= lose;
        !lose
    });
    assert!(lost_once);
    let marks = coverage::take();
    // 8 and 12 are refused (node 3 holds 4 bytes); 4 is resent alone, then the rest.
    assert_eq!(chunk_offsets(&msgs), [0, 8, 12, 4, 8, 12, 16, 20]);
    assert_eq!(installed_snapshot(pump.node(3)).data, data);
    assert!(marks.get(Mark::SnapshotChunkResent) >= 1);
    assert_eq!(marks.get(Mark::SnapshotSentInChunks), 1);
}

#[test]
fn an_unanswered_last_chunk_is_resent_after_two_heartbeats() {
    let (mut pump, data) = leader_with_snapshot(2 * CHUNK);
    let msgs = round(&mut pump, &mut |m| {
        !matches!(m.body, MessageBody::InstallSnapshot { done: true, .. })
    });
    assert_eq!(chunk_offsets(&msgs), [0], "the last chunk was lost");
    assert!(chunk_offsets(&round(&mut pump, &mut |_| true)).is_empty());
    let heartbeat_tick = pump.node(1).config().heartbeat_tick;
    for _ in 0..2 * heartbeat_tick {
        pump.node(1).tick();
    }
    let msgs = rounds_until_installed(&mut pump, 5, &mut |_| true);
    assert_eq!(
        chunk_offsets(&msgs),
        [4],
        "resent from node 3's offset, not from 0"
    );
    assert_eq!(installed_snapshot(pump.node(3)).data, data);
}

#[test]
fn out_of_order_and_duplicate_chunks_leave_the_assembly_intact() {
    let (mut node, meta, data) = follower_and_snapshot(2);
    let send = |node: &mut Node, offset: usize, done: bool| {
        node.step(msg(1, 3, 2, chunk(&meta, &data, offset, done)))
            .unwrap();
        chunk_answer(node)
    };
    assert_eq!(send(&mut node, 0, false), (4, false));
    assert_eq!(send(&mut node, 8, true), (4, true), "ahead of the gap");
    assert_eq!(send(&mut node, 0, false), (4, true), "a duplicate");
    assert_eq!(node.incoming_snapshot.as_ref().unwrap().data, data[..4]);
    assert_eq!(send(&mut node, 4, false), (8, false));
    assert_eq!(node.first_index(), 1, "not installed before the last chunk");
    assert_eq!(send(&mut node, 8, true), (10, false));
    assert_eq!(node.snapshot.as_ref().map(|s| &s.data), Some(&data));
    assert_eq!((node.first_index(), node.commit_index()), (11, 10));
    assert!(node.incoming_snapshot.is_none());
}

#[test]
fn a_new_leader_mid_transfer_starts_the_assembly_over() {
    let (mut node, meta, data) = follower_and_snapshot(2);
    for offset in [0, 4] {
        node.step(msg(1, 3, 2, chunk(&meta, &data, offset, false)))
            .unwrap();
        let _ = node.ready();
    }
    // Leader 2 of term 3 sends the same snapshot: what leader 1 sent does not count.
    node.step(msg(2, 3, 3, chunk(&meta, &data, 8, true)))
        .unwrap();
    assert_eq!(chunk_answer(&mut node), (0, true));
    assert_eq!(
        node.first_index(),
        1,
        "nothing installed from a mixed assembly"
    );
    node.step(msg(2, 3, 3, chunk(&meta, &data, 0, false)))
        .unwrap();
    assert_eq!(chunk_answer(&mut node), (4, false));
    let assembly = node.incoming_snapshot.as_ref().unwrap();
    assert_eq!((assembly.term, assembly.data.len()), (3, 4));
}

#[test]
fn a_newer_snapshot_replaces_the_assembly_and_an_older_one_is_refused() {
    let (mut node, meta, data) = follower_and_snapshot(2);
    node.step(msg(1, 3, 2, chunk(&meta, &data, 0, false)))
        .unwrap();
    let _ = node.ready();
    let newer = SnapshotMeta {
        index: 12,
        ..meta.clone()
    };
    node.step(msg(1, 3, 2, chunk(&newer, &data, 0, false)))
        .unwrap();
    assert_eq!(chunk_answer(&mut node), (4, false));
    node.step(msg(1, 3, 2, chunk(&meta, &data, 4, false)))
        .unwrap();
    assert_eq!(
        chunk_answer(&mut node),
        (0, true),
        "the older snapshot is stale"
    );
    let assembly = node.incoming_snapshot.as_ref().unwrap();
    assert_eq!((assembly.meta.index, assembly.data.len()), (12, 4));
}

#[test]
fn the_leader_restarts_the_transfer_when_it_takes_a_newer_snapshot() {
    let (mut pump, _) = leader_with_snapshot(4 * CHUNK);
    let first = round(
        &mut pump,
        &mut |m| !matches!(m.body, MessageBody::InstallSnapshot { offset, .. } if offset > 0),
    );
    assert_eq!(chunk_offsets(&first), [0]);
    pump.node(1).propose(vec![9]).unwrap();
    pump.run();
    let newer: Vec<u8> = vec![0xaa; 3 * CHUNK];
    pump.node(1).snapshot_taken(7, newer.clone()).unwrap();
    let msgs = round(&mut pump, &mut |_| true);
    match &msgs[0].body {
        MessageBody::InstallSnapshot { meta, offset, .. } => {
            assert_eq!((meta.index, *offset), (7, 0));
        }
        other => panic!("expected a chunk, got {other:?}"),
    }
    rounds_until_installed_at(&mut pump, 8, 20);
    assert_eq!(installed_snapshot(pump.node(3)).data, newer);
}

fn rounds_until_installed_at(pump: &mut Pump, first_index: Index, limit: usize) {
    for _ in 0..limit {
        round(pump, &mut |_| true);
        if pump.node(3).first_index() == first_index {
            return;
        }
    }
    panic!("node 3 did not install up to {}", first_index - 1);
}

#[test]
fn a_restarted_follower_gets_the_snapshot_again_from_offset_0() {
    let (mut pump, data) = leader_with_snapshot(3 * CHUNK);
    let mut cfg = chunked_config(1);
    cfg.max_inflight_msgs = 1;
    pump.node(1).cfg = cfg;
    let first = round(&mut pump, &mut |_| true);
    assert_eq!(chunk_offsets(&first), [0]);
    let second = round(&mut pump, &mut |_| true);
    assert_eq!(chunk_offsets(&second), [4]);
    // Node 3 crashes and restarts from its disk: the assembly (8 bytes) is gone.
    let disk = pump.disks[&3].clone();
    let restarted = Node::restart(chunked_config(3), ConfState::with_voters([1, 2, 3]), disk);
    pump.restart_node(3, restarted.unwrap());
    let refused = round(&mut pump, &mut |_| true);
    assert_eq!(chunk_offsets(&refused), [8]);
    assert!(refused.iter().any(|m| matches!(
        m.body,
        MessageBody::InstallSnapshotResponse {
            received: 0,
            rejected: true,
            ..
        }
    )));
    let msgs = rounds_until_installed(&mut pump, 10, &mut |_| true);
    assert_eq!(chunk_offsets(&msgs), [0, 4, 8]);
    assert_eq!(installed_snapshot(pump.node(3)).data, data);
}

#[test]
fn a_chunk_of_an_old_term_is_refused_and_changes_nothing() {
    let (mut node, meta, data) = follower_and_snapshot(3);
    node.step(msg(2, 3, 3, chunk(&meta, &data, 0, false)))
        .unwrap();
    let _ = node.ready();
    // The deposed leader of term 2 still sends the next chunk.
    node.step(msg(1, 3, 2, chunk(&meta, &data, 4, false)))
        .unwrap();
    let answer = last_response(&mut node);
    assert!(
        matches!(
            answer,
            MessageBody::AppendEntriesResponse { success: false, .. }
        ),
        "the stale leader learns the newer term: {answer:?}"
    );
    let assembly = node.incoming_snapshot.as_ref().unwrap();
    assert_eq!((assembly.term, assembly.data.len()), (3, 4));
    node.step(msg(2, 3, 3, chunk(&meta, &data, 4, false)))
        .unwrap();
    assert_eq!(chunk_answer(&mut node), (8, false));
}
