//! Blocking connection set-up: TCP connect, CONNECT/CONNACK and an optional SUBSCRIBE/SUBACK,
//! done before any load starts, on a few threads at once. After it the sockets are handed to
//! the reactors in non-blocking mode.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use roost::packets::{
    decode, Connect, ConnectProperties, Packet, PacketId, QoS, ReasonCode, Status, Subscribe,
    SubscribeProperties, Subscription, SubscriptionOptions, Version,
};

/// Largest packet the bench accepts from a broker.
pub(crate) const MAX_PACKET: usize = 1 << 20;

/// Keep Alive of every client, in seconds. Not 0: rumqttd refuses that. Long enough that a
/// subscriber which never sends is not dropped during a run.
const KEEP_ALIVE: u16 = 600;

/// One client to set up.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Client identifier, unique per run.
    pub(crate) client_id: String,
    /// Topic filter to subscribe to, if any.
    pub(crate) subscribe: Option<String>,
}

/// Sets up every client in `specs`, `threads` at a time; the streams come back in order.
pub(crate) fn establish(
    addr: SocketAddr,
    version: Version,
    qos: QoS,
    specs: &[Spec],
    threads: usize,
) -> io::Result<Vec<TcpStream>> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<TcpStream>>> = Mutex::new((0..specs.len()).map(|_| None).collect());
    let first_error: Mutex<Option<io::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, specs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(spec) = specs.get(i) else { return };
                match handshake(addr, version, qos, spec) {
                    Ok(stream) => {
                        if let Some(slot) = lock(&slots).get_mut(i) {
                            *slot = Some(stream);
                        }
                    }
                    Err(e) => {
                        lock(&first_error).get_or_insert(e);
                        next.store(specs.len(), Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&first_error).take() {
        return Err(e);
    }
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    slots
        .into_iter()
        .map(|s| s.ok_or_else(|| io::Error::other("a client was not set up")))
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Connects one client and waits for its CONNACK (and SUBACK).
fn handshake(addr: SocketAddr, version: Version, qos: QoS, spec: &Spec) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = Vec::with_capacity(128);
    let connect = Packet::Connect(Connect {
        protocol: version,
        clean_start: true,
        keep_alive: KEEP_ALIVE,
        client_id: &spec.client_id,
        will: None,
        username: None,
        password: None,
        properties: ConnectProperties::default(),
    });
    encode(&connect, version, &mut out)?;
    stream.write_all(&out)?;
    let mut rx = Vec::with_capacity(256);
    expect(&mut stream, &mut rx, version, |p| match p {
        Packet::ConnAck(c) if c.code == ReasonCode::Success => Ok(()),
        Packet::ConnAck(c) => Err(format!("CONNACK refused: {:?}", c.code)),
        other => Err(format!("expected CONNACK, got {:?}", other.packet_type())),
    })?;
    if let Some(filter) = &spec.subscribe {
        out.clear();
        let sub = Packet::Subscribe(Subscribe {
            packet_id: PacketId::new(1).ok_or_else(|| io::Error::other("packet id"))?,
            filters: vec![Subscription {
                filter,
                options: SubscriptionOptions {
                    qos,
                    ..SubscriptionOptions::default()
                },
            }],
            properties: SubscribeProperties::default(),
        });
        encode(&sub, version, &mut out)?;
        stream.write_all(&out)?;
        expect(&mut stream, &mut rx, version, |p| match p {
            Packet::SubAck(s) if s.reasons.iter().all(|r| (*r as u8) < 0x80) => Ok(()),
            Packet::SubAck(s) => Err(format!("SUBACK refused: {:?}", s.reasons)),
            other => Err(format!("expected SUBACK, got {:?}", other.packet_type())),
        })?;
    }
    stream.set_read_timeout(None)?;
    Ok(stream)
}

/// Appends `p` to `out`, turning an encode error into an IO error.
pub(crate) fn encode(p: &Packet<'_>, version: Version, out: &mut Vec<u8>) -> io::Result<()> {
    p.encode(version, out)
        .map(drop)
        .map_err(|e| io::Error::other(format!("encoding {:?}: {e}", p.packet_type())))
}

/// Reads until one whole packet is buffered and checks it with `check`.
fn expect(
    stream: &mut TcpStream,
    rx: &mut Vec<u8>,
    version: Version,
    check: impl Fn(&Packet<'_>) -> Result<(), String>,
) -> io::Result<()> {
    let mut chunk = [0u8; 512];
    loop {
        match decode(rx, version, MAX_PACKET) {
            Ok(Status::Complete((p, used))) => {
                check(&p).map_err(io::Error::other)?;
                rx.drain(..used);
                return Ok(());
            }
            Ok(Status::Partial(_)) => {}
            Err(e) => return Err(io::Error::other(format!("decoding a reply: {e}"))),
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the broker closed the connection during set-up",
            ));
        }
        rx.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}
