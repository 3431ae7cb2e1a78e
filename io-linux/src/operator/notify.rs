//! Notify programs, called exactly as keepalived calls them.
//!
//! On every state change of an instance (or a sync group) vigild runs, in this order:
//!
//! 1. the state's own program, `notify_master`, `notify_backup`, `notify_fault` or
//!    `notify_stop` (on shutdown), with the arguments written in the configuration and nothing
//!    more;
//! 2. the generic `notify` program with four more arguments:
//!    `INSTANCE|GROUP NAME MASTER|BACKUP|FAULT|STOP PRIORITY` (the effective priority; 0 for a
//!    group, as keepalived).
//!
//! Unlike keepalived, which forks every program at once and lets them race (keepalived issues
//! #996 and #1055: a `notify_backup` can finish after the `notify_master` that followed it),
//! vigild delivers the programs of one instance or group **in order, one at a time**: each
//! target has a queue served by its own worker thread, so a slow program delays only later
//! programs of the same target, and never the event loop or another target. Each run has a
//! timeout ([`DEFAULT_TIMEOUT`]); past it the program's whole process group is killed.
//!
//! Programs are executed directly (`execve` of the first word, the rest as arguments, single
//! quotes grouping words, as keepalived splits them); only a line that needs a shell (a pipe,
//! a redirection, `;`, `&&`, `$VAR`, globbing, ...) runs as `/bin/sh -c LINE`, with the extra
//! arguments passed as `"$@"`. A program without `#!` that the kernel refuses (ENOEXEC) is run by
//! `/bin/sh`, like keepalived. Each runs as its user (`notify_master /x USER [GROUP]`), else
//! `script_user`, else `keepalived_script` when it exists, else root.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant as WallInstant};

use tracing::{debug, info, warn};
use vigil_engine::conf::{self, Config};
use vigil_engine::{Action, Engine, State};

pub use super::program::{needs_shell, Program};
use super::user::{self, Credentials};
use super::{privilege, program};
use crate::sys;

/// How long one notify program may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many notifications may wait for one target before new ones are dropped (and logged): a
/// program that hangs until its timeout every time must not make vigild's memory grow.
pub const QUEUE_DEPTH: usize = 256;

/// Whether a notification is about an instance or a sync group (keepalived's first extra
/// argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// `INSTANCE`.
    Instance,
    /// `GROUP`.
    Group,
}

impl TargetKind {
    /// keepalived's word for it.
    pub const fn word(self) -> &'static str {
        match self {
            TargetKind::Instance => "INSTANCE",
            TargetKind::Group => "GROUP",
        }
    }
}

/// keepalived's word for a state in notifications: INIT after a shutdown is `STOP`.
pub const fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "STOP",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// How a program's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this status (or was killed by a signal: `None`).
    Exited(Option<i32>),
    /// Killed at its timeout.
    TimedOut,
    /// Could not be started.
    NotStarted(String),
}

/// Run `p` with `extra` arguments, wait at most `timeout`, kill its process group past it.
/// Blocks the calling thread: call it on a worker, never on the event loop.
pub fn run_program(p: &Program, extra: &[String], timeout: Duration) -> Outcome {
    let mut child = match p.spawn(extra) {
        Ok(c) => c,
        Err(e) => return Outcome::NotStarted(e),
    };
    let start = WallInstant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Outcome::Exited(st.code()),
            Ok(None) => {}
            Err(e) => return Outcome::NotStarted(e.to_string()),
        }
        if start.elapsed() >= timeout {
            // The process group this child leads (process_group(0)): its children go too.
            let _ = sys::kill_process_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            return Outcome::TimedOut;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
}

/// One notification: the programs to run in order, each with its extra arguments.
#[derive(Clone, Debug)]
struct Job {
    target: String,
    runs: Vec<(Program, Vec<String>)>,
}

/// The notify programs of one instance or group, vetted and resolved.
#[derive(Clone, Debug, Default)]
struct Scripts {
    any: Option<Program>,
    master: Option<Program>,
    backup: Option<Program>,
    fault: Option<Program>,
    stop: Option<Program>,
    deleted: Option<Program>,
    /// `notify_deleted` was configured: a removed instance is reported `DELETED`, not `FAULT`.
    report_deleted: bool,
    master_rx_lower_pri: Option<Program>,
}

