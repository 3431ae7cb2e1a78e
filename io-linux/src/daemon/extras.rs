//! What an instance installs besides its advertised addresses while MASTER (excluded
//! addresses, virtual routes), and the static addresses and routes of `static_ipaddress` /
//! `static_routes`: installed, removed and diffed on reload.

use super::*;

impl Daemon {
    /// Take the excluded addresses and virtual routes of the configuration (start-up). Those
    /// already on the machine before start are removed first, like the advertised addresses
    /// (routes only when their protocol is `keepalived`: an operator's own route to the same
    /// destination is left alone).
    pub(super) fn set_extras(&mut self, extras: Vec<(String, Extras)>) {
        for (name, e) in &extras {
            for v in &e.excluded {
                self.vips.insert(v.addr);
                if let Some((dev, idx)) = self.target_on(&e.interface, v) {
                    if let Ok(true) = self.rtnl.del_address(idx, v.addr, v.prefix_len) {
                        info!(
                            "({name}) removed {}/{} from {dev}: present before start",
                            v.addr, v.prefix_len
                        );
                    }
                }
            }
            for r in &e.routes {
                if let Ok(true) = self.route(false, r) {
                    info!("({name}) removed route {r}: present before start");
                }
            }
        }
        let vips = &self.vips;
        for f in &mut self.ifaces {
            f.addrs.retain(|a| !vips.contains(&a.addr));
        }
        self.extras = extras.into_iter().collect();
    }

    pub(super) fn set_statics(&mut self, statics: Option<Extras>) {
        if let Some(s) = statics {
            self.extras.insert(STATICS.to_string(), s);
            self.install_extras(STATICS);
        }
    }

    /// Add (`add`) or remove route `r` through netlink.
    pub(super) fn route(&mut self, add: bool, r: &RouteSpec) -> io::Result<bool> {
        let oif = match &r.dev {
            Some(d) => Some(
                self.ifaces
                    .iter()
                    .find(|f| &f.name == d)
                    .and_then(|f| f.index)
                    .or_else(|| sys::if_nametoindex(d))
                    .ok_or_else(|| io::Error::other(format!("no interface {d}")))?,
            ),
            None => None,
        };
        let m = routes::message(r, oif);
        if add {
            self.rtnl.add_route(m)
        } else {
            self.rtnl.del_route(m)
        }
    }

    pub(super) fn add_extra_address(&mut self, interface: &str, v: &VirtualAddress) {
        match self.target_on(interface, v) {
            Some((dev, idx)) => self.add_address_at(dev, idx, v),
            None => warn!("cannot add {}: interface missing", v.addr),
        }
    }

    pub(super) fn remove_extra_address(&mut self, interface: &str, v: &VirtualAddress) {
        if let Some((dev, idx)) = self.target_on(interface, v) {
            self.remove_address_at(dev, idx, v);
        }
    }

    pub(super) fn add_route(&mut self, r: &RouteSpec) {
        match self.route(true, r) {
            Ok(true) => info!("added route {r}"),
            Ok(false) => info!("route {r} already present"),
            Err(e) => error!("cannot add route {r}: {e}"),
        }
    }

    pub(super) fn remove_route(&mut self, r: &RouteSpec) {
        match self.route(false, r) {
            Ok(true) => info!("removed route {r}"),
            Ok(false) => debug!("route {r} was not present"),
            Err(e) => error!("cannot remove route {r}: {e}"),
        }
    }

    /// Instance `name` became MASTER: its excluded addresses, then its routes (which may use
    /// the virtual addresses as source or gateway's interface).
    pub(super) fn install_extras(&mut self, name: &str) {
        let Some(e) = self.extras.get(name).cloned() else {
            return;
        };
        self.uninstall_extras(name);
        for v in &e.excluded {
            self.add_extra_address(&e.interface, v);
        }
        if self.named_drops_vip_traffic(name) {
            // keepalived puts the excluded addresses in its no_accept set too.
            let a: Vec<IpAddr> = e.excluded.iter().map(|v| v.addr).collect();
            self.vip_firewall.add(&a);
        }
        for r in &e.routes {
            self.add_route(r);
        }
        self.installed.insert(name.to_string(), e);
    }

    /// Whether instance `name` is one whose MASTER drops its addresses' traffic (never the
    /// static addresses).
    fn named_drops_vip_traffic(&self, name: &str) -> bool {
        self.engine
            .instances()
            .find(|v| v.name() == name)
            .is_some_and(|v| v.config().drops_vip_traffic())
    }

    /// Instance `name` left MASTER (or stops): its routes, then its excluded addresses.
    pub(super) fn uninstall_extras(&mut self, name: &str) {
        let Some(e) = self.installed.remove(name) else {
            return;
        };
        for r in &e.routes {
            self.remove_route(r);
        }
        for v in &e.excluded {
            self.remove_extra_address(&e.interface, v);
        }
        let a: Vec<IpAddr> = e.excluded.iter().map(|v| v.addr).collect();
        self.vip_firewall.remove(&a);
    }

    /// After a reload: every MASTER has exactly its new configuration's extras; only the
    /// differences are removed and added, so a route or address kept by the new configuration
    /// never disappears.
    pub(super) fn reconcile_extras(&mut self) {
        let mut masters: HashSet<String> = self
            .engine
            .instances()
            .filter(|v| v.state() == vigil_engine::State::Master)
            .map(|v| v.name().to_string())
            .collect();
        // The static ones are always "installed" while the daemon runs.
        masters.insert(STATICS.to_string());
        let stale: Vec<String> = self
            .installed
            .keys()
            .filter(|n| !masters.contains(*n))
            .cloned()
            .collect();
        for n in stale {
            self.uninstall_extras(&n);
        }
        for name in masters {
            let want = self.extras.get(&name).cloned().unwrap_or_default();
            let have = self.installed.remove(&name).unwrap_or_default();
            if want == have {
                if !want.is_empty() {
                    self.installed.insert(name, want);
                }
                continue;
            }
            for r in have.routes.iter().filter(|r| !want.routes.contains(r)) {
                self.remove_route(r);
            }
            for v in have.excluded.iter() {
                if !want.excluded.contains(v) || want.interface != have.interface {
                    self.remove_extra_address(&have.interface, v);
                }
            }
            for v in want.excluded.iter() {
                if !have.excluded.contains(v) || want.interface != have.interface {
                    self.add_extra_address(&want.interface, v);
                }
            }
            for r in want.routes.iter().filter(|r| !have.routes.contains(r)) {
                self.add_route(r);
            }
            if !want.is_empty() {
                self.installed.insert(name, want);
            }
        }
    }
}
