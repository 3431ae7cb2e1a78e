//! What an instance installs besides its advertised addresses while MASTER (excluded
//! addresses, virtual routes), carried out when the engine says (`AddExcludedAddresses`,
//! `AddRoutes` and their removals); and the static addresses and routes of
//! `static_ipaddress` / `static_routes`, which are not protocol: installed at start-up whatever
//! the VRRP state, removed on stop, diffed on reload (keepalived's `start_vrrp` / `stop_vrrp`).

use super::*;

impl Daemon {
    /// Start-up, before the engine starts: the excluded addresses and virtual routes of the
    /// configuration that are already on the machine are removed, like the advertised
    /// addresses (routes only when their protocol is `keepalived`: an operator's own route to
    /// the same destination is left alone). The engine adds them when an instance becomes
    /// MASTER.
    pub(super) fn remove_leftover_extras(&mut self) {
        let leftovers: Vec<(String, String, Vec<VirtualAddress>, Vec<VirtualRoute>)> = self
            .engine
            .instances()
            .map(|v| {
                let c = v.config();
                (
                    v.name().to_string(),
                    c.interface.clone(),
                    c.excluded_addresses.clone(),
                    c.virtual_routes.clone(),
                )
            })
            .filter(|(_, _, e, r)| !e.is_empty() || !r.is_empty())
            .collect();
        for (name, interface, excluded, routes) in leftovers {
            let home = self
                .vmacs
                .get(&name)
                .map_or(interface, |m| m.spec.name.clone());
            for v in &excluded {
                if let Some((dev, idx)) = self.target_on(&home, v) {
                    if let Ok(true) = self.rtnl.del_address(idx, v.addr, v.prefix_len, v.peer) {
                        info!(
                            "({name}) removed {}/{} from {dev}: present before start",
                            v.addr, v.prefix_len
                        );
                    }
                }
            }
            for r in &routes {
                if let Ok(true) = self.route(false, r) {
                    info!("({name}) removed route {r}: present before start");
                }
            }
        }
    }

    /// Install `static_ipaddress` / `static_routes` (start-up, before the engine starts).
    pub(super) fn set_statics(&mut self, statics: Option<Statics>) {
        if let Some(s) = statics {
            self.install_statics(&s);
            self.statics = s;
        }
    }

    /// Add (`add`) or remove route `r` through netlink.
    pub(super) fn route(&mut self, add: bool, r: &VirtualRoute) -> io::Result<bool> {
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

    pub(super) fn add_route(&mut self, r: &VirtualRoute) {
        match self.route(true, r) {
            Ok(true) => info!("added route {r}"),
            Ok(false) => info!("route {r} already present"),
            Err(e) => error!("cannot add route {r}: {e}"),
        }
    }

    pub(super) fn remove_route(&mut self, r: &VirtualRoute) {
        match self.route(false, r) {
            Ok(true) => info!("removed route {r}"),
            Ok(false) => debug!("route {r} was not present"),
            Err(e) => error!("cannot remove route {r}: {e}"),
        }
    }

    pub(super) fn add_static_address(&mut self, v: &VirtualAddress) {
        match self.target_on("", v) {
            Some((dev, idx)) => self.add_address_at(dev, idx, v),
            None => warn!("cannot add {}: interface missing", v.addr),
        }
    }

    fn remove_static_address(&mut self, v: &VirtualAddress) {
        if let Some((dev, idx)) = self.target_on("", v) {
            self.remove_address_at(dev, idx, v);
        }
    }

    /// The static addresses, then the static routes (which may use them).
    fn install_statics(&mut self, s: &Statics) {
        for v in &s.addresses {
            self.add_static_address(v);
        }
        for r in &s.routes {
            self.add_route(r);
        }
    }

    /// Stop: the static routes, then the static addresses.
    pub(super) fn uninstall_statics(&mut self) {
        let s = std::mem::take(&mut self.statics);
        for r in &s.routes {
            self.remove_route(r);
        }
        for v in &s.addresses {
            self.remove_static_address(v);
        }
    }

    /// After a reload: only the differences are removed and added, so a static address or
    /// route kept by the new configuration never disappears.
    pub(super) fn reconcile_statics(&mut self, want: Statics) {
        let have = std::mem::take(&mut self.statics);
        for r in have.routes.iter().filter(|r| !want.routes.contains(r)) {
            self.remove_route(r);
        }
        for v in have
            .addresses
            .iter()
            .filter(|v| !want.addresses.contains(v))
        {
            self.remove_static_address(v);
        }
        for v in want
            .addresses
            .iter()
            .filter(|v| !have.addresses.contains(v))
        {
            self.add_static_address(v);
        }
        for r in want.routes.iter().filter(|r| !have.routes.contains(r)) {
            self.add_route(r);
        }
        self.statics = want;
    }
}
