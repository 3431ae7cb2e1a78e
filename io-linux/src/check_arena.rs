//! The allocator of `vigild -t` alone: a bump arena that the check switches on before it reads
//! the configuration, and that is never given back (the process exits when the check is done).
//!
//! Why: a check of 1,000 instances makes some 100,000 allocations (tokens, the model's strings,
//! the engine's configuration), and musl's allocator, the static build's, cost 7.6 M of its
//! 56 M instructions and most of its system time: it unmaps freed blocks at once, so every
//! block is a fresh page fault (2,762 faults for a 568 KB file). mimalloc fixed both but raised
//! the running daemon's RSS by 1-2 MB, so it was reverted. This arena changes nothing for the
//! daemon: until [`enable`] is called (only `-t` calls it) every call goes straight to the
//! system allocator, at the cost of one load and a branch.
//!
//! Once enabled, an allocation takes the next bytes of one reserved region of address space
//! (`MAP_NORESERVE`: only the pages touched cost memory); freeing does nothing, except that the
//! last block handed out is taken back (temporary strings) and grows in place (the vector that
//! collects every token), and that a large freed block (256 KiB or more: the parser's tokens
//! and statement tree, freed when the model is built) is where the next allocations go while
//! it has room, so the conversion for the engine reuses pages already touched instead of
//! touching new ones. The region asks for transparent huge pages, so the heap a check
//! touches (about 10 MB for 1,000 instances) is a few faults instead of thousands. Blocks from
//! before the switch (clap's) are still freed by the system allocator, and when the region is
//! used up the rest comes from the system allocator too: a check never fails for want of arena.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The global allocator: the system's, or the arena once [`enable`]d.
pub(crate) struct CheckArena;

/// Address space reserved for the arena (not memory: pages are committed when first written).
const RESERVE: usize = 1 << 30;
/// Transparent huge page size on x86-64 (the region is aligned to it).
const HUGE: usize = 2 << 20;

/// Start of the arena; 0 while it is off.
static BASE: AtomicUsize = AtomicUsize::new(0);
/// End of the arena.
static END: AtomicUsize = AtomicUsize::new(0);
/// The next free byte.
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// A large freed block that later allocations take first (the tokens and the statement tree of
/// the parser are freed before the conversion for the engine allocates): its next free byte
/// and its end, as offsets from `BASE` (the arena is smaller than 4 GiB), packed in one word
/// so that one compare-and-exchange takes from it or replaces it. 0: none.
static REUSE: AtomicU64 = AtomicU64::new(0);
/// Freed blocks from this size on become the [`REUSE`] region (when larger than what is left
/// of the current one).
const REUSE_MIN: usize = 256 << 10;

/// Switches every later allocation of this process to the arena. Returns `false` (and changes
/// nothing) when the address space cannot be reserved. Call it once, for a process that exits
/// after one piece of work: nothing allocated afterwards is ever returned to the system.
pub(crate) fn enable() -> bool {
    if BASE.load(Ordering::Acquire) != 0 {
        return true;
    }
    // SAFETY: an anonymous private mapping at an address of the kernel's choice; nothing else
    // refers to it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            RESERVE + HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return false;
    }
    let start = (p as usize + HUGE - 1) & !(HUGE - 1);
    // SAFETY: advice on the mapping made above; an error (no THP in this kernel) only means
    // 4 KiB pages.
    unsafe {
        libc::madvise(start as *mut libc::c_void, RESERVE, libc::MADV_HUGEPAGE);
    }
    NEXT.store(start, Ordering::Relaxed);
    END.store(start + RESERVE, Ordering::Relaxed);
    BASE.store(start, Ordering::Release);
    true
}

/// Whether `p` was handed out by the arena.
fn in_arena(p: usize) -> bool {
    let base = BASE.load(Ordering::Acquire);
    base != 0 && p >= base && p < END.load(Ordering::Relaxed)
}

