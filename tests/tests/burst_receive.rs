//! Issue 20: a BACKUP of 255 VRRPv3 instances at 10 ms adverts must never take over while its
//! master advertises, even when its loop stalls for longer than Master_Down_Interval.
//!
//! The master sends the adverts of all 255 instances at the same instant (one grid, one
//! `sendmmsg`): 25,500 adverts a second in bursts of 255. Before the fix, any stall of the backup
//! longer than Master_Down_Interval (36 ms here) made it serve every expired Master_Down_Timer
//! before reading the adverts queued in its socket: 255 takeovers, whose work (netlink, ARP,
//! logs) kept the loop from reading, so the socket overflowed and more timers expired: about a
//! thousand spurious takeovers a second. The test stalls the backup on purpose (SIGSTOP for
//! 50 ms, well inside what its receive buffer holds) and checks, over more than 20 s, that the
//! backup logs no BACKUP -> MASTER, the master no MASTER -> BACKUP, and the backup's VRRP socket
//! dropped nothing (the drops column of /proc/net/raw in its namespace).
//!
//! A window in which the master itself was silent on the wire for longer than
//! Master_Down_Interval (on this shared virtual machine the whole VM pauses for tens of
//! milliseconds under load, issue 18) is not judged: any backup takes over then, rightly. Such
//! a window is reported and another one runs (at most three); if every window had a silent
//! master the test fails and says so. The gap is a count of the capture, not a timing assertion
//! on vigild.
//!
//! The counts are behaviour, not timing: nothing here measures how fast anything is. The waits
//! are generous upper bounds for a loaded 2-core machine.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_tests::netns::{
    host_v4, keepalived_conf, require_root, signal, tshark_fields, wait_until, Instance, Kind, Lab,
};

const INSTANCES: u8 = 255;
const STEADY: Duration = Duration::from_secs(22);

/// Windows run at most, until one in which the master was never silent for longer than
/// Master_Down_Interval.
const WINDOWS: usize = 3;

/// Master_Down_Interval of the backup (priority 100, 10 ms adverts), in milliseconds.
const MASTER_DOWN_MS: f64 = 36.1;

/// Instance `k` (1-based VRID): one /32 in 198.51.100.0/24 (203.0.113.0/24 for the last one).
fn vip(k: u8) -> IpAddr {
    if k == 255 {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1))
    } else {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, k))
    }
}

fn instances(priority: u8) -> Vec<Instance> {
    (1..=INSTANCES)
        .map(|k| Instance {
            name: format!("VI_{k}"),
            vrid: k,
            vips: vec![format!("{}/32", vip(k))],
            ..Instance::v4(3, priority, "0.01")
        })
        .collect()
}

/// How many of the 255 virtual addresses host `i` holds.
fn held(lab: &Lab, i: usize) -> usize {
    let mine = lab.addresses(i);
    (1..=INSTANCES).filter(|&k| mine.contains(&vip(k))).count()
}

/// The drops column of /proc/net/raw for the VRRP (protocol 112) sockets of host `i`'s
/// namespace: packets the kernel threw away because a socket's receive buffer was full.
fn vrrp_socket_drops(lab: &Lab, i: usize) -> u64 {
    let out = lab.exec(i, &["cat", "/proc/net/raw"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 13 && f[1].ends_with(":0070"))
                .then(|| f[f.len() - 1].parse::<u64>().ok())?
        })
        .sum()
}

/// The last lines of every daemon's log (the whole logs run to thousands of lines here).
fn log_tails(lab: &Lab, nodes: &[usize]) -> String {
    let mut s = String::new();
    for &n in nodes {
        let text = lab.node_ref(n).log_text();
        let lines: Vec<&str> = text.lines().collect();
        s.push_str(&format!(
            "----- host {} (last 40 lines)\n",
            lab.node_ref(n).host
        ));
        for l in &lines[lines.len().saturating_sub(40)..] {
            s.push_str(l);
            s.push('\n');
        }
    }
    s
}

/// A capture on the bridge of the master's adverts of VRID 1 only (a BPF filter: the whole
/// traffic is 25,500 frames a second): the master's own lateness, for the failure message. `None`
/// when tcpdump cannot run (said in the output; the assertions do not depend on it).
fn capture_vrid1(lab: &Lab) -> Option<(std::process::Child, std::path::PathBuf)> {
    let path = std::env::temp_dir().join(format!("{}-vrid1.pcap", lab.bridge_ns()));
    let filter = format!("ip proto 112 and ip[21] = 1 and src host {}", host_v4(1));
    let child = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.bridge_ns(),
            "tcpdump",
            "-i",
            "br0",
            "-nn",
            "-U",
            "-w",
        ])
        .arg(&path)
        .arg(filter)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(c) => Some((c, path)),
        Err(e) => {
            eprintln!("NOT MEASURED: the master's advert gaps (cannot run tcpdump: {e})");
            None
        }
    }
}

