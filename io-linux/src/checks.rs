//! Check programs (`vrrp_script`): run on their interval as child processes, results fed to the
//! engine as [`vigil_engine::Input::Check`]. The engine applies rise / fall, weights and the
//! "a run longer than its timeout is a failure" rule; this module only runs processes.
//!
//! - Each run is scheduled on an absolute grid: the next run is due one interval after the
//!   previous *due time*, fixed before the child starts (the seed's MISC_CHECK rule), so a slow
//!   fork never shifts the schedule. A run still going when the next is due makes that next run
//!   be skipped (never two at once).
//! - No shell unless the line needs one: the program is executed directly with keepalived's
//!   argument splitting, and only a line with shell syntax (`| & ; < > ( ) $ \` \\ " * ? [ ] ~ {
//!   } #` or a newline) goes through `/bin/sh -c`.
//! - Each run is the leader of its own process group; a run that outlasts its timeout is killed
//!   with SIGKILL to the whole group (a shell's children too) and reported as a timeout.
//! - `user USER [GROUP]` (or the global `script_user`) is honoured by dropping to that uid / gid
//!   before exec; with `enable_script_security`, a program that a non-root user could modify
//!   (owned by another user, or group / world writable, itself or its directory) is not run and
//!   each of its runs is reported as a failure.
//! - Completion is seen through a pidfd in the event loop, so the daemon never blocks in
//!   `waitpid` and never needs SIGCHLD.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tracing::{debug, error, warn};
use vigil_engine::conf::{self, RunAs};
use vigil_engine::io::{CheckResult, ScriptId};
use vigil_engine::Instant;

/// Characters that make a command line need a shell.
const SHELL_SYNTAX: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '*', '?', '[', ']', '~', '{', '}', '#',
    '\n',
];

/// How a check's command is executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exec {
    /// Directly: program and arguments.
    Direct(Vec<String>),
    /// Through `/bin/sh -c LINE`.
    Shell(String),
}

/// Decide how to run a command line.
pub fn exec_of(script: &conf::Script) -> Option<Exec> {
    if script.command.contains(SHELL_SYNTAX) {
        return Some(Exec::Shell(script.command.clone()));
    }
    (!script.argv.is_empty()).then(|| Exec::Direct(script.argv.clone()))
}

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
    _pidfd: OwnedFd,
    started: Instant,
    kill_at: Instant,
    killed: bool,
}

