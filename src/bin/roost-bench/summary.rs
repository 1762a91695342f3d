//! `roost-bench summarize FILE`: reads the `RESULT` lines of a results file and prints, per
//! scenario and broker, the medians over rounds and each broker's ratio to Mosquitto.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The baseline every ratio is taken against.
const BASELINE: &str = "mosquitto";

/// One parsed `RESULT` line.
type Fields = BTreeMap<String, String>;

/// Prints the table for the results in `path`.
pub(crate) fn print(path: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    print!("{}", render(&text));
    Ok(())
}

/// The table for the `RESULT` lines in `text`.
pub(crate) fn render(text: &str) -> String {
    let results: Vec<Fields> = text
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect();
    // Scenario labels in first-seen order, brokers with roost first and the baseline second.
    let mut labels: Vec<String> = Vec::new();
    let mut brokers: Vec<String> = Vec::new();
    for r in &results {
        let l = label(r);
        if !labels.contains(&l) {
            labels.push(l);
        }
        let b = field(r, "broker").to_string();
        if !brokers.contains(&b) {
            brokers.push(b);
        }
    }
    brokers.sort_by_key(|b| match b.as_str() {
        "roost" => 0,
        BASELINE => 1,
        _ => 2,
    });
    let runs = |label: &str, broker: &str| -> Vec<&Fields> {
        results
            .iter()
            .filter(|r| self::label(r) == label && field(r, "broker") == broker)
            .collect()
    };
    let mut out = String::new();
    let kinds = [
        (
            "Throughput",
            ["msgs/s", "msgs/cpu-s"],
            ["msgs_per_s", "msgs_per_broker_cpu_s"],
        ),
        (
            "Latency (lower is better)",
            ["p50_us", "p99_us"],
            ["p50_us", "p99_us"],
        ),
        (
            "Idle connections",
            ["conns/s", "rss/conn B"],
            ["conns_per_s", "rss_per_conn"],
        ),
    ];
    for (k, (title, heads, keys)) in kinds.iter().enumerate() {
        let mine: Vec<&String> = labels.iter().filter(|l| kind(l) == k).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{title}: medians over rounds; xmosq = ratio to {BASELINE}\n{:<22} {:<10} {:>11} {:>7} {:>11} {:>7} {:>9} {:>6} {:>4}  check",
            "scenario", "broker", heads[0], "xmosq", heads[1], "xmosq", "lost", "dup", "runs"
        );
        for l in mine {
            let base: Vec<Option<f64>> = keys
                .iter()
                .map(|key| median(&runs(l, BASELINE), key))
                .collect();
            for b in &brokers {
                let rs = runs(l, b);
                if rs.is_empty() {
                    continue;
                }
                let mut cells = String::new();
                for (i, key) in keys.iter().enumerate() {
                    let m = median(&rs, key);
                    let ratio = m
                        .zip(base.get(i).copied().flatten())
                        .filter(|(_, d)| *d != 0.0)
                        .map(|(x, d)| format!("{:.2}", x / d))
                        .unwrap_or_else(|| "-".into());
                    let v = m.map_or("NA".into(), |v| format!("{v:.0}"));
                    let _ = write!(cells, " {v:>11} {ratio:>7}");
                }
                let lost: u64 = rs
                    .iter()
                    .filter_map(|r| r.get("lost")?.parse::<u64>().ok())
                    .sum();
                let dup: u64 = rs
                    .iter()
                    .filter_map(|r| r.get("dup")?.parse::<u64>().ok())
                    .sum();
                let checks: Vec<&str> = rs.iter().map(|r| field(r, "check")).collect();
                let check = if checks.iter().all(|c| *c == "ok") {
                    "ok".to_string()
                } else {
                    checks.join(",")
                };
                let _ = writeln!(
                    out,
                    "{l:<22} {b:<10}{cells} {lost:>9} {dup:>6} {:>4}  {check}",
                    rs.len()
                );
            }
        }
    }
    out
}

fn field<'a>(r: &'a Fields, key: &str) -> &'a str {
    r.get(key).map_or("?", String::as_str)
}

/// `fan-in q1`, `pairs q1 v5`, `latency q0 1000/s`, `idle 10000`.
fn label(r: &Fields) -> String {
    let v5 = if field(r, "version") == "5.0" {
        " v5"
    } else {
        ""
    };
    match field(r, "scenario") {
        "idle" => format!("idle {}", field(r, "conns")),
        "latency" => format!("latency q{} {}/s{v5}", field(r, "qos"), field(r, "rate")),
        s => format!("{s} q{}{v5}", field(r, "qos")),
    }
}

/// 0 throughput, 1 latency, 2 idle.
fn kind(label: &str) -> usize {
    if label.starts_with("latency") {
        1
    } else if label.starts_with("idle") {
        2
    } else {
        0
    }
}

/// The median of `key` over the runs that have it as a number.
fn median(runs: &[&Fields], key: &str) -> Option<f64> {
    let mut v: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.get(key)?.parse::<f64>().ok())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(m).copied()
    } else {
        Some((v.get(m - 1)? + v.get(m)?) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        let text = "\
noise
RESULT broker=mosquitto scenario=fan-in qos=0 msgs_per_s=100 msgs_per_broker_cpu_s=10 lost=0 dup=0 check=ok
RESULT broker=roost scenario=fan-in qos=0 msgs_per_s=300 msgs_per_broker_cpu_s=30 lost=0 dup=0 check=ok
RESULT broker=roost scenario=fan-in qos=0 msgs_per_s=200 msgs_per_broker_cpu_s=50 lost=1 dup=0 check=ok
RESULT broker=roost scenario=fan-in qos=0 msgs_per_s=250 msgs_per_broker_cpu_s=40 lost=0 dup=0 check=ok
RESULT broker=roost scenario=idle qos=0 conns=10 conns_per_s=5 rss_per_conn=NA check=ok
";
        let t = render(text);
        let roost = t
            .lines()
            .find(|l| l.starts_with("fan-in q0") && l.contains("roost"));
        let cols: Vec<&str> = roost.unwrap_or_default().split_whitespace().collect();
        assert_eq!(
            cols.get(3..8),
            Some(&["250", "2.50", "40", "4.00", "1"][..]),
            "{t}"
        );
        assert!(t.contains("idle 10"), "{t}");
    }
}
