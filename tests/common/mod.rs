//! Shared helpers of the broker integration tests: a [`Broker`] process on `127.0.0.1:0`, a raw
//! TCP client speaking bytes built and decoded with `roost::packets`, and the three independent
//! peers (rumqttc, mosquitto_pub/mosquitto_sub, Python paho-mqtt).
//!
//! Every wait is bounded: a deadline and a condition, never a bare sleep whose length is the test.
//! Each test binary uses only part of this module.
#![allow(dead_code)]

pub mod v5;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use roost::packets::{
    self, Ack, Connect, ConnectProperties, Disconnect, Packet, PacketId, Publish,
    PublishProperties, QoS, QosPid, ReasonCode, RetainHandling, Status, Subscribe,
    SubscribeProperties, Subscription, SubscriptionOptions, Unsubscribe, UserProperties, Version,
    Will, WillProperties,
};

/// Upper bound on any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is observed when a test asserts an absence.
pub const QUIET: Duration = Duration::from_millis(400);

// ---- Polling ------------------------------------------------------------------------------

/// Polls `cond` every 10 ms until it holds (true) or `deadline` passes (false).
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The lines a child writes to `stdout`, as they come, read on a thread of their own.
pub fn lines_of(stdout: std::process::ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// `Instant::now() + d`.
pub fn after(d: Duration) -> Instant {
    Instant::now() + d
}

/// A process-unique name, so parallel tests never share client ids or topics.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---- The broker process -------------------------------------------------------------------

/// A running `roost` on an ephemeral port; killed on drop.
pub struct Broker {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Broker {
    /// A broker with 2 workers and debug logs.
    pub fn start() -> Broker {
        Broker::with(&[])
    }

    /// A broker with `n` workers.
    pub fn workers(n: usize) -> Broker {
        Broker::with(&[("ROOST_WORKERS", &n.to_string())])
    }

    /// A broker with the given `ROOST_*` variables on top of the defaults used here
    /// (`ROOST_LISTEN=127.0.0.1:0`, `ROOST_WORKERS=2`, `ROOST_LOG=debug`).
    pub fn with(vars: &[(&str, &str)]) -> Broker {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_roost"));
        cmd.env_clear()
            .env("ROOST_LISTEN", "127.0.0.1:0")
            .env("ROOST_WORKERS", "2")
            .env("ROOST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn roost");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        let sink = Arc::clone(&log);
        // Drains stderr for the broker's whole life, so the pipe never fills.
        let reader = thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            let mut sent = false;
            loop {
                line.clear();
                match lines.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if !sent {
                    if let Some(addr) = listening_addr(&line) {
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
                sink.lock().unwrap().push_str(&line);
            }
        });
        let addr = match rx.recv_timeout(WAIT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "roost did not report its address within {WAIT:?}; log:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        Broker {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) -> bool {
        wait_until(after(within), || self.log.lock().unwrap().contains(needle))
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. "TERM", "INT") with `kill(1)` and waits at most `within` for the
    /// exit; `None` if it is still running then.
    pub fn stop_with(&mut self, signal: &str, within: Duration) -> Option<ExitStatus> {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let deadline = after(within);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The stderr reader ends at EOF; join it so the log is complete.
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Connects a raw client (nothing sent yet).
    pub fn raw(&self) -> Raw {
        Raw::connect(self.addr)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("---- roost log ----\n{}", self.log());
        }
    }
}

/// The address in `roost 0.1.0 listening on 127.0.0.1:PORT with N workers`.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

// ---- Raw packets ----------------------------------------------------------------------------

/// A decoded packet, owned, as the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkt {
    /// CONNACK: session present and the code byte as on the wire (3.1.1 return code or 5.0
    /// reason code).
    ConnAck {
        session_present: bool,
        code: u8,
    },
    /// PUBLISH.
    Publish(Msg),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    /// SUBACK with the return codes as on the wire.
    SubAck {
        id: u16,
        codes: Vec<u8>,
    },
    UnsubAck(u16),
    PingResp,
    /// DISCONNECT (5.0) with its reason code byte.
    Disconnect(u8),
    /// Anything else, by name.
    Other(String),
}

/// A received PUBLISH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub id: Option<u16>,
    pub user: Vec<(String, String)>,
}

impl Msg {
    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// How a raw read ended without a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing complete arrived before the deadline.
    Timeout,
    /// The broker closed the connection (EOF or reset).
    Closed,
    /// The broker sent bytes that do not decode.
    Invalid(String),
}

/// Options of a raw CONNECT.
#[derive(Debug, Clone)]
pub struct ConnectOpts<'a> {
    pub version: Version,
    pub client_id: &'a str,
    pub clean: bool,
    pub keep_alive: u16,
    /// Will topic, payload, QoS and retain.
    pub will: Option<(&'a str, &'a [u8], QoS, bool)>,
    /// 5.0 Session Expiry Interval.
    pub session_expiry: Option<u32>,
}

