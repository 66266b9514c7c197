//! Teeth of `--nemesis power-loss` in real runs: the planted bugs `skip-fsync` (no fsync at all)
//! and `unsynced-vote` (term and vote written but not synced) pass a kill-only run, whose
//! SIGKILLs leave the kernel's (here the file system's) cache intact, and fail a power-loss run
//! of the same seed, which drops what was not synced. The correct build passes the power-loss
//! run. Seeds and times were measured (`docs/power-loss.md`); each run takes about 22 s.
//!
//! Skipped, saying so, where the power-loss file system cannot be mounted (it needs /dev/fuse
//! and root).

mod support;

/// Runs `gauntlet test` on 3 nodes for 20 s with faults every 2 s; its exit code and summary.
fn run(seed: u64, nemesis: &str, bug: Option<&str>) -> (Option<i32>, String) {
    let store = tempfile::tempdir().unwrap();
    let args = ["--nodes", "3", "--time", "20", "--nemesis-interval", "2"];
    let mut command = support::gauntlet_test(store.path(), &args);
    command
        .args(["--nemesis", nemesis])
        .args(["--seed", &seed.to_string()]);
    if let Some(bug) = bug {
        command.args(["--unsafe-bug", bug]);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// `false` (printing SKIPPED) where the power-loss file system cannot be mounted.
fn fuse_available(test: &str) -> bool {
    match harness::powerloss::unavailable_reason() {
        None => true,
        Some(reason) => {
            eprintln!("SKIPPED: {test}: {reason} (needs /dev/fuse and root)");
            false
        }
    }
}

/// The bug is missed by kills and caught (exit 1, the verdict `invalid`) by power loss.
fn caught_only_by_power_loss(test: &str, bug: &str, seed: u64) {
    if !fuse_available(test) {
        return;
    }
    let (code, text) = run(seed, "kill", Some(bug));
    assert_eq!(code, Some(0), "{bug} seed {seed} with kills only:\n{text}");
    let (code, text) = run(seed, "power-loss", Some(bug));
    assert_eq!(code, Some(1), "{bug} seed {seed} with power loss:\n{text}");
    assert!(text.contains("gauntlet: invalid"), "{text}");
}

#[test]
fn skip_fsync_is_caught_by_power_loss_and_missed_by_kills() {
    caught_only_by_power_loss(
        "skip_fsync_is_caught_by_power_loss_and_missed_by_kills",
        "skip-fsync",
        1,
    );
}

#[test]
fn unsynced_vote_is_caught_by_power_loss_and_missed_by_kills() {
    caught_only_by_power_loss(
        "unsynced_vote_is_caught_by_power_loss_and_missed_by_kills",
        "unsynced-vote",
        1,
    );
}

#[test]
fn the_correct_build_passes_power_loss_and_the_history_names_the_nodes() {
    let test = "the_correct_build_passes_power_loss_and_the_history_names_the_nodes";
    if !fuse_available(test) {
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let args = ["--nodes", "3", "--time", "20", "--nemesis-interval", "2"];
    let output = support::gauntlet_test(store.path(), &args)
        .args(["--nemesis", "power-loss", "--seed", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let history = std::fs::read_to_string(store.path().join("latest/history.jsonl")).unwrap();
    let starts: Vec<serde_json::Value> = history
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["f"] == "power-loss-start")
        .collect();
    assert!(!starts.is_empty(), "no power loss in the history");
    for event in &starts {
        let nodes = event["fault"]["nodes"].as_array().expect("nodes");
        assert!(!nodes.is_empty(), "a power loss names its nodes: {event}");
        assert!(
            event["value"]
                .as_str()
                .unwrap()
                .contains("unsynced data dropped"),
            "{event}"
        );
    }
    // Every mount was unmounted at the end.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let store_path = std::fs::canonicalize(store.path()).unwrap();
    assert!(
        !mounts.contains(store_path.to_str().unwrap()),
        "a power-loss mount outlived the run"
    );
}

#[test]
fn naming_power_loss_without_fuse_is_a_clear_error() {
    // Only checkable where FUSE is missing; elsewhere the unit test of `real_run_nemeses`
    // covers the message.
    if harness::powerloss::unavailable_reason().is_none() {
        eprintln!(
            "SKIPPED: naming_power_loss_without_fuse_is_a_clear_error: FUSE is available here"
        );
        return;
    }
    let (code, text) = run(1, "power-loss", None);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("needs the power-loss file system"), "{text}");
}
