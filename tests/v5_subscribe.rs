//! MQTT 5.0 subscription options and identifiers: No Local, Retain As Published, Retain
//! Handling 0/1/2, Subscription Identifiers on deliveries (all of them when several
//! subscriptions of a client match), SUBACK 0x8F, UNSUBACK 0x11, and No Local on a shared
//! subscription (DISCONNECT 0x82). Raw bytes, rumqttc v5 and paho.

mod common;

use common::v5::*;
use common::*;
use roost::packets::{PublishProperties, QoS, RetainHandling, SubscriptionOptions};

fn with(qos: QoS, f: impl FnOnce(&mut SubscriptionOptions)) -> SubscriptionOptions {
    let mut o = opts(qos);
    f(&mut o);
    o
}

fn plain() -> PublishProperties<'static> {
    PublishProperties::default()
}

#[test]
fn no_local_suppresses_a_clients_own_messages_mqtt_3_8_3_3() {
    let broker = Broker::start();
    let topic = unique("nolocal");
    let mut c = Raw::open5(broker.addr, &unique("nolocal-self"), 0);
    let nl = with(QoS::AtLeastOnce, |o| o.no_local = true);
    assert_eq!(c.subscribe5(1, &[(&topic, nl)], None), [1]);
    // Its own message matches no one else: 0x10.
    assert_eq!(
        c.publish5(&topic, b"mine", QoS::AtLeastOnce, 1, false, plain()),
        0x10
    );
    c.expect_silence5(QUIET);
    let mut other = Raw::open5(broker.addr, &unique("nolocal-other"), 0);
    other.publish5(&topic, b"theirs", QoS::AtLeastOnce, 1, false, plain());
    assert_eq!(c.recv_pubs5(1, WAIT)[0].text(), "theirs");

    // Without No Local the same client gets its own message.
    let topic2 = unique("local");
    c.subscribe5(2, &[(&topic2, opts(QoS::AtLeastOnce))], None);
    c.send(&publish5_bytes(
        &topic2,
        b"echo",
        QoS::AtLeastOnce,
        2,
        false,
        plain(),
    ))
    .expect("PUBLISH");
    // The PUBACK and the delivery may come in either order.
    let mut got: Vec<String> = (0..2)
        .map(|_| match c.recv5(WAIT) {
            Ok(In5::PubAck(a)) => format!("PUBACK {} {:#04x}", a.id, a.reason),
            Ok(In5::Publish(m)) => format!("PUBLISH {}", m.text()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    got.sort();
    assert_eq!(got, ["PUBACK 2 0x00", "PUBLISH echo"]);
}

#[test]
fn rumqttc_v5_no_local_subscriber_gets_only_others_messages() {
    use rumqttc::v5::mqttbytes::v5::Filter;
    use rumqttc::v5::mqttbytes::QoS as Q5;
    let broker = Broker::start();
    let topic = unique("nolocal-r5");
    let r = R5::connect(broker.port(), &unique("nolocal-r5"));
    let mut f = Filter::new(topic.clone(), Q5::AtLeastOnce);
    f.nolocal = true;
    r.subscribe(vec![f], None);
    r.client
        .publish(topic.clone(), Q5::AtLeastOnce, false, "mine")
        .expect("publish");
    r.wait("PUBACK", |p| matches!(p, RP5::PubAck(_)));
    let mut other = Raw::open5(broker.addr, &unique("nolocal-r5-other"), 0);
    other.publish5(&topic, b"theirs", QoS::AtLeastOnce, 1, false, plain());
    let got = r.messages(1, WAIT);
    assert_eq!(&got[0].payload[..], b"theirs");
    r.expect_no_message(QUIET);
}

#[test]
fn paho_v5_no_local_subscriber_gets_only_others_messages() {
    let broker = Broker::start();
    let port = broker.port().to_string();
    let topic = unique("nolocal-paho");
    let sub = PyProc::start(
        "v5.py",
        &[
            "sub",
            "--port",
            &port,
            "--topic",
            &topic,
            "--nolocal",
            "--self",
            "mine",
            "--count",
            "1",
        ],
    );
    let mut other = Raw::open5(broker.addr, &unique("nolocal-paho-other"), 0);
    other.publish5(&topic, b"theirs", QoS::AtLeastOnce, 1, false, plain());
    assert_eq!(sub.finish(WAIT), [format!("MSG|{topic}|theirs||0")]);
}

#[test]
fn retain_as_published_keeps_the_flag_on_live_messages_mqtt_3_3_1_12_and_13() {
    let broker = Broker::start();
    let topic = unique("rap");
    let mut keep = Raw::open5(broker.addr, &unique("rap-1"), 0);
    let rap = with(QoS::AtMostOnce, |o| o.retain_as_published = true);
    keep.subscribe5(1, &[(&topic, rap)], None);
    let mut clear = Raw::open5(broker.addr, &unique("rap-0"), 0);
    clear.subscribe5(1, &[(&topic, opts(QoS::AtMostOnce))], None);
    let mut p = Raw::open5(broker.addr, &unique("rap-pub"), 0);
    p.publish5(&topic, b"r", QoS::AtLeastOnce, 1, true, plain());
    p.publish5(&topic, b"n", QoS::AtLeastOnce, 2, false, plain());
    let flags = |r: &mut Raw| -> Vec<(String, bool)> {
        (0..2)
            .map(|_| {
                let m = r.recv_pub5(WAIT);
                (m.text(), m.retain)
            })
            .collect()
    };
    assert_eq!(
        flags(&mut keep),
        [("r".to_owned(), true), ("n".to_owned(), false)],
        "MQTT-3.3.1-13"
    );
    assert_eq!(
        flags(&mut clear),
        [("r".to_owned(), false), ("n".to_owned(), false)],
        "MQTT-3.3.1-12"
    );
    // Retained messages sent because of a subscription carry RETAIN=1 whatever the option.
    let mut late = Raw::open5(broker.addr, &unique("rap-late"), 0);
    late.subscribe5(1, &[(&topic, opts(QoS::AtMostOnce))], None);
    let m = late.recv_pub5(WAIT);
    assert_eq!((m.text(), m.retain), ("r".to_owned(), true));
}

#[test]
fn retain_handling_0_1_2_mqtt_3_3_1_9_to_11() {
    let broker = Broker::start();
    let topic = unique("rh");
    let mut p = Raw::open5(broker.addr, &unique("rh-pub"), 0);
    p.publish5(&topic, b"kept", QoS::AtLeastOnce, 1, true, plain());
    let rh = |h| with(QoS::AtMostOnce, |o| o.retain_handling = h);
    let mut c = Raw::open5(broker.addr, &unique("rh-sub"), 0);

    // 0: at every subscribe, new or not (MQTT-3.3.1-9).
    for id in 1..=2 {
        c.subscribe5(id, &[(&topic, rh(RetainHandling::SendAtSubscribe))], None);
        let m = c.recv_pub5(WAIT);
        assert_eq!(
            (m.text(), m.retain),
            ("kept".to_owned(), true),
            "RH 0 #{id}"
        );
    }
    // 1: only if the subscription did not exist (MQTT-3.3.1-10).
    c.subscribe5(3, &[(&topic, rh(RetainHandling::SendIfNew))], None);
    c.expect_silence5(QUIET);
    let fresh = unique("rh-fresh");
    p.publish5(&fresh, b"fresh", QoS::AtLeastOnce, 2, true, plain());
    c.subscribe5(4, &[(&fresh, rh(RetainHandling::SendIfNew))], None);
    assert_eq!(c.recv_pub5(WAIT).text(), "fresh");
    // 2: never (MQTT-3.3.1-11), neither for a new subscription nor an existing one.
    let third = unique("rh-never");
    p.publish5(&third, b"never", QoS::AtLeastOnce, 3, true, plain());
    c.subscribe5(5, &[(&third, rh(RetainHandling::DoNotSend))], None);
    c.subscribe5(6, &[(&topic, rh(RetainHandling::DoNotSend))], None);
    c.expect_silence5(QUIET);
    // The subscription itself works.
    p.publish5(&third, b"live", QoS::AtLeastOnce, 4, false, plain());
    assert_eq!(c.recv_pub5(WAIT).text(), "live");
}

#[test]
fn subscription_identifiers_go_with_every_matching_subscription_mqtt_3_3_4_3_and_4() {
    let broker = Broker::start();
    let base = unique("subid");
    let exact = format!("{base}/a/b");
    let plus = format!("{base}/a/+");
    let hash = format!("{base}/#");
    let mut c = Raw::open5(broker.addr, &unique("subid-c"), 0);
    c.subscribe5(1, &[(&plus, opts(QoS::AtMostOnce))], Some(7));
    c.subscribe5(2, &[(&exact, opts(QoS::AtLeastOnce))], Some(268_435_455));
    c.subscribe5(3, &[(&hash, opts(QoS::AtMostOnce))], None);
    let mut p = Raw::open5(broker.addr, &unique("subid-p"), 0);
    p.publish5(&exact, b"all", QoS::AtLeastOnce, 1, false, plain());
    // One delivery (MQTT-3.3.4-2 permits one per subscription; roost sends one) carrying both
    // identifiers; the subscription without one adds none.
    let m = c.recv_pubs5(1, WAIT).remove(0);
    let mut ids = m.sub_ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, [7, 268_435_455], "{m:?}");
    assert_eq!(m.qos, 1, "the highest granted QoS of the matches");
    c.expect_silence5(QUIET);
    // Only the '#' subscription matches: no identifier at all.
    p.publish5(
        &format!("{base}/z"),
        b"none",
        QoS::AtLeastOnce,
        2,
        false,
        plain(),
    );
    let m = c.recv_pub5(WAIT);
    assert_eq!((m.text(), m.sub_ids), ("none".to_owned(), vec![]));
    // A retained message sent at subscribe carries the new subscription's identifier, and
    // replacing a subscription replaces its identifier.
    let ret = unique("subid-retained");
    p.publish5(&ret, b"ret", QoS::AtLeastOnce, 3, true, plain());
    c.subscribe5(4, &[(&ret, opts(QoS::AtMostOnce))], Some(42));
    let m = c.recv_pub5(WAIT);
    assert_eq!((m.text(), m.sub_ids), ("ret".to_owned(), vec![42]));
    c.subscribe5(5, &[(&plus, opts(QoS::AtMostOnce))], Some(8));
    p.publish5(
        &format!("{base}/a/q"),
        b"q",
        QoS::AtLeastOnce,
        4,
        false,
        plain(),
    );
    let m = c.recv_pub5(WAIT);
    assert_eq!((m.text(), m.sub_ids), ("q".to_owned(), vec![8]));
}

#[test]
fn rumqttc_v5_and_paho_see_subscription_identifiers() {
    use rumqttc::v5::mqttbytes::v5::Filter;
    use rumqttc::v5::mqttbytes::QoS as Q5;
    let broker = Broker::start();
    let port = broker.port().to_string();
    let topic = unique("subid-peers");
    let r = R5::connect(broker.port(), &unique("subid-r5"));
    r.subscribe(vec![Filter::new(topic.clone(), Q5::AtLeastOnce)], Some(11));
    r.subscribe(
        vec![Filter::new(format!("{topic}/#"), Q5::AtLeastOnce)],
        Some(12),
    );
    let paho = PyProc::start(
        "v5.py",
        &["sub", "--port", &port, "--topic", &topic, "--subid", "99"],
    );
    let mut p = Raw::open5(broker.addr, &unique("subid-peers-p"), 0);
    p.publish5(&topic, b"hello", QoS::AtLeastOnce, 1, false, plain());
    let got = r.messages(1, WAIT);
    let mut ids = got[0]
        .properties
        .as_ref()
        .map(|p| p.subscription_identifiers.clone())
        .unwrap_or_default();
    ids.sort_unstable();
    // "topic/#" matches "topic" too (MQTT-4.7.1-2).
    assert_eq!(ids, [11, 12]);
    assert_eq!(paho.finish(WAIT), [format!("MSG|{topic}|hello|99|0")]);
}

#[test]
fn invalid_topic_filters_get_suback_0x8f_mqtt_3_8_4_6() {
    let broker = Broker::start();
    let mut c = Raw::open5(broker.addr, &unique("badfilter"), 0);
    let good = unique("good");
    let filters = [
        ("a/#/b", 0x8F),
        ("a+", 0x8F),
        ("", 0x8F),
        ("$share/g", 0x8F),
        ("$share//t", 0x8F),
        (good.as_str(), 0x01),
        ("a/#", 0x01),
    ];
    let list: Vec<(&str, SubscriptionOptions)> = filters
        .iter()
        .map(|(f, _)| (*f, opts(QoS::AtLeastOnce)))
        .collect();
    let want: Vec<u8> = filters.iter().map(|(_, c)| *c).collect();
    assert_eq!(c.subscribe5(1, &list, None), want);
    // The valid ones in the same SUBSCRIBE are in force.
    let mut p = Raw::open5(broker.addr, &unique("badfilter-p"), 0);
    assert_eq!(
        p.publish5(&good, b"ok", QoS::AtLeastOnce, 1, false, plain()),
        0
    );
    assert_eq!(c.recv_pub5(WAIT).text(), "ok");
}

#[test]
fn unsubscribe_without_a_subscription_gets_unsuback_0x11_mqtt_3_11_3_2() {
    let broker = Broker::start();
    let mut c = Raw::open5(broker.addr, &unique("unsub"), 0);
    let t = unique("unsub/t");
    c.subscribe5(1, &[(&t, opts(QoS::AtMostOnce))], None);
    c.send(&unsubscribe5_bytes(2, &[&t, "never/subscribed", &t]))
        .expect("UNSUBSCRIBE");
    match c.recv5(WAIT) {
        Ok(In5::UnsubAck { id, reasons }) => {
            assert_eq!((id, reasons), (2, vec![0x00, 0x11, 0x11]))
        }
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
    // It is really gone.
    let mut p = Raw::open5(broker.addr, &unique("unsub-p"), 0);
    assert_eq!(
        p.publish5(&t, b"x", QoS::AtLeastOnce, 1, false, plain()),
        0x10
    );
}

#[test]
fn no_local_on_a_shared_subscription_gets_disconnect_0x82_mqtt_3_8_3_4() {
    let broker = Broker::start();
    let mut c = Raw::open5(broker.addr, &unique("share-nl"), 0);
    let f = format!("$share/g/{}", unique("t"));
    let nl = with(QoS::AtMostOnce, |o| o.no_local = true);
    c.send(&subscribe5_bytes(1, &[(&f, nl)], None))
        .expect("SUBSCRIBE");
    let (reason, got) = c.expect_disconnect5(WAIT);
    assert_eq!(reason, Some(0x82), "{got:?}");
    // The same filter without No Local is accepted.
    let mut d = Raw::open5(broker.addr, &unique("share-ok"), 0);
    assert_eq!(
        d.subscribe5(1, &[(&f, opts(QoS::AtMostOnce))], None),
        [0x00]
    );
}
