//! The simulated runner: what vigild does around the engine. It feeds inputs at the node's
//! clock, drains every action after every call and carries it out (addresses, adverts,
//! announcements, state changes, counters), runs the check programs, and keeps one timer
//! event for the engine's next deadline.

use std::net::IpAddr;

use vigil_engine::{Action, Input, InstanceId, Instant, State};

use crate::checks::{self as check, ViolationKind};
use crate::driver::{Event, Phase, Sim};
use crate::frames::{self, Captured};
use crate::oracle::{self};
use crate::trace::TraceEvent;
impl Sim {
    /// Feed one input to node `n`'s engine at its local time, then drain and check.
    pub(crate) fn input(&mut self, n: usize, input: Input<'_>) {
        let local = self.nodes[n].local(self.now);
        let node = &mut self.nodes[n];
        let Some(engine) = node.engine.as_mut() else {
            return;
        };
        if let (Input::Packet(p), Some(c)) = (&input, node.contract.as_mut()) {
            let vrid = vigil_engine::wire::peek_vrid(p.payload);
            c.delivered(&node.running_config, engine, p.iface, p.src, p.dst, vrid);
        }
        engine.handle_input(Instant::from_nanos(local), input);
        self.after_call(n);
    }

    /// A breach of the run-loop contract ([`crate::contract`]): a safety violation.
    pub(crate) fn breach(&mut self, n: usize, b: crate::contract::Breach) {
        self.violate(ViolationKind::Safety, b.rule, Some(n), b.detail);
    }

    pub(crate) fn on_timer(&mut self, n: usize, gen: u64) {
        let node = &mut self.nodes[n];
        if gen != node.timer_gen {
            return; // superseded by an earlier timer event
        }
        node.timer_at = u64::MAX;
        if node.engine.is_none() || node.stalled_until > self.now {
            return; // a stalled node serves its timers when it resumes
        }
        if node.want > self.now {
            // The engine's deadline moved later since this event was queued.
            let at = node.want;
            self.arm(n, at);
            return;
        }
        self.serve_timers(n);
    }

    /// `handle_timeout` at node `n`'s clock now, then drain and check (every timer due must
    /// have been served: `deadline-not-served`).
    pub(crate) fn serve_timers(&mut self, n: usize) {
        self.read_before_deciding(n);
        if self.violation.is_some() || self.nodes[n].engine.is_none() {
            return;
        }
        let local = self.nodes[n].local(self.now);
        if let Some(e) = self.nodes[n].engine.as_mut() {
            e.handle_timeout(Instant::from_nanos(local));
        }
        self.timeout_call = true;
        self.after_call(n);
        self.timeout_call = false;
    }

    pub(crate) fn arm(&mut self, n: usize, at: u64) {
        let at = at.max(self.now); // an overdue deadline (a node resuming) is served now
        let node = &mut self.nodes[n];
        node.timer_gen += 1;
        node.timer_at = at;
        let gen = node.timer_gen;
        self.push(at, 0, Event::Timer { node: n, gen });
    }

