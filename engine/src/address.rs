//! The address types every part of Vigil shares: a virtual address and its scope.
//!
//! One definition, used as is by the keepalived.conf model ([`crate::conf`]), the engine's
//! configuration and actions ([`crate::setup`], [`crate::Action`]) and the runners (vigild's
//! netlink requests, the simulator). The parser fills a [`VirtualAddress`] once and nothing
//! translates it afterwards.
//!
//! What goes in [`VirtualAddress`]: what a router needs to hold the address (the address, its
//! prefix, `dev`, `brd`, `scope`, `label`) and `no_track`, which the engine reads (an address
//! that vanished takes its instance to FAULT unless set). What an address line says beyond that
//! (`peer`, the `ip addr` flags, `preferred_lft`, `track_group`, and the line's location) stays
//! in the configuration model, beside the address (`conf::AddressLine`, `conf::AddressOptions`):
//! the engine never sees it, and equality of two [`VirtualAddress`]es (the reload's diff of a
//! MASTER's addresses) is about the address the kernel holds, not about where it was written.
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
}

impl VirtualAddress {
    /// A plain address with the family's host prefix length and no attributes.
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
        }
    }
}
