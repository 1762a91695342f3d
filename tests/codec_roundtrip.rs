//! Property tests: every packet type, generated valid for MQTT 3.1 (CONNECT), 3.1.1 and 5.0,
//! encodes to exactly `encoded_len` bytes, decodes back to an equal value using exactly those
//! bytes, re-encodes to the same bytes, and decodes incrementally (every proper prefix is
//! `Status::Partial`, never an error).
//!
//! The strategies follow the specification: a QoS 0 PUBLISH has DUP clear (MQTT-3.3.1-2), topic
//! names hold no wildcard or U+0000 (MQTT-3.3.2-2, MQTT-1.5.4-2) and are empty only in 5.0 with
//! a Topic Alias (5.0 §3.3.2.1), reason codes are those table 2-6 allows in the packet, Session
//! Present comes only with Success (MQTT-3.2.2-6), Maximum QoS is 0 or 1 (5.0 §3.2.2.3.4),
//! Authentication Data comes only with a method (5.0 §3.1.2.11.10). For 3.1.1 every 5.0-only
//! field is left empty and reasons are those 3.1.1 can carry.
//!
//! Strategies leak the strings and lists they generate, so a generated packet can borrow them
//! for `'static`; a test process is short-lived and the total stays small.

use std::num::{NonZeroU16, NonZeroU32};

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;
use roost::packets::{
    decode, parse_frame, Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties,
    Connect, ConnectProperties, Disconnect, DisconnectProperties, EncodeError, Packet, PacketId,
    PacketType, Publish, PublishProperties, QoS, QosPid, ReasonCode, RetainHandling, Status,
    SubAck, Subscribe, SubscribeProperties, Subscription, SubscriptionIds, SubscriptionOptions,
    UnsubAck, Unsubscribe, UserProperties, Version, Will, WillProperties, ALL_REASON_CODES,
    VARINT_MAX,
};

// ---- Properties under test ---------------------------------------------------------------------

/// Encode, measure, decode, compare, re-encode.
fn round_trip(p: &Packet<'_>, version: Version) -> Result<(), TestCaseError> {
    let len = p.encoded_len(version);
    let mut out = Vec::new();
    let written = p.encode(version, &mut out);
    prop_assert_eq!(written, len);
    prop_assert_eq!(Ok(out.len()), len);

    // A second packet right behind must not be touched.
    let mut buf = out.clone();
    buf.extend_from_slice(&[0xC0, 0x00]);
    let (q, used) = match decode(&buf, version, out.len()) {
        Ok(Status::Complete(x)) => x,
        other => return Err(TestCaseError::fail(format!("{out:02x?} -> {other:?}"))),
    };
    prop_assert_eq!(used, out.len());
    prop_assert_eq!(&q, p, "{:02x?}", out);

    let mut again = Vec::new();
    q.encode(version, &mut again)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, out);
    Ok(())
}

/// Every proper prefix of an encoding is incomplete, with a lower bound on what is missing
/// that never overshoots the real packet.
fn incremental(p: &Packet<'_>, version: Version) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    p.encode(version, &mut out)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for cut in 0..out.len() {
        let prefix = &out[..cut];
        match decode(prefix, version, usize::MAX) {
            Ok(Status::Partial(n)) => {
                prop_assert!(n >= 1 && cut + n <= out.len(), "cut {}: {}", cut, n);
            }
            other => return Err(TestCaseError::fail(format!("cut {cut}: {other:?}"))),
        }
        prop_assert_eq!(
            parse_frame(prefix, usize::MAX).map(|s| matches!(s, Status::Partial(_))),
            Ok(true)
        );
    }
    prop_assert!(matches!(
        decode(&out, version, usize::MAX),
        Ok(Status::Complete((_, n))) if n == out.len()
    ));
    Ok(())
}

const V3: Version = Version::V3_1_1;
const V5: Version = Version::V5;

macro_rules! round_trips {
    ($($name:ident: $strategy:expr, $version:expr;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(p in $strategy) {
                    round_trip(&p, $version)?;
                }
            )*
        }
    };
}

