//! QoS 0/1/2 in both directions with each independent peer, exactly-once, packet identifiers,
//! resends (MQTT-4.4.0-1, ROOST_RETRY_INTERVAL), the offline queue and ordering (MQTT-4.6.0-6).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use roost::packets::{QoS, Version};

const V3: Version = Version::V3_1_1;

fn rq(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

#[test]
fn rumqttc_publishes_to_mosquitto_sub_at_each_qos() {
    let broker = Broker::start();
    for q in 0..=2u8 {
        let topic = unique("r2m");
        let qs = q.to_string();
        let mut sub = MosqSub::start(broker.port(), 10, &["-t", &topic, "-q", &qs, "-C", "3"]);
        let publisher = Rumq::connect(broker.port(), &unique("r2m-pub"));
        for i in 0..3 {
            publisher.publish(&topic, rq(q), false, format!("m{i}"));
        }
        if q > 0 {
            publisher.wait_acks(3);
        }
        let got = sub.wait_for(3, WAIT).to_vec();
        let payloads: Vec<&str> = got.iter().map(|m| m.payload.as_str()).collect();
        assert_eq!(payloads, ["m0", "m1", "m2"], "QoS {q}");
        assert!(got.iter().all(|m| m.qos == q && !m.retain), "{got:?}");
    }
}

#[test]
fn mosquitto_pub_publishes_to_paho_at_each_qos() {
    let broker = Broker::start();
    for q in 0..=2u8 {
        let topic = unique("m2p");
        let qs = q.to_string();
        let port = broker.port().to_string();
        let sub = PySub::start(&[
            "--port", &port, "--topic", &topic, "--qos", &qs, "--count", "1",
        ]);
        mosquitto_pub(
            broker.port(),
            &["-t", &topic, "-q", &qs, "-m", "from-mosquitto"],
        );
        let lines = sub.finish(WAIT);
        assert_eq!(
            lines,
            [format!("MSG|{topic}|{q}|0|from-mosquitto|")],
            "QoS {q}"
        );
    }
}

#[test]
fn paho_publishes_to_rumqttc_at_each_qos() {
    let broker = Broker::start();
    for q in 0..=2u8 {
        let topic = unique("p2r");
        let sub = Rumq::connect(broker.port(), &unique("p2r-sub"));
        sub.subscribe(&topic, rq(q));
        let qs = q.to_string();
        let port = broker.port().to_string();
        let out = python(
            "pub.py",
            &[
                "--port", &port, "--topic", &topic, "--qos", &qs, "--count", "5",
            ],
        );
        assert_eq!(out, ["DONE"]);
        let got = sub.messages(5, WAIT);
        let payloads: Vec<&[u8]> = got.iter().map(|p| p.payload.as_ref()).collect();
        assert_eq!(payloads, [b"m0", b"m1", b"m2", b"m3", b"m4"], "QoS {q}");
        assert!(got.iter().all(|p| p.qos == rq(q) && !p.retain));
    }
}

#[test]
fn raw_qos2_publish_resent_before_pubrel_is_delivered_once_mqtt_4_3_3_9() {
    let broker = Broker::start();
    let topic = unique("eo");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("eo-sub")));
    sub.subscribe(1, &[(&topic, QoS::ExactlyOnce)]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("eo-pub")));
    p.send(&publish_bytes(
        V3,
        &topic,
        b"once",
        QoS::ExactlyOnce,
        7,
        false,
        false,
    ))
    .unwrap();
    assert_eq!(p.recv(WAIT), Ok(Pkt::PubRec(7)));
    // The PUBREC "got lost": the client re-sends with DUP, twice.
    for _ in 0..2 {
        p.send(&publish_bytes(
            V3,
            &topic,
            b"once",
            QoS::ExactlyOnce,
            7,
            false,
            true,
        ))
        .unwrap();
        assert_eq!(p.recv(WAIT), Ok(Pkt::PubRec(7)));
    }
    p.send(&ack_bytes(V3, "pubrel", 7)).unwrap();
    assert_eq!(p.recv(WAIT), Ok(Pkt::PubComp(7)));
    // After PUBCOMP the id is free again: a new message with it is a new message.
    p.publish(&topic, b"twice", QoS::ExactlyOnce, 7, false);

    let got = sub.recv_acked(2, WAIT);
    let payloads: Vec<String> = got.iter().map(Msg::text).collect();
    assert_eq!(payloads, ["once", "twice"]);
    sub.expect_silence(QUIET);
}

