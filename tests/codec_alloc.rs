//! Style rule 13, proven: decoding a PUBLISH allocates nothing, encoding into a buffer with
//! room allocates nothing, encoding into an empty buffer allocates exactly once, and a fixed
//! header announcing a huge packet costs no allocation whether it is refused or awaited.
//!
//! A counting global allocator wraps `System`. The count is per thread, so the harness and
//! other tests running at the same time cannot disturb a measurement taken on the test's own
//! thread; the counter is a `const`-initialised `Cell` without destructor, so reading it never
//! allocates either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::num::{NonZeroU16, NonZeroU32};

use roost::packets::{
    parse_frame, Ack, AckProperties, ConnAck, Connect, ConnectProperties, DecodeError, Disconnect,
    Packet, PacketId, Publish, PublishProperties, QosPid, ReasonCode, Status, SubscriptionIds,
    UserProperties, Version, VARINT_MAX,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the slot may be gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` unchanged; counting touches only a thread-local
// `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations it made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    let after = ALLOCATIONS.with(Cell::get);
    (r, after - before)
}

const V3: Version = Version::V3_1_1;
const V5: Version = Version::V5;

const USER: [(&str, &str); 3] = [("k", "v"), ("region", "eu-west"), ("k", "again")];
const SUB_IDS: [NonZeroU32; 2] = [NonZeroU32::MIN, LARGEST_SUB_ID];
const LARGEST_SUB_ID: NonZeroU32 = match NonZeroU32::new(VARINT_MAX) {
    Some(v) => v,
    None => panic!("VARINT_MAX is not 0"),
};

fn pid(n: u16) -> PacketId {
    PacketId(NonZeroU16::new(n).expect("test ids are not 0"))
}

/// PUBLISH packets of every QoS, bare (3.1.1) and with every kind of 5.0 property.
fn publishes() -> Vec<(Version, Packet<'static>)> {
    let bare = Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: "sensors/kitchen/temperature",
        payload: b"21.5",
        properties: PublishProperties::default(),
    };
    let rich = PublishProperties {
        payload_is_utf8: Some(true),
        message_expiry_interval: Some(3600),
        topic_alias: NonZeroU16::new(4),
        response_topic: Some("replies/kitchen"),
        correlation_data: Some(b"\x01\x02\x03"),
        user: UserProperties::Pairs(&USER),
        subscription_ids: SubscriptionIds::List(&SUB_IDS),
        content_type: Some("text/plain"),
    };
    let mut out = Vec::new();
    for qos_pid in [
        QosPid::AtMostOnce,
        QosPid::AtLeastOnce(pid(1)),
        QosPid::ExactlyOnce(pid(0xFFFF)),
    ] {
        let dup = qos_pid != QosPid::AtMostOnce;
        out.push((
            V3,
            Packet::Publish(Publish {
                qos_pid,
                dup,
                ..bare.clone()
            }),
        ));
        out.push((
            V5,
            Packet::Publish(Publish {
                qos_pid,
                ..bare.clone()
            }),
        ));
        out.push((
            V5,
            Packet::Publish(Publish {
                qos_pid,
                retain: true,
                properties: rich,
                ..bare.clone()
            }),
        ));
    }
    out
}

/// Other packets whose decoding borrows everything (no list of filters or codes).
fn others() -> Vec<(Version, Packet<'static>)> {
    vec![
        (
            V5,
            Packet::Connect(Connect {
                protocol: V5,
                clean_start: true,
                keep_alive: 30,
                client_id: "client",
                will: None,
                username: Some("user"),
                password: Some(b"secret"),
                properties: ConnectProperties {
                    session_expiry_interval: Some(60),
                    user: UserProperties::Pairs(&USER),
                    ..ConnectProperties::default()
                },
            }),
        ),
        (V5, Packet::ConnAck(ConnAck::new(true, ReasonCode::Success))),
        (
            V5,
            Packet::PubAck(Ack {
                packet_id: pid(9),
                reason: ReasonCode::NoMatchingSubscribers,
                properties: AckProperties {
                    reason_string: Some("nobody"),
                    user: UserProperties::Pairs(&USER),
                },
            }),
        ),
        (V3, Packet::PubRel(Ack::new(pid(9)))),
        (
            V5,
            Packet::Disconnect(Disconnect::new(ReasonCode::ServerBusy)),
        ),
        (V3, Packet::PingReq),
    ]
}

