//! The encoding of every snapshot part: a magic tag that carries the format
//! version, an xxh3 checksum of the payload, then the payload (bincode).
//!
//! ```text
//! "EDY" version:u8 | xxh3_64(payload):u64 LE | payload
//! ```

use serde::de::DeserializeOwned;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::CodecError;

/// The snapshot encoding's version; a part with another one is refused.
/// Version 3: the compact window state; version 4: the event clock's
/// progress (the store's versions too).
pub const PART_VERSION: u8 = 4;

const MAGIC: &[u8; 3] = b"EDY";
const HEADER: usize = 4 + 8;

/// Encodes `value` as a checksummed, versioned part.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(HEADER + 64);
    out.extend_from_slice(MAGIC);
    out.push(PART_VERSION);
    out.extend_from_slice(&[0; 8]);
    bincode::serialize_into(&mut out, value).map_err(|source| CodecError::Encode {
        what: "a snapshot part",
        source,
    })?;
    let sum = xxh3_64(&out[HEADER..]);
    out[4..HEADER].copy_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// A buffer to write a part's payload into by hand: [`seal`] it after.
pub fn unsealed() -> Vec<u8> {
    vec![0; HEADER]
}

/// Fills in the header of a buffer from [`unsealed`] (version, checksum of
/// everything after the header).
pub fn seal(mut part: Vec<u8>) -> Vec<u8> {
    let sum = xxh3_64(&part[HEADER..]);
    part[..3].copy_from_slice(MAGIC);
    part[3] = PART_VERSION;
    part[4..HEADER].copy_from_slice(&sum.to_le_bytes());
    part
}

/// Appends `[u32 length][bytes written by f]` to `out`.
pub fn framed(
    out: &mut Vec<u8>,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    f(out)?;
    let len = u32::try_from(out.len() - at - 4).map_err(|_| CodecError::TooLarge)?;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Splits `[u32 length][bytes]` off the front of `input`.
pub fn unframe<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], CodecError> {
    let (len, rest) = input.split_first_chunk::<4>().ok_or(CodecError::Truncated)?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(CodecError::Truncated);
    }
    let (item, rest) = rest.split_at(len);
    *input = rest;
    Ok(item)
}

/// Checks a part's header and checksum and returns its payload.
pub fn payload(bytes: &[u8]) -> Result<&[u8], CodecError> {
    if bytes.len() < HEADER || &bytes[..3] != MAGIC {
        return Err(CodecError::BadHeader);
    }
    if bytes[3] != PART_VERSION {
        return Err(CodecError::OtherVersion {
            found: bytes[3],
            expected: PART_VERSION,
        });
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&bytes[4..HEADER]);
    let payload = &bytes[HEADER..];
    if u64::from_le_bytes(sum) != xxh3_64(payload) {
        return Err(CodecError::Checksum);
    }
    Ok(payload)
}

/// Decodes a part written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    bincode::deserialize(payload(bytes)?).map_err(|source| CodecError::Decode {
        what: "snapshot part",
        source,
    })
}

/// Encodes a value inside a part (no header): per-key states.
pub fn encode_value<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::serialize_into(out, value).map_err(|source| CodecError::Encode {
        what: "state",
        source,
    })
}

/// Decodes a value written by [`encode_value`].
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    bincode::deserialize(bytes).map_err(|source| CodecError::Decode {
        what: "state",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let v = vec![("a".to_string(), 1u64), ("b".to_string(), 2)];
        let bytes = encode(&v).unwrap();
        assert_eq!(decode::<Vec<(String, u64)>>(&bytes).unwrap(), v);
    }

    #[test]
    fn hand_written_parts_are_sealed_and_framed() {
        let mut part = unsealed();
        framed(&mut part, |out| encode_value(&"key", out)).unwrap();
        framed(&mut part, |out| {
            out.extend_from_slice(b"state");
            Ok(())
        })
        .unwrap();
        let part = seal(part);
        let mut body = payload(&part).unwrap();
        let key: String = decode_value(unframe(&mut body).unwrap()).unwrap();
        assert_eq!(key, "key");
        assert_eq!(unframe(&mut body).unwrap(), b"state");
        assert!(body.is_empty());
        assert!(matches!(
            unframe(&mut &[5, 0, 0, 0, 1][..]),
            Err(CodecError::Truncated)
        ));
    }

    #[test]
    fn refuses_damage_and_other_versions() {
        let bytes = encode(&vec![1u32, 2, 3]).unwrap();
        // Every single flipped bit is caught.
        for i in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[i / 8] ^= 1 << (i % 8);
            let err = decode::<Vec<u32>>(&bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    CodecError::BadHeader | CodecError::Checksum | CodecError::OtherVersion { .. }
                ),
                "bit {i}: {err:?}"
            );
        }
        // Every truncation is caught.
        for n in 0..bytes.len() {
            let err = decode::<Vec<u32>>(&bytes[..n]).unwrap_err();
            assert!(
                matches!(err, CodecError::BadHeader | CodecError::Checksum),
                "length {n}: {err:?}"
            );
        }
        let mut other = bytes.clone();
        other[3] = PART_VERSION + 1;
        assert!(matches!(
            decode::<Vec<u32>>(&other),
            Err(CodecError::OtherVersion { found, expected: PART_VERSION }) if found == PART_VERSION + 1
        ));
        // A payload that is intact but of another type: bincode's error is the source.
        let err = decode::<Vec<String>>(&encode(&vec![u64::MAX]).unwrap()).unwrap_err();
        assert!(matches!(err, CodecError::Decode { .. }), "{err:?}");
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<bincode::Error>());
        assert!(source.is_some(), "{err:?}");
    }
}
