//! The real-time guard (sys::enter_realtime): a SCHED_FIFO thread that runs
//! `RTTIME_SOFT_US` without sleeping is demoted to SCHED_OTHER at once by its SIGXCPU handler,
//! even after `CAP_SYS_NICE` is gone (SCHED_RESET_ON_FORK stays set: clearing it without the
//! capability is refused, which made the old demotion fail silently while the daemon logged
//! it), and returns to SCHED_FIFO after it has slept. Run in a child process of this test
//! binary: the limits, the signal handler and locked memory are the process's.
#![allow(unsafe_code)] // sched_getscheduler(2), getrlimit(2)

mod operator_common;

use std::process::Command;
use std::time::{Duration, Instant};

use caps::{CapSet, Capability};
use operator_common::need_root;
use vigil_linux::sys;

const CHILD_ENV: &str = "VIGIL_REALTIME_GUARD_CHILD";

/// The calling thread's policy without the SCHED_RESET_ON_FORK flag.
fn policy() -> libc::c_int {
    // SAFETY: pid 0 is the calling thread; no memory is passed.
    let p = unsafe { libc::sched_getscheduler(0) };
    p & !libc::SCHED_RESET_ON_FORK
}

/// Spin until the guard reports, giving up well before the hard limit (2 s of real-time CPU)
/// would end the process; returns what the guard said.
fn spin_until_demoted() -> Option<bool> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1_500) {
        if let Some(r) = sys::take_realtime_demotion() {
            return Some(r);
        }
        std::hint::spin_loop();
    }
    None
}

/// `mode` "drop": CAP_SYS_NICE given up whatever the limits (the demotion must still work:
/// vigild before this guard logged a demotion that the kernel had refused); "daemon": given up
/// only when RLIMIT_RTPRIO allows the way back, as privilege::confine does.
fn child_side(mode: &str) {
    let rt = sys::enter_realtime(sys::Plan::default());
    println!("mode {mode}: {rt:?}");
    assert!(rt.realtime, "{rt:?}");
    assert_eq!(policy(), libc::SCHED_FIFO);
    let needs_nice = sys::realtime_return_needs_cap_sys_nice();
    assert_eq!(needs_nice, !rt.can_return);
    if mode == "drop" || !needs_nice {
        for set in [CapSet::Effective, CapSet::Permitted] {
            caps::drop(None, set, Capability::CAP_SYS_NICE).unwrap();
        }
    }
    let rounds = if mode == "drop" && needs_nice { 1 } else { 2 };
    for round in 1..=rounds {
        assert_eq!(
            spin_until_demoted(),
            Some(true),
            "round {round}: not demoted"
        );
        assert_eq!(policy(), libc::SCHED_OTHER, "round {round}");
        std::thread::sleep(Duration::from_millis(5));
        if mode == "drop" && needs_nice {
            // Neither the limit nor the capability: the way back is refused (which is why
            // confine keeps the capability then).
            let e = sys::return_to_realtime().unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
            assert_eq!(policy(), libc::SCHED_OTHER);
            println!("demoted, way back refused as expected");
            return;
        }
        assert!(
            sys::return_to_realtime().unwrap(),
            "round {round}: count not reset"
        );
        assert_eq!(policy(), libc::SCHED_FIFO, "round {round}");
        // The kernel's count starts from zero again: half the budget of spinning is not
        // demoted (with the count of the demotion left, the next tick demoted it again).
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(sys::RTTIME_SOFT_US / 2) {
            std::hint::spin_loop();
        }
        assert_eq!(
            sys::take_realtime_demotion(),
            None,
            "round {round}: demoted again"
        );
        assert_eq!(policy(), libc::SCHED_FIFO, "round {round}");
        // The kernel raised the soft limit by a second when it sent SIGXCPU; it is back.
        // SAFETY: rlimit is plain data.
        let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: valid rlimit to fill.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, sys::RTTIME_SOFT_US as libc::rlim_t);
        println!("round {round}: demoted and back");
    }
}

fn run_child(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_demoted_loop_runs_normally_and_returns_to_fifo_after_sleeping",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child ({mode}) failed ({:?}): {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn a_demoted_loop_runs_normally_and_returns_to_fifo_after_sleeping() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        child_side(&mode);
        return;
    }
    if !need_root("real-time scheduling") {
        return;
    }
    let daemon = run_child("daemon");
    assert!(daemon.contains("round 2: demoted and back"), "{daemon}");
    let dropped = run_child("drop");
    assert!(
        dropped.contains("round 2: demoted and back")
            || dropped.contains("demoted, way back refused as expected"),
        "{dropped}"
    );
}
