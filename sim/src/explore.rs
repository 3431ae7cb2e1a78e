//! `vigil-sim explore`: placeholder replaced below.

use crate::check::ViolationKind;
use crate::dur::Dur;

/// A family.
pub struct Family {
    /// Name.
    pub name: &'static str,
    /// About.
    pub about: &'static str,
}
/// Families.
pub static FAMILIES: &[Family] = &[];
/// Config.
pub struct Config {
    /// from
    pub from: u64,
    /// count
    pub count: u64,
    /// families
    pub families: Vec<&'static Family>,
    /// duration
    pub duration: Dur,
    /// threads
    pub threads: usize,
}
/// A failure.
pub struct Failure {
    /// f
    pub family: &'static str,
    /// s
    pub seed: u64,
    /// r
    pub report: String,
    /// t
    pub shrunk_toml: String,
    /// n
    pub shrunk_faults: usize,
    /// n
    pub original_faults: usize,
    /// k
    pub kind: ViolationKind,
}
/// Results.
pub struct Results {
    /// r
    pub runs: u64,
    /// e
    pub events: u64,
    /// f
    pub failures: Vec<Failure>,
}
/// Explore.
pub fn explore(_c: &Config) -> Results {
    Results { runs: 0, events: 0, failures: vec![] }
}
