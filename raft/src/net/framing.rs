//! Frames on the wire: a 4-byte big-endian length, then a postcard payload holding exactly one message.
//!
//! The length is checked against an explicit maximum before any buffer is grown for the payload, so
//! a peer announcing a 4 GiB frame costs us nothing and gets its connection closed. Below the
//! maximum, an announced length reserves nothing either: the read buffer grows only as the frame's
//! bytes actually arrive, so a half-sent frame announcing 1 MiB costs what was sent, not 1 MiB.
//! [`decode_frame_payload`] and [`decode_stream`] are pure functions for fuzz targets.

use std::io;

use bytes::{Bytes, BytesMut};
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use super::NetError;

/// Default limit on one frame's payload: large enough for a snapshot chunk, small enough that a
/// hostile length cannot exhaust memory.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Bytes of the length prefix in front of every frame.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// The codec every gauntlet connection uses: u32 big-endian length prefix, payload at most
/// `max_frame_len` bytes (longer announced lengths are a decode error, raised before allocating).
pub fn frame_codec(max_frame_len: usize) -> FrameCodec {
    FrameCodec {
        inner: LengthDelimitedCodec::builder()
            .length_field_type::<u32>()
            .max_frame_length(max_frame_len)
            .new_codec(),
        max_frame_len,
    }
}

/// A length-delimited codec that never reserves room for a frame ahead of its bytes.
///
/// Tokio's `LengthDelimitedCodec` reserves the whole announced length as soon as it reads a
/// header, so every half-sent frame would pin up to `max_frame_len` bytes. This codec hands a
/// frame to it only once the frame is complete in the buffer (or its announced length is over the
/// limit, which the inner codec refuses without allocating); until then the read buffer grows only
/// as bytes arrive.
#[derive(Debug)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
    max_frame_len: usize,
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        let Some(head) = src
            .get(..LENGTH_PREFIX_LEN)
            .and_then(|head| <[u8; LENGTH_PREFIX_LEN]>::try_from(head).ok())
        else {
            return Ok(None);
        };
        let announced = u32::from_be_bytes(head) as usize;
        let complete = src.len() - LENGTH_PREFIX_LEN >= announced;
        if announced <= self.max_frame_len && !complete {
            return Ok(None);
        }
        self.inner.decode(src)
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        self.inner.encode(frame, dst)
    }
}

/// Encodes one message as a frame payload, refusing payloads longer than `max_frame_len`.
pub fn encode_frame_payload<M: Serialize>(
    msg: &M,
    max_frame_len: usize,
) -> Result<Bytes, NetError> {
    let payload = postcard::to_allocvec(msg).map_err(|source| NetError::Encode {
        what: std::any::type_name::<M>(),
        source,
    })?;
    if payload.len() > max_frame_len {
        return Err(NetError::FrameTooLarge {
            len: payload.len(),
            max: max_frame_len,
        });
    }
    Ok(Bytes::from(payload))
}

/// Decodes one frame payload as exactly one `M`. Never panics, whatever the bytes.
pub fn decode_frame_payload<M: DeserializeOwned>(bytes: &[u8]) -> Result<M, NetError> {
    let expected = std::any::type_name::<M>();
    let (msg, rest) = postcard::take_from_bytes::<M>(bytes)
        .map_err(|source| NetError::Decode { expected, source })?;
    if !rest.is_empty() {
        return Err(NetError::TrailingBytes {
            expected,
            trailing: rest.len(),
        });
    }
    Ok(msg)
}

/// Decodes a raw byte stream (length prefixes and payloads) the way a connection would: returns the
/// messages decoded before the first error, and that error if any. Trailing bytes of an incomplete
/// frame are not an error (the connection would wait for more). Pure; for fuzz targets.
pub fn decode_stream<M: DeserializeOwned>(
    bytes: &[u8],
    max_frame_len: usize,
) -> (Vec<M>, Option<NetError>) {
    let mut codec = frame_codec(max_frame_len);
    let mut buf = BytesMut::from(bytes);
    let mut messages = Vec::new();
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => match decode_frame_payload::<M>(&frame) {
                Ok(msg) => messages.push(msg),
                Err(e) => return (messages, Some(e)),
            },
            Ok(None) => return (messages, None),
            Err(e) => return (messages, Some(classify_io_error(e, max_frame_len))),
        }
    }
}

/// Turns the codec's "frame too long" into a typed error; other IO errors pass through.
pub fn classify_io_error(err: io::Error, max_frame_len: usize) -> NetError {
    let too_long = err
        .get_ref()
        .is_some_and(|inner| inner.is::<tokio_util::codec::LengthDelimitedCodecError>());
    if too_long {
        NetError::AnnouncedFrameTooLarge { max: max_frame_len }
    } else {
        NetError::Io(err)
    }
}

/// Reads the next frame from `frames` and decodes it as one `M`.
/// A clean end of stream is [`NetError::Closed`].
pub async fn read_message<M, S>(frames: &mut S, max_frame_len: usize) -> Result<M, NetError>
where
    M: DeserializeOwned,
    S: Stream<Item = io::Result<BytesMut>> + Unpin,
{
    match frames.next().await {
        Some(Ok(frame)) => decode_frame_payload(&frame),
        Some(Err(e)) => Err(classify_io_error(e, max_frame_len)),
        None => Err(NetError::Closed),
    }
}

