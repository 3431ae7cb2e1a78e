//! Deletion tracking, against keepalived in the same test (issue 15, section 6): a virtual
//! address removed by someone else (`ip addr del` on the MASTER) is noticed from netlink events
//! and handled as keepalived 2.x does (core/keepalived_netlink.c `set_vrrp_backup`): the MASTER
//! leaves for BACKUP (priority 0, every address removed) and is MASTER again after Skew_Time
//! with the address back; with `no_track` on the address nothing happens (it stays removed and
//! the instance stays MASTER).
//!
//! The same scenario runs against keepalived 2.2.7 and vigild, one after the other on the same
//! host of a fresh lab, and the outcomes must be equal: whether the address came back, and
//! whether the daemon left MASTER.

use std::time::{Duration, Instant};

use vigil_tests::netns::{self, keepalived_conf, vip4, Instance, Kind, Lab};

/// What the daemon did after the address was removed.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The address was back on the interface within the wait.
    restored: bool,
    /// The daemon left MASTER (and came back), per its log.
    left_master: bool,
}

fn scenario(kind: Kind, no_track: bool) -> (Outcome, Option<Duration>) {
    let mut lab = Lab::new(if no_track { "deln" } else { "delt" }, 1);
    let mut conf = keepalived_conf(&[Instance::v4(3, 100, "1")]);
    if no_track {
        conf = conf.replace("192.0.2.100/24", "192.0.2.100/24 no_track");
    }
    let node = lab.start(kind, 1, &conf);
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(15)),
        "{kind:?} must become MASTER alone; log:\n{}",
        lab.logs()
    );
    // Let the MASTER settle (gratuitous ARPs, notify) before the deletion.
    std::thread::sleep(Duration::from_secs(1));
    let before = lab.node_ref(node).log_text().len();
    let removed_at = Instant::now();
    netns::must(&[
        "ip",
        "-n",
        &lab.ns(1),
        "addr",
        "del",
        "192.0.2.100/24",
        "dev",
        "eth0",
    ]);
    let restored = netns::wait_until(Duration::from_secs(6), || lab.has(1, vip4()));
    let back_after = restored.then(|| removed_at.elapsed());
    // Leave time for a late reaction before reading the log.
    std::thread::sleep(Duration::from_millis(500));
    let log = lab.node_ref(node).log_text();
    let after = log.get(before..).unwrap_or("");
    let left_master = match kind {
        Kind::Keepalived => after.contains("Entering BACKUP STATE"),
        Kind::Vigil => after.contains("MASTER -> BACKUP"),
    };
    if kind == Kind::Vigil && !no_track {
        assert!(
            after.contains("address-deleted"),
            "vigild names the reason:\n{after}"
        );
    }
    println!(
        "deletion tracking ({kind:?}, no_track {no_track}): restored {restored} (after {back_after:?}), left MASTER {left_master}\n  log after the deletion:\n{}",
        after
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    lab.node(node).terminate();
    (
        Outcome {
            restored,
            left_master,
        },
        back_after,
    )
}

#[test]
fn a_deleted_vip_is_handled_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let (ka, _) = scenario(Kind::Keepalived, false);
    let (vg, _) = scenario(Kind::Vigil, false);
    assert_eq!(
        vg, ka,
        "vigild must do what keepalived does when a VIP is deleted"
    );
    assert_eq!(
        ka,
        Outcome {
            restored: true,
            left_master: true
        },
        "keepalived 2.2.7 leaves MASTER and restores the address (the behaviour copied)"
    );
}

#[test]
fn a_deleted_no_track_vip_is_left_alone_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let (ka, _) = scenario(Kind::Keepalived, true);
    let (vg, _) = scenario(Kind::Vigil, true);
    assert_eq!(
        vg, ka,
        "vigild must do what keepalived does when a no_track VIP is deleted"
    );
    assert_eq!(
        ka,
        Outcome {
            restored: false,
            left_master: false
        }
    );
}

/// A `static_ipaddress` removed by someone else: put back (keepalived's
/// `reinstate_static_address`), the instance left alone. Returns whether it came back and
/// whether the daemon left MASTER.
fn static_scenario(kind: Kind) -> Outcome {
    let mut lab = Lab::new("dels", 1);
    let conf = keepalived_conf(&[Instance::v4(3, 100, "1")])
        + "static_ipaddress {\n  198.51.100.5/24 dev eth0\n}\n";
    let node = lab.start(kind, 1, &conf);
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(15)),
        "{kind:?} must become MASTER alone; log:\n{}",
        lab.logs()
    );
    let st: std::net::IpAddr = "198.51.100.5".parse().expect("address");
    assert!(lab.has(1, st), "{kind:?} installs the static address");
    std::thread::sleep(Duration::from_secs(1));
    let before = lab.node_ref(node).log_text().len();
    netns::must(&[
        "ip",
        "-n",
        &lab.ns(1),
        "addr",
        "del",
        "198.51.100.5/24",
        "dev",
        "eth0",
    ]);
    let restored = netns::wait_until(Duration::from_secs(5), || lab.has(1, st));
    std::thread::sleep(Duration::from_millis(500));
    let log = lab.node_ref(node).log_text();
    let after = log.get(before..).unwrap_or("");
    let left_master = match kind {
        Kind::Keepalived => after.contains("Entering BACKUP STATE"),
        Kind::Vigil => after.contains("MASTER -> BACKUP"),
    };
    println!(
        "static address deletion ({kind:?}): restored {restored}, left MASTER {left_master}\n{after}"
    );
    lab.node(node).terminate();
    Outcome {
        restored,
        left_master,
    }
}

#[test]
fn a_deleted_static_address_is_put_back_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let ka = static_scenario(Kind::Keepalived);
    let vg = static_scenario(Kind::Vigil);
    assert_eq!(vg, ka, "vigild must do what keepalived does");
    assert_eq!(
        ka,
        Outcome {
            restored: true,
            left_master: false
        }
    );
}
