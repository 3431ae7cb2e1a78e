//! Scenario files: the cluster, the network, the fault schedule and what must hold.
//!
//! A scenario is TOML (see `sim/README.md` for the format with examples). [`Scenario`] is the file
//! as written, every field optional where a default makes sense; [`Scenario::plan`] resolves it into
//! a [`Plan`]: engine configurations checked by [`vigil_engine::Engine::new`], node and segment
//! indices instead of names, faults sorted by time (a `flap` expanded into its link events).

use core::fmt;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use vigil_engine::wire::{Auth, ChecksumPolicy, Family, Version};
use vigil_engine::{EngineConfig, InstanceConfig, State, VirtualAddress};

use crate::dur::Dur;

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

// ----- the resolved plan ---------------------------------------------------------------------

/// A scenario that cannot run, with a message that says which field is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

fn err<T>(msg: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError(msg.into()))
}

/// Bursty loss, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    /// P(good -> bad) per frame.
    pub enter: f64,
    /// P(bad -> good) per frame.
    pub leave: f64,
    /// Loss probability in the bad state.
    pub loss: f64,
}

/// A segment's network model, resolved (nanoseconds and probabilities).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Base one-way delay.
    pub delay: u64,
    /// Uniform extra delay bound.
    pub jitter: u64,
    /// Random loss probability.
    pub loss: f64,
    /// Bursty loss.
    pub burst: Option<Burst>,
    /// Duplication probability.
    pub duplicate: f64,
    /// Reordering probability.
    pub reorder: f64,
    /// Reordering hold-back bound.
    pub reorder_delay: u64,
}

impl LinkModel {
    /// The longest time a frame can take.
    pub fn max_delay(&self) -> u64 {
        let reorder = if self.reorder > 0.0 {
            self.reorder_delay
        } else {
            0
        };
        self.delay
            .saturating_add(self.jitter)
            .saturating_add(reorder)
    }

    /// Whether the model loses frames.
    pub fn lossy(&self) -> bool {
        self.loss > 0.0 || self.burst.is_some()
    }
}

/// A resolved segment.
#[derive(Clone, Debug)]
pub struct SegmentPlan {
    /// Name.
    pub name: String,
    /// The network model as written (the scenario's, with the segment's overrides).
    pub spec: NetworkSpec,
    /// Network model at the start.
    pub model: LinkModel,
}

/// A resolved interface.
#[derive(Clone, Debug)]
pub struct IfacePlan {
    /// Name.
    pub name: String,
    /// Segment index.
    pub segment: usize,
    /// Primary IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 link-local address.
    pub ipv6: Option<Ipv6Addr>,
    /// MAC address.
    pub mac: [u8; 6],
}

/// A resolved node.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// Name.
    pub name: String,
    /// Interfaces.
    pub ifaces: Vec<IfacePlan>,
    /// What its engine runs.
    pub config: EngineConfig,
    /// When it boots (`None`: only on a `restart` fault).
    pub boot: Option<u64>,
    /// Clock offset, nanoseconds.
    pub clock_offset: u64,
    /// Clock drift, parts per million.
    pub drift_ppm: i64,
    /// How often its runner runs each check program (from its keepalived.conf's `vrrp_script`
    /// `interval`), nanoseconds; scripts not listed use the scenario's `[[scripts]]` interval.
    pub script_intervals: Vec<(String, u64)>,
    /// Frames its socket buffer holds ([`NodeSpec::socket_buffer`]).
    pub socket_buffer: usize,
    /// Its runner's time per frame read, nanoseconds ([`NodeSpec::read_cost`]).
    pub read_cost: u64,
}

/// A resolved fault.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Crash a node.
    Crash(usize),
    /// Boot a new engine on a node.
    Restart(usize),
    /// Graceful stop.
    Stop(usize),
    /// `Input::Start` on a stopped node.
    Start(usize),
    /// Link change of (node, interface index).
    Link {
        /// Node.
        node: usize,
        /// Interface index within the node.
        iface: usize,
        /// New link state.
        up: bool,
    },
    /// Two-way partition of a segment: `side[node]` numbers each member's side.
    Partition {
        /// Segment.
        segment: usize,
        /// The side of each node (by node index; nodes not on the segment are ignored).
        side: Vec<usize>,
    },
    /// One-way block on a segment.
    Block {
        /// Segment.
        segment: usize,
        /// Sender.
        from: usize,
        /// Receiver.
        to: usize,
    },
    /// Heal partitions and blocks (of one segment, or all).
    Heal(Option<usize>),
    /// Change the network model (of one segment, or all).
    Network(Option<usize>, NetworkSpec),
    /// Reload a node with a new priority for one instance.
    SetPriority {
        /// Node.
        node: usize,
        /// Instance name.
        instance: String,
        /// New priority.
        priority: u8,
    },
    /// A check program's result from now on.
    Check {
        /// Node.
        node: usize,
        /// Script name.
        script: String,
        /// The result of each run.
        result: vigil_engine::io::CheckResult,
    },
    /// A tracked file's value.
    TrackFile {
        /// Node.
        node: usize,
        /// File name.
        file: String,
        /// Value.
        value: i64,
    },
    /// SIGHUP with a new keepalived.conf (`reload`).
    Reload {
        /// Node.
        node: usize,
        /// What the file converts to, or the parser's error.
        config: Result<Box<EngineConfig>, String>,
        /// The scenario says the file must be refused.
        refused: bool,
    },
    /// The node's process freezes (`stall`) until the given virtual time, when a
    /// [`FaultAction::Resume`] of it follows.
    Stall(usize, u64),
    /// The node's process runs again: the frames that waited are read, the timers due served.
    Resume(usize),
    /// A stranger's defective advert for one instance of a node.
    Inject {
        /// Receiving node.
        node: usize,
        /// The node whose address it claims as its source (`None`: a stranger's).
        from: Option<usize>,
        /// Instance index within the node's configuration.
        instance: usize,
        /// What is wrong with it.
        defect: Defect,
    },
}

