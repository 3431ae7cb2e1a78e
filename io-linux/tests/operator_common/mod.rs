//! Helpers shared by the operator_* suites: an engine built from keepalived.conf text and driven
//! in virtual time (no network), and process guards.
#![allow(dead_code)]
#![allow(unsafe_code)] // geteuid(2): is the suite running as root?

use std::net::IpAddr;
use std::time::Duration;

use vigil_engine::conf::{self, Config};
use vigil_engine::wire::Family;
use vigil_engine::{Action, Engine, EngineConfig, Input, Instant};

/// Parse `text` and build its engine.
pub(crate) fn engine(text: &str) -> (Config, Engine) {
    let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("config: {e:?}"));
    let ec = EngineConfig::from_conf(&cfg).unwrap_or_else(|e| panic!("convert: {e}"));
    let engine = Engine::new(ec.engine).unwrap_or_else(|e| panic!("engine: {e}"));
    (cfg, engine)
}

/// Every interface up with a primary IPv4 address 192.0.2.(10+k) and a link-local IPv6 address,
/// then Start; every action goes to `sink`.
pub(crate) fn start(e: &mut Engine, now: Instant, sink: &mut dyn FnMut(&Engine, Action)) {
    let ifaces: Vec<_> = e.interfaces().map(|(id, _)| id).collect();
    for (k, id) in ifaces.into_iter().enumerate() {
        e.handle_input(
            now,
            Input::Link {
                iface: id,
                up: true,
            },
        );
        drain(e, sink);
        let v4: IpAddr = format!("192.0.2.{}", 10 + k).parse().unwrap();
        let v6: IpAddr = format!("fe80::{}", 10 + k).parse().unwrap();
        for (family, addr) in [(Family::V4, v4), (Family::V6, v6)] {
            e.handle_input(
                now,
                Input::PrimaryAddress {
                    iface: id,
                    family,
                    addr: Some(addr),
                },
            );
            drain(e, sink);
        }
    }
    e.handle_input(now, Input::Start);
    drain(e, sink);
}

/// Serve every deadline up to `until`.
pub(crate) fn run_until(e: &mut Engine, until: Instant, sink: &mut dyn FnMut(&Engine, Action)) {
    while let Some(d) = e.poll_timeout() {
        if d > until {
            break;
        }
        e.handle_timeout(d);
        drain(e, sink);
    }
}

/// Hand every queued action to `sink`, with the engine as it is right after the call.
pub(crate) fn drain(e: &mut Engine, sink: &mut dyn FnMut(&Engine, Action)) {
    while let Some(a) = e.poll_action() {
        sink(e, a);
    }
}

/// `Instant` `secs` seconds after the epoch.
pub(crate) fn at(secs: f64) -> Instant {
    Instant::from_nanos((secs * 1e9) as u64)
}

/// Wait (bounded) until `f` holds; false when it never did.
pub(crate) fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// A child process killed (by its pid) and reaped when dropped, even when the test fails.
pub(crate) struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether root-only tests should run: `true` as root. Not root: with VIGIL_SKIP_ROOT_TESTS=1 the
/// test is reported as NOT RUN (a line on stderr, and one appended to the file named by
/// `VIGIL_NOT_RUN_LOG`, which scripts/test counts) and `false` is returned; otherwise it panics
/// with a message. libtest has no "skipped" verdict: without this the early return reads `ok`.
pub(crate) fn need_root(what: &str) -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("VIGIL_SKIP_ROOT_TESTS").as_deref() == Ok("1") {
        use std::io::Write as _;
        let thread = std::thread::current();
        let binary = std::env::args()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .unwrap_or_default();
        let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(b, _)| b);
        let line = format!(
            "{binary}::{}\tneeds root ({what})\n",
            thread.name().unwrap_or("?")
        );
        eprint!("NOT RUN: {line}");
        if let Some(path) = std::env::var_os("VIGIL_NOT_RUN_LOG") {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("VIGIL_NOT_RUN_LOG: {e}"));
            f.write_all(line.as_bytes())
                .unwrap_or_else(|e| panic!("VIGIL_NOT_RUN_LOG: {e}"));
        }
        return false;
    }
    panic!("{what} needs root (run as root, or set VIGIL_SKIP_ROOT_TESTS=1 to skip it: it is then reported as NOT RUN)");
}
