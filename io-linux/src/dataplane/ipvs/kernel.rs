// Long: the whole IPVS generic netlink exchange (family lookup, commands, dumps, reconciliation) with its byte-level tests.
//! The IPVS backend's exchange with the kernel over generic netlink: resolving the `IPVS`
//! family (`CTRL_CMD_GETFAMILY`, netlink-packet-generic), requests with acknowledgements,
//! `GET_SERVICE` / `GET_DEST` dumps parsed back into services and destinations, and the
//! reconciliation of the kernel's table with the engine's.
//!
//! Layouts are those of the kernel's `include/uapi/linux/ip_vs.h` (`IPVS_CMD_*`,
//! `IPVS_SVC_ATTR_*`, `IPVS_DEST_ATTR_*`, `struct ip_vs_flags`) and of
//! `include/uapi/linux/netlink.h` (`struct nlmsghdr`, `struct nlmsgerr`, `NLMSG_ERROR`,
//! `NLMSG_DONE`, `NLM_F_DUMP`). **Never live-tested**: the machine this was written on has no
//! IPVS (`CONFIG_IP_VS` is not set); the bytes of every request and the parsing of replies of
//! the kernel's shape are unit-tested (`tests.rs`), and live only the failed family lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLA_F_NESTED, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::{nlas::GenlCtrlAttrs, GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use tracing::{debug, info, warn};
use vigil_engine::conf::{Forwarding, VirtualServer};
use vigil_engine::dataplane::lvs::LvsAction;
use vigil_engine::dataplane::ServiceTable;

use super::global::{self, KernelTimeouts};
use super::{cmd, dest, message, services, CmdAttr, DestAttr, Instance, SvcAttr, GENL_NAME};
use crate::dataplane::{Backend, Service};

/// `IPVS_CMD_GET_SERVICE`, `IPVS_CMD_GET_DEST` (ip_vs.h).
pub const GET_SERVICE: u8 = 4;
/// `IPVS_CMD_GET_DEST`.
pub const GET_DEST: u8 = 8;

/// `NLMSG_ERROR`, `NLMSG_DONE` (netlink.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;
/// `IP_VS_SVC_F_HASHED`: the kernel's own bookkeeping bit, reported in dumps, never sent.
const SVC_F_HASHED: u32 = 0x0002;

/// A dump request: like [`message`] but `NLM_F_REQUEST | NLM_F_DUMP` (no ACK: a dump ends with
/// `NLMSG_DONE`).
pub fn dump_message(family_id: u16, seq: u32, cmd: u8, attrs: &[CmdAttr]) -> Vec<u8> {
    let mut b = message(family_id, seq, cmd, attrs);
    b[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b
}

/// The `CTRL_CMD_GETFAMILY` request for the `IPVS` family (netlink-packet-generic's encoding).
pub fn family_request(seq: u32) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(GENL_NAME.to_string())],
    });
    genl.finalize();
    let mut msg = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(genl));
    msg.header.flags = NLM_F_REQUEST;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut out = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut out);
    out
}

