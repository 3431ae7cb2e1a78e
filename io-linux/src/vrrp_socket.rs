//! Raw VRRP sockets (IP protocol 112): one per (interface, address family).
//!
//! Each socket is bound to its interface (`SO_BINDTODEVICE`), joined to the family's group on
//! that interface (224.0.0.18 / ff02::12, RFC 5798 section 5.1.1.2 / 5.1.2.2), sends with TTL /
//! hop limit 255 (section 5.1.1.3) and TOS / traffic class 0xc0 (network control, as keepalived),
//! with the Don't Fragment bit clear and multicast loopback off (a router never hears itself).
//!
//! Sending goes through `sendmsg` with an `IP_PKTINFO` / `IPV6_PKTINFO` control message carrying
//! the interface and the source address the engine chose, so the kernel never picks another
//! source; with `--packet-socket-adverts` (off by default), IPv4 multicast adverts of an
//! Ethernet interface go out instead on an `AF_PACKET` socket beside the raw one, with the same
//! IPv4 header built by the daemon ([`VrrpSocket::link_fd`]). Receiving hands the engine what RFC 5798 section 7.1 checks: the TTL / hop limit and
//! the destination. For IPv4 they come from the IP header that raw IPv4 sockets deliver; for IPv6
//! from `IPV6_RECVHOPLIMIT` and `IPV6_RECVPKTINFO` control messages.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tracing::{info, warn};
use vigil_engine::wire::Family;

/// IANA protocol number of VRRP (RFC 5798 section 5.1.1.4).
pub const IPPROTO_VRRP: i32 = 112;
/// TOS / traffic class of adverts: DSCP CS6 (network control), what keepalived sends.
pub const VRRP_TOS: u32 = 0xc0;
/// Receive buffer: the largest IPv4 header plus the longest advert the codec accepts.
pub const RECV_BUF_LEN: usize = 60 + vigil_engine::wire::MAX_ADVERT_LEN + 64;

/// A received advert's IP facts and where its VRRP bytes sit in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL / hop limit as received.
    pub ttl: u8,
    /// Start of the VRRP message in the buffer.
    pub start: usize,
    /// End of the VRRP message in the buffer.
    pub end: usize,
    /// When the kernel received it (`SO_TIMESTAMPNS`: CLOCK_REALTIME seconds, nanoseconds).
    pub stamp: Option<(i64, i64)>,
}

/// One raw VRRP socket, bound to an interface for one family.
#[derive(Debug)]
pub struct VrrpSocket {
    sock: Socket,
    family: Family,
    ifindex: u32,
    /// An `AF_PACKET` `SOCK_DGRAM` socket on the same interface (IPv4 sockets of Ethernet
    /// interfaces only): IPv4 multicast adverts go out on it with the daemon's own IPv4 header
    /// (see [`VrrpSocket::link_fd`]).
    link: Option<std::os::fd::OwnedFd>,
}

/// The `AF_PACKET` `SOCK_DGRAM` socket for IPv4 multicast adverts on interface `name`, when it
/// is Ethernet ([`VrrpSocket::link_fd`]); `None` otherwise (logged).
fn open_link(name: &str) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket call.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        warn!(
            "{name}: no packet socket ({}): IPv4 adverts go through the raw socket",
            io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: a descriptor just opened, owned from here on.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain data.
    let mut ifr: libc::ifreq = unsafe { zeroed() };
    if name.len() >= ifr.ifr_name.len() {
        return None;
    }
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads into the ifreq given.
    let r = unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR as _, &mut ifr) };
    // SAFETY: the kernel filled the hardware address member of the union.
    let kind = unsafe { ifr.ifr_ifru.ifru_hwaddr.sa_family };
    if r < 0 || kind != libc::ARPHRD_ETHER {
        info!("{name}: not Ethernet: IPv4 adverts go through the raw socket");
        return None;
    }
    if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 4 << 20).is_err() {
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20);
    }
    Some(owned)
}

