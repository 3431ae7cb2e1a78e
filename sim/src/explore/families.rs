//! The scenario families: small clusters with random priorities, one builder each.

use crate::dur::Dur;
use crate::rng::SimRng;
use crate::scenario::{
    IfaceSpec, InstanceSpec, NodeSpec, Scenario, ScriptSpec, SegmentSpec, SyncGroupSpec, TrackSpec,
};

pub(super) fn prio(rng: &mut SimRng) -> u8 {
    // Multiples of 10 make ties likely enough to exercise the address tie-break.
    (rng.between(1, 25) * 10) as u8
}

pub(super) fn node(name: &str, priority: u8) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        priority: Some(priority),
        ..NodeSpec::default()
    }
}

pub(super) fn vi(name: &str, vrid: u8, vips: &[&str]) -> InstanceSpec {
    InstanceSpec {
        name: Some(name.into()),
        vrid: Some(vrid),
        vips: Some(vips.iter().map(|s| s.to_string()).collect()),
        ..InstanceSpec::default()
    }
}

pub(super) fn cluster(rng: &mut SimRng, n: usize, template: InstanceSpec) -> Scenario {
    let nodes = (0..n)
        .map(|k| node(&format!("r{}", k + 1), prio(rng)))
        .collect();
    Scenario {
        instances: vec![template],
        nodes,
        ..Scenario::default()
    }
}

pub(super) fn basic3(rng: &mut SimRng) -> Scenario {
    cluster(rng, 3, vi("VI_1", 51, &["192.0.2.100/24"]))
}

pub(super) fn v2(rng: &mut SimRng) -> Scenario {
    let mut t = vi("VI_1", 51, &["192.0.2.100/24"]);
    t.version = Some(2);
    t.auth_pass = Some("secret1".into());
    cluster(rng, 3, t)
}

pub(super) fn ipv6(rng: &mut SimRng) -> Scenario {
    cluster(rng, 3, vi("VI_6", 61, &["2001:db8::100"]))
}

pub(super) fn five(rng: &mut SimRng) -> Scenario {
    let mut s = cluster(rng, 5, vi("VI_1", 51, &["192.0.2.100/24"]));
    s.instances.push(vi("VI_2", 52, &["192.0.2.200/24"]));
    for n in s.nodes.iter_mut() {
        let p = n.priority.unwrap_or(100);
        n.instances.push(InstanceSpec {
            name: Some("VI_2".into()),
            priority: Some(255u8.saturating_sub(p).clamp(1, 254)),
            ..InstanceSpec::default()
        });
    }
    s
}

pub(super) fn preempt_modes(rng: &mut SimRng) -> Scenario {
    let mut s = basic3(rng);
    for n in s.nodes.iter_mut() {
        let mut o = InstanceSpec {
            name: Some("VI_1".into()),
            ..InstanceSpec::default()
        };
        if rng.chance(0.4) {
            o.preempt = Some(false);
        } else if rng.chance(0.5) {
            o.preempt_delay = Some(Dur::millis(rng.between(1, 50) * 100));
        }
        n.instances.push(o);
    }
    s
}

pub(super) fn fast(rng: &mut SimRng) -> Scenario {
    let mut t = vi("VI_1", 51, &["192.0.2.100/24"]);
    t.advert_interval = Some(Dur::millis(10 * rng.between(1, 10)));
    let mut s = cluster(rng, 3, t);
    s.network.delay = Some(Dur::micros(50));
    s
}

