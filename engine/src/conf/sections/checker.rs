//! The checker grammar of keepalived 2.2.7 (keepalived.conf(5): "Virtual server(s)", "Virtual
//! server group(s)", "SSL", and the checker settings of `global_defs`): `virtual_server`,
//! `virtual_server_group`, `real_server`, `sorry_server` and the nine checker blocks.
//!
//! Parsing is in two steps, like keepalived's: each block is read into a raw form whose unset
//! settings are `None`, then [`Builder::finish_checkers`] resolves inheritance (checker <- real
//! server <- virtual server <- the checker type's default) and makes the fix-ups keepalived makes
//! at the end of parsing, each reported as a warning because keepalived's `-t` fails on them too
//! (no scheduler, no forwarding method, quorum above the total weight, hysteresis not below the
//! quorum, ports that do not match, duplicated real servers, a virtual server without real
//! servers).
//!
//! Severity (as for the VRRP sections): a malformed value is an error; a keyword keepalived
//! ignores with a complaint is a warning; a keyword Vigil accepts but does not act on is a notice
//! with its reason; what Vigil cannot honour (`BFD_CHECK`, an HTTP `regex` that needs PCRE-only
//! syntax) is refused with an error.

use core::time::Duration;
use std::net::IpAddr;

use super::super::ast::Stmt;
use super::super::checker_model::*;
use super::super::lexer::{Location, Token};
use super::super::model::{Family, GlobalDefs, NotifyFifo, Script};
use super::super::values;
use super::{Builder, R};

/// `global_defs` keywords of the checker process that this module reads.
pub(super) const GLOBAL_KEYWORDS: &[&str] = &[
    "checker_log_all_failures",
    "smtp_alert_checker",
    "no_checker_emails",
    "rs_init_notifies",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
];

/// Checker-level keywords that Vigil accepts without acting on them, with the reason.
const NOTED: &[(&str, &str)] = &[
    (
        "snmp_name",
        "Vigil has no SNMP agent (the name is only used in SNMP data)",
    ),
    (
        "uthreshold",
        "connection thresholds are an IPVS feature; the nftables data plane (issue 17) cannot count connections per real server",
    ),
    (
        "lthreshold",
        "connection thresholds are an IPVS feature; the nftables data plane (issue 17) cannot count connections per real server",
    ),
];

