//! Directory-level helpers: segment file names, listing segments, fsync of a directory, creating
//! a directory durably, and the exclusive lock that keeps two nodes from opening one data
//! directory (the real one, a `flock`; [`Fs::lock_dir`] picks the lock of each file system).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::StorageError;
use super::fs::Fs;

/// Name of the lock file inside a locked directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

const SEGMENT_SUFFIX: &str = ".seg";
const SEQ_DIGITS: usize = 20;

/// The file name of the segment whose first record has sequence number `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SEGMENT_SUFFIX}")
}

/// The first sequence number encoded in a segment file name, or `None` if it is not one.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEQ_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, sorted by first sequence number. Other files are ignored (logged).
pub fn list_segments<F: Fs>(fs: &F, dir: &Path) -> Result<Vec<(u64, PathBuf)>, StorageError> {
    let names = fs
        .list_dir(dir)
        .map_err(|e| StorageError::io("listing", dir, e))?;
    let mut segments = Vec::new();
    for name in names {
        match name.to_str().and_then(parse_segment_file_name) {
            Some(first_seq) => segments.push((first_seq, dir.join(&name))),
            None if name == LOCK_FILE_NAME => {}
            None => {
                tracing::debug!(file = ?dir.join(&name), "ignoring a file that is not a WAL segment")
            }
        }
    }
    segments.sort_by_key(|(first_seq, _)| *first_seq);
    Ok(segments)
}

/// Makes the directory entries of `dir` (creations, renames, deletions) durable.
pub fn sync_dir<F: Fs>(fs: &F, dir: &Path) -> Result<(), StorageError> {
    fs.sync_dir(dir)
        .map_err(|e| StorageError::io("fsync of directory", dir, e))
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing ancestors, making each new directory's entry durable by syncing
/// its parent (a directory that already exists is left as it is). Without this, a crash soon
/// after a node's first start could take its whole data directory away, entries and all.
pub fn create_dir_durable<F: Fs>(fs: &F, dir: &Path) -> Result<(), StorageError> {
    match fs.create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound && dir.parent().is_some() => {
            create_dir_durable(fs, parent_dir(dir))?;
            match fs.create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
                Err(e) => return Err(StorageError::io("creating directory", dir, e)),
            }
        }
        Err(e) => return Err(StorageError::io("creating directory", dir, e)),
    }
    sync_dir(fs, parent_dir(dir))
}

/// An exclusive advisory lock on a directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock on `dir` (creating `dir/LOCK`), failing at once with
    /// [`StorageError::Locked`] if anyone else holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join(LOCK_FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io("opening lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(StorageError::Locked {
                dir: dir.to_path_buf(),
            }),
            Err(TryLockError::Error(e)) => Err(StorageError::io("locking", &path, e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_reject_lookalikes() {
        assert_eq!(segment_file_name(42), "00000000000000000042.seg");
        assert_eq!(parse_segment_file_name(&segment_file_name(42)), Some(42));
        assert_eq!(
            parse_segment_file_name(&segment_file_name(u64::MAX)),
            Some(u64::MAX)
        );
        assert_eq!(parse_segment_file_name("42.seg"), None);
        assert_eq!(parse_segment_file_name("0000000000000000004x.seg"), None);
        assert_eq!(parse_segment_file_name("00000000000000000042.tmp"), None);
        // 20 digits that overflow u64.
        assert_eq!(parse_segment_file_name("99999999999999999999.seg"), None);
    }
}
