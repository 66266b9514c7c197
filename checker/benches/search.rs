//! Speed of the linearizability search: a generated 100,000-operation, 40-key kv history with 50
//! clients, and the shared Porcupine corpus (all etcd logs together, etcd_002, c50-ok, c50-bad).
//! Histories are read and paired before timing; only the check is measured.
//! Run: `cargo bench -p checker --bench search` (corpus benches are skipped when the corpus is
//! absent; set `GAUNTLET_SHARED_DIR` when it is not at `<repo>/../shared`).

use std::path::{Path, PathBuf};

#[path = "support/synthetic.rs"]
mod synthetic;

use checker::history::Operation;
use checker::{check_operations, CheckOptions, ModelKind, Verdict};
use criterion::{criterion_group, criterion_main, Criterion};
use synthetic::generated_kv;

/// The corpus beside the repository (`<repo>/../shared`), or under `$GAUNTLET_SHARED_DIR`.
const CORPUS: &str = "corpus/porcupine";

fn corpus_dir() -> Option<PathBuf> {
    let shared = match std::env::var_os("GAUNTLET_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    let dir = shared.join(CORPUS);
    dir.join("expected.tsv").exists().then_some(dir)
}

fn load(path: &Path) -> Vec<Operation> {
    let history = checker::formats::parse_file(path, None).expect("corpus file parses");
    checker::wellformed::pair(&history).expect("corpus file is well formed")
}

fn bench_generated(c: &mut Criterion) {
    let ops = generated_kv(100_000, 40, 50, 7);
    let opts = CheckOptions::default();
    let report = check_operations(&ops, ModelKind::Kv, &opts);
    assert_eq!(
        report.verdict,
        Verdict::Linearizable,
        "generated history must check"
    );
    c.bench_function("kv_100k_ops_40_keys_50_clients", |b| {
        b.iter(|| check_operations(&ops, ModelKind::Kv, &opts))
    });
}

fn bench_corpus(c: &mut Criterion) {
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus {CORPUS} absent: corpus benches skipped");
        return;
    };
    let opts = CheckOptions::default();
    let mut etcd: Vec<Vec<Operation>> = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("etcd_"))
        })
        .collect();
    names.sort();
    for path in &names {
        etcd.push(load(path));
    }
    assert_eq!(etcd.len(), 102, "all 102 etcd logs");
    c.bench_function("etcd_all_102", |b| {
        b.iter(|| {
            etcd.iter()
                .map(|ops| {
                    check_operations(ops, ModelKind::CasRegister, &opts)
                        .verdict
                        .exit_code()
                })
                .sum::<i32>()
        })
    });
    for (name, model) in [
        ("etcd_002.log", ModelKind::CasRegister),
        ("etcd_007.log", ModelKind::CasRegister),
        ("c50-ok.txt", ModelKind::Kv),
        ("c50-bad.txt", ModelKind::Kv),
    ] {
        let ops = load(&dir.join(name));
        c.bench_function(name, |b| b.iter(|| check_operations(&ops, model, &opts)));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_generated, bench_corpus
}
criterion_main!(benches);
