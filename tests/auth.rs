//! Authentication and authorization over real sockets: the hook an embedding program gives
//! [`roost::Broker`] refusing CONNECTs (3.1.1 return codes 4 and 5, 5.0 reasons 0x86, 0x87,
//! 0x8A, 0x8C), the MQTT 5.0 enhanced-authentication exchange (section 4.12: AUTH continue,
//! success in CONNACK, refusal, protocol errors and re-authentication), and publishes,
//! subscriptions and wills it does not authorize (PUBACK/PUBREC/SUBACK 0x87).
//!
//! The broker runs in this process through the embedding API, on `127.0.0.1:0`; the peers are
//! rumqttc (3.1.1 and 5.0), mosquitto_pub/mosquitto_sub, paho-mqtt and raw bytes. The enhanced
//! exchange uses rumqttc's 5.0 codec (independent of roost's) for CONNECT, CONNACK and the rest,
//! and AUTH packets built and parsed by hand below, as rumqttc can neither build nor read them.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use roost::auth::{AuthHook, Credentials, Exchange, Identity, Refusal, Step};
use roost::packets::{Connect, ConnectProperties, Packet, QoS, Version, Will};
use rumqttc::v5::mqttbytes::v5 as m5;

use common::v5::R5;
use common::*;

// ---- The hook under test ----------------------------------------------------------------------

/// alice/wonderland may connect; mallory is not authorized, eve is banned, any other user name
/// has a bad password; clients without a user name are anonymous and allowed. Methods:
/// `ECHO-OK` succeeds at once, `CHALLENGE` is a two-step challenge and response. Only alice may
/// publish or subscribe under `secret/`.
struct TestAuth {
    nonces: AtomicU32,
}

impl AuthHook for TestAuth {
    fn check(&self, c: &Credentials<'_>) -> Result<(), Refusal> {
        match (c.username, c.password) {
            (None, _) => Ok(()),
            (Some("alice"), Some(b"wonderland")) => Ok(()),
            (Some("mallory"), _) => Err(Refusal::NotAuthorized),
            (Some("eve"), _) => Err(Refusal::Banned),
            _ => Err(Refusal::BadUserNameOrPassword),
        }
    }

    fn start(&self, method: &str, c: &Credentials<'_>) -> Option<Box<dyn Exchange>> {
        match method {
            "ECHO-OK" => Some(Box::new(EchoOk {
                client: c.client_id.to_owned(),
            })),
            "CHALLENGE" => {
                let n = self.nonces.fetch_add(1, Ordering::Relaxed);
                Some(Box::new(Challenge {
                    nonce: format!("nonce-{n}"),
                    asked: false,
                }))
            }
            _ => None,
        }
    }

    fn may_publish(&self, who: &Identity<'_>, topic: &str, _qos: QoS, _retain: bool) -> bool {
        !topic.starts_with("secret/") || who.username == Some("alice")
    }

    fn may_subscribe(&self, who: &Identity<'_>, filter: &str, _qos: QoS) -> bool {
        !filter.starts_with("secret/") || who.username == Some("alice")
    }
}

/// Succeeds on the first step with "welcome <client id>".
struct EchoOk {
    client: String,
}

impl Exchange for EchoOk {
    fn step(&mut self, _data: Option<&[u8]>) -> Step {
        Step::Success(Some(format!("welcome {}", self.client).into_bytes()))
    }
}

/// First step: the client must say "hello"; roost answers with a nonce. Second step: the
/// client must send the nonce reversed.
struct Challenge {
    nonce: String,
    asked: bool,
}

impl Exchange for Challenge {
    fn step(&mut self, data: Option<&[u8]>) -> Step {
        if !self.asked {
            self.asked = true;
            return match data {
                Some(b"hello") => Step::Continue(self.nonce.clone().into_bytes()),
                _ => Step::Refuse(Refusal::NotAuthorized),
            };
        }
        if data == Some(reversed(self.nonce.as_bytes()).as_slice()) {
            Step::Success(Some(b"verified".to_vec()))
        } else {
            Step::Refuse(Refusal::NotAuthorized)
        }
    }
}

fn reversed(b: &[u8]) -> Vec<u8> {
    b.iter().rev().copied().collect()
}

/// A broker in this process with [`TestAuth`], two workers and `vars` on top.
fn broker(vars: &[(&str, &str)]) -> roost::Broker {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    roost::Broker::start(
        |name| match name {
            "ROOST_LISTEN" => Some("127.0.0.1:0".into()),
            "ROOST_WORKERS" if !vars.iter().any(|(k, _)| k == name) => Some("2".into()),
            _ => vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        },
        Arc::new(TestAuth {
            nonces: AtomicU32::new(0),
        }),
    )
    .expect("start roost in process")
}

