//! The simulator's own model of every instance, built only from what the simulator fed the
//! engine (frames, time, faults) and what the engine told it (actions), and checked against what
//! the engine reports about itself after every call.
//!
//! The engine is a black box here: nothing in it exists for these checks. The model recomputes,
//! from the RFC and from the actions, what an operator can read from a running router:
//!
//! - `counters`: every per-instance counter of [`InstanceStats`] (RFC 6527 names) and every
//!   router-wide counter equals what the actions and the deliveries imply: one `adverts_sent`
//!   per `SendAdvert`, one `became_master` / `released_master` per transition, one
//!   `adverts_received` per delivered advert that was not dropped, and for each
//!   `ProtocolError` exactly the counter its rule names.
//! - `priority-report`: the effective priority in every `PriorityChange` and `StateChange`
//!   continues the previous one, and the engine's view agrees.
//! - `takeover-early` / `takeover-late`: a BACKUP's Master_Down_Timer, modelled from outside
//!   (RFC 5798 section 6.4.2: restarted with Master_Down_Interval by every advert it accepts from
//!   a priority at least its own, or when preemption is off; Skew_Time after a priority-0
//!   advert; rescaled when the effective priority changes), runs out exactly when the engine
//!   says: it takes over no earlier than the deadline, and a lone BACKUP is never still waiting
//!   after it. Skew_Time and Master_Down_Interval are computed here from the RFC's formulas, not
//!   with the engine's functions, so a wrong formula in the engine cannot hide itself (issue 19:
//!   when the oracle shared the engine's formula, VRRPv2's skew scaled by the interval went
//!   unseen). Restated here, from the RFC text: RFC 3768 section 6.1 (VRRPv2 Skew_Time =
//!   (256 - Priority) / 256 s whatever the interval; Master_Down_Interval = 3 x
//!   Advertisement_Interval + Skew_Time, no learning of the master's interval); RFC 5798
//!   section 6.1 (VRRPv3 Skew_Time = ((256 - priority) x Master_Adver_Interval) / 256); RFC
//!   5798 section 6.4.2 (which adverts restart the timer, priority 0 sets it to Skew_Time, a
//!   VRRPv3 backup learns Master_Adver_Interval); and from keepalived, `down_timer_adverts` in
//!   place of the 3 (`VRRP_MS_DOWN_TIMER`) and `preempt_delay`. The engine's counter mapping
//!   (`count_drop`) is the one part taken from the engine rather than restated.
//! - `view`: the engine's read-only view of each instance (name, id, interface, effective
//!   priority, Master_Adver_Interval, Master_Down_Interval, next deadline) and its name lookups
//!   agree with the configuration and the model.
//!
//! - `announce-count`: each MASTER tenure made the announcements its schedule calls for.
//! - `garp-gate`: never two announcements on one interface and family of a node closer than its
//!   gate (`vrrp_garp_interval` / `vrrp_gna_interval` / `garp_group`, per interface as in
//!   keepalived 2.2.7).
//! - `extra-if`: `garp_extra_if`'s periodic announcements come only while MASTER, each at least
//!   the interval after the previous one (or the start of the tenure) and at most one advert
//!   interval later (keepalived sends at the first advert at or after the due time), and none is
//!   missed before the tenure ends.
//!
//! keepalived's preempt_delay is modelled too (armed at start-up and by the first lower
//! priority heard), so the timer model is exact; it says `Unknown` only before the first report
//! of the effective priority.

use std::net::IpAddr;

use vigil_engine::stats::{InstanceStats, RouterStats};
use vigil_engine::wire::{ParseError, Version};
use vigil_engine::{DropReason, EngineConfig, State};

// The RFC timer rules, restated here from the RFC text and not from the engine (issue 19: the
// oracle once used the engine's own formula and could not see that VRRPv2 scaled Skew_Time by
// the interval). What is restated, and from where:
//
// - RFC 3768 section 6.1 (VRRPv2): "Skew_Time ... Calculated as: ( (256 - Priority) / 256 )",
//   in seconds: one second's 256th per priority step, whatever the Advertisement_Interval.
//   "Master_Down_Interval ... (3 * Advertisement_Interval) + Skew_time". A VRRPv2 router does
//   not learn the master's interval: its Master_Adver_Interval is its own.
// - RFC 5798 section 6.1 (VRRPv3): "Skew_Time ... (((256 - priority) * Master_Adver_Interval)
//   / 256)" centiseconds, and "Master_Down_Interval ... (3 * Master_Adver_Interval) +
//   Skew_time"; Master_Adver_Interval is learned from the master's adverts (section 6.4.2).
//
// Rounding: both formulas are exact rationals; here they are carried in nanoseconds and
// truncated (VRRPv2's unit, 10^9 / 256 ns, is a whole number; VRRPv3's loses under 1 ns).
// keepalived (vrrp.h, VRRP_TIMER_SKEW) computes the same in microseconds, truncated.

