//! Issue 15: a `garp_group` naming a macvlan (keepalived 2.2.7's "vmac", `IS_MAC_IP_VLAN`),
//! with keepalived as the judge.
//!
//! keepalived ignores such an interface in a `garp_group` with a configuration error ("Cannot
//! specify garp_delay on a vmac (mv0) - ignoring", vrrp_parser.c `garp_group_interface(s)_handler`)
//! and runs: the group gates its other interfaces only, and announcements of addresses on the
//! macvlan go through its lower interface's gate (vrrp_arp.c `send_gratuitous_arp` uses
//! `IF_BASE_IFP`). vigild does the same: a warning at the interface's file:line:col, in
//! `vigild -t` (which then exits 5, as `keepalived -t` does) and in the daemon's log at start,
//! and the group does not gate the macvlan.
//!
//! In one network namespace of a [`Lab`] with a macvlan `mv0` on eth0:
//! - `keepalived -t` and `vigild -t` on the same file: the same exit code, keepalived's message
//!   and vigild's warning at the word `mv0`;
//! - the daemon started on it logs the same warning and runs;
//! - live, keepalived and then vigild as MASTER with `garp_master_repeat 3` and two addresses
//!   on mv0, the group's `garp_interval 5` ignored there: each address is announced three
//!   times within four seconds by both (a gate of 5 s would allow one announcement in that
//!   time; the ungated burst takes milliseconds).
//!
//! - and the other way round: a group gating eth0 (`garp_interval 5`) gates the addresses on
//!   mv0 too, in both daemons: one announcement within four seconds (the rest wait for the
//!   gate), where an ungated macvlan would send six.
//!
//! Needs root, keepalived, tcpdump and tshark: without them the test says NOT RUN.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use vigil_tests::netns::{must, not_run, require_root, tshark_fields, wait_until, Kind, Lab};

/// The instance of both files: on the macvlan, two addresses, three announcements each.
const INSTANCE: &str = "vrrp_instance VI_MV {
 state MASTER
 interface mv0
 virtual_router_id 66
 priority 150
 advert_int 1
 garp_master_repeat 3
 garp_master_delay 0
 virtual_ipaddress {
  192.0.2.100/24
  192.0.2.101/24
 }
}
";

/// The file: a group naming eth1 (kept) and the macvlan (ignored), the instance on the macvlan.
fn conf_on_macvlan() -> String {
    format!("garp_group {{\n garp_interval 5\n interfaces {{\n  eth1 mv0\n }}\n}}\n{INSTANCE}")
}

/// A group gating the macvlan's lower interface, eth0; the same instance on mv0.
fn conf_lower_gated() -> String {
    format!("garp_group {{\n garp_interval 5\n interface eth0\n}}\n{INSTANCE}")
}

