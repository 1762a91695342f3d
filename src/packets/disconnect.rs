//! DISCONNECT (section 3.14): empty in 3.1.1; a reason code and properties in 5.0, both of
//! which a sender may leave out.

use super::acks::{read_reason, reason_tail_len, write_reason_tail};
use super::error::{DecodeError, EncodeError};
use super::properties::{self, Property, PropertyContext, Sink, UserProperties};
use super::reader::Reader;
use super::{PacketType, ReasonCode};

/// A DISCONNECT packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect<'a> {
    /// The reason (5.0); [`ReasonCode::Success`] is "Normal disconnection".
    pub reason: ReasonCode,
    /// Properties (5.0).
    pub properties: DisconnectProperties<'a>,
}

/// The properties of a DISCONNECT (section 3.14.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DisconnectProperties<'a> {
    /// Session Expiry Interval (client to server only).
    pub session_expiry_interval: Option<u32>,
    /// Reason String.
    pub reason_string: Option<&'a str>,
    /// Server Reference (server to client).
    pub server_reference: Option<&'a str>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
}

impl<'a> DisconnectProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.session_expiry_interval {
            f.prop(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = self.reason_string {
            f.prop(Property::ReasonString(v));
        }
        if let Some(v) = self.server_reference {
            f.prop(Property::ServerReference(v));
        }
        properties::visit_user(&self.user, f);
    }

    fn is_empty(&self) -> bool {
        self.session_expiry_interval.is_none()
            && self.reason_string.is_none()
            && self.server_reference.is_none()
            && self.user.is_empty()
    }
}

impl<'a> Disconnect<'a> {
    /// A DISCONNECT with `reason` and no properties.
    pub fn new(reason: ReasonCode) -> Self {
        Disconnect {
            reason,
            properties: DisconnectProperties::default(),
        }
    }

    pub(crate) fn decode(body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mut d = Disconnect::default();
        if v5 && !r.is_empty() {
            d.reason = read_reason(&mut r, PacketType::Disconnect)?;
            if !r.is_empty() {
                let p = &mut d.properties;
                let mut any_user = false;
                let raw =
                    properties::decode(&mut r, PropertyContext::Disconnect, |prop| match prop {
                        Property::SessionExpiryInterval(v) => p.session_expiry_interval = Some(v),
                        Property::ReasonString(v) => p.reason_string = Some(v),
                        Property::ServerReference(v) => p.server_reference = Some(v),
                        Property::UserProperty(..) => any_user = true,
                        // Invariant: properties::decode passes only DISCONNECT properties.
                        _ => {}
                    })?;
                if any_user {
                    p.user = UserProperties::Wire(raw);
                }
            }
        }
        r.finish()?;
        Ok(d)
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if !v5 {
            return Ok(0);
        }
        if !self.reason.allowed_in(PacketType::Disconnect) {
            return Err(EncodeError::InvalidValue(
                "reason code not allowed in DISCONNECT",
            ));
        }
        let empty = self.properties.is_empty();
        reason_tail_len(self.reason, empty, |f| self.properties.visit(f))
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        if !v5 {
            return;
        }
        let empty = self.properties.is_empty();
        write_reason_tail(out, self.reason, empty, |f| self.properties.visit(f));
    }
}
