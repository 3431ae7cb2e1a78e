//! Issue 15's protocol-side settings, live in network namespaces beside keepalived 2.2.7.
//!
//! - An instance with no `virtual_ipaddress` (cloud floating addresses moved by notify scripts,
//!   unicast peers): vigild runs it, interoperates with a keepalived peer configured the same way
//!   (adverts with an address count of 0), and runs its notify scripts on both transitions.

use std::time::Duration;

use vigil_tests::netns::{host_v4, require_root, wait_until, Kind, Lab};

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
