//! Tracked processes (`vrrp_track_process`): which running processes match each configured set,
//! seen through the kernel's process events connector, fed to the engine as
//! [`vigil_engine::Input::TrackProcess`] when a set's quorum is gained or lost.
//!
//! As keepalived does (keepalived.conf(5) "VRRP track processes"): subscribe to the connector
//! (netlink `NETLINK_CONNECTOR`, group `CN_IDX_PROC`; needs CAP_NET_ADMIN), then scan
//! /proc once; afterwards only events are read: a fork of a tracked process adds the child, an
//! exec or a name change (`PR_SET_NAME`) re-examines the process, an exit removes it. The
//! quorum, `quorum_max` and the delays are [`vigil_engine::track_process::Quorum`]'s rules;
//! what matches is [`vigil_engine::track_process::ProcessMatch`]'s. Only processes (thread group
//! leaders) count, never threads; zombies do not count.
//!
//! Events lost (ENOBUFS) are replaced by a new scan, whose crossings wait for the delays. The
//! kernel offers the connector in the initial network namespace only: a daemon started in
//! another one (a container, `ip netns exec`), or a kernel without CONFIG_PROC_EVENTS, falls
//! back to scanning /proc every [`FALLBACK_SCAN`], with a warning at start-up.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_CONNECTOR, Socket, SocketAddr};
use tracing::{debug, info, warn};
use vigil_engine::conf;
use vigil_engine::io::ProcessId;
use vigil_engine::track_process::{Change, ProcessMatch, Quorum};
use vigil_engine::Instant;

/// How often /proc is scanned when the process events connector is not available.
pub const FALLBACK_SCAN: Duration = Duration::from_millis(500);

// The connector's ABI (linux/connector.h, linux/cn_proc.h).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
const CN_MSG_LEN: usize = 20;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event of interest, decoded from a connector message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// A new process (not a thread): `child` forked from `parent` (thread group ids).
    Fork {
        /// The parent process.
        parent: u32,
        /// The new process.
        child: u32,
    },
    /// A process ran a new program.
    Exec(u32),
    /// A process changed its name (comm, at most 15 bytes).
    Comm(u32, [u8; 16]),
    /// A process ended.
    Exit(u32),
    /// The kernel's answer to the subscription.
    Ack,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
}

/// Decode every message of one connector datagram. Threads' events and unknown or short
/// messages are skipped (a malformed message is never an error here: the next scan repairs
/// anything missed).
pub fn decode(buf: &[u8]) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let Some(len) = u32_at(buf, off).map(|l| l as usize) else {
            break;
        };
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        let msg = &buf[off..off + len];
        off += (len + 3) & !3;
        let cn = &msg[NLMSG_HDRLEN..];
        if u32_at(cn, 0) != Some(CN_IDX_PROC) || u32_at(cn, 4) != Some(CN_VAL_PROC) {
            continue;
        }
        let ev = &cn[CN_MSG_LEN.min(cn.len())..];
        // struct proc_event: what, cpu, timestamp_ns (u64), then the event's data.
        let Some(what) = u32_at(ev, 0) else {
            continue;
        };
        let data = |k: usize| u32_at(ev, 16 + 4 * k);
        let e = match what {
            0 => Some(ProcEvent::Ack),
            PROC_EVENT_FORK => match (data(1), data(2), data(3)) {
                (Some(parent), Some(pid), Some(tgid)) if pid == tgid => Some(ProcEvent::Fork {
                    parent,
                    child: tgid,
                }),
                _ => None,
            },
            PROC_EVENT_EXEC => match (data(0), data(1)) {
                (Some(pid), Some(tgid)) if pid == tgid => Some(ProcEvent::Exec(tgid)),
                _ => None,
            },
            PROC_EVENT_COMM => match (data(0), data(1), ev.get(24..40)) {
                (Some(pid), Some(tgid), Some(c)) if pid == tgid => {
                    let mut comm = [0u8; 16];
                    comm.copy_from_slice(c);
                    Some(ProcEvent::Comm(tgid, comm))
                }
                _ => None,
            },
            PROC_EVENT_EXIT => match (data(0), data(1)) {
                (Some(pid), Some(tgid)) if pid == tgid => Some(ProcEvent::Exit(tgid)),
                _ => None,
            },
            _ => None,
        };
        out.extend(e);
    }
    out
}

