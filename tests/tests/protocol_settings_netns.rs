//! Issue 15's protocol-side settings, live in network namespaces beside keepalived 2.2.7.
//!
//! - An instance with no `virtual_ipaddress` (cloud floating addresses moved by notify scripts,
//!   unicast peers): vigild runs it, interoperates with a keepalived peer configured the same way
//!   (adverts with an address count of 0), and runs its notify scripts on both transitions.
//! - `vrrp_mcast_group4`: a custom group interoperates with keepalived on the same group, and a
//!   keepalived on the default group does not hear it (nor it that one).
//! - The VRRPv3-over-IPv4 checksum without the pseudo-header (`v3_checksum_as_v2`): a vigild
//!   sending it and a vigild sending the RFC 5798 form elect one master, and `vigild status`
//!   names the form each peer uses. (FRR's vrrpd would be the natural second implementation,
//!   but it is not installed here, and Debian's FRR 8.4.4 cannot send the message-only form.)

use std::time::Duration;

use vigil_tests::netns::{
    host_v4, keepalived_conf, require_root, vip4, wait_until, Instance, Kind, Lab,
};

/// A VRRPv2 unicast instance without virtual addresses, as keepalived 2.2.7 runs it (with a
/// warning; VRRPv3 needs `no_virtual_ipaddress`, keepalived 2.2.8+, which vigild also reads).
fn no_vip_conf(me: usize, peer: usize, priority: u8, notify: Option<&std::path::Path>) -> String {
    let notify = notify
        .map(|p| {
            format!(
                "  notify_master \"{0} MASTER\"\n  notify_backup \"{0} BACKUP\"\n",
                p.display()
            )
        })
        .unwrap_or_default();
    format!(
        "global_defs {{\n  router_id h{me}\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_instance CLOUD {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  \
         priority {priority}\n  version 2\n  advert_int 1\n  unicast_src_ip {}\n  \
         unicast_peer {{\n    {}\n  }}\n{notify}}}\n",
        host_v4(me),
        host_v4(peer)
    )
}

#[test]
fn no_vip_instance_interoperates_and_runs_its_notify_scripts_on_both_transitions() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("novip", 2);
    let out = lab.dir.join("notified");
    let script = lab.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$1\" >> {}\n", out.display()),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // keepalived (priority 200) is MASTER; vigild (100) must hear its count-0 adverts and stay
    // BACKUP: notify_backup runs.
    let ka = lab.start(Kind::Keepalived, 2, &no_vip_conf(2, 1, 200, None));
    let vg = lab.start(Kind::Vigil, 1, &no_vip_conf(1, 2, 100, Some(&script)));
    let lines = || -> Vec<String> {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || lines() == ["BACKUP"]),
        "notify_backup did not run: {:?}\n{}",
        lines(),
        lab.logs()
    );
    // Longer than Master_Down_Interval (3.6 s): vigild stays BACKUP, so it accepts the adverts.
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(lines(), ["BACKUP"], "{}", lab.logs());
    let status = lab.vigild_status(vg);
    assert!(status.contains("BACKUP"), "{status}");
    // keepalived stops (priority 0): vigild takes over, notify_master runs.
    lab.node(ka).terminate();
    assert!(
        wait_until(Duration::from_secs(10), || lines() == ["BACKUP", "MASTER"]),
        "notify_master did not run: {:?}\n{}",
        lines(),
        lab.logs()
    );
    let status = lab.vigild_status(vg);
    assert!(status.contains("MASTER"), "{status}");
    eprintln!("no-VIP instance: notify lines {:?}\n{status}", lines());
    lab.node(vg).terminate();
}

/// keepalived.conf(5) `vrrp_mcast_group4`: vigild (priority 200) and keepalived (100) on group
/// 224.0.0.117 elect vigild; a keepalived on the default group (250, same VRID and address)
/// hears neither and they do not hear it, so it holds the address too, and the custom group's
/// keepalived never does.
#[test]
fn custom_multicast_group_interoperates_and_is_separate_from_the_default_group() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("mcgroup", 3);
    let custom = |prio: u8| {
        keepalived_conf(&[Instance::v4(3, prio, "1")]).replace(
            "router_id vigil_test\n",
            "router_id vigil_test\n  vrrp_mcast_group4 224.0.0.117\n",
        )
    };
    let vg = lab.start(Kind::Vigil, 1, &custom(200));
    lab.start(Kind::Keepalived, 2, &custom(100));
    lab.start(
        Kind::Keepalived,
        3,
        &keepalived_conf(&[Instance::v4(3, 250, "1")]),
    );
    let a = vip4();
    assert!(
        wait_until(Duration::from_secs(12), || lab.holders(a) == vec![1, 3]),
        "holders {:?}\n{}",
        lab.holders(a),
        lab.logs()
    );
    // Longer than Master_Down_Interval: the custom group's keepalived keeps hearing vigild.
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(lab.holders(a), vec![1, 3], "{}", lab.logs());
    // vigild's interface joined the custom group, not the RFC's.
    let maddr = lab.exec(1, &["ip", "maddr", "show", "dev", "eth0"]);
    let maddr = String::from_utf8_lossy(&maddr.stdout).into_owned();
    assert!(maddr.contains("224.0.0.117"), "{maddr}");
    assert!(!maddr.contains("224.0.0.18"), "{maddr}");
    let status = lab.vigild_status(vg);
    assert!(status.contains("MASTER"), "{status}");
    eprintln!(
        "custom group: holders {:?}\n{maddr}\n{status}",
        lab.holders(a)
    );
}

/// keepalived.conf(5) `v3_checksum_as_v2` on one router, the default on the other: both hear
/// each other (both forms are accepted), one master, and each `vigild status` reports the
/// form its peer uses.
#[test]
fn v3_checksum_forms_mix_and_are_reported_per_peer() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("cksum", 2);
    let plain = keepalived_conf(&[Instance::v4(3, 200, "0.5")]).replace(
        "  advert_int 0.5\n",
        "  advert_int 0.5\n  v3_checksum_as_v2\n",
    );
    let a = lab.start(Kind::Vigil, 1, &plain);
    let b = lab.start(
        Kind::Vigil,
        2,
        &keepalived_conf(&[Instance::v4(3, 100, "0.5")]),
    );
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(8)),
        "{}",
        lab.logs()
    );
    // Three Master_Down_Intervals: the backup keeps accepting the message-only form.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    let sb = lab.vigild_status(b);
    assert!(
        sb.contains(&format!("peer           {} checksum plain", host_v4(1))),
        "{sb}"
    );
    let log = lab.node_ref(b).log_text();
    assert!(
        log.contains("sends VRRPv3 checksums without the IPv4 pseudo-header"),
        "{log}"
    );
    let sa = lab.vigild_status(a);
    eprintln!("sender (v3_checksum_as_v2):\n{sa}\nreceiver:\n{sb}");
}
