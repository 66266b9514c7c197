//! Conformance with public histories whose verdicts other checkers' own tests assert: every line of
//! `../shared/corpus/porcupine/expected.tsv` (102 Jepsen etcd logs, 6 Porcupine KV logs) must be
//! parsed and get its verdict right.
//!
//! The corpus lives beside the repository (`<repo>/../shared/corpus`), not in it. When it is absent
//! these tests print why they were skipped and pass; set `GAUNTLET_SHARED_DIR` to point elsewhere.

use std::path::PathBuf;

use checker::formats::{self, Format};
use checker::wellformed;
use checker::{check_operations, CheckOptions, ModelKind, Verdict};

struct Expected {
    file: String,
    format: Format,
    model: ModelKind,
    valid: bool,
}

fn corpus_dir() -> PathBuf {
    let shared = match std::env::var_os("GAUNTLET_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    shared.join("corpus/porcupine")
}

/// The expected verdicts, or `None` (with a message saying why) when the corpus is absent.
fn expected() -> Option<Vec<Expected>> {
    let dir = corpus_dir();
    let path = dir.join("expected.tsv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "SKIPPED: the shared Porcupine/etcd corpus is absent ({} not readable); \
             it lives beside the repository as ../shared/corpus (CI has it), \
             or set GAUNTLET_SHARED_DIR",
            path.display()
        );
        return None;
    };
    let mut rows = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields.len(),
            4,
            "expected.tsv line {line:?}: expected 4 fields"
        );
        rows.push(Expected {
            file: fields[0].to_string(),
            format: fields[1].parse().expect("known format"),
            model: fields[2].parse().expect("known model"),
            valid: match fields[3] {
                "valid" => true,
                "invalid" => false,
                other => panic!("expected valid or invalid, found {other:?}"),
            },
        });
    }
    Some(rows)
}

#[test]
fn every_corpus_file_parses_completely_and_is_well_formed() {
    let Some(rows) = expected() else { return };
    assert_eq!(rows.len(), 108, "expected.tsv should list 108 histories");
    for row in rows {
        let path = corpus_dir().join(&row.file);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            formats::detect(&bytes),
            Some(row.format),
            "{}: detected format",
            row.file
        );
        let parsed = formats::load_file(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.default_model, Some(row.model.name()), "{}", row.file);
        // Every operation line becomes exactly one event.
        let text = String::from_utf8(bytes).unwrap();
        let op_lines = match row.format {
            Format::JepsenEtcdLog => text
                .lines()
                .filter(|l| l.contains("jepsen.util - "))
                .count(),
            _ => text.lines().filter(|l| !l.trim().is_empty()).count(),
        };
        assert_eq!(
            parsed.history.events.len(),
            op_lines,
            "{}: events",
            row.file
        );
        let ops = wellformed::pair(&parsed.history).unwrap_or_else(|e| panic!("{}: {e}", row.file));
        assert!(!ops.is_empty(), "{}", row.file);
    }
}

#[test]
fn every_corpus_verdict_is_right() {
    let Some(rows) = expected() else { return };
    let mut wrong = Vec::new();
    for row in &rows {
        let path = corpus_dir().join(&row.file);
        let parsed = formats::load_file(&path, Some(row.format)).unwrap_or_else(|e| panic!("{e}"));
        let ops = wellformed::pair(&parsed.history).unwrap_or_else(|e| panic!("{}: {e}", row.file));
        let report = check_operations(&ops, row.model, &CheckOptions::default());
        let right = match report.verdict {
            Verdict::Linearizable => row.valid,
            Verdict::NotLinearizable => !row.valid,
            Verdict::Unknown { .. } => false,
        };
        if !right {
            wrong.push(format!(
                "{}: expected {}, got {:?}",
                row.file,
                if row.valid { "valid" } else { "invalid" },
                report.verdict
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} verdicts wrong:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}
