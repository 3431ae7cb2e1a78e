//! IPVS over generic netlink: the messages keepalived's `ipvswrapper.c` / libipvs send, encoded
//! with netlink-packet-core's attribute emitter, for kernels built with `CONFIG_IP_VS`.
//!
//! The backend that sends them, resolves the family and reads the kernel's table back is in
//! `kernel.rs`. **Never live-tested**: this machine's kernel has no IPVS, so no message here
//! has been sent to a kernel; the bytes are unit-tested (docs/DATAPLANE.md). Numbers and layouts are those of the kernel's
//! `include/uapi/linux/ip_vs.h` (commands, attribute enums, `struct ip_vs_flags`, service and
//! connection flags, tunnel types and flags) and of the attribute policies of
//! `net/netfilter/ipvs/ip_vs_ctl.c` (`ip_vs_svc_policy`, `ip_vs_dest_policy`: which attribute
//! is a u8, u16, u32, binary or string; ports and the IPv4 netmask in network order).

use std::net::IpAddr;

use netlink_packet_core::{Emitable, Nla, NLA_F_NESTED};
use vigil_engine::conf::{
    Family, Forwarding, Granularity, Protocol, ServiceKey, TunnelCsum, TunnelKind, VirtualServer,
};

/// `IPVS_GENL_NAME`: the generic netlink family to resolve (CTRL_CMD_GETFAMILY).
pub const GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*` (ip_vs.h, "Generic Netlink command attributes").
pub mod cmd {
    /// Add a service.
    pub const NEW_SERVICE: u8 = 1;
    /// Modify a service.
    pub const SET_SERVICE: u8 = 2;
    /// Delete a service.
    pub const DEL_SERVICE: u8 = 3;
    /// Add a destination.
    pub const NEW_DEST: u8 = 5;
    /// Modify a destination.
    pub const SET_DEST: u8 = 6;
    /// Delete a destination.
    pub const DEL_DEST: u8 = 7;
    /// Start a connection sync daemon.
    pub const NEW_DAEMON: u8 = 9;
    /// Stop a connection sync daemon.
    pub const DEL_DAEMON: u8 = 10;
    /// Set the connection timeouts.
    pub const SET_CONFIG: u8 = 12;
    /// Read the connection timeouts.
    pub const GET_CONFIG: u8 = 13;
    /// Flush services and destinations.
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_SERVICE`, `IPVS_CMD_ATTR_DEST`, `IPVS_CMD_ATTR_DAEMON`,
/// `IPVS_CMD_ATTR_TIMEOUT_TCP`, `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`, `IPVS_CMD_ATTR_TIMEOUT_UDP`.
const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;
pub(crate) const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
pub(crate) const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
pub(crate) const CMD_ATTR_TIMEOUT_UDP: u16 = 6;