/// `setsockopt` of one `int` option.
pub(crate) fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passing a pointer to an int of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl VrrpSocket {
    /// Open the socket of `family` on interface `name` (index `ifindex`) and join the VRRP
    /// groups there: `groups` (keepalived's `vrrp_mcast_group4` / `vrrp_mcast_group6` /
    /// `mcast_dst_ip`, from [`vigil_engine::Engine::multicast_groups`]), or the RFC's group
    /// when empty. With IP_MULTICAST_ALL off, the socket hears only these groups. With
    /// `packet_adverts` (`--packet-socket-adverts`) an IPv4 socket of an Ethernet interface also
    /// gets the packet socket of [`VrrpSocket::link_fd`].
    pub fn open(
        family: Family,
        name: &str,
        ifindex: u32,
        groups: &[IpAddr],
        packet_adverts: bool,
    ) -> io::Result<VrrpSocket> {
        let sock = match family {
            Family::V4 => Self::open_v4(ifindex)?,
            Family::V6 => Self::open_v6(ifindex)?,
        };
        let default = [family.multicast_group()];
        let groups = if groups.is_empty() {
            &default[..]
        } else {
            groups
        };
        for g in groups {
            join(&sock, *g, ifindex)?;
        }
        sock.bind_device(Some(name.as_bytes()))?;
        // Receive timestamps: a backup times Master_Down_Interval from the advert's arrival.
        setsockopt_int(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        sock.set_nonblocking(true)?;
        sock.set_cloexec(true)?;
        // Room for a whole burst of adverts (255 instances per interface and family send
        // together): the default 208 KiB holds about 200, and a dropped tail of a burst is a
        // spurious takeover three intervals later. SO_RCVBUFFORCE passes net.core.rmem_max
        // (the daemon runs as root); the plain option is the fallback.
        let fd = sock.as_raw_fd();
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 4 << 20).is_err() {
            let _ = sock.set_recv_buffer_size(4 << 20);
        }
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 4 << 20).is_err() {
            let _ = sock.set_send_buffer_size(4 << 20);
        }
        // What the kernel granted (it doubles the request for its bookkeeping; without
        // CAP_NET_ADMIN the plain option is capped at net.core.rmem_max). Each queued advert
        // costs its buffer's truesize (about 550 bytes on a veth), not its 40-60 bytes.
        match sock.recv_buffer_size() {
            Ok(n) => info!("{name}: {family} VRRP socket receive buffer {n} bytes"),
            Err(e) => warn!("{name}: cannot read the {family} socket's receive buffer: {e}"),
        }
        // The kernel's count of packets this socket's full receive buffer dropped, with every
        // datagram (SO_RXQ_OVFL): the engine must know what it could not read
        // (Input::ReceiveQueue).
        setsockopt_int(fd, libc::SOL_SOCKET, SO_RXQ_OVFL, 1)?;
        let link = match family {
            Family::V4 if packet_adverts => open_link(name),
            _ => None,
        };
        Ok(VrrpSocket {
            sock,
            family,
            ifindex,
            link,
        })
    }

    fn open_v4(ifindex: u32) -> io::Result<Socket> {
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        let fd = sock.as_raw_fd();
        sock.set_ttl_v4(255)?;
        sock.set_multicast_ttl_v4(255)?;
        sock.set_tos_v4(VRRP_TOS)?;
        sock.set_multicast_loop_v4(false)?;
        // keepalived's adverts have DF clear.
        setsockopt_int(
            fd,
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_DONT,
        )?;
        // Only groups joined on this socket, not every group of the host.
        sock.set_multicast_all_v4(false)?;
        // A configured source (mcast_src_ip / unicast_src_ip) that is not, or no longer, on the
        // host still sends, as keepalived's IP_HDRINCL socket does (the kernel's route lookup
        // then accepts any source: FLOWI_FLAG_ANYSRC). Without it the send fails with
        // ENETUNREACH and a MASTER goes silent while it holds its addresses. Needs
        // CAP_NET_RAW, which a raw socket needs anyway; best effort.
        if let Err(e) = setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_TRANSPARENT, 1) {
            warn!("IP_TRANSPARENT on the VRRP socket of ifindex {ifindex}: {e} (a configured source address that is not on the host cannot be sent from)");
        }
        // The outgoing multicast interface by index (ip_mreqn).
        // SAFETY: ip_mreqn is plain data.
        let mut mreqn: libc::ip_mreqn = unsafe { zeroed() };
        mreqn.imr_ifindex = ifindex as libc::c_int;
        // SAFETY: pointer to an ip_mreqn of the size given.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_IF,
                (&mreqn as *const libc::ip_mreqn).cast(),
                size_of::<libc::ip_mreqn>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sock)
    }

    fn open_v6(ifindex: u32) -> io::Result<Socket> {
        let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        let fd = sock.as_raw_fd();
        sock.set_unicast_hops_v6(255)?;
        sock.set_multicast_hops_v6(255)?;
        sock.set_tclass_v6(VRRP_TOS)?;
        sock.set_multicast_loop_v6(false)?;
        sock.set_multicast_if_v6(ifindex)?;
        sock.set_multicast_all_v6(false)?;
        sock.set_recv_hoplimit_v6(true)?;
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        // The engine computes the checksum; the kernel must not touch it.
        setsockopt_int(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, -1)?;
        Ok(sock)
    }

    /// Join `group` on this socket's interface too (a reload that adds a group); joining one
    /// already joined is not an error.
    pub fn join(&self, group: IpAddr) -> io::Result<()> {
        join(&self.sock, group, self.ifindex)
    }

    /// The socket IPv4 multicast adverts are sent on, as whole IPv4 datagrams (the kernel adds
    /// the Ethernet header: the group's MAC, the interface's current MAC): `None` without
    /// `--packet-socket-adverts` (the default, as keepalived), for IPv6, for an interface that
    /// is not Ethernet, or when it could not be opened (the raw socket sends then).
    ///
    /// Why not the raw socket: the kernel never caches the output route of a datagram to
    /// 224.0.0.x with an output interface (`ip_route_output_key_hash_rcu` goes to `make_route`
    /// without a FIB lookup, and `__mkroute_output` caches only a route with a `fib_info`), so
    /// every advert allocated a route and freed it through RCU; at 1,020 instances x 10 ms those
    /// callbacks ran in bursts after the scheduler tick, inside the master's next batch, and the
    /// adverts after the tick left up to 1 ms late every other interval. Without the route the
    /// master's p99 lateness halved and its CPU per advert fell by a fifth (BENCHMARKS-daemon.md,
    /// eleventh session). What changes for an operator: these adverts do not pass netfilter's
    /// `output` and `postrouting` hooks nor the IP counters (queueing disciplines still see
    /// them); the header is what the raw socket sent (TOS 0xc0, DF clear, TTL 255 or the
    /// configured one, protocol 112) with an identification counter of the daemon's own, as
    /// keepalived's `IP_HDRINCL` socket does. Hence off by default: an operator's nftables
    /// `output` rule that drops VRRP (a common way to make a router stand down) must keep
    /// working on a drop-in replacement; the option trades that for the lateness.
    pub fn link_fd(&self) -> Option<RawFd> {
        self.link.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
    }

    /// The descriptor, for epoll.
    pub fn raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The socket's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Send one VRRP message from `src` to `dst` on this socket's interface.
    pub fn send(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> io::Result<()> {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => self.send_v4(s, d, payload),
            (IpAddr::V6(s), IpAddr::V6(d)) => self.send_v6(s, d, payload),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination of different families",
            )),
        }
    }

    fn send_v4(&self, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> io::Result<()> {
        // SAFETY: plain data structures, filled below.
        let mut to: libc::sockaddr_in = unsafe { zeroed() };
        to.sin_family = libc::AF_INET as libc::sa_family_t;
        to.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
        // SAFETY: plain data.
        let mut info: libc::in_pktinfo = unsafe { zeroed() };
        info.ipi_ifindex = self.ifindex as libc::c_int;
        info.ipi_spec_dst.s_addr = u32::from_ne_bytes(src.octets());
        send_with_cmsg(
            self.sock.as_raw_fd(),
            (&to as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>(),
            payload,
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            &info,
        )
    }

    fn send_v6(&self, src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> io::Result<()> {
        // SAFETY: plain data.
        let mut to: libc::sockaddr_in6 = unsafe { zeroed() };
        to.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        to.sin6_addr.s6_addr = dst.octets();
        if dst.is_multicast() || (dst.segments()[0] & 0xffc0) == 0xfe80 {
            to.sin6_scope_id = self.ifindex;
        }
        // SAFETY: plain data.
        let mut info: libc::in6_pktinfo = unsafe { zeroed() };
        info.ipi6_ifindex = self.ifindex;
        info.ipi6_addr.s6_addr = src.octets();
        send_with_cmsg(
            self.sock.as_raw_fd(),
            (&to as *const libc::sockaddr_in6).cast(),
            size_of::<libc::sockaddr_in6>(),
            payload,
            libc::IPPROTO_IPV6,
            libc::IPV6_PKTINFO,
            &info,
        )
    }

    /// Receive one datagram into `buf` without blocking. `Ok(None)` when nothing is queued.
    /// Datagrams that are not well-formed IP (impossible from the kernel, but not trusted) are
    /// skipped: `Ok(Some(None))`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Option<Datagram>>> {
        match self.family {
            Family::V4 => self.recv_v4(buf),
            Family::V6 => self.recv_v6(buf),
        }
    }

    fn recv_v4(&self, buf: &mut [u8]) -> io::Result<Option<Option<Datagram>>> {
        let Some((n, _, c)) = self.recvmsg(buf)? else {
            return Ok(None);
        };
        Ok(Some(parse_ipv4(&buf[..n]).map(|d| Datagram {
            stamp: c.stamp,
            ..d
        })))
    }

    fn recv_v6(&self, buf: &mut [u8]) -> io::Result<Option<Option<Datagram>>> {
        let Some((n, src, c)) = self.recvmsg(buf)? else {
            return Ok(None);
        };
        Ok(Some(match (src, c.hop_limit, c.dst) {
            (Some(src), Some(ttl), Some(dst)) => Some(Datagram {
                src: IpAddr::V6(src),
                dst: IpAddr::V6(dst),
                ttl,
                start: 0,
                end: n,
                stamp: c.stamp,
            }),
            _ => None,
        }))
    }

    /// One `recvmsg`: the length, the IPv6 source (from the socket address) and the control
    /// messages. `Ok(None)` when nothing is queued; an interrupted call reads as an empty
    /// datagram.
    fn recvmsg(&self, buf: &mut [u8]) -> io::Result<Option<(usize, Option<Ipv6Addr>, Control)>> {
        // SAFETY: plain data.
        let mut from: libc::sockaddr_in6 = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 24]; // 192 bytes, 8-aligned: room for three control messages
                                      // SAFETY: plain data.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 24]>() as _;
        // SAFETY: every pointer in `msg` is valid for the sizes given.
        let n = unsafe { libc::recvmsg(self.sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                io::ErrorKind::Interrupted => Ok(Some((0, None, Control::default()))),
                _ => Err(e),
            };
        }
        let n = usize::try_from(n).unwrap_or(0).min(buf.len());
        let src = (i32::from(from.sin6_family) == libc::AF_INET6)
            .then(|| Ipv6Addr::from(from.sin6_addr.s6_addr));
        let c = parse_control(&msg);
        Ok(Some((n, src, c)))
    }
}

