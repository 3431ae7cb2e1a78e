//! The operator's side of vigild: what it tells people and programs about itself, and how little
//! it runs with.
//!
//! - [`notify`]: notify programs (`notify_master`, ..., generic `notify`), exactly as keepalived
//!   calls them, but in order per instance or group, on worker threads, with a timeout;
//! - [`fifo`]: `notify_fifo` / `vrrp_notify_fifo` lines (`INSTANCE "VI_1" MASTER 100`) and the
//!   FIFO scripts;
//! - [`mail`]: `smtp_alert` e-mail on MASTER, BACKUP, FAULT and stop, sent by a worker thread;
//! - [`status`]: the control socket that `vigild status [--json]` asks, and keepalived's
//!   `/tmp/keepalived.data` / `/tmp/keepalived.stats` on SIGUSR1 / SIGUSR2;
//! - [`metrics`]: Prometheus metrics in node_exporter's textfile format;
//! - [`privilege`]: dropping capabilities, and keepalived's `enable_script_security` checks;
//! - [`program`]: how every configured program (check, notify, FIFO script) is vetted and
//!   started;
//! - [`sd_notify`]: systemd readiness (`Type=notify`);
//! - [`journal`]: log lines journald files under the right priority, without a second
//!   timestamp;
//! - [`user`]: who scripts run as.
//!
//! Nothing here ever blocks the event loop: programs, e-mail and status answers run on other
//! threads; FIFO writes are non-blocking; files are small and written once per change or
//! interval. [`Operator`] bundles them behind the few calls the loop makes:
//!
//! ```text
//! start-up:     Operator::new(&config, opts)   (before privilege::drop_capabilities: it binds
//!                                               the status socket and may create FIFOs)
//!               epoll.add(operator.status_fd())
//! each action:  operator.on_action(&engine, &action)   (before carrying the action out)
//! each wake-up: operator.on_wakeup(now, &engine)       (metrics); arm the timer at
//!               min(engine.poll_timeout(), operator.poll_timeout())
//! status fd:    operator.on_status_readable(&engine)
//! SIGUSR1/2:    operator.on_signal(sig, &engine)
//! stop:         after the engine's Shutdown actions: operator.shutdown(grace)
//! ```

#[allow(unsafe_code)] // mkfifo(2), chown(2)
pub mod fifo;
pub mod journal;
pub mod local_name;
pub mod mail;
pub mod metrics;
pub mod notify;
#[allow(unsafe_code)] // setrlimit(2), access(2)
pub mod privilege;
#[allow(unsafe_code)] // pre_exec: setsid(2), setuid(2) / setgid(2) for script_user
pub mod program;
pub mod sd_notify;
#[allow(unsafe_code)] // umask(2) around the status socket, SO_PEERCRED, geteuid(2)
pub mod status;
#[allow(unsafe_code)] // getpwnam_r(3), getgrnam_r(3), getgrouplist(3): user and group lookups
pub mod user;

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::{info, warn};
use vigil_engine::conf::Config;
use vigil_engine::{Action, Engine, Instant};

use fifo::FifoWriter;
use mail::Mailer;
use metrics::Metrics;
use notify::Notifier;
use status::StatusServer;

/// Where the operator-facing files go, and the notify timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorOptions {
    /// The control socket (default: beside the pid file, [`status::socket_path_for_pid_file`]);
    /// `None` disables it.
    pub status_socket: Option<PathBuf>,
    /// The metrics textfile (`None`: no metrics).
    pub metrics_file: Option<PathBuf>,
    /// How often the metrics file is rewritten when nothing changes state.
    pub metrics_interval: Duration,
    /// SIGUSR1's file (default keepalived's `/tmp/keepalived.data`).
    pub data_file: PathBuf,
    /// SIGUSR2's file (default keepalived's `/tmp/keepalived.stats`).
    pub stats_file: PathBuf,
    /// How long one notify program may run.
    pub notify_timeout: Duration,
}

impl OperatorOptions {
    /// The defaults for a daemon whose pid file is `pid_file` (the data and stats files where
    /// keepalived puts them: `$TMPDIR` or `/tmp`, [`status::dump_file_path`]).
    pub fn for_pid_file(pid_file: &Path) -> OperatorOptions {
        let tmpdir = std::env::var_os("TMPDIR");
        OperatorOptions {
            status_socket: Some(status::socket_path_for_pid_file(pid_file)),
            metrics_file: None,
            metrics_interval: metrics::DEFAULT_INTERVAL,
            data_file: status::dump_file_path("keepalived.data", tmpdir.as_deref(), None),
            stats_file: status::dump_file_path("keepalived.stats", tmpdir.as_deref(), None),
            notify_timeout: notify::DEFAULT_TIMEOUT,
        }
    }
}

/// Everything operator-facing, behind the calls the event loop makes (see the module docs).
pub struct Operator {
    /// `router_id` as configured; without one the local name stands in ([`Operator::router_id`]).
    configured_router_id: Option<String>,
    notifier: Notifier,
    fifo: FifoWriter,
    mailer: Option<Mailer>,
    status: Option<StatusServer>,
    metrics: Option<Metrics>,
    opts: OperatorOptions,
}