round_trips! {
    connect_v3_1: connect(Version::V3_1), Version::V3_1;
    connect_v3_1_1: connect(V3), V3;
    connect_v5: connect(V5), V5;
    connack_v3: connack(false), V3;
    connack_v5: connack(true), V5;
    publish_v3: publish(false), V3;
    publish_v5: publish(true), V5;
    puback_v3: ack(PacketType::PubAck, false), V3;
    puback_v5: ack(PacketType::PubAck, true), V5;
    pubrec_v3: ack(PacketType::PubRec, false), V3;
    pubrec_v5: ack(PacketType::PubRec, true), V5;
    pubrel_v3: ack(PacketType::PubRel, false), V3;
    pubrel_v5: ack(PacketType::PubRel, true), V5;
    pubcomp_v3: ack(PacketType::PubComp, false), V3;
    pubcomp_v5: ack(PacketType::PubComp, true), V5;
    subscribe_v3: subscribe(false), V3;
    subscribe_v5: subscribe(true), V5;
    suback_v3: suback(false), V3;
    suback_v5: suback(true), V5;
    unsubscribe_v3: unsubscribe(false), V3;
    unsubscribe_v5: unsubscribe(true), V5;
    unsuback_v3: unsuback(false), V3;
    unsuback_v5: unsuback(true), V5;
    pingreq_v3: Just(Packet::PingReq), V3;
    pingreq_v5: Just(Packet::PingReq), V5;
    pingresp_v3: Just(Packet::PingResp), V3;
    pingresp_v5: Just(Packet::PingResp), V5;
    disconnect_v3: disconnect(false), V3;
    disconnect_v5: disconnect(true), V5;
    auth_v5: auth(), V5;
}

proptest! {
    #[test]
    fn every_prefix_is_partial_v3(p in any_packet(V3)) {
        incremental(&p, V3)?;
    }

    #[test]
    fn every_prefix_is_partial_v5(p in any_packet(V5)) {
        incremental(&p, V5)?;
    }

    /// Encoding a 5.0 packet for 3.1.1 drops its properties and maps its reasons: the result is
    /// the 3.1.1 encoding of the packet stripped of its 5.0-only fields.
    #[test]
    fn encoding_for_v3_drops_v5_fields(p in publish(true).prop_filter("named", |p| {
        matches!(p, Packet::Publish(p) if !p.topic.is_empty())
    })) {
        let Packet::Publish(full) = &p else { return Err(TestCaseError::fail("not a PUBLISH")) };
        let bare = Packet::Publish(Publish { properties: PublishProperties::default(), ..full.clone() });
        let (mut a, mut b) = (Vec::new(), Vec::new());
        prop_assert_eq!(p.encode(V3, &mut a), bare.encode(V3, &mut b));
        prop_assert_eq!(&a, &b);
        round_trip(&bare, V3)?;
    }

    #[test]
    fn acks_for_v3_are_two_bytes_whatever_the_reason(p in ack(PacketType::PubRec, true)) {
        let mut out = Vec::new();
        prop_assert_eq!(p.encode(V3, &mut out), Ok(4));
        let Packet::PubRec(a) = &p else { return Err(TestCaseError::fail("not a PUBREC")) };
        let id = a.packet_id.get().to_be_bytes();
        prop_assert_eq!(out, vec![0x50, 0x02, id[0], id[1]]);
    }
}

#[test]
fn auth_cannot_be_encoded_for_v3() {
    let p = Packet::Auth(Auth::default());
    assert!(matches!(
        p.encode(V3, &mut Vec::new()),
        Err(EncodeError::InvalidValue(_))
    ));
    assert!(matches!(
        p.encoded_len(V3),
        Err(EncodeError::InvalidValue(_))
    ));
}

// ---- Strategies --------------------------------------------------------------------------------

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_bytes(b: Vec<u8>) -> &'static [u8] {
    Box::leak(b.into_boxed_slice())
}

/// Any string without U+0000, up to 12 characters (each 1 to 4 bytes).
fn text() -> impl Strategy<Value = &'static str> {
    "[^\\x00]{0,12}".prop_map(leak_str)
}

/// A topic name: at least one character, no wildcard, no U+0000.
fn topic() -> impl Strategy<Value = &'static str> {
    "[^\\x00+#]{1,12}".prop_map(leak_str)
}

/// A topic filter: at least one character, wildcards allowed.
fn filter() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        "[^\\x00]{1,12}",
        "[a-z]{1,3}(/(\\+|[a-z]{1,3})){0,3}(/#)?",
        Just("#".to_owned()),
        Just("$share/g/a/+".to_owned()),
    ]
    .prop_map(leak_str)
}

