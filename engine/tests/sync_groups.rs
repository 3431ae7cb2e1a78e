//! The seed's Transition State Matrix, table-driven: for each of the six handlers (by the state
//! before and after of the member that moved) and for a two- and a three-member group, the
//! actions of the one engine call that moved the group and the states of all members after it
//! (insta snapshots; every line carries its virtual time).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use vigil_engine::setup::SyncGroupConfig;
use vigil_engine::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext, Version,
};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received, State,
};

/// Members: VI_0 on eth0 (IPv4), VI_1 on eth1 (IPv6), VI_2 on eth2 (IPv4).
fn group_engine(members: usize, priority: u8) -> Engine {
    let mut instances = Vec::new();
    for k in 0..members {
        let (family, vip): (Family, IpAddr) = if k == 1 {
            (Family::V6, "2001:db8:1::100".parse().unwrap())
        } else {
            (
                Family::V4,
                format!("198.51.100.{}", 100 + k).parse().unwrap(),
            )
        };
        instances.push(
            InstanceConfig::new(
                &format!("VI_{k}"),
                &format!("eth{k}"),
                51,
                Version::V3,
                family,
            )
            .priority(priority)
            .vips([vip]),
        );
    }
    let cfg = EngineConfig {
        instances,
        sync_groups: vec![SyncGroupConfig {
            name: "G".into(),
            members: (0..members).map(|k| format!("VI_{k}")).collect(),
            tracking_weight: false,
        }],
        ..Default::default()
    };
    let mut e = Engine::new(cfg).unwrap();
    for k in 0..members {
        let iface = e.interface_id(&format!("eth{k}")).unwrap();
        let (family, addr): (Family, IpAddr) = if k == 1 {
            (Family::V6, "fe80::1".parse().unwrap())
        } else {
            (
                Family::V4,
                format!("198.51.100.{}", 10 + k).parse().unwrap(),
            )
        };
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface,
                family,
                addr: Some(addr),
            },
        );
    }
    e
}

fn describe(e: &Engine, now: Instant, a: &Action) -> String {
    let name = |id| {
        e.instance(id)
            .map(|i| i.name().to_string())
            .unwrap_or_default()
    };
    match a {
        Action::SendAdvert(s) => format!("{now} {} advert prio {}", name(s.instance), s.priority),
        Action::AddAddresses { instance, .. } => format!("{now} {} add addresses", name(*instance)),
        Action::RemoveAddresses { instance, .. } => {
            format!("{now} {} remove addresses", name(*instance))
        }
        Action::Announce { instance, .. } => format!("{now} {} announce", name(*instance)),
        Action::StateChange {
            instance,
            from,
            to,
            reason,
            ..
        } => {
            format!("{now} {} {from} -> {to} ({reason})", name(*instance))
        }
        Action::GroupStateChange {
            group,
            from,
            to,
            cause,
        } => {
            let g = e.group(*group).map(|g| g.0.to_string()).unwrap_or_default();
            format!(
                "{now} GROUP {g} {from} -> {to} (by {} {})",
                name(cause.0),
                cause.1
            )
        }
        other => format!("{now} {other:?}"),
    }
}

/// Run one call and describe its actions, then every member's state.
fn call(e: &mut Engine, now: Instant, f: impl FnOnce(&mut Engine)) -> String {
    f(e);
    let mut out = String::new();
    let actions: Vec<Action> = std::iter::from_fn(|| e.poll_action()).collect();
    for a in &actions {
        writeln!(out, "{}", describe(e, now, a)).unwrap();
    }
    let states: Vec<String> = e
        .instances()
        .map(|i| format!("{}={}", i.name(), i.state()))
        .collect();
    writeln!(out, "after: {}", states.join(" ")).unwrap();
    out
}

fn drain(e: &mut Engine) {
    while e.poll_action().is_some() {}
}

fn run_to(e: &mut Engine, until: Instant) {
    while let Some(t) = e.poll_timeout() {
        if t > until {
            break;
        }
        e.handle_timeout(t);
        drain(e);
    }
}

fn all(e: &Engine, s: State) -> bool {
    e.instances().all(|i| i.state() == s)
}

/// A higher-priority advert for member `k` from a peer router.
fn peer_advert(e: &mut Engine, now: Instant, k: usize, prio: u8) {
    let (src, dst, vip): (IpAddr, IpAddr, IpAddr) = if k == 1 {
        (
            "fe80::2".parse().unwrap(),
            wire::MCAST_V6.into(),
            "2001:db8:1::100".parse().unwrap(),
        )
    } else {
        (
            format!("198.51.100.{}", 20 + k).parse().unwrap(),
            wire::MCAST_V4.into(),
            format!("198.51.100.{}", 100 + k).parse().unwrap(),
        )
    };
    let list = [vip];
    let a = Advert {
        version: Version::V3,
        vrid: 51,
        priority: prio,
        interval: Interval::Centiseconds(100),
        addrs: Addrs::List(&list),
        auth: Auth::None,
        checksum: ChecksumForm::PseudoHeader,
        trailing: 0,
    };
    let mut buf = [0u8; 64];
    let n = wire::emit(&a, &IpContext { src, dst }, &mut buf).unwrap();
    let iface = e.interface_id(&format!("eth{k}")).unwrap();
    e.handle_input(
        now,
        Input::Packet(Received {
            iface,
            src,
            dst,
            ttl: 255,
            payload: &buf[..n],
        }),
    );
}

