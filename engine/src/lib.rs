//! Vigil's VRRP engine (placeholder while the foundation lands).
#![forbid(unsafe_code)]
pub mod conf;
pub mod time;
pub mod wire;