fn bytes() -> impl Strategy<Value = &'static [u8]> {
    vec(any::<u8>(), 0..24).prop_map(leak_bytes)
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    any::<NonZeroU16>().prop_map(PacketId)
}

fn qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

/// User properties, in order, names and values possibly repeated or empty.
fn user(v5: bool) -> BoxedStrategy<UserProperties<'static>> {
    if !v5 {
        return Just(UserProperties::default()).boxed();
    }
    vec((text(), text()), 0..4)
        .prop_map(|pairs| UserProperties::Pairs(Vec::leak(pairs)))
        .boxed()
}

fn subscription_id() -> impl Strategy<Value = NonZeroU32> {
    prop_oneof![1..=VARINT_MAX, Just(VARINT_MAX), 1..=200u32]
        .prop_map(|v| NonZeroU32::new(v).expect("range starts at 1"))
}

/// The reason codes MQTT 5.0 allows in `packet`.
fn reason(packet: PacketType) -> impl Strategy<Value = ReasonCode> {
    select(
        ALL_REASON_CODES
            .iter()
            .copied()
            .filter(|r| r.allowed_in(packet))
            .collect::<Vec<_>>(),
    )
}

/// Strategies return either a 3.1.1 or a 5.0 shape from one function; they are boxed to unify.
fn v3_or_v5<T: std::fmt::Debug + Clone + 'static>(
    v5: bool,
    v3: impl Strategy<Value = T> + 'static,
    v5s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    if v5 {
        v5s.boxed()
    } else {
        v3.boxed()
    }
}

fn connect_properties() -> impl Strategy<Value = ConnectProperties<'static>> {
    (
        (
            of(any::<u32>()),
            of(any::<NonZeroU16>()),
            of(any::<NonZeroU32>()),
        ),
        (of(any::<u16>()), of(any::<bool>()), of(any::<bool>())),
        (of(text()), of(bytes()), user(true)),
    )
        .prop_map(|((sei, rm, mps), (tam, rri, rpi), (method, data, user))| {
            ConnectProperties {
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                authentication_method: method,
                // 5.0 §3.1.2.11.10: no Authentication Data without a method.
                authentication_data: method.and(data),
                user,
            }
        })
}

fn will_properties() -> impl Strategy<Value = WillProperties<'static>> {
    (
        (of(any::<u32>()), of(any::<bool>()), of(any::<u32>())),
        (of(text()), of(topic()), of(bytes()), user(true)),
    )
        .prop_map(
            |((delay, utf8, expiry), (ct, rt, cd, user))| WillProperties {
                will_delay_interval: delay,
                payload_is_utf8: utf8,
                message_expiry_interval: expiry,
                content_type: ct,
                response_topic: rt,
                correlation_data: cd,
                user,
            },
        )
}

fn will(v5: bool) -> impl Strategy<Value = Will<'static>> {
    let props = v3_or_v5(v5, Just(WillProperties::default()), will_properties());
    (topic(), bytes(), qos(), any::<bool>(), props).prop_map(
        |(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        },
    )
}

fn connect(protocol: Version) -> impl Strategy<Value = Packet<'static>> {
    let v5 = protocol.is_v5();
    let props = v3_or_v5(v5, Just(ConnectProperties::default()), connect_properties());
    (
        (any::<bool>(), any::<u16>(), text()),
        (of(will(v5)), of(text()), of(bytes())),
        props,
    )
        .prop_map(
            move |(
                (clean_start, keep_alive, client_id),
                (will, username, password),
                properties,
            )| {
                // MQTT-3.1.2-22: before 5.0 a password needs a user name.
                let username = match (v5, username, password) {
                    (false, None, Some(_)) => Some("user"),
                    (_, u, _) => u,
                };
                Packet::Connect(Connect {
                    protocol,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                })
            },
        )
}

fn connack_properties() -> impl Strategy<Value = ConnAckProperties<'static>> {
    (
        (
            of(any::<u32>()),
            of(any::<NonZeroU16>()),
            of(select(vec![QoS::AtMostOnce, QoS::AtLeastOnce])),
            of(any::<bool>()),
            of(any::<NonZeroU32>()),
            of(text()),
        ),
        (of(any::<u16>()), of(text()), user(true)),
        (
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<u16>()),
        ),
        (of(text()), of(text()), of(text()), of(bytes())),
    )
        .prop_map(
            |((sei, rm, mq, ra, mps, aci), (tam, rs, user), (w, s, sh, ska), (ri, sr, am, ad))| {
                ConnAckProperties {
                    session_expiry_interval: sei,
                    receive_maximum: rm,
                    maximum_qos: mq,
                    retain_available: ra,
                    maximum_packet_size: mps,
                    assigned_client_identifier: aci,
                    topic_alias_maximum: tam,
                    reason_string: rs,
                    user,
                    wildcard_subscription_available: w,
                    subscription_identifiers_available: s,
                    shared_subscription_available: sh,
                    server_keep_alive: ska,
                    response_information: ri,
                    server_reference: sr,
                    authentication_method: am,
                    authentication_data: ad,
                }
            },
        )
}

