//! `gauntlet check FILE...`: read each history in any known format within the read limits, check
//! it is well-formed, pick the model, run the linearizability check, and print the verdict as
//! text or JSON. A plain, well-formed history is read straight into operations
//! ([`formats::read_paired`]); anything else by the general reader and pairing, which give the
//! same operations or word the error. One file prints its full report; several files (or a
//! directory) print one line per file and a summary (with `--json`, one object per file, one a
//! line).
//!
//! With `--html OUT` (one history only), also writes the history's timeline page
//! ([`crate::report`]): operations, nemesis fault windows and the counterexample.
//!
//! Exits with an [`ExitVerdict`]: 0 linearizable (`valid`), 1 not linearizable (`violation`),
//! 2 unknown, 3 unusable input (`harness-failure`: no verdict could be reached); for several
//! files, the worst of theirs. Every way the input can be unusable (unreadable file, over the size
//! or line limit, unknown format, syntax error, ill-formed history, unknown or unguessable model,
//! bad bound) ends in exit code 3 with a message naming the file and, where there is one, the line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use checker::error::InputError;
use checker::formats::{self, Format, ParsedHistory, ReadLimits};
use checker::history::{History, Operation};
use checker::model::{describe_operation, describe_value};
use checker::wellformed;
use checker::{check_operations, CheckOptions, CheckReport, ModelKind, Verdict};
use serde_json::json;

use crate::cli::CheckArgs;
use crate::model_fit;
use crate::verdict::ExitVerdict;

/// The exit code for input the checker cannot use (no verdict: [`ExitVerdict::HarnessFailure`]).
pub const EXIT_UNUSABLE_INPUT: u8 = ExitVerdict::HarnessFailure.exit_code();

/// Where one history comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    /// How the source is named in messages and output.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::File(path) => path.display().to_string(),
        }
    }
}

/// A history ready to check: parsed, paired, with its model chosen.
pub struct PreparedCheck {
    pub format: Format,
    /// Events in the file (nemesis events and failed operations included).
    pub events: usize,
    pub operations: Vec<Operation>,
    pub model: ModelKind,
    pub options: CheckOptions,
    /// Time spent reading, parsing and pairing the history, in milliseconds.
    pub read_ms: f64,
    /// The events (and a native file's text), kept for the timeline page when `--html` asks.
    pub page_source: Option<PageSource>,
}

/// What the timeline page is drawn from besides the paired operations.
pub struct PageSource {
    pub history: History,
    /// The text of a native (JSON Lines) history, for its optional fields.
    pub raw_native: Option<String>,
}

/// What became of one history: checked (with the time the check took), or unusable.
enum Outcome {
    Checked {
        prepared: Box<PreparedCheck>,
        report: Box<CheckReport>,
        check_ms: f64,
    },
    Unusable(anyhow::Error),
}

impl Outcome {
    fn exit(&self) -> ExitVerdict {
        match self {
            Outcome::Checked { report, .. } => ExitVerdict::of_check(&report.verdict),
            Outcome::Unusable(_) => ExitVerdict::HarnessFailure,
        }
    }
}

/// Runs `gauntlet check` and returns the process exit code. Output goes to stdout (the result) and
/// stderr (why an input is unusable).
pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let limits = read_limits(args)?;
    let options = options(args)?;
    let single = match args.files.as_slice() {
        [only] => only.as_os_str() == "-" || !only.is_dir(),
        _ => false,
    };
    let sources = expand_sources(&args.files)?;
    if args.html.is_some() && !(single && sources.len() == 1) {
        bail!(
            "--html draws the timeline of one history: give one file, not {} (check the others without --html)",
            if sources.len() > 1 {
                format!("{} files", sources.len())
            } else {
                "a directory".to_string()
            }
        );
    }
    if single {
        let source = &sources[0];
        let outcome = check_one(source, args, &limits, &options);
        print_result(&render_full(&source.name(), &outcome, args)?)?;
        let mut code = outcome.exit().exit_code();
        if let (
            Some(out),
            Outcome::Checked {
                prepared, report, ..
            },
        ) = (&args.html, &outcome)
        {
            if let Err(err) = write_page(&source.name(), prepared, report, out) {
                eprintln!("gauntlet check: cannot write the timeline page: {err}");
                code = EXIT_UNUSABLE_INPUT;
            }
        }
        // The process ends now: freeing every operation one by one would only delay the exit
        // (a few percent of the whole run on a large history); the OS takes the memory back.
        std::mem::forget(outcome);
        return Ok(code);
    }
    let mut exits = Vec::with_capacity(sources.len());
    let mut counts = [0usize; 4];
    for source in &sources {
        let outcome = check_one(source, args, &limits, &options);
        let exit = outcome.exit();
        exits.push(exit);
        counts[usize::from(exit.exit_code())] += 1;
        let line = if args.json {
            render_json(&source.name(), &outcome)?
        } else {
            render_line(&source.name(), &outcome)
        };
        print_result(&line)?;
    }
    let worst = ExitVerdict::worst(exits);
    if !args.json {
        print_result(&format!(
            "{} files: {} linearizable, {} not linearizable, {} unknown, {} unusable input (exit {})",
            sources.len(),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            worst.exit_code()
        ))?;
    }
    Ok(worst.exit_code())
}

