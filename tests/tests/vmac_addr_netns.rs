//! `use_vmac_addr` and an address's `use_vmac` live, against keepalived 2.2.7 in the same test
//! (issue 15): each daemon runs the same file on host 1 of a fresh lab (eth0 and eth1), alone,
//! so it becomes MASTER; then the macvlans it made (name, parent, MAC) and the interface each
//! address went on are read, and again after it stopped. vigild must do what keepalived did:
//!
//! - VI_1 (`use_vmac_addr`): its address on another interface (`dev eth1`) goes on a macvlan
//!   with the IPv4 virtual MAC of its VRID on eth1; its excluded IPv6 address (the other family)
//!   on a macvlan with the IPv6 virtual MAC on eth0; its plain address stays on eth0;
//! - VI_2 (addresses with `use_vmac`): each on a macvlan of its own on its interface;
//! - every macvlan goes when the daemon stops.
//!
//! Waits are bounded; the lab's namespaces (and every interface in them) go when it is dropped.

use std::time::Duration;

use vigil_tests::netns::{self, Kind, Lab};

const CONF: &str = "global_defs {
  router_id vigil_test
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  use_vmac_addr
  virtual_ipaddress {
    192.0.2.100/24
    198.51.100.100/24 dev eth1
  }
  virtual_ipaddress_excluded {
    2001:db8::100/64
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.101/24
    203.0.113.101/24 dev eth1 use_vmac
    192.0.2.102/24 use_vmac
  }
}
";

/// The addresses of [`CONF`].
const ADDRESSES: [&str; 6] = [
    "192.0.2.100/24",
    "198.51.100.100/24",
    "2001:db8::100/64",
    "192.0.2.101/24",
    "203.0.113.101/24",
    "192.0.2.102/24",
];

/// (address, interface) pairs.
type Placement = Vec<(String, String)>;

/// (name, parent, MAC) triples.
type Macvlans = Vec<(String, String, String)>;

/// Every macvlan of host 1: (name, parent, MAC), sorted.
fn macvlans(lab: &Lab) -> Vec<(String, String, String)> {
    let out = lab.exec(1, &["ip", "-o", "link", "show", "type", "macvlan"]);
    let mut v: Vec<(String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let dev = l.split(": ").nth(1)?;
            let (name, parent) = dev.split_once('@')?;
            let mac = l.split("link/ether ").nth(1)?.split(' ').next()?;
            Some((name.to_string(), parent.to_string(), mac.to_string()))
        })
        .collect();
    v.sort();
    v
}

/// Where each address of [`ADDRESSES`] is on host 1: (address, interface), in that order; an
/// address that is nowhere is left out.
fn placement(lab: &Lab) -> Vec<(String, String)> {
    let out = lab.exec(1, &["ip", "-o", "addr", "show"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    ADDRESSES
        .iter()
        .filter_map(|a| {
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.get(3) == Some(a)).then(|| (a.to_string(), f[1].to_string()))
            })
        })
        .collect()
}

/// What one daemon did.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    macvlans: Vec<(String, String, String)>,
    placement: Vec<(String, String)>,
    after_stop: Vec<(String, String, String)>,
}

fn scenario(kind: Kind) -> Seen {
    let mut lab = Lab::with_links("vmaddr", 1, 2);
    let node = lab.start(kind, 1, CONF);
    let all = netns::wait_until(Duration::from_secs(25), || {
        placement(&lab).len() == ADDRESSES.len()
    });
    // A moment more, for a macvlan or an address that should not be there.
    std::thread::sleep(Duration::from_millis(1500));
    let macvlans = macvlans(&lab);
    let placement = placement(&lab);
    assert!(
        all,
        "{kind:?}: not every address came: {placement:?} {macvlans:?}\n{}",
        lab.logs()
    );
    lab.node(node).terminate();
    netns::wait_until(Duration::from_secs(10), || self::macvlans(&lab).is_empty());
    let after_stop = self::macvlans(&lab);
    let seen = Seen {
        macvlans,
        placement,
        after_stop,
    };
    println!("{kind:?}: {seen:#?}");
    seen
}

#[test]
fn addresses_get_their_own_macvlans_as_with_keepalived() {
    if !netns::require_root() {
        return;
    }
    let ka = scenario(Kind::Keepalived);
    let vg = scenario(Kind::Vigil);
    assert_eq!(vg, ka, "vigild must place the addresses as keepalived does");
    // And what keepalived 2.2.7 does, written out (so that a change of either shows).
    let own = |n: &str, p: &str, m: &str| (n.to_string(), p.to_string(), m.to_string());
    assert_eq!(
        ka.macvlans,
        [
            own("vrrp.51", "eth1", "00:00:5e:00:01:33"),
            own("vrrp.52", "eth1", "00:00:5e:00:01:34"),
            own("vrrp1.52", "eth0", "00:00:5e:00:01:34"),
            own("vrrp6.51", "eth0", "00:00:5e:00:02:33"),
        ]
    );
    let on = |a: &str, i: &str| (a.to_string(), i.to_string());
    assert_eq!(
        ka.placement,
        [
            on("192.0.2.100/24", "eth0"),
            on("198.51.100.100/24", "vrrp.51"),
            on("2001:db8::100/64", "vrrp6.51"),
            on("192.0.2.101/24", "eth0"),
            on("203.0.113.101/24", "vrrp.52"),
            on("192.0.2.102/24", "vrrp1.52"),
        ]
    );
    assert!(ka.after_stop.is_empty(), "{:?}", ka.after_stop);
}

/// A reload that turns `use_vmac_addr` on for a MASTER: each daemon runs [`CONF`] without it,
/// gets the file with it and SIGHUP; where the addresses are afterwards must be where
/// keepalived put them.
fn reload_scenario(kind: Kind) -> (Placement, Macvlans) {
    let mut lab = Lab::with_links("vmaddrhup", 1, 2);
    let before = CONF.replace("  use_vmac_addr\n", "");
    let node = lab.start(kind, 1, &before);
    let all = netns::wait_until(Duration::from_secs(25), || {
        placement(&lab).len() == ADDRESSES.len()
    });
    assert!(all, "{kind:?}: {:?}\n{}", placement(&lab), lab.logs());
    let conf = lab.node_ref(node).conf.clone();
    std::fs::write(&conf, CONF).expect("rewrite the configuration");
    netns::signal(lab.node_ref(node).pid, libc::SIGHUP);
    let moved = netns::wait_until(Duration::from_secs(20), || {
        placement(&lab)
            .iter()
            .any(|(a, i)| a == "198.51.100.100/24" && i != "eth1")
            && placement(&lab).len() == ADDRESSES.len()
    });
    std::thread::sleep(Duration::from_millis(1500));
    let seen = (placement(&lab), macvlans(&lab));
    assert!(moved, "{kind:?} after the reload: {seen:?}\n{}", lab.logs());
    lab.node(node).terminate();
    println!("{kind:?} after the reload: {seen:#?}");
    seen
}

#[test]
fn a_reload_that_adds_use_vmac_addr_moves_a_master_s_addresses_as_keepalived() {
    if !netns::require_root() {
        return;
    }
    let ka = reload_scenario(Kind::Keepalived);
    let vg = reload_scenario(Kind::Vigil);
    assert_eq!(vg, ka, "vigild must place the addresses as keepalived does");
}
