//! Encoding primitives, written once: integers, Variable Byte Integers, strings and binary data
//! appended to a caller's `Vec<u8>`.
//!
//! Callers compute the encoded size first and reserve it once, so these appends never reallocate
//! on the way; nothing here allocates anything else.

use super::error::EncodeError;

/// The largest value a Variable Byte Integer can hold (section 1.5.5).
pub const VARINT_MAX: u32 = 268_435_455;

pub(crate) fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Invariant: callers check `value <= VARINT_MAX` (see [`check_varint`]) before encoding.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: usize) {
    let mut v = value;
    loop {
        let mut byte = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if v == 0 {
            break;
        }
    }
}

pub(crate) fn check_varint(value: usize) -> Result<(), EncodeError> {
    if value > VARINT_MAX as usize {
        Err(EncodeError::PacketTooLarge)
    } else {
        Ok(())
    }
}

/// Strings and binary data carry a two-byte length, so they are at most 65,535 bytes.
pub(crate) fn check_binary(bytes: &[u8]) -> Result<(), EncodeError> {
    if bytes.len() > usize::from(u16::MAX) {
        Err(EncodeError::FieldTooLong)
    } else {
        Ok(())
    }
}

/// Invariant: the caller ran [`check_binary`] on `bytes` while sizing the packet.
pub(crate) fn put_binary(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u16(out, bytes.len() as u16);
    out.extend_from_slice(bytes);
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_binary(out, s.as_bytes());
}

/// Writes a fixed header with `remaining` as the Remaining Length.
pub(crate) fn put_header(out: &mut Vec<u8>, first_byte: u8, remaining: usize) {
    out.push(first_byte);
    put_varint(out, remaining);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packets::reader::Reader;

    #[test]
    fn varint_round_trip_at_boundaries() {
        for v in [
            0usize,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            268_435_455,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(Reader::new(&out).varint(), Ok(v as u32));
        }
        assert_eq!(check_varint(268_435_456), Err(EncodeError::PacketTooLarge));
    }
}
