// Long: the typed model of keepalived.conf, one struct per section and its defaults beside it; the checker, policy and process models have files of their own.
//! The typed configuration that the engine and the runner consume.
//!
//! Values are resolved: defaults are keepalived 2.2.7's (checked against `keepalived -d` dumps),
//! global defaults (`vrrp_garp_*`, `vrrp_version`, ...) are already applied to each instance, and
//! every item keeps the [`Location`] it was defined at so that later errors (a failed reload, an
//! interface that vanished) can point at the file. Interface names stay names: the runner resolves
//! them.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::diag::Diagnostic;
use super::lexer::Location;
pub use super::policy_model::{rtax, Encap, IpEncap, NextHop, RouteAttrs, Rule, RuleAction};
use super::process_model::ProcessSettings;

/// A whole configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `global_defs`, with keepalived's defaults for what is not set.
    pub global: GlobalDefs,
    /// `vrrp_instance` blocks, in file order.
    pub instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks, in file order; every member names an existing instance.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_script` blocks.
    pub scripts: Vec<VrrpScript>,
    /// `vrrp_track_file` / `track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` / `track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `static_ipaddress`: addresses kept on the machine whatever the VRRP state.
    pub static_addresses: Vec<AddressLine>,
    /// `static_routes`: routes kept on the machine whatever the VRRP state.
    pub static_routes: Vec<Route>,
    /// `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`, in file order (a later
    /// line for the same interface replaces an earlier one, as in keepalived).
    pub interface_delays: Vec<InterfaceDelay>,
    /// `garp_group` blocks, in file order: per-interface announcement gates.
    pub garp_groups: Vec<GarpGroupConf>,
    /// `static_rules`: policy routing rules kept on the machine whatever the VRRP state.
    pub static_rules: Vec<Rule>,
    /// `track_group` blocks, in file order (names are unique).
    pub track_groups: Vec<TrackGroup>,
    /// The interfaces the rules name (`static_rules` and every `virtual_rules`), each where it
    /// was written, for `vigild -t`'s check that they exist (keepalived's "interface ... for
    /// rule doesn't exist"). Kept beside the rules: a rule's identity on reload is its content.
    pub rule_interfaces: Vec<RuleInterface>,
    /// Virtual servers, their real servers and health checkers.
    pub checkers: super::checker_model::CheckerConf,
    /// Warnings and notices (never errors: a config with errors is not built), in file order.
    pub warnings: Vec<Diagnostic>,
}

/// The VRRP version and the address family are the engine's own types, shared with the wire
/// codec: the configuration model depends one way on `crate::wire` (the shared protocol types)
/// and on nothing else of the engine, so the engine's configuration is built from it without
/// translating one enum into another.
pub use crate::wire::{Family, Version};

/// `smtp_server ADDR [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServer {
    /// An IP address or a host name, as written.
    pub host: String,
    /// The port (default 25).
    pub port: u16,
}

/// A user and optional group that a script runs as (`script_user`, `user`, a notify script's
/// trailing `username [groupname]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// User name.
    pub user: String,
    /// Group name; the user's primary group when absent.
    pub group: Option<String>,
}

/// A command to run: a notify script, a check script, a FIFO script. Its words are split
/// from `command` when asked for ([`Script::argv`], [`Script::program`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Script {
    /// The command as written (quotes removed).
    pub command: String,
    /// The words when not `command` split (a `script`/`misc_path` of several words: each
    /// one argument as written). `None` (nearly always): [`super::values::split_args`].
    pub words: Option<Vec<String>>,
    /// Who to run it as; the global `script_user` when absent.
    pub run_as: Option<RunAs>,
    /// Where it was configured.
    pub loc: Location,
}

/// `notify_fifo` / `vrrp_notify_fifo`: a FIFO that state changes are written to, and the script
/// that reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyFifo {
    /// The FIFO's path.
    pub path: String,
    /// Who owns the FIFO when Vigil creates it.
    pub run_as: Option<RunAs>,
    /// `*_fifo_script`: a script started to read the FIFO.
    pub script: Option<Script>,
}

