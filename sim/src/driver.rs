//! The simulator: nodes running unmodified engines over a virtual clock and modelled L2 segments.
//!
//! One event queue, ordered by (virtual time, class, sequence number): ties break the same way on
//! every run. Class 0 is the world (boots, faults, timer expiries, frame deliveries), class 1 the
//! checks (expectations, liveness), so that a check at an instant sees everything that happened
//! at that instant. Every random draw comes from one [`SimRng`] seeded by the run's seed.
//!
//! Each node runs its own [`Engine`]: the simulator feeds inputs, drains every action after every
//! call, carries the actions out (adverts are encoded with [`vigil_engine::SendAdvert::encode`] and
//! delivered as real VRRP bytes with TTL 255), and checks the safety invariants
//! ([`crate::checks`]) after each call.
//!
//! The run has two phases ([`Phase`]): SAFETY while faults are in effect, LIVENESS once the
//! cluster converged after the last one. [`Sim::step`] takes the next event and hands it to the
//! world ([`crate::world`]: boots, timers, deliveries, faults, check programs) or to the checks
//! (expectations, the liveness judgement that moves the run to LIVENESS).

use std::collections::VecDeque;
use std::rc::Rc;

use vigil_engine::wire::MAX_ADVERT_LEN;
use vigil_engine::State;

use crate::checks::{Violation, ViolationKind};
use crate::frames::Captured;
use crate::oracle::Model;
use crate::queue::EventQueue;
use crate::rng::{SimRng, Stream};
use crate::scenario::{Expect, Plan};
use crate::trace::{Names, TraceEntry, TraceEvent};
use crate::world::network::{Frame, RxCtx, Segment};
use crate::world::node::{InstTrack, Node, NodeIface, ScriptRun};
use crate::world::Group;

/// The phase of a run (TigerBeetle's VOPR runs a safety phase, then a liveness phase).
///
/// SAFETY: faults happen (crashes, partitions, loss, stalls, reloads...) and after every engine
/// call the safety rules hold ([`crate::contract`], [`crate::checks`]). Once the network has been
/// clean and quiet for the convergence bound, the liveness rules are judged (one right MASTER
/// per virtual router); if they hold the run is in LIVENESS: the cluster has converged and no
/// instance may change state (`flapping`) until the next disturbance (a fault, a boot, a stop)
/// puts it back in SAFETY. Safety rules hold in both phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Faults may be in effect; safety rules only.
    Safety,
    /// Converged after the last disturbance: safety rules plus no flapping.
    Liveness,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The seed of every random draw.
    pub seed: u64,
    /// Record every advert and loss in the trace (`--json`); off, the trace keeps state changes,
    /// faults and checks only (faster, for exploration).
    pub record_packets: bool,
    /// Keep Ethernet frames for `--pcap`.
    pub capture: bool,
}

impl Options {
    /// Everything recorded, for `vigil-sim run`.
    pub fn full(seed: u64) -> Options {
        Options {
            seed,
            record_packets: true,
            capture: false,
        }
    }

