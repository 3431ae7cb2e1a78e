//! The untyped statement tree: `keyword args... [{ statements }]`.
//!
//! A statement is the words of one line up to a `{`, `}` or the end of the line. A `{` opens a
//! block for the statement before it (on the same line, or the previous line when the `{` starts
//! a line); `}` closes the innermost block. A `}` with no open block and a block still open at the
//! end of the input are errors located at the offending brace.

use super::diag::Diagnostic;
use super::lexer::{Location, Token, TokenKind};

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stmt {
    /// The keyword and its arguments (at least one word).
    pub words: Vec<Token>,
    /// The block's statements, when the statement opens one.
    pub block: Option<Vec<Stmt>>,
    /// Where the block's `{` is.
    pub open: Option<Location>,
}

impl Stmt {
    /// The keyword.
    pub fn keyword(&self) -> &Token {
        &self.words[0]
    }

    /// Where the statement starts.
    pub fn loc(&self) -> &Location {
        &self.words[0].loc
    }

    /// The arguments after the keyword.
    pub fn args(&self) -> &[Token] {
        &self.words[1..]
    }
}

struct Frame {
    stmt: Option<Stmt>,
    body: Vec<Stmt>,
}

/// Builds the tree from lines of tokens, reporting brace errors into `diags`.
pub fn build(lines: Vec<Vec<Token>>, diags: &mut Vec<Diagnostic>) -> Vec<Stmt> {
    let mut stack: Vec<Frame> = vec![Frame {
        stmt: None,
        body: Vec::new(),
    }];
    // Whether the last statement of the current body may still take a block from a `{` that
    // starts the next line.
    let mut last_open_candidate = false;
    for line in lines {
        // Most lines are a statement without braces: the line's own vector becomes its words.
        if line.iter().all(|t| t.kind == TokenKind::Word) {
            last_open_candidate = !line.is_empty();
            let mut words = line;
            flush(&mut words, &mut stack);
            continue;
        }
        // The next most common: `keyword args {`: the line's vector, without its brace.
        let braces = line.iter().filter(|t| t.kind != TokenKind::Word).count();
        if braces == 1 && line.len() > 1 && line.last().is_some_and(|t| t.kind == TokenKind::Open) {
            let mut words = line;
            let open = words.pop().map(|t| t.loc);
            stack.push(Frame {
                stmt: Some(Stmt {
                    words,
                    block: None,
                    open,
                }),
                body: Vec::new(),
            });
            last_open_candidate = false;
            continue;
        }
        let mut words: Vec<Token> = Vec::new();
        for tok in line {
            match tok.kind {
                TokenKind::Word => words.push(tok),
                TokenKind::Open => {
                    let stmt = if !words.is_empty() {
                        Some(Stmt {
                            words: std::mem::take(&mut words),
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
                            s.open = Some(tok.loc.clone());
                            stack.push(Frame {
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
                            stack.push(Frame {
                                stmt: None,
                                body: Vec::new(),
                            });
                        }
                    }
                    last_open_candidate = false;
                }
                TokenKind::Close => {
                    flush(&mut words, &mut stack);
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
        last_open_candidate = !words.is_empty();
        flush(&mut words, &mut stack);
    }
    while stack.len() > 1 {
        let Some(frame) = stack.pop() else { break };
        let parent = stack.len() - 1;
        if let Some(mut s) = frame.stmt {
            if let Some(open) = &s.open {
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

fn flush(words: &mut Vec<Token>, stack: &mut [Frame]) {
    if words.is_empty() {
        return;
    }
    if let Some(frame) = stack.last_mut() {
        frame.body.push(Stmt {
            words: std::mem::take(words),
            block: None,
            open: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::lexer::tokenize_line;
    use std::sync::Arc;

    fn tree(src: &str) -> (Vec<Stmt>, Vec<Diagnostic>) {
        let f: Arc<str> = Arc::from("t");
        let lines = src
            .lines()
            .enumerate()
            .map(|(i, l)| tokenize_line(l, &f, i as u32 + 1, 1).unwrap())
            .filter(|l| !l.is_empty())
            .collect();
        let mut d = Vec::new();
        let t = build(lines, &mut d);
        (t, d)
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
