//! Runs the fuzz target bodies of `checker::fuzzing` over the checked-in corpus in
//! `fuzz/corpus/<target>/`, so `cargo test` exercises every target (and every crash file turned
//! into a regression input) without cargo-fuzz, through the shared replayer
//! `checker::fuzzing::corpus` (files listed in `fuzz/known-crashes.tsv` must still fail).
//!
//! `cargo test -p checker --test fuzz_corpus -- --ignored write_seed_corpus` (re)writes the seeds.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Replays `target`'s corpus (see `checker::fuzzing::corpus`); returns how many inputs passed.
fn run_corpus(target: &str, body: fn(&[u8])) -> usize {
    checker::fuzzing::corpus::replay_corpus(&repo_dir().join("fuzz"), target, body)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parse_history_corpus_passes() {
    let ran = run_corpus("parse_history", checker::fuzzing::parse_history);
    assert!(ran >= 30, "only {ran} parse_history corpus files");
}

#[test]
fn paired_history_corpus_passes() {
    let ran = run_corpus("paired_history", checker::fuzzing::paired_history);
    assert!(ran >= 30, "only {ran} paired_history corpus files");
}

#[test]
fn checker_vs_bruteforce_corpus_passes() {
    let ran = run_corpus(
        "checker_vs_bruteforce",
        checker::fuzzing::checker_vs_bruteforce,
    );
    assert!(ran >= 20, "only {ran} checker_vs_bruteforce corpus files");
}

#[test]
fn generated_histories_cover_both_verdicts_and_every_model() {
    // The comparison is only worth something if the generator produces both outcomes.
    let mut linearizable = 0;
    let mut not = 0;
    let mut models = std::collections::BTreeSet::new();
    for (_, bytes) in checker::fuzzing::seeds::checker_vs_bruteforce_seeds() {
        let mut input = arbitrary::Unstructured::new(&bytes);
        let Ok(generated) = checker::fuzzing::generate_history(&mut input) else {
            continue;
        };
        models.insert(generated.model.name());
        let ops = checker::wellformed::pair(&generated.history).unwrap();
        match checker::fuzzing::brute_force_linearizable(generated.model, &ops) {
            Some(true) => linearizable += 1,
            Some(false) => not += 1,
            None => {}
        }
    }
    assert!(
        linearizable > 0 && not > 0,
        "{linearizable} linearizable, {not} not"
    );
    assert!(models.len() >= 4, "models seen: {models:?}");
}

#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run by hand after changing the seeds"]
fn write_seed_corpus() {
    let corpus = repo_dir().join("fuzz/corpus");
    let parse_dir = corpus.join("parse_history");
    fs::create_dir_all(&parse_dir).unwrap();
    for (name, bytes) in checker::fuzzing::seeds::parse_history_seeds() {
        fs::write(parse_dir.join(format!("seed-{name}")), bytes).unwrap();
    }
    for sub in fs::read_dir(repo_dir().join("histories")).unwrap() {
        let sub = sub.unwrap().path();
        if !sub.is_dir() {
            continue;
        }
        let group = sub.file_name().unwrap().to_string_lossy().into_owned();
        for file in fs::read_dir(&sub).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            fs::copy(&file, parse_dir.join(format!("seed-{group}-{name}"))).unwrap();
        }
    }
    let dir = corpus.join("checker_vs_bruteforce");
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in checker::fuzzing::seeds::checker_vs_bruteforce_seeds() {
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}
