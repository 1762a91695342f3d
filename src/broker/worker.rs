//! One worker: a hand-written `mio` reactor that owns its connections (a `Slab`, slab key =
//! token), the sessions homed on it, a timer wheel, and an inbox other threads post to.
//!
//! A session lives on worker `hash(client_id) % N`; after CONNECT a connection whose session
//! lives elsewhere is handed over once, so takeovers and resumes are always local and sessions
//! are never locked. Messages for sessions on other workers, and connections handed over, are
//! batched per destination once per loop iteration: run on this thread when the destination is
//! idle, posted with one wake otherwise.
//!
//! Honours readiness (mio rules): reads drain the socket (until `WouldBlock`, or a short read,
//! see `read_ready`), writes until done or `WouldBlock`, spurious events are tolerated,
//! WRITABLE interest is held only while output is pending.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

use super::Shared;
use crate::auth::Identity;
use crate::message::{Message, MessageProperties, SessionKey};
use crate::packets::{
    self, Ack, Auth, ConnAck, Connect, DecodeError, Disconnect, Packet, PacketId, Publish,
    PublishProperties, QoS, QosPid, ReasonCode, RetainHandling, Status, SubAck, Subscribe,
    UnsubAck, Unsubscribe, Version,
};
use crate::sched::Governor;
use crate::session::{Delivery, Expiry, InFlight, Queued, Session, SubInfo};
use crate::timer::{TimerKey, TimerWheel};
use crate::topic::{SubscriptionFilter, TopicName};

mod connect;

use connect::Login;

/// The token of the worker's waker; connection tokens are slab keys, always below it.
pub(crate) const WAKER: Token = Token(usize::MAX);
/// The token of the worker's handle of the listening socket.
pub(crate) const LISTENER: Token = Token(usize::MAX - 1);

/// Bytes read per `read` call into the shared scratch buffer.
const SCRATCH: usize = 64 * 1024;
/// Output buffered for one connection past which QoS 0 messages to it are dropped and QoS 1/2
/// ones wait in the session queue: a slow client never blocks the worker.
const TX_HIGH_WATER: usize = 1024 * 1024;
/// A fully flushed output buffer larger than this is released, so quiet connections stay small.
const TX_KEEP: usize = 16 * 1024;
/// A fully flushed output buffer smaller than this is released too: not worth keeping.
const TX_REUSE: usize = 512;
/// QoS 1/2 messages in flight to a 3.1.1 client: 3.1.1 has no Receive Maximum, so roost uses
/// 5.0's default (65,535). The output high-water mark still bounds what is written ahead.
const V3_WINDOW: usize = u16::MAX as usize;
/// QoS 2 messages a 5.0 client may have unreleased towards roost (sent as Receive Maximum;
/// QoS 1 messages are acknowledged at once and never count).
const RECEIVE_MAX: u16 = 1024;
/// Topic aliases a 5.0 client may use towards roost (sent as Topic Alias Maximum).
const TOPIC_ALIAS_MAX: u16 = 64;

/// What other threads send a worker.
pub(crate) enum Inbound {
    /// A connection whose session lives here, with the bytes read so far (CONNECT first).
    HandOver(TcpStream, Vec<u8>),
    /// A message for sessions homed here.
    /// One entry per subscriber, so a delivery costs no allocation of its own: the batch vectors
    /// are reused.
    Deliver(Arc<Message>, Target),
}

/// One subscriber of a message, as routed by the publisher's worker.
pub(crate) struct Target {
    /// The subscriber's session.
    pub(crate) key: SessionKey,
    /// QoS to deliver with.
    pub(crate) qos: QoS,
    /// RETAIN to deliver with.
    pub(crate) retain: bool,
    /// Subscription identifiers of the matching subscriptions.
    pub(crate) sub_ids: Box<[NonZeroU32]>,
}

/// What a timer is for. Each carries the id of what it watches so a stale timer is ignored.
#[derive(Debug, Clone, Copy)]
enum Timer {
    /// CONNECT must arrive before this (ROOST_CONNECT_TIMEOUT).
    Connect { conn: usize, id: u64 },
    /// Keepalive deadline check (MQTT-3.1.2-24).
    KeepAlive { conn: usize, id: u64 },
    /// 3.1.1 in-session resend of unacknowledged messages (ROOST_RETRY_INTERVAL).
    Retry { conn: usize, id: u64 },
    /// A delayed will comes due (MQTT 5.0 section 3.1.3.2.2).
    WillDelay {
        slot: usize,
        generation: u32,
        epoch: u32,
    },
    /// An offline 5.0 session's expiry.
    SessionExpiry {
        slot: usize,
        generation: u32,
        epoch: u32,
    },
}

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for CONNECT (MQTT-3.1.0-1: it must be the first packet).
    AwaitConnect {
        /// The CONNECT timeout, cancelled when CONNECT arrives so its wheel slot is reused.
        timer: TimerKey,
    },
    /// Connected to the session in this slab slot.
    Active { session: usize },
    /// Being closed after a takeover: already detached from its session.
    Detached,
}

/// Why a connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// The client sent DISCONNECT: no will (MQTT-3.1.2-10), unless 5.0 reason 0x04.
    Normal { send_will: bool },
    /// The peer went away or the socket failed: the will is published.
    Lost,
    /// roost closes it, with this reason (sent in a 5.0 DISCONNECT when the phase allows).
    Violation(ReasonCode),
    /// The server is stopping: no will, sessions simply end with the process.
    Shutdown,
}

/// One network connection.
struct Conn {
    stream: TcpStream,
    /// Unique per connection on this worker, so timers of a closed one are recognised.
    id: u64,
    /// Bytes of an incomplete packet. Empty (no allocation) between packets.
    rx: Vec<u8>,
    /// Encoded packets waiting to be written.
    tx: Vec<u8>,
    /// True while WRITABLE interest is registered (only while `tx` is not empty).
    want_write: bool,
    /// True while the connection is in the worker's dirty list.
    dirty: bool,
    phase: Phase,
    version: Version,
    /// Keepalive in seconds; 0 means none.
    keep_alive: u16,
    /// When bytes last arrived (worker clock, ms).
    last_rx_ms: u64,
    /// The will message, published if the connection ends without DISCONNECT.
    will: Option<Arc<Message>>,
    /// Will Delay Interval in seconds (5.0; 0 = publish at once).
    will_delay: u32,
    /// Topic aliases both ways (5.0); created only for a client that sets one or accepts
    /// them, as most clients do neither.
    aliases: Option<Box<Aliases>>,
    /// The client's Maximum Packet Size (5.0): larger messages are not sent to it
    /// (MQTT-3.1.2-25).
    max_packet_out: u32,
}

