//! The idle scenario: opens many connections that each CONNECT and SUBSCRIBE once, and reports
//! how fast the broker accepted them and how much resident memory each one cost it.

use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::args::Args;
use crate::client::{self, Spec};
use crate::procfs::{self, Proc};

/// Handshakes in progress at once (each thread connects, CONNECTs and SUBSCRIBEs, one client
/// after another). Enough that the broker, not this generator, bounds the rate: with 8, roost
/// with 1 or 2 workers and Mosquitto all measured the same ~19,800/s, while with 16, 32 and 64
/// threads Mosquitto levelled off near 21,000/s and roost went on to 25,700/s.
const SETUP_THREADS: usize = 64;

/// The measured outcome of one idle run.
#[derive(Debug, Default)]
pub(crate) struct IdleOutcome {
    pub(crate) conns: usize,
    pub(crate) connect_s: f64,
    pub(crate) broker_cpu_s: Option<f64>,
    pub(crate) bench_cpu_s: Option<f64>,
    pub(crate) rss_before: Option<u64>,
    pub(crate) rss_after: Option<u64>,
}

impl IdleOutcome {
    /// Connections (with their SUBSCRIBE) per second.
    pub(crate) fn conns_per_s(&self) -> f64 {
        self.conns as f64 / self.connect_s.max(1e-9)
    }

    /// Broker RSS growth per connection, in bytes.
    pub(crate) fn rss_per_conn(&self) -> Option<f64> {
        let (b, a) = self.rss_before.zip(self.rss_after)?;
        Some((a as f64 - b as f64) / self.conns.max(1) as f64)
    }
}

/// Opens `a.conns` connections, measures, then closes them all.
pub(crate) fn run(a: &Args) -> io::Result<IdleOutcome> {
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() % 1_000_000_000)
        .unwrap_or(0);
    let specs: Vec<Spec> = (0..a.conns)
        .map(|i| Spec {
            client_id: format!("rb{}-{run_id}-i{i}", std::process::id()),
            subscribe: Some(format!("bench/idle/{i}")),
        })
        .collect();
    let broker = a.pid.map(Proc::Pid);
    let rss_before = broker.and_then(procfs::rss_bytes);
    let cpu0 = broker.and_then(procfs::cpu_seconds);
    let self0 = procfs::cpu_seconds(Proc::This);
    let start = Instant::now();
    let streams = client::establish(a.addr, a.version, a.qos, &specs, SETUP_THREADS)?;
    let connect_s = start.elapsed().as_secs_f64();
    let cpu1 = broker.and_then(procfs::cpu_seconds);
    let self1 = procfs::cpu_seconds(Proc::This);
    // Every SUBACK is in, so the broker has done its work; give its allocator a moment.
    std::thread::sleep(Duration::from_millis(300));
    let rss_after = broker.and_then(procfs::rss_bytes);
    drop(streams);
    Ok(IdleOutcome {
        conns: a.conns,
        connect_s,
        broker_cpu_s: cpu0.zip(cpu1).map(|(x, y)| y - x),
        bench_cpu_s: self0.zip(self1).map(|(x, y)| y - x),
        rss_before,
        rss_after,
    })
}
