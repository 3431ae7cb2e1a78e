// Long: the status socket and keepalived's data and stats files share the instance view and its renderings.
//! `vigild status`: what every instance is doing, through a control socket; and keepalived's
//! data and stats files on SIGUSR1 / SIGUSR2.
//!
//! ## The control socket
//!
//! A Unix stream socket beside the pid file (`/run/vigild.pid` -> `/run/vigild.sock`,
//! [`socket_path_for_pid_file`]), mode 0600: only its owner (root) may ask. A client sends one
//! request line, `status` or `status --json`, and reads the answer until the server closes the
//! connection. The event loop only accepts the connection and copies the engine's state
//! ([`Status::collect`], a few hundred bytes per instance); reading the request and writing the
//! answer happen on a short-lived thread, so a client that connects and sends nothing never
//! stalls the loop.
//!
//! The JSON answer is [`Status`], documented field by field in `docs/status-schema.md`; its
//! `schema_version` (now [`SCHEMA_VERSION`]) changes only when a field is removed or changes
//! meaning (adding fields does not change it).
//!
//! ## keepalived's dump files
//!
//! keepalived writes `/tmp/keepalived.data` on SIGUSR1 and `/tmp/keepalived.stats` on SIGUSR2;
//! scripts that parse them keep working: [`write_stats_file`] writes the stats file in
//! keepalived 2.2.7's exact layout, [`write_data_file`] the parts of the data file that describe
//! the VRRP instances and sync groups (`VRRP Instance = VI_1`, `State = MASTER`, ... with
//! keepalived's labels). Both are written to a temporary file and renamed over the target (mode
//! 0600), so a reader never sees half a file and a symbolic link planted at the path in `/tmp` is
//! replaced, not followed.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tracing::{debug, warn};
use vigil_engine::setup::TrackTarget;
use vigil_engine::stats::{InstanceStats, RouterStats};
use vigil_engine::wire::Family;
use vigil_engine::{Engine, InstanceView};

/// The version of the JSON schema (`docs/status-schema.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// Where keepalived 2.2.7 writes a dump file named `name` (`keepalived.data`,
/// `keepalived.stats`): in `$TMPDIR` when that is an absolute path, else in `/tmp`
/// (lib/utils.c `set_tmp_dir`). `instance`: for the data file with `data_use_instance`, the
/// network namespace (`net_namespace` or `-s`) and the `instance` name, each if set; when one
/// is, they go before the extension as `open_dump_file` puts them (core/global_data.c):
/// `keepalived.NS.data`, `keepalived.NAME.data`, `keepalived.NS_NAME.data`, so that daemons in
/// several namespaces or instances of one host do not write over each other's data.
/// (keepalived's stats file keeps its name, vrrp_print.c: its caller passes `None`.)
pub fn dump_file_path(
    name: &str,
    tmpdir: Option<&std::ffi::OsStr>,
    instance: Option<(Option<&str>, Option<&str>)>,
) -> PathBuf {
    let dir = match tmpdir.map(Path::new) {
        Some(d) if d.is_absolute() => d.to_path_buf(),
        _ => PathBuf::from("/tmp"),
    };
    match instance {
        Some((ns, inst)) if ns.is_some() || inst.is_some() => {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            let (ns, inst) = (ns.unwrap_or(""), inst.unwrap_or(""));
            let sep = if !ns.is_empty() && !inst.is_empty() {
                "_"
            } else {
                ""
            };
            dir.join(format!("{stem}.{ns}{sep}{inst}.{ext}"))
        }
        _ => dir.join(name),
    }
}

/// The control socket for a pid file: same directory and stem, extension `.sock`.
pub fn socket_path_for_pid_file(pid_file: &Path) -> PathBuf {
    pid_file.with_extension("sock")
}

/// Everything `vigild status` shows.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Status {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// vigild's version.
    pub vigild_version: String,
    /// `router_id` (default: the host name).
    pub router_id: String,
    /// Every instance, in configuration order.
    pub instances: Vec<InstanceStatus>,
    /// Every sync group, in configuration order.
    pub sync_groups: Vec<GroupStatus>,
    /// Packets that reached no instance.
    pub router_counters: RouterCounters,
}

