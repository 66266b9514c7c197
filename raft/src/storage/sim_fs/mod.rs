//! `SimFs`: an in-memory file system with crash semantics, for running the real storage code
//! (`Wal`, value files, `RaftDisk`, the server's `NodeDisk`) in the deterministic simulator and in
//! tests, as FoundationDB and TigerBeetle simulate below their storage code.
//!
//! # Model
//!
//! Every file has durable bytes and a list of unsynced operations (writes and length changes, in
//! issue order); reads see the durable bytes with every unsynced operation applied (the page
//! cache). Directory entries work the same way: creating a file or directory, renaming and
//! removing change the current namespace at once and are recorded as unsynced operations of the
//! directory they change. Paths must be absolute; `/` always exists. Renames only within one
//! directory, of files only (all the storage code does).
//!
//! - `sync_data` / `sync_all` of a file (treated alike: data and size) makes the operations on
//!   that file issued before the call durable. They say nothing about the file's name.
//! - `sync_dir` makes the operations on that directory's entries issued before the call durable.
//!   A new directory's own entry is in its parent, so it is durable only once the parent is synced.
//!
//! # When a sync takes effect
//!
//! The storage code calls fsync synchronously, but in the simulator an fsync takes simulated time
//! and the world holds back a batch's messages and replies until a later event says it completed.
//! So a sync call here returns at once and is only *numbered* ([`SimFs::syncs_issued`] is the
//! number of the latest); it takes effect when the owner calls [`SimFs::complete_syncs_through`]
//! (or [`SimFs::complete_all_syncs`]), in number order. A crash before then can still lose what it
//! covers.
//!
//! A crash is judged as if the process were blocked inside the first sync not yet completed: in
//! the real code nothing after that call has happened yet (it returns only once durable), so every
//! operation issued after it is discarded whole. This keeps causality: a write the code issues
//! only after a sync returned (a WAL record after the snapshot file it depends on, a hard state
//! after the entries it covers) can never survive while the sync it waited for is lost.
//!
//! # What a crash keeps
//!
//! Everything made durable by completed syncs, plus, of the operations issued before the first
//! pending sync (the rest are gone, above):
//!
//! - per file, a prefix of its unsynced operations in issue order; if the first operation not
//!   kept is a write of 2 bytes or more it may survive in part: a leading part of it (a torn
//!   record), whose bytes may read back as zeros (the file's size reached the disk, its data did
//!   not). Nothing later in that file survives. Files are independent of each other.
//! - per directory, a subset of its unsynced entry operations, kept in issue order, closed under
//!   "an earlier operation on the same name": an operation survives only if every earlier
//!   unsynced operation in that directory that touches one of its names (a rename touches both)
//!   survived. So survivors always replay as valid operations: a rename never survives without the
//!   creation of its source, a file's creation never without the removal of the name it reused.
//!   Operations on different names are independent (a later create may survive an earlier lost
//!   remove). Directories are independent, except that a directory whose own entry is lost takes
//!   everything below it along.
//! - a file's data and its name are independent: a file whose creation is lost is gone with its
//!   data; a renamed file whose rename is lost keeps its old name (and whatever of its data
//!   survives).
//!
//! [`SimFs::crash`] draws these choices from the caller's RNG (the simulator's ChaCha stream, so
//! runs stay deterministic): a uniform prefix per file, a torn write half of the time (zeros in a
//! quarter of those), each allowed directory operation kept with probability 1/2.
//! [`SimFs::crash_losing_unsynced`] and [`SimFs::crash_keeping_unsynced`] are the two extremes.
//! After a crash, handles and locks from before it are stale (their use is an error) and no sync
//! is pending.
//!
//! Not modelled: out-of-order page writeback inside one file (a later page durable before an
//! earlier one), damage to synced data, failing syncs or writes (no injected faults yet), sizes
//! and free space.

mod crash;
mod state;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rand::Rng;

