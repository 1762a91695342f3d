//! The authentication hook: who may connect, the MQTT 5.0 enhanced-authentication exchange
//! (AUTH packets, section 4.12), and who may publish or subscribe to what.
//!
//! The broker calls an [`AuthHook`] with the state of the worker that owns the connection
//! locked, on that worker's thread or, for a connection just handed over to it, on the thread of
//! the worker that accepted it: once per CONNECT (and per re-authentication), and once per
//! PUBLISH and per subscription filter. It is a deliberate embedding API: a program that
//! runs roost through [`crate::Broker`] supplies its own; the `roost` binary uses
//! [`AllowAll`] until password, JWT and ACL methods are built in. Hooks decide; they do no IO
//! of roost's and must return quickly, as the worker serves other connections meanwhile.

use crate::packets::{QoS, Version};

/// What a client presented in CONNECT, as the hook sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Credentials<'a> {
    /// The client identifier; empty when the client sent none (roost assigns one once the
    /// client is accepted).
    pub client_id: &'a str,
    /// The User Name, if any.
    pub username: Option<&'a str>,
    /// The Password, if any (absent on re-authentication: roost does not keep it).
    pub password: Option<&'a [u8]>,
    /// The protocol the client speaks.
    pub protocol: Version,
}

/// A connected client, as the hook sees it when it authorizes a publish or a subscription.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Identity<'a> {
    /// The client identifier (the assigned one, for a client that sent none).
    pub client_id: &'a str,
    /// The User Name of its CONNECT, if any.
    pub username: Option<&'a str>,
    /// The protocol the client speaks.
    pub protocol: Version,
}

/// Why a client is turned away. roost sends it as the CONNACK reason (5.0) or the nearest
/// 3.1.1 return code; a failed re-authentication ends the connection with DISCONNECT 0x87.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 0x86 Bad User Name or Password (3.1.1: return code 4).
    BadUserNameOrPassword,
    /// 0x87 Not authorized (3.1.1: return code 5).
    NotAuthorized,
    /// 0x8A Banned (3.1.1: return code 5).
    Banned,
    /// 0x8C Bad authentication method (3.1.1: return code 4).
    BadAuthenticationMethod,
}

/// The outcome of one step of an enhanced-authentication exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// More is needed: roost sends this Authentication Data in an AUTH packet with reason 0x18
    /// (MQTT-4.12.0-2) and passes the client's answer to the next step.
    Continue(Vec<u8>),
    /// Authenticated: roost sends CONNACK 0x00 (or, on re-authentication, AUTH 0x00) carrying
    /// this Authentication Data, if any.
    Success(Option<Vec<u8>>),
    /// Not authenticated: roost refuses the connection (MQTT-4.12.0-4) or, on
    /// re-authentication, disconnects it (MQTT-4.12.1-2).
    Refuse(Refusal),
}

/// Decides who may connect and what they may do. Every method has a default that allows it
/// (and no enhanced-authentication method is supported), so an implementation overrides what it
/// needs.
pub trait AuthHook: Send + Sync {
    /// Decides on a CONNECT without an Authentication Method (every 3.1.1 CONNECT and most 5.0
    /// ones). A CONNECT with one is decided by [`AuthHook::start`] instead.
    fn check(&self, credentials: &Credentials<'_>) -> Result<(), Refusal> {
        let _ = credentials;
        Ok(())
    }

    /// Starts an enhanced-authentication exchange for `method`, for a CONNECT carrying that
    /// Authentication Method or for a re-authentication (AUTH 0x19) of a connection that
    /// authenticated with it. `None` means the method is not supported: the CONNECT gets
    /// CONNACK 0x8C (MQTT-4.12.0-1); a re-authentication ends with DISCONNECT 0x87.
    fn start(&self, method: &str, credentials: &Credentials<'_>) -> Option<Box<dyn Exchange>> {
        let _ = (method, credentials);
        None
    }

    /// May `who` publish to `topic`? Asked for every PUBLISH (after topic aliases are resolved)
    /// and for the will of a CONNECT. A refused PUBLISH is neither delivered nor retained: a
    /// 5.0 client gets PUBACK or PUBREC 0x87; 3.1.1 has no way to say so, so a 3.1.1 client
    /// gets the usual acknowledgement and the message is dropped, as other brokers do. A
    /// refused will refuses the CONNECT (0x87, 3.1.1 return code 5).
    fn may_publish(&self, who: &Identity<'_>, topic: &str, qos: QoS, retain: bool) -> bool {
        let _ = (who, topic, qos, retain);
        true
    }

    /// May `who` subscribe to `filter` (as sent, `$share/...` included)? A refused filter gets
    /// SUBACK 0x87 (3.1.1: 0x80) and no retained messages.
    fn may_subscribe(&self, who: &Identity<'_>, filter: &str, qos: QoS) -> bool {
        let _ = (who, filter, qos);
        true
    }
}

/// One enhanced-authentication exchange in progress, for one connection.
pub trait Exchange: Send {
    /// Takes the client's Authentication Data (from CONNECT or AUTH 0x19 on the first step,
    /// from AUTH 0x18 after that) and says what happens next.
    fn step(&mut self, data: Option<&[u8]>) -> Step;
}

/// The hook the `roost` binary uses: every client is accepted and may do anything, and no
/// enhanced-authentication method exists, so a CONNECT with an Authentication Method gets 0x8C.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl AuthHook for AllowAll {}

impl Refusal {
    /// The reason code sent for this refusal in a CONNACK.
    pub(crate) fn reason_code(self) -> crate::packets::ReasonCode {
        use crate::packets::ReasonCode as R;
        match self {
            Refusal::BadUserNameOrPassword => R::BadUserNameOrPassword,
            Refusal::NotAuthorized => R::NotAuthorized,
            Refusal::Banned => R::Banned,
            Refusal::BadAuthenticationMethod => R::BadAuthenticationMethod,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packets::{PacketType, ReasonCode};

    #[test]
    fn refusals_are_connack_reasons() {
        for (r, code) in [
            (Refusal::BadUserNameOrPassword, 0x86),
            (Refusal::NotAuthorized, 0x87),
            (Refusal::Banned, 0x8A),
            (Refusal::BadAuthenticationMethod, 0x8C),
        ] {
            assert_eq!(r.reason_code() as u8, code);
            assert!(r.reason_code().allowed_in(PacketType::ConnAck));
        }
        // A failed re-authentication is reported in DISCONNECT, which takes only 0x87 of these.
        assert!(ReasonCode::NotAuthorized.allowed_in(PacketType::Disconnect));
    }

    #[test]
    fn allow_all_accepts_and_knows_no_method() {
        let c = Credentials {
            client_id: "c",
            username: Some("u"),
            password: Some(b"p"),
            protocol: Version::V5,
        };
        assert_eq!(AllowAll.check(&c), Ok(()));
        assert!(AllowAll.start("SCRAM-SHA-256", &c).is_none());
        let who = Identity {
            client_id: "c",
            username: None,
            protocol: Version::V3_1_1,
        };
        assert!(AllowAll.may_publish(&who, "a/b", QoS::ExactlyOnce, true));
        assert!(AllowAll.may_subscribe(&who, "#", QoS::AtLeastOnce));
    }
}
