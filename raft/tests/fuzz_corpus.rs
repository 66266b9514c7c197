//! Runs the fuzz target bodies of `raft::fuzzing` over the checked-in corpus in
//! `fuzz/corpus/<target>/`, so `cargo test` exercises every target (and every crash file turned
//! into a regression input) without cargo-fuzz, through the shared replayer
//! `checker::fuzzing::corpus` (files listed in `fuzz/known-crashes.tsv` must still fail).
//!
//! `cargo test -p raft --test fuzz_corpus -- --ignored write_seed_corpus` (re)writes the seeds.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Replays `target`'s corpus (see `checker::fuzzing::corpus`); returns how many inputs passed.
fn run_corpus(target: &str, body: fn(&[u8])) -> usize {
    checker::fuzzing::corpus::replay_corpus(&fuzz_dir(), target, body)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn wire_decode_corpus_passes() {
    let ran = run_corpus("wire_decode", raft::fuzzing::wire_decode);
    assert!(ran >= 20, "only {ran} wire_decode corpus files");
}

#[test]
fn wal_recover_corpus_passes() {
    let ran = run_corpus("wal_recover", raft::fuzzing::wal_recover);
    assert!(ran >= 12, "only {ran} wal_recover corpus files");
}

#[test]
fn seeds_pass_their_target() {
    for (name, bytes) in raft::fuzzing::seeds::wire_decode_seeds() {
        let outcome = panic::catch_unwind(|| raft::fuzzing::wire_decode(&bytes));
        assert!(outcome.is_ok(), "wire_decode seed {name} fails");
    }
    for (name, bytes) in raft::fuzzing::seeds::wal_recover_seeds() {
        let outcome = panic::catch_unwind(|| raft::fuzzing::wal_recover(&bytes));
        assert!(outcome.is_ok(), "wal_recover seed {name} fails");
    }
}

#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run by hand after changing the seeds"]
fn write_seed_corpus() {
    let targets = [
        ("wire_decode", raft::fuzzing::seeds::wire_decode_seeds()),
        ("wal_recover", raft::fuzzing::seeds::wal_recover_seeds()),
    ];
    for (target, seeds) in targets {
        let dir = fuzz_dir().join("corpus").join(target);
        fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
}
