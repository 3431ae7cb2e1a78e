//! HTTP_GET / SSL_GET `url { regex ... }`: the body check of keepalived.conf(5) (`regex`,
//! `regex_no_match`, `regex_options`, `regex_stack`, `regex_min_offset`, `regex_max_offset`).
//!
//! keepalived compiles the pattern with PCRE2 and searches the response body for it: the check
//! fails when the pattern is not found (or, with `regex_no_match`, when it is). Vigil compiles it
//! with the Rust `regex` crate (byte-oriented, as PCRE2 is without `utf`), which has no
//! backtracking: a pattern that needs PCRE-only syntax (back-references, look-around, `\C`,
//! possessive quantifiers, recursion) does not compile and is refused at its line, never run as
//! something else. What each PCRE2 option becomes:
//!
//! | option | in Vigil |
//! |---|---|
//! | `caseless`, `dotall`, `multiline`, `extended`, `ungreedy` | the same flag (`i`, `s`, `m`, `x`, swapped greed) |
//! | `utf`, `ucp` | Unicode mode (`.` is a character, `\w` and classes are Unicode); default and `never_utf` / `never_ucp`: bytes and ASCII classes, as PCRE2's default |
//! | `dollar_endonly` | `$` only at the very end; by default `$` also matches before a final newline, as PCRE2's does |
//! | `firstline` | the match must start on the body's first line |
//! | `no_auto_capture`, `no_auto_possess`, `no_dotstar_anchor`, `no_start_optimize`, `auto_callout`, `use_offset_limit`, `dupnames`, `match_unset_backref`, `never_backslash_c`, `allow_empty_class` | accepted: they change PCRE2's optimisations or syntax Vigil does not accept anyway (a pattern that needs them does not compile and is refused) |
//! | `alt_bsux`, `alt_circumflex`, `alt_verbnames` | refused: they change what PCRE2 syntax means, and the Rust syntax has no such mode |
//!
//! `regex_min_offset N`: the match starts at or after byte N of the body; `regex_max_offset N`:
//! at or before byte N (keepalived's "maximum offset for the start of the subject match").
//! `regex_stack START MAX` sizes PCRE2's JIT stack; the Rust engine has none: accepted, dumped,
//! no effect.

use regex::bytes::{Regex, RegexBuilder};