fn encoded(version: Version, p: &Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode(version, &mut out).expect("valid test packet");
    out
}

/// Everything lives in this one test so the measurements are taken in sequence on one thread.
#[test]
fn the_hot_paths_do_not_allocate() {
    // The counter counts: a plain allocation on this thread is seen.
    let (b, n) = allocations(|| Box::new(7u8));
    assert_eq!((*b, n), (7, 1));

    let mut cases = publishes();
    cases.extend(others());
    for (version, packet) in &cases {
        let bytes = encoded(*version, packet);

        // parse_frame + Packet::decode, and reading the user properties and subscription ids
        // back out of the wire block.
        let (decoded, n) = allocations(|| {
            let Ok(Status::Complete(frame)) = parse_frame(&bytes, bytes.len()) else {
                return None;
            };
            let p = Packet::decode(&frame, *version).ok()?;
            let extras = match &p {
                Packet::Publish(p) => {
                    p.properties.user.iter().count() + p.properties.subscription_ids.iter().count()
                }
                _ => 0,
            };
            Some((p, extras))
        });
        assert_eq!(n, 0, "decode allocated: {version:?} {packet:?}");
        let (decoded, extras) = decoded.expect("valid test packet decodes");
        assert_eq!(&decoded, packet);
        if let Packet::Publish(p) = packet {
            let want = if version.is_v5() && p.properties.topic_alias.is_some() {
                USER.len() + SUB_IDS.len()
            } else {
                0
            };
            assert_eq!(extras, want, "{packet:?}");
        }

        // Encoding into a buffer with room: no allocation, same bytes.
        let mut out = Vec::with_capacity(bytes.len());
        let (written, n) = allocations(|| packet.encode(*version, &mut out));
        assert_eq!(n, 0, "encode into capacity allocated: {packet:?}");
        assert_eq!((written, &out), (Ok(bytes.len()), &bytes));

        // Also when the buffer already holds other packets and has room behind them.
        let mut out = Vec::with_capacity(2 + bytes.len());
        out.extend_from_slice(&[0xC0, 0x00]);
        let (written, n) = allocations(|| packet.encode(*version, &mut out));
        assert_eq!(n, 0, "append into capacity allocated: {packet:?}");
        assert_eq!((written, &out[2..]), (Ok(bytes.len()), &bytes[..]));

        // Encoding into an empty Vec: one reservation, big enough for the whole packet.
        let mut out = Vec::new();
        let (written, n) = allocations(|| packet.encode(*version, &mut out));
        assert_eq!(n, 1, "encode into an empty Vec: {packet:?}");
        assert_eq!((written, &out), (Ok(bytes.len()), &bytes));

        // Appending to a full buffer: one reallocation.
        let mut out = vec![0xC0, 0x00];
        out.shrink_to_fit();
        let (written, n) = allocations(|| packet.encode(*version, &mut out));
        assert_eq!(n, 1, "append to a full Vec: {packet:?}");
        assert_eq!((written, &out[2..]), (Ok(bytes.len()), &bytes[..]));

        // encoded_len computes the size without allocating.
        let (len, n) = allocations(|| packet.encoded_len(*version));
        assert_eq!((len, n), (Ok(bytes.len()), 0));
    }

    // A fixed header announcing 256 MB (Remaining Length 268,435,455) and nothing else.
    let header = [0x30, 0xFF, 0xFF, 0xFF, 0x7F];
    let (r, n) = allocations(|| parse_frame(&header, 1 << 20));
    assert_eq!(
        r,
        Err(DecodeError::PacketTooLarge {
            size: 268_435_460,
            max: 1 << 20
        })
    );
    assert_eq!(n, 0, "refusing a huge packet allocated");
    let (r, n) = allocations(|| parse_frame(&header, usize::MAX));
    assert_eq!(r, Ok(Status::Partial(268_435_455)));
    assert_eq!(n, 0, "awaiting a huge packet allocated");
}
