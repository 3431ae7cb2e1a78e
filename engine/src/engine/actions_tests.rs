//! Decisions a runner once made for itself, now the engine's (issue 14):
//! `virtual_ipaddress_excluded` and `virtual_routes` follow MASTER through the engine's actions
//! (keepalived's `vrrp_state_become_master` / `vrrp_restore_interface` order), and a reload of
//! a MASTER changes only what differs; the announce action carries the NA Router flag; the
//! engine says whether its next deadline is a takeover.

use super::*;
use crate::setup::{VirtualAddress, VirtualRoute};
use std::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfg(excluded: &[&str], routes: &[&str]) -> InstanceConfig {
    let mut c =
        InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4).vips([ip("192.0.2.100")]);
    c.excluded_addresses = excluded
        .iter()
        .map(|a| VirtualAddress::new(ip(a)))
        .collect();
    c.virtual_routes = routes
        .iter()
        .map(|r| VirtualRoute::new(ip(r), 24))
        .collect();
    c
}

/// A started engine with one instance on eth0 that has become MASTER; the actions it took.
fn master(c: InstanceConfig) -> (Engine, Vec<Action>) {
    master_with(EngineConfig::instances(vec![c]))
}

/// [`master`] for a whole configuration.
fn master_with(ec: EngineConfig) -> (Engine, Vec<Action>) {
    let mut e = Engine::new(ec).unwrap();
    let eth0 = e.interface_id("eth0").unwrap();
    let t0 = Instant::from_millis(0);
    e.handle_input(
        t0,
        Input::PrimaryAddress {
            iface: eth0,
            family: Family::V4,
            addr: Some(ME.into()),
        },
    );
    e.handle_input(t0, Input::Start);
    let _ = drain(&mut e);
    let t = e.poll_timeout().unwrap();
    e.handle_timeout(t);
    let actions = drain(&mut e);
    (e, actions)
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

/// The address and route actions, by name, in order.
fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::AddAddresses { .. } => Some("add-addresses"),
            Action::AddExcludedAddresses { .. } => Some("add-excluded"),
            Action::AddRoutes { .. } => Some("add-routes"),
            Action::RemoveAddresses { .. } => Some("remove-addresses"),
            Action::RemoveExcludedAddresses { .. } => Some("remove-excluded"),
            Action::RemoveRoutes { .. } => Some("remove-routes"),
            Action::AddRules { .. } => Some("add-rules"),
            Action::RemoveRules { .. } => Some("remove-rules"),
            Action::Announce { .. } => Some("announce"),
            _ => None,
        })
        .collect()
}

#[test]
fn becoming_master_adds_addresses_then_excluded_then_routes_and_announces_both_kinds() {
    let (_, actions) = master(cfg(&["198.51.100.7"], &["203.0.113.0"]));
    let k = kinds(&actions);
    assert_eq!(&k[..3], ["add-addresses", "add-excluded", "add-routes"]);
    assert!(k[3..].iter().all(|k| *k == "announce"), "{k:?}");
    let announced = actions.iter().find_map(|a| match a {
        Action::Announce { addrs, .. } => Some(addrs.iter().map(|v| v.addr).collect::<Vec<_>>()),
        _ => None,
    });
    assert_eq!(
        announced,
        Some(vec![ip("192.0.2.100"), ip("198.51.100.7")]),
        "keepalived announces the excluded addresses with the virtual ones"
    );
}

#[test]
fn the_announce_action_carries_the_configured_na_router_flag() {
    for flag in [true, false] {
        let mut c = cfg(&[], &[]);
        c.announce.na_router_flag = flag;
        let (_, actions) = master(c);
        let routers: Vec<bool> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Announce { router, .. } => Some(*router),
                _ => None,
            })
            .collect();
        assert!(!routers.is_empty());
        assert!(routers.iter().all(|r| *r == flag), "{routers:?}");
    }
}

#[test]
fn leaving_master_removes_routes_first_then_addresses_then_excluded() {
    let (mut e, _) = master(cfg(&["198.51.100.7"], &["203.0.113.0"]));
    e.handle_input(Instant::from_millis(10_000), Input::Shutdown);
    let k = kinds(&drain(&mut e));
    assert_eq!(k, ["remove-routes", "remove-addresses", "remove-excluded"]);
}