/// `IP_VS_SVC_F_*`.
pub mod svc_flags {
    /// Persistent port.
    pub const PERSISTENT: u32 = 0x0001;
    /// One-packet scheduling.
    pub const ONEPACKET: u32 = 0x0004;
    /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`).
    pub const SCHED1: u32 = 0x0008;
    /// Scheduler flag 2 (`sh-port`, `mh-port`).
    pub const SCHED2: u32 = 0x0010;
    /// Scheduler flag 3.
    pub const SCHED3: u32 = 0x0020;
}

/// `IP_VS_CONN_F_MASQ`, `IP_VS_CONN_F_TUNNEL`, `IP_VS_CONN_F_DROUTE`.
pub const FWD_MASQ: u32 = 0x0000;
/// Tunnelling.
pub const FWD_TUNNEL: u32 = 0x0002;
/// Direct routing.
pub const FWD_DROUTE: u32 = 0x0003;

/// An attribute inside `IPVS_CMD_ATTR_SERVICE` (`IPVS_SVC_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvcAttr {
    /// `IPVS_SVC_ATTR_AF` (u16).
    Af(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL` (u16).
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR` (union nf_inet_addr, 16 bytes).
    Addr(IpAddr),
    /// `IPVS_SVC_ATTR_PORT` (be16).
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK` (u32).
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME` (NUL-terminated, at most 16 bytes).
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS` (`struct ip_vs_flags { __u32 flags; __u32 mask; }`).
    Flags {
        /// The flags.
        flags: u32,
        /// Which flags to set.
        mask: u32,
    },
    /// `IPVS_SVC_ATTR_TIMEOUT` (u32, seconds).
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK` (u32: the IPv4 mask in network order, or the IPv6 prefix
    /// length).
    Netmask([u8; 4]),
    /// `IPVS_SVC_ATTR_PE_NAME` (NUL-terminated).
    PeName(String),
}

fn inet_addr(a: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v) => b[..4].copy_from_slice(&v.octets()),
        IpAddr::V6(v) => b.copy_from_slice(&v.octets()),
    }
    b
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        match self {
            SvcAttr::Af(_) | SvcAttr::Protocol(_) | SvcAttr::Port(_) => 2,
            SvcAttr::Addr(_) => 16,
            SvcAttr::Fwmark(_) | SvcAttr::Timeout(_) | SvcAttr::Netmask(_) => 4,
            SvcAttr::Flags { .. } => 8,
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => s.len() + 1,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            SvcAttr::Af(_) => 1,
            SvcAttr::Protocol(_) => 2,
            SvcAttr::Addr(_) => 3,
            SvcAttr::Port(_) => 4,
            SvcAttr::Fwmark(_) => 5,
            SvcAttr::SchedName(_) => 6,
            SvcAttr::Flags { .. } => 7,
            SvcAttr::Timeout(_) => 8,
            SvcAttr::Netmask(_) => 9,
            SvcAttr::PeName(_) => 11,
        }
    }

    fn emit_value(&self, b: &mut [u8]) {
        match self {
            SvcAttr::Af(v) | SvcAttr::Protocol(v) => b[..2].copy_from_slice(&v.to_ne_bytes()),
            SvcAttr::Port(p) => b[..2].copy_from_slice(&p.to_be_bytes()),
            SvcAttr::Addr(a) => b[..16].copy_from_slice(&inet_addr(a)),
            SvcAttr::Fwmark(v) | SvcAttr::Timeout(v) => b[..4].copy_from_slice(&v.to_ne_bytes()),
            SvcAttr::Netmask(m) => b[..4].copy_from_slice(m),
            SvcAttr::Flags { flags, mask } => {
                b[..4].copy_from_slice(&flags.to_ne_bytes());
                b[4..8].copy_from_slice(&mask.to_ne_bytes());
            }
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => {
                b[..s.len()].copy_from_slice(s.as_bytes());
                b[s.len()] = 0;
            }
        }
    }
}

/// An attribute inside `IPVS_CMD_ATTR_DEST` (`IPVS_DEST_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_ADDR` (16 bytes).
    Addr(IpAddr),
    /// `IPVS_DEST_ATTR_PORT` (be16).
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD` (u32: `IP_VS_CONN_F_MASQ` / `TUNNEL` / `DROUTE`).
    FwdMethod(u32),
    /// `IPVS_DEST_ATTR_WEIGHT` (u32).
    Weight(u32),
    /// `IPVS_DEST_ATTR_U_THRESH` (u32).
    UThresh(u32),
    /// `IPVS_DEST_ATTR_L_THRESH` (u32).
    LThresh(u32),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY` (u16).
    AddrFamily(u16),
    /// `IPVS_DEST_ATTR_TUN_TYPE` (u8: `IP_VS_CONN_F_TUNNEL_TYPE_*`).
    TunType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT` (be16).
    TunPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS` (u16: `IP_VS_TUNNEL_ENCAP_FLAG_*`).
    TunFlags(u16),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            DestAttr::Addr(_) => 16,
            DestAttr::Port(_)
            | DestAttr::AddrFamily(_)
            | DestAttr::TunPort(_)
            | DestAttr::TunFlags(_) => 2,
            DestAttr::TunType(_) => 1,
            DestAttr::FwdMethod(_)
            | DestAttr::Weight(_)
            | DestAttr::UThresh(_)
            | DestAttr::LThresh(_) => 4,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DestAttr::Addr(_) => 1,
            DestAttr::Port(_) => 2,
            DestAttr::FwdMethod(_) => 3,
            DestAttr::Weight(_) => 4,
            DestAttr::UThresh(_) => 5,
            DestAttr::LThresh(_) => 6,
            DestAttr::AddrFamily(_) => 11,
            DestAttr::TunType(_) => 13,
            DestAttr::TunPort(_) => 14,
            DestAttr::TunFlags(_) => 15,
        }
    }

    fn emit_value(&self, b: &mut [u8]) {
        match self {
            DestAttr::Addr(a) => b[..16].copy_from_slice(&inet_addr(a)),
            DestAttr::Port(p) | DestAttr::TunPort(p) => b[..2].copy_from_slice(&p.to_be_bytes()),
            DestAttr::AddrFamily(v) | DestAttr::TunFlags(v) => {
                b[..2].copy_from_slice(&v.to_ne_bytes())
            }
            DestAttr::TunType(v) => b[0] = *v,
            DestAttr::FwdMethod(v)
            | DestAttr::Weight(v)
            | DestAttr::UThresh(v)
            | DestAttr::LThresh(v) => b[..4].copy_from_slice(&v.to_ne_bytes()),
        }
    }
}

