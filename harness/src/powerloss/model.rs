//! The power-loss model behind the FUSE file system: what a process sees (the view) and what would
//! survive a power cut (the durable state), kept apart.
//!
//! Every file and directory lives in memory as a node. A file node holds its current content (the
//! view, written to by `write`) and its synced content (what the last `fsync`/`fdatasync` made
//! durable). A directory node holds its current entries and its durable entries (those in force at
//! its last `fsync`); entries created, renamed or removed since are pending until then.
//!
//! The durable state is also written to the backing directory, so that it outlives the mount:
//! a file's synced content lands on every durable name of the file, and a directory's durable
//! entries are mirrored there when it is synced. [`Model::power_loss`] rebuilds the view from the
//! backing directory, which is exactly the durable state.
//!
//! A disk error can be armed ([`Model::fail_next_sync`]): the next sync of a file or directory
//! fails with `EIO` and makes nothing durable. As Linux does after a failed writeback, the file's
//! unsynced writes are then forgotten as dirty data: a later sync that "succeeds" does not make
//! them durable (a retry after `EIO` lies), which is why a node must stop instead (fsyncgate).

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The inode number of the root directory (FUSE's fixed root id).
pub(crate) const ROOT: u64 = 1;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeKind {
    File,
    Dir,
}

/// One file or directory.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// File: the content a reader sees now.
    pub(crate) content: Vec<u8>,
    /// File: the content as of the last sync.
    synced: Vec<u8>,
    /// File: how many times it was synced (tells whether a backing copy is current).
    sync_generation: u64,
    /// File: the lowest offset written or truncated since the last sync.
    dirty_from: Option<usize>,
    /// File: the lowest offset the last sync changed (a backing copy of the sync before needs
    /// only the bytes from there).
    last_sync_changed_from: usize,
    /// Directory: the entries a reader sees now.
    pub(crate) entries: BTreeMap<OsString, u64>,
    /// Directory: the entries as of the last sync of the directory.
    durable_entries: BTreeMap<OsString, u64>,
}

impl Node {
    fn new(kind: NodeKind) -> Node {
        Node {
            kind,
            content: Vec::new(),
            synced: Vec::new(),
            sync_generation: 0,
            dirty_from: None,
            last_sync_changed_from: 0,
            entries: BTreeMap::new(),
            durable_entries: BTreeMap::new(),
        }
    }
}

/// Why an operation on the model failed (each maps to an errno).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum ModelError {
    NotFound,
    Exists,
    NotDir,
    IsDir,
    NotEmpty,
    Io,
}

/// The whole file system: nodes, the backing directory, and which backing files are current.
#[derive(Debug)]
pub(crate) struct Model {
    backing: PathBuf,
    nodes: HashMap<u64, Node>,
    /// Never reused, not even across power losses, so the kernel's stale inodes never alias.
    next_ino: u64,
    /// Backing path -> (node, sync generation) last written there.
    written: HashMap<PathBuf, (u64, u64)>,
    /// A disk error is armed: the next sync fails with `EIO`.
    fail_next_sync: bool,
    /// How many syncs failed that way.
    sync_failures: u64,
    /// How many syncs of files or directories completed (made something durable or nothing new).
    syncs_completed: u64,
    /// How long every sync takes before it completes (a slow or stalling disk).
    sync_delay: std::time::Duration,
    /// The power is going: no sync completes any more until [`Model::power_loss`].
    cutting: bool,
}

impl Model {
    /// Loads the durable state found in `backing` as the view.
    pub(crate) fn load(backing: &Path) -> io::Result<Model> {
        let mut model = Model {
            backing: backing.to_path_buf(),
            nodes: HashMap::new(),
            next_ino: ROOT + 1,
            written: HashMap::new(),
            fail_next_sync: false,
            sync_failures: 0,
            syncs_completed: 0,
            sync_delay: std::time::Duration::ZERO,
            cutting: false,
        };
        model.reload()?;
        Ok(model)
    }

    /// Drops every unsynced write and every pending directory change: the view becomes the
    /// durable state.
    pub(crate) fn power_loss(&mut self) -> io::Result<()> {
        self.cutting = false;
        self.reload()
    }

