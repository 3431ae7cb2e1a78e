//! notify_fifo / vrrp_notify_fifo: keepalived's line format, from real engine actions.

mod operator_common;

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};

use operator_common::{at, drain, engine, run_until, start};
use vigil_engine::Input;
use vigil_linux::operator::fifo::FifoWriter;

#[test]
fn lines_are_keepalived_s_for_instances_groups_stop_and_priority_changes() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("vrrp.fifo");
    let text = format!(
        r#"
global_defs {{
  vrrp_notify_fifo {}
}}
vrrp_script chk {{
  script "/bin/true"
  weight -20
}}
vrrp_sync_group G1 {{
  group {{ VI_1 }}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress {{ 192.0.2.100/24 }}
}}
vrrp_instance VI_2 {{
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {{ 192.0.2.101/24 }}
  track_script {{ chk }}
  notify_priority_changes
}}
"#,
        fifo.display()
    );
    let (cfg, mut e) = engine(&text);
    let mut w = FifoWriter::new(&cfg);
    assert!(!w.is_empty());
    // vigild created the FIFO, owner-only.
    let md = std::fs::metadata(&fifo).unwrap();
    assert!(md.file_type().is_fifo());
    assert_eq!(md.permissions().mode() & 0o777, 0o600);

    let mut sink = |e: &vigil_engine::Engine, a: vigil_engine::Action| w.on_action(e, &a);
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    let chk = e.script_id("chk").unwrap();
    e.handle_input(
        at(10.5),
        Input::Check {
            script: chk,
            result: vigil_engine::io::CheckResult::Failure,
            ran_for: std::time::Duration::from_millis(5),
        },
    );
    drain(&mut e, &mut sink);
    e.handle_input(at(11.0), Input::Shutdown);
    drain(&mut e, &mut sink);
    assert_eq!(w.dropped, 0);

    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let n = r.read(&mut buf).unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    // Checked against keepalived 2.2.7 in a namespace: same words, quoting and group priority
    // 0 (keepalived writes the group's BACKUP line before the member's at start-up; the order
    // here is the engine's).
    insta::assert_snapshot!(got, @r#"
    INSTANCE "VI_1" BACKUP 150
    GROUP "G1" BACKUP 0
    INSTANCE "VI_2" BACKUP 100
    INSTANCE "VI_1" MASTER 150
    GROUP "G1" MASTER 0
    INSTANCE "VI_2" MASTER 100
    INSTANCE "VI_2" MASTER_PRIORITY 80
    INSTANCE "VI_1" STOP 150
    INSTANCE "VI_2" STOP 80
    GROUP "G1" STOP 0
    "#);
    w.shutdown();
    assert!(
        !fifo.exists(),
        "the FIFO vigild created is removed on shutdown"
    );
}

/// keepalived writes a priority change after the state the instance is in when it happens:
/// `BACKUP_PRIORITY` for a BACKUP (still waiting for Master_Down_Interval), then
/// `MASTER_PRIORITY` once it is MASTER.
#[test]
fn a_backup_s_priority_change_is_backup_priority_and_a_master_s_master_priority() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("vrrp.fifo");
    let text = format!(
        r#"
global_defs {{
  vrrp_notify_fifo {}
}}
vrrp_script chk {{
  script "/bin/true"
  weight -20
}}
vrrp_instance VI_2 {{
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {{ 192.0.2.101/24 }}
  track_script {{ chk }}
  notify_priority_changes
}}
"#,
        fifo.display()
    );
    let (cfg, mut e) = engine(&text);
    let mut w = FifoWriter::new(&cfg);
    let mut sink = |e: &vigil_engine::Engine, a: vigil_engine::Action| w.on_action(e, &a);
    start(&mut e, at(0.0), &mut sink);
    let chk = e.script_id("chk").unwrap();
    let check = |e: &mut vigil_engine::Engine, t: f64, result| {
        e.handle_input(
            at(t),
            Input::Check {
                script: chk,
                result,
                ran_for: std::time::Duration::from_millis(5),
            },
        );
    };
    check(&mut e, 0.5, vigil_engine::io::CheckResult::Failure);
    drain(&mut e, &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    check(&mut e, 10.5, vigil_engine::io::CheckResult::Success);
    drain(&mut e, &mut sink);
    e.handle_input(at(11.0), Input::Shutdown);
    drain(&mut e, &mut sink);
    assert_eq!(w.dropped, 0);

    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let n = r.read(&mut buf).unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    insta::assert_snapshot!(got, @r#"
    INSTANCE "VI_2" BACKUP 100
    INSTANCE "VI_2" BACKUP_PRIORITY 80
    INSTANCE "VI_2" MASTER 80
    INSTANCE "VI_2" MASTER_PRIORITY 100
    INSTANCE "VI_2" STOP 100
    "#);
    w.shutdown();
}

#[test]
fn lower_priority_heard_and_deleted_instances_are_written_and_a_reload_keeps_the_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("vrrp.fifo");
    let conf_text = |extra: &str| {
        format!(
            r#"
global_defs {{
  vrrp_notify_fifo {}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress {{ 192.0.2.100/24 }}
  {extra}
}}
vrrp_instance OLD {{
  interface eth0
  virtual_router_id 52
  virtual_ipaddress {{ 192.0.2.101/24 }}
}}
"#,
            fifo.display()
        )
    };
    let (cfg, mut e) = engine(&conf_text(""));
    let mut w = FifoWriter::new(&cfg);
    // A reader holds the FIFO open across the reload.
    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut sink = |_: &vigil_engine::Engine, _: vigil_engine::Action| {};
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    let id = e.instance_id("VI_1").unwrap();
    w.on_action(
        &e,
        &vigil_engine::Action::LowerPriorityHeard {
            instance: id,
            src: "192.0.2.20".parse().unwrap(),
            priority: 50,
        },
    );
    // A reload with the same FIFO settings keeps it (and the reader) as it is.
    let (cfg2, _) = engine(&conf_text("notify_priority_changes"));
    let mut w = w.reload(&cfg2);
    w.deleted(
        "OLD",
        vigil_linux::operator::notify::Notice::State(vigil_engine::State::Fault),
        100,
    );
    w.deleted("GONE", vigil_linux::operator::notify::Notice::Deleted, 90);
    assert_eq!(w.dropped, 0);
    let mut buf = vec![0u8; 4096];
    let n = r.read(&mut buf).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n\
         INSTANCE \"OLD\" FAULT 100\n\
         INSTANCE \"GONE\" DELETED 90\n"
    );
    w.shutdown();
    assert!(
        !fifo.exists(),
        "the FIFO vigild created is removed at shutdown"
    );
}