/// `global_defs`.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalDefs {
    /// `router_id`: names this machine in notifications (default: the host name, filled in by the
    /// runner).
    pub router_id: Option<String>,
    /// `notification_email { ... }`: recipients of SMTP alerts.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server ADDR [PORT]`.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_helo_name` (default: the host name).
    pub smtp_helo_name: Option<String>,
    /// `smtp_alert`: default for instances and groups that do not say.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`: default for VRRP instances and sync groups, before `smtp_alert`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `script_user USER [GROUP]`: who scripts run as by default.
    pub script_user: Option<RunAs>,
    /// `enable_script_security`: refuse scripts writable by non-root users when run as root.
    pub enable_script_security: bool,
    /// `vrrp_version` (default 2, as keepalived).
    pub vrrp_version: Version,
    /// `vrrp_garp_master_delay`: second burst of gratuitous ARPs after becoming master
    /// (default 5 s; 0 disables).
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat`: gratuitous ARPs per burst (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh`: periodic gratuitous ARPs while master (default none).
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_interval`: spacing of gratuitous ARPs (default 0).
    pub vrrp_garp_interval: Duration,
    /// `vrrp_gna_interval`: spacing of unsolicited neighbour advertisements (default 0).
    pub vrrp_gna_interval: Duration,
    /// `vrrp_garp_extra_if [all] SECS` (deprecated spelling `vrrp_vmac_garp_intvl`): the
    /// instances' default for `garp_extra_if` (default off).
    pub vrrp_garp_extra_if: ExtraIf,
    /// `vrrp_garp_lower_prio_delay` (default: `vrrp_garp_master_delay`).
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat` (default: `vrrp_garp_master_repeat`).
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_lower_prio_no_advert`: as master, do not answer a lower-priority advert.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: as master, send one advert before yielding.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_down_timer_adverts` (default 3): adverts missed before the master is declared down.
    pub vrrp_down_timer_adverts: u32,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_strict`: RFC-strict mode for every instance.
    pub vrrp_strict: bool,
    /// `nftables [NAME]`: the table of the `no_accept` drop rules (default `keepalived`).
    pub nftables: Option<String>,
    /// `nftables_priority N`: their chains' hook priority (default -1; reset to -1 by a later
    /// `nftables` line, as in keepalived).
    pub nftables_priority: i32,
    /// `nftables_counters`: a counter in each of their rules.
    pub nftables_counters: bool,
    /// `vrrp_check_unicast_src`: drop unicast adverts from addresses not in `unicast_peer`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`: do not compare the advert's address list with ours.
    pub vrrp_skip_check_adv_addr: bool,
    /// `v3_checksum_as_v2` (keepalived 2.2.8+): the default of every instance's
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// `vrrp_startup_delay` (seconds): instances stay in INIT this long after start-up.
    pub vrrp_startup_delay: Duration,
    /// `notify_fifo FIFO [USER [GROUP]]` plus `notify_fifo_script`.
    pub notify_fifo: Option<NotifyFifo>,
    /// `vmac_prefix`: the prefix of the names of `use_vmac` macvlans that the configuration
    /// does not name (default `vrrp`: `vrrp.VRID`, [`crate::vmac_name`]).
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix`: the prefix of the names of the macvlans that `use_vmac_addr` and an
    /// address's `use_vmac` create (default: `vmac_prefix`, else `vrrp`; [`crate::vmac_name`]).
    pub vmac_addr_prefix: Option<String>,
    /// `startup_script COMMAND [USER [GROUP]]`: run once before VRRP starts; VRRP starts when
    /// it ends or times out, whatever its exit status (keepalived 2.2.7 core/main.c).
    pub startup_script: Option<Script>,
    /// `startup_script_timeout` 1..=1000 seconds (keepalived's default 10).
    pub startup_script_timeout: Option<u32>,
    /// `shutdown_script COMMAND [USER [GROUP]]`: run once after VRRP has stopped (addresses
    /// removed, priority-0 adverts sent), before vigild exits.
    pub shutdown_script: Option<Script>,
    /// `shutdown_script_timeout` 1..=1000 seconds (keepalived's default 10).
    pub shutdown_script_timeout: Option<u32>,
    /// `vrrp_notify_fifo FIFO [USER [GROUP]]` plus `vrrp_notify_fifo_script`.
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_priority_changes`: the default of each instance's `notify_priority_changes`.
    pub vrrp_notify_priority_changes: bool,
    /// `max_auto_priority [-1..99]`: real-time scheduling when timers run late (`None`: off;
    /// `Some(-1)`: keepalived's "no limit" spelling).
    pub max_auto_priority: Option<i32>,
    /// `vrrp_priority`, `vrrp_rt_priority` and the rest of [`ProcessSettings`].
    pub vrrp_process: ProcessSettings,
    /// Their `checker_` twins (one loop: [`GlobalDefs::process`]).
    pub checker_process: ProcessSettings,
    /// `data_use_instance [BOOL]`: the network namespace's and the `instance` name in the data
    /// file's name (`/tmp/keepalived.NS_NAME.data`), as keepalived's `open_dump_file`.
    pub data_use_instance: bool,
    /// `default_interface` for static addresses without `dev` (default eth0 in keepalived).
    pub default_interface: Option<String>,
    /// `dynamic_interfaces`: an interface the configuration names may be missing at start
    /// (it is used once it appears; an instance on it stays in FAULT until then).
    pub dynamic_interfaces: bool,
    /// `dynamic_interfaces allow_if_changes`: an interface may come back as another kind of
    /// interface (a macvlan instead of a VLAN) or over another parent. Without it, keepalived
    /// 2.2.7 ignores an interface that comes back changed (`netlink_if_link_populate`).
    pub allow_if_changes: bool,
    /// `disable_local_igmp`: while running, the kernel sends no IGMP reports for 224.0.0.0/24
    /// groups (`net.ipv4.igmp_link_local_mcast_reports` = 0, restored at stop).
    pub disable_local_igmp: bool,
    /// `umask NUMBER|BITS`: the file creation mask (`-u` overrides it, as keepalived's).
    pub umask: Option<u32>,
    /// The top-level `net_namespace NAME`: the network namespace the daemon runs in (vigild
    /// starts itself again under `ip netns exec NAME`; `-s NAME` overrides it, as keepalived's).
    /// Read at start only.
    pub net_namespace: Option<String>,
    /// The top-level `instance NAME` (the first one): the pid file's name
    /// (`/run/vigild/vigild_NAME.pid` without `-p`) and, with `data_use_instance`, the data
    /// file's, as keepalived names its own. Read at start only.
    pub instance_name: Option<String>,
    /// The checker settings (`checker_log_all_failures`, `rs_init_notifies`, ...).
    pub checker: super::checker_model::CheckerGlobals,
    /// Where the (first) `global_defs` block is.
    pub loc: Option<Location>,
}

