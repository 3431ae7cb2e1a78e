// Long: the checker runner's one type (start, poll, results, notify, status); the probes are in sibling files.
//! vigild's runner of the health-checker engine ([`vigil_engine::checker`]): it starts the checks
//! the engine asks for without blocking (sockets and pidfds in an epoll of its own, whose
//! descriptor sits in the daemon's one event loop), feeds their results back, runs the
//! notification programs, logs, and keeps the real-server table for `vigild status`. It decides
//! nothing: retries, states, weights, quorum and the schedule are the engine's.
//!
//! Implemented here: TCP_CHECK, HTTP_GET (status codes, MD5 digest; several URLs are checked in
//! turn within one run), MISC_CHECK (process group killed when abandoned), SMTP_CHECK, DNS_CHECK,
//! UDP_CHECK, PING_CHECK and SSL_GET (rustls; see `tls.rs` for keepalived's `SSL` block). FILE_CHECK values come from the daemon's track-file watcher (inotify).

// `unsafe` is allowed only in these two (each says why) and in the test helper `drive_to_end`.
#[allow(unsafe_code)] // recv(2) of UDP_CHECK / DNS_CHECK / PING_CHECK replies
mod datagram;
mod metrics;
mod misc;
mod net;
#[allow(unsafe_code)] // epoll(7): the checkers' own epoll instance
mod poller;
mod smtp;
pub mod status_json;
mod subsystems;
mod tls;

pub use subsystems::Subsystems;

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::process::Child;

use tracing::{debug, error, info, warn};
use vigil_engine::checker::{
    CheckAction, CheckId, CheckInput, CheckOutcome, CheckerEngine, CheckerSetup, Notify, Server,
    TableChange, VsId,
};
use vigil_engine::conf::{self, CheckKind, Script};
use vigil_engine::Instant;

use crate::operator::fifo::FifoWriter;
use crate::operator::program::{self, Program};
use crate::operator::user;
use datagram::{DnsJob, PingJob, UdpJob, UdpSpec};
use misc::MiscJob;
use net::{HttpSpec, NetJob, Step};
use poller::Poller;
use smtp::SmtpJob;
use tls::{TlsConfigs, TlsJob};

/// A network check in progress: a socket that the runner watches and advances.
pub(crate) trait Probe {
    /// The socket to watch.
    fn fd(&self) -> RawFd;
    /// Wait first for writability (a TCP connection) or readability (a datagram's answer).
    fn first_wait(&self) -> bool;
    /// The socket is ready: advance, or finish with the outcome.
    fn on_ready(&mut self) -> Step;
}

