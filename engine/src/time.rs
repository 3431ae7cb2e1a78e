//! The engine's own clock type.
//!
//! The engine never reads a clock: every call carries `now`. [`Instant`] is an integer count of
//! nanoseconds since an arbitrary epoch chosen by the runner (the Linux runner maps
//! `CLOCK_MONOTONIC` onto it, the simulator runs virtual time from zero). Nanoseconds keep the
//! RFC timer arithmetic exact: Skew_Time for priority 100 at a 10 ms interval is 6.09375 ms, which
//! microseconds would round.

use core::fmt;
use core::time::Duration;

/// A point in time, in nanoseconds since the runner's epoch.
///
/// Ordering and arithmetic are plain integer operations, so the same inputs always produce the same
/// schedule, bit for bit (the simulator depends on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The runner's epoch (time zero).
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant (about 584 years after the epoch); used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `nanos` nanoseconds after the epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Instant(nanos)
    }

    /// An instant `micros` microseconds after the epoch (saturating).
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros.saturating_mul(1_000))
    }

    /// An instant `millis` milliseconds after the epoch (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_nanos(d)))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration_nanos(d)))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl fmt::Display for Instant {
    /// Seconds with microsecond precision, e.g. `3.609375s`: the form used in every trace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let nanos = self.0 % 1_000_000_000;
        // Through `pad`, so that traces can align times with `{:>14}`.
        if nanos.is_multiple_of(1_000) {
            f.pad(&format!("{secs}.{:06}s", nanos / 1_000))
        } else {
            f.pad(&format!("{secs}.{nanos:09}s"))
        }
    }
}

/// A `Duration` as whole nanoseconds, saturating at `u64::MAX`.
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keeps_micro_and_nano_precision() {
        assert_eq!(Instant::from_micros(3_609_375).to_string(), "3.609375s");
        assert_eq!(Instant::from_nanos(36_093_750).to_string(), "0.036093750s");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(
            Instant::ZERO.saturating_sub(Duration::from_secs(1)),
            Instant::ZERO
        );
        assert_eq!(
            Instant::from_millis(5).saturating_duration_since(Instant::from_millis(7)),
            Duration::ZERO
        );
    }
}