/// keepalived's timeout of `startup_script` / `shutdown_script` when none is given
/// (global_parser.c, `startup_shutdown_script`).
pub const DEFAULT_START_STOP_SCRIPT_TIMEOUT: u32 = 10;

impl GlobalDefs {
    /// `startup_script_timeout`, else keepalived's default.
    pub fn startup_timeout(&self) -> u32 {
        self.startup_script_timeout
            .unwrap_or(DEFAULT_START_STOP_SCRIPT_TIMEOUT)
    }

    /// `shutdown_script_timeout`, else keepalived's default.
    pub fn shutdown_timeout(&self) -> u32 {
        self.shutdown_script_timeout
            .unwrap_or(DEFAULT_START_STOP_SCRIPT_TIMEOUT)
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_helo_name: None,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            script_user: None,
            enable_script_security: false,
            vrrp_version: Version::V2,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_garp_extra_if: ExtraIf::default(),
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_down_timer_adverts: 3,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_strict: false,
            nftables: None,
            nftables_priority: -1,
            nftables_counters: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            v3_checksum_as_v2: false,
            vrrp_startup_delay: Duration::ZERO,
            notify_fifo: None,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            startup_script: None,
            startup_script_timeout: None,
            shutdown_script: None,
            shutdown_script_timeout: None,
            vrrp_notify_fifo: None,
            vrrp_notify_priority_changes: false,
            max_auto_priority: None,
            vrrp_process: ProcessSettings::default(),
            checker_process: ProcessSettings::default(),
            data_use_instance: false,
            default_interface: None,
            dynamic_interfaces: false,
            allow_if_changes: false,
            disable_local_igmp: false,
            umask: None,
            net_namespace: None,
            instance_name: None,
            checker: Default::default(),
            loc: None,
        }
    }
}

