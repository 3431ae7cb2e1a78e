//! rtnetlink: interfaces, their addresses and link state in; virtual addresses and routes out.
//!
//! Two `NETLINK_ROUTE` sockets: a blocking one for requests that wait for the kernel's answer
//! (dumps at start-up, adding and removing virtual addresses, each acknowledged), and a
//! non-blocking one subscribed to the link and address groups whose events the event loop reads
//! (`RTM_NEWLINK` / `RTM_DELLINK` for carrier, `RTM_NEWADDR` / `RTM_DELADDR` for primary and
//! link-local addresses).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::{RouteMessage, RouteProtocol};
use netlink_packet_route::rule::{RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use vigil_engine::VirtualAddress;

/// rtnetlink multicast groups (legacy bitmask form): links, IPv4 and IPv6 addresses.
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
/// Routes and policy rules, for keepalived's route and rule deletion tracking
/// (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE = 19).
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;
const RTMGRP_IPV4_RULE: u32 = 0x80;
const RTMGRP_IPV6_RULE: u32 = 1 << (19 - 1);

/// An interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Up for VRRP: administratively up and with carrier (IFF_UP and IFF_RUNNING), what
    /// keepalived checks.
    pub up: bool,
    /// The hardware address, when Ethernet-like.
    pub mac: Option<[u8; 6]>,
    /// Its kind and parent, for `dynamic_interfaces` without `allow_if_changes`.
    pub shape: LinkShape,
}

/// What keepalived 2.2.7 compares when an interface it has seen comes back
/// (`netlink_if_link_populate`, without `allow_if_changes`): whether it is a macvlan or an
/// ipvlan (`IFLA_INFO_KIND`), and then its parent's index (`IFLA_LINK`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkShape {
    /// A macvlan, macvtap, ipvlan or ipvtap.
    pub stacked: bool,
    /// `IFLA_LINK`: the parent's index.
    pub parent: Option<u32>,
}

/// An address on an interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    /// Interface index.
    pub index: u32,
    /// The address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// A secondary IPv4 address (another of the same subnet came first).
    pub secondary: bool,
    /// IPv6 duplicate address detection has not finished (or failed): not usable as a source.
    pub tentative: bool,
}

/// What the event socket reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A link appeared or changed.
    NewLink(Link),
    /// A link disappeared.
    DelLink(u32),
    /// An address appeared or changed.
    NewAddr(Addr),
    /// An address disappeared; with the netlink port of the socket that asked for it (0: the
    /// kernel itself, e.g. with its interface), so that vigild tells its own removals from
    /// someone else's ([`Rtnl::port`]).
    DelAddr(Addr, u32),
    /// A route with protocol `keepalived` (18) disappeared; with the port of the socket that
    /// asked for it.
    DelRoute(Box<RouteMessage>, u32),
    /// A policy rule with protocol `keepalived` disappeared; with the port as above.
    DelRule(Box<RuleMessage>, u32),
}

/// The request socket.
#[derive(Debug)]
pub struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// The RTM_DELADDR request of each address this socket added (or found already there),
    /// encoded by the netlink crate when it was added: a MASTER that must step down sends it
    /// as it is, its sequence number set, instead of building the crate's message tree at that
    /// moment (issue 18: 7-10 us of cold code between the advert and the removal, measured with
    /// the `handover-probe` build). Keyed by what the kernel matches: interface index, address,
    /// prefix length, peer.
    prepared: HashMap<DelKey, Prepared>,
}

/// An encoded request kept inline (no heap block of its own to fetch): RTM_DELADDR is 40
/// bytes for IPv4, 64 for IPv6.
#[derive(Clone, Copy, Debug)]
struct Prepared {
    bytes: [u8; PREPARED_LEN],
    len: u8,
}

/// The longest request kept by [`Prepared`].
const PREPARED_LEN: usize = 64;

/// What an RTM_DELADDR names: interface index, address, prefix length, point-to-point peer.
type DelKey = (u32, IpAddr, u8, Option<IpAddr>);

/// At most this many prepared removals are kept (addresses removed by someone else leave
/// theirs behind until then).
const PREPARED_MAX: usize = 4096;

/// The event socket.
#[derive(Debug)]
pub struct RtnlEvents {
    sock: Socket,
    buf: Vec<u8>,
}

