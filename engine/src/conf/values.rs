//! Typed values of keepalived.conf: integers with ranges, booleans, decimal timers, addresses,
//! prefixes, scopes and script command lines. Every parser returns an error message that says
//! what was expected and what was found; the caller attaches the location.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr};

use super::lexer::{is_space, is_space_char};

/// Parses an integer in `min..=max`.
pub fn int_in(text: &str, min: i64, max: i64, what: &str) -> Result<i64, String> {
    let v = match small_decimal(text) {
        Some(v) => Ok(i64::from(v)),
        None => text.parse::<i64>(),
    };
    match v {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{what}: expected an integer in {min}..={max}, found '{text}'"
        )),
    }
}

/// Parses `on|off|true|false|yes|no`.
pub fn boolean(text: &str, what: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "{what}: expected on|off|true|false|yes|no, found '{text}'"
        )),
    }
}

/// Parses a decimal number of seconds (`2.71828`, `3`) into a duration, exact to the
/// nanosecond, within `min..=max`.
pub fn timer(text: &str, min: Duration, max: Duration, what: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{what}: expected a time in seconds between {} and {}, found '{text}'",
            secs_str(min),
            secs_str(max)
        )
    };
    // A whole number of seconds (most timers): what the general path below gives for it.
    if let Some(secs) = small_decimal(text) {
        let d = Duration::from_secs(u64::from(secs));
        return if d < min || d > max {
            Err(bad())
        } else {
            Ok(d)
        };
    }
    let (int, frac) = match split_at_byte(text, b'.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut nanos: u32 = 0;
    let mut scale = 100_000_000u32;
    for c in frac.chars() {
        let d = c.to_digit(10).unwrap_or(0);
        nanos += d * scale;
        scale /= 10;
        if scale == 0 {
            break;
        }
    }
    if secs > 1_000_000_000 {
        return Err(bad());
    }
    let d = Duration::new(secs, nanos);
    if d < min || d > max {
        return Err(bad());
    }
    Ok(d)
}

/// `text` when it is one to nine ASCII digits (no sign; leading zeros allowed), as a number:
/// the value `parse` gives for it, without its general parser (an integer or a timer of
/// `vigild -t` cost 130-210 instructions; 6,000 of them for 1,000 instances). `None` for any
/// other text, which the caller parses as before.
fn small_decimal(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

/// Formats a duration as keepalived-style decimal seconds (`1`, `0.5`, `40.95`).
pub fn secs_str(d: Duration) -> String {
    let n = d.subsec_nanos();
    if n == 0 {
        return d.as_secs().to_string();
    }
    let s = format!("{}.{:09}", d.as_secs(), n);
    s.trim_end_matches('0').to_string()
}

/// Parses an IPv4 or IPv6 address.
pub fn ip(text: &str, what: &str) -> Result<IpAddr, String> {
    parse_ip(text)
        .ok_or_else(|| format!("{what}: expected an IPv4 or IPv6 address, found '{text}'"))
}

/// `text` as `IpAddr`'s `FromStr` reads it. A dotted quad in its plain form (four numbers of
/// one to three digits, none with a leading zero, each at most 255: every IPv4 address of a
/// real configuration) is read here in one pass; anything else, IPv6 and every text this
/// declines, goes to the standard parser, which decides. The standard parser tries IPv4, then
/// IPv6, through a parser object: about 200 instructions an address, 0.6 M of `vigild -t` on
/// 1,000 instances.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    match plain_ipv4(text.as_bytes()) {
        Some(a) => Some(IpAddr::V4(a)),
        None => text.parse::<IpAddr>().ok(),
    }
}

/// A plain dotted quad (see [`parse_ip`]), `None` for any other text (which may still be an
/// address the standard parser reads: this never says "not an address").
fn plain_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    match quad(b)? {
        (a, []) => Some(a),
        _ => None,
    }
}

