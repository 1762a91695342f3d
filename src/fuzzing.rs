//! Entry points for the cargo-fuzz targets in `fuzz/` (hidden: not an API, may change at any time).
//!
//! Each hook takes arbitrary bytes and drives the public codec the way a connection would. The
//! hooks panic on purpose when the codec breaks one of its promises: a panic is the fuzzer's
//! oracle. Decoding errors are expected and ignored; only broken invariants panic. The hooks
//! must not panic on anything else, so they use no `unwrap` on codec results they cannot vouch
//! for.

use crate::packets::{decode, parse_frame, Packet, Status, Version};

/// The maximum packet size the hooks accept, like a broker's configured limit.
pub const MAX_PACKET: usize = 64 * 1024;

/// Decodes every packet in `data` as a 3.1.1 connection would.
pub fn decode_v3(data: &[u8]) {
    decode_stream(data, Version::V3_1_1);
}

/// Decodes every packet in `data` as a 5.0 connection would.
pub fn decode_v5(data: &[u8]) {
    decode_stream(data, Version::V5);
}

/// Decode, encode, decode again: the first byte selects the version, the rest is one packet.
///
/// A decoded packet must encode (for the same version) to exactly [`Packet::encoded_len`] bytes,
/// and those bytes must decode to an equal packet. Before 5.0 the bytes are also identical to
/// the input; a 5.0 packet may come back shorter (a receiver accepts the long forms of
/// properties and reason codes, an encoder writes the short ones) or with its properties in
/// another order.
pub fn roundtrip(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let version = match selector % 3 {
        0 => Version::V3_1,
        1 => Version::V3_1_1,
        _ => Version::V5,
    };
    let Ok(Status::Complete((packet, used))) = decode(input, version, MAX_PACKET) else {
        return;
    };
    let len = match packet.encoded_len(version) {
        Ok(len) => len,
        Err(e) => panic!("decoded packet does not measure: {e}\n{packet:?}"),
    };
    let mut out = Vec::new();
    let written = match packet.encode(version, &mut out) {
        Ok(n) => n,
        Err(e) => panic!("decoded packet does not encode: {e}\n{packet:?}"),
    };
    assert_eq!(
        written, len,
        "encoded_len disagrees with encode: {packet:?}"
    );
    assert_eq!(
        out.len(),
        written,
        "encode miscounts its output: {packet:?}"
    );
    match decode(&out, version, usize::MAX) {
        Ok(Status::Complete((again, again_used))) => {
            assert_eq!(again_used, out.len(), "re-decoded length differs");
            assert_eq!(again, packet, "re-decoded packet differs");
        }
        other => panic!("encoded packet does not decode: {other:?}\n{packet:?}\n{out:02x?}"),
    }
    if !speaks_v5(&packet, version) {
        assert_eq!(out, input[..used], "3.1.1 bytes differ: {packet:?}");
    }
}

/// Splits `data` into frames the way a connection's receive loop does, checking what
/// [`parse_frame`] promises about incomplete input on the way, and decodes each frame. Stops at
/// the first error, as a connection would close.
fn decode_stream(data: &[u8], version: Version) {
    let mut rest = data;
    loop {
        match parse_frame(rest, MAX_PACKET) {
            Ok(Status::Complete(frame)) => {
                assert!(frame.len >= 2 && frame.len <= rest.len(), "frame length");
                check_partial(&rest[..frame.len - 1], frame.len);
                if let Ok(packet) = Packet::decode(&frame, version) {
                    // Measuring walks the lazily decoded property blocks.
                    let _ = packet.encoded_len(version);
                }
                rest = &rest[frame.len..];
            }
            Ok(Status::Partial(n)) => {
                assert!(n >= 1, "Partial(0)");
                break;
            }
            Err(_) => break,
        }
    }
}

/// A proper prefix of a packet of `full` bytes is incomplete, and the missing count does not
/// overshoot the packet.
fn check_partial(prefix: &[u8], full: usize) {
    match parse_frame(prefix, MAX_PACKET) {
        Ok(Status::Partial(n)) => assert!(
            n >= 1 && prefix.len() + n <= full,
            "Partial({n}) for {} of {full} bytes",
            prefix.len()
        ),
        other => panic!("prefix of a packet: {other:?}"),
    }
}

/// True when `packet` is in its MQTT 5.0 form: on a 5.0 connection, or a 5.0 CONNECT.
fn speaks_v5(packet: &Packet<'_>, version: Version) -> bool {
    version.is_v5() || matches!(packet, Packet::Connect(c) if c.protocol.is_v5())
}
