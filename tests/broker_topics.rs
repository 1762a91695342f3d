//! Topic matching over real sockets: wildcards (MQTT 4.7), the `$` rule (MQTT-4.7.2-1),
//! overlapping subscriptions, QoS downgrade, UNSUBSCRIBE, invalid filters and shared
//! subscriptions from 3.1.1 clients.

mod common;

use std::collections::BTreeSet;

use common::*;
use roost::packets::{QoS, Version};

const V3: Version = Version::V3_1_1;

/// Subscribes one raw client per filter, publishes every topic, and returns per filter the
/// topics it received. A final marker topic bounds each wait: everything before it has arrived.
fn matches_of(broker: &Broker, filters: &[&str], topics: &[&str]) -> Vec<BTreeSet<String>> {
    let marker = unique("marker");
    let mut subs: Vec<Raw> = filters
        .iter()
        .map(|f| {
            let (mut s, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("wild")));
            assert_eq!(
                s.subscribe(1, &[(f, QoS::AtMostOnce), (&marker, QoS::AtMostOnce)]),
                [0, 0]
            );
            s
        })
        .collect();
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("wild-pub")));
    for t in topics {
        p.publish(t, b"x", QoS::AtMostOnce, 0, false);
    }
    p.publish(&marker, b"end", QoS::AtMostOnce, 0, false);
    subs.iter_mut()
        .map(|s| {
            let mut got = BTreeSet::new();
            loop {
                let m = s.recv_publish(WAIT);
                if m.topic == marker {
                    break got;
                }
                assert!(got.insert(m.topic.clone()), "{} delivered twice", m.topic);
            }
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn wildcards_match_as_specified_mqtt_4_7_1() {
    let broker = Broker::start();
    let topics = [
        "sport",
        "sport/",
        "sport/tennis",
        "sport/tennis/player1",
        "sport/tennis/player1/ranking",
        "sport/golf/player1",
        "/finance",
        "finance",
    ];
    let filters = [
        "sport/#",
        "sport/tennis/+",
        "sport/+",
        "+",
        "+/+",
        "/+",
        "#",
        "+/tennis/#",
        "sport/+/player1",
    ];
    let got = matches_of(&broker, &filters, &topics);
    let expected = [
        // MQTT-4.7.1-2: "sport/#" also matches "sport".
        set(&[
            "sport",
            "sport/",
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport/golf/player1",
        ]),
        set(&["sport/tennis/player1"]),
        set(&["sport/", "sport/tennis"]),
        set(&["sport", "finance"]),
        set(&["sport/", "sport/tennis", "/finance"]),
        set(&["/finance"]),
        set(&topics),
        set(&[
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
        ]),
        set(&["sport/tennis/player1", "sport/golf/player1"]),
    ];
    for ((f, g), e) in filters.iter().zip(&got).zip(&expected) {
        assert_eq!(g, e, "filter {f}");
    }
}

#[test]
fn wildcards_do_not_match_dollar_topics_mqtt_4_7_2_1() {
    let broker = Broker::start();
    let topics = ["$SYS/x", "$SYS/broker/load", "$other", "plain/x"];
    let filters = ["#", "+/x", "+/+/+", "+", "$SYS/#", "$SYS/+", "$other"];
    let got = matches_of(&broker, &filters, &topics);
    let expected = [
        set(&["plain/x"]),
        set(&["plain/x"]),
        set(&[]),
        set(&[]),
        set(&["$SYS/x", "$SYS/broker/load"]),
        set(&["$SYS/x"]),
        set(&["$other"]),
    ];
    for ((f, g), e) in filters.iter().zip(&got).zip(&expected) {
        assert_eq!(g, e, "filter {f}");
    }
}

#[test]
fn overlapping_subscriptions_deliver_once_at_the_highest_qos() {
    let broker = Broker::start();
    let base = unique("ov");
    let (mut s, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ov-sub")));
    let exact = format!("{base}/a/b");
    let plus = format!("{base}/+/b");
    let hash = format!("{base}/#");
    let codes = s.subscribe(
        1,
        &[
            (&hash, QoS::AtMostOnce),
            (&exact, QoS::ExactlyOnce),
            (&plus, QoS::AtLeastOnce),
        ],
    );
    assert_eq!(codes, [0, 2, 1]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ov-pub")));
    p.publish(&exact, b"q2", QoS::ExactlyOnce, 1, false);
    p.publish(&format!("{base}/z/b"), b"q1", QoS::ExactlyOnce, 2, false);
    p.publish(&format!("{base}/z"), b"q0", QoS::ExactlyOnce, 3, false);
    let got = s.recv_acked(3, WAIT);
    let seen: Vec<(String, u8)> = got.iter().map(|m| (m.text(), m.qos)).collect();
    assert_eq!(seen, [("q2".into(), 2), ("q1".into(), 1), ("q0".into(), 0)]);
    s.expect_silence(QUIET);
}

#[test]
fn messages_are_downgraded_to_the_granted_qos_mqtt_3_8_4_6() {
    let broker = Broker::start();
    for granted in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let topic = unique("down");
        let (mut s, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("down-sub")));
        assert_eq!(s.subscribe(1, &[(&topic, granted)]), [granted as u8]);
        let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("down-pub")));
        for (i, q) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
        {
            p.publish(&topic, format!("{i}").as_bytes(), q, 10 + i as u16, false);
        }
        let got = s.recv_acked(3, WAIT);
        let qos: Vec<u8> = got.iter().map(|m| m.qos).collect();
        let g = granted as u8;
        assert_eq!(qos, [0, 1.min(g), 2.min(g)], "granted {g}");
    }
}