    /// After every engine call: drain the actions, carry them out, check the invariants, and
    /// keep one timer event for the engine's next deadline.
    pub(crate) fn after_call(&mut self, n: usize) {
        self.batch_adverts.clear();
        self.batch_announces.clear();
        let local = Instant::from_nanos(self.nodes[n].local(self.now));
        if let Some(c) = self.nodes[n].contract.as_mut() {
            if let Err(b) = c.begin_call(local) {
                return self.breach(n, b);
            }
        }
        while let Some(action) = self.nodes[n].engine.as_mut().and_then(|e| e.poll_action()) {
            // The shared run-loop contract sees the action before the runner carries it out.
            let node = &mut self.nodes[n];
            let checked = match (node.contract.as_mut(), node.engine.as_ref()) {
                (Some(c), Some(e)) => c.action(&node.running_config, e, e, &action),
                _ => Ok(()),
            };
            self.carry_out(n, action);
            if self.violation.is_some() {
                return;
            }
            if let Err(b) = checked {
                return self.breach(n, b);
            }
        }
        if let Some(rx) = self.rx.take() {
            self.accepted(n, rx);
        }
        if let Err(b) = check::after_batch(self, n) {
            return self.breach(n, b);
        }
        self.check_model(n);
        if self.violation.is_some() {
            return;
        }
        let local_now = self.nodes[n].local(self.now);
        let deadline = self.nodes[n].engine.as_mut().and_then(|e| e.poll_timeout());
        let timeout_now = self.timeout_call.then_some(local);
        let node = &mut self.nodes[n];
        if let (Some(c), Some(e)) = (node.contract.as_mut(), node.engine.as_ref()) {
            if let Err(b) = c.end_call(e, deadline, timeout_now) {
                return self.breach(n, b);
            }
        }
        match deadline {
            None => self.nodes[n].want = u64::MAX,
            Some(d) => {
                if self.timeout_call && d.as_nanos() <= local_now {
                    // handle_timeout serves every timer due at or before `now`.
                    return self.violate(
                        ViolationKind::Safety,
                        "deadline-not-served",
                        Some(n),
                        format!(
                            "after handle_timeout({}) the engine's next deadline is {}: a timer \
                             due then was not served",
                            Instant::from_nanos(local_now),
                            d
                        ),
                    );
                }
                if d.as_nanos() < local_now && !self.resuming {
                    return self.violate(
                        ViolationKind::Safety,
                        "deadline-in-the-past",
                        Some(n),
                        format!(
                            "poll_timeout() returned {} while the node's clock reads {}",
                            d,
                            Instant::from_nanos(local_now)
                        ),
                    );
                }
                let at = self.nodes[n].global(d.as_nanos(), self.now);
                self.nodes[n].want = at;
                if at < self.nodes[n].timer_at {
                    self.arm(n, at);
                }
            }
        }
    }

    pub(crate) fn carry_out(&mut self, n: usize, action: Action) {
        match action {
            Action::SendAdvert(adv) => self.send_advert(n, adv),
            Action::AddAddresses {
                instance, addrs, ..
            } => {
                if let Some(t) = self.nodes[n].insts.get_mut(instance.0 as usize) {
                    for a in addrs.iter() {
                        if !t.vips.contains(&a.addr) {
                            t.vips.push(a.addr);
                        }
                    }
                }
                self.record(
                    Some(n),
                    TraceEvent::AddrAdd {
                        inst: self.lane(n, instance),
                        count: addrs.len(),
                    },
                );
            }
            Action::RemoveAddresses {
                instance, addrs, ..
            } => {
                if let Some(t) = self.nodes[n].insts.get_mut(instance.0 as usize) {
                    t.vips.retain(|v| !addrs.iter().any(|a| a.addr == *v));
                }
                self.record(
                    Some(n),
                    TraceEvent::AddrRemove {
                        inst: self.lane(n, instance),
                        count: addrs.len(),
                    },
                );
            }
            // Excluded addresses and routes follow MASTER: the simulated host has no routing
            // table, so they are traced, in the engine's order (which vigild carries out).
            Action::AddExcludedAddresses {
                instance, addrs, ..
            } => self.excluded(n, instance, true, addrs.len()),
            Action::RemoveExcludedAddresses {
                instance, addrs, ..
            } => self.excluded(n, instance, false, addrs.len()),
            Action::AddRoutes { instance, routes } => self.routes(n, instance, true, &routes),
            Action::RemoveRoutes { instance, routes } => self.routes(n, instance, false, &routes),
            Action::AddRules { instance, rules } => self.rules(n, instance, true, &rules),
            Action::RemoveRules { instance, rules } => self.rules(n, instance, false, &rules),
            Action::RunCheck { script, .. } => {
                let names = &self.nodes[n].scripts;
                let engine = self.nodes[n].engine.as_ref();
                let idx = names
                    .iter()
                    .position(|s| engine.and_then(|e| e.script_id(&s.name)) == Some(script));
                if let Some(idx) = idx {
                    let inc = self.nodes[n].incarnation;
                    self.push(self.now, 0, Event::Script { node: n, idx, inc });
                }
            }
            a @ Action::Announce { .. } => self.announce(n, a),
            Action::StateChange {
                instance,
                from,
                to,
                priority,
                reason,
            } => self.state_change(n, instance, from, to, priority, reason.name()),
            a @ Action::ProtocolError { .. } => self.protocol_error(n, a),
            a @ Action::GroupStateChange { .. } => self.group_state_change(n, a),
            a @ Action::LowerPriorityHeard { .. } => self.lower_priority_heard(n, a),
            a @ Action::PriorityChange { .. } => self.priority_change(n, a),
            // Log lines, already rate-limited by the engine (its unit tests check them); one
            // `ProtocolError` per dropped packet is what the oracle counts.
            Action::Notice(_) => {}
            other => self.record(Some(n), TraceEvent::Other(format!("{other:?}"))),
        }
    }

