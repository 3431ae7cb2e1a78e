//! The documents that point at tests stay true as the code moves: every test name that
//! docs/CONFORMANCE.md gives for a "tested" requirement exists in the repository.
//!
//! A row marked "tested" promises a test that fails when the rule is broken; a renamed or removed
//! test would leave the promise pointing at nothing. This reads each such row, takes every
//! backticked identifier of its evidence cell (test names, module aliases, configuration
//! keywords it names), and requires each to occur as a whole word in the repository's Rust
//! sources, simulator scenarios or snapshot names.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent: the repository")
        .to_path_buf()
}

/// Every file under `dir` whose name ends with one of `exts`, skipping build output and git.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if name != "target" && name != ".git" && name != "corpus" && name != "corpus-work" {
                files(&p, exts, out);
            }
        } else if exts.iter().any(|x| name.ends_with(x)) {
            out.push(p);
        }
    }
}

/// Identifier-shaped words (lowercase, with an underscore) between backticks.
fn named_identifiers(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.contains('_')
                && t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// Backticked repository paths (`dir/file.rs`, `docs/X.md`, ...).
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.contains('/')
                && !t.starts_with('/')
                && [".rs", ".md", ".toml", ".py", ".sh"]
                    .iter()
                    .any(|x| t.ends_with(x))
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        })
        .map(str::to_string)
        .collect()
}

/// Whether a path a document names exists: relative to the repository root, or (as the
/// architecture page writes them) to one crate's `src/` folder.
fn path_exists(path: &str) -> bool {
    let root = repo();
    root.join(path).exists()
        || ["engine", "io-linux", "sim", "tests"]
            .iter()
            .any(|c| root.join(c).join("src").join(path).exists())
}

/// The whole words of a text (runs of `[a-z0-9_]`), plus file stems of snapshots and scenarios.
fn words_of_repository() -> BTreeSet<String> {
    let root = repo();
    let mut paths = Vec::new();
    files(&root, &[".rs", ".toml", ".snap"], &mut paths);
    assert!(
        paths.len() > 50,
        "found only {} source files under {}",
        paths.len(),
        root.display()
    );
    let mut words = BTreeSet::new();
    for p in &paths {
        if let Some(stem) = p.file_stem() {
            let stem = stem.to_string_lossy();
            words.insert(stem.rsplit("__").next().unwrap_or(&stem).to_string());
        }
        let Ok(text) = fs::read_to_string(p) else {
            continue;
        };
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if w.contains('_') {
                words.insert(w.to_ascii_lowercase());
            }
        }
    }
    words
}

#[test]
fn every_test_named_by_conformance_md_exists() {
    let doc = repo().join("docs/CONFORMANCE.md");
    let text = fs::read_to_string(&doc)
        .unwrap_or_else(|e| panic!("{} must exist (issue 19): {e}", doc.display()));
    let words = words_of_repository();
    let mut rows = 0;
    let mut names = 0;
    let mut missing = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let Some((_, evidence)) = line.split_once("| tested |") else {
            continue;
        };
        rows += 1;
        for name in named_identifiers(evidence) {
            names += 1;
            if !words.contains(&name) {
                missing.push(format!("{name}  (row: {})", &line[..line.len().min(40)]));
            }
        }
    }
    for path in named_paths(&text) {
        if !path_exists(&path) {
            missing.push(format!("{path}  (a file the document names)"));
        }
    }
    assert!(rows >= 80, "only {rows} tested rows in {}", doc.display());
    assert!(names >= 80, "only {names} test names in the tested rows");
    assert!(
        missing.is_empty(),
        "docs/CONFORMANCE.md names tests that do not exist (renamed or removed?):\n{}",
        missing.join("\n")
    );
}

/// The documents a reader starts from (README, docs/, the benchmark and fuzzing pages, each
/// crate's README).
fn documents() -> Vec<PathBuf> {
    let root = repo();
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("docs")] {
        if let Ok(rd) = fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "md") {
                    out.push(p);
                }
            }
        }
    }
    for krate in ["engine", "io-linux", "sim", "tests", "fuzz", "bench"] {
        let p = root.join(krate).join("README.md");
        if p.exists() {
            out.push(p);
        }
    }
    out
}

#[test]
fn every_file_the_documents_name_exists() {
    let docs = documents();
    assert!(docs.len() >= 5, "found only {} documents", docs.len());
    let mut missing = Vec::new();
    for doc in &docs {
        let text = fs::read_to_string(doc).unwrap_or_default();
        for path in named_paths(&text) {
            if !path_exists(&path) {
                missing.push(format!("{}: `{path}`", doc.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documents name files that do not exist (moved?):\n{}",
        missing.join("\n")
    );
}