pub(super) const MICRO: Duration = Duration::from_micros(1);
pub(super) const LONG: Duration = Duration::from_secs(u32::MAX as u64);
/// keepalived's `IPVS_WEIGHT_LIMIT` (INT32_MAX).
pub(super) const WEIGHT_MAX: u32 = i32::MAX as u32;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`.
pub(super) const PERSIST_DEFAULT: u32 = 360;
/// `LVS_MAX_TIMEOUT`: 31 days.
const LVS_MAX_TIMEOUT: i64 = 86_400 * 31;

/// Settings shared by virtual servers, real servers and checkers, unset when `None`.
#[derive(Clone, Debug, Default)]
pub(super) struct Timing {
    pub(super) alpha: Option<bool>,
    pub(super) retry: Option<u32>,
    pub(super) delay_before_retry: Option<Duration>,
    pub(super) warmup: Option<Duration>,
    pub(super) delay_loop: Option<Duration>,
    pub(super) connect_timeout: Option<Duration>,
}

#[derive(Clone, Debug)]
pub(super) struct RawSorry {
    pub(super) addr: IpAddr,
    pub(super) port: Option<u16>,
    pub(super) inhibit: bool,
    pub(super) forwarding: Option<Forwarding>,
    pub(super) loc: Location,
}

#[derive(Clone, Debug, Default)]
pub(super) struct RawConn {
    pub(super) connect_ip: Option<IpAddr>,
    pub(super) connect_port: Option<u16>,
    pub(super) bindto: Option<IpAddr>,
    pub(super) bind_port: Option<u16>,
    pub(super) bind_if: Option<String>,
    pub(super) fwmark: Option<u32>,
}

#[derive(Clone, Debug)]
pub(super) struct RawChecker {
    pub(super) kind: CheckKind,
    /// Whether the checker has connection options (all but MISC_CHECK and FILE_CHECK).
    pub(super) network: bool,
    pub(super) conn: RawConn,
    pub(super) timing: Timing,
    pub(super) log_all_failures: bool,
    pub(super) default_retry: u32,
    /// `None`: `delay_loop`.
    pub(super) default_delay_before_retry: Option<Duration>,
    /// SMTP_CHECK's deprecated `host { ... }` blocks: one checker each.
    pub(super) hosts: Vec<(RawConn, Option<Duration>, Location)>,
    pub(super) loc: Location,
}

impl RawConn {
    pub(super) fn any_set(&self) -> bool {
        self.connect_ip.is_some()
            || self.connect_port.is_some()
            || self.bindto.is_some()
            || self.bind_port.is_some()
            || self.bind_if.is_some()
            || self.fwmark.is_some()
    }
}

#[derive(Clone, Debug)]
pub(super) struct RawReal {
    pub(super) addr: IpAddr,
    pub(super) port: Option<u16>,
    pub(super) weight: Option<u32>,
    pub(super) forwarding: Option<Forwarding>,
    pub(super) uthreshold: Option<u32>,
    pub(super) lthreshold: Option<u32>,
    pub(super) inhibit: Option<bool>,
    pub(super) notify_up: Option<Script>,
    pub(super) notify_down: Option<Script>,
    pub(super) smtp_alert: Option<bool>,
    pub(super) virtualhost: Option<String>,
    pub(super) timing: Timing,
    pub(super) checkers: Vec<RawChecker>,
    pub(super) loc: Location,
}

/// A parsed `virtual_server` before inheritance is resolved.
#[derive(Clone, Debug)]
pub(super) struct RawVirtual {
    pub(super) key: ServiceKey,
    pub(super) family: Option<Family>,
    pub(super) protocol: Option<Protocol>,
    pub(super) lb_algo: Option<LbAlgo>,
    pub(super) sched_flags: SchedFlags,
    pub(super) forwarding: Option<Forwarding>,
    pub(super) persistence_engine: Option<String>,
    pub(super) persistence_timeout: Option<u32>,
    pub(super) persistence_granularity: Option<Granularity>,
    pub(super) nat_mask: Option<Granularity>,
    pub(super) ha_suspend: bool,
    pub(super) smtp_alert: Option<bool>,
    pub(super) virtualhost: Option<String>,
    pub(super) omega: bool,
    pub(super) quorum: u32,
    pub(super) hysteresis: u32,
    pub(super) quorum_up: Option<Script>,
    pub(super) quorum_down: Option<Script>,
    pub(super) weight: u32,
    pub(super) inhibit: bool,
    pub(super) sorry: Option<RawSorry>,
    pub(super) timing: Timing,
    pub(super) reals: Vec<RawReal>,
    pub(super) loc: Location,
}

pub(super) fn fam_of(a: &IpAddr) -> Family {
    if a.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    }
}

/// A port word: keepalived reads `0` (or `00`) as "no port".
pub(super) fn port_word(t: &Token, what: &str) -> Result<u16, String> {
    match t.text.parse::<u32>() {
        Ok(p) if p <= 65535 => Ok(p as u16),
        _ => Err(format!(
            "{what}: expected a port 0..=65535, found '{}'",
            t.text
        )),
    }
}

impl Builder {
    /// A checker setting of `global_defs` (one of [`GLOBAL_KEYWORDS`]).
    pub(super) fn checker_global(&mut self, s: &Stmt, g: &mut GlobalDefs) -> R<()> {
        let c = &mut g.checker;
        match s.keyword().text {
            "checker_log_all_failures" => c.log_all_failures = self.flag(s)?,
            "smtp_alert_checker" => c.smtp_alert_checker = Some(self.flag(s)?),
            "no_checker_emails" => c.no_checker_emails = self.flag(s)?,
            "rs_init_notifies" => c.rs_init_notifies = self.flag(s)?,
            "lvs_notify_fifo" => {
                let Some(path) = s.args().first() else {
                    self.err(s.loc(), "lvs_notify_fifo: expected a FIFO path");
                    return Err(());
                };
                let run_as = self.run_as(&s.args()[1..], "lvs_notify_fifo");
                let script = c.lvs_notify_fifo.take().and_then(|f| f.script);
                c.lvs_notify_fifo = Some(NotifyFifo {
                    path: path.text.to_string(),
                    run_as,
                    script,
                });
            }
            "lvs_notify_fifo_script" => {
                let script = self.notify_script(s)?;
                match &mut c.lvs_notify_fifo {
                    Some(f) => f.script = Some(script),
                    None => {
                        c.lvs_notify_fifo = Some(NotifyFifo {
                            path: String::new(),
                            run_as: None,
                            script: Some(script),
                        })
                    }
                }
            }
            _ => self.unknown(s, "global_defs"),
        }
        Ok(())
    }

    /// `SSL { password ca certificate key }`.
    pub(super) fn ssl_block(&mut self, s: &Stmt, prev: &mut Option<SslContext>) {
        if prev.is_some() {
            self.warn(
                s.loc(),
                "SSL context already specified: this block replaces it",
            );
        }
        let mut ctx = SslContext {
            loc: Some(s.loc().clone()),
            ..SslContext::default()
        };
        for st in self.block(s) {
            self.no_block(st);
            let slot = match st.keyword().text {
                "password" => &mut ctx.password,
                "ca" => &mut ctx.ca,
                "certificate" => &mut ctx.certificate,
                "key" => &mut ctx.key,
                _ => {
                    self.unknown(st, "SSL");
                    continue;
                }
            };
            if let Ok(v) = self.string(st) {
                *slot = Some(v);
            }
        }
        *prev = Some(ctx);
    }

    /// `virtual_server_group NAME { IP[-LAST|/LEN] [PORT] ... fwmark N [inet|inet6] ... }`.
    pub(super) fn vs_group(&mut self, s: &Stmt) -> R<VirtualServerGroup> {
        let Some(name) = s.args().first() else {
            self.err(
                s.loc(),
                "virtual_server_group: expected a name (virtual_server_group NAME { ... })",
            );
            return Err(());
        };
        let mut g = VirtualServerGroup {
            name: name.text.to_string(),
            ranges: Vec::new(),
            fwmarks: Vec::new(),
            loc: s.loc().clone(),
        };
        for st in self.block(s) {
            self.no_block(st);
            if st.keyword().text == "fwmark" {
                let Ok(t) = self.one_of_many(st) else {
                    continue;
                };
                let r = values::int_in(t.text, 0, i64::from(u32::MAX), "fwmark");
                let Ok(m) = self.check(&t.loc, r) else {
                    continue;
                };
                if let Some(x) = st.args().get(2) {
                    self.warn(&x.loc, format!("fwmark: unexpected '{}' (ignored)", x.text));
                }
                let fam = match st.args().get(1).map(|t| t.text) {
                    None => None,
                    Some("inet") => Some(Family::V4),
                    Some("inet6") => Some(Family::V6),
                    Some(other) => {
                        self.err(
                            &st.args()[1].loc,
                            format!(
                                "fwmark: expected inet or inet6 after the mark, found '{other}'"
                            ),
                        );
                        continue;
                    }
                };
                g.fwmarks.push((m as u32, fam));
                continue;
            }
            if let Ok(r) = self.group_range(st) {
                g.ranges.push(r);
            }
        }
        if g.ranges.is_empty() && g.fwmarks.is_empty() {
            self.warn(
                s.loc(),
                format!("virtual_server_group {} has no entries: removed", g.name),
            );
            return Err(());
        }
        Ok(g)
    }

    /// `virtual_server IP [PORT] | fwmark N | group NAME { ... }`.
    pub(super) fn virtual_server(&mut self, s: &Stmt) -> R<RawVirtual> {
        let args = s.args();
        let key = match (args.first().map(|t| t.text), args.get(1)) {
            (None, _) => {
                self.err(
                    s.loc(),
                    "virtual_server: expected IP [PORT], 'fwmark N' or 'group NAME'",
                );
                return Err(());
            }
            (Some("fwmark"), Some(m)) => {
                let r = values::int_in(m.text, 0, i64::from(u32::MAX), "virtual_server fwmark");
                ServiceKey::Fwmark(self.check(&m.loc, r)? as u32)
            }
            (Some("group"), Some(g)) => ServiceKey::Group(g.text.to_string()),
            (Some(w @ ("fwmark" | "group")), None) => {
                self.err(
                    &args[0].loc,
                    format!("virtual_server {w}: expected a value after '{w}'"),
                );
                return Err(());
            }
            (Some(_), port) => {
                let r = values::ip(args[0].text, "virtual_server");
                let addr = self.check(&args[0].loc, r)?;
                let port = match port {
                    Some(p) => {
                        let r = port_word(p, "virtual_server port");
                        self.check(&p.loc, r)?
                    }
                    None => 0,
                };
                ServiceKey::Addr { addr, port }
            }
        };
        if let Some(x) = args.get(2) {
            self.warn(
                &x.loc,
                format!("virtual_server: unexpected '{}' (ignored)", x.text),
            );
        }
        let family = match &key {
            ServiceKey::Addr { addr, .. } => Some(fam_of(addr)),
            _ => None,
        };
        let mut vs = RawVirtual {
            key,
            family,
            protocol: None,
            lb_algo: None,
            sched_flags: SchedFlags::default(),
            forwarding: None,
            persistence_engine: None,
            persistence_timeout: None,
            persistence_granularity: None,
            nat_mask: None,
            ha_suspend: false,
            smtp_alert: None,
            virtualhost: None,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: 1,
            inhibit: false,
            sorry: None,
            timing: Timing {
                alpha: Some(false),
                ..Timing::default()
            },
            reals: Vec::new(),
            loc: s.loc().clone(),
        };
        for st in self.block(s) {
            let kw = st.keyword().text;
            if kw != "real_server" {
                self.no_block(st);
            }
            let _ = self.vs_keyword(st, kw, &mut vs);
        }
        Ok(vs)
    }

    // Long on purpose: one arm per virtual_server keyword of keepalived's table, kept together.
    pub(super) fn vs_keyword(&mut self, st: &Stmt, kw: &str, vs: &mut RawVirtual) -> R<()> {
        match kw {
            "real_server" => {
                if let Ok(rs) = self.real_server(st) {
                    vs.reals.push(rs);
                }
            }
            "ip_family" => {
                let t = self.one(st)?;
                let f = match t.text {
                    "inet" => Family::V4,
                    "inet6" => Family::V6,
                    other => {
                        self.err(
                            &t.loc,
                            format!("ip_family: expected inet or inet6, found '{other}'"),
                        );
                        return Err(());
                    }
                };
                if vs.family.is_some_and(|x| x != f) {
                    self.warn(
                        &t.loc,
                        "ip_family conflicts with the virtual server's address family (ignored)",
                    );
                } else {
                    vs.family = Some(f);
                }
            }
            "lb_algo" | "lvs_sched" => {
                let t = self.one(st)?;
                match LbAlgo::ALL.iter().find(|(n, _)| *n == t.text) {
                    Some((_, a)) => vs.lb_algo = Some(*a),
                    None => {
                        self.err(
                            &t.loc,
                            format!(
                                "{kw}: expected one of rr wrr lc wlc lblc sh mh dh fo ovf lblcr sed nq twos, found '{}'",
                                t.text
                            ),
                        );
                        return Err(());
                    }
                }
            }
            "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
            | "mh-port" | "mh-fallback" => {
                let f = &mut vs.sched_flags;
                match kw {
                    "ops" => f.ops = true,
                    "flag-1" => f.flag1 = true,
                    "flag-2" => f.flag2 = true,
                    "flag-3" => f.flag3 = true,
                    // keepalived's lbflags_handler has no branch for `hashed` (IPVS's own
                    // bookkeeping flag): it changes nothing, for any scheduler.
                    "hashed" => self.notice(
                        st.loc(),
                        "hashed: IPVS's own bookkeeping flag, which keepalived does not pass either; it changes nothing",
                    ),
                    _ => match (vs.lb_algo, kw) {
                        (Some(LbAlgo::Sh), "sh-port") => f.sh_port = true,
                        (Some(LbAlgo::Sh), "sh-fallback") => f.sh_fallback = true,
                        (Some(LbAlgo::Mh), "mh-port") => f.mh_port = true,
                        (Some(LbAlgo::Mh), "mh-fallback") => f.mh_fallback = true,
                        // The other scheduler's flag name: keepalived ignores it without a word.
                        (Some(LbAlgo::Sh | LbAlgo::Mh), _) => {
                            let algo = vs.lb_algo.map_or("", LbAlgo::name);
                            self.notice(
                                st.loc(),
                                format!("{kw} belongs to the other hashing scheduler: with lb_algo {algo} it is ignored, as keepalived ignores it (use {algo}-port / {algo}-fallback)"),
                            );
                        }
                        _ => self.warn(
                            st.loc(),
                            format!("{kw} only applies to the sh / mh schedulers, set before it with lb_algo (ignored)"),
                        ),
                    },
                }
            }
            "lb_kind" | "lvs_method" => vs.forwarding = Some(self.forwarding(st)?),
            "persistence_engine" => vs.persistence_engine = Some(self.string(st)?),
            "persistence_timeout" => {
                vs.persistence_timeout = Some(match st.args().first() {
                    None => PERSIST_DEFAULT,
                    Some(_) => self.int(st, 1, LVS_MAX_TIMEOUT)? as u32,
                })
            }
            "persistence_granularity" => {
                let g = self.mask(st, &mut vs.family, "persistence_granularity")?;
                vs.persistence_granularity = Some(g);
                vs.persistence_timeout.get_or_insert(PERSIST_DEFAULT);
            }
            "nat_mask" => vs.nat_mask = Some(self.mask(st, &mut vs.family, "nat_mask")?),
            "protocol" => {
                let t = self.one(st)?;
                vs.protocol = Some(match t.text.to_ascii_uppercase().as_str() {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    "SCTP" => Protocol::Sctp,
                    _ => {
                        self.err(
                            &t.loc,
                            format!("protocol: expected TCP, UDP or SCTP, found '{}'", t.text),
                        );
                        return Err(());
                    }
                });
            }
            "ha_suspend" => vs.ha_suspend = true,
            "smtp_alert" => vs.smtp_alert = Some(self.flag(st)?),
            "virtualhost" => vs.virtualhost = Some(self.string(st)?),
            "alpha" => vs.timing.alpha = Some(true),
            "omega" => vs.omega = true,
            "quorum" => vs.quorum = self.u32v(st, 1, u32::MAX)?,
            "hysteresis" => vs.hysteresis = self.u32v(st, 0, u32::MAX)?,
            "quorum_up" | "quorum_down" => {
                let slot = if kw == "quorum_up" {
                    &mut vs.quorum_up
                } else {
                    &mut vs.quorum_down
                };
                if slot.is_some() {
                    self.warn(
                        st.loc(),
                        format!("{kw} script already specified (this one is ignored)"),
                    );
                    return Ok(());
                }
                *slot = Some(self.notify_script(st)?);
            }
            "weight" => vs.weight = self.u32v(st, 1, WEIGHT_MAX)?,
            "inhibit_on_failure" => vs.inhibit = true,
            "sorry_server" => {
                let a = st.args();
                let Some(ip) = a.first() else {
                    self.err(st.loc(), "sorry_server: expected IP [PORT]");
                    return Err(());
                };
                let r = values::ip(ip.text, "sorry_server");
                let addr = self.check(&ip.loc, r)?;
                let port = match a.get(1) {
                    Some(p) => {
                        let r = port_word(p, "sorry_server port");
                        Some(self.check(&p.loc, r)?).filter(|p| *p != 0)
                    }
                    None => None,
                };
                vs.sorry = Some(RawSorry {
                    addr,
                    port,
                    inhibit: false,
                    forwarding: None,
                    loc: st.loc().clone(),
                });
            }
            "sorry_server_inhibit" => match &mut vs.sorry {
                Some(s) => s.inhibit = true,
                None => self.warn(
                    st.loc(),
                    "sorry_server_inhibit before or without sorry_server (ignored)",
                ),
            },
            "sorry_server_lvs_method" => {
                let f = self.forwarding(st)?;
                match &mut vs.sorry {
                    Some(s) => s.forwarding = Some(f),
                    None => self.warn(
                        st.loc(),
                        "sorry_server_lvs_method before or without sorry_server (ignored)",
                    ),
                }
            }
            _ => {
                if !self.timing_keyword(st, kw, &mut vs.timing, Level::Virtual)? {
                    self.noted_or_unknown(st, "virtual_server");
                }
            }
        }
        Ok(())
    }

    pub(super) fn noted_or_unknown(&mut self, st: &Stmt, section: &str) {
        let kw = st.keyword().text;
        match NOTED.iter().find(|(k, _)| *k == kw) {
            Some((_, why)) => self.notice(
                st.loc(),
                format!("'{kw}' in {section} is accepted but not used: {why}"),
            ),
            None => self.unknown(st, section),
        }
    }

    /// The timing keywords every level shares; `Ok(false)` when `kw` is not one of them.
    pub(super) fn timing_keyword(
        &mut self,
        st: &Stmt,
        kw: &str,
        t: &mut Timing,
        level: Level,
    ) -> R<bool> {
        match kw {
            "retry" => {
                // keepalived: 1.. on virtual and real servers, 0.. on checkers.
                let min = if level == Level::Checker { 0 } else { 1 };
                t.retry = Some(self.u32v(st, min, u32::MAX)?);
            }
            "delay_before_retry" => {
                t.delay_before_retry = Some(self.timer(st, Duration::ZERO, LONG)?)
            }
            "warmup" => t.warmup = Some(self.timer(st, Duration::ZERO, LONG)?),
            "delay_loop" => t.delay_loop = Some(self.timer(st, MICRO, LONG)?),
            "connect_timeout" if level != Level::Checker => {
                t.connect_timeout = Some(self.timer(st, MICRO, LONG)?)
            }
            "alpha" if level != Level::Virtual => t.alpha = Some(self.flag(st)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `lb_kind|lvs_method NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
    /// An IPv4 netmask or an IPv6 prefix length (`persistence_granularity`, `nat_mask`), of
    /// the virtual server's family (or the one the value's form says, which it then takes).
    fn mask(&mut self, st: &Stmt, family: &mut Option<Family>, kw: &str) -> R<Granularity> {
        let t = self.one(st)?;
        let fam = family.unwrap_or(if t.text.contains('.') {
            Family::V4
        } else {
            Family::V6
        });
        let g = match fam {
            Family::V6 => {
                let r = values::int_in(t.text, 1, 128, kw);
                Granularity::V6(self.check(&t.loc, r)? as u8)
            }
            Family::V4 => match t.text.parse::<std::net::Ipv4Addr>() {
                Ok(m) => Granularity::V4(m),
                Err(_) => {
                    self.err(
                        &t.loc,
                        format!("{kw}: expected an IPv4 netmask, found '{}'", t.text),
                    );
                    return Err(());
                }
            },
        };
        family.get_or_insert(fam);
        Ok(g)
    }

    pub(super) fn forwarding(&mut self, st: &Stmt) -> R<Forwarding> {
        let t = self.one_of_many(st)?;
        let kw = st.keyword().text.to_string();
        let f = match t.text {
            "NAT" => Forwarding::Nat,
            "DR" => Forwarding::Dr,
            "TUN" => {
                let mut kind = TunnelKind::Ipip;
                let mut port = 0u16;
                let mut csum = TunnelCsum::NoCsum;
                let a = st.args();
                let mut i = 1;
                while i < a.len() {
                    match (a[i].text, a.get(i + 1)) {
                        ("type", Some(v)) => {
                            kind = match v.text {
                                "ipip" => TunnelKind::Ipip,
                                "gue" => TunnelKind::Gue,
                                "gre" => TunnelKind::Gre,
                                other => {
                                    self.err(
                                        &v.loc,
                                        format!("{kw}: expected tunnel type ipip, gue or gre, found '{other}'"),
                                    );
                                    return Err(());
                                }
                            };
                            i += 2;
                        }
                        ("port", Some(v)) => {
                            let r = values::int_in(v.text, 1, 65535, "tunnel port");
                            port = self.check(&v.loc, r)? as u16;
                            i += 2;
                        }
                        ("nocsum", _) => {
                            csum = TunnelCsum::NoCsum;
                            i += 1;
                        }
                        ("csum", _) => {
                            csum = TunnelCsum::Csum;
                            i += 1;
                        }
                        ("remcsum", _) => {
                            csum = TunnelCsum::RemCsum;
                            i += 1;
                        }
                        (other, _) => {
                            self.err(
                                &a[i].loc,
                                format!("{kw}: unexpected tunnel option '{other}'"),
                            );
                            return Err(());
                        }
                    }
                }
                if (kind == TunnelKind::Gue) != (port != 0) {
                    self.err(
                        &t.loc,
                        format!(
                            "{kw}: a gue tunnel needs 'port N', and only a gue tunnel takes one"
                        ),
                    );
                    return Err(());
                }
                if kind == TunnelKind::Ipip && csum != TunnelCsum::NoCsum {
                    self.err(
                        &t.loc,
                        format!("{kw}: ipip tunnels take no checksum option"),
                    );
                    return Err(());
                }
                if kind == TunnelKind::Gre && csum == TunnelCsum::RemCsum {
                    self.err(&t.loc, format!("{kw}: gre tunnels do not support remcsum"));
                    return Err(());
                }
                Forwarding::Tun { kind, port, csum }
            }
            other => {
                self.err(
                    &t.loc,
                    format!("{kw}: expected NAT, DR or TUN, found '{other}'"),
                );
                return Err(());
            }
        };
        if !matches!(f, Forwarding::Tun { .. }) {
            if let Some(x) = st.args().get(1) {
                self.warn(&x.loc, format!("{kw}: unexpected '{}' (ignored)", x.text));
            }
        }
        Ok(f)
    }

    /// The first argument, leaving the rest to the caller.
    pub(super) fn one_of_many<'s>(&mut self, s: &'s Stmt) -> R<&'s Token<'s>> {
        match s.args().first() {
            Some(t) => Ok(t),
            None => {
                let kw = &s.keyword().text;
                self.err(s.loc(), format!("{kw}: expected a value after '{kw}'"));
                Err(())
            }
        }
    }
}

/// Which block a timing keyword is read in (their ranges differ slightly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Level {
    Virtual,
    Real,
    Checker,
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;