    fn excluded(&mut self, n: usize, instance: InstanceId, added: bool, count: usize) {
        let inst = self.lane(n, instance);
        self.record(Some(n), TraceEvent::Excluded { inst, added, count });
    }

    fn routes(
        &mut self,
        n: usize,
        instance: InstanceId,
        added: bool,
        routes: &[vigil_engine::setup::VirtualRoute],
    ) {
        let inst = self.lane(n, instance);
        let routes = routes.iter().map(|r| r.to_string()).collect();
        self.record(
            Some(n),
            TraceEvent::Routes {
                inst,
                added,
                routes,
            },
        );
    }

    fn rules(
        &mut self,
        n: usize,
        instance: InstanceId,
        added: bool,
        rules: &[vigil_engine::setup::VirtualRule],
    ) {
        let inst = self.lane(n, instance);
        let rules = rules.iter().map(|r| r.keepalived_format()).collect();
        self.record(Some(n), TraceEvent::Rules { inst, added, rules });
    }

    /// An advert: checked (one per call, link up, no storm), counted in the model, put on the wire.
    pub(crate) fn send_advert(&mut self, n: usize, adv: vigil_engine::SendAdvert) {
        let inst = adv.instance.0;
        if self.batch_adverts.iter().any(|&(i, _)| i == inst) {
            // RFC 5798 section 6.4.3: one advert per Adver_Timer expiry; a timer served
            // late (a stalled process) sends one and rejoins its schedule.
            let name = self.nodes[n]
                .insts
                .get(inst as usize)
                .map_or("?", |t| t.name.as_str());
            let detail = format!("{name} sent a second advert in one engine call");
            self.violate(ViolationKind::Safety, "advert-burst", Some(n), detail);
        }
        self.batch_adverts.push((inst, adv.priority));
        let ni = self.engine_iface(n, adv.iface);
        // dont_track_primary: the instance ignores its own link's state (keepalived.conf(5)).
        let ignores_link = self.nodes[n]
            .running_config
            .instances
            .get(inst as usize)
            .is_some_and(|c| c.dont_track_primary);
        // interface_up_down_delays: the instances see a link-down only once it has lasted the
        // interface's down delay (engine/link_delay.rs); until then the engine still sends.
        let f = &self.nodes[n].ifaces[ni];
        let not_told_yet = self.nodes[n]
            .running_config
            .link_delays
            .iter()
            .find(|d| d.interface == f.plan.name)
            .zip(f.down_since)
            .is_some_and(|(d, since)| {
                let delay = u64::try_from(d.down.as_nanos()).unwrap_or(u64::MAX);
                self.now < since.saturating_add(delay)
            });
        if !self.nodes[n].ifaces[ni].up && !ignores_link && !not_told_yet {
            let detail = format!(
                "an advert (priority {}) on {}, whose link is down",
                adv.priority, self.nodes[n].ifaces[ni].plan.name
            );
            self.violate(
                ViolationKind::Safety,
                "advert-on-down-link",
                Some(n),
                detail,
            );
        }
        let limit = 4 * u32::try_from(self.nodes.len()).unwrap_or(u32::MAX / 8) + 4;
        let now = self.now;
        if let Some(t) = self.nodes[n].insts.get_mut(inst as usize) {
            if let Err(count) = t.model.sent(now, limit) {
                let detail = format!(
                    "{} sent {count} adverts within one Advertisement_Interval ({})",
                    t.name,
                    crate::dur::Dur(t.model.own)
                );
                self.violate(ViolationKind::Safety, "advert-storm", Some(n), detail);
            }
        }
        if let Some(t) = self.nodes[n].insts.get_mut(inst as usize) {
            t.model.stats.adverts_sent += 1;
            if adv.priority == 0 {
                t.model.stats.priority_zero_sent += 1;
            }
        }
        if adv.priority > 0 {
            let node = &mut self.nodes[n];
            let own = node
                .running_config
                .instances
                .get(inst as usize)
                .map(|c| c.advert_interval);
            if let Some(t) = node.insts.get_mut(inst as usize) {
                t.last_sent = self.now;
                if let Some(own) = own {
                    t.interval = crate::dur::Dur::from_std(own).0;
                }
            }
        }
        self.transmit(n, &adv);
    }

