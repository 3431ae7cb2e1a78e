//! Reloading the configuration (SIGHUP) without disturbing what did not change.
//!
//! keepalived's reloads have dropped addresses and caused needless transitions (its issues
//! #2159, #1854, #2364). Vigil's rule: an instance is *the same virtual router* when its name,
//! interface, address family, VRID and version are unchanged. Such an instance keeps its state,
//! timers, learned Master_Adver_Interval and counters: no transition, no gap in its adverts. When
//! it is MASTER and its virtual addresses changed, only the difference is removed and added.
//! Other settings (priority, interval, preemption, tracking, announcements) take effect from the
//! reload on: a new priority goes into the next advert, a new interval moves the next advert onto
//! the new interval's grid. Any other instance is a different virtual router: a removed one stops
//! as on shutdown (a MASTER sends priority 0 and removes its addresses), a new one starts as at
//! start-up. Interface facts (link, primary addresses), check-program states and tracked-file
//! values carry over by name. Announcements keep going through the interfaces' gates
//! (announce.rs): a kept MASTER's pending announcements stay pending, the addresses a reload
//! adds are announced through the gate, and a changed `vrrp_garp_interval` / `garp_group`
//! applies from each interface's last send without bringing forward an opening already due.
//!
//! A configuration the engine cannot run is refused with a [`SetupError`] and the running one is
//! left exactly as it was. Instance ids may change with a reload: resolve them again.

#[allow(unused_imports)]
use super::*;

use crate::by_name::ByName;
use crate::engine::Engine;
use crate::instance::{grid_after, next_advert_after, Timer};
use crate::io::{Action, State};
use crate::setup::{EngineConfig, SetupError, VirtualAddress, VirtualRoute, VirtualRule};
use crate::time::Instant;

impl<'a> InstanceView<'a> {
    /// The instance's configuration as the engine shares it: the same allocation until a
    /// reload replaces it, so that a checker can remember what it already compared against it
    /// (the run-loop contract's held-address check, sim/src/contract.rs).
    #[inline]
    pub fn config_shared(&self) -> &'a Arc<InstanceConfig> {
        &self.inst.cfg
    }
}

impl Engine {
    /// Replace the configuration at `now` (see the module docs for what is kept). Drain
    /// [`Engine::poll_action`] afterwards, as after any call.
    pub fn reload(&mut self, now: Instant, config: EngineConfig) -> Result<(), SetupError> {
        let next = Engine::new(config)?;
        self.reload_inner(now, next, false);
        Ok(())
    }

    /// [`Engine::reload`] to an engine already built from the new configuration with
    /// [`Engine::new`] and not used since (`reload(now, config)` is
    /// `reload_built(now, Engine::new(config)?)`): for a runner that checks a configuration
    /// before it decides to reload, so that it is not built twice. The fuzz harness uses it
    /// (tests/src/fuzzing.rs, `Router::reload`): building the engine of every reloaded
    /// configuration twice was a tenth of the `engine` target's instructions.
    pub fn reload_built(&mut self, now: Instant, next: Engine) {
        self.reload_inner(now, next, false);
    }

    /// [`Engine::reload`], but the actions of the routers that stop (their priority-0 adverts,
    /// address removals and state changes) are returned instead of queued. They carry the ids
    /// of the engine as it was before the call, which the queued actions of the new
    /// configuration may reuse for other routers: a runner that resolves ids (sockets,
    /// interface names, instance names for notifications) snapshots the old names first and
    /// carries these out against them, before draining [`Engine::poll_action`].
    pub fn reload_returning_stopped(
        &mut self,
        now: Instant,
        config: EngineConfig,
    ) -> Result<Vec<Action>, SetupError> {
        let next = Engine::new(config)?;
        Ok(self.reload_inner(now, next, true))
    }