use super::dir::LOCK_FILE_NAME;
use super::error::StorageError;
use super::fs::{Fs, FsFile};
use crash::{KeepAll, LoseAll, Seeded};
use state::{error, DataOpKind, DirOpKind, Node, State, SyncTarget};

/// An in-memory file system with crash semantics (see the module comment). Cloning gives another
/// handle to the same file system.
#[derive(Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("SimFs")
            .field("entries", &state.current.len())
            .field("syncs_issued", &state.syncs_issued)
            .field("syncs_pending", &state.syncs.len())
            .field("crashes", &state.crashes)
            .finish()
    }
}

impl SimFs {
    /// An empty file system holding only `/`.
    pub fn new() -> SimFs {
        SimFs::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the model half-updated in a way that matters to a test
        // that is already failing; keep the handle usable for its error report.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sync calls (file or directory) were issued so far: the number of the latest one.
    pub fn syncs_issued(&self) -> u64 {
        self.state().syncs_issued
    }

    /// How many issued syncs have not been completed.
    pub fn pending_syncs(&self) -> usize {
        self.state().syncs.len()
    }

    /// The simulated fsyncs numbered up to `number` completed: what they cover is durable.
    pub fn complete_syncs_through(&self, number: u64) {
        self.state().complete_through(number);
    }

    /// Every sync issued so far completed.
    pub fn complete_all_syncs(&self) {
        self.state().complete_through(u64::MAX);
    }

    /// A crash (power loss) with the choices drawn from `rng` (see the module comment).
    pub fn crash<R: Rng + ?Sized>(&self, rng: &mut R) {
        self.state().crash(&mut Seeded(rng));
    }

    /// A crash that keeps nothing that was not synced (by a completed sync).
    pub fn crash_losing_unsynced(&self) {
        self.state().crash(&mut LoseAll);
    }

    /// A crash that keeps every operation issued before the first pending sync (as a process kill
    /// with the page cache intact would, if nothing were pending).
    pub fn crash_keeping_unsynced(&self) {
        self.state().crash(&mut KeepAll);
    }

    /// How many crashes this file system went through.
    pub fn crashes(&self) -> u64 {
        self.state().crashes
    }

    fn handle(&self, state: &mut State, id: u64, append: bool) -> SimFile {
        if let Some(inode) = state.inodes.get_mut(&id) {
            inode.handles += 1;
        }
        SimFile {
            fs: self.clone(),
            id,
            append,
            pos: 0,
            generation: state.generation,
        }
    }
}

impl Fs for SimFs {
    type File = SimFile;
    type Lock = SimLock;

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state();
        let parent = state.parent_of(dir)?;
        if state.current.contains_key(dir) {
            return Err(error(io::ErrorKind::AlreadyExists, "exists", dir));
        }
        state.dir_op(
            parent,
            DirOpKind::Create {
                path: dir.to_path_buf(),
                node: Node::Dir,
            },
        );
        Ok(())
    }

    fn lock_dir(&self, dir: &Path) -> Result<SimLock, StorageError> {
        let lock_path = dir.join(LOCK_FILE_NAME);
        let mut state = self.state();
        state
            .dir(dir)
            .map_err(|e| StorageError::io("opening lock file", &lock_path, e))?;
        if state.locks.contains(dir) {
            return Err(StorageError::Locked {
                dir: dir.to_path_buf(),
            });
        }
        if !state.current.contains_key(&lock_path) {
            state.create_file(dir.to_path_buf(), &lock_path);
        }
        state.locks.insert(dir.to_path_buf());
        Ok(SimLock {
            fs: self.clone(),
            dir: dir.to_path_buf(),
            generation: state.generation,
        })
    }

    fn create_new(&self, path: &Path) -> io::Result<SimFile> {
        let mut state = self.state();
        let parent = state.parent_of(path)?;
        if state.current.contains_key(path) {
            return Err(error(io::ErrorKind::AlreadyExists, "exists", path));
        }
        let id = state.create_file(parent, path);
        Ok(self.handle(&mut state, id, true))
    }