    /// Gratuitous ARP / unsolicited NA for the addresses (captured for `--pcap`).
    pub(crate) fn announce(&mut self, n: usize, a: Action) {
        let Action::Announce {
            instance,
            iface,
            addrs,
            router,
            extra_if,
        } = a
        else {
            return;
        };

        self.batch_announces.push(instance.0);
        if extra_if {
            // garp_extra_if's periodic announcement: judged apart (`extra-if`), never a step
            // of a burst.
            let local = self.nodes[n].local(self.now);
            let i = instance.0 as usize;
            let node = &mut self.nodes[n];
            if let (Some(t), Some(c)) =
                (node.insts.get_mut(i), node.running_config.instances.get(i))
            {
                if let Err(detail) = t.model.extra_announced(&c.announce, local) {
                    let detail = format!("{}: {detail}", t.name);
                    self.violate(ViolationKind::Safety, "extra-if", Some(n), detail);
                }
            }
        } else if let Some(t) = self.nodes[n].insts.get_mut(instance.0 as usize) {
            t.model
                .announced(u32::try_from(addrs.len()).unwrap_or(u32::MAX));
        }
        self.check_gate(n, instance.0 as usize, &addrs);
        if self.captured.is_some() {
            let ni = self.engine_iface(n, iface);
            let mac = self.nodes[n].ifaces[ni].plan.mac;
            let t = self.now;
            if let Some(c) = self.captured.as_mut() {
                for a in addrs.iter() {
                    c.push(Captured {
                        t,
                        frame: frames::announce(mac, a.addr, router),
                    });
                }
            }
        }
        self.record(
            Some(n),
            TraceEvent::Announce {
                inst: self.lane(n, instance),
                count: addrs.len(),
            },
        );
    }

    /// A dropped packet: counted by its rule in the model ([`oracle::count_drop`]).
    pub(crate) fn protocol_error(&mut self, n: usize, a: Action) {
        let Action::ProtocolError {
            src,
            rule,
            instance,
            ..
        } = a
        else {
            return;
        };

        if let Some(rx) = self.rx.as_mut() {
            rx.dropped = true;
        }
        self.last_drop = Some(rule.name());
        match instance.and_then(|i| self.nodes[n].insts.get_mut(i.0 as usize)) {
            Some(t) => oracle::count_drop(&mut t.model.stats, &rule),
            None => oracle::count_router_drop(&mut self.nodes[n].router_stats, &rule),
        }
        if self.record_packets {
            self.record(
                Some(n),
                TraceEvent::ProtocolError {
                    rule: rule.name(),
                    src,
                },
            );
        }
    }

    /// A sync group moved: it continues its last reported state, its members agree, a FAULT names its cause.
    pub(crate) fn group_state_change(&mut self, n: usize, a: Action) {
        let Action::GroupStateChange {
            group,
            from,
            to,
            cause,
        } = a
        else {
            return;
        };

        let g = usize::from(group.0);
        let node = &self.nodes[n];
        let before = node.group_states.get(g).copied();
        let members_agree = node.running_config.sync_groups.get(g).is_some_and(|sg| {
            sg.members
                .iter()
                .all(|m| node.insts.iter().any(|t| t.name == *m && t.state == to))
        });
        if before != Some(from) || from == to || !members_agree {
            let detail = format!(
                "sync group #{g} reported {from} -> {to}; its last reported state was \
                 {before:?} and its members {} in {to}",
                if members_agree {
                    "are all"
                } else {
                    "are not all"
                }
            );
            self.violate(ViolationKind::Safety, "group-report", Some(n), detail);
        }
        if to == State::Fault {
            if let Err(detail) = self.group_cause(n, g, cause) {
                self.violate(ViolationKind::Safety, "group-cause", Some(n), detail);
            }
        }
        if let Some(slot) = self.nodes[n].group_states.get_mut(g) {
            *slot = to;
        }
        let e = self.nodes[n].engine.as_ref();
        let name = e
            .and_then(|e| e.group(group).map(|g| g.0.to_string()))
            .unwrap_or_else(|| format!("#{}", group.0));
        let member = self.nodes[n]
            .insts
            .get(cause.0 .0 as usize)
            .map_or("?".to_string(), |t| t.name.clone());
        self.record(
            Some(n),
            TraceEvent::Group {
                group: name,
                from,
                to,
                cause: format!("{member}, {}", cause.1.name()),
            },
        );
    }