/// The histories the arguments name: files as given, `-` as standard input, and every file under a
/// directory (recursively, in name order, skipping names that start with a dot).
pub fn expand_sources(args: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            sources.push(Source::Stdin);
        } else if arg.is_dir() {
            let before = sources.len();
            files_under(arg, &mut sources)?;
            if sources.len() == before {
                bail!(
                    "{}: expected history files in this directory, found none",
                    arg.display()
                );
            }
        } else {
            sources.push(Source::File(arg.clone()));
        }
    }
    Ok(sources)
}

fn files_under(dir: &Path, sources: &mut Vec<Source>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list the directory", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| !name.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, sources)?;
        } else {
            sources.push(Source::File(path));
        }
    }
    Ok(())
}

/// Reads, prepares and checks one history.
fn check_one(
    source: &Source,
    args: &CheckArgs,
    limits: &ReadLimits,
    options: &CheckOptions,
) -> Outcome {
    match prepare(source, args, limits, options) {
        Ok(prepared) => {
            let started = Instant::now();
            let report = check_operations(&prepared.operations, prepared.model, &prepared.options);
            let check_ms = started.elapsed().as_secs_f64() * 1000.0;
            // A model that cannot read an operation ends the check "unknown" before any search;
            // the input is then unusable with this model (exit code 3), not undecided.
            if matches!(report.verdict, Verdict::Unknown { .. }) {
                if let Some(err) = model_fit::first_unreadable(&prepared.operations, prepared.model)
                {
                    return Outcome::Unusable(anyhow!(
                        "{}:{}: {err}; is this the right model? (--model register|cas-register|kv|list-append|set)",
                        source.name(),
                        err.line
                    ));
                }
            }
            Outcome::Checked {
                prepared: Box::new(prepared),
                report: Box::new(report),
                check_ms,
            }
        }
        Err(err) => Outcome::Unusable(err),
    }
}

/// The full output for one file: the report as text or one JSON object. An unusable input also
/// says why on stderr.
fn render_full(file: &str, outcome: &Outcome, args: &CheckArgs) -> anyhow::Result<String> {
    if let Outcome::Unusable(err) = outcome {
        eprintln!("gauntlet check: {err}");
        if !args.json {
            return Ok(String::new());
        }
    }
    match outcome {
        Outcome::Checked {
            prepared, report, ..
        } if !args.json => Ok(render_text(file, prepared, report)),
        _ => render_json(file, outcome),
    }
}

/// One line for one file of several.
fn render_line(file: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Unusable(err) => {
            eprintln!("gauntlet check: {err}");
            format!("{file}: unusable input ({err})")
        }
        Outcome::Checked {
            prepared,
            report,
            check_ms,
        } => {
            let verdict = match &report.verdict {
                Verdict::Linearizable => "linearizable".to_string(),
                Verdict::NotLinearizable => "NOT linearizable".to_string(),
                Verdict::Unknown { reason } => format!("unknown ({reason})"),
            };
            format!(
                "{file}: {verdict} ({} history, {} operations, model {}, read {:.1} ms, check {:.1} ms)",
                prepared.format,
                prepared.operations.len(),
                prepared.model.name(),
                prepared.read_ms,
                check_ms
            )
        }
    }
}

/// Writes the result to stdout; a reader that stopped early (`| head`) is not an error.
fn print_result(text: &str) -> anyhow::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the result to standard output"),
    }
}

