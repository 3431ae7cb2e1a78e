// Long: the engine's behaviour tests that share one fixture set; the rule-family test files beside it take the rest.
//! One test per transition of the seed's state diagram and per receive check of RFC 5798
//! section 7.1, each named after the rule it checks.

use super::*;
use crate::wire::{Addrs, Advert, ChecksumForm, ChecksumPolicy, Interval};
use std::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const LOWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 5);
const HIGHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn cfg(version: Version) -> InstanceConfig {
    InstanceConfig::new("VI_1", "eth0", 51, version, Family::V4).vips([IpAddr::V4(VIP)])
}

/// An engine with one instance on eth0 (up, 192.0.2.10), started at `t0`.
fn started(c: InstanceConfig, t0: Instant) -> Engine {
    let mut e = Engine::new(EngineConfig::instances(vec![c])).unwrap();
    let eth0 = e.interface_id("eth0").unwrap();
    e.handle_input(
        t0,
        Input::PrimaryAddress {
            iface: eth0,
            family: Family::V4,
            addr: Some(ME.into()),
        },
    );
    e.handle_input(t0, Input::Start);
    e
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

fn state(e: &Engine) -> State {
    e.instance(InstanceId(0)).unwrap().state()
}

fn stats(e: &Engine) -> InstanceStats {
    *e.instance(InstanceId(0)).unwrap().stats()
}

fn transitions(actions: &[Action]) -> Vec<(State, State, Reason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChange {
                from, to, reason, ..
            } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect()
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(s) => Some(s.priority),
            _ => None,
        })
        .collect()
}

/// Encode an advert from `src` as a peer would send it.
fn packet(
    version: Version,
    src: Ipv4Addr,
    prio: u8,
    interval: Interval,
    addrs: &[IpAddr],
    auth: Auth,
) -> Vec<u8> {
    let a = Advert {
        version,
        vrid: 51,
        priority: prio,
        interval,
        addrs: Addrs::List(addrs),
        auth,
        checksum: if version == Version::V2 {
            ChecksumForm::Plain
        } else {
            ChecksumForm::PseudoHeader
        },
        trailing: 0,
    };
    let mut buf = vec![0u8; wire::MAX_ADVERT_LEN];
    let n = wire::emit(
        &a,
        &IpContext {
            src: src.into(),
            dst: wire::MCAST_V4.into(),
        },
        &mut buf,
    )
    .unwrap();
    buf.truncate(n);
    buf
}

fn v3(src: Ipv4Addr, prio: u8) -> Vec<u8> {
    packet(
        Version::V3,
        src,
        prio,
        Interval::Centiseconds(100),
        &[IpAddr::V4(VIP)],
        Auth::None,
    )
}

fn rx_ttl(e: &mut Engine, now: Instant, src: Ipv4Addr, bytes: &[u8], ttl: u8) -> Vec<Action> {
    e.handle_input(
        now,
        Input::Packet(Received {
            iface: IfaceId(0),
            src: src.into(),
            dst: wire::MCAST_V4.into(),
            ttl,
            payload: bytes,
        }),
    );
    drain(e)
}

fn rx(e: &mut Engine, now: Instant, src: Ipv4Addr, bytes: &[u8]) -> Vec<Action> {
    rx_ttl(e, now, src, bytes, 255)
}

/// Run timers up to and including `until`; returns the actions.
fn run_until(e: &mut Engine, until: Instant) -> Vec<Action> {
    let mut out = Vec::new();
    while let Some(t) = e.poll_timeout() {
        if t > until {
            break;
        }
        e.handle_timeout(t);
        out.extend(drain(e));
    }
    out
}

/// A started backup (v3, 1 s, priority 100) that has heard a master at t=0.
fn backup() -> Engine {
    let mut e = started(cfg(Version::V3), ms(0));
    drain(&mut e);
    e
}

/// A master (v3, 1 s, priority 100) at t = 3.609375 s.
fn master() -> (Engine, Instant) {
    let mut e = backup();
    let t = Instant::from_micros(3_609_375);
    let a = run_until(&mut e, t);
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
    (e, t)
}

