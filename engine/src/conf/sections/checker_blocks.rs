// Long: real_server and the nine checker blocks, one keyword table each (keepalived's check_*.c).
//! The blocks inside a `virtual_server`: `real_server` and the nine checker blocks with their
//! own keywords (keepalived.conf(5), "Virtual server(s)"; keepalived 2.2.7 `check_*.c`), and the
//! address entries of a `virtual_server_group` ("Virtual server group(s)").

use core::time::Duration;
use std::net::IpAddr;

use super::super::ast::Stmt;
use super::super::body_regex::BodyRegex;
use super::super::checker_model::*;
use super::super::lexer::Location;
use super::super::model::Script;
use super::super::values;
use super::checker::{
    port_word, Level, RawChecker, RawConn, RawReal, Timing, LONG, MICRO, WEIGHT_MAX,
};
use super::{Builder, R};

impl Builder {
    pub(super) fn real_server(&mut self, s: &Stmt) -> R<RawReal> {
        let a = s.args();
        let Some(ip) = a.first() else {
            self.err(s.loc(), "real_server: expected IP [PORT] { ... }");
            return Err(());
        };
        let r = values::ip(ip.text, "real_server");
        let addr = self.check(&ip.loc, r)?;
        let port = match a.get(1) {
            Some(p) => {
                let r = port_word(p, "real_server port");
                Some(self.check(&p.loc, r)?).filter(|p| *p != 0)
            }
            None => None,
        };
        let mut rs = RawReal {
            addr,
            port,
            weight: None,
            forwarding: None,
            uthreshold: None,
            lthreshold: None,
            inhibit: None,
            notify_up: None,
            notify_down: None,
            smtp_alert: None,
            virtualhost: None,
            timing: Timing::default(),
            checkers: Vec::new(),
            loc: s.loc().clone(),
        };
        let body: &[Stmt] = s.block.as_deref().unwrap_or(&[]);
        for st in body {
            let kw = st.keyword().text;
            let _ = self.rs_keyword(st, kw, &mut rs);
        }
        Ok(rs)
    }

