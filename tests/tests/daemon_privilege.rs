//! Least privilege on a running vigild (issue: the operator's side): after start-up the daemon
//! holds CAP_NET_RAW and CAP_NET_ADMIN only (plus CAP_SETUID, CAP_SETGID and CAP_KILL when a
//! script runs as another user), in every set including the bounding set, while it keeps its
//! real-time scheduling and locked memory; and the programs it starts get no more than that.
//!
//! Everything is read from `/proc/<pid>/status` of the real processes, in a namespace lab; the
//! set and the scheduling policy are checked on the static musl build operators deploy too
//! (`netns::static_vigild`), whose C library differs from the test binaries'.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use vigil_tests::netns::{elf_is_static, require_root, static_vigild, vip4, wait_until, Kind, Lab};

const FAST: Duration = Duration::from_secs(5);

const CAP_KILL: u32 = 5;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;
const CAP_IPC_LOCK: u32 = 14;
const CAP_SYS_NICE: u32 = 23;

/// What vigild keeps besides its base set: CAP_IPC_LOCK while its memory is locked and the
/// locked-memory limit could not be lifted (a machine where root lacks CAP_SYS_RESOURCE, as
/// this one): without it every allocation past the limit would fail.
fn memlock_extra(pid: u32) -> Vec<u32> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let unlimited = limits
        .lines()
        .any(|l| l.starts_with("Max locked memory") && l.contains("unlimited"));
    let locked = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .is_some_and(|kb| kb > 0);
    assert!(locked, "vigild locks its memory: {status}");
    if unlimited {
        Vec::new()
    } else {
        vec![CAP_IPC_LOCK]
    }
}

/// CAP_SYS_NICE is kept too when RLIMIT_RTPRIO stayed below vigild's real-time priority (10)
/// (this machine again: raising the hard limit needs CAP_SYS_RESOURCE): the real-time guard's
/// way back to SCHED_FIFO after a demotion needs one or the other.
fn rtprio_extra(pid: u32) -> Vec<u32> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max realtime priority"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap_or_else(|| panic!("no realtime priority limit in {limits}"))
        .to_string();
    if soft == "unlimited" || soft.parse::<u32>().is_ok_and(|v| v >= 10) {
        Vec::new()
    } else {
        vec![CAP_SYS_NICE]
    }
}

fn mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | (1u64 << c))
}

/// The `Cap*` masks of a status text, by field name.
fn cap(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

fn executable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn conf(extra_global: &str, extra_instance: &str, scripts: &str) -> String {
    format!(
        "global_defs {{\n{extra_global}\n}}\n{scripts}\nvrrp_instance VI_1 {{\n  interface eth0\n  \
         virtual_router_id 51\n  priority 200\n  version 3\n  advert_int 0.1\n{extra_instance}\n  \
         virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
    )
}

/// The checks on a running vigild (node `n`) without script users: CAP_NET_RAW and
/// CAP_NET_ADMIN (plus what [`memlock_extra`] and [`rtprio_extra`] add on this machine) in the
/// effective, permitted and bounding sets, nothing inheritable or ambient, SCHED_FIFO kept
/// after the drop, and the log line saying what was kept. Returns the set.
fn assert_base_set(lab: &Lab, n: usize) -> u64 {
    let pid = lab.node_ref(n).pid;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mut keep = vec![CAP_NET_RAW, CAP_NET_ADMIN];
    keep.extend(memlock_extra(pid));
    keep.extend(rtprio_extra(pid));
    let want = mask(&keep);
    for field in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(
            cap(&status, field),
            want,
            "vigild {field}: {status}\n{}",
            lab.logs()
        );
    }
    assert_eq!(cap(&status, "CapInh"), 0, "{status}");
    assert_eq!(cap(&status, "CapAmb"), 0, "{status}");
    // The real-time set-up came first and survived the drop.
    let sched = std::fs::read_to_string(format!("/proc/{pid}/sched")).unwrap();
    let policy = sched
        .lines()
        .find(|l| l.starts_with("policy"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("?")
        .to_string();
    assert_eq!(policy, "1", "SCHED_FIFO is policy 1: {sched}");
    assert!(
        lab.node_ref(n).log_text().contains("capabilities kept"),
        "{}",
        lab.logs()
    );
    want
}

#[test]
fn vigild_keeps_only_net_raw_and_net_admin_and_its_programs_get_no_more() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("caps", 1);
    let out = lab.dir.join("notify-status");
    let script = lab.write(
        "caps.sh",
        &format!(
            "#!/bin/sh\ncat /proc/self/status > {}.tmp && mv {0}.tmp {0}\n",
            out.display()
        ),
    );
    executable(&script);
    let n = lab.start(
        Kind::Vigil,
        1,
        &conf(
            "  enable_script_security\n  script_user root",
            &format!("  notify_master {}", script.display()),
            "",
        ),
    );
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    let want = assert_base_set(&lab, n);
    // It still allocates after the drop: `vigild status` makes it build an answer.
    let answer = std::process::Command::new(Lab::vigild_path())
        .arg("-p")
        .arg(&lab.node_ref(n).pid_file)
        .arg("status")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&answer.stdout).contains("VI_1: MASTER"),
        "{}\n{}",
        String::from_utf8_lossy(&answer.stderr),
        lab.logs()
    );
    // The notify program, run as root, got nothing vigild gave up.
    assert!(
        wait_until(FAST, || out.exists()),
        "notify_master did not run\n{}",
        lab.logs()
    );
    let child = std::fs::read_to_string(&out).unwrap();
    assert_eq!(cap(&child, "CapBnd"), want, "{child}");
    assert_eq!(cap(&child, "CapEff") & !want, 0, "{child}");
    lab.node(n).terminate();
}

