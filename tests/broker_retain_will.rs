//! Retained messages (MQTT-3.3.1-5..11) and wills (MQTT-3.1.2-8..17) over real sockets, with
//! mosquitto_pub/mosquitto_sub, paho and raw clients.

mod common;

use std::time::Duration;

use common::*;
use roost::packets::{QoS, Version};

const V3: Version = Version::V3_1_1;

#[test]
fn retained_message_is_stored_replaced_and_deleted_mqtt_3_3_1_5_to_11() {
    let broker = Broker::start();
    let port = broker.port();
    let base = unique("ret");
    let topic = format!("{base}/a/b");
    mosquitto_pub(port, &["-t", &topic, "-r", "-q", "1", "-m", "first"]);
    mosquitto_pub(port, &["-t", &topic, "-r", "-q", "1", "-m", "second"]);

    // MQTT-3.3.1-6/8: a new subscription gets the latest retained message with RETAIN=1, also
    // through a wildcard.
    for filter in [topic.clone(), format!("{base}/#"), format!("{base}/+/b")] {
        let mut sub = MosqSub::start(port, 10, &["-t", &filter, "-q", "1"]);
        let got = sub.wait_for(1, WAIT).to_vec();
        assert_eq!(got[0].payload, "second", "{filter}");
        assert!(got[0].retain, "MQTT-3.3.1-8 via {filter}");
        assert_eq!(got[0].qos, 1);
        assert_eq!(sub.settle(QUIET).len(), 1, "only the latest is kept");
    }

    // MQTT-3.3.1-9: a live publish to an existing subscriber has RETAIN=0.
    let mut live = MosqSub::start(port, 10, &["-t", &topic, "-q", "1"]);
    live.wait_for(1, WAIT);
    mosquitto_pub(port, &["-t", &topic, "-r", "-q", "1", "-m", "third"]);
    let got = live.wait_for(2, WAIT).to_vec();
    assert_eq!((got[1].payload.as_str(), got[1].retain), ("third", false));

    // MQTT-3.3.1-10/11: an empty retained payload deletes, and is itself delivered as a normal
    // message to existing subscribers, but not stored.
    mosquitto_pub(port, &["-t", &topic, "-r", "-q", "1", "-n"]);
    let got = live.wait_for(3, WAIT).to_vec();
    assert_eq!((got[2].payload.as_str(), got[2].retain), ("", false));

    let (mut fresh, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ret-fresh")));
    let marker = unique("ret-marker");
    fresh.subscribe(
        1,
        &[
            (&format!("{base}/#"), QoS::AtLeastOnce),
            (&marker, QoS::AtMostOnce),
        ],
    );
    let (mut p, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ret-pub")));
    p.publish(&marker, b"end", QoS::AtMostOnce, 0, false);
    let m = fresh.recv_publish(WAIT);
    assert_eq!(
        m.topic, marker,
        "the deleted retained message was still delivered: {m:?}"
    );
}

#[test]
fn retained_qos0_publish_replaces_too_and_paho_sees_retain_flag() {
    let broker = Broker::start();
    let topic = unique("ret0");
    let port = broker.port().to_string();
    let out = python(
        "pub.py",
        &[
            "--port", &port, "--topic", &topic, "--qos", "1", "--retain", "--prefix", "p",
        ],
    );
    assert_eq!(out, ["DONE"]);
    // A live subscriber sees the QoS 0 publish only after the broker stored it as retained.
    let (mut live, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("ret0-live")));
    live.subscribe(1, &[(&topic, QoS::AtMostOnce)]);
    assert_eq!(
        live.recv_publish(WAIT).text(),
        "p0",
        "the retained QoS 1 message"
    );
    mosquitto_pub(broker.port(), &["-t", &topic, "-r", "-q", "0", "-m", "q0"]);
    assert_eq!(live.recv_publish(WAIT).text(), "q0");
    let sub = PySub::start(&[
        "--port", &port, "--topic", &topic, "--qos", "2", "--count", "1",
    ]);
    assert_eq!(sub.finish(WAIT), [format!("MSG|{topic}|0|1|q0|")]);
}

/// A 3.1.1 subscriber of `topic` at QoS 1.
fn will_watcher(broker: &Broker, topic: &str) -> Raw {
    let (mut w, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("watch")));
    w.subscribe(1, &[(topic, QoS::AtLeastOnce)]);
    w
}

