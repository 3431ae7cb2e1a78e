// Long: 25 end-to-end tests that share one namespace lab and its helpers; each test is short.
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
/// How long a test whose capture must see only the master waits after the master's election
/// (`Lab::wait_settled_holder`): past the backup's first Master_Down_Interval at 100 ms adverts
/// (0.361 s at priority 100), counted from the election, which comes after the backup's start.
const SETTLE: Duration = Duration::from_millis(500);

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
    let cap = lab.capture("term.pcap");
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
    // The time above cannot tell Skew_Time from a Master_Down_Timer that ran out on its own (the
    // last advert came up to a second before SIGTERM). The capture can: a priority-0 advert from
    // host 1, then host 2's first advert Skew_Time (609 ms) after it. Margin: half an interval,
    // for a loaded 2-core machine; the timer running out on its own would be >= 2 s late.
    std::thread::sleep(Duration::from_millis(200));
    let pcap = lab.stop_capture(cap);
    let gap = vigil_tests::netns::assert_priority_zero_handover(
        &pcap,
        "02:00:00:00:00:01",
        "02:00:00:00:00:02",
        100,
        Duration::from_secs(1),
        Duration::from_millis(500),
    );
    eprintln!("priority 0 -> first advert of the new master: {gap:?}");
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
/// An unreadable /proc is a failure, not "none running": the caller asserts an upper bound, which
/// zero would pass without checking anything.
fn processes_running(needle: &str) -> usize {
    let dir = std::fs::read_dir("/proc").unwrap_or_else(|e| panic!("/proc: {e}"));
    let cmdlines: Vec<String> = dir
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        // A process may end between the listing and the read: that one is simply not running.
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .collect();
    // This test process itself is always there: a scan that does not see it saw nothing.
    let me = std::fs::read("/proc/self/cmdline")
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_else(|e| panic!("/proc/self/cmdline: {e}"));
    assert!(
        cmdlines.contains(&me),
        "the /proc scan did not find this test process ({} processes read)",
        cmdlines.len()
    );
    cmdlines.iter().filter(|c| c.contains(needle)).count()
}

/// Rewrite node `n`'s configuration to `conf`, send it SIGHUP and wait until it logged the
/// outcome (`reloaded` or `reload refused`); returns the log written since.
fn reload(lab: &mut Lab, n: usize, conf: &str) -> String {
    let node = lab.node(n);
    std::fs::write(&node.conf, conf).expect("write the new configuration");
    let before = node.log_text().len();
    vigil_tests::netns::signal(node.pid, libc::SIGHUP);
    let done = vigil_tests::netns::wait_until(FAST, || {
        let t = lab.node_ref(n).log_text();
        let new = t.get(before..).unwrap_or("");
        new.contains("reloaded:") || new.contains("reload refused")
    });
    let text = lab.node_ref(n).log_text();
    let new = text.get(before..).unwrap_or("").to_string();
    assert!(done, "no reload outcome logged\n{}", lab.logs());
    new
}

/// The VRRP adverts in a capture: (time in seconds, source, priority).
fn adverts(pcap: &std::path::Path) -> Vec<(f64, String, u8)> {
    vigil_tests::netns::tshark_fields(
        pcap,
        "vrrp",
        &["frame.time_relative", "ip.src", "vrrp.prio"],
    )
    .expect("tshark")
    .into_iter()
    .filter_map(|r| {
        let t = r.first()?.parse().ok()?;
        let src = r.get(1)?.clone();
        let prio = r.get(2)?.parse().ok()?;
        Some((t, src, prio))
    })
    .collect()
}

/// The largest gap between consecutive adverts from `src`, and how many there were.
fn largest_gap(adv: &[(f64, String, u8)], src: &str) -> (f64, usize) {
    let times: Vec<f64> = adv
        .iter()
        .filter(|(_, s, _)| s == src)
        .map(|(t, _, _)| *t)
        .collect();
    let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    (gap, times.len())
}

/// The longest silence of a MASTER (adverts every 100 ms) that the protocol lets pass: the
/// Master_Down_Interval of its backup at `backup_priority` (RFC 5798 6.1: three intervals plus
/// Skew_Time; 360.9 ms at priority 100). A gap that reaches it makes the backup take over;
/// anything shorter is lateness, which the protocol tolerates and a loaded machine produces
/// without any bug.
///
/// Why not two intervals (200 ms, "an advert went missing"), the bound these tests had: this
/// VM's hypervisor stops a vCPU for 30-112 ms now and then (traced 2026-12-04), so an interval
/// plus a stall passes 200 ms with no advert skipped, and the project's tests assert no timing
/// beyond what the protocol decides. What the bound still catches is what matters: a reload that
/// holds adverts back long enough for a takeover. A reload that blocks the loop for R ms leaves a
/// silence of up to R + 50 ms under the hold rule (daemon/reload.rs: at once only when the next
/// advert is at least 50 ms away), up to R + 100 ms without it (the SIGHUP grid test walks the
/// whole interval): a 300 ms reload fails under the old rule and passes under the hold rule,
/// any reload of more than about 311 ms fails. The callers also check that the backup never
/// spoke, the same rule seen from the other side (a backup stalled too may not take over in
/// time to show it).
fn master_down_interval(backup_priority: u8) -> f64 {
    let interval = Duration::from_millis(100);
    (interval * 3 + vigil_tests::netns::skew_time(backup_priority, interval)).as_secs_f64()
}

