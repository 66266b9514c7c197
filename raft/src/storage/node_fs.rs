//! The `raft-kv` node's file system ([`NodeFs`]): the real one ([`StdFs`]), or, with the planted
//! bug `skip-fsync`, the real one without its syncs.
//!
//! With `skip_sync`, every operation still goes to `std::fs`, but `fsync`, `fdatasync` and
//! directory syncs return success without doing anything, so the node acknowledges writes that
//! only sit in the operating system's cache. A process crash (SIGKILL) loses nothing; a power
//! loss (the harness's power-loss file system) loses acknowledged entries and votes.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;

use super::dir::DirLock;
use super::error::StorageError;
use super::fs::{Fs, FsFile, StdFs};

/// [`StdFs`], whose syncs do nothing when `skip_sync` (the `skip-fsync` planted bug).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeFs {
    /// `skip-fsync`: no `fsync`/`fdatasync` of files or directories is ever issued.
    pub skip_sync: bool,
}

impl NodeFs {
    /// The real file system, syncing as it must.
    pub const SYNCING: NodeFs = NodeFs { skip_sync: false };
    /// The real file system with the `skip-fsync` bug.
    pub const SKIPPING_SYNC: NodeFs = NodeFs { skip_sync: true };
}

/// A file of [`NodeFs`]: writes go to the real file, syncs are skipped with `skip_sync`.
#[derive(Debug)]
pub struct NodeFile {
    file: File,
    skip_sync: bool,
}

impl NodeFs {
    fn wrap(&self, file: io::Result<File>) -> io::Result<NodeFile> {
        file.map(|file| NodeFile {
            file,
            skip_sync: self.skip_sync,
        })
    }
}

impl Fs for NodeFs {
    type File = NodeFile;
    type Lock = DirLock;

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        StdFs.create_dir(dir)
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, StorageError> {
        StdFs.lock_dir(dir)
    }

    fn create_new(&self, path: &Path) -> io::Result<NodeFile> {
        self.wrap(StdFs.create_new(path))
    }

    fn create_truncate(&self, path: &Path) -> io::Result<NodeFile> {
        self.wrap(StdFs.create_truncate(path))
    }

    fn open_append(&self, path: &Path) -> io::Result<NodeFile> {
        self.wrap(StdFs.open_append(path))
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

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.skip_sync {
            return Ok(());
        }
        StdFs.sync_dir(dir)
    }
}

impl FsFile for NodeFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        FsFile::write_all(&mut self.file, bytes)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        FsFile::set_len(&mut self.file, len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        if self.skip_sync {
            return Ok(());
        }
        FsFile::sync_data(&mut self.file)
    }

    fn sync_all(&mut self) -> io::Result<()> {
        if self.skip_sync {
            return Ok(());
        }
        FsFile::sync_all(&mut self.file)
    }
}
