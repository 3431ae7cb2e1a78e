//! Resolving a parsed `virtual_server`: inheritance of checker settings (checker <- real
//! server <- virtual server <- the checker type's default) and the fix-ups keepalived 2.2.7
//! makes at the end of parsing (`check_data.c`), each reported as a warning because
//! keepalived's `-t` fails on them too.

use core::time::Duration;
use std::net::IpAddr;

use super::super::checker_model::*;
use super::super::model::{Config, Family, GlobalDefs};
use super::checker::{fam_of, RawChecker, RawReal, RawVirtual, Timing, PERSIST_DEFAULT};
use super::Builder;

impl Builder {
    /// Resolves the raw virtual servers into `cfg.checkers` with keepalived's end-of-parse
    /// fix-ups, and checks cross-references (groups, track files).
    pub(super) fn finish_checkers(&mut self, cfg: &mut Config, raws: Vec<RawVirtual>) {
        let g = cfg.global.clone();
        if let (Some(first), Some(loc)) = (raws.first(), g.loc.as_ref()) {
            if g.smtp_server.is_some() {
                let _ = first;
                self.notice(
                    loc,
                    "checker e-mail alerts (smtp_alert of virtual and real servers) are not sent yet: only VRRP e-mails are",
                );
            }
        }
        for raw in raws {
            if let Some(vs) = self.resolve_vs(raw, &g, cfg) {
                cfg.checkers.virtual_servers.push(vs);
            }
        }
    }

