//! A small reader for EDN, the data notation Jepsen writes its histories in.
//!
//! It reads the subset real histories use, and a little more so that odd files fail with a clear
//! message instead of a confusing one: `nil`, `true`/`false`, integers (with an optional `N`),
//! floats (with an optional `M`), strings with escapes, characters, keywords, symbols, lists,
//! vectors, maps, sets, tagged elements (`#inst "..."`, `#jepsen.history.Op{...}`), discards
//! (`#_ form`), `;` comments, and commas as whitespace.
//!
//! Every error carries the 1-based line and column where reading stopped. The reader never panics
//! on any input, and nesting deeper than [`MAX_DEPTH`] is an error rather than a stack overflow.

use std::fmt;

/// Collections nested deeper than this are refused (real histories nest three or four levels).
pub const MAX_DEPTH: usize = 128;

/// One EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    /// An integer too large for `i64`, kept as its digits (with sign).
    BigInt(String),
    Float(f64),
    Str(String),
    Char(char),
    /// A keyword, without its leading `:` (`:invoke` is `Keyword("invoke")`).
    Keyword(String),
    Symbol(String),
    List(Vec<Edn>),
    Vector(Vec<Edn>),
    /// Key-value pairs in the order written.
    Map(Vec<(Edn, Edn)>),
    Set(Vec<Edn>),
    /// `#tag value`: the tag symbol and the value it applies to.
    Tagged(String, Box<Edn>),
}

