//! The [`Engine`]: every instance of a router, one timer schedule, one action queue.

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BinaryHeap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use crate::instance::{grid_after, Instance, Timer, Tracked, TrackedRef, TIMERS};
use crate::io::{
    Action, CheckResult, Destination, DropReason, FileId, GroupId, IfaceId, Input, InstanceId,
    Reason, Received, ScriptId, SendAdvert, State,
};
use crate::notices::{Gate, Notice};
use crate::setup::{
    EngineConfig, InstanceConfig, ScriptConfig, SetupError, TrackTarget, OWNER_PRIORITY,
};
use crate::stats::{InstanceStats, RouterStats};
use crate::time::Instant;
use crate::wire::{self, Auth, Family, IpContext, ParseError, Version, VRRP_TTL};

/// An interface some instance runs on, as the runner reported it.
#[derive(Clone, Debug, PartialEq)]
struct Iface {
    name: String,
    up: bool,
    /// Primary IPv4 address / IPv6 link-local, by [`family_index`].
    primary: [Option<IpAddr>; 2],
    /// Instance index + 1 by family and VRID (0: none): receive demultiplexing in O(1).
    vrids: [[u32; 256]; 2],
    /// Instances on this interface.
    instances: Vec<u32>,
    /// Instances that track this interface's link (`track_interface`).
    watchers: Vec<u32>,
    /// The runner's receive queue of this interface (read before deciding, [`backlog`]).
    rx_queue: backlog::ReceiveQueue,
}

impl Iface {
    fn new(name: &str) -> Iface {
        Iface {
            name: name.to_string(),
            up: true,
            primary: [None, None],
            vrids: [[0; 256]; 2],
            instances: Vec::new(),
            watchers: Vec::new(),
            rx_queue: backlog::ReceiveQueue::default(),
        }
    }
}

/// A check program's state: up or down after the rise / fall counts.
#[derive(Clone, Debug, PartialEq)]
struct Script {
    cfg: ScriptConfig,
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
    /// The instance's configuration.
    pub fn config(&self) -> &'a InstanceConfig {
        &self.inst.cfg
    }
    /// The instance's id.
    pub fn id(&self) -> InstanceId {
        self.inst.id
    }
    /// Its name.
    pub fn name(&self) -> &'a str {
        &self.inst.cfg.name
    }
    /// Its interface.
    pub fn iface(&self) -> IfaceId {
        self.inst.iface
    }
    /// Current state.
    pub fn state(&self) -> State {
        self.inst.state
    }
    /// Effective priority.
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
    pub fn stats(&self) -> &'a InstanceStats {
        &self.inst.stats
    }
    /// The next deadline of this instance's timers, if any runs.
    pub fn next_deadline(&self) -> Option<Instant> {
        let d = self.inst.next_deadline();
        (d != Instant::MAX).then_some(d)
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
    files: Vec<TrackFile>,
    groups: Vec<Group>,
    started: bool,
    /// Rate limit of the notices of drops that reach no instance.
    router_drops: Gate,
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
            && self.files == other.files
            && self.groups == other.groups
            && self.started == other.started
    }
}

