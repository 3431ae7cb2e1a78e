//! global_defs `startup_script` / `shutdown_script` live, against keepalived 2.2.7 in the same
//! test (issue 15, section 6): each daemon runs the same file on host 1 of a fresh lab, and
//! what the scripts saw must be the same.
//!
//! - The start-up script runs once, before VRRP: the instance is the address owner (it takes
//!   its address as soon as VRRP starts), and the script, which sleeps first, still sees no
//!   virtual address when it ends. A failing script (exit 1) does not stop the start.
//! - A start-up script that outlives `startup_script_timeout` is stopped and VRRP starts.
//! - The shut-down script runs once, after VRRP has stopped (the virtual address is gone when
//!   it runs), and the daemon exits only after it ended.
//!
//! Waits are bounded; nothing is timed.

use std::path::Path;
use std::time::Duration;

use vigil_tests::netns::{self, keepalived_conf, vip4, Instance, Kind, Lab};

/// What the scripts recorded, and what the daemon did.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Lines the start-up script wrote: `start UID vip=N` (N: the virtual address was on eth0).
    start: Vec<String>,
    /// The daemon became MASTER (held the address) after the start-up script.
    master: bool,
    /// Lines the shut-down script wrote: `stop UID vip=N`, then `stop-end`.
    stop: Vec<String>,
}

/// A script that sleeps `sleep` seconds, then appends `WHAT UID vip=N` to `log` and exits with
/// `status`; the shut-down one also appends `stop-end` after one more second.
fn script(lab: &Lab, name: &str, what: &str, log: &Path, sleep: u32, status: u8) -> String {
    let tail = if what == "stop" {
        format!("sleep 1\necho stop-end >> {}\n", log.display())
    } else {
        String::new()
    };
    let text = format!(
        "#!/bin/sh\nsleep {sleep}\nn=$(ip -o addr show dev eth0 | grep -c ' 192.0.2.100/')\n\
         echo \"{what} $(id -u) vip=$n\" >> {log}\n{tail}exit {status}\n",
        log = log.display()
    );
    let p = lab.write(name, &text);
    netns::must(&["chmod", "755", &p.to_string_lossy()]);
    p.to_string_lossy().into_owned()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The owner's instance (priority 255, state MASTER: keepalived starts it as MASTER at once).
fn owner_conf(globals: &str) -> String {
    keepalived_conf(&[Instance::v4(3, 255, "1")])
        .replace("state BACKUP", "state MASTER")
        .replace(
            "  router_id vigil_test\n",
            &format!("  router_id vigil_test\n{globals}"),
        )
}

fn scenario(kind: Kind, start_status: u8) -> Outcome {
    let mut lab = Lab::new("ssts", 1);
    let start_log = lab.dir.join("start.log");
    let stop_log = lab.dir.join("stop.log");
    let start = script(&lab, "start.sh", "start", &start_log, 3, start_status);
    let stop = script(&lab, "stop.sh", "stop", &stop_log, 0, 0);
    let conf = owner_conf(&format!(
        "  startup_script {start}\n  startup_script_timeout 20\n  shutdown_script {stop}\n"
    ));
    let node = lab.start(kind, 1, &conf);
    let master = lab.wait_sole_holder(vip4(), 1, Duration::from_secs(30));
    let start_lines = lines(&start_log);
    lab.node(node).terminate();
    let out = Outcome {
        start: start_lines,
        master,
        stop: lines(&stop_log),
    };
    println!(
        "start/stop scripts ({kind:?}, start-up exit {start_status}): {out:?}\n  log:\n{}",
        lab.node_ref(node)
            .log_text()
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out
}

#[test]
fn startup_and_shutdown_scripts_run_as_keepalived_runs_them() {
    if !netns::require_root() {
        return;
    }
    for status in [0, 1] {
        let ka = scenario(Kind::Keepalived, status);
        let vg = scenario(Kind::Vigil, status);
        assert_eq!(vg, ka, "vigild must do what keepalived does");
        assert_eq!(ka.start.len(), 1, "once: {ka:?}");
        assert!(ka.start[0].ends_with("vip=0"), "before VRRP starts: {ka:?}");
        assert!(
            ka.master,
            "VRRP starts after the script, whatever its status"
        );
        assert_eq!(ka.stop.len(), 2, "once, and waited for: {ka:?}");
        assert!(ka.stop[0].ends_with("vip=0"), "after VRRP stopped: {ka:?}");
    }
}

/// A start-up script still running when `startup_script_timeout` is up: stopped (its process
/// group gets SIGTERM), and VRRP starts. Returns whether the daemon became MASTER and whether
/// the script's `sleep` was gone by then.
fn late_scenario(kind: Kind) -> (bool, bool) {
    let mut lab = Lab::new("sstl", 1);
    let marker = format!("vgsleep{}", std::process::id());
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sleep");
    let bin = lab.dir.join(&marker);
    std::fs::copy(sleep, &bin).expect("copy sleep");
    let start = lab.write("late.sh", &format!("#!/bin/sh\n{} 60\n", bin.display()));
    netns::must(&["chmod", "755", &start.to_string_lossy()]);
    let conf = owner_conf(&format!(
        "  startup_script {}\n  startup_script_timeout 1\n",
        start.display()
    ));
    let node = lab.start(kind, 1, &conf);
    let master = lab.wait_sole_holder(vip4(), 1, Duration::from_secs(30));
    let gone = netns::wait_until(Duration::from_secs(15), || {
        !netns::run(&["pgrep", "-f", &bin.to_string_lossy()])
            .status
            .success()
    });
    lab.node(node).terminate();
    println!("late start-up script ({kind:?}): MASTER {master}, script stopped {gone}");
    (master, gone)
}

#[test]
fn a_late_startup_script_is_stopped_and_vrrp_starts_as_keepalived_does() {
    if !netns::require_root() {
        return;
    }
    let ka = late_scenario(Kind::Keepalived);
    let vg = late_scenario(Kind::Vigil);
    assert_eq!(vg, ka, "vigild must do what keepalived does");
    assert_eq!(ka, (true, true));
}
