//! `vigild status`: the JSON schema (snapshot), the text form, the owner-only control socket,
//! and keepalived's stats / data files; and the metrics textfile (snapshot).

mod operator_common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use operator_common::{at, drain, engine, run_until, start};
use vigil_engine::{Engine, Input};
use vigil_linux::operator::metrics::Metrics;
use vigil_linux::operator::status::{self, Status, StatusServer};

const CONF: &str = r#"
global_defs {
  router_id lab-r1
}
vrrp_script chk_dns {
  script "/bin/true"
  weight -30
  fall 2
}
vrrp_sync_group EDGE {
  group { VI_OUT VI_IN }
}
vrrp_instance VI_OUT {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
    198.51.100.1/24 dev eth1
  }
  track_interface { eth1 }
}
vrrp_instance VI_IN {
  interface eth1
  virtual_router_id 52
  priority 150
  virtual_ipaddress { 198.51.100.100/24 }
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 60
  priority 100
  advert_int 0.5
  nopreempt
  virtual_ipaddress { 2001:db8::100/64 }
  track_script { chk_dns }
}
"#;

/// The lab router after 10 s: the group MASTER, VI_6 MASTER with a failed check (priority 70).
fn lab() -> Engine {
    lab_with(&mut |_: &Engine, _: vigil_engine::Action| {})
}

fn lab_with(sink: &mut dyn FnMut(&Engine, vigil_engine::Action)) -> Engine {
    let (_cfg, mut e) = engine(CONF);
    let mut sink = sink;
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    let chk = e.script_id("chk_dns").unwrap();
    for t in [10.1, 10.2] {
        e.handle_input(
            at(t),
            Input::Check {
                script: chk,
                result: vigil_engine::io::CheckResult::Failure,
                ran_for: Duration::from_millis(3),
            },
        );
        drain(&mut e, &mut sink);
    }
    run_until(&mut e, at(12.0), &mut sink);
    e
}

#[test]
fn status_json_schema_v1() {
    let e = lab();
    let s = Status::collect(&e, "lab-r1");
    let json = s.to_json().replace(env!("CARGO_PKG_VERSION"), "VERSION");
    insta::assert_snapshot!("status_json_v1", json);
    // The schema document names every field the JSON has.
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/status-schema.md"
    ))
    .expect("docs/status-schema.md");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut missing = Vec::new();
    collect_keys(&v, &mut |k| {
        if !doc.contains(&format!("`{k}`")) {
            missing.push(k.to_string());
        }
    });
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

fn collect_keys(v: &serde_json::Value, f: &mut dyn FnMut(&str)) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                f(k);
                collect_keys(x, f);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_keys(x, f)),
        _ => {}
    }
}

#[test]
fn status_text() {
    let e = lab();
    let text = Status::collect(&e, "lab-r1")
        .to_text()
        .replace(env!("CARGO_PKG_VERSION"), "VERSION");
    insta::assert_snapshot!("status_text", text);
}

#[test]
fn control_socket_is_owner_only_and_answers_both_forms() {
    let e = lab();
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("vigild.pid");
    let sock = status::socket_path_for_pid_file(&pid);
    let mut server = StatusServer::bind(&sock).unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    for json in [false, true] {
        let p = sock.clone();
        let client = std::thread::spawn(move || status::query(&p, json));
        // The event loop's side: accept when readable (here: until the client is served).
        while !client.is_finished() {
            server.on_readable(&e, "lab-r1");
            std::thread::sleep(Duration::from_millis(5));
        }
        let answer = client.join().unwrap().unwrap();
        let expect = Status::collect(&e, "lab-r1");
        if json {
            assert_eq!(answer, expect.to_json());
        } else {
            assert_eq!(answer, expect.to_text());
        }
    }
    // A second daemon on the same pid file is refused while this one answers.
    assert!(StatusServer::bind(&sock).is_err());
    server.shutdown();
    assert!(!sock.exists());
}

#[test]
fn a_client_that_is_neither_root_nor_vigild_s_user_is_refused() {
    if !operator_common::need_root("connecting to the control socket as another user") {
        return;
    }
    let e = lab();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = status::socket_path_for_pid_file(&dir.path().join("vigild.pid"));
    let mut server = StatusServer::bind(&sock).unwrap();
    // Someone opened the socket up by hand: the peer's credentials still decide.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let client = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import socket\n\
             s=socket.socket(socket.AF_UNIX); s.connect({:?}); s.settimeout(5)\n\
             try:\n    s.sendall(b'status\\n'); d=s.recv(4096)\n\
             except ConnectionError:\n    d=b''\n\
             print('answered' if d else 'closed')",
            sock.display().to_string()
        ))
        .uid(65534)
        .gid(65534)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut client = client;
    while client.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        server.on_readable(&e, "lab-r1");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = client.wait_with_output().unwrap();
    // Refused: the connection is closed without an answer.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "closed");
    server.shutdown();
}

/// Replace every number by N: the layout, not the values.
fn shape(s: &str) -> String {
    s.lines()
        .map(|l| match l.rsplit_once(": ") {
            Some((k, v)) if v.parse::<u64>().is_ok() => format!("{k}: N"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn stats_file_has_keepalived_2_2_7_layout() {
    let (_cfg, mut e) = engine(
        r#"
vrrp_instance VI_1 {
  interface veth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress { 192.0.2.100/24 }
}
"#,
    );
    let mut sink = |_: &Engine, _: vigil_engine::Action| {};
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keepalived.stats");
    status::write_stats_file(&p, &e).unwrap();
    let ours = std::fs::read_to_string(&p).unwrap();
    let theirs = include_str!("fixtures/keepalived-2.2.7.stats");
    assert_eq!(shape(&ours), shape(theirs));
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The data file: keepalived's labels for what scripts grep.
    let d = dir.path().join("keepalived.data");
    status::write_data_file(&d, &e, "lab-r1").unwrap();
    let data = std::fs::read_to_string(&d).unwrap();
    for l in [
        " VRRP Instance = VI_1",
        "   State = MASTER",
        "   Virtual Router ID = 51",
        "   Priority = 150",
        "   Effective priority = 150",
        "   Advert interval = 1 sec",
        "     192.0.2.100/24 dev veth0 scope global set",
    ] {
        assert!(data.lines().any(|x| x == l), "missing {l:?} in\n{data}");
    }
    // Nothing left beside them.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn metrics_textfile() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vigild.prom");
    let mut m = Metrics::new(&p, Duration::from_secs(15));
    let e = lab_with(&mut |e: &Engine, a: vigil_engine::Action| m.on_action(e, &a));
    assert!(m.maybe_write(at(12.0), &e).unwrap());
    // Nothing changed and the interval has not passed: no rewrite.
    assert!(!m.maybe_write(at(13.0), &e).unwrap());
    assert!(m.maybe_write(at(27.0), &e).unwrap());
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text, m.render(&e));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temporary file left"
    );
    insta::assert_snapshot!("metrics_textfile", text);
}
