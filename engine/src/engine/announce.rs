//! The announcement schedule, all of it (RFC 5798 sections 6.4.1 (2) and 6.4.2 (3): a new MASTER
//! broadcasts a gratuitous ARP / unsolicited NA for each virtual address; keepalived.conf(5)
//! `garp_master_repeat`, `garp_master_delay`, `garp_master_refresh` /
//! `garp_master_refresh_repeat`, `garp_lower_prio_repeat` / `garp_lower_prio_delay`,
//! `garp_extra_if`), and the per-interface gate every announcement goes through
//! (`vrrp_garp_interval` / `vrrp_gna_interval`, `garp_group`).
//!
//! The gate, as keepalived 2.2.7 runs it (vrrp_arp.c `send_gratuitous_arp`, vrrp_ndisc.c
//! `ndisc_send_unsolicited_na`, vrrp_scheduler.c `vrrp_arp_thread`): each interface has a
//! next-send time for gratuitous ARPs and one for unsolicited NAs, shared by every instance.
//! Each send sets it to the send time plus the interface's interval. An announcement asked for
//! before that time is not sent: its address is marked pending (a flag, so the repeats of a
//! burst collapse into one) and goes when the gate opens, addresses in the instance's order, one
//! per opening. So `vrrp_garp_interval 0.5`, `garp_master_repeat 5` and two addresses A, B on
//! one interface send A at 0 s, A at 0.5 s and B at 1 s. Leaving MASTER drops what is pending
//! (keepalived's `vrrp_remove_delayed_arp`). One difference, on purpose: keepalived 2.2.7 wakes
//! its pending-send thread one interval after the *queueing* (for NAs always), which can be
//! later than the gate's opening; Vigil sends when the gate opens, never earlier than keepalived
//! would allow and never closer together.
//!
//! A burst of `repeat` asks for every address `repeat` times back to back (keepalived
//! `vrrp_send_link_update`); without a gate that is `repeat` announcements of each address.

#[allow(unused_imports)]
use super::*;

/// One interface's gate (keepalived's `garp_delay_t`): by family (IPv4 ARP, IPv6 NA).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct IfaceGate {
    name: String,
    /// Gate interval by [`family_index`] (zero: no gate).
    interval: [Duration; 2],
    /// When the next announcement may go, by family (None: at once).
    next: [Option<Instant>; 2],
    /// When the last announcement went, by family (None: none sent yet): a reload that changes
    /// the interval spaces the next one from it ([`Engine::adopt_gates`]).
    last: [Option<Instant>; 2],
}

/// The gates of an engine, in the order they were first used, and where to find the gate of an
/// instance's own interface by its [`IfaceId`] (`u16::MAX`: not looked up yet), so that an
/// announcement does not compare interface names (every ask of a burst asks for its gate). Gates
/// only ever grow within an engine (a reload builds a new one), so an index stays valid. The
/// index is derived from the list, so equality is the list's.
#[derive(Clone, Debug, Default)]
pub(super) struct Gates {
    list: Vec<IfaceGate>,
    by_iface: Vec<u16>,
}

impl PartialEq for Gates {
    fn eq(&self, other: &Self) -> bool {
        self.list == other.list
    }
}

