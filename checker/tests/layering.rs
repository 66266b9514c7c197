//! The crate's layers, read from the source: the model (`model.rs`, `models/`) sits at the bottom
//! and never uses the search (`linearizability`), the entry point (`check`) or the report
//! (`report`); the search never uses the entry point. A `use` or a path that crosses a layer the
//! wrong way, directly, through `super::`, in a `crate::{..}` group or through a re-export at the
//! crate root, fails this test with the file and the module it reached.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A layer rule: source files under `files` (relative to `src/`) must not reach `forbidden`.
struct Rule {
    files: &'static [&'static str],
    forbidden: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        files: &["model.rs", "models"],
        forbidden: &["linearizability", "check", "report", "fuzzing"],
    },
    Rule {
        files: &["linearizability"],
        forbidden: &["check", "fuzzing"],
    },
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file at `path` (a file, or a directory searched recursively).
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            files.extend(rust_files(&entry));
        } else if entry.extension().is_some_and(|ext| ext == "rs") {
            files.push(entry);
        }
    }
    files
}

/// The module path of a source file below `src/`: `models/kv.rs` -> `[models, kv]`,
/// `linearizability/mod.rs` -> `[linearizability]`, `model.rs` -> `[model]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts
}

/// The code without comments (line, doc and block comments), string contents kept out too.
fn strip_comments(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' => {
                // A char literal (`'"'`, `'\''`) is skipped; a lifetime (`'a`) is code.
                let body = &source[i + 1..];
                let literal_len = if body.starts_with('\\') {
                    body.get(2..)
                        .and_then(|tail| tail.find('\''))
                        .map(|end| end + 3)
                } else {
                    body.chars()
                        .next()
                        .filter(|c| body[c.len_utf8()..].starts_with('\''))
                        .map(|c| c.len_utf8() + 1)
                };
                match literal_len {
                    Some(len) => {
                        i += 1 + len;
                        out.push_str("' '");
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                // Copy one whole character (sources are UTF-8).
                let len = source[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&source[i..i + len]);
                i += len;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier at the start of `text` (after spaces), and the rest.
fn ident(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let end = text.find(|c: char| !is_ident(c)).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// The text after `::` at the start of `text` (after spaces), if any.
fn after_colons(text: &str) -> Option<&str> {
    text.trim_start().strip_prefix("::")
}

/// The top-level items of a `{a::b, c, d::{e, f}}` group starting at `text` (just after `{`).
fn group_items(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (position, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&text[start..position]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..position]);
                start = position + 1;
            }
            _ => {}
        }
    }
    items
}

/// The first segments below the crate root of every path in `code` that starts at the crate root
/// (`crate::`, or enough `super::`s from `module`), groups expanded.
fn crate_modules_used(code: &str, module: &[String]) -> Vec<String> {
    let mut used = Vec::new();
    let mut rest = code;
    while let Some(found) = rest.find(['c', 's']) {
        let preceded_by_ident = rest[..found].chars().next_back().is_some_and(is_ident)
            || rest[..found].ends_with("::");
        rest = &rest[found..];
        let (word, after) = ident(rest);
        if word.is_empty() {
            rest = &rest[1..];
            continue;
        }
        if preceded_by_ident || (word != "crate" && word != "super") {
            rest = after;
            continue;
        }
        // Walk `crate::` or `super::super::...` to a path from the crate root.
        let mut path: Vec<String> = if word == "crate" {
            Vec::new()
        } else {
            module.to_vec()
        };
        if word == "super" {
            path.pop();
        }
        // The crate-root module a path reaches: its first segment, or the module it is inside.
        let top = |path: &[String], segment: &str| path.first().cloned().unwrap_or(segment.into());
        let mut cursor = after;
        while let Some(next) = after_colons(cursor) {
            let (segment, tail) = ident(next);
            if segment == "super" {
                path.pop();
                cursor = tail;
                continue;
            }
            if !segment.is_empty() {
                used.push(top(&path, segment));
            } else if let Some(group) = next.trim_start().strip_prefix('{') {
                for item in group_items(group) {
                    let (first, _) = ident(item);
                    if !first.is_empty() {
                        used.push(top(&path, first));
                    }
                }
            }
            break;
        }
        rest = after;
    }
    used
}

/// Items the crate root re-exports (`pub use check::{check_operations, ..}` in `lib.rs`), mapped
/// to the module they come from.
fn root_reexports() -> BTreeMap<String, String> {
    let lib = strip_comments(&fs::read_to_string(src_dir().join("lib.rs")).expect("read lib.rs"));
    let mut reexports = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let (module, tail) = ident(path);
        let Some(tail) = after_colons(tail) else {
            continue;
        };
        let items = match tail.trim_start().strip_prefix('{') {
            Some(group) => group_items(group),
            None => vec![tail],
        };
        for item in items {
            let (name, _) = ident(item);
            if !name.is_empty() {
                reexports.insert(name.to_string(), module.to_string());
            }
        }
    }
    reexports
}

/// Every violation of `rule`: (file, module reached).
fn violations(rule: &Rule) -> Vec<(PathBuf, String)> {
    let src = src_dir();
    let reexports = root_reexports();
    let mut found = Vec::new();
    for files in rule.files {
        for file in rust_files(&src.join(files)) {
            let relative = file.strip_prefix(&src).expect("below src").to_path_buf();
            let code = strip_comments(&fs::read_to_string(&file).expect("read source"));
            for used in crate_modules_used(&code, &module_path(&relative)) {
                let module = reexports.get(&used).cloned().unwrap_or(used);
                if rule.forbidden.contains(&module.as_str()) {
                    found.push((relative.clone(), module));
                }
            }
        }
    }
    found
}

#[test]
fn the_model_never_uses_the_search_the_check_or_the_report() {
    let rule = &RULES[0];
    let scanned: usize = rule
        .files
        .iter()
        .map(|f| rust_files(&src_dir().join(f)).len())
        .sum();
    assert!(scanned >= 7, "only {scanned} model files found");
    assert_eq!(violations(rule), Vec::new());
}

#[test]
fn the_search_never_uses_the_check() {
    let rule = &RULES[1];
    assert!(rust_files(&src_dir().join(rule.files[0])).len() >= 4);
    assert_eq!(violations(rule), Vec::new());
}

#[test]
fn the_scanner_finds_every_way_of_reaching_a_module() {
    let module = ["models".to_string(), "kv".to_string()];
    let reached = |code: &str| crate_modules_used(&strip_comments(code), &module);
    assert_eq!(
        reached("use crate::linearizability::PreparedOp;"),
        ["linearizability"]
    );
    assert_eq!(
        reached("use crate::{history::Value, check::CheckOptions};"),
        ["history", "check"]
    );
    assert_eq!(reached("use super::super::report::Verdict;"), ["report"]);
    assert_eq!(reached("use super::text::Text;"), ["models"]);
    assert_eq!(
        reached("fn f(x: &crate::report::CheckReport) {}"),
        ["report"]
    );
    assert_eq!(reached("use crate::CheckOptions;"), ["CheckOptions"]);
    assert_eq!(
        root_reexports().get("CheckOptions").map(String::as_str),
        Some("check")
    );
    // Comments and strings are not code.
    assert!(reached("// use crate::linearizability::Search;\n/* crate::check */").is_empty());
    assert!(reached(r#"let s = "crate::check";"#).is_empty());
    assert_eq!(
        reached(r#"let q = '"'; fn f<'a>(x: &'a crate::check::ModelKind) {}"#),
        ["check"]
    );
    assert!(reached("let discrete::check = 1; my_crate::check();").is_empty());
}
