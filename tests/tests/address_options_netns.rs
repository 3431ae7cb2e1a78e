//! Issue 15: the options of a virtual address line, live. vigild and then keepalived 2.2.7 run the
//! same file on the same host (one after the other, in one namespace); what the kernel holds for
//! each virtual address (`ip -j -d addr`: local and peer address, prefix, label, flags, preferred
//! lifetime) must be the same for both, and what keepalived.conf(5) says it is:
//!
//! - `peer P`: IFA_LOCAL the address, IFA_ADDRESS the peer, a /32 (/128);
//! - `noprefixroute`, `home`, `mngtmpaddr`, `autojoin`: the kernel's address flags;
//! - an IPv6 address gets `nodad` unless the line says `-nodad`;
//! - `preferred_lft N|forever` on IPv6; without it a /128 is deprecated (preferred 0) and a
//!   wider prefix preferred forever.
//!
//! vigild's addresses must also be gone when it stops (a point-to-point address is removed with
//! its peer). And `promote_secondaries`: the interface's sysctl while each daemon runs and after
//! it stops, and what it does when the primary address goes. Needs root and keepalived: without
//! them the tests say NOT RUN.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_tests::netns::{require_keepalived, require_root, wait_until, Kind, Lab};

const CONF: &str = "\
global_defs {
    router_id addropts
}
vrrp_instance VI_4 {
    state BACKUP
    interface eth0
    virtual_router_id 54
    priority 200
    advert_int 1
    virtual_ipaddress {
        198.51.100.50 peer 198.51.100.51 label eth0:p2p
        198.51.100.52/24 noprefixroute
        198.51.100.53/24 home mngtmpaddr
        233.252.0.1 autojoin
    }
}
vrrp_instance VI_6 {
    state BACKUP
    interface eth0
    virtual_router_id 56
    priority 200
    advert_int 1
    virtual_ipaddress {
        2001:db8:1::1
        2001:db8:1::2/64 -nodad noprefixroute
        2001:db8:1::3/64 preferred_lft 300 home mngtmpaddr
        2001:db8:1::4 peer 2001:db8:1::5
        2001:db8:1::6 preferred_lft forever
    }
}
";

const VIPS: [&str; 9] = [
    "198.51.100.50",
    "198.51.100.52",
    "198.51.100.53",
    "233.252.0.1",
    "2001:db8:1::1",
    "2001:db8:1::2",
    "2001:db8:1::3",
    "2001:db8:1::4",
    "2001:db8:1::6",
];

/// What the kernel holds for each virtual address on host 1's eth0, from `ip -j -d addr`: every
/// field of the address but the lifetimes' countdown (a finite preferred lifetime reads as
/// `finite` once it is between 1 and 300 s).
fn kernel_view(lab: &Lab) -> BTreeMap<String, String> {
    let o = lab.exec(1, &["ip", "-j", "-d", "addr", "show", "dev", "eth0"]);
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("ip -j addr: {e}"));
    let mut out = BTreeMap::new();
    for link in v.as_array().into_iter().flatten() {
        for a in link["addr_info"].as_array().into_iter().flatten() {
            let Some(local) = a["local"].as_str() else {
                continue;
            };
            if !VIPS.contains(&local) {
                continue;
            }
            let mut fields = Vec::new();
            for (k, val) in a.as_object().into_iter().flatten() {
                let val = match (k.as_str(), val.as_u64()) {
                    ("valid_life_time", _) => continue,
                    ("preferred_life_time", Some(n)) if (1..=300).contains(&n) => {
                        "finite".to_string()
                    }
                    _ => val.to_string(),
                };
                fields.push(format!("{k}={val}"));
            }
            out.insert(local.to_string(), fields.join(" "));
        }
    }
    out
}

fn all_present(lab: &Lab) -> bool {
    kernel_view(lab).len() == VIPS.len()
}

/// Every virtual address present and none still `tentative`. The line `2001:db8:1::2/64 -nodad`
/// asks for duplicate address detection; the lab sets `dad_transmits=0`, so the kernel ends it at
/// once, but from its address-configuration work queue, a moment after the address was added:
/// read in that moment, one daemon's view said `tentative=true` and the other's not (a clean-clone
/// run on the loaded 2-core VM, 2026-12-05). The comparison is of what the daemons asked for,
/// so it waits for the kernel's own transient to end (bounded; a view still tentative after it is
/// compared as it is, and the difference shows).
fn settled(lab: &Lab) -> bool {
    let view = kernel_view(lab);
    view.len() == VIPS.len() && !view.values().any(|v| v.contains("tentative=true"))
}

fn field<'a>(view: &'a BTreeMap<String, String>, vip: &str) -> &'a str {
    view.get(vip).map_or("", String::as_str)
}

