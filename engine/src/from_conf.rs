// Long: the mapping is ~550 lines, the rest its unit tests beside it.
//! From a parsed keepalived.conf ([`crate::conf::Config`]) to what the engine runs
//! ([`EngineConfig`]): one pure mapping that the daemon, the simulator and the fuzzer share, so
//! that they all run exactly what an operator's file says.
//!
//! Settings the engine does not act on are returned as [`Unsupported`] notes (instance and
//! keyword), for the runner to log; settings that only a runner acts on (notify scripts, e-mail,
//! routes) stay in the parsed configuration for the runner to read.

use std::net::IpAddr;

use crate::address::VirtualAddress;
use crate::by_name::ByName;
use crate::conf::{self, AuthType, Config, Scope, TrackRef, UnicastChecksum, VrrpInstance};
use crate::setup::{
    Announce, AnnounceGates, EngineConfig, GarpGroup, InstanceConfig, LinkDelay,
    OldUnicastChecksum, RouteKind, ScriptConfig, SyncGroupConfig, Track, TrackFileConfig,
    TrackProcessConfig, TrackTarget, UnicastTtl, VirtualRoute, MAIN_TABLE, OWNER_PRIORITY,
};
use crate::wire::{Auth, ChecksumPolicy, Family};

/// A setting that the engine reads but does not act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The instance (or section) it belongs to.
    pub owner: String,
    /// What is not done.
    pub what: String,
    /// Where the instance is defined (so that `vigild -t` and the daemon's log say file:line:col).
    pub loc: conf::Location,
}

impl Unsupported {
    /// The note as a located warning, the way the daemon logs it and `vigild -t` prints it.
    pub fn diagnostic(&self) -> conf::Diagnostic {
        conf::Diagnostic::warning(&self.loc, format!("({}) {}", self.owner, self.what))
    }
}

impl ConvertError {
    /// The refusal as a located error, the way `vigild -t` prints it.
    pub fn diagnostic(&self) -> conf::Diagnostic {
        // The engine's own checks already name the instance ("VI_1: needs ...").
        let own = format!("{}: ", self.owner);
        let message = match self.message.strip_prefix(&own) {
            Some(rest) => format!("({}) {rest}", self.owner),
            None => format!("({}) {}", self.owner, self.message),
        };
        conf::Diagnostic::error(&self.loc, message)
    }
}

/// Why a parsed configuration cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    /// The instance or section.
    pub owner: String,
    /// Where it was defined.
    pub loc: conf::Location,
    /// Why.
    pub message: String,
}

/// The same text as [`ConvertError::diagnostic`]: the daemon's log and `vigild -t` say it the
/// same way.
impl core::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.diagnostic().fmt(f)
    }
}

impl std::error::Error for ConvertError {}

/// The engine's configuration and the notes about what it leaves out.
#[derive(Clone, Debug, PartialEq)]
pub struct Converted {
    /// What the engine runs.
    pub engine: EngineConfig,
    /// What it does not act on.
    pub unsupported: Vec<Unsupported>,
}

/// A configured route (`virtual_routes` or `static_routes`) in the form a runner installs,
/// and what of it is not supported (for the log). `None` when the route cannot be installed
/// at all (a route type Vigil does not install). The parser has typed and checked every word
/// (and refused the ones Vigil does not install), so the rest is carried as it is.
pub fn virtual_route(r: &conf::Route) -> (Option<VirtualRoute>, Vec<String>) {
    let mut notes = Vec::new();
    let kind = match r.kind.as_deref() {
        None => RouteKind::Unicast,
        Some("blackhole") => RouteKind::Blackhole,
        Some("unreachable") => RouteKind::Unreachable,
        Some("prohibit") => RouteKind::Prohibit,
        Some("throw") => RouteKind::Throw,
        Some(other) => {
            notes.push(format!("{}: route type '{other}' is not supported", r.loc));
            return (None, notes);
        }
    };
    let route = VirtualRoute {
        to: r.to,
        prefix_len: r.prefix_len,
        via: r.via,
        src: r.src,
        dev: r.dev.clone(),
        table: r.table.unwrap_or(MAIN_TABLE),
        metric: r.metric,
        scope: r.scope.as_ref().map(Scope::number),
        kind,
        attrs: r.attrs.clone(),
        // keepalived cannot track a route with no interface and does not.
        no_track: r.no_track || r.dev.is_none(),
    };
    (Some(route), notes)
}

/// A `track_script` / `track_file` entry: the instance's weight when it gives one, else the
/// script's or file's own; `reverse` is the script's or file's own unless the entry says
/// `reverse` or `noreverse` (keepalived's vrrp_track.c / track_file.c: the tracked object's
/// `reverse` is inherited even when the entry gives a weight; found by the dump differential).
fn weighted(r: &TrackRef, own_weight: i32, own_reverse: bool) -> (i32, bool) {
    let reverse = r.reverse || (own_reverse && !r.noreverse);
    (r.weight.unwrap_or(own_weight), reverse)
}

/// The configuration's named definitions, indexed once per conversion: an instance's
/// references are looked up here, not by scanning the definitions once per reference.
struct Names<'a> {
    scripts: ByName<'a>,
    files: ByName<'a>,
    processes: ByName<'a>,
    /// Every sync group member's name, in group order then member order, to its group: the
    /// first group that lists an instance is its group.
    group_of_member: ByName<'a>,
    /// Each member's group index, by the position in `group_of_member`'s list.
    member_group: Vec<usize>,
    track_groups: ByName<'a>,
    /// Each track group's members.
    track_group_members: Vec<ByName<'a>>,
}

impl<'a> Names<'a> {
    fn new(cfg: &'a Config) -> Self {
        let members = || {
            cfg.sync_groups
                .iter()
                .enumerate()
                .flat_map(|(k, g)| g.members.iter().map(move |m| (k, m.as_str())))
        };
        Names {
            scripts: ByName::new(cfg.scripts.iter().map(|s| s.name.as_str())),
            files: ByName::new(cfg.track_files.iter().map(|f| f.name.as_str())),
            processes: ByName::new(cfg.track_processes.iter().map(|p| p.name.as_str())),
            group_of_member: ByName::new(members().map(|(_, m)| m)),
            member_group: members().map(|(k, _)| k).collect(),
            track_groups: ByName::new(cfg.track_groups.iter().map(|g| g.name.as_str())),
            track_group_members: cfg
                .track_groups
                .iter()
                .map(|g| ByName::new(g.members.iter().map(String::as_str)))
                .collect(),
        }
    }

    /// The sync group of instance `name`: the first that lists it.
    fn sync_group<'c>(&self, cfg: &'c Config, name: &str) -> Option<&'c conf::SyncGroup> {
        let at = self.group_of_member.first(name)?;
        cfg.sync_groups.get(*self.member_group.get(at)?)
    }
}