#[test]
fn a_script_user_keeps_setuid_setgid_and_kill_and_the_check_runs_as_that_user() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::new("capsusr", 1);
    // A directory the script's user may write its report into.
    let drop_dir = lab.dir.join("drop");
    std::fs::create_dir_all(&drop_dir).unwrap();
    std::fs::set_permissions(&drop_dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = drop_dir.join("check-status");
    let script = lab.write(
        "check.sh",
        &format!(
            "#!/bin/sh\ncat /proc/self/status > {}.tmp && mv {0}.tmp {0}\nexit 0\n",
            out.display()
        ),
    );
    executable(&script);
    let n = lab.start(
        Kind::Vigil,
        1,
        &conf(
            "  enable_script_security",
            "  track_script {\n    chk\n  }",
            &format!(
                "vrrp_script chk {{\n  script \"{}\"\n  interval 1\n  user nobody\n}}\n",
                script.display()
            ),
        ),
    );
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    let pid = lab.node_ref(n).pid;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mut keep = vec![CAP_NET_RAW, CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID, CAP_KILL];
    keep.extend(memlock_extra(pid));
    keep.extend(rtprio_extra(pid));
    let want = mask(&keep);
    assert_eq!(cap(&status, "CapEff"), want, "{status}\n{}", lab.logs());
    assert_eq!(cap(&status, "CapBnd"), want, "{status}");
    assert!(
        wait_until(FAST, || out.exists()),
        "the check did not run\n{}",
        lab.logs()
    );
    let child = std::fs::read_to_string(&out).unwrap();
    // The four ids (real, effective, saved, filesystem) must all be nobody's; a missing line or
    // an empty one must fail, not pass as "every id of none is 65534".
    let uid_line = child
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_else(|| panic!("no Uid: line in the check's /proc status:\n{child}"));
    let ids: Vec<&str> = uid_line.split_whitespace().skip(1).collect();
    assert_eq!(ids, ["65534"; 4], "the check runs as nobody: {uid_line}");
    assert_eq!(cap(&child, "CapEff"), 0, "{child}");
    lab.node(n).terminate();
}

/// The static build operators deploy (musl, docs/HOWTO.md) holds the same set and keeps
/// SCHED_FIFO, as the glibc build above: the test binaries and the vigild they build are glibc,
/// and musl's C library differs where the real-time set-up calls it (its
/// `sched_setscheduler` and `sched_getscheduler` fail with ENOSYS): through a wrapper, the
/// static daemon ran without real-time scheduling, and later without CAP_SYS_NICE where
/// RLIMIT_RTPRIO could not be raised, which only a benchmark of the `dist` build noticed.
#[test]
fn the_static_musl_build_keeps_the_same_set_and_real_time_scheduling() {
    if !require_root() {
        return;
    }
    let Some(binary) = static_vigild() else {
        return;
    };
    assert_eq!(
        elf_is_static(&binary),
        Some(true),
        "{} is not a static executable",
        binary.display()
    );
    let mut lab = Lab::new("capsmusl", 1);
    lab.vigild_binary = Some(binary);
    let n = lab.start(Kind::Vigil, 1, &conf("", "", ""));
    assert!(lab.wait_sole_holder(vip4(), 1, FAST), "{}", lab.logs());
    assert_base_set(&lab, n);
    lab.node(n).terminate();
}
