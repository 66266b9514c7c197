//! The config file of a [`super::CommandDb`] (JSON): how to start and stop a node of a system
//! gauntlet did not build, when it is ready, and how patient its clients are. Every mistake is a
//! [`ConfigError`] naming the file, the line and what was expected; nothing here panics.
//!
//! ```json
//! {
//!   "name": "tiny-kv",
//!   "nodes": 3,
//!   "start": ["python3", "{config_dir}/tiny_kv.py", "--id", "{id}", "--peers", "{peers}"],
//!   "stop": "kill -TERM {pid}",
//!   "ready": { "line": "^tiny-kv ready", "timeout_ms": 10000 },
//!   "client_timeout_ms": 2000,
//!   "env": { "PYTHONUNBUFFERED": "1" }
//! }
//! ```
//! Only `start` is required. The full reference is `docs/your-system.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use super::template::CommandTemplate;

/// How long a start waits for the ready signal unless the config says otherwise.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// A workload client's time per operation unless the config says otherwise.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_millis(2000);
/// A stop command's time to finish before it is killed.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or JSON of the wrong shape (a missing or unknown field, a wrong type).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but a value is not usable.
    #[error("{}:{line}: `{field}`: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
}

impl ConfigError {
    /// The line the error is about (1-based; 0 when the file could not be read).
    pub fn line(&self) -> usize {
        match self {
            ConfigError::Read { .. } => 0,
            ConfigError::Syntax { line, .. } | ConfigError::Invalid { line, .. } => *line,
        }
    }
}

/// When a freshly started node counts as ready.
#[derive(Clone, Debug)]
pub enum ReadySignal {
    /// Its client port accepts a TCP connection.
    ClientPortOpen,
    /// A line of its standard output matches this pattern.
    OutputLine(Regex),
}

/// A checked config.
#[derive(Clone, Debug)]
pub struct CommandConfig {
    /// The system's name, for logs and messages (`command` when not given).
    pub name: String,
    /// How many nodes (3 when not given).
    pub nodes: usize,
    pub start: CommandTemplate,
    /// Run once per running node at teardown, before SIGTERM and SIGKILL; may use `{pid}`.
    pub stop: Option<CommandTemplate>,
    pub ready: ReadySignal,
    pub ready_timeout: Duration,
    pub stop_timeout: Duration,
    /// A workload client's time per operation (patient clients take at least 5 s).
    pub client_timeout: Duration,
    /// Extra environment variables for every node.
    pub env: BTreeMap<String, String>,
    /// The directory of the config file: `{config_dir}`, and where nodes start.
    pub config_dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Option<String>,
    nodes: Option<usize>,
    start: CommandTemplate,
    stop: Option<CommandTemplate>,
    #[serde(default)]
    ready: RawReady,
    stop_timeout_ms: Option<u64>,
    client_timeout_ms: Option<u64>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReady {
    /// A regular expression matched against each line of the node's standard output; without
    /// it, ready means the client port accepts TCP.
    line: Option<String>,
    timeout_ms: Option<u64>,
}

impl CommandConfig {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<CommandConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        CommandConfig::parse(&text, path, dir)
    }