/// A worker thread's state.
pub(crate) struct Worker {
    index: usize,
    /// Registers this worker's sockets with its `Poll` (which the thread keeps to wait on).
    registry: Registry,
    /// This worker's handle of the listening socket.
    listener: TcpListener,
    shared: Arc<Shared>,
    conns: Slab<Conn>,
    sessions: Slab<Session>,
    by_client: HashMap<Arc<str>, usize>,
    timers: TimerWheel<Timer>,
    /// The worker clock's zero.
    origin: Instant,
    /// The time of this loop iteration.
    now: Instant,
    /// `now` in milliseconds since `origin`: the timer wheel's clock.
    now_ms: u64,
    /// Reused read buffer; whole packets are decoded straight out of it.
    scratch: Vec<u8>,
    /// Per destination worker: messages to post at the end of this loop iteration.
    outboxes: Vec<Vec<Inbound>>,
    /// Reused list of the matches of one PUBLISH.
    matches: Vec<(SessionKey, SubInfo)>,
    /// Connections with output to flush at the end of this iteration.
    dirty: Vec<usize>,
    /// Reused inbox batch.
    inbox: Vec<Inbound>,
    next_conn_id: u64,
    next_generation: u32,
    next_client: u64,
    /// QoS 0 messages dropped because a client's output was full.
    dropped_qos0: u64,
    /// QoS 1/2 messages dropped from full session queues (the oldest go first).
    dropped_queued: u64,
    /// Retained messages refused because `ROOST_MAX_RETAINED` was reached.
    dropped_retained: u64,
    /// What is known of a connection's login, by slab key, for connections with a user name
    /// or an enhanced-authentication method: kept here rather than in every `Conn`, so a
    /// connection without either costs nothing. Invariant: removed when the connection closes.
    logins: HashMap<usize, Login>,
}

/// A 5.0 connection's topic aliases (section 3.3.2.3.4), kept behind one pointer in `Conn`.
#[derive(Default)]
struct Aliases {
    /// Set by the client, index = alias - 1. Invariant: empty, or `TOPIC_ALIAS_MAX` entries.
    inbound: Vec<Option<Arc<str>>>,
    /// Given by roost: a topic's alias once a PUBLISH carrying both went out. Aliases are
    /// handed out in order and never reassigned, so at most `out_max` topics get one; others
    /// are sent by name.
    outbound: HashMap<Arc<str>, NonZeroU16>,
    /// The client's Topic Alias Maximum: no alias above it is sent (MQTT-3.1.2-26), none at
    /// all when it is 0 (MQTT-3.1.2-27).
    out_max: u16,
}

impl Worker {
    pub(crate) fn new(
        index: usize,
        registry: Registry,
        listener: TcpListener,
        shared: Arc<Shared>,
    ) -> Self {
        let n = shared.workers.len();
        Worker {
            index,
            registry,
            listener,
            shared,
            conns: Slab::new(),
            sessions: Slab::new(),
            by_client: HashMap::new(),
            timers: TimerWheel::new(),
            origin: Instant::now(),
            now: Instant::now(),
            now_ms: 0,
            scratch: vec![0; SCRATCH],
            outboxes: (0..n).map(|_| Vec::new()).collect(),
            matches: Vec::new(),
            dirty: Vec::new(),
            inbox: Vec::new(),
            next_conn_id: 0,
            next_generation: 0,
            next_client: 0,
            dropped_qos0: 0,
            dropped_queued: 0,
            dropped_retained: 0,
            logins: HashMap::new(),
        }
    }

    /// Reads the clock once per loop iteration; everything in the iteration uses that time.
    fn tick(&mut self) {
        self.now = Instant::now();
        self.now_ms = duration_ms(self.now.saturating_duration_since(self.origin));
    }

    /// How long the thread may sleep: until the timer wheel's next deadline.
    fn poll_timeout(&mut self) -> Option<Duration> {
        self.tick();
        let now = self.now_ms;
        self.timers
            .next_deadline()
            .map(|d| Duration::from_millis(d.saturating_sub(now)))
    }

