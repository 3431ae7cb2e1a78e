// Long: keepalived's route and rule grammars (vrrp_iproute.c, vrrp_iprule.c), one parser each with every option keepalived accepts.
//! A route line (`virtual_routes`, `static_routes`) and a rule line (`virtual_rules`,
//! `static_rules`), word by word as keepalived 2.2.7 reads them (`vrrp_iproute.c` `alloc_route`
//! and `parse_nexthops`, `vrrp_iprule.c` `alloc_rule`; keepalived.conf(5) "Virtual routes" and
//! "Virtual rules"). Every word the keyword table honours is typed here (`encap` in
//! `encap.rs`); the table refuses the others (`vrf`, a rule's `track_group`) before this code
//! sees them.

use std::net::IpAddr;

use super::super::ast::Stmt;
use super::super::keywords::{self, Class, Section};
use super::super::lexer::{Location, Token};
use super::super::model::*;
use super::super::values;
use super::{Builder, R};

/// keepalived's protocol 18 (`RTPROT_KEEPALIVED`): what a tracked route or rule carries.
pub(crate) const PROTO_KEEPALIVED: u8 = 18;

pub(super) use super::super::rt_names::c_number;
use super::super::rt_names::{RtFile, RtNames};

/// What a route or rule line is called in keepalived's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    Route,
    Rule,
}

impl LineKind {
    fn word(self) -> &'static str {
        match self {
            LineKind::Route => "route",
            LineKind::Rule => "rule",
        }
    }
}

/// A routing table: a number or a name of `rt_tables` (keepalived's `find_rttables_table`;
/// `main`, `local` and `default` are built in). keepalived's message when it is neither.
pub(crate) fn table_number(s: &str, names: &RtNames, kind: LineKind) -> Result<u32, String> {
    names.lookup(RtFile::Tables, s).ok_or_else(|| {
        format!(
            "Routing table {s} not found for {} (a number, main, local, default, or a name of /etc/iproute2/rt_tables)",
            kind.word()
        )
    })
}

/// A route's protocol: a number 0..=255 or a name of `rt_protos` (keepalived's
/// `find_rttables_proto`, with its built-in names).
fn protocol_number(s: &str, names: &RtNames) -> Result<u8, String> {
    names
        .lookup(RtFile::Protos, s)
        .map(|n| n as u8)
        .ok_or_else(|| format!("Protocol {s} not found or invalid for route (a number 0..=255 or a name of /etc/iproute2/rt_protos)"))
}

/// A rule's protocol: keepalived 2.2.7 reads a decimal number 0..=255 only
/// (`read_unsigned_strvec`), no name.
fn rule_protocol_number(s: &str) -> Result<u8, String> {
    s.parse::<u8>()
        .ok()
        .ok_or_else(|| format!("Invalid protocol {s} (a rule's protocol is a number 0..=255)"))
}

/// A TOS / DS field byte: a number 0..=255 or a name of `rt_dsfield` (keepalived's
/// `find_rttables_dsfield`; no built-in names).
pub(super) fn tos_number(s: &str, names: &RtNames) -> Result<u8, String> {
    names
        .lookup(RtFile::Dsfield, s)
        .map(|n| n as u8)
        .ok_or_else(|| {
            format!(
                "TOS value {s} is invalid (a number 0..=255 or a name of /etc/iproute2/rt_dsfield)"
            )
        })
}

/// `realms [FROM/]TO`, each a number 0..=255 or a name of `rt_realms` (keepalived's
/// `get_realms`): `FROM << 16 | TO`.
fn realms_value(s: &str, names: &RtNames, kind: LineKind) -> Result<u32, String> {
    let bad = || {
        let invalid = match kind {
            LineKind::Route => "Invalid",
            LineKind::Rule => "invalid",
        };
        format!(
            "{invalid} realms {s} for {} ([FROM/]TO, each a number 0..=255 or a name of /etc/iproute2/rt_realms)",
            kind.word()
        )
    };
    let one = |p: &str| names.lookup(RtFile::Realms, p).ok_or_else(bad);
    match s.split_once('/') {
        Some((a, b)) => Ok(one(a)? << 16 | one(b)?),
        None => one(s),
    }
}

/// A scope: a number 0..=255 or a name of `rt_scopes` (keepalived's `find_rttables_scope`,
/// with its built-in names `global`, `site`, `link`, `host`, `nowhere`). A name gives the
/// scope it stands for; a number stays a number.
pub(crate) fn scope_value(s: &str, names: &RtNames) -> Option<Scope> {
    let n = names.lookup(RtFile::Scopes, s)?;
    if c_number(s).is_some() {
        return Some(Scope::Number(n as u8));
    }
    Some(match n {
        0 => Scope::Global,
        200 => Scope::Site,
        253 => Scope::Link,
        254 => Scope::Host,
        255 => Scope::Nowhere,
        n => Scope::Number(n as u8),
    })
}

/// An unsigned number up to `max` (C's base-0 reading).
fn unsigned(s: &str, max: u64, what: &str) -> Result<u64, String> {
    c_number(s)
        .filter(|n| *n <= max)
        .ok_or_else(|| format!("{what}: expected a number 0..={max}, found '{s}'"))
}

