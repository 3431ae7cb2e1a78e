// Long: the run-loop contract, one block of rules per action kind; splitting it by rule family is a follow-up.
//! The engine's run-loop contract, checked from the outside after every call: one checker
//! shared by the simulator ([`crate::world::runner`]) and the fuzz harness
//! (`tests/src/fuzzing.rs`, its `Router`).
//!
//! It knows only what a runner knows: the configuration, the packets it delivered, the actions
//! the engine returned and what the engine reports about itself ([`Engine::instances`],
//! [`Engine::poll_timeout`], the counters). Per engine (a reboot makes a new one):
//!
//! * `fsm-edge` / `state-report`: every `StateChange` starts from the state the previous one
//!   ended in and is an edge of [`State::can_go_to`]; the engine's view agrees after the call.
//! * `vips-only-on-master`: virtual addresses are held (added and not removed) exactly while the
//!   instance is MASTER, and then all of them; none is added twice, removed unheld or
//!   unconfigured; `announce-only-master`: an announcement needs the addresses.
//! * `only-masters-advertise`: an advert with a non-zero priority comes from a MASTER (or one
//!   becoming MASTER in the same call) with its effective priority, on its interface, from its
//!   configured source; a priority-0 advert from a MASTER that leaves in the same call.
//! * `priority-report`: `PriorityChange` continues the last reported priority, moves, stays in
//!   1..=255, is reported as a MASTER's exactly when the instance is MASTER; an owner keeps 255; `LowerPriorityHeard` only as MASTER, for a lower priority.
//! * `group-report`: after a `GroupStateChange` to a state, every member is in it.
//! * `deadline`: a MASTER or BACKUP has a deadline (a BACKUP of a sync group may wait for a
//!   member that still runs its own), an INIT or FAULT one none; [`Engine::poll_timeout`] is
//!   the earliest of them and, after `handle_timeout(now)`, later than `now`.
//! * `read-delay`: [`Engine::input_may_wait`] (kept by the engine as instances change) is what
//!   a scan of the views gives: zero while an instance is MASTER, else the least Skew_Time of
//!   the BACKUPs for their priority and Master_Adver_Interval, none without either.
//! * `counters`: each delivered packet that reaches an instance (interface, family, VRID) adds
//!   one to its drop counters or to `adverts_received`, any other one to the router's; each
//!   drop is one `ProtocolError`; sent adverts, priority-0 adverts and MASTER entries and exits
//!   match the actions.
//!
//! Every check returns a [`Breach`] instead of panicking: the simulator turns it into a safety
//! violation with the seed and a replay command, the fuzz harness into a panic.

use core::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use vigil_engine::wire::IpContext;
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, InstanceConfig, InstanceId, Instant, PriorityReport,
    State, VirtualAddress,
};

/// A broken rule of the contract: its name and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The rule (see the module docs).
    pub rule: &'static str,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

/// `Err(Breach)` with a formatted detail unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $rule:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(Breach { rule: $rule, detail: format!($($fmt)+) });
        }
    };
}

/// Interface names by the engine's ids: the engine itself, or a list saved before a reload
/// renumbered them.
pub trait IfaceNames {
    /// The name of interface `id`, if it has one.
    fn iface_name(&self, id: IfaceId) -> Option<&str>;
}

impl IfaceNames for Engine {
    fn iface_name(&self, id: IfaceId) -> Option<&str> {
        self.interface_name(id)
    }
}

impl IfaceNames for [String] {
    fn iface_name(&self, id: IfaceId) -> Option<&str> {
        self.get(usize::from(id.0)).map(String::as_str)
    }
}

