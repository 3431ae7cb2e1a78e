//! Issue 15: a route's `dev` or nexthop `dev`, or a rule's `iif` / `oif`, naming an interface
//! that does not exist, at daemon start, with keepalived 2.2.7 as the judge.
//!
//! keepalived resolves those interfaces while it reads the file (vrrp_iproute.c `alloc_route`,
//! vrrp_iprule.c `alloc_rule`: "WARNING - interface ... for VROUTE nexthop doesn't exist",
//! "... for rule doesn't exist") and then stops its VRRP process before it runs anything
//! (vrrp_daemon.c `start_vrrp`: "Non-existent interface specified in configuration"); its
//! parent then stops too ("exited with permanent error CONFIG. Terminating") with
//! `KEEPALIVED_EXIT_CONFIG` (2). vigild does the same: it logs each missing interface at its
//! file:line:col and stops before it starts, with the exit code it gives every configuration it
//! refuses (5, as `vigild -t`; not keepalived's daemon code 2: see `daemon::EXIT_CONFIG`).
//!
//! For each case, in one network namespace of a [`Lab`], keepalived (`-n -l -D -P`) and vigild
//! (`-n -l`) are started in turn on the same file; both must stop by themselves, keepalived with 2
//! and its message, vigild with 5 and the location of the line. A control file (the same lines
//! naming eth0) must keep both running. Needs root and keepalived: without them the test says
//! NOT RUN.

use std::time::Duration;

use vigil_tests::netns::{require_keepalived, require_root, wait_until, Kind, Lab};

/// The head of every case: one VRRP instance on eth0.
const HEAD: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                    priority 100\n virtual_ipaddress {\n  192.0.2.100/24\n }\n";

/// (what, the instance's extra lines, the file's extra lines after the instance, the line
/// vigild reports: `LINE:COL`).
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "a virtual route's nexthop dev",
        " virtual_routes {\n  203.0.113.0/24 nexthop via 192.0.2.201 dev nosuch0\n }\n",
        "",
        ":9:3: error: interface nosuch0 for a nexthop of route 203.0.113.0 does not exist",
    ),
    (
        "a virtual route's dev",
        " virtual_routes {\n  203.0.113.0/24 dev nosuch0\n }\n",
        "",
        ":9:3: error: interface nosuch0 for route 203.0.113.0 does not exist",
    ),
    (
        "a static rule's iif",
        "",
        "static_rules {\n from 198.51.100.0/24 table 100 priority 100 iif nosuch1\n}\n",
        ":10:50: error: interface nosuch1 for rule (iif) does not exist",
    ),
    (
        "a virtual rule's oif",
        " virtual_rules {\n  from 198.51.100.0/24 table 100 priority 100 oif nosuch2\n }\n",
        "",
        ":9:51: error: interface nosuch2 for rule (oif) does not exist",
    ),
];

fn conf(instance_extra: &str, after: &str) -> String {
    format!("{HEAD}{instance_extra}}}\n{after}")
}

/// Start `kind` on `text`; `Some(exit code)` when it stops by itself within 20 s, with its log.
fn run(lab: &mut Lab, kind: Kind, text: &str) -> (Option<i32>, String, String) {
    let idx = lab.start(kind, 1, text);
    let stopped = wait_until(Duration::from_secs(20), || !lab.node(idx).running());
    let node = lab.node(idx);
    let conf = node.conf.to_string_lossy().into_owned();
    if stopped {
        let code = node.terminate().and_then(|s| s.code());
        return (Some(code.unwrap_or(-1)), node.log_text(), conf);
    }
    (None, node.log_text(), conf)
}

#[test]
fn a_missing_route_or_rule_interface_stops_both_daemons_at_start() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    let mut lab = Lab::new("nxif", 1);
    for (what, extra, after, vigil_says) in CASES {
        let text = conf(extra, after);
        let (ka, ka_log, _) = run(&mut lab, Kind::Keepalived, &text);
        println!("{what}: keepalived stopped with {ka:?}");
        assert_eq!(ka, Some(2), "{what}: keepalived\n{ka_log}");
        assert!(
            ka_log.contains("Non-existent interface specified in configuration"),
            "{what}: keepalived's log\n{ka_log}"
        );
        let (vg, vg_log, path) = run(&mut lab, Kind::Vigil, &text);
        println!("{what}: vigild stopped with {vg:?}");
        assert_eq!(vg, Some(5), "{what}: vigild refuses it\n{vg_log}");
        assert!(
            vg_log.contains(&format!("{path}{vigil_says}"))
                && vg_log.contains("non-existent interface specified in configuration"),
            "{what}: vigild's log\n{vg_log}"
        );
    }
    // The control: the same lines on eth0 (and an existing table), both keep running.
    let text = conf(
        " virtual_routes {\n  203.0.113.0/24 dev eth0\n }\n\
         virtual_rules {\n  from 198.51.100.0/24 table 100 priority 100 oif eth0\n }\n",
        "static_rules {\n from 198.51.100.0/24 table 100 priority 101 iif eth0\n}\n",
    );
    for kind in [Kind::Keepalived, Kind::Vigil] {
        let idx = lab.start(kind, 1, &text);
        // Running once its instance has started (BACKUP or MASTER logged).
        let started = wait_until(Duration::from_secs(20), || {
            let t = lab.node_ref(idx).log_text();
            t.contains("Entering BACKUP STATE")
                || t.contains("Entering MASTER STATE")
                || t.contains("-> BACKUP")
                || t.contains("-> MASTER")
        });
        let running = lab.node(idx).running();
        let log = lab.node_ref(idx).log_text();
        assert!(started && running, "control, {kind:?}:\n{log}");
        println!("control: {kind:?} runs");
        lab.node(idx).terminate();
    }
}
