//! The IPVS-wide requests beyond services (the engine's
//! [`LvsAction`](vigil_engine::dataplane::lvs::LvsAction)s): `IPVS_CMD_FLUSH`,
//! `IPVS_CMD_SET_CONFIG` / `IPVS_CMD_GET_CONFIG` (connection timeouts) and
//! `IPVS_CMD_NEW_DAEMON` / `IPVS_CMD_DEL_DAEMON` (the connection sync daemon), encoded as
//! keepalived 2.2.7's libipvs.c (`ipvs_flush`, `ipvs_set_timeout`, `ipvs_get_timeout`,
//! `ipvs_start_daemon`, `ipvs_stop_daemon`) sends them.
//!
//! Numbers and layouts: include/uapi/linux/ip_vs.h (`IPVS_CMD_ATTR_DAEMON` 3,
//! `IPVS_CMD_ATTR_TIMEOUT_TCP` 4, `_TCP_FIN` 5, `_UDP` 6; `IPVS_DAEMON_ATTR_STATE` 1,
//! `MCAST_IFN` 2, `SYNC_ID` 3, `SYNC_MAXLEN` 4, `MCAST_GROUP` 5, `MCAST_GROUP6` 6,
//! `MCAST_PORT` 7, `MCAST_TTL` 8; `IP_VS_STATE_MASTER` 1, `IP_VS_STATE_BACKUP` 2;
//! `IP_VS_IFNAME_MAXLEN` 16) and net/netfilter/ipvs/ip_vs_ctl.c (`ip_vs_daemon_policy`: STATE
//! and SYNC_ID u32, MCAST_IFN a NUL-terminated string under 16 bytes, SYNC_MAXLEN and
//! MCAST_PORT u16 in host order, MCAST_GROUP the IPv4 address in network order, MCAST_GROUP6
//! 16 bytes, MCAST_TTL u8; `ip_vs_genl_new_daemon` requires STATE, MCAST_IFN and SYNC_ID;
//! `ip_vs_genl_del_daemon` requires STATE; `ip_vs_genl_get_cmd` answers GET_CONFIG with the
//! three timeouts as u32 seconds). **Never sent to a kernel**: unit-tested byte for byte
//! (`global_tests.rs`).

use std::net::IpAddr;

use netlink_packet_core::Nla;
use vigil_engine::conf::{LvsSyncDaemon, LvsTimeouts};
use vigil_engine::dataplane::lvs::SyncRole;

use super::CmdAttr;

/// An attribute inside `IPVS_CMD_ATTR_DAEMON` (`IPVS_DAEMON_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAttr {
    /// `IPVS_DAEMON_ATTR_STATE` (u32: `IP_VS_STATE_MASTER` 1 or `IP_VS_STATE_BACKUP` 2).
    State(u32),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN` (NUL-terminated, under `IP_VS_IFNAME_MAXLEN`).
    McastIfn(String),
    /// `IPVS_DAEMON_ATTR_SYNC_ID` (u32).
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN` (u16).
    SyncMaxlen(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP` (the IPv4 address, network order).
    McastGroup([u8; 4]),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6` (`struct in6_addr`).
    McastGroup6([u8; 16]),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT` (u16, host order: the kernel adds the sync id's offset
    /// and converts).
    McastPort(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL` (u8).
    McastTtl(u8),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            DaemonAttr::State(_) | DaemonAttr::SyncId(_) | DaemonAttr::McastGroup(_) => 4,
            DaemonAttr::McastIfn(s) => s.len() + 1,
            DaemonAttr::SyncMaxlen(_) | DaemonAttr::McastPort(_) => 2,
            DaemonAttr::McastGroup6(_) => 16,
            DaemonAttr::McastTtl(_) => 1,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DaemonAttr::State(_) => 1,
            DaemonAttr::McastIfn(_) => 2,
            DaemonAttr::SyncId(_) => 3,
            DaemonAttr::SyncMaxlen(_) => 4,
            DaemonAttr::McastGroup(_) => 5,
            DaemonAttr::McastGroup6(_) => 6,
            DaemonAttr::McastPort(_) => 7,
            DaemonAttr::McastTtl(_) => 8,
        }
    }

    fn emit_value(&self, b: &mut [u8]) {
        match self {
            DaemonAttr::State(v) | DaemonAttr::SyncId(v) => {
                b[..4].copy_from_slice(&v.to_ne_bytes())
            }
            DaemonAttr::McastIfn(s) => {
                b[..s.len()].copy_from_slice(s.as_bytes());
                b[s.len()] = 0;
            }
            DaemonAttr::SyncMaxlen(v) | DaemonAttr::McastPort(v) => {
                b[..2].copy_from_slice(&v.to_ne_bytes())
            }
            DaemonAttr::McastGroup(a) => b[..4].copy_from_slice(a),
            DaemonAttr::McastGroup6(a) => b[..16].copy_from_slice(a),
            DaemonAttr::McastTtl(v) => b[0] = *v,
        }
    }
}

