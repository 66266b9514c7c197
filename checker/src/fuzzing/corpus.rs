//! Replays a cargo-fuzz target's checked-in corpus (`fuzz/corpus/<target>/`) through the target's
//! library body, so `cargo test` in every crate exercises its fuzz targets without cargo-fuzz.
//! Inputs listed in `fuzz/known-crashes.tsv` (`target<TAB>file<TAB>reason`) must still fail until
//! their bug is fixed; every other input must pass.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

/// Why a corpus replay did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fuzz input {path} fails (rerun: cargo fuzz run {target} {path})")]
    InputFails { target: String, path: PathBuf },
    #[error(
        "{path} is listed in fuzz/known-crashes.tsv ({reason}) but passes now: remove it from the list"
    )]
    KnownCrashPasses { path: PathBuf, reason: String },
}

/// `(file name, reason)` of the inputs of `target` listed as known crashes in `list` (the text
/// of `known-crashes.tsv`; `#` starts a comment line).
pub fn known_crashes(list: &str, target: &str) -> Vec<(String, String)> {
    list.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (t, file, reason) = (fields.next()?, fields.next()?, fields.next()?);
            (t == target).then(|| (file.to_string(), reason.to_string()))
        })
        .collect()
}

/// Runs `body` over every file of `fuzz_dir/corpus/<target>/` in name order; returns how many
/// inputs passed (known crashes excluded). A panic of `body` is a failing input.
pub fn replay_corpus(fuzz_dir: &Path, target: &str, body: fn(&[u8])) -> Result<usize, CorpusError> {
    let crash_list = fuzz_dir.join("known-crashes.tsv");
    let list = match fs::read_to_string(&crash_list) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(CorpusError::Io {
                path: crash_list,
                source,
            })
        }
    };
    let known = known_crashes(&list, target);
    let dir = fuzz_dir.join("corpus").join(target);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CorpusError::Io { path, source }
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir).map_err(io(&dir))? {
        files.push(entry.map_err(io(&dir))?.path());
    }
    files.sort();
    let mut passed = 0;
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = fs::read(&path).map_err(io(&path))?;
        let failed = panic::catch_unwind(|| body(&bytes)).is_err();
        match (known.iter().find(|(file, _)| *file == name), failed) {
            (Some(_), true) => {}
            (Some((_, reason)), false) => {
                return Err(CorpusError::KnownCrashPasses {
                    path,
                    reason: reason.clone(),
                })
            }
            (None, true) => {
                return Err(CorpusError::InputFails {
                    target: target.to_string(),
                    path,
                })
            }
            (None, false) => passed += 1,
        }
    }
    Ok(passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails_on_x(data: &[u8]) {
        assert!(!data.contains(&b'x'), "planted failure");
    }

    #[test]
    fn a_failing_input_and_a_fixed_known_crash_are_both_reported() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus/t");
        fs::create_dir_all(&corpus).unwrap();
        fs::write(corpus.join("a"), b"fine").unwrap();
        fs::write(corpus.join("b"), b"xx").unwrap();
        assert!(matches!(
            replay_corpus(dir.path(), "t", fails_on_x),
            Err(CorpusError::InputFails { .. })
        ));
        fs::write(
            dir.path().join("known-crashes.tsv"),
            "# list\nt\tb\tplanted\n",
        )
        .unwrap();
        assert_eq!(replay_corpus(dir.path(), "t", fails_on_x).unwrap(), 1);
        fs::write(corpus.join("b"), b"good").unwrap();
        assert!(matches!(
            replay_corpus(dir.path(), "t", fails_on_x),
            Err(CorpusError::KnownCrashPasses { .. })
        ));
    }
}
