// Long: every fuzz target's body, its input grammar, encoder and seeds, shared by fuzz/ and the stable replay; a split into fuzzing/ is open.
//! The bodies of Vigil's fuzz targets, as ordinary functions.
//!
//! The cargo-fuzz crate in `fuzz/` calls these on nightly with libFuzzer; the `fuzz_replay` suite
//! calls the very same functions on stable for every file of every corpus (`fuzz/corpus/<target>/`)
//! and every crash reproducer (`fuzz/regressions/<target>/`), so that a finding stays fixed without
//! nightly. A target panics when a property fails; nothing else it does can panic.
//!
//! * [`advert`]: arbitrary bytes with an arbitrary IP context through the wire codec (anything that
//!   parses re-emits to bytes that parse to the same value), then into an engine (named counters
//!   add up).
//! * [`engine`]: an [`arbitrary`] sequence of [`Op`]s (packets valid and mangled, link and address
//!   events, start, shutdown, time steps) driving a cluster of one to three engines that exchange
//!   their adverts; the engine's invariants are checked from the outside after every call
//!   ([`Router`]).
//! * [`config`]: arbitrary text through the keepalived.conf parser with includes from an in-memory
//!   file set; every error carries a location inside the input.

use core::time::Duration;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use vigil_engine::instance::wire_interval;
use vigil_engine::io::{CheckResult, FileId, ScriptId};
use vigil_engine::setup::{
    ScriptConfig, SyncGroupConfig, Track, TrackFileConfig, TrackTarget, VirtualAddress,
};
use vigil_engine::wire::{
    self, checksum, Advert, Auth, ChecksumPolicy, Family, Interval, IpContext, Packet, Version,
    MAX_ADVERT_LEN,
};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceConfig, Instant, Received, SetupError,
    State,
};
use vigil_sim::contract::Contract;

/// The fuzz targets, by the name of their directory under `fuzz/corpus/`.
pub const TARGETS: &[&str] = &["advert", "engine", "config"];

/// Run one input through the target called `name`; `false` when there is no such target.
/// Panics when the input breaks a property of the target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "advert" => advert(data),
        "engine" => engine(data),
        "config" => config(data),
        _ => return false,
    }
    true
}

// =================================================================================================
// Checksums, through the workspace's one one's-complement sum (`wire::checksum`, itself checked
// against RFC 1071's 16-bit definition there), so that mangled packets can be given a valid
// checksum and reach the checks behind it.
// =================================================================================================

/// The unfolded sum of the IPv4/IPv6 pseudo-header of a VRRP message of `len` bytes
/// (RFC 5798 section 5.2.8).
fn pseudo_header(ctx: &IpContext, len: usize) -> u64 {
    checksum::pseudo_header(ctx.src, ctx.dst, wire::IP_PROTO_VRRP, len)
}

/// Whether `bytes` plus `extra` (an unfolded pseudo-header sum) sums to a valid checksum.
fn sums_valid(bytes: &[u8], extra: u64) -> bool {
    checksum::fold(checksum::sum(extra, bytes)) == 0xffff
}

/// Rewrite the checksum field of `bytes` (when it has one) for the plain or pseudo-header form.
fn set_checksum(bytes: &mut [u8], ctx: &IpContext, pseudo: bool) {
    if bytes.len() < wire::HEADER_LEN {
        return;
    }
    let extra = if pseudo {
        pseudo_header(ctx, bytes.len())
    } else {
        0
    };
    let mut view = Packet::new_unchecked(bytes, Family::of(&ctx.src));
    view.set_checksum_field(0);
    let bytes = view.into_inner();
    let c = checksum::checksum(checksum::sum(extra, bytes));
    Packet::new_unchecked(bytes, Family::of(&ctx.src)).set_checksum_field(c);
}

/// Whether `bytes` carries a valid checksum of the pseudo-header form (else: plain, or none).
fn has_pseudo_checksum(bytes: &[u8], ctx: &IpContext) -> bool {
    sums_valid(bytes, pseudo_header(ctx, bytes.len()))
}

// =================================================================================================
// advert
// =================================================================================================

/// One `advert` input: an IP context, a TTL and a VRRP message, in a fixed byte layout so that the
/// seed files extracted from real captures stay readable and libFuzzer's mutations stay meaningful.
///
/// Layout: byte 0 holds flags: bits 0-1 the families of source and destination (0: IPv4/IPv4,
/// 1: IPv6/IPv6, 2: IPv4/IPv6, 3: IPv6/IPv4), bits 2-3 the checksum policy (0: RFC, 1: v3 plain,
/// 2: either, 3: RFC), bit 4 the interface of the test engine it is delivered on (0: `eth0`, VRRPv3
/// instances of both families; 1: `eth1`, a VRRPv2 instance with a password). Byte 1 is the TTL /
/// hop limit, then come the source and the destination address (4 or 16 bytes each), then the VRRP
/// message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertCase<'a> {
    /// Source and destination.
    pub ctx: IpContext,
    /// TTL / hop limit as received.
    pub ttl: u8,
    /// Which checksum forms the parser and the engine's instances accept.
    pub policy: ChecksumPolicy,
    /// The engine's interface it arrives on (0 or 1).
    pub iface: u8,
    /// The VRRP message.
    pub payload: &'a [u8],
}

const POLICIES: [ChecksumPolicy; 4] = [
    ChecksumPolicy::Rfc,
    ChecksumPolicy::V3Plain,
    ChecksumPolicy::Either,
    ChecksumPolicy::Rfc,
];

fn take_addr(data: &[u8], v6: bool) -> Option<(IpAddr, &[u8])> {
    if v6 {
        let (a, rest) = data.split_first_chunk::<16>()?;
        Some((IpAddr::V6(Ipv6Addr::from(*a)), rest))
    } else {
        let (a, rest) = data.split_first_chunk::<4>()?;
        Some((IpAddr::V4(Ipv4Addr::from(*a)), rest))
    }
}

fn put_addr(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

impl<'a> AdvertCase<'a> {
    /// Read a case from fuzzer bytes; `None` when they are too short for the header.
    pub fn decode(data: &'a [u8]) -> Option<AdvertCase<'a>> {
        let (&[flags, ttl], rest) = data.split_first_chunk::<2>()?;
        let (src_v6, dst_v6) = match flags & 3 {
            0 => (false, false),
            1 => (true, true),
            2 => (false, true),
            _ => (true, false),
        };
        let (src, rest) = take_addr(rest, src_v6)?;
        let (dst, payload) = take_addr(rest, dst_v6)?;
        Some(AdvertCase {
            ctx: IpContext { src, dst },
            ttl,
            policy: POLICIES[usize::from((flags >> 2) & 3)],
            iface: (flags >> 4) & 1,
            payload,
        })
    }

    /// The bytes [`AdvertCase::decode`] reads back as `self`.
    pub fn encode(&self) -> Vec<u8> {
        let fam = match (self.ctx.src, self.ctx.dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => 0,
            (IpAddr::V6(_), IpAddr::V6(_)) => 1,
            (IpAddr::V4(_), IpAddr::V6(_)) => 2,
            (IpAddr::V6(_), IpAddr::V4(_)) => 3,
        };
        let pol = match self.policy {
            ChecksumPolicy::Rfc => 0,
            ChecksumPolicy::V3Plain => 1,
            ChecksumPolicy::Either => 2,
        };
        let mut out = vec![fam | (pol << 2) | ((self.iface & 1) << 4), self.ttl];
        put_addr(&mut out, self.ctx.src);
        put_addr(&mut out, self.ctx.dst);
        out.extend_from_slice(self.payload);
        out
    }
}

/// The `advert` target: parse, check the round trip, then deliver the packet to an engine and
/// check its counters and invariants.
pub fn advert(data: &[u8]) {
    let Some(case) = AdvertCase::decode(data) else {
        return;
    };
    check_round_trip(&case);
    check_engine_receive(&case);
}

/// Parse `case`; whatever parses re-emits to bytes that parse to the same value.
///
/// The emitted bytes equal the received ones except for what the codec documents it normalises:
/// trailing bytes are dropped, v3 reserved bits are sent as zero, the data of a v2 type-0
/// authentication is sent as zero, and a checksum field of 0xFFFF and 0x0000 are the same
/// one's-complement value.
pub fn check_round_trip(case: &AdvertCase<'_>) {
    let p = case.payload;
    let parsed = wire::parse(p, &case.ctx, case.policy);
    // The structural view agrees with the parser: they differ only by the checksum rule.
    if let Some(family) = case.ctx.family() {
        match (&parsed, Packet::new_checked(p, family)) {
            (Ok(_), Err(e)) => panic!("parse accepted what new_checked rejects ({e})"),
            (Err(wire::ParseError::Checksum { .. }), Ok(_)) | (Ok(_), Ok(_)) => {}
            (Err(e), Ok(_)) => panic!("new_checked accepted what parse rejects ({e})"),
            (Err(a), Err(b)) => assert_eq!(*a, b, "parse and new_checked disagree"),
        }
    } else {
        assert_eq!(parsed, Err(wire::ParseError::FamilyMismatch));
    }
    let Ok(advert) = parsed else {
        return;
    };
    assert_ne!(advert.vrid, 0, "VRID 0 parsed");
    assert!(
        (1..=255).contains(&advert.addrs.len()),
        "address count out of range"
    );
    let content = advert.encoded_len();
    assert_eq!(
        content + advert.trailing,
        p.len(),
        "declared content plus trailing bytes is not the packet"
    );
    let mut buf = [0u8; MAX_ADVERT_LEN];
    let n = match wire::emit(&advert, &case.ctx, &mut buf) {
        Ok(n) => n,
        Err(e) => panic!("a parsed advert does not re-emit: {e}"),
    };
    assert_eq!(n, content, "re-emitted length");
    let out = &buf[..n];
    assert_eq!(out[..4], p[..4], "version/type, VRID, priority, count");
    match advert.version {
        Version::V2 => {
            assert_eq!(out[4..6], p[4..6], "auth type, interval");
            let auth = n - wire::V2_AUTH_LEN..n;
            if p[4] == 1 {
                assert_eq!(out[auth.clone()], p[auth], "v2 password");
            } else {
                assert!(out[auth].iter().all(|&b| b == 0), "v2 type-0 data not zero");
            }
        }
        Version::V3 => {
            assert_eq!(out[4] & 0xf0, 0, "v3 reserved bits sent");
            assert_eq!(out[4] & 0x0f, p[4] & 0x0f, "v3 interval high bits");
            assert_eq!(out[5], p[5], "v3 interval low byte");
        }
    }
    let addr_end = wire::HEADER_LEN + advert.addrs.len() * Family::of(&case.ctx.src).addr_len();
    assert_eq!(out[8..addr_end], p[8..addr_end], "addresses");
    // Nothing normalised: the very same bytes, up to the 0x0000 / 0xFFFF checksum alias.
    if advert.trailing == 0 && out[..6] == p[..6] && out[8..] == p[8..n] && out[6..8] != p[6..8] {
        let a = u16::from_be_bytes([out[6], out[7]]);
        let b = u16::from_be_bytes([p[6], p[7]]);
        assert!(
            (a == 0 && b == 0xffff) || (a == 0xffff && b == 0),
            "same content, different checksum: 0x{a:04x} emitted, 0x{b:04x} received"
        );
    }
    let again = match wire::parse(out, &case.ctx, case.policy) {
        Ok(a) => a,
        Err(e) => panic!("re-emitted advert does not parse: {e}"),
    };
    assert_eq!(again.version, advert.version);
    assert_eq!(again.vrid, advert.vrid);
    assert_eq!(again.priority, advert.priority);
    assert_eq!(again.interval, advert.interval);
    assert_eq!(again.addrs, advert.addrs);
    assert_eq!(again.auth, advert.auth);
    assert_eq!(again.trailing, 0);
    if again.checksum != advert.checksum {
        // Possible only under the policy that accepts either form, when the re-emitted bytes
        // (shorter by the trailing bytes) happen to satisfy both: the parser then reports the
        // RFC form, as documented.
        let both = Packet::new_checked(out, Family::of(&case.ctx.src)).is_ok_and(|pk| {
            pk.checksum_form(&case.ctx, ChecksumPolicy::Rfc).is_some()
                && pk
                    .checksum_form(&case.ctx, ChecksumPolicy::V3Plain)
                    .is_some()
        });
        assert!(
            case.policy == ChecksumPolicy::Either && both,
            "checksum form changed from {:?} to {:?}",
            advert.checksum,
            again.checksum
        );
    }
    // Emitting is idempotent.
    let mut buf2 = [0u8; MAX_ADVERT_LEN];
    match wire::emit(&again, &case.ctx, &mut buf2) {
        Ok(m) => assert_eq!(&buf2[..m], out, "emit(parse(emit(x))) != emit(x)"),
        Err(e) => panic!("re-parsed advert does not emit: {e}"),
    }
}

/// The engine the `advert` target delivers to: one router (192.0.2.11, fe80::ff:fe00:1, the
/// captures' h1) with VRID 51 as in the captures: VRRPv3 over IPv4 and IPv6 on `eth0`, VRRPv2 with
/// the captures' password on `eth1`.
pub fn advert_engine_config(policy: ChecksumPolicy) -> EngineConfig {
    let mut v3_4 = InstanceConfig::new("V3_4", "eth0", 51, Version::V3, Family::V4)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
    v3_4.checksum_policy = policy;
    let v3_6 =
        InstanceConfig::new("V3_6", "eth0", 51, Version::V3, Family::V6).vips([v6_doc(0x100)]);
    let mut v2 = InstanceConfig::new("V2_PASS", "eth1", 51, Version::V2, Family::V4)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
    v2.auth = Auth::simple(b"secret1");
    EngineConfig::instances(vec![v3_4, v3_6, v2])
}

/// The `advert` target's engine for `policy`, addressed and started at 1 ms (its checks included).
pub fn advert_router(policy: ChecksumPolicy) -> Router {
    let Some(mut r) = Router::new(0, advert_engine_config(policy)) else {
        panic!("the advert engine's configuration is rejected");
    };
    let t0 = Instant::from_millis(1);
    for (iface, family, addr) in [
        ("eth0", Family::V4, h1_v4()),
        ("eth0", Family::V6, h1_v6()),
        ("eth1", Family::V4, h1_v4()),
    ] {
        r.primary(t0, iface, family, Some(addr));
    }
    r.input(t0, Input::Start);
    r
}

thread_local! {
    /// [`advert_router`] by checksum policy, built once per process ([`check_engine_receive`]).
    static ADVERT_ROUTERS: std::cell::RefCell<Vec<(ChecksumPolicy, Router)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn check_engine_receive(case: &AdvertCase<'_>) {
    // A clone of the started engine of the case's policy: it depends on the policy alone (the
    // `cached_advert_routers_are_the_routers_built` test compares them).
    let mut r = ADVERT_ROUTERS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, r)) = cache.iter().find(|(p, _)| *p == case.policy) {
            return r.clone();
        }
        let r = advert_router(case.policy);
        cache.push((case.policy, r.clone()));
        r
    });
    let iface = if case.iface == 0 { "eth0" } else { "eth1" };
    let t1 = Instant::from_millis(2);
    r.receive(
        t1,
        iface,
        case.ctx.src,
        case.ctx.dst,
        case.ttl,
        case.payload,
    );
    // Let the learned interval (and any take-over) play out once.
    if let Some(t) = r.engine.poll_timeout() {
        r.timeout(t.max(t1));
    }
}

