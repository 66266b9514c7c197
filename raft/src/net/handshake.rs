//! The first frame each way on every peer connection: a hello carrying magic, wire format
//! version, cluster id and node id.
//!
//! Both sides send their hello at once, then read and check the other's. A peer of another cluster,
//! another format version, or (when we dialed) another node than the one we meant is refused with a
//! typed [`HandshakeError`], logged, and the connection is closed.

use std::{io, time::Duration};

use bytes::{Bytes, BytesMut};
use futures::{Sink, Stream};
use serde::{Deserialize, Serialize};

use super::{framing, HandshakeError, NetError, NodeId};

/// "GNTL": marks a gauntlet peer connection, so a stray client on the port fails loudly.
pub const WIRE_MAGIC: u32 = 0x474e_544c;
/// Version of the peer wire format; bumped when the framing or the message encoding changes.
pub const WIRE_FORMAT_VERSION: u32 = 1;

/// The handshake frame. Fields are only ever appended in later versions, so an older node can still
/// read the version of a newer one and refuse it precisely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always [`WIRE_MAGIC`].
    pub magic: u32,
    /// The sender's [`WIRE_FORMAT_VERSION`].
    pub format_version: u32,
    /// The cluster the sender belongs to.
    pub cluster_id: u64,
    /// The sender's node id.
    pub node_id: NodeId,
}

impl Hello {
    /// This build's hello for the given cluster and node.
    pub fn new(cluster_id: u64, node_id: NodeId) -> Hello {
        Hello {
            magic: WIRE_MAGIC,
            format_version: WIRE_FORMAT_VERSION,
            cluster_id,
            node_id,
        }
    }

    /// Decodes a hello frame; extra bytes after the known fields are allowed (a newer version may
    /// append fields; its version number is then refused by [`check_hello`]).
    pub fn decode(bytes: &[u8]) -> Result<Hello, HandshakeError> {
        postcard::take_from_bytes::<Hello>(bytes)
            .map(|(hello, _rest)| hello)
            .map_err(|e| HandshakeError::Malformed(e.to_string()))
    }
}

/// Checks the remote hello against ours. `expected_peer` is the node we dialed (None when we
/// accepted the connection: any other member of our cluster may connect). Pure.
pub fn check_hello(
    mine: &Hello,
    theirs: &Hello,
    expected_peer: Option<NodeId>,
) -> Result<(), HandshakeError> {
    if theirs.magic != WIRE_MAGIC {
        return Err(HandshakeError::BadMagic {
            expected: WIRE_MAGIC,
            got: theirs.magic,
        });
    }
    if theirs.format_version != mine.format_version {
        return Err(HandshakeError::WrongVersion {
            peer: theirs.node_id,
            expected: mine.format_version,
            got: theirs.format_version,
        });
    }
    if theirs.cluster_id != mine.cluster_id {
        return Err(HandshakeError::WrongCluster {
            peer: theirs.node_id,
            expected: mine.cluster_id,
            got: theirs.cluster_id,
        });
    }
    if theirs.node_id == mine.node_id {
        return Err(HandshakeError::SameNodeId(theirs.node_id));
    }
    if let Some(expected) = expected_peer {
        if theirs.node_id != expected {
            return Err(HandshakeError::UnexpectedPeer {
                expected,
                got: theirs.node_id,
            });
        }
    }
    Ok(())
}

/// Sends our hello, reads theirs and checks it, all within `timeout`. Returns the remote hello.
/// Refusals are logged with `peer_addr` (a description of the remote end).
pub async fn handshake<R, W>(
    reader: &mut R,
    writer: &mut W,
    mine: &Hello,
    expected_peer: Option<NodeId>,
    timeout: Duration,
    peer_addr: &str,
) -> Result<Hello, NetError>
where
    R: Stream<Item = io::Result<BytesMut>> + Unpin,
    W: Sink<Bytes, Error = io::Error> + Unpin,
{
    let exchange = async {
        framing::write_message(writer, mine, framing::DEFAULT_MAX_FRAME_LEN).await?;
        let frame = match futures::StreamExt::next(reader).await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                return Err(framing::classify_io_error(
                    e,
                    framing::DEFAULT_MAX_FRAME_LEN,
                ))
            }
            None => return Err(NetError::Closed),
        };
        let theirs = Hello::decode(&frame)?;
        check_hello(mine, &theirs, expected_peer)?;
        Ok(theirs)
    };
    let result = match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(NetError::HandshakeTimeout(timeout)),
    };
    match &result {
        Ok(theirs) => tracing::debug!(
            node = mine.node_id,
            peer = theirs.node_id,
            %peer_addr,
            "peer handshake complete"
        ),
        Err(NetError::Handshake(refusal)) => tracing::warn!(
            node = mine.node_id,
            cluster = mine.cluster_id,
            %peer_addr,
            error = %refusal,
            "peer refused at handshake"
        ),
        Err(other) => {
            tracing::debug!(node = mine.node_id, %peer_addr, error = %other, "peer handshake failed")
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_member_of_the_same_cluster() {
        let mine = Hello::new(9, 1);
        assert_eq!(check_hello(&mine, &Hello::new(9, 2), None), Ok(()));
        assert_eq!(check_hello(&mine, &Hello::new(9, 2), Some(2)), Ok(()));
    }

    #[test]
    fn refuses_another_cluster() {
        let err = check_hello(&Hello::new(9, 1), &Hello::new(8, 2), None).unwrap_err();
        assert_eq!(
            err,
            HandshakeError::WrongCluster {
                peer: 2,
                expected: 9,
                got: 8
            }
        );
    }

    #[test]
    fn refuses_another_version_magic_self_and_wrong_peer() {
        let mine = Hello::new(9, 1);
        let newer = Hello {
            format_version: WIRE_FORMAT_VERSION + 1,
            ..Hello::new(9, 2)
        };
        assert!(matches!(
            check_hello(&mine, &newer, None),
            Err(HandshakeError::WrongVersion { .. })
        ));
        let alien = Hello {
            magic: 0,
            ..Hello::new(9, 2)
        };
        assert!(matches!(
            check_hello(&mine, &alien, None),
            Err(HandshakeError::BadMagic { .. })
        ));
        assert_eq!(
            check_hello(&mine, &Hello::new(9, 1), None),
            Err(HandshakeError::SameNodeId(1))
        );
        assert_eq!(
            check_hello(&mine, &Hello::new(9, 3), Some(2)),
            Err(HandshakeError::UnexpectedPeer {
                expected: 2,
                got: 3
            })
        );
    }

    #[test]
    fn a_longer_hello_from_a_newer_version_still_decodes() {
        let mut bytes = postcard::to_allocvec(&Hello::new(9, 2)).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(Hello::decode(&bytes).unwrap(), Hello::new(9, 2));
        assert!(Hello::decode(&[0xff]).is_err());
    }
}
