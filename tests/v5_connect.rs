//! MQTT 5.0 CONNECT and CONNACK: the properties roost advertises, Assigned Client Identifier,
//! Server Keep Alive, the refusals (0x84 in 3.1.1 form, 0x85 as 3.1.1 return code 2, 0x8C, the
//! decode reason of a malformed 5.0 CONNECT), and the Session Expiry Interval (resume within it,
//! gone after it, changed at DISCONNECT), with raw bytes, rumqttc v5 and paho.

mod common;

use std::time::{Duration, Instant};

use common::v5::*;
use common::*;
use roost::packets::{ConnectProperties, PublishProperties, QoS, ReasonCode};

/// A 5.0 CONNECT with client id "x", Clean Start and the raw property block `props` (length
/// prefix added here), for properties the encoder refuses to write.
fn connect_with_raw_props(props: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 0];
    body.push(u8::try_from(props.len()).expect("short property block"));
    body.extend_from_slice(props);
    body.extend_from_slice(&[0, 1, b'x']);
    let mut out = vec![0x10, u8::try_from(body.len()).expect("short CONNECT")];
    out.extend_from_slice(&body);
    out
}

#[test]
fn connack_advertises_roost_limits_and_capabilities_mqtt_3_2_2_3() {
    let broker = Broker::with(&[("ROOST_MAX_PACKET_SIZE", "4096")]);
    let id = unique("caps");
    let (raw, ack) = Raw::open5_with(
        broker.addr,
        &connect5_bytes(&id, true, 30, ConnectProperties::default(), None),
    );
    // No Assigned Client Identifier (an id was given), no Server Keep Alive (30 s is under the
    // cap), no Maximum QoS (absent means QoS 2 is supported, MQTT-3.2.2-9).
    let want = ConnAck5 {
        session_present: false,
        code: 0,
        receive_maximum: Some(1024),
        topic_alias_maximum: Some(64),
        maximum_packet_size: Some(4096),
        retain_available: Some(true),
        wildcard_available: Some(true),
        sub_ids_available: Some(true),
        shared_available: Some(true),
        ..ConnAck5::default()
    };
    assert_eq!(ack, want);
    raw.disconnect5();

    // rumqttc's own decoder reads the same values.
    let r = R5::connect(broker.port(), &unique("caps-r5"));
    let props = r
        .connack
        .as_ref()
        .and_then(|c| c.properties.clone())
        .expect("CONNACK properties");
    assert_eq!(props.receive_max, Some(1024));
    assert_eq!(props.topic_alias_max, Some(64));
    assert_eq!(props.max_packet_size, Some(4096));
    assert_eq!(props.retain_available, Some(1));
    assert_eq!(props.wildcard_subscription_available, Some(1));
    assert_eq!(props.subscription_identifiers_available, Some(1));
    assert_eq!(props.shared_subscription_available, Some(1));
    assert_eq!(props.max_qos, None);
    r.disconnect();
}

#[test]
fn empty_client_id_gets_an_assigned_identifier_that_names_the_session_mqtt_3_2_2_16() {
    let broker = Broker::start();
    let topic = unique("assigned");
    let props = ConnectProperties {
        session_expiry_interval: Some(30),
        ..ConnectProperties::default()
    };
    let (mut a, ack) = Raw::open5_with(broker.addr, &connect5_bytes("", true, 0, props, None));
    assert_eq!(ack.code, 0, "{ack:?}");
    let id = ack
        .assigned_client_id
        .expect("MQTT-3.2.2-16: Assigned Client Identifier for an empty id");
    assert!(!id.is_empty());
    let (b, ack_b) = Raw::open5_with(broker.addr, &connect5_bytes("", true, 0, props, None));
    let id_b = ack_b.assigned_client_id.expect("second assigned id");
    assert_ne!(id, id_b, "MQTT-3.1.3-6: assigned ids are unique");
    b.disconnect5();

    a.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    a.disconnect5();
    let mut p = Raw::open5(broker.addr, &unique("assigned-pub"), 0);
    p.publish5(
        &topic,
        b"kept",
        QoS::AtLeastOnce,
        1,
        false,
        PublishProperties::default(),
    );
    // The assigned id is the session's: reconnecting with it resumes the session.
    let bytes = connect5_bytes(&id, false, 0, props, None);
    let (mut again, ack) = Raw::open5_with(broker.addr, &bytes);
    assert_eq!((ack.code, ack.session_present), (0, true), "{ack:?}");
    assert_eq!(ack.assigned_client_id, None, "an id was given this time");
    assert_eq!(again.recv_pubs5(1, WAIT)[0].text(), "kept");
    again.disconnect5();
}

