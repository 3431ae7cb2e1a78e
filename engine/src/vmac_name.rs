//! The names of `use_vmac` macvlans that the configuration does not name, as keepalived 2.2.7
//! chooses them (vrrp.c, `create_vmac_name`, called from `vrrp_complete_instance` in the order
//! of the instances):
//!
//! - `PREFIX.VRID`, PREFIX being global_defs' `vmac_prefix` (default `vrrp`);
//! - an existing macvlan that matches the instance (on its interface, with its MAC) is taken
//!   over under its own name;
//! - if that name is taken (an instance's configured `use_vmac NAME`, a name chosen for an
//!   earlier instance, or any interface that exists, another daemon's macvlan included),
//!   `PREFIXN.VRID` with N = 1, 2, 3, ... for IPv4; for IPv6, N = 6 first (`vrrp6.VRID`), then
//!   1, 2, 3, 4, 5, 7, ...;
//! - a name longer than an interface name may be (15 bytes, IFNAMSIZ less its NUL) loses the
//!   end of its prefix, so that `.VRID` stays whole.
//!
//! The macvlans of addresses (`use_vmac_addr`, an address's `use_vmac`: [`crate::vmac_addr`])
//! are named in the same pass, right after their instance's own, as keepalived creates them
//! there: with global_defs' `vmac_addr_prefix` (default: `vmac_prefix`, else `vrrp`) and the
//! address's family (an IPv6 one tries `PREFIX6.VRID` second). One serves every address of the
//! instances with the same interface and MAC (keepalived's `if_get_by_vmac`); an existing
//! macvlan on that interface with that MAC is taken over under its own name.

use std::collections::{BTreeMap, BTreeSet};

use crate::conf::Config;
use crate::vmac_addr::{may_have_own_vmac, place, Placement, VmacSettings};
use crate::wire::ethernet::virtual_mac;
use crate::wire::Family;

/// keepalived's default prefix.
pub const DEFAULT_PREFIX: &str = "vrrp";

/// The longest interface name (IFNAMSIZ, 16, less the terminating NUL).
pub const MAX_IFNAME: usize = 15;

/// Candidate names tried before giving up (keepalived tries until one is free).
const MAX_TRIES: u32 = 1000;

/// The `n`th candidate name (0: `PREFIX.VRID`; then `PREFIXN.VRID`), shortened as keepalived
/// does.
pub fn candidate(prefix: &str, num: Option<u32>, vrid: u8) -> String {
    let tail = match num {
        None => format!(".{vrid}"),
        Some(n) => format!("{n}.{vrid}"),
    };
    let keep = MAX_IFNAME.saturating_sub(tail.len());
    let head: String = if prefix.len() > keep {
        // Whole characters only (a prefix is ASCII in practice).
        let mut end = keep;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        prefix[..end].to_string()
    } else {
        prefix.to_string()
    };
    format!("{head}{tail}")
}

/// The numbers keepalived tries after `PREFIX.VRID`, in its order.
fn numbers(family: Family) -> impl Iterator<Item = u32> {
    let v6 = family == Family::V6;
    let first = v6.then_some(6);
    first.into_iter().chain(
        (1..)
            .filter(move |&n| !(v6 && n == 6))
            .take(MAX_TRIES as usize),
    )
}

/// The macvlan name of every `use_vmac` instance, by instance name ([`plan`]'s `instances`,
/// with no existing macvlan of an address to take over).
pub fn vmac_names(
    cfg: &Config,
    taken: &dyn Fn(&str) -> bool,
    matching: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    plan(cfg, taken, matching, &|_, _| None).instances
}

/// A macvlan that carries addresses of its own ([`crate::vmac_addr`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressVmac {
    /// Its name.
    pub name: String,
    /// The interface it is on.
    pub base: String,
    /// Its MAC: the address family's virtual MAC for the VRID, or the instance's `use_vmac` MAC.
    pub mac: [u8; 6],
    /// The family of its addresses (IPv6 on it or not).
    pub family: Family,
    /// The VRID of the instance that made it first.
    pub vrid: u8,
    /// Whose addresses it carries: instance name and address family.
    pub users: Vec<(String, Family)>,
}

