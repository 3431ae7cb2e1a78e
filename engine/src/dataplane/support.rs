//! What the nftables data plane honours, maps or refuses among a virtual server's settings
//! (keepalived.conf(5) "Virtual server(s)"; the reasons `vigild -t` prints).
//!
//! * `lb_kind NAT`: DNAT in the `prerouting` hook of Vigil's own table. The nat hooks see
//!   only a connection's first packet; conntrack carries the translation for the rest of the
//!   connection, so a change of the table (a server removed, inhibited, re-weighted) affects
//!   new connections only and an established connection keeps its real server, as with IPVS.
//!   As for IPVS NAT, the real servers must send their replies back through the director (it
//!   is their route to the clients) and the director must forward (`net.ipv4.ip_forward`).
//! * `nat_mask` (keepalived 0.7's keyword; keepalived 2.x dropped it with its ipchains
//!   wrapper): the seed's ipfwwrapper added `ipchains -A forward -j MASQ -s RS/nat_mask` so
//!   that the real servers' own connections through the director were masqueraded. Here: a
//!   `postrouting` nat chain in Vigil's table, `ip saddr & MASK == NET masquerade` per real
//!   server network. Replies of balanced connections are not affected (conntrack un-DNATs
//!   them; the nat hooks see only a connection's first packet).
//!
//! Every refusal is a configuration error at the `virtual_server` line (or at the
//! `real_server` / `sorry_server` whose own `lb_kind` or address is refused): `vigild -t`
//! fails, the daemon does not start, a reload keeps the running configuration. A service the
//! kernel would not serve must not look configured while only its checkers run (keepalived
//! itself stops its checker process when it cannot initialise IPVS).
//!
//! * `lb_kind DR`: refused (not built). Direct routing sends the client's packet unchanged to
//!   the real server's MAC address. nftables can do that only in the netdev family's ingress
//!   hook (`fwd ip to RS device DEV`, which resolves the real server's neighbour entry), and
//!   the netdev family has no conntrack: the server must be chosen per packet. A hash of the
//!   flow moves established connections whenever the table changes; keeping them would need a
//!   timed set per server keyed by the flow and refreshed by every packet (a per-packet set
//!   update on the fast path), which is not built or measured.
//! * `lb_kind TUN`: refused: IPVS encapsulates each connection's packets (IP-in-IP, GUE, GRE)
//!   towards its real server; nftables has no encapsulating statement.
//! * `persistence_timeout` / `persistence_granularity`: one timed nftables set of clients per
//!   server (`flags dynamic,timeout`, the set's timeout = `persistence_timeout`). A new
//!   connection from a client (its address masked by the granularity) found in a live
//!   server's set goes to that server and refreshes the entry; otherwise the scheduler picks a
//!   server and the client is added to its set. As IPVS's persistence template, a client
//!   stays on its server within the timeout, whatever the table does to other servers.
//!   Differences: the entry's timer restarts at each *new* connection (IPVS's template lives
//!   on while connections it controls are open, then for the timeout); a server that leaves
//!   the table or is inhibited (weight 0) loses its clients at once (their set is flushed: as
//!   IPVS with `expire_quiescent_template` set); the sets are emptied at start and reload.
//! * `persistence_engine`: refused (IPVS's SIP Call-ID engine has no nftables equivalent).
//! * `virtual_server group NAME`: one chain for the virtual server (its one set of real
//!   servers, scheduler and persistence sets) and one dispatch rule per entry of the group
//!   in `prerouting`, all going to that chain: `ip daddr A tcp dport P` for an address,
//!   `ip daddr A-B tcp dport P` for a range (`192.0.2.10-20`, `192.0.2.8/30`), `meta mark N`
//!   for a fwmark entry; all in the one batch that builds the table, so adding or removing
//!   an entry on reload is one transaction. An entry of the other address family (possible
//!   in keepalived only with tunnelled real servers) is refused: NAT cannot translate between
//!   families. A group with address entries applies the real servers' ports to its fwmark
//!   entries as well (for the virtual server's protocol, noted); a group of fwmark entries
//!   only keeps the destination port, as a `fwmark N` service.
//! * `ops` (one-packet scheduling): noted: nftables translates per conntrack flow.
//! * `sh-port` / `mh-port` (and `flag-2`, the same IPVS flag): the source port is hashed too.
//!   `sh-fallback` / `mh-fallback` (and `flag-1`): noted: a server without buckets never gets
//!   a client, with or without the flag. `flag-3`: noted, not honoured (no scheduler reads it).
//! * `virtual_server fwmark N`: packets marked N (by the operator's own rule in an earlier
//!   hook, as for IPVS) are translated to the server's address only: a mark may span
//!   protocols, so the destination port is kept and real server ports are not applied (noted).
//! * A real or sorry server of the other address family: refused (NAT cannot translate
//!   between families).