    /// Move to `next` (freshly built by [`Engine::new`]); with `apart`, the stopped routers'
    /// actions are returned instead of queued.
    fn reload_inner(&mut self, now: Instant, mut next: Engine, apart: bool) -> Vec<Action> {
        next.adopt_environment(self);
        let started = self.started;
        let mut kept = vec![false; self.instances.len()];
        for i in 0..next.instances.len() {
            let Some(old) = self.find_same_router(&next, i) else {
                continue;
            };
            kept[old] = true;
            let diff = self.take_instance_state(now, old, &mut next, i);
            diff.push_actions(now, &mut next, i);
        }
        // Removed (or changed beyond recognition) routers stop as on shutdown, reported under
        // their old ids, before anything of the new configuration.
        let mut stopped = Vec::new();
        for (old, &k) in kept.iter().enumerate() {
            if !k {
                self.stop_instance(old);
            }
        }
        while let Some(a) = self.poll_action() {
            stopped.push(a);
        }
        let mut out = if apart {
            Vec::new()
        } else {
            std::mem::take(&mut stopped)
        };
        while let Some(a) = next.poll_action() {
            out.push(a);
        }
        next.started = started;
        next.start_at = self.start_at;
        next.reschedule_checks(now);
        for a in out {
            next.actions.push_back(a);
        }
        // States, priorities and intervals were moved in above: count the waits again first.
        next.recount_waits();
        next.settle_after_reload(now);
        *self = next;
        stopped
    }

    /// The index of the instance of `self` that is the same virtual router as instance `i` of
    /// `next`, if any.
    fn find_same_router(&self, next: &Engine, i: usize) -> Option<usize> {
        let n = &next.instances[i].cfg;
        (0..self.instances.len()).find(|&k| {
            let o = &self.instances[k].cfg;
            o.name == n.name
                && o.interface == n.interface
                && o.family == n.family
                && o.vrid == n.vrid
                && o.version == n.version
                && self.instances[k].state != State::Init
        })
    }

    /// Move the runtime state of old instance `old` into instance `i` of `next`; returns what
    /// to add and to remove when it is MASTER.
    fn take_instance_state(
        &mut self,
        now: Instant,
        old: usize,
        next: &mut Engine,
        i: usize,
    ) -> MasterDiff {
        let from = &mut self.instances[old];
        let to = &mut next.instances[i];
        to.state = from.state;
        // RFC 5798 section 6.1: a MASTER's Master_Adver_Interval is its own Advertisement
        // Interval, the new one from now on (its adverts carry it); a VRRPv3 BACKUP keeps the
        // interval it learned from its master's adverts; VRRPv2 has only the configured one.
        // (Found by the simulator's `reload-conf` scenario: a MASTER reloaded with a new
        // interval reported the old one.)
        to.master_adver_interval =
            if to.cfg.version == crate::wire::Version::V2 || from.state == State::Master {
                to.cfg.advert_interval
            } else {
                from.master_adver_interval
            };
        to.timers = from.timers;
        to.down_from = from.down_from;
        to.preempt_at = from.preempt_at;
        to.master_addr = from.master_addr;
        to.stats = from.stats;
        to.peer_checksums = core::mem::take(&mut from.peer_checksums);
        to.want_master = from.want_master;
        to.answered_at = from.answered_at;
        to.delayed_repeat = from.delayed_repeat;
        Engine::carry_pending(from, to);
        to.priority = from.priority; // settle_after_reload reports a change
        if to.state == State::Backup && to.want_master {
            // Its Master_Down_Timer ran out and it waits for its sync group, without a timer.
            // The group may have changed or gone: decide again now (settle_after_reload runs an
            // expired Master_Down_Timer), else it could wait forever.
            to.set(Timer::MasterDown, now);
        }
        if to.state != State::Master {
            return MasterDiff::default();
        }
        if from.cfg.advert_interval != to.cfg.advert_interval {
            // Join the new interval's grid, never later than the advert already due, and never
            // earlier than one new interval after the previous deadline.
            let due = from.get(Timer::Adver);
            let previous = due.saturating_sub(from.cfg.advert_interval);
            let mut at = due.min(next_advert_after(
                previous,
                to.cfg.advert_interval,
                to.grid_phase,
            ));
            if at <= now {
                // A shorter interval, already overdue: the next grid point (more than one new
                // interval after the previous advert, since that is before now).
                at = grid_after(now, to.cfg.advert_interval, to.grid_phase);
            }
            to.set(Timer::Adver, at);
        }
        MasterDiff {
            add: added(&from.cfg.virtual_addresses, &to.cfg.virtual_addresses),
            remove: added(&to.cfg.virtual_addresses, &from.cfg.virtual_addresses),
            add_excluded: added(&from.cfg.excluded_addresses, &to.cfg.excluded_addresses),
            remove_excluded: added(&to.cfg.excluded_addresses, &from.cfg.excluded_addresses),
            add_routes: added(&from.cfg.virtual_routes, &to.cfg.virtual_routes),
            remove_routes: added(&to.cfg.virtual_routes, &from.cfg.virtual_routes),
            add_rules: added(&from.cfg.virtual_rules, &to.cfg.virtual_rules),
            remove_rules: added(&to.cfg.virtual_rules, &from.cfg.virtual_rules),
        }
    }
}

