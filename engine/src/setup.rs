//! What the engine runs: virtual router instances as the engine sees them.
//!
//! This is the engine's own, already-validated form of a configuration. The keepalived.conf
//! parser ([`crate::conf`]) produces it from operators' files; the simulator and tests may build
//! it directly. Interface names stay names: the runner resolves them and reports link state and
//! primary addresses as inputs.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::wire::{Auth, ChecksumPolicy, Family, Version};

/// The address owner's priority (RFC 5798 section 5.2.4): it owns the virtual addresses and goes
/// straight to MASTER.
pub const OWNER_PRIORITY: u8 = 255;
/// keepalived's default priority (RFC 5798 section 5.2.4: 100 for a backup).
pub const DEFAULT_PRIORITY: u8 = 100;

/// A virtual address (VIP) with the attributes keepalived's `virtual_ipaddress` accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (keepalived's default: 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// `dev`: the interface to add it on, when not the instance's interface.
    pub dev: Option<String>,
    /// `brd`: IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `scope` (global, site, link, host, or a number).
    pub scope: Option<String>,
    /// `label`: an IPv4 address label (`eth0:1`).
    pub label: Option<String>,
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
            dev: None,
            broadcast: None,
            scope: None,
            label: None,
        }
    }
}

/// One virtual router instance (keepalived's `vrrp_instance`).
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceConfig {
    /// The instance's name (keepalived's `vrrp_instance NAME`), used in notifications and logs.
    pub name: String,
    /// The interface adverts are sent and received on.
    pub interface: String,
    /// Address family of the instance (one per instance, like keepalived).
    pub family: Family,
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Protocol version (IPv6 implies v3).
    pub version: Version,
    /// Configured priority, 1..=255; 255 makes this router the address owner.
    pub priority: u8,
    /// Advertisement_Interval: whole seconds for v2, a multiple of 10 ms (1..=4095 cs) for v3.
    pub advert_interval: Duration,
    /// Preempt_Mode (RFC 5798 section 6.1); keepalived's `nopreempt` clears it.
    pub preempt: bool,
    /// keepalived's `preempt_delay`: how long after start-up, or after first hearing a lower
    /// priority master, this router waits before preempting it.
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 5798 section 6.1): carried for the runner (whether a non-owner master
    /// accepts packets addressed to the virtual addresses); the protocol does not depend on it.
    pub accept: bool,
    /// The virtual addresses, advertised in this order.
    pub virtual_addresses: Vec<VirtualAddress>,
    /// VRRPv2 authentication (type 0 or 1); must be [`Auth::None`] for v3.
    pub auth: Auth,
    /// Unicast peers: when non-empty adverts go to each peer instead of the multicast group.
    pub unicast_peers: Vec<IpAddr>,
    /// Source address of adverts (`unicast_src_ip` / `mcast_src_ip`); by default the
    /// interface's primary address (IPv4) or link-local address (IPv6), reported by the runner.
    pub source: Option<IpAddr>,
    /// Which checksum forms are accepted, and which is sent (see [`ChecksumPolicy`]).
    pub checksum_policy: ChecksumPolicy,
    /// RFC 9568: a master that hears a lower priority advertises at once. keepalived's
    /// `lower_prio_no_advert` turns it off.
    pub advert_on_lower_priority: bool,
    /// RFC 5798 section 7.1, step 6: check that an advert's address list matches ours (count a
    /// mismatch, and drop it unless the sender is the owner). keepalived's `skip_check_adv_addr`
    /// turns the check off.
    pub check_address_list: bool,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults: priority 100, 1 s adverts, preemption on, no
    /// authentication, multicast, RFC checksums.
    pub fn new(name: &str, interface: &str, vrid: u8, version: Version, family: Family) -> Self {
        InstanceConfig {
            name: name.to_string(),
            interface: interface.to_string(),
            family,
            vrid,
            version,
            priority: DEFAULT_PRIORITY,
            advert_interval: Duration::from_secs(1),
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: false,
            virtual_addresses: Vec::new(),
            auth: Auth::None,
            unicast_peers: Vec::new(),
            source: None,
            checksum_policy: ChecksumPolicy::Rfc,
            advert_on_lower_priority: true,
            check_address_list: true,
        }
    }

    /// Builder: set the priority.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Builder: set the advertisement interval.
    pub fn advert_interval(mut self, interval: Duration) -> Self {
        self.advert_interval = interval;
        self
    }

    /// Builder: add virtual addresses.
    pub fn vips<I: IntoIterator<Item = IpAddr>>(mut self, addrs: I) -> Self {
        self.virtual_addresses
            .extend(addrs.into_iter().map(VirtualAddress::new));
        self
    }

    /// Builder: turn preemption off (`nopreempt`).
    pub fn nopreempt(mut self) -> Self {
        self.preempt = false;
        self
    }

    /// Builder: set `preempt_delay`.
    pub fn preempt_delay(mut self, delay: Duration) -> Self {
        self.preempt_delay = delay;
        self
    }
}

