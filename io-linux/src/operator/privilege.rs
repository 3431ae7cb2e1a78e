//! Least privilege: capabilities and script security.
//!
//! ## Capabilities
//!
//! vigild needs `CAP_NET_RAW` (raw VRRP sockets, gratuitous ARP on `AF_PACKET`) and
//! `CAP_NET_ADMIN` (adding and removing addresses, multicast membership). Once its sockets are
//! open, [`drop_capabilities`] removes every other capability from the effective, permitted,
//! inheritable and ambient sets *and from the bounding set*, so that nothing it runs later (a
//! notify script run as root included) can get them back.
//!
//! Running scripts as another user (`script_user`, keepalived's `keepalived_script`) needs three
//! more, and [`required_capabilities`] keeps them only when the configuration does that:
//! `CAP_SETUID` and `CAP_SETGID` (the child switches identity between `fork` and `exec`) and
//! `CAP_KILL` (a script past its timeout belongs to another user and must be killed).
//!
//! ## Script security (keepalived's `enable_script_security`)
//!
//! A script that runs with root's powers (as uid 0 or gid 0, or a set-uid/set-gid root program)
//! is refused when a non-root user could change what it does: [`check_script`] walks every
//! component of its path, from `/` down, without following symbolic links, and of the real file
//! when the path goes through a link; each must be owned by root, and every directory without
//! the sticky bit and the file itself must not be writable by a non-root group or by others.
//! Without `enable_script_security` the same findings are warnings (keepalived's behaviour). A
//! script that runs as a non-root user is not checked: that user can do no more through it than
//! without it.

use std::ffi::CString;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use caps::{CapSet, Capability, CapsHashSet};
use vigil_engine::conf::{self, Config};

use super::user::{self, Credentials};

/// What vigild itself needs: raw sockets and interface configuration.
pub const BASE_CAPABILITIES: [Capability; 2] = [Capability::CAP_NET_RAW, Capability::CAP_NET_ADMIN];

/// What running scripts as another user adds: identity switches and killing a late script.
pub const SCRIPT_USER_CAPABILITIES: [Capability; 3] = [
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_KILL,
];

/// Every script a configuration runs: check scripts, notify scripts of instances and sync
/// groups, the start-up and shut-down scripts, FIFO scripts.
pub fn all_scripts(cfg: &Config) -> Vec<&conf::Script> {
    let mut all: Vec<&conf::Script> = cfg.scripts.iter().map(|s| &s.script).collect();
    for n in cfg
        .instances
        .iter()
        .map(|i| &i.notify)
        .chain(cfg.sync_groups.iter().map(|g| &g.notify))
    {
        all.extend(
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
            .flatten(),
        );
    }
    all.extend(
        [&cfg.global.startup_script, &cfg.global.shutdown_script]
            .into_iter()
            .flatten(),
    );
    for f in [&cfg.global.notify_fifo, &cfg.global.vrrp_notify_fifo]
        .into_iter()
        .flatten()
    {
        all.extend(f.script.iter());
    }
    all
}

/// Every script with the identity it runs as. Scripts whose user does not exist are left out
/// (they never run; the caller logs them).
pub fn configured_scripts(cfg: &Config) -> Vec<(&conf::Script, Credentials)> {
    let scripts = all_scripts(cfg);
    if scripts.is_empty() {
        return Vec::new();
    }
    let Ok((default, _)) = user::default_script_user(&cfg.global) else {
        return Vec::new();
    };
    scripts
        .into_iter()
        .filter_map(|s| {
            user::for_script(s.run_as.as_ref(), &default)
                .ok()
                .map(|c| (s, c))
        })
        .collect()
}

