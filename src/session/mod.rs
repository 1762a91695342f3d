//! One client's session state (MQTT 3.1.1 section 4.1, MQTT 5.0 section 4.1): its subscriptions,
//! the QoS 1/2 messages in flight to it and queued for it, and the QoS 2 packet ids it sent us
//! that are not released yet.
//!
//! Pure data and rules: it never touches sockets or the clock; the worker applies what it says.

mod packet_id;

use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use crate::message::{Message, SessionKey};
use crate::packets::{Ack, Packet, PacketId, QoS, QosPid, SubscriptionOptions, Version};
use crate::topic::SubscriptionFilter;

pub(crate) use packet_id::PacketIds;

/// One message on its way to one subscriber.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The shared message.
    pub(crate) message: Arc<Message>,
    /// QoS for this subscriber: the lower of the published and the granted QoS.
    pub(crate) qos: QoS,
    /// RETAIN as sent to this subscriber.
    pub(crate) retain: bool,
    /// Subscription identifiers of every matching subscription (MQTT-3.3.4-4).
    pub(crate) sub_ids: Box<[NonZeroU32]>,
}

/// Where an outgoing QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after the packet each one awaits
pub(crate) enum OutState {
    /// QoS 1 sent, waiting for PUBACK.
    AwaitPubAck,
    /// QoS 2 sent, waiting for PUBREC.
    AwaitPubRec,
    /// PUBREL sent, waiting for PUBCOMP.
    AwaitPubComp,
}

/// A QoS 1/2 message sent to the client and not yet acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    /// Its packet identifier.
    pub(crate) id: PacketId,
    /// The message and how it was sent.
    pub(crate) delivery: Delivery,
    /// Which acknowledgement is awaited.
    pub(crate) state: OutState,
    /// When it (or its PUBREL) was last sent, for the optional 3.1.1 retry timer.
    pub(crate) sent_ms: u64,
}

impl InFlight {
    /// The packet that sends this one again: the PUBLISH with DUP set (MQTT-4.4.0-1), or the
    /// PUBREL once its PUBREC came (MQTT-4.4.0-1 too).
    pub(crate) fn resend(&mut self, now: Instant, now_ms: u64) -> Packet<'_> {
        self.sent_ms = now_ms;
        match self.state {
            OutState::AwaitPubComp => Packet::PubRel(Ack::new(self.id)),
            OutState::AwaitPubAck | OutState::AwaitPubRec => {
                let d = &self.delivery;
                let qos_pid = QosPid::new(d.qos, self.id);
                Packet::Publish(
                    d.message
                        .to_publish(qos_pid, true, d.retain, &d.sub_ids, now),
                )
            }
        }
    }
}

/// What a subscription asked for, kept in the trie and in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubInfo {
    /// The subscription options (granted QoS and the 5.0 flags).
    pub(crate) options: SubscriptionOptions,
    /// The subscription identifier (5.0).
    pub(crate) id: Option<NonZeroU32>,
}

/// When a session ends once its client is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// With its network connection (3.1.1 clean session, 5.0 Session Expiry Interval 0).
    AtClose,
    /// This many seconds after the connection closes (5.0).
    After(u32),
    /// Never (3.1.1 persistent session, 5.0 interval 0xFFFFFFFF).
    Never,
}

impl Expiry {
    /// The expiry a 5.0 Session Expiry Interval asks for (section 3.1.2.11.2): 0 ends the
    /// session with the connection, 0xFFFFFFFF never.
    pub(crate) fn from_interval(secs: u32) -> Self {
        match secs {
            0 => Expiry::AtClose,
            u32::MAX => Expiry::Never,
            s => Expiry::After(s),
        }
    }
}

