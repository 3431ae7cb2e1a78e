// Long: the reader in one place: the one-pass and general line paths, includes with their bounds, parameters and conditionals share its state.
//! Reading the configuration: files, `include GLOB`, and the per-line preprocessing, producing
//! lines of located tokens.
//!
//! The engine does no I/O, so files come through a [`SourceLoader`]: the daemon passes one backed
//! by the filesystem (in `vigild`), tests and the fuzzer pass a [`MemoryLoader`]. Glob matching
//! ([`glob_match`], [`expand_braces`]) is pure and shared by both.
//!
//! Include rules (keepalived 2.x): the pattern is relative to the directory of the including file;
//! `include` ignores patterns that match nothing and files it cannot read (a notice);
//! `includer`/`includem`/`includew`/`includeb`/`includea` turn those into warnings (keepalived's
//! `include_check`, which fails `-t`). Including a file that is already being read is an error
//! (keepalived itself recurses until it runs out of file descriptors).

use std::collections::BTreeMap;

use super::diag::Diagnostic;
use super::glob::components;
pub use super::glob::{expand_braces, glob_match, path_glob_match};
use super::lexer::{
    is_space, strip_comment, tokenize_line_into, trim_blanks_start, trim_line, FileName, Location,
    Token,
};
use super::lines::{clean_line, scan_plain, Lines};
use super::params::{parse_lst, parse_seq, seq_arguments, Expanded, Params};
use super::text_arena::TextArena;

/// Deepest include nesting accepted (a guard in addition to cycle detection).
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Deepest nesting of multi-line parameter expansions and `~SEQ` lines.
const MAX_LINE_DEPTH: usize = 32;
/// Deepest nesting of the two together: every included file and every expanded line (a
/// multi-line parameter's line, a `~SEQ` body) is one level. Each bound alone allowed 32 files
/// each 32 expansions deep, 1,024 levels of the reader's recursion, which overflowed the 2 MB
/// stack of a thread in a debug build (found by the config fuzz target); this one keeps the
/// reader's stack to a few hundred KB whatever the input. Real configurations nest a few levels.
pub const MAX_NESTING: usize = 64;
/// Most lines one configuration may expand to, counting every line that parameters and `~SEQ`
/// generate: a guard against expansion bombs (two `~SEQ` nested, or a multi-line parameter that
/// doubles at each level) that stay free of errors. Real configurations have thousands of lines;
/// the bound still allows a `~SEQ` of the largest size plus the rest.
pub const MAX_TOTAL_LINES: usize = 200_000;
/// Most bytes one configuration may expand to (the lines as read, the result of each
/// substitution and the bytes substitution moved to make it): one parameter can make a line of
/// [`super::params::MAX_EXPANDED_LEN`] bytes, and a `~SEQ` repeats it, so the line bound alone
/// allowed terabytes (found by the config fuzz target: error-free bombs took seconds to reach the
/// old 2,000,000-line guard).
pub const MAX_TOTAL_BYTES: usize = 8 << 20;
/// Most files one configuration may read through includes (every read counts, the same file
/// read again too): empty files add no line and no byte, so an `include` of a glob of empty
/// files repeated by `~SEQ` read 1.4 million files (2 s) within the other bounds (found by the
/// config fuzz target). A real configuration reads a file per instance at most.
pub const MAX_FILE_READS: usize = 10_000;
/// Errors reported before the preprocessor gives up: a runaway expansion (a multi-line
/// parameter that refers to itself twice doubles at each level) would otherwise report one error
/// per generated line, millions of them (found by the config fuzz target).
const MAX_ERRORS: usize = 100;

/// Where configuration text comes from.
pub trait SourceLoader {
    /// The whole text of the file at `path`, or why it cannot be read.
    fn load(&self, path: &str) -> Result<String, String>;
    /// The files matching a glob `pattern` (an absolute or working-directory-relative path with
    /// `*`, `?`, `[...]` and `{a,b}`), sorted; an empty list when nothing matches.
    fn glob(&self, pattern: &str) -> Vec<String>;
    /// A canonical name for `path` used to detect include cycles (the filesystem loader resolves
    /// symbolic links); by default the lexically normalised path.
    fn canonical(&self, path: &str) -> String {
        normalize(path)
    }
}