fn link(e: &mut Engine, now: Instant, k: usize, up: bool) {
    let iface: IfaceId = e.interface_id(&format!("eth{k}")).unwrap();
    e.handle_input(now, Input::Link { iface, up });
}

/// Handler 1, B->M: the group goes MASTER only when every member's timer has run out, all in
/// the call that expires the last one.
fn b_to_m(n: usize) -> String {
    let mut e = group_engine(n, 100);
    e.handle_input(Instant::ZERO, Input::Start);
    drain(&mut e);
    // The last member heard a master at 1 s, so its timer runs until 4.609375 s.
    peer_advert(&mut e, Instant::from_millis(1000), n - 1, 150);
    drain(&mut e);
    run_to(&mut e, Instant::from_millis(4000));
    assert!(
        all(&e, State::Backup),
        "first timers ran out, but the group waits"
    );
    let t = Instant::from_micros(4_609_375);
    assert_eq!(e.poll_timeout(), Some(t));
    let out = call(&mut e, t, |e| e.handle_timeout(t));
    assert!(all(&e, State::Master));
    out
}

/// Handler 2, B->F: one member's link goes down; the whole group is FAULT in that call.
fn b_to_f(n: usize) -> String {
    let mut e = group_engine(n, 100);
    e.handle_input(Instant::ZERO, Input::Start);
    drain(&mut e);
    let t = Instant::from_millis(500);
    let out = call(&mut e, t, |e| link(e, t, 0, false));
    assert!(all(&e, State::Fault));
    out
}

fn master_group(n: usize) -> Engine {
    let mut e = group_engine(n, 100);
    e.handle_input(Instant::ZERO, Input::Start);
    drain(&mut e);
    run_to(&mut e, Instant::from_millis(3700));
    assert!(all(&e, State::Master));
    e
}

/// Handler 3, M->B: one member hears a higher priority; every member goes BACKUP.
fn m_to_b(n: usize) -> String {
    let mut e = master_group(n);
    let t = Instant::from_millis(3800);
    let out = call(&mut e, t, |e| peer_advert(e, t, n - 1, 200));
    assert!(all(&e, State::Backup));
    out
}

/// Handler 4, M->F: one member loses its link; masters on working links leave with priority 0.
fn m_to_f(n: usize) -> String {
    let mut e = master_group(n);
    let t = Instant::from_millis(3800);
    let out = call(&mut e, t, |e| link(e, t, 0, false));
    assert!(all(&e, State::Fault));
    out
}

/// Handler 5, F->B: the link returns; the whole group leaves FAULT for BACKUP in that call.
fn f_to_b(n: usize) -> String {
    let mut e = group_engine(n, 100);
    e.handle_input(Instant::ZERO, Input::Start);
    drain(&mut e);
    link(&mut e, Instant::from_millis(500), 0, false);
    drain(&mut e);
    let t = Instant::from_millis(900);
    let out = call(&mut e, t, |e| link(e, t, 0, true));
    assert!(all(&e, State::Backup));
    out
}

/// Handler 6, F->M: a group of address owners leaves FAULT straight for MASTER.
fn f_to_m(n: usize) -> String {
    let mut e = group_engine(n, 255);
    e.handle_input(Instant::ZERO, Input::Start);
    drain(&mut e);
    assert!(all(&e, State::Master));
    link(&mut e, Instant::from_millis(500), 0, false);
    drain(&mut e);
    assert!(all(&e, State::Fault));
    let t = Instant::from_millis(900);
    let out = call(&mut e, t, |e| link(e, t, 0, true));
    assert!(all(&e, State::Master));
    out
}

#[test]
fn matrix() {
    type Handler = fn(usize) -> String;
    let handlers: [(&str, Handler); 6] = [
        ("1 B->M", b_to_m),
        ("2 B->F", b_to_f),
        ("3 M->B", m_to_b),
        ("4 M->F", m_to_f),
        ("5 F->B", f_to_b),
        ("6 F->M", f_to_m),
    ];
    let mut out = String::new();
    for (name, h) in handlers {
        for n in [2, 3] {
            writeln!(out, "== handler {name}, {n} members").unwrap();
            out.push_str(&h(n));
        }
    }
    insta::assert_snapshot!(out);
}

/// A group with members on two interfaces, one of which loses link: all FAULT in one call, and
/// all BACKUP again in one call when the link returns (then MASTER together).
#[test]
fn link_loss_on_one_interface_moves_the_whole_group() {
    let mut e = master_group(2);
    link(&mut e, Instant::from_millis(4000), 1, false);
    assert!(all(&e, State::Fault));
    drain(&mut e);
    link(&mut e, Instant::from_millis(5000), 1, true);
    assert!(all(&e, State::Backup));
    drain(&mut e);
    run_to(
        &mut e,
        Instant::from_millis(5000) + Duration::from_micros(3_609_375),
    );
    assert!(all(&e, State::Master));
}