/// Initial state of an instance (`state MASTER|BACKUP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    /// `state BACKUP` (the default): wait for Master_Down_Interval before taking over.
    Backup,
    /// `state MASTER`: with priority 255 become master at once; otherwise as BACKUP but with
    /// keepalived's default priority of 255 when none is given.
    Master,
}

/// The address and its scope are the types the engine and the runners use (one definition,
/// [`crate::address`]): what the parser reads is what vigild adds, with no translation between.
pub use crate::address::{Scope, VirtualAddress};

/// One address line (`virtual_ipaddress`, `virtual_ipaddress_excluded`, `static_ipaddress`):
/// `ADDR[/LEN] [brd X] [dev IF] [scope S] [label L] [peer P] [no_track] [home] [-nodad]
/// [noprefixroute] [mngtmpaddr] [autojoin] [use_vmac] [preferred_lft N|forever] [track_group G]`.
///
/// The address itself, as the engine and the runner take it, and beside it what the line says
/// that the engine's address does not carry ([`AddressOptions`]) and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressLine {
    /// The address with everything the kernel holds it with (`brd`, `dev`, `scope`, `label`,
    /// `peer`, the flags, the preferred lifetime resolved as keepalived does) and `no_track`:
    /// handed to the engine as is.
    pub address: VirtualAddress,
    /// The rest of the line, which only the configuration keeps.
    pub options: AddressOptions,
    /// Where it was written.
    pub loc: Location,
}

/// What an address line says beyond the [`VirtualAddress`]: configuration bookkeeping only,
/// never part of the engine's address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressOptions {
    /// `track_group NAME` (`static_ipaddress` only): the group's instances track the address's
    /// interface (see [`TrackGroup`]).
    pub track_group: Option<TrackGroupRef>,
    /// `use_vmac` on the address line: the address goes on a macvlan of its own on its
    /// interface ([`crate::vmac_addr`]; not an option of a `static_ipaddress` line).
    pub use_vmac: bool,
}

/// A route (`virtual_routes`, `static_routes`), every word of the line typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Route type when not unicast: `blackhole`, `unreachable`, `prohibit`, `throw`.
    pub kind: Option<String>,
    /// Destination (`0.0.0.0/0` for `default`).
    pub to: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// `src`: preferred source address.
    pub src: Option<IpAddr>,
    /// `via` (or the deprecated `gw`): the gateway.
    pub via: Option<IpAddr>,
    /// `dev`: the output interface.
    pub dev: Option<String>,
    /// `table`, by number (a name is looked up in `/etc/iproute2/rt_tables` when the file is
    /// read, as keepalived does).
    pub table: Option<u32>,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (`static_routes` only): the group's instances track the route's
    /// `dev` (see [`TrackGroup`]).
    pub track_group: Option<TrackGroupRef>,
    /// Every other attribute (`nexthop ...`, `mtu N`, `onlink`, ...).
    pub attrs: RouteAttrs,
    /// Where it was written.
    pub loc: Location,
}

/// `authentication { auth_type PASS|AH auth_pass X }` (VRRPv2 only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// PASS or AH.
    pub kind: AuthType,
    /// The password, at most 8 bytes (longer is truncated, with a warning).
    pub password: String,
}

/// VRRPv2 authentication type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// Simple text password (type 1).
    Pass,
    /// IPsec AH (type 2, deprecated).
    Ah,
}

/// `track_interface { IF [weight N [reverse]] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Weight -253..=253; 0 (the default) means "FAULT when down".
    pub weight: i32,
    /// `reverse`: the weight applies when the interface is up rather than down.
    pub reverse: bool,
    /// Where it was written.
    pub loc: Location,
}

/// `track_script { NAME [weight N [reverse]] }`, `track_file { NAME [weight N [reverse]] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackRef {
    /// The name of the `vrrp_script` / `vrrp_track_file`.
    pub name: String,
    /// Overrides the tracked object's weight when set.
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
    /// `noreverse`: clears the tracked object's own `reverse` (keepalived inherits it
    /// otherwise, even when a weight is given here).
    pub noreverse: bool,
    /// Where it was written.
    pub loc: Location,
}

