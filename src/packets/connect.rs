//! CONNECT (section 3.1): decode and encode, MQTT 3.1 (`MQIsdp`, level 3), 3.1.1 and 5.0.
//!
//! A CONNECT carries its own protocol level, so it is decoded without knowing the version.

use std::num::{NonZeroU16, NonZeroU32};

use super::error::{DecodeError, EncodeError};
use super::properties::{self, Block, Property, PropertyContext, Sink, UserProperties};
use super::publish::topic_name;
use super::reader::Reader;
use super::writer;
use super::{QoS, Version};

/// A CONNECT packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<'a> {
    /// The protocol version the client asks for.
    pub protocol: Version,
    /// Clean Session (3.1.1) / Clean Start (5.0).
    pub clean_start: bool,
    /// Keep Alive, in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// The Client Identifier; may be empty.
    pub client_id: &'a str,
    /// The will message, if the Will Flag is set.
    pub will: Option<Will<'a>>,
    /// The User Name, if its flag is set.
    pub username: Option<&'a str>,
    /// The Password, if its flag is set.
    pub password: Option<&'a [u8]>,
    /// MQTT 5.0 properties; empty for earlier versions.
    pub properties: ConnectProperties<'a>,
}

/// The will message of a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will Topic.
    pub topic: &'a str,
    /// Will Payload.
    pub payload: &'a [u8],
    /// Will QoS.
    pub qos: QoS,
    /// Will Retain.
    pub retain: bool,
    /// Will Properties (5.0).
    pub properties: WillProperties<'a>,
}

/// The properties of a CONNECT (section 3.1.2.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectProperties<'a> {
    /// Session Expiry Interval, in seconds; absent means 0.
    pub session_expiry_interval: Option<u32>,
    /// Receive Maximum; absent means 65,535.
    pub receive_maximum: Option<NonZeroU16>,
    /// Maximum Packet Size the client accepts.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// Topic Alias Maximum the client accepts; absent means 0.
    pub topic_alias_maximum: Option<u16>,
    /// Request Response Information.
    pub request_response_information: Option<bool>,
    /// Request Problem Information.
    pub request_problem_information: Option<bool>,
    /// Authentication Method.
    pub authentication_method: Option<&'a str>,
    /// Authentication Data.
    pub authentication_data: Option<&'a [u8]>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
}

/// The will properties (section 3.1.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WillProperties<'a> {
    /// Will Delay Interval, in seconds.
    pub will_delay_interval: Option<u32>,
    /// Payload Format Indicator: true means UTF-8.
    pub payload_is_utf8: Option<bool>,
    /// Message Expiry Interval, in seconds.
    pub message_expiry_interval: Option<u32>,
    /// Content Type.
    pub content_type: Option<&'a str>,
    /// Response Topic.
    pub response_topic: Option<&'a str>,
    /// Correlation Data.
    pub correlation_data: Option<&'a [u8]>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
}

impl<'a> ConnectProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.session_expiry_interval {
            f.prop(Property::SessionExpiryInterval(v));
        }
        if let Some(v) = self.receive_maximum {
            f.prop(Property::ReceiveMaximum(v.get()));
        }
        if let Some(v) = self.maximum_packet_size {
            f.prop(Property::MaximumPacketSize(v.get()));
        }
        if let Some(v) = self.topic_alias_maximum {
            f.prop(Property::TopicAliasMaximum(v));
        }
        if let Some(v) = self.request_response_information {
            f.prop(Property::RequestResponseInformation(u8::from(v)));
        }
        if let Some(v) = self.request_problem_information {
            f.prop(Property::RequestProblemInformation(u8::from(v)));
        }
        if let Some(v) = self.authentication_method {
            f.prop(Property::AuthenticationMethod(v));
        }
        if let Some(v) = self.authentication_data {
            f.prop(Property::AuthenticationData(v));
        }
        properties::visit_user(&self.user, f);
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut p = ConnectProperties::default();
        let mut any_user = false;
        let raw = properties::decode(r, PropertyContext::Connect, |prop| match prop {
            Property::SessionExpiryInterval(v) => p.session_expiry_interval = Some(v),
            Property::ReceiveMaximum(v) => p.receive_maximum = NonZeroU16::new(v),
            Property::MaximumPacketSize(v) => p.maximum_packet_size = NonZeroU32::new(v),
            Property::TopicAliasMaximum(v) => p.topic_alias_maximum = Some(v),
            Property::RequestResponseInformation(v) => {
                p.request_response_information = Some(v == 1)
            }
            Property::RequestProblemInformation(v) => p.request_problem_information = Some(v == 1),
            Property::AuthenticationMethod(v) => p.authentication_method = Some(v),
            Property::AuthenticationData(v) => p.authentication_data = Some(v),
            Property::UserProperty(..) => any_user = true,
            // Invariant: properties::decode passes only properties allowed in a CONNECT.
            _ => {}
        })?;
        if any_user {
            p.user = UserProperties::Wire(raw);
        }
        // Section 3.1.2.11.10: Authentication Data without a method is a Protocol Error.
        if p.authentication_data.is_some() && p.authentication_method.is_none() {
            return Err(DecodeError::InvalidPropertyValue(
                super::PropertyId::AuthenticationData,
            ));
        }
        Ok(p)
    }
}

