//! MQTT 5.0 flow control and limits: the client's Receive Maximum and Maximum Packet Size as
//! roost honours them, roost's own (DISCONNECT 0x93, 0x95), Topic Aliases inbound (0x94, 0x82)
//! and outbound,
//! and 0x92 for acknowledgements of unknown packet ids. Raw bytes, plus rumqttc v5 for the
//! client's Maximum Packet Size.

mod common;

use std::num::{NonZeroU16, NonZeroU32};

use common::v5::*;
use common::*;
use roost::packets::{ConnectProperties, PublishProperties, QoS, ReasonCode};

fn alias(a: u16) -> PublishProperties<'static> {
    PublishProperties {
        topic_alias: NonZeroU16::new(a),
        ..PublishProperties::default()
    }
}

fn subscriber_with(broker: &Broker, topic: &str, props: ConnectProperties<'_>, qos: QoS) -> Raw {
    let bytes = connect5_bytes(&unique("flow-sub"), true, 0, props, None);
    let (mut s, ack) = Raw::open5_with(broker.addr, &bytes);
    assert_eq!(ack.code, 0);
    assert_eq!(s.subscribe5(1, &[(topic, opts(qos))], None), [qos as u8]);
    s
}

#[test]
fn client_receive_maximum_bounds_qos1_messages_in_flight_mqtt_3_3_4_9() {
    let broker = Broker::start();
    let topic = unique("rm1");
    let props = ConnectProperties {
        receive_maximum: NonZeroU16::new(2),
        ..ConnectProperties::default()
    };
    let mut s = subscriber_with(&broker, &topic, props, QoS::AtLeastOnce);
    let mut p = Raw::open5(broker.addr, &unique("rm1-pub"), 0);
    for i in 0..5u16 {
        let m = format!("m{i}");
        p.publish5(
            &topic,
            m.as_bytes(),
            QoS::AtLeastOnce,
            i + 1,
            false,
            PublishProperties::default(),
        );
    }
    let a = s.recv_pub5(WAIT);
    let b = s.recv_pub5(WAIT);
    s.expect_silence5(QUIET); // two unacknowledged: the window is closed
    s.ack5(&a);
    let c = s.recv_pub5(WAIT);
    s.expect_silence5(QUIET);
    s.ack5(&b);
    s.ack5(&c);
    let rest = s.recv_pubs5(2, WAIT);
    let texts: Vec<String> = [a, b, c]
        .iter()
        .chain(rest.iter())
        .map(Pub5::text)
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
}

#[test]
fn client_receive_maximum_counts_qos2_until_pubcomp_mqtt_3_3_4_9() {
    let broker = Broker::start();
    let topic = unique("rm2");
    let props = ConnectProperties {
        receive_maximum: NonZeroU16::new(1),
        ..ConnectProperties::default()
    };
    let mut s = subscriber_with(&broker, &topic, props, QoS::ExactlyOnce);
    let mut p = Raw::open5(broker.addr, &unique("rm2-pub"), 0);
    for i in 0..2u16 {
        let m = format!("m{i}");
        p.publish5(
            &topic,
            m.as_bytes(),
            QoS::ExactlyOnce,
            i + 1,
            false,
            PublishProperties::default(),
        );
    }
    let first = s.recv_pub5(WAIT);
    let id = first.id.expect("QoS 2 id");
    s.send(&ack5_bytes("pubrec", id, ReasonCode::Success))
        .expect("PUBREC");
    match s.recv5(WAIT) {
        Ok(In5::PubRel(a)) => assert_eq!(a, Ack5 { id, reason: 0 }),
        other => panic!("expected PUBREL, got {other:?}"),
    }
    s.expect_silence5(QUIET); // still in flight until PUBCOMP
    s.send(&ack5_bytes("pubcomp", id, ReasonCode::Success))
        .expect("PUBCOMP");
    assert_eq!(s.recv_pubs5(1, WAIT)[0].text(), "m1");
}

