//! One virtual router instance: its runtime state and the RFC timer arithmetic.
//!
//! The transitions themselves live in the engine module ([`crate::Engine`]), which owns every instance so that
//! related instances can move inside one call.

use core::time::Duration;
use std::net::IpAddr;
use std::sync::Arc;

use crate::io::{IfaceId, InstanceId, State};
use crate::notices::InstanceNotices;
use crate::setup::{InstanceConfig, VirtualAddress, VirtualRoute, VirtualRule, OWNER_PRIORITY};
use crate::stats::{InstanceStats, PeerChecksum};
use crate::time::{duration_nanos, Instant};
use crate::wire::{Family, Interval, Version, V3_MAX_INTERVAL_CS};

/// The interval as it goes on the wire for `version`, or `None` when it does not fit: v2 needs
/// whole seconds 1..=255 (RFC 3768 section 5.3.7), v3 whole centiseconds 1..=4095 (RFC 5798
/// section 5.2.7).
pub fn wire_interval(version: Version, d: Duration) -> Option<Interval> {
    let ns = duration_nanos(d);
    match version {
        Version::V2 => {
            let s = ns / 1_000_000_000;
            (ns.is_multiple_of(1_000_000_000) && (1..=255).contains(&s))
                .then_some(Interval::Seconds(s as u8))
        }
        Version::V3 => {
            let cs = ns / 10_000_000;
            (ns.is_multiple_of(10_000_000) && (1..=u64::from(V3_MAX_INTERVAL_CS)).contains(&cs))
                .then_some(Interval::Centiseconds(cs as u16))
        }
    }
}

/// Skew_Time, exact to the nanosecond (both formulas divide a whole number of nanoseconds by 256).
///
/// - VRRPv2 (RFC 3768 section 6.1): `(256 - Priority) / 256` *seconds*, whatever the
///   Advertisement_Interval. keepalived's `VRRP_TIMER_SKEW` does the same (`(256 - prio) *
///   TIMER_HZ / 256`, in microseconds).
/// - VRRPv3 (RFC 5798 section 6.1): `((256 - priority) * Master_Adver_Interval) / 256`
///   centiseconds: scaled by the interval. keepalived computes it in microseconds
///   (`(256 - prio) * centiseconds * 625 / 16`).
///
/// keepalived truncates to the microsecond; this is at most 1 microsecond longer.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let unit = match version {
        Version::V2 => 1_000_000_000u128,
        Version::V3 => u128::from(duration_nanos(master_adver_interval)),
    };
    let ns = (256 - u128::from(priority)) * unit / 256;
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 5798 section 6.1; RFC
/// 3768 section 6.1 says `3 * Advertisement_Interval`, which is what a VRRPv2 router uses as
/// its Master_Adver_Interval: VRRPv2 does not learn the master's).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_down_interval_after(
        crate::setup::DEFAULT_DOWN_TIMER_ADVERTS,
        version,
        priority,
        master_adver_interval,
    )
}

/// Master_Down_Interval with keepalived's `down_timer_adverts` in place of the RFCs' 3:
/// `adverts * Master_Adver_Interval + Skew_Time` (keepalived's `VRRP_MS_DOWN_TIMER`).
pub fn master_down_interval_after(
    adverts: u32,
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval
        .saturating_mul(adverts)
        .saturating_add(skew_time(version, priority, master_adver_interval))
}

/// The first point of the interval's grid strictly after `now`: `phase` plus multiples of the
/// interval since the engine's epoch. Masters advertise on this grid, so that every instance
/// with the same interval and phase falls due at the same instant and one timer expiry sends
/// them all as one batch; the engine gives instances of a large interval class different phases
/// (`spread_grid_phases`). `phase` is taken modulo the interval.
pub fn grid_after(now: Instant, interval: Duration, phase: Duration) -> Instant {
    let i = duration_nanos(interval).max(1);
    let p = duration_nanos(phase) % i;
    let t = now.as_nanos();
    if t < p {
        return Instant::from_nanos(p);
    }
    let k = (t - p) / i + 1;
    Instant::from_nanos(k.saturating_mul(i).saturating_add(p))
}