/// The packed [`REUSE`] word of the region `next..end` (offsets from `base`).
fn pack(base: usize, next: usize, end: usize) -> u64 {
    (((next - base) as u64) << 32) | (end - base) as u64
}

/// `size` bytes aligned to `align` from the [`REUSE`] region, when it has room.
fn reuse(base: usize, size: usize, align: usize) -> Option<*mut u8> {
    let mut cur = REUSE.load(Ordering::Acquire);
    loop {
        if cur == 0 {
            return None;
        }
        let next = base + (cur >> 32) as usize;
        let end = base + (cur & 0xffff_ffff) as usize;
        let start = next.checked_add(align - 1)? & !(align - 1);
        let stop = start.checked_add(size)?;
        if stop > end {
            return None;
        }
        match REUSE.compare_exchange_weak(
            cur,
            pack(base, stop, end),
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => return Some(start as *mut u8),
            Err(now) => cur = now,
        }
    }
}

/// Offers the freed block `p..p + size` of the arena as the [`REUSE`] region: taken when it is
/// larger than what is left of the current one.
fn offer(base: usize, p: usize, size: usize) {
    let mut cur = REUSE.load(Ordering::Relaxed);
    loop {
        let left = if cur == 0 {
            0
        } else {
            ((cur & 0xffff_ffff) - (cur >> 32)) as usize
        };
        if size <= left {
            return;
        }
        // Release: the freeing thread's use of the block comes before its next owner's.
        match REUSE.compare_exchange_weak(
            cur,
            pack(base, p, p + size),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => return,
            Err(now) => cur = now,
        }
    }
}

/// `size` bytes aligned to `align` from the arena, or `None` when it is off or used up.
fn bump(size: usize, align: usize) -> Option<*mut u8> {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 {
        return None;
    }
    if let Some(p) = reuse(base, size, align) {
        return Some(p);
    }
    let end = END.load(Ordering::Relaxed);
    let mut cur = NEXT.load(Ordering::Relaxed);
    loop {
        let start = cur.checked_add(align - 1)? & !(align - 1);
        let stop = start.checked_add(size)?;
        if stop > end {
            return None;
        }
        match NEXT.compare_exchange_weak(cur, stop, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Some(start as *mut u8),
            Err(now) => cur = now,
        }
    }
}

