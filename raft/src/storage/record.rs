//! The on-disk record frame of the WAL and the pure recovery of one segment's bytes.
//!
//! A record is `len: u32 LE | crc: u32 LE | payload` where `payload` is `len` bytes of postcard and
//! `crc` is CRC32C over the 4 length bytes followed by the payload. [`recover_segment_bytes`] decides,
//! without touching the file system, what a segment holds: the good records, a torn tail that may
//! be cut off (only in the last segment, and only when no valid record follows it), or corruption.
//! It never panics, whatever the input, so it doubles as a fuzz target.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::StorageError;
use super::tail_scan::{judge_tail, TailScanReport, TailVerdict};

/// Bytes of the frame header: length then checksum.
pub const RECORD_HEADER_BYTES: usize = 8;

/// What is wrong with the bytes at one offset of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordFault {
    /// Fewer than 8 bytes remain, so not even the header is complete.
    TruncatedHeader {
        /// Bytes left in the segment.
        available: usize,
    },
    /// The length field is larger than the configured maximum record size.
    LengthOverLimit {
        /// The stored length.
        len: u32,
        /// The configured limit.
        max: u32,
    },
    /// The length field points past the end of the segment.
    LengthPastEnd {
        /// The stored length.
        len: u32,
        /// Payload bytes actually left.
        available: usize,
    },
    /// The checksum does not match the length and payload.
    ChecksumMismatch {
        /// Checksum stored in the header.
        stored: u32,
        /// Checksum computed over what is there.
        computed: u32,
    },
}

impl fmt::Display for RecordFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordFault::TruncatedHeader { available } => {
                write!(f, "record header cut short ({available} of 8 bytes)")
            }
            RecordFault::LengthOverLimit { len, max } => {
                write!(f, "record length {len} exceeds the limit of {max}")
            }
            RecordFault::LengthPastEnd { len, available } => write!(
                f,
                "record length {len} runs past the end of the segment ({available} bytes left)"
            ),
            RecordFault::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// Why a segment cannot be recovered. The offset travels with the error that carries it
/// ([`SegmentCorruption`] or [`StorageError::CorruptSegment`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// A bad record in a segment that is not the last one: those were all synced before the
    /// next segment was created, so damage there is never a torn write.
    #[error("{fault} in a segment that is not the last one (older segments are always complete)")]
    BadRecordInSealedSegment {
        /// What is wrong.
        fault: RecordFault,
    },
    /// A bad record with a valid record after it: a torn write only ever damages the very end.
    #[error("{fault}, but a valid record follows at offset {next_valid_offset}")]
    BadRecordBeforeValidData {
        /// What is wrong.
        fault: RecordFault,
        /// Where the later valid record starts.
        next_valid_offset: u64,
    },
    /// A bad record followed by data that the search for valid records could not finish within
    /// its work budget ([`super::tail_scan::tail_scan_budget`]): refused rather than risk dropping good records.
    #[error("{fault}, and the {scanned_to}-byte search for valid records after it was cut short")]
    TailNotVerified {
        /// What is wrong.
        fault: RecordFault,
        /// Offset where the search stopped.
        scanned_to: u64,
    },
    /// The checksum is right but the payload is not a record of the expected type
    /// (a format or version mismatch, never a torn write).
    #[error("record passes its checksum but does not decode: {reason}")]
    Undecodable {
        /// The decoder's complaint.
        reason: String,
    },
}

/// A segment that cannot be recovered: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte offset {offset}: {error}")]
pub struct SegmentCorruption {
    /// Byte offset of the bad record.
    pub offset: u64,
    /// What is wrong.
    pub error: SegmentError,
}

/// A torn tail that recovery cut off the last segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn record starts (= the new length of the segment).
    pub offset: u64,
    /// How many bytes were dropped.
    pub dropped_bytes: u64,
    /// Whether the dropped bytes are all zero (a pre-allocated or zero-filled tail).
    pub all_zero: bool,
    /// What was wrong with the first dropped record.
    pub fault: RecordFault,
}

/// The outcome of recovering one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredSegment<R> {
    /// The good records, in order.
    pub records: Vec<R>,
    /// Bytes of the segment that hold good records (the segment is cut to this length).
    pub valid_len: u64,
    /// The torn tail that was cut off, if any.
    pub torn_tail: Option<TornTail>,
}

