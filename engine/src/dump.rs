// Long: keepalived 2.2.7's dump_vrrp / dump_global_data text, line for line in keepalived's order.
//! `vigild -d` for the VRRP part: keepalived 2.2.7's `dump_data_vrrp` (`vrrp_data.c`:
//! `dump_vrrp`, `dump_sync_group`, `dump_vscript`, `dump_vprocess`, `dump_vrrp_data`; `global_data.c`:
//! `dump_global_data`; `vrrp_if.c`: `dump_garp_delay`, in `dump/garp.rs`, and `dump_if`, in
//! `dump/interfaces.rs`; `vrrp_ipaddress.c`:
//! `format_ipaddress`; `vrrp_iproute.c`: `format_iproute`; `track_file.c`: `dump_track_file`), with the same headers, field names and
//! value formats, from the *effective* configuration: the parsed file after keepalived's defaults
//! and after [`EngineConfig::from_conf`], the conversion the daemon runs, so that a default shows
//! as what Vigil will do and a tracker shows with the weight the engine applies.
//!
//! Only fields that Vigil honours are printed. What keepalived prints and this dump leaves out, on
//! purpose (the semantic differential in `tests/tests/dump_differential.rs` lists each with its
//! reason):
//! - run-time state: `Number of config faults`, `No sockets allocated`, a sync group's state and
//!   member counts, a script's `Result`, `Status`, `State`, `Insecure`, a track file's `Status`,
//!   a tracked process's `Current processes` and `Have quorum`,
//!   keepalived's `set` markers on installed addresses and routes (`vigild status` shows Vigil's);
//! - settings that Vigil refuses or notes (the keyword table, `conf/keywords.rs`, says why):
//!   `nftables_ifindex` (the line always says "don't force");
//! - keepalived's process settings that have no Vigil equivalent (namespaces, process names,
//!   SNMP, DBus, LVS, realtime priorities, netlink buffer sizes, umask, nftables version).
//!
//! The dump is pure: what only the running system knows (an interface's primary address and
//! index, where a program is found, who a user is, the host name) comes from a [`DumpEnv`], which
//! vigild fills from the kernel and tests fill by hand.

use core::fmt::Write as _;
use core::time::Duration;
use std::net::IpAddr;

use crate::address::{Scope, VirtualAddress};
use crate::conf::fast_hash::{FastMap, FastSet};
use crate::conf::{self, Config, RunAs};
use crate::from_conf::ConvertError;
use crate::setup::{
    EngineConfig, InstanceConfig, OldUnicastChecksum, Track, TrackTarget, WantState, OWNER_PRIORITY,
};
use crate::track_process::ParamMatch;
use crate::wire::{Auth, Family, Version};

/// What the dump needs from the running system.
pub trait DumpEnv {
    /// The address adverts of `family` would be sent from on `interface` when no source is
    /// configured: the primary IPv4 address, or the IPv6 link-local one.
    fn source_address(&self, _interface: &str, _family: Family) -> Option<IpAddr> {
        None
    }
    /// The interface's index (keepalived prints it beside an IPv6 multicast group).
    fn ifindex(&self, _interface: &str) -> Option<u32> {
        None
    }
    /// A script's program as it will be run: keepalived prints the path it found.
    fn program(&self, argv0: &str) -> String {
        argv0.to_string()
    }
    /// A script's command line as keepalived's `cmd_str` prints it (every word in single
    /// quotes, the program as found), or `None` when the runner refuses to run it (program not
    /// found, not executable, insecure): keepalived drops such notify scripts too.
    fn command(&self, sc: &conf::Script) -> Option<String> {
        Some(quoted(
            sc,
            &self.program(sc.program().as_deref().unwrap_or("")),
        ))
    }
    /// The uid and gid a script runs as: `run_as`, else the default script user.
    fn uid_gid(&self, _run_as: Option<&RunAs>) -> Option<(u32, u32)> {
        None
    }
    /// keepalived's local name: the host name's canonical name as the resolver gives it, the
    /// default `router_id`, `smtp_helo_name` and the host part of `notification_email_from`;
    /// `None` when it does not resolve (`router_id` is then `[unknown]`, and the other two get
    /// no default). keepalived 2.2.7 `init_global_data`.
    fn local_name(&self) -> Option<String> {
        None
    }
    /// `notification_email_from` when none is set and an `smtp_server` is: `USER@LOCALNAME`
    /// (keepalived's `set_default_email_from`), `None` without a local name.
    fn default_email_from(&self) -> Option<String> {
        None
    }
    /// Every interface of the network namespace, in the kernel's order (the dump's
    /// "Interfaces" part; none: the part is left out).
    fn links(&self) -> Vec<SystemLink> {
        Vec::new()
    }
}

/// keepalived's `router_id` when none is configured and the host's name does not resolve
/// (its `unknown_name`, keepalived 2.2.7 `init_global_data`).
pub const UNKNOWN_ROUTER_ID: &str = "[unknown]";

/// A [`DumpEnv`] that knows nothing: sources print as `(none)`, programs as written.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEnv;

impl DumpEnv for NoEnv {}

/// The VRRP part of `keepalived -d`: global definitions, static addresses and routes, the VRRP
/// topology, sync groups, scripts and track files. Errors when the configuration does not
/// convert (the daemon would not start; `vigild -t` says why, with the location).
pub fn dump_vrrp(cfg: &Config, env: &dyn DumpEnv) -> Result<String, ConvertError> {
    let converted = EngineConfig::from_conf(cfg)?.engine;
    let idx = Trackers::new(cfg, &converted);
    let mut s = String::new();
    let w = &mut s;
    global(w, cfg, &converted, env);
    garp::garp_delays(w, cfg, env);
    if !cfg.static_addresses.is_empty() {
        line(w, "------< Static Addresses >------");
        for a in &cfg.static_addresses {
            let dev = a
                .address
                .dev
                .clone()
                .or_else(|| cfg.global.default_interface.clone())
                .unwrap_or_else(|| "eth0".into());
            line(
                w,
                &format!(
                    "     {}",
                    address(&a.address, &dev, a.options.track_group.as_ref())
                ),
            );
        }
    }
    if !cfg.static_routes.is_empty() {
        line(w, "------< Static Routes >------");
        for r in &cfg.static_routes {
            line(w, &format!("     {}", route(r)));
        }
    }
    if !cfg.static_rules.is_empty() {
        line(w, "------< Static Rules >------");
        for r in &cfg.static_rules {
            line(w, &format!("     {}", r.keepalived_format()));
        }
    }
    // keepalived 2.2.7 `dump_static_track_group`: groups left without a member instance are
    // removed at start (and not dumped), like those with no `group` block.
    let instances = crate::from_conf::instance_names(cfg);
    let groups: Vec<(&conf::TrackGroup, Vec<&str>)> = cfg
        .track_groups
        .iter()
        .map(|g| (g, crate::from_conf::track_group_members(&instances, g)))
        .filter(|(_, m)| !m.is_empty())
        .collect();
    if !groups.is_empty() {
        line(w, "------< Static Track groups >------");
        for (g, members) in groups {
            line(w, &format!(" Static Track Group = {}", g.name));
            line(w, "   VRRP member instances :");
            for m in members {
                line(w, &format!("     {m}"));
            }
        }
    }
    if !cfg.instances.is_empty() {
        line(w, "------< VRRP Topology >------");
        for (k, (i, c)) in cfg.instances.iter().zip(&converted.instances).enumerate() {
            instance(w, cfg, i, c, idx.own(k), env);
        }
    }
    if !cfg.sync_groups.is_empty() {
        line(w, "------< VRRP Sync groups >------");
        for g in &cfg.sync_groups {
            sync_group(w, cfg, g, env);
        }
    }
    // Scripts and files that nothing tracks change no state (keepalived drops them with a
    // warning): they are not dumped.
    let scripts: Vec<&conf::VrrpScript> = cfg
        .scripts
        .iter()
        .filter(|s| idx.is_tracked(&TrackTarget::Script(s.name.clone())))
        .collect();
    if !scripts.is_empty() {
        line(w, "------< VRRP Scripts >------");
        for sc in scripts {
            script(w, &idx, sc, env);
        }
    }
    let files: Vec<&conf::TrackFile> = cfg
        .track_files
        .iter()
        .filter(|f| idx.is_tracked(&TrackTarget::File(f.name.clone())))
        .collect();
    if !files.is_empty() {
        line(w, "------< VRRP Track files >------");
        for f in files {
            track_file(w, &idx, f);
        }
    }
    // Every vrrp_track_process, tracked or not (keepalived drops only unused scripts).
    if !cfg.track_processes.is_empty() {
        line(w, "------< VRRP Track processes >------");
        for p in &cfg.track_processes {
            track_process(w, &idx, p);
        }
    }
    interfaces::interfaces(w, cfg, &converted, &idx, env);
    Ok(s)
}