/// One second in nanoseconds: VRRPv2's Skew_Time unit (RFC 3768 section 6.1).
const SECOND_NS: u64 = 1_000_000_000;

/// Skew_Time in nanoseconds for `priority` at Master_Adver_Interval `mai` (ns), computed
/// independently of the engine: VRRPv2 `(256 - Priority) / 256` s (RFC 3768 section 6.1),
/// VRRPv3 `((256 - Priority) * Master_Adver_Interval) / 256` (RFC 5798 section 6.1).
pub fn skew(v3: bool, priority: u8, mai: u64) -> u64 {
    let unit = if v3 { mai } else { SECOND_NS };
    if let Some(p) = (256 - u64::from(priority)).checked_mul(unit) {
        return p / 256;
    }
    let ns = (256 - u128::from(priority)) * u128::from(unit) / 256;
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 3768 and RFC 5798 section
/// 6.1), in nanoseconds, computed independently of the engine.
pub fn down_interval(v3: bool, priority: u8, mai: u64) -> u64 {
    down_interval_after(3, v3, priority, mai)
}

/// Master_Down_Interval with keepalived's `down_timer_adverts` in place of the RFCs' 3
/// (keepalived's `VRRP_MS_DOWN_TIMER`: `down_timer_adverts * master_adver_int + skew`).
pub fn down_interval_after(adverts: u32, v3: bool, priority: u8, mai: u64) -> u64 {
    mai.saturating_mul(u64::from(adverts))
        .saturating_add(skew(v3, priority, mai))
}

/// The Master_Down_Timer as seen from outside, in the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Down {
    /// Not running (not BACKUP).
    Off,
    /// Started at `from` for a full Master_Down_Interval (rescaled with the priority).
    Full { from: u64 },
    /// Running for Skew_Time after a priority-0 advert: due at `at`.
    Skew { at: u64 },
    /// The outside cannot tell (a lower priority heard under `preempt_delay`).
    Unknown,
}

/// What the simulator expects of one instance.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    /// Effective priority as the actions told it (None before the first report).
    pub prio: Option<u8>,
    /// The counters the actions and deliveries imply.
    pub stats: InstanceStats,
    /// Accepted adverts with the owner's priority (they may count an address-list mismatch
    /// without being dropped).
    pub owner_adverts: u64,
    /// Master_Adver_Interval the engine must be using, nanoseconds (None: unknown).
    pub mai: Option<u64>,
    /// The Master_Down_Timer.
    pub down: Down,
    /// Own Advertisement_Interval, nanoseconds.
    pub own: u64,
    /// RFC 5798 version 3 (learns Master_Adver_Interval from adverts).
    pub v3: bool,
    /// keepalived's `down_timer_adverts` (the RFCs' 3 by default).
    pub adverts: u32,
    /// Preemption on, and its delay in nanoseconds.
    pub preempt: bool,
    pub preempt_delay: u64,
    /// `advert-storm`: start of the current window of one Advertisement_Interval and the adverts
    /// sent in it.
    pub storm: (u64, u32),
    /// keepalived's preempt_delay: preemption allowed from this local time on (armed at start-up
    /// and by the first lower priority heard, cleared by a priority at least ours and by
    /// leaving for INIT).
    pub preempt_at: Option<u64>,
    /// Member of a sync group (its takeover may wait for the other members).
    pub grouped: bool,
    /// The current MASTER tenure: when it began (local clock), announcements made in it, and
    /// whether a lower priority was heard (which starts bursts of its own).
    pub tenure: Option<(u64, u32, bool)>,
    /// Announcements since the last transition (a new MASTER announces before it reports).
    pub pre_announces: u32,
    /// `garp_extra_if`: the local time of the tenure's last periodic announcement (its start
    /// before the first).
    pub extra_last: Option<u64>,
    /// The current MASTER tenure went through a reload (new announcement settings, addresses
    /// added and announced) or a stall (announcements served late): `announce-count` does not
    /// judge it.
    pub tenure_unjudged: bool,
    /// The master last heard (ours while MASTER): `None` when the outside cannot know.
    pub master_addr: Option<Option<IpAddr>>,
    /// A sync-group member whose Master_Down_Timer ran out and that waits for the other
    /// members; only an advert with a non-zero priority makes it wait again (a priority-0
    /// advert re-arms Skew_Time but it stays ready: the engine's `want_master`, seen from
    /// outside).
    pub expired: bool,
    /// The Master_Down_Timer deadline that ran out while the node was running (a sync-group
    /// member that then waits for its group): the engine served that timer already and has no
    /// Master_Down_Timer armed, so a later read-before-deciding has nothing to extend.
    pub ran_out: Option<u64>,
    /// The read-before-deciding extension ([`Model::extend`]): the RFC deadline it extended
    /// and the new one.
    pub extended: Option<(u64, u64)>,
}

