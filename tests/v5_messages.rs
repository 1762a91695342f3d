//! MQTT 5.0 application messages: Message Expiry Interval, Payload Format Indicator (0x99),
//! Content Type, Response Topic, Correlation Data and User Properties passed through in order,
//! 0x10 No matching subscribers, request/response between rumqttc v5 and paho, and mixed
//! 3.1.1/5.0 delivery of live, retained and will messages, and the retained quota (0x97).

mod common;

use std::time::{Duration, Instant};

use common::v5::*;
use common::*;
use roost::packets::{PublishProperties, QoS, UserProperties};

fn plain() -> PublishProperties<'static> {
    PublishProperties::default()
}

fn expiring(secs: u32) -> PublishProperties<'static> {
    PublishProperties {
        message_expiry_interval: Some(secs),
        ..PublishProperties::default()
    }
}

/// Waits until `at`: the condition is the passing of a message's own expiry time.
fn wait_past(at: Instant) {
    assert!(wait_until(after(WAIT), || Instant::now() >= at));
}

#[test]
fn expired_queued_messages_are_not_delivered_and_the_rest_carry_what_is_left_mqtt_3_3_2_5_and_6() {
    let broker = Broker::start();
    let id = unique("mei");
    let topic = unique("mei/t");
    let mut s = Raw::open5(broker.addr, &id, 30);
    s.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    s.disconnect5();
    let mut p = Raw::open5(broker.addr, &unique("mei-pub"), 0);
    p.publish5(&topic, b"short", QoS::AtLeastOnce, 1, false, expiring(1));
    p.publish5(&topic, b"long", QoS::AtLeastOnce, 2, false, expiring(60));
    p.publish5(&topic, b"forever", QoS::AtLeastOnce, 3, false, plain());
    // A retained message that expires is not sent at subscribe either.
    let rtopic = unique("mei/r");
    p.publish5(&rtopic, b"stale", QoS::AtLeastOnce, 4, true, expiring(1));
    wait_past(Instant::now() + Duration::from_millis(1100));

    let (mut s, present) = Raw::open5_session(broker.addr, &id, false, 30);
    assert!(present);
    let got = s.recv_pubs5(2, WAIT);
    assert_eq!(got[0].text(), "long", "MQTT-3.3.2-5: 'short' expired");
    let left = got[0]
        .message_expiry
        .expect("MQTT-3.3.2-6: remaining interval");
    assert!((58..=59).contains(&left), "remaining {left}");
    assert_eq!(
        (got[1].text(), got[1].message_expiry),
        ("forever".into(), None)
    );
    s.subscribe5(2, &[(&rtopic, opts(QoS::AtLeastOnce))], None);
    s.expect_silence5(QUIET);
}

#[test]
fn payload_format_indicator_with_invalid_utf8_gets_0x99_mqtt_3_3_2_4() {
    let broker = Broker::start();
    let topic = unique("pfi");
    let mut s = Raw::open5(broker.addr, &unique("pfi-sub"), 0);
    s.subscribe5(1, &[(&topic, opts(QoS::ExactlyOnce))], None);
    let utf8 = PublishProperties {
        payload_is_utf8: Some(true),
        ..PublishProperties::default()
    };
    let bad: &[u8] = b"\xff\xfe not utf-8";
    let mut p = Raw::open5(broker.addr, &unique("pfi-pub"), 0);
    assert_eq!(
        p.publish5(&topic, bad, QoS::AtLeastOnce, 1, false, utf8),
        0x99
    );
    assert_eq!(
        p.publish5(&topic, bad, QoS::ExactlyOnce, 2, false, utf8),
        0x99
    );
    // Neither was delivered; a valid one goes through with its indicator.
    assert_eq!(
        p.publish5(
            &topic,
            "ünïcode".as_bytes(),
            QoS::AtLeastOnce,
            3,
            false,
            utf8
        ),
        0
    );
    let m = s.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(
        (m.text(), m.payload_is_utf8),
        ("ünïcode".into(), Some(true))
    );
    // A binary payload marked as such is not checked.
    let binary = PublishProperties {
        payload_is_utf8: Some(false),
        ..PublishProperties::default()
    };
    assert_eq!(
        p.publish5(&topic, bad, QoS::AtLeastOnce, 4, false, binary),
        0
    );
    assert_eq!(s.recv_pubs5(1, WAIT)[0].payload, bad);
    // At QoS 0 there is no acknowledgement to carry it: DISCONNECT 0x99.
    p.send(&publish5_bytes(
        &topic,
        bad,
        QoS::AtMostOnce,
        0,
        false,
        utf8,
    ))
    .expect("send");
    let (reason, got) = p.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x99), "{got:?}");
    s.expect_silence5(QUIET);
}