// ---- Raw CONNECT with credentials -----------------------------------------------------------

/// A clean CONNECT of `version` with `user`/`password` and, in 5.0, an Authentication Method.
fn connect_bytes(
    version: Version,
    id: &str,
    user: Option<&str>,
    password: Option<&[u8]>,
    method: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let c = Connect {
        protocol: version,
        clean_start: true,
        keep_alive: 30,
        client_id: id,
        will: None,
        username: user,
        password,
        properties: ConnectProperties {
            authentication_method: method.map(|m| m.0),
            authentication_data: method.map(|m| m.1),
            ..ConnectProperties::default()
        },
    };
    encode(&Packet::Connect(c), version)
}

/// Sends a CONNECT and returns the CONNACK code, asserting the connection is then closed when
/// the code is a refusal (3.1.1 MQTT-3.2.2-5, 5.0 MQTT-3.2.2-7) and open otherwise.
fn raw_connack(addr: SocketAddr, version: Version, user: Option<&str>, pass: &[u8]) -> u8 {
    let mut c = Raw::connect(addr);
    c.version = version;
    let id = unique("raw");
    c.send(&connect_bytes(version, &id, user, Some(pass), None))
        .unwrap();
    let got = c.recv(WAIT).expect("CONNACK");
    let Pkt::ConnAck {
        session_present,
        code,
    } = got
    else {
        panic!("expected CONNACK, got {got:?}");
    };
    if code != 0 {
        // 3.1.1 MQTT-3.2.2-4 / 5.0 MQTT-3.2.2-6: no session present with a refusal.
        assert!(!session_present);
        assert_eq!(c.expect_closed(WAIT), vec![], "closed after refusal");
    } else {
        c.send(&PINGREQ).unwrap();
        assert_eq!(c.recv(WAIT), Ok(Pkt::PingResp));
    }
    code
}

#[test]
fn credentials_get_3_1_1_return_codes_0_4_5_and_5_0_reasons_0x86_0x87_0x8a() {
    let b = broker(&[]);
    let addr = b.local_addr();
    // Accepted; bad password; mallory not authorized; eve banned. 3.1.1 table 3.1: 4 = bad
    // user name or password, 5 = not authorized; 0x8A Banned has no 3.1.1 code of its own, so
    // it gets the nearest, 5.
    let logins: [(&str, &[u8]); 4] = [
        ("alice", b"wonderland"),
        ("alice", b"wrong"),
        ("mallory", b"x"),
        ("eve", b"x"),
    ];
    for (v, codes) in [
        (Version::V3_1_1, [0, 4, 5, 5]),
        (Version::V5, [0, 0x86, 0x87, 0x8A]),
    ] {
        for ((user, pass), code) in logins.iter().zip(codes) {
            assert_eq!(raw_connack(addr, v, Some(user), pass), code, "{v:?} {user}");
        }
    }
}

#[test]
fn refused_connect_takes_over_nothing() {
    let b = broker(&[]);
    let addr = b.local_addr();
    let id = unique("victim");
    let mut alice = Raw::connect(addr);
    alice
        .send(&connect_bytes(
            Version::V3_1_1,
            &id,
            Some("alice"),
            Some(b"wonderland"),
            None,
        ))
        .unwrap();
    assert!(matches!(alice.recv(WAIT), Ok(Pkt::ConnAck { code: 0, .. })));
    // The same client id with a bad password is refused before the session is looked at
    // (MQTT-3.1.4-3 applies to accepted CONNECTs only): alice stays connected.
    let mut imposter = Raw::connect(addr);
    imposter
        .send(&connect_bytes(
            Version::V3_1_1,
            &id,
            Some("alice"),
            Some(b"guess"),
            None,
        ))
        .unwrap();
    assert!(matches!(
        imposter.recv(WAIT),
        Ok(Pkt::ConnAck { code: 4, .. })
    ));
    alice.send(&PINGREQ).unwrap();
    assert_eq!(alice.recv(WAIT), Ok(Pkt::PingResp));
}

/// Connects rumqttc 3.1.1 with `user`/`pass`; the CONNACK code or the error as text.
fn rumqttc_v3(port: u16, user: &str, pass: &str) -> Result<rumqttc::ConnectReturnCode, String> {
    let mut opts = rumqttc::MqttOptions::new(unique("rq"), "127.0.0.1", port);
    opts.set_credentials(user, pass);
    let (_client, mut connection) = rumqttc::Client::new(opts, 10);
    let deadline = after(WAIT);
    while Instant::now() < deadline {
        match connection.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(c)))) => return Ok(c.code),
            Ok(Ok(_)) | Err(rumqttc::RecvTimeoutError::Timeout) => {}
            Ok(Err(rumqttc::ConnectionError::ConnectionRefused(code))) => return Ok(code),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(rumqttc::RecvTimeoutError::Disconnected) => return Err("gone".into()),
        }
    }
    Err("no CONNACK".into())
}

