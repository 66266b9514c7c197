//! The fast path of `gauntlet check`: a history's bytes read straight into paired
//! [`Operation`]s in one pass, each event scanned by the formats' fast scanners
//! ([`super::edn_fast`], [`super::jsonl_fast`]) and paired with its invocation as it is read, so
//! no [`crate::history::Event`] vector is built and a completion costs no `String` (its function
//! and key are compared with its invocation's in place; only a value it returns is kept).
//! Inputs from [`TWO_THREADS_FROM`] bytes are scanned on two threads, then paired in order.
//!
//! It reads only what those scanners read (one plain map or object a line, Jepsen EDN,
//! Porcupine's KV log or the native JSON Lines with an optional header line) and only well-formed
//! histories. Anything else (a line the scanners leave to the general readers, a broken pairing
//! rule, a `jepsen.independent` history whose tuples would be split, the etcd log) makes
//! [`read_paired`] return `None`, and the caller reads the bytes again with [`super::load_bytes`]
//! and [`crate::wellformed::pair_owned`], which give the same operations or word the error. So
//! the two paths agree on every input: `tests/paired_path.rs` and the `paired_history` fuzz target
//! compare them.

use super::edn_fast::fast_op;
use super::edn_op::KeyField;
use super::infer::infer_from_functions;
use super::jsonl::{read_header_line, Header};
use super::jsonl_fast::scan_event;
use super::scanned::ScannedEvent;
use super::{detect, Format};
use crate::history::{EventKind, Operation, Process};
use crate::wellformed::{normalize_output, OpenInvocations};

/// A history read and paired by the fast path, with what its file says about checking it.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedHistory {
    pub format: Format,
    /// The native format's header line, when present.
    pub header: Option<Header>,
    /// Events in the file (nemesis events and failed operations included).
    pub events: usize,
    /// The operations [`crate::wellformed::pair_owned`] would give.
    pub operations: Vec<Operation>,
    /// The model the file implies, as [`super::infer_model`] tells it.
    pub default_model: Option<&'static str>,
}

/// Reads `bytes` (a whole history, as [`super::load_bytes`] takes it) in `format` (detected when
/// `None`) straight into paired operations; `None` when the fast path does not read this input,
/// and the general path must.
pub fn read_paired(bytes: &[u8], format: Option<Format>) -> Option<PairedHistory> {
    let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(content).ok()?;
    if text.trim().is_empty() {
        return None;
    }
    let format = match format {
        Some(format) => format,
        None => detect(bytes)?,
    };
    let mut pairer = Pairer::with_lines(memchr::memchr_iter(b'\n', content).count() + 1);
    let header = match format {
        Format::Jepsen => {
            let saw_key_field = read_edn(text, KeyField::Optional, &mut pairer)?;
            // Without any `:key`, a history whose values are all `[key value]` tuples is a
            // `jepsen.independent` one, which the general reader splits: left to it.
            if !saw_key_field && pairer.saw_deciding && pairer.all_deciding_pairs {
                return None;
            }
            None
        }
        Format::PorcupineKv => {
            read_edn(text, KeyField::Required, &mut pairer)?;
            None
        }
        Format::Jsonl => read_jsonl(text, &mut pairer)?,
        Format::JepsenEtcdLog => return None,
    };
    let default_model = infer_from_functions(format, header.as_ref(), &pairer.functions);
    let events = pairer.events;
    Some(PairedHistory {
        format,
        header,
        events,
        operations: pairer.finish(),
        default_model,
    })
}

/// Inputs from this size are scanned on two threads: the head is scanned and paired on one while
/// the tail is scanned on the other, then the tail's events are paired in order. Smaller inputs
/// are read on one thread.
const TWO_THREADS_FROM: usize = 1 << 20;

/// Where the tail starts: just after the first line end from 40% of `bytes` on (the head thread
/// also pairs, so it takes the smaller share). `None` when the input is small or has no such line
/// end.
fn tail_start(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < TWO_THREADS_FROM {
        return None;
    }
    let from = bytes.len() * 2 / 5;
    memchr::memchr(b'\n', &bytes[from..]).map(|at| from + at + 1)
}

