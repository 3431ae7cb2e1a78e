//! The nodes: one engine each, its interfaces, its clock (offset and drift), its life cycle
//! (boot, crash, graceful stop, stall and resume) and its socket buffer.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;

use vigil_engine::wire::Family;
use vigil_engine::{Engine, EngineConfig, IfaceId, Input, InstanceId, Instant, State};

use crate::checks::ViolationKind;
use crate::contract::Contract;
use crate::driver::{Event, Sim};
use crate::oracle::Model;
use crate::scenario::IfacePlan;
use crate::trace::TraceEvent;
use crate::world::network::Frame;
use crate::world::Group;
/// A node's interface at run time.
#[derive(Debug)]
pub(crate) struct NodeIface {
    pub plan: IfacePlan,
    pub up: bool,
    /// The engine's id for it, when some instance uses it.
    pub engine_id: Option<IfaceId>,
    /// IPv4 identification counter (keepalived counts from 1).
    pub ip_id: u16,
    /// Since when (virtual ns) the link is down, while it is.
    pub down_since: Option<u64>,
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
    pub(crate) fn new(
        ic: &vigil_engine::InstanceConfig,
        iface: usize,
        lane: u32,
        model: Model,
    ) -> InstTrack {
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
    pub(crate) timer_at: u64,
    pub(crate) timer_gen: u64,
    /// The engine's next deadline, virtual time (MAX: none).
    pub(crate) want: u64,
    pub(crate) clock_offset: u64,
    pub(crate) drift_ppm: i64,
    /// Boot counter: periodic events of an earlier engine are dropped.
    pub(crate) incarnation: u64,
    /// Check programs: what each run returns, how often it runs.
    pub scripts: Vec<ScriptRun>,
    /// Tracked files' values as the schedule set them (re-read at every boot).
    pub files: Vec<(String, i64)>,
    /// The router-wide counters the engine's drops imply.
    pub router_stats: vigil_engine::stats::RouterStats,
    /// `garp-gate`: per (interface, family index) of this engine's announcements, the local
    /// time of the last one and the gate interval then in force (ns).
    pub(crate) gate_last: Vec<(String, usize, u64, u64)>,
    /// Each sync group's state as the engine's GroupStateChange actions told it.
    pub group_states: Vec<State>,
    /// A `stall`: the process is frozen until this virtual time (0: it runs).
    pub stalled_until: u64,
    /// The last stall, from and until (the node's local clock): a Master_Down_Timer due within
    /// it is served late when the node resumes (the engine's late-served rule, backlog.rs).
    pub last_stall: Option<(u64, u64)>,
    /// Frames that reached the node while it was stalled, or busy reading earlier frames
    /// (interface, frame), in arrival order: its socket buffer, bounded by `socket_buffer`.
    pub(crate) stall_buffer: VecDeque<(usize, Rc<Frame>)>,
    /// Frames its socket buffer holds ([`crate::scenario::NodeSpec::socket_buffer`]).
    pub(crate) socket_buffer: usize,
    /// Its runner's time per frame read ([`crate::scenario::NodeSpec::read_cost`]).
    pub(crate) read_cost: u64,
    /// Its runner reads frames until then (virtual time).
    pub(crate) busy_until: u64,
    /// An `Event::Read` is queued for it.
    pub(crate) read_queued: bool,
    /// Frames its socket buffer lost since the engine was last told, by node interface.
    pub(crate) lost: Vec<u32>,
    /// When (local clock) the engine was last told of lost frames, by node interface.
    pub(crate) lost_at: Vec<Option<u64>>,
    /// The engine's tracker lists were compared in full (their length included) since its
    /// last boot or reload ([`oracle::compare_tracking`]).
    pub(crate) trackers_listed: bool,
    /// The run-loop contract checker of its engine ([`crate::contract`]), shared with the fuzz
    /// harness; `None` while down, and while a reload is carried out (then re-synced).
    pub(crate) contract: Option<Contract>,
    /// Its health checkers' runner, when its keepalived.conf has virtual servers.
    pub(crate) lvs: Option<crate::world::lvs::Director>,
}

/// A check program as the simulated runner runs it.
#[derive(Debug)]
pub(crate) struct ScriptRun {
    pub name: String,
    pub result: vigil_engine::io::CheckResult,
    /// The check's state after its rise / fall counts, as the results fed imply.
    pub up: bool,
    pub successes: u32,
    pub failures: u32,
}

impl Node {
    /// The node's clock at virtual time `t`: offset + t * (1 + drift).
    pub(crate) fn local(&self, t: u64) -> u64 {
        if self.drift_ppm == 0 {
            return t.saturating_add(self.clock_offset);
        }
        let scaled = i128::from(t) * (1_000_000 + i128::from(self.drift_ppm)) / 1_000_000;
        u64::try_from(scaled)
            .unwrap_or(u64::MAX)
            .saturating_add(self.clock_offset)
    }