/// What is in `new` and not in `old`.
fn added<T: Clone + PartialEq>(old: &[T], new: &[T]) -> Vec<T> {
    new.iter().filter(|v| !old.contains(v)).cloned().collect()
}

/// What a MASTER kept by a reload removes and adds: only the differences, so that an address
/// or route kept by the new configuration never disappears.
#[derive(Default)]
struct MasterDiff {
    add: Vec<VirtualAddress>,
    remove: Vec<VirtualAddress>,
    add_excluded: Vec<VirtualAddress>,
    remove_excluded: Vec<VirtualAddress>,
    add_routes: Vec<VirtualRoute>,
    remove_routes: Vec<VirtualRoute>,
    add_rules: Vec<VirtualRule>,
    remove_rules: Vec<VirtualRule>,
}

impl MasterDiff {
    /// The actions of instance `i` of `next`, in the order of leaving and entering MASTER
    /// (routes removed first and added last); the added addresses, excluded ones included,
    /// are announced once, through their interfaces' gates (announce.rs).
    fn push_actions(self, now: Instant, next: &mut Engine, i: usize) {
        let instance = next.instances[i].id;
        let iface = next.instances[i].iface;
        let out = &mut next.actions;
        if !self.remove_rules.is_empty() {
            out.push_back(Action::RemoveRules {
                instance,
                rules: self.remove_rules.into(),
            });
        }
        if !self.remove_routes.is_empty() {
            out.push_back(Action::RemoveRoutes {
                instance,
                routes: self.remove_routes.into(),
            });
        }
        if !self.remove.is_empty() {
            out.push_back(Action::RemoveAddresses {
                instance,
                iface,
                addrs: self.remove.into(),
            });
        }
        if !self.remove_excluded.is_empty() {
            out.push_back(Action::RemoveExcludedAddresses {
                instance,
                iface,
                addrs: self.remove_excluded.into(),
            });
        }
        let announce: Vec<VirtualAddress> =
            self.add.iter().chain(&self.add_excluded).cloned().collect();
        if !self.add.is_empty() {
            out.push_back(Action::AddAddresses {
                instance,
                iface,
                addrs: self.add.into(),
            });
        }
        if !self.add_excluded.is_empty() {
            out.push_back(Action::AddExcludedAddresses {
                instance,
                iface,
                addrs: self.add_excluded.into(),
            });
        }
        if !self.add_routes.is_empty() {
            out.push_back(Action::AddRoutes {
                instance,
                routes: self.add_routes.into(),
            });
        }
        if !self.add_rules.is_empty() {
            out.push_back(Action::AddRules {
                instance,
                rules: self.add_rules.into(),
            });
        }
        next.announce_added(now, i, &announce);
    }
}

// ----- the engine's side of a reload -----