    /// One turn of the event loop, after `poll` returned `events`.
    fn iteration(&mut self, events: &Events, expired: &mut Vec<Timer>) {
        self.tick();
        for event in events.iter() {
            match event.token() {
                WAKER => self.drain_inbox(),
                LISTENER => self.accept(),
                Token(k) => {
                    if event.is_writable() {
                        self.flush(k);
                    }
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        // With a hang-up or an error pending, read on until the end shows.
                        let closing = event.is_read_closed() || event.is_error();
                        self.read_ready(k, closing);
                    }
                }
            }
        }
        // The waker may have fired before this iteration's poll: check the inbox anyway.
        self.drain_inbox();
        let now = self.now_ms;
        self.timers.expire(now, expired);
        for t in expired.drain(..) {
            self.on_timer(t, now);
        }
        self.end_iteration();
    }

    /// Posts cross-worker batches and flushes the connections written to in this iteration.
    fn end_iteration(&mut self) {
        let shared = Arc::clone(&self.shared);
        for w in 0..self.outboxes.len() {
            let Some(batch) = self.outboxes.get_mut(w) else {
                continue;
            };
            if batch.is_empty() {
                continue;
            }
            // An idle destination is not woken: its batch is delivered, and written to its
            // sockets, from here. Only a busy one gets the batch in its inbox.
            let direct =
                w != self.index && shared.workers.get(w).is_some_and(|r| r.deliver_now(batch));
            if !direct {
                shared.post(w, batch);
            }
        }
        self.flush_dirty();
    }

    /// Flushes in the order the connections were written to, so a subscriber's PUBLISH leaves
    /// before the publisher's PUBACK that was encoded after it.
    fn flush_dirty(&mut self) {
        let mut i = 0;
        while let Some(&k) = self.dirty.get(i) {
            i += 1;
            if let Some(c) = self.conns.get_mut(k) {
                c.dirty = false;
            }
            self.flush(k);
        }
        self.dirty.clear();
    }

    /// Runs another worker's batch on this worker, the other being idle (its state lock was
    /// free): what waited in its inbox first, so order holds (MQTT-4.6.0), then the batch, then
    /// its output is written. Its own cross-worker output goes through inboxes.
    pub(crate) fn run_batch(&mut self, batch: &mut Vec<Inbound>) -> bool {
        self.tick();
        let before = self.timers.next_deadline();
        self.drain_inbox();
        for item in batch.drain(..) {
            self.inbound(item);
        }
        self.flush_dirty();
        let shared = Arc::clone(&self.shared);
        for (w, out) in self.outboxes.iter_mut().enumerate() {
            if !out.is_empty() {
                shared.post(w, out);
            }
        }
        // Tell the caller to wake this worker if a timer now comes due before it planned to wake.
        match (before, self.timers.next_deadline()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(b), Some(a)) => a < b,
        }
    }

    fn drain_inbox(&mut self) {
        {
            let Some(remote) = self.shared.workers.get(self.index) else {
                return;
            };
            let mut inbox = remote.inbox.lock().unwrap_or_else(|e| e.into_inner());
            if inbox.is_empty() {
                return;
            }
            std::mem::swap(&mut *inbox, &mut self.inbox);
        }
        let mut batch = std::mem::take(&mut self.inbox);
        for item in batch.drain(..) {
            self.inbound(item);
        }
        self.inbox = batch;
    }

    fn inbound(&mut self, item: Inbound) {
        match item {
            Inbound::HandOver(stream, rx) => {
                self.add_conn(stream, &rx);
            }
            Inbound::Deliver(message, t) => {
                let d = Delivery {
                    message,
                    qos: t.qos,
                    retain: t.retain,
                    sub_ids: t.sub_ids,
                };
                self.deliver(t.key, d);
            }
        }
    }

    /// Accepts every pending connection (the other workers race for them too).
    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    self.add_conn(stream, &[]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and the like: what is left waits for the next readiness event.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Registers a connection and processes `initial` bytes as if just read.
    fn add_conn(&mut self, mut stream: TcpStream, initial: &[u8]) {
        let now = self.now_ms;
        let entry = self.conns.vacant_entry();
        let k = entry.key();
        if let Err(e) = self
            .registry
            .register(&mut stream, Token(k), Interest::READABLE)
        {
            log::warn!("{}: cannot register connection: {e}", peer(&stream));
            return;
        }
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        let deadline = now + duration_ms(self.shared.limits.connect_timeout);
        let timer = self.timers.insert(deadline, Timer::Connect { conn: k, id });
        entry.insert(Conn {
            stream,
            id,
            rx: Vec::new(),
            tx: Vec::new(),
            want_write: false,
            dirty: false,
            phase: Phase::AwaitConnect { timer },
            version: Version::V3_1_1,
            keep_alive: 0,
            last_rx_ms: now,
            will: None,
            will_delay: 0,
            aliases: None,
            max_packet_out: u32::MAX,
        });
        if !initial.is_empty() {
            self.ingest(k, initial);
        }
    }

    /// Reads until the socket is drained, decoding whole packets straight from the scratch
    /// buffer and keeping only the bytes of an incomplete packet in the connection.
    ///
    /// A read that fills less than its buffer has drained the socket, so unless `closing`, the
    /// loop stops there instead of paying one more `read` for the `WouldBlock`: the poll is
    /// edge-triggered, and bytes that arrive afterwards raise a new event (as tokio does).
    /// With a hang-up pending no new edge would come, so then it reads until end of stream.
    fn read_ready(&mut self, k: usize, closing: bool) {
        loop {
            let Some(conn) = self.conns.get_mut(k) else {
                return;
            };
            let from_scratch = conn.rx.is_empty();
            let (result, asked) = if from_scratch {
                (conn.stream.read(&mut self.scratch), self.scratch.len())
            } else {
                let old = conn.rx.len();
                let asked = SCRATCH.min(conn.rx.capacity().max(4096));
                conn.rx.resize(old + asked, 0);
                let r = conn.stream.read(conn.rx.get_mut(old..).unwrap_or_default());
                conn.rx.truncate(old + *r.as_ref().unwrap_or(&0));
                (r, asked)
            };
            match result {
                Ok(0) => {
                    self.close(k, Close::Lost);
                    return;
                }
                Ok(n) => {
                    let now = self.now_ms;
                    if let Some(c) = self.conns.get_mut(k) {
                        c.last_rx_ms = now;
                    }
                    if from_scratch {
                        let scratch = std::mem::take(&mut self.scratch);
                        self.ingest(k, scratch.get(..n).unwrap_or_default());
                        self.scratch = scratch;
                    } else {
                        let rx = self
                            .conns
                            .get_mut(k)
                            .map(|c| std::mem::take(&mut c.rx))
                            .unwrap_or_default();
                        // `ingest` keeps any incomplete tail in the connection's `rx` again.
                        self.ingest(k, &rx);
                    }
                    if n < asked && !closing {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(k, Close::Lost);
                    return;
                }
            }
        }
    }

    /// Decodes and handles every whole packet in `data`; an incomplete tail is kept in the
    /// connection's `rx`.
    fn ingest(&mut self, k: usize, data: &[u8]) {
        let max = self.shared.limits.max_packet_size;
        let mut pos = 0;
        while pos < data.len() {
            let Some(conn) = self.conns.get(k) else {
                return;
            };
            let version = conn.version;
            let rest = data.get(pos..).unwrap_or_default();
            let frame = match packets::parse_frame(rest, max) {
                Ok(Status::Complete(f)) => f,
                Ok(Status::Partial(_)) => break,
                Err(e) => {
                    self.violation(k, e);
                    return;
                }
            };
            let packet = match Packet::decode(&frame, version) {
                Ok(p) => p,
                Err(e) => {
                    let is_connect = frame.packet_type == packets::PacketType::Connect;
                    if is_connect && connect_level(frame.body) == Some(5) {
                        // Answer a broken 5.0 CONNECT in 5.0 (a CONNACK with the reason).
                        if let Some(c) = self.conns.get_mut(k) {
                            c.version = Version::V5;
                        }
                    }
                    self.violation(k, e);
                    return;
                }
            };
            match self.handle(k, packet) {
                Flow::Continue => pos += frame.len,
                Flow::Stop => return,
                Flow::HandOver(home) => {
                    self.hand_over(k, home, rest);
                    return;
                }
            }
        }
        if let Some(conn) = self.conns.get_mut(k) {
            let tail = data.get(pos..).unwrap_or_default();
            conn.rx.clear();
            conn.rx.extend_from_slice(tail);
            if conn.rx.is_empty() && conn.rx.capacity() > 0 {
                conn.rx = Vec::new();
            }
        }
    }

    fn violation(&mut self, k: usize, e: DecodeError) {
        if let Some(c) = self.conns.get(k) {
            log::debug!("{}: closing: {e}", peer(&c.stream));
        }
        self.close(k, Close::Violation(e.reason_code()));
    }

    /// Moves a connection to the worker its session lives on, with `rx` (CONNECT first). It
    /// travels in that worker's batch of this iteration, after the messages routed to it
    /// before, so an idle home worker gets it run on this thread and the CONNACK out without
    /// being woken.
    fn hand_over(&mut self, k: usize, home: usize, rx: &[u8]) {
        let Some(mut conn) = self.conns.try_remove(k) else {
            return;
        };
        if let Phase::AwaitConnect { timer } = conn.phase {
            self.timers.cancel(timer);
        }
        let _ = self.registry.deregister(&mut conn.stream);
        match self.outboxes.get_mut(home) {
            Some(out) => out.push(Inbound::HandOver(conn.stream, rx.to_vec())),
            None => log::error!("no worker {home} to hand a connection to"),
        }
    }

    fn handle(&mut self, k: usize, packet: Packet<'_>) -> Flow {
        let Some(conn) = self.conns.get(k) else {
            return Flow::Stop;
        };
        let phase = conn.phase;
        let authenticating = self.enhanced(k).is_some_and(|e| e.admission.is_some());
        match (phase, packet) {
            (Phase::AwaitConnect { .. }, Packet::Connect(c)) if !authenticating => {
                self.on_connect(k, &c)
            }
            (Phase::AwaitConnect { .. }, Packet::Auth(a)) if authenticating => {
                self.on_auth_connecting(k, &a)
            }
            (Phase::AwaitConnect { .. }, Packet::Disconnect(_)) if authenticating => {
                // MQTT-3.1.2-30: AUTH or DISCONNECT only, until CONNACK.
                self.close(k, Close::Shutdown);
                Flow::Stop
            }
            (Phase::Detached, _) => Flow::Stop,
            (Phase::AwaitConnect { .. }, _) => {
                // MQTT-3.1.0-1: the first packet must be CONNECT; MQTT-3.1.2-30: during an
                // authentication exchange, only AUTH and DISCONNECT may follow it.
                self.close(k, Close::Violation(ReasonCode::ProtocolError));
                Flow::Stop
            }
            (Phase::Active { session }, packet) => self.on_packet(k, session, packet),
        }
    }

    fn on_packet(&mut self, k: usize, s: usize, packet: Packet<'_>) -> Flow {
        match packet {
            Packet::Publish(p) => return self.on_publish(k, s, &p),
            Packet::PubAck(a) => {
                if let Some(session) = self.sessions.get_mut(s) {
                    session.puback(a.packet_id);
                }
                self.pump(s);
            }
            Packet::PubRec(a) => {
                let now = self.now_ms;
                let known = self
                    .sessions
                    .get_mut(s)
                    .is_some_and(|x| x.pubrec(a.packet_id, now));
                let mut rel = Ack::new(a.packet_id);
                if !known {
                    rel.reason = ReasonCode::PacketIdentifierNotFound;
                }
                if a.reason.is_error() && known {
                    // 5.0: a PUBREC with an error ends the exchange (section 4.3.3).
                    if let Some(session) = self.sessions.get_mut(s) {
                        session.pubcomp(a.packet_id);
                    }
                    self.pump(s);
                } else {
                    self.send(k, &Packet::PubRel(rel));
                }
            }
            Packet::PubRel(a) => {
                let known = self
                    .sessions
                    .get_mut(s)
                    .is_some_and(|x| x.qos2_release(a.packet_id));
                let mut comp = Ack::new(a.packet_id);
                if !known {
                    comp.reason = ReasonCode::PacketIdentifierNotFound;
                }
                self.send(k, &Packet::PubComp(comp));
            }
            Packet::PubComp(a) => {
                if let Some(session) = self.sessions.get_mut(s) {
                    session.pubcomp(a.packet_id);
                }
                self.pump(s);
            }
            Packet::Subscribe(sub) => return self.on_subscribe(k, s, &sub),
            Packet::Unsubscribe(u) => self.on_unsubscribe(k, s, &u),
            Packet::PingReq => self.send(k, &Packet::PingResp),
            Packet::Disconnect(d) => return self.on_disconnect(k, s, &d),
            Packet::Connect(_) => {
                // MQTT-3.1.0-2: a second CONNECT is a protocol violation.
                self.close(k, Close::Violation(ReasonCode::ProtocolError));
                return Flow::Stop;
            }
            Packet::Auth(a) => return self.on_reauth(k, s, &a),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                // Only a server sends these.
                self.close(k, Close::Violation(ReasonCode::ProtocolError));
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Resends what was in flight (DUP set, MQTT-4.4.0-1) and then the queue.
    fn resume(&mut self, k: usize, s: usize) {
        let now = self.now;
        let now_ms = self.now_ms;
        let (Some(session), Some(conn)) = (self.sessions.get_mut(s), self.conns.get_mut(k)) else {
            return;
        };
        for f in session.inflight_mut() {
            encode_into(conn, k, &mut self.dirty, &f.resend(now, now_ms));
        }
        self.pump(s);
    }

    /// Sends queued messages while the window and the connection have room.
    fn pump(&mut self, s: usize) {
        let now = self.now;
        let now_ms = self.now_ms;
        let Some(session) = self.sessions.get_mut(s) else {
            return;
        };
        let Some(k) = session.conn else { return };
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        while session.window_open() && conn.tx.len() < TX_HIGH_WATER {
            let Some(d) = session.pop_queued() else {
                break;
            };
            if let Err(d) = transmit(conn, k, &mut self.dirty, session, d, now, now_ms) {
                session.unpop_queued(d);
                break;
            }
        }
    }

    fn on_publish(&mut self, k: usize, s: usize, p: &Publish<'_>) -> Flow {
        let Some(conn) = self.conns.get_mut(k) else {
            return Flow::Stop;
        };
        let v5 = conn.version.is_v5();
        // Topic aliases (MQTT 5.0 section 3.3.2.3.4).
        let topic: Arc<str> = match p.properties.topic_alias {
            Some(alias) => {
                let a = alias.get();
                if a > TOPIC_ALIAS_MAX {
                    self.close(k, Close::Violation(ReasonCode::TopicAliasInvalid)); // MQTT-3.3.2-9
                    return Flow::Stop;
                }
                let idx = usize::from(a - 1);
                if p.topic.is_empty() {
                    match conn
                        .aliases
                        .as_ref()
                        .and_then(|a| a.inbound.get(idx).cloned().flatten())
                    {
                        Some(t) => t,
                        None => {
                            self.close(k, Close::Violation(ReasonCode::ProtocolError));
                            return Flow::Stop;
                        }
                    }
                } else {
                    let t: Arc<str> = Arc::from(p.topic);
                    let aliases = conn.aliases.get_or_insert_with(Box::default);
                    if aliases.inbound.is_empty() {
                        aliases.inbound = vec![None; usize::from(TOPIC_ALIAS_MAX)];
                    }
                    if let Some(slot) = aliases.inbound.get_mut(idx) {
                        *slot = Some(Arc::clone(&t));
                    }
                    t
                }
            }
            None => match self.sessions.get_mut(s) {
                // Publishers mostly repeat a topic: reuse the last one's allocation.
                Some(x) => x.topic_for(p.topic),
                None => Arc::from(p.topic),
            },
        };
        let qos_pid = p.qos_pid;
        // MQTT-3.3.2-... : a payload declared UTF-8 must be UTF-8 (5.0, reason 0x99).
        if v5
            && p.properties.payload_is_utf8 == Some(true)
            && std::str::from_utf8(p.payload).is_err()
        {
            match qos_pid {
                QosPid::AtMostOnce => {
                    self.close(k, Close::Violation(ReasonCode::PayloadFormatInvalid));
                    return Flow::Stop;
                }
                QosPid::AtLeastOnce(id) => self.send(
                    k,
                    &Packet::PubAck(reason_ack(id, ReasonCode::PayloadFormatInvalid)),
                ),
                QosPid::ExactlyOnce(id) => self.send(
                    k,
                    &Packet::PubRec(reason_ack(id, ReasonCode::PayloadFormatInvalid)),
                ),
            }
            return Flow::Continue;
        }
        if let QosPid::ExactlyOnce(id) = qos_pid {
            let seen = self.sessions.get(s).is_some_and(|x| x.qos2_pending(id));
            if seen {
                // A re-sent QoS 2 PUBLISH: acknowledged again, not delivered twice (MQTT-4.3.3-9).
                self.send(k, &Packet::PubRec(Ack::new(id)));
                return Flow::Continue;
            }
            let unreleased = self.sessions.get(s).map_or(0, |x| x.qos2_unreleased());
            if v5 && unreleased >= usize::from(RECEIVE_MAX) {
                // MQTT-3.3.4-8: more unacknowledged QoS 2 PUBLISHes than our Receive Maximum.
                self.close(k, Close::Violation(ReasonCode::ReceiveMaximumExceeded));
                return Flow::Stop;
            }
        }
        if !self.may_publish(k, s, &topic, qos_pid.qos(), p.retain) {
            self.refuse_publish(k, s, qos_pid, ReasonCode::NotAuthorized);
            return Flow::Continue;
        }
        let origin = self.sessions.get(s).map(|x| x.key);
        let message = Arc::new(Message::from_publish(p, topic, origin, self.now));
        if p.retain && !self.retain(&message) {
            self.dropped_retained += 1;
            log::debug!(
                "retained message for {:?} refused: ROOST_MAX_RETAINED reached",
                message.topic
            );
            self.refuse_publish(k, s, qos_pid, ReasonCode::QuotaExceeded);
            return Flow::Continue;
        }
        let matched = self.route(message);
        let reason = if matched == 0 && v5 {
            ReasonCode::NoMatchingSubscribers
        } else {
            ReasonCode::Success
        };
        match qos_pid {
            QosPid::AtMostOnce => {}
            QosPid::AtLeastOnce(id) => self.send(k, &Packet::PubAck(reason_ack(id, reason))),
            QosPid::ExactlyOnce(id) => {
                if let Some(x) = self.sessions.get_mut(s) {
                    x.qos2_received(id);
                }
                self.send(k, &Packet::PubRec(reason_ack(id, reason)));
            }
        }
        Flow::Continue
    }

    /// Answers a PUBLISH that is refused as a whole (neither delivered nor retained): 5.0
    /// clients get `reason` in PUBACK or PUBREC; 3.1.1 has no way to say so, so its flow
    /// completes as usual.
    fn refuse_publish(&mut self, k: usize, s: usize, qos_pid: QosPid, reason: ReasonCode) {
        let v5 = self.conns.get(k).is_some_and(|c| c.version.is_v5());
        match qos_pid {
            QosPid::AtMostOnce => {}
            QosPid::AtLeastOnce(id) if v5 => self.send(k, &Packet::PubAck(reason_ack(id, reason))),
            // A 5.0 PUBREC with an error ends the exchange (section 4.3.3): no id is kept.
            QosPid::ExactlyOnce(id) if v5 => self.send(k, &Packet::PubRec(reason_ack(id, reason))),
            QosPid::AtLeastOnce(id) => self.send(k, &Packet::PubAck(Ack::new(id))),
            QosPid::ExactlyOnce(id) => {
                if let Some(x) = self.sessions.get_mut(s) {
                    x.qos2_received(id);
                }
                self.send(k, &Packet::PubRec(Ack::new(id)));
            }
        }
    }

    /// Asks the hook whether the client on connection `k` (session `s`) may publish to `topic`.
    fn may_publish(&self, k: usize, s: usize, topic: &str, qos: QoS, retain: bool) -> bool {
        let who = self.identity(k, s);
        self.shared.auth.may_publish(&who, topic, qos, retain)
    }

    /// The client on connection `k` with session `s`, for the hook.
    fn identity(&self, k: usize, s: usize) -> Identity<'_> {
        let username = self.login(k).and_then(|l| l.username.as_deref());
        Identity {
            client_id: self.sessions.get(s).map_or("", |x| &x.client_id),
            username,
            protocol: self.conns.get(k).map_or(Version::V3_1_1, |c| c.version),
        }
    }

    /// Stores or deletes (empty payload, MQTT-3.3.1-10) the retained message of a topic.
    /// False (and nothing stored) when it would be a new topic past `ROOST_MAX_RETAINED`.
    fn retain(&self, message: &Arc<Message>) -> bool {
        // The message's own topic string becomes the store's key: no second copy.
        let Ok(name) = TopicName::from_shared(Arc::clone(&message.topic)) else {
            return true;
        };
        let value = (!message.payload.is_empty()).then(|| Arc::clone(message));
        let mut store = self
            .shared
            .retained
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let max = self.shared.limits.max_retained;
        if max > 0 && value.is_some() && store.len() >= max && store.get(&message.topic).is_none() {
            return false;
        }
        store.set(&name, value);
        true
    }

    /// Delivers a message to every matching subscription: one delivery per session with the
    /// highest granted QoS and all subscription ids. Returns how many sessions it went to.
    fn route(&mut self, message: Arc<Message>) -> usize {
        let mut matches = std::mem::take(&mut self.matches);
        matches.clear();
        {
            let subs = self.shared.subs.read().unwrap_or_else(|e| e.into_inner());
            subs.for_each_match(&message.topic, |m| match m {
                crate::topic::Match::Normal(key, info) => matches.push((*key, *info)),
                crate::topic::Match::Shared(group) => {
                    if let Some((key, info)) = group.pick() {
                        matches.push((*key, *info));
                    }
                }
            });
        }
        if matches.len() > 1 {
            matches.sort_unstable_by_key(|(key, _)| *key);
        }
        let mut count = 0;
        let mut i = 0;
        while i < matches.len() {
            let Some(&(key, _)) = matches.get(i) else {
                break;
            };
            let mut j = i;
            let mut qos = None;
            let mut retain = false;
            let mut ids: Vec<NonZeroU32> = Vec::new();
            while let Some(&(k2, info)) = matches.get(j) {
                if k2 != key {
                    break;
                }
                j += 1;
                // MQTT-3.8.3-3: No Local.
                if info.options.no_local && message.origin == Some(key) {
                    continue;
                }
                let granted = info.options.qos.min(message.qos);
                qos = Some(qos.map_or(granted, |q: QoS| q.max(granted)));
                // MQTT-3.3.1-12 / Retain As Published (MQTT-3.3.1-13).
                retain |= info.options.retain_as_published && message.retain;
                if let Some(id) = info.id {
                    ids.push(id);
                }
            }
            i = j;
            let Some(qos) = qos else { continue };
            count += 1;
            let sub_ids: Box<[NonZeroU32]> = ids.into_boxed_slice();
            if usize::from(key.worker) == self.index {
                self.deliver(
                    key,
                    Delivery {
                        message: Arc::clone(&message),
                        qos,
                        retain,
                        sub_ids,
                    },
                );
            } else if let Some(out) = self.outboxes.get_mut(usize::from(key.worker)) {
                let target = Target {
                    key,
                    qos,
                    retain,
                    sub_ids,
                };
                out.push(Inbound::Deliver(Arc::clone(&message), target));
            }
        }
        self.matches = matches;
        count
    }

    /// Hands one message to one session on this worker: sent now if the client is connected
    /// and has room, queued (QoS 1/2) or dropped (QoS 0) otherwise.
    fn deliver(&mut self, key: SessionKey, d: Delivery) {
        let now = self.now;
        let Some(session) = self.sessions.get_mut(key.slot as usize) else {
            return;
        };
        if session.key != key || d.message.is_expired(now) {
            return;
        }
        let max_queued = self.shared.limits.max_queued;
        let conn = session
            .conn
            .and_then(|k| self.conns.get_mut(k).map(|c| (k, c)));
        // What is not sent now: QoS 0 is dropped, QoS 1/2 waits in the session queue.
        let unsent = match conn {
            None => d,
            Some((k, conn)) => {
                let has_room = conn.tx.len() < TX_HIGH_WATER;
                let behind = !has_room || (d.qos != QoS::AtMostOnce && session.has_queued());
                if behind {
                    d
                } else {
                    match transmit(conn, k, &mut self.dirty, session, d, now, self.now_ms) {
                        Ok(()) => return,
                        Err(d) => d,
                    }
                }
            }
        };
        if unsent.qos == QoS::AtMostOnce {
            if session.conn.is_some() {
                self.dropped_qos0 += 1;
            }
        } else if session.enqueue(unsent, max_queued) == Queued::DroppedOldest {
            self.dropped_queued += 1;
        }
    }

    fn on_subscribe(&mut self, k: usize, s: usize, sub: &Subscribe<'_>) -> Flow {
        let Some(conn) = self.conns.get(k) else {
            return Flow::Stop;
        };
        let v5 = conn.version.is_v5();
        let Some(key) = self.sessions.get(s).map(|x| x.key) else {
            return Flow::Stop;
        };
        let mut reasons = Vec::with_capacity(sub.filters.len());
        let mut retained: Vec<(Arc<Message>, QoS, bool)> = Vec::new();
        for entry in &sub.filters {
            let filter = match SubscriptionFilter::parse(entry.filter) {
                Ok(f) => f,
                Err(_) => {
                    reasons.push(ReasonCode::TopicFilterInvalid); // 3.1.1: 0x80 (MQTT-3.9.3-2)
                    continue;
                }
            };
            let shared_sub = matches!(filter, SubscriptionFilter::Shared(_));
            if v5 && shared_sub && entry.options.no_local {
                // MQTT-3.8.3-4: No Local on a shared subscription is a Protocol Error.
                self.close(k, Close::Violation(ReasonCode::ProtocolError));
                return Flow::Stop;
            }
            let who = self.identity(k, s);
            if !self
                .shared
                .auth
                .may_subscribe(&who, entry.filter, entry.options.qos)
            {
                reasons.push(ReasonCode::NotAuthorized); // 3.1.1: 0x80
                continue;
            }
            let info = SubInfo {
                options: entry.options,
                id: sub.properties.subscription_id,
            };
            let existed = self
                .sessions
                .get_mut(s)
                .map(|x| x.subscribe(filter.clone(), info))
                .unwrap_or(false);
            {
                let mut subs = self.shared.subs.write().unwrap_or_else(|e| e.into_inner());
                subs.insert(&filter, key, info);
            }
            reasons.push(match entry.options.qos {
                QoS::AtMostOnce => ReasonCode::Success,
                QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
            });
            // MQTT-3.3.1-9 / Retain Handling: retained messages go to new (or every) subscription,
            // never to a shared one (MQTT 5.0 section 4.8.2).
            let send = match entry.options.retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendIfNew => !existed,
                RetainHandling::DoNotSend => false,
            };
            if send && !shared_sub {
                let store = self
                    .shared
                    .retained
                    .read()
                    .unwrap_or_else(|e| e.into_inner());
                store.for_each_matching(filter.topic_filter(), |_, m| {
                    retained.push((Arc::clone(m), entry.options.qos, true));
                });
            }
        }
        let ack = SubAck {
            packet_id: sub.packet_id,
            reasons,
            properties: Default::default(),
        };
        self.send(k, &Packet::SubAck(ack));
        for (m, granted, retain) in retained {
            let qos = granted.min(m.qos);
            // MQTT-3.3.1-8: retained messages sent on subscribe carry RETAIN=1.
            self.deliver(
                key,
                Delivery {
                    message: m,
                    qos,
                    retain,
                    sub_ids: sub.properties.subscription_id.into_iter().collect(),
                },
            );
        }
        Flow::Continue
    }

    fn on_unsubscribe(&mut self, k: usize, s: usize, u: &Unsubscribe<'_>) {
        let Some(key) = self.sessions.get(s).map(|x| x.key) else {
            return;
        };
        let mut reasons = Vec::with_capacity(u.filters.len());
        for text in &u.filters {
            let Ok(filter) = SubscriptionFilter::parse(text) else {
                reasons.push(ReasonCode::TopicFilterInvalid);
                continue;
            };
            let removed = self
                .sessions
                .get_mut(s)
                .is_some_and(|x| x.unsubscribe(&filter));
            if removed {
                let mut subs = self.shared.subs.write().unwrap_or_else(|e| e.into_inner());
                subs.remove(&filter, key);
            }
            reasons.push(if removed {
                ReasonCode::Success
            } else {
                ReasonCode::NoSubscriptionExisted
            });
        }
        let ack = UnsubAck {
            packet_id: u.packet_id,
            reasons,
            properties: Default::default(),
        };
        self.send(k, &Packet::UnsubAck(ack));
    }

    fn on_disconnect(&mut self, k: usize, s: usize, d: &Disconnect<'_>) -> Flow {
        if let Some(interval) = d.properties.session_expiry_interval {
            let Some(session) = self.sessions.get_mut(s) else {
                return Flow::Stop;
            };
            if session.expiry == Expiry::AtClose && interval != 0 {
                // MQTT-3.14.2-2: 0 at CONNECT cannot become non-zero at DISCONNECT.
                self.close(k, Close::Violation(ReasonCode::ProtocolError));
                return Flow::Stop;
            }
            session.expiry = Expiry::from_interval(interval);
        }
        let send_will = d.reason == ReasonCode::DisconnectWithWillMessage;
        self.close(k, Close::Normal { send_will });
        Flow::Stop
    }

    fn on_timer(&mut self, t: Timer, now: u64) {
        match t {
            Timer::Connect { conn, id } => {
                if self
                    .conns
                    .get(conn)
                    .is_some_and(|c| c.id == id && matches!(c.phase, Phase::AwaitConnect { .. }))
                {
                    if let Some(c) = self.conns.get(conn) {
                        log::debug!("{}: no CONNECT in time", peer(&c.stream));
                    }
                    self.close(conn, Close::Shutdown);
                }
            }
            Timer::KeepAlive { conn, id } => {
                let Some(c) = self.conns.get(conn) else {
                    return;
                };
                if c.id != id || c.keep_alive == 0 {
                    return;
                }
                let deadline = c.last_rx_ms + u64::from(c.keep_alive) * 1500;
                if now >= deadline {
                    log::debug!("{}: keepalive timeout", peer(&c.stream));
                    self.close(conn, Close::Violation(ReasonCode::KeepAliveTimeout));
                } else {
                    self.timers.insert(deadline, Timer::KeepAlive { conn, id });
                }
            }
            Timer::Retry { conn, id } => self.retry(conn, id, now),
            Timer::WillDelay {
                slot,
                generation,
                epoch,
            } => {
                let due = self.sessions.get_mut(slot).filter(|s| {
                    s.key.generation == generation && s.epoch == epoch && s.conn.is_none()
                });
                if let Some(w) = due.and_then(|s| s.pending_will.take()) {
                    self.route_will(w);
                }
            }
            Timer::SessionExpiry {
                slot,
                generation,
                epoch,
            } => {
                let expired = self.sessions.get(slot).is_some_and(|s| {
                    s.key.generation == generation && s.epoch == epoch && s.conn.is_none()
                });
                if expired {
                    self.end_session(slot);
                }
            }
        }
    }

    /// 3.1.1 only: resends messages unacknowledged for longer than ROOST_RETRY_INTERVAL.
    fn retry(&mut self, k: usize, id: u64, now_ms: u64) {
        let Some(interval) = self.shared.limits.retry_interval.map(duration_ms) else {
            return;
        };
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        if conn.id != id {
            return;
        }
        if let Phase::Active { session } = conn.phase {
            if let Some(session) = self.sessions.get_mut(session) {
                let now = self.now;
                let due = |f: &&mut InFlight| now_ms.saturating_sub(f.sent_ms) >= interval;
                for f in session.inflight_mut().filter(due) {
                    encode_into(conn, k, &mut self.dirty, &f.resend(now, now_ms));
                }
            }
        }
        self.timers
            .insert(now_ms + interval, Timer::Retry { conn: k, id });
    }

    /// Encodes `packet` for connection `k` (in its version) and schedules a flush.
    fn send(&mut self, k: usize, packet: &Packet<'_>) {
        if let Some(conn) = self.conns.get_mut(k) {
            encode_into(conn, k, &mut self.dirty, packet);
        }
    }

    /// Writes pending output until it is gone or the socket would block.
    fn flush(&mut self, k: usize) {
        let Some(conn) = self.conns.get_mut(k) else {
            return;
        };
        let mut written = 0;
        let mut failed = false;
        while written < conn.tx.len() {
            match conn
                .stream
                .write(conn.tx.get(written..).unwrap_or_default())
            {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            conn.tx.clear();
            self.close(k, Close::Lost);
            return;
        }
        conn.tx.drain(..written);
        let pending = !conn.tx.is_empty();
        // A drained buffer is kept only while it is of a size worth reusing: small ones (a
        // quiet connection's CONNACK and SUBACK) and very large ones are released.
        if !pending && (conn.tx.capacity() > TX_KEEP || conn.tx.capacity() < TX_REUSE) {
            conn.tx = Vec::new();
        }
        if pending != conn.want_write {
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if self
                .registry
                .reregister(&mut conn.stream, Token(k), interest)
                .is_ok()
            {
                conn.want_write = pending;
            }
        }
        if written > 0 && !pending {
            if let Phase::Active { session } = conn.phase {
                let queued = self.sessions.get(session).is_some_and(|s| s.has_queued());
                if queued {
                    self.pump(session);
                }
            }
        }
    }

    /// Closes connection `k`: says why (5.0), publishes the will when due, and ends or keeps the
    /// session according to its expiry.
    fn close(&mut self, k: usize, why: Close) {
        let Some(mut conn) = self.conns.try_remove(k) else {
            return;
        };
        if !self.logins.is_empty() {
            self.logins.remove(&k);
        }
        if let (Close::Violation(reason), Phase::Active { .. }) = (why, conn.phase) {
            if conn.version.is_v5() && reason.allowed_in(packets::PacketType::Disconnect) {
                let _ =
                    Packet::Disconnect(Disconnect::new(reason)).encode(Version::V5, &mut conn.tx);
            }
        }
        if let (Close::Violation(reason), Phase::AwaitConnect { .. }) = (why, conn.phase) {
            let connack = Packet::ConnAck(ConnAck::new(false, reason));
            if reason == ReasonCode::UnsupportedProtocolVersion {
                // MQTT-3.1.2-2: CONNACK return code 0x01, in 3.1.1 form, then close.
                let _ = connack.encode(Version::V3_1_1, &mut conn.tx);
            } else if conn.version.is_v5() && reason.allowed_in(packets::PacketType::ConnAck) {
                // A 5.0 CONNECT that fails to decode gets a CONNACK with the reason (MQTT 5.0
                // section 3.1.4) before the close.
                let _ = connack.encode(Version::V5, &mut conn.tx);
            }
        }
        if !conn.tx.is_empty() {
            let _ = conn.stream.write(&conn.tx);
        }
        let _ = self.registry.deregister(&mut conn.stream);
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);
        let Phase::Active { session } = conn.phase else {
            return;
        };
        let send_will = match why {
            Close::Normal { send_will } => send_will,
            Close::Lost | Close::Violation(_) => true,
            Close::Shutdown => false,
        };
        let now = self.now_ms;
        if let (true, Some(w)) = (send_will, conn.will.take()) {
            let delayed = conn.will_delay > 0
                && self
                    .sessions
                    .get(session)
                    .is_some_and(|s| s.expiry != Expiry::AtClose);
            if delayed {
                // Held until the delay ends or the session does, whichever is first.
                if let Some(s) = self.sessions.get_mut(session) {
                    s.pending_will = Some(w);
                    let timer = Timer::WillDelay {
                        slot: session,
                        generation: s.key.generation,
                        epoch: s.epoch,
                    };
                    self.timers
                        .insert(now + u64::from(conn.will_delay) * 1000, timer);
                }
            } else {
                self.route_will(w);
            }
        }
        let Some(s) = self.sessions.get_mut(session) else {
            return;
        };
        s.conn = None;
        match s.expiry {
            Expiry::AtClose => self.end_session(session),
            Expiry::Never => {}
            Expiry::After(secs) => {
                let deadline = now + u64::from(secs) * 1000;
                let timer = Timer::SessionExpiry {
                    slot: session,
                    generation: s.key.generation,
                    epoch: s.epoch,
                };
                self.timers.insert(deadline, timer);
            }
        }
    }

    fn route_will(&mut self, will: Arc<Message>) {
        if will.retain && !self.retain(&will) {
            // Nobody can be told: the will is still delivered, just not kept.
            self.dropped_retained += 1;
            log::debug!(
                "retained will for {:?} not kept: ROOST_MAX_RETAINED reached",
                will.topic
            );
        }
        self.route(will);
    }

    /// Discards a session's state and subscriptions (clean start).
    fn clear_session(&mut self, slot: usize) {
        let Some(session) = self.sessions.get_mut(slot) else {
            return;
        };
        let key = session.key;
        let subs = session.clear();
        if !subs.is_empty() {
            let mut trie = self.shared.subs.write().unwrap_or_else(|e| e.into_inner());
            for (filter, _) in &subs {
                trie.remove(filter, key);
            }
        }
    }

    /// Removes a session entirely; a will still held back goes out now (MQTT-3.1.3-9).
    fn end_session(&mut self, slot: usize) {
        if let Some(w) = self
            .sessions
            .get_mut(slot)
            .and_then(|s| s.pending_will.take())
        {
            self.route_will(w);
        }
        self.clear_session(slot);
        if let Some(session) = self.sessions.try_remove(slot) {
            self.by_client.remove(&session.client_id);
        }
    }

    /// Closes every connection, telling 5.0 clients the server is shutting down.
    fn shutdown(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            if let Some(conn) = self.conns.get_mut(k) {
                if conn.version.is_v5() && matches!(conn.phase, Phase::Active { .. }) {
                    let _ = Packet::Disconnect(Disconnect::new(ReasonCode::ServerShuttingDown))
                        .encode(Version::V5, &mut conn.tx);
                }
            }
            self.close(k, Close::Shutdown);
        }
        log::info!(
            "worker {} stopped ({} QoS 0 messages dropped for full outputs, {} queued QoS 1/2 messages dropped for full queues, {} retained messages refused by ROOST_MAX_RETAINED)",
            self.index,
            self.dropped_qos0,
            self.dropped_queued,
            self.dropped_retained
        );
    }
}

