//! `vigild -d` for the checker part: keepalived 2.2.7's `dump_check_data`
//! (`check_data.c`: `dump_vs`, `dump_rs`; `check_api.c`: `dump_checker`,
//! `dump_connection_opts`; each checker's `dump_*_check`), with the same headers, field names
//! and formats, from the parsed configuration.
//!
//! What keepalived prints that is not here, on purpose: the run-time state lines (`VS alive`,
//! `quorum_state_up`, `reloaded`, `alive`, `RS set`, `num failed checkers`, the effective and
//! previous effective weights, a checker's `Enabled`, `Up`, `Has run`, `Current weight`,
//! `Retries iterations`, MISC_CHECK's `Last ran` / `Last status`, FILE_CHECK's `Reloaded`),
//! which keepalived fills from its running state (`vigild status` shows Vigil's); the
//! `System is compiled with LVS vX.Y.Z` line (no IPVS here); a group entry's `Alive` and
//! `reloaded` lines (run-time state, `dump_vsg_entry`); the
//! per-level `Retry count` / `Retry delay` / `Warmup` of a virtual or real server (Vigil
//! resolves them into each checker, where they are dumped); `Default delay before retry`
//! (the same); `uid:gid` lines (the user is resolved when vigild starts).

use core::fmt::Write as _;
use core::net::IpAddr;
use core::time::Duration;

use super::{
    CheckKind, Config, Forwarding, Granularity, Protocol, ServiceKey, TunnelCsum, TunnelKind,
};

