//! Reads CPU time and resident memory of a process from `/proc`. Linux only; every reader
//! returns `None` rather than failing when a file is missing or malformed.

use std::process::Command;
use std::sync::OnceLock;

/// Which process to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Proc {
    /// The benchmark itself.
    This,
    /// Another process by pid.
    Pid(u32),
}

impl Proc {
    fn path(self, file: &str) -> String {
        match self {
            Proc::This => format!("/proc/self/{file}"),
            Proc::Pid(p) => format!("/proc/{p}/{file}"),
        }
    }
}

/// User plus system CPU time of all the process's threads, in seconds.
pub(crate) fn cpu_seconds(p: Proc) -> Option<f64> {
    let stat = std::fs::read_to_string(p.path("stat")).ok()?;
    // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')', field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / clock_ticks())
}

/// Resident set size (`VmRSS`) in bytes.
pub(crate) fn rss_bytes(p: Proc) -> Option<u64> {
    let status = std::fs::read_to_string(p.path("status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `getconf CLK_TCK`, asked once; 100 when it cannot be run.
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(cpu_seconds(Proc::This).is_some_and(|s| s >= 0.0));
        assert!(rss_bytes(Proc::This).is_some_and(|b| b > 0));
        assert!(cpu_seconds(Proc::Pid(u32::MAX)).is_none());
    }
}
