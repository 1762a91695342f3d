//! MQTT 5.0 helpers of the integration tests: packets decoded with every property and reason
//! code kept ([`In5`]), builders for CONNECT, PUBLISH and SUBSCRIBE with properties, raw-client
//! methods on top of them, and a rumqttc v5 client whose event loop runs on a thread ([`R5`]).
//!
//! Every wait is bounded, as in the parent module.

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use roost::packets::{
    self, Connect, ConnectProperties, Packet, PacketId, Publish, PublishProperties, QoS, QosPid,
    RetainHandling, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions, Unsubscribe,
    UserProperties, Version, Will,
};

use super::{after, encode, Raw, RecvError, WAIT};

// ---- Decoded packets ----------------------------------------------------------------------

/// A packet from roost as a 5.0 client sees it: reason codes and properties included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum In5 {
    ConnAck(ConnAck5),
    Publish(Pub5),
    PubAck(Ack5),
    PubRec(Ack5),
    PubRel(Ack5),
    PubComp(Ack5),
    SubAck {
        id: u16,
        reasons: Vec<u8>,
    },
    UnsubAck {
        id: u16,
        reasons: Vec<u8>,
    },
    PingResp,
    Disconnect(Disconnect5),
    /// Anything else, by name.
    Other(String),
}

/// A CONNACK with the properties the tests look at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAck5 {
    pub session_present: bool,
    pub code: u8,
    pub session_expiry: Option<u32>,
    pub receive_maximum: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<bool>,
    pub maximum_packet_size: Option<u32>,
    pub assigned_client_id: Option<String>,
    pub topic_alias_maximum: Option<u16>,
    pub wildcard_available: Option<bool>,
    pub sub_ids_available: Option<bool>,
    pub shared_available: Option<bool>,
    pub server_keep_alive: Option<u16>,
    pub authentication_method: Option<String>,
}

/// A PUBLISH with all its properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pub5 {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub id: Option<u16>,
    pub payload_is_utf8: Option<bool>,
    pub message_expiry: Option<u32>,
    pub topic_alias: Option<u16>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Vec<u8>>,
    pub user: Vec<(String, String)>,
    pub sub_ids: Vec<u32>,
}

impl Pub5 {
    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: packet id and reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack5 {
    pub id: u16,
    pub reason: u8,
}

/// A DISCONNECT from roost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect5 {
    pub reason: u8,
    pub session_expiry: Option<u32>,
    pub server_reference: Option<String>,
}

fn owned5(packet: &Packet<'_>) -> In5 {
    let ack = |a: &packets::Ack<'_>| Ack5 {
        id: a.packet_id.get(),
        reason: a.reason.code(),
    };
    match packet {
        Packet::ConnAck(c) => {
            let p = &c.properties;
            In5::ConnAck(ConnAck5 {
                session_present: c.session_present,
                code: c.code.code(),
                session_expiry: p.session_expiry_interval,
                receive_maximum: p.receive_maximum.map(NonZeroU16::get),
                maximum_qos: p.maximum_qos.map(|q| q as u8),
                retain_available: p.retain_available,
                maximum_packet_size: p.maximum_packet_size.map(NonZeroU32::get),
                assigned_client_id: p.assigned_client_identifier.map(str::to_owned),
                topic_alias_maximum: p.topic_alias_maximum,
                wildcard_available: p.wildcard_subscription_available,
                sub_ids_available: p.subscription_identifiers_available,
                shared_available: p.shared_subscription_available,
                server_keep_alive: p.server_keep_alive,
                authentication_method: p.authentication_method.map(str::to_owned),
            })
        }
        Packet::Publish(p) => {
            let pp = &p.properties;
            In5::Publish(Pub5 {
                topic: p.topic.to_owned(),
                payload: p.payload.to_vec(),
                qos: p.qos_pid.qos() as u8,
                retain: p.retain,
                dup: p.dup,
                id: p.qos_pid.packet_id().map(PacketId::get),
                payload_is_utf8: pp.payload_is_utf8,
                message_expiry: pp.message_expiry_interval,
                topic_alias: pp.topic_alias.map(NonZeroU16::get),
                content_type: pp.content_type.map(str::to_owned),
                response_topic: pp.response_topic.map(str::to_owned),
                correlation_data: pp.correlation_data.map(<[u8]>::to_vec),
                user: pp
                    .user
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                sub_ids: pp.subscription_ids.iter().map(NonZeroU32::get).collect(),
            })
        }
        Packet::PubAck(a) => In5::PubAck(ack(a)),
        Packet::PubRec(a) => In5::PubRec(ack(a)),
        Packet::PubRel(a) => In5::PubRel(ack(a)),
        Packet::PubComp(a) => In5::PubComp(ack(a)),
        Packet::SubAck(s) => In5::SubAck {
            id: s.packet_id.get(),
            reasons: s.reasons.iter().map(|r| r.code()).collect(),
        },
        Packet::UnsubAck(u) => In5::UnsubAck {
            id: u.packet_id.get(),
            reasons: u.reasons.iter().map(|r| r.code()).collect(),
        },
        Packet::PingResp => In5::PingResp,
        Packet::Disconnect(d) => In5::Disconnect(Disconnect5 {
            reason: d.reason.code(),
            session_expiry: d.properties.session_expiry_interval,
            server_reference: d.properties.server_reference.map(str::to_owned),
        }),
        other => In5::Other(format!("{:?}", other.packet_type())),
    }
}

