//! `config`: see `vigil_tests::fuzzing::config` (the same body runs on stable in tests/tests/fuzz_replay.rs).
#![no_main]

#[cfg(feature = "fast-alloc")]
#[path = "../word_aligned_mimalloc.rs"]
mod word_aligned_mimalloc;

#[cfg(feature = "fast-alloc")]
#[global_allocator]
static ALLOC: word_aligned_mimalloc::WordAlignedMiMalloc =
    word_aligned_mimalloc::WordAlignedMiMalloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_tests::fuzzing::config(data);
});
