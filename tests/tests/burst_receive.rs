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
//! backup sends no advert while its master advertises, the master logs no MASTER -> BACKUP, and
//! the backup's VRRP socket dropped nothing (the drops column of /proc/net/raw in its namespace).
//!
//! When the master itself is silent on the wire for longer than Master_Down_Interval (on this
//! shared virtual machine the whole VM pauses for tens of milliseconds under load, issue 18),
//! any backup takes over, rightly. So the test judges each advert the backup sends (a backup
//! sends none unless it takes over) against the master's adverts around it, from a capture on
//! the bridge: the master sends its 255 instances in two grid batches of its own phase each
//! (`vigil_engine::instance::GRID_BATCH`, 128 a batch), so a backup advert of VRID v is judged
//! against the adverts of the first VRID of v's batch (1 or 129). The first window's capture
//! runs from before the backup starts, so that its start-up (its first Master_Down_Interval,
//! before it has heard each master) is judged by the same rule. An advert
//! sent while the master was advertising is spurious and fails the test, by
//! instance name; one sent during a silence of the master (or less than Master_Down_Interval
//! after it ended) is excused, and so is the rest of a MASTER period begun then, until the backup
//! reads the master again (at most 1 s after the silence: on a loaded machine the work of up to
//! 255 rightful takeovers can delay that read; a clean-checkout run failed on four such last
//! adverts, 2026-12-04). Only a silence of the
//! master around the stall itself makes a window unjudged (the stall is what the test is
//! about): another window runs then (at most three), and if every window had one the test fails
//! and says so. A silence anywhere else in the 22 s no longer voids the window (it did, and on
//! a loaded machine every window had one). The gaps are counts of the capture, not timing
//! assertions on vigild.
//!
//! Two defences hold the claim, and either alone holds it for this stall: the runner reads its
//! sockets before serving a deadline (`read_before_deciding`), and the engine extends once a
//! Master_Down_Timer served more than Skew_Time late or with adverts pending
//! (engine/src/engine/backlog.rs). With both broken on purpose the test fails, naming 255
//! spurious takeovers (checked 2026-12-03); with one of them broken it passes.
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

/// The master's grid batch of instance `vrid` (1-based VRID = configuration order here): the
/// engine gives the 255 instances of one interval `ceil(255 / GRID_BATCH)` batches of equal
/// size in configuration order, each at its own phase of the 10 ms grid
/// (`vigil_engine::instance::spread_grid_phases`): VRIDs 1-128 and 129-255. Adverts of one
/// batch leave together; two batches are 5 ms apart and can be delayed apart.
fn batch_of(vrid: u8) -> usize {
    let batches = usize::from(INSTANCES).div_ceil(vigil_engine::instance::GRID_BATCH);
    let per = usize::from(INSTANCES).div_ceil(batches);
    usize::from(vrid.saturating_sub(1)) / per
}

/// The first VRID of each grid batch ([`batch_of`]): the master's adverts the capture keeps, one
/// VRID standing for its batch.
fn batch_leaders() -> Vec<u8> {
    let mut leaders: Vec<u8> = Vec::new();
    for vrid in 1..=INSTANCES {
        if leaders
            .last()
            .is_none_or(|&l| batch_of(l) != batch_of(vrid))
        {
            leaders.push(vrid);
        }
    }
    leaders
}

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

/// A capture on the bridge of the master's adverts of each grid batch's first VRID (1 and 129,
/// [`batch_leaders`]; a BPF filter: the whole traffic is 25,500 frames a second) and of every
/// advert of the backup (it sends none unless it takes over). Returns once tcpdump has written
/// its file header (it captures from then on), at most 10 s. `None` when tcpdump cannot run
/// (said in the output; the test then judges from the logs alone, with no takeover excused).
fn capture(lab: &Lab) -> Option<(std::process::Child, std::path::PathBuf)> {
    let path = std::env::temp_dir().join(format!("{}-burst.pcap", lab.bridge_ns()));
    let _ = std::fs::remove_file(&path);
    let vrids: Vec<String> = batch_leaders()
        .iter()
        .map(|v| format!("ip[21] = {v}"))
        .collect();
    let filter = format!(
        "ip proto 112 and (((({}) and src host {})) or src host {})",
        vrids.join(" or "),
        host_v4(1),
        host_v4(2)
    );
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
            "-B",
            "16384",
            "-w",
        ])
        .arg(&path)
        .arg(filter)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(c) => {
            // The pcap file header (24 bytes) is written once the capture is open.
            let open = wait_until(Duration::from_secs(10), || {
                std::fs::metadata(&path).is_ok_and(|m| m.len() >= 24)
            });
            if !open {
                eprintln!("the capture on the bridge had not begun after 10 s");
            }
            Some((c, path))
        }
        Err(e) => {
            eprintln!("NOT MEASURED: the adverts on the wire (cannot run tcpdump: {e})");
            None
        }
    }
}

