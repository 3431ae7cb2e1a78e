//! The typed attributes of a route line beyond its destination, gateway and interface, and
//! policy routing rules (`virtual_rules` / `static_rules`), as keepalived.conf(5) writes them
//! ("Virtual routes", "Virtual rules") and as keepalived 2.2.7 reads them (`vrrp_iproute.c`
//! `alloc_route`, `vrrp_iprule.c` `alloc_rule`).
//!
//! Values are resolved when the file is read (a table name through `/etc/iproute2/rt_tables`,
//! as keepalived does), so that a route or rule here is what goes into the netlink message.

use std::net::IpAddr;

/// The kernel's route metrics (`RTAX_*` numbers), for a route's `lock` mask.
pub mod rtax {
    /// `mtu`.
    pub const MTU: u8 = 2;
    /// `window`.
    pub const WINDOW: u8 = 3;
    /// `rtt`.
    pub const RTT: u8 = 4;
    /// `rttvar`.
    pub const RTTVAR: u8 = 5;
    /// `ssthresh`.
    pub const SSTHRESH: u8 = 6;
    /// `cwnd`.
    pub const CWND: u8 = 7;
    /// `advmss`.
    pub const ADVMSS: u8 = 8;
    /// `reordering`.
    pub const REORDERING: u8 = 9;
    /// `rto_min`.
    pub const RTO_MIN: u8 = 13;
    /// `congctl`.
    pub const CC_ALGO: u8 = 16;
}

/// The route attributes of keepalived.conf(5)'s route line other than the type, destination,
/// `src`, `via`, `dev`, `table`, `metric`, `scope` and `no_track`. Every one is installed
/// through rtnetlink: the metrics in `RTA_METRICS`, the rest in their own attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RouteAttrs {
    /// `from PREFIX` (IPv6 only): the source prefix of a source-specific route.
    pub from: Option<(IpAddr, u8)>,
    /// `tos` / `dsfield`.
    pub tos: Option<u8>,
    /// `protocol`: only with `no_track` (a tracked route is always protocol 18, `keepalived`).
    pub protocol: Option<u8>,
    /// `onlink`: the gateway is on the link even if no prefix says so (IPv4).
    pub onlink: bool,
    /// `realms FROM/TO` or `realms TO` (IPv4): `FROM << 16 | TO`.
    pub realms: Option<u32>,
    /// `expires SECS` (IPv6).
    pub expires: Option<u32>,
    /// `mtu [lock] N`.
    pub mtu: Option<u32>,
    /// `hoplimit N`.
    pub hoplimit: Option<u8>,
    /// `advmss [lock] N`.
    pub advmss: Option<u32>,
    /// `rtt [lock] TIME`, in the kernel's unit (1/8 ms).
    pub rtt: Option<u32>,
    /// `rttvar [lock] TIME`, in the kernel's unit (1/4 ms).
    pub rttvar: Option<u32>,
    /// `reordering [lock] N`.
    pub reordering: Option<u32>,
    /// `window N`.
    pub window: Option<u32>,
    /// `cwnd [lock] N`.
    pub cwnd: Option<u32>,
    /// `ssthresh [lock] N`.
    pub ssthresh: Option<u32>,
    /// `rto_min [lock] TIME`, in ms.
    pub rto_min: Option<u32>,
    /// `initcwnd N`.
    pub initcwnd: Option<u32>,
    /// `initrwnd N`.
    pub initrwnd: Option<u32>,
    /// `features ecn`.
    pub ecn: bool,
    /// `quickack 0|1`.
    pub quickack: Option<u32>,
    /// `congctl [lock] NAME`.
    pub congctl: Option<String>,
    /// `pref low|medium|high|N` (IPv6 router preference: low 3, medium 0, high 1).
    pub pref: Option<u8>,
    /// `fastopen_no_cookie 0|1`.
    pub fastopen_no_cookie: Option<u32>,
    /// The `lock` words: bit `1 << RTAX_*` for each locked metric ([`rtax`]).
    pub lock: u32,
    /// `nexthop ...` groups (a multipath route), or the deprecated `via A or B`.
    pub nexthops: Vec<NextHop>,
    /// `encap mpls|ip|ip6|ila ...`: lightweight tunnel encapsulation of the route.
    pub encap: Option<Encap>,
    /// `ttl-propagate enabled|disabled` (`RTA_TTL_PROPAGATE`, 1 or 0).
    pub ttl_propagate: Option<bool>,
}

/// One `nexthop` of a multipath route: `nexthop [via A] [dev IF] [weight 1..256] [onlink]
/// [realms R]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// `via`.
    pub via: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `weight` as written (1..=256; the kernel stores weight - 1).
    pub weight: Option<u16>,
    /// `onlink`.
    pub onlink: bool,
    /// `realms`.
    pub realms: Option<u32>,
    /// `encap ...`: this nexthop's lightweight tunnel encapsulation.
    pub encap: Option<Encap>,
}

