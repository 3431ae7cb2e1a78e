//! How long an advert may wait unread in the runner's receive queue: the rule behind receive
//! coalescing (a runner that has just read a burst may wait a moment for the rest of it, to read
//! it with one system call instead of waking for every few packets).
//!
//! An advert's effect is timed from its *arrival* (the runner hands over the kernel's receive
//! timestamp), so reading it late moves no timer, except when the advert makes the router act
//! before the wait ends. Which adverts do that depends on the state of the instance they are
//! for, and the runner cannot know it before reading them:
//!
//! * **MASTER** (RFC 5798 section 6.4.3): an advert of higher priority makes it leave MASTER
//!   *at once* and remove its addresses (a returning higher-priority router, or a partition that
//!   heals with both routers MASTER: until then both hold the addresses); one of lower priority
//!   is answered at once (RFC 9568). Any advert may change state *now*: none may wait.
//! * **BACKUP** (section 6.4.2): an advert of priority 0 (the master is leaving) sets the
//!   Master_Down_Timer to Skew_Time after its arrival; every other advert only restarts or
//!   ignores the timer. So an advert may wait up to the instance's Skew_Time (at priority 100
//!   and 10 ms adverts, 6.1 ms; at priority 254, 78 us) and still be acted on when it is due.
//! * **INIT / FAULT**: adverts are not acted on.
//!
//! [`Engine::input_may_wait`] is the minimum over the instances: zero while any instance is
//! MASTER (a runner must then read every packet as soon as it is woken), the smallest Skew_Time
//! of the BACKUP instances otherwise. A backup of 255 instances at 10 ms keeps its coalescing
//! (the bursts it reads are its masters' adverts); an old master never sits on the advert that
//! tells it to step down (issue 18: a MASTER that had just read two adverts slept 0.5 ms before
//! reading the rest, the higher-priority advert among them, and both routers held the address
//! meanwhile).

use core::time::Duration;

use super::Engine;
use crate::io::State;

impl Engine {
    /// How long adverts may wait unread before the runner reads them (module docs): zero while
    /// any instance is MASTER, the smallest Skew_Time of the BACKUP instances otherwise, `None`
    /// when no instance acts on adverts (all INIT or FAULT). A runner that waits for the rest of
    /// a burst waits no longer than this.
    pub fn input_may_wait(&self) -> Option<Duration> {
        let mut least: Option<Duration> = None;
        for inst in &self.instances {
            let d = match inst.state {
                State::Master => return Some(Duration::ZERO),
                State::Backup => inst.skew_time(),
                State::Init | State::Fault => continue,
            };
            least = Some(least.map_or(d, |l| l.min(d)));
        }
        least
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;
    use std::net::{IpAddr, Ipv4Addr};

    use crate::io::{Input, InstanceId, Received, State};
    use crate::setup::{EngineConfig, InstanceConfig};
    use crate::time::Instant;
    use crate::wire::Version;
    use crate::wire::{self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext};
    use crate::Engine;

    const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const MAI: Duration = Duration::from_millis(10);

    /// One instance per priority on eth0 (10 ms adverts), started at 0.
    fn engine(prios: &[u8]) -> Engine {
        let cs = prios
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                let vrid = 51 + u8::try_from(k).unwrap();
                InstanceConfig::new(&format!("VI_{k}"), "eth0", vrid, Version::V3, Family::V4)
                    .vips([IpAddr::V4(VIP)])
                    .advert_interval(MAI)
                    .priority(p)
            })
            .collect();
        let mut e = Engine::new(EngineConfig::instances(cs)).unwrap();
        let eth0 = e.interface_id("eth0").unwrap();
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface: eth0,
                family: Family::V4,
                addr: Some(ME.into()),
            },
        );
        e
    }

    fn start(e: &mut Engine) {
        e.handle_input(Instant::ZERO, Input::Start);
        while e.poll_action().is_some() {}
    }

    fn state(e: &Engine, i: u32) -> State {
        e.instance(InstanceId(i)).unwrap().state()
    }

    /// An advert for VRID `vrid` of priority `prio` from PEER, received at `now`.
    fn hear(e: &mut Engine, now: Instant, vrid: u8, prio: u8) {
        let a = Advert {
            version: Version::V3,
            vrid,
            priority: prio,
            interval: Interval::Centiseconds(1),
            addrs: Addrs::List(&[IpAddr::V4(VIP)]),
            auth: Auth::None,
            checksum: ChecksumForm::PseudoHeader,
            trailing: 0,
        };
        let ctx = IpContext {
            src: PEER.into(),
            dst: wire::MCAST_V4.into(),
        };
        let mut buf = [0u8; wire::MAX_ADVERT_LEN];
        let n = wire::emit(&a, &ctx, &mut buf).unwrap();
        let iface = e.interface_id("eth0").unwrap();
        e.handle_input(
            now,
            Input::Packet(Received {
                iface,
                src: PEER.into(),
                dst: wire::MCAST_V4.into(),
                ttl: 255,
                payload: &buf[..n],
            }),
        );
        while e.poll_action().is_some() {}
    }

    #[test]
    fn nothing_acts_on_adverts_before_start() {
        assert_eq!(engine(&[100]).input_may_wait(), None);
    }

    #[test]
    fn backups_may_wait_their_smallest_skew_time() {
        let mut e = engine(&[100, 200]);
        start(&mut e);
        assert_eq!((state(&e, 0), state(&e, 1)), (State::Backup, State::Backup));
        // Skew_Time = (256 - 200) / 256 * 10 ms: a priority-0 advert read later than that
        // would delay the takeover it asks for.
        assert_eq!(
            e.input_may_wait(),
            Some(Duration::from_nanos(56 * 10_000_000 / 256))
        );
    }

    #[test]
    fn a_master_may_not_wait_and_its_successor_backup_may() {
        let mut e = engine(&[100]);
        start(&mut e);
        // No master heard: the Master_Down_Timer runs out and the instance is MASTER.
        let mdi = e.poll_timeout().unwrap();
        e.handle_timeout(mdi);
        while e.poll_action().is_some() {}
        assert_eq!(state(&e, 0), State::Master);
        assert_eq!(e.input_may_wait(), Some(Duration::ZERO));
        // A higher priority returns: the master steps down, and as a backup it may wait again.
        let t = mdi.saturating_add(Duration::from_millis(5));
        hear(&mut e, t, 51, 200);
        assert_eq!(state(&e, 0), State::Backup);
        assert_eq!(
            e.input_may_wait(),
            Some(Duration::from_nanos(156 * 10_000_000 / 256))
        );
    }

    #[test]
    fn one_master_among_backups_forbids_waiting() {
        let mut e = engine(&[100, 100]);
        start(&mut e);
        let t = Instant::from_millis(1);
        hear(&mut e, t, 52, 200); // VI_1 hears its master; VI_0 does not
        let mdi = e.poll_timeout().unwrap();
        e.handle_timeout(mdi);
        while e.poll_action().is_some() {}
        assert_eq!((state(&e, 0), state(&e, 1)), (State::Master, State::Backup));
        assert_eq!(e.input_may_wait(), Some(Duration::ZERO));
    }
}
