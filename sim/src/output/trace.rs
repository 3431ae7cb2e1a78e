//! What happened in a run: one [`TraceEntry`] per thing worth telling, in the order it happened.
//!
//! The same trace renders three ways: the terminal timeline ([`crate::report`]), one JSON object a
//! line (`--json`, [`TraceEntry::to_json`]) and the SVG picture ([`crate::svg`]). Runs are
//! deterministic, so two runs of a scenario and seed give byte-identical JSON traces.

use std::net::IpAddr;

use serde_json::{json, Value};
use vigil_engine::State;

use crate::dur::fmt_time;

/// One line of the trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEntry {
    /// Virtual time, nanoseconds.
    pub t: u64,
    /// The node it concerns, if one.
    pub node: Option<u16>,
    /// What happened.
    pub ev: TraceEvent,
}

/// Events of a run.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceEvent {
    /// The node booted (a new engine, `Input::Start`).
    Boot,
    /// The node crashed: engine dropped, no goodbye.
    Crash,
    /// Graceful stop (`Input::Shutdown`).
    Stop,
    /// `Input::Start` on a stopped engine.
    Start,
    /// The node's process froze (`stall`) until `until` (virtual time, nanoseconds).
    Stall {
        /// When it resumes.
        until: u64,
    },
    /// The stalled process runs again; `frames` waited in its socket buffer.
    Resume {
        /// Frames read at once.
        frames: u32,
    },
    /// Reloaded with a new priority for an instance.
    Reload {
        /// Instance name.
        instance: String,
        /// New priority.
        priority: u8,
    },
    /// SIGHUP with a new keepalived.conf, and what came of it.
    ReloadConf {
        /// Accepted (with counts), or refused (with the error).
        outcome: String,
    },
    /// The node's interface link changed.
    Link {
        /// Interface name.
        iface: String,
        /// New state.
        up: bool,
    },
    /// A segment-level fault (partition, block, heal, network change), described.
    Net {
        /// Segment name, or `*` for all.
        segment: String,
        /// What changed.
        what: String,
    },
    /// An instance changed state.
    State {
        /// Instance index on the node.
        inst: u32,
        /// Before.
        from: State,
        /// After.
        to: State,
        /// Effective priority.
        priority: u8,
        /// The engine's reason.
        reason: &'static str,
        /// For a takeover by the Master_Down_Timer: time since the last valid advert heard.
        silence: Option<u64>,
    },
    /// An advert was sent (recorded with packet tracing on).
    Advert {
        /// Instance index.
        inst: u32,
        /// Priority carried.
        priority: u8,
        /// IP destination.
        dst: IpAddr,
    },
    /// A frame was lost on the way to a receiver (packet tracing on).
    Lost {
        /// Receiving node.
        to: u16,
        /// Why: `loss`, `burst`, `partition`, `link-down`.
        why: &'static str,
    },
    /// A received packet was dropped by the engine (`Action::ProtocolError`).
    ProtocolError {
        /// The rule it failed.
        rule: &'static str,
        /// Its source.
        src: IpAddr,
    },
    /// Virtual addresses added.
    AddrAdd {
        /// Instance index.
        inst: u32,
        /// How many.
        count: usize,
    },
    /// Virtual addresses removed.
    AddrRemove {
        /// Instance index.
        inst: u32,
        /// How many.
        count: usize,
    },
    /// Excluded addresses (`virtual_ipaddress_excluded`) added (`added`) or removed.
    Excluded {
        /// Instance index.
        inst: u32,
        /// Added, or removed.
        added: bool,
        /// How many.
        count: usize,
    },
    /// Virtual routes (`virtual_routes`) installed (`added`) or removed.
    Routes {
        /// Instance index.
        inst: u32,
        /// Added, or removed.
        added: bool,
        /// The routes, as `ip route` writes them.
        routes: Vec<String>,
    },
    /// Policy routing rules installed (became MASTER) or removed (left MASTER).
    Rules {
        /// Instance index.
        inst: u32,
        /// Added, or removed.
        added: bool,
        /// The rules, as keepalived's dump writes them.
        rules: Vec<String>,
    },
    /// Gratuitous ARP / unsolicited NA sent for the addresses.
    Announce {
        /// Instance index.
        inst: u32,
        /// How many addresses.
        count: usize,
    },
    /// A sync group moved (every member has).
    Group {
        /// Group name.
        group: String,
        /// Before.
        from: State,
        /// After.
        to: State,
        /// The member that caused it, and why.
        cause: String,
    },
    /// Tracking changed an instance's effective priority.
    Priority {
        /// Instance index.
        inst: u32,
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// A MASTER heard a lower priority (another router believes it is master) and answered.
    LowerPriorityHeard {
        /// Instance index.
        inst: u32,
        /// The other router's address.
        src: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// The schedule changed a check program's result or a tracked file's value.
    Track {
        /// `chk_web now fails`, `file weight = 20`.
        what: String,
    },
    /// An action this simulator does not know yet (the engine grew a variant).
    Other(String),
    /// A simulated real server's health changed (`do = "server"`).
    Server {
        /// `192.0.2.21:80`.
        server: String,
        /// `DOWN (refuses)`, `up`, ...
        health: String,
    },
    /// A director started a check run (packet tracing on).
    CheckRun {
        /// `TCP_CHECK 192.0.2.21:80`.
        check: String,
        /// The engine's run number.
        run: u64,
        /// Its deadline, on the director's clock (nanoseconds).
        deadline: u64,
    },
    /// A check run ended: its result was fed back, or it was abandoned (packet tracing on).
    CheckEnd {
        /// The checker.
        check: String,
        /// The run.
        run: u64,
        /// How it ended.
        outcome: String,
    },
    /// A checker went up or down (`CheckAction::CheckerState`).
    Checker {
        /// The checker.
        check: String,
        /// Up now.
        up: bool,
        /// The outcome that decided it.
        why: String,
    },
    /// A real server went up or down (all its checkers up, or not).
    RealServer {
        /// `real server 192.0.2.21:80 of VS 192.0.2.100:80`.
        server: String,
        /// Up now.
        up: bool,
    },
    /// A virtual server's table changed (`CheckAction::SetServer`).
    Table {
        /// The virtual server's index on the director.
        vs: u32,
        /// The real server's index (`None`: the sorry server).
        server: Option<u32>,
        /// Its weight in the table now (`None`: out).
        weight: Option<u32>,
        /// `198.51.100.21:80`, `sorry 203.0.113.99:80` (a row of the picture).
        who: String,
        /// The change in words, with its reason.
        what: String,
    },
    /// A virtual server's quorum was gained or lost.
    Quorum {
        /// `VS 192.0.2.100:80`.
        vs: String,
        /// Gained.
        up: bool,
        /// Live weight.
        sum: u64,
        /// The threshold crossed.
        threshold: u64,
    },
    /// A notification (`notify_up`, `notify_down`, `quorum_up`, `quorum_down`): its script ran,
    /// or, when none is configured, only the `notify_fifo` line would be written.
    Notify {
        /// Which, for what, and the script.
        what: String,
    },
    /// A liveness check passed: every virtual router has its one right MASTER.
    Converged {
        /// `VI_1=r1, VI_2=r3`.
        masters: String,
    },
    /// An expectation was checked.
    Expect {
        /// The expectation in words.
        text: String,
        /// Whether it held.
        ok: bool,
        /// What was seen.
        seen: String,
    },
    /// An invariant failed: the run stops here.
    Violation {
        /// `safety`, `liveness` or `panic`.
        kind: &'static str,
        /// The rule's name.
        rule: &'static str,
        /// What was seen.
        detail: String,
    },
}

/// Names for rendering: node names and, per node, instance names.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Node names by index.
    pub nodes: Vec<String>,
    /// Instance names by node, then instance index.
    pub instances: Vec<Vec<String>>,
}