pub(super) fn sync(rng: &mut SimRng) -> Scenario {
    let n = rng.between(2, 3) as usize;
    let mut a = vi("VI_1", 51, &["192.0.2.100/24"]);
    a.interface = Some("eth0".into());
    let mut b = vi("VI_2", 52, &["198.51.100.100/24"]);
    b.interface = Some("eth1".into());
    let nodes = (0..n)
        .map(|k| {
            let mut nd = node(&format!("r{}", k + 1), prio(rng));
            nd.interfaces = vec![
                IfaceSpec {
                    name: "eth0".into(),
                    segment: Some("lan".into()),
                    ipv4: Some(std::net::Ipv4Addr::new(192, 0, 2, 11 + k as u8)),
                    ..IfaceSpec::default()
                },
                IfaceSpec {
                    name: "eth1".into(),
                    segment: Some("wan".into()),
                    ipv4: Some(std::net::Ipv4Addr::new(198, 51, 100, 11 + k as u8)),
                    ..IfaceSpec::default()
                },
            ];
            nd
        })
        .collect();
    Scenario {
        segments: vec![
            SegmentSpec {
                name: "lan".into(),
                ..SegmentSpec::default()
            },
            SegmentSpec {
                name: "wan".into(),
                ..SegmentSpec::default()
            },
        ],
        instances: vec![a, b],
        sync_groups: vec![SyncGroupSpec {
            name: "G".into(),
            members: vec!["VI_1".into(), "VI_2".into()],
            tracking_weight: false,
        }],
        nodes,
        ..Scenario::default()
    }
}

pub(super) fn track(rng: &mut SimRng) -> Scenario {
    let mut t = vi("VI_1", 51, &["192.0.2.100/24"]);
    let weight = if rng.chance(0.3) {
        0
    } else {
        -(rng.between(1, 20) as i32 * 10)
    };
    t.track = Some(vec![TrackSpec {
        script: Some("chk".into()),
        weight: Some(weight),
        ..TrackSpec::default()
    }]);
    let mut s = cluster(rng, 3, t);
    s.scripts = vec![ScriptSpec {
        name: "chk".into(),
        interval: Some(Dur::secs(1)),
        rise: Some(rng.between(1, 3) as u32),
        fall: Some(rng.between(1, 3) as u32),
        ..ScriptSpec::default()
    }];
    s
}

// ----- schedules ------------------------------------------------------------------------------

