//! Batched socket I/O: `recvmmsg` to read every queued advert of a socket in one system call,
//! `sendmmsg` to send the adverts one engine call produced (masters on one interval grid fall due
//! together) in one system call per socket.
//!
//! Both keep their buffers between calls (no allocation once warmed up). The receive side builds
//! its `mmsghdr` array, whose pointers point into those buffers, once; the send side rebuilds
//! its own on every call.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::RawFd;

use crate::vrrp_socket::{parse_control, parse_ipv4, Datagram, RECV_BUF_LEN};
use vigil_engine::wire::Family;

/// Datagrams read per `recvmmsg`.
pub const RECV_BATCH: usize = 32;
/// Control buffer per message (8-aligned): hop limit, packet info and a timestamp.
const CTRL_WORDS: usize = 24;

/// Buffers for [`RecvBatch::recv`].
pub struct RecvBatch {
    bufs: Vec<u8>,
    ctrl: Vec<[u64; CTRL_WORDS]>,
    names: Vec<libc::sockaddr_in6>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// The datagrams of the last call; offsets index [`RecvBatch::buf`].
    pub out: Vec<Datagram>,
    /// The socket's drop counter (SO_RXQ_OVFL) as the last datagram of the last call carried
    /// it; `None` when it carried none (the socket never dropped).
    pub dropped: Option<u32>,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch").field("out", &self.out).finish()
    }
}

impl Default for RecvBatch {
    /// The buffers, and the `mmsghdr`s and `iovec`s pointing into them, built once: the
    /// vectors' heap storage never moves (they are never resized), so the pointers stay valid
    /// when the `RecvBatch` itself is moved. [`RecvBatch::recv`] resets only the two lengths the
    /// kernel writes back, in the entries it wrote: rebuilding the 32 headers (2.5 KB, cold
    /// after a sleep) before every call was 1-3 us between a wake-up and its `recvmmsg` (issue
    /// 18, `handover-probe` build).
    fn default() -> Self {
        let mut b = RecvBatch {
            bufs: vec![0; RECV_BATCH * RECV_BUF_LEN],
            ctrl: vec![[0; CTRL_WORDS]; RECV_BATCH],
            // SAFETY: plain data.
            names: vec![unsafe { zeroed() }; RECV_BATCH],
            iovs: Vec::with_capacity(RECV_BATCH),
            hdrs: Vec::with_capacity(RECV_BATCH),
            out: Vec::with_capacity(RECV_BATCH),
            dropped: None,
        };
        for i in 0..RECV_BATCH {
            let slot = &mut b.bufs[i * RECV_BUF_LEN..(i + 1) * RECV_BUF_LEN];
            b.iovs.push(libc::iovec {
                iov_base: slot.as_mut_ptr().cast(),
                iov_len: slot.len(),
            });
        }
        for i in 0..RECV_BATCH {
            // SAFETY: plain data.
            let mut h: libc::mmsghdr = unsafe { zeroed() };
            h.msg_hdr.msg_name = (&mut b.names[i] as *mut libc::sockaddr_in6).cast();
            h.msg_hdr.msg_iov = &mut b.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = b.ctrl[i].as_mut_ptr().cast();
            b.hdrs.push(h);
            reset_lengths(&mut b.hdrs[i]);
        }
        b
    }
}

/// The two lengths of a receive header that the kernel overwrites with what it wrote: the
/// source address's and the control data's buffer sizes.
fn reset_lengths(h: &mut libc::mmsghdr) {
    h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    h.msg_hdr.msg_controllen = size_of::<[u64; CTRL_WORDS]>() as _;
}

impl RecvBatch {
    /// The bytes the datagrams' offsets refer to.
    pub fn buf(&self) -> &[u8] {
        &self.bufs
    }

