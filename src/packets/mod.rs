//! `roost::packets`: a complete, strict, allocation-free MQTT 3.1.1 and 5.0 codec.
//!
//! This module is pure: it turns bytes into [`Packet`] values and packets into bytes, and never
//! does IO. It is public so that other projects can use it on their own.
//!
//! # Decoding
//! [`parse_frame`] finds one whole packet at the start of a buffer, or says how many more bytes
//! are needed ([`Status::Partial`]) without consuming anything. It checks the Remaining Length
//! against the caller's maximum from the fixed header alone, before any body byte is buffered.
//! [`Packet::decode`] then decodes the frame for a protocol [`Version`], borrowing strings and
//! payloads from the buffer: decoding a PUBLISH allocates nothing. [`decode`] does both.
//!
//! Every violation is a [`DecodeError`]; [`DecodeError::reason_code`] is the reason code an
//! MQTT 5.0 receiver sends before it closes the connection.
//!
//! ```
//! use roost::packets::{decode, Packet, Status, Version};
//!
//! let bytes = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];
//! let Ok(Status::Complete((Packet::Publish(p), used))) = decode(&bytes, Version::V3_1_1, 1024)
//! else { panic!() };
//! assert_eq!((p.topic, p.payload, used), ("a/b", &b"hi"[..], 9));
//! ```
//!
//! # Encoding
//! [`Packet::encoded_len`] gives the exact size in advance; [`Packet::encode`] appends the packet
//! to a caller's `Vec<u8>` after reserving that much once. A packet encodes to the view of the
//! target version: MQTT 5.0 properties and reason codes are dropped when encoding for 3.1.1, and
//! failure codes map to their 3.1.1 equivalents (this is what a broker does when it forwards a
//! 5.0 message to a 3.1.1 subscriber).

mod acks;
mod auth;
mod connack;
mod connect;
mod disconnect;
mod error;
mod frame;
mod properties;
mod publish;
mod reader;
mod reason;
mod subscribe;
mod writer;

use std::num::NonZeroU16;

pub use acks::{Ack, AckProperties};
pub use auth::{Auth, AuthProperties};
pub use connack::{ConnAck, ConnAckProperties};
pub use connect::{Connect, ConnectProperties, Will, WillProperties};
pub use disconnect::{Disconnect, DisconnectProperties};
pub use error::{DecodeError, EncodeError};
pub use frame::{parse_frame, Frame};
pub use properties::{
    Property, PropertyContext, PropertyId, PropertyIter, SubscriptionIds, UserProperties, WireType,
};
pub use publish::{Publish, PublishProperties, QosPid};
pub use reason::{ReasonCode, ALL_REASON_CODES};
pub use subscribe::{
    RetainHandling, SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
    UnsubAck, Unsubscribe,
};
pub use writer::VARINT_MAX;

/// The protocol version a connection speaks, from the CONNECT protocol level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// MQTT 3.1 (protocol name `MQIsdp`, level 3); otherwise handled as 3.1.1.
    V3_1,
    /// MQTT 3.1.1 (level 4).
    V3_1_1,
    /// MQTT 5.0 (level 5).
    V5,
}

impl Version {
    /// The protocol level byte of CONNECT.
    pub fn level(self) -> u8 {
        match self {
            Version::V3_1 => 3,
            Version::V3_1_1 => 4,
            Version::V5 => 5,
        }
    }

    /// True for MQTT 5.0.
    pub fn is_v5(self) -> bool {
        self == Version::V5
    }
}

/// Quality of service. A QoS of 3 cannot exist: the decoder rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    /// QoS 0.
    #[default]
    AtMostOnce = 0,
    /// QoS 1.
    AtLeastOnce = 1,
    /// QoS 2.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for 0, 1 or 2.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// A packet identifier, never 0 (MQTT-2.2.1-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(pub NonZeroU16);

impl PacketId {
    /// The identifier `v`, or `None` for 0.
    pub fn new(v: u16) -> Option<Self> {
        NonZeroU16::new(v).map(PacketId)
    }

