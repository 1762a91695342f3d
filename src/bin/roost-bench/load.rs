//! The message-moving scenarios (fan-in, fan-out, pairs, latency): a closed loop driven by two
//! `mio` reactor threads, one owning every publisher connection and one every subscriber, while
//! the calling thread keeps time and reads `/proc`.
//!
//! Flow control: a publisher may run at most `window` messages ahead of the highest sequence
//! number that *all* its subscribers have seen (the subscriber thread publishes that progress
//! through atomics and wakes the publisher thread); at QoS 1/2 it also keeps at most
//! [`MAX_UNACKED`] messages unacknowledged. Each client writes at most [`WRITE_CHUNK`] bytes of
//! packets per `write`. Subscribers record every (publisher, sequence) pair in a bitmap, which
//! gives exact loss and duplicate counts at the end.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use roost::packets::{
    decode, Ack, Packet, PacketId, Publish, PublishProperties, QoS, QosPid, Status, Version,
};

use crate::args::{Args, Scenario};
use crate::client::{self, Spec, MAX_PACKET};
use crate::procfs::{self, Proc};

/// Bytes of the payload header: publisher id (u32), sequence (u64), send time in ns (u64).
pub(crate) const HEADER_LEN: usize = 20;
/// At most this many bytes of packets go into one `write`.
const WRITE_CHUNK: usize = 64 * 1024;
/// Unacknowledged QoS 1/2 messages per publisher, at most.
const MAX_UNACKED: u32 = 100;
/// The reactor's waker; connection tokens are their index in the thread's client list.
const WAKER: Token = Token(usize::MAX);
/// A window that has not moved for this long is declared stalled and reopened (QoS 0 loss of
/// a whole window would otherwise stop the run).
const STALL: Duration = Duration::from_secs(1);
/// Threads doing connection set-up at once.
const SETUP_THREADS: usize = 8;

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;
const DONE: u8 = 3;

/// Packet-id states of a publisher's outgoing QoS 1/2 messages.
const FREE: u8 = 0;
const AWAIT_PUBACK: u8 = 1;
const AWAIT_PUBREC: u8 = 2;
const AWAIT_PUBCOMP: u8 = 3;

/// The measured outcome of one run.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Publishers, subscribers and the per-publisher window used.
    pub(crate) publishers: usize,
    pub(crate) subscribers: usize,
    pub(crate) window: u64,
    /// Length of the measurement window actually observed.
    pub(crate) window_s: f64,
    /// Deliveries to subscribers inside the window.
    pub(crate) msgs: u64,
    /// Publishes written inside the window.
    pub(crate) published: u64,
    /// CPU seconds in the window; `None` when unknown.
    pub(crate) broker_cpu_s: Option<f64>,
    pub(crate) bench_cpu_s: Option<f64>,
    /// Over the whole run: messages some subscriber should have had and never got, and
    /// deliveries of a message a subscriber already had.
    pub(crate) lost: u64,
    pub(crate) dup: u64,
    /// Windows reopened after [`STALL`].
    pub(crate) stalls: u64,
    /// Unexpected packets, acks for unknown ids and undecodable payloads.
    pub(crate) bad: u64,
    /// QoS 1/2 messages still unacknowledged by the broker at the end.
    pub(crate) unacked: u64,
    /// Latency percentiles in µs over deliveries in the window.
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) p999_us: u64,
    pub(crate) samples: u64,
}

/// Who publishes where and who expects what.
struct Plan {
    pub_topics: Vec<String>,
    sub_filters: Vec<String>,
    /// For each publisher, the subscribers that must receive all its messages.
    subs_of: Vec<Vec<usize>>,
    window: u64,
    rate: Option<u64>,
}

