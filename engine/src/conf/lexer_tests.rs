//! Tests of [`super`] (lexer.rs).

use super::*;

/// The tokenizer as first written (one `char` at a time into a growing `String`), with
/// keepalived's whitespace ([`is_space_char`]): the fast byte-wise one must give the same
/// tokens, texts, columns and errors on any line.
fn reference<'t>(
    text: &str,
    file: FileName,
    line: u32,
    col0: u32,
    arena: &'t TextArena,
) -> Result<Vec<Token<'t>>, LexError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0usize;
    let col_of = |i: usize| col0.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
    while i < chars.len() {
        let c = chars[i];
        if is_space_char(c) {
            i += 1;
            continue;
        }
        if c == '{' || c == '}' {
            out.push(Token {
                kind: if c == '{' {
                    TokenKind::Open
                } else {
                    TokenKind::Close
                },
                text: arena.keep(c.to_string()),
                quoted: false,
                loc: Location::new(file, line, col_of(i)),
                starts_line: false,
            });
            i += 1;
            continue;
        }
        let start = i;
        let mut word = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if is_space_char(c) || c == '{' || c == '}' {
                break;
            }
            if c == '"' || c == '\'' {
                quoted = true;
                let open = i;
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let d = chars[i];
                    if d == c {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if d == '\\' && i + 1 < chars.len() {
                        i = reference_unescape(&chars, i + 1, &mut word);
                        continue;
                    }
                    word.push(d);
                    i += 1;
                }
                if !closed {
                    return Err(LexError {
                        loc: Location::new(file, line, col_of(open)),
                        message: format!("unterminated quoted string: expected a closing {c}"),
                    });
                }
                continue;
            }
            word.push(c);
            i += 1;
        }
        out.push(Token {
            kind: TokenKind::Word,
            text: arena.keep(word),
            quoted,
            loc: Location::new(file, line, col_of(start)),
            starts_line: false,
        });
    }
    Ok(out)
}

/// The escape decoder as first written, on a `Vec<char>`.
fn reference_unescape(chars: &[char], i: usize, out: &mut String) -> usize {
    let c = chars[i];
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
    if let Some(s) = simple {
        out.push(s);
        return i + 1;
    }
    if c.is_digit(8) {
        let mut v: u32 = 0;
        let mut j = i;
        while j < chars.len() && j < i + 3 && chars[j].is_digit(8) {
            v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
            j += 1;
        }
        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
        return j;
    }
    if c == 'x' {
        let mut v: u32 = 0;
        let mut j = i + 1;
        while j < chars.len() && chars[j].is_ascii_hexdigit() {
            v = v
                .wrapping_mul(16)
                .wrapping_add(chars[j].to_digit(16).unwrap_or(0))
                & 0xff;
            j += 1;
        }
        if j == i + 1 {
            out.push('x');
            return j;
        }
        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
        return j;
    }
    if c == 'c' && i + 1 < chars.len() {
        let ctl = (chars[i + 1] as u32) & 0x1f;
        out.push(char::from_u32(ctl).unwrap_or('\u{fffd}'));
        return i + 2;
    }
    out.push(c);
    i + 1
}

/// `strip_comment` as first written, one `char` at a time.
fn reference_strip(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' | '!' => return &line[..i],
                _ => {}
            },
        }
    }
    line
}

proptest::proptest! {
    #[test]
    fn byte_wise_strip_comment_equals_the_reference(
        text in "[ #!\"'\\\\abé日\u{85}]{0,30}",
    ) {
        proptest::prop_assert_eq!(strip_comment(&text), reference_strip(&text));
    }

    #[test]
    fn fast_tokenizer_equals_the_reference(
        text in "([ \t\u{0b}\u{0c}\r\u{1c}\u{85}\u{a0}\u{2003}{}\"'\\\\abcxé0-9ñ日#!]|\\\\[0-7xnc]){0,40}",
        col0 in 1u32..5,
    ) {
        let f = FileName::new("t");
        let (a, b) = (TextArena::new(), TextArena::new());
        proptest::prop_assert_eq!(
            tokenize_line(&text, f, 3, col0, &a),
            reference(&text, f, 3, col0, &b)
        );
    }
}