    /// Read up to [`RECV_BATCH`] datagrams from `fd` without blocking into
    /// [`RecvBatch::out`]; returns how many the kernel gave (malformed ones are counted but
    /// not kept). Fewer than [`RECV_BATCH`] means the queue is empty.
    pub fn recv(&mut self, fd: RawFd, family: Family) -> io::Result<usize> {
        self.out.clear();
        self.dropped = None;
        crate::handover_probe::mark(crate::handover_probe::Stage::RecvIn);
        // SAFETY: every pointer in `hdrs` points into buffers owned by `self` that outlive the
        // call, with the lengths given.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                // c_int in glibc's prototype, c_uint in musl's.
                libc::MSG_DONTWAIT as _,
                std::ptr::null_mut(),
            )
        };
        crate::handover_probe::mark(crate::handover_probe::Stage::RecvOut);
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                // Nothing was received: the kernel wrote no header back.
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => {
                    self.hdrs.iter_mut().for_each(reset_lengths);
                    Err(e)
                }
            };
        }
        let n = usize::try_from(n).unwrap_or(0).min(RECV_BATCH);
        for i in 0..n {
            let len = (self.hdrs[i].msg_len as usize).min(RECV_BUF_LEN);
            let base = i * RECV_BUF_LEN;
            let c = parse_control(&self.hdrs[i].msg_hdr);
            reset_lengths(&mut self.hdrs[i]);
            self.dropped = c.dropped.or(self.dropped);
            let dg = match family {
                Family::V4 => parse_ipv4(&self.bufs[base..base + len]).map(|d| Datagram {
                    start: base + d.start,
                    end: base + d.end,
                    stamp: c.stamp,
                    ..d
                }),
                Family::V6 => {
                    let name = &self.names[i];
                    let src = (i32::from(name.sin6_family) == libc::AF_INET6)
                        .then(|| Ipv6Addr::from(name.sin6_addr.s6_addr));
                    match (src, c.hop_limit, c.dst) {
                        (Some(src), Some(ttl), Some(dst)) => Some(Datagram {
                            src: IpAddr::V6(src),
                            dst: IpAddr::V6(dst),
                            ttl,
                            start: base,
                            end: base + len,
                            stamp: c.stamp,
                        }),
                        _ => None,
                    }
                }
            };
            self.out.extend(dg);
        }
        Ok(n)
    }
}

/// One queued advert.
#[derive(Clone, Copy, Debug)]
struct Queued {
    fd: RawFd,
    ifindex: u32,
    src: IpAddr,
    dst: IpAddr,
    /// A TTL / hop limit other than the socket's 255 (`unicast_ttl`), sent as IP_TTL /
    /// IPV6_HOPLIMIT ancillary data.
    ttl: Option<u8>,
    off: usize,
    len: usize,
    /// Sent on an `AF_PACKET` socket (`VrrpSocket::link_fd`): the bytes start with our IPv4
    /// header and the destination is a link-layer address.
    link: bool,
}

/// Adverts waiting for [`SendBatch::flush`].
#[derive(Default)]
pub struct SendBatch {
    arena: Vec<u8>,
    queued: Vec<Queued>,
    names: Vec<libc::sockaddr_in6>,
    ctrl: Vec<[u64; 8]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// The identification of the last IPv4 header built here ([`SendBatch::push_link`]).
    ip_id: u16,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("queued", &self.queued.len())
            .finish()
    }
}

/// A failed send, for the caller to log.
#[derive(Debug)]
pub struct SendFailure {
    /// The destination.
    pub dst: IpAddr,
    /// Why.
    pub error: io::Error,
}

/// Where one queued message goes: source, destination, and a TTL / hop limit other than the
/// socket's 255 (keepalived's `unicast_ttl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// TTL / hop limit, when not the socket's.
    pub ttl: Option<u8>,
}