impl Scripts {
    fn is_empty(&self) -> bool {
        self.any.is_none()
            && self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.deleted.is_none()
            && self.master_rx_lower_pri.is_none()
    }

    fn for_notice(&self, n: Notice) -> Option<&Program> {
        match n {
            Notice::State(State::Master) => self.master.as_ref(),
            Notice::State(State::Backup) => self.backup.as_ref(),
            Notice::State(State::Fault) => self.fault.as_ref(),
            Notice::State(State::Init) => self.stop.as_ref(),
            Notice::Deleted => self.deleted.as_ref(),
        }
    }
}

/// What a notification reports: a state entered, or (keepalived's `notify_deleted`) the
/// instance's removal by a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The instance or group entered this state (INIT after a shutdown is `STOP`).
    State(State),
    /// Removed by a reload, with `notify_deleted` configured: `DELETED`.
    Deleted,
}

impl Notice {
    /// keepalived's word for it.
    pub const fn word(self) -> &'static str {
        match self {
            Notice::State(s) => state_word(s),
            Notice::Deleted => "DELETED",
        }
    }
}

struct Worker {
    tx: SyncSender<Job>,
    handle: JoinHandle<()>,
}

/// Runs notify programs: one ordered queue and worker thread per instance or group.
///
/// Build it once from the configuration ([`Notifier::new`]); hand it every action
/// ([`Notifier::on_action`]); on shutdown, after the engine's last actions, wait for the queues
/// to drain ([`Notifier::shutdown`]) so that `notify_stop` programs run before vigild exits.
pub struct Notifier {
    targets: HashMap<(TargetKind, String), Scripts>,
    workers: HashMap<(TargetKind, String), Worker>,
    timeout: Duration,
}

/// Why a script was left out when the notifier was built (logged by [`Notifier::new`], returned
/// for `vigild -t` style reports and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// `INSTANCE VI_1 notify_master` and the like.
    pub owner: String,
    /// Why.
    pub why: String,
}

fn prepare_script(
    s: &Option<conf::Script>,
    owner: &str,
    default: &Credentials,
    security: bool,
    refused: &mut Vec<Refused>,
) -> Option<Program> {
    match program::vetted(s.as_ref()?, default, security) {
        Ok((p, warning)) => {
            if let Some(w) = warning {
                warn!("{owner}: {w}");
            }
            Some(p)
        }
        Err(why) => {
            refused.push(Refused {
                owner: owner.into(),
                why,
            });
            None
        }
    }
}

impl Notifier {
    /// Resolve and vet every notify program of `cfg` (users looked up, script security
    /// applied); refused programs are logged and returned. `timeout` bounds each run.
    pub fn new(cfg: &Config, timeout: Duration) -> (Notifier, Vec<Refused>) {
        let mut refused = Vec::new();
        let security = cfg.global.enable_script_security;
        if privilege::all_scripts(cfg).is_empty() {
            // No user look-up (NSS loads libraries that would stay resident for nothing).
            return (
                Notifier {
                    targets: HashMap::new(),
                    workers: HashMap::new(),
                    timeout,
                },
                refused,
            );
        }
        let default = match user::default_script_user(&cfg.global) {
            Ok((c, _)) => Some(c),
            Err(e) => {
                refused.push(Refused {
                    owner: "script_user".into(),
                    why: e.0,
                });
                None
            }
        };
        let mut targets = HashMap::new();
        if let Some(default) = default {
            let mut add = |kind: TargetKind, name: &str, n: &conf::Notify| {
                let o = |what: &str| format!("{} {name} {what}", kind.word());
                let s = Scripts {
                    any: prepare_script(&n.any, &o("notify"), &default, security, &mut refused),
                    master: prepare_script(
                        &n.master,
                        &o("notify_master"),
                        &default,
                        security,
                        &mut refused,
                    ),
                    backup: prepare_script(
                        &n.backup,
                        &o("notify_backup"),
                        &default,
                        security,
                        &mut refused,
                    ),
                    fault: prepare_script(
                        &n.fault,
                        &o("notify_fault"),
                        &default,
                        security,
                        &mut refused,
                    ),
                    stop: prepare_script(
                        &n.stop,
                        &o("notify_stop"),
                        &default,
                        security,
                        &mut refused,
                    ),
                    deleted: prepare_script(
                        &n.deleted,
                        &o("notify_deleted"),
                        &default,
                        security,
                        &mut refused,
                    ),
                    report_deleted: n.report_deleted,
                    master_rx_lower_pri: prepare_script(
                        &n.master_rx_lower_pri,
                        &o("notify_master_rx_lower_pri"),
                        &default,
                        security,
                        &mut refused,
                    ),
                };
                if !s.is_empty() {
                    targets.insert((kind, name.to_string()), s);
                }
            };
            for i in &cfg.instances {
                add(TargetKind::Instance, &i.name, &i.notify);
            }
            for g in &cfg.sync_groups {
                add(TargetKind::Group, &g.name, &g.notify);
            }
        }
        for r in &refused {
            warn!("{}: {}", r.owner, r.why);
        }
        (
            Notifier {
                targets,
                workers: HashMap::new(),
                timeout,
            },
            refused,
        )
    }

