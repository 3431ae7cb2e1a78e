//! `virtual_routes` (and the excluded addresses that go with a MASTER): what a MASTER installs
//! besides its advertised virtual addresses, and takes away when it leaves MASTER; and
//! `static_ipaddress` / `static_routes`, installed for as long as the daemon runs.
//!
//! keepalived installs an instance's `virtual_ipaddress_excluded` and `virtual_routes` when the
//! instance becomes MASTER and removes them when it leaves MASTER (and on stop); the excluded
//! addresses are never put in adverts but are announced (gratuitous ARP / unsolicited NA) with
//! the others. Nothing here decides anything: the daemon installs an instance's extras on the
//! engine's `StateChange` to MASTER and removes them on the one leaving MASTER.
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
use vigil_engine::conf::{self, Diagnostic, Scope};
use vigil_engine::from_conf::virtual_address;
use vigil_engine::VirtualAddress;

/// One route in the form handed to netlink (interface still a name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination.
    pub to: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// `via`: the gateway.
    pub via: Option<IpAddr>,
    /// `src`: preferred source address.
    pub src: Option<IpAddr>,
    /// `dev`: output interface, by name.
    pub dev: Option<String>,
    /// Routing table (254: main).
    pub table: u32,
    /// `metric`.
    pub metric: Option<u32>,
    /// `scope` (numeric).
    pub scope: Option<u8>,
    /// The route type (`blackhole`, ...); `None`: unicast.
    pub kind: Option<RouteType>,
}

impl std::fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(k) = self.kind {
            let name = match k {
                RouteType::BlackHole => "blackhole",
                RouteType::Unreachable => "unreachable",
                RouteType::Prohibit => "prohibit",
                RouteType::Throw => "throw",
                _ => "unicast",
            };
            write!(f, "{name} ")?;
        }
        write!(f, "{}/{}", self.to, self.prefix_len)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if self.table != u32::from(RouteHeader::RT_TABLE_MAIN) {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        Ok(())
    }
}

