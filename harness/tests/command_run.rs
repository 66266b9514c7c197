//! `gauntlet test --db command --db-config FILE`: a system that is not Rust, the tiny Python
//! server of `tests/fixtures/tiny_kv.py`, tortured through the command line, and the flags the
//! command target refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gauntlet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("running gauntlet")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_command_target_needs_its_config_and_refuses_what_it_cannot_do() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let missing = gauntlet(&["test", "--db", "command", "--store", store]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("--db-config"),
        "{}",
        stderr(&missing)
    );

    let config = fixture("tiny_kv.json");
    let config = config.to_str().unwrap();
    let churn = gauntlet(&[
        "test",
        "--db",
        "command",
        "--db-config",
        config,
        "--nemesis",
        "membership",
        "--store",
        store,
    ]);
    assert_eq!(churn.status.code(), Some(2), "{}", stderr(&churn));
    assert!(stderr(&churn).contains("membership"), "{}", stderr(&churn));

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\n  \"name\": \"x\",\n  \"start\": 5\n}\n").unwrap();
    let bad_path = bad.path().to_str().unwrap();
    let broken = gauntlet(&[
        "test",
        "--db",
        "command",
        "--db-config",
        bad_path,
        "--store",
        store,
    ]);
    assert_eq!(broken.status.code(), Some(2), "{}", stderr(&broken));
    assert!(
        stderr(&broken).contains(&format!("{bad_path}:")),
        "the error names the file and line: {}",
        stderr(&broken)
    );
}

#[test]
fn a_python_system_passes_a_run_with_faults_and_its_planted_bug_fails_one() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("SKIPPED: python3 not installed; the tiny server needs it");
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    for (config, expected) in [("tiny_kv.json", 0), ("tiny_kv_stale_reads.json", 1)] {
        let config = fixture(config);
        let output = gauntlet(&[
            "test",
            "--db",
            "command",
            "--db-config",
            config.to_str().unwrap(),
            "--nodes",
            "3",
            "--time",
            "6",
            "--nemesis",
            "partition,kill",
            "--seed",
            "1",
            "--store",
            store,
        ]);
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{}: {}",
            config.display(),
            stderr(&output)
        );
    }
}
