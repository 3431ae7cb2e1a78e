//! Random fault schedules: 1 to 8 faults in the first two thirds of a run, then the network
//! heals.

use super::*;
use crate::dur::Dur;
use crate::rng::SimRng;
use crate::scenario::{BurstSpec, ChecksSpec, FaultKind, FaultSpec, NetworkSpec, Scenario};

// Long: one short branch per fault kind, drawn in a fixed order every seed depends on.
pub(super) fn random_faults(rng: &mut SimRng, s: &Scenario, duration: Dur) -> Vec<FaultSpec> {
    let nodes: Vec<String> = s.nodes.iter().map(|n| n.name.clone()).collect();
    let ifaces: Vec<Vec<String>> = s
        .nodes
        .iter()
        .map(|n| {
            if n.interfaces.is_empty() {
                vec!["eth0".to_string()]
            } else {
                n.interfaces.iter().map(|i| i.name.clone()).collect()
            }
        })
        .collect();
    let segments: Vec<String> = if s.segments.is_empty() {
        vec!["lan".into()]
    } else {
        s.segments.iter().map(|x| x.name.clone()).collect()
    };
    let heal_at = duration.0 / 3 * 2;
    let t = |rng: &mut SimRng, lo: u64| Dur(rng.between(lo, heal_at.saturating_sub(1).max(lo)));
    let mut out = Vec::new();
    let count = rng.between(1, 8);
    for _ in 0..count {
        let k = rng.below(nodes.len() as u64) as usize;
        let name = nodes[k].clone();
        let at = t(rng, 0);
        let later = |rng: &mut SimRng| t(rng, at.0);
        match rng.below(10) {
            0 | 1 => {
                out.push(FaultSpec::new(at, FaultKind::Crash).node(&name));
                if rng.chance(0.8) {
                    out.push(FaultSpec::new(later(rng), FaultKind::Restart).node(&name));
                }
            }
            2 => {
                out.push(FaultSpec::new(at, FaultKind::Stop).node(&name));
                if rng.chance(0.8) {
                    out.push(FaultSpec::new(later(rng), FaultKind::Start).node(&name));
                }
            }
            3 => {
                let iface = rng.pick(&ifaces[k]).cloned();
                let mut f = FaultSpec::new(at, FaultKind::LinkDown).node(&name);
                f.iface = iface.clone();
                out.push(f);
                let mut f = FaultSpec::new(later(rng), FaultKind::LinkUp).node(&name);
                f.iface = iface;
                out.push(f);
            }
            4 => {
                let seg = rng.pick(&segments).cloned();
                let mut a = Vec::new();
                let mut b = Vec::new();
                for n in &nodes {
                    if rng.chance(0.5) {
                        a.push(n.clone());
                    } else {
                        b.push(n.clone());
                    }
                }
                let mut f = FaultSpec::new(at, FaultKind::Partition);
                f.segment = seg.clone();
                f.groups = Some(vec![a, b]);
                out.push(f);
                let mut f = FaultSpec::new(later(rng), FaultKind::Heal);
                f.segment = seg;
                out.push(f);
            }
            5 => {
                let other = nodes[rng.below(nodes.len() as u64) as usize].clone();
                if other != name {
                    let mut f = FaultSpec::new(at, FaultKind::Block);
                    f.segment = rng.pick(&segments).cloned();
                    f.from = Some(name.clone());
                    f.to = Some(other);
                    out.push(f);
                }
            }
            6 => {
                let mut f = FaultSpec::new(at, FaultKind::Network);
                let mut net = NetworkSpec::default();
                if rng.chance(0.5) {
                    net.loss = Some(rng.between(5, 60) as f64 / 100.0);
                } else {
                    net.burst = Some(BurstSpec {
                        enter: rng.between(1, 20) as f64 / 100.0,
                        leave: rng.between(10, 60) as f64 / 100.0,
                        loss: None,
                    });
                }
                f.network = Some(net);
                out.push(f);
            }
            7 => {
                let mut f = FaultSpec::new(at, FaultKind::Network);
                f.network = Some(NetworkSpec {
                    jitter: Some(Dur::millis(rng.between(1, 4000))),
                    duplicate: Some(rng.between(0, 30) as f64 / 100.0),
                    reorder: Some(rng.between(0, 30) as f64 / 100.0),
                    ..NetworkSpec::default()
                });
                out.push(f);
            }
            8 => {
                // Every instance of the node gets the new priority, so that the members of a
                // sync group stay consistent (a group with crossed priorities never agrees to
                // move, which is a configuration error, not an engine bug).
                let p = prio(rng);
                for i in &s.instances {
                    let mut f = FaultSpec::new(at, FaultKind::SetPriority).node(&name);
                    f.priority = Some(p);
                    f.instance = i.name.clone();
                    out.push(f);
                }
            }
            _ => {
                if !s.scripts.is_empty() {
                    let mut f = FaultSpec::new(at, FaultKind::Check).node(&name);
                    f.script = Some("chk".into());
                    f.result = Some(["fail", "timeout", "ok"][rng.below(3) as usize].to_string());
                    out.push(f);
                } else {
                    out.push(FaultSpec::new(at, FaultKind::Crash).node(&name));
                    out.push(FaultSpec::new(later(rng), FaultKind::Restart).node(&name));
                }
            }
        }
    }
    // Sometimes a node's process freezes for a while (a stall), when nothing else is scheduled
    // for that node meanwhile (nothing but a crash reaches a frozen process).
    if rng.chance(0.3) {
        let k = rng.below(nodes.len() as u64) as usize;
        let from = t(rng, 0).0;
        let until = from
            .saturating_add(rng.between(100_000_000, 6_000_000_000))
            .min(heal_at.saturating_sub(1));
        let busy = out.iter().any(|f| {
            f.node.as_deref() == Some(nodes[k].as_str()) && f.at.0 >= from && f.at.0 <= until
        });
        if until > from && !busy {
            let mut f = FaultSpec::new(Dur(from), FaultKind::Stall).node(&nodes[k]);
            f.until = Some(Dur(until));
            out.push(f);
        }
    }
    // The healing: every partition gone, a clean network, every link up, every check passing.
    let heal = Dur(heal_at);
    out.push(FaultSpec::new(heal, FaultKind::Heal));
    let mut clean = FaultSpec::new(heal, FaultKind::Network);
    clean.network = Some(NetworkSpec {
        delay: Some(Dur::micros(100)),
        jitter: Some(Dur::ZERO),
        loss: Some(0.0),
        burst: Some(BurstSpec {
            enter: 0.0,
            leave: 1.0,
            loss: None,
        }),
        duplicate: Some(0.0),
        reorder: Some(0.0),
        reorder_delay: None,
    });
    out.push(clean);
    for (k, n) in nodes.iter().enumerate() {
        for i in &ifaces[k] {
            let mut f = FaultSpec::new(heal, FaultKind::LinkUp).node(n);
            f.iface = Some(i.clone());
            out.push(f);
        }
        if !s.scripts.is_empty() {
            let mut f = FaultSpec::new(heal, FaultKind::Check).node(n);
            f.script = Some("chk".into());
            f.result = Some("ok".into());
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.at);
    let _ = ChecksSpec::default();
    out
}

/// The `lvs` family's schedule: 1 to 8 faults in the first two thirds of the run, mostly real
/// servers going down, hanging, turning slow (inside or past their timeout), flapping or
/// answering a MISC_CHECK with another exit status, and directors crashing, restarting,
/// stopping and starting; at two thirds every real server is up again (exit status 0).
pub(super) fn lvs_faults(rng: &mut SimRng, s: &Scenario, duration: Dur) -> Vec<FaultSpec> {
    let servers: Vec<String> = s
        .nodes
        .first()
        .and_then(|n| n.keepalived_conf.as_deref())
        .and_then(|t| crate::confload::load(t).ok())
        .and_then(|l| l.checkers)
        .map(|c| {
            let mut v: Vec<String> = crate::world::lvs::targets(&c)
                .iter()
                .map(|a| a.to_string())
                .collect();
            v.sort();
            v.dedup();
            v
        })
        .unwrap_or_default();
    let nodes: Vec<String> = s.nodes.iter().map(|n| n.name.clone()).collect();
    let file = s
        .nodes
        .first()
        .and_then(|n| n.keepalived_conf.as_deref())
        .is_some_and(|t| t.contains("FILE_CHECK"));
    let heal_at = duration.0 / 3 * 2;
    let t = |rng: &mut SimRng, lo: u64| Dur(rng.between(lo, heal_at.saturating_sub(1).max(lo)));
    let mut out = Vec::new();
    let server_fault = |at: Dur, server: &str, health: &str| {
        let mut f = FaultSpec::new(at, FaultKind::Server);
        f.server = Some(server.to_string());
        f.health = Some(health.to_string());
        f
    };
    for _ in 0..rng.between(1, 8) {
        let at = t(rng, 0);
        let server = rng.pick(&servers).cloned().unwrap_or_default();
        let node = rng.pick(&nodes).cloned().unwrap_or_default();
        match rng.below(9) {
            0 | 1 => out.push(server_fault(at, &server, "down")),
            2 => out.push(server_fault(at, &server, "hanging")),
            3 => {
                let mut f = server_fault(at, &server, "slow");
                f.delay = Some(Dur::millis(rng.between(1, 50) * 100));
                out.push(f);
            }
            4 => {
                let mut f = server_fault(at, &server, "flapping");
                f.period = Some(Dur::millis(rng.between(3, 30) * 100));
                f.until = Some(t(rng, at.0));
                out.push(f);
            }
            5 => {
                let mut f = server_fault(at, &server, "up");
                f.exit = Some(rng.between(0, 20) as u8);
                out.push(f);
            }
            6 => out.push(server_fault(at, &server, "up")),
            7 => {
                out.push(FaultSpec::new(at, FaultKind::Crash).node(&node));
                if rng.chance(0.8) {
                    out.push(FaultSpec::new(t(rng, at.0), FaultKind::Restart).node(&node));
                }
            }
            _ => {
                out.push(FaultSpec::new(at, FaultKind::Stop).node(&node));
                if rng.chance(0.8) {
                    out.push(FaultSpec::new(t(rng, at.0), FaultKind::Start).node(&node));
                }
            }
        }
    }
    // FILE_CHECK: the track file's value changes now and then on a director.
    if file {
        for _ in 0..rng.between(1, 6) {
            let mut f = FaultSpec::new(t(rng, 0), FaultKind::TrackFile)
                .node(rng.pick(&nodes).map_or("d1", |s| s.as_str()));
            f.file = Some("tf".into());
            f.value = Some(match rng.below(6) {
                0 => 0,
                1 => -1_073_741_824,
                2 => 1_073_741_824,
                _ => rng.between(0, 12) as i64 - 4,
            });
            out.push(f);
        }
    }
    for server in &servers {
        out.push(server_fault(Dur(heal_at), server, "up"));
    }
    if file {
        for n in &nodes {
            let mut f = FaultSpec::new(Dur(heal_at), FaultKind::TrackFile).node(n);
            f.file = Some("tf".into());
            f.value = Some(0);
            out.push(f);
        }
    }
    out.sort_by_key(|f| f.at);
    out
}
