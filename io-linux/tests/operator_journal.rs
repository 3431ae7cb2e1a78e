//! Under journald (stderr is the stream `$JOURNAL_STREAM` names) vigild's lines carry their
//! syslog priority and no timestamp of their own; elsewhere they keep the plain format.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

fn run_vigild(journal: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let f = std::fs::File::create(&log).unwrap();
    let md = f.metadata().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigild"));
    // A configuration that does not exist: vigild logs the error and exits 5, as keepalived.
    cmd.args(["-n", "-f"])
        .arg(dir.path().join("missing.conf"))
        .arg("-p")
        .arg(dir.path().join("vigild.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(f)
        .env_remove("JOURNAL_STREAM");
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", md.dev(), md.ino()));
    }
    let st = cmd.status().unwrap();
    assert_eq!(st.code(), Some(5));
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn journald_gets_priority_prefixes_and_no_second_timestamp() {
    let text = run_vigild(true);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("<3>"), "{text}");
    assert!(first.contains("missing.conf"), "{text}");
    assert!(!first.contains("ERROR"), "{text}");
    assert!(!first.contains("Z "), "no timestamp: {text}");
}

#[test]
fn a_terminal_or_file_gets_the_plain_format() {
    let text = run_vigild(false);
    let first = text.lines().next().unwrap_or_default();
    assert!(!first.starts_with('<'), "{text}");
    assert!(first.contains("ERROR"), "{text}");
}
