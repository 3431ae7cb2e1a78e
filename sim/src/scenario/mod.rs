//! Scenario files: the cluster, the network, the fault schedule and what must hold.
//!
//! A scenario is TOML (see `sim/README.md` for the format with examples). [`Scenario`] is the file
//! as written, every field optional where a default makes sense; [`Scenario::plan`] resolves it into
//! a [`Plan`]: engine configurations checked by [`vigil_engine::Engine::new`], node and segment
//! indices instead of names, faults sorted by time (a `flap` expanded into its link events).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::dur::Dur;

mod faults;
mod plan;
mod resolve;

pub(crate) use plan::err;
pub use plan::*;
pub use resolve::{instance_names, parse_mac, parse_state};

/// A scenario file as written.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports and replay commands.
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How long to run, in virtual time.
    pub duration: Dur,
    /// The seed used when the command line gives none (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The default network model of every segment.
    #[serde(default, skip_serializing_if = "NetworkSpec::is_empty")]
    pub network: NetworkSpec,
    /// L2 segments; by default one segment called `lan`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentSpec>,
    /// Instance templates: every node runs each of them (with its own priority) unless it lists
    /// instances of its own; a node's instance with a template's name overrides only the fields
    /// it gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSpec>,
    /// Check programs (keepalived's `vrrp_script`) every node has; their results come from the
    /// fault schedule (`do = "check"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<ScriptSpec>,
    /// Tracked files (keepalived's `vrrp_track_file`) every node has; values come from the fault
    /// schedule (`do = "track_file"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_files: Vec<TrackFileSpec>,
    /// Sync groups (keepalived's `vrrp_sync_group`): a node runs a group when it runs all of its
    /// members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<SyncGroupSpec>,
    /// The routers.
    pub nodes: Vec<NodeSpec>,
    /// The fault schedule: at `at`, do something.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// What must hold (checked in addition to the built-in invariants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<ExpectSpec>,
    /// Which built-in invariant families run (all by default).
    #[serde(default, skip_serializing_if = "ChecksSpec::is_default")]
    pub checks: ChecksSpec,
    /// The simulated real servers that health checkers probe (nodes whose keepalived.conf has
    /// `virtual_server` blocks run the checker engine); their health comes from `server` faults.
    #[serde(default, skip_serializing_if = "ServersSpec::is_default")]
    pub servers: ServersSpec,
}

/// How the simulated real servers answer a check.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServersSpec {
    /// How long an answer (or a refusal) takes (default 1ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Dur>,
    /// Extra time, uniform in 0..=jitter, drawn per run from the seed (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Dur>,
}

impl ServersSpec {
    fn is_default(&self) -> bool {
        *self == ServersSpec::default()
    }
}

/// A network model: every field optional, so that a segment or a `network` fault overrides only
/// what it names.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way delay of every frame (default 100us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Dur>,
    /// Extra delay, uniform in 0..=jitter, drawn per receiver and frame (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Dur>,
    /// Probability that a frame is lost on its way to one receiver (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Bursty loss (a Gilbert-Elliott channel per sender and receiver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<BurstSpec>,
    /// Probability that a frame reaches a receiver twice (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    /// Probability that a frame is held back by up to `reorder_delay`, so that later frames
    /// overtake it (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder: Option<f64>,
    /// The longest hold-back of a reordered frame (default 5ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_delay: Option<Dur>,
}

impl NetworkSpec {
    fn is_empty(&self) -> bool {
        *self == NetworkSpec::default()
    }

    /// `self` with the fields that `over` gives replaced.
    pub fn overridden_by(&self, over: &NetworkSpec) -> NetworkSpec {
        NetworkSpec {
            delay: over.delay.or(self.delay),
            jitter: over.jitter.or(self.jitter),
            loss: over.loss.or(self.loss),
            burst: over.burst.clone().or_else(|| self.burst.clone()),
            duplicate: over.duplicate.or(self.duplicate),
            reorder: over.reorder.or(self.reorder),
            reorder_delay: over.reorder_delay.or(self.reorder_delay),
        }
    }

