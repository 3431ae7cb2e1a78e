//! Issue 15: keepalived 2.2.7 follows the link of every interface an instance puts something on
//! (vrrp.c `vrrp_complete_instance`: TRACK_ADDR for a virtual or excluded address's `dev`,
//! TRACK_ROUTE for a virtual route's `dev`, TRACK_RULE for a virtual rule's `iif` / `oif`),
//! unweighted, unless the item is `no_track`: when that link goes down the instance goes to
//! FAULT (what it holds there could not be put back), and back when it returns. A weighted
//! `track_interface` of the same interface becomes unweighted. `keepalived -d` shows it in the
//! interface's "Tracking VRRP instances" (compared by `dump_differential.rs`); this test shows it
//! live, beside keepalived.
//!
//! One host with eth0 and eth1, one instance (MASTER alone) on eth0 with `track_interface
//! { eth1 weight -10 }` and
//! - `tracked`: an address `dev eth1`: eth1's link going down puts both daemons in FAULT (their
//!   notify scripts say so) and its return brings them back to MASTER;
//! - `no_track`: the same address with `no_track`: eth1 down only lowers the priority (weight
//!   -10), no FAULT; the test waits for the priority change first (keepalived's log, `vigild
//!   status`).
//!
//! No assertion is on a time: each state is waited for. Needs root and keepalived: without them
//! the test says NOT RUN.

use std::path::Path;
use std::time::Duration;

use vigil_tests::netns::{require_keepalived, require_root, wait_until, Kind, Lab};

fn conf(notify: &Path, no_track: bool) -> String {
    format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_instance VI_A {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 64\n  \
         priority 200\n  advert_int 1\n  notify \"{}\"\n  track_interface {{\n    eth1 weight -10\n  }}\n  \
         virtual_ipaddress {{\n    192.0.2.100/24\n    198.51.100.100/24 dev eth1{}\n  }}\n}}\n",
        notify.display(),
        if no_track { " no_track" } else { "" }
    )
}

/// Run `kind`; take eth1's link away and back; the states seen after the cut.
fn run(kind: Kind, no_track: bool) -> Vec<String> {
    let mut lab = Lab::with_links("viptrack", 1, 2);
    let (script, log) = lab.state_recorder();
    let n = lab.start(kind, 1, &conf(&script, no_track));
    let master = || log.states().last().is_some_and(|s| s == "MASTER");
    assert!(
        wait_until(Duration::from_secs(15), master),
        "{kind:?} did not become MASTER: {:?}\n{}",
        log.states(),
        lab.logs()
    );
    let before = log.states().len();
    let log_before = lab.node_ref(n).log_text().len();
    lab.cut_link_on(1, 1);
    if no_track {
        // The weight applies (priority 200 -> 190): keepalived logs it, `vigild status` shows
        // it; then no FAULT may follow.
        let lowered = wait_until(Duration::from_secs(15), || match kind {
            Kind::Keepalived => {
                let t = lab.node_ref(n).log_text();
                t.get(log_before..)
                    .unwrap_or("")
                    .contains("Changing effective priority from 200 to 190")
            }
            Kind::Vigil => lab.vigild_status(n).contains("190"),
        });
        assert!(lowered, "{kind:?}: no priority change\n{}", lab.logs());
        // Two advert intervals more: a FAULT from the cut would have been reported by now.
        std::thread::sleep(Duration::from_secs(2));
    } else {
        let faulted = wait_until(Duration::from_secs(15), || {
            log.states()[before..].iter().any(|s| s == "FAULT")
        });
        assert!(
            faulted,
            "{kind:?}: no FAULT: {:?}\n{}",
            log.states(),
            lab.logs()
        );
        lab.restore_link_on(1, 1);
        let back = wait_until(Duration::from_secs(15), master);
        assert!(
            back,
            "{kind:?}: not MASTER again: {:?}\n{}",
            log.states(),
            lab.logs()
        );
    }
    let seen = log.states()[before..].to_vec();
    lab.node(n).terminate();
    println!("{kind:?} no_track={no_track}: {seen:?}");
    seen
}

#[test]
fn an_address_s_interface_is_followed_unweighted_like_keepalived() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    for no_track in [false, true] {
        let keepalived = run(Kind::Keepalived, no_track);
        let vigil = run(Kind::Vigil, no_track);
        assert_eq!(
            vigil, keepalived,
            "no_track={no_track}: vigild as keepalived"
        );
        assert_eq!(
            keepalived.iter().any(|s| s == "FAULT"),
            !no_track,
            "no_track={no_track}: {keepalived:?}"
        );
    }
}
