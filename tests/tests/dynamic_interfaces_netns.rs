//! global_defs `dynamic_interfaces` live, against keepalived 2.2.7 in the same test (issue 15):
//!
//! - with it, an instance on an interface that does not exist yet (`eth5`) starts and waits:
//!   no address, the daemon running; when eth5 appears (a veth pair created in host 1's
//!   namespace, with an address, up) the instance becomes MASTER and its address comes on eth5;
//!   when eth5 is deleted it goes to FAULT (its states, read from a notify FIFO: FAULT at start,
//!   BACKUP and MASTER when eth5 comes, FAULT when it goes, twice, STOP) and the address goes
//!   with the link, and when eth5 comes back the instance is MASTER on it again; a `use_vmac`
//!   instance on eth5 gets its macvlan each time eth5 comes;
//! - without it, both daemons refuse to start on the missing interface.
//!
//! Each step is read the same way for both daemons; the sequences must be equal. Waits are
//! bounded; the lab's namespaces go when it is dropped.
//!
//! VI_5's states are read from a `vrrp_notify_fifo` the test reads itself
//! ([`Lab::state_fifo_to_stop`]), not from a notify script: eth5 is deleted 0.5 s after the
//! addresses are in place, so MASTER and FAULT are about 0.5 s apart, and keepalived 2.2.7
//! forks one notify script per change and waits for none (vrrp_notify.c `notify_exec`): on a
//! loaded machine the FAULT script can append before the MASTER one. The FIFO's lines come in
//! the order the daemon decided them (keepalived.conf(5)), and this reader, started by the test,
//! reads the STOP lines written at shutdown to the end (a FIFO script the daemon starts is
//! stopped then, maybe before it has read them).

use std::time::Duration;

use vigil_tests::netns::{self, Kind, Lab};

const CONF: &str = "global_defs {
  router_id vigil_test
  dynamic_interfaces
  enable_script_security
  script_user root
FIFO}
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

/// What one daemon did: the addresses at each step, and VI_5's states (from the FIFO, up to
/// its STOP).
fn scenario(kind: Kind) -> (Vec<Vec<(String, String)>>, Vec<String>) {
    let mut lab = Lab::new("dynif", 1);
    let (fifo, mut log) = lab.state_fifo_to_stop();
    let conf = CONF.replace("FIFO", &fifo);
    let node = lab.start(kind, 1, &conf);
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
        let ok = netns::wait_until(Duration::from_secs(10), || {
            vips(&lab).len() == 1 && log.states_of("VI_5").last().is_some_and(|s| s == "FAULT")
        });
        assert!(
            ok,
            "{kind:?} round {round}: eth5 went, {:?} {:?}\n{}",
            vips(&lab),
            log.states_of("VI_5"),
            lab.logs()
        );
        steps.push(vips(&lab));
    }
    assert!(lab.node(node).running(), "{kind:?} stopped\n{}", lab.logs());
    lab.node(node).terminate();
    let drained = log.drain(Duration::from_secs(10));
    assert!(
        drained,
        "{kind:?}: the FIFO's reader did not reach its end\n{}",
        lab.logs()
    );
    let seen = log.states_of("VI_5");
    println!("{kind:?}: {steps:?}\n{kind:?} VI_5 states: {seen:?}");
    (steps, seen)
}

#[test]
fn an_instance_waits_for_its_interface_as_with_keepalived() {
    if !netns::require_root() {
        return;
    }
    let (ka, ka_states) = scenario(Kind::Keepalived);
    let (vg, vg_states) = scenario(Kind::Vigil);
    assert_eq!(
        vg, ka,
        "vigild must follow the interface as keepalived does"
    );
    // VI_5 waits in FAULT, goes BACKUP then MASTER when eth5 comes and FAULT when it goes,
    // each time, then STOP: keepalived 2.2.7's sequence, and vigild's.
    assert_eq!(vg_states, ka_states, "VI_5's transitions");
    assert_eq!(
        ka_states,
        ["FAULT", "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "FAULT", "STOP"]
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
    let conf = CONF
        .replace("  dynamic_interfaces\n", "")
        .replace("FIFO", "");
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