#[test]
fn sighup_with_an_unchanged_configuration_causes_no_transition_and_no_silence_for_a_takeover() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighup", 2);
    let confs = [
        keepalived_conf(&[Instance::v4(3, 200, "0.1")]),
        keepalived_conf(&[Instance::v4(3, 100, "0.1")]),
    ];
    let nodes = [
        lab.start(Kind::Vigil, 1, &confs[0]),
        lab.start(Kind::Vigil, 2, &confs[1]),
    ];
    assert!(
        lab.wait_settled_holder(vip4(), 1, SETTLE, FAST),
        "{}",
        lab.logs()
    );
    let cap = lab.capture("sighup.pcap");
    std::thread::sleep(Duration::from_millis(500));
    let mut logs = Vec::new();
    for _ in 0..3 {
        for (k, &n) in nodes.iter().enumerate() {
            logs.push(reload(&mut lab, n, &confs[k]));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pcap = lab.stop_capture(cap);
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    for new in &logs {
        assert!(new.contains("reloaded: 1 instance(s)"), "{new}");
        assert!(
            !new.contains(" -> "),
            "a transition after SIGHUP: {new}\n{}",
            lab.logs()
        );
        assert!(
            !new.contains("removed 192.0.2.100"),
            "address touched: {new}"
        );
    }
    for &n in &nodes {
        assert!(lab.node(n).running());
    }
    // The master's adverts went on through six reloads: nobody else spoke.
    let adv = adverts(&pcap);
    let (gap, count) = largest_gap(&adv, "192.0.2.11");
    eprintln!("master adverts: {count}, largest gap {:.2} ms", gap * 1e3);
    assert!(count >= 15, "{count} adverts captured");
    // No silence across the reloads long enough for the backup to take over (see
    // master_down_interval for why not a tighter bound). That no backup took over is checked
    // below (nobody else spoke).
    let limit = master_down_interval(100);
    assert!(
        gap < limit,
        "largest advert gap {gap:.4} s across the reloads (the backup's Master_Down_Interval: \
         {limit:.4} s)"
    );
    assert!(
        adv.iter().all(|(_, s, p)| s == "192.0.2.11" && *p == 200),
        "{adv:?}"
    );
}

/// The instance of [`Instance::v4`] with `vips`.
fn with_vips(priority: u8, vips: &[&str]) -> String {
    let mut i = Instance::v4(3, priority, "0.1");
    i.vips = vips.iter().map(|v| v.to_string()).collect();
    keepalived_conf(&[i])
}

#[test]
fn sighup_adding_and_removing_addresses_on_the_master_never_drops_the_kept_one() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighup-vips", 2);
    let old = ["192.0.2.100/24", "192.0.2.101/24"];
    let new = ["192.0.2.100/24", "192.0.2.102/24"];
    let nodes = [
        lab.start(Kind::Vigil, 1, &with_vips(200, &old)),
        lab.start(Kind::Vigil, 2, &with_vips(100, &old)),
    ];
    let v101: std::net::IpAddr = "192.0.2.101".parse().unwrap();
    let v102: std::net::IpAddr = "192.0.2.102".parse().unwrap();
    // Settled as in `Lab::wait_settled_holder`: host 1 alone holds both, and still after SETTLE.
    for wait in [Duration::ZERO, SETTLE] {
        std::thread::sleep(wait);
        assert!(
            vigil_tests::netns::wait_until(FAST, || lab.holders(vip4()) == vec![1]
                && lab.holders(v101) == vec![1]),
            "{}",
            lab.logs()
        );
    }
    // Watch host 1's addresses as fast as `ip` can while both daemons reload.
    let ns = lab.ns(1);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (samples, missing) = std::thread::scope(|sc| {
        let watcher = sc.spawn(|| {
            let (mut samples, mut missing) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let o = vigil_tests::netns::run(&["ip", "-n", &ns, "-o", "addr", "show"]);
                let text = String::from_utf8_lossy(&o.stdout);
                samples += 1;
                if !text.contains("192.0.2.100/24") {
                    missing += 1;
                }
            }
            (samples, missing)
        });
        std::thread::sleep(Duration::from_millis(300));
        let l2 = reload(&mut lab, nodes[1], &with_vips(100, &new));
        let l1 = reload(&mut lab, nodes[0], &with_vips(200, &new));
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for l in [&l1, &l2] {
            assert!(!l.contains(" -> "), "a transition: {l}\n{}", lab.logs());
        }
        assert!(l1.contains("removed 192.0.2.101/24"), "{l1}");
        assert!(l1.contains("added 192.0.2.102/24"), "{l1}");
        assert!(
            !l1.contains("192.0.2.100/24"),
            "the kept address was touched: {l1}"
        );
        watcher.join().expect("watcher")
    });
    eprintln!("192.0.2.100 missing in {missing} of {samples} samples");
    assert!(samples > 10, "only {samples} samples");
    assert_eq!(
        missing, 0,
        "192.0.2.100 missing in {missing} of {samples} samples"
    );
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    assert_eq!(lab.holders(v102), vec![1], "{}", lab.logs());
    assert!(lab.holders(v101).is_empty(), "{}", lab.logs());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
}

#[test]
fn sighup_with_a_broken_configuration_logs_located_errors_and_keeps_running() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighup-bad", 2);
    let good = [
        keepalived_conf(&[Instance::v4(3, 200, "0.1")]),
        keepalived_conf(&[Instance::v4(3, 100, "0.1")]),
    ];
    let nodes = [
        lab.start(Kind::Vigil, 1, &good[0]),
        lab.start(Kind::Vigil, 2, &good[1]),
    ];
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    // VRID 300 is out of range (line 7 of the file).
    let broken = good[0].replace("virtual_router_id 51", "virtual_router_id 300");
    let conf_path = lab.node_ref(nodes[0]).conf.display().to_string();
    let log = reload(&mut lab, nodes[0], &broken);
    assert!(log.contains("reload refused"), "{log}");
    assert!(
        log.contains(&format!("{conf_path}:7:")),
        "no error located at line 7 of {conf_path}: {log}"
    );
    assert!(!log.contains(" -> "), "a transition: {log}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(lab.node(nodes[0]).running());
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    // The old configuration still runs, and a good file is taken by the next SIGHUP.
    let log = reload(&mut lab, nodes[0], &good[0]);
    assert!(log.contains("reloaded: 1 instance(s)"), "{log}");
    assert!(!log.contains(" -> "), "a transition: {log}");
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
}

