//! Byte-exact vectors worked out by hand from the MQTT 3.1.1 and 5.0 specifications (section
//! numbers in each row). Every vector is checked both ways: the bytes decode to the packet, and
//! the packet encodes to exactly the bytes. A second table holds valid but non-canonical inputs
//! (decode only), e.g. a 5.0 PUBACK that spells out a Success reason the encoder leaves out.
//!
//! Remaining Lengths are written as sums of the field sizes so they can be checked by eye.

use std::num::{NonZeroU16, NonZeroU32};

use roost::packets::{
    decode, Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, Packet, PacketId, Publish,
    PublishProperties, QoS, QosPid, ReasonCode, RetainHandling, Status, SubAck, Subscribe,
    SubscribeProperties, Subscription, SubscriptionIds, SubscriptionOptions, UnsubAck, Unsubscribe,
    UserProperties, Version, Will, WillProperties,
};

use ReasonCode as R;
use Version::{V3_1 as V31, V3_1_1 as V3, V5};

struct Vector {
    /// Where in the specification the layout comes from.
    spec: &'static str,
    version: Version,
    bytes: Vec<u8>,
    packet: Packet<'static>,
}

fn v(spec: &'static str, version: Version, bytes: &[u8], packet: Packet<'static>) -> Vector {
    Vector {
        spec,
        version,
        bytes: bytes.to_vec(),
        packet,
    }
}

const fn pid(n: u16) -> PacketId {
    match NonZeroU16::new(n) {
        Some(n) => PacketId(n),
        None => panic!("packet id 0"),
    }
}

const fn nz32(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => panic!("zero"),
    }
}

const SUB_IDS: [NonZeroU32; 2] = [nz32(1), nz32(128)];

fn publish(qos_pid: QosPid, topic: &'static str, payload: &'static [u8]) -> Publish<'static> {
    Publish {
        dup: false,
        qos_pid,
        retain: false,
        topic,
        payload,
        properties: PublishProperties::default(),
    }
}

fn options(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions {
        qos,
        ..SubscriptionOptions::default()
    }
}

