//! keepalived's line preprocessing: `@ID` / `@^ID` conditional lines, `$NAME=VALUE` parameters
//! (multi-line with a trailing `\`), `$NAME` / `${NAME}` substitution and `~SEQ(...)` lines.
//!
//! Everything here is pure: the config id and the directory of the current file come in as
//! values. `${_RANDOM}` expands to its minimum (0 unless given) because the engine has no
//! randomness; a fuzzer run must be reproducible.

use super::fast_hash::FastMap;

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
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let id = &rest[..end];
        let matches = self.config_id.as_deref() == Some(id);
        if matches == negate {
            return None;
        }
        let after = &rest[end..];
        let kept = after.trim_start();
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
        let value = rest[eq + 1..].trim();
        let (value, continues) = match value.strip_suffix('\\') {
            Some(v) => (v.trim_end().to_string(), true),
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

    /// Defines a one-line parameter, reusing the table's entry when it is already defined (a
    /// `~SEQ` redefines its variable on every round).
    pub fn define_one(&mut self, name: &str, value: String) {
        if let Some(&k) = self.defs.get(name) {
            let slot = &mut self.values[k];
            slot.clear();
            slot.push(value);
        } else {
            self.defs.insert(name.to_string(), self.values.len());
            self.values.push(vec![value]);
        }
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
        let Some(lines) = self.values.get_mut(slot.0) else {
            return;
        };
        if lines.len() != 1 {
            lines.clear();
            lines.push(String::new());
        }
        if let Some(line) = lines.first_mut() {
            line.clear();
            seq.write(v, line);
        }
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
            let followed_ok = braced || s[end..].starts_with(char::is_whitespace) || end == s.len();
            // `_RANDOM`'s minimum is a part of the line: copied, as the line is rewritten. Only
            // a braced name can hold a space; the prefix test spares the split on other names.
            let random;
            let value = if braced
                && name.trim_start().starts_with("_RANDOM")
                && name.split_whitespace().next() == Some("_RANDOM")
            {
                random = name.split_whitespace().nth(1).unwrap_or("0").to_string();
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

/// Parses a leading `~SEQ(...)`; returns the sequence and the rest of the line.
pub fn parse_seq(line: &str) -> Option<Result<(Seq, &str), String>> {
    let (hex, rest) = if let Some(r) = line.strip_prefix("~SEQx(") {
        (true, r)
    } else if let Some(r) = line.strip_prefix("~SEQ(") {
        (false, r)
    } else {
        return None;
    };
    let Some(close) = rest.find(')') else {
        return Some(Err("~SEQ(: expected ')'".to_string()));
    };
    let args: Vec<&str> = rest[..close].split(',').map(str::trim).collect();
    let num = |s: &str| -> Result<i64, String> {
        let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            i64::from_str_radix(h, 16)
        } else if let Some(h) = s.strip_prefix("-0x") {
            i64::from_str_radix(h, 16).map(|v| -v)
        } else {
            s.parse::<i64>()
        };
        r.map_err(|_| format!("~SEQ: expected an integer, found '{s}'"))
    };
    let parsed = (|| -> Result<(String, i64, i64, i64), String> {
        let var = args.first().copied().unwrap_or("");
        if var.is_empty() || !var.chars().all(is_name_char) {
            return Err(format!("~SEQ: expected a variable name, found '{var}'"));
        }
        let (start, step, end) = match args.len() {
            2 => {
                let end = num(args[1])?;
                let start = if end >= 0 { 1 } else { -1 };
                (start, if end >= start { 1 } else { -1 }, end)
            }
            3 => {
                let start = num(args[1])?;
                let end = num(args[2])?;
                (start, if end >= start { 1 } else { -1 }, end)
            }
            4 => (num(args[1])?, num(args[2])?, num(args[3])?),
            _ => return Err("~SEQ: expected (var, [start, [step,]] end)".to_string()),
        };
        Ok((var.to_string(), start, step, end))
    })();
    let (var, start, step, end) = match parsed {
        Ok(v) => v,
        Err(e) => return Some(Err(e)),
    };
    if step == 0 {
        return Some(Err("~SEQ: the step must not be 0".to_string()));
    }
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
    Some(Ok((seq, rest[close + 1..].trim_start())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(defs: &[(&str, &str)]) -> Params {
        let mut p = Params::new(Some("main".into()));
        for (k, v) in defs {
            p.define(k.to_string(), vec![v.to_string()]);
        }
        p
    }

    #[test]
    fn conditionals() {
        let p = p(&[]);
        assert_eq!(p.conditional("@main router_id a"), Some(("router_id a", 6)));
        assert_eq!(p.conditional("@backup router_id a"), None);
        assert_eq!(p.conditional("@^main x"), None);
        assert_eq!(p.conditional("@^backup x"), Some(("x", 9)));
        assert_eq!(p.conditional("plain"), Some(("plain", 0)));
    }

    #[test]
    fn definitions() {
        let d = Params::definition("$A=1 2").unwrap();
        assert_eq!(
            (d.name.as_str(), d.value.as_str(), d.continues),
            ("A", "1 2", false)
        );
        let d = Params::definition("$A= \\").unwrap();
        assert_eq!((d.value.as_str(), d.continues), ("", true));
        assert!(Params::definition("$A =1").is_none());
        assert!(Params::definition("$1A=1").is_none());
    }

    #[test]
    fn recursive_substitution_as_documented() {
        let mut p = p(&[("ADDRESS_BASE", "10.2.${ADDRESS_BASE_SUB}")]);
        p.define("ADDRESS_BASE_SUB".into(), vec!["0".into()]);
        assert_eq!(
            p.substitute("${ADDRESS_BASE}.100/32", "/").unwrap(),
            Expanded::Line("10.2.0.100/32".into())
        );
        // `$NAME` needs whitespace (or the end) after it.
        let p = p_simple();
        assert_eq!(
            p.substitute("a $X b $Xc $X", "/").unwrap(),
            Expanded::Line("a 1 b $Xc 1".into())
        );
        assert_eq!(
            p.substitute("$UNDEF ${UNDEF}", "/").unwrap(),
            Expanded::Line("$UNDEF ${UNDEF}".into())
        );
    }

    fn p_simple() -> Params {
        p(&[("X", "1")])
    }

    #[test]
    fn self_reference_is_an_error_not_a_hang() {
        let p = p(&[("A", "${A}${A}")]);
        assert!(p.substitute("${A}", "/").is_err());
        let p = p_loop();
        assert!(p.substitute("$A", "/").is_err());
    }

    fn p_loop() -> Params {
        p(&[("A", "$A")])
    }

    #[test]
    fn seq() {
        let (s, rest) = parse_seq("~SEQ(N, 0, 3) x ${N}").unwrap().unwrap();
        assert_eq!(formatted(&s), ["0", "1", "2", "3"]);
        assert_eq!(rest, "x ${N}");
        let (s, _) = parse_seq("~SEQx(N, 0x90, 0x10, 0xc0) y").unwrap().unwrap();
        assert_eq!(formatted(&s), ["90", "a0", "b0", "c0"]);
        assert!(parse_seq("~SEQ(N, 0, 0, 3)").unwrap().is_err());
        assert!(parse_seq("~SEQ(N, 0, 1, 99999999999)").unwrap().is_err());
    }

    /// `Params::substitute` as it was before it borrowed the values (session 12: a `Vec` and a
    /// `String` copied per substitution, the name copied per `$`), kept to compare with.
    fn old_substitute(p: &Params, line: &str, pwd: &str) -> Result<Expanded, String> {
        let lookup = |name: &str| -> Option<Vec<String>> {
            match name {
                "_PWD" => Some(vec![pwd.to_string()]),
                "_INSTANCE" => Some(vec![p.config_id.clone().unwrap_or_default()]),
                "_HASH" => Some(vec!["#".to_string()]),
                "_BANG" => Some(vec!["!".to_string()]),
                _ => p.lines(name).map(<[String]>::to_vec),
            }
        };
        if !line.contains('$') {
            return Ok(Expanded::Line(line.to_string()));
        }
        let mut s = line.to_string();
        let mut pos = 0usize;
        let mut count = 0usize;
        let mut line_work = 0usize;
        while let Some(off) = s[pos..].find('$') {
            let at = pos + off;
            let after = &s[at + 1..];
            let (name, end, braced) = if let Some(inner) = after.strip_prefix('{') {
                let Some(close) = inner.find('}') else {
                    pos = at + 1;
                    continue;
                };
                (inner[..close].to_string(), at + 2 + close + 1, true)
            } else {
                let len = after
                    .char_indices()
                    .find(|&(_, c)| !is_name_char(c))
                    .map(|(i, _)| i)
                    .unwrap_or(after.len());
                (after[..len].to_string(), at + 1 + len, false)
            };
            let followed_ok = braced || s[end..].starts_with(char::is_whitespace) || end == s.len();
            let base = name.split_whitespace().next().unwrap_or("");
            let value = if base == "_RANDOM" && braced {
                let min = name.split_whitespace().nth(1).unwrap_or("0");
                Some(vec![min.to_string()])
            } else if name.is_empty() || !is_name_start(name.chars().next().unwrap_or('0')) {
                None
            } else if followed_ok {
                lookup(&name)
            } else {
                None
            };
            let Some(value) = value else {
                pos = at + 1;
                continue;
            };
            count += 1;
            if count > MAX_SUBSTITUTIONS {
                return Err("too many".to_string());
            }
            if value.len() > 1 {
                let mut lines = Vec::with_capacity(value.len());
                let last = value.len() - 1;
                for (i, v) in value.iter().enumerate() {
                    let mut l = String::new();
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
            let v = value.into_iter().next().unwrap_or_default();
            if s.len() - (end - at) + v.len() > MAX_EXPANDED_LEN {
                return Err("too long".to_string());
            }
            let moved = s.len() - at + v.len() + SUBSTITUTION_COST;
            line_work += moved;
            p.work.set(p.work.get().saturating_add(moved));
            if line_work > MAX_SUBSTITUTION_WORK {
                return Err("too much work".to_string());
            }
            s.replace_range(at..end, &v);
            pos = at;
        }
        Ok(Expanded::Line(s))
    }

    /// The borrowing `substitute` gives what the copying one gave, errors and the work counted
    /// included, for lines of every shape against tables with one-line, multi-line, empty and
    /// self-referring values, built-ins and non-ASCII text.
    #[test]
    fn borrowed_values_substitute_as_copied_ones() {
        let mut tables = Vec::new();
        for id in [None, Some("main".to_string())] {
            let mut p = Params::new(id);
            p.define("X".into(), vec!["1".into()]);
            p.define("Y".into(), vec!["$X $X".into()]);
            p.define("M".into(), vec!["a $X".into(), "b".into(), "${Y} c".into()]);
            p.define("E".into(), Vec::new());
            p.define("Z".into(), vec![String::new()]);
            p.define("U".into(), vec!["é${X}ü".into()]);
            tables.push(p.clone());
            p.define("A".into(), vec!["${A}${A}".into()]);
            p.define("B".into(), vec!["$B".into()]);
            p.define("D".into(), vec!["${D2}${D2}".into()]);
            let mut prev = "D2".to_string();
            for i in 3..24 {
                let n = format!("D{i}");
                p.define(prev.clone(), vec![format!("${{{n}}}${{{n}}}")]);
                prev = n;
            }
            p.define(prev, vec!["xxxxxxxxxxxxxxxx".into()]);
            tables.push(p);
        }
        let lines = [
            "plain line",
            "$X",
            "${X}",
            "a $X b $Xc $X",
            "$X$X",
            "${X}${X}",
            "$ $$ ${",
            "${X",
            "${}",
            "${1X}",
            "$1X",
            "${ X}",
            "${X }",
            "$Y",
            "${Y}x",
            "$M",
            "x ${M} y",
            "${E}|",
            "$E",
            "${Z}${Z}",
            "$U",
            "é $X ü ${U}",
            "${_RANDOM}",
            "${_RANDOM 5}",
            "${_RANDOM 7 9} $X",
            "${ _RANDOM 3}",
            "${_RANDOMX 2}",
            "${\u{2003}_RANDOM 4}",
            "${_RANDOM\t8}",
            "$_RANDOM",
            "${_PWD}/f",
            "$_PWD",
            "${_INSTANCE}",
            "$_INSTANCE x",
            "${_HASH}${_BANG}",
            "$_HASH",
            "$UNDEF ${UNDEF}",
            "${A}",
            "$A",
            "$B",
            "${B}",
            "${D}",
            "x ${D}",
            "$X\t$Y",
            "$X\u{2003}$X",
            "${X}\u{2003}",
            "ünïcode ${M}",
            "${X}$",
            "$$X",
            "$${X}",
        ];
        // One line, several lines, an error: each compared at least once.
        let mut shapes = [0usize; 3];
        for p in &tables {
            for line in lines {
                for pwd in ["/", "/etc/keepalived"] {
                    let before = p.work();
                    let old = old_substitute(p, line, pwd);
                    let old_moved = p.work() - before;
                    let before = p.work();
                    let new = p.substitute(line, pwd);
                    let new_moved = p.work() - before;
                    match (&old, &new) {
                        (Ok(a), Ok(b)) => {
                            assert_eq!(a, b, "{line:?}");
                            shapes[usize::from(matches!(a, Expanded::Lines(_)))] += 1;
                        }
                        (Err(_), Err(_)) => shapes[2] += 1,
                        _ => panic!("{line:?}: {old:?} vs {new:?}"),
                    }
                    assert_eq!(old_moved, new_moved, "{line:?}");
                }
            }
        }
        assert!(shapes.iter().all(|&n| n > 0), "{shapes:?}");
    }

    /// `define_one` leaves the table as `define` with one value does.
    #[test]
    fn define_one_is_define_with_one_value() {
        let mut a = Params::new(None);
        let mut b = Params::new(None);
        for (k, v) in [("N", "1"), ("M", "x"), ("N", "2"), ("N", ""), ("M", "y z")] {
            a.define(k.to_string(), vec![v.to_string()]);
            b.define_one(k, v.to_string());
            assert_eq!(table(&a), table(&b));
        }
        a.define("N".into(), vec!["p".into(), "q".into()]);
        b.define("N".into(), vec!["p".into(), "q".into()]);
        a.define("N".into(), vec!["r".into()]);
        b.define_one("N", "r".into());
        assert_eq!(table(&a), table(&b));
    }

    /// The table as a map from names to values (its slots are how it stores them).
    fn table(p: &Params) -> std::collections::BTreeMap<String, Vec<String>> {
        p.defs
            .iter()
            .map(|(name, &k)| (name.clone(), p.values[k].clone()))
            .collect()
    }

    /// A sequence's values as the variable holds them.
    fn formatted(s: &Seq) -> Vec<String> {
        s.values()
            .map(|v| {
                let mut out = String::new();
                s.write(v, &mut out);
                out
            })
            .collect()
    }

    /// What the old `parse_seq` gave: the variable, the values, the rest of the line.
    type OldSeq<'l> = (String, Vec<String>, &'l str);

    /// `parse_seq` as it was before the values were made one at a time (session 13: every
    /// value formatted first, in its own string), kept to compare with.
    fn old_parse_seq(line: &str) -> Option<Result<OldSeq<'_>, String>> {
        let (hex, rest) = if let Some(r) = line.strip_prefix("~SEQx(") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("~SEQ(") {
            (false, r)
        } else {
            return None;
        };
        let Some(close) = rest.find(')') else {
            return Some(Err("~SEQ(: expected ')'".to_string()));
        };
        let args: Vec<&str> = rest[..close].split(',').map(str::trim).collect();
        let num = |s: &str| -> Result<i64, String> {
            let r = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                i64::from_str_radix(h, 16)
            } else if let Some(h) = s.strip_prefix("-0x") {
                i64::from_str_radix(h, 16).map(|v| -v)
            } else {
                s.parse::<i64>()
            };
            r.map_err(|_| format!("~SEQ: expected an integer, found '{s}'"))
        };
        let parsed = (|| -> Result<(String, i64, i64, i64), String> {
            let var = args.first().copied().unwrap_or("");
            if var.is_empty() || !var.chars().all(is_name_char) {
                return Err(format!("~SEQ: expected a variable name, found '{var}'"));
            }
            let (start, step, end) = match args.len() {
                2 => {
                    let end = num(args[1])?;
                    let start = if end >= 0 { 1 } else { -1 };
                    (start, if end >= start { 1 } else { -1 }, end)
                }
                3 => {
                    let start = num(args[1])?;
                    let end = num(args[2])?;
                    (start, if end >= start { 1 } else { -1 }, end)
                }
                4 => (num(args[1])?, num(args[2])?, num(args[3])?),
                _ => return Err("~SEQ: expected (var, [start, [step,]] end)".to_string()),
            };
            Ok((var.to_string(), start, step, end))
        })();
        let (var, start, step, end) = match parsed {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        if step == 0 {
            return Some(Err("~SEQ: the step must not be 0".to_string()));
        }
        let count = (end.saturating_sub(start)) / step + 1;
        if count > MAX_SEQ_LINES {
            return Some(Err(format!(
                "~SEQ would generate {count} lines (at most {MAX_SEQ_LINES})"
            )));
        }
        let mut values = Vec::new();
        let mut v = start;
        while (step > 0 && v <= end) || (step < 0 && v >= end) {
            values.push(if hex {
                if v < 0 {
                    format!("-{:x}", v.unsigned_abs())
                } else {
                    format!("{v:x}")
                }
            } else {
                v.to_string()
            });
            match v.checked_add(step) {
                Some(n) => v = n,
                None => break,
            }
        }
        Some(Ok((var, values, rest[close + 1..].trim_start())))
    }

    /// The sequence made one value at a time gives the values, variable, rest of the line and
    /// errors that formatting them all first gave: both bases, every argument count, steps of
    /// both signs, empty sequences, the ends of `i64` (where the next value overflows) and
    /// malformed prefixes.
    #[test]
    fn lazy_seq_values_are_the_formatted_ones() {
        let mut lines = vec![
            "plain".to_string(),
            "~SEQ N, 3".into(),
            "~SEQ(".into(),
            "~SEQ(N)".into(),
            "~SEQ(, 3)".into(),
            "~SEQ(N-1, 3)".into(),
            "~SEQ(N, x)".into(),
            "~SEQ(N, 1, 2, 3, 4)".into(),
            "~SEQ(N, 0, 0, 3) x".into(),
            "~SEQ(N, 0, 1, 99999999999)".into(),
            "~SEQ(N,3)x".into(),
            "~SEQ(i,533,3)  include conf.d/*.conf".into(),
            "~SEQ( N , -3 ) $N".into(),
            "~SEQ(N, 5, 2)".into(),
            "~SEQ(N, 2, 5) y".into(),
            "~SEQ(N, 10, -3, -10) z".into(),
            "~SEQ(N, 3, 1, 2)".into(),
            "~SEQ(N, 3, -1, 4)".into(),
            "~SEQx(N, -0x20, 7, 0x20) ${N}".into(),
            "~SEQx(N, 0x90, 0x10, 0xc0)".into(),
            "~SEQx(N, 0X1F, -1, 0)".into(),
            "~SEQ(N, 0)".into(),
            "~SEQ(N, -0x5)".into(),
        ];
        for (a, b) in [(i64::MAX - 3, i64::MAX), (i64::MIN + 3, i64::MIN)] {
            lines.push(format!("~SEQ(N, {a}, {b}) e"));
            lines.push(format!("~SEQx(N, {a}, {b})"));
        }
        lines.push(format!("~SEQ(N, {}, 3, {})", i64::MAX - 7, i64::MAX));
        lines.push(format!("~SEQ(N, {}, -3, {})", i64::MIN + 7, i64::MIN));
        let mut shapes = [0usize; 3];
        for line in &lines {
            let old = old_parse_seq(line);
            let new =
                parse_seq(line).map(|r| r.map(|(s, rest)| (s.var.clone(), formatted(&s), rest)));
            assert_eq!(old, new, "{line:?}");
            shapes[match old {
                None => 0,
                Some(Ok(_)) => 1,
                Some(Err(_)) => 2,
            }] += 1;
        }
        assert!(shapes.iter().all(|&n| n > 1), "{shapes:?}");
        // The digits as `format!` makes them, in both bases, around zero, at powers of the
        // bases and at the ends of `i64`.
        let (hex, _) = parse_seq("~SEQx(N, 1)").unwrap().unwrap();
        let (dec, _) = parse_seq("~SEQ(N, 1)").unwrap().unwrap();
        let mut values: Vec<i64> = (-300..300).collect();
        for k in 0..63 {
            let p = 1i64 << k;
            values.extend([p - 1, p, -p, 1 - p, 10i64.saturating_pow(k % 19)]);
        }
        values.extend([i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1]);
        for v in values {
            let (mut h, mut d) = (String::new(), String::new());
            hex.write(v, &mut h);
            dec.write(v, &mut d);
            let old_hex = if v < 0 {
                format!("-{:x}", v.unsigned_abs())
            } else {
                format!("{v:x}")
            };
            assert_eq!((h, d), (old_hex, v.to_string()));
        }
    }

    /// A sequence as long as `i64`'s range is refused as too long, not a panic (the count
    /// overflowed: `end - start` saturated, then `+ 1` or the division by -1 went past
    /// `i64::MAX`; a release build wrapped to a negative count and went on to generate 2^63
    /// values).
    #[test]
    fn seq_of_the_whole_range_is_refused() {
        for line in [
            "~SEQx(N, 0, 1, 0x7fffffffffffffff)",
            "~SEQ(N, -9223372036854775808, 9223372036854775807)",
            "~SEQ(N, 9223372036854775807, -1, -9223372036854775808)",
        ] {
            let Some(Err(e)) = parse_seq(line) else {
                panic!("{line}: not refused");
            };
            assert!(e.starts_with("~SEQ would generate "), "{line}: {e}");
        }
        // Steps that cross the range within the bound still run.
        let (s, _) =
            parse_seq("~SEQ(N, -9223372036854775808, 4611686018427387904, 9223372036854775807)")
                .unwrap()
                .unwrap();
        assert_eq!(s.values().count(), 4);
    }

    /// A `~SEQ` round defined by slot leaves the table as `define_one` with the formatted
    /// value did, whatever the variable held before (undefined, one line, several, empty).
    #[test]
    fn set_number_is_define_one_formatted() {
        let (hex, _) = parse_seq("~SEQx(V, -20, 9, 20)").unwrap().unwrap();
        let (dec, _) = parse_seq("~SEQ(V, -20, 9, 20)").unwrap().unwrap();
        let mut a = Params::new(None);
        let mut b = Params::new(None);
        for p in [&mut a, &mut b] {
            p.define("M".into(), vec!["m1".into(), "m2".into()]);
            p.define("E".into(), Vec::new());
            p.define("O".into(), vec!["o".into()]);
        }
        for name in ["V", "M", "E", "O", "V"] {
            for seq in [&hex, &dec] {
                for v in seq.values() {
                    let slot = b.slot(name);
                    b.set_number(slot, seq, v);
                    let mut s = String::new();
                    seq.write(v, &mut s);
                    a.define_one(name, s);
                    assert_eq!(table(&a), table(&b));
                }
            }
            a.define(name.into(), vec!["x".into(), "y".into()]);
            b.define(name.into(), vec!["x".into(), "y".into()]);
        }
    }
}
