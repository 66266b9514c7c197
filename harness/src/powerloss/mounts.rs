//! Whether this machine can mount the power-loss file system ([`unavailable_reason`]), and the
//! clean-up of mounts a killed harness left behind ([`unmount_stale`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The file system's name in `/proc/self/mountinfo` (`fuse.<name>` as its type).
pub const FS_NAME: &str = "gauntlet-powerloss";

/// `ENOTCONN`: what a FUSE mount whose server died answers.
const ENOTCONN: i32 = 107;

/// Why the power-loss file system cannot be mounted here (`None`: it can). It mounts through
/// `/dev/fuse` directly, which takes root.
pub fn unavailable_reason() -> Option<String> {
    if !Path::new("/dev/fuse").exists() {
        return Some("there is no /dev/fuse on this machine".to_string());
    }
    match effective_uid() {
        Some(0) => None,
        Some(uid) => Some(format!(
            "it mounts /dev/fuse directly, which needs root (this process runs as uid {uid})"
        )),
        None => Some("cannot tell whether this process runs as root".to_string()),
    }
}

/// The effective user id, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Unmounts (lazily) every power-loss mount under `under` whose server is gone (a harness killed
/// before it could unmount: its mount answers `ENOTCONN`). Mounts of a live harness are left
/// alone. Returns the mount points removed.
pub fn unmount_stale(under: &Path) -> Vec<PathBuf> {
    let Ok(under) = std::fs::canonicalize(under) else {
        return Vec::new();
    };
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for mountpoint in power_loss_mounts(&mountinfo) {
        if !mountpoint.starts_with(&under) {
            continue;
        }
        let dead =
            matches!(std::fs::metadata(&mountpoint), Err(e) if e.raw_os_error() == Some(ENOTCONN));
        if !dead {
            continue;
        }
        match Command::new("umount").arg("-l").arg(&mountpoint).status() {
            Ok(status) if status.success() => {
                tracing::warn!(mountpoint = %mountpoint.display(), "unmounted a power-loss file system a killed run left");
                removed.push(mountpoint);
            }
            Ok(status) => {
                tracing::warn!(mountpoint = %mountpoint.display(), %status, "cannot unmount a stale power-loss mount")
            }
            Err(err) => {
                tracing::warn!(mountpoint = %mountpoint.display(), %err, "cannot run umount for a stale power-loss mount")
            }
        }
    }
    removed
}

/// The mount points of every power-loss file system in a `/proc/self/mountinfo` text: type
/// `fuse.gauntlet-powerloss`, or type `fuse` with source `gauntlet-powerloss` (a mount made
/// through `/dev/fuse` directly shows no subtype).
fn power_loss_mounts(mountinfo: &str) -> Vec<PathBuf> {
    let typed = format!("fuse.{FS_NAME}");
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mut fields = after.split_whitespace();
            let fs_type = fields.next()?;
            let source = fields.next().unwrap_or_default();
            let ours = fs_type == typed || (fs_type == "fuse" && source == FS_NAME);
            let mountpoint = before.split_whitespace().nth(4)?;
            ours.then(|| PathBuf::from(unescape(mountpoint)))
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_power_loss_mounts_in_mountinfo() {
        let text = "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw\n\
                    90 29 0:52 / /tmp/run\\040a/data-1 rw,nosuid - fuse.gauntlet-powerloss gauntlet-powerloss rw\n\
                    91 29 0:53 / /tmp/other rw - fuse.sshfs host: rw\n\
                    45 27 0:40 / /tmp/run/data-2 rw,nosuid - fuse gauntlet-powerloss rw,user_id=0\n\
                    46 27 0:41 / /tmp/run/x rw,nosuid - fuse other rw,user_id=0\n";
        assert_eq!(
            power_loss_mounts(text),
            vec![
                PathBuf::from("/tmp/run a/data-1"),
                PathBuf::from("/tmp/run/data-2")
            ]
        );
    }
}
