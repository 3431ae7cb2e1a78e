//! Loading the configuration at start and on SIGHUP: parse, convert, and on reload hand the
//! engine the new configuration while keeping what did not change.

use super::*;

/// How far the engine's next deadline (an advert batch, a Master_Down_Timer) must be for a
/// SIGHUP's reload to run at once: re-reading 1,000 instances takes 15-35 ms here, and a
/// deadline inside it would be served that late (masters of more than 128 instances per
/// interval fall due at several phases of it: at 1,000 x 1 s, every 125 ms). A closer
/// deadline is served first and the reload follows it, so that it runs in the longest gap the
/// schedule has.
pub(super) const RELOAD_CLEARANCE: std::time::Duration = std::time::Duration::from_millis(50);

/// When a SIGHUP's reload runs, at `now`, given the engine's next deadline: `None` at once (no
/// deadline, or one at least [`RELOAD_CLEARANCE`] away), otherwise after that deadline, which
/// the loop serves first; the reload then runs at the end of the same turn of the loop. A
/// deadline already past is no time away: it is served first too.
pub(super) fn reload_held_until(now: Instant, next_deadline: Option<Instant>) -> Option<Instant> {
    next_deadline.filter(|d| d.saturating_duration_since(now) < RELOAD_CLEARANCE)
}

/// Read, parse and convert the configuration; every problem is logged (parse errors with
/// file:line:column) and gives `None`. `noticed` holds the notices the last load that was
/// taken logged: a notice (what a setting does on this host instead, e.g. `lvs_sync_daemon`
/// on an nftables host) is logged once, and again at a reload only when it is new or changed;
/// errors and warnings are logged at every load. A load that is taken replaces `noticed`.
pub(super) fn load(src: &ConfigSource<'_>, noticed: &mut Vec<String>) -> Option<Loaded> {
    // The same load as `vigild -t` (src/load.rs): what one refuses, the other refuses. The
    // system's macvlans as they are now (a garp_group naming one is ignored, as in -t).
    let vlans = crate::netlink::vlan_links();
    let mut options = src.options.clone();
    options.vlan_interfaces = vlans.iter().map(|(name, _)| name.clone()).collect();
    let report = crate::load::load(&src.path, src.loader, &options, src.subsystems);
    let (shown, repeated) = notices_to_log(&report.diagnostics, noticed, report.refused());
    for d in shown {
        match d.severity {
            conf::Severity::Error => error!("{d}"),
            _ => warn!("{d}"),
        }
    }
    if repeated > 0 {
        info!("{repeated} notice(s) as at the last load, not repeated (vigild -t lists them)");
    }
    let mut loaded = report.loaded?;
    // An announcement on a macvlan goes through its lower interface's gate (keepalived's
    // IF_BASE_IFP): the system's macvlans as they are at this load.
    loaded.engine.announce_gates.bases = vlans
        .into_iter()
        .filter_map(|(name, lower)| Some((name, lower?)))
        .collect();
    // keepalived 2.2.7 (vrrp_daemon.c start_vrrp): an interface the configuration names that
    // does not exist stops VRRP ("Non-existent interface specified in configuration"), unless
    // `dynamic_interfaces`: then each is a notice, the interface is used once it appears and an
    // instance on it waits in FAULT. At start vigild does not start; on SIGHUP, where
    // keepalived's VRRP process would stop, vigild refuses the reload and keeps running.
    let missing = crate::load::missing_interfaces(&loaded.cfg, crate::load::interface_exists);
    for d in &missing {
        match d.severity {
            conf::Severity::Notice => info!("{d}"),
            _ => error!("{d}"),
        }
    }
    if missing.iter().any(|d| d.severity != conf::Severity::Notice) {
        error!(
            "non-existent interface specified in configuration: not taken (global_defs \
             dynamic_interfaces lets vigild wait for it)"
        );
        return None;
    }
    let offline = crate::load::offline_cpus(&loaded.cfg, crate::sys::online_cpus);
    if !offline.is_empty() {
        for d in &offline {
            error!("{d}");
        }
        return None;
    }
    *noticed = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == conf::Severity::Notice)
        .map(ToString::to_string)
        .collect();
    Some(loaded)
}

/// The diagnostics to log, and how many notices are left out because the last load that was
/// taken logged them already (every one is logged when the load is refused: the operator
/// sees the whole picture of what was refused).
fn notices_to_log<'a>(
    diagnostics: &'a [conf::Diagnostic],
    noticed: &[String],
    refused: bool,
) -> (Vec<&'a conf::Diagnostic>, usize) {
    let mut repeated = 0;
    let shown = diagnostics
        .iter()
        .filter(|d| {
            let again = !refused
                && d.severity == conf::Severity::Notice
                && noticed.contains(&d.to_string());
            repeated += usize::from(again);
            !again
        })
        .collect();
    (shown, repeated)
}

