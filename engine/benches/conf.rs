//! Parse time of a generated keepalived.conf with 1,000 VRRP instances (4 interfaces x 250
//! VRIDs, each with two virtual addresses, authentication, tracking and a notify script).
//! `keepalived -t` on the same file takes ~19 ms (measured on an idle machine, docs/ARCHITECTURE.md); BENCHMARKS-conf.md has the
//! comparison from one run.
#![allow(missing_docs)] // criterion_group! generates `pub fn benches`, which cannot carry a doc comment

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use vigil_engine::conf;

/// The generated configuration (also written out by `VIGIL_CONF_BENCH_OUT=FILE` so that
/// keepalived -t can be timed on the same text).
pub fn generate(instances: usize) -> String {
    let mut s = String::from(
        "global_defs {\n    router_id bench\n    vrrp_garp_master_delay 1\n}\n\
         vrrp_script chk {\n    script \"/bin/true\"\n    interval 2\n    weight -10\n}\n",
    );
    for i in 0..instances {
        let ifname = format!("eth{}", i / 250);
        let vrid = i % 250 + 1;
        let (a, b) = (i / 250, i % 250);
        s.push_str(&format!(
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface {ifname}\n    virtual_router_id {vrid}\n    priority {}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass pw{i}\n    }}\n    track_script {{\n        chk\n    }}\n    notify_master \"/usr/local/bin/notify.sh MASTER VI_{i}\"\n    virtual_ipaddress {{\n        10.{a}.{b}.1/24 dev {ifname}\n        10.{a}.{b}.2/24 dev {ifname} label {ifname}:v\n    }}\n}}\n",
            100 + i % 100
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = generate(1000);
    if let Ok(out) = std::env::var("VIGIL_CONF_BENCH_OUT") {
        let _ = std::fs::write(out, &text);
    }
    let cfg = conf::parse_str(&text).expect("generated config parses");
    assert_eq!(cfg.instances.len(), 1000);
    c.bench_function("conf/parse_1000_instances", |b| {
        b.iter(|| conf::parse_str(black_box(&text)).map(|c| c.instances.len()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
