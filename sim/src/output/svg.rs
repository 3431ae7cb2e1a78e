//! `--svg`: a picture of the run. One row per instance per node, coloured by state over virtual
//! time (MASTER green, BACKUP blue, FAULT red, down grey); network faults (partitions, one-way
//! blocks, lossy or jittery periods) shaded across the picture, per-node faults (link down,
//! crash, stop) hatched on the node's rows; a time axis; a legend. Directors running health
//! checkers get one row per server of their tables: in at a weight (green), at weight 0
//! (amber), the sorry server in use (purple), out (grey).

use std::fmt::Write as _;

use vigil_engine::State;

use crate::dur::Dur;
use crate::scenario::{FaultAction, NetworkSpec};
use crate::sim::Sim;
use crate::trace::TraceEvent;

const LEFT: f64 = 130.0;
const RIGHT: f64 = 30.0;
const WIDTH: f64 = 1100.0;
const ROW: f64 = 30.0;
const BAR: f64 = 18.0;
const TOP: f64 = 70.0;
/// A real server in a director's table with a weight above 0.
const SERVING: &str = "#2e9e44";
/// In the table at weight 0 (`inhibit_on_failure`, `sorry_server_inhibit`, `misc_dynamic`).
const INHIBITED: &str = "#f0ad4e";
/// The sorry server in use.
const SORRY: &str = "#8e44ad";

