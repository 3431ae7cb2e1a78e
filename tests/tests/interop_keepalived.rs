//! Mixed clusters: vigild beside real keepalived 2.2.7 on one bridge.
//!
//! The matrix: {v2, v3} x {IPv4, IPv6 for v3} x {multicast, unicast} x {Vigil master, keepalived
//! master}. In each, the priority-200 router must win the election and keep it (the backup
//! accepts every advert it hears: a rejected advert would make it take over, and two routers would
//! hold the address), then it is crashed (`kill -9`; keepalived's parent and VRRP child together)
//! and the other implementation must take over. The "master" half of the matrix gives both
//! directions of takeover. Then: PASS authentication with matching and mismatching passwords,
//! graceful (priority 0) hand-over both ways, and a capture whose every VRRP packet tshark
//! decodes with a good checksum.

use std::net::IpAddr;
use std::time::Duration;

use vigil_tests::netns::{
    host_v4, keepalived_conf, require_root, tshark_fields, vip4, vip6, wait_until, Instance, Kind,
    Lab,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    V2Ipv4,
    V3Ipv4,
    V3Ipv6,
}

fn instance(setup: Setup, priority: u8) -> Instance {
    match setup {
        Setup::V2Ipv4 => Instance::v4(2, priority, "1"),
        Setup::V3Ipv4 => Instance::v4(3, priority, "0.1"),
        Setup::V3Ipv6 => Instance::v6(priority, "0.1"),
    }
}

fn vip(setup: Setup) -> IpAddr {
    match setup {
        Setup::V3Ipv6 => vip6(),
        _ => vip4(),
    }
}

/// An election takes Master_Down_Interval (3.6 s at v2's 1 s, 0.36 s at 100 ms); these bounds
/// are generous.
fn bound(setup: Setup) -> Duration {
    match setup {
        Setup::V2Ipv4 => Duration::from_secs(12),
        _ => Duration::from_secs(5),
    }
}

/// Three advert intervals: long enough for a backup that rejected the master's adverts to
/// have taken over.
fn settle(setup: Setup) -> Duration {
    match setup {
        Setup::V2Ipv4 => Duration::from_millis(4500),
        _ => Duration::from_millis(800),
    }
}

/// Unicast peers: over IPv6 the hosts' link-locals (what keepalived expects for IPv6 unicast
/// from the interface's own link-local), over IPv4 their primary addresses.
fn with_unicast(mut i: Instance, setup: Setup, me: usize, other: usize) -> Instance {
    match setup {
        Setup::V3Ipv6 => {
            i.unicast_peers = vec![IpAddr::V6(vigil_tests::netns::host_ll(other))];
        }
        _ => {
            i.unicast_src = Some(IpAddr::V4(host_v4(me)));
            i.unicast_peers = vec![IpAddr::V4(host_v4(other))];
        }
    }
    i
}

/// Run one cell of the matrix. Host 1 runs the master-to-be (priority 200), host 2 the other
/// implementation (priority 100).
fn cell(name: &str, setup: Setup, unicast: bool, vigil_master: bool) {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new(name, 2);
    let cap = lab.capture("cell.pcap");
    let (mut hi, mut lo) = (instance(setup, 200), instance(setup, 100));
    if unicast {
        hi = with_unicast(hi, setup, 1, 2);
        lo = with_unicast(lo, setup, 2, 1);
    }
    let (k_hi, k_lo) = if vigil_master {
        (Kind::Vigil, Kind::Keepalived)
    } else {
        (Kind::Keepalived, Kind::Vigil)
    };
    let n_lo = lab.start(k_lo, 2, &keepalived_conf(&[lo]));
    let n_hi = lab.start(k_hi, 1, &keepalived_conf(&[hi]));
    let a = vip(setup);
    assert!(
        lab.wait_sole_holder(a, 1, bound(setup)),
        "{k_hi:?} (priority 200) should win\n{}",
        lab.logs()
    );
    std::thread::sleep(settle(setup));
    assert_eq!(
        lab.holders(a),
        vec![1],
        "{k_lo:?} did not accept {k_hi:?}'s adverts\n{}",
        lab.logs()
    );
    lab.node(n_hi).kill9();
    assert!(
        wait_until(bound(setup), || lab.has(2, a)),
        "{k_lo:?} should take over after kill -9 of {k_hi:?}\n{}",
        lab.logs()
    );
    assert!(lab.node(n_lo).running(), "{}", lab.logs());
    let pcap = lab.stop_capture(cap);
    assert_good_checksums(&pcap, &lab);
}

/// Every VRRP packet in `pcap` decodes with a good checksum (tshark's status 1), and there is at
/// least one from each host.
fn assert_good_checksums(pcap: &std::path::Path, lab: &Lab) {
    let rows = tshark_fields(pcap, "vrrp", &["vrrp.checksum.status", "eth.src"])
        .unwrap_or_else(|e| panic!("tshark: {e}"));
    assert!(!rows.is_empty(), "no VRRP packet captured\n{}", lab.logs());
    let bad: Vec<_> = rows.iter().filter(|r| r[0] != "1").collect();
    assert!(bad.is_empty(), "bad checksums: {bad:?} in {pcap:?}");
    for mac in ["02:00:00:00:00:01", "02:00:00:00:00:02"] {
        assert!(
            rows.iter().any(|r| r.get(1).is_some_and(|m| m == mac)),
            "no advert from {mac}"
        );
    }
}

