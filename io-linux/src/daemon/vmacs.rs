//! Macvlans: the instances' (`use_vmac`, `vmac_xmit_base`) and those of addresses
//! (`use_vmac_addr`, an address's `use_vmac`; keepalived.conf(5)): created or taken over,
//! watched, created again when their parent comes back, and removed.

use super::*;
use vigil_engine::Scope;

impl Daemon {
    /// Make the macvlans those of the plans (start-up and reload): new ones created, changed
    /// ones re-created, unused ones deleted; then the instance-id index is rebuilt. One whose
    /// parent does not exist yet (`dynamic_interfaces`) is created when it appears
    /// ([`Daemon::ensure_vmacs`]).
    pub(super) fn set_vmacs(
        &mut self,
        plan: HashMap<String, VmacSpec>,
        addr_plan: Vec<vmac::AddressVmac>,
    ) {
        let stale: Vec<String> = self
            .vmacs
            .iter()
            .filter(|(inst, m)| plan.get(*inst) != Some(&m.spec))
            .map(|(inst, _)| inst.clone())
            .collect();
        for inst in stale {
            self.remove_vmac(&inst);
        }
        self.vmac_plan = plan;
        self.addr_vmac_plan = addr_plan;
        self.ensure_vmacs();
    }

    /// Create every planned macvlan that does not exist and whose parent does (start-up,
    /// reload, and a link that appears: keepalived creates an instance's macvlan when its
    /// interface comes, `setup_interface`); delete the macvlans of addresses no longer planned.
    pub(super) fn ensure_vmacs(&mut self) {
        let missing: Vec<(String, VmacSpec)> = self
            .vmac_plan
            .iter()
            .filter(|(inst, _)| !self.vmacs.contains_key(*inst))
            .filter(|(_, spec)| sys::if_nametoindex(&spec.base).is_some())
            .map(|(i, s)| (i.clone(), s.clone()))
            .collect();
        for (inst, spec) in missing {
            self.create_vmac(&inst, spec);
        }
        self.vmac_ids = self
            .engine
            .instances()
            .filter(|v| self.vmacs.contains_key(v.name()))
            .map(|v| (v.id(), v.name().to_string()))
            .collect();
        self.set_addr_vmacs();
    }

    /// Whether a planned macvlan does not exist (its parent is missing, or it was deleted).
    pub(super) fn vmacs_missing(&self) -> bool {
        self.vmac_plan.len() > self.vmacs.len() || self.addr_vmac_plan.len() > self.addr_vmacs.len()
    }