/// The capabilities vigild keeps for `cfg`: [`BASE_CAPABILITIES`], plus
/// [`SCRIPT_USER_CAPABILITIES`] when some script runs as a user other than vigild's own.
pub fn required_capabilities(cfg: &Config) -> Vec<Capability> {
    let mut keep = BASE_CAPABILITIES.to_vec();
    if configured_scripts(cfg).iter().any(|(_, c)| !c.is_current()) {
        keep.extend(SCRIPT_USER_CAPABILITIES);
    }
    keep
}

fn caps_err(e: caps::errors::CapsError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Drop every capability but `keep` from this process, for good: bounding set first (while
/// `CAP_SETPCAP` is still effective), then ambient, inheritable, permitted and effective.
///
/// Call it after the sockets are open and before the event loop starts; every thread started
/// later inherits the result (capabilities are per thread: threads started *before* keep theirs,
/// so start none before). A process without `CAP_SETPCAP` cannot shrink its bounding set; that
/// is not an error (the permitted set is what counts for it).
pub fn drop_capabilities(keep: &[Capability]) -> io::Result<()> {
    let keep: CapsHashSet = keep.iter().copied().collect();
    let permitted = caps::read(None, CapSet::Permitted).map_err(caps_err)?;
    let have_setpcap =
        caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).map_err(caps_err)?;
    if have_setpcap {
        for c in caps::all() {
            if !keep.contains(&c) && caps::has_cap(None, CapSet::Bounding, c).map_err(caps_err)? {
                caps::drop(None, CapSet::Bounding, c).map_err(caps_err)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(caps_err)?;
    let kept: CapsHashSet = keep.intersection(&permitted).copied().collect();
    caps::set(None, CapSet::Inheritable, &CapsHashSet::new()).map_err(caps_err)?;
    caps::set(None, CapSet::Effective, &kept).map_err(caps_err)?;
    caps::set(None, CapSet::Permitted, &kept).map_err(caps_err)?;
    Ok(())
}

/// What [`confine`] did, for the start-up log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confined {
    /// The capabilities still held (effective and permitted).
    pub kept: Vec<Capability>,
    /// Whether the bounding set was shrunk too (needs `CAP_SETPCAP`, so only when started with
    /// it, as root normally is).
    pub bounding: bool,
}

/// Confine vigild for the rest of its life: keep [`required_capabilities`] of `cfg` and nothing
/// else.
///
/// Call it on the main thread after real-time scheduling and memory locking are set up (they
/// need `CAP_SYS_NICE`, `CAP_IPC_LOCK` and `CAP_SYS_RESOURCE`) and before any other thread or
/// child process exists (capabilities are per thread and inherited at creation): the notify,
/// mail and status threads and every check, notify and FIFO program then start confined.
///
/// With `mlockall(MCL_FUTURE)` in force, every later mapping (a thread stack, a large
/// allocation, heap growth) is locked, and without `CAP_IPC_LOCK` it counts against
/// `RLIMIT_MEMLOCK`: past the limit every allocation fails. So while memory is locked, the
/// limit is lifted first (systemd's `LimitMEMLOCK=infinity` does it for the unit); when it
/// cannot be (no `CAP_SYS_RESOURCE`, as in some containers), `CAP_IPC_LOCK` is kept as well.
/// Likewise `CAP_SYS_NICE` when the daemon runs at SCHED_FIFO and RLIMIT_RTPRIO could not be
/// raised for its way back after a real-time demotion (sys::return_to_realtime).
/// A configuration reloaded later that needs more (a script user added) cannot get it back:
/// such scripts fail to start and are logged, and a restart applies them.
pub fn confine(cfg: &Config) -> io::Result<Confined> {
    let mut keep = required_capabilities(cfg);
    if memory_locked() && !lift_memlock_limit() {
        keep.push(Capability::CAP_IPC_LOCK);
    }
    // The real-time guard's way back to SCHED_FIFO after a demotion (sys::return_to_realtime)
    // needs RLIMIT_RTPRIO, or, where it could not be raised, the capability.
    if crate::sys::realtime_return_needs_cap_sys_nice() {
        keep.push(Capability::CAP_SYS_NICE);
    }
    let bounding =
        caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP).map_err(caps_err)?;
    drop_capabilities(&keep)?;
    let held = caps::read(None, CapSet::Effective).map_err(caps_err)?;
    let kept = keep.into_iter().filter(|c| held.contains(c)).collect();
    Ok(Confined { kept, bounding })
}

/// Whether this process has locked memory (`VmLck` of `/proc/self/status`).
fn memory_locked() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .is_some_and(|kb| kb > 0)
    })
}

