// Long: the Engine type, its constructor and the entry points of every input; the rule families live in the files beside it.
//! The [`Engine`]: every instance of a router, one timer schedule, one action queue.

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BinaryHeap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use crate::instance::{next_advert_after, Instance, Timer, Tracked, TrackedRef, TIMERS};
use crate::io::{
    Action, CheckResult, Destination, DropReason, FileId, GroupId, IfaceId, Input, InstanceId,
    PriorityReport, ProcessId, Reason, Received, ScriptId, SendAdvert, State,
};
use crate::notices::{Gate, Notice};
use crate::setup::{
    EngineConfig, InstanceConfig, OldUnicastChecksum, ScriptConfig, SetupError, TrackTarget,
    WantState, OWNER_PRIORITY,
};
use crate::stats::{InstanceStats, PeerChecksum, RouterStats, PEER_CHECKSUMS_RECORDED};
use crate::time::Instant;
use crate::wire::{self, Auth, Family, IpContext, ParseError, Version, VRRP_TTL};

/// An interface some instance runs on, as the runner reported it.
#[derive(Clone, Debug, PartialEq)]
struct Iface {
    name: String,
    up: bool,
    /// Primary IPv4 address / IPv6 link-local, by [`family_index`].
    primary: [Option<IpAddr>; 2],
    /// Instance index + 1 by family and VRID (0: none), for O(1) receive; shared by copies.
    vrids: Arc<[[u32; 256]; 2]>,
    /// Instances on this interface.
    instances: Vec<u32>,
    /// Instances that track this interface's link (`track_interface`).
    watchers: Vec<u32>,
    /// The runner's receive queue of this interface (read before deciding, [`backlog`]).
    rx_queue: backlog::ReceiveQueue,
    /// `interface_up_down_delays`: how long a link change must last before the instances see
    /// it, going down and going up ([`link_delay`]).
    down_delay: Duration,
    up_delay: Duration,
    /// The link has been reported up at least once (keepalived's `seen_up`): only then are
    /// changes delayed.
    seen_up: bool,
    /// A delayed link change: the new state and when the instances see it.
    pending_link: Option<(bool, Instant)>,
}

impl Iface {
    fn new(name: &str) -> Iface {
        Iface {
            name: name.to_string(),
            up: true,
            primary: [None, None],
            vrids: Arc::new([[0; 256]; 2]),
            instances: Vec::new(),
            watchers: Vec::new(),
            rx_queue: backlog::ReceiveQueue::default(),
            down_delay: Duration::ZERO,
            up_delay: Duration::ZERO,
            seen_up: true,
            pending_link: None,
        }
    }
}

/// A check program's state: up or down after the rise / fall counts.
#[derive(Clone, Debug, PartialEq)]
struct Script {
    cfg: ScriptConfig,
    /// When the next run is due (`Instant::MAX` before start and after shutdown).
    next_due: Instant,
    /// A run was asked for ([`Action::RunCheck`]) and has not reported yet.
    running: bool,
    up: bool,
    successes: u32,
    failures: u32,
    watchers: Vec<u32>,
}

/// A tracked file's last value.
#[derive(Clone, Debug, PartialEq)]
struct TrackFile {
    name: String,
    value: i64,
    watchers: Vec<u32>,
}

/// A tracked process set's last reported state.
#[derive(Clone, Debug, PartialEq)]
struct TrackProc {
    name: String,
    up: bool,
    watchers: Vec<u32>,
}

/// A sync group.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    name: String,
    members: Vec<u32>,
    tracking_weight: bool,
    /// The state all members share (the group's last common state).
    state: State,
}

fn family_index(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// A read-only view of one instance, for status output and tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceView<'a> {
    inst: &'a Instance,
}

