//! The `paired_history` fuzz target: the fast path of `gauntlet check`
//! ([`crate::formats::read_paired`]) must read exactly what the general path (reading the events
//! with [`crate::formats::load_bytes`], then [`crate::wellformed::pair_owned`]) reads: whenever it
//! reads a history, the general path reads it too, into the same operations, event count, header
//! and implied model (so every check of the two gives the same verdict).

use crate::formats::{self, Format, PairedHistory};
use crate::wellformed;

/// Feeds `data` to the fast path in every format (and detected) and compares it with the general
/// path. Panics when they disagree.
pub fn paired_history(data: &[u8]) {
    for format in [None].into_iter().chain(Format::ALL.map(Some)) {
        paired_paths_agree(data, format);
    }
}

/// The fast path's reading of `data` in `format`, after asserting that the general path reads the
/// same; `None` when the fast path leaves `data` to the general path.
pub fn paired_paths_agree(data: &[u8], format: Option<Format>) -> Option<PairedHistory> {
    let fast = formats::read_paired(data, format)?;
    let parsed = match formats::load_bytes(data, format, "fuzz-input") {
        Ok(parsed) => parsed,
        Err(err) => panic!("the fast path reads a history the general path refuses: {err}"),
    };
    let events = parsed.history.events.len();
    let (header, default_model) = (parsed.header, parsed.default_model);
    let operations = match wellformed::pair_owned(parsed.history) {
        Ok(operations) => operations,
        Err(err) => panic!("the fast path pairs a history the general path refuses: {err}"),
    };
    let general = PairedHistory {
        format: parsed.format,
        header,
        events,
        operations,
        default_model,
    };
    assert_eq!(fast, general, "the fast and the general path disagree");
    Some(fast)
}
