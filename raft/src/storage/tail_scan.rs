//! The search, after a bad record in the last segment, for any checksum-valid frame later in the
//! segment: what tells a torn tail (nothing valid follows) from corruption (something does).
//!
//! Every offset is a candidate whose announced length is read once; impossible lengths (zero,
//! over the record limit, past the end) are rejected before any checksum work. The checksum of a
//! surviving candidate is not recomputed over its payload: CRC32C is linear, so the CRC of any
//! byte range follows from the CRCs of two prefixes of the tail and a "shift through `n` zero
//! bytes" operator. The prefixes are kept every [`CHECKPOINT_BYTES`] bytes, so one candidate costs
//! at most two short partial CRCs plus one table-driven shift, and the whole search is linear in
//! the tail length (one CRC pass for the checkpoints, a bounded amount per offset), whatever
//! lengths the bytes announce. A work budget, linear in the tail length, is still enforced.

use std::collections::HashMap;

use super::record::{RecordFault, RECORD_HEADER_BYTES};

/// Spacing of the stored prefix CRCs (memory: 4 bytes per this many tail bytes).
pub const CHECKPOINT_BYTES: usize = 64;

/// Fixed work allowance of one search, in checksummed bytes, on top of the per-byte allowance.
pub const TAIL_SCAN_BASE_BUDGET: u64 = 1 << 20;
/// Work allowance per byte of tail: one byte for the checkpoint pass plus at most two partial
/// CRCs of under [`CHECKPOINT_BYTES`] bytes each for a candidate at that offset.
pub const TAIL_SCAN_BUDGET_PER_BYTE: u64 = 1 + 2 * CHECKPOINT_BYTES as u64;

/// The CRC32C polynomial, bit-reflected.
const CRC32C_POLY_REFLECTED: u32 = 0x82F6_3B78;

/// What the search found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TailScanOutcome {
    /// A checksum-valid frame starts at this offset.
    Found(usize),
    /// Nothing valid up to the end.
    #[default]
    Nothing,
    /// The work budget ran out at this offset before the end was reached.
    GaveUp(usize),
}

/// The outcome of one search and the work it did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TailScanReport {
    /// What was found.
    pub outcome: TailScanOutcome,
    /// Offsets whose header was read.
    pub offsets_examined: u64,
    /// Offsets whose announced length was plausible, so their checksum was evaluated.
    pub checksum_candidates: u64,
    /// Bytes fed to CRC32C (checkpoint pass plus partial CRCs).
    pub checksummed_bytes: u64,
}

/// Work budget, in checksummed bytes, for a search over `tail_len` bytes: enough for the linear
/// algorithm on any input, so it only trips if the algorithm is broken.
pub fn tail_scan_budget(tail_len: usize) -> u64 {
    TAIL_SCAN_BASE_BUDGET.saturating_add(TAIL_SCAN_BUDGET_PER_BYTE.saturating_mul(tail_len as u64))
}

impl TailScanReport {
    /// Adds the work counters of `other` (the outcome is left as it is).
    fn add_work(&mut self, other: &TailScanReport) {
        self.offsets_examined += other.offsets_examined;
        self.checksum_candidates += other.checksum_candidates;
        self.checksummed_bytes += other.checksummed_bytes;
    }
}

/// What the bytes after a bad record in the last segment mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailVerdict {
    /// Nothing that counts as data follows: the bad record and the rest are a torn tail.
    Torn,
    /// A valid record that counts as data starts here: corruption.
    ValidDataAt(usize),
    /// The search ran out of budget at this offset.
    NotVerified(usize),
}