/// One frame as found at an offset.
enum Frame<'a> {
    Good { payload: &'a [u8], end: usize },
    Bad(RecordFault),
}

fn read_u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// CRC32C over the length field followed by the payload.
pub(crate) fn frame_checksum(len_bytes: [u8; 4], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len_bytes), payload)
}

fn parse_frame(bytes: &[u8], offset: usize, max_record_bytes: u32) -> Frame<'_> {
    let available = bytes.len().saturating_sub(offset);
    let (Some(len), Some(stored)) = (read_u32_le(bytes, offset), read_u32_le(bytes, offset + 4))
    else {
        return Frame::Bad(RecordFault::TruncatedHeader { available });
    };
    if len > max_record_bytes {
        return Frame::Bad(RecordFault::LengthOverLimit {
            len,
            max: max_record_bytes,
        });
    }
    let start = offset + RECORD_HEADER_BYTES;
    let payload_available = available - RECORD_HEADER_BYTES;
    let Some(payload) = usize::try_from(len)
        .ok()
        .and_then(|l| bytes.get(start..start.checked_add(l)?))
    else {
        return Frame::Bad(RecordFault::LengthPastEnd {
            len,
            available: payload_available,
        });
    };
    let computed = frame_checksum(len.to_le_bytes(), payload);
    if computed != stored {
        return Frame::Bad(RecordFault::ChecksumMismatch { stored, computed });
    }
    Frame::Good {
        payload,
        end: start + payload.len(),
    }
}

/// Decodes a payload that must be exactly one `R` (trailing bytes are an error).
fn decode_payload<R: DeserializeOwned>(payload: &[u8]) -> Result<R, String> {
    match postcard::take_from_bytes::<R>(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} trailing bytes after the record", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// Recovers the records of one segment from its raw bytes.
///
/// * `is_last`: whether this is the newest segment, the only one that may end in a torn write.
/// * A bad record with nothing valid after it in the last segment is a torn tail: the records
///   before it are returned and `torn_tail` says what was cut.
/// * Any other bad record is corruption, reported with its offset.
///
/// Pure and total: never panics, allocates no more than the input justifies, and the search after
/// a bad record does work linear in the bytes after it (see [`super::tail_scan`]), bounded by
/// [`super::tail_scan::tail_scan_budget`].
pub fn recover_segment_bytes<R: DeserializeOwned>(
    bytes: &[u8],
    is_last: bool,
    max_record_bytes: u32,
) -> Result<RecoveredSegment<R>, SegmentCorruption> {
    recover_segment_bytes_with_work(bytes, is_last, max_record_bytes, None).0
}

/// [`recover_segment_bytes`], also returning the work done by the search after a bad record (all
/// zero if there was none), and with an optional override of that search's work budget.
pub fn recover_segment_bytes_with_work<R: DeserializeOwned>(
    bytes: &[u8],
    is_last: bool,
    max_record_bytes: u32,
    scan_budget: Option<u64>,
) -> (
    Result<RecoveredSegment<R>, SegmentCorruption>,
    TailScanReport,
) {
    let mut work = TailScanReport::default();
    let result = recover_with_budget(bytes, is_last, max_record_bytes, scan_budget, &mut work);
    (result, work)
}

fn recover_with_budget<R: DeserializeOwned>(
    bytes: &[u8],
    is_last: bool,
    max_record_bytes: u32,
    scan_budget: Option<u64>,
    scan_work: &mut TailScanReport,
) -> Result<RecoveredSegment<R>, SegmentCorruption> {
    let mut records = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        match parse_frame(bytes, offset, max_record_bytes) {
            Frame::Good { payload, end } => {
                let record = decode_payload(payload).map_err(|reason| SegmentCorruption {
                    offset: offset as u64,
                    error: SegmentError::Undecodable { reason },
                })?;
                records.push(record);
                offset = end;
            }
            Frame::Bad(fault) => {
                let corruption = |error| SegmentCorruption {
                    offset: offset as u64,
                    error,
                };
                if !is_last {
                    return Err(corruption(SegmentError::BadRecordInSealedSegment { fault }));
                }
                let (verdict, work) =
                    judge_tail(bytes, offset, &fault, max_record_bytes, scan_budget);
                *scan_work = work;
                tracing::debug!(
                    offset,
                    offsets = work.offsets_examined,
                    candidates = work.checksum_candidates,
                    checksummed_bytes = work.checksummed_bytes,
                    "searched for valid records after a bad one"
                );
                match verdict {
                    TailVerdict::ValidDataAt(next) => {
                        return Err(corruption(SegmentError::BadRecordBeforeValidData {
                            fault,
                            next_valid_offset: next as u64,
                        }))
                    }
                    TailVerdict::NotVerified(at) => {
                        return Err(corruption(SegmentError::TailNotVerified {
                            fault,
                            scanned_to: at as u64,
                        }))
                    }
                    TailVerdict::Torn => {}
                }
                let tail = &bytes[offset..];
                return Ok(RecoveredSegment {
                    records,
                    valid_len: offset as u64,
                    torn_tail: Some(TornTail {
                        offset: offset as u64,
                        dropped_bytes: tail.len() as u64,
                        all_zero: tail.iter().all(|&b| b == 0),
                        fault,
                    }),
                });
            }
        }
    }
    Ok(RecoveredSegment {
        records,
        valid_len: offset as u64,
        torn_tail: None,
    })
}

