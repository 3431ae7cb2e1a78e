//! Vigil-only clusters in network namespaces: real `vigild` processes on a bridge.
//!
//! Who is master is read from the machine, not from logs: the master is the host that holds the
//! virtual address. Intervals are short (v3: 100 ms) so the suite stays fast; the one v2 test uses
//! v2's smallest interval, 1 s. Waits are generous upper bounds on behaviour (several
//! Master_Down_Intervals), never timing measurements: those are in bench/.

use std::time::Duration;

use vigil_tests::netns::{keepalived_conf, require_root, vip4, vip6, Instance, Kind, Lab};

/// Generous bound for an election or takeover at 100 ms adverts (Master_Down_Interval is about
/// 0.33 s).
const FAST: Duration = Duration::from_secs(5);
/// Generous bound at 1 s adverts (Master_Down_Interval about 3.6 s).
const SLOW: Duration = Duration::from_secs(12);

fn start_all(lab: &mut Lab, insts: &[(usize, Instance)]) -> Vec<usize> {
    insts
        .iter()
        .map(|(h, i)| lab.start(Kind::Vigil, *h, &keepalived_conf(std::slice::from_ref(i))))
        .collect()
}

#[test]
fn v3_ipv4_three_nodes_elect_by_priority_and_survive_kill9_of_the_master() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("three-v4", 3);
    let nodes = start_all(
        &mut lab,
        &[
            (1, Instance::v4(3, 100, "0.1")),
            (2, Instance::v4(3, 200, "0.1")),
            (3, Instance::v4(3, 150, "0.1")),
        ],
    );
    assert!(
        lab.wait_sole_holder(vip4(), 2, FAST),
        "priority 200 should win\n{}",
        lab.logs()
    );
    lab.node(nodes[1]).kill9();
    // The dead master's address stays on its interface (nobody removes it): host 3 must take
    // over, and host 1 must stay backup.
    assert!(
        vigil_tests::netns::wait_until(FAST, || lab.has(3, vip4())),
        "priority 150 should take over\n{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !lab.has(1, vip4()),
        "priority 100 must stay backup\n{}",
        lab.logs()
    );
}

#[test]
fn equal_priorities_are_broken_by_the_higher_primary_address() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("tie", 2);
    // A backup accepts a master of equal priority whatever its address (RFC 5798 section
    // 6.4.2), so the tie-break only decides between two masters: make both masters while
    // the ports are disabled, then join them.
    lab.silent_drop(1);
    lab.silent_drop(2);
    start_all(
        &mut lab,
        &[
            (1, Instance::v4(3, 100, "0.1")),
            (2, Instance::v4(3, 100, "0.1")),
        ],
    );
    assert!(
        vigil_tests::netns::wait_until(FAST, || lab.holders(vip4()) == vec![1, 2]),
        "{}",
        lab.logs()
    );
    lab.restore_port(1);
    lab.restore_port(2);
    // 192.0.2.12 > 192.0.2.11 (RFC 5798 section 6.4.3).
    assert!(lab.wait_sole_holder(vip4(), 2, FAST), "{}", lab.logs());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lab.holders(vip4()), vec![2], "{}", lab.logs());
}

#[test]
fn v2_ipv4_kill9_takeover_and_preemption_back_after_restart_cleans_leftovers() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("v2", 2);
    let conf_hi = keepalived_conf(&[Instance::v4(2, 200, "1")]);
    let nodes = start_all(&mut lab, &[(2, Instance::v4(2, 100, "1"))]);
    let hi = lab.start(Kind::Vigil, 1, &conf_hi);
    assert!(lab.wait_sole_holder(vip4(), 1, SLOW), "{}", lab.logs());
    let pid_file = lab.node(hi).pid_file.clone();
    lab.node(hi).kill9();
    assert!(
        vigil_tests::netns::wait_until(SLOW, || lab.has(2, vip4())),
        "{}",
        lab.logs()
    );
    // The crashed run left its address behind; its record says so.
    assert!(lab.has(1, vip4()));
    let record = std::fs::read_to_string(pid_file.with_extension("vips")).unwrap_or_default();
    assert!(record.contains("192.0.2.100/24"), "record: {record:?}");
    // A new run with the same pid file removes it at once, then preempts back (preempt is on).
    let again = lab.start(Kind::Vigil, 1, &conf_hi);
    let _ = again;
    assert!(lab.wait_sole_holder(vip4(), 1, SLOW), "{}", lab.logs());
    assert!(lab.node(nodes[0]).running());
}

