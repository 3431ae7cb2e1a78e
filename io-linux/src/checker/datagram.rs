//! Datagram checks without blocking: UDP_CHECK (keepalived `check_udp.c`: an ICMP error such as
//! port unreachable fails the check; with `require_reply`, a reply must come and match), DNS_CHECK
//! (`check_dns.c`: a query with recursion desired must be answered with the same id, QR set and
//! RCODE 0; messages built and parsed with hickory-proto) and PING_CHECK (`check_ping.c`: an
//! ICMP or ICMPv6 echo must be answered; raw sockets, vigild keeps CAP_NET_RAW).
//!
//! A UDP_CHECK without `require_reply` that hears nothing passes at its deadline: that rule is the
//! engine's ([`vigil_engine::checker::CheckerSpec::silence_passes`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vigil_engine::checker::CheckOutcome;
use vigil_engine::conf::{ConnectOpts, DnsType};

use super::net::Step;
use super::Probe;

fn fail(w: impl Into<String>) -> Step {
    Step::Done(CheckOutcome::Failure(w.into()))
}

/// A datagram socket of `ty` / `proto`, with the checker's options, connected to its
/// destination (`port` 0 for raw ICMP).
fn dgram(conn: &ConnectOpts, ty: Type, proto: Protocol, port: u16) -> io::Result<Socket> {
    let domain = match conn.dst {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let sock = Socket::new(domain, ty.nonblocking().cloexec(), Some(proto))?;
    if let Some(m) = conn.fwmark {
        sock.set_mark(m)?;
    }
    if let Some(dev) = &conn.bind_if {
        sock.bind_device(Some(dev.as_bytes()))?;
    }
    if conn.bindto.is_some() || conn.bind_port.is_some() {
        let ip = conn.bindto.unwrap_or(match conn.dst {
            IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
            IpAddr::V6(_) => IpAddr::from([0u16; 8]),
        });
        sock.bind(&SockAddr::from(SocketAddr::new(
            ip,
            conn.bind_port.unwrap_or(0),
        )))?;
    }
    sock.connect(&SockAddr::from(SocketAddr::new(conn.dst, port)))?;
    Ok(sock)
}

fn recv(sock: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length; recv(2) writes at most that much.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn icmp_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "port unreachable".into(),
        Some(libc::EHOSTUNREACH) => "host unreachable".into(),
        Some(libc::ENETUNREACH) => "network unreachable".into(),
        _ => format!("receive: {e}"),
    }
}

/// What a UDP_CHECK reply must look like.
#[derive(Clone, Debug)]
pub(super) struct UdpSpec {
    /// Bytes to send.
    pub payload: Vec<u8>,
    /// `require_reply`: `Some(pattern)` (possibly empty) when a reply is required.
    pub require_reply: Option<Vec<(u8, u8)>>,
    /// `min_reply_length`.
    pub min_len: u16,
    /// `max_reply_length`.
    pub max_len: u16,
}

/// keepalived's reply check: only with a pattern, the length must be within bounds and the
/// compared bits of the first min(pattern, reply) bytes must match.
pub(super) fn reply_matches(spec: &UdpSpec, reply: &[u8]) -> bool {
    let Some(pattern) = &spec.require_reply else {
        return true;
    };
    if pattern.is_empty() {
        return true;
    }
    if reply.len() < usize::from(spec.min_len) || reply.len() > usize::from(spec.max_len) {
        return false;
    }
    pattern
        .iter()
        .zip(reply)
        .all(|(&(want, mask), &got)| (want ^ got) & mask == 0)
}

/// A UDP_CHECK run.
#[derive(Debug)]
pub(super) struct UdpJob {
    sock: Socket,
    spec: UdpSpec,
}

impl UdpJob {
    /// Sends the payload.
    pub(super) fn start(conn: &ConnectOpts, spec: UdpSpec) -> Result<UdpJob, CheckOutcome> {
        let sock = dgram(conn, Type::DGRAM, Protocol::UDP, conn.port)
            .map_err(|e| CheckOutcome::Failure(format!("socket: {e}")))?;
        sock.send(&spec.payload)
            .map_err(|e| CheckOutcome::Failure(icmp_error(&e)))?;
        Ok(UdpJob { sock, spec })
    }
}

impl Probe for UdpJob {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn first_wait(&self) -> bool {
        false
    }

