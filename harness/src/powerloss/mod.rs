//! A file system the harness controls, for power-loss faults (issue 15): it keeps what was
//! written but not synced apart from what is durable, and can throw it away.
//!
//! [`PowerLossFs::mount`] mounts a FUSE file system over a backing directory. Writes go to an
//! in-memory view; `fsync`/`fdatasync` of a file makes its content durable (written to the backing
//! file and synced); created, renamed and removed names become durable when their directory is
//! synced. [`PowerLossMount::power_loss`] drops everything that is not durable. Files are opened
//! with `direct_io`, so killing a process (SIGKILL) loses nothing it wrote, while a power loss
//! does. [`PowerLossMount::fail_next_sync`] arms a disk error: the next sync fails with `EIO`.
//! The model and its limits: `docs/power-loss.md`. [`unavailable_reason`] tells whether this
//! machine can mount it; [`unmount_stale`] removes the mounts a killed harness left behind.

mod fuse_ops;
mod model;
mod mounts;

pub use mounts::{unavailable_reason, unmount_stale, FS_NAME};

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use thiserror::Error;

use fuse_ops::FuseOps;
use model::Model;

/// Why the power-loss file system could not be mounted or driven.
#[derive(Debug, Error)]
pub enum PowerLossError {
    /// The backing directory could not be read.
    #[error("cannot load backing directory {path}: {source}")]
    Backing {
        /// The backing directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The FUSE mount failed (it needs /dev/fuse and root, or a `fusermount3`).
    #[error(
        "cannot mount the power-loss file system on {path} (needs /dev/fuse and root): {source}"
    )]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The unmount failed.
    #[error("cannot unmount {path}: {source}")]
    Unmount {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Rebuilding the view from the durable state failed.
    #[error("power loss could not reload the durable state from {path}: {source}")]
    Reload {
        /// The backing directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The power-loss file system (see the module comment).
pub struct PowerLossFs;

impl PowerLossFs {
    /// Mounts the file system on `mountpoint`, its durable state kept in `backing` (whose present
    /// content is taken as durable).
    pub fn mount(backing: &Path, mountpoint: &Path) -> Result<PowerLossMount, PowerLossError> {
        let model = Model::load(backing).map_err(|source| PowerLossError::Backing {
            path: backing.to_path_buf(),
            source,
        })?;
        let model = Arc::new(Mutex::new(model));
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName(FS_NAME.to_string()),
            fuser::MountOption::Subtype(FS_NAME.to_string()),
        ];
        let ops = FuseOps {
            model: Arc::clone(&model),
        };
        let session = fuser::spawn_mount(ops, mountpoint, &config).map_err(|source| {
            PowerLossError::Mount {
                path: mountpoint.to_path_buf(),
                source,
            }
        })?;
        tracing::debug!(backing = %backing.display(), mountpoint = %mountpoint.display(), "power-loss fs mounted");
        Ok(PowerLossMount {
            model,
            session: Some(session),
            backing: backing.to_path_buf(),
            mountpoint: mountpoint.to_path_buf(),
        })
    }
}

/// A mounted power-loss file system; unmounted by [`PowerLossMount::unmount`] or on drop.
pub struct PowerLossMount {
    model: Arc<Mutex<Model>>,
    session: Option<fuser::BackgroundSession>,
    backing: PathBuf,
    mountpoint: PathBuf,
}

impl PowerLossMount {
    /// Where the file system is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The power starts to go: from now on no sync completes (each fails with `EIO`, those in
    /// progress included) until [`PowerLossMount::power_loss`]. Call it before killing the
    /// processes whose power is cut: a process killed while this file system serves its sync
    /// waits for that sync, which would otherwise complete.
    pub fn begin_power_cut(&self) {
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        model.begin_power_cut();
    }

    /// Cuts the power: every unsynced write and every unsynced directory change is dropped, and
    /// the view becomes the durable state. Files still open keep working on inodes that no longer
    /// exist (their operations fail); processes should be killed first, as a real power cut does.
    pub fn power_loss(&self) -> Result<(), PowerLossError> {
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        model
            .power_loss()
            .map_err(|source| PowerLossError::Reload {
                path: self.backing.clone(),
                source,
            })?;
        tracing::info!(mountpoint = %self.mountpoint.display(), "power loss: unsynced data dropped");
        Ok(())
    }

    /// Arms (`true`) or disarms a disk error: the next `fsync`/`fdatasync` of a file or a
    /// directory on this mount fails with `EIO` and makes nothing durable (the file's unsynced
    /// writes are then forgotten, as Linux forgets dirty pages after a failed writeback).
    pub fn fail_next_sync(&self, armed: bool) {
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        model.fail_next_sync(armed);
        tracing::info!(mountpoint = %self.mountpoint.display(), armed, "disk error on the next sync");
    }

    /// How many syncs completed so far (a counter that only grows, reset by nothing).
    pub fn syncs_completed(&self) -> u64 {
        let model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        model.syncs_completed()
    }

    /// Makes every sync wait `delay` before it completes (a slow, stalling disk); zero undoes it.
    /// A power loss during the wait drops what the sync was about to make durable.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        let mut model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        model.set_sync_delay(delay);
    }

    /// How many syncs failed with an armed disk error so far.
    pub fn sync_failures(&self) -> u64 {
        let model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        model.sync_failures()
    }

    /// Unmounts the file system (the backing directory keeps the durable state).
    pub fn unmount(mut self) -> Result<(), PowerLossError> {
        self.unmount_inner()
    }

    fn unmount_inner(&mut self) -> Result<(), PowerLossError> {
        match self.session.take() {
            Some(session) => session
                .umount_and_join()
                .map_err(|source| PowerLossError::Unmount {
                    path: self.mountpoint.clone(),
                    source,
                }),
            None => Ok(()),
        }
    }
}

impl Drop for PowerLossMount {
    fn drop(&mut self) {
        if let Err(e) = self.unmount_inner() {
            tracing::warn!(error = %e, "power-loss fs unmount on drop failed");
        }
    }
}
