//! The daemon: owns the file descriptors, feeds the engine, carries out its actions.
//!
//! See the crate documentation for the shape of the event loop.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use tracing::{debug, error, info, warn};
use vigil_engine::conf::{self, SourceLoader};
use vigil_engine::io::CheckResult;
use vigil_engine::wire::Family;
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, Instant, Received, State, VirtualAddress,
};

use crate::addr_state::{self, AddrState, Recorded};
use crate::announce::Announcer;
use crate::batch::{self, RecvBatch, SendBatch};
use crate::checks::Checks;
use crate::netlink::{self, Addr, Event, Link, Rtnl, RtnlEvents};
use crate::operator::{sd_notify, Operator, OperatorOptions};
use crate::routes::{self, Extras, RouteSpec};
use crate::sys::{self, Epoll, SignalFd, TimerFd};
use crate::track_files::TrackFiles;
use crate::vmac::{self, BaseSysctls, VmacSpec};
use crate::vrrp_socket::VrrpSocket;

/// The key of `static_ipaddress` / `static_routes` among the instances' extras (no instance
/// can be called this: names are words of the configuration).
const STATICS: &str = "\0static";
/// keepalived's exit code for a configuration it cannot run.
pub const EXIT_CONFIG: i32 = 5;
/// Exit code for a failure to set up the machine (sockets, netlink, files).
pub const EXIT_FATAL: i32 = 1;
/// The pid file when `-p` is not given.
pub const DEFAULT_PID_FILE: &str = "/run/vigild.pid";

const TOKEN_TIMER: u64 = 0;
const TOKEN_SIGNAL: u64 = 1;
const TOKEN_NETLINK: u64 = 2;
const TOKEN_TRACK_FILES: u64 = 3;
const TOKEN_STATUS: u64 = 4;
/// The health-checker runner's epoll (src/checker/).
const TOKEN_CHECKERS: u64 = 5;
/// How long notify programs still queued at exit may run.
const NOTIFY_GRACE: core::time::Duration = core::time::Duration::from_secs(2);
/// Sockets: `TOKEN_SOCKET_BASE + 2 * iface + family`.
const TOKEN_SOCKET_BASE: u64 = 16;
/// `use_vmac` macvlans' sockets: `TOKEN_VMAC_BASE + n` (n counts macvlans created).
const TOKEN_VMAC_BASE: u64 = 1 << 31;
/// Check programs' pidfds: `TOKEN_CHECK_BASE + script index`.
const TOKEN_CHECK_BASE: u64 = 1 << 32;
/// `recvmmsg` calls per socket per wake-up before serving the others (epoll is
/// level-triggered: the rest are read on the next turn).
const RECV_ROUNDS: usize = 8;
/// `recvmmsg` calls per socket when the loop reads every socket before serving a deadline
/// (`read_before_deciding`): 512 x 32 adverts, more than a full 8 MiB receive buffer holds
/// (about 550 bytes of truesize per advert). A socket still not empty after that is reported
/// to the engine as pending (a flood); the engine's rule decides what its deadlines then mean.
const DRAIN_ROUNDS: usize = 512;
/// How long the loop waits for the rest of a burst of adverts (see `run`).
const COALESCE: core::time::Duration = core::time::Duration::from_micros(500);
/// How long before a backup's Master_Down_Timer expires the loop wakes, to wait out the rest on
/// the CPU (see `takeover_wake`): longer than a timer wake-up takes here (50-100 us, measured
/// with perf in BENCHMARKS-daemon.md), short enough to cost nothing that matters, and only
/// when a master has gone silent.
const TAKEOVER_LEAD: core::time::Duration = core::time::Duration::from_micros(250);
/// The longest advert.
const MAX_ADVERT_LEN: usize = vigil_engine::wire::MAX_ADVERT_LEN;

/// What the command line decided.
#[derive(Clone, Debug, Default)]
pub struct DaemonOptions {
    /// The keepalived.conf to read.
    pub config_file: PathBuf,
    /// The config id for `@ID` lines.
    pub config_id: Option<String>,
    /// The pid file (default [`DEFAULT_PID_FILE`]); the address record sits beside it.
    pub pid_file: Option<PathBuf>,
    /// `-D`: log every advert and drop at debug level.
    pub log_detail: bool,
    /// `--metrics-file`: the Prometheus textfile (node_exporter textfile collector) to keep.
    pub metrics_file: Option<PathBuf>,
    /// Which halves run (`-P`: VRRP only, `-C`: health checkers only; default both).
    pub subsystems: crate::checker::Subsystems,
}

fn fam_idx(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

/// Where the configuration comes from: read again on SIGHUP.
pub struct ConfigSource<'a> {
    /// The main file (`-f`).
    pub path: String,
    /// The config id for `@ID` lines (`-i`).
    pub options: conf::ParseOptions,
    /// How files (and `include` globs) are read.
    pub loader: &'a dyn SourceLoader,
    /// Which halves of the configuration run (`-P` / `-C`), also after a reload.
    pub subsystems: crate::checker::Subsystems,
}

/// A configuration read, parsed and converted for the engine.
struct Loaded {
    cfg: conf::Config,
    engine: EngineConfig,
    /// Excluded addresses and virtual routes by instance name.
    extras: Vec<(String, Extras)>,
    /// `use_vmac` macvlans by instance name.
    vmacs: HashMap<String, VmacSpec>,
    /// `static_ipaddress` / `static_routes`.
    statics: Option<Extras>,
}

/// Read, parse and convert the configuration; every problem is logged (parse errors with
/// file:line:column) and gives `None`.
fn load(src: &ConfigSource<'_>) -> Option<Loaded> {
    let cfg = match conf::parse_file(&src.path, src.loader, &src.options) {
        Ok(c) => src.subsystems.keep(c),
        Err(e) => {
            for d in &e.diagnostics {
                error!("{d}");
            }
            return None;
        }
    };
    for w in &cfg.warnings {
        warn!("{w}");
    }
    let converted = match EngineConfig::from_conf(&cfg) {
        Ok(x) => x,
        Err(e) => {
            error!("{e}");
            return None;
        }
    };
    for n in &converted.unsupported {
        // Settings the engine leaves to the runner, and this runner carries out.
        if n.what.starts_with("virtual_ipaddress_excluded:") || n.what.starts_with("use_vmac:") {
            continue;
        }
        warn!("{}: {}", n.owner, n.what);
    }
    let (mut extras, notes) = routes::extras_of(&cfg);
    for n in notes {
        warn!("{n}");
    }
    let (vmacs, notes) = vmac::plan(&cfg, &converted.engine);
    for n in notes {
        warn!("{n}");
    }
    let (statics, notes) = routes::statics_of(&cfg);
    for n in notes {
        warn!("{n}");
    }
    // Excluded addresses go on the macvlan too.
    for (name, e) in &mut extras {
        if let Some(v) = vmacs.get(name) {
            e.interface = v.name.clone();
        }
    }
    Some(Loaded {
        cfg,
        engine: converted.engine,
        extras,
        vmacs,
        statics,
    })
}

/// The epoll token of socket `family` of interface `i` of the table.
fn socket_token(i: usize, family: Family) -> u64 {
    TOKEN_SOCKET_BASE + 2 * i as u64 + fam_idx(family) as u64
}

/// One interface some instance runs on.
#[derive(Debug)]
struct Iface {
    name: String,
    /// The kernel's index; `None` while the interface does not exist.
    index: Option<u32>,
    mac: Option<[u8; 6]>,
    up: bool,
    addrs: Vec<Addr>,
    /// Which families some instance uses here.
    families: [bool; 2],
    socks: [Option<VrrpSocket>; 2],
    /// What the engine was last told.
    told_up: Option<bool>,
    told_primary: [Option<Option<IpAddr>>; 2],
}

impl Iface {
    /// An interface not looked up yet.
    fn named(name: &str) -> Iface {
        Iface {
            name: name.to_string(),
            index: None,
            mac: None,
            up: false,
            addrs: Vec::new(),
            families: [false; 2],
            socks: [None, None],
            told_up: None,
            told_primary: [None, None],
        }
    }
}

/// Open the `family` VRRP socket of interface `name` (kernel index `index`, table position
/// `i`) and watch it; failures are logged.
fn open_socket(ep: &Epoll, name: &str, index: u32, i: usize, family: Family) -> Option<VrrpSocket> {
    match VrrpSocket::open(family, name, index) {
        Ok(s) => {
            if let Err(e) = ep.add(s.raw_fd(), socket_token(i, family)) {
                error!("{name}: cannot watch the {family} socket: {e}");
            }
            Some(s)
        }
        Err(e) => {
            error!("{name}: cannot open the {family} VRRP socket: {e}");
            None
        }
    }
}

