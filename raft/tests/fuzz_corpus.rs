//! Runs the fuzz target bodies of `raft::fuzzing` over the checked-in corpus in
//! `fuzz/corpus/<target>/`, so `cargo test` exercises every target (and every crash file turned
//! into a regression input) without cargo-fuzz. Files listed in `fuzz/known-crashes.tsv` are
//! known to fail; they are run separately and must still fail until their bug is fixed.
//!
//! `cargo test -p raft --test fuzz_corpus -- --ignored write_seed_corpus` (re)writes the seeds.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// `(file name, reason)` of the known-crashing inputs of `target`.
fn known_crashes(target: &str) -> Vec<(String, String)> {
    let list = fs::read_to_string(fuzz_dir().join("known-crashes.tsv")).unwrap_or_default();
    list.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (t, file, reason) = (fields.next()?, fields.next()?, fields.next()?);
            (t == target).then(|| (file.to_string(), reason.to_string()))
        })
        .collect()
}

/// Runs `body` over every corpus file of `target`; returns how many files ran.
fn run_corpus(target: &str, body: fn(&[u8])) -> usize {
    let dir = fuzz_dir().join("corpus").join(target);
    let skipped = known_crashes(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    let mut ran = 0;
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(&file).unwrap();
        if let Some((_, reason)) = skipped.iter().find(|(f, _)| *f == name) {
            let outcome = panic::catch_unwind(|| body(&bytes));
            assert!(
                outcome.is_err(),
                "{target}/{name} is listed in fuzz/known-crashes.tsv ({reason}) but passes now: \
                 remove it from the list"
            );
            continue;
        }
        let outcome = panic::catch_unwind(|| body(&bytes));
        assert!(
            outcome.is_ok(),
            "fuzz input fuzz/corpus/{target}/{name} fails (rerun: cargo fuzz run {target} {})",
            file.display()
        );
        ran += 1;
    }
    ran
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