/// Find `name` in `names`, as a u16 index.
fn index_of<'a>(
    mut names: impl Iterator<Item = &'a str>,
    name: &str,
    context: &str,
) -> Result<u16, SetupError> {
    names
        .position(|n| n == name)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| SetupError::UnknownName {
            context: context.to_string(),
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
    /// Build an engine for `config`. Instances stay in INIT until [`Input::Start`].
    pub fn new(config: EngineConfig) -> Result<Engine, SetupError> {
        let EngineConfig {
            instances: instance_cfgs,
            sync_groups,
            scripts,
            track_files,
        } = config;
        let mut ifaces: Vec<Iface> = Vec::new();
        let mut instances: Vec<Instance> = Vec::with_capacity(instance_cfgs.len());
        let scripts: Vec<Script> = scripts
            .into_iter()
            .map(|cfg| Script {
                up: !cfg.init_fail,
                cfg,
                successes: 0,
                failures: 0,
                watchers: Vec::new(),
            })
            .collect();
        let mut scripts = scripts;
        let mut files: Vec<TrackFile> = track_files
            .into_iter()
            .map(|f| TrackFile {
                name: f.name,
                value: f.initial,
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
            let slot = &mut iface.vrids[family_index(cfg.family)][usize::from(cfg.vrid)];
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
                let context = format!("{}: track", cfg.name);
                let target = match &t.target {
                    TrackTarget::Interface(name) => {
                        let k = iface_index(&mut ifaces, name)?;
                        ifaces[usize::from(k)].watchers.push(idx32);
                        TrackedRef::Interface(k)
                    }
                    TrackTarget::Script(name) => {
                        let k =
                            index_of(scripts.iter().map(|s| s.cfg.name.as_str()), name, &context)?;
                        scripts[usize::from(k)].watchers.push(idx32);
                        TrackedRef::Script(k)
                    }
                    TrackTarget::File(name) => {
                        let k = index_of(files.iter().map(|f| f.name.as_str()), name, &context)?;
                        files[usize::from(k)].watchers.push(idx32);
                        TrackedRef::File(k)
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
        let n = instances.len();
        let mut engine = Engine {
            instances,
            ifaces,
            heap: BinaryHeap::with_capacity(4 * n + 16),
            actions: VecDeque::with_capacity(8 * n + 16),
            stats: RouterStats::default(),
            scripts,
            files,
            groups,
            started: false,
            router_drops: Gate::default(),
        };
        for i in 0..n {
            engine.instances[i].priority = engine.effective_priority(i);
        }
        Ok(engine)
    }

    // ----- the run-loop API -------------------------------------------------------------

    /// Feed one input at `now`. Drain [`Engine::poll_action`] afterwards.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Start => self.start(now),
            Input::Packet(p) => self.receive(now, &p),
            Input::Link { iface, up } => {
                if let Some(i) = self.ifaces.get_mut(usize::from(iface.0)) {
                    if i.up != up {
                        i.up = up;
                        self.settle_iface(now, iface);
                    }
                }
            }
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
    }

    /// The one next deadline: call [`Engine::handle_timeout`] when it is reached. `None` when no
    /// timer runs. Never earlier than a deadline that is really due (stale schedule entries are
    /// cleaned here, so the runner is not woken for nothing).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
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

    // ----- queries ----------------------------------------------------------------------

    /// The id of the interface called `name`, if some instance uses it.
    pub fn interface_id(&self, name: &str) -> Option<IfaceId> {
        self.ifaces
            .iter()
            .position(|i| i.name == name)
            .and_then(|p| u16::try_from(p).ok())
            .map(IfaceId)
    }

    /// The name of an interface.
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
    pub fn instances(&self) -> impl Iterator<Item = InstanceView<'_>> {
        self.instances.iter().map(|inst| InstanceView { inst })
    }

    /// Counters of packets that reached no instance.
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
        index_of(self.scripts.iter().map(|s| s.cfg.name.as_str()), name, "")
            .ok()
            .map(ScriptId)
    }

    /// The id of the tracked file called `name`.
    pub fn track_file_id(&self, name: &str) -> Option<FileId> {
        index_of(self.files.iter().map(|f| f.name.as_str()), name, "")
            .ok()
            .map(FileId)
    }

    /// Whether a check program is up (after its rise / fall counts).
    pub fn script_up(&self, id: ScriptId) -> Option<bool> {
        self.scripts.get(usize::from(id.0)).map(|s| s.up)
    }

    /// The id of the sync group called `name`.
    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        index_of(self.groups.iter().map(|g| g.name.as_str()), name, "")
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

    // ----- scheduling -------------------------------------------------------------------

    /// Make sure the heap holds an entry no later than the instance's next deadline.
    fn schedule(&mut self, i: usize) {
        let inst = &mut self.instances[i];
        let next = inst.next_deadline();
        if next < inst.queued {
            inst.queued = next;
            self.heap.push(Reverse((next, i as u32)));
        }
    }

    /// Schedule every member of `i`'s group (or `i` alone).
    fn schedule_with_group(&mut self, i: usize) {
        match self.instances[i].group {
            Some(g) => {
                for k in 0..self.groups[usize::from(g)].members.len() {
                    let m = self.groups[usize::from(g)].members[k] as usize;
                    self.schedule(m);
                }
            }
            None => self.schedule(i),
        }
    }

    fn fire_due(&mut self, now: Instant, i: usize) {
        for t in TIMERS {
            let at = self.instances[i].get(t);
            if at > now {
                continue;
            }
            match t {
                Timer::Adver => {
                    self.send_advert(i, self.instances[i].priority);
                    let inst = &mut self.instances[i];
                    // Absolute schedule: the next advert is one interval after the previous
                    // deadline, not after this (possibly late) send; after a stall longer than an
                    // interval, rejoin the grid instead of bursting to catch up.
                    let mut next = at.saturating_add(inst.cfg.advert_interval);
                    if next <= now {
                        next = grid_after(now, inst.cfg.advert_interval);
                    }
                    inst.set(Timer::Adver, next);
                }
                Timer::MasterDown => {
                    self.instances[i].set(Timer::MasterDown, Instant::MAX);
                    // Read before deciding: adverts waiting or lost in the runner's receive
                    // queue extend the timer once instead (backlog.rs).
                    if self.instances[i].state == State::Backup
                        && !self.extend_master_down(now, i, at)
                    {
                        self.master_down(now, i);
                    }
                }
                Timer::Announce => {
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
            }
        }
    }

    // ----- announcements (gratuitous ARP / unsolicited NA) ------------------------------

    fn announce_once(&mut self, i: usize) {
        let inst = &self.instances[i];
        self.actions.push_back(Action::Announce {
            instance: inst.id,
            iface: inst.iface,
            addrs: Arc::clone(&inst.vips),
        });
    }

    /// Start a burst of `repeat` announcements at `at`: back to back, or spaced by
    /// `vrrp_garp_interval` through [`Timer::Announce`]. Only with virtual addresses (the seed).
    fn start_burst(&mut self, at: Instant, i: usize, repeat: u32) {
        if repeat == 0 || self.instances[i].vips.is_empty() {
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

    // ----- tracking -----------------------------------------------------------------------

    /// The seed's MISC_CHECK rule and keepalived's rise / fall: a run longer than the timeout
    /// is a failure whatever its status; `fall` failures in a row take the script down, `rise`
    /// successes in a row bring it up.
    fn check_result(
        &mut self,
        now: Instant,
        script: ScriptId,
        result: CheckResult,
        ran_for: Duration,
    ) {
        let Some(s) = self.scripts.get_mut(usize::from(script.0)) else {
            return;
        };
        let failed = result != CheckResult::Success || ran_for > s.cfg.timeout;
        let was_up = s.up;
        if failed {
            s.successes = 0;
            s.failures = s.failures.saturating_add(1);
            if s.up && s.failures >= s.cfg.fall.max(1) {
                s.up = false;
            }
        } else {
            s.failures = 0;
            s.successes = s.successes.saturating_add(1);
            if !s.up && s.successes >= s.cfg.rise.max(1) {
                s.up = true;
            }
        }
        if s.up != was_up {
            for k in 0..self.scripts[usize::from(script.0)].watchers.len() {
                let i = self.scripts[usize::from(script.0)].watchers[k] as usize;
                self.settle(now, i);
            }
        }
    }

    /// Whether weights are ignored for this instance: a sync group member without
    /// `sync_group_tracking_weight` treats every tracker as weight 0 (keepalived's code).
    fn weights_ignored(&self, i: usize) -> bool {
        self.instances[i]
            .group
            .is_some_and(|g| !self.groups[usize::from(g)].tracking_weight)
    }

    /// One tracker's verdict: `Err(reason)` when it puts the instance in FAULT, else the
    /// priority adjustment.
    fn tracker(&self, t: &Tracked, weights_ignored: bool) -> Result<i64, Reason> {
        let weight = if weights_ignored {
            0
        } else {
            i64::from(t.weight)
        };
        let (up, fault_reason) = match t.target {
            TrackedRef::Interface(k) => {
                (self.ifaces[usize::from(k)].up, Reason::TrackedInterfaceDown)
            }
            TrackedRef::Script(k) => (self.scripts[usize::from(k)].up, Reason::TrackerFailed),
            TrackedRef::File(k) => {
                let value = self.files[usize::from(k)].value;
                if weight == 0 {
                    return if value != 0 {
                        Err(Reason::TrackerFailed)
                    } else {
                        Ok(0)
                    };
                }
                let w = if t.reverse { -weight } else { weight };
                let adj = value.saturating_mul(w);
                // keepalived: a file that pulls the priority down by 254 or more means FAULT.
                return if adj <= -254 {
                    Err(Reason::TrackerFailed)
                } else {
                    Ok(adj)
                };
            }
        };
        let effective_up = up != t.reverse;
        match weight {
            0 if !effective_up => Err(fault_reason),
            w if w > 0 && effective_up => Ok(w),
            w if w < 0 && !effective_up => Ok(w),
            _ => Ok(0),
        }
    }

    /// The effective priority: the configured one plus the trackers' weights, clamped to
    /// 1..=254; the address owner's is always 255 (RFC 5798 section 5.2.4).
    fn effective_priority(&self, i: usize) -> u8 {
        let inst = &self.instances[i];
        if inst.is_owner() {
            return OWNER_PRIORITY;
        }
        let ignored = self.weights_ignored(i);
        // Saturating: a tracked file's value times its weight may already be at i64::MAX.
        let adj: i64 = inst
            .tracked
            .iter()
            .map(|t| self.tracker(t, ignored).unwrap_or(0))
            .fold(0, i64::saturating_add);
        i64::from(inst.cfg.priority)
            .saturating_add(adj)
            .clamp(1, 254) as u8
    }

    /// Why the instance cannot run, if it cannot: its link, its source address, its trackers.
    fn fault(&self, i: usize) -> Option<Reason> {
        let inst = &self.instances[i];
        let iface = &self.ifaces[usize::from(inst.iface.0)];
        if !iface.up {
            return Some(Reason::LinkDown);
        }
        if self.source(i).is_none() {
            return Some(Reason::NoSourceAddress);
        }
        let ignored = self.weights_ignored(i);
        inst.tracked
            .iter()
            .find_map(|t| self.tracker(t, ignored).err())
    }

    /// The source address of our adverts: configured, or the interface's primary / link-local.
    fn source(&self, i: usize) -> Option<IpAddr> {
        let inst = &self.instances[i];
        inst.cfg
            .source
            .or(self.ifaces[usize::from(inst.iface.0)].primary[family_index(inst.cfg.family)])
    }

    /// An interface changed: settle the instances on it and those tracking it.
    fn settle_iface(&mut self, now: Instant, iface: IfaceId) {
        let k = usize::from(iface.0);
        for n in 0..self.ifaces[k].instances.len() {
            let i = self.ifaces[k].instances[n] as usize;
            self.settle(now, i);
        }
        for n in 0..self.ifaces[k].watchers.len() {
            let i = self.ifaces[k].watchers[n] as usize;
            self.settle(now, i);
        }
    }

    /// Bring an instance (and its sync group) in line with its conditions: recompute the
    /// effective priority, then enter or leave FAULT.
    fn settle(&mut self, now: Instant, i: usize) {
        let prio = self.effective_priority(i);
        let inst = &mut self.instances[i];
        if prio != inst.priority {
            self.actions.push_back(Action::PriorityChange {
                instance: inst.id,
                from: inst.priority,
                to: prio,
            });
            inst.priority = prio;
            if inst.state == State::Backup {
                inst.rescale_down_timer();
            }
        }
        if !self.started || self.instances[i].state == State::Init {
            return;
        }
        match self.instances[i].group {
            Some(g) => self.settle_group(now, usize::from(g), i, None),
            None => match (self.instances[i].state, self.fault(i)) {
                (State::Fault, None) => self.leave_fault(now, i, Reason::FaultCleared),
                (State::Backup | State::Master, Some(r)) => self.become_fault(now, i, r),
                _ => {}
            },
        }
        // A higher priority can make the rescaled Master_Down_Timer due already: no acceptable
        // advert was heard for a whole new Master_Down_Interval. Take over now, rather than leave
        // a deadline that is not in the future.
        if self.instances[i].state == State::Backup
            && self.instances[i].get(Timer::MasterDown) <= now
        {
            self.instances[i].set(Timer::MasterDown, Instant::MAX);
            self.master_down(now, i);
        }
        self.schedule_with_group(i);
    }

    // ----- sync groups (the seed's Transition State Matrix) -------------------------------

    /// Handlers 2, 4, 5 and 6 of the matrix (and start-up): any member with a fault puts the
    /// whole group in FAULT; when no member has one, every FAULT member leaves together, to
    /// MASTER if every member is an address owner, else to BACKUP. `startup` is the reason for a
    /// group leaving INIT.
    fn settle_group(&mut self, now: Instant, g: usize, cause: usize, startup: Option<Reason>) {
        let members = self.groups[g].members.clone();
        let faults: Vec<Option<Reason>> = members.iter().map(|&m| self.fault(m as usize)).collect();
        let cause_reason;
        if faults.iter().any(Option::is_some) {
            // B->F (2), M->F (4): everyone goes FAULT; masters leave with priority 0.
            cause_reason = faults[members
                .iter()
                .position(|&m| m as usize == cause)
                .unwrap_or(0)]
            .or_else(|| faults.iter().flatten().next().copied())
            .unwrap_or(Reason::SyncGroup);
            for (k, &m) in members.iter().enumerate() {
                let m = m as usize;
                if matches!(
                    self.instances[m].state,
                    State::Init | State::Backup | State::Master
                ) {
                    let r = faults[k].unwrap_or(Reason::SyncGroup);
                    self.become_fault(now, m, r);
                }
            }
        } else if members
            .iter()
            .any(|&m| matches!(self.instances[m as usize].state, State::Fault | State::Init))
        {
            // F->B (5), F->M (6), or start-up: all leave together.
            let reason = startup.unwrap_or(Reason::FaultCleared);
            cause_reason = reason;
            let all_owners = members
                .iter()
                .all(|&m| self.instances[m as usize].is_owner());
            for &m in &members {
                let m = m as usize;
                if !matches!(self.instances[m].state, State::Fault | State::Init) {
                    continue;
                }
                let r = if m == cause {
                    reason
                } else {
                    Reason::SyncGroup
                };
                if all_owners {
                    let r = if r == Reason::Startup {
                        Reason::AddressOwner
                    } else {
                        r
                    };
                    self.become_master(now, m, r);
                } else {
                    let own = self.instances[m].cfg.advert_interval;
                    self.become_backup(now, m, r, own);
                }
            }
        } else {
            return;
        }
        self.update_group_state(g, cause, cause_reason);
    }

    /// Handler 1 of the matrix (B->M): the Master_Down_Timer of `i` ran out. A lone instance
    /// becomes MASTER; a group member becomes MASTER only together with every other member,
    /// once each of them would (its own timer ran out too), so the group never splits.
    fn master_down(&mut self, now: Instant, i: usize) {
        let Some(g) = self.instances[i].group else {
            return self.become_master(now, i, Reason::MasterDownTimer);
        };
        self.instances[i].want_master = true;
        let g = usize::from(g);
        let ready = self.groups[g].members.iter().all(|&m| {
            let inst = &self.instances[m as usize];
            inst.state == State::Master || (inst.state == State::Backup && inst.want_master)
        });
        if !ready {
            return;
        }
        for k in 0..self.groups[g].members.len() {
            let m = self.groups[g].members[k] as usize;
            if self.instances[m].state == State::Backup {
                let r = if m == i {
                    Reason::MasterDownTimer
                } else {
                    Reason::SyncGroup
                };
                self.become_master(now, m, r);
            }
        }
        self.update_group_state(g, i, Reason::MasterDownTimer);
    }

    /// Handler 3 of the matrix (M->B): `i` heard a higher priority; every MASTER member of its
    /// group goes BACKUP with it.
    fn fall_to_backup(&mut self, now: Instant, i: usize, mai: Duration) {
        self.become_backup(now, i, Reason::HigherPriorityHeard, mai);
        let Some(g) = self.instances[i].group else {
            return;
        };
        let g = usize::from(g);
        for k in 0..self.groups[g].members.len() {
            let m = self.groups[g].members[k] as usize;
            if self.instances[m].state == State::Master {
                let own = self.instances[m].cfg.advert_interval;
                self.become_backup(now, m, Reason::SyncGroup, own);
            }
        }
        self.update_group_state(g, i, Reason::HigherPriorityHeard);
    }

    /// Emit a group notification when every member now shares a new state.
    fn update_group_state(&mut self, g: usize, cause: usize, reason: Reason) {
        let group = &self.groups[g];
        let Some(&first) = group.members.first() else {
            return;
        };
        let s = self.instances[first as usize].state;
        if group.state != s
            && group
                .members
                .iter()
                .all(|&m| self.instances[m as usize].state == s)
        {
            let from = group.state;
            self.groups[g].state = s;
            self.actions.push_back(Action::GroupStateChange {
                group: GroupId(g as u16),
                from,
                to: s,
                cause: (InstanceId(cause as u32), reason),
            });
        }
    }

    // ----- state transitions (RFC 5798 section 6.4, RFC 9568, keepalived's FAULT) --------

    fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.instances.len() {
            self.instances[i].priority = self.effective_priority(i);
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
    }

    /// A lone instance from INIT or FAULT: FAULT if a fault holds, MASTER for the owner, BACKUP
    /// otherwise.
    fn leave_fault(&mut self, now: Instant, i: usize, reason: Reason) {
        if let Some(fault) = self.fault(i) {
            if self.instances[i].state != State::Fault {
                self.become_fault(now, i, fault);
            }
        } else if self.instances[i].is_owner() {
            let r = if reason == Reason::Startup {
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

    fn set_state(&mut self, i: usize, to: State, reason: Reason) {
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
    }

    /// RFC 5798 section 6.4.1/6.4.2: send an advert, add and announce the addresses, start
    /// Adver_Timer, go MASTER. The announcements: a burst of `garp_master_repeat` now, another
    /// after `garp_master_delay`, and `garp_master_refresh` bursts.
    fn become_master(&mut self, now: Instant, i: usize, reason: Reason) {
        self.send_advert(i, self.instances[i].priority);
        let src = self.source(i);
        let inst = &mut self.instances[i];
        self.actions.push_back(Action::AddAddresses {
            instance: inst.id,
            iface: inst.iface,
            addrs: Arc::clone(&inst.vips),
        });
        inst.master_adver_interval = inst.cfg.advert_interval;
        inst.master_addr = src;
        inst.want_master = false;
        inst.set(Timer::MasterDown, Instant::MAX);
        inst.set(Timer::Adver, grid_after(now, inst.cfg.advert_interval));
        let a = inst.cfg.announce;
        if !a.master_delay.is_zero() {
            inst.delayed_repeat = a.master_repeat;
            inst.set(Timer::AnnounceDelayed, now.saturating_add(a.master_delay));
        }
        if let Some(period) = a.master_refresh.filter(|p| !p.is_zero()) {
            inst.set(Timer::Refresh, now.saturating_add(period));
        }
        self.start_burst(now, i, a.master_repeat);
        self.set_state(i, State::Master, reason);
    }

    /// Go BACKUP with Master_Adver_Interval `mai` and a fresh Master_Down_Timer. Leaving MASTER
    /// removes the addresses first (the seed: "ms_down_timer = 3 * advert_int + skew when
    /// leaving MASTER").
    fn become_backup(&mut self, now: Instant, i: usize, reason: Reason, mai: Duration) {
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
    fn become_fault(&mut self, _now: Instant, i: usize, reason: Reason) {
        let link_up = self.ifaces[usize::from(self.instances[i].iface.0)].up;
        let goodbye = link_up && self.source(i).is_some();
        self.go_silent(i, State::Fault, reason, goodbye);
    }

    /// Leave for FAULT or INIT: a MASTER sends priority 0 (when `goodbye`) and removes its
    /// addresses; every timer stops.
    fn go_silent(&mut self, i: usize, to: State, reason: Reason, goodbye: bool) {
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

    fn remove_addresses(&mut self, i: usize) {
        let inst = &self.instances[i];
        self.actions.push_back(Action::RemoveAddresses {
            instance: inst.id,
            iface: inst.iface,
            addrs: Arc::clone(&inst.vips),
        });
    }

    /// RFC 5798 section 6.4.2/6.4.3 "Shutdown": a master sends priority 0 and removes its
    /// addresses; everyone goes INIT.
    fn shutdown(&mut self, _now: Instant) {
        for i in 0..self.instances.len() {
            self.stop_instance(i);
        }
        for g in 0..self.groups.len() {
            if let Some(&first) = self.groups[g].members.first() {
                self.update_group_state(g, first as usize, Reason::Shutdown);
            }
        }
        self.started = false;
    }

    /// Stop one instance as on shutdown: a MASTER sends priority 0 and removes its addresses.
    pub(crate) fn stop_instance(&mut self, i: usize) {
        if self.instances[i].state != State::Init {
            self.go_silent(i, State::Init, Reason::Shutdown, true);
        }
    }

    // ----- support for reload (crate::reload) -----------------------------------------------

    pub(crate) fn is_started(&self) -> bool {
        self.started
    }

    pub(crate) fn set_started(&mut self, started: bool) {
        self.started = started;
    }

    pub(crate) fn instance_count(&self) -> usize {
        self.instances.len()
    }

    pub(crate) fn instance_config(&self, i: usize) -> &InstanceConfig {
        &self.instances[i].cfg
    }

    pub(crate) fn instance_state(&self, i: usize) -> State {
        self.instances[i].state
    }

    pub(crate) fn instance_mut(&mut self, i: usize) -> &mut Instance {
        &mut self.instances[i]
    }

    pub(crate) fn instance_id_at(&self, i: usize) -> InstanceId {
        self.instances[i].id
    }

    pub(crate) fn instance_iface(&self, i: usize) -> IfaceId {
        self.instances[i].iface
    }

    pub(crate) fn push_action(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    /// Take over what the runner reported to `old`: interface links and addresses, check
    /// program states and tracked-file values, by name.
    pub(crate) fn adopt_environment(&mut self, old: &Engine) {
        for f in &mut self.ifaces {
            if let Some(o) = old.ifaces.iter().find(|o| o.name == f.name) {
                f.up = o.up;
                f.primary = o.primary;
            }
        }
        for s in &mut self.scripts {
            if let Some(o) = old.scripts.iter().find(|o| o.cfg.name == s.cfg.name) {
                s.up = o.up;
                s.successes = o.successes;
                s.failures = o.failures;
            }
        }
        for f in &mut self.files {
            if let Some(o) = old.files.iter().find(|o| o.name == f.name) {
                f.value = o.value;
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
    pub(crate) fn settle_after_reload(&mut self, now: Instant) {
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

    fn send_advert(&mut self, i: usize, priority: u8) {
        let Some(src) = self.source(i) else {
            return; // a FAULT condition; callers only send when a source exists
        };
        let inst = &mut self.instances[i];
        let dst = match &inst.peers {
            Some(p) => Destination::Unicast(Arc::clone(p)),
            None => Destination::Multicast(inst.cfg.family.multicast_group()),
        };
        inst.stats.adverts_sent += 1;
        if priority == 0 {
            inst.stats.priority_zero_sent += 1;
        }
        self.actions.push_back(Action::SendAdvert(SendAdvert {
            instance: inst.id,
            iface: inst.iface,
            version: inst.cfg.version,
            vrid: inst.cfg.vrid,
            priority,
            interval: inst.interval,
            addrs: Arc::clone(&inst.advert_addrs),
            auth: inst.cfg.auth,
            checksum: inst
                .cfg
                .checksum_policy
                .emit_form(inst.cfg.version, inst.cfg.family),
            src,
            dst: dst.clone(),
        }));
    }

    // ----- receive (RFC 5798 section 7.1, then section 6.4.2 / 6.4.3) -----------------------

    /// Discard a received packet: one `ProtocolError` per packet, and a rate-limited notice
    /// for the log (RFC 5798 / RFC 9568 / RFC 3768 section 7.1: "SHOULD log the event (subject
    /// to rate-limiting)").
    fn drop_packet(
        &mut self,
        now: Instant,
        p: &Received<'_>,
        instance: Option<usize>,
        rule: DropReason,
    ) {
        let id = instance.map(|i| self.instances[i].id);
        self.actions.push_back(Action::ProtocolError {
            iface: p.iface,
            instance: id,
            src: p.src,
            rule,
        });
        let gate = match instance {
            Some(i) => &mut self.instances[i].notices.dropped,
            None => &mut self.router_drops,
        };
        if let Some(held_back) = gate.pass(now) {
            self.actions
                .push_back(Action::Notice(Notice::AdvertDropped {
                    iface: p.iface,
                    instance: id,
                    src: p.src,
                    rule,
                    held_back,
                }));
        }
        // The address owner heard another router claim priority 255 (RFC 9568 sections 7.1
        // and 8.3.2). The codec accepted the packet, so byte 2 is its priority.
        if let (Some(i), DropReason::OwnerDiscard) = (instance, rule) {
            if p.payload.get(2) == Some(&OWNER_PRIORITY) {
                self.owner_conflict(now, i, p.src, None);
            }
        }
    }

    /// Notice two routers claiming priority 255 for instance `i` (rate-limited).
    fn owner_conflict(&mut self, now: Instant, i: usize, src: IpAddr, other: Option<IpAddr>) {
        let inst = &mut self.instances[i];
        if let Some(held_back) = inst.notices.owner.pass(now) {
            let instance = inst.id;
            self.actions
                .push_back(Action::Notice(Notice::OwnerConflict {
                    instance,
                    src,
                    other,
                    held_back,
                }));
        }
    }

    /// The operator notices an accepted advert can raise (RFC 9568 sections 7.1 and 8.3.2): a
    /// VRRPv3 interval other than ours, and priority 255 from two routers within one
    /// Master_Down_Interval.
    fn accepted_notices(&mut self, now: Instant, i: usize, src: IpAddr, prio: u8, heard: Duration) {
        let inst = &mut self.instances[i];
        let ours = inst.cfg.advert_interval;
        if inst.cfg.version == Version::V3 && heard != ours {
            if let Some(held_back) = inst.notices.interval.pass(now) {
                let instance = inst.id;
                self.actions
                    .push_back(Action::Notice(Notice::IntervalDiffers {
                        instance,
                        src,
                        theirs: heard,
                        ours,
                        held_back,
                    }));
            }
        }
        let inst = &mut self.instances[i];
        if prio == OWNER_PRIORITY {
            let window = inst.master_down_interval();
            let previous = inst.notices.last_owner.replace((src, now));
            if let Some((other, at)) = previous {
                if other != src && now < at.saturating_add(window) {
                    self.owner_conflict(now, i, src, Some(other));
                }
            }
        }
    }

    fn receive(&mut self, now: Instant, p: &Received<'_>) {
        // Find the instance: interface, family, VRID (byte 1). Everything after is checked
        // against that instance's configuration.
        let family = match (IpContext {
            src: p.src,
            dst: p.dst,
        })
        .family()
        {
            Some(f) if usize::from(p.iface.0) < self.ifaces.len() => f,
            _ => {
                self.stats.unknown_interface_or_family += 1;
                return self.drop_packet(now, p, None, DropReason::UnknownInterfaceOrFamily);
            }
        };
        let Some(&vrid) = p.payload.get(1) else {
            self.stats.packet_length_errors += 1;
            return self.drop_packet(now, p, None, DropReason::TooShortForVrid);
        };
        let slot =
            self.ifaces[usize::from(p.iface.0)].vrids[family_index(family)][usize::from(vrid)];
        if slot == 0 {
            self.stats.vrid_errors += 1;
            return self.drop_packet(now, p, None, DropReason::VridNotConfigured);
        }
        let i = (slot - 1) as usize;
        let advert = match self.check(i, p) {
            Ok(a) => a,
            Err(rule) => return self.drop_packet(now, p, Some(i), rule),
        };
        let inst = &mut self.instances[i];
        inst.stats.adverts_received += 1;
        if advert.priority == 0 {
            inst.stats.priority_zero_received += 1;
        }
        if advert.trailing > 0 {
            inst.stats.trailing_bytes += 1;
        }
        let heard_interval = advert.interval.as_duration();
        // The owner's adverts are kept whatever their address list (check 6); a differing list
        // is still worth a line in the log (RFC 5798 section 7.1: "SHOULD log the event").
        let owner_list_differs = advert.priority == OWNER_PRIORITY
            && inst.cfg.check_address_list
            && !same_addresses(&advert.addrs, &inst.advert_addrs);
        if owner_list_differs {
            if let Some(held_back) = inst.notices.address_list.pass(now) {
                let instance = inst.id;
                self.actions
                    .push_back(Action::Notice(Notice::OwnerAddressListDiffers {
                        instance,
                        src: p.src,
                        held_back,
                    }));
            }
        }
        if matches!(self.instances[i].state, State::Backup | State::Master) {
            self.accepted_notices(now, i, p.src, advert.priority, heard_interval);
        }
        let inst = &mut self.instances[i];
        match inst.state {
            State::Backup => {
                self.backup_rx(now, i, advert.priority, heard_interval, p.src);
                // A backup only moves its own deadline: no other member to reschedule.
                self.schedule(i);
            }
            State::Master => {
                self.master_rx(now, i, advert.priority, heard_interval, p.src);
                // A master may take its whole sync group to BACKUP (matrix handler 3).
                self.schedule_with_group(i);
            }
            State::Init | State::Fault => {}
        }
    }

    /// The receive checks of RFC 5798 section 7.1, in order; each failure counted by name.
    fn check<'a>(&mut self, i: usize, p: &Received<'a>) -> Result<wire::Advert<'a>, DropReason> {
        let inst = &mut self.instances[i];
        let st = &mut inst.stats;
        // 1. TTL / hop limit, for adverts sent to the group. A unicast advert to a unicast
        // instance is not held to 255: unicast peers may be routed, and keepalived 2.2.7 both
        // sends IPv6 unicast adverts with the default hop limit (64) and accepts any TTL on
        // unicast (it checks only per-peer min_ttl / max_ttl, applied just below).
        let unicast_rx = !inst.cfg.unicast_peers.is_empty() && !p.dst.is_multicast();
        if p.ttl != VRRP_TTL && !unicast_rx {
            st.ip_ttl_errors += 1;
            return Err(DropReason::Ttl(p.ttl));
        }
        // A unicast advert from a peer with a configured TTL range is held to it (keepalived's
        // min_ttl / max_ttl, counted as a TTL error as keepalived does).
        if unicast_rx {
            if let Some(r) = inst.cfg.unicast_ttl.iter().find(|r| r.peer == p.src) {
                if p.ttl < r.min || p.ttl > r.max {
                    st.ip_ttl_errors += 1;
                    return Err(DropReason::Ttl(p.ttl));
                }
            }
        }
        // keepalived's check_unicast_src: only the configured peers may speak to a unicast
        // instance.
        if inst.cfg.check_unicast_src
            && !inst.cfg.unicast_peers.is_empty()
            && !inst.cfg.unicast_peers.contains(&p.src)
        {
            st.unicast_source_errors += 1;
            return Err(DropReason::UnicastSource);
        }
        // 2. Version.
        let version = p.payload.first().map_or(0, |b| b >> 4);
        if version != inst.cfg.version.number() {
            st.version_errors += 1;
            return Err(DropReason::Version(version));
        }
        // 3., 4. Length and checksum (and the structural rules), by the codec.
        let ctx = IpContext {
            src: p.src,
            dst: p.dst,
        };
        let advert = match wire::parse(p.payload, &ctx, inst.cfg.checksum_policy) {
            Ok(a) => a,
            Err(e) => {
                match e {
                    ParseError::TooShort { .. } | ParseError::LengthMismatch { .. } => {
                        st.packet_length_errors += 1
                    }
                    ParseError::UnknownVersion(_) | ParseError::V2OverIpv6 => {
                        st.version_errors += 1
                    }
                    ParseError::UnknownType(_) => st.invalid_type_received += 1,
                    ParseError::AddressCountZero => st.address_count_zero += 1,
                    ParseError::V2IntervalZero | ParseError::V3IntervalZero => {
                        st.advert_interval_errors += 1
                    }
                    ParseError::UnsupportedAuthType(_) => st.invalid_auth_type += 1,
                    ParseError::Checksum { .. } => st.checksum_errors += 1,
                    // Cannot happen: the VRID was found and the families agree.
                    ParseError::VridZero | ParseError::FamilyMismatch => {
                        st.packet_length_errors += 1
                    }
                }
                return Err(DropReason::Malformed(e));
            }
        };
        // 5. We are the address owner: discard.
        if inst.cfg.priority == OWNER_PRIORITY {
            st.owner_discards += 1;
            return Err(DropReason::OwnerDiscard);
        }
        // 6. Address list (the RFC's MAY, keepalived's default): count a mismatch; drop unless
        //    the sender is the owner. IPv6: a leading link-local (the RFC's form) is skipped.
        if inst.cfg.check_address_list && !same_addresses(&advert.addrs, &inst.advert_addrs) {
            st.address_list_errors += 1;
            if advert.priority != OWNER_PRIORITY {
                st.address_list_drops += 1;
                return Err(DropReason::AddressList);
            }
        }
        // 7. v2: authentication, and the interval (RFC 3768 section 7.1).
        if inst.cfg.version == Version::V2 {
            match (inst.cfg.auth, advert.auth) {
                (Auth::None, Auth::None) => {}
                (Auth::Simple(ours), Auth::Simple(theirs)) => {
                    if ours != theirs {
                        st.auth_failures += 1;
                        return Err(DropReason::AuthFailure);
                    }
                }
                _ => {
                    st.auth_type_mismatch += 1;
                    return Err(DropReason::AuthTypeMismatch);
                }
            }
            if advert.interval != inst.interval {
                st.advert_interval_errors += 1;
                return Err(DropReason::AdvertInterval);
            }
        }
        Ok(advert)
    }

    /// RFC 5798 section 6.4.2 (Backup), with keepalived's preempt_delay.
    fn backup_rx(&mut self, now: Instant, i: usize, prio: u8, heard: Duration, src: IpAddr) {
        let inst = &mut self.instances[i];
        if prio == 0 {
            // The master is leaving: take over after Skew_Time.
            inst.skew_down_timer(now);
            return;
        }
        let preempt_held = if inst.cfg.preempt
            && prio < inst.priority
            && inst.cfg.preempt_delay > Duration::ZERO
        {
            // keepalived: the delay runs from the first lower-priority advert heard (or start-up).
            let at = *inst
                .preempt_at
                .get_or_insert(now.saturating_add(inst.cfg.preempt_delay));
            now < at
        } else {
            false
        };
        if !inst.cfg.preempt || prio >= inst.priority || preempt_held {
            if prio >= inst.priority {
                inst.preempt_at = None;
            }
            if inst.cfg.version == Version::V3 {
                inst.master_adver_interval = heard;
            }
            inst.master_addr = Some(src);
            inst.want_master = false;
            inst.restart_down_timer(now);
        }
        // else: a lower priority and preemption on: discard; the timer runs out and we take over.
    }

    /// RFC 5798 section 6.4.3 (Master), with RFC 9568's answer to a lower priority.
    fn master_rx(&mut self, now: Instant, i: usize, prio: u8, heard: Duration, src: IpAddr) {
        let inst = &self.instances[i];
        if prio == 0 {
            // Another master is leaving: advertise at once so that the backups do not take over,
            // and "Reset the Adver_Timer to Advertisement_Interval" (RFC 5798 section 6.4.3): the
            // next advert is one interval after this one (keepalived resets its timer too). The
            // instance leaves the shared advert grid until it next becomes MASTER; the gaps
            // between its adverts stay exactly one interval.
            self.send_advert(i, inst.priority);
            let inst = &mut self.instances[i];
            inst.set(Timer::Adver, now.saturating_add(inst.cfg.advert_interval));
            return;
        }
        let ours = self.source(i);
        let higher = prio > inst.priority
            || (prio == inst.priority && ours.is_some_and(|o| addr_greater(src, o)));
        if higher {
            let mai = if inst.cfg.version == Version::V3 {
                heard
            } else {
                inst.cfg.advert_interval
            };
            self.fall_to_backup(now, i, mai);
            self.instances[i].master_addr = Some(src);
        } else {
            self.actions.push_back(Action::LowerPriorityHeard {
                instance: inst.id,
                src,
                priority: prio,
            });
            // One answer per Advertisement_Interval: it is there to make the other MASTER step
            // down now, and one does that; the periodic advert follows within the interval. A
            // backlog of lower-priority adverts (a process that was stopped, a burst of
            // duplicates) must not be answered advert for advert: the answers, each a lower
            // priority for any third MASTER, would be answered in turn (found by the
            // simulator's `stall` fault, an advert-storm between three routers).
            let due = inst
                .answered_at
                .is_none_or(|t| now >= t.saturating_add(inst.cfg.advert_interval));
            if !due {
                return;
            }
            self.instances[i].answered_at = Some(now);
            let inst = &self.instances[i];
            if inst.cfg.advert_on_lower_priority {
                // RFC 9568 section 6.4.3 / keepalived: answer a lower priority at once, so that
                // a healed split brain resolves within a fraction of the interval.
                self.send_advert(i, inst.priority);
            }
            // keepalived's garp_lower_prio_repeat / _delay: re-announce the addresses, which
            // the other master may have taken (keepalived issues #166, #1884). One burst at a
            // time: a peer that keeps advertising does not multiply them.
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
    }
}

/// `a > b` as unsigned integers in network byte order (RFC 5798 section 6.4.3); addresses of
/// different families never compare greater.
fn addr_greater(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}

/// Whether an advert's addresses are ours, in any order (keepalived compares them as a set); a
/// leading IPv6 link-local address (RFC 5798 section 5.2.9's form) is ignored.
fn same_addresses(theirs: &wire::Addrs<'_>, ours: &[IpAddr]) -> bool {
    let mut skip = 0;
    if let Some(IpAddr::V6(first)) = theirs.get(0) {
        if first.segments()[0] & 0xffc0 == 0xfe80 && !ours.contains(&IpAddr::V6(first)) {
            skip = 1;
        }
    }
    theirs.len() - skip == ours.len() && theirs.iter().skip(skip).all(|a| ours.contains(&a))
}

#[path = "backlog.rs"]
mod backlog;

#[path = "read_delay.rs"]
mod read_delay;

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "tracking_tests.rs"]
mod tracking_tests;
