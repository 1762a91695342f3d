//! The broker's configuration: the typed [`Config`], the `ROOST_*` variables it is read from, their
//! defaults, value syntax and `--help` text.
//!
//! Pure: nothing here reads the environment. [`Config::from_lookup`] takes a lookup function (the
//! shell passes `std::env::var`, tests pass a table) and the core count, so tests never call
//! `set_var`. The [`VARS`] table is the single list of known variables; it drives both
//! [`unknown_vars`] (a typo must not be silently ignored) and [`help_text`].
//!
//! Value syntax, shared by every variable of the kind:
//! - Surrounding whitespace is trimmed; an empty value is an error, never "use the default".
//! - Integers are plain ASCII digits: no sign, no `_`, no fraction.
//! - Durations are an integer followed by `ms`, `s`, `m` or `h` (lower case, no space), or a bare
//!   integer meaning seconds. Fractions such as `1.5s` are rejected: write `1500ms`.
//! - Sizes are an integer followed by `B`, `KiB`/`MiB`/`GiB` (powers of 1024) or `KB`/`MB`/`GB`
//!   (powers of 1000), case-sensitive, no space, or a bare integer meaning bytes.
//! - Overflow anywhere is an invalid value, never a panic or a wrap.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use crate::sched::SchedMode;

/// Default for `ROOST_LISTEN`: every IPv4 interface, the IANA MQTT port.
pub(crate) const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    1883,
));
/// Upper bound for `ROOST_WORKERS`; the default (the core count) is clamped to it.
pub(crate) const MAX_WORKERS: usize = 1024;
/// Default for `ROOST_MAX_PACKET_SIZE`: 1 MiB.
pub(crate) const DEFAULT_MAX_PACKET_SIZE: u32 = 1024 * 1024;
/// Smallest accepted `ROOST_MAX_PACKET_SIZE`.
pub(crate) const MIN_MAX_PACKET_SIZE: u32 = 16;
/// Largest accepted `ROOST_MAX_PACKET_SIZE`: the MQTT maximum remaining length (268,435,455) plus
/// the at most 5 bytes of fixed header.
pub(crate) const MAX_MAX_PACKET_SIZE: u32 = 268_435_455 + 5;
/// Default for `ROOST_CONNECT_TIMEOUT`.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest accepted `ROOST_CONNECT_TIMEOUT`.
pub(crate) const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Default for `ROOST_MAX_KEEPALIVE`, in seconds: the protocol maximum, i.e. no cap.
pub(crate) const DEFAULT_MAX_KEEPALIVE: u16 = u16::MAX;
/// Default for `ROOST_MAX_QUEUED`: messages held per offline or slow session.
pub(crate) const DEFAULT_MAX_QUEUED: usize = 1000;
/// Default for `ROOST_MAX_RETAINED`: 0, no limit (as Mosquitto).
pub(crate) const DEFAULT_MAX_RETAINED: usize = 0;
/// Default for `ROOST_RETRY_INTERVAL`: `None`, retries are off.
pub(crate) const DEFAULT_RETRY_INTERVAL: Option<Duration> = None;
/// Smallest non-zero `ROOST_RETRY_INTERVAL`; a shorter one would only flood slow clients.
pub(crate) const MIN_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Log filter used when neither `ROOST_LOG` nor `RUST_LOG` is set.
pub(crate) const DEFAULT_LOG: &str = "info";

/// The documentation of one known variable: one row of [`VARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VarDoc {
    /// The variable's name, `ROOST_` included.
    pub(crate) name: &'static str,
    /// The default, as the user would write it (or a phrase when it depends on the host).
    pub(crate) default: &'static str,
    /// One sentence for `--help`: what it controls and what it accepts.
    pub(crate) description: &'static str,
}

