//! global_defs `vmac_prefix` live, against keepalived 2.2.7 in the same test (issue 15,
//! section 6): the `use_vmac` macvlans that the configuration does not name are called
//! `PREFIX.VRID`, and an IPv6 instance of the same VRID `PREFIX6.VRID` (keepalived's
//! `create_vmac_name`, engine/src/vmac_name.rs). Each daemon runs the same file on host 1 of a
//! fresh lab; the macvlans it created must have the same names. Waits are bounded.

use std::time::Duration;

use vigil_tests::netns::{self, keepalived_conf, Instance, Kind, Lab};

fn macvlans(lab: &Lab) -> Vec<String> {
    let out = lab.exec(1, &["ip", "-o", "link", "show", "type", "macvlan"]);
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let name = l.split(": ").nth(1)?;
            Some(name.split('@').next()?.to_string())
        })
        .collect();
    names.sort();
    names
}

fn scenario(kind: Kind) -> Vec<String> {
    let mut lab = Lab::new("vmpf", 1);
    let mut v6 = Instance::v6(100, "1");
    v6.vrid = 51;
    let conf = keepalived_conf(&[Instance::v4(3, 100, "1"), v6])
        .replace(
            "  router_id vigil_test\n",
            "  router_id vigil_test\n  vmac_prefix vm\n",
        )
        .replace("  virtual_ipaddress {", "  use_vmac\n  virtual_ipaddress {");
    let node = lab.start(kind, 1, &conf);
    netns::wait_until(Duration::from_secs(15), || macvlans(&lab).len() >= 2);
    // A moment more, for a third that should not be there.
    std::thread::sleep(Duration::from_millis(500));
    let names = macvlans(&lab);
    println!("vmac_prefix ({kind:?}): macvlans {names:?}");
    lab.node(node).terminate();
    names
}

#[test]
fn vmac_prefix_names_the_macvlans_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let ka = scenario(Kind::Keepalived);
    let vg = scenario(Kind::Vigil);
    assert_eq!(vg, ka, "vigild must name its macvlans as keepalived does");
    assert_eq!(ka, ["vm.51", "vm6.51"]);
}
