//! Where a simulated run is saved: `<store>/sim/seed-N/` for the first run of seed N, then
//! `seed-N.2/`, `seed-N.3/`, ... for every later run of the same seed (a replay, a rerun with
//! other flags, a sweep that fails on it again), so no run overwrites an earlier one's directory.
//! The directory is claimed with `create_dir`, which fails when it exists, so two gauntlets saving
//! the same seed at once still get one directory each.

use std::io;
use std::path::{Path, PathBuf};

/// The name of the `run`-th saved run of `seed` (1 is the first): `seed-N`, then `seed-N.R`.
pub fn run_dir_name(seed: u64, run: u64) -> String {
    if run <= 1 {
        format!("seed-{seed}")
    } else {
        format!("seed-{seed}.{run}")
    }
}

/// Creates and returns a directory for a new run of `seed` under `<store>/sim/` that no earlier
/// run used.
pub fn claim_run_dir(store: &Path, seed: u64) -> io::Result<PathBuf> {
    let parent = store.join("sim");
    std::fs::create_dir_all(&parent)?;
    for run in 1.. {
        let dir = parent.join(run_dir_name(seed, run));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    unreachable!("an unbounded range always yields a run number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_keeps_the_obvious_path_and_later_runs_get_their_own() {
        let store = tempfile::tempdir().unwrap();
        let first = claim_run_dir(store.path(), 7).unwrap();
        assert_eq!(first, store.path().join("sim/seed-7"));
        std::fs::write(first.join("history.jsonl"), "first").unwrap();
        let second = claim_run_dir(store.path(), 7).unwrap();
        let third = claim_run_dir(store.path(), 7).unwrap();
        assert_eq!(second, store.path().join("sim/seed-7.2"));
        assert_eq!(third, store.path().join("sim/seed-7.3"));
        let other_seed = claim_run_dir(store.path(), 70).unwrap();
        assert_eq!(other_seed, store.path().join("sim/seed-70"));
        assert_eq!(
            std::fs::read_to_string(first.join("history.jsonl")).unwrap(),
            "first",
            "the first run's files are untouched"
        );
    }

    #[test]
    fn a_store_that_cannot_be_written_is_an_error() {
        let store = tempfile::tempdir().unwrap();
        let file = store.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        assert!(claim_run_dir(&file, 1).is_err());
    }
}