impl<'a> ConnectOpts<'a> {
    /// 3.1.1, the given id, clean session, no keepalive, no will.
    pub fn v311(client_id: &'a str) -> Self {
        ConnectOpts {
            version: Version::V3_1_1,
            client_id,
            clean: true,
            keep_alive: 0,
            will: None,
            session_expiry: None,
        }
    }

    /// 5.0, the given id, clean start, no keepalive, no will.
    pub fn v5(client_id: &'a str) -> Self {
        ConnectOpts {
            version: Version::V5,
            ..ConnectOpts::v311(client_id)
        }
    }

    pub fn clean(mut self, clean: bool) -> Self {
        self.clean = clean;
        self
    }

    pub fn keep_alive(mut self, secs: u16) -> Self {
        self.keep_alive = secs;
        self
    }

    pub fn will(mut self, topic: &'a str, payload: &'a [u8], qos: QoS, retain: bool) -> Self {
        self.will = Some((topic, payload, qos, retain));
        self
    }

    /// The encoded CONNECT.
    pub fn encode(&self) -> Vec<u8> {
        let will = self.will.map(|(topic, payload, qos, retain)| Will {
            topic,
            payload,
            qos,
            retain,
            properties: WillProperties::default(),
        });
        let properties = ConnectProperties {
            session_expiry_interval: self.session_expiry,
            ..ConnectProperties::default()
        };
        let connect = Connect {
            protocol: self.version,
            clean_start: self.clean,
            keep_alive: self.keep_alive,
            client_id: self.client_id,
            will,
            username: None,
            password: None,
            properties,
        };
        encode(&Packet::Connect(connect), self.version)
    }
}

/// `packet` encoded for `version`.
pub fn encode(packet: &Packet<'_>, version: Version) -> Vec<u8> {
    let mut out = Vec::new();
    packet.encode(version, &mut out).expect("encode");
    out
}

fn pid(id: u16) -> PacketId {
    PacketId::new(id).expect("non-zero packet id")
}

/// A PUBLISH: `id` is ignored at QoS 0.
pub fn publish_bytes(
    version: Version,
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: u16,
    retain: bool,
    dup: bool,
) -> Vec<u8> {
    let qos_pid = if qos == QoS::AtMostOnce {
        QosPid::AtMostOnce
    } else {
        QosPid::new(qos, pid(id))
    };
    let p = Publish {
        dup,
        qos_pid,
        retain,
        topic,
        payload,
        properties: PublishProperties::default(),
    };
    encode(&Packet::Publish(p), version)
}

/// A SUBSCRIBE of `filters` with their QoS.
pub fn subscribe_bytes(version: Version, id: u16, filters: &[(&str, QoS)]) -> Vec<u8> {
    let filters = filters
        .iter()
        .map(|(filter, qos)| Subscription {
            filter,
            options: SubscriptionOptions {
                qos: *qos,
                no_local: false,
                retain_as_published: false,
                retain_handling: RetainHandling::SendAtSubscribe,
            },
        })
        .collect();
    let s = Subscribe {
        packet_id: pid(id),
        filters,
        properties: SubscribeProperties::default(),
    };
    encode(&Packet::Subscribe(s), version)
}

/// An UNSUBSCRIBE.
pub fn unsubscribe_bytes(version: Version, id: u16, filters: &[&str]) -> Vec<u8> {
    let u = Unsubscribe {
        packet_id: pid(id),
        filters: filters.to_vec(),
        user: UserProperties::default(),
    };
    encode(&Packet::Unsubscribe(u), version)
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP for `id`, by type name.
pub fn ack_bytes(version: Version, kind: &str, id: u16) -> Vec<u8> {
    let a = Ack::new(pid(id));
    let p = match kind {
        "puback" => Packet::PubAck(a),
        "pubrec" => Packet::PubRec(a),
        "pubrel" => Packet::PubRel(a),
        "pubcomp" => Packet::PubComp(a),
        other => panic!("unknown ack {other}"),
    };
    encode(&p, version)
}

/// A DISCONNECT (normal).
pub fn disconnect_bytes(version: Version) -> Vec<u8> {
    encode(
        &Packet::Disconnect(Disconnect::new(ReasonCode::Success)),
        version,
    )
}

/// PINGREQ.
pub const PINGREQ: [u8; 2] = [0xC0, 0x00];

// ---- The raw client ---------------------------------------------------------------------------

/// A TCP client that writes raw bytes and reads decoded packets with deadlines.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
    /// The version packets are decoded for (set by [`Raw::connect_with`]).
    pub version: Version,
}

