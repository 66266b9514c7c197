//! Speed of the linearizability search: a generated 100,000-operation, 40-key kv history with 50
//! clients, and the shared Porcupine corpus (all etcd logs together, etcd_002, c50-ok, c50-bad).
//! Histories are read and paired before timing; only the check is measured.
//! Run: `cargo bench -p checker --bench search` (corpus benches are skipped when the corpus is
//! absent; set `GAUNTLET_SHARED_DIR` when it is not at `<repo>/../shared`).

use std::path::{Path, PathBuf};

use checker::history::{Operation, Value};
use checker::{check_operations, CheckOptions, ModelKind, Verdict};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The corpus beside the repository (`<repo>/../shared`), or under `$GAUNTLET_SHARED_DIR`.
const CORPUS: &str = "corpus/porcupine";

/// A linearizable kv history: `clients` clients run `ops` get/put/append operations on `keys`
/// keys against one store; each takes effect at a random moment between its call and return.
pub fn generated_kv(ops: usize, keys: usize, clients: usize, seed: u64) -> Vec<Operation> {
    #[derive(Clone)]
    enum Phase {
        Idle,
        Invoked(usize),
        Applied(usize),
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store: Vec<String> = vec![String::new(); keys];
    let mut phases = vec![Phase::Idle; clients];
    let mut history: Vec<Operation> = Vec::with_capacity(ops);
    let mut event = 0;
    let mut completed = 0;
    while completed < ops {
        let client = rng.random_range(0..clients);
        match phases[client].clone() {
            Phase::Idle if history.len() < ops => {
                let key = rng.random_range(0..keys);
                let (f, input) = match rng.random_range(0..10) {
                    0..4 => ("get", Value::Nil),
                    4..8 => ("put", Value::Str(format!("v{}", history.len()))),
                    _ => ("append", Value::Str(format!("a{}", history.len() % 100))),
                };
                history.push(Operation {
                    id: history.len(),
                    process: client as u64,
                    f: f.to_string(),
                    key: Some(Value::Str(format!("k{key}"))),
                    input,
                    output: None,
                    call: event,
                    ret: None,
                    call_line: event + 1,
                    ret_line: None,
                });
                phases[client] = Phase::Invoked(history.len() - 1);
            }
            Phase::Idle => continue,
            Phase::Invoked(index) => {
                let op = &mut history[index];
                let Some(Value::Str(key)) = &op.key else {
                    unreachable!()
                };
                let slot = &mut store[key[1..].parse::<usize>().unwrap_or(0)];
                op.output = Some(match (op.f.as_str(), &op.input) {
                    ("put", Value::Str(v)) => {
                        *slot = v.clone();
                        Value::Str(v.clone())
                    }
                    ("append", Value::Str(v)) => {
                        slot.push_str(v);
                        Value::Str(v.clone())
                    }
                    _ => Value::Str(slot.clone()),
                });
                phases[client] = Phase::Applied(index);
                continue;
            }
            Phase::Applied(index) => {
                history[index].ret = Some(event);
                history[index].ret_line = Some(event + 1);
                phases[client] = Phase::Idle;
                completed += 1;
            }
        }
        event += 1;
    }
    history
}

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