// Long: keepalived's dump_global_data lines, in its order (a flat list).
fn global(w: &mut String, cfg: &Config, converted: &EngineConfig, env: &dyn DumpEnv) {
    let g = &cfg.global;
    line(w, "------< Global definitions >------");
    // The default router_id is the local name, `[unknown]` when it does not resolve, as
    // keepalived's (so the line is always there).
    let router_id = g
        .router_id
        .clone()
        .or_else(|| env.local_name())
        .unwrap_or_else(|| UNKNOWN_ROUTER_ID.to_string());
    line(w, &format!(" Router ID = {router_id}"));
    if let Some(s) = &g.smtp_server {
        line(w, &format!(" Smtp server = {}", s.host));
        line(w, &format!(" Smtp server port = {}", s.port));
    }
    if g.smtp_server.is_some() {
        if let Some(h) = g.smtp_helo_name.clone().or_else(|| env.local_name()) {
            line(w, &format!(" Smtp HELO name = {h}"));
        }
        line(
            w,
            &format!(
                " Smtp server connection timeout = {}",
                g.smtp_connect_timeout.as_secs()
            ),
        );
    }
    let from = g.notification_email_from.clone().or_else(|| {
        g.smtp_server
            .is_some()
            .then(|| env.default_email_from())
            .flatten()
    });
    if let Some(f) = &from {
        line(w, &format!(" Email notification from = {f}"));
        line(w, " Email notification to:");
        for e in &g.notification_email {
            line(w, &format!("   {e}"));
        }
    }
    line(
        w,
        &format!(
            " Default smtp_alert = {}",
            match g.smtp_alert {
                None => "unset",
                Some(true) => "on",
                Some(false) => "off",
            }
        ),
    );
    // The default of every instance's smtp_alert (before smtp_alert).
    line(
        w,
        &format!(
            " Default smtp_alert_vrrp = {}",
            match g.smtp_alert_vrrp {
                None => "unset",
                Some(true) => "on",
                Some(false) => "off",
            }
        ),
    );
    // startup_script / shutdown_script: keepalived 2.2.7 parses them in its parent process
    // only (global_parser.c) and the parent prints its global data only to
    // keepalived_parent.data on a signal, never with -d: `keepalived -d` shows neither, and so
    // does this dump.
    line(
        w,
        &format!(" Dynamic interfaces = {}", tf(g.dynamic_interfaces)),
    );
    if g.dynamic_interfaces {
        line(
            w,
            &format!(" Allow interface changes = {}", tf(g.allow_if_changes)),
        );
    }
    let lvs = &g.checker.lvs;
    // keepalived's dump_global_data prints the UDP timeout as "LVS TCP timeout" too.
    for (name, t) in [
        ("LVS TCP timeout", lvs.timeouts.tcp),
        ("LVS TCP FIN timeout", lvs.timeouts.tcpfin),
        ("LVS TCP timeout", lvs.timeouts.udp),
    ] {
        if let Some(t) = t.filter(|t| *t > 0) {
            line(w, &format!(" {name} = {t}"));
        }
    }
    if let Some(d) = &g.default_interface {
        line(w, &format!(" Default interface = {d}"));
    }
    line(
        w,
        &format!(
            " Disable local IGMP = {}",
            if g.disable_local_igmp { "yes" } else { "no" }
        ),
    );
    if let Some(d) = &lvs.sync_daemon {
        // The VRRP process's view: the instance resolved, the sync id filled in.
        if let Some(i) = &d.instance {
            line(w, &format!(" LVS syncd vrrp instance = {i}"));
        }
        line(w, &format!(" LVS syncd interface = {}", d.interface));
        line(w, &format!(" LVS syncd syncid = {}", d.sync_id()));
        if let Some(m) = d.maxlen {
            line(w, &format!(" LVS syncd maxlen = {m}"));
        }
        if let Some(a) = d.group {
            line(w, &format!(" LVS mcast group {a}"));
        }
        if let Some(p) = d.port {
            line(w, &format!(" LVS syncd mcast port = {p}"));
        }
        if let Some(t) = d.ttl {
            line(w, &format!(" LVS syncd mcast ttl = {t}"));
        }
    }
    line(w, &format!(" LVS flush = {}", tf(lvs.flush)));
    line(
        w,
        &format!(
            " LVS flush on stop = {}",
            match lvs.flush_on_stop {
                crate::conf::LvsFlushOnStop::Full => "full",
                crate::conf::LvsFlushOnStop::Vs => "VS",
                crate::conf::LvsFlushOnStop::No => "disabled",
            }
        ),
    );
    if let Some(f) = &g.notify_fifo {
        fifo(w, " Global notify fifo", f, env);
    }
    if let Some(f) = &g.vrrp_notify_fifo {
        fifo(w, " VRRP notify fifo", f, env);
    }
    line(
        w,
        &format!(
            " VRRP notify priority changes = {}",
            tf(g.vrrp_notify_priority_changes)
        ),
    );
    // Both groups, configured or the RFC's (keepalived 2.2.7 sets the defaults when it
    // allocates its global data, so it prints both always).
    line(
        w,
        &format!(" VRRP IPv4 mcast group = {}", g.vrrp_mcast_group4),
    );
    line(
        w,
        &format!(" VRRP IPv6 mcast group = {}", g.vrrp_mcast_group6),
    );
    line(
        w,
        &format!(
            " Gratuitous ARP delay = {}",
            g.vrrp_garp_master_delay.as_secs()
        ),
    );
    line(
        w,
        &format!(" Gratuitous ARP repeat = {}", g.vrrp_garp_master_repeat),
    );
    line(
        w,
        &format!(
            " Gratuitous ARP refresh timer = {}",
            g.vrrp_garp_master_refresh.map_or(0, |d| d.as_secs())
        ),
    );
    line(
        w,
        &format!(
            " Gratuitous ARP refresh repeat = {}",
            g.vrrp_garp_master_refresh_repeat
        ),
    );
    line(
        w,
        &format!(
            " Gratuitous ARP lower priority delay = {}",
            g.vrrp_garp_lower_prio_delay
                .unwrap_or(g.vrrp_garp_master_delay)
                .as_secs()
        ),
    );
    line(
        w,
        &format!(
            " Gratuitous ARP lower priority repeat = {}",
            g.vrrp_garp_lower_prio_repeat
                .unwrap_or(g.vrrp_garp_master_repeat)
        ),
    );
    line(
        w,
        &format!(" Num adverts before down = {}", g.vrrp_down_timer_adverts),
    );
    // keepalived prints it always (its "unset" is never the default 0).
    line(
        w,
        &format!(
            " Gratuitous ARP for each secondary {} = {}s",
            if g.vrrp_garp_extra_if.all {
                "i/f"
            } else {
                "VMAC"
            },
            g.vrrp_garp_extra_if.interval.as_secs()
        ),
    );
    line(
        w,
        &format!(
            " Send advert after receive lower priority advert = {}",
            tf(!g.vrrp_lower_prio_no_advert)
        ),
    );
    line(
        w,
        &format!(
            " Send advert after receive higher priority advert = {}",
            tf(g.vrrp_higher_prio_send_advert)
        ),
    );
    line(
        w,
        &format!(
            " Gratuitous ARP interval = {}",
            float6(g.vrrp_garp_interval)
        ),
    );
    line(
        w,
        &format!(" Gratuitous NA interval = {}", float6(g.vrrp_gna_interval)),
    );
    line(
        w,
        &format!(
            " VRRP default protocol version = {}",
            version(g.vrrp_version)
        ),
    );
    nftables(w, cfg, converted);
    line(
        w,
        &format!(" VRRP check unicast_src = {}", tf(g.vrrp_check_unicast_src)),
    );
    line(
        w,
        &format!(
            " VRRP skip check advert addresses = {}",
            tf(g.vrrp_skip_check_adv_addr)
        ),
    );
    line(w, &format!(" VRRP strict mode = {}", tf(g.vrrp_strict)));
    line(
        w,
        &format!(
            " Script security {}",
            if g.enable_script_security {
                "enabled"
            } else {
                "disabled"
            }
        ),
    );
    if let Some((u, gid)) = env.uid_gid(None) {
        line(w, &format!(" Default script uid:gid {u}:{gid}"));
    }
    if let Some(p) = &g.vmac_prefix {
        line(w, &format!(" VMAC prefix = {p}"));
    }
    if let Some(p) = &g.vmac_addr_prefix {
        line(w, &format!(" VMAC address prefix = {p}"));
    }
}