impl Model {
    /// A fresh engine's instance `i` of `cfg`.
    pub(crate) fn new(cfg: &EngineConfig, i: usize) -> Model {
        let mut m = Model {
            prio: None,
            stats: InstanceStats::default(),
            owner_adverts: 0,
            mai: None,
            down: Down::Off,
            own: 0,
            v3: false,
            adverts: 3,
            preempt: false,
            preempt_delay: 0,
            grouped: false,
            expired: false,
            preempt_at: None,
            storm: (0, 0),
            master_addr: Some(None),
            tenure: None,
            pre_announces: 0,
            extra_last: None,
            tenure_unjudged: false,
            extended: None,
            ran_out: None,
        };
        m.settings(cfg, i);
        m.mai = Some(m.own);
        m
    }

    /// The settings instance `i` of `cfg` gives the model: its own interval, version,
    /// preemption and delay, and whether it is in a sync group.
    fn settings(&mut self, cfg: &EngineConfig, i: usize) {
        let c = &cfg.instances[i];
        self.own = u64::try_from(c.advert_interval.as_nanos()).unwrap_or(u64::MAX);
        self.v3 = c.version == Version::V3;
        self.adverts = c.down_timer_adverts;
        self.preempt = c.preempt;
        self.preempt_delay = u64::try_from(c.preempt_delay.as_nanos()).unwrap_or(u64::MAX);
        self.grouped = cfg.sync_groups.iter().any(|g| g.members.contains(&c.name));
    }

    /// A reload kept this virtual router as instance `i` of `cfg` (same name, interface,
    /// family, VRID and version): its runtime state stays, the settings follow the new
    /// configuration (reload.rs's rule). VRRPv2's Master_Adver_Interval is the configured one,
    /// and a MASTER's is its own; a VRRPv2 BACKUP whose interval changed keeps a timer armed
    /// under the old one, which the outside cannot compute: unknown until the next advert
    /// restarts it (a VRRPv3 BACKUP runs on the interval it learned, which does not change).
    pub(crate) fn reconfigure(&mut self, cfg: &EngineConfig, i: usize, state: State) {
        let was = self.own;
        self.settings(cfg, i);
        let changed = self.own != was;
        if !self.v3 || state == State::Master {
            self.mai = Some(self.own);
        }
        if changed && !self.v3 && matches!(self.down, Down::Full { .. }) {
            self.down = Down::Unknown;
        }
        if state == State::Master {
            self.tenure_unjudged = true;
        }
    }

    /// The Master_Down_Timer's deadline (local clock), when the outside knows it: the RFC's,
    /// or where the read-before-deciding rule extended it ([`Model::extend`]).
    pub(crate) fn deadline(&self) -> Option<u64> {
        let base = self.rfc_deadline()?;
        Some(match self.extended {
            Some((of, to)) if of == base => to,
            _ => base,
        })
    }