/// One instance.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InstanceStatus {
    /// `vrrp_instance NAME`.
    pub name: String,
    /// The interface adverts use.
    pub interface: String,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// Virtual router id.
    pub vrid: u8,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// `INIT`, `BACKUP`, `MASTER` or `FAULT`.
    pub state: &'static str,
    /// Effective and configured priority.
    pub priority: Priority,
    /// Our own Advertisement_Interval, milliseconds.
    pub advert_interval_ms: u64,
    /// The master as last heard (ourselves while MASTER).
    pub master: MasterStatus,
    /// Master_Down_Interval for the current priority and Master_Adver_Interval, milliseconds.
    pub master_down_interval_ms: u64,
    /// Preempt_Mode.
    pub preempt: bool,
    /// Virtual addresses, `ADDR/LEN` (with ` dev IF` when not the instance's interface).
    pub virtual_addresses: Vec<String>,
    /// Unicast peers (empty: multicast).
    pub unicast_peers: Vec<String>,
    /// The sync group the instance belongs to.
    pub sync_group: Option<String>,
    /// What the instance tracks.
    pub trackers: Vec<TrackerStatus>,
    /// Counters (RFC 6527 names where one exists).
    pub counters: Counters,
    /// VRRPv3 over IPv4: the routers heard, with the checksum form each uses (both forms are
    /// accepted; RFC 5798's pseudo-header form, or the message-only form of FRR's `no
    /// checksum-with-ipv4-pseudoheader` and some vendors).
    pub peers: Vec<PeerStatus>,
}

/// A router heard on a VRRPv3-over-IPv4 instance and the checksum form of its adverts.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PeerStatus {
    /// Its address (the adverts' IP source).
    pub address: String,
    /// `pseudo-header`, `plain` (message only) or `both`.
    pub checksum: &'static str,
    /// Adverts accepted with the pseudo-header checksum.
    pub pseudo_header_adverts: u64,
    /// Adverts accepted with the message-only checksum.
    pub plain_adverts: u64,
}

/// Effective and configured priority.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Priority {
    /// What adverts carry now (after tracking).
    pub effective: u8,
    /// `priority` as configured.
    pub base: u8,
}

/// The master as this router knows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MasterStatus {
    /// Its address (the advert's IP source); `null` when none was heard yet.
    pub address: Option<String>,
    /// Master_Adver_Interval (RFC 5798 section 6.1), milliseconds.
    pub advert_interval_ms: u64,
}

/// One tracked object.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TrackerStatus {
    /// `interface`, `script` or `file`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Weight (0: down means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// Whether it is up, when known (scripts: after rise / fall).
    pub up: Option<bool>,
}

/// A sync group.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GroupStatus {
    /// `vrrp_sync_group NAME`.
    pub name: String,
    /// Its state.
    pub state: &'static str,
    /// Member instances.
    pub members: Vec<String>,
}

/// Per-instance counters: [`InstanceStats`], serialised field for field from the engine's one
/// declaration ([`InstanceStats::fields`]), then `drops`, the sum of the drop counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// The engine's counters.
    pub stats: InstanceStats,
}

impl Serialize for Counters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let fields = InstanceStats::fields();
        let mut map = serializer.serialize_map(Some(fields.len() + 1))?;
        for f in fields {
            map.serialize_entry(f.name, &(f.get)(&self.stats))?;
        }
        map.serialize_entry("drops", &self.stats.drops())?;
        map.end()
    }
}

impl From<&InstanceStats> for Counters {
    fn from(s: &InstanceStats) -> Counters {
        Counters { stats: *s }
    }
}

/// Router-wide counters: [`RouterStats`].
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct RouterCounters {
    /// VRID not configured on the interface.
    pub vrid_errors: u64,
    /// Too short to carry a VRID.
    pub packet_length_errors: u64,
    /// Unknown interface or mixed families.
    pub unknown_interface_or_family: u64,
}