#[test]
fn roost_receive_maximum_of_1024_unreleased_qos2_is_enforced_with_0x93_mqtt_3_3_4_8() {
    let broker = Broker::start();
    let topic = unique("rmax");
    let mut p = Raw::open5(broker.addr, &unique("rmax-pub"), 0);
    let mut burst = Vec::new();
    for id in 1..=1024u16 {
        burst.extend(publish5_bytes(
            &topic,
            b"q2",
            QoS::ExactlyOnce,
            id,
            false,
            PublishProperties::default(),
        ));
    }
    p.send(&burst).expect("send burst");
    for id in 1..=1024u16 {
        match p.recv5(WAIT) {
            // No subscriber: 0x10, still a success code.
            Ok(In5::PubRec(a)) => assert_eq!(a, Ack5 { id, reason: 0x10 }),
            other => panic!("PUBREC {id}: got {other:?}"),
        }
    }
    // Releasing one makes room for exactly one more.
    p.send(&ack5_bytes("pubrel", 1, ReasonCode::Success))
        .expect("PUBREL");
    match p.recv5(WAIT) {
        Ok(In5::PubComp(a)) => assert_eq!(a, Ack5 { id: 1, reason: 0 }),
        other => panic!("expected PUBCOMP 1, got {other:?}"),
    }
    let one = |id| {
        publish5_bytes(
            &topic,
            b"q2",
            QoS::ExactlyOnce,
            id,
            false,
            Default::default(),
        )
    };
    p.send(&one(1025)).expect("send");
    match p.recv5(WAIT) {
        Ok(In5::PubRec(a)) => assert_eq!(a.id, 1025),
        other => panic!("expected PUBREC 1025, got {other:?}"),
    }
    p.send(&one(1026)).expect("send");
    let (reason, got) = p.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x93), "{got:?}");
}

#[test]
fn client_maximum_packet_size_is_respected_mqtt_3_1_2_25() {
    let broker = Broker::start();
    let topic = unique("cmps");
    let props = ConnectProperties {
        maximum_packet_size: NonZeroU32::new(100),
        ..ConnectProperties::default()
    };
    let mut s = subscriber_with(&broker, &topic, props, QoS::AtLeastOnce);
    let mut p = Raw::open5(broker.addr, &unique("cmps-pub"), 0);
    let big = vec![b'x'; 200];
    for (i, payload) in [&big[..], b"small"].iter().enumerate() {
        let r = p.publish5(
            &topic,
            payload,
            QoS::AtLeastOnce,
            i as u16 + 1,
            false,
            PublishProperties::default(),
        );
        assert_eq!(r, 0x00, "message {i} matched the subscription");
    }
    // The big one is dropped as if delivered; the small one follows.
    let got = s.recv_pubs5(1, WAIT);
    assert_eq!(got[0].text(), "small");
    s.expect_silence5(QUIET);

    // A retained message too big for the client is not sent at subscribe either.
    let topic2 = unique("cmps-ret");
    p.publish5(
        &topic2,
        &big,
        QoS::AtLeastOnce,
        3,
        true,
        PublishProperties::default(),
    );
    assert_eq!(
        s.subscribe5(2, &[(&topic2, opts(QoS::AtLeastOnce))], None),
        [1]
    );
    s.expect_silence5(QUIET);

    // rumqttc v5 announcing 120 bytes gets only what fits, and stays connected.
    use rumqttc::v5::mqttbytes::v5::Filter;
    use rumqttc::v5::mqttbytes::QoS as Q5;
    let r = R5::with(broker.port(), &unique("cmps-r5"), |o| {
        o.set_max_packet_size(Some(120));
    });
    r.subscribe(vec![Filter::new(topic.clone(), Q5::AtLeastOnce)], None);
    p.publish5(
        &topic,
        &big,
        QoS::AtLeastOnce,
        4,
        false,
        PublishProperties::default(),
    );
    p.publish5(
        &topic,
        b"fits",
        QoS::AtLeastOnce,
        5,
        false,
        PublishProperties::default(),
    );
    let got = r.messages(1, WAIT);
    assert_eq!(&got[0].payload[..], b"fits");
    r.expect_no_message(QUIET);
}

#[test]
fn packet_over_roost_maximum_packet_size_gets_disconnect_0x95_mqtt_3_2_2_15() {
    let broker = Broker::with(&[("ROOST_MAX_PACKET_SIZE", "256")]);
    let (mut p, ack) = Raw::open5_with(
        broker.addr,
        &connect5_bytes(&unique("rmps"), true, 0, ConnectProperties::default(), None),
    );
    assert_eq!(ack.maximum_packet_size, Some(256));
    // Exactly 256 bytes: accepted.
    let fits = publish5_bytes(
        "t",
        &[b'a'; 247],
        QoS::AtLeastOnce,
        1,
        false,
        PublishProperties::default(),
    );
    assert_eq!(fits.len(), 256);
    p.send(&fits).expect("send");
    match p.recv5(WAIT) {
        Ok(In5::PubAck(a)) => assert_eq!(a.id, 1),
        other => panic!("expected PUBACK, got {other:?}"),
    }
    // 257 bytes: Packet too large (section 4.13).
    let over = publish5_bytes(
        "t",
        &[b'a'; 248],
        QoS::AtLeastOnce,
        2,
        false,
        PublishProperties::default(),
    );
    assert_eq!(over.len(), 257);
    p.send(&over).expect("send");
    let (reason, got) = p.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x95), "{got:?}");
}