/// Every variable roost reads. The one list behind [`unknown_vars`] and [`help_text`]; a variable
/// added to [`Config::from_lookup`] must be added here too (a test checks both ways).
pub(crate) const VARS: &[VarDoc] = &[
    VarDoc {
        name: "ROOST_LISTEN",
        default: "0.0.0.0:1883",
        description: "Socket address the MQTT listener binds, e.g. 127.0.0.1:1883 or [::]:1883.",
    },
    VarDoc {
        name: "ROOST_WORKERS",
        default: "the number of CPU cores (at most 1024)",
        description: "Number of worker threads, an integer from 1 to 1024.",
    },
    VarDoc {
        name: "ROOST_MAX_PACKET_SIZE",
        default: "1MiB",
        description: "Largest MQTT packet accepted or sent, a size from 16B to 268435460B.",
    },
    VarDoc {
        name: "ROOST_CONNECT_TIMEOUT",
        default: "10s",
        description:
            "Time a new connection has to send CONNECT, a duration above 0 and at most 1h.",
    },
    VarDoc {
        name: "ROOST_MAX_KEEPALIVE",
        default: "65535s",
        description: "Largest keepalive a client may use, whole seconds from 1s to 65535s. A 5.0 \
                      client asking for more (or for none) is told this one (Server Keep Alive); \
                      a 3.1.1 client is refused with CONNACK 0x02, as Mosquitto does.",
    },
    VarDoc {
        name: "ROOST_MAX_QUEUED",
        default: "1000",
        description: "Messages queued per offline or slow session, an integer of at least 1.",
    },
    VarDoc {
        name: "ROOST_MAX_RETAINED",
        default: "0",
        description: "Topics with a retained message at most, 0 for no limit. Past it, a retained \
                      PUBLISH for a new topic is refused (PUBACK/PUBREC 0x97 to 5.0 clients); \
                      replacing or deleting a retained message is always allowed.",
    },
    VarDoc {
        name: "ROOST_RETRY_INTERVAL",
        default: "0",
        description:
            "Resend interval for unacknowledged MQTT 3.1.1 messages, 0 (off) or at least 1s.",
    },
    VarDoc {
        name: "ROOST_SCHED",
        default: "auto",
        description: "Linux scheduling policy of the worker threads: batch (SCHED_BATCH: a woken \
                      worker does not preempt the client that woke it, which keeps small hosts' \
                      latency low), normal, or auto (batch while the CPUs have idle time, \
                      normal while they are all busy; checked about once a second).",
    },
    VarDoc {
        name: "ROOST_LOG",
        default: "info",
        description:
            "Log filter in env_logger syntax, e.g. debug or roost=trace; RUST_LOG is used \
                      when it is unset.",
    },
];

/// The broker's validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    /// Where the listener binds (`ROOST_LISTEN`).
    pub(crate) listen: SocketAddr,
    /// Worker threads (`ROOST_WORKERS`); each owns a reactor and the sessions homed on it.
    /// Invariant: `1..=MAX_WORKERS`.
    pub(crate) workers: usize,
    /// Bound on any packet in either direction (`ROOST_MAX_PACKET_SIZE`), so a peer cannot make us
    /// buffer more than this per connection.
    /// Invariant: `MIN_MAX_PACKET_SIZE..=MAX_MAX_PACKET_SIZE`.
    pub(crate) max_packet_size: u32,
    /// How long a connection may stay silent before CONNECT (`ROOST_CONNECT_TIMEOUT`), so idle
    /// sockets cannot pile up. Invariant: non-zero and at most `MAX_CONNECT_TIMEOUT`.
    pub(crate) connect_timeout: Duration,
    /// Cap in seconds on a client's requested keepalive (`ROOST_MAX_KEEPALIVE`); `u16::MAX` is
    /// the protocol maximum, i.e. no cap. Invariant: non-zero.
    pub(crate) max_keepalive: u16,
    /// Messages held per offline or slow session (`ROOST_MAX_QUEUED`), so one absent subscriber
    /// cannot exhaust memory. Invariant: at least 1.
    pub(crate) max_queued: usize,
    /// Topics with a retained message at most (`ROOST_MAX_RETAINED`), so retained messages to
    /// ever-new topics cannot take all the memory; 0 means no limit.
    pub(crate) max_retained: usize,
    /// Resend interval for unacknowledged 3.1.1 messages (`ROOST_RETRY_INTERVAL`); `None` means
    /// off. Invariant: when `Some`, at least `MIN_RETRY_INTERVAL`.
    pub(crate) retry_interval: Option<Duration>,
    /// Scheduling policy of the worker threads (`ROOST_SCHED`).
    pub(crate) sched: SchedMode,
    /// The log filter as given (`ROOST_LOG`, else `RUST_LOG`); `None` means [`DEFAULT_LOG`]. Kept
    /// as a string because env_logger parses it.
    pub(crate) log: Option<String>,
}

/// Why the configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ConfigError {
    /// A known variable holds a value that does not parse or is out of range.
    #[error("invalid value {value:?} for {var}: expected {expected}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// The value exactly as set, so the user sees what was read.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// `ROOST_*` variables that roost does not know, most likely typos: refused rather than
    /// silently ignored.
    #[error("unknown {} (roost --help lists the known ones)", describe_unknown(.names))]
    Unknown {
        /// The unknown variables' names, as returned by [`unknown_vars`]. Invariant: not empty.
        names: Vec<String>,
    },
}

