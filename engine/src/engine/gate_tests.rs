//! The per-interface announcement gate (announce.rs; keepalived 2.2.7 vrrp_arp.c /
//! vrrp_ndisc.c / vrrp_scheduler.c `vrrp_arp_thread`): `vrrp_garp_interval`,
//! `vrrp_gna_interval` and `garp_group`.

use super::*;
use crate::setup::{GarpGroup, VirtualAddress};
use std::net::Ipv4Addr;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn v(addr: &str, dev: Option<&str>) -> VirtualAddress {
    let mut v = VirtualAddress::new(addr.parse().expect("a test address"));
    v.dev = dev.map(str::to_string);
    v
}

/// An address owner (priority 255: MASTER at start) on `iface` with these addresses,
/// `garp_master_repeat` `repeat`, no delayed burst.
fn owner(
    name: &str,
    iface: &str,
    vrid: u8,
    addrs: &[VirtualAddress],
    repeat: u32,
) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, iface, vrid, Version::V3, Family::V4).priority(255);
    c.virtual_addresses = addrs.to_vec();
    c.announce.master_repeat = repeat;
    c.announce.master_delay = Duration::ZERO;
    c
}

/// Every address announced until `until`: (time in ms, instance name, address), in order.
fn frames(ec: EngineConfig, until: Instant) -> Vec<(u64, String, String)> {
    let mut e = started(ec);
    let mut out = Vec::new();
    let mut record = |now: Instant, e: &mut Engine| {
        while let Some(a) = e.poll_action() {
            if let Action::Announce {
                instance, addrs, ..
            } = a
            {
                let name = e
                    .instance(instance)
                    .map(|i| i.name().to_string())
                    .unwrap_or_default();
                for x in addrs.iter() {
                    out.push((now.as_nanos() / 1_000_000, name.clone(), x.addr.to_string()));
                }
            }
        }
    };
    record(ms(0), &mut e);
    while let Some(t) = e.poll_timeout() {
        if t > until {
            break;
        }
        e.handle_timeout(t);
        record(t, &mut e);
    }
    out
}

/// An engine for `ec`, each interface with a primary address, started at 0.
fn started(ec: EngineConfig) -> Engine {
    let mut e = Engine::new(ec).expect("a valid configuration");
    let ifaces: Vec<IfaceId> = e.interfaces().map(|(id, _)| id).collect();
    for (k, iface) in ifaces.into_iter().enumerate() {
        e.handle_input(
            ms(0),
            Input::PrimaryAddress {
                iface,
                family: Family::V4,
                addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + k as u8))),
            },
        );
    }
    e.handle_input(ms(0), Input::Start);
    e
}

fn f(t: u64, i: &str, a: &str) -> (u64, String, String) {
    (t, i.to_string(), a.to_string())
}

/// The sequence keepalived 2.2.7 sends with `vrrp_garp_interval 0.5`, `garp_master_repeat 5`
/// and two addresses on one interface (measured side by side): A at 0, A at 0.5 s, B at 1 s.
/// vigild used to send both addresses five times, 0.5 s apart.
#[test]
fn the_keepalived_sequence_a_a_b() {
    let c = owner(
        "VI_1",
        "eth0",
        51,
        &[v("192.0.2.100", None), v("192.0.2.101", None)],
        5,
    );
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(500);
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![
            f(0, "VI_1", "192.0.2.100"),
            f(500, "VI_1", "192.0.2.100"),
            f(1000, "VI_1", "192.0.2.101"),
        ]
    );
}

/// Without a gate (the default) a burst is every address `repeat` times, back to back.
#[test]
fn no_gate_sends_every_repeat_at_once() {
    let c = owner(
        "VI_1",
        "eth0",
        51,
        &[v("192.0.2.100", None), v("192.0.2.101", None)],
        3,
    );
    let got = frames(EngineConfig::instances(vec![c]), ms(10_000));
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|x| x.0 == 0));
}

/// A pending address is a flag: ten repeats of one address behind a shut gate are one
/// announcement when it opens.
#[test]
fn repeats_of_a_pending_address_collapse_into_one() {
    let c = owner("VI_1", "eth0", 51, &[v("192.0.2.100", None)], 10);
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(200);
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![f(0, "VI_1", "192.0.2.100"), f(200, "VI_1", "192.0.2.100")]
    );
}

/// Gratuitous ARPs and unsolicited NAs have a gate each (keepalived's garp_next_time and
/// gna_next_time): an NA is not held back by an ARP on the same interface.
#[test]
fn the_na_gate_is_apart_from_the_arp_gate() {
    let mut c = owner("VI_1", "eth0", 51, &[v("192.0.2.100", None)], 2);
    c.excluded_addresses = vec![v("2001:db8::7", None)];
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(500);
    ec.announce_gates.gna_interval = Duration::from_millis(300);
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![
            f(0, "VI_1", "192.0.2.100"),
            f(0, "VI_1", "2001:db8::7"),
            f(300, "VI_1", "2001:db8::7"),
            f(500, "VI_1", "192.0.2.100"),
        ]
    );
}