/// keepalived's firewall settings (`nftables`, `nftables_priority`, `nftables_counters`): the
/// table is printed when global_defs names one or when an instance needs it (a non-owner with
/// Accept_Mode off: `no_accept`, or strict mode's default), as keepalived 2.2.7 picks its
/// default table then (vrrp.c). The counters line is printed always, as keepalived's.
fn nftables(w: &mut String, cfg: &Config, converted: &EngineConfig) {
    let g = &cfg.global;
    let needed = converted
        .instances
        .iter()
        .any(|c| c.priority != OWNER_PRIORITY && !c.accept);
    if let Some(table) = g
        .nftables
        .as_deref()
        .or(needed.then_some(DEFAULT_NFTABLES_TABLE))
    {
        line(w, &format!(" nftables table name = {table}"));
        line(
            w,
            &format!(" nftables base chain priority = {}", g.nftables_priority),
        );
        // nftables_ifindex is not used (keyword table: link-local virtual addresses get no
        // rules), so the table never matches on interface indexes.
        line(w, " nftables don't force use ifindex for link local IPv6");
    }
    line(
        w,
        &format!(
            " nftables with{} counters",
            if g.nftables_counters { "" } else { "out" }
        ),
    );
}

/// keepalived's default nftables table (`DEFAULT_NFTABLES_TABLE`), vigild's too.
const DEFAULT_NFTABLES_TABLE: &str = "keepalived";

fn fifo(w: &mut String, what: &str, f: &conf::NotifyFifo, env: &dyn DumpEnv) {
    let (u, g) = env.uid_gid(f.run_as.as_ref()).unwrap_or((0, 0));
    line(w, &format!("{what} = {}, uid:gid {u}:{g}", f.path));
    if let Some(sc) = &f.script {
        let (u, g) = env.uid_gid(sc.run_as.as_ref()).unwrap_or((0, 0));
        line(
            w,
            &format!("{what} script = {}, uid:gid {u}:{g}", command(sc, env)),
        );
    }
}

