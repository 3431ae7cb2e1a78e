//! The schedule of the check programs (keepalived.conf(5) `vrrp_script`: `interval`,
//! `timeout`; the seed's MISC_CHECK rule): which run is due when, decided here so that vigild
//! and the simulator run the same schedule. The runner only starts the process on
//! [`Action::RunCheck`], ends it at the timeout the action carries, and reports how it ended
//! ([`Input::Check`]; what a result means, rise / fall and weights, is `tracking.rs`).
//!
//! - Every script runs first at start-up, then one `interval` after the previous *due time*
//!   (an absolute grid: a late run does not shift the schedule; after a stall the next run is
//!   the next grid point after now, no burst to catch up).
//! - A run that has not reported when the next is due makes that next run be skipped: never
//!   two runs of one script at once.
//! - On reload a script of the same name keeps its schedule and its run under way (its result
//!   still counts); a new script is due at once. After shutdown nothing is due.

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// When the next check program run is due (`None`: none, before start or after
    /// shutdown). [`Engine::poll_timeout`] is the earlier of this and the instances' timers.
    #[inline]
    pub fn next_check_due(&self) -> Option<Instant> {
        (self.checks_due != Instant::MAX).then_some(self.checks_due)
    }

    /// Start-up: every script is due now.
    pub(super) fn start_checks(&mut self, now: Instant) {
        for s in &mut self.scripts {
            s.next_due = now;
        }
        self.checks_due = if self.scripts.is_empty() {
            Instant::MAX
        } else {
            now
        };
    }

    /// Shutdown: nothing is due any more (a run under way may still report).
    pub(super) fn stop_checks(&mut self) {
        for s in &mut self.scripts {
            s.next_due = Instant::MAX;
        }
        self.checks_due = Instant::MAX;
    }

    /// After a reload, with the schedules adopted by name: a script that was not in the old
    /// configuration is due now (when started); the new interval applies from the next run,
    /// never later than one new interval from now.
    pub(super) fn reschedule_checks(&mut self, now: Instant) {
        if !self.started {
            return self.stop_checks();
        }
        for s in &mut self.scripts {
            s.next_due = if s.next_due == Instant::MAX {
                now // new, or adopted from an engine that had not started
            } else {
                s.next_due.min(now.saturating_add(s.cfg.interval))
            };
        }
        self.checks_due = self
            .scripts
            .iter()
            .map(|s| s.next_due)
            .min()
            .unwrap_or(Instant::MAX);
    }

    /// Ask for the runs that are due at `now` ([`Action::RunCheck`]) and move each schedule on.
    pub(super) fn run_due_checks(&mut self, now: Instant) {
        if self.checks_due > now {
            return;
        }
        let mut next = Instant::MAX;
        for (k, s) in self.scripts.iter_mut().enumerate() {
            if s.next_due <= now {
                let interval = s.cfg.interval.max(Duration::from_millis(1));
                // The next run is fixed before this one starts, on the grid of due times.
                while s.next_due <= now {
                    s.next_due = s.next_due.saturating_add(interval);
                }
                if !s.running {
                    s.running = true;
                    self.actions.push_back(Action::RunCheck {
                        script: ScriptId(k as u16),
                        timeout: s.cfg.timeout,
                    });
                }
            }
            next = next.min(s.next_due);
        }
        self.checks_due = next;
    }
}
