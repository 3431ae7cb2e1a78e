//! The checks that compare the engine's self-report with the simulator's model
//! ([`crate::oracle`]), the expectations of the scenario and the liveness rules.

use std::net::IpAddr;

use vigil_engine::wire::Family;
use vigil_engine::{InstanceId, Reason, State};

use crate::checks::{self as check, ViolationKind};
use crate::driver::{Phase, Sim};
use crate::oracle::{self};
use crate::scenario::Expect;
use crate::trace::TraceEvent;
use crate::world::node::InstTrack;
impl Sim {
    /// `group-cause`: a sync group reported going to FAULT because of member `cause` with a
    /// reason. The seed's matrix puts every member in FAULT for one member's fault: the reason
    /// named must be that member's own, the one its own transition gave; when the member
    /// named only followed its group (`sync-group`), some member's own FAULT reason.
    pub(crate) fn group_cause(
        &self,
        n: usize,
        g: usize,
        cause: (InstanceId, Reason),
    ) -> Result<(), String> {
        let node = &self.nodes[n];
        let named = cause.1.name();
        let Some(sg) = node.running_config.sync_groups.get(g) else {
            return Ok(()); // `group-report` names an unknown group
        };
        let members: Vec<&InstTrack> = node
            .insts
            .iter()
            .filter(|t| sg.members.contains(&t.name))
            .collect();
        let Some(who) = node.insts.get(cause.0 .0 as usize) else {
            return Err(format!(
                "sync group {} went FAULT for instance #{}, which does not exist",
                sg.name, cause.0 .0
            ));
        };
        if !sg.members.contains(&who.name) {
            return Err(format!(
                "sync group {} went FAULT for {}, which is not a member",
                sg.name, who.name
            ));
        }
        let sync = Reason::SyncGroup.name();
        let ok = if who.last_reason != sync {
            who.last_reason == named
        } else {
            members
                .iter()
                .any(|t| t.state == State::Fault && t.last_reason == named && named != sync)
        };
        if ok {
            return Ok(());
        }
        let own: Vec<String> = members
            .iter()
            .map(|t| format!("{} {}", t.name, t.last_reason))
            .collect();
        Err(format!(
            "sync group {} went FAULT naming {} and `{named}`; the members' own reasons: {}",
            sg.name,
            who.name,
            own.join(", ")
        ))
    }

    /// Compare the engine's self-report with the model ([`crate::oracle`]).
    pub(crate) fn check_model(&mut self, n: usize) {
        let local = self.nodes[n].local(self.now);
        let served = self.timeout_call;
        let node = &mut self.nodes[n];
        for t in node.insts.iter_mut() {
            // A sync-group member whose timer ran out waits for the others (matrix handler 1).
            if t.state == State::Backup
                && t.model.grouped
                && t.model.deadline().is_some_and(|d| d <= local)
            {
                t.model.expired = true;
                // Served by this `handle_timeout` (not an input while the node catches up):
                // the engine spent the timer and waits for its group.
                if served {
                    t.model.ran_out = t.model.deadline();
                }
            }
        }
        let node = &self.nodes[n];
        let Some(engine) = node.engine.as_ref() else {
            return;
        };
        let mut found = None;
        for (g, want) in node.group_states.iter().enumerate() {
            let id = vigil_engine::io::GroupId(u16::try_from(g).unwrap_or(u16::MAX));
            let seen = engine.group(id).map(|(_, s, _)| s);
            if seen != Some(*want) {
                found = Some((
                    "group-report",
                    format!("sync group #{g} is {seen:?} in the engine, its reports said {want}"),
                ));
            }
        }
        if *engine.router_stats() != node.router_stats {
            found = Some((
                "counters",
                format!(
                    "router counters {:?} differ from what the drops imply {:?}",
                    engine.router_stats(),
                    node.router_stats
                ),
            ));
        }
        let iface_up = |name: &str| {
            node.ifaces
                .iter()
                .find(|f| f.plan.name == name)
                .is_none_or(|f| f.up)
        };
        let script_up = |name: &str| node.scripts.iter().find(|r| r.name == name).map(|r| r.up);
        let file_value = |name: &str| {
            node.files
                .iter()
                .find(|(f, _)| f == name)
                .map(|(_, v)| *v)
                .or_else(|| {
                    node.config
                        .track_files
                        .iter()
                        .find(|f| f.name == name)
                        .map(|f| f.initial)
                })
        };
        let env = oracle::Environment {
            iface_up: &iface_up,
            script_up: &script_up,
            file_value: &file_value,
        };
        let mut listed = node.trackers_listed;
        if found.is_none() && node.running {
            for (k, t) in node.insts.iter().enumerate() {
                if let Err(e) = oracle::compare_tracking(
                    engine,
                    &node.running_config,
                    k,
                    t.state,
                    &env,
                    !listed,
                ) {
                    found = Some(e);
                    break;
                }
            }
            listed = found.is_none();
        }
        if found.is_none() {
            for (k, t) in node.insts.iter().enumerate() {
                if let Err(e) = oracle::compare(
                    engine,
                    &node.running_config,
                    k,
                    &t.model,
                    t.state,
                    local,
                    if self.timeout_call {
                        oracle::Call::Timeout
                    } else if self.resuming {
                        oracle::Call::Resuming
                    } else {
                        oracle::Call::Input
                    },
                ) {
                    found = Some(e);
                    break;
                }
            }
        }
        self.nodes[n].trackers_listed = listed;
        if let Some((rule, detail)) = found {
            self.violate(ViolationKind::Safety, rule, Some(n), detail);
        }
    }