macro_rules! cells {
    ($($name:ident: $setup:expr, $unicast:expr, $vigil_master:expr;)*) => {
        $(
            #[test]
            fn $name() {
                cell(stringify!($name), $setup, $unicast, $vigil_master);
            }
        )*
    };
}

cells! {
    v2_ipv4_multicast_vigil_master: Setup::V2Ipv4, false, true;
    v2_ipv4_multicast_keepalived_master: Setup::V2Ipv4, false, false;
    v2_ipv4_unicast_vigil_master: Setup::V2Ipv4, true, true;
    v2_ipv4_unicast_keepalived_master: Setup::V2Ipv4, true, false;
    v3_ipv4_multicast_vigil_master: Setup::V3Ipv4, false, true;
    v3_ipv4_multicast_keepalived_master: Setup::V3Ipv4, false, false;
    v3_ipv4_unicast_vigil_master: Setup::V3Ipv4, true, true;
    v3_ipv4_unicast_keepalived_master: Setup::V3Ipv4, true, false;
    v3_ipv6_multicast_vigil_master: Setup::V3Ipv6, false, true;
    v3_ipv6_multicast_keepalived_master: Setup::V3Ipv6, false, false;
    v3_ipv6_unicast_vigil_master: Setup::V3Ipv6, true, true;
    v3_ipv6_unicast_keepalived_master: Setup::V3Ipv6, true, false;
}

fn auth(pass_vigil: &str, pass_keepalived: &str) -> (Lab, IpAddr) {
    let mut lab = Lab::new("auth", 2);
    let mut v = Instance::v4(2, 200, "1");
    v.auth_pass = Some(pass_vigil.into());
    let mut k = Instance::v4(2, 100, "1");
    k.auth_pass = Some(pass_keepalived.into());
    lab.start(Kind::Keepalived, 2, &keepalived_conf(&[k]));
    lab.start(Kind::Vigil, 1, &keepalived_conf(&[v]));
    (lab, vip4())
}

#[test]
fn v2_pass_authentication_matching_passwords_keep_one_master() {
    if !require_root() {
        return;
    }
    let (lab, a) = auth("secret1", "secret1");
    assert!(
        lab.wait_sole_holder(a, 1, Duration::from_secs(12)),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(lab.holders(a), vec![1], "{}", lab.logs());
}

#[test]
fn v2_pass_authentication_mismatch_is_rejected_by_both() {
    if !require_root() {
        return;
    }
    // RFC 3768 section 7.1: an advert whose password differs is discarded. Each router then
    // hears no master, so each becomes one: that both hold the address is the proof that both
    // rejected the other's adverts.
    let (lab, a) = auth("secret1", "other22");
    assert!(
        wait_until(Duration::from_secs(12), || lab.holders(a) == vec![1, 2]),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(lab.holders(a), vec![1, 2], "{}", lab.logs());
    // RFC 3768 section 7.1: the discarded adverts are logged, rate-limited: one warning in the
    // first minute although keepalived's adverts arrive every second (vigild is node 1).
    let log = lab.node_ref(1).log_text();
    let warned = log
        .lines()
        .filter(|l| l.contains("dropped advert from") && l.contains("auth_failure"))
        .count();
    assert_eq!(warned, 1, "one rate-limited warning expected\n{log}");
}

/// Graceful stop both ways: the leaving master's priority-0 advert makes the other take over
/// after Skew_Time, well before Master_Down_Interval (3.6 s at 1 s adverts).
fn graceful(vigil_master: bool) {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("graceful", 2);
    let cap = lab.capture("graceful.pcap");
    let (k_hi, k_lo) = if vigil_master {
        (Kind::Vigil, Kind::Keepalived)
    } else {
        (Kind::Keepalived, Kind::Vigil)
    };
    lab.start(k_lo, 2, &keepalived_conf(&[Instance::v4(3, 100, "1")]));
    let hi = lab.start(k_hi, 1, &keepalived_conf(&[Instance::v4(3, 200, "1")]));
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(12)),
        "{}",
        lab.logs()
    );
    let t0 = std::time::Instant::now();
    lab.node(hi).terminate();
    assert!(
        lab.wait_sole_holder(vip4(), 2, Duration::from_secs(3)),
        "{}",
        lab.logs()
    );
    assert!(t0.elapsed() < Duration::from_secs(3), "{}", lab.logs());
    // The elapsed time alone passes a backup that ignored the priority-0 advert (its
    // Master_Down_Timer may run out soon after anyway). The capture: host 1's priority-0 advert,
    // then host 2's first advert within Skew_Time (609 ms at priority 100) plus half an interval
    // for a loaded machine; ignoring the priority-0 advert would take >= 2 s.
    std::thread::sleep(Duration::from_millis(200));
    let pcap = lab.stop_capture(cap);
    let gap = vigil_tests::netns::assert_priority_zero_handover(
        &pcap,
        "02:00:00:00:00:01",
        "02:00:00:00:00:02",
        100,
        Duration::from_secs(1),
        Duration::from_millis(500),
    );
    eprintln!("{k_hi:?} priority 0 -> first advert of {k_lo:?}: {gap:?}");
}

#[test]
fn graceful_stop_of_vigil_hands_over_to_keepalived() {
    graceful(true);
}

#[test]
fn graceful_stop_of_keepalived_hands_over_to_vigil() {
    graceful(false);
}
