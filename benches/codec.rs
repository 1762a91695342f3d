//! Codec benchmark: `roost::packets` against `mqttbytes` 0.6 (the codec of rumqttd), side by
//! side in one run. `make bench-codec` runs it; an argument runs only the cases whose name
//! contains it (`cargo bench --bench codec -- CONNECT`).
//!
//! A hand-rolled harness (no criterion): every case runs `ROUNDS` rounds per codec, each of as
//! many operations as packets fit in `ROUND_BYTES`, the two codecs alternating round by round
//! so that noise from other processes falls on both; the figure is the median ns/op.
//!
//! Both codecs read the same bytes (made by roost's encoder and checked to decode in both) and
//! encode the same logical packet (each the packet it decoded from those bytes).
//!
//! Fairness of decoding: `mqttbytes::v*::read` consumes a `&mut BytesMut`, so a naive loop
//! would have to clone its input every iteration, and roost (which reads a `&[u8]`) would not.
//! Instead of adding that clone to roost or subtracting a measured clone baseline (a noisy
//! difference of two timings), each round gets a receive buffer holding copies of the packet
//! back to back, built before the clock starts, and both codecs decode their way through
//! it the way a broker drains its receive buffer: roost advances a slice by the length it
//! returns, mqttbytes splits each packet off the front of the `BytesMut`. No per-operation
//! preparation is timed for either codec, and the buffer is small enough to be in cache for
//! both, as a receive buffer that `recv` has just written is. Dropping the decoded packet is
//! timed for both (it costs mqttbytes its `String`s and `Vec`s, and roost nothing).
//!
//! Allocations per operation are counted in the warm-up round (whose timing is discarded) by a
//! counting global allocator that is switched off in the timed rounds.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::{Buf, BytesMut};
use mqttbytes::{v4, v5};

use roost::packets::{
    decode, Connect, ConnectProperties, Packet, PacketId, Publish, PublishProperties, QosPid,
    Status, UserProperties, Version,
};

/// Timed rounds per case and codec; the median is reported.
const ROUNDS: usize = 31;
/// The size of a round's receive buffer: small enough to stay in cache, as a buffer that
/// `recv` has just filled is.
const ROUND_BYTES: usize = 128 * 1024;
/// Encoding is mostly a `memcpy` of the payload, whose speed depends on how the source and
/// destination addresses relate (4K aliasing); both codecs encode from a packet that starts on
/// a page boundary into an output that starts on one.
const PAGE: usize = 4096;
/// The receive limit handed to both decoders.
const MAX: usize = 1 << 20;

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // `cargo test --all-targets` runs this without `--bench`: check the cases, time nothing.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        ROUNDS
    } else {
        1
    };
    let mut rows = Vec::new();
    for case in cases() {
        if filter.as_deref().is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        rows.push(run(&case, rounds));
    }
    if rounds == ROUNDS {
        print_table(&rows);
    } else {
        println!(
            "codec bench: {} cases check out (cargo bench for figures)",
            rows.len()
        );
    }
}

/// What is measured.
#[derive(Clone, Copy)]
enum Op {
    Decode,
    Encode,
    /// Decode, then encode the decoded packet.
    DecodeEncode,
}

struct Case {
    name: String,
    /// One packet on the wire.
    bytes: Vec<u8>,
    version: Version,
    op: Op,
}

impl Case {
    /// Operations per round: as many packets as fit in [`ROUND_BYTES`], at least 32.
    fn ops(&self) -> usize {
        (ROUND_BYTES / self.bytes.len()).max(32)
    }
}

struct Row {
    name: String,
    roost_ns: f64,
    mqttbytes_ns: f64,
    roost_allocs: f64,
    mqttbytes_allocs: f64,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for version in [Version::V3_1_1, Version::V5] {
        for size in [16, 256, 4096] {
            let bytes = publish_bytes(version, size);
            let label = if version.is_v5() { "5.0" } else { "3.1.1" };
            let size_label = if size >= 1024 {
                format!("{} KiB", size / 1024)
            } else {
                format!("{size} B")
            };
            for (op, what) in [(Op::Decode, "decode"), (Op::Encode, "encode")] {
                cases.push(Case {
                    name: format!("{what} PUBLISH {label} {size_label}"),
                    bytes: bytes.clone(),
                    version,
                    op,
                });
            }
        }
    }
    cases.push(Case {
        name: "decode+encode CONNECT 5.0".to_string(),
        bytes: connect_v5_bytes(),
        version: Version::V5,
        op: Op::DecodeEncode,
    });
    cases
}