    /// State-level trace only, for exploration and benchmarks.
    pub fn quiet(seed: u64) -> Options {
        Options {
            seed,
            record_packets: false,
            capture: false,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Event {
    Boot(usize),
    Timer {
        node: usize,
        gen: u64,
    },
    Deliver {
        node: usize,
        iface: usize,
        frame: Rc<Frame>,
    },
    Fault(usize),
    Expect(usize),
    Liveness(u64),
    Script {
        node: usize,
        idx: usize,
        inc: u64,
    },
    /// The runner of a node with a `read_cost` reads the next frame waiting in its socket.
    Read(usize),
    /// The checker engine's deadline on a director node.
    CheckTimer {
        node: usize,
        gen: u64,
    },
    /// A simulated real server's answer to one check run reaches the director.
    CheckDone {
        node: usize,
        inc: u64,
        id: u32,
        run: u64,
        outcome: vigil_engine::checker::CheckOutcome,
    },
}

/// How an expectation came out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectResult {
    /// The expectation in words.
    pub text: String,
    /// Whether it held (`None`: not reached, the run stopped first).
    pub ok: Option<bool>,
    /// What was seen.
    pub seen: String,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The first invariant that failed, if one did (the run stopped there).
    pub violation: Option<Violation>,
    /// Each expectation of the scenario.
    pub expects: Vec<ExpectResult>,
    /// Events processed.
    pub events: u64,
    /// Virtual time reached.
    pub end: u64,
}

impl Outcome {
    /// Whether every invariant and every expectation held.
    pub fn passed(&self) -> bool {
        self.violation.is_none() && self.expects.iter().all(|e| e.ok == Some(true))
    }
}

/// A running simulation.
#[derive(Debug)]
pub struct Sim {
    pub(crate) plan: Rc<Plan>,
    pub(crate) seed: u64,
    pub(crate) now: u64,
    pub(crate) queue: EventQueue<Event>,
    pub(crate) events: u64,
    pub(crate) nodes: Vec<Node>,
    pub(crate) segs: Vec<Segment>,
    pub(crate) groups: Vec<Group>,
    pub(crate) rng: SimRng,
    pub(crate) trace: Vec<TraceEntry>,
    pub(crate) record_packets: bool,
    pub(crate) captured: Option<Vec<Captured>>,
    pub(crate) violation: Option<Violation>,
    pub(crate) expects: Vec<ExpectResult>,
    /// Liveness: generation of the last disturbance, and the phase of the run since.
    pub(crate) live_gen: u64,
    pub(crate) phase: Phase,
    /// Per-batch scratch: adverts (instance, priority) and announces seen while draining.
    pub(crate) batch_adverts: Vec<(u32, u8)>,
    pub(crate) batch_announces: Vec<u32>,
    pub(crate) buf: Vec<u8>,
    pub(crate) names: Names,
    /// Virtual time of the last fault, boot or stop (the "network heals" instant).
    pub(crate) last_disturbance: u64,
    /// The latest delivery time of any frame put in flight so far: frames sent under an earlier,
    /// slower network model may still arrive after it changed.
    pub(crate) in_flight_until: u64,
    /// The advert being delivered, while the engine handles it.
    pub(crate) rx: Option<RxCtx>,
    /// The rule of the last `ProtocolError` (for injected adverts, [`Sim::inject`]).
    pub(crate) last_drop: Option<&'static str>,
    /// One advert's deliveries, queued together ([`EventQueue::push_batch`]).
    pub(crate) fanout: Vec<(u64, Event)>,
    /// The engine call being drained is a `handle_timeout`.
    pub(crate) timeout_call: bool,
    /// A stalled node is reading the frames that waited: its timers may be overdue until the
    /// `handle_timeout` that ends the resume.
    pub(crate) resuming: bool,
    /// Frames delivered to every receiver, kept for reuse by the next adverts.
    pub(crate) spare_frames: Vec<Rc<Frame>>,
    /// The simulated real servers' health, as `server` faults set it (not listed: up).
    pub(crate) servers: Vec<(std::net::SocketAddr, crate::scenario::ServerHealth)>,
    /// Answer times of the simulated real servers (its own stream: a scenario without health
    /// checkers draws nothing from it).
    pub(crate) check_rng: SimRng,
    /// Virtual time of the last real-server health change or director boot, crash or stop.
    pub(crate) lvs_disturbed: u64,
}

impl Sim {
    /// A simulation of `plan`, nothing run yet.
    pub fn new(plan: &Plan, opts: &Options) -> Sim {
        Sim::new_shared(Rc::new(plan.clone()), opts)
    }

    /// [`Sim::new`] without copying the plan: many runs of one plan (a benchmark), or a plan
    /// made for one run (`explore`), share it.
    // Long: builds every node, segment and queue entry of a run in one place, in plan order.
    pub fn new_shared(shared: Rc<Plan>, opts: &Options) -> Sim {
        let plan: &Plan = &shared;
        let n = plan.nodes.len();
        let mut segs: Vec<Segment> = plan
            .segments
            .iter()
            .map(|s| Segment {
                name: s.name.clone(),
                spec: s.spec.clone(),
                model: s.model,
                members: Vec::new(),
                side: vec![0; n],
                blocked: vec![false; n * n],
                burst_bad: vec![false; n * n],
            })
            .collect();
        let mut nodes = Vec::new();
        for (ni, np) in plan.nodes.iter().enumerate() {
            let config = Rc::new(np.config.clone());
            let ifaces: Vec<NodeIface> = np
                .ifaces
                .iter()
                .map(|p| NodeIface {
                    plan: p.clone(),
                    up: true,
                    engine_id: None,
                    ip_id: 0,
                    down_since: None,
                })
                .collect();
            for (ii, f) in ifaces.iter().enumerate() {
                if let Some(s) = segs.get_mut(f.plan.segment) {
                    s.members.push((ni, ii));
                }
            }
            let mut insts = Vec::new();
            for ic in &np.config.instances {
                let iface = ifaces
                    .iter()
                    .position(|f| f.plan.name == ic.interface)
                    .unwrap_or(0);
                let k = insts.len();
                let lane = u32::try_from(k).unwrap_or(u32::MAX);
                insts.push(InstTrack::new(ic, iface, lane, Model::new(&np.config, k)));
            }
            nodes.push(Node {
                name: np.name.clone(),
                config: Rc::clone(&config),
                running_config: config,
                engine: None,
                running: false,
                ifaces,
                by_engine_iface: Vec::new(),
                insts,
                timer_at: u64::MAX,
                timer_gen: 0,
                want: u64::MAX,
                clock_offset: np.clock_offset,
                drift_ppm: np.drift_ppm,
                incarnation: 0,
                stalled_until: 0,
                last_stall: None,
                stall_buffer: VecDeque::new(),
                socket_buffer: np.socket_buffer.max(1),
                read_cost: np.read_cost,
                busy_until: 0,
                read_queued: false,
                lost: vec![0; np.ifaces.len()],
                lost_at: vec![None; np.ifaces.len()],
                scripts: np
                    .config
                    .scripts
                    .iter()
                    .map(|sc| ScriptRun {
                        name: sc.name.clone(),
                        result: if sc.init_fail {
                            vigil_engine::io::CheckResult::Failure
                        } else {
                            vigil_engine::io::CheckResult::Success
                        },
                        up: !sc.init_fail,
                        successes: 0,
                        failures: 0,
                    })
                    .collect(),
                files: Vec::new(),
                router_stats: Default::default(),
                gate_last: Vec::new(),
                group_states: Vec::new(),
                trackers_listed: false,
                contract: None,
                lvs: np
                    .checkers
                    .as_ref()
                    .map(|c| crate::world::lvs::Director::new(c, &np.notify_scripts)),
            });
        }
        let names = Names {
            nodes: nodes.iter().map(|n| n.name.clone()).collect(),
            instances: nodes
                .iter()
                .map(|n| n.insts.iter().map(|i| i.name.clone()).collect())
                .collect(),
        };
        let mut sim = Sim {
            plan: Rc::clone(&shared),
            seed: opts.seed,
            now: 0,
            // Room for what a run keeps queued (a timer per node, an advert's copies to every
            // receiver, the faults and checks to come), and for a state-level trace, so that
            // neither grows step by step while the run starts.
            queue: EventQueue::with_capacity(4 * n + plan.faults.len() + plan.expects.len() + 16),
            events: 0,
            nodes,
            segs,
            groups: Vec::new(),
            rng: SimRng::new(opts.seed, Stream::Network),
            trace: Vec::with_capacity(64 + 8 * n),
            record_packets: opts.record_packets,
            captured: opts.capture.then(Vec::new),
            violation: None,
            expects: plan
                .expects
                .iter()
                .map(|(_, text)| ExpectResult {
                    text: text.clone(),
                    ok: None,
                    seen: "not reached".into(),
                })
                .collect(),
            live_gen: 0,
            phase: Phase::Safety,
            batch_adverts: Vec::new(),
            batch_announces: Vec::new(),
            buf: vec![0; MAX_ADVERT_LEN],
            names,
            last_disturbance: 0,
            in_flight_until: 0,
            rx: None,
            last_drop: None,
            timeout_call: false,
            resuming: false,
            spare_frames: Vec::new(),
            fanout: Vec::new(),
            servers: Vec::new(),
            check_rng: SimRng::new(opts.seed, Stream::Checks),
            lvs_disturbed: 0,
        };
        sim.regroup();
        for (ni, np) in plan.nodes.iter().enumerate() {
            if let Some(t) = np.boot {
                sim.push(t, 0, Event::Boot(ni));
            }
        }
        for (fi, f) in plan.faults.iter().enumerate() {
            sim.push(f.at, 0, Event::Fault(fi));
        }
        for (ei, (e, _)) in plan.expects.iter().enumerate() {
            let at = match e {
                Expect::Master { at, .. }
                | Expect::Masters { at, .. }
                | Expect::State { at, .. } => *at,
                Expect::Transitions { .. } => continue,
            };
            sim.push(at, 1, Event::Expect(ei));
        }
        sim
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Virtual time now, nanoseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The trace so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Node and instance names, for rendering the trace.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Frames captured for `--pcap` (empty unless capture was on).
    pub fn captured(&self) -> &[Captured] {
        self.captured.as_deref().unwrap_or(&[])
    }

    /// The phase the run is in.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The first violation, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// The state of `node`'s instance `name` as the engine reported it (INIT when down).
    pub fn state_of(&self, node: usize, name: &str) -> Option<State> {
        let n = self.nodes.get(node)?;
        n.insts.iter().find(|i| i.name == name).map(|i| i.state)
    }

    pub(crate) fn push(&mut self, at: u64, class: u8, ev: Event) {
        self.queue.push(at, class, ev);
    }

    /// Run to the end of the scenario or the first violation.
    pub fn run(&mut self) -> Outcome {
        while self.step() {}
        self.finish()
    }

    /// Process one event; false when the run is over (end of time, or a violation).
    pub fn step(&mut self) -> bool {
        if self.violation.is_some() {
            return false;
        }
        let Some((at, ev)) = self.queue.pop() else {
            return false;
        };
        if at > self.plan.duration {
            self.now = self.plan.duration;
            return false;
        }
        self.now = at;
        self.events += 1;
        crate::watchdog::beat(self.events, self.now);
        match ev {
            Event::Boot(n) => {
                self.disturb();
                self.boot(n);
                self.schedule_liveness();
            }
            Event::Timer { node, gen } => self.on_timer(node, gen),
            Event::Deliver { node, iface, frame } => self.arrive(node, iface, frame),
            Event::Read(node) => self.read_next(node),
            Event::Fault(i) => self.fault(i),
            Event::Expect(i) => self.check_expect(i),
            Event::Liveness(gen) => {
                if gen == self.live_gen {
                    self.liveness();
                }
            }
            Event::Script { node, idx, inc } => self.run_script(node, idx, inc),
            Event::CheckTimer { node, gen } => self.lvs_timer(node, gen),
            Event::CheckDone {
                node,
                inc,
                id,
                run,
                outcome,
            } => self.lvs_done(node, inc, id, run, outcome),
        }
        self.violation.is_none()
    }

    /// Evaluate the window expectations and return the outcome (call once, after the run).
    pub fn finish(&mut self) -> Outcome {
        self.lvs_finish();
        if self.violation.is_none() {
            self.now = self
                .now
                .max(self.plan.duration.min(self.now.max(self.plan.duration)));
            for n in 0..self.nodes.len() {
                self.check_adverts_flowing(n);
                let local = self.nodes[n].local(self.now);
                for i in 0..self.nodes[n].insts.len() {
                    if self.nodes[n].engine.is_some()
                        && self.nodes[n].insts[i].state == State::Master
                    {
                        self.check_announces(n, i, local);
                    }
                }
            }
        }
        let mut transitions: Vec<(u64, u16, u32)> = Vec::new();
        for e in &self.trace {
            if let (TraceEvent::State { inst, .. }, Some(n)) = (&e.ev, e.node) {
                transitions.push((e.t, n, *inst));
            }
        }
        let plan_expects = self.plan.expects.clone();
        for (i, (e, _)) in plan_expects.iter().enumerate() {
            if let Expect::Transitions {
                from,
                to,
                node,
                instance,
                min,
                max,
            } = e
            {
                if self.violation.is_some() && *to > self.now {
                    continue;
                }
                let count = transitions
                    .iter()
                    .filter(|(t, n, inst)| {
                        *t >= *from
                            && *t <= *to
                            && node.is_none_or(|x| usize::from(*n) == x)
                            && instance
                                .as_ref()
                                .is_none_or(|name| self.names.instance(*n, *inst) == name)
                    })
                    .count();
                let ok = count >= *min && count <= *max;
                self.expects[i].ok = Some(ok);
                self.expects[i].seen = format!("{count} state changes");
            }
        }
        Outcome {
            violation: self.violation.clone(),
            expects: self.expects.clone(),
            events: self.events,
            end: self.now,
        }
    }

    pub(crate) fn record(&mut self, node: Option<usize>, ev: TraceEvent) {
        self.trace.push(TraceEntry {
            t: self.now,
            node: node.and_then(|n| u16::try_from(n).ok()),
            ev,
        });
    }

    pub(crate) fn violate(
        &mut self,
        kind: ViolationKind,
        rule: &'static str,
        node: Option<usize>,
        detail: String,
    ) {
        if self.violation.is_some() {
            return;
        }
        self.record(
            node,
            TraceEvent::Violation {
                kind: kind.name(),
                rule,
                detail: detail.clone(),
            },
        );
        self.violation = Some(Violation {
            kind,
            rule,
            detail,
            at: self.now,
            event: self.events,
            node: node.map(|n| self.nodes[n].name.clone()),
        });
    }
}
