//! Resolving a scenario's fault schedule: each fault's names (nodes, interfaces, segments,
//! instances, scripts, files) checked and turned into indices; a `flap` expanded.

use super::*;

impl Scenario {
    /// The fault schedule, resolved against the nodes (unsorted).
    // One arm per fault kind, each resolving its fields: a flat dispatch read top to bottom.
    pub(super) fn plan_faults(
        &self,
        segments: &[SegmentPlan],
        nodes: &[NodePlan],
    ) -> Result<Vec<FaultPlan>, PlanError> {
        let seg_index = |name: &Option<String>| -> Result<usize, PlanError> {
            match name {
                None => Ok(0),
                Some(n) => segments
                    .iter()
                    .position(|s| &s.name == n)
                    .ok_or_else(|| PlanError(format!("no segment named {n}"))),
            }
        };
        let node_index = |name: &str| -> Result<usize, PlanError> {
            self.nodes
                .iter()
                .position(|n| n.name == name)
                .ok_or_else(|| PlanError(format!("no node named {name}")))
        };
        let mut faults = Vec::new();
        for (fi, f) in self.faults.iter().enumerate() {
            let ctx = |e: PlanError| {
                PlanError(format!("fault {} ({:?} at {}): {e}", fi + 1, f.kind, f.at))
            };
            let need_node = || -> Result<usize, PlanError> {
                match &f.node {
                    Some(n) => node_index(n),
                    None => err("needs node"),
                }
            };
            let iface_of = |node: usize| -> Result<usize, PlanError> {
                match &f.iface {
                    None => Ok(0),
                    Some(name) => nodes[node]
                        .ifaces
                        .iter()
                        .position(|i| &i.name == name)
                        .ok_or_else(|| PlanError(format!("node has no interface {name}"))),
                }
            };
            let at = f.at.0;
            let mut push = |at: u64, action: FaultAction| {
                faults.push(FaultPlan {
                    at,
                    action,
                    source: fi,
                })
            };
            match f.kind {
                FaultKind::Crash => push(at, FaultAction::Crash(need_node().map_err(ctx)?)),
                FaultKind::Restart => push(at, FaultAction::Restart(need_node().map_err(ctx)?)),
                FaultKind::Stop => push(at, FaultAction::Stop(need_node().map_err(ctx)?)),
                FaultKind::Start => push(at, FaultAction::Start(need_node().map_err(ctx)?)),
                FaultKind::LinkDown | FaultKind::LinkUp => {
                    let node = need_node().map_err(ctx)?;
                    let iface = iface_of(node).map_err(ctx)?;
                    let up = f.kind == FaultKind::LinkUp;
                    push(at, FaultAction::Link { node, iface, up });
                }
                FaultKind::Flap => {
                    let node = need_node().map_err(ctx)?;
                    let iface = iface_of(node).map_err(ctx)?;
                    let (Some(period), Some(until)) = (f.period, f.until) else {
                        return Err(ctx(PlanError("flap needs period and until".into())));
                    };
                    if period.0 == 0 {
                        return Err(ctx(PlanError("flap period must be > 0".into())));
                    }
                    let mut t = at;
                    let mut up = false;
                    while t < until.0 {
                        push(t, FaultAction::Link { node, iface, up });
                        up = !up;
                        t = t.saturating_add(period.0);
                    }
                    if up {
                        push(
                            until.0,
                            FaultAction::Link {
                                node,
                                iface,
                                up: true,
                            },
                        );
                    }
                }
                FaultKind::Reload => {
                    let node = need_node().map_err(ctx)?;
                    let Some(text) = &f.keepalived_conf else {
                        return Err(ctx(PlanError("reload needs keepalived_conf".into())));
                    };
                    let refused = f.refused.unwrap_or(false);
                    let config = crate::confload::engine_config(text).map(Box::new);
                    match &config {
                        Err(e) if !refused => {
                            return Err(ctx(PlanError(format!("keepalived_conf: {e}"))));
                        }
                        Err(_) => {}
                        Ok(c) => {
                            let was = &nodes[node].config;
                            let names = |v: &mut Vec<String>| {
                                v.sort();
                                v.clone()
                            };
                            let same_checks =
                                names(&mut c.scripts.iter().map(|x| x.name.clone()).collect())
                                    == names(
                                        &mut was.scripts.iter().map(|x| x.name.clone()).collect(),
                                    )
                                    && names(
                                        &mut c.track_files.iter().map(|x| x.name.clone()).collect(),
                                    ) == names(
                                        &mut was
                                            .track_files
                                            .iter()
                                            .map(|x| x.name.clone())
                                            .collect(),
                                    );
                            if !same_checks {
                                return Err(ctx(PlanError(
                                    "reload: the vrrp_script and track_file names must stay the \
                                     same (the simulated runner keeps its checks)"
                                        .into(),
                                )));
                            }
                            for inst in &c.instances {
                                if !nodes[node].ifaces.iter().any(|i| i.name == inst.interface) {
                                    return Err(ctx(PlanError(format!(
                                        "reload: instance {} runs on {}, which the node does not \
                                         have",
                                        inst.name, inst.interface
                                    ))));
                                }
                            }
                        }
                    }
                    push(
                        at,
                        FaultAction::Reload {
                            node,
                            config,
                            refused,
                        },
                    );
                }
                FaultKind::Stall => {
                    let node = need_node().map_err(ctx)?;
                    let Some(until) = f.until.filter(|u| u.0 > at) else {
                        return Err(ctx(PlanError("stall needs until, after at".into())));
                    };
                    push(at, FaultAction::Stall(node, until.0));
                    push(until.0, FaultAction::Resume(node));
                }
                FaultKind::Partition => {
                    let segment = seg_index(&f.segment).map_err(ctx)?;
                    let Some(groups) = &f.groups else {
                        return Err(ctx(PlanError("partition needs groups".into())));
                    };
                    let mut side = vec![groups.len(); self.nodes.len()];
                    for (gi, g) in groups.iter().enumerate() {
                        for name in g {
                            side[node_index(name).map_err(ctx)?] = gi;
                        }
                    }
                    push(at, FaultAction::Partition { segment, side });
                }
                FaultKind::Block => {
                    let segment = seg_index(&f.segment).map_err(ctx)?;
                    let (Some(from), Some(to)) = (&f.from, &f.to) else {
                        return Err(ctx(PlanError("block needs from and to".into())));
                    };
                    let from = node_index(from).map_err(ctx)?;
                    let to = node_index(to).map_err(ctx)?;
                    push(at, FaultAction::Block { segment, from, to });
                }
                FaultKind::Heal => {
                    let seg = match &f.segment {
                        None => None,
                        s => Some(seg_index(s).map_err(ctx)?),
                    };
                    push(at, FaultAction::Heal(seg));
                }
                FaultKind::Network => {
                    let seg = match &f.segment {
                        None => None,
                        s => Some(seg_index(s).map_err(ctx)?),
                    };
                    let Some(model) = &f.network else {
                        return Err(ctx(PlanError("network needs a network table".into())));
                    };
                    NetworkSpec::default()
                        .overridden_by(model)
                        .resolve()
                        .map_err(ctx)?;
                    push(at, FaultAction::Network(seg, model.clone()));
                }
                FaultKind::SetPriority => {
                    let node = need_node().map_err(ctx)?;
                    let instance = match &f.instance {
                        Some(i) => i.clone(),
                        None => match nodes[node].config.instances.first() {
                            Some(i) => i.name.clone(),
                            None => return Err(ctx(PlanError("node has no instance".into()))),
                        },
                    };
                    let Some(priority) = f.priority else {
                        return Err(ctx(PlanError("set_priority needs priority".into())));
                    };
                    if priority == 0 {
                        return Err(ctx(PlanError("priority 0 is reserved".into())));
                    }
                    if !nodes[node]
                        .config
                        .instances
                        .iter()
                        .any(|i| i.name == instance)
                    {
                        return Err(ctx(PlanError(format!("node has no instance {instance}"))));
                    }
                    push(
                        at,
                        FaultAction::SetPriority {
                            node,
                            instance,
                            priority,
                        },
                    );
                }
                FaultKind::Check => {
                    let node = need_node().map_err(ctx)?;
                    let Some(script) = f.script.clone() else {
                        return Err(ctx(PlanError("check needs script".into())));
                    };
                    if !nodes[node].config.scripts.iter().any(|s| s.name == script) {
                        return Err(ctx(PlanError(format!("no script named {script}"))));
                    }
                    use vigil_engine::io::CheckResult;
                    let result = match f.result.as_deref() {
                        Some("ok") => CheckResult::Success,
                        Some("fail") => CheckResult::Failure,
                        Some("timeout") => CheckResult::Timeout,
                        _ => {
                            return Err(ctx(PlanError(
                                "check needs result = ok, fail or timeout".into(),
                            )))
                        }
                    };
                    push(
                        at,
                        FaultAction::Check {
                            node,
                            script,
                            result,
                        },
                    );
                }
                FaultKind::TrackFile => {
                    let node = need_node().map_err(ctx)?;
                    let (Some(file), Some(value)) = (f.file.clone(), f.value) else {
                        return Err(ctx(PlanError("track_file needs file and value".into())));
                    };
                    if !nodes[node]
                        .config
                        .track_files
                        .iter()
                        .any(|s| s.name == file)
                    {
                        return Err(ctx(PlanError(format!("no track file named {file}"))));
                    }
                    push(at, FaultAction::TrackFile { node, file, value });
                }
                FaultKind::Server => {
                    let Some(text) = &f.server else {
                        return Err(ctx(PlanError(
                            "server needs server = \"ADDRESS:PORT\"".into(),
                        )));
                    };
                    let addr: std::net::SocketAddr = text.parse().map_err(|e| {
                        ctx(PlanError(format!("server {text}: not ADDRESS:PORT ({e})")))
                    })?;
                    let known = nodes
                        .iter()
                        .filter_map(|n| n.checkers.as_ref())
                        .any(|c| crate::world::lvs::targets(c).contains(&addr));
                    if !known {
                        return Err(ctx(PlanError(format!(
                            "no health checker of any node reaches server {addr}"
                        ))));
                    }
                    let exit = f.exit.unwrap_or(0);
                    let health = match f.health.as_deref() {
                        Some("up") => ServerHealth::Up(exit),
                        Some("down") => ServerHealth::Down,
                        Some("hanging") => ServerHealth::Hanging,
                        Some("slow") => match f.delay {
                            Some(d) => ServerHealth::Slow(d.0, exit),
                            None => return Err(ctx(PlanError("slow needs delay".into()))),
                        },
                        Some("flapping") => {
                            let (Some(period), Some(until)) = (f.period, f.until) else {
                                return Err(ctx(PlanError(
                                    "flapping needs period and until".into(),
                                )));
                            };
                            if period.0 == 0 {
                                return Err(ctx(PlanError("flapping period must be > 0".into())));
                            }
                            let mut t = at;
                            let mut up = false;
                            while t < until.0 {
                                let health = if up {
                                    ServerHealth::Up(exit)
                                } else {
                                    ServerHealth::Down
                                };
                                push(t, FaultAction::Server { addr, health });
                                up = !up;
                                t = t.saturating_add(period.0);
                            }
                            if up {
                                push(
                                    until.0,
                                    FaultAction::Server {
                                        addr,
                                        health: ServerHealth::Up(exit),
                                    },
                                );
                            }
                            continue;
                        }
                        _ => {
                            return Err(ctx(PlanError(
                                "server needs health = up, down, slow, hanging or flapping".into(),
                            )))
                        }
                    };
                    push(at, FaultAction::Server { addr, health });
                }
                FaultKind::Inject => {
                    let node = need_node().map_err(ctx)?;
                    let instances = &nodes[node].config.instances;
                    let instance =
                        match &f.instance {
                            None if instances.is_empty() => {
                                return Err(ctx(PlanError("node has no instance".into())))
                            }
                            None => 0,
                            Some(name) => instances
                                .iter()
                                .position(|i| &i.name == name)
                                .ok_or_else(|| {
                                    ctx(PlanError(format!("node has no instance {name}")))
                                })?,
                        };
                    let Some(defect) = f.defect else {
                        return Err(ctx(PlanError("inject needs defect".into())));
                    };
                    let v2 = instances[instance].version == vigil_engine::wire::Version::V2;
                    if matches!(defect, Defect::Interval | Defect::Auth | Defect::AuthType) && !v2 {
                        return Err(ctx(PlanError(
                            "defects interval, auth and auth_type are VRRPv2 checks".into(),
                        )));
                    }
                    if defect == Defect::LinkLocalFirst
                        && instances[instance].family != vigil_engine::wire::Family::V6
                    {
                        return Err(ctx(PlanError("link_local_first is for IPv6".into())));
                    }
                    let from = match &f.from {
                        Some(name) => Some(node_index(name).map_err(ctx)?),
                        None => None,
                    };
                    push(
                        at,
                        FaultAction::Inject {
                            node,
                            from,
                            instance,
                            defect,
                        },
                    );
                }
            }
        }
        Ok(faults)
    }
}
