//! The typed configuration of keepalived's other half: virtual servers, their real servers and
//! the health checkers that decide which real servers serve (keepalived.conf(5), "Virtual
//! server(s)", "Virtual server group(s)", "SSL").
//!
//! Values are resolved as keepalived 2.2.7 resolves them at the end of parsing
//! (`check_data.c`, `validate_check_config`): a checker's `retry`, `delay_before_retry`,
//! `warmup`, `delay_loop`, `connect_timeout` and `alpha` come from the checker, else its real
//! server, else its virtual server, else the checker type's default; a real server's `weight`
//! and `inhibit_on_failure` come from its virtual server when not set; the destination of a
//! checker is its `connect_ip` / `connect_port`, else the real server's address and port.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr};

use super::lexer::Location;
use super::model::{Family, NotifyFifo, Script};

/// The checker part of a configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckerConf {
    /// `virtual_server_group` blocks, in file order.
    pub groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks, in file order (a block keepalived would drop is not here).
    pub virtual_servers: Vec<VirtualServer>,
    /// `SSL { ... }`: the TLS context of `SSL_GET` checkers.
    pub ssl: Option<SslContext>,
}

/// Checker settings of `global_defs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckerGlobals {
    /// `checker_log_all_failures`: log every failed check, not only the ones that change a
    /// checker's state (every checker's `log_all_failures`).
    pub log_all_failures: bool,
    /// `smtp_alert_checker`: the default of `smtp_alert` for virtual and real servers.
    pub smtp_alert_checker: Option<bool>,
    /// `no_checker_emails`: e-mail only when a real server's state changes, not on every
    /// checker's change.
    pub no_checker_emails: bool,
    /// `rs_init_notifies`: run a real server's `notify_up` when it is first added at start.
    pub rs_init_notifies: bool,
    /// `lvs_notify_fifo FIFO [USER [GROUP]]` plus `lvs_notify_fifo_script`: a FIFO that
    /// `VS ... UP|DOWN` and `RS ... UP|DOWN` lines are written to.
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, `lvs_sync_daemon` (and the
    /// deprecated `vrrp_instance` `lvs_sync_daemon_interface`): what the IPVS data plane does
    /// with the kernel's IPVS beyond the services (`crate::dataplane::lvs`).
    pub lvs: LvsGlobals,
}

/// The IPVS-wide settings of `global_defs` (keepalived.conf(5) "global definitions":
/// `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, `lvs_sync_daemon`), as keepalived 2.2.7's
/// `global_parser.c` reads them. Applied by the IPVS data plane only; an nftables host notes
/// them (`crate::dataplane::lvs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LvsGlobals {
    /// `lvs_flush`: `IPVS_CMD_FLUSH` at start (not at reload), before the services are added.
    pub flush: bool,
    /// `lvs_flush_on_stop [VS]` (and its old spelling `lvs_flush_onstop`).
    pub flush_on_stop: LvsFlushOnStop,
    /// `lvs_timeouts tcp N tcpfin N udp N`.
    pub timeouts: LvsTimeouts,
    /// `lvs_sync_daemon INTERFACE [VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group
    /// IP]`, or a `vrrp_instance`'s `lvs_sync_daemon_interface INTERFACE`.
    pub sync_daemon: Option<LvsSyncDaemon>,
}

/// What happens to the kernel's IPVS table at stop (keepalived's `lvs_flush_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LvsFlushOnStop {
    /// Not given (`LVS_NO_FLUSH`): each of Vigil's destinations is deleted, then its
    /// service; other programs' services stay.
    #[default]
    No,
    /// `lvs_flush_on_stop VS` (`LVS_FLUSH_VS`): each of Vigil's services is deleted (the
    /// kernel deletes its destinations with it); other programs' services stay.
    Vs,
    /// `lvs_flush_on_stop` without a value (`LVS_FLUSH_FULL`): `IPVS_CMD_FLUSH`, every
    /// service of the kernel, Vigil's or not.
    Full,
}

/// `lvs_timeouts`: IPVS's connection timeouts in seconds (0..=31 days, keepalived's
/// `LVS_MAX_TIMEOUT`); `None` (or 0) leaves the kernel's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LvsTimeouts {
    /// `tcp N`: established TCP connections.
    pub tcp: Option<u32>,
    /// `tcpfin N`: TCP connections after a FIN.
    pub tcpfin: Option<u32>,
    /// `udp N`: UDP.
    pub udp: Option<u32>,
}

