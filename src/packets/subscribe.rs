//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (sections 3.8 to 3.11).
//!
//! Topic filters are checked here only as strings (UTF-8, no U+0000); whether a filter is a
//! valid filter is answered per filter in the SUBACK by the broker, not by closing the
//! connection.

use std::num::NonZeroU32;

use super::acks::{read_reason, AckProperties};
use super::error::{DecodeError, EncodeError};
use super::properties::{self, Block, Property, PropertyContext, Sink, UserProperties};
use super::reader::Reader;
use super::writer;
use super::{PacketId, PacketType, QoS, ReasonCode};

/// A SUBSCRIBE packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// Topic filters with their options, at least one (MQTT-3.8.3-3).
    pub filters: Vec<Subscription<'a>>,
    /// Properties (5.0).
    pub properties: SubscribeProperties<'a>,
}

/// One topic filter of a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription<'a> {
    /// The topic filter as sent.
    pub filter: &'a str,
    /// Its options.
    pub options: SubscriptionOptions,
}

/// Subscription options (section 3.8.3.1). In 3.1.1 only `qos` exists; the rest stay default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local: do not send this client its own messages.
    pub no_local: bool,
    /// Retain As Published: keep the RETAIN flag as the publisher set it.
    pub retain_as_published: bool,
    /// When to send retained messages.
    pub retain_handling: RetainHandling,
}

/// Retain Handling (section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription did not exist yet.
    SendIfNew = 1,
    /// 2: do not send them.
    DoNotSend = 2,
}

/// The properties of a SUBSCRIBE (section 3.8.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscribeProperties<'a> {
    /// Subscription Identifier.
    pub subscription_id: Option<NonZeroU32>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
}

/// A SUBACK packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per filter, in order (MQTT-3.9.3-1). In 3.1.1 failures are sent as 0x80.
    pub reasons: Vec<ReasonCode>,
    /// Properties (5.0).
    pub properties: AckProperties<'a>,
}

/// An UNSUBSCRIBE packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// Topic filters, at least one (MQTT-3.10.3-2).
    pub filters: Vec<&'a str>,
    /// User Properties (5.0), in order.
    pub user: UserProperties<'a>,
}

/// An UNSUBACK packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck<'a> {
    /// Packet identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per filter (5.0 only; 3.1.1 UNSUBACK has no payload and decodes to none).
    pub reasons: Vec<ReasonCode>,
    /// Properties (5.0).
    pub properties: AckProperties<'a>,
}

impl SubscriptionOptions {
    fn decode(b: u8, v5: bool) -> Result<Self, DecodeError> {
        let reserved = if v5 { 0b1100_0000 } else { 0b1111_1100 };
        if b & reserved != 0 {
            return Err(DecodeError::SubscriptionOptionsReserved); // MQTT-3.8.3-4, MQTT-3.8.3-5
        }
        let qos = QoS::from_u8(b & 0b11).ok_or(DecodeError::InvalidSubscriptionQoS)?;
        let retain_handling = match (b >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidRetainHandling),
        };
        Ok(SubscriptionOptions {
            qos,
            no_local: b & 0b0100 != 0,
            retain_as_published: b & 0b1000 != 0,
            retain_handling,
        })
    }

    fn encode(&self, v5: bool) -> u8 {
        let mut b = self.qos as u8;
        if v5 {
            b |= u8::from(self.no_local) << 2;
            b |= u8::from(self.retain_as_published) << 3;
            b |= (self.retain_handling as u8) << 4;
        }
        b
    }
}

impl<'a> SubscribeProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.subscription_id {
            f.prop(Property::SubscriptionIdentifier(v));
        }
        properties::visit_user(&self.user, f);
    }
}

fn user_block<'a>(user: &UserProperties<'a>) -> Result<Block, EncodeError> {
    Block::measure(|f| properties::visit_user(user, f))
}

impl<'a> Subscribe<'a> {
    pub(crate) fn decode(body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = PacketId::read(&mut r)?;
        let mut properties = SubscribeProperties::default();
        if v5 {
            let mut any_user = false;
            let raw = properties::decode(&mut r, PropertyContext::Subscribe, |p| match p {
                Property::SubscriptionIdentifier(v) => properties.subscription_id = Some(v),
                Property::UserProperty(..) => any_user = true,
                // Invariant: only these two are allowed in a SUBSCRIBE.
                _ => {}
            })?;
            if any_user {
                properties.user = UserProperties::Wire(raw);
            }
        }
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.utf8()?; // MQTT-3.8.3-1
            let options = SubscriptionOptions::decode(r.u8()?, v5)?;
            filters.push(Subscription { filter, options });
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptySubscribe); // MQTT-3.8.3-3
        }
        Ok(Subscribe {
            packet_id,
            filters,
            properties,
        })
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::InvalidValue("SUBSCRIBE needs a topic filter"));
        }
        let mut len = 2;
        if v5 {
            len += Block::measure(|f| self.properties.visit(f))?.encoded_len();
        }
        for s in &self.filters {
            writer::check_binary(s.filter.as_bytes())?;
            len += 3 + s.filter.len();
        }
        Ok(len)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_u16(out, self.packet_id.get());
        if v5 {
            // Invariant: remaining_len() measured the same block without error.
            properties::write_block(out, |f| self.properties.visit(f));
        }
        for s in &self.filters {
            writer::put_str(out, s.filter);
            writer::put_u8(out, s.options.encode(v5));
        }
    }
}

