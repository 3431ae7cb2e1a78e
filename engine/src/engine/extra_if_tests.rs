//! keepalived.conf(5) `garp_extra_if [all] SECS` (announce.rs `announce_extra_if`): the
//! schedule of the periodic gratuitous ARP / unsolicited NA on the addresses' other interfaces,
//! and the configuration that turns it on or off (keepalived 2.2.7 `vrrp_complete_instance`).

use super::*;
use crate::setup::VirtualAddress;
use core::time::Duration;
use std::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

fn on(addr: &str, dev: Option<&str>) -> VirtualAddress {
    let mut v = VirtualAddress::new(addr.parse().expect("a test address"));
    v.dev = dev.map(str::to_string);
    v
}

/// VI_1 on eth0, advert_int `advert`: 192.0.2.100 on eth0, 192.0.2.101 and the excluded
/// 198.51.100.7 on eth1, the excluded 2001:db8::7 on eth2; `garp_extra_if all EXTRA`.
fn config(advert: Duration, extra: Option<Duration>) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4);
    c.advert_interval = advert;
    c.virtual_addresses = vec![on("192.0.2.100", None), on("192.0.2.101", Some("eth1"))];
    c.excluded_addresses = vec![
        on("198.51.100.7", Some("eth1")),
        on("2001:db8::7", Some("eth2")),
        on("198.51.100.8", Some("eth0")),
    ];
    c.announce.extra_if = extra;
    c.announce.extra_if_all = true;
    c
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

/// Everything the engine does from start until `until`, each action with its time; eth0's link
/// goes down and up at the `links` times.
fn run(c: InstanceConfig, until: Instant, links: &[(u64, bool)]) -> Vec<(Instant, Action)> {
    run_late(c, until, links, |_| Duration::ZERO)
}

/// [`run`], each deadline handled `late(deadline)` after it is due (a runner on a loaded
/// machine).
fn run_late(
    c: InstanceConfig,
    until: Instant,
    links: &[(u64, bool)],
    late: impl Fn(Instant) -> Duration,
) -> Vec<(Instant, Action)> {
    let mut e = Engine::new(EngineConfig::instances(vec![c])).expect("a valid configuration");
    let eth0 = e.interface_id("eth0").expect("eth0");
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
    let mut out: Vec<(Instant, Action)> = drain(&mut e).into_iter().map(|a| (t0, a)).collect();
    let mut links = links.iter().peekable();
    loop {
        let deadline = e.poll_timeout().unwrap_or(Instant::MAX);
        if let Some(&&(ms, up)) = links.peek() {
            let t = Instant::from_millis(ms);
            if t <= deadline {
                links.next();
                e.handle_input(t, Input::Link { iface: eth0, up });
                out.extend(drain(&mut e).into_iter().map(|a| (t, a)));
                continue;
            }
        }
        if deadline > until {
            break;
        }
        // Recorded at the deadline: the schedule, not the lateness.
        e.handle_timeout(deadline.saturating_add(late(deadline)));
        out.extend(drain(&mut e).into_iter().map(|a| (deadline, a)));
    }
    out
}

/// The periodic announcements: those that name 192.0.2.101 but not 192.0.2.100 (a burst names
/// every address).
fn extra(actions: &[(Instant, Action)]) -> Vec<(Instant, Vec<IpAddr>)> {
    actions
        .iter()
        .filter_map(|(t, a)| match a {
            Action::Announce { addrs, .. }
                if !addrs
                    .iter()
                    .any(|v| v.addr == IpAddr::from([192, 0, 2, 100])) =>
            {
                Some((*t, addrs.iter().map(|v| v.addr).collect()))
            }
            _ => None,
        })
        .collect()
}

fn became_master(actions: &[(Instant, Action)]) -> Instant {
    actions
        .iter()
        .find_map(|(t, a)| match a {
            Action::StateChange {
                to: State::Master, ..
            } => Some(*t),
            _ => None,
        })
        .expect("the instance becomes MASTER")
}

fn advert_times(actions: &[(Instant, Action)]) -> Vec<Instant> {
    actions
        .iter()
        .filter_map(|(t, a)| matches!(a, Action::SendAdvert(_)).then_some(*t))
        .collect()
}

