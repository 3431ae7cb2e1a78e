// Long: the engine's configuration model, one documented struct after another (instances, groups, trackers, announcements).
//! What the engine runs: virtual router instances as the engine sees them.
//!
//! This is the engine's own, already-validated form of a configuration. The keepalived.conf
//! parser ([`crate::conf`]) produces it from operators' files; the simulator and tests may build
//! it directly. Interface names stay names: the runner resolves them and reports link state and
//! primary addresses as inputs.

use core::time::Duration;
use std::net::IpAddr;
use std::sync::Arc;

use crate::wire::{Auth, ChecksumForm, ChecksumPolicy, Family, Version};

pub use crate::conf::{NextHop, RouteAttrs, Rule as VirtualRule, RuleAction};

/// The address owner's priority (RFC 5798 section 5.2.4): it owns the virtual addresses and goes
/// straight to MASTER.
pub const OWNER_PRIORITY: u8 = 255;
/// keepalived's default priority (RFC 5798 section 5.2.4: 100 for a backup).
pub const DEFAULT_PRIORITY: u8 = 100;

/// The virtual address type is shared with the configuration model and the runners (one
/// definition, in [`crate::address`]); the engine's configuration names it here too.
pub use crate::address::{AddrFlags, VirtualAddress, LIFETIME_FOREVER};

/// The state an instance wants at start-up: keepalived's `wantstate`, from `state MASTER|BACKUP`
/// (or derived from the priority when no `state` is given).
///
/// RFC 5798 section 6.4.1 starts the address owner (priority 255) as MASTER and everyone else
/// as BACKUP with a full Master_Down_Interval. keepalived 2.2.7 does the same, except that an
/// owner told `state BACKUP` starts as BACKUP (measured; see `Engine`'s start-up). For a
/// non-owner `state MASTER` changes no timer in keepalived 2.2.7 as it runs (it waits the full
/// Master_Down_Interval, measured), only the configuration: the default priority becomes 255,
/// and `nopreempt` / `preempt_delay` are cleared with a warning (the parser does both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WantState {
    /// No `state` given: MASTER for the address owner, BACKUP otherwise (RFC 5798 section
    /// 6.4.1).
    #[default]
    ByPriority,
    /// `state MASTER`: the owner becomes MASTER at once; a non-owner starts as BACKUP with the
    /// full Master_Down_Interval, as keepalived 2.2.7 does.
    Master,
    /// `state BACKUP`: BACKUP with the full Master_Down_Interval, even for the owner.
    Backup,
}

