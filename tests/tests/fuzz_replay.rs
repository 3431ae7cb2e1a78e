//! The fuzz corpora and crash reproducers, replayed on stable as ordinary tests.
//!
//! Every file of `fuzz/corpus/<target>/` (the minimized corpus each target has reached) and of
//! `fuzz/regressions/<target>/` (one reproducer per finding, kept forever) goes through the same
//! function the nightly fuzz target calls ([`vigil_tests::fuzzing::run`]). No nightly, no
//! libFuzzer: a finding stays fixed in every `cargo test`.
//!
//! `cargo test -p vigil-tests --test fuzz_replay -- --ignored write_seed_corpora` (re)writes the
//! seed files: `advert` from the real captures in engine/tests/data/captures, `config` from the Debian
//! keepalived samples, `engine` from the hand-built scenarios of
//! [`vigil_tests::fuzzing::engine_seeds`] and from the simulator's scenario runs
//! ([`sim_to_engine`]: `sim/scenarios/*.toml` -> `fuzz/corpus/engine/sim-<scenario>`).

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use vigil_engine::wire::{ChecksumPolicy, IpContext, IP_PROTO_VRRP};
use vigil_sim::scenario::Scenario;
use vigil_sim::sim::{Options, Sim};
use vigil_sim::trace::{Names, TraceEntry, TraceEvent};
use vigil_tests::fuzzing::{self, AdvertCase, Change, Link, Op, Outcome, Setup, Step};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The input files of a folder (a README.md or .gitkeep there is not an input). A missing or
/// unreadable folder is a failure: the corpora and reproducers are part of the repository, and a
/// replay of nothing would pass without checking anything.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let rd = fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: this folder is part of the repository (git checkout -- fuzz/)",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = rd
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .is_none_or(|n| n != ".gitkeep" && n != "README.md")
        })
        .collect();
    files.sort();
    files
}

/// Run every file of `fuzz/<kind>/<target>/`; returns how many ran. Fails listing every file
/// that panicked.
fn replay(kind: &str, target: &str) -> usize {
    let files = files_in(&fuzz_dir().join(kind).join(target));
    let mut failed = Vec::new();
    for f in &files {
        let data = fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let ran = catch_unwind(AssertUnwindSafe(|| fuzzing::run(target, &data)));
        match ran {
            Ok(true) => {}
            Ok(false) => panic!("no fuzz target called {target}"),
            Err(_) => failed.push(f.display().to_string()),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} files of fuzz/{kind}/{target} fail:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    eprintln!("fuzz/{kind}/{target}: {} files replayed", files.len());
    files.len()
}

#[test]
fn advert_corpus() {
    assert!(replay("corpus", "advert") > 0, "the advert corpus is empty");
}

#[test]
fn engine_corpus() {
    assert!(replay("corpus", "engine") > 0, "the engine corpus is empty");
}

#[test]
fn config_corpus() {
    assert!(replay("corpus", "config") > 0, "the config corpus is empty");
}

// The regression folders hold one reproducer per finding of FUZZING.md's table ("Findings"),
// kept forever. Their counts are the committed ones: a reproducer lost (or added without its
// line in FUZZING.md) fails here instead of shrinking the replay without a word.

#[test]
fn advert_regressions() {
    // No advert finding yet: the parser has not failed in any run (FUZZING.md, "Findings"). The
    // folder's README.md says so; the replay of zero files is checked to be that, not a lost
    // folder.
    let dir = fuzz_dir().join("regressions/advert");
    let readme = fs::read_to_string(dir.join("README.md"))
        .unwrap_or_else(|e| panic!("{}/README.md: {e}", dir.display()));
    assert!(
        readme.contains("no finding"),
        "fuzz/regressions/advert/README.md must say why the folder is empty"
    );
    assert_eq!(
        replay("regressions", "advert"),
        0,
        "update README.md and this count"
    );
}

#[test]
fn engine_regressions() {
    assert_eq!(
        replay("regressions", "engine"),
        7,
        "findings 1, 2, 4b, 5, 7, 8, 11"
    );
}

#[test]
fn config_regressions() {
    assert_eq!(
        replay("regressions", "config"),
        16,
        "findings 3, 4, 6 (two), 9 (three), 10, 13, 14, 15, 16, 17, 18 (two), 19"
    );
}

/// Every directory under fuzz/corpus and fuzz/regressions is a target that exists.
#[test]
fn corpus_directories_are_targets() {
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind);
        let rd = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut seen = Vec::new();
        for e in rd {
            let e = e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                fuzzing::TARGETS.contains(&name.as_str()),
                "fuzz/{kind}/{name} is not a fuzz target"
            );
            seen.push(name);
        }
        // Every target has its folder: a folder lost would otherwise go unnoticed here.
        seen.sort();
        let mut targets = fuzzing::TARGETS.to_vec();
        targets.sort();
        assert_eq!(seen, targets, "fuzz/{kind}/ holds one folder per target");
    }
}