/// The checker part of the configuration as keepalived's `-d` prints it (empty when there is
/// no virtual server).
// Long: keepalived's dump of virtual servers, real servers and checkers, in its order (a flat list).
pub fn dump_checkers(cfg: &Config) -> String {
    let mut s = String::new();
    let vss = &cfg.checkers.virtual_servers;
    if vss.is_empty() {
        return s;
    }
    let w = &mut s;
    line(w, "------< LVS Topology >------");
    for g in &cfg.checkers.groups {
        dump_group(w, g);
    }
    for (v, vs) in vss.iter().enumerate() {
        line(w, " ------< Virtual server >------");
        match &vs.key {
            ServiceKey::Group(_) => line(w, &format!(" VS GROUP = {}", fmt_vs(cfg, v))),
            ServiceKey::Fwmark(m) => line(w, &format!(" VS FWMARK = {m}")),
            ServiceKey::Addr { addr, port } => {
                line(w, &format!(" VS VIP = {addr}, VPORT = {port}"))
            }
        }
        if let Some(h) = &vs.virtualhost {
            line(w, &format!("   VirtualHost = {h}"));
        }
        line(
            w,
            match vs.family {
                super::Family::V4 => "   Address family = inet",
                super::Family::V6 => "   Address family = inet6",
            },
        );
        line(w, "   connection timeout = 0.000000");
        line(w, &format!("   delay_loop = {}", decimal(vs.delay_loop)));
        let algo = vs.lb_algo.name();
        line(w, &format!("   lvs_sched = {algo}"));
        line(w, "   Hashed = disabled");
        let f = &vs.sched_flags;
        let en = |b: bool| if b { "enabled" } else { "disabled" };
        match algo {
            "sh" => {
                line(w, &format!("   sh-port = {}", en(f.sh_port)));
                line(w, &format!("   sh-fallback = {}", en(f.sh_fallback)));
            }
            "mh" => {
                line(w, &format!("   mh-port = {}", en(f.mh_port)));
                line(w, &format!("   mh-fallback = {}", en(f.mh_fallback)));
            }
            _ => {
                line(w, &format!("   flag-1 = {}", en(f.flag1)));
                line(w, &format!("   flag-2 = {}", en(f.flag2)));
                line(w, &format!("   flag-3 = {}", en(f.flag3)));
            }
        }
        let not_udp = f.ops && vs.protocol != Some(Protocol::Udp);
        line(
            w,
            &format!(
                "   One packet scheduling = {}{}",
                en(f.ops),
                if not_udp {
                    " (inactive due to not UDP)"
                } else {
                    ""
                }
            ),
        );
        if let Some(t) = vs.persistence_timeout.filter(|t| *t != 0) {
            line(w, &format!("   persistence timeout = {t}"));
        }
        match vs.persistence_granularity {
            Some(Granularity::V4(m)) => line(w, &format!("   persistence granularity = {m}")),
            Some(Granularity::V6(p)) => line(w, &format!("   persistence granularity = {p}")),
            None => {}
        }
        line(
            w,
            match vs.protocol {
                Some(Protocol::Tcp) => "   protocol = TCP",
                Some(Protocol::Udp) => "   protocol = UDP",
                Some(Protocol::Sctp) => "   protocol = SCTP",
                None => "   protocol = none",
            },
        );
        line(w, &format!("   alpha is {}", on(vs.alpha)));
        line(w, &format!("   omega is {}", on(vs.omega)));
        let inhibit_all =
            !vs.real_servers.is_empty() && vs.real_servers.iter().all(|r| r.inhibit_on_failure);
        line(w, &format!("   Inhibit on failure is {}", on(inhibit_all)));
        line(
            w,
            &format!("   quorum = {}, hysteresis = {}", vs.quorum, vs.hysteresis),
        );
        if let Some(sc) = &vs.quorum_up {
            line(w, &format!("   Quorum up notify script = {}", sc.command));
        }
        if let Some(sc) = &vs.quorum_down {
            line(w, &format!("   Quorum down notify script = {}", sc.command));
        }
        if vs.ha_suspend {
            line(w, "   Using HA suspend");
        }
        line(
            w,
            &format!("   Using smtp notification = {}", yes(vs.smtp_alert)),
        );
        forwarding(w, "default ", vs.forwarding);
        if let Some(ss) = &vs.sorry_server {
            line(
                w,
                &format!("   sorry server = {}", trio(ss.addr, vs.protocol, ss.port)),
            );
            forwarding(w, "  ", ss.forwarding);
            line(w, &format!("     Inhibit on failure is {}", on(ss.inhibit)));
        }
        for rs in &vs.real_servers {
            line(w, "   ------< Real server >------");
            line(
                w,
                &format!(
                    "   RIP = {}, RPORT = {}, WEIGHT = {} EFF WEIGHT = {}",
                    rs.addr, rs.port, rs.weight, rs.weight
                ),
            );
            forwarding(w, "", rs.forwarding);
            let first = rs.checkers.first();
            line(
                w,
                &format!(
                    "   Alpha is {}",
                    on(first.is_some_and(|c| c.alpha) || vs.alpha)
                ),
            );
            line(w, "   connection timeout = 0.000000");
            line(
                w,
                &format!(
                    "   connection limit range = {} -> {}",
                    rs.lthreshold.unwrap_or(0),
                    rs.uthreshold.unwrap_or(0)
                ),
            );
            line(w, &format!("   Delay loop = {}", decimal(vs.delay_loop)));
            line(
                w,
                &format!("   Inhibit on failure is {}", on(rs.inhibit_on_failure)),
            );
            if let Some(sc) = &rs.notify_up {
                line(w, &format!("     RS up notify script = {}", sc.command));
            }
            if let Some(sc) = &rs.notify_down {
                line(w, &format!("     RS down notify script = {}", sc.command));
            }
            if let Some(h) = &rs.virtualhost {
                line(w, &format!("    VirtualHost = '{h}'"));
            }
            line(
                w,
                &format!("   Using smtp notification = {}", yes(rs.smtp_alert)),
            );
            line(w, &format!("   initial weight = {}", rs.weight));
        }
    }
    let mut header = false;
    for (v, vs) in vss.iter().enumerate() {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if !header {
                    line(w, "------< Health checkers >------");
                    header = true;
                }
                line(
                    w,
                    &format!(
                        " {} -> {}",
                        fmt_vs(cfg, v),
                        trio(rs.addr, vs.protocol, rs.port)
                    ),
                );
                if !matches!(c.kind, CheckKind::File { .. }) {
                    line(w, &format!("   Alpha = {}", yes(c.alpha)));
                    line(
                        w,
                        &format!("   Delay loop = {} us", c.delay_loop.as_micros()),
                    );
                    line(w, &format!("   Warmup = {} us", c.warmup.as_micros()));
                    line(w, &format!("   Retries = {}", c.retry));
                    if c.retry > 0 {
                        line(
                            w,
                            &format!(
                                "   Delay before retry = {} us",
                                c.delay_before_retry.as_micros()
                            ),
                        );
                    }
                }
                line(
                    w,
                    &format!("   Log all failures = {}", yes(c.log_all_failures)),
                );
                if let Some(co) = &c.conn {
                    line(w, "   Connection");
                    line(w, &format!("     Dest = {}", pair(co.dst, co.port)));
                    if let Some(b) = co.bindto {
                        line(
                            w,
                            &format!("     Bind to = {}", pair(b, co.bind_port.unwrap_or(0))),
                        );
                    }
                    if let Some(i) = &co.bind_if {
                        line(w, &format!("     Bind i/f = {i}"));
                    }
                    if let Some(m) = co.fwmark.filter(|m| *m != 0) {
                        line(w, &format!("     Mark = {m}"));
                    }
                    line(
                        w,
                        &format!("     Timeout = {:.6}", co.timeout.as_secs_f64()),
                    );
                }
                kind(w, cfg, &c.kind);
            }
        }
    }
    s
}