impl Plan {
    fn new(a: &Args) -> Plan {
        let (n_pub, n_sub, window) = match a.scenario {
            Scenario::FanIn => (a.clients.unwrap_or(10), 1, 1000),
            Scenario::FanOut => (1, a.clients.unwrap_or(10), 1000),
            Scenario::Pairs => (a.clients.unwrap_or(50), a.clients.unwrap_or(50), 200),
            Scenario::Latency | Scenario::Idle => (1, 1, 1000),
        };
        let pub_topics = (0..n_pub)
            .map(|i| match a.scenario {
                Scenario::FanIn => format!("bench/in/{i}"),
                Scenario::Pairs => format!("bench/pair/{i}"),
                _ => "bench/one".to_string(),
            })
            .collect();
        let sub_filters = (0..n_sub)
            .map(|i| match a.scenario {
                Scenario::FanIn => "bench/#".to_string(),
                Scenario::Pairs => format!("bench/pair/{i}"),
                _ => "bench/one".to_string(),
            })
            .collect();
        let subs_of = (0..n_pub)
            .map(|p| match a.scenario {
                Scenario::Pairs => vec![p],
                _ => (0..n_sub).collect(),
            })
            .collect();
        Plan {
            pub_topics,
            sub_filters,
            subs_of,
            window,
            rate: (a.scenario == Scenario::Latency).then_some(a.rate),
        }
    }
}

/// State both reactors and the timekeeper see.
struct Shared {
    /// The clock of payload timestamps.
    epoch: Instant,
    phase: AtomicU8,
    /// Per publisher: the highest sequence + 1 seen by all its subscribers.
    progress: Vec<AtomicU64>,
    /// Per publisher: messages written so far.
    sent: Vec<AtomicU64>,
    /// Deliveries so far (all subscribers) and distinct (subscriber, message) pairs so far.
    delivered: AtomicU64,
    distinct: AtomicU64,
    /// QoS 1/2 messages awaiting their final ack, all publishers.
    unacked: AtomicU64,
    /// Set by the publisher thread before it sleeps on a closed window.
    pub_waiting: AtomicBool,
    pub_waker: Waker,
    sub_waker: Waker,
    /// The first error of either reactor; ends the run.
    error: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, e: String) {
        let mut g = self.error.lock().unwrap_or_else(|p| p.into_inner());
        g.get_or_insert(e);
    }

    fn failed(&self) -> bool {
        self.error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn set_phase(&self, phase: u8) {
        self.phase.store(phase, Ordering::SeqCst);
        let _ = self.pub_waker.wake();
        let _ = self.sub_waker.wake();
    }
}