/// The subscription message: nlmsghdr + cn_msg + PROC_CN_MCAST_LISTEN.
fn listen_message() -> Vec<u8> {
    let mut m = Vec::with_capacity(NLMSG_HDRLEN + CN_MSG_LEN + 4);
    let total = (NLMSG_HDRLEN + CN_MSG_LEN + 4) as u32;
    m.extend_from_slice(&total.to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    m
}

/// Open and subscribe the connector socket.
fn open_connector() -> io::Result<Socket> {
    let mut sock = Socket::new(NETLINK_CONNECTOR)?;
    sock.bind(&SocketAddr::new(0, CN_IDX_PROC))?;
    let _ = sock.set_rx_buf_sz(1 << 20);
    sock.send(&listen_message(), 0)?;
    sock.set_non_blocking(true)?;
    Ok(sock)
}

/// A process's name and (when some set needs it) command line.
fn read_proc(pid: u32, need_cmdline: bool) -> Option<(String, Vec<u8>)> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // "PID (comm) S ...": comm may hold spaces and parentheses; the last ')' ends it.
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?;
    if stat.get(close + 2) == Some(&b'Z') {
        return None; // a zombie is not running (keepalived skips them too)
    }
    let comm = String::from_utf8_lossy(comm).into_owned();
    let cmdline = if need_cmdline {
        std::fs::read(format!("/proc/{pid}/cmdline")).ok()?
    } else {
        Vec::new()
    };
    Some((comm, cmdline))
}

/// Every process id in /proc (threads are not listed there, only thread group leaders).
fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// One configured set.
#[derive(Debug)]
struct Set {
    name: String,
    matching: ProcessMatch,
    quorum: Quorum,
}

/// Every tracked process set, the PIDs counted in each, and the connector socket.
#[derive(Debug)]
pub struct TrackProcesses {
    sets: Vec<Set>,
    /// PID -> the sets (indices) it counts in.
    members: HashMap<u32, Vec<u16>>,
    sock: Option<Socket>,
    buf: Vec<u8>,
    need_cmdline: bool,
    /// When to scan /proc next: events were lost, or there is no connector.
    scan_at: Option<Instant>,
}

impl TrackProcesses {
    /// No tracked process.
    pub fn none() -> TrackProcesses {
        TrackProcesses {
            sets: Vec::new(),
            members: HashMap::new(),
            sock: None,
            buf: Vec::new(),
            need_cmdline: false,
            scan_at: None,
        }
    }

    /// The sets of `cfg` (in configuration order: their [`ProcessId`]s). The connector is
    /// opened only when some set is configured.
    pub fn new(cfg: &conf::Config) -> TrackProcesses {
        let sets: Vec<Set> = cfg
            .track_processes
            .iter()
            .map(|p| Set {
                name: p.name.clone(),
                matching: p.matching.clone(),
                quorum: Quorum::new(p.quorum, p.quorum_max, p.fork_delay, p.terminate_delay),
            })
            .collect();
        let need_cmdline = sets.iter().any(|s| s.matching.full_command);
        let sock = if sets.is_empty() {
            None
        } else {
            match open_connector() {
                Ok(s) => Some(s),
                Err(e) => {
                    warn!(
                        "track_process: no process events from the kernel ({e}: the connector \
                         exists in the initial network namespace only, and needs \
                         CONFIG_PROC_EVENTS and CAP_NET_ADMIN); scanning /proc every {} ms instead",
                        FALLBACK_SCAN.as_millis()
                    );
                    None
                }
            }
        };
        TrackProcesses {
            sets,
            members: HashMap::new(),
            sock,
            buf: vec![0; 1 << 16],
            need_cmdline,
            scan_at: None,
        }
    }

    /// Whether the kernel's process events are used (else /proc is scanned periodically).
    pub fn has_events(&self) -> bool {
        self.sock.is_some()
    }

