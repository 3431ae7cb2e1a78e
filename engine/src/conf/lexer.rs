//! Tokens of keepalived.conf, each with the file, line and column it came from.
//!
//! keepalived's language is line oriented: a statement is a keyword and its arguments on one line,
//! optionally opening a `{ ... }` block. Comments run from `#` or `!` to the end of the line (not
//! inside quotes). Quoting is shell-like: `"` and `'` quote runs of characters (whitespace kept) and
//! may be glued to unquoted text (`ab" c"d` is the single word `ab cd`); inside quotes the usual
//! backslash escapes work. An unquoted `{` or `}` is always a token of its own, so braces may share
//! lines with other tokens.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use super::fast_hash::FastMap;
use super::text_arena::TextArena;

/// The name of a configuration file, as a number: the process keeps each distinct name once
/// (the table only grows, by one entry per distinct file name: a reload of the same files
/// adds nothing), so a [`Location`] is 12 bytes and copying one is copying three integers.
/// (With an `Arc<str>` per location every token's location was an atomic increment and
/// decrement and 24 of the token's 56 bytes.) It reads as the name (`Deref` to `str`), and
/// compares and orders as the name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileName(u32);

/// The interned names: by number, and the number of each name.
#[derive(Default)]
struct Names {
    by_id: Vec<&'static str>,
    ids: FastMap<&'static str, u32>,
}

fn names() -> std::sync::MutexGuard<'static, Names> {
    static NAMES: OnceLock<Mutex<Names>> = OnceLock::new();
    NAMES
        .get_or_init(Mutex::default)
        .lock()
        // The table is consistent after every statement: a panic elsewhere cannot break it.
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FileName {
    /// The number of `name` (the same for equal names).
    pub fn new(name: &str) -> Self {
        let mut t = names();
        if let Some(&id) = t.ids.get(name) {
            return FileName(id);
        }
        // Leaked once per distinct name, for the life of the process (see above).
        let name: &'static str = Box::leak(Box::from(name));
        let id = u32::try_from(t.by_id.len()).unwrap_or(u32::MAX);
        t.by_id.push(name);
        t.ids.insert(name, id);
        FileName(id)
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        names().by_id.get(self.0 as usize).copied().unwrap_or("?")
    }
}

impl std::ops::Deref for FileName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for FileName {
    fn from(name: &str) -> Self {
        FileName::new(name)
    }
}

impl PartialOrd for FileName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FileName {
    /// By name, as when a location held the name itself.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.0 == other.0 {
            return std::cmp::Ordering::Equal;
        }
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Where something came from: the file (as named by the include that reached it), the 1-based line
/// and the 1-based column (in characters).
///
/// Columns are exact for text the author wrote; for text produced by `$PARAMETER` substitution they
/// are columns in the substituted line (keepalived itself reports no columns at all).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file name, as given on the command line or resolved from an `include`.
    pub file: FileName,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column number (characters, not bytes).
    pub col: u32,
}

impl Location {
    /// A location in `file` at `line`, `col`.
    pub fn new(file: FileName, line: u32, col: u32) -> Self {
        Location { file, line, col }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A word (keyword, name, number, address, possibly quoted).
    Word,
    /// An unquoted `{`.
    Open,
    /// An unquoted `}`.
    Close,
}

/// One token: its text after quote removal and escape processing, and where it started.
///
/// The text is borrowed: a word as it stands in the file (nearly every word, and a quoted word
/// of one quoted run without escapes) is a slice of the file's text; a word built from several
/// parts or with escapes, and the words of included files and substituted lines, are slices of
/// the reader's [`TextArena`]. (Copying every word cost an allocation or a 24-byte inline
/// string per token, 57,000 of them for 1,000 instances.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<'t> {
    /// Word, `{` or `}`.
    pub kind: TokenKind,
    /// The text, quotes removed and escapes applied.
    pub text: &'t str,
    /// Whether any part of the word was quoted (a quoted `{` is a word, not a brace).
    pub quoted: bool,
    /// Where the token starts.
    pub loc: Location,
    /// Whether the token is the first of a line of the reader's output (set by the reader when
    /// the line is kept; the tree builder cuts the lines there). A flag in the token's padding
    /// (it stays 32 bytes) instead of a vector of line ends: 200-280 KB for 1,000 instances.
    pub starts_line: bool,
}