impl SendBatch {
    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Queue one VRRP message for socket `fd` (interface `ifindex`), encoded by `encode` into a
    /// buffer of `max` bytes (it returns the length used, or `None` to queue nothing).
    pub fn push(
        &mut self,
        socket: (RawFd, u32),
        to: Outgoing,
        max: usize,
        encode: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) {
        self.enqueue(socket, to, 0, max, encode);
    }

    /// Queue one IPv4 VRRP message for the `AF_PACKET` socket `fd` of interface `ifindex`
    /// (`VrrpSocket::link_fd`), behind an IPv4 header built here (`vigil_engine::wire::ipv4`: TOS
    /// 0xc0, protocol 112, TTL `to.ttl` or 255, the next identification). Nothing is queued for an IPv6 address.
    pub fn push_link(
        &mut self,
        socket: (RawFd, u32),
        to: Outgoing,
        max: usize,
        encode: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) {
        let (IpAddr::V4(s4), IpAddr::V4(d4)) = (to.src, to.dst) else {
            return;
        };
        let ttl = to.ttl.unwrap_or(255);
        if let Some((off, len)) = self.enqueue(socket, to, 20, max, encode) {
            self.ip_id = self.ip_id.wrapping_add(1);
            let h = vigil_engine::wire::ipv4::Header {
                src: s4,
                dst: d4,
                id: self.ip_id,
                proto: crate::vrrp_socket::IPPROTO_VRRP as u8,
                tos: crate::vrrp_socket::VRRP_TOS as u8,
                ttl,
            }
            .emit(len);
            self.arena[off..off + 20].copy_from_slice(&h);
        }
    }