impl From<&RouterStats> for RouterCounters {
    fn from(s: &RouterStats) -> Self {
        RouterCounters {
            vrid_errors: s.vrid_errors,
            packet_length_errors: s.packet_length_errors,
            unknown_interface_or_family: s.unknown_interface_or_family,
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn group_of(engine: &Engine, v: &InstanceView<'_>) -> Option<String> {
    engine.groups().find_map(|(id, name)| {
        let (_, _, mut members) = engine.group(id)?;
        members.any(|m| m == v.id()).then(|| name.to_string())
    })
}

fn instance_status(engine: &Engine, v: &InstanceView<'_>) -> InstanceStatus {
    let c = v.config();
    let vaddrs = c
        .virtual_addresses
        .iter()
        .map(|a| match &a.dev {
            Some(d) if d != &c.interface => format!("{}/{} dev {d}", a.addr, a.prefix_len),
            _ => format!("{}/{}", a.addr, a.prefix_len),
        })
        .collect();
    let trackers = c
        .track
        .iter()
        .map(|t| {
            let (kind, name, up) = match &t.target {
                TrackTarget::Interface(n) => ("interface", n.clone(), None),
                TrackTarget::Script(n) => (
                    "script",
                    n.clone(),
                    engine.script_id(n).and_then(|id| engine.script_up(id)),
                ),
                TrackTarget::File(n) => ("file", n.clone(), None),
                TrackTarget::Process(n) => (
                    "process",
                    n.clone(),
                    engine
                        .track_process_id(n)
                        .and_then(|id| engine.track_process_up(id)),
                ),
            };
            TrackerStatus {
                kind,
                name,
                weight: t.weight,
                reverse: t.reverse,
                up,
            }
        })
        .collect();
    InstanceStatus {
        name: v.name().to_string(),
        interface: c.interface.clone(),
        family: match c.family {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        },
        vrid: c.vrid,
        version: c.version.number(),
        state: v.state().name(),
        priority: Priority {
            effective: v.priority(),
            base: c.priority,
        },
        advert_interval_ms: ms(c.advert_interval),
        master: MasterStatus {
            address: v.master_addr().map(|a| a.to_string()),
            advert_interval_ms: ms(v.master_adver_interval()),
        },
        master_down_interval_ms: ms(v.master_down_interval()),
        preempt: c.preempt,
        virtual_addresses: vaddrs,
        unicast_peers: c.unicast_peers.iter().map(|p| p.to_string()).collect(),
        sync_group: group_of(engine, v),
        trackers,
        counters: Counters::from(v.stats()),
        peers: v
            .peer_checksums()
            .iter()
            .map(|p| PeerStatus {
                address: p.addr.to_string(),
                checksum: p.form(),
                pseudo_header_adverts: p.pseudo_header,
                plain_adverts: p.plain,
            })
            .collect(),
    }
}

impl Status {
    /// Copy the engine's state (cheap: called on the event loop).
    pub fn collect(engine: &Engine, router_id: &str) -> Status {
        let instances = engine
            .instances()
            .map(|v| instance_status(engine, &v))
            .collect();
        let sync_groups = engine
            .groups()
            .filter_map(|(id, _)| {
                let (name, state, members) = engine.group(id)?;
                Some(GroupStatus {
                    name: name.to_string(),
                    state: state.name(),
                    members: members
                        .filter_map(|m| engine.instance(m).map(|v| v.name().to_string()))
                        .collect(),
                })
            })
            .collect();
        Status {
            schema_version: SCHEMA_VERSION,
            vigild_version: env!("CARGO_PKG_VERSION").to_string(),
            router_id: router_id.to_string(),
            instances,
            sync_groups,
            router_counters: RouterCounters::from(engine.router_stats()),
        }
    }

    /// The JSON answer (pretty-printed, newline-terminated).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"schema_version\":{SCHEMA_VERSION},\"error\":\"{e}\"}}")
        });
        s.push('\n');
        s
    }