/// `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`.
pub fn state(role: SyncRole) -> u32 {
    match role {
        SyncRole::Master => 1,
        SyncRole::Backup => 2,
    }
}

/// `IPVS_CMD_NEW_DAEMON`'s attribute, as `ipvs_start_daemon` fills it: state, interface and
/// sync id always; maxlen, port and TTL when set; the group as GROUP6 or GROUP by its family.
pub fn start_daemon(role: SyncRole, d: &LvsSyncDaemon) -> CmdAttr {
    let mut v = vec![
        DaemonAttr::State(state(role)),
        DaemonAttr::McastIfn(d.interface.clone()),
        DaemonAttr::SyncId(u32::from(d.sync_id())),
    ];
    if let Some(m) = d.maxlen {
        v.push(DaemonAttr::SyncMaxlen(m));
    }
    if let Some(p) = d.port {
        v.push(DaemonAttr::McastPort(p));
    }
    if let Some(t) = d.ttl {
        v.push(DaemonAttr::McastTtl(t));
    }
    match d.group {
        Some(IpAddr::V6(g)) => v.push(DaemonAttr::McastGroup6(g.octets())),
        Some(IpAddr::V4(g)) => v.push(DaemonAttr::McastGroup(g.octets())),
        None => {}
    }
    CmdAttr::Daemon(v)
}

/// `IPVS_CMD_DEL_DAEMON`'s attribute, as `ipvs_stop_daemon` fills it: state and sync id.
pub fn stop_daemon(role: SyncRole, syncid: u8) -> CmdAttr {
    CmdAttr::Daemon(vec![
        DaemonAttr::State(state(role)),
        DaemonAttr::SyncId(u32::from(syncid)),
    ])
}

/// The kernel's connection timeouts, seconds (TCP, TCP FIN, UDP), as `IPVS_CMD_GET_CONFIG`
/// answers them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelTimeouts {
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`.
    pub tcp: u32,
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`.
    pub tcpfin: u32,
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`.
    pub udp: u32,
}

/// `IPVS_CMD_SET_CONFIG`'s attributes as `ipvs_set_timeout` sends them: each of `to` that is
/// set and not 0, else the kernel's value from before Vigil's first change (`orig`; the kernel
/// reads 0 as "leave it").
pub fn set_config(to: Option<&LvsTimeouts>, orig: KernelTimeouts) -> Vec<CmdAttr> {
    let pick = |v: Option<u32>, o: u32| v.filter(|x| *x > 0).unwrap_or(o);
    let (tcp, fin, udp) = match to {
        Some(t) => (
            pick(t.tcp, orig.tcp),
            pick(t.tcpfin, orig.tcpfin),
            pick(t.udp, orig.udp),
        ),
        None => (orig.tcp, orig.tcpfin, orig.udp),
    };
    vec![
        CmdAttr::TimeoutTcp(tcp),
        CmdAttr::TimeoutTcpFin(fin),
        CmdAttr::TimeoutUdp(udp),
    ]
}

/// The timeouts in the attributes of a `GET_CONFIG` answer (after the generic netlink header);
/// one the kernel does not send (a protocol built out) is 0. `None` when none is there.
pub fn parse_config(attrs: &[u8]) -> Option<KernelTimeouts> {
    let mut t = KernelTimeouts::default();
    let mut any = false;
    let mut at = 0;
    while at + 4 <= attrs.len() {
        let len = usize::from(u16::from_ne_bytes([attrs[at], attrs[at + 1]]));
        let kind = u16::from_ne_bytes([attrs[at + 2], attrs[at + 3]]);
        if len < 4 || at + len > attrs.len() {
            break;
        }
        let value = attrs
            .get(at + 4..at + 8)
            .filter(|_| len >= 8)
            .and_then(|v| v.try_into().ok())
            .map(u32::from_ne_bytes);
        if let Some(v) = value {
            match kind {
                super::CMD_ATTR_TIMEOUT_TCP => t.tcp = v,
                super::CMD_ATTR_TIMEOUT_TCP_FIN => t.tcpfin = v,
                super::CMD_ATTR_TIMEOUT_UDP => t.udp = v,
                _ => {}
            }
            any |= matches!(
                kind,
                super::CMD_ATTR_TIMEOUT_TCP
                    | super::CMD_ATTR_TIMEOUT_TCP_FIN
                    | super::CMD_ATTR_TIMEOUT_UDP
            );
        }
        at += (len + 3) & !3;
    }
    any.then_some(t)
}