/// `SO_RXQ_OVFL` (asm-generic/socket.h; the value on x86 and Arm).
const SO_RXQ_OVFL: libc::c_int = 40;

/// What the control messages of one received datagram said.
#[derive(Clone, Copy, Debug, Default)]
pub struct Control {
    /// IPV6_HOPLIMIT.
    pub hop_limit: Option<u8>,
    /// IPV6_PKTINFO's destination.
    pub dst: Option<Ipv6Addr>,
    /// SO_TIMESTAMPNS (CLOCK_REALTIME seconds, nanoseconds).
    pub stamp: Option<(i64, i64)>,
    /// SO_RXQ_OVFL: packets the socket dropped (receive buffer full) since it was opened, as a
    /// wrapping counter; present once the socket dropped any.
    pub dropped: Option<u32>,
}

/// Read the control messages of a received `msghdr` (its `msg_controllen` as the kernel set it).
pub fn parse_control(msg: &libc::msghdr) -> Control {
    let mut c = Control::default();
    // SAFETY: walking the control buffer the kernel filled, with the libc CMSG macros,
    // bounded by msg_controllen; each payload is read unaligned at its own size.
    unsafe {
        let mut h = libc::CMSG_FIRSTHDR(msg);
        while !h.is_null() {
            let (level, kind) = ((*h).cmsg_level, (*h).cmsg_type);
            let data = libc::CMSG_DATA(h);
            if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_HOPLIMIT {
                let v: libc::c_int = std::ptr::read_unaligned(data.cast());
                c.hop_limit = u8::try_from(v).ok();
            } else if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let v: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                c.dst = Some(Ipv6Addr::from(v.ipi6_addr.s6_addr));
            } else if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
                let v: libc::timespec = std::ptr::read_unaligned(data.cast());
                // time_t and c_long are i64 here, i32 on 32-bit targets.
                #[allow(clippy::useless_conversion)]
                let stamp = (i64::from(v.tv_sec), i64::from(v.tv_nsec));
                c.stamp = Some(stamp);
            } else if level == libc::SOL_SOCKET && kind == SO_RXQ_OVFL {
                c.dropped = Some(std::ptr::read_unaligned(data.cast()));
            }
            h = libc::CMSG_NXTHDR(msg, h);
        }
    }
    c
}

