//! `ROOST_SCHED`: the worker threads' Linux scheduling policy, read back from
//! `/proc/PID/task/TID/stat` of a running broker.
//!
//! `auto` (the default) starts the workers in `SCHED_BATCH` and moves an active worker to the
//! normal policy while every CPU is busy, and back once they have idle time again.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use common::{after, wait_until, Broker, ConnectOpts, Pkt, Raw, PINGREQ, WAIT};

/// `SCHED_OTHER` and `SCHED_BATCH` as Linux numbers them.
const SCHED_OTHER: u32 = 0;
const SCHED_BATCH: u32 = 3;

/// Every `roost-worker-*` thread of `pid`: its scheduling policy (stat field 41) and where it
/// waits in the kernel (`wchan`).
fn workers(pid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("task dir");
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with("roost-worker") {
            continue;
        }
        let (Ok(stat), Ok(wchan)) = (
            std::fs::read_to_string(path.join("stat")),
            std::fs::read_to_string(path.join("wchan")),
        ) else {
            continue;
        };
        // The command may hold spaces: fields are counted after its closing parenthesis,
        // where field 3 starts.
        let rest = stat.rsplit_once(')').expect("comm in stat").1;
        let policy = rest.split_whitespace().nth(41 - 3).expect("policy field");
        found.push((policy.parse().expect("policy number"), wchan));
    }
    found
}

/// The policies of the `n` workers of `broker` once every one of them waits in `epoll_wait`:
/// a worker sets its policy before its first poll, so from then on the policy is the one it
/// chose (the broker logs that it listens before its threads may have got that far).
fn settled_policies(broker: &Broker, n: usize) -> Vec<u32> {
    let polling = |w: &Vec<(u32, String)>| {
        w.len() == n && w.iter().all(|(_, wchan)| wchan.contains("epoll_wait"))
    };
    let settled = wait_until(after(WAIT), || polling(&workers(broker.pid())));
    let now = workers(broker.pid());
    assert!(
        settled && polling(&now),
        "workers {now:?}\n{}",
        broker.log()
    );
    now.into_iter().map(|(policy, _)| policy).collect()
}

/// The current policies of `broker`'s workers.
fn worker_policies(broker: &Broker) -> Vec<u32> {
    workers(broker.pid()).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn default_is_batch_on_every_worker() {
    let broker = Broker::with(&[("ROOST_WORKERS", "3")]);
    assert_eq!(settled_policies(&broker, 3), [SCHED_BATCH; 3]);
}

#[test]
fn batch_and_normal_are_obeyed() {
    let batch = Broker::with(&[("ROOST_SCHED", "batch")]);
    assert_eq!(settled_policies(&batch, 2), [SCHED_BATCH; 2]);
    // The threads start with the normal policy, and `normal` leaves them so.
    let normal = Broker::with(&[("ROOST_SCHED", "normal")]);
    assert_eq!(settled_policies(&normal, 2), [SCHED_OTHER; 2]);
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

/// Sends PINGREQ round after round (about every 10 ms, so its worker keeps running loop turns,
/// where the policy is checked) until `done` holds or `WAIT` passes; true if `done` held.
fn ping_until(client: &mut Raw, mut done: impl FnMut() -> bool) -> bool {
    wait_until(after(WAIT), || {
        client.send(&PINGREQ).expect("send PINGREQ");
        assert_eq!(client.recv(WAIT), Ok(Pkt::PingResp));
        done()
    })
}

#[test]
fn auto_leaves_batch_while_every_cpu_is_busy_and_returns_after() {
    let broker = Broker::with(&[("ROOST_SCHED", "auto"), ("ROOST_WORKERS", "1")]);
    let (mut client, _) = Raw::open(broker.addr, &ConnectOpts::v311("sched-auto"));
    assert_eq!(settled_policies(&broker, 1), [SCHED_BATCH]);
    {
        let _hogs = Hogs::start();
        let left = ping_until(&mut client, || worker_policies(&broker) == [SCHED_OTHER]);
        assert!(left, "still batch with every CPU busy:\n{}", broker.log());
    }
    let back = ping_until(&mut client, || worker_policies(&broker) == [SCHED_BATCH]);
    assert!(
        back,
        "not batch again once the CPUs were idle:\n{}",
        broker.log()
    );
}
