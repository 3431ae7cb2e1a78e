//! Issue 15: `vrrp_garp_interval` and `garp_group` are keepalived 2.2.7's per-interface gate,
//! live beside keepalived.
//!
//! One host runs, in turn, keepalived and vigild with the same file, on one link captured with
//! tcpdump and read with tshark:
//! - `vrrp_garp_interval 0.5`, `garp_master_repeat 5`, no second burst, two virtual addresses A
//!   and B on eth0: keepalived sends A, A (the four repeats collapsed into one pending send)
//!   and B, one per gate opening (measured: 0, 0.51, 1.01 s); vigild used to send both
//!   addresses five times.
//! - the same with `garp_group { garp_interval 0.3; interface eth0 }` and no global interval,
//!   three addresses: A, A, B, C, 0.3 s apart.
//!
//! Checked for both daemons: the number of gratuitous ARPs per address is the same as
//! keepalived's (and what its code gives), and no two gratuitous ARPs on the link are closer
//! than the interval minus 20 ms (clock and capture jitter; a loaded machine only makes the
//! gaps longer). Needs root, keepalived, tcpdump and tshark: without them the test says NOT RUN.
//!
//! A reload (SIGHUP) in the middle of the announcements, vigild only (keepalived 2.2.7 drops
//! what is pending on reload and reopens the gate, on purpose not copied: engine
//! `gate_reload_tests.rs`): `vrrp_garp_interval 1`, addresses A, B, C, reloaded right after
//! becoming MASTER with D added and the interval at 1.5 s. Every address is announced (A twice)
//! and no two gratuitous ARPs are closer than 1 s, wherever the reload lands.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vigil_tests::netns::{not_run, require_root, tshark_fields, Kind, Lab};