#[test]
fn rumqttc_v3_accepted_and_refused() {
    let b = broker(&[]);
    let port = b.local_addr().port();
    use rumqttc::ConnectReturnCode as C;
    assert_eq!(rumqttc_v3(port, "alice", "wonderland"), Ok(C::Success));
    assert_eq!(
        rumqttc_v3(port, "alice", "nope"),
        Ok(C::BadUserNamePassword)
    );
    assert_eq!(rumqttc_v3(port, "mallory", "x"), Ok(C::NotAuthorized));
}

#[test]
fn rumqttc_v5_accepted_and_refused() {
    let b = broker(&[]);
    let port = b.local_addr().port();
    let ok = R5::with(port, &unique("r5"), |o| {
        o.set_credentials("alice", "wonderland");
    });
    assert_eq!(
        ok.connack.as_ref().map(|c| c.code),
        Some(m5::ConnectReturnCode::Success)
    );
    // MQTT-4.12.0-6: no Authentication Method in CONNACK when CONNECT had none.
    let props = ok.connack.as_ref().and_then(|c| c.properties.clone());
    assert_eq!(props.and_then(|p| p.authentication_method), None);
    for (user, want) in [
        ("alice-typo", m5::ConnectReturnCode::BadUserNamePassword),
        ("mallory", m5::ConnectReturnCode::NotAuthorized),
        ("eve", m5::ConnectReturnCode::Banned),
    ] {
        let mut opts = rumqttc::v5::MqttOptions::new(unique("r5"), "127.0.0.1", port);
        opts.set_credentials(user, "x");
        let (_c, mut connection) = rumqttc::v5::Client::new(opts, 10);
        let got = connection
            .recv_timeout(WAIT)
            .expect("an event within the wait");
        match got {
            Err(rumqttc::v5::ConnectionError::ConnectionRefused(code)) => {
                assert_eq!(code, want, "user {user}")
            }
            other => panic!("user {user}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn mosquitto_clients_accepted_and_refused() {
    let b = broker(&[]);
    let port = b.local_addr().port();
    let topic = unique("auth/mosq");
    let mut sub = MosqSub::start(
        port,
        10,
        &[
            "-u",
            "alice",
            "-P",
            "wonderland",
            "-t",
            &topic,
            "-q",
            "1",
            "-C",
            "1",
        ],
    );
    mosquitto_pub(
        port,
        &[
            "-u",
            "alice",
            "-P",
            "wonderland",
            "-t",
            &topic,
            "-q",
            "1",
            "-m",
            "let in",
        ],
    );
    let got = sub.wait_for(1, WAIT);
    assert_eq!(got.first().map(|m| m.payload.as_str()), Some("let in"));

    for (user, words) in [
        ("alice", "bad user name or password"),
        ("mallory", "not authori"),
    ] {
        let out = Command::new("timeout")
            .args(["10", "mosquitto_pub", "-h", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .args(["-u", user, "-P", "wrong", "-t", &topic, "-m", "x"])
            .stdin(Stdio::null())
            .output()
            .expect("run mosquitto_pub");
        let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(!out.status.success(), "{user} must be refused");
        assert!(
            stderr.contains(words),
            "{user}: expected {words:?} in {stderr:?}"
        );
    }
}

#[test]
fn paho_v3_and_v5_accepted_and_refused() {
    let b = broker(&[]);
    let port = b.local_addr().port().to_string();
    let run = |version: &str, user: &str, pass: &str| {
        python(
            "auth.py",
            &[
                "--port",
                &port,
                "--version",
                version,
                "--user",
                user,
                "--password",
                pass,
            ],
        )
    };
    assert_eq!(run("3", "alice", "wonderland"), ["CONNACK|0|-|-", "PUBACK"]);
    assert_eq!(run("5", "alice", "wonderland"), ["CONNACK|0|-|-", "PUBACK"]);
    // paho reports 3.1.1 return codes 4 and 5 as the 5.0 reasons 0x86 and 0x87.
    assert_eq!(run("3", "alice", "no"), ["CONNACK|134|-|-"]);
    assert_eq!(run("3", "mallory", "no"), ["CONNACK|135|-|-"]);
    assert_eq!(run("5", "alice", "no"), ["CONNACK|134|-|-"]);
    assert_eq!(run("5", "mallory", "no"), ["CONNACK|135|-|-"]);
    assert_eq!(run("5", "eve", "no"), ["CONNACK|138|-|-"]);
}

// ---- Enhanced authentication (MQTT 5.0 section 4.12) -------------------------------------------

/// A 5.0 client that writes packets with rumqttc's encoder and reads AUTH by hand.
struct Ex {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Set once roost closed the connection (end of stream or a reset).
    eof: bool,
}

/// A packet from roost as [`Ex`] sees it.
#[derive(Debug, Clone, PartialEq)]
enum In {
    Auth {
        reason: u8,
        method: Option<String>,
        data: Option<Vec<u8>>,
    },
    /// A DISCONNECT in its short form: the reason code.
    Disconnect(u8),
    Other(Box<m5::Packet>),
}

impl In {
    /// The rumqttc packet, or this if it is not one.
    fn unbox(self) -> Result<m5::Packet, In> {
        match self {
            In::Other(p) => Ok(*p),
            other => Err(other),
        }
    }
}

impl Ex {
    fn open(addr: SocketAddr) -> Ex {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        Ex {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    fn send(&mut self, p: m5::Packet) {
        let mut out = BytesMut::new();
        p.write(&mut out, None).expect("rumqttc encodes");
        let _ = self.stream.write_all(&out);
    }

    /// CONNECT with `method` and `data` (rumqttc's encoder).
    fn connect(&mut self, id: &str, method: &str, data: &[u8]) {
        let mut props = m5::ConnectProperties::new();
        props.authentication_method = Some(method.into());
        props.authentication_data = Some(data.to_vec().into());
        let c = m5::Connect {
            keep_alive: 30,
            client_id: id.into(),
            clean_start: true,
            properties: Some(props),
        };
        self.send(m5::Packet::Connect(c, None, None));
    }

    /// AUTH with `reason`, `method` and `data`, encoded by hand (section 3.15).
    fn auth(&mut self, reason: u8, method: &str, data: &[u8]) {
        let mut props = vec![0x15];
        props.extend_from_slice(&(method.len() as u16).to_be_bytes());
        props.extend_from_slice(method.as_bytes());
        props.push(0x16);
        props.extend_from_slice(&(data.len() as u16).to_be_bytes());
        props.extend_from_slice(data);
        assert!(
            props.len() < 128 && props.len() + 2 < 128,
            "short AUTH only"
        );
        let mut p = vec![0xF0, props.len() as u8 + 2, reason, props.len() as u8];
        p.extend_from_slice(&props);
        let _ = self.stream.write_all(&p);
    }

    /// The next packet; `None` when the connection closed or nothing came within `within`.
    fn recv(&mut self, within: Duration) -> Option<In> {
        let deadline = after(within);
        loop {
            if let Some(p) = self.take() {
                return Some(p);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.eof {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(n) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Ok(_) | Err(_) => self.eof = true,
            }
        }
    }

    /// One whole packet out of the buffer, if there is one.
    fn take(&mut self) -> Option<In> {
        let (len, header) = remaining_length(&self.buf)?;
        if self.buf.len() < header + len {
            return None;
        }
        let frame: Vec<u8> = self.buf.drain(..header + len).collect();
        match frame[0] {
            0xF0 => return Some(parse_auth(&frame[header..])),
            // rumqttc cannot read a DISCONNECT without properties (allowed by section
            // 3.14.2.2.1), so its reason is taken here.
            0xE0 if len < 2 => return Some(In::Disconnect(frame.get(2).copied().unwrap_or(0))),
            _ => {}
        }
        let mut b = BytesMut::from(&frame[..]);
        let p = m5::Packet::read(&mut b, None)
            .unwrap_or_else(|e| panic!("rumqttc cannot decode {frame:02x?}: {e:?}"));
        Some(In::Other(Box::new(p)))
    }

    /// Asserts the connection is closed within the wait, returning what came before.
    fn closed(&mut self) -> Vec<In> {
        let deadline = after(WAIT);
        let mut got = Vec::new();
        while !self.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "connection still open after {WAIT:?}; got {got:?}"
            );
            got.extend(self.recv(left));
        }
        got
    }
}

/// The remaining length and the fixed header's length of the packet at the start of `b`.
fn remaining_length(b: &[u8]) -> Option<(usize, usize)> {
    let (len, n) = varint(b.get(1..)?)?;
    Some((len, 1 + n))
}

/// A variable byte integer (section 1.5.5) at the start of `b`: its value and its length.
fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for i in 0..4 {
        let byte = *b.get(i)?;
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// An AUTH body, parsed by hand (section 3.15): reason, then properties 0x15 (method, a UTF-8
/// string), 0x16 (data, binary), 0x1F (reason string) and 0x26 (user property).
fn parse_auth(body: &[u8]) -> In {
    let Some((&reason, rest)) = body.split_first() else {
        return In::Auth {
            reason: 0,
            method: None,
            data: None,
        };
    };
    let (plen, n) = varint(rest).expect("property length");
    let mut props = &rest[n..n + plen];
    let (mut method, mut data) = (None, None);
    let take = |p: &mut &[u8]| -> Vec<u8> {
        let l = usize::from(u16::from_be_bytes([p[0], p[1]]));
        let v = p[2..2 + l].to_vec();
        *p = &p[2 + l..];
        v
    };
    while let Some((&id, rest)) = props.split_first() {
        props = rest;
        match id {
            0x15 => method = Some(String::from_utf8(take(&mut props)).expect("UTF-8 method")),
            0x16 => data = Some(take(&mut props)),
            0x1F => {
                take(&mut props);
            }
            0x26 => {
                take(&mut props);
                take(&mut props);
            }
            other => panic!("unexpected AUTH property {other:#x}"),
        }
    }
    In::Auth {
        reason,
        method,
        data,
    }
}

fn auth_in(reason: u8, method: &str, data: &[u8]) -> In {
    In::Auth {
        reason,
        method: Some(method.into()),
        data: Some(data.to_vec()),
    }
}

/// The CONNACK code and its Authentication Method and Data.
fn connack_of(p: Option<In>) -> (m5::ConnectReturnCode, Option<String>, Option<Vec<u8>>) {
    match p.map(In::unbox) {
        Some(Ok(m5::Packet::ConnAck(c))) => {
            let (method, data) = match c.properties {
                Some(p) => (
                    p.authentication_method,
                    p.authentication_data.map(|d| d.to_vec()),
                ),
                None => (None, None),
            };
            (c.code, method, data)
        }
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

/// Opens a connection and starts the CHALLENGE exchange: returns it with the nonce of roost's
/// first AUTH.
fn challenged(addr: SocketAddr, id: &str) -> (Ex, Vec<u8>) {
    let mut c = Ex::open(addr);
    c.connect(id, "CHALLENGE", b"hello");
    // MQTT-4.12.0-2: roost asks for more with AUTH 0x18; MQTT-4.12.0-5: with the method.
    let Some(In::Auth {
        reason: 0x18,
        method: Some(method),
        data: Some(nonce),
    }) = c.recv(WAIT)
    else {
        panic!("expected AUTH 0x18 with method and data");
    };
    assert_eq!(method, "CHALLENGE");
    (c, nonce)
}

/// Asserts that the next packet is a CONNACK with `code` and that the connection is then
/// closed (MQTT-3.2.2-7).
fn expect_refused(c: &mut Ex, code: m5::ConnectReturnCode) {
    assert_eq!(connack_of(c.recv(WAIT)).0, code);
    assert_eq!(c.closed(), vec![]);
}

/// Runs the CHALLENGE exchange to its CONNACK on a fresh connection.
fn challenge_connect(addr: SocketAddr, id: &str) -> Ex {
    let (mut c, nonce) = challenged(addr, id);
    // MQTT-4.12.0-3: the client answers with AUTH 0x18.
    c.auth(0x18, "CHALLENGE", &reversed(&nonce));
    let (code, method, data) = connack_of(c.recv(WAIT));
    assert_eq!(code, m5::ConnectReturnCode::Success);
    // MQTT-4.12.0-5: a successful CONNACK carries the method of the CONNECT.
    assert_eq!(method.as_deref(), Some("CHALLENGE"));
    assert_eq!(data.as_deref(), Some(&b"verified"[..]));
    c
}

#[test]
fn challenge_exchange_completes_on_either_worker() {
    let b = broker(&[]);
    let addr = b.local_addr();
    // Several ids, so that sessions are (almost surely) homed on both workers and some
    // connections are handed over between them before the exchange starts.
    for i in 0..6 {
        let id = format!("{}-{i}", unique("chal"));
        let mut c = challenge_connect(addr, &id);
        // The connection is usable: a subscription and a message of its own come back.
        let topic = format!("auth/chal/{i}");
        let mut subscribe = m5::Subscribe::new(
            m5::Filter::new(topic.clone(), rumqttc::v5::mqttbytes::QoS::AtMostOnce),
            None,
        );
        subscribe.pkid = 1;
        c.send(m5::Packet::Subscribe(subscribe));
        let publish = m5::Publish::new(
            topic.clone(),
            rumqttc::v5::mqttbytes::QoS::AtMostOnce,
            "after auth",
            None,
        );
        let deadline = after(WAIT);
        let mut got = None;
        while got.is_none() && Instant::now() < deadline {
            match c.recv(WAIT).map(In::unbox) {
                Some(Ok(m5::Packet::SubAck(_))) => {
                    c.send(m5::Packet::Publish(publish.clone()));
                }
                Some(Ok(m5::Packet::Publish(p))) => got = Some(p),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            got.map(|p| p.payload.to_vec()),
            Some(b"after auth".to_vec())
        );
    }
}

#[test]
fn unknown_method_gets_0x8c_mqtt_4_12_0_1() {
    let b = broker(&[]);
    let mut c = Ex::open(b.local_addr());
    c.connect(&unique("nope"), "NOPE", b"");
    let (code, method, _) = connack_of(c.recv(WAIT));
    assert_eq!(
        (code, method),
        (m5::ConnectReturnCode::BadAuthenticationMethod, None)
    );
    assert_eq!(c.closed(), vec![]);
}

#[test]
fn wrong_answer_is_refused_with_0x87_and_closed_mqtt_4_12_0_4() {
    let b = broker(&[]);
    let (mut c, _) = challenged(b.local_addr(), &unique("wrong"));
    c.auth(0x18, "CHALLENGE", b"not the nonce");
    expect_refused(&mut c, m5::ConnectReturnCode::NotAuthorized);
}

#[test]
fn other_method_during_exchange_gets_0x8c_mqtt_4_12_0_5() {
    let b = broker(&[]);
    let (mut c, _) = challenged(b.local_addr(), &unique("switch"));
    c.auth(0x18, "ECHO-OK", b"");
    expect_refused(&mut c, m5::ConnectReturnCode::BadAuthenticationMethod);
}

#[test]
fn packets_other_than_auth_during_exchange_are_protocol_errors_mqtt_3_1_2_30() {
    let b = broker(&[]);
    let addr = b.local_addr();
    let (mut c, _) = challenged(addr, &unique("early"));
    c.send(m5::Packet::PingReq(m5::PingReq));
    expect_refused(&mut c, m5::ConnectReturnCode::ProtocolError);

    // AUTH with reason 0x19 is not an answer to AUTH 0x18 (MQTT-4.12.0-3).
    let (mut c, _) = challenged(addr, &unique("early"));
    c.auth(0x19, "CHALLENGE", b"x");
    expect_refused(&mut c, m5::ConnectReturnCode::ProtocolError);

    // DISCONNECT is allowed and simply ends it.
    let (mut c, _) = challenged(addr, &unique("early"));
    c.send(m5::Packet::Disconnect(m5::Disconnect::new(
        m5::DisconnectReasonCode::NormalDisconnection,
    )));
    assert_eq!(c.closed(), vec![]);
}

#[test]
fn auth_after_plain_connect_is_a_protocol_error_mqtt_4_12_0_7() {
    let b = broker(&[]);
    let mut c = Raw::connect(b.local_addr());
    c.version = Version::V5;
    c.send(&connect_bytes(
        Version::V5,
        &unique("plain"),
        None,
        None,
        None,
    ))
    .unwrap();
    assert!(matches!(c.recv(WAIT), Ok(Pkt::ConnAck { code: 0, .. })));
    // AUTH 0x19, method "CHALLENGE", no data: F0 0E 19 0C 15 00 09 "CHALLENGE".
    let mut auth = vec![0xF0, 0x0E, 0x19, 0x0C, 0x15, 0x00, 0x09];
    auth.extend_from_slice(b"CHALLENGE");
    c.send(&auth).unwrap();
    assert_eq!(c.expect_closed(WAIT), vec![Pkt::Disconnect(0x82)]);
}

#[test]
fn immediate_success_with_rumqttc_and_paho() {
    let b = broker(&[]);
    let port = b.local_addr().port();
    let id = unique("echo");
    let r = R5::with(port, &id, |o| {
        o.set_authentication_method(Some("ECHO-OK".into()));
        o.set_authentication_data(Some("hi".into()));
    });
    let props = r.connack.as_ref().and_then(|c| c.properties.clone());
    let props = props.expect("CONNACK properties");
    assert_eq!(props.authentication_method.as_deref(), Some("ECHO-OK"));
    assert_eq!(
        props.authentication_data.as_deref(),
        Some(format!("welcome {id}").as_bytes())
    );
    r.disconnect();

    let lines = python(
        "auth.py",
        &[
            "--port",
            &port.to_string(),
            "--id",
            "paho-echo",
            "--method",
            "ECHO-OK",
            "--data",
            "hi",
        ],
    );
    assert_eq!(lines, ["CONNACK|0|ECHO-OK|welcome paho-echo", "PUBACK"]);
    // paho with a method roost's hook does not know: 0x8C.
    let lines = python(
        "auth.py",
        &["--port", &port.to_string(), "--method", "SCRAM-SHA-1"],
    );
    assert_eq!(lines, ["CONNACK|140|-|-"]);
}

#[test]
fn reauthentication_succeeds_fails_and_checks_its_method_mqtt_4_12_1() {
    let b = broker(&[]);
    let addr = b.local_addr();
    let mut c = challenge_connect(addr, &unique("re"));
    // MQTT-4.12.1-1: AUTH 0x19 with the same method starts a new exchange.
    c.auth(0x19, "CHALLENGE", b"hello");
    let Some(In::Auth {
        reason: 0x18,
        method: Some(_),
        data: Some(nonce),
    }) = c.recv(WAIT)
    else {
        panic!("expected AUTH 0x18");
    };
    // The connection keeps working during the exchange (section 4.12.1).
    c.send(m5::Packet::PingReq(m5::PingReq));
    assert_eq!(
        c.recv(WAIT),
        Some(In::Other(Box::new(m5::Packet::PingResp(m5::PingResp))))
    );
    c.auth(0x18, "CHALLENGE", &reversed(&nonce));
    assert_eq!(c.recv(WAIT), Some(auth_in(0x00, "CHALLENGE", b"verified")));

    // A failed re-authentication ends the connection with DISCONNECT 0x87 (MQTT-4.12.1-2).
    c.auth(0x19, "CHALLENGE", b"hello");
    assert!(matches!(c.recv(WAIT), Some(In::Auth { reason: 0x18, .. })));
    c.auth(0x18, "CHALLENGE", b"wrong");
    assert_eq!(c.closed(), vec![In::Disconnect(0x87)]);

    // Another method than the connection's is a protocol error (MQTT-4.12.1-1).
    let mut c = challenge_connect(addr, &unique("re"));
    c.auth(0x19, "ECHO-OK", b"");
    assert_eq!(c.closed(), vec![In::Disconnect(0x82)]);
}

#[test]
fn connect_timeout_covers_the_exchange() {
    let b = broker(&[("ROOST_CONNECT_TIMEOUT", "1s")]);
    let started = Instant::now();
    let (mut c, _) = challenged(b.local_addr(), &unique("slow"));
    // Never answered: closed by the CONNECT timeout, counted from accept.
    assert_eq!(c.closed(), vec![]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
}

// ---- The embedding API ----------------------------------------------------------------------

#[test]
fn embedded_broker_shuts_down_and_rejects_bad_configuration() {
    let b = broker(&[]);
    let mut c = Raw::connect(b.local_addr());
    c.version = Version::V5;
    c.send(&connect_bytes(
        Version::V5,
        &unique("down"),
        None,
        None,
        None,
    ))
    .unwrap();
    assert!(matches!(c.recv(WAIT), Ok(Pkt::ConnAck { code: 0, .. })));
    // shutdown() joins the workers: run it aside so that a hang fails the test within the wait.
    let (done, stopped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        b.shutdown();
        let _ = done.send(());
    });
    assert_eq!(c.expect_closed(WAIT), vec![Pkt::Disconnect(0x8B)]);
    assert!(
        stopped.recv_timeout(WAIT).is_ok(),
        "shutdown did not return within {WAIT:?}"
    );

    let err = roost::Broker::start(
        |name| (name == "ROOST_WORKERS").then(|| "lots".to_owned()),
        Arc::new(roost::auth::AllowAll),
    )
    .expect_err("a bad value is refused");
    assert!(err.is_config());
    let text = err.to_string();
    assert!(
        text.contains("ROOST_WORKERS") && text.contains("lots"),
        "{text}"
    );
}

// ---- Authorization ------------------------------------------------------------------------

/// A raw client of `version` logged in as alice, subscribed to `secret/#` at QoS 1.
fn alice_listening(addr: SocketAddr, version: Version) -> Raw {
    let mut c = Raw::connect(addr);
    c.version = version;
    let id = unique("alice");
    c.send(&connect_bytes(
        version,
        &id,
        Some("alice"),
        Some(b"wonderland"),
        None,
    ))
    .unwrap();
    assert!(matches!(c.recv(WAIT), Ok(Pkt::ConnAck { code: 0, .. })));
    assert_eq!(c.subscribe(1, &[("secret/#", QoS::AtLeastOnce)]), [1]);
    c
}

#[test]
fn v5_publishes_the_hook_refuses_get_0x87_and_go_nowhere() {
    let b = broker(&[]);
    let addr = b.local_addr();
    let mut alice = alice_listening(addr, Version::V5);
    let mut anon = Raw::open5(addr, &unique("anon"), 0);
    let none = Default::default;
    assert_eq!(
        anon.publish5("secret/a", b"1", QoS::AtLeastOnce, 1, false, none()),
        0x87
    );
    assert_eq!(
        anon.publish5("secret/a", b"2", QoS::ExactlyOnce, 2, false, none()),
        0x87
    );
    anon.publish5("secret/a", b"3", QoS::AtMostOnce, 0, false, none());
    // Nor is a refused retained message stored.
    assert_eq!(
        anon.publish5("secret/r", b"4", QoS::AtLeastOnce, 3, true, none()),
        0x87
    );
    // Allowed elsewhere; and alice may publish under secret/.
    assert_eq!(
        anon.publish5("open/a", b"5", QoS::AtLeastOnce, 4, false, none()),
        0x10
    );
    let mut alice2 = Raw::connect(addr);
    alice2.version = Version::V5;
    let id = unique("alice2");
    alice2
        .send(&connect_bytes(
            Version::V5,
            &id,
            Some("alice"),
            Some(b"wonderland"),
            None,
        ))
        .unwrap();
    assert!(matches!(
        alice2.recv(WAIT),
        Ok(Pkt::ConnAck { code: 0, .. })
    ));
    alice2.publish("secret/a", b"from alice", QoS::AtLeastOnce, 9, false);
    let got = alice.recv_publish(WAIT);
    assert_eq!(
        got.payload, b"from alice",
        "nothing of anon's arrived first"
    );
    alice.ack(&got);
    let mut late = alice_listening(addr, Version::V5);
    late.expect_silence(QUIET);
}

#[test]
fn v3_publishes_the_hook_refuses_are_acknowledged_and_dropped() {
    let b = broker(&[]);
    let addr = b.local_addr();
    let mut alice = alice_listening(addr, Version::V3_1_1);
    let mut anon = Raw::connect(addr);
    anon.connect_with(&ConnectOpts::v311(&unique("anon3")));
    // 3.1.1 has no way to refuse a PUBLISH: the flows complete as usual (PUBACK; PUBREC,
    // PUBREL, PUBCOMP) and nothing is delivered.
    anon.publish("secret/a", b"1", QoS::AtLeastOnce, 1, false);
    anon.publish("secret/a", b"2", QoS::ExactlyOnce, 2, false);
    alice.expect_silence(QUIET);
}

#[test]
fn subscriptions_the_hook_refuses_get_0x87_or_0x80() {
    let b = broker(&[]);
    let addr = b.local_addr();
    let mut alice = alice_listening(addr, Version::V5);
    alice.publish("secret/kept", b"retained", QoS::AtLeastOnce, 2, true);

    let mut anon = Raw::open5(addr, &unique("anon-sub"), 0);
    let reasons = anon.subscribe5(
        1,
        &[
            ("secret/#", common::v5::opts(QoS::AtLeastOnce)),
            ("open/#", common::v5::opts(QoS::AtLeastOnce)),
        ],
        None,
    );
    assert_eq!(reasons, [0x87, 0x01]);
    // No retained message through a refused filter, and nothing published there later.
    anon.expect_silence5(QUIET);
    alice.publish("secret/kept", b"again", QoS::AtMostOnce, 0, false);
    anon.expect_silence5(QUIET);

    let mut anon3 = Raw::connect(addr);
    anon3.connect_with(&ConnectOpts::v311(&unique("anon-sub3")));
    assert_eq!(
        anon3.subscribe(
            1,
            &[("secret/#", QoS::AtMostOnce), ("open/#", QoS::AtMostOnce)]
        ),
        [0x80, 0x00]
    );
}

#[test]
fn a_will_the_hook_refuses_refuses_the_connect() {
    let b = broker(&[]);
    let addr = b.local_addr();
    for version in [Version::V5, Version::V3_1_1] {
        let c = Connect {
            protocol: version,
            clean_start: true,
            keep_alive: 30,
            client_id: "will-anon",
            will: Some(Will {
                topic: "secret/will",
                payload: b"bye",
                qos: QoS::AtLeastOnce,
                retain: false,
                properties: Default::default(),
            }),
            username: None,
            password: None,
            properties: ConnectProperties::default(),
        };
        let mut raw = Raw::connect(addr);
        raw.version = version;
        raw.send(&encode(&Packet::Connect(c), version)).unwrap();
        let want = if version.is_v5() { 0x87 } else { 5 };
        assert_eq!(
            raw.expect_closed(WAIT),
            vec![Pkt::ConnAck {
                session_present: false,
                code: want
            }]
        );
    }
}

#[test]
fn rumqttc_v5_sees_the_refusals() {
    let b = broker(&[]);
    let port = b.local_addr().port();
    let r = R5::connect(port, &unique("rq-authz"));
    let codes = r.subscribe(
        vec![
            m5::Filter::new("secret/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce),
            m5::Filter::new("open/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce),
        ],
        None,
    );
    assert_eq!(
        codes,
        [
            m5::SubscribeReasonCode::NotAuthorized,
            m5::SubscribeReasonCode::Success(rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
        ]
    );
    r.client
        .publish(
            "secret/x",
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
            false,
            "no",
        )
        .unwrap();
    let ack = r.wait("PUBACK", |p| matches!(p, common::v5::RP5::PubAck(_)));
    let common::v5::RP5::PubAck(ack) = ack else {
        panic!("filtered above")
    };
    assert_eq!(ack.reason, m5::PubAckReason::NotAuthorized);
}