impl<'a> WillProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.will_delay_interval {
            f.prop(Property::WillDelayInterval(v));
        }
        if let Some(v) = self.payload_is_utf8 {
            f.prop(Property::PayloadFormatIndicator(u8::from(v)));
        }
        if let Some(v) = self.message_expiry_interval {
            f.prop(Property::MessageExpiryInterval(v));
        }
        if let Some(v) = self.content_type {
            f.prop(Property::ContentType(v));
        }
        if let Some(v) = self.response_topic {
            f.prop(Property::ResponseTopic(v));
        }
        if let Some(v) = self.correlation_data {
            f.prop(Property::CorrelationData(v));
        }
        properties::visit_user(&self.user, f);
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut p = WillProperties::default();
        let mut any_user = false;
        let raw = properties::decode(r, PropertyContext::Will, |prop| match prop {
            Property::WillDelayInterval(v) => p.will_delay_interval = Some(v),
            Property::PayloadFormatIndicator(v) => p.payload_is_utf8 = Some(v == 1),
            Property::MessageExpiryInterval(v) => p.message_expiry_interval = Some(v),
            Property::ContentType(v) => p.content_type = Some(v),
            Property::ResponseTopic(v) => p.response_topic = Some(v),
            Property::CorrelationData(v) => p.correlation_data = Some(v),
            Property::UserProperty(..) => any_user = true,
            // Invariant: properties::decode passes only will properties.
            _ => {}
        })?;
        if any_user {
            p.user = UserProperties::Wire(raw);
        }
        Ok(p)
    }
}

const FLAG_RESERVED: u8 = 0b0000_0001;
const FLAG_CLEAN: u8 = 0b0000_0010;
const FLAG_WILL: u8 = 0b0000_0100;
const FLAG_WILL_RETAIN: u8 = 0b0010_0000;
const FLAG_PASSWORD: u8 = 0b0100_0000;
const FLAG_USERNAME: u8 = 0b1000_0000;

