//! What an instance installs besides its advertised addresses while MASTER (excluded
//! addresses, virtual routes, virtual rules), carried out when the engine says
//! (`AddExcludedAddresses`, `AddRoutes`, `AddRules` and their removals); and the static
//! addresses, routes and rules of `static_ipaddress` / `static_routes` / `static_rules`, which
//! are not protocol: installed at start-up whatever
//! the VRRP state, removed on stop, diffed on reload (keepalived's `start_vrrp` / `stop_vrrp`).

use super::*;

impl Daemon {
    /// Start-up, before the engine starts: the excluded addresses and virtual routes of the
    /// configuration that are already on the machine are removed, like the advertised
    /// addresses (routes only when their protocol is `keepalived`: an operator's own route to
    /// the same destination is left alone). The engine adds them when an instance becomes
    /// MASTER.
    pub(super) fn remove_leftover_extras(&mut self) {
        type Extras = (
            String,
            String,
            Vec<VirtualAddress>,
            Vec<VirtualRoute>,
            Vec<VirtualRule>,
        );
        let leftovers: Vec<Extras> = self
            .engine
            .instances()
            .map(|v| {
                let c = v.config();
                (
                    v.name().to_string(),
                    c.interface.clone(),
                    c.excluded_addresses.clone(),
                    c.virtual_routes.clone(),
                    c.virtual_rules.clone(),
                )
            })
            .filter(|(_, _, e, r, u)| !e.is_empty() || !r.is_empty() || !u.is_empty())
            .collect();
        for (name, interface, excluded, routes, rules) in leftovers {
            // A rule of the configuration left by a previous run (the kernel matches the whole
            // rule, protocol included, so an operator's own rule is left alone unless equal).
            for r in &rules {
                if let Ok(true) = self.rtnl.del_rule(routes::rule_message(r)) {
                    info!(
                        "({name}) removed rule {}: present before start",
                        r.keepalived_format()
                    );
                }
            }
            let home = self
                .vmacs
                .get(&name)
                .map_or(interface, |m| m.spec.name.clone());
            for v in &excluded {
                let at = match v.dev.as_deref() {
                    Some(d) if v.vmac => self.addr_vmac_of(&name, d, Family::of(&v.addr)),
                    _ => self.target_on(&home, v),
                };
                if let Some((dev, idx)) = at {
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

    /// The index of interface `d`.
    fn index_of(&self, d: &str) -> io::Result<u32> {
        self.ifaces
            .iter()
            .find(|f| f.name == d)
            .and_then(|f| f.index)
            .or_else(|| sys::if_nametoindex(d))
            .ok_or_else(|| io::Error::other(format!("no interface {d}")))
    }

    /// Add (`add`) or remove route `r` through netlink.
    pub(super) fn route(&mut self, add: bool, r: &VirtualRoute) -> io::Result<bool> {
        let oif = match &r.dev {
            Some(d) => Some(self.index_of(d)?),
            None => None,
        };
        let mut hops = Vec::with_capacity(r.attrs.nexthops.len());
        for n in &r.attrs.nexthops {
            hops.push(match &n.dev {
                Some(d) => Some(self.index_of(d)?),
                None => None,
            });
        }
        let m = routes::message(r, oif, &hops);
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

    /// Add a policy routing rule (`virtual_rules` on becoming MASTER, `static_rules` at start).
    pub(super) fn add_rule(&mut self, r: &VirtualRule) {
        let shown = r.keepalived_format();
        match self.rtnl.add_rule(routes::rule_message(r)) {
            Ok(true) => info!("added rule {shown}"),
            Ok(false) => info!("rule {shown} already present"),
            Err(e) => error!("cannot add rule {shown}: {e}"),
        }
    }

    /// Remove a policy routing rule.
    pub(super) fn remove_rule(&mut self, r: &VirtualRule) {
        let shown = r.keepalived_format();
        match self.rtnl.del_rule(routes::rule_message(r)) {
            Ok(true) => info!("removed rule {shown}"),
            Ok(false) => debug!("rule {shown} was not present"),
            Err(e) => error!("cannot remove rule {shown}: {e}"),
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
        for r in &s.rules {
            self.add_rule(r);
        }
    }

    /// Stop: the static routes, then the static addresses.
    pub(super) fn uninstall_statics(&mut self) {
        let s = std::mem::take(&mut self.statics);
        for r in &s.rules {
            self.remove_rule(r);
        }
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
        for r in have.rules.iter().filter(|r| !want.rules.contains(r)) {
            self.remove_rule(r);
        }
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
        for r in want.rules.iter().filter(|r| !have.rules.contains(r)) {
            self.add_rule(r);
        }
        self.statics = want;
    }
}
