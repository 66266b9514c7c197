//! The run directory `store/<test>/<time>/` and what goes in it: `test.json`, `schedule.json`,
//! `history.jsonl`, `results.json`, `node-<id>.log`; plus the `store/latest` symlink. Every
//! artifact written whole goes through [`write_atomic`]: temp file in the same directory, write,
//! fsync, rename, fsync of the directory (the raft crate's own writer), so a full store leaves
//! the old file or none, never an empty or half-written one.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;

/// An artifact that could not be written; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("cannot serialize {} as JSON: {reason}", path.display())]
    Serialize { path: PathBuf, reason: String },
}

/// Replaces `path` with `bytes` atomically and durably (temp file, fsync, rename, fsync of the
/// directory). On failure `path` is left as it was and no temp file remains.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    raft::storage::write_atomic(path, bytes).map_err(|err| ArtifactError::Write {
        path: path.to_path_buf(),
        reason: match err {
            raft::storage::StorageError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        },
    })
}

/// Writes `value` as pretty JSON (and a final newline) to `path` with [`write_atomic`].
pub fn write_json_atomic<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
) -> Result<(), ArtifactError> {
    let text = serde_json::to_string_pretty(value).map_err(|err| ArtifactError::Serialize {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    write_atomic(path, (text + "\n").as_bytes())
}

/// A run's directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `store/<test>/<UTC time>/` (a numeric suffix if two runs start in the same
    /// millisecond) and points `store/latest` at it.
    pub fn create(store: &Path, test: &str) -> anyhow::Result<RunDir> {
        let stamp = utc_stamp(SystemTime::now());
        let parent = store.join(test);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating the store directory {}", parent.display()))?;
        let mut path = parent.join(&stamp);
        let mut suffix = 1;
        while let Err(err) = std::fs::create_dir(&path) {
            if err.kind() != std::io::ErrorKind::AlreadyExists || suffix > 100 {
                return Err(err).with_context(|| format!("creating {}", path.display()));
            }
            path = parent.join(format!("{stamp}-{suffix}"));
            suffix += 1;
        }
        let relative = Path::new(test).join(path.file_name().unwrap_or_default());
        let latest = store.join("latest");
        let _ = std::fs::remove_file(&latest);
        if let Err(err) = std::os::unix::fs::symlink(&relative, &latest) {
            tracing::warn!(%err, "cannot point {} at the run", latest.display());
        }
        Ok(RunDir { path })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `value` as pretty JSON to `name` in the run directory, atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), ArtifactError> {
        write_json_atomic(&self.file(name), value)
    }
}

/// `YYYYMMDDTHHMMSS.mmmZ` for a time, in UTC.
pub fn utc_stamp(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The git commit this binary was built from (recorded by `build.rs`), if it was built from a
/// git checkout.
pub fn git_commit() -> Option<String> {
    option_env!("GAUNTLET_BUILD_COMMIT").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_build_commit_is_the_checkouts_head() {
        let head = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        let Some(head) = head.ok().filter(|o| o.status.success()) else {
            eprintln!("SKIPPED: git is not available here, so nothing to compare with");
            assert_eq!(git_commit(), None);
            return;
        };
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert_eq!(git_commit().as_deref(), Some(head.as_str()));
        assert_eq!(head.len(), 40);
    }

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        write_json_atomic(
            &path,
            &serde_json::json!({"verdict": "invalid", "n": [1, 2]}),
        )
        .unwrap();
        write_json_atomic(&path, &serde_json::json!({"verdict": "valid"})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\n  \"verdict\": \"valid\"\n}\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("results.json")]);
    }

    #[test]
    fn a_failed_atomic_write_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("test.json");
        let err = write_atomic(&path, b"{}").unwrap_err();
        assert!(matches!(err, ArtifactError::Write { .. }));
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot write {}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("No such file or directory"), "{message}");
    }

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_000_000_123);
        assert_eq!(utc_stamp(t), "20261118T110640.123Z");
    }
}
