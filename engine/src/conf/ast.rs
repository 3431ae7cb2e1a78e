//! The untyped statement tree: `keyword args... [{ statements }]`.
//!
//! A statement is the words of one line up to a `{`, `}` or the end of the line. A `{` opens a
//! block for the statement before it (on the same line, or the previous line when the `{` starts
//! a line); `}` closes the innermost block. A `}` with no open block and a block still open at the
//! end of the input are errors located at the offending brace.

use super::diag::Diagnostic;
use super::lexer::{Location, Token, TokenKind};

/// One statement. Its words borrow the reader's tokens (a statement is a run of words of one
/// line): the tree copies no token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt<'t> {
    /// The keyword and its arguments (at least one word).
    pub words: &'t [Token<'t>],
    /// The block's statements, when the statement opens one.
    pub block: Option<Vec<Stmt<'t>>>,
    /// Where the block's `{` is.
    pub open: Option<&'t Location>,
}

impl<'t> Stmt<'t> {
    /// The keyword.
    pub fn keyword(&self) -> &'t Token<'t> {
        &self.words[0]
    }

    /// Where the statement starts.
    pub fn loc(&self) -> &'t Location {
        &self.words[0].loc
    }

    /// The arguments after the keyword.
    pub fn args(&self) -> &'t [Token<'t>] {
        &self.words[1..]
    }
}

/// Deepest nesting of blocks taken into the tree. Real configurations nest four or five
/// (`virtual_server` > `real_server` > `HTTP_GET` > `url`); a `{` deeper than this is an error
/// and opens no block of the tree (its braces still balance). Unbounded, 16,000 unclosed `{`
/// made a tree whose recursive drop overflowed a 2 MB thread stack (found by the config fuzz
/// target).
pub const MAX_BLOCK_DEPTH: usize = 32;

/// An open block: its statement (`None` for a stray `{`) and where its statements start on the
/// builder's stack of statements.
struct Frame<'t> {
    stmt: Option<Stmt<'t>>,
    start: usize,
}

impl Frame<'_> {
    /// The frame of a `{` that opens no block of the tree (a stray one, or one nested deeper
    /// than [`MAX_BLOCK_DEPTH`]): its `}` balances it, and the statements between them stay in
    /// the enclosing block (dropped with it when it is never closed). Both `{` are errors, so
    /// the configuration is refused whatever the tree holds; only the brace count must stay
    /// right, for the errors after it to be located.
    fn anonymous(start: usize) -> Self {
        Frame { stmt: None, start }
    }
}

