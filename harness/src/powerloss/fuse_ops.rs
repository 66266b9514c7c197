//! The FUSE requests of the power-loss file system, each answered from the [`Model`].
//!
//! Every entry and attribute is given a zero time-to-live and every file is opened with
//! `direct_io`, so the kernel caches nothing: a process killed by SIGKILL loses nothing it wrote
//! (the data is in this process), while [`Model::power_loss`] is seen at once.

use std::ffi::OsStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

use super::model::{Model, ModelError, Node, NodeKind};

/// Nothing is cached by the kernel.
const TTL: Duration = Duration::ZERO;

/// The FUSE side of the file system: a handle on the shared model.
pub(crate) struct FuseOps {
    pub(crate) model: Arc<Mutex<Model>>,
}

fn errno(err: ModelError) -> Errno {
    match err {
        ModelError::NotFound => Errno::ENOENT,
        ModelError::Exists => Errno::EEXIST,
        ModelError::NotDir => Errno::ENOTDIR,
        ModelError::IsDir => Errno::EISDIR,
        ModelError::NotEmpty => Errno::ENOTEMPTY,
        ModelError::Io => Errno::EIO,
    }
}

fn attr(ino: u64, node: &Node) -> FileAttr {
    let (kind, perm, nlink, size) = match node.kind {
        NodeKind::File => (FileType::RegularFile, 0o644, 1, node.content.len() as u64),
        NodeKind::Dir => (FileType::Directory, 0o755, 2, 0),
    };
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind,
        perm,
        nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        flags: 0,
        blksize: 4096,
    }
}

impl FuseOps {
    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits the model's sync delay (a slow disk), without holding the model: a power loss may
    /// come meanwhile, and then the sync finds its inode gone.
    fn stall_before_sync(&self) {
        let delay = self.model().sync_delay();
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }

    fn attr_of(model: &Model, ino: u64) -> Result<FileAttr, Errno> {
        model
            .node(ino)
            .map(|node| attr(ino, node))
            .ok_or(Errno::ENOENT)
    }

    fn reply_entry(&self, result: Result<u64, ModelError>, reply: ReplyEntry) {
        let model = self.model();
        match result
            .map_err(errno)
            .and_then(|ino| Self::attr_of(&model, ino))
        {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }
}

fn reply_empty(result: Result<(), ModelError>, reply: ReplyEmpty) {
    match result {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(errno(e)),
    }
}

impl Filesystem for FuseOps {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let result = self.model().lookup(parent.0, name);
        self.reply_entry(result, reply);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match Self::attr_of(&self.model(), ino.0) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut model = self.model();
        if let Some(len) = size {
            if let Err(e) = model.truncate(ino.0, len) {
                return reply.error(errno(e));
            }
        }
        match Self::attr_of(&model, ino.0) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let result = self.model().create(parent.0, name, NodeKind::Dir);
        self.reply_entry(result, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(self.model().remove(parent.0, name, NodeKind::File), reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(self.model().remove(parent.0, name, NodeKind::Dir), reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: fuser::RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            self.model().rename(parent.0, name, newparent.0, newname),
            reply,
        );
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc_o_trunc() != 0 {
            if let Err(e) = self.model().truncate(ino.0, 0) {
                return reply.error(errno(e));
            }
        }
        reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO);
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut model = self.model();
        match model
            .create(parent.0, name, NodeKind::File)
            .map_err(errno)
            .and_then(|ino| Self::attr_of(&model, ino))
        {
            Ok(attr) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(0),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.model().read(ino.0, offset, size) {
            Ok(bytes) => reply.data(bytes),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let append = flags.0 & libc_o_append() != 0;
        match self.model().write(ino.0, offset, data, append) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.stall_before_sync();
        reply_empty(self.model().sync_file(ino.0), reply);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let model = self.model();
        let Some(node) = model.node(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let mut listing = vec![
            (ino.0, FileType::Directory, OsStr::new(".").to_os_string()),
            (ino.0, FileType::Directory, OsStr::new("..").to_os_string()),
        ];
        for (name, &child) in &node.entries {
            let kind = match model.node(child).map(|n| n.kind) {
                Some(NodeKind::Dir) => FileType::Directory,
                _ => FileType::RegularFile,
            };
            listing.push((child, kind, name.clone()));
        }
        for (index, (child, kind, name)) in listing.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child), index as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.stall_before_sync();
        reply_empty(self.model().sync_dir(ino.0), reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(1 << 24, 1 << 24, 1 << 24, 1 << 20, 1 << 20, 4096, 255, 4096);
    }
}

/// `O_TRUNC` on Linux.
const fn libc_o_trunc() -> i32 {
    0o1000
}

/// `O_APPEND` on Linux.
const fn libc_o_append() -> i32 {
    0o2000
}