/// The family id in a reply to [`family_request`], or the errno of the kernel's error
/// (`ENOENT`: no such family, the kernel has no IPVS).
pub fn parse_family_reply(buf: &[u8], seq: u32) -> Result<Option<u16>, Errno> {
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32::from_ne_bytes(read4(buf, at)) as usize;
        if len < 16 || at + len > buf.len() {
            return Err(Errno(libc::EBADMSG));
        }
        let one = &buf[at..at + len];
        at += (len + 3) & !3;
        let m = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(one)
            .map_err(|_| Errno(libc::EBADMSG))?;
        if m.header.sequence_number != seq {
            continue;
        }
        match m.payload {
            NetlinkPayload::Error(e) => {
                return match e.code {
                    Some(c) => Err(Errno(c.get().abs())),
                    None => Ok(None),
                }
            }
            NetlinkPayload::InnerMessage(g) => {
                for nla in g.payload.nlas {
                    if let GenlCtrlAttrs::FamilyId(id) = nla {
                        return Ok(Some(id));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// An errno from the kernel (positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

/// What the kernel's errno means for this command (keepalived's `ipvs_strerror` table, from
/// libipvs.c, then strerror).
pub fn explain(command: u8, e: Errno) -> String {
    let specific = match (command, e.0) {
        (cmd::NEW_SERVICE, libc::EEXIST) => Some("service already exists"),
        (cmd::NEW_SERVICE | cmd::SET_SERVICE, libc::ENOENT) => {
            Some("scheduler or persistence engine not found (is its ip_vs_<name> module built?)")
        }
        (cmd::NEW_DEST, libc::EEXIST) => Some("destination already exists"),
        (cmd::SET_DEST | cmd::DEL_DEST, libc::ENOENT) => Some("no such destination"),
        (cmd::NEW_DAEMON, libc::EEXIST) => Some("the sync daemon already runs"),
        (cmd::DEL_DAEMON, libc::ESRCH) => Some("no sync daemon is running"),
        (cmd::NEW_DAEMON, libc::ENODEV) => Some("no such interface for the sync daemon"),
        (_, libc::ESRCH) => Some("no such service"),
        (_, libc::EPERM) => Some("permission denied (CAP_NET_ADMIN is needed)"),
        (_, libc::EINVAL) => {
            Some("invalid operation (a wrong attribute, an address that is not unicast, ...)")
        }
        (_, libc::ENOPROTOOPT) => Some("protocol not available"),
        (_, libc::ENOMEM) => Some("the kernel is out of memory"),
        (_, libc::EOPNOTSUPP) => Some("operation not supported with IPv6"),
        (_, libc::EAFNOSUPPORT) => Some("operation not supported with this address family"),
        (_, libc::EMSGSIZE) => Some("the ip_vs module is of another version"),
        _ => None,
    };
    let os = std::io::Error::from_raw_os_error(e.0);
    match specific {
        Some(s) => format!("{s} (errno {}: {os})", e.0),
        None => format!("errno {}: {os}", e.0),
    }
}

/// The name of an IPVS command in messages.
pub fn command_name(c: u8) -> &'static str {
    match c {
        cmd::NEW_SERVICE => "NEW_SERVICE",
        cmd::SET_SERVICE => "SET_SERVICE",
        cmd::DEL_SERVICE => "DEL_SERVICE",
        GET_SERVICE => "GET_SERVICE",
        cmd::NEW_DEST => "NEW_DEST",
        cmd::SET_DEST => "SET_DEST",
        cmd::DEL_DEST => "DEL_DEST",
        GET_DEST => "GET_DEST",
        cmd::NEW_DAEMON => "NEW_DAEMON",
        cmd::DEL_DAEMON => "DEL_DAEMON",
        cmd::SET_CONFIG => "SET_CONFIG",
        cmd::GET_CONFIG => "GET_CONFIG",
        cmd::FLUSH => "FLUSH",
        _ => "IPVS command",
    }
}

/// One message of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `NLMSG_ERROR` with error 0: the acknowledgement.
    Ack,
    /// `NLMSG_ERROR` with an error.
    Error(Errno),
    /// `NLMSG_DONE`: the end of a dump.
    Done,
    /// A message of the IPVS family: its command and its attributes' bytes.
    Data {
        /// The generic netlink command (`IPVS_CMD_NEW_SERVICE` / `NEW_DEST` in dumps).
        cmd: u8,
        /// The attributes after the generic netlink header.
        attrs: Vec<u8>,
    },
}

fn read4(b: &[u8], at: usize) -> [u8; 4] {
    let mut x = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        x.copy_from_slice(s);
    }
    x
}

/// The messages of `seq` in a datagram from the kernel (others are skipped). A truncated or
/// malformed datagram is an error (`EBADMSG`), never a panic.
pub fn parse_replies(buf: &[u8], seq: u32) -> Result<Vec<Reply>, Errno> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32::from_ne_bytes(read4(buf, at)) as usize;
        if len < 16 || at + len > buf.len() {
            return Err(Errno(libc::EBADMSG));
        }
        let ty = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
        let mseq = u32::from_ne_bytes(read4(buf, at + 8));
        let body = &buf[at + 16..at + len];
        at += (len + 3) & !3;
        if mseq != seq {
            continue;
        }
        out.push(match ty {
            NLMSG_ERROR => {
                if body.len() < 4 {
                    return Err(Errno(libc::EBADMSG));
                }
                match i32::from_ne_bytes(read4(body, 0)) {
                    0 => Reply::Ack,
                    e => Reply::Error(Errno(e.saturating_abs())),
                }
            }
            NLMSG_DONE => Reply::Done,
            _ => {
                if body.len() < 4 {
                    return Err(Errno(libc::EBADMSG));
                }
                Reply::Data {
                    cmd: body[0],
                    attrs: body[4..].to_vec(),
                }
            }
        });
    }
    Ok(out)
}