/// `sendmsg` one datagram with one control message whose payload is `T`.
fn send_with_cmsg<T>(
    fd: RawFd,
    name: *const libc::sockaddr,
    namelen: usize,
    payload: &[u8],
    level: libc::c_int,
    kind: libc::c_int,
    data: &T,
) -> io::Result<()> {
    let mut control = [0u64; 8]; // 64 bytes, 8-aligned: fits in6_pktinfo's cmsg
    let data_len = size_of::<T>() as u32;
    // SAFETY: CMSG_SPACE is pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
    if space > size_of::<[u64; 8]>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "control message too large",
        ));
    }
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // SAFETY: plain data.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = name as *mut libc::c_void;
    msg.msg_namelen = namelen as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer holds `space` bytes, enough for one header and `T`; the CMSG
    // macros stay inside it; `data` is copied unaligned at its own size.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no room for cmsg",
            ));
        }
        (*c).cmsg_level = level;
        (*c).cmsg_type = kind;
        (*c).cmsg_len = libc::CMSG_LEN(data_len) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<T>(), std::ptr::read(data));
    }
    // SAFETY: every pointer in `msg` is valid for the call.
    let n = unsafe { libc::sendmsg(fd, &msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Read the IPv4 header a raw socket delivers: source, destination, TTL, and where the VRRP
/// message sits (after the options, up to the total length). `None` for anything that is not a
/// well-formed IPv4 packet of protocol 112.
pub fn parse_ipv4(pkt: &[u8]) -> Option<Datagram> {
    let first = *pkt.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || pkt.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]]));
    if i32::from(pkt[9]) != IPPROTO_VRRP {
        return None;
    }
    // The kernel has already reassembled; trust the smaller of the header's length and what
    // arrived.
    let end = total.min(pkt.len());
    if end < ihl {
        return None;
    }
    let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
    let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
    Some(Datagram {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl: pkt[8],
        start: ihl,
        end,
        stamp: None,
    })
}

