//! Throughput of the raft core: a 3-node cluster on the in-memory network of the scenario tests
//! (reliable, no invariant checker), 128-byte proposals in batches. Criterion reports entries
//! committed on the leader and applied on all three nodes per second; a separate timed pass
//! prints the same rate and the messages sent per committed entry.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use support::{Cluster, NetConfig, Options};

const ENTRY_BYTES: usize = 128;
/// One tick (heartbeats, timers) every this many batches.
const BATCHES_PER_TICK: u64 = 10;

struct Bench {
    c: Cluster,
    leader: u64,
    batches: u64,
}

impl Bench {
    fn new() -> Bench {
        let mut opts = Options::new(3, 7);
        opts.net = NetConfig::reliable();
        opts.check = false;
        opts.snapshot_every = Some(8192);
        let mut c = Cluster::new(opts);
        let leader = c.wait_leader(200);
        c.run(5);
        Bench {
            c,
            leader,
            batches: 0,
        }
    }

    /// The applied index of the node that applied least.
    fn min_applied(&self) -> u64 {
        self.c
            .alive()
            .iter()
            .map(|id| self.c.apps[id].applied)
            .min()
            .unwrap_or(0)
    }

    /// Propose one batch in a single Ready, deliver until quiet; returns the last index.
    fn batch(&mut self, size: usize) -> u64 {
        let payload = vec![0xabu8; ENTRY_BYTES];
        let last = self.c.with_node(self.leader, |n| {
            let mut last = 0;
            for _ in 0..size {
                last = n
                    .propose(payload.clone())
                    .expect("the bench leader stays leader");
            }
            last
        });
        self.c.deliver_due();
        self.batches += 1;
        if self.batches.is_multiple_of(BATCHES_PER_TICK) {
            self.c.tick();
        }
        // The leader has committed and applied `last`; followers learn that commit with the
        // next append or heartbeat, so they trail by at most one batch.
        debug_assert!(
            self.c.apps[&self.leader].applied >= last,
            "leader applied {} of {last}",
            self.c.apps[&self.leader].applied
        );
        last
    }
}

fn report(size: usize) {
    let mut b = Bench::new();
    let sent_before = b.c.net.stats.sent;
    let applied_before = b.min_applied();
    let start = Instant::now();
    let mut last = 0;
    while start.elapsed() < Duration::from_secs(1) {
        last = b.batch(size);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let lag = last - b.min_applied();
    let committed = b.min_applied() - applied_before;
    let msgs = b.c.net.stats.sent - sent_before;
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
