//! Check programs (`vrrp_script`): run as child processes when the engine asks
//! ([`vigil_engine::Action::RunCheck`]), results fed back as [`vigil_engine::Input::Check`].
//! The engine keeps the schedule (first at start, then every interval on an absolute grid,
//! never two runs at once: `engine/src/engine/checks.rs`) and applies rise / fall, weights and
//! the "a run longer than its timeout is a failure" rule; this module only runs processes.
//!
//! - Programs are split, vetted and started by [`crate::operator::program`], like notify
//!   programs: no shell unless the line needs one; its own process group (a run that outlasts
//!   the timeout the engine gave is killed with SIGKILL to the whole group, a shell's children
//!   too, and reported as a timeout); `user USER [GROUP]`, else `script_user`, else
//!   `keepalived_script`, else vigild's own identity; keepalived's `enable_script_security`
//!   refusals. A refused program (insecure under `enable_script_security`, not found, not
//!   executable, an unknown user) never runs, and each of its runs is reported as a failure: a
//!   check that cannot run is not passing.
//! - Completion is seen through a pidfd in the event loop, so the daemon never blocks in
//!   `waitpid` and never needs SIGCHLD.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::Child;
use std::time::Duration;

use tracing::{debug, error, warn};
use vigil_engine::conf;
use vigil_engine::io::{CheckResult, ScriptId};
use vigil_engine::Instant;

use crate::operator::program::{self, Program};
use crate::operator::user;
use crate::sys;

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
    running: Option<Running>,
}

/// Every check program of the configuration.
#[derive(Debug, Default)]
pub struct Checks {
    checks: Vec<Check>,
}