// Long: keepalived's dump_vrrp lines for one instance, in its order (a flat list).
fn instance(
    w: &mut String,
    cfg: &Config,
    i: &conf::VrrpInstance,
    c: &InstanceConfig,
    (own_tracks, weights_ignored): (&[Track], bool),
    env: &dyn DumpEnv,
) {
    line(w, &format!(" VRRP Instance = {}", i.name));
    line(w, &format!("   VRRP Version = {}", version(c.version)));
    if let Some(g) = &i.sync_group {
        line(w, &format!("   Sync group = {g}"));
    }
    if c.family == Family::V6 {
        line(w, "   Using Native IPv6");
    }
    // keepalived's vrrp_data.c: the unicast flags (VRRP_FLAG_UNICAST, _UNICAST_CONFIGURED,
    // _UNICAST_FAULT_NO_PEERS).
    let mut flags = Vec::new();
    if !c.unicast_peers.is_empty() {
        flags.push("Using unicast");
    } else if i.unicast_keyword {
        flags.push("Unicast config option specified but using multicast");
    }
    if i.unicast_fault_no_peer {
        flags.push("If unicast go to fault state if no peers");
    }
    if flags.is_empty() {
        line(w, "   Flags: none");
    } else {
        line(w, "   Flags:");
        for f in flags {
            line(w, &format!("     {f}"));
        }
    }
    // keepalived's wantstate, as the engine uses it at start-up (setup::WantState).
    let want = match c.want_state {
        WantState::Master => "MASTER",
        WantState::Backup => "BACKUP",
        WantState::ByPriority if c.priority == OWNER_PRIORITY => "MASTER",
        WantState::ByPriority => "BACKUP",
    };
    line(w, &format!("   Wantstate = {want}"));
    // The macvlans of the instance and of its addresses, named as keepalived's
    // create_vmac_name names them (crate::vmac_name): an interface the system has is taken.
    let has_vmacs = i.use_vmac.is_some()
        || c.virtual_addresses
            .iter()
            .chain(&c.excluded_addresses)
            .any(|v| v.vmac);
    let plan = if has_vmacs {
        crate::vmac_name::plan(cfg, &|n| env.ifindex(n).is_some(), &|_| None, &|_, _| None)
    } else {
        Default::default()
    };
    let vmac = i
        .use_vmac
        .as_ref()
        .map(|_| plan.instances.get(&i.name).cloned().unwrap_or_default());
    if let Some(name) = &vmac {
        line(
            w,
            &format!(
                "   Use VMAC, i/f name {name}, is_up = true, xmit_base = {}",
                tf(i.vmac_xmit_base)
            ),
        );
    }
    if i.use_vmac_addr {
        line(w, "   Use VMAC for VIPs on other interfaces");
    }
    if let Some(name) = &vmac {
        line(
            w,
            &format!(
                "   Interface = {name}, vmac on {}{}",
                c.interface,
                if i.vmac_xmit_base {
                    ", xmit base i/f"
                } else {
                    ""
                }
            ),
        );
    } else {
        line(w, &format!("   Interface = {}", c.interface));
    }
    if c.dont_track_primary {
        line(w, "   VRRP interface tracking disabled");
    }
    if !c.check_address_list {
        line(w, "   Skip checking advert IP addresses");
    }
    if i.strict_mode {
        line(w, "   Enforcing strict VRRP compliance");
    }
    let configured = if c.unicast_peers.is_empty() {
        i.mcast_src_ip.or(i.unicast_src_ip)
    } else {
        i.unicast_src_ip.or(i.mcast_src_ip)
    };
    match (c.source, configured) {
        (Some(a), Some(_)) => line(w, &format!("   Using src_ip = {a} (from configuration)")),
        _ => match env.source_address(&c.interface, c.family) {
            Some(a) => line(w, &format!("   Using src_ip = {a}")),
            None => line(w, "   Using src_ip = (none)"),
        },
    }
    if c.unicast_peers.is_empty() {
        // The group adverts go to: mcast_dst_ip, else vrrp_mcast_group4/6, else the RFC's
        // (RFC 5798 5.1.1.2 / 5.1.2.2).
        let group = c.multicast_group();
        match c.family {
            Family::V4 => line(w, &format!("   Multicast address {group}")),
            Family::V6 => line(
                w,
                &format!(
                    "   Multicast address {group}, ifindex {}",
                    // keepalived's is the instance's interface: its macvlan with use_vmac
                    // (0 until the macvlan exists).
                    env.ifindex(vmac.as_deref().unwrap_or(&c.interface))
                        .unwrap_or(0)
                ),
            ),
        }
    }
    let a = &c.announce;
    line(
        w,
        &format!("   Gratuitous ARP delay = {}", a.master_delay.as_secs()),
    );
    line(
        w,
        &format!("   Gratuitous ARP repeat = {}", a.master_repeat),
    );
    line(
        w,
        &format!(
            "   Gratuitous ARP refresh = {}",
            a.master_refresh.map_or(0, |d| d.as_secs())
        ),
    );
    line(
        w,
        &format!(
            "   Gratuitous ARP refresh repeat = {}",
            a.master_refresh_repeat
        ),
    );
    line(
        w,
        &format!(
            "   Gratuitous ARP lower priority delay = {}",
            a.lower_prio_delay.as_secs()
        ),
    );
    line(
        w,
        &format!(
            "   Gratuitous ARP lower priority repeat = {}",
            a.lower_prio_repeat
        ),
    );
    line(
        w,
        &format!("   Down timer adverts = {}", c.down_timer_adverts),
    );
    // keepalived prints these only when garp_extra_if is in effect (vrrp_complete_instance
    // turns it off when no address is on another interface); Vigil keeps it only with `all`
    // (`i/f`). The next time is keepalived's timer, zero until the instance is MASTER.
    if let Some(e) = c.announce.extra_if {
        line(
            w,
            &format!("   Gratuitous ARP for each secondary i/f = {}", e.as_secs()),
        );
        line(
            w,
            "   Next gratuitous ARP for such secondary = 0.000000 (Thu Jan  1 00:00:00 1970.000000)",
        );
    }
    line(
        w,
        &format!(
            "   Send advert after receive lower priority advert = {}",
            tf(c.advert_on_lower_priority)
        ),
    );
    line(
        w,
        &format!(
            "   Send advert after receive higher priority advert = {}",
            tf(c.advert_on_higher_priority)
        ),
    );
    line(w, &format!("   Virtual Router ID = {}", c.vrid));
    line(w, &format!("   Priority = {}", c.priority));
    match c.version {
        Version::V2 => line(
            w,
            &format!("   Advert interval = {} sec", c.advert_interval.as_secs()),
        ),
        Version::V3 => line(
            w,
            &format!(
                "   Advert interval = {} milli-sec",
                c.advert_interval.as_millis()
            ),
        ),
    }
    // Accept_Mode (RFC 5798 6.1): off with `no_accept`, and by default in strict mode for a
    // non-owner; vigild then installs keepalived's nftables drop rules.
    line(
        w,
        &format!(
            "   Accept = {}",
            if c.accept { "enabled" } else { "disabled" }
        ),
    );
    line(
        w,
        &format!(
            "   Preempt = {}",
            if c.preempt { "enabled" } else { "disabled" }
        ),
    );
    // A delay only means something while preemption is on.
    if c.preempt && !c.preempt_delay.is_zero() {
        line(
            w,
            &format!("   Preempt delay = {} secs", g_format(c.preempt_delay)),
        );
    }
    line(
        w,
        &format!(
            "   Promote_secondaries = {}",
            if c.promote_secondaries {
                "enabled"
            } else {
                "disabled"
            }
        ),
    );
    match &c.auth {
        Auth::Simple(data) => {
            line(w, "   Authentication type = SIMPLE_PASSWORD");
            let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
            line(
                w,
                &format!("   Password = {}", String::from_utf8_lossy(&data[..end])),
            );
        }
        Auth::None if c.version == Version::V2 => line(w, "   Authentication type = none"),
        Auth::None => {}
    }
    // keepalived's format_ipaddress: "dev IF", "@PARENT" for a macvlan, " use_vmac" when the
    // address asked for its own.
    let vip_dev = |v: &VirtualAddress, use_vmac: bool| -> String {
        let mut d = match (&v.dev, &vmac) {
            (Some(d), _) if v.vmac => {
                let mac = crate::vmac_name::address_vmac_mac(i, Family::of(&v.addr));
                match plan.address_vmac(d, mac) {
                    Some(m) => format!("{}@{d}", m.name),
                    None => d.clone(),
                }
            }
            (Some(d), _) => d.clone(),
            (None, Some(m)) => format!("{m}@{}", c.interface),
            (None, None) => c.interface.clone(),
        };
        if use_vmac {
            d.push_str(" use_vmac");
        }
        d
    };
    if !i.virtual_addresses.is_empty() {
        line(
            w,
            &format!("   Virtual IP ({}):", i.virtual_addresses.len()),
        );
        for (v, e) in i.virtual_addresses.iter().zip(&c.virtual_addresses) {
            line(
                w,
                &format!(
                    "     {}",
                    address(
                        &v.address,
                        &vip_dev(e, v.options.use_vmac),
                        v.options.track_group.as_ref()
                    )
                ),
            );
        }
    }
    if !i.excluded_addresses.is_empty() {
        line(w, "   Virtual IP Excluded :");
        for (v, e) in i.excluded_addresses.iter().zip(&c.excluded_addresses) {
            line(
                w,
                &format!(
                    "     {}",
                    address(
                        &v.address,
                        &vip_dev(e, v.options.use_vmac),
                        v.options.track_group.as_ref()
                    )
                ),
            );
        }
    }
    if !c.unicast_peers.is_empty() {
        // keepalived gives an IPv4 instance 255 when unicast_ttl is not written, and an IPv6
        // one none (it prints nothing then).
        let ttl = match c.family {
            Family::V4 => Some(c.unicast_send_ttl.unwrap_or(255)),
            Family::V6 => c.unicast_send_ttl,
        };
        if let Some(t) = ttl {
            line(w, &format!("   Unicast TTL = {t}"));
        }
        line(
            w,
            &format!(
                "   Check unicast src : {}",
                if c.check_unicast_src { "yes" } else { "no" }
            ),
        );
        line(w, "   Unicast Peer :");
        for p in &i.unicast_peers {
            line(
                w,
                &format!(
                    "     {} min_ttl {} max_ttl {}",
                    p.addr,
                    p.min_ttl.unwrap_or(0),
                    p.max_ttl.unwrap_or(255)
                ),
            );
        }
        // keepalived's CHKSUM_COMPATIBILITY_*: `no` is its default (RFC form sent, the old
        // form detected on receive), `config` is `old_unicast_checksum`, `never` its `never`.
        line(
            w,
            &format!(
                "   Unicast checksum compatibility = {}",
                match c.old_unicast_checksum {
                    OldUnicastChecksum::Detect => "no",
                    OldUnicastChecksum::Always => "config",
                    OldUnicastChecksum::Never => "never",
                }
            ),
        );
    }
    if !i.virtual_routes.is_empty() {
        line(w, "   Virtual Routes :");
        for r in &i.virtual_routes {
            line(w, &format!("     {}", route(r)));
        }
    }
    if !i.virtual_rules.is_empty() {
        line(w, "   Virtual Rules :");
        for r in &i.virtual_rules {
            line(w, &format!("     {}", r.keepalived_format()));
        }
    }
    // The instance's own trackers, with the weight the engine applies; a sync group's trackers
    // are dumped with the group, as keepalived does.
    tracked(w, own_tracks, weights_ignored, "   Tracked processes :");
    line(
        w,
        &format!("   Using smtp notification = {}", yes(i.smtp_alert)),
    );
    line(
        w,
        &format!(
            "   Notify deleted = {}",
            if i.notify.report_deleted {
                "Deleted"
            } else {
                "Fault"
            }
        ),
    );
    notify_scripts(w, &i.notify, env, true);
    line(
        w,
        &format!(
            "   Notify priority changes = {}",
            tf(i.notify_priority_changes)
        ),
    );
}