    /// The engine's read-before-deciding rule (its `backlog` module), modelled from outside: a
    /// BACKUP's Master_Down_Timer due at `local` (local clock) whose interface's socket buffer
    /// lost frames at `lost_at` within the timer's run (lost_at + Master_Down_Interval >= the
    /// deadline), or that fell within the node's last `stall` and is served more than Skew_Time
    /// after it, is extended once, to one
    /// Master_Adver_Interval after the later of the deadline and now. Returns true when extended.
    pub(crate) fn extend(
        &mut self,
        local: u64,
        lost_at: Option<u64>,
        stall: Option<(u64, u64)>,
    ) -> bool {
        let (Some(base), Some(d), Some(p), Some(mai)) =
            (self.rfc_deadline(), self.deadline(), self.prio, self.mai)
        else {
            return false;
        };
        if d > local || self.extended.is_some_and(|(of, _)| of == base) || self.ran_out == Some(d) {
            return false;
        }
        let lost = lost_at.is_some_and(|l| {
            l.saturating_add(down_interval_after(self.adverts, self.v3, p, mai)) >= d
        });
        // Served later than Skew_Time after its deadline: only a deadline that fell within the
        // node's last stall is served late (a running node serves it on time; a deadline the
        // model computes in the past otherwise is one the engine served already, e.g. a
        // sync-group member's that ran out and waits).
        let late = stall.is_some_and(|(from, to)| from <= d && d <= to)
            && local.saturating_sub(d) > skew(self.v3, p, mai);
        if !lost && !late {
            return false;
        }
        self.extended = Some((base, d.max(local).saturating_add(mai)));
        true
    }

    /// The Master_Down_Timer's deadline per RFC 5798 section 6.4.2 alone.
    fn rfc_deadline(&self) -> Option<u64> {
        match self.down {
            Down::Off | Down::Unknown => None,
            Down::Skew { at } => Some(at),
            Down::Full { from } => {
                let (p, mai) = (self.prio?, self.mai?);
                Some(from.saturating_add(down_interval_after(self.adverts, self.v3, p, mai)))
            }
        }
    }

    /// The instance went to `to`, at local time `local`; `heard` is the interval of the advert
    /// that made a MASTER fall back (v3 learns it).
    pub(crate) fn entered(
        &mut self,
        from: State,
        to: State,
        local: u64,
        heard: Option<(u64, IpAddr)>,
        own_src: Option<IpAddr>,
    ) {
        if to == State::Master {
            self.stats.became_master += 1;
        }
        if from == State::Master {
            self.stats.released_master += 1;
        }
        self.expired = false;
        self.tenure = (to == State::Master).then_some((local, self.pre_announces, false));
        self.extra_last = (to == State::Master).then_some(local);
        self.tenure_unjudged = false;
        if to == State::Init {
            self.preempt_at = None;
        }
        self.pre_announces = 0;
        match to {
            State::Backup => {
                self.mai = Some(match heard {
                    Some((h, _)) if self.v3 => h,
                    _ => self.own,
                });
                if let Some((_, src)) = heard {
                    self.master_addr = Some(Some(src));
                }
                self.down = Down::Full { from: local };
            }
            State::Master => {
                self.mai = Some(self.own);
                self.master_addr = Some(own_src);
                self.down = Down::Off;
            }
            State::Init | State::Fault => {
                self.master_addr = Some(None);
                self.down = Down::Off;
            }
        }
    }

    /// The engine starts (`Input::Start` on a stopped engine) at local time `local`: keepalived's
    /// preempt_delay also holds off preemption after start-up.
    pub(crate) fn started(&mut self, local: u64) {
        self.preempt_at =
            (self.preempt_delay > 0).then(|| local.saturating_add(self.preempt_delay));
    }

    /// An advert sent at virtual time `now`; `Err(count)` when more than `limit` went out within
    /// one Advertisement_Interval. A MASTER sends one per interval, plus one answer per advert
    /// of a lower priority (or priority 0) it hears: with `peers` other routers and duplication,
    /// never more than a few per peer.
    pub(crate) fn sent(&mut self, now: u64, limit: u32) -> Result<(), u32> {
        if now.saturating_sub(self.storm.0) >= self.own {
            self.storm = (now, 0);
        }
        self.storm.1 += 1;
        if self.storm.1 > limit {
            return Err(self.storm.1);
        }
        Ok(())
    }

    /// Announcements (gratuitous ARP / unsolicited NA) of `n` addresses of this instance.
    pub(crate) fn announced(&mut self, n: u32) {
        match self.tenure.as_mut() {
            Some(t) => t.1 = t.1.saturating_add(n),
            None => self.pre_announces = self.pre_announces.saturating_add(n),
        }
    }