/// The worker thread: waits on `poll` with the state unlocked, then runs one iteration with it
/// locked, until shutdown. Other workers take the lock only to deliver to this one while it is
/// idle.
pub(crate) fn run_thread(index: usize, mut poll: Poll, shared: Arc<Shared>) {
    let Some(remote) = shared.workers.get(index) else {
        return;
    };
    let mut events = Events::with_capacity(1024);
    let mut expired = Vec::new();
    let mut timeout = remote.lock().as_mut().and_then(Worker::poll_timeout);
    let mut governor = Governor::start(shared.limits.sched, index);
    loop {
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error!("worker {index}: poll failed: {e}");
                break;
            }
        }
        let mut state = remote.lock();
        let Some(worker) = state.as_mut() else {
            return;
        };
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        worker.iteration(&events, &mut expired);
        // Computed under the same lock: a worker delivering here while this one sleeps wakes
        // it if it adds an earlier timer (`run_batch`).
        timeout = worker.poll_timeout();
        // The clock this turn already read. Unlocked first, so the once-a-second `/proc/stat`
        // read never holds up another worker delivering here.
        let now = worker.now;
        drop(state);
        governor.check(now, index);
    }
    if let Some(worker) = remote.lock().as_mut() {
        worker.shutdown();
    }
}