impl Edn {
    /// Looks up a keyword key (given without `:`) in a map; `None` for other values or a missing key.
    pub fn get_keyword(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(pairs) => pairs.iter().find_map(|(k, v)| match k {
                Edn::Keyword(name) if name == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    /// The value under any tags (`#jepsen.history.Op{...}` is read as its map).
    pub fn untagged(&self) -> &Edn {
        let mut value = self;
        while let Edn::Tagged(_, inner) = value {
            value = inner;
        }
        value
    }

    /// A short name of the kind of value, for error messages ("a map", "a keyword", ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) | Edn::BigInt(_) => "an integer",
            Edn::Float(_) => "a float",
            Edn::Str(_) => "a string",
            Edn::Char(_) => "a character",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::List(_) => "a list",
            Edn::Vector(_) => "a vector",
            Edn::Map(_) => "a map",
            Edn::Set(_) => "a set",
            Edn::Tagged(..) => "a tagged value",
        }
    }
}

impl fmt::Display for Edn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Edn], close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(close)
        }
        match self {
            Edn::Nil => f.write_str("nil"),
            Edn::Bool(b) => write!(f, "{b}"),
            Edn::Int(i) => write!(f, "{i}"),
            Edn::BigInt(digits) => write!(f, "{digits}N"),
            Edn::Float(x) => write!(f, "{x:?}"),
            Edn::Str(s) => write!(f, "{s:?}"),
            Edn::Char(c) => write!(f, "\\{c}"),
            Edn::Keyword(k) => write!(f, ":{k}"),
            Edn::Symbol(s) => f.write_str(s),
            Edn::List(items) => seq(f, "(", items, ")"),
            Edn::Vector(items) => seq(f, "[", items, "]"),
            Edn::Set(items) => seq(f, "#{", items, "}"),
            Edn::Map(pairs) => {
                f.write_str("{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
            Edn::Tagged(tag, value) => write!(f, "#{tag} {value}"),
        }
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Why EDN text could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct EdnError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Reads EDN values one after another from a text.
pub struct Reader<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    column: usize,
}

/// Reads exactly one value from `text` (surrounding whitespace and comments allowed).
pub fn read_one(text: &str) -> Result<Edn, EdnError> {
    let mut reader = Reader::new(text);
    let value = reader
        .read_next()?
        .ok_or_else(|| reader.error("expected an EDN value, found the end of the input"))?;
    if reader.read_next()?.is_some() {
        return Err(reader.error("expected the end of the input after one value"));
    }
    Ok(value)
}

/// Reads every value in `text`.
pub fn read_all(text: &str) -> Result<Vec<Edn>, EdnError> {
    let mut reader = Reader::new(text);
    let mut values = Vec::new();
    while let Some(value) = reader.read_next()? {
        values.push(value);
    }
    Ok(values)
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';')
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Reader {
            text,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    /// A reader over `text` that starts at byte `offset` (a character boundary), which is at
    /// `line` and `column`; positions in errors count from there.
    pub fn resume(text: &'a str, offset: usize, line: usize, column: usize) -> Self {
        Reader {
            text,
            offset: offset.min(text.len()),
            line,
            column,
        }
    }

    /// Where the reader is now (after the last value read).
    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    /// Byte offset into the text.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Reads the next value; `Ok(None)` at the end of the input.
    pub fn read_next(&mut self) -> Result<Option<Edn>, EdnError> {
        Ok(self.read_next_at()?.map(|(value, _)| value))
    }

    /// Reads the next value with the position where it starts; `Ok(None)` at the end.
    pub fn read_next_at(&mut self) -> Result<Option<(Edn, Position)>, EdnError> {
        self.skip_blank_and_discards(0)?;
        if self.peek().is_none() {
            return Ok(None);
        }
        let start = self.position();
        let value = self.read_value(0)?;
        Ok(Some((value, start)))
    }

    /// Skips blanks; if the next character is `open`, consumes it and returns true.
    pub fn open(&mut self, open: char) -> Result<bool, EdnError> {
        self.skip_blank_and_discards(0)?;
        if self.peek() == Some(open) {
            self.bump();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// The same as [`Reader::open`], for a closing delimiter.
    pub fn close(&mut self, close: char) -> Result<bool, EdnError> {
        self.open(close)
    }

    /// An error at the reader's current position.
    pub fn error(&self, message: impl Into<String>) -> EdnError {
        EdnError {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        match self.text.as_bytes().get(self.offset) {
            Some(&b) if b.is_ascii() => Some(char::from(b)),
            Some(_) => self.text.get(self.offset..)?.chars().next(),
            None => None,
        }
    }

    /// Moves to byte offset `end` (a character boundary after the current offset), keeping the
    /// line and column right for everything passed over.
    fn advance_to(&mut self, end: usize) {
        let passed = self
            .text
            .as_bytes()
            .get(self.offset..end)
            .unwrap_or_default();
        for &b in passed {
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // Count characters, not UTF-8 continuation bytes.
                self.column += 1;
            }
        }
        self.offset = end;
    }

    fn peek_second(&self) -> Option<char> {
        let mut chars = self.text.get(self.offset..)?.chars();
        chars.next();
        chars.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_blank(&mut self) {
        let bytes = self.text.as_bytes();
        loop {
            // Fast path over ASCII blanks.
            let mut end = self.offset;
            while end < bytes.len() && matches!(bytes[end], b' ' | b'\t' | b'\r' | b'\n' | b',') {
                end += 1;
            }
            self.advance_to(end);
            if bytes.get(end) == Some(&b';') {
                let line_end = bytes[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| end + i + 1);
                self.advance_to(line_end);
                continue;
            }
            break;
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' {
                self.bump();
            } else if c == ';' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    /// Skips whitespace, comments and `#_ form` discards.
    fn skip_blank_and_discards(&mut self, depth: usize) -> Result<(), EdnError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("values nested more than {MAX_DEPTH} deep")));
        }
        loop {
            self.skip_blank();
            if self.peek() == Some('#') && self.peek_second() == Some('_') {
                self.bump();
                self.bump();
                self.skip_blank_and_discards(depth + 1)?;
                if self.peek().is_none() {
                    return Err(self.error("expected a value after #_, found the end of the input"));
                }
                self.read_value(depth)?;
            } else {
                return Ok(());
            }
        }
    }

    fn read_value(&mut self, depth: usize) -> Result<Edn, EdnError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("values nested more than {MAX_DEPTH} deep")));
        }
        let Some(c) = self.peek() else {
            return Err(self.error("expected a value, found the end of the input"));
        };
        match c {
            '(' => {
                self.bump();
                Ok(Edn::List(self.read_seq(')', depth)?))
            }
            '[' => {
                self.bump();
                Ok(Edn::Vector(self.read_seq(']', depth)?))
            }
            '{' => {
                self.bump();
                self.read_map(depth)
            }
            ')' | ']' | '}' => Err(self.error(format!("unexpected '{c}' with no open collection"))),
            '"' => {
                self.bump();
                Ok(Edn::Str(self.read_string_body()?))
            }
            '\\' => {
                self.bump();
                self.read_char()
            }
            '#' => {
                self.bump();
                self.read_dispatch(depth)
            }
            '^' => {
                // Clojure metadata: `^meta value`; the metadata is read and dropped.
                self.bump();
                self.skip_blank_and_discards(depth)?;
                self.read_value(depth + 1)?;
                self.skip_blank_and_discards(depth)?;
                self.read_value(depth + 1)
            }
            _ => self.read_token_value(),
        }
    }

    /// Reads values up to `close`; the opening delimiter was just consumed.
    fn read_seq(&mut self, close: char, depth: usize) -> Result<Vec<Edn>, EdnError> {
        let opened = Position {
            line: self.line,
            column: self.column.saturating_sub(1),
        };
        let mut items = Vec::new();
        loop {
            self.skip_blank_and_discards(depth + 1)?;
            match self.peek() {
                None => {
                    return Err(self.error(format!(
                        "expected '{close}' to close the collection opened at line {}, column {}, found the end of the input",
                        opened.line, opened.column
                    )))
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                Some(c @ (')' | ']' | '}')) => {
                    return Err(self.error(format!(
                        "expected '{close}' to close the collection opened at line {}, column {}, found '{c}'",
                        opened.line, opened.column
                    )))
                }
                Some(_) => items.push(self.read_value(depth + 1)?),
            }
        }
    }

    fn read_map(&mut self, depth: usize) -> Result<Edn, EdnError> {
        let items = self.read_seq('}', depth)?;
        if items.len() % 2 != 0 {
            return Err(self.error("expected a map with an even number of forms (key value pairs)"));
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut iter = items.into_iter();
        while let (Some(k), Some(v)) = (iter.next(), iter.next()) {
            pairs.push((k, v));
        }
        Ok(Edn::Map(pairs))
    }

    fn read_dispatch(&mut self, depth: usize) -> Result<Edn, EdnError> {
        match self.peek() {
            Some('{') => {
                self.bump();
                Ok(Edn::Set(self.read_seq('}', depth)?))
            }
            Some('"') => {
                // A Clojure regex literal; kept as its source text.
                self.bump();
                Ok(Edn::Str(self.read_string_body()?))
            }
            Some('#') => {
                self.bump();
                let token = self.read_token();
                match token {
                    "Inf" => Ok(Edn::Float(f64::INFINITY)),
                    "-Inf" => Ok(Edn::Float(f64::NEG_INFINITY)),
                    "NaN" => Ok(Edn::Float(f64::NAN)),
                    _ => {
                        Err(self.error(format!("expected ##Inf, ##-Inf or ##NaN, found ##{token}")))
                    }
                }
            }
            Some(c) if c.is_alphabetic() => {
                let tag = self.read_token().to_string();
                self.skip_blank_and_discards(depth)?;
                if self.peek().is_none() {
                    return Err(self.error(format!("expected a value after #{tag}, found the end")));
                }
                let value = self.read_value(depth + 1)?;
                Ok(Edn::Tagged(tag, Box::new(value)))
            }
            Some(c) => Err(self.error(format!("unexpected '#{c}': expected #{{, #_, or a #tag"))),
            None => Err(self.error("expected a value after '#', found the end of the input")),
        }
    }

    fn read_string_body(&mut self) -> Result<String, EdnError> {
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or backslash in one go.
            let bytes = self.text.as_bytes();
            let run_end = bytes
                .get(self.offset..)
                .unwrap_or_default()
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .map_or(bytes.len(), |i| self.offset + i);
            out.push_str(self.text.get(self.offset..run_end).unwrap_or_default());
            self.advance_to(run_end);
            let Some(c) = self.bump() else {
                return Err(self.error("expected a closing '\"', found the end of the input"));
            };
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(escape) = self.bump() else {
                        return Err(self.error("expected an escape after '\\', found the end"));
                    };
                    match escape {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'u' => out.push(self.read_unicode_escape()?),
                        other => {
                            return Err(self.error(format!(
                                "unknown string escape '\\{other}': expected one of \\n \\t \\r \\b \\f \\\" \\\\ \\uXXXX"
                            )))
                        }
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn read_unicode_escape(&mut self) -> Result<char, EdnError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self.bump().and_then(|c| c.to_digit(16));
            let Some(digit) = digit else {
                return Err(self.error("expected four hex digits after \\u"));
            };
            code = code * 16 + digit;
        }
        char::from_u32(code).ok_or_else(|| self.error(format!("\\u{code:04x} is not a character")))
    }

    fn read_char(&mut self) -> Result<Edn, EdnError> {
        let Some(first) = self.bump() else {
            return Err(self.error("expected a character after '\\', found the end of the input"));
        };
        // A single character is the whole literal unless letters follow (`\newline`, `\u0041`).
        let start = self.offset - first.len_utf8();
        while self.peek().is_some_and(|c| !is_delimiter(c)) {
            self.bump();
        }
        let name = self.text.get(start..self.offset).unwrap_or_default();
        let c = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ if name.chars().count() == 1 => first,
            _ if name.starts_with('u') && name.len() == 5 => {
                let code = u32::from_str_radix(&name[1..], 16)
                    .map_err(|_| self.error(format!("expected \\uXXXX, found \\{name}")))?;
                char::from_u32(code)
                    .ok_or_else(|| self.error(format!("\\{name} is not a character")))?
            }
            _ => return Err(self.error(format!("unknown character literal \\{name}"))),
        };
        Ok(Edn::Char(c))
    }

    fn read_token(&mut self) -> &'a str {
        let start = self.offset;
        let bytes = self.text.as_bytes();
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii() && !is_delimiter(char::from(bytes[end])) {
            end += 1;
        }
        self.advance_to(end);
        while self.peek().is_some_and(|c| !is_delimiter(c)) {
            self.bump();
        }
        self.text.get(start..self.offset).unwrap_or_default()
    }

    fn read_token_value(&mut self) -> Result<Edn, EdnError> {
        let start = self.position();
        let token = self.read_token();
        let at = |message: String| EdnError {
            line: start.line,
            column: start.column,
            message,
        };
        if token.is_empty() {
            return Err(at("expected a value".to_string()));
        }
        match token {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        let mut chars = token.chars();
        let first = chars.next().unwrap_or(' ');
        let second = chars.next();
        if first.is_ascii_digit()
            || ((first == '-' || first == '+') && second.is_some_and(|c| c.is_ascii_digit()))
        {
            return parse_number(token).map_err(at);
        }
        if let Some(name) = token.strip_prefix(':') {
            if name.is_empty() {
                return Err(at(format!(
                    "expected a keyword name after ':', found '{token}'"
                )));
            }
            return Ok(Edn::Keyword(name.to_string()));
        }
        Ok(Edn::Symbol(token.to_string()))
    }
}