    /// `extra-if`: a `garp_extra_if` announcement at local time `local`.
    pub(crate) fn extra_announced(
        &mut self,
        a: &vigil_engine::setup::Announce,
        local: u64,
    ) -> Result<(), String> {
        let Some(last) = self.extra_last else {
            return Err("a garp_extra_if announcement while not MASTER".into());
        };
        self.extra_last = Some(local);
        let Some(p) = a.extra_if else {
            return Err("a garp_extra_if announcement with garp_extra_if off".into());
        };
        if self.tenure_unjudged {
            return Ok(());
        }
        let p = u64::try_from(p.as_nanos()).unwrap_or(u64::MAX);
        let gap = local.saturating_sub(last);
        if gap < p || gap > p.saturating_add(self.own) {
            return Err(format!(
                "a garp_extra_if announcement {gap} ns after the previous one (or MASTER); \
                 garp_extra_if {p} ns with adverts every {} ns make {p} to {} ns",
                self.own,
                p.saturating_add(self.own)
            ));
        }
        Ok(())
    }

    /// `extra-if` at the end of a MASTER tenure (local clock `leave`): no periodic
    /// announcement was missed.
    pub(crate) fn extra_check(
        &self,
        a: &vigil_engine::setup::Announce,
        leave: u64,
    ) -> Result<(), String> {
        let (Some(p), Some(last)) = (a.extra_if, self.extra_last) else {
            return Ok(());
        };
        if self.tenure_unjudged {
            return Ok(());
        }
        let p = u64::try_from(p.as_nanos()).unwrap_or(u64::MAX);
        if leave.saturating_sub(last) > p.saturating_add(self.own) {
            return Err(format!(
                "no garp_extra_if announcement from {last} ns to the end of the tenure at \
                 {leave} ns (garp_extra_if {p} ns, adverts every {} ns)",
                self.own
            ));
        }
        Ok(())
    }

    /// `announce-count`: a MASTER tenure from its start to `leave` (local clock) made the
    /// announcements keepalived's schedule calls for, counted per address (`addrs` of them): a
    /// burst of `garp_master_repeat` at once, another after `garp_master_delay`, and one of
    /// `garp_master_refresh_repeat` every `garp_master_refresh`. Without an interface gate
    /// (`gate` zero) each burst is every address `repeat` times, exactly. With a gate
    /// (`vrrp_garp_interval` / `vrrp_gna_interval` / `garp_group`, the largest over the
    /// instance's addresses) the repeats of an address collapse into one pending announcement
    /// (keepalived 2.2.7): at most `min(repeat, 2)` per address and burst, and at least one per
    /// address when the tenure outlasted every address of the node (`node_addrs`) going
    /// through the gate twice; the spacing itself is judged apart (`garp-gate`). Not judged
    /// when a lower priority was heard (its own bursts), or when a burst falls due exactly at
    /// `leave`.
    pub(crate) fn announce_check(
        &self,
        a: &vigil_engine::setup::Announce,
        gate: core::time::Duration,
        addrs: u64,
        node_addrs: u64,
        leave: u64,
    ) -> Result<(), String> {
        let Some((from, made, lower)) = self.tenure else {
            return Ok(());
        };
        if self.tenure_unjudged {
            return Ok(());
        }
        // A lower priority heard starts bursts of its own (garp_lower_prio_repeat, after
        // garp_lower_prio_delay), which also take over the delayed burst's timer: judged only
        // when both are off.
        if lower && (a.lower_prio_repeat > 0 || !a.lower_prio_delay.is_zero()) {
            return Ok(());
        }
        let ns = |d: core::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let (repeat, gate, delay) = (u64::from(a.master_repeat), ns(gate), ns(a.master_delay));
        let refresh = a.master_refresh.map(ns).filter(|&p| p > 0);
        let refresh_repeat = u64::from(a.master_refresh_repeat);
        // Every burst of the tenure that starts before it ends: (start, announcements).
        let mut bursts = vec![(from, repeat)];
        if delay > 0 {
            bursts.push((from.saturating_add(delay), repeat));
        }
        if let Some(p) = refresh {
            let mut t = from.saturating_add(p);
            while t <= leave && bursts.len() < 10_000 {
                bursts.push((t, refresh_repeat));
                t = t.saturating_add(p);
            }
        }
        bursts.retain(|&(_, r)| r > 0);
        bursts.sort_unstable();
        let mut due = 0u64;
        for &(start, r) in &bursts {
            if start == leave && start != from {
                return Ok(()); // due at the very instant of leaving: either is right
            }
            if start < leave || start == from {
                due = due.saturating_add(if gate > 0 { r.min(2) } else { r });
            }
        }
        let made = u64::from(made);
        let refresh = refresh.map_or("off".to_string(), |p| format!("{p} ns"));
        let what = format!(
            "{made} announcement(s) of {addrs} address(es) in a MASTER tenure from {from} ns to \
             {leave} ns (local clock); garp_master_repeat {repeat}, gate {gate} ns, \
             garp_master_delay {delay} ns, garp_master_refresh {refresh} (repeat {refresh_repeat})"
        );
        if gate == 0 {
            let due = due.saturating_mul(addrs);
            if due != made {
                return Err(format!("{what} make {due}"));
            }
            return Ok(());
        }
        let most = due.saturating_mul(addrs);
        let settle = gate
            .saturating_mul(2)
            .saturating_mul(node_addrs.saturating_add(1));
        let least = if leave.saturating_sub(from) > settle {
            addrs
        } else {
            0
        };
        if made > most || made < least {
            return Err(format!("{what} make {least} to {most}"));
        }
        Ok(())
    }

