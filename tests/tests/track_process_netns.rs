//! `vrrp_track_process` live (issue 15, section 6): vigild in a network namespace tracks a
//! process that the test starts (a copy of `sleep` under a name unique to this test process),
//! ends by its PID, and starts again. With `weight 0` the instance must go FAULT (its virtual
//! address removed) within the configured `terminate_delay` plus the detection time, and come
//! back to MASTER when the process returns.
//!
//! In a network namespace other than the initial one the kernel offers no process events
//! connector, so vigild scans /proc (every 500 ms, its fallback; the connector path itself is
//! io-linux/tests/track_process_events.rs, which runs in the initial namespace). The times are
//! printed, not asserted tightly (a loaded 2-core machine): the FAULT must not come before the
//! delay, and must come within the delay plus a generous margin.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil_tests::netns::{self, keepalived_conf, vip4, Instance, Kind, Lab};

/// A process of ours, killed by its PID and reaped on drop.
struct Tracked(Option<Child>);

impl Tracked {
    fn start(bin: &PathBuf) -> Tracked {
        let c = Command::new(bin)
            .arg("600")
            .stdin(Stdio::null())
            .spawn()
            .expect("start the tracked process");
        Tracked(Some(c))
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            netns::signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.kill();
    }
}

fn state_of(lab: &Lab, node: usize) -> String {
    let st = lab.vigild_status(node);
    st.lines()
        .find(|l| l.starts_with("VI_1:"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn vigild_faults_when_the_tracked_process_dies_and_recovers_when_it_returns() {
    if !netns::require_root() {
        return;
    }
    let mut lab = Lab::new("tproc", 1);
    let name = format!("vtp{}", std::process::id());
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("sleep");
    let bin = lab.write(&name, "");
    std::fs::copy(sleep, &bin).expect("copy sleep");
    let mut proc_ = Tracked::start(&bin);

    let delay = Duration::from_secs(1);
    let mut conf = keepalived_conf(&[Instance::v4(3, 100, "0.1")]);
    conf = conf.replace(
        "  virtual_ipaddress {",
        "  track_process {\n    app\n  }\n  virtual_ipaddress {",
    );
    conf.push_str(&format!(
        "vrrp_track_process app {{\n  process {name}\n  weight 0\n  terminate_delay {}\n}}\n",
        delay.as_secs_f64()
    ));
    let node = lab.start(Kind::Vigil, 1, &conf);
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(10)),
        "alone with its process running, vigild must become MASTER; log:\n{}",
        lab.logs()
    );
    assert!(
        state_of(&lab, node).contains("MASTER"),
        "{}",
        lab.vigild_status(node)
    );

    // Killed by its PID: FAULT after terminate_delay (plus the scan), the address removed.
    let killed = Instant::now();
    proc_.kill();
    let faulted = netns::wait_until(Duration::from_secs(10), || {
        state_of(&lab, node).contains("FAULT")
    });
    let fault_after = killed.elapsed();
    assert!(
        faulted,
        "the instance must go FAULT when its tracked process dies; status:\n{}\nlog:\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    assert!(
        fault_after >= delay,
        "FAULT after {fault_after:?}: before terminate_delay {delay:?}"
    );
    assert!(
        fault_after <= delay + Duration::from_secs(4),
        "FAULT after {fault_after:?}: far beyond terminate_delay {delay:?} plus a scan"
    );
    assert!(
        netns::wait_until(Duration::from_secs(2), || !lab.has(1, vip4())),
        "a FAULT instance holds no address"
    );
    println!("track_process live: FAULT {fault_after:?} after the kill (terminate_delay {delay:?}, /proc scan fallback)");

    // Started again: back to MASTER.
    let restarted = Instant::now();
    let _again = Tracked::start(&bin);
    assert!(
        lab.wait_sole_holder(vip4(), 1, Duration::from_secs(10)),
        "the instance must recover when the process returns; status:\n{}\nlog:\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    println!(
        "track_process live: MASTER again {:?} after the restart",
        restarted.elapsed()
    );
    let log = lab.node_ref(node).log_text();
    assert!(
        log.contains("quorum lost") && log.contains("quorum gained"),
        "vigild logs the quorum changes:\n{log}"
    );
    lab.node(node).terminate();
}