impl Daemon {
    /// SIGHUP (a configuration file was given): reload at once, or hold the reload for the
    /// engine's next deadline ([`reload_held_until`]). A SIGHUP while a reload is held is that
    /// same reload, which reads the file as it is when it runs: it is logged, so that an
    /// operator who signals twice sees where the second one went. Returns whether the reload
    /// ran (the loop then stops serving its batch of events: they may name the old tables).
    pub(super) fn on_sighup(&mut self, src: &ConfigSource<'_>) -> bool {
        let now = self.clock.now();
        if let Some(d) = self.reload_after {
            info!(
                "SIGHUP while a reload is held for the engine's deadline (in {:.1} ms): one \
                 reload, which reads {} as it is then",
                d.saturating_duration_since(now).as_secs_f64() * 1e3,
                src.path
            );
            return false;
        }
        match reload_held_until(now, self.engine.poll_timeout()) {
            Some(d) => {
                debug!(
                    "SIGHUP: reload held for the engine's deadline (in {:.1} ms)",
                    d.saturating_duration_since(now).as_secs_f64() * 1e3
                );
                self.reload_after = Some(d);
                false
            }
            None => {
                self.reload(src);
                true
            }
        }
    }

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
        let loaded = load(src, &mut self.noticed).ok_or("configuration errors")?;
        self.local_igmp_on_reload(loaded.cfg.global.disable_local_igmp);
        self.allow_if_changes = loaded.cfg.global.allow_if_changes;
        if !loaded.cfg.global.process().same_as(&self.process) {
            warn!(
                "reload: the process settings (vrrp_priority, vrrp_rt_priority, \
                 vrrp_rlimit_rttime, vrrp_cpu_affinity and their checker_ twins) changed: they \
                 take effect when vigild restarts"
            );
        }
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
        self.set_vmacs(loaded.vmacs, loaded.addr_vmacs);
        self.move_addresses_home(&old_homes);
        self.add_addresses_on_address_vmacs();
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

    /// After a reload: a MASTER's addresses on macvlans of their own (`use_vmac_addr`, an
    /// address's `use_vmac`) are put there, for a macvlan the reload created after the engine
    /// asked for the address (those already there stay: adding is idempotent).
    fn add_addresses_on_address_vmacs(&mut self) {
        let todo: Vec<(vigil_engine::InstanceId, IfaceId, VirtualAddress)> = self
            .engine
            .instances()
            .filter(|v| v.holds_addresses())
            .flat_map(|v| {
                let c = v.config();
                c.virtual_addresses
                    .iter()
                    .chain(&c.excluded_addresses)
                    .filter(|a| a.vmac)
                    .map(|a| (v.id(), v.iface(), a.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (id, iface, a) in todo {
            if let Some((name, idx)) = self.target(id, iface, &a) {
                self.add_address_at(name, idx, &a);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reload of an unchanged file logs its warnings again and its notices not; a new notice
    /// is logged; a refused load logs everything.
    #[test]
    fn notices_are_logged_once_warnings_every_time() {
        let opts = conf::ParseOptions {
            data_plane: vigil_engine::dataplane::Backend::Nftables,
            ..Default::default()
        };
        let text =
            "global_defs {\n lvs_sync_daemon eth0 VI_1\n lvs_flush\n}\nvrrp_instance VI_1 {\n \
                    interface eth0\n virtual_router_id 51\n lvs_sync_daemon_interface eth1\n \
                    virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";
        let c = conf::parse_text("k.conf", text, &conf::MemoryLoader::new(), &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        let d = &c.warnings;
        let notices = d
            .iter()
            .filter(|x| x.severity == conf::Severity::Notice)
            .count();
        let warnings = d.len() - notices;
        assert!(notices >= 2 && warnings >= 1, "{d:#?}");
        let (first, rep) = notices_to_log(d, &[], false);
        assert_eq!((first.len(), rep), (d.len(), 0));
        let noticed: Vec<String> = d
            .iter()
            .filter(|x| x.severity == conf::Severity::Notice)
            .map(ToString::to_string)
            .collect();
        let (again, rep) = notices_to_log(d, &noticed, false);
        assert_eq!((again.len(), rep), (warnings, notices));
        assert!(again.iter().all(|x| x.severity != conf::Severity::Notice));
        let (refused, rep) = notices_to_log(d, &noticed, true);
        assert_eq!((refused.len(), rep), (d.len(), 0));
        let (one_new, _) = notices_to_log(d, &noticed[1..], false);
        assert_eq!(one_new.len(), warnings + 1);
    }

    /// An instant `ms` milliseconds after an arbitrary origin.
    fn at(ms: u64) -> Instant {
        Instant::from_nanos(1_000_000_000 + ms * 1_000_000)
    }

    /// The SIGHUP rule's boundaries: less than RELOAD_CLEARANCE away holds the reload for the
    /// deadline, exactly RELOAD_CLEARANCE or more runs it at once, a deadline already past
    /// (served first in the same turn) holds it, no deadline runs it at once.
    #[test]
    fn a_reload_waits_only_for_a_deadline_less_than_the_clearance_away() {
        let now = at(0);
        let clearance = u64::try_from(RELOAD_CLEARANCE.as_millis()).unwrap_or(u64::MAX);
        assert_eq!(clearance, 50);
        assert_eq!(reload_held_until(now, None), None);
        assert_eq!(reload_held_until(now, Some(at(clearance))), None);
        assert_eq!(reload_held_until(now, Some(at(clearance + 1))), None);
        let just_inside = now + (RELOAD_CLEARANCE - std::time::Duration::from_nanos(1));
        assert_eq!(reload_held_until(now, Some(just_inside)), Some(just_inside));
        assert_eq!(reload_held_until(now, Some(at(1))), Some(at(1)));
        assert_eq!(reload_held_until(now, Some(now)), Some(now));
        let past = Instant::from_nanos(1_000_000_000 - 7_000_000);
        assert_eq!(reload_held_until(now, Some(past)), Some(past));
        assert_eq!(
            reload_held_until(now, Some(Instant::from_nanos(0))),
            Some(Instant::from_nanos(0))
        );
        assert_eq!(reload_held_until(now, Some(Instant::MAX)), None);
    }
}