    /// A MASTER heard a lower priority (its announcements under `garp_lower_prio_repeat`).
    pub(crate) fn lower_priority_heard(&mut self, n: usize, a: Action) {
        let Action::LowerPriorityHeard {
            instance,
            src,
            priority,
        } = a
        else {
            return;
        };

        if let Some(t) = self.nodes[n].insts.get_mut(instance.0 as usize) {
            if let Some(tenure) = t.model.tenure.as_mut() {
                tenure.2 = true;
            }
        }
        if self.record_packets {
            self.record(
                Some(n),
                TraceEvent::LowerPriorityHeard {
                    inst: self.lane(n, instance),
                    src,
                    priority,
                },
            )
        }
    }

    /// A tracker moved the effective priority: it continues the last reported one.
    pub(crate) fn priority_change(&mut self, n: usize, a: Action) {
        let Action::PriorityChange {
            instance, from, to, ..
        } = a
        else {
            return;
        };

        self.record(
            Some(n),
            TraceEvent::Priority {
                inst: self.lane(n, instance),
                from,
                to,
            },
        );
        if let Some(t) = self.nodes[n].insts.get_mut(instance.0 as usize) {
            let before = t.model.prio.replace(to);
            if before.is_some_and(|p| p != from) {
                let name = t.name.clone();
                self.violate(
                    ViolationKind::Safety,
                    "priority-report",
                    Some(n),
                    format!(
                        "{name} reported a priority change {from} -> {to}, but its last \
                         reported priority was {}",
                        before.unwrap_or(0)
                    ),
                );
            }
        }
    }

    /// The simulated runner runs a check program the engine asked for ([`Action::RunCheck`]):
    /// it ends at once with the result the scenario's schedule gives it.
    pub(crate) fn run_script(&mut self, n: usize, idx: usize, inc: u64) {
        if self.nodes[n].incarnation != inc || self.nodes[n].engine.is_none() {
            return;
        }
        if self.nodes[n].stalled_until > self.now {
            // The runner is frozen with the engine: the check starts when the node resumes.
            let at = self.nodes[n].stalled_until;
            self.push(at, 0, Event::Script { node: n, idx, inc });
            return;
        }
        let result = self.nodes[n].scripts[idx].result;
        let id = self.nodes[n]
            .engine
            .as_ref()
            .and_then(|e| e.script_id(&self.nodes[n].scripts[idx].name));
        if let (Some(script), true) = (id, self.nodes[n].running) {
            let timeout = self.nodes[n]
                .config
                .scripts
                .iter()
                .find(|s| s.name == self.nodes[n].scripts[idx].name)
                .map_or(core::time::Duration::from_secs(1), |s| s.timeout);
            let ran_for = match result {
                vigil_engine::io::CheckResult::Timeout => timeout,
                _ => core::time::Duration::from_millis(10).min(timeout),
            };
            // keepalived's rise / fall (the seed's MISC_CHECK rule: too long is a failure).
            let (rise, fall) = self.nodes[n]
                .config
                .scripts
                .iter()
                .find(|s| s.name == self.nodes[n].scripts[idx].name)
                .map_or((1, 1), |s| (s.rise.max(1), s.fall.max(1)));
            let r = &mut self.nodes[n].scripts[idx];
            if result != vigil_engine::io::CheckResult::Success || ran_for > timeout {
                r.successes = 0;
                r.failures = r.failures.saturating_add(1);
                if r.failures >= fall {
                    r.up = false;
                }
            } else {
                r.failures = 0;
                r.successes = r.successes.saturating_add(1);
                if r.successes >= rise {
                    r.up = true;
                }
            }
            self.input(
                n,
                Input::Check {
                    script,
                    result,
                    ran_for,
                },
            );
        }
    }