#[test]
fn properties_pass_through_unchanged_and_in_order_mqtt_3_3_2_17_and_18() {
    let broker = Broker::start();
    let topic = unique("props");
    let mut s5 = Raw::open5(broker.addr, &unique("props-5"), 0);
    s5.subscribe5(1, &[(&topic, opts(QoS::AtLeastOnce))], None);
    let (mut s3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("props-3")));
    s3.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    let pairs = [
        ("z", "1"),
        ("a", "2"),
        ("z", "3"),
        ("ключ", "значение"),
        ("", ""),
    ];
    let props = PublishProperties {
        payload_is_utf8: Some(true),
        content_type: Some("application/json; charset=utf-8"),
        response_topic: Some("replies/here"),
        correlation_data: Some(b"\x00\x01\xff"),
        user: UserProperties::Pairs(&pairs),
        ..PublishProperties::default()
    };
    let mut p = Raw::open5(broker.addr, &unique("props-pub"), 0);
    assert_eq!(
        p.publish5(&topic, b"{}", QoS::AtLeastOnce, 1, false, props),
        0x00
    );
    let m = s5.recv_pubs5(1, WAIT).remove(0);
    let want = Pub5 {
        topic: topic.clone(),
        payload: b"{}".to_vec(),
        qos: 1,
        id: m.id,
        payload_is_utf8: Some(true),
        content_type: Some("application/json; charset=utf-8".into()),
        response_topic: Some("replies/here".into()),
        correlation_data: Some(b"\x00\x01\xff".to_vec()),
        user: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Pub5::default()
    };
    assert_eq!(m, want);
    // The 3.1.1 subscriber gets the message without properties: it decodes as 3.1.1.
    let m3 = s3.recv_acked(1, WAIT).remove(0);
    assert_eq!(
        (m3.topic, m3.payload, m3.user),
        (topic, b"{}".to_vec(), vec![])
    );
}

#[test]
fn no_matching_subscribers_is_0x10_in_puback_and_pubrec_mqtt_3_4_2_1() {
    let broker = Broker::start();
    let topic = unique("nomatch");
    let mut p = Raw::open5(broker.addr, &unique("nomatch-pub"), 0);
    assert_eq!(
        p.publish5(&topic, b"x", QoS::AtLeastOnce, 1, false, plain()),
        0x10
    );
    assert_eq!(
        p.publish5(&topic, b"x", QoS::ExactlyOnce, 2, false, plain()),
        0x10
    );
    let mut s = Raw::open5(broker.addr, &unique("nomatch-sub"), 0);
    s.subscribe5(1, &[(&topic, opts(QoS::AtMostOnce))], None);
    assert_eq!(
        p.publish5(&topic, b"x", QoS::AtLeastOnce, 3, false, plain()),
        0x00
    );
    assert_eq!(
        p.publish5(&topic, b"x", QoS::ExactlyOnce, 4, false, plain()),
        0x00
    );
    // 3.1.1 acknowledgements have no reason code.
    let (mut p3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("nomatch-3")));
    p3.publish(&unique("nomatch-3/t"), b"x", QoS::AtLeastOnce, 1, false);
}

