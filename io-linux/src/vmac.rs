//! `use_vmac`: an instance that sends from the VRRP virtual MAC address (RFC 5798 section 7.3:
//! 00-00-5E-00-01-{VRID} for IPv4) through a macvlan interface, as keepalived does.
//!
//! keepalived's scheme, followed here:
//! - a macvlan in mode `private` on the instance's interface, named `vrrp.VRID` unless the
//!   configuration names it (`use_vmac NAME`) or global_defs' `vmac_prefix` replaces `vrrp`
//!   (a name already taken moves on as keepalived's does: [`vigil_engine::vmac_name`]), with
//!   the virtual MAC (or the configured one);
//! - the virtual addresses (and excluded ones) go on the macvlan, so ARP for them is answered
//!   with the virtual MAC, and gratuitous ARPs leave from it;
//! - adverts leave through the macvlan (source MAC the virtual MAC, source IP the parent's
//!   primary address) and are heard on it: a peer's advert carries the same virtual MAC as its
//!   source, and the kernel's macvlan driver hands such a frame to the local macvlan with that
//!   MAC only, never to the parent. The daemon feeds what the macvlan's socket hears (its VRID
//!   only) to the engine as received on the parent, where the instance runs, and skips the
//!   parent's copy of multicast adverts of that VRID (`vmac_xmit_base` sends and hears on the
//!   parent instead);
//! - sysctls (keepalived's `vrrp_if_config.c`): on the macvlan `arp_ignore=1` (do not answer for
//!   the parent's addresses), `accept_local=1` (hear a peer on the same host), `rp_filter=0`
//!   (receive on an interface without an address of its own), `promote_secondaries=1`; on the
//!   parent `arp_ignore=1` and `arp_filter=1` (the parent must not answer for the virtual
//!   addresses), put back as they were when the last macvlan on it goes; IPv6 off on the
//!   macvlan unless the instance has excluded IPv6 addresses, and then without a generated
//!   address (every router's macvlan has the same MAC, so nothing may leave from it on a
//!   backup); those addresses themselves go on the parent, as keepalived 2.2.7 puts an address
//!   of the other family (`vigil_engine::vmac_addr`).
//!
//! The macvlans of addresses (`use_vmac_addr`, an address's `use_vmac`) are made the same way
//! (keepalived's `netlink_link_add_vmac` for a stand-in instance of the address's family), with
//! no socket: adverts stay on the instance's interface.
//!
//! The macvlan is created at start-up, or when its parent appears (`dynamic_interfaces`); one
//! of that name on that parent (left by a run that did not stop) is kept, its MAC and mode set in
//! place, as keepalived keeps it; it is deleted on stop. An IPv6 instance's macvlan (00:00:5E:00:02:VRID) generates no address of its own
//! (`addr_gen_mode` none: the kernel's EUI-64 link-local would be the same on every router of
//! the group); it gets its parent's link-local address, the adverts' source, so that the kernel
//! sends from it there. The parent's ARP sysctls are IPv4 matters and left alone for it.

use std::collections::HashMap;
use std::io;

use tracing::{info, warn};
use vigil_engine::conf;
pub use vigil_engine::vmac_name::AddressVmac;
use vigil_engine::wire::ethernet::virtual_mac;
use vigil_engine::wire::Family;
use vigil_engine::EngineConfig;

/// keepalived's default macvlan name (without `vmac_prefix`, and when it is free:
/// [`vigil_engine::vmac_name`] has the whole rule).
pub fn default_name(vrid: u8) -> String {
    format!("vrrp.{vrid}")
}

/// A `use_vmac` MAC: six octets, or five followed by the VRID (keepalived.conf(5): "the MAC
/// address can be specified with only 5 octets, in which case the virtual_router_id will be
/// used as the last octet").
pub fn vmac_mac(s: &str, vrid: u8) -> Option<[u8; 6]> {
    if s.split(':').count() == 5 {
        return parse_mac(&format!("{s}:{vrid:02x}"));
    }
    parse_mac(s)
}

