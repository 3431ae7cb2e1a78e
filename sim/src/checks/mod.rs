//! The invariants, checked after every engine call (safety) and after the network heals
//! (liveness).
//!
//! Safety (after every call into a node's engine, on what the engine said and did):
//! - `vips-only-on-master`: virtual addresses are on a node exactly while its instance is MASTER.
//! - `only-masters-advertise`: an advert with a non-zero priority comes from a MASTER;
//!   `announce-only-master`: so does a gratuitous ARP / NA.
//! - `goodbye-priority-0`: a graceful stop of a MASTER sends priority 0 (RFC 5798 section 6.4.3).
//! - `fsm-edge`: every transition is an edge of the state diagram ([`State::can_go_to`]);
//!   `state-report`: the engine reports every change, from the state it last reported.
//! - `deadline-in-the-past`: the engine's next deadline is never before the node's clock;
//!   `deadline-not-served`: after `handle_timeout(now)` it is after `now`.
//! - The simulator's own model of each instance ([`crate::oracle`]): `counters`,
//!   `priority-report`, `tracking`, `takeover-early`, `takeover-late`, `view`, `lookups`,
//!   `announce-count`; and `group-report`, `group-cause`, `advert-on-down-link`, `advert-burst`.
//! - `master-silent`: a MASTER advertises at least once per Advertisement_Interval
//!   (RFC 5798 section 6.4.3), plus clock drift; after an advert off the shared grid (the first
//!   as MASTER), at the first grid point at least one interval later (section 6.4.2).
//!
//! Liveness (once the network is clean and quiet for [`convergence_bound`]):
//! - `one-master`: exactly one MASTER per virtual router (segment, family, VRID) among the nodes
//!   that can serve, and `right-master`: it is the right one: no node that could serve has a
//!   higher effective priority and preemption on (or is the address owner). Under `nopreempt`
//!   the incumbent stays, so a lower master is right when the higher ones do not preempt.
//!   Equal priorities: any one of them (RFC 5798 breaks ties by address only between two
//!   MASTERs; a BACKUP does not preempt an equal priority).
//! - `flapping`: from then on, until the next fault, no instance changes state.

use core::fmt;

use vigil_engine::wire::Version;
use vigil_engine::{InstanceId, State};

use crate::contract::Breach;
use crate::driver::Sim;
use crate::dur::{fmt_time, Dur};
use crate::oracle::down_interval_after;

pub mod lvs;
pub(crate) mod model;

/// The family of a failed invariant; each has its own exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// Something panicked (the engine or the simulator): a bug, exit code 3.
    Panic,
    /// A safety invariant failed: exit code 4.
    Safety,
    /// A liveness invariant failed (no convergence, wrong master, flapping): exit code 5.
    Liveness,
}

impl ViolationKind {
    /// `panic`, `safety` or `liveness`.
    pub const fn name(self) -> &'static str {
        match self {
            ViolationKind::Panic => "panic",
            ViolationKind::Safety => "safety",
            ViolationKind::Liveness => "liveness",
        }
    }

    /// The process exit code of `vigil-sim` for this kind.
    pub const fn exit_code(self) -> i32 {
        match self {
            ViolationKind::Panic => 3,
            ViolationKind::Safety => 4,
            ViolationKind::Liveness => 5,
        }
    }
}

/// A failed invariant: where and when the run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which family.
    pub kind: ViolationKind,
    /// The rule's name (see the module docs).
    pub rule: &'static str,
    /// What was seen.
    pub detail: String,
    /// Virtual time.
    pub at: u64,
    /// Index of the event being processed (1-based).
    pub event: u64,
    /// The node, if one.
    pub node: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} violation `{}` at {} (event {}){}: {}",
            self.kind.name(),
            self.rule,
            fmt_time(self.at),
            self.event,
            self.node
                .as_ref()
                .map_or(String::new(), |n| format!(" on {n}")),
            self.detail
        )
    }
}