/// Decides whether the bad record at `offset` (with `fault`) is a torn tail or corruption.
///
/// * If the bad record announces a plausible length (non-zero and within the limit: the fault is
///   a checksum mismatch or a payload running past the end), any valid frame starting at or
///   after its announced end is data after it: corruption.
/// * A valid frame starting inside the announced payload may be one a client embedded in the
///   value of a torn record, so it counts only if it heads a chain of consecutive valid frames
///   ending exactly at the end of the segment or at an all-zero tail: what real records after a
///   record whose length field was damaged look like. A torn write cuts a payload at a point the
///   embedded frames do not choose, so such a chain there is unlikely (not impossible).
/// * With an implausible length nothing is known about where the record ends, so any valid frame
///   after `offset` counts.
///
/// Returns the verdict and the total work of the searches.
pub fn judge_tail(
    bytes: &[u8],
    offset: usize,
    fault: &RecordFault,
    max_record_bytes: u32,
    budget: Option<u64>,
) -> (TailVerdict, TailScanReport) {
    let budget_for =
        |from: usize| budget.unwrap_or_else(|| tail_scan_budget(bytes.len().saturating_sub(from)));
    let plausible = matches!(
        fault,
        RecordFault::ChecksumMismatch { .. } | RecordFault::LengthPastEnd { .. }
    );
    let announced_end = read_u32_le(bytes, offset)
        .and_then(|len| usize::try_from(len).ok())
        .filter(|&len| plausible && len > 0)
        .map(|len| {
            offset
                .saturating_add(RECORD_HEADER_BYTES)
                .saturating_add(len)
        });
    let next = offset.saturating_add(1);
    let after = scan_for_valid_frame(
        bytes,
        announced_end.unwrap_or(next),
        max_record_bytes,
        budget_for(announced_end.unwrap_or(next)),
    );
    let mut work = after;
    match after.outcome {
        TailScanOutcome::Found(at) => return (TailVerdict::ValidDataAt(at), work),
        TailScanOutcome::GaveUp(at) => return (TailVerdict::NotVerified(at), work),
        TailScanOutcome::Nothing => {}
    }
    let Some(announced_end) = announced_end else {
        return (TailVerdict::Torn, work);
    };
    // Nothing valid starts at or after the announced end. Collect the frames inside it.
    let mut inside: Vec<(usize, usize)> = Vec::new();
    let inside_scan = scan_valid_frames(
        bytes,
        next,
        announced_end,
        max_record_bytes,
        budget_for(next),
        |start, end| {
            inside.push((start, end));
            false
        },
    );
    work.add_work(&inside_scan);
    if let TailScanOutcome::GaveUp(at) = inside_scan.outcome {
        return (TailVerdict::NotVerified(at), work);
    }
    let zero_tail_from = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    // A frame's chain ends cleanly if it ends at the end, at the zero tail, or where another
    // frame with a clean chain starts. Ends only grow along a chain, so go from the back.
    let mut clean: HashMap<usize, bool> = HashMap::with_capacity(inside.len());
    let mut first_clean = None;
    for &(start, end) in inside.iter().rev() {
        let is_clean = end >= zero_tail_from || clean.get(&end).copied().unwrap_or(false);
        clean.insert(start, is_clean);
        if is_clean {
            first_clean = Some(start);
        }
    }
    match first_clean {
        Some(at) => (TailVerdict::ValidDataAt(at), work),
        None => (TailVerdict::Torn, work),
    }
}

/// A 32x32 matrix over GF(2) acting on a reflected CRC register: `rows[i]` is the image of bit i.
type Gf2Matrix = [u32; 32];

fn gf2_apply(matrix: &Gf2Matrix, mut vector: u32) -> u32 {
    let mut out = 0;
    let mut bit = 0;
    while vector != 0 {
        if vector & 1 == 1 {
            out ^= matrix[bit];
        }
        vector >>= 1;
        bit += 1;
    }
    out
}

fn gf2_compose_square(matrix: &Gf2Matrix) -> Gf2Matrix {
    let mut out = [0u32; 32];
    for (slot, row) in out.iter_mut().zip(matrix.iter()) {
        *slot = gf2_apply(matrix, *row);
    }
    out
}

/// Shifts a CRC32C value through runs of zero bytes: `shift(crc(A), n) ^ crc(B) == crc(A ++ B)`
/// for `n = B.len()`. One 4x256 lookup table per power of two of `n`.
struct ZeroShifter {
    tables: Vec<[[u32; 256]; 4]>,
}

impl ZeroShifter {
    fn new(max_len: usize) -> Self {
        // One zero bit: shift right, folding the polynomial in when bit 0 falls off.
        let mut one_bit = [0u32; 32];
        one_bit[0] = CRC32C_POLY_REFLECTED;
        for (i, row) in one_bit.iter_mut().enumerate().skip(1) {
            *row = 1 << (i - 1);
        }
        let two_bits = gf2_compose_square(&one_bit);
        let four_bits = gf2_compose_square(&two_bits);
        let mut power = gf2_compose_square(&four_bits); // one zero byte
        let mut tables = Vec::new();
        let mut covered = 1usize;
        loop {
            let mut table = [[0u32; 256]; 4];
            for (lane, lane_table) in table.iter_mut().enumerate() {
                for (value, slot) in lane_table.iter_mut().enumerate() {
                    *slot = gf2_apply(&power, (value as u32) << (8 * lane));
                }
            }
            tables.push(table);
            if covered > max_len / 2 || covered >= usize::MAX / 2 {
                break;
            }
            covered *= 2;
            power = gf2_compose_square(&power);
        }
        ZeroShifter { tables }
    }

