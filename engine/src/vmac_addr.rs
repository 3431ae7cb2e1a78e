//! Where a virtual or excluded address goes, as keepalived 2.2.7 decides it
//! (`vrrp.c`, `vrrp_complete_instance`, the loop over the VIPs and eVIPs), with the two
//! settings that give an address a macvlan of its own (keepalived.conf(5)):
//!
//! - `use_vmac_addr` (instance): "create VMAC (macvlan) interfaces for each interface that is
//!   used by a VIP or eVIP where the interface is not the same as the interface on which the
//!   VRRP instance is configured or the eVIP's address family does not match the VRRP
//!   instance's";
//! - `use_vmac` after an address (`192.0.2.7/24 dev eth1 use_vmac`): that address alone.
//!
//! keepalived's rule, followed exactly (`same interface` is: no `dev`, or `dev` naming the
//! instance's `interface`):
//!
//! | the address                          | goes on                                           |
//! |--------------------------------------|---------------------------------------------------|
//! | same interface, instance `use_vmac`, same family | the instance's macvlan                |
//! | same interface, other family, `use_vmac_addr` or its `use_vmac` | a macvlan on the interface |
//! | same interface, its `use_vmac` (no instance `use_vmac`) | a macvlan on the interface     |
//! | same interface otherwise             | the interface (the base, even with `use_vmac`)     |
//! | another `dev`, `use_vmac_addr` or its `use_vmac` | a macvlan on that `dev`               |
//! | another `dev` otherwise              | that `dev`                                        |
//!
//! Two combinations are keepalived configuration errors (`report_config_error`, so
//! `keepalived -t` fails), refused here at the address: an address `use_vmac` where the
//! instance's own macvlan already applies, and an address `use_vmac` where `use_vmac_addr`
//! already applies.
//!
//! The macvlan ([`crate::vmac_name`] names it) is keepalived's `netlink_link_add_vmac` for a
//! stand-in instance with the address's family: mode private, on the interface, MAC
//! 00:00:5E:00:01:VRID for IPv4 and 00:00:5E:00:02:VRID for IPv6 (RFC 5798 section 7.3), or
//! the instance's `use_vmac` MAC when one is written. One macvlan serves every address of the
//! same interface and MAC (keepalived's `if_get_by_vmac` finds the one it made first).

//!
//! The link an instance follows for such an address is the macvlan's, not its parent's
//! ([`follow_macvlans`]); a `use_vmac` instance follows its own macvlan's too
//! ([`follow_instance_macvlans`]).

use crate::address::VirtualAddress;
use crate::from_conf::{track_unweighted, Followed};
use crate::setup::EngineConfig;
use crate::vmac_name::AddressVmac;
use crate::wire::Family;

/// Where an address goes. The interface's name is borrowed from the instance or the address
/// (`place` runs three times for every address of every instance: a copy of the name each
/// time was 9,000 allocations of `vigild -t` on 1,000 instances).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement<'a> {
    /// On this interface as it is (the instance's interface, or another `dev`).
    Interface(&'a str),
    /// On the instance's own `use_vmac` macvlan.
    InstanceVmac,
    /// On a macvlan of its own on this interface.
    AddressVmac(&'a str),
}

/// What an instance says about macvlans, for [`place`].
#[derive(Clone, Copy, Debug)]
pub struct VmacSettings<'a> {
    /// The instance's `interface` (or `default_interface`).
    pub interface: &'a str,
    /// The instance's address family.
    pub family: Family,
    /// The instance's `use_vmac`.
    pub instance_vmac: bool,
    /// The instance's `use_vmac_addr`.
    pub use_vmac_addr: bool,
}

