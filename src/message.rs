//! An application message as the broker holds it: one copy of topic, payload and MQTT 5.0
//! properties, shared by every subscriber through an `Arc` (the only copy on the way in).
//!
//! Pure: building a message from a decoded PUBLISH and viewing it as the PUBLISH to send to one
//! subscriber. It never does IO and never reads the clock (callers pass `now`).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use crate::packets::{Publish, PublishProperties, QoS, QosPid, SubscriptionIds, UserProperties};

/// Which session published a message, for No Local (MQTT-3.8.3-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SessionKey {
    /// The worker the session lives on.
    pub(crate) worker: u16,
    /// Its slot in that worker's session slab.
    pub(crate) slot: u32,
    /// Tells a session from a later one in the same slot.
    pub(crate) generation: u32,
}

/// A message on its way to subscribers.
#[derive(Debug)]
pub(crate) struct Message {
    /// The topic name (aliases already resolved).
    pub(crate) topic: Arc<str>,
    /// The payload.
    pub(crate) payload: Box<[u8]>,
    /// The QoS it was published with: the most any subscriber receives it with.
    pub(crate) qos: QoS,
    /// The RETAIN flag as published.
    pub(crate) retain: bool,
    /// The publishing session, if a client published it.
    pub(crate) origin: Option<SessionKey>,
    /// MQTT 5.0 properties, boxed because most messages have none.
    pub(crate) properties: Option<Box<MessageProperties>>,
}

/// The MQTT 5.0 properties a message carries to its subscribers (section 3.3.2.3).
#[derive(Debug, Default)]
pub(crate) struct MessageProperties {
    /// Payload Format Indicator.
    pub(crate) payload_is_utf8: Option<bool>,
    /// Message Expiry Interval and when the broker received the message, so the remaining
    /// interval can be sent (MQTT-3.3.2-6) and expired messages dropped (MQTT-3.3.2-5).
    pub(crate) expiry: Option<(u32, Instant)>,
    /// Content Type.
    pub(crate) content_type: Option<Box<str>>,
    /// Response Topic.
    pub(crate) response_topic: Option<Box<str>>,
    /// Correlation Data.
    pub(crate) correlation_data: Option<Box<[u8]>>,
    /// The received property block; its User Properties are forwarded unchanged and in order
    /// (MQTT-3.3.2-17, MQTT-3.3.2-18). Empty when there are none.
    pub(crate) user: Box<[u8]>,
}

impl MessageProperties {
    /// The properties of a received PUBLISH (or will) worth keeping; `None` when it has none.
    pub(crate) fn boxed(props: &PublishProperties<'_>, now: Instant) -> Option<Box<Self>> {
        let has_props = props.payload_is_utf8.is_some()
            || props.message_expiry_interval.is_some()
            || props.content_type.is_some()
            || props.response_topic.is_some()
            || props.correlation_data.is_some()
            || !props.user.is_empty();
        has_props.then(|| {
            Box::new(MessageProperties {
                payload_is_utf8: props.payload_is_utf8,
                expiry: props.message_expiry_interval.map(|s| (s, now)),
                content_type: props.content_type.map(Into::into),
                response_topic: props.response_topic.map(Into::into),
                correlation_data: props.correlation_data.map(Into::into),
                user: match props.user {
                    UserProperties::Wire(raw) => raw.into(),
                    UserProperties::Pairs(_) => Box::default(),
                },
            })
        })
    }
}

impl Message {
    /// Copies a received PUBLISH (whose topic alias, if any, resolved to `topic`).
    pub(crate) fn from_publish(
        p: &Publish<'_>,
        topic: Arc<str>,
        origin: Option<SessionKey>,
        now: Instant,
    ) -> Self {
        let properties = MessageProperties::boxed(&p.properties, now);
        Message {
            topic,
            payload: p.payload.into(),
            qos: p.qos_pid.qos(),
            retain: p.retain,
            origin,
            properties,
        }
    }

    /// Seconds left before the message expires: `None` if it never does, `Some(0)` if it has
    /// (MQTT-3.3.2-5: an expired message is not delivered).
    pub(crate) fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        let (interval, received) = self.properties.as_ref()?.expiry?;
        let elapsed = now.saturating_duration_since(received).as_secs();
        Some(u32::try_from(u64::from(interval).saturating_sub(elapsed)).unwrap_or(0))
    }

    /// True when the message has a Message Expiry Interval that has run out.
    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        self.remaining_expiry(now) == Some(0)
    }

    /// The PUBLISH that delivers this message to one subscriber.
    pub(crate) fn to_publish<'a>(
        &'a self,
        qos_pid: QosPid,
        dup: bool,
        retain: bool,
        sub_ids: &'a [NonZeroU32],
        now: Instant,
    ) -> Publish<'a> {
        let mut properties = PublishProperties {
            subscription_ids: SubscriptionIds::List(sub_ids),
            ..PublishProperties::default()
        };
        if let Some(p) = &self.properties {
            properties.payload_is_utf8 = p.payload_is_utf8;
            properties.message_expiry_interval = self.remaining_expiry(now);
            properties.content_type = p.content_type.as_deref();
            properties.response_topic = p.response_topic.as_deref();
            properties.correlation_data = p.correlation_data.as_deref();
            if !p.user.is_empty() {
                properties.user = UserProperties::Wire(&p.user);
            }
        }
        Publish {
            dup,
            qos_pid,
            retain,
            topic: &self.topic,
            payload: &self.payload,
            properties,
        }
    }
}
