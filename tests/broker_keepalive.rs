//! Keepalive (MQTT-3.1.2-24): a silent client is disconnected after one and a half times its
//! keepalive and its will is published; PINGREQ keeps it alive.

mod common;

use std::time::{Duration, Instant};

use common::*;
use roost::packets::QoS;

#[test]
fn silent_client_is_disconnected_after_1_5_keepalive_and_its_will_published_mqtt_3_1_2_24() {
    let broker = Broker::start();
    let topic = unique("ka-will");
    let mut sub = MosqSub::start(broker.port(), 10, &["-t", &topic, "-q", "1"]);
    let cid = unique("silent");
    let opts =
        ConnectOpts::v311(&cid)
            .keep_alive(1)
            .will(&topic, b"timed out", QoS::AtLeastOnce, false);
    let (mut c, _) = Raw::open(broker.addr, &opts);
    let start = Instant::now();
    c.expect_closed(Duration::from_secs(5));
    let t = start.elapsed();
    assert!(t > Duration::from_millis(1400), "closed too early: {t:?}");
    assert!(t < Duration::from_secs(3), "closed too late: {t:?}");
    let got = sub.wait_for(1, WAIT).to_vec();
    assert_eq!((got[0].payload.as_str(), got[0].qos), ("timed out", 1));
}

#[test]
fn pingreq_keeps_a_client_alive() {
    let broker = Broker::start();
    let cid = unique("pinger");
    let opts = ConnectOpts::v311(&cid).keep_alive(1);
    let (mut c, _) = Raw::open(broker.addr, &opts);
    let start = Instant::now();
    // 3.5 s is more than twice 1.5 x keepalive; a PINGREQ every 500 ms.
    while start.elapsed() < Duration::from_millis(3500) {
        c.send(&PINGREQ).expect("still open");
        assert_eq!(c.recv(Duration::from_secs(2)), Ok(Pkt::PingResp));
        c.expect_silence(Duration::from_millis(500));
    }
}

#[test]
fn rumqttc_with_keepalive_stays_connected_and_receives() {
    let broker = Broker::start();
    let topic = unique("ka-r");
    let mut opts = rumqttc::MqttOptions::new(unique("ka-r"), "127.0.0.1", broker.port());
    opts.set_keep_alive(Duration::from_secs(1));
    let sub = Rumq::with_options(opts);
    sub.subscribe(&topic, rumqttc::QoS::AtLeastOnce);
    // rumqttc pings on its own; after 3 s of idling the connection still delivers.
    assert!(
        !sub.closed_within(Duration::from_secs(3)),
        "the broker dropped a pinging client"
    );
    mosquitto_pub(broker.port(), &["-t", &topic, "-q", "1", "-m", "alive"]);
    assert_eq!(sub.messages(1, WAIT)[0].payload.as_ref(), b"alive");
}