impl LvsTimeouts {
    /// Whether any timeout is set to something other than 0 (keepalived sends
    /// `IPVS_CMD_SET_CONFIG` only then).
    pub fn any(&self) -> bool {
        [self.tcp, self.tcpfin, self.udp]
            .iter()
            .any(|t| t.is_some_and(|v| v > 0))
    }
}

/// `lvs_sync_daemon`: the kernel's IPVS connection synchronisation daemon (ipvsadm
/// `--start-daemon`), which copies connection state from the director that serves to the
/// others so that a takeover keeps established connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    /// The interface it sends and receives on (`IPVS_DAEMON_ATTR_MCAST_IFN`, under 16 bytes).
    pub interface: String,
    /// The VRRP instance whose state it follows (MASTER: the master daemon; otherwise the
    /// backup one). `None`: no instance, the checker side runs a master and a backup daemon
    /// together from start to stop (keepalived's `checker_ipvs_syncd_needed`).
    pub instance: Option<String>,
    /// `id N` (0..=255): the sync id. Unset: the instance's VRID (0 without an instance, and
    /// 0 for `lvs_sync_daemon_interface`), filled in when the configuration is validated.
    pub syncid: Option<u8>,
    /// `maxlen N` (1..=65507): the largest sync message payload.
    pub maxlen: Option<u16>,
    /// `port N` (1..=65535): the multicast port.
    pub port: Option<u16>,
    /// `ttl N` (1..=255): the multicast TTL.
    pub ttl: Option<u8>,
    /// `group IP`: the multicast group (IPv4 or IPv6; must be multicast).
    pub group: Option<IpAddr>,
    /// Where it is configured.
    pub loc: Location,
}

impl LvsSyncDaemon {
    /// The sync id sent (unset: 0, as keepalived when nothing filled it in).
    pub fn sync_id(&self) -> u8 {
        self.syncid.unwrap_or(0)
    }
}

/// `SSL { password ca certificate key }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SslContext {
    /// `password`: of the private key.
    pub password: Option<String>,
    /// `ca`: a CA file to verify real servers' certificates with.
    pub ca: Option<String>,
    /// `certificate`: a client certificate file.
    pub certificate: Option<String>,
    /// `key`: the client certificate's key file.
    pub key: Option<String>,
    /// Where the block is.
    pub loc: Option<Location>,
}

/// `virtual_server_group NAME { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualServerGroup {
    /// The group's name.
    pub name: String,
    /// Address entries: `IP[-LAST|/LEN] [PORT]`.
    pub ranges: Vec<GroupRange>,
    /// `fwmark N [inet|inet6]` entries.
    pub fwmarks: Vec<(u32, Option<Family>)>,
    /// Where it is defined.
    pub loc: Location,
}

/// One address entry of a virtual server group: the addresses `first..=last` (equal for a
/// single address) on `port` (0: any port, which needs persistence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRange {
    /// First address.
    pub first: IpAddr,
    /// Last address (inclusive).
    pub last: IpAddr,
    /// Port, 0 when not given.
    pub port: u16,
}

/// What a virtual server is: `IP [PORT]`, `fwmark N` or `group NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceKey {
    /// `virtual_server IP [PORT]` (port 0 when not given).
    Addr {
        /// The virtual address.
        addr: IpAddr,
        /// The port, 0 when not given.
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Addr { addr, port } => match addr {
                IpAddr::V4(a) => write!(f, "{a}:{port}"),
                IpAddr::V6(a) => write!(f, "[{a}]:{port}"),
            },
            ServiceKey::Fwmark(m) => write!(f, "FWM {m}"),
            ServiceKey::Group(g) => write!(f, "group {g}"),
        }
    }
}

/// `protocol TCP|UDP|SCTP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP (the kernel's default when none is given, so keepalived's too).
    Udp,
    /// SCTP.
    Sctp,
}

/// `lb_algo` / `lvs_sched`: the IPVS scheduler names keepalived accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbAlgo {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connections.
    Lc,
    /// Weighted least connections (keepalived's default).
    Wlc,
    /// Locality-based least connections.
    Lblc,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Destination hashing.
    Dh,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Locality-based least connections with replication.
    Lblcr,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted random twos choice.
    Twos,
}