    /// A link was deleted: a macvlan of ours that went with it (deleted by someone, or with its
    /// parent) is forgotten. As keepalived 2.2.7 (keepalived_netlink.c, RTM_DELLINK of an
    /// interface `is_ours`: `recreate_vmac_thread`, which only looks at instances whose own
    /// interface it was): an instance's macvlan is made again at once when its parent is still
    /// there, else when the parent comes back ([`Daemon::ensure_vmacs`]); an address's macvlan
    /// (`use_vmac_addr`, an address's `use_vmac`) is not made again until a reload, and the
    /// instance that follows it stays in FAULT.
    pub(super) fn vmac_link_gone(&mut self, index: u32) {
        let gone: Vec<String> = self
            .vmacs
            .iter()
            .filter(|(_, m)| m.index == index)
            .map(|(i, _)| i.clone())
            .collect();
        for inst in gone {
            if let Some(m) = self.vmacs.remove(&inst) {
                info!("({inst}) macvlan {} is gone", m.spec.name);
                if let Some(s) = m.sock {
                    let _ = self.ep.delete(s.raw_fd());
                }
            }
        }
        self.vmac_ids
            .retain(|(_, name)| self.vmacs.contains_key(name));
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.addr_vmacs)
            .into_iter()
            .partition(|(_, i)| *i == index);
        self.addr_vmacs = kept;
        for (a, _) in gone {
            info!(
                "macvlan {} (addresses) is gone: not made again until a reload (as keepalived)",
                a.name
            );
            self.addr_vmac_plan.retain(|p| *p != a);
            self.release_base(&a.base);
        }
        if self.vmacs_missing() {
            self.ensure_vmacs();
        }
    }

    /// Make the macvlans of addresses those of the plan: unplanned ones deleted, planned ones
    /// whose parent exists created or taken over.
    pub(super) fn set_addr_vmacs(&mut self) {
        let (keep, stale): (Vec<_>, Vec<_>) = std::mem::take(&mut self.addr_vmacs)
            .into_iter()
            .partition(|(a, _)| self.addr_vmac_plan.contains(a));
        self.addr_vmacs = keep;
        for (a, index) in stale {
            match self.rtnl.del_link(index) {
                Ok(_) => info!("removed macvlan {} (addresses on {})", a.name, a.base),
                Err(e) => warn!("cannot remove macvlan {}: {e}", a.name),
            }
            self.release_base(&a.base);
        }
        let missing: Vec<vmac::AddressVmac> = self
            .addr_vmac_plan
            .iter()
            .filter(|a| !self.addr_vmacs.iter().any(|(b, _)| b == *a))
            .cloned()
            .collect();
        for a in missing {
            let Some(base) = sys::if_nametoindex(&a.base) else {
                continue;
            };
            let Some(index) = self.macvlan(&a.name, &a.base, base, a.mac, "addresses") else {
                continue;
            };
            self.configure_macvlan(&a.name, index, &a.base, a.family, false);
            info!(
                "macvlan {} on {} with MAC {} for addresses of {}",
                a.name,
                a.base,
                vigil_engine::dump::mac_text(&a.mac),
                a.users
                    .iter()
                    .map(|(i, _)| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.addr_vmacs.push((a, index));
        }
    }

    /// The macvlan of addresses that carries the `family` addresses of `instance` on `base`.
    pub(super) fn addr_vmac_of(
        &self,
        instance: &str,
        base: &str,
        family: Family,
    ) -> Option<(String, u32)> {
        self.addr_vmacs
            .iter()
            .find(|(a, _)| a.carries(instance, base, family))
            .map(|(a, i)| (a.name.clone(), *i))
    }

    /// The macvlan `name` on `base` (index `base_index`) with `mac`, private mode, as keepalived
    /// 2.2.7's `netlink_link_add_vmac` makes it: an existing one of that name on that parent is
    /// kept (same ifindex, its addresses kept), its MAC and mode set in place when they differ;
    /// one on another parent is deleted and created again; else it is created. `None` when the
    /// kernel refuses.
    fn macvlan(
        &mut self,
        name: &str,
        base: &str,
        base_index: u32,
        mac: [u8; 6],
        whose: &str,
    ) -> Option<u32> {
        if let Some(old) = sys::if_nametoindex(name) {
            // The plan (vmac::plan) names an existing interface only when it is a macvlan that
            // keepalived would take over or replace: this instance's own, left by a run that
            // did not stop cleanly, or a macvlan of the configured name. Any other interface's
            // name is never chosen, so never deleted here.
            let (parent, have) = vmac::existing(name).unwrap_or((None, None));
            if parent.as_deref() == Some(base) {
                if have != Some(mac) {
                    info!("({whose}) updating {name}: wrong MAC");
                }
                // Mode private and the MAC, in place (keepalived updates a wrong one in place,
                // and asks nothing of a right one: setting them again changes nothing).
                let new_mac = (have != Some(mac)).then_some(mac);
                if let Err(e) = self.rtnl.update_macvlan(old, new_mac) {
                    warn!("({whose}) cannot update {name} in place: {e}");
                }
                info!("({whose}) took over {name} (ifindex {old}): present before start");
                return Some(old);
            }
            if let Ok(true) = self.rtnl.del_link(old) {
                info!("({whose}) removed {name}: present before start on another interface");
            }
        }
        match self.rtnl.add_macvlan(name, base_index, mac) {
            Ok(i) => Some(i),
            Err(e) => {
                error!("({whose}) cannot create macvlan {name}: {e}");
                None
            }
        }
    }

    /// keepalived's settings of a new macvlan: its sysctls and its parent's (IPv4), IPv6 off
    /// (IPv4) or without a generated address and with the parent's link-local (IPv6), up.
    /// `v6_on`: an IPv4 instance's macvlan that carries excluded IPv6 addresses.
    fn configure_macvlan(
        &mut self,
        name: &str,
        index: u32,
        base: &str,
        family: Family,
        v6_on: bool,
    ) {
        vmac::configure_vmac(name);
        // Two routers' macvlans share the virtual MAC: IPv6 on it (an EUI-64 link-local, DAD,
        // router solicitations) would send from that MAC on every router. For IPv4 it is off,
        // as keepalived does; IPv6 gets no generated address, only its parent's link-local.
        let r = if family == Family::V6 || v6_on {
            vmac::set_ipv6_no_generated_address(name)
        } else {
            vmac::set_ipv6_disabled(name)
        };
        if let Err(e) = r {
            warn!("{name}: cannot set its IPv6 mode: {e}");
        }
        if let Err(e) = self.rtnl.set_link_up(index) {
            error!("cannot bring {name} up: {e}");
        }
        if family == Family::V6 {
            // The kernel sends from a link-local address only on an interface that has it
            // (keepalived's set_link_local_address: the parent's).
            let ll = self
                .ifaces
                .iter()
                .find(|f| f.name == base)
                .and_then(|f| netlink::link_local_v6(&f.addrs))
                .or_else(|| {
                    let idx = sys::if_nametoindex(base)?;
                    let all = self.rtnl.addrs().ok()?;
                    let on: Vec<_> = all.into_iter().filter(|a| a.index == idx).collect();
                    netlink::link_local_v6(&on)
                });
            match ll {
                Some(a) => {
                    let v = VirtualAddress {
                        prefix_len: 64,
                        scope: Scope::Link,
                        ..VirtualAddress::new(a)
                    };
                    if let Err(e) = self.rtnl.add_address(index, &v) {
                        warn!("cannot put {a} on {name}: {e}");
                    }
                }
                None => warn!("{base} has no link-local address for {name}"),
            }
        } else {
            self.vmac_sysctls.hold(base);
        }
    }

    /// A macvlan on `base` went: its parent's sysctls go back when no IPv4 one is left there.
    fn release_base(&mut self, base: &str) {
        let v4_left = self
            .vmacs
            .values()
            .any(|o| o.spec.base == base && o.spec.family == Family::V4)
            || self
                .addr_vmacs
                .iter()
                .any(|(a, _)| a.base == base && a.family == Family::V4);
        if !v4_left {
            self.vmac_sysctls.release(base);
        }
    }

    pub(super) fn create_vmac(&mut self, inst: &str, spec: VmacSpec) {
        let Some(base) = sys::if_nametoindex(&spec.base) else {
            warn!(
                "({inst}) use_vmac: no interface {} yet; its macvlan comes with it",
                spec.base
            );
            return;
        };
        let Some(index) = self.macvlan(&spec.name, &spec.base, base, spec.mac, inst) else {
            return;
        };
        // An IPv4 instance's macvlan keeps IPv6 on (without a generated address) when it has
        // excluded IPv6 addresses, as keepalived's link_set_ipv6 does (they go on the parent).
        let v6_on = self
            .engine
            .instance_id(inst)
            .and_then(|id| self.engine.instance(id))
            .is_some_and(|v| {
                v.config()
                    .excluded_addresses
                    .iter()
                    .any(|a| a.addr.is_ipv6())
            });
        self.configure_macvlan(&spec.name, index, &spec.base, spec.family, v6_on);
        self.vmac_serial += 1;
        let token = TOKEN_VMAC_BASE + self.vmac_serial;
        let sock = if spec.xmit_base {
            None
        } else {
            // The instance's multicast group (vrrp_mcast_group4/6, mcast_dst_ip).
            let groups: Vec<IpAddr> = self
                .engine
                .instances()
                .filter(|v| v.name() == inst)
                .map(|v| v.config().multicast_group())
                .collect();
            // A VMAC's adverts keep the raw socket (its source MAC is the VMAC's own).
            match VrrpSocket::open(spec.family, &spec.name, index, &groups, false) {
                Ok(s) => {
                    if let Err(e) = self.ep.add(s.raw_fd(), token) {
                        error!("({inst}) {}: cannot watch its socket: {e}", spec.name);
                    }
                    Some(s)
                }
                Err(e) => {
                    error!("({inst}) {}: cannot open a VRRP socket: {e}", spec.name);
                    None
                }
            }
        };
        info!(
            "({inst}) macvlan {} on {} with MAC {}",
            spec.name,
            spec.base,
            vigil_engine::dump::mac_text(&spec.mac)
        );
        self.vmacs.insert(
            inst.to_string(),
            Vmac {
                spec,
                index,
                sock,
                token,
            },
        );
    }

    pub(super) fn remove_vmac(&mut self, inst: &str) {
        let Some(m) = self.vmacs.remove(inst) else {
            return;
        };
        if let Some(s) = m.sock {
            let _ = self.ep.delete(s.raw_fd());
        }
        match self.rtnl.del_link(m.index) {
            Ok(_) => info!("({inst}) removed macvlan {}", m.spec.name),
            Err(e) => warn!("({inst}) cannot remove macvlan {}: {e}", m.spec.name),
        }
        self.release_base(&m.spec.base);
    }
}