/// One virtual router instance (keepalived's `vrrp_instance`).
///
/// `Eq` (every field is): an engine shares each instance's configuration (`Arc`), and two
/// `Arc`s of an `Eq` type compare equal by pointer before comparing contents, so comparing an
/// engine with its copy (the fuzz harness does after every refused reload) does not walk every
/// configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// The instance's name (keepalived's `vrrp_instance NAME`), used in notifications and logs.
    pub name: String,
    /// The interface adverts are sent and received on.
    pub interface: String,
    /// Address family of the instance (one per instance, like keepalived).
    pub family: Family,
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Protocol version (IPv6 implies v3).
    pub version: Version,
    /// Configured priority, 1..=255; 255 makes this router the address owner.
    pub priority: u8,
    /// Advertisement_Interval: whole seconds for v2, a multiple of 10 ms (1..=4095 cs) for v3.
    pub advert_interval: Duration,
    /// The state the instance wants at start-up (keepalived.conf(5) `state MASTER|BACKUP`;
    /// see [`WantState`] for what each does).
    pub want_state: WantState,
    /// Preempt_Mode (RFC 5798 section 6.1); keepalived's `nopreempt` clears it.
    pub preempt: bool,
    /// keepalived's `preempt_delay`: how long after start-up, or after first hearing a lower
    /// priority master, this router waits before preempting it.
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 5798 section 6.1): carried for the runner (whether a non-owner master
    /// accepts packets addressed to the virtual addresses); the protocol does not depend on it.
    pub accept: bool,
    /// The virtual addresses, advertised in this order.
    pub virtual_addresses: Vec<VirtualAddress>,
    /// VRRPv2 authentication (type 0 or 1); must be [`Auth::None`] for v3.
    pub auth: Auth,
    /// Unicast peers: when non-empty adverts go to each peer instead of the multicast group.
    pub unicast_peers: Vec<IpAddr>,
    /// The multicast group adverts go to and are heard on (keepalived's `vrrp_mcast_group4` /
    /// `vrrp_mcast_group6` in global_defs, `mcast_dst_ip` per instance); `None`: the RFC's
    /// group of the family (224.0.0.18, ff02::12). The runner joins it on the interface.
    pub mcast_group: Option<IpAddr>,
    /// Source address of adverts (`unicast_src_ip` / `mcast_src_ip`); by default the
    /// interface's primary address (IPv4) or link-local address (IPv6), reported by the runner.
    pub source: Option<IpAddr>,
    /// Which checksum forms are accepted (see [`ChecksumPolicy`]); by default both VRRPv3
    /// over IPv4 forms ([`ChecksumPolicy::Either`]): a peer that leaves out the pseudo-header is
    /// heard and reported, not dropped into a second MASTER.
    pub checksum_policy: ChecksumPolicy,
    /// Send VRRPv3-over-IPv4 adverts with the checksum over the message only, without the IPv4
    /// pseudo-header (keepalived 2.2.8+'s `v3_checksum_as_v2`; FRR's `no vrrp N
    /// checksum-with-ipv4-pseudoheader`). Off: RFC 5798 section 5.2.8's pseudo-header form.
    /// No effect on VRRPv2 (always message-only) or IPv6 (always pseudo-header).
    pub v3_checksum_plain: bool,
    /// RFC 9568: a master that hears a lower priority advertises at once (at most once per
    /// Advertisement_Interval, with the `garp_lower_prio` burst: a backlog or a burst of lower
    /// priorities gets one answer). keepalived's `lower_prio_no_advert` turns it off.
    pub advert_on_lower_priority: bool,
    /// keepalived.conf(5) `higher_prio_send_advert` / `vrrp_higher_prio_send_advert`: a MASTER
    /// that hears a higher priority (or an equal one from a greater address) sends one advert
    /// of its own before going BACKUP, so that the other master, hearing a lower priority,
    /// re-announces its addresses (`garp_lower_prio_repeat`): after two simultaneous masters,
    /// the last gratuitous ARPs the hosts saw may have been ours. Off by default (and in
    /// strict mode).
    pub advert_on_higher_priority: bool,
    /// keepalived.conf(5) `dont_track_primary`: "ignore VRRP interface faults": the instance
    /// does not go FAULT when its own interface loses link (its adverts are then sent into a
    /// link that carries nothing; useful with interfaces whose carrier flaps).
    pub dont_track_primary: bool,
    /// keepalived.conf(5) `unicast_ttl`: the TTL (IPv4) / hop limit (IPv6) of the adverts a
    /// unicast instance sends. `None`: 255, RFC 5798 section 5.1.1.3's value. Receiving is not
    /// held to it: keepalived checks a unicast advert's TTL only against the sending peer's
    /// `min_ttl` / `max_ttl` ([`InstanceConfig::unicast_ttl`]).
    pub unicast_send_ttl: Option<u8>,
    /// keepalived.conf(5) `promote_secondaries`: the runner sets the interface's
    /// `net.ipv4.conf.IFACE.promote_secondaries` sysctl at start (when it is not set already)
    /// and clears it again at exit, as keepalived does, so that removing the interface's
    /// primary address promotes the virtual addresses in its subnet instead of removing them.
    /// Not with `use_vmac` (the macvlan has it anyway).
    pub promote_secondaries: bool,
    /// keepalived.conf(5) `old_unicast_checksum [never]`: VRRPv3-over-IPv4 unicast adverts with
    /// the checksum of keepalived 1.3.6 and earlier (the pseudo-header names the multicast group,
    /// not the peer).
    pub old_unicast_checksum: OldUnicastChecksum,
    /// RFC 5798 section 7.1, step 6: check that an advert's address list matches ours (count a
    /// mismatch, and drop it unless the sender is the owner). keepalived's `skip_check_adv_addr`
    /// turns the check off.
    pub check_address_list: bool,
    /// keepalived's per-peer `min_ttl` / `max_ttl` (`unicast_peer { ADDR min_ttl N max_ttl N }`):
    /// the TTL / hop limit range accepted on unicast adverts from that peer. Unicast adverts are
    /// otherwise not held to 255 (peers may be routed; see the receive checks), so this is how
    /// an operator restores a TTL check on a unicast instance.
    pub unicast_ttl: Vec<UnicastTtl>,
    /// keepalived's `check_unicast_src` / `vrrp_check_unicast_src`: with unicast peers, drop
    /// adverts whose source is not one of them.
    pub check_unicast_src: bool,
    /// keepalived's `unicast_fault_no_peer` on an instance given a unicast setting
    /// (`unicast_src_ip`, `check_unicast_src`, `old_unicast_checksum`, an empty `unicast_peer`
    /// block) but no peer: it cannot run unicast, and the keyword says not to fall back to
    /// multicast, so it stays in FAULT for as long as the configuration is loaded (keepalived
    /// 2.2.7 vrrp.c, `vrrp_complete_instance`: a configuration fault, never cleared).
    pub unicast_no_peers_fault: bool,
    /// What this instance tracks (keepalived's `track_interface`, `track_script`, `track_file`).
    pub track: Vec<Track>,
    /// How many entries at the end of [`Self::track`] come from `track_group` (the interfaces
    /// of static addresses, routes and rules that name a group this instance is in; keepalived
    /// does not list them among the instance's tracked interfaces in its dump).
    pub track_group_tracks: usize,
    /// How many entries just before the `track_group` ones at the end of [`Self::track`] are
    /// the interfaces of the instance's virtual addresses, routes and rules (keepalived
    /// follows their links too, unweighted, and does not list them among the instance's
    /// tracked interfaces either); for an address on a macvlan of its own, that macvlan
    /// (added by [`crate::vmac_addr::follow_macvlans`] once the runner has named it).
    pub implied_tracks: usize,
    /// Gratuitous ARP / unsolicited NA schedule (keepalived's `garp_*` settings).
    pub announce: Announce,
    /// keepalived's `down_timer_adverts` (1..=100, default 3): how many adverts a BACKUP misses
    /// before it declares the master down. Master_Down_Interval = down_timer_adverts x
    /// Master_Adver_Interval + Skew_Time; the RFCs' 3 is the default (keepalived's
    /// `VRRP_MS_DOWN_TIMER`).
    pub down_timer_adverts: u32,
    /// keepalived's `virtual_ipaddress_excluded`: addresses added while MASTER and announced
    /// with the virtual addresses, but never carried in adverts (so the address-list check of
    /// RFC 5798 section 7.1 does not see them).
    pub excluded_addresses: Vec<VirtualAddress>,
    /// keepalived's `virtual_routes`: routes installed while MASTER (after the addresses, which
    /// they may use as source) and removed on leaving MASTER (before the addresses).
    pub virtual_routes: Vec<VirtualRoute>,
    /// keepalived's `virtual_rules`: policy routing rules installed while MASTER (after the
    /// routes) and removed on leaving MASTER (before the routes), as keepalived's
    /// `vrrp_state_become_master` / `vrrp_restore_interface` do.
    pub virtual_rules: Vec<VirtualRule>,
}

