//! `vrrp_track_process` through the kernel's process events connector (the path vigild takes in
//! the initial network namespace): a real process started, killed by its PID, started again and
//! forked, seen by the same [`TrackProcesses`] the daemon runs, with keepalived's delay rules.
//!
//! Needs root (the connector needs CAP_NET_ADMIN) and the initial network namespace (the kernel
//! offers the connector there only). It touches no interface and no firewall: it only listens
//! to process events and starts and ends its own processes, by PID.
#![allow(unsafe_code)] // geteuid(2), and kill(2) of the test's own processes by PID

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant as StdInstant};

use vigil_engine::conf;
use vigil_engine::io::ProcessId;
use vigil_linux::sys;
use vigil_linux::track_process::TrackProcesses;

fn may_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("VIGIL_SKIP_ROOT_TESTS").as_deref() == Ok("1") {
        eprintln!("NOT RUN: track_process_events: needs root (the process events connector)");
        return false;
    }
    panic!("this test needs root (the process events connector); set VIGIL_SKIP_ROOT_TESTS=1 to skip it (NOT RUN)");
}

/// A copy of `sleep` named `name` (its comm), in a fresh directory.
fn renamed_sleep(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join(name);
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("sleep");
    std::fs::copy(sleep, &bin).expect("copy sleep");
    (dir, bin)
}

fn start(bin: &PathBuf) -> Child {
    Command::new(bin).arg("300").spawn().expect("start")
}

fn stop(mut c: Child) {
    // SAFETY: kill(2) of our own child, by its PID.
    unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
    let _ = c.wait();
}

/// Serve events and timers until `want` is reported for set 0, or `limit` passes; the time it
/// took.
fn wait_for(t: &mut TrackProcesses, want: bool, limit: Duration) -> Option<Duration> {
    let begin = StdInstant::now();
    while begin.elapsed() < limit {
        let now = sys::now();
        let mut changes = t.on_readable(now);
        changes.extend(t.on_timer(now));
        if changes.contains(&(ProcessId(0), want)) {
            return Some(begin.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn connector_counts_a_process_that_dies_and_returns() {
    if !may_run() {
        return;
    }
    let name = format!("vtpc{}", std::process::id());
    let (_dir, bin) = renamed_sleep(&name);
    let cfg = conf::parse_str(&format!(
        "vrrp_track_process p {{\n process {name}\n terminate_delay 0.3\n}}\n"
    ))
    .expect("config");
    let mut t = TrackProcesses::new(&cfg);
    assert!(
        t.has_events(),
        "the process events connector must open as root in the initial network namespace"
    );
    let first = start(&bin);
    // Started after the subscription and before the scan: counted once, whichever sees it.
    let states = t.start(sys::now());
    let up_at_start = states == vec![(ProcessId(0), true)];
    if !up_at_start {
        assert!(wait_for(&mut t, true, Duration::from_secs(5)).is_some());
    }
    // Killed by its PID: the set goes down, after terminate_delay (0.3 s).
    stop(first);
    let down = wait_for(&mut t, false, Duration::from_secs(5)).expect("down after the kill");
    assert!(
        down >= Duration::from_millis(290),
        "terminate_delay must hold the set up: down after {down:?}"
    );
    eprintln!("track_process (connector): down {down:?} after the kill (terminate_delay 0.3 s)");
    // Started again (an exec of a matching program): up at once.
    let second = start(&bin);
    let up = wait_for(&mut t, true, Duration::from_secs(5)).expect("up after the restart");
    eprintln!("track_process (connector): up {up:?} after the restart");
    // A restart within terminate_delay is no change: kill and start again at once.
    stop(second);
    let third = start(&bin);
    assert_eq!(
        wait_for(&mut t, false, Duration::from_millis(800)),
        None,
        "a restart within terminate_delay must not take the set down"
    );
    stop(third);
    assert!(wait_for(&mut t, false, Duration::from_secs(5)).is_some());
}

#[test]
fn connector_quorum_counts_forked_children() {
    if !may_run() {
        return;
    }
    // A shell named NAME that forks two children (`NAME -c 'sleep & sleep & wait'`): the
    // children are forks of a tracked process, so they count without reading /proc, as in
    // keepalived (quorum 3 needs the parent and both children).
    let name = format!("vtpf{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let sh = dir.path().join(&name);
    std::fs::copy("/bin/sh", &sh).expect("copy sh");
    let cfg = conf::parse_str(&format!(
        "vrrp_track_process p {{\n process {name}\n quorum 3\n fork_delay 0.2\n}}\n"
    ))
    .expect("config");
    let mut t = TrackProcesses::new(&cfg);
    assert!(t.has_events());
    assert_eq!(t.start(sys::now()), vec![(ProcessId(0), false)]);
    // `read` keeps the children from exec'ing anything: each stays a fork of the shell.
    let mut parent = Command::new(&sh)
        .args(["-c", "(read x) </dev/zero & (read y) </dev/zero & wait"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("start the shell");
    let up = wait_for(&mut t, true, Duration::from_secs(5));
    // The children and the parent: one process group of our own, ended by its PIDs.
    let pid = parent.id() as i32;
    let children: Vec<i32> = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    for c in &children {
        // SAFETY: kill(2) of our own shell's children, by PID.
        unsafe { libc::kill(*c, libc::SIGKILL) };
    }
    let _ = parent.kill();
    let _ = parent.wait();
    let up = up.expect("quorum 3 reached with the parent and two forked children");
    assert!(
        up >= Duration::from_millis(190),
        "fork_delay must delay the quorum: up after {up:?}"
    );
    eprintln!(
        "track_process (connector): quorum 3 up {up:?} after the fork (fork_delay 0.2 s), children {children:?}"
    );
}