/// A resolved fault with its time.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// When, nanoseconds of virtual time.
    pub at: u64,
    /// What.
    pub action: FaultAction,
    /// Index of the fault in the scenario file (a flap's events share it).
    pub source: usize,
}

/// A resolved expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// At `at`, `master` is the only MASTER of `instance` (`None`: there is none).
    Master {
        /// When.
        at: u64,
        /// Instance name.
        instance: String,
        /// Node index.
        master: Option<usize>,
    },
    /// At `at`, `count` MASTERs of `instance`.
    Masters {
        /// When.
        at: u64,
        /// Instance name.
        instance: String,
        /// How many.
        count: usize,
    },
    /// At `at`, `node`'s `instance` is in `state`.
    State {
        /// When.
        at: u64,
        /// Instance name.
        instance: String,
        /// Node index.
        node: usize,
        /// State.
        state: State,
    },
    /// Between `from` and `to`, between `min` and `max` state changes.
    Transitions {
        /// Window start.
        from: u64,
        /// Window end.
        to: u64,
        /// Node, or every node.
        node: Option<usize>,
        /// Instance, or every instance.
        instance: Option<String>,
        /// Lower bound.
        min: usize,
        /// Upper bound.
        max: usize,
    },
}

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Name.
    pub name: String,
    /// Run length, nanoseconds.
    pub duration: u64,
    /// Default seed.
    pub seed: u64,
    /// Segments.
    pub segments: Vec<SegmentPlan>,
    /// Nodes.
    pub nodes: Vec<NodePlan>,
    /// Faults, by time (stable: file order within an instant).
    pub faults: Vec<FaultPlan>,
    /// Expectations, with their text for reports.
    pub expects: Vec<(Expect, String)>,
    /// Invariant families.
    pub checks: ChecksSpec,
    /// Check programs: (name, how often the runner runs it), nanoseconds.
    pub script_intervals: Vec<(String, u64)>,
}

impl Scenario {
    /// Parse a scenario file.
    pub fn from_toml(text: &str) -> Result<Scenario, PlanError> {
        toml::from_str(text).map_err(|e| PlanError(format!("scenario file: {e}")))
    }

