//! Small files replaced atomically: after a crash the file holds either the old or the new
//! contents, never a mix. Plus checksummed value files (postcard + CRC32C) built on top, for
//! snapshots and other state that is rewritten whole.
//!
//! Value file format: `b"GVF1" | len: u64 LE | crc32c(payload): u32 LE | payload`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::dir::{parent_dir, sync_dir};
use super::error::StorageError;
use super::fs::{Fs, FsFile, StdFs};

const VALUE_MAGIC: &[u8; 4] = b"GVF1";
const VALUE_HEADER_BYTES: usize = 16;

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp"))
}

/// Replaces `path` with `bytes` atomically and durably: write a temp file in the same directory,
/// fsync it, rename it over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    write_atomic_in(&StdFs, path, bytes)
}

/// [`write_atomic`] on the file system `fs`. A write that fails before the rename (a full disk)
/// removes its temp file, so it leaves nothing half-written behind.
pub fn write_atomic_in<F: Fs>(fs: &F, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let tmp = temp_path(path);
    let mut file = fs
        .create_truncate(&tmp)
        .map_err(|e| StorageError::io("creating temp file", &tmp, e))?;
    let written = file
        .write_all(bytes)
        .map_err(|e| StorageError::io("writing temp file", &tmp, e))
        .and_then(|()| {
            file.sync_all()
                .map_err(|e| StorageError::io("fsync of temp file", &tmp, e))
        });
    drop(file);
    let renamed = written.and_then(|()| {
        fs.rename(&tmp, path)
            .map_err(|e| StorageError::io("renaming temp file onto", path, e))
    });
    if let Err(err) = renamed {
        let _ = fs.remove_file(&tmp);
        return Err(err);
    }
    sync_dir(fs, parent_dir(path))
}

/// Encodes a value file's bytes (header + postcard payload).
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StorageError> {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(VALUE_MAGIC);
    buf.extend_from_slice(&[0u8; VALUE_HEADER_BYTES - 4]);
    postcard::to_io(value, &mut buf).map_err(StorageError::Encode)?;
    let payload_len = (buf.len() - VALUE_HEADER_BYTES) as u64;
    let crc = crc32c::crc32c(&buf[VALUE_HEADER_BYTES..]);
    buf[4..12].copy_from_slice(&payload_len.to_le_bytes());
    buf[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(buf)
}

/// Decodes a value file's bytes; `file` only names the source in errors.
pub fn decode_value<T: DeserializeOwned>(file: &Path, bytes: &[u8]) -> Result<T, StorageError> {
    let corrupt = |reason: String| StorageError::CorruptValueFile {
        file: file.to_path_buf(),
        reason,
    };
    if bytes.len() < VALUE_HEADER_BYTES {
        return Err(corrupt(format!(
            "{} bytes, shorter than the {VALUE_HEADER_BYTES}-byte header",
            bytes.len()
        )));
    }
    let (header, payload) = bytes.split_at(VALUE_HEADER_BYTES);
    if &header[0..4] != VALUE_MAGIC {
        return Err(corrupt(format!(
            "bad magic {:02x?} (expected {:02x?})",
            &header[0..4],
            VALUE_MAGIC
        )));
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&header[4..12]);
    let len = u64::from_le_bytes(len_bytes);
    if len != payload.len() as u64 {
        return Err(corrupt(format!(
            "header says {len} payload bytes but the file holds {}",
            payload.len()
        )));
    }
    let mut crc_bytes = [0u8; 4];
    crc_bytes.copy_from_slice(&header[12..16]);
    let stored = u32::from_le_bytes(crc_bytes);
    let computed = crc32c::crc32c(payload);
    if stored != computed {
        return Err(corrupt(format!(
            "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        )));
    }
    match postcard::take_from_bytes::<T>(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(corrupt(format!(
            "{} trailing bytes after the value",
            rest.len()
        ))),
        Err(e) => Err(corrupt(format!("checksum ok but does not decode: {e}"))),
    }
}

/// Atomically replaces `path` with a checksummed encoding of `value`.
pub fn write_value<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), StorageError> {
    write_value_in(&StdFs, path, value)
}

/// [`write_value`] on the file system `fs`.
pub fn write_value_in<F: Fs, T: Serialize + ?Sized>(
    fs: &F,
    path: &Path,
    value: &T,
) -> Result<(), StorageError> {
    write_atomic_in(fs, path, &encode_value(value)?)
}

/// Reads a value written by [`write_value`]; `Ok(None)` if the file does not exist, an error
/// naming the file if it exists but is damaged.
pub fn read_value<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StorageError> {
    read_value_in(&StdFs, path)
}

/// [`read_value`] on the file system `fs`.
pub fn read_value_in<F: Fs, T: DeserializeOwned>(
    fs: &F,
    path: &Path,
) -> Result<Option<T>, StorageError> {
    match fs.read(path) {
        Ok(bytes) => decode_value(path, &bytes).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("reading", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        assert_eq!(read_value::<Vec<u32>>(&path).unwrap(), None);
        write_value(&path, &vec![1u32, 2, 3]).unwrap();
        assert_eq!(read_value::<Vec<u32>>(&path).unwrap(), Some(vec![1, 2, 3]));
        write_value(&path, &vec![9u32]).unwrap();
        assert_eq!(read_value::<Vec<u32>>(&path).unwrap(), Some(vec![9]));
        assert!(!temp_path(&path).exists(), "temp file must be renamed away");
    }

    #[test]
    fn a_failed_write_leaves_neither_temp_file_nor_target() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file onto a non-empty directory fails after the temp file is written.
        let path = dir.path().join("occupied");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"x").unwrap();
        let err = write_atomic(&path, b"new contents").unwrap_err();
        assert!(err.to_string().contains("renaming temp file onto"), "{err}");
        assert!(!temp_path(&path).exists(), "the temp file must be removed");
        assert!(path.is_dir(), "the target is left as it was");
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let bytes = encode_value(&(7u64, String::from("hard state"))).unwrap();
        let file = Path::new("hs");
        for i in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[i / 8] ^= 1 << (i % 8);
            let err = decode_value::<(u64, String)>(file, &damaged).unwrap_err();
            assert!(
                matches!(&err, StorageError::CorruptValueFile { file: f, .. } if f == file),
                "bit {i}: {err}"
            );
        }
        for cut in 0..bytes.len() {
            assert!(decode_value::<(u64, String)>(file, &bytes[..cut]).is_err());
        }
    }
}
