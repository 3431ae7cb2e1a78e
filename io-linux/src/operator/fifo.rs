//! `notify_fifo` and `vrrp_notify_fifo`: one line per event, in keepalived's exact format.
//!
//! ```text
//! INSTANCE "VI_1" MASTER 100
//! GROUP "G1" BACKUP 0
//! ```
//!
//! `TYPE "NAME" STATE PRIORITY`: the type is `INSTANCE` or `GROUP`; the state is `MASTER`,
//! `BACKUP`, `FAULT` or `STOP` (shutdown), or one of the events keepalived also writes:
//! `MASTER_PRIORITY` / `BACKUP_PRIORITY` when `notify_priority_changes` is on and the effective
//! priority of a master / non-master changes, and `MASTER_RX_LOWER_PRI` (a master heard a lower
//! priority), and `DELETED` for an instance removed by a reload when `notify_deleted` is on. The
//! priority is the instance's effective priority, and 0 for a group (keepalived 2.2.7 writes
//! `GROUP "G1" MASTER 0`, checked against its binary).
//!
//! Both FIFOs receive every line (the VRRP process of keepalived writes to both). The FIFO is
//! created (mode 0600, owned by its `USER [GROUP]`) when missing, and removed on shutdown when
//! vigild created it. It is opened read-write and non-blocking, like keepalived: opening never
//! waits for a reader, a missing reader never kills vigild with SIGPIPE, and a line (shorter than
//! `PIPE_BUF`, so written whole or not at all) that does not fit because the reader is stuck is
//! dropped and counted, never waited for. The `*_fifo_script` is started once, with the FIFO's
//! path as its last argument, as its user, and stopped with SIGTERM on shutdown.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Child;

use tracing::{info, warn};
use vigil_engine::conf::{self, Config};
use vigil_engine::{Action, Engine, PriorityReport, State};

use super::notify::{state_word, Notice, TargetKind};
use super::program;
use super::user::{self, Credentials};
use crate::sys;

/// What a FIFO line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A state change (INIT is written `STOP`).
    State(State),
    /// `notify_priority_changes`: the effective priority of a master changed.
    MasterPriority,
    /// `notify_priority_changes`: the effective priority of a backup (or faulty) instance
    /// changed.
    BackupPriority,
    /// A master received a lower priority advert (keepalived's `notify_master_rx_lower_pri`
    /// event; the engine's `LowerPriorityHeard`).
    MasterRxLowerPri,
    /// An instance removed by a reload, with `notify_deleted` configured (keepalived writes
    /// `FAULT` otherwise).
    Deleted,
}

impl Event {
    /// The word keepalived writes.
    pub const fn word(self) -> &'static str {
        match self {
            Event::State(s) => state_word(s),
            Event::MasterPriority => "MASTER_PRIORITY",
            Event::BackupPriority => "BACKUP_PRIORITY",
            Event::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            Event::Deleted => "DELETED",
        }
    }
}

/// One FIFO line, newline included: `INSTANCE "VI_1" MASTER 100\n`.
pub fn line(kind: TargetKind, name: &str, event: Event, priority: u8) -> String {
    format!("{} \"{name}\" {} {priority}\n", kind.word(), event.word())
}

struct OpenFifo {
    path: PathBuf,
    file: File,
    created: bool,
    script: Option<Child>,
}

/// The FIFO writer: open FIFOs, their scripts, and which instances report priority changes.
pub struct FifoWriter {
    fifos: Vec<OpenFifo>,
    /// What `fifos` were opened from (a reload that changes it reopens them).
    configured: (Option<conf::NotifyFifo>, Option<conf::NotifyFifo>),
    priority_changes: Vec<String>,
    /// Lines dropped because a FIFO was full or failed.
    pub dropped: u64,
}

