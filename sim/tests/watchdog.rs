//! The watchdog ends a process whose busy worker stops making progress, with exit code 6 and a
//! report naming what it ran. Tested in a child process (this test binary run again with an
//! environment variable), since the watchdog ends the whole process.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use vigil_sim::watchdog::{self, Slot, Watchdog, HANG_EXIT};

/// The watchdog's limit in these tests. The property is "a worker that makes no progress is
/// ended, one that does is left alone"; on a loaded 2-core machine a test thread can be off the
/// CPU for hundreds of milliseconds (300 ms was seen to end a progressing run), so the limit is
/// far above any scheduling delay and far below the hung child's 20 s.
const LIMIT: Duration = Duration::from_secs(2);

const CHILD: &str = "VIGIL_SIM_WATCHDOG_CHILD";

#[test]
fn a_worker_without_progress_is_reported_and_the_process_ends_with_code_6() {
    if std::env::var_os(CHILD).is_some() {
        // The child: a busy worker that never reports an event (a hung engine call).
        let slot = Arc::new(Slot::default());
        watchdog::attach(Arc::clone(&slot));
        slot.busy(41);
        let _dog = Watchdog::start(vec![slot], LIMIT, |job| format!("job {job} of the test"));
        std::thread::sleep(Duration::from_secs(20));
        return; // not reached: the watchdog ends the process
    }
    let me = std::env::current_exe().expect("test binary");
    let out = Command::new(me)
        .args([
            "--exact",
            "a_worker_without_progress_is_reported_and_the_process_ends_with_code_6",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(HANG_EXIT), "stderr: {err}");
    assert!(err.contains("HANG: no event processed"), "{err}");
    assert!(err.contains("job 41 of the test"), "{err}");
}

#[test]
fn an_idle_or_progressing_worker_is_left_alone() {
    let slot = Arc::new(Slot::default());
    let dog = Watchdog::start(vec![Arc::clone(&slot)], LIMIT, |_| String::new());
    // Idle for longer than the limit: nothing happens.
    std::thread::sleep(LIMIT + LIMIT / 4);
    // Busy and making progress: nothing happens either.
    let text = vigil_sim::DEMO;
    let s = vigil_sim::scenario::Scenario::from_toml(text).unwrap();
    let plan = s.plan().unwrap();
    watchdog::attach(Arc::clone(&slot));
    for seed in 0..3 {
        slot.busy(seed);
        let mut sim = vigil_sim::sim::Sim::new(&plan, &vigil_sim::sim::Options::quiet(seed));
        assert!(sim.run().passed());
        slot.idle();
    }
    watchdog::detach();
    drop(dog); // joins the thread: still running means nothing ended the process
}