/// (kind without the nested flag, value) of each attribute (`struct nlattr`: u16 length
/// including the 4-byte header, u16 type, value padded to 4 bytes); a malformed one ends the
/// list.
fn nlas(b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut v = Vec::new();
    let mut at = 0;
    while at + 4 <= b.len() {
        let len = usize::from(u16::from_ne_bytes([b[at], b[at + 1]]));
        let kind = u16::from_ne_bytes([b[at + 2], b[at + 3]]);
        if len < 4 || at + len > b.len() {
            break;
        }
        v.push((kind & !NLA_F_NESTED, &b[at + 4..at + len]));
        at += (len + 3) & !3;
    }
    v
}

fn u16_of(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.get(..2)?.try_into().ok()?))
}

fn u32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

fn be16_of(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))
}

fn addr_of(af: u16, v: &[u8]) -> Option<IpAddr> {
    if i32::from(af) == libc::AF_INET6 {
        let b: [u8; 16] = v.get(..16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    } else {
        let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    }
}

/// What identifies an IPVS service.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SvcKey {
    /// Address family, protocol, address, port.
    Addr(u16, u16, IpAddr, u16),
    /// Address family, firewall mark.
    Fwmark(u16, u32),
}

impl SvcKey {
    /// The key among a service's attributes (as [`service`] or a dump gives them).
    pub fn of(attrs: &[SvcAttr]) -> Option<SvcKey> {
        let (mut af, mut proto, mut addr, mut port, mut mark) = (None, None, None, None, None);
        for a in attrs {
            match a {
                SvcAttr::Af(v) => af = Some(*v),
                SvcAttr::Protocol(v) => proto = Some(*v),
                SvcAttr::Addr(v) => addr = Some(*v),
                SvcAttr::Port(v) => port = Some(*v),
                SvcAttr::Fwmark(v) => mark = Some(*v),
                _ => {}
            }
        }
        match (af?, mark) {
            (af, Some(m)) if m != 0 => Some(SvcKey::Fwmark(af, m)),
            (af, _) => Some(SvcKey::Addr(af, proto?, addr?, port?)),
        }
    }

    /// The attributes that name it in SET/DEL_SERVICE and the DEST commands.
    pub fn attrs(&self) -> Vec<SvcAttr> {
        match self {
            SvcKey::Addr(af, proto, addr, port) => vec![
                SvcAttr::Af(*af),
                SvcAttr::Protocol(*proto),
                SvcAttr::Addr(*addr),
                SvcAttr::Port(*port),
            ],
            SvcKey::Fwmark(af, m) => vec![SvcAttr::Af(*af), SvcAttr::Fwmark(*m)],
        }
    }
}

impl std::fmt::Display for SvcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SvcKey::Addr(_, proto, IpAddr::V6(a), port) => {
                write!(f, "[{a}]:{port}/{}", proto_name(*proto))
            }
            SvcKey::Addr(_, proto, a, port) => write!(f, "{a}:{port}/{}", proto_name(*proto)),
            SvcKey::Fwmark(af, m) => write!(
                f,
                "fwmark {m}{}",
                if i32::from(*af) == libc::AF_INET6 {
                    " (IPv6)"
                } else {
                    ""
                }
            ),
        }
    }
}

fn proto_name(p: u16) -> &'static str {
    match i32::from(p) {
        libc::IPPROTO_TCP => "tcp",
        libc::IPPROTO_UDP => "udp",
        libc::IPPROTO_SCTP => "sctp",
        _ => "?",
    }
}

/// The service attributes in an `IPVS_CMD_ATTR_SERVICE` of a dump (statistics skipped; the
/// kernel's `IP_VS_SVC_F_HASHED` bit cleared).
pub fn parse_service(cmd_attrs: &[u8]) -> Option<Vec<SvcAttr>> {
    let (_, svc) = nlas(cmd_attrs).into_iter().find(|(k, _)| *k == 1)?;
    let raw = nlas(svc);
    let af = raw
        .iter()
        .find(|(k, _)| *k == 1)
        .and_then(|(_, v)| u16_of(v))?;
    let mut out = Vec::new();
    for (k, v) in raw {
        out.push(match k {
            1 => SvcAttr::Af(af),
            2 => SvcAttr::Protocol(u16_of(v)?),
            3 => SvcAttr::Addr(addr_of(af, v)?),
            4 => SvcAttr::Port(be16_of(v)?),
            5 => SvcAttr::Fwmark(u32_of(v)?),
            6 | 11 => {
                let s = v.split(|b| *b == 0).next().unwrap_or_default();
                let s = String::from_utf8_lossy(s).into_owned();
                if k == 6 {
                    SvcAttr::SchedName(s)
                } else {
                    SvcAttr::PeName(s)
                }
            }
            7 => SvcAttr::Flags {
                flags: u32_of(v)? & !SVC_F_HASHED,
                mask: u32::MAX,
            },
            8 => SvcAttr::Timeout(u32_of(v)?),
            9 => SvcAttr::Netmask(v.get(..4)?.try_into().ok()?),
            _ => continue,
        });
    }
    Some(out)
}

