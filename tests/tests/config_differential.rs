//! Differential test: `vigild -t` and `keepalived -t` must agree on accept versus reject for
//! the 25 keepalived sample configurations and for the broken or tricky ones in
//! `tests/configs/`.
//!
//! keepalived -t checks that interfaces exist, so both run inside a network namespace that this
//! test creates with veth interfaces of the names the configurations use (dummy interfaces are
//! not available on these kernels); `vigild -t` checks interfaces through /sys/class/net, which
//! `ip netns exec` remounts for the namespace, so both see the same interfaces.
//!
//! keepalived's -t exit codes: 0 valid, 5 configuration errors, 6 only script-security
//! problems. "Accept" is 0; 5 and 6 are compared as they are.
//!
//! Every vigild message is snapshotted (they carry file:line:col), together with both exit codes.
//! Needs root (network namespaces); set VIGIL_SKIP_ROOT_TESTS=1 to skip it elsewhere.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// keepalived's 25 samples, copied into the repository by scripts/copy-keepalived-samples.sh.
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/keepalived-samples");

/// Interfaces that the configurations name.
const INTERFACES: &[&str] = &["eth0", "eth1", "eth2", "eth3", "eth0.1"];

/// Cases where vigild and keepalived disagree on purpose, and why.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "lvs_group_missing.conf",
        "keepalived only logs at start-up that the group is not configured and drops the virtual server (-t exits 0); Vigil fails -t: a virtual server that would never run is a configuration error",
    ),
    (
        "lvs_http_no_url.conf",
        "keepalived 2.2.7 crashes (SIGSEGV, exit 139) on an HTTP_GET without url; Vigil reports it at its line and exits 5",
    ),
    (
        "lvs_every_keyword.conf",
        "this host's data plane is nftables (no IPVS): lb_kind DR (the group's virtual server), persistence_engine and lb_kind TUN cannot be applied, and Vigil refuses them at their lines (a service the kernel would not serve must not start with only its checkers running); keepalived's -t does not look at IPVS (its checker process stops at start when IPVS cannot be initialised)",
    ),
];

/// Config ids: keepalived's conditional sample is meant to be run with `-i high` or `-i low`.
fn config_id(name: &str) -> &'static str {
    if name == "keepalived.conf.conditional_conf" {
        "high"
    } else {
        "main"
    }
}

/// The namespace, deleted on drop (also when the test fails).
struct Netns(String);

impl Netns {
    fn create() -> Netns {
        let name = format!("vigil-conf-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        run("ip", &["netns", "add", &name]);
        let ns = Netns(name);
        for (i, ifname) in INTERFACES.iter().enumerate() {
            let peer = format!("vcpeer{i}");
            run(
                "ip",
                &[
                    "-n", &ns.0, "link", "add", ifname, "type", "veth", "peer", "name", &peer,
                ],
            );
            run("ip", &["-n", &ns.0, "link", "set", ifname, "up"]);
        }
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(st.success(), "{cmd} {args:?} failed: {st}");
}

struct Outcome {
    code: i32,
    stderr: String,
}

fn exec_in(ns: &str, dir: &Path, prog: &Path, args: &[&str]) -> Outcome {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", prog.display()));
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn vigild_and_keepalived_agree_on_accept_versus_reject() {
    if !vigil_tests::netns::require_root() {
        return;
    }
    assert!(
        Path::new("/usr/sbin/keepalived").exists() || Command::new("keepalived").arg("-v").output().is_ok(),
        "keepalived is not installed: the test command (scripts/test) installs it (apt-get install keepalived)"
    );
    assert!(
        Path::new(SAMPLES).is_dir(),
        "{SAMPLES} is missing: scripts/copy-keepalived-samples.sh copies keepalived's samples there"
    );
    let vigild = vigil_tests::netns::Lab::vigild_path();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut cases: Vec<(PathBuf, String)> = Vec::new();
    let mut mine: Vec<String> = std::fs::read_dir(&configs)
        .expect("tests/configs")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    mine.sort();
    assert!(
        mine.len() >= 30,
        "expected at least 30 configs, found {}",
        mine.len()
    );
    for n in mine {
        cases.push((configs.clone(), n));
    }
    let mut samples: Vec<String> = std::fs::read_dir(SAMPLES)
        .expect("samples")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("keepalived.conf"))
        .collect();
    samples.sort();
    assert_eq!(samples.len(), 25, "expected keepalived 2.2.7's 25 samples");
    for n in samples {
        cases.push((PathBuf::from(SAMPLES), n));
    }

    let ns = Netns::create();
    let keepalived = PathBuf::from("keepalived");
    let mut report = String::new();
    let mut unexpected = Vec::new();
    let (mut agree, mut deliberate) = (0, 0);
    for (dir, name) in &cases {
        let id = config_id(name);
        let k = exec_in(&ns.0, dir, &keepalived, &["-t", "-i", id, "-f", name]);
        let v = exec_in(&ns.0, dir, &vigild, &["-t", "-i", id, "-f", name]);
        let why = DELIBERATE.iter().find(|(n, _)| n == name).map(|(_, w)| *w);
        let same = k.code == v.code;
        match (same, why) {
            (true, None) => agree += 1,
            (false, Some(_)) => deliberate += 1,
            (true, Some(_)) => unexpected.push(format!(
                "{name}: listed as a deliberate disagreement but both exit {}",
                k.code
            )),
            (false, None) => unexpected.push(format!(
                "{name}: keepalived -t exits {}, vigild -t exits {}\n  keepalived said:\n{}\n  vigild said:\n{}",
                k.code, v.code, indent(&k.stderr), indent(&v.stderr)
            )),
        }
        let _ = writeln!(
            report,
            "== {name} (-i {id}): keepalived {} vigild {}{}",
            k.code,
            v.code,
            why.map(|w| format!(" [deliberate: {w}]"))
                .unwrap_or_default()
        );
        for line in v.stderr.lines() {
            // Which data-plane backend this host gets depends on its kernel (IPVS or not), not
            // on the configuration: left out of the snapshot (unit-tested in dataplane/mod.rs).
            if line.starts_with("vigild: load-balancer data plane on this host: ") {
                continue;
            }
            let located = line
                .split(": ")
                .next()
                .is_some_and(|l| l.matches(':').count() >= 2);
            if (line.contains(" error: ") || line.contains(" warning: ")) && !located {
                unexpected.push(format!("{name}: a message without file:line:col: {line}"));
            }
            let _ = writeln!(report, "  {line}");
        }
    }
    eprintln!(
        "{} configurations: {agree} agree, {deliberate} deliberate disagreements, {} unexpected",
        cases.len(),
        unexpected.len()
    );
    insta::assert_snapshot!("config_differential", report);
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
