//! Drive the engine's receive or timer path a given number of times, for instruction counting
//! under valgrind (`engine/benches/instructions.sh`): instruction counts do not depend on what
//! else the machine is doing, so they complement the criterion timings on a shared machine.
//!
//! Usage: `rx_cost (receive|timer) INSTANCES ITERATIONS`

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_engine::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext, Version,
};
use vigil_engine::{Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(n), Some(iters)) = (
        args.get(1),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: rx_cost (receive|timer) INSTANCES ITERATIONS");
        std::process::exit(2);
    };
    let priority = if mode == "timer" { 255 } else { 100 };
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
            .vips([IpAddr::V4(Ipv4Addr::new(198, 51, (i / 250) as u8, vrid))])
        })
        .collect();
    let Ok(mut e) = Engine::new(EngineConfig::instances(instances)) else {
        eprintln!("bad configuration");
        std::process::exit(2);
    };
    let ifaces: Vec<IfaceId> = e.interfaces().map(|(id, _)| id).collect();
    for iface in ifaces {
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface,
                family: Family::V4,
                addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            },
        );
    }
    e.handle_input(Instant::ZERO, Input::Start);
    while e.poll_action().is_some() {}
    let src: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250));
    let pkts: Vec<(IfaceId, Vec<u8>)> = (0..n)
        .map(|i| {
            let vrid = (i % 250 + 1) as u8;
            let vip = [IpAddr::V4(Ipv4Addr::new(198, 51, (i / 250) as u8, vrid))];
            let a = Advert {
                version: Version::V3,
                vrid,
                priority: 200,
                interval: Interval::Centiseconds(1),
                addrs: Addrs::List(&vip),
                auth: Auth::None,
                checksum: ChecksumForm::PseudoHeader,
                trailing: 0,
            };
            let mut buf = vec![0u8; 64];
            let len = wire::emit(
                &a,
                &IpContext {
                    src,
                    dst: wire::MCAST_V4.into(),
                },
                &mut buf,
            )
            .unwrap_or(0);
            buf.truncate(len);
            (IfaceId((i / 250) as u16), buf)
        })
        .collect();
    let mut now = Instant::from_millis(1);
    let mut sent = 0u64;
    for k in 0..iters {
        if mode == "timer" {
            let Some(due) = e.poll_timeout() else { break };
            e.handle_timeout(due);
        } else {
            let (iface, bytes) = &pkts[(k as usize) % pkts.len()];
            now = now + Duration::from_nanos(100);
            e.handle_input(
                now,
                Input::Packet(Received {
                    iface: *iface,
                    src,
                    dst: wire::MCAST_V4.into(),
                    ttl: 255,
                    payload: bytes,
                }),
            );
        }
        while let Some(a) = e.poll_action() {
            sent += u64::from(matches!(a, vigil_engine::Action::SendAdvert(_)));
        }
    }
    println!("{mode} {n} {iters} adverts_sent={sent}");
}
