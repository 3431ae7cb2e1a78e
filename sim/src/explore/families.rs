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