fn kind(w: &mut String, cfg: &Config, k: &CheckKind) {
    match k {
        CheckKind::Tcp => line(w, "   Keepalive method = TCP_CHECK"),
        CheckKind::Http {
            tls,
            urls,
            virtualhost,
            protocol,
            enable_sni,
            fast_recovery,
        } => {
            let p = match protocol {
                super::HttpProtocol::V1_0 => "1.0",
                super::HttpProtocol::V1_0Close => "1.0C",
                super::HttpProtocol::V1_1 => "1.1",
            };
            let t = if *tls { "SSL" } else { "HTTP" };
            line(
                w,
                &format!("   Keepalive method = {t}_GET, http protocol {p}"),
            );
            if let Some(h) = virtualhost {
                line(w, &format!("   Virtualhost = {h}"));
            }
            line(
                w,
                &format!("   Enable SNI {}set", if *enable_sni { "" } else { "un" }),
            );
            line(
                w,
                &format!(
                    "   Fast recovery {}set",
                    if *fast_recovery { "" } else { "un" }
                ),
            );
            for u in urls {
                line(w, &format!("   Checked url = {}", u.path));
                if let Some(d) = &u.digest {
                    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    line(w, &format!("     digest = {hex}"));
                }
                line(w, "     HTTP Status Code(s)");
                // keepalived keeps a bit per code 100..=999 and prints the runs.
                let mut bits = [false; 900];
                for &(lo, hi) in &u.status_codes {
                    for c in lo.max(100)..=hi.min(999) {
                        bits[usize::from(c - 100)] = true;
                    }
                }
                let mut i = 0;
                while i < bits.len() {
                    if !bits[i] {
                        i += 1;
                        continue;
                    }
                    let lo = i;
                    while i < bits.len() && bits[i] {
                        i += 1;
                    }
                    let (a, b) = (lo + 100, i - 1 + 100);
                    if a == b {
                        line(w, &format!("       {a}"));
                    } else {
                        line(w, &format!("       {a}-{b}"));
                    }
                }
                if let Some(h) = &u.virtualhost {
                    line(w, &format!("     Virtual host = {h}"));
                }
                if let Some(r) = &u.regex {
                    regex(w, r, regex_refs(cfg, r));
                }
            }
        }
        CheckKind::Misc {
            script,
            timeout,
            dynamic,
        } => {
            line(w, "   Keepalive method = MISC_CHECK");
            line(w, &format!("   script = {}", script.command));
            line(
                w,
                &format!("   timeout = {}", timeout.map_or(0, |t| t.as_secs())),
            );
            line(
                w,
                &format!("   dynamic = {}", if *dynamic { "YES" } else { "NO" }),
            );
        }
        CheckKind::Smtp { helo_name } => {
            line(w, "   Keepalive method = SMTP_CHECK");
            line(w, &format!("   helo = {helo_name}"));
        }
        CheckKind::Dns { qtype, name } => {
            let t = super::DnsType::ALL
                .iter()
                .find(|(_, q)| q == qtype)
                .map_or("?", |(n, _)| n);
            line(w, "   Keepalive method = DNS_CHECK");
            line(w, &format!("   Type = {t}"));
            line(w, &format!("   Name = {name}"));
        }
        CheckKind::Udp {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } => {
            line(w, "   Keepalive method = UDP_CHECK");
            match payload {
                Some(p) => line(w, &format!("   Payload len = {}", p.len())),
                None => line(w, "   Payload specified = no"),
            }
            line(
                w,
                &format!("   Require reply = {}", yes(require_reply.is_some())),
            );
            if let Some(r) = require_reply {
                line(w, &format!("     Min reply length = {min_reply_length}"));
                line(w, &format!("     Max reply length = {max_reply_length}"));
                line(w, &format!("     Reply data len = {}", r.len()));
                if !r.is_empty() {
                    let masked = r.iter().any(|&(_, m)| m != 0xff);
                    line(w, &format!("     Reply data mask = {}", yes(masked)));
                }
            }
        }
        CheckKind::Ping => line(w, "   Keepalive method = PING_CHECK"),
        CheckKind::File { track_file, .. } => {
            line(w, "   Keepalive method = FILE_CHECK");
            line(w, &format!("     Tracked file = {track_file}"));
        }
    }
}

