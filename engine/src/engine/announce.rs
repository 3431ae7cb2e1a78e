//! The announcement schedule, all of it (RFC 5798 sections 6.4.1 (2) and 6.4.2 (3): a new MASTER
//! broadcasts a gratuitous ARP / unsolicited NA for each virtual address; keepalived.conf(5)
//! `garp_master_repeat`, `vrrp_garp_interval` / `vrrp_gna_interval`, `garp_master_delay`,
//! `garp_master_refresh` / `garp_master_refresh_repeat`, `garp_lower_prio_repeat` /
//! `garp_lower_prio_delay`): bursts of [`Action::Announce`] at exact virtual times; and
//! `garp_extra_if`, the periodic announcement on the addresses' other interfaces, checked at
//! each advert a MASTER sends.

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// RFC 5798 section 6.4.1 (2) / 6.4.2 (3), on becoming MASTER: a burst of
    /// `garp_master_repeat` now, the same burst again after `garp_master_delay` (0: none), and
    /// bursts of `garp_master_refresh_repeat` every `garp_master_refresh` (default off).
    pub(super) fn announce_new_master(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        let a = inst.cfg.announce;
        if !a.master_delay.is_zero() {
            inst.delayed_repeat = a.master_repeat;
            inst.set(Timer::AnnounceDelayed, now.saturating_add(a.master_delay));
        }
        if let Some(period) = a.master_refresh.filter(|p| !p.is_zero()) {
            inst.set(Timer::Refresh, now.saturating_add(period));
        }
        // keepalived 2.2.7 vrrp_state_become_master: vmac_garp_timer = now + vmac_garp_intvl.
        inst.extra_if_due = a.extra_if.map_or(Instant::MAX, |p| now.saturating_add(p));
        self.start_burst(now, i, a.master_repeat);
    }

    /// keepalived.conf(5) `garp_extra_if` (keepalived 2.2.7 `vrrp_state_master_tx` and
    /// `vrrp_send_vmac_update`): a MASTER sending its periodic advert at or after the due time
    /// announces, on each interface other than its own that carries one of its addresses
    /// (virtual, then excluded; [`crate::setup::on_other_interface`]), the first address there,
    /// once; the next is due one interval after `now`, the advert's scheduled time. So the
    /// spacing is the interval rounded up to the advert schedule, as in keepalived, which checks
    /// at each advert it sends.
    pub(super) fn announce_extra_if(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        let Some(period) = inst.cfg.announce.extra_if else {
            return;
        };
        // Instant::MAX: enabled by a reload while MASTER; keepalived's new instance has a
        // zero timer, so the next advert announces.
        if now < inst.extra_if_due && inst.extra_if_due != Instant::MAX {
            return;
        }
        inst.extra_if_due = now.saturating_add(period);
        let mut seen: Vec<&str> = Vec::new();
        let mut addrs = Vec::new();
        for v in inst.announced.iter() {
            if !crate::setup::on_other_interface(v, &inst.cfg.interface) {
                continue;
            }
            let dev = v.dev.as_deref().unwrap_or_default();
            if !seen.contains(&dev) {
                seen.push(dev);
                addrs.push(v.clone());
            }
        }
        if addrs.is_empty() {
            return; // a reload moved every address onto the instance's interface
        }
        self.actions.push_back(Action::Announce {
            instance: inst.id,
            iface: inst.iface,
            addrs: Arc::from(addrs),
            router: inst.cfg.announce.na_router_flag,
            extra_if: true,
        });
    }

    /// A MASTER heard a lower priority: keepalived's `garp_lower_prio_repeat` /
    /// `garp_lower_prio_delay` re-announce the addresses, which the other master may have taken
    /// (keepalived issues #166, #1884). One burst at a time: a peer that keeps advertising does
    /// not multiply them.
    pub(super) fn announce_lower_priority_heard(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        let a = inst.cfg.announce;
        if inst.burst_left == 0 {
            if !a.lower_prio_delay.is_zero() {
                inst.delayed_repeat = a.lower_prio_repeat;
                inst.set(
                    Timer::AnnounceDelayed,
                    now.saturating_add(a.lower_prio_delay),
                );
            }
            self.start_burst(now, i, a.lower_prio_repeat);
        }
    }

    /// One of the announcement timers fell due at `at`: the next announcement of a spaced
    /// burst, the delayed burst, or a refresh burst.
    pub(super) fn announce_timer_due(&mut self, t: Timer, at: Instant, i: usize) {
        match t {
            Timer::Announce => {
                if self.instances[i].announced.is_empty() {
                    // A reload took every address away during the burst: nothing is left to
                    // announce, so the burst ends (found by the engine fuzz target).
                    let inst = &mut self.instances[i];
                    inst.burst_left = 0;
                    inst.set(Timer::Announce, Instant::MAX);
                    return;
                }
                self.announce_once(i);
                let inst = &mut self.instances[i];
                inst.burst_left = inst.burst_left.saturating_sub(1);
                let next = if inst.burst_left > 0 {
                    at.saturating_add(inst.cfg.announce.interval)
                } else {
                    Instant::MAX
                };
                inst.set(Timer::Announce, next);
            }
            Timer::AnnounceDelayed => {
                self.instances[i].set(Timer::AnnounceDelayed, Instant::MAX);
                let repeat = self.instances[i].delayed_repeat;
                self.start_burst(at, i, repeat);
            }
            Timer::Refresh => {
                let inst = &mut self.instances[i];
                let period = inst.cfg.announce.master_refresh.unwrap_or(Duration::MAX);
                inst.set(Timer::Refresh, at.saturating_add(period));
                let repeat = inst.cfg.announce.master_refresh_repeat;
                self.start_burst(at, i, repeat);
            }
            Timer::Adver | Timer::MasterDown => {}
        }
    }

    pub(super) fn announce_once(&mut self, i: usize) {
        let inst = &self.instances[i];
        self.actions.push_back(Action::Announce {
            instance: inst.id,
            iface: inst.iface,
            addrs: Arc::clone(&inst.announced),
            router: inst.cfg.announce.na_router_flag,
            extra_if: false,
        });
    }

    /// Start a burst of `repeat` announcements at `at`: back to back, or spaced by
    /// `vrrp_garp_interval` through [`Timer::Announce`]. Only with addresses to announce (the
    /// seed; keepalived announces the excluded addresses too).
    pub(super) fn start_burst(&mut self, at: Instant, i: usize, repeat: u32) {
        if repeat == 0 || self.instances[i].announced.is_empty() {
            return;
        }
        let spacing = self.instances[i].cfg.announce.interval;
        if spacing.is_zero() {
            for _ in 0..repeat {
                self.announce_once(i);
            }
            return;
        }
        self.announce_once(i);
        let inst = &mut self.instances[i];
        inst.burst_left = repeat - 1;
        let next = if inst.burst_left > 0 {
            at.saturating_add(spacing)
        } else {
            Instant::MAX
        };
        inst.set(Timer::Announce, next);
    }
}
