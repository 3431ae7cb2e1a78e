//! A short exploration inside the simulator's own test suite (the mutation-testing oracle runs
//! it together with the scenario library): 40 seeds of every family, 30 s of virtual time each
//! (about a second in a debug build).

use vigil_sim::dur::Dur;
use vigil_sim::explore::{explore, Config, FAMILIES};

#[test]
fn a_short_exploration_finds_nothing() {
    let cfg = Config {
        from: 1_000,
        count: 40,
        families: FAMILIES.iter().collect(),
        duration: Dur::secs(30),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let res = explore(&cfg);
    let reports: Vec<String> = res.failures.iter().map(|f| f.report.clone()).collect();
    assert!(res.failures.is_empty(), "{}", reports.join("\n"));
}
