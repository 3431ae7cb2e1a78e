//! `engine`: see `vigil_tests::fuzzing::engine` (the same body runs on stable in tests/tests/fuzz_replay.rs).
#![no_main]

#[cfg(feature = "fast-alloc")]
#[global_allocator]
static ALLOC: WordAlignedMiMalloc = WordAlignedMiMalloc;

/// mimalloc, asked through its plain entry points (`mi_malloc`, `mi_zalloc`, `mi_realloc`)
/// whenever the layout needs no more than a word's alignment, which every mimalloc block has
/// (its size classes are multiples of the word and its pages start 16-byte aligned); the
/// `mimalloc` crate's `MiMalloc` calls `mi_malloc_aligned` for every allocation, whose checks
/// cost about twice the plain fast path: 1.16 G of a 29.6 G-instruction fuzzing workload
/// went to 26 million aligned allocations (FUZZING.md, session 10). Larger alignments still go
/// through the aligned entry points. Same memory, same allocator; only the entry point changes.
#[cfg(feature = "fast-alloc")]
struct WordAlignedMiMalloc;

/// The alignment every mimalloc block has.
#[cfg(feature = "fast-alloc")]
const WORD: usize = core::mem::size_of::<usize>();

#[cfg(feature = "fast-alloc")]
#[allow(unsafe_code)]
// SAFETY: each method hands the layout to mimalloc's function for it: the plain ones only when
// `layout.align() <= WORD`, which their blocks satisfy, the aligned ones otherwise (what
// `mimalloc::MiMalloc` does for every layout); `mi_free` frees blocks of either kind.
unsafe impl core::alloc::GlobalAlloc for WordAlignedMiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= WORD {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= WORD {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: see the impl.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(
        &self,
        ptr: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        if layout.align() <= WORD {
            // SAFETY: see the impl.
            unsafe { libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: see the impl.
            unsafe {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

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
