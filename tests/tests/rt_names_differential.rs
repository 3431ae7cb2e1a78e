//! iproute2's names in route and rule lines, with keepalived 2.2.7 as the judge: `table`,
//! `tos` / `dsfield`, `realms`, a route's `protocol` and `scope` are read through
//! `/etc/iproute2/rt_tables`, `rt_dsfield`, `rt_realms`, `rt_protos` and `rt_scopes` (plus
//! keepalived's built-in names), and a route's nexthop `dev` and a rule's `iif` / `oif` must
//! exist.
//!
//! Both programs run in a network namespace of a [`Lab`] and, inside it, in a mount namespace
//! of their own (`unshare -m`, private propagation) where a directory of this test's files is
//! bind-mounted over `/etc/iproute2`: the host's files are neither read nor touched. For each
//! case, `keepalived -t` and `vigild -t` must give the same exit code (0 or 5), and for the
//! accepted configuration the route and rule lines of `keepalived -d` and `vigild -d` must be
//! the same (keepalived prints table, tos, protocol, scope and realms as numbers).
//!
//! Needs root and keepalived: without them the test says NOT RUN.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use vigil_tests::netns::{not_run, require_root, wait_until, Lab};

/// The files of the test's `/etc/iproute2`. `101 isp2 # note` has four words: keepalived
/// 2.2.7 skips it. `rt_tables.d` is not read by keepalived 2.2.7. No `rt_scopes`: the built-in
/// scope names only.
const FILES: &[(&str, &str)] = &[
    (
        "rt_tables",
        "255\tlocal\n254\tmain\n253\tdefault\n100 isp1\n101 isp2 # note\n0x66 \"isp three\"\n",
    ),
    ("rt_tables.d/extra.conf", "7 dotd\n"),
    ("rt_dsfield", "0x28\tAF11\n"),
    ("rt_realms", "0 cosmos\n5 dmz\n"),
    ("rt_protos", "99 openr\n"),
];

/// The head of every case: one VRRP instance on eth0.
const HEAD: &str = "global_defs {\n router_id rtnames\n}\n\
                    vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                    virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n";

/// Accepted by both: every kind of name, from the files and built in.
const ACCEPTED: &str = "static_routes {\n \
     198.51.100.0/26 dev eth0 table isp1 tos AF11 realms dmz/cosmos protocol openr scope link no_track\n \
     198.51.100.64/26 dev eth0 table \"isp three\" protocol boot scope host no_track\n \
     198.51.100.128/26 dev eth0 table main protocol 0x63 scope 0 tos 0x10 realms 7 no_track\n \
     203.0.113.0/26 no_track nexthop via 192.0.2.201 dev eth0 nexthop via 192.0.2.202 dev eth0\n}\n\
     static_rules {\n \
     from 198.51.100.0/24 table isp1 priority 100 tos AF11 realms dmz iif eth0 oif lo no_track protocol 99\n}\n";

/// Refused by both (each a config error of keepalived's `-t`), one line each.
const REFUSED: &[(&str, &str)] = &[
    ("a commented-out table line", "static_routes {\n 198.51.100.0/26 dev eth0 table isp2\n}\n"),
    ("a table only in rt_tables.d", "static_routes {\n 198.51.100.0/26 dev eth0 table dotd\n}\n"),
    ("an unknown dsfield", "static_routes {\n 198.51.100.0/26 dev eth0 tos CS1\n}\n"),
    ("an unknown realm", "static_routes {\n 198.51.100.0/26 dev eth0 realms 5/mars\n}\n"),
    ("a protocol not in the file", "static_routes {\n 198.51.100.0/26 dev eth0 protocol keepalived no_track\n}\n"),
    ("a built-in protocol name keepalived lacks", "static_routes {\n 198.51.100.0/26 dev eth0 protocol unspec no_track\n}\n"),
    ("scope universe", "static_routes {\n 198.51.100.0/26 dev eth0 scope universe\n}\n"),
    ("a TOS over 255", "static_routes {\n 198.51.100.0/26 dev eth0 tos 0x100\n}\n"),
    ("a rule's protocol by name", "static_rules {\n from 198.51.100.0/24 table 100 priority 100 no_track protocol openr\n}\n"),
    ("a rule's unknown table", "static_rules {\n from 198.51.100.0/24 table dotd priority 100\n}\n"),
    ("a rule's unknown dsfield", "static_rules {\n from 198.51.100.0/24 table 100 priority 100 tos CS1\n}\n"),
    ("a missing nexthop dev", "static_routes {\n 203.0.113.0/26 no_track nexthop via 192.0.2.201 dev nosuch0 nexthop via 192.0.2.202 dev eth0\n}\n"),
    (
        "a tracked static route with no dev (only nexthop devs)",
        "static_routes {\n 203.0.113.0/26 nexthop via 192.0.2.201 dev eth0 nexthop via 192.0.2.202 dev eth0\n}\n",
    ),
    ("a missing rule iif", "static_rules {\n from 198.51.100.0/24 table 100 priority 100 iif nosuch1\n}\n"),
    ("a missing rule oif", "static_rules {\n from 198.51.100.0/24 table 100 priority 100 oif nosuch2\n}\n"),
];

/// A command in host 1's network namespace and a private mount namespace where `etc` is
/// bind-mounted over `/etc/iproute2` (the host's files are neither read nor touched); the
/// program and its arguments are appended by the caller.
fn names_command(lab: &Lab, etc: &Path) -> Command {
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        &lab.ns(1),
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$0\" /etc/iproute2 && exec \"$@\"",
    ])
    .arg(etc);
    c
}