fn trackers(
    cfg: &Config,
    names: &Names<'_>,
    interfaces: &[conf::TrackInterface],
    scripts: &[TrackRef],
    files: &[TrackRef],
    processes: &[TrackRef],
    out: &mut Vec<Track>,
) {
    for t in interfaces {
        out.push(Track {
            target: TrackTarget::Interface(t.name.clone()),
            weight: t.weight,
            reverse: t.reverse,
        });
    }
    for r in scripts {
        let (w, rev) = names
            .scripts
            .first(&r.name)
            .and_then(|k| cfg.scripts.get(k))
            .map_or((0, false), |s| (s.weight, s.reverse));
        let (weight, reverse) = weighted(r, w, rev);
        out.push(Track {
            target: TrackTarget::Script(r.name.clone()),
            weight,
            reverse,
        });
    }
    for r in files {
        let (w, rev) = names
            .files
            .first(&r.name)
            .and_then(|k| cfg.track_files.get(k))
            .map_or((1, false), |f| (f.weight, f.reverse));
        let (weight, reverse) = weighted(r, w, rev);
        out.push(Track {
            target: TrackTarget::File(r.name.clone()),
            weight,
            reverse,
        });
    }
    for r in processes {
        let (w, rev) = names
            .processes
            .first(&r.name)
            .and_then(|k| cfg.track_processes.get(k))
            .map_or((0, false), |p| (p.weight, p.reverse));
        let (weight, reverse) = weighted(r, w, rev);
        out.push(Track {
            target: TrackTarget::Process(r.name.clone()),
            weight,
            reverse,
        });
    }
}

/// The members of `g` that are instances, in the group's order (keepalived 2.2.7
/// `static_track_group_set` ignores the others, with a message).
/// `instances` indexes `cfg.instances` by name ([`instance_names`]).
pub(crate) fn track_group_members<'a>(
    instances: &ByName<'_>,
    g: &'a conf::TrackGroup,
) -> Vec<&'a str> {
    g.members
        .iter()
        .filter(|m| instances.contains(m))
        .map(String::as_str)
        .collect()
}

/// The instances of `cfg` by name, for [`track_group_members`].
pub(crate) fn instance_names(cfg: &Config) -> ByName<'_> {
    ByName::new(cfg.instances.iter().map(|i| i.name.as_str()))
}

/// The interfaces that instance `name` tracks through `track_group`, each once, in file order
/// (keepalived 2.2.7 `static_track_group_init`): the interface of every static address (`dev`,
/// else `default_interface`), static route (`dev`) and static rule (`iif`) that names a group
/// the instance is in, unless the item is `no_track`. The first group of a name counts (a
/// second one is an error in `validate`).
fn track_group_interfaces<'a>(cfg: &'a Config, names: &Names<'_>, name: &str) -> Vec<&'a str> {
    let in_group = |r: &Option<conf::TrackGroupRef>| {
        r.as_ref().is_some_and(|r| {
            names
                .track_groups
                .first(&r.name)
                .and_then(|k| names.track_group_members.get(k))
                .is_some_and(|members| members.contains(name))
        })
    };
    let default_if = cfg.global.default_interface.as_deref();
    let addresses = cfg
        .static_addresses
        .iter()
        .filter(|a| !a.address.no_track && in_group(&a.options.track_group))
        .filter_map(|a| a.address.dev.as_deref().or(default_if));
    let routes = cfg
        .static_routes
        .iter()
        .filter(|r| !r.no_track && in_group(&r.track_group))
        .filter_map(|r| r.dev.as_deref());
    let rules = cfg
        .static_rules
        .iter()
        .filter(|r| !r.no_track && in_group(&r.track_group))
        .filter_map(|r| r.iif.as_deref());
    let mut out: Vec<&str> = Vec::new();
    for ifname in addresses.chain(routes).chain(rules) {
        if !out.contains(&ifname) {
            out.push(ifname);
        }
    }
    out
}