/// A first-level attribute: the nested service, destination or sync daemon, or a timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Vec<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`.
    Daemon(Vec<global::DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP` (u32, seconds).
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` (u32, seconds).
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP` (u32, seconds).
    TimeoutUdp(u32),
}

impl Nla for CmdAttr {
    fn value_len(&self) -> usize {
        match self {
            CmdAttr::Service(v) => v.as_slice().buffer_len(),
            CmdAttr::Dest(v) => v.as_slice().buffer_len(),
            CmdAttr::Daemon(v) => v.as_slice().buffer_len(),
            CmdAttr::TimeoutTcp(_) | CmdAttr::TimeoutTcpFin(_) | CmdAttr::TimeoutUdp(_) => 4,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            CmdAttr::Service(_) => CMD_ATTR_SERVICE | NLA_F_NESTED,
            CmdAttr::Dest(_) => CMD_ATTR_DEST | NLA_F_NESTED,
            CmdAttr::Daemon(_) => CMD_ATTR_DAEMON | NLA_F_NESTED,
            CmdAttr::TimeoutTcp(_) => CMD_ATTR_TIMEOUT_TCP,
            CmdAttr::TimeoutTcpFin(_) => CMD_ATTR_TIMEOUT_TCP_FIN,
            CmdAttr::TimeoutUdp(_) => CMD_ATTR_TIMEOUT_UDP,
        }
    }

    fn emit_value(&self, b: &mut [u8]) {
        match self {
            CmdAttr::Service(v) => v.as_slice().emit(b),
            CmdAttr::Dest(v) => v.as_slice().emit(b),
            CmdAttr::Daemon(v) => v.as_slice().emit(b),
            CmdAttr::TimeoutTcp(t) | CmdAttr::TimeoutTcpFin(t) | CmdAttr::TimeoutUdp(t) => {
                b[..4].copy_from_slice(&t.to_ne_bytes())
            }
        }
    }
}

fn af(f: Family) -> u16 {
    match f {
        Family::V4 => libc::AF_INET as u16,
        Family::V6 => libc::AF_INET6 as u16,
    }
}

/// The attributes that identify a service (the key of SET/DEL and of every DEST command).
pub fn service_key(vs: &VirtualServer) -> Vec<SvcAttr> {
    let mut v = vec![SvcAttr::Af(af(vs.family))];
    match &vs.key {
        ServiceKey::Addr { addr, port } => {
            v.push(SvcAttr::Protocol(protocol_number(
                vs.protocol.unwrap_or(Protocol::Tcp),
            )));
            v.push(SvcAttr::Addr(*addr));
            v.push(SvcAttr::Port(*port));
        }
        ServiceKey::Fwmark(m) => v.push(SvcAttr::Fwmark(*m)),
        // A group is one IPVS service per address and fwmark entry: [`services`].
        ServiceKey::Group(_) => {}
    }
    v
}

/// The full service (NEW_SERVICE / SET_SERVICE): key, scheduler, flags, persistence.
pub fn service(vs: &VirtualServer) -> Vec<SvcAttr> {
    let mut v = service_key(vs);
    v.extend(settings(vs, None));
    v
}

/// One IPVS service of a virtual server: its attributes (key and settings) and the port of
/// its destinations that do not use NAT (`None`: the real server's own, already resolved by
/// the parser as keepalived's `validate_check_config` does for `IP PORT` / `fwmark N`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// NEW_SERVICE / SET_SERVICE attributes.
    pub attrs: Vec<SvcAttr>,
    /// The entry's port (0 for a fwmark entry), for DR and TUN destinations of a group.
    pub entry_port: Option<u16>,
}

/// Every IPVS service of a virtual server: one for `IP PORT` and `fwmark N`; for `group
/// NAME`, keepalived's `ipvs_group_cmd` / `ipvs_group_range_cmd` (ipvswrapper.c): each address
/// entry walked one address at a time (the whole IPv4 address; the last 16 bits of an IPv6
/// one) at the entry's port and the virtual server's protocol, then each fwmark entry (of the
/// entry's family, else the virtual server's), every one with the virtual server's scheduler,
/// flags, timeout and persistence engine and the netmask reset to /32 (/128), as keepalived
/// sends them. A service met twice (a repeated or overlapping entry) is sent once.
pub fn services(vs: &VirtualServer) -> Vec<Instance> {
    let Some(g) = &vs.group else {
        return vec![Instance {
            attrs: service(vs),
            entry_port: None,
        }];
    };
    let proto = protocol_number(vs.protocol.unwrap_or(Protocol::Tcp));
    let mut out: Vec<Instance> = Vec::new();
    let mut push = |key: Vec<SvcAttr>, fam: Family, port: u16| {
        if out
            .iter()
            .any(|i| i.attrs.get(..key.len()) == Some(&key[..]))
        {
            return;
        }
        let mut attrs = key;
        attrs.extend(settings(vs, Some(fam)));
        out.push(Instance {
            attrs,
            entry_port: Some(port),
        });
    };
    for r in &g.ranges {
        for addr in range_addrs(r.first, r.last) {
            let fam = if addr.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            let key = vec![
                SvcAttr::Af(af(fam)),
                SvcAttr::Protocol(proto),
                SvcAttr::Addr(addr),
                SvcAttr::Port(r.port),
            ];
            push(key, fam, r.port);
        }
    }
    for (m, given) in &g.fwmarks {
        let fam = vs.fwmark_family(*given);
        push(vec![SvcAttr::Af(af(fam)), SvcAttr::Fwmark(*m)], fam, 0);
    }
    out
}

/// The addresses of a group's range entry, as keepalived's `ipvs_group_range_cmd` walks them
/// (IPv4: the whole address; IPv6: the last 16 bits, `s6_addr16[7]`).
pub fn range_addrs(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a)..=u32::from(b))
            .map(|n| IpAddr::V4(n.into()))
            .collect(),
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (lo, hi) = (a.segments()[7], b.segments()[7]);
            (lo..=hi.max(lo))
                .map(|x| {
                    let mut seg = a.segments();
                    seg[7] = x;
                    IpAddr::V6(seg.into())
                })
                .collect()
        }
        _ => vec![first],
    }
}