/// The destination attributes in an `IPVS_CMD_ATTR_DEST` of a dump (connection counters and
/// statistics skipped). `svc_af` is the service's family, the destination's when the kernel
/// does not say (`IPVS_DEST_ATTR_ADDR_FAMILY` is from Linux 4.x).
pub fn parse_dest(cmd_attrs: &[u8], svc_af: u16) -> Option<Vec<DestAttr>> {
    let (_, d) = nlas(cmd_attrs).into_iter().find(|(k, _)| *k == 2)?;
    let raw = nlas(d);
    let af = raw
        .iter()
        .find(|(k, _)| *k == 11)
        .and_then(|(_, v)| u16_of(v))
        .unwrap_or(svc_af);
    let mut out = Vec::new();
    for (k, v) in raw {
        out.push(match k {
            1 => DestAttr::Addr(addr_of(af, v)?),
            2 => DestAttr::Port(be16_of(v)?),
            3 => DestAttr::FwdMethod(u32_of(v)? & 0x7),
            4 => DestAttr::Weight(u32_of(v)?),
            5 => DestAttr::UThresh(u32_of(v)?),
            6 => DestAttr::LThresh(u32_of(v)?),
            11 => DestAttr::AddrFamily(af),
            13 => DestAttr::TunType(*v.first()?),
            14 => DestAttr::TunPort(be16_of(v)?),
            15 => DestAttr::TunFlags(u16_of(v)?),
            _ => continue,
        });
    }
    if !out.iter().any(|a| matches!(a, DestAttr::AddrFamily(_))) {
        out.push(DestAttr::AddrFamily(af));
    }
    Some(out)
}

fn dest_id(d: &[DestAttr]) -> Option<(IpAddr, u16)> {
    let addr = d.iter().find_map(|a| match a {
        DestAttr::Addr(x) => Some(*x),
        _ => None,
    })?;
    let port = d
        .iter()
        .find_map(|a| match a {
            DestAttr::Port(x) => Some(*x),
            _ => None,
        })
        .unwrap_or(0);
    Some((addr, port))
}

/// The command that makes the kernel's service (if any) the wanted one: NEW_SERVICE when it
/// is absent, SET_SERVICE when a setting differs, nothing when it is the same.
pub fn service_command(want: &[SvcAttr], kernel: Option<&[SvcAttr]>) -> Option<u8> {
    match kernel {
        None => Some(cmd::NEW_SERVICE),
        Some(k) => {
            // The kernel leaves out what is unset (no PE_NAME): compare what is wanted.
            let pe = |v: &[SvcAttr]| v.iter().any(|a| matches!(a, SvcAttr::PeName(_)));
            let same = want.iter().all(|w| k.contains(w)) && pe(k) == pe(want);
            (!same).then_some(cmd::SET_SERVICE)
        }
    }
}

/// The DEST commands that make the kernel's destinations of a service the wanted ones: new
/// ones added, changed ones set, the rest (not in the engine's table) deleted. Deletions come
/// first, so that a destination replaced within one change never exceeds the table.
pub fn dest_commands(want: &[Vec<DestAttr>], kernel: &[Vec<DestAttr>]) -> Vec<(u8, Vec<DestAttr>)> {
    let mut out = Vec::new();
    for k in kernel {
        let id = dest_id(k);
        if !want.iter().any(|w| dest_id(w) == id) {
            let (addr, port) = match id {
                Some(x) => x,
                None => continue,
            };
            let af = k
                .iter()
                .find_map(|a| match a {
                    DestAttr::AddrFamily(f) => Some(*f),
                    _ => None,
                })
                .into_iter();
            let mut key = vec![DestAttr::Addr(addr), DestAttr::Port(port)];
            key.extend(af.map(DestAttr::AddrFamily));
            out.push((cmd::DEL_DEST, key));
        }
    }
    for w in want {
        match kernel.iter().find(|k| dest_id(k) == dest_id(w)) {
            None => out.push((cmd::NEW_DEST, w.clone())),
            Some(k) => {
                // Tunnel attributes are reported for every destination by recent kernels;
                // compare what is wanted.
                let differs = w.iter().any(|a| !k.contains(a));
                if differs {
                    out.push((cmd::SET_DEST, w.clone()));
                }
            }
        }
    }
    out
}