/// The kind of a [`VirtualRoute`] (`ip route`'s route types that keepalived accepts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// An ordinary route (`ip route add ...`).
    #[default]
    Unicast,
    /// `blackhole`: packets are discarded silently.
    Blackhole,
    /// `unreachable`: packets are discarded with ICMP unreachable.
    Unreachable,
    /// `prohibit`: packets are discarded with ICMP administratively prohibited.
    Prohibit,
    /// `throw`: the lookup continues in the next rule's table.
    Throw,
}

impl RouteKind {
    /// `ip route`'s name for the kind.
    pub const fn name(self) -> &'static str {
        match self {
            RouteKind::Unicast => "unicast",
            RouteKind::Blackhole => "blackhole",
            RouteKind::Unreachable => "unreachable",
            RouteKind::Prohibit => "prohibit",
            RouteKind::Throw => "throw",
        }
    }
}

/// The main routing table's number (`ip route`'s `table main`).
pub const MAIN_TABLE: u32 = 254;

/// One route of `virtual_routes` (or `static_routes`), in the form a runner installs it: the
/// interface is still a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualRoute {
    /// Destination.
    pub to: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// `via`: the gateway.
    pub via: Option<IpAddr>,
    /// `src`: preferred source address.
    pub src: Option<IpAddr>,
    /// `dev`: output interface, by name.
    pub dev: Option<String>,
    /// Routing table by number ([`MAIN_TABLE`] by default).
    pub table: u32,
    /// `metric`.
    pub metric: Option<u32>,
    /// `scope`, by number (`None`: the kernel's default for the route).
    pub scope: Option<u8>,
    /// The route type.
    pub kind: RouteKind,
    /// Every other attribute of the line (`onlink`, `nexthop ...`, `mtu`, `protocol`, ...).
    pub attrs: RouteAttrs,
    /// `no_track` (or no `dev`, which keepalived cannot track either).
    pub no_track: bool,
}