impl Names {
    /// A node's name.
    pub fn node(&self, n: u16) -> &str {
        self.nodes.get(usize::from(n)).map_or("?", |s| s.as_str())
    }

    /// An instance's name.
    pub fn instance(&self, n: u16, i: u32) -> &str {
        self.instances
            .get(usize::from(n))
            .and_then(|v| v.get(i as usize))
            .map_or("?", |s| s.as_str())
    }
}

impl TraceEntry {
    /// Whether the entry is about one packet (hidden from the terminal timeline).
    pub fn is_packet(&self) -> bool {
        matches!(
            self.ev,
            TraceEvent::Advert { .. }
                | TraceEvent::Lost { .. }
                | TraceEvent::ProtocolError { .. }
                | TraceEvent::LowerPriorityHeard { .. }
                | TraceEvent::CheckRun { .. }
                | TraceEvent::CheckEnd { .. }
        )
    }

    /// The entry as one JSON object (`--json`, one per line).
    // Long: one arm per trace event kind (a flat table).
    pub fn to_json(&self, names: &Names) -> Value {
        let mut v = json!({ "t_ns": self.t, "t": fmt_time(self.t) });
        let obj = v.as_object_mut();
        let Some(obj) = obj else { return v };
        if let Some(n) = self.node {
            obj.insert("node".into(), json!(names.node(n)));
        }
        let node = self.node.unwrap_or(0);
        let mut put = |k: &str, x: Value| {
            obj.insert(k.into(), x);
        };
        match &self.ev {
            TraceEvent::Boot => put("event", json!("boot")),
            TraceEvent::Crash => put("event", json!("crash")),
            TraceEvent::Stop => put("event", json!("stop")),
            TraceEvent::Start => put("event", json!("start")),
            TraceEvent::Stall { until } => {
                put("event", json!("stall"));
                put("until_ns", json!(until));
            }
            TraceEvent::Resume { frames } => {
                put("event", json!("resume"));
                put("frames", json!(frames));
            }
            TraceEvent::Reload { instance, priority } => {
                put("event", json!("reload"));
                put("instance", json!(instance));
                put("priority", json!(priority));
            }
            TraceEvent::ReloadConf { outcome } => {
                put("event", json!("reload-conf"));
                put("outcome", json!(outcome));
            }
            TraceEvent::Link { iface, up } => {
                put("event", json!(if *up { "link-up" } else { "link-down" }));
                put("iface", json!(iface));
            }
            TraceEvent::Net { segment, what } => {
                put("event", json!("network"));
                put("segment", json!(segment));
                put("what", json!(what));
            }
            TraceEvent::State {
                inst,
                from,
                to,
                priority,
                reason,
                silence,
            } => {
                put("event", json!("state"));
                put("instance", json!(names.instance(node, *inst)));
                put("from", json!(from.name()));
                put("to", json!(to.name()));
                put("priority", json!(priority));
                put("reason", json!(reason));
                if let Some(s) = silence {
                    put("silence_ns", json!(s));
                }
            }
            TraceEvent::Advert {
                inst,
                priority,
                dst,
            } => {
                put("event", json!("advert"));
                put("instance", json!(names.instance(node, *inst)));
                put("priority", json!(priority));
                put("dst", json!(dst.to_string()));
            }
            TraceEvent::Lost { to, why } => {
                put("event", json!("lost"));
                put("to", json!(names.node(*to)));
                put("why", json!(why));
            }
            TraceEvent::ProtocolError { rule, src } => {
                put("event", json!("protocol-error"));
                put("rule", json!(rule));
                put("src", json!(src.to_string()));
            }
            TraceEvent::AddrAdd { inst, count } => {
                put("event", json!("addresses-added"));
                put("instance", json!(names.instance(node, *inst)));
                put("count", json!(count));
            }
            TraceEvent::AddrRemove { inst, count } => {
                put("event", json!("addresses-removed"));
                put("instance", json!(names.instance(node, *inst)));
                put("count", json!(count));
            }
            TraceEvent::Excluded { inst, added, count } => {
                let what = if *added { "added" } else { "removed" };
                put("event", json!(format!("excluded-addresses-{what}")));
                put("instance", json!(names.instance(node, *inst)));
                put("count", json!(count));
            }
            TraceEvent::Routes {
                inst,
                added,
                routes,
            } => {
                let what = if *added { "added" } else { "removed" };
                put("event", json!(format!("routes-{what}")));
                put("instance", json!(names.instance(node, *inst)));
                put("routes", json!(routes));
            }
            TraceEvent::Rules { inst, added, rules } => {
                let what = if *added { "added" } else { "removed" };
                put("event", json!(format!("rules-{what}")));
                put("instance", json!(names.instance(node, *inst)));
                put("rules", json!(rules));
            }
            TraceEvent::Announce { inst, count } => {
                put("event", json!("announce"));
                put("instance", json!(names.instance(node, *inst)));
                put("count", json!(count));
            }
            TraceEvent::Group {
                group,
                from,
                to,
                cause,
            } => {
                put("event", json!("group-state"));
                put("group", json!(group));
                put("from", json!(from.name()));
                put("to", json!(to.name()));
                put("cause", json!(cause));
            }
            TraceEvent::Priority { inst, from, to } => {
                put("event", json!("priority"));
                put("instance", json!(names.instance(node, *inst)));
                put("from", json!(from));
                put("to", json!(to));
            }
            TraceEvent::LowerPriorityHeard {
                inst,
                src,
                priority,
            } => {
                put("event", json!("lower-priority-heard"));
                put("instance", json!(names.instance(node, *inst)));
                put("src", json!(src.to_string()));
                put("priority", json!(priority));
            }
            TraceEvent::Track { what } => {
                put("event", json!("track"));
                put("what", json!(what));
            }
            TraceEvent::Other(s) => {
                put("event", json!("other-action"));
                put("action", json!(s));
            }
            TraceEvent::Server { server, health } => {
                put("event", json!("server-health"));
                put("server", json!(server));
                put("health", json!(health));
            }
            TraceEvent::CheckRun {
                check,
                run,
                deadline,
            } => {
                put("event", json!("check-run"));
                put("check", json!(check));
                put("run", json!(run));
                put("deadline_ns", json!(deadline));
            }
            TraceEvent::CheckEnd {
                check,
                run,
                outcome,
            } => {
                put("event", json!("check-end"));
                put("check", json!(check));
                put("run", json!(run));
                put("outcome", json!(outcome));
            }
            TraceEvent::Checker { check, up, why } => {
                put("event", json!("checker-state"));
                put("check", json!(check));
                put("up", json!(up));
                put("why", json!(why));
            }
            TraceEvent::RealServer { server, up } => {
                put("event", json!("real-server-state"));
                put("server", json!(server));
                put("up", json!(up));
            }
            TraceEvent::Table {
                vs,
                server,
                weight,
                what,
                ..
            } => {
                put("event", json!("table"));
                put("vs", json!(vs));
                put("server", json!(server));
                put("weight", json!(weight));
                put("what", json!(what));
            }
            TraceEvent::Quorum {
                vs,
                up,
                sum,
                threshold,
            } => {
                put("event", json!("quorum"));
                put("vs", json!(vs));
                put("up", json!(up));
                put("weight_sum", json!(sum));
                put("threshold", json!(threshold));
            }
            TraceEvent::Notify { what } => {
                put("event", json!("notify"));
                put("what", json!(what));
            }
            TraceEvent::Converged { masters } => {
                put("event", json!("converged"));
                put("masters", json!(masters));
            }
            TraceEvent::Expect { text, ok, seen } => {
                put("event", json!("expect"));
                put("expect", json!(text));
                put("ok", json!(ok));
                put("seen", json!(seen));
            }
            TraceEvent::Violation { kind, rule, detail } => {
                put("event", json!("violation"));
                put("kind", json!(kind));
                put("rule", json!(rule));
                put("detail", json!(detail));
            }
        }
        v
    }