/// Runs one load scenario against the broker at `a.addr`.
pub(crate) fn run(a: &Args) -> io::Result<Outcome> {
    let plan = Plan::new(a);
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() % 1_000_000_000)
        .unwrap_or(0);
    let tag = format!("rb{}-{run_id}", std::process::id());
    let sub_specs: Vec<Spec> = plan
        .sub_filters
        .iter()
        .enumerate()
        .map(|(i, f)| Spec {
            client_id: format!("{tag}-s{i}"),
            subscribe: Some(f.clone()),
        })
        .collect();
    let pub_specs: Vec<Spec> = (0..plan.pub_topics.len())
        .map(|i| Spec {
            client_id: format!("{tag}-p{i}"),
            subscribe: None,
        })
        .collect();
    // Subscribers first, so that every publish has its audience.
    let subs = nonblocking(client::establish(
        a.addr,
        a.version,
        a.qos,
        &sub_specs,
        SETUP_THREADS,
    )?)?;
    let pubs = nonblocking(client::establish(
        a.addr,
        a.version,
        a.qos,
        &pub_specs,
        SETUP_THREADS,
    )?)?;
    let pub_poll = Poll::new()?;
    let sub_poll = Poll::new()?;
    let shared = Shared {
        epoch: Instant::now(),
        phase: AtomicU8::new(WARMUP),
        progress: (0..pubs.len()).map(|_| AtomicU64::new(0)).collect(),
        sent: (0..pubs.len()).map(|_| AtomicU64::new(0)).collect(),
        delivered: AtomicU64::new(0),
        distinct: AtomicU64::new(0),
        unacked: AtomicU64::new(0),
        pub_waiting: AtomicBool::new(false),
        pub_waker: Waker::new(pub_poll.registry(), WAKER)?,
        sub_waker: Waker::new(sub_poll.registry(), WAKER)?,
        error: Mutex::new(None),
    };
    let n_subs = subs.len();
    let n_pubs = pubs.len();
    let mut out = Outcome {
        publishers: n_pubs,
        subscribers: n_subs,
        window: plan.window,
        ..Outcome::default()
    };
    std::thread::scope(|s| -> io::Result<()> {
        let sub_thread = s.spawn(|| {
            let r = SubReactor::new(sub_poll, subs, n_pubs, a.version, &shared)
                .and_then(|mut r| r.run(&plan).map(|()| r));
            if let Err(e) = &r {
                shared.fail(format!("subscriber reactor: {e}"));
            }
            r
        });
        let pub_thread = s.spawn(|| {
            let r = PubReactor::new(pub_poll, pubs, &plan, a, &shared)
                .and_then(|mut r| r.run(&plan).map(|()| r));
            if let Err(e) = &r {
                shared.fail(format!("publisher reactor: {e}"));
            }
            r
        });
        keep_time(a, &plan, &shared, &mut out);
        shared.set_phase(DONE);
        let subs = sub_thread
            .join()
            .map_err(|_| io::Error::other("subscriber thread panicked"))?;
        let pubs = pub_thread
            .join()
            .map_err(|_| io::Error::other("publisher thread panicked"))?;
        if let Some(e) = shared
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(io::Error::other(e));
        }
        let (subs, pubs) = (subs?, pubs?);
        for (p, sub_ids) in plan.subs_of.iter().enumerate() {
            let sent = shared.sent.get(p).map_or(0, |s| s.load(Ordering::SeqCst));
            for &s in sub_ids {
                let got = subs
                    .clients
                    .get(s)
                    .and_then(|c| c.tracks.get(p))
                    .map_or(0, |t| t.distinct);
                out.lost += sent.saturating_sub(got);
            }
        }
        out.dup = subs
            .clients
            .iter()
            .flat_map(|c| c.tracks.iter())
            .map(|t| t.dups)
            .sum();
        out.bad = subs.bad + pubs.bad;
        out.stalls = pubs.stalls;
        out.unacked = shared.unacked.load(Ordering::SeqCst);
        out.samples = subs.histogram.count;
        out.p50_us = subs.histogram.percentile(0.50);
        out.p99_us = subs.histogram.percentile(0.99);
        out.p999_us = subs.histogram.percentile(0.999);
        Ok(())
    })?;
    Ok(out)
}

fn nonblocking(streams: Vec<std::net::TcpStream>) -> io::Result<Vec<TcpStream>> {
    streams
        .into_iter()
        .map(|s| {
            s.set_nonblocking(true)?;
            Ok(TcpStream::from_std(s))
        })
        .collect()
}

/// A point in time with the counters the window is computed from.
struct Snapshot {
    at: Instant,
    broker_cpu: Option<f64>,
    bench_cpu: Option<f64>,
    delivered: u64,
    published: u64,
}

impl Snapshot {
    fn take(a: &Args, shared: &Shared) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            broker_cpu: a.pid.and_then(|p| procfs::cpu_seconds(Proc::Pid(p))),
            bench_cpu: procfs::cpu_seconds(Proc::This),
            delivered: shared.delivered.load(Ordering::SeqCst),
            published: shared.sent.iter().map(|s| s.load(Ordering::SeqCst)).sum(),
        }
    }
}