impl Config {
    /// Reads every variable through `lookup` (`None` = unset) and validates it.
    ///
    /// `default_workers` is the host's core count, passed in to keep this function pure; it is
    /// clamped to `1..=MAX_WORKERS`. Returns the first invalid variable in [`VARS`] order.
    pub(crate) fn from_lookup(
        mut lookup: impl FnMut(&str) -> Option<String>,
        default_workers: usize,
    ) -> Result<Self, ConfigError> {
        let mut var = |name: &'static str, expected: &'static str| {
            lookup(name).map(|value| Raw {
                var: name,
                value,
                expected,
            })
        };

        let listen = match var(
            "ROOST_LISTEN",
            "a socket address such as 0.0.0.0:1883 or [::]:1883",
        ) {
            Some(raw) => raw.parse_with(|s| s.parse::<SocketAddr>().ok())?,
            None => DEFAULT_LISTEN,
        };
        let workers = match var("ROOST_WORKERS", "an integer from 1 to 1024") {
            Some(raw) => raw.parse_with(|s| {
                parse_integer(s)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| (1..=MAX_WORKERS).contains(n))
            })?,
            None => default_workers.clamp(1, MAX_WORKERS),
        };
        let max_packet_size = match var(
            "ROOST_MAX_PACKET_SIZE",
            "a size from 16B to 268435460B, e.g. 512B, 64KiB, 1MiB, 1MB or a number of bytes",
        ) {
            Some(raw) => raw.parse_with(|s| {
                parse_size(s)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (MIN_MAX_PACKET_SIZE..=MAX_MAX_PACKET_SIZE).contains(n))
            })?,
            None => DEFAULT_MAX_PACKET_SIZE,
        };
        let connect_timeout = match var(
            "ROOST_CONNECT_TIMEOUT",
            "a duration above 0 and at most 1h, e.g. 500ms, 10s, 2m or a number of seconds",
        ) {
            Some(raw) => raw.parse_with(|s| {
                parse_duration(s).filter(|d| !d.is_zero() && *d <= MAX_CONNECT_TIMEOUT)
            })?,
            None => DEFAULT_CONNECT_TIMEOUT,
        };
        let max_keepalive = match var(
            "ROOST_MAX_KEEPALIVE",
            "whole seconds from 1s to 65535s, e.g. 60, 90s, 5m or 1h",
        ) {
            Some(raw) => raw.parse_with(|s| {
                parse_duration(s)
                    .filter(|d| d.subsec_nanos() == 0)
                    .and_then(|d| u16::try_from(d.as_secs()).ok())
                    .filter(|secs| *secs >= 1)
            })?,
            None => DEFAULT_MAX_KEEPALIVE,
        };
        let max_queued = match var("ROOST_MAX_QUEUED", "an integer of at least 1") {
            Some(raw) => raw.parse_with(|s| {
                parse_integer(s)
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n >= 1)
            })?,
            None => DEFAULT_MAX_QUEUED,
        };
        let max_retained = match var("ROOST_MAX_RETAINED", "0 (no limit) or a positive integer") {
            Some(raw) => {
                raw.parse_with(|s| parse_integer(s).and_then(|n| usize::try_from(n).ok()))?
            }
            None => DEFAULT_MAX_RETAINED,
        };
        let retry_interval = match var(
            "ROOST_RETRY_INTERVAL",
            "0 (off) or a duration of at least 1s, e.g. 5s, 1m or a number of seconds",
        ) {
            Some(raw) => raw.parse_with(|s| match parse_duration(s)? {
                d if d.is_zero() => Some(None),
                d if d >= MIN_RETRY_INTERVAL => Some(Some(d)),
                _ => None,
            })?,
            None => DEFAULT_RETRY_INTERVAL,
        };
        let sched = match var("ROOST_SCHED", "auto, batch or normal") {
            Some(raw) => raw.parse_with(SchedMode::parse)?,
            None => SchedMode::Auto,
        };
        let log = match var(
            "ROOST_LOG",
            "an env_logger filter such as info or roost=debug",
        ) {
            Some(raw) => Some(raw.parse_with(|s| Some(s.to_owned()))?),
            // RUST_LOG is not ours to validate: an empty one just means "not set".
            None => lookup("RUST_LOG")
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        };

        Ok(Self {
            listen,
            workers,
            max_packet_size,
            connect_timeout,
            max_keepalive,
            max_queued,
            max_retained,
            retry_interval,
            sched,
            log,
        })
    }

    /// The log filter to install: `ROOST_LOG`, else `RUST_LOG`, else [`DEFAULT_LOG`].
    pub(crate) fn log_filter(&self) -> &str {
        self.log.as_deref().unwrap_or(DEFAULT_LOG)
    }

    /// The effective configuration as `(variable, value)` pairs in [`VARS`] order, each value
    /// written so that setting it gives this configuration back. For logging at startup.
    pub(crate) fn entries(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ROOST_LISTEN", self.listen.to_string()),
            ("ROOST_WORKERS", self.workers.to_string()),
            ("ROOST_MAX_PACKET_SIZE", format_size(self.max_packet_size)),
            (
                "ROOST_CONNECT_TIMEOUT",
                format_duration(self.connect_timeout),
            ),
            ("ROOST_MAX_KEEPALIVE", format!("{}s", self.max_keepalive)),
            ("ROOST_MAX_QUEUED", self.max_queued.to_string()),
            ("ROOST_MAX_RETAINED", self.max_retained.to_string()),
            (
                "ROOST_RETRY_INTERVAL",
                self.retry_interval
                    .map_or_else(|| "0".to_owned(), format_duration),
            ),
            ("ROOST_SCHED", self.sched.as_str().to_owned()),
            ("ROOST_LOG", self.log_filter().to_owned()),
        ]
    }
}