impl Token<'static> {
    /// The token of an unquoted brace byte at `loc` (`{` opens a block, anything else is `}`):
    /// the one constructor of the tokenizer and the one-pass reader of plain lines.
    pub(crate) fn brace(b: u8, loc: Location) -> Token<'static> {
        let (kind, text) = if b == b'{' {
            (TokenKind::Open, "{")
        } else {
            (TokenKind::Close, "}")
        };
        Token {
            kind,
            text,
            quoted: false,
            loc,
            starts_line: false,
        }
    }
}

/// A lexical error: an unterminated quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    /// Where the offending quote opened.
    pub loc: Location,
    /// What was expected.
    pub message: String,
}

/// Removes a `#` or `!` comment from a line, leaving quoted `#` and `!` alone.
///
/// Works on bytes: the four characters it looks for (and the backslash) are ASCII, and a byte
/// of a multi-byte UTF-8 character is never ASCII, so every cut falls on a character boundary.
pub fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    // Outside quotes only a comment character or a quote matters, inside a quote only its
    // closing quote or a backslash (which escapes the byte after it): each is found with a
    // search over the run before it (a state machine a byte cost 37 instructions a byte on the
    // quoted notify lines).
    let mut i = 0;
    while let Some(p) = bytes[i..]
        .iter()
        .position(|&b| matches!(b, b'#' | b'!' | b'"' | b'\''))
    {
        let at = i + p;
        let q = bytes[at];
        if q == b'#' || q == b'!' {
            return &line[..at];
        }
        let mut k = at + 1;
        loop {
            let Some(r) = bytes
                .get(k..)
                .and_then(|rest| rest.iter().position(|&b| b == q || b == b'\\'))
            else {
                // An unclosed quote runs to the end of the line: no comment.
                return line;
            };
            if bytes[k + r] == b'\\' {
                k += r + 2;
                continue;
            }
            i = k + r + 1;
            break;
        }
    }
    line
}

/// Splits one (comment-free) line into tokens. `col0` is the column of the line's first character
/// (1 unless the line is the remainder of a conditional `@id` line). Words that are not slices
/// of `text` (built from several quoted parts, or with escapes) are kept in `arena`.
///
/// This runs once per line of every configuration (25,000 lines for 1,000 instances), so it works
/// on the line's bytes: an unquoted word, and a word that is one quoted run without escapes, is
/// a slice of the line (no copy); only a word with escapes or glued parts is built, character
/// runs at a time. Columns count characters, not bytes.
pub fn tokenize_line<'t>(
    text: &'t str,
    file: FileName,
    line: u32,
    col0: u32,
    arena: &'t TextArena,
) -> Result<Vec<Token<'t>>, LexError> {
    // Most lines hold one to three tokens (`}`, `state BACKUP`, `vrrp_instance VI_1 {`).
    let mut out = Vec::with_capacity(3);
    tokenize_line_into(text, file, line, col0, arena, &mut out)?;
    Ok(out)
}

/// [`tokenize_line`] appending the line's tokens to `out` (the reader keeps every token of a
/// configuration in one vector: a vector per line was an allocation and a free per line). On
/// an error `out` is left as it was.
pub fn tokenize_line_into<'t>(
    text: &'t str,
    file: FileName,
    line: u32,
    col0: u32,
    arena: &'t TextArena,
    out: &mut Vec<Token<'t>>,
) -> Result<(), LexError> {
    let before = out.len();
    let r = tokenize_append(text, file, line, col0, arena, out);
    if r.is_err() {
        out.truncate(before);
    }
    r
}