#[derive(Debug)]
struct Check {
    name: String,
    exec: Option<Exec>,
    ids: Option<(u32, u32)>,
    interval: Duration,
    timeout: Duration,
    next_due: Instant,
    running: Option<Running>,
    /// Refused by script security: every run is a failure.
    refused: bool,
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

/// A user (and group) name to uid / gid.
fn resolve(run_as: &RunAs) -> Option<(u32, u32)> {
    let user = CString::new(run_as.user.as_str()).ok()?;
    // SAFETY: getpwnam returns NULL or a pointer to static storage valid until the next call;
    // the fields are copied at once.
    let (uid, mut gid) = unsafe {
        let pw = libc::getpwnam(user.as_ptr());
        if pw.is_null() {
            return None;
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    if let Some(g) = &run_as.group {
        let group = CString::new(g.as_str()).ok()?;
        // SAFETY: as above.
        gid = unsafe {
            let gr = libc::getgrnam(group.as_ptr());
            if gr.is_null() {
                return None;
            }
            (*gr).gr_gid
        };
    }
    Some((uid, gid))
}

/// Whether a non-root user could change what `path` runs: the file or any directory above it
/// owned by someone other than root, or writable by group / others.
pub fn insecure(path: &Path) -> bool {
    let mut p = Some(path);
    while let Some(cur) = p {
        match std::fs::metadata(cur) {
            Ok(m) => {
                if m.uid() != 0 || m.mode() & 0o022 != 0 && !(m.is_dir() && m.mode() & 0o1000 != 0)
                {
                    return true;
                }
            }
            Err(_) => return true,
        }
        p = cur.parent().filter(|q| !q.as_os_str().is_empty());
    }
    false
}

/// The program a direct command runs, resolved through `PATH` like `execvp`.
fn program_path(prog: &str) -> Option<std::path::PathBuf> {
    if prog.contains('/') {
        return Some(prog.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

impl Checks {
    /// The checks of `cfg`, in configuration order (their [`ScriptId`]s), first due at `now`.
    pub fn new(cfg: &conf::Config, now: Instant) -> Checks {
        let security = cfg.global.enable_script_security;
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let checks = cfg
            .scripts
            .iter()
            .map(|s| {
                let exec = exec_of(&s.script);
                let run_as = s
                    .run_as
                    .as_ref()
                    .or(s.script.run_as.as_ref())
                    .or(cfg.global.script_user.as_ref());
                let ids = run_as.and_then(|r| {
                    let ids = resolve(r);
                    if ids.is_none() {
                        error!("vrrp_script {}: unknown user or group {r:?}", s.name);
                    }
                    ids
                });
                let refused = security
                    && root
                    && match &exec {
                        Some(Exec::Direct(argv)) => argv
                            .first()
                            .and_then(|p| program_path(p))
                            .is_none_or(|p| insecure(&p)),
                        Some(Exec::Shell(_)) => false,
                        None => true,
                    };
                if refused {
                    error!(
                        "vrrp_script {}: refused by enable_script_security (the program is \
                         modifiable by non-root users); every run counts as a failure",
                        s.name
                    );
                }
                Check {
                    name: s.name.clone(),
                    exec,
                    ids,
                    interval: s.interval.max(Duration::from_millis(1)),
                    timeout: s.timeout.unwrap_or(s.interval),
                    next_due: now,
                    running: None,
                    refused,
                }
            })
            .collect();
        Checks { checks }
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
            if c.refused || c.exec.is_none() {
                done.push(Finished {
                    script: id,
                    result: CheckResult::Failure,
                    ran_for: Duration::ZERO,
                });
                continue;
            }
            match spawn(c.exec.as_ref(), c.ids) {
                Ok(child) => match pidfd_open(child.id()) {
                    Ok(pidfd) => {
                        started.push((idx, pidfd.as_raw_fd()));
                        c.running = Some(Running {
                            child,
                            _pidfd: pidfd,
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

fn spawn(exec: Option<&Exec>, ids: Option<(u32, u32)>) -> io::Result<Child> {
    let mut cmd = match exec {
        Some(Exec::Direct(argv)) => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        Some(Exec::Shell(line)) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(line);
            c
        }
        None => return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command")),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some((uid, gid)) = ids {
        cmd.uid(uid).gid(gid);
    }
    // SAFETY: the closure only calls async-signal-safe functions (sigemptyset, sigaddset,
    // sigprocmask) between fork and exec: the daemon blocks the signals its signalfd reads, and
    // a check program must not inherit that mask.
    unsafe {
        cmd.pre_exec(|| {
            crate::sys::unblock_handled_signals();
            Ok(())
        });
    }
    cmd.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(line: &str) -> conf::Script {
        let cfg = conf::parse_str(&format!(
            "vrrp_script chk {{\n script \"{line}\"\n interval 1\n}}\n\
             vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n\
             track_script {{ chk }}\n virtual_ipaddress {{ 192.0.2.1 }}\n}}\n"
        ))
        .unwrap();
        cfg.scripts[0].script.clone()
    }

    #[test]
    fn plain_lines_run_without_a_shell() {
        assert_eq!(
            exec_of(&script("/usr/bin/test -f /etc/hostname")),
            Some(Exec::Direct(vec![
                "/usr/bin/test".into(),
                "-f".into(),
                "/etc/hostname".into()
            ]))
        );
    }

    #[test]
    fn shell_syntax_goes_through_sh() {
        assert!(matches!(
            exec_of(&script("pidof foo || exit 1")),
            Some(Exec::Shell(_))
        ));
        assert!(matches!(
            exec_of(&script("echo $HOME")),
            Some(Exec::Shell(_))
        ));
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
    fn the_next_run_is_fixed_before_the_child_starts() {
        let (_, mut c) = checks_for("/bin/true", 1000, 1000);
        let t0 = c.checks[0].next_due;
        let (started, _) = c.on_time(t0);
        assert_eq!(started.len(), 1);
        assert_eq!(c.checks[0].next_due, t0 + Duration::from_secs(1));
        c.kill_all();
    }
}