/// Join multicast `group` on interface `ifindex` (EADDRINUSE: already joined, fine).
fn join(sock: &Socket, group: IpAddr, ifindex: u32) -> io::Result<()> {
    let r = match group {
        IpAddr::V4(g) => sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex)),
        IpAddr::V6(g) => sock.join_multicast_v6(&g, ifindex),
    };
    match r {
        Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
        r => r,
    }
}

/// The family's VRRP group as an [`IpAddr`] (for tests and logs).
pub fn group(family: Family) -> IpAddr {
    family.multicast_group()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first advert of engine/tests/data/captures/vrrp2-ipv4.pcap (IP header + VRRP), as tshark shows it.
    const V2_IPV4: [u8; 40] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 192, 0, 2, 12, 224,
        0, 0, 18, 0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x00, 0x00, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];

    #[test]
    fn ipv4_header_gives_source_destination_ttl_and_payload() {
        let d = parse_ipv4(&V2_IPV4).unwrap();
        assert_eq!(d.src, "192.0.2.12".parse::<IpAddr>().unwrap());
        assert_eq!(d.dst, "224.0.0.18".parse::<IpAddr>().unwrap());
        assert_eq!(d.ttl, 255);
        assert_eq!((d.start, d.end), (20, 40));
        assert_eq!(V2_IPV4[d.start], 0x21);
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let mut p = V2_IPV4.to_vec();
        p[0] = 0x46; // IHL 6: 4 bytes of options
        p.splice(20..20, [1, 1, 1, 1]);
        p[3] = 44;
        let d = parse_ipv4(&p).unwrap();
        assert_eq!((d.start, d.end), (24, 44));
    }

    #[test]
    fn garbage_is_not_a_datagram() {
        assert_eq!(parse_ipv4(&[]), None);
        assert_eq!(parse_ipv4(&[0x45; 10]), None);
        assert_eq!(parse_ipv4(&[0x65; 40]), None);
        let mut p = V2_IPV4;
        p[0] = 0x4f; // IHL 60 > length
        assert_eq!(parse_ipv4(&p), None);
        let mut p = V2_IPV4;
        p[9] = 6; // TCP
        assert_eq!(parse_ipv4(&p), None);
        let mut p = V2_IPV4;
        p[2] = 0;
        p[3] = 10; // total length shorter than the header
        assert_eq!(parse_ipv4(&p), None);
    }
}
