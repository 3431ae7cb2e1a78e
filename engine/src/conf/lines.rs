//! The physical lines of a configuration file, cut and trimmed: the first step of the reader
//! ([`super::include`]), run once per line of every file (25,000 lines for 1,000 instances), so
//! the common case (a plain ASCII line) takes one pass over its bytes.

use super::lexer::strip_comment;

/// The lines of a text as [`str::lines`] gives them (split at `\n`, a `\r` before it removed,
/// no empty last line after a final `\n`), found with a plain byte search: `lines()` costs
/// about 190 instructions on a 23-byte line, this about a third of that.
pub(crate) struct Lines<'t>(pub(crate) &'t str);

impl<'t> Iterator for Lines<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        if self.0.is_empty() {
            return None;
        }
        let (line, rest) = match find_newline(self.0.as_bytes()) {
            Some(i) => (&self.0[..i], &self.0[i + 1..]),
            None => return Some(std::mem::take(&mut self.0)),
        };
        self.0 = rest;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// The offset of the first `\n` in `b`, eight bytes a step: a byte-at-a-time search cost five
/// instructions a byte, the largest part of cutting the lines (callgrind).
fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        // A zero byte of `x` is a newline of the chunk; the lowest flagged byte is the first
        // zero byte (a false flag can only sit above a true one).
        let x = u64::from_le_bytes(w) ^ NEWLINES;
        let zero = x.wrapping_sub(ONES) & !x & HIGH;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'\n')
        .map(|p| at + p)
}

/// What [`clean_line`] looks for in a byte: [`NOT_PLAIN`] (quotes, comment characters, control
/// characters other than a tab, DEL and every byte of a non-ASCII character send the line to
/// [`clean_line_slow`]) and [`DOLLAR`].
const CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        if b < 0x20 || b >= 0x7f {
            t[b] = NOT_PLAIN;
        }
        b += 1;
    }
    t[b'\t' as usize] = 0;
    t[b'"' as usize] = NOT_PLAIN;
    t[b'\'' as usize] = NOT_PLAIN;
    t[b'#' as usize] = NOT_PLAIN;
    t[b'!' as usize] = NOT_PLAIN;
    t[b'$' as usize] = DOLLAR;
    t
};
/// The line is not plain.
const NOT_PLAIN: u8 = 1;
/// The line has a `$` (it may name a parameter).
const DOLLAR: u8 = 2;

/// A physical line without its comment and the whitespace around it, the 1-based column (in
/// characters) where what is left starts, and whether what is left may contain a `$` (`false`
/// only when it has none: the reader then skips the parameter search).
///
/// Runs once per line of every file (25,000 lines for 1,000 instances). A line of plain ASCII
/// with no quote, comment character or control character other than a tab (nearly every line)
/// is cut in one pass over its bytes, which also notes a `$`; any other line goes through
/// [`strip_comment`] and Unicode trimming, which give the same result on the plain ones (a test
/// checks the two).
pub(crate) fn clean_line(raw: &str) -> (&str, usize, bool) {
    let b = raw.as_bytes();
    let mut start = 0;
    while start < b.len() && matches!(b[start], b' ' | b'\t') {
        start += 1;
    }
    // No early exit: or-ing every byte's class is cheaper than a branch a byte.
    let class = b[start..]
        .iter()
        .fold(0, |acc, &c| acc | CLASS[usize::from(c)]);
    if class & NOT_PLAIN != 0 {
        let (line, col) = clean_line_slow(raw);
        return (line, col, true);
    }
    let mut end = b.len();
    while end > start && matches!(b[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    // Only ASCII spaces and tabs before `start`: its byte offset is its character count.
    (&raw[start..end], 1 + start, class & DOLLAR != 0)
}

/// [`clean_line`] for any line: comments cut outside quotes, Unicode whitespace trimmed.
fn clean_line_slow(raw: &str) -> (&str, usize) {
    let stripped = strip_comment(raw);
    let leading = stripped.len() - stripped.trim_start().len();
    let col = 1 + stripped[..leading].chars().count();
    (stripped.trim(), col)
}

#[cfg(test)]
mod tests {
    #[test]
    fn find_newline_finds_the_first_newline_at_every_offset() {
        for len in 0..40 {
            for nl in 0..=len {
                for other in [b'a', 0x0b, 0x09, 0x8a, 0xff, 0x00] {
                    let mut b = vec![other; len];
                    if nl < len {
                        b[nl] = b'\n';
                        // A second newline after the first must not be reported.
                        if nl + 3 < len {
                            b[nl + 3] = b'\n';
                        }
                    }
                    let want = b.iter().position(|&c| c == b'\n');
                    assert_eq!(super::find_newline(&b), want, "{b:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The line splitter gives `str::lines`'s lines.
        #[test]
        fn lines_equal_str_lines(text in "[a\r\n é]{0,30}") {
            let ours: Vec<&str> = super::Lines(&text).collect();
            let std: Vec<&str> = text.lines().collect();
            proptest::prop_assert_eq!(ours, std);
        }

        /// The one-pass line cleaner gives what the general one gives, on any line.
        #[test]
        fn clean_line_equals_the_general_path(
            raw in "[ \t\r\u{0b}\u{0c}\u{1c}\u{85}\u{a0}\u{2003}#!\"'\\\\abc{}$@é日\u{7f}]{0,30}",
        ) {
            let (line, col, dollar) = super::clean_line(&raw);
            proptest::prop_assert_eq!((line, col), super::clean_line_slow(&raw));
            // A line that may name a parameter is never said not to.
            proptest::prop_assert!(dollar || !line.contains('$'));
        }
    }
}