fn connack(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    // 3.1.1 return codes 0 to 5 (section 3.2.2.3), as the reasons they decode to.
    let v3_codes = (0..=5)
        .filter_map(ReasonCode::from_v3_connack)
        .collect::<Vec<_>>();
    let code = v3_or_v5(v5, select(v3_codes), reason(PacketType::ConnAck));
    let props = v3_or_v5(v5, Just(ConnAckProperties::default()), connack_properties());
    (any::<bool>(), code, props).prop_map(|(sp, code, properties)| {
        Packet::ConnAck(ConnAck {
            // MQTT-3.2.2-6: Session Present only with Success.
            session_present: sp && code == ReasonCode::Success,
            code,
            properties,
        })
    })
}

fn publish_properties() -> impl Strategy<Value = PublishProperties<'static>> {
    (
        (of(any::<bool>()), of(any::<u32>()), of(any::<NonZeroU16>())),
        (of(topic()), of(bytes()), user(true)),
        (vec(subscription_id(), 0..4), of(text())),
    )
        .prop_map(
            |((utf8, expiry, alias), (rt, cd, user), (ids, ct))| PublishProperties {
                payload_is_utf8: utf8,
                message_expiry_interval: expiry,
                topic_alias: alias,
                response_topic: rt,
                correlation_data: cd,
                user,
                subscription_ids: SubscriptionIds::List(Vec::leak(ids)),
                content_type: ct,
            },
        )
}

fn publish(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    let props = v3_or_v5(v5, Just(PublishProperties::default()), publish_properties());
    // 5.0 §3.3.2.1: an empty topic name stands for a Topic Alias.
    let topic = v3_or_v5(v5, topic(), prop_oneof![3 => topic(), 1 => Just("")]);
    (
        (qos(), packet_id(), any::<bool>(), any::<bool>()),
        (topic, bytes(), props),
    )
        .prop_map(
            |((qos, id, dup, retain), (topic, payload, mut properties))| {
                if topic.is_empty() && properties.topic_alias.is_none() {
                    properties.topic_alias = NonZeroU16::new(1);
                }
                Packet::Publish(Publish {
                    // MQTT-3.3.1-2: DUP is 0 for QoS 0.
                    dup: dup && qos != QoS::AtMostOnce,
                    qos_pid: QosPid::new(qos, id),
                    retain,
                    topic,
                    payload,
                    properties,
                })
            },
        )
}

fn ack_properties(v5: bool) -> BoxedStrategy<AckProperties<'static>> {
    v3_or_v5(
        v5,
        Just(AckProperties::default()),
        (of(text()), user(true)).prop_map(|(reason_string, user)| AckProperties {
            reason_string,
            user,
        }),
    )
}

fn ack(packet: PacketType, v5: bool) -> impl Strategy<Value = Packet<'static>> {
    let code = v3_or_v5(v5, Just(ReasonCode::Success), reason(packet));
    (packet_id(), code, ack_properties(v5)).prop_map(move |(packet_id, reason, properties)| {
        let a = Ack {
            packet_id,
            reason,
            properties,
        };
        match packet {
            PacketType::PubAck => Packet::PubAck(a),
            PacketType::PubRec => Packet::PubRec(a),
            PacketType::PubRel => Packet::PubRel(a),
            _ => Packet::PubComp(a),
        }
    })
}

fn subscription_options(v5: bool) -> impl Strategy<Value = SubscriptionOptions> {
    let handling = select(vec![
        RetainHandling::SendAtSubscribe,
        RetainHandling::SendIfNew,
        RetainHandling::DoNotSend,
    ]);
    (qos(), any::<bool>(), any::<bool>(), handling).prop_map(move |(qos, nl, rap, rh)| {
        if v5 {
            SubscriptionOptions {
                qos,
                no_local: nl,
                retain_as_published: rap,
                retain_handling: rh,
            }
        } else {
            SubscriptionOptions {
                qos,
                ..SubscriptionOptions::default()
            }
        }
    })
}

