//! `vigild -t`: check a configuration like `keepalived -t`.
//!
//! Runs the daemon's own load ([`vigil_linux::load::load`]: parse, conversion for the engine,
//! the runner's plans), prints every diagnostic (file:line:col) to stderr and returns
//! keepalived's exit code: 0 when the configuration is valid, 5 (`KEEPALIVED_EXIT_CONFIG`) when
//! it has errors (everything the daemon refuses: `auth_type AH`, an instance with no interface,
//! a refused keyword, ...) or warnings (input that was ignored or replaced; keepalived's `-t`
//! fails on those too; the daemon's start-up warnings are among them). Notices (keepalived
//! settings that have no effect on a Vigil router, each with its reason) are printed but do not
//! fail the check. Like keepalived, it also checks that the interfaces the file names exist
//! (instances', tracked ones, the `dev` of addresses, routes and nexthops, the `iif` / `oif` of
//! rules), through `/sys/class/net` (run it in the network namespace the daemon will run in).

use std::io::Write;
use std::path::{Path, PathBuf};

use vigil_engine::conf::{self, Config, ParseOptions, SourceLoader};
use vigil_linux::checker::Subsystems;
use vigil_linux::load;

/// keepalived's exit code for configuration errors.
pub(crate) const EXIT_CONFIG: i32 = 5;

/// Reads configuration files from the filesystem; globs through the engine's pure matcher.
#[derive(Debug, Default)]
pub(crate) struct FsLoader;

impl SourceLoader for FsLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        // Valid UTF-8 (every real configuration) is taken as it is; anything else is read
        // with replacement characters, as before.
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn glob(&self, pattern: &str) -> Vec<String> {
        let mut out = Vec::new();
        for p in conf::include::expand_braces(pattern) {
            glob_fs(&p, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    fn canonical(&self, path: &str) -> String {
        std::fs::canonicalize(path)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| conf::include::normalize(path))
    }
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands one brace-free pattern component by component.
fn glob_fs(pattern: &str, out: &mut Vec<String>) {
    let absolute = pattern.starts_with('/');
    let mut bases: Vec<PathBuf> = vec![if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for b in &bases {
            if has_magic(comp) {
                let dir = if b.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    b.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| conf::include::glob_match(comp, n))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| b.join(n)));
            } else {
                next.push(b.join(comp));
            }
        }
        bases = next
            .into_iter()
            .filter(|p| if last { p.is_file() } else { p.is_dir() })
            .collect();
    }
    out.extend(bases.into_iter().map(|p| p.to_string_lossy().into_owned()));
}

/// keepalived's exit code when the only problem is script security.
pub(crate) const EXIT_SCRIPT_SECURITY: i32 = 6;

/// The scripts of a notify set.
fn notify_scripts(n: &conf::Notify) -> impl Iterator<Item = &conf::Script> {
    [
        &n.any,
        &n.master,
        &n.backup,
        &n.fault,
        &n.stop,
        &n.deleted,
        &n.master_rx_lower_pri,
    ]
    .into_iter()
    .flatten()
}

/// Every script the configuration would run.
fn scripts(cfg: &Config) -> Vec<&conf::Script> {
    let mut v: Vec<&conf::Script> = cfg.scripts.iter().map(|s| &s.script).collect();
    for i in &cfg.instances {
        v.extend(notify_scripts(&i.notify));
    }
    for g in &cfg.sync_groups {
        v.extend(notify_scripts(&g.notify));
    }
    for f in [&cfg.global.notify_fifo, &cfg.global.vrrp_notify_fifo]
        .into_iter()
        .flatten()
    {
        v.extend(f.script.iter());
    }
    v.extend(vigil_engine::conf::checker_scripts(cfg));
    v
}

