//! The one bounded reader every decoder goes through.
//!
//! Every read is checked against the end of the buffer and returns [`DecodeError`] instead of
//! panicking; nothing here indexes a slice directly or allocates. Decoders borrow what they read
//! (`&'a str`, `&'a [u8]`) from the input buffer.

use super::error::DecodeError;

/// A cursor over one packet body (or one property block) that never reads past its end.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    /// What is still unread. Invariant: shrinks from the front only.
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or(DecodeError::Truncated)?;
        self.buf = rest;
        Ok(b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A Variable Byte Integer (MQTT 5.0 section 1.5.5): at most four bytes, minimally encoded
    /// (MQTT-1.5.5-1).
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..4 {
            let b = self.u8()?;
            value |= u32::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err(DecodeError::NonMinimalVarint);
                }
                return Ok(value);
            }
        }
        Err(DecodeError::VarintTooLong)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// Binary Data: a two-byte length and that many bytes (section 1.5.6).
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 Encoded String (section 1.5.4): well-formed UTF-8, so no surrogates
    /// (MQTT-1.5.4-1), and no U+0000 (MQTT-1.5.4-2).
    pub(crate) fn utf8(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.binary()?;
        utf8(bytes)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// The body must be fully consumed: trailing bytes make the packet malformed.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// Checks MQTT string rules on raw bytes: valid UTF-8 (which excludes surrogates,
/// MQTT-1.5.4-1) and no U+0000 (MQTT-1.5.4-2).
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    if bytes.contains(&0) {
        return Err(DecodeError::NullCharacter);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let cases: &[(&[u8], Result<u32, DecodeError>)] = &[
            (&[0x00], Ok(0)),
            (&[0x7F], Ok(127)),
            (&[0x80, 0x01], Ok(128)),
            (&[0xFF, 0x7F], Ok(16_383)),
            (&[0x80, 0x80, 0x01], Ok(16_384)),
            (&[0xFF, 0xFF, 0xFF, 0x7F], Ok(268_435_455)),
            (
                &[0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                Err(DecodeError::VarintTooLong),
            ),
            (&[0x80, 0x00], Err(DecodeError::NonMinimalVarint)),
            (&[0x80], Err(DecodeError::Truncated)),
            (&[], Err(DecodeError::Truncated)),
        ];
        for (bytes, want) in cases {
            assert_eq!(Reader::new(bytes).varint(), *want, "{bytes:02x?}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(Reader::new(&[0, 2, b'h', b'i']).utf8(), Ok("hi"));
        assert_eq!(
            Reader::new(&[0, 3, b'h', b'i']).utf8(),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            Reader::new(&[0, 1, 0]).utf8(),
            Err(DecodeError::NullCharacter)
        );
        // U+D800 encoded as if it were a scalar value: not UTF-8 (MQTT-1.5.4-1).
        assert_eq!(
            Reader::new(&[0, 3, 0xED, 0xA0, 0x80]).utf8(),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            Reader::new(&[0, 1, 0xFF]).utf8(),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn finish_rejects_trailing_bytes() {
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes));
        assert_eq!(r.u8(), Ok(2));
        assert_eq!(r.finish(), Ok(()));
        assert_eq!(r.u16(), Err(DecodeError::Truncated));
    }
}
