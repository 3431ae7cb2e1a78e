//! A virtual rule deleted by someone else just after its link went down, both read by vigild in
//! one netlink read: the instance goes to FAULT alone, not MASTER -> BACKUP -> FAULT (the rule
//! arm of io-linux's netlink handler tells the engine the link changes read before the deletion
//! first, `report_interfaces`, as the route arm does; route_link_order_netns covers that arm).
//!
//! The kernel keeps rules when their link goes down or goes (a rule naming a deleted `oif` is
//! detached, no RTM_DELRULE), so unlike a route's the deletion has to come from someone: here
//! one `ip -batch` sets eth1 down then deletes the rule, while vigild is stopped (SIGSTOP, then
//! SIGCONT: a vCPU stall of the kind the loaded VM gives), so that the RTM_NEWLINK and the
//! RTM_DELRULE wait in its event socket and come in one read. Without the stop vigild usually
//! read the link first, went to FAULT and removed the rule itself before `ip` could (8 cuts of
//! 10), which tests nothing. The test fails when any cut tells more than FAULT. vigild before
//! the fix (the rule arm without its `report_interfaces()` call, reverted by hand 2026-12-05)
//! went BACKUP then FAULT at every cut (10 of 10).
//!
//! vigild only: keepalived 2.2.7 reads events one by one (FAULT at the link), but its
//! `netlink_rule_filter` calls `set_vrrp_backup` on a deletion of its rule without the MASTER
//! check of `netlink_route_filter` (keepalived_netlink.c). Run once the same way (its VRRP
//! process stopped around the same batch, 2026-12-05): FAULT, BACKUP, then MASTER with eth1,
//! which it follows, still down; and nothing of the kind when it removes the rule itself
//! (leaving MASTER) before `ip` does. Not a sequence to compare with. vigild ignores a
//! deletion when not MASTER (vigil_engine's engine/deleted.rs), as keepalived's route filter
//! does.
//!
//! Host 1 (eth0, eth1): VI_1 on eth0 with 192.0.2.100 and the virtual rule
//! `from 192.0.2.100 oif eth1 table 100 priority 100` (its `oif` is followed, keepalived's
//! TRACK_RULE), a notify FIFO recording the states in order. Once MASTER with the rule
//! installed, the cut; the states told from it until eth1 is up again must be FAULT alone.
//! No assertion is on a time: each state is waited for (bounded). Needs root: without it the
//! test says NOT RUN.

use std::time::Duration;

use vigil_tests::netns::{self, require_root, wait_until, Kind, Lab};

/// The cuts.
const ROUNDS: usize = 5;

/// The virtual rule, as `ip rule` takes it.
const RULE: &str = "from 192.0.2.100 oif eth1 table 100 priority 100";

fn conf(fifo: &str) -> String {
    format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n{fifo}}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    \
         192.0.2.100/24\n  }}\n  virtual_rules {{\n    {RULE}\n  }}\n}}\n"
    )
}

/// Whether host 1 holds the virtual rule.
fn rule_installed(lab: &Lab) -> bool {
    let out = lab.exec(1, &["ip", "-4", "rule", "show", "priority", "100"]);
    String::from_utf8_lossy(&out.stdout).contains("oif eth1")
}

#[test]
fn a_virtual_rule_deleted_with_its_link_down_gives_fault_alone() {
    if !require_root() {
        return;
    }
    let mut lab = Lab::with_links("rulelink", 1, 2);
    let (fifo, log) = lab.state_fifo();
    let n = lab.start(Kind::Vigil, 1, &conf(&fifo));
    let ns = lab.ns(1);
    let batch = lab.write(
        "cut.batch",
        &format!("link set eth1 down\nrule del {RULE}\n"),
    );
    let master = || log.states().last().is_some_and(|s| s == "MASTER");
    let mut seen = Vec::new();
    for round in 0..ROUNDS {
        assert!(
            wait_until(Duration::from_secs(20), || master() && rule_installed(&lab)),
            "round {round}: not MASTER with the rule installed: {:?}\n{}",
            log.states(),
            lab.logs()
        );
        let before = log.states().len();
        // Both changes made while vigild cannot read them: one read when it goes on.
        let pid = lab.node_ref(n).pid;
        netns::signal(pid, libc::SIGSTOP);
        let cut = netns::run(&["ip", "-n", &ns, "-batch", &batch.to_string_lossy()]);
        netns::signal(pid, libc::SIGCONT);
        assert!(
            cut.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&cut.stderr)
        );
        let fault = || log.states()[before..].iter().any(|s| s == "FAULT");
        wait_until(Duration::from_secs(10), fault);
        // A moment more (five advert intervals), for a state that should not follow while eth1
        // is down.
        std::thread::sleep(Duration::from_millis(500));
        let told = log.states()[before..].to_vec();
        println!("round {round}: states told: {told:?}");
        seen.push(told);
        netns::must(&["ip", "-n", &ns, "link", "set", "eth1", "up"]);
    }
    lab.node(n).terminate();
    let logs = lab.logs();
    // The arm was reached at every cut (the deletion was by someone else, and vigild read it).
    let heard = logs
        .lines()
        .filter(|l| l.contains(" rule ") && l.contains("deleted by someone else"))
        .count();
    println!("{ROUNDS} cuts; vigild heard {heard} rule deletions by someone else");
    assert_eq!(heard, ROUNDS, "{logs}");
    let bad: Vec<_> = seen
        .iter()
        .enumerate()
        .filter(|(_, told)| told.as_slice() != ["FAULT"])
        .collect();
    assert!(
        bad.is_empty(),
        "vigild must go to FAULT alone at every cut: {bad:?}\n{logs}"
    );
}