    /// A BACKUP accepted an advert of priority `prio` and interval `heard` at local time
    /// `local` (RFC 5798 section 6.4.2, keepalived's preempt_delay).
    pub(crate) fn backup_heard(&mut self, prio: u8, heard: u64, src: IpAddr, local: u64) {
        if prio == 0 {
            self.down = match (self.prio, self.mai) {
                (Some(p), Some(mai)) => Down::Skew {
                    at: local.saturating_add(skew(self.v3, p, mai)),
                },
                _ => Down::Unknown,
            };
            return;
        }
        let Some(own) = self.prio else {
            self.down = Down::Unknown;
            return;
        };
        let held = if self.preempt && prio < own && self.preempt_delay > 0 {
            let at = *self
                .preempt_at
                .get_or_insert(local.saturating_add(self.preempt_delay));
            local < at
        } else {
            false
        };
        if prio >= own {
            self.preempt_at = None;
        }
        if !self.preempt || prio >= own || held {
            self.expired = false;
            self.master_addr = Some(Some(src));
            if self.v3 {
                self.mai = Some(heard);
            }
            self.down = Down::Full { from: local };
        }
        // else: a lower priority under preemption (its delay over) is discarded; the timer
        // keeps running.
    }
}

/// The counter a drop rule names (the engine's mapping, RFC 6527 names).
pub(crate) fn count_drop(st: &mut InstanceStats, rule: &DropReason) {
    match rule {
        DropReason::Ttl(_) => st.ip_ttl_errors += 1,
        DropReason::Version(_) => st.version_errors += 1,
        DropReason::Malformed(e) => match e {
            ParseError::TooShort { .. } | ParseError::LengthMismatch { .. } => {
                st.packet_length_errors += 1
            }
            ParseError::UnknownVersion(_) | ParseError::V2OverIpv6 => st.version_errors += 1,
            ParseError::UnknownType(_) => st.invalid_type_received += 1,
            ParseError::AddressCountZero => st.address_count_zero += 1,
            ParseError::V2IntervalZero | ParseError::V3IntervalZero => {
                st.advert_interval_errors += 1
            }
            ParseError::UnsupportedAuthType(_) => st.invalid_auth_type += 1,
            ParseError::Checksum { .. } => st.checksum_errors += 1,
            ParseError::VridZero | ParseError::FamilyMismatch => st.packet_length_errors += 1,
        },
        DropReason::OwnerDiscard => st.owner_discards += 1,
        DropReason::AddressList => {
            st.address_list_errors += 1;
            st.address_list_drops += 1;
        }
        DropReason::AdvertInterval => st.advert_interval_errors += 1,
        DropReason::AuthTypeMismatch => st.auth_type_mismatch += 1,
        DropReason::AuthFailure => st.auth_failures += 1,
        DropReason::UnicastSource => st.unicast_source_errors += 1,
        // Router-wide rules (counted by [`count_router_drop`]), and any rule this simulator
        // does not know yet (the counters then disagree and say so).
        _ => {}
    }
}

/// The router-wide counter a drop rule without an instance names.
pub(crate) fn count_router_drop(st: &mut RouterStats, rule: &DropReason) {
    match rule {
        DropReason::VridNotConfigured => st.vrid_errors += 1,
        DropReason::TooShortForVrid => st.packet_length_errors += 1,
        _ => st.unknown_interface_or_family += 1,
    }
}

