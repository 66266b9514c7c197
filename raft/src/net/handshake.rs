//! The first frames on every peer connection: a hello each way (magic, wire format version,
//! cluster id, node id, a fresh nonce), then, when the cluster has a peer secret, a proof each way
//! that the sender holds it.
//!
//! Both sides send their hello at once, then read and check the other's. A peer of another cluster,
//! another format version, or (when we dialed) another node than the one we meant is refused with a
//! typed [`HandshakeError`], logged, and the connection is closed.
//!
//! With a [`PeerSecret`] (`raft-kv serve --peer-secret-file`), the side that dialed then sends an
//! HMAC-SHA256, keyed with the secret, over (role, cluster id, both node ids, both nonces); the
//! side that accepted checks it and only then sends its own proof (another role label), which the
//! dialer checks. A peer without the secret, with another secret, or claiming an id it cannot
//! prove is refused with a log line that says which. The acceptor proves nothing before the dialer
//! has, so an outsider cannot use a node as an oracle for the proof it needs; the nonces make a
//! recorded proof useless on any other connection. See `docs/security.md` for what this does not
//! protect (no encryption; a man in the middle can still read and relay a connection).

use std::{io, time::Duration};

use bytes::{Bytes, BytesMut};
use futures::{Sink, SinkExt, Stream};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{framing, secret::PeerSecret, HandshakeError, NetError, NodeId};

/// "GNTL": marks a gauntlet peer connection, so a stray client on the port fails loudly.
pub const WIRE_MAGIC: u32 = 0x474e_544c;
/// Version of the peer wire format; bumped when the framing, the handshake or the message
/// encoding changes. Version 2 added the nonce and the peer-secret proof.
pub const WIRE_FORMAT_VERSION: u32 = 2;
/// Bytes of a hello's nonce.
pub const NONCE_LEN: usize = 32;
/// Bytes of a proof frame (an HMAC-SHA256 tag).
pub const PROOF_LEN: usize = 32;

/// The handshake frame. Fields are only ever appended in later versions, so an older node can still
/// read the version of a newer one and refuse it precisely (and this one reads the version of an
/// older one: see [`Hello::decode`]).
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
    /// Fresh random bytes for every connection when the sender proves a secret
    /// ([`handshake_with_secret`] draws them), so that a proof is good for one connection only;
    /// zero otherwise.
    pub nonce: [u8; NONCE_LEN],
    /// Whether the sender has a peer secret and will prove it after the hellos.
    pub proves_secret: bool,
}

/// The fields every version's hello starts with (version 1 had only these).
#[derive(Deserialize)]
struct HelloHead {
    magic: u32,
    format_version: u32,
    cluster_id: u64,
    node_id: NodeId,
}

impl Hello {
    /// This build's hello for the given cluster and node (zero nonce, no secret).
    pub fn new(cluster_id: u64, node_id: NodeId) -> Hello {
        Hello {
            magic: WIRE_MAGIC,
            format_version: WIRE_FORMAT_VERSION,
            cluster_id,
            node_id,
            nonce: [0; NONCE_LEN],
            proves_secret: false,
        }
    }

    /// Decodes a hello frame; extra bytes after the known fields are allowed (a newer version may
    /// append fields; its version number is then refused by [`check_hello`]). A shorter hello of
    /// another version or without our magic (an older node, or not a gauntlet node at all) decodes
    /// to its first fields, so that [`check_hello`] refuses it by name.
    pub fn decode(bytes: &[u8]) -> Result<Hello, HandshakeError> {
        match postcard::take_from_bytes::<Hello>(bytes) {
            Ok((hello, _rest)) => Ok(hello),
            Err(e) => match postcard::take_from_bytes::<HelloHead>(bytes) {
                Ok((head, _))
                    if head.magic != WIRE_MAGIC || head.format_version != WIRE_FORMAT_VERSION =>
                {
                    Ok(Hello {
                        magic: head.magic,
                        format_version: head.format_version,
                        ..Hello::new(head.cluster_id, head.node_id)
                    })
                }
                _ => Err(HandshakeError::Malformed(e.to_string())),
            },
        }
    }
}

