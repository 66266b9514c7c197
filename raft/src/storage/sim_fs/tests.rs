//! Unit tests of `SimFs`'s crash semantics.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::SimFs;
use crate::storage::error::StorageError;
use crate::storage::fs::{Fs, FsFile};

fn p(s: &str) -> &Path {
    Path::new(s)
}

/// `/d` exists durably.
fn with_dir() -> SimFs {
    let fs = SimFs::new();
    fs.create_dir(p("/d")).unwrap();
    fs.sync_dir(p("/")).unwrap();
    fs.complete_all_syncs();
    fs
}

/// `/d/f` exists durably holding `bytes`.
fn with_file(bytes: &[u8]) -> (SimFs, super::SimFile) {
    let fs = with_dir();
    let mut f = fs.create_new(p("/d/f")).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(p("/d")).unwrap();
    fs.complete_all_syncs();
    (fs, f)
}

fn read(fs: &SimFs, path: &str) -> Option<Vec<u8>> {
    match fs.read(p(path)) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => panic!("reading {path}: {e}"),
    }
}

#[test]
fn unsynced_data_is_lost_and_synced_data_kept() {
    let (fs, mut f) = with_file(b"abc");
    f.write_all(b"def").unwrap();
    assert_eq!(
        read(&fs, "/d/f").unwrap(),
        b"abcdef",
        "reads see the page cache"
    );
    fs.crash_losing_unsynced();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"abc");

    let (fs, mut f) = with_file(b"abc");
    f.write_all(b"def").unwrap();
    fs.crash_keeping_unsynced();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"abcdef");
}

#[test]
fn a_sync_takes_effect_only_when_completed() {
    let (fs, mut f) = with_file(b"abc");
    f.write_all(b"def").unwrap();
    f.sync_data().unwrap();
    let number = fs.syncs_issued();
    assert_eq!(fs.pending_syncs(), 1);
    fs.crash_losing_unsynced();
    assert_eq!(
        read(&fs, "/d/f").unwrap(),
        b"abc",
        "the fsync never completed"
    );

    let (fs, mut f) = with_file(b"abc");
    f.write_all(b"def").unwrap();
    f.sync_data().unwrap();
    fs.complete_syncs_through(fs.syncs_issued());
    assert_eq!(fs.pending_syncs(), 0);
    fs.crash_losing_unsynced();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"abcdef");
    assert!(number > 0);
}

#[test]
fn nothing_issued_after_a_pending_sync_survives() {
    let (fs, mut f) = with_file(b"a");
    f.write_all(b"b").unwrap();
    f.sync_data().unwrap();
    f.write_all(b"c").unwrap();
    let mut g = fs.create_new(p("/d/g")).unwrap();
    g.write_all(b"g").unwrap();
    fs.sync_dir(p("/d")).unwrap();
    fs.crash_keeping_unsynced();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"ab");
    assert_eq!(read(&fs, "/d/g"), None);
}

#[test]
fn completing_syncs_in_order_covers_only_what_each_sync_covered() {
    let (fs, mut f) = with_file(b"a");
    f.write_all(b"b").unwrap();
    f.sync_data().unwrap();
    let first = fs.syncs_issued();
    f.write_all(b"c").unwrap();
    f.sync_data().unwrap();
    fs.complete_syncs_through(first);
    assert_eq!(fs.pending_syncs(), 1);
    fs.crash_losing_unsynced();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"ab");
}

#[test]
fn a_file_whose_directory_entry_was_not_synced_may_vanish() {
    let fs = with_dir();
    let mut f = fs.create_new(p("/d/f")).unwrap();
    f.write_all(b"data").unwrap();
    f.sync_data().unwrap();
    fs.complete_all_syncs();
    fs.crash_losing_unsynced();
    assert_eq!(
        read(&fs, "/d/f"),
        None,
        "the data was synced, the name was not"
    );
}

#[test]
fn a_rename_without_a_directory_sync_may_vanish_but_never_mixes() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..64 {
        let (fs, _) = with_file(b"old");
        let mut tmp = fs.create_truncate(p("/d/.f.tmp")).unwrap();
        tmp.write_all(b"new").unwrap();
        tmp.sync_all().unwrap();
        fs.rename(p("/d/.f.tmp"), p("/d/f")).unwrap();
        fs.complete_all_syncs();
        assert_eq!(read(&fs, "/d/f").unwrap(), b"new");
        fs.crash(&mut ChaCha8Rng::seed_from_u64(seed));
        let f = read(&fs, "/d/f").unwrap();
        let tmp = read(&fs, "/d/.f.tmp");
        match (f.as_slice(), tmp.as_deref()) {
            (b"new", None) => outcomes.insert("renamed"),
            (b"old", None) => outcomes.insert("nothing"),
            (b"old", Some(b"new")) => outcomes.insert("temp file only"),
            other => panic!("seed {seed}: impossible state {other:?}"),
        };
    }
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");

    // With the directory synced, the rename is durable.
    let (fs, _) = with_file(b"old");
    let mut tmp = fs.create_truncate(p("/d/.f.tmp")).unwrap();
    tmp.write_all(b"new").unwrap();
    tmp.sync_all().unwrap();
    fs.rename(p("/d/.f.tmp"), p("/d/f")).unwrap();
    fs.sync_dir(p("/d")).unwrap();
    fs.complete_all_syncs();
    fs.crash_losing_unsynced();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"new");
    assert_eq!(read(&fs, "/d/.f.tmp"), None);
}

