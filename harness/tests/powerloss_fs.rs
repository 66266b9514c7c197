//! The power-loss file system (`harness::powerloss`): synced data and synced directory entries
//! survive a power loss, the rest vanishes; a SIGKILL loses nothing; raft's real storage syncs
//! what it must on it, and the `skip-fsync` planted bug loses acknowledged entries.
//!
//! Each test mounts its own FUSE file system and skips (saying so) where it cannot mount: that
//! needs /dev/fuse and root.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;

use harness::powerloss::{PowerLossFs, PowerLossMount};
use raft::core::{Entry, EntryKind, HardState};
use raft::server::RaftStorage;
use raft::storage::{Fs, NodeFs, StdFs, WalOptions};
use tempfile::TempDir;

/// A mounted file system with its backing directory and mount point (kept alive together).
struct Mounted {
    mount: PowerLossMount,
    _backing: TempDir,
    _mountpoint: TempDir,
}

impl Mounted {
    fn root(&self) -> &Path {
        self.mount.mountpoint()
    }
}

/// Mounts a fresh file system, or `None` (printing SKIPPED) where FUSE cannot be mounted.
fn mount(test: &str) -> Option<Mounted> {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: {test}: no /dev/fuse (needs /dev/fuse and root)");
        return None;
    }
    let backing = TempDir::new().expect("backing dir");
    let mountpoint = TempDir::new().expect("mount point");
    match PowerLossFs::mount(backing.path(), mountpoint.path()) {
        Ok(mount) => Some(Mounted {
            mount,
            _backing: backing,
            _mountpoint: mountpoint,
        }),
        Err(e) => {
            eprintln!("SKIPPED: {test}: cannot mount FUSE ({e}) (needs /dev/fuse and root)");
            None
        }
    }
}

fn sync_dir(dir: &Path) {
    File::open(dir).unwrap().sync_all().unwrap();
}

#[test]
fn synced_write_survives_power_loss() {
    let Some(m) = mount("synced_write_survives_power_loss") else {
        return;
    };
    let path = m.root().join("a");
    let mut file = File::create(&path).unwrap();
    file.write_all(b"durable").unwrap();
    file.sync_all().unwrap();
    sync_dir(m.root());
    drop(file);
    m.mount.power_loss().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"durable");
}

#[test]
fn unsynced_write_vanishes_on_power_loss() {
    let Some(m) = mount("unsynced_write_vanishes_on_power_loss") else {
        return;
    };
    let path = m.root().join("a");
    let mut file = File::create(&path).unwrap();
    file.write_all(b"one").unwrap();
    file.sync_data().unwrap();
    sync_dir(m.root());
    file.write_all(b"-two").unwrap();
    drop(file);
    assert_eq!(
        fs::read(&path).unwrap(),
        b"one-two",
        "the view has every write"
    );
    m.mount.power_loss().unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        b"one",
        "only the synced part is left"
    );
}

#[test]
fn created_file_in_unsynced_dir_vanishes() {
    let Some(m) = mount("created_file_in_unsynced_dir_vanishes") else {
        return;
    };
    let path = m.root().join("new");
    let mut file = File::create(&path).unwrap();
    file.write_all(b"data").unwrap();
    file.sync_all().unwrap();
    drop(file);
    m.mount.power_loss().unwrap();
    assert!(
        !path.exists(),
        "a file synced but whose directory was not is gone"
    );
}

#[test]
fn rename_then_dir_sync_survives() {
    let Some(m) = mount("rename_then_dir_sync_survives") else {
        return;
    };
    let tmp = m.root().join("value.tmp");
    let dst = m.root().join("value");
    fs::write(&dst, b"old").unwrap();
    File::open(&dst).unwrap().sync_all().unwrap();
    sync_dir(m.root());
    let mut file = File::create(&tmp).unwrap();
    file.write_all(b"new").unwrap();
    file.sync_all().unwrap();
    drop(file);
    fs::rename(&tmp, &dst).unwrap();
    // Not yet durable: a power loss now brings the old value back.
    m.mount.power_loss().unwrap();
    assert_eq!(fs::read(&dst).unwrap(), b"old");
    assert!(!tmp.exists());

    let mut file = File::create(&tmp).unwrap();
    file.write_all(b"new").unwrap();
    file.sync_all().unwrap();
    drop(file);
    fs::rename(&tmp, &dst).unwrap();
    sync_dir(m.root());
    m.mount.power_loss().unwrap();
    assert_eq!(fs::read(&dst).unwrap(), b"new");
    assert!(!tmp.exists());
}

#[test]
fn sigkill_keeps_unsynced_data_but_power_loss_drops_it() {
    let Some(m) = mount("sigkill_keeps_unsynced_data_but_power_loss_drops_it") else {
        return;
    };
    let path = m.root().join("log");
    fs::write(&path, b"").unwrap();
    File::open(&path).unwrap().sync_all().unwrap();
    sync_dir(m.root());
    // The writer writes without syncing, then waits to be killed.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf 'unsynced' >> '{}' && exec sleep 60",
            path.display()
        ))
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fs::read(&path).unwrap().len() < 8 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        fs::read(&path).unwrap(),
        b"unsynced",
        "a SIGKILL loses nothing"
    );
    m.mount.power_loss().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"", "a power loss drops it");
}