fn h1_v4() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11))
}

fn h1_v6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1))
}

// =================================================================================================
// The router harness: one engine and the invariants checked from the outside after every call.
// =================================================================================================

/// An advert on the wire: the encoded bytes of one destination of a [`vigil_engine::SendAdvert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Index of the sending router.
    pub from: usize,
    /// Interface name (the link it goes out on).
    pub iface: Rc<str>,
    /// IP source.
    pub src: IpAddr,
    /// IP destination (the group or a unicast peer).
    pub dst: IpAddr,
    /// The VRRP message.
    pub bytes: Vec<u8>,
}

/// One engine and the invariants of its run-loop contract, checked after every call by
/// [`vigil_sim::contract::Contract`] (the checker the simulator runs too), plus the codec's:
///
/// * every `StateChange` starts from the state the previous one ended in and is an edge of
///   [`State::can_go_to`]; the engine's view agrees;
/// * virtual addresses are present (added and not removed) exactly while the instance is MASTER;
/// * an advert with a non-zero priority comes from a MASTER (or one becoming MASTER in the same
///   call), a priority-0 advert from a MASTER that leaves in the same call; every advert encodes
///   and parses back to what the action says;
/// * a MASTER or BACKUP instance always has a deadline, an INIT or FAULT one never;
///   [`Engine::poll_timeout`] is the earliest of them and, once `handle_timeout(now)` has run, is
///   later than that `now`;
/// * counters: each delivered packet that reaches an instance (interface, family, VRID) adds one to
///   its drop counters or to `adverts_received`, others add one to the router's counters; each
///   drop is one `ProtocolError`; sent adverts and transitions match the actions.
#[derive(Clone, Debug)]
pub struct Router {
    /// Index in the cluster.
    pub index: usize,
    /// The engine under test.
    pub engine: Engine,
    /// Shared with the copies of a cached cluster until a reload replaces it.
    config: Rc<EngineConfig>,
    /// The engine's interface names by id (`IfaceId.0`).
    ifaces: IfaceList,
    /// What [`Engine::poll_timeout`] returned after the last call (the contract checked it
    /// then; it changes only by a call into the engine, all of which go through `Router`), so
    /// that the cluster's scheduling loop does not ask every engine again on every step.
    next: Option<Instant>,
    /// The run-loop contract, the one checker the simulator uses too.
    contract: Contract,
    last_now: Instant,
    /// The actions of the call being checked (one buffer reused for every call; empty between
    /// calls).
    actions: Vec<Action>,
    /// The reloads taken since the router ran its cluster's initial configuration (the last
    /// [`Change::Base`]): with the cluster's setup and the router's index, what its
    /// configuration is made of ([`Cluster::reload_target`]).
    lineage: Vec<Change>,
}

impl Router {
    /// Build the engine; `None` if the configuration is rejected.
    pub fn new(index: usize, config: EngineConfig) -> Option<Router> {
        Router::build(index, config).ok()
    }

    /// Build the engine, or [`Engine::new`]'s refusal.
    pub fn build(index: usize, config: EngineConfig) -> Result<Router, SetupError> {
        let mut engine = Engine::new(config.clone())?;
        let contract = Contract::new(&engine, &config);
        Ok(Router {
            index,
            ifaces: iface_names(&engine),
            next: engine.poll_timeout(),
            engine,
            config: Rc::new(config),
            contract,
            last_now: Instant::ZERO,
            actions: Vec::new(),
            lineage: Vec::new(),
        })
    }

    /// The configuration the engine runs.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Reload the engine with `config` at `now` ([`Engine::reload`]) and check what it did.
    ///
    /// A configuration that [`Engine::new`] refuses must be refused by the reload too, leaving the
    /// engine exactly as it was (same debug form, no action). Otherwise: an instance is the same
    /// virtual router when its name, interface, family, VRID and version are unchanged and it was
    /// running (reload.rs); it keeps its state, priority, held addresses and counters, and only
    /// the difference of its addresses moves. Every other running instance stops first, under its
    /// old id, as on shutdown (a MASTER says goodbye and removes its addresses); new ones start
    /// as at start-up. Then every invariant of [`Router`] holds again, with ids resolved by name.
    /// Returns whether the configuration was taken, and the adverts to send.
    pub fn reload(&mut self, now: Instant, config: EngineConfig) -> (bool, Vec<Outgoing>) {
        let fresh = Engine::new(config.clone()).map_err(drop);
        self.reload_to(now, Rc::new(config), fresh)
    }

    /// [`Router::reload`] with `fresh`, what [`Engine::new`] returns for `config` (the engine
    /// it builds, or its refusal), already known (the `engine` target keeps it from an earlier
    /// input, [`Cluster::reload_target`]).
    fn reload_to(
        &mut self,
        now: Instant,
        config: Rc<EngineConfig>,
        fresh: Result<Engine, ()>,
    ) -> (bool, Vec<Outgoing>) {
        self.advance_clock(now);
        let fresh = match fresh {
            Ok(e) => e,
            Err(()) => {
                let config = EngineConfig::clone(&config);
                // A copy, compared by value afterwards (formatting the engine with `{:?}` before
                // and after was half of this target's instructions).
                let before = self.engine.clone();
                assert!(
                    self.engine.reload(now, config).is_err(),
                    "reload took a configuration Engine::new refuses"
                );
                assert!(
                    self.engine.poll_action().is_none(),
                    "a refused reload produced actions"
                );
                assert!(
                    self.engine == before,
                    "a refused reload changed the engine:\nbefore {before:?}\nafter {:?}",
                    self.engine
                );
                return (false, Vec::new());
            }
        };
        // `Engine::reload(now, config)` is `reload_built(now, Engine::new(config)?)`: its
        // verdict is Engine::new's by construction, checked above on the refused side; taken,
        // the engine built to know the verdict is the one reloaded to, not built a second time.
        // The instances' table after the reload is the new configuration's, which is all that
        // the contract's fresh mirror reads of it (names, initial priorities replaced below).
        self.engine.reload_built(now, fresh);
        let mut actions: Vec<Action> = std::iter::from_fn(|| self.engine.poll_action()).collect();
        planted::apply(&mut actions);
        // Which old instance each new one continues (reload.rs's rule, from the outside).
        let kept: Vec<Option<usize>> = config
            .instances
            .iter()
            .map(|n| {
                // The numbers first: the names are compared only for a likely match (each
                // string comparison goes through libFuzzer's `bcmp` hook).
                self.config.instances.iter().enumerate().position(|(k, o)| {
                    o.vrid == n.vrid
                        && o.family == n.family
                        && o.version == n.version
                        && o.name == n.name
                        && o.interface == n.interface
                        && self.state(k) != Some(State::Init)
                })
            })
            .collect();
        let old_n = self.contract.len();
        let mut removed = vec![true; old_n];
        for k in kept.iter().flatten() {
            removed[*k] = false;
        }
        // The removed instances' goodbyes come first, under their old ids.
        let mut stopping: Vec<bool> = (0..old_n)
            .map(|k| removed[k] && self.state(k) != Some(State::Init))
            .collect();
        let mut split = 0;
        for a in &actions {
            let id = match a {
                Action::SendAdvert(s) if s.priority == 0 => s.instance,
                Action::RemoveAddresses { instance, .. } => *instance,
                Action::StateChange { instance, to, .. } => {
                    let k = instance.0 as usize;
                    if *to == State::Init && stopping.get(k) == Some(&true) {
                        stopping[k] = false;
                        split += 1;
                        continue;
                    }
                    break;
                }
                _ => break,
            };
            if stopping.get(id.0 as usize) != Some(&true) {
                break;
            }
            split += 1;
        }
        let old_ifaces = std::mem::take(&mut self.ifaces);
        let old_config = std::mem::replace(&mut self.config, config);
        let mut out = self.check_actions(&actions[..split], &old_config, &old_ifaces);
        for (k, gone) in removed.iter().enumerate() {
            if *gone {
                assert!(
                    matches!(self.state(k), Some(State::Init)),
                    "removed instance {} did not stop",
                    old_config.instances[k].name
                );
            }
        }
        // A new instance starts with the priority its trackers give in the environment the
        // engine adopted (the view after the reload, or what its first PriorityChange leaves).
        let priorities: Vec<u8> = self
            .engine
            .instances()
            .enumerate()
            .map(|(i, view)| {
                let first_change = actions[split..].iter().find_map(|a| match a {
                    Action::PriorityChange { instance, from, .. } if instance.0 as usize == i => {
                        Some(*from)
                    }
                    _ => None,
                });
                first_change.unwrap_or(view.priority())
            })
            .collect();
        self.contract.adopt(&self.engine, &self.config, &kept, |i| {
            priorities.get(i).copied().unwrap_or(0)
        });
        self.ifaces = iface_names(&self.engine);
        let ifaces = std::mem::take(&mut self.ifaces);
        let config = Rc::clone(&self.config);
        out.extend(self.check_actions(&actions[split..], &config, &ifaces));
        self.ifaces = ifaces;
        let next = self.engine.poll_timeout();
        self.next = next;
        if let Err(b) = self.contract.end_call(&self.engine, next, None) {
            panic!("router {}: {b}", self.index);
        }
        (true, out)
    }

    /// Report an interface's primary address of a family (by interface name).
    pub fn primary(
        &mut self,
        now: Instant,
        iface: &str,
        family: Family,
        addr: Option<IpAddr>,
    ) -> Vec<Outgoing> {
        let id = self.engine.interface_id(iface).unwrap_or(IfaceId(u16::MAX));
        self.input(
            now,
            Input::PrimaryAddress {
                iface: id,
                family,
                addr,
            },
        )
    }

    /// Deliver a packet received on the interface called `iface` (an unknown name delivers on an
    /// interface id the engine does not know).
    pub fn receive(
        &mut self,
        now: Instant,
        iface: &str,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
    ) -> Vec<Outgoing> {
        let id = self.iface_id(iface);
        self.input(
            now,
            Input::Packet(Received {
                iface: id,
                src,
                dst,
                ttl,
                payload,
            }),
        )
    }

    /// The engine's id of the interface called `name` ([`Engine::interface_id`]; an unknown
    /// name: an id the engine does not know). An adverts's interface name is one of the
    /// interned names of [`IfaceList`] (see [`IFACE_NAMES`]), found by address, which is the
    /// same answer without comparing the names: `interface_id` for every delivered packet cost
    /// 2.5 % of the `engine` target, most of it libFuzzer's `bcmp` hook. Any other string is
    /// looked up by the engine.
    fn iface_id(&self, name: &str) -> IfaceId {
        let same = |n: &Rc<str>| std::ptr::eq(n.as_ptr(), name.as_ptr()) && n.len() == name.len();
        let id = match self.ifaces.0.iter().position(same) {
            Some(k) => IfaceId(k as u16),
            None => self.engine.interface_id(name).unwrap_or(IfaceId(u16::MAX)),
        };
        // The stable replay (a debug build) checks the shortcut on every packet.
        debug_assert_eq!(
            id,
            self.engine.interface_id(name).unwrap_or(IfaceId(u16::MAX))
        );
        id
    }

    /// Feed an input at `now` and check the invariants.
    pub fn input(&mut self, now: Instant, input: Input<'_>) -> Vec<Outgoing> {
        self.advance_clock(now);
        if let Input::Packet(p) = &input {
            let vrid = wire::peek_vrid(p.payload);
            self.contract
                .delivered(&self.config, &self.engine, p.iface, p.src, p.dst, vrid);
        }
        self.engine.handle_input(now, input);
        self.after_call(None)
    }

    /// Serve the timers due at `now` and check the invariants.
    pub fn timeout(&mut self, now: Instant) -> Vec<Outgoing> {
        self.advance_clock(now);
        self.engine.handle_timeout(now);
        self.after_call(Some(now))
    }

    fn advance_clock(&mut self, now: Instant) {
        assert!(now >= self.last_now, "harness bug: time went backwards");
        self.last_now = now;
        if let Err(b) = self.contract.begin_call(now) {
            panic!("router {}: {b}", self.index);
        }
    }

    /// The state instance `k` last reported.
    fn state(&self, k: usize) -> Option<State> {
        self.contract.mirror(k).and_then(|m| m.state)
    }

    /// Drain the actions of one call and check every invariant; returns the adverts to send.
    fn after_call(&mut self, timeout_now: Option<Instant>) -> Vec<Outgoing> {
        let mut actions = std::mem::take(&mut self.actions);
        actions.extend(std::iter::from_fn(|| self.engine.poll_action()));
        planted::apply(&mut actions);
        let ifaces = std::mem::take(&mut self.ifaces);
        let config = Rc::clone(&self.config);
        let out = self.check_actions(&actions, &config, &ifaces);
        self.ifaces = ifaces;
        actions.clear();
        self.actions = actions;
        let next = self.engine.poll_timeout();
        self.next = next;
        if let Err(b) = self.contract.end_call(&self.engine, next, timeout_now) {
            panic!("router {}: {b}", self.index);
        }
        out
    }

    /// Check a run of actions with the run-loop contract ([`Contract::action`], instance ids
    /// of `config`, interface ids named by `ifaces`), and every advert through the codec: it
    /// encodes and parses back to what the action says. Returns the adverts to send.
    fn check_actions(
        &mut self,
        actions: &[Action],
        config: &EngineConfig,
        ifaces: &IfaceList,
    ) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for a in actions {
            if let Err(b) = self.contract.action(config, ifaces, &self.engine, a) {
                panic!("router {}: {b}", self.index);
            }
            let Action::SendAdvert(s) = a else { continue };
            let cfg = &config.instances[s.instance.0 as usize];
            let iface = ifaces
                .0
                .get(usize::from(s.iface.0))
                .cloned()
                .unwrap_or_else(|| Rc::from("?"));
            for &dst in s.destinations() {
                let buf = with_scratch(|scratch| match s.encode(dst, scratch) {
                    Ok(len) => scratch[..len].to_vec(),
                    Err(e) => panic!("engine advert does not encode: {e}"),
                });
                let ctx = IpContext {
                    src: s.src,
                    dst: s.checksum_dst.unwrap_or(dst),
                };
                // An instance without addresses (no_virtual_ipaddress) sends a count of 0.
                let none = cfg.virtual_addresses.is_empty();
                match wire::parse_with(&buf, &ctx, cfg.checksum_policy, none) {
                    Ok(back) => assert_eq!(back, s.advert(), "engine advert round trip"),
                    Err(e) => panic!("engine advert does not parse back: {e}"),
                }
                out.push(Outgoing {
                    from: self.index,
                    iface: Rc::clone(&iface),
                    src: s.src,
                    dst,
                    bytes: buf,
                });
            }
        }
        if let Err(b) = self.contract.end_actions() {
            panic!("router {}: {b}", self.index);
        }
        out
    }
}

thread_local! {
    /// One buffer to encode adverts into, for every router and crafted advert of the process
    /// (a buffer per router was copied with every clone of a cached cluster; zeroing 4 KB per
    /// advert was 7 % of the engine target's time).
    static SCRATCH: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0u8; MAX_ADVERT_LEN]);
}