    /// The text answer: one block per instance, what an operator reads first at the top.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "vigild {} on {}: {} instance(s), {} sync group(s)",
            self.vigild_version,
            self.router_id,
            self.instances.len(),
            self.sync_groups.len()
        );
        for i in &self.instances {
            let c = &i.counters;
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "{}: {} ({} {}, VRID {}, VRRPv{})",
                i.name,
                i.state,
                i.interface,
                if i.family == "ipv4" { "IPv4" } else { "IPv6" },
                i.vrid,
                i.version
            );
            let _ = writeln!(
                o,
                "  priority       {} (base {}){}",
                i.priority.effective,
                i.priority.base,
                if i.preempt { "" } else { ", nopreempt" }
            );
            let _ = writeln!(
                o,
                "  master         {}, advert interval {}",
                i.master.address.as_deref().unwrap_or("none heard"),
                secs(i.master.advert_interval_ms)
            );
            let _ = writeln!(
                o,
                "  own interval   {} (master down after {})",
                secs(i.advert_interval_ms),
                secs(i.master_down_interval_ms)
            );
            let _ = writeln!(
                o,
                "  virtual        {}",
                if i.virtual_addresses.is_empty() {
                    "none (no_virtual_ipaddress)".to_string()
                } else {
                    i.virtual_addresses.join(", ")
                }
            );
            if !i.unicast_peers.is_empty() {
                let _ = writeln!(o, "  unicast peers  {}", i.unicast_peers.join(", "));
            }
            if let Some(g) = &i.sync_group {
                let _ = writeln!(o, "  sync group     {g}");
            }
            for t in &i.trackers {
                let up = match t.up {
                    Some(true) => "up",
                    Some(false) => "DOWN",
                    None => "-",
                };
                let _ = writeln!(
                    o,
                    "  track          {} {} weight {}{}: {up}",
                    t.kind,
                    t.name,
                    t.weight,
                    if t.reverse { " reverse" } else { "" }
                );
            }
            let _ = writeln!(
                o,
                "  adverts        sent {}, received {}; priority 0 sent {}, received {}",
                c.stats.adverts_sent,
                c.stats.adverts_received,
                c.stats.priority_zero_sent,
                c.stats.priority_zero_received
            );
            let _ = writeln!(
                o,
                "  transitions    became master {} time(s), left master {} time(s)",
                c.stats.became_master, c.stats.released_master
            );
            for p in &i.peers {
                let _ = writeln!(
                    o,
                    "  peer           {} checksum {} ({} pseudo-header, {} plain)",
                    p.address, p.checksum, p.pseudo_header_adverts, p.plain_adverts
                );
            }
            let drops: Vec<(&str, u64)> = InstanceStats::fields()
                .iter()
                .filter_map(|f| Some((f.drop_label?, (f.get)(&c.stats))))
                .collect();
            let drops: Vec<String> = drops
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = writeln!(
                o,
                "  dropped        {}",
                if drops.is_empty() {
                    "none".to_string()
                } else {
                    drops.join(", ")
                }
            );
        }
        for g in &self.sync_groups {
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "sync group {}: {} ({})",
                g.name,
                g.state,
                g.members.join(", ")
            );
        }
        let r = &self.router_counters;
        if r.vrid_errors + r.packet_length_errors + r.unknown_interface_or_family > 0 {
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "not for us: vrid {}, too short {}, unknown interface or family {}",
                r.vrid_errors, r.packet_length_errors, r.unknown_interface_or_family
            );
        }
        o
    }
}

fn secs(ms: u64) -> String {
    format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
}

/// The listening control socket.
pub struct StatusServer {
    listener: UnixListener,
    path: PathBuf,
}

/// The longest request line accepted.
const MAX_REQUEST: u64 = 256;