/// Where keepalived 2.2.7 puts address `a` (`use_vmac`: written after it) of an instance with
/// settings `s`; `Err` with keepalived's message for its two configuration errors.
pub fn place<'a>(
    s: &VmacSettings<'a>,
    a: &'a VirtualAddress,
    use_vmac: bool,
) -> Result<Placement<'a>, String> {
    let same_if = a.dev.as_deref().is_none_or(|d| d == s.interface);
    let same_family = Family::of(&a.addr) == s.family;
    if use_vmac {
        if same_if && s.instance_vmac && same_family {
            return Err(format!(
                "use_vmac specified for VIP/eVIP {} and for the instance: the address goes on the instance's macvlan; remove one",
                a.addr
            ));
        }
        if (!same_if || !same_family) && s.use_vmac_addr {
            return Err(format!(
                "use_vmac_addr specified and use_vmac specified for VIP/eVIP {}: remove one",
                a.addr
            ));
        }
    }
    Ok(if same_if {
        if s.instance_vmac && same_family {
            Placement::InstanceVmac
        } else if use_vmac || (s.use_vmac_addr && !same_family) {
            Placement::AddressVmac(s.interface)
        } else {
            Placement::Interface(s.interface)
        }
    } else {
        let dev = a.dev.as_deref().unwrap_or_default();
        if use_vmac || s.use_vmac_addr {
            Placement::AddressVmac(dev)
        } else {
            Placement::Interface(dev)
        }
    })
}

/// Whether [`place`] can put an address (`use_vmac`: written after it) of an instance with
/// settings `s` on a macvlan of its own: only when one of the two asks for it. The callers
/// that look only for such addresses (the macvlan plan, the implied trackers) skip the others
/// without placing them: no instance of most configurations has either.
pub fn may_have_own_vmac(s: &VmacSettings<'_>, use_vmac: bool) -> bool {
    use_vmac || s.use_vmac_addr
}

/// `a` as the engine and the runner take it once placed: `dev` is the interface it goes on
/// (`None`: the instance's interface, or its `use_vmac` macvlan), [`VirtualAddress::vmac`] set
/// when it is on a macvlan of its own over `dev`. An address on the instance's interface keeps
/// `dev` as written unless the instance has a macvlan, which it must then not go on.
pub fn placed(mut a: VirtualAddress, p: &Placement<'_>, s: &VmacSettings<'_>) -> VirtualAddress {
    match *p {
        Placement::InstanceVmac => a.dev = None,
        Placement::Interface(d) => {
            if s.instance_vmac {
                a.dev = Some(d.to_string());
            }
        }
        Placement::AddressVmac(d) => {
            a.dev = Some(d.to_string());
            a.vmac = true;
        }
    }
    a
}

/// keepalived 2.2.7 (vrrp.c, `vrrp_complete_instance`): an address on a macvlan of its own
/// makes the instance follow that macvlan's link, unweighted
/// (`add_vrrp_to_interface(vrrp, ifp, 0, ..., TRACK_ADDR)`, `ifp` the macvlan), unless the
/// address is `no_track`; its parent's link is not followed for it (the kernel gives a macvlan
/// its lower interface's carrier, so the parent going down takes the macvlan down with it). So
/// an operator setting the macvlan down puts the instance in FAULT (vrrp_track.c
/// `down_instance`) and setting it up brings it back (`try_up_instance`), as for any tracked
/// interface. Each instance of `engine` gets an unweighted interface tracker for every macvlan
/// of `vmacs` (the runner's plan: [`crate::vmac_name::plan`] names them) that carries one of
/// its tracked addresses, among the implied trackers ([`crate::InstanceConfig::implied_tracks`],
/// before the `track_group` ones); a `track_interface` entry for it becomes unweighted, as
/// `add_vrrp_to_interface` makes it. [`crate::EngineConfig::from_conf`] leaves these addresses
/// out of the implied trackers, since the names are the runner's to plan.
pub fn follow_macvlans(engine: &mut EngineConfig, vmacs: &[AddressVmac]) {
    for c in &mut engine.instances {
        let names: Vec<String> = c
            .virtual_addresses
            .iter()
            .chain(&c.excluded_addresses)
            .filter(|a| a.vmac && !a.no_track)
            .filter_map(|a| {
                let dev = a.dev.as_deref()?;
                let family = Family::of(&a.addr);
                vmacs.iter().find(|m| m.carries(&c.name, dev, family))
            })
            .map(|m| m.name.clone())
            .collect();
        for name in &names {
            follow(c, name);
        }
    }
}

