//! vigild's health checkers against real servers in network namespaces (issue 16).
//!
//! Host 1 is the director (vigild with one virtual server, no VRRP instance: the checkers run
//! alone, as keepalived's do without VRRP). Hosts 2 and 3 run `python3 -m http.server`; host 4
//! answers a MISC_CHECK script that hangs while a flag file exists. The real-server table is read
//! with `vigild status` (the load-balancer data plane is issue 17).
//!
//! The schedule is judged exactly, the lateness loosely. vigild runs with `-D`, and its runner
//! logs each run the engine asks for (`check run`: the run's number, which retry it is, when the
//! engine's schedule wanted it and when it was served, its deadline, all in the engine's
//! nanoseconds) and how each ended (`check result` / `check abandoned`, at the engine's instant).
//! From these lines alone (`judge_schedule`, tests/src/check_runs.rs), every run of the HTTP_GET and MISC_CHECK
//! checkers must be scheduled exactly where engine/src/checker/schedule.rs says: the previous
//! run's scheduled start + `delay_loop` (+ `delay_before_retry` for a retry), or the moment the
//! previous run ended if that is later; its deadline exactly its start + timeout; and it may be
//! served late (a busy loop on a loaded machine) by at most `LATE_MAX_NS`, never early.
//! What is asserted besides:
//! * HTTP_GET with `retry 2`, `delay_before_retry 1`: after the server stops, the first failed
//!   run (retry 0) is followed by exactly retries 1 and 2, the real server goes DOWN at the
//!   result of retry 2 (after `retry` + 1 = 3 failed runs, not one earlier or later), and the run
//!   after it is back on `delay_loop` (retry 0: a down checker is not retried); the first
//!   failure comes within one delay_loop of the stop (wall clock, + 1.5 s margin);
//! * restarted, it is up again within one delay_loop (+ margin) of listening;
//! * a MISC_CHECK that sleeps past `misc_timeout` is abandoned at the timeout (down at once
//!   with `retry 0`), its whole process group is gone, and the next run is still on the
//!   delay_loop grid (judged exactly as above: `delay_loop` after the abandoned run's scheduled
//!   start, not after its timeout);
//! * quorum 2 of 3: with two real servers down the quorum is lost: the sorry server is in use
//!   and `quorum_down` runs once; with them back `quorum_up` runs once (plus once at start).

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vigil_tests::check_runs::{judge_schedule, runs_of, Run, LATE_MAX_NS};
use vigil_tests::netns::{self, Kind, Lab};

/// A process started in a namespace, killed (by pid) and reaped on drop.
struct Server(Option<Child>);