/// Run `f` on the shared encode buffer ([`MAX_ADVERT_LEN`] bytes).
fn with_scratch<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    SCRATCH.with_borrow_mut(|b| f(b))
}

/// Bugs planted in the engine's output, for the tests that show the checks still catch them
/// (`planted_bugs_are_caught`). Outside `cfg(test)` builds (the fuzz targets, the replay) this
/// is a no-op.
mod planted {
    use vigil_engine::Action;

    /// A kind of engine bug, planted by rewriting the actions of every call before they are
    /// checked.
    #[cfg(test)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Plant {
        /// The addresses are never removed (a BACKUP keeps the virtual addresses).
        KeepAddresses,
        /// Every address is added twice.
        AddTwice,
        /// Adverts carry one more than the effective priority.
        AdvertPriority,
        /// State changes are not reported.
        HideStateChanges,
        /// Dropped packets are not reported.
        HideProtocolErrors,
        /// Priority changes are not reported.
        HidePriorityChanges,
    }

    #[cfg(test)]
    thread_local! {
        pub static PLANT: std::cell::Cell<Option<Plant>> = const { std::cell::Cell::new(None) };
    }

    /// Rewrite `actions` as the planted bug would have made them.
    #[cfg(test)]
    pub(super) fn apply(actions: &mut Vec<Action>) {
        let Some(plant) = PLANT.with(std::cell::Cell::get) else {
            return;
        };
        match plant {
            Plant::KeepAddresses => {
                actions.retain(|a| !matches!(a, Action::RemoveAddresses { .. }));
            }
            Plant::AddTwice => {
                let twice: Vec<Action> = actions
                    .iter()
                    .filter(|a| matches!(a, Action::AddAddresses { .. }))
                    .cloned()
                    .collect();
                actions.extend(twice);
            }
            Plant::AdvertPriority => {
                for a in actions.iter_mut() {
                    if let Action::SendAdvert(s) = a {
                        if s.priority != 0 && s.priority != 255 {
                            s.priority += 1;
                        }
                    }
                }
            }
            Plant::HideStateChanges => {
                actions.retain(|a| !matches!(a, Action::StateChange { .. }));
            }
            Plant::HideProtocolErrors => {
                actions.retain(|a| !matches!(a, Action::ProtocolError { .. }));
            }
            Plant::HidePriorityChanges => {
                actions.retain(|a| !matches!(a, Action::PriorityChange { .. }));
            }
        }
    }

    /// No bug is planted outside the tests.
    #[cfg(not(test))]
    #[inline(always)]
    pub(super) fn apply(_actions: &mut Vec<Action>) {}
}

/// Interface names by the engine's ids (`IfaceId.0`), shared (not copied) by the adverts sent
/// on them.
#[derive(Clone, Debug, Default)]
pub struct IfaceList(Vec<Rc<str>>);

impl vigil_sim::contract::IfaceNames for IfaceList {
    fn iface_name(&self, id: IfaceId) -> Option<&str> {
        self.0.get(usize::from(id.0)).map(|n| &**n)
    }
}

thread_local! {
    /// Every interface name the routers of the process use, once: the names of every
    /// [`IfaceList`] (and so of every [`Outgoing`]) are these allocations, so that a router
    /// finds the id of the interface a packet arrives on by address ([`Router::iface_id`]).
    static IFACE_NAMES: std::cell::RefCell<Vec<Rc<str>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The process's one allocation of the interface name `name`.
fn interned(name: &str) -> Rc<str> {
    IFACE_NAMES.with_borrow_mut(|names| {
        if let Some(n) = names.iter().find(|n| ***n == *name) {
            return Rc::clone(n);
        }
        let n: Rc<str> = Rc::from(name);
        names.push(Rc::clone(&n));
        n
    })
}

/// The engine's interface names, indexed by `IfaceId.0`.
fn iface_names(engine: &Engine) -> IfaceList {
    IfaceList(
        (0..=u16::MAX)
            .map_while(|k| engine.interface_name(IfaceId(k)).map(interned))
            .collect(),
    )
}

// =================================================================================================
// engine: operations
// =================================================================================================

/// How the cluster is built, read from the first bytes of an `engine` input.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// Number of routers: 1 + routers % 3.
    pub routers: u8,
    /// Bit 0: do not report primary addresses before starting; bit 1: do not start; bit 2: router
    /// 0 sends the plain v3 checksum on the unicast instance (a misconfigured peer); bit 3: no
    /// address-list check on router 1; bit 4: `lower_prio_no_advert` everywhere; bit 5: unicast
    /// instance without a configured source; bit 6: `sync_group_tracking_weight` on the sync
    /// group; bit 7: no sync group.
    pub flags: u8,
}

/// A time step.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Microseconds.
    Micros(u16),
    /// Milliseconds.
    Millis(u16),
    /// Seconds.
    Seconds(u8),
}

impl Step {
    fn duration(self) -> Duration {
        match self {
            Step::Micros(n) => Duration::from_micros(u64::from(n)),
            Step::Millis(n) => Duration::from_millis(u64::from(n)),
            Step::Seconds(n) => Duration::from_secs(u64::from(n)),
        }
    }
}

/// An interface of the cluster's routers.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `eth0`: the multicast LAN (instances 0-2).
    Eth0,
    /// `eth1`: the unicast LAN (instances 3-4).
    Eth1,
    /// An interface the engine does not know.
    Unknown,
}

impl Link {
    fn name(self) -> &'static str {
        match self {
            Link::Eth0 => "eth0",
            Link::Eth1 => "eth1",
            Link::Unknown => "wlan9",
        }
    }
}

/// An address family.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Fam {
    fn family(self) -> Family {
        match self {
            Fam::V4 => Family::V4,
            Fam::V6 => Family::V6,
        }
    }
}

/// The primary address an interface reports.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrChoice {
    /// Removed.
    Removed,
    /// The router's own address (the initial one).
    Own,
    /// Another address of the same subnet (ties are broken on it).
    Other(u8),
    /// An address of the other family (the engine must ignore it).
    WrongFamily,
}

/// Who sends a crafted advert.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// One of the cluster's routers (its address).
    Router(u8),
    /// Another host on the link.
    Host(u8),
}

/// The interval of a crafted advert.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalChoice {
    /// The instance's own.
    Same,
    /// Seconds (v2) or centiseconds (v3), zero replaced by one (zero is a mangle).
    Ticks(u16),
}

/// The address list of a crafted advert.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrsChoice {
    /// The instance's own.
    Same,
    /// Same, in reverse order.
    Reversed,
    /// One missing (or a foreign one instead of a single one).
    Missing,
    /// One foreign extra address at the end.
    Extra,
    /// A link-local first (RFC 5798 section 5.2.9's IPv6 form).
    LinkLocalFirst,
    /// Entirely foreign addresses.
    Foreign(u8),
}

/// The v2 authentication of a crafted advert.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthChoice {
    /// The instance's own.
    Same,
    /// Type 0.
    None,
    /// A wrong password.
    Wrong,
}

/// An advert built from one configured instance with chosen fields.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crafted {
    /// The instance (index into the router's configuration, modulo its length).
    pub instance: u8,
    /// Who sends it.
    pub sender: Sender,
    /// The priority carried.
    pub priority: u8,
    /// The interval.
    pub interval: IntervalChoice,
    /// The address list.
    pub addrs: AddrsChoice,
    /// v2 authentication.
    pub auth: AuthChoice,
    /// Send it as the other VRRP version.
    pub other_version: bool,
    /// Unicast to the receiving router's address instead of the group.
    pub unicast: bool,
}

/// A corruption applied to a packet before it is delivered.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mangle {
    /// As sent.
    None,
    /// One bit flipped (bit index modulo the length), optionally with a fixed checksum.
    FlipBit {
        /// Bit index.
        bit: u16,
        /// Recompute the checksum so the corruption reaches the checks behind it.
        fix_checksum: bool,
    },
    /// Cut to `len` bytes (modulo the length).
    Truncate {
        /// New length.
        len: u16,
    },
    /// Padded with `extra` bytes of `fill`.
    Extend {
        /// Bytes added.
        extra: u8,
        /// Their value.
        fill: u8,
        /// Recompute the checksum over the padding.
        fix_checksum: bool,
    },
    /// Another TTL / hop limit.
    Ttl(u8),
    /// Another VRID.
    Vrid {
        /// The VRID.
        vrid: u8,
        /// Recompute the checksum.
        fix_checksum: bool,
    },
    /// Another version nibble.
    Version {
        /// The version.
        version: u8,
        /// Recompute the checksum.
        fix_checksum: bool,
    },
    /// The checksum recomputed in the other form (plain <-> pseudo-header).
    OtherChecksumForm,
    /// One byte set.
    SetByte {
        /// Index (modulo the length).
        index: u16,
        /// Value.
        value: u8,
        /// Recompute the checksum.
        fix_checksum: bool,
    },
    /// Delivered on an interface the engine does not know.
    WrongInterface,
    /// Destination of the other family.
    FamilyMismatch,
}

/// How a check program's run ended.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Non-zero exit.
    Failure,
    /// Killed at its timeout.
    Timeout,
}

/// One step of an `engine` input.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `Input::Start` to a router.
    Start {
        /// Router (modulo the cluster size).
        router: u8,
    },
    /// `Input::Shutdown` to a router.
    Shutdown {
        /// Router.
        router: u8,
    },
    /// A link goes up or down.
    LinkState {
        /// Router.
        router: u8,
        /// Interface.
        link: Link,
        /// Up.
        up: bool,
    },
    /// A primary address changes.
    Primary {
        /// Router.
        router: u8,
        /// Interface.
        link: Link,
        /// Family.
        family: Fam,
        /// The new address.
        addr: AddrChoice,
    },
    /// Deliver one advert in flight (index modulo the queue), mangled.
    Deliver {
        /// Which.
        index: u8,
        /// How.
        mangle: Mangle,
    },
    /// Lose one advert in flight.
    Lose {
        /// Which.
        index: u8,
    },
    /// Stop (or resume) delivering adverts automatically while time passes.
    Partition {
        /// True: adverts stay in flight until `Deliver` or `Lose`.
        on: bool,
    },
    /// Deliver a crafted advert to a router.
    Inject {
        /// Router.
        router: u8,
        /// The advert.
        advert: Crafted,
        /// Its corruption.
        mangle: Mangle,
    },
    /// Let time pass, serving every deadline on the way as a runner does.
    Advance {
        /// How long.
        step: Step,
    },
    /// `handle_timeout` for one router at an arbitrary time (early, late or spurious).
    TimeoutAt {
        /// Router.
        router: u8,
        /// How much later than now.
        step: Step,
    },
    /// Jump to the earliest deadline of the cluster and serve it.
    NextDeadline,
    /// A check program (`vrrp_script`, index modulo the configured ones, plus one unknown)
    /// finished a run.
    Check {
        /// Router.
        router: u8,
        /// Script index.
        script: u8,
        /// How it ended.
        outcome: Outcome,
        /// How long it ran, in milliseconds.
        ran_ms: u16,
    },
    /// A tracked file (`vrrp_track_file`, index modulo the configured ones plus one unknown) holds
    /// a new value.
    TrackFile {
        /// Router.
        router: u8,
        /// File index.
        file: u8,
        /// Its value.
        value: i64,
    },
    /// Reload a router with a configuration derived from the one it runs ([`Engine::reload`]).
    Reload {
        /// Router.
        router: u8,
        /// What changes.
        change: Change,
    },
}

/// A change to a router's configuration for [`Op::Reload`]. Changes compose: each applies to the
/// configuration the router runs. `instance` is an index modulo the configured instances (no
/// change when there is none).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// The same configuration again: nothing may happen.
    Unchanged,
    /// Back to the configuration the router started with.
    Base,
    /// Another configured priority (0 is refused).
    Priority {
        /// Instance.
        instance: u8,
        /// Priority.
        priority: u8,
    },
    /// Another advertisement interval, in centiseconds modulo 4096 (0, or a fraction of a second
    /// for VRRPv2, is refused).
    Interval {
        /// Instance.
        instance: u8,
        /// Centiseconds.
        centis: u16,
    },
    /// Another set of virtual addresses.
    Vips {
        /// Instance.
        instance: u8,
        /// How.
        edit: VipEdit,
    },
    /// Preemption settings.
    Preempt {
        /// Instance.
        instance: u8,
        /// `nopreempt` when false.
        preempt: bool,
        /// `preempt_delay` in tenths of a second.
        delay_ds: u8,
    },
    /// The instance's trackers: every weight set to `weight`, or all dropped.
    Tracking {
        /// Instance.
        instance: u8,
        /// The new weight.
        weight: i8,
        /// False: drop every tracker of the instance.
        keep: bool,
    },
    /// The instance is removed (and from its sync group; an emptied group goes too).
    Remove {
        /// Instance.
        instance: u8,
    },
    /// A new VRRPv3 instance `NEW<vrid>` on `eth0` (at most eight instances).
    Add {
        /// Its VRID (0 or a taken one is refused).
        vrid: u8,
        /// IPv6 instead of IPv4.
        v6: bool,
        /// Its priority.
        priority: u8,
    },
    /// The instance becomes another virtual router (stops and starts).
    Identity {
        /// Instance.
        instance: u8,
        /// How.
        edit: IdentityEdit,
    },
    /// The sync group changes.
    Group(GroupEdit),
    /// A configuration the engine must refuse.
    Broken(Broken),
}

/// How [`Change::Vips`] edits an address list.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VipEdit {
    /// The last address dropped (the list may become empty: refused).
    DropLast,
    /// A new address appended.
    Add(u8),
    /// One new address instead of all.
    Replace(u8),
    /// The same addresses in reverse order.
    Reverse,
    /// An address of the other family appended (refused).
    OtherFamily,
}

/// How [`Change::Identity`] makes an instance another virtual router.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityEdit {
    /// Another VRID (0 or a taken one is refused).
    Vrid(u8),
    /// Another name (the sync group follows).
    Rename,
    /// The other link.
    OtherLink,
    /// The other VRRP version (a v3 interval rounded to whole seconds, v2 authentication
    /// dropped; VRRPv2 over IPv6 is refused).
    OtherVersion,
}

/// How [`Change::Group`] edits the sync group `G1`.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupEdit {
    /// No sync group.
    Remove,
    /// The members are the instances whose index is a set bit (an empty group is refused).
    Members(u8),
    /// `sync_group_tracking_weight` on or off.
    TrackingWeight(bool),
}

/// A configuration [`Engine::new`] and [`Engine::reload`] must refuse.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Broken {
    /// Two instances with one name.
    DuplicateName,
    /// Two instances with one interface, family and VRID.
    DuplicateVrid,
    /// A tracked script that does not exist.
    UnknownScript,
    /// A sync group member that does not exist.
    UnknownMember,
    /// An instance in two sync groups.
    TwoGroups,
    /// VRRPv3 with a password.
    AuthWithV3,
    /// VRID 0.
    VridZero,
}

/// The most instances [`Change::Add`] grows a configuration to.
const MAX_RELOAD_INSTANCES: usize = 8;

