//! The physical lines of a configuration file, cut and trimmed: the first step of the reader
//! ([`super::include`]), run once per line of every file (25,000 lines for 1,000 instances), so
//! the common case (a plain ASCII line) takes one pass over its bytes.

use super::lexer::{
    strip_comment, trim_blanks_start, trim_line, FileName, Location, Token, TokenKind,
};

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

/// [`clean_line`] for any line: comments cut outside quotes, the spaces and tabs before the rest
/// and the whitespace after it trimmed ([`trim_line`]: keepalived's).
fn clean_line_slow(raw: &str) -> (&str, usize) {
    let stripped = strip_comment(raw);
    let line = trim_line(stripped);
    // Only spaces and tabs are skipped at the start: its byte offset is its character count.
    let col = 1 + (stripped.len() - trim_blanks_start(stripped).len());
    (line, col)
}

/// The classes of [`scan_plain`]: a byte of a word, a blank, a brace, the end of the line, and
/// a byte that needs the general path.
const WORD: u8 = 0;
const BLANK: u8 = 1;
const BRACE: u8 = 2;
const NEWLINE: u8 = 3;
const QUOTE: u8 = 4;
const OTHER: u8 = 5;

/// The class of each byte for [`scan_plain`]: printable ASCII is a word byte except the blanks
/// (space, tab), the braces, the quotes and `#`, `!`, `$` (comments and parameters); control
/// characters (a `\r` too), DEL and every byte of a non-ASCII character are [`OTHER`].
const FAST: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = WORD;
        b += 1;
    }
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'{' as usize] = BRACE;
    t[b'}' as usize] = BRACE;
    t[b'\n' as usize] = NEWLINE;
    t[b'"' as usize] = QUOTE;
    t[b'\'' as usize] = QUOTE;
    t[b'#' as usize] = OTHER;
    t[b'!' as usize] = OTHER;
    t[b'$' as usize] = OTHER;
    t
};

/// The first line of `rest` in one pass over its bytes, when it is plain: words of printable
/// ASCII, braces, blanks, and quoted words of one quoted run of those (a notify command) that
/// stand alone, and its first word starts with none of `@` `$` `~` (a conditional, a
/// definition, a sequence). Its tokens are appended to `out`, located at `line` (columns are
/// byte offsets plus one: every byte is a character), exactly as [`clean_line`] and the
/// tokenizer ([`super::lexer::tokenize_line_into`]) would give them (a test checks the two).
/// Returns where the trimmed line starts and ends in `rest` (equal for a blank line) and where
/// the next line starts; `None`, with `out` as it was, for any other line (a comment, a `$`, a
/// `\r`, a glued or escaped quote, a non-ASCII character...), which the general path reads.
///
/// Runs once per line of every file (25,000 lines for 1,000 instances): cutting the line,
/// cleaning it and tokenizing it were three passes over its bytes, 19.7 M of the 39.8 M
/// instructions of `vigild -t` on 1,000 instances.
///
/// The indentation's spaces are skipped eight bytes a step ([`skip_spaces`]) before the byte
/// loop finishes it: a byte a step it cost 1.2 M instructions on 1,000 instances (0.54 M
/// less). The words are still read a byte a step: most are shorter than eight bytes, and the
/// same skip for them (a byte below `%`, a `'` or above `z` flagged) cost 0.26 M more than it
/// saved (callgrind).
pub(crate) fn scan_plain<'t>(
    rest: &'t str,
    file: FileName,
    line: u32,
    out: &mut Vec<Token<'t>>,
) -> Option<(usize, usize, usize)> {
    let b = rest.as_bytes();
    let mut i = skip_spaces(b, 0);
    while i < b.len() && FAST[usize::from(b[i])] == BLANK {
        i += 1;
    }
    let start = i;
    if matches!(b.get(i), Some(b'@' | b'~')) {
        return None;
    }
    let before = out.len();
    let at = |i: usize| Location::new(file, line, u32::try_from(1 + i).unwrap_or(u32::MAX));
    let mut end = start;
    while i < b.len() {
        match FAST[usize::from(b[i])] {
            WORD => {
                let w = i;
                i += 1;
                while i < b.len() && FAST[usize::from(b[i])] == WORD {
                    i += 1;
                }
                // A quote glued to the word (`a"b c"`): one word, the general path's.
                if i < b.len() && FAST[usize::from(b[i])] == QUOTE {
                    out.truncate(before);
                    return None;
                }
                out.push(Token {
                    kind: TokenKind::Word,
                    text: &rest[w..i],
                    quoted: false,
                    loc: at(w),
                    starts_line: false,
                });
                end = i;
            }
            BLANK => i += 1,
            BRACE => {
                out.push(Token::brace(b[i], at(i)));
                i += 1;
                end = i;
            }
            NEWLINE => return Some((start, end, i + 1)),
            // A quote that opens a word (one glued to a word before it was sent to the general
            // path above, and a quoted word must end at its closing quote): the run up to the
            // same quote, of word bytes (no backslash: an escape), blanks and braces only, and the word must end there.
            QUOTE => {
                let q = b[i];
                let mut k = i + 1;
                while k < b.len()
                    && b[k] != b'\\'
                    && matches!(FAST[usize::from(b[k])], WORD | BLANK | BRACE)
                {
                    k += 1;
                }
                let ends = match b.get(k + 1) {
                    None => true,
                    Some(&c) => matches!(FAST[usize::from(c)], BLANK | BRACE | NEWLINE),
                };
                if b.get(k) != Some(&q) || !ends {
                    out.truncate(before);
                    return None;
                }
                out.push(Token {
                    kind: TokenKind::Word,
                    text: &rest[i + 1..k],
                    quoted: true,
                    loc: at(i),
                    starts_line: false,
                });
                i = k + 1;
                end = i;
            }
            _ => {
                out.truncate(before);
                return None;
            }
        }
    }
    Some((start, end, i))
}