impl<'a> InstanceView<'a> {
    /// Whether the instance holds its virtual addresses (and its excluded addresses and
    /// virtual routes): it is MASTER (RFC 5798 section 6.4.3). A runner that moves or reports
    /// them asks this rather than testing the state itself.
    pub fn holds_addresses(&self) -> bool {
        self.inst.state == State::Master
    }
    /// Whether the instance's unsolicited NAs carry the Router flag (what its
    /// [`Action::Announce`] says), for a runner that re-announces addresses it moved.
    pub fn announce_router_flag(&self) -> bool {
        self.inst.cfg.announce.na_router_flag
    }
    /// The instance's configuration.
    ///
    /// These accessors are `#[inline]`: a runner's checks read them for every instance after
    /// every call (the run-loop contract, sim/src/contract.rs), and a call into another crate
    /// for each field cost more than the comparison it fed (FUZZING.md, session 10).
    #[inline]
    pub fn config(&self) -> &'a InstanceConfig {
        &self.inst.cfg
    }
    /// The instance's id.
    pub fn id(&self) -> InstanceId {
        self.inst.id
    }
    /// Its name.
    #[inline]
    pub fn name(&self) -> &'a str {
        &self.inst.cfg.name
    }
    /// Its interface.
    pub fn iface(&self) -> IfaceId {
        self.inst.iface
    }
    /// Current state.
    #[inline]
    pub fn state(&self) -> State {
        self.inst.state
    }
    /// Effective priority.
    #[inline]
    pub fn priority(&self) -> u8 {
        self.inst.priority
    }
    /// Master_Adver_Interval (own, or learned from the master).
    pub fn master_adver_interval(&self) -> Duration {
        self.inst.master_adver_interval
    }
    /// Master_Down_Interval for the current priority and Master_Adver_Interval.
    pub fn master_down_interval(&self) -> Duration {
        self.inst.master_down_interval()
    }
    /// Source address of the master last heard (or ours while MASTER).
    pub fn master_addr(&self) -> Option<IpAddr> {
        self.inst.master_addr
    }
    /// Counters.
    #[inline]
    pub fn stats(&self) -> &'a InstanceStats {
        &self.inst.stats
    }
    /// VRRPv3 over IPv4: the checksum form each peer heard uses, in the order first heard.
    pub fn peer_checksums(&self) -> &'a [PeerChecksum] {
        &self.inst.peer_checksums
    }
    /// The next deadline of this instance's timers, if any runs.
    #[inline]
    pub fn next_deadline(&self) -> Option<Instant> {
        let d = self.inst.next_deadline();
        (d != Instant::MAX).then_some(d)
    }
}

/// The earlier of two optional instants; `None` only when both are.
#[inline]
fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// One tracker of an instance as it stands now ([`Engine::trackers`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerStatus<'a> {
    /// The configured tracker.
    pub track: &'a crate::setup::Track,
    /// Interface link up / script up; for a file, whether it does not put the instance in FAULT.
    pub up: bool,
    /// A tracked file's current value.
    pub file_value: Option<i64>,
    /// Its effect: the priority adjustment, or the reason it puts the instance in FAULT.
    pub effect: Result<i64, Reason>,
}

/// The VRRP engine: owns every instance of one router and drives them from inputs and time.
///
/// See the crate documentation for the run-loop contract.
///
/// Two engines are equal when everything they hold is: a harness (the fuzzer) checks that a
/// refused reload changed nothing by comparing the engine with a copy taken before it.
#[derive(Clone, Debug)]
pub struct Engine {
    instances: Vec<Instance>,
    ifaces: Vec<Iface>,
    /// (deadline, instance index); entries whose deadline no longer matches
    /// [`Instance::queued`] are stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    actions: VecDeque<Action>,
    stats: RouterStats,
    scripts: Vec<Script>,
    /// The earliest `next_due` of the scripts (`Instant::MAX`: none), kept by `checks.rs` so
    /// that [`Engine::poll_timeout`] does not scan the scripts.
    checks_due: Instant,
    files: Vec<TrackFile>,
    processes: Vec<TrackProc>,
    groups: Vec<Group>,
    started: bool,
    /// `vrrp_startup_delay`.
    startup_delay: Duration,
    /// When the delayed start is due (`Input::Start` came, `vrrp_startup_delay` runs).
    start_at: Option<Instant>,
    /// Rate limit of the notices of drops that reach no instance.
    router_drops: Gate,
    /// `vrrp_garp_interval` / `vrrp_gna_interval` / `garp_group` (`announce.rs`).
    gate_config: Arc<crate::setup::AnnounceGates>,
    /// The announcement gate of each interface announced on so far (`announce.rs`).
    gates: announce::Gates,
    /// The instances' shares of [`Engine::input_may_wait`], kept as they change
    /// (`read_delay.rs`).
    waits: read_delay::Waits,
}