/// What the read loop does after a packet.
enum Flow {
    /// Go on with the next packet.
    Continue,
    /// The connection is closed or handed over: stop reading it.
    Stop,
    /// The session lives on this worker: move the connection there, CONNECT included.
    HandOver(usize),
}

/// Sends `d` on `conn` now: QoS 0 as it is, QoS 1/2 with a packet id from the session's window.
/// A message larger than the client accepts is dropped as if sent (MQTT-3.1.2-25). Gives `d`
/// back when the window is closed.
fn transmit(
    conn: &mut Conn,
    k: usize,
    dirty: &mut Vec<usize>,
    session: &mut Session,
    d: Delivery,
    now: Instant,
    now_ms: u64,
) -> Result<(), Delivery> {
    if d.message.is_expired(now) {
        return Ok(()); // MQTT-3.3.2-5
    }
    let id = match d.qos {
        QoS::AtMostOnce => None,
        _ => match session.reserve() {
            Some(id) => Some(id),
            None => return Err(d),
        },
    };
    let qos_pid = id.map_or(QosPid::AtMostOnce, |id| QosPid::new(d.qos, id));
    let mut publish = d
        .message
        .to_publish(qos_pid, false, d.retain, &d.sub_ids, now);
    let new_alias = match conn.aliases.as_deref().filter(|a| a.out_max > 0) {
        None => None,
        Some(a) => match a.outbound.get(&d.message.topic) {
            Some(&alias) => {
                // The client knows this alias: the topic is left out (section 3.3.2.3.4).
                publish.topic = "";
                publish.properties.topic_alias = Some(alias);
                None
            }
            None if a.outbound.len() < usize::from(a.out_max) => {
                let alias = u16::try_from(a.outbound.len() + 1)
                    .ok()
                    .and_then(NonZeroU16::new);
                publish.properties.topic_alias = alias;
                alias
            }
            None => None,
        },
    };
    let sent = encode_into(conn, k, dirty, &Packet::Publish(publish));
    if let (true, Some(alias), Some(a)) = (sent, new_alias, conn.aliases.as_deref_mut()) {
        // Only once the PUBLISH that sets it is on its way (it may be too large to send).
        a.outbound.insert(Arc::clone(&d.message.topic), alias);
    }
    match id {
        Some(id) if sent => session.record(id, d, now_ms),
        Some(id) => {
            session.unreserve(id);
        }
        None => {}
    }
    Ok(())
}

