// Long: the Daemon type, its start-up and the event loop; actions, interfaces, receive and reload are in sibling files.
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
use vigil_engine::setup::{VirtualRoute, VirtualRule};
use vigil_engine::wire::Family;
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, Instant, Received, VirtualAddress,
};

use crate::addr_state::{self, AddrState, Recorded};
use crate::announce::Announcer;
use crate::batch::{self, RecvBatch, SendBatch};
use crate::checks::Checks;
use crate::load::Loaded;
use crate::netlink::{self, Addr, Event, Link, Rtnl, RtnlEvents};
use crate::operator::{sd_notify, Operator, OperatorOptions};
use crate::routes::{self, Statics};
use crate::sys::{self, Epoll, SignalFd, TimerFd};
use crate::track_files::TrackFiles;
use crate::track_process::TrackProcesses;
use crate::vmac::{self, BaseSysctls, VmacSpec};
use crate::vrrp_socket::VrrpSocket;

mod act;
mod extras;
mod ifaces;
mod local_igmp;
mod lvs_sync;
mod promote;
mod realtime;
mod receive;
mod reload;
mod vmacs;

use self::ifaces::read_mac;
use self::reload::load;

/// keepalived's exit code for a configuration it cannot run.
pub const EXIT_CONFIG: i32 = 5;

/// Exit code for a failure to set up the machine (sockets, netlink, files).
pub const EXIT_FATAL: i32 = 1;

const TOKEN_TIMER: u64 = 0;

const TOKEN_SIGNAL: u64 = 1;

const TOKEN_NETLINK: u64 = 2;

const TOKEN_TRACK_FILES: u64 = 3;

const TOKEN_STATUS: u64 = 4;

/// The health-checker runner's epoll (src/checker/).
const TOKEN_CHECKERS: u64 = 5;
/// The process events connector (`vrrp_track_process`).
const TOKEN_TRACK_PROCESS: u64 = 6;

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
    /// The pid file (default [`crate::pid_file::default_path`]); the address record sits
    /// beside it.
    pub pid_file: Option<PathBuf>,
    /// `-D`: log every advert and drop at debug level.
    pub log_detail: bool,
    /// `--metrics-file`: the Prometheus textfile (node_exporter textfile collector) to keep.
    pub metrics_file: Option<PathBuf>,
    /// Which halves run (`-P`: VRRP only, `-C`: health checkers only; default both).
    pub subsystems: crate::checker::Subsystems,
    /// `--packet-socket-adverts`: IPv4 multicast adverts leave from a packet socket
    /// ([`crate::vrrp_socket::VrrpSocket::link_fd`]), past netfilter's output hooks.
    pub packet_socket_adverts: bool,
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
    /// Whether it was a macvlan or ipvlan, and over which parent (by name), when first seen
    /// (`dynamic_interfaces` without `allow_if_changes`).
    first_shape: Option<(bool, Option<String>)>,
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
            first_shape: None,
        }
    }
}