/// Every macvlan of a configuration, named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmacPlan {
    /// Each `use_vmac` instance's macvlan name, by instance name.
    pub instances: BTreeMap<String, String>,
    /// The macvlans of addresses, in creation order.
    pub addresses: Vec<AddressVmac>,
}

impl VmacPlan {
    /// The macvlan of addresses on `base` with `mac`.
    pub fn address_vmac(&self, base: &str, mac: [u8; 6]) -> Option<&AddressVmac> {
        self.addresses
            .iter()
            .find(|a| a.base == base && a.mac == mac)
    }
}

impl AddressVmac {
    /// Whether it carries the `family` addresses of instance `instance` on `base`.
    pub fn carries(&self, instance: &str, base: &str, family: Family) -> bool {
        self.base == base
            && self
                .users
                .iter()
                .any(|(i, f)| i == instance && *f == family)
    }
}

/// The MAC written after `use_vmac` for VRID `vrid`: six octets, or five, "in which case the
/// virtual_router_id will be used as the last octet" (keepalived.conf(5)).
pub fn written_mac(s: &str, vrid: u8) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if !matches!(parts.len(), 5 | 6) {
        return None;
    }
    let mut out = [0u8; 6];
    out[5] = vrid;
    for (b, p) in out.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

/// The MAC of the macvlan of an address of family `family` of instance `i`: the instance's
/// written `use_vmac` MAC (keepalived's `VRRP_VMAC_MAC_SPECIFIED`), else the family's virtual
/// MAC.
pub fn address_vmac_mac(i: &crate::conf::VrrpInstance, family: Family) -> [u8; 6] {
    i.use_vmac
        .as_ref()
        .and_then(|v| v.mac.as_deref())
        .and_then(|m| written_mac(m, i.vrid))
        .unwrap_or_else(|| virtual_mac(family, i.vrid))
}

