//! The "Interfaces" part of `vigild -d`: keepalived 2.2.7's `dump_data_vrrp` ends with its
//! interface list (vrrp_if.c `dump_interface_queue` / `dump_if`): every interface of the network
//! namespace, in the kernel's order, each with what keepalived read from the kernel (index,
//! addresses, MAC, flags, MTU, hardware type, the `arp_ignore` / `arp_filter` /
//! `promote_secondaries` sysctls) and what the configuration puts on it (the
//! `interface_up_down_delays`, the `garp_group` / `vrrp_garp_interval` gates and the instances
//! that track it).
//!
//! What only the running system knows comes from [`DumpEnv::links`]; the rest is the effective
//! configuration, as the engine runs it:
//! - `Up debounce timer` / `Down debounce timer`: the interface's `interface_up_down_delays`
//!   (the last line for it), bounded as keepalived bounds it at start (vrrp.c
//!   `check_debounce_timers`, run for each instance on the interface in file order): below
//!   `(down_timer_adverts - 1)` advertisement intervals, less 1/256 of an interval; none with
//!   `down_timer_adverts 1`. The engine applies the same bound (`engine/link_delay.rs`).
//! - `Gratuitous ARP interval` / `Gratuitous NA interval` / `... aggregation group`: the
//!   interface's gate ([`super::garp`], the engine's [`crate::setup::AnnounceGates`]).
//! - `Reset promote_secondaries counter`: how many instances on the interface set
//!   `promote_secondaries` at start (the kernel's value is 0; keepalived counts each, Vigil sets
//!   it once for them and clears it at exit).
//! - `Tracking VRRP instances`: the instances that follow the interface's link, with the weight
//!   the engine applies (keepalived's `tracking_vrrp` list, built in vrrp.c
//!   `vrrp_complete_instance`, `static_track_group_init` and `sync_group_tracking_init`, in that
//!   order): an instance's `track_interface` entries and its own interface (weight 255, which
//!   keepalived prints for "on it, not tracked", with `dont_track_primary`), then the interfaces
//!   of a `track_group`'s static items, then the sync groups' `track_interface` entries for each
//!   member; an instance named twice on one interface keeps one entry, whose weight becomes the
//!   later one's unless it was unweighted (keepalived's `add_vrrp_to_interface`).
//!
//! Not printed (run-time state of a running keepalived, or keepalived's own bookkeeping; the
//! semantic differential lists each with its reason): `Delayed state change running`,
//! `I/f created by keepalived`, `Done VRID check` (set when an interface appears at run time), `Reset ARP config counter`, `rp_filter`, the IPv6 forwarding
//! check time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{garp, line, DumpEnv, Trackers};
use crate::conf::fast_hash::FastMap;
use crate::conf::Config;
use crate::setup::{EngineConfig, InstanceConfig, TrackTarget};

/// One network interface of the running system, as `keepalived -d` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemLink {
    /// Its name.
    pub name: String,
    /// The kernel's index.
    pub index: u32,
    /// Its IPv4 addresses, in the kernel's order (the first is keepalived's "IPv4 address").
    pub ipv4: Vec<Ipv4Addr>,
    /// Its link-local IPv6 addresses, in the kernel's order (keepalived keeps no others).
    pub ipv6: Vec<Ipv6Addr>,
    /// The hardware address (empty or all zeros: none).
    pub mac: Vec<u8>,
    /// The hardware broadcast address.
    pub broadcast: Vec<u8>,
    /// The kernel's `IFF_*` flags.
    pub flags: u32,
    /// The MTU.
    pub mtu: u32,
    /// The hardware type (`ARPHRD_*`).
    pub hw_type: u16,
    /// A macvlan or ipvlan: its mode and lower interface.
    pub vlan: Option<VlanLink>,
    /// `net.ipv4.conf.IF.arp_ignore`.
    pub arp_ignore: u32,
    /// `net.ipv4.conf.IF.arp_filter`.
    pub arp_filter: u32,
    /// `net.ipv4.conf.IF.promote_secondaries`.
    pub promote_secondaries: u32,
    /// The link has a kind (`IFLA_INFO_KIND`: veth, macvlan, dummy, ...): keepalived's
    /// `changeable_type`, printed as "Interface type/base can be changed" under
    /// `dynamic_interfaces allow_if_changes`.
    pub has_kind: bool,
}

