//! Action traces of small clusters, snapshotted with insta: every line carries its virtual time.
//!
//! A minimal in-test network (one segment, delivery after a fixed delay, no faults other than
//! the scripted ones) drives real engines; the simulator (`vigil-sim`) is the full version. The
//! takeover tests also assert the exact Master_Down_Interval, so that a snapshot update cannot
//! quietly change the timing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use vigil_engine::wire::{self, Family, Version};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received, State,
};

/// A scripted event.
#[derive(Clone, Copy, Debug)]
enum Event {
    Start,
    /// Vanish without a goodbye (kill -9, power loss).
    Crash,
    /// Graceful stop: priority 0.
    Stop,
}

/// A frame on the wire: (sender index, source, destination, VRRP bytes).
type InFlight = (usize, IpAddr, IpAddr, Vec<u8>);

struct Node {
    name: &'static str,
    engine: Engine,
    alive: bool,
}

struct Net {
    nodes: Vec<Node>,
    /// (time, sequence) -> (sender index, source, destination, bytes)
    in_flight: BTreeMap<(Instant, u64), InFlight>,
    script: Vec<(Instant, usize, Event)>,
    delay: Duration,
    seq: u64,
    trace: String,
    /// (time, node, from, to) of every state change.
    changes: Vec<(Instant, usize, State, State)>,
    /// (time, node, priority) of every advert sent.
    adverts: Vec<(Instant, usize, u8)>,
}

impl Net {
    fn new(configs: Vec<(&'static str, &'static str, InstanceConfig)>) -> Net {
        let nodes = configs
            .into_iter()
            .map(|(name, addr, cfg)| {
                let family = cfg.family;
                let mut engine = Engine::new(EngineConfig::instances(vec![cfg])).unwrap();
                let addr: IpAddr = addr.parse().unwrap();
                engine.handle_input(
                    Instant::ZERO,
                    Input::PrimaryAddress {
                        iface: IfaceId(0),
                        family,
                        addr: Some(addr),
                    },
                );
                Node {
                    name,
                    engine,
                    alive: true,
                }
            })
            .collect();
        Net {
            nodes,
            in_flight: BTreeMap::new(),
            script: Vec::new(),
            delay: Duration::ZERO,
            seq: 0,
            trace: String::new(),
            changes: Vec::new(),
            adverts: Vec::new(),
        }
    }

    fn at(mut self, t: Instant, node: usize, e: Event) -> Self {
        self.script.push((t, node, e));
        self
    }

    fn drain(&mut self, now: Instant, n: usize) {
        while let Some(a) = self.nodes[n].engine.poll_action() {
            let name = self.nodes[n].name;
            match a {
                Action::SendAdvert(s) => {
                    writeln!(self.trace, "{now:>14} {name} advert prio {}", s.priority).unwrap();
                    self.adverts.push((now, n, s.priority));
                    for &dst in s.destinations() {
                        let mut buf = vec![0u8; wire::MAX_ADVERT_LEN];
                        let len = s.encode(dst, &mut buf).unwrap();
                        buf.truncate(len);
                        self.seq += 1;
                        self.in_flight
                            .insert((now + self.delay, self.seq), (n, s.src, dst, buf));
                    }
                }
                Action::StateChange {
                    from,
                    to,
                    priority,
                    reason,
                    ..
                } => {
                    writeln!(
                        self.trace,
                        "{now:>14} {name} {from} -> {to} ({reason}) prio {priority}"
                    )
                    .unwrap();
                    self.changes.push((now, n, from, to));
                }
                Action::AddAddresses { addrs, .. } => {
                    let list: Vec<String> = addrs.iter().map(|v| v.addr.to_string()).collect();
                    writeln!(self.trace, "{now:>14} {name} add {}", list.join(" ")).unwrap();
                }
                Action::RemoveAddresses { addrs, .. } => {
                    let list: Vec<String> = addrs.iter().map(|v| v.addr.to_string()).collect();
                    writeln!(self.trace, "{now:>14} {name} remove {}", list.join(" ")).unwrap();
                }
                Action::Announce { addrs, .. } => {
                    let list: Vec<String> = addrs.iter().map(|v| v.addr.to_string()).collect();
                    writeln!(self.trace, "{now:>14} {name} announce {}", list.join(" ")).unwrap();
                }
                Action::LowerPriorityHeard { src, priority, .. } => {
                    writeln!(
                        self.trace,
                        "{now:>14} {name} heard lower priority {priority} from {src}"
                    )
                    .unwrap();
                }
                Action::ProtocolError { rule, .. } => {
                    writeln!(self.trace, "{now:>14} {name} drop {}", rule.name()).unwrap();
                }
                other => writeln!(self.trace, "{now:>14} {name} {other:?}").unwrap(),
            }
        }
    }