/// The wanted destinations of a virtual server for the engine's table: every real server in
/// the table at its weight (0: inhibited, kept for its established connections), the sorry
/// server when the table holds it. A server listed twice (the sorry server at a real server's
/// address and port) is one destination.
///
/// `entry_port`: the service is a group entry's ([`Instance::entry_port`]): a destination that
/// does not use NAT takes the entry's port (0 for a fwmark entry), as keepalived's
/// `ipvs_group_cmd` sets `drule->user.port`; with NAT, the real server's own port.
pub fn wanted_dests(
    vs: &VirtualServer,
    table: &ServiceTable,
    entry_port: Option<u16>,
) -> Vec<Vec<DestAttr>> {
    let mut out: Vec<Vec<DestAttr>> = Vec::new();
    let mut push = |d: Vec<DestAttr>| {
        if !out.iter().any(|o| dest_id(o) == dest_id(&d)) {
            out.push(d);
        }
    };
    let port = |own: u16, f: Forwarding| match (entry_port, f) {
        (Some(p), Forwarding::Dr | Forwarding::Tun { .. }) => p,
        _ => own,
    };
    for (r, rs) in vs.real_servers.iter().enumerate() {
        if let Some(Some(w)) = table.reals.get(r) {
            push(dest(
                rs.addr,
                port(rs.port, rs.forwarding),
                rs.forwarding,
                *w,
                (rs.uthreshold, rs.lthreshold),
            ));
        }
    }
    if let (Some(s), Some(w)) = (&vs.sorry_server, table.sorry) {
        push(dest(
            s.addr,
            port(s.port, s.forwarding),
            s.forwarding,
            w,
            (None, None),
        ));
    }
    out
}

/// Every IPVS service of these virtual servers ([`services`]), with the virtual server it
/// belongs to; a service that an earlier virtual server already has is left out (two
/// virtual servers of one group share its services in keepalived too: the first one's
/// destinations are applied).
fn instances<'a, 's>(list: &'a [Service<'s>]) -> Vec<(&'a Service<'s>, Instance, SvcKey)> {
    let mut out: Vec<(&Service<'_>, Instance, SvcKey)> = Vec::new();
    for s in list {
        for i in services(s.vs) {
            let Some(key) = SvcKey::of(&i.attrs) else {
                continue;
            };
            if !out.iter().any(|(_, _, k)| *k == key) {
                out.push((s, i, key));
            }
        }
    }
    out
}

/// The IPVS backend: a generic netlink socket and the family's id.
pub struct Ipvs {
    sock: Socket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    /// The services Vigil put in the kernel (the last rebuild's): a reload deletes those the
    /// new configuration no longer has; stop deletes them all. Services of others are left
    /// alone (keepalived's default, without `lvs_flush`).
    owned: Vec<SvcKey>,
    /// The kernel's connection timeouts before Vigil's first `SET_CONFIG` (keepalived's
    /// `orig_ipvs_timeouts`), put back at stop.
    orig_timeouts: Option<KernelTimeouts>,
}

fn open_socket() -> Result<Socket, String> {
    let mut sock =
        Socket::new(NETLINK_GENERIC).map_err(|e| format!("generic netlink socket: {e}"))?;
    sock.bind_auto()
        .map_err(|e| format!("generic netlink bind: {e}"))?;
    sock.connect(&SocketAddr::new(0, 0))
        .map_err(|e| format!("generic netlink connect: {e}"))?;
    Ok(sock)
}

/// Resolves the `IPVS` generic netlink family: its id, or why not (this kernel: "no such
/// family").
pub fn resolve_family() -> Result<u16, String> {
    let sock = open_socket()?;
    resolve_on(&sock)
}

fn resolve_on(sock: &Socket) -> Result<u16, String> {
    let seq = 1;
    sock.send(&family_request(seq), 0)
        .map_err(|e| format!("CTRL_CMD_GETFAMILY {GENL_NAME}: send: {e}"))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = sock
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| format!("CTRL_CMD_GETFAMILY {GENL_NAME}: recv: {e}"))?;
        match parse_family_reply(&buf[..n.min(buf.len())], seq) {
            Ok(Some(id)) => return Ok(id),
            Ok(None) => continue,
            Err(e) => {
                return Err(format!(
                    "the generic netlink family {GENL_NAME} does not resolve ({})",
                    explain(0, e)
                ))
            }
        }
    }
}