// ---- Builders -------------------------------------------------------------------------------

/// A 5.0 CONNECT.
pub fn connect5_bytes(
    client_id: &str,
    clean_start: bool,
    keep_alive: u16,
    properties: ConnectProperties<'_>,
    will: Option<Will<'_>>,
) -> Vec<u8> {
    let c = Connect {
        protocol: Version::V5,
        clean_start,
        keep_alive,
        client_id,
        will,
        username: None,
        password: None,
        properties,
    };
    encode(&Packet::Connect(c), Version::V5)
}

/// A 5.0 PUBLISH with `properties`; `id` is ignored at QoS 0.
pub fn publish5_bytes(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: u16,
    retain: bool,
    properties: PublishProperties<'_>,
) -> Vec<u8> {
    let id = PacketId::new(id.max(1)).expect("non-zero");
    let p = Publish {
        dup: false,
        qos_pid: QosPid::new(qos, id),
        retain,
        topic,
        payload,
        properties,
    };
    encode(&Packet::Publish(p), Version::V5)
}

/// Subscription options with `qos` and everything else at its default.
pub fn opts(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}

/// A 5.0 SUBSCRIBE of `filters`, with a Subscription Identifier when `sub_id` is given.
pub fn subscribe5_bytes(
    id: u16,
    filters: &[(&str, SubscriptionOptions)],
    sub_id: Option<u32>,
) -> Vec<u8> {
    let s = Subscribe {
        packet_id: PacketId::new(id).expect("non-zero"),
        filters: filters
            .iter()
            .map(|(filter, options)| Subscription {
                filter,
                options: *options,
            })
            .collect(),
        properties: SubscribeProperties {
            subscription_id: sub_id.and_then(NonZeroU32::new),
            user: UserProperties::default(),
        },
    };
    encode(&Packet::Subscribe(s), Version::V5)
}

/// A 5.0 UNSUBSCRIBE.
pub fn unsubscribe5_bytes(id: u16, filters: &[&str]) -> Vec<u8> {
    let u = Unsubscribe {
        packet_id: PacketId::new(id).expect("non-zero"),
        filters: filters.to_vec(),
        user: UserProperties::default(),
    };
    encode(&Packet::Unsubscribe(u), Version::V5)
}

/// A 5.0 acknowledgement of `kind` ("puback", "pubrec", "pubrel", "pubcomp") with `reason`.
pub fn ack5_bytes(kind: &str, id: u16, reason: packets::ReasonCode) -> Vec<u8> {
    let mut a = packets::Ack::new(PacketId::new(id).expect("non-zero"));
    a.reason = reason;
    let p = match kind {
        "puback" => Packet::PubAck(a),
        "pubrec" => Packet::PubRec(a),
        "pubrel" => Packet::PubRel(a),
        "pubcomp" => Packet::PubComp(a),
        other => panic!("unknown ack {other}"),
    };
    encode(&p, Version::V5)
}

/// A 5.0 DISCONNECT with `reason` and, if given, a Session Expiry Interval.
pub fn disconnect5_bytes(reason: packets::ReasonCode, session_expiry: Option<u32>) -> Vec<u8> {
    let mut d = packets::Disconnect::new(reason);
    d.properties.session_expiry_interval = session_expiry;
    encode(&Packet::Disconnect(d), Version::V5)
}