    /// The concrete model, with defaults for what is not given.
    pub fn resolve(&self) -> Result<LinkModel, PlanError> {
        let prob = |name: &str, p: Option<f64>| -> Result<f64, PlanError> {
            let p = p.unwrap_or(0.0);
            if (0.0..=1.0).contains(&p) {
                Ok(p)
            } else {
                Err(PlanError(format!("network {name} = {p}: must be in 0..=1")))
            }
        };
        let burst = match &self.burst {
            None => None,
            Some(b) => Some(Burst {
                enter: prob("burst.enter", Some(b.enter))?,
                leave: prob("burst.leave", Some(b.leave))?,
                loss: prob("burst.loss", Some(b.loss.unwrap_or(1.0)))?,
            }),
        };
        Ok(LinkModel {
            delay: self.delay.unwrap_or(Dur::micros(100)).0,
            jitter: self.jitter.unwrap_or(Dur::ZERO).0,
            loss: prob("loss", self.loss)?,
            burst: burst.filter(|b| b.enter > 0.0),
            duplicate: prob("duplicate", self.duplicate)?,
            reorder: prob("reorder", self.reorder)?,
            reorder_delay: self.reorder_delay.unwrap_or(Dur::millis(5)).0,
        })
    }
}

/// Bursty loss: a two-state (Gilbert-Elliott) channel per sender and receiver.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    /// Probability, per frame in the good state, of entering the bad state.
    pub enter: f64,
    /// Probability, per frame in the bad state, of going back to the good state.
    pub leave: f64,
    /// Loss probability in the bad state (default 1: everything is lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
}

/// A check program: how the engine counts its results, and how often the simulated runner runs
/// it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptSpec {
    /// Name, as `track` entries reference it.
    pub name: String,
    /// How often the runner runs it (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Dur>,
    /// Successes to go up (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    /// Failures to go down (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
    /// A run longer than this is a failure (default: the interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    /// Start down (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub init_fail: bool,
}

/// A tracked file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrackFileSpec {
    /// Name.
    pub name: String,
    /// The value until the schedule sets one (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<i64>,
}

/// A sync group.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyncGroupSpec {
    /// Name.
    pub name: String,
    /// Member instance names.
    pub members: Vec<String>,
    /// `sync_group_tracking_weight` (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub tracking_weight: bool,
}

/// One tracked object of an instance: give exactly one of `interface`, `script`, `file`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrackSpec {
    /// A node interface's link (`track_interface`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// A check program (`track_script`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// A tracked file (`track_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Weight (default 0: down means FAULT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// `reverse` (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
}

/// An L2 segment (a bridge or a switch): every frame sent on it reaches every other member.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    /// Its name, referenced by node interfaces.
    pub name: String,
    /// Overrides of the scenario's network model for this segment.
    #[serde(default, skip_serializing_if = "NetworkSpec::is_empty")]
    pub network: NetworkSpec,
}

/// A router interface.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IfaceSpec {
    /// Interface name as the engine configuration uses it (`eth0`).
    pub name: String,
    /// The segment it is plugged into (default: the first segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Primary IPv4 address (the source of IPv4 adverts, and the tie-breaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 link-local address (the source of IPv6 adverts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// MAC address `02:00:00:00:00:01` (default: derived from the node and interface numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// A VRRP instance (keepalived's `vrrp_instance`), every field optional so that it can be a
/// template or an override.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    /// Instance name; instances with the same name on different nodes form one virtual router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Interface (default `eth0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// VRID (default 51).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrid: Option<u8>,
    /// VRRP version, 2 or 3 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    /// Priority (default: the node's `priority`, else 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Advertisement interval (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advert_interval: Option<Dur>,
    /// Preemption (default true; false is keepalived's `nopreempt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    /// keepalived's `preempt_delay` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempt_delay: Option<Dur>,
    /// Virtual addresses, `192.0.2.100` or `192.0.2.100/24`; the family follows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vips: Option<Vec<String>>,
    /// VRRPv2 simple password (`auth_type PASS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_pass: Option<String>,
    /// Unicast peers: addresses, or node names (their address on this segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_peers: Option<Vec<String>>,
    /// Checksum policy: `rfc` (default), `v3-plain` or `either`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// RFC 9568: a master answers a lower priority at once (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advert_on_lower_priority: Option<bool>,
    /// Tracked interfaces, scripts and files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<Vec<TrackSpec>>,
}