impl Change {
    /// The configuration after this change: `cur` is what router `r` runs, `base` what it
    /// started with.
    // Long: one arm per reload change the fuzzer can make (a flat table).
    pub fn apply(self, cur: &EngineConfig, base: &EngineConfig) -> EngineConfig {
        if self == Change::Base {
            return base.clone();
        }
        let mut c = cur.clone();
        let n = c.instances.len();
        let pick = |i: u8| (n > 0).then(|| usize::from(i) % n);
        match self {
            Change::Unchanged | Change::Base => {}
            Change::Priority { instance, priority } => {
                if let Some(i) = pick(instance) {
                    c.instances[i].priority = priority;
                }
            }
            Change::Interval { instance, centis } => {
                if let Some(i) = pick(instance) {
                    c.instances[i].advert_interval =
                        Duration::from_millis(u64::from(centis % 4096) * 10);
                }
            }
            Change::Vips { instance, edit } => {
                if let Some(i) = pick(instance) {
                    let inst = &mut c.instances[i];
                    let family = inst.family;
                    let fresh = |x: u8| match family {
                        Family::V4 => v4(203, 0, 113, x),
                        Family::V6 => v6_doc(0x200 + u16::from(x)),
                    };
                    let vips = &mut inst.virtual_addresses;
                    match edit {
                        VipEdit::DropLast => {
                            vips.pop();
                        }
                        VipEdit::Add(x) => {
                            let a = VirtualAddress::new(fresh(x));
                            if !vips.contains(&a) {
                                vips.push(a);
                            }
                        }
                        VipEdit::Replace(x) => *vips = vec![VirtualAddress::new(fresh(x))],
                        VipEdit::Reverse => vips.reverse(),
                        VipEdit::OtherFamily => vips.push(VirtualAddress::new(match family {
                            Family::V4 => v6_doc(0x300),
                            Family::V6 => v4(203, 0, 113, 1),
                        })),
                    }
                }
            }
            Change::Preempt {
                instance,
                preempt,
                delay_ds,
            } => {
                if let Some(i) = pick(instance) {
                    c.instances[i].preempt = preempt;
                    c.instances[i].preempt_delay = Duration::from_millis(u64::from(delay_ds) * 100);
                }
            }
            Change::Tracking {
                instance,
                weight,
                keep,
            } => {
                if let Some(i) = pick(instance) {
                    let track = &mut c.instances[i].track;
                    if keep {
                        for t in track.iter_mut() {
                            t.weight = i32::from(weight);
                        }
                    } else {
                        track.clear();
                    }
                }
            }
            Change::Remove { instance } => {
                if let Some(i) = pick(instance) {
                    let gone = c.instances.remove(i);
                    for g in &mut c.sync_groups {
                        g.members.retain(|m| *m != gone.name);
                    }
                    c.sync_groups.retain(|g| !g.members.is_empty());
                }
            }
            Change::Add { vrid, v6, priority } => {
                if n < MAX_RELOAD_INSTANCES {
                    let family = if v6 { Family::V6 } else { Family::V4 };
                    let vip = match family {
                        Family::V4 => v4(203, 0, 113, vrid),
                        Family::V6 => v6_doc(0x400 + u16::from(vrid)),
                    };
                    c.instances.push(
                        InstanceConfig::new(
                            &format!("NEW{vrid}"),
                            "eth0",
                            vrid,
                            Version::V3,
                            family,
                        )
                        .priority(priority)
                        .vips([vip]),
                    );
                }
            }
            Change::Identity { instance, edit } => {
                if let Some(i) = pick(instance) {
                    let inst = &mut c.instances[i];
                    match edit {
                        IdentityEdit::Vrid(v) => inst.vrid = v,
                        IdentityEdit::Rename => {
                            let old = inst.name.clone();
                            inst.name.push_str("_R");
                            let new = inst.name.clone();
                            for g in &mut c.sync_groups {
                                for m in &mut g.members {
                                    if *m == old {
                                        m.clone_from(&new);
                                    }
                                }
                            }
                        }
                        IdentityEdit::OtherLink => {
                            inst.interface = if inst.interface == "eth0" {
                                "eth1"
                            } else {
                                "eth0"
                            }
                            .to_string();
                            inst.source = None;
                        }
                        IdentityEdit::OtherVersion => match inst.version {
                            Version::V2 => {
                                inst.version = Version::V3;
                                inst.auth = Auth::None;
                            }
                            Version::V3 => {
                                inst.version = Version::V2;
                                let secs = inst.advert_interval.as_secs().clamp(1, 255);
                                inst.advert_interval = Duration::from_secs(secs);
                            }
                        },
                    }
                }
            }
            Change::Group(edit) => match edit {
                GroupEdit::Remove => c.sync_groups.clear(),
                GroupEdit::Members(mask) => {
                    let members = c
                        .instances
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| *k < 8 && mask & (1 << k) != 0)
                        .map(|(_, inst)| inst.name.clone())
                        .collect();
                    let tracking_weight = c.sync_groups.first().is_some_and(|g| g.tracking_weight);
                    c.sync_groups = vec![SyncGroupConfig {
                        name: "G1".to_string(),
                        members,
                        tracking_weight,
                    }];
                }
                GroupEdit::TrackingWeight(on) => {
                    for g in &mut c.sync_groups {
                        g.tracking_weight = on;
                    }
                }
            },
            Change::Broken(b) => {
                if c.instances.is_empty() {
                    c.instances.push(
                        InstanceConfig::new("ZERO", "eth0", 0, Version::V3, Family::V4)
                            .vips([v4(203, 0, 113, 1)]),
                    );
                    return c;
                }
                let first = c.instances[0].clone();
                match b {
                    Broken::DuplicateName => {
                        let mut d = first;
                        d.vrid = d.vrid.wrapping_add(100).max(1);
                        c.instances.push(d);
                    }
                    Broken::DuplicateVrid => {
                        let mut d = first;
                        d.name = "DUP".to_string();
                        c.instances.push(d);
                    }
                    Broken::UnknownScript => c.instances[0].track.push(Track {
                        target: TrackTarget::Script("no_such_script".to_string()),
                        weight: 0,
                        reverse: false,
                    }),
                    Broken::UnknownMember => c.sync_groups.push(SyncGroupConfig {
                        name: "G_UNKNOWN".to_string(),
                        members: vec!["NO_SUCH_INSTANCE".to_string()],
                        tracking_weight: false,
                    }),
                    Broken::TwoGroups => {
                        for name in ["G_A", "G_B"] {
                            c.sync_groups.push(SyncGroupConfig {
                                name: name.to_string(),
                                members: vec![first.name.clone()],
                                tracking_weight: false,
                            });
                        }
                    }
                    Broken::AuthWithV3 => {
                        let i = &mut c.instances[0];
                        i.version = Version::V3;
                        i.auth = Auth::simple(b"secret1");
                    }
                    Broken::VridZero => c.instances[0].vrid = 0,
                }
            }
        }
        c
    }
}

/// The most operations one input runs.
pub const MAX_OPS: usize = 64;
/// The most adverts in flight (older ones are lost).
const MAX_FLIGHT: usize = 32;
/// The most deadlines one `Advance` serves one by one before serving the rest late.
const MAX_EVENTS_PER_STEP: usize = 16;

/// Decode an `engine` input: the setup and the operations.
pub fn decode_engine(data: &[u8]) -> Option<(Setup, Vec<Op>)> {
    let mut u = Unstructured::new(data);
    let setup = Setup::arbitrary(&mut u).ok()?;
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < MAX_OPS {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    Some((setup, ops))
}

/// The `engine` target: build the cluster and run the operations, checking every router's
/// invariants after every call. Set `VIGIL_FUZZ_DEBUG=1` to print the decoded operations.
pub fn engine(data: &[u8]) {
    let Some((setup, ops)) = decode_engine(data) else {
        return;
    };
    // Read once per process: the environment lookup (a lock and an allocation) ran for every
    // input.
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let debug = *DEBUG.get_or_init(|| std::env::var_os("VIGIL_FUZZ_DEBUG").is_some());
    if debug {
        eprintln!("{setup:?}");
        for op in &ops {
            eprintln!("  {op:?}");
        }
    }
    let mut c = Cluster::cached(setup);
    c.debug = debug;
    for op in ops {
        c.apply(op);
    }
}

/// A router's own addresses.
fn router_addr(r: usize, link: Link, family: Family) -> IpAddr {
    let host = (10 + r) as u8;
    match (link, family) {
        (Link::Eth1, Family::V4) => IpAddr::V4(Ipv4Addr::new(198, 51, 100, host)),
        (Link::Eth1, Family::V6) => {
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 1, 0, host.into()))
        }
        (_, Family::V4) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, host)),
        (_, Family::V6) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, host.into())),
    }
}

/// Another host's address on a link.
fn host_addr(x: u8, link: Link, family: Family) -> IpAddr {
    match (link, family) {
        (Link::Eth1, Family::V4) => IpAddr::V4(Ipv4Addr::new(198, 51, 100, x)),
        (_, Family::V4) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, x)),
        (Link::Eth1, Family::V6) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 1, 0, x.into())),
        (_, Family::V6) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, x.into())),
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6_doc(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

/// The configuration of router `r` of `n`: five instances, the same on every router but for
/// priorities and options.
///
/// 0. `V3_4`: VRRPv3 over IPv4 on `eth0`, VRID 51, 1 s, priorities 255 (router 0 owns the address),
///    150, 100.
/// 1. `V2_AUTH`: VRRPv2 on `eth0`, VRID 52, 1 s, password `secret1`, two addresses, priorities 100,
///    200, 50 (router 2 `nopreempt`).
/// 2. `V3_6`: VRRPv3 over IPv6 on `eth0`, VRID 51, 100 ms, priorities 100, 100 (a tie broken on the
///    address), 120 (router 2 with a 2 s `preempt_delay`).
/// 3. `UCAST`: VRRPv3 over IPv4 on `eth1`, VRID 53, 30 ms, unicast to the other routers, source
///    configured, checksum policy "either"; priorities 120, 110, 100.
/// 4. `V2_OWNER`: VRRPv2 on `eth1`, VRID 54, 2 s; priorities 50, 60, 255 (router 2 owns it).
pub fn cluster_config(r: usize, n: usize, flags: u8) -> EngineConfig {
    let pick = |p: [u8; 3]| p[r.min(2)];
    let mut i0 = InstanceConfig::new("V3_4", "eth0", 51, Version::V3, Family::V4)
        .priority(pick([255, 150, 100]))
        .vips([v4(192, 0, 2, 100)]);
    i0.advert_on_lower_priority = flags & 0x10 == 0;

    let mut i1 = InstanceConfig::new("V2_AUTH", "eth0", 52, Version::V2, Family::V4)
        .priority(pick([100, 200, 50]))
        .vips([v4(192, 0, 2, 101), v4(192, 0, 2, 102)]);
    i1.auth = Auth::simple(b"secret1");
    if r == 2 {
        i1 = i1.nopreempt();
    }

    let mut i2 = InstanceConfig::new("V3_6", "eth0", 51, Version::V3, Family::V6)
        .priority(pick([100, 100, 120]))
        .advert_interval(Duration::from_millis(100))
        .vips([v6_doc(0x100), v6_doc(0x101)]);
    if r == 2 {
        i2 = i2.preempt_delay(Duration::from_secs(2));
    }
    i2.advert_on_lower_priority = flags & 0x10 == 0;

    let mut i3 = InstanceConfig::new("UCAST", "eth1", 53, Version::V3, Family::V4)
        .priority(pick([120, 110, 100]))
        .advert_interval(Duration::from_millis(30))
        .vips([v4(198, 51, 100, 100)]);
    i3.unicast_peers = (0..n)
        .filter(|&p| p != r)
        .map(|p| router_addr(p, Link::Eth1, Family::V4))
        .collect();
    if i3.unicast_peers.is_empty() {
        i3.unicast_peers.push(v4(198, 51, 100, 99));
    }
    if flags & 0x20 == 0 {
        i3.source = Some(router_addr(r, Link::Eth1, Family::V4));
    }
    i3.checksum_policy = if r == 0 && flags & 0x04 != 0 {
        ChecksumPolicy::V3Plain
    } else {
        ChecksumPolicy::Either
    };
    i3.check_address_list = !(r == 1 && flags & 0x08 != 0);

    let mut i4 = InstanceConfig::new("V2_OWNER", "eth1", 54, Version::V2, Family::V4)
        .priority(pick([50, 60, 255]))
        .advert_interval(Duration::from_secs(2))
        .vips([v4(198, 51, 100, 200)]);

    let track = |target: TrackTarget, weight: i32, reverse: bool| Track {
        target,
        weight,
        reverse,
    };
    let script = |n: &str| TrackTarget::Script(n.to_string());
    let file = || TrackTarget::File("tf".to_string());
    i0.track.push(track(file(), -5, false));
    i1.track.push(track(script("chk_a"), -60, false));
    i2.track.push(track(script("chk_b"), 0, r == 1));
    i3.track
        .push(track(TrackTarget::Interface("eth0".to_string()), 0, false));
    i4.track.push(track(file(), 10, false));
    i4.track.push(track(script("chk_a"), 20, true));
    // Announcements gated on one interface (vrrp_gna_interval on eth0, a garp_group gate on
    // eth1), refreshed on another instance (Announce timers).
    i2.announce.master_repeat = 3;
    i3.announce.master_refresh = Some(Duration::from_millis(500));
    i3.announce.master_delay = Duration::ZERO;

    let sync_groups = if flags & 0x80 == 0 {
        vec![SyncGroupConfig {
            name: "G1".to_string(),
            members: vec!["V3_4".to_string(), "V3_6".to_string()],
            tracking_weight: flags & 0x40 != 0,
        }]
    } else {
        Vec::new()
    };
    EngineConfig {
        instances: vec![i0, i1, i2, i3, i4],
        sync_groups,
        startup_delay: std::time::Duration::ZERO,
        link_delays: Vec::new(),
        announce_gates: vigil_engine::setup::AnnounceGates {
            garp_interval: Duration::ZERO,
            gna_interval: Duration::from_millis(20),
            groups: vec![vigil_engine::setup::GarpGroup {
                garp_interval: Duration::from_millis(30),
                gna_interval: Duration::ZERO,
                interfaces: vec!["eth1".to_string()],
            }],
            bases: Vec::new(),
        },
        scripts: vec![
            ScriptConfig {
                name: "chk_a".to_string(),
                interval: core::time::Duration::from_secs(1),
                rise: 2,
                fall: 2,
                timeout: Duration::from_secs(1),
                init_fail: false,
            },
            ScriptConfig {
                name: "chk_b".to_string(),
                interval: core::time::Duration::from_secs(1),
                rise: 1,
                fall: 1,
                timeout: Duration::from_millis(100),
                init_fail: true,
            },
        ],
        track_files: vec![TrackFileConfig {
            name: "tf".to_string(),
            initial: 0,
        }],
        track_processes: Vec::new(),
    }
}

/// One to three routers on two links and the adverts in flight between them.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// The routers.
    pub routers: Vec<Router>,
    /// Virtual time.
    pub now: Instant,
    /// Adverts sent and not yet delivered.
    pub flight: VecDeque<Outgoing>,
    /// Adverts are not delivered automatically.
    pub partitioned: bool,
    /// The configuration each router started with ([`Change::Base`]).
    pub base: Rc<[EngineConfig]>,
    /// Print what reloads did (`VIGIL_FUZZ_DEBUG`).
    pub debug: bool,
    /// The packet being delivered (one buffer reused for every delivery).
    packet: Vec<u8>,
    /// The setup's key: `(routers % 3, flags)`, as [`Cluster::cached`] keys it.
    key: (u8, u8),
}