/// Decodes the packet id, 5.0 properties and one-byte codes shared by SUBACK and UNSUBACK.
fn decode_ack_codes<'a>(
    body: &'a [u8],
    packet: PacketType,
    ctx: PropertyContext,
    v5: bool,
    v3_code: impl Fn(u8) -> Option<ReasonCode>,
) -> Result<(PacketId, Vec<ReasonCode>, AckProperties<'a>), DecodeError> {
    let mut r = Reader::new(body);
    let packet_id = PacketId::read(&mut r)?;
    let mut properties = AckProperties::default();
    let mut reasons = Vec::new();
    if v5 {
        properties = AckProperties::decode(&mut r, ctx)?;
        while !r.is_empty() {
            reasons.push(read_reason(&mut r, packet)?);
        }
    } else {
        while !r.is_empty() {
            let code = r.u8()?;
            reasons.push(v3_code(code).ok_or(DecodeError::InvalidReasonCode { packet, code })?);
        }
    }
    Ok((packet_id, reasons, properties))
}

impl<'a> SubAck<'a> {
    pub(crate) fn decode(body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        let (packet_id, reasons, properties) = decode_ack_codes(
            body,
            PacketType::SubAck,
            PropertyContext::SubAck,
            v5,
            ReasonCode::from_v3_suback,
        )?;
        if reasons.is_empty() {
            return Err(DecodeError::EmptyAck);
        }
        Ok(SubAck {
            packet_id,
            reasons,
            properties,
        })
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if self.reasons.is_empty() {
            return Err(EncodeError::InvalidValue(
                "SUBACK needs a reason code per filter",
            ));
        }
        if v5
            && !self
                .reasons
                .iter()
                .all(|r| r.allowed_in(PacketType::SubAck))
        {
            return Err(EncodeError::InvalidValue(
                "reason code not allowed in SUBACK",
            ));
        }
        let mut len = 2 + self.reasons.len();
        if v5 {
            len += Block::measure(|f| self.properties.visit(f))?.encoded_len();
        }
        Ok(len)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_u16(out, self.packet_id.get());
        if v5 {
            // Invariant: remaining_len() measured the same block without error.
            properties::write_block(out, |f| self.properties.visit(f));
        }
        for r in &self.reasons {
            writer::put_u8(out, if v5 { r.code() } else { r.to_v3_suback() });
        }
    }
}

impl<'a> Unsubscribe<'a> {
    pub(crate) fn decode(body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = PacketId::read(&mut r)?;
        let mut user = UserProperties::default();
        if v5 {
            let mut any_user = false;
            let raw =
                properties::decode(&mut r, PropertyContext::Unsubscribe, |_| any_user = true)?;
            if any_user {
                user = UserProperties::Wire(raw);
            }
        }
        let mut filters = Vec::new();
        while !r.is_empty() {
            filters.push(r.utf8()?);
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyUnsubscribe); // MQTT-3.10.3-2
        }
        Ok(Unsubscribe {
            packet_id,
            filters,
            user,
        })
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::InvalidValue(
                "UNSUBSCRIBE needs a topic filter",
            ));
        }
        let mut len = 2;
        if v5 {
            len += user_block(&self.user)?.encoded_len();
        }
        for f in &self.filters {
            writer::check_binary(f.as_bytes())?;
            len += 2 + f.len();
        }
        Ok(len)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_u16(out, self.packet_id.get());
        if v5 {
            // Invariant: remaining_len() measured the same block without error.
            properties::write_block(out, |f| properties::visit_user(&self.user, f));
        }
        for f in &self.filters {
            writer::put_str(out, f);
        }
    }
}

impl<'a> UnsubAck<'a> {
    pub(crate) fn decode(body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        if !v5 {
            // MQTT 3.1.1 UNSUBACK has no payload (section 3.11.3).
            let mut r = Reader::new(body);
            let packet_id = PacketId::read(&mut r)?;
            r.finish()?;
            let properties = AckProperties::default();
            return Ok(UnsubAck {
                packet_id,
                reasons: Vec::new(),
                properties,
            });
        }
        let (packet_id, reasons, properties) = decode_ack_codes(
            body,
            PacketType::UnsubAck,
            PropertyContext::UnsubAck,
            v5,
            |_| None, // not reached: 3.1.1 is handled above
        )?;
        if v5 && reasons.is_empty() {
            return Err(DecodeError::EmptyAck);
        }
        Ok(UnsubAck {
            packet_id,
            reasons,
            properties,
        })
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if !v5 {
            return Ok(2);
        }
        if self.reasons.is_empty() {
            return Err(EncodeError::InvalidValue(
                "UNSUBACK needs a reason code per filter",
            ));
        }
        if !self
            .reasons
            .iter()
            .all(|r| r.allowed_in(PacketType::UnsubAck))
        {
            return Err(EncodeError::InvalidValue(
                "reason code not allowed in UNSUBACK",
            ));
        }
        Ok(2 + Block::measure(|f| self.properties.visit(f))?.encoded_len() + self.reasons.len())
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_u16(out, self.packet_id.get());
        if !v5 {
            return;
        }
        // Invariant: remaining_len() measured the same block without error.
        properties::write_block(out, |f| self.properties.visit(f));
        for r in &self.reasons {
            writer::put_u8(out, r.code());
        }
    }
}