/// Warm-up, measurement window, then stop publishing and drain.
fn keep_time(a: &Args, plan: &Plan, shared: &Shared, out: &mut Outcome) {
    let start = Instant::now();
    if !sleep_until(start + a.warmup, shared) {
        return;
    }
    let s0 = Snapshot::take(a, shared);
    shared.set_phase(MEASURE);
    let ok = sleep_until(s0.at + a.duration, shared);
    let s1 = Snapshot::take(a, shared);
    shared.set_phase(STOP);
    out.window_s = s1.at.duration_since(s0.at).as_secs_f64();
    out.msgs = s1.delivered - s0.delivered;
    out.published = s1.published - s0.published;
    out.broker_cpu_s = s0.broker_cpu.zip(s1.broker_cpu).map(|(x, y)| y - x);
    out.bench_cpu_s = s0.bench_cpu.zip(s1.bench_cpu).map(|(x, y)| y - x);
    if !ok {
        return;
    }
    // Drain: wait until every subscriber has every message (and every QoS 1/2 publish is
    // acknowledged), or until nothing has moved for a while.
    let quiet = if a.qos == QoS::AtMostOnce {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = u64::MAX;
    let mut last_change = Instant::now();
    while Instant::now() < deadline && !shared.failed() {
        let expected: u64 = plan
            .subs_of
            .iter()
            .zip(&shared.sent)
            .map(|(subs, sent)| subs.len() as u64 * sent.load(Ordering::SeqCst))
            .sum();
        let got = shared.distinct.load(Ordering::SeqCst);
        let unacked = shared.unacked.load(Ordering::SeqCst);
        if got >= expected && unacked == 0 {
            return;
        }
        let moved = got + unacked * 1_000_000_007;
        if moved != last {
            last = moved;
            last_change = Instant::now();
        } else if last_change.elapsed() > quiet {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sleeps until `t`; false if a reactor failed meanwhile.
fn sleep_until(t: Instant, shared: &Shared) -> bool {
    loop {
        if shared.failed() {
            return false;
        }
        let now = Instant::now();
        if now >= t {
            return true;
        }
        std::thread::sleep((t - now).min(Duration::from_millis(50)));
    }
}

/// Reads everything available from `stream` into `rx`; false when the peer closed.
fn read_all(stream: &mut TcpStream, rx: &mut Vec<u8>, scratch: &mut [u8]) -> io::Result<bool> {
    loop {
        match stream.read(scratch) {
            Ok(0) => return Ok(false),
            Ok(n) => rx.extend_from_slice(scratch.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes `tx` until it is empty (true) or the socket is full (false).
fn flush(stream: &mut TcpStream, tx: &mut Vec<u8>) -> io::Result<bool> {
    while !tx.is_empty() {
        let end = tx.len().min(WRITE_CHUNK);
        match stream.write(tx.get(..end).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) if n == tx.len() => tx.clear(),
            Ok(n) => {
                tx.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Asks for WRITABLE only while output is pending.
fn want_write(
    poll: &Poll,
    stream: &mut TcpStream,
    token: Token,
    wanted: &mut bool,
    now: bool,
) -> io::Result<()> {
    if *wanted != now {
        let interest = if now {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        poll.registry().reregister(stream, token, interest)?;
        *wanted = now;
    }
    Ok(())
}

// ---- Publishers --------------------------------------------------------------------------------

struct Publisher {
    stream: TcpStream,
    topic: String,
    rx: Vec<u8>,
    tx: Vec<u8>,
    want_write: bool,
    /// Next sequence number, i.e. messages written so far.
    seq: u64,
    /// The window's base when stalls reopened it; the base is max(progress, floor).
    floor: u64,
    /// Progress value used by the last fill, and when it last changed.
    seen_progress: u64,
    progress_at: Instant,
    blocked: bool,
    inflight: u32,
    /// QoS 1/2 packet-id states, indexed by id.
    states: Vec<u8>,
    next_pid: u16,
}

struct PubReactor<'s> {
    poll: Poll,
    clients: Vec<Publisher>,
    shared: &'s Shared,
    version: Version,
    qos: QoS,
    payload: Vec<u8>,
    bad: u64,
    stalls: u64,
}

impl<'s> PubReactor<'s> {
    fn new(
        poll: Poll,
        streams: Vec<TcpStream>,
        plan: &Plan,
        a: &Args,
        shared: &'s Shared,
    ) -> io::Result<Self> {
        let mut clients = Vec::with_capacity(streams.len());
        for (i, (mut stream, topic)) in streams.into_iter().zip(&plan.pub_topics).enumerate() {
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)?;
            clients.push(Publisher {
                stream,
                topic: topic.clone(),
                rx: Vec::with_capacity(4096),
                tx: Vec::with_capacity(WRITE_CHUNK + 1024),
                want_write: false,
                seq: 0,
                floor: 0,
                seen_progress: 0,
                progress_at: Instant::now(),
                blocked: false,
                inflight: 0,
                states: if a.qos == QoS::AtMostOnce {
                    Vec::new()
                } else {
                    vec![FREE; 65536]
                },
                next_pid: 0,
            });
        }
        Ok(PubReactor {
            poll,
            clients,
            shared,
            version: a.version,
            qos: a.qos,
            payload: vec![0x5a; a.payload],
            bad: 0,
            stalls: 0,
        })
    }

    fn run(&mut self, plan: &Plan) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let start = Instant::now();
        loop {
            let phase = self.shared.phase.load(Ordering::SeqCst);
            if phase == DONE {
                return Ok(());
            }
            let due = plan.rate.map(|r| {
                let elapsed = start.elapsed().as_secs_f64();
                (elapsed * r as f64) as u64 + 1
            });
            let mut any_blocked = false;
            for i in 0..self.clients.len() {
                self.pump(i, plan.window, phase, due)?;
                any_blocked |= self.clients.get(i).is_some_and(|c| c.blocked);
            }
            let unacked: u64 = self.clients.iter().map(|c| u64::from(c.inflight)).sum();
            self.shared.unacked.store(unacked, Ordering::SeqCst);
            let mut timeout = Some(Duration::from_millis(100));
            if any_blocked {
                self.shared.pub_waiting.store(true, Ordering::SeqCst);
                let moved = self.clients.iter().enumerate().any(|(i, c)| {
                    c.blocked
                        && self
                            .shared
                            .progress
                            .get(i)
                            .is_some_and(|p| p.load(Ordering::SeqCst) != c.seen_progress)
                });
                if moved {
                    timeout = Some(Duration::ZERO);
                }
            }
            if let (Some(rate), Some(c)) = (plan.rate, self.clients.first()) {
                if phase < STOP && !c.blocked && c.inflight < MAX_UNACKED {
                    let next = start + Duration::from_secs_f64(c.seq as f64 / rate as f64);
                    let wait = next.saturating_duration_since(Instant::now());
                    if wait < Duration::from_millis(2) {
                        std::thread::sleep(wait);
                        timeout = Some(Duration::ZERO);
                    } else {
                        timeout = Some(wait - Duration::from_millis(1));
                    }
                }
            }
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    Token(i) => {
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.read(i)?;
                        }
                    }
                }
            }
        }
    }

    /// Fills the client's buffer as far as its window allows and writes it, repeatedly.
    fn pump(&mut self, i: usize, window: u64, phase: u8, due: Option<u64>) -> io::Result<()> {
        let progress = self
            .shared
            .progress
            .get(i)
            .map_or(0, |p| p.load(Ordering::SeqCst));
        let Some(c) = self.clients.get_mut(i) else {
            return Ok(());
        };
        if progress != c.seen_progress {
            c.seen_progress = progress;
            c.progress_at = Instant::now();
        }
        loop {
            let top = progress.max(c.floor) + window;
            if phase < STOP {
                let ts = u64::try_from(self.shared.epoch.elapsed().as_nanos()).unwrap_or(0);
                while c.tx.len() < WRITE_CHUNK
                    && c.seq < top
                    && due.map_or(true, |d| c.seq < d)
                    && (self.qos == QoS::AtMostOnce || c.inflight < MAX_UNACKED)
                {
                    let qos_pid = match self.qos {
                        QoS::AtMostOnce => QosPid::AtMostOnce,
                        qos => {
                            let Some(id) = alloc_pid(c) else { break };
                            let state = if qos == QoS::AtLeastOnce {
                                AWAIT_PUBACK
                            } else {
                                AWAIT_PUBREC
                            };
                            if let Some(s) = c.states.get_mut(usize::from(id.get())) {
                                *s = state;
                            }
                            c.inflight += 1;
                            QosPid::new(qos, id)
                        }
                    };
                    write_header(&mut self.payload, i as u32, c.seq, ts);
                    let p = Packet::Publish(Publish {
                        dup: false,
                        qos_pid,
                        retain: false,
                        topic: &c.topic,
                        payload: &self.payload,
                        properties: PublishProperties::default(),
                    });
                    client::encode(&p, self.version, &mut c.tx)?;
                    c.seq += 1;
                }
            }
            c.blocked = phase < STOP && c.seq >= top;
            if c.blocked && c.progress_at.elapsed() > STALL {
                c.floor = c.seq;
                c.progress_at = Instant::now();
                self.stalls += 1;
                continue;
            }
            if c.tx.is_empty() {
                break;
            }
            let emptied = flush(&mut c.stream, &mut c.tx)?;
            if !emptied || phase >= STOP {
                break;
            }
        }
        if let Some(s) = self.shared.sent.get(i) {
            s.store(c.seq, Ordering::SeqCst);
        }
        let pending = !c.tx.is_empty();
        want_write(
            &self.poll,
            &mut c.stream,
            Token(i),
            &mut c.want_write,
            pending,
        )
    }

    /// Reads acknowledgements and answers PUBREC with PUBREL.
    fn read(&mut self, i: usize) -> io::Result<()> {
        let Some(c) = self.clients.get_mut(i) else {
            return Ok(());
        };
        let mut scratch = [0u8; 16 * 1024];
        let open = read_all(&mut c.stream, &mut c.rx, &mut scratch)?;
        let mut used_total = 0;
        loop {
            let rest = c.rx.get(used_total..).unwrap_or_default();
            let (packet, used) = match decode(rest, self.version, MAX_PACKET) {
                Ok(Status::Complete(x)) => x,
                Ok(Status::Partial(_)) => break,
                Err(e) => return Err(io::Error::other(format!("publisher {i}: {e}"))),
            };
            used_total += used;
            let (id, expect, next) = match &packet {
                Packet::PubAck(a) => (a.packet_id, AWAIT_PUBACK, FREE),
                Packet::PubRec(a) => (a.packet_id, AWAIT_PUBREC, AWAIT_PUBCOMP),
                Packet::PubComp(a) => (a.packet_id, AWAIT_PUBCOMP, FREE),
                Packet::Disconnect(d) => {
                    return Err(io::Error::other(format!(
                        "publisher {i}: broker sent DISCONNECT {:?}",
                        d.reason
                    )))
                }
                _ => {
                    self.bad += 1;
                    continue;
                }
            };
            match c.states.get_mut(usize::from(id.get())) {
                Some(s) if *s == expect => {
                    *s = next;
                    if next == FREE {
                        c.inflight -= 1;
                    } else {
                        client::encode(&Packet::PubRel(Ack::new(id)), self.version, &mut c.tx)?;
                    }
                }
                _ => self.bad += 1,
            }
        }
        c.rx.drain(..used_total);
        if !open {
            return Err(io::Error::other(format!(
                "publisher {i}: the broker closed the connection"
            )));
        }
        Ok(())
    }
}

fn alloc_pid(c: &mut Publisher) -> Option<PacketId> {
    for _ in 0..u16::MAX {
        c.next_pid = c.next_pid.checked_add(1).unwrap_or(1);
        if c.states.get(usize::from(c.next_pid)) == Some(&FREE) {
            return PacketId::new(c.next_pid);
        }
    }
    None
}

fn write_header(payload: &mut [u8], id: u32, seq: u64, ts: u64) {
    if let Some(h) = payload.get_mut(..HEADER_LEN) {
        h[..4].copy_from_slice(&id.to_le_bytes());
        h[4..12].copy_from_slice(&seq.to_le_bytes());
        h[12..20].copy_from_slice(&ts.to_le_bytes());
    }
}

fn read_header(payload: &[u8]) -> Option<(usize, u64, u64)> {
    let id = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?);
    let seq = u64::from_le_bytes(payload.get(4..12)?.try_into().ok()?);
    let ts = u64::from_le_bytes(payload.get(12..20)?.try_into().ok()?);
    Some((usize::try_from(id).ok()?, seq, ts))
}

// ---- Subscribers -------------------------------------------------------------------------------

/// What one subscriber has seen of one publisher.
#[derive(Default)]
struct Track {
    /// Bit per sequence number received.
    bits: Vec<u64>,
    /// Highest sequence + 1 seen.
    high: u64,
    distinct: u64,
    dups: u64,
}

impl Track {
    /// Records `seq`; false if it was a duplicate.
    fn record(&mut self, seq: u64) -> bool {
        let word = usize::try_from(seq / 64).unwrap_or(usize::MAX);
        if word >= self.bits.len() {
            self.bits
                .resize(word.saturating_add(1).max(self.bits.len() * 2), 0);
        }
        let Some(w) = self.bits.get_mut(word) else {
            return false;
        };
        let bit = 1u64 << (seq % 64);
        self.high = self.high.max(seq + 1);
        if *w & bit != 0 {
            self.dups += 1;
            return false;
        }
        *w |= bit;
        self.distinct += 1;
        true
    }
}

struct Subscriber {
    stream: TcpStream,
    rx: Vec<u8>,
    tx: Vec<u8>,
    want_write: bool,
    /// Indexed by publisher.
    tracks: Vec<Track>,
}

/// Latency histogram: 1 µs buckets below 10 ms, 100 µs buckets above, up to about 10 s.
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

const FINE_US: u64 = 10_000;
const COARSE_STEP_US: u64 = 100;
const COARSE_BUCKETS: u64 = 100_000;

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: vec![0; (FINE_US + COARSE_BUCKETS) as usize],
            count: 0,
        }
    }

    fn record(&mut self, ns: u64) {
        let us = ns / 1000;
        let b = if us < FINE_US {
            us
        } else {
            FINE_US + ((us - FINE_US) / COARSE_STEP_US).min(COARSE_BUCKETS - 1)
        };
        if let Some(x) = self.buckets.get_mut(b as usize) {
            *x += 1;
            self.count += 1;
        }
    }

    /// The smallest bucket value at or below which a fraction `q` of samples lies; 0 if empty.
    fn percentile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (b, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let b = b as u64;
                return if b < FINE_US {
                    b
                } else {
                    FINE_US + (b - FINE_US) * COARSE_STEP_US
                };
            }
        }
        0
    }
}

