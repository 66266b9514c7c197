//! Command templates of a [`super::CommandDb`] config: a program and its arguments with
//! placeholders (`{id}`, `{peer_port}`, `{peers}`, ...) filled in per node. A template written as
//! an array is run as it is (each element one argument); one written as a string is run by
//! `sh -c`, every substituted value single-quoted so a path with spaces stays one word.
//! `{{` and `}}` stand for literal braces.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// The placeholders a start template may use (a stop template may also use `{pid}`).
pub const PLACEHOLDERS: [&str; 11] = [
    "id",
    "nodes",
    "host",
    "peer_port",
    "client_port",
    "peer_addr",
    "client_addr",
    "data_dir",
    "peers",
    "client_peers",
    "config_dir",
];

/// A command as written in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandTemplate {
    /// Run by `sh -c`.
    Shell(String),
    /// Program and arguments, run directly.
    Argv(Vec<String>),
}

/// A placeholder that is not one of [`PLACEHOLDERS`] (or an unclosed brace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPlaceholder {
    /// The offending text as written, such as `{idd}`.
    pub text: String,
    pub reason: String,
}

impl CommandTemplate {
    /// Every piece of text in the template.
    fn parts(&self) -> Vec<&str> {
        match self {
            CommandTemplate::Shell(text) => vec![text.as_str()],
            CommandTemplate::Argv(argv) => argv.iter().map(String::as_str).collect(),
        }
    }

    /// Checks every placeholder against [`PLACEHOLDERS`] plus `extra`.
    pub fn validate(&self, extra: &[&str]) -> Result<(), BadPlaceholder> {
        for part in self.parts() {
            for name in placeholders(part)? {
                if !PLACEHOLDERS.contains(&name.as_str()) && !extra.contains(&name.as_str()) {
                    return Err(BadPlaceholder {
                        text: format!("{{{name}}}"),
                        reason: format!(
                            "unknown placeholder {{{name}}}: expected one of {}",
                            PLACEHOLDERS
                                .iter()
                                .chain(extra)
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The program and its arguments with every placeholder replaced by `values` (a validated
    /// template names only known placeholders; an unknown one becomes empty).
    pub fn render(&self, values: &BTreeMap<&str, String>) -> Vec<String> {
        match self {
            CommandTemplate::Argv(argv) => argv
                .iter()
                .map(|part| substitute(part, values, |v| v.to_string()))
                .collect(),
            CommandTemplate::Shell(text) => vec![
                "sh".into(),
                "-c".into(),
                substitute(text, values, shell_quote),
            ],
        }
    }
}

/// The placeholder names in `text`, in order.
fn placeholders(text: &str) -> Result<Vec<String>, BadPlaceholder> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        let after = &rest[open + 1..];
        if rest[open..].starts_with("{{") || rest[open..].starts_with("}}") {
            rest = &after[1..];
            continue;
        }
        if rest[open..].starts_with('}') {
            return Err(BadPlaceholder {
                text: "}".into(),
                reason: "a lone `}` (write `}}` for a literal brace)".into(),
            });
        }
        let Some(close) = after.find('}') else {
            return Err(BadPlaceholder {
                text: rest[open..].to_string(),
                reason: "an unclosed `{` (write `{{` for a literal brace)".into(),
            });
        };
        names.push(after[..close].to_string());
        rest = &after[close + 1..];
    }
    Ok(names)
}

fn substitute(
    text: &str,
    values: &BTreeMap<&str, String>,
    quote: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        match tail[1..].find('}').filter(|_| tail.starts_with('{')) {
            Some(close) => {
                let name = &tail[1..1 + close];
                out.push_str(&quote(values.get(name).map(String::as_str).unwrap_or("")));
                rest = &tail[close + 2..];
            }
            None => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `value` as one single-quoted `sh` word.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

impl<'de> Deserialize<'de> for CommandTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TemplateVisitor;
        impl<'de> Visitor<'de> for TemplateVisitor {
            type Value = CommandTemplate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a command: a string (run by sh -c) or a non-empty array of strings \
                     (program, then arguments)",
                )
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<CommandTemplate, E> {
                if text.trim().is_empty() {
                    return Err(E::invalid_value(de::Unexpected::Str(text), &self));
                }
                Ok(CommandTemplate::Shell(text.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CommandTemplate, A::Error> {
                let mut argv = Vec::new();
                while let Some(part) = seq.next_element::<String>()? {
                    argv.push(part);
                }
                if argv.first().is_none_or(|program| program.is_empty()) {
                    return Err(de::Error::invalid_length(0, &self));
                }
                Ok(CommandTemplate::Argv(argv))
            }
        }
        deserializer.deserialize_any(TemplateVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("id", "2".to_string()),
            ("data_dir", "/tmp/a b/data-2".to_string()),
        ])
    }

    #[test]
    fn an_array_is_filled_in_argument_by_argument() {
        let template = CommandTemplate::Argv(vec![
            "server".into(),
            "--id={id}".into(),
            "{data_dir}".into(),
            "{{literal}}".into(),
        ]);
        template.validate(&[]).unwrap();
        assert_eq!(
            template.render(&values()),
            ["server", "--id=2", "/tmp/a b/data-2", "{literal}"]
        );
    }

    #[test]
    fn a_string_runs_under_sh_with_quoted_values() {
        let template = CommandTemplate::Shell("exec server --dir {data_dir} --id {id}".into());
        assert_eq!(
            template.render(&values()),
            ["sh", "-c", "exec server --dir '/tmp/a b/data-2' --id '2'"]
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_named() {
        let unknown = CommandTemplate::Argv(vec!["s".into(), "{idd}".into()]);
        let err = unknown.validate(&[]).unwrap_err();
        assert_eq!(err.text, "{idd}");
        assert!(err.reason.contains("{peer_port}"), "{}", err.reason);
        assert!(CommandTemplate::Argv(vec!["s".into(), "{pid}".into()])
            .validate(&["pid"])
            .is_ok());
        let unclosed = CommandTemplate::Shell("s {id".into()).validate(&[]);
        assert!(unclosed.unwrap_err().reason.contains("unclosed"));
        let lone = CommandTemplate::Shell("s }".into()).validate(&[]);
        assert!(lone.unwrap_err().reason.contains("lone"));
    }
}
