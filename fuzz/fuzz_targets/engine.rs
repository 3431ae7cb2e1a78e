//! `engine`: see `vigil_tests::fuzzing::engine` (the same body runs on stable in tests/tests/fuzz_replay.rs).
#![no_main]

#[cfg(feature = "fast-alloc")]
#[path = "../word_aligned_mimalloc.rs"]
mod word_aligned_mimalloc;

#[cfg(feature = "fast-alloc")]
#[global_allocator]
static ALLOC: word_aligned_mimalloc::WordAlignedMiMalloc =
    word_aligned_mimalloc::WordAlignedMiMalloc;

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` of mimalloc 3's `mi_option_t`,
/// which libmimalloc-sys does not name).
#[cfg(feature = "fast-alloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never give freed memory back to the kernel: this target frees and allocates the same few
/// hundred megabytes over and over (a cluster copy per input, the reload targets it keeps), and
/// with mimalloc's default purge delay the kernel zeroed the same huge pages again after every
/// purge: the kernel's `clear_page_erms` was 8 % of a fuzzing run's CPU samples, 32,171 minor
/// page faults in 20,000 runs, 8,490 without purging (FUZZING.md, session 9). Only the memory
/// returned changes, not what the target computes.
#[cfg(feature = "fast-alloc")]
#[allow(unsafe_code)]
fn keep_freed_memory() {
    // SAFETY: `mi_option_set` only stores an option value; any value is allowed (-1: never
    // purge), and it is called before the fuzzer runs an input.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(not(feature = "fast-alloc"))]
fn keep_freed_memory() {}

libfuzzer_sys::fuzz_target!(init: keep_freed_memory(), |data: &[u8]| {
    vigil_tests::fuzzing::engine(data);
});
