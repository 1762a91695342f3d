//! Malformed and forbidden inputs: one table row per way a packet can be wrong, each naming the
//! exact [`DecodeError`], the reason code a 5.0 receiver sends for it, and the statement of the
//! specification it breaks (3.1.1 ids for 3.1.1 rows, 5.0 ids for 5.0 rows).
//!
//! Also the near misses that must be accepted (a repeated User Property, a password without a
//! user name in 5.0, a body that is merely incomplete).

use roost::packets::{
    decode, parse_frame, DecodeError, Packet, PacketType, PropertyId, ReasonCode, Status, Version,
};

use DecodeError as E;
use PacketType as T;
use PropertyId as P;
use Version::{V3_1_1 as V3, V5};

/// One malformed input.
struct Case {
    /// The statement (or section) the input violates.
    spec: &'static str,
    version: Version,
    bytes: &'static [u8],
    /// The largest packet the receiver accepts.
    max: usize,
    err: DecodeError,
    /// The reason code byte a 5.0 receiver sends before closing.
    reason: u8,
}

const fn case(
    spec: &'static str,
    version: Version,
    bytes: &'static [u8],
    err: DecodeError,
    reason: u8,
) -> Case {
    Case {
        spec,
        version,
        bytes,
        max: usize::MAX,
        err,
        reason,
    }
}

const fn flags(packet: PacketType, flags: u8) -> DecodeError {
    E::InvalidHeaderFlags { packet, flags }
}

