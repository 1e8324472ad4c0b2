//! Keeps a running stage's processes alive. `shop up` starts them phase by phase; an exit
//! during start-up stops the stage (a service that cannot start will not start on a retry
//! either). Once the stage is up, a process that crashes — exits with a failure or is killed —
//! is started again after a back-off, with a log line, while the rest keep serving; one that
//! exits successfully was asked to stop (SIGTERM) and stays stopped. Each start passes the
//! number of restarts so far in [`RESTARTS_ENV`], which the process exports as the gauge
//! `shop_process_restarts` on its `/metrics`.

use std::{
    path::PathBuf,
    process::ExitStatus,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use tokio::{
    process::{Child, Command},
    sync::{mpsc, watch},
    task::JoinSet,
    time::Instant,
};

use crate::plan::Process;

/// How many times the supervisor has restarted the process, for its metrics.
pub const RESTARTS_ENV: &str = "SHOP_RESTARTS";
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A process that ran this long before crashing is restarted after the first back-off again.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// A process of the plan that ended for good: its label, whether the stage needs it, how it ended.
pub type Exited = (String, bool, std::io::Result<ExitStatus>);

/// A process started again: its index in start order and its new process id.
pub struct Restarted {
    pub index: usize,
    pub pid: Option<u32>,
}

pub struct Supervisor {
    exe: PathBuf,
    /// Set once every phase is ready: from then on a crash means a restart.
    up: Arc<AtomicBool>,
    stopping: watch::Sender<bool>,
    restarted: mpsc::UnboundedSender<Restarted>,
    pub running: JoinSet<Exited>,
}

impl Supervisor {
    /// A supervisor of processes of `exe`, telling `restarted` of each restart.
    pub fn new(exe: PathBuf, restarted: mpsc::UnboundedSender<Restarted>) -> Self {
        Self {
            exe,
            up: Arc::new(AtomicBool::new(false)),
            stopping: watch::channel(false).0,
            restarted,
            running: JoinSet::new(),
        }
    }

    /// Starts `process` (the `index`-th to start) and watches it; returns its process id.
    pub fn start(&mut self, index: usize, process: &Process) -> anyhow::Result<Option<u32>> {
        let spawn = {
            let exe = self.exe.clone();
            let (serve, env, cpus) = (process.serve.as_str(), process.env.clone(), process.cpus);
            move |restarts: u32| {
                let mut command = match cpus {
                    Some(cpus) => {
                        let mut pinned = Command::new("taskset");
                        pinned.args(["-c", cpus]).arg(&exe);
                        pinned
                    }
                    None => Command::new(&exe),
                };
                command.arg("serve").arg(serve).kill_on_drop(true);
                command.envs(env.iter().map(|(k, v)| (k, v)));
                command.env(RESTARTS_ENV, restarts.to_string());
                for (option, value) in shop_platform::allocator::OPTIONS {
                    if std::env::var_os(option).is_none() {
                        command.env(option, value);
                    }
                }
                // A developer's run: the public identity key is allowed unless told otherwise.
                if std::env::var_os("SHOP_DEVELOPMENT").is_none() {
                    command.env("SHOP_DEVELOPMENT", "true");
                }
                command.spawn()
            }
        };
        let child = spawn(0).with_context(|| format!("cannot start the {}", process.label))?;
        let pid = child.id();
        let watch = Watch {
            index,
            label: process.label.clone(),
            essential: process.essential,
            up: self.up.clone(),
            stopping: self.stopping.subscribe(),
            restarted: self.restarted.clone(),
        };
        self.running.spawn(watch.run(child, spawn));
        Ok(pid)
    }

    /// From now on a crashed process is restarted.
    pub fn stage_is_up(&self) {
        self.up.store(true, Ordering::Release);
    }

    /// No more restarts: the stage is stopping.
    pub fn stop_restarting(&self) {
        self.stopping.send_replace(true);
    }
}

/// Exports how many times this process was restarted, when a supervisor started it.
pub fn export_restarts(process: &'static str) {
    if let Some(restarts) = std::env::var(RESTARTS_ENV).ok().and_then(|n| n.parse::<u32>().ok()) {
        metrics::gauge!("shop_process_restarts", "process" => process).set(f64::from(restarts));
    }
}

struct Watch {
    index: usize,
    label: String,
    essential: bool,
    up: Arc<AtomicBool>,
    stopping: watch::Receiver<bool>,
    restarted: mpsc::UnboundedSender<Restarted>,
}

impl Watch {
    async fn run(mut self, mut child: Child, spawn: impl Fn(u32) -> std::io::Result<Child>) -> Exited {
        let mut restarts = 0;
        let mut backoff = FIRST_BACKOFF;
        let mut started = Instant::now();
        loop {
            let status = child.wait().await;
            let crashed = status.as_ref().map_or(true, |status| !status.success());
            if !crashed || !self.up.load(Ordering::Acquire) || *self.stopping.borrow() {
                return (self.label, self.essential, status);
            }
            if started.elapsed() >= STABLE_AFTER {
                backoff = FIRST_BACKOFF;
            }
            loop {
                restarts += 1;
                tracing::warn!(process = self.label, ?status, restart = restarts, retry_in = ?backoff,
                    "crashed; restarting it, the others keep serving");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = self.stopping.wait_for(|stopping| *stopping) => return (self.label, self.essential, status),
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                match spawn(restarts) {
                    Ok(restarted) => {
                        child = restarted;
                        break;
                    }
                    Err(error) => tracing::error!(process = self.label, %error, "cannot restart"),
                }
            }
            started = Instant::now();
            let _ = self.restarted.send(Restarted {
                index: self.index,
                pid: child.id(),
            });
        }
    }
}
