//! One checker's up / down state (keepalived.conf(5): `retry`, `alpha`, `misc_dynamic`,
//! FILE_CHECK `weight`; keepalived 2.2.7 `check_misc.c`, `check_tcp.c`).
//!
//! * A checker starts **up** (so its real server serves at once), or **down** with `alpha`.
//! * **Retries**: a checker that is up needs `retry` + 1 failures in a row to go down: the
//!   first failure of a scheduled run is retried `retry` times, `delay_before_retry` apart.
//!   At start-up one failure is enough (keepalived sets the retry count as used up: a server
//!   that does not answer its very first check is not given the benefit of the doubt). A checker
//!   that is already down is not retried (nothing to confirm): its failures keep the
//!   `delay_loop` pace.
//! * One success brings a checker up and resets the retries.
//! * **misc_dynamic**: exit status 0 is success with the configured weight; 1 is failure;
//!   2..=255 is success with the real server's weight set to status - 2 (the checker adds
//!   status - 2 - configured weight). Without `misc_dynamic` every non-zero status is a failure.
//!   A failure drops the checker's weight adjustment.
//! * **FILE_CHECK** follows its file: value v times `weight` (negated with `reverse`) is added
//!   to the weight; with weight 0 any non-zero value means down; a product at or below
//!   -2^31 (keepalived's IPVS_WEIGHT_FAULT) means down.

use super::io::CheckOutcome;

/// A checker's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Health {
    /// Up (its real server may serve).
    pub up: bool,
    /// Whether a run has completed.
    pub has_run: bool,
    /// Failures retried so far.
    pub retry_it: u32,
    /// What this checker adds to its real server's weight (`misc_dynamic`, FILE_CHECK).
    pub weight: i64,
}

/// What a result changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The checker's new state when it changed.
    pub changed: Option<bool>,
    /// The first result confirmed the start state (keepalived notifies then in alpha mode, or
    /// for a failure).
    pub first_confirmed: bool,
    /// The next run is a retry.
    pub retry_pending: bool,
    /// The weight adjustment changed.
    pub weight_changed: bool,
    /// The outcome, for logs.
    pub why: String,
}

impl Health {
    /// A checker before its first run.
    pub(super) fn new(alpha: bool, retry: u32) -> Health {
        Health {
            up: !alpha,
            has_run: false,
            retry_it: retry,
            weight: 0,
        }
    }

    /// Applies one run's outcome. `retry` is the checker's `retry`, `dynamic` its
    /// `misc_dynamic`, `base` the real server's configured weight.
    pub(super) fn apply(
        &mut self,
        outcome: &CheckOutcome,
        retry: u32,
        dynamic: bool,
        base: u32,
    ) -> Verdict {
        let (success, new_weight, why) = match outcome {
            CheckOutcome::Success => (true, Some(0), "succeeded".to_string()),
            CheckOutcome::Failure(w) => (false, None, w.clone()),
            CheckOutcome::Exit(0) => (true, Some(0), "exited with status 0".to_string()),
            CheckOutcome::Exit(c) if dynamic && *c >= 2 => (
                true,
                Some(i64::from(*c) - 2 - i64::from(base)),
                format!("exited with status {c}"),
            ),
            CheckOutcome::Exit(c) => (false, None, format!("exited with status {c}")),
        };
        let mut v = Verdict {
            changed: None,
            first_confirmed: false,
            retry_pending: false,
            weight_changed: false,
            why,
        };
        let first = !self.has_run;
        self.has_run = true;
        if success {
            self.retry_it = 0;
            let w = new_weight.unwrap_or(0);
            if w != self.weight {
                self.weight = w;
                v.weight_changed = true;
            }
            if !self.up {
                self.up = true;
                v.changed = Some(true);
            } else if first {
                v.first_confirmed = true;
            }
            return v;
        }
        if !(self.up || first) {
            return v; // down already: nothing to retry
        }
        if self.retry_it < retry {
            self.retry_it += 1;
            v.retry_pending = true;
            return v;
        }
        self.retry_it = 0;
        if self.weight != 0 {
            self.weight = 0;
            v.weight_changed = true;
        }
        if self.up {
            self.up = false;
            v.changed = Some(false);
        } else {
            v.first_confirmed = true;
        }
        v
    }

