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
//! ([`crate::check`]) after each call.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;

use vigil_engine::wire::{Family, MAX_ADVERT_LEN};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceId, Instant, Reason, Received, State,
};

use crate::check::{self, Violation, ViolationKind};
use crate::frames::{self, Captured};
use crate::oracle::{self, Model};
use crate::queue::EventQueue;
use crate::rng::{SimRng, Stream};
use crate::scenario::{Defect, Expect, FaultAction, IfacePlan, LinkModel, NetworkSpec, Plan};
use crate::trace::{Names, TraceEntry, TraceEvent};

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

/// A frame in flight: the IP addresses and the VRRP bytes the engine's codec produced.
#[derive(Debug)]
struct Frame {
    from: u16,
    src: IpAddr,
    dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit as received (255 for every advert a node sends).
    ttl: u8,
    payload: Payload,
}

/// VRRP bytes of a frame: inline when small (almost every advert: one allocation per frame
/// instead of two), on the heap otherwise.
#[derive(Debug)]
enum Payload {
    Inline { len: u8, bytes: [u8; 64] },
    Heap(Box<[u8]>),
}

impl Payload {
    fn new(b: &[u8]) -> Payload {
        match u8::try_from(b.len()) {
            Ok(len) if b.len() <= 64 => {
                let mut bytes = [0u8; 64];
                bytes[..b.len()].copy_from_slice(b);
                Payload::Inline { len, bytes }
            }
            _ => Payload::Heap(b.into()),
        }
    }

    /// Overwrite with `b`, in place when both fit inline (a reused frame: no zero-fill and
    /// no move of the whole array).
    fn set(&mut self, b: &[u8]) {
        if let (Payload::Inline { len, bytes }, Ok(n)) = (&mut *self, u8::try_from(b.len())) {
            if b.len() <= bytes.len() {
                bytes[..b.len()].copy_from_slice(b);
                *len = n;
                return;
            }
        }
        *self = Payload::new(b);
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Payload::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Payload::Heap(b) => b,
        }
    }
}

#[derive(Debug)]
enum Event {
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
}

/// A node's interface at run time.
#[derive(Debug)]
pub(crate) struct NodeIface {
    pub plan: IfacePlan,
    pub up: bool,
    /// The engine's id for it, when some instance uses it.
    pub engine_id: Option<IfaceId>,
    /// IPv4 identification counter (keepalived counts from 1).
    pub ip_id: u16,
}

/// What the simulator knows of one instance (checked against the engine after every call).
#[derive(Debug)]
pub(crate) struct InstTrack {
    pub name: String,
    pub iface: usize,
    pub family: Family,
    pub vrid: u8,
    /// The state as the engine's StateChange actions told it.
    pub state: State,
    /// The virtual addresses on the node (AddAddresses / RemoveAddresses), as a set.
    pub vips: Vec<IpAddr>,
    /// Its lane in the trace and the timeline (an index into the node's instance names, which
    /// a reload may extend; engine ids may change with a reload, names do not).
    pub lane: u32,
    /// Last restart of the Master_Down_Timer as seen from outside: entering BACKUP, or a valid
    /// advert of a priority at least ours (or 0) heard while BACKUP.
    pub last_rx: Option<u64>,
    /// Last advert sent with a non-zero priority.
    pub last_sent: u64,
    /// Advertisement interval, nanoseconds.
    pub interval: u64,
    /// The reason the engine gave for the last state change (`group-cause`).
    pub last_reason: &'static str,
    /// What the simulator expects the engine to report about it ([`crate::oracle`]).
    pub model: Model,
}

impl InstTrack {
    /// A new instance of configuration `ic` on node interface `iface`, in INIT.
    fn new(ic: &vigil_engine::InstanceConfig, iface: usize, lane: u32, model: Model) -> InstTrack {
        InstTrack {
            name: ic.name.clone(),
            iface,
            family: ic.family,
            vrid: ic.vrid,
            state: State::Init,
            vips: Vec::new(),
            lane,
            last_rx: None,
            last_sent: 0,
            interval: crate::dur::Dur::from_std(ic.advert_interval).0,
            last_reason: "",
            model,
        }
    }
}

/// One router.
#[derive(Debug)]
pub(crate) struct Node {
    pub name: String,
    /// The configuration it boots with (shared with `running_config` while they are the same:
    /// a boot or an accepted reload makes them one).
    pub config: Rc<EngineConfig>,
    /// The configuration the engine runs with (the last one it accepted): a reload may be
    /// refused, and a stopped node keeps its configuration until it boots again.
    pub running_config: Rc<EngineConfig>,
    pub engine: Option<Engine>,
    /// The engine has been started and not stopped.
    pub running: bool,
    pub ifaces: Vec<NodeIface>,
    /// Node interface index by engine `IfaceId`.
    pub by_engine_iface: Vec<usize>,
    pub insts: Vec<InstTrack>,
    /// Earliest Timer event in the queue for this node (MAX: none), and its generation.
    timer_at: u64,
    timer_gen: u64,
    /// The engine's next deadline, virtual time (MAX: none).
    want: u64,
    clock_offset: u64,
    drift_ppm: i64,
    /// Boot counter: periodic events of an earlier engine are dropped.
    incarnation: u64,
    /// Check programs: what each run returns, how often it runs.
    pub scripts: Vec<ScriptRun>,
    /// Tracked files' values as the schedule set them (re-read at every boot).
    pub files: Vec<(String, i64)>,
    /// The router-wide counters the engine's drops imply.
    pub router_stats: vigil_engine::stats::RouterStats,
    /// Each sync group's state as the engine's GroupStateChange actions told it.
    pub group_states: Vec<State>,
    /// A `stall`: the process is frozen until this virtual time (0: it runs).
    pub stalled_until: u64,
    /// Frames that reached the node while it was stalled, or busy reading earlier frames
    /// (interface, frame), in arrival order: its socket buffer, bounded by `socket_buffer`.
    stall_buffer: VecDeque<(usize, Rc<Frame>)>,
    /// Frames its socket buffer holds ([`crate::scenario::NodeSpec::socket_buffer`]).
    socket_buffer: usize,
    /// Its runner's time per frame read ([`crate::scenario::NodeSpec::read_cost`]).
    read_cost: u64,
    /// Its runner reads frames until then (virtual time).
    busy_until: u64,
    /// An `Event::Read` is queued for it.
    read_queued: bool,
    /// Frames its socket buffer lost since the engine was last told, by node interface.
    lost: Vec<u32>,
    /// When (local clock) the engine was last told of lost frames, by node interface.
    lost_at: Vec<Option<u64>>,
    /// The engine's tracker lists were compared in full (their length included) since its
    /// last boot or reload ([`oracle::compare_tracking`]).
    trackers_listed: bool,
}

/// A check program as the simulated runner runs it.
#[derive(Debug)]
pub(crate) struct ScriptRun {
    pub name: String,
    pub interval: u64,
    pub result: vigil_engine::io::CheckResult,
    /// The check's state after its rise / fall counts, as the results fed imply.
    pub up: bool,
    pub successes: u32,
    pub failures: u32,
}