#[test]
fn topic_aliases_stand_for_their_topic_and_are_not_forwarded_mqtt_3_3_2_12() {
    let broker = Broker::start();
    let t1 = unique("alias/one");
    let t2 = unique("alias/two");
    // No Topic Alias Maximum from this subscriber: roost sends it no alias (MQTT-3.1.2-27).
    let mut s = Raw::open5(broker.addr, &unique("alias-sub"), 0);
    s.subscribe5(
        1,
        &[(&t1, opts(QoS::AtMostOnce)), (&t2, opts(QoS::AtMostOnce))],
        None,
    );
    let mut p = Raw::open5(broker.addr, &unique("alias-pub"), 0);
    let sends: [(&str, &[u8], u16); 6] = [
        (&t1, b"set-1", 1),
        ("", b"use-1", 1),
        (&t2, b"set-64", 64), // the Topic Alias Maximum itself is valid
        ("", b"use-64", 64),
        (&t2, b"rebind-1", 1), // MQTT-3.3.2-11 ... a new topic replaces the mapping
        ("", b"use-1-again", 1),
    ];
    for (i, (topic, payload, a)) in sends.iter().enumerate() {
        let r = p.publish5(
            topic,
            payload,
            QoS::AtLeastOnce,
            i as u16 + 1,
            false,
            alias(*a),
        );
        assert_eq!(r, 0x00, "message {i}");
    }
    let got: Vec<(String, String, Option<u16>)> = (0..sends.len())
        .map(|_| {
            let m = s.recv_pub5(WAIT);
            (m.topic.clone(), m.text(), m.topic_alias)
        })
        .collect();
    let want = [
        (&t1, "set-1"),
        (&t1, "use-1"),
        (&t2, "set-64"),
        (&t2, "use-64"),
        (&t2, "rebind-1"),
        (&t2, "use-1-again"),
    ]
    .map(|(t, m)| (t.clone(), m.to_owned(), None));
    assert_eq!(got, want);
}

#[test]
fn outbound_aliases_stay_within_the_clients_maximum_mqtt_3_1_2_26() {
    let broker = Broker::start();
    let base = unique("alias/out");
    let filter = format!("{base}/#");
    let props = ConnectProperties {
        topic_alias_maximum: Some(2),
        ..ConnectProperties::default()
    };
    let mut s = subscriber_with(&broker, &filter, props, QoS::AtLeastOnce);
    let mut p = Raw::open5(broker.addr, &unique("alias-out-pub"), 0);
    let topics = ["a", "b", "c"].map(|t| format!("{base}/{t}"));
    for round in 0..2u16 {
        for (i, t) in topics.iter().enumerate() {
            let id = round * 3 + i as u16 + 1;
            let r = p.publish5(t, b"x", QoS::AtLeastOnce, id, false, Default::default());
            assert_eq!(r, 0x00);
        }
    }
    let got: Vec<(String, Option<u16>)> = s
        .recv_pubs5(6, WAIT)
        .into_iter()
        .map(|m| (m.topic, m.topic_alias))
        .collect();
    let [a, b, c] = topics;
    // First use: topic and alias; later: the alias alone. Only 2 aliases exist, so the third
    // topic always goes by name.
    let want = [
        (a, Some(1)),
        (b, Some(2)),
        (c.clone(), None),
        (String::new(), Some(1)),
        (String::new(), Some(2)),
        (c, None),
    ];
    assert_eq!(got, want);

    // Aliases belong to the connection: after a reconnect they start again (3.3.2.3.4).
    drop(s);
    let mut s = subscriber_with(&broker, &filter, props, QoS::AtMostOnce);
    let a = format!("{base}/a");
    p.publish5(&a, b"y", QoS::AtLeastOnce, 7, false, Default::default());
    let m = s.recv_pub5(WAIT);
    assert_eq!((m.topic, m.topic_alias), (a, Some(1)));
}

#[test]
fn rumqttc_accepts_roost_outbound_aliases() {
    let broker = Broker::start();
    let base = unique("alias/rq");
    let sub = R5::with(broker.port(), &unique("alias-rq"), |o| {
        o.set_topic_alias_max(Some(3));
    });
    sub.subscribe(
        vec![rumqttc::v5::mqttbytes::v5::Filter::new(
            format!("{base}/#"),
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        )],
        None,
    );
    let mut p = Raw::open5(broker.addr, &unique("alias-rq-pub"), 0);
    let topics: Vec<String> = (0..5).map(|i| format!("{base}/{}", i % 2)).collect();
    for (i, t) in topics.iter().enumerate() {
        let payload = format!("m{i}");
        let r = p.publish5(
            t,
            payload.as_bytes(),
            QoS::AtLeastOnce,
            i as u16 + 1,
            false,
            Default::default(),
        );
        assert_eq!(r, 0x00);
    }
    let got: Vec<(String, String)> = sub
        .messages(topics.len(), WAIT)
        .into_iter()
        .map(|m| {
            (
                String::from_utf8_lossy(&m.topic).into_owned(),
                String::from_utf8_lossy(&m.payload).into_owned(),
            )
        })
        .collect();
    // rumqttc reports a PUBLISH as it arrived (topic left out once aliased) and maps the alias
    // itself; an alias it had not been given would be a protocol error that ends its session.
    let want: Vec<(String, String)> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                if i < 2 { t.clone() } else { String::new() },
                format!("m{i}"),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(sub.error_within(QUIET), None);
}

