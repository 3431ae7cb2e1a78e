//! `vigil-sim`: run a scenario (or the built-in demo), explore random fault schedules, decode
//! VRRP captures.
//!
//! Exit codes: 0 everything held; 1 an expectation of the scenario failed; 2 usage or scenario
//! error; 3 a panic (engine or simulator bug); 4 a safety violation; 5 a liveness violation; 6 a
//! hang (an engine call that did not return: no event processed for 10 s, see
//! [`vigil_sim::watchdog`]).

#![forbid(unsafe_code)] // as the library: the simulator has no reason for unsafe

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vigil_sim::dur::Dur;
use vigil_sim::scenario::Scenario;
use vigil_sim::sim::{Options, Sim};
use vigil_sim::{decode, explore, frames, report, svg};

/// Deterministic multi-node simulator for the Vigil VRRP engine. With no command, runs the
/// built-in demo: three routers elect, the master crashes, the next takes over, the old one
/// preempts.
#[derive(Parser, Debug)]
#[command(name = "vigil-sim", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a scenario file and print its timeline.
    Run(RunArgs),
    /// Run the built-in demo scenario.
    Demo(OutArgs),
    /// Run random fault schedules over a range of seeds, in parallel; shrink failures.
    Explore(ExploreArgs),
    /// Decode the VRRP packets of a pcap file: one JSON object per packet.
    Decode {
        /// pcap files (Ethernet or Linux cooked captures).
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The scenario (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    out: OutArgs,
}

#[derive(clap::Args, Debug, Default)]
struct OutArgs {
    /// Seed of every random draw (default: the scenario's, else 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the trace as JSON, one event a line, instead of the timeline.
    #[arg(long)]
    json: bool,
    /// Write the frames (adverts, gratuitous ARP, NA) to a pcap file, virtual timestamps.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Draw each node's state over time, fault windows shaded, to an SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct ExploreArgs {
    /// First seed.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Number of seeds.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Scenario families (default: all). See `--list`.
    #[arg(long = "family")]
    families: Vec<String>,
    /// Virtual time per run (faults in the first two thirds, then the network heals).
    #[arg(long, default_value = "60s")]
    duration: String,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Where to write shrunk reproductions.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// List the families and exit.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.cmd {
        None => run_text(
            "demo",
            vigil_sim::DEMO,
            "vigil-sim demo",
            &OutArgs::default(),
        ),
        Some(Cmd::Demo(out)) => run_text("demo", vigil_sim::DEMO, "vigil-sim demo", &out),
        Some(Cmd::Run(a)) => match std::fs::read_to_string(&a.scenario) {
            Ok(text) => {
                let replay = format!("vigil-sim run {}", a.scenario.display());
                run_text(&a.scenario.display().to_string(), &text, &replay, &a.out)
            }
            Err(e) => {
                eprintln!("vigil-sim: cannot read {}: {e}", a.scenario.display());
                2
            }
        },
        Some(Cmd::Explore(a)) => explore_cmd(&a),
        Some(Cmd::Decode { files }) => decode_cmd(&files),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn run_text(label: &str, text: &str, replay: &str, out: &OutArgs) -> i32 {
    let scenario = match Scenario::from_toml(text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigil-sim: {label}: {e}");
            return 2;
        }
    };
    let plan = match scenario.plan() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil-sim: {label}: {e}");
            return 2;
        }
    };
    let seed = out.seed.unwrap_or(plan.seed);
    let mut opts = Options::full(seed);
    opts.capture = out.pcap.is_some();
    let mut sim = Sim::new(&plan, &opts);
    // A run that stops making progress is an engine call that never returns: name it.
    let slot = std::sync::Arc::new(vigil_sim::watchdog::Slot::default());
    vigil_sim::watchdog::attach(std::sync::Arc::clone(&slot));
    slot.busy(0);
    let what = format!(
        "scenario `{}`, seed {seed}\nreplay: {replay} --seed {seed}",
        plan.name
    );
    let dog = vigil_sim::watchdog::Watchdog::start(
        vec![slot],
        vigil_sim::watchdog::DEFAULT_LIMIT,
        move |_| what.clone(),
    );
    let outcome = vigil_sim::run_catching(&mut sim);
    drop(dog);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if out.json {
        for e in sim.trace() {
            let _ = writeln!(w, "{}", e.to_json(sim.names()));
        }
    } else {
        let _ = write!(w, "{}", report::header(&sim, &scenario.description));
        let _ = writeln!(w);
        let _ = write!(w, "{}", report::timeline(&sim));
        let _ = writeln!(w);
        let _ = write!(w, "{}", report::summary(&sim, &outcome));
    }
    if let Some(path) = &out.pcap {
        let res = std::fs::File::create(path)
            .map_err(|e| e.to_string())
            .and_then(|f| frames::write_pcap(std::io::BufWriter::new(f), sim.captured()));
        match res {
            Ok(()) => eprintln!(
                "vigil-sim: wrote {} frames to {}",
                sim.captured().len(),
                path.display()
            ),
            Err(e) => {
                eprintln!("vigil-sim: cannot write {}: {e}", path.display());
                return 2;
            }
        }
    }
    if let Some(path) = &out.svg {
        let pic = svg::render(&sim, outcome.end);
        if let Err(e) = std::fs::write(path, pic) {
            eprintln!("vigil-sim: cannot write {}: {e}", path.display());
            return 2;
        }
        eprintln!("vigil-sim: wrote {}", path.display());
    }
    if let Some(v) = &outcome.violation {
        let cmd = format!("{replay} --seed {seed}");
        eprint!("{}", report::violation_report(&sim, v, &cmd));
        return v.kind.exit_code();
    }
    if outcome.expects.iter().any(|e| e.ok != Some(true)) {
        eprintln!("vigil-sim: an expectation failed; replay: {replay} --seed {seed}");
        return 1;
    }
    0
}