#[test]
fn sighup_raising_the_backups_priority_makes_it_preempt_without_two_masters() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighup-prio", 2);
    let nodes = [
        lab.start(
            Kind::Vigil,
            1,
            &keepalived_conf(&[Instance::v4(3, 200, "0.1")]),
        ),
        lab.start(
            Kind::Vigil,
            2,
            &keepalived_conf(&[Instance::v4(3, 100, "0.1")]),
        ),
    ];
    assert!(
        lab.wait_settled_holder(vip4(), 1, SETTLE, FAST),
        "{}",
        lab.logs()
    );
    let cap = lab.capture("prio.pcap");
    std::thread::sleep(Duration::from_millis(300));
    let log = reload(
        &mut lab,
        nodes[1],
        &keepalived_conf(&[Instance::v4(3, 250, "0.1")]),
    );
    assert!(log.contains("reloaded: 1 instance(s)"), "{log}");
    assert!(lab.wait_sole_holder(vip4(), 2, FAST), "{}", lab.logs());
    std::thread::sleep(Duration::from_millis(500));
    let pcap = lab.stop_capture(cap);
    assert_eq!(lab.holders(vip4()), vec![2], "{}", lab.logs());
    // On the wire: once host 2 advertises as master, host 1 says nothing more as master. An
    // advert of host 1's already due when host 2's first one arrived may cross it; on a loaded
    // 2-core machine host 1 can be off the CPU for tens of milliseconds (5 ms of grace failed
    // for that reason alone). 20 ms of grace still tells it apart from host 1 going on as
    // master: its next scheduled advert is 100 ms away.
    let adv = adverts(&pcap);
    let first_new = adv
        .iter()
        .find(|(_, s, _)| s == "192.0.2.12")
        .map(|(t, _, p)| (*t, *p))
        .unwrap_or_else(|| panic!("host 2 never advertised: {adv:?}"));
    assert_eq!(first_new.1, 250, "{adv:?}");
    let late: Vec<_> = adv
        .iter()
        .filter(|(t, s, _)| s == "192.0.2.11" && *t > first_new.0 + 0.020)
        .collect();
    assert!(
        late.is_empty(),
        "host 1 still advertised after host 2 took over: {late:?}"
    );
    assert!(
        lab.node_ref(nodes[0])
            .log_text()
            .contains("MASTER -> BACKUP"),
        "{}",
        lab.logs()
    );
}

#[test]
fn sighup_adding_an_instance_on_a_new_interface_starts_it_and_leaves_the_others_alone() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::with_links("sighup-new", 2, 2);
    let conf = |prio: u8, both: bool| {
        let mut s = format!(
            "vrrp_instance VI_A {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  \
             version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
        );
        if both {
            s.push_str(&format!(
                "vrrp_instance VI_B {{\n  interface eth1\n  virtual_router_id 52\n  priority {prio}\n  \
                 version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    198.51.100.100/24\n  }}\n}}\n"
            ));
        }
        s
    };
    let vip_b: std::net::IpAddr = "198.51.100.100".parse().unwrap();
    let nodes = [
        lab.start(Kind::Vigil, 1, &conf(200, false)),
        lab.start(Kind::Vigil, 2, &conf(100, false)),
    ];
    assert!(
        lab.wait_settled_holder(vip4(), 1, SETTLE, FAST),
        "{}",
        lab.logs()
    );
    let l2 = reload(&mut lab, nodes[1], &conf(100, true));
    let l1 = reload(&mut lab, nodes[0], &conf(200, true));
    for l in [&l1, &l2] {
        assert!(
            l.contains("reloaded: 2 instance(s) on 2 interface(s)"),
            "{l}"
        );
        assert!(
            !l.contains("(VI_A)"),
            "VI_A was disturbed: {l}\n{}",
            lab.logs()
        );
    }
    assert!(lab.wait_sole_holder(vip_b, 1, FAST), "{}", lab.logs());
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    // And back: removing VI_B again releases its address (priority 0 from host 1, host 2
    // takes over on it), VI_A still untouched.
    let l1 = reload(&mut lab, nodes[0], &conf(200, false));
    assert!(l1.contains("removed 198.51.100.100/24"), "{l1}");
    assert!(!l1.contains("(VI_A)"), "VI_A was disturbed: {l1}");
    assert!(lab.wait_sole_holder(vip_b, 2, FAST), "{}", lab.logs());
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
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

