//! MQTT 5.0 wills and DISCONNECT: Will Delay Interval (cancelled by a reconnect in time, sent
//! after the delay, sent when the session ends first), will properties on the will message,
//! DISCONNECT 0x04, and the DISCONNECTs roost sends: 0x8E takeover, 0x8D keepalive, 0x81/0x82
//! violations, 0x82 for AUTH without a method, 0x8B at SIGTERM. Wills across versions.

mod common;

use std::time::{Duration, Instant};

use common::v5::*;
use common::*;
use roost::packets::{
    Auth, AuthProperties, ConnectProperties, Packet, QoS, ReasonCode, UserProperties, Version,
    Will, WillProperties,
};

/// rumqttc 0.25 cannot decode a DISCONNECT whose Remaining Length is 1 (reason code, no
/// property length, valid per section 3.14.2.2.1: it waits for a property length), so the
/// EOF that follows reaches it first as `ConnectionAborted`. The exact codes are asserted on
/// raw bytes; here the connection must end, and with `reason` if rumqttc names one.
fn assert_rumqttc_reason(err: &str, reason: &str) {
    assert!(
        err.contains(reason) || err == "MqttState(ConnectionAborted)",
        "rumqttc v5 ended with {err}, expected {reason}"
    );
}

/// A 5.0 subscriber to `topic` at QoS 1.
fn watcher(broker: &Broker, topic: &str) -> Raw {
    let mut w = Raw::open5(broker.addr, &unique("watch"), 0);
    w.subscribe5(1, &[(topic, opts(QoS::AtLeastOnce))], None);
    w
}

/// A 5.0 client with a QoS 1 will on `topic` ("gone"), `delay` and `session_expiry`.
fn with_will(broker: &Broker, id: &str, topic: &str, delay: u32, session_expiry: u32) -> Raw {
    let will = Will {
        topic,
        payload: b"gone",
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: (delay > 0).then_some(delay),
            ..WillProperties::default()
        },
    };
    let props = ConnectProperties {
        session_expiry_interval: (session_expiry > 0).then_some(session_expiry),
        ..ConnectProperties::default()
    };
    let (raw, ack) = Raw::open5_with(broker.addr, &connect5_bytes(id, true, 0, props, Some(will)));
    assert_eq!(ack.code, 0, "{ack:?}");
    raw
}

#[test]
fn delayed_will_is_cancelled_by_a_reconnect_in_time_mqtt_3_1_3_9() {
    let broker = Broker::start();
    let topic = unique("wd-cancel");
    let mut w = watcher(&broker, &topic);
    let id = unique("wd-cancel-c");
    let c = with_will(&broker, &id, &topic, 1, 10);
    drop(c); // the socket closes without DISCONNECT
    let (back, present) = Raw::open5_session(broker.addr, &id, false, 10);
    assert!(present);
    // Past the original 1 s delay: still no will.
    w.expect_silence5(Duration::from_millis(1500));
    back.disconnect5();
    w.expect_silence5(QUIET);
}

#[test]
fn delayed_will_is_sent_after_the_delay_with_its_properties_mqtt_3_1_3_9() {
    let broker = Broker::start();
    let topic = unique("wd-sent");
    let mut w = watcher(&broker, &topic);
    let pairs = [("b", "1"), ("a", "2")];
    let will = Will {
        topic: &topic,
        payload: b"bye",
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: Some(1),
            payload_is_utf8: Some(true),
            message_expiry_interval: Some(60),
            content_type: Some("text/plain"),
            response_topic: Some("will/replies"),
            correlation_data: Some(b"\x07"),
            user: UserProperties::Pairs(&pairs),
        },
    };
    let props = ConnectProperties {
        session_expiry_interval: Some(10),
        ..ConnectProperties::default()
    };
    let (c, _) = Raw::open5_with(
        broker.addr,
        &connect5_bytes(&unique("wd-sent-c"), true, 0, props, Some(will)),
    );
    drop(c);
    let lost = Instant::now();
    w.expect_silence5(Duration::from_millis(700));
    let m = w.recv_pubs5(1, WAIT).remove(0);
    assert!(
        lost.elapsed() >= Duration::from_millis(900),
        "{:?}",
        lost.elapsed()
    );
    // Section 3.1.3.2: the will properties go out with the will message.
    let want = Pub5 {
        topic: topic.clone(),
        payload: b"bye".to_vec(),
        qos: 1,
        id: m.id,
        payload_is_utf8: Some(true),
        message_expiry: m.message_expiry,
        content_type: Some("text/plain".into()),
        response_topic: Some("will/replies".into()),
        correlation_data: Some(b"\x07".to_vec()),
        user: vec![("b".into(), "1".into()), ("a".into(), "2".into())],
        ..Pub5::default()
    };
    assert_eq!(m, want);
    assert!(matches!(m.message_expiry, Some(58..=60)), "{m:?}");
}

