//! Resolving a scenario into a [`Plan`]: segments, interfaces, engine configurations, faults,
//! expectations, each checked and named in its error.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil_engine::wire::{Auth, ChecksumPolicy, Family, Version};
use vigil_engine::{EngineConfig, InstanceConfig, State, VirtualAddress};

use super::*;
use crate::dur::Dur;

impl Scenario {
    /// Parse a scenario file.
    pub fn from_toml(text: &str) -> Result<Scenario, PlanError> {
        toml::from_str(text).map_err(|e| PlanError(format!("scenario file: {e}")))
    }

    /// The scenario as TOML (explore writes its shrunk reproductions this way).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
    }

    /// Resolve names, defaults and templates; check every engine configuration.
    pub fn plan(&self) -> Result<Plan, PlanError> {
        if self.nodes.is_empty() {
            return err("a scenario needs at least one node");
        }
        let segments = self.plan_segments()?;
        let node_ifaces = self.plan_ifaces(&segments)?;
        let nodes = self.plan_nodes(&node_ifaces)?;
        let mut faults = self.plan_faults(&segments, &nodes)?;
        faults.sort_by_key(|f| f.at);
        self.refuse_faults_while_stalled(&faults)?;
        refuse_on_directors(&faults, &nodes)?;
        let expects = self.plan_expects(&nodes)?;
        Ok(Plan {
            name: self.name.clone(),
            duration: self.duration.0,
            seed: self.seed.unwrap_or(1),
            segments,
            nodes,
            faults,
            expects,
            checks: self.checks.clone(),
            server_latency: self.servers.latency.unwrap_or(Dur(1_000_000)).0,
            server_jitter: self.servers.jitter.unwrap_or(Dur::ZERO).0,
        })
    }

    /// The segments, each with its network model resolved (default: one segment `lan`).
    fn plan_segments(&self) -> Result<Vec<SegmentPlan>, PlanError> {
        let seg_specs = if self.segments.is_empty() {
            vec![SegmentSpec {
                name: "lan".into(),
                network: NetworkSpec::default(),
            }]
        } else {
            self.segments.clone()
        };
        let mut segments = Vec::new();
        for s in &seg_specs {
            if segments.iter().any(|p: &SegmentPlan| p.name == s.name) {
                return err(format!("two segments named {}", s.name));
            }
            let spec = self.network.overridden_by(&s.network);
            let model = spec
                .resolve()
                .map_err(|e| PlanError(format!("segment {}: {e}", s.name)))?;
            segments.push(SegmentPlan {
                name: s.name.clone(),
                spec,
                model,
            });
        }
        Ok(segments)
    }

    /// Each node's interfaces, before any configuration (unicast peers may name other nodes).
    fn plan_ifaces(&self, segments: &[SegmentPlan]) -> Result<Vec<Vec<IfacePlan>>, PlanError> {
        let seg_index = |name: &Option<String>| -> Result<usize, PlanError> {
            match name {
                None => Ok(0),
                Some(n) => segments
                    .iter()
                    .position(|s| &s.name == n)
                    .ok_or_else(|| PlanError(format!("no segment named {n}"))),
            }
        };
        let mut node_ifaces: Vec<Vec<IfacePlan>> = Vec::new();
        for (ni, n) in self.nodes.iter().enumerate() {
            if self.nodes[..ni].iter().any(|m| m.name == n.name) {
                return err(format!("two nodes named {}", n.name));
            }
            let default_octet = u8::try_from(11 + ni).unwrap_or(255);
            let specs = if n.interfaces.is_empty() {
                vec![IfaceSpec {
                    name: "eth0".into(),
                    segment: None,
                    ipv4: Some(n.ipv4.unwrap_or(Ipv4Addr::new(192, 0, 2, default_octet))),
                    ipv6: Some(n.ipv6.unwrap_or(Ipv6Addr::new(
                        0xfe80,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        u16::from(default_octet),
                    ))),
                    mac: None,
                }]
            } else {
                n.interfaces.clone()
            };
            let mut ifaces = Vec::new();
            for (ii, s) in specs.iter().enumerate() {
                let mac = match &s.mac {
                    Some(m) => parse_mac(m).ok_or_else(|| {
                        PlanError(format!("node {}: bad MAC address {m}", n.name))
                    })?,
                    None => [
                        0x02,
                        0,
                        0,
                        0,
                        u8::try_from(ii).unwrap_or(255),
                        u8::try_from(ni + 1).unwrap_or(255),
                    ],
                };
                ifaces.push(IfacePlan {
                    name: s.name.clone(),
                    segment: seg_index(&s.segment)
                        .map_err(|e| PlanError(format!("node {}: {e}", n.name)))?,
                    ipv4: s.ipv4,
                    ipv6: s.ipv6,
                    mac,
                });
            }
            node_ifaces.push(ifaces);
        }
        Ok(node_ifaces)
    }

    /// Each node's engine configuration (keepalived.conf, or the templates and overrides).
    fn plan_nodes(&self, node_ifaces: &[Vec<IfacePlan>]) -> Result<Vec<NodePlan>, PlanError> {
        let mut nodes = Vec::new();
        for (ni, n) in self.nodes.iter().enumerate() {
            let ifaces = node_ifaces[ni].clone();
            let mut checkers = None;
            let mut notify_scripts = NotifyScripts::default();
            let config = if let Some(text) = &n.keepalived_conf {
                if !n.instances.is_empty() {
                    return err(format!(
                        "node {}: give either keepalived_conf or instances, not both",
                        n.name
                    ));
                }
                let loaded = crate::confload::load(text)
                    .map_err(|e| PlanError(format!("node {}: keepalived_conf: {e}", n.name)))?;
                checkers = loaded.checkers;
                notify_scripts = loaded.notify_scripts;
                loaded.engine
            } else {
                let mut specs: Vec<InstanceSpec> = Vec::new();
                // Templates, with this node's overrides by name.
                for t in &self.instances {
                    let over = n.instances.iter().find(|i| i.name == t.name);
                    let mut s = match over {
                        Some(o) => o.over(t),
                        None => t.clone(),
                    };
                    // Priority: the node's override, else the node's shorthand, else the
                    // template's.
                    s.priority = over.and_then(|o| o.priority).or(n.priority).or(t.priority);
                    specs.push(s);
                }
                for i in &n.instances {
                    if !self.instances.iter().any(|t| t.name == i.name) {
                        let mut s = i.clone();
                        s.priority = s.priority.or(n.priority);
                        specs.push(s);
                    }
                }
                let mut instances = Vec::new();
                for s in &specs {
                    instances.push(
                        instance_config(s, &ifaces, node_ifaces, &self.nodes)
                            .map_err(|e| PlanError(format!("node {}: {e}", n.name)))?,
                    );
                }
                let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
                let sync_groups = self
                    .sync_groups
                    .iter()
                    .filter(|g| g.members.iter().all(|m| names.contains(&m.as_str())))
                    .map(|g| vigil_engine::setup::SyncGroupConfig {
                        name: g.name.clone(),
                        members: g.members.clone(),
                        tracking_weight: g.tracking_weight,
                    })
                    .collect();
                let scripts = self
                    .scripts
                    .iter()
                    .map(|s| vigil_engine::setup::ScriptConfig {
                        name: s.name.clone(),
                        interval: s.interval.unwrap_or(Dur::secs(1)).to_std(),
                        rise: s.rise.unwrap_or(1),
                        fall: s.fall.unwrap_or(1),
                        timeout: s.timeout.or(s.interval).unwrap_or(Dur::secs(1)).to_std(),
                        init_fail: s.init_fail,
                    })
                    .collect();
                let track_files = self
                    .track_files
                    .iter()
                    .map(|f| vigil_engine::setup::TrackFileConfig {
                        name: f.name.clone(),
                        initial: f.initial.unwrap_or(0),
                    })
                    .collect();
                EngineConfig {
                    instances,
                    sync_groups,
                    scripts,
                    track_files,
                    startup_delay: std::time::Duration::ZERO,
                    // Scenarios have no process events (yet): no instance tracks processes.
                    track_processes: Vec::new(),
                    link_delays: Vec::new(),
                    announce_gates: Default::default(),
                }
            };
            for inst in &config.instances {
                if !ifaces.iter().any(|i| i.name == inst.interface) {
                    return err(format!(
                        "node {}: instance {} runs on {}, which the node does not have",
                        n.name, inst.name, inst.interface
                    ));
                }
            }
            vigil_engine::Engine::new(config.clone())
                .map_err(|e| PlanError(format!("node {}: {e}", n.name)))?;
            if n.socket_buffer == Some(0) {
                return err(format!(
                    "node {}: socket_buffer must hold at least 1 frame",
                    n.name
                ));
            }
            if n.drift_ppm <= -1_000_000 || n.drift_ppm > 1_000_000 {
                return err(format!(
                    "node {}: drift_ppm must be in -999999..=1000000",
                    n.name
                ));
            }
            nodes.push(NodePlan {
                name: n.name.clone(),
                ifaces,
                config,
                boot: if n.down {
                    None
                } else {
                    Some(n.boot.unwrap_or(Dur::ZERO).0)
                },
                clock_offset: n.clock_offset.unwrap_or(Dur::ZERO).0,
                drift_ppm: n.drift_ppm,
                socket_buffer: usize::try_from(n.socket_buffer.unwrap_or(256)).unwrap_or(256),
                read_cost: n.read_cost.unwrap_or(Dur::ZERO).0,
                checkers,
                notify_scripts,
            });
        }
        Ok(nodes)
    }

    /// Nothing but a crash reaches a frozen process: refuse faults the simulator would have to hand to a stalled engine.
    fn refuse_faults_while_stalled(&self, faults: &[FaultPlan]) -> Result<(), PlanError> {
        for w in faults {
            let (FaultAction::Stall(n, until), from) = (&w.action, w.at) else {
                continue;
            };
            let until = *until;
            for f in faults {
                let on_node = match &f.action {
                    FaultAction::Restart(k)
                    | FaultAction::Stop(k)
                    | FaultAction::Start(k)
                    | FaultAction::Link { node: k, .. }
                    | FaultAction::SetPriority { node: k, .. }
                    | FaultAction::Reload { node: k, .. }
                    | FaultAction::TrackFile { node: k, .. }
                    | FaultAction::Inject { node: k, .. } => *k == *n,
                    FaultAction::Stall(k, _) | FaultAction::Resume(k) => {
                        *k == *n && f.source != w.source
                    }
                    _ => false,
                };
                if on_node && f.at >= from && f.at <= until {
                    return Err(PlanError(format!(
                        "fault {}: node {} is stalled from {} to {} (fault {}); only a crash can \
                         reach a frozen process",
                        f.source + 1,
                        self.nodes[*n].name,
                        Dur(from),
                        Dur(until),
                        w.source + 1
                    )));
                }
            }
        }
        Ok(())
    }

    /// The expectations, resolved against the nodes, each with its text.
    fn plan_expects(&self, nodes: &[NodePlan]) -> Result<Vec<(Expect, String)>, PlanError> {
        let node_index = |name: &str| -> Result<usize, PlanError> {
            self.nodes
                .iter()
                .position(|n| n.name == name)
                .ok_or_else(|| PlanError(format!("no node named {name}")))
        };
        let first_instance = nodes
            .iter()
            .flat_map(|n| n.config.instances.iter())
            .map(|i| i.name.clone())
            .next()
            .unwrap_or_default();
        let mut expects = Vec::new();
        for (ei, e) in self.expect.iter().enumerate() {
            let ctx = |m: &str| PlanError(format!("expectation {}: {m}", ei + 1));
            let instance = e.instance.clone().unwrap_or_else(|| first_instance.clone());
            let node = match &e.node {
                Some(n) => Some(node_index(n)?),
                None => None,
            };
            let text = describe_expect(e, &instance);
            let x = if let Some(at) = e.at {
                if let Some(m) = &e.master {
                    let master = if m == "none" {
                        None
                    } else {
                        Some(node_index(m)?)
                    };
                    Expect::Master {
                        at: at.0,
                        instance,
                        master,
                    }
                } else if let Some(count) = e.masters {
                    Expect::Masters {
                        at: at.0,
                        instance,
                        count,
                    }
                } else if let Some(s) = &e.state {
                    let state = parse_state(s)
                        .ok_or_else(|| ctx("state is MASTER, BACKUP, FAULT or INIT"))?;
                    let node = node.ok_or_else(|| ctx("state needs node"))?;
                    Expect::State {
                        at: at.0,
                        instance,
                        node,
                        state,
                    }
                } else {
                    return Err(ctx("`at` needs master, masters or node + state"));
                }
            } else if e.max_transitions.is_some() || e.min_transitions.is_some() {
                Expect::Transitions {
                    from: e.from.unwrap_or(Dur::ZERO).0,
                    to: e.to.map_or(u64::MAX, |d| d.0),
                    node,
                    instance: e.instance.clone(),
                    min: e.min_transitions.unwrap_or(0),
                    max: e.max_transitions.unwrap_or(usize::MAX),
                }
            } else {
                return Err(ctx("give `at` (master, masters, state) or a window with max_transitions / min_transitions"));
            };
            expects.push((x, text));
        }
        Ok(expects)
    }
}