#[test]
fn server_keep_alive_replaces_a_keepalive_above_the_cap_mqtt_3_2_2_21() {
    let broker = Broker::with(&[("ROOST_MAX_KEEPALIVE", "1")]);
    let ka = |keep_alive: u16| {
        let bytes = connect5_bytes(
            &unique("ska"),
            true,
            keep_alive,
            ConnectProperties::default(),
            None,
        );
        Raw::open5_with(broker.addr, &bytes)
    };
    let (within, ack) = ka(1);
    assert_eq!(
        (ack.code, ack.server_keep_alive),
        (0, None),
        "at the cap: none"
    );
    within.disconnect5();
    let (zero, ack) = ka(0);
    assert_eq!(
        (ack.code, ack.server_keep_alive),
        (0, Some(1)),
        "0 (no keepalive) is above any cap"
    );
    drop(zero);
    let (mut silent, ack) = ka(60);
    let start = Instant::now();
    assert_eq!((ack.code, ack.server_keep_alive), (0, Some(1)));
    // MQTT-3.2.2-22: the Server Keep Alive is the one that counts: 1.5 × 1 s, not 1.5 × 60 s.
    let (reason, got) = silent.expect_disconnect5(Duration::from_secs(5));
    assert_eq!(reason, Some(0x8D), "keepalive timeout: {got:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn unsupported_protocol_level_gets_a_3_1_1_connack_return_code_1_mqtt_3_1_2_2() {
    let broker = Broker::start();
    // Level 6, and level 3 under the name "MQTT" (MQTT-3.1.2-1): both are 0x84, which goes out
    // in 3.1.1 form (return code 1) since the client's version is not known.
    for level in [6u8, 3] {
        let mut raw = broker.raw();
        raw.send(&[
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', level, 0x02, 0, 0, 0, 1, b'x',
        ])
        .expect("send CONNECT");
        let got = raw.expect_closed(WAIT);
        assert_eq!(
            got,
            [Pkt::ConnAck {
                session_present: false,
                code: 1
            }],
            "level {level}"
        );
    }
}

#[test]
fn client_identifier_not_valid_reaches_3_1_1_clients_as_return_code_2_mqtt_3_1_3_8() {
    let broker = Broker::with(&[("ROOST_MAX_KEEPALIVE", "10")]);
    // An empty id without Clean Session (MQTT-3.1.3-8), and a 3.1.1 keepalive over the cap,
    // which 3.1.1 cannot lower: roost's 0x85 in 3.1.1 form.
    let opts = [
        ConnectOpts::v311("").clean(false),
        ConnectOpts::v311("ka-over").keep_alive(60),
    ];
    for o in &opts {
        let mut raw = broker.raw();
        assert_eq!(raw.connect_with(o), (false, 2), "{o:?}");
        assert_eq!(raw.expect_closed(WAIT), [], "{o:?}");
    }
    // 5.0 has neither refusal: an empty id is assigned one, a keepalive is lowered.
    let bytes = connect5_bytes("", false, 60, ConnectProperties::default(), None);
    let (raw, ack) = Raw::open5_with(broker.addr, &bytes);
    assert_eq!(ack.code, 0, "{ack:?}");
    assert!(ack.assigned_client_id.is_some());
    assert_eq!(ack.server_keep_alive, Some(10));
    raw.disconnect5();
}

#[test]
fn authentication_method_gets_connack_0x8c_bad_authentication_method_mqtt_4_12_0_1() {
    let broker = Broker::start();
    let props = ConnectProperties {
        authentication_method: Some("SCRAM-SHA-1"),
        authentication_data: Some(b"client-first"),
        ..ConnectProperties::default()
    };
    let (mut raw, ack) = Raw::open5_with(
        broker.addr,
        &connect5_bytes(&unique("auth"), true, 0, props, None),
    );
    assert_eq!((ack.code, ack.session_present), (0x8C, false), "{ack:?}");
    let (reason, got) = raw.expect_disconnect5(WAIT);
    assert_eq!(
        (reason, got),
        (None, vec![]),
        "closed right after the CONNACK"
    );
}

#[test]
fn malformed_v5_connect_gets_a_connack_with_the_decode_reason_mqtt_3_1_4_1() {
    let broker = Broker::start();
    let cases: [(&str, &[u8], u8); 4] = [
        // Topic Alias is not a CONNECT property: Malformed Packet.
        ("topic alias in CONNECT", &[0x23, 0, 1], 0x81),
        // An unknown property identifier: Malformed Packet.
        ("unknown property 0x7F", &[0x7F, 0], 0x81),
        // Session Expiry Interval twice: Protocol Error (section 2.2.2.2).
        (
            "duplicate session expiry",
            &[0x11, 0, 0, 0, 5, 0x11, 0, 0, 0, 6],
            0x82,
        ),
        // Receive Maximum 0: Protocol Error (section 3.1.2.11.3).
        ("receive maximum 0", &[0x21, 0, 0], 0x82),
    ];
    for (what, props, code) in cases {
        let mut raw = broker.raw();
        raw.version = roost::packets::Version::V5;
        raw.send(&connect_with_raw_props(props)).expect("send");
        match raw.recv5(WAIT) {
            Ok(In5::ConnAck(a)) => {
                assert_eq!((a.code, a.session_present), (code, false), "{what}")
            }
            other => panic!("{what}: expected CONNACK, got {other:?}"),
        }
        let (reason, got) = raw.expect_disconnect5(WAIT);
        assert_eq!(
            (reason, got),
            (None, vec![]),
            "{what}: closed after CONNACK"
        );
    }
    // The helper builds a valid CONNECT when the properties are valid (so the cases above fail
    // for their property alone).
    let mut raw = broker.raw();
    raw.version = roost::packets::Version::V5;
    raw.send(&connect_with_raw_props(&[0x21, 0, 5]))
        .expect("send");
    assert!(matches!(
        raw.recv5(WAIT),
        Ok(In5::ConnAck(ConnAck5 { code: 0, .. }))
    ));
}

#[test]
fn session_resumes_within_its_expiry_and_ends_after_it_mqtt_3_1_2_23() {
    let broker = Broker::start();
    let id = unique("sei");
    let topic = unique("sei/t");
    let mut p = Raw::open5(broker.addr, &unique("sei-pub"), 0);

    let mut s = Raw::open5(broker.addr, &id, 1);
    s.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    s.disconnect5();
    let away = p.publish5(
        &topic,
        b"while-away",
        QoS::AtLeastOnce,
        1,
        false,
        PublishProperties::default(),
    );
    assert_eq!(away, 0x00, "the offline session still matches");
    let (mut s, present) = Raw::open5_session(broker.addr, &id, false, 1);
    assert!(present, "MQTT-3.2.2-3: Session Present after resuming");
    assert_eq!(s.recv_pubs5(1, WAIT)[0].text(), "while-away");
    s.disconnect5();
    let closed = Instant::now();
    // The session (and its subscription) disappears 1 s after the close: publishing to the
    // topic then answers 0x10 No matching subscribers.
    let gone = probe_until(&mut p, &topic, 0x10, 10, Duration::from_secs(5))
        .expect("session expired within 5 s");
    let lived = gone.duration_since(closed);
    assert!(
        lived >= Duration::from_millis(800),
        "expired after {lived:?}"
    );
    let (s, present) = Raw::open5_session(broker.addr, &id, false, 1);
    assert!(!present, "MQTT-3.2.2-2: no session after it expired");
    s.disconnect5();

    // Without a Session Expiry Interval the session ends with the connection.
    let id0 = unique("sei0");
    let mut s = Raw::open5(broker.addr, &id0, 0);
    s.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    s.disconnect5();
    // roost closes the socket just before it ends the session: allow it a moment.
    assert!(
        probe_until(&mut p, &topic, 0x10, 500, Duration::from_millis(500)).is_some(),
        "the session ended with the connection"
    );
    let (_s, present) = Raw::open5_session(broker.addr, &id0, false, 0);
    assert!(!present);
}

#[test]
fn disconnect_changes_the_session_expiry_but_not_from_zero_mqtt_3_14_2_2() {
    let broker = Broker::start();
    let topic = unique("dsei");
    let mut p = Raw::open5(broker.addr, &unique("dsei-pub"), 0);

    // 0 at CONNECT, non-zero at DISCONNECT: Protocol Error.
    let mut c = Raw::open5(broker.addr, &unique("dsei-0"), 0);
    c.send(&disconnect5_bytes(ReasonCode::Success, Some(30)))
        .expect("send DISCONNECT");
    let (reason, got) = c.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x82), "{got:?}");

    // 60 at CONNECT, 0 at DISCONNECT: the session ends at once.
    let id = unique("dsei-60");
    let mut c = Raw::open5(broker.addr, &id, 60);
    c.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    c.send(&disconnect5_bytes(ReasonCode::Success, Some(0)))
        .expect("send DISCONNECT");
    c.expect_disconnect5(WAIT);
    assert!(
        probe_until(&mut p, &topic, 0x10, 1, Duration::from_millis(500)).is_some(),
        "session ended by DISCONNECT with expiry 0"
    );
    let (c, present) = Raw::open5_session(broker.addr, &id, false, 0);
    assert!(!present);
    drop(c);

    // 1 at CONNECT, 30 at DISCONNECT: the session outlives the original 1 s.
    let id = unique("dsei-1");
    let mut c = Raw::open5(broker.addr, &id, 1);
    c.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    c.send(&disconnect5_bytes(ReasonCode::Success, Some(30)))
        .expect("send DISCONNECT");
    let (reason, _) = c.expect_disconnect5(WAIT);
    assert_eq!(reason, None);
    assert_eq!(
        probe_until(&mut p, &topic, 0x10, 10, Duration::from_millis(1800)),
        None,
        "the session expired on its CONNECT interval"
    );
    let (c, present) = Raw::open5_session(broker.addr, &id, false, 30);
    assert!(present);
    drop(c);
}