/// When a master's next advert is due after an advert sent off its schedule at `sent` (on
/// becoming MASTER, answering a priority 0, after a stall): the first point of the interval's
/// grid (at `phase`) at or after `sent + interval`.
///
/// RFC 5798 section 6.4.2 / 6.4.3: "Set the Adver_Timer to Advertisement_Interval", so the next
/// advert never comes earlier than one interval after the previous one (joining the grid at
/// once made the second advert after a takeover come a few ms after the first). Joining the
/// grid lengthens that one gap by less than one interval (to below two intervals); backups wait
/// three intervals plus skew (Master_Down_Interval), so that gap is safe, and every later gap
/// is exactly one interval, on the grid shared by every instance with the same interval and
/// phase.
pub fn next_advert_after(sent: Instant, interval: Duration, phase: Duration) -> Instant {
    let earliest = sent.saturating_add(interval);
    let i = duration_nanos(interval).max(1);
    let p = duration_nanos(phase) % i;
    let t = earliest.as_nanos();
    if earliest == Instant::MAX || (t >= p && (t - p).is_multiple_of(i)) {
        earliest
    } else {
        grid_after(earliest, interval, phase)
    }
}

/// The most masters of one Advertisement_Interval that fall due at one point of its grid.
///
/// One grid point per interval sends every advert of that interval in one burst: 4,080
/// instances at 100 ms were one burst of 26 to 37 ms on a 2-vCPU VM (ftrace, BENCHMARKS-daemon.md,
/// ninth session), and an advert's place in it moved with the speed of the whole burst before
/// it, so the last adverts' gaps varied by up to 10 ms (the master's p99 lateness on the wire).
/// Bursts of at most 128 keep the batching (one timer expiry, one `sendmmsg` per socket) and
/// bound that variation to one short burst; configurations of up to 128 instances per interval
/// keep one grid point.
pub const GRID_BATCH: usize = 128;

/// The closest two phases of one interval's grid may be ([`spread_grid_phases`]): a batch
/// should mostly be sent before the next one falls due, or the batches run together into one
/// burst again, with one more wake-up each. 1.25 ms is about one batch of [`GRID_BATCH`]
/// adverts on the slowest machine measured (7 to 8 us an advert, kernel included, 1.0 ms); at
/// 10 ms it allows eight batches, so 1,020 instances go out in batches of 128 like 4,080 at
/// 100 ms. With 2.5 ms (four batches of 255 at 10 ms) the last adverts of a batch left up to
/// 2 ms after its first, and their gaps varied with that whole batch's speed: the adverts at
/// the end of a batch were late (gap > interval + 0.5 ms) five to eight times as often as the
/// first (BENCHMARKS-daemon.md, tenth session).
pub const GRID_MIN_STEP: Duration = Duration::from_micros(1_250);

/// Give the instances of an interval class of more than [`GRID_BATCH`] members evenly spaced
/// phases on their grid: in configuration order, `ceil(n / GRID_BATCH)` equal batches (at most
/// one per [`GRID_MIN_STEP`] of the interval), batch `b` at `b x interval / batches`. Deterministic (the configuration only). RFC 5798 does not tie
/// the adverts of different virtual routers together (section 6.4.3 runs one Adver_Timer per
/// virtual router), and keepalived does not align them either.
pub(crate) fn spread_grid_phases(instances: &mut [Instance]) {
    let mut order: Vec<(Duration, usize)> = instances
        .iter()
        .enumerate()
        .map(|(k, i)| (i.cfg.advert_interval, k))
        .collect();
    order.sort_unstable();
    for class in order.chunk_by(|a, b| a.0 == b.0) {
        let steps = duration_nanos(class[0].0) / duration_nanos(GRID_MIN_STEP);
        let batches = class
            .len()
            .div_ceil(GRID_BATCH)
            .min(usize::try_from(steps).unwrap_or(usize::MAX));
        if batches < 2 {
            continue;
        }
        let per = class.len().div_ceil(batches);
        let step = duration_nanos(class[0].0) / batches as u64;
        for (rank, &(_, k)) in class.iter().enumerate() {
            instances[k].grid_phase =
                Duration::from_nanos(step.saturating_mul((rank / per) as u64));
        }
    }
}