// Long: one vrrp_instance mapped field by field to InstanceConfig, each with its note (a flat list).
fn instance(
    cfg: &Config,
    names: &Names<'_>,
    i: &VrrpInstance,
    notes: &mut Vec<Unsupported>,
) -> Result<InstanceConfig, ConvertError> {
    let mut note = |what: &str| {
        notes.push(Unsupported {
            owner: i.name.clone(),
            what: what.to_string(),
            loc: i.loc.clone(),
        })
    };
    let interface = i
        .interface
        .clone()
        .or_else(|| cfg.global.default_interface.clone())
        .ok_or_else(|| ConvertError {
            owner: i.name.clone(),
            loc: i.loc.clone(),
            message: "no `interface` (and no `default_interface` in global_defs)".into(),
        })?;
    // keepalived 2.2.7 refuses it too ("cannot use a loopback interface (lo) for vrrp"):
    // adverts on lo reach no peer.
    if interface == "lo" {
        return Err(ConvertError {
            owner: i.name.clone(),
            loc: i.loc.clone(),
            message: "cannot use the loopback interface lo for VRRP: adverts on it reach no peer"
                .into(),
        });
    }
    // The configuration model uses the engine's Family and Version: nothing to translate.
    let mut c = InstanceConfig::new(&i.name, &interface, i.vrid, i.version, i.family);
    c.priority = i.priority;
    // The model's state is keepalived's wantstate: derived from the priority when not given,
    // and the sync group rule applied (conf::validate).
    c.want_state = match i.state {
        crate::conf::InitialState::Master => crate::setup::WantState::Master,
        crate::conf::InitialState::Backup => crate::setup::WantState::Backup,
    };
    c.advert_interval = i.advert_int;
    c.preempt = i.preempt;
    c.preempt_delay = i.preempt_delay;
    c.down_timer_adverts = i.down_timer_adverts;
    c.accept = i.accept;
    // Where each address goes (keepalived's use_vmac / use_vmac_addr rule, crate::vmac_addr).
    let vmacs = crate::vmac_addr::VmacSettings {
        interface: &interface,
        family: i.family,
        instance_vmac: i.use_vmac.is_some(),
        use_vmac_addr: i.use_vmac_addr,
    };
    let place = |l: &conf::AddressLine| -> Result<VirtualAddress, ConvertError> {
        let p =
            crate::vmac_addr::place(&vmacs, &l.address, l.options.use_vmac).map_err(|message| {
                ConvertError {
                    owner: i.name.clone(),
                    loc: l.loc.clone(),
                    message,
                }
            })?;
        Ok(crate::vmac_addr::placed(l.address.clone(), &p, &vmacs))
    };
    // Every line placed, the first error returned: a loop into a vector of the list's size
    // (`collect::<Result<_, _>>()` went through an adapter and grew its vector).
    let place_all = |lines: &[conf::AddressLine]| -> Result<Vec<VirtualAddress>, ConvertError> {
        let mut out = Vec::with_capacity(lines.len());
        for l in lines {
            out.push(place(l)?);
        }
        Ok(out)
    };
    c.virtual_addresses = place_all(&i.virtual_addresses)?;
    c.auth = match &i.authentication {
        None => Auth::None,
        Some(a) if a.kind == AuthType::Pass => Auth::simple(a.password.as_bytes()),
        Some(_) => {
            return Err(ConvertError {
                owner: i.name.clone(),
                loc: i.loc.clone(),
                message: "auth_type AH (IPsec AH, removed by RFC 3768) is not supported".into(),
            })
        }
    };
    c.unicast_peers = i.unicast_peers.iter().map(|p| p.addr).collect();
    c.unicast_ttl = i
        .unicast_peers
        .iter()
        .filter(|p| p.min_ttl.is_some() || p.max_ttl.is_some())
        .map(|p| UnicastTtl {
            peer: p.addr,
            min: p.min_ttl.unwrap_or(0),
            max: p.max_ttl.unwrap_or(255),
        })
        .collect();
    // keepalived (vrrp_data.c, alloc_vrrp_unicast_peer): a peer's min_ttl or max_ttl turns
    // check_unicast_src on (found by the dump differential).
    c.check_unicast_src = i.check_unicast_src || !c.unicast_ttl.is_empty();
    // keepalived 2.2.7 (vrrp.c, vrrp_complete_instance): a unicast keyword without a peer runs
    // over multicast, unless unicast_fault_no_peer keeps the instance in FAULT.
    c.unicast_no_peers_fault =
        i.unicast_keyword && i.unicast_fault_no_peer && c.unicast_peers.is_empty();
    // keepalived.conf(5) `mcast_dst_ip`, else global_defs' `vrrp_mcast_group4` /
    // `vrrp_mcast_group6`: where adverts go, and the group the runner joins.
    let group = i.mcast_dst_ip.unwrap_or(match i.family {
        Family::V4 => IpAddr::V4(cfg.global.vrrp_mcast_group4),
        Family::V6 => IpAddr::V6(cfg.global.vrrp_mcast_group6),
    });
    if Family::of(&group) != i.family {
        return Err(ConvertError {
            owner: i.name.clone(),
            loc: i.loc.clone(),
            message: format!("mcast_dst_ip {group} is not of the instance's address family"),
        });
    }
    c.mcast_group = (group != i.family.multicast_group()).then_some(group);
    c.source = if c.unicast_peers.is_empty() {
        i.mcast_src_ip.or(i.unicast_src_ip)
    } else {
        i.unicast_src_ip.or(i.mcast_src_ip)
    };
    // Both VRRPv3-over-IPv4 checksum forms are accepted (keepalived 2.2.7 accepts only the
    // pseudo-header form unless v3_checksum_as_v2 is set, which then accepts anything); which
    // one each peer uses is counted and shown. The sent form: `v3_checksum_as_v2`.
    c.checksum_policy = ChecksumPolicy::Either;
    c.v3_checksum_plain = i.v3_checksum_as_v2;
    // keepalived 2.2.7 (vrrp_parser.c, vrrp_end_handler): unicast_ttl without unicast peers is
    // a configuration error and is reset (to 0, which then makes keepalived's IPv4 multicast
    // adverts leave with TTL 0); Vigil ignores it there, says so, and keeps 255.
    match (i.unicast_ttl, c.unicast_peers.is_empty()) {
        (Some(_), true) => note("unicast_ttl: the instance has no unicast peers: ignored, multicast adverts keep TTL 255"),
        (ttl, false) => c.unicast_send_ttl = ttl,
        (None, true) => {}
    }
    c.old_unicast_checksum = match i.unicast_checksum {
        UnicastChecksum::Auto => OldUnicastChecksum::Detect,
        UnicastChecksum::Old => OldUnicastChecksum::Always,
        UnicastChecksum::Never => OldUnicastChecksum::Never,
    };
    c.advert_on_lower_priority = !i.lower_prio_no_advert;
    // keepalived 2.2.7 (vrrp.c): strict mode forces it off.
    c.advert_on_higher_priority = i.higher_prio_send_advert && !i.strict_mode;
    c.dont_track_primary = i.dont_track_primary;
    // keepalived 2.2.7 (vrrp.c, vrrp_complete_instance): ignored, with an error, on a VMAC,
    // whose sysctls already include it.
    if i.promote_secondaries && i.use_vmac.is_some() {
        note("promote_secondaries: set on the use_vmac macvlan already (keepalived ignores it there too)");
    }
    c.promote_secondaries = i.promote_secondaries && i.use_vmac.is_none();
    c.check_address_list = !i.skip_check_adv_addr;
    c.announce = Announce {
        master_repeat: i.garp.master_repeat,
        master_delay: i.garp.master_delay,
        master_refresh: i.garp.master_refresh,
        master_refresh_repeat: i.garp.master_refresh_repeat,
        lower_prio_repeat: i.garp.lower_prio_repeat,
        lower_prio_delay: i.garp.lower_prio_delay,
        na_router_flag: true,
        extra_if: None,
        extra_if_all: i.garp.extra_if.all,
    };
    trackers(
        cfg,
        names,
        &i.track_interfaces,
        &i.track_scripts,
        &i.track_files,
        &i.track_processes,
        &mut c.track,
    );
    let group = names.sync_group(cfg, &i.name);
    let unweighted = group.is_some_and(|g| !g.tracking_weight);
    if unweighted || c.priority == OWNER_PRIORITY {
        let before = c.track.clone();
        c.track = unweighted_trackers(std::mem::take(&mut c.track), unweighted);
        let why = if unweighted {
            "in a sync group without sync_group_tracking_weight"
        } else {
            "as the address owner (priority 255)"
        };
        for t in before.iter().filter(|t| t.weight != 0) {
            let (kind, name) = match &t.target {
                TrackTarget::Interface(n) => ("track_interface", n),
                TrackTarget::Script(n) => ("track_script", n),
                TrackTarget::File(n) => ("track_file", n),
                TrackTarget::Process(n) => ("track_process", n),
            };
            let done = if c.track.iter().any(|k| k.target == t.target) {
                "its weight is ignored (down or failed means FAULT)"
            } else {
                "it is not tracked"
            };
            note(&format!(
                "{kind} {name} weight {}: {done} {why}, as keepalived does",
                t.weight
            ));
        }
    }
    if let Some(g) = group {
        // keepalived: a sync group's trackers apply to every member.
        trackers(
            cfg,
            names,
            &g.track_interfaces,
            &g.track_scripts,
            &g.track_files,
            &g.track_processes,
            &mut c.track,
        );
    }
    // keepalived 2.2.7 (`vrrp.c`, `vrrp_complete_instance`: TRACK_ADDR, TRACK_ROUTE,
    // TRACK_RULE) also follows the link of every other interface the instance puts something
    // on, unless the item is `no_track`: a virtual or excluded address's `dev`, a virtual
    // route's `dev`, a virtual rule's `iif` / `oif`. Down means FAULT (what it holds there
    // cannot be put back), and a `track_interface` entry for it becomes unweighted, as in
    // `add_vrrp_to_interface`. Not the instance's own interface, which it follows anyway. An
    // address on a macvlan of its own (`use_vmac_addr`, an address's `use_vmac`) is not here:
    // keepalived follows that macvlan's link (TRACK_ADDR on it), not its parent's, and the
    // macvlan's name is known once the runner has planned it
    // ([`crate::vmac_addr::follow_macvlans`]).
    let before = c.track.len();
    let on_own_vmac = |a: &&conf::AddressLine| {
        crate::vmac_addr::may_have_own_vmac(&vmacs, a.options.use_vmac)
            && matches!(
                crate::vmac_addr::place(&vmacs, &a.address, a.options.use_vmac),
                Ok(crate::vmac_addr::Placement::AddressVmac(_))
            )
    };
    let addr_devs = i
        .virtual_addresses
        .iter()
        .chain(&i.excluded_addresses)
        .filter(|a| !a.address.no_track)
        .filter(|a| !on_own_vmac(a))
        .filter_map(|a| a.address.dev.as_deref());
    let route_devs = i
        .virtual_routes
        .iter()
        .filter(|r| !r.no_track)
        .filter_map(|r| r.dev.as_deref());
    let rule_devs = i
        .virtual_rules
        .iter()
        .filter(|r| !r.no_track)
        .flat_map(|r| r.iif.iter().chain(&r.oif).map(String::as_str));
    for ifname in addr_devs.chain(route_devs).chain(rule_devs) {
        if ifname == c.interface {
            continue;
        }
        let end = c.track.len();
        if let Followed::MadeUnweighted(w) = track_unweighted(&mut c.track, ifname, end) {
            note(&format!("track_interface {ifname} weight {w}: a virtual address, route or rule of this instance is on it: down means FAULT, as keepalived does"));
        }
    }
    c.implied_tracks = c.track.len() - before;
    // track_group: keepalived 2.2.7 (`vrrp.c`, `add_vrrp_to_interface`) tracks the static
    // item's interface unweighted (down means FAULT); an interface already tracked keeps its
    // entry, which becomes unweighted.
    let before = c.track.len();
    for ifname in track_group_interfaces(cfg, names, &i.name) {
        let end = c.track.len();
        if let Followed::MadeUnweighted(w) = track_unweighted(&mut c.track, ifname, end) {
            note(&format!("track_interface {ifname} weight {w}: a static item of a track_group of this instance is on it: down means FAULT, as keepalived does"));
        }
    }
    c.track_group_tracks = c.track.len() - before;
    c.excluded_addresses = place_all(&i.excluded_addresses)?;
    for r in &i.virtual_routes {
        let (route, notes) = virtual_route(r);
        for n in notes {
            note(&format!("virtual_routes: {n}"));
        }
        c.virtual_routes.extend(route);
    }
    c.virtual_rules = i.virtual_rules.clone();
    c.announce.extra_if = extra_if(&i.garp.extra_if, &c);
    if i.use_vmac.is_some() {
        note("use_vmac: the engine is unaffected; the runner decides whether it supports it");
    }
    Ok(c)
}

