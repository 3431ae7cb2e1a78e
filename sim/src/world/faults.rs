//! The fault schedule: crashes, restarts, stops, link loss, partitions, network model
//! changes, reloads, stalls, check results and tracked files, applied at their virtual time.

use std::rc::Rc;

use vigil_engine::{EngineConfig, Input, Instant, State};

use crate::checks::{self as check, ViolationKind};
use crate::driver::{Event, Phase, Sim};
use crate::oracle::Model;
use crate::scenario::FaultAction;
use crate::trace::TraceEvent;
use crate::world::network::{describe_model, describe_sides};
use crate::world::node::{map_interfaces, InstTrack};
impl Sim {
    /// A fault (or a boot) begins: the cluster is no longer converged, so state changes are
    /// expected until the liveness check.
    pub(crate) fn disturb(&mut self) {
        self.live_gen += 1;
        self.phase = Phase::Safety;
        self.last_disturbance = self.now;
    }

    /// After a fault took effect: check liveness once the network has been quiet for the
    /// convergence bound (computed on the network and priorities as they are now).
    pub(crate) fn schedule_liveness(&mut self) {
        // A frozen node cannot converge: its resume schedules the check.
        if self.plan.checks.liveness && self.nodes.iter().all(|n| n.stalled_until == 0) {
            // From the last frame in flight (it may restart a timer), the bound.
            let from = self.now.max(self.in_flight_until);
            let at = from.saturating_add(check::convergence_bound(self));
            let gen = self.live_gen;
            self.push(at, 1, Event::Liveness(gen));
        }
    }

    pub(crate) fn fault(&mut self, i: usize) {
        // A real server's health is no disturbance of the routers (VRRP liveness).
        if let FaultAction::Server { addr, health } = self.plan.faults[i].action {
            return self.fault_server(addr, health);
        }
        self.disturb();
        self.apply_fault(i);
        // A frozen node cannot converge: liveness is judged from its resume on.
        if !matches!(self.plan.faults[i].action, FaultAction::Stall(..)) {
            self.schedule_liveness();
        }
    }

    pub(crate) fn apply_fault(&mut self, i: usize) {
        let action = self.plan.faults[i].action.clone();
        match action {
            FaultAction::Crash(n) => {
                if self.nodes[n].engine.is_some() {
                    self.crash(n, true);
                }
            }
            FaultAction::Restart(n) => {
                if self.nodes[n].engine.is_some() {
                    self.crash(n, true);
                }
                self.boot(n);
            }
            FaultAction::Stop(n) => self.stop(n),
            a @ FaultAction::Start(..) => self.fault_start(a),
            a @ FaultAction::Link { .. } => self.fault_link(a),
            a @ FaultAction::Partition { .. } => self.fault_partition(a),
            a @ FaultAction::Block { .. } => self.fault_block(a),
            a @ FaultAction::Heal(..) => self.fault_heal(a),
            a @ FaultAction::Network(..) => self.fault_network(a),
            a @ FaultAction::Check { .. } => self.fault_check(a),
            a @ FaultAction::TrackFile { .. } => self.fault_track_file(a),
            FaultAction::Inject {
                node,
                from,
                instance,
                defect,
            } => self.inject(node, from, instance, defect),
            FaultAction::Stall(n, until) => {
                if self.nodes[n].running {
                    self.nodes[n].stalled_until = until;
                    let (from, to) = (self.nodes[n].local(self.now), self.nodes[n].local(until));
                    self.nodes[n].last_stall = Some((from, to));
                    for t in self.nodes[n].insts.iter_mut() {
                        t.model.tenure_unjudged = true;
                    }
                    self.record(Some(n), TraceEvent::Stall { until });
                }
            }
            FaultAction::Resume(n) => self.resume(n),
            FaultAction::Reload {
                node,
                config,
                refused,
            } => self.reload_conf(node, config, refused),
            a @ FaultAction::SetPriority { .. } => self.fault_set_priority(a),
            FaultAction::Server { addr, health } => self.fault_server(addr, health),
        }
    }

    /// `server`: a simulated real server's health from now on (runs already under way answer
    /// as the server was when they started).
    pub(crate) fn fault_server(
        &mut self,
        addr: std::net::SocketAddr,
        health: crate::scenario::ServerHealth,
    ) {
        self.lvs_disturbed = self.now;
        match self.servers.iter_mut().find(|(a, _)| *a == addr) {
            Some(s) => s.1 = health,
            None => self.servers.push((addr, health)),
        }
        self.record(
            None,
            TraceEvent::Server {
                server: addr.to_string(),
                health: health.to_string(),
            },
        );
    }