    pub(super) fn rs_keyword(&mut self, st: &Stmt, kw: &str, rs: &mut RawReal) -> R<()> {
        if let Some(c) = self.checker_block(st, kw)? {
            rs.checkers.push(c);
            return Ok(());
        }
        self.no_block(st);
        match kw {
            "weight" => rs.weight = Some(self.u32v(st, 0, WEIGHT_MAX)?),
            "lvs_method" => rs.forwarding = Some(self.forwarding(st)?),
            "uthreshold" => rs.uthreshold = Some(self.u32v(st, 0, u32::MAX)?),
            "lthreshold" => rs.lthreshold = Some(self.u32v(st, 0, u32::MAX)?),
            "inhibit_on_failure" => rs.inhibit = Some(self.flag(st)?),
            "notify_up" | "notify_down" => {
                let slot = if kw == "notify_up" {
                    &mut rs.notify_up
                } else {
                    &mut rs.notify_down
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
            "smtp_alert" => rs.smtp_alert = Some(self.flag(st)?),
            "virtualhost" => rs.virtualhost = Some(self.string(st)?),
            _ => {
                if !self.timing_keyword(st, kw, &mut rs.timing, Level::Real)? {
                    self.noted_or_unknown(st, "real_server");
                }
            }
        }
        if kw == "uthreshold" || kw == "lthreshold" {
            self.noted_or_unknown(st, "real_server");
        }
        Ok(())
    }

    /// A checker block; `Ok(None)` when `kw` is not a checker keyword.
    pub(super) fn checker_block(&mut self, st: &Stmt, kw: &str) -> R<Option<RawChecker>> {
        let (kind, network, default_retry, default_dbr) = match kw {
            "TCP_CHECK" => (CheckKind::Tcp, true, 1, Some(Duration::from_secs(1))),
            "HTTP_GET" | "SSL_GET" => (
                CheckKind::Http {
                    tls: kw == "SSL_GET",
                    urls: Vec::new(),
                    virtualhost: None,
                    protocol: HttpProtocol::V1_0,
                    enable_sni: false,
                    fast_recovery: false,
                },
                true,
                1,
                Some(Duration::from_secs(3)),
            ),
            "MISC_CHECK" => (
                CheckKind::Misc {
                    script: Script {
                        command: String::new(),
                        words: None,
                        run_as: None,
                        loc: st.loc().clone(),
                    },
                    timeout: None,
                    dynamic: false,
                },
                false,
                0,
                Some(Duration::from_secs(1)),
            ),
            "SMTP_CHECK" => (
                CheckKind::Smtp {
                    helo_name: "smtpchecker.keepalived.org".to_string(),
                },
                true,
                1,
                Some(Duration::from_secs(1)),
            ),
            "DNS_CHECK" => (
                CheckKind::Dns {
                    qtype: DnsType::Soa,
                    name: String::new(),
                },
                true,
                3,
                None,
            ),
            "UDP_CHECK" => (
                CheckKind::Udp {
                    payload: None,
                    require_reply: None,
                    min_reply_length: 0,
                    max_reply_length: 255,
                },
                true,
                1,
                Some(Duration::from_secs(1)),
            ),
            "PING_CHECK" => (CheckKind::Ping, true, 1, Some(Duration::from_secs(1))),
            "FILE_CHECK" => (
                CheckKind::File {
                    track_file: String::new(),
                    weight: i32::MIN,
                    reverse: false,
                },
                false,
                0,
                None,
            ),
            "BFD_CHECK" => {
                self.err(
                    st.loc(),
                    "BFD_CHECK is not supported: Vigil has no BFD (refused rather than run without the check)",
                );
                return Err(());
            }
            _ => return Ok(None),
        };
        let mut c = RawChecker {
            kind,
            network,
            conn: RawConn::default(),
            timing: Timing::default(),
            log_all_failures: false,
            default_retry,
            default_delay_before_retry: default_dbr,
            hosts: Vec::new(),
            loc: st.loc().clone(),
        };
        let mut misc_path_seen = false;
        for sub in self.block(st) {
            let skw = sub.keyword().text;
            if skw != "url" && skw != "host" {
                self.no_block(sub);
            }
            let _ = self.checker_keyword(sub, skw, &mut c, &mut misc_path_seen);
        }
        // End-of-block checks (keepalived drops the checker with a complaint).
        let drop_why = match &c.kind {
            CheckKind::Http { urls, .. } if urls.is_empty() => {
                Some(format!("{kw} has no url: the checker is ignored"))
            }
            CheckKind::Misc { .. } if !misc_path_seen => {
                Some("MISC_CHECK has no misc_path: the checker is ignored".to_string())
            }
            CheckKind::File { track_file, .. } if track_file.is_empty() => {
                Some("FILE_CHECK has no track_file: the checker is ignored".to_string())
            }
            CheckKind::Udp {
                min_reply_length,
                max_reply_length,
                ..
            } if *min_reply_length > *max_reply_length => {
                self.warn(
                    st.loc(),
                    "UDP_CHECK min_reply_length > max_reply_length: the check will always fail",
                );
                None
            }
            _ => None,
        };
        if let Some(why) = drop_why {
            self.warn(st.loc(), why);
            return Err(());
        }
        Ok(Some(c))
    }

    // Long on purpose: one arm per checker keyword of keepalived's table, kept together.
    pub(super) fn checker_keyword(
        &mut self,
        st: &Stmt,
        kw: &str,
        c: &mut RawChecker,
        misc_path_seen: &mut bool,
    ) -> R<()> {
        let section = c.kind.keyword();
        if c.network {
            if kw == "host" && matches!(c.kind, CheckKind::Smtp { .. }) {
                self.notice(
                    st.loc(),
                    "SMTP_CHECK 'host' blocks are deprecated in keepalived: each is run as its own SMTP_CHECK",
                );
                let mut h = RawChecker {
                    kind: CheckKind::Tcp,
                    network: true,
                    conn: RawConn::default(),
                    timing: Timing::default(),
                    log_all_failures: false,
                    default_retry: 0,
                    default_delay_before_retry: None,
                    hosts: Vec::new(),
                    loc: st.loc().clone(),
                };
                for sub in self.block(st) {
                    self.no_block(sub);
                    let skw = sub.keyword().text;
                    let is_conn = matches!(
                        skw,
                        "connect_ip"
                            | "connect_port"
                            | "bindto"
                            | "bind_port"
                            | "bind_if"
                            | "connect_timeout"
                            | "fwmark"
                    );
                    if is_conn {
                        let mut seen = false;
                        let _ = self.checker_keyword(sub, skw, &mut h, &mut seen);
                    } else if !matches!(
                        skw,
                        "retry"
                            | "delay_before_retry"
                            | "warmup"
                            | "delay_loop"
                            | "alpha"
                            | "log_all_failures"
                    ) {
                        self.unknown(sub, "host");
                    } else {
                        self.notice(
                            sub.loc(),
                            format!("'{skw}' in an SMTP_CHECK host block has no effect in keepalived (ignored)"),
                        );
                    }
                }
                c.hosts
                    .push((h.conn, h.timing.connect_timeout, st.loc().clone()));
                return Ok(());
            }
            match kw {
                "connect_ip" => {
                    c.conn.connect_ip = Some(self.ipv(st)?);
                    return Ok(());
                }
                "connect_port" => {
                    c.conn.connect_port = Some(self.int(st, 1, 65535)? as u16);
                    return Ok(());
                }
                "bindto" => {
                    c.conn.bindto = Some(self.ipv(st)?);
                    return Ok(());
                }
                "bind_port" => {
                    c.conn.bind_port = Some(self.int(st, 1, 65535)? as u16);
                    return Ok(());
                }
                "bind_if" => {
                    let v = self.string(st)?;
                    if v.len() > 15 {
                        self.err(
                            st.loc(),
                            format!("bind_if: interface name '{v}' is longer than 15 characters"),
                        );
                        return Err(());
                    }
                    c.conn.bind_if = Some(v);
                    return Ok(());
                }
                "connect_timeout" => {
                    c.timing.connect_timeout = Some(self.timer(st, MICRO, LONG)?);
                    return Ok(());
                }
                "fwmark" => {
                    c.conn.fwmark = Some(self.u32v(st, 0, u32::MAX)?);
                    return Ok(());
                }
                _ => {}
            }
        }
        let is_file = matches!(c.kind, CheckKind::File { .. });
        if !is_file {
            if kw == "log_all_failures" {
                c.log_all_failures = self.flag(st)?;
                return Ok(());
            }
            if self.timing_keyword(st, kw, &mut c.timing, Level::Checker)? {
                return Ok(());
            }
        }
        match (&mut c.kind, kw) {
            (CheckKind::Http { .. }, "nb_get_retry") => {
                self.warn(st.loc(), "nb_get_retry is deprecated: use 'retry'");
                c.timing.retry = Some(self.u32v(st, 0, u32::MAX)?);
            }
            (CheckKind::Http { virtualhost, .. }, "virtualhost") => {
                *virtualhost = Some(self.string(st)?)
            }
            (CheckKind::Http { protocol, .. }, "http_protocol") => {
                let t = self.one(st)?;
                *protocol = match t.text {
                    "1.0" => HttpProtocol::V1_0,
                    "1.1" => HttpProtocol::V1_1,
                    "1.0C" | "1.0c" => HttpProtocol::V1_0Close,
                    other => {
                        self.err(
                            &t.loc,
                            format!("http_protocol: expected 1.0, 1.0C or 1.1, found '{other}'"),
                        );
                        return Err(());
                    }
                };
            }
            (CheckKind::Http { enable_sni, .. }, "enable_sni") => *enable_sni = self.flag(st)?,
            (CheckKind::Http { fast_recovery, .. }, "fast_recovery") => {
                *fast_recovery = self.flag(st)?
            }
            (CheckKind::Http { urls, .. }, "url") => {
                if let Ok(u) = self.url(st) {
                    urls.push(u);
                }
            }
            (CheckKind::Misc { script, .. }, "misc_path") => {
                let args = st.args();
                if args.is_empty() {
                    self.err(
                        st.loc(),
                        "misc_path: expected a program (quote it with its arguments)",
                    );
                    return Err(());
                }
                let command = args.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
                // One word: split as a command; several: each word an argument.
                script.words =
                    (args.len() > 1).then(|| args.iter().map(|t| t.text.to_string()).collect());
                script.command = command;
                script.loc = args[0].loc.clone();
                *misc_path_seen = true;
            }
            (CheckKind::Misc { timeout, .. }, "misc_timeout") => {
                let v = self.int(st, 0, i64::from(u32::MAX / 1_000_000))?;
                *timeout = (v > 0).then(|| Duration::from_secs(v as u64));
            }
            (CheckKind::Misc { dynamic, .. }, "misc_dynamic") => *dynamic = true,
            (CheckKind::Misc { script, .. }, "user") => {
                let r = self.run_as(st.args(), "user");
                if r.is_none() {
                    self.err(st.loc(), "user: expected a user name [and a group]");
                    return Err(());
                }
                script.run_as = r;
            }
            (CheckKind::Smtp { helo_name }, "helo_name") => *helo_name = self.string(st)?,
            (CheckKind::Smtp { .. }, "host") => {
                self.err(
                    st.loc(),
                    "SMTP_CHECK 'host' sub-blocks (deprecated in keepalived) are not supported: write one SMTP_CHECK per host",
                );
                return Err(());
            }
            (CheckKind::Dns { qtype, .. }, "type") => {
                let t = self.one(st)?;
                match DnsType::ALL
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(t.text))
                {
                    Some((_, q)) => *qtype = *q,
                    None => {
                        self.err(
                            &t.loc,
                            format!(
                                "type: expected A, NS, CNAME, SOA, MX, TXT or AAAA, found '{}'",
                                t.text
                            ),
                        );
                        return Err(());
                    }
                }
            }
            (CheckKind::Dns { name, .. }, "name") => {
                let t = self.one(st)?;
                let n = t.text;
                let empty_label = (n.starts_with('.') && n.len() > 1) || n.contains("..");
                if empty_label {
                    self.err(&t.loc, format!("name: '{n}' has an empty label"));
                    return Err(());
                }
                if !name.is_empty() {
                    self.warn(st.loc(), "DNS_CHECK name already specified (ignored)");
                    return Ok(());
                }
                *name = n.to_string();
            }
            (CheckKind::Udp { payload, .. }, "payload") => {
                let hex = self.hex_words(st)?;
                if hex.is_empty() {
                    self.err(st.loc(), "payload: expected a hex string");
                    return Err(());
                }
                *payload = Some(hex.into_iter().map(|(b, _)| b).collect());
            }
            (CheckKind::Udp { require_reply, .. }, "require_reply") => {
                *require_reply = Some(if st.args().is_empty() {
                    Vec::new()
                } else {
                    self.hex_words(st)?
                });
            }
            (
                CheckKind::Udp {
                    min_reply_length, ..
                },
                "min_reply_length",
            ) => *min_reply_length = self.int(st, 0, 65535)? as u16,
            (
                CheckKind::Udp {
                    max_reply_length, ..
                },
                "max_reply_length",
            ) => *max_reply_length = self.int(st, 0, 65535)? as u16,
            (CheckKind::File { track_file, .. }, "track_file") => *track_file = self.string(st)?,
            (
                CheckKind::File {
                    weight, reverse, ..
                },
                "weight",
            ) => {
                let t = self.one_of_many(st)?;
                let r = values::int_in(
                    t.text,
                    -i64::from(WEIGHT_MAX),
                    i64::from(WEIGHT_MAX),
                    "weight",
                );
                *weight = self.check(&t.loc, r)? as i32;
                *reverse = match st.args().get(1).map(|t| t.text) {
                    None | Some("noreverse") => false,
                    Some("reverse") => true,
                    Some(other) => {
                        self.err(
                            &st.args()[1].loc,
                            format!("weight: expected 'reverse' after the number, found '{other}'"),
                        );
                        return Err(());
                    }
                };
            }
            _ => self.unknown(st, section),
        }
        Ok(())
    }

    /// keepalived's free-form hex strings (`Ab12f 3 456`): each word is read in pairs of
    /// digits, an odd last digit standing alone; `X`/`x` is a wildcard nibble. Returns
    /// (byte, mask of compared bits) pairs.
    pub(super) fn hex_words(&mut self, st: &Stmt) -> R<Vec<(u8, u8)>> {
        let mut out = Vec::new();
        for w in st.args() {
            let digits: Vec<char> = w.text.chars().collect();
            for pair in digits.chunks(2) {
                let mut byte = 0u8;
                // Compared bits; a lone digit is a whole byte whose upper nibble is 0.
                let mut mask = 0u8;
                for &ch in pair {
                    let (v, m) = match ch {
                        'x' | 'X' if st.keyword().text != "payload" => (0, 0),
                        c => match c.to_digit(16) {
                            Some(v) => (v as u8, 0xf),
                            None => {
                                self.err(
                                    &w.loc,
                                    format!(
                                        "{}: expected hex digits, found '{}'",
                                        st.keyword().text,
                                        w.text
                                    ),
                                );
                                return Err(());
                            }
                        },
                    };
                    byte = (byte << 4) | v;
                    mask = (mask << 4) | m;
                }
                if pair.len() == 1 {
                    mask |= 0xf0;
                }
                out.push((byte, mask));
            }
        }
        Ok(out)
    }

    pub(super) fn url(&mut self, s: &Stmt) -> R<Url> {
        let mut u = Url {
            path: String::new(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
            regex: None,
        };
        let mut have_path = false;
        // keepalived reads the regex settings in any order and compiles at the block's end.
        let mut rx = RegexLines::default();
        for st in self.block(s) {
            self.no_block(st);
            let kw = st.keyword().text;
            let _ = (|| -> R<()> {
                match kw {
                    "path" => {
                        u.path = self.string(st)?;
                        have_path = true;
                    }
                    "digest" => {
                        let t = self.one(st)?;
                        if u.digest.is_some() {
                            self.warn(&t.loc, "digest: a second digest (ignored)");
                            return Ok(());
                        }
                        let txt = t.text.as_bytes();
                        let mut d = [0u8; 16];
                        let ok = txt.len() == 32
                            && d.iter_mut().enumerate().all(|(i, b)| {
                                std::str::from_utf8(&txt[2 * i..2 * i + 2])
                                    .ok()
                                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                                    .map(|v| *b = v)
                                    .is_some()
                            });
                        if !ok {
                            self.err(
                                &t.loc,
                                format!("digest: expected 32 hex digits (an MD5 digest, as genhash prints it), found '{}'", t.text),
                            );
                            return Err(());
                        }
                        u.digest = Some(d);
                    }
                    "status_code" => {
                        if st.args().is_empty() {
                            self.err(
                                st.loc(),
                                "status_code: expected codes or ranges (200 or 200-299)",
                            );
                            return Err(());
                        }
                        for t in st.args() {
                            let (lo, hi) = match t.text.split_once('-') {
                                Some((a, b)) => (a.parse::<u16>(), b.parse::<u16>()),
                                None => (t.text.parse::<u16>(), t.text.parse::<u16>()),
                            };
                            match (lo, hi) {
                                (Ok(lo), Ok(hi))
                                    if (100..=599).contains(&lo)
                                        && (100..=599).contains(&hi)
                                        && lo <= hi =>
                                {
                                    u.status_codes.push((lo, hi))
                                }
                                _ => {
                                    self.err(
                                        &t.loc,
                                        format!("status_code: expected a code or range within 100-599, found '{}'", t.text),
                                    );
                                }
                            }
                        }
                    }
                    "virtualhost" => u.virtualhost = Some(self.string(st)?),
                    "regex" => {
                        let t = self.one(st)?;
                        if let Some((_, old)) = &rx.pattern {
                            let msg = format!("regex: a second regex replaces '{old}'");
                            self.warn(&t.loc, msg);
                        }
                        rx.pattern = Some((t.loc.clone(), t.text.to_string()));
                    }
                    "regex_no_match" => rx.no_match = Some(st.loc().clone()),
                    "regex_options" => {
                        for t in st.args() {
                            rx.options.push((t.loc.clone(), t.text.to_string()));
                        }
                    }
                    "regex_stack" => {
                        let a = st.args();
                        let n = |i: usize| a.get(i).and_then(|t| t.text.parse::<u64>().ok());
                        match (a.len(), n(0), n(1)) {
                            (2, Some(lo), Some(hi)) if lo <= hi => {
                                rx.stack = Some((st.loc().clone(), lo, hi))
                            }
                            _ => self.err(
                                st.loc(),
                                "regex_stack: expected START MAX, two byte counts with START <= MAX",
                            ),
                        }
                    }
                    "regex_min_offset" | "regex_max_offset" => {
                        let t = self.one(st)?;
                        match t.text.parse::<usize>() {
                            Ok(v) if kw == "regex_min_offset" => rx.min = Some((t.loc.clone(), v)),
                            Ok(v) => rx.max = Some((t.loc.clone(), v)),
                            Err(_) => self.err(
                                &t.loc,
                                format!("{kw}: expected a byte offset, found '{}'", t.text),
                            ),
                        }
                    }
                    _ => self.unknown(st, "url"),
                }
                Ok(())
            })();
        }
        u.regex = self.body_regex(rx);
        if !have_path {
            self.warn(s.loc(), "url has no path: the url is ignored");
            return Err(());
        }
        if u.status_codes.is_empty() {
            u.status_codes.push((200, 299));
        }
        Ok(u)
    }

    /// The url's `regex*` lines as one [`BodyRegex`], compiled now so that a pattern Vigil
    /// cannot run is refused at its line; settings without a `regex` are ignored with a
    /// warning, and offsets with min > max dropped, as keepalived does (check_http.c).
    fn body_regex(&mut self, rx: RegexLines) -> Option<BodyRegex> {
        let Some((loc, pattern)) = rx.pattern else {
            let stray = rx
                .no_match
                .clone()
                .or_else(|| rx.options.first().map(|o| o.0.clone()));
            let stray = stray
                .or_else(|| rx.stack.as_ref().map(|t| t.0.clone()))
                .or_else(|| rx.min.as_ref().map(|t| t.0.clone()))
                .or_else(|| rx.max.as_ref().map(|t| t.0.clone()));
            if let Some(at) = stray {
                self.warn(
                    &at,
                    "regex settings without a regex in this url: ignored, as keepalived does",
                );
            }
            return None;
        };
        let names: Vec<&str> = rx.options.iter().map(|(_, o)| o.as_str()).collect();
        let mut r = match BodyRegex::new(&pattern, &names) {
            Ok(r) => r,
            Err(e) => {
                let at = if e.starts_with("regex_options") {
                    rx.options.first().map_or(loc.clone(), |o| o.0.clone())
                } else {
                    loc.clone()
                };
                self.err(&at, e);
                return None;
            }
        };
        r.no_match = rx.no_match.is_some();
        r.stack = rx.stack.map(|(_, lo, hi)| (lo, hi));
        r.min_offset = rx.min.as_ref().map_or(0, |m| m.1);
        r.max_offset = rx.max.as_ref().map(|m| m.1);
        if let (Some((at, lo)), Some((_, hi))) = (&rx.min, &rx.max) {
            if lo > hi {
                let msg = format!("regex_min_offset {lo} > regex_max_offset {hi}: both ignored, as keepalived does");
                self.warn(at, msg);
                r.min_offset = 0;
                r.max_offset = None;
            }
        }
        Some(r)
    }

    pub(super) fn group_range(&mut self, st: &Stmt) -> R<GroupRange> {
        let word = st.keyword();
        let port = match st.args().first() {
            Some(p) => {
                let r = port_word(p, "virtual_server_group port");
                self.check(&p.loc, r)?
            }
            None => 0,
        };
        let bad = |b: &mut Builder, why: &str| {
            b.err(
                &word.loc,
                format!(
                    "virtual_server_group entry '{}': {why} (expected IP, IP-LAST, IP-IP or IP/LEN)",
                    word.text
                ),
            )
        };
        let text = word.text;
        if let Some((a, len)) = text.split_once('/') {
            let Ok(addr) = a.parse::<IpAddr>() else {
                bad(self, "not an address");
                return Err(());
            };
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let Ok(len) = len.parse::<u32>() else {
                bad(self, "bad prefix length");
                return Err(());
            };
            if len > max || len < max - 8 || (addr.is_ipv6() && len < 112) {
                bad(self, "the prefix must cover at most 256 addresses");
                return Err(());
            }
            let host = max - len;
            let (first, last) = match addr {
                IpAddr::V4(v) => {
                    let n = u32::from(v);
                    let mask = if host == 0 { 0 } else { (1u32 << host) - 1 };
                    if n & mask != 0 {
                        bad(self, "address bits beyond the prefix are set");
                        return Err(());
                    }
                    (
                        IpAddr::V4(v),
                        IpAddr::V4(std::net::Ipv4Addr::from(n | mask)),
                    )
                }
                IpAddr::V6(v) => {
                    let n = u128::from(v);
                    let mask = if host == 0 { 0 } else { (1u128 << host) - 1 };
                    if n & mask != 0 {
                        bad(self, "address bits beyond the prefix are set");
                        return Err(());
                    }
                    (
                        IpAddr::V6(v),
                        IpAddr::V6(std::net::Ipv6Addr::from(n | mask)),
                    )
                }
            };
            return Ok(GroupRange { first, last, port });
        }
        if let Some((a, end)) = text.split_once('-') {
            let Ok(first) = a.parse::<IpAddr>() else {
                bad(self, "not an address");
                return Err(());
            };
            let last = if let Ok(e) = end.parse::<IpAddr>() {
                if e.is_ipv4() != first.is_ipv4() {
                    bad(self, "the two ends are of different families");
                    return Err(());
                }
                e
            } else {
                // The last byte (IPv4, decimal) or last 16 bits (IPv6, hex) of the first address.
                match first {
                    IpAddr::V4(v) => {
                        let Ok(x) = end.parse::<u8>() else {
                            bad(self, "bad range end");
                            return Err(());
                        };
                        let mut o = v.octets();
                        o[3] = x;
                        IpAddr::V4(o.into())
                    }
                    IpAddr::V6(v) => {
                        let Ok(x) = u16::from_str_radix(end, 16) else {
                            bad(self, "bad range end");
                            return Err(());
                        };
                        let mut seg = v.segments();
                        seg[7] = x;
                        IpAddr::V6(seg.into())
                    }
                }
            };
            let same_block = match (first, last) {
                (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a) >> 8 == u32::from(b) >> 8,
                (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) >> 16 == u128::from(b) >> 16,
                _ => false,
            };
            if !same_block {
                bad(
                    self,
                    "a range may only vary the last byte (IPv4) or the last 16 bits (IPv6)",
                );
                return Err(());
            }
            if last < first {
                bad(self, "the range end is below its start");
                return Err(());
            }
            return Ok(GroupRange { first, last, port });
        }
        let Ok(addr) = text.parse::<IpAddr>() else {
            bad(self, "not an address");
            return Err(());
        };
        Ok(GroupRange {
            first: addr,
            last: addr,
            port,
        })
    }
}

/// A url block's `regex*` lines, with where each was written.
#[derive(Default)]
struct RegexLines {
    pattern: Option<(Location, String)>,
    no_match: Option<Location>,
    options: Vec<(Location, String)>,
    stack: Option<(Location, u64, u64)>,
    min: Option<(Location, usize)>,
    max: Option<(Location, usize)>,
}