    /// Encode a message into the arena after `head` bytes kept for a header of our own (0: the
    /// raw socket's, which has none; 20: the packet socket's IPv4 header, its TTL then in the
    /// header, not in a control message) and queue it; returns its offset and the message's
    /// own length, or `None` when `encode` gave nothing.
    fn enqueue(
        &mut self,
        (fd, ifindex): (RawFd, u32),
        to: Outgoing,
        head: usize,
        max: usize,
        encode: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Option<(usize, usize)> {
        let Outgoing { src, dst, ttl } = to;
        let off = self.arena.len();
        self.arena.resize(off + head + max, 0);
        let Some(len) = encode(&mut self.arena[off + head..]) else {
            self.arena.truncate(off);
            return None;
        };
        self.arena.truncate(off + head + len);
        let link = head > 0;
        self.queued.push(Queued {
            fd,
            ifindex,
            src,
            dst,
            ttl: if link { None } else { ttl },
            off,
            len: head + len,
            link,
        });
        Some((off, len))
    }

    /// Send everything queued, one `sendmmsg` per run of messages for the same socket, in
    /// order. Returns the failures.
    pub fn flush(&mut self) -> Vec<SendFailure> {
        let mut failures = Vec::new();
        let mut start = 0;
        while start < self.queued.len() {
            let fd = self.queued[start].fd;
            let end = self.queued[start..]
                .iter()
                .position(|q| q.fd != fd)
                .map_or(self.queued.len(), |p| start + p)
                .min(start + 1024);
            self.send_run(start, end, &mut failures);
            start = end;
        }
        self.queued.clear();
        self.arena.clear();
        failures
    }

    fn send_run(&mut self, start: usize, end: usize, failures: &mut Vec<SendFailure>) {
        let n = end - start;
        self.names.clear();
        self.ctrl.clear();
        self.iovs.clear();
        self.hdrs.clear();
        let fd = self.queued[start].fd;
        for q in &self.queued[start..end] {
            // SAFETY: plain data.
            let mut name: libc::sockaddr_in6 = unsafe { zeroed() };
            let mut ctrl = [0u64; 8];
            match (q.src, q.dst) {
                (_, IpAddr::V4(d)) if q.link => {
                    // SAFETY: a sockaddr_ll (20 bytes) fits in a sockaddr_in6 (28); plain data.
                    let ll = unsafe {
                        &mut *(&mut name as *mut libc::sockaddr_in6).cast::<libc::sockaddr_ll>()
                    };
                    ll.sll_family = libc::AF_PACKET as u16;
                    ll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
                    ll.sll_ifindex = q.ifindex as i32;
                    ll.sll_halen = 6;
                    let o = d.octets();
                    ll.sll_addr[..6].copy_from_slice(&[0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]);
                }
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    // SAFETY: a sockaddr_in fits in a sockaddr_in6; plain data.
                    let sin = unsafe {
                        &mut *(&mut name as *mut libc::sockaddr_in6).cast::<libc::sockaddr_in>()
                    };
                    sin.sin_family = libc::AF_INET as libc::sa_family_t;
                    sin.sin_addr.s_addr = u32::from_ne_bytes(d.octets());
                    // SAFETY: plain data.
                    let mut info: libc::in_pktinfo = unsafe { zeroed() };
                    info.ipi_ifindex = q.ifindex as libc::c_int;
                    info.ipi_spec_dst.s_addr = u32::from_ne_bytes(s.octets());
                    write_cmsg(&mut ctrl, libc::IPPROTO_IP, libc::IP_PKTINFO, &info);
                    if let Some(t) = q.ttl {
                        let at = cmsg_space(q.src);
                        write_cmsg_at(&mut ctrl, at, libc::IPPROTO_IP, libc::IP_TTL, &c_int(t));
                    }
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    name.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                    name.sin6_addr.s6_addr = d.octets();
                    if d.is_multicast() || (d.segments()[0] & 0xffc0) == 0xfe80 {
                        name.sin6_scope_id = q.ifindex;
                    }
                    // SAFETY: plain data.
                    let mut info: libc::in6_pktinfo = unsafe { zeroed() };
                    info.ipi6_ifindex = q.ifindex;
                    info.ipi6_addr.s6_addr = s.octets();
                    write_cmsg(&mut ctrl, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &info);
                    if let Some(t) = q.ttl {
                        let at = cmsg_space(q.src);
                        write_cmsg_at(
                            &mut ctrl,
                            at,
                            libc::IPPROTO_IPV6,
                            libc::IPV6_HOPLIMIT,
                            &c_int(t),
                        );
                    }
                }
                _ => {}
            }
            self.names.push(name);
            self.ctrl.push(ctrl);
            self.iovs.push(libc::iovec {
                iov_base: self.arena[q.off..].as_ptr() as *mut libc::c_void,
                iov_len: q.len,
            });
        }
        for (i, q) in self.queued[start..end].iter().enumerate() {
            // SAFETY: plain data.
            let mut h: libc::mmsghdr = unsafe { zeroed() };
            h.msg_hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_in6).cast();
            h.msg_hdr.msg_namelen = if q.link {
                size_of::<libc::sockaddr_ll>()
            } else if q.dst.is_ipv4() {
                size_of::<libc::sockaddr_in>()
            } else {
                size_of::<libc::sockaddr_in6>()
            } as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            if !q.link {
                h.msg_hdr.msg_control = self.ctrl[i].as_mut_ptr().cast();
                h.msg_hdr.msg_controllen =
                    (cmsg_space(q.src) + q.ttl.map_or(0, |_| ttl_space())) as _;
            }
            self.hdrs.push(h);
        }
        let mut done = 0;
        while done < n {
            // SAFETY: every pointer in `hdrs` points into buffers owned by `self`.
            let r = unsafe {
                sendmmsg(
                    fd,
                    self.hdrs[done..].as_mut_ptr(),
                    (n - done) as libc::c_uint,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // The first unsent message failed: report it and go on with the next.
                failures.push(SendFailure {
                    dst: self.queued[start + done].dst,
                    error: e,
                });
                done += 1;
            } else {
                done += usize::try_from(r).unwrap_or(0).max(1);
            }
        }
    }
}