    /// `start` (apply_fault).
    pub(crate) fn fault_start(&mut self, a: FaultAction) {
        let FaultAction::Start(n) = a else {
            return;
        };

        if self.nodes[n].engine.is_none() {
            self.boot(n);
        } else if !self.nodes[n].running {
            self.record(Some(n), TraceEvent::Start);
            self.started(n);
            self.nodes[n].running = true;
            self.input(n, Input::Start);
            self.lvs_boot(n);
        }
    }

    /// `link` (apply_fault).
    pub(crate) fn fault_link(&mut self, a: FaultAction) {
        let FaultAction::Link { node, iface, up } = a else {
            return;
        };

        let now = self.now;
        let f = &mut self.nodes[node].ifaces[iface];
        f.up = up;
        f.down_since = if up { None } else { f.down_since.or(Some(now)) };
        let id = f.engine_id;
        let name = f.plan.name.clone();
        self.record(Some(node), TraceEvent::Link { iface: name, up });
        if let Some(id) = id {
            self.input(node, Input::Link { iface: id, up });
        }
    }

    /// `partition` (apply_fault).
    pub(crate) fn fault_partition(&mut self, a: FaultAction) {
        let FaultAction::Partition { segment, side } = a else {
            return;
        };

        let groups = describe_sides(&side, &self.names.nodes, &self.segs[segment].members);
        self.segs[segment].side = side;
        let name = self.segs[segment].name.clone();
        self.record(
            None,
            TraceEvent::Net {
                segment: name,
                what: format!("partitioned {groups}"),
            },
        );
    }

    /// `block` (apply_fault).
    pub(crate) fn fault_block(&mut self, a: FaultAction) {
        let FaultAction::Block { segment, from, to } = a else {
            return;
        };

        let nn = self.nodes.len();
        self.segs[segment].blocked[from * nn + to] = true;
        let name = self.segs[segment].name.clone();
        let what = format!(
            "frames from {} no longer reach {} (one-way)",
            self.names.nodes[from], self.names.nodes[to]
        );
        self.record(
            None,
            TraceEvent::Net {
                segment: name,
                what,
            },
        );
    }

    /// `heal` (apply_fault).
    pub(crate) fn fault_heal(&mut self, a: FaultAction) {
        let FaultAction::Heal(seg) = a else {
            return;
        };

        for (si, s) in self.segs.iter_mut().enumerate() {
            if seg.is_none_or(|x| x == si) {
                s.side.iter_mut().for_each(|x| *x = 0);
                s.blocked.iter_mut().for_each(|x| *x = false);
            }
        }
        let name = seg.map_or("*".to_string(), |s| self.segs[s].name.clone());
        self.record(
            None,
            TraceEvent::Net {
                segment: name,
                what: "healed".into(),
            },
        );
    }

    /// `network` (apply_fault).
    pub(crate) fn fault_network(&mut self, a: FaultAction) {
        let FaultAction::Network(seg, spec) = a else {
            return;
        };

        for si in 0..self.segs.len() {
            if seg.is_some_and(|x| x != si) {
                continue;
            }
            let s = &mut self.segs[si];
            s.spec = s.spec.overridden_by(&spec);
            if let Ok(m) = s.spec.resolve() {
                s.model = m;
            }
            if s.model.burst.is_none() {
                s.burst_bad.iter_mut().for_each(|b| *b = false);
            }
        }
        let name = seg.map_or("*".to_string(), |s| self.segs[s].name.clone());
        let what = describe_model(&self.segs[seg.unwrap_or(0)].model);
        self.record(
            None,
            TraceEvent::Net {
                segment: name,
                what,
            },
        );
    }

    /// `check` (apply_fault).
    pub(crate) fn fault_check(&mut self, a: FaultAction) {
        let FaultAction::Check {
            node,
            script,
            result,
        } = a
        else {
            return;
        };

        let word = match result {
            vigil_engine::io::CheckResult::Success => "succeeds",
            vigil_engine::io::CheckResult::Failure => "fails",
            vigil_engine::io::CheckResult::Timeout => "times out",
        };
        self.record(
            Some(node),
            TraceEvent::Track {
                what: format!("check {script} now {word}"),
            },
        );
        for r in self.nodes[node].scripts.iter_mut() {
            if r.name == script {
                r.result = result;
            }
        }
    }