/// `virtual_rules` (keepalived.conf(5) "Virtual rules"): added after the routes on becoming
/// MASTER and removed before them on leaving (keepalived's `vrrp_state_become_master` /
/// `vrrp_restore_interface`).
#[test]
fn rules_come_after_routes_and_go_before_them() {
    let conf = crate::conf::parse_str(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
         virtual_ipaddress { 192.0.2.100 }\n \
         virtual_rules {\n from 192.0.2.100 table 100 priority 100\n }\n}\n",
    )
    .unwrap();
    let mut c = cfg(&[], &["203.0.113.0"]);
    c.virtual_rules = conf.instances[0].virtual_rules.clone();
    let (mut e, actions) = master(c);
    assert_eq!(
        &kinds(&actions)[..3],
        ["add-addresses", "add-routes", "add-rules"]
    );
    e.handle_input(Instant::from_millis(10_000), Input::Shutdown);
    assert_eq!(
        kinds(&drain(&mut e)),
        ["remove-rules", "remove-routes", "remove-addresses"]
    );
}

/// keepalived_netlink.c `netlink_route_filter` / `netlink_rule_filter`: a tracked virtual
/// route or rule deleted by someone else makes a MASTER leave as for a deleted address
/// (`set_vrrp_backup`); a `no_track` one (or a route without `dev`) changes nothing.
#[test]
fn a_deleted_tracked_route_or_rule_makes_the_master_withdraw() {
    let conf = crate::conf::parse_str(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
         virtual_ipaddress { 192.0.2.100 }\n \
         virtual_rules {\n from 192.0.2.100 table 100 priority 100\n \
         from 192.0.2.101 table 100 priority 101 no_track\n }\n}\n",
    )
    .unwrap();
    let base = || {
        let mut c = cfg(&[], &["203.0.113.0", "198.51.100.0"]);
        c.virtual_routes[0].dev = Some("eth0".into());
        c.virtual_routes[1].no_track = true;
        c.virtual_rules = conf.instances[0].virtual_rules.clone();
        c
    };
    let cases = [
        (
            Input::RouteDeleted {
                instance: InstanceId(0),
                index: 0,
            },
            true,
        ),
        (
            Input::RouteDeleted {
                instance: InstanceId(0),
                index: 1,
            },
            false,
        ),
        (
            Input::RouteDeleted {
                instance: InstanceId(0),
                index: 7,
            },
            false,
        ),
        (
            Input::RuleDeleted {
                instance: InstanceId(0),
                index: 0,
            },
            true,
        ),
        (
            Input::RuleDeleted {
                instance: InstanceId(0),
                index: 1,
            },
            false,
        ),
    ];
    for (input, withdraws) in cases {
        let (mut e, _) = master(base());
        let shown = format!("{input:?}");
        e.handle_input(Instant::from_millis(5_000), input);
        let k = kinds(&drain(&mut e));
        if withdraws {
            assert_eq!(
                k,
                ["remove-rules", "remove-routes", "remove-addresses"],
                "{shown}"
            );
        } else {
            assert!(k.is_empty(), "{shown}: {k:?}");
        }
    }
}

#[test]
fn an_instance_without_extras_emits_no_empty_actions() {
    let (mut e, actions) = master(cfg(&[], &[]));
    assert_eq!(kinds(&actions)[0], "add-addresses");
    assert!(!kinds(&actions).contains(&"add-routes"));
    assert!(!kinds(&actions).contains(&"add-excluded"));
    e.handle_input(Instant::from_millis(10_000), Input::Shutdown);
    assert_eq!(kinds(&drain(&mut e)), ["remove-addresses"]);
}