#[test]
fn delayed_will_goes_out_when_the_session_ends_first_mqtt_3_1_3_9() {
    let broker = Broker::start();
    let topic = unique("wd-session");
    let mut w = watcher(&broker, &topic);
    // Session Expiry 1 s, Will Delay 30 s: the will goes when the session ends.
    let c = with_will(&broker, &unique("wd-s1"), &topic, 30, 1);
    drop(c);
    let lost = Instant::now();
    let m = w.recv_pubs5(1, Duration::from_secs(5)).remove(0);
    assert_eq!(m.text(), "gone");
    let after_ms = lost.elapsed();
    assert!(
        after_ms >= Duration::from_millis(800) && after_ms < Duration::from_secs(5),
        "{after_ms:?}"
    );
    // No Session Expiry: the session ends with the connection, so the will goes at once.
    let c = with_will(&broker, &unique("wd-s0"), &topic, 30, 0);
    drop(c);
    let m = w.recv_pubs5(1, Duration::from_millis(700)).remove(0);
    assert_eq!(m.text(), "gone");
}

#[test]
fn paho_v5_delayed_will_arrives_after_the_delay() {
    let broker = Broker::start();
    let port = broker.port().to_string();
    let topic = unique("wd-paho");
    let mut w = watcher(&broker, &topic);
    let out = python(
        "v5.py",
        &[
            "will",
            "--port",
            &port,
            "--topic",
            &topic,
            "--delay",
            "1",
            "--expiry",
            "10",
            "--payload",
            "paho-gone",
        ],
    );
    assert_eq!(out, ["READY"]);
    let exited = Instant::now();
    w.expect_silence5(Duration::from_millis(600));
    let m = w.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(m.text(), "paho-gone");
    assert!(exited.elapsed() >= Duration::from_millis(800));
}

#[test]
fn disconnect_0x04_sends_the_will_and_0x00_does_not_mqtt_3_14_2_1() {
    let broker = Broker::start();
    let topic = unique("d04");
    let mut w = watcher(&broker, &topic);
    let mut c = with_will(&broker, &unique("d00-c"), &topic, 0, 0);
    c.send(&disconnect5_bytes(ReasonCode::Success, None))
        .expect("DISCONNECT");
    assert_eq!(c.expect_disconnect5(WAIT).0, None);
    w.expect_silence5(QUIET); // MQTT-3.1.2-10
    let mut c = with_will(&broker, &unique("d04-c"), &topic, 0, 0);
    c.send(&disconnect5_bytes(
        ReasonCode::DisconnectWithWillMessage,
        None,
    ))
    .expect("DISCONNECT");
    assert_eq!(c.expect_disconnect5(WAIT).0, None);
    assert_eq!(w.recv_pubs5(1, WAIT)[0].text(), "gone");
}

#[test]
fn takeover_sends_disconnect_0x8e_to_the_old_connection_mqtt_3_1_4_3() {
    let broker = Broker::start();
    let topic = unique("takeover");
    let mut w = watcher(&broker, &topic);
    let id = unique("takeover-c");
    let mut old = with_will(&broker, &id, &topic, 0, 0);
    let new = Raw::open5(broker.addr, &id, 0);
    let (reason, got) = old.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x8E), "{got:?}");
    // The old connection ended without DISCONNECT: its will goes out.
    assert_eq!(w.recv_pubs5(1, WAIT)[0].text(), "gone");
    new.disconnect5();

    // rumqttc v5 sees the same reason.
    let id = unique("takeover-r5");
    let r = R5::connect(broker.port(), &id);
    let _replacement = Raw::open5(broker.addr, &id, 0);
    let err = r.error_within(WAIT).expect("rumqttc v5 disconnected");
    assert_rumqttc_reason(&err, "SessionTakenOver");
}

#[test]
fn keepalive_timeout_sends_disconnect_0x8d_and_the_will_mqtt_3_1_2_24() {
    let broker = Broker::start();
    let topic = unique("ka");
    let mut w = watcher(&broker, &topic);
    let will = Will {
        topic: &topic,
        payload: b"gone",
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties::default(),
    };
    let (mut c, _) = Raw::open5_with(
        broker.addr,
        &connect5_bytes(
            &unique("ka-c"),
            true,
            1,
            ConnectProperties::default(),
            Some(will),
        ),
    );
    let start = Instant::now();
    let (reason, got) = c.expect_disconnect5(Duration::from_secs(5));
    assert_eq!(reason, Some(0x8D), "{got:?}");
    assert!(start.elapsed() >= Duration::from_millis(1400));
    assert_eq!(w.recv_pubs5(1, WAIT)[0].text(), "gone");
}