fn tokenize_append<'t>(
    text: &'t str,
    file: FileName,
    line: u32,
    col0: u32,
    arena: &'t TextArena,
    out: &mut Vec<Token<'t>>,
) -> Result<(), LexError> {
    let bytes = text.as_bytes();
    // `i` is a byte offset; `ci` the number of characters before it (the column offset).
    let mut i = 0usize;
    let mut ci = 0usize;
    let col_of = |ci: usize| col0.saturating_add(u32::try_from(ci).unwrap_or(u32::MAX));
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            if is_space(b) {
                i += 1;
                ci += 1;
                continue;
            }
            if b == b'{' || b == b'}' {
                out.push(Token::brace(b, Location::new(file, line, col_of(ci))));
                i += 1;
                ci += 1;
                continue;
            }
        }
        // A word: runs of unquoted and quoted text until unquoted whitespace or brace.
        let (start, start_ci) = (i, ci);
        let (end, end_ci, quote_at) = scan_unquoted(text, i, ci);
        if quote_at.is_none() {
            out.push(Token {
                kind: TokenKind::Word,
                text: &text[start..end],
                quoted: false,
                loc: Location::new(file, line, col_of(start_ci)),
                starts_line: false,
            });
            i = end;
            ci = end_ci;
            continue;
        }
        // A word that is one quoted run without a backslash, followed by the end of the word
        // (a quoted notify command, `"/bin/echo MASTER VI_1"`): the run between the quotes, as
        // it stands in the line.
        if end == start {
            if let Some(close) = simple_quoted(bytes, start) {
                let after = close + 1;
                if after == bytes.len() || ends_word(text, after) {
                    out.push(Token {
                        kind: TokenKind::Word,
                        text: &text[start + 1..close],
                        quoted: true,
                        loc: Location::new(file, line, col_of(start_ci)),
                        starts_line: false,
                    });
                    ci = start_ci + text[start..after].chars().count();
                    i = after;
                    continue;
                }
            }
        }
        // The general path: the word has glued parts or escapes. It walks the line's characters
        // in place (byte offsets into `text`), copying each run up to a quote or a backslash in
        // one piece (a character at a time cost 4.5 M instructions on the notify commands), and
        // keeps the word in the arena.
        let mut word = String::with_capacity((text.len() - start).saturating_sub(2));
        word.push_str(&text[start..end]);
        let mut k = end;
        while let Some(c) = text[k..].chars().next() {
            if is_space_char(c) || c == '{' || c == '}' {
                break;
            }
            if c == '"' || c == '\'' {
                let open = k;
                k += 1;
                let mut closed = false;
                // The quote and the backslash are ASCII (`c` is one of the two quotes), so the
                // run before either ends on a character boundary.
                let stop = |b: &u8| *b == c as u8 || *b == b'\\';
                while k < text.len() {
                    let run = text.as_bytes()[k..]
                        .iter()
                        .position(stop)
                        .unwrap_or(text.len() - k);
                    word.push_str(&text[k..k + run]);
                    k += run;
                    match text.as_bytes().get(k) {
                        None => break,
                        Some(b'\\') if k + 1 < text.len() => {
                            k = unescape(text, k + 1, &mut word);
                        }
                        Some(b'\\') => {
                            word.push('\\');
                            k += 1;
                        }
                        Some(_) => {
                            closed = true;
                            k += 1;
                            break;
                        }
                    }
                }
                if !closed {
                    let open_ci = start_ci + text[start..open].chars().count();
                    return Err(LexError {
                        loc: Location::new(file, line, col_of(open_ci)),
                        message: format!("unterminated quoted string: expected a closing {c}"),
                    });
                }
                continue;
            }
            word.push(c);
            k += c.len_utf8();
        }
        out.push(Token {
            kind: TokenKind::Word,
            text: arena.keep(word),
            quoted: true,
            loc: Location::new(file, line, col_of(start_ci)),
            starts_line: false,
        });
        ci = start_ci + text[start..k].chars().count();
        i = k;
    }
    Ok(())
}

/// The byte offset of the quote closing the quoted run that opens at `bytes[open]`, when no
/// backslash comes before it; `None` when there is a backslash first or no closing quote.
fn simple_quoted(bytes: &[u8], open: usize) -> Option<usize> {
    let q = *bytes.get(open)?;
    let rest = bytes.get(open + 1..)?;
    let p = rest.iter().position(|&b| b == q || b == b'\\')?;
    (rest[p] == q).then_some(open + 1 + p)
}

/// Whether the character at byte `i` of `text` ends a word (whitespace or a brace).
fn ends_word(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i) {
        None => true,
        Some(&b) => is_space(b) || b == b'{' || b == b'}',
    }
}