/// Appends one framed record to `buf`. On error `buf` is left as it was.
pub(crate) fn encode_record_into<Q: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    record: &Q,
    max_record_bytes: u32,
) -> Result<(), StorageError> {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; RECORD_HEADER_BYTES]);
    if let Err(e) = postcard::to_io(record, &mut *buf) {
        buf.truncate(start);
        return Err(StorageError::Encode(e));
    }
    let payload_len = buf.len() - start - RECORD_HEADER_BYTES;
    let len = match u32::try_from(payload_len) {
        Ok(len) if len <= max_record_bytes => len,
        _ => {
            buf.truncate(start);
            return Err(StorageError::RecordTooLarge {
                len: payload_len,
                max: max_record_bytes,
            });
        }
    };
    let len_bytes = len.to_le_bytes();
    let crc = frame_checksum(len_bytes, &buf[start + RECORD_HEADER_BYTES..]);
    buf[start..start + 4].copy_from_slice(&len_bytes);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_all(values: &[u64]) -> Vec<u8> {
        let mut buf = Vec::new();
        for v in values {
            encode_record_into(&mut buf, v, 1024).unwrap();
        }
        buf
    }

    #[test]
    fn round_trip_of_clean_segment() {
        let bytes = encode_all(&[1, 2, 300, u64::MAX]);
        let rec = recover_segment_bytes::<u64>(&bytes, false, 1024).unwrap();
        assert_eq!(rec.records, vec![1, 2, 300, u64::MAX]);
        assert_eq!(rec.valid_len, bytes.len() as u64);
        assert_eq!(rec.torn_tail, None);
    }

    #[test]
    fn zero_filled_tail_is_torn_and_reported_as_zero() {
        let mut bytes = encode_all(&[7, 8]);
        let good = bytes.len();
        bytes.extend_from_slice(&[0u8; 100]);
        let rec = recover_segment_bytes::<u64>(&bytes, true, 1024).unwrap();
        assert_eq!(rec.records, vec![7, 8]);
        let torn = rec.torn_tail.unwrap();
        assert_eq!(torn.offset, good as u64);
        assert!(torn.all_zero);
    }

    #[test]
    fn zero_filled_tail_in_sealed_segment_is_corruption() {
        let mut bytes = encode_all(&[7]);
        bytes.extend_from_slice(&[0u8; 10]);
        let err = recover_segment_bytes::<u64>(&bytes, false, 1024).unwrap_err();
        assert!(matches!(
            err.error,
            SegmentError::BadRecordInSealedSegment { .. }
        ));
    }

    #[test]
    fn a_tail_too_costly_to_verify_is_refused_not_cut() {
        let mut bytes = encode_all(&[1]);
        let bad = bytes.len();
        // Every 4th offset reads as a 16-byte record with a wrong checksum.
        for _ in 0..250 {
            bytes.extend_from_slice(&[16, 0, 0, 0]);
        }
        let cheap = recover_segment_bytes_with_work::<u64>(&bytes, true, 1024, None)
            .0
            .unwrap();
        assert_eq!(cheap.valid_len, bad as u64);
        let err = recover_segment_bytes_with_work::<u64>(&bytes, true, 1024, Some(200))
            .0
            .unwrap_err();
        assert_eq!(err.offset, bad as u64);
        assert!(matches!(err.error, SegmentError::TailNotVerified { .. }));
    }

    #[test]
    fn oversized_record_is_refused_and_buffer_untouched() {
        let mut buf = vec![1, 2, 3];
        let err = encode_record_into(&mut buf, &vec![0u8; 100], 50).unwrap_err();
        assert!(matches!(err, StorageError::RecordTooLarge { max: 50, .. }));
        assert_eq!(buf, vec![1, 2, 3]);
    }

    #[test]
    fn valid_checksum_but_wrong_type_is_undecodable() {
        // A u64 of 300 is two varint bytes; decoding them as a bool fails.
        let bytes = encode_all(&[300]);
        let err = recover_segment_bytes::<bool>(&bytes, true, 1024).unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(matches!(err.error, SegmentError::Undecodable { .. }));
    }

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
    fn four_mib_garbage_tail_is_cut_with_linear_search_work() {
        let mut bytes = encode_all(&[1, 2, 3]);
        let good = bytes.len();
        let garbage = 4usize << 20;
        bytes.extend(pseudo_random_bytes(garbage, 0xC0FFEE));
        let (result, work) = recover_segment_bytes_with_work::<u64>(&bytes, true, 16 << 20, None);
        let rec = result.unwrap();
        assert_eq!(rec.records, vec![1, 2, 3]);
        assert_eq!(rec.valid_len, good as u64);
        assert!(work.offsets_examined <= garbage as u64, "{work:?}");
        assert!(work.checksum_candidates > 0, "{work:?}");
        // The quadratic-per-offset search checksummed gigabytes here.
        assert!(
            work.checksummed_bytes <= 3 * garbage as u64,
            "search work not linear: {work:?}"
        );
    }

    #[test]
    fn bad_record_then_good_record_after_its_announced_end_is_corruption() {
        let mut bytes = encode_all(&[1, 2, 3]);
        let first_end = encode_all(&[1]).len();
        bytes[first_end + 4] ^= 0xFF; // checksum of the second record
        let err = recover_segment_bytes::<u64>(&bytes, true, 1024).unwrap_err();
        assert_eq!(err.offset, first_end as u64);
        assert!(matches!(
            err.error,
            SegmentError::BadRecordBeforeValidData { .. }
        ));
    }

    #[test]
    fn a_length_grown_past_the_end_still_reveals_the_records_after_it() {
        let mut bytes = encode_all(&[1, 2, 3, 4]);
        let first_end = encode_all(&[1]).len();
        bytes[first_end + 2] = 0x01; // length of record 2 becomes 65536 + its own
        let err = recover_segment_bytes::<u64>(&bytes, true, 1 << 20).unwrap_err();
        assert_eq!(err.offset, first_end as u64);
        assert!(matches!(
            err.error,
            SegmentError::BadRecordBeforeValidData { next_valid_offset, .. }
                if next_valid_offset > first_end as u64
        ));
    }

    #[test]
    fn a_frame_embedded_in_a_torn_payload_does_not_count() {
        let mut bytes = Vec::new();
        encode_record_into(&mut bytes, &vec![1u8, 2], 1024).unwrap();
        let good = bytes.len();
        // A byte-string record whose payload holds a complete valid frame and more bytes.
        let mut value = encode_all(&[99]);
        value.extend_from_slice(&[0xAB; 40]);
        encode_record_into(&mut bytes, &value, 1024).unwrap();
        // Torn in two ways: cut short, and complete but with a damaged last byte.
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 3);
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        for damaged in [cut, flipped] {
            let rec = recover_segment_bytes::<Vec<u8>>(&damaged, true, 1024).unwrap();
            assert_eq!(rec.records, vec![vec![1u8, 2]]);
            assert_eq!(rec.valid_len, good as u64);
            assert!(rec.torn_tail.is_some());
        }
    }
}
