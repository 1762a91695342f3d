//! The fixed header (section 2.1): packet type, flags and Remaining Length, and the split of a
//! receive buffer into one whole packet.
//!
//! The size limit is checked from the fixed header alone, before a single body byte is needed,
//! so a peer that announces a huge packet and then stalls makes no one reserve memory for it.

use super::error::DecodeError;
use super::{PacketType, Status};

/// One complete packet in a buffer: its type, flags and body, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The packet type from the high nibble of the first byte.
    pub packet_type: PacketType,
    /// The low nibble of the first byte.
    pub flags: u8,
    /// The variable header and payload (Remaining Length bytes).
    pub body: &'a [u8],
    /// Bytes the whole packet takes in the buffer, fixed header included.
    pub len: usize,
}

/// Finds the first packet in `buf`.
///
/// Returns [`Status::Partial`] with the number of bytes still missing (at least 1) when `buf`
/// does not hold a whole packet yet; nothing is consumed. `max_len` bounds the whole packet,
/// fixed header included (the Maximum Packet Size of MQTT 5.0): a larger packet is
/// [`DecodeError::PacketTooLarge`] as soon as its fixed header is in.
pub fn parse_frame(buf: &[u8], max_len: usize) -> Result<Status<Frame<'_>>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(Status::Partial(2));
    };
    let packet_type = PacketType::from_nibble(first >> 4)?;
    let flags = first & 0x0F;
    check_flags(packet_type, flags)?;

    let mut remaining: usize = 0;
    let mut header_len = 1;
    loop {
        let Some(&b) = buf.get(header_len) else {
            return Ok(Status::Partial(1));
        };
        remaining |= usize::from(b & 0x7F) << (7 * (header_len - 1));
        header_len += 1;
        if b & 0x80 == 0 {
            if header_len > 2 && b == 0 {
                return Err(DecodeError::NonMinimalVarint);
            }
            break;
        }
        if header_len == 5 {
            // MQTT-1.5.5: at most four bytes.
            return Err(DecodeError::VarintTooLong);
        }
    }

    let len = header_len + remaining;
    if len > max_len {
        return Err(DecodeError::PacketTooLarge {
            size: len,
            max: max_len,
        });
    }
    match buf.get(header_len..len) {
        Some(body) => Ok(Status::Complete(Frame {
            packet_type,
            flags,
            body,
            len,
        })),
        None => Ok(Status::Partial(len - buf.len())),
    }
}

/// MQTT-2.1.3-1: the flags are fixed for every packet type but PUBLISH (whose QoS 3 is
/// rejected here too, MQTT-3.3.1-4).
fn check_flags(packet_type: PacketType, flags: u8) -> Result<(), DecodeError> {
    let ok = match packet_type {
        PacketType::Publish => {
            if (flags >> 1) & 0b11 == 3 {
                return Err(DecodeError::InvalidQoS);
            }
            true
        }
        PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => flags == 0b0010,
        _ => flags == 0,
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::InvalidHeaderFlags {
            packet: packet_type,
            flags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_until_complete_and_never_consumes() {
        let packet = [0x30, 0x05, 0x00, 0x01, b'a', b'h', b'i'];
        for cut in 0..packet.len() {
            match parse_frame(&packet[..cut], 1024) {
                Ok(Status::Partial(n)) => assert!(n >= 1 && cut + n <= packet.len(), "{cut}: {n}"),
                other => panic!("{cut}: {other:?}"),
            }
        }
        let Ok(Status::Complete(f)) = parse_frame(&packet, 1024) else {
            panic!()
        };
        assert_eq!(
            (f.packet_type, f.flags, f.body, f.len),
            (PacketType::Publish, 0, &packet[2..], 7)
        );
    }

    #[test]
    fn announced_size_is_checked_before_the_body_arrives() {
        // 256 MB announced, nothing else sent.
        let header = [0x30, 0xFF, 0xFF, 0xFF, 0x7F];
        assert_eq!(
            parse_frame(&header, 1 << 20),
            Err(DecodeError::PacketTooLarge {
                size: 268_435_460,
                max: 1 << 20
            })
        );
        // With a large enough limit it is simply incomplete.
        assert_eq!(
            parse_frame(&header, usize::MAX),
            Ok(Status::Partial(268_435_455))
        );
    }

    #[test]
    fn pubrel_needs_its_fixed_flags() {
        assert!(parse_frame(&[0x62, 0x02, 0, 1], 16).is_ok());
    }

    #[test]
    fn header_errors() {
        let cases: &[(&[u8], DecodeError)] = &[
            (&[0x00, 0x00], DecodeError::InvalidPacketType(0)),
            (&[0x36, 0x00], DecodeError::InvalidQoS),
            (
                &[0x60, 0x02, 0, 1],
                DecodeError::InvalidHeaderFlags {
                    packet: PacketType::PubRel,
                    flags: 0,
                },
            ),
            (
                &[0x80, 0x00],
                DecodeError::InvalidHeaderFlags {
                    packet: PacketType::Subscribe,
                    flags: 0,
                },
            ),
            (
                &[0xC1, 0x00],
                DecodeError::InvalidHeaderFlags {
                    packet: PacketType::PingReq,
                    flags: 1,
                },
            ),
            (
                &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
                DecodeError::VarintTooLong,
            ),
            (&[0x30, 0x80, 0x00], DecodeError::NonMinimalVarint),
        ];
        for (bytes, want) in cases {
            let got = parse_frame(bytes, usize::MAX);
            assert_eq!(got, Err(*want), "{bytes:02x?}");
        }
    }
}