    /// The scenario as TOML (explore writes its shrunk reproductions this way).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
    }

    /// Resolve names, defaults and templates; check every engine configuration.
    pub fn plan(&self) -> Result<Plan, PlanError> {
        if self.nodes.is_empty() {
            return err("a scenario needs at least one node");
        }
        // Segments.
        let seg_specs = if self.segments.is_empty() {
            vec![SegmentSpec {
                name: "lan".into(),
                network: NetworkSpec::default(),
            }]
        } else {
            self.segments.clone()
        };
        let mut segments = Vec::new();
        for s in &seg_specs {
            if segments.iter().any(|p: &SegmentPlan| p.name == s.name) {
                return err(format!("two segments named {}", s.name));
            }
            let spec = self.network.overridden_by(&s.network);
            let model = spec
                .resolve()
                .map_err(|e| PlanError(format!("segment {}: {e}", s.name)))?;
            segments.push(SegmentPlan {
                name: s.name.clone(),
                spec,
                model,
            });
        }
        let seg_index = |name: &Option<String>| -> Result<usize, PlanError> {
            match name {
                None => Ok(0),
                Some(n) => segments
                    .iter()
                    .position(|s| &s.name == n)
                    .ok_or_else(|| PlanError(format!("no segment named {n}"))),
            }
        };
        // Interfaces first (unicast peers may name other nodes).
        let mut node_ifaces: Vec<Vec<IfacePlan>> = Vec::new();
        for (ni, n) in self.nodes.iter().enumerate() {
            if self.nodes[..ni].iter().any(|m| m.name == n.name) {
                return err(format!("two nodes named {}", n.name));
            }
            let default_octet = u8::try_from(11 + ni).unwrap_or(255);
            let specs = if n.interfaces.is_empty() {
                vec![IfaceSpec {
                    name: "eth0".into(),
                    segment: None,
                    ipv4: Some(n.ipv4.unwrap_or(Ipv4Addr::new(192, 0, 2, default_octet))),
                    ipv6: Some(n.ipv6.unwrap_or(Ipv6Addr::new(
                        0xfe80,
                        0,
                        0,
                        0,
                        0,
                        0,
                        0,
                        u16::from(default_octet),
                    ))),
                    mac: None,
                }]
            } else {
                n.interfaces.clone()
            };
            let mut ifaces = Vec::new();
            for (ii, s) in specs.iter().enumerate() {
                let mac = match &s.mac {
                    Some(m) => parse_mac(m).ok_or_else(|| {
                        PlanError(format!("node {}: bad MAC address {m}", n.name))
                    })?,
                    None => [
                        0x02,
                        0,
                        0,
                        0,
                        u8::try_from(ii).unwrap_or(255),
                        u8::try_from(ni + 1).unwrap_or(255),
                    ],
                };
                ifaces.push(IfacePlan {
                    name: s.name.clone(),
                    segment: seg_index(&s.segment)
                        .map_err(|e| PlanError(format!("node {}: {e}", n.name)))?,
                    ipv4: s.ipv4,
                    ipv6: s.ipv6,
                    mac,
                });
            }
            node_ifaces.push(ifaces);
        }
        let node_index = |name: &str| -> Result<usize, PlanError> {
            self.nodes
                .iter()
                .position(|n| n.name == name)
                .ok_or_else(|| PlanError(format!("no node named {name}")))
        };
        // Engine configurations.
        let mut nodes = Vec::new();
        for (ni, n) in self.nodes.iter().enumerate() {
            let ifaces = node_ifaces[ni].clone();
            let mut script_intervals = Vec::new();
            let config = if let Some(text) = &n.keepalived_conf {
                if !n.instances.is_empty() {
                    return err(format!(
                        "node {}: give either keepalived_conf or instances, not both",
                        n.name
                    ));
                }
                let loaded = crate::confload::load(text)
                    .map_err(|e| PlanError(format!("node {}: keepalived_conf: {e}", n.name)))?;
                script_intervals = loaded.script_intervals;
                loaded.engine
            } else {
                let mut specs: Vec<InstanceSpec> = Vec::new();
                // Templates, with this node's overrides by name.
                for t in &self.instances {
                    let over = n.instances.iter().find(|i| i.name == t.name);
                    let mut s = match over {
                        Some(o) => o.over(t),
                        None => t.clone(),
                    };
                    // Priority: the node's override, else the node's shorthand, else the
                    // template's.
                    s.priority = over.and_then(|o| o.priority).or(n.priority).or(t.priority);
                    specs.push(s);
                }
                for i in &n.instances {
                    if !self.instances.iter().any(|t| t.name == i.name) {
                        let mut s = i.clone();
                        s.priority = s.priority.or(n.priority);
                        specs.push(s);
                    }
                }
                let mut instances = Vec::new();
                for s in &specs {
                    instances.push(
                        instance_config(s, &ifaces, &node_ifaces, &self.nodes)
                            .map_err(|e| PlanError(format!("node {}: {e}", n.name)))?,
                    );
                }
                let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
                let sync_groups = self
                    .sync_groups
                    .iter()
                    .filter(|g| g.members.iter().all(|m| names.contains(&m.as_str())))
                    .map(|g| vigil_engine::setup::SyncGroupConfig {
                        name: g.name.clone(),
                        members: g.members.clone(),
                        tracking_weight: g.tracking_weight,
                    })
                    .collect();
                let scripts = self
                    .scripts
                    .iter()
                    .map(|s| vigil_engine::setup::ScriptConfig {
                        name: s.name.clone(),
                        rise: s.rise.unwrap_or(1),
                        fall: s.fall.unwrap_or(1),
                        timeout: s.timeout.or(s.interval).unwrap_or(Dur::secs(1)).to_std(),
                        init_fail: s.init_fail,
                    })
                    .collect();
                let track_files = self
                    .track_files
                    .iter()
                    .map(|f| vigil_engine::setup::TrackFileConfig {
                        name: f.name.clone(),
                        initial: f.initial.unwrap_or(0),
                    })
                    .collect();
                EngineConfig {
                    instances,
                    sync_groups,
                    scripts,
                    track_files,
                }
            };
            for inst in &config.instances {
                if !ifaces.iter().any(|i| i.name == inst.interface) {
                    return err(format!(
                        "node {}: instance {} runs on {}, which the node does not have",
                        n.name, inst.name, inst.interface
                    ));
                }
            }
            vigil_engine::Engine::new(config.clone())
                .map_err(|e| PlanError(format!("node {}: {e}", n.name)))?;
            if n.socket_buffer == Some(0) {
                return err(format!(
                    "node {}: socket_buffer must hold at least 1 frame",
                    n.name
                ));
            }
            if n.drift_ppm <= -1_000_000 || n.drift_ppm > 1_000_000 {
                return err(format!(
                    "node {}: drift_ppm must be in -999999..=1000000",
                    n.name
                ));
            }
            nodes.push(NodePlan {
                name: n.name.clone(),
                ifaces,
                config,
                boot: if n.down {
                    None
                } else {
                    Some(n.boot.unwrap_or(Dur::ZERO).0)
                },
                clock_offset: n.clock_offset.unwrap_or(Dur::ZERO).0,
                drift_ppm: n.drift_ppm,
                script_intervals,
                socket_buffer: usize::try_from(n.socket_buffer.unwrap_or(256)).unwrap_or(256),
                read_cost: n.read_cost.unwrap_or(Dur::ZERO).0,
            });
        }
        // Faults.
        let mut faults = Vec::new();
        for (fi, f) in self.faults.iter().enumerate() {
            let ctx = |e: PlanError| {
                PlanError(format!("fault {} ({:?} at {}): {e}", fi + 1, f.kind, f.at))
            };
            let need_node = || -> Result<usize, PlanError> {
                match &f.node {
                    Some(n) => node_index(n),
                    None => err("needs node"),
                }
            };
            let iface_of = |node: usize| -> Result<usize, PlanError> {
                match &f.iface {
                    None => Ok(0),
                    Some(name) => nodes[node]
                        .ifaces
                        .iter()
                        .position(|i| &i.name == name)
                        .ok_or_else(|| PlanError(format!("node has no interface {name}"))),
                }
            };
            let at = f.at.0;
            let mut push = |at: u64, action: FaultAction| {
                faults.push(FaultPlan {
                    at,
                    action,
                    source: fi,
                })
            };
            match f.kind {
                FaultKind::Crash => push(at, FaultAction::Crash(need_node().map_err(ctx)?)),
                FaultKind::Restart => push(at, FaultAction::Restart(need_node().map_err(ctx)?)),
                FaultKind::Stop => push(at, FaultAction::Stop(need_node().map_err(ctx)?)),
                FaultKind::Start => push(at, FaultAction::Start(need_node().map_err(ctx)?)),
                FaultKind::LinkDown | FaultKind::LinkUp => {
                    let node = need_node().map_err(ctx)?;
                    let iface = iface_of(node).map_err(ctx)?;
                    let up = f.kind == FaultKind::LinkUp;
                    push(at, FaultAction::Link { node, iface, up });
                }
                FaultKind::Flap => {
                    let node = need_node().map_err(ctx)?;
                    let iface = iface_of(node).map_err(ctx)?;
                    let (Some(period), Some(until)) = (f.period, f.until) else {
                        return Err(ctx(PlanError("flap needs period and until".into())));
                    };
                    if period.0 == 0 {
                        return Err(ctx(PlanError("flap period must be > 0".into())));
                    }
                    let mut t = at;
                    let mut up = false;
                    while t < until.0 {
                        push(t, FaultAction::Link { node, iface, up });
                        up = !up;
                        t = t.saturating_add(period.0);
                    }
                    if up {
                        push(
                            until.0,
                            FaultAction::Link {
                                node,
                                iface,
                                up: true,
                            },
                        );
                    }
                }
                FaultKind::Reload => {
                    let node = need_node().map_err(ctx)?;
                    let Some(text) = &f.keepalived_conf else {
                        return Err(ctx(PlanError("reload needs keepalived_conf".into())));
                    };
                    let refused = f.refused.unwrap_or(false);
                    let config = crate::confload::engine_config(text).map(Box::new);
                    match &config {
                        Err(e) if !refused => {
                            return Err(ctx(PlanError(format!("keepalived_conf: {e}"))));
                        }
                        Err(_) => {}
                        Ok(c) => {
                            let was = &nodes[node].config;
                            let names = |v: &mut Vec<String>| {
                                v.sort();
                                v.clone()
                            };
                            let same_checks =
                                names(&mut c.scripts.iter().map(|x| x.name.clone()).collect())
                                    == names(
                                        &mut was.scripts.iter().map(|x| x.name.clone()).collect(),
                                    )
                                    && names(
                                        &mut c.track_files.iter().map(|x| x.name.clone()).collect(),
                                    ) == names(
                                        &mut was
                                            .track_files
                                            .iter()
                                            .map(|x| x.name.clone())
                                            .collect(),
                                    );
                            if !same_checks {
                                return Err(ctx(PlanError(
                                    "reload: the vrrp_script and track_file names must stay the \
                                     same (the simulated runner keeps its checks)"
                                        .into(),
                                )));
                            }
                            for inst in &c.instances {
                                if !nodes[node].ifaces.iter().any(|i| i.name == inst.interface) {
                                    return Err(ctx(PlanError(format!(
                                        "reload: instance {} runs on {}, which the node does not \
                                         have",
                                        inst.name, inst.interface
                                    ))));
                                }
                            }
                        }
                    }
                    push(
                        at,
                        FaultAction::Reload {
                            node,
                            config,
                            refused,
                        },
                    );
                }
                FaultKind::Stall => {
                    let node = need_node().map_err(ctx)?;
                    let Some(until) = f.until.filter(|u| u.0 > at) else {
                        return Err(ctx(PlanError("stall needs until, after at".into())));
                    };
                    push(at, FaultAction::Stall(node, until.0));
                    push(until.0, FaultAction::Resume(node));
                }
                FaultKind::Partition => {
                    let segment = seg_index(&f.segment).map_err(ctx)?;
                    let Some(groups) = &f.groups else {
                        return Err(ctx(PlanError("partition needs groups".into())));
                    };
                    let mut side = vec![groups.len(); self.nodes.len()];
                    for (gi, g) in groups.iter().enumerate() {
                        for name in g {
                            side[node_index(name).map_err(ctx)?] = gi;
                        }
                    }
                    push(at, FaultAction::Partition { segment, side });
                }
                FaultKind::Block => {
                    let segment = seg_index(&f.segment).map_err(ctx)?;
                    let (Some(from), Some(to)) = (&f.from, &f.to) else {
                        return Err(ctx(PlanError("block needs from and to".into())));
                    };
                    let from = node_index(from).map_err(ctx)?;
                    let to = node_index(to).map_err(ctx)?;
                    push(at, FaultAction::Block { segment, from, to });
                }
                FaultKind::Heal => {
                    let seg = match &f.segment {
                        None => None,
                        s => Some(seg_index(s).map_err(ctx)?),
                    };
                    push(at, FaultAction::Heal(seg));
                }
                FaultKind::Network => {
                    let seg = match &f.segment {
                        None => None,
                        s => Some(seg_index(s).map_err(ctx)?),
                    };
                    let Some(model) = &f.network else {
                        return Err(ctx(PlanError("network needs a network table".into())));
                    };
                    NetworkSpec::default()
                        .overridden_by(model)
                        .resolve()
                        .map_err(ctx)?;
                    push(at, FaultAction::Network(seg, model.clone()));
                }
                FaultKind::SetPriority => {
                    let node = need_node().map_err(ctx)?;
                    let instance = match &f.instance {
                        Some(i) => i.clone(),
                        None => match nodes[node].config.instances.first() {
                            Some(i) => i.name.clone(),
                            None => return Err(ctx(PlanError("node has no instance".into()))),
                        },
                    };
                    let Some(priority) = f.priority else {
                        return Err(ctx(PlanError("set_priority needs priority".into())));
                    };
                    if priority == 0 {
                        return Err(ctx(PlanError("priority 0 is reserved".into())));
                    }
                    if !nodes[node]
                        .config
                        .instances
                        .iter()
                        .any(|i| i.name == instance)
                    {
                        return Err(ctx(PlanError(format!("node has no instance {instance}"))));
                    }
                    push(
                        at,
                        FaultAction::SetPriority {
                            node,
                            instance,
                            priority,
                        },
                    );
                }
                FaultKind::Check => {
                    let node = need_node().map_err(ctx)?;
                    let Some(script) = f.script.clone() else {
                        return Err(ctx(PlanError("check needs script".into())));
                    };
                    if !nodes[node].config.scripts.iter().any(|s| s.name == script) {
                        return Err(ctx(PlanError(format!("no script named {script}"))));
                    }
                    use vigil_engine::io::CheckResult;
                    let result = match f.result.as_deref() {
                        Some("ok") => CheckResult::Success,
                        Some("fail") => CheckResult::Failure,
                        Some("timeout") => CheckResult::Timeout,
                        _ => {
                            return Err(ctx(PlanError(
                                "check needs result = ok, fail or timeout".into(),
                            )))
                        }
                    };
                    push(
                        at,
                        FaultAction::Check {
                            node,
                            script,
                            result,
                        },
                    );
                }
                FaultKind::TrackFile => {
                    let node = need_node().map_err(ctx)?;
                    let (Some(file), Some(value)) = (f.file.clone(), f.value) else {
                        return Err(ctx(PlanError("track_file needs file and value".into())));
                    };
                    if !nodes[node]
                        .config
                        .track_files
                        .iter()
                        .any(|s| s.name == file)
                    {
                        return Err(ctx(PlanError(format!("no track file named {file}"))));
                    }
                    push(at, FaultAction::TrackFile { node, file, value });
                }
                FaultKind::Inject => {
                    let node = need_node().map_err(ctx)?;
                    let instances = &nodes[node].config.instances;
                    let instance =
                        match &f.instance {
                            None if instances.is_empty() => {
                                return Err(ctx(PlanError("node has no instance".into())))
                            }
                            None => 0,
                            Some(name) => instances
                                .iter()
                                .position(|i| &i.name == name)
                                .ok_or_else(|| {
                                    ctx(PlanError(format!("node has no instance {name}")))
                                })?,
                        };
                    let Some(defect) = f.defect else {
                        return Err(ctx(PlanError("inject needs defect".into())));
                    };
                    let v2 = instances[instance].version == vigil_engine::wire::Version::V2;
                    if matches!(defect, Defect::Interval | Defect::Auth | Defect::AuthType) && !v2 {
                        return Err(ctx(PlanError(
                            "defects interval, auth and auth_type are VRRPv2 checks".into(),
                        )));
                    }
                    if defect == Defect::LinkLocalFirst
                        && instances[instance].family != vigil_engine::wire::Family::V6
                    {
                        return Err(ctx(PlanError("link_local_first is for IPv6".into())));
                    }
                    let from = match &f.from {
                        Some(name) => Some(node_index(name).map_err(ctx)?),
                        None => None,
                    };
                    push(
                        at,
                        FaultAction::Inject {
                            node,
                            from,
                            instance,
                            defect,
                        },
                    );
                }
            }
        }
        faults.sort_by_key(|f| f.at);
        // Nothing but a crash reaches a frozen process: refuse faults the simulator would have
        // to hand to a stalled engine.
        for w in &faults {
            let (FaultAction::Stall(n, until), from) = (&w.action, w.at) else {
                continue;
            };
            let until = *until;
            for f in &faults {
                let on_node = match &f.action {
                    FaultAction::Restart(k)
                    | FaultAction::Stop(k)
                    | FaultAction::Start(k)
                    | FaultAction::Link { node: k, .. }
                    | FaultAction::SetPriority { node: k, .. }
                    | FaultAction::Reload { node: k, .. }
                    | FaultAction::TrackFile { node: k, .. }
                    | FaultAction::Inject { node: k, .. } => *k == *n,
                    FaultAction::Stall(k, _) | FaultAction::Resume(k) => {
                        *k == *n && f.source != w.source
                    }
                    _ => false,
                };
                if on_node && f.at >= from && f.at <= until {
                    return Err(PlanError(format!(
                        "fault {}: node {} is stalled from {} to {} (fault {}); only a crash can \
                         reach a frozen process",
                        f.source + 1,
                        self.nodes[*n].name,
                        Dur(from),
                        Dur(until),
                        w.source + 1
                    )));
                }
            }
        }
        // Expectations.
        let first_instance = nodes
            .iter()
            .flat_map(|n| n.config.instances.iter())
            .map(|i| i.name.clone())
            .next()
            .unwrap_or_default();
        let mut expects = Vec::new();
        for (ei, e) in self.expect.iter().enumerate() {
            let ctx = |m: &str| PlanError(format!("expectation {}: {m}", ei + 1));
            let instance = e.instance.clone().unwrap_or_else(|| first_instance.clone());
            let node = match &e.node {
                Some(n) => Some(node_index(n)?),
                None => None,
            };
            let text = describe_expect(e, &instance);
            let x = if let Some(at) = e.at {
                if let Some(m) = &e.master {
                    let master = if m == "none" {
                        None
                    } else {
                        Some(node_index(m)?)
                    };
                    Expect::Master {
                        at: at.0,
                        instance,
                        master,
                    }
                } else if let Some(count) = e.masters {
                    Expect::Masters {
                        at: at.0,
                        instance,
                        count,
                    }
                } else if let Some(s) = &e.state {
                    let state = parse_state(s)
                        .ok_or_else(|| ctx("state is MASTER, BACKUP, FAULT or INIT"))?;
                    let node = node.ok_or_else(|| ctx("state needs node"))?;
                    Expect::State {
                        at: at.0,
                        instance,
                        node,
                        state,
                    }
                } else {
                    return Err(ctx("`at` needs master, masters or node + state"));
                }
            } else if e.max_transitions.is_some() || e.min_transitions.is_some() {
                Expect::Transitions {
                    from: e.from.unwrap_or(Dur::ZERO).0,
                    to: e.to.map_or(u64::MAX, |d| d.0),
                    node,
                    instance: e.instance.clone(),
                    min: e.min_transitions.unwrap_or(0),
                    max: e.max_transitions.unwrap_or(usize::MAX),
                }
            } else {
                return Err(ctx("give `at` (master, masters, state) or a window with max_transitions / min_transitions"));
            };
            expects.push((x, text));
        }
        Ok(Plan {
            name: self.name.clone(),
            duration: self.duration.0,
            seed: self.seed.unwrap_or(1),
            segments,
            nodes,
            faults,
            expects,
            checks: self.checks.clone(),
            script_intervals: self
                .scripts
                .iter()
                .map(|s| (s.name.clone(), s.interval.unwrap_or(Dur::secs(1)).0.max(1)))
                .collect(),
        })
    }
}

