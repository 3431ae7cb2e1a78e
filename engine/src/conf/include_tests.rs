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