fn color(s: State) -> &'static str {
    match s {
        State::Master => "#2e9e44",
        State::Backup => "#8fb8de",
        State::Fault => "#d9534f",
        State::Init => "#d9d9d9",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" tick step (1, 2 or 5 times a power of ten, in nanoseconds) for about 10 ticks.
fn tick_step(end: u64) -> u64 {
    let raw = (end / 10).max(1);
    let mut p = 1u64;
    while p.saturating_mul(10) <= raw {
        p *= 10;
    }
    for m in [1, 2, 5, 10] {
        if p.saturating_mul(m) >= raw {
            return p.saturating_mul(m);
        }
    }
    p.saturating_mul(10)
}

/// Windows (start, end, label) of network-wide faults.
fn network_windows(sim: &Sim, end: u64) -> Vec<(u64, u64, String)> {
    let plan = sim.plan();
    let names = &sim.names().nodes;
    let mut out = Vec::new();
    let mut open_cut: Vec<(u64, String, Option<usize>)> = Vec::new();
    let mut specs: Vec<NetworkSpec> = plan.segments.iter().map(|s| s.spec.clone()).collect();
    let disturbed = |s: &NetworkSpec| -> Option<String> {
        let m = s.resolve().ok()?;
        let mut parts = Vec::new();
        if m.loss > 0.0 {
            parts.push(format!("loss {:.0}%", m.loss * 100.0));
        }
        if m.burst.is_some() {
            parts.push("burst loss".into());
        }
        if m.jitter > 0 {
            parts.push(format!("jitter {}", Dur(m.jitter)));
        }
        if m.duplicate > 0.0 || m.reorder > 0.0 {
            parts.push("dup/reorder".into());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    };
    let mut net_open: Vec<Option<(u64, String)>> =
        specs.iter().map(|s| disturbed(s).map(|l| (0, l))).collect();
    for f in &plan.faults {
        if f.at > end {
            break;
        }
        match &f.action {
            FaultAction::Partition { segment, side } => {
                let mut groups: Vec<Vec<&str>> = Vec::new();
                let mut keys: Vec<usize> = Vec::new();
                for (n, &s) in side.iter().enumerate() {
                    match keys.iter().position(|&k| k == s) {
                        Some(i) => groups[i].push(&names[n]),
                        None => {
                            keys.push(s);
                            groups.push(vec![&names[n]]);
                        }
                    }
                }
                let label = groups
                    .iter()
                    .map(|g| g.join(" "))
                    .collect::<Vec<_>>()
                    .join(" | ");
                open_cut.push((f.at, format!("partition {label}"), Some(*segment)));
            }
            FaultAction::Block { segment, from, to } => {
                open_cut.push((
                    f.at,
                    format!("one-way {} -> {} lost", names[*from], names[*to]),
                    Some(*segment),
                ));
            }
            FaultAction::Heal(seg) => {
                let (closing, keep): (Vec<_>, Vec<_>) = open_cut
                    .drain(..)
                    .partition(|(_, _, s)| seg.is_none() || *s == *seg);
                open_cut = keep;
                for (t0, l, _) in closing {
                    out.push((t0, f.at, l));
                }
            }
            FaultAction::Network(seg, spec) => {
                for (si, s) in specs.iter_mut().enumerate() {
                    if seg.is_some_and(|x| x != si) {
                        continue;
                    }
                    *s = s.overridden_by(spec);
                    let now = disturbed(s);
                    if let Some((t0, l)) = net_open[si].take() {
                        out.push((t0, f.at, l));
                    }
                    net_open[si] = now.map(|l| (f.at, l));
                }
            }
            _ => {}
        }
    }
    for (t0, l, _) in open_cut {
        out.push((t0, end, l));
    }
    for (t0, l) in net_open.into_iter().flatten() {
        out.push((t0, end, l));
    }
    out
}

/// Render the run up to virtual time `end` as an SVG document.
// Long: draws the SVG top to bottom (axes, fault windows, lanes, legend); not split yet.
pub fn render(sim: &Sim, end: u64) -> String {
    let names = sim.names();
    let end = end.max(1);
    let mut lanes: Vec<(u16, u32, String)> = Vec::new();
    let single = names.instances.iter().all(|v| v.len() <= 1);
    for (n, insts) in names.instances.iter().enumerate() {
        let n16 = u16::try_from(n).unwrap_or(u16::MAX);
        for (i, iname) in insts.iter().enumerate() {
            let label = if single {
                names.node(n16).to_string()
            } else {
                format!("{} {}", names.node(n16), iname)
            };
            lanes.push((n16, i as u32, label));
        }
    }
    // Health checkers: one row per server of a director's table, by first appearance.
    let mut tables: Vec<(u16, u32, Option<u32>, String)> = Vec::new();
    for e in sim.trace() {
        if let (
            TraceEvent::Table {
                vs, server, who, ..
            },
            Some(n),
        ) = (&e.ev, e.node)
        {
            if !tables
                .iter()
                .any(|(m, v, s, _)| *m == n && v == vs && s == server)
            {
                tables.push((n, *vs, *server, format!("{} {who}", names.node(n))));
            }
        }
    }
    let rows = lanes.len() + tables.len();
    let height = TOP + ROW * rows as f64 + 60.0;
    let x = |t: u64| LEFT + (t.min(end) as f64 / end as f64) * (WIDTH - LEFT - RIGHT);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        s,
        r##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="none"/><line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="2" stroke-opacity="0.55"/></pattern></defs>"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{} (seed {})</text>"##,
        esc(&sim.plan().name),
        sim.seed()
    );
    // Legend.
    let mut lx = LEFT;
    for (label, fill) in [
        ("MASTER", color(State::Master)),
        ("BACKUP", color(State::Backup)),
        ("FAULT", color(State::Fault)),
        ("down / INIT", color(State::Init)),
        ("network fault", "#f0ad4e"),
    ] {
        let _ = writeln!(
            s,
            r##"<rect x="{lx}" y="30" width="14" height="12" fill="{fill}" fill-opacity="{}"/><text x="{}" y="40">{label}</text>"##,
            if label == "network fault" {
                "0.35"
            } else {
                "1"
            },
            lx + 18.0
        );
        lx += 30.0 + label.len() as f64 * 7.5;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{lx}" y="30" width="14" height="12" fill="url(#hatch)" stroke="#555"/><text x="{}" y="40">link down / crashed / stopped / stalled</text>"##,
        lx + 18.0
    );
    let rx = lx + 18.0 + 290.0;
    let _ = writeln!(
        s,
        r##"<line x1="{rx}" y1="28" x2="{rx}" y2="44" stroke="#222" stroke-width="2"/><text x="{}" y="40">reload</text>"##,
        rx + 6.0
    );
    if !tables.is_empty() {
        let mut tx = LEFT;
        for (label, fill) in [
            ("in the table", SERVING),
            ("weight 0", INHIBITED),
            ("sorry server in use", SORRY),
            ("out", color(State::Init)),
        ] {
            let _ = writeln!(
                s,
                r##"<rect x="{tx}" y="50" width="14" height="12" fill="{fill}"/><text x="{}" y="60">{label}</text>"##,
                tx + 18.0
            );
            tx += 30.0 + label.len() as f64 * 7.5;
        }
    }
    let rows_top = TOP;
    let rows_bottom = TOP + ROW * rows as f64;
    // Network-wide fault windows.
    for (k, (t0, t1, label)) in network_windows(sim, end).iter().enumerate() {
        let (a, b) = (x(*t0), x(*t1));
        let _ = writeln!(
            s,
            r##"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#f0ad4e" fill-opacity="0.25" stroke="#f0ad4e"/>"##,
            rows_top - 8.0,
            (b - a).max(1.0),
            rows_bottom - rows_top + 8.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#a0600a">{}</text>"##,
            a + 3.0,
            rows_bottom + 14.0 + 11.0 * (k % 2) as f64 + 22.0,
            esc(label)
        );
    }
    // State bars per lane.
    for (row, (n, i, label)) in lanes.iter().enumerate() {
        let y = rows_top + ROW * row as f64;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{:.1}" text-anchor="end" font-weight="bold">{}</text>"##,
            LEFT - 8.0,
            y + BAR / 2.0 + 4.0,
            esc(label)
        );
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}"/>"##,
            WIDTH - LEFT - RIGHT,
            color(State::Init)
        );
        let mut cur: Option<(u64, State)> = None;
        let mut down_since: Option<(u64, &'static str)> = None;
        let mut spans: Vec<(u64, u64, State)> = Vec::new();
        let mut hatches: Vec<(u64, u64, &'static str)> = Vec::new();
        let mut reloads: Vec<u64> = Vec::new();
        for e in sim.trace() {
            if e.node != Some(*n) || e.t > end {
                continue;
            }
            match &e.ev {
                TraceEvent::State { inst, to, .. } if inst == i => {
                    if let Some((t0, st)) = cur.take() {
                        spans.push((t0, e.t, st));
                    }
                    cur = Some((e.t, *to));
                }
                TraceEvent::Crash => {
                    if let Some((t0, st)) = cur.take() {
                        spans.push((t0, e.t, st));
                    }
                    down_since = Some((e.t, "crashed"));
                }
                TraceEvent::Stop => down_since = Some((e.t, "stopped")),
                TraceEvent::Reload { .. } | TraceEvent::ReloadConf { .. } => reloads.push(e.t),
                TraceEvent::Stall { .. } if down_since.is_none() => {
                    down_since = Some((e.t, "stalled"));
                }
                TraceEvent::Link { up: false, .. } if down_since.is_none() => {
                    down_since = Some((e.t, "link down"));
                }
                TraceEvent::Boot
                | TraceEvent::Start
                | TraceEvent::Resume { .. }
                | TraceEvent::Link { up: true, .. } => {
                    if let Some((t0, why)) = down_since.take() {
                        hatches.push((t0, e.t, why));
                    }
                }
                _ => {}
            }
        }
        if let Some((t0, st)) = cur {
            spans.push((t0, end, st));
        }
        if let Some((t0, why)) = down_since {
            hatches.push((t0, end, why));
        }
        for (t0, t1, st) in spans {
            let (a, b) = (x(t0), x(t1));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.2}" y="{y:.1}" width="{:.2}" height="{BAR}" fill="{}"><title>{} {} {}..{}</title></rect>"##,
                (b - a).max(0.8),
                color(st),
                esc(label),
                st,
                Dur(t0),
                Dur(t1)
            );
        }
        for (t0, t1, why) in hatches {
            let (a, b) = (x(t0), x(t1));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.2}" y="{y:.1}" width="{:.2}" height="{BAR}" fill="url(#hatch)" stroke="#555" stroke-width="0.6"><title>{why} {}..{}</title></rect>"##,
                (b - a).max(0.8),
                Dur(t0),
                Dur(t1)
            );
            if b - a > 50.0 {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#222">{why}</text>"##,
                    a + 4.0,
                    y + BAR + 9.0
                );
            }
        }
        // A reload (SIGHUP) is an instant: a dark tick across the bar.
        for t in reloads {
            let a = x(t);
            let _ = writeln!(
                s,
                r##"<line x1="{a:.2}" y1="{:.1}" x2="{a:.2}" y2="{:.1}" stroke="#222" stroke-width="2"><title>reload at {}</title></line>"##,
                y - 2.0,
                y + BAR + 2.0,
                Dur(t)
            );
        }
    }
    // Health checkers' tables: each server's weight over time.
    for (k, (n, vs, server, label)) in tables.iter().enumerate() {
        let y = rows_top + ROW * (lanes.len() + k) as f64;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{:.1}" text-anchor="end" font-size="9">{}</text>"##,
            LEFT - 8.0,
            y + BAR / 2.0 + 3.0,
            esc(label)
        );
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}"/>"##,
            WIDTH - LEFT - RIGHT,
            color(State::Init)
        );
        let mut cur: Option<(u64, Option<u32>)> = None;
        let mut spans: Vec<(u64, u64, Option<u32>)> = Vec::new();
        let mut down_since: Option<u64> = None;
        let mut hatches: Vec<(u64, u64)> = Vec::new();
        for e in sim.trace() {
            if e.node != Some(*n) || e.t > end {
                continue;
            }
            match &e.ev {
                TraceEvent::Table {
                    vs: v,
                    server: sv,
                    weight,
                    ..
                } if v == vs && sv == server => {
                    if let Some((t0, w)) = cur.take() {
                        spans.push((t0, e.t, w));
                    }
                    cur = Some((e.t, *weight));
                }
                TraceEvent::Crash | TraceEvent::Stop if down_since.is_none() => {
                    down_since = Some(e.t);
                }
                TraceEvent::Boot | TraceEvent::Start => {
                    if let Some(t0) = down_since.take() {
                        hatches.push((t0, e.t));
                    }
                }
                _ => {}
            }
        }
        if let Some((t0, w)) = cur {
            spans.push((t0, end, w));
        }
        if let Some(t0) = down_since {
            hatches.push((t0, end));
        }
        for (t0, t1, w) in spans {
            let fill = match (w, server) {
                (None, _) => continue,
                (Some(0), _) => INHIBITED,
                (Some(_), None) => SORRY,
                (Some(_), Some(_)) => SERVING,
            };
            let (a, b) = (x(t0), x(t1));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.2}" y="{y:.1}" width="{:.2}" height="{BAR}" fill="{fill}"><title>{} weight {} {}..{}</title></rect>"##,
                (b - a).max(0.8),
                esc(label),
                w.unwrap_or(0),
                Dur(t0),
                Dur(t1)
            );
        }
        for (t0, t1) in hatches {
            let (a, b) = (x(t0), x(t1));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.2}" y="{y:.1}" width="{:.2}" height="{BAR}" fill="url(#hatch)" stroke="#555" stroke-width="0.6"><title>director down {}..{}</title></rect>"##,
                (b - a).max(0.8),
                Dur(t0),
                Dur(t1)
            );
        }
    }
    // Time axis.
    let axis_y = rows_bottom + 4.0;
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#333"/>"##,
        WIDTH - RIGHT
    );
    let step = tick_step(end);
    let mut t = 0u64;
    while t <= end {
        let xt = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{xt:.1}" y1="{axis_y}" x2="{xt:.1}" y2="{}" stroke="#333"/><line x1="{xt:.1}" y1="{rows_top}" x2="{xt:.1}" y2="{axis_y}" stroke="#000" stroke-opacity="0.08"/><text x="{xt:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"##,
            axis_y + 5.0,
            axis_y + 17.0,
            Dur(t)
        );
        t = t.saturating_add(step);
        if step == 0 {
            break;
        }
    }
    let _ = writeln!(s, "</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A director's table gets one row per server, coloured by what the table held: the
    /// lvs-quorum scenario's sorry server is drawn in use between the loss and the regain.
    #[test]
    fn a_directors_table_has_a_row_per_server() {
        let text = include_str!("../../scenarios/lvs-quorum.toml");
        let plan = crate::scenario::Scenario::from_toml(text)
            .and_then(|s| s.plan())
            .expect("lvs-quorum plans");
        let mut sim = Sim::new(&plan, &crate::sim::Options::full(1));
        let out = sim.run();
        assert!(out.passed());
        let pic = render(&sim, out.end);
        for row in [
            "d1 198.51.100.21:80",
            "d1 198.51.100.24:80",
            "d1 sorry 203.0.113.99:80",
        ] {
            assert!(pic.contains(&format!(">{row}</text>")), "no row {row}");
        }
        assert!(pic.contains(&format!(
            "fill=\"{SORRY}\"><title>d1 sorry 203.0.113.99:80 weight 1 9.501s..20.501s</title>"
        )));
        // A VRRP-only run has no such rows and no table legend.
        let plan = crate::scenario::Scenario::from_toml(crate::DEMO)
            .and_then(|s| s.plan())
            .expect("demo plans");
        let mut sim = Sim::new(&plan, &crate::sim::Options::full(1));
        let out = sim.run();
        assert!(!render(&sim, out.end).contains("sorry server in use"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(30_000_000_000), 5_000_000_000);
        assert_eq!(tick_step(2_000_000_000), 200_000_000);
        assert_eq!(tick_step(60_000_000_000), 10_000_000_000);
    }
}
