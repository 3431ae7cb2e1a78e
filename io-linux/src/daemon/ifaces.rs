//! Interfaces: the kernel's view of the links the instances run on (netlink events, sockets
//! opened and closed as links come and go, primary addresses), told to the engine.

use super::*;

/// Open the `family` VRRP socket of interface `name` (kernel index `index`, table position
/// `i`) and watch it; failures are logged.
pub(super) fn open_socket(
    ep: &Epoll,
    name: &str,
    index: u32,
    i: usize,
    family: Family,
    groups: &[IpAddr],
    packet_adverts: bool,
) -> Option<VrrpSocket> {
    match VrrpSocket::open(family, name, index, groups, packet_adverts) {
        Ok(s) => {
            if let Err(e) = ep.add(s.raw_fd(), socket_token(i, family)) {
                error!("{name}: cannot watch the {family} socket: {e}");
            }
            Some(s)
        }
        Err(e) => {
            error!("{name}: cannot open the {family} VRRP socket: {e}");
            None
        }
    }
}

/// An interface's MAC address from sysfs (interfaces that no instance runs on but a `dev`
/// names).
pub(super) fn read_mac(name: &str) -> Option<[u8; 6]> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    let mut out = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in out.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

impl Daemon {
    /// The multicast groups to join on interface `i`, per family (the engine's
    /// [`vigil_engine::Engine::multicast_groups`]; the daemon's interface table is in the
    /// engine's interface order).
    pub(super) fn groups_on(&self, i: usize) -> [Vec<IpAddr>; 2] {
        let id = IfaceId(u16::try_from(i).unwrap_or(u16::MAX));
        [
            self.engine.multicast_groups(id, Family::V4),
            self.engine.multicast_groups(id, Family::V6),
        ]
    }

    /// Re-read every link and address from the kernel (start-up, and after the event socket
    /// overran), open sockets on interfaces that exist, and tell the engine what changed.
    pub(super) fn resync(&mut self) -> io::Result<()> {
        let links = self.rtnl.links()?;
        let addrs = self.rtnl.addrs()?;
        for i in 0..self.ifaces.len() {
            let link = links
                .iter()
                .find(|l| l.name == self.ifaces[i].name)
                .cloned();
            match link {
                Some(l) => self.link_present(i, &l),
                None => self.link_gone(i),
            }
            let idx = self.ifaces[i].index;
            self.ifaces[i].addrs = addrs
                .iter()
                .filter(|a| Some(a.index) == idx && !self.vips.contains(&a.addr))
                .cloned()
                .collect();
        }
        Ok(())
    }

    pub(super) fn link_present(&mut self, i: usize, l: &Link) {
        // keepalived 2.2.7 (netlink_if_link_populate): without allow_if_changes, an interface
        // seen before that comes back as another kind, or over another parent, is ignored.
        // keepalived compares the parent it knew (by interface, so by name) with IFLA_LINK.
        let shape = (
            l.shape.stacked,
            l.shape
                .parent
                .filter(|_| l.shape.stacked)
                .and_then(sys::if_indextoname),
        );
        match &self.ifaces[i].first_shape {
            None => self.ifaces[i].first_shape = Some(shape),
            Some(first) if !self.allow_if_changes && *first != shape => {
                if self.ifaces[i].index.is_some() || self.ifaces[i].told_up != Some(false) {
                    warn!(
                        "{}: came back as another kind of interface or over another parent: \
                         ignored (dynamic_interfaces allow_if_changes lets vigild use it)",
                        l.name
                    );
                }
                self.link_gone(i);
                return;
            }
            Some(_) => {}
        }
        let iface = &mut self.ifaces[i];
        if iface.index != Some(l.index) {
            if iface.index.is_some() {
                self.close_sockets(i);
            }
            let groups = self.groups_on(i);
            let packet_adverts = self.packet_socket_adverts;
            let iface = &mut self.ifaces[i];
            iface.index = Some(l.index);
            iface.addrs.clear();
            for f in [Family::V4, Family::V6] {
                if iface.families[fam_idx(f)] {
                    iface.socks[fam_idx(f)] = open_socket(
                        &self.ep,
                        &iface.name,
                        l.index,
                        i,
                        f,
                        &groups[fam_idx(f)],
                        packet_adverts,
                    );
                }
            }
        }
        let iface = &mut self.ifaces[i];
        iface.mac = l.mac;
        iface.up = l.up;
    }

    pub(super) fn close_sockets(&mut self, i: usize) {
        for s in self.ifaces[i].socks.iter_mut() {
            if let Some(sock) = s.take() {
                let _ = self.ep.delete(sock.raw_fd());
                self.rx_dropped.remove(&sock.raw_fd());
            }
        }
    }

