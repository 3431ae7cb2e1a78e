//! keepalived.conf(5) global_defs `startup_script` / `shutdown_script` (and their
//! `_timeout`s), run as keepalived 2.2.7 runs them (core/main.c):
//!
//! - **When**: the start-up script once, after the configuration is read and before VRRP (and
//!   the health checkers) start; they start when it ends or when its time is up, whatever its
//!   exit status. The shut-down script once, after VRRP has stopped (priority-0 adverts sent,
//!   addresses, routes and macvlans removed), before vigild exits; vigild exits when it ends or
//!   when its time is up. Neither runs again on a reload (SIGHUP); the shut-down script is the
//!   one of the configuration loaded last.
//! - **As whom**: like every other script (`USER [GROUP]` after the command, else
//!   `script_user`, else `keepalived_script` when it exists, else root), vetted by
//!   `enable_script_security` ([`crate::operator::program::vetted`]).
//! - **Failure**: a non-zero exit status is logged ("startup script failed, status N"), and
//!   nothing else changes. A script that cannot be started is logged.
//! - **Time limit** (`*_timeout`, 1 to 1000 s, default 10): then SIGTERM to its process group;
//!   2 s later SIGKILL if it is still there; after 10 s more vigild stops waiting. A script that
//!   ended by the SIGTERM has its process group killed too (children it left behind).

use std::process::Child;
use std::time::{Duration, Instant};

use tracing::{info, warn};
use vigil_engine::conf::{self, Config};

use crate::operator::program::{self, Program};
use crate::operator::user;

/// How long after SIGTERM a late script gets before SIGKILL (keepalived's 2 s).
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long vigild waits after SIGKILL before it gives up on the script (keepalived's 10 s).
const KILL_GRACE: Duration = Duration::from_secs(10);
/// How often the wait looks at the script.
const POLL: Duration = Duration::from_millis(10);

/// One of the two scripts, ready to run.
#[derive(Clone, Debug)]
pub struct StartStop {
    /// `startup script` / `shutdown script`, for the log.
    what: &'static str,
    program: Program,
    timeout: Duration,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it (not ours).
    Signalled(i32),
    /// Its time was up: it was stopped (or abandoned).
    TimedOut,
    /// It could not be started.
    NotStarted(String),
}

impl StartStop {
    /// The start-up script of `cfg`, resolved and vetted; `None` when there is none or it is
    /// refused (the reason is logged).
    pub fn startup(cfg: &Config) -> Option<StartStop> {
        let g = &cfg.global;
        Self::prepare(
            "startup script",
            g.startup_script.as_ref()?,
            g.startup_timeout(),
            cfg,
        )
    }

    /// The shut-down script of `cfg`, as [`Self::startup`].
    pub fn shutdown(cfg: &Config) -> Option<StartStop> {
        let g = &cfg.global;
        Self::prepare(
            "shutdown script",
            g.shutdown_script.as_ref()?,
            g.shutdown_timeout(),
            cfg,
        )
    }

    fn prepare(
        what: &'static str,
        sc: &conf::Script,
        timeout_secs: u32,
        cfg: &Config,
    ) -> Option<StartStop> {
        let default = match user::default_script_user(&cfg.global) {
            Ok((c, _)) => c,
            Err(e) => {
                warn!("{what} {}: not run: {}", sc.command, e.0);
                return None;
            }
        };
        match program::vetted(sc, &default, cfg.global.enable_script_security) {
            Ok((program, warning)) => {
                if let Some(w) = warning {
                    warn!("{what} {}: {w}", sc.command);
                }
                Some(StartStop {
                    what,
                    program,
                    timeout: Duration::from_secs(u64::from(timeout_secs)),
                })
            }
            Err(reason) => {
                warn!("{what} {}: not run: {reason}", sc.command);
                None
            }
        }
    }

    /// Run it and wait until it ends or its time is up (then stop it as the module says).
    pub fn run(&self) -> Ended {
        info!("running {} {}", self.what, self.program.line);
        let mut child = match self.program.spawn(&[]) {
            Ok(c) => c,
            Err(e) => {
                warn!("call of {} {} failed: {e}", self.what, self.program.line);
                return Ended::NotStarted(e);
            }
        };
        let ended = match wait_for(&mut child, self.timeout) {
            Some(status) => ended_by(status),
            None => {
                warn!("{} timed out", self.what);
                self.stop_late(&mut child);
                Ended::TimedOut
            }
        };
        match &ended {
            Ended::Exited(0) => info!("{} succeeded", self.what),
            Ended::Exited(n) => warn!("{} failed, status {n}", self.what),
            Ended::Signalled(s) => warn!("{} ended by signal {s}", self.what),
            Ended::TimedOut | Ended::NotStarted(_) => {}
        }
        ended
    }

    /// SIGTERM to the process group, SIGKILL after [`TERM_GRACE`], give up after
    /// [`KILL_GRACE`]; children left behind by a script that obeyed SIGTERM are killed.
    fn stop_late(&self, child: &mut Child) {
        let pgid = child.id();
        kill_group(pgid, libc::SIGTERM);
        if wait_for(child, TERM_GRACE).is_some() {
            kill_group(pgid, libc::SIGKILL);
            return;
        }
        warn!(
            "{} (PID {pgid}) failed to terminate after SIGTERM",
            self.what
        );
        kill_group(pgid, libc::SIGKILL);
        if wait_for(child, KILL_GRACE).is_none() {
            warn!("{} (PID {pgid}) failed to terminate after kill", self.what);
        }
    }
}

fn ended_by(status: std::process::ExitStatus) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => Ended::Exited(c),
        (None, Some(s)) => Ended::Signalled(s),
        (None, None) => Ended::Exited(-1),
    }
}

/// Wait for `child` for at most `limit`; its status, or `None` when it is still running.
fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) => {}
            Err(e) => {
                warn!("cannot wait for PID {}: {e}", child.id());
                return None;
            }
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

fn kill_group(pgid: u32, sig: i32) {
    // An error means it is gone already (or not ours to signal): nothing more to do.
    let _ = crate::sys::signal_process_group(pgid, sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_exit_status_is_reported_and_nothing_else_changes() {
        let c = cfg("global_defs {\n startup_script \"/bin/sh -c 'exit 3'\"\n}\n");
        let s = StartStop::startup(&c).expect("a start-up script");
        assert_eq!(s.run(), Ended::Exited(3));
        assert_eq!(s.timeout, Duration::from_secs(10), "keepalived's default");
    }

    #[test]
    fn a_late_script_is_stopped_when_its_time_is_up() {
        let c = cfg(
            "global_defs {\n shutdown_script \"/bin/sleep 30\"\n shutdown_script_timeout 1\n}\n",
        );
        let s = StartStop::shutdown(&c).expect("a shut-down script");
        let t = Instant::now();
        assert_eq!(s.run(), Ended::TimedOut);
        // Bounded, not timed: SIGTERM ends sleep at once, far before sleep's own 30 s.
        assert!(t.elapsed() < Duration::from_secs(25), "{:?}", t.elapsed());
    }

    #[test]
    fn a_missing_program_is_not_run() {
        let c = cfg("global_defs {\n startup_script /nonexistent/vigil-start\n}\n");
        assert!(StartStop::startup(&c).is_none());
        assert!(StartStop::shutdown(&c).is_none());
    }
}