#[test]
fn a_crash_keeps_a_prefix_of_unsynced_writes_possibly_torn() {
    let writes: [&[u8]; 3] = [b"1111", b"2222", b"3333"];
    let all: Vec<u8> = writes.concat();
    let mut torn = 0;
    let mut zeroed = 0;
    let mut lengths = BTreeSet::new();
    for seed in 0..200 {
        let (fs, mut f) = with_file(b"s");
        for w in writes {
            f.write_all(w).unwrap();
        }
        fs.crash(&mut ChaCha8Rng::seed_from_u64(seed));
        let got = read(&fs, "/d/f").unwrap();
        assert!(got.starts_with(b"s"), "seed {seed}: synced byte lost");
        let tail = &got[1..];
        let n = tail.len();
        assert!(n <= all.len());
        lengths.insert(n);
        if !n.is_multiple_of(4) {
            torn += 1;
        }
        let whole = n / 4 * 4;
        assert_eq!(&tail[..whole], &all[..whole], "seed {seed}");
        let part = &tail[whole..];
        let is_data = part == &all[whole..n];
        let is_zeros = !part.is_empty() && part.iter().all(|&b| b == 0);
        assert!(
            is_data || is_zeros,
            "seed {seed}: torn part {part:?} is neither data nor zeros"
        );
        zeroed += usize::from(is_zeros);
    }
    assert!(torn > 0 && zeroed > 0, "torn {torn}, zeroed {zeroed}");
    assert!(lengths.contains(&0) && lengths.contains(&all.len()));
}

#[test]
fn a_new_directory_needs_its_parent_synced() {
    let fs = SimFs::new();
    fs.create_dir(p("/a")).unwrap();
    let mut f = fs.create_new(p("/a/f")).unwrap();
    f.write_all(b"x").unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(p("/a")).unwrap();
    fs.complete_all_syncs();
    fs.crash_losing_unsynced();
    assert!(fs.list_dir(p("/a")).is_err(), "/a was never synced into /");
    assert_eq!(read(&fs, "/a/f"), None);
}

#[test]
fn surviving_directory_operations_replay_in_order() {
    // Remove f, create it again (new contents), create g: every survivor set must be one that
    // the operations, replayed in order with some skipped, could give.
    let mut seen = BTreeSet::new();
    for seed in 0..128 {
        let (fs, _) = with_file(b"v1");
        fs.remove_file(p("/d/f")).unwrap();
        let mut f = fs.create_new(p("/d/f")).unwrap();
        f.write_all(b"v2").unwrap();
        f.sync_data().unwrap();
        let mut g = fs.create_new(p("/d/g")).unwrap();
        g.sync_data().unwrap();
        fs.complete_all_syncs();
        fs.crash(&mut ChaCha8Rng::seed_from_u64(seed));
        let f = read(&fs, "/d/f");
        let g = read(&fs, "/d/g").is_some();
        match f.as_deref() {
            Some(b"v1") | None | Some(b"v2") => {}
            other => panic!("seed {seed}: f is {other:?}"),
        }
        seen.insert((f, g));
    }
    // g is independent of f: it may survive whatever happened to f.
    assert!(seen.contains(&(Some(b"v1".to_vec()), true)), "{seen:?}");
    assert!(seen.contains(&(Some(b"v2".to_vec()), false)), "{seen:?}");
    assert!(seen.contains(&(None, true)), "{seen:?}");
}

#[test]
fn locks_are_exclusive_until_dropped_or_crashed() {
    let fs = with_dir();
    let lock = fs.lock_dir(p("/d")).unwrap();
    assert!(matches!(
        fs.lock_dir(p("/d")),
        Err(StorageError::Locked { .. })
    ));
    drop(lock);
    let _held = fs.lock_dir(p("/d")).unwrap();
    fs.crash_losing_unsynced();
    fs.lock_dir(p("/d")).unwrap();
}

#[test]
fn handles_from_before_a_crash_are_stale() {
    let (fs, mut f) = with_file(b"abc");
    fs.crash_losing_unsynced();
    assert!(f.write_all(b"x").is_err());
    assert!(f.sync_data().is_err());
    assert_eq!(read(&fs, "/d/f").unwrap(), b"abc");
}

#[test]
fn listing_reading_and_errors() {
    let (fs, _) = with_file(b"abc");
    fs.create_dir(p("/d/sub")).unwrap();
    fs.create_new(p("/d/sub/x")).unwrap();
    let mut names = fs.list_dir(p("/d")).unwrap();
    names.sort();
    assert_eq!(names, vec!["f", "sub"]);
    assert_eq!(
        fs.create_new(p("/d/f")).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        fs.create_dir(p("/d")).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        fs.create_dir(p("/x/y")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        fs.read(p("/d/nope")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        fs.read(p("/d")).unwrap_err().kind(),
        ErrorKind::IsADirectory
    );
    assert!(fs.create_new(p("relative")).is_err());
    let mut t = fs.create_truncate(p("/d/f")).unwrap();
    t.write_all(b"z").unwrap();
    assert_eq!(read(&fs, "/d/f").unwrap(), b"z");
}
