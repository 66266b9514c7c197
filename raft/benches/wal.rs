//! WAL group-commit benchmark: append N records of 128 bytes, then one `sync` (one fdatasync),
//! for N = 1, 16 and 256. Criterion reports the time per batch (= commit latency) and records/s;
//! after each group a line with the p50/p99/max batch latency seen is printed, because the disk's
//! fsync time varies a lot (0.25 to 4 ms here) and the tail matters for Raft.
//!
//! A second group measures recovery: decoding a 4 MiB segment (bytes/s). A third measures
//! recovery of a last segment ending in 1 to 16 MiB of garbage (the search after a bad record).
//!
//! The WAL lives in `$WAL_BENCH_DIR` if set, else in a temp dir (it must be on a real disk, not
//! tmpfs, or the numbers mean nothing).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft::storage::record::recover_segment_bytes_with_work;
use raft::storage::{recover_segment_bytes, Wal, WalOptions};

const RECORD_BYTES: usize = 128;

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("WAL_BENCH_DIR") {
        Some(base) => {
            tempfile::tempdir_in(base).expect("WAL_BENCH_DIR must be a writable directory")
        }
        None => tempfile::tempdir().expect("temp dir"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

fn group_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_group_commit");
    group.measurement_time(Duration::from_secs(5));
    for batch in [1usize, 16, 256] {
        let dir = bench_dir();
        let options = WalOptions {
            segment_bytes: 64 << 20,
            max_record_bytes: 1 << 20,
        };
        let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options).expect("open WAL");
        let record = vec![0xA5u8; RECORD_BYTES];
        let mut latencies: Vec<Duration> = Vec::new();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::new("records_per_sync", batch),
            &batch,
            |b, &batch| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        for _ in 0..batch {
                            black_box(wal.append(&record).expect("append"));
                        }
                        wal.sync().expect("sync");
                        let took = start.elapsed();
                        total += took;
                        latencies.push(took);
                        // Keep the directory small; compaction is not part of what is measured.
                        if wal.stats().segments > 2 {
                            wal.compact(wal.next_seq()).expect("compact");
                        }
                    }
                    total
                });
            },
        );
        if latencies.is_empty() {
            continue; // this size was filtered out on the command line
        }
        latencies.sort();
        let p50 = percentile(&latencies, 0.50);
        println!(
            "wal_group_commit/{batch}: {} batches, p50 {:?} p99 {:?} max {:?}, {:.0} records/s at p50",
            latencies.len(),
            p50,
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default(),
            batch as f64 / p50.as_secs_f64().max(1e-9),
        );
    }
    group.finish();
}

/// Recovery speed (what a restart pays per byte of WAL): decode a 4 MiB segment of 128-byte
/// records, checksums included.
fn recovery(c: &mut Criterion) {
    let dir = bench_dir();
    let options = WalOptions {
        segment_bytes: 64 << 20,
        max_record_bytes: 1 << 20,
    };
    let (mut wal, _) = Wal::<Vec<u8>>::open(dir.path(), options).expect("open WAL");
    let record = vec![0x5Au8; RECORD_BYTES];
    while wal.stats().bytes_on_disk < 4 << 20 {
        for _ in 0..1024 {
            wal.append(&record).expect("append");
        }
        wal.sync().expect("sync");
    }
    drop(wal);
    let bytes = std::fs::read(dir.path().join(format!("{:020}.seg", 0))).expect("read segment");
    let mut group = c.benchmark_group("wal_recovery");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("recover_segment_bytes_4MiB", |b| {
        b.iter(|| {
            let recovered =
                recover_segment_bytes::<Vec<u8>>(black_box(&bytes), true, options.max_record_bytes)
                    .expect("clean segment");
            black_box(recovered.records.len())
        })
    });
    group.finish();
}

/// Recovery of a last segment whose tail after a few good records is pseudo-random garbage
/// (1, 2, 4 and 16 MiB), with the realistic 16 MiB record limit: the search for a valid record
/// after the bad one is what is measured. Filter with `wal_garbage_tail`.
fn garbage_tail(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_garbage_tail");
    group.sample_size(10);
    for mib in [1usize, 2, 4, 16] {
        let mut bytes = Vec::new();
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ mib as u64;
        bytes.extend((0..mib << 20).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        }));
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("MiB", mib), &bytes, |b, bytes| {
            b.iter(|| {
                let (result, work) = recover_segment_bytes_with_work::<Vec<u8>>(
                    black_box(bytes),
                    true,
                    16 << 20,
                    None,
                );
                black_box((result.is_ok(), work.checksummed_bytes))
            })
        });
        let (result, work) =
            recover_segment_bytes_with_work::<Vec<u8>>(&bytes, true, 16 << 20, None);
        println!(
            "wal_garbage_tail/{mib} MiB: torn tail cut = {}, {work:?}",
            result.is_ok()
        );
    }
    group.finish();
}

criterion_group!(benches, group_commit, recovery, garbage_tail);
criterion_main!(benches);