impl Raw {
    /// Opens a connection; nothing is sent.
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect to roost");
        stream.set_nodelay(true).expect("nodelay");
        Raw {
            stream,
            buf: Vec::new(),
            version: Version::V3_1_1,
        }
    }

    /// Sends `bytes`; errors (the broker may have closed) are returned, not panics.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends the CONNECT of `opts` and returns the CONNACK's (session present, code).
    pub fn connect_with(&mut self, opts: &ConnectOpts<'_>) -> (bool, u8) {
        self.version = opts.version;
        self.send(&opts.encode()).expect("send CONNECT");
        match self.recv(WAIT) {
            Ok(Pkt::ConnAck {
                session_present,
                code,
            }) => (session_present, code),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// A raw 3.1.1 client connected with `opts`, asserting CONNACK code 0.
    pub fn open(addr: SocketAddr, opts: &ConnectOpts<'_>) -> (Raw, bool) {
        let mut raw = Raw::connect(addr);
        let (sp, code) = raw.connect_with(opts);
        assert_eq!(code, 0, "CONNACK code for {opts:?}");
        (raw, sp)
    }

    /// Subscribes and returns the SUBACK codes.
    pub fn subscribe(&mut self, id: u16, filters: &[(&str, QoS)]) -> Vec<u8> {
        let bytes = subscribe_bytes(self.version, id, filters);
        self.send(&bytes).expect("send SUBSCRIBE");
        match self.recv_skipping_publishes(WAIT) {
            Ok(Pkt::SubAck { id: got, codes }) => {
                assert_eq!(got, id, "SUBACK packet id");
                codes
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Publishes; for QoS 1/2 completes the flow (PUBACK, or PUBREC/PUBREL/PUBCOMP).
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS, id: u16, retain: bool) {
        let v = self.version;
        self.send(&publish_bytes(v, topic, payload, qos, id, retain, false))
            .expect("send PUBLISH");
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => assert_eq!(self.recv_ack(), Pkt::PubAck(id)),
            QoS::ExactlyOnce => {
                assert_eq!(self.recv_ack(), Pkt::PubRec(id));
                self.send(&ack_bytes(v, "pubrel", id)).expect("PUBREL");
                assert_eq!(self.recv_ack(), Pkt::PubComp(id));
            }
        }
    }

    fn recv_ack(&mut self) -> Pkt {
        self.recv_skipping_publishes(WAIT).expect("acknowledgement")
    }

    /// The next packet that is not a PUBLISH (those are dropped).
    pub fn recv_skipping_publishes(&mut self, within: Duration) -> Result<Pkt, RecvError> {
        let deadline = after(within);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left)? {
                Pkt::Publish(_) => continue,
                p => return Ok(p),
            }
        }
    }

    /// The next packet, within `within`.
    pub fn recv(&mut self, within: Duration) -> Result<Pkt, RecvError> {
        let version = self.version;
        self.recv_as(within, version, |packet, raw| owned(packet, raw, version))
    }

    /// The next whole packet decoded for `version`, turned into a value by `keep` (which sees the
    /// packet and its bytes) before the bytes are dropped from the buffer.
    pub fn recv_as<T>(
        &mut self,
        within: Duration,
        version: Version,
        keep: impl FnOnce(&Packet<'_>, &[u8]) -> T,
    ) -> Result<T, RecvError> {
        let deadline = after(within);
        loop {
            match packets::decode(&self.buf, version, 1 << 28) {
                Ok(Status::Complete((packet, used))) => {
                    let value = keep(&packet, self.buf.get(..used).unwrap_or_default());
                    self.buf.drain(..used);
                    return Ok(value);
                }
                Ok(Status::Partial(_)) => {}
                Err(e) => return Err(RecvError::Invalid(format!("{e} in {:?}", self.buf))),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvError::Timeout);
            }
            self.fill(left)?;
        }
    }

    /// Reads more bytes into the buffer, waiting at most `left`.
    fn fill(&mut self, left: Duration) -> Result<(), RecvError> {
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("set_read_timeout");
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(RecvError::Closed),
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(RecvError::Closed),
        }
    }

    /// The next PUBLISH, acknowledging nothing; other packets are an error.
    pub fn recv_publish(&mut self, within: Duration) -> Msg {
        match self.recv(within) {
            Ok(Pkt::Publish(m)) => m,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// `n` PUBLISHes, each acknowledged as its QoS requires (QoS 2: PUBREC, then PUBCOMP for the
    /// PUBREL); returns once every QoS 2 flow is complete.
    pub fn recv_acked(&mut self, n: usize, within: Duration) -> Vec<Msg> {
        let deadline = after(within);
        let mut out = Vec::new();
        // QoS 2 deliveries whose PUBREL has not arrived yet.
        let mut open = HashSet::new();
        while out.len() < n || !open.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left) {
                Ok(Pkt::Publish(m)) => {
                    self.ack(&m);
                    if let (2, Some(id)) = (m.qos, m.id) {
                        open.insert(id);
                    }
                    out.push(m);
                }
                Ok(Pkt::PubRel(id)) => {
                    open.remove(&id);
                    let v = self.version;
                    self.send(&ack_bytes(v, "pubcomp", id)).expect("PUBCOMP");
                }
                Ok(other) => panic!("unexpected {other:?} after {} messages", out.len()),
                Err(e) => panic!("{e:?} after {} of {n} messages: {out:?}", out.len()),
            }
        }
        out
    }

    /// Acknowledges `m` as its QoS requires (first step only for QoS 2).
    pub fn ack(&mut self, m: &Msg) {
        let v = self.version;
        match (m.qos, m.id) {
            (1, Some(id)) => self.send(&ack_bytes(v, "puback", id)).expect("PUBACK"),
            (2, Some(id)) => self.send(&ack_bytes(v, "pubrec", id)).expect("PUBREC"),
            _ => {}
        }
    }

    /// Asserts that nothing arrives for `quiet` (a bounded observation of an absence).
    pub fn expect_silence(&mut self, quiet: Duration) {
        match self.recv(quiet) {
            Err(RecvError::Timeout) => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    /// Reads until the broker closes the connection, returning the packets received before;
    /// panics if it is still open after `within`.
    pub fn expect_closed(&mut self, within: Duration) -> Vec<Pkt> {
        let deadline = after(within);
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left) {
                Ok(p) => got.push(p),
                Err(RecvError::Closed) => return got,
                Err(e) => panic!("connection not closed within {within:?} ({e:?}); got {got:?}"),
            }
        }
    }

    /// Sends DISCONNECT and waits for the close.
    pub fn disconnect(mut self) {
        let v = self.version;
        let _ = self.send(&disconnect_bytes(v));
        self.expect_closed(WAIT);
    }
}