    /// `track_file` (apply_fault).
    pub(crate) fn fault_track_file(&mut self, a: FaultAction) {
        let FaultAction::TrackFile { node, file, value } = a else {
            return;
        };

        self.record(
            Some(node),
            TraceEvent::Track {
                what: format!("track file {file} = {value}"),
            },
        );
        let files = &mut self.nodes[node].files;
        match files.iter_mut().find(|(f, _)| *f == file) {
            Some(slot) => slot.1 = value,
            None => files.push((file.clone(), value)),
        }
        let id = self.nodes[node]
            .engine
            .as_ref()
            .and_then(|e| e.track_file_id(&file));
        if let Some(id) = id {
            self.input(node, Input::TrackFile { file: id, value });
        }
        self.lvs_file(node, &file, value);
    }

    /// `set_priority` (apply_fault).
    pub(crate) fn fault_set_priority(&mut self, a: FaultAction) {
        let FaultAction::SetPriority {
            node,
            instance,
            priority,
        } = a
        else {
            return;
        };

        for ic in Rc::make_mut(&mut self.nodes[node].config)
            .instances
            .iter_mut()
        {
            if ic.name == instance {
                ic.priority = priority;
            }
        }
        self.record(Some(node), TraceEvent::Reload { instance, priority });
        // A running node reloads in place (SIGHUP): the engine keeps what did not
        // change; a stopped node simply boots with the new configuration later.
        if self.nodes[node].running {
            let local = Instant::from_nanos(self.nodes[node].local(self.now));
            let cfg = Rc::clone(&self.nodes[node].config);
            self.nodes[node].contract = None; // re-synced after the reload
            if let Some(e) = self.nodes[node].engine.as_mut() {
                // A refused configuration (priority 0) leaves the running one, as vigild does.
                if e.reload(local, EngineConfig::clone(&cfg)).is_ok() {
                    self.nodes[node].running_config = cfg;
                }
            }
            self.nodes[node].trackers_listed = false;
            self.after_call(node);
            self.resync_contract(node);
            self.check_lookups(node);
        }
    }

    /// SIGHUP with a new keepalived.conf (`reload`): as vigild does, the running engine reloads
    /// in place with `Engine::reload_returning_stopped`; the actions of the routers that stop
    /// are carried out under their old ids, then the simulator's table of instances is rebuilt
    /// for the new configuration (a router is kept when its name, interface, family, VRID and
    /// version are unchanged and it is not in INIT: reload.rs's rule), then the new engine's
    /// actions are drained and every check runs. A refused file changes nothing.
    pub(crate) fn reload_conf(
        &mut self,
        n: usize,
        config: Result<Box<EngineConfig>, String>,
        refused: bool,
    ) {
        let cfg = match config {
            Ok(c) => *c,
            Err(e) => {
                // The parser refused it (the plan allows that only with `refused = true`):
                // vigild logs the error and keeps running the old configuration.
                self.record(
                    Some(n),
                    TraceEvent::ReloadConf {
                        outcome: format!("REFUSED by the parser: {e}"),
                    },
                );
                return;
            }
        };
        let local = self.nodes[n].local(self.now);
        // Whatever the engine makes of it, its tracker lists are compared in full again.
        self.nodes[n].trackers_listed = false;
        let Some(engine) = self.nodes[n].engine.as_mut() else {
            // Crashed: it boots with the new file.
            self.record(
                Some(n),
                TraceEvent::ReloadConf {
                    outcome: "is down: the next boot reads the new file".into(),
                },
            );
            self.rebuild_instances(n, &cfg, local);
            self.nodes[n].config = Rc::new(cfg);
            return;
        };
        match engine.reload_returning_stopped(Instant::from_nanos(local), cfg.clone()) {
            Err(e) => {
                self.record(
                    Some(n),
                    TraceEvent::ReloadConf {
                        outcome: format!("REFUSED by the engine: {e}"),
                    },
                );
                if !refused {
                    let detail = format!("the engine refused the new configuration: {e}");
                    self.violate(ViolationKind::Safety, "reload-verdict", Some(n), detail);
                    return;
                }
                self.after_call(n);
            }
            Ok(stopped) => {
                if refused {
                    let detail = "the engine ran a configuration the scenario says it must refuse";
                    self.violate(
                        ViolationKind::Safety,
                        "reload-verdict",
                        Some(n),
                        detail.into(),
                    );
                    return;
                }
                let before: Vec<String> = self.nodes[n]
                    .running_config
                    .instances
                    .iter()
                    .map(|i| i.name.clone())
                    .collect();
                let after: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
                let added = after
                    .iter()
                    .filter(|a| !before.iter().any(|b| b == *a))
                    .count();
                let removed = before
                    .iter()
                    .filter(|b| !after.contains(&b.as_str()))
                    .count();
                self.record(
                    Some(n),
                    TraceEvent::ReloadConf {
                        outcome: format!(
                            "reloads keepalived.conf: {} instance(s), {added} new, {removed} \
                             removed",
                            after.len()
                        ),
                    },
                );
                self.nodes[n].contract = None; // re-synced after the reload
                                               // The stopping routers' actions, under the ids of the table as it was.
                for a in stopped {
                    self.carry_out(n, a);
                    if self.violation.is_some() {
                        return;
                    }
                }
                let known: Vec<bool> = self.nodes[n]
                    .ifaces
                    .iter()
                    .map(|f| f.engine_id.is_some())
                    .collect();
                self.rebuild_instances(n, &cfg, local);
                let cfg = Rc::new(cfg);
                self.nodes[n].config = Rc::clone(&cfg);
                self.nodes[n].running_config = cfg;
                let node = &mut self.nodes[n];
                if let Some(engine) = node.engine.as_ref() {
                    map_interfaces(&mut node.by_engine_iface, &mut node.ifaces, engine);
                }
                self.after_call(n);
                self.resync_contract(n);
                self.check_lookups(n);
                // An interface the engine did not use before: its facts, as at boot.
                for (fi, was_known) in known.into_iter().enumerate() {
                    if !was_known {
                        self.tell_interface(n, fi);
                    }
                }
            }
        }
    }

