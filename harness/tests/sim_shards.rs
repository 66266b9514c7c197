//! `gauntlet sim --seeds A..B --shard I/N` as a CI matrix runs it: the built binary, each shard
//! writing its own sweep summary, the shards together running every seed once, and a failing
//! seed's reproduce command carrying no shard flag.

use std::path::Path;
use std::process::Command;

use harness::sweep_record::SweepRecord;

/// Runs `gauntlet sim <args>`; returns the exit code and stdout.
fn gauntlet_sim(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .arg("sim")
        .args(args)
        .output()
        .expect("run gauntlet");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (
        output.status.code().expect("exit code"),
        format!("{stdout}{stderr}"),
    )
}

fn record(path: &Path) -> SweepRecord {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no sweep summary at {}: {e}", path.display()));
    serde_json::from_str(&text).expect("a sweep summary")
}

#[test]
fn shards_write_their_own_summaries_and_run_every_seed_once() {
    let store = tempfile::tempdir().unwrap();
    let store_arg = store.path().to_str().unwrap();
    let mut seeds_run = 0;
    for shard in ["1/2", "2/2"] {
        let (code, out) = gauntlet_sim(&[
            "--seeds", "10..15", "--shard", shard, "--time", "0.5", "--jobs", "1", "--store",
            store_arg,
        ]);
        assert!(code == 0 || code == 2, "shard {shard} exit {code}: {out}");
        assert!(out.contains(&format!("shard {shard} of 10..15")), "{out}");
    }
    let sweeps = store.path().join("sim/sweeps");
    for (index, planned) in [(1u64, 3u64), (2, 2)] {
        let rec = record(&sweeps.join(format!("10..15-shard-{index}-of-2.json")));
        assert_eq!(rec.format, "gauntlet-sim-sweep");
        assert_eq!((rec.first_seed, rec.end_seed), (10, 15));
        assert_eq!((rec.shard.index, rec.shard.count), (index, 2));
        assert_eq!(rec.seeds_planned, planned);
        assert!(
            rec.command.contains(&format!("--shard {index}/2")),
            "{}",
            rec.command
        );
        assert!(rec.simulated_s > 0.0 && rec.wall_s > 0.0);
        assert!(!rec.coverage.is_empty());
        seeds_run += rec.seeds_run;
    }
    assert_eq!(seeds_run, 5);
}

#[test]
fn a_failing_seed_is_recorded_with_a_command_that_reproduces_it() {
    let store = tempfile::tempdir().unwrap();
    let store_arg = store.path().to_str().unwrap();
    // A planted bug the simulator catches on its first seeds (docs/simulation.md).
    let (code, out) = gauntlet_sim(&[
        "--seeds",
        "0..4",
        "--shard",
        "1/2",
        "--unsafe-bug",
        "no-dedup",
        "--jobs",
        "1",
        "--store",
        store_arg,
    ]);
    assert_eq!(code, 1, "{out}");
    let rec = record(&store.path().join("sim/sweeps/0..4-shard-1-of-2.json"));
    assert_eq!(rec.exit_code, 1);
    let failure = rec
        .failures
        .iter()
        .find(|f| f.verdict == "violation")
        .expect("a violation");
    assert!(failure.seed % 2 == 0, "shard 1/2 runs even seeds only");
    assert!(
        failure
            .reproduce
            .starts_with(&format!("gauntlet sim --seed {} ", failure.seed)),
        "{}",
        failure.reproduce
    );
    assert!(!failure.reproduce.contains("--shard"));
    assert!(failure.reproduce.contains("--unsafe-bug no-dedup"));
    assert!(failure.dir.join("history.jsonl").is_file());
    // The command alone reproduces the verdict.
    let args: Vec<&str> = failure.reproduce.split(' ').skip(2).collect();
    let (code, out) = gauntlet_sim(&[&args[..], &["--store", store_arg]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&failure.anomaly), "{out}");
}

#[test]
fn a_bad_shard_is_refused_with_a_clear_error() {
    let (code, out) = gauntlet_sim(&["--seeds", "0..4", "--shard", "3/2"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("I/N with 1 <= I <= N"), "{out}");
    let store = tempfile::tempdir().unwrap();
    let (code, out) = gauntlet_sim(&[
        "--seed",
        "1",
        "--shard",
        "1/2",
        "--store",
        store.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}");
}