#[test]
fn packet_ids_in_flight_are_never_reused_mqtt_2_2_1_3() {
    let broker = Broker::start();
    let topic = unique("ids");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ids-sub")));
    sub.subscribe(1, &[(&topic, QoS::ExactlyOnce)]);
    let publisher = Rumq::connect(broker.port(), &unique("ids-pub"));
    let n = 120;
    for i in 0..n {
        let q = if i % 2 == 0 {
            rumqttc::QoS::AtLeastOnce
        } else {
            rumqttc::QoS::ExactlyOnce
        };
        publisher.publish(&topic, q, false, format!("{i}"));
    }
    // Nothing acknowledged: every delivery is in flight at once (the window is larger than n).
    let mut ids = HashSet::new();
    let mut msgs = Vec::new();
    for _ in 0..n {
        let m = sub.recv_publish(WAIT);
        let id = m.id.expect("QoS > 0 carries an id");
        assert!(ids.insert(id), "packet id {id} reused while in flight");
        msgs.push(m);
    }
    let payloads: Vec<String> = msgs.iter().map(Msg::text).collect();
    let expected: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    assert_eq!(payloads, expected);
    // Acknowledge everything, then more messages flow.
    for m in &msgs {
        sub.ack(m);
    }
    publisher.publish(&topic, rumqttc::QoS::AtLeastOnce, false, "after");
    let deadline = Instant::now() + WAIT;
    let mut after_seen = false;
    while !after_seen {
        let left = deadline.saturating_duration_since(Instant::now());
        match sub.recv(left) {
            Ok(Pkt::PubRel(id)) => sub.send(&ack_bytes(V3, "pubcomp", id)).unwrap(),
            Ok(Pkt::Publish(m)) => {
                assert_eq!(m.text(), "after");
                after_seen = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn unacked_publish_is_resent_with_dup_on_reconnect_mqtt_4_4_0_1() {
    let broker = Broker::start();
    let topic = unique("dup");
    let id = unique("dup-sub");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    sub.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("dup-pub")));
    p.publish(&topic, b"unacked", QoS::AtLeastOnce, 1, false);
    let first = sub.recv_publish(WAIT);
    assert!(!first.dup);
    drop(sub); // no PUBACK, no DISCONNECT

    let (mut sub, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    assert!(sp);
    let again = sub.recv_publish(WAIT);
    assert_eq!(again.payload, b"unacked");
    assert_eq!(again.id, first.id, "same packet identifier");
    assert!(again.dup, "MQTT-3.3.1-1: DUP=1 on a re-delivery");
    sub.ack(&again);
    sub.expect_silence(QUIET);
}

#[test]
fn pubrel_is_resent_after_pubrec_on_reconnect_mqtt_4_4_0_1() {
    let broker = Broker::start();
    let topic = unique("rel");
    let id = unique("rel-sub");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    sub.subscribe(1, &[(&topic, QoS::ExactlyOnce)]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("rel-pub")));
    p.publish(&topic, b"q2", QoS::ExactlyOnce, 1, false);
    let m = sub.recv_publish(WAIT);
    let pid = m.id.unwrap();
    sub.send(&ack_bytes(V3, "pubrec", pid)).unwrap();
    assert_eq!(sub.recv(WAIT), Ok(Pkt::PubRel(pid)));
    drop(sub); // no PUBCOMP

    let (mut sub, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    assert!(sp);
    assert_eq!(
        sub.recv(WAIT),
        Ok(Pkt::PubRel(pid)),
        "PUBREL resent, not the PUBLISH"
    );
    sub.send(&ack_bytes(V3, "pubcomp", pid)).unwrap();
    sub.expect_silence(QUIET);
}

#[test]
fn offline_persistent_session_receives_queued_messages_in_order() {
    let broker = Broker::workers(4);
    let topic = unique("queue");
    let id = unique("queue-sub");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    sub.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    sub.disconnect();

    let publisher = Rumq::connect(broker.port(), &unique("queue-pub"));
    for i in 0..30 {
        publisher.publish(&topic, rumqttc::QoS::AtLeastOnce, false, format!("{i}"));
    }
    publisher.wait_acks(30);
    // QoS 0 messages are not queued for an offline client.
    publisher.publish(&topic, rumqttc::QoS::AtMostOnce, false, "qos0");
    // Packets of one connection are handled in order: once this is acknowledged, the QoS 0
    // message has been routed.
    publisher.publish(
        &format!("{topic}/sync"),
        rumqttc::QoS::AtLeastOnce,
        false,
        "sync",
    );
    publisher.wait_acks(1);

    let (mut sub, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    assert!(sp);
    let got = sub.recv_acked(30, WAIT);
    let payloads: Vec<String> = got.iter().map(Msg::text).collect();
    let expected: Vec<String> = (0..30).map(|i| i.to_string()).collect();
    assert_eq!(payloads, expected);
    assert!(got.iter().all(|m| m.qos == 1 && !m.dup));
    sub.expect_silence(QUIET);
}

#[test]
fn max_queued_drops_the_oldest() {
    let broker = Broker::with(&[("ROOST_MAX_QUEUED", "5")]);
    let topic = unique("maxq");
    let id = unique("maxq-sub");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    sub.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    sub.disconnect();
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("maxq-pub")));
    for i in 0..10u16 {
        p.publish(
            &topic,
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
            i + 1,
            false,
        );
    }
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    let got = sub.recv_acked(5, WAIT);
    let payloads: Vec<String> = got.iter().map(Msg::text).collect();
    assert_eq!(payloads, ["5", "6", "7", "8", "9"]);
    sub.expect_silence(QUIET);
}

#[test]
fn one_publishers_order_holds_across_workers_mqtt_4_6_0_6() {
    let broker = Broker::workers(4);
    let topic = unique("order");
    let n = 500;
    // Subscribers with several ids, so their sessions live on different workers.
    let subs: Vec<Rumq> = (0..4)
        .map(|i| {
            let s = Rumq::connect(broker.port(), &unique(&format!("order-sub{i}")));
            s.subscribe(&topic, rq(1 + (i % 2) as u8));
            s
        })
        .collect();
    let mut mosq = MosqSub::start(broker.port(), 15, &["-t", &topic, "-q", "1"]);
    let publisher = Rumq::connect(broker.port(), &unique("order-pub"));
    for i in 0..n {
        publisher.publish(&topic, rumqttc::QoS::AtLeastOnce, false, format!("{i}"));
    }
    let expected: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    for s in &subs {
        let got: Vec<String> = s
            .messages(n, Duration::from_secs(20))
            .iter()
            .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
            .collect();
        assert_eq!(got, expected);
    }
    let got: Vec<String> = mosq
        .wait_for(n, Duration::from_secs(20))
        .iter()
        .map(|m| m.payload.clone())
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn retry_interval_resends_unacked_publish_with_dup() {
    let broker = Broker::with(&[("ROOST_RETRY_INTERVAL", "1s")]);
    let topic = unique("retry");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("retry-sub")));
    sub.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("retry-pub")));
    p.publish(&topic, b"again", QoS::AtLeastOnce, 1, false);
    let first = sub.recv_publish(WAIT);
    let t0 = Instant::now();
    assert!(!first.dup);
    let again = sub.recv_publish(Duration::from_secs(4));
    let t = t0.elapsed();
    assert!(t >= Duration::from_millis(500), "resent too early: {t:?}");
    assert!(t < Duration::from_millis(2500), "resent too late: {t:?}");
    assert_eq!(
        (again.id, again.payload.as_slice()),
        (first.id, &b"again"[..])
    );
    assert!(again.dup, "a resend has DUP=1");
    // Acknowledged: no further resend.
    sub.ack(&again);
    sub.expect_silence(Duration::from_millis(2200));
}
