//! Routes and addresses through netlink for what a MASTER installs besides its advertised
//! addresses, and `static_ipaddress` / `static_routes`, installed for as long as the daemon
//! runs.
//!
//! Nothing here decides anything. `virtual_ipaddress_excluded` and `virtual_routes` follow
//! MASTER through the engine's actions (`AddExcludedAddresses`, `AddRoutes` and their
//! removals, in keepalived's order); the configured routes are converted once, by
//! [`vigil_engine::from_conf::virtual_route`], for the engine and for the static routes alike.
//! The static addresses and routes are not protocol: keepalived installs them at start-up
//! whatever the VRRP state and removes them on stop (its `start_vrrp` / `stop_vrrp`), and so
//! does vigild ([`statics_of`], the daemon's `extras.rs`).
//!
//! Routes go through rtnetlink with protocol `keepalived` (18), like keepalived's, so that
//! `ip route show proto keepalived` lists them. Every option of keepalived's route line that
//! the keyword table honours goes into the message ([`message`]): destination, `via`/`gw`,
//! `src`, `dev`, `table`, `metric`, `scope`, the types `blackhole`, `unreachable`, `prohibit`,
//! `throw`, the metrics, `nexthop` groups, `encap` and `ttl-propagate` (`route_encap.rs`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric, RouteNextHop,
    RouteNextHopFlags, RoutePreference, RouteProtocol, RouteRealm, RouteScope, RouteType,
};
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleHeader, RuleMessage, RulePortRange,
    RuleUidRange,
};
use netlink_packet_route::{AddressFamily, IpProtocol};
use vigil_engine::conf::{self, Diagnostic};
use vigil_engine::from_conf::virtual_route;
use vigil_engine::setup::{RouteKind, RuleAction, VirtualRoute, VirtualRule};
use vigil_engine::VirtualAddress;

use crate::route_encap;

fn route_type(k: RouteKind) -> RouteType {
    match k {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Throw => RouteType::Throw,
    }
}

/// The netlink message for `r`, its `dev` resolved to `oif`.
pub fn message(r: &VirtualRoute, oif: Option<u32>, nexthop_oifs: &[Option<u32>]) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = match r.to {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.destination_prefix_length = r.prefix_len;
    m.header.protocol = RouteProtocol::KeepAlived;
    m.header.kind = route_type(r.kind);
    // keepalived's netlink_route: universe unless the line gives a scope (not ip route's
    // link for a route without a gateway: `ip route show` prints keepalived's dev-only routes
    // `scope global`, and so must vigild's; found by the encap routes' live differential).
    m.header.scope = match r.scope {
        Some(s) => RouteScope::from(s),
        None => RouteScope::Universe,
    };
    match u8::try_from(r.table) {
        Ok(t) => m.header.table = t,
        Err(_) => {
            m.header.table = RouteHeader::RT_TABLE_UNSPEC;
        }
    }
    m.attributes.push(RouteAttribute::Table(r.table));
    m.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(r.to)));
    if let Some(v) = r.via {
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(v)));
    }
    if let Some(s) = r.src {
        m.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(s)));
    }
    if let Some(i) = oif {
        m.attributes.push(RouteAttribute::Oif(i));
    }
    if let Some(p) = r.metric {
        m.attributes.push(RouteAttribute::Priority(p));
    }
    attributes(&mut m, r, nexthop_oifs);
    m
}

fn realm(r: u32) -> RouteRealm {
    RouteRealm {
        source: (r >> 16) as u16,
        destination: (r & 0xffff) as u16,
    }
}

