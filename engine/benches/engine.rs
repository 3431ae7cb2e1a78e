//! Engine benchmarks: ns per received advert through `handle_input` at 1, 100 and 10,000
//! instances (the goal is <= 100 ns, flat in the instance count), ns per advert on the timer path
//! (masters whose adverts fall due together), and ns per encoded advert.
//!
//! Run: `cargo bench -p vigil-engine --bench engine`. Figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigil_engine::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext, Version,
};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received,
};

/// `n` v3 instances, 250 VRIDs per interface, 10 ms adverts, each with one VIP.
fn config(n: usize, priority: u8) -> EngineConfig {
    let instances = (0..n)
        .map(|i| {
            let vrid = (i % 250 + 1) as u8;
            let iface = format!("eth{}", i / 250);
            InstanceConfig::new(&format!("VI_{i}"), &iface, vrid, Version::V3, Family::V4)
                .priority(priority)
                .advert_interval(Duration::from_millis(10))
                .vips([IpAddr::V4(Ipv4Addr::new(198, 51, (i / 250) as u8, vrid))])
        })
        .collect();
    EngineConfig::instances(instances)
}

/// The same instances, in sync groups of two, each tracking a script (weight -10) and another
/// interface (weight -20): the issue-3 configuration shape.
fn grouped_config(n: usize, priority: u8) -> EngineConfig {
    use vigil_engine::setup::{ScriptConfig, SyncGroupConfig, Track, TrackTarget};
    let mut cfg = config(n, priority);
    cfg.scripts.push(ScriptConfig {
        name: "chk".into(),
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

fn started(n: usize, priority: u8) -> Engine {
    start(Engine::new(config(n, priority)).expect("config"))
}

fn start(mut e: Engine) -> Engine {
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

/// One advert from a higher-priority master for each instance: (iface, bytes).
fn adverts(n: usize) -> Vec<(IfaceId, Vec<u8>)> {
    let src: IpAddr = "192.0.2.250".parse().expect("addr");
    (0..n)
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
            .expect("emit");
            buf.truncate(len);
            (IfaceId((i / 250) as u16), buf)
        })
        .collect()
}

fn receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive_advert");
    g.throughput(Throughput::Elements(1));
    for n in [1usize, 100, 10_000] {
        let mut e = started(n, 100);
        let pkts = adverts(n);
        let src: IpAddr = "192.0.2.250".parse().expect("addr");
        let mut now = Instant::from_millis(1);
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let (iface, bytes) = &pkts[k];
                k = (k + 1) % pkts.len();
                now = now + Duration::from_nanos(100);
                e.handle_input(
                    now,
                    Input::Packet(Received {
                        iface: *iface,
                        src,
                        dst: wire::MCAST_V4.into(),
                        ttl: 255,
                        payload: black_box(bytes),
                    }),
                );
                while let Some(a) = e.poll_action() {
                    black_box(a);
                }
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("receive_advert_grouped_tracked");
    g.throughput(Throughput::Elements(1));
    for n in [100usize, 10_000] {
        let mut e = start(Engine::new(grouped_config(n, 100)).expect("config"));
        let pkts = adverts(n);
        let src: IpAddr = "192.0.2.250".parse().expect("addr");
        let mut now = Instant::from_millis(1);
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let (iface, bytes) = &pkts[k];
                k = (k + 1) % pkts.len();
                now = now + Duration::from_nanos(100);
                e.handle_input(
                    now,
                    Input::Packet(Received {
                        iface: *iface,
                        src,
                        dst: wire::MCAST_V4.into(),
                        ttl: 255,
                        payload: black_box(bytes),
                    }),
                );
                while let Some(a) = e.poll_action() {
                    black_box(a);
                }
            })
        });
    }
    g.finish();
}

/// Masters on one 10 ms grid: one `handle_timeout` per interval sends every instance's advert.
/// Reported per advert.
fn timer(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer_advert");
    for n in [1usize, 100, 10_000] {
        let mut e = started(n, 255); // owners: MASTER at once
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let due = e.poll_timeout().expect("masters always have a deadline");
                e.handle_timeout(due);
                let mut sent = 0;
                while let Some(a) = e.poll_action() {
                    if let Action::SendAdvert(s) = &a {
                        sent += s.destinations().len();
                    }
                    black_box(a);
                }
                assert_eq!(sent, n, "every master advertises in the same call");
            })
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut e = started(1, 255);
    let mut send = None;
    while let Some(a) = e.poll_action() {
        if let Action::SendAdvert(s) = a {
            send = Some(s);
        }
    }
    let mut e = started(1, 255);
    let due = e.poll_timeout().expect("deadline");
    e.handle_timeout(due);
    while let Some(a) = e.poll_action() {
        if let Action::SendAdvert(s) = a {
            send = Some(s);
        }
    }
    let send = send.expect("an advert");
    let dst = send.destinations()[0];
    let mut buf = [0u8; wire::MAX_ADVERT_LEN];
    c.bench_function("encode_advert_v3_ipv4", |b| {
        b.iter(|| black_box(send.encode(black_box(dst), &mut buf).expect("encode")))
    });
    let mut parse_buf = [0u8; 64];
    let len = send.encode(dst, &mut parse_buf).expect("encode");
    let ctx = IpContext { src: send.src, dst };
    c.bench_function("parse_advert_v3_ipv4", |b| {
        b.iter(|| {
            black_box(wire::parse(black_box(&parse_buf[..len]), &ctx, Default::default()).is_ok())
        })
    });
}

criterion_group!(benches, receive, timer, encode);
criterion_main!(benches);
