//! The identity of a data directory: which node of which cluster it belongs to, in a small
//! checksummed file (`IDENTITY`, a value file of [`super::atomic_file`]) written atomically when
//! the directory is first used. A node opened on another node's or another cluster's directory
//! refuses to start instead of recovering someone else's term, vote and log.
//!
//! A directory written before identity files existed (state but no `IDENTITY`) is adopted: the
//! file is written with the identity of the node opening it, and the caller logs that it did.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic_file::{read_value_in, write_value_in};
use super::dir::{create_dir_durable, LOCK_FILE_NAME};
use super::error::StorageError;
use super::fs::Fs;

/// Name of the identity file inside a data directory.
pub const IDENTITY_FILE_NAME: &str = "IDENTITY";
/// Version of the data directory's layout, recorded in the identity file.
pub const DATA_DIR_FORMAT_VERSION: u32 = 1;

/// What the identity file records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataDirIdentity {
    /// [`DATA_DIR_FORMAT_VERSION`] of the build that created the directory.
    pub format_version: u32,
    pub node_id: u64,
    pub cluster_id: u64,
}

/// How [`claim_data_dir`] found the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The identity file names this node of this cluster.
    Matched,
    /// A new (missing or empty) directory: the identity file was written.
    Created,
    /// A directory with state but no identity file (written before identity files existed): the
    /// file was written with this node's identity.
    Adopted,
}

/// Checks that `dir` belongs to node `node_id` of cluster `cluster_id`, creating the directory
/// and its identity file when they are missing. A mismatch is [`StorageError::WrongDataDir`]
/// naming both identities; a directory of a newer format is [`StorageError::NewerDataDir`].
pub fn claim_data_dir<F: Fs>(
    fs: &F,
    dir: &Path,
    node_id: u64,
    cluster_id: u64,
) -> Result<Claim, StorageError> {
    create_dir_durable(fs, dir)?;
    let path = identity_path(dir);
    if let Some(found) = read_value_in::<F, DataDirIdentity>(fs, &path)? {
        if found.format_version > DATA_DIR_FORMAT_VERSION {
            return Err(StorageError::NewerDataDir {
                dir: dir.to_path_buf(),
                found: found.format_version,
                known: DATA_DIR_FORMAT_VERSION,
            });
        }
        if (found.node_id, found.cluster_id) != (node_id, cluster_id) {
            return Err(StorageError::WrongDataDir {
                dir: dir.to_path_buf(),
                found_node: found.node_id,
                found_cluster: found.cluster_id,
                node: node_id,
                cluster: cluster_id,
            });
        }
        return Ok(Claim::Matched);
    }
    let has_state = fs
        .list_dir(dir)
        .map_err(|e| StorageError::io("listing", dir, e))?
        .iter()
        .any(|name| {
            let name = name.to_string_lossy();
            !name.starts_with('.') && name != LOCK_FILE_NAME
        });
    let identity = DataDirIdentity {
        format_version: DATA_DIR_FORMAT_VERSION,
        node_id,
        cluster_id,
    };
    write_value_in(fs, &path, &identity)?;
    Ok(if has_state {
        Claim::Adopted
    } else {
        Claim::Created
    })
}

/// Where the identity file of `dir` is.
pub fn identity_path(dir: &Path) -> PathBuf {
    dir.join(IDENTITY_FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StdFs;

    #[test]
    fn a_new_directory_is_created_with_its_identity_and_matches_afterwards() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("node-1");
        create_dir_durable(&StdFs, &dir).unwrap();
        let _lock = crate::storage::DirLock::acquire(&dir).unwrap();
        assert_eq!(claim_data_dir(&StdFs, &dir, 1, 7).unwrap(), Claim::Created);
        assert_eq!(claim_data_dir(&StdFs, &dir, 1, 7).unwrap(), Claim::Matched);
    }

    #[test]
    fn another_node_id_or_cluster_id_is_refused_naming_both() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("node-1");
        claim_data_dir(&StdFs, &dir, 1, 7).unwrap();
        for (node, cluster) in [(2, 7), (1, 99), (2, 99)] {
            let err = claim_data_dir(&StdFs, &dir, node, cluster).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(
                    err,
                    StorageError::WrongDataDir {
                        found_node: 1,
                        found_cluster: 7,
                        ..
                    }
                ),
                "{text}"
            );
            assert!(
                text.contains("belongs to node 1 of cluster 7")
                    && text.contains(&format!("not node {node} of cluster {cluster}")),
                "{text}"
            );
        }
        // The refusals changed nothing.
        assert_eq!(claim_data_dir(&StdFs, &dir, 1, 7).unwrap(), Claim::Matched);
    }

    #[test]
    fn an_old_directory_with_state_is_adopted() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("wal")).unwrap();
        assert_eq!(
            claim_data_dir(&StdFs, root.path(), 3, 1).unwrap(),
            Claim::Adopted
        );
        assert!(claim_data_dir(&StdFs, root.path(), 4, 1).is_err());
    }

    #[test]
    fn a_newer_format_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let newer = DataDirIdentity {
            format_version: DATA_DIR_FORMAT_VERSION + 1,
            node_id: 1,
            cluster_id: 1,
        };
        write_value_in(&StdFs, &identity_path(root.path()), &newer).unwrap();
        let err = claim_data_dir(&StdFs, root.path(), 1, 1).unwrap_err();
        assert!(matches!(err, StorageError::NewerDataDir { .. }), "{err}");
    }
}
