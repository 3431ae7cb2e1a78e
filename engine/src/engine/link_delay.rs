//! keepalived.conf(5) `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`: a link change
//! reaches the instances only after it has lasted the configured delay (a debounce of flapping
//! carriers). The rule is keepalived 2.2.7's (`keepalived_netlink.c`, `update_interface_flags`;
//! `vrrp.c`, `check_debounce_timers`):
//!
//! - a change of an interface that has been up at least once starts a timer of the delay of its
//!   direction (down or up); what is reported before start-up, and the first up of an interface
//!   that was down at start, act at once;
//! - the link coming back to the state the instances have while the timer runs cancels it: the
//!   change never happened for them; the same change reported again changes nothing;
//! - when it runs out, the instances see the change (FAULT, or out of it), as without a delay;
//! - a delay is kept below `(down_timer_adverts - 1)` x the master's advertisement interval of
//!   every instance on the interface (less 1/256 of that interval), so that a backup does not
//!   declare the master down before it hears the link is down; with `down_timer_adverts 1`
//!   there is no delay. keepalived lowers the stored delay when it happens; Vigil applies the
//!   bound when the change comes, with the intervals of that moment.

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// The runner reports interface `iface`'s link.
    pub(super) fn link(&mut self, now: Instant, iface: IfaceId, up: bool) {
        let k = usize::from(iface.0);
        let Some(f) = self.ifaces.get_mut(k) else {
            return;
        };
        if let Some((pending_up, _)) = f.pending_link {
            if pending_up == up {
                return;
            }
            // Back to the state the instances have: the pending change is dropped.
            f.pending_link = None;
        }
        if f.up == up {
            if up {
                f.seen_up = true;
            }
            return;
        }
        if !self.started {
            // The state before start-up: taken at once. An interface down at start has not
            // been seen up: its first up is not delayed.
            f.seen_up = up;
            self.apply_link(now, k, up);
            return;
        }
        let delay = self.link_delay(k, up);
        let f = &mut self.ifaces[k];
        if f.seen_up && !delay.is_zero() {
            f.pending_link = Some((up, now.saturating_add(delay)));
            return;
        }
        self.apply_link(now, k, up);
    }

    fn apply_link(&mut self, now: Instant, k: usize, up: bool) {
        let f = &mut self.ifaces[k];
        f.up = up;
        if up {
            f.seen_up = true;
        }
        self.settle_iface(now, IfaceId(u16::try_from(k).unwrap_or(u16::MAX)));
    }

    /// Apply the delayed link changes that are due.
    pub(super) fn link_changes_due(&mut self, now: Instant) {
        for k in 0..self.ifaces.len() {
            if let Some((up, at)) = self.ifaces[k].pending_link {
                if at <= now {
                    self.ifaces[k].pending_link = None;
                    self.apply_link(now, k, up);
                }
            }
        }
    }

    /// When the next delayed link change is due (`None`: none pending).
    /// [`Engine::poll_timeout`] includes it.
    pub fn next_link_change(&self) -> Option<Instant> {
        self.ifaces
            .iter()
            .filter_map(|f| f.pending_link.map(|(_, at)| at))
            .min()
    }

    /// The delay of interface `k` for a change to `up`, bounded as keepalived bounds it.
    fn link_delay(&self, k: usize, up: bool) -> Duration {
        let f = &self.ifaces[k];
        let mut d = if up { f.up_delay } else { f.down_delay };
        if d.is_zero() {
            return d;
        }
        for &i in &f.instances {
            let inst = &self.instances[i as usize];
            let n = inst.cfg.down_timer_adverts;
            if n <= 1 {
                return Duration::ZERO;
            }
            let ai = inst.master_adver_interval;
            let limit = ai.saturating_mul(n - 1);
            if d >= limit {
                d = limit.saturating_sub(ai / 256);
            }
        }
        d
    }
}
