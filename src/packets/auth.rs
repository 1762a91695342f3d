//! AUTH (section 3.15, MQTT 5.0 only): the enhanced authentication exchange.

use super::acks::read_reason;
use super::error::{DecodeError, EncodeError};
use super::properties::{self, Block, Property, PropertyContext, Sink, UserProperties};
use super::reader::Reader;
use super::writer;
use super::{PacketType, ReasonCode};

/// An AUTH packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth<'a> {
    /// Success, Continue authentication or Re-authenticate.
    pub reason: ReasonCode,
    /// Properties.
    pub properties: AuthProperties<'a>,
}

/// The properties of an AUTH packet (section 3.15.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthProperties<'a> {
    /// Authentication Method.
    pub authentication_method: Option<&'a str>,
    /// Authentication Data.
    pub authentication_data: Option<&'a [u8]>,
    /// Reason String.
    pub reason_string: Option<&'a str>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
}

impl<'a> AuthProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.authentication_method {
            f.prop(Property::AuthenticationMethod(v));
        }
        if let Some(v) = self.authentication_data {
            f.prop(Property::AuthenticationData(v));
        }
        if let Some(v) = self.reason_string {
            f.prop(Property::ReasonString(v));
        }
        properties::visit_user(&self.user, f);
    }
}

impl<'a> Auth<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let mut a = Auth::default();
        // Section 3.15.2.1: the reason code and the properties are left out together, and
        // only for Success; otherwise the Authentication Method must be there (3.15.2.2.2).
        if !r.is_empty() {
            a.reason = read_reason(&mut r, PacketType::Auth)?;
            {
                let p = &mut a.properties;
                let mut any_user = false;
                let raw = properties::decode(&mut r, PropertyContext::Auth, |prop| match prop {
                    Property::AuthenticationMethod(v) => p.authentication_method = Some(v),
                    Property::AuthenticationData(v) => p.authentication_data = Some(v),
                    Property::ReasonString(v) => p.reason_string = Some(v),
                    Property::UserProperty(..) => any_user = true,
                    // Invariant: properties::decode passes only AUTH properties.
                    _ => {}
                })?;
                if any_user {
                    p.user = UserProperties::Wire(raw);
                }
            }
        }
        r.finish()?;
        if !body.is_empty() && a.properties.authentication_method.is_none() {
            return Err(DecodeError::InvalidPropertyValue(
                super::PropertyId::AuthenticationMethod,
            ));
        }
        Ok(a)
    }

    fn block(&self) -> Result<Block, EncodeError> {
        Block::measure(|f| self.properties.visit(f))
    }

    fn is_short(&self) -> bool {
        self.reason == ReasonCode::Success && self.properties == AuthProperties::default()
    }

    pub(crate) fn remaining_len(&self) -> Result<usize, EncodeError> {
        if !self.is_short() && self.properties.authentication_method.is_none() {
            return Err(EncodeError::InvalidValue(
                "AUTH needs an Authentication Method",
            ));
        }
        if !self.reason.allowed_in(PacketType::Auth) {
            return Err(EncodeError::InvalidValue("reason code not allowed in AUTH"));
        }
        if self.is_short() {
            return Ok(0);
        }
        Ok(1 + self.block()?.encoded_len())
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        if self.is_short() {
            return;
        }
        writer::put_u8(out, self.reason.code());
        // Invariant: remaining_len() measured the same block without error.
        properties::write_block(out, |f| self.properties.visit(f));
    }
}
