//! Tracked files (`vrrp_track_file`): their numbers, read when they change, fed to the engine as
//! [`vigil_engine::Input::TrackFile`]. The engine applies weights and FAULT; this module only
//! reads files.
//!
//! Changes are seen through inotify on each file's directory (so a file that is replaced by a
//! rename, deleted or created later is seen too), like keepalived. A file that is missing,
//! unreadable or does not hold a number reads as 0, like keepalived. `init_file [VALUE]
//! [overwrite]` creates the file with VALUE at start-up (or always, with `overwrite`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};
use vigil_engine::conf;
use vigil_engine::io::FileId;

/// One tracked file.
#[derive(Debug)]
struct Tracked {
    name: String,
    path: PathBuf,
    /// The inotify watch of its directory.
    wd: libc::c_int,
}

/// Every tracked file and the inotify descriptor that watches them.
#[derive(Debug)]
pub struct TrackFiles {
    fd: Option<OwnedFd>,
    files: Vec<Tracked>,
}

/// A file's value: its first whitespace-separated word as an integer, else 0.
pub fn value_of(text: &str) -> i64 {
    text.split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0)
}

/// Read a tracked file's value (0 when missing or unreadable).
pub fn read_value(path: &Path) -> i64 {
    std::fs::read_to_string(path)
        .map(|t| value_of(&t))
        .unwrap_or(0)
}

impl TrackFiles {
    /// Set up the files of `cfg` (in configuration order: their [`FileId`]s), creating those
    /// with `init_file`.
    pub fn new(cfg: &conf::Config) -> TrackFiles {
        if cfg.track_files.is_empty() {
            return TrackFiles {
                fd: None,
                files: Vec::new(),
            };
        }
        // SAFETY: plain system call; the descriptor is owned from here on.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        let fd = (raw >= 0).then(|| {
            // SAFETY: a fresh descriptor.
            unsafe { OwnedFd::from_raw_fd(raw) }
        });
        if fd.is_none() {
            warn!(
                "inotify: {}; tracked files are read at start-up only",
                io::Error::last_os_error()
            );
        }
        let files = cfg
            .track_files
            .iter()
            .map(|t| {
                let path = PathBuf::from(&t.file);
                if let Some(init) = &t.init_file {
                    if init.overwrite || !path.exists() {
                        if let Err(e) = std::fs::write(&path, format!("{}\n", init.value)) {
                            warn!("vrrp_track_file {}: cannot create {}: {e}", t.name, t.file);
                        }
                    }
                }
                let wd = fd
                    .as_ref()
                    .and_then(|fd| watch_dir(fd.as_raw_fd(), &path))
                    .unwrap_or(-1);
                Tracked {
                    name: t.name.clone(),
                    path,
                    wd,
                }
            })
            .collect();
        TrackFiles { fd, files }
    }

    /// The inotify descriptor to watch, if any.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.fd.as_ref().map(|f| f.as_raw_fd())
    }

    /// Every file's current value (start-up).
    pub fn all(&self) -> Vec<(FileId, i64)> {
        (0..self.files.len())
            .map(|i| (FileId(i as u16), read_value(&self.files[i].path)))
            .collect()
    }

    /// Drain inotify events; return the new value of every file that may have changed.
    pub fn on_event(&mut self) -> Vec<(FileId, i64)> {
        let Some(fd) = self.raw_fd() else {
            return Vec::new();
        };
        let mut changed = vec![false; self.files.len()];
        let mut buf = [0u64; 512]; // 4 KiB, 8-aligned for inotify_event
        loop {
            // SAFETY: reading into a buffer of its own size.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), std::mem::size_of_val(&buf)) };
            let Ok(n) = usize::try_from(n) else { break };
            if n == 0 {
                break;
            }
            // SAFETY: viewing the u64 buffer as bytes.
            let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
            let mut off = 0;
            let head = std::mem::size_of::<libc::inotify_event>();
            while off + head <= n {
                // SAFETY: `off + head <= n`; read unaligned.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(bytes[off..].as_ptr().cast()) };
                let len = ev.len as usize;
                let name_bytes = bytes.get(off + head..off + head + len).unwrap_or(&[]);
                let name_end = name_bytes.iter().position(|&b| b == 0).unwrap_or(len);
                let name = &name_bytes[..name_end];
                for (i, f) in self.files.iter().enumerate() {
                    let same_name = f.path.file_name().map(|n| n.as_bytes()) == Some(name);
                    if f.wd == ev.wd && (same_name || ev.mask & libc::IN_Q_OVERFLOW != 0) {
                        changed[i] = true;
                    }
                }
                off += head + len;
            }
        }
        changed
            .iter()
            .enumerate()
            .filter(|(_, &c)| c)
            .map(|(i, _)| {
                let v = read_value(&self.files[i].path);
                debug!("vrrp_track_file {}: {v}", self.files[i].name);
                (FileId(i as u16), v)
            })
            .collect()
    }
}

/// Watch the directory of `path` for the events that can change the file.
fn watch_dir(fd: RawFd, path: &Path) -> Option<libc::c_int> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mask = libc::IN_CLOSE_WRITE
        | libc::IN_MOVED_TO
        | libc::IN_MOVED_FROM
        | libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_MODIFY;
    // SAFETY: valid descriptor and NUL-terminated path.
    let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), mask) };
    if wd < 0 {
        warn!(
            "inotify on {}: {}",
            dir.display(),
            io::Error::last_os_error()
        );
        return None;
    }
    Some(wd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_like_keepalived() {
        assert_eq!(value_of("42\n"), 42);
        assert_eq!(value_of("  -7 trailing"), -7);
        assert_eq!(value_of("nonsense"), 0);
        assert_eq!(value_of(""), 0);
        assert_eq!(read_value(Path::new("/nonexistent/vigil/file")), 0);
    }

    #[test]
    fn a_write_is_seen_through_inotify() {
        let dir = std::env::temp_dir().join(format!("vigil-track-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weight");
        let text = format!(
            "vrrp_track_file tf {{\n file \"{}\"\n init_file 3 overwrite\n}}\n\
             vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n\
             track_file {{ tf }}\n virtual_ipaddress {{ 192.0.2.1 }}\n}}\n",
            file.display()
        );
        let cfg = conf::parse_str(&text).unwrap();
        let mut t = TrackFiles::new(&cfg);
        assert_eq!(t.all(), vec![(FileId(0), 3)]);
        std::fs::write(&file, "5\n").unwrap();
        let got = t.on_event();
        assert_eq!(got.last(), Some(&(FileId(0), 5)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