/// The read-only view a runner asks instead of testing states itself (vigild moves and reports
/// virtual addresses by `holds_addresses`, re-announces with `announce_router_flag`): each
/// accessor against the instance it views, in BACKUP and in MASTER. (Mutation run 10: both
/// were replaced by constants unseen, the engine's own tests and the simulator use neither.)
#[test]
fn the_instance_view_tells_a_runner_what_it_needs() {
    let e = backup();
    let v = e.instance(InstanceId(0)).unwrap();
    assert!(!v.holds_addresses(), "a BACKUP holds no address");
    assert!(v.announce_router_flag(), "the RFC's Router flag by default");
    let (e, _) = master();
    let v = e.instance(InstanceId(0)).unwrap();
    assert!(v.holds_addresses(), "a MASTER holds its addresses");
    let mut c = cfg(Version::V3);
    c.announce.na_router_flag = false;
    let e = started(c, ms(0));
    assert!(!e.instance(InstanceId(0)).unwrap().announce_router_flag());
}

/// Engine equality (what the fuzz harness uses to prove that a refused reload changes
/// nothing) sees a change in any one part: a copy is equal; a dropped advert, which changes
/// only the instance's counters, makes it unequal; a refused reload leaves it equal. (Mutation
/// run 11: `eq` made constant, or any of its `&&` made `||`, went unseen: only the fuzz
/// harness compared engines.)
#[test]
fn engines_are_equal_until_one_part_differs() {
    let mut e = backup();
    let mut f = e.clone();
    assert!(e == f);
    assert_eq!(
        rx_ttl(&mut f, ms(500), HIGHER, &v3(HIGHER, 200), 254).len(),
        2
    );
    assert_eq!(
        e.poll_timeout(),
        f.poll_timeout(),
        "the drop leaves the timers"
    );
    assert!(e != f, "the instance's ip_ttl_errors differ");
    let mut g = e.clone();
    let v2_over_ipv6 = InstanceConfig::new("VI_1", "eth0", 51, Version::V2, Family::V6);
    assert!(g
        .reload(ms(500), EngineConfig::instances(vec![v2_over_ipv6]))
        .is_err());
    assert!(g == e, "a refused reload changes nothing");
}

// ----- transitions ------------------------------------------------------------------------

#[test]
fn init_to_fault_when_link_down() {
    let mut e = Engine::new(EngineConfig::instances(vec![cfg(Version::V3)])).unwrap();
    e.handle_input(
        ms(0),
        Input::Link {
            iface: IfaceId(0),
            up: false,
        },
    );
    e.handle_input(
        ms(0),
        Input::PrimaryAddress {
            iface: IfaceId(0),
            family: Family::V4,
            addr: Some(ME.into()),
        },
    );
    e.handle_input(ms(0), Input::Start);
    assert_eq!(
        transitions(&drain(&mut e)),
        vec![(State::Init, State::Fault, Reason::LinkDown)]
    );
    assert_eq!(e.poll_timeout(), None, "FAULT runs no timer");
}

#[test]
fn backup_to_master_when_master_down_timer_fires() {
    let mut e = backup();
    let a = run_until(&mut e, Instant::from_micros(3_609_374));
    assert!(a.is_empty(), "not a microsecond early");
    let a = run_until(&mut e, Instant::from_micros(3_609_375));
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
    // RFC order: advert first, then the addresses, then the announcement.
    assert!(matches!(a[0], Action::SendAdvert(_)));
    assert!(matches!(a[1], Action::AddAddresses { .. }));
    assert!(matches!(a[2], Action::Announce { .. }));
    assert_eq!(stats(&e).became_master, 1);
}

#[test]
fn backup_to_fault_on_link_down() {
    let mut e = backup();
    e.handle_input(
        ms(100),
        Input::Link {
            iface: IfaceId(0),
            up: false,
        },
    );
    let a = drain(&mut e);
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Fault, Reason::LinkDown)]
    );
    assert!(sent_priorities(&a).is_empty());
}