fn link_of(m: &LinkMessage) -> Option<Link> {
    let mut name = None;
    let mut mac = None;
    let mut shape = LinkShape::default();
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Link(p) => shape.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        shape.stacked = matches!(
                            k,
                            InfoKind::MacVlan
                                | InfoKind::MacVtap
                                | InfoKind::IpVlan
                                | InfoKind::IpVtap
                        );
                    }
                }
            }
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut b = [0u8; 6];
                b.copy_from_slice(a);
                mac = Some(b);
            }
            _ => {}
        }
    }
    let flags = m.header.flags;
    Some(Link {
        index: m.header.index,
        name: name?,
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
        mac,
        shape,
    })
}

fn addr_of(m: &AddressMessage) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    let mut flags = u32::from(m.header.flags.bits());
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = f.bits(),
            _ => {}
        }
    }
    let addr = match m.header.family {
        AddressFamily::Inet => local.or(address)?,
        // IFA_LOCAL is the address itself when the kernel sends both (a point-to-point
        // address: IFA_ADDRESS is then the peer), for IPv6 as for IPv4.
        AddressFamily::Inet6 => local.or(address)?,
        _ => return None,
    };
    Some(Addr {
        index: m.header.index,
        addr,
        prefix_len: m.header.prefix_len,
        secondary: flags & AddressFlags::Secondary.bits() != 0,
        tentative: flags & (AddressFlags::Tentative.bits() | AddressFlags::Dadfailed.bits()) != 0,
    })
}

/// Parse every message of one netlink datagram.
fn messages(buf: &[u8]) -> Vec<NetlinkMessage<RouteNetlinkMessage>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..]) else {
            break;
        };
        let len = msg.header.length as usize;
        out.push(msg);
        if len == 0 {
            break;
        }
        off += (len + 3) & !3;
    }
    out
}

fn io_err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code.abs())
}

/// The flags of an RTM_DELADDR request.
const DEL_FLAGS: u16 = NLM_F_REQUEST | NLM_F_ACK;

/// One request, encoded by the netlink crate, its sequence number 0 (set when it is sent:
/// [`set_sequence`]).
fn encode(payload: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
    let mut msg = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(payload));
    msg.header.flags = flags;
    msg.finalize();
    let mut out = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut out);
    out
}

/// The RTM_DELADDR request of `key`, encoded ([`encode`]).
fn del_request(key: DelKey) -> io::Result<Vec<u8>> {
    Ok(encode(
        RouteNetlinkMessage::DelAddress(Rtnl::del_message(key)?),
        DEL_FLAGS,
    ))
}

/// Set the sequence number of an encoded request: `nlmsg_seq`, bytes 8-11 of the message
/// header (struct nlmsghdr: length, type, flags, seq, port; host byte order).
fn set_sequence(out: &mut [u8], seq: u32) {
    if let Some(b) = out.get_mut(8..12) {
        b.copy_from_slice(&seq.to_ne_bytes());
    }
}