/// The plain dotted quad at the start of `b` (see [`parse_ip`]) and the bytes after it.
fn quad(b: &[u8]) -> Option<(Ipv4Addr, &[u8])> {
    let (o0, r) = octet(b)?;
    let (o1, r) = octet(r.strip_prefix(b".")?)?;
    let (o2, r) = octet(r.strip_prefix(b".")?)?;
    let (o3, r) = octet(r.strip_prefix(b".")?)?;
    Some((Ipv4Addr::new(o0, o1, o2, o3), r))
}

/// The number at the start of `b` (one to three digits, no leading zero) and what follows it.
/// A longer run of digits, or a zero followed by a digit, leaves a digit first in what
/// follows, which no caller accepts (it wants a dot or the end).
fn octet(b: &[u8]) -> Option<(u8, &[u8])> {
    let v = |d: u8| u16::from(d - b'0');
    let (n, rest) = match b {
        [a @ b'1'..=b'9', c @ b'0'..=b'9', d @ b'0'..=b'9', rest @ ..] => {
            (v(*a) * 100 + v(*c) * 10 + v(*d), rest)
        }
        [a @ b'1'..=b'9', c @ b'0'..=b'9', rest @ ..] => (v(*a) * 10 + v(*c), rest),
        [a @ b'0'..=b'9', rest @ ..] => (v(*a), rest),
        _ => return None,
    };
    Some((u8::try_from(n).ok()?, rest))
}

