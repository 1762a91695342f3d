//! MQTT 5.0 interoperability basics: rumqttc v5 and paho in MQTTv5 mode talking to 3.1.1 peers
//! through roost, and User Properties forwarded in order (MQTT-3.3.2-17/18).

mod common;

use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rumqttc::v5::mqttbytes::v5::{Packet as P5, PublishProperties};
use rumqttc::v5::mqttbytes::QoS as Q5;
use rumqttc::v5::{Client as Client5, Event as Event5, MqttOptions as Options5};

/// A rumqttc v5 client with its event loop on a thread that ends when the client's requests
/// channel closes or the connection fails.
struct V5 {
    client: Client5,
    events: Receiver<Result<Event5, String>>,
}

impl V5 {
    fn connect(port: u16, id: &str) -> V5 {
        let mut opts = Options5::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut connection) = Client5::new(opts, 1000);
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || loop {
            match connection.recv_timeout(Duration::from_millis(200)) {
                Ok(Ok(e)) => {
                    if tx.send(Ok(e)).is_err() {
                        return;
                    }
                }
                Ok(Err(e)) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
                Err(rumqttc::v5::RecvTimeoutError::Timeout) => {
                    // Ends the thread once the test dropped its receiver.
                    if tx.send(Err("tick".into())).is_err() {
                        return;
                    }
                }
                Err(rumqttc::v5::RecvTimeoutError::Disconnected) => return,
            }
        });
        let v = V5 { client, events: rx };
        v.wait("CONNACK", |p| matches!(p, P5::ConnAck(_)));
        v
    }

    fn wait(&self, what: &str, f: impl Fn(&P5) -> bool) -> P5 {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(Event5::Incoming(p))) if f(&p) => return p,
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e == "tick" => {}
                Ok(Err(e)) => panic!("rumqttc v5: {e} while waiting for {what}"),
                Err(_) => panic!("rumqttc v5: no {what} within {WAIT:?}"),
            }
        }
    }

    fn messages(&self, n: usize) -> Vec<rumqttc::v5::mqttbytes::v5::Publish> {
        (0..n)
            .map(|_| {
                let packet = self.wait("PUBLISH", |p| matches!(p, P5::Publish(_)));
                let P5::Publish(p) = packet else {
                    panic!("expected PUBLISH, got {packet:?}")
                };
                p
            })
            .collect()
    }
}

#[test]
fn v5_rumqttc_publisher_reaches_v311_mosquitto_sub() {
    let broker = Broker::start();
    let topic = unique("v5to3");
    let mut sub = MosqSub::start(
        broker.port(),
        10,
        &["-t", &topic, "-q", "1", "-V", "mqttv311"],
    );
    let p = V5::connect(broker.port(), &unique("v5pub"));
    let props = PublishProperties {
        user_properties: vec![("k".into(), "v".into())],
        content_type: Some("text/plain".into()),
        ..PublishProperties::default()
    };
    for i in 0..3 {
        p.client
            .publish_with_properties(
                topic.clone(),
                Q5::AtLeastOnce,
                false,
                format!("v5-{i}"),
                props.clone(),
            )
            .unwrap();
    }
    let got: Vec<String> = sub
        .wait_for(3, WAIT)
        .iter()
        .map(|m| m.payload.clone())
        .collect();
    assert_eq!(got, ["v5-0", "v5-1", "v5-2"]);
}