impl Operator {
    /// Set everything up from the configuration. Failures (a socket that cannot be bound, a FIFO
    /// that cannot be created, a refused script) are logged and leave that part out: none of
    /// them is a reason not to run VRRP.
    pub fn new(cfg: &Config, opts: OperatorOptions) -> Operator {
        let configured_router_id = cfg.global.router_id.clone();
        if configured_router_id.is_none() {
            // Start the look-up now, so that the status output rarely waits for it.
            let _ = local_name::local_name();
        }
        let (notifier, _refused) = Notifier::new(cfg, opts.notify_timeout);
        if !cfg.global.enable_script_security
            && !privilege::all_scripts(cfg).is_empty()
            && user::default_script_user(&cfg.global).is_ok_and(|(c, _)| c.uid == 0)
        {
            warn!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled"
            );
        }
        let status = opts
            .status_socket
            .as_deref()
            .and_then(|p| match StatusServer::bind(p) {
                Ok(s) => {
                    info!("status socket {}", p.display());
                    Some(s)
                }
                Err(e) => {
                    warn!("no status socket at {}: {e}", p.display());
                    None
                }
            });
        let metrics = opts
            .metrics_file
            .as_deref()
            .map(|p| Metrics::new(p, opts.metrics_interval));
        Operator {
            configured_router_id,
            notifier,
            fifo: FifoWriter::new(cfg),
            mailer: Mailer::new(cfg),
            status,
            metrics,
            opts,
        }
    }

    /// `router_id`, or the local name, or `[unknown]` while it has not resolved (asked at each
    /// use, so that a late answer of the resolver is taken: [`local_name`]).
    pub fn router_id(&self) -> &str {
        local_name::router_id(self.configured_router_id.as_deref())
    }

    /// Hand over one engine action (call it before carrying the action out, for every action).
    pub fn on_action(&mut self, engine: &Engine, action: &Action) {
        match action {
            Action::StateChange { .. }
            | Action::GroupStateChange { .. }
            | Action::PriorityChange { .. }
            | Action::LowerPriorityHeard { .. } => {}
            _ => return,
        }
        self.notifier.on_action(engine, action);
        self.fifo.on_action(engine, action);
        if let Some(m) = &mut self.mailer {
            m.on_action(engine, action);
        }
        if let Some(m) = &mut self.metrics {
            m.on_action(engine, action);
        }
    }

    /// Take a reloaded configuration (SIGHUP), after [`Operator::on_deleted`] for the instances
    /// it removes: notify programs, FIFOs and e-mail settings are those of `cfg` from now on;
    /// queued notifications still run in order; the control socket and the metrics file stay.
    pub fn reload(&mut self, cfg: &Config) {
        let _refused = self.notifier.reload(cfg);
        let fifo = std::mem::replace(&mut self.fifo, FifoWriter::new_empty());
        self.fifo = fifo.reload(cfg);
        let fresh = Mailer::new(cfg);
        if let Some(old) = std::mem::replace(&mut self.mailer, fresh) {
            // The old worker finishes what it has queued on its own; nothing waits for it.
            old.shutdown(Duration::ZERO);
        }
        self.configured_router_id = cfg.global.router_id.clone();
    }

    /// An instance removed by a reload (call it before [`Operator::reload`], while its
    /// programs are still known): `notify_deleted` / `DELETED` when configured, keepalived's
    /// `FAULT` otherwise, on the notify programs and the FIFOs.
    pub fn on_deleted(&mut self, name: &str, priority: u8) {
        let notice = self.notifier.deleted(name, priority);
        self.fifo.deleted(name, notice, priority);
    }

    /// The control socket's descriptor, for epoll (readable: a client to accept).
    pub fn status_fd(&self) -> Option<RawFd> {
        self.status.as_ref().map(StatusServer::raw_fd)
    }

    /// The control socket is readable: answer the clients.
    pub fn on_status_readable(&mut self, engine: &Engine) {
        let router_id = local_name::router_id(self.configured_router_id.as_deref());
        if let Some(s) = &mut self.status {
            s.on_readable(engine, router_id);
        }
    }

    /// SIGUSR1 (data file) or SIGUSR2 (stats file); returns whether the signal was one of
    /// those.
    pub fn on_signal(&mut self, sig: i32, engine: &Engine) -> bool {
        let (path, r) = match sig {
            libc::SIGUSR1 => (
                &self.opts.data_file,
                status::write_data_file(&self.opts.data_file, engine, self.router_id()),
            ),
            libc::SIGUSR2 => (
                &self.opts.stats_file,
                status::write_stats_file(&self.opts.stats_file, engine),
            ),
            _ => return false,
        };
        match r {
            Ok(()) => info!("wrote {}", path.display()),
            Err(e) => warn!("cannot write {}: {e}", path.display()),
        }
        true
    }

    /// The next time [`Operator::on_wakeup`] has work (the metrics interval).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.metrics.as_ref().and_then(Metrics::next_deadline)
    }

    /// Once per event-loop turn: write the metrics file when it changed or is due.
    pub fn on_wakeup(&mut self, now: Instant, engine: &Engine) {
        if let Some(m) = &mut self.metrics {
            if let Err(e) = m.maybe_write(now, engine) {
                warn!("cannot write metrics: {e}");
            }
        }
    }

    /// Graceful stop, after the engine's shutdown actions were handed over: wait at most
    /// `grace` for the queued notify programs (`notify_stop`) and e-mails, stop the FIFO
    /// scripts, remove the socket.
    pub fn shutdown(self, grace: Duration) {
        let busy = self.notifier.shutdown(grace);
        if busy > 0 {
            warn!("{busy} notify queue(s) still busy at exit");
        }
        if let Some(m) = self.mailer {
            m.shutdown(grace);
        }
        self.fifo.shutdown();
        if let Some(s) = self.status {
            s.shutdown();
        }
    }
}
