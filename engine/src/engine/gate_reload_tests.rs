//! The announcement gate across a reload (SIGHUP; reload.rs, announce.rs `adopt_gates`,
//! `carry_pending`, `announce_added`): an instance kept as MASTER keeps its pending
//! announcements, addresses the reload adds are announced through the gate, and a new
//! `vrrp_garp_interval` / `garp_group` applies from the last send on without making an
//! announcement in flight go closer than the interval it was waiting for.
//!
//! keepalived 2.2.7 differs here on purpose: its reload rebuilds the garp_delay list with
//! zeroed next-send times and new address structures, so what was pending is dropped and the
//! gate opens at once after the reload.

use super::*;
use crate::setup::{GarpGroup, VirtualAddress};
use std::net::Ipv4Addr;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn v(addr: &str) -> VirtualAddress {
    VirtualAddress::new(addr.parse().expect("a test address"))
}

/// An address owner (MASTER at start) on eth0 with `addrs`, `garp_master_repeat` `repeat`, no
/// delayed burst, and gratuitous ARPs gated at `gate` ms on every interface.
fn config(addrs: &[&str], repeat: u32, gate: u64) -> EngineConfig {
    let mut c = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4).priority(255);
    c.virtual_addresses = addrs.iter().map(|a| v(a)).collect();
    c.announce.master_repeat = repeat;
    c.announce.master_delay = Duration::ZERO;
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(gate);
    ec
}

/// Every address announced until 10 s: (time in ms, address), with the engine reloaded with
/// `next` at `reload_at` (what the reload itself announces is stamped with `reload_at`).
fn frames(ec: EngineConfig, reload_at: Instant, next: EngineConfig) -> Vec<(u64, String)> {
    let mut e = Engine::new(ec).expect("a valid configuration");
    e.handle_input(
        ms(0),
        Input::PrimaryAddress {
            iface: IfaceId(0),
            family: Family::V4,
            addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
        },
    );
    e.handle_input(ms(0), Input::Start);
    let mut out = Vec::new();
    let mut record = |now: Instant, e: &mut Engine| {
        while let Some(a) = e.poll_action() {
            if let Action::Announce { addrs, .. } = a {
                for x in addrs.iter() {
                    out.push((now.as_nanos() / 1_000_000, x.addr.to_string()));
                }
            }
        }
    };
    record(ms(0), &mut e);
    let mut reloaded = Some(next);
    while let Some(t) = e.poll_timeout() {
        if t > ms(10_000) {
            break;
        }
        if t > reload_at {
            if let Some(n) = reloaded.take() {
                e.reload(reload_at, n).expect("the reload is accepted");
                record(reload_at, &mut e);
                continue;
            }
        }
        e.handle_timeout(t);
        record(t, &mut e);
    }
    out
}

fn f(t: u64, a: &str) -> (u64, String) {
    (t, a.to_string())
}

const A: &str = "192.0.2.100";
const B: &str = "192.0.2.101";
const C: &str = "192.0.2.102";

/// keepalived's A, A, B sequence (`vrrp_garp_interval 0.5`, `garp_master_repeat 5`) with an
/// unchanged configuration reloaded at 0.2 s, while A's repeat and B wait for the gate: the
/// sequence is the same. (Before: the pending flags were not carried, so nothing after the
/// first announcement was sent.)
#[test]
fn a_reload_keeps_what_is_pending() {
    let got = frames(config(&[A, B], 5, 500), ms(200), config(&[A, B], 5, 500));
    assert_eq!(got, vec![f(0, A), f(500, A), f(1000, B)]);
}

/// An address a reload adds to a MASTER goes through the gate like any announcement: at 0.2 s
/// the gate is shut until 0.5 s, and A and B are still pending before it. (Before: C went out
/// at once, 0.2 s after A.)
#[test]
fn an_address_added_by_a_reload_waits_for_the_gate() {
    let got = frames(config(&[A, B], 5, 500), ms(200), config(&[A, B, C], 5, 500));
    assert_eq!(got, vec![f(0, A), f(500, A), f(1000, B), f(1500, C)]);
}

/// An address the reload removes is not announced; the others keep their turn.
#[test]
fn an_address_removed_by_a_reload_is_not_announced() {
    let got = frames(config(&[A, B, C], 5, 500), ms(200), config(&[A, C], 5, 500));
    assert_eq!(got, vec![f(0, A), f(500, A), f(1000, C)]);
}

/// A longer interval applies from the last send: A went at 0, the new 1 s gate opens at 1 s.
#[test]
fn a_longer_interval_applies_from_the_last_send() {
    let got = frames(config(&[A, B], 5, 500), ms(200), config(&[A, B], 5, 1000));
    assert_eq!(got, vec![f(0, A), f(1000, A), f(2000, B)]);
}

/// A shorter interval (or none) does not bring forward the opening the pending announcement
/// was waiting for (0.5 s after A); after it the new interval applies.
#[test]
fn a_shorter_or_removed_interval_keeps_the_opening_in_flight() {
    let got = frames(config(&[A, B], 5, 500), ms(200), config(&[A, B], 5, 100));
    assert_eq!(got, vec![f(0, A), f(500, A), f(600, B)]);
    let got = frames(config(&[A, B], 5, 500), ms(200), config(&[A, B], 5, 0));
    assert_eq!(got, vec![f(0, A), f(500, A), f(500, B)]);
}

/// A `garp_group` added by the reload gates its interface with its own interval, from the
/// last send on; a reload that removes it gives the interface the global gate back.
#[test]
fn a_garp_group_added_or_removed_by_a_reload() {
    let mut grouped = config(&[A, B], 5, 500);
    grouped.announce_gates.groups = vec![GarpGroup {
        garp_interval: Duration::from_millis(800),
        gna_interval: Duration::ZERO,
        interfaces: vec!["eth0".into()],
    }];
    let got = frames(config(&[A, B], 5, 500), ms(200), grouped.clone());
    assert_eq!(got, vec![f(0, A), f(800, A), f(1600, B)]);
    let got = frames(grouped, ms(200), config(&[A, B], 5, 300));
    assert_eq!(got, vec![f(0, A), f(800, A), f(1100, B)]);
}

/// Without a gate before or after, a reload that adds an address announces it at once (as
/// before the gate existed).
#[test]
fn without_a_gate_an_added_address_is_announced_at_once() {
    let got = frames(config(&[A], 1, 0), ms(200), config(&[A, B], 1, 0));
    assert_eq!(got, vec![f(0, A), f(200, B)]);
}