/// Checks the remote hello against ours. `expected_peer` is the node we dialed (None when we
/// accepted the connection: any other member of our cluster may connect). Both sides must agree
/// on whether the cluster has a peer secret. Pure.
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
    match (mine.proves_secret, theirs.proves_secret) {
        (true, false) => Err(HandshakeError::NoSecret {
            peer: theirs.node_id,
        }),
        (false, true) => Err(HandshakeError::UnexpectedSecret {
            peer: theirs.node_id,
        }),
        _ => Ok(()),
    }
}

/// Which end of the connection a node is. The dialer knows whom it meant to reach and proves the
/// secret first; the acceptor takes any member of its cluster and proves the secret second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// We dialed the address of node `expected`.
    Dialed { expected: NodeId },
    /// We accepted the connection.
    Accepted,
}

impl Side {
    fn expected_peer(self) -> Option<NodeId> {
        match self {
            Side::Dialed { expected } => Some(expected),
            Side::Accepted => None,
        }
    }
}

/// Who a proof is from: labels keep a dialer's proof from passing for an acceptor's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofRole {
    Dialer,
    Acceptor,
}

/// The HMAC-SHA256 proof that the sender in `role` holds `secret`, over the role, the cluster id,
/// both node ids and both nonces of one connection (`dialer` and `acceptor` are the two hellos).
pub fn proof(
    secret: &PeerSecret,
    role: ProofRole,
    dialer: &Hello,
    acceptor: &Hello,
) -> [u8; PROOF_LEN] {
    proof_mac(secret, role, dialer, acceptor)
        .finalize()
        .into_bytes()
        .into()
}

/// Whether `tag` is the proof [`proof`] computes, compared in constant time.
pub fn verify_proof(
    secret: &PeerSecret,
    role: ProofRole,
    dialer: &Hello,
    acceptor: &Hello,
    tag: &[u8],
) -> bool {
    proof_mac(secret, role, dialer, acceptor)
        .verify_slice(tag)
        .is_ok()
}

fn proof_mac(
    secret: &PeerSecret,
    role: ProofRole,
    dialer: &Hello,
    acceptor: &Hello,
) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.key())
        .unwrap_or_else(|e| unreachable!("HMAC accepts keys of every length: {e}"));
    mac.update(b"gauntlet peer proof v2\0");
    mac.update(match role {
        ProofRole::Dialer => b"dialer",
        ProofRole::Acceptor => b"accept",
    });
    mac.update(&dialer.cluster_id.to_le_bytes());
    mac.update(&dialer.node_id.to_le_bytes());
    mac.update(&acceptor.node_id.to_le_bytes());
    mac.update(&dialer.nonce);
    mac.update(&acceptor.nonce);
    mac
}

/// Sends our hello, reads theirs and checks it, all within `timeout`, with no peer secret.
/// `expected_peer` is the node we dialed (None when we accepted). Returns the remote hello.
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
    let side = match expected_peer {
        Some(expected) => Side::Dialed { expected },
        None => Side::Accepted,
    };
    handshake_with_secret(reader, writer, mine, side, None, timeout, peer_addr).await
}

