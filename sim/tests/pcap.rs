//! `--pcap` output decoded by tshark: every frame of a simulated capture (adverts in IPv4 and
//! IPv6, gratuitous ARP, unsolicited NA) is well formed, every VRRP, IPv4 and ICMPv6 checksum is
//! good, and `vigil-sim decode` agrees (verdict `ok` for every advert). Needs tshark (Debian
//! package `tshark`).

use std::path::PathBuf;
use std::process::Command;

use vigil_sim::scenario::Scenario;
use vigil_sim::sim::{Options, Sim};

fn tshark(file: &std::path::Path, filter: &str) -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(file)
        .args(["-o", "ip.check_checksum:TRUE", "-Y", filter])
        .output()
        .unwrap_or_else(|e| panic!("tshark is needed for this test (apt-get install tshark): {e}"));
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn tshark_decodes_every_simulated_frame_with_good_checksums() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let tmp = std::env::temp_dir().join(format!("vigil-sim-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for name in [
        "demo",
        "ipv6",
        "v2-auth",
        "unicast",
        "dual-stack",
        "sync-group",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
        let plan = Scenario::from_toml(&text).unwrap().plan().unwrap();
        let mut opts = Options::full(plan.seed);
        opts.capture = true;
        let mut sim = Sim::new(&plan, &opts);
        sim.run();
        let frames = sim.captured().len();
        assert!(frames > 10, "{name}: {frames} frames");
        let file = tmp.join(format!("{name}.pcap"));
        let f = std::fs::File::create(&file).unwrap();
        vigil_sim::frames::write_pcap(f, sim.captured()).unwrap();

        let all = tshark(&file, "frame");
        assert_eq!(all.len(), frames, "{name}: tshark read every frame");
        let bad = tshark(
            &file,
            "_ws.malformed || _ws.expert.severity >= \"error\" || vrrp.checksum.status != \"Good\" \
             || ip.checksum.status == \"Bad\" || icmpv6.checksum.status == \"Bad\"",
        );
        assert!(
            bad.is_empty(),
            "{name}: malformed or bad checksum:\n{}",
            bad.join("\n")
        );
        let vrrp = tshark(&file, "vrrp");
        let good = tshark(&file, "vrrp.checksum.status == \"Good\"");
        assert!(!vrrp.is_empty(), "{name}: no VRRP frame");
        assert_eq!(vrrp.len(), good.len(), "{name}: every VRRP checksum good");
        let announces = tshark(&file, "arp || icmpv6.type == 136");
        assert_eq!(
            vrrp.len() + announces.len(),
            frames,
            "{name}: nothing unexpected"
        );

        let bytes = std::fs::read(&file).unwrap();
        let decoded = vigil_sim::decode::decode_pcap(&bytes).unwrap();
        assert_eq!(
            decoded.len(),
            vrrp.len(),
            "{name}: decode finds every advert"
        );
        assert!(decoded.iter().all(|o| o["verdict"] == "ok"), "{name}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn decode_reads_the_keepalived_captures() {
    // The captures of real keepalived 2.2.7 live in the repository (engine/tests/data/captures,
    // README.md there says how they were made). A missing folder or file is a failure, not a skip.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/data/captures");
    // VRRP packets per capture, from the capture notes (README.md there).
    let expected = [
        ("vrrp2-ipv4.pcap", 14),
        ("vrrp2-ipv4-authpass.pcap", 14),
        ("vrrp3-ipv4.pcap", 17),
        ("vrrp3-ipv4-ai0.1.pcap", 25),
        ("vrrp3-ipv6.pcap", 17),
    ];
    let mut seen = 0;
    for (name, count) in expected {
        let p = dir.join(name);
        let bytes = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: the keepalived captures are part of the repository \
                 (git checkout -- engine/tests/data/captures)",
                p.display()
            )
        });
        let decoded = vigil_sim::decode::decode_pcap(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(decoded.len(), count, "{}: adverts decoded", p.display());
        for o in &decoded {
            assert_eq!(o["verdict"], "ok", "{}: {o}", p.display());
        }
        seen += decoded.len();
    }
    assert_eq!(seen, 87, "VRRP packets in the captures");
}