/// What the checker knows of one instance from the actions it saw.
#[derive(Clone, Debug, Default)]
pub struct Mirror {
    /// The state the last `StateChange` reported (`None`: not yet known).
    pub state: Option<State>,
    /// Effective priority, from the initial view and `PriorityChange` actions.
    pub priority: u8,
    /// Member of a sync group (a BACKUP member may wait for its group without a timer).
    pub grouped: bool,
    /// The virtual addresses held (added by `AddAddresses` and not removed since). Private,
    /// unlike the counters: `held_checked` caches the state check's verdict on it, and every
    /// change of it must clear that cache, which only this module does (no user outside reads
    /// it; [`Contract::mirror`] lends a `Mirror` only to read).
    held: Vec<VirtualAddress>,
    /// The `virtual_ipaddress_excluded` addresses held (added by `AddExcludedAddresses` and not
    /// removed since): announced with the virtual addresses, as keepalived's
    /// `vrrp_send_link_update` does, so an instance whose only addresses are excluded ones
    /// announces too.
    pub held_excluded: Vec<VirtualAddress>,
    /// Packets delivered that reached this instance (interface, family and VRID).
    pub delivered: u64,
    /// `SendAdvert` actions.
    pub sent: u64,
    /// Of which priority 0.
    pub sent_zero: u64,
    /// Transitions to MASTER.
    pub became_master: u64,
    /// Transitions from MASTER.
    pub released_master: u64,
    /// `ProtocolError` actions naming the instance.
    pub protocol_errors: u64,
    /// What the state check last found of `held`, remembered until `held` changes.
    held_checked: HeldChecked,
}

/// The configuration (the engine's shared one, [`vigil_engine::InstanceView::config_shared`])
/// whose virtual addresses [`Mirror::held`] was last found to be exactly, as a set, by the state
/// check; `None` once `held` changed since (every change of `held` clears it).
///
/// The check ("a MASTER holds exactly its configured addresses") is a function of two values:
/// `held` and the configured list. While this is set, `held` is the value that passed, and the
/// configuration is the same allocation when the pointers are equal: the `Arc` kept here keeps
/// it alive (no other configuration can be allocated at that address) and shared (an
/// `Arc<InstanceConfig>` with two owners cannot be changed in place: `Arc::get_mut` refuses,
/// `Arc::make_mut` copies to a new allocation). So the same pointer is the same configured list,
/// and the answer is the one already computed: the check is skipped only when it would compare
/// the same two values again (comparing them was a sixth of the state check in the `engine` fuzz
/// target, FUZZING.md session 8).
#[derive(Clone, Default)]
struct HeldChecked(Option<Arc<InstanceConfig>>);

impl fmt::Debug for HeldChecked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(cfg) => write!(f, "HeldChecked({})", cfg.name),
            None => f.write_str("HeldChecked(None)"),
        }
    }
}

/// The contract checker of one engine.
#[derive(Clone, Debug)]
pub struct Contract {
    mirror: Vec<Mirror>,
    router_delivered: u64,
    router_errors: u64,
    last_timeout: Option<Instant>,
    last_now: Instant,
    /// Per call: instances that advertised a non-zero priority before becoming MASTER, and
    /// that sent priority 0 before leaving MASTER (settled by the end of the call).
    pending_up: Vec<bool>,
    pending_down: Vec<bool>,
    /// Some entry of `pending_up` or `pending_down` is set.
    pending: bool,
    /// Per instance, the id of its configured interface in the engine the checker was made or
    /// last adopted with (see [`iface_ids`]).
    iface_ids: Vec<Option<IfaceId>>,
}

impl Contract {
    /// The checker of a freshly built engine: every instance INIT with the priority it starts
    /// with.
    pub fn new(engine: &Engine, config: &EngineConfig) -> Contract {
        let mirror = fresh_mirror(engine, config);
        let n = mirror.len();
        Contract {
            mirror,
            router_delivered: 0,
            router_errors: 0,
            last_timeout: None,
            last_now: Instant::ZERO,
            pending_up: vec![false; n],
            pending_down: vec![false; n],
            pending: false,
            iface_ids: iface_ids(engine, config),
        }
    }