/// keepalived's `get_time_rtt`: a raw value in the kernel's unit, or `Ns` / `Nms` (seconds may
/// have three decimals) times `unit_mult` per millisecond; clamped to 0.2 s ..= 120 s with a
/// warning, as keepalived does. Returns the value and, when clamped, the warning.
fn rtt_value(s: &str, unit_mult: u32) -> Result<(u32, Option<String>), String> {
    let bad = || format!("'{s}': expected a time (N in the kernel's unit, Nms or Ns)");
    let lower = s.to_ascii_lowercase();
    let (num, scale) = if let Some(n) = lower.strip_suffix("ms") {
        (n, Some(1u64))
    } else if let Some(n) = lower
        .strip_suffix("secs")
        .or_else(|| lower.strip_suffix("sec"))
        .or_else(|| lower.strip_suffix('s'))
    {
        (n, Some(1000))
    } else {
        (lower.as_str(), None)
    };
    let value: u64 = match scale {
        None => num.parse().map_err(|_| bad())?,
        Some(1) => num.parse::<u64>().map_err(|_| bad())? * u64::from(unit_mult),
        Some(_) => {
            let (w, f) = num.split_once('.').unwrap_or((num, ""));
            if f.len() > 3 || (w.is_empty() && f.is_empty()) {
                return Err(bad());
            }
            let w: u64 = if w.is_empty() {
                0
            } else {
                w.parse().map_err(|_| bad())?
            };
            let f: u64 = if f.is_empty() {
                0
            } else {
                format!("{f:0<3}").parse().map_err(|_| bad())?
            };
            (w.saturating_mul(1000) + f).saturating_mul(u64::from(unit_mult))
        }
    };
    let (lo, hi) = (200 * u64::from(unit_mult), 120_000 * u64::from(unit_mult));
    if value > hi {
        Ok((hi as u32, Some(format!("'{s}' exceeds 120s: 120s is used"))))
    } else if value < lo {
        Ok((
            lo as u32,
            Some(format!("'{s}' is below 200ms: 200ms is used")),
        ))
    } else {
        Ok((value as u32, None))
    }
}

/// `A[-B]` port range (`B` defaults to `A`).
fn port_range(s: &str, what: &str) -> Result<(u16, u16), String> {
    let bad = || format!("{what}: expected PORT or PORT-PORT, found '{s}'");
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    Ok((a, b))
}

/// An IP protocol by number or name (`ipproto tcp`).
fn ip_protocol(s: &str) -> Result<u8, String> {
    let named = [
        ("icmp", 1),
        ("igmp", 2),
        ("ipip", 4),
        ("tcp", 6),
        ("udp", 17),
        ("ipv6", 41),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("ipv6-icmp", 58),
        ("icmpv6", 58),
        ("ospf", 89),
        ("vrrp", 112),
        ("sctp", 132),
    ];
    if let Ok(n) = s.parse::<u8>() {
        return Ok(n);
    }
    named
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            format!(
                "ipproto: expected a protocol number or name (tcp, udp, icmp, ...), found '{s}'"
            )
        })
}

/// The address family a route or rule has so far; mixing is an error, as in keepalived.
#[derive(Default)]
struct FamilyOf(Option<bool>);

impl FamilyOf {
    fn see(&mut self, b: &mut Builder, at: &Location, ipv6: bool, what: &str) -> R<()> {
        match self.0 {
            Some(f) if f != ipv6 => {
                b.err(at, format!("{what}: cannot mix IPv4 and IPv6 in one line"));
                Err(())
            }
            _ => {
                self.0 = Some(ipv6);
                Ok(())
            }
        }
    }
}

