//! `scripts/nightly-torture` as a new user meets it: every nemesis `gauntlet test` takes is in its
//! default list, a missing tool is one clear line naming the tool and how to install it (exit 3,
//! before anything runs), a bad command line exits 2, and the files it names exist.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::nemesis::NemesisKind;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ sits in the repository")
        .to_path_buf()
}

fn script() -> PathBuf {
    repo_root().join("scripts/nightly-torture")
}

/// Runs the script with `args` and PATH set to `path`; returns (exit code, stdout + stderr).
fn nightly(args: &[&str], path: &str) -> (i32, String) {
    let output = Command::new("bash")
        .arg(script())
        .args(args)
        .env("PATH", path)
        .current_dir(repo_root())
        .output()
        .expect("run bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().expect("exit code"), text)
}

/// The words of the script's default `nemeses=(...)` list.
fn default_nemeses() -> Vec<String> {
    let text = std::fs::read_to_string(script()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("|| nemeses=("))
        .expect("the default nemesis list");
    let list = &line[line.find("nemeses=(").unwrap() + "nemeses=(".len()..];
    let list = &list[..list.find(')').unwrap()];
    list.split_whitespace().map(str::to_string).collect()
}

#[test]
fn every_nemesis_of_gauntlet_test_is_in_the_default_list() {
    let listed = default_nemeses();
    // power-loss and disk-error mount FUSE as root, which the nightly's runners are not.
    for kind in NemesisKind::every().filter(|k| !k.is_sim_only() && !k.needs_power_loss_fs()) {
        assert!(
            listed.iter().any(|n| n == kind.name()),
            "{} is missing from nightly-torture's nemeses ({listed:?})",
            kind.name()
        );
    }
    // Each entry is one `gauntlet test --nemesis` value that real runs accept.
    for entry in &listed {
        let kinds = harness::nemesis::schedule::parse_nemesis_list(entry)
            .unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert!(kinds.iter().all(|k| !k.is_sim_only()), "{entry}");
    }
}

#[test]
fn a_missing_tool_is_named_with_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let store = store.to_str().unwrap();
    let (code, out) = nightly(
        &["--gauntlet", "/no/such/gauntlet", "--store", store],
        "/usr/bin:/bin",
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("nightly-torture: gauntlet (/no/such/gauntlet) is missing: build it with 'cargo build --release --bins'"),
        "{out}"
    );
    // cargo-fuzz lives in ~/.cargo/bin, which this PATH leaves out.
    let gauntlet = env!("CARGO_BIN_EXE_gauntlet");
    let (code, out) = nightly(
        &["--gauntlet", gauntlet, "--phases", "fuzz", "--store", store],
        "/usr/bin:/bin",
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains(
            "nightly-torture: cargo-fuzz is missing: install it with 'cargo install cargo-fuzz'"
        ),
        "{out}"
    );
    assert!(!Path::new(store).join("fuzz.log").exists(), "nothing ran");
}

#[test]
fn a_bad_command_line_exits_2() {
    let path = std::env::var("PATH").unwrap_or_default();
    for args in [
        &["--bogus"][..],
        &["--minutes"],
        &["--phases", "sim,nap"],
        &["--sim-seeds", "many"],
    ] {
        let (code, out) = nightly(args, &path);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains("nightly-torture: "), "{out}");
    }
    let (code, out) = nightly(&["--help"], &path);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Exit status"), "{out}");
}

#[test]
fn a_sim_night_ends_with_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let gauntlet = env!("CARGO_BIN_EXE_gauntlet");
    let path = std::env::var("PATH").unwrap_or_default();
    let (code, out) = nightly(
        &[
            "--gauntlet",
            gauntlet,
            "--store",
            store.to_str().unwrap(),
            "--phases",
            "sim,summary",
            "--sim-seeds",
            "3",
            "--sim-first",
            "0",
            "--sim-jobs",
            "1",
        ],
        &path,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("# gauntlet nightly summary"), "{out}");
    assert!(store.join("sim/sweeps/0..3.json").is_file(), "{out}");
    assert!(store.join("summary.md").is_file());
    assert!(store.join("trend.jsonl").is_file());
}

#[test]
fn the_files_the_scripts_name_exist() {
    let root = repo_root();
    for script in ["scripts/nightly-torture", "scripts/fuzz-nightly"] {
        let text = std::fs::read_to_string(root.join(script)).unwrap();
        for word in text.split(|c: char| c.is_whitespace() || "'\"`(),;".contains(c)) {
            let word = word.trim_end_matches(['.', ':']);
            let in_repo = ["docs/", "scripts/", ".github/", "fuzz/known", ".ci/"];
            if in_repo.iter().any(|p| word.starts_with(p)) && !word.contains('<') {
                assert!(
                    root.join(word).exists(),
                    "{script} names {word}, which does not exist"
                );
            }
        }
    }
}

#[test]
fn the_fuzz_result_fuzz_nightly_writes_is_what_summarize_reads() {
    let text = std::fs::read_to_string(repo_root().join("scripts/fuzz-nightly")).unwrap();
    // The printf of <target>.result.json and its continuation lines.
    let start = text
        .find("printf '{\"format\":\"gauntlet-fuzz-result\"")
        .expect("fuzz-nightly writes a result file");
    let end = start + text[start..].find(".result.json\"").expect("its file name") + 13;
    let printf = &text[start..end];
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fuzz");
    std::fs::create_dir_all(&out).unwrap();
    for (runs, rate) in [("", ""), ("1234", "56")] {
        let script = format!(
            "target=wal_recover seconds=60 runs={runs} rate={rate} crashes=2 status=77 \
             artifacts={dir}/wal_recover log={dir}/wal_recover.log out={dir}\n{printf}\n",
            dir = out.display()
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let json = std::fs::read_to_string(out.join("wal_recover.result.json")).unwrap();
        let result: harness::summarize::collect::FuzzResult =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(result.format, harness::summarize::collect::FUZZ_FORMAT);
        assert_eq!((result.crashes, result.exit_status), (2, 77));
        assert_eq!(result.runs, runs.parse().ok(), "{json}");
        assert!(
            harness::summarize::when::stamp_seconds(&result.finished).is_some(),
            "{json}"
        );
    }
}