impl Checks {
    /// The checks of `cfg`, in configuration order (their [`ScriptId`]s).
    pub fn new(cfg: &conf::Config) -> Checks {
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
                    running: None,
                }
            })
            .collect();
        Checks { checks }
    }

    /// Take a reloaded configuration. A check of the same name keeps the run under way (the
    /// engine keeps its schedule and waits for that run's result, which still arrives; a
    /// changed program is used from the next run); the run of a check that is gone is killed.
    /// Returns the runs kept, with their new indexes: their pidfds must be watched again under
    /// those.
    pub fn reload(&mut self, cfg: &conf::Config) -> Vec<(usize, RawFd)> {
        let mut old = std::mem::take(&mut self.checks);
        let mut next = Checks::new(cfg);
        let mut kept = Vec::new();
        for (idx, c) in next.checks.iter_mut().enumerate() {
            let Some(p) = old.iter().position(|o| o.name == c.name) else {
                continue;
            };
            let o = old.swap_remove(p);
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

    /// The next instant a run must be killed (its timeout), if any runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.checks
            .iter()
            .filter_map(|c| c.running.as_ref().filter(|r| !r.killed).map(|r| r.kill_at))
            .min()
    }

    /// Kill the runs that outlasted their timeout (reported as timeouts when they exit).
    pub fn on_time(&mut self, now: Instant) {
        for c in &mut self.checks {
            if let Some(r) = c.running.as_mut() {
                if !r.killed && now >= r.kill_at {
                    // Kill the whole group: a shell's children go too.
                    let _ = sys::kill_process_group(r.child.id());
                    r.killed = true;
                    warn!("vrrp_script {}: timed out, killed", c.name);
                }
            }
        }
    }

    /// Start a run of check `script` (the engine's [`vigil_engine::Action::RunCheck`]), to be
    /// killed after `timeout`. Returns the pidfd to watch, or the result when it is known at
    /// once (a refused or unstartable program: a failure); nothing when a run is still going
    /// (the engine does not ask for that; a reload that kept a run can).
    pub fn start(
        &mut self,
        script: ScriptId,
        timeout: Duration,
        now: Instant,
    ) -> Option<Result<RawFd, Finished>> {
        let c = self.checks.get_mut(usize::from(script.0))?;
        if c.running.is_some() {
            debug!("vrrp_script {}: previous run still going, skipped", c.name);
            return None;
        }
        let failed = Finished {
            script,
            result: CheckResult::Failure,
            ran_for: Duration::ZERO,
        };
        let Some(program) = &c.program else {
            return Some(Err(failed));
        };
        match program.spawn(&[]) {
            Ok(child) => match sys::pidfd_open(child.id()) {
                Ok(pidfd) => {
                    let fd = pidfd.as_raw_fd();
                    c.running = Some(Running {
                        child,
                        pidfd,
                        started: now,
                        kill_at: now + timeout,
                        killed: false,
                    });
                    Some(Ok(fd))
                }
                Err(e) => {
                    error!("vrrp_script {}: pidfd: {e}", c.name);
                    let mut child = child;
                    let _ = child.kill();
                    let _ = child.wait();
                    Some(Err(failed))
                }
            },
            Err(e) => {
                warn!("vrrp_script {}: cannot start: {e}", c.name);
                Some(Err(failed))
            }
        }
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
                let _ = sys::kill_process_group(r.child.id());
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
        for _ in 0..2 {
            let r = c.start(ScriptId(0), Duration::from_secs(1), crate::sys::now());
            assert!(matches!(r, Some(Err(f)) if f.result == CheckResult::Failure));
        }
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
        let c = Checks::new(&cfg);
        (cfg, c)
    }

    /// Start check 0 with `timeout` and wait for its result.
    fn run(c: &mut Checks, timeout: Duration) -> Finished {
        match c.start(ScriptId(0), timeout, crate::sys::now()) {
            Some(Ok(_)) => {}
            Some(Err(f)) => return f,
            None => panic!("a run is going"),
        }
        let end = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let now = crate::sys::now();
            c.on_time(now);
            if let Some(f) = c.on_exit(0, now) {
                return f;
            }
            assert!(std::time::Instant::now() < end, "no result");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn success_failure_and_timeout_are_reported() {
        let second = Duration::from_secs(1);
        let (_, mut c) = checks_for("/bin/true", 1000, 1000);
        assert_eq!(run(&mut c, second).result, CheckResult::Success);
        let (_, mut c) = checks_for("/bin/false", 1000, 1000);
        assert_eq!(run(&mut c, second).result, CheckResult::Failure);
        // A hung shell pipeline: the whole group dies at the timeout the engine gave.
        let (_, mut c) = checks_for("sleep 30 | cat", 2000, 200);
        let f = run(&mut c, Duration::from_millis(200));
        assert_eq!(f.result, CheckResult::Timeout);
        assert!(f.ran_for >= Duration::from_millis(200));
        assert!(f.ran_for < Duration::from_secs(5));
    }

    #[test]
    fn never_two_runs_at_once_and_a_reload_keeps_a_run_by_name() {
        let text = |second: &str| {
            format!(
                "vrrp_script slow {{\n script \"/bin/sleep 5\"\n interval 10\n timeout 8\n}}\n\
                 vrrp_script {second} {{\n script \"/bin/sleep 6\"\n interval 10\n}}\n\
                 vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n\
                 track_script {{\n slow\n {second}\n }}\n virtual_ipaddress {{ 192.0.2.1 }}\n}}\n"
            )
        };
        let cfg = conf::parse_str(&text("other")).unwrap();
        let t0 = crate::sys::now();
        let mut c = Checks::new(&cfg);
        let eight = Duration::from_secs(8);
        assert!(matches!(c.start(ScriptId(0), eight, t0), Some(Ok(_))));
        assert!(matches!(c.start(ScriptId(1), eight, t0), Some(Ok(_))));
        assert!(
            c.start(ScriptId(0), eight, t0).is_none(),
            "never two at once"
        );
        let pid_slow = c.checks[0].running.as_ref().unwrap().child.id();
        let pid_other = c.checks[1].running.as_ref().unwrap().child.id();
        // The second check is renamed (gone); the first stays.
        let cfg2 = conf::parse_str(&text("renamed")).unwrap();
        let kept = c.reload(&cfg2);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, 0);
        assert_eq!(c.checks[0].running.as_ref().unwrap().child.id(), pid_slow);
        assert!(c.checks[1].running.is_none(), "a new check has no run yet");
        // The gone check's run was killed (and reaped).
        assert!(!std::path::Path::new(&format!("/proc/{pid_other}")).exists());
        c.kill_all();
    }
}
