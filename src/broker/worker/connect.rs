//! CONNECT, from its checks to CONNACK: validation, the hand-over decision, authentication
//! through the hook (plain, or the MQTT 5.0 AUTH exchange of section 4.12, re-authentication
//! included), takeover and the session a client gets. Nothing here reads or writes a socket:
//! packets go out through the worker's `send`.

use super::*;
use crate::auth::{Credentials, Exchange, Refusal, Step};
use crate::packets::{AuthProperties, ConnAckProperties};

/// A CONNECT that passed its checks, owned, so it can wait for an authentication exchange.
pub(super) struct Admission {
    protocol: Version,
    client_id: Arc<str>,
    /// The client sent an empty id and `client_id` was assigned (MQTT-3.1.3-6).
    assigned: bool,
    clean_start: bool,
    expiry: Expiry,
    /// The keepalive in force: the client's, or the Server Keep Alive.
    keep_alive: u16,
    /// Sent in CONNACK when the client's keepalive was over the maximum.
    server_keep_alive: Option<u16>,
    will: Option<Arc<Message>>,
    will_delay: u32,
    /// The client's Receive Maximum (5.0) or the 3.1.1 window.
    send_window: usize,
    /// The client's Maximum Packet Size.
    max_packet_out: u32,
    /// The client's Topic Alias Maximum (5.0): how many aliases roost may send it.
    topic_alias_max: u16,
    /// The User Name, kept for the hook's authorization decisions.
    username: Option<Box<str>>,
}

/// A connection's login, for the hook: its user name and enhanced authentication.
pub(super) struct Login {
    /// The User Name of the CONNECT.
    pub(super) username: Option<Box<str>>,
    /// Present when the CONNECT carried an Authentication Method.
    pub(super) enhanced: Option<Enhanced>,
}

/// The enhanced-authentication state of one connection.
pub(super) struct Enhanced {
    /// The Authentication Method of the CONNECT: every AUTH must carry it (MQTT-4.12.0-5).
    method: Box<str>,
    /// The exchange under way, if any.
    exchange: Option<Box<dyn Exchange>>,
    /// The CONNECT waiting for its exchange to finish; `None` once CONNACK is sent.
    pub(super) admission: Option<Box<Admission>>,
}

impl Worker {
    /// The login of connection `k`, if it has one. Most connections have none, and then the
    /// map is usually empty: that case is answered without hashing, as it is asked for every
    /// packet and every PUBLISH (the hook's identity).
    pub(super) fn login(&self, k: usize) -> Option<&Login> {
        if self.logins.is_empty() {
            return None;
        }
        self.logins.get(&k)
    }

    /// The enhanced-authentication state of connection `k`, if its CONNECT had a method.
    pub(super) fn enhanced(&self, k: usize) -> Option<&Enhanced> {
        self.login(k).and_then(|l| l.enhanced.as_ref())
    }

    fn enhanced_mut(&mut self, k: usize) -> Option<&mut Enhanced> {
        self.logins.get_mut(&k).and_then(|l| l.enhanced.as_mut())
    }