    /// Checks config `text` as if read from `path`, whose directory is `config_dir`.
    pub fn parse(
        text: &str,
        path: &Path,
        config_dir: PathBuf,
    ) -> Result<CommandConfig, ConfigError> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|err| {
            let full = err.to_string();
            let message = match full.rsplit_once(" at line ") {
                Some((message, _)) => message.to_string(),
                None => full,
            };
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line: err.line(),
                column: err.column(),
                message,
            }
        })?;
        let invalid = |field: &str, near: Option<&str>, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: near
                .and_then(|needle| line_containing(text, needle))
                .or_else(|| line_containing(text, &format!("\"{field}\"")))
                .unwrap_or(1),
            field: field.to_string(),
            message,
        };
        let nodes = raw.nodes.unwrap_or(3);
        if nodes == 0 {
            return Err(invalid("nodes", None, "expected at least 1 node".into()));
        }
        raw.start
            .validate(&[])
            .map_err(|bad| invalid("start", Some(&bad.text), bad.reason))?;
        if let Some(stop) = &raw.stop {
            stop.validate(&["pid"])
                .map_err(|bad| invalid("stop", Some(&bad.text), bad.reason))?;
        }
        let ready = match &raw.ready.line {
            None => ReadySignal::ClientPortOpen,
            Some(pattern) => ReadySignal::OutputLine(Regex::new(pattern).map_err(|err| {
                invalid(
                    "line",
                    None,
                    format!("expected a regular expression: {err}"),
                )
            })?),
        };
        let millis = |field: &str, value: Option<u64>, default: Duration| match value {
            None => Ok(default),
            Some(0) => Err(invalid(
                field,
                None,
                "expected a positive number of milliseconds".into(),
            )),
            Some(ms) => Ok(Duration::from_millis(ms)),
        };
        if let Some(key) = raw.env.keys().find(|k| k.is_empty() || k.contains('=')) {
            return Err(invalid(
                "env",
                None,
                format!("{key:?} is no variable name: expected a non-empty name without `=`"),
            ));
        }
        Ok(CommandConfig {
            name: raw.name.unwrap_or_else(|| "command".into()),
            nodes,
            start: raw.start,
            stop: raw.stop,
            ready,
            ready_timeout: millis("timeout_ms", raw.ready.timeout_ms, DEFAULT_READY_TIMEOUT)?,
            stop_timeout: millis("stop_timeout_ms", raw.stop_timeout_ms, DEFAULT_STOP_TIMEOUT)?,
            client_timeout: millis(
                "client_timeout_ms",
                raw.client_timeout_ms,
                DEFAULT_CLIENT_TIMEOUT,
            )?,
            env: raw.env,
            config_dir,
        })
    }
}

/// The 1-based number of the first line of `text` containing `needle`.
fn line_containing(text: &str, needle: &str) -> Option<usize> {
    text.lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CommandConfig, ConfigError> {
        CommandConfig::parse(text, Path::new("sys.json"), PathBuf::from("/etc/sys"))
    }

    #[test]
    fn a_minimal_config_gets_the_defaults() {
        let config = parse(r#"{ "start": ["server", "--port", "{client_port}"] }"#).unwrap();
        assert_eq!(config.nodes, 3);
        assert_eq!(config.name, "command");
        assert!(matches!(config.ready, ReadySignal::ClientPortOpen));
        assert_eq!(config.ready_timeout, DEFAULT_READY_TIMEOUT);
        assert_eq!(config.client_timeout, DEFAULT_CLIENT_TIMEOUT);
        assert!(config.stop.is_none());
    }

    #[test]
    fn errors_name_the_file_the_line_and_what_was_expected() {
        let missing = parse("{\n  \"nodes\": 3\n}").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "sys.json:3:1: missing field `start`",
            "{missing}"
        );
        let unknown = parse("{\n \"start\": \"s\",\n \"stat\": 1\n}").unwrap_err();
        assert_eq!(unknown.line(), 3);
        assert!(
            unknown.to_string().contains("unknown field `stat`"),
            "{unknown}"
        );
        let wrong_type = parse("{\n \"start\": 5\n}").unwrap_err();
        assert!(wrong_type.to_string().contains("a command"), "{wrong_type}");
        let placeholder = parse("{\n \"nodes\": 3,\n \"start\": \"s --id {idd}\"\n}").unwrap_err();
        assert_eq!(placeholder.line(), 3);
        assert!(
            placeholder
                .to_string()
                .starts_with("sys.json:3: `start`: unknown placeholder {idd}"),
            "{placeholder}"
        );
        let regex = parse("{\n \"start\": \"s\",\n \"ready\": { \"line\": \"(\" }\n}").unwrap_err();
        assert_eq!(regex.line(), 3);
        assert!(regex.to_string().contains("regular expression"), "{regex}");
        let zero = parse("{\"start\": \"s\", \"nodes\": 0}").unwrap_err();
        assert!(zero.to_string().contains("at least 1"), "{zero}");
        let not_json = parse("start = 1").unwrap_err();
        assert!(
            matches!(not_json, ConfigError::Syntax { line: 1, .. }),
            "{not_json}"
        );
    }

    #[test]
    fn a_stop_template_may_name_the_pid_but_a_start_template_may_not() {
        assert!(parse(r#"{"start": "s", "stop": "kill {pid}"}"#).is_ok());
        assert!(parse(r#"{"start": "s {pid}"}"#).is_err());
    }
}
