//! State transitions (RFC 5798 section 6.4: 6.4.1 Initialize, the entries into MASTER and BACKUP
//! of 6.4.2 / 6.4.3; RFC 9568; keepalived's FAULT state): start-up, entering and leaving each
//! state with its actions (adverts, addresses, timers, notifications), shutdown.

#[allow(unused_imports)]
use super::*;

impl Engine {
    pub(super) fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        self.start_checks(now);
        for i in 0..self.instances.len() {
            self.instances[i].priority = self.effective_priority(i);
            self.note_wait(i);
            let inst = &mut self.instances[i];
            if inst.cfg.preempt_delay > Duration::ZERO {
                // keepalived: preempt_delay also holds off preemption after start-up.
                inst.preempt_at = Some(now.saturating_add(inst.cfg.preempt_delay));
            }
        }
        for i in 0..self.instances.len() {
            if self.instances[i].state != State::Init {
                continue; // moved with its group already
            }
            match self.instances[i].group {
                Some(g) => self.settle_group(now, usize::from(g), i, Some(Reason::Startup)),
                None => self.leave_fault(now, i, Reason::Startup),
            }
            self.schedule_with_group(i);
        }
        self.run_due_checks(now);
    }

    /// A lone instance from INIT or FAULT: FAULT if a fault holds, MASTER for the owner, BACKUP
    /// otherwise; at start-up an owner configured `state BACKUP` starts as BACKUP too (see
    /// [`WantState`]).
    ///
    /// RFC 5798 section 6.4.1 starts only the owner as MASTER. keepalived 2.2.7 follows it with
    /// its configured state (wantstate) on top, as measured against the Debian build in a
    /// network namespace (1 s adverts): no `state` at priority 255 -> MASTER at once;
    /// `state BACKUP` at priority 255 -> BACKUP, MASTER after 3.08 s (3 s + 1/256 s, the
    /// full Master_Down_Interval); `state MASTER` at priority 150 -> BACKUP, MASTER after
    /// 3.45 s (3 s + 106/256 s: the full Master_Down_Interval too, not the one interval plus
    /// minimal skew that `vrrp_init_state` in vrrp_scheduler.c sets: `try_up_instance`, run
    /// when the instance leaves INIT, resets a non-owner's timer to the full interval).
    pub(super) fn leave_fault(&mut self, now: Instant, i: usize, reason: Reason) {
        let startup = reason == Reason::Startup;
        let told_backup = startup && self.instances[i].cfg.want_state == WantState::Backup;
        if let Some(fault) = self.fault(i) {
            if self.instances[i].state != State::Fault {
                self.become_fault(now, i, fault);
            }
        } else if self.instances[i].is_owner() && !told_backup {
            let r = if startup {
                Reason::AddressOwner
            } else {
                reason
            };
            self.become_master(now, i, r);
        } else {
            let own = self.instances[i].cfg.advert_interval;
            self.become_backup(now, i, reason, own);
        }
    }

    pub(super) fn set_state(&mut self, i: usize, to: State, reason: Reason) {
        let inst = &mut self.instances[i];
        let from = inst.state;
        debug_assert!(
            from.can_go_to(to),
            "{from} -> {to} is not an edge of the state diagram"
        );
        inst.state = to;
        if to == State::Master {
            inst.stats.became_master += 1;
        }
        if from == State::Master {
            inst.stats.released_master += 1;
        }
        self.actions.push_back(Action::StateChange {
            instance: inst.id,
            from,
            to,
            priority: inst.priority,
            reason,
        });
        self.note_wait(i);
    }

    /// RFC 5798 section 6.4.1/6.4.2: send an advert, add and announce the addresses, start
    /// Adver_Timer, go MASTER. The announcements: a burst of `garp_master_repeat` now, another
    /// after `garp_master_delay`, and `garp_master_refresh` bursts.
    pub(super) fn become_master(&mut self, now: Instant, i: usize, reason: Reason) {
        self.send_advert(i, self.instances[i].priority);
        let src = self.source(i);
        let inst = &mut self.instances[i];
        // An instance without virtual addresses (no_virtual_ipaddress) has none to add.
        if !inst.vips.is_empty() {
            self.actions.push_back(Action::AddAddresses {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.vips),
            });
        }
        // keepalived's order: virtual addresses, excluded addresses, then the routes (which may
        // use them).
        if !inst.excluded.is_empty() {
            self.actions.push_back(Action::AddExcludedAddresses {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.excluded),
            });
        }
        if !inst.routes.is_empty() {
            self.actions.push_back(Action::AddRoutes {
                instance: inst.id,
                routes: Arc::clone(&inst.routes),
            });
        }
        // Then the rules, which may point at the routes' tables (vrrp_state_become_master).
        if !inst.rules.is_empty() {
            self.actions.push_back(Action::AddRules {
                instance: inst.id,
                rules: Arc::clone(&inst.rules),
            });
        }
        inst.master_adver_interval = inst.cfg.advert_interval;
        inst.master_addr = src;
        inst.want_master = false;
        inst.set(Timer::MasterDown, Instant::MAX);
        // "Set the Adver_Timer to Advertisement_Interval" (RFC 5798 section 6.4.2): the second
        // advert comes at least one interval after this one, then on the shared grid.
        inst.set(
            Timer::Adver,
            next_advert_after(now, inst.cfg.advert_interval, inst.grid_phase),
        );
        self.announce_new_master(now, i);
        self.set_state(i, State::Master, reason);
    }

    /// Go BACKUP with Master_Adver_Interval `mai` and a fresh Master_Down_Timer. Leaving MASTER
    /// removes the addresses first (the seed: "ms_down_timer = 3 * advert_int + skew when
    /// leaving MASTER").
    pub(super) fn become_backup(&mut self, now: Instant, i: usize, reason: Reason, mai: Duration) {
        if self.instances[i].state == State::Master {
            self.remove_addresses(i);
        }
        let inst = &mut self.instances[i];
        inst.stop_master_timers();
        inst.want_master = false;
        inst.master_adver_interval = mai;
        inst.restart_down_timer(now);
        self.set_state(i, State::Backup, reason);
    }

    /// Go FAULT: silent, no addresses. A master whose link still works says goodbye with
    /// priority 0 so that a backup takes over after Skew_Time rather than Master_Down_Interval.
    pub(super) fn become_fault(&mut self, _now: Instant, i: usize, reason: Reason) {
        let link_up = self.ifaces[usize::from(self.instances[i].iface.0)].up;
        let goodbye = link_up && self.source(i).is_some();
        self.go_silent(i, State::Fault, reason, goodbye);
    }

    /// Leave for FAULT or INIT: a MASTER sends priority 0 (when `goodbye`) and removes its
    /// addresses; every timer stops.
    pub(super) fn go_silent(&mut self, i: usize, to: State, reason: Reason, goodbye: bool) {
        if self.instances[i].state == State::Master {
            if goodbye {
                self.send_advert(i, 0);
            }
            self.remove_addresses(i);
        }
        let inst = &mut self.instances[i];
        inst.stop_timers();
        inst.want_master = false;
        inst.master_addr = None;
        if to == State::Init {
            inst.preempt_at = None;
        }
        self.set_state(i, to, reason);
    }

    /// Leaving MASTER: the rules first, then the routes (they may use the addresses), then the
    /// virtual addresses, then the excluded ones (keepalived's `vrrp_restore_interface` order).
    pub(super) fn remove_addresses(&mut self, i: usize) {
        let inst = &self.instances[i];
        if !inst.rules.is_empty() {
            self.actions.push_back(Action::RemoveRules {
                instance: inst.id,
                rules: Arc::clone(&inst.rules),
            });
        }
        if !inst.routes.is_empty() {
            self.actions.push_back(Action::RemoveRoutes {
                instance: inst.id,
                routes: Arc::clone(&inst.routes),
            });
        }
        // An instance without virtual addresses (no_virtual_ipaddress) has none to remove.
        if !inst.vips.is_empty() {
            self.actions.push_back(Action::RemoveAddresses {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.vips),
            });
        }
        if !inst.excluded.is_empty() {
            self.actions.push_back(Action::RemoveExcludedAddresses {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.excluded),
            });
        }
    }

    /// RFC 5798 section 6.4.2/6.4.3 "Shutdown": a master sends priority 0 and removes its
    /// addresses; everyone goes INIT.
    pub(super) fn shutdown(&mut self, _now: Instant) {
        for i in 0..self.instances.len() {
            self.stop_instance(i);
        }
        for g in 0..self.groups.len() {
            if let Some(&first) = self.groups[g].members.first() {
                self.update_group_state(g, first as usize, Reason::Shutdown);
            }
        }
        self.started = false;
        self.stop_checks();
    }

    /// Stop one instance as on shutdown: a MASTER sends priority 0 and removes its addresses.
    pub(crate) fn stop_instance(&mut self, i: usize) {
        if self.instances[i].state != State::Init {
            self.go_silent(i, State::Init, Reason::Shutdown, true);
        }
    }
}
