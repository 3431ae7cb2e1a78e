//! `memcpy` and `memmove` for the static musl build on x86-64: one `rep movsb`.
//!
//! musl's own `memcpy` aligns the destination a byte at a time and then copies with `rep
//! movsq`, whose start-up costs tens of cycles on every call. Most of vigild's copies are
//! moves of its own structures (a parsed instance, an address, an engine instance's
//! configuration: tens to hundreds of bytes), and `vigild -t` on 1,000 instances spent 19.5 %
//! of its CPU samples in musl's `memcpy` for 5.9 % of its instructions (38,981 calls, perf and
//! callgrind, 2026-12-05). CPUs with "fast short rep mov" (FSRM, Intel since Ice Lake, AMD
//! since Zen 3) start `rep movsb` in a few cycles for any length, and with ERMS (Intel since
//! Ivy Bridge) it is the fastest long copy; without them it costs what musl's `rep movsq`
//! does. The glibc build keeps glibc's functions, which pick their copy by CPU.
//!
//! Defining the symbols in the program keeps the linker from taking musl's (an archive member
//! is linked only for a symbol still undefined). Both go: musl's `memmove` jumps into its
//! `memcpy`'s object, which would then be linked too and clash. The bodies are `asm!`, so the
//! compiler cannot turn them back into calls to themselves. The tests run them on every
//! x86-64 build (unexported) against `ptr::copy`.

/// Copy `n` bytes from `src` to `dest`, forwards.
///
/// # Safety
/// `src` valid for reading and `dest` for writing `n` bytes; a forward copy is what `memcpy`
/// (no overlap) and `memmove` with `dest` below `src` need.
#[inline(always)]
unsafe fn forwards(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's contract; the System V ABI guarantees the direction flag is clear
    // at a call, so `rep movsb` copies RCX bytes from RSI to RDI upwards.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

/// C's `memcpy`: copy `n` bytes from `src` to `dest` (blocks that do not overlap); returns
/// `dest`.
///
/// # Safety
/// The C standard's contract, which every caller (the compiler's lowering of copies, the
/// standard library, C code) already keeps: `src` valid for reading and `dest` for writing `n`
/// bytes, the two blocks apart.
#[cfg_attr(all(target_env = "musl", not(test)), no_mangle)]
pub(crate) unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the contract above.
    unsafe { forwards(dest, src, n) };
    dest
}

/// C's `memmove`: copy `n` bytes from `src` to `dest`, the blocks may overlap; returns `dest`.
///
/// # Safety
/// `src` valid for reading and `dest` for writing `n` bytes.
#[cfg_attr(all(target_env = "musl", not(test)), no_mangle)]
pub(crate) unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // `dest` below `src`, or past its end: a forward copy reads each byte before it is
        // overwritten.
        // SAFETY: the contract above.
        unsafe { forwards(dest, src, n) };
    } else if n > 0 {
        // `dest` inside the source block above `src`: backwards, from the last byte down, the
        // direction flag set for the copy and cleared again (the ABI's state at any call).
        // SAFETY: the contract above; the last bytes are at offset n - 1 (n > 0).
        unsafe {
            core::arch::asm!(
                "std",
                "rep movsb",
                "cld",
                inout("rcx") n => _,
                inout("rdi") dest.add(n - 1) => _,
                inout("rsi") src.add(n - 1) => _,
                options(nostack)
            );
        }
    }
    dest
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// Both copy what `ptr::copy` copies, for every length, offset and overlap in a
        /// 64-byte buffer (memcpy only where the blocks are apart).
        #[test]
        fn copies_as_ptr_copy(from in 0usize..64, to in 0usize..64, len in 0usize..64) {
            let len = len.min(64 - from.max(to));
            let start: Vec<u8> = (0..64u8).collect();
            let mut want = start.clone();
            let mut got = start.clone();
            // SAFETY: both blocks lie in the 64-byte buffers.
            unsafe {
                std::ptr::copy(want.as_ptr().add(from), want.as_mut_ptr().add(to), len);
                let r = super::memmove(got.as_mut_ptr().add(to), got.as_ptr().add(from), len);
                prop_assert_eq!(r, got.as_mut_ptr().add(to));
            }
            prop_assert_eq!(&got, &want);
            if from + len <= to || to + len <= from {
                let mut got = start.clone();
                // SAFETY: as above, and the blocks are apart.
                unsafe {
                    let r = super::memcpy(got.as_mut_ptr().add(to), got.as_ptr().add(from), len);
                    prop_assert_eq!(r, got.as_mut_ptr().add(to));
                }
                prop_assert_eq!(&got, &want);
            }
        }
    }
}