/// A MAC address written `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The MAC of `use_vmac [NAME] [MAC]` for VRID `vrid`: six octets as written, or five, "in
/// which case the virtual_router_id will be used as the last octet" (keepalived.conf(5)).
pub fn use_vmac_mac(s: &str, vrid: u8) -> Option<[u8; 6]> {
    if let Some(m) = parse_mac(s) {
        return Some(m);
    }
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut().take(5) {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    out[5] = vrid;
    parts.next().is_none().then_some(out)
}

/// One macvlan to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSpec {
    /// Its name.
    pub name: String,
    /// The parent interface.
    pub base: String,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// The instance's VRID (which adverts its socket hears).
    pub vrid: u8,
    /// The instance's address family.
    pub family: Family,
    /// `vmac_xmit_base`: adverts leave from the parent.
    pub xmit_base: bool,
}

/// The macvlans of a configuration: the instances' (`use_vmac`), by instance name.
pub type InstanceVmacs = HashMap<String, VmacSpec>;

/// The macvlans of a configuration (the instances', and those of addresses: `use_vmac_addr`,
/// an address's `use_vmac`), and notes for what is not supported. Names are chosen as
/// keepalived 2.2.7 chooses them ([`vigil_engine::vmac_name`]) against the interfaces of this
/// network namespace ([`SysNet`]).
pub fn plan(
    cfg: &conf::Config,
    engine: &EngineConfig,
) -> (InstanceVmacs, Vec<AddressVmac>, Vec<conf::Diagnostic>) {
    // The namespace's interfaces only matter for naming macvlans: a configuration without any
    // does not read /sys/class/net (a directory listing, a uevent file and more per interface:
    // a fifth of `vigild -t`'s system calls on a one-instance file).
    let wants_macvlans = cfg.instances.iter().any(|i| {
        i.use_vmac.is_some()
            || i.use_vmac_addr
            || i.virtual_addresses
                .iter()
                .chain(&i.excluded_addresses)
                .any(|a| a.options.use_vmac)
    });
    let net = if wants_macvlans {
        SysNet::read()
    } else {
        SysNet::default()
    };
    plan_in(cfg, engine, &net)
}

/// [`plan`] against the interfaces `net`.
fn plan_in(
    cfg: &conf::Config,
    engine: &EngineConfig,
    net: &SysNet,
) -> (InstanceVmacs, Vec<AddressVmac>, Vec<conf::Diagnostic>) {
    let mut notes = Vec::new();
    // Each use_vmac instance's parent and MAC first: an existing macvlan with both is the
    // instance's own (keepalived's "Found matching interface").
    let mut wanted: HashMap<&str, (&str, [u8; 6], u8, Family)> = HashMap::new();
    for i in &cfg.instances {
        let Some(v) = &i.use_vmac else { continue };
        let Some(e) = engine.instances.iter().find(|e| e.name == i.name) else {
            continue;
        };
        let mac = match &v.mac {
            None => virtual_mac(e.family, e.vrid),
            Some(m) => match vmac_mac(m, e.vrid) {
                Some(m) => m,
                None => {
                    notes.push(conf::Diagnostic::warning(
                        &i.loc,
                        format!(
                            "({}) use_vmac MAC '{m}' is not a MAC address: the virtual MAC is used",
                            i.name
                        ),
                    ));
                    virtual_mac(e.family, e.vrid)
                }
            },
        };
        wanted.insert(&i.name, (&e.interface, mac, e.vrid, e.family));
    }
    // keepalived: a configured name that an interface other than a macvlan or ipvlan has is
    // ignored ("already exists as a non VMAC interface. ignoring configured name"), and the
    // instance gets a name of its own; one a macvlan has is deleted and re-created.
    let mut ignored: Vec<&str> = Vec::new();
    for i in &cfg.instances {
        let Some(n) = i.use_vmac.as_ref().and_then(|v| v.name.as_deref()) else {
            continue;
        };
        if net.exists(n) && !net.stacked(n) && net.matching(wanted.get(i.name.as_str())).is_none() {
            notes.push(conf::Diagnostic::warning(
                &i.loc,
                format!(
                    "({}) VMAC interface name {n} already exists as a non VMAC interface: the configured name is ignored",
                    i.name
                ),
            ));
            ignored.push(&i.name);
        }
    }
    let renamed;
    let named_cfg = if ignored.is_empty() {
        cfg
    } else {
        let mut c = cfg.clone();
        for i in c.instances.iter_mut() {
            if ignored.contains(&i.name.as_str()) {
                if let Some(v) = i.use_vmac.as_mut() {
                    v.name = None;
                }
            }
        }
        renamed = c;
        &renamed
    };
    let planned = vigil_engine::vmac_name::plan(
        named_cfg,
        &|n| net.exists(n),
        &|inst| net.matching(wanted.get(inst)),
        &|base, mac| net.matching(Some(&(base, mac, 0, Family::V4))),
    );
    let names = &planned.instances;
    let mut out = HashMap::new();
    for i in &cfg.instances {
        let Some(&(base, mac, vrid, family)) = wanted.get(i.name.as_str()) else {
            continue;
        };
        out.insert(
            i.name.clone(),
            VmacSpec {
                name: names
                    .get(&i.name)
                    .cloned()
                    .unwrap_or_else(|| default_name(vrid)),
                base: base.to_string(),
                mac,
                vrid,
                family,
                xmit_base: i.vmac_xmit_base,
            },
        );
    }
    (out, planned.addresses, notes)
}