fn explore_cmd(a: &ExploreArgs) -> i32 {
    if a.list {
        for f in explore::FAMILIES {
            println!("{:<12} {}", f.name, f.about);
        }
        return 0;
    }
    let duration: Dur = match a.duration.parse() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("vigil-sim: --duration: {e}");
            return 2;
        }
    };
    let families: Vec<&'static explore::Family> = if a.families.is_empty() {
        explore::FAMILIES.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &a.families {
            match explore::FAMILIES.iter().find(|f| f.name == name) {
                Some(f) => v.push(f),
                None => {
                    eprintln!("vigil-sim: no family {name}; see `vigil-sim explore --list`");
                    return 2;
                }
            }
        }
        v
    };
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let cfg = explore::Config {
        from: a.from,
        count: a.count,
        families,
        duration,
        threads,
    };
    let started = std::time::Instant::now();
    let res = explore::explore(&cfg);
    let wall = started.elapsed();
    println!(
        "explored {} runs ({} seeds x {} families, {} virtual each) on {} threads in {:.2}s: \
         {} events, {} failure(s)",
        res.runs,
        a.count,
        cfg.families.len(),
        duration,
        threads,
        wall.as_secs_f64(),
        res.events,
        res.failures.len()
    );
    let mut code = 0;
    for f in &res.failures {
        println!();
        print!("{}", f.report);
        let path = a
            .out_dir
            .join(format!("vigil-sim-failure-{}-{}.toml", f.family, f.seed));
        match std::fs::write(&path, &f.shrunk_toml) {
            Ok(()) => println!(
                "shrunk to {} fault(s) from {}: {}\nreplay the shrunk run: vigil-sim run {} --seed {}",
                f.shrunk_faults,
                f.original_faults,
                path.display(),
                path.display(),
                f.seed
            ),
            Err(e) => println!("cannot write {}: {e}", path.display()),
        }
        if code == 0 {
            code = f.kind.exit_code();
        }
    }
    code
}

fn decode_cmd(files: &[PathBuf]) -> i32 {
    if files.is_empty() {
        eprintln!("vigil-sim decode: give one or more pcap files");
        return 2;
    }
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let mut code = 0;
    for f in files {
        match std::fs::read(f) {
            Ok(bytes) => match decode::decode_pcap(&bytes) {
                Ok(objs) => {
                    for o in objs {
                        let _ = writeln!(w, "{o}");
                    }
                }
                Err(e) => {
                    eprintln!("vigil-sim decode: {}: {e}", f.display());
                    code = 2;
                }
            },
            Err(e) => {
                eprintln!("vigil-sim decode: cannot read {}: {e}", f.display());
                code = 2;
            }
        }
    }
    code
}
