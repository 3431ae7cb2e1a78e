//! `use_vmac` beside another daemon's macvlan, against keepalived 2.2.7 in the same test: a
//! macvlan named `vrrp.51` (the default name of VRID 51's macvlan) already exists on eth0, with
//! a MAC of its own, when the daemon starts. keepalived's `create_vmac_name` takes a name only
//! when no interface has it: it creates `vrrp1.51` and leaves `vrrp.51` alone. vigild must do
//! the same, and `vrrp.51` must survive both daemons' start and stop (same ifindex, same MAC).
//! A second case: the instance's own macvlan left under another name (by a run that did not
//! stop) is taken over by both, under that name, and kept as it is (same ifindex). Waits are bounded; the lab's namespaces (and
//! every interface in them) go when it is dropped.

use std::time::Duration;

use vigil_tests::netns::{self, keepalived_conf, Instance, Kind, Lab};

/// The other daemon's macvlan: its name and MAC.
const FOREIGN: &str = "vrrp.51";
const FOREIGN_MAC: &str = "02:00:00:00:51:51";

/// Every macvlan of host 1: (name, ifindex, MAC), sorted by name.
fn macvlans(lab: &Lab) -> Vec<(String, u32, String)> {
    let out = lab.exec(1, &["ip", "-o", "link", "show", "type", "macvlan"]);
    let mut v: Vec<(String, u32, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(": ");
            let index = parts.next()?.trim().parse().ok()?;
            let name = parts.next()?.split('@').next()?.to_string();
            let mac = l
                .split("link/ether ")
                .nth(1)?
                .split(' ')
                .next()?
                .to_string();
            Some((name, index, mac))
        })
        .collect();
    v.sort();
    v
}

/// Whether host 1 has the instance's address on one of its macvlans.
fn vip_on_a_macvlan(lab: &Lab) -> bool {
    let names: Vec<String> = macvlans(lab).into_iter().map(|(n, _, _)| n).collect();
    let out = lab.exec(1, &["ip", "-o", "addr", "show"]);
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        l.contains(" 192.0.2.100/")
            && l.split_whitespace()
                .nth(1)
                .is_some_and(|i| names.iter().any(|n| n == i))
    })
}

/// What one daemon did: the macvlans while it ran and after it stopped.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    running: Vec<(String, String)>,
    after_stop: Vec<(String, String)>,
}

/// Runs `kind` on host 1 with macvlan `pre` (name, MAC) already on eth0; checks that it
/// survives start and stop with its ifindex.
fn scenario(kind: Kind, pre: (&str, &str), mode: &str) -> Seen {
    let mut lab = Lab::new("vmfor", 1);
    netns::must(&[
        "ip",
        "-n",
        &lab.ns(1),
        "link",
        "add",
        pre.0,
        "link",
        "eth0",
        "address",
        pre.1,
        "type",
        "macvlan",
        "mode",
        mode,
    ]);
    netns::must(&["ip", "-n", &lab.ns(1), "link", "set", pre.0, "up"]);
    let before = macvlans(&lab);
    let pre_index = before
        .iter()
        .find(|(n, _, _)| n == pre.0)
        .map(|(_, i, _)| *i)
        .expect("the pre-existing macvlan");
    let conf = keepalived_conf(&[Instance::v4(3, 100, "1")])
        .replace("  virtual_ipaddress {", "  use_vmac\n  virtual_ipaddress {");
    let node = lab.start(kind, 1, &conf);
    // Alone on its link, the instance becomes MASTER and puts its address on its macvlan.
    let started = netns::wait_until(Duration::from_secs(20), || vip_on_a_macvlan(&lab));
    // A moment more, for one that should not be there.
    std::thread::sleep(Duration::from_millis(1500));
    let during = macvlans(&lab);
    assert!(
        started,
        "{kind:?}: never MASTER: {during:?}\n{}",
        lab.logs()
    );
    let kept = during.iter().find(|(n, _, _)| n == pre.0);
    lab.node(node).terminate();
    netns::wait_until(Duration::from_secs(10), || macvlans(&lab).len() <= 1);
    let after = macvlans(&lab);
    let strip = |v: &[(String, u32, String)]| -> Vec<(String, String)> {
        v.iter().map(|(n, _, m)| (n.clone(), m.clone())).collect()
    };
    println!("{kind:?} beside {pre:?} ({mode}): while running {during:?}, after stop {after:?}");
    if !kind_takes_over(pre) {
        let kept = kept.unwrap_or_else(|| panic!("{kind:?} deleted {}: {during:?}", pre.0));
        assert_eq!(
            (kept.1, kept.2.as_str()),
            (pre_index, pre.1),
            "{kind:?} re-created or changed {}",
            pre.0
        );
        let survived = after
            .iter()
            .find(|(n, _, _)| n == pre.0)
            .unwrap_or_else(|| panic!("{kind:?} deleted {} at stop: {after:?}", pre.0));
        assert_eq!((survived.1, survived.2.as_str()), (pre_index, pre.1));
    } else {
        // keepalived 2.2.7 (netlink_link_add_vmac): a macvlan of the right parent, MAC and
        // mode is kept as it is, not deleted and created again (same ifindex).
        let kept =
            kept.unwrap_or_else(|| panic!("{kind:?} did not take {} over: {during:?}", pre.0));
        assert_eq!(
            kept.1, pre_index,
            "{kind:?} re-created {} (ifindex {} before start, {} while running)",
            pre.0, pre_index, kept.1
        );
        println!("{kind:?} kept {} with ifindex {pre_index}", pre.0);
    }
    Seen {
        running: strip(&during),
        after_stop: strip(&after),
    }
}

/// Whether `pre` is VRID 51's own macvlan (the virtual MAC), which both daemons take over.
fn kind_takes_over(pre: (&str, &str)) -> bool {
    pre.1 == "00:00:5e:00:01:33"
}

#[test]
fn another_daemons_macvlan_survives_as_with_keepalived() {
    if !netns::require_root() {
        return;
    }
    let ka = scenario(Kind::Keepalived, (FOREIGN, FOREIGN_MAC), "bridge");
    let vg = scenario(Kind::Vigil, (FOREIGN, FOREIGN_MAC), "bridge");
    assert_eq!(vg, ka, "vigild must choose and keep as keepalived does");
    assert_eq!(
        ka.running,
        [
            (FOREIGN.to_string(), FOREIGN_MAC.to_string()),
            ("vrrp1.51".to_string(), "00:00:5e:00:01:33".to_string())
        ]
    );
    assert_eq!(
        ka.after_stop,
        [(FOREIGN.to_string(), FOREIGN_MAC.to_string())]
    );
}

#[test]
fn the_instances_own_macvlan_is_taken_over_as_with_keepalived() {
    if !netns::require_root() {
        return;
    }
    let own = ("old51", "00:00:5e:00:01:33");
    let ka = scenario(Kind::Keepalived, own, "private");
    let vg = scenario(Kind::Vigil, own, "private");
    assert_eq!(vg, ka, "vigild must take it over as keepalived does");
    assert_eq!(
        ka.running,
        [("old51".to_string(), "00:00:5e:00:01:33".to_string())]
    );
}