/// The attributes of a route line beyond destination, gateway, source, interface, table and
/// metric, as keepalived's `netlink_route` puts them in the message: header fields (`tos`,
/// `protocol`, `onlink`, the `from` prefix length), `RTA_METRICS`, `RTA_MULTIPATH` (the nexthops,
/// each `dev` resolved by the caller into `nexthop_oifs`, each with its `encap`), realms, expiry,
/// preference, `encap` and `ttl-propagate`.
fn attributes(m: &mut RouteMessage, r: &VirtualRoute, nexthop_oifs: &[Option<u32>]) {
    let a = &r.attrs;
    if let Some(t) = a.tos {
        m.header.tos = t;
    }
    if let Some(p) = a.protocol {
        m.header.protocol = RouteProtocol::from(p);
    }
    if a.onlink {
        m.header.flags |= RouteFlags::Onlink;
    }
    if let Some((f, len)) = a.from {
        m.header.source_prefix_length = len;
        m.attributes
            .push(RouteAttribute::Source(RouteAddress::from(f)));
    }
    if let Some(re) = a.realms {
        m.attributes.push(RouteAttribute::Realm(realm(re)));
    }
    if let Some(e) = a.expires {
        m.attributes.push(RouteAttribute::Expires(e));
    }
    if let Some(p) = a.pref {
        m.attributes
            .push(RouteAttribute::Preference(RoutePreference::from(p)));
    }
    if let Some(e) = &a.encap {
        m.attributes.extend(route_encap::attributes(e));
    }
    if let Some(t) = a.ttl_propagate {
        m.attributes.push(route_encap::ttl_propagate(t));
    }
    let mut metrics = Vec::new();
    if let Some(c) = &a.congctl {
        metrics.push(RouteMetric::CcAlgo(c.clone()));
    }
    let u32s = [
        (a.rtt, RouteMetric::Rtt as fn(u32) -> RouteMetric),
        (a.rttvar, RouteMetric::RttVar),
        (a.rto_min, RouteMetric::RtoMin),
        (a.ecn.then_some(1), RouteMetric::Features),
        (a.mtu, RouteMetric::Mtu),
        (a.window, RouteMetric::Window),
        (a.ssthresh, RouteMetric::SsThresh),
        (a.cwnd, RouteMetric::Cwnd),
        (a.advmss, RouteMetric::Advmss),
        (a.reordering, RouteMetric::Reordering),
        (a.hoplimit.map(u32::from), RouteMetric::Hoplimit),
        (a.initcwnd, RouteMetric::InitCwnd),
        (a.initrwnd, RouteMetric::InitRwnd),
        (a.quickack, RouteMetric::QuickAck),
        (a.fastopen_no_cookie, RouteMetric::FastopenNoCookie),
    ];
    for (v, make) in u32s {
        if let Some(v) = v {
            metrics.push(make(v));
        }
    }
    if !metrics.is_empty() {
        if a.lock != 0 {
            metrics.push(RouteMetric::Lock(a.lock));
        }
        m.attributes.push(RouteAttribute::Metrics(metrics));
    }
    if !a.nexthops.is_empty() {
        let hops = a
            .nexthops
            .iter()
            .enumerate()
            .map(|(i, nh)| {
                let mut attrs = Vec::new();
                if let Some(v) = nh.via {
                    attrs.push(RouteAttribute::Gateway(RouteAddress::from(v)));
                }
                if let Some(re) = nh.realms {
                    attrs.push(RouteAttribute::Realm(realm(re)));
                }
                if let Some(e) = &nh.encap {
                    attrs.extend(route_encap::attributes(e));
                }
                let mut hop = RouteNextHop::default();
                if nh.onlink {
                    hop.flags = RouteNextHopFlags::Onlink;
                }
                // The kernel's weight is hops + 1.
                hop.hops = nh.weight.map_or(0, |w| (w.saturating_sub(1)) as u8);
                hop.interface_index = nexthop_oifs.get(i).copied().flatten().unwrap_or(0);
                hop.attributes = attrs;
                hop
            })
            .collect();
        m.attributes.push(RouteAttribute::MultiPath(hops));
    }
}

/// What identifies a route to the kernel (family, table, destination, tos, metric): whether
/// `seen` (a deletion the kernel reported) is route `r`. A metric the configuration leaves
/// unset is not compared (the kernel gives IPv6 routes 1024).
pub fn is_route(seen: &RouteMessage, r: &VirtualRoute) -> bool {
    let want = message(r, None, &[]);
    let table = |m: &RouteMessage| {
        m.attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(m.header.table))
    };
    let dst = |m: &RouteMessage| {
        m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(d) => Some(d.clone()),
            _ => None,
        })
    };
    let prio = |m: &RouteMessage| {
        m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
    };
    let zero = |d: Option<RouteAddress>, len: u8| if len == 0 { None } else { d };
    seen.header.address_family == want.header.address_family
        && seen.header.destination_prefix_length == want.header.destination_prefix_length
        && seen.header.tos == want.header.tos
        && table(seen) == table(&want)
        && zero(dst(seen), seen.header.destination_prefix_length)
            == zero(dst(&want), want.header.destination_prefix_length)
        && (r.metric.is_none() || prio(seen) == prio(&want))
}