/// A route's lightweight tunnel encapsulation (`encap`, keepalived.conf(5) "Virtual routes";
/// keepalived 2.2.7 `vrrp_iproute.c` `parse_encap`; the kernel's `include/uapi/linux/lwtunnel.h`
/// `LWTUNNEL_ENCAP_*`). The values are what goes into `RTA_ENCAP`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Encap {
    /// `encap mpls LABEL[/LABEL]` (`LWTUNNEL_ENCAP_MPLS`): the label stack pushed, outermost
    /// first, one or two labels (keepalived's `MAX_MPLS_LABELS`), each below 2^20.
    Mpls(Vec<u32>),
    /// `encap ip [id N] [dst A] [src A] [tos T] [ttl N] [flags N]` (`LWTUNNEL_ENCAP_IP`, IPv4
    /// tunnel metadata for a collect_metadata tunnel device).
    Ip(IpEncap),
    /// `encap ip6 [id N] [dst A] [src A] [tc T] [hoplimit N] [flags N]` (`LWTUNNEL_ENCAP_IP6`).
    Ip6(IpEncap),
    /// `encap ila LOCATOR` (`LWTUNNEL_ENCAP_ILA`): the 64-bit locator written as four
    /// colon-separated hex groups, the first group the most significant.
    Ila(u64),
}

impl Encap {
    /// The kernel's `LWTUNNEL_ENCAP_*` number (`lwtunnel.h`).
    pub const fn type_number(&self) -> u16 {
        match self {
            Encap::Mpls(_) => 1,
            Encap::Ip(_) => 2,
            Encap::Ila(_) => 3,
            Encap::Ip6(_) => 4,
        }
    }
}

impl core::fmt::Display for Encap {
    /// As the configuration writes it: `encap mpls 100/200`, `encap ip id 7 dst 192.0.2.9`,
    /// `encap ila 2001:0:0:1`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Encap::Mpls(labels) => {
                f.write_str("encap mpls")?;
                for (i, l) in labels.iter().enumerate() {
                    write!(f, "{}{l}", if i == 0 { ' ' } else { '/' })?;
                }
                Ok(())
            }
            Encap::Ila(l) => write!(
                f,
                "encap ila {:x}:{:x}:{:x}:{:x}",
                l >> 48,
                l >> 32 & 0xffff,
                l >> 16 & 0xffff,
                l & 0xffff
            ),
            Encap::Ip(x) | Encap::Ip6(x) => {
                let v6 = matches!(self, Encap::Ip6(_));
                f.write_str(if v6 { "encap ip6" } else { "encap ip" })?;
                if let Some(id) = x.id {
                    write!(f, " id {id}")?;
                }
                if let Some(a) = x.dst {
                    write!(f, " dst {a}")?;
                }
                if let Some(a) = x.src {
                    write!(f, " src {a}")?;
                }
                if let Some(t) = x.tos {
                    write!(f, " {} {t}", if v6 { "tc" } else { "tos" })?;
                }
                if let Some(t) = x.ttl {
                    write!(f, " {} {t}", if v6 { "hoplimit" } else { "ttl" })?;
                }
                if let Some(n) = x.flags {
                    write!(f, " flags {n}")?;
                }
                Ok(())
            }
        }
    }
}

/// The tunnel metadata of `encap ip` / `encap ip6`: what the route sets on the packet's tunnel
/// key (`LWTUNNEL_IP_*` / `LWTUNNEL_IP6_*`). Addresses are IPv4 for `ip`, IPv6 for `ip6`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IpEncap {
    /// `id N`: the tunnel key (VNI, GRE key), sent big-endian. keepalived 2.2.7 keeps only the
    /// low 32 bits of what is written (its `read_unsigned64` casts to `unsigned`).
    pub id: Option<u64>,
    /// `dst A`: the outer destination.
    pub dst: Option<IpAddr>,
    /// `src A`: the outer source.
    pub src: Option<IpAddr>,
    /// `tos T` (ip) / `tc T` (ip6): the outer TOS / traffic class.
    pub tos: Option<u8>,
    /// `ttl N` (ip) / `hoplimit N` (ip6): the outer TTL / hop limit.
    pub ttl: Option<u8>,
    /// `flags N`: the tunnel flags as keepalived sends them (a 16-bit number in host byte
    /// order; see io-linux's encoding for what the kernel reads).
    pub flags: Option<u16>,
}

/// What a rule does with a matching packet (`FR_ACT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `table N` / `lookup N`: look the route up in table N.
    Table(u32),
    /// `l3mdev`: look up in the table of the packet's VRF device.
    L3mdev,
    /// `goto PREF`: continue with the rule of preference PREF.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`: drop silently.
    Blackhole,
    /// `unreachable`: drop with ICMP net unreachable.
    Unreachable,
    /// `prohibit`: drop with ICMP administratively prohibited.
    Prohibit,
}

