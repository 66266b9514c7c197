//! Speed of reading histories: the synthetic 100,000-operation, 40-key kv history (50 clients) as
//! Jepsen EDN (17 MB) and as native JSON Lines, parsed from memory (`formats::load_bytes`), and
//! parsed then paired into operations, and read straight into operations by `gauntlet check`'s
//! fast path (`formats::read_paired`). Criterion prints the throughput in bytes per second.
//! Run: `cargo bench -p checker --bench read`.

#[path = "support/synthetic.rs"]
mod synthetic;

use checker::formats::{self, Format};
use checker::wellformed;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench_read(c: &mut Criterion) {
    let ops = synthetic::generated_kv(100_000, 40, 50, 7);
    let files = [
        (
            "jepsen_edn_100k",
            Format::Jepsen,
            synthetic::jepsen_edn(&ops),
        ),
        ("jsonl_100k", Format::Jsonl, synthetic::native_jsonl(&ops)),
    ];
    let mut group = c.benchmark_group("read");
    for (name, format, text) in &files {
        let parsed = formats::load_bytes(text.as_bytes(), None, name).expect("synthetic parses");
        assert_eq!(parsed.format, *format);
        assert_eq!(parsed.history.events.len(), 200_000);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("parse_{name}"), |b| {
            b.iter(|| {
                formats::load_bytes(text.as_bytes(), None, name).map(|p| p.history.events.len())
            })
        });
        group.bench_function(format!("parse_and_pair_{name}"), |b| {
            b.iter(|| {
                let parsed = formats::load_bytes(text.as_bytes(), None, name).expect("parses");
                wellformed::pair_owned(parsed.history).map(|ops| ops.len())
            })
        });
        assert!(formats::read_paired(text.as_bytes(), None).is_some());
        group.bench_function(format!("read_paired_{name}"), |b| {
            b.iter(|| formats::read_paired(text.as_bytes(), None).map(|h| h.operations.len()))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_read
}
criterion_main!(benches);
