//! Simulator throughput: simulated events per second for clusters of 3, 10 and 50 routers
//! (VRRPv3 at 1 s, one virtual router, 60 s of virtual time, one crash and restart of the
//! master), with the state-level trace the explorer uses. Figures go to BENCHMARKS-sim.md.
#![allow(missing_docs)] // criterion_group! generates `pub fn benches`, which cannot carry a doc comment

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigil_sim::dur::Dur;
use vigil_sim::scenario::{FaultKind, FaultSpec, InstanceSpec, NodeSpec, Scenario};
use vigil_sim::sim::{Options, Sim};

fn cluster(n: usize) -> Scenario {
    Scenario {
        name: format!("bench-{n}"),
        duration: Dur::secs(60),
        instances: vec![InstanceSpec {
            name: Some("VI_1".into()),
            vips: Some(vec!["192.0.2.100/24".into()]),
            ..InstanceSpec::default()
        }],
        nodes: (0..n)
            .map(|k| NodeSpec {
                name: format!("r{}", k + 1),
                priority: Some(u8::try_from(250 - k * 4).unwrap_or(1)),
                ..NodeSpec::default()
            })
            .collect(),
        faults: vec![
            FaultSpec::new(Dur::secs(20), FaultKind::Crash).node("r1"),
            FaultSpec::new(Dur::secs(40), FaultKind::Restart).node("r1"),
        ],
        ..Scenario::default()
    }
}

fn events_per_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim_events");
    g.sample_size(20);
    for n in [3usize, 10, 50] {
        let plan = cluster(n).plan().expect("bench scenario");
        let events = {
            let mut sim = Sim::new(&plan, &Options::quiet(1));
            let out = sim.run();
            assert!(out.violation.is_none(), "{:?}", out.violation);
            out.events
        };
        g.throughput(Throughput::Elements(events));
        // The plan is made once and shared by the runs (as by every run of one scenario); each
        // iteration builds the simulation (nodes, engines, boots) and runs it.
        let plan = std::rc::Rc::new(plan);
        g.bench_with_input(BenchmarkId::from_parameter(n), &plan, |b, plan| {
            b.iter(|| {
                let mut sim = Sim::new_shared(std::rc::Rc::clone(plan), &Options::quiet(1));
                sim.run().events
            })
        });
    }
    g.finish();
}

criterion_group!(benches, events_per_second);
criterion_main!(benches);
