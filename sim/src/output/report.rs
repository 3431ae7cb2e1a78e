//! The terminal outputs: the timeline, the summary and the violation report.
//!
//! The timeline is one line per event that matters to a person (boots, crashes, link and network
//! faults, state changes, checks), with a lane per instance on the left showing every node's state
//! after the event, so that who is MASTER reads at a glance down the page.

use std::fmt::Write as _;

use vigil_engine::State;

use crate::checks::Violation;
use crate::dur::{fmt_time, Dur};
use crate::sim::{describe_model, Outcome, Sim};
use crate::trace::{TraceEntry, TraceEvent};

const LANE: usize = 8;

/// Lanes: (node, instance) pairs in node order, with their labels.
fn lanes(sim: &Sim) -> Vec<(u16, u32, String)> {
    let names = sim.names();
    let single = names.instances.iter().all(|v| v.len() <= 1);
    let mut out = Vec::new();
    for (n, insts) in names.instances.iter().enumerate() {
        let n16 = u16::try_from(n).unwrap_or(u16::MAX);
        for (i, iname) in insts.iter().enumerate() {
            let label = if single {
                names.node(n16).to_string()
            } else {
                format!("{}:{}", names.node(n16), iname)
            };
            out.push((n16, i as u32, label));
        }
    }
    out
}

fn lane_text(s: Option<State>) -> &'static str {
    match s {
        Some(State::Master) => "MASTER",
        Some(State::Backup) => "backup",
        Some(State::Fault) => "FAULT",
        Some(State::Init) | None => "-",
    }
}

/// Whether an entry belongs on the terminal timeline (of the check runs, only those abandoned
/// at their deadline: a hanging server's story).
pub fn on_timeline(e: &TraceEntry) -> bool {
    if let TraceEvent::CheckEnd { outcome, .. } = &e.ev {
        return outcome.starts_with("abandoned");
    }
    !matches!(
        e.ev,
        TraceEvent::Advert { .. }
            | TraceEvent::Lost { .. }
            | TraceEvent::ProtocolError { .. }
            | TraceEvent::LowerPriorityHeard { .. }
            | TraceEvent::AddrAdd { .. }
            | TraceEvent::AddrRemove { .. }
            | TraceEvent::CheckRun { .. }
            | TraceEvent::CheckEnd { .. }
    )
}

