//! What goes into the engine ([`Input`]) and what comes out ([`Action`]).
//!
//! Actions carry typed values. Shared lists (the advertised addresses, the virtual addresses, the
//! unicast peers) are reference-counted slices owned by the instance, so producing an action never
//! allocates.

use core::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::setup::{VirtualAddress, VirtualRoute, VirtualRule};
use crate::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, EmitError, Family, Interval, IpContext, Version,
};

/// An interface known to the engine: the index of an interface name that some instance uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfaceId(pub u16);

/// A virtual router instance: its index in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub u32);

/// A check program (`vrrp_script`): its index in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScriptId(pub u16);

/// A tracked file (`vrrp_track_file`): its index in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u16);

/// A tracked process set (`vrrp_track_process`): its index in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessId(pub u16);

/// A sync group: its index in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u16);

/// How one run of a check program ended, as the runner saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckResult {
    /// Exit status 0.
    Success,
    /// Non-zero exit status, or killed by a signal.
    Failure,
    /// The runner killed it at its timeout.
    Timeout,
}

/// A packet received on a raw VRRP socket, as the runner hands it over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Received<'a> {
    /// The interface it arrived on.
    pub iface: IfaceId,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the group, or our unicast address).
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit as received.
    pub ttl: u8,
    /// The VRRP message (the IP payload).
    pub payload: &'a [u8],
}

/// An event for the engine.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Start every instance (INIT -> BACKUP, MASTER or FAULT). Report interface state and
    /// addresses first, so that the first decisions use them.
    Start,
    /// A received VRRP packet.
    Packet(Received<'a>),
    /// An interface's link (carrier) went up or down.
    Link {
        /// The interface.
        iface: IfaceId,
        /// True when the link is up.
        up: bool,
    },
    /// The interface's own address of a family changed: IPv4 primary address, or IPv6 link-local
    /// address (`None` when it has none). Adverts are sent from it, and ties between equal
    /// priorities are broken on it (RFC 5798 section 6.4.3).
    PrimaryAddress {
        /// The interface.
        iface: IfaceId,
        /// The family.
        family: Family,
        /// The address, or `None` when removed.
        addr: Option<IpAddr>,
    },
    /// A check program finished a run. The engine decides what it means: a run that took longer
    /// than the script's timeout is a failure whatever its status (the seed's MISC_CHECK rule),
    /// then the rise / fall counts apply.
    Check {
        /// The script.
        script: ScriptId,
        /// How it ended.
        result: CheckResult,
        /// How long it ran.
        ran_for: core::time::Duration,
    },
    /// A tracked file's value (the number it holds; 0 when unreadable or not a number, like
    /// keepalived).
    TrackFile {
        /// The file.
        file: FileId,
        /// Its value.
        value: i64,
    },
    /// A tracked process set went up (enough matching processes run, within its quorum) or
    /// down, as the runner decided with [`crate::track_process::Quorum`] after its delays.
    TrackProcess {
        /// The process set.
        process: ProcessId,
        /// True when its quorum is met.
        up: bool,
    },
    /// One of an instance's virtual addresses was removed from its interface by someone else
    /// (not by the runner): keepalived 2.x's deletion tracking, see `engine/deleted.rs`. A
    /// MASTER leaves for BACKUP and comes back after Skew_Time unless the address is `no_track`.
    AddressDeleted {
        /// The instance whose address it is.
        instance: InstanceId,
        /// The address.
        addr: IpAddr,
    },
    /// One of an instance's `virtual_routes` (by its index in the configuration) was deleted
    /// by someone else: handled as [`Input::AddressDeleted`] (keepalived_netlink.c
    /// `netlink_route_filter`), unless the route is `no_track` (or has no `dev`).
    RouteDeleted {
        /// The instance whose route it is.
        instance: InstanceId,
        /// Index in the instance's `virtual_routes`.
        index: usize,
    },
    /// One of an instance's `virtual_rules` was deleted by someone else (`netlink_rule_filter`):
    /// as [`Input::RouteDeleted`].
    RuleDeleted {
        /// The instance whose rule it is.
        instance: InstanceId,
        /// Index in the instance's `virtual_rules`.
        index: usize,
    },
    /// Stop every instance gracefully: masters send priority 0 and remove their addresses; all go
    /// INIT (RFC 5798 section 6.4.3, "Shutdown event").
    Shutdown,
    /// The runner's receive queue of an interface (a socket's receive buffer): what it could not
    /// hand over. A Master_Down_Timer that falls due while adverts wait unread, or after the
    /// queue lost adverts during the timer's run, is extended once by one Master_Adver_Interval
    /// instead of taking over (read before deciding: an advert that reached the host but not the
    /// engine is no evidence that the master is down). Report it after reading, before
    /// [`crate::Engine::handle_timeout`]; `pending: false` once the queue was read empty.
    ReceiveQueue {
        /// The interface.
        iface: IfaceId,
        /// Packets still wait unread in the queue (the runner's read budget ran out).
        pending: bool,
        /// Packets the queue lost (overflow) since the previous report.
        lost: u32,
    },
}

