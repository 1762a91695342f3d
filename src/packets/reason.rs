//! Reason codes (MQTT 5.0 section 2.4) and the ONE mapping from a [`DecodeError`] to the reason
//! code a receiver puts on the wire.
//!
//! MQTT 3.1.1 CONNACK return codes and SUBACK failure codes are mapped to and from these here too,
//! so the rest of the crate speaks only [`ReasonCode`].

use super::error::DecodeError;
use super::PacketType;

/// An MQTT 5.0 reason code. `0x00` is named [`ReasonCode::Success`]; it also means "Normal
/// disconnection" in DISCONNECT and "Granted QoS 0" in SUBACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
#[allow(missing_docs)] // the names are the specification's
pub enum ReasonCode {
    #[default]
    Success = 0x00,
    GrantedQoS1 = 0x01,
    GrantedQoS2 = 0x02,
    DisconnectWithWillMessage = 0x04,
    NoMatchingSubscribers = 0x10,
    NoSubscriptionExisted = 0x11,
    ContinueAuthentication = 0x18,
    ReAuthenticate = 0x19,
    UnspecifiedError = 0x80,
    MalformedPacket = 0x81,
    ProtocolError = 0x82,
    ImplementationSpecificError = 0x83,
    UnsupportedProtocolVersion = 0x84,
    ClientIdentifierNotValid = 0x85,
    BadUserNameOrPassword = 0x86,
    NotAuthorized = 0x87,
    ServerUnavailable = 0x88,
    ServerBusy = 0x89,
    Banned = 0x8A,
    ServerShuttingDown = 0x8B,
    BadAuthenticationMethod = 0x8C,
    KeepAliveTimeout = 0x8D,
    SessionTakenOver = 0x8E,
    TopicFilterInvalid = 0x8F,
    TopicNameInvalid = 0x90,
    PacketIdentifierInUse = 0x91,
    PacketIdentifierNotFound = 0x92,
    ReceiveMaximumExceeded = 0x93,
    TopicAliasInvalid = 0x94,
    PacketTooLarge = 0x95,
    MessageRateTooHigh = 0x96,
    QuotaExceeded = 0x97,
    AdministrativeAction = 0x98,
    PayloadFormatInvalid = 0x99,
    RetainNotSupported = 0x9A,
    QoSNotSupported = 0x9B,
    UseAnotherServer = 0x9C,
    ServerMoved = 0x9D,
    SharedSubscriptionsNotSupported = 0x9E,
    ConnectionRateExceeded = 0x9F,
    MaximumConnectTime = 0xA0,
    SubscriptionIdentifiersNotSupported = 0xA1,
    WildcardSubscriptionsNotSupported = 0xA2,
}

use ReasonCode as R;

/// Every reason code, in numeric order.
pub const ALL_REASON_CODES: [ReasonCode; 43] = [
    R::Success,
    R::GrantedQoS1,
    R::GrantedQoS2,
    R::DisconnectWithWillMessage,
    R::NoMatchingSubscribers,
    R::NoSubscriptionExisted,
    R::ContinueAuthentication,
    R::ReAuthenticate,
    R::UnspecifiedError,
    R::MalformedPacket,
    R::ProtocolError,
    R::ImplementationSpecificError,
    R::UnsupportedProtocolVersion,
    R::ClientIdentifierNotValid,
    R::BadUserNameOrPassword,
    R::NotAuthorized,
    R::ServerUnavailable,
    R::ServerBusy,
    R::Banned,
    R::ServerShuttingDown,
    R::BadAuthenticationMethod,
    R::KeepAliveTimeout,
    R::SessionTakenOver,
    R::TopicFilterInvalid,
    R::TopicNameInvalid,
    R::PacketIdentifierInUse,
    R::PacketIdentifierNotFound,
    R::ReceiveMaximumExceeded,
    R::TopicAliasInvalid,
    R::PacketTooLarge,
    R::MessageRateTooHigh,
    R::QuotaExceeded,
    R::AdministrativeAction,
    R::PayloadFormatInvalid,
    R::RetainNotSupported,
    R::QoSNotSupported,
    R::UseAnotherServer,
    R::ServerMoved,
    R::SharedSubscriptionsNotSupported,
    R::ConnectionRateExceeded,
    R::MaximumConnectTime,
    R::SubscriptionIdentifiersNotSupported,
    R::WildcardSubscriptionsNotSupported,
];