/// Notify scripts of an instance or a sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// `notify`: called on every transition with `TYPE NAME STATE PRIORITY`.
    pub any: Option<Script>,
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
    /// `notify_deleted`'s script, if it names one.
    pub deleted: Option<Script>,
    /// `notify_deleted` was given (with or without a script): an instance removed by a reload
    /// is reported as `DELETED` rather than keepalived's default `FAULT`.
    pub report_deleted: bool,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<Script>,
}

/// Gratuitous ARP / NA timing of an instance (global `vrrp_garp_*` applied as defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Garp {
    /// Delay of the second burst after becoming master.
    pub master_delay: Duration,
    /// Messages per burst.
    pub master_repeat: u32,
    /// Periodic refresh while master.
    pub master_refresh: Option<Duration>,
    /// Messages per refresh.
    pub master_refresh_repeat: u32,
    /// Delay of the burst after a lower-priority advert while master.
    pub lower_prio_delay: Duration,
    /// Messages in that burst.
    pub lower_prio_repeat: u32,
    /// `garp_extra_if [all] SECS` (deprecated spelling `vmac_garp_intvl`), else the global
    /// `vrrp_garp_extra_if`.
    pub extra_if: ExtraIf,
}

/// keepalived.conf(5) `garp_extra_if [all] SECS` / `vrrp_garp_extra_if [all] SECS`: while
/// MASTER, one gratuitous ARP / unsolicited NA every `interval` on each interface of the virtual
/// addresses other than the instance's own: only on VMACs other than the instance's (keepalived's
/// default), or on every such interface with `all`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtraIf {
    /// The interval (zero: off, the default).
    pub interval: Duration,
    /// `all`: every interface, not only VMACs.
    pub all: bool,
}

/// `use_vmac [NAME] [MAC]`: the instance uses a macvlan with the VRRP virtual MAC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vmac {
    /// The macvlan's name (default `vrrp.VRID`, chosen by the runner).
    pub name: Option<String>,
    /// An explicit MAC address, as written.
    pub mac: Option<String>,
}

/// A unicast peer: `ADDR [min_ttl N] [max_ttl N]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// Lowest TTL accepted from it.
    pub min_ttl: Option<u8>,
    /// Highest TTL accepted from it.
    pub max_ttl: Option<u8>,
}

/// VRRPv3 unicast checksum compatibility (`old_unicast_checksum [never]`): keepalived before
/// 1.3.6 computed the unicast v3 checksum differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnicastChecksum {
    /// Default: send the RFC form, accept the old one when a peer uses it.
    Auto,
    /// `old_unicast_checksum`: send and expect the old form.
    Old,
    /// `old_unicast_checksum never`: RFC form only, never detect the old one.
    Never,
}

/// An interface a rule names (`iif` / `dev`, or `oif`), where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInterface {
    /// The interface name.
    pub name: String,
    /// `oif` (else `iif` / `dev`).
    pub oif: bool,
    /// The name's word.
    pub loc: Location,
}