/// keepalived's `dump_url` regex lines (check_http.c). keepalived's option loop prints every
/// option name it knows whenever any is set (it tests the table's bit, not the pattern's):
/// Vigil prints the options the url sets, which is what that line means to say.
fn regex(w: &mut String, r: &super::BodyRegex, refs: usize) {
    line(w, &format!("     Regex = \"{}\"", r.pattern));
    if r.no_match {
        line(w, "     Regex no match");
    }
    match r.max_offset {
        Some(max) => line(
            w,
            &format!(
                "     Regex min offset = {}, max_offset = {max}",
                r.min_offset
            ),
        ),
        None if r.min_offset > 0 => line(w, &format!("     Regex min offset = {}", r.min_offset)),
        None => {}
    }
    let opts: String = r.options.iter().map(|o| format!(" {o}")).collect();
    line(w, &format!("     Regex options:{opts}"));
    line(w, &format!("     Regex ref count = {refs}"));
    if let Some((lo, hi)) = r.stack {
        line(w, &format!("     Regex stack start {lo}, max {hi}"));
    }
}

/// How many urls share this pattern and options (keepalived compiles each such pair once and
/// counts its users).
fn regex_refs(cfg: &Config, r: &super::BodyRegex) -> usize {
    let urls = cfg
        .checkers
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter())
        .flat_map(|rs| rs.checkers.iter())
        .filter_map(|c| match &c.kind {
            CheckKind::Http { urls, .. } => Some(urls),
            _ => None,
        });
    urls.flatten()
        .filter_map(|u| u.regex.as_ref())
        .filter(|o| o.pattern == r.pattern && o.options == r.options)
        .count()
}

fn line(w: &mut String, l: &str) {
    let _ = writeln!(w, "{l}");
}

