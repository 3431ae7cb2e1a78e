//! The simulation, by its former path: [`crate::driver`] runs it, [`crate::world`] is what it
//! runs. Kept so that `vigil_sim::sim::{Options, Sim}` keeps working.

pub use crate::driver::{ExpectResult, Options, Outcome, Phase, Sim};
pub use crate::world::network::describe_model;