#[test]
fn excluded_addresses_and_virtual_routes_follow_the_master_and_are_not_advertised() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("extras", 2);
    let conf = |prio: u8, route_metric: u32| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  \
             version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n  \
             virtual_ipaddress_excluded {{\n    198.51.100.50/24\n    2001:db8:5::50/64\n  }}\n  \
             virtual_routes {{\n    203.0.113.0/24 via 192.0.2.1 metric {route_metric}\n    \
             blackhole 198.51.100.128/25\n  }}\n}}\n"
        )
    };
    let excluded: std::net::IpAddr = "198.51.100.50".parse().unwrap();
    let excluded6: std::net::IpAddr = "2001:db8:5::50".parse().unwrap();
    let routes = |lab: &Lab, i: usize| {
        let o = lab.exec(i, &["ip", "-4", "route", "show", "proto", "keepalived"]);
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let cap = lab.capture("extras.pcap");
    let nodes = [
        lab.start(Kind::Vigil, 1, &conf(200, 5)),
        lab.start(Kind::Vigil, 2, &conf(100, 5)),
    ];
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    assert!(
        vigil_tests::netns::wait_until(FAST, || lab.holders(excluded) == vec![1]
            && lab.holders(excluded6) == vec![1]),
        "{}",
        lab.logs()
    );
    let r1 = routes(&lab, 1);
    assert!(
        r1.contains("203.0.113.0/24 via 192.0.2.1 dev eth0 metric 5"),
        "{r1}"
    );
    assert!(r1.contains("blackhole 198.51.100.128/25"), "{r1}");
    assert_eq!(routes(&lab, 2), "", "the backup installs nothing");

    // A reload that changes one route keeps the other and the excluded addresses in place.
    let log = reload(&mut lab, nodes[0], &conf(200, 7));
    assert!(
        log.contains("removed route 203.0.113.0/24 via 192.0.2.1 metric 5"),
        "{log}"
    );
    assert!(
        log.contains("added route 203.0.113.0/24 via 192.0.2.1 metric 7"),
        "{log}"
    );
    assert!(
        !log.contains("198.51.100.50"),
        "excluded address touched: {log}"
    );
    assert!(!log.contains("blackhole"), "{log}");
    let r1 = routes(&lab, 1);
    assert!(r1.contains("metric 7") && !r1.contains("metric 5"), "{r1}");

    // Graceful stop: everything goes from host 1 and comes up on host 2.
    let status = lab.node(nodes[0]).terminate();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", lab.logs());
    assert_eq!(routes(&lab, 1), "", "routes left behind");
    assert!(
        !lab.has(1, excluded) && !lab.has(1, excluded6),
        "excluded address left behind"
    );
    assert!(lab.wait_sole_holder(vip4(), 2, FAST), "{}", lab.logs());
    assert!(
        vigil_tests::netns::wait_until(FAST, || lab.has(2, excluded)
            && routes(&lab, 2).contains("blackhole 198.51.100.128/25")),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    let pcap = lab.stop_capture(cap);
    // Adverts carry the one virtual address only.
    let rows =
        vigil_tests::netns::tshark_fields(&pcap, "vrrp", &["vrrp.addr_count", "vrrp.ip_addr"])
            .expect("tshark");
    // Both masters' adverts over the capture (the second after a takeover comes one interval
    // after the first, RFC 5798 6.4.2): a handful, each checked.
    assert!(rows.len() >= 3, "{rows:?}");
    for r in &rows {
        assert_eq!(r.first().map(String::as_str), Some("1"), "{rows:?}");
        assert_eq!(
            r.get(1).map(String::as_str),
            Some("192.0.2.100"),
            "{rows:?}"
        );
    }
}

#[test]
fn use_vmac_sends_adverts_and_gratuitous_arp_from_the_virtual_mac_and_cleans_up() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("vmac", 2);
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  \
             version 3\n  advert_int 0.1\n  use_vmac\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
        )
    };
    let vmac_addrs = |lab: &Lab, i: usize| {
        let o = lab.exec(i, &["ip", "-o", "addr", "show", "dev", "vrrp.51"]);
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let sysctl = |lab: &Lab, i: usize, path: &str| {
        let o = lab.exec(i, &["cat", path]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // Who holds the address on its macvlan (Lab::holders looks at eth0 only).
    let holders = |lab: &Lab| {
        [1, 2]
            .into_iter()
            .filter(|&i| vmac_addrs(lab, i).contains("192.0.2.100/24"))
            .collect::<Vec<_>>()
    };
    let cap = lab.capture("vmac.pcap");
    let nodes = [
        lab.start(Kind::Vigil, 1, &conf(200)),
        lab.start(Kind::Vigil, 2, &conf(100)),
    ];
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![1]),
        "{}",
        lab.logs()
    );
    // The address is on the macvlan, not on eth0; both routers have a macvlan with the
    // virtual MAC.
    assert!(lab.holders(vip4()).is_empty(), "{}", lab.logs());
    std::thread::sleep(Duration::from_millis(700));
    for i in [1, 2] {
        let o = lab.exec(i, &["ip", "-d", "link", "show", "vrrp.51"]);
        let link = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(link.contains("link/ether 00:00:5e:00:01:33"), "{link}");
        assert!(link.contains("macvlan mode private"), "{link}");
        assert_eq!(
            sysctl(&lab, i, "/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore"),
            "1"
        );
        assert_eq!(
            sysctl(&lab, i, "/proc/sys/net/ipv4/conf/vrrp.51/accept_local"),
            "1"
        );
        assert_eq!(
            sysctl(&lab, i, "/proc/sys/net/ipv4/conf/eth0/arp_ignore"),
            "1"
        );
        assert_eq!(
            sysctl(&lab, i, "/proc/sys/net/ipv4/conf/eth0/arp_filter"),
            "1"
        );
    }
    // The backup reaches the address at the virtual MAC (no ping here: a TCP connection to a
    // closed port is refused by the master, which takes ARP and a round trip).
    let probe = lab.exec(
        2,
        &[
            "timeout",
            "3",
            "bash",
            "-c",
            "exec 3<>/dev/tcp/192.0.2.100/9",
        ],
    );
    let said = String::from_utf8_lossy(&probe.stderr).to_string();
    assert!(
        said.contains("Connection refused"),
        "{said}\n{}",
        lab.logs()
    );
    // Graceful stop of the master: the backup takes over, and host 1 is left as it was.
    let status = lab.node(nodes[0]).terminate();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", lab.logs());
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![2]),
        "{}",
        lab.logs()
    );
    let gone = lab.exec(1, &["ip", "link", "show", "vrrp.51"]);
    assert!(!gone.status.success(), "macvlan left behind on host 1");
    assert_eq!(
        sysctl(&lab, 1, "/proc/sys/net/ipv4/conf/eth0/arp_ignore"),
        "0"
    );
    assert_eq!(
        sysctl(&lab, 1, "/proc/sys/net/ipv4/conf/eth0/arp_filter"),
        "0"
    );
    std::thread::sleep(Duration::from_millis(300));
    let pcap = lab.stop_capture(cap);

    // On the wire: every advert from both masters and every gratuitous ARP for the address
    // left from 00:00:5e:00:01:33; nothing else did but IGMP (the group joined on the
    // macvlan) and the master's TCP answer to the probe (no IPv6: it is off on the macvlan).
    let adverts =
        vigil_tests::netns::tshark_fields(&pcap, "vrrp", &["eth.src", "ip.src", "vrrp.prio"])
            .expect("tshark");
    assert!(adverts.len() > 10, "{adverts:?}");
    for r in &adverts {
        assert_eq!(r[0], "00:00:5e:00:01:33", "{adverts:?}");
    }
    let srcs: std::collections::BTreeSet<&str> = adverts.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        srcs.into_iter().collect::<Vec<_>>(),
        ["192.0.2.11", "192.0.2.12"],
        "both masters advertised from their own primary address"
    );
    let garps = vigil_tests::netns::tshark_fields(
        &pcap,
        "arp.src.proto_ipv4 == 192.0.2.100 && arp.dst.proto_ipv4 == 192.0.2.100",
        &["eth.src", "arp.src.hw_mac"],
    )
    .expect("tshark");
    assert!(garps.len() >= 5, "{garps:?}");
    for r in &garps {
        assert_eq!(r, &["00:00:5e:00:01:33", "00:00:5e:00:01:33"], "{garps:?}");
    }
    // Host 2's ARP request for the address was answered by the macvlan (the parent keeps
    // quiet: arp_ignore / arp_filter).
    let replies = vigil_tests::netns::tshark_fields(
        &pcap,
        "arp.opcode == 2 && arp.src.proto_ipv4 == 192.0.2.100",
        &["arp.src.hw_mac"],
    )
    .expect("tshark");
    assert!(!replies.is_empty(), "no ARP reply for the address");
    for r in &replies {
        assert_eq!(r[0], "00:00:5e:00:01:33", "{replies:?}");
    }
    let other = vigil_tests::netns::tshark_fields(
        &pcap,
        "eth.src == 00:00:5e:00:01:33 && !vrrp && !arp && !igmp && !tcp",
        &["frame.protocols"],
    )
    .expect("tshark");
    assert!(
        other.is_empty(),
        "other frames from the virtual MAC: {other:?}"
    );
}