    /// The source address of instance `i`'s adverts: configured, else its interface's primary
    /// address of the family.
    pub(crate) fn own_source(&self, n: usize, i: usize) -> Option<IpAddr> {
        let node = &self.nodes[n];
        let c = node.config.instances.get(i)?;
        let plan = &node.ifaces.get(node.insts.get(i)?.iface)?.plan;
        c.source.or(match c.family {
            Family::V4 => plan.ipv4.map(IpAddr::V4),
            Family::V6 => plan.ipv6.map(IpAddr::V6),
        })
    }

    /// `garp-gate`: never two announcements on one interface (and family) of a node closer
    /// than the gate interval in force at the first of them (keepalived 2.2.7's per-interface
    /// `garp_next_time` / `gna_next_time`: `vrrp_garp_interval`, `vrrp_gna_interval`,
    /// `garp_group`), local clock.
    pub(crate) fn check_gate(
        &mut self,
        n: usize,
        i: usize,
        addrs: &[vigil_engine::setup::VirtualAddress],
    ) {
        let local = self.nodes[n].local(self.now);
        let node = &mut self.nodes[n];
        let Some(c) = node.running_config.instances.get(i) else {
            return;
        };
        let own = c.interface.clone();
        let gates = node.running_config.announce_gates.clone();
        let mut bad = Vec::new();
        for a in addrs {
            let name = a.dev.clone().unwrap_or_else(|| own.clone());
            let fam = usize::from(a.addr.is_ipv6());
            let gate = u64::try_from(gates.of(&name)[fam].as_nanos()).unwrap_or(u64::MAX);
            match node
                .gate_last
                .iter_mut()
                .find(|(f, k, _, _)| *f == name && *k == fam)
            {
                Some(e) => {
                    if local < e.2.saturating_add(e.3) {
                        bad.push(format!(
                            "{} announced on {name} {} ns after the previous announcement there \
                             (gate {} ns)",
                            a.addr,
                            local.saturating_sub(e.2),
                            e.3
                        ));
                    }
                    e.2 = local;
                    e.3 = gate;
                }
                None => node.gate_last.push((name, fam, local, gate)),
            }
        }
        for detail in bad {
            self.violate(ViolationKind::Safety, "garp-gate", Some(n), detail);
        }
    }

    /// `announce-count` for instance `i` of node `n`, its MASTER tenure ending at `local`.
    pub(crate) fn check_announces(&mut self, n: usize, i: usize, local: u64) {
        let node = &self.nodes[n];
        let Some(c) = node.running_config.instances.get(i) else {
            return;
        };
        let extra = node.insts[i].model.extra_check(&c.announce, local);
        // The instance's addresses, the largest gate over them, and the node's addresses that
        // share gates (all of them, a bound).
        let gates = &node.running_config.announce_gates;
        let addrs: Vec<_> = c
            .virtual_addresses
            .iter()
            .chain(&c.excluded_addresses)
            .collect();
        let gate = addrs
            .iter()
            .map(|a| {
                let name = a.dev.as_deref().unwrap_or(&c.interface);
                gates.of(name)[usize::from(a.addr.is_ipv6())]
            })
            .max()
            .unwrap_or_default();
        let node_addrs: usize = node
            .running_config
            .instances
            .iter()
            .map(|x| x.virtual_addresses.len() + x.excluded_addresses.len())
            .sum();
        let judged = node.insts[i].model.announce_check(
            &c.announce,
            gate,
            addrs.len() as u64,
            node_addrs as u64,
            local,
        );
        if let Err(detail) = judged {
            let detail = format!("{}: {detail}", node.insts[i].name);
            self.violate(ViolationKind::Safety, "announce-count", Some(n), detail);
        } else if let Err(detail) = extra {
            let detail = format!("{}: {detail}", self.nodes[n].insts[i].name);
            self.violate(ViolationKind::Safety, "extra-if", Some(n), detail);
        }
    }