fn describe_expect(e: &ExpectSpec, instance: &str) -> String {
    if let Some(at) = e.at {
        if let Some(m) = &e.master {
            if m == "none" {
                return format!("at {at}: no MASTER of {instance}");
            }
            return format!("at {at}: {m} is the only MASTER of {instance}");
        }
        if let Some(c) = e.masters {
            return format!("at {at}: {c} MASTER(s) of {instance}");
        }
        return format!(
            "at {at}: {} {instance} is {}",
            e.node.as_deref().unwrap_or("?"),
            e.state.as_deref().unwrap_or("?")
        );
    }
    let from = e.from.unwrap_or(Dur::ZERO);
    let to = e.to.map_or("end".to_string(), |d| d.to_string());
    let who = e.node.as_deref().unwrap_or("all nodes");
    let what = e.instance.as_deref().unwrap_or("all instances");
    match (e.min_transitions, e.max_transitions) {
        (Some(a), Some(b)) if a == b => {
            format!("{from}..{to}: exactly {a} state changes ({who}, {what})")
        }
        (Some(a), Some(b)) => format!("{from}..{to}: {a}..={b} state changes ({who}, {what})"),
        (Some(a), None) => format!("{from}..{to}: at least {a} state changes ({who}, {what})"),
        (None, Some(b)) => format!("{from}..{to}: at most {b} state changes ({who}, {what})"),
        (None, None) => format!("{from}..{to}: ({who}, {what})"),
    }
}