/// Parses `ADDR[/LEN]`; the default length is the full address.
///
/// A plain dotted quad followed by nothing or by `/` is read in one pass, the prefix length
/// after it as well when it is digits only: the same split (a quad has no `/`, so its `/` is
/// the first) and the same numbers as the general path below, without a second pass for the
/// `/` (255 instructions an address of `vigild -t` before).
pub fn ip_prefix(text: &str, what: &str) -> Result<(IpAddr, u8, bool), String> {
    let fast = match quad(text.as_bytes()) {
        Some((a, [])) => Some((a, None)),
        // After the `/` (one byte): a character boundary (else the general path).
        Some((a, [b'/', rest @ ..])) => text.get(text.len() - rest.len()..).map(|l| (a, Some(l))),
        _ => None,
    };
    let (addr, len) = match fast {
        Some((a, len)) => (IpAddr::V4(a), len),
        None => {
            let (a, len) = match split_at_byte(text, b'/') {
                Some((a, l)) => (a, Some(l)),
                None => (text, None),
            };
            let addr = parse_ip(a).ok_or_else(|| {
                format!("{what}: expected an IPv4 or IPv6 address with an optional /prefix, found '{text}'")
            })?;
            (addr, len)
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match len {
        None => Ok((addr, max, false)),
        Some(l) => {
            match small_decimal(l).map_or_else(|| l.parse::<u8>().ok(), |v| u8::try_from(v).ok()) {
                Some(v) if v <= max => Ok((addr, v, true)),
                _ => Err(format!(
                    "{what}: expected a prefix length 0..={max} after '/', found '{l}'"
                )),
            }
        }
    }
}

/// `text` split at the first `sep` (an ASCII byte), as `str::split_once` with a `char` gives
/// it, found with a plain byte search: the `char` pattern's searcher cost about 140
/// instructions an address of `vigild -t` (0.4 M on 1,000 instances).
fn split_at_byte(text: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    // An ASCII byte is a whole character: both sides of it are character boundaries.
    let i = text.bytes().position(|b| b == sep)?;
    Some((&text[..i], &text[i + 1..]))
}

/// Splits a script command line as keepalived does: its six whitespace characters
/// ([`is_space_char`], ASCII) separate arguments, single
/// quotes group (and are removed).
pub fn split_args(command: &str) -> Vec<String> {
    // Without a quote the words are the runs between whitespace bytes (the loop below gives the
    // same): each copied once at its length instead of grown a character at a time. The six
    // whitespace characters are ASCII, which no byte of a longer UTF-8 character equals, so
    // the cuts fall on character boundaries whatever the text.
    if !command.contains('\'') {
        let mut out = Vec::with_capacity(4);
        let mut start = None;
        for (i, &b) in command.as_bytes().iter().enumerate() {
            match (is_space(b), start) {
                (true, Some(s)) => {
                    out.push(command[s..i].to_owned());
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push(command[s..].to_owned());
        }
        return out;
    }
    split_args_quoted(command)
}

/// [`split_args`] character by character (single quotes group words and are removed).
fn split_args_quoted(command: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(4);
    let mut cur = String::with_capacity(command.len());
    let mut in_word = false;
    let mut quoted = false;
    for c in command.chars() {
        if quoted {
            if c == '\'' {
                quoted = false;
            } else {
                cur.push(c);
            }
        } else if c == '\'' {
            quoted = true;
            in_word = true;
        } else if is_space_char(c) {
            if in_word {
                out.push(cur.clone());
                cur.clear();
                in_word = false;
            }
        } else {
            cur.push(c);
            in_word = true;
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte search splits as `split_once` with the character does, on any text
        /// (multi-byte characters around the separator included).
        #[test]
        fn split_at_byte_is_split_once(text in "[a/.\u{e9}\u{2f00}\u{10000}]{0,12}") {
            for sep in ['/', '.'] {
                proptest::prop_assert_eq!(split_at_byte(&text, sep as u8), text.split_once(sep));
            }
        }
    }

    proptest::proptest! {
        /// The dotted-quad path reads what the standard parser reads, the same address, on
        /// any text of digits and dots (leading zeros, four-digit and out-of-range numbers,
        /// missing and extra parts), and declines nothing the standard parser would refuse as
        /// IPv4 but read (the fallback decides those).
        #[test]
        fn parse_ip_is_the_standard_parser(text in "[0-9.:a+ ]{0,20}|([0-9]{1,4}\\.){3}[0-9]{1,4}") {
            proptest::prop_assert_eq!(parse_ip(&text), text.parse::<IpAddr>().ok(), "{}", text);
            if let Some(a) = plain_ipv4(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(a), text.parse::<Ipv4Addr>().ok());
            }
        }
    }

    proptest::proptest! {
        /// The digits-only path gives what the general parsers give (integers, timers with
        /// their range errors), and declines what they would read otherwise.
        #[test]
        fn small_decimals_parse_as_before(text in "[0-9]{0,11}|[+-]?[0-9]{1,3}(\\.[0-9]{0,3})?|[0-9 a.]{0,4}") {
            if let Some(v) = small_decimal(&text) {
                proptest::prop_assert_eq!(Some(u64::from(v)), text.parse::<u64>().ok());
            }
            let max = Duration::from_secs(255);
            proptest::prop_assert_eq!(
                int_in(&text, 1, 255, "w"),
                match text.parse::<i64>() {
                    Ok(v) if (1..=255).contains(&v) => Ok(v),
                    _ => Err(format!("w: expected an integer in 1..=255, found '{text}'")),
                }
            );
            let t = timer(&text, Duration::from_millis(10), max, "t");
            let general = timer_general(&text, Duration::from_millis(10), max, "t");
            proptest::prop_assert_eq!(t, general);
        }
    }

    /// `timer` through its general path: a text without a dot read as the same text with a
    /// dot after it (an empty fraction: the same seconds, the same range check), the message
    /// naming the text as written. The reference of the proptest above.
    fn timer_general(
        text: &str,
        min: Duration,
        max: Duration,
        what: &str,
    ) -> Result<Duration, String> {
        if text.is_empty() || text.contains('.') {
            // Never the digits-only path's.
            return timer(text, min, max, what);
        }
        timer(&format!("{text}."), min, max, what)
            .map_err(|e| e.replacen(&format!("'{text}.'"), &format!("'{text}'"), 1))
    }

    /// `ip_prefix` as it was (a split at the first `/`, the standard parsers): the reference of
    /// the proptest below.
    fn ip_prefix_general(text: &str, what: &str) -> Result<(IpAddr, u8, bool), String> {
        let (a, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr = a.parse::<IpAddr>().map_err(|_| {
            format!(
                "{what}: expected an IPv4 or IPv6 address with an optional /prefix, found '{text}'"
            )
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match len {
            None => Ok((addr, max, false)),
            Some(l) => match l.parse::<u8>() {
                Ok(v) if v <= max => Ok((addr, v, true)),
                _ => Err(format!(
                    "{what}: expected a prefix length 0..={max} after '/', found '{l}'"
                )),
            },
        }
    }

    proptest::proptest! {
        /// Addresses with and without a prefix length (leading zeros, signs, out-of-range
        /// numbers, a second `/`, IPv6, non-ASCII after the `/`): the same result and message
        /// as before.
        #[test]
        fn ip_prefix_is_the_general_path(
            text in "([0-9]{1,4}\\.){3}[0-9]{1,4}(/[+0-9]{0,4}(/[0-9]{0,2})?|/é|[a ])?|[0-9a-f:./é+]{0,14}",
        ) {
            proptest::prop_assert_eq!(ip_prefix(&text, "a"), ip_prefix_general(&text, "a"), "{}", text);
        }
    }

    #[test]
    fn plain_dotted_quads_take_the_fast_path() {
        for t in ["0.0.0.0", "10.0.1.1", "192.168.200.18", "255.255.255.255"] {
            assert_eq!(plain_ipv4(t.as_bytes()), t.parse().ok(), "{t}");
            assert!(plain_ipv4(t.as_bytes()).is_some(), "{t}");
        }
        for t in [
            "01.0.0.0",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4/8",
            "1..2.3",
            "1.2.3.1000",
            "",
        ] {
            assert_eq!(plain_ipv4(t.as_bytes()), None, "{t}");
        }
    }

    #[test]
    fn timers_are_exact() {
        let max = Duration::from_secs(255);
        assert_eq!(
            timer("0.92", Duration::ZERO, max, "t"),
            Ok(Duration::from_millis(920))
        );
        assert_eq!(
            timer("3", Duration::ZERO, max, "t"),
            Ok(Duration::from_secs(3))
        );
        assert_eq!(
            timer(".5", Duration::ZERO, max, "t"),
            Ok(Duration::from_millis(500))
        );
        assert!(timer("-1", Duration::ZERO, max, "t").is_err());
        assert!(timer("1e3", Duration::ZERO, max, "t").is_err());
        assert!(timer("256", Duration::ZERO, max, "t").is_err());
        assert!(timer("99999999999999999999", Duration::ZERO, max, "t").is_err());
        assert_eq!(secs_str(Duration::from_millis(40950)), "40.95");
    }

    #[test]
    fn prefixes() {
        assert_eq!(ip_prefix("192.0.2.1/24", "a").unwrap().1, 24);
        assert_eq!(ip_prefix("2001:db8::1", "a").unwrap().1, 128);
        assert!(ip_prefix("192.0.2.1/33", "a").is_err());
        assert!(ip_prefix("192.0.2.300", "a").is_err());
    }

    #[test]
    fn script_args() {
        assert_eq!(
            split_args("bash -c '</dev/tcp/127.0.0.1/80'  x"),
            ["bash", "-c", "</dev/tcp/127.0.0.1/80", "x"]
        );
        assert_eq!(split_args("/usr/local/bin/vrrp.sh  MASTER  VI_1").len(), 3);
    }

    proptest::proptest! {
        /// The quote-free fast path splits as the character loop does.
        #[test]
        fn split_args_fast_path_is_the_loop(s in "[a-z/ \t\u{a0}\u{2003}\u{0b}\u{0c}\u{1c}\r\n\"é]{0,40}") {
            proptest::prop_assert_eq!(split_args(&s), split_args_quoted(&s));
        }
    }
}
