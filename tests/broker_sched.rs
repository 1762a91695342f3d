//! `ROOST_SCHED`: the worker threads' Linux scheduling policy, read back from
//! `/proc/PID/task/TID/stat` of a running broker.
//!
//! `auto` (the default) starts the workers in `SCHED_BATCH` and moves an active worker to the
//! normal policy while every CPU is busy, and back once they have idle time again.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{after, wait_until, Broker, ConnectOpts, Pkt, Raw, PINGREQ, WAIT};

/// `SCHED_OTHER` and `SCHED_BATCH` as Linux numbers them.
const SCHED_OTHER: u32 = 0;
const SCHED_BATCH: u32 = 3;

/// The scheduling policy (stat field 41) of every `roost-worker-*` thread of `pid`.
fn worker_policies(pid: u32) -> Vec<u32> {
    let mut policies = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("task dir");
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with("roost-worker") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // The command may hold spaces: fields are counted after its closing parenthesis,
        // where field 3 starts.
        let rest = stat.rsplit_once(')').expect("comm in stat").1;
        let policy = rest.split_whitespace().nth(41 - 3).expect("policy field");
        policies.push(policy.parse().expect("policy number"));
    }
    policies
}

/// Whether the workers of `broker` reach `expected` within `WAIT`. Each worker thread sets its
/// policy as it starts, which may be just after the broker logs that it listens.
fn policies_become(broker: &Broker, expected: &[u32]) -> bool {
    wait_until(after(WAIT), || worker_policies(broker.pid()) == expected)
}

#[test]
fn default_is_batch_on_every_worker() {
    let broker = Broker::with(&[("ROOST_WORKERS", "3")]);
    assert!(
        policies_become(&broker, &[SCHED_BATCH; 3]),
        "{:?}\n{}",
        worker_policies(broker.pid()),
        broker.log()
    );
}

#[test]
fn batch_and_normal_are_obeyed() {
    let batch = Broker::with(&[("ROOST_SCHED", "batch")]);
    assert!(
        policies_become(&batch, &[SCHED_BATCH; 2]),
        "{}",
        batch.log()
    );
    let normal = Broker::with(&[("ROOST_SCHED", "normal")]);
    // Normal is what the threads start with; it must also still be that after a while.
    assert!(
        policies_become(&normal, &[SCHED_OTHER; 2]),
        "{}",
        normal.log()
    );
    thread::sleep(Duration::from_millis(200));
    assert_eq!(worker_policies(normal.pid()), vec![SCHED_OTHER; 2]);
}

/// Keeps every CPU busy until dropped.
struct Hogs {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Hogs {
    fn start() -> Hogs {
        let stop = Arc::new(AtomicBool::new(false));
        let n = thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..n)
            .map(|_| {
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Hogs { stop, threads }
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sends PINGREQ every 20 ms (so its worker keeps running loop turns, where the policy is
/// checked) until `done` holds or `WAIT` passes; true if `done` held.
fn ping_until(client: &mut Raw, mut done: impl FnMut() -> bool) -> bool {
    let deadline = after(WAIT);
    wait_until(deadline, || {
        client.send(&PINGREQ).expect("send PINGREQ");
        assert_eq!(client.recv(WAIT), Ok(Pkt::PingResp));
        thread::sleep(Duration::from_millis(20));
        done()
    })
}

#[test]
fn auto_leaves_batch_while_every_cpu_is_busy_and_returns_after() {
    let broker = Broker::with(&[("ROOST_SCHED", "auto"), ("ROOST_WORKERS", "1")]);
    let (mut client, _) = Raw::open(broker.addr, &ConnectOpts::v311("sched-auto"));
    assert!(policies_become(&broker, &[SCHED_BATCH]), "{}", broker.log());
    {
        let _hogs = Hogs::start();
        let left = ping_until(&mut client, || {
            worker_policies(broker.pid()) == vec![SCHED_OTHER]
        });
        assert!(left, "still batch with every CPU busy:\n{}", broker.log());
    }
    let back = ping_until(&mut client, || {
        worker_policies(broker.pid()) == vec![SCHED_BATCH]
    });
    assert!(
        back,
        "not batch again once the CPUs were idle:\n{}",
        broker.log()
    );
}