impl Rtnl {
    /// Open the request socket.
    pub fn open() -> io::Result<Rtnl> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl {
            sock,
            seq: 1,
            buf: vec![0; 1 << 16],
            prepared: HashMap::new(),
        })
    }

    /// This socket's netlink port: address events caused by its requests carry it.
    pub fn port(&self) -> u32 {
        let mut a = SocketAddr::new(0, 0);
        match self.sock.get_address(&mut a) {
            Ok(()) => a.port_number(),
            Err(_) => 0,
        }
    }

    /// Send one request and collect the answer: every inner message of a dump, or the
    /// acknowledgement's error code.
    fn request(
        &mut self,
        payload: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut out = encode(payload, flags);
        self.exchange(&mut out, flags)
    }

    /// Send request `out` (encoded by [`encode`]) with the next sequence number and collect
    /// the answer as [`Self::request`] does.
    fn exchange(&mut self, out: &mut [u8], flags: u16) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        set_sequence(out, seq);
        crate::handover_probe::mark(crate::handover_probe::Stage::Send);
        self.sock.send(out, 0)?;
        crate::handover_probe::mark(crate::handover_probe::Stage::Sent);
        let mut inner = Vec::new();
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let n = n.min(self.buf.len());
            for m in messages(&self.buf[..n]) {
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::Done(_) => return Ok(inner),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(inner),
                            Some(c) => Err(io_err(c.get())),
                        }
                    }
                    NetlinkPayload::InnerMessage(i) => {
                        inner.push(i);
                        if flags & NLM_F_DUMP == 0 && flags & NLM_F_ACK == 0 {
                            return Ok(inner);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Every interface.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let msgs = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => link_of(l),
                _ => None,
            })
            .collect())
    }

    /// Every interface's whole link message, in the kernel's order (`vigild -d` prints more of
    /// it than [`Link`] keeps: [`crate::dump`]).
    pub fn link_messages(&mut self) -> io::Result<Vec<LinkMessage>> {
        let msgs = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    /// Every address of every interface, in the kernel's order (primary addresses first).
    pub fn addrs(&mut self) -> io::Result<Vec<Addr>> {
        let msgs = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => addr_of(a),
                _ => None,
            })
            .collect())
    }

    fn addr_message(index: u32, v: &VirtualAddress) -> io::Result<AddressMessage> {
        let mut m = AddressMessage::default();
        m.header.index = index;
        m.header.prefix_len = v.prefix_len;
        m.header.scope = AddressScope::from(v.scope.number());
        // keepalived's netlink_ipaddress: IFA_LOCAL is the address, IFA_ADDRESS the peer of a
        // point-to-point address (else the address again), IFA_FLAGS the line's flags.
        let mut flags = AddressFlags::empty();
        if v.flags.home {
            flags |= AddressFlags::Homeaddress;
        }
        if v.flags.mngtmpaddr {
            flags |= AddressFlags::Managetempaddr;
        }
        if v.flags.noprefixroute {
            flags |= AddressFlags::Noprefixroute;
        }
        if v.flags.autojoin {
            flags |= AddressFlags::Mcautojoin;
        }
        m.attributes.push(AddressAttribute::Local(v.addr));
        m.attributes
            .push(AddressAttribute::Address(v.peer.unwrap_or(v.addr)));
        match v.addr {
            IpAddr::V4(_) => {
                m.header.family = AddressFamily::Inet;
                if let Some(b) = v.broadcast {
                    m.attributes.push(AddressAttribute::Broadcast(b));
                }
                if let Some(l) = &v.label {
                    m.attributes.push(AddressAttribute::Label(l.clone()));
                }
            }
            IpAddr::V6(_) => {
                m.header.family = AddressFamily::Inet6;
                // Virtual addresses move between routers: duplicate address detection would
                // hold them tentative for a second after every takeover (keepalived adds
                // IPv6 virtual addresses with nodad unless the line says -nodad).
                if !v.flags.dad {
                    flags |= AddressFlags::Nodad;
                }
                if v.preferred_lft != vigil_engine::LIFETIME_FOREVER {
                    let mut ci = CacheInfo::default();
                    ci.ifa_preferred = v.preferred_lft;
                    ci.ifa_valid = vigil_engine::LIFETIME_FOREVER;
                    m.attributes.push(AddressAttribute::CacheInfo(ci));
                }
            }
        }
        // The header's 8 bits for old kernels, IFA_FLAGS for the rest (mngtmpaddr and above
        // do not fit in 8 bits).
        m.header.flags = AddressHeaderFlags::from_bits_truncate(flags.bits() as u8);
        if !flags.is_empty() {
            m.attributes.push(AddressAttribute::Flags(flags));
        }
        Ok(m)
    }

    /// Add a virtual address on interface `index`. `Ok(false)` when it was already there (so
    /// it is not ours to record). Either way its removal is encoded now, for
    /// [`Self::del_address`] (after the addition: outside the addition's RTNL hold).
    pub fn add_address(&mut self, index: u32, v: &VirtualAddress) -> io::Result<bool> {
        let m = Self::addr_message(index, v)?;
        let added = match self.request(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => true,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => false,
            Err(e) => return Err(e),
        };
        let key = (index, v.addr, v.prefix_len, v.peer);
        if let Ok(out) = del_request(key) {
            if out.len() <= PREPARED_LEN {
                let mut bytes = [0; PREPARED_LEN];
                bytes[..out.len()].copy_from_slice(&out);
                if self.prepared.len() >= PREPARED_MAX {
                    self.prepared.clear();
                }
                let len = out.len() as u8;
                self.prepared.insert(key, Prepared { bytes, len });
            }
        }
        Ok(added)
    }

    /// The RTM_DELADDR message of `key`: IFA_LOCAL and IFA_ADDRESS only (what the kernel
    /// matches), no flags.
    fn del_message(key: DelKey) -> io::Result<AddressMessage> {
        let (index, addr, prefix_len, peer) = key;
        let v = VirtualAddress {
            prefix_len,
            peer,
            ..VirtualAddress::new(addr)
        };
        let mut m = Self::addr_message(index, &v)?;
        m.header.flags = AddressHeaderFlags::empty();
        m.attributes
            .retain(|a| matches!(a, AddressAttribute::Local(_) | AddressAttribute::Address(_)));
        Ok(m)
    }

    /// Remove an address from interface `index`. `Ok(false)` when it was not there.
    /// `peer` is the address's point-to-point peer, if it has one (the kernel matches it with
    /// the prefix).
    pub fn del_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        peer: Option<IpAddr>,
    ) -> io::Result<bool> {
        let key = (index, addr, prefix_len, peer);
        let r = match self.prepared.remove(&key) {
            Some(mut p) => self.exchange(&mut p.bytes[..usize::from(p.len)], DEL_FLAGS),
            None => self.exchange(&mut del_request(key)?, DEL_FLAGS),
        };
        crate::handover_probe::report();
        match r {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT) | Some(libc::ENODEV)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Create a macvlan `name` on interface `base` with MAC `mac` in mode private (keepalived's
    /// `use_vmac`, see [`crate::vmac`]), down. Returns its index.
    pub fn add_macvlan(&mut self, name: &str, base: u32, mac: [u8; 6]) -> io::Result<u32> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes.push(LinkAttribute::Link(base));
        m.attributes.push(LinkAttribute::Address(mac.to_vec()));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )?;
        let index = self
            .links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| io::Error::other(format!("{name} vanished after creation")))?;
        Ok(index)
    }

    /// Make the existing macvlan `index` a private-mode one with `mac`, in place (same ifindex,
    /// its addresses kept): keepalived 2.2.7's "Update old VMAC interface ... due to wrong
    /// MAC/mode" (`netlink_link_add_vmac`, an RTM_NEWLINK on the index without NLM_F_CREATE).
    /// `mac`: `None` when it already has the right one (the kernel refuses a macvlan's MAC
    /// that a macvlan of the parent has, itself included).
    pub fn update_macvlan(&mut self, index: u32, mac: Option<[u8; 6]>) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]));
        if let Some(mac) = mac {
            m.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        self.request(RouteNetlinkMessage::NewLink(m), NLM_F_REQUEST | NLM_F_ACK)?;
        Ok(())
    }

    /// Bring interface `index` up.
    pub fn set_link_up(&mut self, index: u32) -> io::Result<()> {
        let mut up = LinkMessage::default();
        up.header.index = index;
        up.header.flags = LinkFlags::Up;
        up.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(up), NLM_F_REQUEST | NLM_F_ACK)?;
        Ok(())
    }

    /// Delete interface `index` (a macvlan this daemon created). `Ok(false)` when it was gone.
    pub fn del_link(&mut self, index: u32) -> io::Result<bool> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        match self.request(RouteNetlinkMessage::DelLink(m), NLM_F_REQUEST | NLM_F_ACK) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Add a route (see [`crate::routes`]). `Ok(false)` when it was already there.
    pub fn add_route(&mut self, m: RouteMessage) -> io::Result<bool> {
        match self.request(
            RouteNetlinkMessage::NewRoute(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Add a policy routing rule (see [`crate::routes::rule_message`]). `Ok(false)` when an
    /// identical rule was already there.
    pub fn add_rule(&mut self, m: RuleMessage) -> io::Result<bool> {
        match self.request(
            RouteNetlinkMessage::NewRule(m),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Remove a policy routing rule. `Ok(false)` when it was not there.
    pub fn del_rule(&mut self, m: RuleMessage) -> io::Result<bool> {
        match self.request(RouteNetlinkMessage::DelRule(m), NLM_F_REQUEST | NLM_F_ACK) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Remove a route. `Ok(false)` when it was not there (or went with its interface or source
    /// address).
    pub fn del_route(&mut self, m: RouteMessage) -> io::Result<bool> {
        match self.request(RouteNetlinkMessage::DelRoute(m), NLM_F_REQUEST | NLM_F_ACK) {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ESRCH) | Some(libc::ENOENT) | Some(libc::ENODEV)
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

impl RtnlEvents {
    /// Open the event socket, subscribed to links, IPv4 / IPv6 addresses, routes and rules.
    pub fn open() -> io::Result<RtnlEvents> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind(&SocketAddr::new(
            0,
            RTMGRP_LINK
                | RTMGRP_IPV4_IFADDR
                | RTMGRP_IPV6_IFADDR
                | RTMGRP_IPV4_ROUTE
                | RTMGRP_IPV6_ROUTE
                | RTMGRP_IPV4_RULE
                | RTMGRP_IPV6_RULE,
        ))?;
        sock.set_non_blocking(true)?;
        let _ = sock.set_rx_buf_sz(1 << 20);
        Ok(RtnlEvents {
            sock,
            buf: vec![0; 1 << 16],
        })
    }

    /// The descriptor, for epoll.
    pub fn raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Read every queued event. An overrun (ENOBUFS: the kernel dropped events) is reported as
    /// `Err` so that the caller re-reads the full state.
    pub fn read(&mut self) -> io::Result<Vec<Event>> {
        let mut out = Vec::new();
        loop {
            let n = match self.sock.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => n.min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(out);
            }
            for m in messages(&self.buf[..n]) {
                let NetlinkPayload::InnerMessage(inner) = m.payload else {
                    continue;
                };
                match inner {
                    RouteNetlinkMessage::NewLink(l) => out.extend(link_of(&l).map(Event::NewLink)),
                    RouteNetlinkMessage::DelLink(l) => out.push(Event::DelLink(l.header.index)),
                    RouteNetlinkMessage::NewAddress(a) => {
                        out.extend(addr_of(&a).map(Event::NewAddr))
                    }
                    RouteNetlinkMessage::DelAddress(a) => {
                        let by = m.header.port_number;
                        out.extend(addr_of(&a).map(|a| Event::DelAddr(a, by)))
                    }
                    // keepalived_netlink.c netlink_route_filter / netlink_rule_filter: only
                    // protocol keepalived is ours to track.
                    RouteNetlinkMessage::DelRoute(r)
                        if r.header.protocol == RouteProtocol::KeepAlived =>
                    {
                        out.push(Event::DelRoute(Box::new(r), m.header.port_number))
                    }
                    RouteNetlinkMessage::DelRule(r)
                        if !r.attributes.iter().any(|a| {
                            matches!(a, RuleAttribute::Protocol(p) if *p != RouteProtocol::KeepAlived)
                        }) =>
                    {
                        out.push(Event::DelRule(Box::new(r), m.header.port_number))
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The primary IPv4 address of an interface: the first non-secondary IPv4 address in the
/// kernel's order that is not one of `ours` (virtual addresses never count: a /32 VIP is not
/// marked secondary by the kernel).
pub fn primary_v4<'a>(
    addrs: impl IntoIterator<Item = &'a Addr>,
    ours: &std::collections::HashSet<IpAddr>,
) -> Option<IpAddr> {
    addrs
        .into_iter()
        .filter(|a| a.addr.is_ipv4() && !a.secondary && !ours.contains(&a.addr))
        .map(|a| a.addr)
        .next()
}

/// The names of the macvlan and ipvlan interfaces of the current network namespace
/// (keepalived's `IS_MAC_IP_VLAN`; [`vigil_engine::conf::ParseOptions::vlan_interfaces`]); none
/// when rtnetlink cannot be read.
pub fn vlan_interfaces() -> Vec<String> {
    vlan_links().into_iter().map(|(name, _)| name).collect()
}

/// The macvlan and ipvlan interfaces of the current network namespace, each with the name of
/// its lower interface when that is in the same namespace (`IFLA_LINK` without
/// `IFLA_LINK_NETNSID`): keepalived's `IF_BASE_IFP`, whose announcement gate the macvlan's
/// announcements go through ([`vigil_engine::setup::AnnounceGates::bases`]). None when
/// rtnetlink cannot be read.
pub fn vlan_links() -> Vec<(String, Option<String>)> {
    let Ok(links) = Rtnl::open().and_then(|mut r| r.link_messages()) else {
        return Vec::new();
    };
    let name_of = |m: &LinkMessage| {
        m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
    };
    let mut out = Vec::new();
    for m in &links {
        let is_vlan = m.attributes.iter().any(|a| match a {
            LinkAttribute::LinkInfo(i) => i
                .iter()
                .any(|x| matches!(x, LinkInfo::Kind(InfoKind::MacVlan | InfoKind::IpVlan))),
            _ => false,
        });
        let Some(name) = name_of(m).filter(|_| is_vlan) else {
            continue;
        };
        let other_netns = m
            .attributes
            .iter()
            .any(|a| matches!(a, LinkAttribute::LinkNetNsId(_)));
        let lower = m
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::Link(i) if !other_netns => Some(*i),
                _ => None,
            })
            .and_then(|i| links.iter().find(|l| l.header.index == i))
            .and_then(name_of);
        out.push((name, lower));
    }
    out
}

/// The IPv6 link-local address of an interface (fe80::/10, not tentative), the source of
/// VRRPv3 adverts over IPv6 (RFC 5798 section 5.1.2.1).
pub fn link_local_v6<'a>(addrs: impl IntoIterator<Item = &'a Addr>) -> Option<IpAddr> {
    addrs
        .into_iter()
        .filter(|a| match a.addr {
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 && !a.tentative,
            IpAddr::V4(_) => false,
        })
        .map(|a| a.addr)
        .next()
}

#[cfg(test)]
#[path = "netlink_tests.rs"]
mod tests;