impl PartialEq for Engine {
    fn eq(&self, other: &Self) -> bool {
        // The timer heap has no equality of its own: equal as the same multiset of entries.
        let heap = |e: &Engine| {
            let mut v: Vec<(Instant, u32)> = e.heap.iter().map(|r| r.0).collect();
            v.sort_unstable();
            v
        };
        self.instances == other.instances
            && self.ifaces == other.ifaces
            && heap(self) == heap(other)
            && self.actions == other.actions
            && self.stats == other.stats
            && self.scripts == other.scripts
            && self.checks_due == other.checks_due
            && self.files == other.files
            && self.groups == other.groups
            && self.started == other.started
            && self.start_at == other.start_at
            && self.gate_config == other.gate_config
            && self.gates == other.gates
            && self.waits == other.waits
    }
}

/// Find `name` in `names`, as a u16 index. `context` names the place for the error (a
/// closure: `Engine::new` resolves every tracker of every instance, also on each reload, and
/// formatting the context up front cost an allocation per tracker).
fn index_of<'a>(
    mut names: impl Iterator<Item = &'a str>,
    name: &str,
    context: impl FnOnce() -> String,
) -> Result<u16, SetupError> {
    names
        .position(|n| n == name)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| SetupError::UnknownName {
            context: context(),
            name: name.to_string(),
        })
}

fn iface_index(ifaces: &mut Vec<Iface>, name: &str) -> Result<u16, SetupError> {
    let idx = match ifaces.iter().position(|i| i.name == name) {
        Some(i) => i,
        None => {
            ifaces.push(Iface::new(name));
            ifaces.len() - 1
        }
    };
    u16::try_from(idx).map_err(|_| SetupError::UnknownName {
        context: "more than 65535 interfaces".to_string(),
        name: name.to_string(),
    })
}