/// An in-memory set of files, for tests and the fuzzer.
#[derive(Clone, Debug, Default)]
pub struct MemoryLoader {
    files: BTreeMap<String, String>,
}

impl MemoryLoader {
    /// An empty file set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; `path` is normalised (`a/./b` is `a/b`).
    pub fn add(&mut self, path: &str, text: &str) -> &mut Self {
        self.files.insert(normalize(path), text.to_string());
        self
    }
}

impl SourceLoader for MemoryLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }

    fn glob(&self, pattern: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in expand_braces(pattern) {
            let p = normalize(&p);
            // Without wildcards a pattern matches exactly the file of its name (the same
            // components, each equal): one lookup instead of a match against every file.
            if !p.bytes().any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\')) {
                if let Some((name, _)) = self.files.get_key_value(&p) {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                continue;
            }
            for name in self.files.keys() {
                if path_glob_match(&p, name) && !out.contains(name) {
                    out.push(name.clone());
                }
            }
        }
        out.sort();
        out
    }
}

/// Lexically normalises a `/`-separated path: drops `.` and empty components and resolves `..`.
pub fn normalize(path: &str) -> String {
    if is_normal(path) {
        return path.to_string();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in components(path) {
        match c {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(&p) if p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Whether [`normalize`] gives `path` back unchanged: `/`, or a non-empty path without empty,
/// `.` or `..` components (no `//`, no trailing `/`). Every name a glob or a load sees is
/// usually already normal; building it again was an allocation and a join per call.
fn is_normal(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let body = path.strip_prefix('/').unwrap_or(path);
    !body.is_empty()
        && components(body).all(|c| !matches!(c.as_bytes(), [] | [b'.'] | [b'.', b'.']))
}

/// The directory part of a path (`.` for a bare file name).
pub fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

/// `pattern` taken relative to the directory of `including_file` unless it is absolute.
pub fn resolve_relative(including_file: &str, pattern: &str) -> String {
    let mut out = String::new();
    resolve_in(dirname(including_file), pattern, &mut out);
    out
}

/// [`resolve_relative`] with the including file's directory `dir` ([`dirname`]), appended to
/// `out`. Not `format!`: this runs for every `include` line, and a `~SEQ` repeats them.
fn resolve_in(dir: &str, pattern: &str, out: &mut String) {
    if pattern.starts_with('/') || dir == "." {
        out.push_str(pattern);
    } else {
        out.reserve(dir.len() + 1 + pattern.len());
        out.push_str(dir);
        out.push('/');
        out.push_str(pattern);
    }
}

/// The reader's output: lines of tokens (only lines with tokens) and the diagnostics so far.
/// The tokens borrow the text they were read from (`'t`): the main file's text, or what the
/// reader keeps in `arena` (included files, substituted lines, words built from parts).
pub(crate) struct Reader<'a, 't> {
    loader: &'a dyn SourceLoader,
    arena: &'t TextArena,
    pub params: Params,
    /// Files being read: (canonical name for cycle detection, name as included).
    stack: Vec<(String, String)>,
    /// Every token of every line, in order (one vector for the whole configuration: a vector
    /// per line cost an allocation, a reallocation for lines of more than three words, and a
    /// free, 25,000 of each for 1,000 instances); the first token of each line (with tokens)
    /// is marked [`Token::starts_line`].
    pub tokens: Vec<Token<'t>>,
    pub diags: Vec<Diagnostic>,
    total_lines: usize,
    total_bytes: usize,
    /// Files read through includes (bounded by [`MAX_FILE_READS`]).
    files_read: usize,
    /// Levels of includes and line expansions being read now (bounded by [`MAX_NESTING`]).
    nesting: usize,
    /// The directory of the last file that had an `include` line: a `~SEQ` can repeat one
    /// thousands of times, and the name's look-up (a lock) and the search for its last `/`
    /// were a third of each one's cost past the glob (the config fuzz target's profile).
    include_dir: Option<(FileName, &'static str)>,
    /// The buffer an `include` line's pattern is resolved in, taken while the line is read.
    pattern: String,
    /// The last generated line tokenized as it was given (not changed by substitution: a
    /// `~SEQ` body without a parameter, a multi-line parameter's line), and its tokens
    /// (`repeat_tokens`): the next round of the same `~SEQ` gives the same text at the same
    /// place, so the same tokens, which are copied instead of tokenized again (the rounds'
    /// tokenizing was 5 % of the config fuzz target's time past its corpus).
    repeat: Option<Repeat>,
    repeat_tokens: Vec<Token<'t>>,
    /// Errors among `diags[..seen]`.
    errors: usize,
    seen: usize,
}

impl<'a, 't> Reader<'a, 't> {
    pub(crate) fn new(
        loader: &'a dyn SourceLoader,
        arena: &'t TextArena,
        config_id: Option<String>,
    ) -> Self {
        Reader {
            loader,
            arena,
            params: Params::new(config_id),
            stack: Vec::new(),
            tokens: Vec::new(),
            diags: Vec::new(),
            total_lines: 0,
            total_bytes: 0,
            files_read: 0,
            nesting: 0,
            include_dir: None,
            pattern: String::new(),
            repeat: None,
            repeat_tokens: Vec::new(),
            errors: 0,
            seen: 0,
        }
    }

    /// Reads the text of `file` (already loaded) and everything it includes.
    pub(crate) fn read_text(&mut self, file: &str, text: &'t str) {
        self.stack
            .push((self.loader.canonical(file), file.to_string()));
        let name = FileName::new(file);
        if self.tokens.is_empty() {
            // Sized once from the main file (keepalived.conf has a token per ~10 bytes):
            // growing by doubling (16 times for 1,000 instances) copied the tokens again and
            // touched about twice their memory. Pages reserved and never written cost nothing
            // with the system allocator; with one that hands out memory in order (`vigild -t`'s
            // arena) they push every later block further, so what the tokens did not use is
            // given back when the reading is done ([`Self::finish`]).
            let len = text.len().min(MAX_TOTAL_BYTES);
            self.tokens.reserve(len / 8);
        }
        // `idx` counts the physical lines read (a definition's continuation lines too).
        let mut rest: &'t str = text;
        let mut idx = 0usize;
        while !rest.is_empty() {
            idx += 1;
            let lineno = u32::try_from(idx).unwrap_or(u32::MAX);
            // Nearly every line is plain: cut, cleaned and tokenized in one pass.
            let before = self.tokens.len();
            if let Some((start, end, next)) = scan_plain(rest, name, lineno, &mut self.tokens) {
                if end > start {
                    let loc = Location::new(name, lineno, col_u32(1 + start));
                    if self.begin_line(end - start, &loc) {
                        self.end_line(before, name, rest, start);
                    } else {
                        self.tokens.truncate(before);
                    }
                }
                rest = &rest[next..];
                continue;
            }
            let mut physical = Lines(rest);
            let Some(raw) = physical.next() else {
                break;
            };
            let (trimmed, col, dollar) = clean_line(raw);
            if trimmed.is_empty() {
                rest = physical.0;
                continue;
            }
            // A multi-line definition (`$NAME=... \`) swallows the following lines. Only a line
            // that starts with `@` (a conditional) or `$` can be one: the others (nearly all)
            // skip the two look-ups.
            let first = trimmed.as_bytes()[0];
            let may_define = first == b'@' || first == b'$';
            if let Some((kept, _)) = may_define
                .then(|| self.params.conditional(trimmed))
                .flatten()
            {
                if let Some(def) = Params::definition(kept) {
                    if def.continues {
                        let mut values = Vec::new();
                        if !def.value.is_empty() {
                            values.push(def.value);
                        }
                        for next in physical.by_ref() {
                            idx += 1;
                            let s = trim_line(strip_comment(next));
                            match s.strip_suffix('\\') {
                                Some(v) => values.push(v.trim_end_matches([' ', '\t']).to_string()),
                                None => {
                                    values.push(s.to_string());
                                    break;
                                }
                            }
                        }
                        self.params.define(def.name, values);
                        rest = physical.0;
                        continue;
                    }
                }
            }
            rest = physical.0;
            let loc = Location::new(name, lineno, col_u32(col));
            self.process_line(trimmed, loc, name, 0, dollar);
        }
        self.stack.pop();
    }

    /// The end of the reading: the room reserved for tokens that the configuration did not
    /// use is given back (a slot per 8 bytes of the main file, for a token per 11 in
    /// keepalived.conf: 0.64 MB for 1,000 instances, which made `vigild -t`'s arena one 2 MB
    /// page larger).
    pub(crate) fn finish(&mut self) {
        self.tokens.shrink_to_fit();
    }

    /// The expansion went past [`MAX_TOTAL_LINES`], [`MAX_TOTAL_BYTES`] or [`MAX_FILE_READS`]
    /// (reported once, at the line where it happened): nothing more is read.
    fn exhausted(&self) -> bool {
        self.total_lines > MAX_TOTAL_LINES
            || self.total_bytes > MAX_TOTAL_BYTES
            || self.files_read > MAX_FILE_READS
    }

    /// Count `lines` and `bytes` more of expanded text and `files` more files read; reports the
    /// bound the first time one is passed. (Inlined, once a line: the report is out of line.)
    #[inline]
    fn count(&mut self, lines: usize, bytes: usize, files: usize, loc: &Location) {
        let was = self.exhausted();
        self.total_lines = self.total_lines.saturating_add(lines);
        self.total_bytes = self.total_bytes.saturating_add(bytes);
        self.files_read = self.files_read.saturating_add(files);
        if !was && self.exhausted() {
            self.report_bound(loc);
        }
    }

    /// The error of [`Self::count`] when the expansion passes a bound.
    #[cold]
    #[inline(never)]
    fn report_bound(&mut self, loc: &Location) {
        let what = if self.total_lines > MAX_TOTAL_LINES {
            format!("{MAX_TOTAL_LINES} lines")
        } else if self.total_bytes > MAX_TOTAL_BYTES {
            format!("{MAX_TOTAL_BYTES} bytes")
        } else {
            format!("{MAX_FILE_READS} included files read")
        };
        self.diags.push(Diagnostic::error(
            loc,
            format!(
                "the configuration expands to more than {what} (parameters or ~SEQ that \
                 multiply): giving up on the rest"
            ),
        ));
    }

    /// One logical line: conditional, definition, `~SEQ`, substitution, include, tokens.
    /// `dollar` is `false` when the line is known to have no `$` (the reader's
    /// [`clean_line`] saw every byte).
    fn process_line(
        &mut self,
        line: &'t str,
        loc: Location,
        name: FileName,
        depth: usize,
        dollar: bool,
    ) {
        if !self.begin_line(line.len(), &loc) {
            return;
        }
        // A line from the file comes trimmed (`clean_line`); generated lines do not.
        let line = if depth == 0 { line } else { trim_line(line) };
        if line.is_empty() {
            return;
        }
        // A conditional starts with `@`, a definition with `$`, a sequence with `~`: other lines
        // (nearly all) skip the three look-ups, which give them back unchanged.
        let first = line.as_bytes()[0];
        let plain = first != b'@' && first != b'$' && first != b'~';
        let (line, loc) = if plain {
            (line, loc)
        } else {
            let Some((line, removed)) = self.params.conditional(line) else {
                return;
            };
            // The prefix's width moves the column of a line as it stands in the file. A
            // generated line (a multi-line parameter's, a `~SEQ` or `~LST` body) is located
            // where it was used, which its prefix never was: the column stays (finding 18).
            if depth == 0 {
                let col = loc.col.saturating_add(col_u32(removed));
                (line, Location { col, ..loc })
            } else {
                (line, loc)
            }
        };
        if let Some(def) = (!plain).then(|| Params::definition(line)).flatten() {
            self.params.define(def.name, vec![def.value]);
            return;
        }
        if line.starts_with('~') && self.repeat_line(line, &loc, name, depth) {
            return;
        }
        // Most lines name no parameter: they are tokenized in place, with no copy. A line that
        // substitution changed is kept in the arena (its tokens borrow it).
        let substituted: &'t str = if !dollar || !line.as_bytes().contains(&b'$') {
            line
        } else {
            match self.substitute(line, &loc, name, depth) {
                Some(l) if l == line => line,
                Some(l) => self.arena.keep(l),
                None => return,
            }
        };
        // Columns are exact only for text as it stands in the file. A line changed by a
        // substitution, or generated (a multi-line parameter, a `~SEQ` body), has no column for
        // its tokens: they all get the column where the line starts, which is in the file.
        let verbatim = depth == 0 && std::ptr::eq(substituted, line);
        // A generated line as it was given: its tokens are a function of its text (which a
        // `'t` string never changes), file, line and column; the same four as the last such
        // line's give its tokens again.
        let repeat = (depth > 0 && std::ptr::eq(substituted, line)).then_some(Repeat {
            text: (line.as_ptr() as usize, line.len()),
            file: name,
            line: loc.line,
            col: loc.col,
        });
        let line = substituted;
        let start = self.tokens.len();
        if repeat.is_some() && self.repeat == repeat {
            self.tokens.extend_from_slice(&self.repeat_tokens);
            self.end_line(start, name, line, 0);
            return;
        }
        match tokenize_line_into(line, name, loc.line, loc.col, self.arena, &mut self.tokens) {
            Ok(()) if verbatim => {}
            Ok(()) => {
                for t in &mut self.tokens[start..] {
                    t.loc.col = loc.col;
                }
                if repeat.is_some() {
                    self.repeat = repeat;
                    self.repeat_tokens.clear();
                    self.repeat_tokens.extend_from_slice(&self.tokens[start..]);
                }
            }
            Err(e) => {
                let at = if verbatim { &e.loc } else { &loc };
                self.diags.push(Diagnostic::error(at, e.message));
                return;
            }
        }
        self.end_line(start, name, line, 0);
    }

    /// The bookkeeping before a line of `len` bytes (trimmed) at `loc` is read: counts it
    /// against the bounds and stops after [`MAX_ERRORS`] errors; `false` when the line must not
    /// be read.
    #[inline]
    fn begin_line(&mut self, len: usize, loc: &Location) -> bool {
        // Nearly every line: no new diagnostic since the last one, fewer errors than the
        // bound, and the bounds not reached with this line counted (the general path below
        // gives the same answer then, at 60 instructions a line).
        if self.seen == self.diags.len() && self.errors < MAX_ERRORS {
            let lines = self.total_lines.saturating_add(1);
            let bytes = self.total_bytes.saturating_add(len);
            if lines <= MAX_TOTAL_LINES
                && bytes <= MAX_TOTAL_BYTES
                && self.files_read <= MAX_FILE_READS
            {
                self.total_lines = lines;
                self.total_bytes = bytes;
                return true;
            }
        }
        self.begin_line_slow(len, loc)
    }

    /// [`Self::begin_line`] for any line.
    #[inline(never)]
    fn begin_line_slow(&mut self, len: usize, loc: &Location) -> bool {
        if self.exhausted() {
            return false;
        }
        self.count(1, len, 0, loc);
        if self.exhausted() {
            return false;
        }
        let new = &self.diags[self.seen.min(self.diags.len())..];
        self.errors += new
            .iter()
            .filter(|d| d.severity == crate::conf::Severity::Error)
            .count();
        self.seen = self.diags.len();
        if self.errors >= MAX_ERRORS {
            if self.errors == MAX_ERRORS {
                self.errors += 1;
                self.seen += 1;
                self.diags.push(Diagnostic::error(
                    loc,
                    format!(
                        "more than {MAX_ERRORS} errors: giving up on the rest of the configuration"
                    ),
                ));
            }
            return false;
        }
        true
    }

    /// After a line's tokens (`tokens[start..]`, read from the text at byte `at` of `text`)
    /// are read: an include is read now, any other line with tokens ends a line. Inlined for
    /// the lines whose first word is quoted or does not start with `i` (nearly all: 30
    /// instructions a line in a call before); the others go to [`Self::end_line_i`]. (The
    /// line comes as text and offset: slicing it for every line cost 16 instructions a line.)
    #[inline]
    fn end_line(&mut self, start: usize, name: FileName, text: &str, at: usize) {
        match self.tokens.get_mut(start) {
            None => {}
            Some(first) if first.quoted || first.text.as_bytes().first() != Some(&b'i') => {
                first.starts_line = true;
            }
            Some(_) => self.end_line_i(start, name, text.get(at..).unwrap_or_default()),
        }
    }

    /// [`Self::end_line`] for any line (an include among them).
    ///
    /// keepalived (lib/parser.c, `is_include`) takes a line for an include when its text, as
    /// it stands after a conditional's prefix and the parameters' substitution, and then the
    /// spaces and tabs before it (keepalived's `decomment` again), begins with the keyword and the keyword is followed by
    /// whitespace. So a carriage return or form feed before `include`, or a brace glued to it
    /// (`include{`), makes the line an ordinary one, with `include` an unknown keyword. (A
    /// lone `include` is read as an include here, and refused for its missing pattern: a
    /// mistake to report, where keepalived warns of an unknown keyword.)
    #[inline(never)]
    fn end_line_i(&mut self, start: usize, name: FileName, line: &str) {
        if let Some(first) = self.tokens.get(start) {
            let kw = first.text;
            // One byte compared for the lines that are not includes (nearly all) instead of six
            // string comparisons (each a `bcmp` call).
            if !first.quoted
                && kw.as_bytes().first() == Some(&b'i')
                && kw.starts_with("include")
                && matches!(
                    kw,
                    "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
                )
                && std::ptr::eq(kw.as_ptr(), trim_blanks_start(line).as_ptr())
                && trim_blanks_start(line)
                    .as_bytes()
                    .get(kw.len())
                    .is_none_or(|&b| is_space(b))
            {
                // The words `include` reads (the first three: text and place), copied out of
                // the line: a vector of the line's tokens was an allocation per `include` line.
                let word = |k: usize| {
                    self.tokens.get(start + k).map(|t| Word {
                        text: t.text,
                        loc: t.loc.clone(),
                    })
                };
                let (kw, pat, extra) = (word(0), word(1), word(2));
                self.tokens.truncate(start);
                if let Some(kw) = kw {
                    self.include(kw, pat, extra, name);
                }
                return;
            }
        }
        if let Some(first) = self.tokens.get_mut(start) {
            first.starts_line = true;
        }
    }

    /// The words of each line read so far (lines with tokens).
    #[cfg(test)]
    fn words(&self) -> Vec<Vec<&'t str>> {
        self.tokens
            .chunk_by(|_, t| !t.starts_line)
            .map(|l| l.iter().map(|t| t.text).collect())
            .collect()
    }

    /// The tokens of line `i` (a line with tokens).
    #[cfg(test)]
    fn line(&self, i: usize) -> &[Token<'t>] {
        self.tokens
            .chunk_by(|_, t| !t.starts_line)
            .nth(i)
            .unwrap_or_default()
    }

    /// A `~SEQ` or `~LST` line (keepalived's `add_seq` / `add_lst`): the rest of the line read
    /// once per round with the variables set, or the line's error. `false` when the line is
    /// neither (another line that starts with `~`).
    fn repeat_line(&mut self, line: &'t str, loc: &Location, name: FileName, depth: usize) -> bool {
        // keepalived substitutes parameters in a `~SEQ`'s numbers before reading them.
        let line = if line.starts_with("~SEQ") {
            match self.seq_parameters(line, loc, name) {
                Some(l) => l,
                None => return true,
            }
        } else {
            line
        };
        if let Some(seq) = parse_seq(line) {
            match seq {
                Err(e) => self.diags.push(Diagnostic::error(loc, e)),
                Ok((seq, rest)) if self.may_nest(loc, "~SEQ", depth) => {
                    self.nested(loc, |r| {
                        // The variable is looked up once, on the first round: a parameter keeps
                        // its slot whatever the rounds define.
                        let mut slot = None;
                        for v in seq.values() {
                            if r.exhausted() {
                                break;
                            }
                            let s = *slot.get_or_insert_with(|| r.params.slot(&seq.var));
                            r.params.set_number(s, &seq, v);
                            r.process_line(rest, loc.clone(), name, depth + 1, true);
                        }
                    });
                }
                Ok(_) => {}
            }
            return true;
        }
        if let Some(lst) = parse_lst(line) {
            match lst {
                Err(e) => self.diags.push(Diagnostic::error(loc, e)),
                Ok((lst, rest)) if self.may_nest(loc, "~LST", depth) => {
                    self.nested(loc, |r| {
                        let slots: Vec<_> = lst.vars.iter().map(|v| r.params.slot(v)).collect();
                        for set in &lst.sets {
                            if r.exhausted() {
                                break;
                            }
                            for (&slot, value) in slots.iter().zip(set) {
                                r.params.set_text(slot, value);
                            }
                            r.process_line(rest, loc.clone(), name, depth + 1, true);
                        }
                    });
                }
                Ok(_) => {}
            }
            return true;
        }
        false
    }

    /// Whether a `what` line at `depth` may repeat its body one level deeper; else its error.
    fn may_nest(&mut self, loc: &Location, what: &str, depth: usize) -> bool {
        if depth >= MAX_LINE_DEPTH {
            self.diags
                .push(Diagnostic::error(loc, format!("{what} nested too deeply")));
            return false;
        }
        true
    }

    /// `line` (a `~SEQ` line) with the parameters in its numbers substituted, as keepalived's
    /// `add_seq` does (`replace_param` on the text between the variable and the `)`); `None`,
    /// with an error, when one names a multi-line parameter or substitution fails.
    fn seq_parameters(&mut self, line: &'t str, loc: &Location, name: FileName) -> Option<&'t str> {
        let Some(range) = seq_arguments(line).filter(|r| line[r.clone()].contains('$')) else {
            return Some(line);
        };
        let pwd = dirname(name.as_str());
        let work_before = self.params.work();
        let substituted = self.params.substitute(&line[range.clone()], pwd);
        // Counted as every substitution is: a long value in a `~SEQ` that a `~SEQ` repeats
        // would otherwise be copied unbounded.
        self.count(0, self.params.work() - work_before, 0, loc);
        if self.exhausted() {
            return None;
        }
        match substituted {
            Ok(Expanded::Line(args)) => {
                let mut l = String::with_capacity(line.len() + args.len());
                l.push_str(&line[..range.start]);
                l.push_str(&args);
                l.push_str(&line[range.end..]);
                Some(self.arena.keep(l))
            }
            Ok(Expanded::Lines(_)) => {
                self.diags.push(Diagnostic::error(
                    loc,
                    "~SEQ: a parameter in its numbers is a multi-line one",
                ));
                None
            }
            Err(e) => {
                self.diags.push(Diagnostic::error(loc, e));
                None
            }
        }
    }

    /// `$PARAMETER` substitution of one line (which contains a `$`): the substituted line, or
    /// `None` when the line was reported, exhausted the budget or expanded to several lines
    /// (which were processed here).
    fn substitute(
        &mut self,
        line: &str,
        loc: &Location,
        name: FileName,
        depth: usize,
    ) -> Option<String> {
        let pwd = dirname(name.as_str());
        let work_before = self.params.work();
        let substituted = self.params.substitute(line, pwd);
        // What substitution moved counts against the budget, besides the lines it makes.
        self.count(0, self.params.work() - work_before, 0, loc);
        if self.exhausted() {
            return None;
        }
        let substituted = match substituted {
            Err(e) => {
                self.diags.push(Diagnostic::error(loc, e));
                return None;
            }
            Ok(Expanded::Lines(lines)) => {
                if depth >= MAX_LINE_DEPTH {
                    self.diags.push(Diagnostic::error(
                        loc,
                        "multi-line parameters nested too deeply (a parameter that expands to itself?)",
                    ));
                    return None;
                }
                self.nested(loc, |r| {
                    for l in lines {
                        if r.exhausted() {
                            break;
                        }
                        let l = r.arena.keep(l);
                        r.process_line(l, loc.clone(), name, depth + 1, true);
                    }
                });
                return None;
            }
            Ok(Expanded::Line(l)) => l,
        };
        if substituted.len() != line.len() || substituted != line {
            self.count(0, substituted.len(), 0, loc);
            if self.exhausted() {
                return None;
            }
        }
        Some(substituted)
    }

    /// An `include` line: its keyword, the pattern and the word after it if any, each with
    /// where it starts.
    fn include(
        &mut self,
        kw: Word<'t>,
        pat: Option<Word<'t>>,
        extra: Option<Word<'t>>,
        including: FileName,
    ) {
        let strict = kw.text != "include";
        let Some(pat) = pat else {
            self.diags.push(Diagnostic::error(
                &kw.loc,
                format!("{}: expected a file name or glob pattern", kw.text),
            ));
            return;
        };
        if let Some(extra) = extra {
            self.diags.push(Diagnostic::warning(
                &extra.loc,
                format!(
                    "{}: unexpected '{}' after the file name (ignored)",
                    kw.text, extra.text
                ),
            ));
        }
        let dir = match self.include_dir {
            Some((file, dir)) if file == including => dir,
            _ => {
                let dir = dirname(including.as_str());
                self.include_dir = Some((including, dir));
                dir
            }
        };
        let mut pattern = std::mem::take(&mut self.pattern);
        pattern.clear();
        resolve_in(dir, pat.text, &mut pattern);
        self.include_files(strict, &pat, &pattern);
        self.pattern = pattern;
    }

    /// The files matching an `include` line's `pattern` (already resolved), read in order.
    fn include_files(&mut self, strict: bool, pat: &Word<'t>, pattern: &str) {
        let files = self.loader.glob(pattern);
        if files.is_empty() {
            // Not `format!`: the notice of every `include` line that matches nothing (a
            // `~SEQ` can repeat one thousands of times).
            // 26 bytes before the pattern, 1 after (26 made the closing quote reallocate).
            let mut msg = String::with_capacity(pattern.len() + 27);
            msg.push_str("include: no file matches '");
            msg.push_str(pattern);
            msg.push('\'');
            self.diags.push(if strict {
                Diagnostic::warning(&pat.loc, msg)
            } else {
                Diagnostic::notice(&pat.loc, msg)
            });
            return;
        }
        for f in files {
            let canon = self.loader.canonical(&f);
            if let Some(pos) = self.stack.iter().position(|s| s.0 == canon) {
                let mut chain: Vec<&str> = self.stack[pos..].iter().map(|s| s.1.as_str()).collect();
                chain.push(&f);
                self.diags.push(Diagnostic::error(
                    &pat.loc,
                    format!("include cycle: {}", chain.join(" -> ")),
                ));
                continue;
            }
            if self.stack.len() >= MAX_INCLUDE_DEPTH {
                self.diags.push(Diagnostic::error(
                    &pat.loc,
                    format!("includes nested deeper than {MAX_INCLUDE_DEPTH} files"),
                ));
                return;
            }
            self.count(0, 0, 1, &pat.loc);
            if self.exhausted() {
                return;
            }
            let entered = self.nested(&pat.loc, |r| match r.loader.load(&f) {
                Ok(text) => {
                    let text = r.arena.keep(text);
                    r.read_text(&f, text);
                }
                Err(e) => {
                    let msg = format!("include: cannot read '{f}': {e}");
                    r.diags.push(if strict {
                        Diagnostic::warning(&pat.loc, msg)
                    } else {
                        Diagnostic::notice(&pat.loc, msg)
                    });
                }
            });
            if !entered {
                return;
            }
        }
    }

    /// `read` one level deeper (an included file, an expanded line), the level taken back
    /// after it; or an error at `loc` and `false` when that would pass [`MAX_NESTING`].
    fn nested(&mut self, loc: &Location, read: impl FnOnce(&mut Self)) -> bool {
        if self.nesting >= MAX_NESTING {
            self.diags.push(Diagnostic::error(
                loc,
                format!(
                    "includes and multi-line parameters or ~SEQ nested deeper than {MAX_NESTING} \
                     levels in all"
                ),
            ));
            return false;
        }
        self.nesting += 1;
        read(self);
        self.nesting -= 1;
        true
    }
}

/// What the tokens of a generated line depend on ([`Reader::repeat`]): its text (the address
/// and length of a string that lives as long as the reading, so the same bytes), file, line
/// and column.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Repeat {
    text: (usize, usize),
    file: FileName,
    line: u32,
    col: u32,
}

/// A word of an `include` line, as [`Reader::include`] reads it.
struct Word<'t> {
    text: &'t str,
    loc: Location,
}

fn col_u32(c: usize) -> u32 {
    u32::try_from(c).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "include_tests.rs"]
mod tests;