#[test]
fn v3_ipv6_link_cut_and_silent_drop_move_the_master_and_it_comes_back() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("v6", 2);
    start_all(
        &mut lab,
        &[(1, Instance::v6(200, "0.1")), (2, Instance::v6(100, "0.1"))],
    );
    assert!(lab.wait_sole_holder(vip6(), 1, FAST), "{}", lab.logs());

    // Link cut: the master sees NO-CARRIER, goes FAULT and drops its address; host 2 takes over.
    lab.cut_link(1);
    assert!(
        lab.wait_sole_holder(vip6(), 2, FAST),
        "link cut\n{}",
        lab.logs()
    );
    lab.restore_link(1);
    assert!(
        lab.wait_sole_holder(vip6(), 1, FAST),
        "after link cut\n{}",
        lab.logs()
    );

    // Silent drop: carrier kept, nothing passes. Host 2 takes over; host 1, alone, stays
    // master too (it cannot know). When the port forwards again, one master remains.
    lab.silent_drop(1);
    assert!(
        vigil_tests::netns::wait_until(FAST, || lab.has(2, vip6())),
        "silent drop\n{}",
        lab.logs()
    );
    lab.restore_port(1);
    assert!(
        lab.wait_sole_holder(vip6(), 1, FAST),
        "after silent drop\n{}",
        lab.logs()
    );
}

#[test]
fn sigterm_hands_over_at_skew_time_and_leaves_nothing_behind() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("term", 2);
    // 1 s adverts: Master_Down_Interval is 3.6 s, Skew_Time 0.6 s; a takeover well under
    // Master_Down_Interval can only come from the priority-0 advert.
    let nodes = start_all(
        &mut lab,
        &[
            (1, Instance::v4(3, 200, "1")),
            (2, Instance::v4(3, 100, "1")),
        ],
    );
    assert!(lab.wait_sole_holder(vip4(), 1, SLOW), "{}", lab.logs());
    let pid_file = lab.node(nodes[0]).pid_file.clone();
    let t0 = std::time::Instant::now();
    let status = lab.node(nodes[0]).terminate();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", lab.logs());
    assert!(!lab.has(1, vip4()), "SIGTERM must remove the address");
    assert!(!pid_file.exists(), "pid file left behind");
    assert!(
        !pid_file.with_extension("vips").exists(),
        "address record left behind"
    );
    assert!(
        lab.wait_sole_holder(vip4(), 2, Duration::from_secs(3)),
        "{}",
        lab.logs()
    );
    assert!(
        t0.elapsed() < Duration::from_millis(3000),
        "took over after {:?}: not on the priority-0 advert\n{}",
        t0.elapsed(),
        lab.logs()
    );
}

#[test]
fn nopreempt_keeps_the_running_master() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("nopreempt", 2);
    let mut low = Instance::v4(3, 100, "0.1");
    low.nopreempt = true;
    let mut high = Instance::v4(3, 200, "0.1");
    high.nopreempt = true;
    start_all(&mut lab, &[(1, low)]);
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    start_all(&mut lab, &[(2, high)]);
    // Ten Master_Down_Intervals: the higher priority must not preempt.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
}

