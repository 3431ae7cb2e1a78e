//! The [`Engine`]: every instance of a router, one timer schedule, one action queue.

use core::cmp::Reverse;
use core::time::Duration;
use std::collections::{BinaryHeap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use crate::instance::{grid_after, Instance, Timer, TIMERS};
use crate::io::{
    Action, Destination, DropReason, IfaceId, Input, InstanceId, Reason, Received, SendAdvert,
    State,
};
use crate::setup::{EngineConfig, InstanceConfig, SetupError, OWNER_PRIORITY};
use crate::stats::{InstanceStats, RouterStats};
use crate::time::Instant;
use crate::wire::{self, Auth, Family, IpContext, ParseError, Version, VRRP_TTL};

/// An interface some instance runs on, as the runner reported it.
#[derive(Debug)]
struct Iface {
    name: String,
    up: bool,
    /// Primary IPv4 address / IPv6 link-local, by [`family_index`].
    primary: [Option<IpAddr>; 2],
    /// Instance index + 1 by family and VRID (0: none): receive demultiplexing in O(1).
    vrids: [[u32; 256]; 2],
    /// Instances on this interface.
    instances: Vec<u32>,
}

fn family_index(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// A read-only view of one instance, for status output and tests.
#[derive(Clone, Copy, Debug)]
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

/// The VRRP engine: owns every instance of one router and drives them from inputs and time.
///
/// See the crate documentation for the run-loop contract.
#[derive(Debug)]
pub struct Engine {
    instances: Vec<Instance>,
    ifaces: Vec<Iface>,
    /// (deadline, instance index); entries whose deadline no longer matches
    /// [`Instance::queued`] are stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    actions: VecDeque<Action>,
    stats: RouterStats,
    started: bool,
}

impl Engine {
    /// Build an engine for `config`. Instances stay in INIT until [`Input::Start`].
    pub fn new(config: EngineConfig) -> Result<Engine, SetupError> {
        let mut ifaces: Vec<Iface> = Vec::new();
        let mut instances = Vec::with_capacity(config.instances.len());
        for (idx, cfg) in config.instances.into_iter().enumerate() {
            cfg.validate()?;
            if let Some(other) = instances
                .iter()
                .find(|i: &&Instance| i.cfg.name == cfg.name)
            {
                return Err(SetupError::DuplicateName {
                    name: other.cfg.name.clone(),
                });
            }
            let iface_idx = match ifaces.iter().position(|i| i.name == cfg.interface) {
                Some(i) => i,
                None => {
                    ifaces.push(Iface {
                        name: cfg.interface.clone(),
                        up: true,
                        primary: [None, None],
                        vrids: [[0; 256]; 2],
                        instances: Vec::new(),
                    });
                    ifaces.len() - 1
                }
            };
            let iface = &mut ifaces[iface_idx];
            let slot = &mut iface.vrids[family_index(cfg.family)][usize::from(cfg.vrid)];
            if *slot != 0 {
                return Err(SetupError::DuplicateVrid {
                    first: instances[(*slot - 1) as usize].cfg.name.clone(),
                    second: cfg.name,
                });
            }
            let idx32 = u32::try_from(idx).map_err(|_| SetupError::DuplicateName {
                name: cfg.name.clone(),
            })?;
            *slot = idx32 + 1;
            iface.instances.push(idx32);
            let id = InstanceId(idx32);
            let iface_id =
                IfaceId(
                    u16::try_from(iface_idx).map_err(|_| SetupError::DuplicateName {
                        name: cfg.name.clone(),
                    })?,
                );
            let name = cfg.name.clone();
            let inst = Instance::new(cfg, id, iface_id)
                .ok_or(SetupError::BadInterval { instance: name })?;
            instances.push(inst);
        }
        let n = instances.len();
        Ok(Engine {
            instances,
            ifaces,
            heap: BinaryHeap::with_capacity(4 * n + 16),
            actions: VecDeque::with_capacity(8 * n + 16),
            stats: RouterStats::default(),
            started: false,
        })
    }

    // ----- the run-loop API -------------------------------------------------------------

    /// Feed one input at `now`. Drain [`Engine::poll_action`] afterwards.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Start => self.start(now),
            Input::Packet(p) => self.receive(now, &p),
            Input::Link { iface, up } => {
                if let Some(i) = self.ifaces.get_mut(usize::from(iface.0)) {
                    i.up = up;
                    self.reevaluate_iface(now, iface);
                }
            }
            Input::PrimaryAddress {
                iface,
                family,
                addr,
            } => {
                if let Some(i) = self.ifaces.get_mut(usize::from(iface.0)) {
                    i.primary[family_index(family)] = addr.filter(|a| Family::of(a) == family);
                    self.reevaluate_iface(now, iface);
                }
            }
            Input::Shutdown => self.shutdown(now),
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
            self.schedule(i);
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
                    if self.instances[i].state == State::Backup {
                        self.become_master(now, i, Reason::MasterDownTimer);
                    }
                }
            }
        }
    }

    // ----- state transitions (RFC 5798 section 6.4, RFC 9568, keepalived's FAULT) --------

    fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.instances.len() {
            self.enter_running_state(now, i, Reason::Startup);
            let inst = &mut self.instances[i];
            if inst.cfg.preempt_delay > Duration::ZERO {
                // keepalived: preempt_delay also holds off preemption after start-up.
                inst.preempt_at = Some(now.saturating_add(inst.cfg.preempt_delay));
            }
            self.schedule(i);
        }
    }

    /// From INIT or FAULT: FAULT if a fault holds, MASTER for the owner, BACKUP otherwise.
    fn enter_running_state(&mut self, now: Instant, i: usize, reason: Reason) {
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

    /// Why the instance cannot run, if it cannot.
    fn fault(&self, i: usize) -> Option<Reason> {
        let inst = &self.instances[i];
        let iface = &self.ifaces[usize::from(inst.iface.0)];
        if !iface.up {
            return Some(Reason::LinkDown);
        }
        if self.source(i).is_none() {
            return Some(Reason::NoSourceAddress);
        }
        None
    }

    /// The source address of our adverts: configured, or the interface's primary / link-local.
    fn source(&self, i: usize) -> Option<IpAddr> {
        let inst = &self.instances[i];
        inst.cfg
            .source
            .or(self.ifaces[usize::from(inst.iface.0)].primary[family_index(inst.cfg.family)])
    }

    fn reevaluate_iface(&mut self, now: Instant, iface: IfaceId) {
        if !self.started {
            return;
        }
        let Some(f) = self.ifaces.get(usize::from(iface.0)) else {
            return;
        };
        for k in 0..f.instances.len() {
            let i = self.ifaces[usize::from(iface.0)].instances[k] as usize;
            let state = self.instances[i].state;
            match (state, self.fault(i)) {
                (State::Init, _) => {}
                (State::Fault, None) => self.enter_running_state(now, i, Reason::FaultCleared),
                (State::Backup | State::Master, Some(r)) => self.become_fault(now, i, r),
                _ => {}
            }
            self.schedule(i);
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
    /// Adver_Timer, go MASTER.
    fn become_master(&mut self, now: Instant, i: usize, reason: Reason) {
        self.send_advert(i, self.instances[i].priority);
        let src = self.source(i);
        let inst = &mut self.instances[i];
        self.actions.push_back(Action::AddAddresses {
            instance: inst.id,
            iface: inst.iface,
            addrs: Arc::clone(&inst.vips),
        });
        if !inst.vips.is_empty() {
            self.actions.push_back(Action::Announce {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.vips),
            });
        }
        inst.master_adver_interval = inst.cfg.advert_interval;
        inst.master_addr = src;
        inst.set(Timer::MasterDown, Instant::MAX);
        inst.set(Timer::Adver, grid_after(now, inst.cfg.advert_interval));
        self.set_state(i, State::Master, reason);
    }

    /// Go BACKUP with Master_Adver_Interval `mai` and a fresh Master_Down_Timer. Leaving MASTER
    /// removes the addresses first (the seed: "ms_down_timer = 3 * advert_int + skew when
    /// leaving MASTER").
    fn become_backup(&mut self, now: Instant, i: usize, reason: Reason, mai: Duration) {
        let inst = &mut self.instances[i];
        if inst.state == State::Master {
            self.actions.push_back(Action::RemoveAddresses {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.vips),
            });
        }
        inst.master_adver_interval = mai;
        inst.set(Timer::Adver, Instant::MAX);
        let down = now.saturating_add(inst.master_down_interval());
        inst.set(Timer::MasterDown, down);
        self.set_state(i, State::Backup, reason);
    }

    /// Go FAULT: silent, no addresses. A master whose link still works says goodbye with
    /// priority 0 so that a backup takes over after Skew_Time rather than Master_Down_Interval.
    fn become_fault(&mut self, _now: Instant, i: usize, reason: Reason) {
        if self.instances[i].state == State::Master {
            if reason != Reason::LinkDown && self.source(i).is_some() {
                self.send_advert(i, 0);
            }
            let inst = &self.instances[i];
            self.actions.push_back(Action::RemoveAddresses {
                instance: inst.id,
                iface: inst.iface,
                addrs: Arc::clone(&inst.vips),
            });
        }
        let inst = &mut self.instances[i];
        inst.stop_timers();
        inst.master_addr = None;
        self.set_state(i, State::Fault, reason);
    }

    /// RFC 5798 section 6.4.2/6.4.3 "Shutdown": a master sends priority 0 and removes its
    /// addresses; everyone goes INIT.
    fn shutdown(&mut self, _now: Instant) {
        for i in 0..self.instances.len() {
            let state = self.instances[i].state;
            if state == State::Init {
                continue;
            }
            if state == State::Master {
                self.send_advert(i, 0);
                let inst = &self.instances[i];
                self.actions.push_back(Action::RemoveAddresses {
                    instance: inst.id,
                    iface: inst.iface,
                    addrs: Arc::clone(&inst.vips),
                });
            }
            let inst = &mut self.instances[i];
            inst.stop_timers();
            inst.preempt_at = None;
            inst.master_addr = None;
            self.set_state(i, State::Init, Reason::Shutdown);
        }
        self.started = false;
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

    fn drop_packet(&mut self, p: &Received<'_>, instance: Option<InstanceId>, rule: DropReason) {
        self.actions.push_back(Action::ProtocolError {
            iface: p.iface,
            instance,
            src: p.src,
            rule,
        });
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
                return self.drop_packet(p, None, DropReason::UnknownInterfaceOrFamily);
            }
        };
        let Some(&vrid) = p.payload.get(1) else {
            self.stats.packet_length_errors += 1;
            return self.drop_packet(p, None, DropReason::TooShortForVrid);
        };
        let slot =
            self.ifaces[usize::from(p.iface.0)].vrids[family_index(family)][usize::from(vrid)];
        if slot == 0 {
            self.stats.vrid_errors += 1;
            return self.drop_packet(p, None, DropReason::VridNotConfigured);
        }
        let i = (slot - 1) as usize;
        let advert = match self.check(i, p) {
            Ok(a) => a,
            Err(rule) => {
                let id = self.instances[i].id;
                return self.drop_packet(p, Some(id), rule);
            }
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
        match inst.state {
            State::Backup => self.backup_rx(now, i, advert.priority, heard_interval, p.src),
            State::Master => self.master_rx(now, i, advert.priority, heard_interval, p.src),
            State::Init | State::Fault => {}
        }
        self.schedule(i);
    }

    /// The receive checks of RFC 5798 section 7.1, in order; each failure counted by name.
    fn check<'a>(&mut self, i: usize, p: &Received<'a>) -> Result<wire::Advert<'a>, DropReason> {
        let inst = &mut self.instances[i];
        let st = &mut inst.stats;
        // 1. TTL / hop limit.
        if p.ttl != VRRP_TTL {
            st.ip_ttl_errors += 1;
            return Err(DropReason::Ttl(p.ttl));
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
            let at = now.saturating_add(inst.skew_time());
            inst.set(Timer::MasterDown, at);
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
            let at = now.saturating_add(inst.master_down_interval());
            inst.set(Timer::MasterDown, at);
        }
        // else: a lower priority and preemption on: discard; the timer runs out and we take over.
    }

    /// RFC 5798 section 6.4.3 (Master), with RFC 9568's answer to a lower priority.
    fn master_rx(&mut self, now: Instant, i: usize, prio: u8, heard: Duration, src: IpAddr) {
        let inst = &self.instances[i];
        if prio == 0 {
            // Another master is leaving: advertise at once so that the backups do not take over.
            self.send_advert(i, inst.priority);
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
            self.become_backup(now, i, Reason::HigherPriorityHeard, mai);
            self.instances[i].master_addr = Some(src);
        } else if inst.cfg.advert_on_lower_priority {
            // RFC 9568 section 6.4.3 / keepalived: answer a lower priority at once, so that a
            // healed split brain resolves within a fraction of the interval.
            self.send_advert(i, inst.priority);
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

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
