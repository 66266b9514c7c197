//! The GitHub workflows a team copies: `.github/workflows/ci.yml` and `nightly.yml` validate
//! against the published GitHub workflow schema (`check-jsonschema --builtin-schema
//! vendor.github-workflows`, which ships the schema, so nothing is downloaded), a broken workflow
//! does not, and the nightly matrix names every fuzz target, every nemesis `gauntlet test` takes
//! and as many sim shards as it cuts the sweep into.
//!
//! check-jsonschema is a PyPI package that `.ci/run` installs. Without it these tests say so and
//! pass, except under `CI=true`, where its absence fails them. `CHECK_JSONSCHEMA` may name the
//! executable.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::nemesis::NemesisKind;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ sits in the repository")
        .to_path_buf()
}

/// The check-jsonschema executable: `$CHECK_JSONSCHEMA`, else on PATH, else in the venv that
/// `.ci/run` installs it into.
fn check_jsonschema() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHECK_JSONSCHEMA") {
        return Some(PathBuf::from(path));
    }
    let works = |exe: &Path| {
        Command::new(exe)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("check-jsonschema");
    if works(&on_path) {
        return Some(on_path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let venv = cache.join("gauntlet/check-jsonschema-venv/bin/check-jsonschema");
    works(&venv).then_some(venv)
}

/// The validator, or `None` after saying why the test is skipped (a failure under `CI=true`).
fn validator() -> Option<PathBuf> {
    let found = check_jsonschema();
    if found.is_none() {
        let message = "check-jsonschema is not installed, so the workflow files were NOT validated: \
                       `.ci/run` installs it (python3 -m venv, then pip install check-jsonschema), or \
                       set CHECK_JSONSCHEMA to its path";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "under CI=true: {message}"
        );
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// Runs the validator on `files`; returns (success, output).
fn validate(exe: &Path, files: &[PathBuf]) -> (bool, String) {
    let output = Command::new(exe)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(files)
        .output()
        .expect("run check-jsonschema");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn both_workflows_validate_against_the_github_workflow_schema() {
    let Some(exe) = validator() else { return };
    let root = repo_root();
    let files = [
        root.join(".github/workflows/ci.yml"),
        root.join(".github/workflows/nightly.yml"),
    ];
    let (ok, text) = validate(&exe, &files);
    assert!(ok, "{text}");
}

#[test]
fn a_broken_workflow_is_refused() {
    let Some(exe) = validator() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.yml");
    // `runs-on` misspelt and a step with neither `run` nor `uses`.
    std::fs::write(
        &broken,
        "on: push\njobs:\n  x:\n    runs_on: ubuntu-latest\n    steps:\n      - name: nothing\n",
    )
    .unwrap();
    let (ok, text) = validate(&exe, &[broken]);
    assert!(!ok, "a broken workflow passed: {text}");
}

fn nightly() -> String {
    std::fs::read_to_string(repo_root().join(".github/workflows/nightly.yml")).unwrap()
}

/// The entries of the one-line matrix list `key: [a, b, "c,d"]`.
fn matrix_list(text: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}: [");
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}...]` line in nightly.yml"));
    let inner = line[prefix.len()..].trim_end_matches(']');
    let mut entries = Vec::new();
    let mut quoted = false;
    let mut current = String::new();
    for ch in inner.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => entries.push(std::mem::take(&mut current).trim().to_string()),
            c => current.push(c),
        }
    }
    entries.push(current.trim().to_string());
    entries
}

#[test]
fn the_nightly_matrix_covers_every_nemesis_fuzz_target_and_shard() {
    let text = nightly();
    let nemeses = matrix_list(&text, "nemesis");
    // power-loss and disk-error mount FUSE as root, which the nightly's runners are not.
    for kind in NemesisKind::every().filter(|k| !k.is_sim_only() && !k.needs_power_loss_fs()) {
        assert!(
            nemeses.iter().any(|n| n == kind.name()),
            "{} missing from the nightly nemesis matrix {nemeses:?}",
            kind.name()
        );
    }
    let fuzz_manifest = std::fs::read_to_string(repo_root().join("fuzz/Cargo.toml")).unwrap();
    let targets = matrix_list(&text, "target");
    let mut lines = fuzz_manifest.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "[[bin]]" {
            let name = lines.next().unwrap_or_default();
            let name = name.trim().trim_start_matches("name = ").trim_matches('"');
            assert!(
                targets.iter().any(|t| t == name),
                "fuzz target {name} missing from the nightly matrix {targets:?}"
            );
        }
    }
    let shards = matrix_list(&text, "shard");
    let expected: Vec<String> = (1..=shards.len()).map(|i| i.to_string()).collect();
    assert_eq!(shards, expected);
    assert!(
        text.contains(&format!("SIM_SHARDS: {}\n", shards.len())),
        "SIM_SHARDS must equal the shard matrix's length ({})",
        shards.len()
    );
    assert!(text.contains("gauntlet summarize"));
    assert!(text.contains("$GITHUB_STEP_SUMMARY"));
}

#[test]
fn ci_runs_what_ci_run_runs() {
    let text = std::fs::read_to_string(repo_root().join(".github/workflows/ci.yml")).unwrap();
    assert!(text.contains("run: bash .ci/run"), "{text}");
    assert!(text.contains("pull_request:") && text.contains("push:"));
}