// ---- The raw client, 5.0 view -----------------------------------------------------------------

impl Raw {
    /// A raw 5.0 client: connects, sends `connect` (from [`connect5_bytes`]) and returns the
    /// CONNACK, whatever its code.
    pub fn open5_with(addr: std::net::SocketAddr, connect: &[u8]) -> (Raw, ConnAck5) {
        let mut raw = Raw::connect(addr);
        raw.version = Version::V5;
        raw.send(connect).expect("send CONNECT");
        match raw.recv5(WAIT) {
            Ok(In5::ConnAck(c)) => (raw, c),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// A raw 5.0 client with Clean Start and the given Session Expiry Interval (none if 0);
    /// asserts CONNACK Success.
    pub fn open5(addr: std::net::SocketAddr, client_id: &str, session_expiry: u32) -> Raw {
        Raw::open5_session(addr, client_id, true, session_expiry).0
    }

    /// A raw 5.0 client with `clean_start` and `session_expiry`; asserts CONNACK Success and
    /// returns Session Present.
    pub fn open5_session(
        addr: std::net::SocketAddr,
        client_id: &str,
        clean_start: bool,
        session_expiry: u32,
    ) -> (Raw, bool) {
        let props = ConnectProperties {
            session_expiry_interval: (session_expiry > 0).then_some(session_expiry),
            ..ConnectProperties::default()
        };
        let bytes = connect5_bytes(client_id, clean_start, 0, props, None);
        let (raw, ack) = Raw::open5_with(addr, &bytes);
        assert_eq!(ack.code, 0, "CONNACK for {client_id}: {ack:?}");
        (raw, ack.session_present)
    }

    /// The next whole packet, decoded as 5.0 with everything kept.
    pub fn recv5(&mut self, within: Duration) -> Result<In5, RecvError> {
        self.recv_as(within, Version::V5, |packet, _| owned5(packet))
    }

    /// The next packet, which must be a PUBLISH.
    pub fn recv_pub5(&mut self, within: Duration) -> Pub5 {
        match self.recv5(within) {
            Ok(In5::Publish(p)) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Acknowledges `p` as its QoS requires (QoS 2: PUBREC, then PUBCOMP once PUBREL arrives).
    pub fn ack5(&mut self, p: &Pub5) {
        use packets::ReasonCode::Success;
        match (p.qos, p.id) {
            (1, Some(id)) => self
                .send(&ack5_bytes("puback", id, Success))
                .expect("PUBACK"),
            (2, Some(id)) => {
                self.send(&ack5_bytes("pubrec", id, Success))
                    .expect("PUBREC");
                match self.recv5(WAIT) {
                    Ok(In5::PubRel(a)) if a.id == id => {}
                    other => panic!("expected PUBREL {id}, got {other:?}"),
                }
                self.send(&ack5_bytes("pubcomp", id, Success))
                    .expect("PUBCOMP");
            }
            _ => {}
        }
    }

    /// `n` PUBLISHes, each acknowledged; anything else is an error.
    pub fn recv_pubs5(&mut self, n: usize, within: Duration) -> Vec<Pub5> {
        let deadline = after(within);
        (0..n)
            .map(|i| {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.recv5(left) {
                    Ok(In5::Publish(p)) => {
                        self.ack5(&p);
                        p
                    }
                    other => panic!("message {i} of {n}: expected PUBLISH, got {other:?}"),
                }
            })
            .collect()
    }

    /// Subscribes (5.0) and returns the SUBACK reason codes.
    pub fn subscribe5(
        &mut self,
        id: u16,
        filters: &[(&str, SubscriptionOptions)],
        sub_id: Option<u32>,
    ) -> Vec<u8> {
        self.send(&subscribe5_bytes(id, filters, sub_id))
            .expect("send SUBSCRIBE");
        self.expect_suback(id)
    }

    /// Waits for the SUBACK of `id` (PUBLISHes of retained messages may follow it, not
    /// precede it) and returns its reason codes.
    pub fn expect_suback(&mut self, id: u16) -> Vec<u8> {
        match self.recv5(WAIT) {
            Ok(In5::SubAck { id: got, reasons }) => {
                assert_eq!(got, id, "SUBACK packet id");
                reasons
            }
            other => panic!("expected SUBACK {id}, got {other:?}"),
        }
    }

    /// Sends a 5.0 PUBLISH and completes its flow; returns the reason code of the PUBACK or
    /// PUBREC (0 for QoS 0). A QoS 2 flow is completed with PUBREL/PUBCOMP.
    pub fn publish5(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        id: u16,
        retain: bool,
        properties: PublishProperties<'_>,
    ) -> u8 {
        use packets::ReasonCode::Success;
        self.send(&publish5_bytes(topic, payload, qos, id, retain, properties))
            .expect("send PUBLISH");
        match qos {
            QoS::AtMostOnce => 0,
            QoS::AtLeastOnce => match self.recv5(WAIT) {
                Ok(In5::PubAck(a)) if a.id == id => a.reason,
                other => panic!("expected PUBACK {id}, got {other:?}"),
            },
            QoS::ExactlyOnce => {
                let reason = match self.recv5(WAIT) {
                    Ok(In5::PubRec(a)) if a.id == id => a.reason,
                    other => panic!("expected PUBREC {id}, got {other:?}"),
                };
                if reason < 0x80 {
                    self.send(&ack5_bytes("pubrel", id, Success))
                        .expect("PUBREL");
                    match self.recv5(WAIT) {
                        Ok(In5::PubComp(a)) if a.id == id => {}
                        other => panic!("expected PUBCOMP {id}, got {other:?}"),
                    }
                }
                reason
            }
        }
    }

    /// Reads until roost closes the connection and returns the reason code of the DISCONNECT
    /// it sent last before closing (`None` if there was none); other packets are collected.
    pub fn expect_disconnect5(&mut self, within: Duration) -> (Option<u8>, Vec<In5>) {
        let deadline = after(within);
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv5(left) {
                Ok(p) => got.push(p),
                Err(RecvError::Closed) => {
                    let reason = match got.last() {
                        Some(In5::Disconnect(d)) => Some(d.reason),
                        _ => None,
                    };
                    return (reason, got);
                }
                Err(e) => panic!("connection not closed within {within:?} ({e:?}); got {got:?}"),
            }
        }
    }

    /// Asserts that nothing arrives for `quiet` (5.0 decoding).
    pub fn expect_silence5(&mut self, quiet: Duration) {
        match self.recv5(quiet) {
            Err(RecvError::Timeout) => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    /// Sends a normal DISCONNECT (5.0) and waits for the close.
    pub fn disconnect5(mut self) {
        let _ = self.send(&disconnect5_bytes(packets::ReasonCode::Success, None));
        let (reason, got) = self.expect_disconnect5(WAIT);
        assert_eq!(reason, None, "roost answered a DISCONNECT: {got:?}");
    }
}

/// Publishes QoS 1 messages to `topic` from `publisher` until a PUBACK reports `want` (0x00
/// matched, 0x10 no matching subscribers), or `within` passes; returns when it did, if it did.
/// The payloads are `probe-<n>`. Packet ids start at `first_id`.
pub fn probe_until(
    publisher: &mut Raw,
    topic: &str,
    want: u8,
    first_id: u16,
    within: Duration,
) -> Option<Instant> {
    let deadline = after(within);
    let mut id = first_id;
    loop {
        let reason = publisher.publish5(
            topic,
            format!("probe-{id}").as_bytes(),
            QoS::AtLeastOnce,
            id,
            false,
            PublishProperties::default(),
        );
        if reason == want {
            return Some(Instant::now());
        }
        if Instant::now() >= deadline {
            return None;
        }
        id = id.wrapping_add(1).max(1);
        thread::sleep(Duration::from_millis(20));
    }
}

// ---- rumqttc v5 -----------------------------------------------------------------------------

pub use rumqttc::v5::mqttbytes::v5::Packet as RP5;

/// What [`R5`]'s event channel reports once the client's DISCONNECT was written.
pub const DISCONNECT_SENT: &str = "DISCONNECT sent";

/// A rumqttc v5 client whose event loop runs on its own thread; incoming events (and a final
/// connection error, as text) arrive on a channel. The thread stops when this is dropped or the
/// connection fails.
pub struct R5 {
    pub client: rumqttc::v5::Client,
    pub events: Receiver<Result<RP5, String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The CONNACK (always set once [`R5::with`] returns).
    pub connack: Option<rumqttc::v5::mqttbytes::v5::ConnAck>,
}

impl R5 {
    /// Connects with clean start and a 30 s keepalive.
    pub fn connect(port: u16, id: &str) -> R5 {
        R5::with(port, id, |_| {})
    }

    /// Connects with options adjusted by `f`, and waits for the CONNACK.
    pub fn with(port: u16, id: &str, f: impl FnOnce(&mut rumqttc::v5::MqttOptions)) -> R5 {
        let mut opts = rumqttc::v5::MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30));
        f(&mut opts);
        let (client, mut connection) = rumqttc::v5::Client::new(opts, 1000);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match connection.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(rumqttc::v5::Event::Incoming(p))) => {
                        if tx.send(Ok(p)).is_err() {
                            return;
                        }
                    }
                    Ok(Ok(rumqttc::v5::Event::Outgoing(rumqttc::Outgoing::Disconnect))) => {
                        // Flushed before the event is reported: the loop may end here.
                        let _ = tx.send(Err(DISCONNECT_SENT.into()));
                        return;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(format!("{e:?}")));
                        return;
                    }
                    Err(rumqttc::v5::RecvTimeoutError::Timeout) => {}
                    Err(rumqttc::v5::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        let mut r = R5 {
            client,
            events: rx,
            stop,
            thread: Some(thread),
            connack: None,
        };
        let ack = r.wait("CONNACK", |p| matches!(p, RP5::ConnAck(_)));
        if let RP5::ConnAck(c) = ack {
            r.connack = Some(c);
        }
        r
    }

    /// Waits for an incoming packet matching `f`, dropping others.
    pub fn wait(&self, what: &str, f: impl Fn(&RP5) -> bool) -> RP5 {
        let deadline = after(WAIT);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(p)) if f(&p) => return p,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("rumqttc v5: {e} while waiting for {what}"),
                Err(_) => panic!("rumqttc v5: no {what} within {WAIT:?}"),
            }
        }
    }

    /// Subscribes to `filters` with `sub_id` and waits for the SUBACK; returns its reason codes.
    pub fn subscribe(
        &self,
        filters: Vec<rumqttc::v5::mqttbytes::v5::Filter>,
        sub_id: Option<usize>,
    ) -> Vec<rumqttc::v5::mqttbytes::v5::SubscribeReasonCode> {
        let props = rumqttc::v5::mqttbytes::v5::SubscribeProperties {
            id: sub_id,
            user_properties: Vec::new(),
        };
        self.client
            .subscribe_many_with_properties(filters, props)
            .expect("subscribe");
        match self.wait("SUBACK", |p| matches!(p, RP5::SubAck(_))) {
            RP5::SubAck(s) => s.return_codes,
            _ => unreachable!("filtered above"),
        }
    }

    /// `n` incoming PUBLISHes within `within`.
    pub fn messages(&self, n: usize, within: Duration) -> Vec<rumqttc::v5::mqttbytes::v5::Publish> {
        let deadline = after(within);
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(RP5::Publish(p))) => out.push(p),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("rumqttc v5: {e} after {} of {n} messages", out.len()),
                Err(_) => panic!(
                    "rumqttc v5: {} of {n} messages within {within:?}",
                    out.len()
                ),
            }
        }
        out
    }

    /// Asserts that no PUBLISH arrives for `quiet`.
    pub fn expect_no_message(&self, quiet: Duration) {
        let deadline = after(quiet);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(RP5::Publish(p))) => panic!("rumqttc v5: unexpected {p:?}"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("rumqttc v5: {e}"),
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => panic!("rumqttc v5: event loop ended"),
            }
        }
    }

    /// The connection error within `within`, as text (`None` if still connected).
    pub fn error_within(&self, within: Duration) -> Option<String> {
        let deadline = after(within);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Some(e),
                Err(RecvTimeoutError::Disconnected) => return Some("event loop ended".into()),
                Err(RecvTimeoutError::Timeout) => return None,
            }
        }
    }

    /// Sends DISCONNECT and stops the event loop once it is written.
    pub fn disconnect(self) {
        self.client.disconnect().expect("disconnect");
        assert_eq!(
            self.error_within(WAIT).as_deref(),
            Some(DISCONNECT_SENT),
            "rumqttc v5 DISCONNECT"
        );
    }
}

impl Drop for R5 {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- Python paho-mqtt, long-running ------------------------------------------------------------