#[rustfmt::skip]
fn vectors() -> Vec<Vector> {
    vec![
        // ---- CONNECT.
        // 3.1.1 §3.1.2.10, figure 3.6 (non-normative example): protocol name, level 4, flags
        // 0xCE (user name, password, will QoS 1, will flag, clean session), keep alive 10;
        // then the payload of §3.1.3 in its order: client id, will topic, will message, user
        // name, password. Remaining Length = 10 + 4 + 5 + 5 + 3 + 4 = 31.
        v("3.1.1 §3.1.2.10 fig. 3.6, §3.1.3", V3, &[
            0x10, 31,
            0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xCE, 0x00, 0x0A,
            0x00, 0x02, b'c', b'1',
            0x00, 0x03, b'w', b'/', b't',
            0x00, 0x03, b'b', b'y', b'e',
            0x00, 0x01, b'u',
            0x00, 0x02, b'p', b'w',
        ], Packet::Connect(Connect {
            protocol: V3,
            clean_start: true,
            keep_alive: 10,
            client_id: "c1",
            will: Some(Will {
                topic: "w/t",
                payload: b"bye",
                qos: QoS::AtLeastOnce,
                retain: false,
                properties: WillProperties::default(),
            }),
            username: Some("u"),
            password: Some(b"pw"),
            properties: ConnectProperties::default(),
        })),
        // MQTT 3.1: protocol name "MQIsdp", level 3. Remaining Length = 8 + 1 + 1 + 2 + 4 = 16.
        v("3.1 §3.1 (MQIsdp, level 3)", V31, &[
            0x10, 16,
            0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x00, 0x00, 0x3C,
            0x00, 0x02, b'c', b'1',
        ], Packet::Connect(Connect {
            protocol: V31,
            clean_start: false,
            keep_alive: 60,
            client_id: "c1",
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties::default(),
        })),
        // 5.0 §3.1.2.12 (variable header example) with Session Expiry Interval 10 (0x11),
        // Receive Maximum 20 (0x21) and User Property k=v (0x26): properties 5 + 3 + 7 = 15.
        // Remaining Length = 10 + 1 + 15 + 5 = 31.
        v("5.0 §3.1.2.11, §3.1.2.12", V5, &[
            0x10, 31,
            0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C,
            15,
            0x11, 0x00, 0x00, 0x00, 0x0A,
            0x21, 0x00, 0x14,
            0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
            0x00, 0x03, b'c', b'i', b'd',
        ], Packet::Connect(Connect {
            protocol: V5,
            clean_start: true,
            keep_alive: 60,
            client_id: "cid",
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties {
                session_expiry_interval: Some(10),
                receive_maximum: NonZeroU16::new(20),
                user: UserProperties::Pairs(&[("k", "v")]),
                ..ConnectProperties::default()
            },
        })),
        // 5.0 §3.1.3.2: a will with Will Delay Interval 5 (0x18) and a retained QoS 2 will,
        // password only (allowed in 5.0, §3.1.2.9). Flags = password 0x40 | will retain 0x20 |
        // will QoS 2 0x10 | will 0x04 = 0x74. Remaining Length = 10 + 1 + 2 + 1 + 5 + 3 + 2 + 3
        // = 27.
        v("5.0 §3.1.2.9, §3.1.3.2", V5, &[
            0x10, 27,
            0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x74, 0x00, 0x00,
            0x00,
            0x00, 0x00,
            5, 0x18, 0x00, 0x00, 0x00, 0x05,
            0x00, 0x01, b't',
            0x00, 0x00,
            0x00, 0x01, 0xFF,
        ], Packet::Connect(Connect {
            protocol: V5,
            clean_start: false,
            keep_alive: 0,
            client_id: "",
            will: Some(Will {
                topic: "t",
                payload: b"",
                qos: QoS::ExactlyOnce,
                retain: true,
                properties: WillProperties {
                    will_delay_interval: Some(5),
                    ..WillProperties::default()
                },
            }),
            username: None,
            password: Some(&[0xFF]),
            properties: ConnectProperties::default(),
        })),
        // ---- CONNACK.
        v("3.1.1 §3.2.2 (accepted)", V3, &[0x20, 0x02, 0x00, 0x00], Packet::ConnAck(ConnAck::new(false, R::Success))),
        v("3.1.1 §3.2.2.2 (session present)", V3, &[0x20, 0x02, 0x01, 0x00], Packet::ConnAck(ConnAck::new(true, R::Success))),
        v("3.1.1 §3.2.2.3 (return code 5)", V3, &[0x20, 0x02, 0x00, 0x05], Packet::ConnAck(ConnAck::new(false, R::NotAuthorized))),
        v("3.1.1 §3.2.2.3 (return code 1)", V3, &[0x20, 0x02, 0x00, 0x01], Packet::ConnAck(ConnAck::new(false, R::UnsupportedProtocolVersion))),
        // 5.0 §3.2.2.3: Maximum QoS 1 (0x24), Assigned Client Identifier "abc" (0x12), Topic
        // Alias Maximum 10 (0x22): properties 2 + 6 + 3 = 11, Remaining Length = 2 + 1 + 11.
        v("5.0 §3.2.2.3", V5, &[
            0x20, 14, 0x00, 0x00, 11,
            0x24, 0x01,
            0x12, 0x00, 0x03, b'a', b'b', b'c',
            0x22, 0x00, 0x0A,
        ], Packet::ConnAck(ConnAck {
            session_present: false,
            code: R::Success,
            properties: ConnAckProperties {
                maximum_qos: Some(QoS::AtLeastOnce),
                assigned_client_identifier: Some("abc"),
                topic_alias_maximum: Some(10),
                ..ConnAckProperties::default()
            },
        })),
        v("5.0 §3.2.2.2 (0x87 Not authorized)", V5, &[0x20, 0x03, 0x00, 0x87, 0x00], Packet::ConnAck(ConnAck::new(false, R::NotAuthorized))),
        v("5.0 §3.2.2.1.1 (session present)", V5, &[0x20, 0x03, 0x01, 0x00, 0x00], Packet::ConnAck(ConnAck::new(true, R::Success))),
        // ---- PUBLISH.
        // 3.1.1 §3.3: topic "a/b", QoS 0 (no packet id), payload "hi": 5 + 2 = 7.
        v("3.1.1 §3.3.2 (QoS 0)", V3, &[0x30, 7, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'],
          Packet::Publish(publish(QosPid::AtMostOnce, "a/b", b"hi"))),
        // 3.1.1 §3.3.2.2, figure 3.11: packet id 10 after the topic: 5 + 2 + 2 = 9.
        v("3.1.1 §3.3.2 fig. 3.11 (QoS 1)", V3, &[0x32, 9, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, b'h', b'i'],
          Packet::Publish(publish(QosPid::AtLeastOnce(pid(10)), "a/b", b"hi"))),
        // 3.1.1 §3.3.1: DUP 0x08 | QoS 2 0x04 | RETAIN 0x01 = 0x0D, empty payload: 5 + 2.
        v("3.1.1 §3.3.1 (QoS 2, DUP, RETAIN)", V3, &[0x3D, 7, 0x00, 0x03, b'a', b'/', b'b', 0xFF, 0xFF],
          Packet::Publish(Publish { dup: true, retain: true, ..publish(QosPid::ExactlyOnce(pid(0xFFFF)), "a/b", b"") })),
        // 5.0 §3.3.2.3: Property Length 0 after the topic: 5 + 1 + 2 = 8.
        v("5.0 §3.3.2.3 (QoS 0, no properties)", V5, &[0x30, 8, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'h', b'i'],
          Packet::Publish(publish(QosPid::AtMostOnce, "a/b", b"hi"))),
        // 5.0 §3.3.2.3: Payload Format Indicator 1 (2 bytes), Message Expiry Interval 60 (5),
        // User Property k=v (7), Subscription Identifiers 1 (2) and 128 (3, a two-byte
        // Variable Byte Integer 0x80 0x01): properties 19; Remaining Length = 5 + 2 + 1 + 19 + 2.
        v("5.0 §3.3.2.3, §1.5.5 (QoS 1, properties)", V5, &[
            0x32, 29, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x01, 19,
            0x01, 0x01,
            0x02, 0x00, 0x00, 0x00, 0x3C,
            0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
            0x0B, 0x01,
            0x0B, 0x80, 0x01,
            b'h', b'i',
        ], Packet::Publish(Publish {
            properties: PublishProperties {
                payload_is_utf8: Some(true),
                message_expiry_interval: Some(60),
                user: UserProperties::Pairs(&[("k", "v")]),
                subscription_ids: SubscriptionIds::List(&SUB_IDS),
                ..PublishProperties::default()
            },
            ..publish(QosPid::AtLeastOnce(pid(1)), "a/b", b"hi")
        })),
        // 5.0 §3.3.2.1, §3.3.2.3.4: empty topic with Topic Alias 5: 2 + 2 + 1 + 3 + 1 = 9.
        v("5.0 §3.3.2.3.4 (QoS 2, topic alias)", V5, &[0x34, 9, 0x00, 0x00, 0x00, 0x07, 0x03, 0x23, 0x00, 0x05, b'x'],
          Packet::Publish(Publish {
              properties: PublishProperties { topic_alias: NonZeroU16::new(5), ..PublishProperties::default() },
              ..publish(QosPid::ExactlyOnce(pid(7)), "", b"x")
          })),
        // A 200-byte payload makes the Remaining Length 205 = 0xCD 0x01 (§2.2.3 / §1.5.5).
        v("3.1.1 §2.2.3 (two-byte Remaining Length)", V3, &{
            let mut b = vec![0x30, 0xCD, 0x01, 0x00, 0x03, b'a', b'/', b'b'];
            b.extend_from_slice(&[b'z'; 200]);
            b
        }, Packet::Publish(publish(QosPid::AtMostOnce, "a/b", &[b'z'; 200]))),
        // ---- PUBACK, PUBREC, PUBREL, PUBCOMP.
        v("3.1.1 §3.4", V3, &[0x40, 0x02, 0x00, 0x01], Packet::PubAck(Ack::new(pid(1)))),
        v("3.1.1 §3.5", V3, &[0x50, 0x02, 0x12, 0x34], Packet::PubRec(Ack::new(pid(0x1234)))),
        v("3.1.1 §3.6.1 (flags 0010)", V3, &[0x62, 0x02, 0x00, 0x01], Packet::PubRel(Ack::new(pid(1)))),
        v("3.1.1 §3.7", V3, &[0x70, 0x02, 0x00, 0x01], Packet::PubComp(Ack::new(pid(1)))),
        // 5.0 §3.4.2.1: Success without properties is sent with Remaining Length 2.
        v("5.0 §3.4.2.1 (remaining length 2)", V5, &[0x40, 0x02, 0x00, 0x01], Packet::PubAck(Ack::new(pid(1)))),
        // 5.0 §3.4.2.2.1: a reason but no properties: Remaining Length 3.
        v("5.0 §3.4.2.1 (remaining length 3)", V5, &[0x40, 0x03, 0x00, 0x01, 0x10],
          Packet::PubAck(Ack { reason: R::NoMatchingSubscribers, ..Ack::new(pid(1)) })),
        v("5.0 §3.6.2.1 (0x92)", V5, &[0x62, 0x03, 0x00, 0x01, 0x92],
          Packet::PubRel(Ack { reason: R::PacketIdentifierNotFound, ..Ack::new(pid(1)) })),
        // 5.0 §3.5.2.2: Reason String "bad" (0x1F): 2 + 1 + 1 + 6 = 10.
        v("5.0 §3.5.2.2 (reason string)", V5, &[0x50, 10, 0x00, 0x01, 0x80, 0x06, 0x1F, 0x00, 0x03, b'b', b'a', b'd'],
          Packet::PubRec(Ack {
              packet_id: pid(1),
              reason: R::UnspecifiedError,
              properties: AckProperties { reason_string: Some("bad"), ..AckProperties::default() },
          })),
        // 5.0 §3.7.2: Success with a property must spell out the reason: 2 + 1 + 1 + 5.
        v("5.0 §3.7.2.2 (success with user property)", V5, &[0x70, 9, 0x00, 0x02, 0x00, 0x05, 0x26, 0x00, 0x00, 0x00, 0x00],
          Packet::PubComp(Ack {
              packet_id: pid(2),
              reason: R::Success,
              properties: AckProperties { user: UserProperties::Pairs(&[("", "")]), ..AckProperties::default() },
          })),
        // ---- SUBSCRIBE.
        // 3.1.1 §3.8.3, table 3.5: "a/#" QoS 1 and "b" QoS 2: 2 + (5 + 1) + (3 + 1) = 12.
        v("3.1.1 §3.8.3", V3, &[0x82, 12, 0x00, 0x0A, 0x00, 0x03, b'a', b'/', b'#', 0x01, 0x00, 0x01, b'b', 0x02],
          Packet::Subscribe(Subscribe {
              packet_id: pid(10),
              filters: vec![
                  Subscription { filter: "a/#", options: options(QoS::AtLeastOnce) },
                  Subscription { filter: "b", options: options(QoS::ExactlyOnce) },
              ],
              properties: SubscribeProperties::default(),
          })),
        // 5.0 §3.8.3.1: options QoS 1 | No Local 0x04 | Retain As Published 0x08 | Retain
        // Handling 2 << 4 = 0x2D; Subscription Identifier 5: 2 + 1 + 2 + 5 + 1 = 11.
        v("5.0 §3.8.2.1.2, §3.8.3.1", V5, &[0x82, 11, 0x00, 0x0A, 0x02, 0x0B, 0x05, 0x00, 0x03, b'a', b'/', b'#', 0x2D],
          Packet::Subscribe(Subscribe {
              packet_id: pid(10),
              filters: vec![Subscription {
                  filter: "a/#",
                  options: SubscriptionOptions {
                      qos: QoS::AtLeastOnce,
                      no_local: true,
                      retain_as_published: true,
                      retain_handling: RetainHandling::DoNotSend,
                  },
              }],
              properties: SubscribeProperties { subscription_id: Some(nz32(5)), ..SubscribeProperties::default() },
          })),
        // ---- SUBACK.
        // 3.1.1 §3.9.3, figure 3.26: return codes 0, 1 and the failure 0x80.
        v("3.1.1 §3.9.3 (0x80 failure)", V3, &[0x90, 5, 0x00, 0x0A, 0x00, 0x01, 0x80],
          Packet::SubAck(SubAck {
              packet_id: pid(10),
              reasons: vec![R::Success, R::GrantedQoS1, R::UnspecifiedError],
              properties: AckProperties::default(),
          })),
        // 5.0 §3.9.3: 0x02, 0x8F, 0xA2 after a Property Length of 0: 2 + 1 + 3 = 6.
        v("5.0 §3.9.3", V5, &[0x90, 6, 0x00, 0x0A, 0x00, 0x02, 0x8F, 0xA2],
          Packet::SubAck(SubAck {
              packet_id: pid(10),
              reasons: vec![R::GrantedQoS2, R::TopicFilterInvalid, R::WildcardSubscriptionsNotSupported],
              properties: AckProperties::default(),
          })),
        // ---- UNSUBSCRIBE and UNSUBACK.
        v("3.1.1 §3.10 (flags 0010)", V3, &[0xA2, 5, 0x00, 0x0B, 0x00, 0x01, b'a'],
          Packet::Unsubscribe(Unsubscribe { packet_id: pid(11), filters: vec!["a"], user: UserProperties::default() })),
        // 5.0 §3.10.2.1: User Property x=y: 2 + 1 + 7 + 3 + 5 = 18.
        v("5.0 §3.10.2.1", V5, &[0xA2, 18, 0x00, 0x0B, 0x07, 0x26, 0x00, 0x01, b'x', 0x00, 0x01, b'y', 0x00, 0x01, b'a', 0x00, 0x03, b'b', b'/', b'+'],
          Packet::Unsubscribe(Unsubscribe { packet_id: pid(11), filters: vec!["a", "b/+"], user: UserProperties::Pairs(&[("x", "y")]) })),
        // 3.1.1 §3.11.3: UNSUBACK has no payload.
        v("3.1.1 §3.11", V3, &[0xB0, 0x02, 0x00, 0x0B],
          Packet::UnsubAck(UnsubAck { packet_id: pid(11), reasons: vec![], properties: AckProperties::default() })),
        // 5.0 §3.11.3: Success and 0x11 No subscription existed: 2 + 1 + 2 = 5.
        v("5.0 §3.11.3", V5, &[0xB0, 5, 0x00, 0x0B, 0x00, 0x00, 0x11],
          Packet::UnsubAck(UnsubAck { packet_id: pid(11), reasons: vec![R::Success, R::NoSubscriptionExisted], properties: AckProperties::default() })),
        // ---- PINGREQ, PINGRESP.
        v("3.1.1 §3.12", V3, &[0xC0, 0x00], Packet::PingReq),
        v("5.0 §3.12", V5, &[0xC0, 0x00], Packet::PingReq),
        v("3.1.1 §3.13", V3, &[0xD0, 0x00], Packet::PingResp),
        v("5.0 §3.13", V5, &[0xD0, 0x00], Packet::PingResp),
        // ---- DISCONNECT.
        v("3.1.1 §3.14", V3, &[0xE0, 0x00], Packet::Disconnect(Disconnect::default())),
        // 5.0 §3.14.2.1: Normal disconnection without properties has Remaining Length 0.
        v("5.0 §3.14.2.1 (short)", V5, &[0xE0, 0x00], Packet::Disconnect(Disconnect::default())),
        v("5.0 §3.14.2.1 (0x04)", V5, &[0xE0, 0x01, 0x04], Packet::Disconnect(Disconnect::new(R::DisconnectWithWillMessage))),
        // 5.0 §3.14.2.2: 0x8E with Reason String "x": 1 + 1 + 4 = 6.
        v("5.0 §3.14.2.2.3", V5, &[0xE0, 0x06, 0x8E, 0x04, 0x1F, 0x00, 0x01, b'x'],
          Packet::Disconnect(Disconnect {
              reason: R::SessionTakenOver,
              properties: DisconnectProperties { reason_string: Some("x"), ..DisconnectProperties::default() },
          })),
        // 5.0 §3.14.2.2.2: Session Expiry Interval 0xFFFFFFFF: 1 + 1 + 5 = 7.
        v("5.0 §3.14.2.2.2", V5, &[0xE0, 0x07, 0x00, 0x05, 0x11, 0xFF, 0xFF, 0xFF, 0xFF],
          Packet::Disconnect(Disconnect {
              reason: R::Success,
              properties: DisconnectProperties { session_expiry_interval: Some(u32::MAX), ..DisconnectProperties::default() },
          })),
        // ---- AUTH (5.0 only).
        v("5.0 §3.15.2.1 (short)", V5, &[0xF0, 0x00], Packet::Auth(Auth::default())),
        // 5.0 §3.15.2.2: 0x18 Continue authentication, method "SCRAM" (8 bytes), data 01 02
        // (5 bytes): 1 + 1 + 13 = 15.
        v("5.0 §3.15.2.2", V5, &[0xF0, 15, 0x18, 13, 0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', 0x16, 0x00, 0x02, 0x01, 0x02],
          Packet::Auth(Auth {
              reason: R::ContinueAuthentication,
              properties: AuthProperties {
                  authentication_method: Some("SCRAM"),
                  authentication_data: Some(&[1, 2]),
                  ..AuthProperties::default()
              },
          })),
        // 5.0 §3.15.2.2.2: any AUTH other than the empty Success form names its method.
        v("5.0 §3.15.2.1 (0x19)", V5, &[0xF0, 0x06, 0x19, 0x04, 0x15, 0x00, 0x01, b'M'],
          Packet::Auth(Auth {
              reason: R::ReAuthenticate,
              properties: AuthProperties { authentication_method: Some("M"), ..AuthProperties::default() },
          })),
    ]
}

#[test]
fn vectors_decode_to_their_packet() {
    for t in vectors() {
        match decode(&t.bytes, t.version, t.bytes.len()) {
            Ok(Status::Complete((p, used))) => {
                assert_eq!(used, t.bytes.len(), "{}", t.spec);
                assert_eq!(p, t.packet, "{}", t.spec);
            }
            other => panic!("{}: {:02x?} -> {other:?}", t.spec, t.bytes),
        }
    }
}

#[test]
fn packets_encode_to_their_vector() {
    for t in vectors() {
        let mut out = Vec::new();
        assert_eq!(
            t.packet.encode(t.version, &mut out),
            Ok(t.bytes.len()),
            "{}",
            t.spec
        );
        assert_eq!(out, t.bytes, "{}", t.spec);
        assert_eq!(
            t.packet.encoded_len(t.version),
            Ok(t.bytes.len()),
            "{}",
            t.spec
        );
    }
}

/// Valid inputs the encoder writes differently (shorter, or in its own property order): each
/// decodes to the packet, which encodes to the canonical bytes given.
#[rustfmt::skip]
fn non_canonical() -> Vec<(&'static str, Version, Vec<u8>, Vec<u8>)> {
    vec![
        // 5.0 §3.4.2.1: Success and a Property Length of 0 spelled out.
        ("5.0 §3.4.2.1", V5, vec![0x40, 0x04, 0x00, 0x01, 0x00, 0x00], vec![0x40, 0x02, 0x00, 0x01]),
        ("5.0 §3.4.2.1", V5, vec![0x40, 0x03, 0x00, 0x01, 0x00], vec![0x40, 0x02, 0x00, 0x01]),
        ("5.0 §3.4.2.1", V5, vec![0x40, 0x04, 0x00, 0x01, 0x10, 0x00], vec![0x40, 0x03, 0x00, 0x01, 0x10]),
        // 5.0 §3.14.2.1: Normal disconnection spelled out.
        ("5.0 §3.14.2.1", V5, vec![0xE0, 0x01, 0x00], vec![0xE0, 0x00]),
        ("5.0 §3.14.2.1", V5, vec![0xE0, 0x02, 0x00, 0x00], vec![0xE0, 0x00]),
        // 5.0 §2.2.2: properties may come in any order; the encoder uses its own.
        ("5.0 §2.2.2", V5, vec![0x20, 14, 0x00, 0x00, 11, 0x22, 0x00, 0x0A, 0x12, 0x00, 0x03, b'a', b'b', b'c', 0x24, 0x01],
                           vec![0x20, 14, 0x00, 0x00, 11, 0x24, 0x01, 0x12, 0x00, 0x03, b'a', b'b', b'c', 0x22, 0x00, 0x0A]),
        // 3.1.1 §3.3.1.1: DUP on a QoS 1 message is kept.
        ("3.1.1 §3.3.1.1", V3, vec![0x3A, 0x05, 0x00, 0x01, b'a', 0x00, 0x01], vec![0x3A, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]),
    ]
}

#[test]
fn non_canonical_inputs_decode_and_encode_canonically() {
    for (spec, version, bytes, canonical) in non_canonical() {
        let Ok(Status::Complete((p, used))) = decode(&bytes, version, usize::MAX) else {
            panic!("{spec}: {bytes:02x?}")
        };
        assert_eq!(used, bytes.len(), "{spec}");
        let mut out = Vec::new();
        assert_eq!(p.encode(version, &mut out), Ok(canonical.len()), "{spec}");
        assert_eq!(out, canonical, "{spec}");
        let Ok(Status::Complete((q, _))) = decode(&canonical, version, usize::MAX) else {
            panic!("{spec}: {canonical:02x?}")
        };
        assert_eq!(q, p, "{spec}");
    }
}

/// A 5.0 packet encoded for 3.1.1 loses its properties and has its reasons mapped to 3.1.1
/// return codes (3.1.1 §3.2.2.3, §3.9.3).
#[rustfmt::skip]
#[test]
fn v5_packets_encode_to_their_v3_view() {
    let cases: Vec<(&str, Packet<'static>, &[u8])> = vec![
        ("3.1.1 §3.2.2.3 (0x86 -> 4)", Packet::ConnAck(ConnAck::new(false, R::BadUserNameOrPassword)), &[0x20, 0x02, 0x00, 0x04]),
        ("3.1.1 §3.2.2.3 (0x8A -> 5)", Packet::ConnAck(ConnAck::new(false, R::Banned)), &[0x20, 0x02, 0x00, 0x05]),
        ("3.1.1 §3.2.2.3 (0x89 -> 3)", Packet::ConnAck(ConnAck::new(false, R::ServerBusy)), &[0x20, 0x02, 0x00, 0x03]),
        ("3.1.1 §3.2.2.3 (0x85 -> 2)", Packet::ConnAck(ConnAck::new(false, R::ClientIdentifierNotValid)), &[0x20, 0x02, 0x00, 0x02]),
        ("3.1.1 §3.9.3 (failures -> 0x80)", Packet::SubAck(SubAck {
            packet_id: pid(3),
            reasons: vec![R::GrantedQoS2, R::NotAuthorized, R::QuotaExceeded],
            properties: AckProperties { reason_string: Some("no"), ..AckProperties::default() },
        }), &[0x90, 0x05, 0x00, 0x03, 0x02, 0x80, 0x80]),
        ("3.1.1 §3.11 (reasons dropped)", Packet::UnsubAck(UnsubAck {
            packet_id: pid(3),
            reasons: vec![R::NoSubscriptionExisted],
            properties: AckProperties::default(),
        }), &[0xB0, 0x02, 0x00, 0x03]),
        ("3.1.1 §3.14 (reason dropped)", Packet::Disconnect(Disconnect::new(R::ServerShuttingDown)), &[0xE0, 0x00]),
        ("3.1.1 §3.8.3 (only QoS kept)", Packet::Subscribe(Subscribe {
            packet_id: pid(1),
            filters: vec![Subscription {
                filter: "t",
                options: SubscriptionOptions { qos: QoS::AtLeastOnce, no_local: true, retain_as_published: true, retain_handling: RetainHandling::SendIfNew },
            }],
            properties: SubscribeProperties { subscription_id: Some(nz32(9)), ..SubscribeProperties::default() },
        }), &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b't', 0x01]),
    ];
    for (spec, p, want) in cases {
        let mut out = Vec::new();
        assert_eq!(p.encode(V3, &mut out), Ok(want.len()), "{spec}");
        assert_eq!(out, want, "{spec}");
    }
}

/// An independent implementation (the `mqttbytes` crate) reads what roost writes and roost
/// reads what it writes, for a 3.1.1 PUBLISH and SUBSCRIBE.
#[test]
fn mqttbytes_agrees_on_v3_publish_and_subscribe() {
    use mqttbytes::v4;

    let ours = Packet::Publish(Publish {
        retain: true,
        ..publish(QosPid::AtLeastOnce(pid(42)), "x/y", b"payload")
    });
    let mut bytes = Vec::new();
    ours.encode(V3, &mut bytes).expect("valid packet");
    let mut theirs = v4::Publish::new("x/y", mqttbytes::QoS::AtLeastOnce, b"payload".to_vec());
    theirs.pkid = 42;
    theirs.retain = true;
    // The buffer type is mqttbytes' own (`BytesMut`), inferred rather than named.
    let mut their_bytes = Default::default();
    theirs.write(&mut their_bytes).expect("mqttbytes encodes");
    assert_eq!(&their_bytes[..], &bytes[..]);

    let mut sub = v4::Subscribe::new("a/+", mqttbytes::QoS::ExactlyOnce);
    sub.pkid = 7;
    let mut their_bytes = Default::default();
    sub.write(&mut their_bytes).expect("mqttbytes encodes");
    let Ok(Status::Complete((Packet::Subscribe(s), _))) = decode(&their_bytes, V3, usize::MAX)
    else {
        panic!("{:02x?}", &their_bytes[..])
    };
    assert_eq!(s.packet_id.get(), sub.pkid);
    assert_eq!(
        s.filters,
        [Subscription {
            filter: "a/+",
            options: options(QoS::ExactlyOnce)
        }]
    );
}