    /// The value on the wire.
    pub fn get(self) -> u16 {
        self.0.get()
    }

    pub(crate) fn read(r: &mut reader::Reader<'_>) -> Result<Self, DecodeError> {
        PacketId::new(r.u16()?).ok_or(DecodeError::ZeroPacketId)
    }
}

/// The control packet type, from the high nibble of the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the names are the specification's
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    fn from_nibble(n: u8) -> Result<Self, DecodeError> {
        use PacketType as T;
        Ok(match n {
            1 => T::Connect,
            2 => T::ConnAck,
            3 => T::Publish,
            4 => T::PubAck,
            5 => T::PubRec,
            6 => T::PubRel,
            7 => T::PubComp,
            8 => T::Subscribe,
            9 => T::SubAck,
            10 => T::Unsubscribe,
            11 => T::UnsubAck,
            12 => T::PingReq,
            13 => T::PingResp,
            14 => T::Disconnect,
            15 => T::Auth,
            _ => return Err(DecodeError::InvalidPacketType(n)),
        })
    }
}

/// The outcome of looking for a packet in a buffer that may hold only part of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// A whole packet.
    Complete(T),
    /// At least this many more bytes are needed (always 1 or more); nothing was consumed.
    Partial(usize),
}

/// Any MQTT control packet, borrowing from the buffer it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Packet<'a> {
    Connect(Connect<'a>),
    ConnAck(ConnAck<'a>),
    Publish(Publish<'a>),
    PubAck(Ack<'a>),
    PubRec(Ack<'a>),
    PubRel(Ack<'a>),
    PubComp(Ack<'a>),
    Subscribe(Subscribe<'a>),
    SubAck(SubAck<'a>),
    Unsubscribe(Unsubscribe<'a>),
    UnsubAck(UnsubAck<'a>),
    PingReq,
    PingResp,
    Disconnect(Disconnect<'a>),
    Auth(Auth<'a>),
}

/// Decodes the first packet in `buf`: [`parse_frame`] then [`Packet::decode`]. On success also
/// returns how many bytes the packet took.
pub fn decode(
    buf: &[u8],
    version: Version,
    max_len: usize,
) -> Result<Status<(Packet<'_>, usize)>, DecodeError> {
    match parse_frame(buf, max_len)? {
        Status::Complete(frame) => Ok(Status::Complete((
            Packet::decode(&frame, version)?,
            frame.len,
        ))),
        Status::Partial(n) => Ok(Status::Partial(n)),
    }
}

impl<'a> Packet<'a> {
    /// Decodes a frame for `version`. A CONNECT carries its own version and is decoded the same
    /// whatever `version` says; AUTH exists only in MQTT 5.0.
    pub fn decode(frame: &Frame<'a>, version: Version) -> Result<Self, DecodeError> {
        use PacketType as T;
        let v5 = version.is_v5();
        let body = frame.body;
        Ok(match frame.packet_type {
            T::Connect => Packet::Connect(Connect::decode(body)?),
            T::ConnAck => Packet::ConnAck(ConnAck::decode(body, v5)?),
            T::Publish => Packet::Publish(Publish::decode(frame.flags, body, v5)?),
            T::PubAck => Packet::PubAck(Ack::decode(T::PubAck, body, v5)?),
            T::PubRec => Packet::PubRec(Ack::decode(T::PubRec, body, v5)?),
            T::PubRel => Packet::PubRel(Ack::decode(T::PubRel, body, v5)?),
            T::PubComp => Packet::PubComp(Ack::decode(T::PubComp, body, v5)?),
            T::Subscribe => Packet::Subscribe(Subscribe::decode(body, v5)?),
            T::SubAck => Packet::SubAck(SubAck::decode(body, v5)?),
            T::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(body, v5)?),
            T::UnsubAck => Packet::UnsubAck(UnsubAck::decode(body, v5)?),
            T::PingReq | T::PingResp => {
                reader::Reader::new(body).finish()?;
                if frame.packet_type == T::PingReq {
                    Packet::PingReq
                } else {
                    Packet::PingResp
                }
            }
            T::Disconnect => Packet::Disconnect(Disconnect::decode(body, v5)?),
            T::Auth if v5 => Packet::Auth(Auth::decode(body)?),
            T::Auth => return Err(DecodeError::InvalidPacketType(15)),
        })
    }

    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        use PacketType as T;
        match self {
            Packet::Connect(_) => T::Connect,
            Packet::ConnAck(_) => T::ConnAck,
            Packet::Publish(_) => T::Publish,
            Packet::PubAck(_) => T::PubAck,
            Packet::PubRec(_) => T::PubRec,
            Packet::PubRel(_) => T::PubRel,
            Packet::PubComp(_) => T::PubComp,
            Packet::Subscribe(_) => T::Subscribe,
            Packet::SubAck(_) => T::SubAck,
            Packet::Unsubscribe(_) => T::Unsubscribe,
            Packet::UnsubAck(_) => T::UnsubAck,
            Packet::PingReq => T::PingReq,
            Packet::PingResp => T::PingResp,
            Packet::Disconnect(_) => T::Disconnect,
            Packet::Auth(_) => T::Auth,
        }
    }

    /// The exact number of bytes [`Packet::encode`] writes for `version`.
    pub fn encoded_len(&self, version: Version) -> Result<usize, EncodeError> {
        let remaining = self.remaining_len(version)?;
        writer::check_varint(remaining)?;
        Ok(1 + writer::varint_len(remaining) + remaining)
    }

    /// Appends the packet, encoded for `version`, to `out`; returns the number of bytes written.
    /// `out` reserves room for exactly that many bytes once (`Vec::reserve`, so it may round
    /// its capacity up) and never reallocates while writing.
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        let remaining = self.remaining_len(version)?;
        writer::check_varint(remaining)?;
        let total = 1 + writer::varint_len(remaining) + remaining;
        out.reserve(total);
        let start = out.len();
        let v5 = version.is_v5();
        writer::put_header(out, self.first_byte(), remaining);
        match self {
            Packet::Connect(p) => p.write(out),
            Packet::ConnAck(p) => p.write(out, v5),
            Packet::Publish(p) => p.write(out, v5),
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                p.write(out, v5)
            }
            Packet::Subscribe(p) => p.write(out, v5),
            Packet::SubAck(p) => p.write(out, v5),
            Packet::Unsubscribe(p) => p.write(out, v5),
            Packet::UnsubAck(p) => p.write(out, v5),
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(p) => p.write(out, v5),
            Packet::Auth(p) => p.write(out),
        }
        debug_assert_eq!(out.len() - start, total, "{self:?}");
        Ok(total)
    }

    fn first_byte(&self) -> u8 {
        let flags = match self {
            Packet::Publish(p) => p.flags(),
            Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => 0b0010,
            _ => 0,
        };
        (self.packet_type() as u8) << 4 | flags
    }

    fn remaining_len(&self, version: Version) -> Result<usize, EncodeError> {
        let v5 = version.is_v5();
        match self {
            Packet::Connect(p) => p.remaining_len(),
            Packet::ConnAck(p) => p.remaining_len(v5),
            Packet::Publish(p) => p.remaining_len(v5),
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                if v5 && !p.reason.allowed_in(self.packet_type()) {
                    return Err(EncodeError::InvalidValue(
                        "reason code not allowed in this packet",
                    ));
                }
                p.remaining_len(v5)
            }
            Packet::Subscribe(p) => p.remaining_len(v5),
            Packet::SubAck(p) => p.remaining_len(v5),
            Packet::Unsubscribe(p) => p.remaining_len(v5),
            Packet::UnsubAck(p) => p.remaining_len(v5),
            Packet::PingReq | Packet::PingResp => Ok(0),
            Packet::Disconnect(p) => p.remaining_len(v5),
            Packet::Auth(_) if !v5 => {
                Err(EncodeError::InvalidValue("AUTH exists only in MQTT 5.0"))
            }
            Packet::Auth(p) => p.remaining_len(),
        }
    }
}