/// Every macvlan name, as keepalived 2.2.7's `vrrp_complete_instance` chooses them, instance by
/// instance in file order: the instance's own (the name of an existing macvlan that matches the
/// instance, `matching`, asked with the instance's name: keepalived's "Found matching
/// interface", a macvlan on the instance's interface with its MAC, which it takes over whatever
/// its name; else the configured one; else the first free candidate), then its addresses'
/// (one already planned for that interface and MAC, else an existing macvlan there with that
/// MAC, `matching_address`, else the first free candidate of `vmac_addr_prefix`). `taken` says
/// whether an interface of that name exists on the system: any interface, a macvlan of
/// another daemon included (keepalived's `create_vmac_name` takes a name only when no interface
/// has it). The dump asks its environment (and has no matching macvlans); vigild asks the
/// kernel.
pub fn plan(
    cfg: &Config,
    taken: &dyn Fn(&str) -> bool,
    matching: &dyn Fn(&str) -> Option<String>,
    matching_address: &dyn Fn(&str, [u8; 6]) -> Option<String>,
) -> VmacPlan {
    let prefix = cfg.global.vmac_prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
    let addr_prefix = cfg.global.vmac_addr_prefix.as_deref().unwrap_or(prefix);
    let mut used: BTreeSet<String> = cfg
        .instances
        .iter()
        .filter_map(|i| i.use_vmac.as_ref()?.name.clone())
        .collect();
    let mut out = VmacPlan::default();
    let free = |used: &mut BTreeSet<String>, prefix: &str, vrid: u8, family: Family| {
        let name = std::iter::once(candidate(prefix, None, vrid))
            .chain(numbers(family).map(|n| candidate(prefix, Some(n), vrid)))
            .find(|n| !used.contains(n) && !taken(n))
            .unwrap_or_else(|| candidate(prefix, None, vrid));
        used.insert(name.clone());
        name
    };
    for i in &cfg.instances {
        if let Some(v) = &i.use_vmac {
            let name = if let Some(n) = matching(&i.name) {
                used.insert(n.clone());
                n
            } else if let Some(n) = &v.name {
                n.clone()
            } else {
                free(&mut used, prefix, i.vrid, i.family)
            };
            out.instances.insert(i.name.clone(), name);
        }
        let Some(interface) = i
            .interface
            .as_deref()
            .or(cfg.global.default_interface.as_deref())
        else {
            continue;
        };
        let s = VmacSettings {
            interface,
            family: i.family,
            instance_vmac: i.use_vmac.is_some(),
            use_vmac_addr: i.use_vmac_addr,
        };
        for l in i.virtual_addresses.iter().chain(&i.excluded_addresses) {
            if !may_have_own_vmac(&s, l.options.use_vmac) {
                continue;
            }
            let Ok(Placement::AddressVmac(base)) = place(&s, &l.address, l.options.use_vmac) else {
                continue;
            };
            let family = Family::of(&l.address.addr);
            let mac = address_vmac_mac(i, family);
            let user = (i.name.clone(), family);
            if let Some(a) = out
                .addresses
                .iter_mut()
                .find(|a| a.base == base && a.mac == mac)
            {
                if !a.users.contains(&user) {
                    a.users.push(user);
                }
                continue;
            }
            let name = match matching_address(base, mac) {
                Some(n) => {
                    used.insert(n.clone());
                    n
                }
                None => free(&mut used, addr_prefix, i.vrid, family),
            };
            out.addresses.push(AddressVmac {
                name,
                base: base.to_string(),
                mac,
                family,
                vrid: i.vrid,
                users: vec![user],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf;

    fn names(text: &str, taken: &[&str]) -> Vec<(String, String)> {
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        vmac_names(&cfg, &|n| taken.contains(&n), &|_| None)
            .into_iter()
            .collect()
    }

    fn inst(name: &str, vrid: u8, vip: &str, vmac: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n use_vmac {vmac}\n\
             virtual_ipaddress {{ {vip} }}\n}}\n"
        )
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_default_is_vrrp_dot_vrid() {
        assert_eq!(
            names(&inst("A", 51, "192.0.2.1", ""), &[]),
            pairs(&[("A", "vrrp.51")])
        );
    }

    #[test]
    fn vmac_prefix_replaces_vrrp() {
        let t = format!(
            "global_defs {{\n vmac_prefix vm\n}}\n{}",
            inst("A", 51, "192.0.2.1", "")
        );
        assert_eq!(names(&t, &[]), pairs(&[("A", "vm.51")]));
    }

    #[test]
    fn the_same_vrid_in_both_families_gives_the_ipv6_one_vrrp6() {
        let t = inst("A", 51, "192.0.2.1", "") + &inst("B", 51, "2001:db8::1", "");
        assert_eq!(
            names(&t, &[]),
            pairs(&[("A", "vrrp.51"), ("B", "vrrp6.51")])
        );
    }

    #[test]
    fn taken_names_move_on_in_keepalived_order() {
        // IPv4: 1, 2, ...; a configured name and an existing interface are taken.
        let t = inst("A", 7, "192.0.2.1", "vrrp.7")
            + &inst("B", 7, "198.51.100.1", "").replace("eth0", "eth1");
        assert_eq!(
            names(&t, &["vrrp1.7"]),
            pairs(&[("A", "vrrp.7"), ("B", "vrrp2.7")])
        );
        // IPv6: 6 first, then 1..5, then 7 (6 is not tried twice).
        let t = inst("C", 9, "2001:db8::1", "");
        assert_eq!(
            names(
                &t,
                &["vrrp.9", "vrrp6.9", "vrrp1.9", "vrrp2.9", "vrrp3.9", "vrrp4.9", "vrrp5.9"]
            ),
            pairs(&[("C", "vrrp7.9")])
        );
    }

    #[test]
    fn a_matching_macvlan_is_taken_over_whatever_its_name() {
        // keepalived's "Found matching interface": B's macvlan exists as vrrp3.7 (a run that
        // did not stop), A's default name is taken by some other interface.
        let t = inst("A", 7, "192.0.2.1", "") + &inst("B", 8, "192.0.2.2", "");
        let cfg = conf::parse_str(&t).unwrap_or_else(|e| panic!("{e}"));
        let got = vmac_names(&cfg, &|n| n == "vrrp.7" || n == "vrrp3.7", &|i| {
            (i == "B").then(|| "vrrp3.7".to_string())
        });
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            pairs(&[("A", "vrrp1.7"), ("B", "vrrp3.7")])
        );
    }

    /// keepalived 2.2.7: the instance's own name first, then its addresses' macvlans with
    /// vmac_addr_prefix, one per interface and MAC; an IPv6 one moves to PREFIX6.VRID when
    /// PREFIX.VRID is taken; an existing macvlan with the MAC is taken over.
    #[test]
    fn address_macvlans_are_named_after_their_instance_s() {
        let t = "global_defs {\n vmac_addr_prefix va\n}\n\
                 vrrp_instance A {\n interface eth0\n virtual_router_id 7\n use_vmac\n use_vmac_addr\n\
                 virtual_ipaddress {\n 192.0.2.1/24\n 198.51.100.1/24 dev eth1\n 198.51.100.2/24 dev eth1\n}\n\
                 virtual_ipaddress_excluded {\n 2001:db8::1/64\n 2001:db8:1::1/64 dev eth1\n}\n}\n\
                 vrrp_instance B {\n interface eth2\n virtual_router_id 9\n\
                 virtual_ipaddress {\n 203.0.113.1/24 dev eth1 use_vmac\n 203.0.113.2/24 use_vmac\n}\n}\n";
        let cfg = conf::parse_str(t).unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&cfg, &|n| n == "va.9", &|_| None, &|base, mac| {
            (base == "eth2" && mac == [0, 0, 0x5e, 0, 1, 9]).then(|| "old9".to_string())
        });
        assert_eq!(p.instances["A"], "vrrp.7");
        let got: Vec<(&str, &str, [u8; 6])> = p
            .addresses
            .iter()
            .map(|a| (a.name.as_str(), a.base.as_str(), a.mac))
            .collect();
        assert_eq!(
            got,
            [
                ("va.7", "eth1", [0, 0, 0x5e, 0, 1, 7]),
                ("va6.7", "eth0", [0, 0, 0x5e, 0, 2, 7]),
                ("va1.7", "eth1", [0, 0, 0x5e, 0, 2, 7]),
                ("va1.9", "eth1", [0, 0, 0x5e, 0, 1, 9]),
                ("old9", "eth2", [0, 0, 0x5e, 0, 1, 9]),
            ]
        );
    }

    #[test]
    fn a_written_mac_takes_five_or_six_octets() {
        assert_eq!(
            written_mac("02:00:5e:00:01", 51),
            Some([2, 0, 0x5e, 0, 1, 51])
        );
        assert_eq!(
            written_mac("02:00:5e:00:01:07", 51),
            Some([2, 0, 0x5e, 0, 1, 7])
        );
        for bad in [
            "02:00:5e:00",
            "02:00:5e:00:01:07:08",
            "zz:00:5e:00:01",
            "020:0:5e:0:1",
        ] {
            assert_eq!(written_mac(bad, 51), None, "{bad}");
        }
    }

    #[test]
    fn a_long_prefix_is_cut_so_the_vrid_stays_whole() {
        assert_eq!(
            candidate("averyveryverylongprefix", None, 255),
            "averyveryve.255"
        );
        assert_eq!(
            candidate("averyveryverylongprefix", Some(12), 255).len(),
            MAX_IFNAME
        );
        assert!(candidate("averyveryverylongprefix", Some(12), 255).ends_with("12.255"));
        assert_eq!(candidate("vrrp", None, 1), "vrrp.1");
    }
}