/// Everything one engine runs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EngineConfig {
    /// The instances.
    pub instances: Vec<InstanceConfig>,
}

/// Why an [`EngineConfig`] cannot be run. The keepalived.conf parser reports these with file,
/// line and column before they get here; this is the engine's own last line of defence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// VRID 0.
    VridZero {
        /// Instance name.
        instance: String,
    },
    /// Priority 0 (reserved for a leaving master).
    PriorityZero {
        /// Instance name.
        instance: String,
    },
    /// The interval does not fit the version (v2: whole seconds 1..=255; v3: 10 ms..=40.95 s in
    /// steps of 10 ms).
    BadInterval {
        /// Instance name.
        instance: String,
    },
    /// VRRPv2 over IPv6.
    V2OverIpv6 {
        /// Instance name.
        instance: String,
    },
    /// No virtual address, or more than 255, or one of another family.
    BadVirtualAddresses {
        /// Instance name.
        instance: String,
    },
    /// v3 with authentication.
    AuthWithV3 {
        /// Instance name.
        instance: String,
    },
    /// Two instances with the same interface, family and VRID.
    DuplicateVrid {
        /// First instance.
        first: String,
        /// Second instance.
        second: String,
    },
    /// Two instances with the same name.
    DuplicateName {
        /// The name.
        name: String,
    },
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::VridZero { instance } => write!(f, "{instance}: VRID 0 is not valid"),
            SetupError::PriorityZero { instance } => {
                write!(f, "{instance}: priority 0 is reserved")
            }
            SetupError::BadInterval { instance } => {
                write!(
                    f,
                    "{instance}: advertisement interval does not fit the VRRP version"
                )
            }
            SetupError::V2OverIpv6 { instance } => write!(f, "{instance}: VRRPv2 over IPv6"),
            SetupError::BadVirtualAddresses { instance } => {
                write!(
                    f,
                    "{instance}: needs 1..=255 virtual addresses of its family"
                )
            }
            SetupError::AuthWithV3 { instance } => {
                write!(f, "{instance}: authentication is VRRPv2 only")
            }
            SetupError::DuplicateVrid { first, second } => {
                write!(f, "{first} and {second} share interface, family and VRID")
            }
            SetupError::DuplicateName { name } => write!(f, "two instances named {name}"),
        }
    }
}

impl std::error::Error for SetupError {}

impl InstanceConfig {
    /// Check the rules the engine depends on.
    pub fn validate(&self) -> Result<(), SetupError> {
        let instance = self.name.clone();
        if self.vrid == 0 {
            return Err(SetupError::VridZero { instance });
        }
        if self.priority == 0 {
            return Err(SetupError::PriorityZero { instance });
        }
        if self.version == Version::V2 && self.family == Family::V6 {
            return Err(SetupError::V2OverIpv6 { instance });
        }
        if crate::instance::wire_interval(self.version, self.advert_interval).is_none() {
            return Err(SetupError::BadInterval { instance });
        }
        let n = self.virtual_addresses.len();
        if n == 0
            || n > 255
            || self
                .virtual_addresses
                .iter()
                .any(|v| Family::of(&v.addr) != self.family)
        {
            return Err(SetupError::BadVirtualAddresses { instance });
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(SetupError::AuthWithV3 { instance });
        }
        Ok(())
    }

    /// The addresses as they go in adverts (shared with every advert action, no copy).
    pub(crate) fn advert_addrs(&self) -> Arc<[IpAddr]> {
        self.virtual_addresses.iter().map(|v| v.addr).collect()
    }
}
