//! The link an instance follows for an address on a macvlan of its own (an address's
//! `use_vmac`, `use_vmac_addr`), live against keepalived 2.2.7 in the same test.
//!
//! keepalived 2.2.7 (vrrp.c `vrrp_complete_instance`) follows the per-address macvlan it made
//! (`add_vrrp_to_interface(vrrp, ifp, 0, ..., TRACK_ADDR)`, `ifp` the macvlan), unweighted,
//! unless the address is `no_track`: an operator setting that macvlan down puts the instance in
//! FAULT (vrrp_track.c `down_instance`), setting it up brings it back. vigild followed the
//! macvlan's parent instead, so the same `ip link set vrrp.51 down` was not followed; now the
//! engine follows the macvlan (vigil_engine::vmac_addr::follow_macvlans).
//!
//! Each daemon runs alone on host 1 of a fresh lab (eth0 and eth1): VI_1 on eth0 with
//! 192.0.2.100 and `198.51.100.100/24 dev eth1 use_vmac` (macvlan `vrrp.51` on eth1), its states
//! read from a notify FIFO ([`Lab::state_fifo`]: keepalived's notify scripts may append FAULT and
//! BACKUP of a macvlan made again at once in either order). Once it is MASTER, `vrrp.51` is set
//! down by hand, then up again. The states, from start, must be the same for both daemons, and
//! the address must be back on `vrrp.51` once it is up. Cases:
//!
//! - `use_vmac` on the address: FAULT when the macvlan goes down, BACKUP and MASTER when it is up;
//! - the same with `use_vmac_addr` on the instance instead;
//! - `no_track` on the address: no FAULT (the state log stays as it was for 3 s after the cut);
//! - `use_vmac` on the instance (its own macvlan `vrrp.51`, on eth0, carries both addresses):
//!   keepalived follows that macvlan too (TRACK_VRRP on `vrrp->ifp`), FAULT when it is down;
//!   vigild followed only eth0 (vigil_engine::vmac_addr::follow_instance_macvlans now);
//! - an address's macvlan deleted by hand (`use_vmac`): FAULT, and neither daemon makes it again,
//!   also not at a later link event of another interface (a second test);
//! - an instance's own macvlan deleted by hand: both make it again at once (a third test).
//!
//! No assertion is on a time: each state is waited for (bounded). Needs root and keepalived:
//! without them the test says NOT RUN.

use std::time::Duration;

use vigil_tests::netns::{self, require_keepalived, require_root, wait_until, Kind, Lab};

/// The macvlan both daemons make for the address on eth1 (keepalived's name for VRID 51).
const VMAC: &str = "vrrp.51";

/// The address on it.
const ADDR: &str = "198.51.100.100/24";

/// `fifo`: the `global_defs` lines of [`Lab::state_fifo`].
fn conf(fifo: &str, how: &str) -> String {
    let (instance, address) = match how {
        "use_vmac" => ("", " dev eth1 use_vmac"),
        "use_vmac_addr" => ("  use_vmac_addr\n", " dev eth1"),
        "no_track" => ("", " dev eth1 use_vmac no_track"),
        // The instance's own macvlan (on eth0), which carries both addresses.
        "instance use_vmac" => ("  use_vmac\n", ""),
        other => panic!("no case {other}"),
    };
    format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n{fifo}}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
         priority 100\n  advert_int 1\n{instance}  virtual_ipaddress {{\n    \
         192.0.2.100/24\n    {ADDR}{address}\n  }}\n}}\n"
    )
}

/// Host 1's interface that holds [`ADDR`], and whether [`VMAC`] exists and is up (its flags).
fn where_is(lab: &Lab) -> (Option<String>, Option<bool>) {
    let out = lab.exec(1, &["ip", "-o", "-4", "addr", "show"]);
    let holder = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(3) == Some(&ADDR)).then(|| f[1].to_string())
    });
    let out = lab.exec(1, &["ip", "-o", "link", "show", "dev", VMAC]);
    let link = String::from_utf8_lossy(&out.stdout).into_owned();
    let up = (!link.is_empty()).then(|| {
        link.split('<')
            .nth(1)
            .and_then(|f| f.split('>').next())
            .is_some_and(|f| f.split(',').any(|x| x == "UP"))
    });
    (holder, up)
}

/// Run `kind` on case `how`; set the macvlan down and up again; every state told, from start,
/// and the daemon's log (for the comparison's message).
fn run(kind: Kind, how: &str) -> (Vec<String>, String) {
    let mut lab = Lab::with_links("vmaclink", 1, 2);
    let (fifo, log) = lab.state_fifo();
    let n = lab.start(kind, 1, &conf(&fifo, how));
    let master = || log.states().last().is_some_and(|s| s == "MASTER");
    let on_vmac = || where_is(&lab) == (Some(VMAC.to_string()), Some(true));
    assert!(
        wait_until(Duration::from_secs(20), || master() && on_vmac()),
        "{kind:?} {how}: not MASTER with {ADDR} on {VMAC}: {:?} {:?}\n{}",
        log.states(),
        where_is(&lab),
        lab.logs()
    );
    let before = log.states().len();
    netns::must(&["ip", "-n", &lab.ns(1), "link", "set", VMAC, "down"]);
    if how == "no_track" {
        // Three advert intervals: a FAULT from the cut would have been told by now.
        std::thread::sleep(Duration::from_secs(3));
    } else {
        let faulted = wait_until(Duration::from_secs(15), || {
            log.states()[before..].iter().any(|s| s == "FAULT")
        });
        let seen = where_is(&lab);
        println!("{kind:?} {how}: {VMAC} down: {ADDR} on {seen:?}");
        assert!(
            faulted,
            "{kind:?} {how}: no FAULT after {VMAC} went down: {:?}\n{}",
            log.states(),
            lab.logs()
        );
    }
    netns::must(&["ip", "-n", &lab.ns(1), "link", "set", VMAC, "up"]);
    let back = wait_until(Duration::from_secs(20), || master() && on_vmac());
    let seen = where_is(&lab);
    assert!(
        back,
        "{kind:?} {how}: not MASTER with {ADDR} on {VMAC} again: {:?} {seen:?}\n{}",
        log.states(),
        lab.logs()
    );
    let states = log.states();
    println!(
        "{kind:?} {how}: states {:?}, then {VMAC} down and up: {:?}; {ADDR} on {seen:?}",
        &states[..before],
        &states[before..]
    );
    lab.node(n).terminate();
    (states, lab.logs())
}