proptest::proptest! {
    /// A location compares, orders, hashes and prints as one holding the file's name did.
    #[test]
    fn file_names_compare_and_print_as_the_names(
        a in "[a-c/.]{0,6}", b in "[a-c/.]{0,6}", la in 1u32..4, lb in 1u32..4,
    ) {
        let (fa, fb) = (FileName::new(&a), FileName::new(&b));
        proptest::prop_assert_eq!(fa == fb, a == b);
        proptest::prop_assert_eq!(fa.cmp(&fb), a.cmp(&b));
        proptest::prop_assert_eq!(FileName::new(&a), fa);
        proptest::prop_assert_eq!(&*fa, a.as_str());
        let (x, y) = (Location::new(fa, la, 1), Location::new(fb, lb, 2));
        proptest::prop_assert_eq!(x.cmp(&y), (a.as_str(), la, 1).cmp(&(b.as_str(), lb, 2)));
        proptest::prop_assert_eq!(x.to_string(), format!("{a}:{la}:1"));
    }
}

#[test]
fn a_token_is_32_bytes() {
    // 56 with an `Arc<str>` in its location, 40 with a `CompactString` text: the reader
    // keeps 57,000 of them for 1,000 instances.
    assert_eq!(std::mem::size_of::<Location>(), 12);
    assert!(std::mem::size_of::<Token>() <= 32);
}

fn words(s: &str) -> Vec<String> {
    let f = FileName::new("t");
    let a = TextArena::new();
    tokenize_line(s, f, 1, 1, &a)
        .unwrap()
        .into_iter()
        .map(|t| t.text)
        .map(String::from)
        .collect()
}

#[test]
fn braces_share_lines() {
    assert_eq!(words("a {b} c"), ["a", "{", "b", "}", "c"]);
}

#[test]
fn quotes_join_and_keep_spaces() {
    assert_eq!(words(r#"abcd" efg h jkl "mnop"#), ["abcd efg h jkl mnop"]);
    assert_eq!(
        words(r#"abcd "efg h jkl" mnop"#),
        ["abcd", "efg h jkl", "mnop"]
    );
    assert_eq!(words(r#"'a "b"' "{""#), [r#"a "b""#, "{"]);
}

/// A word as it stands in the line (unquoted, or one quoted run without escapes) is a slice
/// of the line; only a word built from parts or escapes is kept in the arena.
#[test]
fn words_borrow_the_line_unless_built() {
    let (f, a) = (FileName::new("t"), TextArena::new());
    let line = r#"notify "/bin/echo MASTER" 'x y' a"b" "c\td""#;
    let t = tokenize_line(line, f, 1, 1, &a).unwrap();
    let texts: Vec<&str> = t.iter().map(|t| t.text).collect();
    assert_eq!(texts, ["notify", "/bin/echo MASTER", "x y", "ab", "c\td"]);
    let inside = |s: &str| line.as_bytes().as_ptr_range().contains(&s.as_ptr());
    assert!(t[..3].iter().all(|t| inside(t.text)));
    assert!(t[3..].iter().all(|t| !inside(t.text)));
    assert_eq!(a.len(), 2);
}

#[test]
fn escapes() {
    assert_eq!(words(r#""a\tb\x41\101\"\\""#), ["a\tbAA\"\\"]);
}

#[test]
fn columns() {
    let f = FileName::new("t");
    let a = TextArena::new();
    let t = tokenize_line("  ab  \"c d\"", f, 7, 1, &a).unwrap();
    assert_eq!(t[0].loc.to_string(), "t:7:3");
    assert_eq!(t[1].loc.to_string(), "t:7:7");
}

#[test]
fn unterminated_quote_is_located() {
    let f = FileName::new("t");
    let e = tokenize_line("script \"abc", f, 3, 1, &TextArena::new()).unwrap_err();
    assert_eq!(e.loc.to_string(), "t:3:8");
}

#[test]
fn comments() {
    assert_eq!(strip_comment("a b # c"), "a b ");
    assert_eq!(strip_comment("a ! c"), "a ");
    assert_eq!(strip_comment(r##"a "#!" c # d"##), r##"a "#!" c "##);
}