/// keepalived's whitespace, the characters that separate words (`WHITE_SPACE_STR`,
/// keepalived/lib/parser.c): space, tab, newline, vertical tab, form feed, carriage return.
/// ASCII only: a no-break space (U+00A0) or another Unicode space is part of a word, as in
/// keepalived (Vigil split words at Unicode whitespace until 2026-12-05; the config fuzzer
/// showed the difference).
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// [`is_space`] for a character.
pub(crate) fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

/// A line as keepalived reads it: the spaces and tabs before it skipped (`decomment`'s
/// `strspn(str, " \t")`: a carriage return or form feed at a line's start is not skipped, so
/// `~SEQ`, `$NAME=` and `@id` after one are not recognized, as in keepalived), and the
/// whitespace after it (which separates nothing) dropped.
pub(crate) fn trim_line(s: &str) -> &str {
    trim_blanks_start(s).trim_end_matches(is_space_char)
}

/// `s` without the spaces and tabs it starts with (keepalived's `strspn(p, " \t")`).
pub(crate) fn trim_blanks_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// The bytes that end or interrupt a run of unquoted word bytes: ASCII whitespace, braces,
/// quotes, and every byte of a non-ASCII character (looked at as a character).
const STOPS_UNQUOTED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x80;
    while b < 256 {
        t[b] = true;
        b += 1;
    }
    let special = [
        b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r', b'{', b'}', b'"', b'\'',
    ];
    let mut k = 0;
    while k < special.len() {
        t[special[k] as usize] = true;
        k += 1;
    }
    t
};

/// From byte `i` (character `ci`), the end of an unquoted run: the byte and character offsets of
/// the first unquoted whitespace or brace, and the byte offset of a quote if one comes first.
/// Plain ASCII bytes are skipped with one table look-up each.
fn scan_unquoted(text: &str, mut i: usize, mut ci: usize) -> (usize, usize, Option<usize>) {
    let bytes = text.as_bytes();
    loop {
        let run = bytes[i..]
            .iter()
            .position(|&b| STOPS_UNQUOTED[usize::from(b)])
            .unwrap_or(bytes.len() - i);
        i += run;
        ci += run;
        let Some(&b) = bytes.get(i) else {
            break;
        };
        if b.is_ascii() {
            if b == b'"' || b == b'\'' {
                return (i, ci, Some(i));
            }
            // Whitespace or a brace.
            break;
        }
        // A non-ASCII character: part of the word (keepalived's whitespace is ASCII).
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        ci += 1;
    }
    (i, ci, None)
}

/// Decodes the escape whose character (after the backslash) starts at byte `i` of `s`; returns
/// the byte offset after it. The escapes are those of keepalived's quoted strings: `\\a \\b \\e
/// \\f \\n \\r \\t \\v`, up to three octal digits, `\\x` and hex digits (the low byte), `\\cX`
/// (a control character); any other character stands for itself.
fn unescape(s: &str, i: usize, out: &mut String) -> usize {
    let bytes = s.as_bytes();
    let Some(c) = s[i..].chars().next() else {
        return i;
    };
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'E' | 'e' => Some('\u{1b}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        _ => None,
    };
    if let Some(e) = simple {
        out.push(e);
        return i + 1;
    }
    let octal = |b: u8| (b'0'..=b'7').contains(&b);
    if octal(bytes[i]) {
        let mut v: u32 = 0;
        let mut j = i;
        while j < bytes.len() && j < i + 3 && octal(bytes[j]) {
            v = v * 8 + u32::from(bytes[j] - b'0');
            j += 1;
        }
        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
        return j;
    }
    if c == 'x' {
        let mut v: u32 = 0;
        let mut j = i + 1;
        while j < bytes.len() && bytes[j].is_ascii_hexdigit() {
            let d = char::from(bytes[j]).to_digit(16).unwrap_or(0);
            v = v.wrapping_mul(16).wrapping_add(d) & 0xff;
            j += 1;
        }
        if j == i + 1 {
            out.push('x');
            return j;
        }
        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
        return j;
    }
    if c == 'c' {
        if let Some(next) = s[i + 1..].chars().next() {
            let ctl = (next as u32) & 0x1f;
            out.push(char::from_u32(ctl).unwrap_or('\u{fffd}'));
            return i + 1 + next.len_utf8();
        }
    }
    out.push(c);
    i + c.len_utf8()
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