    fn on_ready(&mut self) -> Step {
        let mut buf = vec![0u8; usize::from(self.spec.max_len).max(1) + 1];
        match recv(&self.sock, &mut buf) {
            Ok(n) if reply_matches(&self.spec, &buf[..n]) => Step::Done(CheckOutcome::Success),
            Ok(n) => fail(format!("reply of {n} bytes does not match")),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Wait(false),
            Err(e) => fail(icmp_error(&e)),
        }
    }
}

/// A DNS_CHECK run.
#[derive(Debug)]
pub(super) struct DnsJob {
    sock: Socket,
    id: u16,
}

impl DnsJob {
    /// Sends the query (`id` should vary between runs).
    pub(super) fn start(
        conn: &ConnectOpts,
        qtype: DnsType,
        name: &str,
        id: u16,
    ) -> Result<DnsJob, CheckOutcome> {
        let name = Name::from_ascii(name)
            .map_err(|e| CheckOutcome::Failure(format!("name {name}: {e}")))?;
        let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
        msg.metadata.recursion_desired = true;
        msg.add_query(Query::query(name, RecordType::from(qtype.code())));
        let bytes = msg
            .to_vec()
            .map_err(|e| CheckOutcome::Failure(format!("query: {e}")))?;
        let sock = dgram(conn, Type::DGRAM, Protocol::UDP, conn.port)
            .map_err(|e| CheckOutcome::Failure(format!("socket: {e}")))?;
        sock.send(&bytes)
            .map_err(|e| CheckOutcome::Failure(icmp_error(&e)))?;
        Ok(DnsJob { sock, id })
    }
}

impl Probe for DnsJob {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn first_wait(&self) -> bool {
        false
    }

    fn on_ready(&mut self) -> Step {
        let mut buf = [0u8; 4096];
        loop {
            let n = match recv(&self.sock, &mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait(false),
                Err(e) => return fail(icmp_error(&e)),
            };
            // keepalived ignores what is not the answer (too short, another id, not a
            // response) and keeps waiting.
            let Ok(m) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if m.metadata.id != self.id || m.metadata.message_type != MessageType::Response {
                continue;
            }
            return match m.metadata.response_code {
                ResponseCode::NoError => Step::Done(CheckOutcome::Success),
                rc => fail(format!("rcode {rc}")),
            };
        }
    }
}

/// The Internet checksum (RFC 1071) of an ICMP message: the workspace's one sum
/// (`vigil_engine::wire::checksum`).
fn inet_checksum(data: &[u8]) -> u16 {
    vigil_engine::wire::checksum::checksum(vigil_engine::wire::checksum::sum(0, data))
}

/// A PING_CHECK run.
#[derive(Debug)]
pub(super) struct PingJob {
    sock: Socket,
    v6: bool,
    ident: u16,
    seq: u16,
}

impl PingJob {
    /// Sends one echo request with identifier `ident` and sequence `seq`.
    pub(super) fn start(conn: &ConnectOpts, ident: u16, seq: u16) -> Result<PingJob, CheckOutcome> {
        let v6 = conn.dst.is_ipv6();
        let proto = if v6 {
            Protocol::ICMPV6
        } else {
            Protocol::ICMPV4
        };
        let sock = dgram(conn, Type::RAW, proto, 0)
            .map_err(|e| CheckOutcome::Failure(format!("socket: {e}")))?;
        let mut pkt = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
        pkt.extend_from_slice(&ident.to_be_bytes());
        pkt.extend_from_slice(&seq.to_be_bytes());
        pkt.extend_from_slice(b"vigil-ck");
        if !v6 {
            // The kernel fills the ICMPv6 checksum (it needs the pseudo-header); ICMP's is ours.
            let c = inet_checksum(&pkt);
            pkt[2..4].copy_from_slice(&c.to_be_bytes());
        }
        sock.send(&pkt)
            .map_err(|e| CheckOutcome::Failure(format!("send: {e}")))?;
        Ok(PingJob {
            sock,
            v6,
            ident,
            seq,
        })
    }

    /// Whether `data` (what a raw socket hands back) is our echo reply.
    fn is_reply(&self, data: &[u8]) -> bool {
        let icmp = if self.v6 {
            data
        } else {
            let ihl = usize::from(data.first().map_or(0, |b| b & 0x0f)) * 4;
            data.get(ihl..).unwrap_or(&[])
        };
        let want = if self.v6 { 129 } else { 0 };
        icmp.len() >= 8
            && icmp[0] == want
            && icmp[4..6] == self.ident.to_be_bytes()
            && icmp[6..8] == self.seq.to_be_bytes()
    }
}