/// Set `RLIMIT_MEMLOCK` to unlimited; returns whether it now is.
fn lift_memlock_limit() -> bool {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for the call; failure leaves the limit as it was.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) == 0 }
}

/// One capability-set line of `/proc/<pid>/status` (`CapEff`, `CapPrm`, `CapBnd`, ...), as a
/// bit mask.
pub fn read_cap_mask(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        u64::from_str_radix(rest.trim(), 16).ok()
    })
}

/// The bit mask of a list of capabilities, as `/proc/self/status` shows it.
pub fn cap_mask(caps: &[Capability]) -> u64 {
    caps.iter().fold(0, |m, c| m | c.bitmask())
}

/// What [`check_script`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptCheck {
    /// Safe to run (or runs as a non-root user, where nothing is to be protected).
    Secure,
    /// A non-root user could change what runs as root: the path component and why.
    Insecure {
        /// The offending path (a directory or the file).
        path: PathBuf,
        /// Why it is unsafe.
        why: String,
    },
    /// The program does not exist or cannot be reached.
    NotFound(String),
    /// The program exists but the identity it runs as cannot execute it.
    NotExecutable(String),
}

/// The program a command line runs: its first word, searched on `PATH` when it has no `/`
/// (keepalived logs a request for a full path then).
pub fn program_path(argv0: &str) -> Option<PathBuf> {
    if argv0.contains('/') {
        return Some(PathBuf::from(argv0));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(argv0))
        .find(|p| p.is_file())
}

/// Whether the identity `c` may execute a file with this metadata (root: any execute bit).
fn executable_by(md: &std::fs::Metadata, c: &Credentials) -> bool {
    let mode = md.permissions().mode();
    if c.uid == 0 {
        return mode & 0o111 != 0;
    }
    if md.uid() == c.uid {
        mode & 0o100 != 0
    } else if c.groups.contains(&md.gid()) || md.gid() == c.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// keepalived's check of one path, component by component, without following links.
fn check_path_components(path: &Path) -> ScriptCheck {
    let mut cur = PathBuf::new();
    let comps: Vec<Component> = path.components().collect();
    for (k, comp) in comps.iter().enumerate() {
        cur.push(comp.as_os_str());
        let last = k + 1 == comps.len();
        let md = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) => return ScriptCheck::NotFound(format!("{}: {e}", cur.display())),
        };
        let ft = md.file_type();
        if (!last && !ft.is_dir()) || (last && !ft.is_file() && !ft.is_symlink()) {
            return ScriptCheck::Insecure {
                path: cur,
                why: "wrong file type in the script's path".into(),
            };
        }
        let mode = md.mode();
        let sticky_dir = ft.is_dir() && mode & libc::S_ISVTX != 0;
        let why = if md.uid() != 0 {
            Some(format!("owned by uid {}, not root", md.uid()))
        } else if (ft.is_file() || (ft.is_dir() && !sticky_dir))
            && md.gid() != 0
            && mode & 0o020 != 0
        {
            Some(format!("writable by group {}", md.gid()))
        } else if (ft.is_file() || (ft.is_dir() && !sticky_dir)) && mode & 0o002 != 0 {
            Some("writable by everyone".into())
        } else {
            None
        };
        if let Some(why) = why {
            return ScriptCheck::Insecure { path: cur, why };
        }
    }
    ScriptCheck::Secure
}