macro_rules! overlay {
    ($over:expr, $base:expr, $($f:ident),*) => {
        InstanceSpec { $($f: $over.$f.clone().or_else(|| $base.$f.clone()),)* }
    };
}

impl InstanceSpec {
    /// `base` with the fields that `self` gives replaced.
    pub fn over(&self, base: &InstanceSpec) -> InstanceSpec {
        overlay!(
            self,
            base,
            name,
            interface,
            vrid,
            version,
            priority,
            advert_interval,
            preempt,
            preempt_delay,
            vips,
            auth_pass,
            unicast_peers,
            checksum,
            advert_on_lower_priority,
            track
        )
    }
}

/// A router.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Its name (`r1`).
    pub name: String,
    /// Shorthand: the priority of every template instance on this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Shorthand: the primary IPv4 address of the default interface `eth0` (default
    /// 192.0.2.11, .12, ... by node order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    /// Shorthand: the link-local IPv6 address of the default interface (default fe80::11, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// Interfaces; by default one, `eth0`, on the first segment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<IfaceSpec>,
    /// Instances of this node (overrides of the templates by name, or instances of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSpec>,
    /// keepalived.conf text instead of `instances`, parsed and converted by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalived_conf: Option<String>,
    /// When the node boots (default 0s); `restart` and `start` faults boot it later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<Dur>,
    /// Do not boot at all until a `restart` fault (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub down: bool,
    /// The node's clock reads this much ahead of virtual time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset: Option<Dur>,
    /// The node's clock runs fast (positive) or slow (negative) by this many parts per million.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub drift_ppm: i64,
    /// Frames its socket receive buffer holds while its runner is not reading (stalled, or busy
    /// with earlier frames); later ones are lost and reported to the engine (default 256, about
    /// Linux's default 212,992-byte buffer at a small frame's truesize).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_buffer: Option<u32>,
    /// How long its runner takes to read and handle one frame (default 0: at once). With a
    /// cost, a burst of adverts (masters on one interval grid send together) waits in the
    /// socket buffer and is read one frame after another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_cost: Option<Dur>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(x: &i64) -> bool {
    *x == 0
}

/// What a fault does.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The node dies: its engine is dropped without a goodbye, its addresses vanish.
    Crash,
    /// A crashed or stopped node boots again: a new engine, `Input::Start`.
    Restart,
    /// Graceful stop (`Input::Shutdown`): a master sends priority 0.
    Stop,
    /// Start a stopped node's engine again (`Input::Start`, same engine).
    Start,
    /// The node's interface loses its link (carrier).
    LinkDown,
    /// The interface's link comes back.
    LinkUp,
    /// The interface's link goes down and up every `period` until `until`.
    Flap,
    /// Two-way partition of a segment into `groups` (nodes in no group form one more group).
    Partition,
    /// One-way partition: frames from `from` no longer reach `to`.
    Block,
    /// Remove every partition and block (of `segment`, or everywhere).
    Heal,
    /// Change the network model (of `segment`, or of every segment).
    Network,
    /// Reload a node with a new priority for an instance (`Engine::reload`, as on SIGHUP).
    SetPriority,
    /// The operator edits a node's keepalived.conf (`keepalived_conf`, the whole new file) and
    /// sends SIGHUP: instances may be added, removed or changed. A running node reloads in
    /// place (`Engine::reload_returning_stopped`, as vigild does); a stopped node's engine takes
    /// the new configuration without starting it; a crashed node boots with it later. With
    /// `refused = true` the file must be refused (a parse error, or a configuration the engine
    /// cannot run) and the node must go on exactly as before. The set of `vrrp_script` and
    /// `track_file` names must stay the same (the simulated runner keeps its checks).
    Reload,
    /// From now on the node's check program `script` ends with `result` (`ok`, `fail` or
    /// `timeout`) each time the runner runs it.
    Check,
    /// The node's process is frozen from `at` until `until` (SIGSTOP, a paused VM, a machine
    /// lost in swap): its engine is not called, its timers are not served and its checks are
    /// not run; frames that reach it wait in its socket buffer. When it resumes it reads them,
    /// in arrival order, and then serves every timer that fell due meanwhile, late: a MASTER
    /// must send one advert and rejoin its interval grid, not a burst to catch up. Only a crash
    /// may happen to the node during a stall (nothing else reaches a frozen process).
    Stall,
    /// The node's tracked `file` now holds `value`.
    TrackFile,
    /// A stranger's advert with one `defect` arrives on the node's interface (for `instance`):
    /// the receive checks of RFC 5798 section 7.1 must drop it and count it by name.
    Inject,
    /// The real server `server` (`ADDRESS:PORT`, as a checker reaches it) is now in `health`:
    /// `up` (answers after the latency; a MISC_CHECK exits with `exit`, default 0), `down`
    /// (refuses: connection refused, ICMP port unreachable, MISC_CHECK exit 1), `slow` (answers
    /// after `delay`), `hanging` (never answers: the run is abandoned at its deadline), or
    /// `flapping` (down and up every `period` until `until`, left up).
    Server,
}