    /// Applies a FILE_CHECK's file value with the checker's `weight` and `reverse`.
    pub(super) fn apply_file(&mut self, value: i64, weight: i32, reverse: bool) -> Verdict {
        let (up, w) = if weight == 0 {
            (value == 0, 0)
        } else {
            let p = value
                .saturating_mul(i64::from(weight))
                .saturating_mul(if reverse { -1 } else { 1 });
            if p <= i64::from(i32::MIN) {
                (false, 0)
            } else {
                (true, p)
            }
        };
        self.has_run = true;
        let mut v = Verdict {
            changed: None,
            first_confirmed: false,
            retry_pending: false,
            weight_changed: w != self.weight,
            why: format!("file value {value}"),
        };
        self.weight = w;
        if up != self.up {
            self.up = up;
            v.changed = Some(up);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail() -> CheckOutcome {
        CheckOutcome::Failure("connection refused".into())
    }

    #[test]
    fn retry_failures_in_a_row_take_an_up_checker_down() {
        let mut h = Health::new(false, 2);
        // The first run succeeds: up confirmed.
        assert!(h.apply(&CheckOutcome::Success, 2, false, 1).first_confirmed);
        let a = h.apply(&fail(), 2, false, 1);
        assert!(a.retry_pending && a.changed.is_none());
        let b = h.apply(&fail(), 2, false, 1);
        assert!(b.retry_pending && b.changed.is_none());
        let c = h.apply(&fail(), 2, false, 1);
        assert_eq!((c.changed, c.retry_pending), (Some(false), false));
    }

    #[test]
    fn one_failure_is_enough_at_start() {
        let mut h = Health::new(false, 3);
        assert_eq!(h.apply(&fail(), 3, false, 1).changed, Some(false));
    }

    #[test]
    fn a_success_between_failures_resets_the_retries() {
        let mut h = Health::new(false, 1);
        h.apply(&CheckOutcome::Success, 1, false, 1);
        assert!(h.apply(&fail(), 1, false, 1).retry_pending);
        h.apply(&CheckOutcome::Success, 1, false, 1);
        assert!(h.apply(&fail(), 1, false, 1).retry_pending);
    }

    #[test]
    fn alpha_starts_down_and_one_success_brings_it_up() {
        let mut h = Health::new(true, 3);
        assert!(!h.up);
        assert_eq!(
            h.apply(&CheckOutcome::Success, 3, false, 1).changed,
            Some(true)
        );
    }

    #[test]
    fn a_down_checker_is_not_retried() {
        let mut h = Health::new(false, 0);
        h.apply(&fail(), 0, false, 1);
        let v = h.apply(&fail(), 5, false, 1);
        assert!(!v.retry_pending && v.changed.is_none());
    }

    #[test]
    fn misc_dynamic_exit_status_sets_the_weight() {
        let mut h = Health::new(false, 0);
        let v = h.apply(&CheckOutcome::Exit(12), 0, true, 3);
        assert!(v.weight_changed);
        assert_eq!(3 + h.weight, 10);
        assert!(h.up);
        // Without misc_dynamic, status 12 is a failure.
        let mut g = Health::new(false, 0);
        assert_eq!(
            g.apply(&CheckOutcome::Exit(12), 0, false, 3).changed,
            Some(false)
        );
        // Exit 1 is a failure and drops the adjustment.
        let v = h.apply(&CheckOutcome::Exit(1), 0, true, 3);
        assert_eq!((v.changed, h.weight), (Some(false), 0));
    }

    #[test]
    fn file_check_weight_and_fault() {
        let mut h = Health::new(false, 0);
        h.apply_file(5, 2, false);
        assert_eq!((h.up, h.weight), (true, 10));
        h.apply_file(5, 2, true);
        assert_eq!((h.up, h.weight), (true, -10));
        h.apply_file(3, 0, false);
        assert!(!h.up);
        h.apply_file(i64::from(i32::MIN), 1, false);
        assert!(!h.up);
    }
}