#[test]
fn a_reloaded_master_changes_only_the_routes_and_excluded_addresses_that_differ() {
    let (mut e, _) = master(cfg(&["198.51.100.7", "198.51.100.8"], &["203.0.113.0"]));
    let next = cfg(
        &["198.51.100.8", "198.51.100.9"],
        &["203.0.113.0", "198.51.100.0"],
    );
    e.reload(
        Instant::from_millis(5_000),
        EngineConfig::instances(vec![next]),
    )
    .unwrap();
    let actions = drain(&mut e);
    assert_eq!(
        kinds(&actions),
        ["remove-excluded", "add-excluded", "add-routes", "announce"]
    );
    for a in &actions {
        match a {
            Action::RemoveExcludedAddresses { addrs, .. } => {
                assert_eq!(addrs[0].addr, ip("198.51.100.7"))
            }
            Action::AddExcludedAddresses { addrs, .. } => {
                assert_eq!(addrs[0].addr, ip("198.51.100.9"))
            }
            Action::AddRoutes { routes, .. } => assert_eq!(routes[0].to, ip("198.51.100.0")),
            Action::Announce { addrs, .. } => assert_eq!(addrs[0].addr, ip("198.51.100.9")),
            _ => {}
        }
    }
    e.handle_input(Instant::from_millis(10_000), Input::Shutdown);
    let gone = drain(&mut e);
    let routes = gone.iter().find_map(|a| match a {
        Action::RemoveRoutes { routes, .. } => Some(routes.len()),
        _ => None,
    });
    assert_eq!(
        routes,
        Some(2),
        "the new configuration's routes are removed on stop"
    );
}

#[test]
fn only_a_backups_master_down_timer_is_a_takeover_deadline() {
    let mut e = Engine::new(EngineConfig::instances(vec![cfg(&[], &[])])).unwrap();
    assert!(!e.next_deadline_is_takeover(), "no timer runs before start");
    let eth0 = e.interface_id("eth0").unwrap();
    let t0 = Instant::from_millis(0);
    e.handle_input(
        t0,
        Input::PrimaryAddress {
            iface: eth0,
            family: Family::V4,
            addr: Some(ME.into()),
        },
    );
    e.handle_input(t0, Input::Start);
    let _ = drain(&mut e);
    assert!(
        e.next_deadline_is_takeover(),
        "BACKUP: Master_Down_Timer next"
    );
    let t = e.poll_timeout().unwrap();
    e.handle_timeout(t);
    let _ = drain(&mut e);
    assert_eq!(e.instance(InstanceId(0)).unwrap().state(), State::Master);
    assert!(
        !e.next_deadline_is_takeover(),
        "MASTER: its next deadline is an advert or an announcement"
    );
}

fn with_check(interval_ms: u64, timeout_ms: u64) -> Engine {
    let mut c = EngineConfig::instances(vec![cfg(&[], &[])]);
    c.scripts.push(crate::setup::ScriptConfig {
        name: "chk".into(),
        interval: core::time::Duration::from_millis(interval_ms),
        rise: 1,
        fall: 1,
        timeout: core::time::Duration::from_millis(timeout_ms),
        init_fail: false,
    });
    Engine::new(c).unwrap()
}

fn run_checks(actions: &[Action]) -> Vec<(ScriptId, core::time::Duration)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RunCheck { script, timeout } => Some((*script, *timeout)),
            _ => None,
        })
        .collect()
}

fn report(e: &mut Engine, now: Instant) {
    e.handle_input(
        now,
        Input::Check {
            script: ScriptId(0),
            result: crate::io::CheckResult::Success,
            ran_for: core::time::Duration::from_millis(5),
        },
    );
}

#[test]
fn checks_run_at_start_then_on_the_interval_grid_never_two_at_once() {
    let mut e = with_check(2000, 500);
    let t0 = Instant::from_millis(0);
    e.handle_input(t0, Input::Start);
    let a = drain(&mut e);
    assert_eq!(
        run_checks(&a),
        [(ScriptId(0), core::time::Duration::from_millis(500))],
        "first run at start, with its timeout"
    );
    report(&mut e, Instant::from_millis(5));
    // Due on the grid of due times: 2 s, whatever the run took.
    assert!(e
        .poll_timeout()
        .is_some_and(|t| t <= Instant::from_millis(2000)));
    e.handle_timeout(Instant::from_millis(2000));
    assert_eq!(run_checks(&drain(&mut e)).len(), 1);
    // Not reported by 4 s: that run is skipped, the grid goes on.
    e.handle_timeout(Instant::from_millis(4000));
    assert!(run_checks(&drain(&mut e)).is_empty());
    report(&mut e, Instant::from_millis(4100));
    // A stall past two due times: one run, then back on the grid (8 s), no burst.
    e.handle_timeout(Instant::from_millis(7300));
    assert_eq!(run_checks(&drain(&mut e)).len(), 1);
    report(&mut e, Instant::from_millis(7310));
    e.handle_timeout(Instant::from_millis(7999));
    assert!(run_checks(&drain(&mut e)).is_empty());
    e.handle_timeout(Instant::from_millis(8000));
    assert_eq!(run_checks(&drain(&mut e)).len(), 1);
}

