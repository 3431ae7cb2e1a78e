//! The global allocator of the local fuzz builds (feature `fast-alloc`), shared by the
//! `engine` and `config` targets (included by `#[path]`: a file in `fuzz_targets/` would be
//! taken for a target by `.clusterfuzzlite/build.sh`).

/// mimalloc, asked through its plain entry points (`mi_malloc`, `mi_zalloc`, `mi_realloc`)
/// whenever the layout needs no more than a word's alignment, which every mimalloc block has
/// (its size classes are multiples of the word and its pages start 16-byte aligned); the
/// `mimalloc` crate's `MiMalloc` calls `mi_malloc_aligned` for every allocation, whose checks
/// cost about twice the plain fast path: 1.16 G of a 29.6 G-instruction fuzzing workload
/// went to 26 million aligned allocations (FUZZING.md, session 10). Larger alignments still go
/// through the aligned entry points. Same memory, same allocator; only the entry point changes.
pub(crate) struct WordAlignedMiMalloc;

/// The alignment every mimalloc block has.
const WORD: usize = core::mem::size_of::<usize>();

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