/// Scans `tail` with `scan` (given a sink for its events) on another thread while `head` runs
/// here, then pairs the tail's events in order. `None` when either fails.
fn two_threads<'a, H, T>(
    pairer: &mut Pairer<'a>,
    tail: &'a str,
    head: impl FnOnce(&mut Pairer<'a>) -> Option<H> + Send,
    scan: impl FnOnce(&mut dyn FnMut(ScannedEvent<'a>, usize) -> Option<()>) -> Option<T> + Send,
) -> Option<(H, T)>
where
    H: Send,
    T: Send,
{
    let (head_result, tail_result) = rayon::join(
        || head(pairer),
        || {
            let lines = memchr::memchr_iter(b'\n', tail.as_bytes()).count() + 1;
            let mut events = Vec::with_capacity(lines);
            let result = scan(&mut |event, line| {
                events.push((event, line));
                Some(())
            })?;
            Some((result, events))
        },
    );
    let head_result = head_result?;
    let (tail_result, events) = tail_result?;
    for (event, line) in events {
        pairer.push(event, line)?;
    }
    Some((head_result, tail_result))
}

/// Reads one plain operation map after another (blank space, commas and line ends between them),
/// pairing each; says whether any map had a `:key` entry. `None` at anything else.
///
/// A map never spans a line end on this path, so the scan passes every line end between maps and
/// the text may be split just after any of them.
fn read_edn<'a>(text: &'a str, key_field: KeyField, pairer: &mut Pairer<'a>) -> Option<bool> {
    let Some(split) = tail_start(text.as_bytes()) else {
        return scan_edn(text, 1, key_field, &mut |event, line| {
            pairer.push(event, line)
        });
    };
    let (head, tail) = text.split_at(split);
    let tail_line = memchr::memchr_iter(b'\n', head.as_bytes()).count() + 1;
    let (head_saw, tail_saw) = two_threads(
        pairer,
        tail,
        |pairer| {
            scan_edn(head, 1, key_field, &mut |event, line| {
                pairer.push(event, line)
            })
        },
        |sink| scan_edn(tail, tail_line, key_field, sink),
    )?;
    Some(head_saw || tail_saw)
}

/// [`read_edn`]'s scan of `text` (whose first line is `first_line`), each event given to `sink`.
fn scan_edn<'a>(
    text: &'a str,
    first_line: usize,
    key_field: KeyField,
    sink: &mut dyn FnMut(ScannedEvent<'a>, usize) -> Option<()>,
) -> Option<bool> {
    let bytes = text.as_bytes();
    let (mut offset, mut line) = (0, first_line);
    let mut saw_key_field = false;
    loop {
        match bytes.get(offset) {
            None => return Some(saw_key_field),
            Some(b' ' | b',' | b'\t' | b'\r') => offset += 1,
            Some(b'\n') => {
                offset += 1;
                line += 1;
            }
            Some(b'{') => {
                let line_end =
                    memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |at| offset + at);
                let op = fast_op(&text[offset..line_end], key_field)?;
                saw_key_field |= op.has_key_field;
                offset += op.consumed;
                sink(op.event, line)?;
            }
            Some(_) => return None,
        }
    }
}

/// Reads one plain event object a line, pairing each, after an optional header line; returns the
/// header. `None` at any other line.
fn read_jsonl<'a>(text: &'a str, pairer: &mut Pairer<'a>) -> Option<Option<Header>> {
    // The header can only be the first non-blank line: split only when that line is in the head.
    let split = tail_start(text.as_bytes()).filter(|&at| !text[..at].trim().is_empty());
    let Some(split) = split else {
        return scan_jsonl(text, 0, true, &mut |event, line| pairer.push(event, line));
    };
    let (head, tail) = text.split_at(split);
    let tail_number = memchr::memchr_iter(b'\n', head.as_bytes()).count();
    let (header, _) = two_threads(
        pairer,
        tail,
        |pairer| scan_jsonl(head, 0, true, &mut |event, line| pairer.push(event, line)),
        |sink| scan_jsonl(tail, tail_number, false, sink),
    )?;
    Some(header)
}

/// [`read_jsonl`]'s scan of `text` (whose first line has the 0-based number `first_number`),
/// each event given to `sink`; a header is read only when `header_allowed`.
fn scan_jsonl<'a>(
    text: &'a str,
    first_number: usize,
    header_allowed: bool,
    sink: &mut dyn FnMut(ScannedEvent<'a>, usize) -> Option<()>,
) -> Option<Option<Header>> {
    let mut header = None;
    let mut first = header_allowed;
    for (number, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match scan_event(line) {
            Some(event) => sink(event, first_number + number + 1)?,
            None if first => header = Some(read_header_line(line)?),
            None => return None,
        }
        first = false;
    }
    Some(header)
}