/// What the capture saw: the master's adverts of each grid batch's first VRID, by batch (times,
/// seconds since the epoch), and the backup's adverts (time, VRID).
struct Wire {
    master: Vec<Vec<f64>>,
    backup: Vec<(f64, u8)>,
}

/// Stop the capture and read it (`None`: not measured).
fn read_capture(cap: Option<(std::process::Child, std::path::PathBuf)>) -> Option<Wire> {
    let (mut child, path) = cap?;
    signal(child.id(), libc::SIGTERM);
    let _ = child.wait();
    let rows = tshark_fields(
        &path,
        "vrrp",
        &["frame.time_epoch", "ip.src", "vrrp.virt_rtr_id"],
    )
    .ok()?;
    let _ = std::fs::remove_file(&path);
    let (m, b) = (host_v4(1).to_string(), host_v4(2).to_string());
    let leaders = batch_leaders();
    let mut w = Wire {
        master: vec![Vec::new(); leaders.len()],
        backup: Vec::new(),
    };
    for r in &rows {
        let (Some(t), Some(src), Some(vrid)) = (
            r.first().and_then(|t| t.parse::<f64>().ok()),
            r.get(1),
            r.get(2).and_then(|v| v.parse::<u8>().ok()),
        ) else {
            continue;
        };
        if *src == m && leaders.contains(&vrid) {
            if let Some(times) = w.master.get_mut(batch_of(vrid)) {
                times.push(t);
            }
        } else if *src == b {
            w.backup.push((t, vrid));
        }
    }
    Some(w)
}

/// The gaps longer than Master_Down_Interval between the master's consecutive adverts of one
/// VRID: (last advert before, first advert after), seconds. The master sends the adverts of one
/// grid batch together (one timer, one `sendmmsg`), so the batch's first VRID stands for it.
fn master_silences(master: &[f64]) -> Vec<(f64, f64)> {
    master
        .windows(2)
        .filter(|w| (w[1] - w[0]) * 1e3 > MASTER_DOWN_MS)
        .map(|w| (w[0], w[1]))
        .collect()
}

/// The end of the master's silence that time `t` (seconds) is inside, or less than
/// Master_Down_Interval after (`None`: the master was advertising): a backup that takes over
/// then does so rightly (RFC 5798 section 6.4.2).
fn silence_around(silences: &[(f64, f64)], t: f64) -> Option<f64> {
    silences
        .iter()
        .find(|&&(a, b)| a < t && t < b + MASTER_DOWN_MS / 1e3)
        .map(|&(_, b)| b)
}

/// Whether a silence of the master (extended as in [`silence_around`]) overlaps `from..to`.
fn overlaps_silence(silences: &[(f64, f64)], from: f64, to: f64) -> bool {
    silences
        .iter()
        .any(|&(a, b)| a < to && from < b + MASTER_DOWN_MS / 1e3)
}

/// How long after the master's silence ended a backup that rightly took over during it may
/// still advertise: it yields when it reads the master's returning advert (RFC 5798 6.4.3), and
/// on a loaded machine, with the work of up to 255 takeovers queued (addresses, ARPs, logs),
/// that read can come late. Generous on purpose: this test is about takeovers decided while the
/// master advertises; a backup that never yields is caught by the settled check after it.
const YIELD_S: f64 = 1.0;

