//! The broker shell: binds the listener, starts one `mio` reactor per worker thread, turns
//! SIGINT/SIGTERM into a clean shutdown, and waits for everything to stop.
//!
//! What is shared between workers lives in [`Shared`]: the subscription trie and the retained
//! store (read-mostly, behind `RwLock`s; matching runs on the publisher's worker) and each
//! worker's inbox and waker. Everything else belongs to exactly one worker.

mod worker;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::Duration;

use mio::net::TcpListener;
use mio::{Interest, Poll, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::auth::{AllowAll, AuthHook};
use crate::config::Config;
use crate::error::{Error, StartError};
use crate::message::{Message, SessionKey};
use crate::sched::SchedMode;
use crate::session::SubInfo;
use crate::topic::{RetainedStore, SubscriptionTrie};

pub(crate) use worker::Inbound;

/// The limits the workers apply, copied out of [`Config`].
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Largest packet accepted from a client, fixed header included.
    pub(crate) max_packet_size: usize,
    /// Time a new connection has to send CONNECT.
    pub(crate) connect_timeout: Duration,
    /// Largest keepalive granted (5.0 Server Keep Alive above it).
    pub(crate) max_keepalive: u16,
    /// Messages queued per session at most.
    pub(crate) max_queued: usize,
    /// 3.1.1 in-session resend interval, if any.
    pub(crate) retry_interval: Option<Duration>,
    /// Topics with a retained message at most; 0 means no limit.
    pub(crate) max_retained: usize,
    /// The worker threads' scheduling policy.
    pub(crate) sched: SchedMode,
}

/// One worker as the others see it.
pub(crate) struct Remote {
    /// Messages for the worker; FIFO, so one publisher's order holds at every subscriber.
    pub(crate) inbox: Mutex<Vec<Inbound>>,
    /// Wakes the worker's `poll`. Invariant: woken only when the inbox goes from empty to not,
    /// or when another worker left it a timer due earlier than it planned to wake.
    pub(crate) waker: Waker,
    /// The worker's state: held by its thread while it works, free while it sleeps in `poll`.
    /// `None` before start and after stop (which also breaks the `Arc<Shared>` cycle).
    pub(crate) state: Mutex<Option<worker::Worker>>,
}

impl Remote {
    /// The worker's state, for its own thread.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Option<worker::Worker>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers `batch` on the calling thread if the worker is idle; false (batch untouched)
    /// if it is busy, so the caller posts it instead.
    pub(crate) fn deliver_now(&self, batch: &mut Vec<Inbound>) -> bool {
        let Ok(mut state) = self.state.try_lock() else {
            return false;
        };
        let Some(worker) = state.as_mut() else {
            return false;
        };
        if worker.run_batch(batch) {
            if let Err(e) = self.waker.wake() {
                log::error!("waking a worker: {e}");
            }
        }
        true
    }
}

/// State shared by all workers.
pub(crate) struct Shared {
    /// Every subscription, keyed by session.
    pub(crate) subs: RwLock<SubscriptionTrie<SessionKey, SubInfo>>,
    /// Retained messages by topic.
    pub(crate) retained: RwLock<RetainedStore<Arc<Message>>>,
    /// The workers, indexed by worker number.
    pub(crate) workers: Vec<Remote>,
    /// Set once on SIGINT/SIGTERM.
    pub(crate) shutdown: AtomicBool,
    /// Configured limits.
    pub(crate) limits: Limits,
    /// Decides who may connect.
    pub(crate) auth: Arc<dyn AuthHook>,
}

impl Shared {
    /// Begins a clean shutdown: sets the flag and wakes every worker.
    pub(crate) fn stop(&self) {
        log::info!("shutting down: no longer accepting connections");
        self.shutdown.store(true, Ordering::SeqCst);
        for w in &self.workers {
            let _ = w.waker.wake();
        }
    }

    /// Appends `items` to worker `w`'s inbox, waking it if the inbox was empty.
    pub(crate) fn post(&self, w: usize, items: &mut Vec<Inbound>) {
        let Some(remote) = self.workers.get(w) else {
            items.clear();
            return;
        };
        let was_empty = {
            let mut inbox = remote.inbox.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = inbox.is_empty();
            inbox.append(items);
            was_empty
        };
        if was_empty {
            if let Err(e) = remote.waker.wake() {
                log::error!("waking worker {w}: {e}");
            }
        }
    }
}

/// Runs the broker until SIGINT or SIGTERM.
pub(crate) fn run(config: &Config) -> Result<(), Error> {
    // Installed before the listener logs that it is ready, so a signal sent as soon as the
    // log says so is already a clean shutdown.
    let signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|source| Error::Io {
            context: "installing signal handlers",
            source,
        })?;
    let running = Running::start(config, Arc::new(AllowAll))?;
    watch_signals(signals, Arc::clone(&running.shared))?;
    running.wait();
    Ok(())
}

/// A broker running inside another program: the embedding API.
///
/// It is configured exactly as the `roost` binary is, by `ROOST_*` names (looked up through a
/// closure rather than the process environment), and decides who may connect through an
/// [`AuthHook`]. Dropping it shuts it down as SIGTERM does the binary.
///
/// ```no_run
/// use std::sync::Arc;
/// use roost::auth::{AuthHook, Credentials, Refusal};
///
/// struct OnlyAlice;
/// impl AuthHook for OnlyAlice {
///     fn check(&self, c: &Credentials<'_>) -> Result<(), Refusal> {
///         match (c.username, c.password) {
///             (Some("alice"), Some(b"wonderland")) => Ok(()),
///             _ => Err(Refusal::BadUserNameOrPassword),
///         }
///     }
/// }
///
/// let broker = roost::Broker::start(
///     |name| (name == "ROOST_LISTEN").then(|| "127.0.0.1:1883".to_owned()),
///     Arc::new(OnlyAlice),
/// )?;
/// println!("listening on {}", broker.local_addr());
/// broker.shutdown();
/// # Ok::<(), roost::StartError>(())
/// ```
pub struct Broker {
    running: Option<Running>,
    local: SocketAddr,
}

