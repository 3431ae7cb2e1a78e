//! The scenario library: every file in `sim/scenarios/` runs green (no violation, every
//! expectation holds) and its timeline matches a reviewed snapshot; and runs are deterministic.

use std::path::PathBuf;

use vigil_sim::report;
use vigil_sim::scenario::Scenario;
use vigil_sim::sim::{Options, Sim};

fn library() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("scenario directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn run(text: &str, seed: Option<u64>) -> (Sim, vigil_sim::sim::Outcome, Scenario) {
    let s = Scenario::from_toml(text).unwrap();
    let plan = s.plan().unwrap();
    let mut sim = Sim::new(&plan, &Options::full(seed.unwrap_or(plan.seed)));
    let out = vigil_sim::run_catching(&mut sim);
    (sim, out, s)
}

#[test]
fn library_has_at_least_twenty_scenarios() {
    assert!(library().len() >= 20, "{} scenarios", library().len());
}

#[test]
fn every_scenario_is_green_and_matches_its_snapshot() {
    // A scenario that stops making progress (an engine call that never returns) ends the test
    // binary with the watchdog's report instead of hanging it.
    let slot = std::sync::Arc::new(vigil_sim::watchdog::Slot::default());
    vigil_sim::watchdog::attach(std::sync::Arc::clone(&slot));
    let names: Vec<String> = library().into_iter().map(|(n, _)| n).collect();
    let _dog = vigil_sim::watchdog::Watchdog::start(
        vec![std::sync::Arc::clone(&slot)],
        vigil_sim::watchdog::DEFAULT_LIMIT,
        move |k| {
            format!(
                "scenario {}",
                names.get(k as usize).map_or("?", |n| n.as_str())
            )
        },
    );
    let mut failed = Vec::new();
    for (k, (name, text)) in library().into_iter().enumerate() {
        slot.busy(k as u64);
        let (sim, out, s) = run(&text, None);
        if !out.passed() {
            failed.push(format!(
                "{name}: {:?} {:?}",
                out.violation,
                out.expects
                    .iter()
                    .filter(|e| e.ok != Some(true))
                    .collect::<Vec<_>>()
            ));
        }
        let shown = format!(
            "{}\n{}\n{}",
            report::header(&sim, &s.description),
            report::timeline(&sim),
            report::summary(&sim, &out)
        );
        insta::assert_snapshot!(name.clone(), shown);
    }
    assert!(
        failed.is_empty(),
        "scenarios failed:\n{}",
        failed.join("\n")
    );
}

#[test]
fn same_scenario_and_seed_give_byte_identical_traces() {
    for (name, text) in library() {
        for seed in [1, 42] {
            let render = |sim: &Sim| -> String {
                sim.trace()
                    .iter()
                    .map(|e| e.to_json(sim.names()).to_string() + "\n")
                    .collect()
            };
            let (a, _, _) = run(&text, Some(seed));
            let (b, _, _) = run(&text, Some(seed));
            assert_eq!(render(&a), render(&b), "{name} seed {seed}");
        }
    }
}

#[test]
fn seeds_matter_on_a_lossy_network() {
    let text = library()
        .into_iter()
        .find(|(n, _)| n == "loss-30")
        .unwrap()
        .1;
    let (a, _, _) = run(&text, Some(1));
    let (b, _, _) = run(&text, Some(2));
    assert_ne!(a.trace(), b.trace());
}

#[test]
fn seeds_matter_for_jittery_real_servers() {
    let text = library()
        .into_iter()
        .find(|(n, _)| n == "lvs-flapping")
        .unwrap()
        .1;
    let (a, _, _) = run(&text, Some(1));
    let (b, _, _) = run(&text, Some(2));
    assert_ne!(a.trace(), b.trace());
}

/// `sim/scenarios/refused/`: configurations the engine must refuse. Each file names the error in
/// a `# refused: ...` line; planning it must fail with a message containing that text (the
/// simulator checks every node's configuration with `Engine::new`, as vigild does at start).
#[test]
fn refused_configurations_fail_with_the_named_error() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/refused");
    let mut seen = 0;
    let mut wrong = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("refused scenario directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let want = text
            .lines()
            .find_map(|l| l.strip_prefix("# refused: "))
            .unwrap_or_else(|| panic!("{}: no `# refused: ` line", p.display()))
            .to_string();
        seen += 1;
        let got = Scenario::from_toml(&text)
            .map_err(|e| e.to_string())
            .and_then(|s| s.plan().map(|_| ()).map_err(|e| e.to_string()));
        match got {
            Err(e) if e.contains(&want) => {}
            Err(e) => wrong.push(format!("{}: refused, but with `{e}`", p.display())),
            Ok(()) => wrong.push(format!("{}: accepted", p.display())),
        }
    }
    assert!(seen >= 5, "{seen} refused scenarios");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