impl ReasonCode {
    /// The byte on the wire.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The reason code with this value, if MQTT 5.0 defines one.
    pub fn from_u8(code: u8) -> Option<Self> {
        ALL_REASON_CODES.iter().copied().find(|r| r.code() == code)
    }

    /// True for codes of 0x80 and above, which mean failure.
    pub fn is_error(self) -> bool {
        self.code() >= 0x80
    }

    /// Whether MQTT 5.0 (section 2.4, table 2-6) allows this code in a packet of `packet` type.
    pub fn allowed_in(self, packet: PacketType) -> bool {
        self.packets() & (1 << packet as u16) != 0
    }

    /// Bit `t` is set when packet type `t` may carry this code (table 2-6, row by row).
    fn packets(self) -> u16 {
        const CA: u16 = 1 << PacketType::ConnAck as u16;
        const PA: u16 = 1 << PacketType::PubAck as u16;
        const PRC: u16 = 1 << PacketType::PubRec as u16;
        const PRL: u16 = 1 << PacketType::PubRel as u16;
        const PC: u16 = 1 << PacketType::PubComp as u16;
        const SA: u16 = 1 << PacketType::SubAck as u16;
        const UA: u16 = 1 << PacketType::UnsubAck as u16;
        const D: u16 = 1 << PacketType::Disconnect as u16;
        const AU: u16 = 1 << PacketType::Auth as u16;
        match self {
            R::Success => CA | PA | PRC | PRL | PC | SA | UA | D | AU,
            R::GrantedQoS1 | R::GrantedQoS2 => SA,
            R::DisconnectWithWillMessage => D,
            R::NoMatchingSubscribers => PA | PRC,
            R::NoSubscriptionExisted => UA,
            R::ContinueAuthentication | R::ReAuthenticate => AU,
            R::UnspecifiedError | R::ImplementationSpecificError | R::NotAuthorized => {
                CA | PA | PRC | SA | UA | D
            }
            R::MalformedPacket | R::ProtocolError => CA | D,
            R::UnsupportedProtocolVersion
            | R::ClientIdentifierNotValid
            | R::BadUserNameOrPassword
            | R::ServerUnavailable
            | R::Banned => CA,
            R::ServerBusy
            | R::BadAuthenticationMethod
            | R::PacketTooLarge
            | R::RetainNotSupported
            | R::QoSNotSupported
            | R::UseAnotherServer
            | R::ServerMoved
            | R::ConnectionRateExceeded => CA | D,
            R::ServerShuttingDown
            | R::KeepAliveTimeout
            | R::SessionTakenOver
            | R::ReceiveMaximumExceeded
            | R::TopicAliasInvalid
            | R::MessageRateTooHigh
            | R::AdministrativeAction
            | R::MaximumConnectTime => D,
            R::TopicFilterInvalid => SA | UA | D,
            R::TopicNameInvalid | R::PayloadFormatInvalid => CA | PA | PRC | D,
            R::PacketIdentifierInUse => PA | PRC | SA | UA,
            R::PacketIdentifierNotFound => PRL | PC,
            R::QuotaExceeded => CA | PA | PRC | SA | D,
            R::SharedSubscriptionsNotSupported
            | R::SubscriptionIdentifiersNotSupported
            | R::WildcardSubscriptionsNotSupported => SA | D,
        }
    }

    /// The MQTT 3.1.1 CONNACK return code (section 3.2.2.3) closest to this reason.
    pub fn to_v3_connack(self) -> u8 {
        match self {
            R::Success => 0,
            R::UnsupportedProtocolVersion => 1,
            R::ClientIdentifierNotValid => 2,
            R::BadUserNameOrPassword | R::BadAuthenticationMethod => 4,
            R::NotAuthorized | R::Banned => 5,
            _ => 3,
        }
    }

    /// The reason for an MQTT 3.1.1 CONNACK return code, if it is one of 0 to 5.
    pub fn from_v3_connack(code: u8) -> Option<Self> {
        Some(match code {
            0 => R::Success,
            1 => R::UnsupportedProtocolVersion,
            2 => R::ClientIdentifierNotValid,
            3 => R::ServerUnavailable,
            4 => R::BadUserNameOrPassword,
            5 => R::NotAuthorized,
            _ => return None,
        })
    }

    /// The MQTT 3.1.1 SUBACK return code: the granted QoS, or 0x80 for any failure.
    pub fn to_v3_suback(self) -> u8 {
        match self {
            R::Success | R::GrantedQoS1 | R::GrantedQoS2 => self.code(),
            _ => 0x80,
        }
    }

