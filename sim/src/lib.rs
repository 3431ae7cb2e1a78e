//! # vigil-sim: a deterministic simulator for the Vigil VRRP engine
//!
//! N routers, each running an unmodified [`vigil_engine::Engine`], over a virtual clock
//! (nanoseconds) and modelled L2 segments: per-receiver delay and jitter, random and bursty loss,
//! duplication, reordering, one-way and two-way partitions, link loss, crashes, restarts,
//! graceful stops and clock drift. One `u64` seed drives every random draw (ChaCha8), and the
//! event queue breaks ties by (time, class, sequence number), so the same scenario and seed give
//! byte-identical traces.
//!
//! Invariants ([`checks`]) run after every engine call (safety) and once the network heals
//! (liveness); a violation stops the run with the seed, the event index, the trace tail and a
//! replay command. [`explore`] runs random fault schedules over many seeds in parallel and
//! shrinks failures.
//!
//! ```
//! use vigil_sim::{scenario::Scenario, sim::{Options, Sim}};
//! let s = Scenario::from_toml(vigil_sim::DEMO).unwrap();
//! let plan = s.plan().unwrap();
//! let mut sim = Sim::new(&plan, &Options::quiet(1));
//! let out = sim.run();
//! assert!(out.passed());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checks;
pub mod confload;
pub mod contract;
pub mod decode;
pub mod driver;
pub mod dur;
pub mod explore;
pub mod oracle;
pub mod output;
mod queue;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod watchdog;
pub(crate) mod world;

pub use output::{frames, report, svg, trace};

/// The built-in demo (README command 1): three routers elect, the master crashes, the next
/// takes over after exactly Master_Down_Interval, the old master returns and preempts.
pub const DEMO: &str = include_str!("../scenarios/demo.toml");

/// Run a plan to completion, turning a panic (in the engine or the simulator) into a
/// [`checks::ViolationKind::Panic`] violation of the outcome.
pub fn run_catching(sim: &mut sim::Sim) -> sim::Outcome {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run()));
    match r {
        Ok(o) => o,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic with a non-text payload".into());
            let v = checks::Violation {
                kind: checks::ViolationKind::Panic,
                rule: "panic",
                detail: msg,
                at: sim.now(),
                event: sim.events(),
                node: None,
            };
            sim::Outcome {
                violation: Some(v),
                expects: Vec::new(),
                events: sim.events(),
                end: sim.now(),
            }
        }
    }
}