    /// The first virtual time at or after `now` at which the node's clock reads `local`.
    pub(crate) fn global(&self, local: u64, now: u64) -> u64 {
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
    pub(crate) fn slack(&self, d: u64) -> u64 {
        d / 1_000_000 * self.drift_ppm.unsigned_abs() + 1_000
    }
}

impl Sim {
    pub(crate) fn boot(&mut self, n: usize) {
        if self.nodes[n].engine.is_some() {
            self.crash(n, false);
        }
        self.nodes[n].gate_last.clear(); // a new engine: its gates start open
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
        node.contract = Some(Contract::new(&engine, &node.config));
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
        // The check programs run when the engine asks (Action::RunCheck), on its schedule.
        self.input(n, Input::Start);
        self.lvs_boot(n);
    }

    /// Tell node `n`'s engine the facts of interface `fi`, if it uses it: its link and its
    /// primary addresses (the runner's contract, at boot and for an interface a reload adds).
    pub(crate) fn tell_interface(&mut self, n: usize, fi: usize) {
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

    pub(crate) fn crash(&mut self, n: usize, trace: bool) {
        let node = &mut self.nodes[n];
        node.engine = None;
        node.contract = None;
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
        self.lvs_crash(n);
    }

    /// Graceful stop: `Input::Shutdown`; every MASTER with a working link must say goodbye
    /// with priority 0 (RFC 5798 section 6.4.3).
    pub(crate) fn stop(&mut self, n: usize) {
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
        self.lvs_stop(n);
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

    /// The runner of node `n` (with a `read_cost`) reads the next frame waiting in its socket.
    pub(crate) fn read_next(&mut self, n: usize) {
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
    pub(crate) fn read_before_deciding(&mut self, n: usize) {
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
        let stall = node.last_stall;
        for t in node.insts.iter_mut() {
            if t.state == State::Backup && t.model.extend(local, node.lost_at[t.iface], stall) {
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
    pub(crate) fn resume(&mut self, n: usize) {
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

    /// The engine of node `n` is about to get `Input::Start`.
    pub(crate) fn started(&mut self, n: usize) {
        let local = self.nodes[n].local(self.now);
        for t in self.nodes[n].insts.iter_mut() {
            t.model.started(local);
        }
    }

    /// The trace lane of node `n`'s instance `id` (its index among the node's instance names).
    pub(crate) fn lane(&self, n: usize, id: InstanceId) -> u32 {
        self.nodes[n]
            .insts
            .get(id.0 as usize)
            .map_or(id.0, |t| t.lane)
    }

    pub(crate) fn engine_iface(&self, n: usize, id: IfaceId) -> usize {
        self.nodes[n]
            .by_engine_iface
            .get(usize::from(id.0))
            .copied()
            .unwrap_or(0)
    }

    /// Liveness groups (one per segment, family and VRID) from every node's instances as
    /// configured now.
    pub(crate) fn regroup(&mut self) {
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
}

/// Which node interface each engine interface id is, and each node interface's engine id (at
/// boot, and after a reload, which may number them anew).
pub(crate) fn map_interfaces(
    by_engine_iface: &mut Vec<usize>,
    ifaces: &mut [NodeIface],
    engine: &Engine,
) {
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

impl Sim {
    /// A frame reaches node `node`'s interface `iface`: handed to the engine now, or, when the
    /// runner is not reading (a frozen process, or still busy with a burst), kept in the socket
    /// buffer, which holds `socket_buffer` frames; the rest is lost, and the runner tells the
    /// engine before its next decision (`Input::ReceiveQueue`).
    pub(crate) fn arrive(&mut self, node: usize, iface: usize, frame: Rc<Frame>) {
        let nd = &self.nodes[node];
        let stalled = nd.stalled_until > self.now;
        if stalled
            || (nd.read_cost > 0 && (nd.busy_until > self.now || !nd.stall_buffer.is_empty()))
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
            self.nodes[node].busy_until = self.now.saturating_add(self.nodes[node].read_cost);
            self.deliver(node, iface, &frame);
            if Rc::strong_count(&frame) == 1 {
                self.spare_frames.push(frame);
            }
        }
    }
}