/// A reload's place in an `engine` input: the cluster's setup ([`Cluster::key`]), the router
/// and the changes taken since its initial configuration, the last one the reload's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReloadKey {
    cluster: (u8, u8),
    router: u8,
    lineage: Vec<Change>,
}

/// The most reload targets of one generation of [`ReloadCache`] ([`Cluster::reload_target`];
/// about 20 KB each): at most twice as many are kept.
const MAX_RELOADS_CACHED: usize = 4096;

/// The reload targets built so far, in two generations: a target is looked up in the newer,
/// then in the older one (and moved to the newer one when found there); when the newer one is
/// full, the older one is forgotten and the newer one becomes the older. So the targets that
/// inputs keep repeating (a setup's first reloads) survive a change of generation, which
/// forgetting every target at once (as before) did not: with one map cleared at 4,096, a third
/// of the reloads of a short fuzz run rebuilt a target (FUZZING.md, session 8). Which targets
/// are kept changes only how often one is built, never what it is.
#[derive(Default)]
struct ReloadCache {
    new: FastMap<ReloadKey, ReloadTarget>,
    old: FastMap<ReloadKey, ReloadTarget>,
}

/// The engine's word-at-a-time hasher (FxHash's scheme) instead of the standard library's
/// SipHash-1-3, which was 2.4 % of a fuzzing execution's instructions (FUZZING.md, session 9):
/// every reload hashes its key, the setup and a lineage of `Change`s written field by field.
/// The keys are the cache's own (the harness builds them), not an adversary's, and a
/// collision only costs a comparison: which targets are found is the same with any hasher.
type FastMap<K, V> = vigil_engine::conf::fast_hash::FastMap<K, V>;

impl ReloadCache {
    /// The target of `key`, built by `build` unless kept.
    fn get_or_build(
        &mut self,
        key: ReloadKey,
        build: impl FnOnce() -> ReloadTarget,
    ) -> &ReloadTarget {
        if !self.new.contains_key(&key) {
            let target = self.old.remove(&key).unwrap_or_else(build);
            if self.new.len() >= MAX_RELOADS_CACHED {
                self.old = std::mem::take(&mut self.new);
            }
            return self.new.entry(key).or_insert(target);
        }
        self.new.entry(key).or_insert_with(build)
    }
}

/// What a reload target is: the configuration, and the engine [`Engine::new`] builds of it
/// (`Err`: it refuses it).
type ReloadTarget = (Rc<EngineConfig>, Result<Engine, ()>);

thread_local! {
    /// The configuration and the engine (or refusal) of each reload target, built once per
    /// process ([`Cluster::reload_target`]).
    static RELOADS: std::cell::RefCell<ReloadCache> =
        std::cell::RefCell::new(ReloadCache::default());
    /// The cluster each setup builds, built once per process ([`Cluster::cached`]).
    static CLUSTERS: std::cell::RefCell<std::collections::HashMap<(u8, u8), Cluster>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl Cluster {
    /// Build and (unless the setup says otherwise) address and start every router.
    pub fn new(setup: Setup) -> Cluster {
        let n = 1 + usize::from(setup.routers % 3);
        let base: Rc<[EngineConfig]> = (0..n).map(|r| cluster_config(r, n, setup.flags)).collect();
        let routers = base
            .iter()
            .enumerate()
            .map(|(r, cfg)| match Router::new(r, cfg.clone()) {
                Some(router) => router,
                None => panic!("cluster configuration of router {r} rejected"),
            })
            .collect();
        let mut c = Cluster {
            routers,
            now: Instant::from_millis(1),
            flight: VecDeque::new(),
            partitioned: false,
            base,
            debug: false,
            packet: Vec::with_capacity(MAX_ADVERT_LEN),
            key: (setup.routers % 3, setup.flags),
        };
        for r in 0..n {
            if setup.flags & 1 == 0 {
                for (link, family) in [
                    (Link::Eth0, Family::V4),
                    (Link::Eth0, Family::V6),
                    (Link::Eth1, Family::V4),
                    (Link::Eth1, Family::V6),
                ] {
                    let now = c.now;
                    let out = c.routers[r].primary(
                        now,
                        link.name(),
                        family,
                        Some(router_addr(r, link, family)),
                    );
                    c.send(out);
                }
            }
            if setup.flags & 2 == 0 {
                let now = c.now;
                let out = c.routers[r].input(now, Input::Start);
                c.send(out);
            }
        }
        c
    }

    /// [`Cluster::new`] for `setup`, built once per process and cloned for every input: building
    /// and starting one to three engines, with every check on the way, was a twentieth of the
    /// `engine` target's instructions, and the result depends on the setup alone (the
    /// `cached_clusters_are_the_clusters_built` test compares them).
    pub fn cached(setup: Setup) -> Cluster {
        let key = (setup.routers % 3, setup.flags);
        CLUSTERS.with(|cache| {
            cache
                .borrow_mut()
                .entry(key)
                .or_insert_with(|| Cluster::new(setup))
                .clone()
        })
    }

    fn send(&mut self, out: Vec<Outgoing>) {
        for o in out {
            if self.flight.len() >= MAX_FLIGHT {
                self.flight.pop_front();
            }
            self.flight.push_back(o);
        }
    }

    fn router(&self, r: u8) -> usize {
        usize::from(r) % self.routers.len()
    }

    /// Run one operation.
    pub fn apply(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Start { router } => {
                let r = self.router(router);
                let out = self.routers[r].input(now, Input::Start);
                self.send(out);
            }
            Op::Shutdown { router } => {
                let r = self.router(router);
                let out = self.routers[r].input(now, Input::Shutdown);
                self.send(out);
            }
            Op::LinkState { router, link, up } => {
                let r = self.router(router);
                let iface = self.routers[r]
                    .engine
                    .interface_id(link.name())
                    .unwrap_or(IfaceId(u16::MAX));
                let out = self.routers[r].input(now, Input::Link { iface, up });
                self.send(out);
            }
            Op::Primary {
                router,
                link,
                family,
                addr,
            } => {
                let r = self.router(router);
                let family = family.family();
                let addr = match addr {
                    AddrChoice::Removed => None,
                    AddrChoice::Own => Some(router_addr(r, link, family)),
                    AddrChoice::Other(x) => Some(host_addr(x, link, family)),
                    AddrChoice::WrongFamily => Some(match family {
                        Family::V4 => router_addr(r, link, Family::V6),
                        Family::V6 => router_addr(r, link, Family::V4),
                    }),
                };
                let out = self.routers[r].primary(now, link.name(), family, addr);
                self.send(out);
            }
            Op::Deliver { index, mangle } => {
                if self.flight.is_empty() {
                    return;
                }
                let k = usize::from(index) % self.flight.len();
                if let Some(o) = self.flight.remove(k) {
                    self.deliver(&o, mangle);
                }
            }
            Op::Lose { index } => {
                if !self.flight.is_empty() {
                    let k = usize::from(index) % self.flight.len();
                    self.flight.remove(k);
                }
            }
            Op::Partition { on } => self.partitioned = on,
            Op::Inject {
                router,
                advert,
                mangle,
            } => {
                let r = self.router(router);
                if let Some((iface, src, dst, bytes)) = self.craft(r, &advert) {
                    self.deliver_to(r, &iface, src, dst, &bytes, mangle);
                }
            }
            Op::Advance { step } => self.advance(step.duration()),
            Op::TimeoutAt { router, step } => {
                let r = self.router(router);
                self.now = self.now.saturating_add(step.duration());
                let now = self.now;
                let out = self.routers[r].timeout(now);
                self.send(out);
            }
            Op::NextDeadline => {
                if let Some(t) = self.earliest() {
                    self.now = self.now.max(t);
                    self.serve_due();
                }
            }
            Op::Check {
                router,
                script,
                outcome,
                ran_ms,
            } => {
                let r = self.router(router);
                let n = self.routers[r].config.scripts.len() + 1;
                let result = match outcome {
                    Outcome::Success => CheckResult::Success,
                    Outcome::Failure => CheckResult::Failure,
                    Outcome::Timeout => CheckResult::Timeout,
                };
                let input = Input::Check {
                    script: ScriptId((usize::from(script) % n) as u16),
                    result,
                    ran_for: Duration::from_millis(u64::from(ran_ms)),
                };
                let out = self.routers[r].input(now, input);
                self.send(out);
            }
            Op::TrackFile {
                router,
                file,
                value,
            } => {
                let r = self.router(router);
                let n = self.routers[r].config.track_files.len() + 1;
                let input = Input::TrackFile {
                    file: FileId((usize::from(file) % n) as u16),
                    value,
                };
                let out = self.routers[r].input(now, input);
                self.send(out);
            }
            Op::Reload { router, change } => {
                let r = self.router(router);
                let (config, fresh) = self.reload_target(r, change);
                let (taken, out) = self.routers[r].reload_to(now, config, fresh);
                if taken {
                    let lineage = &mut self.routers[r].lineage;
                    match change {
                        Change::Base => lineage.clear(),
                        _ => lineage.push(change),
                    }
                }
                if self.debug {
                    eprintln!("  router {r} reload {change:?}: taken {taken}, {out:?}");
                }
                assert!(
                    taken || !matches!(change, Change::Unchanged | Change::Base),
                    "the running or the initial configuration was refused"
                );
                assert!(
                    !taken || !matches!(change, Change::Broken(_)),
                    "a broken configuration was taken: {change:?}"
                );
                self.send(out);
            }
        }
    }

    /// The configuration `change` makes of router `r`'s, and what [`Engine::new`] makes of it:
    /// computed once per process for each setup, router and lineage of changes (building the
    /// configuration and the engine of every reload, twice copying the configuration on the
    /// way, was a sixth of the `engine` target's instructions; the inputs libFuzzer makes from
    /// one another repeat their reloads). Both depend on nothing else: the configuration is
    /// [`Change::apply`]'s on the router's (itself made by its lineage from the setup's initial
    /// one), and the engine is [`Engine::new`]'s of it, handed over as a copy, which is equal to
    /// a freshly built one. The stable replay (a debug build) checks both against the ones built
    /// on every reload.
    fn reload_target(&self, r: usize, change: Change) -> ReloadTarget {
        let router = &self.routers[r];
        let mut lineage = Vec::with_capacity(router.lineage.len() + 1);
        lineage.extend_from_slice(&router.lineage);
        lineage.push(change);
        let key = ReloadKey {
            cluster: self.key,
            router: r as u8,
            lineage,
        };
        let build = || {
            let config = change.apply(&router.config, &self.base[r]);
            let fresh = Engine::new(config.clone()).map_err(drop);
            (Rc::new(config), fresh)
        };
        let (config, fresh) = RELOADS.with_borrow_mut(|cache| {
            let (config, fresh) = cache.get_or_build(key, build);
            (Rc::clone(config), fresh.clone())
        });
        #[cfg(debug_assertions)]
        {
            let (built, fresh_built) = build();
            assert_eq!(*config, *built, "cached reload configuration");
            assert_eq!(fresh, fresh_built, "cached reload engine");
        }
        (config, fresh)
    }

    fn earliest(&self) -> Option<Instant> {
        self.routers.iter().filter_map(|r| r.next).min()
    }

    /// `handle_timeout(now)` on every router with a deadline due.
    fn serve_due(&mut self) {
        let now = self.now;
        for r in 0..self.routers.len() {
            if self.routers[r].next.is_some_and(|t| t <= now) {
                let out = self.routers[r].timeout(now);
                self.send(out);
            }
        }
    }

    /// Deliver everything in flight (bounded: answers may produce more).
    fn deliver_all(&mut self) {
        if self.partitioned {
            return;
        }
        for _ in 0..2 * MAX_FLIGHT {
            let Some(o) = self.flight.pop_front() else {
                return;
            };
            self.deliver(&o, Mangle::None);
        }
    }

    fn advance(&mut self, d: Duration) {
        let target = self.now.saturating_add(d);
        self.deliver_all();
        for _ in 0..MAX_EVENTS_PER_STEP {
            match self.earliest() {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.serve_due();
                    self.deliver_all();
                }
                _ => {
                    self.now = target;
                    return;
                }
            }
        }
        // Too many deadlines on the way: the runner was stalled; serve the rest late.
        self.now = target;
        self.serve_due();
        self.deliver_all();
    }

    /// Deliver an advert to every other router on its link (multicast) or to its destination
    /// (unicast).
    fn deliver(&mut self, o: &Outgoing, mangle: Mangle) {
        let multicast = match o.dst {
            IpAddr::V4(a) => a.is_multicast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        for r in 0..self.routers.len() {
            if r == o.from {
                continue;
            }
            let link = if &*o.iface == "eth1" {
                Link::Eth1
            } else {
                Link::Eth0
            };
            if !multicast && router_addr(r, link, Family::of(&o.dst)) != o.dst {
                continue;
            }
            self.deliver_to(r, &o.iface, o.src, o.dst, &o.bytes, mangle);
        }
    }

    fn deliver_to(
        &mut self,
        r: usize,
        iface: &str,
        src: IpAddr,
        dst: IpAddr,
        payload: &[u8],
        mangle: Mangle,
    ) {
        if mangle == Mangle::None {
            // Delivered as sent: no copy, and no checksum form to find.
            let now = self.now;
            let out = self.routers[r].receive(now, iface, src, dst, wire::VRRP_TTL, payload);
            self.send(out);
            return;
        }
        let mut bytes = std::mem::take(&mut self.packet);
        bytes.clear();
        bytes.extend_from_slice(payload);
        let mut ctx = IpContext { src, dst };
        let mut ttl = wire::VRRP_TTL;
        let mut iface = iface;
        // The form of the packet as sent (computed only by the mangles that rewrite a checksum).
        let pseudo = || {
            let sent = IpContext { src, dst };
            has_pseudo_checksum(payload, &sent)
                && !(matches!(src, IpAddr::V4(_)) && sums_valid(payload, 0))
        };
        let fix = |b: &mut Vec<u8>, ctx: &IpContext, fix: bool| {
            if fix {
                let v3 = !b.is_empty() && wire::peek_version(b) != 2;
                set_checksum(b, ctx, v3 && pseudo());
            }
        };
        match mangle {
            Mangle::None => {}
            Mangle::FlipBit { bit, fix_checksum } => {
                if !bytes.is_empty() {
                    let bit = usize::from(bit) % (bytes.len() * 8);
                    bytes[bit / 8] ^= 0x80 >> (bit % 8);
                    fix(&mut bytes, &ctx, fix_checksum);
                }
            }
            Mangle::Truncate { len } => {
                let len = usize::from(len) % (bytes.len() + 1);
                bytes.truncate(len);
            }
            Mangle::Extend {
                extra,
                fill,
                fix_checksum,
            } => {
                bytes.extend(std::iter::repeat_n(fill, usize::from(extra)));
                fix(&mut bytes, &ctx, fix_checksum);
            }
            Mangle::Ttl(t) => ttl = t,
            Mangle::Vrid { vrid, fix_checksum } => {
                if wire::peek_vrid(&bytes).is_some() {
                    Packet::new_unchecked(&mut bytes[..], Family::of(&ctx.src)).set_vrid(vrid);
                }
                fix(&mut bytes, &ctx, fix_checksum);
            }
            Mangle::Version {
                version,
                fix_checksum,
            } => {
                if !bytes.is_empty() {
                    Packet::new_unchecked(&mut bytes[..], Family::of(&ctx.src))
                        .set_version_number(version);
                }
                fix(&mut bytes, &ctx, fix_checksum);
            }
            Mangle::OtherChecksumForm => set_checksum(&mut bytes, &ctx, !pseudo()),
            Mangle::SetByte {
                index,
                value,
                fix_checksum,
            } => {
                if !bytes.is_empty() {
                    let k = usize::from(index) % bytes.len();
                    bytes[k] = value;
                    fix(&mut bytes, &ctx, fix_checksum);
                }
            }
            Mangle::WrongInterface => iface = "wlan9",
            Mangle::FamilyMismatch => {
                ctx.dst = match ctx.dst {
                    IpAddr::V4(_) => IpAddr::V6(wire::MCAST_V6),
                    IpAddr::V6(_) => IpAddr::V4(wire::MCAST_V4),
                }
            }
        }
        let now = self.now;
        let out = self.routers[r].receive(now, iface, ctx.src, ctx.dst, ttl, &bytes);
        self.packet = bytes;
        self.send(out);
    }

    /// Build an advert for router `r` from one of its instances: (interface, source, destination,
    /// bytes), or `None` when the chosen fields cannot be encoded.
    fn craft(&self, r: usize, c: &Crafted) -> Option<(String, IpAddr, IpAddr, Vec<u8>)> {
        let cfgs = &self.routers[r].config.instances;
        let cfg = cfgs.get(usize::from(c.instance).checked_rem(cfgs.len())?)?;
        let link = if cfg.interface == "eth1" {
            Link::Eth1
        } else {
            Link::Eth0
        };
        let family = cfg.family;
        let version = match (cfg.version, c.other_version) {
            (v, false) => v,
            (Version::V2, true) => Version::V3,
            (Version::V3, true) => Version::V2,
        };
        let interval = match (c.interval, version) {
            // Same duration; when it does not fit the other version, that version's default.
            (IntervalChoice::Same, _) => {
                wire_interval(version, cfg.advert_interval).unwrap_or(match version {
                    Version::V2 => Interval::Seconds(1),
                    Version::V3 => Interval::Centiseconds(100),
                })
            }
            (IntervalChoice::Ticks(t), Version::V2) => Interval::Seconds((t as u8).max(1)),
            (IntervalChoice::Ticks(t), Version::V3) => {
                Interval::Centiseconds((t & wire::V3_MAX_INTERVAL_CS).max(1))
            }
        };
        let own: Vec<IpAddr> = cfg.virtual_addresses.iter().map(|v| v.addr).collect();
        let foreign = |x: u8| match family {
            Family::V4 => v4(203, 0, 113, x),
            Family::V6 => v6_doc(0x9000 + u16::from(x)),
        };
        let src = match c.sender {
            Sender::Router(x) => router_addr(usize::from(x) % self.routers.len(), link, family),
            Sender::Host(x) => host_addr(x, link, family),
        };
        let addrs: Vec<IpAddr> = match c.addrs {
            AddrsChoice::Same => own,
            AddrsChoice::Reversed => own.into_iter().rev().collect(),
            AddrsChoice::Missing => {
                let mut a = own;
                if a.len() > 1 {
                    a.pop();
                } else {
                    a = vec![foreign(1)];
                }
                a
            }
            AddrsChoice::Extra => {
                let mut a = own;
                a.push(foreign(2));
                a
            }
            AddrsChoice::LinkLocalFirst => {
                let ll = match family {
                    Family::V4 => v4(169, 254, 0, 1),
                    Family::V6 => router_addr(r, link, Family::V6),
                };
                std::iter::once(ll).chain(own).collect()
            }
            AddrsChoice::Foreign(x) => vec![foreign(x), foreign(x.wrapping_add(1))],
        };
        let auth = match (version, c.auth) {
            (Version::V3, _) | (_, AuthChoice::None) => Auth::None,
            (Version::V2, AuthChoice::Same) => cfg.auth,
            (Version::V2, AuthChoice::Wrong) => Auth::simple(b"wrong"),
        };
        let dst = if c.unicast {
            router_addr(r, link, family)
        } else {
            family.multicast_group()
        };
        let checksum = cfg.checksum_policy.emit_form(version, family);
        let advert = Advert {
            version,
            vrid: cfg.vrid,
            priority: c.priority,
            interval,
            addrs: wire::Addrs::List(&addrs),
            auth,
            checksum,
            trailing: 0,
        };
        let buf = with_scratch(|buf| {
            let n = wire::emit(&advert, &IpContext { src, dst }, buf).ok()?;
            Some(buf[..n].to_vec())
        })?;
        Some((cfg.interface.clone(), src, dst, buf))
    }
}