/// Converts a decoded packet (borrowing `raw`) to a [`Pkt`].
fn owned(packet: &Packet<'_>, raw: &[u8], version: Version) -> Pkt {
    let body = raw.get(header_len(raw)..).unwrap_or_default();
    match packet {
        Packet::ConnAck(c) => Pkt::ConnAck {
            session_present: c.session_present,
            code: *body.get(1).expect("CONNACK code byte"),
        },
        Packet::Publish(p) => Pkt::Publish(Msg {
            topic: p.topic.to_owned(),
            payload: p.payload.to_vec(),
            qos: p.qos_pid.qos() as u8,
            retain: p.retain,
            dup: p.dup,
            id: p.qos_pid.packet_id().map(PacketId::get),
            user: p
                .properties
                .user
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }),
        Packet::PubAck(a) => Pkt::PubAck(a.packet_id.get()),
        Packet::PubRec(a) => Pkt::PubRec(a.packet_id.get()),
        Packet::PubRel(a) => Pkt::PubRel(a.packet_id.get()),
        Packet::PubComp(a) => Pkt::PubComp(a.packet_id.get()),
        Packet::SubAck(s) => {
            let codes = if version.is_v5() {
                s.reasons.iter().map(|r| r.code()).collect()
            } else {
                body.get(2..).unwrap_or_default().to_vec()
            };
            Pkt::SubAck {
                id: s.packet_id.get(),
                codes,
            }
        }
        Packet::UnsubAck(u) => Pkt::UnsubAck(u.packet_id.get()),
        Packet::PingResp => Pkt::PingResp,
        Packet::Disconnect(d) => Pkt::Disconnect(d.reason.code()),
        other => Pkt::Other(format!("{:?}", other.packet_type())),
    }
}

