//! The hand-written history corpus: every line of `histories/manifest.tsv` (file, format, model,
//! expected verdict) is read, checked, and must give the expected verdict. `unusable` files must be
//! refused before the search with a typed error naming the file and a line.

use std::path::{Path, PathBuf};

use checker::formats::{self, Format};
use checker::wellformed;
use checker::{check_operations, CheckOptions, ModelKind, Verdict};

struct Entry {
    file: String,
    format: Option<Format>,
    model: Option<ModelKind>,
    expected: String,
}

fn histories_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../histories")
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(histories_dir().join("manifest.tsv")).expect("manifest.tsv");
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields.len(),
            4,
            "manifest line {}: expected 4 tab-separated fields",
            number + 1
        );
        let format = match fields[1] {
            "auto" => None,
            name => Some(name.parse::<Format>().expect("format name")),
        };
        let model = match fields[2] {
            "-" => None,
            name => Some(name.parse::<ModelKind>().expect("model name")),
        };
        entries.push(Entry {
            file: fields[0].to_string(),
            format,
            model,
            expected: fields[3].to_string(),
        });
    }
    entries
}

#[test]
fn manifest_lists_every_history_file_and_every_kind() {
    let entries = manifest();
    let listed: std::collections::BTreeSet<String> =
        entries.iter().map(|e| e.file.clone()).collect();
    let mut on_disk = std::collections::BTreeSet::new();
    for dir in std::fs::read_dir(histories_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for file in std::fs::read_dir(&dir).unwrap() {
                let file = file.unwrap().path();
                let relative = file
                    .strip_prefix(histories_dir())
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                on_disk.insert(relative);
            }
        }
    }
    assert_eq!(
        listed, on_disk,
        "manifest.tsv and the files under histories/ differ"
    );
    for expected in ["valid", "invalid", "unusable"] {
        assert!(
            entries.iter().any(|e| e.expected == expected),
            "no {expected} history"
        );
    }
    for format in Format::ALL {
        assert!(
            entries
                .iter()
                .any(|e| e.format == Some(format) && e.expected == "valid"),
            "no valid {format}"
        );
        assert!(
            entries
                .iter()
                .any(|e| e.format == Some(format) && e.expected == "invalid"),
            "no invalid {format}"
        );
    }
}

#[test]
fn every_history_gets_its_expected_verdict() {
    let mut failures = Vec::new();
    for entry in manifest() {
        let path = histories_dir().join(&entry.file);
        let outcome = formats::load_file(&path, entry.format)
            .map_err(|e| e.to_string())
            .and_then(|parsed| {
                wellformed::pair(&parsed.history)
                    .map(|ops| (parsed, ops))
                    .map_err(|e| e.to_string())
            });
        match (entry.expected.as_str(), outcome) {
            ("unusable", Err(message)) => {
                // The message names the file and, for content errors, a line.
                assert!(
                    message.contains(&entry.file) || message.contains(':'),
                    "{}: {message}",
                    entry.file
                );
            }
            ("unusable", Ok(_)) => {
                failures.push(format!("{}: expected unusable, but it parsed", entry.file))
            }
            (_, Err(message)) => failures.push(format!(
                "{}: expected a verdict, got: {message}",
                entry.file
            )),
            (expected, Ok((parsed, ops))) => {
                let model = entry.model.expect("usable entries name a model");
                // The format is detected and the model implied by the file itself.
                let bytes = std::fs::read(&path).unwrap();
                if formats::detect(&bytes) != entry.format {
                    failures.push(format!(
                        "{}: detected as {:?}",
                        entry.file,
                        formats::detect(&bytes)
                    ));
                }
                if parsed.default_model != Some(model.name()) {
                    failures.push(format!(
                        "{}: implied model {:?}",
                        entry.file, parsed.default_model
                    ));
                }
                let report = check_operations(&ops, model, &CheckOptions::default());
                let got = match report.verdict {
                    Verdict::Linearizable => "valid",
                    Verdict::NotLinearizable => "invalid",
                    Verdict::Unknown { .. } => "unknown",
                };
                if got != expected {
                    failures.push(format!("{}: expected {expected}, got {got}", entry.file));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} histories wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn unusable_histories_name_the_line_that_is_wrong() {
    let cases = [
        ("malformed/completion-without-invocation.jsonl", 4),
        ("malformed/mismatched-function.jsonl", 3),
        ("malformed/broken-json-line.jsonl", 2),
        ("malformed/two-open-invocations.edn", 2),
        ("malformed/unclosed-map.edn", 2),
        ("malformed/unknown-type.edn", 2),
        ("malformed/etcd-truncated-operation.log", 5),
        ("malformed/porcupine-missing-key.txt", 2),
    ];
    for (file, line) in cases {
        let path = histories_dir().join(file);
        let message = match formats::load_file(&path, None) {
            Err(err) => err.to_string(),
            Ok(parsed) => wellformed::pair(&parsed.history)
                .expect_err(file)
                .to_string(),
        };
        let name = path.display().to_string();
        assert!(
            message.starts_with(&format!("{name}:{line}"))
                || message.starts_with(&format!("{line}:")),
            "{file}: {message}"
        );
    }
}
