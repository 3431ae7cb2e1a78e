//! A virtual server's quorum (keepalived.conf(5): `quorum`, `hysteresis`, `quorum_up`,
//! `quorum_down`, `sorry_server`, `omega`; keepalived 2.2.7 `ipwrapper.c`,
//! `update_quorum_state`).
//!
//! * The **weight sum** is the sum of the effective weights of the alive real servers.
//! * Down -> up when the sum reaches `quorum + hysteresis`; up -> down when it falls below
//!   `quorum - hysteresis` (or to 0). Between the two the state holds: the hysteresis damps
//!   flapping.
//! * Gaining the quorum runs `quorum_up` and takes the sorry server out; losing it runs
//!   `quorum_down` and puts the sorry server in (in place of the real servers).
//! * At start the quorum is down until the first evaluation: a virtual server whose real
//!   servers start alive gains it at once (and runs `quorum_up` then, as keepalived does); one
//!   that starts below it with a sorry server uses the sorry server and runs `quorum_down`.
//! * At shutdown, with `omega`, `quorum_down` runs (and each alive real server's `notify_down`).

/// A virtual server's quorum state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Quorum {
    /// The quorum is met.
    pub up: bool,
    /// The sorry server is in use.
    pub sorry_in_use: bool,
}

/// A change of the quorum: up or down, and the threshold that was crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QuorumChange {
    /// Gained (true) or lost.
    pub up: bool,
    /// The threshold crossed.
    pub threshold: u64,
}

impl Quorum {
    /// Re-evaluates with `sum`; `init` at start-up.
    pub(super) fn update(
        &mut self,
        sum: u64,
        quorum: u32,
        hysteresis: u32,
        has_sorry: bool,
        init: bool,
    ) -> Option<QuorumChange> {
        let (q, h) = (u64::from(quorum), u64::from(hysteresis));
        if !self.up && sum >= q + h {
            self.up = true;
            self.sorry_in_use = false;
            return Some(QuorumChange {
                up: true,
                threshold: q + h,
            });
        }
        let lost = self.up && (sum == 0 || sum < q.saturating_sub(h));
        let start_down = init && !self.up && has_sorry && !self.sorry_in_use;
        if lost || start_down {
            let threshold = if self.up { q.saturating_sub(h) } else { q + h };
            self.up = false;
            self.sorry_in_use = has_sorry;
            return Some(QuorumChange {
                up: false,
                threshold,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_damps_both_ways() {
        let mut q = Quorum::default();
        // quorum 3, hysteresis 1: up at 4, down below 2.
        assert_eq!(q.update(3, 3, 1, true, true).map(|c| c.up), Some(false));
        assert!(q.sorry_in_use);
        assert_eq!(q.update(3, 3, 1, true, false), None);
        assert_eq!(
            q.update(4, 3, 1, true, false),
            Some(QuorumChange {
                up: true,
                threshold: 4
            })
        );
        assert!(!q.sorry_in_use);
        assert_eq!(q.update(2, 3, 1, true, false), None);
        assert_eq!(
            q.update(1, 3, 1, true, false),
            Some(QuorumChange {
                up: false,
                threshold: 2
            })
        );
        assert!(q.sorry_in_use);
    }

    #[test]
    fn no_sorry_server_no_start_down_notification() {
        let mut q = Quorum::default();
        assert_eq!(q.update(0, 1, 0, false, true), None);
        assert!(!q.up && !q.sorry_in_use);
    }

    #[test]
    fn zero_sum_loses_the_quorum_even_with_a_big_hysteresis() {
        let mut q = Quorum {
            up: true,
            sorry_in_use: false,
        };
        assert_eq!(q.update(0, 2, 5, false, false).map(|c| c.up), Some(false));
    }
}
