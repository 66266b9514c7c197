//! Bodies of the cargo-fuzz targets in `fuzz/` that concern the checker (one `pub fn` per target),
//! kept in the library so that `cargo test` runs the same code over the checked-in seed corpus
//! (`checker/tests/fuzz_corpus.rs`).
//!
//! A broken property is reported by panicking, which is what a fuzzer needs; these functions are
//! test code and are never called by a check.
//!
//! * [`parse_history`]: arbitrary bytes through every history format, pairing and a bounded check.
//! * [`paired_history`]: the fast path of `gauntlet check` (bytes straight into operations) must
//!   read what the general path reads.
//! * [`checker_vs_bruteforce`]: bytes become a small history (via `arbitrary`); the real search
//!   must agree with a brute-force reference.

mod bruteforce;
pub mod corpus;
mod generate;
mod paired;
mod parse;
pub mod seeds;

pub use bruteforce::brute_force_linearizable;
pub use generate::{generate_history, GeneratedHistory};
pub use paired::{paired_history, paired_paths_agree};
pub use parse::parse_history;

use crate::{check_operations, wellformed, CheckOptions, Verdict};

/// Builds a small history from `data`, pairs it, and demands that the linearizability search
/// and the brute-force reference give the same verdict. Panics when they disagree.
pub fn checker_vs_bruteforce(data: &[u8]) {
    let mut input = arbitrary::Unstructured::new(data);
    let Ok(generated) = generate_history(&mut input) else {
        return;
    };
    let ops = match wellformed::pair(&generated.history) {
        Ok(ops) => ops,
        Err(err) => panic!("a generated history is not well-formed: {err}"),
    };
    let options = CheckOptions {
        threads: 1,
        witness: true,
        ..CheckOptions::default()
    };
    let report = check_operations(&ops, generated.model, &options);
    let Some(expected) = brute_force_linearizable(generated.model, &ops) else {
        assert!(
            matches!(report.verdict, Verdict::Unknown { .. }),
            "the model refuses an operation, yet the search decided {:?}",
            report.verdict
        );
        return;
    };
    let found = match &report.verdict {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable => false,
        Verdict::Unknown { reason } => panic!("search gave up on a tiny history: {reason}"),
    };
    assert_eq!(
        found,
        expected,
        "model {}: the search says linearizable={found}, brute force says {expected}\n{}",
        generated.model.name(),
        report.render_text(&ops)
    );
}