#[test]
fn v3_ipv4_unicast_peers_elect_and_take_over() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("unicast", 2);
    let peer = |me: usize, other: usize, prio: u8| {
        let mut i = Instance::v4(3, prio, "0.1");
        i.unicast_src = Some(vigil_tests::netns::host_v4(me).into());
        i.unicast_peers = vec![vigil_tests::netns::host_v4(other).into()];
        i
    };
    let nodes = start_all(&mut lab, &[(1, peer(1, 2, 200)), (2, peer(2, 1, 100))]);
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    lab.node(nodes[0]).terminate();
    assert!(lab.wait_sole_holder(vip4(), 2, FAST), "{}", lab.logs());
}

/// A keepalived.conf whose instance tracks one check program.
fn tracked_conf(priority: u8, script: &str, interval: &str, timeout: &str) -> String {
    format!(
        "vrrp_script chk {{\n  script \"{script}\"\n  interval {interval}\n  timeout {timeout}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority {priority}\n  version 3\n  advert_int 0.1\n  track_script {{\n    chk\n  }}\n  \
         virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
    )
}

#[test]
fn a_failing_track_script_moves_the_master_and_its_recovery_brings_it_back() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("track-fail", 2);
    let flag = lab.dir.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let script = format!("/usr/bin/test -f {}", flag.display());
    lab.start(Kind::Vigil, 1, &tracked_conf(200, &script, "1", "1"));
    start_all(&mut lab, &[(2, Instance::v4(3, 100, "0.1"))]);
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    std::fs::remove_file(&flag).unwrap();
    assert!(
        lab.wait_sole_holder(vip4(), 2, FAST),
        "script failure\n{}",
        lab.logs()
    );
    std::fs::write(&flag, "").unwrap();
    assert!(
        lab.wait_sole_holder(vip4(), 1, FAST),
        "script recovery\n{}",
        lab.logs()
    );
}

#[test]
fn a_hanging_track_script_is_killed_at_its_timeout_and_counts_as_a_failure() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("track-hang", 2);
    // A shell pipeline that never ends: the whole process group must be killed.
    lab.start(
        Kind::Vigil,
        1,
        &tracked_conf(200, "sleep 37 | cat", "1", "0.5"),
    );
    start_all(&mut lab, &[(2, Instance::v4(3, 100, "0.1"))]);
    assert!(lab.wait_sole_holder(vip4(), 2, FAST), "{}", lab.logs());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.holders(vip4()), vec![2], "{}", lab.logs());
    // No run survives its timeout: at most the current run (its shell and its sleep) is there.
    let left = processes_running("sleep 37");
    assert!(left <= 2, "hung checks pile up: {left}\n{}", lab.logs());
}

/// How many processes have a command line containing `needle` (read from /proc, so the test
/// needs no procps).
fn processes_running(needle: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .count()
}

#[test]
fn sighup_with_an_unchanged_configuration_causes_no_transition() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighup", 2);
    let nodes = start_all(
        &mut lab,
        &[
            (1, Instance::v4(3, 200, "0.1")),
            (2, Instance::v4(3, 100, "0.1")),
        ],
    );
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    let before: Vec<String> = nodes.iter().map(|&n| lab.node(n).log_text()).collect();
    for &n in &nodes {
        let pid = lab.node(n).pid;
        vigil_tests::netns::signal(pid, libc::SIGHUP);
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    for (k, &n) in nodes.iter().enumerate() {
        assert!(lab.node(n).running());
        let after = lab.node(n).log_text();
        let new = &after[before[k].len()..];
        assert!(!new.contains(" -> "), "a transition after SIGHUP: {new}");
    }
}