/// The states of an instance: RFC 5798's Initialize, Backup and Master (RFC 9568's Active), and
/// keepalived's FAULT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Initialize: not started, or shut down.
    Init,
    /// Backup: listening, ready to take over.
    Backup,
    /// Master (RFC 9568 "Active"): forwarding for the virtual addresses and advertising.
    Master,
    /// FAULT (keepalived): cannot serve (a link or a tracked check is down); silent, no addresses.
    Fault,
}

impl State {
    /// keepalived's name for the state, what operators grep for.
    pub const fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }

    /// Whether the seed's state diagram has an edge from `self` to `to`:
    /// INIT -> BACKUP | MASTER | FAULT; BACKUP <-> MASTER; BACKUP, MASTER -> FAULT;
    /// FAULT -> BACKUP | MASTER; and BACKUP, MASTER, FAULT -> INIT on shutdown.
    pub const fn can_go_to(self, to: State) -> bool {
        matches!(
            (self, to),
            (State::Init, State::Backup | State::Master | State::Fault)
                | (State::Backup, State::Master | State::Fault | State::Init)
                | (State::Master, State::Backup | State::Fault | State::Init)
                | (State::Fault, State::Backup | State::Master | State::Init)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a priority change is reported (keepalived's `send_instance_priority_notifies`): as a
/// MASTER's, or as a BACKUP's for every other state (BACKUP, FAULT, INIT), after the state the
/// instance was in when its priority changed. The engine decides; runners only write the word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PriorityReport {
    /// The instance was MASTER (keepalived's FIFO word `MASTER_PRIORITY`).
    Master,
    /// The instance was in any other state (`BACKUP_PRIORITY`).
    Backup,
}

impl PriorityReport {
    /// The report for an instance in state `state`.
    pub const fn of(state: State) -> PriorityReport {
        match state {
            State::Master => PriorityReport::Master,
            State::Backup | State::Fault | State::Init => PriorityReport::Backup,
        }
    }
}

/// Why an instance changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Start-up: INIT -> BACKUP (wait Master_Down_Interval before taking over).
    Startup,
    /// Start-up or fault recovery of the address owner (priority 255): straight to MASTER.
    AddressOwner,
    /// Master_Down_Timer expired: no master heard for Master_Down_Interval (or Skew_Time after a
    /// priority-0 advert).
    MasterDownTimer,
    /// A master heard a higher priority, or the same priority from a higher primary address.
    HigherPriorityHeard,
    /// The instance's interface lost its link.
    LinkDown,
    /// The instance's interface has no source address of the instance's family.
    NoSourceAddress,
    /// `unicast_fault_no_peer`: unicast settings and no `unicast_peer`; the instance stays in
    /// FAULT while the configuration is loaded (keepalived's configuration fault).
    NoUnicastPeers,
    /// Every fault cleared.
    FaultCleared,
    /// Administrative shutdown.
    Shutdown,
    /// A tracked check program or file failed (weight 0, or a member of a sync group without
    /// `sync_group_tracking_weight`).
    TrackerFailed,
    /// A tracked interface (not the instance's own) lost its link.
    TrackedInterfaceDown,
    /// The instance moved with its sync group, because of another member.
    SyncGroup,
    /// Someone else removed one of its virtual addresses while it was MASTER (keepalived 2.x
    /// leaves MASTER and comes back after Skew_Time).
    AddressDeleted,
    /// Someone else deleted one of its virtual routes while it was MASTER.
    RouteDeleted,
    /// Someone else deleted one of its virtual rules while it was MASTER.
    RuleDeleted,
}

impl Reason {
    /// A short stable name for logs, traces and notifications.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::AddressOwner => "address-owner",
            Reason::MasterDownTimer => "master-down-timer",
            Reason::HigherPriorityHeard => "higher-priority-heard",
            Reason::LinkDown => "link-down",
            Reason::NoSourceAddress => "no-source-address",
            Reason::NoUnicastPeers => "no-unicast-peers",
            Reason::FaultCleared => "fault-cleared",
            Reason::Shutdown => "shutdown",
            Reason::TrackerFailed => "tracker-failed",
            Reason::TrackedInterfaceDown => "tracked-interface-down",
            Reason::SyncGroup => "sync-group",
            Reason::AddressDeleted => "address-deleted",
            Reason::RouteDeleted => "route-deleted",
            Reason::RuleDeleted => "rule-deleted",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an advert goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The family's VRRP group (224.0.0.18 or ff02::12).
    Multicast(IpAddr),
    /// Each of the unicast peers, one packet each.
    Unicast(Arc<[IpAddr]>),
}

/// Send one advertisement (to each destination).
#[derive(Clone, Debug, PartialEq)]
pub struct SendAdvert {
    /// The instance sending it.
    pub instance: InstanceId,
    /// The interface to send on.
    pub iface: IfaceId,
    /// Protocol version.
    pub version: Version,
    /// VRID.
    pub vrid: u8,
    /// Priority carried (0 when leaving MASTER).
    pub priority: u8,
    /// Advertisement interval.
    pub interval: Interval,
    /// Advertised addresses.
    pub addrs: Arc<[IpAddr]>,
    /// v2 authentication.
    pub auth: Auth,
    /// Checksum form.
    pub checksum: ChecksumForm,
    /// keepalived's old VRRPv3 unicast checksum (before 1.3.6; `old_unicast_checksum`, or
    /// detected from a peer): the pseudo-header names this address (the IPv4 multicast group)
    /// instead of each unicast destination. `None`: the RFC form.
    pub checksum_dst: Option<IpAddr>,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination(s).
    pub dst: Destination,
    /// The TTL / hop limit to send with when it is not 255 (keepalived's `unicast_ttl`, for
    /// unicast destinations only).
    pub ttl: Option<u8>,
}

impl SendAdvert {
    /// The typed advert.
    pub fn advert(&self) -> Advert<'_> {
        Advert {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            interval: self.interval,
            addrs: Addrs::List(&self.addrs),
            auth: self.auth,
            checksum: self.checksum,
            trailing: 0,
        }
    }

    /// The destination addresses, one packet each.
    pub fn destinations(&self) -> &[IpAddr] {
        match &self.dst {
            Destination::Multicast(g) => core::slice::from_ref(g),
            Destination::Unicast(peers) => peers,
        }
    }

    /// Encode the VRRP message for destination `dst` into `buf` through the engine's codec (the
    /// v3 checksum covers the destination); returns its length.
    pub fn encode(&self, dst: IpAddr, buf: &mut [u8]) -> Result<usize, EmitError> {
        let dst = self.checksum_dst.unwrap_or(dst);
        wire::emit(&self.advert(), &IpContext { src: self.src, dst }, buf)
    }
}