    /// `crc` shifted through `n` zero bytes; `n` must be below twice the `max_len` given to `new`.
    fn shift(&self, mut crc: u32, n: usize) -> u32 {
        for (k, table) in self.tables.iter().enumerate() {
            if (n >> k) & 1 == 1 {
                let [b0, b1, b2, b3] = crc.to_le_bytes();
                crc = table[0][usize::from(b0)]
                    ^ table[1][usize::from(b1)]
                    ^ table[2][usize::from(b2)]
                    ^ table[3][usize::from(b3)];
            }
        }
        crc
    }
}

/// CRC32C of every prefix of `bytes` whose length is a multiple of [`CHECKPOINT_BYTES`].
struct PrefixCrcs<'a> {
    bytes: &'a [u8],
    checkpoints: Vec<u32>,
}

impl<'a> PrefixCrcs<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mut checkpoints = Vec::with_capacity(bytes.len() / CHECKPOINT_BYTES + 1);
        let mut crc = 0u32;
        checkpoints.push(crc);
        for chunk in bytes.chunks_exact(CHECKPOINT_BYTES) {
            crc = crc32c::crc32c_append(crc, chunk);
            checkpoints.push(crc);
        }
        PrefixCrcs { bytes, checkpoints }
    }

    /// CRC32C of `bytes[..end]`, and how many bytes had to be checksummed to get it.
    fn crc_of_prefix(&self, end: usize) -> (u32, u64) {
        let index = end / CHECKPOINT_BYTES;
        let from = index * CHECKPOINT_BYTES;
        let base = self.checkpoints.get(index).copied().unwrap_or(0);
        let rest = self.bytes.get(from..end).unwrap_or(&[]);
        (crc32c::crc32c_append(base, rest), rest.len() as u64)
    }
}

fn read_u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Looks for a checksum-valid frame starting at any offset in `from..` of `bytes`, doing at most
/// `budget` bytes of checksum work. Stops at the first one found.
pub fn scan_for_valid_frame(
    bytes: &[u8],
    from: usize,
    max_record_bytes: u32,
    budget: u64,
) -> TailScanReport {
    scan_valid_frames(bytes, from, usize::MAX, max_record_bytes, budget, |_, _| {
        true
    })
}