// SAFETY: every block handed out is `layout.size()` bytes at `layout.align()`, inside the arena
// (reserved for the process's life, never handed out twice: `NEXT` only moves back over the
// last block when that block is freed or resized) or from the system allocator, and each
// pointer is given back to the allocator it came from (`in_arena`).
unsafe impl GlobalAlloc for CheckArena {
    // Not inlined: whole-program LTO inlined the arena into every allocation site, 740 KB
    // more text (and resident pages) for the daemon, which never uses it.
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            Some(p) => p,
            // SAFETY: the caller's layout, passed on.
            None => unsafe { System.alloc(layout) },
        }
    }

    // The system's `calloc` for the daemon: the default (`alloc` then zeroing) wrote every page
    // of a large zeroed buffer that `calloc` leaves untouched (+288 KB of the daemon's RSS).
    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            Some(p) => {
                // SAFETY: `p` is a fresh block of `layout.size()` bytes (the arena's memory may
                // have been used by a freed last block: zeroed here).
                unsafe { p.write_bytes(0, layout.size()) };
                p
            }
            // SAFETY: the caller's layout, passed on.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    // Not inlined: whole-program LTO inlined the arena into every allocation site, 740 KB
    // more text (and resident pages) for the daemon, which never uses it.
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let p = ptr as usize;
        if in_arena(p) {
            // The last block: take it back (a failed exchange means it is not the last one).
            let last = NEXT
                .compare_exchange(p + layout.size(), p, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
            if !last && layout.size() >= REUSE_MIN {
                offer(BASE.load(Ordering::Relaxed), p, layout.size());
            }
            return;
        }
        // SAFETY: a block of the system allocator, with its layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    // Not inlined: whole-program LTO inlined the arena into every allocation site, 740 KB
    // more text (and resident pages) for the daemon, which never uses it.
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = ptr as usize;
        if !in_arena(p) {
            // SAFETY: a block of the system allocator, with its layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // The last block grows or shrinks in place while the arena has room.
        if let Some(stop) = p.checked_add(new_size) {
            if stop <= END.load(Ordering::Relaxed)
                && NEXT
                    .compare_exchange(
                        p + layout.size(),
                        stop,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                return ptr;
            }
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: `new_size` is non-zero (larger than the old size) and the alignment is the
        // old layout's, which was valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in `alloc`.
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are at least `layout.size()` bytes and distinct (the old one
            // is not freed yet).
            unsafe { std::ptr::copy_nonoverlapping(ptr, q, layout.size()) };
            // SAFETY: the old block, with its layout.
            unsafe { self.dealloc(ptr, layout) };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The arena's rules, on a process-wide arena (the test binary's own allocator is the
    /// system's: this calls the `GlobalAlloc` methods directly).
    #[test]
    fn blocks_are_distinct_aligned_and_the_last_one_grows_in_place() {
        assert!(enable());
        let a = CheckArena;
        unsafe {
            let l8 = Layout::from_size_align(24, 8).unwrap();
            let x = a.alloc(l8);
            let y = a.alloc(Layout::from_size_align(3, 1).unwrap());
            let z = a.alloc(Layout::from_size_align(64, 64).unwrap());
            assert!(in_arena(x as usize) && in_arena(y as usize) && in_arena(z as usize));
            assert_eq!(x as usize % 8, 0);
            assert_eq!(z as usize % 64, 0);
            assert!(y as usize >= x as usize + 24 && z as usize >= y as usize + 3);
            x.write_bytes(0xaa, 24);
            // Not the last block: moved, contents kept.
            let x2 = a.realloc(x, l8, 100);
            assert_ne!(x2, x);
            assert!((0..24).all(|i| *x2.add(i) == 0xaa));
            // The last block now: grows in place.
            let l100 = Layout::from_size_align(100, 8).unwrap();
            let x3 = a.realloc(x2, l100, 10_000);
            assert_eq!(x3, x2);
            // Freed as the last block: the next allocation reuses its place.
            a.dealloc(x3, Layout::from_size_align(10_000, 8).unwrap());
            let w = a.alloc(l8);
            assert_eq!(w, x3);
            // A large block freed while not the last one: the next allocations come from it.
            let big = Layout::from_size_align(REUSE_MIN, 16).unwrap();
            let b = a.alloc(big);
            let after = a.alloc(l8);
            assert!(after as usize >= b as usize + REUSE_MIN);
            a.dealloc(b, big);
            let r1 = a.alloc(Layout::from_size_align(1000, 8).unwrap());
            let r2 = a.alloc(Layout::from_size_align(24, 16).unwrap());
            assert_eq!(r1, b);
            assert!(r2 as usize >= b as usize + 1000 && (r2 as usize).is_multiple_of(16));
            // What does not fit in what is left of it comes from the end of the arena; a freed
            // block with more room than what is left becomes the region.
            let s1 = a.alloc(big);
            let r3 = a.alloc(big);
            assert!(s1 as usize > after as usize && r3 as usize >= s1 as usize + REUSE_MIN);
            a.dealloc(s1, big);
            assert_eq!(a.alloc(l8), s1);
            // A large block freed as the last one goes back to the end of the arena.
            a.dealloc(r3, big);
            assert_eq!(a.alloc(big), r3);
            // A block of the system allocator is still freed and resized by it.
            let s = System.alloc(l8);
            let s2 = a.realloc(s, l8, 4096);
            assert!(!in_arena(s2 as usize));
            a.dealloc(s2, Layout::from_size_align(4096, 8).unwrap());
        }
    }
}