/// Who tracks what, worked out once per dump: asking every instance and sync group for each
/// script, file and process was quadratic (0.52 s of CPU for 20,000 tracked processes).
struct Trackers<'a> {
    /// Per instance, in order: its own trackers in the engine's configuration
    /// ([`EngineConfig::from_conf`] appends its sync group's, its implied ones and its track
    /// groups' after them), and whether the engine applies no weight (a sync group member
    /// without `sync_group_tracking_weight`).
    own: Vec<(&'a [Track], bool)>,
    /// The `Tracking instances` rows of each script, file and process that an instance or a
    /// sync group tracks (its key, even with no row: a group without members): the instances'
    /// own trackers in instance order, then each sync group's members (unweighted,
    /// keepalived's), in group order.
    rows: FastMap<TrackTarget, Vec<String>>,
    /// The engine's scripts by name (the first of a name).
    scripts: FastMap<&'a str, &'a crate::setup::ScriptConfig>,
}

impl<'a> Trackers<'a> {
    fn new(cfg: &'a Config, e: &'a EngineConfig) -> Trackers<'a> {
        let mut first_group: FastMap<&str, &conf::SyncGroup> = FastMap::default();
        let mut unweighted: FastSet<&str> = FastSet::default();
        for g in &cfg.sync_groups {
            for m in &g.members {
                first_group.entry(m.as_str()).or_insert(g);
                if !g.tracking_weight {
                    unweighted.insert(m.as_str());
                }
            }
        }
        let mut own = Vec::with_capacity(e.instances.len());
        let mut rows: FastMap<TrackTarget, Vec<String>> = FastMap::default();
        for (i, c) in cfg.instances.iter().zip(&e.instances) {
            let from_group = first_group.get(i.name.as_str()).map_or(0, |g| {
                g.track_interfaces.len()
                    + g.track_scripts.len()
                    + g.track_files.len()
                    + g.track_processes.len()
            });
            let kept = c
                .track
                .len()
                .saturating_sub(from_group + c.implied_tracks + c.track_group_tracks);
            let tracks = &c.track[..kept];
            let ignored = unweighted.contains(i.name.as_str());
            own.push((tracks, ignored));
            for t in tracks {
                if matches!(t.target, TrackTarget::Interface(_)) {
                    continue;
                }
                let weight = if ignored { 0 } else { t.weight };
                let reverse = if t.reverse { " reverse" } else { "" };
                rows.entry(t.target.clone())
                    .or_default()
                    .push(format!("     {}, weight {weight}{reverse}", i.name));
            }
        }
        for g in &cfg.sync_groups {
            let targets = (g.track_scripts.iter())
                .map(|r| TrackTarget::Script(r.name.clone()))
                .chain(
                    g.track_files
                        .iter()
                        .map(|r| TrackTarget::File(r.name.clone())),
                )
                .chain((g.track_processes.iter()).map(|r| TrackTarget::Process(r.name.clone())));
            // A name the group lists twice still makes one row per member.
            let mut seen = FastSet::default();
            for target in targets {
                if seen.insert(target.clone()) {
                    let r = rows.entry(target).or_default();
                    r.extend(g.members.iter().map(|m| format!("     {m}, weight 0")));
                }
            }
        }
        let mut scripts = FastMap::default();
        for sc in &e.scripts {
            scripts.entry(sc.name.as_str()).or_insert(sc);
        }
        Trackers { own, rows, scripts }
    }

    /// The `k`th instance's own trackers, and whether their weights are ignored.
    fn own(&self, k: usize) -> (&'a [Track], bool) {
        self.own.get(k).copied().unwrap_or((&[], false))
    }

    /// Whether any instance (its own trackers) or sync group tracks `target`.
    fn is_tracked(&self, target: &TrackTarget) -> bool {
        self.rows.contains_key(target)
    }
}

