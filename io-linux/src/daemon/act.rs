//! Carrying out the engine's actions: adverts sent in batches, addresses added and removed,
//! gratuitous ARP / unsolicited NA, notify programs, check programs and their results.

use super::*;

impl Daemon {
    /// Carry out every queued action, in order, and write the address record if it changed.
    pub(super) fn drain(&mut self) {
        self.drain_actions();
        self.flush_record();
    }

    /// Carry out every queued action, in order (the address record is left for
    /// [`Self::flush_record`]).
    pub(super) fn drain_actions(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            // Adverts wait for one sendmmsg, but never behind a later action.
            if !matches!(a, Action::SendAdvert(_)) {
                self.flush_adverts();
            }
            if let Some(op) = self.operator.as_mut() {
                op.on_action(&self.engine, &a);
            }
            self.act(a);
        }
        self.flush_adverts();
    }

    /// Write the address record if it changed.
    pub(super) fn flush_record(&mut self) {
        if let Err(e) = self.addrs.flush() {
            warn!("cannot write {}: {e}", self.addrs.path().display());
        }
    }

    /// Send the queued adverts (one `sendmmsg` per socket); failures are logged at most once a
    /// second.
    pub(super) fn flush_adverts(&mut self) {
        if self.txb.is_empty() {
            return;
        }
        for f in self.txb.flush() {
            let now = sys::now();
            let quiet = self.last_send_warning.is_some_and(|t| {
                now.saturating_duration_since(t) < core::time::Duration::from_secs(1)
            });
            if !quiet {
                warn!("cannot send advert to {}: {}", f.dst, f.error);
                self.last_send_warning = Some(now);
            }
        }
    }

    pub(super) fn instance_name(&self, id: vigil_engine::InstanceId) -> String {
        self.engine
            .instance(id)
            .map(|v| v.name().to_string())
            .unwrap_or_else(|| format!("#{}", id.0))
    }

    // Long: one arm per engine action, each a few system calls (a flat table).
    pub(super) fn act(&mut self, a: Action) {
        match a {
            Action::SendAdvert(s) => {
                let i = usize::from(s.iface.0);
                let k = fam_idx(Family::of(&s.src));
                let vmac = self.vmac_of(s.instance).and_then(|m| m.sock.as_ref());
                let Some(sock) =
                    vmac.or_else(|| self.ifaces.get(i).and_then(|f| f.socks[k].as_ref()))
                else {
                    return;
                };
                let (fd, ifindex) = (sock.raw_fd(), sock.ifindex());
                // With --packet-socket-adverts, IPv4 multicast adverts of the interface's own
                // socket go out on its packet socket, without a route per datagram
                // (`VrrpSocket::link_fd`, `None` without the option); a VMAC's
                // socket, unicast peers and IPv6 keep the raw socket.
                let link = if vmac.is_none() { sock.link_fd() } else { None };
                for &dst in s.destinations() {
                    let to = batch::Outgoing {
                        src: s.src,
                        dst,
                        ttl: s.ttl,
                    };
                    let encode = |buf: &mut [u8]| {
                        s.encode(dst, buf)
                            .map_err(|e| error!("cannot encode an advert: {e:?}"))
                            .ok()
                    };
                    let v4_multicast = matches!(dst, IpAddr::V4(d) if d.is_multicast());
                    match link {
                        Some(lfd) if v4_multicast && s.src.is_ipv4() => {
                            self.txb
                                .push_link((lfd, ifindex), to, MAX_ADVERT_LEN, encode)
                        }
                        _ => self.txb.push((fd, ifindex), to, MAX_ADVERT_LEN, encode),
                    }
                }
                debug!(
                    "advert vrid {} prio {} from {} to {:?}",
                    s.vrid, s.priority, s.src, s.dst
                );
            }
            Action::AddAddresses {
                instance,
                iface,
                addrs,
            }
            | Action::AddExcludedAddresses {
                instance,
                iface,
                addrs,
            } => {
                for v in addrs.iter() {
                    self.add_address(instance, iface, v);
                }
                if self.drops_vip_traffic(instance) {
                    let a: Vec<std::net::IpAddr> = addrs.iter().map(|v| v.addr).collect();
                    self.vip_firewall.add(&a);
                }
            }
            Action::RemoveAddresses {
                instance,
                iface,
                addrs,
            }
            | Action::RemoveExcludedAddresses {
                instance,
                iface,
                addrs,
            } => {
                crate::handover_probe::mark(crate::handover_probe::Stage::Act);
                for v in addrs.iter() {
                    self.remove_address(instance, iface, v);
                }
                if self.drops_vip_traffic(instance) {
                    let a: Vec<std::net::IpAddr> = addrs.iter().map(|v| v.addr).collect();
                    self.vip_firewall.remove(&a);
                }
            }
            Action::AddRoutes { routes, .. } => {
                for r in routes.iter() {
                    self.add_route(r);
                }
            }
            Action::RemoveRoutes { routes, .. } => {
                for r in routes.iter() {
                    self.remove_route(r);
                }
            }
            Action::AddRules { rules, .. } => {
                for r in rules.iter() {
                    self.add_rule(r);
                }
            }
            Action::RemoveRules { rules, .. } => {
                for r in rules.iter() {
                    self.remove_rule(r);
                }
            }
            Action::Announce {
                instance,
                iface,
                addrs,
                router,
                extra_if: _,
            } => {
                for v in addrs.iter() {
                    self.announce(instance, iface, v, router);
                }
            }
            Action::RunCheck { script, timeout } => self.run_check(script, timeout),
            Action::StateChange {
                instance,
                from,
                to,
                priority,
                reason,
            } => {
                let name = self.instance_name(instance);
                info!("({name}) {from} -> {to}: {reason} (priority {priority})");
                self.lvs_sync.state_change(instance, from, to);
            }
            Action::ProtocolError {
                iface,
                instance,
                src,
                rule,
            } => {
                debug!(
                    "dropped advert from {src} on {}{}: {}",
                    self.ifaces
                        .get(usize::from(iface.0))
                        .map(|f| f.name.as_str())
                        .unwrap_or("?"),
                    instance
                        .map(|i| format!(" ({})", self.instance_name(i)))
                        .unwrap_or_default(),
                    rule.name()
                );
            }
            Action::Notice(n) => {
                let instance = |i: Option<vigil_engine::InstanceId>| {
                    i.map(|i| format!("({}) ", self.instance_name(i)))
                        .unwrap_or_default()
                };
                let held = |n: u64| {
                    if n > 0 {
                        format!(" ({n} more since the last such warning)")
                    } else {
                        String::new()
                    }
                };
                match n {
                    vigil_engine::Notice::AdvertDropped {
                        iface,
                        instance: i,
                        src,
                        rule,
                        held_back,
                    } => warn!(
                        "{}dropped advert from {src} on {}: {}{}",
                        instance(i),
                        self.ifaces
                            .get(usize::from(iface.0))
                            .map(|f| f.name.as_str())
                            .unwrap_or("?"),
                        rule.name(),
                        held(held_back)
                    ),
                    vigil_engine::Notice::IntervalDiffers {
                        instance: i,
                        src,
                        theirs,
                        ours,
                        held_back,
                    } => warn!(
                        "{}{src} advertises every {theirs:?}, our advert_int is {ours:?}: the \
                         routers' configurations differ{}",
                        instance(Some(i)),
                        held(held_back)
                    ),
                    vigil_engine::Notice::OwnerConflict {
                        instance: i,
                        src,
                        other,
                        held_back,
                    } => warn!(
                        "{}{src} advertises priority 255 (address owner), and so does {}: only \
                         one router may own the addresses{}",
                        instance(Some(i)),
                        other.map_or("this router".to_string(), |o| o.to_string()),
                        held(held_back)
                    ),
                    vigil_engine::Notice::OwnerAddressListDiffers {
                        instance: i,
                        src,
                        held_back,
                    } => warn!(
                        "{}the address owner {src} advertises other addresses than ours: \
                         its adverts are kept, the configurations differ{}",
                        instance(Some(i)),
                        held(held_back)
                    ),
                    vigil_engine::Notice::ReceiveQueueDropped {
                        iface,
                        lost,
                        held_back,
                    } => warn!(
                        "{}: the VRRP socket dropped {lost} packet(s): its receive buffer was                          full (Master_Down_Timers due meanwhile wait one more advert interval){}",
                        self.engine.interface_name(iface).unwrap_or("?"),
                        held(held_back)
                    ),
                    vigil_engine::Notice::PeerChecksumForm {
                        instance: i,
                        src,
                        form,
                    } => warn!(
                        "{}{src} sends VRRPv3 checksums {}: accepted (both forms are); \
                         keepalived 2.2.7 and FRR by default drop such adverts",
                        instance(Some(i)),
                        match form {
                            vigil_engine::wire::ChecksumForm::Plain => {
                                "without the IPv4 pseudo-header"
                            }
                            vigil_engine::wire::ChecksumForm::PseudoHeader => {
                                "with the IPv4 pseudo-header"
                            }
                        }
                    ),
                    vigil_engine::Notice::OldUnicastChecksum { instance: i, src } => warn!(
                        "{}setting unicast VRRPv3 checksum to old version: {src} uses \
                         keepalived 1.3.6's checksum (old_unicast_checksum never turns this off)",
                        instance(Some(i)),
                    ),
                    other => warn!("{other:?}"),
                }
            }
            other => debug!("action not carried out by this runner: {other:?}"),
        }
    }

    /// The interface a virtual address goes on: the macvlan of its own over its `dev`
    /// ([`VirtualAddress::vmac`]), else its `dev`, else the instance's macvlan (`use_vmac`),
    /// else the instance's interface (the engine placed it: `vigil_engine::vmac_addr`).
    pub(super) fn target(
        &self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) -> Option<(String, u32)> {
        if v.vmac {
            let inst = self.engine.instance(instance)?;
            let dev = v.dev.as_deref()?;
            return self.addr_vmac_of(inst.name(), dev, Family::of(&v.addr));
        }
        if let Some(m) = self.vmac_of(instance) {
            let name = m.spec.name.clone();
            return self.target_on(&name, v);
        }
        let default = &self.ifaces.get(usize::from(iface.0))?.name;
        self.target_on(default, v)
    }

    /// The macvlan of instance `id` (ids as of the engine's last configuration change).
    pub(super) fn vmac_of(&self, id: vigil_engine::InstanceId) -> Option<&Vmac> {
        let (_, name) = self.vmac_ids.iter().find(|(i, _)| *i == id)?;
        self.vmacs.get(name)
    }

    /// The interface a virtual address goes on: its `dev`, else `default`.
    pub(super) fn target_on(&self, default: &str, v: &VirtualAddress) -> Option<(String, u32)> {
        let idx = self.index_on(default, v)?;
        Some((v.dev.clone().unwrap_or_else(|| default.to_string()), idx))
    }

    /// [`Self::target_on`]'s interface index alone (no name built).
    fn index_on(&self, default: &str, v: &VirtualAddress) -> Option<u32> {
        let name = v.dev.as_deref().unwrap_or(default);
        self.ifaces
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.index)
            .or_else(|| sys::if_nametoindex(name))
    }

    /// [`Self::target`]'s interface index alone, without building the name (an allocation)
    /// in the common case (no macvlan).
    fn target_index(
        &self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) -> Option<u32> {
        if v.vmac || self.vmac_of(instance).is_some() {
            return self.target(instance, iface, v).map(|(_, idx)| idx);
        }
        self.index_on(&self.ifaces.get(usize::from(iface.0))?.name, v)
    }

    pub(super) fn add_address(
        &mut self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) {
        let Some((name, idx)) = self.target(instance, iface, v) else {
            warn!("cannot add {}: interface missing", v.addr);
            return;
        };
        self.add_address_at(name, idx, v);
    }

    pub(super) fn add_address_at(&mut self, name: String, idx: u32, v: &VirtualAddress) {
        let rec = Recorded {
            ifname: name.clone(),
            addr: v.addr,
            prefix_len: v.prefix_len,
            peer: v.peer,
        };
        match self.rtnl.add_address(idx, v) {
            Ok(true) => {
                self.addrs.add(rec);
                info!("added {}/{} on {name}", v.addr, v.prefix_len);
            }
            Ok(false) => info!("{}/{} already on {name}", v.addr, v.prefix_len),
            Err(e) => error!("cannot add {}/{} on {name}: {e}", v.addr, v.prefix_len),
        }
    }

    /// Remove one virtual address. The system call comes first: the interface's name (for the
    /// log line and the address record) is looked up after it, so that a MASTER stepping down
    /// on a higher priority's advert does nothing it can do later between the advert and the
    /// removal (issue 18).
    pub(super) fn remove_address(
        &mut self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) {
        let Some(idx) = self.target_index(instance, iface, v) else {
            return;
        };
        let r = self.rtnl.del_address(idx, v.addr, v.prefix_len, v.peer);
        let name = self
            .target(instance, iface, v)
            .map(|(name, _)| name)
            .unwrap_or_else(|| format!("interface {idx}"));
        self.removed(name, v, r);
    }

    pub(super) fn remove_address_at(&mut self, name: String, idx: u32, v: &VirtualAddress) {
        let r = self.rtnl.del_address(idx, v.addr, v.prefix_len, v.peer);
        self.removed(name, v, r);
    }

    /// Log removal `r` of `v` from interface `name` and drop it from the address record.
    fn removed(&mut self, name: String, v: &VirtualAddress, r: std::io::Result<bool>) {
        match r {
            Ok(true) => info!("removed {}/{} from {name}", v.addr, v.prefix_len),
            Ok(false) => debug!("{}/{} was not on {name}", v.addr, v.prefix_len),
            Err(e) => error!("cannot remove {}/{} from {name}: {e}", v.addr, v.prefix_len),
        }
        let rec = Recorded {
            ifname: name,
            addr: v.addr,
            prefix_len: v.prefix_len,
            peer: v.peer,
        };
        self.addrs.remove(&rec);
    }

    pub(super) fn announce(
        &mut self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
        router: bool,
    ) {
        let Some((name, idx)) = self.target(instance, iface, v) else {
            return;
        };
        self.announce_at(name, idx, v, router);
    }

    pub(super) fn announce_at(&mut self, name: String, idx: u32, v: &VirtualAddress, router: bool) {
        let mac = self
            .ifaces
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.mac)
            .or_else(|| {
                self.vmacs
                    .values()
                    .find(|m| m.spec.name == name)
                    .map(|m| m.spec.mac)
            })
            .or_else(|| read_mac(&name));
        let Some(mac) = mac else {
            debug!("{name}: no MAC address, not announcing {}", v.addr);
            return;
        };
        let r = match v.addr {
            IpAddr::V4(a) => self.announcer.garp(idx, mac, a),
            IpAddr::V6(a) => self.announcer.una(idx, mac, a, router),
        };
        if let Err(e) = r {
            debug!("{name}: cannot announce {}: {e}", v.addr);
        }
    }

    /// Kill the check runs that outlasted their timeout (their exit reports a timeout).
    pub(super) fn kill_overdue_checks(&mut self) {
        if !self.checks.is_empty() {
            self.checks.on_time(self.clock.now());
        }
    }

    /// The engine's [`Action::RunCheck`]: start the program and watch its exit; a result known
    /// at once (a refused program) goes back to the engine now, whose actions the draining
    /// loop carries out next.
    fn run_check(&mut self, script: vigil_engine::io::ScriptId, timeout: core::time::Duration) {
        let now = self.clock.now();
        match self.checks.start(script, timeout, now) {
            Some(Ok(fd)) => {
                let token = TOKEN_CHECK_BASE + u64::from(script.0);
                if let Err(e) = self.ep.add(fd, token) {
                    error!("cannot watch a check program: {e}");
                }
            }
            Some(Err(f)) => self.engine.handle_input(
                now,
                Input::Check {
                    script: f.script,
                    result: f.result,
                    ran_for: f.ran_for,
                },
            ),
            None => {}
        }
    }

    pub(super) fn check_result(
        &mut self,
        now: vigil_engine::Instant,
        script: vigil_engine::io::ScriptId,
        result: CheckResult,
        ran_for: core::time::Duration,
    ) {
        self.engine.handle_input(
            now,
            Input::Check {
                script,
                result,
                ran_for,
            },
        );
        self.drain();
    }

    /// Whether this instance's MASTER drops its addresses' traffic (the engine's Accept_Mode
    /// rule, [`vigil_engine::InstanceConfig::drops_vip_traffic`]).
    fn drops_vip_traffic(&self, instance: vigil_engine::InstanceId) -> bool {
        self.engine
            .instance(instance)
            .is_some_and(|v| v.config().drops_vip_traffic())
    }
}