    pub(super) fn on_connect(&mut self, k: usize, c: &Connect<'_>) -> Flow {
        let v5 = c.protocol.is_v5();
        if let Some(conn) = self.conns.get_mut(k) {
            conn.version = c.protocol;
        }
        let max_ka = self.shared.limits.max_keepalive;
        let over_max = c.keep_alive > max_ka || (c.keep_alive == 0 && max_ka < u16::MAX);
        if !v5 && over_max {
            // 3.1.1 has no way to lower a client's keepalive; like Mosquitto, refuse it (0x02).
            return self.refuse(k, ReasonCode::ClientIdentifierNotValid);
        }
        let n = self.shared.workers.len();
        let (client_id, assigned): (Arc<str>, bool) = if c.client_id.is_empty() {
            if !v5 && !c.clean_start {
                // MQTT-3.1.3-8: an empty ClientId needs CleanSession=1.
                return self.refuse(k, ReasonCode::ClientIdentifierNotValid);
            }
            (self.assign_client_id(), true)
        } else {
            let home = home_worker(c.client_id, n);
            if home != self.index {
                return Flow::HandOver(home);
            }
            (Arc::from(c.client_id), false)
        };

        let expiry = if v5 {
            Expiry::from_interval(c.properties.session_expiry_interval.unwrap_or(0))
        } else if c.clean_start {
            Expiry::AtClose
        } else {
            Expiry::Never
        };
        let admission = Admission {
            protocol: c.protocol,
            client_id,
            assigned,
            clean_start: c.clean_start,
            expiry,
            // MQTT-3.2.2-21: past the maximum, the client must use the Server Keep Alive.
            keep_alive: if over_max { max_ka } else { c.keep_alive },
            server_keep_alive: over_max.then_some(max_ka),
            will: c.will.as_ref().map(|w| Arc::new(will_message(w, self.now))),
            will_delay: c
                .will
                .as_ref()
                .and_then(|w| w.properties.will_delay_interval)
                .unwrap_or(0),
            send_window: if v5 {
                usize::from(c.properties.receive_maximum.map_or(u16::MAX, |r| r.get()))
            } else {
                V3_WINDOW
            },
            max_packet_out: c
                .properties
                .maximum_packet_size
                .map_or(u32::MAX, |m| m.get()),
            topic_alias_max: c.properties.topic_alias_maximum.unwrap_or(0),
            username: c.username.map(Into::into),
        };

        // Authentication comes before any session state is touched, so a refused client takes
        // over nothing.
        let credentials = Credentials {
            client_id: c.client_id,
            username: c.username,
            password: c.password,
            protocol: c.protocol,
        };
        let method = c.properties.authentication_method.filter(|_| v5);
        let Some(method) = method else {
            return match self.shared.auth.check(&credentials) {
                Ok(()) => self.admit(k, admission, None),
                Err(refusal) => self.refuse(k, refusal.reason_code()),
            };
        };
        let Some(mut exchange) = self.shared.auth.start(method, &credentials) else {
            // MQTT-4.12.0-1: a method the server does not support.
            return self.refuse(k, ReasonCode::BadAuthenticationMethod);
        };
        let step = exchange.step(c.properties.authentication_data);
        self.logins.insert(
            k,
            Login {
                username: c.username.map(Into::into),
                enhanced: Some(Enhanced {
                    method: method.into(),
                    exchange: Some(exchange),
                    admission: Some(Box::new(admission)),
                }),
            },
        );
        self.connect_step(k, step)
    }

    /// Applies one step of the exchange a CONNECT started (MQTT 5.0 section 4.12).
    pub(super) fn connect_step(&mut self, k: usize, step: Step) -> Flow {
        match step {
            Step::Continue(data) => {
                self.send_auth(k, ReasonCode::ContinueAuthentication, &data);
                Flow::Continue
            }
            Step::Success(data) => {
                let admission = self.enhanced_mut(k).and_then(|e| {
                    e.exchange = None;
                    e.admission.take()
                });
                match admission {
                    Some(a) => self.admit(k, *a, data),
                    None => Flow::Stop,
                }
            }
            // MQTT-4.12.0-4: refused with CONNACK, then closed.
            Step::Refuse(refusal) => self.refuse(k, refusal.reason_code()),
        }
    }

    /// An AUTH packet while a CONNECT's exchange is under way.
    pub(super) fn on_auth_connecting(&mut self, k: usize, a: &Auth<'_>) -> Flow {
        let Some(e) = self.enhanced_mut(k) else {
            return Flow::Stop;
        };
        if a.properties.authentication_method != Some(&*e.method) {
            // MQTT-4.12.0-5: every AUTH carries the method of the CONNECT.
            return self.refuse(k, ReasonCode::BadAuthenticationMethod);
        }
        let (ReasonCode::ContinueAuthentication, Some(exchange)) = (a.reason, e.exchange.as_mut())
        else {
            // MQTT-4.12.0-3: the client answers with reason 0x18.
            self.close(k, Close::Violation(ReasonCode::ProtocolError));
            return Flow::Stop;
        };
        let step = exchange.step(a.properties.authentication_data);
        self.connect_step(k, step)
    }