// ------------------------------------------------------------------------------------------------
// Seed corpora
// ------------------------------------------------------------------------------------------------

/// The VRRP packets of an Ethernet pcap: (IP context, TTL, VRRP message). A minimal reader of the
/// classic pcap format (both byte orders), enough for the project's captures.
fn vrrp_packets(path: &Path) -> Vec<(IpContext, u8, Vec<u8>)> {
    let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let le = match data.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) | Some([0x4d, 0x3c, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) | Some([0xa1, 0xb2, 0x3c, 0x4d]) => false,
        _ => panic!("{}: not a pcap file", path.display()),
    };
    let u32_at = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut out = Vec::new();
    let mut pos = 24;
    while pos + 16 <= data.len() {
        let caplen = u32_at(&data[pos + 8..pos + 12]) as usize;
        let frame = &data[pos + 16..(pos + 16 + caplen).min(data.len())];
        pos += 16 + caplen;
        if frame.len() < 14 {
            continue;
        }
        let ip = &frame[14..];
        match u16::from_be_bytes([frame[12], frame[13]]) {
            0x0800 if ip.len() >= 20 && ip[9] == IP_PROTO_VRRP => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
                let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
                let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
                let ctx = IpContext {
                    src: IpAddr::V4(src),
                    dst: IpAddr::V4(dst),
                };
                out.push((ctx, ip[8], ip[ihl..total].to_vec()));
            }
            0x86dd if ip.len() >= 40 && ip[6] == IP_PROTO_VRRP => {
                let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.copy_from_slice(&ip[8..24]);
                d.copy_from_slice(&ip[24..40]);
                let ctx = IpContext {
                    src: IpAddr::V6(Ipv6Addr::from(s)),
                    dst: IpAddr::V6(Ipv6Addr::from(d)),
                };
                let end = (40 + plen).min(ip.len());
                out.push((ctx, ip[7], ip[40..end].to_vec()));
            }
            _ => {}
        }
    }
    out
}

fn write_seed(target: &str, name: &str, data: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(name);
    fs::write(&path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// (Re)write the seed files of every target. Not a test: run it by hand with `--ignored`.
#[test]
#[ignore = "writes fuzz/corpus: run by hand to refresh the seeds"]
fn write_seed_corpora() {
    // advert: every VRRP packet of every capture, under each checksum policy, deduplicated.
    let captures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/data/captures");
    let mut seen = std::collections::BTreeSet::new();
    for pcap in files_in(&captures) {
        if pcap.extension().is_none_or(|e| e != "pcap") {
            continue;
        }
        let stem = pcap
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (k, (ctx, ttl, payload)) in vrrp_packets(&pcap).into_iter().enumerate() {
            let iface =
                u8::from(!payload.is_empty() && vigil_engine::wire::peek_version(&payload) == 2);
            for (pname, policy) in [
                ("rfc", ChecksumPolicy::Rfc),
                ("either", ChecksumPolicy::Either),
                ("v3plain", ChecksumPolicy::V3Plain),
            ] {
                let case = AdvertCase {
                    ctx,
                    ttl,
                    policy,
                    iface,
                    payload: &payload,
                };
                let bytes = case.encode();
                if seen.insert(bytes.clone()) {
                    write_seed("advert", &format!("seed-{stem}-{k:02}-{pname}"), &bytes);
                }
            }
        }
    }
    // config: the Debian samples of keepalived, each as the main file; one with an include.
    // (keepalived's 25 samples, copied into the repository by scripts/copy-keepalived-samples.sh)
    let samples = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/keepalived-samples"
    ));
    assert!(samples.is_dir(), "{}: missing", samples.display());
    let sample_files = files_in(samples);
    for f in &sample_files {
        let name = f
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".gz") || !name.starts_with("keepalived.conf") {
            continue;
        }
        let Ok(text) = fs::read(f) else { continue };
        write_seed("config", &format!("seed-{name}"), &text);
    }
    let mut with_include = b"include conf.d/*.conf\n@lb1 global_defs { router_id lb1 }\n".to_vec();
    with_include.push(0);
    with_include.extend_from_slice(
        b"$VIP=192.0.2.100\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  \
          priority 150\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n",
    );
    write_seed("config", "seed-include-and-params", &with_include);
    // engine: hand-built operation sequences, and the simulator's scenario runs.
    for (name, bytes) in fuzzing::engine_seeds() {
        write_seed("engine", &name, &bytes);
    }
    for (name, bytes) in sim_seeds() {
        write_seed("engine", &format!("sim-{name}"), &bytes);
    }
}

