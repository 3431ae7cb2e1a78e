//! What the IPVS data plane (io-linux's generic netlink backend, for kernels with
//! `CONFIG_IP_VS`) honours or refuses among a virtual server's settings (keepalived.conf(5)
//! "Virtual server(s)"; the reasons `vigild -t` prints when the host gets IPVS).
//!
//! IPVS is what keepalived drives, so almost every setting is the kernel's own:
//!
//! * `lb_algo`: the IPVS scheduler of that name (`ip_vs_<name>` module; a scheduler the
//!   kernel lacks is refused by the kernel with ENOENT, reported at start).
//! * `lb_kind NAT | DR | TUN` (per virtual server, or per real server): the destination's
//!   forwarding method (`IP_VS_CONN_F_MASQ`, `DROUTE`, `TUNNEL` with its type, GUE port and
//!   checksum flags).
//! * `persistence_timeout`, `persistence_granularity`, `persistence_engine`, `ops`, the
//!   scheduler flags (`sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`, `flag-1..3`):
//!   service flags, timeout, netmask and persistence engine, as keepalived sends them.
//! * `weight`, `uthreshold`, `lthreshold`: the destination's.
//! * `virtual_server group NAME`: as keepalived's `ipvs_group_cmd` (ipvswrapper.c): one IPVS
//!   service per address of each address entry (a range `192.0.2.10-20` is eleven services),
//!   at the entry's port, and one per fwmark entry (of the entry's family, else the virtual
//!   server's), each with the same scheduler, flags, timeout and destinations. The
//!   destination port is the real server's with NAT, else the entry's (0 for a fwmark
//!   entry). keepalived's `ipvs_group_range_cmd` resets the netmask of every group service to
//!   /32 (/128), so `persistence_granularity` is not applied to a group: sent the same way
//!   (noted). A repeated entry is one service (keepalived ignores the EEXIST of the second).
//! * A real server of the other address family: only with `lb_kind TUN` (the kernel accepts
//!   a destination of another family for tunnelling only, `ip_vs_ctl.c`: "Only tunnel
//!   allowed for mixed families").
//! * A refusal is a configuration error at its line (`vigild -t` fails, the daemon does not
//!   start, a reload keeps the running configuration), as on an nftables host.
//! * `nat_mask` (keepalived 0.7's ipchains rule): not applied by IPVS (noted): the real
//!   servers' own connections are not masqueraded.

use std::net::IpAddr;

use crate::conf::{Family, Forwarding, Location, VirtualServer};

/// How many addresses a group's range entry holds (keepalived walks the range one address at a
/// time: the whole IPv4 address, the last 16 bits of an IPv6 one).
pub fn group_range_len(first: IpAddr, last: IpAddr) -> u64 {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u64::from(u32::from(b).saturating_sub(u32::from(a))) + 1,
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            u64::from(b.segments()[7].saturating_sub(a.segments()[7])) + 1
        }
        _ => 1,
    }
}

fn family_of(a: &std::net::IpAddr) -> Family {
    if a.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    }
}

/// Why the IPVS data plane cannot apply this virtual server, if it cannot.
pub fn ipvs_refusal(vs: &VirtualServer) -> Option<String> {
    ipvs_refused(vs).map(|(_, why)| why)
}

/// [`ipvs_refusal`], with where the configuration says it: the `virtual_server` line, or the
/// `real_server` / `sorry_server` line that is refused.
pub fn ipvs_refused(vs: &VirtualServer) -> Option<(&Location, String)> {
    let servers = vs
        .real_servers
        .iter()
        .map(|r| ("real_server", r.addr, r.forwarding, &r.loc))
        .chain(
            vs.sorry_server
                .as_ref()
                .map(|s| ("sorry_server", s.addr, s.forwarding, &s.loc)),
        );
    for (what, addr, fwd, loc) in servers {
        if family_of(&addr) != vs.family && !matches!(fwd, Forwarding::Tun { .. }) {
            return Some((loc, format!(
                "{what} {addr}: its address family differs from the virtual server's: IPVS accepts that for lb_kind TUN only; give it an address of the virtual server's family, or use lb_kind TUN"
            )));
        }
    }
    None
}

/// What `vigild -t` says about this virtual server when the host's data plane is IPVS: how it
/// is applied and what is not honoured; nothing when it is refused (the refusal is a
/// configuration error, [`ipvs_refused`]).
pub fn ipvs_notes(vs: &VirtualServer) -> Vec<String> {
    let name = &vs.key;
    if ipvs_refusal(vs).is_some() {
        return Vec::new();
    }
    let mut notes = vec![format!(
        "virtual_server {name}: applied by the IPVS data plane (generic netlink, as keepalived): scheduler {}, lb_kind as configured per real server",
        vs.lb_algo.name()
    )];
    if let Some(g) = &vs.group {
        let addrs: u64 = g
            .ranges
            .iter()
            .map(|r| group_range_len(r.first, r.last))
            .sum();
        notes.push(format!(
            "virtual_server {name}: one IPVS service per address and per fwmark entry of the group ({addrs} address service{}, {} fwmark service{}), each with the same destinations, as keepalived",
            if addrs == 1 { "" } else { "s" },
            g.fwmarks.len(),
            if g.fwmarks.len() == 1 { "" } else { "s" },
        ));
        if vs.persistence_granularity.is_some() {
            notes.push(format!(
                "virtual_server {name}: persistence_granularity: not applied to a group's services: keepalived 2.2.7 sends them with the netmask /32 (/128) (ipvs_group_range_cmd), and so does Vigil"
            ));
        }
    }
    if vs.nat_mask.is_some() {
        notes.push(format!(
            "virtual_server {name}: nat_mask: not applied by the IPVS data plane (the nftables data plane's masquerade rule): the real servers' own connections are not masqueraded"
        ));
    }
    notes
}