    /// The checker of a running engine, from its own report: every instance in the state, at
    /// the priority, with the counters the engine shows, a MASTER holding its configured
    /// addresses. The simulator uses it after a reload (the fuzz harness follows a reload action
    /// by action instead, [`Contract::adopt`]); the simulator's own model checks the reload.
    pub fn resume(engine: &Engine, config: &EngineConfig) -> Contract {
        let mut c = Contract::new(engine, config);
        for (m, view) in c.mirror.iter_mut().zip(engine.instances()) {
            let st = view.stats();
            m.state = Some(view.state());
            if view.state() == State::Master {
                m.held_checked = HeldChecked::default();
                m.held = view.config().virtual_addresses.clone();
                m.held_excluded = view.config().excluded_addresses.clone();
            }
            m.delivered = st.drops() + st.adverts_received;
            m.protocol_errors = st.drops();
            m.sent = st.adverts_sent;
            m.sent_zero = st.priority_zero_sent;
            m.became_master = st.became_master;
            m.released_master = st.released_master;
        }
        let rs = engine.router_stats();
        c.router_delivered =
            rs.vrid_errors + rs.packet_length_errors + rs.unknown_interface_or_family;
        c.router_errors = c.router_delivered;
        c
    }

    /// The mirror of instance `i`.
    pub fn mirror(&self, i: usize) -> Option<&Mirror> {
        self.mirror.get(i)
    }

    /// Instances known.
    pub fn len(&self) -> usize {
        self.mirror.len()
    }

    /// Whether it knows no instance.
    pub fn is_empty(&self) -> bool {
        self.mirror.is_empty()
    }

    /// After a reload: the new table of instances. `kept[i]` is the old instance the new
    /// instance `i` continues (it keeps its mirror); the others start as in [`Contract::new`],
    /// with the priority `priority(i)` gives (the engine's view after the reload, or the `from`
    /// of its first `PriorityChange`).
    pub fn adopt(
        &mut self,
        fresh: &Engine,
        config: &EngineConfig,
        kept: &[Option<usize>],
        priority: impl Fn(usize) -> u8,
    ) {
        let mut mirror = fresh_mirror(fresh, config);
        for (i, m) in mirror.iter_mut().enumerate() {
            m.priority = priority(i);
        }
        for (i, k) in kept.iter().enumerate() {
            if let (Some(k), Some(slot)) = (*k, mirror.get(i).map(|m| m.grouped)) {
                mirror[i] = self.mirror[k].clone();
                mirror[i].grouped = slot;
            }
        }
        let n = mirror.len();
        self.mirror = mirror;
        self.iface_ids = iface_ids(fresh, config);
        self.pending_up = vec![false; n];
        self.pending_down = vec![false; n];
        self.pending = false;
    }

    /// Start of a call at `now` (the engine's clock never goes back).
    pub fn begin_call(&mut self, now: Instant) -> Result<(), Breach> {
        ensure!(
            now >= self.last_now,
            "clock",
            "a call at {now}, after one at {}",
            self.last_now
        );
        self.last_now = now;
        if self.pending {
            self.pending_up.fill(false);
            self.pending_down.fill(false);
            self.pending = false;
        }
        Ok(())
    }

    /// A packet is delivered on `iface`: count it for the instance it reaches (known interface,
    /// source and destination of one family, and an instance on that interface, family and
    /// VRID of `vrid`), or for the router. `config` and `engine` are the ones the checker was
    /// made or last adopted with: the instance's interface is the id the engine gave its
    /// configured name then ([`iface_ids`]).
    pub fn delivered(
        &mut self,
        config: &EngineConfig,
        engine: &Engine,
        iface: IfaceId,
        src: IpAddr,
        dst: IpAddr,
        vrid: Option<u8>,
    ) {
        let target = (|| {
            // A known interface (its name is the one compared, through the ids).
            engine.interface_name(iface)?;
            let family = IpContext { src, dst }.family()?;
            let vrid = vrid?;
            config.instances.iter().enumerate().position(|(k, c)| {
                c.vrid == vrid
                    && c.family == family
                    && self.iface_ids.get(k).copied().flatten() == Some(iface)
            })
        })();
        match target.and_then(|i| self.mirror.get_mut(i)) {
            Some(m) => m.delivered += 1,
            None => self.router_delivered += 1,
        }
    }