// =================================================================================================
// Encoding operations back into bytes (for hand-built seed corpora)
// =================================================================================================

/// Writes the bytes that `arbitrary`'s derived implementations (arbitrary 1.x: integers little
/// endian, `bool` as the low bit of a byte, an enum variant `k` of `n` as the `u32` `x` with
/// `(x * n) >> 32 == k`) read back as the value. Used to write hand-built `engine` seeds; a test
/// checks the round trip, so a change of `arbitrary`'s format is caught.
pub trait Encode {
    /// Append the encoding of `self`.
    fn encode(&self, out: &mut Vec<u8>);
}

fn variant(out: &mut Vec<u8>, k: u64, n: u64) {
    let x = (k << 32).div_ceil(n);
    out.extend_from_slice(&(x as u32).to_le_bytes());
}

impl Encode for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Encode for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Encode for Setup {
    fn encode(&self, out: &mut Vec<u8>) {
        self.routers.encode(out);
        self.flags.encode(out);
    }
}

impl Encode for Step {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Step::Micros(n) => {
                variant(out, 0, 3);
                n.encode(out)
            }
            Step::Millis(n) => {
                variant(out, 1, 3);
                n.encode(out)
            }
            Step::Seconds(n) => {
                variant(out, 2, 3);
                n.encode(out)
            }
        }
    }
}

impl Encode for Link {
    fn encode(&self, out: &mut Vec<u8>) {
        let k = match self {
            Link::Eth0 => 0,
            Link::Eth1 => 1,
            Link::Unknown => 2,
        };
        variant(out, k, 3);
    }
}

impl Encode for Fam {
    fn encode(&self, out: &mut Vec<u8>) {
        variant(out, u64::from(*self == Fam::V6), 2);
    }
}

impl Encode for AddrChoice {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            AddrChoice::Removed => variant(out, 0, 4),
            AddrChoice::Own => variant(out, 1, 4),
            AddrChoice::Other(x) => {
                variant(out, 2, 4);
                x.encode(out)
            }
            AddrChoice::WrongFamily => variant(out, 3, 4),
        }
    }
}

impl Encode for Sender {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Sender::Router(x) => {
                variant(out, 0, 2);
                x.encode(out)
            }
            Sender::Host(x) => {
                variant(out, 1, 2);
                x.encode(out)
            }
        }
    }
}

impl Encode for IntervalChoice {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            IntervalChoice::Same => variant(out, 0, 2),
            IntervalChoice::Ticks(t) => {
                variant(out, 1, 2);
                t.encode(out)
            }
        }
    }
}

impl Encode for AddrsChoice {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            AddrsChoice::Same => variant(out, 0, 6),
            AddrsChoice::Reversed => variant(out, 1, 6),
            AddrsChoice::Missing => variant(out, 2, 6),
            AddrsChoice::Extra => variant(out, 3, 6),
            AddrsChoice::LinkLocalFirst => variant(out, 4, 6),
            AddrsChoice::Foreign(x) => {
                variant(out, 5, 6);
                x.encode(out)
            }
        }
    }
}

impl Encode for AuthChoice {
    fn encode(&self, out: &mut Vec<u8>) {
        let k = match self {
            AuthChoice::Same => 0,
            AuthChoice::None => 1,
            AuthChoice::Wrong => 2,
        };
        variant(out, k, 3);
    }
}

impl Encode for Crafted {
    fn encode(&self, out: &mut Vec<u8>) {
        self.instance.encode(out);
        self.sender.encode(out);
        self.priority.encode(out);
        self.interval.encode(out);
        self.addrs.encode(out);
        self.auth.encode(out);
        self.other_version.encode(out);
        self.unicast.encode(out);
    }
}

impl Encode for Mangle {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u64 = 11;
        match *self {
            Mangle::None => variant(out, 0, N),
            Mangle::FlipBit { bit, fix_checksum } => {
                variant(out, 1, N);
                bit.encode(out);
                fix_checksum.encode(out);
            }
            Mangle::Truncate { len } => {
                variant(out, 2, N);
                len.encode(out);
            }
            Mangle::Extend {
                extra,
                fill,
                fix_checksum,
            } => {
                variant(out, 3, N);
                extra.encode(out);
                fill.encode(out);
                fix_checksum.encode(out);
            }
            Mangle::Ttl(t) => {
                variant(out, 4, N);
                t.encode(out);
            }
            Mangle::Vrid { vrid, fix_checksum } => {
                variant(out, 5, N);
                vrid.encode(out);
                fix_checksum.encode(out);
            }
            Mangle::Version {
                version,
                fix_checksum,
            } => {
                variant(out, 6, N);
                version.encode(out);
                fix_checksum.encode(out);
            }
            Mangle::OtherChecksumForm => variant(out, 7, N),
            Mangle::SetByte {
                index,
                value,
                fix_checksum,
            } => {
                variant(out, 8, N);
                index.encode(out);
                value.encode(out);
                fix_checksum.encode(out);
            }
            Mangle::WrongInterface => variant(out, 9, N),
            Mangle::FamilyMismatch => variant(out, 10, N),
        }
    }
}

impl Encode for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Encode for Outcome {
    fn encode(&self, out: &mut Vec<u8>) {
        let k = match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Timeout => 2,
        };
        variant(out, k, 3);
    }
}

impl Encode for i8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Encode for VipEdit {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u64 = 5;
        match *self {
            VipEdit::DropLast => variant(out, 0, N),
            VipEdit::Add(x) => {
                variant(out, 1, N);
                x.encode(out);
            }
            VipEdit::Replace(x) => {
                variant(out, 2, N);
                x.encode(out);
            }
            VipEdit::Reverse => variant(out, 3, N),
            VipEdit::OtherFamily => variant(out, 4, N),
        }
    }
}

impl Encode for IdentityEdit {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u64 = 4;
        match *self {
            IdentityEdit::Vrid(v) => {
                variant(out, 0, N);
                v.encode(out);
            }
            IdentityEdit::Rename => variant(out, 1, N),
            IdentityEdit::OtherLink => variant(out, 2, N),
            IdentityEdit::OtherVersion => variant(out, 3, N),
        }
    }
}

impl Encode for GroupEdit {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u64 = 3;
        match *self {
            GroupEdit::Remove => variant(out, 0, N),
            GroupEdit::Members(m) => {
                variant(out, 1, N);
                m.encode(out);
            }
            GroupEdit::TrackingWeight(on) => {
                variant(out, 2, N);
                on.encode(out);
            }
        }
    }
}

impl Encode for Broken {
    fn encode(&self, out: &mut Vec<u8>) {
        let k = match self {
            Broken::DuplicateName => 0,
            Broken::DuplicateVrid => 1,
            Broken::UnknownScript => 2,
            Broken::UnknownMember => 3,
            Broken::TwoGroups => 4,
            Broken::AuthWithV3 => 5,
            Broken::VridZero => 6,
        };
        variant(out, k, 7);
    }
}

impl Encode for Change {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u64 = 12;
        match *self {
            Change::Unchanged => variant(out, 0, N),
            Change::Base => variant(out, 1, N),
            Change::Priority { instance, priority } => {
                variant(out, 2, N);
                instance.encode(out);
                priority.encode(out);
            }
            Change::Interval { instance, centis } => {
                variant(out, 3, N);
                instance.encode(out);
                centis.encode(out);
            }
            Change::Vips { instance, edit } => {
                variant(out, 4, N);
                instance.encode(out);
                edit.encode(out);
            }
            Change::Preempt {
                instance,
                preempt,
                delay_ds,
            } => {
                variant(out, 5, N);
                instance.encode(out);
                preempt.encode(out);
                delay_ds.encode(out);
            }
            Change::Tracking {
                instance,
                weight,
                keep,
            } => {
                variant(out, 6, N);
                instance.encode(out);
                weight.encode(out);
                keep.encode(out);
            }
            Change::Remove { instance } => {
                variant(out, 7, N);
                instance.encode(out);
            }
            Change::Add { vrid, v6, priority } => {
                variant(out, 8, N);
                vrid.encode(out);
                v6.encode(out);
                priority.encode(out);
            }
            Change::Identity { instance, edit } => {
                variant(out, 9, N);
                instance.encode(out);
                edit.encode(out);
            }
            Change::Group(edit) => {
                variant(out, 10, N);
                edit.encode(out);
            }
            Change::Broken(b) => {
                variant(out, 11, N);
                b.encode(out);
            }
        }
    }
}

impl Encode for Op {
    fn encode(&self, out: &mut Vec<u8>) {
        const N: u64 = 14;
        match *self {
            Op::Start { router } => {
                variant(out, 0, N);
                router.encode(out);
            }
            Op::Shutdown { router } => {
                variant(out, 1, N);
                router.encode(out);
            }
            Op::LinkState { router, link, up } => {
                variant(out, 2, N);
                router.encode(out);
                link.encode(out);
                up.encode(out);
            }
            Op::Primary {
                router,
                link,
                family,
                addr,
            } => {
                variant(out, 3, N);
                router.encode(out);
                link.encode(out);
                family.encode(out);
                addr.encode(out);
            }
            Op::Deliver { index, mangle } => {
                variant(out, 4, N);
                index.encode(out);
                mangle.encode(out);
            }
            Op::Lose { index } => {
                variant(out, 5, N);
                index.encode(out);
            }
            Op::Partition { on } => {
                variant(out, 6, N);
                on.encode(out);
            }
            Op::Inject {
                router,
                advert,
                mangle,
            } => {
                variant(out, 7, N);
                router.encode(out);
                advert.encode(out);
                mangle.encode(out);
            }
            Op::Advance { step } => {
                variant(out, 8, N);
                step.encode(out);
            }
            Op::TimeoutAt { router, step } => {
                variant(out, 9, N);
                router.encode(out);
                step.encode(out);
            }
            Op::NextDeadline => variant(out, 10, N),
            Op::Check {
                router,
                script,
                outcome,
                ran_ms,
            } => {
                variant(out, 11, N);
                router.encode(out);
                script.encode(out);
                outcome.encode(out);
                ran_ms.encode(out);
            }
            Op::TrackFile {
                router,
                file,
                value,
            } => {
                variant(out, 12, N);
                router.encode(out);
                file.encode(out);
                value.encode(out);
            }
            Op::Reload { router, change } => {
                variant(out, 13, N);
                router.encode(out);
                change.encode(out);
            }
        }
    }
}

/// The bytes of an `engine` input: `setup`, then `ops`.
pub fn encode_engine(setup: Setup, ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    setup.encode(&mut out);
    for op in ops {
        op.encode(&mut out);
    }
    out
}