/// What the engine asks the runner to do, or tells it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Send an advertisement.
    SendAdvert(SendAdvert),
    /// Add the virtual addresses (the instance became MASTER).
    AddAddresses {
        /// The instance.
        instance: InstanceId,
        /// The instance's interface (a [`VirtualAddress::dev`] overrides it).
        iface: IfaceId,
        /// The addresses.
        addrs: Arc<[VirtualAddress]>,
    },
    /// Remove the virtual addresses (the instance left MASTER).
    RemoveAddresses {
        /// The instance.
        instance: InstanceId,
        /// The instance's interface.
        iface: IfaceId,
        /// The addresses.
        addrs: Arc<[VirtualAddress]>,
    },
    /// Add the excluded addresses (keepalived's `virtual_ipaddress_excluded`): the instance
    /// became MASTER; they follow its virtual addresses but are never advertised.
    AddExcludedAddresses {
        /// The instance.
        instance: InstanceId,
        /// The instance's interface (a [`VirtualAddress::dev`] overrides it).
        iface: IfaceId,
        /// The addresses.
        addrs: Arc<[VirtualAddress]>,
    },
    /// Remove the excluded addresses (the instance left MASTER), after its virtual addresses.
    RemoveExcludedAddresses {
        /// The instance.
        instance: InstanceId,
        /// The instance's interface.
        iface: IfaceId,
        /// The addresses.
        addrs: Arc<[VirtualAddress]>,
    },
    /// Install routes (keepalived's `virtual_routes`): the instance became MASTER; they come
    /// after its addresses, which a route may use as its source.
    AddRoutes {
        /// The instance.
        instance: InstanceId,
        /// The routes.
        routes: Arc<[VirtualRoute]>,
    },
    /// Remove routes (the instance left MASTER): before its addresses.
    RemoveRoutes {
        /// The instance.
        instance: InstanceId,
        /// The routes.
        routes: Arc<[VirtualRoute]>,
    },
    /// Install policy routing rules (keepalived's `virtual_rules`): the instance became
    /// MASTER; they come after its routes.
    AddRules {
        /// The instance.
        instance: InstanceId,
        /// The rules.
        rules: Arc<[VirtualRule]>,
    },
    /// Remove rules (the instance left MASTER): first, before its routes.
    RemoveRules {
        /// The instance.
        instance: InstanceId,
        /// The rules.
        rules: Arc<[VirtualRule]>,
    },
    /// Announce the addresses once each: a gratuitous ARP (IPv4) or an unsolicited neighbour
    /// advertisement (IPv6) per address, each on the interface it is on (its `dev`, else the
    /// instance's): the virtual addresses then the excluded ones, or, with `extra_if`, the
    /// first address of each other interface.
    Announce {
        /// The instance.
        instance: InstanceId,
        /// The interface to send on.
        iface: IfaceId,
        /// The addresses.
        addrs: Arc<[VirtualAddress]>,
        /// Whether an NA carries the Router flag (RFC 4861 section 4.4; RFC 5798 section
        /// 6.4.2's "Router" NA), beside Override: the instance's
        /// [`crate::setup::Announce::na_router_flag`]. Gratuitous ARP has no such flag.
        router: bool,
        /// `garp_extra_if`'s periodic announcement of the first address of each other
        /// interface ([`crate::setup::Announce::extra_if`]), not a step of a burst: a runner
        /// sends it the same way; the simulator's oracle judges it apart.
        extra_if: bool,
    },
    /// Run check program `script` (`vrrp_script`) now, and report how it ended with
    /// [`Input::Check`]. The engine keeps the schedule (first at start, then every `interval`
    /// on an absolute grid, a run never started while the previous one has not reported); the
    /// runner starts the process and ends it at `timeout` (reporting
    /// [`CheckResult::Timeout`]).
    RunCheck {
        /// The script.
        script: ScriptId,
        /// How long the run may take before the runner kills it.
        timeout: core::time::Duration,
    },
    /// An instance changed state.
    StateChange {
        /// The instance.
        instance: InstanceId,
        /// State before.
        from: State,
        /// State after.
        to: State,
        /// Effective priority at the time of the change.
        priority: u8,
        /// Why.
        reason: Reason,
    },
    /// A sync group changed state: all its members have moved, inside the call that emitted this
    /// (keepalived's `GROUP` notifications).
    GroupStateChange {
        /// The group.
        group: GroupId,
        /// State before.
        from: State,
        /// State after.
        to: State,
        /// The member whose transition moved the group, and why it moved.
        cause: (InstanceId, Reason),
    },
    /// A MASTER heard an advert of lower priority (or of equal priority from a lower address):
    /// another router believes it is master, typically after a split brain heals. The engine
    /// has already answered (an advert at once, RFC 9568, and a re-announcement); this is for
    /// keepalived's `notify_master_rx_lower_pri` and the FIFO's `MASTER_RX_LOWER_PRI` line.
    LowerPriorityHeard {
        /// The instance.
        instance: InstanceId,
        /// The other router's address.
        src: IpAddr,
        /// The priority it advertised.
        priority: u8,
    },
    /// An instance's effective priority changed (tracking). Takes effect in the next advert and
    /// the next Skew_Time computation.
    PriorityChange {
        /// The instance.
        instance: InstanceId,
        /// Before.
        from: u8,
        /// After.
        to: u8,
        /// Whether the instance was MASTER when its priority changed: keepalived's FIFO line
        /// says `MASTER_PRIORITY` or `BACKUP_PRIORITY` after it.
        report: PriorityReport,
    },
    /// A line for the operator's log about another router (a dropped advert, a differing
    /// interval, two address owners), already rate-limited by the engine ([`crate::notices`]).
    /// Runners log it at WARNING level.
    Notice(crate::notices::Notice),
    /// A received packet was dropped (it is also counted in the statistics). One per packet,
    /// not rate-limited: for counters and traces; the log line is [`Action::Notice`].
    ProtocolError {
        /// The interface it arrived on.
        iface: IfaceId,
        /// The instance it reached, if any.
        instance: Option<InstanceId>,
        /// Its IP source.
        src: IpAddr,
        /// The rule it failed.
        rule: DropReason,
    },
}

