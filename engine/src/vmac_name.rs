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
//! global_defs' `vmac_addr_prefix` names keepalived's macvlans for `use_vmac_addr` and an
//! address's `use_vmac`, which Vigil refuses: there is nothing for it to name (its keyword is a
//! notice).

use std::collections::{BTreeMap, BTreeSet};

use crate::conf::Config;
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

/// The macvlan name of every `use_vmac` instance, by instance name, as keepalived 2.2.7's
/// `vrrp_complete_instance` chooses it: the name of an existing macvlan that matches the
/// instance (`matching`, asked with the instance's name: keepalived's "Found matching
/// interface", a macvlan on the instance's interface with its MAC, which it takes over whatever
/// its name), else the configured one, else the first free candidate. `taken` says whether an
/// interface of that name exists on the system: any interface, a macvlan of another daemon
/// included (keepalived's `create_vmac_name` takes a name only when no interface has it). The
/// dump asks its environment (and has no matching macvlans); vigild asks the kernel.
pub fn vmac_names(
    cfg: &Config,
    taken: &dyn Fn(&str) -> bool,
    matching: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let prefix = cfg.global.vmac_prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
    let mut used: BTreeSet<String> = cfg
        .instances
        .iter()
        .filter_map(|i| i.use_vmac.as_ref()?.name.clone())
        .collect();
    let mut out = BTreeMap::new();
    for i in &cfg.instances {
        let Some(v) = &i.use_vmac else { continue };
        if let Some(n) = matching(&i.name) {
            used.insert(n.clone());
            out.insert(i.name.clone(), n);
            continue;
        }
        if let Some(n) = &v.name {
            out.insert(i.name.clone(), n.clone());
            continue;
        }
        let vrid = i.vrid;
        let name = std::iter::once(candidate(prefix, None, vrid))
            .chain(numbers(i.family).map(|n| candidate(prefix, Some(n), vrid)))
            .find(|n| !used.contains(n) && !taken(n))
            .unwrap_or_else(|| candidate(prefix, None, vrid));
        used.insert(name.clone());
        out.insert(i.name.clone(), name);
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