/// The backup's takeovers decided while its master was advertising, counted per VRID. The
/// backup's adverts of one VRID are grouped in runs (consecutive adverts less than
/// Master_Down_Interval apart: one MASTER period, adverting every 10 ms); the first advert of a
/// run is the takeover, judged against the master's silences ([`silence_around`]); the rest of a run
/// begun in a silence is excused until [`YIELD_S`] after that silence ended, and counted as
/// spurious after it. An advert after the master's last one on the wire is excused only if it
/// came more than Master_Down_Interval after it.
fn spurious_adverts(w: &Wire) -> std::collections::BTreeMap<u8, usize> {
    let silences: Vec<Vec<(f64, f64)>> = w.master.iter().map(|m| master_silences(m)).collect();
    let mut by_vrid: std::collections::BTreeMap<u8, Vec<f64>> = std::collections::BTreeMap::new();
    for &(t, vrid) in &w.backup {
        by_vrid.entry(vrid).or_default().push(t);
    }
    let mut out = std::collections::BTreeMap::new();
    for (vrid, mut times) in by_vrid {
        // The master's adverts of this VRID's batch; none captured: nothing is excused.
        let batch = batch_of(vrid);
        let last = w.master.get(batch).and_then(|m| m.last().copied());
        let silences = silences.get(batch).map_or(&[][..], Vec::as_slice);
        times.sort_by(f64::total_cmp);
        // The silence the current run began in (its end), if it began in one.
        let mut run_silence_end: Option<Option<f64>> = None;
        let mut prev: Option<f64> = None;
        for t in times {
            let after_last = last.is_some_and(|l| (t - l) * 1e3 > MASTER_DOWN_MS);
            let starts_run = prev.is_none_or(|p| (t - p) * 1e3 >= MASTER_DOWN_MS);
            prev = Some(t);
            if starts_run {
                run_silence_end = Some(silence_around(silences, t));
            }
            let excused = after_last
                || match run_silence_end {
                    Some(Some(end)) => t < end + YIELD_S,
                    _ => false,
                };
            if !excused {
                *out.entry(vrid).or_insert(0) += 1;
            }
        }
    }
    out
}

/// The spurious adverts by instance name ("VI_7 x2"), the first ten, then how many instances
/// and adverts in all.
fn by_name(spurious: &std::collections::BTreeMap<u8, usize>) -> String {
    let mut s: Vec<String> = spurious
        .iter()
        .take(10)
        .map(|(vrid, n)| format!("VI_{vrid} x{n}"))
        .collect();
    if spurious.len() > 10 {
        s.push(format!(
            "... {} instances, {} adverts in all",
            spurious.len(),
            spurious.values().sum::<usize>()
        ));
    }
    s.join(", ")
}

/// Seconds since the epoch (the capture's clock).
fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// State changes `from -> to` a vigild log holds.
fn changes(log: &str, from: &str, to: &str) -> usize {
    let needle = format!(") {from} -> {to}:");
    log.lines().filter(|l| l.contains(&needle)).count()
}