#[test]
fn a_sync_group_across_two_bridges_moves_together_when_one_link_fails() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::with_links("sync", 2, 2);
    let conf = |prio: u8| {
        format!(
            "vrrp_sync_group G {{\n  group {{\n    VI_A\n    VI_B\n  }}\n}}\n\
             vrrp_instance VI_A {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  \
             version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n\
             vrrp_instance VI_B {{\n  interface eth1\n  virtual_router_id 52\n  priority {prio}\n  \
             version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    198.51.100.100/24\n  }}\n}}\n"
        )
    };
    let vip_b: std::net::IpAddr = "198.51.100.100".parse().unwrap();
    lab.start(Kind::Vigil, 1, &conf(200));
    lab.start(Kind::Vigil, 2, &conf(100));
    let both_on =
        |lab: &Lab, i: usize| lab.holders(vip4()) == vec![i] && lab.holders(vip_b) == vec![i];
    assert!(
        vigil_tests::netns::wait_until(FAST, || both_on(&lab, 1)),
        "{}",
        lab.logs()
    );
    // Only eth1 fails on host 1: VI_B goes FAULT and takes VI_A with it; host 2 takes both.
    lab.cut_link_on(1, 1);
    assert!(
        vigil_tests::netns::wait_until(FAST, || both_on(&lab, 2)),
        "the group must move as one\n{}",
        lab.logs()
    );
    lab.restore_link_on(1, 1);
    assert!(
        vigil_tests::netns::wait_until(FAST, || both_on(&lab, 1)),
        "and come back as one\n{}",
        lab.logs()
    );
}

#[test]
fn a_tracked_file_with_weight_0_faults_the_master_when_it_holds_a_non_zero_value() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("track-file", 2);
    let file = lab.dir.join("fault");
    let conf = format!(
        "vrrp_track_file tf {{\n  file \"{}\"\n  weight 0\n  init_file 0 overwrite\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 200\n  \
         version 3\n  advert_int 0.1\n  track_file {{\n    tf\n  }}\n  \
         virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n",
        file.display()
    );
    lab.start(Kind::Vigil, 1, &conf);
    start_all(&mut lab, &[(2, Instance::v4(3, 100, "0.1"))]);
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    std::fs::write(&file, "1\n").unwrap();
    assert!(
        lab.wait_sole_holder(vip4(), 2, FAST),
        "file set\n{}",
        lab.logs()
    );
    std::fs::write(&file, "0\n").unwrap();
    assert!(
        lab.wait_sole_holder(vip4(), 1, FAST),
        "file cleared\n{}",
        lab.logs()
    );
}

#[test]
fn notify_programs_run_on_transitions() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("notify", 1);
    let out = lab.dir.join("notified");
    let script = lab.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$1 $2 $3 $4\" >> {}\n", out.display()),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 200\n  \
         version 3\n  advert_int 0.1\n  notify {}\n  virtual_ipaddress {{\n    192.0.2.100/24\n  \
         }}\n}}\n",
        script.display()
    );
    let n = lab.start(Kind::Vigil, 1, &conf);
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    let master_line = |t: &str| t.lines().any(|l| l.starts_with("INSTANCE VI_1 MASTER"));
    assert!(
        vigil_tests::netns::wait_until(FAST, || std::fs::read_to_string(&out)
            .is_ok_and(|t| master_line(&t))),
        "no MASTER notification: {:?}\n{}",
        std::fs::read_to_string(&out),
        lab.logs()
    );
    lab.node(n).terminate();
}

#[test]
fn vigild_status_reports_the_running_instances_over_the_control_socket() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("status", 2);
    let nodes = start_all(
        &mut lab,
        &[
            (1, Instance::v4(3, 200, "0.1")),
            (2, Instance::v4(3, 100, "0.1")),
        ],
    );
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    let status = |node: usize, json: bool| {
        let pid_file = lab.node_ref(node).pid_file.clone();
        let mut cmd = std::process::Command::new(Lab::vigild_path());
        cmd.arg("-p").arg(&pid_file).arg("status");
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("vigild status: {e}"));
        assert!(out.status.success(), "vigild status failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let master = status(nodes[0], true);
    let v: serde_json::Value =
        serde_json::from_str(&master).unwrap_or_else(|e| panic!("{e}: {master}"));
    assert_eq!(v["schema_version"], 1, "{master}");
    let inst = &v["instances"][0];
    assert_eq!(inst["state"], "MASTER", "{master}");
    assert_eq!(inst["priority"]["effective"], 200, "{master}");
    let backup = status(nodes[1], false);
    assert!(backup.contains("BACKUP"), "{backup}");
}