/// Runs `argv` in host 1's network namespace, in a private mount namespace where `etc` is
/// `/etc/iproute2`; returns the exit code and what it printed.
fn in_names(lab: &Lab, etc: &Path, argv: &[&str]) -> (i32, String) {
    let out = names_command(lab, etc)
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .expect("ip netns exec unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// keepalived's `-d` dump of `conf` (VRRP only, stopped by its pid file once the dump is out):
/// its static route and rule lines.
fn keepalived_lines(lab: &Lab, etc: &Path, conf: &Path) -> Vec<String> {
    let log = lab.dir.join("ka.log");
    let pid_file = lab.dir.join("ka.pid");
    let vrrp_pid = lab.dir.join("ka.vrrp.pid");
    let logf = fs::File::create(&log).expect("log");
    let mut child = names_command(lab, etc)
        .args(["keepalived", "-n", "-l", "-D", "-d", "-P", "-f"])
        .arg(conf)
        .arg("-p")
        .arg(&pid_file)
        .arg("-r")
        .arg(&vrrp_pid)
        .stdin(Stdio::null())
        .stdout(logf.try_clone().expect("log"))
        .stderr(logf)
        .spawn()
        .expect("keepalived");
    let done = wait_until(Duration::from_secs(20), || {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("------< Interfaces >------")
            || child.try_wait().ok().flatten().is_some()
    });
    // The parent (the pid of `child`: sh exec'd keepalived) stops its VRRP child on SIGTERM.
    vigil_tests::netns::signal(child.id(), libc::SIGTERM);
    let stopped = wait_until(Duration::from_secs(10), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !stopped {
        for pid in [
            fs::read_to_string(&vrrp_pid).ok(),
            Some(child.id().to_string()),
        ]
        .into_iter()
        .flatten()
        .filter_map(|p| p.trim().parse::<u32>().ok())
        {
            vigil_tests::netns::signal(pid, libc::SIGKILL);
        }
        let _ = child.wait();
    }
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(done, "keepalived's dump did not complete:\n{text}");
    route_and_rule_lines(&text)
}

/// The lines of the static routes and rules sections, without keepalived's time prefix and
/// its run-time suffixes (`[installed ifindex N]`, `[dev X]`).
fn route_and_rule_lines(dump: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in dump.lines() {
        let l = match l.find(": ") {
            Some(k) if l.len() >= 26 && k == 24 => &l[26..],
            _ => l,
        };
        if l.starts_with("------<") {
            inside = l.contains("Static Routes") || l.contains("Static Rules");
            continue;
        }
        if inside && l.starts_with(' ') {
            let mut s = l.trim().to_string();
            if let Some(k) = s.find(" [installed ifindex").or_else(|| s.find(" [dev ")) {
                s.truncate(k);
            }
            out.push(s);
        }
    }
    out
}

#[test]
fn route_and_rule_names_and_interfaces_as_keepalived_reads_them() {
    if !require_root() {
        return;
    }
    if Command::new("keepalived").arg("-v").output().is_err() {
        not_run("keepalived is not installed");
        return;
    }
    let lab = Lab::new("rtnames", 1);
    let etc = lab.dir.join("iproute2");
    fs::create_dir_all(etc.join("rt_tables.d")).expect("mkdir");
    for (name, text) in FILES {
        fs::write(etc.join(name), text).expect("write");
    }
    let vigild = Lab::vigild_path();
    let vigild = vigild.to_str().expect("path");
    let mut report = Vec::new();
    let mut cases: Vec<(&str, String, i32)> = vec![("accepted", format!("{HEAD}{ACCEPTED}"), 0)];
    cases.extend(
        REFUSED
            .iter()
            .map(|(what, body)| (*what, format!("{HEAD}{body}"), 5)),
    );
    for (i, (what, text, want)) in cases.iter().enumerate() {
        let conf = lab.write(&format!("case{i}.conf"), text);
        let conf_s = conf.to_str().expect("path");
        let (k, k_out) = in_names(&lab, &etc, &["keepalived", "-t", "-f", conf_s]);
        let (v, v_out) = in_names(&lab, &etc, &[vigild, "-t", "-f", conf_s]);
        assert_eq!(
            (k, v),
            (*want, *want),
            "{what}: keepalived -t exit {k}, vigild -t exit {v} (expected {want})\nkeepalived:\n{k_out}\nvigild:\n{v_out}"
        );
        if *want == 5 {
            // Reported at its line and column.
            let at = format!("{conf_s}:");
            assert!(
                v_out.lines().any(|l| l.starts_with(&at)
                    && (l.contains(": error: ") || l.contains(": warning: "))),
                "{what}: no located diagnostic:\n{v_out}"
            );
        }
        let first = v_out
            .lines()
            .find(|l| l.contains(": error: ") || l.contains(": warning: "))
            .unwrap_or("(no diagnostic)");
        report.push(format!("{what}: both exit {k}: {first}"));
    }
    // The accepted file's routes and rules, keepalived's dump beside Vigil's.
    let conf = lab.dir.join("case0.conf");
    let k_lines = keepalived_lines(&lab, &etc, &conf);
    let (code, v_dump) = in_names(
        &lab,
        &etc,
        &[vigild, "-d", "-t", "-f", conf.to_str().expect("path")],
    );
    assert_eq!(code, 0, "{v_dump}");
    let v_lines = route_and_rule_lines(&v_dump);
    assert_eq!(
        k_lines.len(),
        5,
        "keepalived's routes and rules: {k_lines:#?}"
    );
    assert_eq!(
        k_lines, v_lines,
        "keepalived -d (left) and vigild -d (right)"
    );
    eprintln!("{}", report.join("\n"));
    eprintln!("dump lines compared:\n{}", k_lines.join("\n"));
}
