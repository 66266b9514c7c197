//! The decode-then-encode laws every postcard format here must obey, as one reusable assertion.

use std::fmt::Debug;

/// Checks, for a value `decoded` that was decoded from `input`:
/// * its encoding decodes back to an equal value;
/// * that encoding is no longer than `input` (postcard's canonical form is the shortest one, so a
///   longer result means the encoder and the decoder disagree on the format);
/// * encoding is deterministic (the re-decoded value encodes to the same bytes).
///
/// Panics with `what` in the message when a law is broken.
pub(crate) fn assert_round_trip<T, E>(
    what: &str,
    input: &[u8],
    decoded: &T,
    encode: impl Fn(&T) -> Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<T, E>,
) where
    T: PartialEq + Debug,
    E: Debug,
{
    let canonical = encode(decoded);
    let again = match decode(&canonical) {
        Ok(value) => value,
        Err(err) => panic!("{what}: the encoding of a decoded value does not decode: {err:?}"),
    };
    assert_eq!(&again, decoded, "{what}: decode(encode(x)) != x");
    assert!(
        canonical.len() <= input.len(),
        "{what}: re-encoding made {} bytes out of {} input bytes",
        canonical.len(),
        input.len()
    );
    assert_eq!(
        encode(&again),
        canonical,
        "{what}: encoding the same value twice gave different bytes"
    );
}