    /// Run every event up to `until`.
    fn run(&mut self, until: Instant) -> &mut Self {
        loop {
            let next_script = self.script.iter().map(|s| s.0).min();
            let next_packet = self.in_flight.keys().next().map(|k| k.0);
            let next_timer = self
                .nodes
                .iter_mut()
                .filter(|n| n.alive)
                .filter_map(|n| n.engine.poll_timeout())
                .min();
            let Some(now) = [next_script, next_packet, next_timer]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            if now > until {
                break;
            }
            // Scripted events first, then packets, then timers, each in a fixed order.
            if next_script == Some(now) {
                let pos = self.script.iter().position(|s| s.0 == now).unwrap();
                let (_, n, e) = self.script.remove(pos);
                let name = self.nodes[n].name;
                match e {
                    Event::Start => {
                        self.nodes[n].alive = true;
                        self.nodes[n].engine.handle_input(now, Input::Start);
                    }
                    Event::Crash => {
                        writeln!(self.trace, "{now:>14} {name} ** crash **").unwrap();
                        self.nodes[n].alive = false;
                    }
                    Event::Stop => {
                        writeln!(self.trace, "{now:>14} {name} ** stop **").unwrap();
                        self.nodes[n].engine.handle_input(now, Input::Shutdown);
                    }
                }
                self.drain(now, n);
                continue;
            }
            if next_packet == Some(now) {
                let (_, (from, src, dst, bytes)) = self.in_flight.pop_first().unwrap();
                for n in 0..self.nodes.len() {
                    if n == from || !self.nodes[n].alive {
                        continue;
                    }
                    let p = Received {
                        iface: IfaceId(0),
                        src,
                        dst,
                        ttl: 255,
                        payload: &bytes,
                    };
                    self.nodes[n].engine.handle_input(now, Input::Packet(p));
                    self.drain(now, n);
                }
                continue;
            }
            for n in 0..self.nodes.len() {
                if self.nodes[n].alive && self.nodes[n].engine.poll_timeout() == Some(now) {
                    self.nodes[n].engine.handle_timeout(now);
                    self.drain(now, n);
                }
            }
        }
        self
    }

    fn state(&self, n: usize) -> State {
        self.nodes[n].engine.instances().next().unwrap().state()
    }

    /// The last advert `n` sent before `t`.
    fn last_advert_before(&self, n: usize, t: Instant) -> Instant {
        self.adverts
            .iter()
            .filter(|a| a.1 == n && a.0 < t)
            .map(|a| a.0)
            .max()
            .unwrap()
    }

    /// When `n` last became MASTER.
    fn became_master(&self, n: usize) -> Instant {
        self.changes
            .iter()
            .filter(|c| c.1 == n && c.3 == State::Master)
            .map(|c| c.0)
            .max()
            .unwrap()
    }
}

fn v4(prio: u8, version: Version, interval: Duration) -> InstanceConfig {
    InstanceConfig::new("VI_1", "eth0", 51, version, Family::V4)
        .priority(prio)
        .advert_interval(interval)
        .vips(["192.0.2.100".parse().unwrap()])
}

fn secs(s: u64) -> Instant {
    Instant::from_millis(s * 1000)
}