#[test]
fn rumqttc_v5_resumes_its_session_and_gets_what_was_queued() {
    use rumqttc::v5::mqttbytes::v5::Filter;
    use rumqttc::v5::mqttbytes::QoS as Q5;
    let broker = Broker::start();
    let id = unique("r5-sess");
    let topic = unique("r5-sess/t");
    let first = R5::with(broker.port(), &id, |o| {
        o.set_session_expiry_interval(Some(2));
    });
    first.subscribe(vec![Filter::new(topic.clone(), Q5::AtLeastOnce)], None);
    first.disconnect();
    let mut p = Raw::open5(broker.addr, &unique("r5-sess-pub"), 0);
    for (i, m) in ["q1", "q2"].iter().enumerate() {
        let r = p.publish5(
            &topic,
            m.as_bytes(),
            QoS::AtLeastOnce,
            i as u16 + 1,
            false,
            PublishProperties::default(),
        );
        assert_eq!(r, 0x00);
    }
    let again = R5::with(broker.port(), &id, |o| {
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(2));
    });
    assert!(again.connack.as_ref().is_some_and(|c| c.session_present));
    let got: Vec<_> = again
        .messages(2, WAIT)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect();
    assert_eq!(got, ["q1", "q2"]);
    again.disconnect();
}

