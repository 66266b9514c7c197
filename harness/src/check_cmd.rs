//! `gauntlet check FILE`: read a history in any known format, check it is well-formed, pick the
//! model, run the linearizability check, and print the verdict as text or JSON.
//!
//! Exits with an [`ExitVerdict`]: 0 linearizable (`valid`), 1 not linearizable (`violation`),
//! 2 unknown, 3 unusable input (`harness-failure`: no verdict could be reached). Every way the
//! input can be unusable (unreadable file, unknown format, syntax error, ill-formed history,
//! unknown or unguessable model, bad bound) ends in exit code 3 with a message naming the file and,
//! where there is one, the line.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use checker::error::InputError;
use checker::formats::{self, ParsedHistory};
use checker::history::Operation;
use checker::model::{describe_operation, describe_value};
use checker::wellformed;
use checker::{check_operations, CheckOptions, CheckReport, ModelKind};
use serde_json::json;

use crate::cli::CheckArgs;
use crate::model_fit;
use crate::verdict::ExitVerdict;

/// The exit code for input the checker cannot use (no verdict: [`ExitVerdict::HarnessFailure`]).
pub const EXIT_UNUSABLE_INPUT: u8 = ExitVerdict::HarnessFailure.exit_code();

/// A history ready to check: parsed, paired, with its model chosen.
pub struct PreparedCheck {
    pub parsed: ParsedHistory,
    pub operations: Vec<Operation>,
    pub model: ModelKind,
    pub options: CheckOptions,
    /// Time spent reading, parsing and pairing the history, in milliseconds.
    pub read_ms: f64,
}

/// Runs `gauntlet check` and returns the process exit code. Output goes to stdout (the result) and
/// stderr (why the input is unusable).
pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let file = source_name(args);
    let prepared = match prepare(args) {
        Ok(prepared) => prepared,
        Err(err) => {
            if args.json {
                let output = json!({
                    "file": file,
                    "exit_code": EXIT_UNUSABLE_INPUT,
                    "verdict": { "kind": "unusable-input" },
                    "error": err.to_string(),
                });
                print_result(&output.to_string())?;
            }
            eprintln!("gauntlet check: {err}");
            return Ok(EXIT_UNUSABLE_INPUT);
        }
    };
    let report = check_operations(&prepared.operations, prepared.model, &prepared.options);
    let exit_code = ExitVerdict::of_check(&report.verdict).exit_code();
    let text = if args.json {
        render_json(&file, &prepared, &report, exit_code)?
    } else {
        render_text(&file, &prepared, &report)
    };
    print_result(&text)?;
    Ok(exit_code)
}

/// How the history's source is named in messages and output.
fn source_name(args: &CheckArgs) -> String {
    if args.file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        args.file.display().to_string()
    }
}

/// Writes the result to stdout; a reader that stopped early (`| head`) is not an error.
fn print_result(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the result to standard output"),
    }
}

/// Reads, parses and pairs the history and chooses the model and bounds. Any error means the
/// input is unusable.
pub fn prepare(args: &CheckArgs) -> anyhow::Result<PreparedCheck> {
    let started = Instant::now();
    let file = source_name(args);
    let parsed = if args.file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading the history from standard input")?;
        formats::load_bytes(&bytes, args.format, &file)
    } else {
        formats::load_file(&args.file, args.format)
    }
    .map_err(InputError::from)?;
    let operations =
        wellformed::pair(&parsed.history).map_err(|source| InputError::WellFormed {
            file: file.clone(),
            source,
        })?;
    let model = choose_model(args, &parsed, &file)?;
    if let Some(err) = model_fit::first_unreadable(&operations, model) {
        bail!(
            "{file}:{}: {err}; is this the right model? (--model register|cas-register|kv|list-append|set)",
            err.line
        );
    }
    let options = options(args)?;
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(PreparedCheck {
        parsed,
        operations,
        model,
        options,
        read_ms,
    })
}

fn choose_model(args: &CheckArgs, parsed: &ParsedHistory, file: &str) -> anyhow::Result<ModelKind> {
    if let Some(model) = args.model {
        return Ok(model);
    }
    if let Some(named) = parsed.header.as_ref().and_then(|h| h.model.as_deref()) {
        return named.parse::<ModelKind>().map_err(|err| {
            anyhow!("{file}:1: the header names a model this checker does not know: {err}")
        });
    }
    match parsed.default_model {
        Some(name) => name
            .parse::<ModelKind>()
            .map_err(|err| anyhow!("{file}: {err}")),
        None => bail!(
            "{file}: cannot tell which model to check this {} history with from the functions it \
             uses; pass --model register|cas-register|kv|list-append|set",
            parsed.format
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
        prepared.parsed.format,
        prepared.parsed.history.events.len(),
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

fn render_json(
    file: &str,
    prepared: &PreparedCheck,
    report: &CheckReport,
    exit_code: u8,
) -> anyhow::Result<String> {
    let output = json!({
        "file": file,
        "format": prepared.parsed.format.name(),
        "model": prepared.model.name(),
        "events": prepared.parsed.history.events.len(),
        "operations": prepared.operations.len(),
        "read_ms": prepared.read_ms,
        "exit_code": exit_code,
        "verdict": report.verdict,
        "report": report,
    });
    serde_json::to_string(&output).context("serializing the report")
}
