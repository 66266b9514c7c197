//! A store that fills up: every artifact is written atomically, so a full file system gives a
//! clear error naming the file (exit 3 from the command) and leaves no empty or half-written
//! artifact behind. Needs root to mount a 256 KiB tmpfs; as another user the tests say they are
//! skipped and why.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::artifacts::write_json_atomic;

/// A tiny tmpfs, filled to the last byte, unmounted on drop.
struct FullStore {
    dir: tempfile::TempDir,
}

impl FullStore {
    /// `None` (and a SKIPPED line saying why) when not root or the mount fails.
    fn mount() -> Option<FullStore> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("SKIPPED: mounting a tiny tmpfs to fill needs root, and this is not root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        if !mounted.status.success() {
            eprintln!(
                "SKIPPED: could not mount a tmpfs: {}",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            return None;
        }
        Some(FullStore { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system: writes a filler file until a write fails for lack of space.
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = [0u8; 4096];
        let error = loop {
            if let Err(err) = filler.write_all(&block).and_then(|()| filler.flush()) {
                break err;
            }
        };
        assert_eq!(error.raw_os_error(), Some(28), "ENOSPC expected: {error}");
    }
}

impl Drop for FullStore {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Every file below `dir` (relative paths), with its size.
fn files_below(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.is_file() {
                let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
                files.push((relative, meta.len()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_full_store_keeps_the_old_artifact_or_none_and_the_error_names_it() {
    let Some(store) = FullStore::mount() else {
        return;
    };
    let old = store.path().join("results.json");
    write_json_atomic(&old, &serde_json::json!({"verdict": "valid"})).unwrap();
    let before = std::fs::read_to_string(&old).unwrap();
    store.fill();

    let big = serde_json::json!({ "anomalies": vec!["x".repeat(100); 100] });
    let err = write_json_atomic(&old, &big).unwrap_err().to_string();
    assert!(err.contains(&old.display().to_string()), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&old).unwrap(),
        before,
        "the old file stays whole"
    );

    let new = store.path().join("schedule.json");
    let err = write_json_atomic(&new, &big).unwrap_err().to_string();
    assert!(err.contains(&new.display().to_string()), "{err}");
    let names: Vec<_> = files_below(store.path())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        names,
        vec![PathBuf::from("filler"), PathBuf::from("results.json")],
        "no temp file, no empty schedule.json"
    );
}

#[test]
fn gauntlet_sim_and_test_on_a_full_store_exit_3_naming_the_file_and_leave_no_empty_artifact() {
    let Some(store) = FullStore::mount() else {
        return;
    };
    store.fill();
    let gauntlet = env!("CARGO_BIN_EXE_gauntlet");
    let sim = Command::new(gauntlet)
        .args(["sim", "--seed", "1", "--store"])
        .arg(store.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&sim.stderr);
    assert_eq!(sim.status.code(), Some(3), "{stderr}");
    let history = store.path().join("sim/seed-1/history.jsonl");
    assert!(
        stderr.contains(&format!("cannot write {}", history.display())),
        "{stderr}"
    );

    // A real run fails writing its first artifact, before any node starts.
    let test = Command::new(gauntlet)
        .args([
            "test",
            "--nodes",
            "1",
            "--time",
            "1",
            "--node-bin",
            "/nonexistent/raft-kv",
        ])
        .arg("--store")
        .arg(store.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&test.stderr);
    assert_eq!(test.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("test.json: No space left"),
        "{stderr}"
    );
    let files = files_below(store.path());
    assert_eq!(
        files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        vec![PathBuf::from("filler")],
        "no empty or partial artifact, no temp file: {files:?}"
    );
}