impl Engine {
    // Long: builds every table of the engine from its configuration in one pass, in dependency order.
    /// Build an engine for `config`. Instances stay in INIT until [`Input::Start`].
    pub fn new(config: EngineConfig) -> Result<Engine, SetupError> {
        let EngineConfig {
            instances: instance_cfgs,
            sync_groups,
            scripts,
            track_files,
            startup_delay,
            track_processes,
            link_delays,
            announce_gates,
        } = config;
        let mut ifaces: Vec<Iface> = Vec::new();
        let mut instances: Vec<Instance> = Vec::with_capacity(instance_cfgs.len());
        let mut scripts: Vec<Script> = scripts
            .into_iter()
            .map(|cfg| Script {
                next_due: Instant::MAX,
                running: false,
                up: !cfg.init_fail,
                cfg,
                successes: 0,
                failures: 0,
                watchers: Vec::new(),
            })
            .collect();
        let mut files: Vec<TrackFile> = track_files
            .into_iter()
            .map(|f| TrackFile {
                name: f.name,
                value: f.initial,
                watchers: Vec::new(),
            })
            .collect();
        let mut processes: Vec<TrackProc> = track_processes
            .into_iter()
            .map(|p| TrackProc {
                name: p.name,
                up: false,
                watchers: Vec::new(),
            })
            .collect();
        for (idx, cfg) in instance_cfgs.into_iter().enumerate() {
            cfg.validate()?;
            if instances.iter().any(|i| i.cfg.name == cfg.name) {
                return Err(SetupError::DuplicateName { name: cfg.name });
            }
            let idx32 = u32::try_from(idx).map_err(|_| SetupError::DuplicateName {
                name: cfg.name.clone(),
            })?;
            let iface_idx = iface_index(&mut ifaces, &cfg.interface)?;
            let iface = &mut ifaces[usize::from(iface_idx)];
            let slot = &mut Arc::make_mut(&mut iface.vrids)[family_index(cfg.family)]
                [usize::from(cfg.vrid)];
            if *slot != 0 {
                return Err(SetupError::DuplicateVrid {
                    first: instances[(*slot - 1) as usize].cfg.name.clone(),
                    second: cfg.name,
                });
            }
            *slot = idx32 + 1;
            iface.instances.push(idx32);
            let mut tracked = Vec::with_capacity(cfg.track.len());
            for t in &cfg.track {
                let context = || format!("{}: track", cfg.name);
                let target = match &t.target {
                    TrackTarget::Interface(name) => {
                        let k = iface_index(&mut ifaces, name)?;
                        ifaces[usize::from(k)].watchers.push(idx32);
                        TrackedRef::Interface(k)
                    }
                    TrackTarget::Script(name) => {
                        let k =
                            index_of(scripts.iter().map(|s| s.cfg.name.as_str()), name, context)?;
                        scripts[usize::from(k)].watchers.push(idx32);
                        TrackedRef::Script(k)
                    }
                    TrackTarget::File(name) => {
                        let k = index_of(files.iter().map(|f| f.name.as_str()), name, context)?;
                        files[usize::from(k)].watchers.push(idx32);
                        TrackedRef::File(k)
                    }
                    TrackTarget::Process(name) => {
                        let k = index_of(processes.iter().map(|p| p.name.as_str()), name, context)?;
                        processes[usize::from(k)].watchers.push(idx32);
                        TrackedRef::Process(k)
                    }
                };
                tracked.push(Tracked {
                    target,
                    weight: t.weight,
                    reverse: t.reverse,
                });
            }
            let name = cfg.name.clone();
            let mut inst = Instance::new(cfg, InstanceId(idx32), IfaceId(iface_idx))
                .ok_or(SetupError::BadInterval { instance: name })?;
            inst.tracked = tracked;
            instances.push(inst);
        }
        crate::instance::spread_grid_phases(&mut instances);
        let mut groups = Vec::with_capacity(sync_groups.len());
        for (g, sg) in sync_groups.into_iter().enumerate() {
            let gid = u16::try_from(g).map_err(|_| SetupError::BadSyncGroup {
                group: sg.name.clone(),
            })?;
            if sg.members.is_empty() {
                return Err(SetupError::BadSyncGroup { group: sg.name });
            }
            let mut members = Vec::with_capacity(sg.members.len());
            for m in &sg.members {
                let k = instances
                    .iter()
                    .position(|i| &i.cfg.name == m)
                    .ok_or_else(|| SetupError::UnknownName {
                        context: format!("sync group {}", sg.name),
                        name: m.clone(),
                    })?;
                if instances[k].group.is_some() {
                    return Err(SetupError::BadSyncGroup { group: sg.name });
                }
                instances[k].group = Some(gid);
                members.push(k as u32);
            }
            groups.push(Group {
                name: sg.name,
                members,
                tracking_weight: sg.tracking_weight,
                state: State::Init,
            });
        }
        for d in &link_delays {
            if let Some(f) = ifaces.iter_mut().find(|f| f.name == d.interface) {
                f.down_delay = d.down;
                f.up_delay = d.up;
            }
        }
        let n = instances.len();
        let mut engine = Engine {
            instances,
            ifaces,
            heap: BinaryHeap::with_capacity(4 * n + 16),
            actions: VecDeque::with_capacity(8 * n + 16),
            stats: RouterStats::default(),
            scripts,
            files,
            processes,
            groups,
            checks_due: Instant::MAX,
            started: false,
            startup_delay,
            start_at: None,
            router_drops: Gate::default(),
            gate_config: Arc::new(announce_gates),
            gates: announce::Gates::default(),
            waits: read_delay::Waits::new(n),
        };
        for i in 0..n {
            engine.instances[i].priority = engine.effective_priority(i);
        }
        Ok(engine)
    }