/// `Tracked interfaces :` / `Tracked scripts :` / `Tracked files :`.
/// `processes` is the processes' header: keepalived writes `Tracked processes :` in an instance
/// and `Tracked process :` in a sync group.
fn tracked(w: &mut String, tracks: &[Track], weights_ignored: bool, processes: &str) {
    let rev = |t: &Track| if t.reverse { " reverse" } else { "" };
    let weight = |t: &Track| if weights_ignored { 0 } else { t.weight };
    let ifs: Vec<&Track> = tracks
        .iter()
        .filter(|t| matches!(t.target, TrackTarget::Interface(_)))
        .collect();
    if !ifs.is_empty() {
        line(w, "   Tracked interfaces :");
        for t in ifs {
            if let TrackTarget::Interface(n) = &t.target {
                line(w, &format!("     {n} weight {}{}", weight(t), rev(t)));
            }
        }
    }
    let scripts: Vec<&Track> = tracks
        .iter()
        .filter(|t| matches!(t.target, TrackTarget::Script(_)))
        .collect();
    if !scripts.is_empty() {
        line(w, "   Tracked scripts :");
        for t in scripts {
            if let TrackTarget::Script(n) = &t.target {
                line(w, &format!("     {n} weight {}{}", weight(t), rev(t)));
            }
        }
    }
    let files: Vec<&Track> = tracks
        .iter()
        .filter(|t| matches!(t.target, TrackTarget::File(_)))
        .collect();
    if !files.is_empty() {
        line(w, "   Tracked files :");
        for t in files {
            if let TrackTarget::File(n) = &t.target {
                line(w, &format!("     {n}, weight {}{}", weight(t), rev(t)));
            }
        }
    }
    let procs: Vec<&Track> = tracks
        .iter()
        .filter(|t| matches!(t.target, TrackTarget::Process(_)))
        .collect();
    if !procs.is_empty() {
        line(w, processes);
        for t in procs {
            if let TrackTarget::Process(n) = &t.target {
                line(w, &format!("     {n}, weight {}{}", weight(t), rev(t)));
            }
        }
    }
}

fn notify_scripts(w: &mut String, n: &conf::Notify, env: &dyn DumpEnv, instance: bool) {
    let mut one = |sc: &Option<conf::Script>, what: &str| {
        if let Some((sc, cmd)) = sc.as_ref().and_then(|sc| Some((sc, env.command(sc)?))) {
            let (u, g) = env.uid_gid(sc.run_as.as_ref()).unwrap_or((0, 0));
            line(
                w,
                &format!("   {what} state transition script = {cmd}, uid:gid {u}:{g}"),
            );
        }
    };
    one(&n.backup, "Backup");
    one(&n.master, "Master");
    one(&n.fault, "Fault");
    one(&n.stop, "Stop");
    if instance {
        one(&n.deleted, "Deleted");
    }
    one(&n.any, "Generic");
    if instance {
        one(&n.master_rx_lower_pri, "Master rx lower pri");
    }
}

fn sync_group(w: &mut String, cfg: &Config, g: &conf::SyncGroup, env: &dyn DumpEnv) {
    line(w, &format!(" VRRP Sync Group = {}", g.name));
    line(w, "   VRRP member instances :");
    for m in &g.members {
        line(w, &format!("     {m}"));
    }
    if g.tracking_weight {
        line(w, "   sync group tracking weight set");
    }
    line(
        w,
        &format!("   Using smtp notification = {}", yes(g.smtp_alert)),
    );
    let mut tracks = Vec::new();
    for t in &g.track_interfaces {
        tracks.push(Track {
            target: TrackTarget::Interface(t.name.clone()),
            weight: t.weight,
            reverse: t.reverse,
        });
    }
    for r in &g.track_scripts {
        let (weight, reverse) = cfg
            .scripts
            .iter()
            .find(|s| s.name == r.name)
            .map_or((0, false), |s| (s.weight, s.reverse));
        tracks.push(Track {
            target: TrackTarget::Script(r.name.clone()),
            weight: r.weight.unwrap_or(weight),
            reverse: r.reverse || (reverse && !r.noreverse),
        });
    }
    for r in &g.track_files {
        let (weight, reverse) = cfg
            .track_files
            .iter()
            .find(|f| f.name == r.name)
            .map_or((1, false), |f| (f.weight, f.reverse));
        tracks.push(Track {
            target: TrackTarget::File(r.name.clone()),
            weight: r.weight.unwrap_or(weight),
            reverse: r.reverse || (reverse && !r.noreverse),
        });
    }
    // A sync group's processes count for every member, unweighted (keepalived: weight 0).
    for r in &g.track_processes {
        tracks.push(Track {
            target: TrackTarget::Process(r.name.clone()),
            weight: 0,
            reverse: false,
        });
    }
    tracked(w, &tracks, false, "   Tracked process :");
    notify_scripts(w, &g.notify, env, false);
}

/// The instances that track a script, file or process, with their effective weights.
fn tracking(w: &mut String, idx: &Trackers<'_>, target: &TrackTarget) {
    if let Some(rows) = idx.rows.get(target).filter(|r| !r.is_empty()) {
        line(w, "   Tracking instances :");
        for r in rows {
            line(w, r);
        }
    }
}

fn script(w: &mut String, idx: &Trackers<'_>, sc: &conf::VrrpScript, env: &dyn DumpEnv) {
    let eff = idx.scripts.get(sc.name.as_str());
    line(w, &format!(" VRRP Script = {}", sc.name));
    line(w, &format!("   Command = {}", command(&sc.script, env)));
    line(w, &format!("   Interval = {} sec", sc.interval.as_secs()));
    // keepalived's 0: no timeout of its own, the interval applies (Vigil's effective timeout).
    let timeout = sc.timeout.map_or(0, |t| t.as_secs());
    line(w, &format!("   Timeout = {timeout} sec"));
    line(
        w,
        &format!(
            "   Weight = {}{}",
            sc.weight,
            if sc.reverse { " reverse" } else { "" }
        ),
    );
    line(w, &format!("   Rise = {}", eff.map_or(sc.rise, |s| s.rise)));
    line(w, &format!("   Fall = {}", eff.map_or(sc.fall, |s| s.fall)));
    line(
        w,
        &format!(
            "   Init state = {}",
            if sc.init_fail { "INIT/FAILED" } else { "INIT" }
        ),
    );
    if let Some((u, g)) = env.uid_gid(sc.run_as.as_ref().or(sc.script.run_as.as_ref())) {
        line(w, &format!("   Script uid:gid = {u}:{g}"));
    }
    line(w, "   VRRP instances :");
    tracking(w, idx, &TrackTarget::Script(sc.name.clone()));
}

fn track_file(w: &mut String, idx: &Trackers<'_>, f: &conf::TrackFile) {
    line(w, &format!(" Track file = {}", f.name));
    line(w, &format!("   File = {}", f.file));
    line(
        w,
        &format!(
            "   Weight = {}{}",
            f.weight,
            if f.reverse { " reverse" } else { "" }
        ),
    );
    tracking(w, idx, &TrackTarget::File(f.name.clone()));
}