impl VirtualRoute {
    /// A unicast route to `to`/`prefix_len` in the main table, nothing else set.
    pub fn new(to: IpAddr, prefix_len: u8) -> Self {
        VirtualRoute {
            to,
            prefix_len,
            via: None,
            src: None,
            dev: None,
            table: MAIN_TABLE,
            metric: None,
            scope: None,
            kind: RouteKind::Unicast,
            attrs: RouteAttrs::default(),
            no_track: false,
        }
    }
}

impl core::fmt::Display for VirtualRoute {
    /// As `ip route` writes it: `[TYPE ]DEST/LEN[ via GW][ dev IF][ src ADDR][ table N][ metric M]`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        write!(f, "{}/{}", self.to, self.prefix_len)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if self.table != MAIN_TABLE {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if self.attrs.onlink {
            f.write_str(" onlink")?;
        }
        if let Some(e) = &self.attrs.encap {
            write!(f, " {e}")?;
        }
        for n in &self.attrs.nexthops {
            f.write_str(" nexthop")?;
            if let Some(v) = n.via {
                write!(f, " via {v}")?;
            }
            if let Some(d) = &n.dev {
                write!(f, " dev {d}")?;
            }
            if let Some(w) = n.weight {
                write!(f, " weight {w}")?;
            }
            if let Some(e) = &n.encap {
                write!(f, " {e}")?;
            }
        }
        Ok(())
    }
}

/// The TTL / hop limit range accepted on unicast adverts from one peer (keepalived's
/// `min_ttl` / `max_ttl` on a `unicast_peer` line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnicastTtl {
    /// The peer.
    pub peer: IpAddr,
    /// Lowest accepted (keepalived's default: 0).
    pub min: u8,
    /// Highest accepted (keepalived's default: 255).
    pub max: u8,
}

