//! SIGHUP with a changed checker configuration (issue 16, part 2), in network namespaces.
//!
//! Host 1 is the director (vigild, one virtual server, no VRRP instance); hosts 2, 3 and 4 run
//! `python3 -m http.server`. vigild starts with real servers 2 and 3; the reload removes 2 (its
//! `notify_down` runs, it leaves the table), keeps 3 unchanged (its checker's counters and state
//! go on) and adds 4 (checked, then in the table). Asserted through `vigild status`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vigil_tests::netns::{self, Kind, Lab};

/// `python3 -m http.server` in a namespace, killed by pid and reaped on drop.
struct Web(Child);

impl Web {
    fn start(lab: &Lab, host: usize, dir: &Path) -> Web {
        let addr = netns::host_v4(host).to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", &lab.ns(host)])
            .args(["python3", "-m", "http.server", "8080", "--bind", &addr])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        Web(child)
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        netns::signal(self.0.id(), libc::SIGKILL);
        let _ = self.0.wait();
    }
}

/// The real server's line and its checker's line in `vigild status`.
fn real(st: &str, addr: &str) -> (String, String) {
    let mut lines = st.lines();
    let head = format!("Real server {addr}:8080:");
    while let Some(l) = lines.next() {
        if l.contains(&head) {
            return (l.to_string(), lines.next().unwrap_or("").to_string());
        }
    }
    (String::new(), String::new())
}

/// The `runs N` count of a checker line.
fn runs(checker_line: &str) -> u64 {
    checker_line
        .split("runs ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn conf(d: &str, reals: &[std::net::Ipv4Addr]) -> String {
    let mut s = String::from(
        "global_defs {
    script_user root
}
virtual_server 192.0.2.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
",
    );
    for a in reals {
        s.push_str(&format!(
            "    real_server {a} 8080 {{
        notify_down \"/bin/sh -c 'echo {a} >> {d}/down.log'\"
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
"
        ));
    }
    s.push_str("}\n");
    s
}

#[test]
fn sighup_adds_and_removes_real_servers_and_keeps_the_unchanged_checker() {
    if !netns::require_root() {
        return;
    }
    let mut lab = Lab::new("ckreload", 4);
    let dir = lab.write("index.html", "ok\n");
    let dir = dir.parent().expect("lab dir").to_path_buf();
    let d = dir.display().to_string();
    let (h2, h3, h4) = (netns::host_v4(2), netns::host_v4(3), netns::host_v4(4));
    let _webs: Vec<Web> = [2, 3, 4]
        .iter()
        .map(|&h| Web::start(&lab, h, &dir))
        .collect();
    let listening = |lab: &Lab, a: std::net::Ipv4Addr| {
        let code = format!("import socket; socket.create_connection(('{a}', 8080), 1)");
        lab.exec(1, &["python3", "-c", &code]).status.success()
    };
    for a in [h2, h3, h4] {
        assert!(
            netns::wait_until(Duration::from_secs(10), || listening(&lab, a)),
            "http.server on {a} not listening"
        );
    }
    let node = lab.start(Kind::Vigil, 1, &conf(&d, &[h2, h3]));
    let up_in_table = |st: &str, a: std::net::Ipv4Addr| {
        let (rs, ck) = real(st, &a.to_string());
        rs.contains(": UP weight 1 table weight 1") && ck.ends_with("last succeeded")
    };
    assert!(
        netns::wait_until(Duration::from_secs(15), || {
            let st = lab.vigild_status(node);
            up_in_table(&st, h2) && up_in_table(&st, h3)
        }),
        "real servers 2 and 3 not up:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    let before = lab.vigild_status(node);
    let runs_before = runs(&real(&before, &h3.to_string()).1);
    // What notify_down wrote before the reload (nothing, unless a check failed at start).
    let downs_before = std::fs::read_to_string(dir.join("down.log")).unwrap_or_default();
    assert!(runs_before >= 1, "{before}");

    // The reload: 2 removed, 3 unchanged, 4 added.
    let n = lab.node(node);
    std::fs::write(&n.conf, conf(&d, &[h3, h4])).expect("write the new configuration");
    let mark = n.log_text().len();
    netns::signal(n.pid, libc::SIGHUP);
    assert!(
        netns::wait_until(Duration::from_secs(15), || {
            let st = lab.vigild_status(node);
            up_in_table(&st, h3) && up_in_table(&st, h4) && real(&st, &h2.to_string()).0.is_empty()
        }),
        "after the reload: 3 and 4 not up, or 2 still there:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    let after = lab.vigild_status(node);
    let log = lab.node_ref(node).log_text()[mark..].to_string();
    // The unchanged checker went on counting (a restarted one would count from 0 again).
    let runs_after = runs(&real(&after, &h3.to_string()).1);
    assert!(
        runs_after >= runs_before,
        "checker of {h3} restarted: runs {runs_before} -> {runs_after}\n{after}"
    );
    assert!(
        log.contains(&format!(
            "removing real server {h2}:8080 of VS 192.0.2.100:80 (removed from the configuration)"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "adding real server {h4}:8080 of VS 192.0.2.100:80 with weight 1 (reload)"
        )),
        "{log}"
    );
    assert!(
        !log.contains(&format!("real server {h3}:8080 of VS 192.0.2.100:80 with")),
        "the unchanged real server was touched:\n{log}"
    );
    // notify_down of the removed (live) real server ran, once; nothing else went down.
    assert!(
        netns::wait_until(Duration::from_secs(5), || std::fs::read_to_string(
            dir.join("down.log")
        )
        .is_ok_and(|t| t.len() > downs_before.len())),
        "notify_down of {h2} did not run\n{log}"
    );
    let downs = std::fs::read_to_string(dir.join("down.log")).unwrap_or_default();
    assert_eq!(
        downs.get(downs_before.len()..).unwrap_or(""),
        format!("{h2}\n"),
        "{log}"
    );

    // `vigild status --json` carries the same table: virtual_servers -> real_servers.
    let out = Command::new(Lab::vigild_path())
        .arg("-p")
        .arg(&lab.node_ref(node).pid_file)
        .args(["status", "--json"])
        .output()
        .expect("vigild status --json");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: serde_json::Value = serde_json::from_str(&text).expect("status --json is JSON");
    assert!(v["instances"].is_array(), "{text}");
    let vss = v["virtual_servers"].as_array().expect("virtual_servers");
    assert_eq!(vss.len(), 1, "{text}");
    assert_eq!(vss[0]["name"], "[192.0.2.100]:tcp:80", "{text}");
    assert_eq!(vss[0]["quorum_up"], true, "{text}");
    let reals = vss[0]["real_servers"].as_array().expect("real_servers");
    let addrs: Vec<&str> = reals.iter().filter_map(|r| r["address"].as_str()).collect();
    assert_eq!(addrs, [h3.to_string(), h4.to_string()], "{text}");
    for r in reals {
        assert_eq!(r["state"], "UP", "{text}");
        assert_eq!(r["weight"], 1, "{text}");
        assert_eq!(r["table_weight"], 1, "{text}");
        let c = &r["checkers"][0];
        assert_eq!(c["type"], "TCP_CHECK", "{text}");
        assert_eq!(c["state"], "UP", "{text}");
        assert!(c["runs"].as_u64().is_some_and(|n| n >= 1), "{text}");
        assert_eq!(c["failures"], 0, "{text}");
        assert_eq!(c["last_result"], "succeeded", "{text}");
    }
}