#[test]
fn use_vmac_interoperates_with_keepalived_using_use_vmac() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("vmac-ka", 2);
    let conf = |prio: u8| {
        format!(
            "global_defs {{\n  router_id vigil_test\n}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority {prio}\n  version 3\n  advert_int 0.1\n  use_vmac\n  \
             virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
        )
    };
    let holders = |lab: &Lab| {
        [1, 2]
            .into_iter()
            .filter(|&i| {
                let o = lab.exec(i, &["ip", "-o", "addr", "show", "dev", "vrrp.51"]);
                String::from_utf8_lossy(&o.stdout).contains("192.0.2.100/24")
            })
            .collect::<Vec<_>>()
    };
    let cap = lab.capture("vmac-ka.pcap");
    let ka = lab.start(Kind::Keepalived, 1, &conf(200));
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![1]),
        "{}",
        lab.logs()
    );
    lab.start(Kind::Vigil, 2, &conf(100));
    // Vigil hears keepalived's adverts on its macvlan and stays backup.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(holders(&lab), vec![1], "{}", lab.logs());
    // keepalived stops: priority 0, Vigil takes over on its macvlan.
    lab.node(ka).terminate();
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![2]),
        "{}",
        lab.logs()
    );
    // keepalived comes back with the higher priority and preempts; Vigil lets go.
    lab.start(Kind::Keepalived, 1, &conf(200));
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![1]),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(holders(&lab), vec![1], "{}", lab.logs());
    let pcap = lab.stop_capture(cap);
    let adverts =
        vigil_tests::netns::tshark_fields(&pcap, "vrrp", &["eth.src", "ip.src", "vrrp.prio"])
            .expect("tshark");
    assert!(
        adverts.iter().any(|r| r[1] == "192.0.2.12"),
        "Vigil never advertised: {adverts:?}"
    );
    for r in &adverts {
        assert_eq!(r[0], "00:00:5e:00:01:33", "{adverts:?}");
    }
}

/// Kills a process the test started outside the lab's nodes, if it is still there.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0 != 0 && !vigil_tests::netns::process_gone(self.0) {
            vigil_tests::netns::signal(self.0, libc::SIGKILL);
        }
    }
}