/// One or two directors (the same keepalived.conf, optionally with VRRP), one or two virtual
/// servers of one to four real servers each, random checker settings: TCP_CHECK, HTTP_GET,
/// MISC_CHECK (with or without `misc_dynamic`), UDP_CHECK, PING_CHECK or DNS_CHECK, sometimes two
/// checkers on one real server; random `retry`, `delay_before_retry`, `delay_loop`, `warmup`,
/// timeouts, weights, `inhibit_on_failure`, `alpha`, `omega`, quorum and hysteresis (never more
/// than the total weight, so the quorum can be regained once every server is back), sorry
/// server (with `sorry_server_inhibit`); sometimes a director clock that is off and drifts.
pub(super) fn lvs(rng: &mut SimRng) -> Scenario {
    let mut conf = String::new();
    let vrrp = rng.chance(0.3);
    if vrrp {
        conf.push_str(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority PRIO\n \
             advert_int 1\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n",
        );
    }
    // Sometimes a track_file that FILE_CHECKs follow (values from `track_file` faults).
    let file = rng.chance(0.3);
    if file {
        conf.push_str("track_file tf {\n file /run/vigil/tf\n}\n");
    }
    let vss = rng.between(1, 2);
    for v in 0..vss {
        let port = [80, 443][v as usize];
        let delay_loop = rng.between(1, 5);
        let reals = rng.between(1, 4);
        let weights: Vec<u64> = (0..reals).map(|_| rng.between(1, 5)).collect();
        let total: u64 = weights.iter().sum();
        let hysteresis = rng.between(0, 2).min(total.saturating_sub(1));
        let quorum = rng.between(1, total - hysteresis);
        conf.push_str(&format!(
            "virtual_server 192.0.2.100 {port} {{\n delay_loop {delay_loop}\n lb_algo rr\n \
             lb_kind NAT\n protocol {}\n quorum {quorum}\n hysteresis {hysteresis}\n \
             quorum_up \"/usr/local/bin/up {v}\"\n quorum_down \"/usr/local/bin/down {v}\"\n",
            if rng.chance(0.2) { "UDP" } else { "TCP" }
        ));
        // With FILE_CHECK too: its `alpha` is cleared, as keepalived's (the engine's conf
        // resolves it; this family found that it was not).
        let alpha = rng.chance(0.3);
        if alpha {
            conf.push_str(" alpha\n");
        }
        if rng.chance(0.3) {
            conf.push_str(" omega\n");
        }
        if rng.chance(0.5) {
            conf.push_str(&format!(" sorry_server 203.0.113.99 {port}\n"));
            if rng.chance(0.3) {
                conf.push_str(" sorry_server_inhibit\n");
            }
        }
        for (r, w) in weights.iter().enumerate() {
            conf.push_str(&format!(
                " real_server 198.51.100.{} {port} {{\n  weight {w}\n",
                21 + r
            ));
            if rng.chance(0.3) {
                conf.push_str("  inhibit_on_failure\n");
            }
            let checkers = if rng.chance(0.2) { 2 } else { 1 };
            for _ in 0..checkers {
                let timing = format!(
                    "   retry {}\n   delay_before_retry {}\n{}",
                    rng.between(0, 3),
                    Dur::millis(rng.between(1, 20) * 100).to_std().as_secs_f64(),
                    if rng.chance(0.5) {
                        format!("   warmup {}\n", rng.between(0, delay_loop))
                    } else {
                        String::new()
                    }
                );
                let timeout = Dur::millis(rng.between(2, 40) * 100).to_std().as_secs_f64();
                let kinds = if file { 7 } else { 6 };
                let block = match rng.below(kinds) {
                    6 => format!(
                        "  FILE_CHECK {{\n   track_file tf\n   weight {}{}\n  }}\n",
                        rng.between(0, 6) as i64 - 3,
                        if rng.chance(0.3) { " reverse" } else { "" }
                    ),
                    0 => format!("  TCP_CHECK {{\n   connect_timeout {timeout}\n{timing}  }}\n"),
                    1 => format!(
                        "  HTTP_GET {{\n   url {{\n    path /health\n    status_code 200\n   }}\n   \
                         connect_timeout {timeout}\n{timing}  }}\n"
                    ),
                    2 => format!(
                        "  MISC_CHECK {{\n   misc_path \"/usr/local/bin/check {r}\"\n   \
                         misc_timeout {}\n{}{timing}  }}\n",
                        rng.between(1, 4),
                        if rng.chance(0.5) { "   misc_dynamic\n" } else { "" }
                    ),
                    3 => format!("  UDP_CHECK {{\n   connect_timeout {timeout}\n{timing}  }}\n"),
                    4 => format!("  PING_CHECK {{\n   connect_timeout {timeout}\n{timing}  }}\n"),
                    _ => format!(
                        "  DNS_CHECK {{\n   type A\n   name example.org\n   connect_timeout \
                         {timeout}\n{timing}  }}\n"
                    ),
                };
                conf.push_str(&block);
            }
            conf.push_str(" }\n");
        }
        conf.push_str("}\n");
    }
    let directors = rng.between(1, 2);
    let nodes = (0..directors)
        .map(|k| NodeSpec {
            name: format!("d{}", k + 1),
            keepalived_conf: Some(conf.replace("PRIO", &prio(rng).to_string())),
            // Sometimes a director's clock is off and drifts: its schedule is on its own clock.
            clock_offset: rng.chance(0.3).then(|| Dur::millis(rng.between(0, 10_000))),
            drift_ppm: if rng.chance(0.3) {
                rng.between(0, 2_000) as i64 - 1_000
            } else {
                0
            },
            ..NodeSpec::default()
        })
        .collect();
    Scenario {
        nodes,
        servers: crate::scenario::ServersSpec {
            latency: Some(Dur::micros(rng.between(100, 5000))),
            jitter: Some(Dur::micros(rng.between(0, 5000))),
        },
        ..Scenario::default()
    }
}
