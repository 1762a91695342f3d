//! CONNECT and CONNACK over real sockets (MQTT 3.1.1 section 3.1/3.2): return codes, the
//! session present flag, takeover, protocol violations around CONNECT and the CONNECT timeout.

mod common;

use std::time::{Duration, Instant};

use common::*;
use roost::packets::{QoS, Version};

/// A 3.1.1 CONNECT with protocol level `level`, clean session, client id "x".
fn connect_with_level(level: u8) -> Vec<u8> {
    vec![
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', level, 0x02, 0, 60, 0, 1, b'x',
    ]
}

#[test]
fn accepted_connect_gets_connack_0_and_pingresp() {
    let broker = Broker::start();
    let mut c = broker.raw();
    let (sp, code) = c.connect_with(&ConnectOpts::v311(&unique("ok")));
    assert_eq!((sp, code), (false, 0));
    c.send(&PINGREQ).unwrap();
    assert_eq!(c.recv(WAIT), Ok(Pkt::PingResp));
}

#[test]
fn unacceptable_protocol_level_gets_return_code_1_then_close_mqtt_3_1_2_2() {
    let broker = Broker::start();
    let mut c = broker.raw();
    c.send(&connect_with_level(6)).unwrap();
    let got = c.expect_closed(WAIT);
    assert_eq!(
        got,
        vec![Pkt::ConnAck {
            session_present: false,
            code: 1
        }],
        "MQTT-3.1.2-2: CONNACK return code 0x01 and then close"
    );
}

#[test]
fn empty_client_id_without_clean_session_gets_return_code_2_mqtt_3_1_3_8() {
    let broker = Broker::start();
    let mut c = broker.raw();
    c.send(&ConnectOpts::v311("").clean(false).encode())
        .unwrap();
    let got = c.expect_closed(WAIT);
    assert_eq!(
        got,
        vec![Pkt::ConnAck {
            session_present: false,
            code: 2
        }]
    );
}

#[test]
fn empty_client_id_with_clean_session_is_accepted_mqtt_3_1_3_6() {
    let broker = Broker::start();
    let (mut c, sp) = Raw::open(broker.addr, &ConnectOpts::v311(""));
    assert!(!sp);
    // The connection is usable: a subscription and a message to itself.
    assert_eq!(c.subscribe(1, &[("e/t", QoS::AtLeastOnce)]), vec![1]);
    c.publish("e/t", b"hello", QoS::AtMostOnce, 0, false);
    assert_eq!(c.recv_publish(WAIT).payload, b"hello");
}

#[test]
fn session_present_follows_clean_session_mqtt_3_2_2_1_to_3() {
    let broker = Broker::start();
    let id = unique("sp");
    // MQTT-3.2.2-1: clean session 1 -> session present 0.
    let (c, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id));
    assert!(!sp);
    c.disconnect();
    // MQTT-3.2.2-3: no stored session -> 0.
    let (mut c, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    assert!(!sp, "clean session 1 left no session behind");
    c.subscribe(1, &[("sp/t", QoS::AtLeastOnce)]);
    c.disconnect();
    // MQTT-3.2.2-2: a stored session -> 1, and its subscription still works.
    let (mut c, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    assert!(sp, "MQTT-3.2.2-2");
    let mut p = broker.raw();
    p.connect_with(&ConnectOpts::v311(&unique("sp-pub")));
    p.publish("sp/t", b"kept", QoS::AtLeastOnce, 1, false);
    let m = c.recv_publish(WAIT);
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("sp/t", &b"kept"[..])
    );
    c.ack(&m);
    c.disconnect();
    // Clean session 1 discards it (MQTT-3.1.2-6) -> 0, and then 0 again for clean session 0.
    let (c, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id));
    assert!(!sp);
    c.disconnect();
    let (_c, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
    assert!(!sp, "the clean connection discarded the session");
}