#[test]
fn master_to_backup_on_higher_priority() {
    let (mut e, t) = master();
    let a = rx(&mut e, t + Duration::from_millis(1), LOWER, &v3(LOWER, 150));
    assert_eq!(
        transitions(&a),
        vec![(State::Master, State::Backup, Reason::HigherPriorityHeard)]
    );
    assert!(matches!(a[0], Action::RemoveAddresses { .. }));
    assert_eq!(stats(&e).released_master, 1);
    // The seed: leaving MASTER, the down timer is 3 * advert_int + skew.
    assert_eq!(
        e.poll_timeout(),
        Some(t + Duration::from_millis(1) + Duration::from_micros(3_609_375))
    );
}

/// keepalived.conf(5) `higher_prio_send_advert`: "If we are master and receive a higher
/// priority advert, send an advert (which will be lower priority than the other master),
/// before we transition to backup". Off (the default): no advert.
#[test]
fn higher_prio_send_advert_master_advertises_once_before_going_backup() {
    for on in [false, true] {
        let mut c = cfg(Version::V3);
        c.advert_on_higher_priority = on;
        let mut e = started(c, ms(0));
        let t = Instant::from_micros(3_609_375);
        run_until(&mut e, t);
        assert_eq!(state(&e), State::Master);
        let a = rx(
            &mut e,
            t + Duration::from_millis(1),
            HIGHER,
            &v3(HIGHER, 150),
        );
        assert_eq!(sent_priorities(&a), if on { vec![100] } else { vec![] });
        assert_eq!(state(&e), State::Backup);
        if on {
            // The advert goes out before the transition.
            let sent = a.iter().position(|x| matches!(x, Action::SendAdvert(_)));
            let left = a
                .iter()
                .position(|x| matches!(x, Action::StateChange { .. }));
            assert!(sent < left, "{a:?}");
        }
    }
}

/// keepalived.conf(5) `vrrp_startup_delay`: "delay in seconds before VRRP instances start
/// running": after Input::Start the instances stay in INIT (adverts are not acted on) until the
/// delay has run, then start as usual (BACKUP, a full Master_Down_Interval from then).
#[test]
fn vrrp_startup_delay_keeps_instances_in_init_until_it_has_run() {
    let mut config = EngineConfig::instances(vec![cfg(Version::V3)]);
    config.startup_delay = Duration::from_secs(2);
    let mut e = Engine::new(config).unwrap();
    let eth0 = e.interface_id("eth0").unwrap();
    e.handle_input(
        ms(0),
        Input::PrimaryAddress {
            iface: eth0,
            family: Family::V4,
            addr: Some(ME.into()),
        },
    );
    e.handle_input(ms(0), Input::Start);
    assert!(transitions(&drain(&mut e)).is_empty());
    assert_eq!(state(&e), State::Init);
    assert_eq!(e.poll_timeout(), Some(ms(2000)));
    // A second Start does not restart the delay.
    e.handle_input(ms(500), Input::Start);
    assert_eq!(e.poll_timeout(), Some(ms(2000)));
    rx(&mut e, ms(1000), HIGHER, &v3(HIGHER, 200));
    assert_eq!(state(&e), State::Init);
    e.handle_timeout(ms(2000));
    assert_eq!(
        transitions(&drain(&mut e)),
        vec![(State::Init, State::Backup, Reason::Startup)]
    );
    assert_eq!(
        e.poll_timeout(),
        Some(ms(2000) + Duration::from_micros(3_609_375))
    );
}

/// keepalived.conf(5) `dont_track_primary`: "ignore VRRP interface faults": link loss on the
/// instance's own interface does not make it FAULT (without it: FAULT).
#[test]
fn dont_track_primary_ignores_the_own_interface_link() {
    for ignore in [false, true] {
        let mut c = cfg(Version::V3);
        c.dont_track_primary = ignore;
        let mut e = started(c, ms(0));
        drain(&mut e);
        e.handle_input(
            ms(100),
            Input::Link {
                iface: IfaceId(0),
                up: false,
            },
        );
        drain(&mut e);
        assert_eq!(state(&e), if ignore { State::Backup } else { State::Fault });
    }
}