#[test]
fn v311_publisher_reaches_v5_subscribers() {
    let broker = Broker::start();
    let topic = unique("3tov5");
    let port = broker.port().to_string();
    let sub5 = V5::connect(broker.port(), &unique("v5sub"));
    sub5.client
        .subscribe(topic.clone(), Q5::ExactlyOnce)
        .unwrap();
    sub5.wait("SUBACK", |p| matches!(p, P5::SubAck(_)));
    let paho5 = PySub::start(&[
        "--port", &port, "--topic", &topic, "--qos", "2", "--count", "2", "--v5",
    ]);
    let r = Rumq::connect(broker.port(), &unique("v3pub"));
    r.publish(&topic, rumqttc::QoS::ExactlyOnce, false, "a");
    r.publish(&topic, rumqttc::QoS::AtLeastOnce, false, "b");
    r.wait_acks(2);
    let got = sub5.messages(2);
    let seen: Vec<(&[u8], Q5)> = got.iter().map(|p| (p.payload.as_ref(), p.qos)).collect();
    assert_eq!(
        seen,
        [(&b"a"[..], Q5::ExactlyOnce), (&b"b"[..], Q5::AtLeastOnce)]
    );
    // paho hands a QoS 2 message to the application only when PUBREL arrives, so the QoS 1
    // message may reach its callback first: compare without order.
    let mut paho = paho5.finish(WAIT);
    paho.sort();
    assert_eq!(
        paho,
        [format!("MSG|{topic}|1|0|b|"), format!("MSG|{topic}|2|0|a|")]
    );
}

#[test]
fn v5_user_properties_arrive_in_order_mqtt_3_3_2_18() {
    let broker = Broker::start();
    let topic = unique("user");
    let port = broker.port().to_string();
    // rumqttc v5 -> paho v5.
    let paho5 = PySub::start(&[
        "--port", &port, "--topic", &topic, "--qos", "1", "--count", "1", "--v5",
    ]);
    let p = V5::connect(broker.port(), &unique("user-pub"));
    let pairs = vec![
        ("z".to_owned(), "1".to_owned()),
        ("a".to_owned(), "2".to_owned()),
        ("z".to_owned(), "3".to_owned()),
    ];
    let props = PublishProperties {
        user_properties: pairs.clone(),
        ..PublishProperties::default()
    };
    p.client
        .publish_with_properties(topic.clone(), Q5::AtLeastOnce, false, "with-props", props)
        .unwrap();
    assert_eq!(
        paho5.finish(WAIT),
        [format!("MSG|{topic}|1|0|with-props|z=1;a=2;z=3")]
    );

    // paho v5 -> rumqttc v5 and a raw v5 client.
    let sub5 = V5::connect(broker.port(), &unique("user-sub"));
    sub5.client
        .subscribe(topic.clone(), Q5::AtLeastOnce)
        .unwrap();
    sub5.wait("SUBACK", |p| matches!(p, P5::SubAck(_)));
    let (mut raw5, _) = Raw::open(broker.addr, &ConnectOpts::v5(&unique("user-raw")));
    raw5.subscribe(1, &[(&topic, roost::packets::QoS::AtLeastOnce)]);
    let out = python(
        "pub.py",
        &[
            "--port", &port, "--topic", &topic, "--qos", "1", "--count", "3", "--v5", "--user",
            "b=x", "--user", "a=y",
        ],
    );
    assert_eq!(out, ["DONE"]);
    let got = sub5.messages(3);
    let raw_got = raw5.recv_acked(3, WAIT);
    for i in 0..3 {
        let expected = vec![
            ("b".to_owned(), "x".to_owned()),
            ("a".to_owned(), "y".to_owned()),
            ("seq".to_owned(), i.to_string()),
        ];
        let user = got[i]
            .properties
            .as_ref()
            .map(|p| p.user_properties.clone())
            .unwrap_or_default();
        assert_eq!(user, expected, "rumqttc v5, message {i}");
        assert_eq!(raw_got[i].user, expected, "raw v5, message {i}");
        assert_eq!(raw_got[i].text(), format!("m{i}"));
    }
    // A 3.1.1 subscriber gets the same messages without properties.
    let mut v3 = MosqSub::start(broker.port(), 10, &["-t", &topic, "-q", "1"]);
    mosquitto_pub(
        broker.port(),
        &[
            "-t",
            &topic,
            "-q",
            "1",
            "-m",
            "plain",
            "-V",
            "mqttv5",
            "-D",
            "publish",
            "user-property",
            "k",
            "v",
        ],
    );
    assert_eq!(v3.wait_for(1, WAIT)[0].payload, "plain");
}