impl LbAlgo {
    /// Every scheduler with its keepalived name.
    pub const ALL: [(&'static str, LbAlgo); 14] = [
        ("rr", LbAlgo::Rr),
        ("wrr", LbAlgo::Wrr),
        ("lc", LbAlgo::Lc),
        ("wlc", LbAlgo::Wlc),
        ("lblc", LbAlgo::Lblc),
        ("sh", LbAlgo::Sh),
        ("mh", LbAlgo::Mh),
        ("dh", LbAlgo::Dh),
        ("fo", LbAlgo::Fo),
        ("ovf", LbAlgo::Ovf),
        ("lblcr", LbAlgo::Lblcr),
        ("sed", LbAlgo::Sed),
        ("nq", LbAlgo::Nq),
        ("twos", LbAlgo::Twos),
    ];

    /// The keepalived / ipvsadm name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("wlc")
    }
}

/// Scheduler flags (`ops`, `flag-1..3`, `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedFlags {
    /// `ops`: one-packet scheduling (UDP only).
    pub ops: bool,
    /// `flag-1`.
    pub flag1: bool,
    /// `flag-2`.
    pub flag2: bool,
    /// `flag-3`.
    pub flag3: bool,
    /// `sh-port` (sh only).
    pub sh_port: bool,
    /// `sh-fallback` (sh only).
    pub sh_fallback: bool,
    /// `mh-port` (mh only).
    pub mh_port: bool,
    /// `mh-fallback` (mh only).
    pub mh_fallback: bool,
}

/// `lb_kind` / `lvs_method`: how packets reach a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarding {
    /// `NAT`: masquerading (keepalived's default).
    Nat,
    /// `DR`: direct routing.
    Dr,
    /// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`: tunnelling.
    Tun {
        /// Tunnel type.
        kind: TunnelKind,
        /// GUE port (GUE only).
        port: u16,
        /// Checksum option.
        csum: TunnelCsum,
    },
}

/// IPVS tunnel types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    /// IP in IP (the default).
    Ipip,
    /// Generic UDP encapsulation.
    Gue,
    /// GRE.
    Gre,
}

/// IPVS tunnel checksum options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelCsum {
    /// `nocsum` (the default).
    NoCsum,
    /// `csum`.
    Csum,
    /// `remcsum`.
    RemCsum,
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// IPv4 netmask.
    V4(Ipv4Addr),
    /// IPv6 prefix length 1..=128.
    V6(u8),
}

/// `virtual_server ... { ... }`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualServer {
    /// What the service is.
    pub key: ServiceKey,
    /// Address family (from the address, `ip_family`, or the real servers).
    pub family: Family,
    /// `protocol` (UDP when not given for an address service, as keepalived; `None` for a
    /// fwmark service, where it means nothing).
    pub protocol: Option<Protocol>,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub lb_algo: LbAlgo,
    /// Scheduler flags.
    pub sched_flags: SchedFlags,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub forwarding: Forwarding,
    /// `persistence_engine NAME`.
    pub persistence_engine: Option<String>,
    /// `persistence_timeout [SECONDS]` (bare: 360 s; also set to 360 by
    /// `persistence_granularity` and by a zero port).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`.
    pub persistence_granularity: Option<Granularity>,
    /// `nat_mask` (keepalived 0.7's keyword, gone from keepalived 2.x; a Vigil extension):
    /// with `lb_kind NAT`, connections that the real servers' networks (each real server's
    /// address under this mask) open through the director are masqueraded, as the seed's
    /// ipchains `MASQ` rule did; the nftables data plane applies it (DATAPLANE.md).
    pub nat_mask: Option<Granularity>,
    /// `ha_suspend`: suspend the checkers while the virtual address is not on this host.
    pub ha_suspend: bool,
    /// `smtp_alert` (default: `smtp_alert_checker`, else `smtp_alert`, else off).
    pub smtp_alert: bool,
    /// `virtualhost`: default Host header of HTTP_GET / SSL_GET checkers.
    pub virtualhost: Option<String>,
    /// `alpha`: real servers start down until a check succeeds.
    pub alpha: bool,
    /// `omega`: run quorum and real-server down scripts at shutdown.
    pub omega: bool,
    /// `quorum` (default 1, reduced to the sum of the real servers' weights).
    pub quorum: u32,
    /// `hysteresis` (default 0, at most `quorum - 1`).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<Script>,
    /// `quorum_down` script.
    pub quorum_down: Option<Script>,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServer>,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Duration,
    /// Real servers, in file order (duplicates removed).
    pub real_servers: Vec<RealServer>,
    /// `virtual_server group NAME`: the group's definition (its address and fwmark entries),
    /// copied here so that the data plane can apply every entry with this one set of real
    /// servers, checkers and quorum (keepalived.conf(5) "Virtual server group(s)"). `None`
    /// for `IP PORT` and `fwmark N` services.
    pub group: Option<VirtualServerGroup>,
    /// Where it is defined.
    pub loc: Location,
}