/// A macvlan or ipvlan interface's kind (keepalived's `IS_MAC_IP_VLAN`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VlanLink {
    /// An ipvlan (else a macvlan).
    pub ipvlan: bool,
    /// An ipvlan's mode as keepalived writes it before the type (`L2 `, `L3 `, `L3S `); empty
    /// for a macvlan.
    pub ipvlan_mode: String,
    /// The type as keepalived names it: `private`, `vepa`, `bridge`, `passthru`, `source`.
    pub vlan_type: String,
    /// The lower interface's index (`IFLA_LINK`).
    pub base: u32,
    /// `IFLA_LINK_NETNSID`: the lower interface is in another network namespace.
    pub netns_id: Option<i32>,
}

/// Linux `IFF_*` flags that keepalived prints.
const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_POINTOPOINT: u32 = 0x10;
const IFF_RUNNING: u32 = 0x40;
const IFF_NOARP: u32 = 0x80;
const IFF_MULTICAST: u32 = 0x1000;

/// keepalived's weight for "the instance runs on the interface but does not track it"
/// (`VRRP_NOT_TRACK_IF`, vrrp_track.h).
const NOT_TRACKED: i32 = 255;

/// One entry of an interface's `Tracking VRRP instances` list.
struct Tracker<'a> {
    instance: &'a str,
    weight: i32,
    reverse: bool,
}

/// The interfaces' `Tracking VRRP instances` lists in keepalived's order, indexed by interface
/// and by (interface, instance) so that adding an entry does not scan the lists (a scan per
/// entry was quadratic in the instances on one interface).
#[derive(Default)]
struct Lists<'a> {
    list: Vec<(&'a str, Vec<Tracker<'a>>)>,
    by_interface: FastMap<&'a str, usize>,
    by_entry: FastMap<(&'a str, &'a str), usize>,
}

impl<'a> Lists<'a> {
    /// keepalived's `add_vrrp_to_interface`: an instance already on the interface keeps its
    /// entry; a weighted entry takes the new weight unless the new one is "not tracked".
    fn add(&mut self, iface: &'a str, t: Tracker<'a>) {
        let list = &mut self.list;
        let k = *self.by_interface.entry(iface).or_insert_with(|| {
            list.push((iface, Vec::new()));
            list.len() - 1
        });
        let entries = &mut list[k].1;
        match self.by_entry.get(&(iface, t.instance)) {
            Some(&j) => {
                if let Some(e) = entries.get_mut(j) {
                    if e.weight != 0 && t.weight != NOT_TRACKED {
                        e.weight = t.weight;
                        e.reverse = t.reverse;
                    }
                }
            }
            None => {
                self.by_entry.insert((iface, t.instance), entries.len());
                entries.push(t);
            }
        }
    }
}

/// The engine's weight for instance `c`'s tracker of interface `name` (the first entry, as
/// [`EngineConfig::from_conf`] builds them), `None` when the engine does not track it.
fn engine_weight(c: &InstanceConfig, name: &str) -> Option<(i32, bool)> {
    c.track
        .iter()
        .find(|t| matches!(&t.target, TrackTarget::Interface(n) if n == name))
        .map(|t| (t.weight, t.reverse))
}

/// Every interface's `Tracking VRRP instances`, in keepalived's order (see the module docs).
fn trackers<'a>(
    cfg: &'a Config,
    e: &'a EngineConfig,
    idx: &Trackers<'_>,
) -> Vec<(&'a str, Vec<Tracker<'a>>)> {
    let mut list = Lists::default();
    let pairs = || cfg.instances.iter().zip(&e.instances);
    for (k, (i, c)) in pairs().enumerate() {
        let (_, weights_ignored) = idx.own(k);
        for t in &i.track_interfaces {
            // keepalived: "Ignoring track_interface X since own interface".
            if t.name == c.interface {
                continue;
            }
            if let Some((w, reverse)) = engine_weight(c, &t.name) {
                let weight = if weights_ignored { 0 } else { w };
                list.add(
                    &t.name,
                    Tracker {
                        instance: &i.name,
                        weight,
                        reverse,
                    },
                );
            }
        }
        let own = if c.dont_track_primary { NOT_TRACKED } else { 0 };
        list.add(
            &c.interface,
            Tracker {
                instance: &i.name,
                weight: own,
                reverse: false,
            },
        );
        // Its addresses', routes' and rules' interfaces, unweighted.
        let n = c.track.len().saturating_sub(c.track_group_tracks);
        for t in &c.track[n.saturating_sub(c.implied_tracks)..n] {
            if let TrackTarget::Interface(name) = &t.target {
                let t = Tracker {
                    instance: &i.name,
                    weight: 0,
                    reverse: false,
                };
                list.add(name, t);
            }
        }
    }
    // The track_group entries the conversion appended, after the sync group's.
    for (i, c) in pairs() {
        let n = c.track.len();
        for t in &c.track[n.saturating_sub(c.track_group_tracks)..] {
            if let TrackTarget::Interface(name) = &t.target {
                list.add(
                    name,
                    Tracker {
                        instance: &i.name,
                        weight: 0,
                        reverse: false,
                    },
                );
            }
        }
    }
    // The first instance of each name, as a scan would find it.
    let mut by_name: FastMap<&str, &InstanceConfig> = FastMap::default();
    for (i, c) in pairs() {
        by_name.entry(i.name.as_str()).or_insert(c);
    }
    for g in &cfg.sync_groups {
        for t in &g.track_interfaces {
            for m in &g.members {
                let Some(&c) = by_name.get(m.as_str()) else {
                    continue;
                };
                if let Some((weight, reverse)) = engine_weight(c, &t.name) {
                    list.add(
                        &t.name,
                        Tracker {
                            instance: m,
                            weight,
                            reverse,
                        },
                    );
                }
            }
        }
    }
    list.list
}