/// Whether a script's program exists (absolute path, or found on PATH).
fn program_exists(argv0: &str) -> bool {
    if argv0.contains('/') {
        return Path::new(argv0).is_file();
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .any(|d| !d.is_empty() && Path::new(d).join(argv0).is_file())
}

/// `vigild -d`: prints the effective configuration in keepalived's `-d` format (VRRP part, then
/// checker part; see `vigil_linux::dump`).
/// A file that does not parse prints nothing: `-t` or the start reports the errors. What the
/// host's data plane cannot apply is printed too (as keepalived's `-d` prints what it parsed):
/// `-t` and the daemon refuse it.
pub(crate) fn dump(file: &Path, config_id: Option<String>) {
    // A one-shot command like `-t` (which `-d -t` runs after this): the local name (router_id's
    // default) is waited for as keepalived waits for it, not the daemon's 250 ms.
    vigil_linux::operator::local_name::wait_as_a_check();
    let path = file.to_string_lossy();
    let opts = ParseOptions {
        config_id,
        rt_names: vigil_linux::routes::rt_names(),
        data_plane: vigil_engine::dataplane::Backend::NotApplied,
        vlan_interfaces: vigil_linux::netlink::vlan_interfaces(),
    };
    if let Ok(cfg) = conf::parse_file(&path, &FsLoader, &opts) {
        vigil_linux::dump::print(&cfg);
    }
}

/// Runs the check; returns the process exit code.
///
/// The configuration goes through [`vigil_linux::load::load`], the daemon's own load (parse,
/// `-P`/`-C`, the conversion for the engine, the runner's plans), so that `-t` fails on what the
/// daemon refuses and prints every warning the daemon logs at start; then every interface the
/// file names is looked up (instances', tracked ones, the `dev` of addresses, routes and
/// nexthops, the `iif` / `oif` of rules), as keepalived's `-t` does.
pub(crate) fn run(
    file: &Path,
    config_id: Option<String>,
    subsystems: Subsystems,
    flag_notes: &[String],
    out: &mut dyn Write,
) -> i32 {
    let path = file.to_string_lossy();
    // No instance waits on a check: the local name (router_id's default) is waited for as
    // keepalived waits for it, so that the check's answer does not depend on the machine's load.
    vigil_linux::operator::local_name::wait_as_a_check();
    // Which data plane this host gets decides the virtual servers' notes and refusals.
    let host = vigil_linux::dataplane::host_backend();
    let opts = ParseOptions {
        config_id,
        data_plane: host.kind,
        rt_names: vigil_linux::routes::rt_names(),
        vlan_interfaces: vigil_linux::netlink::vlan_interfaces(),
    };
    let report = load::load(&path, &FsLoader, &opts, subsystems);
    let mut diags = report.diagnostics;
    // The process ends when the check does: freeing a 1,000-instance model piece by piece would
    // cost more than parsing it did (measured with callgrind), so it is left to the exit.
    let loaded = std::mem::ManuallyDrop::new(report.loaded);
    let cfg = loaded.as_ref().map(|l| &l.cfg);
    if let Some(cfg) = cfg {
        diags.extend(load::missing_interfaces(cfg, load::interface_exists));
        diags.extend(load::offline_cpus(cfg, vigil_linux::sys::online_cpus));
    }
    // Nothing can be done when the report cannot be written: the exit code still says it.
    for n in flag_notes {
        let _ = writeln!(out, "notice: {n}");
    }
    for d in &diags {
        let _ = writeln!(out, "{d}");
    }
    let failed = loaded.is_none() || load::fails_check(&diags);
    // Which backend, and why: with virtual servers, or when the backend refused one (the
    // operator then learns why the host has no IPVS).
    let refused_by_backend = diags
        .iter()
        .any(|d| d.message.contains(vigil_engine::dataplane::CANNOT_APPLY));
    if cfg.is_some_and(|c| !c.checkers.virtual_servers.is_empty()) || refused_by_backend {
        let _ = writeln!(
            out,
            "vigild: load-balancer data plane on this host: {}: {}",
            host.name(),
            host.why
        );
    }
    // The IPVS-wide settings: what an IPVS host does with them (an nftables host's notices
    // above say what it does instead). keepalived's checker process applies all but a sync
    // daemon that follows a VRRP instance, and runs only with virtual servers: so does vigild.
    if let Some(cfg) = cfg {
        let lines = vigil_engine::dataplane::lvs::describe(&cfg.global.checker.lvs);
        for l in &lines {
            let _ = writeln!(out, "vigild: {l}");
        }
        let follows = cfg
            .global
            .checker
            .lvs
            .sync_daemon
            .as_ref()
            .is_some_and(|d| d.instance.is_some());
        let checker_side = lines.len() > usize::from(follows);
        if checker_side && cfg.checkers.virtual_servers.is_empty() {
            let _ = writeln!(
                out,
                "vigild: no virtual_server: lvs_flush, lvs_flush_on_stop, lvs_timeouts and a sync daemon without a VRRP instance take effect only with virtual servers (as keepalived's checker process)"
            );
        }
    }
    let mut insecure = false;
    if let Some(cfg) = cfg.filter(|c| !c.global.enable_script_security) {
        // keepalived runs scripts as root when no script_user exists; without
        // enable_script_security it reports a security violation and `-t` exits 6.
        // Each program is looked up once, however many instances name it (1,000 instances
        // with the same notify script made 1,000 stat calls). With enable_script_security
        // there is nothing to look up.
        let programs: std::collections::BTreeSet<std::borrow::Cow<'_, str>> =
            scripts(cfg).iter().filter_map(|s| s.program()).collect();
        if programs.iter().any(|p| program_exists(p)) {
            let _ = writeln!(
                out,
                "warning: SECURITY VIOLATION - scripts are being executed but enable_script_security is not set"
            );
            insecure = true;
        }
    }
    if !failed && insecure {
        let _ = writeln!(
            out,
            "vigild: configuration {path} is valid apart from script security"
        );
        return EXIT_SCRIPT_SECURITY;
    }
    if failed {
        let _ = writeln!(out, "vigild: configuration {path} is not valid");
        EXIT_CONFIG
    } else {
        let _ = writeln!(out, "vigild: configuration {path} is valid");
        0
    }
}