// ------------------------------------------------------------------------------------------------
// Simulator traces as `engine` seeds
// ------------------------------------------------------------------------------------------------

/// The longest time step a converted run takes at once: the engine target serves at most 16
/// deadlines one by one per step, then the rest late (a stalled runner); short steps keep a run
/// on time.
const SIM_STEP_NS: u64 = 2_000_000_000;

/// The time steps that make `ns` nanoseconds pass: steps of at most [`SIM_STEP_NS`], the last in
/// milliseconds then microseconds.
fn sim_steps(mut ns: u64) -> Vec<Op> {
    let mut out = Vec::new();
    while ns >= SIM_STEP_NS {
        out.push(Op::Advance {
            step: Step::Millis((SIM_STEP_NS / 1_000_000) as u16),
        });
        ns -= SIM_STEP_NS;
    }
    if ns >= 1_000_000 {
        out.push(Op::Advance {
            step: Step::Millis((ns / 1_000_000) as u16),
        });
        ns %= 1_000_000;
    }
    if ns >= 1_000 {
        out.push(Op::Advance {
            step: Step::Micros((ns / 1_000) as u16),
        });
    }
    out
}

fn sim_link(iface: &str) -> Link {
    match iface {
        "eth0" => Link::Eth0,
        "eth1" => Link::Eth1,
        _ => Link::Unknown,
    }
}