/// Parses an integer (`42`, `-7`, `42N`) or a float (`1.5`, `1e3`, `1.5M`).
fn parse_number(token: &str) -> Result<Edn, String> {
    let bad = || format!("expected a number, found '{token}'");
    if let Some(digits) = token.strip_suffix('N') {
        return parse_integer(digits).ok_or_else(bad);
    }
    let is_float = token.contains(['.', 'e', 'E']) || token.ends_with('M');
    if is_float {
        let text = token.strip_suffix('M').unwrap_or(token);
        let valid = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
        if !valid {
            return Err(bad());
        }
        return text.parse::<f64>().map(Edn::Float).map_err(|_| bad());
    }
    parse_integer(token).ok_or_else(bad)
}

fn parse_integer(text: &str) -> Option<Edn> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match text.parse::<i64>() {
        Ok(i) => Some(Edn::Int(i)),
        Err(_) => Some(Edn::BigInt(text.trim_start_matches('+').to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(name: &str) -> Edn {
        Edn::Keyword(name.to_string())
    }

    #[test]
    fn reads_a_jepsen_op_map() {
        let value =
            read_one("{:type :invoke, :f :cas, :value [3 0], :process 2, :time 12, :index 0}")
                .unwrap();
        assert_eq!(value.get_keyword("type"), Some(&kw("invoke")));
        assert_eq!(
            value.get_keyword("value"),
            Some(&Edn::Vector(vec![Edn::Int(3), Edn::Int(0)]))
        );
        assert_eq!(value.get_keyword("missing"), None);
    }

    #[test]
    fn reads_scalars() {
        let values = read_all("nil true false 42 -7 +3 9223372036854775808 12N 1.5 2e3 1.5M \"a\\n\\\"b\\u0041\" \\a \\newline :k sym").unwrap();
        assert_eq!(
            values,
            vec![
                Edn::Nil,
                Edn::Bool(true),
                Edn::Bool(false),
                Edn::Int(42),
                Edn::Int(-7),
                Edn::Int(3),
                Edn::BigInt("9223372036854775808".into()),
                Edn::Int(12),
                Edn::Float(1.5),
                Edn::Float(2000.0),
                Edn::Float(1.5),
                Edn::Str("a\n\"bA".into()),
                Edn::Char('a'),
                Edn::Char('\n'),
                kw("k"),
                Edn::Symbol("sym".into()),
            ]
        );
    }

    #[test]
    fn reads_collections_comments_discards_and_tags() {
        let values = read_all(
            "; a comment\n(1 2) #{:a :b} #_ {:ignored 1} #jepsen.history.Op{:index 0} #inst \"2020\"",
        )
        .unwrap();
        assert_eq!(values.len(), 4);
        assert_eq!(values[0], Edn::List(vec![Edn::Int(1), Edn::Int(2)]));
        assert_eq!(values[1], Edn::Set(vec![kw("a"), kw("b")]));
        assert_eq!(
            values[2].untagged().get_keyword("index"),
            Some(&Edn::Int(0))
        );
        assert_eq!(
            values[3],
            Edn::Tagged("inst".into(), Box::new(Edn::Str("2020".into())))
        );
    }

    #[test]
    fn commas_are_whitespace() {
        assert_eq!(
            read_one("[1,2,,3]").unwrap(),
            Edn::Vector(vec![Edn::Int(1), Edn::Int(2), Edn::Int(3)])
        );
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = read_one("{:a 1\n :b [1 2}").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains(
                "expected ']' to close the collection opened at line 2, column 5, found '}'"
            ),
            "{err}"
        );
        let err = read_one("{:a 1 :b}").unwrap_err();
        assert!(err.message.contains("even number"), "{err}");
        let err = read_one("\"open").unwrap_err();
        assert!(err.message.contains("closing"), "{err}");
        let err = read_one("1 2").unwrap_err();
        assert!(err.message.contains("end of the input"), "{err}");
        let err = read_one("12x").unwrap_err();
        assert_eq!((err.line, err.column), (1, 1));
    }

    #[test]
    fn columns_count_characters_across_strings_comments_and_lines() {
        let err = read_one("[\"üü\" }").unwrap_err();
        assert_eq!((err.line, err.column), (1, 7), "{err}");
        let err = read_one("[\"a\nb\" ; é comment\n  ü }").unwrap_err();
        assert_eq!((err.line, err.column), (3, 5), "{err}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let err = read_one(&deep).unwrap_err();
        assert!(err.message.contains("nested"), "{err}");
        let deep_tags = "#a ".repeat(100_000) + "1";
        assert!(read_one(&deep_tags).is_err());
        let deep_discards = "#_ ".repeat(100_000) + "1";
        assert!(read_all(&deep_discards).is_err());
    }

    #[test]
    fn display_round_trips_simple_values() {
        let text = "{:type :ok, :value [1 \"x\" nil #{:a}]}";
        let value = read_one(text).unwrap();
        assert_eq!(read_one(&value.to_string()).unwrap(), value);
    }
}
