//! `vigild --packet-socket-adverts` (a Vigil extension, off by default), against keepalived 2.2.7
//! as the backup in the same test.
//!
//! By default vigild's IPv4 multicast adverts leave through its raw socket, as keepalived's do,
//! so they pass netfilter's `output` hook: an operator's nftables rule that drops VRRP on the
//! master silences it, and the backup takes over (a common way to make a router stand down).
//! With the option they leave from a packet socket with vigild's own IPv4 header
//! (io-linux `VrrpSocket::link_fd`; no output route allocated per advert, BENCHMARKS-daemon.md,
//! eleventh session): the same rule neither counts nor drops them, and keepalived must accept
//! that header (VRRPv2 and VRRPv3 instances) and stay BACKUP.
//!
//! Host 1 runs vigild at priority 200, host 2 keepalived at 100, advert_int 1 s
//! (Master_Down_Interval 3.6 s). Once host 1 holds both virtual addresses alone, a table with
//! `ip protocol vrrp counter drop` on the `output` hook goes into host 1's namespace (nftables
//! only inside the lab's namespaces). Default: the counter counts and keepalived takes both
//! addresses (host 1 keeps them too: it still hears keepalived's lower priority). With the option: after twice Master_Down_Interval the counter is still 0 and host
//! 1 still holds both addresses alone. No assertion is on a time: takeovers are waited for
//! (bounded), and the option's run waits long enough that a silenced master would have been
//! replaced twice. Needs root, keepalived and nft: without them the test says NOT RUN.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_tests::netns::{
    keepalived_conf, require_keepalived, require_root, vip4, wait_until, Instance, Kind, Lab,
};

/// The VRRPv3 instance's virtual address (the VRRPv2 one is [`vip4`]).
fn vip4_v3() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100))
}

fn conf(priority: u8) -> String {
    let v2 = Instance::v4(2, priority, "1");
    let v3 = Instance {
        name: "VI_3".into(),
        vrid: 53,
        vips: vec!["198.51.100.100/24".into()],
        ..Instance::v4(3, priority, "1")
    };
    keepalived_conf(&[v2, v3])
}

/// The packets host 1's drop rule has counted.
fn dropped(lab: &Lab) -> u64 {
    let out = lab.exec(1, &["nft", "list", "table", "inet", "vigil_test_out"]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "packets")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter in host 1's table: {text}"))
}

/// Host 1 (vigild with `args`) the sole holder of both addresses, keepalived the backup; then
/// the drop rule on host 1's output. Returns the lab (running).
fn start_and_block(name: &str, args: &[&str]) -> Lab {
    let mut lab = Lab::new(name, 2);
    lab.vigild_args = args.iter().map(|a| a.to_string()).collect();
    lab.start(Kind::Keepalived, 2, &conf(100));
    lab.start(Kind::Vigil, 1, &conf(200));
    for a in [vip4(), vip4_v3()] {
        assert!(
            lab.wait_sole_holder(a, 1, Duration::from_secs(20)),
            "{args:?}: host 1 (vigild, priority 200) never held {a} alone: holders {:?}\n{}",
            lab.holders(a),
            lab.logs()
        );
    }
    let o = lab.exec(
        1,
        &[
            "nft",
            "add table inet vigil_test_out; \
             add chain inet vigil_test_out out { type filter hook output priority 0; }; \
             add rule inet vigil_test_out out ip protocol vrrp counter drop",
        ],
    );
    assert!(
        o.status.success(),
        "nft in host 1's namespace: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    lab
}

#[test]
fn an_output_drop_rule_silences_the_raw_socket_adverts_as_keepalived_s() {
    if !require_root() || !require_keepalived() {
        return;
    }
    let lab = start_and_block("pktdef", &[]);
    for a in [vip4(), vip4_v3()] {
        // Host 1 keeps its address too (it still hears keepalived's lower priority): both
        // are MASTER, as with keepalived on host 1.
        assert!(
            wait_until(Duration::from_secs(20), || lab.has(2, a)),
            "default send path: host 1's adverts must pass its output hook and be dropped there, \
             and keepalived take {a}: holders {:?}, dropped {}\n{}",
            lab.holders(a),
            dropped(&lab),
            lab.logs()
        );
    }
    assert!(dropped(&lab) > 0, "the drop rule counted nothing");
}

#[test]
fn with_packet_socket_adverts_the_output_hook_is_passed_and_keepalived_hears_them() {
    if !require_root() || !require_keepalived() {
        return;
    }
    let lab = start_and_block("pktopt", &["--packet-socket-adverts"]);
    // Twice Master_Down_Interval (3 x 1 s + Skew_Time 0.61 s at priority 100): a master whose
    // adverts were dropped would have been replaced by now.
    std::thread::sleep(Duration::from_millis(7_300));
    let n = dropped(&lab);
    for a in [vip4(), vip4_v3()] {
        assert_eq!(
            lab.holders(a),
            vec![1],
            "--packet-socket-adverts: keepalived must keep hearing host 1's adverts for {a} \
             (dropped by the output rule: {n})\n{}",
            lab.logs()
        );
    }
    assert_eq!(n, 0, "the packet socket's adverts passed the output hook");
}