#[test]
fn same_client_id_takes_over_and_closes_the_old_connection_mqtt_3_1_4_3() {
    // 4 workers: the two connections are accepted on different workers and handed over to the
    // session's home worker.
    let broker = Broker::workers(4);
    for round in 0..4 {
        let id = unique(&format!("take{round}"));
        let (mut old, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
        old.subscribe(1, &[("take/t", QoS::AtMostOnce)]);
        let (mut new, sp) = Raw::open(broker.addr, &ConnectOpts::v311(&id).clean(false));
        assert!(sp, "the session survives a takeover");
        old.expect_closed(WAIT);
        new.send(&PINGREQ).unwrap();
        assert_eq!(new.recv(WAIT), Ok(Pkt::PingResp));
    }
}

#[test]
fn second_connect_closes_the_connection_mqtt_3_1_0_2() {
    let broker = Broker::start();
    let id = unique("twice");
    let (mut c, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id));
    c.send(&ConnectOpts::v311(&id).encode()).unwrap();
    let got = c.expect_closed(WAIT);
    assert!(got.is_empty(), "no CONNACK for the second CONNECT: {got:?}");
}

#[test]
fn packet_before_connect_closes_the_connection_mqtt_3_1_0_1() {
    let broker = Broker::start();
    for first in [
        PINGREQ.to_vec(),
        publish_bytes(Version::V3_1_1, "a", b"x", QoS::AtMostOnce, 0, false, false),
        subscribe_bytes(Version::V3_1_1, 1, &[("a", QoS::AtMostOnce)]),
    ] {
        let mut c = broker.raw();
        c.send(&first).unwrap();
        let got = c.expect_closed(WAIT);
        assert!(got.is_empty(), "{first:?} answered with {got:?}");
    }
}

#[test]
fn malformed_packet_closes_only_that_connection() {
    let broker = Broker::start();
    let topic = unique("mal");
    let sub = Rumq::connect(broker.port(), &unique("mal-sub"));
    sub.subscribe(&topic, rumqttc::QoS::AtLeastOnce);
    let malformed: [&[u8]; 3] = [
        // PUBLISH with QoS 3 (MQTT-3.3.1-4).
        &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01],
        // SUBSCRIBE with reserved flags 0 (MQTT-3.8.1-1).
        &[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00],
        // A Remaining Length of five bytes (MQTT 2.2.3: at most four).
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    ];
    for bytes in malformed {
        let (mut bad, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("mal-bad")));
        bad.send(bytes).unwrap();
        bad.expect_closed(WAIT);
        mosquitto_pub(broker.port(), &["-t", &topic, "-q", "1", "-m", "still"]);
        let got = sub.messages(1, WAIT);
        assert_eq!(got[0].payload.as_ref(), b"still");
    }
}

#[test]
fn no_connect_in_time_closes_even_a_trickling_connection() {
    let broker = Broker::with(&[("ROOST_CONNECT_TIMEOUT", "1s")]);
    // Silent.
    let start = Instant::now();
    let mut silent = broker.raw();
    silent.expect_closed(Duration::from_secs(5));
    let t = start.elapsed();
    assert!(t >= Duration::from_millis(900), "closed too early: {t:?}");
    assert!(t < Duration::from_secs(3), "closed too late: {t:?}");

    // Trickling a CONNECT one byte every 100 ms: it would complete only after ~6 s.
    let id = "x".repeat(50);
    let bytes = ConnectOpts::v311(&id).encode();
    let start = Instant::now();
    let mut slow = broker.raw();
    let mut closed = false;
    for b in &bytes {
        if slow.send(&[*b]).is_err() {
            closed = true;
            break;
        }
        match slow.recv(Duration::from_millis(100)) {
            Err(RecvError::Timeout) => {}
            Err(RecvError::Closed) => {
                closed = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let t = start.elapsed();
    assert!(closed, "a trickling connection was never closed");
    assert!(t >= Duration::from_millis(900), "closed too early: {t:?}");
    assert!(t < Duration::from_secs(3), "closed too late: {t:?}");

    // A prompt CONNECT is still fine.
    let (mut ok, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("prompt")));
    ok.send(&PINGREQ).unwrap();
    assert_eq!(ok.recv(WAIT), Ok(Pkt::PingResp));
}