#[test]
fn a_master_announces_the_first_address_of_each_other_interface_every_interval() {
    let sec = Duration::from_secs(1);
    let out = run(
        config(sec, Some(Duration::from_secs(3))),
        Instant::from_millis(30_000),
        &[],
    );
    let m = became_master(&out);
    let got = extra(&out);
    assert!(got.len() >= 8, "{got:?}");
    // One announcement per other interface, for its first address (virtual, then excluded):
    // 192.0.2.101 on eth1 (not 198.51.100.7, also on eth1), 2001:db8::7 on eth2; nothing for
    // eth0's addresses (198.51.100.8 names eth0, the instance's own interface).
    for (_, addrs) in &got {
        assert_eq!(
            addrs,
            &[
                "192.0.2.101".parse::<IpAddr>().unwrap(),
                "2001:db8::7".parse().unwrap()
            ]
        );
    }
    // The first at the first advert at or after MASTER + 3 s, then every 3 s, each with an
    // advert (keepalived checks at each advert it sends).
    let adverts = advert_times(&out);
    let first = got[0].0;
    assert!(
        first >= m.saturating_add(3 * sec) && first < m.saturating_add(4 * sec),
        "{m:?} {first:?}"
    );
    for w in got.windows(2) {
        assert_eq!(w[1].0.saturating_duration_since(w[0].0), 3 * sec, "{got:?}");
    }
    for (t, _) in &got {
        assert!(
            adverts.contains(t),
            "an extra announcement off the advert schedule at {t:?}"
        );
    }
}

/// keepalived 2.2.7 (`vrrp_send_vmac_update`): without `all`, only the macvlans of addresses
/// (use_vmac_addr, an address's use_vmac) are announced on, one per macvlan (interface and
/// family); a plain other interface is not.
#[test]
fn without_all_only_the_macvlans_of_addresses_are_announced_on() {
    let mut c = config(Duration::from_secs(1), Some(Duration::from_secs(2)));
    c.announce.extra_if_all = false;
    // 192.0.2.101 on eth1 and 2001:db8::7 on eth2 get macvlans of their own; 198.51.100.7
    // (eth1, plain) does not; a second IPv4 macvlan address on eth1 shares 192.0.2.101's.
    c.virtual_addresses[1].vmac = true;
    c.excluded_addresses[1].vmac = true;
    let mut second = on("198.51.100.9", Some("eth1"));
    second.vmac = true;
    c.excluded_addresses.push(second);
    let out = run(c, Instant::from_millis(20_000), &[]);
    let got = extra(&out);
    assert!(got.len() >= 4, "{got:?}");
    for (_, addrs) in &got {
        assert_eq!(
            addrs,
            &[
                "192.0.2.101".parse::<IpAddr>().unwrap(),
                "2001:db8::7".parse().unwrap()
            ]
        );
    }
}

#[test]
fn a_late_runner_keeps_the_interval_on_the_advert_schedule() {
    // vigild handles each deadline a little after it is due: the next is due one interval after
    // the advert's scheduled time, not after the late handling (which made the gaps 4 s, one
    // advert later, where keepalived's are 3 s: found by garp_extra_if_netns).
    let out = run_late(
        config(Duration::from_secs(1), Some(Duration::from_secs(3))),
        Instant::from_millis(30_000),
        &[],
        // 5 ms late in even seconds, 2 ms in odd ones: a handling less late than the previous
        // one would fall short of the interval.
        |t| {
            Duration::from_millis(if (t.as_nanos() / 1_000_000_000) % 2 == 0 {
                5
            } else {
                2
            })
        },
    );
    let got = extra(&out);
    assert!(got.len() >= 7, "{got:?}");
    for w in got.windows(2) {
        assert_eq!(
            w[1].0.saturating_duration_since(w[0].0),
            Duration::from_secs(3),
            "{got:?}"
        );
    }
}

#[test]
fn the_interval_is_rounded_up_to_the_advert_schedule() {
    // garp_extra_if 5 with advert_int 2: keepalived sends at the first advert after 5 s, so
    // every 6 s.
    let out = run(
        config(Duration::from_secs(2), Some(Duration::from_secs(5))),
        Instant::from_millis(60_000),
        &[],
    );
    let got = extra(&out);
    assert!(got.len() >= 5, "{got:?}");
    for w in got.windows(2) {
        assert_eq!(
            w[1].0.saturating_duration_since(w[0].0),
            Duration::from_secs(6)
        );
    }
}

