//! Prometheus metrics in node_exporter's textfile format: no listening port.
//!
//! node_exporter's textfile collector reads `*.prom` files from a directory
//! (`--collector.textfile.directory`); vigild writes one file there, atomically (a temporary file
//! beside it, then `rename`, so the collector never reads half a file), whenever an instance
//! changes state or priority, and at least every [`DEFAULT_INTERVAL`] for the counters.
//!
//! Metrics (labels `instance`, `interface`, `vrid`, `family` on every per-instance series):
//!
//! | metric | type | meaning |
//! |--------|------|---------|
//! | `vigil_instance_state{state}` | gauge | 1 for the current state (`INIT`, `BACKUP`, `MASTER`, `FAULT`), 0 for the others |
//! | `vigil_instance_priority` | gauge | effective priority |
//! | `vigil_instance_base_priority` | gauge | configured priority |
//! | `vigil_instance_transitions_total` | counter | state changes seen by this vigild |
//! | `vigil_instance_became_master_total` | counter | RFC 6527 MasterTransitions |
//! | `vigil_instance_released_master_total` | counter | times MASTER was left |
//! | `vigil_instance_adverts_sent_total` | counter | adverts sent |
//! | `vigil_instance_adverts_received_total` | counter | valid adverts accepted |
//! | `vigil_instance_priority_zero_sent_total` / `_received_total` | counter | priority-0 adverts |
//! | `vigil_instance_address_list_errors_total` | counter | address list mismatches (counted even when kept) |
//! | `vigil_instance_trailing_bytes_total` | counter | adverts accepted with trailing bytes |
//! | `vigil_instance_dropped_total{reason}` | counter | one series per drop counter |
//! | `vigil_sync_group_state{group,state}` | gauge | as for instances |
//! | `vigil_router_dropped_total{reason}` | counter | packets that reached no instance |

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_engine::wire::Family;
use vigil_engine::{Action, Engine, Instant, State};

use super::status::write_atomic;

/// How often the file is rewritten when nothing changes state (counters move all the time).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

const STATES: [State; 4] = [State::Init, State::Backup, State::Master, State::Fault];