/// A client's session.
#[derive(Debug)]
pub(crate) struct Session {
    /// The Client Identifier.
    pub(crate) client_id: Arc<str>,
    /// This session's identity in routing tables.
    pub(crate) key: SessionKey,
    /// The connection's slab key on this worker while the client is connected.
    pub(crate) conn: Option<usize>,
    /// The protocol version of the latest connection.
    pub(crate) version: Version,
    /// When the session ends after a disconnect.
    pub(crate) expiry: Expiry,
    /// Subscriptions, so they can be listed and removed from the trie when the session ends.
    /// A list, not a map: most sessions have a handful, and an idle one must stay small.
    /// Invariant: no filter appears twice.
    pub(crate) subscriptions: Vec<(SubscriptionFilter, SubInfo)>,
    /// Outgoing QoS 1/2 state, created on the first QoS 1/2 message so that idle sessions and
    /// QoS 0-only ones stay small.
    out: Option<Box<Outbound>>,
    /// Packet ids of QoS 2 PUBLISHes received and not yet released by PUBREL: a duplicate with
    /// one of these ids is not delivered again (MQTT-4.3.3-9 / section 4.3.3 method B).
    /// Boxed and created on first use, so sessions that never receive QoS 2 pay 8 bytes.
    #[allow(clippy::box_collection)] // boxed on purpose: 8 bytes instead of 48 when unused
    incoming_qos2: Option<Box<HashSet<u16>>>,
    /// How many messages the client accepts in flight (its Receive Maximum, MQTT-3.3.4-9).
    pub(crate) send_window: usize,
    /// A will whose Will Delay Interval is running (5.0), sent when it ends or the session does.
    pub(crate) pending_will: Option<Arc<Message>>,
    /// The topic this client last published to, shared by its messages while it repeats it.
    last_topic: Option<Arc<str>>,
    /// Counts connections to this session, so a session-expiry timer armed at one disconnect
    /// is recognised as stale after a later connect.
    pub(crate) epoch: u32,
}

/// What a session is sending: in flight, queued, and the packet ids in use.
#[derive(Debug, Default)]
struct Outbound {
    /// Outgoing QoS 1/2 messages awaiting acknowledgement, in the order they were sent.
    inflight: VecDeque<InFlight>,
    /// Messages waiting for room in the window or for the client to come back.
    queue: VecDeque<Delivery>,
    /// Packet identifiers of `inflight`.
    ids: PacketIds,
}

/// What [`Session::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Added to the queue.
    Added,
    /// Added, and the oldest queued message was dropped to make room.
    DroppedOldest,
}

impl Session {
    /// A fresh session.
    pub(crate) fn new(
        client_id: Arc<str>,
        key: SessionKey,
        version: Version,
        expiry: Expiry,
    ) -> Self {
        Session {
            client_id,
            key,
            conn: None,
            version,
            expiry,
            subscriptions: Vec::new(),
            out: None,
            incoming_qos2: None,
            send_window: usize::from(u16::MAX),
            epoch: 0,
            pending_will: None,
            last_topic: None,
        }
    }

    fn out(&mut self) -> &mut Outbound {
        self.out.get_or_insert_with(Box::default)
    }

    /// True when one more QoS 1/2 message may be sent now.
    pub(crate) fn window_open(&self) -> bool {
        self.in_flight() < self.send_window
    }

