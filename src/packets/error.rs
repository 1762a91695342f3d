//! Decoding and encoding errors of the codec.
//!
//! Every way a packet can be wrong is one [`DecodeError`] variant; which reason code a broker
//! sends for it is decided in one place, [`DecodeError::reason_code`] (in `reason.rs`).

use super::properties::PropertyId;
use super::PacketType;

/// Why bytes are not a valid MQTT control packet.
///
/// "Not enough bytes yet" is not an error: it is [`Status::Partial`](super::Status::Partial).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet type nibble is 0 (reserved), or 15 (AUTH) outside MQTT 5.0.
    #[error("invalid packet type {0}")]
    InvalidPacketType(u8),
    /// The fixed header flags are not those the packet type requires (MQTT-2.1.3-1).
    #[error("invalid fixed header flags {flags:#06b} for {packet:?}")]
    InvalidHeaderFlags {
        /// The packet type.
        packet: PacketType,
        /// The four flag bits received.
        flags: u8,
    },
    /// The Remaining Length, or another Variable Byte Integer, has more than four bytes.
    #[error("variable byte integer longer than four bytes")]
    VarintTooLong,
    /// A Variable Byte Integer does not use the fewest bytes possible (MQTT-1.5.5-1).
    #[error("variable byte integer not minimally encoded")]
    NonMinimalVarint,
    /// The packet is larger than the receiver's maximum packet size.
    #[error("packet of {size} bytes exceeds the maximum of {max}")]
    PacketTooLarge {
        /// Size of the whole packet, fixed header included.
        size: usize,
        /// The maximum allowed.
        max: usize,
    },
    /// A field runs past the end of the packet.
    #[error("packet shorter than its contents")]
    Truncated,
    /// Bytes are left over after the last field of the packet.
    #[error("unexpected bytes after the end of the packet")]
    TrailingBytes,
    /// A QoS of 3 (MQTT-3.3.1-4).
    #[error("invalid QoS 3")]
    InvalidQoS,
    /// DUP set on a QoS 0 PUBLISH (MQTT-3.3.1-2).
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupWithQoS0,
    /// A string is not well-formed UTF-8, e.g. encodes a surrogate (MQTT-1.5.4-1).
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string contains U+0000 (MQTT-1.5.4-2).
    #[error("string contains U+0000")]
    NullCharacter,
    /// A PUBLISH or will topic name contains `+` or `#` (MQTT-3.3.2-2).
    #[error("wildcard in a topic name")]
    WildcardInTopicName,
    /// A zero-length topic name where no topic alias may stand for it (MQTT-4.7.3-1).
    #[error("empty topic name")]
    EmptyTopicName,
    /// A zero-length PUBLISH topic without a Topic Alias (MQTT 5.0 section 3.3.2.1).
    #[error("empty topic name without a topic alias")]
    EmptyTopicWithoutAlias,
    /// Packet identifier 0 in a packet that needs one (MQTT-2.2.1-3).
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// The protocol name is neither `MQTT` nor `MQIsdp` for its level (MQTT-3.1.2-1).
    #[error("invalid protocol name")]
    InvalidProtocolName,
    /// The protocol level is not 3, 4 or 5 (MQTT-3.1.2-2).
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolVersion(u8),
    /// The reserved CONNECT flag is set (MQTT-3.1.2-3).
    #[error("reserved CONNECT flag set")]
    ConnectReservedFlag,
    /// Will QoS or Will Retain set without the Will Flag, or a Will QoS of 3
    /// (MQTT-3.1.2-11, MQTT-3.1.2-13, MQTT-3.1.2-15).
    #[error("will flags contradict each other")]
    InvalidWillFlags,
    /// A password without a user name in MQTT 3.1.1 (MQTT-3.1.2-22).
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// Reserved CONNACK acknowledge flags set, or Session Present with a failure code
    /// (MQTT-3.2.2-1, MQTT-3.2.2-6).
    #[error("invalid CONNACK flags")]
    InvalidConnAckFlags,
    /// A SUBSCRIBE without any topic filter (MQTT-3.8.3-3).
    #[error("SUBSCRIBE without topic filters")]
    EmptySubscribe,
    /// An UNSUBSCRIBE without any topic filter (MQTT-3.10.3-2).
    #[error("UNSUBSCRIBE without topic filters")]
    EmptyUnsubscribe,
    /// A SUBACK or UNSUBACK (5.0) without any reason code.
    #[error("acknowledgement without reason codes")]
    EmptyAck,
    /// Reserved bits of the subscription options are set (MQTT-3.8.3-4, MQTT-3.8.3-5).
    #[error("reserved subscription option bits set")]
    SubscriptionOptionsReserved,
    /// A Maximum QoS of 3 in subscription options: a Protocol Error in MQTT 5.0 (section
    /// 3.8.3.1), where a QoS of 3 elsewhere is a Malformed Packet (3.1.1: MQTT-3-8.3-4).
    #[error("maximum QoS 3 in subscription options")]
    InvalidSubscriptionQoS,
    /// Retain Handling of 3 (MQTT 5.0 section 3.8.3.1).
    #[error("retain handling 3")]
    InvalidRetainHandling,
    /// A reason or return code not defined for this packet.
    #[error("reason code {code:#04x} not valid in {packet:?}")]
    InvalidReasonCode {
        /// The packet type.
        packet: PacketType,
        /// The code received.
        code: u8,
    },
    /// A property identifier MQTT 5.0 does not define.
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u32),
    /// A property that may not appear in this packet (section 2.2.2.2).
    #[error("property {0:?} not allowed here")]
    PropertyNotAllowed(PropertyId),
    /// A property that may appear once appears again.
    #[error("property {0:?} included more than once")]
    DuplicateProperty(PropertyId),
    /// A property value outside its allowed range (e.g. Receive Maximum 0).
    #[error("invalid value for property {0:?}")]
    InvalidPropertyValue(PropertyId),
    /// Topic Alias 0 (MQTT-3.3.2-8).
    #[error("topic alias 0")]
    InvalidTopicAlias,
}

/// Why a packet value cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The Remaining Length would exceed 268,435,455 bytes.
    #[error("packet too large to encode")]
    PacketTooLarge,
    /// A string or binary field is longer than 65,535 bytes.
    #[error("string or binary field longer than 65535 bytes")]
    FieldTooLong,
    /// A value the protocol cannot carry (e.g. a subscription identifier of 0, an empty
    /// SUBSCRIBE, a CONNACK with Session Present and a failure code).
    #[error("invalid value: {0}")]
    InvalidValue(&'static str),
}
