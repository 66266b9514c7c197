//! Disk errors (`--nemesis disk-error`): on the power-loss file system an armed error fails the
//! next fsync with EIO and, as Linux does after a failed writeback, forgets the unsynced writes,
//! so a retried fsync "succeeds" without making them durable (the fsyncgate lesson). raft's
//! storage refuses to go on after such an error, and a real run shows the node stopping on it
//! and restarting on heal.
//!
//! Skipped, saying so, where the power-loss file system cannot be mounted (/dev/fuse and root).

mod support;

use std::fs::{File, OpenOptions};
use std::io::Write;

use harness::powerloss::{PowerLossFs, PowerLossMount};
use raft::core::{Entry, EntryKind, HardState};
use raft::server::RaftStorage;
use raft::storage::{NodeFs, StorageError, WalOptions};
use tempfile::TempDir;

struct Mounted {
    mount: PowerLossMount,
    _dirs: (TempDir, TempDir),
}

fn mount(test: &str) -> Option<Mounted> {
    if let Some(reason) = harness::powerloss::unavailable_reason() {
        eprintln!("SKIPPED: {test}: {reason} (needs /dev/fuse and root)");
        return None;
    }
    let backing = TempDir::new().unwrap();
    let mountpoint = TempDir::new().unwrap();
    match PowerLossFs::mount(backing.path(), mountpoint.path()) {
        Ok(mount) => Some(Mounted {
            mount,
            _dirs: (backing, mountpoint),
        }),
        Err(e) => {
            eprintln!("SKIPPED: {test}: cannot mount FUSE ({e})");
            None
        }
    }
}

#[test]
fn a_failed_fsync_forgets_the_writes_and_a_retry_lies() {
    let Some(m) = mount("a_failed_fsync_forgets_the_writes_and_a_retry_lies") else {
        return;
    };
    let root = m.mount.mountpoint().to_path_buf();
    let path = root.join("f");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"abc").unwrap();
    file.sync_all().unwrap();
    File::open(&root).unwrap().sync_all().unwrap();
    file.write_all(b"def").unwrap();
    m.mount.fail_next_sync(true);
    let err = file.sync_data().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO expected, got {err}");
    assert_eq!(m.mount.sync_failures(), 1);
    // The retry returns success, yet the writes it should cover were dropped as dirty data.
    file.sync_data().unwrap();
    drop(file);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"abcdef",
        "the cache still shows them"
    );
    m.mount.power_loss().unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"abc\0\0\0",
        "after a power loss only what the failed-then-retried sync never wrote is lost"
    );
}

#[test]
fn a_disarmed_error_never_fires() {
    let Some(m) = mount("a_disarmed_error_never_fires") else {
        return;
    };
    let path = m.mount.mountpoint().join("f");
    let mut file = File::create(&path).unwrap();
    file.write_all(b"x").unwrap();
    m.mount.fail_next_sync(true);
    m.mount.fail_next_sync(false);
    file.sync_all().unwrap();
    assert_eq!(m.mount.sync_failures(), 0);
}

fn entry(index: u64) -> Entry {
    Entry {
        term: 1,
        index,
        kind: EntryKind::Normal,
        data: vec![index as u8],
    }
}

/// raft's storage on the file system: a persist whose fsync fails is an error, and so is every
/// later call (the storage is poisoned), never a retry that would trust the lying fsync.
#[test]
fn raft_storage_refuses_to_go_on_after_a_failed_fsync() {
    let Some(m) = mount("raft_storage_refuses_to_go_on_after_a_failed_fsync") else {
        return;
    };
    let dir = m.mount.mountpoint().join("node");
    let hs = HardState {
        term: 1,
        vote: Some(1),
        commit: 0,
    };
    let (mut disk, _) = RaftStorage::open_in(NodeFs::SYNCING, &dir, WalOptions::default()).unwrap();
    disk.persist(Some(&hs), &[entry(1), entry(2)], None)
        .unwrap();
    m.mount.fail_next_sync(true);
    let err = disk.persist(None, &[entry(3)], None).unwrap_err();
    assert!(err.to_string().contains("fdatasync"), "{err}");
    let again = disk.persist(None, &[entry(3)], None).unwrap_err();
    assert!(matches!(again, StorageError::Poisoned(_)), "{again}");
    drop(disk);
    m.mount.power_loss().unwrap();
    let (_, state) = RaftStorage::open_in(NodeFs::SYNCING, &dir, WalOptions::default()).unwrap();
    let indexes: Vec<u64> = state.entries.iter().map(|e| e.index).collect();
    assert_eq!(
        indexes,
        vec![1, 2],
        "what was synced before the error is intact"
    );
}

/// A real run with `--nemesis disk-error`: each armed node stops on its next fsync with a clear
/// message in its log, the history names it, and it is restarted (on the data it had synced)
/// when the fault ends; the run is valid.
#[test]
fn a_run_with_disk_errors_stops_the_node_and_restarts_it_on_heal() {
    let test = "a_run_with_disk_errors_stops_the_node_and_restarts_it_on_heal";
    if let Some(reason) = harness::powerloss::unavailable_reason() {
        eprintln!("SKIPPED: {test}: {reason} (needs /dev/fuse and root)");
        return;
    }
    let store = tempfile::tempdir().unwrap();
    let args = ["--nodes", "3", "--time", "12", "--nemesis-interval", "2"];
    let output = support::gauntlet_test(store.path(), &args)
        .args(["--nemesis", "disk-error", "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let run = store.path().join("latest");
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = history
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["process"] == "nemesis")
        .collect();
    let starts: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["f"] == "disk-error-start")
        .collect();
    assert!(!starts.is_empty(), "no disk error in the history");
    let mut restarted = 0;
    for start in starts {
        let node = start["fault"]["nodes"][0].as_u64().expect("a node named");
        let end = events
            .iter()
            .find(|e| e["f"] == "disk-error-end" && e["fault"]["nodes"][0] == node)
            .expect("the fault ends");
        let text = end["value"].as_str().unwrap();
        if text.contains("restarted stopped nodes") {
            restarted += 1;
            let log = std::fs::read_to_string(run.join(format!("node-{node}.log"))).unwrap();
            assert!(
                log.contains("node stopping on a fatal error")
                    && log.contains("Input/output error"),
                "node {node}'s log does not say it stopped on the EIO:\n{log}"
            );
        }
    }
    assert!(
        restarted > 0,
        "no node stopped on its disk error: {events:?}"
    );
}