/// Stop the capture and return the largest gap between the master's consecutive adverts of
/// VRID 1, in milliseconds (`None`: not measured).
fn largest_gap_ms(cap: Option<(std::process::Child, std::path::PathBuf)>) -> Option<f64> {
    let (mut child, path) = cap?;
    signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
    let rows = tshark_fields(&path, "vrrp", &["frame.time_epoch"]).ok()?;
    let _ = std::fs::remove_file(&path);
    let t: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.first()?.parse().ok())
        .collect();
    t.windows(2).map(|w| (w[1] - w[0]) * 1e3).reduce(f64::max)
}

/// State changes `from -> to` a vigild log holds.
fn changes(log: &str, from: &str, to: &str) -> usize {
    let needle = format!(") {from} -> {to}:");
    log.lines().filter(|l| l.contains(&needle)).count()
}

#[test]
fn a_backup_of_255_instances_at_10_ms_never_takes_over_from_a_live_master() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("burst255", 2);
    let master = lab.start(Kind::Vigil, 1, &keepalived_conf(&instances(200)));
    assert!(
        wait_until(Duration::from_secs(30), || held(&lab, 1) == 255),
        "the master should hold all 255 addresses (holds {})\n{}",
        held(&lab, 1),
        log_tails(&lab, &[master])
    );
    let backup = lab.start(Kind::Vigil, 2, &keepalived_conf(&instances(100)));
    assert!(
        wait_until(Duration::from_secs(30), || {
            changes(&lab.node_ref(backup).log_text(), "INIT", "BACKUP") == 255
        }),
        "the backup should start all 255 instances\n{}",
        log_tails(&lab, &[master, backup])
    );
    // Start-up is over once every instance is BACKUP; from here on, any transition is spurious,
    // unless the master itself was silent for longer than Master_Down_Interval (36.1 ms between
    // two of its adverts on the wire): then any backup takes over, rightly (RFC 5798 section
    // 6.4.2), and the window says nothing about the backup. Such a window (a loaded or paused
    // machine, BENCHMARKS-daemon.md) is reported and another one is run; a test whose every
    // window had a silent master fails, saying so.
    let mut silent = Vec::new();
    for window in 1..=WINDOWS {
        let cap = capture_vrid1(&lab);
        let drops0 = vrrp_socket_drops(&lab, 2);
        let (takeovers0, master_lost0) = (
            changes(&lab.node_ref(backup).log_text(), "BACKUP", "MASTER"),
            changes(&lab.node_ref(master).log_text(), "MASTER", "BACKUP"),
        );
        let started = std::time::Instant::now();
        std::thread::sleep(STEADY / 2);
        // A stall longer than Master_Down_Interval (36 ms): the adverts wait in the socket.
        let pid = lab.node_ref(backup).pid;
        signal(pid, libc::SIGSTOP);
        std::thread::sleep(Duration::from_millis(50));
        signal(pid, libc::SIGCONT);
        std::thread::sleep(STEADY / 2);
        let ran = started.elapsed();
        let backup_log = lab.node_ref(backup).log_text();
        let master_log = lab.node_ref(master).log_text();
        let takeovers = changes(&backup_log, "BACKUP", "MASTER") - takeovers0;
        let master_lost = changes(&master_log, "MASTER", "BACKUP") - master_lost0;
        let drops = vrrp_socket_drops(&lab, 2) - drops0;
        let gap_ms = largest_gap_ms(cap);
        let gap = gap_ms.map_or("not measured".to_string(), |g| format!("{g:.1} ms"));
        eprintln!(
            "window {window}: 255 instances x 10 ms for {:.1} s with a 50 ms stall of the \
             backup: backup BACKUP -> MASTER {takeovers}, master MASTER -> BACKUP \
             {master_lost}, backup VRRP socket drops {drops}, addresses held by the backup {}, \
             largest gap between the master's adverts of VRID 1 on the wire {gap}",
            ran.as_secs_f64(),
            held(&lab, 2)
        );
        assert!(lab.node(backup).running() && lab.node(master).running());
        if gap_ms.is_some_and(|g| g > MASTER_DOWN_MS) {
            eprintln!(
                "window {window} NOT JUDGED: the master was silent for {gap} \
                 (Master_Down_Interval {MASTER_DOWN_MS} ms)"
            );
            silent.push(gap);
            // Let the pair settle again (the backup gives the addresses back) before the next.
            assert!(
                wait_until(Duration::from_secs(30), || held(&lab, 2) == 0
                    && held(&lab, 1) == 255),
                "the pair should settle after the master's silence\n{}",
                log_tails(&lab, &[master, backup])
            );
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        assert_eq!(
            (takeovers, master_lost, drops),
            (0, 0, 0),
            "spurious transitions or socket drops (largest gap between the master's adverts of \
             VRID 1: {gap}; Master_Down_Interval {MASTER_DOWN_MS} ms)\n{}",
            log_tails(&lab, &[master, backup])
        );
        assert_eq!(held(&lab, 1), 255);
        assert_eq!(held(&lab, 2), 0);
        return;
    }
    panic!(
        "NOT JUDGED: in each of the {WINDOWS} windows the master itself was silent for longer \
         than Master_Down_Interval ({}): the machine is too loaded for this test",
        silent.join(", ")
    );
}
