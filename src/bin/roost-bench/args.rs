//! The command line of `roost-bench`: parses arguments into [`Command`]. Pure apart from
//! reading `std::env::args` in [`parse_env`]; never touches the network.

use std::net::SocketAddr;
use std::time::Duration;

use roost::packets::{QoS, Version};

/// The usage text printed for `--help` and after an argument error.
pub(crate) const USAGE: &str = "\
usage: roost-bench --addr 127.0.0.1:PORT [options]
       roost-bench free-port
       roost-bench summarize RESULTS_FILE

options:
  --scenario S     fan-in | fan-out | pairs | latency | idle (default fan-in)
  --pid PID        the broker's process id, for its CPU time and RSS from /proc
  --broker NAME    label written into the RESULT line (default: unknown)
  --round N        label written into the RESULT line (default: 1)
  --qos Q          0, 1 or 2 (default 0)
  --clients N      publishers (fan-in), subscribers (fan-out) or pairs (pairs)
                   (defaults 10, 10, 50)
  --payload B      payload bytes, at least 20 (default 64)
  --v5             speak MQTT 5.0 instead of 3.1.1
  --warmup S       warm-up seconds (default 2)
  --duration S     measurement seconds (default 10)
  --rate R         latency scenario: messages per second (default 1000)
  --conns N        idle scenario: connections to open (default 10000)
";

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Run one benchmark.
    Run(Args),
    /// Print a free 127.0.0.1 TCP port.
    FreePort,
    /// Print the table of medians for a results file.
    Summarize(String),
    /// Print the usage.
    Help,
}

/// A load scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// N publishers to one wildcard subscriber.
    FanIn,
    /// One publisher to N subscribers.
    FanOut,
    /// N publisher/subscriber pairs on their own topics.
    Pairs,
    /// One publisher to one subscriber at a fixed rate.
    Latency,
    /// Many connections that only connect and subscribe.
    Idle,
}

impl Scenario {
    /// The name used on the command line and in RESULT lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::FanIn => "fan-in",
            Scenario::FanOut => "fan-out",
            Scenario::Pairs => "pairs",
            Scenario::Latency => "latency",
            Scenario::Idle => "idle",
        }
    }
}

/// Options of one benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Args {
    /// The broker's listener.
    pub(crate) addr: SocketAddr,
    /// The broker's pid, when its CPU and memory should be read.
    pub(crate) pid: Option<u32>,
    /// Label for the RESULT line.
    pub(crate) broker: String,
    /// Label for the RESULT line.
    pub(crate) round: u32,
    /// Which scenario.
    pub(crate) scenario: Scenario,
    /// QoS of publishes and subscriptions.
    pub(crate) qos: QoS,
    /// Clients per side; `None` means the scenario's default.
    pub(crate) clients: Option<usize>,
    /// Payload size in bytes. Invariant: at least [`crate::load::HEADER_LEN`].
    pub(crate) payload: usize,
    /// Protocol version of every client.
    pub(crate) version: Version,
    /// Warm-up before the measurement window.
    pub(crate) warmup: Duration,
    /// Length of the measurement window.
    pub(crate) duration: Duration,
    /// Messages per second in the latency scenario.
    pub(crate) rate: u64,
    /// Connections in the idle scenario.
    pub(crate) conns: usize,
}

/// Parses the process arguments.
pub(crate) fn parse_env() -> Result<Command, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    parse(&args)
}

/// Parses `args` (without the program name).
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        Some("free-port") => return Ok(Command::FreePort),
        Some("summarize") => {
            return match args.get(1) {
                Some(f) => Ok(Command::Summarize(f.clone())),
                None => Err("summarize needs a results file".into()),
            }
        }
        _ => {}
    }
    let mut addr = None;
    let mut a = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 1883)),
        pid: None,
        broker: "unknown".into(),
        round: 1,
        scenario: Scenario::FanIn,
        qos: QoS::AtMostOnce,
        clients: None,
        payload: 64,
        version: Version::V3_1_1,
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs(10),
        rate: 1000,
        conns: 10_000,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        if flag == "--v5" {
            a.version = Version::V5;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().map_err(|_| bad(flag, value))?),
            "--pid" => a.pid = Some(num(flag, value)?),
            "--broker" => a.broker = value.to_string(),
            "--round" => a.round = num(flag, value)?,
            "--scenario" => {
                a.scenario = match value {
                    "fan-in" => Scenario::FanIn,
                    "fan-out" => Scenario::FanOut,
                    "pairs" => Scenario::Pairs,
                    "latency" => Scenario::Latency,
                    "idle" => Scenario::Idle,
                    _ => return Err(bad(flag, value)),
                }
            }
            "--qos" => a.qos = QoS::from_u8(num(flag, value)?).ok_or_else(|| bad(flag, value))?,
            "--clients" => a.clients = Some(positive(flag, value)?),
            "--payload" => a.payload = num(flag, value)?,
            "--warmup" => a.warmup = seconds(flag, value)?,
            "--duration" => a.duration = seconds(flag, value)?,
            "--rate" => a.rate = positive(flag, value)? as u64,
            "--conns" => a.conns = positive(flag, value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    a.addr = addr.ok_or("--addr HOST:PORT is required")?;
    if a.payload < crate::load::HEADER_LEN {
        return Err(format!(
            "--payload must be at least {} bytes (publisher id, sequence, timestamp)",
            crate::load::HEADER_LEN
        ));
    }
    if a.duration.is_zero() {
        return Err("--duration must be above 0".into());
    }
    Ok(Command::Run(a))
}

fn bad(flag: &str, value: &str) -> String {
    format!("invalid value {value:?} for {flag}")
}

fn num<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| bad(flag, value))
}

fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match num::<usize>(flag, value)? {
        0 => Err(bad(flag, value)),
        n => Ok(n),
    }
}

/// Seconds, fractions allowed (`0.5`).
fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let s: f64 = num(flag, value)?;
    if !(0.0..=3600.0).contains(&s) {
        return Err(bad(flag, value));
    }
    Ok(Duration::from_secs_f64(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_a_run() {
        let Ok(Command::Run(a)) = parse(&strings(
            "--addr 127.0.0.1:5000 --scenario pairs --qos 2 --warmup 0.5 --v5 --pid 7",
        )) else {
            panic!("not a run");
        };
        assert_eq!(a.addr.port(), 5000);
        assert_eq!(a.scenario, Scenario::Pairs);
        assert_eq!(a.qos, QoS::ExactlyOnce);
        assert_eq!(a.warmup, Duration::from_millis(500));
        assert_eq!(a.version, Version::V5);
        assert_eq!(a.pid, Some(7));
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "",
            "--addr nope",
            "--addr 127.0.0.1:1 --qos 3",
            "--addr 127.0.0.1:1 --payload 8",
            "--addr 127.0.0.1:1 --bogus 1",
            "--addr 127.0.0.1:1 --clients 0",
            "--addr 127.0.0.1:1 --duration",
        ] {
            assert!(parse(&strings(s)).is_err(), "{s}");
        }
    }

    #[test]
    fn subcommands() {
        assert_eq!(parse(&strings("free-port")), Ok(Command::FreePort));
        assert_eq!(
            parse(&strings("summarize f.txt")),
            Ok(Command::Summarize("f.txt".into()))
        );
    }
}