/// Whether `seen` (a rule deletion the kernel reported) is rule `r`: family, preference,
/// action, and the source and destination prefixes.
pub fn is_rule(seen: &RuleMessage, r: &VirtualRule) -> bool {
    let want = rule_message(r);
    let key = |m: &RuleMessage| {
        let mut k: Vec<RuleAttribute> = m
            .attributes
            .iter()
            .filter(|a| {
                // A zero-length prefix is "all": the kernel leaves it out.
                match a {
                    RuleAttribute::Source(_) => m.header.src_len != 0,
                    RuleAttribute::Destination(_) => m.header.dst_len != 0,
                    _ => matches!(
                        a,
                        RuleAttribute::Priority(_)
                            | RuleAttribute::FwMark(_)
                            | RuleAttribute::Goto(_)
                    ),
                }
            })
            .cloned()
            .collect();
        k.sort_by_key(|a| format!("{a:?}"));
        (
            m.header.family,
            m.header.action,
            m.header.src_len,
            m.header.dst_len,
            k,
        )
    };
    key(seen) == key(&want)
}

/// The netlink message for a policy routing rule (keepalived's `netlink_rule`): `NLM_F_CREATE |
/// NLM_F_EXCL` to add, the same message to delete.
pub fn rule_message(r: &VirtualRule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = if r.ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    m.header.tos = r.tos;
    m.header.table = RuleHeader::default().table;
    if r.invert {
        m.header.flags |= RuleFlags::Invert;
    }
    m.header.action = match r.action {
        RuleAction::Table(_) | RuleAction::L3mdev => NlRuleAction::ToTable,
        RuleAction::Goto(_) => NlRuleAction::Goto,
        RuleAction::Nop => NlRuleAction::Nop,
        RuleAction::Blackhole => NlRuleAction::Blackhole,
        RuleAction::Unreachable => NlRuleAction::Unreachable,
        RuleAction::Prohibit => NlRuleAction::Prohibit,
    };
    if let RuleAction::Table(t) = r.action {
        match u8::try_from(t) {
            Ok(t) => m.header.table = t,
            Err(_) => m.attributes.push(RuleAttribute::Table(t)),
        }
    }
    if let RuleAction::Goto(g) = r.action {
        m.attributes.push(RuleAttribute::Goto(g));
    }
    if let Some((a, len)) = r.from {
        m.header.src_len = len;
        m.attributes.push(RuleAttribute::Source(a));
    }
    if let Some((a, len)) = r.to {
        m.header.dst_len = len;
        m.attributes.push(RuleAttribute::Destination(a));
    }
    m.attributes.push(RuleAttribute::Priority(r.priority));
    if let Some((mark, mask)) = r.fwmark {
        m.attributes.push(RuleAttribute::FwMark(mark));
        if let Some(k) = mask {
            m.attributes.push(RuleAttribute::FwMask(k));
        }
    }
    if let Some(re) = r.realms {
        m.attributes.push(RuleAttribute::Realm(realm(re)));
    }
    if let Some(p) = r.suppress_prefixlength {
        m.attributes.push(RuleAttribute::SuppressPrefixLen(p));
    }
    if let Some(g) = r.suppress_ifgroup {
        m.attributes.push(RuleAttribute::SuppressIfGroup(g));
    }
    if let Some(i) = &r.iif {
        m.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &r.oif {
        m.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(t) = r.tunnel_id.filter(|t| *t != 0) {
        m.attributes.push(RuleAttribute::TunId(t));
    }
    if let Some((start, end)) = r.uidrange {
        m.attributes
            .push(RuleAttribute::UidRange(RuleUidRange { start, end }));
    }
    if matches!(r.action, RuleAction::L3mdev) {
        m.attributes.push(RuleAttribute::L3MDev(true));
    }
    if let Some(p) = r.protocol {
        m.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(p)));
    }
    if let Some(p) = r.ipproto {
        m.attributes
            .push(RuleAttribute::IpProtocol(IpProtocol::from(p)));
    }
    if let Some((start, end)) = r.sport {
        m.attributes
            .push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
    }
    if let Some((start, end)) = r.dport {
        m.attributes
            .push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
    }
    m
}

