//! Shell wildcards for `include GLOB`: brace expansion and per-component matching. Pure
//! functions, shared by the in-memory loader of the engine and the filesystem loader of `vigild`
//! (re-exported by [`super::include`], where they were until include.rs passed 800 lines).

/// Expands csh-style braces: `a{b,c}d` gives `abd` and `acd`. Unbalanced braces stay literal.
/// At most 1024 results (a guard against `{a,b}{a,b}...`).
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, &mut out);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= 1024 {
        return;
    }
    let bytes = pattern.as_bytes();
    let Some(open) = pattern.find('{') else {
        out.push(pattern.to_string());
        return;
    };
    let mut depth = 0usize;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(pattern.to_string());
        return;
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut start = open + 1;
    let mut alts = Vec::new();
    for c in commas.iter().copied().chain(std::iter::once(close)) {
        alts.push(&pattern[start..c]);
        start = c + 1;
    }
    for alt in alts {
        expand_into(&format!("{prefix}{alt}{suffix}"), out);
    }
}

/// Whether `name` matches the shell wildcard `pattern` (`*`, `?`, `[abc]`, `[a-z]`, `[!a]`,
/// backslash escapes). Used per path component: `*` matches any run of characters and does not
/// care about `/`, so callers split paths first. A leading `.` is only matched literally.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    // An ASCII byte is an ASCII character: the same matcher over bytes, without collecting
    // either string into characters (an allocation and a copy each, per component and file:
    // a third of the config fuzz target's instructions once the path splitting was gone).
    if pattern.is_ascii() && name.is_ascii() {
        return units_match(pattern.as_bytes(), name.as_bytes());
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    units_match(&p, &n)
}

/// A character of a glob or a name: a `char`, or a byte of an all-ASCII string.
trait Unit: Copy + PartialEq + PartialOrd {
    /// Whether this is the ASCII character `c`.
    fn is(self, c: u8) -> bool;
}

impl Unit for u8 {
    fn is(self, c: u8) -> bool {
        self == c
    }
}

impl Unit for char {
    fn is(self, c: u8) -> bool {
        self == char::from(c)
    }
}

/// [`glob_match`] on the characters of the pattern and the name.
fn units_match<T: Unit>(p: &[T], n: &[T]) -> bool {
    if n.first().is_some_and(|c| c.is(b'.')) && !p.first().is_some_and(|c| c.is(b'.')) {
        return false;
    }
    // Iterative matcher with one backtrack point for `*` (linear-ish, no recursion).
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            let c = p[pi];
            if c.is(b'*') {
                star = Some((pi, ni));
                pi += 1;
                continue;
            } else if c.is(b'?') {
                pi += 1;
                ni += 1;
                continue;
            } else if c.is(b'[') {
                if let Some((matched, next)) = class_match(p, pi, n[ni]) {
                    if matched {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                } else if n[ni].is(b'[') {
                    pi += 1;
                    ni += 1;
                    continue;
                }
            } else if c.is(b'\\') && pi + 1 < p.len() {
                if p[pi + 1] == n[ni] {
                    pi += 2;
                    ni += 1;
                    continue;
                }
            } else if c == n[ni] {
                pi += 1;
                ni += 1;
                continue;
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi].is(b'*') {
        pi += 1;
    }
    pi == p.len()
}

/// Matches `c` against the class starting at `p[at] == '['`: `Some((matched, index after ']'))`,
/// or `None` when the class is not closed (then `[` is literal).
fn class_match<T: Unit>(p: &[T], at: usize, c: T) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = p.get(i).is_some_and(|&u| u.is(b'!') || u.is(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i].is(b']') && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1].is(b'-') && !p[i + 2].is(b']') {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Matches a whole `/`-separated path against a pattern, component by component: as many
/// components, each matching. Stops at the first component that does not match, without
/// collecting either path (an `include` repeated by `~SEQ` globs once per line; collecting both
/// component lists per file was most of the config fuzz target's instructions).
pub fn path_glob_match(pattern: &str, path: &str) -> bool {
    let (mut pc, mut nc) = (components(pattern), components(path));
    loop {
        match (pc.next(), nc.next()) {
            (Some(p), Some(n)) => {
                if !glob_match(p, n) {
                    return false;
                }
            }
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The `/`-separated components of `path`, as `path.split('/')` gives them (`""` before a
/// leading `/`, after a trailing one and between two). Found by a byte search: `split('/')`
/// compares each match's encoding as a slice, a `bcmp` call that the fuzz build intercepts.
pub(crate) fn components(path: &str) -> Components<'_> {
    Components { rest: Some(path) }
}

/// The iterator of [`components`].
pub(crate) struct Components<'s> {
    rest: Option<&'s str>,
}

impl<'s> Iterator for Components<'s> {
    type Item = &'s str;

    fn next(&mut self) -> Option<&'s str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == b'/') {
            // `/` is one byte in UTF-8: both sides of it are character boundaries.
            Some(i) => {
                self.rest = rest.get(i + 1..);
                rest.get(..i)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}
