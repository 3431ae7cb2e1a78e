//! Tracked processes (keepalived.conf(5) "VRRP track processes", `vrrp_track_process`): which
//! running process matches a set's `process` line, and when the set is up (its quorum) after
//! keepalived's `fork_delay` / `terminate_delay`.
//!
//! The runner observes processes (the kernel's process events connector, and a /proc scan at
//! start, after lost events, or as the fallback) and keeps, per set, the PIDs that match
//! ([`ProcessMatch::matches`]); each change of that set goes through the set's [`Quorum`], which
//! says when the engine is told [`crate::Input::TrackProcess`]. The rules are keepalived 2.2.7's
//! (core/track_process.c), read for this:
//!
//! - the set is up while the number of matching processes is in `quorum..=quorum_max`
//!   (defaults 1 and unbounded; `quorum_max 0` means up while none runs);
//! - a process added by a fork that reaches the quorum (or goes one beyond `quorum_max`) waits
//!   `fork_delay` before it counts, unless a `terminate_delay` was running: then that timer is
//!   cancelled and the set simply stays as it was (a restart within the delay is no change);
//! - a process that exits and takes the count below the quorum (or back to `quorum_max`) waits
//!   `terminate_delay`, unless a `fork_delay` was running (cancelled: no change);
//! - a process that matches after `exec`, or stops matching because it changed its name or its
//!   command line, counts at once (no delay), cancelling the other direction's timer;
//! - when a timer expires the set is up exactly when the count is within the quorum then.
//!
//! One difference, on purpose: keepalived counts a tracked process twice when it execs a
//! command that matches again; here a PID is in a set at most once (the runner keeps sets).

use core::time::Duration;

use crate::time::Instant;

/// How the parameters of the command line are compared (keepalived `param_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ParamMatch {
    /// No parameters configured and no `param_match`: parameters are not looked at.
    #[default]
    None,
    /// The parameters are exactly the configured ones (`param_match` alone, or parameters
    /// after the process name without `param_match`).
    Exact,
    /// `param_match partial`: the first configured parameters match exactly; more may follow.
    Partial,
    /// `param_match initial`: like `partial`, but the last configured parameter only has to
    /// begin the process's parameter at that position.
    Initial,
}

/// What a process must look like to count (keepalived `process`, `param_match`,
/// `full_command`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessMatch {
    /// The process name (`process`'s first word): compared with the process's name (comm, as in
    /// /proc/PID/comm, at most 15 bytes) or, with `full_command` or parameters, with the first
    /// word of its command line (argv\[0\], exactly; no regular expression, like `pgrep "^x$"`).
    pub name: String,
    /// The configured parameters, each followed by a NUL byte (the layout of /proc/PID/cmdline).
    pub params: Vec<u8>,
    /// How parameters are compared.
    pub param_match: ParamMatch,
    /// Compare with the command line rather than the process name (forced by parameters and by
    /// `param_match`).
    pub full_command: bool,
}

impl ProcessMatch {
    /// A match on the process name only.
    pub fn name(name: impl Into<String>) -> Self {
        ProcessMatch {
            name: name.into(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
        }
    }

    /// Whether a process with this name (comm) and command line (/proc/PID/cmdline: NUL-
    /// separated, empty for a kernel thread or a zombie) counts.
    pub fn matches(&self, comm: &str, cmdline: &[u8]) -> bool {
        let (name, params) = if self.full_command {
            let end = cmdline
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(cmdline.len());
            let rest = cmdline.get(end + 1..).unwrap_or(&[]);
            (&cmdline[..end], rest)
        } else {
            (comm.as_bytes(), &[][..])
        };
        if name != self.name.as_bytes() {
            return false;
        }
        let want = self.params.as_slice();
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => params == want,
            ParamMatch::Partial => params.starts_with(want),
            ParamMatch::Initial => {
                // Compare without the last parameter's terminating NUL.
                let stem = want.strip_suffix(&[0]).unwrap_or(want);
                params.starts_with(stem)
            }
        }
    }
}

/// How a process joined or left a set: it decides whether a delay applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Forked from a process of the set (`fork_delay` applies).
    Fork,
    /// Matches now, after exec or a change of name (no delay).
    Match,
    /// Exited (`terminate_delay` applies).
    Exit,
    /// No longer matches (exec, name change): no delay.
    Unmatch,
}

/// A set's quorum and delays (keepalived `quorum`, `quorum_max`, `fork_delay`,
/// `terminate_delay`, `delay`), its count and whether it is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    quorum: u32,
    quorum_max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    count: u32,
    up: bool,
    fork_timer: Option<Instant>,
    terminate_timer: Option<Instant>,
}

impl Quorum {
    /// A set with these limits, nothing counted yet (down, unless `quorum` is 0).
    pub fn new(
        quorum: u32,
        quorum_max: u32,
        fork_delay: Duration,
        terminate_delay: Duration,
    ) -> Self {
        Quorum {
            quorum,
            quorum_max,
            fork_delay,
            terminate_delay,
            count: 0,
            up: quorum == 0,
            fork_timer: None,
            terminate_timer: None,
        }
    }