/// Builds the tree from lines of tokens (a line starts at each token marked
/// [`Token::starts_line`], and at the first), reporting brace errors into `diags`.
///
/// The statements of every open block sit on one stack (`stmts`); a closing `}` moves its
/// block's statements into a vector of their exact size. (A vector per block grown a statement
/// at a time reallocated 6,000 times for 1,000 instances.)
pub fn build<'t>(tokens: &'t [Token<'t>], diags: &mut Vec<Diagnostic>) -> Vec<Stmt<'t>> {
    let mut stack: Vec<Frame<'t>> = Vec::new();
    let mut stmts: Vec<Stmt<'t>> = Vec::new();
    // Whether the last statement of the current body may still take a block from a `{` that
    // starts the next line.
    let mut last_open_candidate = false;
    for line in tokens.chunk_by(|_, t| !t.starts_line) {
        // Most lines are a statement without braces: the whole line is its words.
        if line.iter().all(|t| t.kind == TokenKind::Word) {
            last_open_candidate = !line.is_empty();
            flush(line, &mut stmts);
            continue;
        }
        // The next most common: `keyword args {`: the line without its brace.
        let braces = line.iter().filter(|t| t.kind != TokenKind::Word).count();
        if let (1, [words @ .., last]) = (braces, line) {
            if !words.is_empty() && last.kind == TokenKind::Open && stack.len() < MAX_BLOCK_DEPTH {
                stack.push(Frame {
                    stmt: Some(Stmt {
                        words,
                        block: None,
                        open: Some(&last.loc),
                    }),
                    start: stmts.len(),
                });
                last_open_candidate = false;
                continue;
            }
        }
        // Any other line: runs of words between braces. `run` is where the current run of
        // words starts in the line.
        let mut run = 0;
        for (i, tok) in line.iter().enumerate() {
            match tok.kind {
                TokenKind::Word => {}
                // Not the stray-'{' branch below with a different message: the words before
                // this '{' are a statement of the enclosing block (a stray '{' has none, by
                // definition), and the error is reported once, at the first level too deep,
                // not at every '{' inside it. What both share is the anonymous frame.
                TokenKind::Open if stack.len() >= MAX_BLOCK_DEPTH => {
                    flush(&line[run..i], &mut stmts);
                    run = i + 1;
                    if stack.len() == MAX_BLOCK_DEPTH {
                        diags.push(Diagnostic::error(
                            &tok.loc,
                            format!("blocks nested deeper than {MAX_BLOCK_DEPTH} levels"),
                        ));
                    }
                    stack.push(Frame::anonymous(stmts.len()));
                    last_open_candidate = false;
                }
                TokenKind::Open => {
                    let words = &line[run..i];
                    run = i + 1;
                    let body_start = stack.last().map_or(0, |f| f.start);
                    let stmt = if !words.is_empty() {
                        Some(Stmt {
                            words,
                            block: None,
                            open: None,
                        })
                    } else if last_open_candidate && stmts.len() > body_start {
                        stmts.pop()
                    } else {
                        None
                    };
                    match stmt {
                        Some(mut s) => {
                            s.open = Some(&tok.loc);
                            stack.push(Frame {
                                stmt: Some(s),
                                start: stmts.len(),
                            });
                        }
                        None => {
                            diags.push(Diagnostic::error(
                                &tok.loc,
                                "unexpected '{': expected a keyword (such as vrrp_instance NAME) before it",
                            ));
                            stack.push(Frame::anonymous(stmts.len()));
                        }
                    }
                    last_open_candidate = false;
                }
                TokenKind::Close => {
                    flush(&line[run..i], &mut stmts);
                    run = i + 1;
                    match stack.pop() {
                        None => diags.push(Diagnostic::error(
                            &tok.loc,
                            "unexpected '}': no block is open here (an extra '}'?)",
                        )),
                        Some(frame) => {
                            // An anonymous block's statements stay where they are: they belong
                            // to the enclosing block.
                            if let Some(mut s) = frame.stmt {
                                s.block = Some(take_block(&mut stmts, frame.start));
                                stmts.push(s);
                            }
                        }
                    }
                    last_open_candidate = false;
                }
            }
        }
        let words = &line[run..];
        last_open_candidate = !words.is_empty();
        flush(words, &mut stmts);
    }
    while let Some(frame) = stack.pop() {
        match frame.stmt {
            Some(mut s) => {
                if let Some(open) = s.open {
                    diags.push(Diagnostic::error(
                        open,
                        format!(
                            "missing '}}': the block of '{}' opened here is never closed",
                            s.words[0].text
                        ),
                    ));
                }
                s.block = Some(take_block(&mut stmts, frame.start));
                stmts.push(s);
            }
            // An anonymous block still open at the end is dropped with what it holds.
            None => stmts.truncate(frame.start),
        }
    }
    stmts
}

/// The statements of a block that ends, `stmts[start..]`, moved out of the stack into a vector
/// of their exact size by one copy (`split_off`). `drain(start..).collect()` moved them one
/// statement at a time: 1.06 M instructions of `vigild -t` on 1,000 instances (24,000
/// statements).
fn take_block<'t>(stmts: &mut Vec<Stmt<'t>>, start: usize) -> Vec<Stmt<'t>> {
    stmts.split_off(start)
}