impl Builder {
    /// The word after `words[i]`, or an error at `words[i]`.
    fn value_after<'t>(
        &mut self,
        words: &'t [Token<'t>],
        i: usize,
        what: &str,
    ) -> R<&'t Token<'t>> {
        match words.get(i + 1) {
            Some(v) => Ok(v),
            None => {
                self.err(
                    &words[i].loc,
                    format!("{what} '{}': expected a value after it", words[i].text),
                );
                Err(())
            }
        }
    }

    /// `track_group NAME` on a static route or rule (keepalived: "track_group NAME is a
    /// duplicate" when given twice). Whether the group exists is checked in `validate`.
    fn track_group_ref(&mut self, v: &Token, duplicate: bool) -> R<TrackGroupRef> {
        if duplicate {
            self.err(
                &v.loc,
                format!(
                    "track_group {} is a duplicate: a route or rule follows one group",
                    v.text
                ),
            );
            return Err(());
        }
        Ok(TrackGroupRef {
            name: v.text.to_string(),
            loc: v.loc.clone(),
        })
    }

    /// Like [`Builder::value_after`], skipping a `lock` word: `(value, locked, words used)`.
    fn locked_value<'t>(
        &mut self,
        words: &'t [Token<'t>],
        i: usize,
    ) -> R<(&'t Token<'t>, bool, usize)> {
        let v = self.value_after(words, i, "route option")?;
        if v.text == "lock" {
            let v = self.value_after(words, i + 1, "route option")?;
            Ok((v, true, 3))
        } else {
            Ok((v, false, 2))
        }
    }

    // Long: one arm per route option of keepalived's grammar, kept together.
    /// A route: `[TYPE] [to] DEST[/LEN] [src A] [via|gw [inet|inet6] A] [dev IF] [table T]
    /// [metric N] [scope S] [onlink] [mtu [lock] N] ... [no_track] [nexthop ...]...`.
    pub(super) fn route(&mut self, s: &Stmt) -> R<Route> {
        self.no_block(s);
        let words = &s.words;
        let mut r = Route {
            kind: None,
            to: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            src: None,
            via: None,
            dev: None,
            table: None,
            metric: None,
            scope: None,
            no_track: false,
            track_group: None,
            attrs: RouteAttrs::default(),
            loc: s.loc().clone(),
        };
        let mut fam = FamilyOf::default();
        let mut have_dest = false;
        let mut default_dest = false;
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let word = w.text;
            // The keyword table decides first (destinations and unknown words go on).
            let class = keywords::class(Section::Route, word);
            if class.is_some()
                && !self.admit_class(Section::Route, word, &w.loc, class)
                && !matches!(class, Some(Class::Noted(_)))
            {
                return Err(());
            }
            let mut step = 2;
            match word {
                "blackhole" | "unreachable" | "prohibit" | "throw" if !have_dest => {
                    r.kind = Some(word.to_string());
                    step = 1;
                }
                "inet" | "inet6" => {
                    fam.see(self, &w.loc, word == "inet6", word)?;
                    step = 1;
                }
                "src" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = values::ip(v.text, "src");
                    let a = self.check(&v.loc, x)?;
                    fam.see(self, &v.loc, a.is_ipv6(), "src")?;
                    r.src = Some(a);
                }
                "from" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = values::ip_prefix(v.text, "from");
                    let (a, len, _) = self.check(&v.loc, x)?;
                    if a.is_ipv4() {
                        self.err(
                            &v.loc,
                            "route 'from': only IPv6 routes have a source prefix",
                        );
                        return Err(());
                    }
                    fam.see(self, &v.loc, true, "from")?;
                    r.attrs.from = Some((a, len));
                }
                "to" if !have_dest => step = 1,
                "via" | "gw" => {
                    let mut v = self.value_after(words, i, "route option")?;
                    if matches!(v.text, "inet" | "inet6") {
                        fam.see(self, &v.loc, v.text == "inet6", "via")?;
                        v = self.value_after(words, i + 1, "route option")?;
                        step = 3;
                    }
                    let x = values::ip(v.text, word);
                    let a = self.check(&v.loc, x)?;
                    fam.see(self, &v.loc, a.is_ipv6(), word)?;
                    r.via = Some(a);
                    if word == "gw" {
                        self.notice(&w.loc, "'gw' for routes is deprecated: use 'via'");
                    }
                }
                "dev" | "oif" => {
                    r.dev = Some(self.value_after(words, i, "route option")?.text.to_string());
                }
                "table" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = table_number(v.text, &self.rt_names, LineKind::Route);
                    r.table = Some(self.check(&v.loc, x)?);
                }
                "metric" | "priority" | "preference" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = unsigned(v.text, u64::from(u32::MAX), word);
                    r.metric = Some(self.check(&v.loc, x)? as u32);
                }
                "scope" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = scope_value(v.text, &self.rt_names).ok_or_else(|| {
                        format!("Scope {} not found or invalid for route (a number 0..=255 or a name of /etc/iproute2/rt_scopes)", v.text)
                    });
                    r.scope = Some(self.check(&v.loc, x)?);
                }
                "tos" | "dsfield" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = tos_number(v.text, &self.rt_names);
                    r.attrs.tos = Some(self.check(&v.loc, x)?);
                }
                "protocol" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = protocol_number(v.text, &self.rt_names);
                    r.attrs.protocol = Some(self.check(&v.loc, x)?);
                }
                "onlink" => {
                    r.attrs.onlink = true;
                    step = 1;
                }
                "expires" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = unsigned(v.text, u64::from(u32::MAX), "expires");
                    r.attrs.expires = Some(self.check(&v.loc, x)? as u32);
                    fam.see(self, &w.loc, true, "expires (IPv6 only)")?;
                }
                "realms" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = realms_value(v.text, &self.rt_names, LineKind::Route);
                    r.attrs.realms = Some(self.check(&v.loc, x)?);
                    fam.see(self, &w.loc, false, "realms (IPv4 only)")?;
                }
                "hoplimit" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = unsigned(v.text, 255, "hoplimit");
                    r.attrs.hoplimit = Some(self.check(&v.loc, x)? as u8);
                }
                "window" | "initcwnd" | "initrwnd" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = unsigned(v.text, u64::from(u32::MAX), word);
                    let n = Some(self.check(&v.loc, x)? as u32);
                    match word {
                        "window" => r.attrs.window = n,
                        "initcwnd" => r.attrs.initcwnd = n,
                        _ => r.attrs.initrwnd = n,
                    }
                }
                "mtu" | "advmss" | "reordering" | "cwnd" | "ssthresh" => {
                    let (v, locked, used) = self.locked_value(words, i)?;
                    step = used;
                    let x = unsigned(v.text, u64::from(u32::MAX), word);
                    let n = Some(self.check(&v.loc, x)? as u32);
                    let bit = match word {
                        "mtu" => {
                            r.attrs.mtu = n;
                            rtax::MTU
                        }
                        "advmss" => {
                            r.attrs.advmss = n;
                            rtax::ADVMSS
                        }
                        "reordering" => {
                            r.attrs.reordering = n;
                            rtax::REORDERING
                        }
                        "cwnd" => {
                            r.attrs.cwnd = n;
                            rtax::CWND
                        }
                        _ => {
                            r.attrs.ssthresh = n;
                            rtax::SSTHRESH
                        }
                    };
                    if locked {
                        r.attrs.lock |= 1 << bit;
                    }
                }
                "rtt" | "rttvar" | "rto_min" => {
                    let (v, locked, used) = self.locked_value(words, i)?;
                    step = used;
                    let (mult, bit) = match word {
                        "rtt" => (8, rtax::RTT),
                        "rttvar" => (4, rtax::RTTVAR),
                        _ => (1, rtax::RTO_MIN),
                    };
                    let x = rtt_value(v.text, mult).map_err(|e| format!("{word} {e}"));
                    let (n, warning) = self.check(&v.loc, x)?;
                    if let Some(m) = warning {
                        self.warn(&v.loc, format!("{word} {m}"));
                    }
                    match word {
                        "rtt" => r.attrs.rtt = Some(n),
                        "rttvar" => r.attrs.rttvar = Some(n),
                        _ => r.attrs.rto_min = Some(n),
                    }
                    if locked {
                        r.attrs.lock |= 1 << bit;
                    }
                }
                "features" => {
                    let v = self.value_after(words, i, "route option")?;
                    if v.text != "ecn" {
                        self.err(
                            &v.loc,
                            format!("features '{}': the only route feature is ecn", v.text),
                        );
                        return Err(());
                    }
                    r.attrs.ecn = true;
                }
                "quickack" | "fastopen_no_cookie" => {
                    let v = self.value_after(words, i, "route option")?;
                    let x = unsigned(v.text, 1, word);
                    let n = Some(self.check(&v.loc, x)? as u32);
                    if word == "quickack" {
                        r.attrs.quickack = n;
                    } else {
                        r.attrs.fastopen_no_cookie = n;
                    }
                }
                "congctl" => {
                    let (v, locked, used) = self.locked_value(words, i)?;
                    step = used;
                    r.attrs.congctl = Some(v.text.to_string());
                    if locked {
                        r.attrs.lock |= 1 << rtax::CC_ALGO;
                    }
                }
                "pref" => {
                    let v = self.value_after(words, i, "route option")?;
                    let p = match v.text {
                        "low" => 3,
                        "medium" => 0,
                        "high" => 1,
                        n => {
                            let x = unsigned(n, 255, "pref");
                            self.check(&v.loc, x)? as u8
                        }
                    };
                    r.attrs.pref = Some(p);
                    fam.see(self, &w.loc, true, "pref (IPv6 only)")?;
                }
                "encap" => {
                    let (e, used) = self.encap(words, i)?;
                    r.attrs.encap = Some(e);
                    step = used;
                }
                "ttl-propagate" => {
                    let v = self.value_after(words, i, "route option")?;
                    r.attrs.ttl_propagate = Some(match v.text {
                        "enabled" => true,
                        "disabled" => false,
                        other => {
                            self.err(
                                &v.loc,
                                format!("ttl-propagate '{other}': expected enabled or disabled"),
                            );
                            return Err(());
                        }
                    });
                }
                "or" => {
                    self.notice(&w.loc, "'or' for routes is deprecated: use 'nexthop'");
                    let v = self.value_after(words, i, "route option")?;
                    let x = values::ip(v.text, "or");
                    let a = self.check(&v.loc, x)?;
                    fam.see(self, &v.loc, a.is_ipv6(), "or")?;
                    if r.attrs.nexthops.is_empty() {
                        r.attrs.nexthops.push(NextHop {
                            via: r.via.take(),
                            ..NextHop::default()
                        });
                        r.attrs.nexthops.push(NextHop {
                            via: Some(a),
                            ..NextHop::default()
                        });
                    } else {
                        self.warn(&w.loc, "'or' route already given: this one is ignored");
                    }
                }
                "nexthop" => {
                    if !r.attrs.nexthops.is_empty() {
                        self.err(&w.loc, "'nexthop' cannot follow an 'or' route");
                        return Err(());
                    }
                    r.attrs.nexthops = self.nexthops(&words[i..], &mut fam)?;
                    i = words.len();
                    continue;
                }
                "no_track" => {
                    r.no_track = true;
                    step = 1;
                }
                "track_group" => {
                    let v = self.value_after(words, i, "route option")?;
                    r.track_group = Some(self.track_group_ref(v, r.track_group.is_some())?);
                }
                "default" if !have_dest => {
                    have_dest = true;
                    default_dest = true;
                    step = 1;
                }
                t if !have_dest => {
                    let x = values::ip_prefix(t, "route destination");
                    let (a, len, _) = self.check(&w.loc, x)?;
                    fam.see(self, &w.loc, a.is_ipv6(), "route destination")?;
                    r.to = a;
                    r.prefix_len = len;
                    have_dest = true;
                    step = 1;
                }
                other => {
                    self.err(
                        &w.loc,
                        format!("unknown route option '{other}' (one route per line)"),
                    );
                    return Err(());
                }
            }
            i += step;
        }
        if !have_dest {
            self.err(s.loc(), "route: expected a destination address[/prefix]");
            return Err(());
        }
        if default_dest && fam.0 == Some(true) {
            r.to = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
        }
        if !r.no_track {
            if let Some(p) = r.attrs.protocol.filter(|p| *p != PROTO_KEEPALIVED) {
                self.warn(
                    &r.loc,
                    format!("route protocol {p}: a tracked route is protocol {PROTO_KEEPALIVED} (keepalived), as keepalived resets it (add no_track to keep {p})"),
                );
            }
            r.attrs.protocol = None;
        }
        Ok(r)
    }

    /// `nexthop [via [inet|inet6] A] [dev IF] [weight N] [onlink] [realms R] [encap ...]`,
    /// repeated to the end of the line.
    fn nexthops(&mut self, words: &[Token], fam: &mut FamilyOf) -> R<Vec<NextHop>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            if words[i].text != "nexthop" {
                self.err(
                    &words[i].loc,
                    format!(
                        "route: unexpected '{}' after the nexthops (each nexthop starts with 'nexthop')",
                        words[i].text
                    ),
                );
                return Err(());
            }
            i += 1;
            let mut nh = NextHop::default();
            while i < words.len() && words[i].text != "nexthop" {
                let w = &words[i];
                let mut step = 2;
                match w.text {
                    "via" => {
                        let mut v = self.value_after(words, i, "nexthop option")?;
                        if matches!(v.text, "inet" | "inet6") {
                            fam.see(self, &v.loc, v.text == "inet6", "nexthop via")?;
                            v = self.value_after(words, i + 1, "nexthop option")?;
                            step = 3;
                        }
                        let x = values::ip(v.text, "nexthop via");
                        let a = self.check(&v.loc, x)?;
                        fam.see(self, &v.loc, a.is_ipv6(), "nexthop via")?;
                        nh.via = Some(a);
                    }
                    "dev" => {
                        nh.dev = Some(
                            self.value_after(words, i, "nexthop option")?
                                .text
                                .to_string(),
                        );
                    }
                    "weight" => {
                        let v = self.value_after(words, i, "nexthop option")?;
                        let x = values::int_in(v.text, 1, 256, "nexthop weight");
                        nh.weight = Some(self.check(&v.loc, x)? as u16);
                    }
                    "onlink" => {
                        nh.onlink = true;
                        step = 1;
                    }
                    "realms" => {
                        let v = self.value_after(words, i, "nexthop option")?;
                        let x = realms_value(v.text, &self.rt_names, LineKind::Route);
                        nh.realms = Some(self.check(&v.loc, x)?);
                        fam.see(self, &w.loc, false, "realms (IPv4 only)")?;
                    }
                    "encap" => {
                        let (e, used) = self.encap(words, i)?;
                        // keepalived 2.2.7's add_nexthop gives the nested attribute the current
                        // length as its room (`add_encap(rta, rta->rta_len, ...)`), so nothing
                        // is added: its nexthops go to the kernel without their encap.
                        self.warn(&w.loc, format!("nexthop {e}: keepalived 2.2.7 installs this nexthop without its encapsulation (its add_nexthop leaves no room for it); Vigil installs it as written, so a keepalived peer holding this route forwards it unencapsulated"));
                        nh.encap = Some(e);
                        step = used;
                    }
                    other => {
                        self.err(
                            &w.loc,
                            format!("unknown nexthop option '{other}': expected via, dev, weight, onlink, realms or encap"),
                        );
                        return Err(());
                    }
                }
                i += step;
            }
            out.push(nh);
        }
        Ok(out)
    }

    // Long: one arm per rule selector and action of keepalived's grammar, kept together.
    /// A rule: `ip rule`'s selectors and one action (keepalived.conf(5) "Virtual rules").
    pub(super) fn rule(&mut self, s: &Stmt) -> R<Rule> {
        self.no_block(s);
        let words = &s.words;
        let mut fam = FamilyOf::default();
        let mut r = Rule {
            ipv6: false,
            invert: false,
            from: None,
            to: None,
            priority: 0,
            tos: 0,
            fwmark: None,
            iif: None,
            oif: None,
            suppress_prefixlength: None,
            suppress_ifgroup: None,
            tunnel_id: None,
            uidrange: None,
            protocol: None,
            ipproto: None,
            sport: None,
            dport: None,
            realms: None,
            action: RuleAction::Nop,
            no_track: false,
            track_group: None,
        };
        let mut priority = None;
        let mut action: Option<(RuleAction, Location)> = None;
        let mut table_option: Option<Location> = None;
        let mut set_action = |b: &mut Builder, a: RuleAction, at: &Location| -> R<()> {
            if action.is_some() {
                b.err(at, "rule: only one of table/lookup, goto, nop, l3mdev, blackhole, unreachable, prohibit");
                return Err(());
            }
            action = Some((a, at.clone()));
            Ok(())
        };
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            let word = w.text;
            let class = keywords::class(Section::Rule, word);
            if class.is_some()
                && !self.admit_class(Section::Rule, word, &w.loc, class)
                && !matches!(class, Some(Class::Noted(_)))
            {
                return Err(());
            }
            let mut step = 2;
            match word {
                "inet" | "inet6" => {
                    fam.see(self, &w.loc, word == "inet6", word)?;
                    step = 1;
                }
                "not" => {
                    r.invert = true;
                    step = 1;
                }
                "from" | "to" => {
                    let v = self.value_after(words, i, "rule option")?;
                    // keepalived's parse_route: `all`, `any` and `default` are the whole
                    // family (dumped as 0.0.0.0/0 or ::/0; the family is settled at the end).
                    let p = if matches!(v.text, "all" | "any" | "default") {
                        Some((IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0))
                    } else if v.text == "default6" {
                        fam.see(self, &v.loc, true, word)?;
                        Some((IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0))
                    } else {
                        let x = values::ip_prefix(v.text, word);
                        let (a, len, _) = self.check(&v.loc, x)?;
                        fam.see(self, &v.loc, a.is_ipv6(), word)?;
                        Some((a, len))
                    };
                    if word == "from" {
                        r.from = p;
                    } else {
                        r.to = p;
                    }
                }
                "table" | "lookup" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = table_number(v.text, &self.rt_names, LineKind::Rule);
                    let t = self.check(&v.loc, x)?;
                    if t == 0 {
                        self.err(&v.loc, "rule: table 0 is not valid");
                        return Err(());
                    }
                    set_action(self, RuleAction::Table(t), &w.loc)?;
                }
                "preference" | "order" | "priority" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = unsigned(v.text, u64::from(u32::MAX), word);
                    priority = Some(self.check(&v.loc, x)? as u32);
                }
                "tos" | "dsfield" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = tos_number(v.text, &self.rt_names);
                    r.tos = self.check(&v.loc, x)?;
                }
                "fwmark" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let bad = || {
                        format!(
                            "fwmark: expected MARK or MARK/MASK (0..=0xffffffff), found '{}'",
                            v.text
                        )
                    };
                    let (m, k) = match v.text.split_once('/') {
                        Some((m, k)) => (m, Some(k)),
                        None => (v.text, None),
                    };
                    let num = |t: &str| c_number(t).and_then(|n| u32::try_from(n).ok());
                    let x = match (num(m), k.map(num)) {
                        (Some(m), None) => Ok((m, None)),
                        (Some(m), Some(Some(k))) => Ok((m, Some(k))),
                        _ => Err(bad()),
                    };
                    r.fwmark = Some(self.check(&v.loc, x)?);
                }
                "realms" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = realms_value(v.text, &self.rt_names, LineKind::Rule);
                    r.realms = Some(self.check(&v.loc, x)?);
                    fam.see(self, &w.loc, false, "realms (IPv4 only)")?;
                    table_option = Some(w.loc.clone());
                }
                "suppress_prefixlength" | "sup_pl" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = unsigned(v.text, i32::MAX as u64, word);
                    r.suppress_prefixlength = Some(self.check(&v.loc, x)? as u32);
                    table_option = Some(w.loc.clone());
                }
                "suppress_ifgroup" | "sup_group" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = if v.text == "default" {
                        Ok(0)
                    } else {
                        unsigned(v.text, i32::MAX as u64, word)
                    };
                    r.suppress_ifgroup = Some(self.check(&v.loc, x)? as u32);
                    table_option = Some(w.loc.clone());
                }
                "dev" | "iif" | "oif" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let name = v.text.to_string();
                    self.rule_interfaces.push(RuleInterface {
                        name: name.clone(),
                        oif: word == "oif",
                        loc: v.loc.clone(),
                    });
                    if word == "oif" {
                        r.oif = Some(name);
                    } else {
                        r.iif = Some(name);
                    }
                }
                "tunnel-id" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = unsigned(v.text, u64::MAX, word);
                    r.tunnel_id = Some(self.check(&v.loc, x)?);
                }
                "uidrange" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = v
                        .text
                        .split_once('-')
                        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                        .ok_or_else(|| format!("uidrange: expected START-END, found '{}'", v.text));
                    r.uidrange = Some(self.check(&v.loc, x)?);
                }
                "l3mdev" => {
                    set_action(self, RuleAction::L3mdev, &w.loc)?;
                    step = 1;
                }
                "protocol" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = rule_protocol_number(v.text);
                    r.protocol = Some(self.check(&v.loc, x)?);
                }
                "ipproto" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = ip_protocol(v.text);
                    r.ipproto = Some(self.check(&v.loc, x)?);
                }
                "sport" | "dport" => {
                    let v = self.value_after(words, i, "rule option")?;
                    let x = port_range(v.text, word);
                    let p = Some(self.check(&v.loc, x)?);
                    if word == "sport" {
                        r.sport = p;
                    } else {
                        r.dport = p;
                    }
                }
                "no_track" => {
                    r.no_track = true;
                    step = 1;
                }
                "track_group" => {
                    let v = self.value_after(words, i, "rule option")?;
                    r.track_group = Some(self.track_group_ref(v, r.track_group.is_some())?);
                }
                "type" | "goto" | "nop" | "blackhole" | "unreachable" | "prohibit" => {
                    // `type X` names the action; the action words also stand alone.
                    let (a_word, at, used) = if word == "type" {
                        let v = self.value_after(words, i, "rule option")?;
                        (v.text, v.loc.clone(), 2)
                    } else {
                        (word, w.loc.clone(), 1)
                    };
                    step = used;
                    let a = match a_word {
                        "goto" => {
                            let v = self.value_after(words, i + used - 1, "rule option")?;
                            let x = unsigned(v.text, u64::from(u32::MAX), "goto");
                            step += 1;
                            RuleAction::Goto(self.check(&v.loc, x)? as u32)
                        }
                        "nop" => RuleAction::Nop,
                        "blackhole" => RuleAction::Blackhole,
                        "unreachable" => RuleAction::Unreachable,
                        "prohibit" => RuleAction::Prohibit,
                        other => {
                            self.err(&at, format!("rule action '{other}': expected goto, nop, blackhole, unreachable or prohibit"));
                            return Err(());
                        }
                    };
                    set_action(self, a, &at)?;
                }
                other => {
                    self.err(
                        &w.loc,
                        format!("unknown rule option '{other}' (one rule per line)"),
                    );
                    return Err(());
                }
            }
            i += step;
        }
        let Some((act, act_loc)) = action else {
            self.err(s.loc(), "rule: no action (table/lookup, goto, nop, l3mdev, blackhole, unreachable or prohibit)");
            return Err(());
        };
        r.action = act;
        r.ipv6 = fam.0 == Some(true);
        if r.ipv6 {
            for p in [&mut r.from, &mut r.to].into_iter().flatten() {
                if p.1 == 0 {
                    p.0 = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
                }
            }
        }
        if let RuleAction::Goto(target) = act {
            match priority {
                Some(p) if p >= target => {
                    self.err(
                        &act_loc,
                        format!("rule: preference {p} >= goto target {target}"),
                    );
                    return Err(());
                }
                None => {
                    self.err(&act_loc, format!("rule: goto {target} needs a preference"));
                    return Err(());
                }
                _ => {}
            }
        }
        if let Some(at) = table_option {
            if !matches!(act, RuleAction::Table(_) | RuleAction::L3mdev) {
                self.err(
                    &at,
                    "rule: suppress_prefixlength / suppress_ifgroup / realms need a table action",
                );
                return Err(());
            }
        }
        if r.no_track {
            // keepalived sets the protocol only when written.
        } else {
            if let Some(p) = r.protocol.filter(|p| *p != PROTO_KEEPALIVED) {
                self.warn(
                    s.loc(),
                    format!("rule protocol {p}: a tracked rule is protocol {PROTO_KEEPALIVED} (keepalived), as keepalived resets it (add no_track to keep {p})"),
                );
            }
            r.protocol = Some(PROTO_KEEPALIVED);
        }
        r.priority = match priority {
            Some(p) => p,
            None => {
                let next = &mut self.next_rule_priority[usize::from(r.ipv6)];
                let p = *next;
                *next = next.saturating_sub(1);
                self.warn(
                    s.loc(),
                    format!("rule has no preference: {p} is used (keepalived's numbering; this is probably not what you want)"),
                );
                p
            }
        };
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_values_follow_keepalived() {
        assert_eq!(
            rtt_value("100ms", 8),
            Ok((
                1600,
                Some("'100ms' is below 200ms: 200ms is used".to_string())
            ))
        );
        assert_eq!(rtt_value("300ms", 8), Ok((2400, None)));
        assert_eq!(rtt_value("1.5s", 4), Ok((6000, None)));
        assert_eq!(rtt_value("2000", 8), Ok((2000, None)));
        assert!(rtt_value("1e3", 8).is_err());
        assert_eq!(rtt_value("500s", 1).map(|v| v.0), Ok(120_000));
    }

    #[test]
    fn numbers_read_as_c_does() {
        assert_eq!(c_number("0x10"), Some(16));
        assert_eq!(c_number("010"), Some(8));
        assert_eq!(c_number("0"), Some(0));
        let none = RtNames::default();
        assert_eq!(realms_value("1/2", &none, LineKind::Route), Ok(1 << 16 | 2));
        assert_eq!(port_range("80", "sport"), Ok((80, 80)));
        let names = RtNames {
            tables: vec![(100, "isp1".to_string())],
            ..Default::default()
        };
        assert_eq!(table_number("isp1", &names, LineKind::Route), Ok(100));
        assert_eq!(table_number("main", &names, LineKind::Route), Ok(254));
        assert!(table_number("isp2", &names, LineKind::Rule).is_err());
    }

    const HEAD: &str = "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n \
                        virtual_ipaddress { 192.0.2.1/24 }\n";

    fn parse(body: &str) -> Result<crate::conf::Config, crate::conf::ConfError> {
        crate::conf::parse_str(&format!("{HEAD}{body}\n}}\n"))
    }

    #[test]
    fn route_attributes_are_typed() {
        let c = parse(
            "virtual_routes {\n 198.51.100.0/24 via 192.0.2.254 dev eth0 onlink mtu lock 1400 \
             advmss 1360 rtt 300ms initcwnd 10 features ecn congctl lock cubic realms 1/2 table 100\n \
             203.0.113.0/24 dev eth0 nexthop via 192.0.2.1 weight 2 nexthop via 192.0.2.2 dev eth0 onlink\n \
             2001:db8:1::/48 from 2001:db8:2::/48 via 2001:db8::1 dev eth0 pref high expires 300\n}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = &c.instances[0].virtual_routes;
        let a = &r[0].attrs;
        assert!(a.onlink && a.ecn);
        assert_eq!(
            (a.mtu, a.advmss, a.rtt, a.initcwnd),
            (Some(1400), Some(1360), Some(2400), Some(10))
        );
        assert_eq!(a.lock, 1 << rtax::MTU | 1 << rtax::CC_ALGO);
        assert_eq!(a.congctl.as_deref(), Some("cubic"));
        assert_eq!(a.realms, Some(1 << 16 | 2));
        assert_eq!(r[0].table, Some(100));
        let hops = &r[1].attrs.nexthops;
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].weight, Some(2));
        assert!(hops[1].onlink && hops[1].dev.as_deref() == Some("eth0"));
        assert_eq!(r[2].attrs.pref, Some(1));
        assert_eq!(r[2].attrs.expires, Some(300));
        assert!(r[2].attrs.from.is_some());
    }

    #[test]
    fn bad_route_attributes_are_errors_at_their_word() {
        for (line, expect) in [
            (
                "198.51.100.0/24 dev eth0 realms 1/2 pref high",
                "cannot mix IPv4 and IPv6",
            ),
            (
                "198.51.100.0/24 dev eth0 features sack",
                "the only route feature is ecn",
            ),
            (
                "198.51.100.0/24 dev eth0 nexthop via 192.0.2.1 weight 0",
                "nexthop weight",
            ),
            (
                "198.51.100.0/24 dev eth0 table isp1",
                "Routing table isp1 not found for route",
            ),
            ("198.51.100.0/24 dev eth0 quickack 2", "quickack"),
            // keepalived's built-in names only (no /etc/iproute2 files given).
            (
                "198.51.100.0/24 dev eth0 tos AF11",
                "TOS value AF11 is invalid",
            ),
            (
                "198.51.100.0/24 dev eth0 realms cosmos",
                "Invalid realms cosmos for route",
            ),
            (
                "198.51.100.0/24 dev eth0 no_track protocol unspec",
                "Protocol unspec not found or invalid for route",
            ),
            (
                "198.51.100.0/24 dev eth0 scope universe",
                "Scope universe not found or invalid for route",
            ),
        ] {
            let e = parse(&format!("virtual_routes {{\n {line}\n}}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{line}: {e}");
            assert!(e.contains("keepalived.conf:6:"), "{line}: {e}");
        }
    }

    #[test]
    fn named_tables_come_from_rt_tables() {
        let opts = crate::conf::ParseOptions {
            rt_names: RtNames {
                tables: vec![(101, "isp1".to_string())],
                ..Default::default()
            },
            ..Default::default()
        };
        let text = format!(
            "{HEAD}virtual_routes {{\n 198.51.100.0/24 dev eth0 table isp1\n}}\n\
             virtual_rules {{\n from 192.0.2.0/24 lookup isp1 priority 100\n}}\n}}\n"
        );
        let c = crate::conf::parse_text("k.conf", &text, &crate::conf::MemoryLoader::new(), &opts)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.instances[0].virtual_routes[0].table, Some(101));
        assert_eq!(
            c.instances[0].virtual_rules[0].action,
            RuleAction::Table(101)
        );
    }

    #[test]
    fn rules_follow_keepalived() {
        let c = parse(
            "virtual_rules {\n from 192.0.2.0/24 table 100 priority 100\n \
             to 198.51.100.0/24 fwmark 0x10/0xff iif eth0 lookup 101 preference 101 no_track\n \
             not from 2001:db8::/32 ipproto tcp dport 80-90 sport 1024 uidrange 1000-2000 prohibit\n \
             from all priority 50 goto 100\n \
             from 192.0.2.7 suppress_prefixlength 0 table main priority 60\n}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = &c.instances[0].virtual_rules;
        let shown: Vec<String> = r.iter().map(|r| r.keepalived_format()).collect();
        assert_eq!(
            shown,
            [
                "from 192.0.2.0/24 priority 100 tos 0x0 protocol 18 lookup 100",
                "from all to 198.51.100.0/24 priority 101 tos 0x0 fwmark 0x10/0xff iif eth0 lookup 101 no_track",
                "not from 2001:db8::/32 priority 16384 tos 0x0 uidrange 1000-2000 protocol 18 ipproto 6 sport 1024-1024 dport 80-90 type prohibit",
                "from 0.0.0.0/0 priority 50 tos 0x0 protocol 18 goto 100",
                "from 192.0.2.7 priority 60 tos 0x0 suppress_prefixlen 0 protocol 18 lookup 254",
            ]
        );
        assert!(r[2].ipv6);
        // keepalived's numbering of rules without a preference, with its warning.
        assert!(c
            .warnings
            .iter()
            .any(|w| w.message.contains("rule has no preference: 16384")));
    }

    #[test]
    fn bad_rules_are_errors() {
        for (line, expect) in [
            ("from 192.0.2.0/24 priority 10", "no action"),
            ("from 192.0.2.0/24 table 100 nop priority 1", "only one of"),
            ("from all goto 100", "needs a preference"),
            (
                "from all priority 200 goto 100",
                "preference 200 >= goto target 100",
            ),
            ("from all realms 1 nop priority 1", "need a table action"),
            (
                "from 192.0.2.0/24 to 2001:db8::/32 table 1 priority 1",
                "cannot mix",
            ),
            ("from all table 0 priority 1", "table 0"),
            // keepalived 2.2.7 reads a rule's protocol as a decimal number only.
            (
                "from all table 1 priority 1 no_track protocol static",
                "Invalid protocol static",
            ),
            (
                "from all table 1 priority 1 no_track protocol 0x10",
                "Invalid protocol 0x10",
            ),
            (
                "from all table 1 priority 1 tos AF11",
                "TOS value AF11 is invalid",
            ),
            (
                "from all table 1 priority 1 realms 1/dmz",
                "invalid realms 1/dmz for rule",
            ),
            (
                "from all frobnicate 1 table 1",
                "unknown rule option 'frobnicate'",
            ),
        ] {
            let e = parse(&format!("virtual_rules {{\n {line}\n}}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{line}: {e}");
        }
    }
}