/// Encodes `msg` and writes it as one frame, flushing the sink.
pub async fn write_message<M, S>(
    sink: &mut S,
    msg: &M,
    max_frame_len: usize,
) -> Result<usize, NetError>
where
    M: Serialize,
    S: Sink<Bytes, Error = io::Error> + Unpin,
{
    let payload = encode_frame_payload(msg, max_frame_len)?;
    let len = payload.len();
    sink.send(payload).await?;
    Ok(len + LENGTH_PREFIX_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Msg {
        id: u64,
        body: Vec<u8>,
    }

    fn framed(payload: &[u8]) -> BytesMut {
        let mut buf = BytesMut::new();
        frame_codec(DEFAULT_MAX_FRAME_LEN)
            .encode(Bytes::copy_from_slice(payload), &mut buf)
            .unwrap();
        buf
    }

    #[test]
    fn payload_round_trips() {
        let msg = Msg {
            id: 7,
            body: vec![1, 2, 3],
        };
        let bytes = encode_frame_payload(&msg, 1024).unwrap();
        assert_eq!(decode_frame_payload::<Msg>(&bytes).unwrap(), msg);
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_frame_payload(
            &Msg {
                id: 1,
                body: vec![],
            },
            1024,
        )
        .unwrap()
        .to_vec();
        bytes.push(0);
        assert!(matches!(
            decode_frame_payload::<Msg>(&bytes),
            Err(NetError::TrailingBytes { trailing: 1, .. })
        ));
    }

    #[test]
    fn oversized_message_is_not_encoded() {
        let msg = Msg {
            id: 1,
            body: vec![0; 100],
        };
        assert!(matches!(
            encode_frame_payload(&msg, 50),
            Err(NetError::FrameTooLarge { max: 50, .. })
        ));
    }

    #[test]
    fn announced_oversize_length_fails_before_allocating() {
        let mut codec = frame_codec(1024);
        let mut buf = BytesMut::with_capacity(8);
        buf.put_u32(u32::MAX);
        buf.put_slice(&[1, 2, 3]);
        let capacity_before = buf.capacity();
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(matches!(
            classify_io_error(err, 1024),
            NetError::AnnouncedFrameTooLarge { max: 1024 }
        ));
        assert_eq!(
            buf.capacity(),
            capacity_before,
            "the codec must not grow the buffer"
        );
    }

    #[test]
    fn a_half_sent_frame_reserves_nothing_for_its_announced_length() {
        let mut codec = frame_codec(DEFAULT_MAX_FRAME_LEN);
        let mut buf = BytesMut::with_capacity(64);
        buf.put_u32(1024 * 1024);
        buf.put_slice(&[7; 10]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(
            buf.capacity() < 1024,
            "the buffer grew to {} for a frame whose bytes have not arrived",
            buf.capacity()
        );
        // The rest of the frame arrives: it decodes whole.
        buf.put_slice(&vec![7; 1024 * 1024 - 10]);
        let frame = codec.decode(&mut buf).unwrap().expect("a complete frame");
        assert_eq!(frame.len(), 1024 * 1024);
        assert!(buf.is_empty());
    }

    #[test]
    fn length_at_the_limit_is_accepted() {
        let payload = encode_frame_payload(
            &Msg {
                id: 3,
                body: vec![9; 20],
            },
            1024,
        )
        .unwrap();
        let stream = framed(&payload);
        let (msgs, err) = decode_stream::<Msg>(&stream, payload.len());
        assert!(err.is_none());
        assert_eq!(
            msgs,
            vec![Msg {
                id: 3,
                body: vec![9; 20]
            }]
        );
        let (msgs, err) = decode_stream::<Msg>(&stream, payload.len() - 1);
        assert!(msgs.is_empty());
        assert!(matches!(err, Some(NetError::AnnouncedFrameTooLarge { .. })));
    }

    #[test]
    fn stream_decodes_messages_then_stops_at_garbage() {
        let mut stream = framed(
            &encode_frame_payload(
                &Msg {
                    id: 1,
                    body: vec![],
                },
                1024,
            )
            .unwrap(),
        );
        stream.extend_from_slice(&framed(&[0xff, 0xff, 0xff]));
        let (msgs, err) = decode_stream::<Msg>(&stream, 1024);
        assert_eq!(msgs.len(), 1);
        assert!(matches!(err, Some(NetError::Decode { .. })));
    }

    #[test]
    fn incomplete_frame_is_not_an_error() {
        let stream = framed(
            &encode_frame_payload(
                &Msg {
                    id: 1,
                    body: vec![5; 10],
                },
                1024,
            )
            .unwrap(),
        );
        let (msgs, err) = decode_stream::<Msg>(&stream[..stream.len() - 1], 1024);
        assert!(msgs.is_empty());
        assert!(err.is_none());
    }

    proptest::proptest! {
        #[test]
        fn messages_survive_any_split_into_reads(
            bodies in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..300), 1..10),
            cuts in proptest::collection::vec(1usize..64, 1..40),
        ) {
            let sent: Vec<Msg> = bodies.into_iter().enumerate().map(|(i, body)| Msg { id: i as u64, body }).collect();
            let mut wire = BytesMut::new();
            for msg in &sent {
                wire.extend_from_slice(&framed(&encode_frame_payload(msg, 1024).unwrap()));
            }
            // Feed the codec in arbitrary pieces, as TCP reads would deliver them.
            let mut codec = frame_codec(1024);
            let mut buf = BytesMut::new();
            let mut received = Vec::new();
            let mut offset = 0;
            for cut in cuts.iter().cycle() {
                if offset >= wire.len() {
                    break;
                }
                let end = (offset + cut).min(wire.len());
                buf.extend_from_slice(&wire[offset..end]);
                offset = end;
                while let Some(frame) = codec.decode(&mut buf).unwrap() {
                    received.push(decode_frame_payload::<Msg>(&frame).unwrap());
                }
            }
            proptest::prop_assert_eq!(received, sent);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode_frame_payload::<Msg>(&bytes);
            let _ = decode_stream::<Msg>(&bytes, 64);
        }
    }
}
