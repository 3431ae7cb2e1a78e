//! Issue 15: keepalived.conf(5) `unicast_ttl`, live beside keepalived 2.2.7.
//!
//! vigild (priority 200) and keepalived (priority 100) run one unicast VRRPv2 instance with
//! `unicast_ttl 64` on two hosts. A capture on the bridge shows vigild's adverts, and after
//! vigild stops keepalived's, leaving with TTL 64 (RFC 5798's 255 otherwise). keepalived does not
//! hold a unicast advert's TTL to its own `unicast_ttl` (vrrp.c checks only a peer's
//! `min_ttl` / `max_ttl`), and neither does vigild: keepalived stays BACKUP while vigild is
//! MASTER, and vigild takes no address while keepalived is. Needs root, keepalived, tcpdump and
//! tshark: without them the test says NOT RUN.

use std::time::Duration;

use vigil_tests::netns::{host_v4, not_run, require_root, tshark_fields, Kind, Lab};

fn conf(me: usize, peer: usize, priority: u8) -> String {
    format!(
        "vrrp_instance VI_TTL {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 62\n  \
         priority {priority}\n  version 2\n  advert_int 1\n  unicast_src_ip {}\n  \
         unicast_ttl 64\n  unicast_peer {{\n    {}\n  }}\n  virtual_ipaddress {{\n    \
         192.0.2.100/24\n  }}\n}}\n",
        host_v4(me),
        host_v4(peer)
    )
}

#[test]
fn unicast_adverts_leave_with_unicast_ttl_like_keepalived_s() {
    if !require_root() {
        return;
    }
    for tool in ["keepalived", "tcpdump", "tshark"] {
        if std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_err()
        {
            not_run(&format!("{tool} is not installed"));
            return;
        }
    }
    let vip: std::net::IpAddr = "192.0.2.100".parse().unwrap();
    let mut lab = Lab::new("uttl", 2);
    let cap = lab.capture("uttl.pcap");
    let ka = lab.start(Kind::Keepalived, 2, &conf(2, 1, 100));
    let vg = lab.start(Kind::Vigil, 1, &conf(1, 2, 200));
    assert!(
        lab.wait_sole_holder(vip, 1, Duration::from_secs(15)),
        "vigild did not become the only MASTER: {:?}\n{}",
        lab.holders(vip),
        lab.logs()
    );
    // Several advert intervals with vigild MASTER: keepalived accepts its TTL-64 adverts.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lab.holders(vip), [1], "two masters\n{}", lab.logs());
    lab.node(vg).terminate();
    assert!(
        lab.wait_sole_holder(vip, 2, Duration::from_secs(10)),
        "keepalived did not take over\n{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(2500));
    lab.node(ka).terminate();
    let pcap = lab.stop_capture(cap);
    let rows = tshark_fields(&pcap, "vrrp", &["ip.src", "ip.dst", "ip.ttl"])
        .unwrap_or_else(|e| panic!("{e}"));
    let ttls = |src: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.first().is_some_and(|s| s == src))
            .map(|r| r.get(2).cloned().unwrap_or_default())
            .collect()
    };
    let vigil = ttls(&host_v4(1).to_string());
    let keepalived = ttls(&host_v4(2).to_string());
    println!("vigild adverts' TTLs: {vigil:?}");
    println!("keepalived adverts' TTLs: {keepalived:?}");
    assert!(vigil.len() >= 3, "too few adverts from vigild: {rows:?}");
    assert!(
        keepalived.len() >= 2,
        "too few adverts from keepalived: {rows:?}"
    );
    assert!(vigil.iter().all(|t| t == "64"), "{vigil:?}");
    assert!(keepalived.iter().all(|t| t == "64"), "{keepalived:?}");
}
