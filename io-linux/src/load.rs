//! Reading a configuration the way the daemon starts from it: parse, keep the subsystems that
//! run (`-P` / `-C`), convert for the engine ([`EngineConfig::from_conf`]), and plan what the
//! runner adds besides the engine (`use_vmac` macvlans, static addresses and routes; excluded
//! addresses and virtual routes are the engine's actions).
//!
//! One function, [`load`], for the daemon's start and reload and for `vigild -t`, so that `-t`
//! refuses exactly what the daemon refuses and prints every warning the daemon logs at start,
//! each with its file:line:col. It reads files through the given loader and touches nothing
//! else: the interface checks of `-t` are [`crate::load::missing_interfaces`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use vigil_engine::conf::{self, Diagnostic, Location, ParseOptions, Severity, SourceLoader};
use vigil_engine::EngineConfig;

use crate::checker::Subsystems;
use crate::routes::{self, Statics};
use crate::vmac::{self, VmacSpec};

/// A configuration read, parsed and converted for the engine.
pub struct Loaded {
    /// The parsed configuration (only the subsystems that run).
    pub cfg: conf::Config,
    /// What the engine runs.
    pub engine: EngineConfig,
    /// `use_vmac` macvlans by instance name.
    pub vmacs: HashMap<String, VmacSpec>,
    /// The macvlans of addresses (`use_vmac_addr`, an address's `use_vmac`).
    pub addr_vmacs: Vec<vmac::AddressVmac>,
    /// `static_ipaddress` / `static_routes`.
    pub statics: Option<Statics>,
}

/// What [`load`] found: the configuration when it can run, and every diagnostic in the order
/// the daemon logs them (parse errors, or the parser's warnings and notices, then the
/// conversion's refusal or notes, then the runner's).
pub struct Report {
    /// `None` when the configuration does not parse or convert (the daemon does not start, or
    /// keeps its running configuration on reload).
    pub loaded: Option<Loaded>,
    /// Errors, warnings and notices, each at its file:line:col when it has one.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Whether the daemon would refuse the configuration.
    pub fn refused(&self) -> bool {
        self.loaded.is_none()
    }
}

/// Read `path` through `loader`, with `@ID` lines matched against `options`, keep what
/// `subsystems` runs, and convert it: the daemon's whole load, with nothing logged.
pub fn load(
    path: &str,
    loader: &dyn SourceLoader,
    options: &ParseOptions,
    subsystems: Subsystems,
) -> Report {
    let mut diagnostics = Vec::new();
    let cfg = match conf::parse_file(path, loader, options) {
        Ok(c) => subsystems.keep(c),
        Err(e) => {
            return Report {
                loaded: None,
                diagnostics: e.diagnostics,
            }
        }
    };
    diagnostics.extend(cfg.warnings.iter().cloned());
    let converted = match EngineConfig::from_conf(&cfg) {
        Ok(x) => x,
        Err(e) => {
            diagnostics.push(e.diagnostic());
            return Report {
                loaded: None,
                diagnostics,
            };
        }
    };
    for n in &converted.unsupported {
        // A setting the engine leaves to the runner, and this runner carries out.
        if n.what.starts_with("use_vmac:") {
            continue;
        }
        diagnostics.push(n.diagnostic());
    }
    let (vmacs, addr_vmacs, notes) = vmac::plan(&cfg, &converted.engine);
    diagnostics.extend(notes);
    // The engine decides which links its instances follow; the plan names the macvlans.
    let mut engine = converted.engine;
    vigil_engine::vmac_addr::follow_macvlans(&mut engine, &addr_vmacs);
    vigil_engine::vmac_addr::follow_instance_macvlans(
        &mut engine,
        vmacs.iter().map(|(i, v)| (i.as_str(), v.name.as_str())),
    );
    let (statics, notes) = routes::statics_of(&cfg);
    diagnostics.extend(notes);
    Report {
        loaded: Some(Loaded {
            cfg,
            engine,
            vmacs,
            addr_vmacs,
            statics,
        }),
        diagnostics,
    }
}

/// How an interface is used, for the message when it does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    /// An instance's own interface (or `default_interface`): the instance cannot run.
    Instance,
    /// A `track_interface` entry.
    Tracked,
    /// The `dev` of an address.
    Device,
    /// The `dev` of a route or a nexthop, a rule's `iif` / `oif` (keepalived resolves them as
    /// it reads the file: an error, where an address's `dev` is a warning).
    Route,
}

