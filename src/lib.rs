//! roost: a small, durable MQTT 3.1.1 / 5.0 broker. See README.md.
//!
//! The public interface of this crate is [`packets`], a complete MQTT 3.1.1 and 5.0 codec that
//! other projects may use on its own, and a small embedding API: [`Broker`] runs the broker
//! inside another program, with an [`auth::AuthHook`] deciding who may connect.
//! Everything else is the broker's and crate-private.
// One `unsafe` call exists, in `sched` (setting the worker threads' scheduling policy), allowed
// there by name; every other module stays free of it.
#![deny(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub, missing_docs)]

// ---- Public interface -------------------------------------------------------------------------
pub mod auth;
pub mod packets;

pub use broker::Broker;
pub use error::StartError;

/// The command-line entry point used by the `roost` binary (hidden: not an API).
#[doc(hidden)]
pub mod cli;

/// Entry points for the fuzz targets in `fuzz/` (hidden: not an API).
#[doc(hidden)]
pub mod fuzzing;

// ---- Crate-private ----------------------------------------------------------------------------
mod broker;
mod config;
mod error;
mod message;
mod sched;
mod session;
// These two carry complete APIs (sizes, cancel, reschedule, the reference matcher, ...) that the
// unit tests exercise in full and the broker does not call everywhere yet.
#[cfg_attr(not(test), allow(dead_code, unused_imports))]
mod timer;
#[cfg_attr(not(test), allow(dead_code, unused_imports))]
mod topic;