/// A QoS 1 PUBLISH; in 5.0 with a Message Expiry Interval and one User Property.
fn publish_bytes(version: Version, payload_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| (i % 251) as u8).collect();
    let user = [("trace-id", "4bf92f3577b34da6")];
    let properties = if version.is_v5() {
        PublishProperties {
            message_expiry_interval: Some(3600),
            user: UserProperties::Pairs(&user),
            ..PublishProperties::default()
        }
    } else {
        PublishProperties::default()
    };
    let publish = Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(PacketId::new(42).expect("non-zero")),
        retain: false,
        topic: "building-7/floor-3/room-12/temperature",
        payload: &payload,
        properties,
    };
    let mut out = Vec::new();
    Packet::Publish(publish)
        .encode(version, &mut out)
        .expect("encodes");
    out
}

/// A 5.0 CONNECT with user name, password and properties.
fn connect_v5_bytes() -> Vec<u8> {
    let user = [("region", "eu-west"), ("fw", "2.4.1")];
    let connect = Connect {
        protocol: Version::V5,
        clean_start: true,
        keep_alive: 60,
        client_id: "sensor-00042",
        will: None,
        username: Some("device"),
        password: Some(b"s3cret-token"),
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: NonZeroU16::new(64),
            maximum_packet_size: NonZeroU32::new(1 << 20),
            topic_alias_maximum: Some(16),
            user: UserProperties::Pairs(&user),
            ..ConnectProperties::default()
        },
    };
    let mut out = Vec::new();
    Packet::Connect(connect)
        .encode(Version::V5, &mut out)
        .expect("encodes");
    out
}

fn run(case: &Case, rounds: usize) -> Row {
    check_both_decode(case);
    let mut roost = Vec::with_capacity(rounds);
    let mut mqttbytes = Vec::with_capacity(rounds);
    // One warm-up round each, which also counts the allocations.
    let roost_allocs = roost_round(case, true).allocs;
    let mqttbytes_allocs = mqttbytes_round(case, true).allocs;
    for _ in 0..rounds {
        roost.push(roost_round(case, false).ns);
        mqttbytes.push(mqttbytes_round(case, false).ns);
    }
    Row {
        name: case.name.clone(),
        roost_ns: median(&mut roost),
        mqttbytes_ns: median(&mut mqttbytes),
        roost_allocs,
        mqttbytes_allocs,
    }
}

/// The outcome of one round, per operation.
struct Round {
    ns: f64,
    allocs: f64,
}

/// One round of [`Case::ops`] operations with roost. Allocations are counted only when `count` (and
/// the timing of such a round is not used).
fn roost_round(case: &Case, count: bool) -> Round {
    let ops = case.ops();
    let stream = case.bytes.repeat(ops);
    let mut out = Vec::with_capacity(PAGE + 2 * case.bytes.len());
    let out_at = page_offset(out.as_ptr());
    // Touch every page now: a first-touch page fault must not land in the timed loop.
    out.resize(out.capacity(), 0);
    out.truncate(out_at);
    let mut src = Vec::with_capacity(PAGE + case.bytes.len());
    let src_at = page_offset(src.as_ptr());
    src.resize(src_at, 0);
    src.extend_from_slice(&case.bytes);
    let encode_me = match decode(&src[src_at..], case.version, MAX) {
        Ok(Status::Complete((p, _))) => p,
        other => panic!("{}: {other:?}", case.name),
    };
    let meter = Meter::start(count, ops);
    match case.op {
        Op::Decode | Op::DecodeEncode => {
            let encode_too = matches!(case.op, Op::DecodeEncode);
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let Ok(Status::Complete((packet, used))) =
                    decode(black_box(rest), case.version, MAX)
                else {
                    panic!("{}: does not decode", case.name)
                };
                if encode_too {
                    out.truncate(out_at);
                    let _ = black_box(packet.encode(case.version, &mut out));
                }
                black_box(&packet);
                rest = &rest[used..];
            }
        }
        Op::Encode => {
            for _ in 0..ops {
                out.truncate(out_at);
                let _ = black_box(black_box(&encode_me).encode(case.version, &mut out));
                black_box(&out);
            }
        }
    }
    meter.stop()
}