    /// The power starts to go: from now on every sync fails (`Io`) and makes nothing durable,
    /// those waiting out a sync delay included, until [`Model::power_loss`] completes the cut.
    /// (A process killed while the file system serves its sync waits for the reply: without
    /// this, killing it first would let that sync complete.)
    pub(crate) fn begin_power_cut(&mut self) {
        self.cutting = true;
    }

    fn reload(&mut self) -> io::Result<()> {
        self.nodes.clear();
        self.written.clear();
        self.nodes.insert(ROOT, Node::new(NodeKind::Dir));
        let backing = self.backing.clone();
        self.scan_dir(ROOT, &backing)
    }

    fn scan_dir(&mut self, dir: u64, path: &Path) -> io::Result<()> {
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let child_path = entry.path();
            let file_type = entry.file_type()?;
            let child = if file_type.is_dir() {
                let child = self.add_node(NodeKind::Dir);
                self.scan_dir(child, &child_path)?;
                child
            } else if file_type.is_file() {
                let child = self.add_node(NodeKind::File);
                let bytes = fs::read(&child_path)?;
                let node = self.node_mut(child).expect("just added");
                node.content = bytes.clone();
                node.synced = bytes;
                self.written.insert(child_path, (child, 0));
                child
            } else {
                continue;
            };
            let node = self.node_mut(dir).expect("scanned dir exists");
            node.entries.insert(entry.file_name(), child);
            node.durable_entries.insert(entry.file_name(), child);
        }
        Ok(())
    }

    fn add_node(&mut self, kind: NodeKind) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, Node::new(kind));
        ino
    }

    pub(crate) fn node(&self, ino: u64) -> Option<&Node> {
        self.nodes.get(&ino)
    }

    fn node_mut(&mut self, ino: u64) -> Option<&mut Node> {
        self.nodes.get_mut(&ino)
    }

    fn dir(&self, ino: u64) -> Result<&Node, ModelError> {
        match self.nodes.get(&ino) {
            Some(node) if node.kind == NodeKind::Dir => Ok(node),
            Some(_) => Err(ModelError::NotDir),
            None => Err(ModelError::NotFound),
        }
    }

    fn file_mut(&mut self, ino: u64) -> Result<&mut Node, ModelError> {
        match self.nodes.get_mut(&ino) {
            Some(node) if node.kind == NodeKind::File => Ok(node),
            Some(_) => Err(ModelError::IsDir),
            None => Err(ModelError::NotFound),
        }
    }

    /// The node called `name` in directory `parent`.
    pub(crate) fn lookup(&self, parent: u64, name: &OsStr) -> Result<u64, ModelError> {
        self.dir(parent)?
            .entries
            .get(name)
            .copied()
            .ok_or(ModelError::NotFound)
    }

    /// Creates an empty file or directory (pending until `parent` is synced).
    pub(crate) fn create(
        &mut self,
        parent: u64,
        name: &OsStr,
        kind: NodeKind,
    ) -> Result<u64, ModelError> {
        if self.dir(parent)?.entries.contains_key(name) {
            return Err(ModelError::Exists);
        }
        let ino = self.add_node(kind);
        self.node_mut(parent)
            .expect("checked above")
            .entries
            .insert(name.to_os_string(), ino);
        Ok(ino)
    }

    /// Removes a name (pending until `parent` is synced). `kind` says what it must name.
    pub(crate) fn remove(
        &mut self,
        parent: u64,
        name: &OsStr,
        kind: NodeKind,
    ) -> Result<(), ModelError> {
        let ino = self.lookup(parent, name)?;
        let node = self.node(ino).ok_or(ModelError::NotFound)?;
        match (kind, node.kind) {
            (NodeKind::File, NodeKind::Dir) => return Err(ModelError::IsDir),
            (NodeKind::Dir, NodeKind::File) => return Err(ModelError::NotDir),
            (NodeKind::Dir, NodeKind::Dir) if !node.entries.is_empty() => {
                return Err(ModelError::NotEmpty)
            }
            _ => {}
        }
        self.node_mut(parent)
            .expect("looked up")
            .entries
            .remove(name);
        Ok(())
    }

    /// Moves a name, replacing what the target named (pending until each parent is synced).
    pub(crate) fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        new_parent: u64,
        new_name: &OsStr,
    ) -> Result<(), ModelError> {
        let ino = self.lookup(parent, name)?;
        self.dir(new_parent)?;
        if let Ok(target) = self.lookup(new_parent, new_name) {
            let target = self.node(target).ok_or(ModelError::NotFound)?;
            if target.kind == NodeKind::Dir && !target.entries.is_empty() {
                return Err(ModelError::NotEmpty);
            }
        }
        self.node_mut(parent)
            .expect("looked up")
            .entries
            .remove(name);
        self.node_mut(new_parent)
            .expect("checked")
            .entries
            .insert(new_name.to_os_string(), ino);
        Ok(())
    }

    /// Reads up to `size` bytes at `offset` of the view.
    pub(crate) fn read(&mut self, ino: u64, offset: u64, size: u32) -> Result<&[u8], ModelError> {
        let content = &self.file_mut(ino)?.content;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(content.len());
        let end = start.saturating_add(size as usize).min(content.len());
        Ok(&content[start..end])
    }

    /// Writes into the view only; `append` writes at the end whatever the offset.
    pub(crate) fn write(
        &mut self,
        ino: u64,
        offset: u64,
        data: &[u8],
        append: bool,
    ) -> Result<(), ModelError> {
        let node = self.file_mut(ino)?;
        let content = &mut node.content;
        let start = if append {
            content.len()
        } else {
            usize::try_from(offset).map_err(|_| ModelError::Io)?
        };
        let end = start + data.len();
        let changed_from = start.min(content.len());
        if content.len() < end {
            content.resize(end, 0);
        }
        content[start..end].copy_from_slice(data);
        node.dirty_from = Some(
            node.dirty_from
                .map_or(changed_from, |d| d.min(changed_from)),
        );
        Ok(())
    }

    /// Changes the view's length.
    pub(crate) fn truncate(&mut self, ino: u64, len: u64) -> Result<(), ModelError> {
        let len = usize::try_from(len).map_err(|_| ModelError::Io)?;
        let node = self.file_mut(ino)?;
        let changed_from = len.min(node.content.len());
        node.content.resize(len, 0);
        node.dirty_from = Some(
            node.dirty_from
                .map_or(changed_from, |d| d.min(changed_from)),
        );
        Ok(())
    }

    /// Arms (`true`) or disarms a disk error: the next sync of any file or directory fails.
    pub(crate) fn fail_next_sync(&mut self, armed: bool) {
        self.fail_next_sync = armed;
    }

    /// How many syncs failed with an armed disk error.
    pub(crate) fn sync_failures(&self) -> u64 {
        self.sync_failures
    }

    /// How many syncs completed successfully so far.
    pub(crate) fn syncs_completed(&self) -> u64 {
        self.syncs_completed
    }

    /// How long each sync waits before it completes.
    pub(crate) fn sync_delay(&self) -> std::time::Duration {
        self.sync_delay
    }

    /// Sets how long each sync waits before it completes (zero: at once).
    pub(crate) fn set_sync_delay(&mut self, delay: std::time::Duration) {
        self.sync_delay = delay;
    }

    /// Takes the armed disk error, if any.
    fn take_sync_failure(&mut self) -> bool {
        let armed = std::mem::take(&mut self.fail_next_sync);
        self.sync_failures += u64::from(armed);
        armed
    }

    /// `fsync`/`fdatasync` of a file: its content becomes durable, under every durable name.
    /// With a disk error armed: `Io`, nothing becomes durable, and the unsynced writes are no
    /// longer dirty (a later sync leaves them out, as zeros where they extended the file).
    pub(crate) fn sync_file(&mut self, ino: u64) -> Result<(), ModelError> {
        self.file_mut(ino)?;
        if self.cutting {
            return Err(ModelError::Io);
        }
        if self.take_sync_failure() {
            self.file_mut(ino)?.dirty_from = None;
            return Err(ModelError::Io);
        }
        let node = self.file_mut(ino)?;
        let changed_from = node.dirty_from.take().unwrap_or(node.content.len());
        // Only the changed bytes are copied (a growing log is synced often). Bytes below
        // `changed_from` that were never synced (their sync failed) stay lost: zeros.
        if node.synced.len() < changed_from {
            node.synced.resize(changed_from, 0);
        }
        node.synced.truncate(changed_from);
        node.synced.extend_from_slice(&node.content[changed_from..]);
        node.last_sync_changed_from = changed_from;
        node.sync_generation += 1;
        let mut names = Vec::new();
        for (&dir, node) in &self.nodes {
            for (name, &child) in &node.durable_entries {
                if child == ino {
                    names.push((dir, name.clone()));
                }
            }
        }
        for (dir, name) in names {
            if let Some(path) = self.durable_path(dir) {
                self.write_backing_file(&path.join(name), ino)
                    .map_err(|_| ModelError::Io)?;
            }
        }
        self.syncs_completed += 1;
        Ok(())
    }

    /// `fsync` of a directory: its current entries become durable.
    pub(crate) fn sync_dir(&mut self, ino: u64) -> Result<(), ModelError> {
        self.dir(ino)?;
        if self.cutting {
            return Err(ModelError::Io);
        }
        if self.take_sync_failure() {
            return Err(ModelError::Io);
        }
        let node = self.node_mut(ino).expect("checked");
        node.durable_entries = node.entries.clone();
        if let Some(path) = self.durable_path(ino) {
            self.mirror_dir(ino, &path).map_err(|_| ModelError::Io)?;
        }
        self.syncs_completed += 1;
        Ok(())
    }

    /// Where a directory lives in the backing directory, if its name is durable.
    fn durable_path(&self, ino: u64) -> Option<PathBuf> {
        let mut parts = Vec::new();
        let mut current = ino;
        while current != ROOT {
            if parts.len() > self.nodes.len() {
                return None;
            }
            let (parent, name) = self.nodes.iter().find_map(|(&parent, node)| {
                node.durable_entries
                    .iter()
                    .find(|(_, &child)| child == current)
                    .map(|(name, _)| (parent, name.clone()))
            })?;
            parts.push(name);
            current = parent;
        }
        let mut path = self.backing.clone();
        path.extend(parts.iter().rev());
        Some(path)
    }

    /// Makes the backing directory `path` hold exactly the durable entries of `ino`.
    fn mirror_dir(&mut self, ino: u64, path: &Path) -> io::Result<()> {
        let entries: Vec<(OsString, u64)> = self
            .node(ino)
            .map(|n| {
                n.durable_entries
                    .iter()
                    .map(|(k, &v)| (k.clone(), v))
                    .collect()
            })
            .unwrap_or_default();
        for (name, child) in &entries {
            let child_path = path.join(name);
            match self.node(*child).map(|n| n.kind) {
                Some(NodeKind::File) => self.write_backing_file(&child_path, *child)?,
                Some(NodeKind::Dir) => {
                    if child_path.is_file() {
                        fs::remove_file(&child_path)?;
                        self.written.remove(&child_path);
                    }
                    if !child_path.is_dir() {
                        fs::create_dir(&child_path)?;
                    }
                    self.mirror_dir(*child, &child_path)?;
                }
                None => {}
            }
        }
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            if entries.iter().any(|(name, _)| *name == entry.file_name()) {
                continue;
            }
            let stale = entry.path();
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(&stale)?;
                self.written.retain(|p, _| !p.starts_with(&stale));
            } else {
                fs::remove_file(&stale)?;
                self.written.remove(&stale);
            }
        }
        File::open(path)?.sync_all()
    }

    /// Writes a file's synced content to `path` and syncs it, unless it is there already.
    fn write_backing_file(&mut self, path: &Path, ino: u64) -> io::Result<()> {
        let Some(node) = self.nodes.get(&ino) else {
            return Ok(());
        };
        let stamp = (ino, node.sync_generation);
        let previous = self.written.get(path).copied();
        if previous == Some(stamp) && path.is_file() {
            return Ok(());
        }
        if previous == Some((ino, node.sync_generation.wrapping_sub(1))) && path.is_file() {
            // The backing copy holds the sync before: write only what this sync changed.
            let from = node.last_sync_changed_from.min(node.synced.len());
            let mut file = OpenOptions::new().write(true).open(path)?;
            file.set_len(node.synced.len() as u64)?;
            file.seek(SeekFrom::Start(from as u64))?;
            file.write_all(&node.synced[from..])?;
            file.sync_all()?;
            self.written.insert(path.to_path_buf(), stamp);
            return Ok(());
        }
        if path.is_dir() {
            fs::remove_dir_all(path)?;
            self.written.retain(|p, _| !p.starts_with(path));
        }
        let mut file = File::create(path)?;
        file.write_all(&node.synced)?;
        file.sync_all()?;
        self.written.insert(path.to_path_buf(), stamp);
        Ok(())
    }
}