/// `vrrp_instance NAME { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct VrrpInstance {
    /// The instance name.
    pub name: String,
    /// `state` (default BACKUP).
    pub state: InitialState,
    /// `interface`: where adverts are sent and received. `None` only with unicast peers.
    pub interface: Option<String>,
    /// `virtual_router_id` 1..=255 (required).
    pub vrid: u8,
    /// `priority` 1..=255 (default 100; 255 for `state MASTER` without a priority).
    pub priority: u8,
    /// `advert_int` (default 1 s): whole seconds for v2, centiseconds 1..=4095 for v3.
    pub advert_int: Duration,
    /// `version` (default: `vrrp_version`; always 3 for IPv6).
    pub version: Version,
    /// Address family of the virtual addresses (IPv4 when none are configured).
    pub family: Family,
    /// `preempt` (default) / `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (default 0, at most 1000 s).
    pub preempt_delay: Duration,
    /// `accept` / `no_accept` (default: accept, unless strict mode).
    pub accept: bool,
    /// `virtual_ipaddress`.
    pub virtual_addresses: Vec<AddressLine>,
    /// `virtual_ipaddress_excluded`: added and removed with the state but not advertised.
    pub excluded_addresses: Vec<AddressLine>,
    /// `virtual_routes`.
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules`: policy routing rules installed while MASTER.
    pub virtual_rules: Vec<Rule>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<IpAddr>,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip` (default: the global group of the family).
    pub mcast_dst_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`: when non-empty, adverts are unicast to these.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl` (default 255).
    pub unicast_ttl: Option<u8>,
    /// Whether the instance says it is unicast: one of keepalived's unicast keywords
    /// (`unicast_peer`, even empty, `unicast_src_ip`, `check_unicast_src`,
    /// `old_unicast_checksum`, `unicast_fault_no_peer`: vrrp_parser.c's
    /// `VRRP_FLAG_UNICAST_CONFIGURED`). Without a peer it runs over multicast (deprecated in
    /// keepalived 2.2.5+, a warning) unless [`Self::unicast_fault_no_peer`].
    pub unicast_keyword: bool,
    /// `unicast_fault_no_peer`: a unicast instance without a peer stays in FAULT instead of
    /// falling back to multicast.
    pub unicast_fault_no_peer: bool,
    /// `authentication` (v2 only).
    pub authentication: Option<Authentication>,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script`.
    pub track_scripts: Vec<TrackRef>,
    /// `track_file`.
    pub track_files: Vec<TrackRef>,
    /// `track_process`.
    pub track_processes: Vec<TrackRef>,
    /// `notify*` scripts.
    pub notify: Notify,
    /// `smtp_alert` (default: the global `smtp_alert_vrrp`, else `smtp_alert`, else off).
    pub smtp_alert: bool,
    /// Gratuitous ARP / NA timing.
    pub garp: Garp,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// `vmac_xmit_base`: send adverts on the base interface rather than the macvlan.
    pub vmac_xmit_base: bool,
    /// `use_vmac_addr`: every virtual or excluded address on another interface (`dev`) or of
    /// the other family goes on a macvlan of its own on that interface ([`crate::vmac_addr`]).
    pub use_vmac_addr: bool,
    /// `lower_prio_no_advert` (default: the global setting, or strict mode).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `dont_track_primary`: ignore the state of the instance's own interface.
    pub dont_track_primary: bool,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `strict_mode` (default: the global `vrrp_strict`).
    pub strict_mode: bool,
    /// `check_unicast_src` (default: the global setting).
    pub check_unicast_src: bool,
    /// `old_unicast_checksum`.
    pub unicast_checksum: UnicastChecksum,
    /// `v3_checksum_as_v2 [BOOL]` (keepalived 2.2.8+; default: the global setting): send
    /// VRRPv3-over-IPv4 adverts with the checksum over the message only, without the IPv4
    /// pseudo-header (for peers that compute it so: FRR's `no vrrp N
    /// checksum-with-ipv4-pseudoheader`, some vendors' routers).
    pub v3_checksum_as_v2: bool,
    /// `down_timer_adverts` 1..=100 (default: the global setting).
    pub down_timer_adverts: u32,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// The sync group the instance belongs to, if any (filled in from `vrrp_sync_group`).
    pub sync_group: Option<String>,
    /// Where the `vrrp_instance` keyword is.
    pub loc: Location,
}

/// `vrrp_sync_group NAME { group { ... } ... }`: instances that change state together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    /// The group name.
    pub name: String,
    /// Member instance names (each exists and is in no other group).
    pub members: Vec<String>,
    /// `notify*` scripts.
    pub notify: Notify,
    /// `smtp_alert` (default: the global `smtp_alert_vrrp`, else `smtp_alert`, else off).
    pub smtp_alert: bool,
    /// `track_interface`: applies to every member.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script`.
    pub track_scripts: Vec<TrackRef>,
    /// `track_file`.
    pub track_files: Vec<TrackRef>,
    /// `track_process`.
    pub track_processes: Vec<TrackRef>,
    /// `sync_group_tracking_weight`: members' tracking weights are honoured.
    pub tracking_weight: bool,
    /// Where the `vrrp_sync_group` keyword is.
    pub loc: Location,
}