    pub(super) fn link_gone(&mut self, i: usize) {
        self.close_sockets(i);
        let iface = &mut self.ifaces[i];
        iface.index = None;
        iface.up = false;
        iface.addrs.clear();
    }

    /// Tell the engine about every interface whose link or primary address differs from what
    /// it was last told.
    ///
    /// Called at start, after a reload, after each batch of netlink events
    /// ([`Daemon::on_netlink`]), and inside a batch, by [`Daemon::apply`], just before a deletion
    /// by someone else is acted on: a virtual address, route or rule told to the engine
    /// ([`Daemon::vip_deleted`], [`Daemon::route_deleted`], [`Daemon::rule_deleted`]), a static
    /// address put back ([`Daemon::static_deleted`]). Those calls are not redundant with the one
    /// after the batch: the engine decides on a deletion (MASTER -> BACKUP) at once, so the link
    /// changes read before it in the same batch must reach it first, as keepalived reads events
    /// one by one (keepalived_netlink.c `netlink_parse_info`). A macvlan deleted by hand goes
    /// down, loses its addresses, then goes: the engine must go to FAULT (without the call, one
    /// run in three of vmac_addr_link_netns's deletion test saw MASTER -> BACKUP -> FAULT). A link
    /// carrying a virtual route goes down or is deleted: the kernel deletes its IPv6 routes
    /// (RTM_DELROUTE after the link's RTM_NEWLINK, in the same read), and the engine must hear
    /// the link first (FAULT; keepalived then ignores the route deletion, the instance being no
    /// longer MASTER); without the call route_link_order_netns saw MASTER -> BACKUP -> FAULT at
    /// every cut; the rule arm's own test is rule_link_order_netns (a rule deleted just after
    /// its link went down, both in one read: BACKUP then FAULT at every cut without the call).
    /// A static address is not the engine's, but is put back after the same link
    /// changes are told, in keepalived's order. It reports only what changed, so it costs nothing
    /// when no link changed. The general order (every link event of a batch before its address
    /// events) was tried and reverted (it replayed start-up events).
    pub(super) fn report_interfaces(&mut self) {
        for i in 0..self.ifaces.len() {
            let id = IfaceId(i as u16);
            let iface = &self.ifaces[i];
            let up = iface.up;
            let primaries = [
                netlink::primary_v4(&iface.addrs, &self.vips),
                netlink::link_local_v6(&iface.addrs),
            ];
            if iface.told_up != Some(up) {
                info!("{}: link {}", iface.name, if up { "up" } else { "down" });
                self.ifaces[i].told_up = Some(up);
                self.engine
                    .handle_input(self.clock.now(), Input::Link { iface: id, up });
                self.drain();
            }
            for f in [Family::V4, Family::V6] {
                let k = fam_idx(f);
                if !self.ifaces[i].families[k] {
                    continue;
                }
                let p = primaries[k];
                if self.ifaces[i].told_primary[k] != Some(p) {
                    match p {
                        Some(a) => info!("{}: {f} source address {a}", self.ifaces[i].name),
                        None => warn!("{}: no {f} source address", self.ifaces[i].name),
                    }
                    self.ifaces[i].told_primary[k] = Some(p);
                    self.engine.handle_input(
                        self.clock.now(),
                        Input::PrimaryAddress {
                            iface: id,
                            family: f,
                            addr: p,
                        },
                    );
                    self.drain();
                }
            }
        }
    }

