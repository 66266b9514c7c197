//! Every file the docs cite in backquotes exists: a path from the repository root
//! (`raft/src/core/log.rs`, `scripts/nightly-torture`) must name an existing file or directory, and
//! a shorter one (`sim/world.rs`, `election.rs`, `sim/`) must be the tail of one. Covers `README.md`
//! and every `.md` file under `docs/`. Run artifacts (`results.json`, `store/latest`), placeholders
//! (`fuzz/corpus/TARGET/`) and words with slashes (`get/put`) are not paths and are left alone.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ sits in the repository")
        .to_path_buf()
}

/// Directories that hold no source: build output, run stores, version control.
const SKIPPED_DIRS: [&str; 4] = ["target", ".git", "store", "node_modules"];

/// Every file and directory under `dir`, as paths relative to `root` with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if SKIPPED_DIRS.contains(&name.as_str()) {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            out.push(format!("{relative}/"));
            walk(root, &path, out);
        } else {
            out.push(relative);
        }
    }
}

/// The markdown files whose citations are checked.
fn cited_in() -> Vec<PathBuf> {
    let root = repo_root();
    let mut all = Vec::new();
    walk(&root, &root.join("docs"), &mut all);
    let mut files: Vec<PathBuf> = all
        .iter()
        .filter(|p| p.ends_with(".md"))
        .map(|p| root.join(p))
        .collect();
    files.push(root.join("README.md"));
    files
}

/// Extensions of files kept in the repository (run artifacts such as `.json` are not).
const SOURCE_EXTENSIONS: [&str; 4] = [".rs", ".md", ".toml", ".sh"];

/// Where runs and builds put what they make: a path under these is an artifact, not a citation.
const GENERATED: [&str; 2] = ["store", "target"];

/// The path a backquoted span cites, if it cites one: `raft/src/core/log.rs:120` gives
/// `raft/src/core/log.rs`.
fn cited_path(span: &str, top_level: &[String]) -> Option<String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || "_-./".contains(c);
    if span.is_empty()
        || !span
            .trim_end_matches(|c: char| c == ':' || c.is_ascii_digit() || c == '-')
            .chars()
            .all(valid)
    {
        return None;
    }
    let path = match span.split_once(':') {
        Some((path, line)) if line.chars().all(|c| c.is_ascii_digit() || c == '-') => path,
        Some(_) => return None,
        None => span,
    };
    if path.starts_with('.') && !path.starts_with(".ci/")
        || path.starts_with('-')
        || path.contains("..")
    {
        return None;
    }
    // A segment in capitals without an extension is a placeholder (`TARGET`, `FILE`).
    let placeholder = path.split('/').any(|segment| {
        !segment.is_empty()
            && !segment.contains('.')
            && segment.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    });
    if placeholder {
        return None;
    }
    let first = path.split('/').next().unwrap_or("");
    if GENERATED.contains(&first) {
        return None;
    }
    let from_root = path.contains('/') && top_level.iter().any(|t| t == first);
    let source_file = SOURCE_EXTENSIONS.iter().any(|ext| path.ends_with(ext));
    // `harness/src/sim/` is a directory of the repository; a lone `wal/` may be one on a node's disk.
    let directory = path.ends_with('/') && path.trim_end_matches('/').contains('/');
    (from_root || source_file || directory).then(|| path.to_string())
}

/// True if `path` exists from the root, next to the citing file, or as the tail of some path in
/// the repository.
fn exists(path: &str, citing: &Path, root: &Path, all: &[String]) -> bool {
    let trimmed = path.trim_end_matches('/');
    if root.join(trimmed).exists() || citing.parent().unwrap().join(trimmed).exists() {
        return true;
    }
    let first = path.split('/').next().unwrap_or("");
    if root.join(first).exists() && path.contains('/') {
        return false; // cited from the root and not there
    }
    all.iter().any(|known| {
        known == path
            || known.ends_with(&format!("/{path}"))
            || known
                .trim_end_matches('/')
                .ends_with(&format!("/{trimmed}"))
                && path.ends_with('/') == known.ends_with('/')
    })
}

#[test]
fn every_path_the_docs_cite_in_backquotes_exists() {
    let root = repo_root();
    let mut all = Vec::new();
    walk(&root, &root, &mut all);
    let top_level: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| !SKIPPED_DIRS.contains(&name.as_str()))
        .collect();
    let mut dead = Vec::new();
    let mut checked = 0;
    for file in cited_in() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 0 {
                    continue; // outside backquotes
                }
                let Some(path) = cited_path(span, &top_level) else {
                    continue;
                };
                checked += 1;
                if !exists(&path, &file, &root, &all) {
                    dead.push(format!(
                        "{}:{}: `{span}`",
                        file.strip_prefix(&root).unwrap().display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} cited paths found: is the scan broken?"
    );
    assert!(
        dead.is_empty(),
        "dead paths cited in the docs:\n{}",
        dead.join("\n")
    );
}

#[test]
fn the_scan_tells_paths_from_other_words() {
    let top = vec!["raft".to_string(), "docs".to_string(), ".ci".to_string()];
    assert_eq!(
        cited_path("raft/src/core/log.rs:120", &top).as_deref(),
        Some("raft/src/core/log.rs")
    );
    assert_eq!(
        cited_path("election.rs", &top).as_deref(),
        Some("election.rs")
    );
    assert_eq!(
        cited_path("storage/wal/", &top).as_deref(),
        Some("storage/wal/")
    );
    assert_eq!(cited_path("wal/", &top), None, "a data directory, maybe");
    assert_eq!(cited_path(".ci/run", &top).as_deref(), Some(".ci/run"));
    for word in [
        "results.json",
        "store/latest",
        "get/put/append",
        "fuzz/corpus/TARGET/",
        "--nodes 3",
        "a -> b",
        "",
    ] {
        assert_eq!(cited_path(word, &top), None, "{word}");
    }
    let root = repo_root();
    let all = vec![
        "raft/src/core/election.rs".to_string(),
        "raft/src/storage/wal/".to_string(),
    ];
    let citing = root.join("docs/raft-core.md");
    assert!(exists("election.rs", &citing, &root, &all));
    assert!(exists("core/election.rs", &citing, &root, &all));
    assert!(exists("storage/wal/", &citing, &root, &all));
    assert!(!exists(
        "raft/src/core/no_such_file.rs",
        &citing,
        &root,
        &all
    ));
    assert!(!exists("RAFT_API.md", &citing, &root, &all));
    assert!(!exists("lection.rs", &citing, &root, &all));
}