/// Hand-built `engine` seeds, each a scenario that reaches deep states: (file name, bytes).
// Long: one literal scenario per hand-built seed, a flat list.
pub fn engine_seeds() -> Vec<(String, Vec<u8>)> {
    use Op::*;
    let s = |n: u8| Step::Seconds(n);
    let three = Setup {
        routers: 2,
        flags: 0,
    };
    let crafted = |instance: u8, priority: u8| Crafted {
        instance,
        sender: Sender::Host(200),
        priority,
        interval: IntervalChoice::Same,
        addrs: AddrsChoice::Same,
        auth: AuthChoice::Same,
        other_version: false,
        unicast: false,
    };
    let mut seeds = vec![
        (
            "converge-shutdown-restart",
            three,
            vec![
                Advance { step: s(5) },
                Advance { step: s(5) },
                Shutdown { router: 0 },
                Advance { step: s(5) },
                Start { router: 0 },
                Advance { step: s(5) },
                Shutdown { router: 1 },
                Shutdown { router: 2 },
                Advance { step: s(3) },
            ],
        ),
        (
            "link-flaps-and-address-loss",
            three,
            vec![
                Advance { step: s(5) },
                LinkState {
                    router: 1,
                    link: Link::Eth0,
                    up: false,
                },
                Advance { step: s(5) },
                LinkState {
                    router: 1,
                    link: Link::Eth0,
                    up: true,
                },
                Primary {
                    router: 0,
                    link: Link::Eth1,
                    family: Fam::V4,
                    addr: AddrChoice::Removed,
                },
                Advance { step: s(4) },
                Primary {
                    router: 0,
                    link: Link::Eth1,
                    family: Fam::V4,
                    addr: AddrChoice::Own,
                },
                Primary {
                    router: 1,
                    link: Link::Eth0,
                    family: Fam::V6,
                    addr: AddrChoice::Other(250),
                },
                Advance { step: s(5) },
                LinkState {
                    router: 0,
                    link: Link::Eth0,
                    up: false,
                },
                Advance { step: s(5) },
                LinkState {
                    router: 0,
                    link: Link::Eth0,
                    up: true,
                },
                Advance { step: s(5) },
            ],
        ),
        (
            "split-brain-and-heal",
            three,
            vec![
                Advance { step: s(5) },
                Partition { on: true },
                Advance { step: s(6) },
                Lose { index: 0 },
                Deliver {
                    index: 3,
                    mangle: Mangle::None,
                },
                Partition { on: false },
                Advance { step: s(5) },
            ],
        ),
        (
            "late-and-early-timeouts",
            Setup {
                routers: 1,
                flags: 0x10,
            },
            vec![
                NextDeadline,
                TimeoutAt {
                    router: 0,
                    step: Step::Micros(1),
                },
                TimeoutAt {
                    router: 1,
                    step: Step::Seconds(20),
                },
                NextDeadline,
                NextDeadline,
                Advance {
                    step: Step::Millis(3700),
                },
                TimeoutAt {
                    router: 0,
                    step: Step::Millis(0),
                },
                Advance { step: s(30) },
            ],
        ),
        (
            "unstarted-then-started",
            Setup {
                routers: 2,
                flags: 0x03,
            },
            vec![
                Start { router: 0 },
                Advance { step: s(2) },
                Primary {
                    router: 0,
                    link: Link::Eth0,
                    family: Fam::V4,
                    addr: AddrChoice::Own,
                },
                Primary {
                    router: 0,
                    link: Link::Eth0,
                    family: Fam::V6,
                    addr: AddrChoice::WrongFamily,
                },
                Primary {
                    router: 0,
                    link: Link::Eth0,
                    family: Fam::V6,
                    addr: AddrChoice::Own,
                },
                Start { router: 1 },
                Start { router: 2 },
                Advance { step: s(5) },
            ],
        ),
        (
            "misconfigured-unicast-checksum",
            Setup {
                routers: 1,
                flags: 0x2c,
            },
            vec![Advance { step: s(3) }, Advance { step: s(3) }],
        ),
        (
            "priority-zero-takeover",
            Setup {
                routers: 0,
                flags: 0,
            },
            vec![
                Advance { step: s(5) },
                Inject {
                    router: 0,
                    advert: crafted(1, 250),
                    mangle: Mangle::None,
                },
                Inject {
                    router: 0,
                    advert: crafted(1, 0),
                    mangle: Mangle::None,
                },
                Advance {
                    step: Step::Millis(10),
                },
                Inject {
                    router: 0,
                    advert: crafted(2, 0),
                    mangle: Mangle::None,
                },
                Advance { step: s(5) },
            ],
        ),
    ];
    let chk = |router: u8, script: u8, outcome: Outcome, ran_ms: u16| Check {
        router,
        script,
        outcome,
        ran_ms,
    };
    seeds.push((
        "tracking-and-sync-group",
        three,
        vec![
            Advance { step: s(5) },
            chk(1, 0, Outcome::Failure, 10),
            chk(1, 0, Outcome::Failure, 10),
            Advance { step: s(4) },
            chk(1, 0, Outcome::Success, 2000),
            chk(1, 0, Outcome::Success, 10),
            chk(1, 0, Outcome::Success, 10),
            chk(0, 1, Outcome::Success, 10),
            chk(1, 1, Outcome::Success, 10),
            chk(2, 1, Outcome::Timeout, 100),
            Advance { step: s(4) },
            TrackFile {
                router: 0,
                file: 0,
                value: 60,
            },
            TrackFile {
                router: 1,
                file: 0,
                value: -100,
            },
            TrackFile {
                router: 2,
                file: 0,
                value: i64::MIN,
            },
            Advance { step: s(4) },
            LinkState {
                router: 1,
                link: Link::Eth0,
                up: false,
            },
            Advance { step: s(4) },
            LinkState {
                router: 1,
                link: Link::Eth0,
                up: true,
            },
            Advance { step: s(6) },
        ],
    ));
    seeds.push((
        "group-tracking-weight",
        Setup {
            routers: 1,
            flags: 0x40,
        },
        vec![
            Advance { step: s(5) },
            chk(0, 1, Outcome::Success, 1),
            chk(1, 1, Outcome::Success, 1),
            Advance { step: s(5) },
            TrackFile {
                router: 0,
                file: 0,
                value: 30,
            },
            Advance { step: s(5) },
        ],
    ));
    // One injected advert per mangle class and per crafted-field choice, into a converged pair.
    let mangles = [
        Mangle::None,
        Mangle::FlipBit {
            bit: 17,
            fix_checksum: false,
        },
        Mangle::FlipBit {
            bit: 17,
            fix_checksum: true,
        },
        Mangle::Truncate { len: 7 },
        Mangle::Truncate { len: 1 },
        Mangle::Truncate { len: 10 },
        Mangle::Extend {
            extra: 6,
            fill: 0,
            fix_checksum: false,
        },
        Mangle::Extend {
            extra: 3,
            fill: 0xaa,
            fix_checksum: true,
        },
        Mangle::Ttl(64),
        Mangle::Vrid {
            vrid: 99,
            fix_checksum: true,
        },
        Mangle::Vrid {
            vrid: 0,
            fix_checksum: true,
        },
        Mangle::Version {
            version: 4,
            fix_checksum: true,
        },
        Mangle::Version {
            version: 2,
            fix_checksum: true,
        },
        Mangle::OtherChecksumForm,
        Mangle::SetByte {
            index: 0,
            value: 0x32,
            fix_checksum: true,
        },
        Mangle::SetByte {
            index: 3,
            value: 0,
            fix_checksum: true,
        },
        Mangle::SetByte {
            index: 4,
            value: 2,
            fix_checksum: true,
        },
        Mangle::SetByte {
            index: 5,
            value: 0,
            fix_checksum: true,
        },
        Mangle::WrongInterface,
        Mangle::FamilyMismatch,
    ];
    let mut mangled = vec![Advance { step: s(5) }];
    for (k, m) in mangles.iter().enumerate() {
        mangled.push(Inject {
            router: 1,
            advert: crafted((k % 5) as u8, 254),
            mangle: *m,
        });
    }
    mangled.push(Advance { step: s(5) });
    seeds.push(("every-mangle", three, mangled));
    let mut fields = vec![Advance { step: s(5) }];
    for (k, (addrs, auth, interval, other_version, unicast)) in [
        (
            AddrsChoice::Reversed,
            AuthChoice::Same,
            IntervalChoice::Same,
            false,
            false,
        ),
        (
            AddrsChoice::Missing,
            AuthChoice::Same,
            IntervalChoice::Same,
            false,
            false,
        ),
        (
            AddrsChoice::Extra,
            AuthChoice::None,
            IntervalChoice::Same,
            false,
            false,
        ),
        (
            AddrsChoice::LinkLocalFirst,
            AuthChoice::Wrong,
            IntervalChoice::Ticks(7),
            false,
            true,
        ),
        (
            AddrsChoice::Foreign(9),
            AuthChoice::Same,
            IntervalChoice::Ticks(4095),
            true,
            false,
        ),
        (
            AddrsChoice::Same,
            AuthChoice::Wrong,
            IntervalChoice::Ticks(3),
            false,
            false,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for instance in 0..5u8 {
            fields.push(Inject {
                router: k as u8,
                advert: Crafted {
                    instance,
                    sender: Sender::Router(k as u8 + 1),
                    priority: 255,
                    interval,
                    addrs,
                    auth,
                    other_version,
                    unicast,
                },
                mangle: Mangle::None,
            });
        }
        fields.push(Advance {
            step: Step::Millis(700),
        });
    }
    seeds.push(("crafted-fields", three, fields));
    // Reloads: every kind of change on a converged cluster, the masters included.
    let reload = |router: u8, change: Change| Reload { router, change };
    let ms = |n: u16| Advance {
        step: Step::Millis(n),
    };
    // chk_b starts failed (init_fail): let it succeed everywhere so that the group runs.
    let up = vec![
        chk(0, 1, Outcome::Success, 1),
        chk(1, 1, Outcome::Success, 1),
        chk(2, 1, Outcome::Success, 1),
        Advance { step: s(5) },
    ];
    let mut reloads = up.clone();
    for (router, change) in [
        (0, Change::Unchanged),
        (
            1,
            Change::Priority {
                instance: 0,
                priority: 254,
            },
        ),
        (
            0,
            Change::Priority {
                instance: 1,
                priority: 250,
            },
        ),
        (
            2,
            Change::Interval {
                instance: 2,
                centis: 7,
            },
        ),
        (
            0,
            Change::Interval {
                instance: 1,
                centis: 300,
            },
        ),
        (
            1,
            Change::Interval {
                instance: 1,
                centis: 150,
            },
        ),
        (
            1,
            Change::Vips {
                instance: 1,
                edit: VipEdit::Add(7),
            },
        ),
        (
            1,
            Change::Vips {
                instance: 1,
                edit: VipEdit::Reverse,
            },
        ),
        (
            1,
            Change::Vips {
                instance: 1,
                edit: VipEdit::DropLast,
            },
        ),
        (
            0,
            Change::Vips {
                instance: 2,
                edit: VipEdit::Replace(3),
            },
        ),
        (
            0,
            Change::Vips {
                instance: 3,
                edit: VipEdit::OtherFamily,
            },
        ),
        (
            2,
            Change::Preempt {
                instance: 1,
                preempt: true,
                delay_ds: 15,
            },
        ),
        (
            1,
            Change::Tracking {
                instance: 1,
                weight: -100,
                keep: true,
            },
        ),
        (
            2,
            Change::Tracking {
                instance: 4,
                weight: 0,
                keep: false,
            },
        ),
        (
            0,
            Change::Add {
                vrid: 60,
                v6: false,
                priority: 200,
            },
        ),
        (
            1,
            Change::Add {
                vrid: 60,
                v6: false,
                priority: 100,
            },
        ),
        (
            2,
            Change::Add {
                vrid: 51,
                v6: true,
                priority: 100,
            },
        ),
        (
            0,
            Change::Identity {
                instance: 3,
                edit: IdentityEdit::Vrid(63),
            },
        ),
        (
            0,
            Change::Identity {
                instance: 2,
                edit: IdentityEdit::Rename,
            },
        ),
        (
            1,
            Change::Identity {
                instance: 4,
                edit: IdentityEdit::OtherLink,
            },
        ),
        (
            1,
            Change::Identity {
                instance: 1,
                edit: IdentityEdit::OtherVersion,
            },
        ),
        (0, Change::Group(GroupEdit::Members(0b0111))),
        (0, Change::Group(GroupEdit::TrackingWeight(true))),
        (2, Change::Group(GroupEdit::Remove)),
        (0, Change::Remove { instance: 0 }),
        (1, Change::Remove { instance: 4 }),
    ] {
        reloads.push(reload(router, change));
        reloads.push(ms(1500));
    }
    seeds.push(("reload-every-change", three, reloads));
    let mut reloads = up.clone();
    reloads.extend([
        reload(
            0,
            Change::Vips {
                instance: 0,
                edit: VipEdit::Add(9),
            },
        ),
        reload(1, Change::Remove { instance: 1 }),
    ]);
    for b in [
        Broken::DuplicateName,
        Broken::DuplicateVrid,
        Broken::UnknownScript,
        Broken::UnknownMember,
        Broken::TwoGroups,
        Broken::AuthWithV3,
        Broken::VridZero,
    ] {
        reloads.push(reload(0, Change::Broken(b)));
    }
    reloads.extend([
        ms(3000),
        reload(0, Change::Base),
        reload(1, Change::Base),
        reload(2, Change::Base),
        Advance { step: s(5) },
    ]);
    seeds.push(("reload-refused-and-back", three, reloads));
    seeds.push((
        "reload-master-away-and-back",
        Setup {
            routers: 1,
            flags: 0,
        },
        vec![
            chk(0, 1, Outcome::Success, 1),
            chk(1, 1, Outcome::Success, 1),
            Advance { step: s(5) },
            reload(0, Change::Remove { instance: 0 }),
            reload(0, Change::Remove { instance: 0 }),
            Advance { step: s(4) },
            reload(0, Change::Base),
            Advance { step: s(4) },
            Shutdown { router: 1 },
            reload(
                1,
                Change::Priority {
                    instance: 3,
                    priority: 200,
                },
            ),
            Start { router: 1 },
            Advance { step: s(4) },
        ],
    ));
    // Finding 11's path under the announcement gates (engine/src/engine/announce.rs): one
    // router without the sync group; chk_b's first success lifts V3_6 (two addresses behind
    // eth0's 20 ms NA gate, garp_master_repeat 3) out of FAULT, it becomes MASTER at 361.9 ms,
    // sends its first address and marks the second pending, Timer::Announce armed for the
    // gate's opening at 381.9 ms. At 362 ms two reloads drop both addresses (a MASTER without
    // virtual addresses, which the reload keeps with its timers); the kept timer falls due
    // and is served with nothing left to announce (FUZZING.md, finding 11).
    let drop_all = |router: u8| {
        [
            reload(
                router,
                Change::Vips {
                    instance: 2,
                    edit: VipEdit::DropLast,
                },
            ),
            reload(
                router,
                Change::Vips {
                    instance: 2,
                    edit: VipEdit::DropLast,
                },
            ),
        ]
    };
    let mut ops = vec![chk(0, 1, Outcome::Success, 1), ms(361)];
    ops.extend(drop_all(0));
    ops.push(Advance { step: s(2) });
    seeds.push((
        "reload-drops-every-address-of-a-gated-burst",
        Setup {
            routers: 0,
            flags: 0x80,
        },
        ops,
    ));
    seeds
        .into_iter()
        .map(|(name, setup, ops)| (format!("seed-{name}"), encode_engine(setup, &ops)))
        .collect()
}

// =================================================================================================
// config
// =================================================================================================

/// The main file of a `config` input.
pub const CONFIG_MAIN: &str = "/etc/keepalived/keepalived.conf";
/// The most files one `config` input holds.
const MAX_CONFIG_FILES: usize = 8;

/// The file set of a `config` input: the bytes split at NUL bytes, each part decoded as UTF-8
/// (invalid sequences replaced); the first part is [`CONFIG_MAIN`], the others
/// `/etc/keepalived/conf.d/1.conf`, `2.conf`, ... so that `include conf.d/*.conf` or
/// `include /etc/keepalived/conf.d/2.conf` in the text finds them. Never the real file system.
pub fn config_files(data: &[u8]) -> Vec<(String, String)> {
    data.split(|&b| b == 0)
        .take(MAX_CONFIG_FILES)
        .enumerate()
        .map(|(k, part)| {
            let name = if k == 0 {
                CONFIG_MAIN.to_string()
            } else {
                format!("/etc/keepalived/conf.d/{k}.conf")
            };
            (name, String::from_utf8_lossy(part).into_owned())
        })
        .collect()
}

/// The `config` target: parse the file set with the keepalived.conf parser (includes from memory,
/// config id `lb1` for `@lb1` lines). Errors are reported, never panics, and every diagnostic
/// that has a location points inside the input: a file of the set, a line it has, a column of
/// that line (or just past its end); an error always has a location.
pub fn config(data: &[u8]) {
    use vigil_engine::conf::{self, MemoryLoader, ParseOptions, Severity};
    let files = config_files(data);
    let mut files_loader = MemoryLoader::new();
    for (name, text) in &files {
        files_loader.add(name, text);
    }
    let loader = GlobMemo::new(&files_loader);
    let opts = ParseOptions {
        config_id: Some("lb1".to_string()),
        ..ParseOptions::default()
    };
    // The line widths, computed once for the conversion's and the diagnostics' checks.
    let set = FileSet::new(&files);
    let diagnostics = match conf::parse_file(CONFIG_MAIN, &loader, &opts) {
        Ok(cfg) => {
            assert!(
                cfg.warnings.iter().all(|d| d.severity != Severity::Error),
                "a configuration was returned with errors"
            );
            check_conversion(&cfg, &set);
            cfg.warnings
        }
        Err(e) => {
            assert!(
                e.diagnostics.iter().any(|d| d.severity == Severity::Error),
                "parse failed without an error diagnostic"
            );
            e.diagnostics
        }
    };
    for d in &diagnostics {
        let Some(loc) = &d.loc else {
            assert!(
                d.severity != Severity::Error,
                "error without a location: {d}"
            );
            continue;
        };
        check_location(&set, loc, d);
    }
}

/// A [`MemoryLoader`] whose glob answers are kept per pattern for one input: its files do not
/// change while a configuration is read, so a pattern matches the same files every time. An
/// `include` line repeated by `~SEQ` globs the same pattern thousands of times (each a brace
/// expansion, a normalization and a match against every file: 40 % of the config target's
/// instructions, callgrind, 2026-12-05). The first glob of each pattern runs the loader's
/// code, so the edges it covers are still covered; repeats only stop counting up its hit
/// counts. The stable replay (debug assertions) globs again and compares every time.
struct GlobMemo<'l> {
    files: &'l vigil_engine::conf::MemoryLoader,
    globs: std::cell::RefCell<vigil_engine::conf::fast_hash::FastMap<String, Vec<String>>>,
}