/// One round of [`Case::ops`] operations with mqttbytes, like [`roost_round`].
fn mqttbytes_round(case: &Case, count: bool) -> Round {
    let ops = case.ops();
    let mut stream = BytesMut::from(&case.bytes.repeat(ops)[..]);
    let mut out = BytesMut::with_capacity(PAGE + 2 * case.bytes.len());
    let out_at = page_offset(out.as_ptr());
    out.resize(out.capacity(), 0);
    out.truncate(out_at);
    let mut src = BytesMut::with_capacity(PAGE + case.bytes.len());
    src.resize(page_offset(src.as_ptr()), 0);
    let src_at = src.len();
    src.extend_from_slice(&case.bytes);
    src.advance(src_at);
    let encode_me = read_mqttbytes(&mut src, case.version);
    let meter = Meter::start(count, ops);
    match case.op {
        Op::Decode | Op::DecodeEncode => {
            let encode_too = matches!(case.op, Op::DecodeEncode);
            while !stream.is_empty() {
                let packet = read_mqttbytes(black_box(&mut stream), case.version);
                if encode_too {
                    out.truncate(out_at);
                    let _ = black_box(packet.write(&mut out));
                }
                black_box(&packet);
            }
        }
        Op::Encode => {
            for _ in 0..ops {
                out.truncate(out_at);
                let _ = black_box(black_box(&encode_me).write(&mut out));
                black_box(&out);
            }
        }
    }
    meter.stop()
}

/// Bytes to skip from `ptr` to the next page boundary.
fn page_offset(ptr: *const u8) -> usize {
    (PAGE - ptr as usize % PAGE) % PAGE
}

/// A packet mqttbytes decoded, of either version.
// Boxing the larger variant would add an allocation to the measured path.
#[allow(clippy::large_enum_variant)]
enum MqttBytes {
    V4(v4::Packet),
    V5(v5::Packet),
}

impl MqttBytes {
    fn write(&self, out: &mut BytesMut) -> Result<usize, mqttbytes::Error> {
        match self {
            MqttBytes::V4(v4::Packet::Publish(p)) => p.write(out),
            MqttBytes::V5(v5::Packet::Publish(p)) => p.write(out),
            MqttBytes::V5(v5::Packet::Connect(c)) => c.write(out),
            _ => panic!("no writer for this packet in the benchmark"),
        }
    }
}

fn read_mqttbytes(stream: &mut BytesMut, version: Version) -> MqttBytes {
    let packet = if version.is_v5() {
        v5::read(stream, MAX).map(MqttBytes::V5)
    } else {
        v4::read(stream, MAX).map(MqttBytes::V4)
    };
    match packet {
        Ok(p) => p,
        Err(e) => panic!("mqttbytes does not decode: {e:?}"),
    }
}

/// Both codecs decode the case's bytes and re-encode them to the same length.
fn check_both_decode(case: &Case) {
    let Ok(Status::Complete((packet, used))) = decode(&case.bytes, case.version, MAX) else {
        panic!("{}: roost does not decode", case.name)
    };
    assert_eq!(used, case.bytes.len(), "{}", case.name);
    let mut ours = Vec::new();
    packet.encode(case.version, &mut ours).expect("encodes");
    let mut theirs = BytesMut::new();
    let mut input = BytesMut::from(&case.bytes[..]);
    read_mqttbytes(&mut input, case.version)
        .write(&mut theirs)
        .expect("mqttbytes encodes");
    assert_eq!(ours.len(), theirs.len(), "{}: encoded lengths", case.name);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<30} {:>11} {:>15} {:>17} {:>15}",
        "case", "roost ns/op", "mqttbytes ns/op", "roost/mqttbytes", "allocs/op r|m"
    );
    for r in rows {
        println!(
            "{:<30} {:>11.1} {:>15.1} {:>17.2} {:>9.1} | {:.1}",
            r.name,
            r.roost_ns,
            r.mqttbytes_ns,
            r.roost_ns / r.mqttbytes_ns,
            r.roost_allocs,
            r.mqttbytes_allocs
        );
    }
    println!(
        "ratio < 1: roost is faster. Medians of {ROUNDS} rounds of up to {ROUND_BYTES} bytes of input. allocs/op counted \
         in the warm-up round: roost decodes by borrowing (0 allocations); mqttbytes allocates \
         its Strings, Vecs and the shared Bytes handle. Encoding allocations are 0 for both: \
         the output buffer is reused."
    );
}

/// Times a round's operations and, when asked, counts their allocations.
struct Meter {
    start: Instant,
    allocations: usize,
    ops: usize,
}

impl Meter {
    fn start(count: bool, ops: usize) -> Self {
        COUNTING.store(count, Ordering::Relaxed);
        Meter {
            start: Instant::now(),
            allocations: ALLOCATIONS.load(Ordering::Relaxed),
            ops,
        }
    }

    fn stop(self) -> Round {
        let ns = self.start.elapsed().as_nanos() as f64;
        COUNTING.store(false, Ordering::Relaxed);
        let allocs = ALLOCATIONS.load(Ordering::Relaxed) - self.allocations;
        Round {
            ns: ns / self.ops as f64,
            allocs: allocs as f64 / self.ops as f64,
        }
    }
}

/// Allocation counting for [`Meter`]; off in timed rounds.
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

struct CountingAllocator;

// SAFETY: delegates every call unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;
