//! Tests of [`super`] (params.rs).

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

/// keepalived 2.2.7's `add_seq` (lib/parser.c): any line starting `~SEQ` is a sequence, blanks
/// may come before the `(`, the numbers are read as `strtol(.., 0)` reads them, a 4-argument
/// step must go toward the end, and `~SEQx` takes no negative ends.
#[test]
fn seq_reads_as_keepalived_reads_it() {
    fn values(line: &str) -> Option<Result<(Vec<String>, &str), String>> {
        parse_seq(line).map(|r| r.map(|(s, rest)| (formatted(&s), rest)))
    }
    assert_eq!(
        values("~SEQ (N, 2) a"),
        Some(Ok((vec!["1".into(), "2".into()], "a")))
    );
    assert_eq!(
        values("~SEQx\t(N, 010, 011)"),
        Some(Ok((vec!["8".into(), "9".into()], "")))
    );
    assert_eq!(
        values("~SEQ(N, +1, 0x3)"),
        Some(Ok((vec!["1".into(), "2".into(), "3".into()], "")))
    );
    assert_eq!(values("~SEQ(N, -1)"), Some(Ok((vec!["-1".into()], ""))));
    assert_eq!(
        values("~SEQ(N, 0)"),
        Some(Ok((vec!["1".into(), "0".into()], "")))
    );
    for bad in [
        "~SEQ N, 3",
        "~SEQUENCE",
        "~SEQ(N, 08)",
        "~SEQ(N, 3, 1, 2)",
        "~SEQ(N, 2, -1, 3)",
        "~SEQx(N, -1, 1, 3)",
        "~SEQ(N, 1\u{a0})",
    ] {
        assert!(matches!(parse_seq(bad), Some(Err(_))), "{bad:?}");
    }
    assert_eq!(parse_seq("plain ~SEQ(N, 3)"), None);
    assert_eq!(seq_arguments("~SEQ(N, $A, ${B})x"), Some(7..16));
    assert_eq!(seq_arguments("~SEQ(N)"), None);
}

/// keepalived 2.2.7's `add_lst` (lib/parser.c), with keepalived.conf(5)'s examples.
#[test]
fn lst_reads_as_keepalived_reads_it() {
    let (l, rest) = parse_lst("~LST(IP, 1, 2, 3, 4) ~LST(IP1, 5,6,7) x")
        .unwrap()
        .unwrap();
    assert_eq!(l.vars, ["IP"]);
    assert_eq!(l.sets, [["1"], ["2"], ["3"], ["4"]]);
    assert_eq!(rest, "~LST(IP1, 5,6,7) x");
    let (l, rest) =
        parse_lst("~LST ( { IP , IP1 } , {10,1},{20, 4} , { 5 } ,{12,8}) 192.168.${IP}.${IP1}")
            .unwrap()
            .unwrap();
    assert_eq!(l.vars, ["IP", "IP1"]);
    assert_eq!(l.sets, [["10", "1"], ["20", "4"], ["5", ""], ["12", "8"]]);
    assert_eq!(rest, "192.168.${IP}.${IP1}");
    for bad in [
        "~LST",
        "~LST IP, 1)",
        "~LST(IP)",
        "~LST(IP, 1",
        "~LST({A, B}, {1, 2, 3}) x",
        "~LST(IP, 1 2) x",
    ] {
        assert!(matches!(parse_lst(bad), Some(Err(_))), "{bad:?}");
    }
    assert_eq!(parse_lst("~SEQ(N, 3)"), None);
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
        // keepalived's `find_definition`: an unbraced name ends at a space, a tab, a comma, a
        // closing parenthesis or the end of the line.
        let followed_ok = braced
            || end == s.len()
            || [' ', '\t', ',', ')']
                .iter()
                .any(|&c| s[end..].starts_with(c));
        let base = name.split(' ').next().unwrap_or("");
        let value = if base == "_RANDOM" && braced {
            let min = name
                .split(' ')
                .filter(|w| !w.is_empty())
                .nth(1)
                .unwrap_or("0");
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
        let new = parse_seq(line).map(|r| r.map(|(s, rest)| (s.var.clone(), formatted(&s), rest)));
        // Since session 16 the prefix and the checks are keepalived's `add_seq`
        // (`seq_reads_as_keepalived_reads_it`): the lines both take must give the same values.
        if let Some(Ok(n)) = new {
            assert_eq!(old, Some(Ok(n)), "{line:?}");
        }
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
    let (hex, _) = parse_seq("~SEQx(V, 0, 9, 40)").unwrap().unwrap();
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
