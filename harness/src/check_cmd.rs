//! `gauntlet check FILE`: read a history in any known format, check it is well-formed, pick the
//! model, run the linearizability check, and print the verdict as text or JSON.
//!
//! Exit codes: 0 linearizable, 1 not linearizable, 2 unknown, 3 unusable input. Every way the
//! input can be unusable (unreadable file, unknown format, syntax error, ill-formed history,
//! unknown or unguessable model, bad bound) ends in exit code 3 with a message naming the file and,
//! where there is one, the line.

use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use checker::error::InputError;
use checker::formats::{self, ParsedHistory};
use checker::history::Operation;
use checker::wellformed;
use checker::{check_operations, CheckOptions, CheckReport, ModelKind};
use serde_json::json;

use crate::cli::CheckArgs;

/// The exit code for input the checker cannot use.
pub const EXIT_UNUSABLE_INPUT: u8 = 3;

/// A history ready to check: parsed, paired, with its model chosen.
pub struct PreparedCheck {
    pub parsed: ParsedHistory,
    pub operations: Vec<Operation>,
    pub model: ModelKind,
    pub options: CheckOptions,
}

/// Runs `gauntlet check` and returns the process exit code. Output goes to stdout (the result) and
/// stderr (why the input is unusable).
pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let file = args.file.display().to_string();
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
                println!("{output}");
            }
            eprintln!("gauntlet check: {err}");
            return Ok(EXIT_UNUSABLE_INPUT);
        }
    };
    let report = check_operations(&prepared.operations, prepared.model, &prepared.options);
    let exit_code = u8::try_from(report.verdict.exit_code()).unwrap_or(EXIT_UNUSABLE_INPUT);
    let text = if args.json {
        render_json(&file, &prepared, &report, exit_code)?
    } else {
        render_text(&file, &prepared, &report)
    };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        // A reader that stopped early (`| head`) does not change the verdict.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit_code),
        other => {
            other.context("writing the result to standard output")?;
            Ok(exit_code)
        }
    }
}

/// Reads, parses and pairs the history and chooses the model and bounds. Any error means the
/// input is unusable.
pub fn prepare(args: &CheckArgs) -> anyhow::Result<PreparedCheck> {
    let file = args.file.display().to_string();
    let parsed = formats::load_file(&args.file, args.format).map_err(InputError::from)?;
    let operations =
        wellformed::pair(&parsed.history).map_err(|source| InputError::WellFormed {
            file: file.clone(),
            source,
        })?;
    let model = choose_model(args, &parsed, &file)?;
    let options = options(args)?;
    Ok(PreparedCheck {
        parsed,
        operations,
        model,
        options,
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
    format!(
        "{file}: {} history, {} events, {} operations, model {}\n{}",
        prepared.parsed.format,
        prepared.parsed.history.events.len(),
        prepared.operations.len(),
        prepared.model.name(),
        report.render_text(&prepared.operations).trim_end()
    )
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
        "exit_code": exit_code,
        "verdict": report.verdict,
        "report": report,
    });
    serde_json::to_string(&output).context("serializing the report")
}