/// Marks an operation whose completion was `fail` (dropped at the end).
const FAILED: usize = usize::MAX;

/// Pairs events as they are read, as [`crate::wellformed::pair_owned`] does; `push` gives `None`
/// at the first broken rule (the general path words it).
struct Pairer<'a> {
    /// Events seen so far (the next event's index).
    events: usize,
    open: OpenInvocations,
    /// Operations in invocation order; a failed one has the id [`FAILED`].
    operations: Vec<Operation>,
    /// The distinct functions of client events, in order of first use.
    functions: Vec<&'a str>,
    /// Whether any client invocation or `ok` was seen, and whether all their values were
    /// two-item lists (for the `jepsen.independent` split).
    saw_deciding: bool,
    all_deciding_pairs: bool,
}

impl<'a> Pairer<'a> {
    fn with_lines(lines: usize) -> Self {
        Pairer {
            events: 0,
            open: OpenInvocations::default(),
            operations: Vec::with_capacity(lines / 2 + 1),
            functions: Vec::new(),
            saw_deciding: false,
            all_deciding_pairs: true,
        }
    }

    fn push(&mut self, event: ScannedEvent<'a>, line: usize) -> Option<()> {
        let index = self.events;
        self.events += 1;
        let Process::Client(process) = event.process else {
            return Some(());
        };
        if matches!(event.kind, EventKind::Invoke | EventKind::Ok) {
            self.saw_deciding = true;
            self.all_deciding_pairs &= event.value.is_pair();
        }
        if event.kind == EventKind::Invoke {
            if self.open.get(process).is_some() {
                return None;
            }
            if self.functions.last() != Some(&event.f) && !self.functions.contains(&event.f) {
                self.functions.push(event.f);
            }
            self.open.insert(process, self.operations.len());
            self.operations.push(Operation {
                id: 0,
                process,
                f: event.f.to_string(),
                key: event.key.map(|key| key.into_value()),
                input: event.value.into_value(),
                output: None,
                call: index,
                ret: None,
                call_line: line,
                ret_line: None,
            });
            return Some(());
        }
        let op = &mut self.operations[self.open.remove(process)?];
        if op.f != event.f {
            return None;
        }
        if let (Some(invoked), Some(completed)) = (&op.key, &event.key) {
            if !completed.equals(invoked) {
                return None;
            }
        }
        match event.kind {
            EventKind::Ok => {
                op.ret = Some(index);
                op.ret_line = Some(line);
                op.output = Some(normalize_output(&op.f, event.value.into_value()));
            }
            EventKind::Fail => op.id = FAILED,
            EventKind::Info | EventKind::Invoke => {}
        }
        Some(())
    }