/// The running daemon.
pub struct Daemon {
    engine: Engine,
    ep: Epoll,
    timer: TimerFd,
    signals: SignalFd,
    rtnl: Rtnl,
    events: RtnlEvents,
    announcer: Announcer,
    checks: Checks,
    track_files: TrackFiles,
    /// Notify programs, FIFOs, e-mail, the status socket, metrics (src/operator/); taken at stop.
    operator: Option<Operator>,
    ifaces: Vec<Iface>,
    /// Every configured virtual address: never an interface's own address, and ignored in
    /// address events (a takeover of 1,020 instances must not cost 1,020 x 1,020 comparisons).
    vips: HashSet<IpAddr>,
    addrs: AddrState,
    pid_file: PathBuf,
    clock: sys::Clock,
    rxb: RecvBatch,
    txb: SendBatch,
    last_send_warning: Option<vigil_engine::Instant>,
    /// What each instance installs besides its advertised addresses while MASTER (excluded
    /// addresses, virtual routes), by instance name.
    extras: HashMap<String, Extras>,
    /// What is installed now, by instance name (removed on leaving MASTER, diffed on reload).
    installed: HashMap<String, Extras>,
    /// `use_vmac` macvlans, by instance name.
    vmacs: HashMap<String, Vmac>,
    /// Instance id -> instance name for those with a macvlan (ids of the engine's current
    /// configuration; during a reload's stopping phase, still the old ones).
    vmac_ids: Vec<(vigil_engine::InstanceId, String)>,
    /// The parents' sysctls to put back.
    vmac_sysctls: BaseSysctls,
    /// Macvlans created so far (their epoll tokens).
    vmac_serial: u64,
    /// Each VRRP socket's drop counter (SO_RXQ_OVFL) as last seen, by descriptor.
    rx_dropped: HashMap<std::os::fd::RawFd, u32>,
    /// What the receive queues of each engine interface held back since the engine was last
    /// told (`Input::ReceiveQueue`), by interface id.
    rx_queues: HashMap<IfaceId, RxQueue>,
    /// The health checkers of the configuration's virtual servers (src/checker/).
    checkers: Option<crate::checker::CheckerRunner>,
}

/// The receive queues (sockets) of one engine interface, as the loop last read them.
#[derive(Clone, Copy, Debug, Default)]
struct RxQueue {
    /// A read stopped at its budget with adverts still queued.
    pending: bool,
    /// Adverts the sockets dropped since the engine was last told.
    lost: u32,
    /// What the engine was last told about `pending`.
    told_pending: bool,
}

/// A macvlan this daemon created for an instance (`use_vmac`).
struct Vmac {
    spec: VmacSpec,
    index: u32,
    /// Sends the instance's adverts and hears its peers' (none with `vmac_xmit_base`: then the
    /// parent's socket does both).
    sock: Option<VrrpSocket>,
    /// The socket's epoll token.
    token: u64,
}

/// Run the daemon with options from the command line; returns the process exit code.
pub fn run(opts: &DaemonOptions, loader: &dyn SourceLoader) -> i32 {
    init_logging(opts.log_detail);
    let source = ConfigSource {
        path: opts.config_file.to_string_lossy().into_owned(),
        options: conf::ParseOptions {
            config_id: opts.config_id.clone(),
        },
        loader,
        subsystems: opts.subsystems,
    };
    let Some(Loaded {
        cfg,
        engine,
        extras,
        vmacs,
        statics,
    }) = load(&source)
    else {
        return EXIT_CONFIG;
    };
    let pid_file = opts
        .pid_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PID_FILE));
    // Real-time scheduling and locked memory need privileges that vigild gives up next; both
    // come before any other thread or child process, which then start confined.
    if std::env::var_os("VIGIL_NO_REALTIME").is_none() {
        let rt = sys::enter_realtime();
        info!(
            "real-time scheduling {}, memory {}",
            if rt.fifo {
                "on (SCHED_FIFO)"
            } else {
                "unavailable"
            },
            if rt.locked { "locked" } else { "not locked" }
        );
    }
    match crate::operator::privilege::confine(&cfg) {
        Ok(c) => info!(
            "capabilities kept: {}{}",
            c.kept
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if c.bounding {
                " (bounding set too)"
            } else {
                ""
            }
        ),
        Err(e) => warn!("cannot drop capabilities: {e}"),
    }
    let checks = Checks::new(&cfg, sys::now());
    let track_files = TrackFiles::new(&cfg);
    let mut operator_opts = OperatorOptions::for_pid_file(&pid_file);
    operator_opts.metrics_file = opts.metrics_file.clone();
    let operator = Operator::new(&cfg, operator_opts);
    match Daemon::new(engine, checks, track_files, operator, &pid_file) {
        Ok(mut d) => {
            match crate::checker::CheckerRunner::new(&cfg, Some(&pid_file)) {
                Ok(mut c) => {
                    if let Some(r) = c.as_mut() {
                        r.set_metrics_file(opts.metrics_file.as_deref());
                    }
                    d.set_checkers(c)
                }
                Err(e) => {
                    error!("cannot start the health checkers: {e}");
                    return EXIT_FATAL;
                }
            }
            d.set_extras(extras);
            d.set_vmacs(vmacs);
            d.set_statics(statics);
            d.serve(Some(&source))
        }
        Err(e) => {
            error!("cannot start: {e}");
            EXIT_FATAL
        }
    }
}