impl Broker {
    /// Starts a broker configured by `lookup` (given a `ROOST_*` name, its value if set; the
    /// same names, defaults and checks as the binary's environment) with `authenticator`
    /// deciding who may connect. Returns once the listener is bound and the workers run.
    pub fn start(
        lookup: impl FnMut(&str) -> Option<String>,
        authenticator: Arc<dyn AuthHook>,
    ) -> Result<Broker, StartError> {
        let workers = thread::available_parallelism().map_or(1, |n| n.get());
        let config = Config::from_lookup(lookup, workers).map_err(Error::from)?;
        let running = Running::start(&config, authenticator)?;
        Ok(Broker {
            local: running.local,
            running: Some(running),
        })
    }

    /// The address the listener is bound to (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting, closes every connection (5.0 clients get DISCONNECT 0x8B) and waits
    /// for the workers to finish.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shared.stop();
            running.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("local", &self.local)
            .finish()
    }
}

/// The workers of a started broker.
struct Running {
    shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<()>>,
    local: SocketAddr,
}

impl Running {
    /// Binds the listener and starts the workers.
    fn start(config: &Config, auth: Arc<dyn AuthHook>) -> Result<Running, Error> {
        let std_listener = StdListener::bind(config.listen).map_err(|source| Error::Io {
            context: "binding the listener",
            source,
        })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|source| Error::Io {
                context: "configuring the listener",
                source,
            })?;
        let local = std_listener.local_addr().map_err(|source| Error::Io {
            context: "reading the listener address",
            source,
        })?;
        let mut polls = Vec::with_capacity(config.workers);
        let mut listeners = Vec::with_capacity(config.workers);
        let mut remotes = Vec::with_capacity(config.workers);
        for _ in 0..config.workers {
            let poll = Poll::new().map_err(|source| Error::Io {
                context: "creating a poll",
                source,
            })?;
            let waker = Waker::new(poll.registry(), worker::WAKER).map_err(|source| Error::Io {
                context: "creating a waker",
                source,
            })?;
            // Every worker accepts on its own handle of the one listening socket: a connection
            // goes to whichever worker is free to take it, with no hop through another thread.
            let mut listener =
                TcpListener::from_std(std_listener.try_clone().map_err(|source| Error::Io {
                    context: "sharing the listener",
                    source,
                })?);
            poll.registry()
                .register(&mut listener, worker::LISTENER, Interest::READABLE)
                .map_err(|source| Error::Io {
                    context: "registering the listener",
                    source,
                })?;
            polls.push(poll);
            listeners.push(listener);
            remotes.push(Remote {
                inbox: Mutex::new(Vec::new()),
                waker,
                state: Mutex::new(None),
            });
        }
        let shared = Arc::new(Shared {
            subs: RwLock::new(SubscriptionTrie::new()),
            retained: RwLock::new(RetainedStore::new()),
            workers: remotes,
            shutdown: AtomicBool::new(false),
            auth,
            limits: Limits {
                max_packet_size: config.max_packet_size as usize,
                connect_timeout: config.connect_timeout,
                max_keepalive: config.max_keepalive,
                max_queued: config.max_queued,
                retry_interval: config.retry_interval,
                max_retained: config.max_retained,
                sched: config.sched,
            },
        });

        let mut threads = Vec::new();
        for (i, (poll, listener)) in polls.iter().zip(listeners).enumerate() {
            let registry = poll.registry().try_clone().map_err(|source| Error::Io {
                context: "sharing a poll registry",
                source,
            })?;
            if let Some(remote) = shared.workers.get(i) {
                *remote.lock() = Some(worker::Worker::new(
                    i,
                    registry,
                    listener,
                    Arc::clone(&shared),
                ));
            }
        }
        for (i, poll) in polls.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            let handle = thread::Builder::new()
                .name(format!("roost-worker-{i}"))
                .spawn(move || worker::run_thread(i, poll, shared))
                .map_err(|source| Error::Io {
                    context: "starting a worker",
                    source,
                })?;
            threads.push(handle);
        }
        drop(std_listener);
        log::info!(
            "roost {} listening on {local} with {} workers",
            env!("CARGO_PKG_VERSION"),
            config.workers
        );
        Ok(Running {
            shared,
            threads,
            local,
        })
    }

    /// Waits for every worker to stop.
    fn wait(self) {
        for t in self.threads {
            if t.join().is_err() {
                log::error!("a worker thread panicked");
            }
        }
        for w in &self.shared.workers {
            w.lock().take();
        }
        log::info!("roost stopped");
    }
}

/// Turns the first SIGINT or SIGTERM into a shutdown: sets the flag and wakes every worker.
fn watch_signals(
    mut signals: signal_hook::iterator::Signals,
    shared: Arc<Shared>,
) -> Result<(), Error> {
    thread::Builder::new()
        .name("roost-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                log::info!("{name} received: shutting down");
                shared.stop();
            }
        })
        .map_err(|source| Error::Io {
            context: "starting the signal thread",
            source,
        })?;
    Ok(())
}