/// Tests: drive a probe to its outcome by polling its socket (the runner uses epoll).
#[cfg(test)]
#[allow(unsafe_code)] // poll(2) on the probe's socket, as epoll would in the runner
pub(crate) fn drive_to_end(job: &mut dyn Probe) -> CheckOutcome {
    let mut out = job.first_wait();
    for _ in 0..1000 {
        let mut p = libc::pollfd {
            fd: job.fd(),
            events: if out { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        unsafe { libc::poll(&mut p, 1, 2000) };
        match job.on_ready() {
            Step::Done(o) => return o,
            Step::Wait(w) => out = w,
        }
    }
    panic!("probe never finished");
}

/// The poller token of the data plane's nftables watch (checker tokens are u32).
const DATAPLANE_TOKEN: u64 = u64::MAX;

enum Job {
    Net(Box<dyn Probe>),
    Misc(MiscJob),
}

/// Where a checker points, for logs: `[198.51.100.1]:tcp:80`-like names.
fn server_name(addr: std::net::IpAddr, port: u16) -> String {
    match addr {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The checker runner. See the module documentation.
pub struct CheckerRunner {
    engine: CheckerEngine,
    cfg: conf::Config,
    /// (virtual server, real server, checker) of each [`CheckId`].
    checkers: Vec<(usize, usize, conf::Checker)>,
    /// MISC_CHECK programs, vetted once: `Err` is why the program may not run.
    programs: HashMap<u32, Result<Program, String>>,
    /// Runs in progress: run number, the job, whether it waits for writability.
    jobs: HashMap<u32, (u64, Job, bool)>,
    poller: Poller,
    reaping: Vec<Child>,
    notifying: Vec<Child>,
    status_file: Option<PathBuf>,
    default_creds: Option<user::Credentials>,
    stopping: bool,
    /// SSL_GET's TLS configurations (`Err`: why they cannot be built; every SSL_GET run fails).
    tls: Option<Result<TlsConfigs, String>>,
    /// `notify_fifo` and `lvs_notify_fifo`: `VS ... UP|DOWN` and `RS ... UP|DOWN` lines.
    fifo: Option<FifoWriter>,
    /// Results came in since the status file was written (counters, last outcome): it is
    /// rewritten at once on a state change, else at most once a second.
    status_dirty: bool,
    status_written: Instant,
    /// The Prometheus textfile of the checkers (beside vigild's `--metrics-file`).
    metrics_file: Option<PathBuf>,
    /// The load-balancer data plane that applies the table (issue 17; src/dataplane/).
    dataplane: crate::dataplane::DataPlane,
    /// A reload in progress: the new configuration, switched to at the engine's
    /// [`CheckAction::Reloaded`].
    reloading: Option<(conf::Config, Prepared)>,
}

/// What the runner derives from a configuration: its checkers in the engine's numbering, the
/// MISC_CHECK programs vetted, the TLS setup of SSL_GET.
struct Prepared {
    checkers: Vec<(usize, usize, conf::Checker)>,
    programs: HashMap<u32, Result<Program, String>>,
    default_creds: Option<user::Credentials>,
    tls: Option<Result<TlsConfigs, String>>,
}

impl Prepared {
    fn new(cfg: &conf::Config) -> Prepared {
        let mut checkers = Vec::new();
        for (v, vs) in cfg.checkers.virtual_servers.iter().enumerate() {
            for (r, rs) in vs.real_servers.iter().enumerate() {
                for c in &rs.checkers {
                    checkers.push((v, r, c.clone()));
                }
            }
        }
        let default_creds = user::default_script_user(&cfg.global).map(|(c, _)| c).ok();
        let security = cfg.global.enable_script_security;
        let mut programs = HashMap::new();
        for (i, (_, _, c)) in checkers.iter().enumerate() {
            if let CheckKind::Misc { script, .. } = &c.kind {
                let p = match &default_creds {
                    Some(d) => program::vetted(script, d, security).map(|(p, w)| {
                        if let Some(w) = w {
                            warn!("MISC_CHECK {}: {w}", script.command);
                        }
                        p
                    }),
                    None => Err("no user to run it as".to_string()),
                };
                if let Err(why) = &p {
                    error!(
                        "MISC_CHECK {} ({}): {why}; every run counts as a failure",
                        script.command, c.loc
                    );
                }
                programs.insert(i as u32, p);
            }
        }
        let tls = checkers
            .iter()
            .any(|(_, _, c)| matches!(c.kind, CheckKind::Http { tls: true, .. }))
            .then(|| {
                let r = TlsConfigs::new(cfg.checkers.ssl.as_ref());
                if let Err(e) = &r {
                    error!("SSL_GET: {e}; every SSL_GET run counts as a failure");
                }
                r
            });
        Prepared {
            checkers,
            programs,
            default_creds,
            tls,
        }
    }
}

impl CheckerRunner {
    /// A runner for the virtual servers of `cfg`; `None` when there are none.
    pub fn new(cfg: &conf::Config, pid_file: Option<&Path>) -> io::Result<Option<CheckerRunner>> {
        if cfg.checkers.virtual_servers.is_empty() {
            return Ok(None);
        }
        let setup = CheckerSetup::from_conf(cfg);
        let p = Prepared::new(cfg);
        let status_file = pid_file.map(status_path_for_pid_file);
        let dataplane = crate::dataplane::DataPlane::new(cfg)?;
        let poller = Poller::new()?;
        if let Some(fd) = dataplane.watch_fd() {
            poller.add(fd, false, DATAPLANE_TOKEN)?;
        }
        Ok(Some(CheckerRunner {
            engine: CheckerEngine::new(setup),
            cfg: cfg.clone(),
            checkers: p.checkers,
            programs: p.programs,
            jobs: HashMap::new(),
            poller,
            reaping: Vec::new(),
            notifying: Vec::new(),
            status_file,
            default_creds: p.default_creds,
            stopping: false,
            tls: p.tls,
            fifo: checker_fifos(cfg),
            status_dirty: false,
            status_written: Instant::ZERO,
            metrics_file: None,
            dataplane,
            reloading: None,
        }))
    }

    /// A reloaded configuration (SIGHUP), diffed by the engine (see
    /// `vigil_engine::checker::reload`): unchanged virtual servers, real servers and checkers
    /// keep their state, schedule and runs in progress; added ones start; removed ones leave
    /// the table (with their `notify_down` / `quorum_down` as keepalived); changed checkers
    /// restart. The FIFOs (`notify_fifo`, `lvs_notify_fifo`) stay those of the start.
    pub fn reload(&mut self, now: Instant, cfg: &conf::Config) {
        if cfg.checkers.virtual_servers == self.cfg.checkers.virtual_servers
            && cfg.checkers.groups == self.cfg.checkers.groups
        {
            info!("reload: health checkers unchanged, state and schedule kept");
        } else {
            info!("reload: applying the changed virtual servers and checkers");
        }
        let setup = CheckerSetup::from_conf(cfg);
        self.reloading = Some((cfg.clone(), Prepared::new(cfg)));
        self.engine
            .handle_input(now, CheckInput::Reload(Box::new(setup)));
        self.drain(now);
        // A stopped engine ignores a reload (no Reloaded): the new configuration is dropped,
        // so the numbers stay the engine's.
        if self.reloading.take().is_some() {
            warn!("reload: the health checkers are stopping; the new configuration is not applied");
        }
        // The table is rebuilt from the engine's state (what a reload must leave in the kernel).
        self.dataplane.rebuild();
        self.write_status(now);
    }

    /// The engine's [`CheckAction::Reloaded`]: from here on numbers are the new
    /// configuration's. Runs in progress of kept checkers continue under their new numbers.
    fn switch(&mut self, map: &[Option<CheckId>]) {
        let Some((cfg, p)) = self.reloading.take() else {
            return;
        };
        let old = std::mem::take(&mut self.jobs);
        for (id, (run, job, out)) in old {
            match map.get(id as usize).copied().flatten() {
                Some(n) => {
                    let fd = match &job {
                        Job::Net(j) => j.fd(),
                        Job::Misc(m) => m.fd(),
                    };
                    if let Err(e) = self.poller.modify(fd, out, u64::from(n.0)) {
                        error!("checker epoll: {e}");
                    }
                    self.jobs.insert(n.0, (run, job, out));
                }
                None => match job {
                    Job::Misc(m) => {
                        self.poller.delete(m.fd());
                        self.reaping.push(m.kill());
                    }
                    j => self.forget(j),
                },
            }
        }
        // The engine has already renumbered its state: the data plane takes the new virtual
        // servers with their tables as the engine holds them (the table changes that follow in
        // this drain assign the same values again).
        let engine = &self.engine;
        self.dataplane.reconfigure(
            &cfg,
            |v, r| {
                engine
                    .real_server(VsId(v as u32), r as u32)
                    .and_then(|s| s.table)
            },
            |v| engine.sorry_table(VsId(v as u32)),
        );
        self.cfg = cfg;
        self.checkers = p.checkers;
        self.programs = p.programs;
        self.default_creds = p.default_creds;
        if p.tls.is_some() {
            self.tls = p.tls;
        }
        info!(
            "health checkers: {} virtual server(s), {} checker(s)",
            self.cfg.checkers.virtual_servers.len(),
            self.checkers.len()
        );
    }

    /// Keep the checkers' metrics beside vigild's `--metrics-file` (see `metrics.rs`).
    pub fn set_metrics_file(&mut self, vigild_metrics_file: Option<&Path>) {
        self.metrics_file = vigild_metrics_file.map(metrics::path_beside);
    }

    /// The descriptor the daemon watches (readable when a check has progressed).
    pub fn raw_fd(&self) -> RawFd {
        self.poller.raw_fd()
    }

    /// Start checking.
    pub fn start(&mut self, now: Instant) {
        info!(
            "health checkers: {} virtual server(s), {} checker(s)",
            self.cfg.checkers.virtual_servers.len(),
            self.checkers.len()
        );
        self.engine.handle_input(now, CheckInput::Start);
        self.drain(now);
    }

    /// The engine's next deadline.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.engine.poll_timeout()
    }

    /// Serve what is ready and what is due.
    pub fn on_wake(&mut self, now: Instant) {
        let mut ready = Vec::new();
        if let Err(e) = self.poller.ready(&mut ready) {
            error!("checker epoll: {e}");
        }
        for token in ready {
            if token == DATAPLANE_TOKEN {
                self.dataplane.on_watch();
                continue;
            }
            self.on_ready(now, token as u32);
        }
        if self.engine.poll_timeout().is_some_and(|d| d <= now) {
            self.engine.handle_timeout(now);
            self.drain(now);
        }
        if self.status_dirty && now >= self.status_written + std::time::Duration::from_secs(1) {
            self.write_status(now);
        }
        self.reaping
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        self.notifying
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
    }

    /// Track file number `idx` (its place among the configuration's `track_file` blocks, the
    /// daemon's watcher's numbering) has a new value.
    pub fn feed_track_file_index(&mut self, now: Instant, idx: usize, value: i64) {
        if let Some(name) = self.cfg.track_files.get(idx).map(|f| f.name.clone()) {
            self.feed_track_file(now, &name, value);
        }
    }

    /// A FILE_CHECK's track file has a new value.
    pub fn feed_track_file(&mut self, now: Instant, name: &str, value: i64) {
        self.engine.handle_input(
            now,
            CheckInput::TrackFile {
                name: name.to_string(),
                value,
            },
        );
        self.drain(now);
    }

    /// Stop: abandon running checks, empty the table (and with `omega` run the down scripts).
    pub fn shutdown(&mut self, now: Instant) {
        self.stopping = true;
        self.engine.handle_input(now, CheckInput::Shutdown);
        self.drain(now);
        self.dataplane.stop();
        for mut c in self.reaping.drain(..) {
            let _ = c.wait();
        }
        if let Some(f) = self.fifo.take() {
            f.shutdown();
        }
        for p in [&self.status_file, &self.metrics_file]
            .into_iter()
            .flatten()
        {
            let _ = std::fs::remove_file(p);
        }
        if let Some(p) = &self.status_file {
            let _ = std::fs::remove_file(json_path(p));
        }
    }

    fn on_ready(&mut self, now: Instant, id: u32) {
        let Some((run, job, waits_out)) = self.jobs.get_mut(&id) else {
            return;
        };
        let run = *run;
        let outcome = match job {
            Job::Net(j) => match j.on_ready() {
                Step::Done(o) => Some(o),
                Step::Wait(out) => {
                    *waits_out = out;
                    let fd = j.fd();
                    // A new socket (next URL) must be added; a kept one modified.
                    if self.poller.modify(fd, out, u64::from(id)).is_err() {
                        let _ = self.poller.add(fd, out, u64::from(id));
                    }
                    None
                }
            },
            Job::Misc(m) => m.on_ready(),
        };
        if let Some(outcome) = outcome {
            if let Some((_, job, _)) = self.jobs.remove(&id) {
                self.forget(job);
            }
            self.result(now, id, run, outcome);
        }
    }

    fn forget(&mut self, job: Job) {
        match job {
            Job::Net(j) => self.poller.delete(j.fd()),
            Job::Misc(m) => self.poller.delete(m.fd()),
        }
    }

    fn result(&mut self, now: Instant, id: u32, run: u64, outcome: CheckOutcome) {
        self.status_dirty = true;
        debug!(
            checker = ?self.checker_name(id),
            run,
            at_ns = now.as_nanos(),
            outcome = ?outcome,
            "check result"
        );
        // keepalived.conf(5) `log_all_failures` / `checker_log_all_failures`: every failed run
        // is logged, not only the ones that change the checker's state.
        if let Some((_, _, c)) = self.checkers.get(id as usize) {
            let failed = match &outcome {
                CheckOutcome::Success | CheckOutcome::Exit(0) => None,
                CheckOutcome::Exit(code) => {
                    (!matches!(c.kind, CheckKind::Misc { dynamic: true, .. }) || *code == 1)
                        .then(|| format!("exited with status {code}"))
                }
                CheckOutcome::Failure(w) => Some(w.clone()),
            };
            if let (true, Some(w)) = (c.log_all_failures, failed) {
                info!("{}: check failed: {w}", self.checker_name(id));
            }
        }
        self.engine.handle_input(
            now,
            CheckInput::Result {
                id: CheckId(id),
                run,
                outcome,
            },
        );
        self.drain(now);
    }

    fn checker_name(&self, id: u32) -> String {
        let Some((v, r, c)) = self.checkers.get(id as usize) else {
            return format!("checker {id}");
        };
        let vs = &self.cfg.checkers.virtual_servers[*v];
        let rs = &vs.real_servers[*r];
        format!(
            "{} of {} (VS {})",
            c.kind.keyword(),
            server_name(rs.addr, rs.port),
            vs.key
        )
    }

    fn real_name(&self, vs: VsId, rs: u32) -> String {
        let v = &self.cfg.checkers.virtual_servers[vs.0 as usize];
        let r = &v.real_servers[rs as usize];
        format!("{} of VS {}", server_name(r.addr, r.port), v.key)
    }

    fn drain(&mut self, now: Instant) {
        let mut changed = false;
        while let Some(a) = self.engine.poll_action() {
            changed |= !matches!(a, CheckAction::RunCheck { .. });
            self.act(now, a);
        }
        if changed {
            // One transaction for every table change of this event.
            self.dataplane.commit();
            self.write_status(now);
        }
    }

    fn act(&mut self, now: Instant, a: CheckAction) {
        match a {
            CheckAction::RunCheck {
                id,
                run,
                deadline,
                scheduled,
                retry,
            } => {
                // The engine's schedule beside when it was served (`now`): a test judges the
                // schedule exactly from these and the lateness apart (tests/tests/checkers_netns.rs).
                debug!(
                    checker = ?self.checker_name(id.0),
                    run,
                    retry,
                    scheduled_ns = scheduled.as_nanos(),
                    started_ns = now.as_nanos(),
                    deadline_ns = deadline.as_nanos(),
                    late_ms = now.saturating_duration_since(scheduled).as_millis() as u64,
                    "check run"
                );
                self.run_check(now, id.0, run)
            }
            CheckAction::AbandonCheck { id, run } => {
                // The engine ends the run at this instant (a failure, or a UDP_CHECK's pass).
                debug!(
                    checker = ?self.checker_name(id.0),
                    run,
                    at_ns = now.as_nanos(),
                    "check abandoned"
                );
                if let Some((r, job, out)) = self.jobs.remove(&id.0) {
                    if r == run {
                        let silent_ok = self
                            .engine
                            .setup()
                            .checkers
                            .get(id.0 as usize)
                            .is_some_and(|c| c.silence_passes());
                        if self.stopping {
                            info!("{}: stopped (shutdown)", self.checker_name(id.0));
                        } else if silent_ok {
                            debug!("{}: no ICMP error by the deadline", self.checker_name(id.0));
                        } else if self
                            .checkers
                            .get(id.0 as usize)
                            .is_some_and(|c| c.2.log_all_failures)
                        {
                            warn!("{}: timed out, abandoned", self.checker_name(id.0));
                        } else {
                            // The state change (if any) is logged with its reason.
                            debug!("{}: timed out, abandoned", self.checker_name(id.0));
                        }
                        match job {
                            Job::Misc(m) => {
                                self.poller.delete(m.fd());
                                self.reaping.push(m.kill());
                            }
                            j => self.forget(j),
                        }
                    } else {
                        self.jobs.insert(id.0, (r, job, out));
                    }
                }
            }
            CheckAction::CheckerState { id, up, why } => info!(
                "{}: {} ({why})",
                self.checker_name(id.0),
                if up { "UP" } else { "DOWN" }
            ),
            CheckAction::RealServerState { vs, rs, up } => info!(
                "real server {}: {}",
                self.real_name(vs, rs),
                if up { "UP" } else { "DOWN" }
            ),
            CheckAction::SetServer {
                vs,
                server,
                change,
                reason,
            } => {
                self.dataplane.set_server(vs, server, change);
                let v = &self.cfg.checkers.virtual_servers[vs.0 as usize];
                let who = match server {
                    Server::Real(r) => format!("real server {}", self.real_name(vs, r)),
                    Server::Sorry => match &v.sorry_server {
                        Some(s) => format!(
                            "sorry server {} of VS {}",
                            server_name(s.addr, s.port),
                            v.key
                        ),
                        None => "sorry server".into(),
                    },
                };
                let what = match change {
                    TableChange::Add(w) => format!("adding {who} with weight {w}"),
                    TableChange::Weight(w) => format!("setting {who} to weight {w}"),
                    TableChange::Remove => format!("removing {who}"),
                };
                info!("table: {what} ({reason})");
            }
            CheckAction::QuorumState {
                vs,
                up,
                weight_sum,
                threshold,
            } => {
                let v = &self.cfg.checkers.virtual_servers[vs.0 as usize];
                if up {
                    info!(
                        "VS {}: gained quorum {}+{}={threshold} <= {weight_sum}",
                        v.key, v.quorum, v.hysteresis
                    );
                } else {
                    info!(
                        "VS {}: lost quorum {}-{}={threshold} > {weight_sum}",
                        v.key, v.quorum, v.hysteresis
                    );
                }
            }
            CheckAction::Notify(n) => self.notify(n),
            CheckAction::Reloaded { checkers, .. } => self.switch(&checkers),
        }
    }

    fn run_check(&mut self, now: Instant, id: u32, run: u64) {
        let Some((v, r, c)) = self.checkers.get(id as usize) else {
            return;
        };
        let started: Result<Job, CheckOutcome> = match &c.kind {
            CheckKind::Tcp => match &c.conn {
                Some(conn) => NetJob::start(conn, None).map(|j| Job::Net(Box::new(j))),
                None => Err(CheckOutcome::Failure("no destination".into())),
            },
            CheckKind::Smtp { helo_name } => match &c.conn {
                Some(conn) => SmtpJob::start(conn, helo_name).map(|j| Job::Net(Box::new(j))),
                None => Err(CheckOutcome::Failure("no destination".into())),
            },
            CheckKind::Dns { qtype, name } => match &c.conn {
                Some(conn) => {
                    DnsJob::start(conn, *qtype, name, run as u16).map(|j| Job::Net(Box::new(j)))
                }
                None => Err(CheckOutcome::Failure("no destination".into())),
            },
            CheckKind::Udp {
                payload,
                require_reply,
                min_reply_length,
                max_reply_length,
            } => match &c.conn {
                Some(conn) => {
                    let spec = UdpSpec {
                        // keepalived sends random bytes when no payload is given; these vary
                        // with the run.
                        payload: payload
                            .clone()
                            .unwrap_or_else(|| run.to_be_bytes().to_vec()),
                        require_reply: require_reply.clone(),
                        min_len: *min_reply_length,
                        max_len: *max_reply_length,
                    };
                    UdpJob::start(conn, spec).map(|j| Job::Net(Box::new(j)))
                }
                None => Err(CheckOutcome::Failure("no destination".into())),
            },
            CheckKind::Ping => match &c.conn {
                Some(conn) => {
                    let ident = (std::process::id() as u16) ^ (id as u16);
                    PingJob::start(conn, ident, run as u16).map(|j| Job::Net(Box::new(j)))
                }
                None => Err(CheckOutcome::Failure("no destination".into())),
            },
            CheckKind::Http {
                tls,
                urls,
                virtualhost,
                protocol,
                enable_sni,
                ..
            } => {
                let vs = &self.cfg.checkers.virtual_servers[*v];
                let vhost = virtualhost
                    .clone()
                    .or_else(|| vs.real_servers[*r].virtualhost.clone())
                    .or_else(|| vs.virtualhost.clone());
                let spec = HttpSpec {
                    urls: urls.clone(),
                    virtualhost: vhost,
                    protocol: *protocol,
                };
                match (&c.conn, tls, &self.tls) {
                    (None, _, _) => Err(CheckOutcome::Failure("no destination".into())),
                    (Some(conn), false, _) => {
                        NetJob::start(conn, Some(spec)).map(|j| Job::Net(Box::new(j)))
                    }
                    (Some(conn), true, Some(Ok(cfgs))) => {
                        TlsJob::start(conn, cfgs, spec, *enable_sni).map(|j| Job::Net(Box::new(j)))
                    }
                    (Some(_), true, Some(Err(e))) => {
                        Err(CheckOutcome::Failure(format!("not run: {e}")))
                    }
                    (Some(_), true, None) => Err(CheckOutcome::Failure("no TLS setup".into())),
                }
            }
            CheckKind::Misc { .. } => match self.programs.get(&id) {
                Some(Ok(p)) => MiscJob::start(p).map(Job::Misc),
                Some(Err(why)) => Err(CheckOutcome::Failure(format!("not run: {why}"))),
                None => Err(CheckOutcome::Failure("not run: no program".into())),
            },
            other => Err(CheckOutcome::Failure(format!(
                "{} is not implemented in vigild yet",
                other.keyword()
            ))),
        };
        match started {
            Ok(job) => {
                let (fd, out) = match &job {
                    Job::Net(j) => (j.fd(), j.first_wait()),
                    Job::Misc(m) => (m.fd(), false),
                };
                if let Err(e) = self.poller.add(fd, out, u64::from(id)) {
                    error!("{}: cannot watch: {e}", self.checker_name(id));
                }
                self.jobs.insert(id, (run, job, out));
            }
            Err(outcome) => self.result(now, id, run, outcome),
        }
    }

    /// keepalived's name of a virtual server in FIFO lines and logs: `[ADDR]:PROTO:PORT`,
    /// `FWM N`, or `[GROUP]:N` (N: its place among the group's virtual servers).
    fn fmt_vs(&self, v: usize) -> String {
        let vss = &self.cfg.checkers.virtual_servers;
        let vs = &vss[v];
        match &vs.key {
            conf::ServiceKey::Addr { addr, port } => trio(*addr, vs.protocol, *port),
            conf::ServiceKey::Fwmark(m) => format!("FWM {m}"),
            conf::ServiceKey::Group(g) => {
                let n = vss[..v]
                    .iter()
                    .filter(|o| matches!(&o.key, conf::ServiceKey::Group(x) if x == g))
                    .count();
                format!("[{g}]:{n}")
            }
        }
    }

    /// keepalived's name of a real server: `[ADDR]:PROTO:PORT`.
    fn fmt_rs(&self, v: usize, r: usize) -> String {
        let vs = &self.cfg.checkers.virtual_servers[v];
        let rs = &vs.real_servers[r];
        trio(rs.addr, vs.protocol, rs.port)
    }

    fn fifo_line(&mut self, n: Notify) {
        let line = match n {
            Notify::RealServerUp(v, r) | Notify::RealServerDown(v, r) => format!(
                "RS {} {} {}\n",
                self.fmt_rs(v.0 as usize, r as usize),
                self.fmt_vs(v.0 as usize),
                if matches!(n, Notify::RealServerUp(..)) {
                    "UP"
                } else {
                    "DOWN"
                }
            ),
            Notify::QuorumUp(v) | Notify::QuorumDown(v) => format!(
                "VS {} {}\n",
                self.fmt_vs(v.0 as usize),
                if matches!(n, Notify::QuorumUp(_)) {
                    "UP"
                } else {
                    "DOWN"
                }
            ),
        };
        if let Some(f) = self.fifo.as_mut() {
            f.write(&line);
        }
    }

    fn notify(&mut self, n: Notify) {
        self.fifo_line(n);
        let vss = &self.cfg.checkers.virtual_servers;
        let (script, what): (Option<&Script>, String) = match n {
            Notify::RealServerUp(v, r) => (
                vss[v.0 as usize].real_servers[r as usize]
                    .notify_up
                    .as_ref(),
                format!("notify_up of {}", self.real_name(v, r)),
            ),
            Notify::RealServerDown(v, r) => (
                vss[v.0 as usize].real_servers[r as usize]
                    .notify_down
                    .as_ref(),
                format!("notify_down of {}", self.real_name(v, r)),
            ),
            Notify::QuorumUp(v) => (
                vss[v.0 as usize].quorum_up.as_ref(),
                format!("quorum_up of VS {}", vss[v.0 as usize].key),
            ),
            Notify::QuorumDown(v) => (
                vss[v.0 as usize].quorum_down.as_ref(),
                format!("quorum_down of VS {}", vss[v.0 as usize].key),
            ),
        };
        let Some(script) = script else {
            return;
        };
        let Some(creds) = &self.default_creds else {
            warn!("{what}: no user to run it as");
            return;
        };
        match program::vetted(script, creds, self.cfg.global.enable_script_security) {
            Ok((p, _)) => match p.spawn(&[]) {
                Ok(child) => {
                    info!("running {what}: {}", script.command);
                    self.notifying.push(child);
                }
                Err(e) => warn!("{what}: cannot start {}: {e}", script.command),
            },
            Err(why) => warn!("{what}: {} refused: {why}", script.command),
        }
    }

    /// The real-server table as text (for `vigild status`).
    pub fn status_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for (v, vs) in self.cfg.checkers.virtual_servers.iter().enumerate() {
            let vid = VsId(v as u32);
            let (quorum, sorry) = self.engine.quorum(vid).unwrap_or((false, false));
            let _ = writeln!(
                s,
                "Virtual server {}: quorum {} ({}{}), sorry server {}",
                vs.key,
                if quorum { "up" } else { "down" },
                vs.quorum,
                if vs.hysteresis > 0 {
                    format!(" +/-{}", vs.hysteresis)
                } else {
                    String::new()
                },
                match (&vs.sorry_server, sorry) {
                    (None, _) => "none".to_string(),
                    (Some(s), true) => format!("{} IN USE", server_name(s.addr, s.port)),
                    (Some(s), false) => format!("{} standby", server_name(s.addr, s.port)),
                }
            );
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let Some(view) = self.engine.real_server(vid, r as u32) else {
                    continue;
                };
                let _ = writeln!(
                    s,
                    "  Real server {}: {} weight {} table {}",
                    server_name(rs.addr, rs.port),
                    if view.alive { "UP" } else { "DOWN" },
                    view.weight,
                    match view.table {
                        Some(w) => format!("weight {w}"),
                        None => "absent".into(),
                    }
                );
                for (i, (cv, cr, c)) in self.checkers.iter().enumerate() {
                    if *cv != v || *cr != r {
                        continue;
                    }
                    if let Some(k) = self.engine.checker(CheckId(i as u32)) {
                        let _ = writeln!(
                            s,
                            "    {} {}: runs {} failures {} last {}",
                            c.kind.keyword(),
                            if k.up { "up" } else { "down" },
                            k.runs,
                            k.failures,
                            k.last.as_deref().unwrap_or("-")
                        );
                    }
                }
            }
        }
        s
    }

    fn write_status(&mut self, now: Instant) {
        self.status_dirty = false;
        self.status_written = now;
        if let Some(p) = &self.metrics_file {
            let text = metrics::render(&self.engine, &self.cfg, &self.checkers);
            if let Err(e) = crate::operator::status::write_atomic(p, text.as_bytes(), 0o644) {
                debug!("cannot write {}: {e}", p.display());
            }
        }
        if let Some(p) = &self.status_file {
            let text = self.status_text();
            if let Err(e) = crate::operator::status::write_atomic(p, text.as_bytes(), 0o644) {
                debug!("cannot write {}: {e}", p.display());
            }
            let vss = status_json::collect(&self.engine, &self.cfg, &self.checkers);
            let json = serde_json::to_string(&vss).unwrap_or_else(|_| "[]".into());
            let jp = json_path(p);
            if let Err(e) = crate::operator::status::write_atomic(&jp, json.as_bytes(), 0o644) {
                debug!("cannot write {}: {e}", jp.display());
            }
        }
    }
}

/// `[ADDR]:PROTO:PORT`, keepalived's `inet_sockaddrtotrio`.
fn trio(addr: std::net::IpAddr, proto: Option<conf::Protocol>, port: u16) -> String {
    let p = match proto {
        Some(conf::Protocol::Tcp) => "tcp",
        Some(conf::Protocol::Udp) => "udp",
        Some(conf::Protocol::Sctp) => "sctp",
        None => "none",
    };
    format!("[{addr}]:{p}:{port}")
}

/// The FIFOs the checker process of keepalived writes to: `notify_fifo` (its script is the
/// VRRP side's to start: it is not started twice) and `lvs_notify_fifo` with its script.
fn checker_fifos(cfg: &conf::Config) -> Option<FifoWriter> {
    let g = &cfg.global;
    if g.notify_fifo.is_none() && g.checker.lvs_notify_fifo.is_none() {
        return None;
    }
    let mut c = cfg.clone();
    c.global.notify_fifo = g.notify_fifo.clone().map(|mut f| {
        f.script = None;
        f
    });
    c.global.vrrp_notify_fifo = g
        .checker
        .lvs_notify_fifo
        .clone()
        .filter(|f| !f.path.is_empty());
    let w = FifoWriter::new(&c);
    (!w.is_empty()).then_some(w)
}

/// The JSON beside the text table (`PID.checkers` -> `PID.checkers.json`).
fn json_path(status_file: &Path) -> PathBuf {
    let mut s = status_file.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// Where the runner keeps its table for `vigild status`: beside the pid file.
pub fn status_path_for_pid_file(pid_file: &Path) -> PathBuf {
    let mut s = pid_file.as_os_str().to_owned();
    s.push(".checkers");
    PathBuf::from(s)
}
