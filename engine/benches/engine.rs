//! Engine benchmarks: ns per received advert through `handle_input` at 1, 100 and 10,000
//! instances (the goal is <= 100 ns, flat in the instance count), the same with sync groups and
//! trackers configured, ns per advert on the timer path (masters whose adverts fall due
//! together), and ns per encoded / parsed advert.
//!
//! Run: `cargo bench -p vigil-engine --bench engine`. Figures go to BENCHMARKS.md.
#![allow(missing_docs)] // criterion_group! generates `pub fn benches`, which cannot carry a doc comment

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigil_engine::wire::{self, IpContext};
use vigil_engine::{Action, EngineConfig, Instant};

#[path = "workload.rs"]
mod workload;

fn receive_group(c: &mut Criterion, name: &str, sizes: &[usize], cfg: fn(usize) -> EngineConfig) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    for &n in sizes {
        let mut e = workload::start(cfg(n));
        let pkts = workload::adverts(&e, n);
        let mut now = Instant::from_millis(1);
        let mut k = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let (iface, bytes) = &pkts[k];
                k = (k + 1) % pkts.len();
                now = now + Duration::from_nanos(100);
                workload::deliver(&mut e, now, *iface, black_box(bytes))
            })
        });
    }
    g.finish();
}

fn receive(c: &mut Criterion) {
    receive_group(c, "receive_advert", &[1, 100, 10_000], |n| {
        workload::config(n, 100)
    });
    receive_group(
        c,
        "receive_advert_grouped_tracked",
        &[100, 10_000],
        workload::grouped,
    );
}

/// Masters on one 10 ms grid: one `handle_timeout` per interval sends every instance's advert.
/// Reported per advert.
fn timer(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer_advert");
    for n in [1usize, 100, 10_000] {
        let mut e = workload::start(workload::config(n, 255)); // owners: MASTER at once
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                assert_eq!(
                    workload::tick(&mut e),
                    n,
                    "every master advertises in one call"
                )
            })
        });
    }
    g.finish();
}

fn codec(c: &mut Criterion) {
    let mut e = workload::start(workload::config(1, 255));
    let due = e.poll_timeout().expect("a master has a deadline");
    e.handle_timeout(due);
    let send = std::iter::from_fn(|| e.poll_action())
        .find_map(|a| match a {
            Action::SendAdvert(s) => Some(s),
            _ => None,
        })
        .expect("the master advertises");
    let dst = send.destinations()[0];
    let mut buf = [0u8; wire::MAX_ADVERT_LEN];
    c.bench_function("encode_advert_v3_ipv4", |b| {
        b.iter(|| black_box(send.encode(black_box(dst), &mut buf).expect("encode")))
    });
    let len = send.encode(dst, &mut buf).expect("encode");
    let ctx = IpContext { src: send.src, dst };
    c.bench_function("parse_advert_v3_ipv4", |b| {
        b.iter(|| black_box(wire::parse(black_box(&buf[..len]), &ctx, Default::default()).is_ok()))
    });
}

criterion_group!(benches, receive, timer, codec);
criterion_main!(benches);
