//! docs/LVS-NAT-HOWTO.md, walked exactly as written: `scripts/lvs-nat-howto-walk.sh` extracts
//! the HOWTO's shell blocks from the markdown and runs each on the machines it names (network
//! namespaces: two directors, three real servers, a client), checking after each step what the
//! HOWTO says happens (the VIPs on the master, the wrr spread 2:1:1, a dead real server out of
//! both directors' tables, the backup taking over, no table left after stop). This test runs
//! the script with the vigild under test; its every OK / FAILED line is in the output.

use std::process::Command;

use vigil_tests::netns::{self, Lab};

#[test]
fn the_lvs_nat_howto_works_as_written() {
    if !netns::require_root() {
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/lvs-nat-howto-walk.sh"
    );
    let out = Command::new("bash")
        .arg(script)
        .arg(Lab::vigild_path())
        .output()
        .expect("bash scripts/lvs-nat-howto-walk.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(2) {
        // A tool the walk needs is missing: loud, and a failure.
        netns::not_run(&format!(
            "lvs-nat-howto-walk: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
        panic!("the LVS NAT HOWTO walk could not run (see NOT RUN above)");
    }
    assert!(
        out.status.success() && text.contains("every step as docs/LVS-NAT-HOWTO.md says"),
        "the HOWTO walk failed: {}",
        text.lines()
            .filter(|l| l.starts_with("FAILED"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!text.contains("FAILED"), "a step failed");
}