/// The PCRE2 option names keepalived accepts, in keepalived's table order (for the dump).
pub(super) const OPTION_NAMES: [&str; 24] = [
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

/// Options that change PCRE2's syntax in a way the Rust syntax cannot follow.
const REFUSED: [&str; 3] = ["alt_bsux", "alt_circumflex", "alt_verbnames"];

/// A url's body regular expression, compiled once at configuration time.
#[derive(Clone, Debug)]
pub struct BodyRegex {
    /// `regex`: the pattern as written.
    pub pattern: String,
    /// `regex_no_match`: a match fails the check.
    pub no_match: bool,
    /// `regex_options`, as keepalived's option names, in keepalived's table order.
    pub options: Vec<&'static str>,
    /// `regex_min_offset`: the first body byte a match may start at.
    pub min_offset: usize,
    /// `regex_max_offset`: the last body byte a match may start at.
    pub max_offset: Option<usize>,
    /// `regex_stack START MAX` (no effect: see the module docs).
    pub stack: Option<(u64, u64)>,
    compiled: Regex,
}

impl PartialEq for BodyRegex {
    /// Same pattern, options and offsets (the compiled form follows from them).
    fn eq(&self, o: &Self) -> bool {
        self.pattern == o.pattern
            && self.no_match == o.no_match
            && self.options == o.options
            && self.min_offset == o.min_offset
            && self.max_offset == o.max_offset
            && self.stack == o.stack
    }
}

impl Eq for BodyRegex {}

impl BodyRegex {
    /// Compile `pattern` with keepalived's option names; the error says what is wrong.
    pub fn new(pattern: &str, options: &[&str]) -> Result<BodyRegex, String> {
        let mut opts: Vec<&'static str> = Vec::new();
        for o in options {
            let Some(name) = OPTION_NAMES.iter().find(|n| *n == o) else {
                return Err(format!(
                    "regex_options: unknown option '{o}' (keepalived's are: {})",
                    OPTION_NAMES.join(" ")
                ));
            };
            if REFUSED.contains(name) {
                return Err(format!(
                    "regex_options: '{name}' changes the meaning of PCRE2 syntax, which Vigil's \
                     regular expressions (the Rust regex crate) have no mode for"
                ));
            }
            if !opts.contains(name) {
                opts.push(name);
            }
        }
        opts.sort_by_key(|n| OPTION_NAMES.iter().position(|m| m == n));
        let has = |n: &str| opts.contains(&n);
        let compiled = RegexBuilder::new(pattern)
            .case_insensitive(has("caseless"))
            .dot_matches_new_line(has("dotall"))
            .multi_line(has("multiline"))
            .ignore_whitespace(has("extended"))
            .swap_greed(has("ungreedy"))
            .unicode(has("utf") || has("ucp"))
            .build()
            .map_err(|e| format!("regex: cannot compile '{pattern}': {}", one_line(&e)))?;
        Ok(BodyRegex {
            pattern: pattern.to_string(),
            no_match: false,
            options: opts,
            min_offset: 0,
            max_offset: None,
            stack: None,
            compiled,
        })
    }

    /// Whether the pattern is found in `body` with keepalived's offsets and options (before
    /// `regex_no_match` is applied: see [`BodyRegex::passes`]).
    pub fn found(&self, body: &[u8]) -> bool {
        let has = |n: &str| self.options.contains(&n);
        let mut last_start = self.max_offset.unwrap_or(usize::MAX);
        if has("firstline") {
            let first_nl = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            last_start = last_start.min(first_nl);
        }
        let start = self.min_offset;
        if start > body.len() || start > last_start {
            return false;
        }
        let within = |hay: &[u8]| {
            self.compiled
                .find_at(hay, start)
                .is_some_and(|m| m.start() <= last_start)
        };
        if within(body) {
            return true;
        }
        // PCRE2's `$` (without dollar_endonly or multiline) also matches before a final
        // newline: search again without it.
        let multiline = has("multiline");
        match body.split_last() {
            Some((b'\n', rest)) if !has("dollar_endonly") && !multiline && start <= rest.len() => {
                within(rest)
            }
            _ => false,
        }
    }

    /// The url's regex verdict on `body`: found, or with `regex_no_match` not found.
    pub fn passes(&self, body: &[u8]) -> bool {
        self.found(body) != self.no_match
    }
}

/// The regex crate's message without its multi-line caret drawing (a diagnostic is one line).
fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    let reason = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("error: "))
        .map(str::to_string);
    reason.unwrap_or_else(|| text.lines().map(str::trim).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::BodyRegex;

    fn re(p: &str, o: &[&str]) -> BodyRegex {
        match BodyRegex::new(p, o) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn regex_is_searched_anywhere_in_the_body() {
        let r = re("status: (ok|ready)", &[]);
        assert!(r.passes(b"<html>\nstatus: ready\n</html>"));
        assert!(!r.passes(b"<html>\nstatus: down\n</html>"));
    }

    #[test]
    fn regex_no_match_fails_on_a_match() {
        let mut r = re("ERROR", &[]);
        r.no_match = true;
        assert!(!r.passes(b"an ERROR page"));
        assert!(r.passes(b"all good"));
    }

    #[test]
    fn regex_options_caseless_multiline_dotall_extended_ungreedy() {
        assert!(re("ok", &["caseless"]).found(b"OK"));
        assert!(!re("ok", &[]).found(b"OK"));
        assert!(re("^up$", &["multiline"]).found(b"state\nup\nmore"));
        assert!(!re("^up$", &[]).found(b"state\nup\nmore"));
        assert!(re("a.b", &["dotall"]).found(b"a\nb"));
        assert!(!re("a.b", &[]).found(b"a\nb"));
        assert!(re("o k # a comment", &["extended"]).found(b"ok"));
        assert_eq!(re("a+", &["ungreedy"]).options, vec!["ungreedy"]);
    }

    #[test]
    fn dollar_matches_before_a_final_newline_unless_dollar_endonly() {
        assert!(re("done$", &[]).found(b"work done\n"));
        assert!(!re("done$", &["dollar_endonly"]).found(b"work done\n"));
        assert!(re("done$", &["dollar_endonly"]).found(b"work done"));
    }

    #[test]
    fn firstline_and_offsets_bound_where_a_match_may_start() {
        assert!(re("ok", &["firstline"]).found(b"ok\nrest"));
        assert!(!re("ok", &["firstline"]).found(b"first\nok"));
        let mut r = re("ok", &[]);
        r.min_offset = 3;
        assert!(!r.found(b"ok ..."));
        assert!(r.found(b"...ok"));
        r.min_offset = 0;
        r.max_offset = Some(2);
        assert!(r.found(b"..ok"));
        assert!(!r.found(b"...ok"));
        r.min_offset = 10;
        assert!(!r.found(b"short"));
    }

    #[test]
    fn bytes_and_ascii_classes_by_default_unicode_with_utf() {
        // Without utf, `.` is one byte: "é" is two.
        assert!(re("^..$", &[]).found("é".as_bytes()));
        assert!(re("^.$", &["utf"]).found("é".as_bytes()));
        assert!(!re(r"^\w$", &[]).found("é".as_bytes()));
        assert!(re(r"^\w$", &["ucp"]).found("é".as_bytes()));
    }

    #[test]
    fn pcre_only_syntax_and_syntax_changing_options_are_refused() {
        assert!(BodyRegex::new(r"(a)\1", &[]).is_err());
        assert!(BodyRegex::new(r"a(?=b)", &[]).is_err());
        assert!(BodyRegex::new("ok", &["alt_bsux"]).is_err());
        assert!(BodyRegex::new("ok", &["no_such_option"]).is_err());
        assert!(BodyRegex::new("ok", &["no_auto_capture", "use_offset_limit"]).is_ok());
    }
}