/// `sendmmsg(2)` as the system call. musl's wrapper sends one `sendmsg` per message on 64-bit
/// targets (its `msghdr` and `cmsghdr` have padding where the kernel has `size_t` fields); every
/// header and control buffer here is zeroed before it is filled, so that padding is zero and the
/// kernel can take the batch as it is. glibc's wrapper is the system call.
///
/// # Safety
/// `hdrs` must point to `n` valid headers whose buffers outlive the call.
unsafe fn sendmmsg(fd: RawFd, hdrs: *mut libc::mmsghdr, n: libc::c_uint) -> libc::c_int {
    #[cfg(target_env = "musl")]
    {
        libc::syscall(libc::SYS_sendmmsg, fd, hdrs, n, 0) as libc::c_int
    }
    #[cfg(not(target_env = "musl"))]
    {
        libc::sendmmsg(fd, hdrs, n, 0)
    }
}

fn cmsg_space(src: IpAddr) -> usize {
    let len = match src {
        IpAddr::V4(_) => size_of::<libc::in_pktinfo>(),
        IpAddr::V6(_) => size_of::<libc::in6_pktinfo>(),
    };
    // SAFETY: pure arithmetic.
    unsafe { libc::CMSG_SPACE(len as u32) as usize }
}

/// The TTL / hop limit as the `int` that IP_TTL and IPV6_HOPLIMIT carry.
fn c_int(ttl: u8) -> libc::c_int {
    libc::c_int::from(ttl)
}

/// The space of an IP_TTL / IPV6_HOPLIMIT control message.
fn ttl_space() -> usize {
    // SAFETY: pure arithmetic.
    unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) as usize }
}

/// Write one control message carrying `data` at byte `at` of `ctrl` (after the messages before
/// it, at a CMSG_SPACE boundary); nothing when it would not fit.
fn write_cmsg_at<T>(
    ctrl: &mut [u64; 8],
    at: usize,
    level: libc::c_int,
    kind: libc::c_int,
    data: &T,
) {
    // SAFETY: pure arithmetic.
    let space = unsafe { libc::CMSG_SPACE(size_of::<T>() as u32) as usize };
    if !at.is_multiple_of(size_of::<u64>()) || at + space > size_of::<[u64; 8]>() {
        return;
    }
    let mut rest = [0u64; 8];
    write_cmsg(&mut rest, level, kind, data);
    let words = space / size_of::<u64>();
    let first = at / size_of::<u64>();
    ctrl[first..first + words].copy_from_slice(&rest[..words]);
}