/// A routing table by `ip route` name or number.
fn table_of(s: &str) -> Option<u32> {
    match s {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

fn scope_number(s: &Scope) -> u8 {
    match s {
        Scope::Global => 0,
        Scope::Site => 200,
        Scope::Link => 253,
        Scope::Host => 254,
        Scope::Nowhere => 255,
        Scope::Number(n) => *n,
    }
}

/// Convert a configured route; returns it and what of it is not supported (warnings at the
/// route's file:line:col, logged by the daemon and printed by `vigild -t`). `None` when the route cannot be installed at all (a named table).
pub fn route_of(r: &conf::Route) -> (Option<RouteSpec>, Vec<Diagnostic>) {
    let mut notes = Vec::new();
    let table = match &r.table {
        None => 254,
        Some(t) => match table_of(t) {
            Some(n) => n,
            None => {
                notes.push(Diagnostic::warning(
                    &r.loc,
                    format!("table '{t}' by name is not supported (use its number)"),
                ));
                return (None, notes);
            }
        },
    };
    let kind = match r.kind.as_deref() {
        None => None,
        Some("blackhole") => Some(RouteType::BlackHole),
        Some("unreachable") => Some(RouteType::Unreachable),
        Some("prohibit") => Some(RouteType::Prohibit),
        Some("throw") => Some(RouteType::Throw),
        Some(other) => {
            notes.push(Diagnostic::warning(
                &r.loc,
                format!("route type '{other}' is not supported"),
            ));
            return (None, notes);
        }
    };
    if !r.options.is_empty() {
        notes.push(Diagnostic::warning(
            &r.loc,
            format!(
                "route options not supported, ignored: {}",
                r.options.join(" ")
            ),
        ));
    }
    let spec = RouteSpec {
        to: r.to,
        prefix_len: r.prefix_len,
        via: r.via,
        src: r.src,
        dev: r.dev.clone(),
        table,
        metric: r.metric,
        scope: r.scope.as_ref().map(scope_number),
        kind,
    };
    (Some(spec), notes)
}

/// The netlink message for `r`, its `dev` resolved to `oif`.
pub fn message(r: &RouteSpec, oif: Option<u32>) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = match r.to {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.destination_prefix_length = r.prefix_len;
    m.header.protocol = RouteProtocol::KeepAlived;
    m.header.kind = r.kind.unwrap_or(RouteType::Unicast);
    // The kernel's default scope: link for a route with no gateway, else universe (ip route).
    m.header.scope = match r.scope {
        Some(s) => RouteScope::from(s),
        None if r.via.is_none() && r.kind.is_none() && oif.is_some() => RouteScope::Link,
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

/// What a MASTER installs besides its advertised addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// The instance's interface (where an excluded address without `dev` goes).
    pub interface: String,
    /// `virtual_ipaddress_excluded`.
    pub excluded: Vec<VirtualAddress>,
    /// `virtual_routes`.
    pub routes: Vec<RouteSpec>,
}

impl Extras {
    /// Whether there is nothing to install.
    pub fn is_empty(&self) -> bool {
        self.excluded.is_empty() && self.routes.is_empty()
    }
}

/// Every instance's extras by instance name, and the notes for what is not supported.
pub fn extras_of(cfg: &conf::Config) -> (Vec<(String, Extras)>, Vec<Diagnostic>) {
    let mut notes = Vec::new();
    let mut out = Vec::new();
    for i in &cfg.instances {
        let mut e = Extras {
            interface: i.interface.clone().unwrap_or_default(),
            excluded: i.excluded_addresses.iter().map(virtual_address).collect(),
            routes: Vec::new(),
        };
        for r in &i.virtual_routes {
            let (spec, n) = route_of(r);
            notes.extend(n.into_iter().map(|mut n| {
                n.message = format!("({}) {}", i.name, n.message);
                n
            }));
            e.routes.extend(spec);
        }
        if !e.is_empty() {
            out.push((i.name.clone(), e));
        }
    }
    (out, notes)
}

/// `static_ipaddress` and `static_routes`: installed at start-up whatever the VRRP state and
/// removed on stop, as keepalived does (its `start_vrrp` / `stop_vrrp`); `None` when there are
/// none. Their addresses name their interface (`dev`).
pub fn statics_of(cfg: &conf::Config) -> (Option<Extras>, Vec<Diagnostic>) {
    let mut notes = Vec::new();
    let mut e = Extras {
        interface: String::new(),
        excluded: cfg.static_addresses.iter().map(virtual_address).collect(),
        routes: Vec::new(),
    };
    // keepalived puts an address without `dev` on `default_interface`.
    let default_if = cfg.global.default_interface.clone();
    for (v, c) in cfg.static_addresses.iter().zip(e.excluded.iter_mut()) {
        if v.dev.is_none() {
            match &default_if {
                Some(d) => c.dev = Some(d.clone()),
                None => notes.push(Diagnostic::warning(
                    &v.loc,
                    format!(
                        "static address {} has no 'dev' (and there is no default_interface): not added",
                        v.addr
                    ),
                )),
            }
        }
    }
    e.excluded.retain(|v| v.dev.is_some());
    for r in &cfg.static_routes {
        let (spec, n) = route_of(r);
        notes.extend(n.into_iter().map(|mut n| {
            n.message = format!("static_routes: {}", n.message);
            n
        }));
        e.routes.extend(spec);
    }
    ((!e.is_empty()).then_some(e), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extras(text: &str) -> (Vec<(String, Extras)>, Vec<Diagnostic>) {
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        extras_of(&cfg)
    }

    const HEAD: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                        virtual_ipaddress { 192.0.2.100/24 }\n";

    #[test]
    fn excluded_addresses_and_routes_are_kept_per_instance() {
        let (e, notes) = extras(&format!(
            "{HEAD} virtual_ipaddress_excluded {{ 198.51.100.7/24 dev eth1 }}\n\
             virtual_routes {{\n 203.0.113.0/24 via 192.0.2.1 dev eth0 metric 5\n \
             blackhole 198.51.100.128/25 table 100\n 0.0.0.0/0 via 192.0.2.254 src 192.0.2.100\n }}\n}}\n"
        ));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(e.len(), 1);
        let (name, x) = &e[0];
        assert_eq!(name, "VI_1");
        assert_eq!(x.interface, "eth0");
        assert_eq!(x.excluded.len(), 1);
        assert_eq!(x.excluded[0].dev.as_deref(), Some("eth1"));
        let shown: Vec<String> = x.routes.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "203.0.113.0/24 via 192.0.2.1 dev eth0 metric 5",
                "blackhole 198.51.100.128/25 table 100",
                "0.0.0.0/0 via 192.0.2.254 src 192.0.2.100",
            ]
        );
    }

    #[test]
    fn an_instance_without_extras_is_left_out_and_named_tables_are_refused() {
        let (e, _) = extras(&format!("{HEAD}}}\n"));
        assert!(e.is_empty());
        // A named table is refused by the parser, at its column (it was dropped at start).
        let e = conf::parse_str(&format!(
            "{HEAD} virtual_routes {{ 203.0.113.0/24 dev eth0 table vrrp }}\n}}\n"
        ))
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("table 'vrrp'"), "{msg}");
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
        assert_eq!(e.excluded.len(), 1);
        assert_eq!(e.excluded[0].dev.as_deref(), Some("eth1"));
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
        assert_eq!(e.expect("statics").excluded[0].dev.as_deref(), Some("eth7"));
    }

    #[test]
    fn messages_carry_protocol_keepalived_and_the_right_scope() {
        let (e, _) = extras(&format!(
            "{HEAD} virtual_routes {{\n 203.0.113.0/24 dev eth0\n 198.51.100.0/24 via 192.0.2.1\n }}\n}}\n"
        ));
        let r = &e[0].1.routes;
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
    }
}