#[test]
fn request_response_between_rumqttc_v5_and_paho_mqtt_4_10() {
    use rumqttc::v5::mqttbytes::v5::{Filter, PublishProperties as RProps};
    use rumqttc::v5::mqttbytes::QoS as Q5;
    let broker = Broker::start();
    let port = broker.port().to_string();
    let service = unique("svc/req");

    // rumqttc requests, paho responds.
    let responder = PyProc::start(
        "v5.py",
        &[
            "respond", "--port", &port, "--topic", &service, "--count", "1",
        ],
    );
    let reply = unique("svc/reply");
    let r = R5::connect(broker.port(), &unique("req-r5"));
    r.subscribe(vec![Filter::new(reply.clone(), Q5::AtLeastOnce)], None);
    let props = RProps {
        response_topic: Some(reply.clone()),
        correlation_data: Some(b"\xde\xad\xbe\xef"[..].into()),
        ..RProps::default()
    };
    r.client
        .publish_with_properties(service.clone(), Q5::AtLeastOnce, false, "ping", props)
        .expect("publish");
    let got = r.messages(1, WAIT).remove(0);
    assert_eq!(&got.payload[..], b"re:ping");
    assert_eq!(got.topic, reply.as_bytes());
    let gp = got.properties.expect("response properties");
    assert_eq!(
        gp.correlation_data.as_deref(),
        Some(&b"\xde\xad\xbe\xef"[..])
    );
    assert_eq!(gp.user_properties, [("responder".into(), "paho".into())]);
    assert_eq!(responder.finish(WAIT), Vec::<String>::new());

    // paho requests, a raw 5.0 responder answers: what paho sent arrives intact.
    let mut raw = Raw::open5(broker.addr, &unique("svc-raw"), 0);
    raw.subscribe5(1, &[(&service, opts(QoS::AtLeastOnce))], None);
    let requester = std::thread::spawn({
        let port = port.clone();
        let service = service.clone();
        move || {
            python(
                "v5.py",
                &[
                    "request", "--port", &port, "--topic", &service, "--corr", "0102ab",
                ],
            )
        }
    });
    let req = raw.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(req.text(), "ping");
    assert_eq!(req.correlation_data.as_deref(), Some(&b"\x01\x02\xab"[..]));
    let rt = req.response_topic.clone().expect("Response Topic");
    assert!(rt.starts_with(&format!("{service}/reply/")), "{rt}");
    let pairs = [("responder", "raw")];
    let answer = PublishProperties {
        correlation_data: req.correlation_data.as_deref(),
        user: UserProperties::Pairs(&pairs),
        ..PublishProperties::default()
    };
    raw.publish5(&rt, b"pong", QoS::AtLeastOnce, 1, false, answer);
    let out = requester.join().expect("requester thread");
    assert_eq!(out, [format!("RESP|{rt}|pong|0102ab|responder=raw")]);
}

#[test]
fn v311_and_v5_clients_exchange_live_messages() {
    let broker = Broker::start();
    let topic = unique("mixed");
    let mut s5 = Raw::open5(broker.addr, &unique("mixed-5"), 0);
    s5.subscribe5(1, &[(&topic, opts(QoS::ExactlyOnce))], None);
    let (mut s3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("mixed-3")));
    s3.subscribe(1, &[(&topic, QoS::ExactlyOnce)]);
    let (mut p3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("mixed-p3")));
    p3.publish(&topic, b"from-3", QoS::ExactlyOnce, 1, false);
    let m = s5.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(
        m,
        Pub5 {
            topic: topic.clone(),
            payload: b"from-3".to_vec(),
            qos: 2,
            id: m.id,
            ..Pub5::default()
        },
        "no properties invented for a 3.1.1 message"
    );
    assert_eq!(s3.recv_acked(1, WAIT)[0].text(), "from-3");
    let pairs = [("k", "v")];
    let props = PublishProperties {
        content_type: Some("text/plain"),
        user: UserProperties::Pairs(&pairs),
        message_expiry_interval: Some(60),
        ..PublishProperties::default()
    };
    let mut p5 = Raw::open5(broker.addr, &unique("mixed-p5"), 0);
    p5.publish5(&topic, b"from-5", QoS::AtLeastOnce, 1, false, props);
    let m3 = s3.recv_acked(1, WAIT).remove(0);
    assert_eq!((m3.text(), m3.qos), ("from-5".into(), 1));
    let m5 = s5.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(m5.content_type.as_deref(), Some("text/plain"));
}