/// The names among `names` that start with `ROOST_` but are not in [`VARS`], in input order.
pub(crate) fn unknown_vars<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    names
        .filter(|name| name.starts_with("ROOST_"))
        .filter(|name| !VARS.iter().any(|doc| doc.name == *name))
        .map(str::to_owned)
        .collect()
}

/// The `--help` section describing every variable in [`VARS`] and the value syntax.
pub(crate) fn help_text() -> String {
    let mut text = String::from(
        "Environment variables (roost takes no other configuration; unknown ROOST_* variables \
         are an error):\n",
    );
    for doc in VARS {
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "  {}\n      {}\n      default: {}",
            doc.name, doc.description, doc.default
        );
    }
    text.push_str(
        "\nDurations: an integer with ms, s, m or h (e.g. 500ms, 10s, 2m, 1h), or a bare integer of\n\
         seconds; no fractions. Sizes: an integer with B, KiB, MiB, GiB (powers of 1024) or KB, MB,\n\
         GB (powers of 1000), or a bare integer of bytes. Surrounding whitespace is ignored; an\n\
         empty value is an error.\n",
    );
    text
}

/// "variable ROOST_FOO" or "variables ROOST_FOO, ROOST_BAR", for [`ConfigError::Unknown`].
fn describe_unknown(names: &[String]) -> String {
    let noun = if names.len() == 1 {
        "variable"
    } else {
        "variables"
    };
    format!("{noun} {}", names.join(", "))
}

/// One variable's raw value on its way to being parsed.
struct Raw {
    /// The variable's name, for the error.
    var: &'static str,
    /// The value as set, untrimmed, for the error.
    value: String,
    /// What is accepted, for the error.
    expected: &'static str,
}

impl Raw {
    /// Trims the value and parses it with `parse`, whose `None` (also for an empty value) becomes
    /// [`ConfigError::Invalid`].
    fn parse_with<T>(self, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, ConfigError> {
        let trimmed = self.value.trim();
        let parsed = if trimmed.is_empty() {
            None
        } else {
            parse(trimmed)
        };
        parsed.ok_or(ConfigError::Invalid {
            var: self.var,
            value: self.value,
            expected: self.expected,
        })
    }
}

/// Splits `s` into its leading ASCII digits, parsed, and the rest. `None` when there are no
/// digits or they overflow `u64`.
fn split_number(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    if digits.is_empty() {
        return None;
    }
    // Only digits remain, so the sole possible failure is overflow.
    digits.parse::<u64>().ok().map(|n| (n, rest))
}

/// A plain non-negative integer: ASCII digits only.
fn parse_integer(s: &str) -> Option<u64> {
    match split_number(s)? {
        (n, "") => Some(n),
        _ => None,
    }
}

/// A duration: digits followed by `ms`, `s`, `m`, `h` or nothing (seconds).
fn parse_duration(s: &str) -> Option<Duration> {
    let (n, unit) = split_number(s)?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(60 * 60).map(Duration::from_secs),
        _ => None,
    }
}