#[test]
fn without_dont_fork_vigild_detaches_and_the_shell_gets_the_start_status() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("fork", 1);
    let good = lab.write(
        "fork.conf",
        &keepalived_conf(&[Instance::v4(3, 200, "0.1")]),
    );
    let bad = lab.write(
        "bad.conf",
        &keepalived_conf(&[Instance::v4(3, 200, "0.1")])
            .replace("virtual_router_id 51", "virtual_router_id 0"),
    );
    let pid_file = lab.dir.join("fork.pid");
    let launch = |conf: &std::path::Path| {
        std::process::Command::new("ip")
            .args(["netns", "exec", &lab.ns(1)])
            .arg(Lab::vigild_path())
            .arg("-f")
            .arg(conf)
            .arg("-p")
            .arg(&pid_file)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run vigild")
    };
    // A configuration error is still the shell's exit status 5.
    let t0 = std::time::Instant::now();
    let out = launch(&bad);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // A good one: the launcher returns 0 once the daemon runs, in the background.
    let out = launch(&good);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap_or_default()
        .trim()
        .parse()
        .expect("pid file");
    let _guard = KillOnDrop(pid);
    assert!(
        !vigil_tests::netns::process_gone(pid),
        "the daemon is not running"
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command: state, ppid, pgrp, session, tty_nr (0: no terminal).
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, r)| r.split(' ').collect())
        .unwrap_or_default();
    assert_eq!(fields.get(4), Some(&"0"), "a controlling terminal: {stat}");
    assert_ne!(
        fields.get(3),
        Some(&pid.to_string().as_str()),
        "a session leader: {stat}"
    );
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "no address");
    vigil_tests::netns::signal(pid, libc::SIGTERM);
    assert!(
        vigil_tests::netns::wait_until(FAST, || vigil_tests::netns::process_gone(pid)),
        "SIGTERM did not stop it"
    );
    assert!(!lab.has(1, vip4()), "address left behind");
    assert!(!pid_file.exists(), "pid file left behind");
}

#[test]
fn static_addresses_and_routes_stay_while_the_daemon_runs_whatever_its_state() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("static", 2);
    let conf = |prio: u8| {
        format!(
            "static_ipaddress {{\n  203.0.113.{prio}/24 dev eth0\n}}\n\
             static_routes {{\n  198.51.100.0/25 via 192.0.2.1\n}}\n{}",
            keepalived_conf(&[Instance::v4(3, prio, "0.1")])
        )
    };
    let routes = |lab: &Lab, i: usize| {
        let o = lab.exec(i, &["ip", "-4", "route", "show", "proto", "keepalived"]);
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let nodes = [
        lab.start(Kind::Vigil, 1, &conf(200)),
        lab.start(Kind::Vigil, 2, &conf(100)),
    ];
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    // The backup has its static address and route too.
    for (i, a) in [(1, "203.0.113.200"), (2, "203.0.113.100")] {
        assert!(lab.has(i, a.parse().unwrap()), "host {i}\n{}", lab.logs());
        assert!(
            routes(&lab, i).contains("198.51.100.0/25 via 192.0.2.1"),
            "host {i}: {}",
            routes(&lab, i)
        );
    }
    let status = lab.node(nodes[1]).terminate();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", lab.logs());
    assert!(
        !lab.has(2, "203.0.113.100".parse().unwrap()),
        "static address left"
    );
    assert_eq!(routes(&lab, 2), "", "static route left");
    assert!(lab.has(1, "203.0.113.200".parse().unwrap()));
}

#[test]
fn use_vmac_on_ipv6_sends_from_00_00_5e_00_02_vrid_and_takes_over() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("vmac6", 2);
    let conf = |prio: u8| {
        keepalived_conf(&[Instance::v6(prio, "0.1")])
            .replace("  advert_int 0.1\n", "  advert_int 0.1\n  use_vmac\n")
    };
    let holders = |lab: &Lab| {
        [1, 2]
            .into_iter()
            .filter(|&i| {
                let o = lab.exec(i, &["ip", "-o", "addr", "show", "dev", "vrrp.52"]);
                String::from_utf8_lossy(&o.stdout).contains("2001:db8::100/64")
            })
            .collect::<Vec<_>>()
    };
    let cap = lab.capture("vmac6.pcap");
    let nodes = [
        lab.start(Kind::Vigil, 1, &conf(200)),
        lab.start(Kind::Vigil, 2, &conf(100)),
    ];
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![1]),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(holders(&lab), vec![1], "{}", lab.logs());
    // The macvlan carries its parent's link-local address and no generated one.
    let o = lab.exec(
        1,
        &[
            "ip", "-o", "-6", "addr", "show", "dev", "vrrp.52", "scope", "link",
        ],
    );
    let ll = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(ll.contains("fe80::ff:fe00:1/64"), "{ll}");
    assert!(!ll.contains("fe80::200:5eff"), "generated link-local: {ll}");
    let status = lab.node(nodes[0]).terminate();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", lab.logs());
    assert!(
        vigil_tests::netns::wait_until(FAST, || holders(&lab) == vec![2]),
        "{}",
        lab.logs()
    );
    let gone = lab.exec(1, &["ip", "link", "show", "vrrp.52"]);
    assert!(!gone.status.success(), "macvlan left behind on host 1");
    std::thread::sleep(Duration::from_millis(300));
    let pcap = lab.stop_capture(cap);
    let adverts =
        vigil_tests::netns::tshark_fields(&pcap, "vrrp", &["eth.src", "ipv6.src"]).expect("tshark");
    assert!(adverts.len() > 5, "{adverts:?}");
    let srcs: std::collections::BTreeSet<(&str, &str)> = adverts
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        srcs.into_iter().collect::<Vec<_>>(),
        [
            ("00:00:5e:00:02:34", "fe80::ff:fe00:1"),
            ("00:00:5e:00:02:34", "fe80::ff:fe00:2")
        ],
        "{adverts:?}"
    );
    // Unsolicited neighbour advertisements for the address leave from the virtual MAC too.
    let nas = vigil_tests::netns::tshark_fields(
        &pcap,
        "icmpv6.type == 136 && icmpv6.nd.na.target_address == 2001:db8::100",
        &["eth.src"],
    )
    .expect("tshark");
    assert!(!nas.is_empty(), "no neighbour advertisement");
    for r in &nas {
        assert_eq!(r[0], "00:00:5e:00:02:34", "{nas:?}");
    }
    // Nothing else from the shared MAC but the group memberships (MLD).
    let other = vigil_tests::netns::tshark_fields(
        &pcap,
        "eth.src == 00:00:5e:00:02:34 && !vrrp && !(icmpv6.type == 136) && !(icmpv6.type == 143)",
        &["frame.protocols", "icmpv6.type"],
    )
    .expect("tshark");
    assert!(
        other.is_empty(),
        "other frames from the virtual MAC: {other:?}"
    );
}

