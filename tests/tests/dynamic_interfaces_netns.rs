//! global_defs `dynamic_interfaces` live, against keepalived 2.2.7 in the same test (issue 15):
//!
//! - with it, an instance on an interface that does not exist yet (`eth5`) starts and waits:
//!   no address, the daemon running; when eth5 appears (a veth pair created in host 1's
//!   namespace, with an address, up) the instance becomes MASTER and its address comes on eth5;
//!   when eth5 is deleted the address goes with it, and when it comes back the instance is
//!   MASTER on it again; a `use_vmac` instance on eth5 gets its macvlan each time eth5 comes;
//! - without it, both daemons refuse to start on the missing interface.
//!
//! Each step is read the same way for both daemons; the sequences must be equal. Waits are
//! bounded; the lab's namespaces go when it is dropped.

use std::time::Duration;

use vigil_tests::netns::{self, Kind, Lab};

const CONF: &str = "global_defs {
  router_id vigil_test
  dynamic_interfaces
}
vrrp_instance VI_5 {
  state BACKUP
  interface eth5
  virtual_router_id 55
  priority 100
  advert_int 1
  virtual_ipaddress {
    198.51.100.55/24
  }
}
vrrp_instance VI_6 {
  state BACKUP
  interface eth5
  virtual_router_id 56
  priority 100
  advert_int 1
  use_vmac
  virtual_ipaddress {
    198.51.100.56/24
  }
}
vrrp_instance VI_0 {
  state BACKUP
  interface eth0
  virtual_router_id 50
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.50/24
  }
}
";

/// (address, interface) of every address of host 1 in 198.51.100.0/24 and 192.0.2.50, sorted.
fn vips(lab: &Lab) -> Vec<(String, String)> {
    let out = lab.exec(1, &["ip", "-o", "-4", "addr", "show"]);
    let mut v: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let a = *f.get(3)?;
            (a.starts_with("198.51.100.5") || a.starts_with("192.0.2.50/"))
                .then(|| (a.to_string(), f[1].to_string()))
        })
        .collect();
    v.sort();
    v
}

fn eth5_up(lab: &Lab) {
    let ns = lab.ns(1);
    netns::must(&[
        "ip", "-n", &ns, "link", "add", "eth5", "type", "veth", "peer", "name", "eth5p",
    ]);
    netns::must(&[
        "ip",
        "-n",
        &ns,
        "addr",
        "add",
        "198.51.100.10/24",
        "dev",
        "eth5",
    ]);
    netns::must(&["ip", "-n", &ns, "link", "set", "eth5p", "up"]);
    netns::must(&["ip", "-n", &ns, "link", "set", "eth5", "up"]);
}

fn eth5_gone(lab: &Lab) {
    netns::must(&["ip", "-n", &lab.ns(1), "link", "del", "eth5"]);
}

/// The three addresses in place: VI_0's on eth0, VI_5's on eth5, VI_6's on its macvlan.
fn all_three(v: &[(String, String)]) -> bool {
    v.len() == 3
}

fn scenario(kind: Kind) -> Vec<Vec<(String, String)>> {
    let mut lab = Lab::new("dynif", 1);
    let node = lab.start(kind, 1, CONF);
    let mut steps = Vec::new();
    // eth5 missing: VI_0 alone becomes MASTER; VI_5 and VI_6 wait.
    let ok = netns::wait_until(Duration::from_secs(20), || vips(&lab).len() == 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        ok && lab.node(node).running(),
        "{kind:?}: {:?}\n{}",
        vips(&lab),
        lab.logs()
    );
    steps.push(vips(&lab));
    for round in 0..2 {
        eth5_up(&lab);
        let ok = netns::wait_until(Duration::from_secs(20), || all_three(&vips(&lab)));
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            ok,
            "{kind:?} round {round}: eth5 came, {:?}\n{}",
            vips(&lab),
            lab.logs()
        );
        // The macvlan's name varies with what exists; its parent is what counts.
        steps.push(
            vips(&lab)
                .into_iter()
                .map(|(a, i)| {
                    (
                        a,
                        if i.starts_with("vrrp") {
                            "macvlan".into()
                        } else {
                            i
                        },
                    )
                })
                .collect(),
        );
        eth5_gone(&lab);
        let ok = netns::wait_until(Duration::from_secs(10), || vips(&lab).len() == 1);
        assert!(
            ok,
            "{kind:?} round {round}: eth5 went, {:?}\n{}",
            vips(&lab),
            lab.logs()
        );
        steps.push(vips(&lab));
    }
    assert!(lab.node(node).running(), "{kind:?} stopped\n{}", lab.logs());
    lab.node(node).terminate();
    println!("{kind:?}: {steps:?}");
    steps
}

#[test]
fn an_instance_waits_for_its_interface_as_with_keepalived() {
    if !netns::require_root() {
        return;
    }
    let ka = scenario(Kind::Keepalived);
    let vg = scenario(Kind::Vigil);
    assert_eq!(
        vg, ka,
        "vigild must follow the interface as keepalived does"
    );
    let s = |a: &str, i: &str| (a.to_string(), i.to_string());
    let alone = vec![s("192.0.2.50/24", "eth0")];
    let full = vec![
        s("192.0.2.50/24", "eth0"),
        s("198.51.100.55/24", "eth5"),
        s("198.51.100.56/24", "macvlan"),
    ];
    assert_eq!(
        ka,
        [alone.clone(), full.clone(), alone.clone(), full, alone]
    );
}

/// Without dynamic_interfaces both refuse the missing interface at start.
#[test]
fn without_it_a_missing_interface_stops_the_start_as_with_keepalived() {
    if !netns::require_root() {
        return;
    }
    let conf = CONF.replace("  dynamic_interfaces\n", "");
    let mut out = Vec::new();
    for kind in [Kind::Keepalived, Kind::Vigil] {
        let mut lab = Lab::new("dynno", 1);
        let node = lab.start(kind, 1, &conf);
        let stopped = netns::wait_until(Duration::from_secs(15), || !lab.node(node).running());
        let log = lab.node_ref(node).log_text();
        println!("{kind:?}: stopped={stopped}, VIPs {:?}", vips(&lab));
        assert!(
            stopped,
            "{kind:?} still runs on a missing interface:\n{log}"
        );
        assert!(vips(&lab).is_empty(), "{kind:?} added addresses:\n{log}");
        out.push(stopped);
    }
    assert_eq!(out, [true, true]);
}