    /// The operations, failed ones dropped, numbered from 0.
    fn finish(self) -> Vec<Operation> {
        let mut operations = self.operations;
        operations.retain(|op| op.id != FAILED);
        for (id, op) in operations.iter_mut().enumerate() {
            op.id = id;
        }
        operations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::load_bytes;
    use crate::wellformed::pair_owned;

    /// The general path's result in the fast path's form.
    fn general(bytes: &[u8], format: Option<Format>) -> Option<PairedHistory> {
        let parsed = load_bytes(bytes, format, "h").ok()?;
        let events = parsed.history.events.len();
        Some(PairedHistory {
            format: parsed.format,
            header: parsed.header,
            events,
            operations: pair_owned(parsed.history).ok()?,
            default_model: parsed.default_model,
        })
    }

    #[test]
    fn plain_histories_pair_as_the_general_path_pairs_them() {
        for text in [
            "{:type :invoke, :f :write, :value 3, :process 0, :time 10, :index 0}\n\
             {:type :info, :f :start, :value nil, :process :nemesis, :index 1}\n\n\
             {:type :invoke, :f :cas, :value [3 4], :process 1}, {:type :ok, :f :write, :value 3, :process 0}\n\
             {:type :ok, :f :cas, :value [3 4], :process 1}\n\
             {:type :invoke, :f :read, :value nil, :process 0}\n\
             {:type :fail, :f :read, :value nil, :process 0}\n\
             {:type :invoke, :f :read, :value nil, :process 2}\n",
            "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n\
             {:process 0, :type :ok, :f :get, :key \"1\", :value \"x\"}\n\
             {:process 1, :type :invoke, :f :put, :key \"2\", :value \"y\"}\n\
             {:process 1, :type :info, :f :put, :key \"2\", :value nil}\n",
            "{\"version\":1,\"model\":\"list-append\"}\n\
             {\"type\":\"invoke\",\"process\":0,\"f\":\"append\",\"key\":\"k\",\"value\":1}\n\
             {\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"kill\",\"value\":[\"n1\"]}\n\
             {\"type\":\"ok\",\"process\":0,\"f\":\"append\",\"key\":\"k\",\"value\":1}\n\
             {\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":\"k\"}\n\
             {\"type\":\"ok\",\"process\":0,\"f\":\"read\",\"value\":[1]}\n",
        ] {
            let fast = read_paired(text.as_bytes(), None).expect(text);
            assert_eq!(Some(&fast), general(text.as_bytes(), None).as_ref(), "{text}");
            assert!(!fast.operations.is_empty());
        }
    }

    #[test]
    fn anything_else_is_left_to_the_general_path() {
        for text in [
            // Ill-formed: a second open invocation, a completion without one, another function,
            // another key.
            "{:type :invoke, :f :read, :process 0}\n{:type :invoke, :f :read, :process 0}\n",
            "{:type :ok, :f :read, :process 0}\n",
            "{:type :invoke, :f :read, :process 0}\n{:type :ok, :f :write, :process 0}\n",
            "{:type :invoke, :f :get, :key 1, :process 0}\n{:type :ok, :f :get, :key 2, :process 0}\n",
            // Shapes the scanners leave to the general readers.
            "[{:type :invoke, :f :read, :process 0}]\n",
            "{:type :invoke, :f :read, :process 0} ; a comment\n",
            "{:type :invoke, :f :read, :value 1.5, :process 0}\n",
            "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":1.5}\n",
            "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"version\":1}\n",
            "{\"version\":2}\n",
            // A jepsen.independent history (its tuples are split by the general reader).
            "{:type :invoke, :f :write, :value [1 3], :process 0}\n{:type :ok, :f :write, :value [1 3], :process 0}\n",
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n",
            "",
            "\u{feff}  \n",
        ] {
            assert_eq!(read_paired(text.as_bytes(), None), None, "{text}");
        }
    }

    /// `unit` repeated until the text is large enough to be read on two threads.
    fn large(prefix: &str, unit: &str, suffix: &str) -> String {
        let mut text = prefix.to_string();
        while text.len() < prefix.len() + TWO_THREADS_FROM {
            text.push_str(unit);
        }
        text + suffix
    }

    #[test]
    fn large_histories_read_on_two_threads_agree_with_the_general_path() {
        let edn = "{:type :invoke, :f :write, :value 3, :process 0}\n\n\
                   {:type :invoke, :f :read, :value nil, :process 1}, \
                   {:type :ok, :f :write, :value 3, :process 0}\n\
                   {:type :info, :f :start, :value nil, :process :nemesis}\n\
                   {:type :ok, :f :read, :value 3, :process 1}\n";
        let jsonl = "{\"type\":\"invoke\",\"process\":0,\"f\":\"append\",\"key\":\"k\",\"value\":1}\n\
                     \n{\"type\":\"ok\",\"process\":0,\"f\":\"append\",\"key\":\"k\",\"value\":1}\n";
        let header = "{\"version\":1,\"model\":\"list-append\"}\n";
        let blank_head = " \n".repeat(TWO_THREADS_FROM);
        for (text, format) in [
            (large("", edn, ""), None),
            (large("", jsonl, ""), None),
            (large(header, jsonl, ""), None),
            // All blank up to the split: the header is the first line of the tail.
            (
                large(&format!("{blank_head}{header}"), jsonl, ""),
                Some(Format::Jsonl),
            ),
        ] {
            assert!(tail_start(text.as_bytes()).is_some());
            let fast = read_paired(text.as_bytes(), format).expect("read by the fast path");
            assert_eq!(Some(&fast), general(text.as_bytes(), format).as_ref());
            assert!(fast.operations.len() > 1000);
        }
        // A broken pairing or an unread line only in the tail is still left to the general path.
        for text in [
            large("", edn, "{:type :ok, :f :read, :process 7}\n"),
            large(
                "",
                edn,
                "{:type :invoke, :f :read, :value 1.5, :process 8}\n",
            ),
            large(header, jsonl, header),
        ] {
            assert_eq!(read_paired(text.as_bytes(), None), None);
        }
    }
}