    /// The simulator's table of node `n`'s instances for configuration `cfg`, after a reload:
    /// kept routers keep their record (state, addresses, model) with the new settings; new
    /// ones start fresh (in INIT; a started engine arms their preempt_delay now, as at
    /// start-up); the sync groups' last reported states are what the engine derives (the
    /// members' common state, else INIT).
    pub(crate) fn rebuild_instances(&mut self, n: usize, cfg: &EngineConfig, local: u64) {
        let node = &mut self.nodes[n];
        let mut old: Vec<Option<InstTrack>> = core::mem::take(&mut node.insts)
            .into_iter()
            .map(Some)
            .collect();
        let old_cfg = &node.running_config;
        let started = node.running;
        let mut insts = Vec::new();
        for (k, ic) in cfg.instances.iter().enumerate() {
            let iface = node
                .ifaces
                .iter()
                .position(|f| f.plan.name == ic.interface)
                .unwrap_or(0);
            let same = old.iter().position(|t| {
                t.as_ref().is_some_and(|t| {
                    let was = old_cfg.instances.iter().find(|c| c.name == t.name);
                    t.name == ic.name
                        && t.iface == iface
                        && t.family == ic.family
                        && t.vrid == ic.vrid
                        && was.is_some_and(|c| c.version == ic.version)
                        && t.state != State::Init
                })
            });
            let lane = match self.names.instances[n].iter().position(|x| *x == ic.name) {
                Some(l) => l,
                None => {
                    self.names.instances[n].push(ic.name.clone());
                    self.names.instances[n].len() - 1
                }
            };
            let lane = u32::try_from(lane).unwrap_or(u32::MAX);
            let t = match same.and_then(|j| old[j].take()) {
                Some(mut t) => {
                    t.model.reconfigure(cfg, k, t.state);
                    // `master-silent` judges the gap since the last advert by the interval it
                    // was sent under, until the first advert of the new one.
                    t.interval = t
                        .interval
                        .max(crate::dur::Dur::from_std(ic.advert_interval).0);
                    t
                }
                None => {
                    let mut model = Model::new(cfg, k);
                    if started {
                        model.started(local);
                    }
                    InstTrack::new(ic, iface, lane, model)
                }
            };
            insts.push(t);
        }
        node.group_states = cfg
            .sync_groups
            .iter()
            .map(|g| {
                let mut states = insts
                    .iter()
                    .filter(|t: &&InstTrack| g.members.contains(&t.name))
                    .map(|t| t.state);
                let first = states.next().unwrap_or(State::Init);
                if states.all(|s| s == first) {
                    first
                } else {
                    State::Init
                }
            })
            .collect();
        node.insts = insts;
        self.regroup();
    }

    /// After a reload: the run-loop contract restarts from the engine's own report
    /// ([`crate::contract::Contract::resume`]).
    pub(crate) fn resync_contract(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.contract = node
            .engine
            .as_ref()
            .map(|e| crate::contract::Contract::resume(e, &node.running_config));
    }
}
