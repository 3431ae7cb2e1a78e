//! `--svg`: placeholder replaced below.

/// Render.
pub fn render(_sim: &crate::sim::Sim, _end: u64) -> String {
    String::new()
}
