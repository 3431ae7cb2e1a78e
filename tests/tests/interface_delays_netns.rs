//! Issue 15: keepalived.conf(5) `interface_up_down_delays`, live beside keepalived 2.2.7.
//!
//! One host, one instance (MASTER alone) on eth0, `advert_int 2` and
//! `interface_up_down_delays { eth0 3 }` (a 3 s down delay, below keepalived's bound of
//! (down_timer_adverts - 1) x advert_int = 4 s). The carrier goes away for a moment (the bridge
//! side of the veth down, then up again at once): with the delay, neither vigild nor keepalived
//! goes to FAULT (their notify scripts say so); without it (the control, same file without the
//! block) both do; and an outage that lasts goes to FAULT with the delay too. No assertion is on
//! a time: the flap is far shorter than the delay, and the long outage is waited for.
//! Needs root and keepalived: without them the test says NOT RUN.

use std::time::Duration;

use vigil_tests::netns::{require_keepalived, require_root, wait_until, Kind, Lab};

fn conf(notify: &std::path::Path, delays: bool) -> String {
    let block = if delays {
        "interface_up_down_delays {\n    eth0 3\n}\n"
    } else {
        ""
    };
    format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n{block}\
         vrrp_instance VI_D {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 63\n  \
         priority 200\n  advert_int 2\n  notify \"{}\"\n  virtual_ipaddress {{\n    \
         192.0.2.100/24\n  }}\n}}\n",
        notify.display()
    )
}

/// Run `kind` with or without the delay; flap the carrier; return the states seen after the
/// flap (and, with `long`, after an outage that lasts).
fn run(kind: Kind, delays: bool, long: bool) -> Vec<String> {
    let mut lab = Lab::new("ifdelay", 1);
    let (script, log) = lab.state_recorder();
    let n = lab.start(kind, 1, &conf(&script, delays));
    assert!(
        wait_until(Duration::from_secs(15), || log
            .states()
            .last()
            .is_some_and(|s| s == "MASTER")),
        "{kind:?} did not become MASTER: {:?}\n{}",
        log.states(),
        lab.logs()
    );
    let before = log.states().len();
    lab.cut_link(1);
    std::thread::sleep(Duration::from_millis(200));
    lab.restore_link(1);
    // Longer than the delay: a FAULT that the flap caused has been reported by then.
    std::thread::sleep(Duration::from_secs(5));
    let mut seen: Vec<String> = log.states()[before..].to_vec();
    if long {
        let before = log.states().len();
        lab.cut_link(1);
        let faulted = wait_until(Duration::from_secs(15), || {
            log.states()[before..].iter().any(|s| s == "FAULT")
        });
        seen.push(format!("long outage faulted: {faulted}"));
        lab.restore_link(1);
    }
    lab.node(n).terminate();
    println!("{kind:?} delays={delays}: {seen:?}");
    seen
}

#[test]
fn a_carrier_flap_shorter_than_the_down_delay_does_not_fault_like_keepalived() {
    if !require_root() {
        return;
    }
    if !require_keepalived() {
        return;
    }
    let vigil = run(Kind::Vigil, true, true);
    let keepalived = run(Kind::Keepalived, true, true);
    assert_eq!(vigil, ["long outage faulted: true"], "vigild");
    assert_eq!(keepalived, ["long outage faulted: true"], "keepalived");
    // The control: the same flap without the delay faults both.
    let vigil = run(Kind::Vigil, false, false);
    let keepalived = run(Kind::Keepalived, false, false);
    assert!(
        vigil.iter().any(|s| s == "FAULT"),
        "vigild control: {vigil:?}"
    );
    assert!(
        keepalived.iter().any(|s| s == "FAULT"),
        "keepalived control: {keepalived:?}"
    );
}