fn on(b: bool) -> &'static str {
    if b {
        "ON"
    } else {
        "OFF"
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// keepalived's `format_decimal(val, TIMER_HZ_DIGITS)`: seconds with six decimals.
fn decimal(d: Duration) -> String {
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// keepalived's `inet_sockaddrtopair`: `[ADDR]:PORT` for both families.
fn pair(a: IpAddr, port: u16) -> String {
    format!("[{a}]:{port}")
}

/// keepalived's `inet_sockaddrtotrio`: `[ADDR]:PROTO:PORT`.
fn trio(a: IpAddr, proto: Option<Protocol>, port: u16) -> String {
    let p = match proto {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        None => "none",
    };
    format!("[{a}]:{p}:{port}")
}

/// keepalived's `dump_vsg` and `dump_vsg_entry` (check_data.c), without the run-time lines
/// (`Alive: ...`, `reloaded = ...`): the group, then its address entries, then its fwmark
/// entries.
fn dump_group(w: &mut String, g: &super::VirtualServerGroup) {
    let has = |v4: bool| {
        g.ranges.iter().any(|r| r.first.is_ipv4() == v4)
            || g.fwmarks.iter().any(|(_, f)| {
                *f == Some(if v4 {
                    super::Family::V4
                } else {
                    super::Family::V6
                })
            })
    };
    let yn = |b: bool| if b { "yes" } else { "no" };
    line(w, " ------< Virtual server group >------");
    line(
        w,
        &format!(
            " Virtual Server Group = {}, IPv4 = {}, IPv6 = {}",
            g.name,
            yn(has(true)),
            yn(has(false))
        ),
    );
    for r in &g.ranges {
        if r.first == r.last {
            line(w, &format!("   VIP = {}, VPORT = {}", r.first, r.port));
        } else {
            line(
                w,
                &format!("   VIP Range = {}-{}, VPORT = {}", r.first, r.last, r.port),
            );
        }
    }
    for (m, f) in &g.fwmarks {
        let fam = match f {
            Some(super::Family::V4) => " IPv4",
            Some(super::Family::V6) => " IPv6",
            None => "",
        };
        line(w, &format!("   FWMARK = {m}{fam}"));
    }
}

/// keepalived's `format_vs`: `[ADDR]:PROTO:PORT`, `FWM N`, or `[GROUP]:N`.
fn fmt_vs(cfg: &Config, v: usize) -> String {
    let vss = &cfg.checkers.virtual_servers;
    let vs = &vss[v];
    match &vs.key {
        ServiceKey::Addr { addr, port } => trio(*addr, vs.protocol, *port),
        ServiceKey::Fwmark(m) => format!("FWM {m}"),
        ServiceKey::Group(g) => {
            let n = vss[..v]
                .iter()
                .filter(|o| matches!(&o.key, ServiceKey::Group(x) if x == g))
                .count();
            format!("[{g}]:{n}")
        }
    }
}

/// keepalived's `dump_forwarding_method`.
fn forwarding(w: &mut String, prefix: &str, f: Forwarding) {
    let m = "forwarding method = ";
    match f {
        Forwarding::Nat => line(w, &format!("   {prefix}{m}NAT")),
        Forwarding::Dr => line(w, &format!("   {prefix}{m}DR")),
        Forwarding::Tun { kind, port, csum } => {
            let c = match csum {
                TunnelCsum::NoCsum => ", no checksum",
                TunnelCsum::Csum => ", checksum",
                TunnelCsum::RemCsum => ", remote checksum",
            };
            match kind {
                TunnelKind::Ipip => line(w, &format!("   {prefix}{m}TUN, type = IPIP")),
                TunnelKind::Gue => line(w, &format!("   {m}TUN, type = GUE, port = {port}{c}")),
                TunnelKind::Gre => line(w, &format!("   {m}TUN, type = GRE{c}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_virtual_real_server_and_checker_like_keepalived() {
        let cfg = crate::conf::parse_str(
            "virtual_server 192.0.2.1 80 {
 delay_loop 6
 lb_algo rr
 lb_kind NAT
 protocol TCP
 quorum_up /bin/up
 sorry_server 203.0.113.9 8080
 real_server 198.51.100.1 80 {
  weight 2
  HTTP_GET {
   url {
    path /health
    digest 9b3a0c85a887a256d6939da88aabd8cd
    status_code 200
    status_code 301-302
   }
   connect_timeout 3
   retry 2
   delay_before_retry 1
  }
 }
 real_server 198.51.100.2 80 {
  MISC_CHECK {
   misc_path \"/bin/true\"
   misc_timeout 5
   misc_dynamic
  }
 }
}
",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        insta::assert_snapshot!("checker_dump", dump_checkers(&cfg));
    }

    /// keepalived's `dump_vsg` / `dump_vsg_entry` (check_data.c), run-time lines left out.
    #[test]
    fn dumps_a_virtual_server_group_like_keepalived() {
        let cfg = crate::conf::parse_str(
            "virtual_server_group web {\n 192.0.2.10 80\n 192.0.2.20-22 80\n fwmark 7\n fwmark 8 inet\n}\nvirtual_server group web {\n lb_kind NAT\n protocol TCP\n real_server 198.51.100.1 8080 { }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let d = dump_checkers(&cfg);
        let want = "------< LVS Topology >------\n ------< Virtual server group >------\n Virtual Server Group = web, IPv4 = yes, IPv6 = no\n   VIP = 192.0.2.10, VPORT = 80\n   VIP Range = 192.0.2.20-192.0.2.22, VPORT = 80\n   FWMARK = 7\n   FWMARK = 8 IPv4\n ------< Virtual server >------\n VS GROUP = [web]:0\n";
        assert!(d.starts_with(want), "{d}");
    }

    #[test]
    fn dumps_a_url_regex_like_keepalived() {
        let url = |vip: &str| {
            format!(
                "virtual_server {vip} 80 {{\n lb_kind NAT\n protocol TCP\n real_server 198.51.100.1 80 {{\n  HTTP_GET {{\n   url {{\n    path /\n    regex \"db: up\"\n    regex_no_match\n    regex_options ungreedy caseless\n    regex_min_offset 4\n    regex_max_offset 99\n    regex_stack 100 200\n   }}\n  }}\n }}\n}}\n"
            )
        };
        let cfg = crate::conf::parse_str(&[url("192.0.2.1"), url("192.0.2.2")].concat())
            .unwrap_or_else(|e| panic!("{e}"));
        let d = dump_checkers(&cfg);
        let want = "     Regex = \"db: up\"\n     Regex no match\n     Regex min offset = 4, max_offset = 99\n     Regex options: caseless ungreedy\n     Regex ref count = 2\n     Regex stack start 100, max 200\n";
        assert!(d.contains(want), "{d}");
    }
}