    /// Take a reloaded configuration: the programs of every target are those of `cfg` from now
    /// on; notifications already queued still run, in order, with the programs they were
    /// queued with (a target's worker and queue survive the reload). Returns the refused
    /// programs of `cfg`.
    pub fn reload(&mut self, cfg: &Config) -> Vec<Refused> {
        let (fresh, refused) = Notifier::new(cfg, self.timeout);
        self.targets = fresh.targets;
        refused
    }

    /// Whether any notify program is configured (and was not refused).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Queue the programs that `action` calls for. Never blocks: the programs run on the
    /// target's worker thread.
    pub fn on_action(&mut self, engine: &Engine, action: &Action) {
        match action {
            Action::StateChange {
                instance,
                to,
                priority,
                ..
            } => {
                if let Some(v) = engine.instance(*instance) {
                    self.notify(TargetKind::Instance, v.name(), *to, *priority);
                }
            }
            Action::GroupStateChange { group, to, .. } => {
                if let Some((name, _, _)) = engine.group(*group) {
                    let name = name.to_string();
                    self.notify(TargetKind::Group, &name, *to, 0);
                }
            }
            Action::LowerPriorityHeard { instance, .. } => {
                if let Some(v) = engine.instance(*instance) {
                    self.master_rx_lower_pri(v.name());
                }
            }
            _ => {}
        }
    }

    /// Queue the notification of `name` entering `state` (the programs for it, in
    /// keepalived's order).
    pub fn notify(&mut self, kind: TargetKind, name: &str, state: State, priority: u8) {
        self.notify_of(kind, name, Notice::State(state), priority);
    }

    /// An instance removed by a reload: keepalived reports it as `FAULT` (the `notify_fault`
    /// program and `notify ... FAULT`), or as `DELETED` (the `notify_deleted` program, if it
    /// names one, and `notify ... DELETED`) when `notify_deleted` is configured. Returns the
    /// word used, for the FIFO line.
    pub fn deleted(&mut self, name: &str, priority: u8) -> Notice {
        let key = (TargetKind::Instance, name.to_string());
        let notice = match self.targets.get(&key) {
            Some(s) if s.report_deleted => Notice::Deleted,
            _ => Notice::State(State::Fault),
        };
        self.notify_of(TargetKind::Instance, name, notice, priority);
        notice
    }

    /// A master heard a lower priority: `notify_master_rx_lower_pri`, with no extra arguments
    /// (keepalived's `send_event_notify`).
    pub fn master_rx_lower_pri(&mut self, name: &str) {
        let key = (TargetKind::Instance, name.to_string());
        let Some(p) = self
            .targets
            .get(&key)
            .and_then(|s| s.master_rx_lower_pri.clone())
        else {
            return;
        };
        self.queue(
            key,
            Job {
                target: format!("INSTANCE {name}"),
                runs: vec![(p, Vec::new())],
            },
        );
    }