/// The schedule of address announcements (gratuitous ARP for IPv4, unsolicited neighbour
/// advertisements for IPv6), keepalived's `garp_*` / `vrrp_garp_*` settings. Announcements go
/// out only when the instance has virtual addresses (the seed, keepalived 0.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announce {
    /// `garp_master_repeat`: announcements in each burst on becoming MASTER (default 5).
    pub master_repeat: u32,
    /// `garp_master_delay`: a second burst this long after becoming MASTER (default 5 s; zero:
    /// no second burst).
    pub master_delay: Duration,
    /// `garp_master_refresh`: re-announce periodically while MASTER (default off).
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: announcements in each refresh burst (default 1).
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_repeat`: announcements in the burst a MASTER sends when it hears a lower
    /// priority (re-announcing after a split brain heals; keepalived issues #166, #1884).
    /// Default: `master_repeat`.
    pub lower_prio_repeat: u32,
    /// `garp_lower_prio_delay`: a second burst this long after hearing a lower priority.
    /// Default: `master_delay`.
    pub lower_prio_delay: Duration,
    /// IPv6: set the Router flag in unsolicited neighbour advertisements. RFC 5798 sections
    /// 6.4.1 and 6.4.2 ask for it (the virtual router is a router); keepalived 2.2.7 sends only
    /// the Override flag. Default: the RFC (true); `false` reproduces keepalived's frames.
    pub na_router_flag: bool,
    /// keepalived.conf(5) `garp_extra_if [all] SECS` (global `vrrp_garp_extra_if`): while
    /// MASTER, at the first advert at least this long after the previous such announcement (or
    /// after becoming MASTER), one gratuitous ARP / unsolicited NA on each interface other than
    /// the instance's that carries a virtual or excluded address, for the first such address
    /// ([`on_other_interface`]), so that switches keep that interface's MAC address in their
    /// tables. `None`: off (the default, and what keepalived turns it into when no address is
    /// on another interface).
    pub extra_if: Option<Duration>,
    /// `garp_extra_if all`: [`Announce::extra_if`] covers every other interface, not only the
    /// macvlans of addresses (keepalived's `VRRP_FLAG_VMAC_GARP_ALL_IF`).
    pub extra_if_all: bool,
}

/// Whether a virtual address goes on an interface other than the instance's `interface`: it
/// names another `dev` (keepalived 2.2.7 `vrrp_complete_instance`'s `use_extra_if`; an address
/// whose `dev` is the instance's own interface stays on the instance's interface or its
/// `use_vmac` macvlan, as keepalived puts it).
pub fn on_other_interface(v: &VirtualAddress, interface: &str) -> bool {
    v.vmac || v.dev.as_deref().is_some_and(|d| d != interface)
}

/// Whether `garp_extra_if` announces `v` (keepalived 2.2.7 `vrrp_send_vmac_update`): an address
/// on a macvlan of its own always ([`VirtualAddress::vmac`], an interface keepalived made), one
/// on another plain interface only with `all`.
pub fn extra_if_announces(v: &VirtualAddress, interface: &str, all: bool) -> bool {
    v.vmac || (all && on_other_interface(v, interface))
}

impl Default for Announce {
    fn default() -> Self {
        Announce {
            master_repeat: 5,
            master_delay: Duration::from_secs(5),
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
            na_router_flag: true,
            extra_if: None,
            extra_if_all: false,
        }
    }
}

/// What an instance watches, and how it weighs it (keepalived's `track_*` blocks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// The tracked object.
    pub target: TrackTarget,
    /// Weight. Interface or script: a positive weight is added to the priority while the object
    /// is up, a negative one while it is down; 0 means "down puts the instance in FAULT".
    /// File: the file's value times the weight is added (0: a non-zero value means FAULT).
    pub weight: i32,
    /// `reverse`: the direction of the adjustment is reversed (a positive weight is added while
    /// down, a negative one while up; a file's value is negated).
    pub reverse: bool,
}

/// A tracked object, by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrackTarget {
    /// A network interface's link (`track_interface`).
    Interface(String),
    /// A check program (`track_script`, naming a `vrrp_script`).
    Script(String),
    /// A file holding a number (`track_file`, naming a `vrrp_track_file`).
    File(String),
    /// Running processes with a quorum (`track_process`, naming a `vrrp_track_process`): up
    /// while the runner counts between `quorum` and `quorum_max` of them (after its delays,
    /// [`crate::track_process`]); weighted like a script.
    Process(String),
}

/// A check program as the engine sees it (keepalived's `vrrp_script`): the runner runs it and
/// reports each result; the engine applies the counts and the timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptConfig {
    /// Its name.
    pub name: String,
    /// How often it runs (keepalived's `interval`, default 1 s): first at start, then one
    /// interval after the previous due time ([`crate::Action::RunCheck`], `checks.rs`).
    pub interval: Duration,
    /// Consecutive successes needed to go up (default 1).
    pub rise: u32,
    /// Consecutive failures needed to go down (default 1).
    pub fall: u32,
    /// A run longer than this counts as a failure, whatever its exit status (the seed's
    /// MISC_CHECK rule).
    pub timeout: Duration,
    /// `init_fail`: start in the failed state rather than up.
    pub init_fail: bool,
}

/// A tracked file as the engine sees it (keepalived's `vrrp_track_file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFileConfig {
    /// Its name.
    pub name: String,
    /// The value assumed until the runner reports one (keepalived's `init_file` value, default 0).
    pub initial: i64,
}

/// A tracked set of processes (keepalived's `vrrp_track_process`) as the engine sees it: up or
/// down, as the runner reports with [`crate::Input::TrackProcess`] (the runner counts the
/// processes and applies the quorum and delays with [`crate::track_process::Quorum`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackProcessConfig {
    /// Its name.
    pub name: String,
}

/// Instances that must change state together (keepalived's `vrrp_sync_group`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupConfig {
    /// Its name (notifications say `GROUP name`).
    pub name: String,
    /// Member instance names.
    pub members: Vec<String>,
    /// `sync_group_tracking_weight`: let members' weighted trackers change their priority.
    /// Without it, any failed tracker of a member puts the group in FAULT, whatever its weight
    /// (see the crate docs, "Sync groups").
    pub tracking_weight: bool,
}

