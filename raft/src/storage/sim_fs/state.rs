//! The model behind [`SimFs`](super::SimFs): the current namespace and file contents (what reads
//! see, the page cache), the durable ones (what a crash cannot take away), the unsynced operations
//! between the two, and the numbered syncs waiting for the caller to complete them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Node {
    Dir,
    /// A regular file, by inode number.
    File(u64),
}

/// A file's contents: durable bytes plus the writes not yet synced, in issue order.
#[derive(Debug, Default)]
pub(super) struct Inode {
    pub durable: Vec<u8>,
    /// Current length (durable bytes with every unsynced operation applied).
    pub len: u64,
    pub unsynced: Vec<DataOp>,
    /// Open handles (an unlinked file lives while one is open).
    pub handles: usize,
}

/// One unsynced change to a file's contents.
#[derive(Clone, Debug)]
pub(super) struct DataOp {
    pub seq: u64,
    pub kind: DataOpKind,
}

#[derive(Clone, Debug)]
pub(super) enum DataOpKind {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

impl DataOpKind {
    pub fn apply(&self, contents: &mut Vec<u8>) {
        match self {
            DataOpKind::Write { offset, bytes } => {
                let start = *offset as usize;
                let end = start + bytes.len();
                if contents.len() < end {
                    contents.resize(end, 0);
                }
                contents[start..end].copy_from_slice(bytes);
            }
            DataOpKind::SetLen(len) => contents.resize(*len as usize, 0),
        }
    }
}

/// One unsynced change to a directory's entries.
#[derive(Clone, Debug)]
pub(super) struct DirOp {
    pub seq: u64,
    pub kind: DirOpKind,
}

#[derive(Clone, Debug)]
pub(super) enum DirOpKind {
    Create {
        path: PathBuf,
        node: Node,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
        node: Node,
    },
    Remove {
        path: PathBuf,
    },
}

impl DirOpKind {
    /// The entries (full paths) this operation reads or changes.
    pub fn names(&self) -> [Option<&Path>; 2] {
        match self {
            DirOpKind::Create { path, .. } | DirOpKind::Remove { path } => [Some(path), None],
            DirOpKind::Rename { from, to, .. } => [Some(from), Some(to)],
        }
    }

    pub fn apply(&self, namespace: &mut BTreeMap<PathBuf, Node>) {
        match self {
            DirOpKind::Create { path, node } => {
                namespace.insert(path.clone(), *node);
            }
            DirOpKind::Rename { from, to, node } => {
                namespace.remove(from);
                namespace.insert(to.clone(), *node);
            }
            DirOpKind::Remove { path } => {
                namespace.remove(path);
            }
        }
    }
}

/// A sync call waiting for the caller to say the simulated fsync completed.
#[derive(Clone, Debug)]
pub(super) struct PendingSync {
    pub number: u64,
    /// Sequence number of the call: it covers the operations issued before it.
    pub seq: u64,
    pub target: SyncTarget,
}

#[derive(Clone, Debug)]
pub(super) enum SyncTarget {
    File(u64),
    Dir(PathBuf),
}

/// Everything a [`SimFs`](super::SimFs) holds.
#[derive(Debug)]
pub(super) struct State {
    /// Sequence number of the next operation (writes, directory changes, syncs).
    pub next_seq: u64,
    /// Bumped by every crash: handles and locks from before it are stale.
    pub generation: u64,
    pub current: BTreeMap<PathBuf, Node>,
    pub durable: BTreeMap<PathBuf, Node>,
    pub inodes: BTreeMap<u64, Inode>,
    pub next_inode: u64,
    /// Unsynced directory operations, by the directory they change, in issue order.
    pub dir_ops: BTreeMap<PathBuf, Vec<DirOp>>,
    /// Issued, not yet completed, by number.
    pub syncs: VecDeque<PendingSync>,
    pub syncs_issued: u64,
    pub locks: BTreeSet<PathBuf>,
    pub crashes: u64,
}

/// The root directory, which always exists.
pub(super) const ROOT: &str = "/";

pub(super) fn error(kind: io::ErrorKind, what: &str, path: &Path) -> io::Error {
    io::Error::new(kind, format!("SimFs: {what}: {}", path.display()))
}

impl Default for State {
    fn default() -> Self {
        let root = BTreeMap::from([(PathBuf::from(ROOT), Node::Dir)]);
        State {
            next_seq: 0,
            generation: 0,
            current: root.clone(),
            durable: root,
            inodes: BTreeMap::new(),
            next_inode: 1,
            dir_ops: BTreeMap::new(),
            syncs: VecDeque::new(),
            syncs_issued: 0,
            locks: BTreeSet::new(),
            crashes: 0,
        }
    }
}

impl State {
    fn seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The directory holding `path`, which must exist; `path` must be absolute and not the root.
    pub fn parent_of(&self, path: &Path) -> io::Result<PathBuf> {
        if !path.is_absolute() {
            return Err(error(
                io::ErrorKind::InvalidInput,
                "paths must be absolute",
                path,
            ));
        }
        let Some(parent) = path.parent() else {
            return Err(error(
                io::ErrorKind::InvalidInput,
                "the root has no parent",
                path,
            ));
        };
        match self.current.get(parent) {
            Some(Node::Dir) => Ok(parent.to_path_buf()),
            Some(Node::File(_)) => Err(error(
                io::ErrorKind::NotADirectory,
                "parent is a file",
                path,
            )),
            None => Err(error(io::ErrorKind::NotFound, "no such directory", parent)),
        }
    }