/// The safety checks after one batch of actions from node `n`'s engine (then
/// [`adverts_flowing`]): the first rule broken, if any.
pub(crate) fn after_batch(sim: &Sim, n: usize) -> Result<(), Breach> {
    let Some(engine) = sim.nodes[n].engine.as_ref() else {
        return Ok(());
    };
    let node = &sim.nodes[n];
    let mut found: Option<(&'static str, String)> = None;
    // `only-masters-advertise`, `state-report` and `vips-only-on-master` are the run-loop
    // contract's ([`crate::contract`]), checked in the runner after every call.
    let (_, announces) = sim.batch();
    for &i in announces {
        if let Some(t) = node.insts.get(i as usize) {
            if t.state != State::Master {
                found = Some((
                    "announce-only-master",
                    format!("{} announced its addresses while {}", t.name, t.state),
                ));
                break;
            }
        }
    }
    if found.is_none() {
        // Sync groups move whole inside one call: after it, every member is in one state.
        for (gid, _) in engine.groups() {
            let Some((name, gstate, members)) = engine.group(gid) else {
                continue;
            };
            // Compared without allocating; the list is built only to report a failure.
            let mut states = members.filter_map(|m| node.insts.get(m.0 as usize).map(|t| t.state));
            let first = states.next();
            if states.any(|s| Some(s) != first) {
                let states: Vec<(String, State)> = engine
                    .group(gid)
                    .into_iter()
                    .flat_map(|(_, _, m)| m)
                    .filter_map(|m| node.insts.get(m.0 as usize))
                    .map(|t| (t.name.clone(), t.state))
                    .collect();
                let list: Vec<String> = states.iter().map(|(n, s)| format!("{n} {s}")).collect();
                found = Some((
                    "sync-group-agree",
                    format!(
                        "sync group {name} ({gstate}) has members in different states after one \
                         call: {}",
                        list.join(", ")
                    ),
                ));
                break;
            }
        }
    }
    if let Some((rule, detail)) = found {
        return Err(Breach { rule, detail });
    }
    adverts_flowing(sim, n)
}

/// `master-silent`: every MASTER of node `n` sent an advert within its interval.
pub(crate) fn adverts_flowing(sim: &Sim, n: usize) -> Result<(), Breach> {
    let now = sim.now();
    let node = &sim.nodes[n];
    // A stalled node is silent by definition; it must advertise once it resumes.
    if node.engine.is_none() || node.stalled_until > now || sim.resuming() {
        return Ok(());
    }
    for t in &node.insts {
        if t.state != State::Master {
            continue;
        }
        // One interval after an advert on the grid of multiples of the interval (the node's
        // clock); after one off the grid (the first as MASTER, one sent late after a stall), up
        // to the first grid point at least one interval later (RFC 5798 section 6.4.2: never
        // earlier than one interval), i.e. less than two.
        let sent = node.local(t.last_sent);
        let i = t.interval.max(1);
        let earliest = sent.saturating_add(i);
        let due = earliest.div_ceil(i).saturating_mul(i);
        let allowed = due.saturating_sub(sent);
        let limit = allowed + node.slack(allowed);
        let gap = now.saturating_sub(t.last_sent);
        if gap > limit {
            let detail = format!(
                "{} is MASTER and sent no advert for {} (interval {})",
                t.name,
                Dur(gap),
                Dur(t.interval)
            );
            return Err(Breach {
                rule: "master-silent",
                detail,
            });
        }
    }
    Ok(())
}

/// How long after the last fault (and the last frame in flight) every virtual router must have
/// its one right MASTER: the longest Master_Down_Interval (lowest priority, longest interval of
/// its virtual router); for a router with `preempt_delay`, that plus the delay plus its own
/// Master_Down_Interval (a lower priority may take over first, and the delay starts when it is
/// heard); one Master_Adver_Interval more for a router whose socket buffer lost adverts (the
/// read-before-deciding extension); the time a check program needs to change its verdict; scaled by the worst clock
/// drift, plus twice the longest network delay (the last advert on its way, and the new master's
/// first advert on its way), plus 1 ms.
pub(crate) fn convergence_bound(sim: &Sim) -> u64 {
    let mut worst = 0u64;
    for g in &sim.groups {
        let max_int = g
            .members
            .iter()
            .map(|&(n, i)| sim.nodes[n].insts[i].interval)
            .max()
            .unwrap_or(0);
        // The longest Master_Down_Interval of the virtual router (its lowest priority).
        let group_mdi = g
            .members
            .iter()
            .filter_map(|&(n, i)| sim.nodes[n].config.instances.get(i))
            .map(|c| {
                down_interval_after(
                    c.down_timer_adverts,
                    c.version == Version::V3,
                    c.priority.max(1),
                    max_int,
                )
            })
            .max()
            .unwrap_or(0);
        for &(n, i) in &g.members {
            let node = &sim.nodes[n];
            let Some(cfg) = node.config.instances.get(i) else {
                continue;
            };
            let effective = node
                .engine
                .as_ref()
                .and_then(|e| e.instance(InstanceId(i as u32)))
                .map_or(cfg.priority, |v| v.priority())
                .clamp(1, cfg.priority.max(1));
            let mdi = down_interval_after(
                cfg.down_timer_adverts,
                cfg.version == Version::V3,
                effective,
                max_int,
            );
            let pd = Dur::from_std(cfg.preempt_delay).0;
            // With preempt_delay, a lower priority may first take over (one Master_Down_Interval),
            // and the delay only starts when this router hears it (keepalived's rule).
            let d = if pd > 0 {
                mdi.saturating_add(pd).saturating_add(group_mdi)
            } else {
                mdi
            };
            // Read before deciding (the engine's backlog.rs): a router whose socket buffer lost
            // adverts extends a Master_Down_Timer once, by one Master_Adver_Interval.
            let d = if node.lost_at.iter().any(Option::is_some) {
                d.saturating_add(max_int)
            } else {
                d
            };
            worst = worst.max(d.saturating_add(node.slack(d)));
        }
    }
    // A check program takes up to max(rise, fall) runs to change its verdict.
    let scripts = sim
        .nodes
        .iter()
        .flat_map(|n| {
            n.scripts.iter().map(move |r| {
                let (counts, interval) = n.config.scripts.iter().find(|s| s.name == r.name).map_or(
                    (1, 1_000_000_000),
                    |s| {
                        let ns = u64::try_from(s.interval.as_nanos()).unwrap_or(u64::MAX);
                        (s.rise.max(s.fall), ns.max(1))
                    },
                );
                interval.saturating_mul(u64::from(counts) + 1)
            })
        })
        .max()
        .unwrap_or(0);
    worst = worst.saturating_add(scripts);
    let max_delay = sim
        .segs
        .iter()
        .map(|s| s.model.max_delay())
        .max()
        .unwrap_or(0);
    worst
        .saturating_add(max_delay.saturating_mul(2))
        .saturating_add(1_000_000)
}

/// The liveness check, run when the network has been quiet for [`convergence_bound`].
/// `None` while the network is not clean (nothing to judge); else whether every virtual
/// router has its one right MASTER.
pub(crate) fn liveness(sim: &Sim) -> Option<Result<(), Breach>> {
    // Only a clean network must converge: no loss, no partition, delays under the interval.
    for g in &sim.groups {
        let seg = &sim.segs[g.segment];
        let min_int = g
            .members
            .iter()
            .map(|&(n, i)| sim.nodes[n].insts[i].interval)
            .min()
            .unwrap_or(u64::MAX);
        if !seg.clean() || seg.model.max_delay() >= min_int {
            return None;
        }
    }
    let mut problem: Option<(&'static str, String)> = None;
    'groups: for g in &sim.groups {
        let eligible: Vec<(usize, usize)> = g
            .members
            .iter()
            .copied()
            .filter(|&(n, i)| {
                let node = &sim.nodes[n];
                node.running
                    && node.engine.is_some()
                    && matches!(node.insts[i].state, State::Backup | State::Master)
            })
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let prio = |n: usize, i: usize| -> u8 {
            sim.nodes[n]
                .engine
                .as_ref()
                .and_then(|e| e.instance(InstanceId(i as u32)))
                .map_or(0, |v| v.priority())
        };
        let states = || -> String {
            g.members
                .iter()
                .map(|&(n, i)| {
                    format!(
                        "{} {} (priority {})",
                        sim.nodes[n].name,
                        sim.nodes[n].insts[i].state,
                        prio(n, i)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let masters: Vec<(usize, usize)> = eligible
            .iter()
            .copied()
            .filter(|&(n, i)| sim.nodes[n].insts[i].state == State::Master)
            .collect();
        if masters.len() != 1 {
            problem = Some((
                "one-master",
                format!(
                    "{}: {} MASTERs {} after the network healed at {}: {}",
                    g.name,
                    masters.len(),
                    Dur(sim.now().saturating_sub(sim.last_disturbance)),
                    fmt_time(sim.last_disturbance),
                    states()
                ),
            ));
            break;
        }
        let (mn, mi) = masters[0];
        let mp = prio(mn, mi);
        for &(n, i) in &eligible {
            if (n, i) == (mn, mi) {
                continue;
            }
            let p = prio(n, i);
            let preempts = sim.nodes[n]
                .config
                .instances
                .get(i)
                .is_some_and(|c| c.preempt)
                || p == vigil_engine::setup::OWNER_PRIORITY;
            if p > mp && preempts {
                problem = Some((
                    "right-master",
                    format!(
                        "{}: {} is MASTER with priority {mp}, but {} has priority {p} and \
                         preempts: {}",
                        g.name,
                        sim.nodes[mn].name,
                        sim.nodes[n].name,
                        states()
                    ),
                ));
                break 'groups;
            }
        }
    }
    Some(match problem {
        Some((rule, detail)) => Err(Breach { rule, detail }),
        None => Ok(()),
    })
}