/// `vrrp_cpu_affinity` / `checker_cpu_affinity` CPUs that are not online (`online()` CPUs,
/// numbered from 0, asked only when a list is set): an error each, at the list, as keepalived
/// 2.2.7's `get_cpu_affinity` reports them (its bound is `sysconf(_SC_NPROCESSORS_ONLN)`). The
/// daemon does not start with them (a reload with them is refused), and `-t` fails.
pub fn offline_cpus(cfg: &conf::Config, online: impl FnOnce() -> u32) -> Vec<Diagnostic> {
    let g = &cfg.global;
    if g.vrrp_process.cpu_affinity.is_none() && g.checker_process.cpu_affinity.is_none() {
        return Vec::new();
    }
    let online = online();
    [("vrrp", &g.vrrp_process), ("checker", &g.checker_process)]
        .into_iter()
        .filter_map(|(which, p)| {
            let (cpus, loc) = p.cpu_affinity.as_ref()?;
            let off: Vec<String> = cpus
                .iter()
                .filter(|&&c| c >= online)
                .map(ToString::to_string)
                .collect();
            (!off.is_empty()).then(|| {
                Diagnostic::error(
                    loc,
                    format!(
                        "{which}_cpu_affinity: CPU {} not online (this machine has CPUs 0-{})",
                        off.join(", "),
                        online.saturating_sub(1)
                    ),
                )
            })
        })
        .collect()
}

/// Every interface the configuration names that `exists` says is missing, as diagnostics at
/// the line that names it, as `keepalived -t` reports them: an instance's interface, a
/// tracked interface, a `garp_group`'s interface, the `dev` of a route or a route's nexthop
/// and a rule's `iif` / `oif` are errors (keepalived 2.2.7: "WARNING - interface ... for
/// VROUTE nexthop doesn't exist", "... for rule doesn't exist", then "Non-existent interface
/// specified in configuration": its VRRP process stops, at start as in `-t`, and keepalived
/// exits); the `dev` of an address is a warning. With `dynamic_interfaces` each is a notice
/// (keepalived uses the interface once it appears). `exists` is asked once per name.
pub fn missing_interfaces(
    cfg: &conf::Config,
    mut exists: impl FnMut(&str) -> bool,
) -> Vec<Diagnostic> {
    // References only: the owner's text is made for a missing interface, not for every use
    // (formatting every address for nothing was 8 % of `vigild -t` on 1,000 instances).
    let mut named: Vec<(&str, &Location, Use, Owner<'_>)> = Vec::new();
    let default_if = cfg.global.default_interface.as_deref();
    for i in &cfg.instances {
        if let Some(ifname) = i.interface.as_deref().or(default_if) {
            named.push((ifname, &i.loc, Use::Instance, Owner::Name(&i.name)));
        }
        for t in &i.track_interfaces {
            named.push((&t.name, &t.loc, Use::Tracked, Owner::Name(&i.name)));
        }
        for a in i.virtual_addresses.iter().chain(&i.excluded_addresses) {
            if let Some(d) = &a.address.dev {
                named.push((d, &a.loc, Use::Device, Owner::Address(a.address.addr)));
            }
        }
        for r in &i.virtual_routes {
            route_devices(r, &mut named);
        }
    }
    for g in &cfg.sync_groups {
        for t in &g.track_interfaces {
            named.push((&t.name, &t.loc, Use::Tracked, Owner::Name(&g.name)));
        }
    }
    // keepalived 2.2.7: "unknown interface ... specified for up/down delay" is fatal.
    for d in &cfg.interface_delays {
        named.push((
            &d.interface,
            &d.loc,
            Use::Instance,
            Owner::Name("interface_up_down_delays"),
        ));
    }
    // keepalived 2.2.7 vrrp_parser.c garp_group_interface(s)_handler: "WARNING - interface
    // ... specified for garp_group doesn't exist", then "Non-existent interface specified in
    // configuration" and the VRRP process stops (keepalived -t exits 5), unless
    // dynamic_interfaces is set (then a log line only).
    for g in &cfg.garp_groups {
        for (name, loc) in g.interfaces.iter().zip(&g.interface_locs) {
            named.push((name, loc, Use::Instance, Owner::Name("garp_group")));
        }
    }
    for a in &cfg.static_addresses {
        if let Some(d) = a.address.dev.as_deref().or(default_if) {
            named.push((d, &a.loc, Use::Device, Owner::Address(a.address.addr)));
        }
    }
    for r in &cfg.static_routes {
        route_devices(r, &mut named);
    }
    for ri in &cfg.rule_interfaces {
        named.push((&ri.name, &ri.loc, Use::Route, Owner::Rule { oif: ri.oif }));
    }
    // Few distinct names (one per interface), each looked up once per use: an ordered map of a
    // handful of short names costs less per look-up than SipHash does.
    // Consecutive uses mostly name the same interface (an instance's and its addresses'):
    // the last answer is kept beside the map (10,000 `memcmp` calls of the map's search for
    // 1,000 instances).
    let mut known: BTreeMap<&str, bool> = BTreeMap::new();
    let mut last: Option<(&str, bool)> = None;
    let mut reported = BTreeSet::new();
    let mut out = Vec::new();
    let dynamic = cfg.global.dynamic_interfaces;
    for (name, loc, how, owner) in named {
        let ok = match last {
            Some((n, ok)) if n == name => ok,
            _ => {
                let ok = *known.entry(name).or_insert_with(|| exists(name));
                last = Some((name, ok));
                ok
            }
        };
        if ok || !reported.insert((&*loc.file, loc.line, loc.col, name)) {
            continue;
        }
        if dynamic {
            // keepalived 2.2.7 (vrrp_if.c, if_get_by_ifname with IF_CREATE_IF_DYNAMIC): a log
            // line, not a configuration error; the interface is used once it appears.
            out.push(Diagnostic::notice(
                loc,
                format!("({owner}) configuration specifies interface {name} which doesn't currently exist - will use if created (dynamic_interfaces)"),
            ));
            continue;
        }
        out.push(match how {
            Use::Instance => {
                Diagnostic::error(loc, format!("({owner}) interface {name} does not exist"))
            }
            Use::Tracked => Diagnostic::error(
                loc,
                format!("({owner}) tracked interface {name} does not exist"),
            ),
            Use::Device => {
                Diagnostic::warning(loc, format!("interface {name} for {owner} does not exist"))
            }
            Use::Route => {
                Diagnostic::error(loc, format!("interface {name} for {owner} does not exist"))
            }
        });
    }
    out
}

/// The interfaces a route names: its `dev` and each nexthop's.
fn route_devices<'a>(r: &'a conf::Route, named: &mut Vec<(&'a str, &'a Location, Use, Owner<'a>)>) {
    if let Some(d) = &r.dev {
        named.push((d, &r.loc, Use::Route, Owner::Route(r.to)));
    }
    for h in &r.attrs.nexthops {
        if let Some(d) = &h.dev {
            named.push((d, &r.loc, Use::Route, Owner::Nexthop(r.to)));
        }
    }
}

/// Who names an interface, for the message when it does not exist.
#[derive(Clone, Copy, Debug)]
enum Owner<'a> {
    /// An instance or a sync group.
    Name(&'a str),
    /// A virtual or static address.
    Address(std::net::IpAddr),
    /// A virtual or static route (its destination).
    Route(std::net::IpAddr),
    /// A nexthop of a virtual or static route (the route's destination).
    Nexthop(std::net::IpAddr),
    /// A virtual or static rule's `iif` / `dev` or `oif`.
    Rule {
        /// `oif`.
        oif: bool,
    },
}

impl std::fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Name(n) => f.write_str(n),
            Owner::Address(a) => write!(f, "{a}"),
            Owner::Route(to) => write!(f, "route {to}"),
            Owner::Nexthop(to) => write!(f, "a nexthop of route {to}"),
            Owner::Rule { oif: false } => f.write_str("rule (iif)"),
            Owner::Rule { oif: true } => f.write_str("rule (oif)"),
        }
    }
}

