//! Durations and instants as scenario files write them: `"1s"`, `"3.609375s"`, `"500ms"`, `"250us"`.
//!
//! Virtual time in the simulator is an integer count of nanoseconds, like the engine's
//! [`vigil_engine::Instant`], so a scenario can name any instant exactly.

use core::fmt;
use core::str::FromStr;
use core::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration (or an instant since the simulation's start) in nanoseconds, written in scenario
/// files as a number with a unit: `ns`, `us`, `ms`, `s` or `m` (`"1.5s"`, `"10ms"`, `"0"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub u64);

impl Dur {
    /// Zero.
    pub const ZERO: Dur = Dur(0);

    /// `n` seconds.
    pub const fn secs(n: u64) -> Dur {
        Dur(n.saturating_mul(1_000_000_000))
    }

    /// `n` milliseconds.
    pub const fn millis(n: u64) -> Dur {
        Dur(n.saturating_mul(1_000_000))
    }

    /// `n` microseconds.
    pub const fn micros(n: u64) -> Dur {
        Dur(n.saturating_mul(1_000))
    }

    /// Nanoseconds.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// As a standard duration.
    pub const fn to_std(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// From a standard duration (saturating).
    pub fn from_std(d: Duration) -> Dur {
        Dur(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurError(String);

impl fmt::Display for DurError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad duration {:?}: write a number and a unit (ns, us, ms, s, m), e.g. \"1.5s\"",
            self.0
        )
    }
}

impl std::error::Error for DurError {}

impl FromStr for Dur {
    type Err = DurError;

    fn from_str(s: &str) -> Result<Dur, DurError> {
        let err = || DurError(s.to_string());
        let t = s.trim();
        if t == "0" {
            return Ok(Dur::ZERO);
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let scale: u64 = match unit.trim() {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            _ => return Err(err()),
        };
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(err());
        }
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| err())?
        };
        let mut total = int.checked_mul(scale).ok_or_else(err)?;
        // The fraction, digit by digit, exact down to the nanosecond.
        let mut place = scale;
        for c in frac.chars() {
            let d = u64::from(c.to_digit(10).ok_or_else(err)?);
            place /= 10;
            if place == 0 {
                if d != 0 {
                    return Err(err()); // finer than a nanosecond
                }
                continue;
            }
            total = total.checked_add(d * place).ok_or_else(err)?;
        }
        Ok(Dur(total))
    }
}

impl fmt::Display for Dur {
    /// The shortest exact form: `3s`, `500ms`, `3.609375s`, `36.09375ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n == 0 {
            return f.write_str("0s");
        }
        let (unit, scale) = if n >= 1_000_000_000 {
            ("s", 1_000_000_000)
        } else if n >= 1_000_000 {
            ("ms", 1_000_000)
        } else if n >= 1_000 {
            ("us", 1_000)
        } else {
            ("ns", 1)
        };
        let int = n / scale;
        let frac = n % scale;
        if frac == 0 {
            return write!(f, "{int}{unit}");
        }
        let width = scale.ilog10() as usize;
        let digits = format!("{frac:0width$}");
        write!(f, "{int}.{}{unit}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Virtual time for people: seconds with microseconds (`3.609375s`), nanoseconds only when the
/// instant is not a whole microsecond (`0.036093750s`), the engine's own format.
pub fn fmt_time(ns: u64) -> String {
    vigil_engine::Instant::from_nanos(ns).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions_exactly() {
        assert_eq!("1s".parse(), Ok(Dur::secs(1)));
        assert_eq!("3.609375s".parse(), Ok(Dur(3_609_375_000)));
        assert_eq!("36.09375ms".parse(), Ok(Dur(36_093_750)));
        assert_eq!("250us".parse(), Ok(Dur::micros(250)));
        assert_eq!("2m".parse(), Ok(Dur::secs(120)));
        assert_eq!(".5s".parse(), Ok(Dur::millis(500)));
        assert_eq!("0".parse(), Ok(Dur::ZERO));
        for bad in [
            "",
            "1",
            "s",
            "1.2.3s",
            "1x",
            "-1s",
            "0.0000000001s",
            "99999999999999m",
        ] {
            assert!(bad.parse::<Dur>().is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_the_shortest_exact_form_and_round_trips() {
        for (d, s) in [
            (Dur::secs(3), "3s"),
            (Dur::millis(500), "500ms"),
            (Dur(3_609_375_000), "3.609375s"),
            (Dur(36_093_750), "36.09375ms"),
            (Dur(7), "7ns"),
            (Dur::ZERO, "0s"),
        ] {
            assert_eq!(d.to_string(), s);
            assert_eq!(s.parse::<Dur>(), Ok(d));
        }
    }
}