    /// After a reload: the interface table in the new engine's order, by name. Interfaces
    /// still used keep their sockets (watched again under their new positions), new ones are
    /// looked up by the next [`Daemon::resync`], unused ones are closed.
    pub(super) fn rebuild_interfaces(&mut self) {
        // Interface ids may change: what the queues held back is told again on the next read.
        self.rx_queues.clear();
        let mut old = std::mem::take(&mut self.ifaces);
        for f in &old {
            for s in f.socks.iter().flatten() {
                let _ = self.ep.delete(s.raw_fd());
            }
        }
        let mut ifaces: Vec<Iface> = self
            .engine
            .interfaces()
            .map(|(_, name)| match old.iter().position(|f| f.name == name) {
                Some(p) => {
                    let mut f = old.swap_remove(p);
                    f.families = [false; 2];
                    f
                }
                None => Iface::named(name),
            })
            .collect();
        for f in old {
            if f.socks.iter().any(Option::is_some) {
                info!("{}: no longer used, sockets closed", f.name);
            }
        }
        for v in self.engine.instances() {
            if let Some(f) = ifaces.get_mut(usize::from(v.iface().0)) {
                f.families[fam_idx(v.config().family)] = true;
            }
        }
        let groups: Vec<[Vec<IpAddr>; 2]> = (0..ifaces.len()).map(|i| self.groups_on(i)).collect();
        let packet_adverts = self.packet_socket_adverts;
        for (i, f) in ifaces.iter_mut().enumerate() {
            for fam in [Family::V4, Family::V6] {
                let k = fam_idx(fam);
                if !f.families[k] {
                    if f.socks[k].take().is_some() {
                        info!("{}: {fam} socket closed (no instance left)", f.name);
                    }
                    f.told_primary[k] = None;
                    continue;
                }
                match (&f.socks[k], f.index) {
                    (Some(s), _) => {
                        if let Err(e) = self.ep.add(s.raw_fd(), socket_token(i, fam)) {
                            error!("{}: cannot watch the {fam} socket: {e}", f.name);
                        }
                        // A reload may add a multicast group (one it drops stays joined
                        // until the socket is reopened: adverts to it reach no instance).
                        for g in &groups[i][k] {
                            if let Err(e) = s.join(*g) {
                                error!("{}: cannot join {g}: {e}", f.name);
                            }
                        }
                    }
                    (None, Some(index)) => {
                        f.socks[k] = open_socket(
                            &self.ep,
                            &f.name,
                            index,
                            i,
                            fam,
                            &groups[i][k],
                            packet_adverts,
                        );
                    }
                    (None, None) => {}
                }
            }
        }
        self.ifaces = ifaces;
    }

    pub(super) fn on_netlink(&mut self) {
        match self.events.read() {
            Ok(evs) => {
                for ev in evs {
                    self.apply(ev);
                }
            }
            Err(e) => {
                warn!("netlink events lost ({e}): re-reading interfaces");
                if let Err(e) = self.resync() {
                    error!("cannot re-read interfaces: {e}");
                }
            }
        }
        self.report_interfaces();
    }

    pub(super) fn apply(&mut self, ev: Event) {
        match ev {
            Event::NewLink(l) => {
                if let Some(i) = self.ifaces.iter().position(|f| f.name == l.name) {
                    let fresh = self.ifaces[i].index != Some(l.index);
                    self.link_present(i, &l);
                    if fresh {
                        // A new interface: its addresses come as events too, but read them now
                        // so the first report is complete.
                        if let Ok(all) = self.rtnl.addrs() {
                            self.ifaces[i].addrs = all
                                .into_iter()
                                .filter(|a| a.index == l.index && !self.vips.contains(&a.addr))
                                .collect();
                        }
                    }
                } else if let Some(i) = self.ifaces.iter().position(|f| f.index == Some(l.index)) {
                    // Renamed away from the configured name.
                    self.link_gone(i);
                }
                // A parent that appears (dynamic_interfaces, or back after a deletion) gets
                // its macvlans.
                if self.vmacs_missing() {
                    self.ensure_vmacs();
                }
            }
            Event::DelLink(index) => {
                if let Some(i) = self.ifaces.iter().position(|f| f.index == Some(index)) {
                    self.link_gone(i);
                }
                self.vmac_link_gone(index);
            }
            Event::NewAddr(a) if self.vips.contains(&a.addr) => {}
            Event::DelAddr(a, by) if self.vips.contains(&a.addr) => {
                // Our own removals (leaving MASTER, reload) carry our request socket's port.
                if by != self.rtnl.port() {
                    // A link change read before it in the same batch is told first: a link
                    // deleted by hand goes down, then loses its addresses, then goes, and the
                    // engine must hear the link (FAULT) before the address, as keepalived
                    // reads them one by one (see report_interfaces).
                    self.report_interfaces();
                    self.vip_deleted(&a);
                }
            }
            Event::NewAddr(a) => {
                if let Some(f) = self.ifaces.iter_mut().find(|f| f.index == Some(a.index)) {
                    match f.addrs.iter_mut().find(|x| x.addr == a.addr) {
                        Some(x) => *x = a,
                        None => f.addrs.push(a),
                    }
                }
            }
            // Our own removals (leaving MASTER, reload, stop) carry our request socket's port.
            // The link changes read before a deletion by someone else are told first (a link
            // going down takes its IPv6 routes with it: FAULT, not BACKUP, see
            // report_interfaces).
            Event::DelRoute(m, by) => {
                if by != self.rtnl.port() {
                    self.report_interfaces();
                    self.route_deleted(&m);
                }
            }
            Event::DelRule(m, by) => {
                if by != self.rtnl.port() {
                    self.report_interfaces();
                    self.rule_deleted(&m);
                }
            }
            Event::DelAddr(a, by) => {
                // Only for a static address (a link going down can delete many addresses).
                if by != self.rtnl.port() && self.statics.addresses.iter().any(|v| v.addr == a.addr)
                {
                    self.report_interfaces();
                    self.static_deleted(&a);
                }
                if let Some(f) = self.ifaces.iter_mut().find(|f| f.index == Some(a.index)) {
                    f.addrs.retain(|x| x.addr != a.addr);
                }
            }
        }
    }