    fn create_truncate(&self, path: &Path) -> io::Result<SimFile> {
        let mut state = self.state();
        let parent = state.parent_of(path)?;
        let id = match state.current.get(path) {
            None => state.create_file(parent, path),
            Some(_) => {
                let id = state.file(path)?;
                if state.inodes.get(&id).is_some_and(|inode| inode.len > 0) {
                    state.data_op(id, DataOpKind::SetLen(0));
                }
                id
            }
        };
        Ok(self.handle(&mut state, id, false))
    }

    fn open_append(&self, path: &Path) -> io::Result<SimFile> {
        let mut state = self.state();
        let id = state.file(path)?;
        Ok(self.handle(&mut state, id, true))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.state();
        let id = state.file(path)?;
        Ok(state.contents(id))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state();
        let parent = state.parent_of(from)?;
        let id = state.file(from)?;
        if to.parent() != Some(parent.as_path()) {
            return Err(error(
                io::ErrorKind::Unsupported,
                "renames only within one directory",
                to,
            ));
        }
        if state.current.get(to) == Some(&Node::Dir) {
            return Err(error(io::ErrorKind::IsADirectory, "is a directory", to));
        }
        if from == to {
            return Ok(());
        }
        state.dir_op(
            parent,
            DirOpKind::Rename {
                from: from.to_path_buf(),
                to: to.to_path_buf(),
                node: Node::File(id),
            },
        );
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        let parent = state.parent_of(path)?;
        state.file(path)?;
        state.dir_op(
            parent,
            DirOpKind::Remove {
                path: path.to_path_buf(),
            },
        );
        Ok(())
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        let state = self.state();
        state.dir(dir)?;
        Ok(state.children(dir))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.dir(dir)?;
        state.sync(SyncTarget::Dir(dir.to_path_buf()));
        Ok(())
    }
}

/// An open file of a [`SimFs`]; stale (every call fails) after a crash.
pub struct SimFile {
    fs: SimFs,
    id: u64,
    append: bool,
    pos: u64,
    generation: u64,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("inode", &self.id)
            .field("append", &self.append)
            .finish()
    }
}

impl SimFile {
    fn live<'a>(&self, state: &'a mut State) -> io::Result<&'a mut State> {
        if state.generation == self.generation && state.inodes.contains_key(&self.id) {
            Ok(state)
        } else {
            Err(io::Error::other(
                "SimFs: stale file handle (the file system crashed since it was opened)",
            ))
        }
    }
}

impl FsFile for SimFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut guard = self.fs.state();
        let state = self.live(&mut guard)?;
        if bytes.is_empty() {
            return Ok(());
        }
        let offset = if self.append {
            state.inodes.get(&self.id).map_or(0, |inode| inode.len)
        } else {
            self.pos
        };
        state.data_op(
            self.id,
            DataOpKind::Write {
                offset,
                bytes: bytes.to_vec(),
            },
        );
        self.pos = offset + bytes.len() as u64;
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut guard = self.fs.state();
        let state = self.live(&mut guard)?;
        state.data_op(self.id, DataOpKind::SetLen(len));
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut guard = self.fs.state();
        let state = self.live(&mut guard)?;
        state.sync(SyncTarget::File(self.id));
        Ok(())
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut state = self.fs.state();
        if state.generation == self.generation {
            if let Some(inode) = state.inodes.get_mut(&self.id) {
                inode.handles = inode.handles.saturating_sub(1);
            }
        }
    }
}

/// A lock on a [`SimFs`] directory, released on drop (or by a crash).
pub struct SimLock {
    fs: SimFs,
    dir: PathBuf,
    generation: u64,
}

impl fmt::Debug for SimLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimLock").field("dir", &self.dir).finish()
    }
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut state = self.fs.state();
        if state.generation == self.generation {
            state.locks.remove(&self.dir);
        }
    }
}