/// The timers of an instance, indexing [`Instance::timers`] (quinn-proto's timer-table style).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Adver_Timer (MASTER): send the next advert.
    Adver = 0,
    /// Master_Down_Timer (BACKUP): take over.
    MasterDown = 1,
    /// The earliest time an interface gate opens for one of this instance's pending
    /// announcements (`Instance::pending`; MASTER; `announce.rs`).
    Announce = 2,
    /// The delayed burst: `garp_master_delay` after becoming MASTER, or `garp_lower_prio_delay`
    /// after hearing a lower priority (MASTER).
    AnnounceDelayed = 3,
    /// `garp_master_refresh` (MASTER).
    Refresh = 4,
}

pub(crate) const TIMER_COUNT: usize = 5;
pub(crate) const TIMERS: [Timer; TIMER_COUNT] = [
    Timer::Adver,
    Timer::MasterDown,
    Timer::Announce,
    Timer::AnnounceDelayed,
    Timer::Refresh,
];

/// What an instance tracks, resolved to indexes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Tracked {
    pub target: TrackedRef,
    pub weight: i32,
    pub reverse: bool,
}

/// A resolved tracked object.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum TrackedRef {
    Interface(u16),
    Script(u16),
    File(u16),
    Process(u16),
}

/// Runtime state of one instance.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Instance {
    /// The configuration, shared (never changed while the instance runs; a reload builds new
    /// instances): copying an engine copies a pointer instead of every string and list of it.
    pub cfg: Arc<InstanceConfig>,
    pub id: InstanceId,
    pub iface: IfaceId,
    pub state: State,
    /// Effective priority (the configured one until tracking changes it).
    pub priority: u8,
    /// Our Advertisement_Interval on the wire.
    pub interval: Interval,
    /// Master_Adver_Interval: our own, or learned from the master's adverts (v3).
    pub master_adver_interval: Duration,
    /// The addresses that go in adverts.
    pub advert_addrs: Arc<[IpAddr]>,
    /// The virtual addresses to add, remove and announce.
    pub vips: Arc<[VirtualAddress]>,
    /// `virtual_ipaddress_excluded`: added and removed with the virtual addresses, never in
    /// adverts.
    pub excluded: Arc<[VirtualAddress]>,
    /// What an announcement covers: the virtual addresses, then the excluded ones (keepalived
    /// announces both).
    pub announced: Arc<[VirtualAddress]>,
    /// `virtual_routes`: installed while MASTER.
    pub routes: Arc<[VirtualRoute]>,
    /// `virtual_rules`: installed while MASTER.
    pub rules: Arc<[VirtualRule]>,
    /// Unicast peers, when configured.
    pub peers: Option<Arc<[IpAddr]>>,
    /// Deadlines, `Instant::MAX` when not running.
    pub timers: [Instant; TIMER_COUNT],
    /// preempt_delay: preemption is allowed from this instant on (None: not yet armed).
    pub preempt_at: Option<Instant>,
    /// The instant of this instance's valid entry in the engine's timer heap (MAX: none).
    pub queued: Instant,
    /// The source address of the master last heard.
    pub master_addr: Option<IpAddr>,
    pub stats: InstanceStats,
    /// The sync group this instance belongs to.
    pub group: Option<u16>,
    /// In a sync group: the Master_Down_Timer ran out and this member would go MASTER, but the
    /// group waits for every member (cleared when a master is heard again).
    pub want_master: bool,
    /// Resolved trackers.
    pub tracked: Vec<Tracked>,
    /// Per address of `announced`: an announcement waits for its interface's gate
    /// (keepalived 2.2.7's `garp_gna_pending`; `announce.rs`).
    pub pending: Vec<bool>,
    /// Announcements in the pending delayed burst.
    pub delayed_repeat: u32,
    /// `garp_extra_if`: the first advert at or after this instant also announces on the other
    /// interfaces (MASTER; MAX: off).
    pub extra_if_due: Instant,
    /// When the running Master_Down_Timer was started with a full Master_Down_Interval (None
    /// while it runs for Skew_Time after a priority-0 advert): lets a priority change rescale it.
    pub down_from: Option<Instant>,
    /// When this MASTER last answered a lower priority (RFC 9568 advert, keepalived's
    /// garp_lower_prio burst): at most one answer per Advertisement_Interval.
    pub answered_at: Option<Instant>,
    /// The deadline a Master_Down_Timer was extended to because of the runner's receive queue
    /// (MAX: none); an extension is not repeated within one run of the timer (backlog.rs).
    pub down_extended: Instant,
    /// Rate limits and memory of the operator notices ([`crate::notices`]).
    pub notices: InstanceNotices,
    /// VRRPv3-over-IPv4: which checksum form each peer heard uses (at most
    /// [`crate::stats::PEER_CHECKSUMS_RECORDED`] peers). Room for the first peer is reserved
    /// with the instance: that peer is usually heard first by a MASTER that must step down
    /// (a returning higher priority), and a first allocation there cost 10-40 us before the
    /// address removal in vigild (a fresh heap page faulted in and locked; issue 18).
    pub peer_checksums: Vec<PeerChecksum>,
    /// Unicast VRRPv3/IPv4 adverts go out with keepalived's old checksum (configured, or
    /// detected from a peer); `old_checksum_said`: the log was told.
    pub old_checksum: bool,
    pub old_checksum_said: bool,
    /// Where this instance's adverts sit on its interval's grid (`grid_after`): zero unless
    /// more than [`GRID_BATCH`] instances share the interval
    /// (`spread_grid_phases`). Set when the engine is built; a reload keeps a running master's
    /// schedule.
    pub grid_phase: Duration,
}