fn protocol_number(p: Protocol) -> u16 {
    (match p {
        Protocol::Tcp => libc::IPPROTO_TCP,
        Protocol::Udp => libc::IPPROTO_UDP,
        Protocol::Sctp => libc::IPPROTO_SCTP,
    }) as u16
}

/// A service's settings after its key: scheduler, flags, timeout, netmask, persistence
/// engine (keepalived's `ipvs_set_srule`). `group_family`: the service is a group entry's,
/// of that family, and its netmask is /32 (/128) whatever `persistence_granularity` says
/// (keepalived's `ipvs_group_range_cmd` and `ipvs_group_cmd` reset it).
fn settings(vs: &VirtualServer, group_family: Option<Family>) -> Vec<SvcAttr> {
    let mut v = Vec::new();
    let f = vs.sched_flags;
    let mut flags = 0;
    if vs.persistence_timeout.is_some() {
        flags |= svc_flags::PERSISTENT;
    }
    if f.ops {
        flags |= svc_flags::ONEPACKET;
    }
    if f.flag1 || f.sh_fallback || f.mh_fallback {
        flags |= svc_flags::SCHED1;
    }
    if f.flag2 || f.sh_port || f.mh_port {
        flags |= svc_flags::SCHED2;
    }
    if f.flag3 {
        flags |= svc_flags::SCHED3;
    }
    v.push(SvcAttr::SchedName(vs.lb_algo.name().to_string()));
    v.push(SvcAttr::Flags {
        flags,
        mask: u32::MAX,
    });
    v.push(SvcAttr::Timeout(vs.persistence_timeout.unwrap_or(0)));
    let granularity = match group_family {
        Some(_) => None,
        None => vs.persistence_granularity,
    };
    let netmask = match (granularity, group_family.unwrap_or(vs.family)) {
        (Some(Granularity::V4(m)), _) => m.octets(),
        (Some(Granularity::V6(len)), _) => u32::from(len).to_ne_bytes(),
        (None, Family::V4) => [255; 4],
        (None, Family::V6) => 128u32.to_ne_bytes(),
    };
    v.push(SvcAttr::Netmask(netmask));
    if let Some(pe) = &vs.persistence_engine {
        v.push(SvcAttr::PeName(pe.clone()));
    }
    v
}