/// The little-endian word of the eight bytes of `b` at `i`, when there are eight.
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let c = b.get(i..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*c))
}

/// The offset of the first byte of `b` at or after `i` that is not a space, or a point before
/// it: whole words of eight spaces are skipped, then the spaces of the first other word. The
/// caller's byte loop goes on from there (tabs are blanks too).
fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word_at(b, i) {
        let x = w ^ 0x2020_2020_2020_2020;
        if x != 0 {
            // The lowest non-zero byte of `x` is the first byte that is not a space.
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
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

    /// Every ASCII character (and a two-byte one) at every place of a long indentation and of
    /// a long word: the eight-byte skip of the indentation stops where the byte loop stopped
    /// (at most at the first byte that is not a space, and past every space before it), and a
    /// plain line's tokens are the tokenizer's.
    #[test]
    fn every_character_at_every_place_is_read_as_before() {
        let file = super::FileName::new("k.conf");
        let chars = (0u8..0x80).map(char::from).chain(['é']);
        for c in chars {
            for at in 0..18 {
                for base in ['a', ' '] {
                    let mut line: String = std::iter::repeat_n(base, 18).collect();
                    line.insert(at, c);
                    for text in [format!("x{line} y\n"), format!("{line}\n"), line.clone()] {
                        let b = text.as_bytes();
                        for from in 0..b.len() {
                            let r = super::skip_spaces(b, from);
                            let first = (from..b.len()).find(|&k| b[k] != b' ').unwrap_or(b.len());
                            assert!(r >= from && r <= first, "{text:?} {from}: {r}");
                        }
                        let mut out = vec![];
                        if let Some((start, end, _)) = super::scan_plain(&text, file, 7, &mut out) {
                            let raw = text.split('\n').next().unwrap_or_default();
                            let (clean, col, _) = super::clean_line(raw);
                            assert_eq!(&text[start..end], clean, "{text:?}");
                            if !clean.is_empty() {
                                assert_eq!(start + 1, col, "{text:?}");
                            }
                            let arena = crate::conf::text_arena::TextArena::new();
                            let want = crate::conf::lexer::tokenize_line(
                                clean, file, 7, col as u32, &arena,
                            );
                            assert_eq!(Ok(out), want, "{text:?}");
                        }
                    }
                }
            }
        }
    }

    /// The lines of a typical configuration take the one-pass path (a test that would fail if
    /// it were never taken), and the others do not.
    #[test]
    fn typical_lines_are_plain() {
        let file = super::FileName::new("k.conf");
        for line in [
            "vrrp_instance VI_1 {",
            "    notify_master \"/bin/echo MASTER VI_1\"",
            "\t10.0.0.1/24 dev eth0 label eth0:v",
            "}",
            "   ",
        ] {
            let mut out = vec![];
            assert!(
                super::scan_plain(line, file, 1, &mut out).is_some(),
                "{line}"
            );
        }
        for line in [
            "@a x",
            "$A=1",
            "~SEQ(i,1,2) x",
            "a # c",
            "a\r",
            "x\"y z\"",
            "\"a\"b",
            "\"a\\\"\"",
        ] {
            let mut out = vec![];
            assert!(
                super::scan_plain(line, file, 1, &mut out).is_none(),
                "{line}"
            );
            assert!(out.is_empty());
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

        /// The one-pass reader of plain lines gives what cleaning and tokenizing give, or leaves
        /// the line to them; and it takes the line to its end.
        #[test]
        fn scan_plain_equals_clean_and_tokenize(
            raw in "[ \t\r\u{0b}\u{a0}#!\"'\\\\ab@~{}$é]{0,24}",
            tail in "(\n[ a]{0,3}){0,1}",
        ) {
            let file = super::FileName::new("k.conf");
            let text = format!("{raw}{tail}");
            let mut out = vec![];
            let got = super::scan_plain(&text, file, 7, &mut out);
            let (line, col, _) = super::clean_line(&raw);
            if let Some((start, end, next)) = got {
                proptest::prop_assert_eq!(&raw[start..end], line);
                proptest::prop_assert_eq!(next, (raw.len() + 1).min(text.len()));
                if !line.is_empty() {
                    proptest::prop_assert_eq!(start + 1, col);
                    proptest::prop_assert!(!matches!(line.as_bytes()[0], b'@' | b'$' | b'~'));
                }
                let arena = crate::conf::text_arena::TextArena::new();
                let want = crate::conf::lexer::tokenize_line(line, file, 7, 1 + start as u32, &arena);
                proptest::prop_assert_eq!(Ok(out), want);
            } else {
                proptest::prop_assert!(out.is_empty());
            }
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

        /// The eight-byte skip of the indentation never passes a byte that is not a space
        /// and passes every space before it but the last few (which the byte loop after it
        /// reads), on lines of every printable ASCII byte, tabs, controls and non-ASCII
        /// characters, with runs of spaces long enough for several eight-byte steps.
        #[test]
        fn skip_spaces_stops_at_or_before_the_first_other_byte(
            raw in "([ -~]|[\t\r\u{0b}\u{7f}\u{80}é]|[ ]{1,20}){0,16}",
            from in 0usize..8,
        ) {
            let b = raw.as_bytes();
            let from = from.min(b.len());
            let r = super::skip_spaces(b, from);
            let first = (from..b.len()).find(|&k| b[k] != b' ').unwrap_or(b.len());
            proptest::prop_assert!(r >= from && r <= first && first - r < 8, "{:?} {}: {}", raw, from, r);
        }
    }
}
