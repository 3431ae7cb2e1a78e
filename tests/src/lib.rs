//! Shared helpers for the end-to-end suites.
pub mod check_runs;
pub mod fuzzing;
pub mod http_lab;
#[allow(unsafe_code)] // unshare(2) / setns(2) into the test namespaces
pub mod netns;