impl<'l> GlobMemo<'l> {
    fn new(files: &'l vigil_engine::conf::MemoryLoader) -> Self {
        GlobMemo {
            files,
            globs: Default::default(),
        }
    }
}

impl vigil_engine::conf::SourceLoader for GlobMemo<'_> {
    fn load(&self, path: &str) -> Result<String, String> {
        self.files.load(path)
    }

    fn glob(&self, pattern: &str) -> Vec<String> {
        if let Some(found) = self.globs.borrow().get(pattern) {
            debug_assert_eq!(*found, self.files.glob(pattern), "glob memo of {pattern:?}");
            return found.clone();
        }
        let found = self.files.glob(pattern);
        self.globs
            .borrow_mut()
            .insert(pattern.to_string(), found.clone());
        found
    }

    fn canonical(&self, path: &str) -> String {
        self.files.canonical(path)
    }
}

/// The files of a `config` input with the width (in characters) of each of their lines,
/// computed once per input (per diagnostic, it was a fifth of the target's time).
struct FileSet<'a> {
    files: &'a [(String, String)],
    /// The interned name of each file ([`FileName`](vigil_engine::conf::FileName): equal
    /// numbers for equal names), so that a location's file is found by number: comparing the
    /// strings was a `bcmp` per file and diagnostic, which libFuzzer intercepts, and reading a
    /// location's name takes the interning table's lock.
    ids: Vec<vigil_engine::conf::FileName>,
    widths: Vec<Vec<usize>>,
}

impl<'a> FileSet<'a> {
    fn new(files: &'a [(String, String)]) -> Self {
        let widths = files
            .iter()
            .map(|(_, text)| text.split('\n').map(|l| l.chars().count()).collect())
            .collect();
        let ids = files
            .iter()
            .map(|(name, _)| vigil_engine::conf::FileName::new(name))
            .collect();
        FileSet { files, ids, widths }
    }
}

/// `loc` (of `what`) points inside the file set: a file of the set, a line it has, a column of
/// that line or just past its end.
fn check_location(
    set: &FileSet<'_>,
    loc: &vigil_engine::conf::Location,
    what: &dyn core::fmt::Display,
) {
    // The set's names are normalized paths, so a location naming one of them exactly is in that
    // file; only other spellings go through `normalize` (per diagnostic, it was 14 % of this
    // target's instructions: callgrind over the corpus, 2026-12-03).
    // Interned: the same number is the same name (see `FileSet::ids`).
    let k = match set.ids.iter().position(|&id| id == loc.file) {
        Some(k) => k,
        None => {
            let file = vigil_engine::conf::include::normalize(&loc.file);
            let Some(k) = set.files.iter().position(|(name, _)| *name == file) else {
                panic!("located in a file that is not in the input: {what}");
            };
            k
        }
    };
    let line = loc.line as usize;
    let Some(&width) = set.widths[k].get(line.wrapping_sub(1)) else {
        panic!("line {line} outside the file: {what}");
    };
    assert!(
        (1..=width + 1).contains(&(loc.col as usize)),
        "column {} outside line {line} ({width} characters): {what}",
        loc.col
    );
}

/// A configuration that parsed goes on to what the daemon does with it: the conversion to the
/// engine's form ([`EngineConfig::from_conf`]; an error is located inside the input) and
/// [`Engine::new`], which must take whatever the conversion accepts (the daemon could only
/// report its refusal without a location). The engine is then started with its interfaces
/// addressed and run for a few deadlines, and reloaded with its own configuration (nothing may
/// happen), with the [`Router`] invariants checked after every call.
fn check_conversion(cfg: &vigil_engine::conf::Config, files: &FileSet<'_>) {
    let converted = match EngineConfig::from_conf(cfg) {
        Ok(c) => c,
        Err(e) => {
            check_location(files, &e.loc, &e);
            return;
        }
    };
    let config = converted.engine;
    let mut r = match Router::build(0, config.clone()) {
        Ok(r) => r,
        Err(e) => panic!("Engine::new refuses what from_conf accepted, without a location: {e}"),
    };
    let t0 = Instant::from_millis(1);
    let names: Vec<String> = r.ifaces.0.iter().map(|n| n.to_string()).collect();
    for (k, name) in names.iter().enumerate() {
        let host = (k % 200) as u8 + 1;
        r.primary(t0, name, Family::V4, Some(v4(192, 0, 2, host)));
        r.primary(
            t0,
            name,
            Family::V6,
            Some(IpAddr::V6(Ipv6Addr::new(
                0xfe80,
                0,
                0,
                0,
                0,
                0,
                0,
                host.into(),
            ))),
        );
    }
    r.input(t0, Input::Start);
    for _ in 0..4 {
        match r.engine.poll_timeout() {
            Some(t) => {
                r.timeout(t.max(t0));
            }
            None => break,
        }
    }
    let now = r.last_now;
    let (taken, out) = r.reload(now, config);
    assert!(taken, "a reload with the running configuration was refused");
    assert!(
        out.is_empty(),
        "a reload with the same configuration sent adverts"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_seeds_decode_to_what_was_encoded() {
        for (name, bytes) in engine_seeds() {
            let (setup, ops) = match decode_engine(&bytes) {
                Some(x) => x,
                None => panic!("{name} does not decode"),
            };
            let mut again = Vec::new();
            setup.encode(&mut again);
            for op in &ops {
                op.encode(&mut again);
            }
            assert_eq!(again, bytes, "{name}: encoding is not arbitrary's");
        }
    }

    #[test]
    fn every_variant_round_trips() {
        let ops = [
            Op::NextDeadline,
            Op::Partition { on: true },
            Op::Primary {
                router: 7,
                link: Link::Unknown,
                family: Fam::V6,
                addr: AddrChoice::WrongFamily,
            },
            Op::Inject {
                router: 1,
                advert: Crafted {
                    instance: 4,
                    sender: Sender::Host(3),
                    priority: 9,
                    interval: IntervalChoice::Ticks(300),
                    addrs: AddrsChoice::Foreign(2),
                    auth: AuthChoice::Wrong,
                    other_version: true,
                    unicast: true,
                },
                mangle: Mangle::FamilyMismatch,
            },
            Op::TimeoutAt {
                router: 2,
                step: Step::Micros(65535),
            },
        ];
        let setup = Setup {
            routers: 5,
            flags: 0xff,
        };
        let bytes = encode_engine(setup, &ops);
        assert_eq!(decode_engine(&bytes), Some((setup, ops.to_vec())));
    }

    #[test]
    fn advert_case_round_trips() {
        let payload = [0x31, 51, 100, 1, 0, 100, 0x05, 0x67, 192, 0, 2, 100];
        let case = AdvertCase {
            ctx: IpContext {
                src: "192.0.2.12".parse().unwrap(),
                dst: IpAddr::V4(wire::MCAST_V4),
            },
            ttl: 255,
            policy: ChecksumPolicy::Either,
            iface: 1,
            payload: &payload,
        };
        assert_eq!(AdvertCase::decode(&case.encode()), Some(case));
        advert(&case.encode());
    }

    /// Every kind of planted engine bug is caught by the checks of the `engine` target on its
    /// hand-built seeds, with the rule that names it (and nothing fails without a plant).
    #[test]
    fn planted_bugs_are_caught() {
        use planted::{Plant, PLANT};
        let seeds = engine_seeds();
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut report = Vec::new();
        for (plant, expect) in [
            (Plant::KeepAddresses, "vips-only-on-master"),
            (Plant::AddTwice, "added twice"),
            (Plant::AdvertPriority, "only-masters-advertise"),
            (Plant::HideStateChanges, "only-masters-advertise"),
            (Plant::HideProtocolErrors, "counters"),
            (Plant::HidePriorityChanges, "priority-report"),
        ] {
            PLANT.with(|p| p.set(Some(plant)));
            let caught: Vec<String> = seeds
                .iter()
                .filter_map(|(_, bytes)| {
                    let err = std::panic::catch_unwind(|| engine(bytes)).err()?;
                    let msg = err
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Some(msg)
                })
                .collect();
            PLANT.with(|p| p.set(None));
            report.push((plant, expect, caught));
        }
        std::panic::set_hook(quiet);
        for (plant, expect, caught) in &report {
            assert!(
                caught.iter().any(|m| m.contains(expect)),
                "{plant:?}: no seed failed with {expect:?}; failures: {caught:?}"
            );
        }
        for (_, bytes) in &seeds {
            engine(bytes);
        }
    }

    /// A cached cluster is the cluster its setup builds, also after an input ran on an earlier
    /// copy (nothing of one input leaks into the next).
    #[test]
    fn cached_clusters_are_the_clusters_built() {
        for (name, bytes) in engine_seeds() {
            let Some((setup, ops)) = decode_engine(&bytes) else {
                panic!("{name} does not decode");
            };
            let built = format!("{:?}", Cluster::new(setup));
            let mut first = Cluster::cached(setup);
            assert_eq!(format!("{first:?}"), built, "{name}");
            for op in ops {
                first.apply(op);
            }
            assert_eq!(format!("{:?}", Cluster::cached(setup)), built, "{name}");
        }
    }

    /// Same for the `advert` target's started engines.
    #[test]
    fn cached_advert_routers_are_the_routers_built() {
        let payload = [0x31, 51, 100, 1, 0, 100, 0x05, 0x67, 192, 0, 2, 100];
        for policy in [ChecksumPolicy::Either, ChecksumPolicy::V3Plain] {
            let case = AdvertCase {
                ctx: IpContext {
                    src: "192.0.2.12".parse().unwrap(),
                    dst: IpAddr::V4(wire::MCAST_V4),
                },
                ttl: 255,
                policy,
                iface: 0,
                payload: &payload,
            };
            advert(&case.encode());
            let cached = ADVERT_ROUTERS.with(|c| {
                c.borrow()
                    .iter()
                    .find(|(p, _)| *p == policy)
                    .map(|(_, r)| format!("{r:?}"))
            });
            assert_eq!(cached, Some(format!("{:?}", advert_router(policy))));
        }
    }

    /// A diagnostic located outside the input is caught, whatever the spelling of its file.
    #[test]
    fn locations_outside_the_input_are_caught() {
        use vigil_engine::conf::Location;
        let files = config_files(b"vrrp_instance A {\n  state MASTER\n}\0x\n");
        let set = FileSet::new(&files);
        let at = |file: &str, line, col| Location {
            file: file.into(),
            line,
            col,
        };
        let ok = [
            at(CONFIG_MAIN, 1, 1),
            at(CONFIG_MAIN, 2, 15),
            at("/etc/keepalived/./conf.d/../keepalived.conf", 3, 2),
            at("/etc/keepalived/conf.d/1.conf", 2, 1),
        ];
        for loc in &ok {
            check_location(&set, loc, &"ok");
        }
        let bad = [
            at("/etc/keepalived/conf.d/2.conf", 1, 1),
            at("keepalived.conf", 1, 1),
            at(CONFIG_MAIN, 5, 1),
            at(CONFIG_MAIN, 0, 1),
            at(CONFIG_MAIN, 2, 16),
            at(CONFIG_MAIN, 1, 0),
            at("/etc/keepalived/./conf.d/1.conf", 1, 3),
        ];
        for loc in &bad {
            let caught = std::panic::catch_unwind(|| check_location(&set, loc, &"bad")).is_err();
            assert!(caught, "{loc:?} is outside the input but was not caught");
        }
    }

    #[test]
    fn engine_seeds_run_clean() {
        for (name, bytes) in engine_seeds() {
            eprintln!("{name}");
            engine(&bytes);
        }
    }
}
