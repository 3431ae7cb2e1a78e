//! keepalived's line preprocessing: `@ID` / `@^ID` conditional lines, `$NAME=VALUE` parameters
//! (multi-line with a trailing `\`), `$NAME` / `${NAME}` substitution and `~SEQ(...)` lines.
//!
//! Everything here is pure: the config id and the directory of the current file come in as
//! values. `${_RANDOM}` expands to its minimum (0 unless given) because the engine has no
//! randomness; a fuzzer run must be reproducible.

use super::fast_hash::FastMap;
use super::lexer::{is_space_char, trim_blanks_start, trim_line};
use super::rt_names::c_number;

/// Limits that keep hostile input from exploding (a parameter defined in terms of itself, or
/// doubling at every level): past them the line is rejected with an error.
pub const MAX_SUBSTITUTIONS: usize = 10_000;
/// Longest line that substitution may produce, in bytes.
pub const MAX_EXPANDED_LEN: usize = 1 << 20;
/// Largest number of lines one `~SEQ` may generate.
pub const MAX_SEQ_LINES: i64 = 100_000;
/// Most bytes that substituting into one line may move (each substitution rewrites the rest of
/// the line): a parameter doubled a dozen times makes a line of 128 KiB in 4,095 substitutions
/// that moved gigabytes (found by the config fuzz target).
pub const MAX_SUBSTITUTION_WORK: usize = 4 * MAX_EXPANDED_LEN;
/// What one substitution counts for in [`Params::work`] besides the bytes it moves (the lookup
/// and the rescan): a line of 4,095 small substitutions costs far more than its bytes.
pub const SUBSTITUTION_COST: usize = 32;

/// The parameter table and the config id.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// The slot of each defined parameter in `values`. Deterministic hashing (no per-process
    /// random seed): the same input takes the same path in every process, which the fuzz
    /// target's coverage feedback relies on.
    defs: FastMap<String, usize>,
    /// The value of each defined parameter, by slot (one string per line). A parameter is never
    /// undefined, so a slot stays its parameter's: a `~SEQ` looks its variable up once and sets
    /// the value of each round by slot ([`Params::slot`], [`Params::set_number`]).
    values: Vec<Vec<String>>,
    /// The config id that `@ID` lines are compared against (keepalived's `-i`); `None` matches no
    /// `@ID` line and every `@^ID` line.
    pub config_id: Option<String>,
    /// Bytes moved by every substitution so far, plus [`SUBSTITUTION_COST`] each
    /// ([`Params::work`]).
    work: std::cell::Cell<usize>,
}

/// Where a defined parameter's value is kept ([`Params::slot`]): the same for the life of the
/// table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSlot(usize);

/// The result of substituting parameters into one line.
#[derive(Debug, PartialEq, Eq)]
pub enum Expanded {
    /// The line, fully substituted.
    Line(String),
    /// A multi-line parameter was expanded: these lines must each go through the whole line
    /// pipeline again, in order (they may define parameters used by later ones).
    Lines(Vec<String>),
}