use super::sched::Scheduling;
use crate::conf::{Family, Forwarding, Granularity, LbAlgo, Location, VirtualServer};

fn family_of(a: &std::net::IpAddr) -> Family {
    if a.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    }
}

/// What to do instead of a forwarding method nftables cannot apply.
const USE_NAT: &str = "use lb_kind NAT (the real servers routing their replies through this director), or run vigild on a kernel with IPVS (CONFIG_IP_VS), where it is applied as by keepalived";

fn forwarding_refusal(f: Forwarding, who: &str) -> Option<String> {
    match f {
        Forwarding::Nat => None,
        Forwarding::Dr => Some(format!(
            "{who}lb_kind DR: direct routing needs the client's packet sent unchanged to the real server's MAC address, which nftables can do only in the netdev family (fwd in ingress), where there is no conntrack: a hash of the flow would move established connections at every change of the table, and per-flow sets are not built; {USE_NAT}"
        )),
        Forwarding::Tun { .. } => Some(format!(
            "{who}lb_kind TUN: IPVS encapsulates each connection (IP-in-IP, GUE, GRE); nftables has no encapsulating statement; {USE_NAT}"
        )),
    }
}

/// Why the nftables data plane cannot apply this virtual server, if it cannot.
pub fn refusal(vs: &VirtualServer) -> Option<String> {
    refused(vs).map(|(_, why)| why)
}

/// [`refusal`], with where the configuration says it: the `virtual_server` line, or the
/// `real_server` / `sorry_server` line whose own setting is refused.
pub fn refused(vs: &VirtualServer) -> Option<(&Location, String)> {
    let at = &vs.loc;
    if let Some(g) = &vs.group {
        let other = g
            .ranges
            .iter()
            .map(|r| (family_of(&r.first), r.first.to_string()))
            .chain(
                g.fwmarks
                    .iter()
                    .map(|(m, f)| (vs.fwmark_family(*f), format!("fwmark {m}"))),
            )
            .find(|(f, _)| *f != vs.family);
        if let Some((_, entry)) = other {
            return Some((at, format!(
                "virtual_server_group {}: entry {entry} is of the other address family than the real servers: NAT cannot translate between families; put it in a group of its own with real servers of its family",
                g.name
            )));
        }
    }
    if let Some(e) = &vs.persistence_engine {
        return Some((at, format!(
            "persistence_engine {e}: IPVS persistence engines have no nftables equivalent; remove it (persistence_timeout is applied), or run vigild on a kernel with IPVS (CONFIG_IP_VS)"
        )));
    }
    if let Some(why) = forwarding_refusal(vs.forwarding, "") {
        return Some((at, why));
    }
    const FAMILY: &str = "its address family differs from the virtual server's: NAT cannot translate between families; give it an address of the virtual server's family";
    for rs in &vs.real_servers {
        let who = format!("real_server {}: ", rs.addr);
        if let Some(why) = forwarding_refusal(rs.forwarding, &who) {
            return Some((&rs.loc, why));
        }
        if family_of(&rs.addr) != vs.family {
            return Some((&rs.loc, format!("{who}{FAMILY}")));
        }
    }
    if let Some(s) = &vs.sorry_server {
        let who = format!("sorry_server {}: ", s.addr);
        if let Some(why) = forwarding_refusal(s.forwarding, &who) {
            return Some((&s.loc, why));
        }
        if family_of(&s.addr) != vs.family {
            return Some((&s.loc, format!("{who}{FAMILY}")));
        }
    }
    None
}