    pub(crate) fn state_change(
        &mut self,
        n: usize,
        instance: InstanceId,
        from: State,
        to: State,
        priority: u8,
        reason: &'static str,
    ) {
        let i = instance.0 as usize;
        let Some(track) = self.nodes[n].insts.get(i) else {
            return self.violate(
                ViolationKind::Safety,
                "unknown-instance",
                Some(n),
                format!("StateChange for instance {i}, which the configuration does not have"),
            );
        };
        let tracked = track.state;
        if to != State::Init && self.nodes[n].engine.is_some() && !self.nodes[n].running {
            let detail = format!(
                "{} went {from} -> {to} ({reason}) while the engine is stopped",
                track.name
            );
            return self.violate(ViolationKind::Safety, "stopped-engine", Some(n), detail);
        }
        let silence = if to == State::Master && reason == "master-down-timer" {
            track.last_rx.map(|r| self.now.saturating_sub(r))
        } else {
            None
        };
        self.record(
            Some(n),
            TraceEvent::State {
                inst: self.lane(n, instance),
                from,
                to,
                priority,
                reason,
                silence,
            },
        );
        if tracked != from {
            return self.violate(
                ViolationKind::Safety,
                "state-report",
                Some(n),
                format!(
                    "{} reported {from} -> {to}, but its last reported state was {tracked}",
                    self.nodes[n].insts[i].name
                ),
            );
        }
        if !from.can_go_to(to) {
            return self.violate(
                ViolationKind::Safety,
                "fsm-edge",
                Some(n),
                format!(
                    "{} went {from} -> {to}, which is not an edge of the state diagram",
                    self.nodes[n].insts[i].name
                ),
            );
        }
        let local = self.nodes[n].local(self.now);
        let model = &self.nodes[n].insts[i].model;
        if from != State::Init && model.prio.is_some_and(|p| p != priority) {
            let detail = format!(
                "{} went {from} -> {to} reporting priority {priority}, but its last reported \
                 priority was {}",
                self.nodes[n].insts[i].name,
                model.prio.unwrap_or(0)
            );
            return self.violate(ViolationKind::Safety, "priority-report", Some(n), detail);
        }
        if from == State::Backup && to == State::Master {
            if let Some(d) = model.deadline().filter(|&d| d > local && !model.expired) {
                let detail = format!(
                    "{} took over ({reason}) at {local} ns (local clock), but its \
                     Master_Down_Timer runs until {d} ns ({} early; priority {priority}, \
                     Master_Adver_Interval {})",
                    self.nodes[n].insts[i].name,
                    crate::dur::Dur(d - local),
                    crate::dur::Dur(model.mai.unwrap_or(0)),
                );
                return self.violate(ViolationKind::Safety, "takeover-early", Some(n), detail);
            }
        }
        if from == State::Master {
            self.check_announces(n, i, local);
            if self.violation.is_some() {
                return;
            }
        }
        // `master-yields`: a MASTER falls back only to a higher priority, or to the same priority
        // from a higher primary address (RFC 5798 section 6.4.3).
        if from == State::Master && to == State::Backup && reason == "higher-priority-heard" {
            let own_src = self.own_source(n, i);
            let own_prio = self.nodes[n].insts[i].model.prio;
            if let Some(rx) = self.rx.filter(|rx| rx.inst == Some(i)) {
                let wins = own_prio.is_some_and(|p| {
                    rx.prio > p
                        || (rx.prio == p
                            && own_src.is_some_and(|o| match (rx.src, o) {
                                (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
                                (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
                                _ => false,
                            }))
                });
                if !wins {
                    let detail = format!(
                        "{} (priority {own_prio:?}, address {own_src:?}) left MASTER for an advert \
                         of priority {} from {}",
                        self.nodes[n].insts[i].name, rx.prio, rx.src
                    );
                    return self.violate(ViolationKind::Safety, "master-yields", Some(n), detail);
                }
            }
        }
        let heard = self
            .rx
            .filter(|rx| rx.inst == Some(i) && !rx.dropped)
            .map(|rx| (rx.heard, rx.src));
        let own_src = self.own_source(n, i);
        let model = &mut self.nodes[n].insts[i].model;
        model.prio = Some(priority);
        model.entered(from, to, local, heard, own_src);
        self.nodes[n].insts[i].state = to;
        self.nodes[n].insts[i].last_reason = reason;
        if to == State::Backup {
            self.nodes[n].insts[i].last_rx = Some(self.now);
        }
        if self.phase == Phase::Liveness && self.plan.checks.flapping {
            let name = self.nodes[n].insts[i].name.clone();
            self.violate(
                ViolationKind::Liveness,
                "flapping",
                Some(n),
                format!(
                    "{name} went {from} -> {to} ({reason}) while the network was stable and the \
                     cluster had converged"
                ),
            );
        }
    }
}