    fn idx(&self, id: InstanceId) -> Result<usize, Breach> {
        let i = id.0 as usize;
        ensure!(
            i < self.mirror.len(),
            "unknown-instance",
            "action for unknown instance {id:?}"
        );
        Ok(i)
    }

    /// One action of the call, checked against `config` (the configuration the instance ids
    /// refer to) and the interface names `ifaces`.
    // Long: one arm per action kind, each a few independent checks (a flat table).
    pub fn action<N: IfaceNames + ?Sized>(
        &mut self,
        config: &EngineConfig,
        ifaces: &N,
        engine: &Engine,
        a: &Action,
    ) -> Result<(), Breach> {
        match a {
            Action::SendAdvert(s) => {
                let i = self.idx(s.instance)?;
                let Some(cfg) = config.instances.get(i) else {
                    return Err(unconfigured(i));
                };
                let m = &mut self.mirror[i];
                let rule = "only-masters-advertise";
                ensure!(
                    s.vrid == cfg.vrid && s.version == cfg.version,
                    rule,
                    "{}: advert for VRID {} version {:?}, configured {} {:?}",
                    cfg.name,
                    s.vrid,
                    s.version,
                    cfg.vrid,
                    cfg.version
                );
                m.sent += 1;
                if s.priority == 0 {
                    ensure!(
                        m.state == Some(State::Master),
                        rule,
                        "{}: priority-0 advert while {:?}",
                        cfg.name,
                        m.state
                    );
                    m.sent_zero += 1;
                    self.pending_down[i] = true;
                    self.pending = true;
                } else {
                    ensure!(
                        s.priority == m.priority,
                        rule,
                        "{}: advert with priority {}, its effective priority is {}",
                        cfg.name,
                        s.priority,
                        m.priority
                    );
                    if m.state != Some(State::Master) {
                        self.pending_up[i] = true;
                        self.pending = true;
                    }
                }
                if let Some(src) = cfg.source {
                    ensure!(
                        s.src == src,
                        rule,
                        "{}: advert from {}, configured source {src}",
                        cfg.name,
                        s.src
                    );
                }
                // The id the engine gave the configured name is that name (see `iface_ids`);
                // any other id is looked up by name, which decides.
                let same_id = self.iface_ids.get(i).copied().flatten() == Some(s.iface);
                let name = ifaces.iface_name(s.iface).unwrap_or("?");
                ensure!(
                    same_id || name == cfg.interface,
                    rule,
                    "{}: advert on {name}, configured on {}",
                    cfg.name,
                    cfg.interface
                );
            }
            Action::AddAddresses {
                instance, addrs, ..
            } => {
                let i = self.idx(*instance)?;
                let Some(cfg) = config.instances.get(i) else {
                    return Err(unconfigured(i));
                };
                let m = &mut self.mirror[i];
                let rule = "vips-only-on-master";
                ensure!(
                    !addrs.is_empty(),
                    rule,
                    "{}: AddAddresses without addresses",
                    cfg.name
                );
                for a in addrs.iter() {
                    ensure!(
                        !m.held.contains(a),
                        rule,
                        "{}: address {} added twice",
                        cfg.name,
                        a.addr
                    );
                    ensure!(
                        cfg.virtual_addresses.contains(a),
                        rule,
                        "{}: added address {} is not configured",
                        cfg.name,
                        a.addr
                    );
                    m.held_checked = HeldChecked::default();
                    m.held.push(a.clone());
                }
            }
            Action::RemoveAddresses {
                instance, addrs, ..
            } => {
                let i = self.idx(*instance)?;
                let m = &mut self.mirror[i];
                let rule = "vips-only-on-master";
                ensure!(
                    !addrs.is_empty(),
                    rule,
                    "instance {i}: RemoveAddresses without addresses"
                );
                for a in addrs.iter() {
                    let Some(k) = m.held.iter().position(|h| h == a) else {
                        return Err(Breach {
                            rule,
                            detail: format!("instance {i}: address {} removed unheld", a.addr),
                        });
                    };
                    m.held_checked = HeldChecked::default();
                    m.held.swap_remove(k);
                }
            }
            Action::AddExcludedAddresses {
                instance, addrs, ..
            } => {
                let i = self.idx(*instance)?;
                self.mirror[i].held_excluded.extend(addrs.iter().cloned());
            }
            Action::RemoveExcludedAddresses {
                instance, addrs, ..
            } => {
                let i = self.idx(*instance)?;
                self.mirror[i].held_excluded.retain(|h| !addrs.contains(h));
            }
            Action::Announce { instance, .. } => {
                let i = self.idx(*instance)?;
                let m = &self.mirror[i];
                ensure!(
                    !m.held.is_empty() || !m.held_excluded.is_empty(),
                    "announce-only-master",
                    "instance {i}: announce without the addresses"
                );
            }
            Action::StateChange {
                instance,
                from,
                to,
                priority,
                ..
            } => {
                let i = self.idx(*instance)?;
                let m = &mut self.mirror[i];
                ensure!(
                    m.state == Some(*from),
                    "state-report",
                    "instance {i}: StateChange {from} -> {to}, its last reported state was {:?}",
                    m.state
                );
                ensure!(
                    *priority == m.priority,
                    "priority-report",
                    "instance {i}: StateChange reports priority {priority}, effective {}",
                    m.priority
                );
                ensure!(
                    from.can_go_to(*to),
                    "fsm-edge",
                    "instance {i}: {from} -> {to} is not an edge of the state diagram"
                );
                m.state = Some(*to);
                if *to == State::Master {
                    m.became_master += 1;
                    self.pending_up[i] = false;
                }
                if *from == State::Master {
                    m.released_master += 1;
                    self.pending_down[i] = false;
                }
            }
            Action::PriorityChange {
                instance,
                from,
                to,
                report,
            } => {
                let i = self.idx(*instance)?;
                let m = &mut self.mirror[i];
                let rule = "priority-report";
                ensure!(
                    *from == m.priority,
                    rule,
                    "instance {i}: PriorityChange from {from}, its priority was {}",
                    m.priority
                );
                ensure!(
                    from != to,
                    rule,
                    "instance {i}: PriorityChange to the same {to}"
                );
                ensure!(
                    (1..=255).contains(to),
                    rule,
                    "instance {i}: effective priority {to}"
                );
                ensure!(
                    *report == PriorityReport::of(m.state.unwrap_or(State::Init)),
                    rule,
                    "instance {i}: PriorityChange reported as {report:?} while {:?}",
                    m.state
                );
                m.priority = *to;
            }
            Action::LowerPriorityHeard {
                instance, priority, ..
            } => {
                let i = self.idx(*instance)?;
                let m = &self.mirror[i];
                let rule = "lower-priority-heard";
                ensure!(
                    m.state == Some(State::Master),
                    rule,
                    "instance {i}: lower priority heard while {:?}",
                    m.state
                );
                ensure!(
                    *priority != 0 && *priority <= m.priority,
                    rule,
                    "instance {i}: priority {priority} is not lower than {}",
                    m.priority
                );
            }
            Action::GroupStateChange { group, to, .. } => {
                let Some((name, _, members)) = engine.group(*group) else {
                    return Err(Breach {
                        rule: "group-report",
                        detail: format!("GroupStateChange for unknown group {group:?}"),
                    });
                };
                for id in members {
                    let i = self.idx(id)?;
                    ensure!(
                        self.mirror[i].state == Some(*to),
                        "group-report",
                        "sync group {name} says {to} but member {i} is {:?}",
                        self.mirror[i].state
                    );
                }
            }
            Action::ProtocolError { instance, .. } => match instance {
                Some(id) => {
                    let i = self.idx(*id)?;
                    self.mirror[i].protocol_errors += 1;
                }
                None => self.router_errors += 1,
            },
            _ => {}
        }
        Ok(())
    }

