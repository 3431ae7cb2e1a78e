//! The shared workload of the engine's benchmarks, its allocation test and its instruction
//! counter (included with `#[path]`): `n` VRRPv3 instances, 250 VRIDs per interface, 10 ms
//! adverts, one VIP each, and one advert from a higher-priority master for each of them.

#![allow(dead_code)] // each includer uses a part

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_engine::setup::{ScriptConfig, SyncGroupConfig, Track, TrackTarget};
use vigil_engine::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext, Version,
};
use vigil_engine::{Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received};

/// The source of every advert in [`adverts`].
pub(crate) const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250));

/// The VIP of instance `i`.
fn vip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, (i / 250) as u8, (i % 250 + 1) as u8))
}

/// `n` instances at `priority` (255: owners, MASTER at once).
pub(crate) fn config(n: usize, priority: u8) -> EngineConfig {
    let instances = (0..n)
        .map(|i| {
            let vrid = (i % 250 + 1) as u8;
            InstanceConfig::new(
                &format!("VI_{i}"),
                &format!("eth{}", i / 250),
                vrid,
                Version::V3,
                Family::V4,
            )
            .priority(priority)
            .advert_interval(Duration::from_millis(10))
            .vips([vip(i)])
        })
        .collect();
    EngineConfig::instances(instances)
}

/// The workload in sync groups of two, each instance tracking a script (weight -10) and another
/// interface (weight -20): the sync-group / tracking issue's configuration shape.
pub(crate) fn grouped(n: usize) -> EngineConfig {
    let mut cfg = config(n, 100);
    cfg.scripts.push(ScriptConfig {
        name: "chk".into(),
        interval: core::time::Duration::from_secs(1),
        rise: 2,
        fall: 2,
        timeout: Duration::from_secs(1),
        init_fail: false,
    });
    for inst in &mut cfg.instances {
        inst.track.push(Track {
            target: TrackTarget::Script("chk".into()),
            weight: -10,
            reverse: false,
        });
        inst.track.push(Track {
            target: TrackTarget::Interface("uplink".into()),
            weight: -20,
            reverse: false,
        });
    }
    cfg.sync_groups = cfg
        .instances
        .chunks(2)
        .enumerate()
        .map(|(k, pair)| SyncGroupConfig {
            name: format!("G{k}"),
            members: pair.iter().map(|i| i.name.clone()).collect(),
            tracking_weight: true,
        })
        .collect();
    cfg
}

/// Build, report every interface's primary address, start, and drain the start-up actions.
pub(crate) fn start(cfg: EngineConfig) -> Engine {
    let Ok(mut e) = Engine::new(cfg) else {
        panic!("the workload configuration is valid");
    };
    let ifaces: Vec<IfaceId> = e.interfaces().map(|(id, _)| id).collect();
    for (k, iface) in ifaces.into_iter().enumerate() {
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface,
                family: Family::V4,
                addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, (k % 200 + 1) as u8))),
            },
        );
    }
    e.handle_input(Instant::ZERO, Input::Start);
    while e.poll_action().is_some() {}
    e
}

/// One priority-200 advert from [`PEER`] for each of the `n` instances of `e`: (interface,
/// bytes). Interfaces are looked up by name: tracked interfaces take ids too.
pub(crate) fn adverts(e: &Engine, n: usize) -> Vec<(IfaceId, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let list = [vip(i)];
            let a = Advert {
                version: Version::V3,
                vrid: (i % 250 + 1) as u8,
                priority: 200,
                interval: Interval::Centiseconds(1),
                addrs: Addrs::List(&list),
                auth: Auth::None,
                checksum: ChecksumForm::PseudoHeader,
                trailing: 0,
            };
            let mut buf = vec![0u8; 64];
            let ctx = IpContext {
                src: PEER,
                dst: wire::MCAST_V4.into(),
            };
            let len = wire::emit(&a, &ctx, &mut buf).unwrap_or(0);
            buf.truncate(len);
            let Some(iface) = e.interface_id(&format!("eth{}", i / 250)) else {
                panic!("the workload's interfaces exist");
            };
            (iface, buf)
        })
        .collect()
}

/// Deliver one advert at `now` and drain the actions; returns how many adverts were sent.
pub(crate) fn deliver(e: &mut Engine, now: Instant, iface: IfaceId, bytes: &[u8]) -> usize {
    e.handle_input(
        now,
        Input::Packet(Received {
            iface,
            src: PEER,
            dst: wire::MCAST_V4.into(),
            ttl: 255,
            payload: bytes,
        }),
    );
    drain(e)
}

/// Serve the deadlines of one 10 ms interval (the workload's) and drain the actions; returns
/// how many adverts were sent.
pub(crate) fn tick(e: &mut Engine) -> usize {
    // One interval of the schedule: more than `instance::GRID_BATCH` masters of one interval
    // fall due at several phases of it (`instance::spread_grid_phases`), each its own deadline.
    let Some(first) = e.poll_timeout() else {
        return drain(e);
    };
    let mut sent = 0;
    while let Some(due) = e.poll_timeout() {
        if due >= first + Duration::from_millis(10) {
            break;
        }
        e.handle_timeout(due);
        sent += drain(e);
    }
    sent
}

fn drain(e: &mut Engine) -> usize {
    let mut sent = 0;
    while let Some(a) = e.poll_action() {
        if let vigil_engine::Action::SendAdvert(s) = &a {
            sent += s.destinations().len();
        }
        std::hint::black_box(a);
    }
    sent
}