/// An existing interface as `/sys/class/net` shows it: its parent (a stacked device's
/// `lower_PARENT` link) and its MAC.
pub fn existing(name: &str) -> Option<(Option<String>, Option<[u8; 6]>)> {
    let dir = std::path::Path::new("/sys/class/net").join(name);
    let entries = std::fs::read_dir(&dir).ok()?;
    let parent = entries.flatten().find_map(|x| {
        x.file_name()
            .to_string_lossy()
            .strip_prefix("lower_")
            .map(str::to_string)
    });
    let mac = std::fs::read_to_string(dir.join("address"))
        .ok()
        .and_then(|a| parse_mac(a.trim()));
    Some((parent, mac))
}

/// The interfaces of this network namespace as `/sys/class/net` shows them: every name, and
/// for a stacked device (a `lower_PARENT` link) without a `DEVTYPE` in its uevent (a macvlan or
/// an ipvlan; a VLAN says `DEVTYPE=vlan`) its parent and MAC.
#[derive(Clone, Debug, Default)]
struct SysNet {
    /// Every interface name.
    names: std::collections::HashSet<String>,
    /// Macvlans and ipvlans: name, parent, MAC.
    stacked: Vec<(String, String, Option<[u8; 6]>)>,
}

impl SysNet {
    fn read() -> SysNet {
        let mut net = SysNet::default();
        let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
            return net;
        };
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let parent = std::fs::read_dir(e.path()).ok().and_then(|d| {
                d.flatten().find_map(|x| {
                    x.file_name()
                        .to_string_lossy()
                        .strip_prefix("lower_")
                        .map(str::to_string)
                })
            });
            let typed = std::fs::read_to_string(e.path().join("uevent"))
                .is_ok_and(|u| u.lines().any(|l| l.starts_with("DEVTYPE=")));
            if let (Some(parent), false) = (parent, typed) {
                let mac = std::fs::read_to_string(e.path().join("address"))
                    .ok()
                    .and_then(|a| parse_mac(a.trim()));
                net.stacked.push((name.clone(), parent, mac));
            }
            net.names.insert(name);
        }
        net
    }

    fn exists(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether `name` is a macvlan or an ipvlan.
    fn stacked(&self, name: &str) -> bool {
        self.stacked.iter().any(|(n, _, _)| n == name)
    }

    /// The existing stacked device on `parent` with `mac`: the instance's macvlan left by a
    /// run that did not stop (keepalived takes it over; it also asks for mode private, which
    /// sysfs does not show, but no second macvlan with that MAC could come up on that parent
    /// beside it: the kernel refuses a MAC another macvlan of the parent has).
    fn matching(&self, wanted: Option<&(&str, [u8; 6], u8, Family)>) -> Option<String> {
        let (parent, mac, _, _) = wanted?;
        self.stacked
            .iter()
            .find(|(_, p, m)| p == parent && m.as_ref() == Some(mac))
            .map(|(n, _, _)| n.clone())
    }
}

fn sysctl_path(iface: &str, param: &str) -> String {
    format!("/proc/sys/net/ipv4/conf/{iface}/{param}")
}