/// keepalived's way when the family does not resolve: load `ip_vs` with the kernel's modprobe
/// (`/proc/sys/kernel/modprobe`), then try once more.
fn modprobe_ip_vs() -> bool {
    let path = std::fs::read_to_string("/proc/sys/kernel/modprobe")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "/sbin/modprobe".to_string());
    match std::process::Command::new(&path)
        .arg("ip_vs")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(s) => s.success(),
        Err(_) => false,
    }
}

impl Ipvs {
    /// Opens the socket and resolves the family (loading `ip_vs` with modprobe if it does not
    /// resolve, as keepalived's `ipvs_start`).
    pub fn open() -> Result<Ipvs, String> {
        let sock = open_socket()?;
        let family = match resolve_on(&sock) {
            Ok(id) => id,
            Err(first) => {
                if !modprobe_ip_vs() {
                    return Err(format!("{first}; modprobe ip_vs failed"));
                }
                resolve_on(&sock).map_err(|e| format!("{e} (after modprobe ip_vs)"))?
            }
        };
        info!("IPVS: generic netlink family {GENL_NAME} is id {family}");
        Ok(Ipvs {
            sock,
            family,
            seq: 1,
            buf: vec![0u8; 1 << 16],
            owned: Vec::new(),
            orig_timeouts: None,
        })
    }

    /// Sends one request and reads its answer: the data messages of a dump, or nothing after
    /// the acknowledgement; the kernel's error as an [`Errno`].
    fn exchange(
        &mut self,
        command: u8,
        attrs: &[CmdAttr],
        dump: bool,
    ) -> Result<Vec<Reply>, Errno> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let msg = if dump {
            dump_message(self.family, seq, command, attrs)
        } else {
            message(self.family, seq, command, attrs)
        };
        self.sock
            .send(&msg, 0)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let mut data = Vec::new();
        loop {
            let n = self
                .sock
                .recv(&mut &mut self.buf[..], 0)
                .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
            for r in parse_replies(&self.buf[..n.min(self.buf.len())], seq)? {
                match r {
                    Reply::Ack | Reply::Done => return Ok(data),
                    Reply::Error(e) => return Err(e),
                    d @ Reply::Data { .. } => data.push(d),
                }
            }
        }
    }

    fn request(&mut self, command: u8, attrs: &[CmdAttr], what: &str) -> Result<(), String> {
        self.exchange(command, attrs, false)
            .map(|_| ())
            .map_err(|e| format!("{} {what}: {}", command_name(command), explain(command, e)))
    }

    /// The kernel's services (GET_SERVICE dump).
    pub fn services(&mut self) -> Result<Vec<Vec<SvcAttr>>, String> {
        let replies = self
            .exchange(GET_SERVICE, &[], true)
            .map_err(|e| format!("GET_SERVICE: {}", explain(GET_SERVICE, e)))?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                Reply::Data { attrs, .. } => parse_service(attrs),
                _ => None,
            })
            .collect())
    }

    /// A service's destinations (GET_DEST dump).
    pub fn dests(&mut self, key: &SvcKey) -> Result<Vec<Vec<DestAttr>>, String> {
        let af = match key {
            SvcKey::Addr(af, ..) | SvcKey::Fwmark(af, _) => *af,
        };
        let replies = self
            .exchange(GET_DEST, &[CmdAttr::Service(key.attrs())], true)
            .map_err(|e| format!("GET_DEST {key}: {}", explain(GET_DEST, e)))?;
        Ok(replies
            .iter()
            .filter_map(|r| match r {
                Reply::Data { attrs, .. } => parse_dest(attrs, af),
                _ => None,
            })
            .collect())
    }

    /// Makes the kernel's service and destinations the wanted ones (`kernel`: the service as
    /// the kernel has it, from the dump).
    fn reconcile(
        &mut self,
        s: &Service<'_>,
        inst: &Instance,
        kernel: Option<&[SvcAttr]>,
    ) -> Result<(), String> {
        let want = inst.attrs.clone();
        let key = SvcKey::of(&want).ok_or("a service without a key")?;
        if let Some(c) = service_command(&want, kernel) {
            self.request(c, &[CmdAttr::Service(want.clone())], &key.to_string())?;
        }
        let have = if kernel.is_some() {
            self.dests(&key)?
        } else {
            Vec::new()
        };
        for (c, d) in dest_commands(&wanted_dests(s.vs, s.table, inst.entry_port), &have) {
            let what = match dest_id(&d) {
                Some((a, p)) => format!("{key} -> {a} port {p}"),
                None => key.to_string(),
            };
            self.request(c, &[CmdAttr::Service(key.attrs()), CmdAttr::Dest(d)], &what)?;
        }
        Ok(())
    }
}

