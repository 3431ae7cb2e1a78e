//! Check programs (`vrrp_script`): run on their interval as child processes, results fed to the
//! engine as [`vigil_engine::Input::Check`]. The engine applies rise / fall, weights and the
//! "a run longer than its timeout is a failure" rule; this module only runs processes.
//!
//! - Each run is scheduled on an absolute grid: the next run is due one interval after the
//!   previous *due time*, fixed before the child starts (the seed's MISC_CHECK rule), so a slow
//!   fork never shifts the schedule. A run still going when the next is due makes that next run
//!   be skipped (never two at once).
//! - Programs are split, vetted and started by [`crate::operator::program`], like notify
//!   programs: no shell unless the line needs one; its own process group (a run that outlasts
//!   its timeout is killed with SIGKILL to the whole group, a shell's children too, and reported
//!   as a timeout); `user USER [GROUP]`, else `script_user`, else `keepalived_script`, else
//!   vigild's own identity; keepalived's `enable_script_security` refusals. A refused program
//!   (insecure under `enable_script_security`, not found, not executable, an unknown user) never
//!   runs, and each of its runs is reported as a failure: a check that cannot run is not
//!   passing.
//! - Completion is seen through a pidfd in the event loop, so the daemon never blocks in
//!   `waitpid` and never needs SIGCHLD.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Child;
use std::time::Duration;

use tracing::{debug, error, warn};
use vigil_engine::conf;
use vigil_engine::io::{CheckResult, ScriptId};
use vigil_engine::Instant;

use crate::operator::program::{self, Program};
use crate::operator::user;

/// A finished run, for the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The script.
    pub script: ScriptId,
    /// How it ended.
    pub result: CheckResult,
    /// How long it ran.
    pub ran_for: Duration,
}

#[derive(Debug)]
struct Running {
    child: Child,
    /// Watched by epoll; closing it (when the run is dropped) unwatches it.
    pidfd: OwnedFd,
    started: Instant,
    kill_at: Instant,
    killed: bool,
}

#[derive(Debug)]
struct Check {
    name: String,
    /// `None`: refused (see the module documentation); every run is a failure.
    program: Option<Program>,
    interval: Duration,
    timeout: Duration,
    next_due: Instant,
    running: Option<Running>,
}

/// Every check program of the configuration.
#[derive(Debug, Default)]
pub struct Checks {
    checks: Vec<Check>,
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(pid, 0) returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

impl Checks {
    /// The checks of `cfg`, in configuration order (their [`ScriptId`]s), first due at `now`.
    pub fn new(cfg: &conf::Config, now: Instant) -> Checks {
        let security = cfg.global.enable_script_security;
        if cfg.scripts.is_empty() {
            // No user look-up (NSS loads libraries that would stay resident for nothing).
            return Checks::default();
        }
        let default = user::default_script_user(&cfg.global).map(|(c, _)| c);
        let checks = cfg
            .scripts
            .iter()
            .map(|s| {
                // The `user` line of the vrrp_script block, else the one on its script line.
                let mut script = s.script.clone();
                if s.run_as.is_some() {
                    script.run_as = s.run_as.clone();
                }
                let program = default
                    .as_ref()
                    .map_err(|e| e.0.clone())
                    .and_then(|d| program::vetted(&script, d, security));
                let program = match program {
                    Ok((p, warning)) => {
                        if let Some(w) = warning {
                            warn!("vrrp_script {}: {w}", s.name);
                        }
                        Some(p)
                    }
                    Err(why) => {
                        error!(
                            "vrrp_script {}: {why}; every run counts as a failure",
                            s.name
                        );
                        None
                    }
                };
                Check {
                    name: s.name.clone(),
                    program,
                    interval: s.interval.max(Duration::from_millis(1)),
                    timeout: s.timeout.unwrap_or(s.interval),
                    next_due: now,
                    running: None,
                }
            })
            .collect();
        Checks { checks }
    }

