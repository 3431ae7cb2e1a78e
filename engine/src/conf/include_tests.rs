//! Tests of [`super`] (include.rs).

use super::*;

#[test]
fn globbing() {
    assert!(glob_match("*.conf", "a.conf"));
    assert!(!glob_match("*.conf", ".a.conf"));
    assert!(glob_match("a?[0-9][!x]", "ab1y"));
    assert!(!glob_match("a?[0-9][!x]", "ab1x"));
    assert!(glob_match("*a*b*c", "xxaxxbxxc"));
    assert!(!glob_match("*a*b*c", "xxaxxbxx"));
    assert!(path_glob_match("/etc/k/*.conf", "/etc/k/x.conf"));
    assert!(!path_glob_match("/etc/k/*.conf", "/etc/k/d/x.conf"));
    assert_eq!(expand_braces("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
    assert_eq!(expand_braces("a{b"), ["a{b"]);
}

#[test]
fn paths() {
    assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
    assert_eq!(normalize("../x"), "../x");
    assert_eq!(
        resolve_relative("/etc/k/main.conf", "conf.d/*.conf"),
        "/etc/k/conf.d/*.conf"
    );
    assert_eq!(resolve_relative("main.conf", "x.conf"), "x.conf");
}

/// The character matcher as it was before it ran on bytes for ASCII strings.
mod old_glob {
    pub(super) fn old_glob_match(pattern: &str, name: &str) -> bool {
        let p: Vec<char> = pattern.chars().collect();
        let n: Vec<char> = name.chars().collect();
        if n.first() == Some(&'.') && p.first() != Some(&'.') {
            return false;
        }
        // Iterative matcher with one backtrack point for `*` (linear-ish, no recursion).
        let (mut pi, mut ni) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    '?' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    '[' => {
                        if let Some((matched, next)) = old_class_match(&p, pi, n[ni]) {
                            if matched {
                                pi = next;
                                ni += 1;
                                continue;
                            }
                        } else if n[ni] == '[' {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                    '\\' if pi + 1 < p.len() => {
                        if p[pi + 1] == n[ni] {
                            pi += 2;
                            ni += 1;
                            continue;
                        }
                    }
                    c => {
                        if c == n[ni] {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
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
        while pi < p.len() && p[pi] == '*' {
            pi += 1;
        }
        pi == p.len()
    }

    fn old_class_match(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
        let mut i = at + 1;
        let negate = matches!(p.get(i), Some('!') | Some('^'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
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
}

/// The byte matcher (both strings ASCII) and the character matcher give the old answers.
#[test]
fn byte_matching_agrees_with_character_matching() {
    let patterns = [
        "", "*", "?", "a", "a*", "*a", "*.conf", ".*", "a?c", "[abc]", "[a-c]x", "[!a]", "[^a]",
        "[]a]", "[a-]", "[", "a[b", "\\*", "\\", "a\\", "[é]", "é*", "?.conf", "*a*b*c", "[z-a]",
    ];
    let names = [
        "",
        "a",
        "b",
        ".a",
        "abc",
        "a.conf",
        ".conf",
        "x",
        "]",
        "-",
        "[",
        "a[b",
        "*",
        "\\",
        "é",
        "éa",
        "aé.conf",
        "xxaxxbxxc",
        "ax",
    ];
    for p in patterns {
        for n in names {
            assert_eq!(
                glob_match(p, n),
                old_glob::old_glob_match(p, n),
                "{p:?} against {n:?}"
            );
        }
    }
}

/// The allocation-free forms (component iterator, the normal-path shortcut, the literal-pattern
/// lookup) give what the collecting forms they replaced gave, on paths of every shape.
#[test]
fn component_matching_and_normalizing_agree_with_splitting() {
    fn old_path_match(pattern: &str, path: &str) -> bool {
        let pc: Vec<&str> = pattern.split('/').collect();
        let nc: Vec<&str> = path.split('/').collect();
        pc.len() == nc.len() && pc.iter().zip(nc.iter()).all(|(p, n)| glob_match(p, n))
    }
    fn old_normalize(path: &str) -> String {
        let absolute = path.starts_with('/');
        let mut parts: Vec<&str> = Vec::new();
        for c in path.split('/') {
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
    let paths = [
        "",
        "/",
        "//",
        "a",
        "a/",
        "/a",
        "/a/",
        "a//b",
        "/a/b",
        "/a/./b",
        "/a/../b",
        "..",
        ".",
        "../x",
        "./x",
        "a/..",
        "/etc/keepalived/conf.d/1.conf",
        "/etc/keepalived/conf.d/*.conf",
        "/etc/keepalived/conf.d/?.conf",
        "/etc/k/[12].conf",
        "/etc/k/\\*.conf",
        "/é/ü.conf",
        "/.a",
        "/a/.b",
        "...",
        "/a/...",
        "a/b/c/d/e/f",
    ];
    for p in paths {
        assert_eq!(
            components(p).collect::<Vec<_>>(),
            p.split('/').collect::<Vec<_>>(),
            "{p:?}"
        );
        assert_eq!(normalize(p), old_normalize(p), "{p:?}");
        for n in paths {
            assert_eq!(
                path_glob_match(p, n),
                old_path_match(p, n),
                "{p:?} against {n:?}"
            );
        }
    }
    let mut m = MemoryLoader::new();
    for name in [
        "/etc/k/a.conf",
        "/etc/k/b.conf",
        "/etc/k/.c.conf",
        "/etc/k/d/e.conf",
        "x.conf",
    ] {
        m.add(name, "");
    }
    for p in paths.iter().copied().chain([
        "/etc/k/a.conf",
        "/etc/k/./a.conf",
        "/etc/k//b.conf",
        "/etc/k/.c.conf",
        "/etc/k/*.conf",
        "/etc/k/{a,b}.conf",
        "/etc/k/{a,a}.conf",
        "x.conf",
        "./x.conf",
        "/etc/k/d/../a.conf",
    ]) {
        let mut want: Vec<String> = Vec::new();
        for q in expand_braces(p) {
            let q = old_normalize(&q);
            for name in [
                "/etc/k/.c.conf",
                "/etc/k/a.conf",
                "/etc/k/b.conf",
                "/etc/k/d/e.conf",
                "x.conf",
            ] {
                if old_path_match(&q, name) && !want.iter().any(|w| w == name) {
                    want.push(name.to_string());
                }
            }
        }
        want.sort();
        assert_eq!(m.glob(p), want, "{p:?}");
    }
}

/// Found by the `config` fuzz target (fuzz/regressions/config/column-after-expansion): tokens
/// after a `${NAME}` were located by their column in the expanded text, past the end of the
/// line in the file. Every location must point inside the input.
#[test]
fn tokens_of_an_expanded_line_are_located_inside_the_line() {
    let m = MemoryLoader::new();
    let a = TextArena::new();
    let read = |text: &'static str| {
        let mut r = Reader::new(&m, &a, None);
        r.read_text("k.conf", text);
        r
    };
    let r = read("$VIP=192.0.2.100-a-long-value-longer-than-the-line\n    ${VIP} /12\n");
    let at: Vec<(u32, u32)> = r.line(0).iter().map(|t| (t.loc.line, t.loc.col)).collect();
    assert_eq!(at, [(2, 5), (2, 5)]);
    // An unterminated quote that comes from the expansion is reported at the line's start.
    let r = read("$Q=\"open\n  x ${Q}\n");
    let at: Vec<Option<(u32, u32)>> = r
        .diags
        .iter()
        .map(|d| d.loc.as_ref().map(|l| (l.line, l.col)))
        .collect();
    assert_eq!(at, [Some((2, 3))]);
    // Text as it stands in the file keeps exact columns.
    let r = read("  a  b\n");
    let cols: Vec<u32> = r.line(0).iter().map(|t| t.loc.col).collect();
    assert_eq!(cols, [3, 6]);
    // A conditional line of a multi-line parameter: its prefix's width does not move the column
    // of the use site, which the prefix never was at (finding 18: column 41 of a 22-character
    // line; fuzz/regressions/config/conditional-in-multiline-parameter-column*).
    let r = read("$M=a \\\n@^other-id-of-some-length b }\n  x${M}\n");
    let at: Vec<(u32, u32)> = (0..2)
        .flat_map(|k| r.line(k).iter().map(|t| (t.loc.line, t.loc.col)))
        .collect();
    assert!(at.iter().all(|&(l, c)| l == 3 && c == 3), "{at:?}");
}

/// A parameter in a `~SEQ`'s numbers is substituted before they are read (keepalived's
/// `add_seq`); that substitution counts against the expansion's bytes as every other does, or
/// a long value (vertical tabs, which the number's reading skips) repeated by an outer `~SEQ`
/// would be copied without bound (128 KiB 200,000 times).
#[test]
fn a_seq_s_substituted_numbers_count_against_the_bound() {
    let m = MemoryLoader::new();
    let text = format!(
        "$S={}1\n~SEQ(i,1,100000) ~SEQ(j,1,$S) # x\n",
        "\u{0b}".repeat(128 * 1024)
    );
    let a = TextArena::new();
    let mut r = Reader::new(&m, &a, None);
    r.read_text("k.conf", &text);
    let errors: Vec<String> = r.diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!("expands to more than {MAX_TOTAL_BYTES} bytes")),
        "{errors:?}"
    );
    assert!(r.total_bytes <= MAX_TOTAL_BYTES + super::super::params::MAX_EXPANDED_LEN);
}

/// Expansion bombs without a single error (found by the config fuzz target; reproducers in
/// fuzz/regressions/config/expansion-bomb-*): each stops with one located error at the bound,
/// instead of running to the old 2,000,000-line guard (seconds) or, with long lines, to
/// terabytes.
#[test]
fn error_free_expansion_bombs_stop_at_the_bound_with_one_located_error() {
    let m = MemoryLoader::new();
    // A multi-line parameter of comments that doubles at each level: 2^30 lines.
    let mut doubling = String::from("$L0=# x \\\n# y\n");
    for i in 1..30 {
        doubling.push_str(&format!("$L{i}=$L{} \\\n$L{}\n", i - 1, i - 1));
    }
    doubling.push_str("  $L29\n");
    // Three nested ~SEQ of a comment: 10^9 lines.
    let nested = "~SEQ(i,1,1000) ~SEQ(j,1,1000) ~SEQ(k,1,1000) # $i\n";
    // Lines of 128 KiB (a parameter of 64 bytes doubled 11 times), 100,000 times: 12 GiB.
    let mut long = format!("$A0={}\n", "a".repeat(64));
    for i in 1..12 {
        long.push_str(&format!("$A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    long.push_str("~SEQ(i,1,100000) $A11\n");
    for (text, line, col, bound) in [
        (&doubling, 61, 3, format!("{MAX_TOTAL_LINES} lines")),
        (
            &nested.to_string(),
            1,
            1,
            format!("{MAX_TOTAL_LINES} lines"),
        ),
        (&long, 13, 1, format!("{MAX_TOTAL_BYTES} bytes")),
    ] {
        let a = TextArena::new();
        let mut r = Reader::new(&m, &a, None);
        r.read_text("k.conf", text);
        let errors: Vec<String> = r.diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains(&format!("expands to more than {bound}")),
            "{errors:?}"
        );
        let at = r.diags[0].loc.as_ref().map(|l| (l.line, l.col));
        assert_eq!(at, Some((line, col)), "{errors:?}");
        assert!(r.total_lines <= MAX_TOTAL_LINES + 1);
        assert!(r.total_bytes <= MAX_TOTAL_BYTES + super::super::params::MAX_EXPANDED_LEN);
    }
}

#[test]
fn memory_loader_globs() {
    let mut m = MemoryLoader::new();
    m.add("/c/b.conf", "")
        .add("/c/a.conf", "")
        .add("/c/x.txt", "");
    assert_eq!(m.glob("/c/*.conf"), ["/c/a.conf", "/c/b.conf"]);
    assert_eq!(m.glob("/c/{x.txt,a.conf}"), ["/c/a.conf", "/c/x.txt"]);
}

/// Found by the config fuzz target (fuzz/regressions/config/glob-includes-deep-stack): files
/// that include one another, each expanding multi-line parameters as deep as allowed, nested the
/// reader's recursion 32 x 32 levels and overflowed the 2 MB stack of a debug test thread. The
/// two nestings together are bounded now ([`MAX_NESTING`]): the deepest input is read on such a
/// thread, with one located error where the bound is passed.
#[test]
fn includes_inside_deep_expansions_stay_within_a_small_stack() {
    let mut m = MemoryLoader::new();
    let mut files = Vec::new();
    for k in 0..MAX_INCLUDE_DEPTH {
        // File k expands a chain of multi-line parameters 31 levels deep; the innermost line
        // includes file k + 1.
        let mut text = format!("$P{k}x0=include /f{}.conf \\\n# end\n", k + 1);
        for i in 1..MAX_LINE_DEPTH - 1 {
            text.push_str(&format!("$P{k}x{i}=$P{k}x{} \\\n# end\n", i - 1));
        }
        text.push_str(&format!("$P{k}x{}\n", MAX_LINE_DEPTH - 2));
        files.push((format!("/f{k}.conf"), text));
    }
    for (name, text) in &files {
        m.add(name, text);
    }
    let main = files[0].1.clone();
    let read = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let a = TextArena::new();
            let mut r = Reader::new(&m, &a, None);
            r.read_text("/f0.conf", &main);
            let errors: Vec<String> = r.diags.iter().map(|d| d.to_string()).collect();
            (errors, r.nesting)
        })
        .expect("spawn the reader's thread");
    let (errors, nesting) = read.join().expect("the reader ran within 2 MB of stack");
    assert_eq!(nesting, 0, "every level taken back");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!("nested deeper than {MAX_NESTING} levels in all")),
        "{errors:?}"
    );
    // Two files of 32 levels each (31 expansions and the include of the next): the third
    // file's first expansion, on its last line, would be the 65th level.
    assert!(errors[0].starts_with("/f2.conf:63:1: error:"), "{errors:?}");
}

/// Found by the config fuzz target (fuzz/regressions/config/includes-of-empty-files-repeated):
/// an include of a glob of empty files, repeated by `~SEQ`, read 1.4 million files (2 s of the
/// fuzz build) without adding a line or a byte to the other bounds. Every file read counts now.
#[test]
fn includes_of_empty_files_stop_at_the_file_bound_with_one_located_error() {
    let mut m = MemoryLoader::new();
    for k in 0..7 {
        m.add(&format!("/conf.d/{k}.conf"), "");
    }
    let a = TextArena::new();
    let mut r = Reader::new(&m, &a, None);
    r.read_text(
        "/k.conf",
        "~SEQ(i,1,100000) include conf.d/*.conf\nvrrp_instance VI_1 {\n}\n",
    );
    let errors: Vec<String> = r.diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        errors,
        [format!(
            "/k.conf:1:1: error: the configuration expands to more than {MAX_FILE_READS} \
             included files read (parameters or ~SEQ that multiply): giving up on the rest"
        )]
    );
    assert_eq!(r.files_read, MAX_FILE_READS + 1);
    // Nothing after the bound is read: not the instance on line 2.
    assert!(r.tokens.iter().all(|t| t.text != "vrrp_instance"));
}

/// `include` patterns resolve against the directory of the file that has the line, also when
/// the reading goes back and forth between files of different directories (the reader keeps
/// the last directory): each pattern below matches a file in one directory only, which
/// defines a parameter the last line prints, and the no-match notices name the right
/// directory. The words after the pattern (a warning) and a bare `include` (an error) are
/// what the line's tokens give.
#[test]
fn include_patterns_resolve_against_the_including_files_directory() {
    let mut m = MemoryLoader::new();
    m.add("/etc/k/a.conf", "$A=top\n");
    m.add("/etc/k/d/a.conf", "$A=deep\ninclude e/b.conf\n");
    m.add("/etc/k/d/e/b.conf", "$B=deeper\ninclude a.conf extra\n");
    m.add("/etc/k/d/e/a.conf", "$C=e\ninclude\n");
    m.add("/etc/k/b.conf", "$B=top\n");
    let a = TextArena::new();
    let mut r = Reader::new(&m, &a, None);
    r.read_text(
        "/etc/k/main.conf",
        "include d/a.conf\ninclude none*.conf\ninclude a.conf\nx $A $B $C\n\
         ~SEQ(i,1,2) include d/a.conf\ny $A $B $C\n",
    );
    let words = r.words();
    assert_eq!(
        words,
        [
            vec!["x", "top", "deeper", "e"],
            vec!["y", "deep", "deeper", "e"]
        ]
    );
    let diags: Vec<String> = r.diags.iter().map(|d| d.to_string()).collect();
    let notice = "/etc/k/main.conf:2:9: notice: include: no file matches '/etc/k/none*.conf'";
    let extra = "/etc/k/d/e/b.conf:2:16: warning: include: unexpected 'extra' after the file name (ignored)";
    let bare = "/etc/k/d/e/a.conf:2:1: error: include: expected a file name or glob pattern";
    assert_eq!(
        diags,
        [extra, bare, notice, extra, bare, extra, bare].map(String::from)
    );
}

/// keepalived's `is_include` (lib/parser.c): a line is an include when its text begins with
/// the keyword, followed by whitespace, once the spaces and tabs before it, a conditional's
/// prefix and the parameters' substitution are gone (checked against keepalived 2.2.7's `-t`,
/// each case). A carriage return, vertical tab or form
/// feed before the keyword (a line start skips only spaces and tabs), or a brace glued to it,
/// leaves an ordinary line whose first word is `include`; a tab, a carriage return or a
/// parameter's text may follow or lead to it.
#[test]
fn include_is_a_keyword_only_at_the_start_of_the_line() {
    let mut m = MemoryLoader::new();
    m.add("/etc/k/a.conf", "from_a\n");
    let a = TextArena::new();
    let mut r = Reader::new(&m, &a, Some("lb1".to_string()));
    r.read_text(
        "/etc/k/main.conf",
        "\rinclude a.conf\n \t\x0binclude a.conf\n\x0cincluder a.conf\ninclude{ a.conf\n\
         \tinclude\ta.conf\ninclude\ra.conf\n@lb1 includer a.conf\n$I=include\n$I a.conf\n\
         $E=\n$E include a.conf\n",
    );
    let words = r.words();
    assert_eq!(
        words,
        [
            vec!["include", "a.conf"],
            vec!["include", "a.conf"],
            vec!["includer", "a.conf"],
            vec!["include", "{", "a.conf"],
            vec!["from_a"],
            vec!["from_a"],
            vec!["from_a"],
            vec!["from_a"],
            vec!["from_a"],
        ]
    );
    assert!(r.diags.is_empty(), "{:?}", r.diags);
}

/// The rounds of a `~SEQ` whose body substitution leaves as it is give the tokens of the body
/// tokenized at the body's place, every round (the reader copies the last round's), also when
/// another line comes between two sequences with the same body text, and a body that a
/// parameter changes is tokenized each round.
#[test]
fn repeated_seq_rounds_give_the_bodys_tokens() {
    let m = MemoryLoader::new();
    let a = TextArena::new();
    let text =
        "~SEQ(i,1,3) x \"y\\tz\" $U {\n}\n~SEQ(j,1,2) x \"y\\tz\" $U {\n  ~SEQ(k,1,2) v $k\n}\n";
    let mut r = Reader::new(&m, &a, None);
    r.read_text("/k.conf", text);
    let name = FileName::new("/k.conf");
    let body = |line: u32, col: u32, words: &'static str| -> Vec<Token<'_>> {
        let mut t = crate::conf::lexer::tokenize_line(words, name, line, col, &a).unwrap();
        for w in &mut t {
            w.loc.col = col;
        }
        t[0].starts_line = true;
        t
    };
    let mut want = Vec::new();
    for _ in 0..3 {
        want.extend(body(1, 1, "x \"y\\tz\" $U {"));
    }
    want.extend(body(2, 1, "}"));
    // The `}` on line 2 is as it stands in the file (its own column).
    want.last_mut().unwrap().loc.col = 1;
    for _ in 0..2 {
        want.extend(body(3, 1, "x \"y\\tz\" $U {"));
    }
    want.extend(body(4, 3, "v 1"));
    want.extend(body(4, 3, "v 2"));
    want.extend(body(5, 1, "}"));
    assert_eq!(r.tokens, want);
    assert_eq!(r.tokens[1].text, "y\tz");
}