/// A destination (NEW_DEST / SET_DEST) at `weight`.
pub fn dest(
    addr: IpAddr,
    port: u16,
    forwarding: Forwarding,
    weight: u32,
    thresholds: (Option<u32>, Option<u32>),
) -> Vec<DestAttr> {
    let fam = if addr.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let mut v = vec![
        DestAttr::Addr(addr),
        DestAttr::Port(port),
        DestAttr::AddrFamily(af(fam)),
        DestAttr::FwdMethod(match forwarding {
            Forwarding::Nat => FWD_MASQ,
            Forwarding::Dr => FWD_DROUTE,
            Forwarding::Tun { .. } => FWD_TUNNEL,
        }),
        DestAttr::Weight(weight),
        DestAttr::UThresh(thresholds.0.unwrap_or(0)),
        DestAttr::LThresh(thresholds.1.unwrap_or(0)),
    ];
    if let Forwarding::Tun { kind, port, csum } = forwarding {
        v.push(DestAttr::TunType(match kind {
            TunnelKind::Ipip => 0,
            TunnelKind::Gue => 1,
            TunnelKind::Gre => 2,
        }));
        if kind == TunnelKind::Gue {
            v.push(DestAttr::TunPort(port));
        }
        v.push(DestAttr::TunFlags(match csum {
            TunnelCsum::NoCsum => 0,
            TunnelCsum::Csum => 1 << 0,
            TunnelCsum::RemCsum => 1 << 1,
        }));
    }
    v
}

/// A whole request: netlink header (type = the IPVS family's id, resolved at run time;
/// NLM_F_REQUEST | NLM_F_ACK), generic netlink header (`cmd`, version 1), attributes.
pub fn message(family_id: u16, seq: u32, cmd: u8, attrs: &[CmdAttr]) -> Vec<u8> {
    let body = attrs.buffer_len();
    let len = 16 + 4 + body;
    let mut b = vec![0u8; len];
    b[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
    b[4..6].copy_from_slice(&family_id.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    b[6..8].copy_from_slice(&flags.to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    // pid 0: the kernel.
    b[16] = cmd;
    b[17] = GENL_VERSION;
    attrs.emit(&mut b[20..]);
    b
}

pub mod global;
pub mod kernel;

#[cfg(test)]
mod global_tests;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod tests;