impl Probe for PingJob {
    fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    fn first_wait(&self) -> bool {
        false
    }

    fn on_ready(&mut self) -> Step {
        let mut buf = [0u8; 1500];
        loop {
            match recv(&self.sock, &mut buf) {
                Ok(n) if self.is_reply(&buf[..n]) => return Step::Done(CheckOutcome::Success),
                Ok(_) => continue, // another echo, or our own request on loopback
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait(false),
                Err(e) => return fail(format!("receive: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    fn conn(port: u16) -> ConnectOpts {
        ConnectOpts {
            dst: IpAddr::from([127, 0, 0, 1]),
            port,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(2),
        }
    }

    fn drive(job: &mut dyn Probe) -> Option<CheckOutcome> {
        for _ in 0..50 {
            let mut p = libc::pollfd {
                fd: job.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut p, 1, 1000) };
            if r == 0 {
                return None; // silence
            }
            if let Step::Done(o) = job.on_ready() {
                return Some(o);
            }
        }
        None
    }

    #[test]
    fn udp_port_unreachable_fails_and_a_matching_reply_passes() {
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let spec = UdpSpec {
            payload: b"ping".to_vec(),
            require_reply: None,
            min_len: 0,
            max_len: 255,
        };
        let mut job = UdpJob::start(&conn(port), spec.clone()).unwrap();
        assert!(
            matches!(drive(&mut job), Some(CheckOutcome::Failure(w)) if w == "port unreachable")
        );

        let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = echo.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut b = [0u8; 64];
            let (n, from) = echo.recv_from(&mut b).unwrap();
            echo.send_to(&b[..n], from).unwrap();
        });
        let spec = UdpSpec {
            require_reply: Some(vec![(b'p', 0xff), (0, 0), (b'n', 0xff)]),
            ..spec
        };
        let mut job = UdpJob::start(&conn(port), spec.clone()).unwrap();
        assert_eq!(drive(&mut job), Some(CheckOutcome::Success));
        t.join().unwrap();
        assert!(reply_matches(&spec, b"pong"));
        assert!(!reply_matches(&spec, b"poxg"));
    }

    #[test]
    fn dns_answer_with_the_same_id_and_no_error_passes() {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = srv.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            for rc in [ResponseCode::NoError, ResponseCode::ServFail] {
                let mut b = [0u8; 512];
                let (n, from) = srv.recv_from(&mut b).unwrap();
                let q = Message::from_vec(&b[..n]).unwrap();
                assert!(q.metadata.recursion_desired);
                assert_eq!(q.queries[0].query_type(), RecordType::SOA);
                // A stray answer with another id first: ignored.
                let stray = Message::response(q.metadata.id ^ 1, OpCode::Query);
                srv.send_to(&stray.to_vec().unwrap(), from).unwrap();
                let mut r = Message::response(q.metadata.id, OpCode::Query);
                r.metadata.response_code = rc;
                srv.send_to(&r.to_vec().unwrap(), from).unwrap();
            }
        });
        let mut job = DnsJob::start(&conn(port), DnsType::Soa, ".", 0x1234).unwrap();
        assert_eq!(drive(&mut job), Some(CheckOutcome::Success));
        let mut job = DnsJob::start(&conn(port), DnsType::Soa, ".", 0x1235).unwrap();
        assert!(matches!(drive(&mut job), Some(CheckOutcome::Failure(w)) if w.contains("rcode")));
        t.join().unwrap();
    }

    #[test]
    fn checksum_of_an_echo_request() {
        // type 8, code 0, id 1, seq 1: the sum of the words is 0x0802.
        let pkt = [8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(inet_checksum(&pkt), !0x0802);
    }

    #[test]
    fn ping_loopback_when_raw_sockets_are_allowed() {
        let mut job = match PingJob::start(&conn(0), 0x4242, 7) {
            Ok(j) => j,
            Err(e) => {
                // Without CAP_NET_RAW (not root) the raw socket is refused: say so loudly.
                eprintln!("PING_CHECK test NOT RUN: {e:?} (needs CAP_NET_RAW)");
                // SAFETY: geteuid has no preconditions.
                assert_ne!(unsafe { libc::geteuid() }, 0, "root must be able to ping");
                return;
            }
        };
        assert_eq!(drive(&mut job), Some(CheckOutcome::Success));
    }
}