/// Whether a network interface of this name exists in the current network namespace.
pub fn interface_exists(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != ".."
        && std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Whether `diagnostics` holds anything that fails `vigild -t` (keepalived's `-t` fails on
/// warnings too: something was ignored or replaced).
pub fn fails_check(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity != Severity::Notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_engine::conf::MemoryLoader;

    fn report(text: &str) -> Report {
        let mut l = MemoryLoader::new();
        l.add("k.conf", text);
        load(
            "k.conf",
            &l,
            &ParseOptions::default(),
            Subsystems::default(),
        )
    }

    #[test]
    fn what_the_conversion_refuses_is_refused_at_its_line() {
        let r = report(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             authentication {\n auth_type AH\n auth_pass x\n }\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert!(r.refused());
        let e = r.diagnostics.last().expect("the refusal");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.loc.as_ref().map(|l| l.line), Some(1), "{e}");
        assert!(e.message.contains("auth_type AH"), "{e}");
        let r = report(
            "vrrp_instance A {\n unicast_peer {\n 192.0.2.2\n }\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert!(r.refused());
        assert!(r
            .diagnostics
            .iter()
            .any(|d| d.message.contains("no `interface`")));
    }

    #[test]
    fn start_up_warnings_carry_their_location() {
        let r = report(
            "static_ipaddress {\n 203.0.113.10/24\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert!(!r.refused());
        let w = r
            .diagnostics
            .iter()
            .find(|d| d.message.contains("has no 'dev'"))
            .expect("the static address warning");
        assert_eq!(
            w.to_string().split(':').take(3).collect::<Vec<_>>(),
            ["k.conf", "2", "2"]
        );
        assert!(fails_check(&r.diagnostics));
    }

    #[test]
    fn missing_interfaces_are_reported_as_keepalived_does() {
        let r = report(
            "vrrp_sync_group G {\n group {\n A\n }\n track_interface {\n eth5\n }\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             track_interface {\n eth9\n eth0\n }\n\
             virtual_ipaddress {\n 192.0.2.1/24 dev eth8\n }\n\
             virtual_routes {\n 198.51.100.0/24 dev eth7\n \
             203.0.113.0/24 nexthop via 192.0.2.9 dev eth6 nexthop via 192.0.2.10 dev eth0\n }\n\
             virtual_rules {\n from 192.0.2.0/24 table 100 priority 10 iif eth4 oif eth3\n }\n}\n\
             static_rules {\n from 192.0.2.0/24 table 100 priority 20 dev eth2\n}\n",
        );
        let cfg = &r.loaded.as_ref().expect("loads").cfg;
        let d = missing_interfaces(cfg, |n| n == "eth0");
        let shown: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            [
                "k.conf:13:2: error: (A) tracked interface eth9 does not exist",
                "k.conf:17:2: warning: interface eth8 for 192.0.2.1 does not exist",
                "k.conf:20:2: error: interface eth7 for route 198.51.100.0 does not exist",
                "k.conf:21:2: error: interface eth6 for a nexthop of route 203.0.113.0 does not exist",
                "k.conf:6:2: error: (G) tracked interface eth5 does not exist",
                "k.conf:24:46: error: interface eth4 for rule (iif) does not exist",
                "k.conf:24:55: error: interface eth3 for rule (oif) does not exist",
                "k.conf:28:46: error: interface eth2 for rule (iif) does not exist",
            ]
        );
        let d = missing_interfaces(cfg, |_| false);
        assert!(d[0]
            .to_string()
            .contains("(A) interface eth0 does not exist"));
        assert!(missing_interfaces(cfg, |_| true).is_empty());
    }

    /// keepalived 2.2.7 -t on a garp_group naming eth8 (in `interfaces { }`) and eth9
    /// (`interface`) that do not exist: "WARNING - interface eth8 specified for garp_group
    /// doesn't exist" for each, then "Non-existent interface specified in configuration", exit 5.
    #[test]
    fn a_garp_group_s_missing_interface_is_an_error_at_its_word() {
        let r = report(
            "garp_group {
 garp_interval 0.1
 interfaces {
  eth2 eth8
 }
}
             garp_group {
 gna_interval 0.2
 interface eth9
}
             vrrp_instance A {
 interface eth0
 virtual_router_id 1
             virtual_ipaddress {
 192.0.2.1/24
 }
}
",
        );
        let cfg = &r.loaded.as_ref().expect("loads").cfg;
        let d = missing_interfaces(cfg, |n| n == "eth0" || n == "eth2");
        let shown: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            [
                "k.conf:4:8: error: (garp_group) interface eth8 does not exist",
                "k.conf:9:12: error: (garp_group) interface eth9 does not exist",
            ]
        );
        assert!(fails_check(&d));
        assert!(missing_interfaces(cfg, |_| true).is_empty());
    }

    /// keepalived 2.2.7 with `dynamic_interfaces`: a missing interface is a log line ("will
    /// use if created"), not a configuration error: `-t` passes and the daemon starts.
    #[test]
    fn with_dynamic_interfaces_a_missing_interface_is_a_notice() {
        let r = report(
            "global_defs {\n dynamic_interfaces allow_if_changes\n}\n\
             vrrp_instance A {\n interface eth9\n virtual_router_id 1\n\
             track_interface {\n eth8\n }\n\
             virtual_ipaddress {\n 192.0.2.1/24 dev eth7\n }\n}\n",
        );
        let cfg = &r.loaded.as_ref().expect("loads").cfg;
        assert!(cfg.global.dynamic_interfaces && cfg.global.allow_if_changes);
        let d = missing_interfaces(cfg, |_| false);
        let shown: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        assert!(
            shown
                .iter()
                .all(|s| s.contains("notice:") && s.contains("will use if created")),
            "{shown:#?}"
        );
        assert!(!fails_check(&d));
    }
}