/// What is wrong with an injected advert (`do = "inject"`): each one trips one receive check of
/// RFC 5798 section 7.1 (or keepalived's) and names one RFC 6527 counter.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// Sent with TTL / hop limit 64 instead of 255 (`ip_ttl_errors`).
    Ttl,
    /// The other VRRP version in the first nibble (`version_errors`).
    Version,
    /// One checksum bit flipped (`checksum_errors`).
    Checksum,
    /// Cut to 6 bytes, shorter than a VRRP header (`packet_length_errors`).
    Short,
    /// Type 2 instead of 1 (`invalid_type_received`).
    Type,
    /// A VRID no instance on the interface has (router-wide `vrid_errors`).
    Vrid,
    /// An address list that is not ours (`address_list_errors`, `address_list_drops`).
    Addresses,
    /// VRRPv2: another advertisement interval (`advert_interval_errors`).
    Interval,
    /// VRRPv2: another password (`auth_failures`), or one where none is configured
    /// (`auth_type_mismatch`).
    Auth,
    /// IPv4 source with the IPv6 group as destination, or the reverse (router-wide
    /// `unknown_interface_or_family`).
    Family,
    /// One byte: no VRID to look up (router-wide `packet_length_errors`).
    Empty,
    /// Not a defect: 4 bytes after the advert's content, which RFC 5798 does not forbid; it is
    /// accepted and counted (`trailing_bytes`).
    Trailing,
    /// Sent to the receiver's own address (unicast) with TTL 64: dropped by a multicast
    /// instance (`ip_ttl_errors`) and by a unicast one whose peer `from` has a TTL range without
    /// 64; otherwise a unicast instance accepts it (keepalived's rule).
    UnicastTtl,
    /// An address count of 0 (`address_count_zero`).
    NoAddresses,
    /// An advertisement interval of 0 (`advert_interval_errors`).
    IntervalZero,
    /// VRRPv2: authentication type 2, which RFC 3768 no longer defines (`invalid_auth_type`).
    AuthType,
    /// Handed to the engine with an interface id it never gave out (a runner's mistake; the
    /// engine counts it, router-wide `unknown_interface_or_family`, and must not fail).
    UnknownIface,
    /// Not a defect: IPv6 only, a link-local address before the virtual addresses (RFC 5798
    /// section 5.2.9's form); the address-list check skips it and the advert is accepted.
    LinkLocalFirst,
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Defect::Ttl => "ttl",
            Defect::Version => "version",
            Defect::Checksum => "checksum",
            Defect::Short => "length",
            Defect::Type => "type",
            Defect::Vrid => "vrid",
            Defect::Addresses => "address list",
            Defect::Interval => "interval",
            Defect::Auth => "password",
            Defect::Family => "address family",
            Defect::Empty => "length (one byte)",
            Defect::Trailing => "tail (4 bytes after the content)",
            Defect::UnicastTtl => "unicast TTL (64)",
            Defect::NoAddresses => "address count (0)",
            Defect::UnknownIface => "interface id",
            Defect::IntervalZero => "interval (0)",
            Defect::AuthType => "authentication type (2)",
            Defect::LinkLocalFirst => "leading link-local address",
        })
    }
}