/// Check that the program of `argv0` is safe to run as `c` (see the module documentation).
pub fn check_script(argv0: &str, c: &Credentials) -> ScriptCheck {
    let Some(prog) = program_path(argv0) else {
        return ScriptCheck::NotFound(format!("{argv0}: not found on PATH"));
    };
    let abs = if prog.is_absolute() {
        prog.clone()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(&prog),
            Err(e) => return ScriptCheck::NotFound(format!("{argv0}: {e}")),
        }
    };
    let real = match std::fs::canonicalize(&abs) {
        Ok(r) => r,
        Err(e) => return ScriptCheck::NotFound(format!("{}: {e}", abs.display())),
    };
    let md = match std::fs::metadata(&real) {
        Ok(m) => m,
        Err(e) => return ScriptCheck::NotFound(format!("{}: {e}", real.display())),
    };
    if !md.is_file() || !executable_by(&md, c) {
        return ScriptCheck::NotExecutable(format!(
            "{} is not executable for uid:gid {}:{}",
            real.display(),
            c.uid,
            c.gid
        ));
    }
    let mode = md.mode();
    let setuid_root = md.uid() == 0 && mode & 0o4100 == 0o4100;
    let setgid_root = md.gid() == 0 && mode & 0o2010 == 0o2010;
    if !(c.uid == 0 || c.gid == 0 || setuid_root || setgid_root) {
        return ScriptCheck::Secure;
    }
    // As keepalived: the directory resolved (links followed) with the file name as written,
    // then, when the file itself is a link, the real file's path.
    let lexical = match (abs.parent().map(std::fs::canonicalize), abs.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => normalise(&abs),
    };
    match check_path_components(&lexical) {
        ScriptCheck::Secure => {}
        other => return other,
    }
    if real != lexical {
        return check_path_components(&real);
    }
    ScriptCheck::Secure
}

/// Remove `.` and `..` without touching the file system (keepalived's realpath of the
/// directory part keeps the file name as written).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The verdict on a script under the configuration's policy: `Ok` to run it (perhaps with a
/// warning to log), `Err` to refuse it (the reason to log).
pub fn vet(
    argv0: &str,
    c: &Credentials,
    enable_script_security: bool,
) -> Result<Option<String>, String> {
    match check_script(argv0, c) {
        ScriptCheck::Secure => Ok(None),
        ScriptCheck::Insecure { path, why } => {
            let msg = format!(
                "unsafe permissions for script '{argv0}': {} is {why}",
                path.display()
            );
            if enable_script_security {
                Err(format!("{msg} - disabling (enable_script_security)"))
            } else {
                Ok(Some(msg))
            }
        }
        ScriptCheck::NotFound(m) => Err(format!("cannot find script '{argv0}' ({m}) - disabling")),
        ScriptCheck::NotExecutable(m) => Err(format!("script '{argv0}': {m} - disabling")),
    }
}

/// `access(2)` as the current process: used by tests and `vigild -t` style checks.
pub fn can_execute(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_mask_reads_proc_status_lines() {
        let s = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000003000\n";
        assert_eq!(read_cap_mask(s, "CapEff"), Some(0x3000));
        assert_eq!(read_cap_mask(s, "CapBnd"), None);
        assert_eq!(cap_mask(&BASE_CAPABILITIES), (1 << 12) | (1 << 13));
    }

    #[test]
    fn system_programs_are_secure_for_root() {
        let root = Credentials {
            user: "root".into(),
            uid: 0,
            gid: 0,
            groups: vec![0],
        };
        assert_eq!(check_script("/bin/true", &root), ScriptCheck::Secure);
        assert_eq!(check_script("true", &root), ScriptCheck::Secure);
        assert!(matches!(
            check_script("/nonexistent/vigil-x", &root),
            ScriptCheck::NotFound(_)
        ));
    }

    #[test]
    fn normalise_drops_dots() {
        assert_eq!(normalise(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