#[test]
fn fault_to_backup_when_link_returns() {
    let mut e = backup();
    e.handle_input(
        ms(100),
        Input::Link {
            iface: IfaceId(0),
            up: false,
        },
    );
    drain(&mut e);
    e.handle_input(
        ms(200),
        Input::Link {
            iface: IfaceId(0),
            up: true,
        },
    );
    assert_eq!(
        transitions(&drain(&mut e)),
        vec![(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(
        e.poll_timeout(),
        Some(ms(200) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn shutdown_master_sends_priority_zero_and_goes_init() {
    let (mut e, t) = master();
    e.handle_input(t, Input::Shutdown);
    let a = drain(&mut e);
    assert_eq!(sent_priorities(&a), vec![0]);
    assert!(matches!(a[1], Action::RemoveAddresses { .. }));
    assert_eq!(
        transitions(&a),
        vec![(State::Master, State::Init, Reason::Shutdown)]
    );
    assert_eq!(stats(&e).priority_zero_sent, 1);
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn shutdown_backup_goes_init_silently() {
    let mut e = backup();
    e.handle_input(ms(5), Input::Shutdown);
    let a = drain(&mut e);
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Init, Reason::Shutdown)]
    );
    assert!(sent_priorities(&a).is_empty());
}

#[test]
fn shutdown_fault_goes_init() {
    let mut e = backup();
    e.handle_input(
        ms(5),
        Input::Link {
            iface: IfaceId(0),
            up: false,
        },
    );
    drain(&mut e);
    e.handle_input(ms(6), Input::Shutdown);
    assert_eq!(
        transitions(&drain(&mut e)),
        vec![(State::Fault, State::Init, Reason::Shutdown)]
    );
}

#[test]
fn backup_hearing_priority_zero_takes_over_after_skew_time() {
    let mut e = backup();
    rx(&mut e, ms(500), HIGHER, &v3(HIGHER, 200));
    rx(&mut e, ms(1000), HIGHER, &v3(HIGHER, 0));
    assert_eq!(
        e.poll_timeout(),
        Some(ms(1000) + Duration::from_micros(609_375))
    );
    let a = run_until(&mut e, ms(1000) + Duration::from_micros(609_375));
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
    assert_eq!(stats(&e).priority_zero_received, 1);
}

/// RFC 5798 section 6.4.3: after hearing priority 0 the MASTER sends an advert and "Reset the
/// Adver_Timer to Advertisement_Interval": the next periodic advert is one interval after the
/// answer, not at the old deadline (4 s here).
#[test]
fn master_hearing_priority_zero_resets_its_adver_timer() {
    let (mut e, _) = master();
    let heard = ms(3_800);
    assert_eq!(
        sent_priorities(&rx(&mut e, heard, HIGHER, &v3(HIGHER, 0))),
        vec![100]
    );
    let before = run_until(&mut e, heard + Duration::from_millis(999));
    assert_eq!(
        sent_priorities(&before),
        Vec::<u8>::new(),
        "no advert at the old deadline"
    );
    let at = run_until(&mut e, heard + Duration::from_secs(1));
    assert_eq!(sent_priorities(&at), vec![100]);
}

#[test]
fn backup_restarts_down_timer_on_higher_or_equal_priority() {
    let mut e = backup();
    rx(&mut e, ms(2000), HIGHER, &v3(HIGHER, 200));
    assert_eq!(
        e.poll_timeout(),
        Some(ms(2000) + Duration::from_micros(3_609_375))
    );
    rx(&mut e, ms(3000), LOWER, &v3(LOWER, 100));
    assert_eq!(
        e.poll_timeout(),
        Some(ms(3000) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn backup_ignores_lower_priority_when_preempting() {
    let mut e = backup();
    rx(&mut e, ms(2000), LOWER, &v3(LOWER, 50));
    assert_eq!(
        e.poll_timeout(),
        Some(Instant::from_micros(3_609_375)),
        "timer not restarted"
    );
    let a = run_until(&mut e, Instant::from_micros(3_609_375));
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
}

#[test]
fn backup_without_preempt_accepts_lower_priority_master() {
    let mut e = started(cfg(Version::V3).nopreempt(), ms(0));
    drain(&mut e);
    rx(&mut e, ms(2000), LOWER, &v3(LOWER, 50));
    assert_eq!(
        e.poll_timeout(),
        Some(ms(2000) + Duration::from_micros(3_609_375))
    );
}

#[test]
fn preempt_delay_holds_preemption_until_it_expires() {
    let mut e = started(
        cfg(Version::V3).preempt_delay(Duration::from_secs(10)),
        ms(0),
    );
    drain(&mut e);
    // Start-up arms the delay: lower-priority adverts keep restarting the timer until t=10 s.
    for t in (1..=10).map(|s| ms(s * 1000)) {
        let a = run_until(&mut e, t);
        assert!(transitions(&a).is_empty());
        rx(&mut e, t, LOWER, &v3(LOWER, 50));
    }
    // At 10 s the delay has expired: that advert is ignored and the timer runs out.
    let a = run_until(&mut e, ms(9000) + Duration::from_micros(3_609_375));
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
}

/// keepalived's preempt_delay runs from start-up or from the first lower priority heard while
/// preempting, not from an advert heard with preemption off: a BACKUP reloaded from
/// `nopreempt` to preempting holds off for the whole delay after the first lower priority it
/// hears then. (Mutation run 10: `backup_rx`'s second `&&` made into `||` armed the delay on
/// adverts heard without preemption, and the reloaded BACKUP preempted at once.)
#[test]
fn preempt_delay_is_not_armed_by_adverts_heard_without_preemption() {
    let d = Duration::from_secs(10);
    let mut e = started(cfg(Version::V3).nopreempt().preempt_delay(d), ms(0));
    drain(&mut e);
    // A higher priority clears the delay armed at start-up.
    rx(&mut e, ms(500), HIGHER, &v3(HIGHER, 200));
    // A lower-priority master, accepted without preemption, every second up to 20 s.
    for t in (1..=20).map(|s| ms(s * 1000)) {
        assert!(transitions(&run_until(&mut e, t)).is_empty());
        rx(&mut e, t, LOWER, &v3(LOWER, 50));
    }
    e.reload(
        ms(20_000),
        EngineConfig::instances(vec![cfg(Version::V3).preempt_delay(d)]),
    )
    .unwrap();
    drain(&mut e);
    // Preempting now: the delay starts at the first lower priority heard, 21 s, and holds
    // until 31 s.
    for t in (21..=30).map(|s| ms(s * 1000)) {
        let a = run_until(&mut e, t);
        assert!(transitions(&a).is_empty(), "at {t:?}: {a:?}");
        rx(&mut e, t, LOWER, &v3(LOWER, 50));
    }
    let a = run_until(&mut e, ms(30_000) + Duration::from_micros(3_609_375));
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
}

/// Likewise a lower priority heard while the delay is zero arms nothing: a BACKUP reloaded
/// from no preempt_delay to 10 s holds off for 10 s from the first lower priority it hears
/// after the reload. (Mutation run 10: `backup_rx`'s first `&&` made into `||` armed it at
/// the earlier advert, and the reloaded BACKUP preempted at once.)
#[test]
fn preempt_delay_is_not_armed_while_it_is_zero() {
    let mut e = started(cfg(Version::V3), ms(0));
    drain(&mut e);
    // Preempting without a delay: a lower priority is ignored (the takeover is due at 3.6 s).
    rx(&mut e, ms(1000), LOWER, &v3(LOWER, 50));
    e.reload(
        ms(2000),
        EngineConfig::instances(vec![cfg(Version::V3).preempt_delay(Duration::from_secs(10))]),
    )
    .unwrap();
    drain(&mut e);
    // The delay starts at the first lower priority heard now, 2.5 s, and holds until 12.5 s.
    for t in (0..=9).map(|s| ms(2500 + s * 1000)) {
        let a = run_until(&mut e, t);
        assert!(transitions(&a).is_empty(), "at {t:?}: {a:?}");
        rx(&mut e, t, LOWER, &v3(LOWER, 50));
    }
    let a = run_until(&mut e, ms(11_500) + Duration::from_micros(3_609_375));
    assert_eq!(
        transitions(&a),
        vec![(State::Backup, State::Master, Reason::MasterDownTimer)]
    );
}

/// An instance added by a reload with no preempt_delay arms nothing either: reloaded again
/// with a 10 s delay, it holds off for 10 s from the first lower priority it hears after the
/// second reload. (Mutation run 10: `settle_after_reload`'s `preempt_delay > 0` made into
/// `>= 0` armed the hold at the first reload, 0.5 s, and the second reload carried it: the
/// BACKUP preempted at Master_Down_Interval instead.)
#[test]
fn preempt_delay_is_not_armed_by_a_reload_that_adds_the_instance_without_one() {
    let other = InstanceConfig::new("VI_0", "eth0", 50, Version::V3, Family::V4)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101))]);
    let mut e = started(other.clone(), ms(0));
    drain(&mut e);
    e.reload(
        ms(500),
        EngineConfig::instances(vec![other.clone(), cfg(Version::V3)]),
    )
    .unwrap();
    drain(&mut e);
    e.reload(
        ms(1000),
        EngineConfig::instances(vec![
            other,
            cfg(Version::V3).preempt_delay(Duration::from_secs(10)),
        ]),
    )
    .unwrap();
    drain(&mut e);
    let vi1 = e.instance_id("VI_1").unwrap();
    let vi1_moves = |a: &[Action]| {
        a.iter()
            .filter(|x| matches!(x, Action::StateChange { instance, .. } if *instance == vi1))
            .count()
    };
    // The delay starts at the first lower priority heard, 1.5 s, and holds until 11.5 s.
    for t in (0..=9).map(|s| ms(1500 + s * 1000)) {
        let a = run_until(&mut e, t);
        assert_eq!(vi1_moves(&a), 0, "at {t:?}: {a:?}");
        rx(&mut e, t, LOWER, &v3(LOWER, 50));
    }
    assert_eq!(e.instance(vi1).unwrap().state(), State::Backup);
}

/// RFC 5798 section 6.4.3: a MASTER yields to an equal priority only when the sender's
/// address is *greater* than its own; an advert claiming its own address (a looped-back
/// advert, or a router misconfigured with the same address) is not greater, and the MASTER
/// stays. (Mutation run 10: `addr_greater`'s `>` made into `>=` made it step down.)
#[test]
fn master_does_not_yield_to_an_equal_priority_from_its_own_address() {
    let (mut e, t) = master();
    drain(&mut e);
    let a = rx(&mut e, t + Duration::from_millis(100), ME, &v3(ME, 100));
    assert!(transitions(&a).is_empty(), "{a:?}");
    assert_eq!(state(&e), State::Master);
}

/// A MASTER reloaded with a longer interval sends the advert already due on time and joins
/// the new grid after it (`take_instance_state`: never later than the advert already due).
/// Adverts at 5, 6, 7 s on the 1 s grid; reloaded at 6.7 s to 2 s: the next goes at 7 s, not
/// at the 2 s grid's 8 s. (Mutation run 10: the overdue test `at <= now` made into `at > now`
/// moved it to 8 s.)
#[test]
fn a_master_reloaded_with_a_longer_interval_sends_the_advert_already_due() {
    let (mut e, _) = master();
    run_until(&mut e, ms(6700));
    e.reload(
        ms(6700),
        EngineConfig::instances(vec![
            cfg(Version::V3).advert_interval(Duration::from_secs(2))
        ]),
    )
    .unwrap();
    drain(&mut e);
    assert_eq!(e.poll_timeout(), Some(ms(7000)));
    assert_eq!(sent_priorities(&run_until(&mut e, ms(7000))), [100]);
}

#[test]
fn master_answers_lower_priority_at_once() {
    let (mut e, t) = master();
    let a = rx(&mut e, t, HIGHER, &v3(HIGHER, 50));
    assert_eq!(sent_priorities(&a), vec![100]);
    assert!(a.contains(&Action::LowerPriorityHeard {
        instance: InstanceId(0),
        src: HIGHER.into(),
        priority: 50
    }));
}

#[test]
fn spurious_handle_timeout_is_a_no_op() {
    let mut e = backup();
    e.handle_timeout(ms(1));
    assert!(drain(&mut e).is_empty());
    assert_eq!(e.poll_timeout(), Some(Instant::from_micros(3_609_375)));
}

#[test]
fn packets_before_start_change_nothing() {
    let mut e = Engine::new(EngineConfig::instances(vec![cfg(Version::V3)])).unwrap();
    let a = rx(&mut e, ms(0), HIGHER, &v3(HIGHER, 200));
    assert!(transitions(&a).is_empty());
    assert_eq!(state(&e), State::Init);
}

// ----- receive checks (RFC 5798 section 7.1), each dropped, counted, and changing nothing -----

/// Deliver `bytes` to a backup and assert that it was dropped by `rule` without effect.
fn assert_dropped(mut e: Engine, bytes: &[u8], ttl: u8, rule: &str) -> InstanceStats {
    let before_deadline = e.poll_timeout();
    let before = state(&e);
    let a = rx_ttl(&mut e, ms(1000), HIGHER, bytes, ttl);
    // The drop, then its log line (the first of this engine: not held back).
    assert_eq!(a.len(), 2, "{a:?}");
    match &a[0] {
        Action::ProtocolError { rule: r, .. } => assert_eq!(r.name(), rule),
        other => panic!("expected a drop, got {other:?}"),
    }
    match &a[1] {
        Action::Notice(Notice::AdvertDropped {
            rule: r,
            held_back: 0,
            ..
        }) => assert_eq!(r.name(), rule),
        other => panic!("expected the drop's notice, got {other:?}"),
    }
    assert_eq!(state(&e), before);
    assert_eq!(
        e.poll_timeout(),
        before_deadline,
        "a dropped packet must not restart timers"
    );
    assert_eq!(stats(&e).adverts_received, 0);
    assert_eq!(
        stats(&e).drops() + e.router_stats().vrid_errors + e.router_stats().packet_length_errors,
        1
    );
    stats(&e)
}

/// Instance `c`, started, fed one unicast v3 advert (to ME) from `src` with `ttl`.
fn unicast_advert(c: InstanceConfig, src: Ipv4Addr, ttl: u8) -> (Engine, Vec<Action>) {
    let mut e = started(c, ms(0));
    drain(&mut e);
    let a = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 200,
        interval: Interval::Centiseconds(100),
        addrs: Addrs::List(&[IpAddr::V4(VIP)]),
        auth: Auth::None,
        checksum: ChecksumForm::PseudoHeader,
        trailing: 0,
    };
    let ctx = IpContext {
        src: src.into(),
        dst: ME.into(),
    };
    let mut buf = vec![0u8; wire::MAX_ADVERT_LEN];
    let n = wire::emit(&a, &ctx, &mut buf).unwrap();
    e.handle_input(
        ms(1000),
        Input::Packet(Received {
            iface: IfaceId(0),
            src: src.into(),
            dst: ME.into(),
            ttl,
            payload: &buf[..n],
        }),
    );
    let actions = drain(&mut e);
    (e, actions)
}

fn unicast_cfg() -> InstanceConfig {
    let mut c = cfg(Version::V3);
    c.unicast_peers = vec![IpAddr::V4(HIGHER), IpAddr::V4(LOWER)];
    c
}

// ----- operator notices (crate::notices) ----------------------------------------------------

fn notices(actions: &[Action]) -> Vec<Notice> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn dropped_count(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::ProtocolError { .. }))
        .count()
}