/// A parameter's value as substitution uses it, borrowed from the table.
enum Value<'a> {
    /// A one-line value.
    One(&'a str),
    /// A multi-line value: two lines or more.
    Many(&'a [String]),
}

/// A `$NAME=VALUE` definition found on a line.
#[derive(Debug, PartialEq, Eq)]
pub struct Definition {
    /// The parameter name.
    pub name: String,
    /// The value on this line (without a trailing `\`).
    pub value: String,
    /// Whether the line ended with `\` (the value continues on the next lines).
    pub continues: bool,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Params {
    /// A parameter table with the given config id.
    pub fn new(config_id: Option<String>) -> Self {
        Params {
            defs: FastMap::default(),
            values: Vec::new(),
            config_id,
            work: std::cell::Cell::new(0),
        }
    }

    /// Applies a conditional prefix to a line already trimmed on the left. Returns the part of the
    /// line to keep and how many characters were removed from its start, or `None` when the line
    /// is for another config id.
    pub fn conditional<'a>(&self, line: &'a str) -> Option<(&'a str, usize)> {
        let Some(rest) = line.strip_prefix('@') else {
            return Some((line, 0));
        };
        let (negate, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        // keepalived: the id ends at the first space or tab (`strpbrk(buf + ofs, " \t")`).
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let id = &rest[..end];
        let matches = self.config_id.as_deref() == Some(id);
        if matches == negate {
            return None;
        }
        let after = &rest[end..];
        let kept = trim_blanks_start(after);
        let removed = line.chars().count() - kept.chars().count();
        Some((kept, removed))
    }

    /// Recognises `$NAME=VALUE` (no space before `=`).
    pub fn definition(line: &str) -> Option<Definition> {
        let rest = line.strip_prefix('$')?;
        let mut chars = rest.char_indices();
        let (_, first) = chars.next()?;
        if !is_name_start(first) {
            return None;
        }
        let mut eq = None;
        for (i, c) in chars {
            if c == '=' {
                eq = Some(i);
                break;
            }
            if !is_name_char(c) {
                return None;
            }
        }
        let eq = eq?;
        let name = rest[..eq].to_string();
        let value = trim_line(&rest[eq + 1..]);
        let (value, continues) = match value.strip_suffix('\\') {
            Some(v) => (v.trim_end_matches([' ', '\t']).to_string(), true),
            None => (value.to_string(), false),
        };
        Some(Definition {
            name,
            value,
            continues,
        })
    }

    /// Defines (or redefines) a parameter; a multi-line value is one string per line.
    pub fn define(&mut self, name: String, lines: Vec<String>) {
        match self.defs.get(&name) {
            Some(&k) => self.values[k] = lines,
            None => {
                self.defs.insert(name, self.values.len());
                self.values.push(lines);
            }
        }
    }

    /// The value of a defined parameter, one string per line.
    fn lines(&self, name: &str) -> Option<&[String]> {
        self.defs.get(name).map(|&k| self.values[k].as_slice())
    }

    /// A parameter's value, borrowed from the table (substitution copies it into the line; a
    /// copy per substitution was an allocation or two each, found by the config fuzz target's
    /// profile): the built-in parameters, then the defined ones; a one-line value as a string, a
    /// multi-line one as its lines (an empty value is the empty string, as a one-line one).
    fn value<'a>(&'a self, name: &str, pwd: &'a str) -> Option<Value<'a>> {
        Some(match name {
            "_PWD" => Value::One(pwd),
            "_INSTANCE" => Value::One(self.config_id.as_deref().unwrap_or("")),
            "_HASH" => Value::One("#"),
            "_BANG" => Value::One("!"),
            _ => match self.lines(name)? {
                [] => Value::One(""),
                [one] => Value::One(one),
                many => Value::Many(many),
            },
        })
    }

    /// Defines a one-line parameter. The reader sets a `~SEQ`'s variable by slot
    /// ([`Params::set_number`]); this is the plain form the tests compare that with.
    #[cfg(test)]
    pub fn define_one(&mut self, name: &str, value: String) {
        let ParamSlot(k) = self.slot(name);
        let lines = &mut self.values[k];
        lines.clear();
        lines.push(value);
    }

    /// The slot of parameter `name`, which the caller defines at once with
    /// [`Params::set_number`]: defined as the empty value if it was not defined.
    pub fn slot(&mut self, name: &str) -> ParamSlot {
        match self.defs.get(name) {
            Some(&k) => ParamSlot(k),
            None => {
                let k = self.values.len();
                self.defs.insert(name.to_string(), k);
                self.values.push(Vec::new());
                ParamSlot(k)
            }
        }
    }

    /// Defines the parameter of `slot` as `seq`'s value `v` (one line): what
    /// `define_one(name, v formatted)` does, without the look-up, and in the string the slot
    /// already holds when it holds one line (a `~SEQ` round).
    pub fn set_number(&mut self, slot: ParamSlot, seq: &Seq, v: i64) {
        if let Some(line) = self.one_line(slot) {
            seq.write(v, line);
        }
    }

    /// Defines the parameter of `slot` as `value` (one line): a `~LST` round.
    pub fn set_text(&mut self, slot: ParamSlot, value: &str) {
        if let Some(line) = self.one_line(slot) {
            line.push_str(value);
        }
    }

    /// The value of `slot` made one empty line, in the string it already holds when it holds
    /// one line, for a round to write into.
    fn one_line(&mut self, slot: ParamSlot) -> Option<&mut String> {
        let lines = self.values.get_mut(slot.0)?;
        if lines.len() != 1 {
            lines.clear();
            lines.push(String::new());
        }
        let line = lines.first_mut()?;
        line.clear();
        Some(line)
    }

    /// Bytes moved by every substitution so far: the preprocessor counts them against its budget
    /// for the whole configuration.
    pub fn work(&self) -> usize {
        self.work.get()
    }

    /// Substitutes `$NAME` (followed by whitespace or the end of the line) and `${NAME}`.
    /// Undefined parameters stay as written. Substitution is recursive (a value may name other
    /// parameters); past [`MAX_SUBSTITUTIONS`], [`MAX_EXPANDED_LEN`] or
    /// [`MAX_SUBSTITUTION_WORK`] it is an error.
    pub fn substitute(&self, line: &str, pwd: &str) -> Result<Expanded, String> {
        if !line.contains('$') {
            return Ok(Expanded::Line(line.to_string()));
        }
        // Room for the line to double: a substitution nearly always lengthens it, and growing
        // the exact copy reallocated it on most lines (the config fuzz target's profile).
        let mut s = String::with_capacity(line.len().saturating_mul(2).max(64));
        s.push_str(line);
        let mut pos = 0usize;
        let mut count = 0usize;
        let mut line_work = 0usize;
        // `str::find` with a `char`: `core`'s `memchr`, which the fuzz build does not
        // instrument (a byte loop written here is, and cost 70 % more in the target).
        while let Some(off) = s[pos..].find('$') {
            let at = pos + off;
            let after = &s[at + 1..];
            let (name, end, braced) = if let Some(inner) = after.strip_prefix('{') {
                let Some(close) = inner.find('}') else {
                    pos = at + 1;
                    continue;
                };
                (&inner[..close], at + 2 + close + 1, true)
            } else {
                let len = after
                    .char_indices()
                    .find(|&(_, c)| !is_name_char(c))
                    .map(|(i, _)| i)
                    .unwrap_or(after.len());
                (&after[..len], at + 1 + len, false)
            };
            // keepalived's `find_definition`: an unbraced name ends at a space, a tab, a comma,
            // a closing parenthesis or the end of the line; otherwise it is not a parameter.
            let followed_ok = braced
                || end == s.len()
                || matches!(s.as_bytes().get(end), Some(b' ' | b'\t' | b',' | b')'));
            // `_RANDOM`'s minimum is a part of the line: copied, as the line is rewritten. Only
            // a braced name can hold a space; the prefix test spares the split on other names.
            let random;
            let value = if braced
                && name.starts_with("_RANDOM")
                && name.split(' ').next() == Some("_RANDOM")
            {
                random = (name.split(' ').filter(|w| !w.is_empty()))
                    .nth(1)
                    .unwrap_or("0")
                    .to_string();
                Some(Value::One(random.as_str()))
            } else if name.is_empty() || !is_name_start(name.chars().next().unwrap_or('0')) {
                None
            } else if followed_ok {
                self.value(name, pwd)
            } else {
                None
            };
            let Some(value) = value else {
                pos = at + 1;
                continue;
            };
            count += 1;
            if count > MAX_SUBSTITUTIONS {
                return Err(format!(
                    "parameter expansion does not terminate (more than {MAX_SUBSTITUTIONS} substitutions): is a parameter defined in terms of itself?"
                ));
            }
            let v = match value {
                Value::Many(value) => {
                    let mut lines = Vec::with_capacity(value.len());
                    let last = value.len() - 1;
                    for (i, v) in value.iter().enumerate() {
                        // Sized at once: the pieces reallocated the line up to twice.
                        let head = if i == 0 { at } else { 0 };
                        let tail = if i == last { s.len() - end } else { 0 };
                        let mut l = String::with_capacity(head + v.len() + tail);
                        if i == 0 {
                            l.push_str(&s[..at]);
                        }
                        l.push_str(v);
                        if i == last {
                            l.push_str(&s[end..]);
                        }
                        lines.push(l);
                    }
                    return Ok(Expanded::Lines(lines));
                }
                Value::One(v) => v,
            };
            if s.len() - (end - at) + v.len() > MAX_EXPANDED_LEN {
                return Err(format!(
                    "parameter expansion makes a line longer than {MAX_EXPANDED_LEN} bytes"
                ));
            }
            let moved = s.len() - at + v.len() + SUBSTITUTION_COST;
            line_work += moved;
            self.work.set(self.work.get().saturating_add(moved));
            if line_work > MAX_SUBSTITUTION_WORK {
                return Err(format!(
                    "parameter expansion moves more than {MAX_SUBSTITUTION_WORK} bytes for one line: parameters that multiply?"
                ));
            }
            s.replace_range(at..end, v);
            // Rescan from the same place: the value may itself name parameters.
            pos = at;
        }
        Ok(Expanded::Line(s))
    }
}

/// One `~SEQ(var, start, step, end)` or `~SEQx(...)` prefix.
///
/// The values are made one at a time as the rounds run ([`Seq::values`], [`Seq::write`]):
/// formatting all of them first was an allocation per value, up to [`MAX_SEQ_LINES`] for a
/// line whose rounds the expansion bounds then cut short (a tenth of the config fuzz target's
/// instructions past its corpus, with the table look-up of each round).
#[derive(Debug, PartialEq, Eq)]
pub struct Seq {
    /// The variable defined on each round.
    pub var: String,
    start: i64,
    step: i64,
    end: i64,
    hex: bool,
}

impl Seq {
    /// The values, in order: from the start by the step while not past the end (and not past
    /// `i64`'s range).
    pub fn values(&self) -> impl Iterator<Item = i64> {
        let (step, end) = (self.step, self.end);
        std::iter::successors(Some(self.start), move |v| v.checked_add(step))
            .take_while(move |&v| (step > 0 && v <= end) || (step < 0 && v >= end))
    }

    /// Appends value `v` as the variable holds it: decimal, or hexadecimal (lower case, a `-`
    /// before a negative one) for `~SEQx`.
    ///
    /// The digits are made here, not by `write!`: the formatting machinery cost more than the
    /// table look-up it replaced (a `~SEQ` round is little else).
    pub fn write(&self, v: i64, out: &mut String) {
        let radix: u64 = if self.hex { 16 } else { 10 };
        // 20 digits hold any `u64` in decimal (16 in hexadecimal).
        let mut digits = [0u8; 20];
        let mut n = v.unsigned_abs();
        let mut at = digits.len();
        loop {
            at -= 1;
            let d = (n % radix) as u8;
            digits[at] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
            n /= radix;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            out.push('-');
        }
        // ASCII digits: always UTF-8.
        out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
    }
}

/// Parses a line that starts `~SEQ`, as keepalived's `add_seq` reads it (lib/parser.c):
/// `~SEQ` or `~SEQx`, spaces or tabs, `(var, [start, [step,]] end)` with the numbers as C's
/// `strtol` reads them (a sign, `0x` hexadecimal, a leading `0` octal), then the rest of the
/// line after spaces and tabs. Any line that starts `~SEQ` is one (keepalived reports one it
/// cannot read and drops the line); `None` for other lines. Parameters in the parentheses are
/// the reader's to substitute first ([`seq_arguments`]).
pub fn parse_seq(line: &str) -> Option<Result<(Seq, &str), String>> {
    let rest = line.strip_prefix("~SEQ")?;
    let (hex, rest) = match rest.strip_prefix('x') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let Some(rest) = trim_blanks_start(rest).strip_prefix('(') else {
        return Some(Err("~SEQ: expected '(' after ~SEQ".to_string()));
    };
    let Some(close) = rest.find(')') else {
        return Some(Err("~SEQ(: expected ')'".to_string()));
    };
    let args: Vec<&str> = (rest[..close].split(','))
        .map(|a| a.trim_matches(is_space_char))
        .collect();
    let num = |s: &str| strtol(s).ok_or_else(|| format!("~SEQ: expected an integer, found '{s}'"));
    let parsed = (|| -> Result<(String, i64, i64, i64), String> {
        let var = args.first().copied().unwrap_or("");
        if var.is_empty() || !var.chars().all(is_name_char) {
            return Err(format!("~SEQ: expected a variable name, found '{var}'"));
        }
        let (start, step, end) = match args.len() {
            2 => {
                let end = num(args[1])?;
                let step = if end < 1 { -1 } else { 1 };
                let start = if end < 0 { -1 } else { 1 };
                (start, step, end)
            }
            3 => {
                let start = num(args[1])?;
                let end = num(args[2])?;
                (start, if start <= end { 1 } else { -1 }, end)
            }
            4 => {
                let (start, step, end) = (num(args[1])?, num(args[2])?, num(args[3])?);
                if step == 0 {
                    return Err("~SEQ: the step must not be 0".to_string());
                }
                if (start < end && step < 0) || (start > end && step > 0) {
                    return Err(format!(
                        "~SEQ: a step of {step} never goes from {start} to {end}"
                    ));
                }
                (start, step, end)
            }
            _ => return Err("~SEQ: expected (var, [start, [step,]] end)".to_string()),
        };
        if hex && (start < 0 || end < 0) {
            return Err("~SEQx is only valid for positive numbers".to_string());
        }
        Ok((var.to_string(), start, step, end))
    })();
    let (var, start, step, end) = match parsed {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    // Saturating: a sequence over `i64`'s whole range overflowed the count (a panic, or a
    // negative count let through in a release build), found by a test of the lazy values.
    let count = end
        .saturating_sub(start)
        .checked_div(step)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    if count > MAX_SEQ_LINES {
        return Some(Err(format!(
            "~SEQ would generate {count} lines (at most {MAX_SEQ_LINES})"
        )));
    }
    let seq = Seq {
        var,
        start,
        step,
        end,
        hex,
    };
    Some(Ok((seq, trim_blanks_start(&rest[close + 1..]))))
}

/// One `~LST(var, value, value, ...)` or `~LST({var, var}, {value, value}, ...)` prefix
/// (keepalived.conf(5) "List blocks"; keepalived 2.2.7's `add_lst`, lib/parser.c): the rest of
/// the line is read once per value set, with each variable set to its value of the set.
#[derive(Debug, PartialEq, Eq)]
pub struct Lst {
    /// The variables, in order.
    pub vars: Vec<String>,
    /// The value sets, in order, each as long as `vars` (keepalived leaves a missing value
    /// empty).
    pub sets: Vec<Vec<String>>,
}

/// Parses a line that starts `~LST`, as keepalived's `add_lst` reads it: spaces or tabs around
/// every part; one variable, or several in braces; then the value sets, each one value or
/// several in braces (a value ends at a space, tab, comma, brace or parenthesis; more values
/// than variables is an error); then `)` and the rest of the line. `None` for other lines.
pub fn parse_lst(line: &str) -> Option<Result<(Lst, &str), String>> {
    let rest = line.strip_prefix("~LST")?;
    let bad = || Some(Err(format!("invalid ~LST specification '{line}'")));
    let Some(mut p) = trim_blanks_start(rest).strip_prefix('(') else {
        return bad();
    };
    p = trim_blanks_start(p);
    let braced = p.starts_with('{');
    if braced {
        p = skip(p, 1);
    }
    let mut vars = Vec::new();
    loop {
        let n = p.find([' ', '\t', ',', '}']).unwrap_or(p.len());
        vars.push(p[..n].to_string());
        p = skip(p, n);
        if p.starts_with(if braced { '}' } else { ',' }) {
            break;
        }
        if !p.starts_with(',') {
            return bad();
        }
        p = skip(p, 1);
    }
    if p.starts_with('}') {
        p = skip(p, 1);
    }
    let Some(after) = p.strip_prefix(',') else {
        return bad();
    };
    p = trim_blanks_start(after);
    let mut sets = Vec::new();
    loop {
        let braced = p.starts_with('{');
        if braced {
            p = skip(p, 1);
        }
        let mut set = Vec::with_capacity(vars.len());
        loop {
            let n = p.find([' ', '\t', ',', '}', ')']).unwrap_or(p.len());
            set.push(p[..n].to_string());
            p = skip(p, n);
            if p.starts_with(if braced { '}' } else { ',' }) || (!braced && p.starts_with(')')) {
                break;
            }
            if !p.starts_with(',') {
                return bad();
            }
            p = skip(p, 1);
            if set.len() >= vars.len() {
                return Some(Err(format!(
                    "~LST specification has too many values '{line}'"
                )));
            }
        }
        set.resize(vars.len(), String::new());
        sets.push(set);
        if braced && p.starts_with('}') {
            p = skip(p, 1);
        }
        if p.starts_with(')') {
            break;
        }
        if !p.starts_with(',') {
            return bad();
        }
        p = skip(p, 1);
    }
    Some(Ok((Lst { vars, sets }, skip(p, 1))))
}

/// `p` past its first `n` bytes and the spaces and tabs after them.
fn skip(p: &str, n: usize) -> &str {
    trim_blanks_start(p.get(n..).unwrap_or(""))
}

/// The byte range of a `~SEQ` line's arguments after the variable (from just after the first
/// comma in the parentheses to the closing one): keepalived substitutes parameters there
/// before it reads the numbers. `None` when the line has no such part.
pub fn seq_arguments(line: &str) -> Option<core::ops::Range<usize>> {
    let open = line.find('(')?;
    let close = open + line[open..].find(')')?;
    let comma = open + line[open..close].find(',')?;
    Some(comma + 1..close)
}

/// An integer as C's `strtol(s, &end, 0)` reads it, when it reads all of `s`: an optional sign,
/// then what [`c_number`] reads (`0x` hexadecimal, a leading `0` octal, else decimal). `None`
/// for anything else and for a value outside `i64`.
fn strtol(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    // `c_number`'s radix parse would also take a sign after the prefix ("0x+5", "--5"); C's
    // does not.
    if !digits
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
    {
        return None;
    }
    let magnitude = c_number(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