/// The `(up, down)` debounce delays of interface `name` in microseconds, bounded by the
/// instances on it as keepalived's `check_debounce_timers` bounds them at start.
fn debounce(cfg: &Config, e: &EngineConfig, name: &str) -> (u128, u128) {
    let Some(d) = cfg
        .interface_delays
        .iter()
        .rev()
        .find(|d| d.interface == name)
    else {
        return (0, 0);
    };
    let (mut up, mut down) = (d.up.as_micros(), d.down.as_micros());
    for c in e.instances.iter().filter(|c| c.interface == name) {
        if c.down_timer_adverts <= 1 {
            up = 0;
            down = 0;
            continue;
        }
        let ai = c.advert_interval.as_micros();
        let limit = u128::from(c.down_timer_adverts - 1) * ai;
        for v in [&mut up, &mut down] {
            if *v >= limit {
                *v = limit.saturating_sub(ai / 256);
            }
        }
    }
    (up, down)
}

/// A hardware address as keepalived and iproute2 write it: C's `%02x:%02x:...`.
pub fn mac_text(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn up_running(flags: u32) -> String {
    format!(
        "{}UP, {}RUNNING",
        if flags & IFF_UP != 0 { "" } else { "not " },
        if flags & IFF_RUNNING != 0 { "" } else { "not " }
    )
}

/// keepalived 2.2.7 `dump_data_vrrp`'s "Interfaces" section (nothing when the runner knows no
/// interface).
// Long: keepalived's dump_if lines for one interface, in its order (a flat list).
pub(super) fn interfaces(
    w: &mut String,
    cfg: &Config,
    e: &EngineConfig,
    idx: &Trackers<'_>,
    env: &dyn DumpEnv,
) {
    let mut links = env.links();
    if links.is_empty() {
        return;
    }
    let vips: Vec<IpAddr> = cfg
        .instances
        .iter()
        .flat_map(|i| i.virtual_addresses.iter().chain(&i.excluded_addresses))
        .map(|v| v.address.addr)
        .collect();
    let gates = garp::groups(cfg);
    let tracking = trackers(cfg, e, idx);
    // With dynamic_interfaces keepalived keeps an entry for an interface the configuration
    // names that does not exist yet (vrrp_if.c if_get_by_ifname, IF_CREATE_IF_DYNAMIC): index
    // 0, printed "(deleted)", everything else zero, after the kernel's interfaces.
    if cfg.global.dynamic_interfaces {
        for (name, _) in &tracking {
            if !links.iter().any(|l| l.name == *name) {
                links.push(SystemLink {
                    name: (*name).to_string(),
                    ..SystemLink::default()
                });
            }
        }
    }
    line(w, "------< Interfaces >------");
    for l in &links {
        line(w, &format!(" Name = {}", l.name));
        let deleted = if l.index == 0 { " (deleted)" } else { "" };
        line(w, &format!("   index = {}{deleted}", l.index));
        let v4: Vec<&Ipv4Addr> = l
            .ipv4
            .iter()
            .filter(|a| !vips.contains(&IpAddr::V4(**a)))
            .collect();
        match v4.split_first() {
            Some((first, rest)) => {
                line(w, &format!("   IPv4 address = {first}"));
                if !rest.is_empty() {
                    line(w, "   Additional IPv4 addresses :");
                    for a in rest {
                        line(w, &format!("     {a}"));
                    }
                }
            }
            None => line(w, "   IPv4 address = (none)"),
        }
        let v6: Vec<&Ipv6Addr> = l
            .ipv6
            .iter()
            .filter(|a| !vips.contains(&IpAddr::V6(**a)))
            .collect();
        match v6.split_first() {
            Some((first, rest)) => {
                line(w, &format!("   IPv6 address = {first}"));
                if !rest.is_empty() {
                    line(w, "   Additional IPv6 addresses :");
                    for a in rest {
                        line(w, &format!("     {a}"));
                    }
                }
            }
            None => line(w, "   IPv6 address = (none)"),
        }
        // keepalived takes an all-zero hardware address (the loopback's) as none.
        if l.mac.iter().any(|b| *b != 0) {
            line(w, &format!("   MAC = {}", mac_text(&l.mac)));
            line(w, &format!("   MAC broadcast = {}", mac_text(&l.broadcast)));
        }
        let base = l
            .vlan
            .as_ref()
            .filter(|v| v.netns_id.is_none())
            .and_then(|v| links.iter().find(|b| b.index == v.base));
        let f = l.flags;
        let mut state = up_running(f);
        for (set, bit, text) in [
            (false, IFF_BROADCAST, ", no broadcast"),
            (true, IFF_LOOPBACK, ", loopback"),
            (true, IFF_POINTOPOINT, ", point to point"),
            (true, IFF_NOARP, ", no arp"),
            (false, IFF_MULTICAST, ", no multicast"),
        ] {
            if (f & bit != 0) == set {
                state.push_str(text);
            }
        }
        if base.is_some_and(|b| b.flags & IFF_UP == 0) {
            state.push_str(", master down");
        }
        line(w, &format!("   State = {state}"));
        let seen_up = u8::from(f & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING);
        line(w, &format!("   Seen up = {seen_up}"));
        let (up, down) = debounce(cfg, e, &l.name);
        line(w, &format!("   Up debounce timer = {up}us"));
        line(w, &format!("   Down debounce timer = {down}us"));
        if let Some(v) = &l.vlan {
            let kind = if v.ipvlan { "IPVLAN" } else { "VMAC" };
            let text = match (base, v.netns_id) {
                (Some(b), None) => format!(
                    "{kind} type {}{}, underlying interface = {}, state = {}",
                    v.ipvlan_mode,
                    v.vlan_type,
                    b.name,
                    up_running(b.flags)
                ),
                (_, Some(id)) if v.base != 0 => format!(
                    "{kind} type {}, underlying ifindex = {}, netns id = {id}",
                    v.vlan_type, v.base
                ),
                _ => format!(
                    "{kind} type {}, underlying interface in different namespace",
                    v.vlan_type
                ),
            };
            line(w, &format!("   {text}"));
        }
        if cfg.global.allow_if_changes && l.has_kind {
            line(w, "   Interface type/base can be changed");
        }
        line(w, &format!("   MTU = {}", l.mtu));
        // ARPHRD_LOOPBACK, ARPHRD_ETHER (keepalived logs INFINIBAND instead of writing it).
        match l.hw_type {
            772 => line(w, "   HW Type = LOOPBACK"),
            1 => line(w, "   HW Type = ETHERNET"),
            32 => {}
            t => line(w, &format!("   HW Type = UNKNOWN ({t})")),
        }
        // Vigil follows links through netlink events only (linkbeat_use_polling is noted).
        line(w, "   NIC netlink status update");
        if let Some(g) = gates
            .iter()
            .find(|g| g.interfaces.contains(&l.name.as_str()))
        {
            if let Some(d) = g.garp {
                line(
                    w,
                    &format!("   Gratuitous ARP interval {}ms", d.as_millis()),
                );
            }
            if let Some(d) = g.gna {
                line(w, &format!("   Gratuitous NA interval {}ms", d.as_millis()));
            }
            if g.number != 0 {
                line(
                    w,
                    &format!("   Gratuitous ARP aggregation group {}", g.number),
                );
            }
        }
        line(w, &format!("   Original arp_ignore {}", l.arp_ignore));
        line(w, &format!("   Original arp_filter {}", l.arp_filter));
        line(
            w,
            &format!("   Original promote_secondaries {}", l.promote_secondaries),
        );
        let promoting = if l.promote_secondaries == 0 {
            e.instances
                .iter()
                .filter(|c| c.promote_secondaries && c.interface == l.name)
                .count()
        } else {
            0
        };
        line(
            w,
            &format!("   Reset promote_secondaries counter {promoting}"),
        );
        if let Some((_, list)) = tracking.iter().find(|(n, _)| *n == l.name) {
            line(w, "   Tracking VRRP instances :");
            for t in list {
                line(
                    w,
                    &format!(
                        "     {}, weight {}{}",
                        t.instance,
                        t.weight,
                        if t.reverse { " reverse" } else { "" }
                    ),
                );
            }
        }
    }
}
