//! Throughput of the raft core: three bare `raft::core::Node`s in this file's lossless pump
//! (every message delivered at once, every Ready acknowledged durable at once, no disk, no state
//! machine, no invariant checker: the core's own cost), 128-byte proposals in batches. Criterion
//! reports entries committed on the leader and applied on all three nodes per second; a separate
//! timed pass prints the same rate and the messages sent per committed entry. The test world
//! (`raft::testing::world`) runs the replica driver on real storage code; `gauntlet sim` prints
//! its speed.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft::core::{ConfState, Config, Message, Node, NodeId, Role};

const ENTRY_BYTES: usize = 128;
/// One tick (heartbeats, timers) every this many batches.
const BATCHES_PER_TICK: u64 = 10;

/// Three nodes and the messages between them.
struct Pump {
    nodes: BTreeMap<NodeId, Node>,
    applied: BTreeMap<NodeId, u64>,
    queue: VecDeque<Message>,
    sent: u64,
}

impl Pump {
    fn new() -> Pump {
        let conf = ConfState::with_voters([1, 2, 3]);
        let nodes = (1..=3)
            .map(|id| {
                let config = Config {
                    seed: 7,
                    ..Config::new(id)
                };
                (
                    id,
                    Node::bootstrap(config, conf.clone()).expect("bootstrap"),
                )
            })
            .collect();
        Pump {
            nodes,
            applied: (1..=3).map(|id| (id, 0)).collect(),
            queue: VecDeque::new(),
            sent: 0,
        }
    }

    /// Handles every node's Ready, then delivers messages until nothing is left.
    fn settle(&mut self) {
        loop {
            for (id, node) in self.nodes.iter_mut() {
                while node.has_ready() {
                    let ready = node.ready();
                    if let Some(mark) = ready.ack_when_durable {
                        node.on_persisted(mark);
                    }
                    self.sent += ready.messages.len() as u64;
                    self.queue.extend(ready.messages);
                    if let Some(last) = ready.committed_entries.last() {
                        self.applied.insert(*id, last.index);
                    }
                    node.advance();
                }
            }
            if self.queue.is_empty() {
                return;
            }
            while let Some(msg) = self.queue.pop_front() {
                if let Some(node) = self.nodes.get_mut(&msg.to) {
                    node.step(msg).expect("a valid message");
                }
            }
        }
    }

    fn tick(&mut self) {
        for node in self.nodes.values_mut() {
            node.tick();
        }
        self.settle();
    }

    fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .find(|(_, n)| n.status().role == Role::Leader)
            .map(|(id, _)| *id)
    }
}

struct Bench {
    c: Pump,
    leader: NodeId,
    batches: u64,
}

impl Bench {
    fn new() -> Bench {
        let mut c = Pump::new();
        let leader = loop {
            c.tick();
            if let Some(leader) = c.leader() {
                break leader;
            }
        };
        for _ in 0..5 {
            c.tick();
        }
        Bench {
            c,
            leader,
            batches: 0,
        }
    }

    /// The applied index of the node that applied least.
    fn min_applied(&self) -> u64 {
        self.c.applied.values().copied().min().unwrap_or(0)
    }

    /// Propose one batch in a single Ready, deliver until quiet; returns the last index.
    fn batch(&mut self, size: usize) -> u64 {
        let payload = vec![0xabu8; ENTRY_BYTES];
        let leader = self.c.nodes.get_mut(&self.leader).expect("the leader");
        let mut last = 0;
        for _ in 0..size {
            last = leader
                .propose(payload.clone())
                .expect("the bench leader stays leader");
        }
        self.c.settle();
        self.batches += 1;
        if self.batches.is_multiple_of(BATCHES_PER_TICK) {
            self.c.tick();
        }
        // The leader has committed and applied `last`; followers learn that commit with the
        // next append or heartbeat, so they trail by at most one batch.
        debug_assert!(
            self.c.applied[&self.leader] >= last,
            "leader applied {} of {last}",
            self.c.applied[&self.leader]
        );
        last
    }
}

fn report(size: usize) {
    let mut b = Bench::new();
    let sent_before = b.c.sent;
    let applied_before = b.min_applied();
    let start = Instant::now();
    let mut last = 0;
    while start.elapsed() < Duration::from_secs(1) {
        last = b.batch(size);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let lag = last - b.min_applied();
    let committed = b.min_applied() - applied_before;
    let msgs = b.c.sent - sent_before;
    println!(
        "batch {size:>4}: {:>10.0} entries/s committed and applied on 3 nodes, {:.3} messages per committed entry (slowest node {lag} entries behind)",
        committed as f64 / elapsed,
        msgs as f64 / committed as f64,
    );
}

fn bench_core(crit: &mut Criterion) {
    for size in [1usize, 16, 64, 256] {
        report(size);
    }
    let mut group = crit.benchmark_group("raft_core_3_nodes_128B");
    for size in [1usize, 16, 64, 256] {
        group.throughput(Throughput::Elements(size as u64));
        let mut b = Bench::new();
        group.bench_with_input(BenchmarkId::new("batch", size), &size, |bencher, &size| {
            bencher.iter(|| b.batch(size));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_core);
criterion_main!(benches);