struct SubReactor<'s> {
    poll: Poll,
    clients: Vec<Subscriber>,
    shared: &'s Shared,
    version: Version,
    histogram: Histogram,
    bad: u64,
    delivered: u64,
    distinct: u64,
    /// Publishers with new deliveries since the last progress update.
    touched: Vec<bool>,
}

impl<'s> SubReactor<'s> {
    fn new(
        poll: Poll,
        streams: Vec<TcpStream>,
        n_pubs: usize,
        version: Version,
        shared: &'s Shared,
    ) -> io::Result<Self> {
        let mut clients = Vec::with_capacity(streams.len());
        for (i, mut stream) in streams.into_iter().enumerate() {
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)?;
            clients.push(Subscriber {
                stream,
                rx: Vec::with_capacity(WRITE_CHUNK * 2),
                tx: Vec::with_capacity(WRITE_CHUNK),
                want_write: false,
                tracks: (0..n_pubs).map(|_| Track::default()).collect(),
            });
        }
        Ok(SubReactor {
            poll,
            clients,
            shared,
            version,
            histogram: Histogram::new(),
            bad: 0,
            delivered: 0,
            distinct: 0,
            touched: vec![false; n_pubs],
        })
    }

    fn run(&mut self, plan: &Plan) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut scratch = vec![0u8; WRITE_CHUNK];
        loop {
            if self.shared.phase.load(Ordering::SeqCst) == DONE {
                return Ok(());
            }
            match self
                .poll
                .poll(&mut events, Some(Duration::from_millis(100)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let measuring = self.shared.phase.load(Ordering::SeqCst) == MEASURE;
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    Token(i) => {
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.read(i, &mut scratch, measuring)?;
                        }
                        self.flush(i)?;
                    }
                }
            }
            self.publish_progress(plan);
        }
    }

    fn read(&mut self, i: usize, scratch: &mut [u8], measuring: bool) -> io::Result<()> {
        let Some(c) = self.clients.get_mut(i) else {
            return Ok(());
        };
        loop {
            let n = match c.stream.read(scratch) {
                Ok(0) => {
                    return Err(io::Error::other(format!(
                        "subscriber {i}: the broker closed the connection"
                    )))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let now = u64::try_from(self.shared.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            c.rx.extend_from_slice(scratch.get(..n).unwrap_or_default());
            let mut used_total = 0;
            loop {
                let rest = c.rx.get(used_total..).unwrap_or_default();
                let (packet, used) = match decode(rest, self.version, MAX_PACKET) {
                    Ok(Status::Complete(x)) => x,
                    Ok(Status::Partial(_)) => break,
                    Err(e) => return Err(io::Error::other(format!("subscriber {i}: {e}"))),
                };
                used_total += used;
                match packet {
                    Packet::Publish(p) => {
                        match read_header(p.payload) {
                            Some((pub_id, seq, ts)) if pub_id < c.tracks.len() => {
                                self.delivered += 1;
                                if let Some(t) = c.tracks.get_mut(pub_id) {
                                    if t.record(seq) {
                                        self.distinct += 1;
                                    }
                                }
                                if let Some(t) = self.touched.get_mut(pub_id) {
                                    *t = true;
                                }
                                if measuring {
                                    self.histogram.record(now.saturating_sub(ts));
                                }
                            }
                            _ => self.bad += 1,
                        }
                        let ack = match p.qos_pid {
                            QosPid::AtMostOnce => None,
                            QosPid::AtLeastOnce(id) => Some(Packet::PubAck(Ack::new(id))),
                            QosPid::ExactlyOnce(id) => Some(Packet::PubRec(Ack::new(id))),
                        };
                        if let Some(ack) = ack {
                            client::encode(&ack, self.version, &mut c.tx)?;
                        }
                    }
                    Packet::PubRel(a) => {
                        let comp = Packet::PubComp(Ack::new(a.packet_id));
                        client::encode(&comp, self.version, &mut c.tx)?;
                    }
                    Packet::Disconnect(d) => {
                        return Err(io::Error::other(format!(
                            "subscriber {i}: broker sent DISCONNECT {:?}",
                            d.reason
                        )))
                    }
                    _ => self.bad += 1,
                }
            }
            c.rx.drain(..used_total);
            if c.tx.len() >= WRITE_CHUNK {
                flush(&mut c.stream, &mut c.tx)?;
            }
        }
    }

    fn flush(&mut self, i: usize) -> io::Result<()> {
        let Some(c) = self.clients.get_mut(i) else {
            return Ok(());
        };
        flush(&mut c.stream, &mut c.tx)?;
        let pending = !c.tx.is_empty();
        want_write(
            &self.poll,
            &mut c.stream,
            Token(i),
            &mut c.want_write,
            pending,
        )
    }

    /// Publishes per-publisher progress and counters; wakes the publishers if they wait.
    fn publish_progress(&mut self, plan: &Plan) {
        let mut advanced = false;
        for (p, touched) in self.touched.iter_mut().enumerate() {
            if !std::mem::take(touched) {
                continue;
            }
            let Some(subs) = plan.subs_of.get(p) else {
                continue;
            };
            let low = subs
                .iter()
                .filter_map(|&s| self.clients.get(s).and_then(|c| c.tracks.get(p)))
                .map(|t| t.high)
                .min()
                .unwrap_or(0);
            if let Some(slot) = self.shared.progress.get(p) {
                if slot.fetch_max(low, Ordering::SeqCst) < low {
                    advanced = true;
                }
            }
        }
        self.shared
            .delivered
            .store(self.delivered, Ordering::SeqCst);
        self.shared.distinct.store(self.distinct, Ordering::SeqCst);
        if advanced && self.shared.pub_waiting.swap(false, Ordering::SeqCst) {
            let _ = self.shared.pub_waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_counts_distinct_and_duplicates() {
        let mut t = Track::default();
        for s in [0, 1, 2, 2, 700, 1] {
            t.record(s);
        }
        assert_eq!((t.distinct, t.dups, t.high), (4, 2, 701));
    }

    #[test]
    fn header_round_trip() {
        let mut p = vec![0u8; 64];
        write_header(&mut p, 7, 123_456, 99);
        assert_eq!(read_header(&p), Some((7, 123_456, 99)));
        assert_eq!(read_header(&p[..10]), None);
    }

    #[test]
    fn histogram_percentiles() {
        let mut h = Histogram::new();
        for us in 1..=1000u64 {
            h.record(us * 1000);
        }
        h.record(50_000_000);
        assert_eq!(h.percentile(0.5), 501);
        assert_eq!(h.percentile(0.99), 991);
        assert_eq!(h.percentile(1.0), 50_000);
        assert_eq!(Histogram::new().percentile(0.5), 0);
    }
}