/// keepalived 2.2.7 (`vrrp.c`, `vrrp_complete_instance`) keeps `garp_extra_if` only when a
/// virtual or excluded address is on a macvlan of its own (`use_vmac_addr`, an address's
/// `use_vmac`: keepalived's `use_extra_vmac`), or, with `all`, on any other interface;
/// otherwise it is turned off (it would send nothing).
fn extra_if(e: &crate::conf::ExtraIf, c: &InstanceConfig) -> Option<core::time::Duration> {
    let mut addrs = c.virtual_addresses.iter().chain(&c.excluded_addresses);
    let any = addrs.any(|v| crate::setup::extra_if_announces(v, &c.interface, e.all));
    (any && !e.interval.is_zero()).then_some(e.interval)
}

/// keepalived's rule for the instance's own trackers when weights cannot apply
/// (vrrp.c, vrrp_complete_instance): a member of a sync group without
/// `sync_group_tracking_weight`, or the address owner (priority 255).
/// - a weighted interface: its weight becomes 0 in a sync group (down means FAULT); the owner
///   stops tracking it;
/// - a weighted script or tracked process: no longer tracked;
/// - a file: with the default weight (1, no weight written) it becomes unweighted (non-zero
///   means FAULT); with another weight it is no longer tracked.
///
/// keepalived logs each ("ignoring tracked script chk with weights due to SYNC group"); the
/// conversion returns a note for each.
fn unweighted_trackers(track: Vec<Track>, in_group: bool) -> Vec<Track> {
    track
        .into_iter()
        .filter_map(|mut t| {
            if t.weight == 0 {
                return Some(t);
            }
            match &t.target {
                TrackTarget::Interface(_) if in_group => {
                    t.weight = 0;
                    Some(t)
                }
                // A weighted process is dropped like a script (vrrp.c treats them alike).
                TrackTarget::Interface(_) | TrackTarget::Script(_) | TrackTarget::Process(_) => {
                    None
                }
                // keepalived cannot tell a written `weight 1` from the default either.
                TrackTarget::File(_) if t.weight == 1 => {
                    t.weight = 0;
                    Some(t)
                }
                TrackTarget::File(_) => None,
            }
        })
        .collect()
}

impl EngineConfig {
    /// Convert a parsed keepalived.conf. Errors mean the configuration cannot run (the daemon
    /// does not start, or keeps its old configuration on reload); notes are for the log.
    pub fn from_conf(cfg: &Config) -> Result<Converted, ConvertError> {
        let mut unsupported = Vec::new();
        let mut instances = Vec::with_capacity(cfg.instances.len());
        let names = Names::new(cfg);
        for i in &cfg.instances {
            let c = instance(cfg, &names, i, &mut unsupported)?;
            // What the engine refuses (Engine::new) is refused here, at the instance, so that
            // the operator gets a location (found by the config fuzz target: an instance without
            // virtual addresses passed with no location at all).
            c.validate().map_err(|e| ConvertError {
                owner: i.name.clone(),
                loc: i.loc.clone(),
                message: e.to_string(),
            })?;
            instances.push(c);
        }
        if let Some(g) = cfg.sync_groups.iter().find(|g| g.members.is_empty()) {
            return Err(ConvertError {
                owner: g.name.clone(),
                loc: g.loc.clone(),
                message: "a sync group needs at least one member".to_string(),
            });
        }
        let sync_groups = cfg
            .sync_groups
            .iter()
            .map(|g| SyncGroupConfig {
                name: g.name.clone(),
                members: g.members.clone(),
                tracking_weight: g.tracking_weight,
            })
            .collect();
        let scripts = cfg
            .scripts
            .iter()
            .map(|s| ScriptConfig {
                name: s.name.clone(),
                interval: s.interval,
                rise: s.rise.max(1),
                fall: s.fall.max(1),
                // The seed's MISC_CHECK rule: without a timeout, a run must not outlast the
                // interval.
                timeout: s.timeout.unwrap_or(s.interval),
                init_fail: s.init_fail,
            })
            .collect();
        let track_files = cfg
            .track_files
            .iter()
            .map(|f| TrackFileConfig {
                name: f.name.clone(),
                initial: f.init_file.as_ref().map_or(0, |i| i.value),
            })
            .collect();
        let track_processes = cfg
            .track_processes
            .iter()
            .map(|p| TrackProcessConfig {
                name: p.name.clone(),
            })
            .collect();
        Ok(Converted {
            engine: EngineConfig {
                instances,
                sync_groups,
                scripts,
                track_files,
                startup_delay: cfg.global.vrrp_startup_delay,
                track_processes,
                link_delays: cfg
                    .interface_delays
                    .iter()
                    .map(|d| LinkDelay {
                        interface: d.interface.clone(),
                        down: d.down,
                        up: d.up,
                    })
                    .collect(),
                announce_gates: AnnounceGates {
                    garp_interval: cfg.global.vrrp_garp_interval,
                    gna_interval: cfg.global.vrrp_gna_interval,
                    groups: cfg
                        .garp_groups
                        .iter()
                        .map(|g| GarpGroup {
                            garp_interval: g.garp_interval.unwrap_or_default(),
                            gna_interval: g.gna_interval.unwrap_or_default(),
                            interfaces: g.interfaces.clone(),
                        })
                        .collect(),
                    // The runner's (io-linux daemon/reload.rs): the system's, not the file's.
                    bases: Vec::new(),
                },
            },
            unsupported,
        })
    }

