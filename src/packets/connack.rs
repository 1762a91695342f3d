//! CONNACK (section 3.2): decode and encode, 3.1.1 return codes and 5.0 reason codes.

use std::num::{NonZeroU16, NonZeroU32};

use super::acks::read_reason;
use super::error::{DecodeError, EncodeError};
use super::properties::{self, Block, Property, PropertyContext, Sink, UserProperties};
use super::reader::Reader;
use super::writer;
use super::{PacketType, QoS, ReasonCode};

/// A CONNACK packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// Session Present; false whenever `code` is a failure (MQTT-3.2.2-6).
    pub session_present: bool,
    /// The outcome. In 3.1.1 it is carried as the nearest return code 0 to 5
    /// ([`ReasonCode::to_v3_connack`]).
    pub code: ReasonCode,
    /// Properties (5.0).
    pub properties: ConnAckProperties<'a>,
}

/// The properties of a CONNACK (section 3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(missing_docs)] // each is the specification's property of the same name
pub struct ConnAckProperties<'a> {
    pub session_expiry_interval: Option<u32>,
    pub receive_maximum: Option<NonZeroU16>,
    /// Maximum QoS: only 0 or 1 may be sent (a server supporting QoS 2 leaves it out).
    pub maximum_qos: Option<QoS>,
    pub retain_available: Option<bool>,
    pub maximum_packet_size: Option<NonZeroU32>,
    pub assigned_client_identifier: Option<&'a str>,
    pub topic_alias_maximum: Option<u16>,
    pub reason_string: Option<&'a str>,
    pub user: UserProperties<'a>,
    pub wildcard_subscription_available: Option<bool>,
    pub subscription_identifiers_available: Option<bool>,
    pub shared_subscription_available: Option<bool>,
    pub server_keep_alive: Option<u16>,
    pub response_information: Option<&'a str>,
    pub server_reference: Option<&'a str>,
    pub authentication_method: Option<&'a str>,
    pub authentication_data: Option<&'a [u8]>,
}

impl<'a> ConnAckProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.session_expiry_interval {
            f.prop(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = self.receive_maximum {
            f.prop(Property::ReceiveMaximum(v.get()));
        }
        if let Some(v) = self.maximum_qos {
            f.prop(Property::MaximumQoS(v as u8));
        }
        if let Some(v) = self.retain_available {
            f.prop(Property::RetainAvailable(u8::from(v)));
        }
        if let Some(v) = self.maximum_packet_size {
            f.prop(Property::MaximumPacketSize(v.get()));
        }
        if let Some(v) = self.assigned_client_identifier {
            f.prop(Property::AssignedClientIdentifier(v));
        }
        if let Some(v) = self.topic_alias_maximum {
            f.prop(Property::TopicAliasMaximum(v));
        }
        if let Some(v) = self.reason_string {
            f.prop(Property::ReasonString(v));
        }
        properties::visit_user(&self.user, f);
        if let Some(v) = self.wildcard_subscription_available {
            f.prop(Property::WildcardSubscriptionAvailable(u8::from(v)));
        }
        if let Some(v) = self.subscription_identifiers_available {
            f.prop(Property::SubscriptionIdentifierAvailable(u8::from(v)));
        }
        if let Some(v) = self.shared_subscription_available {
            f.prop(Property::SharedSubscriptionAvailable(u8::from(v)));
        }
        if let Some(v) = self.server_keep_alive {
            f.prop(Property::ServerKeepAlive(v));
        }
        if let Some(v) = self.response_information {
            f.prop(Property::ResponseInformation(v));
        }
        if let Some(v) = self.server_reference {
            f.prop(Property::ServerReference(v));
        }
        if let Some(v) = self.authentication_method {
            f.prop(Property::AuthenticationMethod(v));
        }
        if let Some(v) = self.authentication_data {
            f.prop(Property::AuthenticationData(v));
        }
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut p = ConnAckProperties::default();
        let mut any_user = false;
        let raw = properties::decode(r, PropertyContext::ConnAck, |prop| match prop {
            Property::SessionExpiryInterval(v) => p.session_expiry_interval = Some(v),
            Property::ReceiveMaximum(v) => p.receive_maximum = NonZeroU16::new(v),
            Property::MaximumQoS(v) => p.maximum_qos = QoS::from_u8(v),
            Property::RetainAvailable(v) => p.retain_available = Some(v == 1),
            Property::MaximumPacketSize(v) => p.maximum_packet_size = NonZeroU32::new(v),
            Property::AssignedClientIdentifier(v) => p.assigned_client_identifier = Some(v),
            Property::TopicAliasMaximum(v) => p.topic_alias_maximum = Some(v),
            Property::ReasonString(v) => p.reason_string = Some(v),
            Property::UserProperty(..) => any_user = true,
            Property::WildcardSubscriptionAvailable(v) => {
                p.wildcard_subscription_available = Some(v == 1)
            }
            Property::SubscriptionIdentifierAvailable(v) => {
                p.subscription_identifiers_available = Some(v == 1)
            }
            Property::SharedSubscriptionAvailable(v) => {
                p.shared_subscription_available = Some(v == 1)
            }
            Property::ServerKeepAlive(v) => p.server_keep_alive = Some(v),
            Property::ResponseInformation(v) => p.response_information = Some(v),
            Property::ServerReference(v) => p.server_reference = Some(v),
            Property::AuthenticationMethod(v) => p.authentication_method = Some(v),
            Property::AuthenticationData(v) => p.authentication_data = Some(v),
            // Invariant: properties::decode passes only properties allowed in a CONNACK.
            _ => {}
        })?;
        if any_user {
            p.user = UserProperties::Wire(raw);
        }
        Ok(p)
    }
}

