//! `track_src_ip` live, against keepalived 2.2.7 in the same test (issue 15, section 6).
//!
//! keepalived.conf(5) says an instance with `track_src_ip` goes to FAULT when its configured
//! source address (`mcast_src_ip` / `unicast_src_ip`) is removed. keepalived 2.2.7's code does
//! not: core/keepalived_netlink.c decides `is_tracking_saddr` with
//! `inaddr_equal(family, &vrrp->saddr, addr)`, which compares the address with the start of
//! the `sockaddr` (its family and port fields), never equal; so an instance whose source comes
//! from the configuration is never taken down (nor brought up) by address events. Vigil keeps
//! the keyword as a notice and does the same: this test holds both to it. Should keepalived
//! start honouring it (the comparison is the same in its current sources), this test fails
//! and the keyword's class is revisited.
//!
//! The scenario, on host 1 of a fresh lab for each daemon: `mcast_src_ip` is the host's only
//! IPv4 address with `track_src_ip`, the virtual address in another subnet (so that removing
//! the host's address does not take the virtual one with it, as the kernel does with the
//! secondaries of a subnet); once MASTER, the host's address is removed (`ip addr del`); the
//! daemon's state, its virtual address and whether its adverts are still on the wire (a bridge
//! capture) are read after a bounded wait. keepalived keeps sending from the configured source
//! (its IP_HDRINCL socket); vigild does too since its VRRP sockets are IP_TRANSPARENT (before,
//! its sends failed with ENETUNREACH and the MASTER went silent, so a backup would have taken
//! over while it kept the address). Nothing is timed.

use std::time::Duration;

use std::net::{IpAddr, Ipv4Addr};

use vigil_tests::netns::{self, host_v4, keepalived_conf, Instance, Kind, Lab};

/// The virtual address, outside the host's subnet.
fn vip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 100))
}

/// What the daemon did after its configured source address was removed.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// It went to FAULT (per its log).
    fault: bool,
    /// It still held the virtual address at the end of the wait.
    holds_vip: bool,
    /// Its adverts were still on the wire after the removal (a MASTER that goes quiet lets a
    /// backup take over).
    adverts_after: bool,
}

fn scenario(kind: Kind) -> Outcome {
    let mut lab = Lab::new("tsrc", 1);
    let src = host_v4(1);
    let mut inst = Instance::v4(3, 100, "1");
    inst.vips = vec!["203.0.113.100/24".into()];
    let conf = keepalived_conf(&[inst]).replace(
        "  virtual_ipaddress {",
        &format!("  mcast_src_ip {src}\n  track_src_ip\n  virtual_ipaddress {{"),
    );
    let node = lab.start(kind, 1, &conf);
    assert!(
        lab.wait_sole_holder(vip(), 1, Duration::from_secs(15)),
        "{kind:?} must become MASTER alone; log:\n{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_secs(1));
    let before = lab.node_ref(node).log_text().len();
    netns::must(&[
        "ip",
        "-n",
        &lab.ns(1),
        "addr",
        "del",
        &format!("{src}/24"),
        "dev",
        "eth0",
    ]);
    // Longer than a Master_Down_Interval: a FAULT would have been entered by then.
    let faulted = |lab: &Lab| {
        let log = lab.node_ref(node).log_text();
        let after = log.get(before..).unwrap_or("");
        match kind {
            Kind::Keepalived => after.contains("Entering FAULT STATE"),
            Kind::Vigil => after.contains("-> FAULT"),
        }
    };
    // Let the removal settle, then watch the wire for three advert intervals.
    std::thread::sleep(Duration::from_millis(500));
    let cap = lab.capture("after.pcap");
    let fault = netns::wait_until(Duration::from_secs(5), || faulted(&lab));
    std::thread::sleep(Duration::from_secs(3));
    let pcap = lab.stop_capture(cap);
    let adverts = netns::tshark_fields(&pcap, "vrrp", &["ip.src"]).expect("tshark");
    let out = Outcome {
        fault,
        holds_vip: lab.has(1, vip()),
        adverts_after: !adverts.is_empty(),
    };
    let log = lab.node_ref(node).log_text();
    println!(
        "track_src_ip, configured source removed ({kind:?}): {out:?}\n  log after the removal:\n{}",
        log.get(before..)
            .unwrap_or("")
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    lab.node(node).terminate();
    out
}

#[test]
fn track_src_ip_does_what_keepalived_2_2_7_does() {
    if !netns::require_root() {
        return;
    }
    let ka = scenario(Kind::Keepalived);
    let vg = scenario(Kind::Vigil);
    assert_eq!(vg, ka, "vigild must do what keepalived does");
    assert_eq!(
        ka,
        Outcome {
            fault: false,
            holds_vip: true,
            adverts_after: true,
        },
        "keepalived 2.2.7 does not act on track_src_ip (see the module documentation)"
    );
}
