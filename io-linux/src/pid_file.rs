//! The pid file: where it is when `-p` does not say, and whether a vigild already runs with it.
//!
//! keepalived 2.2.7 (core/main.c, core/namespaces.c, core/pidfile.c): with an `instance NAME`
//! its pid file is `/run/keepalived/keepalived_NAME.pid`; in a network namespace
//! (`net_namespace NS` or `-s NS`) it bind-mounts `/run/keepalived/NS` on `/run/keepalived` in a
//! mount namespace of its own, so its pid files show at `/run/keepalived/NS/` outside; and it
//! does not start when its pid file names a live process ("daemon is already running"). vigild
//! names the same places under `/run/vigild/` (no mount needed: the path is computed), keeps
//! `/run/vigild.pid` when neither is set, and its control socket, address record and checker
//! table sit beside the pid file, so every vigild on a host that keepalived would keep apart
//! gets its own. A pid file whose process is gone, or is not a vigild (the pid was reused), is
//! stale and taken over.

use std::io;
use std::path::{Path, PathBuf};

/// The pid file of a vigild with no namespace and no instance name.
pub const DEFAULT: &str = "/run/vigild.pid";
/// The directory of the pid files of vigilds with a namespace or an instance name.
pub const DIR: &str = "/run/vigild";

/// The pid file when `-p` is not given: [`DEFAULT`], or under [`DIR`] as keepalived places its
/// own under `/run/keepalived/` (`NS/` for a namespace, `vigild_NAME.pid` for an instance).
pub fn default_path(namespace: Option<&str>, instance: Option<&str>) -> PathBuf {
    if namespace.is_none() && instance.is_none() {
        return PathBuf::from(DEFAULT);
    }
    let mut p = PathBuf::from(DIR);
    if let Some(ns) = namespace {
        p.push(ns);
    }
    match instance {
        Some(name) => p.push(format!("vigild_{name}.pid")),
        None => p.push("vigild.pid"),
    }
    p
}

/// The pid of the vigild that `path` names, if one runs: the pid file reads as a number, that
/// process exists, is not this one, and its command is `vigild`.
pub fn running_vigild(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    if pid == std::process::id() || pid == 0 {
        return None;
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim_end() == "vigild").then_some(pid)
}

/// Make the directory of `path` (mode 0755) when it is one of [`DIR`]'s, as keepalived makes
/// `/run/keepalived/`: before the control socket is bound beside the pid file.
pub fn make_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if dir.starts_with(DIR) && !dir.exists() => {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
        }
        _ => Ok(()),
    }
}

/// Write this process's pid to `path`.
pub fn write(path: &Path) -> io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_follow_keepalived_s_places() {
        assert_eq!(default_path(None, None), Path::new("/run/vigild.pid"));
        assert_eq!(
            default_path(Some("blue"), None),
            Path::new("/run/vigild/blue/vigild.pid")
        );
        assert_eq!(
            default_path(None, Some("lb1")),
            Path::new("/run/vigild/vigild_lb1.pid")
        );
        assert_eq!(
            default_path(Some("blue"), Some("lb1")),
            Path::new("/run/vigild/blue/vigild_lb1.pid")
        );
    }

    /// This process, a live process that is not vigild, a pid that is gone and a file that
    /// is not a pid are all "no vigild runs".
    #[test]
    fn only_a_live_vigild_other_than_this_one_counts() {
        let dir = std::env::temp_dir().join(format!("vigil-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p.pid");
        std::fs::write(&f, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(running_vigild(&f), None, "this process");
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        std::fs::write(&f, format!("{}\n", child.id())).unwrap();
        assert_eq!(running_vigild(&f), None, "a sleep, not a vigild");
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(running_vigild(&f), None, "gone");
        std::fs::write(&f, "not a pid\n").unwrap();
        assert_eq!(running_vigild(&f), None);
        assert_eq!(running_vigild(&dir.join("missing.pid")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