fn mkfifo(path: &Path, owner: Option<&Credentials>) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in FIFO path"))?;
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if let Some(o) = owner {
        // SAFETY: as above.
        if unsafe { libc::chown(c.as_ptr(), o.uid, o.gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn open_fifo(
    f: &conf::NotifyFifo,
    default: &dyn Fn() -> Credentials,
    security: bool,
) -> io::Result<OpenFifo> {
    let path = PathBuf::from(&f.path);
    let owner = match &f.run_as {
        Some(r) => Some(user::resolve(r).map_err(|e| io::Error::other(e.0))?),
        None => None,
    };
    let mut created = false;
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_fifo() => {}
        Ok(_) => {
            return Err(io::Error::other(format!(
                "{} exists and is not a FIFO",
                path.display()
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            mkfifo(&path, owner.as_ref())?;
            created = true;
        }
        Err(e) => return Err(e),
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)?;
    let mut script = None;
    if let Some(s) = &f.script {
        match program::vetted(s, &default(), security) {
            Ok((p, warning)) => {
                if let Some(w) = warning {
                    warn!("fifo script: {w}");
                }
                match p.spawn(std::slice::from_ref(&f.path)) {
                    Ok(child) => {
                        info!("started {} for {}", s.command, f.path);
                        script = Some(child);
                    }
                    Err(e) => warn!("cannot start {}: {e}", s.command),
                }
            }
            Err(why) => warn!("fifo script: {why}"),
        }
    }
    Ok(OpenFifo {
        path,
        file,
        created,
        script,
    })
}

impl FifoWriter {
    /// Open (creating when missing) `notify_fifo` and `vrrp_notify_fifo`, and start their
    /// scripts. A FIFO that cannot be opened is logged and left out.
    pub fn new(cfg: &Config) -> FifoWriter {
        // Looked up only when a FIFO has a script (NSS loads libraries that stay resident).
        let default = std::cell::OnceCell::new();
        let default = || {
            default
                .get_or_init(|| {
                    user::default_script_user(&cfg.global)
                        .map(|(c, _)| c)
                        .unwrap_or_else(|_| Credentials::current())
                })
                .clone()
        };
        let mut fifos: Vec<OpenFifo> = Vec::new();
        for f in [&cfg.global.notify_fifo, &cfg.global.vrrp_notify_fifo]
            .into_iter()
            .flatten()
        {
            if fifos.iter().any(|o| o.path == Path::new(&f.path)) {
                continue;
            }
            match open_fifo(f, &default, cfg.global.enable_script_security) {
                Ok(o) => fifos.push(o),
                Err(e) => warn!("notify fifo {}: {e}", f.path),
            }
        }
        FifoWriter {
            fifos,
            configured: (
                cfg.global.notify_fifo.clone(),
                cfg.global.vrrp_notify_fifo.clone(),
            ),
            priority_changes: cfg
                .instances
                .iter()
                .filter(|i| i.notify_priority_changes)
                .map(|i| i.name.clone())
                .collect(),
            dropped: 0,
        }
    }

    /// A writer with no FIFO (a placeholder while one is being replaced).
    pub fn new_empty() -> FifoWriter {
        FifoWriter {
            fifos: Vec::new(),
            configured: (None, None),
            priority_changes: Vec::new(),
            dropped: 0,
        }
    }

    /// Take a reloaded configuration: the FIFOs and their scripts stay as they are when their
    /// settings did not change (a reader never sees its FIFO disappear); otherwise the old ones
    /// are shut down and the new ones opened. Which instances report priority changes is
    /// always refreshed.
    pub fn reload(self, cfg: &Config) -> FifoWriter {
        let configured = (
            cfg.global.notify_fifo.clone(),
            cfg.global.vrrp_notify_fifo.clone(),
        );
        if configured == self.configured {
            let mut kept = self;
            kept.priority_changes = cfg
                .instances
                .iter()
                .filter(|i| i.notify_priority_changes)
                .map(|i| i.name.clone())
                .collect();
            return kept;
        }
        self.shutdown();
        FifoWriter::new(cfg)
    }

    /// Whether a FIFO is open.
    pub fn is_empty(&self) -> bool {
        self.fifos.is_empty()
    }

    /// Write the line `action` calls for, if any.
    pub fn on_action(&mut self, engine: &Engine, action: &Action) {
        if self.fifos.is_empty() {
            return;
        }
        match action {
            Action::StateChange {
                instance,
                to,
                priority,
                ..
            } => {
                if let Some(v) = engine.instance(*instance) {
                    let l = line(TargetKind::Instance, v.name(), Event::State(*to), *priority);
                    self.write(&l);
                }
            }
            Action::GroupStateChange { group, to, .. } => {
                if let Some((name, _, _)) = engine.group(*group) {
                    let l = line(TargetKind::Group, name, Event::State(*to), 0);
                    self.write(&l);
                }
            }
            Action::LowerPriorityHeard { instance, .. } => {
                if let Some(v) = engine.instance(*instance) {
                    let l = line(
                        TargetKind::Instance,
                        v.name(),
                        Event::MasterRxLowerPri,
                        v.priority(),
                    );
                    self.write(&l);
                }
            }
            Action::PriorityChange {
                instance,
                to,
                report,
                ..
            } => {
                if let Some(v) = engine.instance(*instance) {
                    if self.priority_changes.iter().any(|n| n == v.name()) {
                        let ev = match report {
                            PriorityReport::Master => Event::MasterPriority,
                            PriorityReport::Backup => Event::BackupPriority,
                        };
                        let l = line(TargetKind::Instance, v.name(), ev, *to);
                        self.write(&l);
                    }
                }
            }
            _ => {}
        }
    }

    /// An instance removed by a reload, reported as the notifier decided (`DELETED`, or
    /// keepalived's default `FAULT`).
    pub fn deleted(&mut self, name: &str, notice: Notice, priority: u8) {
        if self.fifos.is_empty() {
            return;
        }
        let ev = match notice {
            Notice::Deleted => Event::Deleted,
            Notice::State(s) => Event::State(s),
        };
        let l = line(TargetKind::Instance, name, ev, priority);
        self.write(&l);
    }

    /// Write one line to every FIFO; never blocks.
    pub fn write(&mut self, l: &str) {
        for f in &mut self.fifos {
            match f.file.write(l.as_bytes()) {
                Ok(n) if n == l.len() => {}
                Ok(_) => self.dropped += 1,
                Err(e) => {
                    self.dropped += 1;
                    if self.dropped.is_power_of_two() {
                        warn!(
                            "notify fifo {}: {e}; {} line(s) dropped so far",
                            f.path.display(),
                            self.dropped
                        );
                    }
                }
            }
        }
    }

    /// Stop the FIFO scripts (SIGTERM, then reap) and remove the FIFOs vigild created.
    pub fn shutdown(self) {
        for mut f in self.fifos {
            if let Some(mut c) = f.script.take() {
                // The process group of a child we started (its own group).
                let _ = sys::signal_process_group(c.id(), libc::SIGTERM);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
                loop {
                    match c.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if std::time::Instant::now() >= deadline => {
                            let _ = c.kill();
                            let _ = c.wait();
                            break;
                        }
                        Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                    }
                }
            }
            if f.created {
                let _ = std::fs::remove_file(&f.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_keepalived() {
        assert_eq!(
            line(
                TargetKind::Instance,
                "VI_1",
                Event::State(State::Master),
                100
            ),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            line(TargetKind::Group, "G", Event::State(State::Fault), 0),
            "GROUP \"G\" FAULT 0\n"
        );
        assert_eq!(
            line(TargetKind::Instance, "VI_1", Event::State(State::Init), 90),
            "INSTANCE \"VI_1\" STOP 90\n"
        );
        assert_eq!(
            line(TargetKind::Instance, "VI_1", Event::MasterPriority, 80),
            "INSTANCE \"VI_1\" MASTER_PRIORITY 80\n"
        );
        assert_eq!(
            line(TargetKind::Instance, "VI_1", Event::MasterRxLowerPri, 150),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n"
        );
        assert_eq!(
            line(TargetKind::Instance, "VI_1", Event::Deleted, 100),
            "INSTANCE \"VI_1\" DELETED 100\n"
        );
    }
}