#[test]
fn off_by_default_and_never_while_not_master() {
    let out = run(
        config(Duration::from_secs(1), None),
        Instant::from_millis(30_000),
        &[],
    );
    assert!(extra(&out).is_empty());
    // The instance loses its link at 12 s (FAULT) and gets it back at 20 s: nothing while it
    // is not MASTER; after it is MASTER again, the first is 3 s after that, not before.
    let out = run(
        config(Duration::from_secs(1), Some(Duration::from_secs(3))),
        Instant::from_millis(40_000),
        &[(12_000, false), (20_000, true)],
    );
    let masters: Vec<Instant> = out
        .iter()
        .filter_map(|(t, a)| match a {
            Action::StateChange {
                to: State::Master, ..
            } => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(masters.len(), 2, "MASTER, FAULT, MASTER again");
    let got = extra(&out);
    assert!(got.iter().any(|(t, _)| *t < Instant::from_millis(12_000)));
    assert!(
        got.iter().all(|(t, _)| *t < Instant::from_millis(12_000)
            || *t >= masters[1].saturating_add(Duration::from_secs(3))),
        "{got:?} {masters:?}"
    );
    assert!(got.iter().any(|(t, _)| *t > masters[1]));
}

fn converted(text: &str) -> crate::from_conf::Converted {
    let cfg = crate::conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    EngineConfig::from_conf(&cfg).expect("a configuration the engine takes")
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n";

#[test]
fn keepalived_keeps_it_only_with_all_and_an_address_on_another_interface() {
    let extra_if = |text: &str| converted(text).engine.instances[0].announce.extra_if;
    let other = " virtual_ipaddress { 192.0.2.100/24\n 198.51.100.1/24 dev eth1 }\n";
    let own = " virtual_ipaddress { 192.0.2.100/24\n 192.0.2.101/24 dev eth0 }\n";
    let s = Duration::from_secs;
    assert_eq!(
        extra_if(&format!("{INSTANCE}{other} garp_extra_if all 60\n}}\n")),
        Some(s(60))
    );
    assert_eq!(
        extra_if(&format!("{INSTANCE}{other} garp_extra_if 60 all\n}}\n")),
        Some(s(60))
    );
    // Without all: only VMACs other than the instance's, which Vigil never makes per address.
    assert_eq!(
        extra_if(&format!("{INSTANCE}{other} garp_extra_if 60\n}}\n")),
        None
    );
    // No address on another interface.
    assert_eq!(
        extra_if(&format!("{INSTANCE}{own} garp_extra_if all 60\n}}\n")),
        None
    );
    // 0 turns it off.
    assert_eq!(
        extra_if(&format!("{INSTANCE}{other} garp_extra_if all 0\n}}\n")),
        None
    );
    // The global default, and the instance's own setting over it (all included).
    let global = "global_defs {\n vrrp_garp_extra_if all 100\n}\n";
    assert_eq!(
        extra_if(&format!("{global}{INSTANCE}{other}}}\n")),
        Some(s(100))
    );
    assert_eq!(
        extra_if(&format!("{global}{INSTANCE}{other} garp_extra_if 7\n}}\n")),
        None
    );
    assert_eq!(
        extra_if(&format!(
            "{global}{INSTANCE}{other} garp_extra_if all 7\n}}\n"
        )),
        Some(s(7))
    );
    // The excluded addresses count too.
    let excluded = " virtual_ipaddress { 192.0.2.100/24 }\n virtual_ipaddress_excluded { 2001:db8::7/64 dev eth2 }\n";
    assert_eq!(
        extra_if(&format!("{INSTANCE}{excluded} garp_extra_if all 9\n}}\n")),
        Some(s(9))
    );
}

#[test]
fn the_old_spellings_are_accepted_with_keepalived_s_deprecation_warning() {
    let text = format!(
        "global_defs {{\n vrrp_vmac_garp_intvl 30 all\n}}\n{INSTANCE} virtual_ipaddress {{ 192.0.2.100/24\n 198.51.100.1/24 dev eth1 }}\n vmac_garp_intvl all 20\n}}\n"
    );
    let cfg = crate::conf::parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let w: Vec<String> = cfg.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        w.iter()
            .any(|d| d.contains("vrrp_vmac_garp_intvl is deprecated: use vrrp_garp_extra_if")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|d| d.contains("vmac_garp_intvl is deprecated: use garp_extra_if")),
        "{w:?}"
    );
    assert_eq!(
        cfg.global.vrrp_garp_extra_if.interval,
        Duration::from_secs(30)
    );
    let c = EngineConfig::from_conf(&cfg).expect("converts");
    assert_eq!(
        c.engine.instances[0].announce.extra_if,
        Some(Duration::from_secs(20))
    );
}

#[test]
fn a_bad_value_is_an_error_at_its_location() {
    let err = |text: &str| {
        crate::conf::parse_str(text)
            .expect_err("refused")
            .to_string()
    };
    let vip = " virtual_ipaddress { 192.0.2.100/24 }\n";
    let e = err(&format!("{INSTANCE}{vip} garp_extra_if all\n}}\n"));
    assert!(
        e.contains("keepalived.conf:5:2")
            && e.contains("garp_extra_if: expected [all] and an interval"),
        "{e}"
    );
    let e = err(&format!("{INSTANCE}{vip} garp_extra_if 86401\n}}\n"));
    assert!(
        e.contains("keepalived.conf:5:16") && e.contains("0..=86400"),
        "{e}"
    );
    // The global one starts at 1 (keepalived: "specified without time").
    let e = err("global_defs {\n vrrp_garp_extra_if 0\n}\n");
    assert!(
        e.contains("keepalived.conf:2:21") && e.contains("1..=86400"),
        "{e}"
    );
}

#[test]
fn disable_local_igmp_is_read() {
    let cfg = crate::conf::parse_str("global_defs {\n disable_local_igmp\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.global.disable_local_igmp);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let cfg = crate::conf::parse_str("global_defs {\n router_id r1\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!cfg.global.disable_local_igmp);
}
