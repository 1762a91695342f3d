//! roost: a small, durable MQTT 3.1.1 / 5.0 broker. See README.md.
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

#[allow(dead_code)] // Not called by the broker yet.
mod timer;
#[allow(dead_code, unused_imports)] // Not called by the broker yet.
mod topic;
