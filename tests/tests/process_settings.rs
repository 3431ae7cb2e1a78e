//! keepalived.conf's process settings on a running vigild, beside keepalived's VRRP process with
//! the same lines (keepalived.conf(5) `global_defs`: `vrrp_priority`, `vrrp_rt_priority`,
//! `vrrp_rlimit_rttime`, `vrrp_cpu_affinity`, `vrrp_no_swap`): both processes must run at
//! SCHED_RR priority 20, nice -5, on CPU 0 only, with RLIMIT_RTTIME 200,000 / 400,000 us, read
//! from `/proc/<pid>/stat`, `status` and `limits` of the real processes in a namespace lab.
//! And a CPU that is not online stops vigild at start with the line's location (keepalived's
//! `get_cpu_affinity` reports it as a configuration error).

use std::time::Duration;

use vigil_tests::netns::{require_keepalived, require_root, vip4, Kind, Lab};

const FAST: Duration = Duration::from_secs(5);

const SETTINGS: &str = "  vrrp_rt_priority 20\n  vrrp_priority -5\n  vrrp_rlimit_rttime 400000\n  \
                        vrrp_cpu_affinity 0\n  vrrp_no_swap";

fn conf(global: &str, priority: u8) -> String {
    format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  \
         virtual_router_id 51\n  priority {priority}\n  version 3\n  advert_int 0.1\n  \
         virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
    )
}

/// What the kernel says of a process's scheduling: (policy, real-time priority, nice, CPUs
/// allowed, RLIMIT_RTTIME soft and hard, memory locked in kB).
#[derive(Debug, PartialEq)]
struct Sched {
    policy: u32,
    rt_priority: u32,
    nice: i32,
    cpus: String,
    rttime: (String, String),
    locked: bool,
}

fn sched_of(pid: u32) -> Sched {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's closing parenthesis, from field 3 (state) on.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| rest.get(n - 3).copied().unwrap_or("?");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let locked = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .is_some_and(|kb| kb > 0);
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[3].to_string(), w[4].to_string())
        })
        .unwrap_or_default();
    Sched {
        policy: field(41).parse().unwrap_or(99),
        rt_priority: field(40).parse().unwrap_or(0),
        nice: field(19).parse().unwrap_or(99),
        cpus,
        rttime,
        locked,
    }
}

#[test]
fn vigild_schedules_itself_as_keepalived_does_with_the_same_lines() {
    if !require_root() || !require_keepalived() {
        return;
    }
    let mut lab = Lab::new("procset", 2);
    let v = lab.start(Kind::Vigil, 1, &conf(SETTINGS, 200));
    let k = lab.start(Kind::Keepalived, 2, &conf(SETTINGS, 100));
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    let want = Sched {
        policy: 2, // SCHED_RR
        rt_priority: 20,
        nice: -5,
        cpus: "0".to_string(),
        rttime: ("200000".to_string(), "400000".to_string()),
        locked: true,
    };
    let vigild = sched_of(lab.node_ref(v).pid);
    assert_eq!(vigild, want, "vigild\n{}", lab.logs());
    // keepalived applies `vrrp_priority` only when it runs without real time
    // (lib/process.c, set_process_priorities); vigild applies it always, because its
    // real-time guard may demote it to the ordinary class, where the nice value then counts.
    let child = lab
        .node_ref(k)
        .vrrp_child()
        .expect("keepalived's VRRP process");
    let keepalived = sched_of(child);
    assert_eq!(
        keepalived,
        Sched { nice: 0, ..want },
        "keepalived's VRRP process\n{}",
        lab.logs()
    );
    assert!(
        lab.node_ref(v)
            .log_text()
            .contains("real-time scheduling on (SCHED_RR 20, budget 200 ms / 400 ms)"),
        "{}",
        lab.logs()
    );
    lab.node(v).terminate();
    lab.node(k).terminate();
}

#[test]
fn a_cpu_that_is_not_online_stops_vigild_at_start_with_the_lines_place() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("proccpu", 1);
    let conf_path = lab.write("cpu.conf", &conf("  vrrp_cpu_affinity 0 1000", 200));
    let pid_file = lab.dir.join("cpu.pid");
    // `timeout` ends a vigild that would keep running (the failure this test looks for).
    let out = std::process::Command::new("timeout")
        .args(["10", "ip", "netns", "exec", &lab.ns(1)])
        .arg(Lab::vigild_path())
        .args(["-n", "-l", "-f"])
        .arg(&conf_path)
        .arg("-p")
        .arg(&pid_file)
        .output()
        .expect("timeout(1) runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(5), "{log}");
    assert!(
        log.contains(":2:3: error: vrrp_cpu_affinity: CPU 1000 not online"),
        "{log}"
    );
    assert!(!lab.has(1, vip4()), "{log}");
}
