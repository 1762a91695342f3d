//! SIGTERM and SIGINT: roost logs that it is shutting down and exits 0 within a few seconds,
//! also with connected clients.

mod common;

use std::time::Duration;

use common::*;
use roost::packets::QoS;

fn stops_cleanly_on(signal: &str) {
    let mut broker = Broker::workers(4);
    let (mut c, _) = Raw::open(broker.addr, &ConnectOpts::v311(&unique("shut")));
    c.subscribe(1, &[("shut/#", QoS::AtLeastOnce)]);
    let (mut v5, _) = Raw::open(broker.addr, &ConnectOpts::v5(&unique("shut5")));
    let status = broker
        .stop_with(signal, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("roost still running 5 s after SIG{signal}"));
    assert_eq!(status.code(), Some(0), "exit status after SIG{signal}");
    let log = broker.log();
    assert!(
        log.contains(&format!("SIG{signal} received: shutting down")),
        "{log}"
    );
    assert!(log.contains("roost stopped"), "{log}");
    // The client's connection was closed.
    c.expect_closed(WAIT);
    // A 5.0 client is told why (MQTT 5.0 section 3.14.2.1, 0x8B Server shutting down).
    assert_eq!(v5.expect_closed(WAIT), [Pkt::Disconnect(0x8B)]);
}

#[test]
fn sigterm_shuts_down_with_exit_0() {
    stops_cleanly_on("TERM");
}

#[test]
fn sigint_shuts_down_with_exit_0() {
    stops_cleanly_on("INT");
}
