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
//!
//! The minimum is kept up to date as the instances change ([`Waits`]), not recomputed: a
//! runner asks after every wake-up, and a backup of 4,080 instances whose masters send in 32
//! batches per interval (`instance::spread_grid_phases`) wakes 32 times per interval; scanning
//! every instance's Skew_Time at each of those wake-ups was most of its CPU (BENCHMARKS-daemon.md,
//! ninth and tenth sessions). An instance's share changes only with its state, its priority or
//! its Master_Adver_Interval, and the engine tells [`Waits`] at each of those places
//! ([`Engine::note_wait`]); a reload counts again from scratch. The simulator and the fuzz
//! harness check after every call that the kept value is the scan's (`read-delay`,
//! sim/src/contract.rs).

use core::time::Duration;
use std::collections::BTreeMap;

use super::Engine;
use crate::io::State;

/// What one instance allows a runner (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// INIT or FAULT: it does not act on adverts.
    Any,
    /// MASTER: no advert may wait.
    None,
    /// BACKUP: adverts may wait up to its Skew_Time.
    Upto(Duration),
}

/// The instances' shares of [`Engine::input_may_wait`], counted: how many are MASTER and how
/// many BACKUPs have each Skew_Time (a few distinct values: the priorities and intervals in
/// use), so that the minimum is read without a scan and kept with O(log k) work per change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Waits {
    /// Each instance's share as counted below.
    of: Vec<Wait>,
    masters: u32,
    /// Skew_Time -> how many BACKUP instances have it.
    backups: BTreeMap<Duration, u32>,
}

impl Waits {
    /// `n` instances in INIT.
    pub(super) fn new(n: usize) -> Waits {
        Waits {
            of: vec![Wait::Any; n],
            masters: 0,
            backups: BTreeMap::new(),
        }
    }

    /// Count instance `i`'s share as `w` instead of what it was.
    fn set(&mut self, i: usize, w: Wait) {
        let Some(slot) = self.of.get_mut(i) else {
            return;
        };
        let old = core::mem::replace(slot, w);
        if old == w {
            return;
        }
        match old {
            Wait::Any => {}
            Wait::None => self.masters = self.masters.saturating_sub(1),
            Wait::Upto(d) => {
                if let Some(c) = self.backups.get_mut(&d) {
                    *c = c.saturating_sub(1);
                    if *c == 0 {
                        self.backups.remove(&d);
                    }
                }
            }
        }
        match w {
            Wait::Any => {}
            Wait::None => self.masters += 1,
            Wait::Upto(d) => *self.backups.entry(d).or_insert(0) += 1,
        }
    }

    /// The minimum over the instances (module docs).
    fn least(&self) -> Option<Duration> {
        if self.masters > 0 {
            return Some(Duration::ZERO);
        }
        self.backups.first_key_value().map(|(&d, _)| d)
    }

    /// Whether some instance is BACKUP.
    pub(super) fn any_backup(&self) -> bool {
        !self.backups.is_empty()
    }
}

impl Engine {
    /// How long adverts may wait unread before the runner reads them (module docs): zero while
    /// any instance is MASTER, the smallest Skew_Time of the BACKUP instances otherwise, `None`
    /// when no instance acts on adverts (all INIT or FAULT). A runner that waits for the rest of
    /// a burst waits no longer than this. Constant time: the value is kept as the instances
    /// change ([`Waits`]).
    pub fn input_may_wait(&self) -> Option<Duration> {
        self.waits.least()
    }

    /// Instance `i`'s state, priority or Master_Adver_Interval may have changed: count its
    /// share of [`Engine::input_may_wait`] again. Every place that changes one of them calls
    /// this (set_state, a BACKUP's learned interval, a priority change).
    pub(super) fn note_wait(&mut self, i: usize) {
        let Some(inst) = self.instances.get(i) else {
            return;
        };
        let w = match inst.state {
            State::Master => Wait::None,
            State::Backup => Wait::Upto(inst.skew_time()),
            State::Init | State::Fault => Wait::Any,
        };
        self.waits.set(i, w);
    }

    /// Count every instance's share again (a reload moved states and priorities into a new
    /// engine without telling [`Waits`]).
    pub(super) fn recount_waits(&mut self) {
        self.waits = Waits::new(self.instances.len());
        for i in 0..self.instances.len() {
            self.note_wait(i);
        }
    }

    /// [`Engine::input_may_wait`] by a scan of every instance: what the kept value must equal.
    #[cfg(test)]
    pub(crate) fn input_may_wait_scan(&self) -> Option<Duration> {
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
        hear_at(e, now, vrid, prio, 1);
    }