#[test]
fn retained_messages_cross_versions() {
    let broker = Broker::start();
    let t5 = unique("ret5");
    let t3 = unique("ret3");
    let props = PublishProperties {
        content_type: Some("text/plain"),
        ..PublishProperties::default()
    };
    let mut p5 = Raw::open5(broker.addr, &unique("ret-p5"), 0);
    p5.publish5(&t5, b"r5", QoS::AtLeastOnce, 1, true, props);
    let (mut p3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ret-p3")));
    p3.publish(&t3, b"r3", QoS::AtLeastOnce, 1, true);

    let (mut s3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ret-s3")));
    s3.subscribe(1, &[(&t5, QoS::AtLeastOnce)]);
    let m = s3.recv_acked(1, WAIT).remove(0);
    assert_eq!((m.text(), m.retain), ("r5".into(), true));
    let mut s5 = Raw::open5(broker.addr, &unique("ret-s5"), 0);
    s5.subscribe5(1, &[(&t3, opts(QoS::AtLeastOnce))], None);
    let m = s5.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(
        (m.text(), m.retain, m.content_type),
        ("r3".into(), true, None)
    );
    s5.subscribe5(2, &[(&t5, opts(QoS::AtLeastOnce))], None);
    let m = s5.recv_pubs5(1, WAIT).remove(0);
    assert_eq!(
        (m.text(), m.retain, m.content_type.as_deref()),
        ("r5".into(), true, Some("text/plain"))
    );
}

#[test]
fn retained_quota_refuses_new_topics_with_0x97() {
    let broker = Broker::with(&[("ROOST_MAX_RETAINED", "2")]);
    let base = unique("quota");
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|t| format!("{base}/{t}"));
    let filter = format!("{base}/#");
    let mut watcher = Raw::open5(broker.addr, &unique("quota-watch"), 0);
    watcher.subscribe5(1, &[(&filter, opts(QoS::AtLeastOnce))], None);
    let mut p = Raw::open5(broker.addr, &unique("quota-pub"), 0);
    let none = PublishProperties::default;
    assert_eq!(p.publish5(&a, b"a1", QoS::AtLeastOnce, 1, true, none()), 0);
    assert_eq!(p.publish5(&b, b"b1", QoS::AtLeastOnce, 2, true, none()), 0);
    // A third topic is over the quota: refused as a whole (not delivered either).
    assert_eq!(
        p.publish5(&c, b"c1", QoS::AtLeastOnce, 3, true, none()),
        0x97
    );
    assert_eq!(
        p.publish5(&c, b"c2", QoS::ExactlyOnce, 4, true, none()),
        0x97
    );
    // Not retained, the same topic is fine.
    assert_eq!(p.publish5(&c, b"c3", QoS::AtLeastOnce, 5, false, none()), 0);
    // Replacing and deleting are always allowed, and deleting makes room.
    assert_eq!(p.publish5(&a, b"a2", QoS::AtLeastOnce, 6, true, none()), 0);
    assert_eq!(p.publish5(&b, b"", QoS::AtLeastOnce, 7, true, none()), 0);
    assert_eq!(p.publish5(&c, b"c4", QoS::AtLeastOnce, 8, true, none()), 0);
    let got: Vec<String> = watcher
        .recv_pubs5(6, WAIT)
        .iter()
        .map(|m| m.text())
        .collect();
    assert_eq!(got, ["a1", "b1", "c3", "a2", "", "c4"]);

    // 3.1.1 cannot be told: the flow completes and the message is dropped.
    let (mut p3, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("quota-pub3")));
    p3.publish(&d, b"d1", QoS::AtLeastOnce, 1, true);
    watcher.expect_silence5(QUIET);

    let mut fresh = Raw::open5(broker.addr, &unique("quota-fresh"), 0);
    fresh.subscribe5(1, &[(&filter, opts(QoS::AtMostOnce))], None);
    let mut kept: Vec<String> = fresh.recv_pubs5(2, WAIT).iter().map(|m| m.text()).collect();
    kept.sort();
    assert_eq!(kept, ["a2", "c4"]);
    fresh.expect_silence5(QUIET);
}