impl Instance {
    pub(crate) fn new(cfg: InstanceConfig, id: InstanceId, iface: IfaceId) -> Option<Instance> {
        let interval = wire_interval(cfg.version, cfg.advert_interval)?;
        let peers =
            (!cfg.unicast_peers.is_empty()).then(|| Arc::from(cfg.unicast_peers.as_slice()));
        let vips: Arc<[VirtualAddress]> = Arc::from(cfg.virtual_addresses.as_slice());
        Some(Instance {
            id,
            iface,
            state: State::Init,
            priority: cfg.priority,
            interval,
            master_adver_interval: cfg.advert_interval,
            advert_addrs: cfg.advert_addrs(),
            announced: if cfg.excluded_addresses.is_empty() {
                Arc::clone(&vips)
            } else {
                vips.iter()
                    .chain(&cfg.excluded_addresses)
                    .cloned()
                    .collect()
            },
            vips,
            excluded: Arc::from(cfg.excluded_addresses.as_slice()),
            routes: Arc::from(cfg.virtual_routes.as_slice()),
            rules: Arc::from(cfg.virtual_rules.as_slice()),
            peers,
            timers: [Instant::MAX; TIMER_COUNT],
            preempt_at: None,
            queued: Instant::MAX,
            master_addr: None,
            stats: InstanceStats::default(),
            group: None,
            want_master: false,
            tracked: Vec::new(),
            pending: Vec::new(),
            delayed_repeat: 0,
            extra_if_due: Instant::MAX,
            down_from: None,
            answered_at: None,
            down_extended: Instant::MAX,
            notices: InstanceNotices::default(),
            peer_checksums: if cfg.version == Version::V3 && cfg.family == Family::V4 {
                Vec::with_capacity(1)
            } else {
                Vec::new()
            },
            old_checksum: cfg.old_unicast_checksum == crate::setup::OldUnicastChecksum::Always,
            old_checksum_said: false,
            grid_phase: Duration::ZERO,
            cfg: Arc::new(cfg),
        })
    }