/// The header: scenario, seed, cluster and network in a few lines.
pub fn header(sim: &Sim, description: &str) -> String {
    let plan = sim.plan();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "vigil-sim: scenario `{}`, seed {}, {} node(s), {} of virtual time",
        plan.name,
        sim.seed(),
        plan.nodes.len(),
        Dur(plan.duration)
    );
    for line in description.lines() {
        let _ = writeln!(s, "  {}", line.trim());
    }
    for n in &plan.nodes {
        let insts: Vec<String> = n
            .config
            .instances
            .iter()
            .map(|i| {
                format!(
                    "{} v{} VRID {} priority {}{} every {}",
                    i.name,
                    i.version.number(),
                    i.vrid,
                    i.priority,
                    if i.preempt { "" } else { " nopreempt" },
                    Dur::from_std(i.advert_interval)
                )
            })
            .collect();
        let _ = writeln!(s, "  {:<6} {}", n.name, insts.join("; "));
        for v in n.checkers.iter().flat_map(|c| c.virtual_servers.iter()) {
            let reals: Vec<String> = v
                .real_servers
                .iter()
                .map(|r| {
                    let kinds: Vec<&str> = r
                        .checkers
                        .iter()
                        .filter_map(|c| n.checkers.as_ref()?.checkers.get(c.0 as usize))
                        .map(|c| c.kind.keyword())
                        .collect();
                    format!(
                        "{} weight {}{} ({})",
                        std::net::SocketAddr::new(r.addr, r.port),
                        r.weight,
                        if r.inhibit { " inhibit" } else { "" },
                        kinds.join(", ")
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "  {:<6} VS {} quorum {} hysteresis {}{}: {}",
                "",
                v.name,
                v.quorum,
                v.hysteresis,
                if v.sorry.is_some() {
                    ", sorry server"
                } else {
                    ""
                },
                reals.join(", ")
            );
        }
    }
    for seg in &plan.segments {
        let _ = writeln!(s, "  segment {}: {}", seg.name, describe_model(&seg.model));
    }
    s
}

/// The timeline of the run so far.
pub fn timeline(sim: &Sim) -> String {
    let lanes = lanes(sim);
    let names = sim.names();
    let mut state: Vec<Option<State>> = vec![None; lanes.len()];
    let mut s = String::new();
    let width = lanes
        .iter()
        .map(|l| l.2.len())
        .max()
        .unwrap_or(0)
        .max(LANE - 1)
        + 1;
    let _ = write!(s, "{:>13}  ", "time");
    for l in &lanes {
        let _ = write!(s, "{:<width$}", l.2);
    }
    let _ = writeln!(s, " event");
    let trace = sim.trace();
    for (k, e) in trace.iter().enumerate() {
        if !on_timeline(e) {
            continue;
        }
        // A burst of announcements at one instant: one line with the count.
        let mut repeat = 1;
        if let TraceEvent::Announce { inst, .. } = &e.ev {
            let same = |x: &TraceEntry| {
                x.t == e.t
                    && x.node == e.node
                    && matches!(&x.ev, TraceEvent::Announce { inst: j, .. } if j == inst)
            };
            if trace[..k].iter().rev().take_while(|x| x.t == e.t).any(same) {
                continue;
            }
            // The burst that goes with becoming MASTER is implied by the transition.
            let takeover = |x: &TraceEntry| {
                x.t == e.t
                    && x.node == e.node
                    && matches!(&x.ev, TraceEvent::State { inst: j, to: State::Master, .. } if j == inst)
            };
            if trace[k..].iter().take_while(|x| x.t == e.t).any(takeover) {
                continue;
            }
            repeat = trace[k..]
                .iter()
                .take_while(|x| x.t == e.t)
                .filter(|x| same(x))
                .count();
        }
        match (&e.ev, e.node) {
            (TraceEvent::State { inst, to, .. }, Some(n)) => {
                if let Some(k) = lanes.iter().position(|l| l.0 == n && l.1 == *inst) {
                    state[k] = Some(*to);
                }
            }
            (TraceEvent::Crash, Some(n)) => {
                for (k, l) in lanes.iter().enumerate() {
                    if l.0 == n {
                        state[k] = None;
                    }
                }
            }
            _ => {}
        }
        let _ = write!(s, "{:>13}  ", fmt_time(e.t));
        for st in &state {
            let _ = write!(s, "{:<width$}", lane_text(*st));
        }
        let who = e
            .node
            .map_or(String::new(), |n| format!("{} ", names.node(n)));
        let times = if repeat > 1 {
            format!(" x{repeat}")
        } else {
            String::new()
        };
        let _ = writeln!(s, " {who}{}{times}", e.describe(names));
    }
    s
}

/// Per instance: final state, state changes, time as MASTER; then the checks.
pub fn summary(sim: &Sim, outcome: &Outcome) -> String {
    let lanes = lanes(sim);
    let end = outcome.end;
    let mut s = String::new();
    let _ = writeln!(s, "summary at {}:", fmt_time(end));
    for (n, i, label) in &lanes {
        let mut changes = 0;
        let mut master_since: Option<u64> = None;
        let mut master_total = 0u64;
        let mut last = State::Init;
        for e in sim.trace() {
            if e.node != Some(*n) {
                continue;
            }
            match &e.ev {
                TraceEvent::State { inst, to, .. } if inst == i => {
                    changes += 1;
                    if *to == State::Master {
                        master_since = Some(e.t);
                    } else if let Some(t0) = master_since.take() {
                        master_total += e.t - t0;
                    }
                    last = *to;
                }
                TraceEvent::Crash => {
                    if let Some(t0) = master_since.take() {
                        master_total += e.t - t0;
                    }
                    last = State::Init;
                }
                _ => {}
            }
        }
        if let Some(t0) = master_since {
            master_total += end.saturating_sub(t0);
        }
        let _ = writeln!(
            s,
            "  {label:<10} {:<7} {changes:>3} state change(s), MASTER for {}",
            last.name(),
            Dur(master_total)
        );
    }
    let converged = sim
        .trace()
        .iter()
        .filter(|e| matches!(e.ev, TraceEvent::Converged { .. }))
        .count();
    match &outcome.violation {
        None => {
            let _ = writeln!(
                s,
                "invariants: ok ({} events; safety checked after each, liveness converged {} time(s))",
                outcome.events, converged
            );
        }
        Some(v) => {
            let _ = writeln!(s, "invariants: FAILED: {v}");
        }
    }
    let ok = outcome
        .expects
        .iter()
        .filter(|e| e.ok == Some(true))
        .count();
    if !outcome.expects.is_empty() {
        let _ = writeln!(s, "expectations: {ok}/{} ok", outcome.expects.len());
        for e in &outcome.expects {
            let mark = match e.ok {
                Some(true) => "ok    ",
                Some(false) => "FAILED",
                None => "n/a   ",
            };
            let _ = writeln!(s, "  {mark} {} ({})", e.text, e.seen);
        }
    }
    s
}

/// The violation report: what failed, where, the last events, and the command that replays it.
pub fn violation_report(sim: &Sim, v: &Violation, replay: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "VIOLATION: {v}");
    let _ = writeln!(
        s,
        "scenario `{}`, seed {}, event {} at {}",
        sim.plan().name,
        sim.seed(),
        v.event,
        fmt_time(v.at)
    );
    let _ = writeln!(s, "last events:");
    let tail: Vec<&TraceEntry> = sim.trace().iter().rev().take(25).collect();
    for e in tail.iter().rev() {
        let _ = writeln!(s, "  {}", e.to_line(sim.names()));
    }
    let _ = writeln!(s, "replay: {replay}");
    s
}
