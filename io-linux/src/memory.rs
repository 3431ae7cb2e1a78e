//! Handing the memory a configuration load freed back to the kernel.
//!
//! vigild's allocator is mimalloc (src/main.rs: it made `vigild -t` on 1,000 instances a
//! quarter cheaper). A load allocates and frees several megabytes (tokens, the statement tree,
//! the conversion's copies); mimalloc keeps freed pages for reuse, which left the running
//! daemon's resident memory larger than with musl's allocator (measured in BENCHMARKS-conf.md).
//! After each load (start and SIGHUP) the daemon asks it to return them.

/// Returns the pages that hold no live allocation to the kernel (mimalloc's
/// `mi_collect(true)`). Harmless when the program's allocator is not mimalloc (the tests): it
/// then tidies mimalloc's own empty heap.
pub fn release_freed() {
    // SAFETY: mi_collect takes no pointer, touches only the allocator's own state and may be
    // called at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