// Long: one scenario in steps (the master, the backup started under the capture, up to three
// judged windows), each from the state the previous left; the judge is in the functions above.
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
    // Window 1's capture and counts begin before the backup starts: its start-up (each instance
    // BACKUP, then its first Master_Down_Interval until it hears its master) is judged too.
    let mut first = Some((
        capture(&lab),
        std::time::Instant::now(),
        lab.node_ref(master).log_text().len(),
    ));
    let backup = lab.start(Kind::Vigil, 2, &keepalived_conf(&instances(100)));
    assert!(
        wait_until(Duration::from_secs(30), || {
            changes(&lab.node_ref(backup).log_text(), "INIT", "BACKUP") == 255
        }),
        "the backup should start all 255 instances\n{}",
        log_tails(&lab, &[master, backup])
    );
    // From the backup's start on, a backup that advertises is spurious, unless its master
    // itself was silent for longer than Master_Down_Interval (36.1 ms between two of its adverts
    // of that batch on the wire) around that time: then any backup takes over, rightly (RFC 5798
    // section 6.4.2). On this shared virtual machine such silences happen under load (the whole
    // VM pauses, BENCHMARKS-daemon.md; a clean-checkout run, 2026-12-05, logged 127 start-up
    // takeovers of exactly the second batch, VI_129-VI_255, with no capture running yet to
    // judge them), so each of the backup's adverts is judged against the master's adverts
    // around it, not the window as a whole. The stall is what the test is about: a window in
    // which the master was silent around the stall does not exercise it, and another one runs.
    let mut unexercised = Vec::new();
    for window in 1..=WINDOWS {
        let (cap, started, backup_log0, master_log0, drops0) = match first.take() {
            Some((cap, started, master_log0)) => (cap, started, 0, master_log0, 0),
            None => (
                capture(&lab),
                std::time::Instant::now(),
                lab.node_ref(backup).log_text().len(),
                lab.node_ref(master).log_text().len(),
                vrrp_socket_drops(&lab, 2),
            ),
        };
        std::thread::sleep(STEADY / 2);
        // A stall longer than Master_Down_Interval (36 ms): the adverts wait in the socket.
        let pid = lab.node_ref(backup).pid;
        let stall_from = epoch_now();
        signal(pid, libc::SIGSTOP);
        std::thread::sleep(Duration::from_millis(50));
        signal(pid, libc::SIGCONT);
        let stall_to = epoch_now();
        std::thread::sleep(STEADY / 2);
        let ran = started.elapsed();
        let backup_log = lab.node_ref(backup).log_text();
        let master_log = lab.node_ref(master).log_text();
        let backup_log = backup_log.get(backup_log0..).unwrap_or("");
        let master_log = master_log.get(master_log0..).unwrap_or("");
        let takeovers = changes(backup_log, "BACKUP", "MASTER");
        let master_lost = changes(master_log, "MASTER", "BACKUP");
        let drops = vrrp_socket_drops(&lab, 2) - drops0;
        let wire = read_capture(cap);
        assert!(lab.node(backup).running() && lab.node(master).running());
        let Some(wire) = wire else {
            // No capture: nothing can be excused.
            eprintln!(
                "window {window}: backup BACKUP -> MASTER {takeovers}, master MASTER -> BACKUP \
                 {master_lost}, backup VRRP socket drops {drops} (no capture: judged from the \
                 logs alone)"
            );
            assert_eq!(
                (takeovers, master_lost, drops),
                (0, 0, 0),
                "spurious transitions or socket drops\n{}",
                log_tails(&lab, &[master, backup])
            );
            return;
        };
        let silences: Vec<(f64, f64)> = wire
            .master
            .iter()
            .flat_map(|m| master_silences(m))
            .collect();
        let spurious = spurious_adverts(&wire);
        let excused = wire.backup.len() - spurious.values().sum::<usize>();
        let named = by_name(&spurious);
        eprintln!(
            "window {window}: 255 instances x 10 ms for {:.1} s{} with a 50 ms stall of the \
             backup: backup BACKUP -> MASTER {takeovers} (log), backup adverts on the wire {} \
             ({excused} while the master was silent, spurious: [{named}]), master MASTER -> \
             BACKUP {master_lost}, backup VRRP socket drops {drops}, master adverts of VRIDs \
             {:?}: {:?}, master silences longer than {MASTER_DOWN_MS} ms: {}",
            ran.as_secs_f64(),
            if window == 1 {
                " (from the backup's start)"
            } else {
                ""
            },
            wire.backup.len(),
            batch_leaders(),
            wire.master.iter().map(Vec::len).collect::<Vec<_>>(),
            silences.len()
        );
        // The master sent throughout (the capture saw each batch): a capture that lost the
        // master would excuse anything.
        for (leader, m) in batch_leaders().iter().zip(&wire.master) {
            assert!(
                m.len() as f64 > ran.as_secs_f64() * 50.0,
                "the capture holds too few of the master's adverts of VRID {leader} ({}) to \
                 judge the backup",
                m.len()
            );
        }
        // A takeover in the log shows on the wire (its first advert), or the capture missed it
        // and cannot judge it.
        if takeovers > 0 {
            assert!(
                !wire.backup.is_empty(),
                "the backup logged {takeovers} takeovers but the capture holds none of its \
                 adverts: cannot judge them\n{}",
                log_tails(&lab, &[master, backup])
            );
        }
        assert!(
            spurious.is_empty() && master_lost == 0 && drops == 0,
            "spurious: backup adverts while its master advertised [{named}], master MASTER -> \
             BACKUP {master_lost}, backup VRRP socket drops {drops}\n{}",
            log_tails(&lab, &[master, backup])
        );
        // Settled: the backup gave back whatever it rightly took during a silence.
        assert!(
            wait_until(Duration::from_secs(30), || held(&lab, 2) == 0
                && held(&lab, 1) == 255),
            "the pair should hold the addresses on the master only (master {}, backup {})\n{}",
            held(&lab, 1),
            held(&lab, 2),
            log_tails(&lab, &[master, backup])
        );
        if overlaps_silence(&silences, stall_from, stall_to) {
            eprintln!(
                "window {window}: the stall was NOT EXERCISED (the master was silent around it); \
                 another window runs"
            );
            unexercised.push(window);
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        return;
    }
    panic!(
        "NOT JUDGED: in each of the {WINDOWS} windows ({unexercised:?}) the master itself was \
         silent for longer than Master_Down_Interval around the backup's stall: the machine is \
         too loaded for this test"
    );
}

