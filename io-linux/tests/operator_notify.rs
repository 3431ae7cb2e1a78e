//! Notify programs: called as keepalived calls them, in order per instance or group, one at a
//! time, never holding up the caller, and a slow program holding up only its own target.
#![allow(unsafe_code)] // pthread_sigmask(3): the test thread blocks the daemon's signals

mod operator_common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use operator_common::{at, drain, engine, run_until, start, wait_for};
use vigil_engine::conf;
use vigil_engine::{Input, State};
use vigil_linux::operator::notify::{Notifier, TargetKind};

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_string_lossy().into_owned()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn delivery_is_ordered_per_target_under_a_slow_script() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log");
    let gate = d.join("gate");
    // notify_master waits (bounded) for the test to open the gate: it stands for a slow script.
    let slow = script(
        d,
        "slow.sh",
        &format!(
            "i=0; while [ ! -e {g} ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done\necho \"$1\" >> {l}",
            g = gate.display(),
            l = log.display()
        ),
    );
    let fast = script(d, "fast.sh", &format!("echo \"$*\" >> {}", log.display()));
    let other = d.join("other");
    let fast_other = script(
        d,
        "other.sh",
        &format!("echo \"$*\" >> {}", other.display()),
    );
    let text = format!(
        r#"
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {{ 192.0.2.100 }}
  notify_master "{slow} master"
  notify_backup "{fast} backup"
  notify_fault "{fast} fault"
  notify "{fast}"
}}
vrrp_instance VI_2 {{
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {{ 192.0.2.101 }}
  notify "{fast_other}"
}}
"#
    );
    let cfg = conf::parse_str(&text).unwrap();
    let (mut n, refused) = Notifier::new(&cfg, Duration::from_secs(60));
    assert!(refused.is_empty(), "{refused:?}");

    // Four transitions of VI_1 in a row: each call returns at once.
    n.notify(TargetKind::Instance, "VI_1", State::Backup, 100);
    n.notify(TargetKind::Instance, "VI_1", State::Master, 100);
    n.notify(TargetKind::Instance, "VI_1", State::Backup, 90);
    n.notify(TargetKind::Instance, "VI_1", State::Fault, 90);
    // Another instance is not held up by VI_1's slow script.
    n.notify(TargetKind::Instance, "VI_2", State::Master, 100);
    assert!(
        wait_for(Duration::from_secs(20), || lines(&other).len() == 1),
        "VI_2's notify did not run while VI_1's notify_master was blocked"
    );
    assert_eq!(lines(&other), ["INSTANCE VI_2 MASTER 100"]);
    // VI_1 ran BACKUP's two programs, then stopped at notify_master: nothing after it ran.
    assert!(wait_for(Duration::from_secs(20), || lines(&log).len() == 2));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(lines(&log), ["backup", "INSTANCE VI_1 BACKUP 100"]);

    std::fs::write(&gate, "").unwrap();
    assert_eq!(n.shutdown(Duration::from_secs(30)), 0);
    assert_eq!(
        lines(&log),
        [
            "backup",
            "INSTANCE VI_1 BACKUP 100",
            "master",
            "INSTANCE VI_1 MASTER 100",
            "backup",
            "INSTANCE VI_1 BACKUP 90",
            "fault",
            "INSTANCE VI_1 FAULT 90",
        ]
    );
}

#[test]
fn instances_and_groups_get_keepalived_s_arguments_from_engine_actions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log");
    let fast = script(d, "n.sh", &format!("echo \"$*\" >> {}", log.display()));
    let stop = script(
        d,
        "stop.sh",
        &format!("echo stop \"$*\" >> {}", log.display()),
    );
    let text = format!(
        r#"
vrrp_sync_group G1 {{
  group {{ VI_1 }}
  notify "{fast}"
  notify_stop "{stop} group-arg"
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 1
  priority 150
  virtual_ipaddress {{ 192.0.2.100 }}
  notify "{fast}"
}}
"#
    );
    let (cfg, mut e) = engine(&text);
    let (mut n, refused) = Notifier::new(&cfg, Duration::from_secs(60));
    assert!(refused.is_empty(), "{refused:?}");
    let mut sink = |e: &vigil_engine::Engine, a: vigil_engine::Action| n.on_action(e, &a);
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    e.handle_input(at(10.0), Input::Shutdown);
    drain(&mut e, &mut sink);
    assert_eq!(n.shutdown(Duration::from_secs(30)), 0);
    let got = lines(&log);
    // Per target the order is the engine's; the two targets run on their own queues, so only
    // the order within each is fixed.
    let inst: Vec<&String> = got.iter().filter(|l| l.contains("INSTANCE")).collect();
    let grp: Vec<&String> = got.iter().filter(|l| !l.contains("INSTANCE")).collect();
    assert_eq!(
        inst,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150"
        ]
    );
    assert_eq!(
        grp,
        [
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0",
            "stop group-arg",
            "GROUP G1 STOP 0"
        ]
    );
}