    /// The connector's descriptor, for epoll.
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.sock.as_ref().map(|s| s.as_raw_fd())
    }

    /// The first scan (before the engine starts): every set's state, to report to the engine.
    pub fn start(&mut self, now: Instant) -> Vec<(ProcessId, bool)> {
        let found = self.scan();
        let mut out = Vec::with_capacity(self.sets.len());
        for (k, s) in self.sets.iter_mut().enumerate() {
            let count = found.values().filter(|v| v.contains(&(k as u16))).count();
            s.quorum
                .set_initial(u32::try_from(count).unwrap_or(u32::MAX));
            info!(
                "track_process {}: {} matching process(es), quorum {}",
                s.name,
                s.quorum.count(),
                if s.quorum.up() { "up" } else { "down" }
            );
            out.push((ProcessId(k as u16), s.quorum.up()));
        }
        self.members = found;
        if self.sock.is_none() && !self.sets.is_empty() {
            self.scan_at = Some(now.saturating_add(FALLBACK_SCAN));
        }
        out
    }

    /// Which sets each running process matches.
    fn scan(&self) -> HashMap<u32, Vec<u16>> {
        let mut found = HashMap::new();
        for pid in all_pids() {
            if let Some((comm, cmdline)) = read_proc(pid, self.need_cmdline) {
                let sets: Vec<u16> = self
                    .sets
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.matching.matches(&comm, &cmdline))
                    .map(|(k, _)| k as u16)
                    .collect();
                if !sets.is_empty() {
                    found.insert(pid, sets);
                }
            }
        }
        found
    }

    /// When [`TrackProcesses::on_timer`] has something to do: a delay, or the next scan.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sets
            .iter()
            .filter_map(|s| s.quorum.deadline())
            .chain(self.scan_at)
            .min()
    }

    /// Serve delays and scans due at `now`; the sets whose state changed.
    pub fn on_timer(&mut self, now: Instant) -> Vec<(ProcessId, bool)> {
        let mut out = Vec::new();
        if self.scan_at.is_some_and(|t| t <= now) {
            self.scan_at = (self.sock.is_none()).then(|| now.saturating_add(FALLBACK_SCAN));
            let found = self.scan();
            for (k, s) in self.sets.iter_mut().enumerate() {
                let count = found.values().filter(|v| v.contains(&(k as u16))).count();
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                if count != s.quorum.count() {
                    debug!("track_process {}: {count} matching process(es)", s.name);
                }
                if let Some(up) = s.quorum.rescan(now, count) {
                    out.push((ProcessId(k as u16), up));
                }
            }
            self.members = found;
        }
        for (k, s) in self.sets.iter_mut().enumerate() {
            if let Some(up) = s.quorum.poll(now) {
                out.push((ProcessId(k as u16), up));
            }
        }
        self.log(&out);
        out
    }

    /// Read every queued process event; the sets whose state changed.
    pub fn on_readable(&mut self, now: Instant) -> Vec<(ProcessId, bool)> {
        let mut out = Vec::new();
        let Some(sock) = self.sock.as_ref() else {
            return out;
        };
        let mut events = Vec::new();
        loop {
            match sock.recv_from(&mut &mut self.buf[..], 0) {
                Ok((n, from)) => {
                    if from.port_number() != 0 {
                        continue; // only the kernel speaks on this socket
                    }
                    events.extend(decode(&self.buf[..n.min(self.buf.len())]));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // Events were lost: count again from /proc (as keepalived, after a moment
                    // for things to settle).
                    warn!("track_process: process events lost; scanning /proc again");
                    self.scan_at = Some(now.saturating_add(Duration::from_millis(100)));
                }
                Err(e) => {
                    warn!("track_process: reading process events: {e}");
                    break;
                }
            }
        }
        for ev in events {
            self.apply(now, ev, &mut out);
        }
        self.log(&out);
        out
    }

    fn log(&self, changes: &[(ProcessId, bool)]) {
        for (id, up) in changes {
            if let Some(s) = self.sets.get(usize::from(id.0)) {
                info!(
                    "track_process {}: quorum {} ({} process(es))",
                    s.name,
                    if *up { "gained" } else { "lost" },
                    s.quorum.count()
                );
            }
        }
    }

    fn join(
        &mut self,
        now: Instant,
        pid: u32,
        k: u16,
        how: Change,
        out: &mut Vec<(ProcessId, bool)>,
    ) {
        let m = self.members.entry(pid).or_default();
        if m.contains(&k) {
            return;
        }
        m.push(k);
        if let Some(up) = self.sets[usize::from(k)].quorum.added(now, how) {
            out.push((ProcessId(k), up));
        }
    }

    fn leave(
        &mut self,
        now: Instant,
        pid: u32,
        k: u16,
        how: Change,
        out: &mut Vec<(ProcessId, bool)>,
    ) {
        let Some(m) = self.members.get_mut(&pid) else {
            return;
        };
        let Some(at) = m.iter().position(|&x| x == k) else {
            return;
        };
        m.swap_remove(at);
        if m.is_empty() {
            self.members.remove(&pid);
        }
        if let Some(up) = self.sets[usize::from(k)].quorum.removed(now, how) {
            out.push((ProcessId(k), up));
        }
    }

    /// One event: the counting rules of keepalived's track_process.c.
    fn apply(&mut self, now: Instant, ev: ProcEvent, out: &mut Vec<(ProcessId, bool)>) {
        match ev {
            ProcEvent::Ack => debug!("track_process: the kernel acknowledged the subscription"),
            ProcEvent::Fork { parent, child } => {
                // A child runs its parent's program: it counts where its parent counts.
                let Some(sets) = self.members.get(&parent).cloned() else {
                    return;
                };
                for k in sets {
                    self.join(now, child, k, Change::Fork, out);
                }
            }
            ProcEvent::Exec(pid) => {
                // Gone already (the event is read late): its exit event follows and counts
                // with terminate_delay; keepalived leaves it alone too.
                let Some((comm, cmd)) = read_proc(pid, self.need_cmdline) else {
                    return;
                };
                for k in 0..self.sets.len() {
                    let k16 = k as u16;
                    let hit = self.sets[k].matching.matches(&comm, &cmd);
                    if hit {
                        self.join(now, pid, k16, Change::Match, out);
                    } else {
                        self.leave(now, pid, k16, Change::Unmatch, out);
                    }
                }
            }
            ProcEvent::Comm(pid, comm) => {
                let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
                let comm = String::from_utf8_lossy(&comm[..end]).into_owned();
                for k in 0..self.sets.len() {
                    if self.sets[k].matching.full_command {
                        continue; // the command line does not change with the name
                    }
                    let k16 = k as u16;
                    if self.sets[k].matching.matches(&comm, &[]) {
                        self.join(now, pid, k16, Change::Match, out);
                    } else {
                        self.leave(now, pid, k16, Change::Unmatch, out);
                    }
                }
            }
            ProcEvent::Exit(pid) => {
                let Some(sets) = self.members.get(&pid).cloned() else {
                    return;
                };
                for k in sets {
                    self.leave(now, pid, k, Change::Exit, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(what: u32, data: &[u32]) -> Vec<u8> {
        let mut ev = Vec::new();
        ev.extend_from_slice(&what.to_ne_bytes());
        ev.extend_from_slice(&0u32.to_ne_bytes()); // cpu
        ev.extend_from_slice(&0u64.to_ne_bytes()); // timestamp
        for d in data {
            ev.extend_from_slice(&d.to_ne_bytes());
        }
        while ev.len() < 40 {
            ev.push(0);
        }
        let mut m = Vec::new();
        let total = (NLMSG_HDRLEN + CN_MSG_LEN + ev.len()) as u32;
        m.extend_from_slice(&total.to_ne_bytes());
        m.extend_from_slice(&[0u8; 12]);
        m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        m.extend_from_slice(&[0u8; 8]);
        m.extend_from_slice(&(ev.len() as u16).to_ne_bytes());
        m.extend_from_slice(&[0u8; 2]);
        m.extend_from_slice(&ev);
        m
    }

    #[test]
    fn decodes_process_events_and_skips_threads() {
        let mut buf = msg(PROC_EVENT_FORK, &[10, 10, 11, 11]);
        buf.extend(msg(PROC_EVENT_FORK, &[10, 10, 12, 10])); // a thread of 10
        buf.extend(msg(PROC_EVENT_EXEC, &[11, 11]));
        buf.extend(msg(PROC_EVENT_EXIT, &[11, 11, 0, 9]));
        buf.extend(msg(PROC_EVENT_EXIT, &[12, 10, 0, 0])); // a thread ends
        assert_eq!(
            decode(&buf),
            vec![
                ProcEvent::Fork {
                    parent: 10,
                    child: 11
                },
                ProcEvent::Exec(11),
                ProcEvent::Exit(11),
            ]
        );
    }

    #[test]
    fn short_or_foreign_messages_are_skipped() {
        let full = msg(PROC_EVENT_EXEC, &[5, 5]);
        for cut in 0..full.len() {
            let _ = decode(&full[..cut]); // never panics
        }
        let mut other = full.clone();
        other[NLMSG_HDRLEN] = 7; // another connector index
        assert!(decode(&other).is_empty());
    }

    #[test]
    fn listen_message_layout() {
        let m = listen_message();
        assert_eq!(m.len(), 40);
        assert_eq!(u32_at(&m, 0), Some(40));
        assert_eq!(u32_at(&m, 36), Some(PROC_CN_MCAST_LISTEN));
    }
}