#[test]
fn violations_send_disconnect_0x81_or_0x82_and_the_will() {
    let broker = Broker::start();
    let topic = unique("viol");
    let mut w = watcher(&broker, &topic);
    let cases: [(&str, Vec<u8>, u8); 3] = [
        // PUBLISH with QoS 3: Malformed Packet (MQTT-3.3.1-4).
        ("qos 3", vec![0x36, 5, 0, 1, b't', 0, 1], 0x81),
        // A second CONNECT: Protocol Error (MQTT-3.1.0-2).
        (
            "second CONNECT",
            connect5_bytes("again", true, 0, ConnectProperties::default(), None),
            0x82,
        ),
        // Maximum QoS 3 in a SUBSCRIBE: Protocol Error (section 3.8.3.1).
        (
            "subscribe qos 3",
            vec![0x82, 7, 0, 1, 0, 0, 1, b't', 3],
            0x82,
        ),
    ];
    for (what, bytes, code) in cases {
        let mut c = with_will(&broker, &unique("viol-c"), &topic, 0, 0);
        c.send(&bytes).expect("send");
        let (reason, got) = c.expect_disconnect5(WAIT);
        assert_eq!(reason, Some(code), "{what}: {got:?}");
        assert_eq!(w.recv_pubs5(1, WAIT)[0].text(), "gone", "{what}");
    }
}

#[test]
fn auth_without_an_authentication_method_in_use_gets_disconnect_0x82_mqtt_4_12() {
    let broker = Broker::start();
    let mut c = Raw::open5(broker.addr, &unique("auth"), 0);
    let auth = Auth {
        reason: ReasonCode::ReAuthenticate,
        properties: AuthProperties {
            authentication_method: Some("SCRAM-SHA-1"),
            ..AuthProperties::default()
        },
    };
    c.send(&encode(&Packet::Auth(auth), Version::V5))
        .expect("AUTH");
    let (reason, got) = c.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x82), "{got:?}");
}

#[test]
fn sigterm_sends_disconnect_0x8b_to_v5_clients_only() {
    let mut broker = Broker::start();
    let mut c5 = Raw::open5(broker.addr, &unique("term-5"), 0);
    let (mut c3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("term-3")));
    let r = R5::connect(broker.port(), &unique("term-r5"));
    let status = broker
        .stop_with("TERM", WAIT)
        .expect("roost exits on SIGTERM");
    assert!(status.success(), "{status:?}");
    let (reason, got) = c5.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x8B), "{got:?}");
    assert_eq!(
        c3.expect_closed(WAIT),
        [],
        "3.1.1 has no DISCONNECT from the server"
    );
    let err = r.error_within(WAIT).expect("rumqttc v5 disconnected");
    assert_rumqttc_reason(&err, "ServerShuttingDown");
}

#[test]
fn wills_cross_versions() {
    let broker = Broker::start();
    let topic = unique("will-x");
    let (mut w3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("will-x-3")));
    w3.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    let mut w5 = watcher(&broker, &topic);

    // A 5.0 will with properties reaches the 3.1.1 subscriber without them.
    let pairs = [("k", "v")];
    let will = Will {
        topic: &topic,
        payload: b"from-5",
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            content_type: Some("text/plain"),
            user: UserProperties::Pairs(&pairs),
            ..WillProperties::default()
        },
    };
    let (c5, _) = Raw::open5_with(
        broker.addr,
        &connect5_bytes(
            &unique("will-x-c5"),
            true,
            0,
            ConnectProperties::default(),
            Some(will),
        ),
    );
    drop(c5);
    let m = w3.recv_acked(1, WAIT).remove(0);
    assert_eq!((m.text(), m.user), ("from-5".into(), vec![]));
    let m = w5.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(m.content_type.as_deref(), Some("text/plain"));
    assert_eq!(m.user, [("k".to_owned(), "v".to_owned())]);

    // A 3.1.1 will reaches the 5.0 subscriber, retained too.
    let id3 = unique("will-x-c3");
    let opts3 = ConnectOpts::v311(&id3).will(&topic, b"from-3", QoS::AtLeastOnce, true);
    let (c3, _) = Raw::open(broker.addr, &opts3);
    drop(c3);
    let m = w5.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(
        (m.text(), m.content_type, m.user),
        ("from-3".into(), None, vec![])
    );
    assert_eq!(w3.recv_acked(1, WAIT)[0].text(), "from-3");
    let mut late = Raw::open5(broker.addr, &unique("will-x-late"), 0);
    late.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    let m = late.recv_pub5(WAIT);
    assert_eq!((m.text(), m.retain), ("from-3".into(), true));
}
