//! A minimal HTTP/1.1 client for etcd's JSON gateway on loopback, and the base64 the gateway
//! wants for keys and values.
//!
//! Why hand-written and not a crate: no HTTP client (hyper, reqwest, ureq) is in the dependency
//! tree, reqwest would bring hyper, a TLS stack and their build on a shared two-core machine for
//! plain-text loopback requests, and the harness needs one thing a general client hides: exactly
//! whether the request was sent. Here a request is one fresh connection (`Connection: close`,
//! no pool, so no stale kept-alive socket makes a reset ambiguous): a failure to connect means
//! nothing was sent ([`HttpError::NotSent`], a definite failure), anything after the first byte
//! was written is [`HttpError::Unanswered`] (the server may have acted on it).

use base64::prelude::{Engine as _, BASE64_STANDARD, BASE64_STANDARD_NO_PAD};
use std::net::SocketAddr;
use std::time::Instant;

use raft::client::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A complete HTTP answer.
#[derive(Clone, Debug)]
pub struct HttpReply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why no complete answer came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The connection was never made: the server cannot have seen the request.
    NotSent { kind: ErrorKind, reason: String },
    /// The request was (at least partly) sent, then the connection broke, the answer did not
    /// decode or the deadline passed: the server may have acted on it.
    Unanswered { kind: ErrorKind, reason: String },
}

/// Sends one request (`body`: JSON, for a POST) to `addr` and reads the whole answer, all before
/// `deadline`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    deadline: Instant,
) -> Result<HttpReply, HttpError> {
    let deadline = tokio::time::Instant::from_std(deadline);
    let mut stream = match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
        Err(_) => {
            return Err(HttpError::NotSent {
                kind: ErrorKind::Timeout,
                reason: format!("connecting to {addr}: timed out"),
            })
        }
        Ok(Err(err)) => {
            let kind = if err.kind() == std::io::ErrorKind::ConnectionRefused {
                ErrorKind::ConnectionRefused
            } else {
                ErrorKind::ConnectionFailed
            };
            return Err(HttpError::NotSent {
                kind,
                reason: format!("connecting to {addr}: {err}"),
            });
        }
        Ok(Ok(stream)) => stream,
    };
    let _ = stream.set_nodelay(true);
    let body = body.unwrap_or_default();
    let mut message = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    message.extend_from_slice(body);
    let exchange = async {
        stream.write_all(&message).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = match tokio::time::timeout_at(deadline, exchange).await {
        Err(_) => {
            return Err(HttpError::Unanswered {
                kind: ErrorKind::Timeout,
                reason: format!("{path} at {addr}: no answer in time"),
            })
        }
        Ok(Err(err)) => {
            return Err(HttpError::Unanswered {
                kind: ErrorKind::ConnectionReset,
                reason: format!("{path} at {addr}: {err}"),
            })
        }
        Ok(Ok(answer)) => answer,
    };
    parse_reply(&answer).map_err(|what| HttpError::Unanswered {
        kind: if answer.is_empty() {
            ErrorKind::ConnectionReset
        } else {
            ErrorKind::BadReply
        },
        reason: format!("{path} at {addr}: {what}"),
    })
}

/// Splits a whole HTTP/1.1 answer (read to the connection's end) into status and body, decoding
/// a chunked body and checking a `Content-Length` one.
pub fn parse_reply(answer: &[u8]) -> Result<HttpReply, String> {
    let split = find(answer, b"\r\n\r\n").ok_or("the answer ended inside its headers")?;
    let head = std::str::from_utf8(&answer[..split]).map_err(|_| "headers are not UTF-8")?;
    let rest = &answer[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| "bad Content-Length")?);
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = length {
        if rest.len() < length {
            return Err(format!(
                "the body ended after {} of {length} bytes",
                rest.len()
            ));
        }
        rest[..length].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpReply { status, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let end = find(rest, b"\r\n").ok_or("a chunk size line is cut")?;
        let size_text = std::str::from_utf8(&rest[..end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        rest = &rest[end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("a chunk is cut".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Standard base64 with padding (the gateway's encoding of keys and values).
pub fn base64_encode(bytes: &[u8]) -> String {
    BASE64_STANDARD.encode(bytes)
}

/// Decodes standard base64 (padding optional); `None` on anything else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    BASE64_STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_known_values() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        for text in ["", "a", "ab", "abc", "abcd", "k-17 x", "\u{e9}t\u{e9}"] {
            let encoded = base64_encode(text.as_bytes());
            assert_eq!(base64_decode(&encoded).unwrap(), text.as_bytes());
        }
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn replies_parse_with_length_chunks_or_to_the_end() {
        let plain = parse_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((plain.status, plain.body.as_slice()), (200, &b"{}"[..]));
        let chunked = parse_reply(
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (chunked.status, chunked.body.as_slice()),
            (503, &b"abcde"[..])
        );
        let to_end = parse_reply(b"HTTP/1.0 200 OK\r\n\r\nxyz").unwrap();
        assert_eq!(to_end.body, b"xyz");
        assert!(parse_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
        assert!(parse_reply(b"HTTP/1.1 200 OK\r\nContent-").is_err());
    }
}
