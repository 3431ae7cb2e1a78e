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
//! `ip route show proto keepalived` lists them. The route syntax keepalived accepts is wider
//! than what is needed on a router replacing it: destination, `via`/`gw`, `src`, `dev`,
//! `table` (number or `main`/`local`/`default`), `metric`, `scope`, and the types `blackhole`,
//! `unreachable`, `prohibit`, `throw`. Anything else (`nexthop`, `mtu`, `onlink`, ...) is logged
//! as unsupported at load and the route is installed without it.

use std::net::IpAddr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;
use vigil_engine::conf::{self, Diagnostic};
use vigil_engine::from_conf::virtual_route;
use vigil_engine::setup::{RouteKind, VirtualRoute};
use vigil_engine::VirtualAddress;

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
pub fn message(r: &VirtualRoute, oif: Option<u32>) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = match r.to {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.destination_prefix_length = r.prefix_len;
    m.header.protocol = RouteProtocol::KeepAlived;
    m.header.kind = route_type(r.kind);
    // The kernel's default scope: link for a route with no gateway, else universe (ip route).
    m.header.scope = match r.scope {
        Some(s) => RouteScope::from(s),
        None if r.via.is_none() && r.kind == RouteKind::Unicast && oif.is_some() => {
            RouteScope::Link
        }
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
    m
}

/// `static_ipaddress` and `static_routes`: what the daemon installs for as long as it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statics {
    /// `static_ipaddress` (each names its interface).
    pub addresses: Vec<VirtualAddress>,
    /// `static_routes`.
    pub routes: Vec<VirtualRoute>,
}

impl Statics {
    /// Whether there is nothing to install.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty()
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
        let direct = message(&r[0], Some(7));
        assert_eq!(direct.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(direct.header.scope, RouteScope::Link);
        assert_eq!(direct.header.kind, RouteType::Unicast);
        assert!(direct.attributes.contains(&RouteAttribute::Oif(7)));
        let gw = message(&r[1], None);
        assert_eq!(gw.header.scope, RouteScope::Universe);
        assert_eq!(gw.header.table, 254);
        assert!(gw
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                "192.0.2.1".parse().unwrap()
            ))));
        let hole = message(&r[2], None);
        assert_eq!(hole.header.kind, RouteType::BlackHole);
        assert_eq!(hole.header.table, 100);
    }
}