// The judge itself (no root needed): it must call an advert sent amid the master's adverts
// spurious, and excuse one sent while the master was silent.

/// The master's VRID 1 every 10 ms from 100.000 s to 100.990 s, except a silence
/// (`silent_from..silent_to`, seconds).
fn master_every_10_ms(silent_from: f64, silent_to: f64) -> Vec<f64> {
    (0..100)
        .map(|k| 100.0 + f64::from(k) * 0.01)
        .filter(|&t| !(silent_from < t && t < silent_to))
        .collect()
}

#[test]
fn a_backup_advert_amid_the_master_s_adverts_is_spurious() {
    let w = Wire {
        master: vec![master_every_10_ms(0.0, 0.0); 2],
        backup: vec![(100.505, 7), (100.515, 7), (100.52, 9)],
    };
    let s = spurious_adverts(&w);
    assert_eq!(
        s.into_iter().collect::<Vec<_>>(),
        vec![(7, 2), (9, 1)],
        "each advert of a takeover decided amid the master's adverts counts"
    );
}

#[test]
fn a_rightful_takeover_may_advertise_until_the_backup_reads_the_master_again() {
    // Silent between 100.29 and 100.37: a takeover of VRID 4 at 100.33 that goes on advertising
    // every 10 ms until 100.45 (the backup read the returning master late) is one rightful
    // MASTER period; the same run still advertising 1.5 s after the silence is not excused.
    let mut backup: Vec<(f64, u8)> = (0..13).map(|k| (100.33 + f64::from(k) * 0.01, 4)).collect();
    let w = Wire {
        master: vec![master_every_10_ms(100.295, 100.365); 2],
        backup: backup.clone(),
    };
    assert!(
        spurious_adverts(&w).is_empty(),
        "{:?}",
        spurious_adverts(&w)
    );
    backup.extend((13..200).map(|k| (100.33 + f64::from(k) * 0.01, 4)));
    let master: Vec<f64> = (0..300)
        .map(|k| 100.0 + f64::from(k) * 0.01)
        .filter(|&t| !(100.295 < t && t < 100.365))
        .collect();
    let w = Wire {
        master: vec![master; 2],
        backup,
    };
    let s = spurious_adverts(&w);
    assert_eq!(s.keys().copied().collect::<Vec<_>>(), vec![4], "{s:?}");
}

#[test]
fn a_backup_advert_during_the_master_s_silence_is_excused() {
    // Silent between its adverts at 100.29 and 100.37 (80 ms, more than Master_Down_Interval):
    // adverts at 100.33 (the takeover) and 100.365 (before the backup read the master again)
    // are right; one at 100.45 (the master has been back for 80 ms) is not.
    let w = Wire {
        master: vec![master_every_10_ms(100.295, 100.365); 2],
        backup: vec![(100.33, 1), (100.365, 1), (100.45, 1)],
    };
    assert_eq!(master_silences(&w.master[0]).len(), 1);
    assert_eq!(
        spurious_adverts(&w).into_iter().collect::<Vec<_>>(),
        vec![(1, 1)]
    );
    let s = master_silences(&w.master[0]);
    assert!(overlaps_silence(&s, 100.32, 100.37));
    assert!(!overlaps_silence(&s, 100.6, 100.65));
}

#[test]
fn each_backup_advert_is_judged_against_its_own_grid_batch() {
    // The engine's batches of 255 instances at 10 ms: VRIDs 1-128 and 129-255.
    assert_eq!(batch_leaders(), vec![1, 129]);
    assert_eq!((batch_of(128), batch_of(129), batch_of(255)), (0, 1, 1));
    // The second batch silent between 100.295 and 100.365, the first advertising throughout:
    // VRID 200's takeover at 100.33 is right, VRID 7's at the same time is not.
    let w = Wire {
        master: vec![
            master_every_10_ms(0.0, 0.0),
            master_every_10_ms(100.295, 100.365),
        ],
        backup: vec![(100.33, 200), (100.33, 7)],
    };
    assert_eq!(
        spurious_adverts(&w).into_iter().collect::<Vec<_>>(),
        vec![(7, 1)]
    );
}