impl InstanceConfig {
    /// Whether, while MASTER, packets addressed to (or sent from) the virtual addresses must be
    /// dropped: RFC 5798 section 6.4.3, a MASTER with Accept_Mode False that is not the address
    /// owner "MUST NOT accept packets addressed to the IPvX address(es) associated with the
    /// virtual router" (keepalived: `no_accept`, the default under `vrrp_strict`; the runner
    /// installs keepalived's nftables drop rules for them).
    pub fn drops_vip_traffic(&self) -> bool {
        !self.accept && self.priority != 255
    }

    /// An instance with keepalived's defaults: priority 100, 1 s adverts, preemption on, no
    /// authentication, multicast, RFC checksums sent (both VRRPv3-over-IPv4 forms accepted).
    pub fn new(name: &str, interface: &str, vrid: u8, version: Version, family: Family) -> Self {
        InstanceConfig {
            name: name.to_string(),
            interface: interface.to_string(),
            family,
            vrid,
            version,
            priority: DEFAULT_PRIORITY,
            advert_interval: Duration::from_secs(1),
            want_state: WantState::ByPriority,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: false,
            virtual_addresses: Vec::new(),
            auth: Auth::None,
            unicast_peers: Vec::new(),
            mcast_group: None,
            source: None,
            checksum_policy: ChecksumPolicy::Either,
            v3_checksum_plain: false,
            advert_on_lower_priority: true,
            advert_on_higher_priority: false,
            dont_track_primary: false,
            promote_secondaries: false,
            unicast_send_ttl: None,
            old_unicast_checksum: OldUnicastChecksum::Detect,
            check_address_list: true,
            unicast_ttl: Vec::new(),
            check_unicast_src: false,
            unicast_no_peers_fault: false,
            track: Vec::new(),
            track_group_tracks: 0,
            implied_tracks: 0,
            announce: Announce::default(),
            down_timer_adverts: DEFAULT_DOWN_TIMER_ADVERTS,
            excluded_addresses: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
        }
    }

    /// The multicast group of this instance: the configured one, else the family's RFC group.
    pub fn multicast_group(&self) -> IpAddr {
        self.mcast_group
            .unwrap_or_else(|| self.family.multicast_group())
    }

    /// The checksum form of this instance's adverts: keepalived's `v3_checksum_as_v2` for
    /// VRRPv3 over IPv4, else what the policy sends.
    pub fn send_checksum_form(&self) -> ChecksumForm {
        if self.v3_checksum_plain && self.version == Version::V3 && self.family == Family::V4 {
            ChecksumForm::Plain
        } else {
            self.checksum_policy.emit_form(self.version, self.family)
        }
    }

    /// Builder: set the priority.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Builder: set the advertisement interval.
    pub fn advert_interval(mut self, interval: Duration) -> Self {
        self.advert_interval = interval;
        self
    }

    /// Builder: add virtual addresses.
    pub fn vips<I: IntoIterator<Item = IpAddr>>(mut self, addrs: I) -> Self {
        self.virtual_addresses
            .extend(addrs.into_iter().map(VirtualAddress::new));
        self
    }

    /// Builder: turn preemption off (`nopreempt`).
    pub fn nopreempt(mut self) -> Self {
        self.preempt = false;
        self
    }

    /// Builder: set `preempt_delay`.
    pub fn preempt_delay(mut self, delay: Duration) -> Self {
        self.preempt_delay = delay;
        self
    }
}

/// Everything one engine runs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EngineConfig {
    /// The instances.
    pub instances: Vec<InstanceConfig>,
    /// Sync groups over the instances.
    pub sync_groups: Vec<SyncGroupConfig>,
    /// Check programs that instances track.
    pub scripts: Vec<ScriptConfig>,
    /// Files that instances track.
    pub track_files: Vec<TrackFileConfig>,
    /// keepalived.conf(5) `vrrp_startup_delay`: after [`crate::Input::Start`], every instance
    /// stays in INIT this long before it starts (a network that is slow to come up at boot).
    pub startup_delay: Duration,
    /// Process sets that instances track (down until the runner reports them).
    pub track_processes: Vec<TrackProcessConfig>,
    /// keepalived.conf(5) `interface_up_down_delays`: per interface, how long a link change
    /// must last before the instances see it.
    pub link_delays: Vec<LinkDelay>,
    /// keepalived's per-interface announcement gates (`vrrp_garp_interval`,
    /// `vrrp_gna_interval`, `garp_group`).
    pub announce_gates: AnnounceGates,
}

