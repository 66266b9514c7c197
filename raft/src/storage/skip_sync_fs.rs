//! The real file system without its syncs: the planted bug `skip-fsync` ([`SkipSyncFs`]).
//!
//! Every operation goes to `std::fs` as in [`StdFs`], but `fsync`, `fdatasync` and directory
//! syncs return success without doing anything, so the node acknowledges writes that only sit in
//! the operating system's cache. A process crash (SIGKILL) loses nothing; a power loss (the
//! harness's power-loss file system) loses acknowledged entries and votes.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;

use super::dir::DirLock;
use super::error::StorageError;
use super::fs::{Fs, FsFile, StdFs};

/// [`StdFs`] whose syncs do nothing (the `skip-fsync` planted bug).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkipSyncFs;

/// A file of [`SkipSyncFs`]: writes go to the real file, syncs are skipped.
#[derive(Debug)]
pub struct SkipSyncFile(File);

impl Fs for SkipSyncFs {
    type File = SkipSyncFile;
    type Lock = DirLock;

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        StdFs.create_dir(dir)
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, StorageError> {
        StdFs.lock_dir(dir)
    }

    fn create_new(&self, path: &Path) -> io::Result<SkipSyncFile> {
        StdFs.create_new(path).map(SkipSyncFile)
    }

    fn create_truncate(&self, path: &Path) -> io::Result<SkipSyncFile> {
        StdFs.create_truncate(path).map(SkipSyncFile)
    }

    fn open_append(&self, path: &Path) -> io::Result<SkipSyncFile> {
        StdFs.open_append(path).map(SkipSyncFile)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        StdFs.read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFs.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdFs.remove_file(path)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        StdFs.list_dir(dir)
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
}

impl FsFile for SkipSyncFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        FsFile::write_all(&mut self.0, bytes)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        FsFile::set_len(&mut self.0, len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&mut self) -> io::Result<()> {
        Ok(())
    }
}
