//! Shared helpers for the end-to-end suites.
pub mod fuzzing;
pub mod netns;
