//! `roost-bench`: a load generator for MQTT brokers on 127.0.0.1 (roost, Mosquitto, rumqttd).
//!
//! It owns the command line, running one scenario and printing its `RESULT` line (machine
//! readable, `key=value`) and a human line. The load itself is in `load` (two `mio` reactors, no
//! async runtime) and `idle`; `/proc` readers in `procfs`; the table of medians that
//! `scripts/bench.sh` prints in `summary`. All MQTT encoding and decoding goes through
//! `roost::packets`.
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod args;
mod client;
mod idle;
mod load;
mod procfs;
mod summary;

use std::fmt::Write as _;
use std::process::ExitCode;

use roost::packets::{QoS, Version};

use args::{Args, Command, Scenario, USAGE};

fn main() -> ExitCode {
    match args::parse_env() {
        Err(e) => {
            eprintln!("roost-bench: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::FreePort) => {
            match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
                Ok(a) => {
                    println!("{}", a.port());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("roost-bench: no free port: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(Command::Summarize(file)) => match summary::print(&file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("roost-bench: reading {file}: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(Command::Run(a)) => run(&a),
    }
}

fn run(a: &Args) -> ExitCode {
    let mut line = format!(
        "RESULT broker={} round={} scenario={} qos={} version={} payload={}",
        a.broker,
        a.round,
        a.scenario.name(),
        a.qos as u8,
        match a.version {
            Version::V5 => "5.0",
            _ => "3.1.1",
        },
        a.payload
    );
    if a.scenario == Scenario::Latency {
        let _ = write!(line, " rate={}", a.rate);
    }
    if a.scenario == Scenario::Idle {
        let _ = write!(line, " conns={}", a.conns);
        return match idle::run(a) {
            Ok(o) => {
                let _ = write!(
                    line,
                    " connect_s={:.3} conns_per_s={:.0} broker_cpu_s={} bench_cpu_s={} \
                     rss_before={} rss_after={} rss_per_conn={} check=ok",
                    o.connect_s,
                    o.conns_per_s(),
                    opt(o.broker_cpu_s, 2),
                    opt(o.bench_cpu_s, 2),
                    o.rss_before.map_or("NA".into(), |v| v.to_string()),
                    o.rss_after.map_or("NA".into(), |v| v.to_string()),
                    opt(o.rss_per_conn(), 0),
                );
                println!("{line}");
                println!(
                    "{} idle: {} connections in {:.2} s ({:.0} conns/s), broker RSS {} per \
                     connection",
                    a.broker,
                    o.conns,
                    o.connect_s,
                    o.conns_per_s(),
                    o.rss_per_conn()
                        .map_or("unknown (no --pid)".into(), |b| format!("{b:.0} B")),
                );
                ExitCode::SUCCESS
            }
            Err(e) => error(line, &e),
        };
    }
    match load::run(a) {
        Ok(o) => {
            let per_s = o.msgs as f64 / o.window_s.max(1e-9);
            let per_cpu = o
                .broker_cpu_s
                .filter(|c| *c > 0.0)
                .map(|c| o.msgs as f64 / c);
            let (ok, verdict) = verdict(a.qos, &o);
            let _ = write!(
                line,
                " clients={}x{} window={} window_s={:.3} msgs={} msgs_per_s={:.0} published={} \
                 broker_cpu_s={} msgs_per_broker_cpu_s={} bench_cpu_s={} lost={} dup={} \
                 stalls={} bad={} unacked={} p50_us={} p99_us={} p999_us={} samples={} check={}",
                o.publishers,
                o.subscribers,
                o.window,
                o.window_s,
                o.msgs,
                per_s,
                o.published,
                opt(o.broker_cpu_s, 2),
                opt(per_cpu, 0),
                opt(o.bench_cpu_s, 2),
                o.lost,
                o.dup,
                o.stalls,
                o.bad,
                o.unacked,
                o.p50_us,
                o.p99_us,
                o.p999_us,
                o.samples,
                if ok { "ok" } else { "FAIL" },
            );
            println!("{line}");
            println!(
                "{} {} QoS {}: {per_s:.0} msgs/s delivered ({} publishers -> {} subscribers), \
                 {} msgs per broker CPU second, bench CPU {} s, latency p50/p99/p999 \
                 {}/{}/{} us; {verdict}",
                a.broker,
                a.scenario.name(),
                a.qos as u8,
                o.publishers,
                o.subscribers,
                opt(per_cpu, 0),
                opt(o.bench_cpu_s, 2),
                o.p50_us,
                o.p99_us,
                o.p999_us,
            );
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            }
        }
        Err(e) => error(line, &e),
    }
}

/// Whether the run kept the QoS promises, and a sentence saying so.
fn verdict(qos: QoS, o: &load::Outcome) -> (bool, String) {
    let mut problems = Vec::new();
    if qos != QoS::AtMostOnce && o.lost > 0 {
        problems.push(format!("LOST {} messages at QoS {}", o.lost, qos as u8));
    }
    if qos == QoS::ExactlyOnce && o.dup > 0 {
        problems.push(format!("{} DUPLICATES at QoS 2", o.dup));
    }
    if qos != QoS::AtMostOnce && o.unacked > 0 {
        problems.push(format!("{} publishes never acknowledged", o.unacked));
    }
    if o.bad > 0 {
        problems.push(format!("{} unexpected packets or payloads", o.bad));
    }
    if problems.is_empty() {
        let s = match qos {
            QoS::AtMostOnce => format!(
                "QoS 0: {} lost, {} duplicated (loss is allowed at QoS 0)",
                o.lost, o.dup
            ),
            QoS::AtLeastOnce => format!("QoS 1 check OK: 0 lost, {} duplicated", o.dup),
            QoS::ExactlyOnce => "QoS 2 check OK: 0 lost, 0 duplicated".to_string(),
        };
        (true, s)
    } else {
        (false, format!("CHECK FAILED: {}", problems.join(", ")))
    }
}

fn error(mut line: String, e: &std::io::Error) -> ExitCode {
    let msg: String = e
        .to_string()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    let _ = write!(line, " check=error error={msg}");
    println!("{line}");
    eprintln!("roost-bench: {e}");
    ExitCode::FAILURE
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("NA".into(), |v| format!("{v:.decimals$}"))
}