impl Node {
    /// The node's clock at virtual time `t`: offset + t * (1 + drift).
    pub fn local(&self, t: u64) -> u64 {
        if self.drift_ppm == 0 {
            return t.saturating_add(self.clock_offset);
        }
        let scaled = i128::from(t) * (1_000_000 + i128::from(self.drift_ppm)) / 1_000_000;
        u64::try_from(scaled)
            .unwrap_or(u64::MAX)
            .saturating_add(self.clock_offset)
    }

    /// The first virtual time at or after `now` at which the node's clock reads `local`.
    fn global(&self, local: u64, now: u64) -> u64 {
        if local <= self.local(now) {
            return now;
        }
        if self.drift_ppm == 0 {
            return local.saturating_sub(self.clock_offset).max(now);
        }
        let rate = 1_000_000 + i128::from(self.drift_ppm);
        let since = i128::from(local.saturating_sub(self.clock_offset));
        let mut t = u64::try_from((since * 1_000_000 + rate - 1) / rate)
            .unwrap_or(u64::MAX)
            .max(now);
        while self.local(t) < local && t < u64::MAX {
            t += 1;
        }
        t
    }

    /// Drift slack for a duration measured on this node's clock, in virtual time.
    pub fn slack(&self, d: u64) -> u64 {
        d / 1_000_000 * self.drift_ppm.unsigned_abs() + 1_000
    }
}

/// An L2 segment at run time.
#[derive(Debug)]
pub(crate) struct Segment {
    pub name: String,
    pub spec: NetworkSpec,
    pub model: LinkModel,
    /// (node, interface) members, in node order.
    pub members: Vec<(usize, usize)>,
    /// Partition side of each node (all 0: no partition).
    pub side: Vec<usize>,
    /// One-way blocks: `blocked[from * n + to]`.
    pub blocked: Vec<bool>,
    /// Gilbert-Elliott state per sender and receiver (`true`: bad).
    pub burst_bad: Vec<bool>,
}

impl Segment {
    fn cut(&self, n: usize, from: usize, to: usize) -> bool {
        self.side[from] != self.side[to] || self.blocked[from * n + to]
    }

    fn partitioned(&self) -> bool {
        self.side.iter().any(|&s| s != self.side[0]) || self.blocked.iter().any(|&b| b)
    }
}

/// A virtual router: the instances of one (segment, family, VRID).
#[derive(Debug)]
pub(crate) struct Group {
    pub name: String,
    pub segment: usize,
    pub members: Vec<(usize, usize)>,
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
    plan: Rc<Plan>,
    seed: u64,
    now: u64,
    queue: EventQueue<Event>,
    events: u64,
    pub(crate) nodes: Vec<Node>,
    pub(crate) segs: Vec<Segment>,
    pub(crate) groups: Vec<Group>,
    rng: SimRng,
    trace: Vec<TraceEntry>,
    record_packets: bool,
    captured: Option<Vec<Captured>>,
    violation: Option<Violation>,
    expects: Vec<ExpectResult>,
    /// Liveness: generation of the last disturbance, and whether the cluster is converged since.
    live_gen: u64,
    converged: bool,
    /// Per-batch scratch: adverts (instance, priority) and announces seen while draining.
    batch_adverts: Vec<(u32, u8)>,
    batch_announces: Vec<u32>,
    buf: Vec<u8>,
    names: Names,
    /// Virtual time of the last fault, boot or stop (the "network heals" instant).
    pub(crate) last_disturbance: u64,
    /// The latest delivery time of any frame put in flight so far: frames sent under an earlier,
    /// slower network model may still arrive after it changed.
    in_flight_until: u64,
    /// The advert being delivered, while the engine handles it.
    rx: Option<RxCtx>,
    /// The rule of the last `ProtocolError` (for injected adverts, [`Sim::inject`]).
    last_drop: Option<&'static str>,
    /// One advert's deliveries, queued together ([`EventQueue::push_batch`]).
    fanout: Vec<(u64, Event)>,
    /// The engine call being drained is a `handle_timeout`.
    timeout_call: bool,
    /// A stalled node is reading the frames that waited: its timers may be overdue until the
    /// `handle_timeout` that ends the resume.
    resuming: bool,
    /// Frames delivered to every receiver, kept for reuse by the next adverts.
    spare_frames: Vec<Rc<Frame>>,
}

/// An advert being delivered to one node: which instance it is for, as the simulator sees it.
#[derive(Clone, Copy, Debug)]
struct RxCtx {
    inst: Option<usize>,
    src: IpAddr,
    prio: u8,
    heard: u64,
    before: State,
    dropped: bool,
    /// Bytes after the advert's declared content (counted as `trailing_bytes` if accepted).
    trailing: bool,
}

impl Sim {
    /// A simulation of `plan`, nothing run yet.
    pub fn new(plan: &Plan, opts: &Options) -> Sim {
        Sim::new_shared(Rc::new(plan.clone()), opts)
    }

    /// [`Sim::new`] without copying the plan: many runs of one plan (a benchmark), or a plan
    /// made for one run (`explore`), share it.
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
                        // The node's keepalived.conf, else the scenario's `[[scripts]]`, else
                        // keepalived's default of 1 s.
                        interval: np
                            .script_intervals
                            .iter()
                            .chain(plan.script_intervals.iter())
                            .find(|(n, _)| *n == sc.name)
                            .map_or(1_000_000_000, |(_, i)| *i),
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
                group_states: Vec::new(),
                trackers_listed: false,
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
            converged: false,
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

    // ----- accessors ---------------------------------------------------------------------

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

    /// The first violation, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// The state of `node`'s instance `name` as the engine reported it (INIT when down).
    pub fn state_of(&self, node: usize, name: &str) -> Option<State> {
        let n = self.nodes.get(node)?;
        n.insts.iter().find(|i| i.name == name).map(|i| i.state)
    }

    // ----- the run loop -----------------------------------------------------------------

