//! The configured start-up state (keepalived.conf(5) `state MASTER|BACKUP`, [`WantState`]):
//! keepalived 2.2.7's `vrrp_init_state` on top of RFC 5798 section 6.4.1.

use super::*;
use crate::wire::{Addrs, Advert, ChecksumForm, Interval, IpContext};
use std::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

/// v3, 1 s, priority `prio`, wanting `want`.
fn cfg(prio: u8, want: WantState) -> InstanceConfig {
    let mut c =
        InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4).vips([IpAddr::V4(VIP)]);
    c.priority = prio;
    c.want_state = want;
    c
}

/// Started at t = 0 on eth0 (up, 192.0.2.10); returns the engine and its start-up transitions.
fn started(c: InstanceConfig) -> (Engine, Vec<(State, State, Reason)>) {
    let mut e = Engine::new(EngineConfig::instances(vec![c])).unwrap();
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
    let t = transitions(&mut e);
    (e, t)
}

fn transitions(e: &mut Engine) -> Vec<(State, State, Reason)> {
    std::iter::from_fn(|| e.poll_action())
        .filter_map(|a| match a {
            Action::StateChange {
                from, to, reason, ..
            } => Some((from, to, reason)),
            _ => None,
        })
        .collect()
}

/// Run timers up to and including `until`; returns the transitions.
fn run_until(e: &mut Engine, until: Instant) -> Vec<(State, State, Reason)> {
    let mut out = Vec::new();
    while let Some(t) = e.poll_timeout() {
        if t > until {
            break;
        }
        e.handle_timeout(t);
        out.extend(transitions(e));
    }
    out
}

/// A v3 advert of priority `prio` from the peer, heard at `now`.
fn hear(e: &mut Engine, now: Instant, prio: u8) -> Vec<(State, State, Reason)> {
    let addrs = [IpAddr::V4(VIP)];
    let a = Advert {
        version: Version::V3,
        vrid: 51,
        priority: prio,
        interval: Interval::Centiseconds(100),
        addrs: Addrs::List(&addrs),
        auth: Auth::None,
        checksum: ChecksumForm::PseudoHeader,
        trailing: 0,
    };
    let mut buf = vec![0u8; wire::MAX_ADVERT_LEN];
    let ctx = IpContext {
        src: PEER.into(),
        dst: wire::MCAST_V4.into(),
    };
    let n = wire::emit(&a, &ctx, &mut buf).unwrap();
    buf.truncate(n);
    e.handle_input(
        now,
        Input::Packet(Received {
            iface: IfaceId(0),
            src: PEER.into(),
            dst: wire::MCAST_V4.into(),
            ttl: 255,
            payload: &buf,
        }),
    );
    transitions(e)
}

const START_BACKUP: (State, State, Reason) = (State::Init, State::Backup, Reason::Startup);
const TAKEOVER: (State, State, Reason) = (State::Backup, State::Master, Reason::MasterDownTimer);

/// One Master_Adver_Interval (1 s) plus the minimal Skew_Time (1/256 s, priority 255's).
const ONE_INTERVAL_AND_MIN_SKEW_NS: u64 = 1_000_000_000 + 3_906_250;

#[test]
fn state_master_below_255_takes_over_after_one_interval_and_the_minimal_skew() {
    let (mut e, t) = started(cfg(100, WantState::Master));
    assert_eq!(t, vec![START_BACKUP], "a non-owner starts as BACKUP");
    let due = Instant::from_nanos(ONE_INTERVAL_AND_MIN_SKEW_NS);
    assert_eq!(e.poll_timeout(), Some(due));
    assert!(run_until(
        &mut e,
        Instant::from_nanos(ONE_INTERVAL_AND_MIN_SKEW_NS - 1)
    )
    .is_empty());
    assert_eq!(run_until(&mut e, due), vec![TAKEOVER]);
}

#[test]
fn state_master_below_255_hearing_a_master_in_the_window_stays_backup() {
    let (mut e, _) = started(cfg(100, WantState::Master));
    // A higher priority master's advert half way through the short window.
    let heard = Instant::from_millis(500);
    assert!(run_until(&mut e, heard).is_empty());
    assert!(hear(&mut e, heard, 200).is_empty());
    // The normal Master_Down_Interval from the advert: 3 s + (256 - 100) / 256 s.
    let normal = Instant::from_nanos(500_000_000 + 3_000_000_000 + 609_375_000);
    assert_eq!(e.poll_timeout(), Some(normal));
    assert!(run_until(&mut e, Instant::from_nanos(normal.as_nanos() - 1)).is_empty());
    assert_eq!(state(&e), State::Backup);
    assert_eq!(run_until(&mut e, normal), vec![TAKEOVER]);
}

#[test]
fn state_master_below_255_hearing_a_lower_priority_takes_over_with_preemption() {
    // A lower priority master: the instance preempts as any BACKUP with Preempt_Mode does (it
    // discards the advert and lets its timer run): still after the short window.
    let (mut e, _) = started(cfg(100, WantState::Master));
    assert!(hear(&mut e, Instant::from_millis(500), 50).is_empty());
    let due = Instant::from_nanos(ONE_INTERVAL_AND_MIN_SKEW_NS);
    assert_eq!(run_until(&mut e, due), vec![TAKEOVER]);
}

#[test]
fn state_backup_keeps_the_master_down_interval() {
    for want in [WantState::Backup, WantState::ByPriority] {
        let (mut e, t) = started(cfg(100, want));
        assert_eq!(t, vec![START_BACKUP]);
        // 3 s + (256 - 100) / 256 s.
        let due = Instant::from_nanos(3_609_375_000);
        assert_eq!(e.poll_timeout(), Some(due), "{want:?}");
        assert_eq!(run_until(&mut e, due), vec![TAKEOVER]);
    }
}

#[test]
fn the_owner_becomes_master_at_once_unless_told_backup() {
    for want in [WantState::Master, WantState::ByPriority] {
        let (_, t) = started(cfg(255, want));
        assert_eq!(
            t,
            vec![(State::Init, State::Master, Reason::AddressOwner)],
            "{want:?}"
        );
    }
    // keepalived's owner with `state BACKUP`: BACKUP with the normal Master_Down_Interval
    // (3 s + 1/256 s), then MASTER when no one else is heard.
    let (mut e, t) = started(cfg(255, WantState::Backup));
    assert_eq!(t, vec![START_BACKUP]);
    let due = Instant::from_nanos(3_003_906_250);
    assert_eq!(e.poll_timeout(), Some(due));
    assert_eq!(run_until(&mut e, due), vec![TAKEOVER]);
}

#[test]
fn the_short_wait_is_only_for_start_up_not_for_leaving_fault() {
    let (mut e, _) = started(cfg(100, WantState::Master));
    let eth0 = e.interface_id("eth0").unwrap();
    let t = Instant::from_millis(100);
    e.handle_input(
        t,
        Input::Link {
            iface: eth0,
            up: false,
        },
    );
    e.handle_input(
        t,
        Input::Link {
            iface: eth0,
            up: true,
        },
    );
    let tr = transitions(&mut e);
    assert_eq!(tr.last().map(|x| x.1), Some(State::Backup));
    // Leaving FAULT waits the full Master_Down_Interval, as RFC 5798 6.4.1's BACKUP does.
    assert_eq!(
        e.poll_timeout(),
        Some(Instant::from_nanos(100_000_000 + 3_609_375_000))
    );
}

fn state(e: &Engine) -> State {
    e.instance(InstanceId(0)).unwrap().state()
}