/// What `vigild -t` says about this virtual server and the nftables data plane: how it is
/// applied and every setting mapped or not honoured; nothing when it is refused (the refusal
/// is a configuration error, [`refused`]).
pub fn nftables_notes(vs: &VirtualServer) -> Vec<String> {
    let name = &vs.key;
    if refusal(vs).is_some() {
        return Vec::new();
    }
    let table = match vs.family {
        Family::V4 => "ip vigil",
        Family::V6 => "ip6 vigil",
    };
    let mut notes = vec![format!(
        "virtual_server {name}: applied by the nftables data plane (table {table}): lb_kind NAT as DNAT; the real servers must route their replies through this director, which must forward"
    )];
    if let Some(m) = vs.nat_mask {
        let m = match m {
            Granularity::V4(a) => a.to_string(),
            Granularity::V6(l) => format!("/{l}"),
        };
        notes.push(format!(
            "virtual_server {name}: nat_mask {m}: connections the real servers' networks open through this director are masqueraded (postrouting; keepalived 0.7's ipchains MASQ rule; keepalived 2.x rejects the keyword)"
        ));
    }
    let sched = Scheduling::of(vs);
    if let Some(n) = sched.note {
        notes.push(format!("virtual_server {name}: {n}"));
    }
    if let Some(t) = vs.persistence_timeout {
        notes.push(format!(
            "virtual_server {name}: persistence_timeout {t}: a timed set of clients{} per real server: a client returns to its server for {t} s after its last new connection (IPVS counts from the end of its last connection); a server leaving the table or inhibited loses its clients at once (IPVS's expire_quiescent_template); entries are not kept across a restart or reload",
            if vs.persistence_granularity.is_some() { " (addresses masked by persistence_granularity)" } else { "" },
        ));
    }
    if let Some(g) = &vs.group {
        let n = super::matches_of(vs).len();
        notes.push(format!(
            "virtual_server {name}: {n} entr{} of the group (addresses, ranges, fwmarks) sent to one chain: one set of real servers, checkers and quorum for all of them; one dispatch rule per entry, all built and changed in one transaction",
            if n == 1 { "y" } else { "ies" }
        ));
        if !g.ranges.is_empty() && !g.fwmarks.is_empty() {
            let p = match vs.protocol {
                Some(crate::conf::Protocol::Udp) => "udp",
                Some(crate::conf::Protocol::Sctp) => "sctp",
                _ => "tcp",
            };
            notes.push(format!(
                "virtual_server {name}: the group's fwmark entries share the address entries' chain: marked packets are translated with the real servers' ports, {p} only (IPVS with NAT applies the ports to a fwmark service's TCP and UDP)"
            ));
        }
    }
    let fwmark_only = super::matches_of(vs)
        .iter()
        .all(|m| matches!(m, super::Match::Fwmark(_)));
    if fwmark_only
        && vs
            .real_servers
            .iter()
            .map(|r| r.port)
            .chain(vs.sorry_server.as_ref().map(|s| s.port))
            .any(|p| p != 0)
    {
        notes.push(format!(
            "virtual_server {name}: the real servers' ports are not applied: a fwmark service may span protocols, so its packets keep their destination port (DNAT of the address only)"
        ));
    }
    let f = &vs.sched_flags;
    let fallback = match vs.lb_algo {
        LbAlgo::Sh => f.sh_fallback || f.flag1,
        LbAlgo::Mh => f.mh_fallback || f.flag1,
        _ => false,
    };
    if fallback {
        notes.push(format!(
            "virtual_server {name}: {}-fallback: a server out of the table or inhibited has no buckets, so its clients are hashed over the servers that take connections (the flag's effect; nftables does so with or without it)",
            vs.lb_algo.name()
        ));
    }
    if f.flag3 {
        notes.push(format!(
            "virtual_server {name}: flag-3: not honoured: an IPVS service flag passed to the kernel's scheduler (ip_vs_sh.c and ip_vs_mh.c read flag-1 and flag-2 only); nftables has no scheduler to pass it to"
        ));
    }
    if vs.sched_flags.ops {
        notes.push(format!(
            "virtual_server {name}: ops: not honoured: nftables translates per conntrack flow, not per packet"
        ));
    }
    notes
}