/// The minimum spacing of gratuitous ARPs / unsolicited NAs on an interface, shared by every
/// instance that announces there (keepalived 2.2.7 `garp_delay_t`, vrrp_arp.c / vrrp_ndisc.c):
/// an announcement asked for before the interface's gate opens is only marked pending (one mark
/// per address, so the repeats of a burst collapse into one) and goes when the gate opens.
/// keepalived.conf(5): `vrrp_garp_interval` / `vrrp_gna_interval` are the gate of every
/// interface that no `garp_group` names. Zero: no gate (back to back, the default).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AnnounceGates {
    /// `vrrp_garp_interval`: every interface's default gratuitous ARP gate.
    pub garp_interval: Duration,
    /// `vrrp_gna_interval`: every interface's default unsolicited NA gate.
    pub gna_interval: Duration,
    /// `garp_group { garp_interval X; gna_interval Y; interface IF | interfaces { ... } }`: the
    /// gates of the named interfaces, instead of the defaults (an interval the group leaves out
    /// is no gate there, as in keepalived).
    pub groups: Vec<GarpGroup>,
    /// The system's macvlan and ipvlan interfaces with their lower interface, `(name, lower)`
    /// (the runner lists them; not in keepalived.conf): an announcement on such an interface
    /// goes through its lower interface's gate, as keepalived 2.2.7 sends it
    /// (vrrp_arp.c / vrrp_ndisc.c `IF_BASE_IFP`: one `garp_delay_t` for an interface and its
    /// macvlans; a `garp_group` naming a macvlan is ignored at parse time).
    pub bases: Vec<(String, String)>,
}

/// One `garp_group` block.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GarpGroup {
    /// `garp_interval` (zero: none).
    pub garp_interval: Duration,
    /// `gna_interval` (zero: none).
    pub gna_interval: Duration,
    /// `interface IF` / `interfaces { IF ... }`.
    pub interfaces: Vec<String>,
}

impl AnnounceGates {
    /// The interface whose gate `name`'s announcements go through: its lower interface when
    /// it is a macvlan or ipvlan ([`AnnounceGates::bases`]), else itself.
    pub fn gate_interface<'a>(&'a self, name: &'a str) -> &'a str {
        self.bases
            .iter()
            .find(|(vlan, _)| vlan == name)
            .map_or(name, |(_, lower)| lower.as_str())
    }

    /// The (ARP, NA) gate intervals of interface `name`: its `garp_group`'s, else the defaults.
    pub fn of(&self, name: &str) -> [Duration; 2] {
        match self
            .groups
            .iter()
            .find(|g| g.interfaces.iter().any(|i| i == name))
        {
            Some(g) => [g.garp_interval, g.gna_interval],
            None => [self.garp_interval, self.gna_interval],
        }
    }
}

/// One line of `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkDelay {
    /// The interface.
    pub interface: String,
    /// How long the link must stay down before the instances see it down.
    pub down: Duration,
    /// How long the link must stay up before the instances see it up.
    pub up: Duration,
}

impl EngineConfig {
    /// A configuration of lone instances.
    pub fn instances(instances: Vec<InstanceConfig>) -> Self {
        EngineConfig {
            instances,
            ..Default::default()
        }
    }
}

/// keepalived's handling of the old VRRPv3 unicast checksum (keepalived 1.3.6 and earlier put
/// the IPv4 multicast group, not the unicast peer, in the checksum's pseudo-header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OldUnicastChecksum {
    /// keepalived's default: send the RFC form; when a unicast advert checks only in the old
    /// form, accept it and send the old form from then on ("Setting unicast VRRPv3 checksum to
    /// old version").
    #[default]
    Detect,
    /// `old_unicast_checksum`: send the old form and expect it.
    Always,
    /// `old_unicast_checksum never`: the RFC form only.
    Never,
}

/// The RFCs' number of missed adverts before a BACKUP takes over (RFC 3768 / RFC 5798 section
/// 6.1: Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time).
pub const DEFAULT_DOWN_TIMER_ADVERTS: u32 = 3;