#[test]
fn paho_v5_resumes_its_session_and_gets_what_was_queued() {
    let broker = Broker::start();
    let port = broker.port().to_string();
    let id = unique("paho-sess");
    let topic = unique("paho-sess/t");
    let setup = python(
        "v5.py",
        &[
            "session", "--port", &port, "--topic", &topic, "--id", &id, "--expiry", "2", "--phase",
            "setup",
        ],
    );
    assert_eq!(setup, ["DONE"]);
    let mut p = Raw::open5(broker.addr, &unique("paho-sess-pub"), 0);
    for (i, m) in ["a", "b"].iter().enumerate() {
        let r = p.publish5(
            &topic,
            m.as_bytes(),
            QoS::AtLeastOnce,
            i as u16 + 1,
            false,
            PublishProperties::default(),
        );
        assert_eq!(r, 0x00);
    }
    let resumed = python(
        "v5.py",
        &[
            "session", "--port", &port, "--topic", &topic, "--id", &id, "--expiry", "2", "--phase",
            "resume", "--count", "2",
        ],
    );
    assert_eq!(
        resumed,
        [
            "PRESENT|1".to_owned(),
            format!("MSG|{topic}|a||0"),
            format!("MSG|{topic}|b||0"),
            "DONE".to_owned(),
        ]
    );
}