    /// Whether the set is up.
    pub fn up(&self) -> bool {
        self.up
    }

    /// How many matching processes are counted.
    pub fn count(&self) -> u32 {
        self.count
    }

    fn within(&self) -> bool {
        self.count >= self.quorum && self.count <= self.quorum_max
    }

    /// Set to `now_up`; `Some(new state)` when that is a change.
    fn update(&mut self, now_up: bool) -> Option<bool> {
        (self.up != now_up).then(|| {
            self.up = now_up;
            now_up
        })
    }

    /// The count after a full scan of the processes (start-up): the state follows at once.
    pub fn set_initial(&mut self, count: u32) -> Option<bool> {
        self.count = count;
        self.fork_timer = None;
        self.terminate_timer = None;
        let w = self.within();
        self.update(w)
    }

    /// The count after a scan that replaces lost events (keepalived after ENOBUFS): a crossing
    /// of the quorum waits for the delay of its direction, as a fork or an exit would.
    pub fn rescan(&mut self, now: Instant, count: u32) -> Option<bool> {
        self.count = count;
        let w = self.within();
        if w == self.up {
            self.fork_timer = None;
            self.terminate_timer = None;
            return None;
        }
        // A crossing already waiting keeps its deadline: scans repeat (the fallback scans
        // every few hundred milliseconds) and must not push the delay out forever.
        if w && !self.fork_delay.is_zero() {
            self.terminate_timer = None;
            self.fork_timer
                .get_or_insert(now.saturating_add(self.fork_delay));
            return None;
        }
        if !w && !self.terminate_delay.is_zero() {
            self.fork_timer = None;
            self.terminate_timer
                .get_or_insert(now.saturating_add(self.terminate_delay));
            return None;
        }
        self.update(w)
    }

    /// One process joined the set.
    pub fn added(&mut self, now: Instant, how: Change) -> Option<bool> {
        self.count = self.count.saturating_add(1);
        if self.count != self.quorum && self.count != self.quorum_max.saturating_add(1) {
            return None;
        }
        let cancelled = self.terminate_timer.take().is_some();
        if how == Change::Fork && !cancelled && !self.fork_delay.is_zero() {
            self.fork_timer = Some(now.saturating_add(self.fork_delay));
            return None;
        }
        let up = self.count == self.quorum;
        self.update(up)
    }

    /// One process left the set.
    pub fn removed(&mut self, now: Instant, how: Change) -> Option<bool> {
        let before = self.count;
        self.count = self.count.saturating_sub(1);
        if before != self.quorum && self.count != self.quorum_max {
            return None;
        }
        let cancelled = self.fork_timer.take().is_some();
        if how == Change::Exit && !cancelled && !self.terminate_delay.is_zero() {
            self.terminate_timer = Some(now.saturating_add(self.terminate_delay));
            return None;
        }
        let up = self.count == self.quorum_max;
        self.update(up)
    }