#[test]
fn nothing_is_due_before_start_or_after_shutdown_and_a_reload_keeps_the_schedule() {
    let mut e = with_check(1000, 1000);
    e.handle_timeout(Instant::from_millis(5000));
    assert!(run_checks(&drain(&mut e)).is_empty(), "not started");
    e.handle_input(Instant::from_millis(5000), Input::Start);
    assert_eq!(run_checks(&drain(&mut e)).len(), 1);
    // A reload with the same script: its run under way is kept (not asked again), its
    // schedule too.
    let mut c = EngineConfig::instances(vec![cfg(&[], &[])]);
    c.scripts.push(crate::setup::ScriptConfig {
        name: "chk".into(),
        interval: core::time::Duration::from_millis(1000),
        rise: 1,
        fall: 1,
        timeout: core::time::Duration::from_millis(1000),
        init_fail: false,
    });
    e.reload(Instant::from_millis(5500), c).unwrap();
    e.handle_timeout(Instant::from_millis(5500));
    assert!(run_checks(&drain(&mut e)).is_empty());
    report(&mut e, Instant::from_millis(5600));
    e.handle_timeout(Instant::from_millis(6000));
    assert_eq!(run_checks(&drain(&mut e)).len(), 1);
    report(&mut e, Instant::from_millis(6010));
    e.handle_input(Instant::from_millis(6500), Input::Shutdown);
    let _ = drain(&mut e);
    e.handle_timeout(Instant::from_millis(60_000));
    assert!(run_checks(&drain(&mut e)).is_empty(), "shut down");
}

#[test]
fn a_masters_advert_before_a_backups_master_down_timer_is_no_takeover() {
    let owner = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
        .priority(255)
        .vips([ip("192.0.2.100")]);
    let backup =
        InstanceConfig::new("VI_2", "eth0", 52, Version::V3, Family::V4).vips([ip("192.0.2.101")]);
    let mut e = Engine::new(EngineConfig::instances(vec![owner, backup])).unwrap();
    let eth0 = e.interface_id("eth0").unwrap();
    let t0 = Instant::from_millis(0);
    e.handle_input(
        t0,
        Input::PrimaryAddress {
            iface: eth0,
            family: Family::V4,
            addr: Some(ME.into()),
        },
    );
    e.handle_input(t0, Input::Start);
    let _ = drain(&mut e);
    // The owner is MASTER with its next advert at 1 s; VI_2 is BACKUP until 3.6 s.
    assert_eq!(e.poll_timeout(), Some(Instant::from_millis(1000)));
    assert!(!e.next_deadline_is_takeover());
}

/// Found by the `engine` fuzz target (fuzz/regressions/engine/announce-without-the-addresses):
/// a MASTER reloaded without virtual addresses while a spaced announcement burst
/// (`vrrp_garp_interval`) was under way kept the burst's timer, and each remaining
/// announcement went out with nothing to announce. An announcement needs addresses
/// (keepalived's `vrrp_send_link_update` sends only while the addresses are set).
#[test]
fn a_master_reloaded_without_addresses_ends_its_announcement_burst() {
    let mut c = cfg(&[], &[]);
    c.announce.master_repeat = 3;
    let mut ec = EngineConfig::instances(vec![c.clone()]);
    ec.announce_gates.garp_interval = core::time::Duration::from_millis(100);
    let (mut e, first) = master_with(ec.clone());
    assert_eq!(
        kinds(&first).iter().filter(|k| **k == "announce").count(),
        1,
        "a gated burst starts with one announcement"
    );
    let mut bare = c;
    bare.virtual_addresses.clear();
    let now = e.poll_timeout().unwrap_or(Instant::from_millis(0));
    ec.instances = vec![bare];
    e.reload(now, ec).unwrap();
    let mut seen = drain(&mut e);
    for _ in 0..50 {
        let Some(t) = e.poll_timeout() else { break };
        if t > now.saturating_add(core::time::Duration::from_secs(20)) {
            break;
        }
        e.handle_timeout(t);
        seen.extend(drain(&mut e));
    }
    for a in &seen {
        if let Action::Announce { addrs, .. } = a {
            assert!(!addrs.is_empty(), "an announcement with no address: {a:?}");
        }
    }
}
