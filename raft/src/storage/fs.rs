//! The file-system operations the storage code uses, as a trait ([`Fs`], [`FsFile`]), and the real
//! implementation over `std::fs` ([`StdFs`]). The WAL, the value files, the directory helpers,
//! `RaftDisk` and the server's `NodeDisk` are generic over it, so the same code runs on the real
//! file system in the server and on [`SimFs`](super::SimFs) (in memory, with crash semantics) in
//! the deterministic simulator.
//!
//! The trait is a type parameter (defaulting to [`StdFs`]), not `Arc<dyn Fs>`: `StdFs` is a
//! zero-sized type, so the server's storage compiles to the same direct `std::fs` calls as before,
//! and every public constructor that existed before (`Wal::open`, `RaftDisk::open`,
//! `NodeDisk::open`, `write_value`, ...) keeps its signature; the `*_in(fs, ...)` variants take
//! the file system explicitly.
//!
//! Errors are `std::io::Error`s, so the storage code wraps them in `StorageError::Io` naming the
//! file exactly as before, whichever file system produced them.

use std::ffi::OsString;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::dir::DirLock;
use super::error::StorageError;

/// A file system as the storage code sees it. Paths are absolute or relative as the caller gives
/// them; an implementation only has to treat equal paths as the same file.
pub trait Fs: Clone + Debug {
    /// An open file (for writing; whole files are read with [`Fs::read`]).
    type File: FsFile + Debug;
    /// Proof that a directory is locked; dropping it releases the lock.
    type Lock: Debug;

    /// Creates one directory; `ErrorKind::AlreadyExists` if it exists, `NotFound` if its parent
    /// does not. Its entry in the parent is durable only once the parent is synced.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `dir` (creating `dir/LOCK`), failing at once with
    /// [`StorageError::Locked`] when someone else holds it.
    fn lock_dir(&self, dir: &Path) -> Result<Self::Lock, StorageError>;
    /// Creates a new empty file for appending; `ErrorKind::AlreadyExists` if it exists.
    fn create_new(&self, path: &Path) -> io::Result<Self::File>;
    /// Opens `path` for writing from offset 0, creating it or cutting it to length 0.
    fn create_truncate(&self, path: &Path) -> io::Result<Self::File>;
    /// Opens an existing file for appending.
    fn open_append(&self, path: &Path) -> io::Result<Self::File>;
    /// The whole contents of a file (`ErrorKind::NotFound` if there is none).
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Renames a file within its directory, replacing `to` if it exists. Durable once the
    /// directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file. Durable once the directory is synced.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// The names of the entries of a directory, in no particular order.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>>;
    /// Makes the entries of `dir` (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file of an [`Fs`].
pub trait FsFile {
    /// Writes all of `bytes` at the file's position (its end, when opened for appending).
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Cuts or extends the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// `fdatasync`: the file's data and size are durable on return.
    fn sync_data(&mut self) -> io::Result<()>;
    /// `fsync`: the file's data and metadata are durable on return.
    fn sync_all(&mut self) -> io::Result<()>;
}

/// The real file system (`std::fs`), with a real advisory lock ([`DirLock`], `flock`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StdFs;

impl Fs for StdFs {
    type File = File;
    type Lock = DirLock;

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir(dir)
    }

    fn lock_dir(&self, dir: &Path) -> Result<DirLock, StorageError> {
        DirLock::acquire(dir)
    }

    fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().append(true).create_new(true).open(path)
    }

    fn create_truncate(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    fn open_append(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().append(true).open(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

impl FsFile for File {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        Write::write_all(self, bytes)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }
}