/// Why an [`EngineConfig`] cannot be run. The keepalived.conf parser reports these with file,
/// line and column before they get here; this is the engine's own last line of defence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// VRID 0.
    VridZero {
        /// Instance name.
        instance: String,
    },
    /// Priority 0 (reserved for a leaving master).
    PriorityZero {
        /// Instance name.
        instance: String,
    },
    /// The interval does not fit the version (v2: whole seconds 1..=255; v3: 10 ms..=40.95 s in
    /// steps of 10 ms).
    BadInterval {
        /// Instance name.
        instance: String,
    },
    /// `down_timer_adverts` outside 1..=100 (keepalived's range).
    BadDownTimerAdverts {
        /// Instance name.
        instance: String,
    },
    /// VRRPv2 over IPv6.
    V2OverIpv6 {
        /// Instance name.
        instance: String,
    },
    /// No virtual address, or more than 255, or one of another family.
    BadVirtualAddresses {
        /// Instance name.
        instance: String,
    },
    /// v3 with authentication.
    AuthWithV3 {
        /// Instance name.
        instance: String,
    },
    /// Two instances with the same interface, family and VRID.
    DuplicateVrid {
        /// First instance.
        first: String,
        /// Second instance.
        second: String,
    },
    /// Two instances with the same name.
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A sync group, track entry or script names something that does not exist.
    UnknownName {
        /// Where the name appears.
        context: String,
        /// The missing name.
        name: String,
    },
    /// An instance is a member of two sync groups, or a group has no member.
    BadSyncGroup {
        /// The group.
        group: String,
    },
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::VridZero { instance } => write!(f, "{instance}: VRID 0 is not valid"),
            SetupError::PriorityZero { instance } => {
                write!(f, "{instance}: priority 0 is reserved")
            }
            SetupError::BadInterval { instance } => {
                write!(
                    f,
                    "{instance}: advertisement interval does not fit the VRRP version"
                )
            }
            SetupError::BadDownTimerAdverts { instance } => {
                write!(f, "{instance}: down_timer_adverts must be in 1..=100")
            }
            SetupError::V2OverIpv6 { instance } => write!(f, "{instance}: VRRPv2 over IPv6"),
            SetupError::BadVirtualAddresses { instance } => {
                write!(
                    f,
                    "{instance}: needs at most 255 virtual addresses, all of its family"
                )
            }
            SetupError::AuthWithV3 { instance } => {
                write!(f, "{instance}: authentication is VRRPv2 only")
            }
            SetupError::DuplicateVrid { first, second } => {
                write!(f, "{first} and {second} share interface, family and VRID")
            }
            SetupError::DuplicateName { name } => write!(f, "two instances named {name}"),
            SetupError::UnknownName { context, name } => {
                write!(f, "{context}: no such name {name}")
            }
            SetupError::BadSyncGroup { group } => {
                write!(
                    f,
                    "sync group {group}: empty, or a member already in another group"
                )
            }
        }
    }
}

impl std::error::Error for SetupError {}

impl InstanceConfig {
    /// Check the rules the engine depends on.
    pub fn validate(&self) -> Result<(), SetupError> {
        let instance = self.name.clone();
        if self.vrid == 0 {
            return Err(SetupError::VridZero { instance });
        }
        if self.priority == 0 {
            return Err(SetupError::PriorityZero { instance });
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(SetupError::BadDownTimerAdverts { instance });
        }
        if self.version == Version::V2 && self.family == Family::V6 {
            return Err(SetupError::V2OverIpv6 { instance });
        }
        if crate::instance::wire_interval(self.version, self.advert_interval).is_none() {
            return Err(SetupError::BadInterval { instance });
        }
        // None at all is allowed (keepalived's `no_virtual_ipaddress`, cloud floating addresses
        // moved by notify scripts); the configuration layer decides when (keepalived's rules).
        let n = self.virtual_addresses.len();
        if n > 255
            || self
                .virtual_addresses
                .iter()
                .any(|v| Family::of(&v.addr) != self.family)
        {
            return Err(SetupError::BadVirtualAddresses { instance });
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(SetupError::AuthWithV3 { instance });
        }
        Ok(())
    }

    /// The addresses as they go in adverts (shared with every advert action, no copy).
    pub(crate) fn advert_addrs(&self) -> Arc<[IpAddr]> {
        self.virtual_addresses.iter().map(|v| v.addr).collect()
    }
}