    /// `lookups` after a boot or a reload.
    pub(crate) fn check_lookups(&mut self, n: usize) {
        let node = &self.nodes[n];
        if let Some(e) = node.engine.as_ref() {
            if let Err(detail) = oracle::compare_lookups(e, &node.running_config) {
                self.violate(ViolationKind::Safety, "lookups", Some(n), detail);
            }
        }
    }

    pub(crate) fn received(&self, n: usize, i: usize) -> Option<u64> {
        let e = self.nodes[n].engine.as_ref()?;
        let id = InstanceId(u32::try_from(i).ok()?);
        e.instance(id).map(|v| v.stats().adverts_received)
    }

    pub(crate) fn check_expect(&mut self, i: usize) {
        let (e, text) = self.plan.expects[i].clone();
        let masters_of = |sim: &Sim, name: &str| -> Vec<usize> {
            sim.nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    n.insts
                        .iter()
                        .any(|t| t.name == name && t.state == State::Master)
                })
                .map(|(k, _)| k)
                .collect()
        };
        let names = |sim: &Sim, v: &[usize]| -> String {
            if v.is_empty() {
                "no MASTER".into()
            } else {
                let l: Vec<&str> = v.iter().map(|&k| sim.nodes[k].name.as_str()).collect();
                format!("MASTER: {}", l.join(", "))
            }
        };
        let (ok, seen) = match &e {
            Expect::Master {
                instance, master, ..
            } => {
                let m = masters_of(self, instance);
                let ok = match master {
                    Some(x) => m == [*x],
                    None => m.is_empty(),
                };
                (ok, names(self, &m))
            }
            Expect::Masters {
                instance, count, ..
            } => {
                let m = masters_of(self, instance);
                (m.len() == *count, names(self, &m))
            }
            Expect::State {
                instance,
                node,
                state,
                ..
            } => {
                let s = self.state_of(*node, instance);
                (
                    s == Some(*state),
                    s.map_or("no such instance".into(), |s| s.name().to_string()),
                )
            }
            Expect::Transitions { .. } => return,
        };
        self.expects[i].ok = Some(ok);
        self.expects[i].seen = seen.clone();
        self.record(None, TraceEvent::Expect { text, ok, seen });
    }

    pub(crate) fn liveness(&mut self) {
        match check::liveness(self) {
            None => {}
            Some(Ok(())) => self.set_converged(),
            Some(Err(b)) => self.violate(ViolationKind::Liveness, b.rule, None, b.detail),
        }
        if self.violation.is_none() && self.phase == Phase::Liveness {
            let masters: Vec<String> = self
                .groups
                .iter()
                .map(|g| {
                    let m: Vec<&str> = g
                        .members
                        .iter()
                        .filter(|&&(n, i)| self.nodes[n].insts[i].state == State::Master)
                        .map(|&(n, _)| self.nodes[n].name.as_str())
                        .collect();
                    format!(
                        "{} MASTER {}",
                        g.name,
                        if m.is_empty() {
                            "none".into()
                        } else {
                            m.join("+")
                        }
                    )
                })
                .collect();
            // Directors without virtual routers: nothing to tell.
            if !masters.is_empty() {
                self.record(
                    None,
                    TraceEvent::Converged {
                        masters: masters.join(", "),
                    },
                );
            }
        }
    }

    /// A stalled node is reading the frames that waited ([`Sim::resume`]).
    pub(crate) fn resuming(&self) -> bool {
        self.resuming
    }

    /// The cluster converged: the run enters its LIVENESS phase (no flapping from now on).
    pub(crate) fn set_converged(&mut self) {
        self.phase = Phase::Liveness;
    }

    pub(crate) fn batch(&self) -> (&[(u32, u8)], &[u32]) {
        (&self.batch_adverts, &self.batch_announces)
    }

    pub(crate) fn check_adverts_flowing(&mut self, n: usize) {
        if let Err(b) = check::adverts_flowing(self, n) {
            self.violate(ViolationKind::Safety, b.rule, Some(n), b.detail);
        }
    }
}