/// The handshake of [`handshake`], plus, with `secret`, the exchange of proofs: both ends must
/// hold the same secret. `mine` gives cluster and node id; the nonce is drawn here, fresh for this
/// connection. Everything happens within `timeout`. Returns the remote hello.
pub async fn handshake_with_secret<R, W>(
    reader: &mut R,
    writer: &mut W,
    mine: &Hello,
    side: Side,
    secret: Option<&PeerSecret>,
    timeout: Duration,
    peer_addr: &str,
) -> Result<Hello, NetError>
where
    R: Stream<Item = io::Result<BytesMut>> + Unpin,
    W: Sink<Bytes, Error = io::Error> + Unpin,
{
    let mut mine = *mine;
    mine.proves_secret = secret.is_some();
    if secret.is_some() {
        rand::rng().fill(&mut mine.nonce);
    }
    let exchange = async {
        framing::write_message(writer, &mine, framing::DEFAULT_MAX_FRAME_LEN).await?;
        let theirs = Hello::decode(&read_frame(reader).await?)?;
        check_hello(&mine, &theirs, side.expected_peer())?;
        if let Some(secret) = secret {
            exchange_proofs(reader, writer, secret, side, &mine, &theirs).await?;
        }
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
            authenticated = secret.is_some(),
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

/// The dialer proves first; the acceptor checks, then proves; the dialer checks.
async fn exchange_proofs<R, W>(
    reader: &mut R,
    writer: &mut W,
    secret: &PeerSecret,
    side: Side,
    mine: &Hello,
    theirs: &Hello,
) -> Result<(), NetError>
where
    R: Stream<Item = io::Result<BytesMut>> + Unpin,
    W: Sink<Bytes, Error = io::Error> + Unpin,
{
    let (dialer, acceptor, my_role, their_role) = match side {
        Side::Dialed { .. } => (mine, theirs, ProofRole::Dialer, ProofRole::Acceptor),
        Side::Accepted => (theirs, mine, ProofRole::Acceptor, ProofRole::Dialer),
    };
    let my_proof = Bytes::copy_from_slice(&proof(secret, my_role, dialer, acceptor));
    if my_role == ProofRole::Dialer {
        writer.send(my_proof.clone()).await?;
    }
    let tag = read_frame(reader).await?;
    if !verify_proof(secret, their_role, dialer, acceptor, &tag) {
        return Err(HandshakeError::BadProof {
            peer: theirs.node_id,
        }
        .into());
    }
    if my_role == ProofRole::Acceptor {
        writer.send(my_proof).await?;
    }
    Ok(())
}

/// The next frame, or why there is none.
async fn read_frame<R>(reader: &mut R) -> Result<BytesMut, NetError>
where
    R: Stream<Item = io::Result<BytesMut>> + Unpin,
{
    match futures::StreamExt::next(reader).await {
        Some(Ok(frame)) => Ok(frame),
        Some(Err(e)) => Err(framing::classify_io_error(
            e,
            framing::DEFAULT_MAX_FRAME_LEN,
        )),
        None => Err(NetError::Closed),
    }
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

    fn secret(bytes: &[u8]) -> PeerSecret {
        PeerSecret::new(bytes.to_vec())
    }

    fn with_nonce(mut hello: Hello, byte: u8) -> Hello {
        hello.nonce = [byte; NONCE_LEN];
        hello.proves_secret = true;
        hello
    }

    #[test]
    fn a_proof_is_bound_to_the_role_the_ids_and_both_nonces() {
        let key = secret(b"0123456789abcdef0123");
        let dialer = with_nonce(Hello::new(9, 1), 1);
        let acceptor = with_nonce(Hello::new(9, 2), 2);
        let tag = proof(&key, ProofRole::Dialer, &dialer, &acceptor);
        assert!(verify_proof(
            &key,
            ProofRole::Dialer,
            &dialer,
            &acceptor,
            &tag
        ));
        // Replayed on another connection (other nonces): refused.
        let other_nonce = with_nonce(Hello::new(9, 2), 3);
        assert!(!verify_proof(
            &key,
            ProofRole::Dialer,
            &dialer,
            &other_nonce,
            &tag
        ));
        // Claimed for another node id: refused.
        let as_node_3 = with_nonce(Hello::new(9, 3), 1);
        assert!(!verify_proof(
            &key,
            ProofRole::Dialer,
            &as_node_3,
            &acceptor,
            &tag
        ));
        // Reflected as the acceptor's proof: refused.
        assert!(!verify_proof(
            &key,
            ProofRole::Acceptor,
            &dialer,
            &acceptor,
            &tag
        ));
        // Another cluster: refused.
        let other_cluster = with_nonce(Hello::new(8, 1), 1);
        assert!(!verify_proof(
            &key,
            ProofRole::Dialer,
            &other_cluster,
            &acceptor,
            &tag
        ));
        // Another key, or a truncated tag: refused.
        assert!(!verify_proof(
            &secret(b"another-secret-key!!"),
            ProofRole::Dialer,
            &dialer,
            &acceptor,
            &tag
        ));
        assert!(!verify_proof(
            &key,
            ProofRole::Dialer,
            &dialer,
            &acceptor,
            &tag[..31]
        ));
    }

    #[test]
    fn a_secret_on_one_side_only_is_refused_by_name() {
        let mine = Hello {
            proves_secret: true,
            ..Hello::new(9, 1)
        };
        assert_eq!(
            check_hello(&mine, &Hello::new(9, 2), None),
            Err(HandshakeError::NoSecret { peer: 2 })
        );
        let theirs = Hello {
            proves_secret: true,
            ..Hello::new(9, 2)
        };
        assert_eq!(
            check_hello(&Hello::new(9, 1), &theirs, None),
            Err(HandshakeError::UnexpectedSecret { peer: 2 })
        );
    }

    #[test]
    fn a_version_1_hello_is_refused_as_another_version() {
        #[derive(Serialize)]
        struct HelloV1 {
            magic: u32,
            format_version: u32,
            cluster_id: u64,
            node_id: NodeId,
        }
        let old = postcard::to_allocvec(&HelloV1 {
            magic: WIRE_MAGIC,
            format_version: 1,
            cluster_id: 9,
            node_id: 2,
        })
        .unwrap();
        let decoded = Hello::decode(&old).unwrap();
        assert_eq!(
            check_hello(&Hello::new(9, 1), &decoded, None),
            Err(HandshakeError::WrongVersion {
                peer: 2,
                expected: WIRE_FORMAT_VERSION,
                got: 1
            })
        );
    }

    /// One end of a connection: its hello, side and secret.
    struct End {
        hello: Hello,
        side: Side,
        secret: Option<PeerSecret>,
    }

    /// Runs both ends of a handshake over an in-memory pipe; each end drops its half when done,
    /// as a node closes a refused connection.
    async fn run_pair(
        dialer: End,
        acceptor: End,
    ) -> (Result<Hello, NetError>, Result<Hello, NetError>) {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let run = |end: End, stream: tokio::io::DuplexStream| async move {
            let (read, write) = tokio::io::split(stream);
            let mut reader = tokio_util::codec::FramedRead::new(read, framing::frame_codec(4096));
            let mut writer = tokio_util::codec::FramedWrite::new(write, framing::frame_codec(4096));
            handshake_with_secret(
                &mut reader,
                &mut writer,
                &end.hello,
                end.side,
                end.secret.as_ref(),
                Duration::from_secs(5),
                "test",
            )
            .await
        };
        tokio::join!(run(dialer, a), run(acceptor, b))
    }

    fn dialer(id: NodeId, expected: NodeId, key: Option<&[u8]>) -> End {
        End {
            hello: Hello::new(9, id),
            side: Side::Dialed { expected },
            secret: key.map(secret),
        }
    }

    fn acceptor(id: NodeId, key: Option<&[u8]>) -> End {
        End {
            hello: Hello::new(9, id),
            side: Side::Accepted,
            secret: key.map(secret),
        }
    }

    const KEY: &[u8] = b"the cluster's shared key";

    #[tokio::test]
    async fn members_with_the_same_secret_complete_the_handshake() {
        let (d, a) = run_pair(dialer(1, 2, Some(KEY)), acceptor(2, Some(KEY))).await;
        let (d, a) = (d.unwrap(), a.unwrap());
        assert_eq!((d.node_id, a.node_id), (2, 1));
        assert!(d.proves_secret && a.proves_secret);
        assert_ne!(d.nonce, a.nonce, "every hello draws its own nonce");
    }

    #[tokio::test]
    async fn a_peer_with_another_secret_is_refused_before_the_acceptor_proves_anything() {
        let (d, a) = run_pair(
            dialer(1, 2, Some(b"a guess at the secret")),
            acceptor(2, Some(KEY)),
        )
        .await;
        assert!(
            matches!(
                a,
                Err(NetError::Handshake(HandshakeError::BadProof { peer: 1 }))
            ),
            "{a:?}"
        );
        // The acceptor closed without sending its proof.
        assert!(matches!(d, Err(NetError::Closed)), "{d:?}");
    }

    #[tokio::test]
    async fn an_acceptor_with_another_secret_is_refused_by_the_dialer() {
        let (d, a) = run_pair(
            dialer(1, 2, Some(KEY)),
            acceptor(2, Some(b"a guess at the secret")),
        )
        .await;
        assert!(
            matches!(
                a,
                Err(NetError::Handshake(HandshakeError::BadProof { peer: 1 }))
            ),
            "{a:?}"
        );
        assert!(d.is_err(), "{d:?}");
    }

    #[tokio::test]
    async fn a_peer_without_the_secret_is_refused_and_says_why() {
        let (d, a) = run_pair(dialer(1, 2, None), acceptor(2, Some(KEY))).await;
        assert!(
            matches!(
                a,
                Err(NetError::Handshake(HandshakeError::NoSecret { peer: 1 }))
            ),
            "{a:?}"
        );
        assert!(
            matches!(
                d,
                Err(NetError::Handshake(HandshakeError::UnexpectedSecret {
                    peer: 2
                }))
            ),
            "{d:?}"
        );
    }

    #[tokio::test]
    async fn an_impostor_claiming_a_members_id_cannot_prove_it() {
        // The impostor speaks the protocol by hand: claims node 2, says it proves the secret, sends a tag of
        // its own making (it cannot compute the real one).
        let (a, b) = tokio::io::duplex(64 * 1024);
        let impostor = async move {
            let (read, write) = tokio::io::split(a);
            let mut reader = tokio_util::codec::FramedRead::new(read, framing::frame_codec(4096));
            let mut writer = tokio_util::codec::FramedWrite::new(write, framing::frame_codec(4096));
            let hello = Hello {
                nonce: [7; NONCE_LEN],
                proves_secret: true,
                ..Hello::new(9, 2)
            };
            framing::write_message(&mut writer, &hello, 4096)
                .await
                .unwrap();
            let theirs = Hello::decode(&read_frame(&mut reader).await.unwrap()).unwrap();
            let forged = proof(
                &secret(b"not the cluster's key"),
                ProofRole::Dialer,
                &hello,
                &theirs,
            );
            writer.send(Bytes::copy_from_slice(&forged)).await.unwrap();
            read_frame(&mut reader).await
        };
        let node = async move {
            let (read, write) = tokio::io::split(b);
            let mut reader = tokio_util::codec::FramedRead::new(read, framing::frame_codec(4096));
            let mut writer = tokio_util::codec::FramedWrite::new(write, framing::frame_codec(4096));
            let key = secret(KEY);
            handshake_with_secret(
                &mut reader,
                &mut writer,
                &Hello::new(9, 1),
                Side::Accepted,
                Some(&key),
                Duration::from_secs(5),
                "test",
            )
            .await
        };
        let (impostor, node) = tokio::join!(impostor, node);
        assert!(
            matches!(
                node,
                Err(NetError::Handshake(HandshakeError::BadProof { peer: 2 }))
            ),
            "{node:?}"
        );
        assert!(
            matches!(impostor, Err(NetError::Closed)),
            "the node sent the impostor no proof: {impostor:?}"
        );
    }

    #[tokio::test]
    async fn a_member_answering_for_another_id_is_refused_by_the_dialer() {
        let (d, _a) = run_pair(dialer(1, 2, Some(KEY)), acceptor(3, Some(KEY))).await;
        assert!(
            matches!(
                d,
                Err(NetError::Handshake(HandshakeError::UnexpectedPeer {
                    expected: 2,
                    got: 3
                }))
            ),
            "{d:?}"
        );
    }
}