#[test]
fn sighup_adding_and_removing_use_vmac_on_the_master_moves_its_address_without_a_transition() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighup-vmac", 2);
    let plain = |prio: u8| keepalived_conf(&[Instance::v4(3, prio, "0.1")]);
    let vmac =
        |prio: u8| plain(prio).replace("  advert_int 0.1\n", "  advert_int 0.1\n  use_vmac\n");
    let on_vmac = |lab: &Lab| {
        let o = lab.exec(1, &["ip", "-o", "addr", "show", "dev", "vrrp.51"]);
        String::from_utf8_lossy(&o.stdout).contains("192.0.2.100/24")
    };
    let nodes = [
        lab.start(Kind::Vigil, 1, &plain(200)),
        lab.start(Kind::Vigil, 2, &plain(100)),
    ];
    assert!(
        lab.wait_settled_holder(vip4(), 1, SETTLE, FAST),
        "{}",
        lab.logs()
    );
    let cap = lab.capture("sighup-vmac.pcap");
    // Both routers of the group take use_vmac (the backup first: it then hears the master on
    // its macvlan once the master sends from the virtual MAC).
    let l2 = reload(&mut lab, nodes[1], &vmac(100));
    let l1 = reload(&mut lab, nodes[0], &vmac(200));
    for l in [&l1, &l2] {
        assert!(!l.contains(" -> "), "a transition: {l}\n{}", lab.logs());
    }
    assert!(l1.contains("addresses move from eth0 to vrrp.51"), "{l1}");
    assert!(on_vmac(&lab) && !lab.has(1, vip4()), "{}", lab.logs());
    std::thread::sleep(Duration::from_millis(500));
    // And back.
    let l2 = reload(&mut lab, nodes[1], &plain(100));
    let l1 = reload(&mut lab, nodes[0], &plain(200));
    for l in [&l1, &l2] {
        assert!(!l.contains(" -> "), "a transition: {l}\n{}", lab.logs());
    }
    assert!(l1.contains("addresses move from vrrp.51 to eth0"), "{l1}");
    assert!(lab.has(1, vip4()), "{}", lab.logs());
    std::thread::sleep(Duration::from_millis(500));
    let pcap = lab.stop_capture(cap);
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    let adverts = vigil_tests::netns::tshark_fields(
        &pcap,
        "vrrp",
        &["frame.time_relative", "eth.src", "ip.src"],
    )
    .expect("tshark");
    let from: std::collections::BTreeSet<(&str, &str)> = adverts
        .iter()
        .map(|r| (r[1].as_str(), r[2].as_str()))
        .collect();
    // On failure: every advert on the wire, with its time, beside both daemons' logs.
    let wire: Vec<String> = adverts.iter().map(|r| r.join(" ")).collect();
    assert_eq!(
        from.into_iter().collect::<Vec<_>>(),
        [
            ("00:00:5e:00:01:33", "192.0.2.11"),
            ("02:00:00:00:00:01", "192.0.2.11")
        ],
        "only the master advertised, from its own MAC, then the virtual one\n{}\nadverts \
         (capture-relative s, MAC, source):\n{}",
        lab.logs(),
        wire.join("\n")
    );
}

/// The master's `adverts sent` counter, from `vigild status`.
fn adverts_sent(lab: &Lab, n: usize) -> Option<u64> {
    let status = lab.vigild_status(n);
    status
        .lines()
        .find_map(|l| {
            l.trim_start()
                .strip_prefix("adverts")?
                .trim_start()
                .strip_prefix("sent ")
        })
        .and_then(|v| v.split(',').next()?.trim().parse().ok())
}

/// How many times `needle` occurs in `text`.
fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// The milliseconds a held reload had left, from the last "reload held" line of `new`.
fn held_ms(new: &str) -> Option<f64> {
    new.rsplit_once("reload held for the engine's deadline (in ")?
        .1
        .split_once(" ms)")?
        .0
        .parse()
        .ok()
}