/// Encodes `packet` into the connection's output and marks it for flushing. A packet larger
/// than the client accepts is not sent (MQTT-3.1.2-25).
fn encode_into(conn: &mut Conn, k: usize, dirty: &mut Vec<usize>, packet: &Packet<'_>) -> bool {
    let start = conn.tx.len();
    match packet.encode(conn.version, &mut conn.tx) {
        Ok(len) if len <= conn.max_packet_out as usize => {}
        _ => {
            conn.tx.truncate(start);
            return false;
        }
    }
    if !conn.dirty {
        conn.dirty = true;
        dirty.push(k);
    }
    true
}

fn reason_ack(id: PacketId, reason: ReasonCode) -> Ack<'static> {
    let mut a = Ack::new(id);
    a.reason = reason;
    a
}

/// The worker a client id's session lives on: FNV-1a of the id, modulo the worker count.
fn home_worker(client_id: &str, workers: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV-1a's low bits depend only on the low bits of the bytes (modulo 2, on the parity of
    // the id), so the high bits are mixed down (MurmurHash3's finalizer) before the modulo.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % workers.max(1) as u64) as usize
}

/// The protocol level of a CONNECT body, read without decoding the rest.
fn connect_level(body: &[u8]) -> Option<u8> {
    let name_len = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    body.get(2 + usize::from(name_len)).copied()
}