/// The host's routing table names, `/etc/iproute2/rt_tables`, read as keepalived reads it for
/// `table NAME` on routes and rules (`lib/rttables.c`: lines of exactly a number and a name,
/// `#` comments; the kernel's `main`, `local` and `default` are known without it). An
/// unreadable file gives no names (a named table is then refused at its line).
pub fn rt_tables() -> BTreeMap<String, u32> {
    std::fs::read_to_string("/etc/iproute2/rt_tables")
        .map(|t| parse_rt_tables(&t))
        .unwrap_or_default()
}

fn parse_rt_tables(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        let [number, name] = words[..] else { continue };
        let n = match number.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => number.parse().ok(),
        };
        if let Some(n) = n {
            out.entry(name.to_string()).or_insert(n);
        }
    }
    out
}

/// `static_ipaddress` and `static_routes`: what the daemon installs for as long as it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statics {
    /// `static_ipaddress` (each names its interface).
    pub addresses: Vec<VirtualAddress>,
    /// `static_routes`.
    pub routes: Vec<VirtualRoute>,
    /// `static_rules`.
    pub rules: Vec<VirtualRule>,
}

impl Statics {
    /// Whether there is nothing to install.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }
}

/// `static_ipaddress` and `static_routes`: installed at start-up whatever the VRRP state and
/// removed on stop, as keepalived does (its `start_vrrp` / `stop_vrrp`); `None` when there are
/// none. Their addresses name their interface (`dev`).
pub fn statics_of(cfg: &conf::Config) -> (Option<Statics>, Vec<Diagnostic>) {
    let mut notes = Vec::new();
    let mut e = Statics {
        addresses: cfg
            .static_addresses
            .iter()
            .map(|l| l.address.clone())
            .collect(),
        routes: Vec::new(),
        rules: cfg.static_rules.clone(),
    };
    // keepalived puts an address without `dev` on `default_interface`.
    let default_if = cfg.global.default_interface.clone();
    for (v, c) in cfg.static_addresses.iter().zip(e.addresses.iter_mut()) {
        if v.address.dev.is_none() {
            match &default_if {
                Some(d) => c.dev = Some(d.clone()),
                None => notes.push(Diagnostic::warning(
                    &v.loc,
                    format!(
                        "static address {} has no 'dev' (and there is no default_interface): not added",
                        v.address.addr
                    ),
                )),
            }
        }
    }
    e.addresses.retain(|v| v.dev.is_some());
    for r in &cfg.static_routes {
        let (spec, n) = virtual_route(r);
        notes.extend(n.into_iter().map(|n| {
            // The engine's note starts with the route's location; the diagnostic has it.
            let at = format!("{}: ", r.loc);
            let n = n.strip_prefix(&at).unwrap_or(&n);
            Diagnostic::warning(&r.loc, format!("static_routes: {n}"))
        }));
        e.routes.extend(spec);
    }
    ((!e.is_empty()).then_some(e), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                        virtual_ipaddress { 192.0.2.100/24 }\n";

    fn routes(text: &str) -> Vec<VirtualRoute> {
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        let c = vigil_engine::EngineConfig::from_conf(&cfg).unwrap_or_else(|e| panic!("{e}"));
        c.engine.instances[0].virtual_routes.clone()
    }

    #[test]
    fn static_addresses_need_their_interface() {
        let cfg = conf::parse_str(&format!(
            "static_ipaddress {{\n 203.0.113.9/24 dev eth1\n 203.0.113.10/24\n}}\n\
             static_routes {{\n 198.51.100.0/24 via 203.0.113.1\n}}\n{HEAD}}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let (e, notes) = statics_of(&cfg);
        let e = e.expect("statics");
        assert_eq!(e.addresses.len(), 1);
        assert_eq!(e.addresses[0].dev.as_deref(), Some("eth1"));
        assert_eq!(e.routes[0].to_string(), "198.51.100.0/24 via 203.0.113.1");
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].message.contains("203.0.113.10 has no 'dev'"),
            "{notes:?}"
        );
        let (none, _) = statics_of(&conf::parse_str(&format!("{HEAD}}}\n")).unwrap());
        assert!(none.is_none());
        // With default_interface, keepalived's rule: the address goes there.
        let cfg = conf::parse_str(&format!(
            "global_defs {{\n default_interface eth7\n}}\n\
             static_ipaddress {{\n 203.0.113.10/24\n}}\n{HEAD}}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let (e, notes) = statics_of(&cfg);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            e.expect("statics").addresses[0].dev.as_deref(),
            Some("eth7")
        );
    }

    #[test]
    fn messages_carry_protocol_keepalived_and_the_right_scope() {
        let r = routes(&format!(
            "{HEAD} virtual_routes {{\n 203.0.113.0/24 dev eth0\n 198.51.100.0/24 via 192.0.2.1\n \
             blackhole 198.51.100.128/25 table 100\n }}\n}}\n"
        ));
        let direct = message(&r[0], Some(7), &[]);
        assert_eq!(direct.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(
            direct.header.scope,
            RouteScope::Universe,
            "keepalived's scope for a route with no gateway and no scope"
        );
        assert_eq!(direct.header.kind, RouteType::Unicast);
        assert!(direct.attributes.contains(&RouteAttribute::Oif(7)));
        let gw = message(&r[1], None, &[]);
        assert_eq!(gw.header.scope, RouteScope::Universe);
        assert_eq!(gw.header.table, 254);
        assert!(gw
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                "192.0.2.1".parse().unwrap()
            ))));
        let hole = message(&r[2], None, &[]);
        assert_eq!(hole.header.kind, RouteType::BlackHole);
        assert_eq!(hole.header.table, 100);
    }

    #[test]
    fn route_attributes_go_in_the_message() {
        let r = routes(&format!(
            "{HEAD} virtual_routes {{\n 203.0.113.0/24 via 192.0.2.1 dev eth0 onlink mtu lock 1400 \
             initcwnd 10 no_track protocol static\n \
             198.51.100.0/24 dev eth0 nexthop via 192.0.2.1 weight 3 nexthop via 192.0.2.2\n }}\n}}\n"
        ));
        let m = message(&r[0], Some(7), &[]);
        assert!(m.header.flags.contains(RouteFlags::Onlink));
        assert_eq!(m.header.protocol, RouteProtocol::Static);
        let metrics = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Metrics(v) => Some(v.clone()),
            _ => None,
        });
        assert_eq!(
            metrics,
            Some(vec![
                RouteMetric::Mtu(1400),
                RouteMetric::InitCwnd(10),
                RouteMetric::Lock(1 << 2)
            ])
        );
        let m = message(&r[1], Some(7), &[None, Some(9)]);
        assert_eq!(m.header.protocol, RouteProtocol::KeepAlived);
        let hops = m.attributes.iter().find_map(|a| match a {
            RouteAttribute::MultiPath(v) => Some(v.clone()),
            _ => None,
        });
        let hops = hops.expect("multipath");
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].hops, 2, "weight 3 is hops 2");
        assert_eq!(hops[1].interface_index, 9);
    }

    #[test]
    fn rule_messages_follow_keepalived() {
        let cfg = conf::parse_str(&format!(
            "static_rules {{\n from 192.0.2.0/24 fwmark 7/0xff lookup 1000 priority 100\n \
             to 2001:db8::/32 priority 5 goto 10\n}}\n{HEAD}}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let m = rule_message(&cfg.static_rules[0]);
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.header.action, NlRuleAction::ToTable);
        assert_eq!(m.header.src_len, 24);
        assert_eq!(m.header.table, 0, "table 1000 goes in FRA_TABLE");
        for want in [
            RuleAttribute::Table(1000),
            RuleAttribute::Priority(100),
            RuleAttribute::FwMark(7),
            RuleAttribute::FwMask(0xff),
            RuleAttribute::Protocol(RouteProtocol::KeepAlived),
        ] {
            assert!(m.attributes.contains(&want), "{want:?} in {m:?}");
        }
        let g = rule_message(&cfg.static_rules[1]);
        assert_eq!(g.header.family, AddressFamily::Inet6);
        assert_eq!(g.header.action, NlRuleAction::Goto);
        assert!(g.attributes.contains(&RuleAttribute::Goto(10)));
    }

    #[test]
    fn rt_tables_reads_like_keepalived() {
        let t = parse_rt_tables("# c\n255\tlocal\n100 isp1 # x\n0x65 isp2\nbad line here\n");
        assert_eq!(t.get("isp1"), Some(&100));
        assert_eq!(t.get("isp2"), Some(&101));
        assert_eq!(t.len(), 3);
    }
}
