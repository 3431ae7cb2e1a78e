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
//! * `virtual_server group`: refused for now (keepalived expands a group into one IPVS service
//!   per address, range entry and fwmark; the expansion is not built).
//! * A real server of the other address family: only with `lb_kind TUN` (the kernel accepts
//!   a destination of another family for tunnelling only, `ip_vs_ctl.c`: "Only tunnel
//!   allowed for mixed families").
//! * `nat_mask` (keepalived 0.7's ipchains rule): not applied by IPVS (noted): the real
//!   servers' own connections are not masqueraded.

use crate::conf::{Family, Forwarding, ServiceKey, VirtualServer};

fn family_of(a: &std::net::IpAddr) -> Family {
    if a.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    }
}

/// Why the IPVS data plane cannot apply this virtual server, if it cannot.
pub fn ipvs_refusal(vs: &VirtualServer) -> Option<String> {
    if let ServiceKey::Group(g) = &vs.key {
        return Some(format!(
            "virtual_server group {g}: the expansion of a group into one IPVS service per address, range entry and fwmark is not built yet"
        ));
    }
    let servers = vs
        .real_servers
        .iter()
        .map(|r| ("real_server", r.addr, r.forwarding))
        .chain(
            vs.sorry_server
                .as_ref()
                .map(|s| ("sorry_server", s.addr, s.forwarding)),
        );
    for (what, addr, fwd) in servers {
        if family_of(&addr) != vs.family && !matches!(fwd, Forwarding::Tun { .. }) {
            return Some(format!(
                "{what} {addr}: its address family differs from the virtual server's: IPVS accepts that for lb_kind TUN only"
            ));
        }
    }
    None
}

/// What `vigild -t` says about this virtual server when the host's data plane is IPVS: one
/// line when it is refused, else how it is applied and what is not honoured.
pub fn ipvs_notes(vs: &VirtualServer) -> Vec<String> {
    let name = &vs.key;
    if let Some(why) = ipvs_refusal(vs) {
        return vec![format!(
            "virtual_server {name}: not applied by the IPVS data plane: {why}; its health checkers run and its table shows in `vigild status`"
        )];
    }
    let mut notes = vec![format!(
        "virtual_server {name}: applied by the IPVS data plane (generic netlink, as keepalived): scheduler {}, lb_kind as configured per real server",
        vs.lb_algo.name()
    )];
    if vs.nat_mask.is_some() {
        notes.push(format!(
            "virtual_server {name}: nat_mask: not applied by the IPVS data plane (the nftables data plane's masquerade rule): the real servers' own connections are not masqueraded"
        ));
    }
    notes
}