fn describe_expect(e: &ExpectSpec, instance: &str) -> String {
    if let Some(at) = e.at {
        if let Some(m) = &e.master {
            if m == "none" {
                return format!("at {at}: no MASTER of {instance}");
            }
            return format!("at {at}: {m} is the only MASTER of {instance}");
        }
        if let Some(c) = e.masters {
            return format!("at {at}: {c} MASTER(s) of {instance}");
        }
        return format!(
            "at {at}: {} {instance} is {}",
            e.node.as_deref().unwrap_or("?"),
            e.state.as_deref().unwrap_or("?")
        );
    }
    let from = e.from.unwrap_or(Dur::ZERO);
    let to = e.to.map_or("end".to_string(), |d| d.to_string());
    let who = e.node.as_deref().unwrap_or("all nodes");
    let what = e.instance.as_deref().unwrap_or("all instances");
    match (e.min_transitions, e.max_transitions) {
        (Some(a), Some(b)) if a == b => {
            format!("{from}..{to}: exactly {a} state changes ({who}, {what})")
        }
        (Some(a), Some(b)) => format!("{from}..{to}: {a}..={b} state changes ({who}, {what})"),
        (Some(a), None) => format!("{from}..{to}: at least {a} state changes ({who}, {what})"),
        (None, Some(b)) => format!("{from}..{to}: at most {b} state changes ({who}, {what})"),
        (None, None) => format!("{from}..{to}: ({who}, {what})"),
    }
}