    /// Take a reloaded configuration at `now`. A check with the same name, program and
    /// identity keeps its schedule and the run under way (a reload neither restarts nor
    /// doubles it, and its result still arrives); a changed check starts afresh, due at once,
    /// and its old run is killed, as is the run of a check that is gone. Returns the runs kept,
    /// with their new indexes: their pidfds must be watched again under those.
    pub fn reload(&mut self, cfg: &conf::Config, now: Instant) -> Vec<(usize, RawFd)> {
        let mut old = std::mem::take(&mut self.checks);
        let mut next = Checks::new(cfg, now);
        let mut kept = Vec::new();
        for (idx, c) in next.checks.iter_mut().enumerate() {
            let Some(p) = old
                .iter()
                .position(|o| o.name == c.name && o.program == c.program)
            else {
                continue;
            };
            let o = old.swap_remove(p);
            c.next_due = o.next_due.min(now + c.interval);
            if let Some(r) = o.running {
                kept.push((idx, r.pidfd.as_raw_fd()));
                c.running = Some(r);
            }
        }
        let mut gone = Checks { checks: old };
        gone.kill_all();
        *self = next;
        kept
    }

    /// Whether there is any check.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// The next instant something is due: a run to start or a run to kill.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.checks
            .iter()
            .flat_map(|c| {
                let kill = c.running.as_ref().filter(|r| !r.killed).map(|r| r.kill_at);
                [Some(c.next_due), kill]
            })
            .flatten()
            .min()
    }