    /// Every virtual address of every instance, the excluded ones too: the addresses that
    /// follow MASTER, never an interface's primary address.
    pub fn virtual_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.instances.iter().flat_map(|i| {
            i.virtual_addresses
                .iter()
                .chain(&i.excluded_addresses)
                .map(|v| v.addr)
        })
    }
}

/// What [`track_unweighted`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Followed {
    /// A new unweighted entry.
    Added,
    /// An existing `track_interface` entry of this weight made unweighted (the caller says so
    /// in a note).
    MadeUnweighted(i32),
    /// Already followed unweighted.
    Already,
}

/// Follow interface `ifname`'s link unweighted (down means FAULT), as keepalived's
/// `add_vrrp_to_interface` does for an interface an instance puts something on: a new entry
/// inserted at `at` (clamped to the end), or an existing weighted entry made unweighted.
pub(crate) fn track_unweighted(track: &mut Vec<Track>, ifname: &str, at: usize) -> Followed {
    let target = TrackTarget::Interface(ifname.to_string());
    match track.iter_mut().find(|t| t.target == target) {
        Some(t) if t.weight != 0 => {
            let w = t.weight;
            t.weight = 0;
            t.reverse = false;
            Followed::MadeUnweighted(w)
        }
        Some(_) => Followed::Already,
        None => {
            track.insert(
                at.min(track.len()),
                Track {
                    target,
                    weight: 0,
                    reverse: false,
                },
            );
            Followed::Added
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Version;
    use crate::Engine;
    use core::time::Duration;

    fn convert(text: &str) -> Converted {
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        EngineConfig::from_conf(&cfg).unwrap()
    }

    const HEAD: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
                        virtual_ipaddress { 192.0.2.100/24 }\n";

    #[test]
    fn excluded_addresses_and_routes_are_the_instances() {
        let c = convert(&format!(
            "{HEAD} virtual_ipaddress_excluded {{ 198.51.100.7/24 dev eth1 }}\n\
             virtual_routes {{\n 203.0.113.0/24 via 192.0.2.1 dev eth0 metric 5\n \
             blackhole 198.51.100.128/25 table 100\n 0.0.0.0/0 via 192.0.2.254 src 192.0.2.100\n }}\n}}\n"
        ));
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        let i = &c.engine.instances[0];
        assert_eq!(i.excluded_addresses.len(), 1);
        assert_eq!(i.excluded_addresses[0].dev.as_deref(), Some("eth1"));
        let shown: Vec<String> = i.virtual_routes.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "203.0.113.0/24 via 192.0.2.1 dev eth0 metric 5",
                "blackhole 198.51.100.128/25 table 100",
                "0.0.0.0/0 via 192.0.2.254 src 192.0.2.100",
            ]
        );
        let all: Vec<IpAddr> = c.engine.virtual_addresses().collect();
        assert_eq!(
            all.len(),
            2,
            "the excluded address is one of the router's: {all:?}"
        );
    }

    #[test]
    fn a_route_in_an_unknown_named_table_is_refused_at_its_line() {
        // No /etc/iproute2 files given: only keepalived's built-in names (main, local, default).
        let e = conf::parse_str(&format!(
            "{HEAD} virtual_routes {{ 203.0.113.0/24 dev eth0 table vrrp }}\n}}\n"
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("Routing table vrrp not found for route"),
            "{e}"
        );
        assert!(e.to_string().contains("keepalived.conf:5:"), "{e}");
    }

    /// keepalived.conf(5) `v3_checksum_as_v2 [<BOOL>]` (keepalived 2.2.8+), in global_defs (the
    /// default of every instance) or in a vrrp_instance: the send form. Both forms are accepted
    /// on receive whatever it says.
    #[test]
    fn v3_checksum_as_v2_global_and_per_instance_choose_the_send_form() {
        let text = |global: &str, inst: &str| {
            format!(
                "global_defs {{ vrrp_version 3
{global} }}
                 vrrp_instance VI_1 {{
 interface eth0
 virtual_router_id 51
{inst}
                 virtual_ipaddress {{ 192.0.2.100/24 }}
}}
"
            )
        };
        for (global, inst, plain) in [
            ("", "", false),
            ("", "v3_checksum_as_v2", true),
            ("v3_checksum_as_v2", "", true),
            ("v3_checksum_as_v2", "v3_checksum_as_v2 false", false),
            ("", "v3_checksum_as_v2 true", true),
        ] {
            let c = convert(&text(global, inst));
            assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
            let i = &c.engine.instances[0];
            assert_eq!(i.v3_checksum_plain, plain, "{global:?} {inst:?}");
            assert_eq!(i.checksum_policy, ChecksumPolicy::Either);
        }
    }

    /// keepalived.conf(5) `no_virtual_ipaddress`: an instance without virtual addresses (cloud
    /// floating addresses moved by notify scripts) runs; without the keyword keepalived runs a
    /// VRRPv2 one with a warning and refuses VRRPv3 (RFC 5798 section 5.2.5), and so does Vigil.
    #[test]
    fn no_virtual_ipaddress_runs_an_instance_without_addresses() {
        let text = |version: u8, extra: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n version {version}\n\
                 unicast_peer {{ 192.0.2.12 }}\n{extra}\n}}\n"
            )
        };
        let c = convert(&text(3, "no_virtual_ipaddress"));
        assert!(c.engine.instances[0].virtual_addresses.is_empty());
        Engine::new(c.engine).unwrap();
        let parsed = conf::parse_str(&text(2, "")).unwrap();
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.to_string().contains("no virtual_ipaddress")),
            "{:?}",
            parsed.warnings
        );
        Engine::new(EngineConfig::from_conf(&parsed).unwrap().engine).unwrap();
        let e = conf::parse_str(&text(3, "")).unwrap_err().to_string();
        assert!(e.contains("add no_virtual_ipaddress"), "{e}");
    }

    /// keepalived.conf(5) `vrrp_mcast_group4` / `vrrp_mcast_group6` (global_defs) and
    /// `mcast_dst_ip` (per instance): the group adverts go to and the runner joins.
    #[test]
    fn vrrp_mcast_group_and_mcast_dst_ip_choose_the_group() {
        let c = convert(
            "global_defs { vrrp_mcast_group4 224.0.0.117\n vrrp_mcast_group6 ff02::117 }\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 2\n mcast_dst_ip 224.0.0.119\n\
             virtual_ipaddress { 192.0.2.2 }\n}\n\
             vrrp_instance C {\n interface eth0\n virtual_router_id 3\n\
             virtual_ipaddress { 2001:db8::3 }\n}\n",
        );
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        let g: Vec<IpAddr> = c
            .engine
            .instances
            .iter()
            .map(|i| i.multicast_group())
            .collect();
        assert_eq!(
            g,
            [
                "224.0.0.117".parse::<IpAddr>().unwrap(),
                "224.0.0.119".parse().unwrap(),
                "ff02::117".parse().unwrap()
            ]
        );
        let e = Engine::new(c.engine).unwrap();
        let eth0 = e.interface_id("eth0").unwrap();
        assert_eq!(e.multicast_groups(eth0, Family::V4).len(), 2);
        // The default stays the RFC's group.
        let d = convert(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert_eq!(d.engine.instances[0].mcast_group, None);
        assert_eq!(
            d.engine.instances[0].multicast_group(),
            "224.0.0.18".parse::<IpAddr>().unwrap()
        );
    }

    /// keepalived.conf(5) `vrrp_startup_delay` reaches the engine; `higher_prio_send_advert`
    /// (and the global `vrrp_higher_prio_send_advert`) too, cleared by strict mode as keepalived
    /// 2.2.7 does.
    #[test]
    fn startup_delay_and_higher_prio_send_advert_reach_the_engine() {
        let c = convert(
            "global_defs { vrrp_startup_delay 5.5\n vrrp_higher_prio_send_advert }\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 2\n\
             higher_prio_send_advert false\n virtual_ipaddress { 192.0.2.2 }\n}\n",
        );
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        assert_eq!(c.engine.startup_delay, Duration::from_millis(5500));
        let on: Vec<bool> = c
            .engine
            .instances
            .iter()
            .map(|i| i.advert_on_higher_priority)
            .collect();
        assert_eq!(on, [true, false]);
    }

    #[test]
    fn an_instance_maps_field_by_field() {
        let c = convert(
            "global_defs { vrrp_version 3 }\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n\
             advert_int 0.1\n nopreempt\n\
             virtual_ipaddress { 192.0.2.100/24 brd 192.0.2.255 dev eth1 scope link label eth1:v }\n\
             unicast_src_ip 192.0.2.11\n unicast_peer { 192.0.2.12 }\n garp_master_delay 2\n\
             garp_master_repeat 3\n}\n",
        );
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        let i = &c.engine.instances[0];
        assert_eq!((i.name.as_str(), i.interface.as_str()), ("VI_1", "eth0"));
        assert_eq!(
            (i.vrid, i.priority, i.version, i.family),
            (51, 150, Version::V3, Family::V4)
        );
        assert_eq!(i.advert_interval, Duration::from_millis(100));
        assert!(!i.preempt);
        assert_eq!(
            i.unicast_peers,
            vec!["192.0.2.12".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(i.source, Some("192.0.2.11".parse().unwrap()));
        let v = &i.virtual_addresses[0];
        assert_eq!(
            (v.prefix_len, v.dev.as_deref(), &v.scope),
            (24, Some("eth1"), &Scope::Link)
        );
        assert_eq!(v.label.as_deref(), Some("eth1:v"));
        assert_eq!(
            (i.announce.master_delay, i.announce.master_repeat),
            (Duration::from_secs(2), 3)
        );
        Engine::new(c.engine).unwrap();
    }

    /// The address options reach the engine: the peer, the flags, and keepalived's preferred
    /// lifetime (0 for an IPv6 /128 unless written, forever for a wider prefix, none on IPv4).
    #[test]
    fn address_options_and_keepalived_s_lifetimes() {
        use crate::address::{AddrFlags, LIFETIME_FOREVER};
        let c = convert(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
             virtual_ipaddress {\n 2001:db8::1\n 2001:db8::2/64\n\
             2001:db8::3 preferred_lft forever -nodad\n 2001:db8::4/64 preferred_lft 60 home mngtmpaddr\n\
             2001:db8::5/64 noprefixroute autojoin\n }\n}\n",
        );
        let v = &c.engine.instances[0].virtual_addresses;
        let lft: Vec<u32> = v.iter().map(|a| a.preferred_lft).collect();
        assert_eq!(
            lft,
            [0, LIFETIME_FOREVER, LIFETIME_FOREVER, 60, LIFETIME_FOREVER]
        );
        assert_eq!(v[0].flags, AddrFlags::default());
        assert!(v[2].flags.dad);
        assert!(v[3].flags.home && v[3].flags.mngtmpaddr && !v[3].flags.dad);
        assert!(v[4].flags.noprefixroute && v[4].flags.autojoin);
        let c = convert(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
             virtual_ipaddress {\n 192.0.2.1 peer 192.0.2.2\n 192.0.2.9/24 preferred_lft 0\n }\n}\n",
        );
        let v = &c.engine.instances[0].virtual_addresses;
        assert_eq!(
            (v[0].peer, v[0].prefix_len),
            (Some("192.0.2.2".parse().unwrap()), 32)
        );
        assert_eq!(v[1].preferred_lft, LIFETIME_FOREVER);
    }

    /// `unicast_ttl` reaches a unicast instance; without unicast peers it is ignored, said.
    #[test]
    fn unicast_ttl_maps_for_unicast_instances_only() {
        let c = convert(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n unicast_ttl 64\n\
             unicast_peer { 192.0.2.12 }\n virtual_ipaddress { 192.0.2.100/24 }\n}\n",
        );
        assert_eq!(c.engine.instances[0].unicast_send_ttl, Some(64));
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        let c = convert(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n unicast_ttl 64\n\
             virtual_ipaddress { 192.0.2.100/24 }\n}\n",
        );
        assert_eq!(c.engine.instances[0].unicast_send_ttl, None);
        assert!(
            c.unsupported[0].what.contains("no unicast peers"),
            "{:?}",
            c.unsupported
        );
    }

    #[test]
    fn unicast_peer_ttl_ranges_and_check_unicast_src_map() {
        let c = convert(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
             virtual_ipaddress { 192.0.2.100/24 }\n unicast_src_ip 192.0.2.11\n\
             check_unicast_src\n\
             unicast_peer {\n 192.0.2.12 min_ttl 250\n 192.0.2.13\n 192.0.2.14 max_ttl 254\n }\n}\n",
        );
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        let i = &c.engine.instances[0];
        assert!(i.check_unicast_src);
        assert_eq!(
            i.unicast_ttl,
            vec![
                UnicastTtl {
                    peer: "192.0.2.12".parse().unwrap(),
                    min: 250,
                    max: 255
                },
                UnicastTtl {
                    peer: "192.0.2.14".parse().unwrap(),
                    min: 0,
                    max: 254
                },
            ]
        );
        assert_eq!(i.unicast_peers.len(), 3);
    }

    #[test]
    fn sync_groups_scripts_and_trackers_map() {
        let c = convert(
            "vrrp_script chk { script \"/bin/true\"\n interval 2\n weight -20\n rise 2\n fall 3 }\n\
             vrrp_track_file f { file /tmp/x\n weight 5\n init_file 3 }\n\
             vrrp_sync_group G { group { A B }\n track_interface { eth9 }\n }\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_script { chk }\n\
             track_file { f weight -2 reverse }\n track_interface { eth2 weight 10 }\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n\
             vrrp_instance B {\n interface eth1\n virtual_router_id 2\n virtual_ipaddress { 198.51.100.1 }\n}\n",
        );
        let e = &c.engine;
        assert_eq!(
            e.sync_groups[0].members,
            vec!["A".to_string(), "B".to_string()]
        );
        let s = &e.scripts[0];
        assert_eq!((s.rise, s.fall, s.timeout), (2, 3, Duration::from_secs(2)));
        assert_eq!(e.track_files[0].initial, 3);
        // A is in a sync group without sync_group_tracking_weight: keepalived stops tracking
        // its weighted script and file and makes its interface unweighted.
        let a = &e.instances[0].track;
        assert!(!a
            .iter()
            .any(|t| matches!(t.target, TrackTarget::Script(_) | TrackTarget::File(_))));
        assert!(a.contains(&Track {
            target: TrackTarget::Interface("eth2".into()),
            weight: 0,
            reverse: false
        }));
        // The group's track_interface applies to both members.
        for i in &e.instances {
            assert!(i
                .track
                .iter()
                .any(|t| t.target == TrackTarget::Interface("eth9".into())));
        }
        Engine::new(c.engine.clone()).unwrap();
    }

    /// keepalived's `down_timer_adverts` (and the global `vrrp_down_timer_adverts`) reach the
    /// engine: it was parsed and then dropped (issue 19).
    #[test]
    fn down_timer_adverts_reaches_the_engine() {
        let text = |extra: &str| {
            format!(
                "global_defs {{ vrrp_down_timer_adverts 4 }}\n\
                 vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{extra}\
                 virtual_ipaddress {{ 192.0.2.100 }}\n}}\n"
            )
        };
        let global = convert(&text(""));
        assert_eq!(global.engine.instances[0].down_timer_adverts, 4);
        let own = convert(&text(" down_timer_adverts 7\n"));
        assert_eq!(own.engine.instances[0].down_timer_adverts, 7);
        let default = convert(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
             virtual_ipaddress { 192.0.2.100 }\n}\n",
        );
        assert_eq!(default.engine.instances[0].down_timer_adverts, 3);
    }

    /// keepalived's vrrp_complete_instance, outside a sync group: the address owner stops
    /// tracking weighted interfaces, scripts and files; an unweighted file (default weight 1)
    /// stays, unweighted; a weight-0 tracker stays.
    #[test]
    fn the_address_owner_keeps_only_unweighted_trackers() {
        let c = convert(
            "vrrp_script s { script /bin/true\n weight 5 }\n\
             vrrp_script z { script /bin/true }\n\
             vrrp_track_file f { file /tmp/f }\n\
             vrrp_track_file g { file /tmp/g\n weight 3 }\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 255\n\
             track_interface { eth1 weight 10\n eth2 }\n track_script { s\n z }\n\
             track_file { f\n g }\n virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        let names: Vec<(String, i32)> = c.engine.instances[0]
            .track
            .iter()
            .map(|t| {
                let n = match &t.target {
                    TrackTarget::Interface(n)
                    | TrackTarget::Script(n)
                    | TrackTarget::File(n)
                    | TrackTarget::Process(n) => n,
                };
                (n.clone(), t.weight)
            })
            .collect();
        assert_eq!(
            names,
            vec![("eth2".into(), 0), ("z".into(), 0), ("f".into(), 0)]
        );
    }

    /// keepalived: a tracked script's or file's own `reverse` carries over to an instance
    /// entry that gives its own weight; `noreverse` clears it.
    #[test]
    fn a_tracked_object_s_reverse_is_inherited_unless_noreverse() {
        let c = convert(
            "vrrp_script s { script /bin/true\n weight -20 reverse }\n\
             vrrp_track_file f { file /tmp/f\n weight 2 reverse }\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             track_script { s weight -30 }\n track_file { f weight 3 noreverse }\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        let t = &c.engine.instances[0].track;
        assert_eq!(
            (t[0].weight, t[0].reverse, t[1].weight, t[1].reverse),
            (-30, true, 3, false)
        );
    }

    /// keepalived: a unicast peer's min_ttl / max_ttl turns check_unicast_src on.
    #[test]
    fn a_peer_ttl_range_checks_the_unicast_source() {
        let c = convert(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             unicast_peer { 192.0.2.12 max_ttl 254 }\n virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert!(c.engine.instances[0].check_unicast_src);
    }

    #[test]
    fn pass_authentication_becomes_the_engine_password() {
        let c = convert(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             authentication { auth_type PASS\n auth_pass secret1 }\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert_eq!(c.engine.instances[0].auth, Auth::simple(b"secret1"));
        assert_eq!(c.engine.instances[0].version, Version::V2);
    }

    fn refusal(text: &str) -> ConvertError {
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        match EngineConfig::from_conf(&cfg) {
            Ok(c) => panic!("converted: {:?}", c.engine),
            Err(e) => e,
        }
    }

    /// keepalived 2.2.7's placement (crate::vmac_addr) reaches the engine's addresses; its two
    /// configuration errors are refused at the address's line.
    #[test]
    fn addresses_are_placed_as_keepalived_places_them() {
        let cfg = conf::parse_str(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n use_vmac\n use_vmac_addr\n\
             virtual_ipaddress {\n 192.0.2.1/24 dev eth0\n 198.51.100.1/24 dev eth1\n}\n\
             virtual_ipaddress_excluded {\n 2001:db8::1/64\n}\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = EngineConfig::from_conf(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let i = &c.engine.instances[0];
        let got: Vec<(Option<&str>, bool)> = i
            .virtual_addresses
            .iter()
            .chain(&i.excluded_addresses)
            .map(|v| (v.dev.as_deref(), v.vmac))
            .collect();
        assert_eq!(
            got,
            [(None, false), (Some("eth1"), true), (Some("eth0"), true)]
        );
        let e = refusal(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n use_vmac_addr\n\
             virtual_ipaddress {\n 192.0.2.1/24\n 198.51.100.1/24 dev eth1 use_vmac\n}\n}\n",
        );
        assert_eq!(e.loc.line, 7, "{e}");
        assert!(
            e.message.contains("use_vmac_addr specified and use_vmac"),
            "{e}"
        );
    }

    // Found by the config fuzz target (FUZZING.md finding 6): configurations that parsed and
    // converted but that Engine::new refused, with no location for the operator. Reproducers in
    // fuzz/regressions/config/.
    #[test]
    fn an_instance_the_engine_refuses_is_refused_at_its_location() {
        // 256 addresses: more than an advert's count can carry.
        let vips: String = (0..256u32)
            .map(|k| format!(" 198.51.{}.{}\n", 100 + k / 250, 1 + k % 250))
            .collect();
        let e = refusal(&format!(
            "vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress {{\n{vips} }}\n}}\n\
             vrrp_instance B {{\n interface eth0\n virtual_router_id 2\n\
             virtual_ipaddress {{ 192.0.2.1 }}\n}}\n"
        ));
        assert_eq!((e.owner.as_str(), e.loc.line), ("A", 1), "{e}");
        assert!(e.message.contains("virtual addresses"), "{e}");
    }

    /// keepalived's `-t` refuses an instance on lo; the conversion (and so the daemon and
    /// `vigild -t`) does too.
    #[test]
    fn an_instance_on_the_loopback_interface_is_refused() {
        let e = refusal(
            "vrrp_instance A {\n interface lo\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        );
        assert_eq!((e.owner.as_str(), e.loc.line), ("A", 1), "{e}");
        assert!(e.message.contains("loopback"), "{e}");
    }

    #[test]
    fn an_empty_sync_group_is_refused_at_its_location() {
        let e = refusal(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n\
             vrrp_sync_group G1 {\n group {\n }\n}\n",
        );
        assert_eq!((e.owner.as_str(), e.loc.line), ("G1", 6), "{e}");
    }

    /// Two instances, a track_group naming VI_1 only, and a static address, route and rule
    /// that name the group (keepalived.conf(5) "Static track groups").
    const TRACK_GROUP: &str = "track_group TG {\n group {\n  VI_1\n }\n}\n\
        static_ipaddress {\n 198.51.100.5/24 dev eth1 track_group TG\n}\n\
        static_routes {\n 203.0.113.0/24 via 198.51.100.1 dev eth2 track_group TG\n}\n\
        static_rules {\n from 192.0.2.0/24 iif eth3 table 100 track_group TG\n \
        from 192.0.2.64/26 iif eth4 table 100 no_track track_group TG\n}\n\
        vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
        track_interface {\n  eth2 weight -10\n }\n virtual_ipaddress { 192.0.2.100/24 }\n}\n\
        vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n \
        virtual_ipaddress { 192.0.2.101/24 }\n}\n";

    #[test]
    fn a_track_group_s_instances_track_the_static_items_interfaces() {
        let c = convert(TRACK_GROUP);
        let vi1 = &c.engine.instances[0];
        let tracked: Vec<(String, i32)> = vi1
            .track
            .iter()
            .map(|t| match &t.target {
                TrackTarget::Interface(n) => (n.clone(), t.weight),
                other => panic!("{other:?}"),
            })
            .collect();
        // eth2 was tracked with a weight: a static route of the group is on it, so it becomes
        // unweighted (keepalived's add_vrrp_to_interface); eth4's rule is no_track.
        assert_eq!(
            tracked,
            [("eth2".into(), 0), ("eth1".into(), 0), ("eth3".into(), 0)]
        );
        assert_eq!(vi1.track_group_tracks, 2);
        assert!(
            c.unsupported
                .iter()
                .any(|n| n.what.contains("track_interface eth2 weight -10")),
            "{:?}",
            c.unsupported
        );
        // VI_2 is not in the group.
        assert!(c.engine.instances[1].track.is_empty());
        assert_eq!(c.engine.instances[1].track_group_tracks, 0);
    }

    #[test]
    fn a_track_group_instance_faults_while_the_static_item_s_interface_is_down() {
        let c = convert(TRACK_GROUP);
        let mut e = Engine::new(c.engine).unwrap();
        let ifaces: Vec<_> = e.interfaces().map(|(id, _)| id).collect();
        for (k, iface) in ifaces.into_iter().enumerate() {
            e.handle_input(
                crate::Instant::from_millis(0),
                crate::Input::PrimaryAddress {
                    iface,
                    family: Family::V4,
                    addr: Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10 + k as u8))),
                },
            );
        }
        e.handle_input(crate::Instant::from_millis(0), crate::Input::Start);
        let eth1 = e.interface_id("eth1").unwrap();
        let state = |e: &Engine, i: usize| e.instances().nth(i).unwrap().state();
        assert_eq!(state(&e, 0), crate::State::Backup);
        e.handle_input(
            crate::Instant::from_millis(1),
            crate::Input::Link {
                iface: eth1,
                up: false,
            },
        );
        assert_eq!(state(&e, 0), crate::State::Fault);
        assert_eq!(
            state(&e, 1),
            crate::State::Backup,
            "VI_2 is not in the group"
        );
        e.handle_input(
            crate::Instant::from_millis(2),
            crate::Input::Link {
                iface: eth1,
                up: true,
            },
        );
        assert_eq!(state(&e, 0), crate::State::Backup);
    }

    #[test]
    fn the_dump_lists_the_group_and_the_static_items_name_it() {
        let cfg = conf::parse_str(TRACK_GROUP).unwrap();
        let d = crate::dump::dump_vrrp(&cfg, &crate::dump::NoEnv).unwrap();
        assert!(
            d.contains(
                "------< Static Track groups >------\n Static Track Group = TG\n   VRRP member instances :\n     VI_1\n"
            ),
            "{d}"
        );
        assert!(
            d.contains("198.51.100.5/24 dev eth1 scope global track_group TG"),
            "{d}"
        );
        assert!(
            d.contains("dev eth2 track_group TG") || d.contains(" track_group TG\n"),
            "{d}"
        );
        assert!(d.contains("from 192.0.2.0/24 priority"), "{d}");
        // keepalived's dump does not list them among the instance's tracked interfaces.
        assert!(!d.contains("     eth1 weight"), "{d}");
        assert!(!d.contains("     eth3 weight"), "{d}");
    }

    /// keepalived.conf(5) `unicast_fault_no_peer`: with a unicast setting and no peer the
    /// instance is held in FAULT; without the keyword it runs over multicast with keepalived's
    /// deprecation warning; with a peer the keyword changes nothing (keepalived 2.2.7 vrrp.c,
    /// `vrrp_complete_instance`).
    #[test]
    fn unicast_fault_no_peer_holds_a_peerless_unicast_instance_in_fault() {
        let text = |extra: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{extra}\n\
                 virtual_ipaddress {{ 192.0.2.100/24 }}\n}}\n"
            )
        };
        let warned = |t: &str| {
            conf::parse_str(t)
                .unwrap()
                .warnings
                .iter()
                .any(|w| w.to_string().contains("without any unicast_peer"))
        };
        for (extra, fault, warning) in [
            (
                "unicast_src_ip 192.0.2.11\n unicast_fault_no_peer",
                true,
                false,
            ),
            ("unicast_fault_no_peer", true, false),
            ("check_unicast_src\n unicast_fault_no_peer", true, false),
            ("unicast_src_ip 192.0.2.11", false, true),
            ("old_unicast_checksum", false, true),
            ("unicast_peer {\n }", false, true),
            (
                "unicast_fault_no_peer\n unicast_peer { 192.0.2.12 }",
                false,
                false,
            ),
            ("mcast_src_ip 192.0.2.11", false, false),
        ] {
            let t = text(extra);
            let c = convert(&t);
            assert!(c.unsupported.is_empty(), "{extra}: {:?}", c.unsupported);
            assert_eq!(
                c.engine.instances[0].unicast_no_peers_fault, fault,
                "{extra}"
            );
            assert_eq!(warned(&t), warning, "{extra}");
        }
        let cfg =
            conf::parse_str(&text("unicast_src_ip 192.0.2.11\n unicast_fault_no_peer")).unwrap();
        let d = crate::dump::dump_vrrp(&cfg, &crate::dump::NoEnv).unwrap();
        assert!(
            d.contains("   Flags:\n     Unicast config option specified but using multicast\n     If unicast go to fault state if no peers\n"),
            "{d}"
        );
    }
}