/// keepalived.conf(5) `unicast_ttl`: a unicast instance's adverts carry it; a multicast
/// advert keeps 255 (RFC 5798 section 5.1.1.3) whatever the setting says.
#[test]
fn unicast_ttl_goes_on_unicast_adverts_only() {
    let t0 = Instant::from_millis(0);
    let ttls = |mut c: InstanceConfig| -> Vec<Option<u8>> {
        c.priority = 255;
        c.unicast_send_ttl = Some(64);
        let mut e = started(c, t0);
        drain(&mut e)
            .iter()
            .filter_map(|a| match a {
                Action::SendAdvert(s) => Some(s.ttl),
                _ => None,
            })
            .collect()
    };
    let unicast = ttls(unicast_cfg());
    assert!(
        !unicast.is_empty() && unicast.iter().all(|t| *t == Some(64)),
        "{unicast:?}"
    );
    let multicast = ttls(cfg(Version::V3));
    assert!(
        !multicast.is_empty() && multicast.iter().all(Option::is_none),
        "{multicast:?}"
    );
}

/// keepalived.conf(5) `interface_up_down_delays` (engine/link_delay.rs): a link-down shorter
/// than the down delay never reaches the instance; a longer one does, at the delay; the up
/// delay holds the way back; and the delay is bounded by (down_timer_adverts - 1) x the
/// advertisement interval.
#[test]
fn interface_delays_debounce_link_changes() {
    let build = |down: u64, up: u64| {
        let mut c = cfg(Version::V3);
        c.priority = 255;
        let mut ec = EngineConfig::instances(vec![c]);
        ec.link_delays = vec![crate::setup::LinkDelay {
            interface: "eth0".into(),
            down: Duration::from_millis(down),
            up: Duration::from_millis(up),
        }];
        let mut e = Engine::new(ec).unwrap();
        let eth0 = e.interface_id("eth0").unwrap();
        e.handle_input(
            ms(0),
            Input::PrimaryAddress {
                iface: eth0,
                family: Family::V4,
                addr: Some(ME.into()),
            },
        );
        e.handle_input(ms(0), Input::Start);
        drain(&mut e);
        assert_eq!(state(&e), State::Master);
        (e, eth0)
    };
    let link = |e: &mut Engine, t: u64, iface, up| {
        e.handle_input(ms(t), Input::Link { iface, up });
        drain(e)
    };
    let tick = |e: &mut Engine, t: u64| {
        e.handle_timeout(ms(t));
        drain(e)
    };
    // A 400 ms outage under a 1 s down delay: nothing happens.
    let (mut e, eth0) = build(1000, 500);
    link(&mut e, 1000, eth0, false);
    assert!(e.poll_timeout().is_some_and(|t| t <= ms(2000)));
    link(&mut e, 1400, eth0, true);
    tick(&mut e, 2100);
    assert_eq!(state(&e), State::Master);
    // A longer one: FAULT at the delay, not before; back after the up delay.
    link(&mut e, 3000, eth0, false);
    tick(&mut e, 3990);
    assert_eq!(state(&e), State::Master);
    tick(&mut e, 4000);
    assert_eq!(state(&e), State::Fault);
    link(&mut e, 5000, eth0, true);
    tick(&mut e, 5490);
    assert_eq!(state(&e), State::Fault);
    tick(&mut e, 5500);
    assert_ne!(state(&e), State::Fault);
    // A 5 s down delay is bounded by 2 x 1 s less 1/256 s (down_timer_adverts 3).
    let (mut e, eth0) = build(5000, 0);
    link(&mut e, 1000, eth0, false);
    tick(&mut e, 2990);
    assert_eq!(state(&e), State::Master);
    tick(&mut e, 3000);
    assert_eq!(state(&e), State::Fault);
}

mod config_fault;
mod receive;