/// Length of the fixed header of the packet in `raw`.
fn header_len(raw: &[u8]) -> usize {
    let mut i = 1;
    while raw.get(i).is_some_and(|b| b & 0x80 != 0) {
        i += 1;
    }
    i + 1
}

// ---- rumqttc ----------------------------------------------------------------------------------

/// A rumqttc 3.1.1 client whose event loop runs on its own thread; incoming events arrive on a
/// channel. The thread stops when the client is dropped or the connection fails.
pub struct Rumq {
    pub client: rumqttc::Client,
    pub events: Receiver<Result<rumqttc::Event, String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Rumq {
    /// Connects with clean session and waits for CONNACK.
    pub fn connect(port: u16, id: &str) -> Rumq {
        let mut opts = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(30));
        Rumq::with_options(opts)
    }

    /// Connects with `opts` and waits for CONNACK.
    pub fn with_options(opts: rumqttc::MqttOptions) -> Rumq {
        let (client, mut connection) = rumqttc::Client::new(opts, 1000);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match connection.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(event)) => {
                        if tx.send(Ok(event)).is_err() {
                            return;
                        }
                    }
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                    Err(rumqttc::RecvTimeoutError::Timeout) => {}
                    Err(rumqttc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        let r = Rumq {
            client,
            events: rx,
            stop,
            thread: Some(thread),
        };
        r.wait_event("CONNACK", |e| {
            matches!(e, rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))
        });
        r
    }

    /// Waits for an event matching `f`, dropping others.
    pub fn wait_event(&self, what: &str, f: impl Fn(&rumqttc::Event) -> bool) {
        let deadline = after(WAIT);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(e)) if f(&e) => return,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("rumqttc: {e} while waiting for {what}"),
                Err(_) => panic!("rumqttc: no {what} within {WAIT:?}"),
            }
        }
    }

    /// Subscribes and waits for the SUBACK.
    pub fn subscribe(&self, filter: &str, qos: rumqttc::QoS) {
        self.client.subscribe(filter, qos).expect("subscribe");
        self.wait_event("SUBACK", |e| {
            matches!(e, rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)))
        });
    }

    /// Publishes without waiting.
    pub fn publish(
        &self,
        topic: &str,
        qos: rumqttc::QoS,
        retain: bool,
        payload: impl Into<Vec<u8>>,
    ) {
        self.client
            .publish(topic, qos, retain, payload)
            .expect("publish");
    }

    /// Waits until `n` outgoing QoS 1 PUBLISHes were acknowledged (PUBACK) or QoS 2 completed
    /// (PUBCOMP).
    pub fn wait_acks(&self, n: usize) {
        let mut got = 0;
        while got < n {
            self.wait_event("acknowledgement", |e| {
                matches!(
                    e,
                    rumqttc::Event::Incoming(
                        rumqttc::Packet::PubAck(_) | rumqttc::Packet::PubComp(_)
                    )
                )
            });
            got += 1;
        }
    }

    /// `n` incoming PUBLISHes within `within` (other events are dropped).
    pub fn messages(&self, n: usize, within: Duration) -> Vec<rumqttc::Publish> {
        let deadline = after(within);
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)))) => out.push(p),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("rumqttc: {e} after {} of {n} messages", out.len()),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    panic!("rumqttc: {} of {n} messages within {within:?}", out.len())
                }
            }
        }
        out
    }

    /// True if the connection failed (the broker closed it) within `within`.
    pub fn closed_within(&self, within: Duration) -> bool {
        let deadline = after(within);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

impl Drop for Rumq {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---- mosquitto_pub / mosquitto_sub -----------------------------------------------------------

/// `mosquitto_pub` with `args` after `-h 127.0.0.1 -p PORT`, bounded by `timeout 10`; asserts
/// success.
pub fn mosquitto_pub(port: u16, args: &[&str]) {
    let out = Command::new("timeout")
        .arg("10")
        .arg("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mosquitto_pub");
    assert!(
        out.status.success(),
        "mosquitto_pub {args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `mosquitto_sub` printing one `MSG|topic|qos|retain|payload` line per message.
pub struct MosqSub {
    child: Child,
    lines: Receiver<String>,
    /// Messages received so far.
    pub messages: Vec<MosqMsg>,
}

/// One message as mosquitto_sub printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MosqMsg {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub payload: String,
}

impl MosqSub {
    /// Starts `mosquitto_sub -d` with `args` (topics, -q, -C, -V ...) and `-W wait_secs`, and
    /// waits until it reports its SUBACK.
    pub fn start(port: u16, wait_secs: u32, args: &[&str]) -> MosqSub {
        // stdbuf: mosquitto_sub's debug lines go through stdio, block-buffered on a pipe.
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub"])
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-d"])
            .args(["-W", &wait_secs.to_string()])
            .args(["-F", "MSG|%t|%q|%r|%p"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mosquitto_sub");
        let rx = lines_of(child.stdout.take().expect("stdout"));
        let mut sub = MosqSub {
            child,
            lines: rx,
            messages: Vec::new(),
        };
        let deadline = after(WAIT);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match sub.lines.recv_timeout(left) {
                Ok(line) if line.contains("received SUBACK") => return sub,
                Ok(line) => sub.take_line(&line),
                Err(_) => panic!("mosquitto_sub: no SUBACK within {WAIT:?}"),
            }
        }
    }

    fn take_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("MSG|") else {
            return;
        };
        let mut parts = rest.splitn(4, '|');
        let topic = parts.next().unwrap_or_default().to_owned();
        let qos = parts.next().unwrap_or_default().parse().unwrap_or(9);
        let retain = parts.next() == Some("1");
        let payload = parts.next().unwrap_or_default().to_owned();
        self.messages.push(MosqMsg {
            topic,
            qos,
            retain,
            payload,
        });
    }

    /// Waits until `n` messages were received in total and returns them all.
    pub fn wait_for(&mut self, n: usize, within: Duration) -> &[MosqMsg] {
        let deadline = after(within);
        while self.messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.take_line(&line),
                Err(_) => panic!(
                    "mosquitto_sub: {} of {n} messages within {within:?}: {:?}",
                    self.messages.len(),
                    self.messages
                ),
            }
        }
        &self.messages
    }

    /// Collects whatever arrives for `quiet` and returns all messages so far.
    pub fn settle(&mut self, quiet: Duration) -> &[MosqMsg] {
        let deadline = after(quiet);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.take_line(&line),
                Err(_) => return &self.messages,
            }
        }
    }
}