/// A simulator run as an `engine` input: the external inputs of the run (boots, crashes, stops
/// and starts, reloads with a new priority, link changes, partitions and heals, check results,
/// tracked-file values) at the times they happened, in the target's operations, for its own
/// cluster (the scenario's configuration is not carried over: the target's five instances meet
/// the scenario's schedule of faults). Nodes map to routers modulo 3 and no router starts
/// before its `Boot`; a crash becomes a shutdown (the target has no crash); instance names map to
/// their index on the node; check scripts to the target's two by order of appearance, each
/// result reported twice (the target's `rise`/`fall` is 2). Adverts and losses are the target's
/// own. At most [`fuzzing::MAX_OPS`] operations: a long run is cut.
fn sim_to_engine(trace: &[TraceEntry], names: &Names, duration: u64) -> (Setup, Vec<Op>) {
    let nodes = names.nodes.len().clamp(1, 3);
    let setup = Setup {
        routers: (nodes - 1) as u8,
        flags: 0x02,
    };
    let mut ops = Vec::new();
    let mut now = 0u64;
    let mut scripts: Vec<String> = Vec::new();
    for e in trace {
        let node = e.node.unwrap_or(0);
        let router = (usize::from(node) % 3) as u8;
        let these: Vec<Op> = match &e.ev {
            TraceEvent::Boot | TraceEvent::Start => vec![Op::Start { router }],
            TraceEvent::Crash | TraceEvent::Stop => vec![Op::Shutdown { router }],
            TraceEvent::Reload { instance, priority } => {
                let index = names
                    .instances
                    .get(usize::from(node))
                    .and_then(|v| v.iter().position(|n| n == instance))
                    .unwrap_or(0);
                vec![Op::Reload {
                    router,
                    change: Change::Priority {
                        instance: (index % 256) as u8,
                        priority: *priority,
                    },
                }]
            }
            TraceEvent::Link { iface, up } => vec![Op::LinkState {
                router,
                link: sim_link(iface),
                up: *up,
            }],
            TraceEvent::Net { what, .. } if what == "healed" => {
                vec![Op::Partition { on: false }]
            }
            TraceEvent::Net { what, .. }
                if what.starts_with("partitioned") || what.contains("no longer reach") =>
            {
                vec![Op::Partition { on: true }]
            }
            TraceEvent::Track { what } => {
                let words: Vec<&str> = what.split_whitespace().collect();
                match words.as_slice() {
                    ["check", name, "now", result @ ..] => {
                        let k = match scripts.iter().position(|s| s == name) {
                            Some(k) => k,
                            None => {
                                scripts.push(name.to_string());
                                scripts.len() - 1
                            }
                        };
                        let outcome = match result {
                            ["succeeds"] => Outcome::Success,
                            ["fails"] => Outcome::Failure,
                            _ => Outcome::Timeout,
                        };
                        let check = Op::Check {
                            router,
                            script: (k % 2) as u8,
                            outcome,
                            ran_ms: 10,
                        };
                        vec![check, check]
                    }
                    ["track", "file", _, "=", value] => match value.parse::<i64>() {
                        Ok(value) => vec![Op::TrackFile {
                            router,
                            file: 0,
                            value,
                        }],
                        Err(_) => Vec::new(),
                    },
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        if these.is_empty() {
            continue;
        }
        if e.t > now {
            ops.extend(sim_steps(e.t - now));
            now = e.t;
        }
        ops.extend(these);
    }
    ops.extend(sim_steps(duration.saturating_sub(now)));
    ops.truncate(fuzzing::MAX_OPS);
    (setup, ops)
}

/// Every scenario of `sim/scenarios/`, run with its own seed and converted: (scenario, bytes).
fn sim_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sim/scenarios");
    let mut out = Vec::new();
    for f in files_in(&dir) {
        if f.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let plan = match Scenario::from_toml(&text).and_then(|s| s.plan()) {
            Ok(p) => p,
            Err(e) => panic!("{}: {e}", f.display()),
        };
        let mut sim = Sim::new(&plan, &Options::quiet(plan.seed));
        sim.run();
        let (setup, ops) = sim_to_engine(sim.trace(), sim.names(), sim.now());
        out.push((name, fuzzing::encode_engine(setup, &ops)));
    }
    out
}

/// The converter on a simulator run: the demo (three routers; the master crashes and comes back)
/// becomes boots, a shutdown and a start at the scenario's times, and the input replays clean.
#[test]
fn a_simulator_run_converts_to_an_engine_input_that_replays() {
    let plan = match Scenario::from_toml(vigil_sim::DEMO).and_then(|s| s.plan()) {
        Ok(p) => p,
        Err(e) => panic!("demo: {e}"),
    };
    let mut sim = Sim::new(&plan, &Options::quiet(plan.seed));
    sim.run();
    let (setup, ops) = sim_to_engine(sim.trace(), sim.names(), sim.now());
    assert_eq!(setup.routers, 2, "three nodes");
    let inputs: Vec<&Op> = ops
        .iter()
        .filter(|op| !matches!(op, Op::Advance { .. }))
        .collect();
    let boots = inputs
        .iter()
        .filter(|op| matches!(op, Op::Start { .. }))
        .count();
    assert!(boots >= 4, "three boots and a restart: {inputs:?}");
    assert!(
        inputs.iter().any(|op| matches!(op, Op::Shutdown { .. })),
        "the crash: {inputs:?}"
    );
    let elapsed: u64 = ops
        .iter()
        .map(|op| match op {
            Op::Advance {
                step: Step::Millis(ms),
            } => u64::from(*ms) * 1_000_000,
            Op::Advance {
                step: Step::Micros(us),
            } => u64::from(*us) * 1_000,
            _ => 0,
        })
        .sum();
    assert_eq!(
        elapsed / 1_000_000,
        sim.now() / 1_000_000,
        "the run's duration"
    );
    let bytes = fuzzing::encode_engine(setup, &ops);
    assert_eq!(fuzzing::decode_engine(&bytes), Some((setup, ops)));
    fuzzing::engine(&bytes);
}