impl Server {
    fn http(lab: &Lab, host: usize, dir: &Path) -> Server {
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
        Server(Some(child))
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            netns::signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Seconds since midnight (UTC) of a log line's RFC 3339 timestamp.
fn stamp(line: &str) -> Option<f64> {
    let t = line.split_whitespace().next()?;
    let time = t.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Timestamps of the log lines containing every one of `needles`.
fn times(log: &str, needles: &[&str]) -> Vec<f64> {
    log.lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .filter_map(stamp)
        .collect()
}

fn now_of_day() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs_f64()) % 86_400.0
}

fn real_line(st: &str, addr: &str) -> String {
    st.lines()
        .find(|l| l.contains(&format!("Real server {addr}:8080")))
        .unwrap_or("")
        .to_string()
}

#[test]
// Long: one end-to-end scenario in steps, each starting from the state the previous left (the namespace lab is costly to build).
fn checkers_follow_real_servers_in_namespaces() {
    if !netns::require_root() {
        return;
    }
    assert!(
        Command::new("python3").arg("-V").output().is_ok(),
        "python3 is missing: the test command installs it"
    );
    let mut lab = Lab::new("checkers", 4);
    let dir = lab.write("index.html", "ok\n");
    let dir = dir.parent().expect("lab dir").to_path_buf();
    let d = dir.display();
    let misc = lab.write(
        "misc.sh",
        &format!("#!/bin/sh\nif [ -e {d}/hang ]; then sleep 30; fi\nexit 0\n"),
    );
    Command::new("chmod")
        .arg("755")
        .arg(&misc)
        .status()
        .expect("chmod");
    let (h2, h3, h4) = (netns::host_v4(2), netns::host_v4(3), netns::host_v4(4));
    let conf = format!(
        "global_defs {{
    script_user root
    lvs_notify_fifo {d}/lvs.fifo
}}
virtual_server 192.0.2.100 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 192.0.2.99 8080
    quorum_up \"/bin/sh -c 'echo up >> {d}/quorum.log'\"
    quorum_down \"/bin/sh -c 'echo down >> {d}/quorum.log'\"
    real_server {h2} 8080 {{
        HTTP_GET {{
            url {{
                path /index.html
                status_code 200
            }}
            retry 2
            delay_before_retry 1
            connect_timeout 1
            log_all_failures
        }}
    }}
    real_server {h3} 8080 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server {h4} 8080 {{
        MISC_CHECK {{
            misc_path {misc}
            misc_timeout 1
            log_all_failures
        }}
    }}
}}
",
        misc = misc.display()
    );
    let mut web2 = Server::http(&lab, 2, &dir);
    let _web3 = Server::http(&lab, 3, &dir);
    let listening = |lab: &Lab, a: std::net::Ipv4Addr| {
        let code = format!("import socket; socket.create_connection(('{a}', 8080), 1)");
        lab.exec(1, &["python3", "-c", &code]).status.success()
    };
    for a in [h2, h3] {
        assert!(
            netns::wait_until(Duration::from_secs(10), || listening(&lab, a)),
            "http.server on {a} not listening"
        );
    }
    // `-D`: the runner's `check run` / `check result` lines, which the schedule is judged from.
    lab.log_detail = true;
    let node = lab.start(Kind::Vigil, 1, &conf);
    let http_name = format!("HTTP_GET of {h2}:8080 (VS 192.0.2.100:80)");
    let misc_name = format!("MISC_CHECK of {h4}:8080 (VS 192.0.2.100:80)");
    const SEC: u64 = 1_000_000_000;
    // Every real server up, and every checker has run and passed (a checker that has not run
    // yet counts as up, and keepalived's start rule takes it down at its first failure).
    let all_up = |lab: &Lab| {
        let st = lab.vigild_status(node);
        let passed = st
            .lines()
            .filter(|l| {
                l.contains(" up: runs ")
                    && (l.ends_with("last succeeded") || l.ends_with("last exited with status 0"))
            })
            .count();
        passed == 3
            && [h2, h3, h4]
                .iter()
                .all(|a| real_line(&st, &a.to_string()).contains(": UP"))
    };
    assert!(
        netns::wait_until(Duration::from_secs(10), || all_up(&lab)),
        "real servers not all up:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );

    // 1. The HTTP server stops: down exactly retry x delay_before_retry after the first failure.
    let stopped_at = now_of_day();
    let mark = lab.node_ref(node).log_text().len();
    web2.stop();
    let down_msg = format!("real server {h2}:8080 of VS 192.0.2.100:80: DOWN");
    assert!(
        netns::wait_until(Duration::from_secs(15), || lab.node_ref(node).log_text()
            [mark..]
            .contains(&down_msg)),
        "HTTP real server never went down:\n{}",
        lab.logs()
    );
    let log = lab.node_ref(node).log_text()[mark..].to_string();
    let down = times(&log, &[&down_msg]);
    assert_eq!(down.len(), 1, "{log}");
    let fails: Vec<f64> = times(&log, &[&format!("HTTP_GET of {h2}:8080"), "check failed"])
        .into_iter()
        .filter(|&f| f <= down[0])
        .collect();
    assert_eq!(
        fails.len(),
        3,
        "one failed run and two failed retries:\n{log}"
    );
    let first = fails[0];
    assert!(
        first - stopped_at < 2.0 + 1.5,
        "first failure {first} not within one delay_loop of the stop {stopped_at}"
    );
    // The engine's schedule, exactly: the failed run (retry 0), retries 1 and 2 each scheduled
    // delay_before_retry after the one before (or when it ended, if later), DOWN at the result
    // of retry 2 and not before, then the next run delay_loop later (retry 0).
    let whole = lab.node_ref(node).log_text();
    // The line the mark fell in (it may have fallen inside one) and every line after it.
    let mark_line = whole.as_bytes()[..mark]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let down_line = whole
        .lines()
        .enumerate()
        .skip(mark_line)
        .find(|(_, l)| l.contains(&down_msg))
        .map(|(i, _)| i)
        .expect("the DOWN line");
    let after_down = |lab: &Lab| {
        runs_of(&lab.node_ref(node).log_text(), &http_name)
            .iter()
            .any(|r| r.line > down_line)
    };
    assert!(
        netns::wait_until(Duration::from_secs(10), || after_down(&lab)),
        "no HTTP_GET run after DOWN:\n{}",
        lab.logs()
    );
    let log = lab.node_ref(node).log_text();
    let http = runs_of(&log, &http_name);
    judge_schedule(&http, 2 * SEC, SEC, SEC).unwrap_or_else(|e| panic!("HTTP_GET: {e}\n{log}"));
    let f0 = http
        .iter()
        .position(|r| r.line >= mark_line && r.end.is_some_and(|(_, failed, _)| failed))
        .expect("a failed HTTP_GET run");
    let seq: Vec<(u32, bool)> = http[f0..]
        .iter()
        .take(4)
        .map(|r| (r.retry, r.end.is_some_and(|(_, failed, _)| failed)))
        .collect();
    assert_eq!(
        seq[..3],
        [(0, true), (1, true), (2, true)],
        "the failed run, then retries 1 and 2 (retry 2), all failed: {:?}",
        &http[f0..]
    );
    assert_eq!(
        seq.get(3).map(|x| x.0),
        Some(0),
        "after DOWN, back on delay_loop: {:?}",
        &http[f0..]
    );
    let r2_end = http[f0 + 2].end.map_or(usize::MAX, |e| e.2);
    assert!(
        r2_end < down_line && down_line < http[f0 + 3].line,
        "DOWN (line {down_line}) must follow the result of retry 2 (line {r2_end}) and precede \
         the next run (line {}): after exactly retry + 1 = 3 failed runs\n{log}",
        http[f0 + 3].line
    );
    let gap_s = (http[f0 + 2].scheduled - http[f0].scheduled) as f64 / 1e9;
    let late_ms = http
        .iter()
        .map(|r| r.started - r.scheduled)
        .max()
        .unwrap_or(0) as f64
        / 1e6;
    let st = lab.vigild_status(node);
    assert!(
        real_line(&st, &h2.to_string()).contains("DOWN weight 1 table absent"),
        "{st}"
    );
    assert!(st.contains("quorum up"), "{st}");

    // 2. The MISC_CHECK script hangs: abandoned at misc_timeout, process group gone, next run on
    //    the delay_loop grid; with two servers down the quorum (2) is lost.
    fs::write(dir.join("hang"), "").expect("flag");
    let misc_down = format!("MISC_CHECK of {h4}:8080 (VS 192.0.2.100:80): DOWN");
    assert!(
        netns::wait_until(Duration::from_secs(10), || lab
            .node_ref(node)
            .log_text()
            .contains(&misc_down)),
        "MISC_CHECK never timed out:\n{}",
        lab.logs()
    );
    assert!(
        netns::wait_until(Duration::from_secs(15), || times(
            &lab.node_ref(node).log_text(),
            &[&format!("MISC_CHECK of {h4}:8080"), "timed out, abandoned"]
        )
        .len()
            >= 3),
        "third timeout never came:\n{}",
        lab.logs()
    );
    let log = lab.node_ref(node).log_text();
    // On the 2 s grid, each run after an abandoned one is scheduled delay_loop after the
    // abandoned one's scheduled start (4 s over three), not after its timeout (6 s): judged
    // exactly, from the engine's own numbers, whatever the load.
    let misc_runs = runs_of(&log, &misc_name);
    judge_schedule(&misc_runs, 2 * SEC, SEC, SEC)
        .unwrap_or_else(|e| panic!("MISC_CHECK: {e}\n{log}"));
    assert!(
        misc_runs.iter().all(|r| r.retry == 0),
        "retry 0: no retries {misc_runs:?}"
    );
    let aband: Vec<&Run> = misc_runs.iter().filter(|r| r.abandoned).collect();
    assert!(aband.len() >= 3, "three abandoned runs: {misc_runs:?}");
    for r in &aband {
        let at = r.end.map_or(0, |e| e.0);
        assert!(
            at >= r.deadline && at - r.deadline <= LATE_MAX_NS,
            "abandoned at {at} ns, its deadline {} ns: {r:?}",
            r.deadline
        );
    }
    let span = (aband[2].scheduled - aband[0].scheduled) as f64 / 1e9;
    // The script's process group is gone (its `sleep 30` child too).
    let ps = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .expect("ps");
    let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
    let left: Vec<&str> = ps
        .lines()
        .filter(|l| l.contains(&misc.display().to_string()) || l.contains("sleep 30"))
        .collect();
    // At most the run in progress now (one script and its sleep), never an earlier one.
    assert!(
        left.len() <= 2,
        "processes of abandoned runs left: {left:?}"
    );
    assert!(log.contains("lost quorum"), "{log}");
    let st = lab.vigild_status(node);
    assert!(st.contains("192.0.2.99:8080 IN USE"), "{st}");
    assert!(
        real_line(&st, &h3.to_string()).contains("UP weight 1 table absent"),
        "the alive server leaves the table while the sorry server is in use:\n{st}"
    );

    // 3. Both come back: up within one delay_loop, quorum regained, sorry server out.
    fs::remove_file(dir.join("hang")).expect("flag");
    let _web2b = Server::http(&lab, 2, &dir);
    // Timed from when it listens: Python's own start-up, a second or more on a loaded machine,
    // is not the checker's (a clean-clone run failed at 3.68 s from the spawn, 2026-12-05).
    assert!(
        netns::wait_until(Duration::from_secs(10), || listening(&lab, h2)),
        "http.server on {h2} not listening again"
    );
    let back_at = now_of_day();
    assert!(
        netns::wait_until(Duration::from_secs(10), || all_up(&lab)),
        "not all up again:\n{}\n{}",
        lab.vigild_status(node),
        lab.logs()
    );
    let log = lab.node_ref(node).log_text()[mark..].to_string();
    let up = times(
        &log,
        &[&format!("real server {h2}:8080 of VS 192.0.2.100:80: UP")],
    );
    assert!(
        up.last().is_some_and(|u| u - back_at < 2.0 + 1.5),
        "HTTP real server up {:?} s after the restart at {back_at}",
        up
    );
    assert!(
        netns::wait_until(Duration::from_secs(5), || lab
            .vigild_status(node)
            .contains("quorum up")),
        "{}",
        lab.vigild_status(node)
    );
    let st = lab.vigild_status(node);
    assert!(st.contains("192.0.2.99:8080 standby"), "{st}");
    for a in [h2, h3, h4] {
        assert!(
            real_line(&st, &a.to_string()).contains("UP weight 1 table weight 1"),
            "{st}"
        );
    }
    // Every run of the whole scenario (the restart too) on the engine's schedule.
    let log = lab.node_ref(node).log_text();
    judge_schedule(&runs_of(&log, &http_name), 2 * SEC, SEC, SEC)
        .unwrap_or_else(|e| panic!("HTTP_GET: {e}\n{log}"));
    judge_schedule(&runs_of(&log, &misc_name), 2 * SEC, SEC, SEC)
        .unwrap_or_else(|e| panic!("MISC_CHECK: {e}\n{log}"));
    // lvs_notify_fifo: keepalived's lines, in order (vigild holds the FIFO open, so they wait
    // in it for a reader).
    let fifo_lines = {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(dir.join("lvs.fifo"))
            .expect("lvs.fifo exists while vigild runs");
        let mut buf = vec![0u8; 65536];
        let n = f.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let vs_lines: Vec<&str> = fifo_lines
        .lines()
        .filter(|l| l.starts_with("VS "))
        .collect();
    assert_eq!(
        vs_lines,
        [
            "VS [192.0.2.100]:tcp:80 UP",
            "VS [192.0.2.100]:tcp:80 DOWN",
            "VS [192.0.2.100]:tcp:80 UP"
        ],
        "{fifo_lines}"
    );
    assert!(
        fifo_lines.contains(&format!("RS [{h2}]:tcp:8080 [192.0.2.100]:tcp:80 DOWN\n")),
        "{fifo_lines}"
    );
    assert!(
        fifo_lines.contains(&format!("RS [{h4}]:tcp:8080 [192.0.2.100]:tcp:80 UP\n")),
        "{fifo_lines}"
    );
    lab.node(node).terminate();
    assert!(
        !dir.join("lvs.fifo").exists(),
        "the FIFO vigild created is removed at stop"
    );
    let q = fs::read_to_string(dir.join("quorum.log")).unwrap_or_default();
    assert_eq!(
        q.lines().collect::<Vec<_>>(),
        ["up", "down", "up"],
        "quorum scripts: once at start, once lost, once regained\n{}",
        lab.logs()
    );
    eprintln!(
        "checkers: HTTP retry 2 scheduled {gap_s:.3} s after the failed run (expected 2), three MISC \
         timeouts scheduled over {span:.3} s (expected 4), runs served at most {late_ms:.1} ms late; \
         every run on the engine's schedule exactly"
    );
}

/// HTTP_GET's body `regex` against a real web server: the page says "db: CONNECTED". Three
/// virtual servers check the same real server: one wants `db: connected` (caseless: up), one
/// wants `db: (up|ready)` (down), one refuses `ERROR` with `regex_no_match` (up). The page is
/// then rewritten to an error page: the first and the third go down, and each reason is logged.
#[test]
fn http_body_regex_follows_the_page() {
    if !netns::require_root() {
        return;
    }
    assert!(
        Command::new("python3").arg("-V").output().is_ok(),
        "python3 is missing: the test command installs it"
    );
    let mut lab = Lab::new("checkers-re", 2);
    let page = lab.write("index.html", "<html>\ndb: CONNECTED\n</html>\n");
    let dir = page.parent().expect("lab dir").to_path_buf();
    let h2 = netns::host_v4(2);
    let vs = |vip: &str, url_body: &str| {
        format!(
            "virtual_server {vip} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {h2} 8080 {{
        HTTP_GET {{
            url {{
                path /index.html
{url_body}
            }}
            retry 0
            connect_timeout 1
        }}
    }}
}}
"
        )
    };
    let conf = [
        vs(
            "192.0.2.101",
            "                regex \"db: connected\"\n                regex_options caseless",
        ),
        vs("192.0.2.102", "                regex \"db: (up|ready)\""),
        vs(
            "192.0.2.103",
            "                regex ERROR\n                regex_no_match",
        ),
    ]
    .concat();
    let _web = Server::http(&lab, 2, &dir);
    let code = format!("import socket; socket.create_connection(('{h2}', 8080), 1)");
    assert!(
        netns::wait_until(Duration::from_secs(10), || lab
            .exec(1, &["python3", "-c", &code])
            .status
            .success()),
        "http.server on {h2} not listening"
    );
    let node = lab.start(Kind::Vigil, 1, &conf);
    // The status lists each virtual server, then its real servers.
    let states = |lab: &Lab| -> Vec<String> {
        let st = lab.vigild_status(node);
        ["192.0.2.101", "192.0.2.102", "192.0.2.103"]
            .iter()
            .map(|vip| {
                let after = st.split(&format!("{vip}:80")).nth(1).unwrap_or("");
                let rs = real_line(after, &h2.to_string());
                if rs.contains(": UP") {
                    "UP".to_string()
                } else if rs.contains(": DOWN") {
                    "DOWN".to_string()
                } else {
                    format!("? {rs}")
                }
            })
            .collect()
    };
    let want =
        |lab: &Lab, w: [&str; 3]| netns::wait_until(Duration::from_secs(10), || states(lab) == w);
    assert!(
        want(&lab, ["UP", "DOWN", "UP"]),
        "{:?}\n{}\n{}",
        states(&lab),
        lab.vigild_status(node),
        lab.logs()
    );
    let log = lab.node_ref(node).log_text();
    assert!(
        log.contains("does not match regex 'db: (up|ready)'"),
        "the reason is logged:\n{log}"
    );
    fs::write(&page, "<html>\nERROR: db unreachable\n</html>\n").expect("page");
    assert!(
        want(&lab, ["DOWN", "DOWN", "DOWN"]),
        "{:?}\n{}\n{}",
        states(&lab),
        lab.vigild_status(node),
        lab.logs()
    );
    let log = lab.node_ref(node).log_text();
    assert!(log.contains("matches regex 'ERROR'"), "{log}");
    eprintln!("checkers: HTTP body regex: up/down/up, then down x3 after the page changed");
}
