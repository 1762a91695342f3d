//! roost: a small, durable MQTT 3.1.1 / 5.0 broker. See README.md.
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

// Public interface: the command-line entry point used by the `roost` binary (hidden: not an API).
#[doc(hidden)]
pub mod cli;

mod config;
mod error;
