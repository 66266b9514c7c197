//! Cost of the replica driver without IO: three in-memory drivers (messages delivered by hand,
//! nothing persisted, each batch reported durable at once) committing batches of 100-byte puts,
//! and a round of linearizable reads.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft::core::{ConfState, Config, Message, PersistedState, Role};
use raft::driver::{Driver, DriverConfig, UnsafeBugs};
use raft::kv::{ClientRequest, Op};

struct Cluster {
    drivers: BTreeMap<u64, Driver>,
    answered: usize,
}

impl Cluster {
    fn new() -> Cluster {
        let drivers = (1..=3)
            .map(|id| {
                let mut cfg = DriverConfig::new(
                    Config::new(id),
                    ConfState::with_voters([1, 2, 3]),
                    UnsafeBugs::default(),
                );
                cfg.snapshot_every = 0;
                (id, Driver::new(cfg, PersistedState::default()).unwrap())
            })
            .collect();
        let mut c = Cluster {
            drivers,
            answered: 0,
        };
        while c.leader().is_none() {
            for d in c.drivers.values_mut() {
                d.on_tick();
            }
            c.settle();
        }
        c
    }

    fn leader(&self) -> Option<u64> {
        self.drivers
            .iter()
            .find(|(_, d)| d.status().role == Role::Leader)
            .map(|(id, _)| *id)
    }

    fn settle(&mut self) {
        let mut msgs: Vec<Message> = Vec::new();
        loop {
            for d in self.drivers.values_mut() {
                while d.has_work() {
                    let b = d.next_batch().unwrap();
                    if let Some(mark) = b.ack_when_durable {
                        d.on_persisted(mark);
                    }
                    msgs.extend(b.then_send);
                    self.answered += b.replies.len();
                }
            }
            if msgs.is_empty() {
                return;
            }
            for m in msgs.drain(..) {
                if let Some(d) = self.drivers.get_mut(&m.to) {
                    d.on_message(m);
                }
            }
        }
    }
}

fn bench_driver(c: &mut Criterion) {
    let value = "x".repeat(100);
    let mut group = c.benchmark_group("driver");
    for batch in [1u64, 64] {
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::new("commit_puts", batch), &batch, |b, &n| {
            let mut cluster = Cluster::new();
            let leader = cluster.leader().unwrap();
            let mut seq = 0u64;
            b.iter(|| {
                let d = cluster.drivers.get_mut(&leader).unwrap();
                for _ in 0..n {
                    seq += 1;
                    let req = ClientRequest::Kv {
                        client_id: 1,
                        seq,
                        op: Op::Put {
                            key: format!("k{}", seq % 1000),
                            value: value.clone(),
                        },
                    };
                    d.on_client_request(seq, req);
                }
                cluster.settle();
            });
        });
        group.bench_with_input(
            BenchmarkId::new("read_index_gets", batch),
            &batch,
            |b, &n| {
                let mut cluster = Cluster::new();
                let leader = cluster.leader().unwrap();
                let mut token = 0u64;
                b.iter(|| {
                    let d = cluster.drivers.get_mut(&leader).unwrap();
                    for _ in 0..n {
                        token += 1;
                        let req = ClientRequest::Kv {
                            client_id: 1,
                            seq: 0,
                            op: Op::Get { key: "k1".into() },
                        };
                        d.on_client_request(token, req);
                    }
                    cluster.settle();
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_driver);
criterion_main!(benches);
