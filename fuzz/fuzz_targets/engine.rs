//! `engine`: see `vigil_tests::fuzzing::engine` (the same body runs on stable in tests/tests/fuzz_replay.rs).
#![no_main]

#[cfg(feature = "fast-alloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_tests::fuzzing::engine(data);
});
