//! Raw-byte conversations for what real clients never send: MQTT 5.0 malformed packets answered
//! with DISCONNECT 0x81 before the close, oversized packets, and split/coalesced packets.

mod common;

use common::*;
use roost::packets::{QoS, Version};

#[test]
fn v5_malformed_packet_gets_disconnect_0x81_before_close() {
    let broker = Broker::start();
    let malformed: [&[u8]; 3] = [
        // PUBLISH with QoS 3 (MQTT-3.3.1-4).
        &[0x36, 0x06, 0x00, 0x01, b'a', 0x00, 0x01, 0x00],
        // PUBLISH whose property length overruns the packet.
        &[0x30, 0x05, 0x00, 0x01, b'a', 0x09, 0x01],
        // PINGREQ with a body.
        &[0xC0, 0x01, 0x00],
    ];
    for bytes in malformed {
        let (mut c, _) = Raw::open(broker.addr, &ConnectOpts::v5(&unique("v5bad")));
        c.send(bytes).unwrap();
        let got = c.expect_closed(WAIT);
        assert_eq!(got, [Pkt::Disconnect(0x81)], "after {bytes:?}");
    }
}

#[test]
fn v5_packet_before_connect_is_closed_without_reply() {
    let broker = Broker::start();
    let mut c = broker.raw();
    c.version = Version::V5;
    c.send(&subscribe_bytes(Version::V5, 1, &[("a", QoS::AtMostOnce)]))
        .unwrap();
    assert_eq!(c.expect_closed(WAIT), []);
}

#[test]
fn packet_over_max_packet_size_closes_the_connection() {
    let broker = Broker::with(&[("ROOST_MAX_PACKET_SIZE", "256B")]);
    let topic = unique("big");
    let (mut sub, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("big-sub")));
    sub.subscribe(1, &[(&topic, QoS::AtMostOnce)]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("big-pub")));
    let big = vec![b'x'; 300];
    let _ = p.send(&publish_bytes(
        Version::V3_1_1,
        &topic,
        &big,
        QoS::AtMostOnce,
        0,
        false,
        false,
    ));
    p.expect_closed(WAIT);
    // The subscriber never sees it, and a small one still flows.
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("small-pub")));
    p.publish(&topic, b"small", QoS::AtMostOnce, 0, false);
    assert_eq!(sub.recv_publish(WAIT).payload, b"small");
}

/// CONNECT (`id`, clean session), SUBSCRIBE 1 to `topic` at QoS 1 and PUBLISH 2 of `payload`
/// to it at QoS 1, as one buffer to send in one write.
fn connect_subscribe_publish(id: &str, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut all = ConnectOpts::v311(id).encode();
    all.extend(subscribe_bytes(
        Version::V3_1_1,
        1,
        &[(topic, QoS::AtLeastOnce)],
    ));
    all.extend(publish_bytes(
        Version::V3_1_1,
        topic,
        payload,
        QoS::AtLeastOnce,
        2,
        false,
        false,
    ));
    all
}

#[test]
fn coalesced_packets_travel_with_a_handed_over_connection() {
    // 4 workers and many clients at once: most connections are accepted on a worker other than
    // their session's, and are handed over (run on the accepting thread when the home worker
    // is idle, through its inbox when it is busy) with the SUBSCRIBE and PUBLISH that came in
    // the same write as their CONNECT.
    let broker = Broker::workers(4);
    let mut clients: Vec<(Raw, String)> = (0..24)
        .map(|i| {
            let id = unique(&format!("hand{i}"));
            let topic = format!("hand/{id}");
            let mut c = broker.raw();
            c.send(&connect_subscribe_publish(&id, &topic, id.as_bytes()))
                .unwrap();
            (c, id)
        })
        .collect();
    for (c, id) in &mut clients {
        let got: Vec<Pkt> = (0..4).map(|_| c.recv(WAIT).expect("packet")).collect();
        assert_eq!(
            got[..2],
            [
                Pkt::ConnAck {
                    session_present: false,
                    code: 0
                },
                Pkt::SubAck {
                    id: 1,
                    codes: vec![1]
                }
            ],
            "{id}"
        );
        assert!(got[2..].contains(&Pkt::PubAck(2)), "{id}: {got:?}");
        assert!(
            got[2..]
                .iter()
                .any(|p| matches!(p, Pkt::Publish(m) if m.payload == id.as_bytes())),
            "{id}: {got:?}"
        );
    }
}

#[test]
fn packets_split_byte_by_byte_and_coalesced_are_both_understood() {
    let broker = Broker::start();
    let topic = unique("split");
    let mut c = broker.raw();
    // CONNECT + SUBSCRIBE + PUBLISH (to itself) in one write.
    let all = connect_subscribe_publish(&unique("split"), &topic, b"one");
    c.send(&all).unwrap();
    let mut got = Vec::new();
    while got.len() < 4 {
        got.push(c.recv(WAIT).expect("packet"));
    }
    assert_eq!(
        got[0],
        Pkt::ConnAck {
            session_present: false,
            code: 0
        }
    );
    assert_eq!(
        got[1],
        Pkt::SubAck {
            id: 1,
            codes: vec![1]
        }
    );
    assert!(got[2..].contains(&Pkt::PubAck(2)), "{got:?}");
    assert!(
        got[2..]
            .iter()
            .any(|p| matches!(p, Pkt::Publish(m) if m.payload == b"one")),
        "{got:?}"
    );
    // One PUBLISH a byte at a time.
    for b in publish_bytes(
        Version::V3_1_1,
        &topic,
        b"two",
        QoS::AtMostOnce,
        0,
        false,
        false,
    ) {
        c.send(&[b]).unwrap();
    }
    let m = loop {
        match c.recv(WAIT).expect("packet") {
            Pkt::Publish(m) if m.payload == b"two" => break m,
            Pkt::Publish(m) => c.ack(&m),
            _ => {}
        }
    };
    assert_eq!(m.qos, 0);
}