    /// The end of a run of actions: every instance that advertised a non-zero priority became
    /// MASTER, every one that sent priority 0 left MASTER.
    pub fn end_actions(&mut self) -> Result<(), Breach> {
        if !self.pending {
            return Ok(());
        }
        for i in 0..self.mirror.len() {
            ensure!(
                !self.pending_up[i],
                "only-masters-advertise",
                "instance {i}: non-zero advert from a non-master that did not become master"
            );
            ensure!(
                !self.pending_down[i],
                "only-masters-advertise",
                "instance {i}: priority-0 advert from a master that did not leave"
            );
        }
        self.pending = false;
        Ok(())
    }

    /// The end of a call (`timeout_now`: it was `handle_timeout(now)`; `next`: what
    /// [`Engine::poll_timeout`] returns after it): the actions settled and the engine's
    /// self-report agrees with the mirror.
    pub fn end_call(
        &mut self,
        engine: &Engine,
        next: Option<Instant>,
        timeout_now: Option<Instant>,
    ) -> Result<(), Breach> {
        self.end_actions()?;
        if timeout_now.is_some() {
            self.last_timeout = timeout_now;
        }
        self.check_state(engine, next, timeout_now)
    }

    /// The engine's views against the mirror.
    fn check_state(
        &mut self,
        engine: &Engine,
        next: Option<Instant>,
        timeout_now: Option<Instant>,
    ) -> Result<(), Breach> {
        let mut earliest: Option<Instant> = None;
        // `read-delay`: the scan that the engine's kept value must equal.
        let mut may_wait: Option<core::time::Duration> = None;
        for (i, view) in engine.instances().enumerate() {
            let Some(m) = self.mirror.get_mut(i) else {
                return Err(unconfigured(i));
            };
            let state = view.state();
            ensure!(
                m.state == Some(state),
                "state-report",
                "{}: the engine says {state}, the actions said {:?}",
                view.name(),
                m.state
            );
            let share = match state {
                State::Master => Some(core::time::Duration::ZERO),
                State::Backup => Some(vigil_engine::instance::skew_time(
                    view.config().version,
                    view.priority(),
                    view.master_adver_interval(),
                )),
                State::Init | State::Fault => None,
            };
            if let Some(d) = share {
                may_wait = Some(may_wait.map_or(d, |w| w.min(d)));
            }
            let shared = view.config_shared();
            let configured = &shared.virtual_addresses;
            // The same set: in the configured order (how they are added) at once, else each
            // one looked up; not again when `held` and the configuration are the ones that
            // passed last time (see `HeldChecked`).
            let mut holds_all = || {
                if m.held_checked
                    .0
                    .as_ref()
                    .is_some_and(|c| Arc::ptr_eq(c, shared))
                {
                    return true;
                }
                let holds = m.held.len() == configured.len()
                    && (m.held == *configured || configured.iter().all(|a| m.held.contains(a)));
                if holds {
                    m.held_checked = HeldChecked(Some(Arc::clone(shared)));
                }
                holds
            };
            ensure!(
                if state == State::Master {
                    holds_all()
                } else {
                    m.held.is_empty()
                },
                "vips-only-on-master",
                "{} is {state} and holds {:?} of {} configured address(es)",
                view.name(),
                m.held,
                configured.len()
            );
            ensure!(
                view.priority() == m.priority,
                "priority-report",
                "{}: priority {} in the view, {} reported",
                view.name(),
                view.priority(),
                m.priority
            );
            ensure!(
                view.config().priority != 255 || view.priority() == 255,
                "priority-report",
                "{}: owner priority changed to {}",
                view.name(),
                view.priority()
            );
            let deadline = view.next_deadline();
            check_deadline(engine, i, &view, m, deadline)?;
            if let Some(d) = deadline {
                earliest = Some(earliest.map_or(d, |e| e.min(d)));
            }
            check_counters(&view, m)?;
        }
        ensure!(
            engine.input_may_wait() == may_wait,
            "read-delay",
            "input_may_wait {:?}, the instances' least {may_wait:?}",
            engine.input_may_wait()
        );
        let rs = engine.router_stats();
        let router_drops =
            rs.vrid_errors + rs.packet_length_errors + rs.unknown_interface_or_family;
        ensure!(
            router_drops == self.router_delivered,
            "counters",
            "router counters {router_drops} != {} packets that reached no instance",
            self.router_delivered
        );
        ensure!(
            router_drops == self.router_errors,
            "counters",
            "router counters {router_drops} != {} ProtocolError actions without instance",
            self.router_errors
        );
        for c in router_deadlines(engine).into_iter().flatten() {
            earliest = Some(earliest.map_or(c, |e| e.min(c)));
        }
        if next != earliest {
            let who: Vec<String> = engine
                .instances()
                .filter(|v| v.next_deadline() == earliest)
                .map(|v| format!("{} ({})", v.name(), v.state()))
                .collect();
            return Err(Breach {
                rule: "deadline",
                detail: format!(
                    "poll_timeout {next:?} is not the earliest deadline {earliest:?} of {}",
                    who.join(", ")
                ),
            });
        }
        if let (Some(t), Some(last)) = (next, self.last_timeout) {
            ensure!(
                t > last,
                "deadline",
                "poll_timeout {t} not after the last handle_timeout({last})"
            );
        }
        if let (Some(t), Some(now)) = (next, timeout_now) {
            ensure!(
                t > now,
                "deadline",
                "deadline {t} still due after handle_timeout({now})"
            );
        }
        Ok(())
    }
}