impl VirtualServer {
    /// The address family of a fwmark entry of this virtual server's group: the entry's own
    /// (`fwmark N inet|inet6`), else the virtual server's (keepalived's `ipvs_group_cmd`).
    pub fn fwmark_family(&self, given: Option<Family>) -> Family {
        given.unwrap_or(self.family)
    }
}

/// `sorry_server IP [PORT]` with `sorry_server_inhibit` and `sorry_server_lvs_method`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorryServer {
    /// Address.
    pub addr: IpAddr,
    /// Port (the virtual server's when not given).
    pub port: u16,
    /// `sorry_server_inhibit`: kept in the table at weight 0 instead of removed.
    pub inhibit: bool,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Where it is given.
    pub loc: Location,
}

/// `real_server IP [PORT] { ... }`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct RealServer {
    /// Address.
    pub addr: IpAddr,
    /// Port (the virtual server's when not given).
    pub port: u16,
    /// `weight` (default: the virtual server's `weight`, default 1).
    pub weight: u32,
    /// Forwarding method (default: the virtual server's).
    pub forwarding: Forwarding,
    /// `uthreshold`: most connections.
    pub uthreshold: Option<u32>,
    /// `lthreshold`: fewest connections.
    pub lthreshold: Option<u32>,
    /// `inhibit_on_failure`: a failed server stays in the table with weight 0.
    pub inhibit_on_failure: bool,
    /// `notify_up` script.
    pub notify_up: Option<Script>,
    /// `notify_down` script.
    pub notify_down: Option<Script>,
    /// `smtp_alert` (default: `smtp_alert_checker`, else `smtp_alert`, else on).
    pub smtp_alert: bool,
    /// `virtualhost`: default Host header of its HTTP checkers.
    pub virtualhost: Option<String>,
    /// Health checkers, in file order.
    pub checkers: Vec<Checker>,
    /// Where it is defined.
    pub loc: Location,
}

/// Connection options of a network checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOpts {
    /// Where to connect: `connect_ip`, else the real server's address.
    pub dst: IpAddr,
    /// `connect_port`, else the real server's port.
    pub port: u16,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if` (needed for a link-local destination).
    pub bind_if: Option<String>,
    /// `fwmark`: SO_MARK on the checker's socket.
    pub fwmark: Option<u32>,
    /// `connect_timeout` (default: the real server's, else the virtual server's, else 5 s).
    pub timeout: Duration,
}

/// One health checker of a real server, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Checker {
    /// What it checks and how.
    pub kind: CheckKind,
    /// Connection options (every checker but MISC_CHECK and FILE_CHECK).
    pub conn: Option<ConnectOpts>,
    /// `alpha`: start down.
    pub alpha: bool,
    /// `retry`: extra attempts after a failure before the checker is down (defaults: 1; 0 for
    /// MISC_CHECK; 3 for DNS_CHECK).
    pub retry: u32,
    /// `delay_before_retry` (defaults: 1 s; 3 s for HTTP_GET / SSL_GET; `delay_loop` for
    /// DNS_CHECK).
    pub delay_before_retry: Duration,
    /// `warmup`: the first check starts within this long (default `delay_loop`).
    pub warmup: Duration,
    /// `delay_loop`: time between checks.
    pub delay_loop: Duration,
    /// `log_all_failures` (or the global `checker_log_all_failures`).
    pub log_all_failures: bool,
    /// Where it is defined.
    pub loc: Location,
}

/// `http_protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpProtocol {
    /// `1.0` (the default).
    V1_0,
    /// `1.0C`: 1.0 with `Connection: close`.
    V1_0Close,
    /// `1.1` (with `Connection: close`).
    V1_1,
}

