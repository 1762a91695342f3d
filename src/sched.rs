//! The Linux scheduling policy of the worker threads (`ROOST_SCHED`).
//!
//! Why: on a small host the broker shares its few cores with its own clients. Measured on the
//! 2-core development VM (README, Performance), a worker woken by a client's `write` under the
//! normal policy often preempts that client in the middle of its system call. The worker then
//! finds two runnable tasks on its CPU, so the subscriber it wakes is sent to the other, idle
//! CPU, and waking an idle virtual CPU costs 40–60 µs. `SCHED_BATCH` threads do not preempt
//! on wake-up: the client finishes its call and sleeps, the worker runs on the same CPU, and
//! the subscriber is woken there too. Measured p50/p99 at QoS 1 and 1,000 msgs/s: 47/209 µs
//! under the normal policy, 21/143 µs in batch, with throughput unchanged.
//!
//! The price is paid when every CPU is busy: a batch thread then waits for the running task's
//! tick, up to a few milliseconds (measured: p99 3.4–4.1 ms at 1,000 msgs/s with two CPU-bound
//! processes on the two cores, against about 0.1 ms under the normal policy). So by default
//! ([`SchedMode::Auto`]) each worker looks at the host's idle CPU time about once a second
//! while it has work, and uses `SCHED_BATCH` only while the CPUs have idle time to spare.

use std::time::{Duration, Instant};

/// What `ROOST_SCHED` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchedMode {
    /// `SCHED_BATCH` while the host has idle CPU time, the normal policy while it has none.
    Auto,
    /// Always `SCHED_BATCH`.
    Batch,
    /// Never touch the policy: the threads keep what they were started with.
    Normal,
}

impl SchedMode {
    /// The mode for a `ROOST_SCHED` value, or `None`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "batch" => Some(Self::Batch),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }

    /// The value that selects this mode.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Batch => "batch",
            Self::Normal => "normal",
        }
    }
}

/// A thread's policy as far as this module sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Batch,
    Normal,
}

/// How often an active worker in [`SchedMode::Auto`] looks at the CPU times again.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Idle time, in CPUs' worth, below which batch threads risk waiting for a tick: leave batch.
const LEAVE_BATCH_BELOW: f64 = 0.25;
/// Idle time, in CPUs' worth, from which batch is safe again. Above the other threshold, so
/// that a host near it does not make the policy flap every second.
const ENTER_BATCH_FROM: f64 = 0.5;

/// Chooses and applies one worker thread's policy. Lives on that thread.
#[derive(Debug)]
pub(crate) struct Governor {
    /// Whether `check` may still move the thread: `Auto` mode, and no change refused yet.
    adapting: bool,
    /// The policy last applied to this thread.
    current: Policy,
    /// The CPU times at the last check and when it was; `None` before the first.
    last: Option<(Instant, CpuTimes)>,
}

impl Governor {
    /// Applies the starting policy to the calling thread: batch unless the mode is `Normal`,
    /// which leaves the thread as it is.
    pub(crate) fn start(mode: SchedMode, worker: usize) -> Self {
        let mut g = Self {
            adapting: mode == SchedMode::Auto,
            current: Policy::Normal,
            last: None,
        };
        if mode != SchedMode::Normal {
            g.apply(Policy::Batch, worker);
        }
        g
    }

    /// In `Auto` mode, at most once per [`CHECK_EVERY`] (by `now`, the caller's clock):
    /// reads the host's CPU times and moves the calling thread in or out of batch. Cheap to
    /// call every loop turn.
    pub(crate) fn check(&mut self, now: Instant, worker: usize) {
        if !self.adapting {
            return;
        }
        if self
            .last
            .is_some_and(|(at, _)| now.saturating_duration_since(at) < CHECK_EVERY)
        {
            return;
        }
        let Some(times) = read_cpu_times() else {
            log::warn!("worker {worker}: /proc/stat unreadable, scheduling policy left as is");
            self.adapting = false;
            return;
        };
        let previous = self.last.replace((now, times));
        let Some((_, before)) = previous else {
            return;
        };
        let Some(idle) = times.idle_cpus_since(&before) else {
            return;
        };
        let wanted = decide(self.current, idle);
        if wanted != self.current {
            log::debug!(
                "worker {worker}: {idle:.2} CPUs idle over the last second: {} scheduling",
                if wanted == Policy::Batch {
                    "batch"
                } else {
                    "normal"
                }
            );
            self.apply(wanted, worker);
        }
    }

    fn apply(&mut self, policy: Policy, worker: usize) {
        match set_policy(policy) {
            Ok(()) => self.current = policy,
            Err(e) => {
                log::warn!(
                    "worker {worker}: cannot change the scheduling policy ({e}); leaving it"
                );
                self.adapting = false;
            }
        }
    }
}

/// The policy for a thread now under `current`, given the host's idle time in CPUs' worth.
fn decide(current: Policy, idle_cpus: f64) -> Policy {
    match current {
        Policy::Batch if idle_cpus < LEAVE_BATCH_BELOW => Policy::Normal,
        Policy::Normal if idle_cpus >= ENTER_BATCH_FROM => Policy::Batch,
        p => p,
    }
}

/// The aggregate `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuTimes {
    /// Idle and iowait.
    idle: u64,
    /// Everything, guest time excluded (it is counted in user time already).
    total: u64,
    /// CPUs counted (the `cpuN` lines).
    cpus: u32,
}

