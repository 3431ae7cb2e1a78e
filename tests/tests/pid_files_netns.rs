//! Two vigilds on one host, each in its own network namespace (`net_namespace` in its
//! configuration) and neither given `-p`: as keepalived 2.2.7 keeps its pid files under
//! `/run/keepalived/NS/` (core/namespaces.c), each vigild writes `/run/vigild/NS/vigild.pid`
//! with its control socket beside it, so `vigild -f CONF status` reaches each one; and a second
//! start of one of them refuses to run beside it (keepalived: "daemon is already running").
//! The lab's namespace names are unique to this process; a guard ends the daemons by their
//! pids and removes their pid directories, even when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_tests::http_lab::Proc;
use vigil_tests::netns::{require_root, signal, wait_until, Lab, RemoveOnDrop};

const FAST: Duration = Duration::from_secs(5);

/// /run/vigild itself, when this test made it: removed on drop if empty (after the pid
/// directories' guard, declared after it).
struct RunDir;

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir("/run/vigild");
    }
}

fn conf(ns: &str, name: &str, vrid: u8, vip: &str) -> String {
    format!(
        "net_namespace {ns}\nvrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  \
         priority 200\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n}}\n"
    )
}

/// vigild with `conf` and no `-p`, started from the host's namespace (it enters the
/// configuration's namespace itself), its output to `log`.
fn start(conf: &Path, log: &Path) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(Lab::vigild_path())
        .args(["-n", "-l", "-f"])
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("vigild starts");
    Proc(Some(child))
}

fn status(conf: &Path) -> String {
    let out = Command::new(Lab::vigild_path())
        .arg("-f")
        .arg(conf)
        .arg("status")
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn each_namespace_s_vigild_has_its_own_pid_file_and_socket_and_a_second_start_is_refused() {
    if !require_root() {
        return;
    }
    let lab = Lab::new("pidns", 2);
    let (ns1, ns2) = (lab.ns(1), lab.ns(2));
    let _run_dir = RunDir;
    // The pid directories (dropped after the daemons' guards, declared after it).
    let dirs = RemoveOnDrop(vec![
        PathBuf::from(format!("/run/vigild/{ns1}")),
        PathBuf::from(format!("/run/vigild/{ns2}")),
    ]);
    let c1 = lab.write("a.conf", &conf(&ns1, "VI_A", 51, "192.0.2.100"));
    let c2 = lab.write("b.conf", &conf(&ns2, "VI_B", 52, "192.0.2.101"));
    let (log1, log2) = (lab.dir.join("a.log"), lab.dir.join("b.log"));
    let mut a = start(&c1, &log1);
    let mut b = start(&c2, &log2);
    let logs = || {
        format!(
            "{}\n{}",
            std::fs::read_to_string(&log1).unwrap_or_default(),
            std::fs::read_to_string(&log2).unwrap_or_default()
        )
    };
    let pid_a = dirs.0[0].join("vigild.pid");
    let pid_b = dirs.0[1].join("vigild.pid");
    for (p, who) in [(&pid_a, &a), (&pid_b, &b)] {
        let want = who.0.as_ref().map(|c| c.id()).unwrap_or(0);
        assert!(
            wait_until(FAST, || std::fs::read_to_string(p)
                .is_ok_and(|t| t.trim() == want.to_string())),
            "{} does not hold pid {want}\n{}",
            p.display(),
            logs()
        );
    }
    assert!(
        wait_until(FAST, || status(&c1).contains("VI_A: MASTER")),
        "{}\n{}",
        status(&c1),
        logs()
    );
    let sb = status(&c2);
    assert!(
        sb.contains("VI_B") && !sb.contains("VI_A"),
        "{sb}\n{}",
        logs()
    );
    // A second start with a.conf: refused, and the first goes on.
    let log3 = lab.dir.join("a2.log");
    let mut again = start(&c1, &log3);
    let code = again.0.as_mut().map(|c| {
        let end = std::time::Instant::now() + FAST;
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                break s.code();
            }
            if std::time::Instant::now() > end {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let second = std::fs::read_to_string(&log3).unwrap_or_default();
    assert_eq!(code, Some(Some(1)), "{second}");
    assert!(second.contains("vigild is already running"), "{second}");
    assert!(status(&c1).contains("VI_A: MASTER"), "{}", logs());
    // Stop both; each removes its own pid file.
    for p in [&mut a, &mut b] {
        if let Some(c) = p.0.as_mut() {
            signal(c.id(), libc::SIGTERM);
            let end = std::time::Instant::now() + Duration::from_secs(10);
            while c.try_wait().ok().flatten().is_none() && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    assert!(!pid_a.exists() && !pid_b.exists(), "{}", logs());
}