    /// [`hear`] with an interval of `cs` centiseconds.
    fn hear_at(e: &mut Engine, now: Instant, vrid: u8, prio: u8, cs: u16) {
        let a = Advert {
            version: Version::V3,
            vrid,
            priority: prio,
            interval: Interval::Centiseconds(cs),
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

    /// One step of a random history (`kept_value_is_the_scan_s`).
    #[derive(Clone, Debug)]
    enum Step {
        /// An advert for instance `k` (VRID 51 + k) of this priority and interval (cs).
        Hear(u8, u8, u16),
        /// Time passes (ms) and the due timers are served.
        Wait(u16),
        /// The tracked file's value (weight 10 on every instance but the first: priority
        /// changes, FAULT below -25).
        File(i64),
        /// eth0's link.
        Link(bool),
        /// A reload: these priorities and intervals (cs), as many instances as given.
        Reload(Vec<(u8, u16)>),
        /// Shutdown, then start again.
        Restart,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        let prio = prop_oneof![
            Just(0u8),
            Just(50),
            Just(100),
            Just(150),
            Just(254),
            Just(255)
        ];
        let cs = prop_oneof![Just(1u16), Just(2), Just(5), Just(100)];
        prop_oneof![
            4 => (0u8..4, prio, cs.clone()).prop_map(|(k, p, c)| Step::Hear(k, p, c)),
            4 => (0u16..40).prop_map(Step::Wait),
            2 => (-30i64..6).prop_map(Step::File),
            1 => any::<bool>().prop_map(Step::Link),
            1 => proptest::collection::vec((1u8..=255, cs), 1..5).prop_map(Step::Reload),
            1 => Just(Step::Restart),
        ]
    }

    /// Instances VI_0.. on eth0 (VRID 51..) with these priorities and intervals (cs), all but
    /// the first tracking file "f" with weight 10.
    fn config(insts: &[(u8, u16)]) -> EngineConfig {
        let cs = insts
            .iter()
            .enumerate()
            .map(|(k, &(p, c))| {
                let vrid = 51 + u8::try_from(k).unwrap();
                let mut ic =
                    InstanceConfig::new(&format!("VI_{k}"), "eth0", vrid, Version::V3, Family::V4)
                        .vips([IpAddr::V4(VIP)])
                        .advert_interval(Duration::from_millis(10 * u64::from(c)))
                        .priority(p);
                if k > 0 {
                    ic.track.push(crate::setup::Track {
                        target: crate::setup::TrackTarget::File("f".into()),
                        weight: 10,
                        reverse: false,
                    });
                }
                ic
            })
            .collect();
        let mut c = EngineConfig::instances(cs);
        c.track_files = vec![crate::setup::TrackFileConfig {
            name: "f".into(),
            initial: 0,
        }];
        c
    }

    proptest::proptest! {
        /// The value kept as instances change equals a scan of every instance after every
        /// call, through adverts of every priority and interval, timeouts, priority changes,
        /// faults, reloads and restarts.
        #[test]
        fn kept_value_is_the_scan_s(
            first in proptest::collection::vec((1u8..=255, 1u16..=5), 1..5),
            steps in proptest::collection::vec(step(), 1..80),
        ) {
            let mut e = Engine::new(config(&first)).unwrap();
            let eth0 = e.interface_id("eth0").unwrap();
            e.handle_input(
                Instant::ZERO,
                Input::PrimaryAddress { iface: eth0, family: Family::V4, addr: Some(ME.into()) },
            );
            proptest::prop_assert_eq!(e.input_may_wait(), e.input_may_wait_scan());
            start(&mut e);
            let mut now = Instant::ZERO;
            for s in steps {
                match s {
                    Step::Hear(k, p, c) => hear_at(&mut e, now, 51 + k, p, c),
                    Step::Wait(ms) => {
                        now = now.saturating_add(Duration::from_millis(u64::from(ms)));
                        while let Some(d) = e.poll_timeout().filter(|&d| d <= now) {
                            e.handle_timeout(d);
                            while e.poll_action().is_some() {}
                        }
                    }
                    Step::File(value) => {
                        if let Some(file) = e.track_file_id("f") {
                            e.handle_input(now, Input::TrackFile { file, value });
                        }
                    }
                    Step::Link(up) => {
                        if let Some(iface) = e.interface_id("eth0") {
                            e.handle_input(now, Input::Link { iface, up });
                        }
                    }
                    Step::Reload(insts) => {
                        e.reload(now, config(&insts)).unwrap();
                    }
                    Step::Restart => {
                        e.handle_input(now, Input::Shutdown);
                        while e.poll_action().is_some() {}
                        e.handle_input(now, Input::Start);
                    }
                }
                while e.poll_action().is_some() {}
                proptest::prop_assert_eq!(e.input_may_wait(), e.input_may_wait_scan());
                // The takeover question's shortcut agrees with its definition too.
                let d = e.poll_timeout();
                let scan = e.instances.iter().any(|i| {
                    i.state == State::Backup && Some(i.get(crate::instance::Timer::MasterDown)) == d
                });
                proptest::prop_assert_eq!(e.next_deadline_is_takeover(), scan);
            }
        }
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