/// `url { path digest status_code virtualhost regex ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// `path`.
    pub path: String,
    /// `digest`: the MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// `status_code` ranges (inclusive); default 200-299.
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost` (else the checker's, real server's, virtual server's).
    pub virtualhost: Option<String>,
    /// `regex` and its options: the body must (or, `regex_no_match`, must not) match.
    pub regex: Option<super::BodyRegex>,
}

impl Url {
    /// Whether `code` is an expected status.
    pub fn status_ok(&self, code: u16) -> bool {
        self.status_codes
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// DNS query types of DNS_CHECK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (the default).
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
}

impl DnsType {
    /// Every type with its name.
    pub const ALL: [(&'static str, DnsType); 7] = [
        ("A", DnsType::A),
        ("NS", DnsType::Ns),
        ("CNAME", DnsType::Cname),
        ("SOA", DnsType::Soa),
        ("MX", DnsType::Mx),
        ("TXT", DnsType::Txt),
        ("AAAA", DnsType::Aaaa),
    ];

    /// The record type number (RFC 1035 section 3.2.2, RFC 3596).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
        }
    }
}

/// The checker types and their own settings.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// `TCP_CHECK`: a TCP connection is accepted.
    Tcp,
    /// `HTTP_GET` / `SSL_GET`: every URL answers with an expected status (and digest).
    Http {
        /// `SSL_GET`.
        tls: bool,
        /// URLs, checked in turn.
        urls: Vec<Url>,
        /// `virtualhost` of the checker (else the real server's, else the virtual server's).
        virtualhost: Option<String>,
        /// `http_protocol`.
        protocol: HttpProtocol,
        /// `enable_sni` (SSL_GET).
        enable_sni: bool,
        /// `fast_recovery`: check every URL at once when recovering.
        fast_recovery: bool,
    },
    /// `MISC_CHECK`: a program's exit status.
    Misc {
        /// `misc_path`: the command.
        script: Script,
        /// `misc_timeout` (else the virtual server's `delay_loop`).
        timeout: Option<Duration>,
        /// `misc_dynamic`: exit status 2..=255 sets the weight to status - 2.
        dynamic: bool,
    },
    /// `SMTP_CHECK`: greeting, HELO, QUIT.
    Smtp {
        /// `helo_name` (default `smtpchecker.keepalived.org`, keepalived's).
        helo_name: String,
    },
    /// `DNS_CHECK`: a query is answered.
    Dns {
        /// `type` (default SOA).
        qtype: DnsType,
        /// `name` (default the root).
        name: String,
    },
    /// `UDP_CHECK`: a datagram draws no ICMP error (or the required reply).
    Udp {
        /// `payload` (else a few random bytes).
        payload: Option<Vec<u8>>,
        /// `require_reply [HEX]`: `Some(pattern)`; each byte with a mask of bits to compare.
        require_reply: Option<Vec<(u8, u8)>>,
        /// `min_reply_length` (default 0).
        min_reply_length: u16,
        /// `max_reply_length` (default 255).
        max_reply_length: u16,
    },
    /// `PING_CHECK`: an ICMP echo is answered.
    Ping,
    /// `FILE_CHECK`: a tracked file's value.
    File {
        /// `track_file NAME`: the `track_file` block.
        track_file: String,
        /// `weight N [reverse]` (default: the track_file's own).
        weight: i32,
        /// `reverse`.
        reverse: bool,
    },
}

impl CheckKind {
    /// keepalived's keyword for the checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Http { tls: false, .. } => "HTTP_GET",
            CheckKind::Http { tls: true, .. } => "SSL_GET",
            CheckKind::Misc { .. } => "MISC_CHECK",
            CheckKind::Smtp { .. } => "SMTP_CHECK",
            CheckKind::Dns { .. } => "DNS_CHECK",
            CheckKind::Udp { .. } => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File { .. } => "FILE_CHECK",
        }
    }
}

/// Every script the checker part of `cfg` would run: MISC_CHECK programs, `notify_up` /
/// `notify_down`, `quorum_up` / `quorum_down`, and the `lvs_notify_fifo_script`.
pub fn checker_scripts(cfg: &super::Config) -> Vec<&Script> {
    let mut v = Vec::new();
    for vs in &cfg.checkers.virtual_servers {
        v.extend(vs.quorum_up.iter().chain(vs.quorum_down.iter()));
        for rs in &vs.real_servers {
            v.extend(rs.notify_up.iter().chain(rs.notify_down.iter()));
            for c in &rs.checkers {
                if let CheckKind::Misc { script, .. } = &c.kind {
                    v.push(script);
                }
            }
        }
    }
    if let Some(f) = &cfg.global.checker.lvs_notify_fifo {
        v.extend(f.script.iter());
    }
    v
}