const MALFORMED: u8 = 0x81;
const PROTOCOL: u8 = 0x82;
const UNSUPPORTED_VERSION: u8 = 0x84;
const TOPIC_NAME_INVALID: u8 = 0x90;
const TOPIC_ALIAS_INVALID: u8 = 0x94;
const TOO_LARGE: u8 = 0x95;

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ---- Fixed header: reserved flags of every packet type with fixed flags.
    case("MQTT-2.2.2-1", V3, &[0x11, 0x00], flags(T::Connect, 0x1), MALFORMED),
    case("MQTT-2.2.2-1", V3, &[0x28, 0x02, 0x00, 0x00], flags(T::ConnAck, 0x8), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0x41, 0x02, 0x00, 0x01], flags(T::PubAck, 0x1), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0x52, 0x02, 0x00, 0x01], flags(T::PubRec, 0x2), MALFORMED),
    case("MQTT-2.2.2-1", V3, &[0x60, 0x02, 0x00, 0x01], flags(T::PubRel, 0x0), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0x63, 0x02, 0x00, 0x01], flags(T::PubRel, 0x3), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0x74, 0x02, 0x00, 0x01], flags(T::PubComp, 0x4), MALFORMED),
    case("MQTT-2.2.2-1", V3, &[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00], flags(T::Subscribe, 0x0), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0x91, 0x04, 0x00, 0x01, 0x00, 0x00], flags(T::SubAck, 0x1), MALFORMED),
    case("MQTT-2.2.2-1", V3, &[0xA3, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'], flags(T::Unsubscribe, 0x3), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0xB2, 0x02, 0x00, 0x01], flags(T::UnsubAck, 0x2), MALFORMED),
    case("MQTT-2.2.2-1", V3, &[0xC1, 0x00], flags(T::PingReq, 0x1), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0xD8, 0x00], flags(T::PingResp, 0x8), MALFORMED),
    case("MQTT-2.2.2-1", V3, &[0xE2, 0x00], flags(T::Disconnect, 0x2), MALFORMED),
    case("MQTT-2.1.3-1", V5, &[0xF1, 0x00], flags(T::Auth, 0x1), MALFORMED),
    // ---- Fixed header: PUBLISH flags, packet types.
    case("MQTT-3.3.1-4", V3, &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01], E::InvalidQoS, MALFORMED),
    case("MQTT-3.3.1-4", V5, &[0x37, 0x00], E::InvalidQoS, MALFORMED),
    case("MQTT-3.3.1-2", V3, &[0x38, 0x03, 0x00, 0x01, b'a'], E::DupWithQoS0, MALFORMED),
    case("MQTT-3.3.1-2", V5, &[0x39, 0x04, 0x00, 0x01, b'a', 0x00], E::DupWithQoS0, MALFORMED),
    case("3.1.1 §2.2.1 (type 0 reserved)", V3, &[0x00, 0x00], E::InvalidPacketType(0), MALFORMED),
    case("5.0 §2.1.2 (type 0 reserved)", V5, &[0x00, 0x00], E::InvalidPacketType(0), MALFORMED),
    case("3.1.1 §2.2.1 (type 15 reserved)", V3, &[0xF0, 0x00], E::InvalidPacketType(15), MALFORMED),
    // ---- Remaining Length.
    case("3.1.1 §2.2.3 (at most four bytes)", V3, &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], E::VarintTooLong, MALFORMED),
    case("5.0 §1.5.5 (at most four bytes)", V5, &[0xC0, 0x80, 0x80, 0x80, 0x80, 0x00], E::VarintTooLong, MALFORMED),
    case("MQTT-1.5.5-1", V5, &[0x30, 0x80, 0x00], E::NonMinimalVarint, MALFORMED),
    case("MQTT-1.5.5-1", V5, &[0x30, 0x85, 0x80, 0x00], E::NonMinimalVarint, MALFORMED),
    // A Property Length of 0 written in two bytes.
    case("MQTT-1.5.5-1", V5, &[0x30, 0x05, 0x00, 0x01, b'a', 0x80, 0x00], E::NonMinimalVarint, MALFORMED),
    // ---- Fields running past the end of the body.
    case("3.1.1 §1.5.3 (string longer than the packet)", V3, &[0x30, 0x03, 0x00, 0x05, b'a'], E::Truncated, MALFORMED),
    case("5.0 §3.4.2 (no packet identifier)", V5, &[0x40, 0x01, 0x00], E::Truncated, MALFORMED),
    case("5.0 §2.2.2.1 (property block longer than the packet)", V5, &[0x40, 0x04, 0x00, 0x01, 0x00, 0x05], E::Truncated, MALFORMED),
    case("5.0 §3.1.2 (CONNECT ends inside Keep Alive)", V5, &[0x10, 0x08, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02], E::Truncated, MALFORMED),
    case("3.1.1 §3.1.3 (no Client Identifier)", V3, &[0x10, 0x0A, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C], E::Truncated, MALFORMED),
    // ---- UTF-8 Encoded Strings.
    case("MQTT-1.5.3-1", V3, &[0x30, 0x03, 0x00, 0x01, 0xFF], E::InvalidUtf8, MALFORMED),
    case("MQTT-1.5.4-1", V5, &[0x30, 0x06, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00], E::InvalidUtf8, MALFORMED),
    case("MQTT-1.5.4-1", V5, &[0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, 0xED, 0xA0, 0x80, 0x00], E::InvalidUtf8, MALFORMED),
    case("MQTT-1.5.3-2", V3, &[0x30, 0x03, 0x00, 0x01, 0x00], E::NullCharacter, MALFORMED),
    case("MQTT-1.5.4-2", V5, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x01, 0x00], E::NullCharacter, MALFORMED),
    case("MQTT-1.5.4-2", V5, &[0x40, 0x08, 0x00, 0x01, 0x80, 0x04, 0x1F, 0x00, 0x01, 0x00], E::NullCharacter, MALFORMED),
    // ---- Topic names.
    case("MQTT-3.3.2-2", V3, &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+'], E::WildcardInTopicName, TOPIC_NAME_INVALID),
    case("MQTT-3.3.2-2", V5, &[0x30, 0x06, 0x00, 0x03, b'a', b'/', b'#', 0x00], E::WildcardInTopicName, TOPIC_NAME_INVALID),
    case("MQTT-4.7.3-1", V3, &[0x30, 0x02, 0x00, 0x00], E::EmptyTopicName, MALFORMED),
    case("5.0 §3.3.2.1 (empty topic needs a Topic Alias)", V5, &[0x30, 0x03, 0x00, 0x00, 0x00], E::EmptyTopicWithoutAlias, PROTOCOL),
    case("MQTT-3.3.2-8", V5, &[0x30, 0x07, 0x00, 0x01, b'a', 0x03, 0x23, 0x00, 0x00], E::InvalidTopicAlias, TOPIC_ALIAS_INVALID),
    // ---- Packet identifier 0.
    case("MQTT-2.3.1-1", V3, &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00], E::ZeroPacketId, MALFORMED),
    case("MQTT-2.2.1-3", V5, &[0x34, 0x06, 0x00, 0x01, b'a', 0x00, 0x00, 0x00], E::ZeroPacketId, MALFORMED),
    case("MQTT-2.3.1-1", V3, &[0x40, 0x02, 0x00, 0x00], E::ZeroPacketId, MALFORMED),
    case("MQTT-2.2.1-3", V5, &[0x62, 0x02, 0x00, 0x00], E::ZeroPacketId, MALFORMED),
    case("MQTT-2.3.1-1", V3, &[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'a', 0x00], E::ZeroPacketId, MALFORMED),
    case("MQTT-2.2.1-3", V5, &[0xA2, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, b'a'], E::ZeroPacketId, MALFORMED),
    // ---- Properties that may appear once, repeated.
    case("5.0 §3.3.2.3.2", V5, &[0x30, 0x08, 0x00, 0x01, b'a', 0x04, 0x01, 0x00, 0x01, 0x01], E::DuplicateProperty(P::PayloadFormatIndicator), PROTOCOL),
    case("5.0 §3.3.2.3.4", V5, &[0x30, 0x0A, 0x00, 0x01, b'a', 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02], E::DuplicateProperty(P::TopicAlias), PROTOCOL),
    case("5.0 §3.1.2.11.2", V5, &[0x10, 0x17, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x01, 0x11, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00], E::DuplicateProperty(P::SessionExpiryInterval), PROTOCOL),
    case("5.0 §3.2.2.3.3", V5, &[0x20, 0x09, 0x00, 0x00, 0x06, 0x21, 0x00, 0x01, 0x21, 0x00, 0x01], E::DuplicateProperty(P::ReceiveMaximum), PROTOCOL),
    case("5.0 §3.4.2.2.2", V5, &[0x40, 0x0C, 0x00, 0x01, 0x00, 0x08, 0x1F, 0x00, 0x01, b'a', 0x1F, 0x00, 0x01, b'b'], E::DuplicateProperty(P::ReasonString), PROTOCOL),
    case("5.0 §3.8.2.1.2", V5, &[0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, b'a', 0x00], E::DuplicateProperty(P::SubscriptionIdentifier), PROTOCOL),
    case("5.0 §3.14.2.2.5", V5, &[0xE0, 0x0A, 0x9C, 0x08, 0x1C, 0x00, 0x01, b'a', 0x1C, 0x00, 0x01, b'b'], E::DuplicateProperty(P::ServerReference), PROTOCOL),
    case("5.0 §3.15.2.2.2", V5, &[0xF0, 0x0C, 0x18, 0x0A, 0x15, 0x00, 0x02, b'm', b'1', 0x15, 0x00, 0x02, b'm', b'2'], E::DuplicateProperty(P::AuthenticationMethod), PROTOCOL),
    // ---- Properties not allowed in the packet, and unknown identifiers.
    case("5.0 §2.2.2.2", V5, &[0x30, 0x09, 0x00, 0x01, b'a', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01], E::PropertyNotAllowed(P::SessionExpiryInterval), MALFORMED),
    case("5.0 §2.2.2.2", V5, &[0x30, 0x09, 0x00, 0x01, b'a', 0x04, 0x1F, 0x00, 0x01, b'r', 0x00], E::PropertyNotAllowed(P::ReasonString), MALFORMED),
    case("5.0 §2.2.2.2", V5, &[0x10, 0x0F, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x02, 0x24, 0x01, 0x00, 0x00], E::PropertyNotAllowed(P::MaximumQoS), MALFORMED),
    case("5.0 §2.2.2.2", V5, &[0x10, 0x12, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x05, 0x18, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00], E::PropertyNotAllowed(P::WillDelayInterval), MALFORMED),
    case("5.0 §2.2.2.2", V5, &[0x82, 0x0A, 0x00, 0x01, 0x03, 0x23, 0x00, 0x01, 0x00, 0x01, b'a', 0x00], E::PropertyNotAllowed(P::TopicAlias), MALFORMED),
    case("5.0 §2.2.2.2", V5, &[0xA2, 0x08, 0x00, 0x01, 0x02, 0x0B, 0x01, 0x00, 0x01, b'a'], E::PropertyNotAllowed(P::SubscriptionIdentifier), MALFORMED),
    case("5.0 §2.2.2.2", V5, &[0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01], E::PropertyNotAllowed(P::TopicAlias), MALFORMED),
    case("5.0 §2.2.2.2 (unknown identifier)", V5, &[0x40, 0x06, 0x00, 0x01, 0x00, 0x02, 0x7F, 0x00], E::UnknownProperty(0x7F), MALFORMED),
    case("5.0 §2.2.2.2 (unknown identifier)", V5, &[0xE0, 0x03, 0x00, 0x01, 0x00], E::UnknownProperty(0x00), MALFORMED),
    // ---- Property values out of range.
    case("5.0 §3.1.2.11.3", V5, &[0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x03, 0x21, 0x00, 0x00, 0x00, 0x00], E::InvalidPropertyValue(P::ReceiveMaximum), PROTOCOL),
    case("5.0 §3.2.2.3.3", V5, &[0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00], E::InvalidPropertyValue(P::ReceiveMaximum), PROTOCOL),
    case("5.0 §3.1.2.11.4", V5, &[0x10, 0x12, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x05, 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], E::InvalidPropertyValue(P::MaximumPacketSize), PROTOCOL),
    case("5.0 §3.8.2.1.2", V5, &[0x82, 0x09, 0x00, 0x01, 0x02, 0x0B, 0x00, 0x00, 0x01, b'a', 0x00], E::InvalidPropertyValue(P::SubscriptionIdentifier), PROTOCOL),
    case("5.0 §3.3.2.3.2", V5, &[0x30, 0x06, 0x00, 0x01, b'a', 0x02, 0x01, 0x02], E::InvalidPropertyValue(P::PayloadFormatIndicator), PROTOCOL),
    case("5.0 §3.2.2.3.4", V5, &[0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02], E::InvalidPropertyValue(P::MaximumQoS), PROTOCOL),
    case("5.0 §3.1.2.11.7", V5, &[0x10, 0x0F, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x02, 0x17, 0x02, 0x00, 0x00], E::InvalidPropertyValue(P::RequestProblemInformation), PROTOCOL),
    case("MQTT-3.3.2-14", V5, &[0x30, 0x09, 0x00, 0x01, b'a', 0x05, 0x08, 0x00, 0x02, b'a', b'#'], E::InvalidPropertyValue(P::ResponseTopic), PROTOCOL),
    case("5.0 §3.1.2.11.10", V5, &[0x10, 0x11, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x04, 0x16, 0x00, 0x01, 0xAA, 0x00, 0x00], E::InvalidPropertyValue(P::AuthenticationData), PROTOCOL),
    // ---- CONNECT.
    case("MQTT-3.1.2-13", V3, &[0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x08, 0x00, 0x3C, 0x00, 0x01, b'c'], E::InvalidWillFlags, MALFORMED),
    case("MQTT-3.1.2-11", V5, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x10, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c'], E::InvalidWillFlags, MALFORMED),
    case("MQTT-3.1.2-15", V3, &[0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x20, 0x00, 0x3C, 0x00, 0x01, b'c'], E::InvalidWillFlags, MALFORMED),
    case("MQTT-3.1.2-13", V5, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x22, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c'], E::InvalidWillFlags, MALFORMED),
    case("MQTT-3.1.2-14", V3, &[0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x1C, 0x00, 0x3C, 0x00, 0x01, b'c'], E::InvalidWillFlags, MALFORMED),
    case("MQTT-3.1.2-12", V5, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x1C, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c'], E::InvalidWillFlags, MALFORMED),
    case("MQTT-3.1.2-22", V3, &[0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x40, 0x00, 0x3C, 0x00, 0x01, b'c', 0x00, 0x01, b'p'], E::PasswordWithoutUsername, MALFORMED),
    case("MQTT-3.1.2-3", V3, &[0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x03, 0x00, 0x3C, 0x00, 0x01, b'c'], E::ConnectReservedFlag, MALFORMED),
    case("MQTT-3.1.2-3", V5, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x01, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c'], E::ConnectReservedFlag, MALFORMED),
    case("MQTT-3.1.2-1", V3, &[0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'X', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, b'c'], E::InvalidProtocolName, UNSUPPORTED_VERSION),
    case("MQTT-3.1.2-1", V3, &[0x10, 0x0D, 0x00, 0x04, b'm', b'q', b't', b't', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, b'c'], E::InvalidProtocolName, UNSUPPORTED_VERSION),
    case("MQTT-3.1.2-2", V3, &[0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3C, 0x00, 0x01, b'c'], E::UnsupportedProtocolVersion(6), UNSUPPORTED_VERSION),
    case("MQTT-3.1.2-2", V5, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x00, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c'], E::UnsupportedProtocolVersion(0), UNSUPPORTED_VERSION),
    case("MQTT-4.7.3-1 (will topic)", V3, &[0x10, 0x13, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x06, 0x00, 0x3C, 0x00, 0x01, b'c', 0x00, 0x00, 0x00, 0x02, b'h', b'i'], E::EmptyTopicName, MALFORMED),
    case("MQTT-3.1.2-9 (will topic is a topic name)", V3, &[0x10, 0x14, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x06, 0x00, 0x3C, 0x00, 0x01, b'c', 0x00, 0x01, b'#', 0x00, 0x02, b'h', b'i'], E::WildcardInTopicName, TOPIC_NAME_INVALID),
    // ---- CONNACK.
    case("MQTT-3.2.2-1", V5, &[0x20, 0x03, 0x02, 0x00, 0x00], E::InvalidConnAckFlags, MALFORMED),
    case("3.1.1 §3.2.2.1 (bits 7-1 reserved)", V3, &[0x20, 0x02, 0x80, 0x00], E::InvalidConnAckFlags, MALFORMED),
    case("MQTT-3.2.2-4", V3, &[0x20, 0x02, 0x01, 0x05], E::InvalidConnAckFlags, MALFORMED),
    case("MQTT-3.2.2-6", V5, &[0x20, 0x03, 0x01, 0x87, 0x00], E::InvalidConnAckFlags, MALFORMED),
    case("3.1.1 §3.2.2.3 (return codes 6-255 reserved)", V3, &[0x20, 0x02, 0x00, 0x06], E::InvalidReasonCode { packet: T::ConnAck, code: 6 }, MALFORMED),
    // ---- Acknowledgements and their reason codes.
    case("5.0 §3.4.2.1", V5, &[0x40, 0x03, 0x00, 0x01, 0x02], E::InvalidReasonCode { packet: T::PubAck, code: 0x02 }, MALFORMED),
    case("5.0 §3.4.2.1", V5, &[0x40, 0x03, 0x00, 0x01, 0x03], E::InvalidReasonCode { packet: T::PubAck, code: 0x03 }, MALFORMED),
    case("5.0 §3.6.2.1", V5, &[0x62, 0x03, 0x00, 0x01, 0x10], E::InvalidReasonCode { packet: T::PubRel, code: 0x10 }, MALFORMED),
    case("MQTT-3.9.3-2", V3, &[0x90, 0x03, 0x00, 0x01, 0x03], E::InvalidReasonCode { packet: T::SubAck, code: 0x03 }, MALFORMED),
    case("5.0 §3.14.2.1", V5, &[0xE0, 0x01, 0x86], E::InvalidReasonCode { packet: T::Disconnect, code: 0x86 }, MALFORMED),
    case("5.0 §3.15.2.1", V5, &[0xF0, 0x02, 0x80, 0x00], E::InvalidReasonCode { packet: T::Auth, code: 0x80 }, MALFORMED),
    case("MQTT-3.9.3-1 (a code per filter)", V3, &[0x90, 0x02, 0x00, 0x01], E::EmptyAck, MALFORMED),
    case("5.0 §3.11.3 (a code per filter)", V5, &[0xB0, 0x03, 0x00, 0x01, 0x00], E::EmptyAck, MALFORMED),
    // ---- SUBSCRIBE and UNSUBSCRIBE.
    case("MQTT-3.8.3-3", V3, &[0x82, 0x02, 0x00, 0x01], E::EmptySubscribe, PROTOCOL),
    case("MQTT-3.8.3-2", V5, &[0x82, 0x03, 0x00, 0x01, 0x00], E::EmptySubscribe, PROTOCOL),
    case("MQTT-3.10.3-2", V3, &[0xA2, 0x02, 0x00, 0x01], E::EmptyUnsubscribe, PROTOCOL),
    case("MQTT-3.10.3-2", V5, &[0xA2, 0x03, 0x00, 0x01, 0x00], E::EmptyUnsubscribe, PROTOCOL),
    case("MQTT-3-8.3-4", V3, &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x04], E::SubscriptionOptionsReserved, MALFORMED),
    // 3.1.1 sends no reason code; the one mapping gives 5.0's Protocol Error for both.
    case("MQTT-3-8.3-4", V3, &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x03], E::InvalidSubscriptionQoS, PROTOCOL),
    case("5.0 §3.8.3.1 (Maximum QoS 3)", V5, &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x03], E::InvalidSubscriptionQoS, PROTOCOL),
    case("MQTT-3.8.3-5", V5, &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x40], E::SubscriptionOptionsReserved, MALFORMED),
    case("MQTT-3.8.3-5", V5, &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x80], E::SubscriptionOptionsReserved, MALFORMED),
    case("5.0 §3.8.3.1 (Retain Handling 3)", V5, &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x30], E::InvalidRetainHandling, PROTOCOL),
    case("MQTT-3.8.3-1 (filter ends early)", V3, &[0x82, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'], E::Truncated, MALFORMED),
    // ---- Bytes after the last field.
    case("3.1.1 §3.14.3 (DISCONNECT has no payload)", V3, &[0xE0, 0x01, 0x00], E::TrailingBytes, MALFORMED),
    case("3.1.1 §3.12.3 (PINGREQ has no payload)", V3, &[0xC0, 0x01, 0x00], E::TrailingBytes, MALFORMED),
    case("5.0 §3.13.3 (PINGRESP has no payload)", V5, &[0xD0, 0x01, 0x00], E::TrailingBytes, MALFORMED),
    case("3.1.1 §3.1.3 (nothing after the last CONNECT field)", V3, &[0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, b'c', 0x00], E::TrailingBytes, MALFORMED),
    case("3.1.1 §3.4.1 (PUBACK remaining length 2)", V3, &[0x40, 0x03, 0x00, 0x01, 0x00], E::TrailingBytes, MALFORMED),
    case("5.0 §3.14.2.2 (nothing after the properties)", V5, &[0xE0, 0x03, 0x00, 0x00, 0x00], E::TrailingBytes, MALFORMED),
    case("3.1.1 §3.11 (UNSUBACK has no payload)", V3, &[0xB0, 0x03, 0x00, 0x01, 0x00], E::TrailingBytes, MALFORMED),
    // ---- Maximum packet size, judged from the fixed header alone.
    Case { max: 1 << 20, ..case("MQTT-3.2.2-15 (256 MB announced)", V5, &[0x30, 0xFF, 0xFF, 0xFF, 0x7F], E::PacketTooLarge { size: 268_435_460, max: 1 << 20 }, TOO_LARGE) },
    Case { max: 8, ..case("MQTT-3.2.2-15 (one byte over)", V5, &[0x30, 0x07], E::PacketTooLarge { size: 9, max: 8 }, TOO_LARGE) },
    Case { max: 2, ..case("MQTT-3.2.2-15 (3.1.1 receiver limit)", V3, &[0xC0, 0x01], E::PacketTooLarge { size: 3, max: 2 }, TOO_LARGE) },
];

#[test]
fn every_malformed_input_gives_its_exact_error_and_reason() {
    assert!(CASES.len() >= 45, "{} cases", CASES.len());
    for c in CASES {
        let got = decode(c.bytes, c.version, c.max).map(|s| match s {
            Status::Complete((p, n)) => Status::Complete((p.packet_type(), n)),
            Status::Partial(n) => Status::Partial(n),
        });
        assert_eq!(
            got,
            Err(c.err),
            "{} ({:?}): {:02x?}",
            c.spec,
            c.version,
            c.bytes
        );
        assert_eq!(
            c.err.reason_code().code(),
            c.reason,
            "{} ({:?}): {:?}",
            c.spec,
            c.version,
            c.err
        );
    }
}

/// A 5.0 receiver reports an error in a CONNECT with a CONNACK and any other with a
/// DISCONNECT; the reason must be one that packet may carry (5.0 table 2-6).
#[test]
fn reason_codes_of_errors_fit_the_packet_that_reports_them() {
    for c in CASES {
        let r = c.err.reason_code();
        let reporter = match c.bytes.first() {
            Some(b) if b >> 4 == 1 => T::ConnAck,
            _ => T::Disconnect,
        };
        assert!(r.is_error(), "{:?} -> {r:?}", c.err);
        assert!(r.allowed_in(reporter), "{}: {:?} -> {r:?}", c.spec, c.err);
    }
}

/// Every malformed input is complete: an error in the fixed header comes from `parse_frame`
/// before any body byte is needed, any other from `Packet::decode` of a whole frame.
#[test]
fn errors_come_from_the_layer_that_owns_them() {
    for c in CASES {
        match parse_frame(c.bytes, c.max) {
            Err(e) => assert_eq!(e, c.err, "{}: {:02x?}", c.spec, c.bytes),
            Ok(Status::Complete(frame)) => {
                assert_eq!(frame.len, c.bytes.len(), "{}", c.spec);
                assert_eq!(
                    Packet::decode(&frame, c.version).map(|p| p.packet_type()),
                    Err(c.err),
                    "{}: {:02x?}",
                    c.spec,
                    c.bytes
                );
            }
            Ok(Status::Partial(n)) => panic!("{}: {:02x?} needs {n} more", c.spec, c.bytes),
        }
    }
}

/// Inputs that look wrong but are valid: each decodes to a packet of the given type, using the
/// whole buffer.
#[rustfmt::skip]
const ACCEPTED: &[(&str, Version, &[u8], PacketType)] = &[
    // User Property may appear more than once (5.0 §3.1.2.11.8, MQTT-3.3.2-17).
    ("5.0 §3.3.2.3.7", V5, &[0x30, 0x14, 0x00, 0x01, b'a', 0x0E, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', b'h', b'i'], T::Publish),
    ("5.0 §3.14.2.2.4", V5, &[0xE0, 0x10, 0x00, 0x0E, 0x26, 0x00, 0x01, b'a', 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x03, b'x', b'y', b'z'], T::Disconnect),
    // Subscription Identifier may repeat in a PUBLISH to a client (MQTT-3.3.4-4).
    ("MQTT-3.3.4-4", V5, &[0x30, 0x08, 0x00, 0x01, b'a', 0x04, 0x0B, 0x01, 0x0B, 0x02], T::Publish),
    // A password without a user name is allowed in 5.0 (section 3.1.2.9).
    ("5.0 §3.1.2.9", V5, &[0x10, 0x11, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x40, 0x00, 0x3C, 0x00, 0x00, 0x01, b'c', 0x00, 0x01, b'p'], T::Connect),
    // An empty topic with a Topic Alias (5.0 §3.3.2.1).
    ("5.0 §3.3.2.1", V5, &[0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01], T::Publish),
    // Reason code and property length left out (5.0 §3.4.2.1, §3.14.2.1, §3.15.2.1).
    ("5.0 §3.4.2.1", V5, &[0x50, 0x02, 0x00, 0x01], T::PubRec),
    ("5.0 §3.4.2.1", V5, &[0x70, 0x03, 0x00, 0x01, 0x92], T::PubComp),
    ("5.0 §3.14.2.1", V5, &[0xE0, 0x00], T::Disconnect),
    ("5.0 §3.15.2.1", V5, &[0xF0, 0x00], T::Auth),
    // A 3.1 CONNECT: protocol name MQIsdp at level 3.
    ("MQTT 3.1 §3.1", V3, &[0x10, 0x0F, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x02, 0x00, 0x3C, 0x00, 0x01, b'c'], T::Connect),
    // A topic filter with wildcards is fine in SUBSCRIBE (MQTT-4.7.1-1 concerns filters).
    ("MQTT-4.7.1-2", V3, &[0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x01], T::Subscribe),
    // The maximum is inclusive.
    ("MQTT-3.2.2-15", V3, &[0xC0, 0x00], T::PingReq),
];

#[test]
fn near_misses_are_accepted() {
    for &(spec, version, bytes, want) in ACCEPTED {
        let max = if want == T::PingReq { 2 } else { usize::MAX };
        match decode(bytes, version, max) {
            Ok(Status::Complete((p, used))) => {
                assert_eq!((p.packet_type(), used), (want, bytes.len()), "{spec}");
            }
            other => panic!("{spec}: {bytes:02x?} -> {other:?}"),
        }
    }
}

#[test]
fn repeated_user_properties_keep_their_order() {
    let bytes = ACCEPTED[1].2;
    let Ok(Status::Complete((Packet::Disconnect(d), _))) = decode(bytes, V5, usize::MAX) else {
        panic!("{bytes:02x?}")
    };
    let pairs: Vec<_> = d.properties.user.iter().collect();
    assert_eq!(pairs, [("a", ""), ("", "xyz")]);
}

/// A body shorter than its Remaining Length is not malformed, only incomplete (style rule 2);
/// a field longer than the body is (the row "string longer than the packet" above).
#[test]
fn a_short_body_is_partial_not_an_error() {
    let cases: &[(&[u8], usize)] = &[
        (&[0x30, 0x05, 0x00, 0x01], 3),
        (&[0x30, 0x05], 5),
        (&[0x30], 1),
        (&[0x30, 0x80], 1),
        (&[], 2),
        (&[0x10, 0x0D, 0x00, 0x04, b'M'], 10),
    ];
    for &(bytes, missing) in cases {
        assert_eq!(
            parse_frame(bytes, usize::MAX),
            Ok(Status::Partial(missing)),
            "{bytes:02x?}"
        );
        assert!(
            matches!(decode(bytes, V5, usize::MAX), Ok(Status::Partial(n)) if n == missing),
            "{bytes:02x?}"
        );
    }
}

/// The mapping is total: every variant the table uses maps to one of the codes the codec
/// documents, and Malformed Packet is the default for anything unparseable.
#[test]
fn reason_code_table_covers_the_documented_codes() {
    let mut seen: Vec<u8> = CASES.iter().map(|c| c.reason).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        [
            MALFORMED,
            PROTOCOL,
            UNSUPPORTED_VERSION,
            TOPIC_NAME_INVALID,
            TOPIC_ALIAS_INVALID,
            TOO_LARGE
        ]
    );
    assert_eq!(E::Truncated.reason_code(), ReasonCode::MalformedPacket);
}

/// MQTT 5.0 section 3.15.2.1: AUTH leaves out its reason code and properties together, and only
/// for Success; otherwise the Authentication Method must be present (3.15.2.2.2).
#[test]
fn auth_needs_properties_and_a_method_unless_empty() {
    use roost::packets::{decode, DecodeError, PropertyId, Status, Version};
    assert!(matches!(
        decode(&[0xF0, 0x00], Version::V5, 64),
        Ok(Status::Complete(_))
    ));
    assert_eq!(
        decode(&[0xF0, 0x01, 0x18], Version::V5, 64),
        Err(DecodeError::Truncated)
    );
    assert_eq!(
        decode(&[0xF0, 0x02, 0x18, 0x00], Version::V5, 64),
        Err(DecodeError::InvalidPropertyValue(
            PropertyId::AuthenticationMethod
        ))
    );
    let with_method = [0xF0, 0x07, 0x18, 0x05, 0x15, 0x00, 0x02, b'm', b'x'];
    assert!(matches!(
        decode(&with_method, Version::V5, 64),
        Ok(Status::Complete(_))
    ));
}
