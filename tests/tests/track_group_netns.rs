//! Issue 15: keepalived.conf(5) `track_group`, live beside keepalived 2.2.7.
//!
//! One host, one instance (MASTER alone) on eth0, and an interface `tg0` (one end of a veth pair inside the host's namespace) carrying
//! `static_ipaddress { 198.51.100.5/24 dev tg0 track_group TG }` with
//! `track_group TG { group { VI_D } }`. keepalived 2.2.7 (vrrp_static_track.c) makes the group's
//! instances track the static item's interface, unweighted; deleting the item itself only puts
//! it back. The scenario, run against each daemon on a fresh lab, records: whether the deleted
//! static address came back and whether that changed the state; whether taking `tg0` down put
//! the instance in FAULT; whether bringing it up took it out of FAULT. The outcomes must be
//! equal; a control without `track_group TG` on the address must not fault. No assertion is on a time: each reaction is waited for. Needs root and keepalived:
//! without them the test says NOT RUN.

use std::time::Duration;

use vigil_tests::netns::{self, require_keepalived, require_root, wait_until, Kind, Lab};

fn conf(notify: &std::path::Path, tracked: bool) -> String {
    let text = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         track_group TG {{\n  group {{\n    VI_D\n  }}\n}}\n\
         static_ipaddress {{\n  198.51.100.5/24 dev tg0 track_group TG\n}}\n\
         vrrp_instance VI_D {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 64\n  \
         priority 200\n  advert_int 1\n  notify \"{}\"\n  virtual_ipaddress {{\n    \
         192.0.2.100/24\n  }}\n}}\n",
        notify.display()
    );
    if tracked {
        text
    } else {
        text.replace(" track_group TG\n", "\n")
    }
}

/// Whether `tg0` in namespace `ns` holds the static address.
fn has_static(ns: &str) -> bool {
    std::process::Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "tg0"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("198.51.100.5/24"))
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The deleted static address was back.
    restored: bool,
    /// States notified after the deletion (before the link went down).
    after_delete: Vec<String>,
    /// The instance went to FAULT when tg0 went down.
    faulted_on_down: bool,
    /// It left FAULT when tg0 came back up.
    recovered_on_up: bool,
}

/// The scenario; without `tracked`, the control: the same file without `track_group TG` on
/// the address.
fn run(kind: Kind, tracked: bool) -> Outcome {
    let mut lab = Lab::new("tgroup", 1);
    let ns = lab.ns(1);
    // A veth pair inside the host's namespace (this kernel may lack the dummy module).
    netns::must(&[
        "ip", "-n", &ns, "link", "add", "tg0", "type", "veth", "peer", "name", "tg1",
    ]);
    netns::must(&["ip", "-n", &ns, "link", "set", "tg1", "up"]);
    netns::must(&["ip", "-n", &ns, "link", "set", "tg0", "up"]);
    let (script, log) = lab.state_recorder();
    let n = lab.start(kind, 1, &conf(&script, tracked));
    assert!(
        wait_until(Duration::from_secs(15), || log
            .states()
            .last()
            .is_some_and(|s| s == "MASTER")),
        "{kind:?} did not become MASTER: {:?}\n{}",
        log.states(),
        lab.logs()
    );
    assert!(
        wait_until(Duration::from_secs(5), || has_static(&ns)),
        "{kind:?} installs the static address\n{}",
        lab.logs()
    );
    // The item deleted: put back, no state change (waited for, then a margin for a late one).
    let before = log.states().len();
    netns::must(&[
        "ip",
        "-n",
        &ns,
        "addr",
        "del",
        "198.51.100.5/24",
        "dev",
        "tg0",
    ]);
    let restored = wait_until(Duration::from_secs(5), || has_static(&ns));
    std::thread::sleep(Duration::from_secs(2));
    let after_delete = log.states()[before..].to_vec();
    // Its interface down: FAULT; up again: out of FAULT.
    let before = log.states().len();
    netns::must(&["ip", "-n", &ns, "link", "set", "tg0", "down"]);
    let faulted_on_down = wait_until(Duration::from_secs(10), || {
        log.states()[before..].iter().any(|s| s == "FAULT")
    });
    let before = log.states().len();
    netns::must(&["ip", "-n", &ns, "link", "set", "tg0", "up"]);
    let recovered_on_up = faulted_on_down
        && wait_until(Duration::from_secs(10), || {
            log.states()[before..].iter().any(|s| s != "FAULT")
        });
    let daemon_log = lab.logs();
    lab.node(n).terminate();
    let o = Outcome {
        restored,
        after_delete,
        faulted_on_down,
        recovered_on_up,
    };
    println!(
        "{kind:?} (tracked {tracked}): {o:?}\n  states: {:?}",
        log.states()
    );
    if tracked && !(o.faulted_on_down && o.recovered_on_up) {
        println!("{daemon_log}");
    }
    o
}

#[test]
fn a_track_group_follows_the_static_item_s_interface_like_keepalived() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    let keepalived = run(Kind::Keepalived, true);
    let vigil = run(Kind::Vigil, true);
    assert_eq!(vigil, keepalived, "vigild must do what keepalived does");
    assert_eq!(
        keepalived,
        Outcome {
            restored: true,
            after_delete: Vec::new(),
            faulted_on_down: true,
            recovered_on_up: true,
        },
        "keepalived 2.2.7's behaviour, copied"
    );
}

/// The control: without `track_group TG` on the address, its interface going down changes
/// nothing, in both daemons (so the FAULT above comes from the group).
#[test]
fn without_track_group_the_static_item_s_interface_is_not_tracked() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    let keepalived = run(Kind::Keepalived, false);
    let vigil = run(Kind::Vigil, false);
    assert_eq!(vigil, keepalived, "vigild must do what keepalived does");
    assert!(!keepalived.faulted_on_down, "{keepalived:?}");
}
