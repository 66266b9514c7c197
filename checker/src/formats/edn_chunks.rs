//! The fast path of the EDN readers, on several threads: a large history of one plain op map a
//! line is cut into chunks at line starts, each chunk is read by [`fast_op`] on its own thread,
//! and the chunks' events are joined in order. Reading stops at the first place the fast path
//! cannot read (anything but a plain one-line map, or the end); the caller's sequential loop
//! goes on from there, so the events, their lines and every error are exactly those of the
//! sequential fast path (the tests compare them on every shipped history, whole and damaged).

use rayon::prelude::*;

use super::edn_fast::fast_op;
use super::edn_op::KeyField;
use super::jepsen::Cursor;
use crate::history::Event;

/// Histories smaller than this are read on the calling thread alone.
pub(crate) const PARALLEL_BYTES: usize = 1 << 20;

/// What the fast path read of one chunk.
struct ChunkRead {
    events: Vec<Event>,
    /// Where it stopped; lines counted from the chunk's start (0 for all but the first chunk).
    cursor: Cursor,
    /// Whether it read the whole chunk.
    whole: bool,
    saw_key_field: bool,
}

/// How many chunks a text is cut into: one below [`PARALLEL_BYTES`], else a few per thread.
pub(crate) fn chunk_count(text: &str) -> usize {
    if text.len() < PARALLEL_BYTES {
        1
    } else {
        rayon::current_num_threads() * 4
    }
}

/// Reads plain op maps from `start` on, in `chunks` chunks read in parallel, until the first place
/// the fast path cannot read. Returns the events (index set in order, line set), the cursor
/// there, and whether any map had a `:key` entry.
pub(crate) fn read_plain_prefix(
    text: &str,
    start: Cursor,
    key_field: KeyField,
    chunks: usize,
) -> (Vec<Event>, Cursor, bool) {
    let bytes = text.as_bytes();
    let mut bounds = vec![start.offset];
    for k in 1..chunks.max(1) {
        let target = (start.offset + (bytes.len() - start.offset) * k / chunks).max(bounds[k - 1]);
        let bound =
            memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |at| target + at + 1);
        bounds.push(bound);
    }
    bounds.push(bytes.len());
    bounds.dedup();
    let reads: Vec<ChunkRead> = bounds
        .par_windows(2)
        .with_max_len(1)
        .enumerate()
        .map(|(k, window)| {
            let cursor = if k == 0 {
                start
            } else {
                Cursor {
                    offset: window[0],
                    line: 0,
                    line_start: window[0],
                }
            };
            read_chunk(text, cursor, window[1], key_field)
        })
        .collect();
    let total = reads.iter().map(|read| read.events.len()).sum();
    let mut events = Vec::with_capacity(total);
    let mut saw_key_field = false;
    let mut cursor = start;
    let mut base_line = 0;
    for (k, read) in reads.into_iter().enumerate() {
        let base = if k == 0 { 0 } else { base_line };
        for mut event in read.events {
            event.index = events.len();
            event.line += base;
            events.push(event);
        }
        saw_key_field |= read.saw_key_field;
        cursor = Cursor {
            line: read.cursor.line + base,
            ..read.cursor
        };
        base_line = cursor.line;
        if !read.whole {
            break;
        }
    }
    (events, cursor, saw_key_field)
}

/// Reads plain op maps from `cursor` up to `end` (a line start, or the end of the text).
fn read_chunk(text: &str, mut cursor: Cursor, end: usize, key_field: KeyField) -> ChunkRead {
    let bytes = text.as_bytes();
    let mut events =
        Vec::with_capacity(memchr::memchr_iter(b'\n', &bytes[cursor.offset..end]).count());
    let mut saw_key_field = false;
    let whole = loop {
        // Blanks as the sequential loop skips them, but not past the chunk's end.
        while let Some(&b) = bytes[..end].get(cursor.offset) {
            match b {
                b' ' | b',' | b'\t' | b'\r' => {}
                b'\n' => {
                    cursor.line += 1;
                    cursor.line_start = cursor.offset + 1;
                }
                _ => break,
            }
            cursor.offset += 1;
        }
        if cursor.offset >= end {
            break true;
        }
        if bytes[cursor.offset] != b'{' {
            break false;
        }
        let line_end =
            memchr::memchr(b'\n', &bytes[cursor.offset..end]).map_or(end, |at| cursor.offset + at);
        let Some(op) = fast_op(&text[cursor.offset..line_end], key_field) else {
            break false;
        };
        let mut event = op.event;
        event.line = cursor.line;
        saw_key_field |= op.has_key_field;
        events.push(event);
        cursor.offset += op.consumed;
    };
    ChunkRead {
        events,
        cursor,
        whole,
        saw_key_field,
    }
}

#[cfg(test)]
mod tests {
    use super::super::jepsen::read_ops_in_chunks;
    use super::*;

    /// Plain maps, with blank lines, a comment, a map over two lines, two maps on one line and a
    /// map the fast path leaves to the general reader, at several places.
    fn history(odd_at: usize) -> String {
        let mut text = String::new();
        for i in 0..60 {
            if i == odd_at {
                text.push_str("; a comment\n{:type :ok, :f :read,\n :value 1.5, :process 1}\n");
            }
            if i % 7 == 0 {
                text.push_str("\n  \n");
            }
            text.push_str(&format!(
                "{{:type :invoke, :f :write, :key \"k{}\", :value {i}, :process {i}}} ",
                i % 3
            ));
            if i % 5 == 0 {
                text.push_str(&format!(
                    "{{:type :ok, :f :write, :value {i}, :process {i}}}"
                ));
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn chunks_read_what_one_reader_reads() {
        for odd_at in [0, 1, 30, 59, 100] {
            let text = history(odd_at);
            let whole = read_ops_in_chunks(&text, "h", KeyField::Optional, 1).unwrap();
            let general = read_ops_in_chunks(&text, "h", KeyField::Optional, 0).unwrap();
            assert_eq!(general.0, whole.0);
            for chunks in [2, 3, 5, 16, 200] {
                let chunked = read_ops_in_chunks(&text, "h", KeyField::Optional, chunks).unwrap();
                assert_eq!(chunked, whole, "odd map at {odd_at}, {chunks} chunks");
            }
        }
    }

    #[test]
    fn chunks_word_an_error_as_one_reader_does() {
        let text = format!(
            "{}{{:type :ok, :f :read, :value [1 2, :process 0}}\n",
            history(100)
        );
        let whole = read_ops_in_chunks(&text, "h", KeyField::Optional, 1).unwrap_err();
        for chunks in [2, 7] {
            let chunked = read_ops_in_chunks(&text, "h", KeyField::Optional, chunks).unwrap_err();
            assert_eq!(chunked.to_string(), whole.to_string());
        }
        assert_eq!(whole.line(), Some(text.lines().count()));
    }
}