#[test]
fn an_address_s_macvlan_link_is_followed_as_keepalived_follows_it() {
    if !require_root() || !require_keepalived() {
        return;
    }
    for how in ["use_vmac", "use_vmac_addr", "no_track", "instance use_vmac"] {
        let (keepalived, ka_log) = run(Kind::Keepalived, how);
        let (vigil, vigil_log) = run(Kind::Vigil, how);
        assert_eq!(
            vigil, keepalived,
            "{how}: vigild's states as keepalived's\n{ka_log}{vigil_log}"
        );
        assert_eq!(
            keepalived.iter().any(|s| s == "FAULT"),
            how != "no_track",
            "{how}: {keepalived:?}"
        );
    }
}

/// Run `kind` on case `how` and delete the macvlan by hand once MASTER; wait for FAULT or for
/// MASTER with the address on a macvlan of that name again; then make a link event of another
/// interface (a veth pair added in the namespace: vigild used to make an address's macvlan
/// again at the next link event of any interface, keepalived never does) and wait for MASTER on
/// the macvlan again (bounded). Whether it was MASTER on the macvlan again before that link
/// event, every state told, from start, and where the address is at the end; with the daemon's
/// log (for the comparison's message).
type Deleted = (bool, Vec<String>, (Option<String>, Option<bool>));

fn deleted(kind: Kind, how: &str) -> (Deleted, String) {
    let mut lab = Lab::with_links("vmacdel", 1, 2);
    let (fifo, log) = lab.state_fifo();
    let n = lab.start(kind, 1, &conf(&fifo, how));
    let master = || log.states().last().is_some_and(|s| s == "MASTER");
    let on_vmac = || where_is(&lab) == (Some(VMAC.to_string()), Some(true));
    assert!(
        wait_until(Duration::from_secs(20), || master() && on_vmac()),
        "{kind:?} {how}: not MASTER with {ADDR} on {VMAC}: {:?}\n{}",
        log.states(),
        lab.logs()
    );
    let before = log.states().len();
    let again = || log.states().len() > before && master() && on_vmac();
    netns::must(&["ip", "-n", &lab.ns(1), "link", "del", VMAC]);
    wait_until(Duration::from_secs(15), || {
        again() || log.states()[before..].iter().any(|s| s == "FAULT")
    });
    // Made again without waiting for another link event (given the time a re-made macvlan takes
    // to carry the address again).
    let at_once = wait_until(Duration::from_secs(8), again);
    netns::must(&[
        "ip",
        "-n",
        &lab.ns(1),
        "link",
        "add",
        "probe0",
        "type",
        "veth",
        "peer",
        "name",
        "probe1",
    ]);
    wait_until(Duration::from_secs(8), again);
    // A moment more, for a state that should not follow.
    std::thread::sleep(Duration::from_secs(2));
    let seen = (at_once, log.states(), where_is(&lab));
    println!("{kind:?} {how}: {VMAC} deleted by hand, then a link added: {seen:?}");
    lab.node(n).terminate();
    (seen, lab.logs())
}

#[test]
fn an_address_s_macvlan_deleted_by_hand_leaves_the_instance_in_fault_as_keepalived_does() {
    if !require_root() || !require_keepalived() {
        return;
    }
    let (keepalived, ka_log) = deleted(Kind::Keepalived, "use_vmac");
    let (vigil, vigil_log) = deleted(Kind::Vigil, "use_vmac");
    assert_eq!(
        vigil, keepalived,
        "vigild's states and address as keepalived's\n{ka_log}{vigil_log}"
    );
    // What keepalived 2.2.7 does, written out (so that a change of either shows): FAULT, the
    // macvlan and its address gone, also after another interface's link event.
    assert_eq!(
        keepalived,
        (
            false,
            vec!["BACKUP".to_string(), "MASTER".into(), "FAULT".into()],
            (None, None)
        ),
        "{ka_log}"
    );
}

/// An instance's own macvlan (`use_vmac`) deleted by hand: keepalived 2.2.7 makes it again at
/// once (`recreate_vmac_thread` on the RTM_DELLINK of an interface it made), vigild likewise
/// (it used to wait for the next link event).
#[test]
fn an_instance_s_macvlan_deleted_by_hand_is_made_again_as_keepalived_makes_it() {
    if !require_root() || !require_keepalived() {
        return;
    }
    let (keepalived, ka_log) = deleted(Kind::Keepalived, "instance use_vmac");
    let (vigil, vigil_log) = deleted(Kind::Vigil, "instance use_vmac");
    assert_eq!(
        vigil, keepalived,
        "vigild's states and address as keepalived's\n{ka_log}{vigil_log}"
    );
    assert!(keepalived.0, "{keepalived:?}\n{ka_log}");
    assert_eq!(
        keepalived.2,
        (Some(VMAC.to_string()), Some(true)),
        "{keepalived:?}\n{ka_log}"
    );
}
