//! Telling who dialed a destination listener: a node with one advertised peer address (etcd)
//! is dialed there by every other node, so the listener cannot say which link a connection
//! belongs to. The connection's first HTTP request can: etcd's peer requests (Raft streams and
//! pipelined messages) carry `X-PeerURLs`, the sender's own advertised peer URLs, which are the
//! proxy's listener addresses for the sender. The request head is read (and kept, to be passed on
//! first) before the connection is dialed through.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Most bytes read while looking for the end of a request head.
pub(crate) const HEAD_LIMIT: usize = 16 * 1024;

/// The header naming the sender's advertised peer URLs (matched without regard to case).
const PEER_URLS_HEADER: &str = "x-peerurls";

/// Reads from `client` until the end of an HTTP request head (`\r\n\r\n`), [`HEAD_LIMIT`] bytes,
/// end of stream or `wait`, whichever comes first; returns every byte read (maybe more than the
/// head: a request body may follow in the same read).
pub(crate) async fn read_head(client: &mut TcpStream, wait: Duration) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    while !has_head_end(&head) && head.len() < HEAD_LIMIT {
        let read = tokio::time::timeout_at(deadline, client.read(&mut chunk)).await;
        match read {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => head.extend_from_slice(&chunk[..n]),
            Ok(Err(err)) => return Err(err),
        }
    }
    Ok(head)
}

fn has_head_end(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

/// The sender named by the request head's `X-PeerURLs`: the first of its URLs whose `host:port`
/// is a key of `senders` (the proxy's listener addresses, each the advertised peer address of
/// one node). `None` for a request without it (etcd's `/version`, `/members` and
/// `/raft/probing` requests do not say who sends them).
pub(crate) fn sender_of(head: &[u8], senders: &HashMap<String, u64>) -> Option<u64> {
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(head.len());
    let text = String::from_utf8_lossy(&head[..end]);
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case(PEER_URLS_HEADER) {
            return None;
        }
        value.split(',').find_map(|url| {
            let url = url.trim();
            let host = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"))
                .unwrap_or(url)
                .trim_end_matches('/');
            senders.get(host).copied()
        })
    })
}

/// The request line of a head, for logs.
pub(crate) fn request_line(head: &[u8]) -> String {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    String::from_utf8_lossy(&line[..line.len().min(120)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn senders() -> HashMap<String, u64> {
        [
            ("127.0.0.1:4001".to_string(), 1),
            ("127.0.0.1:4002".into(), 2),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn the_sender_is_the_node_whose_listener_its_peer_urls_name() {
        let head = b"GET /raft/stream/msgapp/77fb HTTP/1.1\r\nHost: 127.0.0.1:4001\r\n\
            X-Peerurls: http://127.0.0.1:4002\r\nX-Server-From: 77fb\r\n\r\n";
        assert_eq!(sender_of(head, &senders()), Some(2));
        let several = b"POST /raft HTTP/1.1\r\nx-peerurls: http://10.0.0.9:1, http://127.0.0.1:4001/\r\n\r\nbody";
        assert_eq!(sender_of(several, &senders()), Some(1));
    }

    #[test]
    fn a_request_that_does_not_say_who_sends_it_has_no_sender() {
        let probe = b"GET /raft/probing HTTP/1.1\r\nHost: 127.0.0.1:4001\r\n\r\n";
        assert_eq!(sender_of(probe, &senders()), None);
        let stranger = b"GET / HTTP/1.1\r\nX-PeerURLs: http://127.0.0.1:9999\r\n\r\n";
        assert_eq!(sender_of(stranger, &senders()), None);
        // A header after the head's end is body, not a header.
        let body = b"POST /x HTTP/1.1\r\n\r\nX-PeerURLs: http://127.0.0.1:4001\r\n";
        assert_eq!(sender_of(body, &senders()), None);
        assert_eq!(request_line(probe), "GET /raft/probing HTTP/1.1");
    }
}