/// A size in bytes: digits followed by `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB` or nothing.
fn parse_size(s: &str) -> Option<u64> {
    let (n, unit) = split_number(s)?;
    let factor: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1000,
        "KiB" => 1 << 10,
        "MB" => 1000 * 1000,
        "MiB" => 1 << 20,
        "GB" => 1000 * 1000 * 1000,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// The shortest exact spelling of `d` that [`parse_duration`] reads back (millisecond precision,
/// which is all it can produce).
fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".to_owned(),
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// The shortest exact binary-unit spelling of `n` bytes that [`parse_size`] reads back.
fn format_size(n: u32) -> String {
    match n {
        0 => "0B".to_owned(),
        _ if n % (1 << 30) == 0 => format!("{}GiB", n >> 30),
        _ if n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        _ if n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        _ => format!("{n}B"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const CORES: usize = 4;

    fn from_pairs(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned(), CORES)
    }

    fn defaults() -> Config {
        Config {
            listen: DEFAULT_LISTEN,
            workers: CORES,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_keepalive: DEFAULT_MAX_KEEPALIVE,
            max_queued: DEFAULT_MAX_QUEUED,
            max_retained: DEFAULT_MAX_RETAINED,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            sched: SchedMode::Auto,
            log: None,
        }
    }

    #[test]
    fn nothing_set_gives_the_defaults() {
        assert_eq!(from_pairs(&[]), Ok(defaults()));
        assert_eq!(defaults().log_filter(), "info");
        assert_eq!(DEFAULT_LISTEN.to_string(), "0.0.0.0:1883");
    }

    #[test]
    fn default_workers_is_clamped() {
        let none = |_: &str| None;
        assert_eq!(Config::from_lookup(none, 0).map(|c| c.workers), Ok(1));
        assert_eq!(Config::from_lookup(none, 7).map(|c| c.workers), Ok(7));
        assert_eq!(Config::from_lookup(none, 5000).map(|c| c.workers), Ok(1024));
    }

    #[test]
    fn valid_values() {
        type Edit = fn(&mut Config);
        let cases: &[(&str, &str, Edit)] = &[
            ("ROOST_LISTEN", "127.0.0.1:1884", |c| {
                c.listen = "127.0.0.1:1884".parse().unwrap()
            }),
            ("ROOST_LISTEN", " [::]:8883 ", |c| {
                c.listen = "[::]:8883".parse().unwrap()
            }),
            ("ROOST_LISTEN", "0.0.0.0:0", |c| {
                c.listen = "0.0.0.0:0".parse().unwrap()
            }),
            ("ROOST_WORKERS", "1", |c| c.workers = 1),
            ("ROOST_WORKERS", "1024", |c| c.workers = 1024),
            ("ROOST_WORKERS", "\t8\n", |c| c.workers = 8),
            ("ROOST_WORKERS", "007", |c| c.workers = 7),
            ("ROOST_MAX_PACKET_SIZE", "16", |c| c.max_packet_size = 16),
            ("ROOST_MAX_PACKET_SIZE", "16B", |c| c.max_packet_size = 16),
            ("ROOST_MAX_PACKET_SIZE", "512B", |c| c.max_packet_size = 512),
            ("ROOST_MAX_PACKET_SIZE", "64KiB", |c| {
                c.max_packet_size = 65_536
            }),
            ("ROOST_MAX_PACKET_SIZE", "64KB", |c| {
                c.max_packet_size = 64_000
            }),
            ("ROOST_MAX_PACKET_SIZE", "1MB", |c| {
                c.max_packet_size = 1_000_000
            }),
            ("ROOST_MAX_PACKET_SIZE", "2MiB", |c| {
                c.max_packet_size = 2 << 20
            }),
            ("ROOST_MAX_PACKET_SIZE", "268435460", |c| {
                c.max_packet_size = 268_435_460
            }),
            ("ROOST_MAX_PACKET_SIZE", "256MiB", |c| {
                c.max_packet_size = 256 << 20
            }),
            ("ROOST_CONNECT_TIMEOUT", "1ms", |c| {
                c.connect_timeout = Duration::from_millis(1)
            }),
            ("ROOST_CONNECT_TIMEOUT", "500ms", |c| {
                c.connect_timeout = Duration::from_millis(500)
            }),
            ("ROOST_CONNECT_TIMEOUT", "30", |c| {
                c.connect_timeout = Duration::from_secs(30)
            }),
            ("ROOST_CONNECT_TIMEOUT", "2m", |c| {
                c.connect_timeout = Duration::from_secs(120)
            }),
            ("ROOST_CONNECT_TIMEOUT", "1h", |c| {
                c.connect_timeout = Duration::from_secs(3600)
            }),
            ("ROOST_CONNECT_TIMEOUT", "3600000ms", |c| {
                c.connect_timeout = Duration::from_secs(3600)
            }),
            ("ROOST_MAX_KEEPALIVE", "1", |c| c.max_keepalive = 1),
            ("ROOST_MAX_KEEPALIVE", "60s", |c| c.max_keepalive = 60),
            ("ROOST_MAX_KEEPALIVE", "5m", |c| c.max_keepalive = 300),
            ("ROOST_MAX_KEEPALIVE", "2000ms", |c| c.max_keepalive = 2),
            ("ROOST_MAX_KEEPALIVE", "65535s", |c| {
                c.max_keepalive = 65_535
            }),
            ("ROOST_MAX_QUEUED", "1", |c| c.max_queued = 1),
            ("ROOST_MAX_QUEUED", "100000", |c| c.max_queued = 100_000),
            ("ROOST_MAX_RETAINED", "0", |c| c.max_retained = 0),
            ("ROOST_MAX_RETAINED", "50000", |c| c.max_retained = 50_000),
            ("ROOST_RETRY_INTERVAL", "0", |c| c.retry_interval = None),
            ("ROOST_RETRY_INTERVAL", "0ms", |c| c.retry_interval = None),
            ("ROOST_RETRY_INTERVAL", "1s", |c| {
                c.retry_interval = Some(Duration::from_secs(1))
            }),
            ("ROOST_RETRY_INTERVAL", "1500ms", |c| {
                c.retry_interval = Some(Duration::from_millis(1500))
            }),
            ("ROOST_RETRY_INTERVAL", "20", |c| {
                c.retry_interval = Some(Duration::from_secs(20))
            }),
            ("ROOST_SCHED", "batch", |c| c.sched = SchedMode::Batch),
            ("ROOST_SCHED", "Normal", |c| c.sched = SchedMode::Normal),
            ("ROOST_SCHED", "auto", |c| c.sched = SchedMode::Auto),
            ("ROOST_LOG", "debug", |c| c.log = Some("debug".to_owned())),
            ("ROOST_LOG", " roost=trace ", |c| {
                c.log = Some("roost=trace".to_owned())
            }),
        ];
        for (var, value, edit) in cases {
            let mut expected = defaults();
            edit(&mut expected);
            assert_eq!(from_pairs(&[(var, value)]), Ok(expected), "{var}={value:?}");
        }
    }

    #[test]
    fn invalid_values() {
        let cases: &[(&str, &str)] = &[
            ("ROOST_LISTEN", ""),
            ("ROOST_LISTEN", "   "),
            ("ROOST_LISTEN", "localhost:1883"),
            ("ROOST_LISTEN", "0.0.0.0"),
            ("ROOST_LISTEN", "1883"),
            ("ROOST_LISTEN", "0.0.0.0:65536"),
            ("ROOST_WORKERS", ""),
            ("ROOST_WORKERS", "abc"),
            ("ROOST_WORKERS", "0"),
            ("ROOST_WORKERS", "1025"),
            ("ROOST_WORKERS", "-1"),
            ("ROOST_WORKERS", "+4"),
            ("ROOST_WORKERS", "4.0"),
            ("ROOST_WORKERS", "4 4"),
            ("ROOST_WORKERS", "1_000"),
            ("ROOST_WORKERS", "99999999999999999999"),
            ("ROOST_MAX_PACKET_SIZE", ""),
            ("ROOST_MAX_PACKET_SIZE", "15"),
            ("ROOST_MAX_PACKET_SIZE", "0"),
            ("ROOST_MAX_PACKET_SIZE", "268435461"),
            ("ROOST_MAX_PACKET_SIZE", "1GiB"),
            ("ROOST_MAX_PACKET_SIZE", "1XB"),
            ("ROOST_MAX_PACKET_SIZE", "1mib"),
            ("ROOST_MAX_PACKET_SIZE", "1 MiB"),
            ("ROOST_MAX_PACKET_SIZE", "MiB"),
            ("ROOST_MAX_PACKET_SIZE", "1.5MiB"),
            ("ROOST_MAX_PACKET_SIZE", "-1"),
            ("ROOST_MAX_PACKET_SIZE", "99999999999999999999"),
            ("ROOST_MAX_PACKET_SIZE", "18446744073709551615GiB"),
            ("ROOST_CONNECT_TIMEOUT", ""),
            ("ROOST_CONNECT_TIMEOUT", "0"),
            ("ROOST_CONNECT_TIMEOUT", "0ms"),
            ("ROOST_CONNECT_TIMEOUT", "3601s"),
            ("ROOST_CONNECT_TIMEOUT", "2h"),
            ("ROOST_CONNECT_TIMEOUT", "1.5s"),
            ("ROOST_CONNECT_TIMEOUT", "-1"),
            ("ROOST_CONNECT_TIMEOUT", "10S"),
            ("ROOST_CONNECT_TIMEOUT", "10 s"),
            ("ROOST_CONNECT_TIMEOUT", "1d"),
            ("ROOST_CONNECT_TIMEOUT", "s"),
            ("ROOST_CONNECT_TIMEOUT", "99999999999999999999s"),
            ("ROOST_CONNECT_TIMEOUT", "18446744073709551615h"),
            ("ROOST_MAX_KEEPALIVE", ""),
            ("ROOST_MAX_KEEPALIVE", "0"),
            ("ROOST_MAX_KEEPALIVE", "65536"),
            ("ROOST_MAX_KEEPALIVE", "19h"),
            ("ROOST_MAX_KEEPALIVE", "1500ms"),
            ("ROOST_MAX_KEEPALIVE", "500ms"),
            ("ROOST_MAX_KEEPALIVE", "-1"),
            ("ROOST_MAX_QUEUED", ""),
            ("ROOST_MAX_QUEUED", "0"),
            ("ROOST_MAX_QUEUED", "-1"),
            ("ROOST_MAX_QUEUED", "1k"),
            ("ROOST_MAX_RETAINED", "-1"),
            ("ROOST_MAX_RETAINED", "lots"),
            ("ROOST_MAX_RETAINED", ""),
            ("ROOST_MAX_QUEUED", "99999999999999999999"),
            ("ROOST_RETRY_INTERVAL", ""),
            ("ROOST_RETRY_INTERVAL", "999ms"),
            ("ROOST_RETRY_INTERVAL", "1ms"),
            ("ROOST_RETRY_INTERVAL", "-1"),
            ("ROOST_RETRY_INTERVAL", "off"),
            ("ROOST_RETRY_INTERVAL", "99999999999999999999m"),
            ("ROOST_SCHED", ""),
            ("ROOST_SCHED", "fifo"),
            ("ROOST_LOG", ""),
            ("ROOST_LOG", " \t "),
        ];
        for (var, value) in cases {
            match from_pairs(&[(var, value)]) {
                Err(ConfigError::Invalid {
                    var: got_var,
                    value: got_value,
                    ..
                }) => {
                    assert_eq!(got_var, *var, "{var}={value:?}");
                    assert_eq!(got_value, *value, "{var}={value:?}");
                }
                other => panic!("{var}={value:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_display_names_variable_value_and_expectation() {
        let err = from_pairs(&[("ROOST_WORKERS", "abc")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid value "abc" for ROOST_WORKERS: expected an integer from 1 to 1024"#
        );
        let err = from_pairs(&[("ROOST_LISTEN", "a\"b\n")]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with(r#"invalid value "a\"b\n" for ROOST_LISTEN"#));
    }

    #[test]
    fn first_invalid_variable_in_table_order_is_reported() {
        let err = from_pairs(&[("ROOST_MAX_QUEUED", "0"), ("ROOST_WORKERS", "0")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "ROOST_WORKERS",
                ..
            }
        ));
    }

    #[test]
    fn log_filter_falls_back_to_rust_log_then_info() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "info"),
            (&[("RUST_LOG", "warn")], "warn"),
            (&[("RUST_LOG", "  ")], "info"),
            (&[("ROOST_LOG", "debug")], "debug"),
            (&[("ROOST_LOG", "debug"), ("RUST_LOG", "warn")], "debug"),
        ];
        for (pairs, filter) in cases {
            let config = from_pairs(pairs).unwrap();
            assert_eq!(config.log_filter(), *filter, "{pairs:?}");
        }
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<Duration>)] = &[
            ("0", Some(Duration::ZERO)),
            ("0s", Some(Duration::ZERO)),
            ("10", Some(Duration::from_secs(10))),
            ("10s", Some(Duration::from_secs(10))),
            ("500ms", Some(Duration::from_millis(500))),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            ("18446744073709551615s", Some(Duration::from_secs(u64::MAX))),
            (
                "18446744073709551615ms",
                Some(Duration::from_millis(u64::MAX)),
            ),
            ("18446744073709551615m", None),
            ("5124095576030432h", None),
            ("99999999999999999999s", None),
            ("18446744073709551616", None),
            ("1.5s", None),
            ("-1", None),
            ("+1", None),
            ("", None),
            ("s", None),
            ("1sec", None),
            ("1H", None),
            ("1us", None),
            ("1 s", None),
            ("1s ", None),
            ("١s", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn sizes() {
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("512", Some(512)),
            ("512B", Some(512)),
            ("1KB", Some(1000)),
            ("1KiB", Some(1024)),
            ("64KiB", Some(65_536)),
            ("1MB", Some(1_000_000)),
            ("1MiB", Some(1_048_576)),
            ("1GB", Some(1_000_000_000)),
            ("1GiB", Some(1_073_741_824)),
            ("17179869183GiB", Some(17_179_869_183 << 30)),
            ("17179869184GiB", None),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("99999999999999999999B", None),
            ("1XB", None),
            ("1kb", None),
            ("1KIB", None),
            ("1TB", None),
            ("1.5KiB", None),
            ("-1", None),
            ("", None),
            ("B", None),
            ("1 B", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_size(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn unknown_vars_are_the_unlisted_roost_names() {
        let names = [
            "PATH",
            "ROOST_LISTEN",
            "ROOST_WORKER",
            "RUST_LOG",
            "ROOST_FOO",
            "roost_workers",
            "ROOST_",
            "XROOST_FOO",
            "ROOST_LOG",
        ];
        assert_eq!(
            unknown_vars(names.into_iter()),
            ["ROOST_WORKER", "ROOST_FOO", "ROOST_"]
        );
        assert!(unknown_vars(VARS.iter().map(|doc| doc.name)).is_empty());
    }

    #[test]
    fn unknown_display() {
        let one = ConfigError::Unknown {
            names: vec!["ROOST_FOO".to_owned()],
        };
        assert!(one.to_string().starts_with("unknown variable ROOST_FOO ("));
        let two = ConfigError::Unknown {
            names: vec!["ROOST_FOO".to_owned(), "ROOST_BAR".to_owned()],
        };
        assert!(two
            .to_string()
            .starts_with("unknown variables ROOST_FOO, ROOST_BAR ("));
    }

    #[test]
    fn table_and_parser_agree() {
        let mut looked_up = Vec::new();
        let _ = Config::from_lookup(
            |name| {
                looked_up.push(name.to_owned());
                None
            },
            CORES,
        );
        let listed: Vec<&str> = VARS.iter().map(|doc| doc.name).collect();
        let read: Vec<&str> = looked_up
            .iter()
            .map(String::as_str)
            .filter(|name| *name != "RUST_LOG")
            .collect();
        assert_eq!(read, listed);
        let logged: Vec<&str> = defaults().entries().iter().map(|(name, _)| *name).collect();
        assert_eq!(logged, listed);
    }

    #[test]
    fn documented_defaults_match_the_constants() {
        for doc in VARS.iter().filter(|doc| doc.name != "ROOST_WORKERS") {
            let config = from_pairs(&[(doc.name, doc.default)]).unwrap();
            let mut expected = defaults();
            expected.log = config.log.clone();
            assert_eq!(config, expected, "{}", doc.name);
            assert_eq!(config.log_filter(), DEFAULT_LOG);
        }
    }

    #[test]
    fn entries_read_back_to_the_same_config() {
        let configs = [
            defaults(),
            from_pairs(&[
                ("ROOST_LISTEN", "[::1]:8883"),
                ("ROOST_WORKERS", "3"),
                ("ROOST_MAX_PACKET_SIZE", "1000"),
                ("ROOST_CONNECT_TIMEOUT", "1500ms"),
                ("ROOST_MAX_KEEPALIVE", "90"),
                ("ROOST_MAX_QUEUED", "7"),
                ("ROOST_MAX_RETAINED", "9"),
                ("ROOST_RETRY_INTERVAL", "2m"),
                ("ROOST_SCHED", "normal"),
                ("ROOST_LOG", "roost=debug"),
            ])
            .unwrap(),
            from_pairs(&[
                ("ROOST_MAX_PACKET_SIZE", "268435460"),
                ("ROOST_CONNECT_TIMEOUT", "1h"),
            ])
            .unwrap(),
        ];
        for config in configs {
            let entries = config.entries();
            let pairs: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut expected = config.clone();
            expected.log = Some(config.log_filter().to_owned());
            assert_eq!(from_pairs(&pairs), Ok(expected), "{entries:?}");
        }
    }

    #[test]
    fn help_lists_every_variable_with_its_default() {
        let help = help_text();
        for doc in VARS {
            assert!(help.contains(doc.name), "{}", doc.name);
            assert!(help.contains(doc.description), "{}", doc.name);
            assert!(
                help.contains(&format!("default: {}", doc.default)),
                "{}",
                doc.name
            );
        }
    }
}