/// Calls `on_frame(start, end)` for every checksum-valid frame starting in `from..until` (its
/// payload may run up to the end of `bytes`), in increasing order of `start`, until `on_frame`
/// returns `true` (stop) or the budget of checksum work runs out. The outcome names the first
/// frame found.
pub fn scan_valid_frames(
    bytes: &[u8],
    from: usize,
    until: usize,
    max_record_bytes: u32,
    budget: u64,
    mut on_frame: impl FnMut(usize, usize) -> bool,
) -> TailScanReport {
    let mut report = TailScanReport {
        outcome: TailScanOutcome::Nothing,
        offsets_examined: 0,
        checksum_candidates: 0,
        checksummed_bytes: 0,
    };
    let Some(last_start) = bytes.len().checked_sub(RECORD_HEADER_BYTES) else {
        return report;
    };
    let Some(last_start) = until.checked_sub(1).map(|u| u.min(last_start)) else {
        return report;
    };
    if from > last_start {
        return report;
    }
    let tail = &bytes[from..];
    let prefixes = PrefixCrcs::new(tail);
    report.checksummed_bytes = (prefixes.checkpoints.len() as u64 - 1) * CHECKPOINT_BYTES as u64;
    let shifter = ZeroShifter::new(tail.len());
    for at in 0..=(last_start - from) {
        report.offsets_examined += 1;
        let (Some(len), Some(stored)) = (read_u32_le(tail, at), read_u32_le(tail, at + 4)) else {
            break;
        };
        let payload_start = at + RECORD_HEADER_BYTES;
        let plausible_len = usize::try_from(len)
            .ok()
            .filter(|&l| l > 0 && len <= max_record_bytes && l <= tail.len() - payload_start);
        let Some(len_usize) = plausible_len else {
            continue;
        };
        report.checksum_candidates += 1;
        let (crc_before, cost_before) = prefixes.crc_of_prefix(payload_start);
        let (crc_after, cost_after) = prefixes.crc_of_prefix(payload_start + len_usize);
        report.checksummed_bytes += cost_before + cost_after + 4;
        if report.checksummed_bytes > budget {
            report.outcome = TailScanOutcome::GaveUp(from + at);
            return report;
        }
        // crc(len ++ payload) = shift(crc(len), L) ^ crc(payload), and
        // crc(payload) = crc(prefix to payload end) ^ shift(crc(prefix to payload start), L).
        let crc_of_len = crc32c::crc32c(&len.to_le_bytes());
        let computed = shifter.shift(crc_of_len ^ crc_before, len_usize) ^ crc_after;
        if computed == stored {
            if report.outcome == TailScanOutcome::Nothing {
                report.outcome = TailScanOutcome::Found(from + at);
            }
            if on_frame(from + at, from + payload_start + len_usize) {
                return report;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record::{encode_record_into, frame_checksum};

    fn pseudo_random_bytes(len: usize, mut state: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn zero_shift_matches_the_crate_combine() {
        let shifter = ZeroShifter::new(1 << 20);
        for (crc, n) in [
            (0xDEAD_BEEF, 1),
            (1, 7),
            (0x1234_5678, 1000),
            (u32::MAX, 999_999),
        ] {
            assert_eq!(shifter.shift(crc, n), crc32c::crc32c_combine(crc, 0, n));
        }
    }

    #[test]
    fn range_checksum_matches_direct_checksum() {
        let bytes = pseudo_random_bytes(5000, 42);
        let prefixes = PrefixCrcs::new(&bytes);
        let shifter = ZeroShifter::new(bytes.len());
        for (start, len) in [(0, 1), (3, 64), (64, 128), (100, 4000), (7, 4993)] {
            let len_bytes = (len as u32).to_le_bytes();
            let direct = frame_checksum(len_bytes, &bytes[start..start + len]);
            let (before, _) = prefixes.crc_of_prefix(start);
            let (after, _) = prefixes.crc_of_prefix(start + len);
            let derived = shifter.shift(crc32c::crc32c(&len_bytes) ^ before, len) ^ after;
            assert_eq!(derived, direct, "range {start}+{len}");
        }
    }

    #[test]
    fn a_frame_hidden_in_garbage_is_found_at_its_offset() {
        let mut bytes = pseudo_random_bytes(10_000, 7);
        let mut frame = Vec::new();
        encode_record_into(&mut frame, &vec![9u8; 3000], 1 << 20).unwrap();
        bytes.splice(4321..4321 + frame.len(), frame.iter().copied());
        let report = scan_for_valid_frame(&bytes, 1, 1 << 20, tail_scan_budget(bytes.len()));
        assert_eq!(report.outcome, TailScanOutcome::Found(4321));
    }

    #[test]
    fn four_mib_of_garbage_is_scanned_with_linear_work() {
        let tail = 4usize << 20;
        let bytes = pseudo_random_bytes(tail, 0x5EED);
        // The realistic limit, larger than the tail: every in-bounds length is plausible.
        let report = scan_for_valid_frame(&bytes, 0, 16 << 20, tail_scan_budget(tail));
        assert_eq!(report.outcome, TailScanOutcome::Nothing);
        assert_eq!(
            report.offsets_examined,
            (tail - RECORD_HEADER_BYTES + 1) as u64
        );
        assert!(report.checksum_candidates > 0, "{report:?}");
        // The old per-candidate payload checksumming did gigabytes here; this is a few passes.
        assert!(
            report.checksummed_bytes <= 3 * tail as u64,
            "checksum work not linear: {report:?}"
        );
    }

    #[test]
    fn a_tail_where_every_fourth_offset_is_plausible_stays_linear() {
        let tail = 1usize << 20;
        let bytes: Vec<u8> = [200u8, 0, 0, 0]
            .iter()
            .copied()
            .cycle()
            .take(tail)
            .collect();
        let report = scan_for_valid_frame(&bytes, 0, 1024, tail_scan_budget(tail));
        assert_eq!(report.outcome, TailScanOutcome::Nothing);
        assert!(
            report.checksum_candidates >= (tail / 4 - 64) as u64,
            "{report:?}"
        );
        assert!(
            report.checksummed_bytes <= tail_scan_budget(tail),
            "{report:?}"
        );
    }

    #[test]
    fn a_tiny_budget_gives_up() {
        let bytes: Vec<u8> = [16u8, 0, 0, 0].iter().copied().cycle().take(1000).collect();
        let report = scan_for_valid_frame(&bytes, 0, 1024, 10);
        assert!(matches!(report.outcome, TailScanOutcome::GaveUp(_)));
    }
}
