//! The repository stands alone: no file in it names a folder outside the checkout or a path that
//! exists on one machine only. A test (or a doc) that reads the team's folder beside the checkout, or
//! a home or scratch directory of one machine, passes on its author's machine and fails (or, worse,
//! skips) on everyone else's.
//!
//! The forbidden patterns are built from pieces, so this file does not match itself.

use std::fs;
use std::path::{Path, PathBuf};

/// Folders that are not part of the repository's content: git's own, build output, local fuzz
/// findings, and the fuzzers' working corpora (git ignores them; a running fuzzer adds and
/// removes files there, which made this walk fail on a file gone between listing and reading).
const SKIP_DIRS: &[&str] = &[".git", "target", "artifacts", "corpus-work", "coverage"];

fn forbidden() -> Vec<(String, &'static str)> {
    vec![
        // The team's reference folder beside the checkout.
        (
            ["..", "/shared"].concat(),
            "a folder outside the repository",
        ),
        (
            ["shared", "/captures"].concat(),
            "the team's folder: use engine/tests/data/captures",
        ),
        // Absolute paths of one machine.
        (["/wo", "rk/"].concat(), "an absolute path of one machine"),
        (["/ho", "me/"].concat(), "a home directory"),
        (["/ro", "ot/"].concat(), "root's home directory"),
        (["/Us", "ers/"].concat(), "a home directory"),
        // Reference notes that are not in the repository (docs/ARCHITECTURE.md has what is needed).
        (
            ["DESI", "GN.md"].concat(),
            "a file that is not in the repository",
        ),
        (
            ["PROTO", "COL.md"].concat(),
            "a file that is not in the repository",
        ),
        (
            ["LAB", "-NOTES.md"].concat(),
            "a file that is not in the repository",
        ),
    ]
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let rd = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in rd {
        let e = e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if SKIP_DIRS.contains(&name.as_str()) {
            continue;
        }
        let ft = e
            .file_type()
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        if ft.is_dir() {
            walk(&p, out);
        } else if ft.is_file() {
            out.push(p);
        }
    }
}

#[test]
fn no_file_names_a_path_outside_the_repository() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root");
    let mut files = Vec::new();
    walk(&root, &mut files);
    // The walk must have found the repository, not an empty folder: a vacuous pass proves nothing.
    assert!(
        files.len() > 100 && files.iter().any(|f| f.ends_with("engine/src/lib.rs")),
        "walked {} files under {}: not the repository?",
        files.len(),
        root.display()
    );
    let patterns = forbidden();
    let mut hits = Vec::new();
    for f in &files {
        let Ok(bytes) = fs::read(f) else {
            panic!("{}: unreadable", f.display());
        };
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            for (pat, why) in &patterns {
                if line.contains(pat.as_str()) {
                    let rel = f.strip_prefix(&root).unwrap_or(f);
                    hits.push(format!(
                        "{}:{}: `{pat}` ({why}): {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} line(s) name a path outside the repository or of one machine:\n{}",
        hits.len(),
        hits.join("\n")
    );
}