/// A policy routing rule of `virtual_rules` / `static_rules` (keepalived.conf(5), `ip rule`'s
/// syntax): `[inet|inet6] [not] [from P] [to P] [priority N] [tos T] [fwmark M[/MASK]] [iif IF]
/// [oif IF] [uidrange A-B] [ipproto P] [sport A[-B]] [dport A[-B]] [suppress_prefixlength N]
/// [suppress_ifgroup G] [realms R] [tunnel-id N] [protocol N] [no_track] ACTION`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// IPv6 (`inet6`, or an IPv6 `from` / `to`); IPv4 otherwise.
    pub ipv6: bool,
    /// `not`: the selector is inverted.
    pub invert: bool,
    /// `from PREFIX`.
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX`.
    pub to: Option<(IpAddr, u8)>,
    /// `priority` / `preference` / `order`. keepalived gives a rule without one a decreasing
    /// number (with a warning); so does Vigil (the parser fills it in).
    pub priority: u32,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `suppress_prefixlength` / `sup_pl`.
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup` / `sup_group`.
    pub suppress_ifgroup: Option<u32>,
    /// `tunnel-id`.
    pub tunnel_id: Option<u64>,
    /// `uidrange START-END`.
    pub uidrange: Option<(u32, u32)>,
    /// `protocol`: 18 (`keepalived`) unless `no_track`, where it is what is written, if anything.
    pub protocol: Option<u8>,
    /// `ipproto`.
    pub ipproto: Option<u8>,
    /// `sport START[-END]`.
    pub sport: Option<(u16, u16)>,
    /// `dport START[-END]`.
    pub dport: Option<(u16, u16)>,
    /// `realms`.
    pub realms: Option<u32>,
    /// The action.
    pub action: RuleAction,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (`static_rules` only): the group's instances track the rule's `iif`
    /// (see [`super::TrackGroup`]).
    pub track_group: Option<super::TrackGroupRef>,
}

impl Rule {
    /// keepalived's `format_iprule` (the `-d` dump line, also how logs name a rule).
    pub fn keepalived_format(&self) -> String {
        use core::fmt::Write as _;
        let mut s = String::new();
        if self.from.is_none() && self.to.is_none() && self.ipv6 {
            s.push_str("inet6 ");
        }
        if self.invert {
            s.push_str("not ");
        }
        match self.from {
            Some((a, l)) => {
                let _ = write!(s, "from {}", prefix(a, l));
            }
            None => s.push_str("from all"),
        }
        if let Some((a, l)) = self.to {
            let _ = write!(s, " to {}", prefix(a, l));
        }
        let _ = write!(s, " priority {}", self.priority);
        let _ = write!(s, " tos 0x{:x}", self.tos);
        if let Some((m, mask)) = self.fwmark {
            let _ = write!(s, " fwmark 0x{m:x}");
            if let Some(k) = mask.filter(|k| *k != u32::MAX) {
                let _ = write!(s, "/0x{k:x}");
            }
        }
        if let Some(i) = &self.iif {
            let _ = write!(s, " iif {i}");
        }
        if let Some(o) = &self.oif {
            let _ = write!(s, " oif {o}");
        }
        if let Some(p) = self.suppress_prefixlength {
            let _ = write!(s, " suppress_prefixlen {p}");
        }
        if let Some(g) = self.suppress_ifgroup {
            let _ = write!(s, " suppress_ifgroup {g}");
        }
        if let Some(t) = self.tunnel_id.filter(|t| *t != 0) {
            let _ = write!(s, " tunnel-id {t}");
        }
        if let Some((a, b)) = self.uidrange {
            let _ = write!(s, " uidrange {a}-{b}");
        }
        if matches!(self.action, RuleAction::L3mdev) {
            s.push_str(" l3mdev");
        }
        if let Some(p) = self.protocol {
            let _ = write!(s, " protocol {p}");
        }
        if let Some(p) = self.ipproto {
            let _ = write!(s, " ipproto {p}");
        }
        if let Some((a, b)) = self.sport {
            let _ = write!(s, " sport {a}-{b}");
        }
        if let Some((a, b)) = self.dport {
            let _ = write!(s, " dport {a}-{b}");
        }
        if let Some(r) = self.realms.filter(|r| *r != 0) {
            let _ = write!(s, " realms {}/{}", r >> 16, r & 0xffff);
        }
        match self.action {
            RuleAction::Table(t) => {
                let _ = write!(s, " lookup {t}");
            }
            // keepalived's l3mdev rules are table actions with table 0.
            RuleAction::L3mdev => s.push_str(" lookup 0"),
            RuleAction::Goto(g) => {
                let _ = write!(s, " goto {g}");
            }
            RuleAction::Nop => s.push_str(" nop"),
            RuleAction::Blackhole => s.push_str(" type blackhole"),
            RuleAction::Unreachable => s.push_str(" type unreachable"),
            RuleAction::Prohibit => s.push_str(" type prohibit"),
        }
        if self.no_track {
            s.push_str(" no_track");
        }
        if let Some(g) = &self.track_group {
            let _ = write!(s, " track_group {}", g.name);
        }
        s
    }
}

/// keepalived's `ipaddresstos` for a prefix: the address alone when it is a host prefix.
fn prefix(a: IpAddr, len: u8) -> String {
    let host = if a.is_ipv4() { 32 } else { 128 };
    if len == host {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}