/// `deadline`: a MASTER or BACKUP has one (a sync-group BACKUP whose timer ran out waits for
/// its group without one, but only while another member still runs its own), INIT and FAULT
/// none. `view` is instance `i` of `engine`.
fn check_deadline(
    engine: &Engine,
    i: usize,
    view: &vigil_engine::InstanceView<'_>,
    m: &Mirror,
    deadline: Option<Instant>,
) -> Result<(), Breach> {
    let state = view.state();
    match state {
        State::Master => ensure!(
            deadline.is_some(),
            "deadline",
            "{}: {state} without a timer",
            view.name()
        ),
        State::Backup => {
            ensure!(
                deadline.is_some() || m.grouped,
                "deadline",
                "{}: {state} without a timer",
                view.name()
            );
            if deadline.is_none() {
                let name = view.name();
                // A group it is a member of (a member id naming instance `i`: the engine's
                // instance names are unique, so this is the member of the same name), and a
                // member of it still running its own timer. Ids, not names: no list and no
                // string comparison per group (this ran on every check of such a BACKUP).
                let waits_for_someone = engine.groups().any(|(gid, _)| {
                    let Some((_, _, members)) = engine.group(gid) else {
                        return false;
                    };
                    let (mut member, mut someone) = (false, false);
                    for id in members {
                        let Some(v) = engine.instance(id) else {
                            continue;
                        };
                        member |= id.0 as usize == i;
                        someone |= v.state() == State::Backup && v.next_deadline().is_some();
                    }
                    member && someone
                });
                ensure!(
                    waits_for_someone,
                    "deadline",
                    "{name}: BACKUP without a timer, waiting for no member of its group"
                );
            }
        }
        State::Init | State::Fault => ensure!(
            deadline.is_none(),
            "deadline",
            "{}: {state} with a timer",
            view.name()
        ),
    }
    Ok(())
}

