//! `garp_group` and the system's macvlans (`ParseOptions::vlan_interfaces`).

use super::*;
use core::time::Duration;

const BASIC: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";

/// A `garp_group` naming a macvlan or ipvlan of the system (the runner lists them): keepalived
/// 2.2.7 ignores it ("Cannot specify garp_delay on a vmac (mv0) - ignoring"); Vigil warns at the
/// interface's word and leaves it out, so the group does not gate it; the others are kept.
#[test]
fn a_garp_group_on_a_vlan_interface_is_ignored_with_a_warning() {
    let opts = ParseOptions {
        vlan_interfaces: vec!["mv0".to_string()],
        ..ParseOptions::default()
    };
    let text = format!(
        "garp_group {{\n garp_interval 0.5\n interfaces {{\n  eth1 mv0\n }}\n}}\n\
         garp_group {{\n gna_interval 0.5\n interface mv0\n}}\n{BASIC}"
    );
    let c =
        parse_text("k.conf", &text, &MemoryLoader::new(), &opts).unwrap_or_else(|e| panic!("{e}"));
    let shown: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        shown,
        [
            "k.conf:4:8: warning: garp_group: mv0 is a macvlan or ipvlan interface: ignored, as keepalived ignores a garp_group on a VMAC",
            "k.conf:9:12: warning: garp_group: mv0 is a macvlan or ipvlan interface: ignored, as keepalived ignores a garp_group on a VMAC",
        ]
    );
    assert_eq!(c.garp_groups[0].interfaces, ["eth1"]);
    assert!(c.garp_groups[1].interfaces.is_empty());
    let ec = crate::setup::EngineConfig::from_conf(&c).unwrap().engine;
    assert_eq!(
        ec.announce_gates.of("mv0"),
        [Duration::ZERO; 2],
        "not gated"
    );
    assert_eq!(
        ec.announce_gates.of("eth1"),
        [Duration::from_millis(500), Duration::ZERO]
    );
    // Without the system's list (a parse that knows no interface), the group is taken whole
    // (and the second group's mv0 is then refused: an interface in two groups).
    let c = parse_str(&format!(
        "garp_group {{\n garp_interval 0.5\n interfaces {{\n  eth1 mv0\n }}\n}}\n{BASIC}"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.garp_groups[0].interfaces, ["eth1", "mv0"]);
    let e = parse_str(&text).expect_err("mv0 in two groups").to_string();
    assert!(
        e.contains(":9:12: error") && e.contains("mv0 is already in a garp_group"),
        "{e}"
    );
}