    /// A route of ours (protocol keepalived) was deleted by someone else (keepalived_netlink.c
    /// `netlink_route_filter`): a virtual route is reported to the engine, which decides
    /// (MASTER, `no_track`); a static route is put back unless `no_track`
    /// (`reinstate_static_route`).
    fn route_deleted(&mut self, m: &netlink_packet_route::route::RouteMessage) {
        let hits: Vec<(vigil_engine::InstanceId, usize, String)> = self
            .engine
            .instances()
            .flat_map(|v| {
                let id = v.id();
                v.config()
                    .virtual_routes
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| routes::is_route(m, r))
                    .map(move |(k, r)| (id, k, r.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (instance, index, shown) in hits {
            info!("route {shown} deleted by someone else");
            self.engine
                .handle_input(self.clock.now(), Input::RouteDeleted { instance, index });
            self.drain();
        }
        let statics: Vec<VirtualRoute> = self
            .statics
            .routes
            .iter()
            .filter(|r| !r.no_track && routes::is_route(m, r))
            .cloned()
            .collect();
        for r in &statics {
            info!("static route {r} deleted by someone else: putting it back");
            self.add_route(r);
        }
    }

    /// A rule of ours was deleted by someone else (`netlink_rule_filter`): as
    /// [`Daemon::route_deleted`] (`reinstate_static_rule` for a static one).
    fn rule_deleted(&mut self, m: &netlink_packet_route::rule::RuleMessage) {
        let hits: Vec<(vigil_engine::InstanceId, usize, String)> = self
            .engine
            .instances()
            .flat_map(|v| {
                let id = v.id();
                v.config()
                    .virtual_rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| routes::is_rule(m, r))
                    .map(move |(k, r)| (id, k, r.keepalived_format()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (instance, index, shown) in hits {
            info!("rule {shown} deleted by someone else");
            self.engine
                .handle_input(self.clock.now(), Input::RuleDeleted { instance, index });
            self.drain();
        }
        let statics: Vec<VirtualRule> = self
            .statics
            .rules
            .iter()
            .filter(|r| !r.no_track && routes::is_rule(m, r))
            .cloned()
            .collect();
        for r in &statics {
            info!(
                "static rule {} deleted by someone else: putting it back",
                r.keepalived_format()
            );
            self.add_rule(r);
        }
    }

    /// A virtual address was removed by someone else: tell the engine, for each instance that
    /// puts it on that interface (its own, its `dev`, or its `use_vmac` macvlan); the engine
    /// decides (keepalived's deletion tracking, `no_track`; vigil_engine's engine/deleted.rs).
    fn vip_deleted(&mut self, a: &crate::netlink::Addr) {
        let hits: Vec<vigil_engine::InstanceId> = self
            .engine
            .instances()
            .filter(|v| {
                let cfg = v.config();
                let vmac = self.vmacs.get(&cfg.name).map(|m| m.index);
                cfg.virtual_addresses.iter().any(|x| {
                    x.addr == a.addr
                        && match &x.dev {
                            Some(dev) if x.vmac => {
                                self.addr_vmac_of(&cfg.name, dev, Family::of(&x.addr))
                                    .map(|(_, i)| i)
                                    == Some(a.index)
                            }
                            Some(dev) => sys::if_nametoindex(dev) == Some(a.index),
                            None => {
                                vmac == Some(a.index)
                                    || sys::if_nametoindex(&cfg.interface) == Some(a.index)
                            }
                        }
                })
            })
            .map(|v| v.id())
            .collect();
        for instance in hits {
            info!(
                "{}/{} removed from interface {} by someone else",
                a.addr, a.prefix_len, a.index
            );
            self.engine.handle_input(
                self.clock.now(),
                Input::AddressDeleted {
                    instance,
                    addr: a.addr,
                },
            );
            self.drain();
        }
    }

    /// A `static_ipaddress` address was removed by someone else: put it back, as keepalived
    /// does (keepalived_netlink.c `reinstate_static_address`), unless it is `no_track`.
    fn static_deleted(&mut self, a: &crate::netlink::Addr) {
        let addrs = self.statics.addresses.clone();
        for v in &addrs {
            if v.addr != a.addr || v.no_track {
                continue;
            }
            if self.target_on("", v).map(|(_, i)| i) == Some(a.index) {
                info!(
                    "static address {}/{} removed by someone else: putting it back",
                    v.addr, v.prefix_len
                );
                self.add_static_address(v);
            }
        }
    }
}