/// Write one control message carrying `data` at the start of `ctrl`.
fn write_cmsg<T>(ctrl: &mut [u64; 8], level: libc::c_int, kind: libc::c_int, data: &T) {
    // SAFETY: a msghdr is needed only for CMSG_FIRSTHDR; the buffer is 64 bytes, 8-aligned,
    // enough for one header and an in6_pktinfo (CMSG_SPACE(20) = 40); `data` is copied
    // unaligned at its own size.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = ctrl.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>() as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return;
        }
        (*c).cmsg_level = level;
        (*c).cmsg_type = kind;
        (*c).cmsg_len = libc::CMSG_LEN(size_of::<T>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<T>(), std::ptr::read(data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn on(fd: RawFd, level: libc::c_int, name: libc::c_int) {
        crate::vrrp_socket::setsockopt_int(fd, level, name, 1).expect("setsockopt");
    }

    /// The headers are built once and reused: the lengths the kernel wrote back in one call
    /// must not limit the next. Here the first datagram carries two control messages and the
    /// second three (SO_TIMESTAMPNS turned on between the calls): with the first call's
    /// control length left in place, the second's timestamp would be cut off (MSG_CTRUNC).
    #[test]
    fn reused_headers_take_a_longer_control_block_and_address_next_time() {
        // The IPv6 loopback: every machine this suite runs on has it; without it the test
        // fails here (a test that returned early would show up as passed).
        let rx = UdpSocket::bind("[::1]:0").expect("this test needs the IPv6 loopback [::1]");
        let tx = UdpSocket::bind("[::1]:0").unwrap();
        let fd = rx.as_raw_fd();
        on(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT);
        on(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO);
        let mut b = RecvBatch::default();
        tx.send_to(b"one", rx.local_addr().unwrap()).unwrap();
        assert_eq!(b.recv(fd, Family::V6).unwrap(), 1);
        assert_eq!(b.out.len(), 1);
        assert_eq!(b.out[0].stamp, None);
        assert_eq!(&b.buf()[b.out[0].start..b.out[0].end], b"one");
        on(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS);
        for _ in 0..2 {
            tx.send_to(b"two!", rx.local_addr().unwrap()).unwrap();
            assert_eq!(b.recv(fd, Family::V6).unwrap(), 1);
            assert_eq!(b.out.len(), 1, "source, hop limit and destination all read");
            let d = b.out[0];
            assert_eq!(d.src, tx.local_addr().unwrap().ip());
            assert_eq!(d.dst, rx.local_addr().unwrap().ip());
            assert!(d.stamp.is_some(), "the timestamp was cut off");
            assert_eq!(&b.buf()[d.start..d.end], b"two!");
        }
        assert_eq!(b.recv(fd, Family::V6).unwrap(), 0);
    }

    /// The IPv4 header of an advert sent on the packet socket (`SendBatch::push_link`): what
    /// the receive side parses back (source, destination, TTL, where the VRRP message starts and
    /// ends), TOS 0xc0, DF clear, protocol 112, an identification that counts, and a header
    /// checksum that verifies (RFC 791: the one's complement sum of the header is 0xffff).
    #[test]
    fn push_link_builds_the_ipv4_header_the_raw_socket_sent() {
        use std::net::Ipv4Addr;
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 11), Ipv4Addr::new(224, 0, 0, 18));
        let mut b = SendBatch::default();
        for _ in 0..2 {
            b.push_link(
                (-1, 7),
                Outgoing {
                    src: IpAddr::V4(src),
                    dst: IpAddr::V4(dst),
                    ttl: None,
                },
                64,
                |buf| {
                    buf[..12].copy_from_slice(b"0123456789ab");
                    Some(12)
                },
            );
        }
        assert_eq!(b.queued.len(), 2);
        for (k, q) in b.queued.iter().enumerate() {
            assert!(q.link);
            assert_eq!(q.len, 32);
            let pkt = &b.arena[q.off..q.off + q.len];
            let d = parse_ipv4(pkt).expect("parsed back");
            assert_eq!(
                (d.src, d.dst, d.ttl),
                (IpAddr::V4(src), IpAddr::V4(dst), 255)
            );
            assert_eq!(&pkt[d.start..d.end], b"0123456789ab");
            assert_eq!(pkt[1], 0xc0, "TOS");
            assert_eq!(pkt[6] & 0x40, 0, "DF clear");
            assert_eq!(
                u16::from_be_bytes([pkt[4], pkt[5]]),
                k as u16 + 1,
                "identification"
            );
            let mut sum: u32 = pkt[..20]
                .chunks_exact(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            while sum >> 16 != 0 {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            assert_eq!(sum, 0xffff, "header checksum");
        }
        // A configured TTL (unicast_ttl) is the header's; IPv6 is not queued here.
        b.push_link(
            (-1, 7),
            Outgoing {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                ttl: Some(7),
            },
            64,
            |_| Some(0),
        );
        assert_eq!(b.arena[b.queued[2].off + 8], 7);
        b.push_link(
            (-1, 7),
            Outgoing {
                src: IpAddr::V6(Ipv6Addr::LOCALHOST),
                dst: IpAddr::V6(Ipv6Addr::LOCALHOST),
                ttl: None,
            },
            64,
            |_| Some(0),
        );
        assert_eq!(b.queued.len(), 3);
    }
}
