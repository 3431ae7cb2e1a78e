//! Loading the configuration at start and on SIGHUP: parse, convert, and on reload hand the
//! engine the new configuration while keeping what did not change.

use super::*;

/// Read, parse and convert the configuration; every problem is logged (parse errors with
/// file:line:column) and gives `None`.
pub(super) fn load(src: &ConfigSource<'_>) -> Option<Loaded> {
    // The same load as `vigild -t` (src/load.rs): what one refuses, the other refuses. The
    // system's macvlans as they are now (a garp_group naming one is ignored, as in -t).
    let mut options = src.options.clone();
    options.vlan_interfaces = crate::netlink::vlan_interfaces();
    let report = crate::load::load(&src.path, src.loader, &options, src.subsystems);
    for d in &report.diagnostics {
        match d.severity {
            conf::Severity::Error => error!("{d}"),
            _ => warn!("{d}"),
        }
    }
    let loaded = report.loaded?;
    // keepalived 2.2.7 resolves the interfaces of routes, nexthops and rules as it reads the
    // file; one that does not exist stops it ("Non-existent interface specified in
    // configuration"). At start vigild refuses the same way; on SIGHUP keepalived's
    // VRRP process would stop too, vigild refuses the reload and keeps running (the caller).
    let missing = crate::load::missing_route_interfaces(&loaded.cfg, crate::load::interface_exists);
    if !missing.is_empty() {
        for d in &missing {
            error!("{d}");
        }
        error!("non-existent interface specified in configuration");
        return None;
    }
    Some(loaded)
}

impl Daemon {
    /// SIGHUP: read the configuration again and hand it to [`Engine::reload`]. A configuration
    /// that does not parse, convert or set up is refused with its errors logged, and the
    /// running one is left exactly as it was.
    pub(super) fn reload(&mut self, src: &ConfigSource<'_>) {
        let _ = sd_notify::reloading();
        info!("SIGHUP: reloading {}", src.path);
        let result = self.try_reload(src);
        if result.is_ok() {
            self.promote_secondaries();
        }
        match result {
            Ok(()) => info!(
                "reloaded: {} instance(s) on {} interface(s)",
                self.engine.instances().count(),
                self.ifaces.len()
            ),
            Err(why) => error!("reload refused ({why}): the running configuration is kept"),
        }
        if let Err(e) = sd_notify::ready(&self.status_line()) {
            warn!("sd_notify: {e}");
        }
    }