/// `vrrp_script NAME { ... }`: a check run periodically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpScript {
    /// The script name that `track_script` refers to.
    pub name: String,
    /// `script`: the command (required).
    pub script: Script,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Option<Duration>,
    /// `weight` -253..=253 (default 0: failure means FAULT).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `rise` (default 1): successes needed to become OK.
    pub rise: u32,
    /// `fall` (default 1): failures needed to become KO.
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub run_as: Option<RunAs>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
    /// Where the `vrrp_script` keyword is.
    pub loc: Location,
}

/// `track_group NAME { group { INSTANCE ... } }` (keepalived.conf(5), "Static track groups").
///
/// keepalived 2.2.7 (`vrrp_static_track.c`, `static_track_group_init`): every member instance
/// tracks the interface of each static address (its `dev`), static route (its `dev`) and static
/// rule (its `iif` / `dev`) that names the group, as an unweighted tracked interface: the
/// instances go to FAULT while that interface is down and leave FAULT when it is up again. The
/// deletion of the static item itself changes no state (it is put back, as every tracked static
/// item is); an item with `no_track` is not tracked. The tracking does not show among an
/// instance's `Tracked interfaces` in keepalived's dump; the group has its own dump section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackGroup {
    /// The name that `track_group NAME` on a static item refers to.
    pub name: String,
    /// `group { }`: the member instances, as written (a name that is not an instance is
    /// ignored with a warning, as keepalived does).
    pub members: Vec<String>,
    /// Where the group is defined.
    pub loc: Location,
}

/// `track_group NAME` on a static address, route or rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackGroupRef {
    /// The group's name.
    pub name: String,
    /// Where the name is written.
    pub loc: Location,
}

/// `vrrp_track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFile {
    /// The name that `track_file` refers to.
    pub name: String,
    /// `file`: the path (required).
    pub file: String,
    /// `weight` (default 1).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE (default 0).
    pub init_file: Option<InitFile>,
    /// Where the keyword is.
    pub loc: Location,
}

/// `vrrp_track_process NAME { process NAME [PARAM ...]; param_match ...; weight N [reverse];
/// quorum N; quorum_max N; fork_delay S; terminate_delay S; delay S; full_command }`
/// (keepalived.conf(5) "VRRP track processes"; the rules: [`crate::track_process`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackProcess {
    /// The name that `track_process` refers to.
    pub name: String,
    /// What a process must look like to count.
    pub matching: crate::track_process::ProcessMatch,
    /// `weight` -254..=254 (default 0: a lost quorum means FAULT).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `quorum` (default 1; 0 with `quorum_max 0`).
    pub quorum: u32,
    /// `quorum_max` (default: unbounded).
    pub quorum_max: u32,
    /// `fork_delay` (or `delay`); zero when not set.
    pub fork_delay: Duration,
    /// `terminate_delay` (or `delay`); zero when not set.
    pub terminate_delay: Duration,
    /// Where the keyword is.
    pub loc: Location,
}

/// `init_file [VALUE] [overwrite]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitFile {
    /// The value written (default 0).
    pub value: i64,
    /// `overwrite`: write it even when the file exists.
    pub overwrite: bool,
}

/// One line of `interface_up_down_delays`: how long a link change of the interface must last
/// before the instances see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceDelay {
    /// The interface.
    pub interface: String,
    /// The delay before a link-down reaches the instances.
    pub down: Duration,
    /// The delay before a link-up reaches the instances (0 when not written).
    pub up: Duration,
    /// Where it was written.
    pub loc: Location,
}

/// A `garp_group` block (keepalived.conf(5)): the minimum spacing of gratuitous ARPs / NAs on
/// the named interfaces, instead of `vrrp_garp_interval` / `vrrp_gna_interval`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpGroupConf {
    /// `garp_interval` (None: no gate for gratuitous ARPs on these interfaces).
    pub garp_interval: Option<Duration>,
    /// `gna_interval` (None: no gate for unsolicited NAs on these interfaces).
    pub gna_interval: Option<Duration>,
    /// `interface IF` / `interfaces { IF ... }`, in file order; an interface named by an
    /// earlier group is refused.
    pub interfaces: Vec<String>,
    /// Where each of `interfaces` was written (`vigild -t` reports a missing one there).
    pub interface_locs: Vec<Location>,
    /// `interfaces { }` was used (keepalived numbers such groups for its dump).
    pub aggregation: bool,
    /// Where the block opened.
    pub loc: Location,
}
