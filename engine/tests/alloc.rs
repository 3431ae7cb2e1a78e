//! The steady-state receive and timer paths do not allocate: proved with a counting global
//! allocator around thousands of received adverts and timer expiries (after a warm-up that lets
//! the action queue and the timer heap reach their working size).
#![allow(unsafe_code)] // a counting GlobalAlloc around the system allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use vigil_engine::{Engine, Instant, State};

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

#[path = "../benches/workload.rs"]
mod workload;

#[test]
fn receive_path_does_not_allocate() {
    let n = 600;
    let start = allocations();
    let mut e = workload::start(workload::config(n, 100));
    assert!(
        allocations() > start,
        "the counting allocator sees allocations"
    );
    let pkts = workload::adverts(&e, n);
    let mut now = Instant::from_millis(1);
    let round = |e: &mut Engine, now: &mut Instant| {
        for (iface, bytes) in &pkts {
            *now = *now + Duration::from_micros(10);
            workload::deliver(e, *now, *iface, bytes);
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
    let mut e = workload::start(workload::config(n, 255)); // owners: MASTER at once
    let mut sent = 0;
    for _ in 0..5 {
        sent += workload::tick(&mut e); // warm-up
    }
    let before = allocations();
    for _ in 0..200 {
        sent += workload::tick(&mut e);
    }
    let after = allocations();
    assert_eq!(sent, 205 * n);
    assert_eq!(
        after - before,
        0,
        "{} allocations on the timer path",
        after - before
    );
}

/// A MASTER that has never heard another router (it started alone and took over) steps down on
/// the first advert of a higher priority without allocating: on the real allocator a first
/// allocation of its size can map a fresh page and fault it in (and lock it: vigild runs with
/// `mlockall`), 10-40 us measured between that advert and the address removal (issue 18,
/// BENCHMARKS-daemon.md, twelfth session); the peer's record (`peer_checksums`) was that
/// allocation.
#[test]
fn first_advert_heard_by_a_lone_master_does_not_allocate() {
    let n = 3;
    let mut e = workload::start(workload::config(n, 100));
    for _ in 0..20 {
        workload::tick(&mut e);
    }
    assert!(
        e.instances().all(|i| i.state() == State::Master),
        "alone, every instance took over"
    );
    assert!(e.instances().all(|i| i.peer_checksums().is_empty()));
    let pkts = workload::adverts(&e, n);
    let mut now = e.poll_timeout().unwrap_or(Instant::from_millis(100));
    let before = allocations();
    for (iface, bytes) in &pkts {
        now = now + Duration::from_micros(10);
        workload::deliver(&mut e, now, *iface, bytes);
    }
    let after = allocations();
    assert!(e.instances().all(|i| i.state() == State::Backup));
    assert!(e.instances().all(|i| i.peer_checksums().len() == 1));
    assert_eq!(
        after - before,
        0,
        "{} allocations between the first advert heard and the step-down's actions",
        after - before
    );
}