/// Two instances on one interface share its gate: never two gratuitous ARPs closer than the
/// interval there, whichever instance asks (the first instance first, as keepalived's thread
/// walks its instances in order).
#[test]
fn two_instances_on_one_interface_share_one_gate() {
    let a = owner("VI_1", "eth0", 51, &[v("192.0.2.100", None)], 2);
    let b = owner("VI_2", "eth0", 52, &[v("192.0.2.101", None)], 2);
    let mut ec = EngineConfig::instances(vec![a, b]);
    ec.announce_gates.garp_interval = Duration::from_millis(400);
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![
            f(0, "VI_1", "192.0.2.100"),
            f(400, "VI_1", "192.0.2.100"),
            f(800, "VI_2", "192.0.2.101"),
        ]
    );
}

/// `garp_group` sets the gate of its interfaces; the others keep `vrrp_garp_interval`; an
/// interval the group leaves out is no gate on its interfaces (keepalived's
/// `have_garp_interval` false), not the default.
#[test]
fn a_garp_group_gates_its_interfaces() {
    let a = owner(
        "VI_1",
        "eth0",
        51,
        &[v("192.0.2.100", None), v("192.0.2.101", None)],
        1,
    );
    let b = owner(
        "VI_2",
        "eth1",
        52,
        &[v("198.51.100.1", None), v("198.51.100.2", None)],
        1,
    );
    let c = owner(
        "VI_3",
        "eth2",
        53,
        &[v("203.0.113.1", None), v("203.0.113.2", None)],
        1,
    );
    let mut ec = EngineConfig::instances(vec![a, b, c]);
    ec.announce_gates.garp_interval = Duration::from_millis(500);
    ec.announce_gates.groups = vec![
        GarpGroup {
            garp_interval: Duration::from_millis(200),
            gna_interval: Duration::ZERO,
            interfaces: vec!["eth0".into()],
        },
        GarpGroup {
            garp_interval: Duration::ZERO,
            gna_interval: Duration::from_millis(200),
            interfaces: vec!["eth2".into()],
        },
    ];
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![
            f(0, "VI_1", "192.0.2.100"),
            f(0, "VI_2", "198.51.100.1"),
            f(0, "VI_3", "203.0.113.1"),
            f(0, "VI_3", "203.0.113.2"),
            f(200, "VI_1", "192.0.2.101"),
            f(500, "VI_2", "198.51.100.2"),
        ]
    );
}

/// The gate belongs to the interface an address is on (its `dev`), not the instance's.
#[test]
fn an_address_on_another_interface_uses_that_interface_gate() {
    let c = owner(
        "VI_1",
        "eth0",
        51,
        &[v("192.0.2.100", None), v("198.51.100.1", Some("eth1"))],
        1,
    );
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(500);
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![f(0, "VI_1", "192.0.2.100"), f(0, "VI_1", "198.51.100.1")]
    );
}

/// An address on a macvlan goes through its lower interface's gate (keepalived 2.2.7
/// `send_gratuitous_arp`: `IF_BASE_IFP(ipaddress->ifp)`): with eth0 gated, the address on
/// mv0 (a macvlan over eth0) waits for eth0's gate; without the runner's `bases` it would go at
/// once through mv0's own (ungated) gate, as the address on eth1 does.
#[test]
fn an_address_on_a_macvlan_uses_its_lower_interface_gate() {
    let c = owner(
        "VI_1",
        "eth0",
        51,
        &[
            v("192.0.2.100", None),
            v("192.0.2.101", Some("mv0")),
            v("198.51.100.1", Some("eth1")),
        ],
        1,
    );
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.groups = vec![GarpGroup {
        garp_interval: Duration::from_millis(500),
        gna_interval: Duration::ZERO,
        interfaces: vec!["eth0".to_string()],
    }];
    let unmapped = frames(ec.clone(), ms(10_000));
    assert_eq!(
        unmapped,
        vec![
            f(0, "VI_1", "192.0.2.100"),
            f(0, "VI_1", "192.0.2.101"),
            f(0, "VI_1", "198.51.100.1")
        ]
    );
    ec.announce_gates.bases = vec![("mv0".to_string(), "eth0".to_string())];
    assert_eq!(
        frames(ec, ms(10_000)),
        vec![
            f(0, "VI_1", "192.0.2.100"),
            f(0, "VI_1", "198.51.100.1"),
            f(500, "VI_1", "192.0.2.101")
        ]
    );
}

/// Leaving MASTER drops what is pending (keepalived `vrrp_remove_delayed_arp`).
#[test]
fn leaving_master_drops_pending_announcements() {
    let c = owner(
        "VI_1",
        "eth0",
        51,
        &[v("192.0.2.100", None), v("192.0.2.101", None)],
        1,
    );
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(500);
    let mut e = started(ec);
    let first: usize = std::iter::from_fn(|| e.poll_action())
        .filter_map(|a| match a {
            Action::Announce { addrs, .. } => Some(addrs.len()),
            _ => None,
        })
        .sum();
    assert_eq!(first, 1, "one address now, the other pending");
    e.handle_input(ms(100), Input::Shutdown);
    let mut later = 0;
    while let Some(t) = e.poll_timeout() {
        if t > ms(5000) {
            break;
        }
        e.handle_timeout(t);
        later += std::iter::from_fn(|| e.poll_action())
            .filter(|a| matches!(a, Action::Announce { .. }))
            .count();
    }
    assert_eq!(
        later, 0,
        "the pending address is not announced after leaving MASTER"
    );
}
