//! keepalived.conf(5) `unicast_fault_no_peer`: an instance given unicast settings and no
//! `unicast_peer` stays in FAULT (keepalived 2.2.7 vrrp.c, `vrrp_complete_instance`: a
//! configuration fault, which nothing clears).

use super::*;

fn no_peers_fault() -> InstanceConfig {
    let mut c = cfg(Version::V3);
    c.unicast_no_peers_fault = true;
    c
}

#[test]
fn unicast_without_peers_starts_in_fault_and_sends_nothing() {
    let mut e = started(no_peers_fault(), ms(0));
    let a = drain(&mut e);
    assert_eq!(
        transitions(&a),
        vec![(State::Init, State::Fault, Reason::NoUnicastPeers)]
    );
    assert!(sent_priorities(&a).is_empty());
    assert!(!a.iter().any(|x| matches!(x, Action::AddAddresses { .. })));
    assert_eq!(
        e.poll_timeout(),
        None,
        "nothing to wait for: the fault is permanent"
    );
}

#[test]
fn the_address_owner_stays_in_fault_too() {
    let mut e = started(no_peers_fault().priority(255), ms(0));
    assert_eq!(
        transitions(&drain(&mut e)),
        vec![(State::Init, State::Fault, Reason::NoUnicastPeers)]
    );
}

#[test]
fn link_changes_do_not_clear_the_configuration_fault() {
    let mut e = started(no_peers_fault(), ms(0));
    drain(&mut e);
    for (t, up) in [(100, false), (200, true)] {
        e.handle_input(
            ms(t),
            Input::Link {
                iface: IfaceId(0),
                up,
            },
        );
    }
    let a = run_until(&mut e, ms(20_000));
    assert!(transitions(&a).is_empty(), "{a:?}");
    assert!(sent_priorities(&a).is_empty());
}

#[test]
fn adverts_heard_do_not_move_it() {
    let mut e = started(no_peers_fault(), ms(0));
    drain(&mut e);
    let a = rx(&mut e, ms(100), HIGHER, &v3(HIGHER, 50));
    assert!(transitions(&a).is_empty(), "{a:?}");
    let a = run_until(&mut e, ms(10_000));
    assert!(transitions(&a).is_empty(), "{a:?}");
}

#[test]
fn a_reload_that_gives_it_peers_starts_it() {
    let mut e = started(no_peers_fault(), ms(0));
    drain(&mut e);
    let mut c = cfg(Version::V3);
    c.unicast_peers = vec![IpAddr::V4(HIGHER)];
    e.reload(ms(1000), EngineConfig::instances(vec![c]))
        .unwrap();
    let a = drain(&mut e);
    assert_eq!(
        transitions(&a),
        vec![(State::Fault, State::Backup, Reason::FaultCleared)]
    );
}