#[test]
fn address_options_reach_the_kernel_as_keepalived_sets_them() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    let mut lab = Lab::new("addropts", 1);

    let vg = lab.start(Kind::Vigil, 1, CONF);
    assert!(
        wait_until(Duration::from_secs(15), || all_present(&lab)),
        "vigild did not add every address: {:#?}\n{}",
        kernel_view(&lab),
        lab.logs()
    );
    wait_until(Duration::from_secs(5), || settled(&lab));
    let vigil = kernel_view(&lab);
    lab.node(vg).terminate();
    assert!(
        wait_until(Duration::from_secs(5), || kernel_view(&lab).is_empty()),
        "vigild left addresses behind: {:#?}\n{}",
        kernel_view(&lab),
        lab.logs()
    );

    let ka = lab.start(Kind::Keepalived, 1, CONF);
    assert!(
        wait_until(Duration::from_secs(15), || all_present(&lab)),
        "keepalived did not add every address: {:#?}\n{}",
        kernel_view(&lab),
        lab.logs()
    );
    wait_until(Duration::from_secs(5), || settled(&lab));
    let keepalived = kernel_view(&lab);
    lab.node(ka).terminate();

    for (vip, v) in &vigil {
        println!("{vip}: vigild     {v}");
        println!("{vip}: keepalived {}", field(&keepalived, vip));
    }
    assert_eq!(
        vigil, keepalived,
        "the kernel holds the addresses differently"
    );

    // And what keepalived.conf(5) says, so that agreeing on a mistake fails too.
    let has = |vip: &str, w: &str| field(&vigil, vip).contains(w);
    assert!(has("198.51.100.50", "address=\"198.51.100.51\""));
    assert!(has("198.51.100.50", "prefixlen=32"));
    assert!(has("198.51.100.50", "label=\"eth0:p2p\""));
    assert!(has("198.51.100.52", "noprefixroute=true"));
    // home and mngtmpaddr are IPv6 flags: the kernel does not keep them on an IPv4 address
    // (for either daemon); they show on 2001:db8:1::3 below.
    assert!(!has("198.51.100.53", "home") && !has("198.51.100.53", "mngtmpaddr"));
    assert!(has("233.252.0.1", "autojoin=true"));
    assert!(has("2001:db8:1::1", "nodad=true") && has("2001:db8:1::1", "deprecated=true"));
    assert!(has("2001:db8:1::1", "preferred_life_time=0"));
    assert!(!has("2001:db8:1::2", "nodad") && has("2001:db8:1::2", "noprefixroute=true"));
    assert!(has("2001:db8:1::3", "preferred_life_time=finite"));
    assert!(has("2001:db8:1::3", "home=true") && has("2001:db8:1::3", "mngtmpaddr=true"));
    assert!(has("2001:db8:1::4", "address=\"2001:db8:1::5\""));
    assert!(has("2001:db8:1::4", "prefixlen=128"));
    assert!(has("2001:db8:1::6", "preferred_life_time=4294967295"));
    assert!(!has("2001:db8:1::6", "deprecated"));
}

const PROMOTE: &str = "\
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 57
    priority 200
    advert_int 1
    promote_secondaries
    virtual_ipaddress {
        192.0.2.100/24 no_track
    }
}
";

fn promote_sysctl(lab: &Lab) -> String {
    let o = lab.exec(
        1,
        &["sysctl", "-n", "net.ipv4.conf.eth0.promote_secondaries"],
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `promote_secondaries`: set on the instance's interface while the daemon runs, cleared at
/// exit (keepalived 2.2.7 does the same: `set_promote_secondaries` / `reset_promote_secondaries`),
/// and it does what it is for: removing the interface's primary address leaves the virtual
/// address in its subnet in place. When the sysctl was already 1, it is left at 1.
#[test]
fn promote_secondaries_is_set_while_running_and_cleared_at_exit_like_keepalived() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    let vip: std::net::IpAddr = "192.0.2.100".parse().unwrap();
    let mut seen = Vec::new();
    for kind in [Kind::Vigil, Kind::Keepalived] {
        let mut lab = Lab::new("promote", 1);
        assert_eq!(promote_sysctl(&lab), "0");
        // A second address of the subnet, before the virtual one: promoted to primary when
        // 192.0.2.11 goes, so that the instance keeps a source address and stays MASTER.
        lab.exec(1, &["ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"]);
        let n = lab.start(kind, 1, PROMOTE);
        assert!(
            wait_until(Duration::from_secs(10), || lab.has(1, vip)),
            "{kind:?} did not become MASTER\n{}",
            lab.logs()
        );
        let running = promote_sysctl(&lab);
        // The primary address of 192.0.2.0/24 goes: the virtual address is promoted, not
        // removed with it.
        lab.exec(1, &["ip", "addr", "del", "192.0.2.11/24", "dev", "eth0"]);
        std::thread::sleep(Duration::from_millis(1500));
        let kept = lab.has(1, vip);
        lab.node(n).terminate();
        let after = promote_sysctl(&lab);
        println!("{kind:?}: promote_secondaries running {running}, after exit {after}; VIP kept when the primary went: {kept}");
        seen.push((running, after, kept));
    }
    assert_eq!(seen[0], seen[1], "vigild and keepalived differ");
    assert_eq!(seen[0], ("1".to_string(), "0".to_string(), true));

    // The control: without promote_secondaries the kernel removes the virtual address with the
    // primary (no_track: nobody puts it back), so the check above can fail.
    let mut lab = Lab::new("promote0", 1);
    lab.exec(1, &["ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"]);
    let n = lab.start(
        Kind::Vigil,
        1,
        &PROMOTE.replace("    promote_secondaries\n", ""),
    );
    assert!(
        wait_until(Duration::from_secs(10), || lab.has(1, vip)),
        "{}",
        lab.logs()
    );
    assert_eq!(promote_sysctl(&lab), "0");
    lab.exec(1, &["ip", "addr", "del", "192.0.2.11/24", "dev", "eth0"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !lab.has(1, vip),
        "the control kept the address\n{}",
        lab.logs()
    );
    lab.node(n).terminate();

    // Already 1 before start: left at 1.
    let mut lab = Lab::new("promote1", 1);
    lab.exec(1, &["ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"]);
    lab.exec(
        1,
        &["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"],
    );
    let n = lab.start(Kind::Vigil, 1, PROMOTE);
    assert!(
        wait_until(Duration::from_secs(10), || lab.has(1, vip)),
        "{}",
        lab.logs()
    );
    lab.node(n).terminate();
    assert_eq!(promote_sysctl(&lab), "1", "{}", lab.logs());
}
