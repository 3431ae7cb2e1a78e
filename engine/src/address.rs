//! The address types every part of Vigil shares: a virtual address and its scope.
//!
//! One definition, used as is by the keepalived.conf model ([`crate::conf`]), the engine's
//! configuration and actions ([`crate::setup`], [`crate::Action`]) and the runners (vigild's
//! netlink requests, the simulator). The parser fills a [`VirtualAddress`] once and nothing
//! translates it afterwards.
//!
//! What goes in [`VirtualAddress`]: everything the kernel is asked to hold the address with
//! (the address, its prefix, `dev`, `brd`, `scope`, `label`, `peer`, the `ip addr` flags and the
//! IPv6 preferred lifetime, as keepalived's `netlink_ipaddress` sends them) and `no_track`, which
//! the engine reads (an address that vanished takes its instance to FAULT unless set). What an
//! address line says only for the configuration's bookkeeping (`track_group`, refused, and the
//! line's location) stays in the configuration model, beside the address (`conf::AddressLine`,
//! `conf::AddressOptions`): the engine never sees it, and equality of two [`VirtualAddress`]es
//! (the reload's diff of a MASTER's addresses) is about the address the kernel holds (a new
//! peer, flag or lifetime is a change), not about where it was written.
//!
//! This module depends on nothing else of the crate, so the configuration model can use it
//! without depending on the engine (the one-way rule of `conf`: conf -> shared types, never
//! engine internals).

use std::net::{IpAddr, Ipv4Addr};

/// Address scope (`scope` on an address or a route; `ip-address(8)`, the kernel's `RT_SCOPE_*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `global` (0), the default.
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// A numeric scope.
    Number(u8),
}

impl Scope {
    /// The kernel's number for the scope (`RT_SCOPE_UNIVERSE` 0 ... `RT_SCOPE_NOWHERE` 255),
    /// the value a netlink request carries.
    pub fn number(&self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Number(n) => *n,
        }
    }
}

/// A virtual address (VIP), or an excluded or static one, with the attributes the kernel holds
/// it with: `ADDR[/LEN] [brd X] [dev IF] [scope S] [label L] [no_track]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (keepalived's default: 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// `brd`: IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `dev`: the interface to add it on, when not the instance's interface.
    pub dev: Option<String>,
    /// `scope` (default global).
    pub scope: Scope,
    /// `label`: an IPv4 address label (`eth0:1`; `realdev:text` for ifconfig compatibility).
    pub label: Option<String>,
    /// `no_track`: its removal by someone else is ignored (no deletion tracking).
    pub no_track: bool,
    /// `peer`: the other end of a point-to-point address (the kernel's IFA_ADDRESS, with
    /// IFA_LOCAL the address itself); [`VirtualAddress::prefix_len`] applies to the peer (a
    /// keepalived.conf line gives 32 / 128).
    pub peer: Option<IpAddr>,
    /// The address flags the line asks for (`home`, `-nodad`, `mngtmpaddr`, `noprefixroute`,
    /// `autojoin`).
    pub flags: AddrFlags,
    /// IPv6 preferred lifetime in seconds (IFA_CACHEINFO; the valid lifetime stays infinite):
    /// 0 marks the address deprecated, so that the host does not pick it as a source address
    /// (RFC 6724); [`LIFETIME_FOREVER`] sends no lifetime. The parser resolves keepalived's
    /// default when the line does not say (vrrp_ipaddress.c, alloc_ipaddress): 0 for an IPv6
    /// /128, forever otherwise. Not used for IPv4 (keepalived ignores it): forever there.
    pub preferred_lft: u32,
    /// On a macvlan of its own over `dev` (keepalived's `use_vmac_addr` and an address's
    /// `use_vmac`, resolved by [`crate::vmac_addr`]; the parser leaves it `false`): MAC
    /// 00:00:5E:00:01:VRID (IPv4) or 00:00:5E:00:02:VRID (IPv6), or the instance's `use_vmac`
    /// MAC.
    pub vmac: bool,
}

/// The kernel's infinite address lifetime (`INFINITY_LIFE_TIME`, `preferred_lft forever`).
pub const LIFETIME_FOREVER: u32 = u32::MAX;

/// Address flags of a `virtual_ipaddress` line (keepalived.conf(5), `ip-address(8)`), set in
/// the kernel's IFA_FLAGS when the address is added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddrFlags {
    /// `home`: a Mobile IPv6 home address (IFA_F_HOMEADDRESS).
    pub home: bool,
    /// `-nodad`: keep duplicate address detection on an IPv6 address. Without it an IPv6
    /// virtual address is added with IFA_F_NODAD, as keepalived does, so that it is usable at
    /// once after a takeover.
    pub dad: bool,
    /// `mngtmpaddr`: the kernel manages temporary (privacy) addresses from this prefix
    /// (IFA_F_MANAGETEMPADDR).
    pub mngtmpaddr: bool,
    /// `noprefixroute`: the kernel adds no route for the address's prefix
    /// (IFA_F_NOPREFIXROUTE).
    pub noprefixroute: bool,
    /// `autojoin`: for a multicast address, the kernel joins the group (IFA_F_MCAUTOJOIN).
    pub autojoin: bool,
}

impl VirtualAddress {
    /// A plain address with the family's host prefix length and no attributes (preferred
    /// forever: the caller that builds an IPv6 /128 from a keepalived.conf line applies
    /// keepalived's default, [`VirtualAddress::keepalived_preferred_lft`]).
    pub fn new(addr: IpAddr) -> Self {
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        VirtualAddress {
            addr,
            prefix_len,
            broadcast: None,
            dev: None,
            scope: Scope::Global,
            label: None,
            no_track: false,
            peer: None,
            flags: AddrFlags::default(),
            preferred_lft: LIFETIME_FOREVER,
            vmac: false,
        }
    }

    /// keepalived's preferred lifetime of an address whose line says `preferred_lft N`
    /// (`Some(N)`, `forever` being u32::MAX) or nothing (`None`), as vrrp_ipaddress.c's
    /// alloc_ipaddress: as written for IPv6;
    /// when not written, 0 (deprecated) for an IPv6 /128 and forever for a wider IPv6 prefix;
    /// IPv4 addresses get none ([`LIFETIME_FOREVER`]).
    pub(crate) fn keepalived_preferred_lft(&self, written: Option<u32>) -> u32 {
        match (self.addr, written) {
            (IpAddr::V4(_), _) => LIFETIME_FOREVER,
            (IpAddr::V6(_), Some(n)) => n,
            (IpAddr::V6(_), None) if self.prefix_len == 128 => 0,
            (IpAddr::V6(_), None) => LIFETIME_FOREVER,
        }
    }
}