    fn push(&mut self, at: u64, class: u8, ev: Event) {
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
            Event::Deliver { node, iface, frame } => {
                let nd = &self.nodes[node];
                let stalled = nd.stalled_until > self.now;
                if stalled
                    || (nd.read_cost > 0
                        && (nd.busy_until > self.now || !nd.stall_buffer.is_empty()))
                {
                    // The runner is not reading (a frozen process, or still busy with a burst):
                    // the frame waits in the socket buffer, which holds `socket_buffer` frames;
                    // the rest is lost, and the runner tells the engine before its next
                    // decision (Input::ReceiveQueue).
                    let nd = &mut self.nodes[node];
                    if nd.stall_buffer.len() < nd.socket_buffer {
                        nd.stall_buffer.push_back((iface, frame));
                        if !stalled && !nd.read_queued {
                            nd.read_queued = true;
                            let at = nd.busy_until.max(self.now);
                            self.push(at, 0, Event::Read(node));
                        }
                    } else {
                        if nd.running && nd.ifaces[iface].up {
                            nd.lost[iface] = nd.lost[iface].saturating_add(1);
                        }
                        if self.record_packets {
                            self.record(
                                Some(usize::from(frame.from)),
                                TraceEvent::Lost {
                                    to: u16::try_from(node).unwrap_or(u16::MAX),
                                    why: "socket-buffer-full",
                                },
                            );
                        }
                    }
                } else {
                    self.nodes[node].busy_until =
                        self.now.saturating_add(self.nodes[node].read_cost);
                    self.deliver(node, iface, &frame);
                    if Rc::strong_count(&frame) == 1 {
                        self.spare_frames.push(frame);
                    }
                }
            }
            Event::Read(node) => self.read_next(node),
            Event::Fault(i) => self.fault(i),
            Event::Expect(i) => self.check_expect(i),
            Event::Liveness(gen) => {
                if gen == self.live_gen {
                    self.liveness();
                }
            }
            Event::Script { node, idx, inc } => self.run_script(node, idx, inc),
        }
        self.violation.is_none()
    }

    /// Evaluate the window expectations and return the outcome (call once, after the run).
    pub fn finish(&mut self) -> Outcome {
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

    fn record(&mut self, node: Option<usize>, ev: TraceEvent) {
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

    // ----- nodes ------------------------------------------------------------------------

    fn boot(&mut self, n: usize) {
        if self.nodes[n].engine.is_some() {
            self.crash(n, false);
        }
        let engine = match Engine::new(EngineConfig::clone(&self.nodes[n].config)) {
            Ok(e) => e,
            Err(e) => {
                return self.violate(
                    ViolationKind::Safety,
                    "engine-setup",
                    Some(n),
                    format!("the engine rejected the node's configuration: {e}"),
                )
            }
        };
        let node = &mut self.nodes[n];
        map_interfaces(&mut node.by_engine_iface, &mut node.ifaces, &engine);
        node.engine = Some(engine);
        node.trackers_listed = false;
        node.running = false;
        node.router_stats = Default::default();
        node.running_config = Rc::clone(&node.config);
        node.group_states = vec![State::Init; node.config.sync_groups.len()];
        for (k, t) in node.insts.iter_mut().enumerate() {
            t.model = Model::new(&node.config, k);
        }
        for r in node.scripts.iter_mut() {
            r.up = !node
                .config
                .scripts
                .iter()
                .any(|s| s.name == r.name && s.init_fail);
            r.successes = 0;
            r.failures = 0;
        }
        self.record(Some(n), TraceEvent::Boot);
        // The run-loop contract: links and primary addresses first, then Start.
        for fi in 0..self.nodes[n].ifaces.len() {
            self.tell_interface(n, fi);
        }
        let files = self.nodes[n].files.clone();
        for (name, value) in files {
            let id = self.nodes[n]
                .engine
                .as_ref()
                .and_then(|e| e.track_file_id(&name));
            if let Some(file) = id {
                self.input(n, Input::TrackFile { file, value });
            }
        }
        self.check_lookups(n);
        self.started(n);
        self.nodes[n].running = true;
        self.nodes[n].incarnation += 1;
        let inc = self.nodes[n].incarnation;
        for idx in 0..self.nodes[n].scripts.len() {
            let at = self.now.saturating_add(self.nodes[n].scripts[idx].interval);
            self.push(at, 0, Event::Script { node: n, idx, inc });
        }
        self.input(n, Input::Start);
    }

    /// Tell node `n`'s engine the facts of interface `fi`, if it uses it: its link and its
    /// primary addresses (the runner's contract, at boot and for an interface a reload adds).
    fn tell_interface(&mut self, n: usize, fi: usize) {
        let f = &self.nodes[n].ifaces[fi];
        let Some(id) = f.engine_id else { return };
        let up = f.up;
        let v4 = f.plan.ipv4.map(IpAddr::V4);
        let v6 = f.plan.ipv6.map(IpAddr::V6);
        self.input(n, Input::Link { iface: id, up });
        for (family, addr) in [(Family::V4, v4), (Family::V6, v6)] {
            self.input(
                n,
                Input::PrimaryAddress {
                    iface: id,
                    family,
                    addr,
                },
            );
        }
    }

    /// The simulated runner runs a check program: report its result, run it again later.
    fn run_script(&mut self, n: usize, idx: usize, inc: u64) {
        if self.nodes[n].incarnation != inc || self.nodes[n].engine.is_none() {
            return;
        }
        if self.nodes[n].stalled_until > self.now {
            // The runner is frozen with the engine: the check starts when the node resumes.
            let at = self.nodes[n].stalled_until;
            self.push(at, 0, Event::Script { node: n, idx, inc });
            return;
        }
        let run = &self.nodes[n].scripts[idx];
        let (result, interval) = (run.result, run.interval);
        let id = self.nodes[n]
            .engine
            .as_ref()
            .and_then(|e| e.script_id(&self.nodes[n].scripts[idx].name));
        let at = self.now.saturating_add(interval);
        self.push(at, 0, Event::Script { node: n, idx, inc });
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

    fn crash(&mut self, n: usize, trace: bool) {
        let node = &mut self.nodes[n];
        node.engine = None;
        node.running = false;
        node.want = u64::MAX;
        node.timer_at = u64::MAX;
        node.timer_gen += 1;
        node.stalled_until = 0;
        node.stall_buffer.clear();
        node.lost.fill(0);
        node.lost_at.fill(None);
        for i in node.insts.iter_mut() {
            i.state = State::Init;
            i.vips.clear();
        }
        if trace {
            self.record(Some(n), TraceEvent::Crash);
        }
    }

    /// Feed one input to node `n`'s engine at its local time, then drain and check.
    fn input(&mut self, n: usize, input: Input<'_>) {
        let local = self.nodes[n].local(self.now);
        let Some(engine) = self.nodes[n].engine.as_mut() else {
            return;
        };
        engine.handle_input(Instant::from_nanos(local), input);
        self.after_call(n);
    }

    fn on_timer(&mut self, n: usize, gen: u64) {
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
    fn serve_timers(&mut self, n: usize) {
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

    fn arm(&mut self, n: usize, at: u64) {
        let at = at.max(self.now); // an overdue deadline (a node resuming) is served now
        let node = &mut self.nodes[n];
        node.timer_gen += 1;
        node.timer_at = at;
        let gen = node.timer_gen;
        self.push(at, 0, Event::Timer { node: n, gen });
    }

    /// After every engine call: drain the actions, carry them out, check the invariants, and
    /// keep one timer event for the engine's next deadline.
    fn after_call(&mut self, n: usize) {
        self.batch_adverts.clear();
        self.batch_announces.clear();
        while let Some(action) = self.nodes[n].engine.as_mut().and_then(|e| e.poll_action()) {
            self.carry_out(n, action);
            if self.violation.is_some() {
                return;
            }
        }
        if let Some(rx) = self.rx.take() {
            self.accepted(n, rx);
        }
        check::after_batch(self, n);
        if self.violation.is_some() {
            return;
        }
        self.check_model(n);
        if self.violation.is_some() {
            return;
        }
        let local_now = self.nodes[n].local(self.now);
        let deadline = self.nodes[n].engine.as_mut().and_then(|e| e.poll_timeout());
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

    fn carry_out(&mut self, n: usize, action: Action) {
        match action {
            Action::SendAdvert(adv) => {
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
                if !self.nodes[n].ifaces[ni].up {
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
            Action::Announce {
                instance,
                iface,
                addrs,
            } => {
                self.batch_announces.push(instance.0);
                if let Some(t) = self.nodes[n].insts.get_mut(instance.0 as usize) {
                    t.model.announced();
                }
                if self.captured.is_some() {
                    let ni = self.engine_iface(n, iface);
                    let mac = self.nodes[n].ifaces[ni].plan.mac;
                    let t = self.now;
                    if let Some(c) = self.captured.as_mut() {
                        for a in addrs.iter() {
                            c.push(Captured {
                                t,
                                frame: frames::announce(mac, a.addr),
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
            Action::StateChange {
                instance,
                from,
                to,
                priority,
                reason,
            } => self.state_change(n, instance, from, to, priority, reason.name()),
            Action::ProtocolError {
                src,
                rule,
                instance,
                ..
            } => {
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
            Action::GroupStateChange {
                group,
                from,
                to,
                cause,
            } => {
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
            Action::LowerPriorityHeard {
                instance,
                src,
                priority,
            } => {
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
            Action::PriorityChange { instance, from, to } => {
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
            // Log lines, already rate-limited by the engine (its unit tests check them); one
            // `ProtocolError` per dropped packet is what the oracle counts.
            Action::Notice(_) => {}
            other => self.record(Some(n), TraceEvent::Other(format!("{other:?}"))),
        }
    }

    /// `group-cause`: a sync group reported going to FAULT because of member `cause` with a
    /// reason. The seed's matrix puts every member in FAULT for one member's fault: the reason
    /// named must be that member's own, the one its own transition gave; when the member
    /// named only followed its group (`sync-group`), some member's own FAULT reason.
    fn group_cause(&self, n: usize, g: usize, cause: (InstanceId, Reason)) -> Result<(), String> {
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

    fn engine_iface(&self, n: usize, id: IfaceId) -> usize {
        self.nodes[n]
            .by_engine_iface
            .get(usize::from(id.0))
            .copied()
            .unwrap_or(0)
    }

    fn state_change(
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
        if self.converged && self.plan.checks.flapping {
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

    // ----- the network ------------------------------------------------------------------

    fn transmit(&mut self, n: usize, adv: &vigil_engine::SendAdvert) {
        let ni = self.engine_iface(n, adv.iface);
        let seg = self.nodes[n].ifaces[ni].plan.segment;
        let sender_up = self.nodes[n].ifaces[ni].up;
        let nn = self.nodes.len();
        for &dst in adv.destinations() {
            let len = match adv.encode(dst, &mut self.buf) {
                Ok(l) => l,
                Err(e) => {
                    return self.violate(
                        ViolationKind::Safety,
                        "advert-encodes",
                        Some(n),
                        format!("the engine asked for an advert its codec cannot encode: {e}"),
                    )
                }
            };
            if self.record_packets {
                self.record(
                    Some(n),
                    TraceEvent::Advert {
                        inst: self.lane(n, adv.instance),
                        priority: adv.priority,
                        dst,
                    },
                );
            }
            if self.captured.is_some() {
                let f = &mut self.nodes[n].ifaces[ni];
                f.ip_id = f.ip_id.wrapping_add(1);
                let frame = frames::vrrp(f.plan.mac, adv.src, dst, f.ip_id, &self.buf[..len]);
                let t = self.now;
                if let Some(c) = self.captured.as_mut() {
                    c.push(Captured { t, frame });
                }
            }
            if !sender_up {
                continue; // no carrier: nothing leaves the interface
            }
            let from = u16::try_from(n).unwrap_or(u16::MAX);
            let bytes = &self.buf[..len];
            // A frame whose deliveries are all done is reused (no allocation per frame).
            let reused = self.spare_frames.pop().and_then(|mut rc| {
                let f = Rc::get_mut(&mut rc)?;
                f.from = from;
                f.src = adv.src;
                f.dst = dst;
                f.ttl = vigil_engine::wire::VRRP_TTL;
                f.payload.set(bytes);
                Some(rc)
            });
            let frame = match reused {
                Some(rc) => rc,
                None => Rc::new(Frame {
                    from,
                    src: adv.src,
                    dst,
                    ttl: vigil_engine::wire::VRRP_TTL,
                    payload: Payload::new(bytes),
                }),
            };
            let unicast = !dst.is_multicast();
            for member in 0..self.segs[seg].members.len() {
                let (m, mi) = self.segs[seg].members[member];
                if m == n {
                    continue;
                }
                if unicast {
                    let p = &self.nodes[m].ifaces[mi].plan;
                    let owns =
                        p.ipv4.map(IpAddr::V4) == Some(dst) || p.ipv6.map(IpAddr::V6) == Some(dst);
                    if !owns {
                        continue;
                    }
                }
                let s = &self.segs[seg];
                if s.cut(nn, n, m) {
                    self.lost(n, m, "partition");
                    continue;
                }
                let model = s.model;
                if let Some(b) = model.burst {
                    let k = n * nn + m;
                    let bad = self.segs[seg].burst_bad[k];
                    let flip = if bad { b.leave } else { b.enter };
                    let now_bad = bad ^ self.rng.chance(flip);
                    self.segs[seg].burst_bad[k] = now_bad;
                    if now_bad && self.rng.chance(b.loss) {
                        self.lost(n, m, "burst");
                        continue;
                    }
                }
                if self.rng.chance(model.loss) {
                    self.lost(n, m, "loss");
                    continue;
                }
                let copies = if self.rng.chance(model.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let mut d = model.delay + self.rng.between(0, model.jitter);
                    if self.rng.chance(model.reorder) {
                        d += self.rng.between(0, model.reorder_delay);
                    }
                    let at = self.now.saturating_add(d);
                    self.in_flight_until = self.in_flight_until.max(at);
                    self.fanout.push((
                        at,
                        Event::Deliver {
                            node: m,
                            iface: mi,
                            frame: Rc::clone(&frame),
                        },
                    ));
                }
            }
            self.queue.push_batch(0, &mut self.fanout);
            if Rc::strong_count(&frame) == 1 {
                self.spare_frames.push(frame); // nobody to deliver it to
            }
        }
    }

    fn lost(&mut self, from: usize, to: usize, why: &'static str) {
        if self.record_packets {
            self.record(
                Some(from),
                TraceEvent::Lost {
                    to: u16::try_from(to).unwrap_or(u16::MAX),
                    why,
                },
            );
        }
    }

    fn deliver(&mut self, n: usize, fi: usize, frame: &Frame) {
        let node = &self.nodes[n];
        if !node.running || !node.ifaces[fi].up {
            if self.record_packets && node.engine.is_some() {
                self.record(
                    Some(usize::from(frame.from)),
                    TraceEvent::Lost {
                        to: u16::try_from(n).unwrap_or(u16::MAX),
                        why: "receiver-down",
                    },
                );
            }
            return;
        }
        let Some(id) = node.ifaces[fi].engine_id else {
            return; // no instance on that interface: the kernel would drop it
        };
        // Which instance it is for, to time takeovers ("no advert for ...").
        let family = Family::of(&frame.src);
        let payload = frame.payload.bytes();
        let vrid = vigil_engine::wire::peek_vrid(payload).unwrap_or(0);
        let target = node
            .insts
            .iter()
            .position(|i| i.iface == fi && i.family == family && i.vrid == vrid);
        // The target's received count and priority before the call, from one view.
        let view = target.and_then(|i| {
            let e = self.nodes[n].engine.as_ref()?;
            e.instance(InstanceId(u32::try_from(i).ok()?))
                .map(|v| (v.stats().adverts_received, v.priority()))
        });
        let (before, own) = (view.map(|v| v.0), view.map(|v| v.1));
        let prio = vigil_engine::wire::peek_priority(payload).unwrap_or(0);
        let resets = own.is_some_and(|p| prio >= p || prio == 0);
        let node = &self.nodes[n];
        let local = node.local(self.now);
        self.rx = Some(RxCtx {
            inst: target,
            src: frame.src,
            prio,
            heard: oracle::advert_interval(payload, family),
            before: target.map_or(State::Init, |i| node.insts[i].state),
            dropped: false,
            // Read only for adverts the engine accepted (at least a header long).
            trailing: payload.len() >= vigil_engine::wire::HEADER_LEN
                && vigil_engine::wire::Packet::new_unchecked(payload, family).trailing() > 0,
        });
        if let Some(e) = self.nodes[n].engine.as_mut() {
            e.handle_input(
                Instant::from_nanos(local),
                Input::Packet(Received {
                    iface: id,
                    src: frame.src,
                    dst: frame.dst,
                    ttl: frame.ttl,
                    payload,
                }),
            );
        }
        if let Some(i) = target {
            if resets && self.received(n, i) != before {
                self.nodes[n].insts[i].last_rx = Some(self.now);
            }
        }
        self.after_call(n);
    }

    /// An advert was delivered: unless the engine dropped it, it counts as received and, for a
    /// BACKUP, restarts the Master_Down_Timer as the RFC says.
    fn accepted(&mut self, n: usize, rx: RxCtx) {
        let Some(i) = rx.inst.filter(|_| !rx.dropped) else {
            return;
        };
        let local = self.nodes[n].local(self.now);
        let Some(t) = self.nodes[n].insts.get_mut(i) else {
            return;
        };
        let m = &mut t.model;
        m.stats.adverts_received += 1;
        if rx.prio == 0 {
            m.stats.priority_zero_received += 1;
        }
        if rx.trailing {
            m.stats.trailing_bytes += 1;
        }
        if rx.prio == vigil_engine::setup::OWNER_PRIORITY {
            m.owner_adverts += 1;
        }
        if rx.before == State::Backup && t.state == State::Backup {
            m.backup_heard(rx.prio, rx.heard, rx.src, local);
        }
    }

    /// Compare the engine's self-report with the model ([`crate::oracle`]).
    fn check_model(&mut self, n: usize) {
        let local = self.nodes[n].local(self.now);
        let node = &mut self.nodes[n];
        for t in node.insts.iter_mut() {
            // A sync-group member whose timer ran out waits for the others (matrix handler 1).
            if t.state == State::Backup
                && t.model.grouped
                && t.model.deadline().is_some_and(|d| d <= local)
            {
                t.model.expired = true;
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
    fn own_source(&self, n: usize, i: usize) -> Option<IpAddr> {
        let node = &self.nodes[n];
        let c = node.config.instances.get(i)?;
        let plan = &node.ifaces.get(node.insts.get(i)?.iface)?.plan;
        c.source.or(match c.family {
            Family::V4 => plan.ipv4.map(IpAddr::V4),
            Family::V6 => plan.ipv6.map(IpAddr::V6),
        })
    }

    /// The engine of node `n` is about to get `Input::Start`.
    fn started(&mut self, n: usize) {
        let local = self.nodes[n].local(self.now);
        for t in self.nodes[n].insts.iter_mut() {
            t.model.started(local);
        }
    }

    /// `announce-count` for instance `i` of node `n`, its MASTER tenure ending at `local`.
    fn check_announces(&mut self, n: usize, i: usize, local: u64) {
        let node = &self.nodes[n];
        let Some(c) = node.running_config.instances.get(i) else {
            return;
        };
        if let Err(detail) = node.insts[i].model.announce_check(&c.announce, local) {
            let detail = format!("{}: {detail}", node.insts[i].name);
            self.violate(ViolationKind::Safety, "announce-count", Some(n), detail);
        }
    }

    /// `lookups` after a boot or a reload.
    fn check_lookups(&mut self, n: usize) {
        let node = &self.nodes[n];
        if let Some(e) = node.engine.as_ref() {
            if let Err(detail) = oracle::compare_lookups(e, &node.running_config) {
                self.violate(ViolationKind::Safety, "lookups", Some(n), detail);
            }
        }
    }

    fn received(&self, n: usize, i: usize) -> Option<u64> {
        let e = self.nodes[n].engine.as_ref()?;
        let id = InstanceId(u32::try_from(i).ok()?);
        e.instance(id).map(|v| v.stats().adverts_received)
    }

    // ----- faults -----------------------------------------------------------------------

    /// A fault (or a boot) begins: the cluster is no longer converged, so state changes are
    /// expected until the liveness check.
    fn disturb(&mut self) {
        self.live_gen += 1;
        self.converged = false;
        self.last_disturbance = self.now;
    }

    /// After a fault took effect: check liveness once the network has been quiet for the
    /// convergence bound (computed on the network and priorities as they are now).
    fn schedule_liveness(&mut self) {
        // A frozen node cannot converge: its resume schedules the check.
        if self.plan.checks.liveness && self.nodes.iter().all(|n| n.stalled_until == 0) {
            // From the last frame in flight (it may restart a timer), the bound.
            let from = self.now.max(self.in_flight_until);
            let at = from.saturating_add(check::convergence_bound(self));
            let gen = self.live_gen;
            self.push(at, 1, Event::Liveness(gen));
        }
    }

    fn fault(&mut self, i: usize) {
        self.disturb();
        self.apply_fault(i);
        // A frozen node cannot converge: liveness is judged from its resume on.
        if !matches!(self.plan.faults[i].action, FaultAction::Stall(..)) {
            self.schedule_liveness();
        }
    }

    fn apply_fault(&mut self, i: usize) {
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
            FaultAction::Start(n) => {
                if self.nodes[n].engine.is_none() {
                    self.boot(n);
                } else if !self.nodes[n].running {
                    self.record(Some(n), TraceEvent::Start);
                    self.started(n);
                    self.nodes[n].running = true;
                    self.input(n, Input::Start);
                }
            }
            FaultAction::Link { node, iface, up } => {
                let f = &mut self.nodes[node].ifaces[iface];
                f.up = up;
                let id = f.engine_id;
                let name = f.plan.name.clone();
                self.record(Some(node), TraceEvent::Link { iface: name, up });
                if let Some(id) = id {
                    self.input(node, Input::Link { iface: id, up });
                }
            }
            FaultAction::Partition { segment, side } => {
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
            FaultAction::Block { segment, from, to } => {
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
            FaultAction::Heal(seg) => {
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
            FaultAction::Network(seg, spec) => {
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
            FaultAction::Check {
                node,
                script,
                result,
            } => {
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
            FaultAction::TrackFile { node, file, value } => {
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
            }
            FaultAction::Inject {
                node,
                from,
                instance,
                defect,
            } => self.inject(node, from, instance, defect),
            FaultAction::Stall(n, until) => {
                if self.nodes[n].running {
                    self.nodes[n].stalled_until = until;
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
            FaultAction::SetPriority {
                node,
                instance,
                priority,
            } => {
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
                    if let Some(e) = self.nodes[node].engine.as_mut() {
                        // A refused configuration (priority 0) leaves the running one, as vigild does.
                        if e.reload(local, EngineConfig::clone(&cfg)).is_ok() {
                            self.nodes[node].running_config = cfg;
                        }
                    }
                    self.nodes[node].trackers_listed = false;
                    self.after_call(node);
                    self.check_lookups(node);
                }
            }
        }
    }

    /// The trace lane of node `n`'s instance `id` (its index among the node's instance names).
    fn lane(&self, n: usize, id: InstanceId) -> u32 {
        self.nodes[n]
            .insts
            .get(id.0 as usize)
            .map_or(id.0, |t| t.lane)
    }

    /// Liveness groups (one per segment, family and VRID) from every node's instances as
    /// configured now.
    fn regroup(&mut self) {
        let mut groups: Vec<Group> = Vec::new();
        let mut keys: Vec<(usize, Family, u8)> = Vec::new();
        for (ni, node) in self.nodes.iter().enumerate() {
            for (k, t) in node.insts.iter().enumerate() {
                let segment = node.ifaces.get(t.iface).map_or(0, |f| f.plan.segment);
                let key = (segment, t.family, t.vrid);
                let g = match keys.iter().position(|x| *x == key) {
                    Some(g) => g,
                    None => {
                        keys.push(key);
                        groups.push(Group {
                            name: t.name.clone(),
                            segment,
                            members: Vec::new(),
                        });
                        groups.len() - 1
                    }
                };
                groups[g].members.push((ni, k));
            }
        }
        self.groups = groups;
    }

    /// SIGHUP with a new keepalived.conf (`reload`): as vigild does, the running engine reloads
    /// in place with `Engine::reload_returning_stopped`; the actions of the routers that stop
    /// are carried out under their old ids, then the simulator's table of instances is rebuilt
    /// for the new configuration (a router is kept when its name, interface, family, VRID and
    /// version are unchanged and it is not in INIT: reload.rs's rule), then the new engine's
    /// actions are drained and every check runs. A refused file changes nothing.
    fn reload_conf(&mut self, n: usize, config: Result<Box<EngineConfig>, String>, refused: bool) {
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
    fn rebuild_instances(&mut self, n: usize, cfg: &EngineConfig, local: u64) {
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

    /// The runner of node `n` (with a `read_cost`) reads the next frame waiting in its socket.
    fn read_next(&mut self, n: usize) {
        let nd = &mut self.nodes[n];
        nd.read_queued = false;
        if nd.stalled_until > self.now {
            return; // it reads them when it resumes
        }
        let Some((fi, frame)) = nd.stall_buffer.pop_front() else {
            return;
        };
        nd.busy_until = self.now.saturating_add(nd.read_cost);
        if !nd.stall_buffer.is_empty() {
            nd.read_queued = true;
            let at = nd.busy_until;
            self.push(at, 0, Event::Read(n));
        }
        self.deliver(n, fi, &frame);
    }

    /// vigild's read before deciding: before it serves a deadline, the runner reads every frame
    /// waiting in its socket buffer, then tells the engine what the buffer lost
    /// (`Input::ReceiveQueue`). The model applies the engine's rule for the Master_Down_Timers
    /// that fall due ([`Model::extend`]) and counts the router-wide counters it implies.
    fn read_before_deciding(&mut self, n: usize) {
        if self.nodes[n].engine.is_none() {
            return;
        }
        let was = self.resuming;
        // Frames read late, and timers overdue meanwhile, as when a stalled node resumes.
        self.resuming = true;
        let frames = core::mem::take(&mut self.nodes[n].stall_buffer);
        for (fi, frame) in frames {
            self.deliver(n, fi, &frame);
            if self.violation.is_some() {
                break;
            }
        }
        let local = self.nodes[n].local(self.now);
        for fi in 0..self.nodes[n].lost.len() {
            let lost = core::mem::take(&mut self.nodes[n].lost[fi]);
            let Some(iface) = self.nodes[n].ifaces[fi].engine_id else {
                continue;
            };
            if lost == 0 || self.violation.is_some() || self.nodes[n].engine.is_none() {
                continue;
            }
            let node = &mut self.nodes[n];
            node.lost_at[fi] = Some(local);
            let st = &mut node.router_stats;
            st.receive_queue_drops = st.receive_queue_drops.saturating_add(u64::from(lost));
            self.input(
                n,
                Input::ReceiveQueue {
                    iface,
                    pending: false,
                    lost,
                },
            );
        }
        self.resuming = was;
        let node = &mut self.nodes[n];
        let mut extended = 0;
        for t in node.insts.iter_mut() {
            if t.state == State::Backup && t.model.extend(local, node.lost_at[t.iface]) {
                extended += 1;
            }
        }
        let st = &mut node.router_stats;
        st.master_down_extended = st.master_down_extended.saturating_add(extended);
    }

    /// A stalled node runs again: it reads the frames that waited in its socket buffer, in
    /// arrival order (vigild's loop serves its sockets before a deadline that passed meanwhile),
    /// then serves every timer due. Until that `handle_timeout`, its timers may be overdue and
    /// a MASTER may have been silent: the checks that assume a running process wait for it.
    fn resume(&mut self, n: usize) {
        if self.nodes[n].stalled_until == 0 {
            return; // crashed meanwhile
        }
        self.nodes[n].stalled_until = 0;
        let frames = core::mem::take(&mut self.nodes[n].stall_buffer);
        self.nodes[n].busy_until = self.now;
        self.record(
            Some(n),
            TraceEvent::Resume {
                frames: u32::try_from(frames.len()).unwrap_or(u32::MAX),
            },
        );
        self.resuming = true;
        for (fi, frame) in frames {
            self.deliver(n, fi, &frame);
            if self.violation.is_some() {
                break;
            }
        }
        self.resuming = false;
        if self.violation.is_some() || self.nodes[n].engine.is_none() {
            return;
        }
        self.serve_timers(n);
    }

    /// A stranger's advert for `instance` of node `n`, with one `defect`, arrives on the
    /// instance's interface (only there: it is not a node of the cluster). The engine must drop
    /// it with the rule the defect trips and count it by that rule's name; the `counters` rule
    /// then compares every counter with what the drop implies.
    fn inject(&mut self, n: usize, from: Option<usize>, instance: usize, defect: Defect) {
        use vigil_engine::wire::{self, Addrs, Advert, Auth, Interval, IpContext, Version};
        let Some(cfg) = self.nodes[n].config.instances.get(instance).cloned() else {
            return;
        };
        let Some(fi) = self.nodes[n].insts.get(instance).map(|t| t.iface) else {
            return;
        };
        if !self.nodes[n].running || !self.nodes[n].ifaces[fi].up {
            return; // nothing is listening
        }
        let (src, stranger): (IpAddr, IpAddr) = match cfg.family {
            Family::V4 => ([198, 51, 100, 254].into(), [203, 0, 113, 254].into()),
            Family::V6 => (
                std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x5e, 0xfeed).into(),
                std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0x5e, 0xfeed).into(),
            ),
        };
        // A node's address on the instance's segment, when the advert claims to come from it.
        let node_addr = |k: usize, family: Family| -> Option<IpAddr> {
            let seg = self.nodes[n].ifaces[fi].plan.segment;
            let f = self
                .nodes
                .get(k)?
                .ifaces
                .iter()
                .find(|f| f.plan.segment == seg)?;
            match family {
                Family::V4 => f.plan.ipv4.map(IpAddr::V4),
                Family::V6 => f.plan.ipv6.map(IpAddr::V6),
            }
        };
        let src = match from {
            Some(k) => node_addr(k, cfg.family).unwrap_or(src),
            None => src,
        };
        let dst = match defect {
            Defect::UnicastTtl => node_addr(n, cfg.family).unwrap_or(cfg.family.multicast_group()),
            Defect::Family => match cfg.family {
                Family::V4 => Family::V6.multicast_group(),
                Family::V6 => Family::V4.multicast_group(),
            },
            _ => cfg.family.multicast_group(),
        };
        let mut vips: Vec<IpAddr> = match defect {
            Defect::Addresses => vec![stranger],
            _ => cfg.virtual_addresses.iter().map(|v| v.addr).collect(),
        };
        if defect == Defect::LinkLocalFirst {
            vips.insert(0, src);
        }
        let ms = u64::try_from(cfg.advert_interval.as_millis()).unwrap_or(u64::MAX);
        let interval = match cfg.version {
            Version::V2 => {
                let s = u8::try_from(ms / 1000).unwrap_or(u8::MAX).max(1);
                Interval::Seconds(if defect == Defect::Interval {
                    s.wrapping_add(1).max(1)
                } else {
                    s
                })
            }
            Version::V3 => Interval::Centiseconds(u16::try_from(ms / 10).unwrap_or(4095).max(1)),
        };
        let auth = match (defect, cfg.auth) {
            (Defect::Auth, Auth::None) => Auth::simple(b"stranger"),
            (Defect::Auth, Auth::Simple(mut p)) => {
                p[0] ^= 0x20;
                Auth::Simple(p)
            }
            (_, a) => a,
        };
        // Another VRID: the first one no instance of this family on the interface has.
        let used = |v: u8| {
            self.nodes[n]
                .insts
                .iter()
                .any(|t| t.iface == fi && t.family == cfg.family && t.vrid == v)
        };
        let vrid = match defect {
            Defect::Vrid => (1..=255).find(|&v| !used(v)).unwrap_or(cfg.vrid),
            _ => cfg.vrid,
        };
        let advert = Advert {
            version: cfg.version,
            vrid,
            priority: 1,
            interval,
            addrs: Addrs::List(&vips),
            auth,
            checksum: cfg.checksum_policy.emit_form(cfg.version, cfg.family),
            trailing: 0,
        };
        let mut buf = vec![0u8; MAX_ADVERT_LEN];
        let emit_dst = match defect {
            Defect::Family => cfg.family.multicast_group(),
            _ => dst,
        };
        let Ok(len) = wire::emit(&advert, &IpContext { src, dst: emit_dst }, &mut buf) else {
            return;
        };
        let mut bytes = buf[..len].to_vec();
        let mut view = wire::Packet::new_unchecked(&mut bytes[..], cfg.family);
        match defect {
            Defect::Version => view.set_version_number(view.version_number() ^ 1), // 2 <-> 3
            Defect::Checksum => view.set_checksum_field(view.checksum_field() ^ 0x0001),
            Defect::Type => view.set_msg_type(2),
            Defect::NoAddresses => view.set_count(0),
            Defect::IntervalZero => view.set_interval(0),
            Defect::AuthType => view.set_auth_type(2),
            _ => {}
        }
        match defect {
            Defect::Short => bytes.truncate(6),
            Defect::Empty => bytes.truncate(1),
            // Four bytes that keep the checksum right: zeros for a checksum over the message
            // only; with the pseudo-header, whose length grows by 4, the word 0xfffb (-4 in
            // ones' complement) cancels the growth.
            Defect::Trailing => match advert.checksum {
                wire::ChecksumForm::Plain => bytes.extend_from_slice(&[0; 4]),
                wire::ChecksumForm::PseudoHeader => bytes.extend_from_slice(&[0xff, 0xfb, 0, 0]),
            },
            _ => {}
        }
        let frame = Frame {
            from: u16::MAX,
            src,
            dst,
            ttl: if matches!(defect, Defect::Ttl | Defect::UnicastTtl) {
                64
            } else {
                wire::VRRP_TTL
            },
            payload: Payload::new(&bytes),
        };
        let want = expected_drop(defect, &cfg, src, !dst.is_multicast(), frame.ttl);
        self.last_drop = None;
        if defect == Defect::UnknownIface {
            let unknown = self.nodes[n]
                .engine
                .as_ref()
                .map_or(0, |e| e.interfaces().count());
            let iface = IfaceId(u16::try_from(unknown).unwrap_or(u16::MAX));
            self.input(
                n,
                Input::Packet(Received {
                    iface,
                    src,
                    dst,
                    ttl: frame.ttl,
                    payload: &bytes,
                }),
            );
        } else {
            self.deliver(n, fi, &frame);
        }
        if self.violation.is_some() {
            return;
        }
        let seen = self.last_drop.take();
        if seen == want {
            let what = match seen {
                Some(rule) => format!(
                    "{} drops an injected advert from {src} with a bad {defect}: rule {rule}",
                    cfg.name
                ),
                None => format!(
                    "{} accepts an injected advert from {src} with a {defect}",
                    cfg.name
                ),
            };
            return self.record(Some(n), TraceEvent::Track { what });
        }
        let rule = |r: Option<&str>| match r {
            Some(r) => format!("drops it by rule {r}"),
            None => "accepts it".to_string(),
        };
        self.violate(
            ViolationKind::Safety,
            "receive-check",
            Some(n),
            format!(
                "{} got an injected advert from {src} with a bad {defect}: RFC 5798 section 7.1 \
                 {}; the engine {}",
                cfg.name,
                rule(want),
                rule(seen)
            ),
        );
    }

    /// Graceful stop: `Input::Shutdown`; every MASTER with a working link must say goodbye
    /// with priority 0 (RFC 5798 section 6.4.3).
    fn stop(&mut self, n: usize) {
        if !self.nodes[n].running {
            return;
        }
        self.record(Some(n), TraceEvent::Stop);
        let masters: Vec<usize> = self.nodes[n]
            .insts
            .iter()
            .enumerate()
            .filter(|(_, i)| i.state == State::Master && self.nodes[n].ifaces[i.iface].up)
            .map(|(k, _)| k)
            .collect();
        self.nodes[n].running = false;
        let local = self.nodes[n].local(self.now);
        if let Some(e) = self.nodes[n].engine.as_mut() {
            e.handle_input(Instant::from_nanos(local), Input::Shutdown);
        }
        self.after_call(n);
        for k in masters {
            let said_goodbye = self
                .batch_adverts
                .iter()
                .any(|&(i, p)| i as usize == k && p == 0);
            if !said_goodbye {
                let name = self.nodes[n].insts[k].name.clone();
                return self.violate(
                    ViolationKind::Safety,
                    "goodbye-priority-0",
                    Some(n),
                    format!("{name} was MASTER and stopped without sending priority 0"),
                );
            }
        }
    }

    // ----- checks -----------------------------------------------------------------------

    fn check_expect(&mut self, i: usize) {
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

    fn liveness(&mut self) {
        check::liveness(self);
        if self.violation.is_none() && self.converged {
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
            self.record(
                None,
                TraceEvent::Converged {
                    masters: masters.join(", "),
                },
            );
        }
    }

    /// A stalled node is reading the frames that waited ([`Sim::resume`]).
    pub(crate) fn resuming(&self) -> bool {
        self.resuming
    }

    pub(crate) fn set_converged(&mut self, c: bool) {
        self.converged = c;
    }

    pub(crate) fn batch(&self) -> (&[(u32, u8)], &[u32]) {
        (&self.batch_adverts, &self.batch_announces)
    }

    pub(crate) fn check_adverts_flowing(&mut self, n: usize) {
        check::adverts_flowing(self, n);
    }
}

/// Which node interface each engine interface id is, and each node interface's engine id (at
/// boot, and after a reload, which may number them anew).
fn map_interfaces(by_engine_iface: &mut Vec<usize>, ifaces: &mut [NodeIface], engine: &Engine) {
    by_engine_iface.clear();
    for (id, name) in engine.interfaces() {
        let ni = ifaces.iter().position(|f| f.plan.name == name).unwrap_or(0);
        let slot = usize::from(id.0);
        if by_engine_iface.len() <= slot {
            by_engine_iface.resize(slot + 1, 0);
        }
        by_engine_iface[slot] = ni;
    }
    for f in ifaces.iter_mut() {
        f.engine_id = engine.interface_id(&f.plan.name);
    }
}

fn describe_sides(side: &[usize], names: &[String], members: &[(usize, usize)]) -> String {
    let mut sides: Vec<(usize, Vec<&str>)> = Vec::new();
    for &(m, _) in members {
        let s = side[m];
        match sides.iter_mut().find(|(k, _)| *k == s) {
            Some((_, v)) => v.push(&names[m]),
            None => sides.push((s, vec![&names[m]])),
        }
    }
    sides.sort_by_key(|(k, _)| *k);
    sides
        .iter()
        .map(|(_, v)| format!("[{}]", v.join(" ")))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A network model in words.
pub fn describe_model(m: &LinkModel) -> String {
    use crate::dur::Dur;
    let mut s = format!("delay {}", Dur(m.delay));
    if m.jitter > 0 {
        s.push_str(&format!(" + jitter {}", Dur(m.jitter)));
    }
    if m.loss > 0.0 {
        s.push_str(&format!(", loss {:.0}%", m.loss * 100.0));
    }
    if let Some(b) = m.burst {
        s.push_str(&format!(
            ", burst loss (enter {:.0}%, leave {:.0}%)",
            b.enter * 100.0,
            b.leave * 100.0
        ));
    }
    if m.duplicate > 0.0 {
        s.push_str(&format!(", duplicate {:.0}%", m.duplicate * 100.0));
    }
    if m.reorder > 0.0 {
        s.push_str(&format!(
            ", reorder {:.0}% by up to {}",
            m.reorder * 100.0,
            Dur(m.reorder_delay)
        ));
    }
    s
}

impl Segment {
    pub(crate) fn clean(&self) -> bool {
        !self.model.lossy() && !self.partitioned()
    }
}

/// The receive check (RFC 5798 section 7.1, in its order, with keepalived's unicast TTL range
/// and source checks) that must drop an advert with `defect` from `src` sent to instance `cfg`,
/// by the engine's rule name; `None` when it must be accepted.
fn expected_drop(
    defect: Defect,
    cfg: &vigil_engine::setup::InstanceConfig,
    src: IpAddr,
    unicast: bool,
    ttl: u8,
) -> Option<&'static str> {
    use vigil_engine::wire::Auth;
    match defect {
        // Before any instance is looked for.
        Defect::Family | Defect::UnknownIface => return Some("unknown_interface_or_family"),
        Defect::Empty => return Some("too_short"),
        // The VRID selects the instance: nothing else is looked at.
        Defect::Vrid => return Some("vrid_not_configured"),
        _ => {}
    }
    // 1. TTL: 255 for the group; a unicast instance takes any TTL on unicast, within a peer's
    // configured range.
    let unicast_rx = unicast && !cfg.unicast_peers.is_empty();
    if ttl != vigil_engine::wire::VRRP_TTL && !unicast_rx {
        return Some("ttl");
    }
    if unicast_rx
        && cfg
            .unicast_ttl
            .iter()
            .any(|r| r.peer == src && (ttl < r.min || ttl > r.max))
    {
        return Some("ttl");
    }
    if cfg.check_unicast_src && !cfg.unicast_peers.is_empty() && !cfg.unicast_peers.contains(&src) {
        return Some("unicast_source");
    }
    match defect {
        Defect::Version => return Some("version"),
        Defect::Short => return Some("too_short"),
        Defect::Type => return Some("unknown_type"),
        Defect::Checksum => return Some("checksum"),
        Defect::NoAddresses => return Some("address_count_zero"),
        Defect::IntervalZero if cfg.version == vigil_engine::wire::Version::V2 => {
            return Some("v2_interval_zero")
        }
        Defect::IntervalZero => return Some("v3_interval_zero"),
        Defect::AuthType => return Some("unsupported_auth_type"),
        _ => {}
    }
    if cfg.priority == vigil_engine::setup::OWNER_PRIORITY {
        return Some("owner_discard");
    }
    match defect {
        Defect::Addresses if cfg.check_address_list => Some("address_list"),
        Defect::Interval => Some("advert_interval"),
        Defect::Auth if cfg.auth == Auth::None => Some("auth_type_mismatch"),
        Defect::Auth => Some("auth_failure"),
        _ => None,
    }
}
