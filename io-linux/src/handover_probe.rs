//! Nanosecond stamps of the step-down path (issue 18, BENCHMARKS-daemon.md "tenth session"):
//! from a higher priority's advert arriving to the RTM_DELADDR `sendto`, per stage, as the
//! daemon itself sees it. Compiled in only with the `handover-probe` feature (a diagnostic
//! build for bench/preempt.py); without it every function here is empty and inlined away.
//!
//! With the feature, each address removal appends one line to the process's own file,
//! `vigild-probe.<pid>.log` in the directory `$VIGILD_PROBE_DIR` names (bench/handover_probe.py
//! sets it to a fresh directory per bench run), else in `/tmp`: two probe daemons never write
//! into one file. The line is `pid arrival woke recv_in recv_out decided act send sent`,
//! nanoseconds after the advert's kernel receive stamp, written after the removal's
//! acknowledgement: outside the window it measures.

/// A point of the path.
#[derive(Clone, Copy, Debug)]
pub enum Stage {
    /// The advert's kernel receive timestamp (`SO_TIMESTAMPNS`, on the monotonic clock).
    Arrival,
    /// `epoll_wait` returned.
    Woke,
    /// About to call `recvmmsg`.
    RecvIn,
    /// `recvmmsg` returned.
    RecvOut,
    /// The engine has handled the advert (its decision queued as actions).
    Decided,
    /// The runner starts carrying out the address removal.
    Act,
    /// About to call the RTM_DELADDR `sendto`.
    Send,
    /// The `sendto` returned (the kernel has removed the address).
    Sent,
}

#[cfg(feature = "handover-probe")]
mod imp {
    use super::Stage;
    use std::sync::atomic::{AtomicU64, Ordering};

    static STAMPS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

    /// This process's file (see the module's comment), chosen at the first removal.
    fn path() -> &'static std::path::Path {
        static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
        PATH.get_or_init(|| {
            let dir = std::env::var_os("VIGILD_PROBE_DIR").unwrap_or_else(|| "/tmp".into());
            std::path::Path::new(&dir).join(format!("vigild-probe.{}.log", std::process::id()))
        })
    }

    pub(super) fn mark_at(s: Stage, nanos: u64) {
        STAMPS[s as usize].store(nanos, Ordering::Relaxed);
    }

    pub(super) fn mark(s: Stage) {
        mark_at(s, crate::sys::now().as_nanos());
    }

    pub(super) fn report() {
        use std::io::Write;
        let t: Vec<u64> = STAMPS
            .iter()
            .map(|a| a.swap(0, Ordering::Relaxed))
            .collect();
        let base = t[Stage::Arrival as usize];
        let rel: Vec<String> = t
            .iter()
            .map(|&x| {
                if x == 0 || base == 0 {
                    "-".into()
                } else {
                    (x as i128 - base as i128).to_string()
                }
            })
            .collect();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path())
        {
            let _ = writeln!(f, "{} {}", std::process::id(), rel.join(" "));
        }
    }
}

/// Stamp stage `s` now.
#[inline(always)]
pub fn mark(s: Stage) {
    #[cfg(feature = "handover-probe")]
    imp::mark(s);
    #[cfg(not(feature = "handover-probe"))]
    let _ = s;
}

/// Stamp stage `s` at `nanos` (a [`vigil_engine::Instant`]'s nanoseconds).
#[inline(always)]
pub fn mark_at(s: Stage, nanos: u64) {
    #[cfg(feature = "handover-probe")]
    imp::mark_at(s, nanos);
    #[cfg(not(feature = "handover-probe"))]
    let _ = (s, nanos);
}

/// Write the stamps of the removal just carried out, and clear them.
#[inline(always)]
pub fn report() {
    #[cfg(feature = "handover-probe")]
    imp::report();
}