    /// The entry as one line of plain text: `3.609375s r2 VI_1 BACKUP -> MASTER ...`.
    pub fn to_line(&self, names: &Names) -> String {
        let who = self
            .node
            .map_or("*".to_string(), |n| names.node(n).to_string());
        format!(
            "{:>13} {:<6} {}",
            fmt_time(self.t),
            who,
            self.describe(names)
        )
    }

    /// The event in words, without time and node.
    pub fn describe(&self, names: &Names) -> String {
        let node = self.node.unwrap_or(0);
        match &self.ev {
            TraceEvent::Boot => "boots".into(),
            TraceEvent::Crash => "CRASHES (no goodbye)".into(),
            TraceEvent::Stop => "stops gracefully".into(),
            TraceEvent::Start => "starts".into(),
            TraceEvent::Stall { until } => {
                format!("STALLS (process frozen) until {}", fmt_time(*until))
            }
            TraceEvent::Resume { frames } => {
                format!("resumes: reads {frames} frame(s) that waited, serves its late timers")
            }
            TraceEvent::Reload { instance, priority } => {
                format!("reloads: {instance} priority {priority}")
            }
            TraceEvent::ReloadConf { outcome } => outcome.clone(),
            TraceEvent::Link { iface, up } => {
                format!("{iface} link {}", if *up { "up" } else { "DOWN" })
            }
            TraceEvent::Net { segment, what } => format!("segment {segment}: {what}"),
            TraceEvent::State {
                inst,
                from,
                to,
                priority,
                reason,
                silence,
            } => {
                let mut s = format!(
                    "{} {from} -> {to} ({reason}, priority {priority})",
                    names.instance(node, *inst)
                );
                if let Some(q) = silence {
                    s.push_str(&format!(", no master heard for {}", crate::dur::Dur(*q)));
                }
                s
            }
            TraceEvent::Advert {
                inst,
                priority,
                dst,
            } => format!(
                "{} advert priority {priority} to {dst}",
                names.instance(node, *inst)
            ),
            TraceEvent::Lost { to, why } => format!("frame to {} lost ({why})", names.node(*to)),
            TraceEvent::ProtocolError { rule, src } => {
                format!("dropped a packet from {src}: {rule}")
            }
            TraceEvent::AddrAdd { inst, count } => {
                format!(
                    "{} adds {count} virtual address(es)",
                    names.instance(node, *inst)
                )
            }
            TraceEvent::AddrRemove { inst, count } => format!(
                "{} removes {count} virtual address(es)",
                names.instance(node, *inst)
            ),
            TraceEvent::Excluded { inst, added, count } => format!(
                "{} {} {count} excluded address(es)",
                names.instance(node, *inst),
                if *added { "adds" } else { "removes" }
            ),
            TraceEvent::Routes {
                inst,
                added,
                routes,
            } => format!(
                "{} {} route(s) {}",
                names.instance(node, *inst),
                if *added { "installs" } else { "removes" },
                routes.join(", ")
            ),
            TraceEvent::Rules { inst, added, rules } => format!(
                "{} {} rule(s) {}",
                names.instance(node, *inst),
                if *added { "installs" } else { "removes" },
                rules.join(", ")
            ),
            TraceEvent::Announce { inst, count } => format!(
                "{} re-announces {count} address(es) (gratuitous ARP / NA)",
                names.instance(node, *inst)
            ),
            TraceEvent::Group {
                group,
                from,
                to,
                cause,
            } => format!("sync group {group} {from} -> {to} (caused by {cause})"),
            TraceEvent::Priority { inst, from, to } => format!(
                "{} effective priority {from} -> {to}",
                names.instance(node, *inst)
            ),
            TraceEvent::LowerPriorityHeard {
                inst,
                src,
                priority,
            } => format!(
                "{} MASTER hears priority {priority} from {src} and answers",
                names.instance(node, *inst)
            ),
            TraceEvent::Track { what } => what.clone(),
            TraceEvent::Other(s) => format!("action {s}"),
            TraceEvent::Server { server, health } => format!("server {server} now {health}"),
            TraceEvent::CheckRun {
                check,
                run,
                deadline,
            } => format!("{check} run {run} (deadline {})", fmt_time(*deadline)),
            TraceEvent::CheckEnd {
                check,
                run,
                outcome,
            } => format!("{check} run {run}: {outcome}"),
            TraceEvent::Checker { check, up, why } => {
                format!("{check} {} ({why})", if *up { "UP" } else { "DOWN" })
            }
            TraceEvent::RealServer { server, up } => {
                format!("{server} {}", if *up { "UP" } else { "DOWN" })
            }
            TraceEvent::Table { what, .. } => what.clone(),
            TraceEvent::Quorum {
                vs,
                up,
                sum,
                threshold,
            } => {
                if *up {
                    format!("{vs} gained its quorum ({threshold} <= live weight {sum})")
                } else {
                    format!("{vs} lost its quorum ({threshold} > live weight {sum})")
                }
            }
            TraceEvent::Notify { what } => what.clone(),
            TraceEvent::Converged { masters } => format!("liveness check ok: {masters}"),
            TraceEvent::Expect { text, ok, seen } => format!(
                "expect {text}: {} ({seen})",
                if *ok { "ok" } else { "FAILED" }
            ),
            TraceEvent::Violation { kind, rule, detail } => {
                format!("{} VIOLATION {rule}: {detail}", kind.to_uppercase())
            }
        }
    }
}
