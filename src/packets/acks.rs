//! PUBACK, PUBREC, PUBREL and PUBCOMP (sections 3.4 to 3.7): one shape, four packet types.
//! Also the [`AckProperties`] that SUBACK and UNSUBACK share, and the "reason code, then
//! optional properties" tail that MQTT 5.0 lets a sender shorten.

use super::error::{DecodeError, EncodeError};
use super::properties::{self, Block, Property, PropertyContext, Sink, UserProperties};
use super::reader::Reader;
use super::writer;
use super::{PacketId, PacketType, ReasonCode};

/// A PUBACK, PUBREC, PUBREL or PUBCOMP; which one is given by the [`Packet`](super::Packet)
/// variant that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The packet identifier being acknowledged.
    pub packet_id: PacketId,
    /// The reason code (5.0); [`ReasonCode::Success`] for 3.1.1.
    pub reason: ReasonCode,
    /// Properties (5.0).
    pub properties: AckProperties<'a>,
}

/// The properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AckProperties<'a> {
    /// Reason String.
    pub reason_string: Option<&'a str>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
}

impl<'a> AckProperties<'a> {
    pub(crate) fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.reason_string {
            f.prop(Property::ReasonString(v));
        }
        properties::visit_user(&self.user, f);
    }

    pub(crate) fn decode(r: &mut Reader<'a>, ctx: PropertyContext) -> Result<Self, DecodeError> {
        let mut p = AckProperties::default();
        let mut any_user = false;
        let raw = properties::decode(r, ctx, |prop| match prop {
            Property::ReasonString(v) => p.reason_string = Some(v),
            Property::UserProperty(..) => any_user = true,
            // Invariant: properties::decode passes only Reason String and User Property here.
            _ => {}
        })?;
        if any_user {
            p.user = UserProperties::Wire(raw);
        }
        Ok(p)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.reason_string.is_none() && self.user.is_empty()
    }
}

/// Reads a reason code that must be valid in `packet`.
pub(crate) fn read_reason(
    r: &mut Reader<'_>,
    packet: PacketType,
) -> Result<ReasonCode, DecodeError> {
    let code = r.u8()?;
    ReasonCode::from_u8(code)
        .filter(|rc| rc.allowed_in(packet))
        .ok_or(DecodeError::InvalidReasonCode { packet, code })
}

/// Size of the MQTT 5.0 "reason code, then properties" tail that a sender may shorten
/// (sections 3.4.2.1, 3.14.2.1): nothing for Success without properties, the code alone
/// without properties, else both.
pub(crate) fn reason_tail_len<'a>(
    reason: ReasonCode,
    no_properties: bool,
    visit: impl FnOnce(&mut dyn Sink<'a>),
) -> Result<usize, EncodeError> {
    if no_properties {
        return Ok(usize::from(reason != ReasonCode::Success));
    }
    Ok(1 + Block::measure(visit)?.encoded_len())
}

/// Writes what [`reason_tail_len`] measured.
pub(crate) fn write_reason_tail<'a>(
    out: &mut Vec<u8>,
    reason: ReasonCode,
    no_properties: bool,
    visit: impl FnOnce(&mut dyn Sink<'a>),
) {
    if !no_properties {
        writer::put_u8(out, reason.code());
        properties::write_block(out, visit);
    } else if reason != ReasonCode::Success {
        writer::put_u8(out, reason.code());
    }
}

fn context(packet: PacketType) -> PropertyContext {
    match packet {
        PacketType::PubAck => PropertyContext::PubAck,
        PacketType::PubRec => PropertyContext::PubRec,
        PacketType::PubRel => PropertyContext::PubRel,
        _ => PropertyContext::PubComp,
    }
}

impl<'a> Ack<'a> {
    /// An acknowledgement with reason Success and no properties.
    pub fn new(packet_id: PacketId) -> Self {
        Ack {
            packet_id,
            reason: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }

    pub(crate) fn decode(
        packet: PacketType,
        body: &'a [u8],
        v5: bool,
    ) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = PacketId::read(&mut r)?;
        let mut ack = Ack::new(packet_id);
        // Section 3.4.2.1: the reason code and properties may be left out.
        if v5 && !r.is_empty() {
            ack.reason = read_reason(&mut r, packet)?;
            if !r.is_empty() {
                ack.properties = AckProperties::decode(&mut r, context(packet))?;
            }
        }
        r.finish()?;
        Ok(ack)
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if !v5 {
            return Ok(2);
        }
        let empty = self.properties.is_empty();
        Ok(2 + reason_tail_len(self.reason, empty, |f| self.properties.visit(f))?)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_u16(out, self.packet_id.get());
        if !v5 {
            return;
        }
        let empty = self.properties.is_empty();
        write_reason_tail(out, self.reason, empty, |f| self.properties.visit(f));
    }
}