    /// The inode of the file at `path`.
    pub fn file(&self, path: &Path) -> io::Result<u64> {
        match self.current.get(path) {
            Some(Node::File(id)) => Ok(*id),
            Some(Node::Dir) => Err(error(io::ErrorKind::IsADirectory, "is a directory", path)),
            None => Err(error(io::ErrorKind::NotFound, "no such file", path)),
        }
    }

    pub fn dir(&self, path: &Path) -> io::Result<()> {
        match self.current.get(path) {
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => {
                Err(error(io::ErrorKind::NotADirectory, "not a directory", path))
            }
            None => Err(error(io::ErrorKind::NotFound, "no such directory", path)),
        }
    }

    /// Applies a directory operation now and records it as unsynced in `parent`.
    pub fn dir_op(&mut self, parent: PathBuf, kind: DirOpKind) {
        kind.apply(&mut self.current);
        let seq = self.seq();
        self.dir_ops
            .entry(parent)
            .or_default()
            .push(DirOp { seq, kind });
    }

    /// Creates an empty file at `path` (whose parent exists and which does not).
    pub fn create_file(&mut self, parent: PathBuf, path: &Path) -> u64 {
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        self.dir_op(
            parent,
            DirOpKind::Create {
                path: path.to_path_buf(),
                node: Node::File(id),
            },
        );
        id
    }

    /// Records a change to a file's contents.
    pub fn data_op(&mut self, id: u64, kind: DataOpKind) {
        let seq = self.seq();
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.len = match &kind {
                DataOpKind::Write { offset, bytes } => inode.len.max(offset + bytes.len() as u64),
                DataOpKind::SetLen(len) => *len,
            };
            inode.unsynced.push(DataOp { seq, kind });
        }
    }

    /// Issues a sync and returns its number.
    pub fn sync(&mut self, target: SyncTarget) -> u64 {
        let seq = self.seq();
        self.syncs_issued += 1;
        let number = self.syncs_issued;
        self.syncs.push_back(PendingSync {
            number,
            seq,
            target,
        });
        number
    }

    /// The current contents of a file.
    pub fn contents(&self, id: u64) -> Vec<u8> {
        let Some(inode) = self.inodes.get(&id) else {
            return Vec::new();
        };
        let mut bytes = inode.durable.clone();
        for op in &inode.unsynced {
            op.kind.apply(&mut bytes);
        }
        bytes
    }

    /// The names in directory `dir`.
    pub fn children(&self, dir: &Path) -> Vec<OsString> {
        self.current
            .range(dir.to_path_buf()..)
            .take_while(|(path, _)| path.starts_with(dir))
            .filter(|(path, _)| path.parent() == Some(dir))
            .filter_map(|(path, _)| path.file_name().map(|n| n.to_os_string()))
            .collect()
    }

    /// Completes every sync numbered up to `number`, oldest first: each makes durable the
    /// operations on its file (or directory) issued before it.
    pub fn complete_through(&mut self, number: u64) {
        let mut freed_names = false;
        while self.syncs.front().is_some_and(|s| s.number <= number) {
            let Some(sync) = self.syncs.pop_front() else {
                break;
            };
            match sync.target {
                SyncTarget::File(id) => {
                    if let Some(inode) = self.inodes.get_mut(&id) {
                        let done = inode.unsynced.partition_point(|op| op.seq < sync.seq);
                        for op in inode.unsynced.drain(..done) {
                            op.kind.apply(&mut inode.durable);
                        }
                    }
                }
                SyncTarget::Dir(dir) => {
                    let Some(ops) = self.dir_ops.get_mut(&dir) else {
                        continue;
                    };
                    let done = ops.partition_point(|op| op.seq < sync.seq);
                    for op in ops.drain(..done) {
                        freed_names |= !matches!(op.kind, DirOpKind::Create { .. });
                        op.kind.apply(&mut self.durable);
                    }
                    if ops.is_empty() {
                        self.dir_ops.remove(&dir);
                    }
                }
            }
        }
        if freed_names {
            self.collect_garbage();
        }
    }

    /// Drops the contents of files no name (current, durable or unsynced) and no handle refers to.
    pub fn collect_garbage(&mut self) {
        let mut live = BTreeSet::new();
        let named = self.current.values().chain(self.durable.values());
        let pending = self.dir_ops.values().flatten().map(|op| match &op.kind {
            DirOpKind::Create { node, .. } | DirOpKind::Rename { node, .. } => *node,
            DirOpKind::Remove { .. } => Node::Dir,
        });
        for node in named.copied().chain(pending) {
            if let Node::File(id) = node {
                live.insert(id);
            }
        }
        self.inodes
            .retain(|id, inode| inode.handles > 0 || live.contains(id));
    }
}
