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
use vigil_engine::conf::{self, rt_names, Diagnostic};
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

/// The host's iproute2 name files, read as keepalived 2.2.7 reads them for named route, rule
/// and scope values (`lib/rttables.c`): `/etc/iproute2/rt_tables`, `rt_dsfield`, `rt_realms`,
/// `rt_protos` and `rt_scopes` (keepalived 2.2.7 reads no `.d` directory and nothing under
/// `/usr/share/iproute2`). The engine parses each text ([`rt_names::parse_file`]).
pub fn rt_names() -> rt_names::RtNames {
    rt_names_in(std::path::Path::new("/etc/iproute2"))
}

/// [`rt_names`] from the files of `dir`. A missing or unreadable file names nothing: only
/// keepalived's built-in names are then known for it.
pub fn rt_names_in(dir: &std::path::Path) -> rt_names::RtNames {
    let mut names = rt_names::RtNames::default();
    for file in rt_names::RtFile::ALL {
        // keepalived reads the file as bytes; a non-UTF-8 line cannot name a value written in
        // a (UTF-8) configuration anyway.
        if let Ok(bytes) = std::fs::read(dir.join(file.file_name())) {
            let text = String::from_utf8_lossy(&bytes);
            *names.of_mut(file) = rt_names::parse_file(&text, file.max());
        }
    }
    names
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

    /// The files of a directory, read as keepalived 2.2.7 reads /etc/iproute2, and the values
    /// of a route, a rule and an address named through them; an unknown name is an error at
    /// its word, with keepalived's message.
    #[test]
    fn iproute2_names_come_from_the_files_as_keepalived_reads_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).expect("write");
        };
        write(
            "rt_tables",
            "255\tlocal\n254\tmain\n100 isp1\n101 isp2 # x\n0x66 isp3\n",
        );
        write("rt_dsfield", "0x28\tAF11\n");
        write("rt_realms", "0 cosmos\n5 dmz\n");
        write("rt_protos", "18 keepalived\n99 openr\n");
        // No rt_scopes: the built-in names. A .d directory is not read (keepalived 2.2.7).
        std::fs::create_dir(dir.path().join("rt_tables.d")).expect("mkdir");
        write("rt_tables.d/more.conf", "7 dotd\n");
        let names = rt_names_in(dir.path());
        assert_eq!(
            names.tables,
            [
                (255, "local".to_string()),
                (254, "main".to_string()),
                (100, "isp1".to_string()),
                (0x66, "isp3".to_string()),
            ]
        );
        assert!(names.scopes.is_empty());
        let opts = conf::ParseOptions {
            rt_names: names,
            ..Default::default()
        };
        let parse = |body: &str| {
            conf::parse_text(
                "k.conf",
                &format!("static_routes {{\n{body}\n}}\n"),
                &conf::MemoryLoader::new(),
                &opts,
            )
        };
        let cfg = parse(
            " 192.0.2.0/24 dev lo table isp3 tos AF11 realms dmz/cosmos protocol openr scope link no_track",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = &cfg.static_routes[0];
        assert_eq!(r.table, Some(0x66));
        assert_eq!(r.attrs.tos, Some(0x28));
        assert_eq!(r.attrs.realms, Some(5 << 16));
        assert_eq!(r.attrs.protocol, Some(99));
        assert_eq!(r.scope, Some(vigil_engine::address::Scope::Link));
        for (word, message) in [
            (
                "table isp2",
                "k.conf:2:28: error: Routing table isp2 not found for route",
            ),
            (
                "table dotd",
                "k.conf:2:28: error: Routing table dotd not found for route",
            ),
            ("tos CS1", "k.conf:2:26: error: TOS value CS1 is invalid"),
            (
                "realms 5/mars",
                "k.conf:2:29: error: Invalid realms 5/mars for route",
            ),
            (
                "protocol bgp",
                "k.conf:2:31: error: Protocol bgp not found or invalid for route",
            ),
            (
                "scope universe",
                "k.conf:2:28: error: Scope universe not found or invalid for route",
            ),
        ] {
            let e = parse(&format!(" 192.0.2.0/24 dev lo {word} no_track"))
                .expect_err(word)
                .to_string();
            assert!(e.contains(message), "{word}: {e}");
        }
    }
}