/// Escape a label value (backslash, double quote, newline), as the exposition format requires.
pub fn escape(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

/// The textfile writer.
pub struct Metrics {
    path: PathBuf,
    interval: Duration,
    last_write: Option<Instant>,
    dirty: bool,
    transitions: HashMap<String, u64>,
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

impl Metrics {
    /// A writer of `path` (e.g. `/var/lib/node_exporter/textfile/vigild.prom`), rewritten at
    /// least every `interval`.
    pub fn new(path: &Path, interval: Duration) -> Metrics {
        Metrics {
            path: path.to_path_buf(),
            interval,
            last_write: None,
            dirty: true,
            transitions: HashMap::new(),
        }
    }

    /// Note what `action` changes: a state or priority change makes the next
    /// [`Metrics::maybe_write`] write at once.
    pub fn on_action(&mut self, engine: &Engine, action: &Action) {
        match action {
            Action::StateChange { instance, .. } => {
                if let Some(v) = engine.instance(*instance) {
                    *self.transitions.entry(v.name().to_string()).or_default() += 1;
                }
                self.dirty = true;
            }
            Action::GroupStateChange { .. } | Action::PriorityChange { .. } => self.dirty = true,
            _ => {}
        }
    }

    /// When the file must be written next, for the event loop's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.last_write {
            _ if self.dirty => Some(Instant::ZERO),
            Some(t) => Some(t.saturating_add(self.interval)),
            None => Some(Instant::ZERO),
        }
    }

    /// Write the file if something changed or the interval passed; returns whether it wrote.
    pub fn maybe_write(&mut self, now: Instant, engine: &Engine) -> io::Result<bool> {
        let due = self.dirty
            || self
                .last_write
                .is_none_or(|t| now.saturating_duration_since(t) >= self.interval);
        if !due {
            return Ok(false);
        }
        self.last_write = Some(now);
        self.dirty = false;
        write_atomic(&self.path, self.render(engine).as_bytes(), 0o644)?;
        Ok(true)
    }

    /// The file's text.
    // Long: one metric family after another, in the file's order (a flat list).
    pub fn render(&self, engine: &Engine) -> String {
        let mut o = String::new();
        let labels: Vec<(String, &str)> = engine
            .instances()
            .map(|v| {
                let c = v.config();
                (
                    format!(
                        "instance=\"{}\",interface=\"{}\",vrid=\"{}\",family=\"{}\"",
                        escape(v.name()),
                        escape(&c.interface),
                        c.vrid,
                        match c.family {
                            Family::V4 => "ipv4",
                            Family::V6 => "ipv6",
                        }
                    ),
                    v.name(),
                )
            })
            .collect();
        let views: Vec<_> = engine.instances().collect();

        header(
            &mut o,
            "vigil_instance_state",
            "gauge",
            "VRRP state of the instance: 1 for the current state.",
        );
        for (v, (l, _)) in views.iter().zip(&labels) {
            for s in STATES {
                let _ = writeln!(
                    o,
                    "vigil_instance_state{{{l},state=\"{}\"}} {}",
                    s.name(),
                    u8::from(v.state() == s)
                );
            }
        }
        header(
            &mut o,
            "vigil_instance_priority",
            "gauge",
            "Effective priority (after tracking).",
        );
        for (v, (l, _)) in views.iter().zip(&labels) {
            let _ = writeln!(o, "vigil_instance_priority{{{l}}} {}", v.priority());
        }
        header(
            &mut o,
            "vigil_instance_base_priority",
            "gauge",
            "Configured priority.",
        );
        for (v, (l, _)) in views.iter().zip(&labels) {
            let _ = writeln!(
                o,
                "vigil_instance_base_priority{{{l}}} {}",
                v.config().priority
            );
        }
        header(
            &mut o,
            "vigil_instance_transitions_total",
            "counter",
            "State changes since vigild started.",
        );
        for (l, name) in &labels {
            let n = self.transitions.get(*name).copied().unwrap_or(0);
            let _ = writeln!(o, "vigil_instance_transitions_total{{{l}}} {n}");
        }
        // One declaration of the counters (the engine's `InstanceStats::fields()`): a counter
        // metric for each that is not a drop, one labelled family for the drops.
        let fields = vigil_engine::stats::InstanceStats::fields();
        for f in fields.iter().filter(|f| f.drop_label.is_none()) {
            let metric = format!("vigil_instance_{}_total", f.name);
            header(&mut o, &metric, "counter", f.help);
            for (v, (l, _)) in views.iter().zip(&labels) {
                let _ = writeln!(o, "{metric}{{{l}}} {}", (f.get)(v.stats()));
            }
        }
        header(
            &mut o,
            "vigil_instance_peer_adverts_total",
            "counter",
            "VRRPv3/IPv4 adverts accepted per peer, by checksum form (pseudo_header: RFC 5798; plain: message only).",
        );
        for (v, (l, _)) in views.iter().zip(&labels) {
            for p in v.peer_checksums() {
                for (form, n) in [("pseudo_header", p.pseudo_header), ("plain", p.plain)] {
                    let _ = writeln!(
                        o,
                        "vigil_instance_peer_adverts_total{{{l},peer=\"{}\",checksum=\"{form}\"}} {n}",
                        p.addr
                    );
                }
            }
        }
        header(
            &mut o,
            "vigil_instance_dropped_total",
            "counter",
            "Received packets dropped, by the rule they failed (RFC 5798 section 7.1).",
        );
        for (v, (l, _)) in views.iter().zip(&labels) {
            for f in fields {
                if let Some(reason) = f.drop_label {
                    let _ = writeln!(
                        o,
                        "vigil_instance_dropped_total{{{l},reason=\"{reason}\"}} {}",
                        (f.get)(v.stats())
                    );
                }
            }
        }
        let groups: Vec<_> = engine.groups().collect();
        if !groups.is_empty() {
            header(
                &mut o,
                "vigil_sync_group_state",
                "gauge",
                "State of the sync group: 1 for the current state.",
            );
            for (id, _) in groups {
                if let Some((name, state, _)) = engine.group(id) {
                    for s in STATES {
                        let _ = writeln!(
                            o,
                            "vigil_sync_group_state{{group=\"{}\",state=\"{}\"}} {}",
                            escape(name),
                            s.name(),
                            u8::from(state == s)
                        );
                    }
                }
            }
        }
        header(
            &mut o,
            "vigil_router_dropped_total",
            "counter",
            "Received packets that reached no instance.",
        );
        let r = engine.router_stats();
        for (reason, n) in [
            ("vrid_not_configured", r.vrid_errors),
            ("packet_length", r.packet_length_errors),
            ("unknown_interface_or_family", r.unknown_interface_or_family),
        ] {
            let _ = writeln!(o, "vigil_router_dropped_total{{reason=\"{reason}\"}} {n}");
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