fn tools_present() -> bool {
    for tool in ["keepalived", "tcpdump", "tshark"] {
        if Command::new(tool).arg("--version").output().is_err() {
            not_run(&format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

/// The gratuitous ARPs for each address within 4 s of `kind` becoming MASTER.
fn announcements(lab: &mut Lab, kind: Kind, conf: &str) -> BTreeMap<String, usize> {
    let cap = lab.capture(&format!("gvmac-{kind:?}-{}.pcap", conf.len()));
    let node = lab.start(kind, 1, conf);
    // MASTER once the address is on the macvlan.
    let master = wait_until(Duration::from_secs(15), || {
        let out = lab.exec(1, &["ip", "-o", "addr", "show", "dev", "mv0"]);
        String::from_utf8_lossy(&out.stdout).contains("192.0.2.100/24")
    });
    assert!(master, "{kind:?} did not become MASTER\n{}", lab.logs());
    std::thread::sleep(Duration::from_secs(4));
    lab.node(node).terminate();
    let pcap = lab.stop_capture(cap);
    let mut m = BTreeMap::new();
    for r in tshark_fields(
        &pcap,
        "arp.opcode == 1 && arp.src.proto_ipv4 == arp.dst.proto_ipv4",
        &["arp.src.proto_ipv4"],
    )
    .unwrap_or_else(|e| panic!("{e}"))
    {
        if let Some(a) = r.first() {
            *m.entry(a.clone()).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn a_garp_group_on_a_macvlan_is_ignored_with_a_warning_as_keepalived_does() {
    if !require_root() || !tools_present() {
        return;
    }
    let mut lab = Lab::with_links("gvmac", 1, 2);
    let ns = lab.ns(1);
    must(&[
        "ip", "-n", &ns, "link", "add", "link", "eth0", "name", "mv0", "type", "macvlan", "mode",
        "bridge",
    ]);
    must(&["ip", "-n", &ns, "link", "set", "mv0", "up"]);
    // The instance's source address on the macvlan.
    must(&[
        "ip",
        "-n",
        &ns,
        "addr",
        "add",
        "192.0.2.31/24",
        "dev",
        "mv0",
    ]);
    let conf = lab.write("gvmac.conf", &conf_on_macvlan());
    let path = conf.to_string_lossy().into_owned();

    // -t, both.
    let ka = Command::new("ip")
        .args(["netns", "exec", &ns, "keepalived", "-t", "-l", "-f", &path])
        .output()
        .expect("keepalived -t");
    let ka_out = format!(
        "{}{}",
        String::from_utf8_lossy(&ka.stdout),
        String::from_utf8_lossy(&ka.stderr)
    );
    println!("keepalived -t: exit {:?}", ka.status.code());
    assert!(
        ka_out.contains("Cannot specify garp_delay on a vmac (mv0) - ignoring"),
        "keepalived -t:\n{ka_out}"
    );
    let vg = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(Lab::vigild_path())
        .args(["-t", "-f", &path])
        .output()
        .expect("vigild -t");
    let vg_err = String::from_utf8_lossy(&vg.stderr).into_owned();
    println!("vigild -t: exit {:?}", vg.status.code());
    let warning = format!("{path}:4:8: warning: garp_group: mv0 is a macvlan or ipvlan interface");
    assert!(vg_err.contains(&warning), "vigild -t:\n{vg_err}");
    assert_eq!(
        vg.status.code(),
        ka.status.code(),
        "vigild -t's exit code as keepalived -t's\n{vg_err}\n{ka_out}"
    );

    // The daemon: the same warning at start, and it runs.
    let node = lab.start(Kind::Vigil, 1, &conf_on_macvlan());
    let logged = wait_until(Duration::from_secs(20), || {
        lab.node_ref(node)
            .log_text()
            .contains("warning: garp_group: mv0 is a macvlan")
    });
    let running = lab.node(node).running();
    let log = lab.node_ref(node).log_text();
    assert!(logged && running, "the daemon's log:\n{log}");
    lab.node(node).terminate();

    // Live: not applied to the macvlan, by either.
    let want: BTreeMap<String, usize> = [
        ("192.0.2.100".to_string(), 3),
        ("192.0.2.101".to_string(), 3),
    ]
    .into_iter()
    .collect();
    let ka = announcements(&mut lab, Kind::Keepalived, &conf_on_macvlan());
    println!("keepalived: {ka:?}");
    assert_eq!(ka, want, "keepalived's announcements on mv0");
    let vg = announcements(&mut lab, Kind::Vigil, &conf_on_macvlan());
    println!("vigild: {vg:?}");
    assert_eq!(vg, ka, "vigild's announcements on mv0, as keepalived's");

    // The lower interface's gate applies to the macvlan (keepalived's IF_BASE_IFP): one
    // announcement in four seconds, by both.
    let ka = announcements(&mut lab, Kind::Keepalived, &conf_lower_gated());
    println!("eth0 gated, keepalived: {ka:?}");
    assert_eq!(
        ka.values().sum::<usize>(),
        1,
        "keepalived: one announcement through eth0's 5 s gate: {ka:?}"
    );
    let vg = announcements(&mut lab, Kind::Vigil, &conf_lower_gated());
    println!("eth0 gated, vigild: {vg:?}");
    assert_eq!(
        vg, ka,
        "vigild's announcements on mv0 through eth0's gate, as keepalived's"
    );
}
