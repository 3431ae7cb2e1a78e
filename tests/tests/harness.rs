//! The end-to-end harness's own checks (no root needed): a helper that reads a capture must fail
//! loudly when its tool fails, never hand back an empty answer that a test reads as "nothing
//! happened". Reads the keepalived captures in engine/tests/data/captures.

use std::path::PathBuf;

use vigil_tests::netns::tshark_fields;

fn capture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/data/captures")
        .join(name);
    assert!(
        p.is_file(),
        "{}: missing (git checkout -- engine/tests/data/captures)",
        p.display()
    );
    p
}

#[test]
fn tshark_fields_reads_every_advert_of_a_capture() {
    let rows = tshark_fields(
        &capture("vrrp3-ipv4.pcap"),
        "vrrp",
        &["ip.src", "vrrp.prio"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // 17 adverts (engine/tests/data/captures/README.md), two of them priority 0.
    assert_eq!(rows.len(), 17, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r[1] == "0").count(), 2, "{rows:?}");
}

#[test]
fn tshark_fields_fails_on_a_filter_tshark_rejects() {
    let pcap = capture("vrrp3-ipv4.pcap");
    let err = tshark_fields(&pcap, "vrrp.no_such_field == 1", &["vrrp.prio"])
        .expect_err("a rejected filter must be an error, not an empty list");
    assert!(err.to_string().contains("no_such_field"), "{err}");
    let err = tshark_fields(&pcap, "vrrp", &["vrrp.no_such_field"])
        .expect_err("a rejected field must be an error, not an empty list");
    assert!(err.to_string().contains("failed"), "{err}");
}