impl Engine {
    /// Take over what the runner reported to `old`: interface links and addresses, check
    /// program states and tracked-file values, by name.
    pub(super) fn adopt_environment(&mut self, old: &Engine) {
        self.adopt_gates(old);
        // Indexed by name: a scan of the old lists per new entry was quadratic (thousands of
        // scripts would hold up the loop that sends the adverts).
        let ifaces = ByName::new(old.ifaces.iter().map(|o| o.name.as_str()));
        let scripts = ByName::new(old.scripts.iter().map(|o| o.cfg.name.as_str()));
        let files = ByName::new(old.files.iter().map(|o| o.name.as_str()));
        let processes = ByName::new(old.processes.iter().map(|o| o.name.as_str()));
        for f in &mut self.ifaces {
            if let Some(o) = ifaces.first(&f.name).and_then(|k| old.ifaces.get(k)) {
                f.up = o.up;
                f.seen_up = o.seen_up;
                f.pending_link = o.pending_link;
                f.primary = o.primary;
                // The runner's queue is the interface's, not the configuration's: losses it
                // reported still extend a timer (backlog.rs) after the reload.
                f.rx_queue = o.rx_queue;
            }
        }
        for s in &mut self.scripts {
            if let Some(o) = scripts.first(&s.cfg.name).and_then(|k| old.scripts.get(k)) {
                s.up = o.up;
                s.successes = o.successes;
                s.failures = o.failures;
                s.running = o.running;
                s.next_due = o.next_due;
            }
        }
        for f in &mut self.files {
            if let Some(o) = files.first(&f.name).and_then(|k| old.files.get(k)) {
                f.value = o.value;
            }
        }
        for p in &mut self.processes {
            if let Some(o) = processes.first(&p.name).and_then(|k| old.processes.get(k)) {
                p.up = o.up;
            }
        }
        self.stats = old.stats;
        // Priorities follow the adopted trackers: a new instance starts with the priority it
        // has in this environment, not the one of a fresh engine (reload.rs hands kept
        // instances their running priority). Found by the engine fuzz target.
        for i in 0..self.instances.len() {
            self.instances[i].priority = self.effective_priority(i);
        }
    }