fn addr_family(a: IpAddr) -> usize {
    match a {
        IpAddr::V4(_) => family_index(Family::V4),
        IpAddr::V6(_) => family_index(Family::V6),
    }
}

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
    /// once, through that interface's gate; the next is due one interval after `now`, the
    /// advert's scheduled time. So the spacing is the interval rounded up to the advert
    /// schedule, as in keepalived, which checks at each advert it sends.
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
        // One per interface: a plain `dev`, or the macvlan of a family over one.
        let all = inst.cfg.announce.extra_if_all;
        let mut seen: Vec<(&str, bool, bool)> = Vec::new();
        let mut picked = Vec::new();
        for (k, v) in inst.announced.iter().enumerate() {
            if !crate::setup::extra_if_announces(v, &inst.cfg.interface, all) {
                continue;
            }
            let dev = v.dev.as_deref().unwrap_or_default();
            let key = (dev, v.vmac, v.vmac && v.addr.is_ipv6());
            if !seen.contains(&key) {
                seen.push(key);
                picked.push(k);
            }
        }
        let mut sent = Vec::new();
        for k in picked {
            self.ask_announce(now, i, k, &mut sent);
        }
        self.emit(i, sent, true);
    }

    /// A MASTER heard a lower priority (at most once per Advertisement_Interval, `master.rs`):
    /// keepalived's `garp_lower_prio_repeat` / `garp_lower_prio_delay` re-announce the
    /// addresses, which the other master may have taken (keepalived issues #166, #1884).
    pub(super) fn announce_lower_priority_heard(&mut self, now: Instant, i: usize) {
        let inst = &mut self.instances[i];
        let a = inst.cfg.announce;
        if a.lower_prio_repeat == 0 {
            return; // keepalived: `if (vrrp->garp_lower_prio_rep)` guards the delay too
        }
        if !a.lower_prio_delay.is_zero() {
            inst.delayed_repeat = a.lower_prio_repeat;
            inst.set(
                Timer::AnnounceDelayed,
                now.saturating_add(a.lower_prio_delay),
            );
        }
        self.start_burst(now, i, a.lower_prio_repeat);
    }

    /// One of the announcement timers fell due at `at` (served at `now`): a gate opened for a
    /// pending announcement, the delayed burst, or a refresh burst.
    pub(super) fn announce_timer_due(&mut self, t: Timer, at: Instant, now: Instant, i: usize) {
        match t {
            Timer::Announce => {
                self.instances[i].set(Timer::Announce, Instant::MAX);
                self.send_pending(now, i);
            }
            Timer::AnnounceDelayed => {
                self.instances[i].set(Timer::AnnounceDelayed, Instant::MAX);
                let repeat = self.instances[i].delayed_repeat;
                self.start_burst(now, i, repeat);
            }
            Timer::Refresh => {
                let inst = &mut self.instances[i];
                let period = inst.cfg.announce.master_refresh.unwrap_or(Duration::MAX);
                // One period after the refresh's own time; served later than that (a stalled
                // runner), one period after now, as keepalived 2.2.7 re-arms it
                // (vrrp_state_master_tx: one vrrp_send_link_update, then garp_refresh_timer =
                // timer_add_now(garp_refresh)): one burst, not one per period missed.
                let mut next = at.saturating_add(period);
                if next <= now {
                    next = now.saturating_add(period);
                }
                inst.set(Timer::Refresh, next);
                let repeat = inst.cfg.announce.master_refresh_repeat;
                self.start_burst(now, i, repeat);
            }
            Timer::Adver | Timer::MasterDown => {}
        }
    }

    /// keepalived 2.2.7 `vrrp_arp_thread` / `vrrp_arpna_send` for one instance: each pending
    /// address whose interface gate is open goes now (in the instance's order, so one per
    /// interface and family per opening); the others wait for their gate.
    fn send_pending(&mut self, now: Instant, i: usize) {
        let n = self.instances[i].pending.len();
        let mut sent = Vec::new();
        for k in 0..n {
            if !self.instances[i].pending[k] {
                continue;
            }
            // ask_announce marks it pending again (and re-arms the timer) if the gate is shut.
            self.instances[i].pending[k] = false;
            self.ask_announce(now, i, k, &mut sent);
        }
        self.emit(i, sent, false);
    }

    /// [`Engine::ask_gate`] for address `k` of instance `i`; when it goes, it is pushed on
    /// `sent`.
    fn ask_announce(
        &mut self,
        now: Instant,
        i: usize,
        k: usize,
        sent: &mut Vec<crate::setup::VirtualAddress>,
    ) {
        if self.ask_gate(now, i, k) {
            sent.push(self.instances[i].announced[k].clone());
        }
    }

    /// keepalived `vrrp_send_update` for address `k` of instance `i` at `now`: through the
    /// gate of the address's interface (its `dev`, else the instance's). Sent (`true`): the
    /// gate shut for the interval; gate shut (`false`): marked pending, with
    /// [`Timer::Announce`] at the gate's opening.
    fn ask_gate(&mut self, now: Instant, i: usize, k: usize) -> bool {
        let Some(v) = self.instances[i].announced.get(k) else {
            return false;
        };
        let fam = addr_family(v.addr);
        let g = match v.dev.clone() {
            None => self.gate_of_own_iface(i),
            Some(dev) => self.gate_named(&dev),
        };
        let gate = &mut self.gates.list[g];
        let interval = gate.interval[fam];
        // Shut: by this interval, or (after a reload that shortened or removed it) by the
        // interval in force when the last one went.
        if let Some(open) = gate.next[fam].filter(|&open| now < open) {
            let inst = &mut self.instances[i];
            if inst.pending.len() != inst.announced.len() {
                inst.pending.resize(inst.announced.len(), false);
            }
            inst.pending[k] = true;
            let due = inst.get(Timer::Announce).min(open);
            inst.set(Timer::Announce, due);
            return false;
        }
        gate.last[fam] = Some(now);
        gate.next[fam] = (!interval.is_zero()).then(|| now.saturating_add(interval));
        true
    }

    /// The gate of instance `i`'s own interface: looked up by name once per engine and
    /// interface, then by the interface's id ([`Gates`]).
    fn gate_of_own_iface(&mut self, i: usize) -> usize {
        let id = usize::from(self.instances[i].iface.0);
        if let Some(&g) = self.gates.by_iface.get(id).filter(|&&g| g != u16::MAX) {
            return usize::from(g);
        }
        let name = self.instances[i].cfg.interface.clone();
        let g = self.gate_named(&name);
        if let Ok(g16) = u16::try_from(g) {
            if self.gates.by_iface.len() <= id {
                self.gates.by_iface.resize(id + 1, u16::MAX);
            }
            self.gates.by_iface[id] = g16;
        }
        g
    }

    /// The gate of the interface called `name` (of its lower interface when it is a macvlan
    /// or ipvlan: [`crate::setup::AnnounceGates::gate_interface`]), made on first use (the
    /// interval of its configuration, never sent through yet).
    fn gate_named(&mut self, name: &str) -> usize {
        let name = self.gate_config.gate_interface(name);
        match self.gates.list.iter().position(|g| g.name == name) {
            Some(g) => g,
            None => {
                self.gates.list.push(IfaceGate {
                    name: name.to_string(),
                    interval: self.gate_config.of(name),
                    next: [None, None],
                    last: [None, None],
                });
                self.gates.list.len() - 1
            }
        }
    }

    /// A reload kept instance `i` as MASTER and added `added` to its addresses: they are
    /// announced once, each through its interface's gate (pending when it is shut), as any
    /// other announcement.
    pub(super) fn announce_added(
        &mut self,
        now: Instant,
        i: usize,
        added: &[crate::setup::VirtualAddress],
    ) {
        if added.is_empty() {
            return;
        }
        let ks: Vec<usize> = (self.instances[i].announced.iter().enumerate())
            .filter(|(_, a)| added.contains(a))
            .map(|(k, _)| k)
            .collect();
        let mut sent = Vec::new();
        for k in ks {
            self.ask_announce(now, i, k, &mut sent);
        }
        self.emit(i, sent, false);
    }

    /// Queue one [`Action::Announce`] for the addresses sent at once (none: nothing).
    fn emit(&mut self, i: usize, sent: Vec<crate::setup::VirtualAddress>, extra_if: bool) {
        if sent.is_empty() {
            return;
        }
        self.emit_shared(i, Arc::from(sent), extra_if);
    }

    /// [`Engine::emit`] of a list already shared (not empty).
    fn emit_shared(
        &mut self,
        i: usize,
        addrs: Arc<[crate::setup::VirtualAddress]>,
        extra_if: bool,
    ) {
        let inst = &self.instances[i];
        self.actions.push_back(Action::Announce {
            instance: inst.id,
            iface: inst.iface,
            addrs,
            router: inst.cfg.announce.na_router_flag,
            extra_if,
        });
    }

    /// A burst of `repeat` at `now` (keepalived `vrrp_send_link_update`): every address asked
    /// for `repeat` times, back to back, each through its interface's gate. Only with addresses
    /// to announce (the seed; keepalived announces the excluded addresses too).
    pub(super) fn start_burst(&mut self, now: Instant, i: usize, repeat: u32) {
        let announced = Arc::clone(&self.instances[i].announced);
        let n = announced.len();
        for _ in 0..repeat {
            // When every address goes (the usual case without a gate, and the first repeat
            // with one), the announcement is the instance's own list, shared: no copy of each
            // address and no allocation. Otherwise the addresses that went, in order, copied
            // from the first one held back on (with a gate, the repeats of a burst are mostly
            // marked pending, and nothing is allocated).
            let mut sent = Vec::new();
            let mut held_back = false;
            for k in 0..n {
                let went = self.ask_gate(now, i, k);
                if held_back {
                    if went {
                        sent.push(announced[k].clone());
                    }
                } else if !went {
                    held_back = true;
                    sent.extend_from_slice(&announced[..k]);
                }
            }
            if held_back {
                self.emit(i, sent, false);
            } else if n > 0 {
                self.emit_shared(i, Arc::clone(&announced), false);
            }
        }
    }

    /// A reload keeps each interface's gate times; the interval is the new configuration's.
    /// An announcement in flight keeps its spacing: the gate opens at the later of the opening
    /// already due (the old interval after the last send) and the new interval after the last
    /// send, so two announcements are never closer than the interval in force at either of
    /// them. (keepalived 2.2.7 rebuilds its garp_delay list on reload with the next-send times
    /// at zero and drops what was pending: its gate opens at once after a reload.)
    pub(super) fn adopt_gates(&mut self, old: &Engine) {
        for o in &old.gates.list {
            let interval = self.gate_config.of(&o.name);
            let next = core::array::from_fn(|f| {
                let by_new = o.last[f]
                    .filter(|_| !interval[f].is_zero())
                    .map(|l| l.saturating_add(interval[f]));
                o.next[f].max(by_new)
            });
            self.gates.list.push(IfaceGate {
                name: o.name.clone(),
                interval,
                next,
                last: o.last,
            });
        }
    }

    /// A reload kept instance `from` as `to`: the addresses still announced keep their pending
    /// announcement (keyed by address; one the new configuration dropped is not announced).
    pub(super) fn carry_pending(from: &Instance, to: &mut Instance) {
        to.pending.clear();
        if to.state != State::Master || !from.pending.contains(&true) {
            return;
        }
        let mut pending = vec![false; to.announced.len()];
        for (k, _) in from.pending.iter().enumerate().filter(|(_, p)| **p) {
            let Some(a) = from.announced.get(k) else {
                continue;
            };
            if let Some(j) = to.announced.iter().position(|x| x == a) {
                pending[j] = true;
            }
        }
        if pending.contains(&true) {
            to.pending = pending;
        }
    }
}