/// Read an IPv4 interface sysctl.
pub fn get_sysctl(iface: &str, param: &str) -> Option<u32> {
    std::fs::read_to_string(sysctl_path(iface, param))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Write an IPv4 interface sysctl.
pub fn set_sysctl(iface: &str, param: &str, value: u32) -> io::Result<()> {
    std::fs::write(sysctl_path(iface, param), format!("{value}\n"))
}

/// Turn IPv6 off on an interface (`net.ipv6.conf.IF.disable_ipv6`).
pub fn set_ipv6_disabled(iface: &str) -> io::Result<()> {
    std::fs::write(
        format!("/proc/sys/net/ipv6/conf/{iface}/disable_ipv6"),
        "1\n",
    )
}

/// No IPv6 address generated on an interface (`addr_gen_mode` 1: none) and no router
/// solicitation from it: an IPv6 instance's macvlan carries only the addresses the daemon puts
/// on it and sends nothing of its own from the shared virtual MAC but what joining groups
/// takes (MLD reports).
pub fn set_ipv6_no_generated_address(iface: &str) -> io::Result<()> {
    let conf = format!("/proc/sys/net/ipv6/conf/{iface}");
    std::fs::write(format!("{conf}/addr_gen_mode"), "1\n")?;
    std::fs::write(format!("{conf}/router_solicitations"), "0\n")
}

/// The sysctls of a macvlan (keepalived's values).
pub const VMAC_SYSCTLS: [(&str, u32); 4] = [
    ("arp_ignore", 1),
    ("accept_local", 1),
    ("rp_filter", 0),
    ("promote_secondaries", 1),
];

/// The sysctls of a macvlan's parent while it has macvlans.
pub const BASE_SYSCTLS: [(&str, u32); 2] = [("arp_ignore", 1), ("arp_filter", 1)];

/// Set the macvlan's sysctls; failures are logged.
pub fn configure_vmac(name: &str) {
    for (p, v) in VMAC_SYSCTLS {
        if let Err(e) = set_sysctl(name, p, v) {
            warn!("{name}: cannot set {p}={v}: {e}");
        }
    }
}

/// What a parent's sysctls were before the first macvlan, to put back after the last.
#[derive(Debug, Default)]
pub struct BaseSysctls {
    saved: HashMap<String, Vec<(&'static str, u32)>>,
}

impl BaseSysctls {
    /// A macvlan now exists on `base`: save and set its parent's sysctls (once).
    pub fn hold(&mut self, base: &str) {
        if self.saved.contains_key(base) {
            return;
        }
        let mut old = Vec::new();
        for (p, v) in BASE_SYSCTLS {
            if let Some(was) = get_sysctl(base, p) {
                old.push((p, was));
                if was != v {
                    match set_sysctl(base, p, v) {
                        Ok(()) => info!("{base}: {p} set to {v} (was {was}; use_vmac)"),
                        Err(e) => warn!("{base}: cannot set {p}={v}: {e}"),
                    }
                }
            }
        }
        self.saved.insert(base.to_string(), old);
    }

    /// No macvlan is left on `base`: put its sysctls back.
    pub fn release(&mut self, base: &str) {
        if let Some(old) = self.saved.remove(base) {
            for (p, v) in old {
                let _ = set_sysctl(base, p, v);
            }
        }
    }

    /// The parents held now.
    pub fn held(&self) -> Vec<String> {
        self.saved.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_macvlan_name_is_keepalived_s() {
        assert_eq!(default_name(7), "vrrp.7");
    }

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(parse_mac("00:00:5e:00:01:0a"), Some([0, 0, 0x5e, 0, 1, 10]));
        for bad in [
            "00:00:5e:00:01",
            "00:00:5e:00:01:0a:0b",
            "zz:00:5e:00:01:0a",
            "000:0:5e:0:1:a",
            "",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    /// keepalived.conf(5)'s five-octet form takes the VRID as the sixth octet (issue 15: the
    /// form was read as an interface name).
    #[test]
    fn a_five_octet_vmac_takes_the_vrid() {
        assert_eq!(vmac_mac("02:00:5e:00:01", 51), Some([2, 0, 0x5e, 0, 1, 51]));
        assert_eq!(
            vmac_mac("02:00:5e:00:01:07", 51),
            Some([2, 0, 0x5e, 0, 1, 7])
        );
        let cfg = vigil_engine::conf::parse_str(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac vrrp.A 02:00:5e:00:01\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        )
        .unwrap();
        let v = cfg.instances[0].use_vmac.as_ref().unwrap();
        assert_eq!(
            (v.name.as_deref(), v.mac.as_deref()),
            (Some("vrrp.A"), Some("02:00:5e:00:01"))
        );
    }

    #[test]
    fn the_plan_names_macvlans_with_the_family_s_mac() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
                    virtual_ipaddress { 192.0.2.100/24 }\n}\n\
                    vrrp_instance B {\n interface eth0\n virtual_router_id 52\n use_vmac vm52\n \
                    vmac_xmit_base\n virtual_ipaddress { 192.0.2.101/24 }\n}\n\
                    vrrp_instance C {\n interface eth0\n virtual_router_id 53\n use_vmac\n \
                    virtual_ipaddress { 2001:db8::1/64 }\n}\n\
                    vrrp_instance D {\n interface eth0\n virtual_router_id 54\n \
                    virtual_ipaddress { 192.0.2.102/24 }\n}\n";
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        let engine = EngineConfig::from_conf(&cfg).unwrap().engine;
        let (p, _, notes) = plan_in(&cfg, &engine, &SysNet::default());
        assert_eq!(p.len(), 3);
        assert_eq!(
            p["A"],
            VmacSpec {
                name: "vrrp.51".into(),
                base: "eth0".into(),
                mac: [0, 0, 0x5e, 0, 1, 51],
                vrid: 51,
                family: Family::V4,
                xmit_base: false
            }
        );
        assert_eq!(p["B"].name, "vm52");
        assert!(p["B"].xmit_base);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(p["C"].mac, [0, 0, 0x5e, 0, 2, 53]);
        assert_eq!(p["C"].family, Family::V6);
    }

    /// keepalived 2.2.7's choice against existing interfaces: any interface's name is taken (a
    /// macvlan of another daemon included: it moves on to the next name), a macvlan on the
    /// instance's interface with its MAC is taken over under its own name, and a configured
    /// name that a non-macvlan interface has is ignored with a warning.
    #[test]
    fn existing_interfaces_are_taken_as_keepalived_takes_them() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n \
                    virtual_ipaddress { 192.0.2.100/24 }\n}\n\
                    vrrp_instance B {\n interface eth0\n virtual_router_id 52\n use_vmac\n \
                    virtual_ipaddress { 192.0.2.101/24 }\n}\n\
                    vrrp_instance C {\n interface eth0\n virtual_router_id 53\n use_vmac eth1\n \
                    virtual_ipaddress { 192.0.2.102/24 }\n}\n";
        let cfg = conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        let engine = EngineConfig::from_conf(&cfg).unwrap().engine;
        let net = SysNet {
            names: ["eth0", "eth1", "vrrp.51", "vrrp.52", "old52"]
                .map(String::from)
                .into(),
            stacked: vec![
                // Another daemon's macvlan, on eth0 with another MAC.
                ("vrrp.51".into(), "eth0".into(), Some([2, 0, 0, 0, 0, 1])),
                // B's own, left by a run that did not stop, under another name; and a
                // macvlan named like B's default on another parent.
                ("old52".into(), "eth0".into(), Some([0, 0, 0x5e, 0, 1, 52])),
                (
                    "vrrp.52".into(),
                    "eth9".into(),
                    Some([0, 0, 0x5e, 0, 1, 52]),
                ),
            ],
        };
        let (p, _, notes) = plan_in(&cfg, &engine, &net);
        assert_eq!(p["A"].name, "vrrp1.51");
        assert_eq!(p["B"].name, "old52");
        assert_eq!(p["C"].name, "vrrp.53");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0]
            .message
            .contains("VMAC interface name eth1 already exists as a non VMAC interface"));
    }

    /// keepalived.conf(5) `use_vmac [<VMAC_INTERFACE_NAME>] [MAC_ADDRESS]`: "The MAC address
    /// can be specified with only 5 octets, in which case the virtual_router_id will be used as
    /// the last octet."
    #[test]
    fn use_vmac_mac_with_five_octets_takes_the_vrid_as_the_last() {
        assert_eq!(
            use_vmac_mac("02:00:5e:00:01", 51),
            Some([0x02, 0x00, 0x5e, 0x00, 0x01, 51])
        );
        assert_eq!(
            use_vmac_mac("02:00:5e:00:01:07", 51),
            Some([0x02, 0x00, 0x5e, 0x00, 0x01, 0x07])
        );
        assert_eq!(use_vmac_mac("02:00:5e:00", 51), None);
        assert_eq!(use_vmac_mac("02:00:5e:00:01:07:08", 51), None);
        assert_eq!(use_vmac_mac("zz:00:5e:00:01", 51), None);
    }
}
