//! The configured start-up state (keepalived.conf(5) `state MASTER|BACKUP`, [`WantState`]) on
//! top of RFC 5798 section 6.4.1, as keepalived 2.2.7 runs it (measured).

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

/// Master_Down_Interval at priority 100, v3, 1 s: 3 s + (256 - 100) / 256 s.
const FULL_NS: u64 = 3_609_375_000;

#[test]
fn a_non_owner_waits_the_full_master_down_interval_whatever_its_state() {
    // keepalived 2.2.7, measured: `state MASTER` at priority 150 took over after 3.45 s, the
    // full interval (not vrrp_init_state's one interval plus the minimal skew).
    for want in [WantState::Master, WantState::Backup, WantState::ByPriority] {
        let (mut e, t) = started(cfg(100, want));
        assert_eq!(t, vec![START_BACKUP], "{want:?}");
        let due = Instant::from_nanos(FULL_NS);
        assert_eq!(e.poll_timeout(), Some(due), "{want:?}");
        assert!(run_until(&mut e, Instant::from_nanos(FULL_NS - 1)).is_empty());
        assert_eq!(run_until(&mut e, due), vec![TAKEOVER], "{want:?}");
    }
}

#[test]
fn state_master_below_255_hearing_a_master_stays_backup() {
    let (mut e, _) = started(cfg(100, WantState::Master));
    let heard = Instant::from_millis(500);
    assert!(run_until(&mut e, heard).is_empty());
    assert!(hear(&mut e, heard, 200).is_empty());
    let normal = Instant::from_nanos(500_000_000 + FULL_NS);
    assert_eq!(e.poll_timeout(), Some(normal));
    assert!(run_until(&mut e, Instant::from_nanos(normal.as_nanos() - 1)).is_empty());
    assert_eq!(state(&e), State::Backup);
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
    // keepalived 2.2.7, measured: an owner with `state BACKUP` starts as BACKUP and takes over
    // after the full Master_Down_Interval (3 s + 1/256 s; it took 3.08 s).
    let (mut e, t) = started(cfg(255, WantState::Backup));
    assert_eq!(t, vec![START_BACKUP]);
    let due = Instant::from_nanos(3_003_906_250);
    assert_eq!(e.poll_timeout(), Some(due));
    assert_eq!(run_until(&mut e, due), vec![TAKEOVER]);
}

fn state(e: &Engine) -> State {
    e.instance(InstanceId(0)).unwrap().state()
}