impl StatusServer {
    /// Bind the socket at `path`, owner-only (0600). A socket file left by a dead vigild is
    /// replaced; one that a live vigild answers on is an error (two daemons on one pid file).
    pub fn bind(path: &Path) -> io::Result<StatusServer> {
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is answered by a running vigild", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        // Create the socket file with no group / other bits from the start (umask is process
        // wide: this runs at start-up, before any other thread exists).
        // SAFETY: umask has no memory-safety preconditions.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(path);
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        let listener = bound?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(StatusServer {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The descriptor to watch for readability (a connection to accept).
    pub fn raw_fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accept every pending connection and answer each from a copy of the engine's state (and
    /// `router_id`), on a short-lived thread. Never blocks.
    pub fn on_readable(&mut self, engine: &Engine, router_id: &str) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    // The file's 0600 is the first gate; the peer's credentials the second
                    // (a descriptor passed on by another process, a mode changed by hand).
                    match peer_uid(&stream) {
                        Some(uid) if uid == 0 || uid == effective_uid() => {}
                        other => {
                            warn!("status: refused a client (uid {other:?}): root or vigild's user only");
                            continue;
                        }
                    }
                    let status = Status::collect(engine, router_id);
                    let r = std::thread::Builder::new()
                        .name("status".into())
                        .spawn(move || serve(stream, &status));
                    if let Err(e) = r {
                        warn!("status: cannot start a thread: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("status: accept: {e}");
                    return;
                }
            }
        }
    }

    /// Remove the socket file.
    pub fn shutdown(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The uid of the process at the other end of `stream` (`SO_PEERCRED`).
pub fn peer_uid(stream: &UnixStream) -> Option<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for the call and sized for SO_PEERCRED.
    let r = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(cred.uid)
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Answer one request from `stream` with `status`.
pub fn serve(stream: UnixStream, status: &Status) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    let mut r = BufReader::new((&stream).take(MAX_REQUEST));
    if r.read_line(&mut line).is_err() {
        return;
    }
    let answer = match answer(line.trim(), status) {
        Ok(a) => a,
        Err(e) => format!("error: {e}\n"),
    };
    let _ = (&stream).write_all(answer.as_bytes());
}

/// The answer to one request line.
pub fn answer(request: &str, status: &Status) -> Result<String, String> {
    let words: Vec<&str> = request.split_whitespace().collect();
    match words.as_slice() {
        ["status"] => Ok(status.to_text()),
        ["status", "--json"] | ["status", "json"] => Ok(status.to_json()),
        _ => Err(format!(
            "unknown request '{request}' (try: status, status --json)"
        )),
    }
}

/// The client side of `vigild status [--json]`: ask the daemon at `socket` and return its
/// answer.
pub fn query(socket: &Path, json: bool) -> io::Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let req = if json { "status --json\n" } else { "status\n" };
    s.write_all(req.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// `vigild status [--json]`: print the answer; returns the exit code (0 answered, 1 no daemon
/// or an error, with a message on stderr).
pub fn run_cli(pid_file: &Path, json: bool) -> i32 {
    let sock = socket_path_for_pid_file(pid_file);
    match query(&sock, json) {
        Ok(a) if a.starts_with("error:") => {
            eprint!("{a}");
            1
        }
        Ok(a) => {
            print!("{a}");
            0
        }
        Err(e) => {
            eprintln!(
                "vigild status: cannot reach vigild at {} ({e}); is it running, with this pid file (-p)?",
                sock.display()
            );
            1
        }
    }
}

/// Write `contents` to `path` atomically: a new file beside it (created exclusively, mode
/// `mode`), then `rename` over the target.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp_name = format!(".{name}.{}.tmp", std::process::id());
    let tmp = match dir {
        Some(d) => d.join(tmp_name),
        None => PathBuf::from(tmp_name),
    };
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    let r = f
        .write_all(contents)
        .and_then(|()| f.set_permissions(std::fs::Permissions::from_mode(mode)))
        .and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// keepalived's stats file text (SIGUSR2), instance by instance.
pub fn stats_text(engine: &Engine) -> String {
    let mut o = String::new();
    for v in engine.instances() {
        let s = v.stats();
        let _ = write!(
            o,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            v.name(),
            s.adverts_received,
            s.adverts_sent,
            s.became_master,
            s.released_master,
            s.packet_length_errors,
            s.ip_ttl_errors,
            s.invalid_type_received,
            s.advert_interval_errors,
            s.address_list_errors,
            s.invalid_auth_type,
            s.auth_type_mismatch,
            s.auth_failures,
            s.priority_zero_received,
            s.priority_zero_sent,
        );
    }
    o
}

/// keepalived's data file text (SIGUSR1): the global, VRRP topology and sync group sections,
/// with keepalived's labels, for what Vigil has.
pub fn data_text(engine: &Engine, router_id: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "------< Global definitions >------");
    let _ = writeln!(o, " Router ID = {router_id}");
    let _ = writeln!(o, " Daemon = vigild {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(o, "------< VRRP Topology >------");
    for v in engine.instances() {
        let c = v.config();
        let _ = writeln!(o, " VRRP Instance = {}", v.name());
        let _ = writeln!(o, "   VRRP Version = {}", c.version.number());
        if let Some(g) = group_of(engine, &v) {
            let _ = writeln!(o, "   Sync group = {g}");
        }
        let _ = writeln!(o, "   State = {}", v.state().name());
        let _ = writeln!(o, "   Interface = {}", c.interface);
        if let Some(a) = v.master_addr() {
            let _ = writeln!(o, "   Master router = {a}");
        }
        let _ = writeln!(
            o,
            "   Master down timer = {} usecs",
            v.master_down_interval().as_micros()
        );
        let _ = writeln!(o, "   Virtual Router ID = {}", c.vrid);
        let _ = writeln!(o, "   Priority = {}", c.priority);
        let _ = writeln!(o, "   Effective priority = {}", v.priority());
        let iv = c.advert_interval;
        if iv.subsec_millis() == 0 {
            let _ = writeln!(o, "   Advert interval = {} sec", iv.as_secs());
        } else {
            let _ = writeln!(o, "   Advert interval = {} milli-sec", iv.as_millis());
        }
        let _ = writeln!(
            o,
            "   Preempt = {}",
            if c.preempt { "enabled" } else { "disabled" }
        );
        if !c.preempt_delay.is_zero() {
            let _ = writeln!(o, "   Preempt delay = {} secs", c.preempt_delay.as_secs());
        }
        let _ = writeln!(o, "   Virtual IP ({}):", c.virtual_addresses.len());
        let owning = v.holds_addresses();
        for a in &c.virtual_addresses {
            let _ = writeln!(
                o,
                "     {}/{} dev {} scope global{}",
                a.addr,
                a.prefix_len,
                a.dev.as_deref().unwrap_or(&c.interface),
                if owning { " set" } else { "" }
            );
        }
        if !c.unicast_peers.is_empty() {
            let _ = writeln!(o, "   Unicast Peer = {}", c.unicast_peers.len());
            for p in &c.unicast_peers {
                let _ = writeln!(o, "     {p}");
            }
        }
    }
    let groups: Vec<_> = engine.groups().collect();
    if !groups.is_empty() {
        let _ = writeln!(o, "------< VRRP Sync groups >------");
        for (id, _) in groups {
            if let Some((name, state, members)) = engine.group(id) {
                let _ = writeln!(o, " VRRP Sync Group = {name}, {}", state.name());
                let _ = writeln!(o, "   VRRP member instances :");
                for m in members {
                    if let Some(v) = engine.instance(m) {
                        let _ = writeln!(o, "     {}", v.name());
                    }
                }
            }
        }
    }
    o
}

/// Write the stats file (SIGUSR2).
pub fn write_stats_file(path: &Path, engine: &Engine) -> io::Result<()> {
    write_atomic(path, stats_text(engine).as_bytes(), 0o600)
}

/// Write the data file (SIGUSR1).
pub fn write_data_file(path: &Path, engine: &Engine, router_id: &str) -> io::Result<()> {
    write_atomic(path, data_text(engine, router_id).as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived's directory ($TMPDIR when absolute, else /tmp) and, with data_use_instance
    /// and a namespace, the namespace's name before the extension.
    #[test]
    fn dump_files_are_where_keepalived_puts_them() {
        use std::ffi::OsStr;
        let p = |t: Option<&str>, i: Option<(Option<&str>, Option<&str>)>| {
            dump_file_path("keepalived.data", t.map(OsStr::new), i)
        };
        assert_eq!(p(None, None), Path::new("/tmp/keepalived.data"));
        assert_eq!(
            p(Some("/var/tmp"), None),
            Path::new("/var/tmp/keepalived.data")
        );
        assert_eq!(p(Some("rel/dir"), None), Path::new("/tmp/keepalived.data"));
        assert_eq!(
            p(None, Some((None, None))),
            Path::new("/tmp/keepalived.data")
        );
        assert_eq!(
            p(None, Some((Some("blue"), None))),
            Path::new("/tmp/keepalived.blue.data")
        );
        assert_eq!(
            p(None, Some((None, Some("lb1")))),
            Path::new("/tmp/keepalived.lb1.data")
        );
        assert_eq!(
            p(Some("/var/tmp"), Some((Some("blue"), Some("lb1")))),
            Path::new("/var/tmp/keepalived.blue_lb1.data")
        );
    }

    #[test]
    fn socket_sits_beside_the_pid_file() {
        assert_eq!(
            socket_path_for_pid_file(Path::new("/run/vigild.pid")),
            PathBuf::from("/run/vigild.sock")
        );
    }

    #[test]
    fn unknown_requests_are_refused() {
        let s = Status {
            schema_version: SCHEMA_VERSION,
            vigild_version: "0".into(),
            router_id: "r".into(),
            instances: vec![],
            sync_groups: vec![],
            router_counters: RouterCounters {
                vrid_errors: 0,
                packet_length_errors: 0,
                unknown_interface_or_family: 0,
            },
        };
        assert!(answer("status", &s).is_ok());
        assert!(answer("status --json", &s)
            .unwrap()
            .contains("\"schema_version\": 1"));
        assert!(answer("reload", &s).is_err());
        assert_eq!(secs(1000), "1.00 s");
        assert_eq!(secs(3609), "3.60 s");
    }
}
