//! When checks run (keepalived.conf(5): `delay_loop`, `delay_before_retry`, `warmup`,
//! `connect_timeout`, `misc_timeout`; the seed's MISC_CHECK rule).
//!
//! * **Absolute schedule, decided when a run starts** (the seed's rule: "register a new timer
//!   thread before forking the check"). A run that starts at its scheduled time S is followed by
//!   the next at S + `delay_loop`, or at S + `delay_before_retry` when its failure calls for a
//!   retry. A slow check therefore never shifts the schedule; only a run that outlasts its slot
//!   moves the next run to the moment it ends (no check ever overlaps its own previous run).
//!   keepalived's MISC_CHECK computes its next run the same way (`last_ran` + delay); its network
//!   checkers count the delay from the end of the check, which drifts by the check's duration.
//! * **Deadline**: a run is abandoned at S' + timeout, S' being when it really started
//!   (`connect_timeout` for network checkers; `misc_timeout`, else the virtual server's
//!   `delay_loop`, for MISC_CHECK), and counts as a failure.
//! * **Spread, never bunched**: keepalived starts each checker after a random delay within its
//!   `warmup` (default `delay_loop`). Vigil is deterministic: of the n checkers of the
//!   configuration, the k-th (in configuration order, from 0) starts at start + warmup * k / n.
//!   Checkers with the default warmup are so spread evenly over one `delay_loop`, and as each
//!   then repeats every `delay_loop` from its own start, they stay spread. `warmup 0` starts a
//!   checker at once.
//! * **Silence**: a UDP_CHECK without `require_reply` passes when no ICMP error comes back by its
//!   deadline (keepalived.conf(5), UDP_CHECK): for it, reaching the deadline is a success.

use core::time::Duration;

use crate::time::Instant;

/// When the k-th of n checkers runs first.
pub(super) fn first_run(start: Instant, warmup: Duration, k: usize, n: usize) -> Instant {
    if n == 0 {
        return start;
    }
    let w = warmup.as_nanos();
    let off = w.saturating_mul(k as u128) / n as u128;
    start.saturating_add(Duration::from_nanos(u64::try_from(off).unwrap_or(u64::MAX)))
}

/// When the run after one scheduled at `scheduled` runs, decided as that run ends at `now`.
pub(super) fn next_run(
    scheduled: Instant,
    now: Instant,
    retry_pending: bool,
    delay_loop: Duration,
    delay_before_retry: Duration,
) -> Instant {
    let delay = if retry_pending {
        delay_before_retry
    } else {
        delay_loop
    };
    scheduled.saturating_add(delay).max(now)
}

/// When a run that really started at `started` is abandoned.
pub(super) fn deadline(started: Instant, timeout: Duration) -> Instant {
    started.saturating_add(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> Instant {
        Instant::from_millis(x * 1000)
    }

    #[test]
    fn first_runs_spread_evenly_over_warmup() {
        let w = Duration::from_secs(10);
        let starts: Vec<_> = (0..5).map(|k| first_run(s(0), w, k, 5)).collect();
        assert_eq!(starts, vec![s(0), s(2), s(4), s(6), s(8)]);
        assert_eq!(first_run(s(3), Duration::ZERO, 4, 5), s(3));
    }

    #[test]
    fn next_run_counts_from_the_scheduled_start_not_the_end() {
        let dl = Duration::from_secs(6);
        let dbr = Duration::from_secs(1);
        // A check scheduled at 10 s that took 2.5 s: the next is still at 16 s.
        assert_eq!(
            next_run(s(10), Instant::from_millis(12_500), false, dl, dbr),
            s(16)
        );
        // A failure that calls for a retry: 1 s after the scheduled start, or at once if later.
        assert_eq!(next_run(s(10), s(10), true, dl, dbr), s(11));
        assert_eq!(next_run(s(10), s(13), true, dl, dbr), s(13));
        // A run that outlasted its slot: the next starts as it ends, never overlapping.
        assert_eq!(next_run(s(10), s(17), false, dl, dbr), s(17));
    }
}