impl<'a> ConnAck<'a> {
    /// A CONNACK with `code` and no properties.
    pub fn new(session_present: bool, code: ReasonCode) -> Self {
        ConnAck {
            session_present,
            code,
            properties: ConnAckProperties::default(),
        }
    }

    pub(crate) fn decode(body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let flags = r.u8()?;
        if flags & 0xFE != 0 {
            return Err(DecodeError::InvalidConnAckFlags); // MQTT-3.2.2-1
        }
        let session_present = flags == 1;
        let (code, properties) = if v5 {
            let code = read_reason(&mut r, PacketType::ConnAck)?;
            (code, ConnAckProperties::decode(&mut r)?)
        } else {
            let raw = r.u8()?;
            let code = ReasonCode::from_v3_connack(raw).ok_or(DecodeError::InvalidReasonCode {
                packet: PacketType::ConnAck,
                code: raw,
            })?;
            (code, ConnAckProperties::default())
        };
        if session_present && code != ReasonCode::Success {
            return Err(DecodeError::InvalidConnAckFlags); // MQTT-3.2.2-6 (3.1.1: MQTT-3.2.2-4)
        }
        r.finish()?;
        Ok(ConnAck {
            session_present,
            code,
            properties,
        })
    }

    fn block(&self) -> Result<Block, EncodeError> {
        if self.properties.maximum_qos == Some(QoS::ExactlyOnce) {
            return Err(EncodeError::InvalidValue(
                "Maximum QoS of 2 is sent by leaving it out",
            ));
        }
        Block::measure(|f| self.properties.visit(f))
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        if self.session_present && self.code != ReasonCode::Success {
            return Err(EncodeError::InvalidValue(
                "session present with a failure code",
            ));
        }
        if !v5 {
            return Ok(2);
        }
        if !self.code.allowed_in(PacketType::ConnAck) {
            return Err(EncodeError::InvalidValue(
                "reason code not allowed in CONNACK",
            ));
        }
        Ok(2 + self.block()?.encoded_len())
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_u8(out, u8::from(self.session_present));
        if v5 {
            writer::put_u8(out, self.code.code());
            // Invariant: remaining_len() measured the same block without error.
            properties::write_block(out, |f| self.properties.visit(f));
        } else {
            writer::put_u8(out, self.code.to_v3_connack());
        }
    }
}