impl CpuTimes {
    /// Idle time between `before` and `self`, in CPUs' worth (0 to `cpus`).
    fn idle_cpus_since(&self, before: &CpuTimes) -> Option<f64> {
        let total = self.total.checked_sub(before.total)?;
        let idle = self.idle.checked_sub(before.idle)?;
        if total == 0 || self.cpus == 0 {
            return None;
        }
        Some(idle as f64 / total as f64 * f64::from(self.cpus))
    }
}

fn read_cpu_times() -> Option<CpuTimes> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Parses `/proc/stat`: the `cpu` line's first eight fields (user nice system idle iowait irq
/// softirq steal) and the number of `cpuN` lines.
fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let mut lines = text.lines();
    let first = lines.next()?;
    let mut fields = first.split_ascii_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let mut v = [0u64; 8];
    for slot in &mut v {
        *slot = fields.next()?.parse().ok()?;
    }
    let cpus = lines
        .take_while(|l| l.starts_with("cpu"))
        .filter(|l| l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
    Some(CpuTimes {
        idle: idle.checked_add(iowait)?,
        total: [user, nice, system, idle, iowait, irq, softirq, steal]
            .iter()
            .try_fold(0u64, |a, &b| a.checked_add(b))?,
        cpus: u32::try_from(cpus).ok()?,
    })
}

/// Sets the calling thread's policy (Linux: `sched_setscheduler` with pid 0 acts on the
/// calling thread only). Moving between `SCHED_OTHER` and `SCHED_BATCH` needs no privilege.
#[allow(unsafe_code)]
fn set_policy(policy: Policy) -> std::io::Result<()> {
    let which = match policy {
        Policy::Batch => libc::SCHED_BATCH,
        Policy::Normal => libc::SCHED_OTHER,
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, initialised `sched_param` that outlives the call, which only
    // reads it; pid 0 names the calling thread. No memory is shared or retained.
    let rc = unsafe { libc::sched_setscheduler(0, which, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes() {
        assert_eq!(SchedMode::parse("auto"), Some(SchedMode::Auto));
        assert_eq!(SchedMode::parse(" Batch "), Some(SchedMode::Batch));
        assert_eq!(SchedMode::parse("normal"), Some(SchedMode::Normal));
        assert_eq!(SchedMode::parse("fifo"), None);
        for m in [SchedMode::Auto, SchedMode::Batch, SchedMode::Normal] {
            assert_eq!(SchedMode::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn parses_proc_stat() {
        let text = "cpu  100 5 50 1000 20 3 2 10 7 0\n\
                    cpu0 50 2 25 500 10 1 1 5 3 0\n\
                    cpu1 50 3 25 500 10 2 1 5 4 0\n\
                    intr 12345\nctxt 99\n";
        let t = parse_proc_stat(text).expect("parses");
        assert_eq!(t.idle, 1020);
        assert_eq!(t.total, 100 + 5 + 50 + 1000 + 20 + 3 + 2 + 10);
        assert_eq!(t.cpus, 2);
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        assert_eq!(parse_proc_stat("cpu 1 2 3\n"), None);
    }

    #[test]
    fn idle_share_in_cpus() {
        let a = CpuTimes {
            idle: 1000,
            total: 2000,
            cpus: 2,
        };
        // Over 200 ticks (one second on two CPUs at 100 Hz), 150 were idle: 1.5 CPUs' worth.
        let b = CpuTimes {
            idle: 1150,
            total: 2200,
            cpus: 2,
        };
        assert_eq!(b.idle_cpus_since(&a), Some(1.5));
        assert_eq!(a.idle_cpus_since(&a), None);
        assert_eq!(a.idle_cpus_since(&b), None);
    }

    #[test]
    fn leaves_batch_when_busy_and_returns_with_hysteresis() {
        assert_eq!(decide(Policy::Batch, 1.2), Policy::Batch);
        assert_eq!(decide(Policy::Batch, 0.1), Policy::Normal);
        // Between the thresholds nothing changes, whichever side it came from.
        assert_eq!(decide(Policy::Normal, 0.4), Policy::Normal);
        assert_eq!(decide(Policy::Batch, 0.4), Policy::Batch);
        assert_eq!(decide(Policy::Normal, 0.5), Policy::Batch);
    }

    /// `SCHED_OTHER` and `SCHED_BATCH` as Linux numbers them.
    const SCHED_OTHER: u32 = 0;
    const SCHED_BATCH: u32 = 3;

    /// The policy of the calling thread, from `/proc/thread-self/stat` (field 41).
    fn thread_policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let after_comm = stat.rsplit_once(')').expect("comm").1;
        // Field 3 is the first after the command; policy is field 41.
        let policy = after_comm.split_whitespace().nth(41 - 3).expect("policy");
        policy.parse().expect("number")
    }

    #[test]
    fn applies_and_restores_the_policy_on_the_calling_thread() {
        std::thread::spawn(|| {
            let mut g = Governor::start(SchedMode::Batch, 0);
            assert_eq!(thread_policy(), SCHED_BATCH);
            // `Normal` leaves the thread as it is, batch included.
            let _ = Governor::start(SchedMode::Normal, 0);
            assert_eq!(thread_policy(), SCHED_BATCH);
            g.apply(Policy::Normal, 0);
            assert_eq!(thread_policy(), SCHED_OTHER);
        })
        .join()
        .expect("thread");
    }
}