/// One entry of the fault schedule. Which fields apply depends on `do`; see `sim/README.md`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When.
    pub at: Dur,
    /// What.
    #[serde(rename = "do")]
    pub kind: FaultKind,
    /// The node (crash, restart, stop, start, link_down, link_up, flap, set_priority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The interface (default: the node's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    /// The segment (partition, block, heal, network; default: the first, or every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Partition groups, by node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<String>>>,
    /// Block: the sender whose frames are lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Block: the receiver that no longer hears `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Flap: time between link changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Dur>,
    /// Flap: when flapping stops (the link is left up). Stall: when the node resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Dur>,
    /// Network: the new model (fields not given keep their value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
    /// SetPriority: the instance (default: the node's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// SetPriority: the new priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Check: the script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Check: `ok`, `fail` or `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// TrackFile: the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// TrackFile: the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// Inject: what is wrong with the advert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defect: Option<Defect>,
    /// Reload: the node's new keepalived.conf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalived_conf: Option<String>,
    /// Reload: the file must be refused (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<bool>,
    /// Server: the real server, `ADDRESS:PORT` (`[2001:db8::1]:80` for IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Server: `up`, `down`, `slow`, `hanging` or `flapping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// Server `slow`: how long an answer takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Dur>,
    /// Server `up` / `slow`: a MISC_CHECK's exit status (default 0; 2..=255 sets the weight
    /// under `misc_dynamic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<u8>,
}

impl FaultSpec {
    /// A fault of `kind` at `at` with no parameters yet.
    pub fn new(at: Dur, kind: FaultKind) -> FaultSpec {
        FaultSpec {
            at,
            kind,
            node: None,
            iface: None,
            segment: None,
            groups: None,
            from: None,
            to: None,
            period: None,
            until: None,
            network: None,
            instance: None,
            priority: None,
            script: None,
            result: None,
            file: None,
            value: None,
            defect: None,
            keepalived_conf: None,
            refused: None,
            server: None,
            health: None,
            delay: None,
            exit: None,
        }
    }

    /// Builder: the node.
    pub fn node(mut self, n: &str) -> FaultSpec {
        self.node = Some(n.to_string());
        self
    }
}

/// An expectation: at an instant (`at`) or over a window (`from`..`to`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// The instant of a point expectation (checked after every event of that instant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Dur>,
    /// Window start (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Dur>,
    /// Window end (default: the end of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Dur>,
    /// The instance (virtual router) by name (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `at`: this node is the only MASTER of the instance (`"none"`: nobody is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// `at`: the number of MASTERs of the instance (2 during a split brain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masters: Option<usize>,
    /// `at` with `state`, or a window with transitions: the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `at`: the node's instance is in this state (MASTER, BACKUP, FAULT, INIT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Window: at most this many state changes (of `node`, or of every node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_transitions: Option<usize>,
    /// Window: at least this many state changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_transitions: Option<usize>,
}

/// Which invariant families run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChecksSpec {
    /// Liveness: one right MASTER per virtual router after the network heals (default true).
    #[serde(default = "yes")]
    pub liveness: bool,
    /// No flapping: no state change while the network is stable and converged (default true).
    #[serde(default = "yes")]
    pub flapping: bool,
}

fn yes() -> bool {
    true
}

impl Default for ChecksSpec {
    fn default() -> Self {
        ChecksSpec {
            liveness: true,
            flapping: true,
        }
    }
}

impl ChecksSpec {
    fn is_default(&self) -> bool {
        *self == ChecksSpec::default()
    }
}
