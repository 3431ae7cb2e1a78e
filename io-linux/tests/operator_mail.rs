//! smtp_alert: a real SMTP server on loopback (Python's aiosmtpd, Debian's python3-aiosmtpd or
//! `pip install aiosmtpd`) receives keepalived's message; an unreachable server never holds up
//! the caller.

mod operator_common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use operator_common::{at, engine, run_until, start, wait_for, ChildGuard};
use vigil_linux::operator::mail::Mailer;
use vigil_linux::operator::notify::TargetKind;

/// A Python interpreter that has aiosmtpd.
fn python_with_aiosmtpd() -> String {
    for py in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return py.to_string();
        }
    }
    panic!("the SMTP round trip needs aiosmtpd: apt-get install python3-aiosmtpd (or pip install aiosmtpd)");
}

/// Start aiosmtpd on 127.0.0.1:port, saving each message as a file in `dir`.
fn smtp_server(dir: &std::path::Path) -> (ChildGuard, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = format!(
        r#"
import asyncio, os, sys, time
from aiosmtpd.controller import Controller
class Save:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Save.n += 1
        p = os.path.join({dir:?}, "msg%d" % Save.n)
        with open(p + ".tmp", "wb") as f:
            f.write(("MAIL FROM:%s\nRCPT TO:%s\nHELO:%s\n\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos), session.host_name)).encode())
            f.write(envelope.original_content)
        os.rename(p + ".tmp", p)
        return "250 OK"
c = Controller(Save(), hostname="127.0.0.1", port={port})
c.start()
print("READY", flush=True)
end = time.time() + 120
while time.time() < end and sys.stdin.readline():
    pass
c.stop()
"#,
        dir = dir.to_string_lossy()
    );
    let mut child = Command::new(python_with_aiosmtpd())
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "READY", "aiosmtpd did not start");
    (guard, port)
}

fn config(port: u16, timeout_s: u32) -> String {
    format!(
        r#"
global_defs {{
  router_id lab-r1
  notification_email {{
    noc@example.com
    oncall@example.org
  }}
  notification_email_from vigil@example.net
  smtp_server 127.0.0.1 {port}
  smtp_helo_name r1.example.net
  smtp_connect_timeout {timeout_s}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress {{ 192.0.2.100/24 }}
  smtp_alert
}}
"#
    )
}

#[test]
fn smtp_round_trip_delivers_keepalived_s_message() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = smtp_server(dir.path());
    let (cfg, mut e) = engine(&config(port, 10));
    let mut m = Mailer::new(&cfg).expect("alerts configured");
    let counters = m.counters();
    let mut sink = |e: &vigil_engine::Engine, a: vigil_engine::Action| m.on_action(e, &a);
    // INIT -> BACKUP at start, BACKUP -> MASTER after Master_Down_Interval: two messages.
    start(&mut e, at(0.0), &mut sink);
    run_until(&mut e, at(10.0), &mut sink);
    assert!(
        wait_for(Duration::from_secs(30), || counters
            .sent
            .load(Ordering::Relaxed)
            == 2),
        "sent {} failed {}",
        counters.sent.load(Ordering::Relaxed),
        counters.failed.load(Ordering::Relaxed)
    );
    m.shutdown(Duration::from_secs(5));
    let first = std::fs::read_to_string(dir.path().join("msg1")).unwrap();
    let second = std::fs::read_to_string(dir.path().join("msg2")).unwrap();
    for (msg, state, line) in [
        (
            &first,
            "BACKUP",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (
            &second,
            "MASTER",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
    ] {
        assert!(msg.starts_with("MAIL FROM:vigil@example.net\nRCPT TO:noc@example.com,oncall@example.org\nHELO:r1.example.net\n"), "{msg}");
        assert!(
            msg.contains(&format!(
                "Subject: [lab-r1] VRRP Instance VI_1 - Entering {state} state\r\n"
            )),
            "{msg}"
        );
        assert!(msg.contains("From: vigil@example.net\r\n"), "{msg}");
        assert!(
            msg.contains("To: noc@example.com, oncall@example.org\r\n"),
            "{msg}"
        );
        assert!(msg.contains(line), "{msg}");
        assert!(msg.contains("priority 150, reason "), "{msg}");
    }
}

#[test]
fn an_unreachable_server_never_holds_up_the_caller() {
    // A server that accepts the connection and never greets: the worker waits for its
    // smtp_connect_timeout (1 s) while the caller has long returned.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (accepted_tx, accepted_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let (conn, _) = silent.accept().unwrap();
        accepted_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(Duration::from_secs(60));
        drop(conn);
    });
    let (cfg, _e) = engine(&config(port, 1));
    let mut m = Mailer::new(&cfg).unwrap();
    let c = m.counters();
    m.queue(
        TargetKind::Instance,
        "VI_1",
        vigil_engine::State::Master,
        None,
    );
    m.queue(
        TargetKind::Instance,
        "VI_1",
        vigil_engine::State::Backup,
        None,
    );
    // Both calls returned while the server holds the first message's connection without a
    // greeting: neither waited for the server.
    accepted_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(c.sent.load(Ordering::Relaxed), 0);
    assert_eq!(c.failed.load(Ordering::Relaxed), 0);
    // The worker gives up on its own after the timeout and logs it.
    assert!(wait_for(Duration::from_secs(30), || c
        .failed
        .load(Ordering::Relaxed)
        >= 1));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    // The second message finds nobody listening any more: refused, counted as failed.
    assert!(wait_for(Duration::from_secs(30), || c
        .failed
        .load(Ordering::Relaxed)
        == 2));
    assert_eq!(c.sent.load(Ordering::Relaxed), 0);
    m.shutdown(Duration::from_secs(5));
}