/// keepalived's state names.
pub fn parse_state(s: &str) -> Option<State> {
    match s.to_ascii_uppercase().as_str() {
        "MASTER" => Some(State::Master),
        "BACKUP" => Some(State::Backup),
        "FAULT" => Some(State::Fault),
        "INIT" => Some(State::Init),
        _ => None,
    }
}

/// `02:00:00:00:00:01`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn instance_config(
    s: &InstanceSpec,
    ifaces: &[IfacePlan],
    all_ifaces: &[Vec<IfacePlan>],
    nodes: &[NodeSpec],
) -> Result<InstanceConfig, PlanError> {
    let name = s.name.clone().unwrap_or_else(|| "VI_1".into());
    let ctx = |m: String| PlanError(format!("instance {name}: {m}"));
    let Some(vip_texts) = &s.vips else {
        return Err(ctx("needs vips".into()));
    };
    let mut vips = Vec::new();
    for v in vip_texts {
        let (addr, prefix) = match v.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (v.as_str(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| ctx(format!("bad virtual address {v}")))?;
        let mut va = VirtualAddress::new(addr);
        if let Some(p) = prefix {
            va.prefix_len = p
                .parse()
                .map_err(|_| ctx(format!("bad prefix length in {v}")))?;
        }
        vips.push(va);
    }
    let family = vips
        .first()
        .map(|v| Family::of(&v.addr))
        .unwrap_or(Family::V4);
    let version = match s.version.unwrap_or(3) {
        2 => Version::V2,
        3 => Version::V3,
        v => return Err(ctx(format!("version {v}: 2 or 3"))),
    };
    let interface = s.interface.clone().unwrap_or_else(|| "eth0".into());
    let mut cfg = InstanceConfig::new(&name, &interface, s.vrid.unwrap_or(51), version, family);
    cfg.virtual_addresses = vips;
    cfg.priority = s.priority.unwrap_or(vigil_engine::setup::DEFAULT_PRIORITY);
    cfg.advert_interval = s.advert_interval.unwrap_or(Dur::secs(1)).to_std();
    cfg.preempt = s.preempt.unwrap_or(true);
    cfg.preempt_delay = s.preempt_delay.unwrap_or(Dur::ZERO).to_std();
    if let Some(p) = &s.auth_pass {
        cfg.auth = Auth::simple(p.as_bytes());
    }
    if let Some(c) = &s.checksum {
        cfg.checksum_policy = match c.as_str() {
            "rfc" => ChecksumPolicy::Rfc,
            "v3-plain" => ChecksumPolicy::V3Plain,
            "either" => ChecksumPolicy::Either,
            _ => return Err(ctx(format!("checksum {c}: rfc, v3-plain or either"))),
        };
    }
    if let Some(b) = s.advert_on_lower_priority {
        cfg.advert_on_lower_priority = b;
    }
    for t in s.track.iter().flatten() {
        use vigil_engine::setup::{Track, TrackTarget};
        let target = match (&t.interface, &t.script, &t.file) {
            (Some(i), None, None) => TrackTarget::Interface(i.clone()),
            (None, Some(sc), None) => TrackTarget::Script(sc.clone()),
            (None, None, Some(f)) => TrackTarget::File(f.clone()),
            _ => {
                return Err(ctx(
                    "each track entry names one interface, script or file".into()
                ))
            }
        };
        cfg.track.push(Track {
            target,
            weight: t.weight.unwrap_or(0),
            reverse: t.reverse,
        });
    }
    if let Some(peers) = &s.unicast_peers {
        let segment = ifaces
            .iter()
            .find(|i| i.name == interface)
            .map(|i| i.segment);
        for p in peers {
            let addr = match p.parse::<IpAddr>() {
                Ok(a) => a,
                Err(_) => {
                    let ni = nodes
                        .iter()
                        .position(|n| &n.name == p)
                        .ok_or_else(|| ctx(format!("unicast peer {p}: no such address or node")))?;
                    let on_seg = all_ifaces[ni]
                        .iter()
                        .find(|i| Some(i.segment) == segment)
                        .ok_or_else(|| ctx(format!("unicast peer {p}: not on this segment")))?;
                    match family {
                        Family::V4 => on_seg.ipv4.map(IpAddr::V4),
                        Family::V6 => on_seg.ipv6.map(IpAddr::V6),
                    }
                    .ok_or_else(|| ctx(format!("unicast peer {p}: no {family} address")))?
                }
            };
            cfg.unicast_peers.push(addr);
        }
    }
    Ok(cfg)
}

/// Group instances of a plan by name, in first-seen order (the virtual routers).
pub fn instance_names(plan: &Plan) -> Vec<String> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for n in &plan.nodes {
        for i in &n.config.instances {
            if seen.insert(i.name.clone(), ()).is_none() {
                out.push(i.name.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;

/// Faults the simulator does not carry out on a node that runs health checkers: a stall (the
/// checker runner would have to freeze with the engine) and a reload (`CheckInput::Reload`
/// renumbers checkers; not simulated yet). Refused by name.
fn refuse_on_directors(faults: &[FaultPlan], nodes: &[NodePlan]) -> Result<(), PlanError> {
    for f in faults {
        let (n, what) = match &f.action {
            FaultAction::Stall(n, _) => (*n, "stall"),
            FaultAction::Reload { node, .. } => (*node, "reload"),
            FaultAction::SetPriority { node, .. } => (*node, "set_priority"),
            _ => continue,
        };
        if nodes[n].checkers.is_some() {
            return err(format!(
                "fault {}: {what} of node {}, which runs health checkers, is not simulated",
                f.source + 1,
                nodes[n].name
            ));
        }
    }
    Ok(())
}