    /// The address owner: priority 255 in the configuration (tracking never changes it).
    pub(crate) fn is_owner(&self) -> bool {
        self.cfg.priority == OWNER_PRIORITY
    }

    /// The earliest running timer.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Instant {
        self.timers.iter().copied().min().unwrap_or(Instant::MAX)
    }

    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.timers[t as usize] = at;
    }

    pub(crate) fn get(&self, t: Timer) -> Instant {
        self.timers[t as usize]
    }

    pub(crate) fn stop_timers(&mut self) {
        self.timers = [Instant::MAX; TIMER_COUNT];
        self.pending.clear();
    }

    /// Stop the timers that only run while MASTER.
    pub(crate) fn stop_master_timers(&mut self) {
        for t in [
            Timer::Adver,
            Timer::Announce,
            Timer::AnnounceDelayed,
            Timer::Refresh,
        ] {
            self.set(t, Instant::MAX);
        }
        // keepalived 2.2.7 vrrp_remove_delayed_arp, on leaving MASTER.
        self.pending.clear();
    }

    /// (Re)start the Master_Down_Timer for a full Master_Down_Interval from `now`.
    pub(crate) fn restart_down_timer(&mut self, now: Instant) {
        self.down_from = Some(now);
        self.set(
            Timer::MasterDown,
            now.saturating_add(self.master_down_interval()),
        );
    }

    /// Run the Master_Down_Timer for Skew_Time only (the master said goodbye with priority 0).
    pub(crate) fn skew_down_timer(&mut self, now: Instant) {
        self.down_from = None;
        self.set(Timer::MasterDown, now.saturating_add(self.skew_time()));
    }

    /// The effective priority changed: a running full Master_Down_Timer now ends one new
    /// Master_Down_Interval after it started (Skew_Time depends on the priority). It may be due
    /// already; the engine then takes over at once.
    pub(crate) fn rescale_down_timer(&mut self) {
        if let (Some(from), true) = (self.down_from, self.get(Timer::MasterDown) != Instant::MAX) {
            self.set(
                Timer::MasterDown,
                from.saturating_add(self.master_down_interval()),
            );
        }
    }

    /// Master_Down_Interval for our effective priority and the current Master_Adver_Interval.
    pub(crate) fn master_down_interval(&self) -> Duration {
        master_down_interval_after(
            self.cfg.down_timer_adverts,
            self.cfg.version,
            self.priority,
            self.master_adver_interval,
        )
    }

    /// Skew_Time for our effective priority and the current Master_Adver_Interval.
    pub(crate) fn skew_time(&self) -> Duration {
        skew_time(self.cfg.version, self.priority, self.master_adver_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: Version = Version::V2;
    const V3: Version = Version::V3;

    #[test]
    fn v3_skew_and_down_interval_scale_with_the_interval() {
        let s = Duration::from_secs(1);
        assert_eq!(skew_time(V3, 100, s), Duration::from_micros(609_375));
        assert_eq!(
            master_down_interval(V3, 100, s),
            Duration::from_micros(3_609_375)
        );
        assert_eq!(
            master_down_interval(V3, 200, s),
            Duration::from_micros(3_218_750)
        );
        let cs = Duration::from_millis(10);
        assert_eq!(
            master_down_interval(V3, 100, cs),
            Duration::from_nanos(36_093_750)
        );
        assert_eq!(
            master_down_interval(V3, 200, cs),
            Duration::from_nanos(32_187_500)
        );
        assert_eq!(skew_time(V3, 255, s), Duration::from_nanos(3_906_250));
        // 2 s: the skew doubles (RFC 5798 section 6.1).
        assert_eq!(
            skew_time(V3, 100, Duration::from_secs(2)),
            Duration::from_micros(1_218_750)
        );
        assert_eq!(
            master_down_interval(V3, 100, Duration::from_secs(2)),
            Duration::from_micros(7_218_750)
        );
    }

    /// RFC 3768 section 6.1: Skew_Time is (256 - Priority) / 256 seconds at every
    /// Advertisement_Interval (issue 19: it was scaled by the interval, 7.219 s instead of
    /// 6.609 s at 2 s and priority 100, behind keepalived).
    #[test]
    fn v2_skew_is_in_seconds_whatever_the_interval() {
        for (secs, p, skew_us, mdi_us) in [
            (1u64, 100u8, 609_375u64, 3_609_375u64),
            (2, 100, 609_375, 6_609_375),
            (3, 100, 609_375, 9_609_375),
            (10, 100, 609_375, 30_609_375),
            (1, 200, 218_750, 3_218_750),
            (2, 200, 218_750, 6_218_750),
            (3, 200, 218_750, 9_218_750),
            (10, 200, 218_750, 30_218_750),
            (10, 1, 996_093_750 / 1000, 30_996_093),
        ] {
            let i = Duration::from_secs(secs);
            let skew = skew_time(V2, p, i);
            assert_eq!(
                skew.as_micros(),
                u128::from(skew_us),
                "Skew_Time, priority {p} at {secs} s"
            );
            assert_eq!(
                master_down_interval(V2, p, i).as_micros(),
                u128::from(mdi_us),
                "Master_Down_Interval, priority {p} at {secs} s"
            );
        }
        // Exact: priority 255 skews by 1/256 s.
        assert_eq!(
            skew_time(V2, 255, Duration::from_secs(10)),
            Duration::from_nanos(3_906_250)
        );
    }

    #[test]
    fn wire_interval_fits_the_version() {
        assert_eq!(
            wire_interval(Version::V2, Duration::from_secs(1)),
            Some(Interval::Seconds(1))
        );
        assert_eq!(
            wire_interval(Version::V2, Duration::from_millis(1500)),
            None
        );
        assert_eq!(wire_interval(Version::V2, Duration::from_secs(256)), None);
        assert_eq!(
            wire_interval(Version::V3, Duration::from_millis(10)),
            Some(Interval::Centiseconds(1))
        );
        assert_eq!(wire_interval(Version::V3, Duration::from_millis(5)), None);
        assert_eq!(
            wire_interval(Version::V3, Duration::from_millis(40_960)),
            None
        );
    }

    #[test]
    fn grid_is_strictly_after_now_and_at_most_one_interval_away() {
        let i = Duration::from_millis(10);
        assert_eq!(
            grid_after(Instant::ZERO, i, Duration::ZERO),
            Instant::from_millis(10)
        );
        assert_eq!(
            grid_after(Instant::from_millis(10), i, Duration::ZERO),
            Instant::from_millis(20)
        );
        assert_eq!(
            grid_after(Instant::from_micros(10_001), i, Duration::ZERO),
            Instant::from_millis(20)
        );
    }

    #[test]
    fn a_phase_moves_the_grid_by_that_much() {
        let i = Duration::from_millis(100);
        let p = Duration::from_micros(6_250);
        assert_eq!(grid_after(Instant::ZERO, i, p), Instant::from_micros(6_250));
        assert_eq!(
            grid_after(Instant::from_micros(6_250), i, p),
            Instant::from_micros(106_250)
        );
        // A phase of more than one interval is the same grid.
        assert_eq!(
            grid_after(Instant::from_millis(50), i, p + i),
            Instant::from_micros(106_250)
        );
        assert_eq!(
            next_advert_after(Instant::from_micros(6_250), i, p),
            Instant::from_micros(106_250)
        );
        assert_eq!(
            next_advert_after(Instant::from_micros(7_000), i, p),
            Instant::from_micros(206_250)
        );
    }

    fn instances(n: usize, interval: Duration) -> Vec<Instance> {
        (0..n)
            .map(|k| {
                let cfg =
                    InstanceConfig::new(&format!("VI_{k}"), "eth0", 1, V3, crate::wire::Family::V4)
                        .advert_interval(interval);
                Instance::new(cfg, InstanceId(k as u32), IfaceId(0)).expect("valid")
            })
            .collect()
    }

    #[test]
    fn a_long_interval_gets_batches_of_at_most_grid_batch() {
        let mut v = instances(4_080, Duration::from_millis(100));
        spread_grid_phases(&mut v);
        // 32 batches of at most 128, 3.125 ms apart.
        let mut per = std::collections::BTreeMap::new();
        for i in &v {
            *per.entry(i.grid_phase).or_insert(0) += 1;
        }
        assert_eq!(per.len(), 32);
        assert!(per.values().all(|&n| n <= GRID_BATCH));
        assert_eq!(v[128].grid_phase, Duration::from_micros(3_125));
        assert_eq!(v[4_079].grid_phase, Duration::from_micros(96_875));
    }

    #[test]
    fn up_to_one_batch_per_interval_keeps_one_grid_point() {
        let mut v = instances(GRID_BATCH, Duration::from_millis(10));
        spread_grid_phases(&mut v);
        assert!(v.iter().all(|i| i.grid_phase == Duration::ZERO));
    }

    #[test]
    fn a_large_interval_class_is_spread_in_equal_batches_in_order() {
        let mut v = instances(1_020, Duration::from_millis(10));
        v.extend(instances(3, Duration::from_secs(1)));
        spread_grid_phases(&mut v);
        // 1,020 at 10 ms: 8 batches of (at most) 128, 1.25 ms apart, in configuration order.
        assert_eq!(v[0].grid_phase, Duration::ZERO);
        assert_eq!(v[127].grid_phase, Duration::ZERO);
        assert_eq!(v[128].grid_phase, Duration::from_micros(1_250));
        assert_eq!(v[1_019].grid_phase, Duration::from_micros(8_750));
        // The small class of another interval is left on one point.
        assert!(v[1_020..].iter().all(|i| i.grid_phase == Duration::ZERO));
    }

    #[test]
    fn a_short_interval_gets_at_most_one_batch_per_min_step() {
        // 2,040 at 10 ms: room for 8 phases 1.25 ms apart, so 8 batches of 255.
        let mut v = instances(2_040, Duration::from_millis(10));
        spread_grid_phases(&mut v);
        assert_eq!(v[254].grid_phase, Duration::ZERO);
        assert_eq!(v[255].grid_phase, GRID_MIN_STEP);
        assert_eq!(v[2_039].grid_phase, GRID_MIN_STEP * 7);
    }

    /// RFC 5798 section 6.4.2: after the advert sent on becoming MASTER, "Set the Adver_Timer to
    /// Advertisement_Interval": the next advert is due at the first grid point at least one
    /// interval later (3.609375 s at 1 s: 5 s, not 4 s).
    #[test]
    fn rfc5798_6_4_2_next_advert_is_at_least_one_interval_after_the_first() {
        let s = Duration::from_secs(1);
        assert_eq!(
            next_advert_after(Instant::from_micros(3_609_375), s, Duration::ZERO),
            Instant::from_millis(5_000)
        );
        // Sent on the grid: exactly one interval.
        assert_eq!(
            next_advert_after(Instant::from_millis(4_000), s, Duration::ZERO),
            Instant::from_millis(5_000)
        );
        assert_eq!(
            next_advert_after(Instant::MAX, s, Duration::ZERO),
            Instant::MAX
        );
    }

    proptest::proptest! {
        /// For any send time and interval, the next advert is on the grid, at least one interval
        /// after the send and less than two.
        #[test]
        fn next_advert_is_on_the_grid_between_one_and_two_intervals_later(
            sent in 0u64..1 << 50,
            interval_us in 1u64..40_960_000,
            phase_ns in 0u64..1 << 40,
        ) {
            let sent = Instant::from_nanos(sent);
            let interval = Duration::from_micros(interval_us);
            let phase = Duration::from_nanos(phase_ns);
            let next = next_advert_after(sent, interval, phase);
            let gap = next.saturating_duration_since(sent);
            proptest::prop_assert!(gap >= interval, "gap {gap:?} < {interval:?}");
            proptest::prop_assert!(gap < interval * 2, "gap {gap:?} >= 2 x {interval:?}");
            let i = interval_us * 1_000;
            proptest::prop_assert_eq!(next.as_nanos() % i, phase_ns % i);
        }
    }
}