#[test]
fn topic_alias_0_gets_disconnect_0x94_mqtt_3_3_2_8() {
    let broker = Broker::start();
    let mut p = Raw::open5(broker.addr, &unique("alias0"), 0);
    // PUBLISH QoS 0, topic "t", properties: Topic Alias 0 (the encoder refuses to write it).
    p.send(&[0x30, 8, 0, 1, b't', 3, 0x23, 0, 0, b'x'])
        .expect("send");
    let (reason, got) = p.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x94), "{got:?}");
}

#[test]
fn topic_alias_above_the_maximum_gets_disconnect_0x94_mqtt_3_3_2_9() {
    let broker = Broker::start();
    let mut p = Raw::open5(broker.addr, &unique("alias65"), 0);
    p.send(&publish5_bytes(
        "t",
        b"x",
        QoS::AtMostOnce,
        0,
        false,
        alias(65),
    ))
    .expect("send");
    let (reason, got) = p.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x94), "{got:?}");
}

#[test]
fn empty_topic_with_an_unknown_alias_gets_disconnect_0x82_mqtt_3_3_4() {
    let broker = Broker::start();
    // Never mapped on this connection.
    let mut p = Raw::open5(broker.addr, &unique("alias-unknown"), 0);
    p.send(&publish5_bytes(
        "",
        b"x",
        QoS::AtMostOnce,
        0,
        false,
        alias(3),
    ))
    .expect("send");
    let (reason, got) = p.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x82), "{got:?}");

    // Mappings last only as long as the connection, not the session (section 3.3.2.3.4).
    let id = unique("alias-session");
    let mut a = Raw::open5(broker.addr, &id, 30);
    a.publish5("alias/s", b"set", QoS::AtLeastOnce, 1, false, alias(2));
    a.disconnect5();
    let (mut b, present) = Raw::open5_session(broker.addr, &id, false, 30);
    assert!(present);
    b.send(&publish5_bytes(
        "",
        b"x",
        QoS::AtMostOnce,
        0,
        false,
        alias(2),
    ))
    .expect("send");
    let (reason, got) = b.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x82), "{got:?}");

    // An empty topic without any alias: Protocol Error too.
    let mut c = Raw::open5(broker.addr, &unique("alias-none"), 0);
    c.send(&publish5_bytes(
        "",
        b"x",
        QoS::AtMostOnce,
        0,
        false,
        PublishProperties::default(),
    ))
    .expect("send");
    let (reason, got) = c.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x82), "{got:?}");
}

#[test]
fn pubrel_and_pubrec_for_unknown_packet_ids_get_0x92_mqtt_4_3_3() {
    let broker = Broker::start();
    let mut c = Raw::open5(broker.addr, &unique("unknown-id"), 0);
    c.send(&ack5_bytes("pubrel", 7, ReasonCode::Success))
        .expect("PUBREL");
    match c.recv5(WAIT) {
        Ok(In5::PubComp(a)) => assert_eq!(
            a,
            Ack5 {
                id: 7,
                reason: 0x92
            }
        ),
        other => panic!("expected PUBCOMP 7, got {other:?}"),
    }
    c.send(&ack5_bytes("pubrec", 9, ReasonCode::Success))
        .expect("PUBREC");
    match c.recv5(WAIT) {
        Ok(In5::PubRel(a)) => assert_eq!(
            a,
            Ack5 {
                id: 9,
                reason: 0x92
            }
        ),
        other => panic!("expected PUBREL 9, got {other:?}"),
    }
    // A known QoS 2 exchange completes with Success; the connection stays up.
    c.send(&publish5_bytes(
        "known",
        b"x",
        QoS::ExactlyOnce,
        7,
        false,
        PublishProperties::default(),
    ))
    .expect("PUBLISH");
    assert!(matches!(c.recv5(WAIT), Ok(In5::PubRec(Ack5 { id: 7, .. }))));
    c.send(&ack5_bytes("pubrel", 7, ReasonCode::Success))
        .expect("PUBREL");
    match c.recv5(WAIT) {
        Ok(In5::PubComp(a)) => assert_eq!(a, Ack5 { id: 7, reason: 0 }),
        other => panic!("expected PUBCOMP 7, got {other:?}"),
    }
    c.send(&PINGREQ).expect("PINGREQ");
    assert_eq!(c.recv5(WAIT), Ok(In5::PingResp));
}
