//! Property test: a few hundred random fault schedules per CI run, over every scenario family of
//! `vigil-sim explore`; every run must keep every safety and liveness invariant. A failure prints
//! the shrunk reproduction and its replay command. The health-checker family (`lvs`) runs a few
//! hundred more seeds of its own: its runs are short (a few hundred events).

use vigil_sim::dur::Dur;
use vigil_sim::explore::{explore, Config, FAMILIES};

#[test]
fn random_fault_schedules_keep_every_invariant() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cfg = Config {
        from: 0,
        count: 50,
        families: FAMILIES.iter().collect(),
        duration: Dur::secs(60),
        threads,
    };
    let res = explore(&cfg);
    assert_eq!(res.runs, 50 * FAMILIES.len() as u64);
    let reports: Vec<String> = res.failures.iter().map(|f| f.report.clone()).collect();
    assert!(
        res.failures.is_empty(),
        "{} failure(s):\n{}",
        res.failures.len(),
        reports.join("\n")
    );
}

#[test]
fn health_checker_schedules_keep_every_invariant() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lvs = FAMILIES
        .iter()
        .find(|f| f.name == "lvs")
        .expect("the lvs family");
    let cfg = Config {
        from: 100_000,
        count: 300,
        families: vec![lvs],
        duration: Dur::secs(60),
        threads,
    };
    let res = explore(&cfg);
    assert_eq!(res.runs, 300);
    let reports: Vec<String> = res.failures.iter().map(|f| f.report.clone()).collect();
    assert!(
        res.failures.is_empty(),
        "{} failure(s):\n{}",
        res.failures.len(),
        reports.join("\n")
    );
}