/// Writes the timeline page of a checked history to `out` and says where on stderr.
fn write_page(
    file: &str,
    prepared: &PreparedCheck,
    report: &CheckReport,
    out: &Path,
) -> anyhow::Result<()> {
    let source = prepared
        .page_source
        .as_ref()
        .context("the history's events were not kept for the page")?;
    let title = format!(
        "{file} ({} history, model {})",
        prepared.format,
        prepared.model.name()
    );
    let data = crate::report::report_from_history(
        &title,
        &source.history,
        source.raw_native.as_deref(),
        &prepared.operations,
        Some(report),
    );
    crate::report::timeline::write_timeline(&data, out)?;
    eprintln!("timeline: {}", out.display());
    Ok(())
}

/// Reads, parses and pairs one history and chooses its model. Any error means the input is
/// unusable.
pub fn prepare(
    source: &Source,
    args: &CheckArgs,
    limits: &ReadLimits,
    options: &CheckOptions,
) -> anyhow::Result<PreparedCheck> {
    let started = Instant::now();
    let file = source.name();
    if args.html.is_some() {
        return prepare_for_page(source, args, limits, options);
    }
    let bytes = match source {
        Source::Stdin => {
            formats::read_bounded(std::io::stdin().lock(), &file, limits, args.format, None)
        }
        Source::File(path) => formats::read_file_within(path, args.format, limits),
    }
    .map_err(InputError::from)?;
    // The fast path reads plain, well-formed histories straight into operations; anything else
    // (and every error) is read again by the general path below, which gives the same operations.
    if let Some(paired) = formats::read_paired(&bytes, args.format) {
        let model = choose_model(
            args,
            paired.header.as_ref(),
            paired.default_model,
            paired.format,
            &file,
        )?;
        return Ok(PreparedCheck {
            format: paired.format,
            events: paired.events,
            operations: paired.operations,
            model,
            options: options.clone(),
            read_ms: started.elapsed().as_secs_f64() * 1000.0,
            page_source: None,
        });
    }
    let parsed = formats::load_bytes(&bytes, args.format, &file).map_err(InputError::from)?;
    drop(bytes);
    // The model is chosen before pairing (which takes the events) and reported after it, so a
    // history that is not well-formed says so first.
    let model = choose_model_for(args, &parsed, &file);
    let (format, events) = (parsed.format, parsed.history.events.len());
    let operations =
        wellformed::pair_owned(parsed.history).map_err(|source| InputError::WellFormed {
            file: file.clone(),
            source,
        })?;
    let model = model?;
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(PreparedCheck {
        format,
        events,
        operations,
        model,
        options: options.clone(),
        read_ms,
        page_source: None,
    })
}

/// [`prepare`] for `--html`: the file's text and events are kept (pairing copies them).
fn prepare_for_page(
    source: &Source,
    args: &CheckArgs,
    limits: &ReadLimits,
    options: &CheckOptions,
) -> anyhow::Result<PreparedCheck> {
    let started = Instant::now();
    let file = source.name();
    let bytes = match source {
        Source::Stdin => {
            formats::read_bounded(std::io::stdin().lock(), &file, limits, args.format, None)
        }
        Source::File(path) => formats::read_file_within(path, args.format, limits),
    }
    .map_err(InputError::from)?;
    let parsed = formats::load_bytes(&bytes, args.format, &file).map_err(InputError::from)?;
    let model = choose_model_for(args, &parsed, &file);
    let (format, events) = (parsed.format, parsed.history.events.len());
    let operations =
        wellformed::pair(&parsed.history).map_err(|source| InputError::WellFormed {
            file: file.clone(),
            source,
        })?;
    let model = model?;
    let raw_native =
        (format == Format::Jsonl).then(|| String::from_utf8_lossy(&bytes).into_owned());
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(PreparedCheck {
        format,
        events,
        operations,
        model,
        options: options.clone(),
        read_ms,
        page_source: Some(PageSource {
            history: parsed.history,
            raw_native,
        }),
    })
}