#[test]
fn a_line_with_shell_syntax_runs_through_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let text = format!(
        r#"
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {{ 192.0.2.100 }}
  notify_master "/bin/echo now master > {}"
}}
"#,
        out.display()
    );
    let cfg = conf::parse_str(&text).unwrap();
    let (mut n, _) = Notifier::new(&cfg, Duration::from_secs(60));
    n.notify(TargetKind::Instance, "VI_1", State::Master, 100);
    n.shutdown(Duration::from_secs(30));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "now master\n");
}

#[test]
fn notify_master_rx_lower_pri_runs_when_a_master_hears_a_lower_priority() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log");
    let rx = script(
        d,
        "rx.sh",
        &format!("echo rx-lower \"$*\" >> {}", log.display()),
    );
    let any = script(d, "any.sh", &format!("echo \"$*\" >> {}", log.display()));
    let text = format!(
        r#"
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 1
  priority 150
  virtual_ipaddress {{ 192.0.2.100 }}
  notify "{any}"
  notify_master_rx_lower_pri "{rx} arg"
}}
"#
    );
    let (cfg, mut e) = engine(&text);
    let (mut n, refused) = Notifier::new(&cfg, Duration::from_secs(60));
    assert!(refused.is_empty(), "{refused:?}");
    let mut sink = |e: &vigil_engine::Engine, a: vigil_engine::Action| n.on_action(e, &a);
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    let id = e.instances().next().unwrap().id();
    assert_eq!(e.instances().next().unwrap().state(), State::Master);
    // The engine's report of a lower-priority advert heard while MASTER.
    let heard = vigil_engine::Action::LowerPriorityHeard {
        instance: id,
        src: "192.0.2.20".parse().unwrap(),
        priority: 50,
    };
    n.on_action(&e, &heard);
    assert_eq!(n.shutdown(Duration::from_secs(30)), 0);
    // keepalived's send_event_notify: the program with its own arguments only; the generic
    // `notify` is not called for this event.
    assert_eq!(
        lines(&log),
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "rx-lower arg"
        ]
    );
}

#[test]
fn an_instance_removed_by_a_reload_is_reported_fault_or_deleted_with_notify_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log");
    let any = script(d, "any.sh", &format!("echo \"$*\" >> {}", log.display()));
    let fault = script(
        d,
        "fault.sh",
        &format!("echo fault-program >> {}", log.display()),
    );
    let deleted = script(
        d,
        "deleted.sh",
        &format!("echo deleted-program >> {}", log.display()),
    );
    let text = format!(
        r#"
vrrp_instance PLAIN {{
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {{ 192.0.2.100 }}
  notify "{any}"
  notify_fault "{fault}"
}}
vrrp_instance WITH_SCRIPT {{
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {{ 192.0.2.101 }}
  notify "{any}"
  notify_fault "{fault}"
  notify_deleted "{deleted}"
}}
vrrp_instance BARE {{
  interface eth0
  virtual_router_id 3
  virtual_ipaddress {{ 192.0.2.102 }}
  notify "{any}"
  notify_deleted
}}
"#
    );
    let cfg = conf::parse_str(&text).unwrap();
    let (mut n, refused) = Notifier::new(&cfg, Duration::from_secs(60));
    assert!(refused.is_empty(), "{refused:?}");
    // One at a time, so that the three targets' lines cannot interleave.
    for (name, prio) in [("PLAIN", 100), ("WITH_SCRIPT", 90), ("BARE", 80)] {
        // Count before the call: a program that writes its line before the count is read
        // would otherwise push the target one line too far (seen once: a 20 s wait, failed).
        let want = lines(&log).len() + if name == "BARE" { 1 } else { 2 };
        n.deleted(name, prio);
        assert!(wait_for(Duration::from_secs(20), || lines(&log).len() >= want));
    }
    assert_eq!(n.shutdown(Duration::from_secs(30)), 0);
    assert_eq!(
        lines(&log),
        [
            "fault-program",
            "INSTANCE PLAIN FAULT 100",
            "deleted-program",
            "INSTANCE WITH_SCRIPT DELETED 90",
            "INSTANCE BARE DELETED 80",
        ]
    );
}

#[test]
fn programs_start_with_none_of_vigild_s_blocked_signals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("sigblk");
    let prog = script(
        d,
        "sig.sh",
        &format!("grep '^SigBlk' /proc/self/status > {}", out.display()),
    );
    let text = format!(
        r#"
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {{ 192.0.2.100 }}
  notify_master "{prog}"
}}
"#
    );
    let cfg = conf::parse_str(&text).unwrap();
    // Block what vigild blocks for its signalfd, on this thread, as vigild's loop has them
    // blocked: the worker thread inherits the mask, the program must not.
    // SAFETY: plain signal-mask calls on this thread with valid sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let (mut n, _) = Notifier::new(&cfg, Duration::from_secs(60));
    n.notify(TargetKind::Instance, "VI_1", State::Master, 100);
    assert_eq!(n.shutdown(Duration::from_secs(30)), 0);
    let got = std::fs::read_to_string(&out).unwrap();
    let mask = got.split_whitespace().nth(1).unwrap_or("?");
    let mask = u64::from_str_radix(mask, 16).unwrap();
    let term = 1u64 << (libc::SIGTERM - 1);
    let hup = 1u64 << (libc::SIGHUP - 1);
    assert_eq!(
        mask & (term | hup),
        0,
        "program inherited a blocked mask: {got}"
    );
}