    fn notify_of(&mut self, kind: TargetKind, name: &str, notice: Notice, priority: u8) {
        let key = (kind, name.to_string());
        let Some(scripts) = self.targets.get(&key) else {
            return;
        };
        let mut runs = Vec::with_capacity(2);
        if let Some(p) = scripts.for_notice(notice) {
            runs.push((p.clone(), Vec::new()));
        }
        if let Some(p) = &scripts.any {
            runs.push((
                p.clone(),
                vec![
                    kind.word().to_string(),
                    name.to_string(),
                    notice.word().to_string(),
                    priority.to_string(),
                ],
            ));
        }
        if runs.is_empty() {
            return;
        }
        let job = Job {
            target: format!("{} {name}", kind.word()),
            runs,
        };
        self.queue(key, job);
    }

    /// Hand `job` to its target's worker (started on first use).
    fn queue(&mut self, key: (TargetKind, String), job: Job) {
        let timeout = self.timeout;
        let worker = self
            .workers
            .entry(key)
            .or_insert_with(|| start_worker(&job.target, timeout));
        match worker.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(j)) => warn!(
                "{}: {QUEUE_DEPTH} notifications already waiting; one dropped",
                j.target
            ),
            Err(TrySendError::Disconnected(j)) => {
                warn!("{}: notify worker gone; notification dropped", j.target)
            }
        }
    }

    /// Close the queues and wait, at most `grace`, for the programs already queued (the
    /// `notify_stop` ones above all) to finish. Returns how many workers were still busy.
    pub fn shutdown(self, grace: Duration) -> usize {
        let deadline = WallInstant::now() + grace;
        let handles: Vec<JoinHandle<()>> = self
            .workers
            .into_values()
            .map(|w| {
                drop(w.tx);
                w.handle
            })
            .collect();
        let mut busy = 0;
        for h in handles {
            while !h.is_finished() && WallInstant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                busy += 1;
            }
        }
        busy
    }
}

fn start_worker(target: &str, timeout: Duration) -> Worker {
    let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
    let name = format!("notify {target}");
    let handle = std::thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(move || serve(rx, timeout))
        .unwrap_or_else(|e| {
            // Without a thread, run nothing: log once per target and keep the loop alive.
            warn!("{name}: cannot start a worker thread ({e}); notifications dropped");
            std::thread::spawn(|| {})
        });
    Worker { tx, handle }
}

fn serve(rx: Receiver<Job>, timeout: Duration) {
    while let Ok(job) = rx.recv() {
        for (p, extra) in &job.runs {
            match run_program(p, extra, timeout) {
                Outcome::Exited(Some(0)) => debug!("{}: ran {}", job.target, p.line),
                Outcome::Exited(Some(c)) => {
                    info!("{}: {} exited with status {c}", job.target, p.line)
                }
                Outcome::Exited(None) => info!("{}: {} killed by a signal", job.target, p.line),
                Outcome::TimedOut => warn!(
                    "{}: {} still running after {:?}: killed",
                    job.target, p.line, timeout
                ),
                Outcome::NotStarted(e) => warn!("{}: cannot run {}: {e}", job.target, p.line),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_only_when_the_line_needs_one() {
        assert!(!needs_shell("/usr/local/bin/notify.sh master"));
        assert!(!needs_shell("/bin/logger -t vrrp 'became master'"));
        assert!(needs_shell("/bin/echo master > /tmp/state"));
        assert!(needs_shell("/bin/a && /bin/b"));
        assert!(needs_shell("echo $HOSTNAME"));
        assert!(needs_shell("FOO=1 /bin/x"));
    }

    #[test]
    fn stop_is_keepalived_word_for_init() {
        assert_eq!(state_word(State::Init), "STOP");
        assert_eq!(state_word(State::Master), "MASTER");
    }

    #[test]
    fn a_program_past_its_timeout_is_killed() {
        let p = Program {
            line: "/bin/sleep 5".into(),
            argv: vec!["/bin/sleep".into(), "5".into()],
            shell: false,
            creds: None,
        };
        assert_eq!(
            run_program(&p, &[], Duration::from_millis(50)),
            Outcome::TimedOut
        );
        let p = Program {
            line: "exit 3".into(),
            argv: vec!["exit".into(), "3".into()],
            shell: true,
            creds: None,
        };
        assert_eq!(
            run_program(&p, &[], Duration::from_secs(5)),
            Outcome::Exited(Some(3))
        );
    }
}