    /// Feed one input at `now`. Drain [`Engine::poll_action`] afterwards.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        match input {
            // keepalived.conf(5) vrrp_startup_delay: INIT until the delay has run.
            Input::Start if self.startup_delay > Duration::ZERO && !self.started => {
                if self.start_at.is_none() {
                    self.start_at = Some(now.saturating_add(self.startup_delay));
                }
            }
            Input::Start => self.start(now),
            Input::Packet(p) => self.receive(now, &p),
            Input::Link { iface, up } => self.link(now, iface, up),
            Input::PrimaryAddress {
                iface,
                family,
                addr,
            } => {
                if let Some(i) = self.ifaces.get_mut(usize::from(iface.0)) {
                    i.primary[family_index(family)] = addr.filter(|a| Family::of(a) == family);
                    self.settle_iface(now, iface);
                }
            }
            Input::Check {
                script,
                result,
                ran_for,
            } => self.check_result(now, script, result, ran_for),
            Input::TrackFile { file, value } => {
                let k = usize::from(file.0);
                if let Some(f) = self.files.get_mut(k) {
                    if f.value != value {
                        f.value = value;
                        for n in 0..self.files[k].watchers.len() {
                            let i = self.files[k].watchers[n] as usize;
                            self.settle(now, i);
                        }
                    }
                }
            }
            Input::TrackProcess { process, up } => {
                let k = usize::from(process.0);
                if let Some(p) = self.processes.get_mut(k) {
                    if p.up != up {
                        p.up = up;
                        for n in 0..self.processes[k].watchers.len() {
                            let i = self.processes[k].watchers[n] as usize;
                            self.settle(now, i);
                        }
                    }
                }
            }
            Input::AddressDeleted { instance, addr } => {
                let i = instance.0 as usize;
                if i < self.instances.len() {
                    self.address_deleted(now, i, addr);
                }
            }
            Input::RouteDeleted { instance, index } => {
                let i = instance.0 as usize;
                let tracked = self
                    .instances
                    .get(i)
                    .and_then(|v| v.cfg.virtual_routes.get(index))
                    .is_some_and(|r| !r.no_track);
                if tracked {
                    self.extra_deleted(now, i, Reason::RouteDeleted);
                }
            }
            Input::RuleDeleted { instance, index } => {
                let i = instance.0 as usize;
                let tracked = self
                    .instances
                    .get(i)
                    .and_then(|v| v.cfg.virtual_rules.get(index))
                    .is_some_and(|r| !r.no_track);
                if tracked {
                    self.extra_deleted(now, i, Reason::RuleDeleted);
                }
            }
            Input::Shutdown => self.shutdown(now),
            Input::ReceiveQueue {
                iface,
                pending,
                lost,
            } => self.receive_queue(now, iface, pending, lost),
        }
    }

    /// Serve every timer due at or before `now`, in deadline order. A call with nothing due is a
    /// no-op. Timers that fall due together (masters on the same interval grid) are all served by
    /// this one call, so that the runner can send their adverts as one batch.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_at = None;
            self.start(now);
        }
        self.link_changes_due(now);
        while let Some(&Reverse((when, idx))) = self.heap.peek() {
            if when > now {
                break;
            }
            self.heap.pop();
            let i = idx as usize;
            if self.instances[i].queued != when {
                continue; // stale: superseded by an earlier entry
            }
            self.instances[i].queued = Instant::MAX;
            self.fire_due(now, i);
            // A timer of one sync-group member can move the whole group (master_down).
            self.schedule_with_group(i);
        }
        self.run_due_checks(now);
    }

    /// When `vrrp_startup_delay` ends and the instances start: one of [`Engine::poll_timeout`]'s
    /// deadlines (`None` without a delay, before [`Input::Start`] and once started), for a
    /// checker of the run-loop contract that accounts for each of them.
    pub fn startup_due(&self) -> Option<Instant> {
        self.start_at
    }

    /// The one next deadline: call [`Engine::handle_timeout`] when it is reached. `None` when no
    /// timer runs. Never earlier than a deadline that is really due (stale schedule entries are
    /// cleaned here, so the runner is not woken for nothing).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let instances = self.next_instance_deadline();
        let checks = (self.checks_due != Instant::MAX).then_some(self.checks_due);
        // The instance timers, the check programs, the end of vrrp_startup_delay, and the
        // delayed link changes (interface_up_down_delays): the earliest of those that run.
        // Pairwise: an array of the four flattened and reduced was most of this function's
        // cost, and a runner asks after every call (FUZZING.md, session 10).
        let next = earlier(instances, checks);
        let next = earlier(next, self.start_at);
        earlier(next, self.next_link_change())
    }

    /// The earliest instance timer (the heap's valid top).
    fn next_instance_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((when, idx))) = self.heap.peek() {
            let i = idx as usize;
            let inst = &self.instances[i];
            if inst.queued != when {
                self.heap.pop();
                continue;
            }
            let actual = inst.next_deadline();
            if actual == when {
                return Some(when);
            }
            // The instance's deadline moved later (a backup that heard its master again): move
            // the entry instead of waking the runner early.
            self.heap.pop();
            self.instances[i].queued = Instant::MAX;
            self.schedule(i);
        }
        None
    }

    /// The next action for the runner, in the order the engine decided them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The id of the interface called `name`, if some instance uses it.
    pub fn interface_id(&self, name: &str) -> Option<IfaceId> {
        self.ifaces
            .iter()
            .position(|i| i.name == name)
            .and_then(|p| u16::try_from(p).ok())
            .map(IfaceId)
    }

    /// The multicast groups the instances on interface `iface` of `family` send to and listen
    /// on (keepalived's `vrrp_mcast_group4` / `vrrp_mcast_group6` / `mcast_dst_ip`, else the
    /// RFC's group), each once: what the runner joins on that interface.
    pub fn multicast_groups(&self, iface: IfaceId, family: Family) -> Vec<IpAddr> {
        let mut groups: Vec<IpAddr> = Vec::new();
        for inst in &self.instances {
            if inst.iface == iface && inst.cfg.family == family {
                let g = inst.cfg.multicast_group();
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
        groups
    }

    /// The name of interface `id`.
    pub fn interface_name(&self, id: IfaceId) -> Option<&str> {
        self.ifaces.get(usize::from(id.0)).map(|i| i.name.as_str())
    }

    /// Every interface the instances use.
    pub fn interfaces(&self) -> impl Iterator<Item = (IfaceId, &str)> {
        self.ifaces
            .iter()
            .enumerate()
            .map(|(i, f)| (IfaceId(i as u16), f.name.as_str()))
    }

    /// The id of the instance called `name`.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .find(|i| i.cfg.name == name)
            .map(|i| i.id)
    }

    /// A view of one instance.
    pub fn instance(&self, id: InstanceId) -> Option<InstanceView<'_>> {
        self.instances
            .get(id.0 as usize)
            .map(|inst| InstanceView { inst })
    }

    /// Views of every instance, in configuration order.
    #[inline]
    pub fn instances(&self) -> impl Iterator<Item = InstanceView<'_>> {
        self.instances.iter().map(|inst| InstanceView { inst })
    }

    /// Counters of packets that reached no instance.
    #[inline]
    pub fn router_stats(&self) -> &RouterStats {
        &self.stats
    }

    /// The trackers of an instance, in configuration order, with their current state: for
    /// `vigild status` and metrics.
    pub fn trackers(&self, id: InstanceId) -> impl Iterator<Item = TrackerStatus<'_>> + '_ {
        let inst = self.instances.get(id.0 as usize);
        let ignored = inst.is_some_and(|_| self.weights_ignored(id.0 as usize));
        inst.into_iter().flat_map(move |inst| {
            inst.cfg.track.iter().zip(&inst.tracked).map(move |(t, r)| {
                let (up, value) = match r.target {
                    TrackedRef::Interface(k) => (self.ifaces[usize::from(k)].up, None),
                    TrackedRef::Script(k) => (self.scripts[usize::from(k)].up, None),
                    TrackedRef::Process(k) => (self.processes[usize::from(k)].up, None),
                    TrackedRef::File(k) => {
                        let v = self.files[usize::from(k)].value;
                        (self.tracker(r, ignored).is_ok(), Some(v))
                    }
                };
                TrackerStatus {
                    track: t,
                    up,
                    file_value: value,
                    effect: self.tracker(r, ignored),
                }
            })
        })
    }

    /// The id of the check program called `name`.
    pub fn script_id(&self, name: &str) -> Option<ScriptId> {
        index_of(
            self.scripts.iter().map(|s| s.cfg.name.as_str()),
            name,
            String::new,
        )
        .ok()
        .map(ScriptId)
    }

    /// The id of the tracked file called `name`.
    pub fn track_file_id(&self, name: &str) -> Option<FileId> {
        index_of(
            self.files.iter().map(|f| f.name.as_str()),
            name,
            String::new,
        )
        .ok()
        .map(FileId)
    }

    /// The id of the tracked process set called `name`.
    pub fn track_process_id(&self, name: &str) -> Option<ProcessId> {
        index_of(
            self.processes.iter().map(|p| p.name.as_str()),
            name,
            String::new,
        )
        .ok()
        .map(ProcessId)
    }

    /// Whether a tracked process set is up (its quorum met, as last reported).
    pub fn track_process_up(&self, id: ProcessId) -> Option<bool> {
        self.processes.get(usize::from(id.0)).map(|p| p.up)
    }

    /// Whether a check program is up (after its rise / fall counts).
    pub fn script_up(&self, id: ScriptId) -> Option<bool> {
        self.scripts.get(usize::from(id.0)).map(|s| s.up)
    }

    /// The id of the sync group called `name`.
    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        index_of(
            self.groups.iter().map(|g| g.name.as_str()),
            name,
            String::new,
        )
        .ok()
        .map(GroupId)
    }

    /// A sync group's name, state and members.
    pub fn group(
        &self,
        id: GroupId,
    ) -> Option<(&str, State, impl Iterator<Item = InstanceId> + '_)> {
        self.groups.get(usize::from(id.0)).map(|g| {
            (
                g.name.as_str(),
                g.state,
                g.members.iter().map(|&m| InstanceId(m)),
            )
        })
    }

    /// Every sync group's id and name.
    pub fn groups(&self) -> impl Iterator<Item = (GroupId, &str)> {
        self.groups
            .iter()
            .enumerate()
            .map(|(k, g)| (GroupId(k as u16), g.name.as_str()))
    }
}

mod backlog;
mod read_delay;

#[cfg(test)]
mod actions_tests;
#[cfg(test)]
mod extra_if_tests;
#[cfg(test)]
mod gate_reload_tests;
#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod tracking_tests;
#[cfg(test)]
mod want_state_tests;

mod announce;
mod backup;
mod checks;
mod deleted;
mod link_delay;
mod master;
mod receive;
pub(crate) mod reload;
mod sync_group;
mod timer;
mod tracking;
mod transitions;