    /// How many QoS 1/2 messages are in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.out.as_ref().map_or(0, |o| o.inflight.len())
    }

    /// The messages in flight, oldest first (for resending).
    pub(crate) fn inflight_mut(&mut self) -> impl Iterator<Item = &mut InFlight> {
        self.out.iter_mut().flat_map(|o| o.inflight.iter_mut())
    }

    /// True when messages wait in the queue.
    pub(crate) fn has_queued(&self) -> bool {
        self.out.as_ref().is_some_and(|o| !o.queue.is_empty())
    }

    /// How many messages wait in the queue.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.out.as_ref().map_or(0, |o| o.queue.len())
    }

    /// Takes the oldest queued message.
    pub(crate) fn pop_queued(&mut self) -> Option<Delivery> {
        self.out.as_mut().and_then(|o| o.queue.pop_front())
    }

    /// Puts back a message taken with [`Session::pop_queued`] that could not be sent.
    pub(crate) fn unpop_queued(&mut self, delivery: Delivery) {
        self.out().queue.push_front(delivery);
    }

    /// Reserves the packet id for one more QoS 1/2 message, if the window has room
    /// (MQTT-3.3.4-9) and an id is free; [`Session::record`] then puts the message in flight.
    pub(crate) fn reserve(&mut self) -> Option<PacketId> {
        if !self.window_open() {
            return None;
        }
        self.out().ids.allocate()
    }

    /// Gives back an id from [`Session::reserve`] that was not used after all.
    pub(crate) fn unreserve(&mut self, id: PacketId) {
        self.out().ids.release(id);
    }

    /// Records `delivery`, sent with `id` from [`Session::reserve`], as in flight.
    pub(crate) fn record(&mut self, id: PacketId, delivery: Delivery, now_ms: u64) {
        let state = if delivery.qos == QoS::ExactlyOnce {
            OutState::AwaitPubRec
        } else {
            OutState::AwaitPubAck
        };
        let sent_ms = now_ms;
        self.out().inflight.push_back(InFlight {
            id,
            delivery,
            state,
            sent_ms,
        });
    }

    /// Queues a delivery for later, keeping at most `max` (the oldest is dropped first).
    pub(crate) fn enqueue(&mut self, delivery: Delivery, max: usize) -> Queued {
        let out = self.out();
        out.queue.push_back(delivery);
        if out.queue.len() > max {
            out.queue.pop_front();
            Queued::DroppedOldest
        } else {
            Queued::Added
        }
    }

    /// PUBACK for `id`: true if a QoS 1 message was waiting for it.
    pub(crate) fn puback(&mut self, id: PacketId) -> bool {
        self.finish(id, OutState::AwaitPubAck)
    }

    /// PUBREC for `id`: true if a QoS 2 message was waiting for it (it now waits for PUBCOMP and
    /// its message is released); false if unknown (MQTT-4.3.3: answer PUBREL anyway).
    pub(crate) fn pubrec(&mut self, id: PacketId, now_ms: u64) -> bool {
        match self.inflight_mut().find(|f| f.id == id) {
            Some(f) if f.state == OutState::AwaitPubRec || f.state == OutState::AwaitPubComp => {
                f.state = OutState::AwaitPubComp;
                f.sent_ms = now_ms;
                true
            }
            _ => false,
        }
    }

    /// PUBCOMP for `id`: true if a PUBREL was waiting for it.
    pub(crate) fn pubcomp(&mut self, id: PacketId) -> bool {
        self.finish(id, OutState::AwaitPubComp)
    }

    fn finish(&mut self, id: PacketId, state: OutState) -> bool {
        let Some(out) = self.out.as_mut() else {
            return false;
        };
        let Some(pos) = out
            .inflight
            .iter()
            .position(|f| f.id == id && f.state == state)
        else {
            return false;
        };
        out.inflight.remove(pos);
        out.ids.release(id);
        true
    }

    /// `topic` as a shared string: the previous one when the client publishes to the same topic
    /// again, so repeated topics cost no allocation.
    pub(crate) fn topic_for(&mut self, topic: &str) -> Arc<str> {
        match &self.last_topic {
            Some(t) if **t == *topic => Arc::clone(t),
            _ => {
                let t: Arc<str> = Arc::from(topic);
                self.last_topic = Some(Arc::clone(&t));
                t
            }
        }
    }

    /// Adds or replaces (MQTT-3.8.4-3) a subscription; true if one with this filter existed.
    pub(crate) fn subscribe(&mut self, filter: SubscriptionFilter, info: SubInfo) -> bool {
        match self.subscriptions.iter_mut().find(|(f, _)| *f == filter) {
            Some((_, old)) => {
                *old = info;
                true
            }
            None => {
                self.subscriptions.push((filter, info));
                false
            }
        }
    }

    /// Removes a subscription; true if it existed.
    pub(crate) fn unsubscribe(&mut self, filter: &SubscriptionFilter) -> bool {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|(f, _)| f != filter);
        self.subscriptions.len() != before
    }

    /// True if a QoS 2 PUBLISH with this id was received and not yet released by PUBREL.
    pub(crate) fn qos2_pending(&self, id: PacketId) -> bool {
        self.incoming_qos2
            .as_ref()
            .is_some_and(|s| s.contains(&id.get()))
    }

    /// How many received QoS 2 PUBLISHes await their PUBREL.
    pub(crate) fn qos2_unreleased(&self) -> usize {
        self.incoming_qos2.as_ref().map_or(0, |s| s.len())
    }

    /// Records a received QoS 2 PUBLISH until its PUBREL.
    pub(crate) fn qos2_received(&mut self, id: PacketId) {
        self.incoming_qos2
            .get_or_insert_with(Box::default)
            .insert(id.get());
    }

    /// PUBREL for `id`: true if it was pending.
    pub(crate) fn qos2_release(&mut self, id: PacketId) -> bool {
        let Some(set) = self.incoming_qos2.as_mut() else {
            return false;
        };
        let known = set.remove(&id.get());
        if set.is_empty() {
            self.incoming_qos2 = None;
        }
        known
    }

    /// Forgets everything a clean start discards (MQTT-3.1.2-4 / MQTT-3.1.2-6), returning the
    /// subscriptions so the caller can remove them from the trie.
    pub(crate) fn clear(&mut self) -> Vec<(SubscriptionFilter, SubInfo)> {
        self.out = None;
        self.incoming_qos2 = None;
        std::mem::take(&mut self.subscriptions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packets::PacketId;

    fn delivery(qos: QoS) -> Delivery {
        Delivery {
            message: Arc::new(Message {
                topic: "t".into(),
                payload: Box::default(),
                qos,
                retain: false,
                origin: None,
                properties: None,
            }),
            qos,
            retain: false,
            sub_ids: Box::default(),
        }
    }

    fn session() -> Session {
        let key = SessionKey {
            worker: 0,
            slot: 0,
            generation: 0,
        };
        Session::new("c".into(), key, Version::V3_1_1, Expiry::Never)
    }

    #[test]
    fn window_bounds_inflight_and_acks_free_ids() {
        let mut s = session();
        s.send_window = 2;
        let a = s.reserve().unwrap();
        s.record(a, delivery(QoS::AtLeastOnce), 0);
        let b = s.reserve().unwrap();
        s.record(b, delivery(QoS::ExactlyOnce), 0);
        assert!(s.reserve().is_none(), "MQTT-3.3.4-9");
        assert!(!s.puback(b), "PUBACK does not finish a QoS 2 message");
        assert!(s.puback(a));
        assert!(!s.puback(a), "a second PUBACK is ignored");
        assert!(s.pubrec(b, 1));
        assert!(s.pubcomp(b));
        assert_eq!(s.in_flight(), 0);
        assert_eq!(s.out.as_ref().map(|o| o.ids.in_use()), Some(0));
        assert!(!s.pubcomp(PacketId::new(9).unwrap()));
    }

    #[test]
    fn queue_drops_oldest_past_max() {
        let mut s = session();
        assert_eq!(s.enqueue(delivery(QoS::AtLeastOnce), 2), Queued::Added);
        assert_eq!(s.enqueue(delivery(QoS::AtLeastOnce), 2), Queued::Added);
        assert_eq!(
            s.enqueue(delivery(QoS::AtLeastOnce), 2),
            Queued::DroppedOldest
        );
        assert_eq!(s.queued(), 2);
    }
}
