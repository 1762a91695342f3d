//! PUBLISH (section 3.3): decode and encode, 3.1.1 and 5.0.
//!
//! Decoding borrows the topic and payload from the input and allocates nothing; it must stay
//! that way (a counting-allocator test in `tests/codec_alloc.rs` holds it to it).

use std::num::NonZeroU16;

use super::error::{DecodeError, EncodeError};
use super::properties::{
    self, Block, Property, PropertyContext, Sink, SubscriptionIds, UserProperties,
};
use super::reader::Reader;
use super::writer;
use super::{PacketId, QoS};

/// The QoS of a PUBLISH together with its packet identifier, which exists exactly when QoS > 0
/// (MQTT-2.2.1-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPid {
    /// QoS 0: no packet identifier.
    AtMostOnce,
    /// QoS 1 with its packet identifier.
    AtLeastOnce(PacketId),
    /// QoS 2 with its packet identifier.
    ExactlyOnce(PacketId),
}

impl QosPid {
    /// The QoS alone.
    pub fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet identifier, for QoS 1 and 2.
    pub fn packet_id(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => Some(id),
        }
    }

    /// Pairs `qos` with `id` (ignored for QoS 0).
    pub fn new(qos: QoS, id: PacketId) -> Self {
        match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(id),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(id),
        }
    }
}

/// A PUBLISH packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP: this may be a re-delivery. Always false at QoS 0 (MQTT-3.3.1-2).
    pub dup: bool,
    /// QoS and packet identifier.
    pub qos_pid: QosPid,
    /// RETAIN.
    pub retain: bool,
    /// The topic name; empty only in MQTT 5.0 together with a topic alias.
    pub topic: &'a str,
    /// The application message.
    pub payload: &'a [u8],
    /// MQTT 5.0 properties; empty for 3.1.1.
    pub properties: PublishProperties<'a>,
}

/// The properties of a PUBLISH (section 3.3.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishProperties<'a> {
    /// Payload Format Indicator: true means the payload is UTF-8.
    pub payload_is_utf8: Option<bool>,
    /// Message Expiry Interval, in seconds.
    pub message_expiry_interval: Option<u32>,
    /// Topic Alias.
    pub topic_alias: Option<NonZeroU16>,
    /// Response Topic.
    pub response_topic: Option<&'a str>,
    /// Correlation Data.
    pub correlation_data: Option<&'a [u8]>,
    /// User Properties, in order.
    pub user: UserProperties<'a>,
    /// Subscription Identifiers (server to client only).
    pub subscription_ids: SubscriptionIds<'a>,
    /// Content Type.
    pub content_type: Option<&'a str>,
}

impl<'a> PublishProperties<'a> {
    fn visit(&self, f: &mut dyn Sink<'a>) {
        if let Some(v) = self.payload_is_utf8 {
            f.prop(Property::PayloadFormatIndicator(u8::from(v)));
        }
        if let Some(v) = self.message_expiry_interval {
            f.prop(Property::MessageExpiryInterval(v));
        }
        if let Some(v) = self.topic_alias {
            f.prop(Property::TopicAlias(v.get()));
        }
        if let Some(v) = self.response_topic {
            f.prop(Property::ResponseTopic(v));
        }
        if let Some(v) = self.correlation_data {
            f.prop(Property::CorrelationData(v));
        }
        properties::visit_user(&self.user, f);
        properties::visit_sub_ids(&self.subscription_ids, f);
        if let Some(v) = self.content_type {
            f.prop(Property::ContentType(v));
        }
    }

    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let mut p = PublishProperties::default();
        let mut any_user = false;
        let mut any_sub_id = false;
        let raw = properties::decode(r, PropertyContext::Publish, |prop| match prop {
            Property::PayloadFormatIndicator(v) => p.payload_is_utf8 = Some(v == 1),
            Property::MessageExpiryInterval(v) => p.message_expiry_interval = Some(v),
            Property::TopicAlias(v) => p.topic_alias = NonZeroU16::new(v),
            Property::ResponseTopic(v) => p.response_topic = Some(v),
            Property::CorrelationData(v) => p.correlation_data = Some(v),
            Property::UserProperty(..) => any_user = true,
            Property::SubscriptionIdentifier(_) => any_sub_id = true,
            Property::ContentType(v) => p.content_type = Some(v),
            // Invariant: properties::decode passes only properties allowed in a PUBLISH.
            _ => {}
        })?;
        if any_user {
            p.user = UserProperties::Wire(raw);
        }
        if any_sub_id {
            p.subscription_ids = SubscriptionIds::Wire(raw);
        }
        Ok(p)
    }
}

impl<'a> Publish<'a> {
    /// Decodes the body of a PUBLISH whose fixed header flags are `flags`.
    pub(crate) fn decode(flags: u8, body: &'a [u8], v5: bool) -> Result<Self, DecodeError> {
        let dup = flags & 0b1000 != 0;
        let retain = flags & 0b0001 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupWithQoS0);
        }
        let mut r = Reader::new(body);
        let topic_bytes = r.binary()?;
        let topic = topic_name(topic_bytes)?;
        let qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(PacketId::read(&mut r)?),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(PacketId::read(&mut r)?),
        };
        let properties = if v5 {
            PublishProperties::decode(&mut r)?
        } else {
            PublishProperties::default()
        };
        if topic.is_empty() {
            // MQTT-4.7.3-1 for 3.1.1; in 5.0 an empty topic needs a Topic Alias (3.3.2.1).
            if !v5 {
                return Err(DecodeError::EmptyTopicName);
            }
            if properties.topic_alias.is_none() {
                return Err(DecodeError::EmptyTopicWithoutAlias);
            }
        }
        let payload = r.rest();
        Ok(Publish {
            dup,
            qos_pid,
            retain,
            topic,
            payload,
            properties,
        })
    }

    pub(crate) fn flags(&self) -> u8 {
        let qos = self.qos_pid.qos();
        let dup = self.dup && qos != QoS::AtMostOnce;
        (u8::from(dup) << 3) | ((qos as u8) << 1) | u8::from(self.retain)
    }

    fn block(&self) -> Result<Block, EncodeError> {
        Block::measure(|f| self.properties.visit(f))
    }

    pub(crate) fn remaining_len(&self, v5: bool) -> Result<usize, EncodeError> {
        writer::check_binary(self.topic.as_bytes())?;
        let mut len = 2 + self.topic.len() + self.payload.len();
        if self.qos_pid.packet_id().is_some() {
            len += 2;
        }
        if v5 {
            len += self.block()?.encoded_len();
        }
        Ok(len)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, v5: bool) {
        writer::put_str(out, self.topic);
        if let Some(id) = self.qos_pid.packet_id() {
            writer::put_u16(out, id.get());
        }
        if v5 {
            // Invariant: remaining_len() measured the same block without error.
            properties::write_block(out, |f| self.properties.visit(f));
        }
        out.extend_from_slice(self.payload);
    }
}

/// Validates a topic name in one pass after the UTF-8 check: no U+0000 (MQTT-1.5.4-2) and no
/// wildcard (MQTT-3.3.2-2). Emptiness is the caller's to judge.
pub(crate) fn topic_name(bytes: &[u8]) -> Result<&str, DecodeError> {
    let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    for &b in bytes {
        match b {
            0 => return Err(DecodeError::NullCharacter),
            b'+' | b'#' => return Err(DecodeError::WildcardInTopicName),
            _ => {}
        }
    }
    Ok(s)
}