fn subscribe(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    let props = v3_or_v5(
        v5,
        Just(SubscribeProperties::default()),
        (of(subscription_id()), user(true)).prop_map(|(subscription_id, user)| {
            SubscribeProperties {
                subscription_id,
                user,
            }
        }),
    );
    let filters = vec(
        (filter(), subscription_options(v5))
            .prop_map(|(filter, options)| Subscription { filter, options }),
        1..5,
    );
    (packet_id(), filters, props).prop_map(|(packet_id, filters, properties)| {
        Packet::Subscribe(Subscribe {
            packet_id,
            filters,
            properties,
        })
    })
}

fn suback(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    // 3.1.1 return codes 0, 1, 2 and 0x80 (MQTT-3.9.3-2), as the reasons they decode to.
    let v3_codes = [0, 1, 2, 0x80]
        .into_iter()
        .filter_map(ReasonCode::from_v3_suback)
        .collect::<Vec<_>>();
    let code = v3_or_v5(v5, select(v3_codes), reason(PacketType::SubAck));
    (packet_id(), vec(code, 1..5), ack_properties(v5)).prop_map(
        |(packet_id, reasons, properties)| {
            Packet::SubAck(SubAck {
                packet_id,
                reasons,
                properties,
            })
        },
    )
}

fn unsubscribe(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    (packet_id(), vec(filter(), 1..5), user(v5)).prop_map(|(packet_id, filters, user)| {
        Packet::Unsubscribe(Unsubscribe {
            packet_id,
            filters,
            user,
        })
    })
}

fn unsuback(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    // A 3.1.1 UNSUBACK has no payload (section 3.11.3).
    let reasons = v3_or_v5(
        v5,
        Just(Vec::new()),
        vec(reason(PacketType::UnsubAck), 1..5),
    );
    (packet_id(), reasons, ack_properties(v5)).prop_map(|(packet_id, reasons, properties)| {
        Packet::UnsubAck(UnsubAck {
            packet_id,
            reasons,
            properties,
        })
    })
}

fn disconnect(v5: bool) -> impl Strategy<Value = Packet<'static>> {
    let code = v3_or_v5(
        v5,
        Just(ReasonCode::Success),
        reason(PacketType::Disconnect),
    );
    let props = v3_or_v5(
        v5,
        Just(DisconnectProperties::default()),
        (of(any::<u32>()), of(text()), of(text()), user(true)).prop_map(
            |(session_expiry_interval, reason_string, server_reference, user)| {
                DisconnectProperties {
                    session_expiry_interval,
                    reason_string,
                    server_reference,
                    user,
                }
            },
        ),
    );
    (code, props)
        .prop_map(|(reason, properties)| Packet::Disconnect(Disconnect { reason, properties }))
}

fn auth() -> impl Strategy<Value = Packet<'static>> {
    // Section 3.15.2: either the empty Success form, or a reason code with properties that
    // include the Authentication Method.
    let props = (text(), of(bytes()), of(text()), user(true)).prop_map(
        |(method, authentication_data, reason_string, user)| AuthProperties {
            authentication_method: Some(method),
            authentication_data,
            reason_string,
            user,
        },
    );
    let full = (reason(PacketType::Auth), props)
        .prop_map(|(reason, properties)| Packet::Auth(Auth { reason, properties }));
    prop_oneof![Just(Packet::Auth(Auth::default())), full]
}

/// Any packet valid in `version`.
fn any_packet(version: Version) -> BoxedStrategy<Packet<'static>> {
    let v5 = version.is_v5();
    let mut all = vec![
        connect(version).boxed(),
        connack(v5).boxed(),
        publish(v5).boxed(),
        ack(PacketType::PubAck, v5).boxed(),
        ack(PacketType::PubRec, v5).boxed(),
        ack(PacketType::PubRel, v5).boxed(),
        ack(PacketType::PubComp, v5).boxed(),
        subscribe(v5).boxed(),
        suback(v5).boxed(),
        unsubscribe(v5).boxed(),
        unsuback(v5).boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        disconnect(v5).boxed(),
    ];
    if v5 {
        all.push(auth().boxed());
    }
    proptest::strategy::Union::new(all).boxed()
}