/// `counters`: the engine's counters of one instance against what the runner delivered and the
/// actions said.
fn check_counters(view: &vigil_engine::InstanceView<'_>, m: &Mirror) -> Result<(), Breach> {
    let st = view.stats();
    let drops = st.drops();
    let name = view.name();
    let rule = "counters";
    ensure!(
        drops + st.adverts_received == m.delivered,
        rule,
        "{name}: drops {drops} + received {} != {} packets delivered",
        st.adverts_received,
        m.delivered
    );
    ensure!(
        drops == m.protocol_errors,
        rule,
        "{name}: drops {drops} != {} ProtocolError actions",
        m.protocol_errors
    );
    ensure!(
        st.adverts_sent == m.sent && st.priority_zero_sent == m.sent_zero,
        rule,
        "{name}: adverts_sent {} / priority_zero_sent {}, the actions said {} / {}",
        st.adverts_sent,
        st.priority_zero_sent,
        m.sent,
        m.sent_zero
    );
    ensure!(
        st.became_master == m.became_master && st.released_master == m.released_master,
        rule,
        "{name}: became_master {} / released_master {}, the actions said {} / {}",
        st.became_master,
        st.released_master,
        m.became_master,
        m.released_master
    );
    ensure!(
        st.priority_zero_received <= st.adverts_received
            && st.trailing_bytes <= st.adverts_received
            && st.address_list_drops <= st.address_list_errors,
        rule,
        "{name}: sub-counters exceed their totals: {st:?}"
    );
    Ok(())
}