    /// The reason for an MQTT 3.1.1 SUBACK return code (0, 1, 2 or 0x80).
    pub fn from_v3_suback(code: u8) -> Option<Self> {
        Some(match code {
            0 => R::Success,
            1 => R::GrantedQoS1,
            2 => R::GrantedQoS2,
            0x80 => R::UnspecifiedError,
            _ => return None,
        })
    }
}

impl DecodeError {
    /// The reason code a receiver sends (in CONNACK or DISCONNECT) before closing a connection
    /// that sent this. This is the one place the mapping lives.
    pub fn reason_code(self) -> ReasonCode {
        use DecodeError as E;
        match self {
            E::PacketTooLarge { .. } => R::PacketTooLarge,
            E::UnsupportedProtocolVersion(_) | E::InvalidProtocolName => {
                R::UnsupportedProtocolVersion
            }
            E::WildcardInTopicName => R::TopicNameInvalid,
            E::InvalidTopicAlias => R::TopicAliasInvalid,
            // "It is a Protocol Error to ..." in MQTT 5.0.
            E::DuplicateProperty(_)
            | E::InvalidPropertyValue(_)
            | E::EmptyTopicWithoutAlias
            | E::EmptySubscribe
            | E::EmptyUnsubscribe
            | E::InvalidSubscriptionQoS
            | E::InvalidRetainHandling => R::ProtocolError,
            // A packet that cannot be parsed (section 1.2, "Malformed Packet").
            E::InvalidPacketType(_)
            | E::InvalidHeaderFlags { .. }
            | E::VarintTooLong
            | E::NonMinimalVarint
            | E::Truncated
            | E::TrailingBytes
            | E::InvalidQoS
            | E::DupWithQoS0
            | E::InvalidUtf8
            | E::NullCharacter
            | E::EmptyTopicName
            | E::ZeroPacketId
            | E::ConnectReservedFlag
            | E::InvalidWillFlags
            | E::PasswordWithoutUsername
            | E::InvalidConnAckFlags
            | E::EmptyAck
            | E::SubscriptionOptionsReserved
            | E::InvalidReasonCode { .. }
            | E::UnknownProperty(_)
            | E::PropertyNotAllowed(_) => R::MalformedPacket,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in ALL_REASON_CODES {
            assert_eq!(ReasonCode::from_u8(r.code()), Some(r));
        }
        assert_eq!(ReasonCode::from_u8(0x03), None);
        assert_eq!(ReasonCode::from_u8(0xA3), None);
    }

    #[test]
    fn allowed_table_spot_checks() {
        use PacketType as P;
        let cases = [
            (R::Success, P::ConnAck, true),
            (R::UnsupportedProtocolVersion, P::ConnAck, true),
            (R::PacketTooLarge, P::ConnAck, true),
            (R::KeepAliveTimeout, P::ConnAck, false),
            (R::GrantedQoS1, P::ConnAck, false),
            (R::NoMatchingSubscribers, P::PubAck, true),
            (R::PayloadFormatInvalid, P::PubRec, true),
            (R::PacketIdentifierNotFound, P::PubAck, false),
            (R::PacketIdentifierNotFound, P::PubRel, true),
            (R::GrantedQoS2, P::SubAck, true),
            (R::NoSubscriptionExisted, P::UnsubAck, true),
            (R::NoSubscriptionExisted, P::SubAck, false),
            (R::DisconnectWithWillMessage, P::Disconnect, true),
            (R::SessionTakenOver, P::Disconnect, true),
            (R::ServerMoved, P::Disconnect, true),
            (R::BadUserNameOrPassword, P::Disconnect, false),
            (R::ReAuthenticate, P::Auth, true),
            (R::UnspecifiedError, P::Auth, false),
        ];
        for (code, packet, want) in cases {
            assert_eq!(code.allowed_in(packet), want, "{code:?} in {packet:?}");
        }
    }

    #[test]
    fn v3_mappings() {
        for code in 0..=5 {
            assert_eq!(
                ReasonCode::from_v3_connack(code).map(R::to_v3_connack),
                Some(code)
            );
        }
        assert_eq!(ReasonCode::from_v3_connack(6), None);
        for code in [0, 1, 2, 0x80] {
            assert_eq!(
                ReasonCode::from_v3_suback(code).map(R::to_v3_suback),
                Some(code)
            );
        }
        assert_eq!(R::TopicFilterInvalid.to_v3_suback(), 0x80);
    }
}
