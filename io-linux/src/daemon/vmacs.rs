//! `use_vmac` macvlans: created, watched and removed (keepalived.conf(5) `use_vmac`,
//! `vmac_xmit_base`).

use super::*;
use vigil_engine::Scope;

impl Daemon {
    /// Make the macvlans those of `plan` (start-up and reload): new ones created, changed ones
    /// re-created, unused ones deleted; then the instance-id index is rebuilt.
    pub(super) fn set_vmacs(&mut self, plan: HashMap<String, VmacSpec>) {
        let stale: Vec<String> = self
            .vmacs
            .iter()
            .filter(|(inst, m)| plan.get(*inst) != Some(&m.spec))
            .map(|(inst, _)| inst.clone())
            .collect();
        for inst in stale {
            self.remove_vmac(&inst);
        }
        for (inst, spec) in plan {
            if !self.vmacs.contains_key(&inst) {
                self.create_vmac(&inst, spec);
            }
        }
        self.vmac_ids = self
            .engine
            .instances()
            .filter(|v| self.vmacs.contains_key(v.name()))
            .map(|v| (v.id(), v.name().to_string()))
            .collect();
    }

    pub(super) fn create_vmac(&mut self, inst: &str, spec: VmacSpec) {
        let Some(base) = sys::if_nametoindex(&spec.base) else {
            warn!(
                "({inst}) use_vmac: no interface {}; adverts use the parent's MAC",
                spec.base
            );
            return;
        };
        if let Some(old) = sys::if_nametoindex(&spec.name) {
            // The plan (vmac::plan) names an existing interface only when it is a macvlan that
            // keepalived would take over or replace: this instance's own, left by a run that
            // did not stop cleanly, or a macvlan of the configured name (its addresses go with
            // it). Any other interface's name is never chosen, so never deleted here.
            if let Ok(true) = self.rtnl.del_link(old) {
                info!("({inst}) removed {}: present before start", spec.name);
            }
        }
        let index = match self.rtnl.add_macvlan(&spec.name, base, spec.mac) {
            Ok(i) => i,
            Err(e) => {
                error!("({inst}) cannot create macvlan {}: {e}", spec.name);
                return;
            }
        };
        vmac::configure_vmac(&spec.name);
        // Two routers' macvlans share the virtual MAC: IPv6 on it (an EUI-64 link-local, DAD,
        // router solicitations) would send from that MAC on every router. For an IPv4
        // instance it is off, as keepalived does, unless an excluded IPv6 address needs it; an
        // IPv6 instance gets no generated address, only its parent's link-local (below).
        let v6 = spec.family == Family::V6
            || self
                .engine
                .instance_id(inst)
                .and_then(|id| self.engine.instance(id))
                .is_some_and(|v| {
                    v.config()
                        .excluded_addresses
                        .iter()
                        .any(|a| a.addr.is_ipv6())
                });
        let r = if v6 {
            vmac::set_ipv6_no_generated_address(&spec.name)
        } else {
            vmac::set_ipv6_disabled(&spec.name)
        };
        if let Err(e) = r {
            warn!("({inst}) {}: cannot set its IPv6 mode: {e}", spec.name);
        }
        if let Err(e) = self.rtnl.set_link_up(index) {
            error!("({inst}) cannot bring {} up: {e}", spec.name);
        }
        if spec.family == Family::V6 {
            // Adverts leave the macvlan from the parent's link-local address (the engine's
            // source): the kernel sends from a link-local address only on an interface that
            // has it.
            let ll = self
                .ifaces
                .iter()
                .find(|f| f.name == spec.base)
                .and_then(|f| netlink::link_local_v6(&f.addrs));
            match ll {
                Some(a) => {
                    let v = VirtualAddress {
                        prefix_len: 64,
                        scope: Scope::Link,
                        ..VirtualAddress::new(a)
                    };
                    if let Err(e) = self.rtnl.add_address(index, &v) {
                        warn!("({inst}) cannot put {a} on {}: {e}", spec.name);
                    }
                }
                None => warn!(
                    "({inst}) {} has no link-local address for {}",
                    spec.base, spec.name
                ),
            }
        } else {
            self.vmac_sysctls.hold(&spec.base);
        }
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
            match VrrpSocket::open(spec.family, &spec.name, index, &groups) {
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
            spec.mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
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
        if !self
            .vmacs
            .values()
            .any(|o| o.spec.base == m.spec.base && o.spec.family == Family::V4)
        {
            self.vmac_sysctls.release(&m.spec.base);
        }
    }
}