#[test]
fn unsubscribe_stops_delivery_mqtt_3_10_4_2() {
    let broker = Broker::start();
    let gone = unique("unsub");
    let kept = unique("kept");
    let (mut s, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("unsub-sub")));
    s.subscribe(1, &[(&gone, QoS::AtLeastOnce), (&kept, QoS::AtLeastOnce)]);
    s.send(&unsubscribe_bytes(V3, 2, &[&gone])).unwrap();
    assert_eq!(s.recv(WAIT), Ok(Pkt::UnsubAck(2)));
    // Unsubscribing what is not subscribed is still acknowledged (MQTT-3.10.4-5).
    s.send(&unsubscribe_bytes(V3, 3, &["never/subscribed"]))
        .unwrap();
    assert_eq!(s.recv(WAIT), Ok(Pkt::UnsubAck(3)));
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("unsub-pub")));
    p.publish(&gone, b"lost", QoS::AtLeastOnce, 1, false);
    p.publish(&kept, b"marker", QoS::AtLeastOnce, 2, false);
    let m = s.recv_publish(WAIT);
    assert_eq!(
        (m.topic.as_str(), m.text().as_str()),
        (kept.as_str(), "marker")
    );
    s.ack(&m);
    s.expect_silence(QUIET);
}

#[test]
fn invalid_filters_get_suback_0x80_mqtt_3_9_3_2() {
    let broker = Broker::start();
    let (mut s, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("bad-filters")));
    let codes = s.subscribe(
        1,
        &[
            ("a/#/b", QoS::AtLeastOnce),
            ("ok/+", QoS::AtLeastOnce),
            ("a+", QoS::AtMostOnce),
            ("#a", QoS::AtMostOnce),
            ("a/b#", QoS::AtMostOnce),
            ("a/+b/c", QoS::AtMostOnce),
            ("ok/#", QoS::ExactlyOnce),
        ],
    );
    assert_eq!(codes, [0x80, 1, 0x80, 0x80, 0x80, 0x80, 2]);
    // The connection stays usable and the valid filters work.
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("bad-pub")));
    p.publish("ok/x", b"fine", QoS::AtLeastOnce, 1, false);
    let got = s.recv_acked(1, WAIT);
    assert_eq!(got[0].text(), "fine");
    assert_eq!(
        got[0].qos, 1,
        "one delivery at the highest granted QoS of ok/+ and ok/#"
    );
}

#[test]
fn shared_subscription_gives_each_message_to_exactly_one_member_in_turn() {
    let broker = Broker::start();
    let topic = unique("shared");
    let filter = format!("$share/g/{topic}");
    let mut members: Vec<Raw> = (0..2)
        .map(|i| {
            let (mut m, _) = Raw::open(
                broker.addr,
                &ConnectOpts::v311(&unique(&format!("member{i}"))),
            );
            assert_eq!(m.subscribe(1, &[(&filter, QoS::AtLeastOnce)]), [1]);
            m
        })
        .collect();
    // A plain subscriber of the same topic still gets every message.
    let (mut plain, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("plain")));
    plain.subscribe(1, &[(&topic, QoS::AtLeastOnce)]);
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("shared-pub")));
    let n = 40u16;
    for i in 0..n {
        p.publish(
            &topic,
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
            i + 1,
            false,
        );
    }
    let all = plain.recv_acked(usize::from(n), WAIT);
    assert_eq!(all.len(), usize::from(n));
    // Round robin over two members: n/2 each, alternating.
    let per: Vec<Vec<u16>> = members
        .iter_mut()
        .map(|m| {
            m.recv_acked(usize::from(n / 2), WAIT)
                .iter()
                .map(|x| x.text().parse().unwrap())
                .collect()
        })
        .collect();
    for m in members.iter_mut() {
        m.expect_silence(QUIET);
    }
    let mut union: Vec<u16> = per.concat();
    union.sort_unstable();
    assert_eq!(
        union,
        (0..n).collect::<Vec<_>>(),
        "each message to exactly one member"
    );
    for (i, got) in per.iter().enumerate() {
        let parity = got[0] % 2;
        assert!(
            got.iter().all(|x| x % 2 == parity),
            "member {i} did not get every other message: {got:?}"
        );
    }
}
