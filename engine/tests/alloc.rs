//! The steady-state receive and timer paths do not allocate: proved with a counting global
//! allocator around thousands of received adverts and timer expiries (after a warm-up that lets
//! the action queue and the timer heap reach their working size).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_engine::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext, Version,
};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received, State,
};

struct Counting;

thread_local! {
    /// Per thread, so that tests running in parallel do not count each other's allocations.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // try_with: the allocator may be called while the thread is being torn down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCS.with(Cell::get)
}

fn engine(n: usize, priority: u8) -> Engine {
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
    let mut e = Engine::new(EngineConfig::instances(instances)).unwrap();
    let ifaces: Vec<IfaceId> = e.interfaces().map(|(id, _)| id).collect();
    for iface in ifaces {
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface,
                family: Family::V4,
                addr: Some("192.0.2.1".parse().unwrap()),
            },
        );
    }
    e.handle_input(Instant::ZERO, Input::Start);
    while e.poll_action().is_some() {}
    e
}

#[test]
fn receive_path_does_not_allocate() {
    let n = 600;
    let start = allocations();
    let mut e = engine(n, 100);
    assert!(
        allocations() > start,
        "the counting allocator sees allocations"
    );
    let src: IpAddr = "192.0.2.250".parse().unwrap();
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
            .unwrap();
            buf.truncate(len);
            (IfaceId((i / 250) as u16), buf)
        })
        .collect();
    let mut now = Instant::from_millis(1);
    let round = |e: &mut Engine, now: &mut Instant| {
        for (iface, bytes) in &pkts {
            *now = *now + Duration::from_micros(10);
            e.handle_input(
                *now,
                Input::Packet(Received {
                    iface: *iface,
                    src,
                    dst: wire::MCAST_V4.into(),
                    ttl: 255,
                    payload: bytes,
                }),
            );
            while e.poll_action().is_some() {}
            // The backups' down timers move with every advert; poll_timeout re-files them.
            let _ = e.poll_timeout();
        }
    };
    round(&mut e, &mut now); // warm-up
    let before = allocations();
    for _ in 0..20 {
        round(&mut e, &mut now);
    }
    let after = allocations();
    assert!(e.instances().all(|i| i.state() == State::Backup));
    assert_eq!(
        e.instances()
            .map(|i| i.stats().adverts_received)
            .sum::<u64>(),
        21 * n as u64
    );
    assert_eq!(
        after - before,
        0,
        "{} allocations on the receive path",
        after - before
    );
}

#[test]
fn timer_path_does_not_allocate() {
    let n = 600;
    let mut e = engine(n, 255); // owners: MASTER at once, adverts every 10 ms
    let mut sent = 0u64;
    let mut tick = |e: &mut Engine| {
        let due = e.poll_timeout().unwrap();
        e.handle_timeout(due);
        while let Some(a) = e.poll_action() {
            if matches!(a, Action::SendAdvert(_)) {
                sent += 1;
            }
        }
    };
    for _ in 0..5 {
        tick(&mut e); // warm-up
    }
    let before = allocations();
    for _ in 0..200 {
        tick(&mut e);
    }
    let after = allocations();
    assert_eq!(sent, 205 * n as u64);
    assert_eq!(
        after - before,
        0,
        "{} allocations on the timer path",
        after - before
    );
}