/// The running daemon.
pub struct Daemon {
    engine: Engine,
    /// `--packet-socket-adverts` ([`DaemonOptions::packet_socket_adverts`]): the interfaces'
    /// IPv4 sockets get a packet socket for multicast adverts.
    packet_socket_adverts: bool,
    ep: Epoll,
    timer: TimerFd,
    signals: SignalFd,
    rtnl: Rtnl,
    events: RtnlEvents,
    announcer: Announcer,
    checks: Checks,
    track_files: TrackFiles,
    /// Tracked processes (`vrrp_track_process`): the process events connector and the counts.
    track_processes: TrackProcesses,
    /// `no_accept` / `vrrp_strict`: keepalived's nftables drop rules for non-owner masters.
    vip_firewall: crate::vip_firewall::VipFirewall,
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
    /// `static_ipaddress` / `static_routes` as installed now (removed on stop, diffed on
    /// reload).
    statics: Statics,
    /// `use_vmac` macvlans, by instance name.
    vmacs: HashMap<String, Vmac>,
    /// The instances' macvlans the configuration asks for (created when their parent exists:
    /// at start, or when it appears with `dynamic_interfaces`).
    vmac_plan: HashMap<String, VmacSpec>,
    /// The macvlans of addresses (`use_vmac_addr`, an address's `use_vmac`) the configuration
    /// asks for.
    addr_vmac_plan: Vec<vmac::AddressVmac>,
    /// The macvlans of addresses that exist now: the plan's entry and the kernel's index.
    addr_vmacs: Vec<(vmac::AddressVmac, u32)>,
    /// global_defs `dynamic_interfaces allow_if_changes`: an interface that comes back as
    /// another kind or over another parent is used (else ignored, as keepalived does).
    allow_if_changes: bool,
    /// The process settings applied at start-up ([`apply_process_settings`]): a reload that
    /// changes them is reported (they take effect at the next start).
    process: conf::ProcessSettings,
    /// Instance id -> instance name for those with a macvlan (ids of the engine's current
    /// configuration; during a reload's stopping phase, still the old ones).
    vmac_ids: Vec<(vigil_engine::InstanceId, String)>,
    /// The parents' sysctls to put back.
    vmac_sysctls: BaseSysctls,
    /// Interfaces whose `promote_secondaries` vigild turned on, to turn off at exit.
    promoted: Vec<String>,
    /// `disable_local_igmp`: the setting and whether to restore the sysctl at exit.
    local_igmp: local_igmp::LocalIgmp,
    /// Macvlans created so far (their epoll tokens).
    vmac_serial: u64,
    /// Each VRRP socket's drop counter (SO_RXQ_OVFL) as last seen, by descriptor.
    rx_dropped: HashMap<std::os::fd::RawFd, u32>,
    /// What the receive queues of each engine interface held back since the engine was last
    /// told (`Input::ReceiveQueue`), by interface id.
    rx_queues: HashMap<IfaceId, RxQueue>,
    /// The health checkers of the configuration's virtual servers (src/checker/).
    checkers: Option<crate::checker::CheckerRunner>,
    /// global_defs `shutdown_script`, run last at stop (of the configuration loaded last).
    shutdown_script: Option<crate::start_stop::StartStop>,
    /// The IPVS sync daemon that follows a VRRP instance (`lvs_sync_daemon`).
    lvs_sync: lvs_sync::LvsSync,
    /// The notices the configuration taken last logged (`reload::load`: not repeated by a
    /// reload that finds them again).
    noticed: Vec<String>,
    /// The real-time guard demoted the loop to SCHED_OTHER (RLIMIT_RTTIME's SIGXCPU): the
    /// thread's voluntary context switches then; it returns to SCHED_FIFO once they grow
    /// (realtime.rs).
    rt_demoted: Option<u64>,
    /// A SIGHUP that came less than [`reload::RELOAD_CLEARANCE`] before the engine's next
    /// deadline: that deadline, served first; the reload runs right after it (end of the
    /// loop's turn).
    reload_after: Option<Instant>,
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

/// keepalived.conf's process settings (`vrrp_priority`, `vrrp_cpu_affinity`,
/// `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_no_swap` and their `checker_` twins, one
/// loop for both), then real time ([`sys::enter_realtime`]; memory is always locked, so
/// `vrrp_no_swap` is always honoured) unless `VIGIL_NO_REALTIME` is set. At start-up only,
/// before any other thread: a reload that changes them is reported, not applied
/// (`Daemon::try_reload`). A setting the kernel refuses is logged and the
/// daemon runs on without it, as keepalived does; CPUs that are not online were refused
/// before this (`load::offline_cpus`).
fn apply_process_settings(p: &conf::ProcessSettings) {
    if let Some(n) = p.nice {
        match sys::set_nice(n) {
            Ok(()) => info!("nice value {n} (vrrp_priority)"),
            Err(e) => warn!("cannot set the nice value to {n}: {e}"),
        }
    }
    if let Some((cpus, _)) = &p.cpu_affinity {
        let list = cpus
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        match sys::set_cpu_affinity(cpus) {
            Ok(()) => info!("CPU affinity {list} (vrrp_cpu_affinity)"),
            Err(e) => warn!("unable to set the CPU affinity to {list}: {e}"),
        }
    }
    if std::env::var_os("VIGIL_NO_REALTIME").is_some() {
        info!("real-time scheduling off (VIGIL_NO_REALTIME)");
        return;
    }
    let plan = sys::Plan::of(p);
    let rt = sys::enter_realtime(plan);
    info!(
        "real-time scheduling {}, memory {}",
        if rt.realtime {
            format!(
                "on ({} {}, budget {} ms / {} ms)",
                plan.policy_name(),
                plan.priority,
                plan.soft_us / 1_000,
                plan.hard_us / 1_000
            )
        } else {
            "unavailable".to_string()
        },
        if rt.locked { "locked" } else { "not locked" }
    );
}

/// Run the daemon with options from the command line; returns the process exit code.
pub fn run(opts: &DaemonOptions, loader: &dyn SourceLoader) -> i32 {
    init_logging(opts.log_detail);
    let source = ConfigSource {
        path: opts.config_file.to_string_lossy().into_owned(),
        options: conf::ParseOptions {
            config_id: opts.config_id.clone(),
            rt_names: crate::routes::rt_names(),
            data_plane: crate::dataplane::host_backend().kind,
            // Read again at each load (start and SIGHUP: `reload::load`).
            vlan_interfaces: Vec::new(),
        },
        loader,
        subsystems: opts.subsystems,
    };
    let mut noticed = Vec::new();
    let Some(Loaded {
        cfg,
        engine,
        vmacs,
        addr_vmacs,
        statics,
    }) = load(&source, &mut noticed)
    else {
        return EXIT_CONFIG;
    };
    // The namespace vigild runs in when the configuration or -s named one (main.rs's
    // enter_namespace marks it): the pid file's and the data file's names carry it.
    let namespace = std::env::var("VIGILD_NETNS").ok();
    let pid_file = opts.pid_file.clone().unwrap_or_else(|| {
        crate::pid_file::default_path(namespace.as_deref(), cfg.global.instance_name.as_deref())
    });
    // keepalived 2.2.7 (core/main.c): the syslog tag carries the namespace and instance name.
    crate::background::set_ident(namespace.as_deref(), cfg.global.instance_name.as_deref());
    // keepalived 2.2.7 (core/main.c, keepalived_running): not a second daemon on one pid file.
    if let Some(pid) = crate::pid_file::running_vigild(&pid_file) {
        error!(
            "vigild is already running (pid {pid}, pid file {}): not starting",
            pid_file.display()
        );
        return EXIT_FATAL;
    }
    if let Err(e) = crate::pid_file::make_dir(&pid_file) {
        error!("cannot make the directory of {}: {e}", pid_file.display());
        return EXIT_FATAL;
    }
    // keepalived 2.2.7 (core/main.c): the start-up script runs before VRRP and the checkers
    // start, which they do when it ends or times out, whatever its status.
    if let Some(s) = crate::start_stop::StartStop::startup(&cfg) {
        s.run();
    }
    let shutdown_script = crate::start_stop::StartStop::shutdown(&cfg);
    // Real-time scheduling and locked memory need privileges that vigild gives up next; both
    // come before any other thread or child process, which then start confined.
    apply_process_settings(&cfg.global.process());

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
    let checks = Checks::new(&cfg);
    let track_files = TrackFiles::new(&cfg);
    let mut operator_opts = OperatorOptions::for_pid_file(&pid_file);
    operator_opts.metrics_file = opts.metrics_file.clone();
    // data_use_instance: the namespace and instance name in the data file's name (keepalived
    // 2.2.7 names the stats file without them, vrrp_print.c).
    if cfg.global.data_use_instance {
        let tmpdir = std::env::var_os("TMPDIR");
        operator_opts.data_file = crate::operator::status::dump_file_path(
            "keepalived.data",
            tmpdir.as_deref(),
            Some((namespace.as_deref(), cfg.global.instance_name.as_deref())),
        );
    }
    let operator = Operator::new(&cfg, operator_opts);
    let local_igmp = local_igmp::disable_local_igmp(cfg.global.disable_local_igmp);
    match Daemon::new(
        engine,
        checks,
        track_files,
        operator,
        &pid_file,
        opts.packet_socket_adverts,
    ) {
        Ok(mut d) => {
            d.local_igmp = local_igmp;
            match crate::checker::CheckerRunner::new(&cfg, Some(&pid_file)) {
                Ok(mut c) => {
                    if let Some(r) = c.as_mut() {
                        r.set_metrics_file(opts.metrics_file.as_deref());
                    }
                    d.set_checkers(c)
                }
                Err(e) => {
                    error!("cannot start the health checkers: {e}");
                    drop(d);
                    local_igmp::restore(local_igmp);
                    return EXIT_FATAL;
                }
            }
            d.set_track_processes(TrackProcesses::new(&cfg));
            d.lvs_sync = lvs_sync::LvsSync::new(&cfg, &d.engine);
            d.noticed = noticed;
            d.vip_firewall = crate::vip_firewall::VipFirewall::new(
                crate::vip_firewall::Settings::of(&cfg.global),
            );
            d.allow_if_changes = cfg.global.allow_if_changes;
            d.process = cfg.global.process();
            d.set_vmacs(vmacs, addr_vmacs);
            // The macvlans just made, as the engine is first told about them (an address's
            // macvlan is a link its instance follows: vigil_engine::vmac_addr::follow_macvlans).
            if let Err(e) = d.resync() {
                error!("cannot re-read interfaces: {e}");
            }
            d.remove_leftover_extras();
            d.set_statics(statics);
            d.shutdown_script = shutdown_script;
            let code = d.serve(Some(&source));
            // The VRRP sockets leave their groups when the daemon is dropped, and an IGMPv3
            // leave is a membership report: the reports go back on only after that, as in
            // keepalived (a live test saw one report for 224.0.0.18 at exit otherwise).
            drop(d);
            local_igmp::restore(local_igmp);
            code
        }
        Err(e) => {
            error!("cannot start: {e}");
            local_igmp::restore(local_igmp);
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

impl Daemon {
    /// Set up everything: pid file, the previous run's leftovers, interfaces, sockets. The
    /// engine starts in [`Daemon::run`].
    pub fn new(
        config: EngineConfig,
        checks: Checks,
        track_files: TrackFiles,
        operator: Operator,
        pid_file: &Path,
        packet_socket_adverts: bool,
    ) -> io::Result<Daemon> {
        let vips: HashSet<IpAddr> = config.virtual_addresses().collect();
        let engine = Engine::new(config)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        crate::pid_file::write(pid_file)?;
        let (addrs, left) = AddrState::open(addr_state::path_for_pid_file(pid_file));
        let mut rtnl = Rtnl::open()?;
        for r in &left {
            match sys::if_nametoindex(&r.ifname) {
                Some(idx) => match rtnl.del_address(idx, r.addr, r.prefix_len, r.peer) {
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
                    if let Ok(true) = rtnl.del_address(idx, v.addr, v.prefix_len, v.peer) {
                        info!(
                            "({}) removed {}/{} from {dev}: present before start",
                            cfg.name, v.addr, v.prefix_len
                        );
                    }
                }
            }
        }

        for inst in engine.instances() {
            let cfg = inst.config();
            if cfg.drops_vip_traffic() {
                for v in &cfg.virtual_addresses {
                    if crate::vip_firewall::link_local(&v.addr) {
                        warn!(
                            "({}) no_accept: {} is link-local: its traffic is not dropped                              (keepalived's vips_link_local sets are not implemented)",
                            cfg.name, v.addr
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
            packet_socket_adverts,
            ep,
            timer,
            signals,
            rtnl,
            events,
            announcer: Announcer::open()?,
            checks,
            track_files,
            track_processes: TrackProcesses::none(),
            vip_firewall: Default::default(),
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
            statics: Statics::default(),
            vmacs: HashMap::new(),
            vmac_plan: HashMap::new(),
            addr_vmac_plan: Vec::new(),
            addr_vmacs: Vec::new(),
            allow_if_changes: false,
            process: conf::ProcessSettings::default(),
            vmac_ids: Vec::new(),
            vmac_sysctls: BaseSysctls::default(),
            promoted: Vec::new(),
            local_igmp: local_igmp::LocalIgmp::default(),
            vmac_serial: 0,
            checkers: None,
            shutdown_script: None,
            lvs_sync: lvs_sync::LvsSync::none(),
            noticed: Vec::new(),
            rt_demoted: None,
            reload_after: None,
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

    /// Start the engine and serve until SIGTERM / SIGINT, ignoring SIGHUP; returns the exit
    /// code.
    pub fn run(&mut self) -> i32 {
        self.serve(None)
    }

    /// Start the engine and serve until SIGTERM / SIGINT, reloading `source` on SIGHUP;
    /// returns the exit code.
    // Long: the event loop with its wake-up rules (early takeover wake-up, receive coalescing) kept in one place, commented step by step.
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
        for (process, up) in self.track_processes.start(self.clock.now()) {
            self.engine
                .handle_input(self.clock.now(), Input::TrackProcess { process, up });
            self.drain();
        }
        self.promote_secondaries();
        // keepalived's vrrp_init_state: the sync daemon for the instance's state, before it runs.
        self.lvs_sync.start(&self.engine);
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
                self.track_processes.next_deadline(),
                // A held reload runs at its deadline even when the engine's has moved later
                // meanwhile (an advert reset a Master_Down_Timer): it waits no longer.
                self.reload_after,
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
            crate::handover_probe::mark(crate::handover_probe::Stage::Woke);
            self.realtime_guard();
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
                        self.kill_overdue_checks();
                        self.track_process_timers();
                    }
                    TOKEN_SIGNAL => {
                        while let Some(sig) = self.signals.read() {
                            match sig {
                                libc::SIGTERM | libc::SIGINT => {
                                    info!("signal {sig}: stopping");
                                    return self.stop(0);
                                }
                                libc::SIGUSR1 | libc::SIGUSR2 => {
                                    if let Some(op) = self.operator.as_mut() {
                                        op.on_signal(sig, &self.engine);
                                    }
                                }
                                libc::SIGHUP => match source {
                                    Some(src) => reloaded |= self.on_sighup(src),
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
                    TOKEN_TRACK_PROCESS => {
                        let changes = self.track_processes.on_readable(self.clock.now());
                        self.feed_track_processes(changes);
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
                self.kill_overdue_checks();
            }
            if let Some(c) = self.checkers.as_mut() {
                let now = self.clock.now();
                if c.next_deadline().is_some_and(|d| d <= now) {
                    c.on_wake(now);
                }
            }
            self.track_process_timers();
            // A reload held back for a close deadline: that deadline has been served above.
            if let (Some(d), Some(src)) = (self.reload_after, source) {
                if self.clock.now() >= d {
                    self.reload_after = None;
                    self.reload(src);
                }
            }
        }
    }

    /// Serve the tracked processes' delays and scans that are due.
    fn track_process_timers(&mut self) {
        let now = self.clock.now();
        if self
            .track_processes
            .next_deadline()
            .is_some_and(|d| d <= now)
        {
            let changes = self.track_processes.on_timer(now);
            self.feed_track_processes(changes);
        }
    }

    /// Tell the engine which tracked process sets went up or down.
    fn feed_track_processes(&mut self, changes: Vec<(vigil_engine::io::ProcessId, bool)>) {
        for (process, up) in changes {
            self.engine
                .handle_input(self.clock.now(), Input::TrackProcess { process, up });
            self.drain();
        }
    }

    /// Track these processes (replacing the current sets; their connector is watched).
    fn set_track_processes(&mut self, t: TrackProcesses) {
        if let Some(fd) = self.track_processes.raw_fd() {
            let _ = self.ep.delete(fd);
        }
        if let Some(fd) = t.raw_fd() {
            if let Err(e) = self.ep.add(fd, TOKEN_TRACK_PROCESS) {
                warn!("cannot watch process events: {e}");
            }
        }
        self.track_processes = t;
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

    /// Whether `d` is the engine's next deadline and the engine says it is a takeover (a
    /// backup's Master_Down_Timer).
    fn is_master_down(&mut self, d: Instant) -> bool {
        self.engine.poll_timeout() == Some(d) && self.engine.next_deadline_is_takeover()
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

    /// systemd's one-line status: how many instances, how many MASTER.
    fn status_line(&self) -> String {
        let total = self.engine.instances().count();
        let masters = self
            .engine
            .instances()
            .filter(|v| v.holds_addresses())
            .count();
        format!("{total} instance(s), {masters} MASTER")
    }

    /// Graceful stop: priority-0 adverts and address removal come from the engine's shutdown;
    /// whatever is still recorded is removed too; then the files go.
    fn stop(&mut self, code: i32) -> i32 {
        let _ = sd_notify::stopping();
        self.checks.kill_all();
        if let Some(c) = self.checkers.as_mut() {
            c.shutdown(self.clock.now());
        }
        // keepalived's vrrp_terminate_phase1: the sync daemon stops before the instances leave.
        self.lvs_sync.stop();
        self.engine.handle_input(self.clock.now(), Input::Shutdown);
        self.drain();
        self.vip_firewall.remove_all();
        self.uninstall_statics();
        let left: Vec<Recorded> = self.addrs.recorded().cloned().collect();
        for r in &left {
            if let Some(idx) = sys::if_nametoindex(&r.ifname) {
                let _ = self.rtnl.del_address(idx, r.addr, r.prefix_len, r.peer);
            }
            self.addrs.remove(r);
        }
        self.addrs.delete_file();
        self.restore_promote_secondaries();
        let all: Vec<String> = self.vmacs.keys().cloned().collect();
        for inst in all {
            self.remove_vmac(&inst);
        }
        // keepalived 2.2.7 (vrrp.c, shutdown_vrrp_instances): the macvlans of addresses go too.
        self.addr_vmac_plan.clear();
        self.set_addr_vmacs();
        if let Some(op) = self.operator.take() {
            op.shutdown(NOTIFY_GRACE);
        }
        // keepalived 2.2.7 (core/main.c): after VRRP has stopped, before the process ends.
        if let Some(s) = self.shutdown_script.take() {
            s.run();
        }
        let _ = std::fs::remove_file(&self.pid_file);
        info!("stopped");
        code
    }
}