fn unconfigured(i: usize) -> Breach {
    Breach {
        rule: "unknown-instance",
        detail: format!("instance {i} is not in the configuration"),
    }
}

/// Per instance of `config`, the id `engine` gives the interface it is configured on (`None`:
/// no interface of that name).
///
/// The checks that compare an interface by name compare these ids instead: an engine names
/// each interface once (`Engine::new` adds an interface for a name it has not seen), and its
/// ids and names change only with the configuration, when the checker adopts the new one. So
/// "the interface called `cfg.interface`" and "the id found for it here" are the same
/// interface, and comparing ids gives the answer comparing names gave, without a string
/// comparison per packet and per advert (each one went through libFuzzer's `bcmp` hook in the
/// `engine` fuzz target: 0.9 % of its instructions, FUZZING.md session 10). Computed when the
/// checker is made or adopts a configuration, by name.
fn iface_ids(engine: &Engine, config: &EngineConfig) -> Vec<Option<IfaceId>> {
    config
        .instances
        .iter()
        .map(|c| engine.interface_id(&c.interface))
        .collect()
}

/// The mirror of a freshly built engine: every instance INIT with the priority it starts with.
fn fresh_mirror(engine: &Engine, config: &EngineConfig) -> Vec<Mirror> {
    engine
        .instances()
        .map(|view| Mirror {
            state: Some(State::Init),
            priority: view.priority(),
            grouped: config
                .sync_groups
                .iter()
                .any(|g| g.members.iter().any(|name| name == view.name())),
            ..Mirror::default()
        })
        .collect()
}

/// The deadlines of [`Engine::poll_timeout`] that belong to no instance: the check programs'
/// schedule (engine/src/engine/checks.rs), a delayed link change (interface_up_down_delays,
/// engine/src/engine/link_delay.rs) and the end of vrrp_startup_delay (engine/src/engine/mod.rs:
/// the instances wait in INIT with no deadline of their own; fuzz finding 19).
fn router_deadlines(engine: &Engine) -> [Option<Instant>; 3] {
    [
        engine.next_check_due(),
        engine.next_link_change(),
        engine.startup_due(),
    ]
}