#[test]
fn will_is_published_when_the_socket_closes_without_disconnect_mqtt_3_1_2_8() {
    let broker = Broker::start();
    let topic = unique("will-close");
    let mut watcher = will_watcher(&broker, &topic);
    let cid = unique("dies");
    let opts = ConnectOpts::v311(&cid).will(&topic, b"gone", QoS::AtLeastOnce, false);
    let (c, _) = Raw::open(broker.addr, &opts);
    drop(c);
    let m = watcher.recv_publish(WAIT);
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice(), m.qos),
        (topic.as_str(), &b"gone"[..], 1)
    );
    assert!(!m.retain);
}

#[test]
fn no_will_after_a_clean_disconnect_mqtt_3_1_2_10() {
    let broker = Broker::start();
    let topic = unique("will-clean");
    let mut watcher = will_watcher(&broker, &topic);
    let cid = unique("polite");
    let opts = ConnectOpts::v311(&cid).will(&topic, b"polite", QoS::AtLeastOnce, false);
    let (c, _) = Raw::open(broker.addr, &opts);
    c.disconnect();
    // A second client's will bounds the wait: if "polite" were sent it would come first.
    let cid = unique("rude");
    let opts = ConnectOpts::v311(&cid).will(&topic, b"rude", QoS::AtLeastOnce, false);
    let (c, _) = Raw::open(broker.addr, &opts);
    drop(c);
    let m = watcher.recv_publish(WAIT);
    assert_eq!(
        m.text(),
        "rude",
        "MQTT-3.1.2-10: the will was published after DISCONNECT"
    );
}

#[test]
fn will_is_published_on_a_protocol_violation() {
    let broker = Broker::start();
    let topic = unique("will-bad");
    let mut watcher = will_watcher(&broker, &topic);
    let cid = unique("bad");
    let opts = ConnectOpts::v311(&cid).will(&topic, b"violated", QoS::AtMostOnce, false);
    let (mut c, _) = Raw::open(broker.addr, &opts);
    // A PUBLISH topic with a wildcard (MQTT-3.3.2-2).
    c.send(&publish_bytes(
        V3,
        "a/+",
        b"x",
        QoS::AtMostOnce,
        0,
        false,
        false,
    ))
    .unwrap();
    c.expect_closed(WAIT);
    let m = watcher.recv_publish(WAIT);
    assert_eq!((m.text().as_str(), m.qos), ("violated", 0));
}

#[test]
fn will_is_published_on_takeover_across_workers() {
    let broker = Broker::workers(4);
    let topic = unique("will-take");
    let mut watcher = will_watcher(&broker, &topic);
    let id = unique("taken");
    let opts = ConnectOpts::v311(&id).will(&topic, b"taken over", QoS::AtLeastOnce, false);
    let (mut old, _) = Raw::open(broker.addr, &opts);
    let (_new, _) = Raw::open(broker.addr, &ConnectOpts::v311(&id));
    old.expect_closed(WAIT);
    let m = watcher.recv_publish(WAIT);
    assert_eq!(m.text(), "taken over");
}

#[test]
fn will_qos_and_retain_are_honoured_mqtt_3_1_2_14_to_17() {
    let broker = Broker::start();
    let topic = unique("will-ret");
    let mut watcher = will_watcher(&broker, &topic);
    let cid = unique("ret-will");
    let opts = ConnectOpts::v311(&cid).will(&topic, b"last", QoS::ExactlyOnce, true);
    let (c, _) = Raw::open(broker.addr, &opts);
    drop(c);
    // The live subscriber granted QoS 1: the QoS 2 will arrives at QoS 1, RETAIN=0.
    let m = watcher.recv_publish(WAIT);
    assert_eq!((m.text().as_str(), m.qos, m.retain), ("last", 1, false));
    watcher.ack(&m);
    // A later subscriber at QoS 2 gets the retained will with RETAIN=1 at QoS 2.
    let (mut late, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("late")));
    late.subscribe(1, &[(&topic, QoS::ExactlyOnce)]);
    let got = late.recv_acked(1, Duration::from_secs(5));
    assert_eq!(
        (got[0].text().as_str(), got[0].qos, got[0].retain),
        ("last", 2, true)
    );
}