impl Drop for MosqSub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- Python paho-mqtt -------------------------------------------------------------------------

/// Path of a script in `tests/py/`.
pub fn py_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("py")
        .join(name)
}

/// Runs `python3 tests/py/<script> args...` under `timeout 20`, returning stdout lines;
/// asserts it exited 0.
pub fn python(script: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new("timeout")
        .arg("20")
        .arg("python3")
        .arg(py_script(script))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python3 {script} {args:?}: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

/// A Python script from `tests/py/` that prints `READY`, then result lines, then `DONE`, run
/// under `timeout 20` so it can never outlive a test.
pub struct PyProc {
    child: Child,
    lines: Receiver<String>,
}

impl PyProc {
    /// Starts `script` with `args` and waits for its `READY` line.
    pub fn start(script: &str, args: &[&str]) -> PyProc {
        let mut child = Command::new("timeout")
            .arg("20")
            .arg("python3")
            .arg(py_script(script))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3");
        let rx = lines_of(child.stdout.take().expect("stdout"));
        let p = PyProc { child, lines: rx };
        match p.lines.recv_timeout(WAIT) {
            Ok(line) if line == "READY" => p,
            other => panic!("{script} {args:?} did not get ready: {other:?}"),
        }
    }

    /// The lines up to `DONE` (bounded by `within`).
    pub fn finish(self, within: Duration) -> Vec<String> {
        let deadline = after(within);
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == "DONE" => return out,
                Ok(line) => out.push(line),
                Err(_) => panic!("python: no DONE within {within:?}; got {out:?}"),
            }
        }
    }
}

impl Drop for PyProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A paho subscriber (`sub.py`, see the script for its arguments).
pub struct PySub(PyProc);

impl PySub {
    /// Starts `sub.py` with `args` and waits for `READY`.
    pub fn start(args: &[&str]) -> PySub {
        PySub(PyProc::start("sub.py", args))
    }

    /// The message lines up to `DONE` (bounded by `within`).
    pub fn finish(self, within: Duration) -> Vec<String> {
        self.0.finish(within)
    }
}