/// The interval an advert carries, nanoseconds (v3: centiseconds in 12 bits; v2: seconds); 0 for
/// a message shorter than the header (only adverts the engine accepted are modelled).
pub(crate) fn advert_interval(payload: &[u8], family: vigil_engine::wire::Family) -> u64 {
    if payload.len() < vigil_engine::wire::HEADER_LEN {
        return 0;
    }
    match vigil_engine::wire::Packet::new_unchecked(payload, family).interval() {
        vigil_engine::wire::Interval::Centiseconds(cs) => u64::from(cs) * 10_000_000,
        vigil_engine::wire::Interval::Seconds(s) => u64::from(s) * 1_000_000_000,
    }
}

/// The engine call whose results are being compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// An input (a frame, a link change, a check result, ...).
    Input,
    /// `handle_timeout(now)`: every timer due at `now` must have been served.
    Timeout,
    /// An input to a node resuming from a stall, before it serves its overdue timers.
    Resuming,
}

mod compare;
pub(crate) use compare::{compare, compare_lookups, compare_tracking, Environment};

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use proptest::prelude::*;
    use vigil_engine::instance::{master_down_interval, skew_time};

    /// Skew_Time from the RFCs' formulas, written out in a second way: VRRPv2's unit is
    /// 10^9 / 256 = 3_906_250 ns exactly (RFC 3768 section 6.1); VRRPv3's, for an interval of
    /// `cs` centiseconds, is cs x 10^7 / 256 = cs x 78_125 / 2 ns (RFC 5798 section 6.1),
    /// floored.
    fn rfc_skew_ns(v3: bool, priority: u8, cs_or_s: u64) -> u64 {
        let steps = 256 - u64::from(priority);
        if v3 {
            steps * cs_or_s * 78_125 / 2
        } else {
            steps * 3_906_250
        }
    }

    /// Hand-computed values (the figures and RFC 3768's worked example): the VRRPv2
    /// skew does not grow with the interval, the VRRPv3 one does.
    #[test]
    fn rfc_table_by_hand() {
        let s = |x: u64| x * SECOND_NS;
        for (v3, p, mai, mdi) in [
            (false, 100, s(1), 3_609_375_000u64),
            (false, 100, s(2), 6_609_375_000),
            (false, 100, s(3), 9_609_375_000),
            (false, 100, s(10), 30_609_375_000),
            (false, 255, s(10), 30_003_906_250),
            (false, 1, s(2), 6_996_093_750),
            (true, 100, s(1), 3_609_375_000),
            (true, 100, s(2), 7_218_750_000),
            (true, 200, 10_000_000, 32_187_500),
            (true, 100, 10_000_000, 36_093_750),
        ] {
            assert_eq!(
                down_interval(v3, p, mai),
                mdi,
                "v3 {v3}, priority {p}, {mai} ns"
            );
        }
    }

    proptest! {
        /// Over every priority, both versions and every interval each version can carry
        /// (VRRPv2: 1..=255 s; VRRPv3: 1..=4095 cs): the oracle, the engine and the RFC table
        /// agree, and a higher priority always times out strictly first (the order Skew_Time
        /// exists for).
        #[test]
        fn skew_and_master_down_interval_follow_the_rfcs(
            p in 1u8..=255,
            v3 in any::<bool>(),
            raw in 1u64..=4095,
        ) {
            let (units, mai) = if v3 {
                (raw, raw * 10_000_000)
            } else {
                let secs = raw % 255 + 1;
                (secs, secs * SECOND_NS)
            };
            let version = if v3 { Version::V3 } else { Version::V2 };
            let want = rfc_skew_ns(v3, p, units);
            prop_assert_eq!(skew(v3, p, mai), want);
            prop_assert_eq!(down_interval(v3, p, mai), 3 * mai + want);
            let d = Duration::from_nanos(mai);
            prop_assert_eq!(skew_time(version, p, d), Duration::from_nanos(want));
            prop_assert_eq!(
                master_down_interval(version, p, d),
                Duration::from_nanos(3 * mai + want)
            );
            if p < 255 {
                prop_assert!(down_interval(v3, p + 1, mai) < down_interval(v3, p, mai));
            }
        }
    }
}