impl<'a> Connect<'a> {
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let name = r.binary()?;
        let level = r.u8()?;
        // MQTT-3.1.2-1 and MQTT-3.1.2-2.
        let protocol = match (name, level) {
            (b"MQTT", 4) => Version::V3_1_1,
            (b"MQTT", 5) => Version::V5,
            (b"MQIsdp", 3) => Version::V3_1,
            (b"MQTT", l) | (b"MQIsdp", l) if !matches!(l, 3..=5) => {
                return Err(DecodeError::UnsupportedProtocolVersion(l))
            }
            _ => return Err(DecodeError::InvalidProtocolName),
        };
        let v5 = protocol.is_v5();
        let flags = r.u8()?;
        if flags & FLAG_RESERVED != 0 {
            return Err(DecodeError::ConnectReservedFlag); // MQTT-3.1.2-3
        }
        let will_flag = flags & FLAG_WILL != 0;
        let will_qos = QoS::from_u8((flags >> 3) & 0b11).ok_or(DecodeError::InvalidWillFlags)?; // MQTT-3.1.2-14
        let will_retain = flags & FLAG_WILL_RETAIN != 0;
        if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
            return Err(DecodeError::InvalidWillFlags); // MQTT-3.1.2-13, MQTT-3.1.2-15
        }
        let has_username = flags & FLAG_USERNAME != 0;
        let has_password = flags & FLAG_PASSWORD != 0;
        if !v5 && has_password && !has_username {
            return Err(DecodeError::PasswordWithoutUsername); // MQTT-3.1.2-22
        }
        let keep_alive = r.u16()?;
        let properties = if v5 {
            ConnectProperties::decode(&mut r)?
        } else {
            ConnectProperties::default()
        };
        let client_id = r.utf8()?;
        let will = if will_flag {
            let properties = if v5 {
                WillProperties::decode(&mut r)?
            } else {
                WillProperties::default()
            };
            let topic = topic_name(r.binary()?)?;
            if topic.is_empty() {
                return Err(DecodeError::EmptyTopicName);
            }
            let payload = r.binary()?;
            Some(Will {
                topic,
                payload,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if has_username { Some(r.utf8()?) } else { None };
        let password = if has_password {
            Some(r.binary()?)
        } else {
            None
        };
        r.finish()?;
        Ok(Connect {
            protocol,
            clean_start: flags & FLAG_CLEAN != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    fn name(&self) -> &'static [u8] {
        if self.protocol == Version::V3_1 {
            b"MQIsdp"
        } else {
            b"MQTT"
        }
    }

    fn blocks(&self) -> Result<Option<(Block, Option<Block>)>, EncodeError> {
        if !self.protocol.is_v5() {
            return Ok(None);
        }
        let connect = Block::measure(|f| self.properties.visit(f))?;
        let will = match &self.will {
            Some(w) => Some(Block::measure(|f| w.properties.visit(f))?),
            None => None,
        };
        Ok(Some((connect, will)))
    }

    pub(crate) fn remaining_len(&self) -> Result<usize, EncodeError> {
        if !self.protocol.is_v5() && self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::InvalidValue(
                "password without user name before MQTT 5.0",
            ));
        }
        writer::check_binary(self.client_id.as_bytes())?;
        let mut len = 2 + self.name().len() + 1 + 1 + 2 + 2 + self.client_id.len();
        if let Some((connect, will)) = self.blocks()? {
            len += connect.encoded_len() + will.map_or(0, |w| w.encoded_len());
        }
        if let Some(w) = &self.will {
            writer::check_binary(w.topic.as_bytes())?;
            writer::check_binary(w.payload)?;
            len += 4 + w.topic.len() + w.payload.len();
        }
        if let Some(u) = self.username {
            writer::check_binary(u.as_bytes())?;
            len += 2 + u.len();
        }
        if let Some(p) = self.password {
            writer::check_binary(p)?;
            len += 2 + p.len();
        }
        Ok(len)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        writer::put_binary(out, self.name());
        writer::put_u8(out, self.protocol.level());
        let mut flags = 0;
        if self.clean_start {
            flags |= FLAG_CLEAN;
        }
        if let Some(w) = &self.will {
            flags |= FLAG_WILL | ((w.qos as u8) << 3);
            if w.retain {
                flags |= FLAG_WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= FLAG_USERNAME;
        }
        if self.password.is_some() {
            flags |= FLAG_PASSWORD;
        }
        writer::put_u8(out, flags);
        writer::put_u16(out, self.keep_alive);
        // Invariant: remaining_len() measured these blocks without error.
        let v5 = self.protocol.is_v5();
        if v5 {
            properties::write_block(out, |f| self.properties.visit(f));
        }
        writer::put_str(out, self.client_id);
        if let Some(w) = &self.will {
            if v5 {
                properties::write_block(out, |f| w.properties.visit(f));
            }
            writer::put_str(out, w.topic);
            writer::put_binary(out, w.payload);
        }
        if let Some(u) = self.username {
            writer::put_str(out, u);
        }
        if let Some(p) = self.password {
            writer::put_binary(out, p);
        }
    }
}