    /// When [`Quorum::poll`] has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.fork_timer, self.terminate_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Serve a delay that expired at or before `now`: the set is up exactly when the count is
    /// within the quorum.
    pub fn poll(&mut self, now: Instant) -> Option<bool> {
        let mut due = false;
        if self.fork_timer.is_some_and(|t| t <= now) {
            self.fork_timer = None;
            due = true;
        }
        if self.terminate_timer.is_some_and(|t| t <= now) {
            self.terminate_timer = None;
            due = true;
        }
        if !due {
            return None;
        }
        let w = self.within();
        self.update(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    fn cmd(parts: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in parts {
            v.extend_from_slice(p.as_bytes());
            v.push(0);
        }
        v
    }

    #[test]
    fn name_match_is_exact_not_a_pattern() {
        let m = ProcessMatch::name("ssh");
        assert!(m.matches("ssh", b""));
        assert!(!m.matches("sshd", &cmd(&["ssh"])));
    }

    #[test]
    fn full_command_compares_argv0() {
        let m = ProcessMatch {
            full_command: true,
            ..ProcessMatch::name("/usr/sbin/haproxy")
        };
        assert!(m.matches("haproxy", &cmd(&["/usr/sbin/haproxy", "-f", "x"])));
        assert!(!m.matches("haproxy", &cmd(&["haproxy", "-f", "x"])));
        // A zombie or kernel thread has an empty command line.
        assert!(!m.matches("haproxy", b""));
    }

    #[test]
    fn parameters_exact_partial_initial() {
        let base = ProcessMatch {
            name: "app".into(),
            params: cmd(&["-c", "conf"]),
            param_match: ParamMatch::Exact,
            full_command: true,
        };
        assert!(base.matches("app", &cmd(&["app", "-c", "conf"])));
        assert!(!base.matches("app", &cmd(&["app", "-c", "conf", "-v"])));
        assert!(!base.matches("app", &cmd(&["app", "-c", "confx"])));
        let partial = ProcessMatch {
            param_match: ParamMatch::Partial,
            ..base.clone()
        };
        assert!(partial.matches("app", &cmd(&["app", "-c", "conf", "-v"])));
        assert!(!partial.matches("app", &cmd(&["app", "-c", "confx"])));
        let initial = ProcessMatch {
            param_match: ParamMatch::Initial,
            ..base.clone()
        };
        assert!(initial.matches("app", &cmd(&["app", "-c", "confx"])));
        assert!(!initial.matches("app", &cmd(&["app", "-d", "conf"])));
        // `param_match` alone: the process must have no parameters.
        let none = ProcessMatch {
            params: Vec::new(),
            ..base
        };
        assert!(none.matches("app", &cmd(&["app"])));
        assert!(!none.matches("app", &cmd(&["app", "-v"])));
    }

    #[test]
    fn quorum_without_delays() {
        let mut q = Quorum::new(2, u32::MAX, Duration::ZERO, Duration::ZERO);
        assert!(!q.up());
        assert_eq!(q.added(t(0), Change::Match), None);
        assert_eq!(q.added(t(0), Change::Fork), Some(true));
        assert_eq!(q.added(t(0), Change::Fork), None);
        assert_eq!(q.removed(t(0), Change::Exit), None);
        assert_eq!(q.removed(t(0), Change::Exit), Some(false));
    }

    #[test]
    fn quorum_max_bounds_the_count() {
        let mut q = Quorum::new(1, 1, Duration::ZERO, Duration::ZERO);
        assert_eq!(q.added(t(0), Change::Match), Some(true));
        assert_eq!(q.added(t(0), Change::Match), Some(false));
        assert_eq!(q.removed(t(0), Change::Exit), Some(true));
        // quorum_max 0: up while none runs.
        let mut none = Quorum::new(0, 0, Duration::ZERO, Duration::ZERO);
        assert!(none.up());
        assert_eq!(none.added(t(0), Change::Match), Some(false));
        assert_eq!(none.removed(t(0), Change::Exit), Some(true));
    }

    #[test]
    fn terminate_delay_holds_the_set_up() {
        let d = Duration::from_millis(500);
        let mut q = Quorum::new(1, u32::MAX, d, d);
        assert_eq!(q.set_initial(1), Some(true));
        assert_eq!(q.removed(t(1000), Change::Exit), None);
        assert_eq!(q.deadline(), Some(t(1500)));
        assert_eq!(q.poll(t(1499)), None);
        assert_eq!(q.poll(t(1500)), Some(false));
        assert_eq!(q.deadline(), None);
    }

    #[test]
    fn restart_within_the_terminate_delay_is_no_change() {
        let d = Duration::from_millis(500);
        let mut q = Quorum::new(1, u32::MAX, d, d);
        q.set_initial(1);
        assert_eq!(q.removed(t(0), Change::Exit), None);
        // The parent forks a new one: the terminate timer is cancelled, no fork delay.
        assert_eq!(q.added(t(100), Change::Fork), None);
        assert!(q.up());
        assert_eq!(q.deadline(), None);
    }

    #[test]
    fn fork_delay_then_exit_cancels_it() {
        let d = Duration::from_millis(300);
        let mut q = Quorum::new(1, u32::MAX, d, Duration::ZERO);
        assert_eq!(q.added(t(0), Change::Fork), None);
        assert_eq!(q.deadline(), Some(t(300)));
        assert_eq!(q.removed(t(100), Change::Exit), None);
        assert_eq!(q.deadline(), None);
        assert!(!q.up());
        // A match after exec counts at once.
        assert_eq!(q.added(t(200), Change::Match), Some(true));
    }

    #[test]
    fn rescan_crossing_waits_for_its_delay() {
        let d = Duration::from_millis(200);
        let mut q = Quorum::new(1, u32::MAX, d, d);
        q.set_initial(1);
        assert_eq!(q.rescan(t(0), 0), None);
        assert_eq!(q.poll(t(200)), Some(false));
        assert_eq!(q.rescan(t(300), 3), None);
        assert_eq!(q.poll(t(500)), Some(true));
    }

    #[test]
    fn repeated_scans_keep_the_pending_deadline() {
        let d = Duration::from_millis(1000);
        let mut q = Quorum::new(1, u32::MAX, d, d);
        q.set_initial(1);
        for ms in [0, 500, 900] {
            assert_eq!(q.rescan(t(ms), 0), None);
        }
        assert_eq!(q.deadline(), Some(t(1000)));
        assert_eq!(q.poll(t(1000)), Some(false));
        // Back within the delay: the pending crossing is dropped.
        q.set_initial(1);
        assert_eq!(q.rescan(t(2000), 0), None);
        assert_eq!(q.rescan(t(2500), 1), None);
        assert_eq!(q.deadline(), None);
        assert!(q.up());
    }
}