/// Log lines to stderr (to syslog in the background, see [`crate::background`]): INFO by
/// default (one line per state change), DEBUG with `-D`.
pub fn init_logging(detail: bool) {
    let level = if detail {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    if crate::background::in_background() {
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(crate::background::Syslog::new())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .try_init();
        return;
    }
    if crate::operator::journal::stderr_is_journal() {
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(io::stderr)
            .event_format(crate::operator::journal::JournalFormat)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

fn write_pid_file(path: &Path) -> io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
}

impl Daemon {
    /// Set up everything: pid file, the previous run's leftovers, interfaces, sockets. The
    /// engine starts in [`Daemon::run`].
    pub fn new(
        config: EngineConfig,
        checks: Checks,
        track_files: TrackFiles,
        operator: Operator,
        pid_file: &Path,
    ) -> io::Result<Daemon> {
        let vips: HashSet<IpAddr> = config.virtual_addresses().collect();
        let engine = Engine::new(config)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        write_pid_file(pid_file)?;
        let (addrs, left) = AddrState::open(addr_state::path_for_pid_file(pid_file));
        let mut rtnl = Rtnl::open()?;
        for r in &left {
            match sys::if_nametoindex(&r.ifname) {
                Some(idx) => match rtnl.del_address(idx, r.addr, r.prefix_len) {
                    Ok(true) => info!(
                        "removed {}/{} from {}: left by a previous run",
                        r.addr, r.prefix_len, r.ifname
                    ),
                    Ok(false) => {}
                    Err(e) => warn!("cannot remove leftover {} from {}: {e}", r.addr, r.ifname),
                },
                None => debug!("leftover {} on vanished {}", r.addr, r.ifname),
            }
        }
        addrs.save()?;
        // Rule 1 of addr_state: no configured address may be on its interface before start.
        for inst in engine.instances() {
            let cfg = inst.config();
            for v in &cfg.virtual_addresses {
                let dev = v.dev.as_deref().unwrap_or(&cfg.interface);
                if let Some(idx) = sys::if_nametoindex(dev) {
                    if let Ok(true) = rtnl.del_address(idx, v.addr, v.prefix_len) {
                        info!(
                            "({}) removed {}/{} from {dev}: present before start",
                            cfg.name, v.addr, v.prefix_len
                        );
                    }
                }
            }
        }

        let mut ifaces: Vec<Iface> = engine
            .interfaces()
            .map(|(_, name)| Iface::named(name))
            .collect();
        for v in engine.instances() {
            if let Some(i) = ifaces.get_mut(usize::from(v.iface().0)) {
                i.families[fam_idx(v.config().family)] = true;
            }
        }
        let events = RtnlEvents::open()?;
        let ep = Epoll::new()?;
        let timer = TimerFd::new()?;
        let signals = SignalFd::new()?;
        ep.add(timer.raw_fd(), TOKEN_TIMER)?;
        ep.add(signals.raw_fd(), TOKEN_SIGNAL)?;
        ep.add(events.raw_fd(), TOKEN_NETLINK)?;
        if let Some(fd) = track_files.raw_fd() {
            ep.add(fd, TOKEN_TRACK_FILES)?;
        }
        if let Some(fd) = operator.status_fd() {
            ep.add(fd, TOKEN_STATUS)?;
        }
        sys::set_timer_slack_ns(1);
        let mut d = Daemon {
            engine,
            ep,
            timer,
            signals,
            rtnl,
            events,
            announcer: Announcer::open()?,
            checks,
            track_files,
            operator: Some(operator),
            ifaces,
            vips,
            addrs,
            pid_file: pid_file.to_path_buf(),
            clock: sys::Clock::default(),
            rxb: RecvBatch::default(),
            rx_dropped: HashMap::new(),
            rx_queues: HashMap::new(),
            txb: SendBatch::default(),
            last_send_warning: None,
            extras: HashMap::new(),
            installed: HashMap::new(),
            vmacs: HashMap::new(),
            vmac_ids: Vec::new(),
            vmac_sysctls: BaseSysctls::default(),
            vmac_serial: 0,
            checkers: None,
        };
        d.resync()?;
        // A socket that cannot be opened at start-up is a setup error (permissions, a kernel
        // without IPv6): fail now rather than run instances that can neither hear nor speak.
        for f in &d.ifaces {
            for fam in [Family::V4, Family::V6] {
                let k = fam_idx(fam);
                if f.index.is_some() && f.families[k] && f.socks[k].is_none() {
                    return Err(io::Error::other(format!(
                        "{}: no {fam} VRRP socket",
                        f.name
                    )));
                }
            }
        }
        Ok(d)
    }

    /// Re-read every link and address from the kernel (start-up, and after the event socket
    /// overran), open sockets on interfaces that exist, and tell the engine what changed.
    fn resync(&mut self) -> io::Result<()> {
        let links = self.rtnl.links()?;
        let addrs = self.rtnl.addrs()?;
        for i in 0..self.ifaces.len() {
            let link = links
                .iter()
                .find(|l| l.name == self.ifaces[i].name)
                .cloned();
            match link {
                Some(l) => self.link_present(i, &l),
                None => self.link_gone(i),
            }
            let idx = self.ifaces[i].index;
            self.ifaces[i].addrs = addrs
                .iter()
                .filter(|a| Some(a.index) == idx && !self.vips.contains(&a.addr))
                .cloned()
                .collect();
        }
        Ok(())
    }

    fn link_present(&mut self, i: usize, l: &Link) {
        let iface = &mut self.ifaces[i];
        if iface.index != Some(l.index) {
            if iface.index.is_some() {
                self.close_sockets(i);
            }
            let iface = &mut self.ifaces[i];
            iface.index = Some(l.index);
            iface.addrs.clear();
            for f in [Family::V4, Family::V6] {
                if iface.families[fam_idx(f)] {
                    iface.socks[fam_idx(f)] = open_socket(&self.ep, &iface.name, l.index, i, f);
                }
            }
        }
        let iface = &mut self.ifaces[i];
        iface.mac = l.mac;
        iface.up = l.up;
    }

    fn close_sockets(&mut self, i: usize) {
        for s in self.ifaces[i].socks.iter_mut() {
            if let Some(sock) = s.take() {
                let _ = self.ep.delete(sock.raw_fd());
                self.rx_dropped.remove(&sock.raw_fd());
            }
        }
    }

    fn link_gone(&mut self, i: usize) {
        self.close_sockets(i);
        let iface = &mut self.ifaces[i];
        iface.index = None;
        iface.up = false;
        iface.addrs.clear();
    }

    /// Tell the engine about every interface whose link or primary address differs from what
    /// it was last told.
    fn report_interfaces(&mut self) {
        for i in 0..self.ifaces.len() {
            let id = IfaceId(i as u16);
            let iface = &self.ifaces[i];
            let up = iface.up;
            let primaries = [
                netlink::primary_v4(&iface.addrs, &self.vips),
                netlink::link_local_v6(&iface.addrs),
            ];
            if iface.told_up != Some(up) {
                info!("{}: link {}", iface.name, if up { "up" } else { "down" });
                self.ifaces[i].told_up = Some(up);
                self.engine
                    .handle_input(self.clock.now(), Input::Link { iface: id, up });
                self.drain();
            }
            for f in [Family::V4, Family::V6] {
                let k = fam_idx(f);
                if !self.ifaces[i].families[k] {
                    continue;
                }
                let p = primaries[k];
                if self.ifaces[i].told_primary[k] != Some(p) {
                    match p {
                        Some(a) => info!("{}: {f} source address {a}", self.ifaces[i].name),
                        None => warn!("{}: no {f} source address", self.ifaces[i].name),
                    }
                    self.ifaces[i].told_primary[k] = Some(p);
                    self.engine.handle_input(
                        self.clock.now(),
                        Input::PrimaryAddress {
                            iface: id,
                            family: f,
                            addr: p,
                        },
                    );
                    self.drain();
                }
            }
        }
    }

    /// Start the engine and serve until SIGTERM / SIGINT, ignoring SIGHUP; returns the exit
    /// code.
    pub fn run(&mut self) -> i32 {
        self.serve(None)
    }

    /// Start the engine and serve until SIGTERM / SIGINT, reloading `source` on SIGHUP;
    /// returns the exit code.
    pub fn serve(&mut self, source: Option<&ConfigSource<'_>>) -> i32 {
        self.report_interfaces();
        info!(
            "starting {} instance(s) on {} interface(s)",
            self.engine.instances().count(),
            self.ifaces.len()
        );
        for (file, value) in self.track_files.all() {
            self.engine
                .handle_input(self.clock.now(), Input::TrackFile { file, value });
            self.drain();
            if let Some(c) = self.checkers.as_mut() {
                c.feed_track_file_index(self.clock.now(), usize::from(file.0), value);
            }
        }
        self.engine.handle_input(self.clock.now(), Input::Start);
        self.drain();
        if let Some(c) = self.checkers.as_mut() {
            c.start(self.clock.now());
        }
        if let Err(e) = sd_notify::ready(&self.status_line()) {
            warn!("sd_notify: {e}");
        }
        crate::background::report_started(0);
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
        loop {
            let mut reloaded = false;
            let deadline = [
                self.engine.poll_timeout(),
                self.checks.next_deadline(),
                self.operator.as_ref().and_then(Operator::poll_timeout),
                self.checkers.as_mut().and_then(|c| c.next_deadline()),
            ]
            .into_iter()
            .flatten()
            .min();
            let (wake, spin_to) = self.takeover_wake(deadline);
            let waited = match spin_to {
                // A Master_Down_Timer about to expire: input already waiting is served first (an
                // advert moves the deadline); otherwise wait for the deadline on the CPU, look at
                // the sockets again without sleeping (an advert that came meanwhile is read
                // first), and the deadline is served below.
                Some(d) => match self.ep.poll(&mut events) {
                    Ok(0) => {
                        sys::spin_until(d);
                        self.ep.poll(&mut events)
                    }
                    r => r,
                },
                None => {
                    if let Err(e) = self.timer.arm(wake) {
                        error!("cannot arm the timer: {e}");
                        return self.stop(EXIT_FATAL);
                    }
                    self.ep.wait(&mut events)
                }
            };
            let n = match waited {
                Ok(n) => n,
                Err(e) => {
                    error!("epoll: {e}");
                    return self.stop(EXIT_FATAL);
                }
            };
            let mut burst = false;
            for ev in &events[..n] {
                if reloaded {
                    // Tokens of this batch may name interfaces or checks of the old tables;
                    // epoll is level-triggered: whatever is still ready comes again.
                    break;
                }
                let token = ev.u64;
                match token {
                    TOKEN_TIMER => {
                        self.timer.clear();
                        self.read_before_deciding();
                        self.engine.handle_timeout(self.clock.now());
                        self.drain();
                        self.run_checks();
                    }
                    TOKEN_SIGNAL => {
                        while let Some(sig) = self.signals.read() {
                            match sig {
                                libc::SIGTERM | libc::SIGINT => {
                                    info!("signal {sig}: stopping");
                                    return self.stop(0);
                                }
                                libc::SIGXCPU => {
                                    sys::leave_realtime();
                                    error!(
                                        "real-time CPU budget exhausted without sleeping: \
                                         back to normal scheduling"
                                    );
                                }
                                libc::SIGUSR1 | libc::SIGUSR2 => {
                                    if let Some(op) = self.operator.as_mut() {
                                        op.on_signal(sig, &self.engine);
                                    }
                                }
                                libc::SIGHUP => match source {
                                    Some(src) => {
                                        self.reload(src);
                                        reloaded = true;
                                    }
                                    None => warn!("SIGHUP: no configuration file to re-read"),
                                },
                                _ => {}
                            }
                        }
                    }
                    TOKEN_NETLINK => self.on_netlink(),
                    TOKEN_CHECKERS => {
                        if let Some(c) = self.checkers.as_mut() {
                            c.on_wake(self.clock.now());
                        }
                    }
                    TOKEN_STATUS => {
                        if let Some(op) = self.operator.as_mut() {
                            op.on_status_readable(&self.engine);
                        }
                    }
                    TOKEN_TRACK_FILES => {
                        for (file, value) in self.track_files.on_event() {
                            self.engine
                                .handle_input(self.clock.now(), Input::TrackFile { file, value });
                            self.drain();
                            if let Some(c) = self.checkers.as_mut() {
                                c.feed_track_file_index(
                                    self.clock.now(),
                                    usize::from(file.0),
                                    value,
                                );
                            }
                        }
                    }
                    t if t >= TOKEN_CHECK_BASE => {
                        let now = self.clock.now();
                        if let Some(f) = self.checks.on_exit((t - TOKEN_CHECK_BASE) as usize, now) {
                            self.check_result(now, f.script, f.result, f.ran_for);
                        }
                    }
                    t if t >= TOKEN_VMAC_BASE => {
                        burst |= self.on_vmac_socket(t, RECV_ROUNDS) > 1;
                    }
                    t if t >= TOKEN_SOCKET_BASE => {
                        let k = (t - TOKEN_SOCKET_BASE) as usize;
                        burst |= self.on_socket(k / 2, k % 2, RECV_ROUNDS) > 1;
                    }
                    _ => {}
                }
            }
            // Receive coalescing: a wake-up that found several adverts queued is in the middle of
            // a burst (masters on one interval grid send together); waiting a moment lets the
            // rest of the burst be read with the next recvmmsg instead of one wake-up every few
            // packets (a context switch costs more than the packets here). Timers are not
            // delayed (the wait ends before the next deadline), and the adverts keep their
            // kernel arrival time, so no protocol timer moves. How long an unread advert may
            // wait is the engine's rule (`Engine::input_may_wait`): not at all while an instance
            // is MASTER (a higher priority's advert must take its addresses away at once, issue
            // 18), at most the smallest Skew_Time of the backups otherwise.
            let may_wait = self
                .engine
                .input_may_wait()
                .unwrap_or(COALESCE)
                .min(COALESCE);
            if burst && !may_wait.is_zero() {
                let now = self.clock.now();
                let until = now + may_wait;
                let next = self.engine.poll_timeout().unwrap_or(until).min(until);
                if next > now {
                    sys::sleep_until(next);
                }
            }
            if let Some(op) = self.operator.as_mut() {
                op.on_wakeup(self.clock.now(), &self.engine);
            }
            // A deadline that passed while we served input is served now, before sleeping.
            if self
                .engine
                .poll_timeout()
                .is_some_and(|d| d <= self.clock.now())
            {
                self.read_before_deciding();
                self.engine.handle_timeout(self.clock.now());
                self.drain();
            }
            if self
                .checks
                .next_deadline()
                .is_some_and(|d| d <= self.clock.now())
            {
                self.run_checks();
            }
            if let Some(c) = self.checkers.as_mut() {
                let now = self.clock.now();
                if c.next_deadline().is_some_and(|d| d <= now) {
                    c.on_wake(now);
                }
            }
        }
    }

    /// When to wake for the loop's next `deadline`, or the deadline to wait for on the CPU
    /// instead. A backup's Master_Down_Timer decides how fast a takeover is, so for it the loop
    /// wakes [`TAKEOVER_LEAD`] early and, once that close, waits out the rest on the CPU
    /// ([`sys::spin_until`]): the takeover starts at the deadline, not a timer wake-up (50-100
    /// us here) later. The engine still decides (the loop only serves its deadline on time),
    /// adverts that arrive meanwhile are read first, and no CPU is spent while adverts keep
    /// coming: each one moves the deadline away before the early wake-up. Every other deadline
    /// (a master's adverts, checks) is armed as it is.
    fn takeover_wake(&mut self, deadline: Option<Instant>) -> (Option<Instant>, Option<Instant>) {
        let Some(d) = deadline else {
            return (None, None);
        };
        let now = sys::now();
        if d <= now {
            return (deadline, None);
        }
        let early = d.saturating_sub(TAKEOVER_LEAD);
        if early <= now {
            if self.is_master_down(d) {
                return (deadline, Some(d));
            }
            return (deadline, None);
        }
        if self.timer.armed().is_some_and(|a| a <= early) {
            // Armed earlier anyway (a stale deadline): that wake-up comes first.
            return (deadline, None);
        }
        if self.is_master_down(d) {
            (Some(early), None)
        } else {
            (deadline, None)
        }
    }

    /// Whether `d` is the engine's next deadline and a backup's (its Master_Down_Timer).
    fn is_master_down(&mut self, d: Instant) -> bool {
        self.engine.poll_timeout() == Some(d)
            && self
                .engine
                .instances()
                .any(|i| i.state() == State::Backup && i.next_deadline() == Some(d))
    }

    /// Take the excluded addresses and virtual routes of the configuration (start-up). Those
    /// already on the machine before start are removed first, like the advertised addresses
    /// (routes only when their protocol is `keepalived`: an operator's own route to the same
    /// destination is left alone).
    fn set_extras(&mut self, extras: Vec<(String, Extras)>) {
        for (name, e) in &extras {
            for v in &e.excluded {
                self.vips.insert(v.addr);
                if let Some((dev, idx)) = self.target_on(&e.interface, v) {
                    if let Ok(true) = self.rtnl.del_address(idx, v.addr, v.prefix_len) {
                        info!(
                            "({name}) removed {}/{} from {dev}: present before start",
                            v.addr, v.prefix_len
                        );
                    }
                }
            }
            for r in &e.routes {
                if let Ok(true) = self.route(false, r) {
                    info!("({name}) removed route {r}: present before start");
                }
            }
        }
        let vips = &self.vips;
        for f in &mut self.ifaces {
            f.addrs.retain(|a| !vips.contains(&a.addr));
        }
        self.extras = extras.into_iter().collect();
    }

    /// Install `static_ipaddress` / `static_routes` (start-up, before the engine starts).
    /// Run these health checkers in the event loop (none: no virtual servers).
    fn set_checkers(&mut self, checkers: Option<crate::checker::CheckerRunner>) {
        if let Some(c) = &checkers {
            if let Err(e) = self.ep.add(c.raw_fd(), TOKEN_CHECKERS) {
                error!("cannot watch the health checkers: {e}");
                return;
            }
        }
        self.checkers = checkers;
    }

    fn set_statics(&mut self, statics: Option<Extras>) {
        if let Some(s) = statics {
            self.extras.insert(STATICS.to_string(), s);
            self.install_extras(STATICS);
        }
    }

    /// Add (`add`) or remove route `r` through netlink.
    fn route(&mut self, add: bool, r: &RouteSpec) -> io::Result<bool> {
        let oif = match &r.dev {
            Some(d) => Some(
                self.ifaces
                    .iter()
                    .find(|f| &f.name == d)
                    .and_then(|f| f.index)
                    .or_else(|| sys::if_nametoindex(d))
                    .ok_or_else(|| io::Error::other(format!("no interface {d}")))?,
            ),
            None => None,
        };
        let m = routes::message(r, oif);
        if add {
            self.rtnl.add_route(m)
        } else {
            self.rtnl.del_route(m)
        }
    }

    fn add_extra_address(&mut self, interface: &str, v: &VirtualAddress) {
        match self.target_on(interface, v) {
            Some((dev, idx)) => self.add_address_at(dev, idx, v),
            None => warn!("cannot add {}: interface missing", v.addr),
        }
    }

    fn remove_extra_address(&mut self, interface: &str, v: &VirtualAddress) {
        if let Some((dev, idx)) = self.target_on(interface, v) {
            self.remove_address_at(dev, idx, v);
        }
    }

    fn add_route(&mut self, r: &RouteSpec) {
        match self.route(true, r) {
            Ok(true) => info!("added route {r}"),
            Ok(false) => info!("route {r} already present"),
            Err(e) => error!("cannot add route {r}: {e}"),
        }
    }

    fn remove_route(&mut self, r: &RouteSpec) {
        match self.route(false, r) {
            Ok(true) => info!("removed route {r}"),
            Ok(false) => debug!("route {r} was not present"),
            Err(e) => error!("cannot remove route {r}: {e}"),
        }
    }

    /// Instance `name` became MASTER: its excluded addresses, then its routes (which may use
    /// the virtual addresses as source or gateway's interface).
    fn install_extras(&mut self, name: &str) {
        let Some(e) = self.extras.get(name).cloned() else {
            return;
        };
        self.uninstall_extras(name);
        for v in &e.excluded {
            self.add_extra_address(&e.interface, v);
        }
        for r in &e.routes {
            self.add_route(r);
        }
        self.installed.insert(name.to_string(), e);
    }

    /// Instance `name` left MASTER (or stops): its routes, then its excluded addresses.
    fn uninstall_extras(&mut self, name: &str) {
        let Some(e) = self.installed.remove(name) else {
            return;
        };
        for r in &e.routes {
            self.remove_route(r);
        }
        for v in &e.excluded {
            self.remove_extra_address(&e.interface, v);
        }
    }

    /// After a reload: every MASTER has exactly its new configuration's extras; only the
    /// differences are removed and added, so a route or address kept by the new configuration
    /// never disappears.
    fn reconcile_extras(&mut self) {
        let mut masters: HashSet<String> = self
            .engine
            .instances()
            .filter(|v| v.state() == vigil_engine::State::Master)
            .map(|v| v.name().to_string())
            .collect();
        // The static ones are always "installed" while the daemon runs.
        masters.insert(STATICS.to_string());
        let stale: Vec<String> = self
            .installed
            .keys()
            .filter(|n| !masters.contains(*n))
            .cloned()
            .collect();
        for n in stale {
            self.uninstall_extras(&n);
        }
        for name in masters {
            let want = self.extras.get(&name).cloned().unwrap_or_default();
            let have = self.installed.remove(&name).unwrap_or_default();
            if want == have {
                if !want.is_empty() {
                    self.installed.insert(name, want);
                }
                continue;
            }
            for r in have.routes.iter().filter(|r| !want.routes.contains(r)) {
                self.remove_route(r);
            }
            for v in have.excluded.iter() {
                if !want.excluded.contains(v) || want.interface != have.interface {
                    self.remove_extra_address(&have.interface, v);
                }
            }
            for v in want.excluded.iter() {
                if !have.excluded.contains(v) || want.interface != have.interface {
                    self.add_extra_address(&want.interface, v);
                }
            }
            for r in want.routes.iter().filter(|r| !have.routes.contains(r)) {
                self.add_route(r);
            }
            if !want.is_empty() {
                self.installed.insert(name, want);
            }
        }
    }

    /// Make the macvlans those of `plan` (start-up and reload): new ones created, changed ones
    /// re-created, unused ones deleted; then the instance-id index is rebuilt.
    fn set_vmacs(&mut self, plan: HashMap<String, VmacSpec>) {
        let stale: Vec<String> = self
            .vmacs
            .iter()
            .filter(|(inst, m)| plan.get(*inst) != Some(&m.spec))
            .map(|(inst, _)| inst.clone())
            .collect();
        for inst in stale {
            self.remove_vmac(&inst);
        }
        for (inst, spec) in plan {
            if !self.vmacs.contains_key(&inst) {
                self.create_vmac(&inst, spec);
            }
        }
        self.vmac_ids = self
            .engine
            .instances()
            .filter(|v| self.vmacs.contains_key(v.name()))
            .map(|v| (v.id(), v.name().to_string()))
            .collect();
    }

    fn create_vmac(&mut self, inst: &str, spec: VmacSpec) {
        let Some(base) = sys::if_nametoindex(&spec.base) else {
            warn!(
                "({inst}) use_vmac: no interface {}; adverts use the parent's MAC",
                spec.base
            );
            return;
        };
        if let Some(old) = sys::if_nametoindex(&spec.name) {
            // Left by a run that did not stop cleanly (its addresses go with it).
            if let Ok(true) = self.rtnl.del_link(old) {
                info!("({inst}) removed {}: present before start", spec.name);
            }
        }
        let index = match self.rtnl.add_macvlan(&spec.name, base, spec.mac) {
            Ok(i) => i,
            Err(e) => {
                error!("({inst}) cannot create macvlan {}: {e}", spec.name);
                return;
            }
        };
        vmac::configure_vmac(&spec.name);
        // Two routers' macvlans share the virtual MAC: IPv6 on it (an EUI-64 link-local, DAD,
        // router solicitations) would send from that MAC on every router. For an IPv4
        // instance it is off, as keepalived does, unless an excluded IPv6 address needs it; an
        // IPv6 instance gets no generated address, only its parent's link-local (below).
        let v6 = spec.family == Family::V6
            || self
                .extras
                .get(inst)
                .is_some_and(|e| e.excluded.iter().any(|v| v.addr.is_ipv6()));
        let r = if v6 {
            vmac::set_ipv6_no_generated_address(&spec.name)
        } else {
            vmac::set_ipv6_disabled(&spec.name)
        };
        if let Err(e) = r {
            warn!("({inst}) {}: cannot set its IPv6 mode: {e}", spec.name);
        }
        if let Err(e) = self.rtnl.set_link_up(index) {
            error!("({inst}) cannot bring {} up: {e}", spec.name);
        }
        if spec.family == Family::V6 {
            // Adverts leave the macvlan from the parent's link-local address (the engine's
            // source): the kernel sends from a link-local address only on an interface that
            // has it.
            let ll = self
                .ifaces
                .iter()
                .find(|f| f.name == spec.base)
                .and_then(|f| netlink::link_local_v6(&f.addrs));
            match ll {
                Some(a) => {
                    let v = VirtualAddress {
                        prefix_len: 64,
                        scope: Some("link".into()),
                        ..VirtualAddress::new(a)
                    };
                    if let Err(e) = self.rtnl.add_address(index, &v) {
                        warn!("({inst}) cannot put {a} on {}: {e}", spec.name);
                    }
                }
                None => warn!(
                    "({inst}) {} has no link-local address for {}",
                    spec.base, spec.name
                ),
            }
        } else {
            self.vmac_sysctls.hold(&spec.base);
        }
        self.vmac_serial += 1;
        let token = TOKEN_VMAC_BASE + self.vmac_serial;
        let sock = if spec.xmit_base {
            None
        } else {
            match VrrpSocket::open(spec.family, &spec.name, index) {
                Ok(s) => {
                    if let Err(e) = self.ep.add(s.raw_fd(), token) {
                        error!("({inst}) {}: cannot watch its socket: {e}", spec.name);
                    }
                    Some(s)
                }
                Err(e) => {
                    error!("({inst}) {}: cannot open a VRRP socket: {e}", spec.name);
                    None
                }
            }
        };
        info!(
            "({inst}) macvlan {} on {} with MAC {}",
            spec.name,
            spec.base,
            spec.mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        );
        self.vmacs.insert(
            inst.to_string(),
            Vmac {
                spec,
                index,
                sock,
                token,
            },
        );
    }

    fn remove_vmac(&mut self, inst: &str) {
        let Some(m) = self.vmacs.remove(inst) else {
            return;
        };
        if let Some(s) = m.sock {
            let _ = self.ep.delete(s.raw_fd());
        }
        match self.rtnl.del_link(m.index) {
            Ok(_) => info!("({inst}) removed macvlan {}", m.spec.name),
            Err(e) => warn!("({inst}) cannot remove macvlan {}: {e}", m.spec.name),
        }
        if !self
            .vmacs
            .values()
            .any(|o| o.spec.base == m.spec.base && o.spec.family == Family::V4)
        {
            self.vmac_sysctls.release(&m.spec.base);
        }
    }

    /// systemd's one-line status: how many instances, how many MASTER.
    fn status_line(&self) -> String {
        let total = self.engine.instances().count();
        let masters = self
            .engine
            .instances()
            .filter(|v| v.state() == vigil_engine::State::Master)
            .count();
        format!("{total} instance(s), {masters} MASTER")
    }

    /// SIGHUP: read the configuration again and hand it to [`Engine::reload`]. A configuration
    /// that does not parse, convert or set up is refused with its errors logged, and the
    /// running one is left exactly as it was.
    fn reload(&mut self, src: &ConfigSource<'_>) {
        let _ = sd_notify::reloading();
        info!("SIGHUP: reloading {}", src.path);
        match self.try_reload(src) {
            Ok(()) => info!(
                "reloaded: {} instance(s) on {} interface(s)",
                self.engine.instances().count(),
                self.ifaces.len()
            ),
            Err(why) => error!("reload refused ({why}): the running configuration is kept"),
        }
        if let Err(e) = sd_notify::ready(&self.status_line()) {
            warn!("sd_notify: {e}");
        }
    }

    fn try_reload(&mut self, src: &ConfigSource<'_>) -> Result<(), String> {
        let loaded = load(src).ok_or("configuration errors")?;
        let mut vips: HashSet<IpAddr> = loaded.engine.virtual_addresses().collect();
        vips.extend(
            loaded
                .extras
                .iter()
                .flat_map(|(_, e)| e.excluded.iter().map(|v| v.addr)),
        );
        // The engine may give the routers that stop ids that the new configuration reuses:
        // their names are taken now.
        let old_names: Vec<(vigil_engine::InstanceId, String, u8)> = self
            .engine
            .instances()
            .map(|v| (v.id(), v.name().to_string(), v.priority()))
            .collect();
        // Where each MASTER's addresses are now (its macvlan, or its interface): a reload that
        // adds or removes its `use_vmac` moves them (below).
        let old_homes: Vec<(String, String, Vec<VirtualAddress>)> = self
            .engine
            .instances()
            .filter(|v| v.state() == vigil_engine::State::Master)
            .map(|v| {
                let home = match self.vmacs.get(v.name()) {
                    Some(m) => m.spec.name.clone(),
                    None => v.config().interface.clone(),
                };
                (
                    v.name().to_string(),
                    home,
                    v.config().virtual_addresses.clone(),
                )
            })
            .collect();
        let now = self.clock.now();
        let stopped = self
            .engine
            .reload_returning_stopped(now, loaded.engine)
            .map_err(|e| e.to_string())?;
        match self.checkers.as_mut() {
            Some(c) => c.reload(now, &loaded.cfg),
            None => match crate::checker::CheckerRunner::new(&loaded.cfg, Some(&self.pid_file)) {
                Ok(c) => {
                    self.set_checkers(c);
                    self.checkers.iter_mut().for_each(|c| c.start(now));
                }
                Err(e) => error!("cannot start the health checkers: {e}"),
            },
        }
        // 1. The routers that stop (removed, or changed beyond being the same router), against
        //    the old interface table: priority 0, addresses removed.
        for a in stopped {
            match a {
                Action::StateChange {
                    instance,
                    from,
                    to,
                    priority,
                    reason,
                } => {
                    let name = old_names
                        .iter()
                        .find(|(id, _, _)| *id == instance)
                        .map_or("?", |(_, n, _)| n.as_str());
                    info!("({name}) {from} -> {to}: {reason} (priority {priority}), not in the new configuration");
                    if from == vigil_engine::State::Master {
                        let name = name.to_string();
                        self.uninstall_extras(&name);
                    }
                    // keepalived reports a router removed by a reload as FAULT, or DELETED
                    // with `notify_deleted`: never as a STOP of the running daemon.
                    if let Some(op) = self.operator.as_mut() {
                        op.on_deleted(name, priority);
                    }
                }
                other => self.act(other),
            }
        }
        self.flush_adverts();
        // 2. The operator side of the new configuration (notify programs, FIFOs, e-mail),
        //    before the new configuration's first action; queued notifications still run in
        //    order, the status socket stays. Instances whose name is gone are reported deleted.
        if let Some(op) = self.operator.as_mut() {
            for (_, name, priority) in &old_names {
                if self.engine.instance_id(name).is_none() {
                    op.on_deleted(name, *priority);
                }
            }
            op.reload(&loaded.cfg);
        }
        // 3. Interfaces by name: sockets of those still used kept, new ones opened.
        self.vips = vips;
        self.extras = loaded.extras.into_iter().collect();
        if let Some(s) = loaded.statics {
            self.extras.insert(STATICS.to_string(), s);
        }
        self.set_vmacs(loaded.vmacs);
        self.move_addresses_home(&old_homes);
        self.rebuild_interfaces();
        if let Err(e) = self.resync() {
            error!("cannot re-read interfaces: {e}");
        }
        // 4. Check programs and tracked files of the new configuration. An unchanged check
        //    keeps its schedule and its run under way, watched again under its new index.
        for (idx, fd) in self.checks.reload(&loaded.cfg, now) {
            let _ = self.ep.delete(fd);
            if let Err(e) = self.ep.add(fd, TOKEN_CHECK_BASE + idx as u64) {
                warn!("cannot watch a check program: {e}");
            }
        }
        if let Some(fd) = self.track_files.raw_fd() {
            let _ = self.ep.delete(fd);
        }
        self.track_files = TrackFiles::new(&loaded.cfg);
        if let Some(fd) = self.track_files.raw_fd() {
            if let Err(e) = self.ep.add(fd, TOKEN_TRACK_FILES) {
                warn!("cannot watch tracked files: {e}");
            }
        }
        // 5. What the reload asks (address differences of kept masters, new routers starting),
        //    then the facts of new interfaces and the files' values.
        self.drain();
        self.reconcile_extras();
        if let Err(e) = self.resync() {
            error!("cannot re-read interfaces: {e}");
        }
        self.report_interfaces();
        for (file, value) in self.track_files.all() {
            self.engine
                .handle_input(self.clock.now(), Input::TrackFile { file, value });
            self.drain();
        }
        self.run_checks();
        Ok(())
    }

    /// After a reload: a MASTER whose addresses' interface changed (`use_vmac` added or
    /// removed) gets them on the new one; the engine's own address differences then apply
    /// there. Addresses with their own `dev` stay where they are.
    fn move_addresses_home(&mut self, old_homes: &[(String, String, Vec<VirtualAddress>)]) {
        for (name, old_home, vips) in old_homes {
            let Some(v) = self
                .engine
                .instance_id(name)
                .and_then(|id| self.engine.instance(id))
            else {
                continue;
            };
            if v.state() != vigil_engine::State::Master {
                continue;
            }
            let new_home = match self.vmacs.get(name) {
                Some(m) => m.spec.name.clone(),
                None => v.config().interface.clone(),
            };
            if &new_home == old_home {
                continue;
            }
            let router = v.config().announce.na_router_flag;
            info!("({name}) addresses move from {old_home} to {new_home}");
            for a in vips.iter().filter(|a| a.dev.is_none()) {
                match self.target_on(old_home, a) {
                    Some((dev, idx)) => self.remove_address_at(dev, idx, a),
                    // A macvlan deleted by the reload took its addresses with it.
                    None => self.addrs.remove(&Recorded {
                        ifname: old_home.clone(),
                        addr: a.addr,
                        prefix_len: a.prefix_len,
                    }),
                }
                if let Some((dev, idx)) = self.target_on(&new_home, a) {
                    self.add_address_at(dev.clone(), idx, a);
                    self.announce_at(dev, idx, a, router);
                }
            }
        }
    }

    /// After a reload: the interface table in the new engine's order, by name. Interfaces
    /// still used keep their sockets (watched again under their new positions), new ones are
    /// looked up by the next [`Daemon::resync`], unused ones are closed.
    fn rebuild_interfaces(&mut self) {
        // Interface ids may change: what the queues held back is told again on the next read.
        self.rx_queues.clear();
        let mut old = std::mem::take(&mut self.ifaces);
        for f in &old {
            for s in f.socks.iter().flatten() {
                let _ = self.ep.delete(s.raw_fd());
            }
        }
        let mut ifaces: Vec<Iface> = self
            .engine
            .interfaces()
            .map(|(_, name)| match old.iter().position(|f| f.name == name) {
                Some(p) => {
                    let mut f = old.swap_remove(p);
                    f.families = [false; 2];
                    f
                }
                None => Iface::named(name),
            })
            .collect();
        for f in old {
            if f.socks.iter().any(Option::is_some) {
                info!("{}: no longer used, sockets closed", f.name);
            }
        }
        for v in self.engine.instances() {
            if let Some(f) = ifaces.get_mut(usize::from(v.iface().0)) {
                f.families[fam_idx(v.config().family)] = true;
            }
        }
        for (i, f) in ifaces.iter_mut().enumerate() {
            for fam in [Family::V4, Family::V6] {
                let k = fam_idx(fam);
                if !f.families[k] {
                    if f.socks[k].take().is_some() {
                        info!("{}: {fam} socket closed (no instance left)", f.name);
                    }
                    f.told_primary[k] = None;
                    continue;
                }
                match (&f.socks[k], f.index) {
                    (Some(s), _) => {
                        if let Err(e) = self.ep.add(s.raw_fd(), socket_token(i, fam)) {
                            error!("{}: cannot watch the {fam} socket: {e}", f.name);
                        }
                    }
                    (None, Some(index)) => {
                        f.socks[k] = open_socket(&self.ep, &f.name, index, i, fam);
                    }
                    (None, None) => {}
                }
            }
        }
        self.ifaces = ifaces;
    }

    /// Start due check runs, kill overdue ones, report what is known at once.
    fn run_checks(&mut self) {
        if self.checks.is_empty() {
            return;
        }
        let now = self.clock.now();
        let (started, done) = self.checks.on_time(now);
        for (idx, fd) in started {
            if let Err(e) = self.ep.add(fd, TOKEN_CHECK_BASE + idx as u64) {
                error!("cannot watch a check program: {e}");
            }
        }
        for f in done {
            self.check_result(now, f.script, f.result, f.ran_for);
        }
    }

    fn check_result(
        &mut self,
        now: vigil_engine::Instant,
        script: vigil_engine::io::ScriptId,
        result: CheckResult,
        ran_for: core::time::Duration,
    ) {
        self.engine.handle_input(
            now,
            Input::Check {
                script,
                result,
                ran_for,
            },
        );
        self.drain();
    }

    fn on_netlink(&mut self) {
        match self.events.read() {
            Ok(evs) => {
                for ev in evs {
                    self.apply(ev);
                }
            }
            Err(e) => {
                warn!("netlink events lost ({e}): re-reading interfaces");
                if let Err(e) = self.resync() {
                    error!("cannot re-read interfaces: {e}");
                }
            }
        }
        self.report_interfaces();
    }

    fn apply(&mut self, ev: Event) {
        match ev {
            Event::NewLink(l) => {
                if let Some(i) = self.ifaces.iter().position(|f| f.name == l.name) {
                    let fresh = self.ifaces[i].index != Some(l.index);
                    self.link_present(i, &l);
                    if fresh {
                        // A new interface: its addresses come as events too, but read them now
                        // so the first report is complete.
                        if let Ok(all) = self.rtnl.addrs() {
                            self.ifaces[i].addrs = all
                                .into_iter()
                                .filter(|a| a.index == l.index && !self.vips.contains(&a.addr))
                                .collect();
                        }
                    }
                } else if let Some(i) = self.ifaces.iter().position(|f| f.index == Some(l.index)) {
                    // Renamed away from the configured name.
                    self.link_gone(i);
                }
            }
            Event::DelLink(index) => {
                if let Some(i) = self.ifaces.iter().position(|f| f.index == Some(index)) {
                    self.link_gone(i);
                }
            }
            Event::NewAddr(a) | Event::DelAddr(a) if self.vips.contains(&a.addr) => {}
            Event::NewAddr(a) => {
                if let Some(f) = self.ifaces.iter_mut().find(|f| f.index == Some(a.index)) {
                    match f.addrs.iter_mut().find(|x| x.addr == a.addr) {
                        Some(x) => *x = a,
                        None => f.addrs.push(a),
                    }
                }
            }
            Event::DelAddr(a) => {
                if let Some(f) = self.ifaces.iter_mut().find(|f| f.index == Some(a.index)) {
                    f.addrs.retain(|x| x.addr != a.addr);
                }
            }
        }
    }

    /// Read and feed what socket `k` of interface `i` holds (up to `rounds` batches); returns
    /// how many adverts.
    fn on_socket(&mut self, i: usize, k: usize, rounds: usize) -> usize {
        let Some(sock) = self.ifaces.get(i).and_then(|f| f.socks[k].as_ref()) else {
            return 0;
        };
        let (fd, family) = (sock.raw_fd(), sock.family());
        // Multicast adverts of a VRID that runs on a macvlan here are read on the macvlan (see
        // `on_vmac_socket`); the copy that also reaches the parent is not fed twice.
        let skip: Vec<u8> = self
            .vmacs
            .values()
            .filter(|m| {
                m.sock.is_some() && m.spec.base == self.ifaces[i].name && m.spec.family == family
            })
            .map(|m| m.spec.vrid)
            .collect();
        self.read_socket(fd, family, IfaceId(i as u16), rounds, |dst, vrid| {
            !(dst.is_multicast() && skip.contains(&vrid))
        })
    }

    /// Read and feed what the socket of the macvlan with epoll token `token` holds: the
    /// adverts of its VRID (a frame from a peer's macvlan carries our macvlan's MAC as its
    /// source, and the kernel hands it to our macvlan only, not to the parent), fed as
    /// received on the parent interface, where the engine runs the instance.
    fn on_vmac_socket(&mut self, token: u64, rounds: usize) -> usize {
        let Some(m) = self.vmacs.values().find(|m| m.token == token) else {
            return 0;
        };
        let Some(sock) = m.sock.as_ref() else {
            return 0;
        };
        let (fd, family, vrid) = (sock.raw_fd(), sock.family(), m.spec.vrid);
        let Some(iface) = self.engine.interface_id(&m.spec.base) else {
            return 0;
        };
        self.read_socket(fd, family, iface, rounds, |_, v| v == vrid)
    }

    /// Read socket `fd` (up to `rounds` batches) and feed the engine every advert that
    /// `keep(destination, VRID)` accepts, as received on `iface`; returns how many were read.
    /// What the socket dropped, and whether it was left with adverts queued, is noted for
    /// `Input::ReceiveQueue`.
    ///
    /// The actions of each advert are carried out before the next advert is fed (an address
    /// removal is not held back behind the rest of the batch), but the address record is
    /// written once, after the batch: rewriting it (a file and a rename, 0.1-0.6 ms on a loaded
    /// machine) after every advert put that write between one instance's address removal and
    /// the next when a returning master's burst took many instances back to BACKUP (issue 18).
    fn read_socket(
        &mut self,
        fd: std::os::fd::RawFd,
        family: Family,
        iface: IfaceId,
        rounds: usize,
        keep: impl Fn(IpAddr, u8) -> bool,
    ) -> usize {
        let total = self.read_socket_batches(fd, family, iface, rounds, keep);
        self.flush_record();
        total
    }

    /// [`Self::read_socket`] without writing the address record.
    fn read_socket_batches(
        &mut self,
        fd: std::os::fd::RawFd,
        family: Family,
        iface: IfaceId,
        rounds: usize,
        keep: impl Fn(IpAddr, u8) -> bool,
    ) -> usize {
        let mut total = 0;
        for round in 0..rounds {
            let n = match self.rxb.recv(fd, family) {
                Ok(n) => n,
                Err(e) => {
                    debug!("receive error on socket {fd}: {e}");
                    return total;
                }
            };
            total += n;
            if let Some(count) = self.rxb.dropped {
                let seen = self.rx_dropped.insert(fd, count).unwrap_or(0);
                // A reopened socket (same descriptor) starts again from 0.
                let lost = if count >= seen { count - seen } else { count };
                let q = self.rx_queues.entry(iface).or_default();
                q.lost = q.lost.saturating_add(lost);
            }
            if n == batch::RECV_BATCH && round + 1 == rounds {
                self.rx_queues.entry(iface).or_default().pending = true;
            }
            for j in 0..self.rxb.out.len() {
                let dg = self.rxb.out[j];
                // Demultiplex on the VRID (every VRRP version has it at the same place);
                // anything shorter goes to the engine to be dropped.
                let vrid = vigil_engine::wire::peek_vrid(&self.rxb.buf()[dg.start..dg.end]);
                if vrid.is_some_and(|v| !keep(dg.dst, v)) {
                    continue;
                }
                let now = match dg.stamp {
                    Some((sec, nsec)) => self.clock.at(sys::monotonic_of_realtime(sec, nsec)),
                    None => self.clock.now(),
                };
                self.engine.handle_input(
                    now,
                    Input::Packet(Received {
                        iface,
                        src: dg.src,
                        dst: dg.dst,
                        ttl: dg.ttl,
                        payload: &self.rxb.buf()[dg.start..dg.end],
                    }),
                );
                self.drain_actions();
            }
            if n < batch::RECV_BATCH {
                return total;
            }
        }
        total
    }

    /// Read every VRRP socket until it is empty (up to [`DRAIN_ROUNDS`] batches each), then tell
    /// the engine what the queues held back ([`Input::ReceiveQueue`]): called before every
    /// [`Engine::handle_timeout`], so that no Master_Down_Timer is served while an advert that
    /// would restart it waits unread (each advert carries its kernel arrival time, so reading it
    /// late moves no timer), and the engine knows about adverts the sockets dropped. One
    /// `recvmmsg` per socket when they are empty, which they nearly always are.
    fn read_before_deciding(&mut self) {
        for q in self.rx_queues.values_mut() {
            q.pending = false;
        }
        for i in 0..self.ifaces.len() {
            for k in 0..2 {
                if self.ifaces[i].socks[k].is_some() {
                    self.on_socket(i, k, DRAIN_ROUNDS);
                }
            }
        }
        let tokens: Vec<u64> = self
            .vmacs
            .values()
            .filter(|m| m.sock.is_some())
            .map(|m| m.token)
            .collect();
        for t in tokens {
            self.on_vmac_socket(t, DRAIN_ROUNDS);
        }
        let now = self.clock.now();
        let mut told = Vec::new();
        for (&iface, q) in self.rx_queues.iter_mut() {
            if q.lost > 0 || q.pending != q.told_pending {
                told.push((iface, q.pending, q.lost));
                q.told_pending = q.pending;
                q.lost = 0;
            }
        }
        // The engine counts the losses and says when to log them (Notice::ReceiveQueueDropped).
        for (iface, pending, lost) in told {
            self.engine.handle_input(
                now,
                Input::ReceiveQueue {
                    iface,
                    pending,
                    lost,
                },
            );
            self.drain();
        }
    }

    /// Carry out every queued action, in order, and write the address record if it changed.
    fn drain(&mut self) {
        self.drain_actions();
        self.flush_record();
    }

    /// Carry out every queued action, in order (the address record is left for
    /// [`Self::flush_record`]).
    fn drain_actions(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            // Adverts wait for one sendmmsg, but never behind a later action.
            if !matches!(a, Action::SendAdvert(_)) {
                self.flush_adverts();
            }
            if let Some(op) = self.operator.as_mut() {
                op.on_action(&self.engine, &a);
            }
            self.act(a);
        }
        self.flush_adverts();
    }

    /// Write the address record if it changed.
    fn flush_record(&mut self) {
        if let Err(e) = self.addrs.flush() {
            warn!("cannot write {}: {e}", self.addrs.path().display());
        }
    }

    /// Send the queued adverts (one `sendmmsg` per socket); failures are logged at most once a
    /// second.
    fn flush_adverts(&mut self) {
        if self.txb.is_empty() {
            return;
        }
        for f in self.txb.flush() {
            let now = sys::now();
            let quiet = self.last_send_warning.is_some_and(|t| {
                now.saturating_duration_since(t) < core::time::Duration::from_secs(1)
            });
            if !quiet {
                warn!("cannot send advert to {}: {}", f.dst, f.error);
                self.last_send_warning = Some(now);
            }
        }
    }

    fn instance_name(&self, id: vigil_engine::InstanceId) -> String {
        self.engine
            .instance(id)
            .map(|v| v.name().to_string())
            .unwrap_or_else(|| format!("#{}", id.0))
    }

    fn act(&mut self, a: Action) {
        match a {
            Action::SendAdvert(s) => {
                let i = usize::from(s.iface.0);
                let k = fam_idx(Family::of(&s.src));
                let vmac = self.vmac_of(s.instance).and_then(|m| m.sock.as_ref());
                let Some(sock) =
                    vmac.or_else(|| self.ifaces.get(i).and_then(|f| f.socks[k].as_ref()))
                else {
                    return;
                };
                let (fd, ifindex) = (sock.raw_fd(), sock.ifindex());
                for &dst in s.destinations() {
                    self.txb
                        .push(fd, ifindex, s.src, dst, MAX_ADVERT_LEN, |buf| {
                            s.encode(dst, buf)
                                .map_err(|e| error!("cannot encode an advert: {e:?}"))
                                .ok()
                        });
                }
                debug!(
                    "advert vrid {} prio {} from {} to {:?}",
                    s.vrid, s.priority, s.src, s.dst
                );
            }
            Action::AddAddresses {
                instance,
                iface,
                addrs,
            } => {
                for v in addrs.iter() {
                    self.add_address(instance, iface, v);
                }
            }
            Action::RemoveAddresses {
                instance,
                iface,
                addrs,
            } => {
                for v in addrs.iter() {
                    self.remove_address(instance, iface, v);
                }
            }
            Action::Announce {
                instance,
                iface,
                addrs,
            } => {
                // RFC 5798's Router flag on unsolicited NAs unless the configuration asks for
                // keepalived's Override-only frames.
                let router = self
                    .engine
                    .instance(instance)
                    .is_none_or(|v| v.config().announce.na_router_flag);
                for v in addrs.iter() {
                    self.announce(instance, iface, v, router);
                }
                // The excluded addresses are announced with the others (keepalived).
                let name = self.instance_name(instance);
                if let Some(e) = self.installed.get(&name).cloned() {
                    for v in &e.excluded {
                        if let Some((dev, idx)) = self.target_on(&e.interface, v) {
                            self.announce_at(dev, idx, v, router);
                        }
                    }
                }
            }
            Action::StateChange {
                instance,
                from,
                to,
                priority,
                reason,
            } => {
                let name = self.instance_name(instance);
                info!("({name}) {from} -> {to}: {reason} (priority {priority})");
                if from == vigil_engine::State::Master {
                    self.uninstall_extras(&name);
                }
                if to == vigil_engine::State::Master {
                    self.install_extras(&name);
                }
            }
            Action::ProtocolError {
                iface,
                instance,
                src,
                rule,
            } => {
                debug!(
                    "dropped advert from {src} on {}{}: {}",
                    self.ifaces
                        .get(usize::from(iface.0))
                        .map(|f| f.name.as_str())
                        .unwrap_or("?"),
                    instance
                        .map(|i| format!(" ({})", self.instance_name(i)))
                        .unwrap_or_default(),
                    rule.name()
                );
            }
            Action::Notice(n) => {
                let instance = |i: Option<vigil_engine::InstanceId>| {
                    i.map(|i| format!("({}) ", self.instance_name(i)))
                        .unwrap_or_default()
                };
                let held = |n: u64| {
                    if n > 0 {
                        format!(" ({n} more since the last such warning)")
                    } else {
                        String::new()
                    }
                };
                match n {
                    vigil_engine::Notice::AdvertDropped {
                        iface,
                        instance: i,
                        src,
                        rule,
                        held_back,
                    } => warn!(
                        "{}dropped advert from {src} on {}: {}{}",
                        instance(i),
                        self.ifaces
                            .get(usize::from(iface.0))
                            .map(|f| f.name.as_str())
                            .unwrap_or("?"),
                        rule.name(),
                        held(held_back)
                    ),
                    vigil_engine::Notice::IntervalDiffers {
                        instance: i,
                        src,
                        theirs,
                        ours,
                        held_back,
                    } => warn!(
                        "{}{src} advertises every {theirs:?}, our advert_int is {ours:?}: the \
                         routers' configurations differ{}",
                        instance(Some(i)),
                        held(held_back)
                    ),
                    vigil_engine::Notice::OwnerConflict {
                        instance: i,
                        src,
                        other,
                        held_back,
                    } => warn!(
                        "{}{src} advertises priority 255 (address owner), and so does {}: only \
                         one router may own the addresses{}",
                        instance(Some(i)),
                        other.map_or("this router".to_string(), |o| o.to_string()),
                        held(held_back)
                    ),
                    vigil_engine::Notice::OwnerAddressListDiffers {
                        instance: i,
                        src,
                        held_back,
                    } => warn!(
                        "{}the address owner {src} advertises other addresses than ours: \
                         its adverts are kept, the configurations differ{}",
                        instance(Some(i)),
                        held(held_back)
                    ),
                    vigil_engine::Notice::ReceiveQueueDropped {
                        iface,
                        lost,
                        held_back,
                    } => warn!(
                        "{}: the VRRP socket dropped {lost} packet(s): its receive buffer was                          full (Master_Down_Timers due meanwhile wait one more advert interval){}",
                        self.engine.interface_name(iface).unwrap_or("?"),
                        held(held_back)
                    ),
                    other => warn!("{other:?}"),
                }
            }
            other => debug!("action not carried out by this runner: {other:?}"),
        }
    }

    /// The interface a virtual address goes on: its `dev`, else the instance's macvlan
    /// (`use_vmac`), else the instance's interface.
    fn target(
        &self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) -> Option<(String, u32)> {
        if let Some(m) = self.vmac_of(instance) {
            let name = m.spec.name.clone();
            return self.target_on(&name, v);
        }
        let default = &self.ifaces.get(usize::from(iface.0))?.name;
        self.target_on(default, v)
    }

    /// The macvlan of instance `id` (ids as of the engine's last configuration change).
    fn vmac_of(&self, id: vigil_engine::InstanceId) -> Option<&Vmac> {
        let (_, name) = self.vmac_ids.iter().find(|(i, _)| *i == id)?;
        self.vmacs.get(name)
    }

    /// The interface a virtual address goes on: its `dev`, else `default`.
    fn target_on(&self, default: &str, v: &VirtualAddress) -> Option<(String, u32)> {
        let name = v.dev.clone().unwrap_or_else(|| default.to_string());
        let idx = self
            .ifaces
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.index)
            .or_else(|| sys::if_nametoindex(&name))?;
        Some((name, idx))
    }

    fn add_address(
        &mut self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) {
        let Some((name, idx)) = self.target(instance, iface, v) else {
            warn!("cannot add {}: interface missing", v.addr);
            return;
        };
        self.add_address_at(name, idx, v);
    }

    fn add_address_at(&mut self, name: String, idx: u32, v: &VirtualAddress) {
        let rec = Recorded {
            ifname: name.clone(),
            addr: v.addr,
            prefix_len: v.prefix_len,
        };
        match self.rtnl.add_address(idx, v) {
            Ok(true) => {
                self.addrs.add(rec);
                info!("added {}/{} on {name}", v.addr, v.prefix_len);
            }
            Ok(false) => info!("{}/{} already on {name}", v.addr, v.prefix_len),
            Err(e) => error!("cannot add {}/{} on {name}: {e}", v.addr, v.prefix_len),
        }
    }

    fn remove_address(
        &mut self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
    ) {
        let Some((name, idx)) = self.target(instance, iface, v) else {
            return;
        };
        self.remove_address_at(name, idx, v);
    }

    fn remove_address_at(&mut self, name: String, idx: u32, v: &VirtualAddress) {
        match self.rtnl.del_address(idx, v.addr, v.prefix_len) {
            Ok(true) => info!("removed {}/{} from {name}", v.addr, v.prefix_len),
            Ok(false) => debug!("{}/{} was not on {name}", v.addr, v.prefix_len),
            Err(e) => error!("cannot remove {}/{} from {name}: {e}", v.addr, v.prefix_len),
        }
        let rec = Recorded {
            ifname: name,
            addr: v.addr,
            prefix_len: v.prefix_len,
        };
        self.addrs.remove(&rec);
    }

    fn announce(
        &mut self,
        instance: vigil_engine::InstanceId,
        iface: IfaceId,
        v: &VirtualAddress,
        router: bool,
    ) {
        let Some((name, idx)) = self.target(instance, iface, v) else {
            return;
        };
        self.announce_at(name, idx, v, router);
    }

    fn announce_at(&mut self, name: String, idx: u32, v: &VirtualAddress, router: bool) {
        let mac = self
            .ifaces
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.mac)
            .or_else(|| {
                self.vmacs
                    .values()
                    .find(|m| m.spec.name == name)
                    .map(|m| m.spec.mac)
            })
            .or_else(|| read_mac(&name));
        let Some(mac) = mac else {
            debug!("{name}: no MAC address, not announcing {}", v.addr);
            return;
        };
        let r = match v.addr {
            IpAddr::V4(a) => self.announcer.garp(idx, mac, a),
            IpAddr::V6(a) => self.announcer.una(idx, mac, a, router),
        };
        if let Err(e) = r {
            debug!("{name}: cannot announce {}: {e}", v.addr);
        }
    }

    /// Graceful stop: priority-0 adverts and address removal come from the engine's shutdown;
    /// whatever is still recorded is removed too; then the files go.
    fn stop(&mut self, code: i32) -> i32 {
        let _ = sd_notify::stopping();
        self.checks.kill_all();
        if let Some(c) = self.checkers.as_mut() {
            c.shutdown(self.clock.now());
        }
        self.engine.handle_input(self.clock.now(), Input::Shutdown);
        self.drain();
        self.uninstall_extras(STATICS);
        let left: Vec<Recorded> = self.addrs.recorded().cloned().collect();
        for r in &left {
            if let Some(idx) = sys::if_nametoindex(&r.ifname) {
                let _ = self.rtnl.del_address(idx, r.addr, r.prefix_len);
            }
            self.addrs.remove(r);
        }
        self.addrs.delete_file();
        let all: Vec<String> = self.vmacs.keys().cloned().collect();
        for inst in all {
            self.remove_vmac(&inst);
        }
        if let Some(op) = self.operator.take() {
            op.shutdown(NOTIFY_GRACE);
        }
        let _ = std::fs::remove_file(&self.pid_file);
        info!("stopped");
        code
    }
}

/// An interface's MAC address from sysfs (interfaces that no instance runs on but a `dev`
/// names).
fn read_mac(name: &str) -> Option<[u8; 6]> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    let mut out = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in out.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}