    pub(super) fn try_reload(&mut self, src: &ConfigSource<'_>) -> Result<(), String> {
        let loaded = load(src).ok_or("configuration errors")?;
        self.local_igmp_on_reload(loaded.cfg.global.disable_local_igmp);
        let vips: HashSet<IpAddr> = loaded.engine.virtual_addresses().collect();
        // The engine may give the routers that stop ids that the new configuration reuses:
        // their names are taken now.
        let old_names: Vec<(vigil_engine::InstanceId, String, u8)> = self
            .engine
            .instances()
            .map(|v| (v.id(), v.name().to_string(), v.priority()))
            .collect();
        // Where each MASTER's addresses (excluded ones too) are now (its macvlan, or its
        // interface): a reload that adds or removes its `use_vmac` moves them (below).
        let old_homes: Vec<(String, String, Vec<VirtualAddress>)> = self
            .engine
            .instances()
            .filter(|v| v.holds_addresses())
            .map(|v| {
                let home = match self.vmacs.get(v.name()) {
                    Some(m) => m.spec.name.clone(),
                    None => v.config().interface.clone(),
                };
                let c = v.config();
                let addrs = c.virtual_addresses.iter().chain(&c.excluded_addresses);
                (v.name().to_string(), home, addrs.cloned().collect())
            })
            .collect();
        let now = self.clock.now();
        let stopped = self
            .engine
            .reload_returning_stopped(now, loaded.engine)
            .map_err(|e| e.to_string())?;
        self.lvs_sync.reload(&loaded.cfg, &self.engine);
        match self.checkers.as_mut() {
            Some(c) => c.reload(now, &loaded.cfg),
            None => match crate::checker::CheckerRunner::new(&loaded.cfg, Some(&self.pid_file)) {
                Ok(c) => {
                    self.set_checkers(c);
                    self.checkers.iter_mut().for_each(|c| c.start(now));
                }
                Err(e) => error!("cannot start the health checkers: {e}"),
            },
        }
        // 1. The routers that stop (removed, or changed beyond being the same router), against
        //    the old interface table: priority 0, addresses removed.
        for a in stopped {
            match a {
                Action::StateChange {
                    instance,
                    from,
                    to,
                    priority,
                    reason,
                } => {
                    let name = old_names
                        .iter()
                        .find(|(id, _, _)| *id == instance)
                        .map_or("?", |(_, n, _)| n.as_str());
                    info!("({name}) {from} -> {to}: {reason} (priority {priority}), not in the new configuration");
                    // keepalived reports a router removed by a reload as FAULT, or DELETED
                    // with `notify_deleted`: never as a STOP of the running daemon.
                    if let Some(op) = self.operator.as_mut() {
                        op.on_deleted(name, priority);
                    }
                }
                other => self.act(other),
            }
        }
        self.flush_adverts();
        // 2. The operator side of the new configuration (notify programs, FIFOs, e-mail),
        //    before the new configuration's first action; queued notifications still run in
        //    order, the status socket stays. Instances whose name is gone are reported deleted.
        if let Some(op) = self.operator.as_mut() {
            for (_, name, priority) in &old_names {
                if self.engine.instance_id(name).is_none() {
                    op.on_deleted(name, *priority);
                }
            }
            op.reload(&loaded.cfg);
        }
        // 3. Interfaces by name: sockets of those still used kept, new ones opened.
        self.vips = vips;
        self.set_vmacs(loaded.vmacs);
        self.move_addresses_home(&old_homes);
        self.rebuild_interfaces();
        if let Err(e) = self.resync() {
            error!("cannot re-read interfaces: {e}");
        }
        // 4. Check programs and tracked files of the new configuration. A check of the same
        //    name keeps its run under way, watched again under its new index (the engine kept
        //    its schedule and waits for that run's result).
        for (idx, fd) in self.checks.reload(&loaded.cfg) {
            let _ = self.ep.delete(fd);
            if let Err(e) = self.ep.add(fd, TOKEN_CHECK_BASE + idx as u64) {
                warn!("cannot watch a check program: {e}");
            }
        }
        if let Some(fd) = self.track_files.raw_fd() {
            let _ = self.ep.delete(fd);
        }
        self.track_files = TrackFiles::new(&loaded.cfg);
        if let Some(fd) = self.track_files.raw_fd() {
            if let Err(e) = self.ep.add(fd, TOKEN_TRACK_FILES) {
                warn!("cannot watch tracked files: {e}");
            }
        }
        self.set_track_processes(TrackProcesses::new(&loaded.cfg));
        self.shutdown_script = crate::start_stop::StartStop::shutdown(&loaded.cfg);
        // 5. What the reload asks (address differences of kept masters, new routers starting),
        //    then the facts of new interfaces and the files' values.
        self.drain();
        self.reconcile_statics(loaded.statics.unwrap_or_default());
        if let Err(e) = self.resync() {
            error!("cannot re-read interfaces: {e}");
        }
        self.report_interfaces();
        for (file, value) in self.track_files.all() {
            self.engine
                .handle_input(self.clock.now(), Input::TrackFile { file, value });
            self.drain();
        }
        let states = self.track_processes.start(self.clock.now());
        self.feed_track_processes(states);
        Ok(())
    }

    /// After a reload: a MASTER whose addresses' interface changed (`use_vmac` added or
    /// removed) gets them on the new one; the engine's own address differences then apply
    /// there. Addresses with their own `dev` stay where they are.
    pub(super) fn move_addresses_home(
        &mut self,
        old_homes: &[(String, String, Vec<VirtualAddress>)],
    ) {
        for (name, old_home, vips) in old_homes {
            let Some(v) = self
                .engine
                .instance_id(name)
                .and_then(|id| self.engine.instance(id))
            else {
                continue;
            };
            if !v.holds_addresses() {
                continue;
            }
            let new_home = match self.vmacs.get(name) {
                Some(m) => m.spec.name.clone(),
                None => v.config().interface.clone(),
            };
            if &new_home == old_home {
                continue;
            }
            let router = v.announce_router_flag();
            info!("({name}) addresses move from {old_home} to {new_home}");
            for a in vips.iter().filter(|a| a.dev.is_none()) {
                match self.target_on(old_home, a) {
                    Some((dev, idx)) => self.remove_address_at(dev, idx, a),
                    // A macvlan deleted by the reload took its addresses with it.
                    None => self.addrs.remove(&Recorded {
                        ifname: old_home.clone(),
                        addr: a.addr,
                        prefix_len: a.prefix_len,
                        peer: a.peer,
                    }),
                }
                if let Some((dev, idx)) = self.target_on(&new_home, a) {
                    self.add_address_at(dev.clone(), idx, a);
                    self.announce_at(dev, idx, a, router);
                }
            }
        }
    }
}