    /// Start due runs and kill overdue ones. Returns the pidfds of started runs (to watch, with
    /// their check index) and the results that are known at once (refused or unstartable runs).
    pub fn on_time(&mut self, now: Instant) -> (Vec<(usize, RawFd)>, Vec<Finished>) {
        let mut started = Vec::new();
        let mut done = Vec::new();
        for (idx, c) in self.checks.iter_mut().enumerate() {
            if let Some(r) = c.running.as_mut() {
                if !r.killed && now >= r.kill_at {
                    // Kill the whole group: a shell's children go too.
                    let pgid = r.child.id() as libc::pid_t;
                    // SAFETY: kill has no memory preconditions.
                    unsafe { libc::kill(-pgid, libc::SIGKILL) };
                    r.killed = true;
                    warn!("vrrp_script {}: timed out, killed", c.name);
                }
            }
            if now < c.next_due {
                continue;
            }
            // The next run is fixed before this one starts.
            while c.next_due <= now {
                c.next_due = c.next_due + c.interval;
            }
            let id = ScriptId(idx as u16);
            if c.running.is_some() {
                debug!("vrrp_script {}: previous run still going, skipped", c.name);
                continue;
            }
            let Some(program) = &c.program else {
                done.push(Finished {
                    script: id,
                    result: CheckResult::Failure,
                    ran_for: Duration::ZERO,
                });
                continue;
            };
            match program.spawn(&[]) {
                Ok(child) => match pidfd_open(child.id()) {
                    Ok(pidfd) => {
                        started.push((idx, pidfd.as_raw_fd()));
                        c.running = Some(Running {
                            child,
                            pidfd,
                            started: now,
                            kill_at: now + c.timeout,
                            killed: false,
                        });
                    }
                    Err(e) => {
                        error!("vrrp_script {}: pidfd: {e}", c.name);
                        let mut child = child;
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                },
                Err(e) => {
                    warn!("vrrp_script {}: cannot start: {e}", c.name);
                    done.push(Finished {
                        script: id,
                        result: CheckResult::Failure,
                        ran_for: Duration::ZERO,
                    });
                }
            }
        }
        (started, done)
    }

    /// The run of check `idx` has exited (its pidfd became readable): reap it and return its
    /// result. Dropping the run closes its pidfd, which also removes it from epoll.
    pub fn on_exit(&mut self, idx: usize, now: Instant) -> Option<Finished> {
        let c = self.checks.get_mut(idx)?;
        let r = c.running.as_mut()?;
        let status = r.child.try_wait().ok()??;
        let r = c.running.take()?;
        let result = if r.killed {
            CheckResult::Timeout
        } else if status.success() {
            CheckResult::Success
        } else {
            CheckResult::Failure
        };
        debug!("vrrp_script {}: {result:?}", c.name);
        Some(Finished {
            script: ScriptId(idx as u16),
            result,
            ran_for: now.saturating_duration_since(r.started),
        })
    }

    /// Kill every running check (daemon stop).
    pub fn kill_all(&mut self) {
        for c in &mut self.checks {
            if let Some(mut r) = c.running.take() {
                let pgid = r.child.id() as libc::pid_t;
                // SAFETY: as above.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                let _ = r.child.wait();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_run_without_a_shell() {
        let (_, c) = checks_for("/usr/bin/test -f /etc/hostname", 1000, 1000);
        let p = c.checks[0].program.as_ref().expect("vetted");
        assert!(!p.shell);
        assert_eq!(p.argv, ["/usr/bin/test", "-f", "/etc/hostname"]);
    }

    #[test]
    fn shell_syntax_goes_through_sh() {
        for line in ["pidof foo || exit 1", "echo $HOME", "[[ -f /x ]] && exit 1"] {
            let (_, c) = checks_for(line, 1000, 1000);
            assert!(c.checks[0].program.as_ref().expect(line).shell, "{line}");
        }
    }

    #[test]
    fn a_missing_program_is_refused_and_fails_every_run() {
        let (_, mut c) = checks_for("/nonexistent/vigil-check", 1000, 1000);
        assert!(c.checks[0].program.is_none());
        let (started, done) = c.on_time(c.checks[0].next_due);
        assert!(started.is_empty());
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].result, CheckResult::Failure);
    }

    fn checks_for(line: &str, interval_ms: u64, timeout_ms: u64) -> (conf::Config, Checks) {
        let text = format!(
            "vrrp_script chk {{\n script \"{line}\"\n interval {}\n timeout {}\n}}\n\
             vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n\
             track_script {{ chk }}\n virtual_ipaddress {{ 192.0.2.1 }}\n}}\n",
            interval_ms as f64 / 1000.0,
            timeout_ms as f64 / 1000.0
        );
        let cfg = conf::parse_str(&text).unwrap();
        let c = Checks::new(&cfg, crate::sys::now());
        (cfg, c)
    }

    fn wait_result(c: &mut Checks) -> Finished {
        let end = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let now = crate::sys::now();
            let _ = c.on_time(now);
            if let Some(f) = c.on_exit(0, now) {
                return f;
            }
            assert!(std::time::Instant::now() < end, "no result");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn success_failure_and_timeout_are_reported() {
        let (_, mut c) = checks_for("/bin/true", 1000, 1000);
        assert_eq!(wait_result(&mut c).result, CheckResult::Success);
        let (_, mut c) = checks_for("/bin/false", 1000, 1000);
        assert_eq!(wait_result(&mut c).result, CheckResult::Failure);
        // A hung shell pipeline: the whole group dies at the timeout.
        let (_, mut c) = checks_for("sleep 30 | cat", 2000, 200);
        let f = wait_result(&mut c);
        assert_eq!(f.result, CheckResult::Timeout);
        assert!(f.ran_for >= Duration::from_millis(200));
        assert!(f.ran_for < Duration::from_secs(5));
    }

    #[test]
    fn a_reload_keeps_an_unchanged_check_s_run_and_restarts_a_changed_one() {
        let text = |second: &str| {
            format!(
                "vrrp_script slow {{\n script \"/bin/sleep 5\"\n interval 10\n timeout 8\n}}\n\
                 vrrp_script other {{\n script \"{second}\"\n interval 10\n}}\n\
                 vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n\
                 track_script {{\n slow\n other\n }}\n virtual_ipaddress {{ 192.0.2.1 }}\n}}\n"
            )
        };
        let cfg = conf::parse_str(&text("/bin/sleep 6")).unwrap();
        let t0 = crate::sys::now();
        let mut c = Checks::new(&cfg, t0);
        let (started, _) = c.on_time(t0);
        assert_eq!(started.len(), 2);
        let pid_slow = c.checks[0].running.as_ref().unwrap().child.id();
        let pid_other = c.checks[1].running.as_ref().unwrap().child.id();
        // The second check's command changes; the first stays as it was.
        let cfg2 = conf::parse_str(&text("/bin/true")).unwrap();
        let kept = c.reload(&cfg2, t0 + Duration::from_secs(1));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, 0);
        assert_eq!(c.checks[0].running.as_ref().unwrap().child.id(), pid_slow);
        assert_eq!(c.checks[0].next_due, t0 + Duration::from_secs(10));
        assert!(
            c.checks[1].running.is_none(),
            "the changed check starts afresh"
        );
        assert_eq!(c.checks[1].next_due, t0 + Duration::from_secs(1));
        // The changed check's old run was killed (and reaped).
        assert!(!std::path::Path::new(&format!("/proc/{pid_other}")).exists());
        c.kill_all();
    }

    #[test]
    fn the_next_run_is_fixed_before_the_child_starts() {
        let (_, mut c) = checks_for("/bin/true", 1000, 1000);
        let t0 = c.checks[0].next_due;
        let (started, _) = c.on_time(t0);
        assert_eq!(started.len(), 1);
        assert_eq!(c.checks[0].next_due, t0 + Duration::from_secs(1));
        c.kill_all();
    }
}