/// keepalived's state names.
pub fn parse_state(s: &str) -> Option<State> {
    match s.to_ascii_uppercase().as_str() {
        "MASTER" => Some(State::Master),
        "BACKUP" => Some(State::Backup),
        "FAULT" => Some(State::Fault),
        "INIT" => Some(State::Init),
        _ => None,
    }
}

/// `02:00:00:00:00:01`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn instance_config(
    s: &InstanceSpec,
    ifaces: &[IfacePlan],
    all_ifaces: &[Vec<IfacePlan>],
    nodes: &[NodeSpec],
) -> Result<InstanceConfig, PlanError> {
    let name = s.name.clone().unwrap_or_else(|| "VI_1".into());
    let ctx = |m: String| PlanError(format!("instance {name}: {m}"));
    let Some(vip_texts) = &s.vips else {
        return Err(ctx("needs vips".into()));
    };
    let mut vips = Vec::new();
    for v in vip_texts {
        let (addr, prefix) = match v.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (v.as_str(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| ctx(format!("bad virtual address {v}")))?;
        let mut va = VirtualAddress::new(addr);
        if let Some(p) = prefix {
            va.prefix_len = p
                .parse()
                .map_err(|_| ctx(format!("bad prefix length in {v}")))?;
        }
        vips.push(va);
    }
    let family = vips
        .first()
        .map(|v| Family::of(&v.addr))
        .unwrap_or(Family::V4);
    let version = match s.version.unwrap_or(3) {
        2 => Version::V2,
        3 => Version::V3,
        v => return Err(ctx(format!("version {v}: 2 or 3"))),
    };
    let interface = s.interface.clone().unwrap_or_else(|| "eth0".into());
    let mut cfg = InstanceConfig::new(&name, &interface, s.vrid.unwrap_or(51), version, family);
    cfg.virtual_addresses = vips;
    cfg.priority = s.priority.unwrap_or(vigil_engine::setup::DEFAULT_PRIORITY);
    cfg.advert_interval = s.advert_interval.unwrap_or(Dur::secs(1)).to_std();
    cfg.preempt = s.preempt.unwrap_or(true);
    cfg.preempt_delay = s.preempt_delay.unwrap_or(Dur::ZERO).to_std();
    if let Some(p) = &s.auth_pass {
        cfg.auth = Auth::simple(p.as_bytes());
    }
    if let Some(c) = &s.checksum {
        cfg.checksum_policy = match c.as_str() {
            "rfc" => ChecksumPolicy::Rfc,
            "v3-plain" => ChecksumPolicy::V3Plain,
            "either" => ChecksumPolicy::Either,
            _ => return Err(ctx(format!("checksum {c}: rfc, v3-plain or either"))),
        };
    }
    if let Some(b) = s.advert_on_lower_priority {
        cfg.advert_on_lower_priority = b;
    }
    for t in s.track.iter().flatten() {
        use vigil_engine::setup::{Track, TrackTarget};
        let target = match (&t.interface, &t.script, &t.file) {
            (Some(i), None, None) => TrackTarget::Interface(i.clone()),
            (None, Some(sc), None) => TrackTarget::Script(sc.clone()),
            (None, None, Some(f)) => TrackTarget::File(f.clone()),
            _ => {
                return Err(ctx(
                    "each track entry names one interface, script or file".into()
                ))
            }
        };
        cfg.track.push(Track {
            target,
            weight: t.weight.unwrap_or(0),
            reverse: t.reverse,
        });
    }
    if let Some(peers) = &s.unicast_peers {
        let segment = ifaces
            .iter()
            .find(|i| i.name == interface)
            .map(|i| i.segment);
        for p in peers {
            let addr = match p.parse::<IpAddr>() {
                Ok(a) => a,
                Err(_) => {
                    let ni = nodes
                        .iter()
                        .position(|n| &n.name == p)
                        .ok_or_else(|| ctx(format!("unicast peer {p}: no such address or node")))?;
                    let on_seg = all_ifaces[ni]
                        .iter()
                        .find(|i| Some(i.segment) == segment)
                        .ok_or_else(|| ctx(format!("unicast peer {p}: not on this segment")))?;
                    match family {
                        Family::V4 => on_seg.ipv4.map(IpAddr::V4),
                        Family::V6 => on_seg.ipv6.map(IpAddr::V6),
                    }
                    .ok_or_else(|| ctx(format!("unicast peer {p}: no {family} address")))?
                }
            };
            cfg.unicast_peers.push(addr);
        }
    }
    Ok(cfg)
}

/// Group instances of a plan by name, in first-seen order (the virtual routers).
pub fn instance_names(plan: &Plan) -> Vec<String> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for n in &plan.nodes {
        for i in &n.config.instances {
            if seen.insert(i.name.clone(), ()).is_none() {
                out.push(i.name.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
name = "mini"
duration = "10s"
[[instances]]
name = "VI_1"
vips = ["192.0.2.100/24"]
[[nodes]]
name = "r1"
priority = 150
[[nodes]]
name = "r2"
[[nodes.instances]]
name = "VI_1"
preempt = false
[[faults]]
at = "5s"
do = "crash"
node = "r1"
[[expect]]
at = "4s"
master = "r1"
"#;

    #[test]
    fn templates_defaults_and_overrides_resolve() {
        let s = Scenario::from_toml(MINI).unwrap();
        let p = s.plan().unwrap();
        assert_eq!(p.nodes.len(), 2);
        let r1 = &p.nodes[0].config.instances[0];
        let r2 = &p.nodes[1].config.instances[0];
        assert_eq!((r1.priority, r1.preempt), (150, true));
        assert_eq!((r2.priority, r2.preempt), (100, false));
        assert_eq!(r1.virtual_addresses[0].prefix_len, 24);
        assert_eq!(
            p.nodes[1].ifaces[0].ipv4,
            Some(Ipv4Addr::new(192, 0, 2, 12))
        );
        assert_eq!(p.faults[0].action, FaultAction::Crash(0));
        assert_eq!(
            p.expects[0].0,
            Expect::Master {
                at: 4_000_000_000,
                instance: "VI_1".into(),
                master: Some(0)
            }
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let bad = MINI.replace("node = \"r1\"", "node = \"r9\"");
        let e = Scenario::from_toml(&bad).unwrap().plan().unwrap_err();
        assert!(e.0.contains("no node named r9"), "{e}");
        let bad = MINI.replace("do = \"crash\"", "do = \"explode\"");
        assert!(Scenario::from_toml(&bad).is_err());
        let bad = MINI.replace("priority = 150", "priority = 0");
        let e = Scenario::from_toml(&bad).unwrap().plan().unwrap_err();
        assert!(e.0.contains("priority 0"), "{e}");
    }

    #[test]
    fn inject_resolves_and_refuses_what_cannot_apply() {
        let inject = |extra: &str| {
            MINI.replace(
                "do = \"crash\"\nnode = \"r1\"",
                &format!("do = \"inject\"\nnode = \"r2\"\nfrom = \"r1\"\n{extra}"),
            )
        };
        let p = Scenario::from_toml(&inject("defect = \"ttl\""))
            .unwrap()
            .plan()
            .unwrap();
        assert_eq!(
            p.faults[0].action,
            FaultAction::Inject {
                node: 1,
                from: Some(0),
                instance: 0,
                defect: Defect::Ttl
            }
        );
        let plan_err = |extra: &str| {
            Scenario::from_toml(&inject(extra))
                .unwrap()
                .plan()
                .unwrap_err()
                .0
        };
        assert!(plan_err("").contains("inject needs defect"));
        // VI_1 is VRRPv3 over IPv4: no v2-only check, no IPv6 form.
        assert!(plan_err("defect = \"auth\"").contains("VRRPv2"));
        assert!(plan_err("defect = \"link_local_first\"").contains("IPv6"));
        assert!(plan_err("defect = \"ttl\"\ninstance = \"VI_9\"").contains("no instance VI_9"));
        assert!(Scenario::from_toml(&inject("defect = \"gremlin\"")).is_err());
    }

    #[test]
    fn toml_round_trips() {
        let s = Scenario::from_toml(MINI).unwrap();
        let again = Scenario::from_toml(&s.to_toml()).unwrap();
        assert_eq!(s, again);
    }

    #[test]
    fn flap_expands_and_ends_up() {
        let text = MINI.replace(
            "do = \"crash\"\nnode = \"r1\"",
            "do = \"flap\"\nnode = \"r1\"\nperiod = \"500ms\"\nuntil = \"6s\"",
        );
        let p = Scenario::from_toml(&text).unwrap().plan().unwrap();
        assert_eq!(p.faults.len(), 2);
        assert!(matches!(
            p.faults[1].action,
            FaultAction::Link { up: true, .. }
        ));
        let text = MINI.replace(
            "do = \"crash\"\nnode = \"r1\"",
            "do = \"flap\"\nnode = \"r1\"\nperiod = \"500ms\"\nuntil = \"6.5s\"",
        );
        let p = Scenario::from_toml(&text).unwrap().plan().unwrap();
        // down 5s, up 5.5s, down 6s, and up again at `until`.
        assert_eq!(p.faults.len(), 4);
        assert!(matches!(
            p.faults[3].action,
            FaultAction::Link { up: true, .. }
        ));
    }
}