/// keepalived's `dump_vprocess`, less its run-time lines (`Current processes`, `Have quorum`,
/// the delay timers).
fn track_process(w: &mut String, idx: &Trackers<'_>, p: &conf::TrackProcess) {
    let m = &p.matching;
    line(w, &format!(" VRRP Track process = {}", p.name));
    line(w, &format!("   Process = {}", m.name));
    if !m.params.is_empty() {
        // NUL-terminated words, printed space-separated.
        let words: Vec<String> = m
            .params
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        line(w, &format!("   Parameters = {}", words.join(" ")));
    }
    match m.param_match {
        ParamMatch::None => {}
        ParamMatch::Exact => line(w, "   Param match"),
        ParamMatch::Partial => line(w, "   Param match = partial"),
        ParamMatch::Initial => line(w, "   Param match = initial"),
    }
    line(w, &format!("   Min processes = {}", p.quorum));
    if p.quorum_max < u32::MAX {
        line(w, &format!("   Max processes = {}", p.quorum_max));
    }
    line(
        w,
        &format!(
            "   Weight = {}{}",
            p.weight,
            if p.reverse { " reverse" } else { "" }
        ),
    );
    line(
        w,
        &format!("   Terminate delay = {}s", float6(p.terminate_delay)),
    );
    line(w, &format!("   Fork delay = {}s", float6(p.fork_delay)));
    line(w, &format!("   Full command = {}", tf(m.full_command)));
    tracking(w, idx, &TrackTarget::Process(p.name.clone()));
}

/// keepalived's `format_ipaddress`: the address, then its options in keepalived's order, with
/// the preferred lifetime Vigil gives an IPv6 address (keepalived's default when the line does
/// not say).
fn address(v: &VirtualAddress, dev: &str, track_group: Option<&conf::TrackGroupRef>) -> String {
    let mut s = v.addr.to_string();
    let host = match v.addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    if v.prefix_len != host {
        let _ = write!(s, "/{}", v.prefix_len);
    }
    if let (IpAddr::V4(_), Some(b)) = (v.addr, v.broadcast) {
        let _ = write!(s, " brd {b}");
    }
    let _ = write!(s, " dev {dev} scope {}", scope(&v.scope));
    if let Some(l) = &v.label {
        let _ = write!(s, " label {l}");
    }
    if let Some(p) = v.peer {
        let _ = write!(s, " peer {p}/{}", v.prefix_len);
    }
    for (on, word) in [
        (v.flags.home, " home"),
        (v.flags.dad, " -nodad"),
        (v.flags.mngtmpaddr, " mngtmpaddr"),
        (v.flags.noprefixroute, " noprefixroute"),
        (v.flags.autojoin, " autojoin"),
        (v.no_track, " no_track"),
    ] {
        if on {
            s.push_str(word);
        }
    }
    if let Some(g) = track_group {
        let _ = write!(s, " track_group {}", g.name);
    }
    if v.addr.is_ipv6() {
        match v.preferred_lft {
            0 => s.push_str(" deprecated"),
            crate::address::LIFETIME_FOREVER => s.push_str(" preferred_lft forever"),
            n => {
                let _ = write!(s, " preferred_lft {n}");
            }
        }
    }
    s
}

fn scope(s: &Scope) -> String {
    match s {
        Scope::Global => "global".into(),
        Scope::Site => "site".into(),
        Scope::Link => "link".into(),
        Scope::Host => "host".into(),
        Scope::Nowhere => "nowhere".into(),
        Scope::Number(0) => "global".into(),
        Scope::Number(200) => "site".into(),
        Scope::Number(253) => "link".into(),
        Scope::Number(254) => "host".into(),
        Scope::Number(255) => "nowhere".into(),
        Scope::Number(n) => n.to_string(),
    }
}

// Long: keepalived's format_iproute, one option after another in its order.
/// keepalived's `format_iproute` (`vrrp_iproute.c`): every attribute Vigil installs, in
/// keepalived's order and formats.
fn route(r: &conf::Route) -> String {
    let a = &r.attrs;
    let mut s = String::new();
    s.push_str(if r.kind.is_some() { "add " } else { "prepend " });
    if let Some(k) = &r.kind {
        let _ = write!(s, "{k} ");
    }
    s.push_str(&host_or_prefix(r.to, r.prefix_len));
    if let Some((f, l)) = a.from {
        let _ = write!(s, " from {}", host_or_prefix(f, l));
    }
    if let Some(x) = r.src {
        let _ = write!(s, " src {x}");
    }
    if let Some(t) = a.tos {
        let _ = write!(s, " tos {t}");
    }
    if let Some(e) = &a.encap {
        s.push_str(&encap(e));
    }
    if let Some(v) = r.via {
        let fam = if v.is_ipv6() { "inet6" } else { "inet" };
        let _ = write!(s, " via {fam} {v}");
    }
    if let Some(d) = &r.dev {
        let _ = write!(s, " dev {d}");
    }
    if let Some(t) = r.table.filter(|t| *t != 254) {
        let _ = write!(s, " table {t}");
    }
    // keepalived sets protocol 18 on every route not written no_track (before it gives up
    // tracking a route with no dev), and the written protocol otherwise.
    match (r.no_track, a.protocol) {
        (false, _) => s.push_str(" proto 18"),
        (true, Some(p)) => {
            let _ = write!(s, " proto {p}");
        }
        (true, None) => {}
    }
    if let Some(sc) = &r.scope {
        let _ = write!(s, " scope {}", sc.number());
    }
    if let Some(m) = r.metric {
        let _ = write!(s, " metric {m}");
    }
    if a.onlink && r.to.is_ipv4() {
        s.push_str(" onlink");
    }
    if let Some(re) = a.realms.filter(|r| *r != 0) {
        s.push_str(&realms(re));
    }
    if let Some(e) = a.expires {
        let _ = write!(s, " expires {e}sec");
    }
    let locked = |bit: u8| a.lock & (1 << bit) != 0;
    if let Some(c) = &a.congctl {
        let lock = if locked(conf::rtax::CC_ALGO) {
            "lock "
        } else {
            ""
        };
        let _ = write!(s, " congctl {c}{lock}");
    }
    for (name, v, bit, per_ms) in [
        ("rtt", a.rtt, conf::rtax::RTT, 8),
        ("rttvar", a.rttvar, conf::rtax::RTTVAR, 4),
    ] {
        if let Some(v) = v {
            let lock = if locked(bit) { " lock" } else { "" };
            let _ = write!(s, " {name}{lock} ");
            if v >= per_ms * 1000 {
                let _ = write!(s, "{}s", c_g(f64::from(v) / f64::from(per_ms * 1000)));
            } else {
                let _ = write!(s, "{}ms", c_g(f64::from(v) / f64::from(per_ms)));
            }
        }
    }
    if let Some(v) = a.rto_min {
        let lock = if locked(conf::rtax::RTO_MIN) {
            " lock"
        } else {
            ""
        };
        if v >= 1000 {
            let _ = write!(s, " rto_min{lock} {}s", c_g(f64::from(v) / 1000.0));
        } else {
            let _ = write!(s, " rto_min{lock} {v}ms");
        }
    }
    if a.ecn {
        s.push_str(" features ecn");
    }
    let with_lock = |s: &mut String, name: &str, v: Option<u32>, bit: u8| {
        if let Some(v) = v {
            let lock = if locked(bit) { "lock " } else { "" };
            let _ = write!(s, " {name} {lock}{v}");
        }
    };
    with_lock(&mut s, "mtu", a.mtu, conf::rtax::MTU);
    if let Some(v) = a.window {
        let _ = write!(s, " window {v}");
    }
    with_lock(&mut s, "ssthresh", a.ssthresh, conf::rtax::SSTHRESH);
    with_lock(&mut s, "cwnd", a.cwnd, conf::rtax::CWND);
    with_lock(&mut s, "advmss", a.advmss, conf::rtax::ADVMSS);
    with_lock(&mut s, "reordering", a.reordering, conf::rtax::REORDERING);
    if let Some(v) = a.hoplimit {
        let _ = write!(s, " hoplimit {v}");
    }
    if let Some(v) = a.initcwnd {
        let _ = write!(s, " initcwnd {v}");
    }
    if let Some(v) = a.initrwnd {
        let _ = write!(s, " initrwnd {v}");
    }
    if let Some(v) = a.quickack {
        let _ = write!(s, " quickack {v}");
    }
    if let Some(p) = a.pref {
        let name = match p {
            3 => "low",
            0 => "medium",
            1 => "high",
            _ => "unknown",
        };
        let _ = write!(s, " pref {name}");
    }
    if let Some(v) = a.fastopen_no_cookie {
        let _ = write!(s, " fastopen_no_cookie {v}");
    }
    if let Some(t) = a.ttl_propagate {
        let _ = write!(s, " ttl-propagate {}abled", if t { "en" } else { "dis" });
    }
    for nh in &a.nexthops {
        s.push_str(" nexthop");
        if let Some(v) = nh.via {
            let fam = if v.is_ipv6() { "6" } else { "" };
            let _ = write!(s, " via inet{fam} {v}");
        }
        if let Some(d) = &nh.dev {
            let _ = write!(s, " dev {d}");
        }
        if let Some(w) = nh.weight {
            let _ = write!(s, " weight {w}");
        }
        if nh.onlink {
            s.push_str(" onlink");
        }
        if let Some(re) = nh.realms.filter(|r| *r != 0) {
            // keepalived looks at the route's realms for the form (its own quirk).
            if a.realms.unwrap_or(0) & 0xffff_0000 != 0 {
                let _ = write!(s, " realms {}/{}", re >> 16, re & 0xffff);
            } else {
                let _ = write!(s, " realm {}", re & 0xffff);
            }
        }
        if let Some(e) = &nh.encap {
            s.push_str(&encap(e));
        }
    }
    if r.no_track || r.dev.is_none() {
        s.push_str(" no_track");
    }
    if let Some(g) = &r.track_group {
        let _ = write!(s, " track_group {}", g.name);
    }
    s
}

