//! Hang detection. An engine call that never returns (a timer that does not advance, a loop
//! that never ends) cannot be interrupted from inside the simulator: the run simply stops making
//! progress. A watchdog thread watches each worker's event counter; when a busy worker has not
//! processed an event for the limit (no single event legitimately takes more than
//! milliseconds), it prints what that worker was running, the event index and virtual time it
//! stopped at, and the replay command, and ends the process with [`HANG_EXIT`]: a hang becomes a
//! named, reproducible failure instead of a timeout.

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Exit code of a process stopped by the watchdog (after 3 panic, 4 safety, 5 liveness).
pub const HANG_EXIT: i32 = 6;

/// How long a busy worker may go without processing one event before it counts as hung.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(10);

/// One worker's progress, shared with the watchdog thread.
#[derive(Debug, Default)]
pub struct Slot {
    /// What the worker runs, plus one (0: idle); the meaning is the caller's (a job index).
    job: AtomicU64,
    /// Events processed by the current run.
    events: AtomicU64,
    /// Virtual time of the current run, nanoseconds.
    now: AtomicU64,
}

impl Slot {
    /// The worker starts job `job` (a number its watchdog's `describe` understands).
    pub fn busy(&self, job: u64) {
        self.events.store(0, Ordering::Relaxed);
        self.now.store(0, Ordering::Relaxed);
        self.job.store(job.saturating_add(1), Ordering::Relaxed);
    }

    /// The worker finished its job.
    pub fn idle(&self) {
        self.job.store(0, Ordering::Relaxed);
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Slot>>> = const { RefCell::new(None) };
}

/// Make `slot` receive the progress of the simulations this thread runs.
pub fn attach(slot: Arc<Slot>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(slot));
}

/// Stop reporting this thread's progress.
pub fn detach() {
    CURRENT.with(|c| *c.borrow_mut() = None);
}

/// Called by the run loop as it starts each event: its index (from 1) and virtual time `now`.
pub(crate) fn beat(events: u64, now: u64) {
    CURRENT.with(|c| {
        if let Some(s) = c.borrow().as_ref() {
            s.events.store(events, Ordering::Relaxed);
            s.now.store(now, Ordering::Relaxed);
        }
    });
}

/// The watchdog thread; stopped (and joined) when dropped.
#[derive(Debug)]
pub struct Watchdog {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Watch `slots`; a busy slot without a new event for `limit` ends the process with
    /// [`HANG_EXIT`] after printing `describe(job)` (what was running and how to replay it).
    pub fn start(
        slots: Vec<Arc<Slot>>,
        limit: Duration,
        describe: impl Fn(u64) -> String + Send + 'static,
    ) -> Watchdog {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            // Per slot: (job, events) last seen, and since when.
            let mut seen: Vec<(u64, u64, Instant)> =
                slots.iter().map(|_| (0, 0, Instant::now())).collect();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                for (slot, last) in slots.iter().zip(seen.iter_mut()) {
                    let job = slot.job.load(Ordering::Relaxed);
                    let events = slot.events.load(Ordering::Relaxed);
                    if job == 0 || (job, events) != (last.0, last.1) {
                        *last = (job, events, Instant::now());
                        continue;
                    }
                    if last.2.elapsed() >= limit {
                        let now = slot.now.load(Ordering::Relaxed);
                        // Straight to the process's stderr: a test harness captures
                        // `eprintln!` of its threads, and the process ends right after.
                        let _ = writeln!(
                            std::io::stderr(),
                            "HANG: no event processed for {:.0?} at event {} (virtual time {}): \
                             an engine call did not return\n{}",
                            limit,
                            events,
                            crate::dur::fmt_time(now),
                            describe(job - 1)
                        );
                        std::process::exit(HANG_EXIT);
                    }
                }
            }
        });
        Watchdog {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_published_only_to_an_attached_slot() {
        let slot = Arc::new(Slot::default());
        beat(5, 7); // nothing attached: no effect, no panic
        attach(Arc::clone(&slot));
        slot.busy(3);
        beat(5, 7);
        assert_eq!(slot.job.load(Ordering::Relaxed), 4);
        assert_eq!(slot.events.load(Ordering::Relaxed), 5);
        assert_eq!(slot.now.load(Ordering::Relaxed), 7);
        detach();
        beat(9, 9);
        assert_eq!(slot.events.load(Ordering::Relaxed), 5);
        slot.idle();
        assert_eq!(slot.job.load(Ordering::Relaxed), 0);
    }
}