    // Long on purpose: keepalived's end-of-parse checks (check_data.c) in their order, one block each.
    pub(super) fn resolve_vs(
        &mut self,
        raw: RawVirtual,
        g: &GlobalDefs,
        cfg: &Config,
    ) -> Option<VirtualServer> {
        let vsname = raw.key.to_string();
        let mut family = raw.family;
        let group = match &raw.key {
            ServiceKey::Group(name) => match cfg.checkers.groups.iter().find(|x| &x.name == name) {
                Some(gr) => Some(gr),
                None => {
                    self.warn(
                            &raw.loc,
                            format!("virtual_server group {name}: no virtual_server_group of that name: the virtual server is ignored"),
                        );
                    return None;
                }
            },
            _ => None,
        };
        if let Some(gr) = group {
            // keepalived's link_vsg_to_vs (ipwrapper.c): a group of IPv4 and IPv6 entries
            // serves a virtual server only when no real or sorry server fixes its family
            // (all of them tunnelled, no ip_family); else the virtual server is ignored.
            let fams: Vec<Family> = gr
                .ranges
                .iter()
                .map(|r| fam_of(&r.first))
                .chain(gr.fwmarks.iter().filter_map(|(_, f)| *f))
                .collect();
            let mixed = fams.contains(&Family::V4) && fams.contains(&Family::V6);
            let untunnelled = raw
                .reals
                .iter()
                .map(|r| r.forwarding)
                .chain(raw.sorry.as_ref().map(|s| s.forwarding))
                .any(|f| !matches!(f.or(raw.forwarding), Some(Forwarding::Tun { .. })));
            if mixed && (family.is_some() || untunnelled) {
                self.warn(
                    &raw.loc,
                    format!("virtual_server group {name}: the group has IPv4 and IPv6 entries, which only tunnelled real servers can serve: the virtual server is ignored (as keepalived)", name = gr.name),
                );
                return None;
            }
            if family.is_none() {
                family = fams.first().copied();
            }
        }
        // Real servers: family agreement (non-tunnel), duplicates.
        let mut reals: Vec<RawReal> = Vec::new();
        for rs in raw.reals {
            let tunnel = matches!(
                rs.forwarding.or(raw.forwarding),
                Some(Forwarding::Tun { .. })
            );
            if !tunnel {
                match family {
                    None => family = Some(fam_of(&rs.addr)),
                    Some(f) if f != fam_of(&rs.addr) => {
                        self.warn(
                            &rs.loc,
                            format!("real_server {}: its address family differs from virtual server {vsname}'s: the real server is ignored", rs.addr),
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            reals.push(rs);
        }
        let mut sorry = raw.sorry;
        if let Some(s) = &sorry {
            let tunnel = matches!(
                s.forwarding.or(raw.forwarding),
                Some(Forwarding::Tun { .. })
            );
            if !tunnel {
                match family {
                    None => family = Some(fam_of(&s.addr)),
                    Some(f) if f != fam_of(&s.addr) => {
                        self.warn(
                            &s.loc,
                            format!("sorry_server {}: its address family differs from virtual server {vsname}'s: the sorry server is ignored", s.addr),
                        );
                        sorry = None;
                    }
                    _ => {}
                }
            }
        }
        if reals.is_empty() {
            self.warn(
                &raw.loc,
                format!("virtual_server {vsname} has no real servers: ignored"),
            );
            return None;
        }
        let family = family.unwrap_or(Family::V4);
        let is_fwmark = match (&raw.key, group) {
            (ServiceKey::Fwmark(_), _) => true,
            (_, Some(gr)) => gr.ranges.is_empty(),
            _ => false,
        };
        let has_addrs = match (&raw.key, group) {
            (ServiceKey::Addr { .. }, _) => true,
            (_, Some(gr)) => !gr.ranges.is_empty(),
            _ => false,
        };
        let mut ha_suspend = raw.ha_suspend;
        let has_fwmark = matches!(raw.key, ServiceKey::Fwmark(_))
            || group.is_some_and(|gr| !gr.fwmarks.is_empty());
        if ha_suspend && has_fwmark {
            self.warn(
                &raw.loc,
                format!(
                    "virtual_server {vsname}: ha_suspend cannot be used with fwmarks (cleared)"
                ),
            );
            ha_suspend = false;
        }
        let mut protocol = raw.protocol;
        let mut sched_flags = raw.sched_flags;
        let mut persistence_timeout = raw.persistence_timeout;
        let vs_port = match raw.key {
            ServiceKey::Addr { port, .. } => port,
            _ => 0,
        };
        if has_addrs {
            if protocol.is_none() {
                self.warn(
                    &raw.loc,
                    format!("virtual_server {vsname}: no protocol set: UDP (the kernel's default)"),
                );
                protocol = Some(Protocol::Udp);
            }
            if sched_flags.ops && protocol != Some(Protocol::Udp) {
                self.warn(
                    &raw.loc,
                    format!(
                        "virtual_server {vsname}: ops (one-packet scheduling) needs UDP: cleared"
                    ),
                );
                sched_flags.ops = false;
            }
            let zero_port = match (&raw.key, group) {
                (ServiceKey::Addr { port, .. }, _) => *port == 0,
                (_, Some(gr)) => gr.ranges.iter().any(|r| r.port == 0),
                _ => false,
            };
            if persistence_timeout.is_none() && zero_port {
                self.warn(
                    &raw.loc,
                    format!("virtual_server {vsname}: a zero port is only valid for persistent services: persistence_timeout {PERSIST_DEFAULT}"),
                );
                persistence_timeout = Some(PERSIST_DEFAULT);
            }
        }
        if protocol.is_some() && is_fwmark {
            self.warn(
                &raw.loc,
                format!("virtual_server {vsname}: protocol given for a fwmark service: ignored"),
            );
            protocol = None;
        }
        let lb_algo = match raw.lb_algo {
            Some(a) => a,
            None => {
                self.warn(
                    &raw.loc,
                    format!("virtual_server {vsname}: no lb_algo set: wlc (keepalived's default)"),
                );
                LbAlgo::Wlc
            }
        };
        let smtp_default = g.checker.smtp_alert_checker.or(g.smtp_alert);
        let smtp_alert = raw.smtp_alert.or(smtp_default).unwrap_or(false);
        let mut vs_forwarding = raw.forwarding;
        let mut need_default_nat = |b: &mut Builder| -> Forwarding {
            match vs_forwarding {
                Some(f) => f,
                None => {
                    b.warn(
                        &raw.loc,
                        format!(
                            "virtual_server {vsname}: no lb_kind set: NAT (keepalived's default)"
                        ),
                    );
                    vs_forwarding = Some(Forwarding::Nat);
                    Forwarding::Nat
                }
            }
        };
        let mut out_reals: Vec<RealServer> = Vec::new();
        // The real servers kept so far, by address and port: scanning `out_reals` per real
        // server was quadratic (40,000 real servers took 2.4 s to check).
        let mut kept: crate::conf::fast_hash::FastSet<(std::net::IpAddr, u16)> = Default::default();
        let mut weight_sum: u64 = 0;
        for rs in reals {
            let forwarding = match rs.forwarding {
                Some(f) => f,
                None => need_default_nat(self),
            };
            let mut port = rs.port.unwrap_or(0);
            if group.is_none() {
                if forwarding == Forwarding::Nat {
                    if !is_fwmark && port == 0 {
                        port = vs_port;
                    }
                } else if is_fwmark {
                    if port != 0 {
                        self.warn(
                            &rs.loc,
                            format!("fwmark virtual server {vsname}: real server {} has a port: cleared", rs.addr),
                        );
                        port = 0;
                    }
                } else if port == 0 {
                    port = vs_port;
                } else if port != vs_port {
                    self.warn(
                        &rs.loc,
                        format!("virtual server {vsname} and real server {} ports do not match (not NAT): the virtual server's port is used", rs.addr),
                    );
                    port = vs_port;
                }
            }
            if !kept.insert((rs.addr, port)) {
                self.warn(
                    &rs.loc,
                    format!("virtual server {vsname}: real server {} port {port} is duplicated: the second is removed", rs.addr),
                );
                continue;
            }
            let t = Timing {
                alpha: rs.timing.alpha.or(raw.timing.alpha),
                retry: rs.timing.retry.or(raw.timing.retry),
                delay_before_retry: rs
                    .timing
                    .delay_before_retry
                    .or(raw.timing.delay_before_retry),
                warmup: rs.timing.warmup.or(raw.timing.warmup),
                delay_loop: rs.timing.delay_loop.or(raw.timing.delay_loop),
                connect_timeout: rs.timing.connect_timeout.or(raw.timing.connect_timeout),
            };
            let weight = rs.weight.unwrap_or(raw.weight);
            weight_sum += u64::from(weight);
            let vhost = rs.virtualhost.clone().or(raw.virtualhost.clone());
            let mut checkers = Vec::new();
            for mut c in rs.checkers {
                // SMTP_CHECK host blocks: one checker each; the main block keeps its own
                // connection unless it sets none, then it takes the first host's (keepalived).
                let mut hosts = std::mem::take(&mut c.hosts).into_iter();
                let own = c.conn.any_set() || c.timing.connect_timeout.is_some();
                let mut main = c.clone();
                if !own {
                    if let Some((conn, timeout, _)) = hosts.next() {
                        main.conn = conn;
                        main.timing.connect_timeout = timeout;
                    }
                }
                checkers.push(self.resolve_checker(
                    main,
                    &t,
                    rs.addr,
                    port,
                    vhost.as_ref(),
                    g,
                    cfg,
                ));
                for (conn, timeout, loc) in hosts {
                    let mut h = c.clone();
                    h.conn = conn;
                    h.timing.connect_timeout = timeout;
                    h.loc = loc;
                    checkers.push(self.resolve_checker(
                        h,
                        &t,
                        rs.addr,
                        port,
                        vhost.as_ref(),
                        g,
                        cfg,
                    ));
                }
            }
            let checkers = checkers.into_iter().flatten().collect();
            out_reals.push(RealServer {
                addr: rs.addr,
                port,
                weight,
                forwarding,
                uthreshold: rs.uthreshold,
                lthreshold: rs.lthreshold,
                inhibit_on_failure: rs.inhibit.unwrap_or(raw.inhibit),
                notify_up: rs.notify_up,
                notify_down: rs.notify_down,
                smtp_alert: rs.smtp_alert.or(smtp_default).unwrap_or(true),
                virtualhost: rs.virtualhost,
                checkers,
                loc: rs.loc,
            });
        }
        let sorry = match sorry {
            None => None,
            Some(s) => {
                let forwarding = match s.forwarding {
                    Some(f) => f,
                    None => need_default_nat(self),
                };
                let mut port = s.port.unwrap_or(0);
                if forwarding == Forwarding::Nat || group.is_some() {
                    if port == 0 && !is_fwmark {
                        port = vs_port;
                    }
                } else if is_fwmark {
                    if port != 0 {
                        self.warn(&s.loc, format!("fwmark virtual server {vsname}: the sorry server has a port: cleared"));
                        port = 0;
                    }
                } else if port == 0 {
                    port = vs_port;
                } else if port != vs_port {
                    self.warn(&s.loc, format!("virtual server {vsname} and sorry server ports do not match (not NAT): the virtual server's port is used"));
                    port = vs_port;
                }
                let mut inhibit = s.inhibit;
                if let Some(rs) = out_reals
                    .iter()
                    .find(|r| r.addr == s.addr && r.port == port)
                {
                    if rs.inhibit_on_failure != inhibit {
                        self.warn(&s.loc, format!("virtual server {vsname}: the sorry server is real server {} but their inhibit settings differ: the real server's is used", rs.addr));
                        inhibit = rs.inhibit_on_failure;
                    }
                }
                Some(SorryServer {
                    addr: s.addr,
                    port,
                    inhibit,
                    forwarding,
                    loc: s.loc,
                })
            }
        };
        let mut quorum = raw.quorum;
        if u64::from(quorum) > weight_sum {
            let w = u32::try_from(weight_sum).unwrap_or(u32::MAX);
            self.warn(
                &raw.loc,
                format!("virtual server {vsname}: quorum {quorum} exceeds the total weight of its real servers {w}: reduced to {w}"),
            );
            quorum = w;
        }
        let mut hysteresis = raw.hysteresis;
        if hysteresis >= quorum && !(hysteresis == 0 && quorum == 0) {
            let h = quorum.saturating_sub(1);
            self.warn(
                &raw.loc,
                format!("virtual server {vsname}: hysteresis {hysteresis} >= quorum {quorum}: set to {h}"),
            );
            hysteresis = h;
        }
        let forwarding = vs_forwarding.unwrap_or(Forwarding::Nat);
        let mut nat_mask = raw.nat_mask;
        if nat_mask.is_some() && forwarding != Forwarding::Nat {
            self.warn(
                &raw.loc,
                format!("virtual_server {vsname}: nat_mask only applies to lb_kind NAT (ignored)"),
            );
            nat_mask = None;
        }
        if ha_suspend {
            self.notice(
                &raw.loc,
                format!("virtual_server {vsname}: ha_suspend is not honoured yet: the checkers run whether or not the virtual address is on this host"),
            );
        }
        let vs = VirtualServer {
            key: raw.key,
            family,
            protocol,
            lb_algo,
            sched_flags,
            forwarding,
            persistence_engine: raw.persistence_engine,
            persistence_timeout,
            persistence_granularity: raw.persistence_granularity,
            nat_mask,
            ha_suspend,
            smtp_alert,
            virtualhost: raw.virtualhost,
            alpha: raw.timing.alpha.unwrap_or(false),
            omega: raw.omega,
            quorum,
            hysteresis,
            quorum_up: raw.quorum_up,
            quorum_down: raw.quorum_down,
            sorry_server: sorry,
            delay_loop: raw.timing.delay_loop.unwrap_or(Duration::from_secs(60)),
            real_servers: out_reals,
            group: group.cloned(),
            loc: raw.loc,
        };
        // What the host's data plane applies, maps or refuses (crate::dataplane). A refusal
        // is an error: a virtual server the kernel would not serve must not start with only
        // its checkers running (keepalived stops its checker process when IPVS cannot be
        // initialised).
        if let Some((at, why)) = self.data_plane.refused(&vs) {
            let at = at.clone();
            let name = &vs.key;
            let backend = self.data_plane.name();
            self.err(
                &at,
                format!(
                    "virtual_server {name}: the {backend} {}: {why}",
                    crate::dataplane::CANNOT_APPLY
                ),
            );
        }
        for note in self.data_plane.notes(&vs) {
            self.notice(&vs.loc, note);
        }
        Some(vs)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn resolve_checker(
        &mut self,
        c: RawChecker,
        rs: &Timing,
        rs_addr: IpAddr,
        rs_port: u16,
        vhost: Option<&String>,
        g: &GlobalDefs,
        cfg: &Config,
    ) -> Option<Checker> {
        let delay_loop = c
            .timing
            .delay_loop
            .or(rs.delay_loop)
            .unwrap_or(Duration::from_secs(60));
        let conn = if c.network {
            let dst = c.conn.connect_ip.unwrap_or(rs_addr);
            if let (Some(b), false) = (c.conn.bindto, c.conn.connect_ip.is_none()) {
                if b.is_ipv4() != dst.is_ipv4() {
                    self.warn(
                        &c.loc,
                        "bindto and connect_ip are of different address families: bindto is ignored",
                    );
                }
            }
            let link_local = matches!(dst, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
            if link_local && c.conn.bind_if.is_none() {
                self.warn(
                    &c.loc,
                    format!("{}: the link-local destination {dst} needs bind_if: the checker is ignored", c.kind.keyword()),
                );
                return None;
            }
            Some(ConnectOpts {
                dst,
                port: c.conn.connect_port.unwrap_or(rs_port),
                bindto: c.conn.bindto.filter(|b| b.is_ipv4() == dst.is_ipv4()),
                bind_port: c.conn.bind_port,
                bind_if: c.conn.bind_if,
                fwmark: c.conn.fwmark,
                timeout: c
                    .timing
                    .connect_timeout
                    .or(rs.connect_timeout)
                    .unwrap_or(Duration::from_secs(5)),
            })
        } else {
            None
        };
        let mut kind = c.kind;
        match &mut kind {
            CheckKind::Http { virtualhost, .. } if virtualhost.is_none() => {
                *virtualhost = vhost.cloned();
            }
            CheckKind::Dns { name, .. } if name.is_empty() => *name = ".".to_string(),
            CheckKind::File {
                track_file,
                weight,
                reverse,
            } => match cfg.track_files.iter().find(|t| &t.name == track_file) {
                None => {
                    self.warn(
                        &c.loc,
                        format!("FILE_CHECK: track_file {track_file} is not defined: the checker is ignored"),
                    );
                    return None;
                }
                Some(tf) => {
                    if *weight == i32::MIN {
                        *weight = tf.weight;
                        *reverse = tf.reverse;
                    }
                }
            },
            _ => {}
        }
        // FILE_CHECK's state is known as soon as the file is read: keepalived clears `alpha`
        // for it ("we know the state of the checker immediately", check_file.c).
        let alpha =
            !matches!(kind, CheckKind::File { .. }) && c.timing.alpha.or(rs.alpha).unwrap_or(false);
        Some(Checker {
            kind,
            conn,
            alpha,
            retry: c.timing.retry.or(rs.retry).unwrap_or(c.default_retry),
            delay_before_retry: c
                .timing
                .delay_before_retry
                .or(rs.delay_before_retry)
                .or(c.default_delay_before_retry)
                .unwrap_or(delay_loop),
            warmup: c.timing.warmup.or(rs.warmup).unwrap_or(delay_loop),
            delay_loop,
            log_all_failures: c.log_all_failures || g.checker.log_all_failures,
            loc: c.loc,
        })
    }
}