/// SIGHUP at every point of the master's 100 ms advert interval (the reload held for an engine
/// deadline less than 50 ms away, daemon/reload.rs): every SIGHUP is accounted for, a reload
/// that completed or a second SIGHUP logged as merged into the reload already held; each
/// reload's priority goes on the wire in order; the adverts never stop long enough for the
/// backup to take over (no gap of its Master_Down_Interval, see [`master_down_interval`], and
/// the backup never speaks). Both ways of the rule must have been taken (held,
/// and at once) and a merged SIGHUP seen: the SIGHUPs walk the interval in 7.3 ms steps, half
/// of it is inside the clearance, and the rounds go on (up to 120) until each was seen.
#[test]
fn sighup_at_every_point_of_the_advert_interval_reloads_each_time_and_keeps_the_adverts_within_master_down(
) {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("sighupgrid", 2);
    // -D: the daemon's debug lines say when a reload was held.
    lab.log_detail = true;
    let master = |p: u8| keepalived_conf(&[Instance::v4(3, p, "0.1")]);
    let m = lab.start(Kind::Vigil, 1, &master(200));
    let b = lab.start(
        Kind::Vigil,
        2,
        &keepalived_conf(&[Instance::v4(3, 100, "0.1")]),
    );
    assert!(
        lab.wait_settled_holder(vip4(), 1, SETTLE, FAST),
        "{}",
        lab.logs()
    );
    let cap = lab.capture("sighupgrid.pcap");
    let transitions_before = [transitions(&lab, m), transitions(&lab, b)];
    let mut configured = vec![200u8];
    let (mut held, mut at_once, mut merged, mut sighups) = (0, 0, 0, 0);
    let mut round = 0u64;
    while round < 30 || (round < 120 && (held == 0 || at_once == 0 || merged == 0)) {
        // One advert at the last configured priority first: every priority reaches the wire.
        let sent = adverts_sent(&lab, m);
        assert!(
            vigil_tests::netns::wait_until(FAST, || adverts_sent(&lab, m) != sent),
            "no advert after the reload\n{}",
            lab.logs()
        );
        std::thread::sleep(Duration::from_micros(round * 7_300 % 100_000));
        let p = 199 - (round % 90) as u8;
        configured.push(p);
        let node = lab.node(m);
        std::fs::write(&node.conf, master(p)).expect("write the new configuration");
        let before = node.log_text().len();
        vigil_tests::netns::signal(node.pid, libc::SIGHUP);
        sighups += 1;
        let new = |lab: &Lab| {
            let t = lab.node_ref(m).log_text();
            t.get(before..).unwrap_or("").to_string()
        };
        assert!(
            vigil_tests::netns::wait_until(FAST, || {
                let t = new(&lab);
                t.contains("SIGHUP: reloading") || t.contains("reload held")
            }),
            "SIGHUP {sighups} left no trace\n{}",
            lab.logs()
        );
        let first = new(&lab);
        let mut expect_outcomes = 1;
        if first.contains("reload held") {
            held += 1;
            // A second SIGHUP while the reload is held, when there is time for one: merged
            // (logged) if it comes in time, else a reload of its own.
            if held_ms(&first).is_some_and(|ms| ms >= 10.0) {
                vigil_tests::netns::signal(lab.node_ref(m).pid, libc::SIGHUP);
                sighups += 1;
                expect_outcomes = 2;
            }
        } else {
            at_once += 1;
        }
        // Each SIGHUP ends as one reload outcome or one merged line.
        assert!(
            vigil_tests::netns::wait_until(FAST, || {
                let t = new(&lab);
                count(&t, "reloaded:")
                    + count(&t, "reload refused")
                    + count(&t, "SIGHUP while a reload is held")
                    == expect_outcomes
            }),
            "round {round}: not every SIGHUP was accounted for\n{}",
            new(&lab)
        );
        let t = new(&lab);
        merged += count(&t, "SIGHUP while a reload is held");
        assert!(!t.contains("reload refused"), "{t}");
        assert!(!t.contains(" -> "), "a transition after SIGHUP: {t}");
        round += 1;
    }
    std::thread::sleep(Duration::from_millis(300));
    let pcap = lab.stop_capture(cap);
    let log = lab.node_ref(m).log_text();
    eprintln!("{round} rounds, {sighups} SIGHUPs: {held} held, {at_once} at once, {merged} merged");
    let adv = adverts(&pcap);
    let (gap, n) = largest_gap(&adv, "192.0.2.11");
    eprintln!("master adverts: {n}, largest gap {:.2} ms", gap * 1e3);
    // No silence long enough for the backup to take over: its Master_Down_Interval, not two
    // intervals (see master_down_interval), checked first so that a failure names the gap.
    // 2026-12-04, on vigilds built to sleep in each reload: 300 ms with the hold rule, largest
    // gap 349.6 ms (passes); 300 ms with every reload at once (the rule before the hold),
    // 402.7 ms (fails); 400 ms with the hold rule, 449.1 ms (fails). The real one with its
    // master SIGSTOPped for 110 ms every 1.5 s (a stalled vCPU), 202.0 ms: the 200 ms bound
    // failed, this one passes.
    let limit = master_down_interval(100);
    assert!(
        gap < limit,
        "largest advert gap {gap:.4} s across the reloads (the backup's Master_Down_Interval: \
         {limit:.4} s)"
    );
    assert!(
        held > 0 && at_once > 0 && merged > 0,
        "{round} rounds: {held} held, {at_once} at once, {merged} merged: a way of the rule \
         was never taken"
    );
    // Every SIGHUP is one reload that completed, or one merged into a held reload.
    assert_eq!(count(&log, "SIGHUP: reloading"), sighups - merged, "{log}");
    assert_eq!(
        count(&log, "reloaded: 1 instance(s)"),
        sighups - merged,
        "{log}"
    );
    // The configuration took effect: the master's priorities on the wire are the configured
    // ones, in order, none missing.
    let mut on_wire: Vec<u8> = adv
        .iter()
        .filter(|(_, s, _)| s == "192.0.2.11")
        .map(|(_, _, p)| *p)
        .collect();
    on_wire.dedup();
    assert_eq!(on_wire, configured, "priorities on the wire vs configured");
    assert!(
        adv.iter().all(|(_, s, _)| s == "192.0.2.11"),
        "the backup spoke: {adv:?}"
    );
    assert_eq!(lab.holders(vip4()), vec![1], "{}", lab.logs());
    // No transition on either side during the rounds (start-up may have had one: a backup
    // started before the master's first advert arrived is MASTER for a moment).
    assert_eq!(
        [transitions(&lab, m), transitions(&lab, b)],
        transitions_before,
        "{}",
        lab.logs()
    );
}

/// The `transitions` line of node `n`'s `vigild status`.
fn transitions(lab: &Lab, n: usize) -> String {
    let status = lab.vigild_status(n);
    status
        .lines()
        .find(|l| l.trim_start().starts_with("transitions"))
        .unwrap_or_else(|| panic!("no transitions line in {status}"))
        .trim()
        .to_string()
}