/// Why a received packet was dropped: one variant per counter of
/// [`crate::stats::InstanceStats`] / [`crate::stats::RouterStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The VRID is not configured on the interface for the family.
    VridNotConfigured,
    /// Shorter than 2 bytes.
    TooShortForVrid,
    /// Unknown interface or mixed families.
    UnknownInterfaceOrFamily,
    /// TTL / hop limit not 255.
    Ttl(u8),
    /// Version not the configured one.
    Version(u8),
    /// The codec rejected it.
    Malformed(wire::ParseError),
    /// We are the address owner.
    OwnerDiscard,
    /// Address list differs from ours and the sender is not the owner.
    AddressList,
    /// v2 interval differs from ours.
    AdvertInterval,
    /// v2 auth type differs from ours.
    AuthTypeMismatch,
    /// v2 password differs from ours.
    AuthFailure,
    /// `check_unicast_src`: the source is not a configured unicast peer.
    UnicastSource,
}

impl DropReason {
    /// A short stable name.
    pub const fn name(&self) -> &'static str {
        match self {
            DropReason::VridNotConfigured => "vrid_not_configured",
            DropReason::TooShortForVrid => "too_short",
            DropReason::UnknownInterfaceOrFamily => "unknown_interface_or_family",
            DropReason::Ttl(_) => "ttl",
            DropReason::Version(_) => "version",
            DropReason::Malformed(e) => e.rule(),
            DropReason::OwnerDiscard => "owner_discard",
            DropReason::AddressList => "address_list",
            DropReason::AdvertInterval => "advert_interval",
            DropReason::AuthTypeMismatch => "auth_type_mismatch",
            DropReason::AuthFailure => "auth_failure",
            DropReason::UnicastSource => "unicast_source",
        }
    }
}