#[test]
fn directory_created_then_synced_survives_with_its_files() {
    let Some(m) = mount("directory_created_then_synced_survives_with_its_files") else {
        return;
    };
    let dir = m.root().join("d");
    fs::create_dir(&dir).unwrap();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("f"))
        .unwrap();
    file.write_all(b"abc").unwrap();
    file.sync_data().unwrap();
    sync_dir(&dir);
    sync_dir(m.root());
    file.write_all(b"def").unwrap();
    drop(file);
    fs::remove_file(dir.join("f")).unwrap();
    m.mount.power_loss().unwrap();
    assert_eq!(
        fs::read(dir.join("f")).unwrap(),
        b"abc",
        "the unsynced unlink and append are undone"
    );
}

fn entry(index: u64) -> Entry {
    Entry {
        term: 1,
        index,
        kind: EntryKind::Normal,
        data: format!("entry-{index}").into_bytes(),
    }
}

/// Appends entries `first..=last` (one batch each, as a node does), the hard state with them.
fn write_entries<F: Fs>(fs: F, dir: &Path, first: u64, last: u64) {
    let (mut disk, state) = RaftStorage::<F>::open_in(fs, dir, WalOptions::default()).unwrap();
    assert_eq!(
        state.entries.len() as u64,
        first - 1,
        "reopened with every entry before"
    );
    for index in first..=last {
        let hard_state = HardState {
            term: 1,
            vote: Some(1),
            commit: index,
        };
        disk.persist(Some(&hard_state), &[entry(index)], None)
            .unwrap();
    }
}

/// Reopens the storage on `fs` and returns the indexes of its entries. Opening recovers, and
/// recovery syncs what it found, so a look that must not change what is durable uses
/// `NodeFs::SKIPPING_SYNC`.
fn recovered_indexes<F: Fs>(fs: F, dir: &Path) -> Vec<u64> {
    let (_disk, state) = RaftStorage::<F>::open_in(fs, dir, WalOptions::default()).unwrap();
    state.entries.iter().map(|e| e.index).collect()
}

#[test]
fn raft_storage_keeps_every_synced_entry_across_power_loss() {
    let Some(m) = mount("raft_storage_keeps_every_synced_entry_across_power_loss") else {
        return;
    };
    let dir = m.root().join("node");
    // The storage as the server runs it: `StdFs`, then the node's `NodeFs` without the bug.
    write_entries(StdFs, &dir, 1, 50);
    m.mount.power_loss().unwrap();
    assert_eq!(
        recovered_indexes(NodeFs::SYNCING, &dir),
        (1..=50).collect::<Vec<_>>()
    );
    write_entries(NodeFs::SYNCING, &dir, 51, 80);
    m.mount.power_loss().unwrap();
    assert_eq!(
        recovered_indexes(NodeFs::SYNCING, &dir),
        (1..=80).collect::<Vec<_>>()
    );
}

#[test]
fn skip_fsync_storage_loses_acknowledged_entries_on_power_loss() {
    let Some(m) = mount("skip_fsync_storage_loses_acknowledged_entries_on_power_loss") else {
        return;
    };
    let dir = m.root().join("node");
    // A correct node made entries 1..=10 durable; then the node runs with skip-fsync.
    write_entries(NodeFs::SYNCING, &dir, 1, 10);
    write_entries(NodeFs::SKIPPING_SYNC, &dir, 11, 50);
    // Every persist returned, so all 50 were acknowledged, and a SIGKILL would keep them all.
    assert_eq!(
        recovered_indexes(NodeFs::SKIPPING_SYNC, &dir),
        (1..=50).collect::<Vec<_>>()
    );
    m.mount.power_loss().unwrap();
    assert_eq!(
        recovered_indexes(NodeFs::SYNCING, &dir),
        (1..=10).collect::<Vec<_>>(),
        "skip-fsync loses the acknowledged entries 11..=50 on a power loss"
    );
}

#[test]
fn overwrites_and_truncations_are_durable_once_synced() {
    use std::io::{Seek, SeekFrom};
    let Some(m) = mount("overwrites_and_truncations_are_durable_once_synced") else {
        return;
    };
    let path = m.root().join("f");
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    file.write_all(b"aaaaaa").unwrap();
    file.sync_all().unwrap();
    sync_dir(m.root());
    file.seek(SeekFrom::Start(1)).unwrap();
    file.write_all(b"bb").unwrap();
    file.sync_data().unwrap();
    file.set_len(4).unwrap();
    file.sync_data().unwrap();
    file.seek(SeekFrom::End(0)).unwrap();
    file.write_all(b"zz").unwrap();
    drop(file);
    assert_eq!(fs::read(&path).unwrap(), b"abbazz");
    m.mount.power_loss().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"abba");
}
