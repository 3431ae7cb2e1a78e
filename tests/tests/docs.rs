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

// ---------------------------------------------------------------------------------------------
// The keyword classes in docs/HOWTO.md and vigild(8), generated from the keyword table.

use vigil_engine::conf::keywords::{self, Class, Section, KEYWORDS};

/// Where a generated block starts and ends in a document (the whole marker lines).
struct Block {
    path: &'static str,
    begin: &'static str,
    end: &'static str,
    render: fn() -> String,
}

const UPDATE: &str = "VIGIL_UPDATE_DOCS=1 cargo test -p vigil-tests --test docs";

const BLOCKS: [Block; 2] = [
    Block {
        path: "docs/HOWTO.md",
        begin: "<!-- BEGIN keyword classes: generated from engine/src/conf/keywords.rs by `VIGIL_UPDATE_DOCS=1 cargo test -p vigil-tests --test docs`; do not edit -->",
        end: "<!-- END keyword classes -->",
        render: markdown_classes,
    },
    Block {
        path: "packaging/vigild.8",
        begin: ".\\\" BEGIN keyword classes: generated from engine/src/conf/keywords.rs by VIGIL_UPDATE_DOCS=1 cargo test -p vigil-tests --test docs; do not edit",
        end: ".\\\" END keyword classes",
        render: troff_classes,
    },
];

/// The keywords of one class, grouped by section (table order) and, for noted and refused
/// ones, by reason: `(section, reason, keywords)`.
fn grouped(label: &str) -> Vec<(Section, &'static str, Vec<&'static str>)> {
    let mut out: Vec<(Section, &'static str, Vec<&'static str>)> = Vec::new();
    for s in Section::ALL {
        for k in KEYWORDS
            .iter()
            .filter(|k| k.section == s && k.class.label() == label)
        {
            let reason = match k.class {
                Class::Honoured => "",
                Class::Noted(r) | Class::Refused(r) => r,
            };
            match out.iter_mut().find(|(gs, gr, _)| *gs == s && *gr == reason) {
                Some(g) => g.2.push(k.name),
                None => out.push((s, reason, vec![k.name])),
            }
        }
    }
    out
}

fn section_title(s: Section) -> String {
    match s {
        Section::Top => "top level".into(),
        Section::Address => {
            "address options (virtual_ipaddress, virtual_ipaddress_excluded, static_ipaddress)"
                .into()
        }
        Section::Route => "route options (virtual_routes, static_routes)".into(),
        s => s.name().to_string(),
    }
}

fn markdown_classes() -> String {
    let (h, n, r) = keywords::counts();
    let mut s = format!(
        "keepalived 2.2.7's VRRP-side and global keywords: {h} honoured, {n} noted, {r} refused.\n"
    );
    for (label, title) in [
        ("honoured", "Honoured (vigild does what keepalived does)"),
        (
            "noted",
            "Noted (accepted with a notice: no effect on a Vigil router)",
        ),
        ("refused", "Refused (an error at its line)"),
    ] {
        s.push_str(&format!("\n**{title}:**\n\n"));
        for (sec, reason, names) in grouped(label) {
            let list: Vec<String> = names.iter().map(|k| format!("`{k}`")).collect();
            if reason.is_empty() {
                s.push_str(&format!("- {}: {}\n", section_title(sec), list.join(", ")));
            } else {
                s.push_str(&format!(
                    "- {}: {}: {}\n",
                    section_title(sec),
                    list.join(", "),
                    reason
                ));
            }
        }
    }
    s
}

/// Text for troff: a backslash doubled, a leading `.` or `'` guarded.
fn troff(text: &str) -> String {
    let t = text.replace('\\', "\\\\").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

fn troff_classes() -> String {
    let (h, n, r) = keywords::counts();
    // No hyphenation and a ragged right margin: keyword names are not words to break.
    let mut s = format!(
        ".PP\n.nh\n.ad l\nkeepalived 2.2.7's VRRP\\-side and global keywords: {h} honoured, {n} noted, {r} refused.\n"
    );
    for (label, title) in [
        ("honoured", "Honoured"),
        ("noted", "Noted (a notice: no effect on a Vigil router)"),
        ("refused", "Refused (an error at its line)"),
    ] {
        s.push_str(&format!(".SS {title}\n"));
        for (sec, reason, names) in grouped(label) {
            if reason.is_empty() {
                // Honoured: the section as the tag, its keywords below.
                s.push_str(&format!(".TP\n.I {}\n", troff(&section_title(sec))));
                s.push_str(&troff(&names.join(", ")));
            } else {
                // Noted and refused: section and keywords as the tag, the reason below.
                s.push_str(&format!(
                    ".TP\n\\fI{}\\fR: {}\n{}",
                    troff(sec.name()),
                    troff(&names.join(", ")),
                    troff(reason)
                ));
            }
            s.push('\n');
        }
    }
    s.push_str(".ad b\n.hy\n");
    s
}

#[test]
fn the_keyword_classes_in_the_docs_are_the_tables() {
    let update = std::env::var("VIGIL_UPDATE_DOCS").as_deref() == Ok("1");
    let mut stale = Vec::new();
    for b in BLOCKS {
        let path = repo().join(b.path);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let start = text
            .find(b.begin)
            .unwrap_or_else(|| panic!("{}: no line {:?}", b.path, b.begin))
            + b.begin.len()
            + 1;
        let stop = text[start..]
            .find(b.end)
            .unwrap_or_else(|| panic!("{}: no line {:?}", b.path, b.end))
            + start;
        let want = (b.render)();
        if text[start..stop] != want {
            if update {
                let new = format!("{}{want}{}", &text[..start], &text[stop..]);
                fs::write(&path, new).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                eprintln!("{}: keyword classes rewritten", b.path);
            } else {
                stale.push(b.path);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the keyword classes in {stale:?} are not the table's (engine/src/conf/keywords.rs): \
         regenerate them with `{UPDATE}` and review the diff"
    );
}