    /// After a reload: start the new instances, settle every other one against its new
    /// configuration (priority, trackers, faults), and rebuild the timer heap.
    pub(super) fn settle_after_reload(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members = &self.groups[g].members;
            if let Some(&first) = members.first() {
                let s = self.instances[first as usize].state;
                if members
                    .iter()
                    .all(|&m| self.instances[m as usize].state == s)
                {
                    self.groups[g].state = s;
                }
            }
        }
        if self.started {
            for i in 0..self.instances.len() {
                if self.instances[i].state == State::Init {
                    let inst = &mut self.instances[i];
                    if inst.cfg.preempt_delay > Duration::ZERO {
                        inst.preempt_at = Some(now.saturating_add(inst.cfg.preempt_delay));
                    }
                    match self.instances[i].group {
                        Some(g) => self.settle_group(now, usize::from(g), i, Some(Reason::Startup)),
                        None => self.leave_fault(now, i, Reason::Startup),
                    }
                } else {
                    self.settle(now, i);
                }
            }
        }
        self.heap.clear();
        for i in 0..self.instances.len() {
            self.instances[i].queued = Instant::MAX;
            self.schedule(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Input, InstanceId, PriorityReport};
    use crate::setup::InstanceConfig;
    use crate::wire::{Family, Version};
    use core::time::Duration;
    use std::net::IpAddr;

    fn cfg(name: &str, vrid: u8, prio: u8, vips: &[&str]) -> InstanceConfig {
        InstanceConfig::new(name, "eth0", vrid, Version::V3, Family::V4)
            .priority(prio)
            .vips(vips.iter().map(|v| v.parse::<IpAddr>().unwrap()))
    }

    fn engine(instances: Vec<InstanceConfig>) -> Engine {
        let mut e = Engine::new(EngineConfig::instances(instances)).unwrap();
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface: crate::io::IfaceId(0),
                family: Family::V4,
                addr: Some("192.0.2.1".parse().unwrap()),
            },
        );
        e.handle_input(Instant::ZERO, Input::Start);
        while e.poll_action().is_some() {}
        e
    }

    fn actions(e: &mut Engine) -> Vec<Action> {
        std::iter::from_fn(|| e.poll_action()).collect()
    }

    fn state(e: &Engine, name: &str) -> State {
        let id = e.instance_id(name).unwrap();
        e.instance(id).unwrap().state()
    }

    #[test]
    fn unchanged_configuration_causes_no_transition_and_no_advert_gap() {
        let c = vec![
            cfg("A", 1, 255, &["192.0.2.100"]),
            cfg("B", 2, 100, &["192.0.2.101"]),
        ];
        let mut e = engine(c.clone());
        e.handle_timeout(Instant::from_millis(1000));
        actions(&mut e);
        let before = e.poll_timeout();
        e.reload(Instant::from_millis(1500), EngineConfig::instances(c))
            .unwrap();
        assert!(actions(&mut e).is_empty(), "nothing to do");
        assert_eq!(e.poll_timeout(), before, "the schedule is unchanged");
        assert_eq!(
            (state(&e, "A"), state(&e, "B")),
            (State::Master, State::Backup)
        );
        let a = e.instance(e.instance_id("A").unwrap()).unwrap();
        assert_eq!(a.stats().became_master, 1, "counters survive");
    }

    #[test]
    fn a_master_with_changed_addresses_only_moves_the_difference() {
        let mut e = engine(vec![cfg("A", 1, 255, &["192.0.2.100", "192.0.2.101"])]);
        e.reload(
            Instant::from_millis(10),
            EngineConfig::instances(vec![cfg("A", 1, 255, &["192.0.2.101", "192.0.2.102"])]),
        )
        .unwrap();
        let a = actions(&mut e);
        let list =
            |x: &Arc<[VirtualAddress]>| x.iter().map(|v| v.addr.to_string()).collect::<Vec<_>>();
        match &a[..] {
            [Action::RemoveAddresses { addrs: r, .. }, Action::AddAddresses { addrs: ad, .. }, Action::Announce { .. }] =>
            {
                assert_eq!(list(r), ["192.0.2.100"]);
                assert_eq!(list(ad), ["192.0.2.102"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(state(&e, "A"), State::Master);
    }

    #[test]
    fn a_new_priority_goes_into_the_next_advert_without_a_transition() {
        let mut e = engine(vec![cfg("A", 1, 100, &["192.0.2.100"])]);
        e.handle_timeout(Instant::from_micros(3_609_375));
        actions(&mut e);
        e.reload(
            Instant::from_millis(3700),
            EngineConfig::instances(vec![cfg("A", 1, 150, &["192.0.2.100"])]),
        )
        .unwrap();
        let a = actions(&mut e);
        assert!(
            a.iter().all(|x| !matches!(x, Action::StateChange { .. })),
            "{a:?}"
        );
        assert!(a.contains(&Action::PriorityChange {
            instance: InstanceId(0),
            from: 100,
            to: 150,
            report: PriorityReport::Master,
        }));
        // The next advert: one interval after becoming MASTER at 3.609375 s, on the grid.
        e.handle_timeout(Instant::from_millis(5000));
        let sent: Vec<u8> = actions(&mut e)
            .iter()
            .filter_map(|x| match x {
                Action::SendAdvert(s) => Some(s.priority),
                _ => None,
            })
            .collect();
        assert_eq!(sent, [150]);
    }

    #[test]
    fn a_removed_master_says_goodbye_and_a_new_instance_starts() {
        let mut e = engine(vec![cfg("A", 1, 255, &["192.0.2.100"])]);
        e.reload(
            Instant::from_millis(10),
            EngineConfig::instances(vec![cfg("B", 2, 100, &["192.0.2.101"])]),
        )
        .unwrap();
        let a = actions(&mut e);
        let prios: Vec<u8> = a
            .iter()
            .filter_map(|x| match x {
                Action::SendAdvert(s) => Some(s.priority),
                _ => None,
            })
            .collect();
        assert_eq!(prios, [0], "A leaves with priority 0");
        assert!(a
            .iter()
            .any(|x| matches!(x, Action::RemoveAddresses { .. })));
        assert!(a.iter().any(|x| matches!(
            x,
            Action::StateChange {
                from: State::Init,
                to: State::Backup,
                ..
            }
        )));
        assert_eq!(state(&e, "B"), State::Backup);
        assert_eq!(
            e.poll_timeout(),
            Some(Instant::from_millis(10) + Duration::from_micros(3_609_375))
        );
    }

    #[test]
    fn a_backup_whose_priority_rises_takes_over_one_new_master_down_interval_after_its_timer_started(
    ) {
        let mut e = engine(vec![cfg("A", 1, 40, &["192.0.2.100"])]);
        // Started at 0 with priority 40: due at 3 s + 216/256 s.
        assert_eq!(e.poll_timeout(), Some(Instant::from_nanos(3_843_750_000)));
        e.reload(
            Instant::from_millis(1000),
            EngineConfig::instances(vec![cfg("A", 1, 200, &["192.0.2.100"])]),
        )
        .unwrap();
        actions(&mut e);
        // Priority 200 from the timer's start: 3 s + 56/256 s.
        assert_eq!(e.poll_timeout(), Some(Instant::from_micros(3_218_750)));
    }

    #[test]
    fn the_stopped_routers_actions_can_be_had_apart_under_their_old_ids() {
        let mut e = engine(vec![
            cfg("A", 1, 255, &["192.0.2.100"]),
            cfg("B", 2, 100, &["192.0.2.101"]),
        ]);
        let stopped = e
            .reload_returning_stopped(
                Instant::from_millis(10),
                EngineConfig::instances(vec![cfg("B", 2, 100, &["192.0.2.101"])]),
            )
            .unwrap();
        // A was instance 0 and MASTER: goodbye, addresses, INIT, all under id 0.
        match &stopped[..] {
            [Action::SendAdvert(s), Action::RemoveAddresses { instance: r, .. }, Action::StateChange {
                instance: c,
                to: State::Init,
                ..
            }] => {
                assert_eq!((s.instance, s.priority), (InstanceId(0), 0));
                assert_eq!((*r, *c), (InstanceId(0), InstanceId(0)));
            }
            other => panic!("{other:?}"),
        }
        // B is now instance 0, unchanged: nothing queued.
        assert!(actions(&mut e).is_empty());
        assert_eq!(e.instance_id("B"), Some(InstanceId(0)));
    }

    #[test]
    fn a_bad_configuration_is_refused_and_the_old_one_keeps_running() {
        let mut e = engine(vec![cfg("A", 1, 255, &["192.0.2.100"])]);
        let before = e.poll_timeout();
        let err = e.reload(
            Instant::from_millis(10),
            EngineConfig::instances(vec![cfg("A", 0, 100, &["192.0.2.1"])]),
        );
        assert!(err.is_err());
        assert!(actions(&mut e).is_empty());
        assert_eq!(state(&e, "A"), State::Master);
        assert_eq!(e.poll_timeout(), before);
    }

    #[test]
    fn a_master_reloaded_with_a_new_interval_reports_it_as_its_master_adver_interval() {
        let mut e = engine(vec![cfg("A", 1, 255, &["192.0.2.100"])]);
        assert_eq!(state(&e, "A"), State::Master);
        let faster = cfg("A", 1, 255, &["192.0.2.100"]).advert_interval(Duration::from_millis(500));
        e.reload(
            Instant::from_millis(10),
            EngineConfig::instances(vec![faster]),
        )
        .unwrap();
        let id = e.instance_id("A").unwrap();
        let v = e.instance(id).unwrap();
        assert_eq!(v.master_adver_interval(), Duration::from_millis(500));
        assert_eq!(
            v.master_down_interval(),
            crate::instance::master_down_interval(Version::V3, 255, Duration::from_millis(500))
        );
    }
}