#[test]
fn two_routers_elect() {
    let mut net = Net::new(vec![
        (
            "r1",
            "192.0.2.11",
            v4(200, Version::V3, Duration::from_secs(1)),
        ),
        (
            "r2",
            "192.0.2.12",
            v4(100, Version::V3, Duration::from_secs(1)),
        ),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start);
    net.run(secs(6));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    // Priority 200 waits 3 * 1 s + (56/256) s.
    assert_eq!(net.became_master(0), Instant::from_micros(3_218_750));
    insta::assert_snapshot!(net.trace);
}

/// Master death: the backup's first advert comes exactly Master_Down_Interval after the dead
/// master's last advert.
fn takeover(version: Version, interval: Duration, backup_prio: u8, mdi: Duration) -> String {
    let crash = Instant::ZERO + interval * 12 + interval / 2;
    let mut net = Net::new(vec![
        ("r1", "192.0.2.11", v4(250, version, interval)),
        ("r2", "192.0.2.12", v4(backup_prio, version, interval)),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start)
    .at(crash, 0, Event::Crash);
    net.run(crash + interval * 6);
    assert_eq!(net.state(1), State::Master);
    let last = net.last_advert_before(0, crash);
    let took = net.became_master(1);
    assert_eq!(
        took.saturating_duration_since(last),
        mdi,
        "takeover after exactly Master_Down_Interval"
    );
    net.trace.clone()
}

#[test]
fn takeover_v2_1s_priority_100() {
    let t = takeover(
        Version::V2,
        Duration::from_secs(1),
        100,
        Duration::from_micros(3_609_375),
    );
    insta::assert_snapshot!(t);
}

#[test]
fn takeover_v2_1s_priority_200() {
    let t = takeover(
        Version::V2,
        Duration::from_secs(1),
        200,
        Duration::from_micros(3_218_750),
    );
    insta::assert_snapshot!(t);
}

#[test]
fn takeover_v3_10ms_priority_100() {
    let t = takeover(
        Version::V3,
        Duration::from_millis(10),
        100,
        Duration::from_nanos(36_093_750),
    );
    insta::assert_snapshot!(t);
}

#[test]
fn takeover_v3_10ms_priority_200() {
    let t = takeover(
        Version::V3,
        Duration::from_millis(10),
        200,
        Duration::from_nanos(32_187_500),
    );
    insta::assert_snapshot!(t);
}

/// VRRPv2 above 1 s (issue 19): Skew_Time stays (256 - Priority) / 256 s (RFC 3768 section
/// 6.1), so priority 100 takes over 3 x 2 s + 0.609375 s after the last advert, as keepalived.
#[test]
fn takeover_v2_2s_priority_100() {
    let t = takeover(
        Version::V2,
        Duration::from_secs(2),
        100,
        Duration::from_micros(6_609_375),
    );
    insta::assert_snapshot!(t);
}

#[test]
fn takeover_v2_3s_priority_100() {
    let t = takeover(
        Version::V2,
        Duration::from_secs(3),
        100,
        Duration::from_micros(9_609_375),
    );
    insta::assert_snapshot!(t);
}

#[test]
fn takeover_v2_10s_priority_200() {
    let t = takeover(
        Version::V2,
        Duration::from_secs(10),
        200,
        Duration::from_micros(30_218_750),
    );
    insta::assert_snapshot!(t);
}

/// VRRPv3 scales Skew_Time by Master_Adver_Interval (RFC 5798 section 6.1): 3 x 2 s + 156/256 x
/// 2 s.
#[test]
fn takeover_v3_2s_priority_100() {
    let t = takeover(
        Version::V3,
        Duration::from_secs(2),
        100,
        Duration::from_micros(7_218_750),
    );
    insta::assert_snapshot!(t);
}

/// A VRRPv2 master leaving at 2 s: the backup takes over Skew_Time = 156/256 s after the
/// priority-0 advert (RFC 3768 section 6.4.2), not 2 x 156/256 s.
#[test]
fn priority_zero_shutdown_v2_2s() {
    let mut net = Net::new(vec![
        (
            "r1",
            "192.0.2.11",
            v4(200, Version::V2, Duration::from_secs(2)),
        ),
        (
            "r2",
            "192.0.2.12",
            v4(100, Version::V2, Duration::from_secs(2)),
        ),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start)
    .at(Instant::from_millis(13_000), 0, Event::Stop);
    net.run(secs(18));
    assert_eq!(net.state(1), State::Master);
    assert_eq!(
        net.became_master(1),
        Instant::from_millis(13_000) + Duration::from_micros(609_375)
    );
    insta::assert_snapshot!(net.trace);
}

#[test]
fn priority_zero_shutdown() {
    let mut net = Net::new(vec![
        (
            "r1",
            "192.0.2.11",
            v4(200, Version::V3, Duration::from_secs(1)),
        ),
        (
            "r2",
            "192.0.2.12",
            v4(100, Version::V3, Duration::from_secs(1)),
        ),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start)
    .at(Instant::from_millis(6_500), 0, Event::Stop);
    net.run(secs(9));
    assert_eq!(net.state(1), State::Master);
    // The backup takes over Skew_Time (156/256 s) after the priority-0 advert.
    assert_eq!(
        net.became_master(1),
        Instant::from_millis(6_500) + Duration::from_micros(609_375)
    );
    insta::assert_snapshot!(net.trace);
}

fn late_joiner(higher: InstanceConfig) -> Net {
    let mut net = Net::new(vec![
        ("r1", "192.0.2.11", higher),
        (
            "r2",
            "192.0.2.12",
            v4(100, Version::V3, Duration::from_secs(1)),
        ),
    ])
    .at(secs(0), 1, Event::Start)
    .at(Instant::from_millis(5_500), 0, Event::Start);
    net.nodes[0].alive = false;
    net
}

#[test]
fn preempt() {
    let mut net = late_joiner(v4(200, Version::V3, Duration::from_secs(1)));
    net.run(secs(12));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    insta::assert_snapshot!(net.trace);
}

#[test]
fn nopreempt() {
    let mut net = late_joiner(v4(200, Version::V3, Duration::from_secs(1)).nopreempt());
    net.run(secs(12));
    assert_eq!((net.state(0), net.state(1)), (State::Backup, State::Master));
    insta::assert_snapshot!(net.trace);
}

#[test]
fn preempt_delay() {
    let cfg = v4(200, Version::V3, Duration::from_secs(1)).preempt_delay(Duration::from_secs(4));
    let mut net = late_joiner(cfg);
    net.run(secs(16));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    // Preemption held for 4 s after r1's start, then the down timer runs out.
    let took = net.became_master(0);
    assert!(
        took >= Instant::from_millis(9_500),
        "preempted at {took}, before the delay ran out"
    );
    insta::assert_snapshot!(net.trace);
}

#[test]
fn equal_priority_tie_break() {
    let mut net = Net::new(vec![
        (
            "r1",
            "192.0.2.11",
            v4(100, Version::V3, Duration::from_secs(1)),
        ),
        (
            "r2",
            "192.0.2.12",
            v4(100, Version::V3, Duration::from_secs(1)),
        ),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start);
    net.delay = Duration::from_micros(100);
    net.run(secs(6));
    // Both time out together; the higher primary address keeps MASTER.
    assert_eq!((net.state(0), net.state(1)), (State::Backup, State::Master));
    insta::assert_snapshot!(net.trace);
}

#[test]
fn owner_startup() {
    let mut net = Net::new(vec![
        (
            "r1",
            "192.0.2.11",
            v4(255, Version::V3, Duration::from_secs(1)),
        ),
        (
            "r2",
            "192.0.2.12",
            v4(100, Version::V3, Duration::from_secs(1)),
        ),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start);
    net.run(secs(3));
    assert_eq!(
        net.became_master(0),
        Instant::ZERO,
        "the owner goes INIT -> MASTER at once"
    );
    insta::assert_snapshot!(net.trace);
}

#[test]
fn ipv6_instance() {
    let cfg = |prio| {
        InstanceConfig::new("VI_6", "eth0", 51, Version::V3, Family::V6)
            .priority(prio)
            .vips(["2001:db8::100".parse().unwrap()])
    };
    let mut net = Net::new(vec![
        ("r1", "fe80::ff:fe00:1", cfg(150)),
        ("r2", "fe80::ff:fe00:2", cfg(100)),
    ])
    .at(secs(0), 0, Event::Start)
    .at(secs(0), 1, Event::Start)
    .at(Instant::from_millis(6_500), 0, Event::Crash);
    net.run(secs(12));
    assert_eq!(net.state(1), State::Master);
    insta::assert_snapshot!(net.trace);
}
