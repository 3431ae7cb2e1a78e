//! The simulated world: the nodes ([`node`]), the network between them ([`network`]), the
//! runner that carries out each engine's actions ([`runner`]), the fault schedule ([`faults`])
//! and crafted defects ([`inject`]).

pub(crate) mod faults;
pub(crate) mod inject;
pub(crate) mod lvs;
pub(crate) mod network;
pub(crate) mod node;
pub(crate) mod runner;

/// A virtual router: the instances of one (segment, family, VRID).
#[derive(Debug)]
pub(crate) struct Group {
    pub name: String,
    pub segment: usize,
    pub members: Vec<(usize, usize)>,
}