/// keepalived 2.2.7 (vrrp.c, `vrrp_complete_instance`: "Add this instance to the vmac
/// interface", `add_vrrp_to_interface(vrrp, vrrp->ifp, ..., TRACK_VRRP)`): a `use_vmac`
/// instance follows its own macvlan's link as well as its interface's, unweighted, unless
/// `dont_track_primary` (then neither): an operator setting the macvlan down puts it in FAULT.
/// `names` is the runner's plan: (instance, its macvlan's name).
pub fn follow_instance_macvlans<'a>(
    engine: &mut EngineConfig,
    names: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (instance, name) in names {
        if let Some(c) = engine
            .instances
            .iter_mut()
            .find(|c| c.name == instance && !c.dont_track_primary)
        {
            follow(c, name);
        }
    }
}

/// Follow interface `name`'s link unweighted among `c`'s implied trackers (before the
/// `track_group` ones); an entry already there becomes unweighted (`add_vrrp_to_interface`).
fn follow(c: &mut crate::InstanceConfig, name: &str) {
    let at = c.track.len().saturating_sub(c.track_group_tracks);
    if track_unweighted(&mut c.track, name, at) == Followed::Added {
        c.implied_tracks += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{Track, TrackTarget};

    fn addr(text: &str, dev: Option<&str>) -> VirtualAddress {
        let mut a = VirtualAddress::new(text.parse().expect("an address"));
        a.dev = dev.map(str::to_string);
        a
    }

    fn s(instance_vmac: bool, use_vmac_addr: bool) -> VmacSettings<'static> {
        VmacSettings {
            interface: "eth0",
            family: Family::V4,
            instance_vmac,
            use_vmac_addr,
        }
    }

    fn on(d: &str) -> Placement<'_> {
        Placement::Interface(d)
    }

    fn vm(d: &str) -> Placement<'_> {
        Placement::AddressVmac(d)
    }

    /// Every row of keepalived 2.2.7's rule (vrrp_complete_instance).
    #[test]
    fn addresses_go_where_keepalived_puts_them() {
        let v4 = |d| addr("192.0.2.1", d);
        let v6 = |d| addr("2001:db8::1", d);
        let cases: Vec<(VmacSettings<'_>, VirtualAddress, bool, Placement<'_>)> = vec![
            // Nothing asked: the interface, or the dev.
            (s(false, false), v4(None), false, on("eth0")),
            (s(false, false), v4(Some("eth0")), false, on("eth0")),
            (s(false, false), v4(Some("eth1")), false, on("eth1")),
            (s(false, false), v6(None), false, on("eth0")),
            // The instance's use_vmac: its macvlan for its family on its interface only.
            (s(true, false), v4(None), false, Placement::InstanceVmac),
            (
                s(true, false),
                v4(Some("eth0")),
                false,
                Placement::InstanceVmac,
            ),
            (s(true, false), v6(None), false, on("eth0")),
            (s(true, false), v4(Some("eth1")), false, on("eth1")),
            // use_vmac_addr: another dev or the other family.
            (s(false, true), v4(None), false, on("eth0")),
            (s(false, true), v4(Some("eth1")), false, vm("eth1")),
            (s(false, true), v6(None), false, vm("eth0")),
            (s(false, true), v6(Some("eth2")), false, vm("eth2")),
            (s(true, true), v4(None), false, Placement::InstanceVmac),
            (s(true, true), v6(Some("eth0")), false, vm("eth0")),
            // An address's use_vmac.
            (s(false, false), v4(None), true, vm("eth0")),
            (s(false, false), v4(Some("eth1")), true, vm("eth1")),
            (s(false, false), v6(None), true, vm("eth0")),
            (s(true, false), v6(None), true, vm("eth0")),
            (s(true, false), v4(Some("eth1")), true, vm("eth1")),
            (s(false, true), v4(None), true, vm("eth0")),
        ];
        for (st, a, use_vmac, want) in cases {
            assert_eq!(
                place(&st, &a, use_vmac),
                Ok(want),
                "{st:?} {a:?} use_vmac={use_vmac}"
            );
            if matches!(want, Placement::AddressVmac(_)) {
                assert!(may_have_own_vmac(&st, use_vmac), "{st:?} {a:?}");
            }
        }
        // Nothing asked: never a macvlan of the address's own, on any interface or family.
        for st in [s(false, false), s(true, false)] {
            assert!(!may_have_own_vmac(&st, false));
            for d in [None, Some("eth0"), Some("eth1")] {
                for a in [v4(d), v6(d)] {
                    assert!(!matches!(
                        place(&st, &a, false),
                        Ok(Placement::AddressVmac(_))
                    ));
                }
            }
        }
    }

    /// keepalived's two configuration errors.
    #[test]
    fn a_use_vmac_that_another_setting_already_gives_is_an_error() {
        let e = place(&s(true, false), &addr("192.0.2.1", None), true).unwrap_err();
        assert!(
            e.contains("use_vmac specified for VIP/eVIP 192.0.2.1"),
            "{e}"
        );
        let e = place(&s(false, true), &addr("192.0.2.1", Some("eth1")), true).unwrap_err();
        assert!(e.contains("use_vmac_addr specified and use_vmac"), "{e}");
        let e = place(&s(false, true), &addr("2001:db8::1", None), true).unwrap_err();
        assert!(e.contains("use_vmac_addr specified and use_vmac"), "{e}");
    }

    #[test]
    fn a_placed_address_names_its_interface() {
        let a = placed(addr("192.0.2.1", None), &vm("eth1"), &s(false, true));
        assert_eq!((a.dev.as_deref(), a.vmac), (Some("eth1"), true));
        let a = placed(
            addr("192.0.2.1", Some("eth0")),
            &Placement::InstanceVmac,
            &s(true, false),
        );
        assert_eq!((a.dev.as_deref(), a.vmac), (None, false));
        // The other family beside the instance's macvlan: on the base, said explicitly.
        let a = placed(addr("2001:db8::1", None), &on("eth0"), &s(true, false));
        assert_eq!((a.dev.as_deref(), a.vmac), (Some("eth0"), false));
        // Nothing about macvlans: as written.
        let a = placed(addr("192.0.2.1", None), &on("eth0"), &s(false, false));
        assert_eq!((a.dev.as_deref(), a.vmac), (None, false));
    }

    /// keepalived 2.2.7 (vrrp.c `vrrp_complete_instance`, TRACK_ADDR on the macvlan): an
    /// instance follows the links of its addresses' own macvlans, unweighted, not their
    /// parents'; a `no_track` address's macvlan is not followed; a plain `dev` still is.
    #[test]
    fn an_instance_follows_its_addresses_macvlans_not_their_parents() {
        let cfg = ok(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n \
             virtual_ipaddress {\n  192.0.2.1/24\n  198.51.100.1/24 dev eth1 use_vmac\n  \
             203.0.113.1/24 dev eth2\n  192.0.2.2/24 use_vmac\n  \
             198.51.100.2/24 dev eth3 use_vmac no_track\n }\n}\n",
        );
        let mut e = crate::EngineConfig::from_conf(&cfg)
            .unwrap_or_else(|e| panic!("{e}"))
            .engine;
        let followed = |e: &EngineConfig| -> Vec<(String, i32)> {
            e.instances[0]
                .track
                .iter()
                .filter_map(|t| match &t.target {
                    TrackTarget::Interface(n) => Some((n.clone(), t.weight)),
                    _ => None,
                })
                .collect()
        };
        // The conversion: the plain `dev` only (the macvlans are not named yet).
        assert_eq!(followed(&e), [("eth2".to_string(), 0)]);
        let plan = crate::vmac_name::plan(&cfg, &|_| false, &|_| None, &|_, _| None);
        let names: Vec<(&str, &str)> = plan
            .addresses
            .iter()
            .map(|a| (a.name.as_str(), a.base.as_str()))
            .collect();
        assert_eq!(
            names,
            [("vrrp.7", "eth1"), ("vrrp1.7", "eth0"), ("vrrp2.7", "eth3")]
        );
        follow_macvlans(&mut e, &plan.addresses);
        assert_eq!(
            followed(&e),
            [
                ("eth2".to_string(), 0),
                ("vrrp.7".to_string(), 0),
                ("vrrp1.7".to_string(), 0)
            ]
        );
        assert_eq!(e.instances[0].implied_tracks, 3);
        // Twice is once (a reload plans again from a fresh conversion; this guards the merge).
        follow_macvlans(&mut e, &plan.addresses);
        assert_eq!(e.instances[0].implied_tracks, 3);
    }

    /// keepalived 2.2.7 (TRACK_VRRP on `vrrp->ifp`): a `use_vmac` instance follows its own
    /// macvlan, unless `dont_track_primary`.
    #[test]
    fn a_use_vmac_instance_follows_its_own_macvlan() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n use_vmac\n \
                    virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n\
                    vrrp_instance B {\n interface eth0\n virtual_router_id 8\n use_vmac\n \
                    dont_track_primary\n virtual_ipaddress {\n  192.0.2.2/24\n }\n}\n";
        let mut e = crate::EngineConfig::from_conf(&ok(text))
            .unwrap_or_else(|e| panic!("{e}"))
            .engine;
        follow_instance_macvlans(&mut e, [("A", "vrrp.7"), ("B", "vrrp.8")]);
        let a = &e.instances[0];
        assert_eq!(
            a.track,
            [Track {
                target: TrackTarget::Interface("vrrp.7".into()),
                weight: 0,
                reverse: false
            }]
        );
        assert_eq!(a.implied_tracks, 1);
        assert!(e.instances[1].track.is_empty());
    }

    fn ok(src: &str) -> crate::conf::Config {
        crate::conf::parse_str(src).unwrap_or_else(|e| panic!("{e}"))
    }

    fn errs(src: &str) -> Vec<String> {
        match crate::conf::parse_str(src) {
            Ok(c) => panic!("expected errors, got a config with {:?}", c.warnings),
            Err(e) => e.errors().map(|d| d.to_string()).collect(),
        }
    }

    const BASIC: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";

    /// keepalived.conf(5) `use_vmac_addr`, an address's `use_vmac`, `vmac_addr_prefix` and
    /// `dynamic_interfaces [allow_if_changes]` are read; what keepalived 2.2.7 reports as
    /// configuration errors is refused at its line.
    #[test]
    fn the_settings_are_read() {
        let c =
            ok(&format!(
            "global_defs {{\n vmac_addr_prefix va\n dynamic_interfaces allow_if_changes\n}}\n{}",
            BASIC
                .replace("interface eth0", "interface eth0\n use_vmac_addr")
                .replace("192.0.2.1/24", "192.0.2.1/24\n 198.51.100.1/24 dev eth1 use_vmac")
        ));
        assert_eq!(c.global.vmac_addr_prefix.as_deref(), Some("va"));
        assert!(c.global.dynamic_interfaces && c.global.allow_if_changes);
        let i = &c.instances[0];
        assert!(i.use_vmac_addr);
        assert!(
            !i.virtual_addresses[0].options.use_vmac && i.virtual_addresses[1].options.use_vmac
        );
        let c = ok("global_defs {\n dynamic_interfaces\n}\n");
        assert!(c.global.dynamic_interfaces && !c.global.allow_if_changes);
        let e = errs("global_defs {\n dynamic_interfaces sometimes\n}\n");
        assert!(
            e[0].contains("Unknown dynamic_interfaces option 'sometimes'"),
            "{e:?}"
        );
        let e = errs("global_defs {\n vmac_addr_prefix a\n vmac_addr_prefix b\n}\n");
        assert!(
            e[0].contains("vmac_addr_prefix: already specified"),
            "{e:?}"
        );
        let e = errs("static_ipaddress {\n 192.0.2.9/24 dev eth0 use_vmac\n}\n");
        assert!(
            e[0].contains("use_vmac is not an option of a static_ipaddress line"),
            "{e:?}"
        );
    }
}