/// The peer address of a stream, for logs.
fn peer(stream: &TcpStream) -> String {
    stream
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string())
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The will of a CONNECT as a message (will properties carried over, MQTT 5.0 section 3.1.3.2).
fn will_message(w: &packets::Will<'_>, now: Instant) -> Message {
    let p = &w.properties;
    let publish_like = PublishProperties {
        payload_is_utf8: p.payload_is_utf8,
        message_expiry_interval: p.message_expiry_interval,
        content_type: p.content_type,
        response_topic: p.response_topic,
        correlation_data: p.correlation_data,
        user: p.user,
        ..PublishProperties::default()
    };
    Message {
        topic: Arc::from(w.topic),
        payload: w.payload.into(),
        qos: w.qos,
        retain: w.retain,
        origin: None,
        properties: MessageProperties::boxed(&publish_like, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_worker_spreads_ids_and_does_not_split_by_parity() {
        for n in 2..=8 {
            let mut counts = vec![0usize; n];
            for i in 0..4000 {
                counts[home_worker(&format!("client-{i}"), n)] += 1;
            }
            let even = 4000 / n;
            for c in &counts {
                assert!(
                    c * 10 > even * 7 && c * 10 < even * 13,
                    "{n} workers: {counts:?}"
                );
            }
        }
        // Two ids that differ in one character of the same parity class used to land on
        // different workers every time (FNV-1a modulo 2 is the parity of the bytes).
        let same = (0..200)
            .filter(|i| home_worker(&format!("x-s{i}"), 2) == home_worker(&format!("x-p{i}"), 2))
            .count();
        assert!(
            (50..150).contains(&same),
            "{same} of 200 pairs on one worker"
        );
    }
}