impl Ipvs {
    /// Deletes Vigil's services; `destinations_first`: each of their destinations before
    /// (keepalived without `lvs_flush_on_stop`). A service already gone is not an error.
    fn remove_services(&mut self, destinations_first: bool) -> Result<(), String> {
        let mut first_err = None;
        for k in std::mem::take(&mut self.owned) {
            if destinations_first {
                let have = self.dests(&k).unwrap_or_default();
                for d in have {
                    let Some((addr, port)) = dest_id(&d) else {
                        continue;
                    };
                    let mut key = vec![DestAttr::Addr(addr), DestAttr::Port(port)];
                    key.extend(
                        d.iter()
                            .filter(|a| matches!(a, DestAttr::AddrFamily(_)))
                            .cloned(),
                    );
                    match self.exchange(
                        cmd::DEL_DEST,
                        &[CmdAttr::Service(k.attrs()), CmdAttr::Dest(key)],
                        false,
                    ) {
                        Ok(_) | Err(Errno(libc::ENOENT)) => {}
                        Err(e) => {
                            let e = format!(
                                "DEL_DEST {k} -> {addr} port {port}: {}",
                                explain(cmd::DEL_DEST, e)
                            );
                            warn!("IPVS: {e}");
                            first_err.get_or_insert(e);
                        }
                    }
                }
            }
            match self.exchange(cmd::DEL_SERVICE, &[CmdAttr::Service(k.attrs())], false) {
                Ok(_) | Err(Errno(libc::ESRCH)) => {}
                Err(e) => {
                    let e = format!("DEL_SERVICE {k}: {}", explain(cmd::DEL_SERVICE, e));
                    warn!("IPVS: {e}");
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The kernel's timeouts (`GET_CONFIG`), read once before Vigil's first change.
    fn original_timeouts(&mut self) -> Result<KernelTimeouts, String> {
        if let Some(t) = self.orig_timeouts {
            return Ok(t);
        }
        let replies = self
            .exchange(cmd::GET_CONFIG, &[], false)
            .map_err(|e| format!("GET_CONFIG: {}", explain(cmd::GET_CONFIG, e)))?;
        let t = replies
            .iter()
            .find_map(|r| match r {
                Reply::Data { attrs, .. } => global::parse_config(attrs),
                _ => None,
            })
            .ok_or("GET_CONFIG: no timeouts in the kernel's answer")?;
        self.orig_timeouts = Some(t);
        Ok(t)
    }

    /// Sends one of the engine's IPVS-wide actions (`vigil_engine::dataplane::lvs`).
    pub fn lvs_action(&mut self, action: &LvsAction) -> Result<(), String> {
        match action {
            LvsAction::Flush => {
                self.request(cmd::FLUSH, &[], "(every service)")?;
                self.owned.clear();
                Ok(())
            }
            LvsAction::SetTimeouts(t) => {
                let orig = self.original_timeouts()?;
                self.request(
                    cmd::SET_CONFIG,
                    &global::set_config(Some(t), orig),
                    "(timeouts)",
                )
            }
            LvsAction::RestoreTimeouts => match self.orig_timeouts {
                Some(orig) => self.request(
                    cmd::SET_CONFIG,
                    &global::set_config(None, orig),
                    "(the kernel's timeouts back)",
                ),
                None => Ok(()),
            },
            LvsAction::RemoveServices { destinations_first } => {
                self.remove_services(*destinations_first)
            }
            LvsAction::StartSyncDaemon { role, daemon } => self.request(
                cmd::NEW_DAEMON,
                &[global::start_daemon(*role, daemon)],
                &format!(
                    "({} sync daemon on {}, sync id {})",
                    role.name(),
                    daemon.interface,
                    daemon.sync_id()
                ),
            ),
            LvsAction::StopSyncDaemon {
                role,
                syncid,
                may_be_absent,
            } => match self.exchange(
                cmd::DEL_DAEMON,
                &[global::stop_daemon(*role, *syncid)],
                false,
            ) {
                Ok(_) => Ok(()),
                Err(e) if *may_be_absent => {
                    debug!(
                        "IPVS: DEL_DAEMON ({} sync daemon): {}",
                        role.name(),
                        explain(cmd::DEL_DAEMON, e)
                    );
                    Ok(())
                }
                Err(e) => Err(format!(
                    "DEL_DAEMON ({} sync daemon): {}",
                    role.name(),
                    explain(cmd::DEL_DAEMON, e)
                )),
            },
        }
    }
}

impl Backend for Ipvs {
    fn name(&self) -> &'static str {
        "IPVS"
    }

    fn refusal(&self, vs: &VirtualServer) -> Option<String> {
        vigil_engine::dataplane::ipvs_refusal(vs)
    }

    /// Reads the kernel's table back (GET_SERVICE, GET_DEST) and makes Vigil's services the
    /// engine's: existing ones set where they differ (established connections stay), missing
    /// ones added, those of the previous configuration that are gone deleted. IPVS has no
    /// transaction: each command is applied on its own; the first error stops the rebuild and
    /// is reported (the next rebuild starts again from the kernel's table).
    fn rebuild(&mut self, services: &[Service<'_>]) -> Result<(), String> {
        let kernel = self.services()?;
        let mut keys = Vec::new();
        let mut first_err = None;
        for (s, inst, key) in instances(services) {
            let k = kernel
                .iter()
                .find(|k| SvcKey::of(k).as_ref() == Some(&key))
                .map(Vec::as_slice);
            if let Err(e) = self.reconcile(s, &inst, k) {
                first_err.get_or_insert(e);
            }
            keys.push(key);
        }
        let gone: Vec<SvcKey> = self
            .owned
            .iter()
            .filter(|k| !keys.contains(k))
            .cloned()
            .collect();
        for k in gone {
            if let Err(e) = self.request(
                cmd::DEL_SERVICE,
                &[CmdAttr::Service(k.attrs())],
                &k.to_string(),
            ) {
                first_err.get_or_insert(e);
            }
        }
        self.owned = keys;
        match first_err {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    fn update(&mut self, services: &[Service<'_>]) -> Result<(), String> {
        let mut first_err = None;
        for (s, inst, key) in instances(services) {
            // The service exists (rebuild made it); its destinations are read back, so that
            // a change by someone else in between is corrected too.
            let have = match self.dests(&key) {
                Ok(h) => h,
                // The service is not there (a failed rebuild, someone deleted it): add it
                // with its destinations.
                Err(e) => {
                    warn!("IPVS: {e}: adding the service again");
                    if let Err(e) = self.reconcile(s, &inst, None) {
                        first_err.get_or_insert(e);
                    }
                    continue;
                }
            };
            for (c, d) in dest_commands(&wanted_dests(s.vs, s.table, inst.entry_port), &have) {
                let what = match dest_id(&d) {
                    Some((a, p)) => format!("{key} -> {a} port {p}"),
                    None => key.to_string(),
                };
                if let Err(e) =
                    self.request(c, &[CmdAttr::Service(key.attrs()), CmdAttr::Dest(d)], &what)
                {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Deletes Vigil's services (a service's deletion removes its destinations).
    fn remove(&mut self) -> Result<(), String> {
        self.remove_services(false)
    }

    fn applies_lvs(&self) -> bool {
        true
    }

    fn lvs(&mut self, action: &LvsAction) -> Result<(), String> {
        self.lvs_action(action)
    }

    /// Whether every wanted service is in the kernel with the wanted destinations.
    fn intact(&mut self, services: &[Service<'_>]) -> Result<bool, String> {
        let kernel = self.services()?;
        for (s, inst, key) in instances(services) {
            let Some(k) = kernel.iter().find(|k| SvcKey::of(k).as_ref() == Some(&key)) else {
                return Ok(false);
            };
            if service_command(&inst.attrs, Some(k)).is_some() {
                return Ok(false);
            }
            let have = self.dests(&key)?;
            if !dest_commands(&wanted_dests(s.vs, s.table, inst.entry_port), &have).is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