fn flush<'t>(words: &'t [Token<'t>], stmts: &mut Vec<Stmt<'t>>) {
    if !words.is_empty() {
        stmts.push(Stmt {
            words,
            block: None,
            open: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::lexer::{tokenize_line, FileName};
    use crate::conf::text_arena::TextArena;

    /// The tokens of `src`, the first of each line marked as the reader marks them, and where
    /// its lines end (for the reference builder, which takes the line ends as it used to).
    fn lex<'t>(src: &'t str, arena: &'t TextArena) -> (Vec<Token<'t>>, Vec<usize>) {
        let f = FileName::new("t");
        let mut tokens = Vec::new();
        let mut ends = Vec::new();
        for (i, l) in src.lines().enumerate() {
            let start = tokens.len();
            tokens.extend(tokenize_line(l, f, i as u32 + 1, 1, arena).unwrap());
            if let Some(first) = tokens.get_mut(start) {
                first.starts_line = true;
                ends.push(tokens.len());
            }
        }
        (tokens, ends)
    }

    fn tree(src: &str) -> (Vec<Stmt<'static>>, Vec<Diagnostic>) {
        let src: &'static str = Box::leak(Box::from(src));
        let arena: &'static TextArena = Box::leak(Box::default());
        let (tokens, _) = lex(src, arena);
        let tokens: &'static [Token<'static>] = Box::leak(tokens.into_boxed_slice());
        let mut d = Vec::new();
        let t = build(tokens, &mut d);
        (t, d)
    }

    // The builder as it was with a vector per open block (1d45f42): the reference for the
    // proptest below.
    struct RefFrame<'t> {
        stmt: Option<Stmt<'t>>,
        body: Vec<Stmt<'t>>,
    }

    fn reference_build<'t>(
        tokens: &'t [Token<'t>],
        line_ends: &[usize],
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Stmt<'t>> {
        let mut stack: Vec<RefFrame<'t>> = vec![RefFrame {
            stmt: None,
            body: Vec::new(),
        }];
        // Whether the last statement of the current body may still take a block from a `{` that
        // starts the next line.
        let mut last_open_candidate = false;
        let mut line_start = 0;
        for &line_end in line_ends {
            let Some(line) = tokens.get(line_start..line_end) else {
                break;
            };
            line_start = line_end;
            // Most lines are a statement without braces: the whole line is its words.
            if line.iter().all(|t| t.kind == TokenKind::Word) {
                last_open_candidate = !line.is_empty();
                reference_flush(line, &mut stack);
                continue;
            }
            // The next most common: `keyword args {`: the line without its brace.
            let braces = line.iter().filter(|t| t.kind != TokenKind::Word).count();
            if let (1, [words @ .., last]) = (braces, line) {
                if !words.is_empty() && last.kind == TokenKind::Open {
                    stack.push(RefFrame {
                        stmt: Some(Stmt {
                            words,
                            block: None,
                            open: Some(&last.loc),
                        }),
                        body: Vec::new(),
                    });
                    last_open_candidate = false;
                    continue;
                }
            }
            // Any other line: runs of words between braces. `run` is where the current run of
            // words starts in the line.
            let mut run = 0;
            for (i, tok) in line.iter().enumerate() {
                match tok.kind {
                    TokenKind::Word => {}
                    TokenKind::Open => {
                        let words = &line[run..i];
                        run = i + 1;
                        let stmt = if !words.is_empty() {
                            Some(Stmt {
                                words,
                                block: None,
                                open: None,
                            })
                        } else if last_open_candidate {
                            stack.last_mut().and_then(|f| f.body.pop())
                        } else {
                            None
                        };
                        match stmt {
                            Some(mut s) => {
                                s.open = Some(&tok.loc);
                                stack.push(RefFrame {
                                    stmt: Some(s),
                                    body: Vec::new(),
                                });
                            }
                            None => {
                                diags.push(Diagnostic::error(
                                    &tok.loc,
                                    "unexpected '{': expected a keyword (such as vrrp_instance NAME) before it",
                                ));
                                // Treat it as an anonymous block so the matching '}' balances.
                                stack.push(RefFrame {
                                    stmt: None,
                                    body: Vec::new(),
                                });
                            }
                        }
                        last_open_candidate = false;
                    }
                    TokenKind::Close => {
                        reference_flush(&line[run..i], &mut stack);
                        run = i + 1;
                        if stack.len() <= 1 {
                            diags.push(Diagnostic::error(
                                &tok.loc,
                                "unexpected '}': no block is open here (an extra '}'?)",
                            ));
                        } else if let Some(frame) = stack.pop() {
                            let parent = stack.len() - 1;
                            match frame.stmt {
                                Some(mut s) => {
                                    s.block = Some(frame.body);
                                    stack[parent].body.push(s);
                                }
                                None => stack[parent].body.extend(frame.body),
                            }
                        }
                        last_open_candidate = false;
                    }
                }
            }
            let words = &line[run..];
            last_open_candidate = !words.is_empty();
            reference_flush(words, &mut stack);
        }
        while stack.len() > 1 {
            let Some(frame) = stack.pop() else { break };
            let parent = stack.len() - 1;
            if let Some(mut s) = frame.stmt {
                if let Some(open) = s.open {
                    diags.push(Diagnostic::error(
                        open,
                        format!(
                            "missing '}}': the block of '{}' opened here is never closed",
                            s.words[0].text
                        ),
                    ));
                }
                s.block = Some(frame.body);
                stack[parent].body.push(s);
            }
        }
        stack.pop().map(|f| f.body).unwrap_or_default()
    }

    fn reference_flush<'t>(words: &'t [Token<'t>], stack: &mut [RefFrame<'t>]) {
        if words.is_empty() {
            return;
        }
        if let Some(frame) = stack.last_mut() {
            frame.body.push(Stmt {
                words,
                block: None,
                open: None,
            });
        }
    }

    proptest::proptest! {
        /// The one-stack builder gives the tree and the diagnostics the per-block builder gave,
        /// on any arrangement of words and braces over lines (stray, missing and extra braces,
        /// braces starting lines, anonymous blocks). (The reference has no depth bound; these
        /// inputs, 72 words and braces at most, a fifth of them `{`, stay far below it.)
        #[test]
        fn the_stack_builder_equals_the_reference(
            src in proptest::collection::vec("(a|b c|\\{|\\}| ){0,6}", 0..12),
        ) {
            let (text, arena) = (src.join("\n"), TextArena::new());
            let (tokens, ends) = lex(&text, &arena);
            let (mut d1, mut d2) = (Vec::new(), Vec::new());
            let t1 = build(&tokens, &mut d1);
            let t2 = reference_build(&tokens, &ends, &mut d2);
            proptest::prop_assert_eq!(t1, t2);
            proptest::prop_assert_eq!(d1, d2);
        }
    }

    /// Found by the config fuzz target (fuzz/regressions/config/glob-includes-deep-stack):
    /// 16,000 unclosed `{` made a tree whose drop overflowed a 2 MB stack. Blocks deeper than
    /// [`MAX_BLOCK_DEPTH`] are reported once and open no block of the tree; their braces still
    /// balance.
    #[test]
    fn blocks_deeper_than_the_bound_are_reported_and_open_no_block() {
        fn depth(stmts: &[Stmt<'_>]) -> usize {
            stmts
                .iter()
                .map(|s| s.block.as_deref().map_or(0, |b| 1 + depth(b)))
                .max()
                .unwrap_or(0)
        }
        // 40 levels, closed: one error at the 33rd `{`, every brace balanced.
        let mut src = String::new();
        for i in 0..40 {
            src.push_str(&format!("k{i} {{\n"));
        }
        src.push_str("leaf\n");
        src.push_str(&"}\n".repeat(40));
        let (t, d) = tree(&src);
        let msgs: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(
            msgs[0].contains(":33:5: error: blocks nested deeper than 32 levels"),
            "{msgs:?}"
        );
        assert_eq!(depth(&t), MAX_BLOCK_DEPTH);
        // 100,000 levels never closed, one `{` a line, built and dropped on a 2 MB thread: the
        // 32 real blocks are reported as never closed, the rest once.
        let deep = "k {\n".repeat(100_000);
        let d = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let (t, d) = tree(&deep);
                assert_eq!(depth(&t), MAX_BLOCK_DEPTH);
                d.len()
            })
            .expect("spawn")
            .join()
            .expect("built and dropped within 2 MB of stack");
        assert_eq!(d, MAX_BLOCK_DEPTH + 1);
    }

    #[test]
    fn nested_on_one_line_and_brace_on_next_line() {
        let (t, d) = tree("a x { b { c d } e }\nf\n{\n g\n}");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.len(), 2);
        let a = t[0].block.as_ref().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].block.as_ref().unwrap()[0].words.len(), 2);
        assert_eq!(t[1].block.as_ref().unwrap()[0].keyword().text, "g");
    }

    #[test]
    fn brace_errors_are_located() {
        let (_, d) = tree("a {\n b\n");
        assert_eq!(
            d[0].to_string(),
            "t:1:3: error: missing '}': the block of 'a' opened here is never closed"
        );
        let (_, d) = tree("a {\n}\n}");
        assert_eq!(
            d[0].to_string(),
            "t:3:1: error: unexpected '}': no block is open here (an extra '}'?)"
        );
    }
}