    /// An AUTH packet on an accepted connection: a re-authentication (MQTT 5.0 section 4.12.1).
    pub(super) fn on_reauth(&mut self, k: usize, s: usize, a: &Auth<'_>) -> Flow {
        let Some((username, Some(e))) = self
            .logins
            .get_mut(&k)
            .map(|l| (l.username.as_deref(), l.enhanced.as_mut()))
        else {
            // MQTT-4.12.0-7: no AUTH from a client that connected without a method.
            self.close(k, Close::Violation(ReasonCode::ProtocolError));
            return Flow::Stop;
        };
        if a.properties.authentication_method != Some(&*e.method) {
            // MQTT-4.12.1-1: re-authentication uses the method of the CONNECT.
            self.close(k, Close::Violation(ReasonCode::ProtocolError));
            return Flow::Stop;
        }
        let step = match (a.reason, e.exchange.as_mut()) {
            (ReasonCode::ReAuthenticate, None) => {
                let client_id = self.sessions.get(s).map(|x| x.client_id.clone());
                let version = self.conns.get(k).map_or(Version::V5, |c| c.version);
                let credentials = Credentials {
                    client_id: client_id.as_deref().unwrap_or_default(),
                    username,
                    password: None,
                    protocol: version,
                };
                match self.shared.auth.start(&e.method, &credentials) {
                    Some(mut exchange) => {
                        let step = exchange.step(a.properties.authentication_data);
                        e.exchange = Some(exchange);
                        step
                    }
                    None => Step::Refuse(Refusal::BadAuthenticationMethod),
                }
            }
            (ReasonCode::ContinueAuthentication, Some(exchange)) => {
                exchange.step(a.properties.authentication_data)
            }
            _ => {
                // MQTT-3.15.2-1: 0x19 starts an exchange, 0x18 continues one; nothing else.
                self.close(k, Close::Violation(ReasonCode::ProtocolError));
                return Flow::Stop;
            }
        };
        match step {
            Step::Continue(data) => self.send_auth(k, ReasonCode::ContinueAuthentication, &data),
            Step::Success(data) => {
                if let Some(e) = self.enhanced_mut(k) {
                    e.exchange = None;
                }
                self.send_auth(k, ReasonCode::Success, data.as_deref().unwrap_or_default());
            }
            Step::Refuse(_) => {
                // MQTT-4.12.1-2: a failed re-authentication ends the connection.
                self.close(k, Close::Violation(ReasonCode::NotAuthorized));
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Sends AUTH with the connection's method (MQTT-4.12.0-5) and `data` (left out if empty).
    pub(super) fn send_auth(&mut self, k: usize, reason: ReasonCode, data: &[u8]) {
        let Some(method) = self.enhanced(k).map(|e| e.method.clone()) else {
            return;
        };
        let auth = Auth {
            reason,
            properties: AuthProperties {
                authentication_method: Some(&method),
                authentication_data: (!data.is_empty()).then_some(data),
                ..AuthProperties::default()
            },
        };
        self.send(k, &Packet::Auth(auth));
    }

    /// Accepts an authenticated CONNECT: takes over or creates the session, answers CONNACK
    /// (after an exchange: with its Authentication Method and the final `auth_data`, if any)
    /// and resumes.
    pub(super) fn admit(&mut self, k: usize, mut a: Admission, auth_data: Option<Vec<u8>>) -> Flow {
        let v5 = a.protocol.is_v5();
        if let Some(will) = &a.will {
            let who = Identity {
                client_id: &a.client_id,
                username: a.username.as_deref(),
                protocol: a.protocol,
            };
            if !self
                .shared
                .auth
                .may_publish(&who, &will.topic, will.qos, will.retain)
            {
                return self.refuse(k, ReasonCode::NotAuthorized);
            }
        }
        if let Some(username) = a.username.take() {
            self.logins
                .entry(k)
                .or_insert(Login {
                    username: None,
                    enhanced: None,
                })
                .username = Some(username);
        }
        let now_ms = self.now_ms;
        // Take over an existing connection of the same client (MQTT-3.1.4-3).
        let existing = self.by_client.get(&a.client_id).copied();
        let mut session_present = false;
        let slot = match existing {
            Some(slot) => {
                let old_conn = self.sessions.get(slot).and_then(|s| s.conn);
                if let Some(old) = old_conn {
                    self.take_over(old, a.clean_start);
                }
                // A delayed will is not sent when the client comes back in time, unless the
                // session it belongs to ends now (MQTT-3.1.3-9, section 3.1.3.2.2).
                let pending = self
                    .sessions
                    .get_mut(slot)
                    .and_then(|s| s.pending_will.take());
                if let (true, Some(w)) = (a.clean_start, pending) {
                    self.route_will(w);
                }
                if a.clean_start {
                    self.clear_session(slot);
                } else {
                    session_present = true;
                }
                slot
            }
            None => {
                let generation = self.next_generation;
                self.next_generation = self.next_generation.wrapping_add(1);
                let entry = self.sessions.vacant_entry();
                let slot = entry.key();
                let key = SessionKey {
                    worker: self.index as u16,
                    slot: slot as u32,
                    generation,
                };
                entry.insert(Session::new(
                    Arc::clone(&a.client_id),
                    key,
                    a.protocol,
                    a.expiry,
                ));
                self.by_client.insert(Arc::clone(&a.client_id), slot);
                slot
            }
        };

        if let Some(session) = self.sessions.get_mut(slot) {
            session.conn = Some(k);
            session.version = a.protocol;
            session.expiry = a.expiry;
            session.epoch = session.epoch.wrapping_add(1);
            session.send_window = a.send_window;
        }
        let Some(conn) = self.conns.get_mut(k) else {
            return Flow::Stop;
        };
        if let Phase::AwaitConnect { timer } = conn.phase {
            self.timers.cancel(timer);
        }
        conn.phase = Phase::Active { session: slot };
        conn.keep_alive = a.keep_alive;
        conn.last_rx_ms = now_ms;
        conn.will = a.will;
        conn.will_delay = a.will_delay;
        conn.max_packet_out = a.max_packet_out;
        if a.topic_alias_max > 0 {
            conn.aliases = Some(Box::new(Aliases {
                out_max: a.topic_alias_max,
                ..Aliases::default()
            }));
        }
        let id = conn.id;
        if a.keep_alive > 0 {
            // MQTT-3.1.2-24: one and a half times the keepalive.
            let deadline = now_ms + u64::from(a.keep_alive) * 1500;
            self.timers
                .insert(deadline, Timer::KeepAlive { conn: k, id });
        }
        if !v5 {
            if let Some(retry) = self.shared.limits.retry_interval {
                self.timers
                    .insert(now_ms + duration_ms(retry), Timer::Retry { conn: k, id });
            }
        }

        let method = self.enhanced(k).map(|e| e.method.clone());
        let mut ack = ConnAck::new(session_present, ReasonCode::Success);
        if v5 {
            ack.properties = ConnAckProperties {
                assigned_client_identifier: a.assigned.then_some(&*a.client_id),
                server_keep_alive: a.server_keep_alive,
                topic_alias_maximum: Some(TOPIC_ALIAS_MAX),
                receive_maximum: NonZeroU16::new(RECEIVE_MAX),
                maximum_packet_size: NonZeroU32::new(self.shared.limits.max_packet_size as u32),
                retain_available: Some(true),
                wildcard_subscription_available: Some(true),
                subscription_identifiers_available: Some(true),
                shared_subscription_available: Some(true),
                // MQTT-4.12.0-5 and -6: the method in CONNACK exactly when CONNECT had one.
                authentication_method: method.as_deref(),
                authentication_data: auth_data.as_deref().filter(|d| !d.is_empty()),
                ..ConnAckProperties::default()
            };
        }
        self.send(k, &Packet::ConnAck(ack));
        if session_present {
            self.resume(k, slot);
        }
        Flow::Continue
    }

    /// Refuses a CONNECT with `code` (3.1.1: the nearest return code) and closes.
    pub(super) fn refuse(&mut self, k: usize, code: ReasonCode) -> Flow {
        self.send(k, &Packet::ConnAck(ConnAck::new(false, code)));
        self.close(k, Close::Shutdown);
        Flow::Stop
    }

    /// A client id for an empty one (MQTT-3.1.3-6), chosen so that its session lives here.
    pub(super) fn assign_client_id(&mut self) -> Arc<str> {
        let n = self.shared.workers.len();
        loop {
            self.next_client += 1;
            let id = format!("roost-{}-{:x}", self.index, self.next_client);
            if home_worker(&id, n) == self.index && !self.by_client.contains_key(id.as_str()) {
                return id.into();
            }
        }
    }

    /// Closes the connection a new CONNECT with the same client id replaces.
    pub(super) fn take_over(&mut self, old: usize, clean_start: bool) {
        let Some(conn) = self.conns.get_mut(old) else {
            return;
        };
        conn.phase = Phase::Detached;
        let will = conn.will.take();
        let v5 = conn.version.is_v5();
        // A delayed will of a session that continues is cancelled by the new connection.
        let delayed = v5 && conn.will_delay > 0 && !clean_start;
        if v5 {
            encode_into(
                conn,
                old,
                &mut self.dirty,
                &Packet::Disconnect(Disconnect::new(ReasonCode::SessionTakenOver)),
            );
        }
        self.close(old, Close::Shutdown);
        // The old connection ended without DISCONNECT, so its will goes out (MQTT-3.1.2-8).
        if let (false, Some(w)) = (delayed, will) {
            self.route_will(w);
        }
    }
}