fn tools_present() -> bool {
    for tool in ["keepalived", "tcpdump", "tshark"] {
        if std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_err()
        {
            not_run(&format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

fn conf(global: &str, addrs: &[&str]) -> String {
    let vips: String = addrs.iter().map(|a| format!("    {a}/24\n")).collect();
    format!(
        "{global}vrrp_instance VI_GATE {{\n  state MASTER\n  interface eth0\n  \
         virtual_router_id 65\n  priority 150\n  advert_int 1\n  garp_master_repeat 5\n  \
         garp_master_delay 0\n  virtual_ipaddress {{\n{vips}  }}\n}}\n"
    )
}

/// The gratuitous ARPs `kind` sent on becoming MASTER with `file`: (time, address) in order.
fn announcements(kind: Kind, tag: &str, file: &str, vip: IpAddr) -> Vec<(f64, String)> {
    let mut lab = Lab::new("gate", 1);
    let cap = lab.capture(&format!("gate-{tag}-{kind:?}.pcap"));
    let node = lab.start(kind, 1, file);
    assert!(
        lab.wait_sole_holder(vip, 1, Duration::from_secs(15)),
        "{kind:?} did not become MASTER\n{}",
        lab.logs()
    );
    // The gate lets the last pending address go within 1 s of becoming MASTER; wait well past.
    std::thread::sleep(Duration::from_secs(4));
    lab.node(node).terminate();
    let pcap = lab.stop_capture(cap);
    tshark_fields(
        &pcap,
        "arp.opcode == 1 && arp.src.proto_ipv4 == arp.dst.proto_ipv4",
        &["frame.time_epoch", "arp.src.proto_ipv4"],
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .filter_map(|r| Some((r.first()?.parse::<f64>().ok()?, r.get(1)?.clone())))
    .collect()
}

fn per_address(frames: &[(f64, String)]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, a) in frames {
        *m.entry(a.clone()).or_insert(0) += 1;
    }
    m
}

fn assert_spaced(who: &str, frames: &[(f64, String)], interval: f64) {
    for w in frames.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(
            gap >= interval - 0.020,
            "{who}: two gratuitous ARPs {gap:.3} s apart (gate {interval} s): {frames:?}"
        );
    }
}

fn side_by_side(tag: &str, global: &str, addrs: &[&str], interval: f64, want: &[(&str, usize)]) {
    let vip: IpAddr = addrs[0].parse().unwrap();
    let file = conf(global, addrs);
    let ka = announcements(Kind::Keepalived, tag, &file, vip);
    let vg = announcements(Kind::Vigil, tag, &file, vip);
    println!("{tag}: keepalived {ka:?}");
    println!("{tag}: vigild     {vg:?}");
    let want: BTreeMap<String, usize> = want.iter().map(|(a, n)| (a.to_string(), *n)).collect();
    assert_eq!(per_address(&ka), want, "{tag}: keepalived's own counts");
    assert_eq!(
        per_address(&vg),
        per_address(&ka),
        "{tag}: vigild vs keepalived"
    );
    assert_spaced("keepalived", &ka, interval);
    assert_spaced("vigild", &vg, interval);
    // The order keepalived's thread gives: A first, B (and C) after A's second.
    let order = |f: &[(f64, String)]| f.iter().map(|x| x.1.clone()).collect::<Vec<_>>();
    assert_eq!(order(&vg), order(&ka), "{tag}: the order of the addresses");
}

#[test]
fn vrrp_garp_interval_and_garp_group_gate_the_interface_like_keepalived() {
    if !require_root() || !tools_present() {
        return;
    }
    side_by_side(
        "global",
        "global_defs {\n  vrrp_garp_interval 0.5\n}\n",
        &["192.0.2.100", "192.0.2.101"],
        0.5,
        &[("192.0.2.100", 2), ("192.0.2.101", 1)],
    );
    side_by_side(
        "group",
        "garp_group {\n  garp_interval 0.3\n  interface eth0\n}\n",
        &["192.0.2.100", "192.0.2.101", "192.0.2.102"],
        0.3,
        &[("192.0.2.100", 2), ("192.0.2.101", 1), ("192.0.2.102", 1)],
    );
}

/// A reload while announcements wait for the gate (see the module docs).
#[test]
fn a_reload_in_flight_keeps_the_gate_and_what_is_pending() {
    if !require_root() || !tools_present() {
        return;
    }
    let before = conf(
        "global_defs {\n  vrrp_garp_interval 1\n}\n",
        &["192.0.2.100", "192.0.2.101", "192.0.2.102"],
    );
    let after = conf(
        "global_defs {\n  vrrp_garp_interval 1.5\n}\n",
        &["192.0.2.100", "192.0.2.101", "192.0.2.102", "192.0.2.103"],
    );
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    let mut lab = Lab::new("gatehup", 1);
    let cap = lab.capture("gate-reload.pcap");
    let node = lab.start(Kind::Vigil, 1, &before);
    assert!(
        lab.wait_sole_holder(vip, 1, Duration::from_secs(15)),
        "vigild did not become MASTER\n{}",
        lab.logs()
    );
    let n = lab.node(node);
    std::fs::write(&n.conf, &after).expect("write the new configuration");
    let log_before = n.log_text().len();
    let pid = n.pid;
    vigil_tests::netns::signal(pid, libc::SIGHUP);
    let reloaded = vigil_tests::netns::wait_until(Duration::from_secs(10), || {
        let t = lab.node_ref(node).log_text();
        t.get(log_before..).unwrap_or("").contains("reloaded:")
    });
    assert!(reloaded, "no reload logged\n{}", lab.logs());
    // The last of A, A, B, C, D goes at most 6 s after becoming MASTER: wait well past.
    std::thread::sleep(Duration::from_secs(8));
    lab.node(node).terminate();
    let pcap = lab.stop_capture(cap);
    let frames: Vec<(f64, String)> = tshark_fields(
        &pcap,
        "arp.opcode == 1 && arp.src.proto_ipv4 == arp.dst.proto_ipv4",
        &["frame.time_epoch", "arp.src.proto_ipv4"],
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .filter_map(|r| Some((r.first()?.parse::<f64>().ok()?, r.get(1)?.clone())))
    .collect();
    println!("reload: vigild {frames:?}");
    let want: BTreeMap<String, usize> = [
        ("192.0.2.100", 2),
        ("192.0.2.101", 1),
        ("192.0.2.102", 1),
        ("192.0.2.103", 1),
    ]
    .iter()
    .map(|(a, n)| (a.to_string(), *n))
    .collect();
    assert_eq!(
        per_address(&frames),
        want,
        "every address, A twice: {frames:?}"
    );
    assert_spaced("vigild across the reload", &frames, 1.0);
}