/// The read limits the flags ask for.
fn read_limits(args: &CheckArgs) -> anyhow::Result<ReadLimits> {
    if args.max_input_mb == Some(0) || args.max_line_mb == 0 {
        bail!("--max-input-mb and --max-line-mb must be at least 1");
    }
    let defaults = ReadLimits::default();
    let named = args.max_input_mb.map(|mb| mb.saturating_mul(1 << 20));
    Ok(ReadLimits {
        max_bytes: named.unwrap_or(defaults.max_bytes),
        max_stream_bytes: named.unwrap_or(defaults.max_stream_bytes),
        max_line_bytes: args.max_line_mb.saturating_mul(1 << 20),
    })
}

fn choose_model_for(
    args: &CheckArgs,
    parsed: &ParsedHistory,
    file: &str,
) -> anyhow::Result<ModelKind> {
    choose_model(
        args,
        parsed.header.as_ref(),
        parsed.default_model,
        parsed.format,
        file,
    )
}

/// The model `--model` names, else the header's, else the one the file implies.
fn choose_model(
    args: &CheckArgs,
    header: Option<&formats::Header>,
    default_model: Option<&'static str>,
    format: Format,
    file: &str,
) -> anyhow::Result<ModelKind> {
    if let Some(model) = args.model {
        return Ok(model);
    }
    if let Some(named) = header.and_then(|h| h.model.as_deref()) {
        return named.parse::<ModelKind>().map_err(|err| {
            anyhow!("{file}:1: the header names a model this checker does not know: {err}")
        });
    }
    match default_model {
        Some(name) => name
            .parse::<ModelKind>()
            .map_err(|err| anyhow!("{file}: {err}")),
        None => bail!(
            "{file}: cannot tell which model to check this {} history with from the functions it \
             uses; pass --model register|cas-register|kv|list-append|set",
            format
        ),
    }
}

fn options(args: &CheckArgs) -> anyhow::Result<CheckOptions> {
    let mut options = CheckOptions {
        witness: args.witness,
        ..CheckOptions::default()
    };
    if let Some(secs) = args.timeout {
        if !secs.is_finite() || secs <= 0.0 {
            bail!("--timeout must be a positive number of seconds, found {secs}");
        }
        options.timeout = Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    if let Some(mb) = args.memory_mb {
        if mb == 0 {
            bail!("--memory-mb must be at least 1");
        }
        options.memory_budget_bytes = mb.saturating_mul(1 << 20);
    }
    Ok(options)
}

fn render_text(file: &str, prepared: &PreparedCheck, report: &CheckReport) -> String {
    let mut text = format!(
        "{file}: {} history, {} events, {} operations, model {} (read in {:.1} ms)\n{}",
        prepared.format,
        prepared.events,
        prepared.operations.len(),
        prepared.model.name(),
        prepared.read_ms,
        report.render_text(&prepared.operations).trim_end()
    );
    if prepared.options.witness {
        text.push_str(&render_witnesses(prepared, report));
    }
    text
}

/// Each linearizable partition's witness order, one operation a line.
fn render_witnesses(prepared: &PreparedCheck, report: &CheckReport) -> String {
    let mut text = String::new();
    for partition in &report.partitions {
        let Some(witness) = &partition.witness else {
            continue;
        };
        let key = partition
            .key
            .as_ref()
            .map_or("(no key)".to_string(), describe_value);
        text.push_str(&format!("\nwitness linearization for partition {key}:"));
        for id in witness {
            match prepared.operations.get(*id).filter(|op| op.id == *id) {
                Some(op) => text.push_str(&format!(
                    "\n  {} [line {}]",
                    describe_operation(op),
                    op.call_line
                )),
                None => text.push_str(&format!("\n  op {id}")),
            }
        }
    }
    text
}

fn render_json(file: &str, outcome: &Outcome) -> anyhow::Result<String> {
    let exit_code = outcome.exit().exit_code();
    let output = match outcome {
        Outcome::Unusable(err) => json!({
            "file": file,
            "exit_code": exit_code,
            "verdict": { "kind": "unusable-input" },
            "error": err.to_string(),
        }),
        Outcome::Checked {
            prepared,
            report,
            check_ms,
        } => json!({
            "file": file,
            "format": prepared.format.name(),
            "model": prepared.model.name(),
            "events": prepared.events,
            "operations": prepared.operations.len(),
            "read_ms": prepared.read_ms,
            "check_ms": check_ms,
            "exit_code": exit_code,
            "verdict": report.verdict,
            "report": report,
        }),
    };
    serde_json::to_string(&output).context("serializing the report")
}