/// keepalived's `print_encap` (`print_encap_mpls` / `_ip` / `_ila` / `_ip6`, `vrrp_iproute.c`).
fn encap(e: &conf::Encap) -> String {
    let mut s = String::new();
    match e {
        conf::Encap::Mpls(labels) => {
            s.push_str(" encap mpls");
            // keepalived prints each label stack entry in hex: label << 12, with the
            // bottom-of-stack bit (0x100) on the last one.
            for (i, l) in labels.iter().enumerate() {
                let bos = if i + 1 == labels.len() { 0x100 } else { 0 };
                let sep = if i == 0 { ' ' } else { '/' };
                let _ = write!(s, "{sep}{:x}", l << 12 | bos);
            }
        }
        conf::Encap::Ila(loc) => {
            // keepalived keeps the locator in network byte order and prints that memory as a
            // host-order number (on this host: `from_ne_bytes`).
            let _ = write!(s, " encap ila {}", u64::from_ne_bytes(loc.to_be_bytes()));
        }
        conf::Encap::Ip(x) | conf::Encap::Ip6(x) => {
            let v6 = matches!(e, conf::Encap::Ip6(_));
            s.push_str(if v6 { " encap ip6" } else { " encap ip" });
            if let Some(id) = x.id {
                let _ = write!(s, " id {id}");
            }
            if let Some(d) = x.dst {
                let _ = write!(s, " dst {d}");
            }
            if let Some(a) = x.src {
                let _ = write!(s, " src {a}");
            }
            if let Some(t) = x.tos {
                let _ = write!(s, " {} {t}", if v6 { "tc" } else { "tos" });
            }
            if let Some(t) = x.ttl {
                let _ = write!(s, " {} {t}", if v6 { "hoplimit" } else { "ttl" });
            }
            if let Some(f) = x.flags {
                let _ = write!(s, " flags 0x{f:x}");
            }
        }
    }
    s
}

/// A route's realms as keepalived prints them.
fn realms(r: u32) -> String {
    if r & 0xffff_0000 != 0 {
        format!(" realms {}/{}", r >> 16, r & 0xffff)
    } else {
        format!(" realm {}", r & 0xffff)
    }
}

/// An address with its prefix, the prefix left out for a host route (keepalived's
/// `ipaddresstos`; `default` prints as 0.0.0.0/0).
fn host_or_prefix(a: IpAddr, len: u8) -> String {
    let host = match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    if len == host {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

/// C's `%g` for a positive value (six significant digits, no trailing zeros).
fn c_g(v: f64) -> String {
    let mut t = format!("{v:.6}");
    // Six significant digits: enough for the values a route line can hold (< 1e6).
    let digits_before = t.find('.').unwrap_or(t.len());
    let keep = 6usize.saturating_sub(digits_before);
    t = format!("{v:.keep$}");
    if t.contains('.') {
        while t.ends_with('0') {
            t.pop();
        }
        if t.ends_with('.') {
            t.pop();
        }
    }
    t
}

/// A script's command line for the dump (the raw line when the runner refuses it).
fn command(sc: &conf::Script, env: &dyn DumpEnv) -> String {
    env.command(sc).unwrap_or_else(|| sc.command.clone())
}

/// keepalived's `cmd_str`: every word in single quotes, `program` first (unquoted when it is
/// a redirection, `</dev/tcp/HOST/PORT`, keepalived's special case for bash checks).
pub fn quoted(sc: &conf::Script, program: &str) -> String {
    let first = if program.starts_with('<') || program.starts_with('>') {
        program.to_string()
    } else {
        format!("'{program}'")
    };
    let mut words = vec![first];
    words.extend(sc.argv().iter().skip(1).map(|a| format!("'{a}'")));
    words.join(" ")
}

fn line(w: &mut String, l: &str) {
    let _ = writeln!(w, "{l}");
}

fn tf(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn version(v: Version) -> u8 {
    match v {
        Version::V2 => 2,
        Version::V3 => 3,
    }
}

/// C's `%f`: six decimals.
fn float6(d: Duration) -> String {
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// C's `%g` for a duration in seconds (at most six significant digits, no trailing zeros).
fn g_format(d: Duration) -> String {
    let micros = d.as_micros();
    let whole = micros / 1_000_000;
    let frac = micros % 1_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let mut f = format!("{frac:06}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{whole}.{f}")
}

mod garp;
mod interfaces;
pub use interfaces::{mac_text, SystemLink, VlanLink};
#[cfg(test)]
mod tests;
