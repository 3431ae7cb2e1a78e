// Long: the keyword tables of global_defs, vrrp_instance, sync groups, scripts and addresses (keepalived's ranges and defaults); checker sections are in sections/.
//! From the statement tree to the typed configuration: one function per section, keyword tables
//! with keepalived's ranges and defaults.
//!
//! Severity policy (see [`Severity`](super::Severity)): a malformed or out-of-range value is an
//! error (keepalived substitutes a default and fails `-t`; Vigil refuses to guess about a router's
//! identity); an unknown keyword is a warning, like keepalived; a keepalived keyword that Vigil does
//! not act on is a notice, and so is a whole skipped section (LVS, BFD, ...), once.

use core::time::Duration;
use std::collections::BTreeMap;
use std::net::IpAddr;

use super::ast::Stmt;
use super::diag::Diagnostic;
use super::keywords::{self, Class, Section};
use super::lexer::{Location, Token};
use super::model::*;
use super::values;

/// The checker grammar (virtual servers, real servers, checkers).
mod checker;
mod checker_blocks;
mod checker_resolve;
/// A route's or nexthop's `encap`.
mod encap;
mod lvs;
mod process;
pub(crate) use lvs::nftables_note as lvs_nftables_note;
/// Route and rule lines.
mod routes;

/// Collects diagnostics while building.
pub(crate) struct Builder {
    pub diags: Vec<Diagnostic>,
    /// Whether the keyword table ([`keywords`]) decides before a handler runs (always, except
    /// in the table's test, which turns it off to find which keywords have a handler).
    pub gate: bool,
    /// iproute2's names for route, rule and scope values (`ParseOptions::rt_names`).
    pub rt_names: super::rt_names::RtNames,
    /// The interfaces rules name, collected as they are read ([`Config::rule_interfaces`]).
    pub rule_interfaces: Vec<RuleInterface>,
    /// keepalived's numbering of rules written without a preference (IPv4, IPv6): 16384
    /// downwards.
    pub next_rule_priority: [u32; 2],
    /// The host's data plane (the virtual servers' notes depend on it).
    pub data_plane: crate::dataplane::Backend,
    /// A `vrrp_instance`'s `lvs_sync_daemon_interface`, put into `global_defs` once every
    /// instance is read (`lvs.rs`).
    pub instance_syncd: Option<super::checker_model::LvsSyncDaemon>,
    /// The place in the file (top-level statement number) of the `global_defs` block whose
    /// `lvs_sync_daemon` was taken, and of the top-level statement being read: every
    /// `global_defs` is read first, but keepalived takes whichever of `lvs_sync_daemon` and an
    /// instance's `lvs_sync_daemon_interface` comes first in the file (`lvs.rs`).
    pub global_syncd_at: Option<usize>,
    pub top_index: usize,
    /// The system's macvlan and ipvlan interfaces (`ParseOptions::vlan_interfaces`).
    pub vlan_interfaces: Vec<String>,
    /// The interfaces of the `garp_group`s read so far (an interface belongs to one group):
    /// a set, because scanning every earlier group per interface was quadratic (60,000
    /// interfaces in one group took 2.4 s to check).
    pub garp_interfaces: super::fast_hash::FastSet<String>,
}

type R<T> = Result<T, ()>;

/// How many lines an address list holds before [`Builder::push_unique_address`] looks a new
/// line's address up in an index instead of scanning the list. Not tuned: a list this short is
/// scanned in a few hundred instructions, about what one index entry (a map node and a `Vec`)
/// cost to make, and real instances hold a handful of addresses.
const ADDRESS_SCAN_MAX: usize = 32;

impl Builder {
    fn err(&mut self, loc: &Location, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(loc, msg));
    }

    fn warn(&mut self, loc: &Location, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(loc, msg));
    }

    /// keepalived 2.2.7 (`alloc_route`): "Warning - cannot track route ... with no interface
    /// specified", a configuration error of its `-t`, for static and virtual routes (a
    /// nexthop's `dev` is not the route's).
    fn warn_untracked_route(&mut self, r: &Route, kind: &str) {
        if r.dev.is_none() && !r.no_track {
            self.warn(
                &r.loc,
                format!("{kind} route {}/{} has no 'dev': it cannot be tracked (add 'dev IF', or 'no_track')", r.to, r.prefix_len),
            );
        }
    }

    fn notice(&mut self, loc: &Location, msg: impl Into<String>) {
        self.diags.push(Diagnostic::notice(loc, msg));
    }

    /// Records `r`'s error at `loc`.
    fn check<T>(&mut self, loc: &Location, r: Result<T, String>) -> R<T> {
        r.map_err(|e| self.err(loc, e))
    }

    /// The single argument of a statement (extra arguments are a warning).
    #[inline]
    fn one<'s>(&mut self, s: &'s Stmt) -> R<&'s Token<'s>> {
        let kw = &s.keyword().text;
        match s.args() {
            [] => {
                self.err(s.loc(), format!("{kw}: expected a value after '{kw}'"));
                Err(())
            }
            [a, rest @ ..] => {
                if let Some(x) = rest.first() {
                    self.warn(
                        &x.loc,
                        format!("{kw}: unexpected '{}' after the value (ignored)", x.text),
                    );
                }
                Ok(a)
            }
        }
    }

    #[inline]
    fn no_block(&mut self, s: &Stmt) {
        if let (Some(_), Some(open)) = (&s.block, &s.open) {
            self.warn(
                open,
                format!(
                    "'{}' does not take a block: the block is ignored",
                    s.keyword().text
                ),
            );
        }
    }

    fn int(&mut self, s: &Stmt, min: i64, max: i64) -> R<i64> {
        let t = self.one(s)?;
        let r = values::int_in(t.text, min, max, s.keyword().text);
        self.check(&t.loc, r)
    }

    fn u32v(&mut self, s: &Stmt, min: u32, max: u32) -> R<u32> {
        self.int(s, i64::from(min), i64::from(max))
            .map(|v| u32::try_from(v).unwrap_or(min))
    }

    fn timer(&mut self, s: &Stmt, min: Duration, max: Duration) -> R<Duration> {
        let t = self.one(s)?;
        let r = values::timer(t.text, min, max, s.keyword().text);
        self.check(&t.loc, r)
    }

    /// `garp_extra_if [all] SECS` / `vrrp_garp_extra_if [all] SECS` (keepalived 2.2.7
    /// `vrrp_garp_extra_if_handler` / `vrrp_vmac_garp_extra_if_handler`): `all` anywhere, the
    /// interval in whole seconds in `min..=86400`; the old spellings `vmac_garp_intvl` /
    /// `vrrp_vmac_garp_intvl` are accepted with keepalived's deprecation warning.
    fn extra_if(&mut self, s: &Stmt, min: u32) -> R<ExtraIf> {
        let kw = s.keyword().text.to_owned();
        if kw.contains("vmac_garp_intvl") {
            let new = kw.replace("vmac_garp_intvl", "garp_extra_if");
            self.warn(s.loc(), format!("{kw} is deprecated: use {new}"));
        }
        let mut e = ExtraIf::default();
        let mut secs = None;
        for a in s.args() {
            if a.text == "all" {
                e.all = true;
            } else {
                let r = values::int_in(a.text, i64::from(min), 86400, &kw);
                secs = Some(self.check(&a.loc, r)?);
            }
        }
        let Some(secs) = secs else {
            self.err(
                s.loc(),
                format!("{kw}: expected [all] and an interval in seconds"),
            );
            return Err(());
        };
        e.interval = Duration::from_secs(secs.unsigned_abs());
        Ok(e)
    }

    /// `keyword [BOOL]`: bare means true.
    fn flag(&mut self, s: &Stmt) -> R<bool> {
        match s.args().first() {
            None => Ok(true),
            Some(t) => {
                let r = values::boolean(t.text, s.keyword().text);
                self.check(&t.loc, r)
            }
        }
    }

    fn ipv(&mut self, s: &Stmt) -> R<IpAddr> {
        let t = self.one(s)?;
        let r = values::ip(t.text, s.keyword().text);
        self.check(&t.loc, r)
    }

    fn string(&mut self, s: &Stmt) -> R<String> {
        self.one(s).map(|t| t.text.to_owned())
    }

    fn block<'s, 't>(&mut self, s: &'s Stmt<'t>) -> &'s [Stmt<'t>] {
        match &s.block {
            Some(b) => b,
            None => {
                self.err(
                    s.loc(),
                    format!("{}: expected '{{' to open a block", s.keyword().text),
                );
                &[]
            }
        }
    }

    fn unknown(&mut self, s: &Stmt, section: &str) {
        self.warn(
            s.loc(),
            format!(
                "unknown keyword '{}' in {section} (ignored)",
                s.keyword().text
            ),
        );
    }

    /// Asks the keyword table about `s` in `section`: `true` when the parser handles it. A noted
    /// keyword gets its notice, a refused one its error, one that is not in the table the
    /// unknown-keyword warning; none of those is handled.
    fn admit(&mut self, section: Section, s: &Stmt) -> bool {
        let kw = s.keyword().text;
        self.admit_word(section, kw, s.loc())
    }

    /// [`Self::admit`] for one word at `loc` (an address or route option, a keyword).
    fn admit_word(&mut self, section: Section, kw: &str, loc: &Location) -> bool {
        if !self.gate {
            return true;
        }
        self.admit_class(section, kw, loc, keywords::class(section, kw))
    }

    /// [`Self::admit_word`] with the keyword's class already looked up (`class`: what
    /// [`keywords::class`] gave for `kw` in `section`), for the callers that look at the class
    /// themselves first: one look-up instead of two.
    ///
    /// Inlined for its common answer (an honoured keyword, 16,000 of the 21,000 look-ups of
    /// 1,000 instances); the diagnostics are [`Self::admit_other`]'s.
    #[inline]
    fn admit_class(
        &mut self,
        section: Section,
        kw: &str,
        loc: &Location,
        class: Option<Class>,
    ) -> bool {
        if !self.gate || matches!(class, Some(Class::Honoured)) {
            return true;
        }
        self.admit_other(section, kw, loc, class)
    }

    /// [`Self::admit_class`] for a keyword that is not honoured: its diagnostic, and `false`.
    fn admit_other(
        &mut self,
        section: Section,
        kw: &str,
        loc: &Location,
        class: Option<Class>,
    ) -> bool {
        match class {
            Some(Class::Honoured) => true,
            Some(Class::Noted(reason)) => {
                self.notice(loc, keywords::noted_message(section, kw, reason));
                false
            }
            Some(Class::Refused(reason)) => {
                self.err(loc, keywords::refused_message(section, kw, reason));
                false
            }
            None => {
                self.warn(
                    loc,
                    format!("unknown keyword '{kw}' in {section} (ignored)"),
                );
                false
            }
        }
    }

    /// `run_as` from trailing `USER [GROUP]` words.
    fn run_as(&mut self, words: &[Token], kw: &str) -> Option<RunAs> {
        let user = words.first()?;
        if let Some(x) = words.get(2) {
            self.warn(
                &x.loc,
                format!(
                    "{kw}: unexpected '{}' after user and group (ignored)",
                    x.text
                ),
            );
        }
        Some(RunAs {
            user: user.text.to_string(),
            group: words.get(1).map(|g| g.text.to_string()),
        })
    }

    /// A notify-style script: `KEYWORD COMMAND [USER [GROUP]]`.
    fn notify_script(&mut self, s: &Stmt) -> R<Script> {
        let kw = s.keyword().text;
        let Some(cmd) = s.args().first() else {
            self.err(
                s.loc(),
                format!("{kw}: expected a script (quote it if it has arguments)"),
            );
            return Err(());
        };
        let run_as = self.run_as(&s.args()[1..], kw);
        Ok(Script {
            command: cmd.text.to_owned(),
            words: None,
            run_as,
            loc: cmd.loc.clone(),
        })
    }

    /// A `static_ipaddress` line. keepalived 2.2.7 (alloc_ipaddress) reads `use_vmac` on a
    /// virtual address line only; on a static one it is an unknown entry (a config error).
    fn static_address(&mut self, s: &Stmt) -> Option<AddressLine> {
        let a = self.address(s).ok()?;
        if a.options.use_vmac {
            self.err(
                &a.loc,
                "use_vmac is not an option of a static_ipaddress line (keepalived: unknown configuration entry)",
            );
            return None;
        }
        Some(a)
    }

    /// Every `global_defs` block of the tree, merged (read before anything else: the other
    /// sections depend on the global settings).
    fn global_blocks(&mut self, tree: &[Stmt]) -> GlobalDefs {
        let mut global = GlobalDefs::default();
        let mut seen_global = false;
        for (idx, s) in tree.iter().enumerate() {
            if s.keyword().text == "global_defs" {
                if seen_global {
                    self.notice(
                        s.loc(),
                        "a second global_defs block: its settings are merged",
                    );
                }
                seen_global = true;
                if global.loc.is_none() {
                    global.loc = Some(s.loc().clone());
                }
                let body = self.block(s);
                let had_syncd = global.checker.lvs.sync_daemon.is_some();
                self.global_defs(body, &mut global);
                if !had_syncd && global.checker.lvs.sync_daemon.is_some() {
                    self.global_syncd_at = Some(idx);
                }
            }
        }
        global
    }

    /// Parses the whole tree.
    pub(super) fn config(&mut self, tree: &[Stmt]) -> Config {
        let global = self.global_blocks(tree);
        // Sized once: an instance is 1.4 KB, so growing the vector by doubling left as much
        // again in dead copies (1.4 MB for 1,000 instances, memory `vigild -t`'s arena never
        // reuses) and copied them each time.
        let instances = tree
            .iter()
            .filter(|s| s.keyword().text == "vrrp_instance")
            .count();
        let mut cfg = Config {
            global,
            instances: Vec::with_capacity(instances),
            sync_groups: Vec::new(),
            scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            static_addresses: Vec::new(),
            static_routes: Vec::new(),
            interface_delays: Vec::new(),
            garp_groups: Vec::new(),
            static_rules: Vec::new(),
            track_groups: Vec::new(),
            rule_interfaces: Vec::new(),
            checkers: Default::default(),
            warnings: Vec::new(),
        };
        let mut virtual_servers = Vec::new();
        for (idx, s) in tree.iter().enumerate() {
            self.top_index = idx;
            let kw = s.keyword().text;
            // The keyword table decides first (an unknown keyword keeps the message below).
            let class = keywords::class(Section::Top, kw);
            if class.is_some() && !self.admit_class(Section::Top, kw, s.loc(), class) {
                continue;
            }
            match kw {
                "global_defs" => {}
                "vrrp_instance" => {
                    if let Ok(i) = self.instance(s, &cfg.global) {
                        cfg.instances.push(i);
                    }
                }
                "vrrp_sync_group" => {
                    if let Ok(g) = self.sync_group(s, &cfg.global) {
                        cfg.sync_groups.push(g);
                    }
                }
                "vrrp_script" => {
                    if let Ok(x) = self.script(s) {
                        cfg.scripts.push(x);
                    }
                }
                "vrrp_track_file" | "track_file" => {
                    if let Ok(x) = self.track_file(s) {
                        cfg.track_files.push(x);
                    }
                }
                "vrrp_track_process" => {
                    if let Ok(x) = self.track_process(s) {
                        cfg.track_processes.push(x);
                    }
                }
                "track_group" => {
                    if let Ok(g) = self.track_group(s) {
                        cfg.track_groups.push(g);
                    }
                }
                "static_ipaddress" => {
                    for a in self.block(s) {
                        if let Some(a) = self.static_address(a) {
                            cfg.static_addresses.push(a);
                        }
                    }
                }
                "interface_up_down_delays" => {
                    for l in self.block(s) {
                        if let Ok(d) = self.interface_delay(l) {
                            cfg.interface_delays.retain(|o| o.interface != d.interface);
                            cfg.interface_delays.push(d);
                        }
                    }
                }
                "garp_group" => {
                    if let Ok(g) = self.garp_group(s) {
                        cfg.garp_groups.push(g);
                    }
                }
                "static_routes" => {
                    for r in self.block(s) {
                        if let Ok(r) = self.route(r) {
                            self.warn_untracked_route(&r, "static");
                            cfg.static_routes.push(r);
                        }
                    }
                }
                "static_rules" => {
                    for r in self.block(s) {
                        if let Ok(r) = self.rule(r) {
                            cfg.static_rules.push(r);
                        }
                    }
                }
                "virtual_server" => {
                    if let Ok(v) = self.virtual_server(s) {
                        virtual_servers.push(v);
                    }
                }
                "virtual_server_group" => {
                    if let Ok(g) = self.vs_group(s) {
                        cfg.checkers.groups.push(g);
                    }
                }
                "SSL" => self.ssl_block(s, &mut cfg.checkers.ssl),
                "net_namespace" => {
                    self.no_block(s);
                    if let Ok(n) = self.string(s) {
                        if self.file_name_part(s, &n) {
                            cfg.global.net_namespace = Some(n);
                        }
                    }
                }
                "instance" => self.instance_name(s, &mut cfg.global),
                _ => self.warn(
                    s.loc(),
                    format!(
                        "unknown keyword '{kw}' at the top level (ignored{})",
                        if s.block.is_some() {
                            ", with its block"
                        } else {
                            ""
                        }
                    ),
                ),
            }
        }
        // An instance's keyword above every global one (a global one above it was refused).
        if let Some(d) = self.instance_syncd.take() {
            cfg.global.checker.lvs.sync_daemon = Some(d);
        }
        self.finish_checkers(&mut cfg, virtual_servers);
        cfg
    }

    /// A line of `interface_up_down_delays`: `IFNAME DOWN_DELAY [UP_DELAY]`, delays in seconds
    /// (fractions allowed) up to 255, as keepalived 2.2.7 reads them (vrrp_parser.c,
    /// `alloc_if_up_down_delay`: the down delay first).
    fn interface_delay(&mut self, s: &Stmt) -> R<InterfaceDelay> {
        self.no_block(s);
        let name = s.keyword();
        let args = s.args();
        if args.is_empty() || args.len() > 2 {
            self.err(
                &name.loc,
                format!(
                    "interface_up_down_delays: expected '{} DOWN_DELAY [UP_DELAY]' (seconds)",
                    name.text
                ),
            );
            return Err(());
        }
        let max = Duration::from_secs(255);
        let mut delays = [Duration::ZERO; 2];
        for (k, t) in args.iter().enumerate() {
            let what = if k == 0 { "down delay" } else { "up delay" };
            let r = values::timer(t.text, Duration::ZERO, max, what);
            delays[k] = self.check(&t.loc, r)?;
        }
        Ok(InterfaceDelay {
            interface: name.text.to_string(),
            down: delays[0],
            up: delays[1],
            loc: name.loc.clone(),
        })
    }

    /// A `garp_group` block, as keepalived 2.2.7 reads it (vrrp_parser.c `garp_group_*`): the
    /// intervals in seconds (fractions to the microsecond), `interface IF` and
    /// `interfaces { IF ... }`; an interface already in an earlier group, or a group with
    /// neither interval, is an error (keepalived reports both as configuration errors and
    /// ignores them).
    fn garp_group(&mut self, s: &Stmt) -> R<GarpGroupConf> {
        let max = Duration::from_micros(u64::from(i32::MAX.unsigned_abs()));
        let mut g = GarpGroupConf {
            garp_interval: None,
            gna_interval: None,
            interfaces: Vec::new(),
            interface_locs: Vec::new(),
            aggregation: false,
            loc: s.loc().clone(),
        };
        let mut ok = true;
        // This group's interfaces, looked up per interface; they join `garp_interfaces` when
        // the group is accepted.
        let mut mine = super::fast_hash::FastSet::default();
        for st in self.block(s) {
            if !self.admit(Section::GarpGroup, st) {
                continue;
            }
            let kw = st.keyword().text;
            match kw {
                "garp_interval" | "gna_interval" => {
                    self.no_block(st);
                    let Ok(v) = self.timer(st, Duration::ZERO, max) else {
                        ok = false;
                        continue;
                    };
                    if v >= Duration::from_secs(1) {
                        self.warn(
                            st.loc(),
                            format!(
                                "garp_group {kw} {} s is very large (keepalived says so too)",
                                v.as_secs_f64()
                            ),
                        );
                    }
                    if kw == "garp_interval" {
                        g.garp_interval = Some(v);
                    } else {
                        g.gna_interval = Some(v);
                    }
                }
                "interface" => {
                    self.no_block(st);
                    match self.one(st).map(|t| (t.text.to_string(), t.loc.clone())) {
                        Ok((name, loc)) => {
                            ok &= self.garp_group_iface(&loc, name, &mut mine, &mut g);
                        }
                        Err(()) => ok = false,
                    }
                }
                "interfaces" => {
                    g.aggregation = true;
                    let names: Vec<(String, Location)> = self
                        .block(st)
                        .iter()
                        .flat_map(|l| l.words.iter())
                        .map(|t| (t.text.to_string(), t.loc.clone()))
                        .collect();
                    if names.is_empty() {
                        self.warn(st.loc(), "garp_group: empty interfaces block");
                    }
                    for (name, loc) in names {
                        ok &= self.garp_group_iface(&loc, name, &mut mine, &mut g);
                    }
                }
                _ => self.unknown(st, "garp_group"),
            }
        }
        if g.garp_interval.is_none() && g.gna_interval.is_none() {
            self.err(
                s.loc(),
                "garp_group: neither garp_interval nor gna_interval is set",
            );
            return Err(());
        }
        if ok {
            self.garp_interfaces.extend(mine);
            Ok(g)
        } else {
            Err(())
        }
    }

    /// One interface of a `garp_group`: refused when an earlier group (or this one) has it;
    /// ignored with a warning when it is a macvlan or ipvlan (keepalived 2.2.7
    /// vrrp_parser.c `garp_group_interface(s)_handler`: "Cannot specify garp_delay on a vmac
    /// (IF) - ignoring"): its announcements go out through its lower interface's gate, in
    /// keepalived and in the engine (`setup::AnnounceGates::bases`, filled by the runner).
    fn garp_group_iface(
        &mut self,
        loc: &Location,
        name: String,
        mine: &mut super::fast_hash::FastSet<String>,
        g: &mut GarpGroupConf,
    ) -> bool {
        if self.vlan_interfaces.contains(&name) {
            self.warn(
                loc,
                format!(
                    "garp_group: {name} is a macvlan or ipvlan interface: ignored, as keepalived \
                     ignores a garp_group on a VMAC"
                ),
            );
            return true;
        }
        if self.garp_interfaces.contains(&name) || mine.contains(&name) {
            self.err(
                loc,
                format!(
                    "garp_group: {name} is already in a garp_group (keepalived ignores the second)"
                ),
            );
            return false;
        }
        mine.insert(name.clone());
        g.interfaces.push(name);
        g.interface_locs.push(loc.clone());
        true
    }

    // Long: one arm per global_defs keyword of keepalived's table, kept together.
    fn global_defs(&mut self, body: &[Stmt], g: &mut GlobalDefs) {
        let long = Duration::from_secs(u64::from(u32::MAX));
        for s in body {
            let kw = s.keyword().text;
            if !self.admit(Section::GlobalDefs, s) {
                // A noted checker setting (checker e-mail) still enters the checker model:
                // the configuration dump (-d) shows it as keepalived's does; the notice says
                // vigild does not act on it.
                if self.gate
                    && checker::GLOBAL_KEYWORDS.contains(&kw)
                    && matches!(
                        keywords::class(Section::GlobalDefs, kw),
                        Some(Class::Noted(_))
                    )
                {
                    let _ = self.checker_global(s, g);
                }
                continue;
            }
            if kw != "notification_email" {
                self.no_block(s);
            }
            let _ = (|| -> R<()> {
                match kw {
                    "router_id" => g.router_id = Some(self.string(s)?),
                    "notification_email" => {
                        let mut list = Vec::new();
                        for e in self.block(s) {
                            list.extend(e.words.iter().map(|t| t.text.to_string()));
                        }
                        g.notification_email = list;
                    }
                    "notification_email_from" => g.notification_email_from = Some(self.string(s)?),
                    "smtp_server" => {
                        let host = self.one_or_two(s)?;
                        let port = match s.args().get(1) {
                            Some(p) => {
                                let r = values::int_in(p.text, 1, 65535, "smtp_server port");
                                u16::try_from(self.check(&p.loc, r)?).unwrap_or(25)
                            }
                            None => 25,
                        };
                        g.smtp_server = Some(SmtpServer { host, port });
                    }
                    "smtp_connect_timeout" => {
                        g.smtp_connect_timeout =
                            Duration::from_secs(u64::from(self.u32v(s, 1, 3600)?))
                    }
                    "smtp_helo_name" => g.smtp_helo_name = Some(self.string(s)?),
                    "smtp_alert" => g.smtp_alert = Some(self.flag(s)?),
                    "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(self.flag(s)?),
                    "vmac_prefix" => {
                        let p = self.string(s)?;
                        // keepalived 2.2.7 (global_parser.c): a second one is ignored.
                        if g.vmac_prefix.is_some() {
                            self.err(
                                s.loc(),
                                format!("vmac_prefix: already specified, '{p}' ignored"),
                            );
                            return Err(());
                        }
                        g.vmac_prefix = Some(p);
                    }
                    "vmac_addr_prefix" => {
                        let p = self.string(s)?;
                        // keepalived 2.2.7 (global_parser.c): a second one is ignored.
                        if g.vmac_addr_prefix.is_some() {
                            self.err(
                                s.loc(),
                                format!("vmac_addr_prefix: already specified, '{p}' ignored"),
                            );
                            return Err(());
                        }
                        g.vmac_addr_prefix = Some(p);
                    }
                    "startup_script" | "shutdown_script" => {
                        let sc = self.notify_script(s)?;
                        let slot = if kw == "startup_script" {
                            &mut g.startup_script
                        } else {
                            &mut g.shutdown_script
                        };
                        // keepalived 2.2.7 (global_parser.c): a second one is an error, the
                        // first is kept.
                        if slot.is_some() {
                            self.err(
                                s.loc(),
                                format!("{kw}: already specified (the first is kept)"),
                            );
                            return Err(());
                        }
                        *slot = Some(sc);
                    }
                    "startup_script_timeout" => {
                        g.startup_script_timeout = Some(self.u32v(s, 1, 1000)?)
                    }
                    "shutdown_script_timeout" => {
                        g.shutdown_script_timeout = Some(self.u32v(s, 1, 1000)?)
                    }
                    "script_user" => {
                        let r = self.run_as(s.args(), kw);
                        if r.is_none() {
                            self.err(s.loc(), "script_user: expected a user name [and a group]");
                            return Err(());
                        }
                        g.script_user = r;
                    }
                    "enable_script_security" => g.enable_script_security = self.flag(s)?,
                    "vrrp_version" => {
                        g.vrrp_version = if self.int(s, 2, 3)? == 2 {
                            Version::V2
                        } else {
                            Version::V3
                        }
                    }
                    "vrrp_garp_master_delay" => {
                        g.vrrp_garp_master_delay =
                            Duration::from_secs(u64::from(self.u32v(s, 0, 255)?))
                    }
                    "vrrp_garp_master_repeat" => {
                        g.vrrp_garp_master_repeat = self.u32v(s, 1, 255)?
                    }
                    "vrrp_garp_master_refresh" => {
                        let v = self.u32v(s, 0, u32::MAX)?;
                        g.vrrp_garp_master_refresh =
                            (v > 0).then(|| Duration::from_secs(u64::from(v)));
                    }
                    "vrrp_garp_master_refresh_repeat" => {
                        g.vrrp_garp_master_refresh_repeat = self.u32v(s, 1, 255)?
                    }
                    "vrrp_garp_lower_prio_delay" => {
                        g.vrrp_garp_lower_prio_delay =
                            Some(Duration::from_secs(u64::from(self.u32v(s, 0, 255)?)))
                    }
                    "vrrp_garp_lower_prio_repeat" => {
                        g.vrrp_garp_lower_prio_repeat = Some(self.u32v(s, 0, 255)?)
                    }
                    "vrrp_startup_delay" => {
                        g.vrrp_startup_delay = self.timer(s, Duration::ZERO, long)?
                    }
                    "vrrp_garp_interval" => {
                        g.vrrp_garp_interval = self.timer(s, Duration::ZERO, long)?
                    }
                    "vrrp_gna_interval" => {
                        g.vrrp_gna_interval = self.timer(s, Duration::ZERO, long)?
                    }
                    // keepalived: one gratuitous ARP/NA, no second burst 5 s later; settings
                    // already changed from their default are kept (so the order matters, as in
                    // keepalived).
                    "vrrp_min_garp" => {
                        if self.flag(s)? {
                            if g.vrrp_garp_master_repeat == 5 {
                                g.vrrp_garp_master_repeat = 1;
                            }
                            if g.vrrp_garp_master_delay == Duration::from_secs(5) {
                                g.vrrp_garp_master_delay = Duration::ZERO;
                            }
                        }
                    }
                    "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
                        g.vrrp_garp_extra_if = self.extra_if(s, 1)?
                    }
                    "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = self.flag(s)?,
                    "vrrp_higher_prio_send_advert" => {
                        g.vrrp_higher_prio_send_advert = self.flag(s)?
                    }
                    "vrrp_down_timer_adverts" => {
                        g.vrrp_down_timer_adverts = self.u32v(s, 1, 100)?
                    }
                    "vrrp_mcast_group4" => {
                        let t = self.one(s)?;
                        match t.text.parse::<std::net::Ipv4Addr>() {
                            Ok(a) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                            _ => {
                                self.err(
                                    &t.loc,
                                    format!("vrrp_mcast_group4: expected an IPv4 multicast address, found '{}'", t.text),
                                );
                                return Err(());
                            }
                        }
                    }
                    "vrrp_mcast_group6" => {
                        let t = self.one(s)?;
                        match t.text.parse::<std::net::Ipv6Addr>() {
                            Ok(a) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                            _ => {
                                self.err(
                                    &t.loc,
                                    format!("vrrp_mcast_group6: expected an IPv6 multicast address, found '{}'", t.text),
                                );
                                return Err(());
                            }
                        }
                    }
                    "vrrp_strict" => g.vrrp_strict = self.flag(s)?,
                    "nftables" => {
                        // keepalived: a table name shorter than 256 bytes; the line also
                        // resets nftables_priority to -1.
                        let name = s.args().first().map_or("keepalived", |t| t.text);
                        if name.len() >= 256 {
                            self.err(
                                s.loc(),
                                "nftables: the table name must be shorter than 256 bytes",
                            );
                            return Err(());
                        }
                        g.nftables = Some(name.to_string());
                        g.nftables_priority = -1;
                    }
                    "nftables_priority" => {
                        let p = self.int(s, i64::from(i32::MIN), i64::from(i32::MAX))?;
                        g.nftables_priority = i32::try_from(p).unwrap_or(-1);
                    }
                    "nftables_counters" => g.nftables_counters = true,
                    "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = self.flag(s)?,
                    "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = self.flag(s)?,
                    "v3_checksum_as_v2" => g.v3_checksum_as_v2 = self.flag(s)?,
                    "notify_fifo" | "vrrp_notify_fifo" => {
                        let path = s.args().first().map(|t| t.text.to_string());
                        let Some(path) = path else {
                            self.err(s.loc(), format!("{kw}: expected a FIFO path"));
                            return Err(());
                        };
                        let run_as = self.run_as(&s.args()[1..], kw);
                        let slot = if kw == "notify_fifo" {
                            &mut g.notify_fifo
                        } else {
                            &mut g.vrrp_notify_fifo
                        };
                        let script = slot.take().and_then(|f| f.script);
                        *slot = Some(NotifyFifo {
                            path,
                            run_as,
                            script,
                        });
                    }
                    "notify_fifo_script" | "vrrp_notify_fifo_script" => {
                        let script = self.notify_script(s)?;
                        let slot = if kw == "notify_fifo_script" {
                            &mut g.notify_fifo
                        } else {
                            &mut g.vrrp_notify_fifo
                        };
                        match slot {
                            Some(f) => f.script = Some(script),
                            None => {
                                *slot = Some(NotifyFifo {
                                    path: String::new(),
                                    run_as: None,
                                    script: Some(script),
                                })
                            }
                        }
                    }
                    "max_auto_priority" => {
                        g.max_auto_priority = Some(match s.args().first() {
                            None => 99,
                            Some(_) => i32::try_from(self.int(s, -1, 99)?).unwrap_or(-1),
                        })
                    }
                    "vrrp_notify_priority_changes" => {
                        g.vrrp_notify_priority_changes = self.flag(s)?
                    }
                    "umask" => {
                        let t = self.one(s)?;
                        let r = umask_value(t.text);
                        g.umask = Some(self.check(&t.loc, r)?);
                    }
                    "default_interface" => g.default_interface = Some(self.string(s)?),
                    "dynamic_interfaces" => {
                        // keepalived 2.2.7 (global_parser.c, dynamic_interfaces_handler): the
                        // one option is allow_if_changes; another word is a config error.
                        g.dynamic_interfaces = true;
                        for a in s.args() {
                            if a.text == "allow_if_changes" {
                                g.allow_if_changes = true;
                            } else {
                                self.err(
                                    &a.loc,
                                    format!(
                                        "Unknown dynamic_interfaces option '{}' (expected allow_if_changes)",
                                        a.text
                                    ),
                                );
                            }
                        }
                    }
                    "disable_local_igmp" => g.disable_local_igmp = true,
                    "data_use_instance" => g.data_use_instance = self.flag(s)?,
                    k if checker::GLOBAL_KEYWORDS.contains(&k) => self.checker_global(s, g)?,
                    k if lvs::GLOBAL_KEYWORDS.contains(&k) => self.lvs_global(s, g)?,
                    k if process::GLOBAL_KEYWORDS.contains(&k) => self.process_global(s, g)?,
                    _ => self.unknown(s, "global_defs"),
                }
                Ok(())
            })();
        }
        self.process_overridden(body, g);
        for f in [&g.notify_fifo, &g.vrrp_notify_fifo].into_iter().flatten() {
            if let (true, Some(sc)) = (f.path.is_empty(), &f.script) {
                self.diags.push(Diagnostic::warning(
                    &sc.loc,
                    "a notify FIFO script without its FIFO (notify_fifo / vrrp_notify_fifo): ignored",
                ));
            }
        }
    }

    /// The top-level `instance NAME` (keepalived 2.2.7 global_parser.c `instance_handler`):
    /// the first one counts, a second is a configuration error.
    fn instance_name(&mut self, s: &Stmt, g: &mut GlobalDefs) {
        self.no_block(s);
        if let Ok(n) = self.string(s) {
            if !self.file_name_part(s, &n) {
                return;
            }
            match &g.instance_name {
                None => g.instance_name = Some(n),
                Some(_) => self.err(
                    s.loc(),
                    format!("Duplicate instance definition {n} - ignoring"),
                ),
            }
        }
    }

    /// Whether `name` (of `instance` or `net_namespace`) can be part of a file name: the pid
    /// file's directory and name are made of it (`/run/vigild/NS/vigild_NAME.pid`), so a `/`,
    /// `.` or `..` is an error at the line (a namespace so named cannot exist either).
    fn file_name_part(&mut self, s: &Stmt, name: &str) -> bool {
        let ok = !name.contains('/') && name != "." && name != "..";
        if !ok {
            let kw = s.keyword().text;
            self.err(
                s.loc(),
                format!("{kw}: '{name}' is part of the pid file's name: no '/', '.' or '..'"),
            );
        }
        ok
    }

    fn one_or_two(&mut self, s: &Stmt) -> R<String> {
        let kw = &s.keyword().text;
        match s.args() {
            [] => {
                self.err(s.loc(), format!("{kw}: expected a value"));
                Err(())
            }
            [a, ..] => {
                if let Some(x) = s.args().get(2) {
                    self.warn(&x.loc, format!("{kw}: unexpected '{}' (ignored)", x.text));
                }
                Ok(a.text.to_string())
            }
        }
    }

    /// `ADDR[/LEN] [brd X] [dev IF] [scope S] [label L] [peer P] [no_track] ...`
    /// Adds `a` to `list` unless the same address on the same device is already there: then the
    /// second line is reported and ignored. keepalived keeps both, adds the address once (the
    /// kernel refuses the second) and announces it twice; an address is held once, so Vigil
    /// says so at the line instead (found by the config fuzzer: the engine added it twice).
    ///
    /// `index` holds, for each address, the positions of the list's lines with it, so that a
    /// line looks only at lines with its own address: a scan of the whole list per line made a
    /// block of 60,000 addresses take 5 s to check (2026-12-05). A `BTreeMap`, not a `HashMap`: no per-process
    /// random seed, so the fuzz targets' coverage stays the same for the same input.
    ///
    /// The index is built only once the list holds [`ADDRESS_SCAN_MAX`] lines: below that a
    /// scan of the list finds the same first line (both look at the lines in order) without an
    /// allocation per address (a `Vec` in a map node): 1.28 M instructions of `vigild -t` on
    /// 1,000 instances of three addresses each.
    fn push_unique_address(
        &mut self,
        list: &mut Vec<AddressLine>,
        index: &mut BTreeMap<IpAddr, Vec<usize>>,
        a: AddressLine,
        kw: &str,
    ) {
        let x = &a.address;
        if index.is_empty() && list.len() >= ADDRESS_SCAN_MAX {
            for (i, b) in list.iter().enumerate() {
                index.entry(b.address.addr).or_default().push(i);
            }
        }
        let first = if index.is_empty() {
            list.iter()
                .find(|b| b.address.addr == x.addr && b.address.dev == x.dev)
        } else {
            index.get(&x.addr).and_then(|at| {
                at.iter()
                    .filter_map(|&i| list.get(i))
                    .find(|b| b.address.dev == x.dev)
            })
        };
        if let Some(first) = first {
            let msg = format!(
                "{kw}: {} is listed twice (first at {}): the second is ignored",
                x.addr, first.loc
            );
            // A notice, not a warning: keepalived's -t accepts the file (Debian's own sample
            // keepalived.conf.vrrp lists 192.168.200.18 twice), so vigild -t must too.
            self.notice(&a.loc, msg);
            return;
        }
        if !index.is_empty() {
            index.entry(x.addr).or_default().push(list.len());
        }
        list.push(a);
    }

    // Long: one arm per option of keepalived's address line (dev, brd, scope, label, ...), kept together.
    pub(super) fn address(&mut self, s: &Stmt) -> R<AddressLine> {
        self.no_block(s);
        let first = s.keyword();
        let r = values::ip_prefix(first.text, "address");
        let (addr, prefix_len, prefix_written) = self.check(&first.loc, r)?;
        let mut a = VirtualAddress {
            prefix_len,
            ..VirtualAddress::new(addr)
        };
        let mut o = AddressOptions::default();
        // `preferred_lft` as written (`forever` is u32::MAX); keepalived's default applies
        // when the line says nothing, once the prefix length is known (after `peer`).
        let mut written_lft: Option<u32> = None;
        let args = s.args();
        let mut i = 0;
        let mut ok = true;
        while i < args.len() {
            let opt = &args[i];
            let val = args.get(i + 1);
            let needs = |b: &mut Builder| -> R<&Token> {
                val.ok_or_else(|| {
                    b.err(
                        &opt.loc,
                        format!("address option '{}': expected a value after it", opt.text),
                    )
                })
            };
            // The keyword table decides first: a refused option stops the line (the error is
            // at the option); a noted one is still read, for its value.
            let class = keywords::class(Section::Address, opt.text);
            if class.is_some()
                && !self.admit_class(Section::Address, opt.text, &opt.loc, class)
                && !matches!(class, Some(Class::Noted(_)))
            {
                ok = false;
                break;
            }
            let step = match opt.text {
                "brd" | "broadcast" => {
                    let v = needs(self)?;
                    if v.text == "+" || v.text == "-" {
                        // `ip addr`'s forms: the host bits all set (+) or all clear (-).
                        match addr {
                            IpAddr::V4(a4) => {
                                let host = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                                let net = u32::from(a4) & !host;
                                let b = if v.text == "+" { net | host } else { net };
                                a.broadcast = Some(std::net::Ipv4Addr::from(b));
                            }
                            IpAddr::V6(_) => {
                                self.err(&v.loc, "brd: IPv6 addresses have no broadcast address");
                                ok = false;
                            }
                        }
                    } else {
                        match v.text.parse::<std::net::Ipv4Addr>() {
                            Ok(b) if addr.is_ipv4() => a.broadcast = Some(b),
                            _ => {
                                self.err(
                                    &v.loc,
                                    format!("brd: expected an IPv4 broadcast address (or + or -), found '{}'", v.text),
                                );
                                ok = false;
                            }
                        }
                    }
                    2
                }
                "dev" => {
                    a.dev = Some(needs(self)?.text.to_owned());
                    2
                }
                "scope" => {
                    let v = needs(self)?;
                    match routes::scope_value(v.text, &self.rt_names) {
                        Some(sc) => a.scope = sc,
                        None => {
                            self.err(
                                &v.loc,
                                format!("Invalid scope '{}' specified (a number 0..=255 or a name of /etc/iproute2/rt_scopes)", v.text),
                            );
                            ok = false;
                        }
                    }
                    2
                }
                "label" => {
                    a.label = Some(needs(self)?.text.to_owned());
                    2
                }
                "peer" => {
                    // keepalived 2.2.7 (vrrp_ipa.c, alloc_ipaddress): `peer P`, without a
                    // prefix length (it rejects one); the address and its peer are then a /32
                    // (/128), whatever prefix the address had (it ignores that one, with an
                    // error): both are errors here, at the line.
                    let v = needs(self)?;
                    match values::ip(v.text, "peer") {
                        Ok(_) if a.peer.is_some() => {
                            self.err(&v.loc, "peer: only one peer per address");
                            ok = false;
                        }
                        Ok(_) if prefix_written && prefix_len != host_len(addr) => {
                            self.err(
                                &first.loc,
                                "peer: an address with a peer is a /32 (IPv4) or /128 (IPv6): remove the prefix length, as keepalived ignores it",
                            );
                            ok = false;
                        }
                        Ok(p) if p.is_ipv4() == addr.is_ipv4() => {
                            a.peer = Some(p);
                            a.prefix_len = host_len(addr);
                        }
                        Ok(_) => {
                            self.err(
                                &v.loc,
                                "peer: the peer must be of the same address family as the address",
                            );
                            ok = false;
                        }
                        Err(_) if v.text.contains('/') => {
                            self.err(
                                &v.loc,
                                format!("peer: expected an address without a prefix length, found '{}' (keepalived rejects a peer prefix)", v.text),
                            );
                            ok = false;
                        }
                        Err(e) => {
                            self.err(&v.loc, e);
                            ok = false;
                        }
                    }
                    2
                }
                "preferred_lft" => {
                    let v = needs(self)?;
                    if v.text == "forever" {
                        written_lft = Some(u32::MAX);
                    } else {
                        match values::int_in(v.text, 0, i64::from(u32::MAX), "preferred_lft") {
                            Ok(n) => written_lft = u32::try_from(n).ok(),
                            Err(e) => {
                                self.err(&v.loc, e);
                                ok = false;
                            }
                        }
                    }
                    2
                }
                "track_group" => {
                    let v = needs(self)?;
                    if o.track_group.is_some() {
                        self.err(
                            &v.loc,
                            format!(
                                "track_group {} is a duplicate: an address follows one group",
                                v.text
                            ),
                        );
                        ok = false;
                    }
                    o.track_group = Some(TrackGroupRef {
                        name: v.text.to_string(),
                        loc: v.loc.clone(),
                    });
                    2
                }
                "no_track" => {
                    a.no_track = true;
                    1
                }
                "home" => {
                    a.flags.home = true;
                    1
                }
                "-nodad" => {
                    a.flags.dad = true;
                    1
                }
                "noprefixroute" => {
                    a.flags.noprefixroute = true;
                    1
                }
                "mngtmpaddr" => {
                    a.flags.mngtmpaddr = true;
                    1
                }
                "autojoin" => {
                    a.flags.autojoin = true;
                    1
                }
                "use_vmac" => {
                    o.use_vmac = true;
                    1
                }
                other => {
                    self.err(
                        &opt.loc,
                        format!("unknown address option '{other}': expected brd, dev, scope, label, peer, no_track, home, -nodad, noprefixroute, mngtmpaddr, autojoin, preferred_lft or track_group (one address per line)"),
                    );
                    ok = false;
                    1
                }
            };
            i += step;
        }
        if ok && a.peer.is_some() && a.broadcast.is_some() {
            // keepalived drops the broadcast address then; say it at the line instead.
            self.err(
                &first.loc,
                "an address with a peer has no broadcast address: remove brd or peer",
            );
            ok = false;
        }
        a.preferred_lft = a.keepalived_preferred_lft(written_lft);
        if ok && a.addr.is_ipv4() && written_lft.is_some() {
            // keepalived sets IFA_CACHEINFO on IPv6 addresses only (netlink_ipaddress).
            self.warn(
                &first.loc,
                "preferred_lft applies to IPv6 addresses only: ignored on this IPv4 address, as keepalived does",
            );
        }
        if ok {
            Ok(AddressLine {
                address: a,
                options: o,
                loc: first.loc.clone(),
            })
        } else {
            Err(())
        }
    }

    fn track_list_weight(&mut self, s: &Stmt, min: i64, max: i64) -> (Option<i32>, bool) {
        let (weight, reverse, _) = self.track_list_weight3(s, min, max);
        (weight, reverse)
    }

    /// `track_group NAME { group { INSTANCE ... } }` (keepalived 2.2.7 `vrrp_parser.c`,
    /// `static_track_group_handler`): a name is required; a group without members is dropped
    /// with a warning, as keepalived removes it. Unique names are checked in `validate`.
    fn track_group(&mut self, s: &Stmt) -> R<TrackGroup> {
        let Some(name) = s.args().first() else {
            self.err(
                s.loc(),
                "track_group: expected a name (track_group NAME { group { INSTANCE ... } })",
            );
            return Err(());
        };
        if let Some(x) = s.args().get(1) {
            self.err(&x.loc, "track_group: expected one name");
            return Err(());
        }
        let mut g = TrackGroup {
            name: name.text.to_string(),
            members: Vec::new(),
            loc: s.loc().clone(),
        };
        let mut have_group = false;
        for st in self.block(s) {
            if !self.admit(Section::TrackGroup, st) {
                continue;
            }
            match st.keyword().text {
                "group" => {
                    if have_group {
                        self.err(
                            st.loc(),
                            format!("track_group {}: the group list is already given", g.name),
                        );
                        continue;
                    }
                    have_group = true;
                    for m in self.block(st) {
                        g.members.extend(m.words.iter().map(|t| t.text.to_string()));
                    }
                }
                _ => self.unknown(st, "track_group"),
            }
        }
        if g.members.is_empty() {
            self.warn(
                s.loc(),
                format!("track_group {}: no member instances (expected 'group {{ INSTANCE ... }}'): the group is removed, as keepalived does", g.name),
            );
            return Err(());
        }
        Ok(g)
    }

    /// `weight N [reverse|noreverse]`: the weight, `reverse`, `noreverse`.
    fn track_list_weight3(&mut self, s: &Stmt, min: i64, max: i64) -> (Option<i32>, bool, bool) {
        let mut weight = None;
        let mut reverse = false;
        let mut noreverse = false;
        let args = s.args();
        let mut i = 0;
        while i < args.len() {
            match args[i].text {
                "weight" => {
                    match args.get(i + 1) {
                        Some(v) => match values::int_in(v.text, min, max, "weight") {
                            Ok(w) => weight = i32::try_from(w).ok(),
                            Err(e) => self.err(&v.loc, e),
                        },
                        None => self.err(&args[i].loc, "weight: expected a number after it"),
                    }
                    i += 2;
                }
                "reverse" => {
                    reverse = true;
                    i += 1;
                }
                "noreverse" | "no_reverse" => {
                    reverse = false;
                    noreverse = true;
                    i += 1;
                }
                other => {
                    self.warn(
                        &args[i].loc,
                        format!("unexpected '{other}': expected 'weight N [reverse]' (ignored)"),
                    );
                    i += 1;
                }
            }
        }
        (weight, reverse, noreverse)
    }

    fn track_interfaces(&mut self, s: &Stmt) -> Vec<TrackInterface> {
        let mut out = Vec::new();
        for t in self.block(s) {
            self.no_block(t);
            let (w, reverse) = self.track_list_weight(t, -253, 253);
            out.push(TrackInterface {
                name: t.keyword().text.to_owned(),
                weight: w.unwrap_or(0),
                reverse,
                loc: t.loc().clone(),
            });
        }
        out
    }

    fn track_refs(&mut self, s: &Stmt, min: i64, max: i64) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for t in self.block(s) {
            self.no_block(t);
            let (weight, reverse, noreverse) = self.track_list_weight3(t, min, max);
            out.push(TrackRef {
                name: t.keyword().text.to_owned(),
                weight,
                reverse,
                noreverse,
                loc: t.loc().clone(),
            });
        }
        out
    }

    /// A notify script keyword (`notify`, `notify_master`, ...) into its slot of `n`: `false`
    /// for any other keyword. One `match` picks the slot (the list was compared twice).
    fn notify_into(&mut self, s: &Stmt, n: &mut Notify) -> R<bool> {
        let slot = match s.keyword().text {
            "notify" => &mut n.any,
            "notify_master" => &mut n.master,
            "notify_backup" => &mut n.backup,
            "notify_fault" => &mut n.fault,
            "notify_stop" => &mut n.stop,
            "notify_deleted" => {
                n.report_deleted = true;
                if s.args().is_empty() {
                    n.deleted = None;
                    return Ok(true);
                }
                &mut n.deleted
            }
            "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
            _ => return Ok(false),
        };
        *slot = Some(self.notify_script(s)?);
        Ok(true)
    }

    // Long: one arm per vrrp_instance keyword of keepalived's table, kept together.
    fn instance(&mut self, s: &Stmt, g: &GlobalDefs) -> R<VrrpInstance> {
        let Some(name) = s.args().first() else {
            self.err(
                s.loc(),
                "vrrp_instance: expected a name (vrrp_instance NAME { ... })",
            );
            return Err(());
        };
        if let Some(x) = s.args().get(1) {
            self.warn(
                &x.loc,
                format!(
                    "vrrp_instance: unexpected '{}' after the name (ignored)",
                    x.text
                ),
            );
        }
        let body = self.block(s);
        let diags_before = self.diags.len();
        let mut state = InitialState::Backup;
        let mut state_given = false;
        let mut interface = None;
        let mut vrid: Option<(u8, Location)> = None;
        let mut priority: Option<u8> = None;
        let mut advert: Option<(Duration, Location)> = None;
        let mut version: Option<(Version, Location)> = None;
        let mut preempt = true;
        let mut preempt_delay = Duration::ZERO;
        let mut accept: Option<bool> = None;
        let mut vips = Vec::new();
        let mut evips = Vec::new();
        // Where each address is in `vips` / `evips` (push_unique_address).
        let (mut vip_index, mut evip_index) = (BTreeMap::new(), BTreeMap::new());
        let mut routes = Vec::new();
        let mut rules = Vec::new();
        let mut unicast_src_ip = None;
        let mut mcast_src_ip = None;
        let mut mcast_dst_ip = None;
        let mut peers = Vec::new();
        let mut unicast_ttl = None;
        let mut auth = None;
        let mut track_if = Vec::new();
        let mut track_sc = Vec::new();
        let mut track_fi = Vec::new();
        let mut track_pr = Vec::new();
        let mut notify = Notify::default();
        let mut smtp_alert = None;
        let mut garp = Garp {
            master_delay: g.vrrp_garp_master_delay,
            master_repeat: g.vrrp_garp_master_repeat,
            master_refresh: g.vrrp_garp_master_refresh,
            master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
            lower_prio_delay: g
                .vrrp_garp_lower_prio_delay
                .unwrap_or(g.vrrp_garp_master_delay),
            lower_prio_repeat: g
                .vrrp_garp_lower_prio_repeat
                .unwrap_or(g.vrrp_garp_master_repeat),
            extra_if: g.vrrp_garp_extra_if,
        };
        // keepalived (vrrp.c, vrrp_complete_instance): an instance's lower-priority garp delay
        // and repeat default to the *global* ones, not to its own garp_master_delay/_repeat
        // (found by the dump differential).
        let mut lower_prio_delay_set = false;
        let mut lower_prio_repeat_set = false;
        let mut use_vmac = None;
        let mut vmac_xmit_base = false;
        let mut use_vmac_addr = false;
        let mut lower_prio_no_advert = None;
        let mut higher_prio_send_advert = g.vrrp_higher_prio_send_advert;
        // Whether the instance says so itself: strict mode refuses only that; the global
        // default is cleared by strict mode silently (keepalived 2.2.7, vrrp.c).
        let mut higher_prio_set = false;
        let mut dont_track_primary = false;
        let mut skip_check_adv_addr = g.vrrp_skip_check_adv_addr;
        let mut strict_mode = g.vrrp_strict;
        let mut check_unicast_src = g.vrrp_check_unicast_src;
        let mut v3_checksum_as_v2 = g.v3_checksum_as_v2;
        let mut no_virtual_ipaddress: Option<Location> = None;
        let mut native_ipv6: Option<Location> = None;
        let mut unicast_checksum = UnicastChecksum::Auto;
        let mut down_timer_adverts = g.vrrp_down_timer_adverts;
        let mut promote_secondaries = false;
        let mut notify_priority_changes = g.vrrp_notify_priority_changes;
        let mut unicast_keyword = false;
        let mut unicast_fault_no_peer = false;
        for st in body {
            if !self.admit(Section::VrrpInstance, st) {
                continue;
            }
            let kw = st.keyword().text;
            // `no_block` says something only about a statement with a block: the list of the
            // keywords that take one is compared for those only.
            if st.block.is_some()
                && !matches!(
                    kw,
                    "virtual_ipaddress"
                        | "virtual_ipaddress_excluded"
                        | "virtual_routes"
                        | "unicast_peer"
                        | "authentication"
                        | "track_interface"
                        | "track_script"
                        | "track_file"
                        | "track_process"
                        | "track_bfd"
                        | "virtual_rules"
                )
            {
                self.no_block(st);
            }
            // keepalived 2.2.7 vrrp_parser.c: `unicast_peer`, `unicast_src_ip`,
            // `check_unicast_src`, `old_unicast_checksum` and `unicast_fault_no_peer` set
            // VRRP_FLAG_UNICAST_CONFIGURED: `unicast_keyword`, set first in their arms below.
            let _ = (|| -> R<()> {
                match kw {
                    // The notify scripts first: three or more lines of most instances, the
                    // last arms before (the `starts_with` arm below still takes any other).
                    "notify"
                    | "notify_master"
                    | "notify_backup"
                    | "notify_fault"
                    | "notify_stop"
                    | "notify_deleted"
                    | "notify_master_rx_lower_pri" => {
                        if !self.notify_into(st, &mut notify)? {
                            self.unknown(st, "vrrp_instance");
                        }
                    }
                    "state" => {
                        let t = self.one(st)?;
                        state_given = true;
                        state = match t.text {
                            "MASTER" => InitialState::Master,
                            "BACKUP" => InitialState::Backup,
                            other => {
                                self.err(
                                    &t.loc,
                                    format!("state: expected MASTER or BACKUP, found '{other}'"),
                                );
                                return Err(());
                            }
                        }
                    }
                    "interface" => interface = Some(self.string(st)?),
                    "lvs_sync_daemon_interface" => {
                        self.lvs_sync_daemon_interface(st, name.text, g)?
                    }
                    "virtual_router_id" => {
                        let v = self.int(st, 1, 255)?;
                        vrid = Some((u8::try_from(v).unwrap_or(1), st.loc().clone()));
                    }
                    "priority" => {
                        priority = Some(u8::try_from(self.int(st, 1, 255)?).unwrap_or(100))
                    }
                    "advert_int" => {
                        let d =
                            self.timer(st, Duration::from_millis(10), Duration::from_secs(255))?;
                        advert = Some((d, st.loc().clone()));
                    }
                    "version" => {
                        let v = if self.int(st, 2, 3)? == 2 {
                            Version::V2
                        } else {
                            Version::V3
                        };
                        version = Some((v, st.loc().clone()));
                    }
                    "nopreempt" => preempt = false,
                    "preempt" => preempt = true,
                    "preempt_delay" => {
                        preempt_delay = self.timer(st, Duration::ZERO, Duration::from_secs(1000))?
                    }
                    "accept" => accept = Some(true),
                    "no_accept" => accept = Some(false),
                    "virtual_ipaddress" => {
                        for a in self.block(st) {
                            if let Ok(a) = self.address(a) {
                                self.push_unique_address(
                                    &mut vips,
                                    &mut vip_index,
                                    a,
                                    "virtual_ipaddress",
                                );
                            }
                        }
                    }
                    "virtual_ipaddress_excluded" => {
                        for a in self.block(st) {
                            if let Ok(a) = self.address(a) {
                                self.push_unique_address(
                                    &mut evips,
                                    &mut evip_index,
                                    a,
                                    "virtual_ipaddress_excluded",
                                );
                            }
                        }
                    }
                    "virtual_routes" => {
                        for r in self.block(st) {
                            if let Ok(r) = self.route(r) {
                                self.warn_untracked_route(&r, "virtual");
                                routes.push(r);
                            }
                        }
                    }
                    "virtual_rules" => {
                        for r in self.block(st) {
                            if let Ok(r) = self.rule(r) {
                                rules.push(r);
                            }
                        }
                    }
                    "unicast_src_ip" => {
                        unicast_keyword = true;
                        unicast_src_ip = Some(self.ipv(st)?);
                    }
                    "unicast_fault_no_peer" => {
                        unicast_keyword = true;
                        unicast_fault_no_peer = true;
                    }
                    "mcast_src_ip" => mcast_src_ip = Some(self.ipv(st)?),
                    "mcast_dst_ip" => {
                        let a = self.ipv(st)?;
                        if !a.is_multicast() {
                            self.err(
                                st.loc(),
                                format!("mcast_dst_ip: expected a multicast address, found '{a}'"),
                            );
                            return Err(());
                        }
                        mcast_dst_ip = Some(a);
                    }
                    "unicast_peer" => {
                        unicast_keyword = true;
                        for p in self.block(st) {
                            if let Ok(p) = self.peer(p) {
                                peers.push(p);
                            }
                        }
                    }
                    "unicast_ttl" => {
                        unicast_ttl = Some(u8::try_from(self.int(st, 1, 255)?).unwrap_or(255))
                    }
                    "authentication" => auth = self.auth(st)?,
                    "track_interface" => track_if.extend(self.track_interfaces(st)),
                    "track_script" => track_sc.extend(self.track_refs(st, -253, 253)),
                    "track_file" => track_fi.extend(self.track_refs(st, -254, 254)),
                    "track_process" => track_pr.extend(self.track_refs(st, -254, 254)),
                    "smtp_alert" => smtp_alert = Some(self.flag(st)?),
                    "garp_master_delay" => {
                        garp.master_delay = Duration::from_secs(u64::from(self.u32v(st, 0, 255)?));
                    }
                    "garp_master_repeat" => {
                        garp.master_repeat = self.u32v(st, 1, 255)?;
                    }
                    "garp_lower_prio_delay" => {
                        garp.lower_prio_delay =
                            Duration::from_secs(u64::from(self.u32v(st, 0, 255)?));
                        lower_prio_delay_set = true;
                    }
                    "garp_lower_prio_repeat" => {
                        garp.lower_prio_repeat = self.u32v(st, 0, 255)?;
                        lower_prio_repeat_set = true;
                    }
                    "garp_master_refresh" => {
                        let v = self.u32v(st, 0, u32::MAX)?;
                        garp.master_refresh = (v > 0).then(|| Duration::from_secs(u64::from(v)));
                    }
                    "garp_master_refresh_repeat" => {
                        garp.master_refresh_repeat = self.u32v(st, 1, 255)?
                    }
                    "garp_extra_if" | "vmac_garp_intvl" => garp.extra_if = self.extra_if(st, 0)?,
                    "use_vmac" => {
                        let mut v = Vmac {
                            name: None,
                            mac: None,
                        };
                        for a in st.args() {
                            // A MAC: six octets, or five (the VRID is the sixth, keepalived.conf(5)).
                            let octets: Vec<&str> = a.text.split(':').collect();
                            let is_mac = matches!(octets.len(), 5 | 6)
                                && octets.iter().all(|o| {
                                    !o.is_empty()
                                        && o.len() <= 2
                                        && o.bytes().all(|b| b.is_ascii_hexdigit())
                                });
                            if is_mac {
                                v.mac = Some(a.text.to_string());
                            } else if v.name.is_none() {
                                v.name = Some(a.text.to_string());
                            } else {
                                self.warn(
                                    &a.loc,
                                    format!("use_vmac: unexpected '{}' (ignored)", a.text),
                                );
                            }
                        }
                        use_vmac = Some(v);
                    }
                    "vmac_xmit_base" => vmac_xmit_base = true,
                    "use_vmac_addr" => use_vmac_addr = true,
                    "lower_prio_no_advert" => lower_prio_no_advert = Some(self.flag(st)?),
                    "higher_prio_send_advert" => {
                        higher_prio_send_advert = self.flag(st)?;
                        higher_prio_set = true;
                    }
                    "dont_track_primary" => dont_track_primary = true,
                    "no_virtual_ipaddress" => no_virtual_ipaddress = Some(st.loc().clone()),
                    "native_ipv6" => native_ipv6 = Some(st.loc().clone()),
                    "skip_check_adv_addr" => skip_check_adv_addr = self.flag(st)?,
                    "strict_mode" => strict_mode = self.flag(st)?,
                    "check_unicast_src" => {
                        unicast_keyword = true;
                        check_unicast_src = self.flag(st)?;
                    }
                    "v3_checksum_as_v2" => v3_checksum_as_v2 = self.flag(st)?,
                    "old_unicast_checksum" => {
                        unicast_keyword = true;
                        unicast_checksum = match st.args().first().map(|t| t.text) {
                            None => UnicastChecksum::Old,
                            Some("never") => UnicastChecksum::Never,
                            Some(other) => {
                                self.err(&st.args()[0].loc, format!("old_unicast_checksum: expected nothing or 'never', found '{other}'"));
                                return Err(());
                            }
                        }
                    }
                    "down_timer_adverts" => down_timer_adverts = self.u32v(st, 1, 100)?,
                    "promote_secondaries" => promote_secondaries = true,
                    "notify_priority_changes" => notify_priority_changes = self.flag(st)?,
                    k if k.starts_with("notify") => {
                        if !self.notify_into(st, &mut notify)? {
                            self.unknown(st, "vrrp_instance");
                        }
                    }
                    _ => self.unknown(st, "vrrp_instance"),
                }
                Ok(())
            })();
        }
        if self.errors_since(diags_before) {
            return Err(());
        }
        let Some((vrid, _vrid_loc)) = vrid else {
            self.err(
                s.loc(),
                format!("vrrp_instance {}: expected 'virtual_router_id' (1..=255): the virtual router id must be set", name.text),
            );
            return Err(());
        };
        if self.errors_since(diags_before) {
            return Err(());
        }
        // Address family: from the virtual addresses, all of one family.
        let mut family: Option<(Family, &Location)> = None;
        let mut mixed = false;
        for a in vips.iter() {
            let f = if a.address.addr.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            match family {
                None => family = Some((f, &a.loc)),
                Some((f0, loc0)) if f0 != f => {
                    let msg = format!(
                        "vrrp_instance {}: address {} is {} but the instance is {} (from the address at {}): one address family per instance",
                        name.text,
                        a.address.addr,
                        fam_name(f),
                        fam_name(f0),
                        loc0
                    );
                    self.diags.push(Diagnostic::error(&a.loc, msg));
                    mixed = true;
                }
                _ => {}
            }
        }
        if mixed {
            return Err(());
        }
        // keepalived.conf(5) `native_ipv6`: the instance is IPv6 (VRRPv3) even without IPv6
        // virtual addresses; with IPv4 ones it is an error (vrrp_parser.c,
        // vrrp_native_ipv6_handler).
        if let Some(loc) = &native_ipv6 {
            if let Some((Family::V4, at)) = family {
                let msg = format!(
                    "vrrp_instance {}: native_ipv6 with IPv4 virtual addresses (from the address at {at}): one address family per instance",
                    name.text
                );
                self.diags.push(Diagnostic::error(loc, msg));
                return Err(());
            }
            family = Some((Family::V6, loc));
        }
        // Without virtual addresses: the unicast peers' family, else IPv4 (keepalived).
        let family = family
            .map(|(f, _)| f)
            .unwrap_or_else(|| match peers.first() {
                Some(UnicastPeer {
                    addr: IpAddr::V6(_),
                    ..
                }) => Family::V6,
                _ => Family::V4,
            });
        // keepalived.conf(5) `no_virtual_ipaddress` (keepalived 2.2.8+): an instance with no
        // virtual addresses (cloud floating addresses moved by notify scripts). Without it,
        // keepalived runs a VRRPv2 IPv4 instance with none (a warning), and refuses VRRPv3,
        // IPv6 and strict mode (RFC 5798 section 5.2.5: at least one address).
        let mut allow_no_vips = no_virtual_ipaddress.is_some();
        if let (Some(loc), true) = (&no_virtual_ipaddress, strict_mode) {
            self.warn(
                loc,
                format!("vrrp_instance {}: no_virtual_ipaddress and strict mode are incompatible (keepalived clears no_virtual_ipaddress)", name.text),
            );
            allow_no_vips = false;
        }
        if vips.is_empty() && !allow_no_vips {
            let v3 = family == Family::V6
                || version.as_ref().map(|v| v.0).unwrap_or(g.vrrp_version) == Version::V3;
            if v3 || strict_mode {
                self.err(
                    s.loc(),
                    format!(
                        "vrrp_instance {}: no virtual_ipaddress: VRRPv3 and strict mode need at least one (RFC 5798 section 5.2.5); add no_virtual_ipaddress to run without (keepalived 2.2.8+)",
                        name.text
                    ),
                );
                return Err(());
            }
            self.warn(
                s.loc(),
                format!(
                    "vrrp_instance {}: no virtual_ipaddress (at least one is sensible; no_virtual_ipaddress says it is meant)",
                    name.text
                ),
            );
        }
        let mut version_v = version.as_ref().map(|v| v.0).unwrap_or(g.vrrp_version);
        if family == Family::V6 && version_v == Version::V2 {
            let loc = version.as_ref().map(|v| &v.1).unwrap_or(s.loc()).clone();
            self.notice(
                &loc,
                format!(
                    "vrrp_instance {}: IPv6 needs VRRPv3: using version 3",
                    name.text
                ),
            );
            version_v = Version::V3;
        }
        let mut advert_int = advert
            .as_ref()
            .map(|a| a.0)
            .unwrap_or(Duration::from_secs(1));
        if let Some((d, loc)) = &advert {
            match version_v {
                Version::V3 => {
                    let max = Duration::from_millis(40_950);
                    if *d > max {
                        self.err(
                            loc,
                            format!("advert_int: VRRPv3 intervals are 0.01..=40.95 s (centiseconds 1..=4095), found {}", values::secs_str(*d)),
                        );
                        return Err(());
                    }
                    let cs = (d.as_nanos() + 5_000_000) / 10_000_000;
                    let rounded = Duration::from_millis(u64::try_from(cs).unwrap_or(1).max(1) * 10);
                    if rounded != *d {
                        self.warn(
                            loc,
                            format!("advert_int: VRRPv3 intervals are whole centiseconds: {} rounded to {}", values::secs_str(*d), values::secs_str(rounded)),
                        );
                    }
                    advert_int = rounded;
                }
                Version::V2 => {
                    if d.subsec_nanos() != 0 {
                        let secs = ((d.as_nanos() + 500_000_000) / 1_000_000_000).max(1);
                        let rounded = Duration::from_secs(u64::try_from(secs).unwrap_or(1));
                        self.warn(
                            loc,
                            format!(
                                "advert_int: VRRPv2 intervals are whole seconds: {} rounded to {}",
                                values::secs_str(*d),
                                values::secs_str(rounded)
                            ),
                        );
                        advert_int = rounded;
                    }
                }
            }
        }
        if version_v == Version::V3 {
            if let Some(a) = &auth {
                let _ = a;
                self.warn(
                    s.loc(),
                    format!(
                        "vrrp_instance {}: authentication is VRRPv2 only: ignored for version 3",
                        name.text
                    ),
                );
                auth = None;
            }
        }
        // keepalived 2.2.7's order (vrrp.c, vrrp_complete_instance): no priority -> derived from
        // the state; no state -> derived from the priority (the owner wants MASTER).
        let priority = priority.unwrap_or(match state {
            InitialState::Master => 255,
            InitialState::Backup => 100,
        });
        if !state_given && priority == 255 {
            state = InitialState::Master;
        }
        if state == InitialState::Master
            && priority != 255
            && matches!(&auth, Some(a) if a.kind == AuthType::Ah)
        {
            self.warn(
                s.loc(),
                format!("vrrp_instance {}: state MASTER is incompatible with AH authentication: starting as BACKUP", name.text),
            );
            state = InitialState::Backup;
        }
        if state == InitialState::Master {
            // keepalived 2.2.7 (vrrp.c, vrrp_complete_instance): an instance that starts wanting
            // MASTER must be able to take over, so both hold-offs are cleared with a warning.
            if !preempt {
                self.warn(
                    s.loc(),
                    format!("vrrp_instance {}: nopreempt will not work with initial state MASTER: cleared", name.text),
                );
                preempt = true;
            }
            if !preempt_delay.is_zero() {
                self.warn(
                    s.loc(),
                    format!("vrrp_instance {}: preempt_delay will not work with initial state MASTER: cleared", name.text),
                );
                preempt_delay = Duration::ZERO;
            }
        }
        if unicast_keyword && peers.is_empty() && !unicast_fault_no_peer {
            // keepalived 2.2.7 (vrrp.c, vrrp_complete_instance): multicast, with a deprecation
            // warning; with unicast_fault_no_peer the instance stays in FAULT (from_conf.rs).
            self.warn(
                s.loc(),
                format!("vrrp_instance {}: a unicast keyword is given without any unicast_peer: running over multicast (deprecated since keepalived 2.2.5; add unicast_fault_no_peer to stay in FAULT instead)", name.text),
            );
        }
        if interface.is_none() && peers.is_empty() {
            self.err(
                s.loc(),
                format!("vrrp_instance {}: expected 'interface' (it may only be omitted with unicast_peer)", name.text),
            );
            return Err(());
        }
        if strict_mode {
            // keepalived.conf(5) vrrp_strict, as keepalived 2.2.7 applies it (vrrp.c,
            // vrrp_complete_instance): what it refuses is an error here (keepalived resets the
            // value and fails `-t`); the defaults it changes are changed the same way.
            let n = &name.text;
            let mut refused: Vec<String> = Vec::new();
            let mut refuse = |what: String| refused.push(what);
            if !peers.is_empty() {
                refuse("unicast peers are not supported in strict mode".into());
            }
            if vips.is_empty() {
                refuse("at least one virtual_ipaddress is required".into());
            }
            if (state == InitialState::Master) != (priority == 255) {
                refuse("state MASTER must match being the address owner (priority 255)".into());
            }
            if auth.is_some() {
                refuse("authentication is not supported".into());
            }
            if !preempt_delay.is_zero() {
                refuse("preempt_delay is not supported".into());
            }
            if down_timer_adverts != crate::setup::DEFAULT_DOWN_TIMER_ADVERTS {
                refuse("down_timer_adverts must stay 3".into());
            }
            if version_v == Version::V2 && accept == Some(true) {
                refuse("accept cannot be set for VRRPv2".into());
            }
            if lower_prio_no_advert == Some(false) {
                refuse("lower_prio_no_advert cannot be cleared".into());
            }
            if higher_prio_send_advert && higher_prio_set {
                refuse("higher_prio_send_advert cannot be set".into());
            }
            higher_prio_send_advert = false;
            if vmac_xmit_base {
                refuse("vmac_xmit_base cannot be used".into());
            }
            if (lower_prio_repeat_set && garp.lower_prio_repeat != 0)
                || (lower_prio_delay_set && !garp.lower_prio_delay.is_zero())
            {
                refuse("gratuitous ARP repeats at a lower priority (garp_lower_prio_repeat / garp_lower_prio_delay) cannot be enabled".into());
            }
            if !lower_prio_repeat_set {
                garp.lower_prio_repeat = 0;
            }
            if !lower_prio_delay_set {
                garp.lower_prio_delay = Duration::ZERO;
            }
            if let Some(first) = vips.first() {
                if let IpAddr::V6(v6) = first.address.addr {
                    if v6.segments()[0] & 0xffc0 != 0xfe80 && peers.is_empty() {
                        self.warn(
                            s.loc(),
                            format!("vrrp_instance {n}: vrrp_strict: the first IPv6 virtual address should be link-local (keepalived reports it and runs)"),
                        );
                    }
                }
            }
            if !refused.is_empty() {
                for what in refused {
                    self.err(
                        s.loc(),
                        format!("vrrp_instance {n}: vrrp_strict / strict_mode: {what}"),
                    );
                }
                return Err(());
            }
        }
        Ok(VrrpInstance {
            name: name.text.to_owned(),
            state,
            interface,
            vrid,
            priority,
            advert_int,
            version: version_v,
            family,
            preempt,
            preempt_delay,
            accept: accept.unwrap_or(!strict_mode || priority == 255),
            virtual_addresses: vips,
            excluded_addresses: evips,
            virtual_routes: routes,
            virtual_rules: rules,
            unicast_src_ip,
            mcast_src_ip,
            mcast_dst_ip,
            unicast_peers: peers,
            unicast_ttl,
            unicast_keyword,
            unicast_fault_no_peer,
            authentication: auth,
            track_interfaces: track_if,
            track_scripts: track_sc,
            track_files: track_fi,
            track_processes: track_pr,
            notify,
            // keepalived (vrrp.c): the instance's, else smtp_alert_vrrp, else smtp_alert.
            smtp_alert: smtp_alert
                .or(g.smtp_alert_vrrp)
                .or(g.smtp_alert)
                .unwrap_or(false),
            garp,
            use_vmac,
            vmac_xmit_base,
            use_vmac_addr,
            lower_prio_no_advert: lower_prio_no_advert
                .unwrap_or(g.vrrp_lower_prio_no_advert || strict_mode),
            higher_prio_send_advert,
            dont_track_primary,
            skip_check_adv_addr,
            strict_mode,
            check_unicast_src,
            v3_checksum_as_v2,
            unicast_checksum,
            down_timer_adverts,
            promote_secondaries,
            notify_priority_changes,
            sync_group: None,
            loc: s.loc().clone(),
        })
    }

    /// Whether an error was reported after the first `since` diagnostics. Diagnostics are only
    /// appended while the sections are read, so only the new ones are looked at: counting every
    /// error of the file again for each instance made a file of many instances with many
    /// errors quadratic (a 1.7 KB `config` fuzz input, ~SEQ and include, took 1.8 s in the fuzz
    /// build, 92 % of it in that count; 2026-12-05).
    fn errors_since(&self, since: usize) -> bool {
        self.diags
            .get(since..)
            .is_some_and(|new| new.iter().any(|d| d.severity == super::Severity::Error))
    }

    fn peer(&mut self, s: &Stmt) -> R<UnicastPeer> {
        self.no_block(s);
        let r = values::ip(s.keyword().text, "unicast_peer");
        let addr = self.check(s.loc(), r)?;
        let mut p = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        };
        let args = s.args();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            match (a.text, args.get(i + 1)) {
                ("min_ttl", Some(v)) | ("max_ttl", Some(v)) => {
                    let x = values::int_in(v.text, 0, 255, a.text);
                    let n = u8::try_from(self.check(&v.loc, x)?).ok();
                    if a.text == "min_ttl" {
                        p.min_ttl = n;
                    } else {
                        p.max_ttl = n;
                    }
                    i += 2;
                }
                (other, _) => {
                    self.err(
                        &a.loc,
                        format!("unicast_peer: expected 'min_ttl N' or 'max_ttl N' after the address, found '{other}' (one peer per line)"),
                    );
                    return Err(());
                }
            }
        }
        Ok(p)
    }

    fn auth(&mut self, s: &Stmt) -> R<Option<Authentication>> {
        let mut kind = None;
        let mut pass = None;
        for st in self.block(s) {
            if !self.admit(Section::Authentication, st) {
                continue;
            }
            self.no_block(st);
            match st.keyword().text {
                "auth_type" => {
                    let t = self.one(st)?;
                    kind = Some(match t.text {
                        "PASS" => AuthType::Pass,
                        "AH" => AuthType::Ah,
                        other => {
                            self.err(
                                &t.loc,
                                format!("auth_type: expected PASS or AH, found '{other}'"),
                            );
                            return Err(());
                        }
                    });
                }
                "auth_pass" => {
                    let t = self.one(st)?;
                    let mut p = t.text.to_string();
                    if p.len() > 8 {
                        self.warn(
                            &t.loc,
                            "auth_pass: longer than 8 characters: truncated to 8",
                        );
                        let mut cut = 8;
                        while !p.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        p.truncate(cut);
                    }
                    pass = Some(p);
                }
                _ => self.unknown(st, "authentication"),
            }
        }
        match (kind, pass) {
            (Some(kind), password) => Ok(Some(Authentication {
                kind,
                password: password.unwrap_or_default(),
            })),
            (None, Some(_)) => {
                self.err(s.loc(), "authentication: expected 'auth_type PASS|AH'");
                Err(())
            }
            (None, None) => Ok(None),
        }
    }

    fn sync_group(&mut self, s: &Stmt, global: &GlobalDefs) -> R<SyncGroup> {
        let Some(name) = s.args().first() else {
            self.err(
                s.loc(),
                "vrrp_sync_group: expected a name (vrrp_sync_group NAME { group { ... } })",
            );
            return Err(());
        };
        let mut g = SyncGroup {
            name: name.text.to_string(),
            members: Vec::new(),
            notify: Notify::default(),
            // keepalived (vrrp.c): the group's, else smtp_alert_vrrp, else smtp_alert.
            smtp_alert: global
                .smtp_alert_vrrp
                .or(global.smtp_alert)
                .unwrap_or(false),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            tracking_weight: false,
            loc: s.loc().clone(),
        };
        let mut have_group = false;
        for st in self.block(s) {
            if !self.admit(Section::VrrpSyncGroup, st) {
                continue;
            }
            let kw = st.keyword().text;
            let _ = (|| -> R<()> {
                match kw {
                    "group" => {
                        have_group = true;
                        for m in self.block(st) {
                            g.members.extend(m.words.iter().map(|t| t.text.to_string()));
                        }
                    }
                    "track_interface" => g.track_interfaces.extend(self.track_interfaces(st)),
                    "track_script" => g.track_scripts.extend(self.track_refs(st, -253, 253)),
                    "track_file" => g.track_files.extend(self.track_refs(st, -254, 254)),
                    "track_process" => g.track_processes.extend(self.track_refs(st, -254, 254)),
                    "smtp_alert" => g.smtp_alert = self.flag(st)?,
                    "sync_group_tracking_weight" => g.tracking_weight = true,
                    "global_tracking" => {
                        self.notice(
                            st.loc(),
                            "global_tracking is deprecated: use sync_group_tracking_weight",
                        );
                        g.tracking_weight = true;
                    }
                    // keepalived has neither in a sync group.
                    "notify_deleted" | "notify_master_rx_lower_pri" => {
                        self.unknown(st, "vrrp_sync_group")
                    }
                    k if k.starts_with("notify") => {
                        if !self.notify_into(st, &mut g.notify)? {
                            self.unknown(st, "vrrp_sync_group");
                        }
                    }
                    _ => self.unknown(st, "vrrp_sync_group"),
                }
                Ok(())
            })();
        }
        if !have_group {
            self.warn(
                s.loc(),
                format!("vrrp_sync_group {}: expected a 'group {{ INSTANCE ... }}' block: the group has no members", g.name),
            );
        }
        Ok(g)
    }

    fn script(&mut self, s: &Stmt) -> R<VrrpScript> {
        let Some(name) = s.args().first() else {
            self.err(
                s.loc(),
                "vrrp_script: expected a name (vrrp_script NAME { ... })",
            );
            return Err(());
        };
        let mut script = None;
        let mut interval = Duration::from_secs(1);
        let mut timeout = None;
        let mut weight = 0;
        let mut reverse = false;
        let mut rise = 1;
        let mut fall = 1;
        let mut run_as = None;
        let mut init_fail = false;
        let long = Duration::from_secs(u64::from(u32::MAX));
        for st in self.block(s) {
            if !self.admit(Section::VrrpScript, st) {
                continue;
            }
            self.no_block(st);
            let kw = st.keyword().text;
            let _ = (|| -> R<()> {
                match kw {
                    "script" => {
                        let args = st.args();
                        if args.is_empty() {
                            self.err(st.loc(), "script: expected a command");
                            return Err(());
                        }
                        let command = args.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
                        // One word: split as a command; several: each word an argument.
                        let words = (args.len() > 1)
                            .then(|| args.iter().map(|t| t.text.to_string()).collect());
                        script = Some(Script {
                            command,
                            words,
                            run_as: None,
                            loc: args[0].loc.clone(),
                        });
                    }
                    "interval" => interval = self.timer(st, Duration::from_millis(1), long)?,
                    "timeout" => timeout = Some(self.timer(st, Duration::from_millis(1), long)?),
                    "weight" => {
                        let (w, r) = self.track_list_weight_from(st)?;
                        weight = w;
                        reverse = r;
                    }
                    "rise" => rise = self.u32v(st, 1, u32::MAX)?,
                    "fall" => fall = self.u32v(st, 1, u32::MAX)?,
                    "user" => {
                        run_as = self.run_as(st.args(), "user");
                        if run_as.is_none() {
                            self.err(st.loc(), "user: expected a user name [and a group]");
                        }
                    }
                    "init_fail" => init_fail = true,
                    _ => self.unknown(st, "vrrp_script"),
                }
                Ok(())
            })();
        }
        let Some(mut script) = script else {
            self.warn(
                s.loc(),
                format!(
                    "vrrp_script {}: no 'script' command: the check is removed",
                    name.text
                ),
            );
            return Err(());
        };
        script.run_as = run_as.clone();
        Ok(VrrpScript {
            name: name.text.to_string(),
            script,
            interval,
            timeout,
            weight,
            reverse,
            rise,
            fall,
            run_as,
            init_fail,
            loc: s.loc().clone(),
        })
    }

    /// `weight N [reverse]` as a statement (vrrp_script, track_file).
    fn track_list_weight_from(&mut self, st: &Stmt) -> R<(i32, bool)> {
        let t = self.one_or_two(st)?;
        let loc = st.args()[0].loc.clone();
        let w = values::int_in(&t, -253, 253, "weight");
        let w = i32::try_from(self.check(&loc, w)?).unwrap_or(0);
        let reverse = match st.args().get(1) {
            None => false,
            Some(r) if r.text == "reverse" => true,
            Some(r) if r.text == "noreverse" || r.text == "no_reverse" => false,
            Some(r) => {
                self.err(
                    &r.loc,
                    format!(
                        "weight: expected 'reverse' after the number, found '{}'",
                        r.text
                    ),
                );
                return Err(());
            }
        };
        Ok((w, reverse))
    }

    fn track_file(&mut self, s: &Stmt) -> R<TrackFile> {
        let Some(name) = s.args().first() else {
            self.err(s.loc(), format!("{}: expected a name", s.keyword().text));
            return Err(());
        };
        let mut file = None;
        let mut weight = 1;
        let mut reverse = false;
        let mut init_file = None;
        for st in self.block(s) {
            if !self.admit(Section::TrackFile, st) {
                continue;
            }
            self.no_block(st);
            let _ = (|| -> R<()> {
                match st.keyword().text {
                    "file" => file = Some(self.string(st)?),
                    "weight" => {
                        let t = self.one_or_two(st)?;
                        let loc = st.args()[0].loc.clone();
                        let w = values::int_in(&t, -2_147_483_647, 2_147_483_647, "weight");
                        weight = i32::try_from(self.check(&loc, w)?).unwrap_or(1);
                        reverse = st.args().get(1).is_some_and(|r| r.text == "reverse");
                    }
                    "init_file" => {
                        let mut v = InitFile {
                            value: 0,
                            overwrite: false,
                        };
                        for a in st.args() {
                            if a.text == "overwrite" {
                                v.overwrite = true;
                            } else {
                                let x = values::int_in(
                                    a.text,
                                    i64::from(i32::MIN),
                                    i64::from(i32::MAX),
                                    "init_file",
                                );
                                v.value = self.check(&a.loc, x)?;
                            }
                        }
                        init_file = Some(v);
                    }
                    _ => self.unknown(st, "vrrp_track_file"),
                }
                Ok(())
            })();
        }
        let Some(file) = file else {
            self.warn(
                s.loc(),
                format!("track_file {}: no 'file': removed", name.text),
            );
            return Err(());
        };
        Ok(TrackFile {
            name: name.text.to_string(),
            file,
            weight,
            reverse,
            init_file,
            loc: s.loc().clone(),
        })
    }
}

/// keepalived's `umask`: a number (hexadecimal with 0x, octal with a leading 0, else decimal)
/// or permission bits `I{R|W|X}{USR|GRP|OTH}` joined by `|`.
fn umask_value(text: &str) -> Result<u32, String> {
    let bad = || {
        format!("umask: expected a number (e.g. 022) or bits such as IWGRP|IWOTH, found '{text}'")
    };
    let first = text.chars().next().ok_or_else(bad)?;
    let v = if first.is_ascii_digit() {
        let r = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            u32::from_str_radix(h, 16)
        } else if text.len() > 1 && text.starts_with('0') {
            u32::from_str_radix(&text[1..], 8)
        } else {
            text.parse()
        };
        r.map_err(|_| bad())?
    } else {
        let mut v = 0;
        for b in text.split('|').map(str::trim) {
            let (perm, who) = b
                .strip_prefix('I')
                .filter(|r| r.len() == 4)
                .map(|r| r.split_at(1))
                .ok_or_else(bad)?;
            let p = match perm {
                "R" => 4,
                "W" => 2,
                "X" => 1,
                _ => return Err(bad()),
            };
            let shift = match who {
                "USR" => 6,
                "GRP" => 3,
                "OTH" => 0,
                _ => return Err(bad()),
            };
            v |= p << shift;
        }
        v
    };
    if v > 0o777 {
        return Err(bad());
    }
    Ok(v)
}

impl Builder {
    /// `vrrp_track_process NAME { ... }`, with keepalived 2.2.7's defaults and checks
    /// (vrrp_parser.c): `quorum` 1..=65535 and not above `quorum_max`; `quorum_max` 0..=65535
    /// (0 alone means "up while none runs"); delays 0.000001..=3600 s; parameters after the
    /// process name, or `param_match`, compare the whole command line.
    fn track_process(&mut self, s: &Stmt) -> R<TrackProcess> {
        use crate::track_process::{ParamMatch, ProcessMatch};
        let Some(name) = s.args().first() else {
            self.err(s.loc(), format!("{}: expected a name", s.keyword().text));
            return Err(());
        };
        let mut matching: Option<ProcessMatch> = None;
        let mut param_match = None;
        let mut full_command = false;
        let mut weight = None;
        let mut reverse = false;
        let mut quorum: Option<(u32, Location)> = None;
        let mut quorum_max: Option<u32> = None;
        let mut fork_delay = Duration::ZERO;
        let mut terminate_delay = Duration::ZERO;
        let delay_range = (Duration::from_micros(1), Duration::from_secs(3600));
        for st in self.block(s) {
            self.no_block(st);
            let _ = (|| -> R<()> {
                match st.keyword().text {
                    "process" => {
                        let words = st.args();
                        let Some(first) = words.first() else {
                            self.err(st.loc(), "process: expected a process name");
                            return Err(());
                        };
                        if matching.is_some() {
                            self.err(st.loc(), "process: set twice in this vrrp_track_process");
                            return Err(());
                        }
                        let mut params = Vec::new();
                        for w in &words[1..] {
                            params.extend_from_slice(w.text.as_bytes());
                            params.push(0);
                        }
                        matching = Some(ProcessMatch {
                            name: first.text.to_string(),
                            full_command: !params.is_empty(),
                            param_match: if params.is_empty() {
                                ParamMatch::None
                            } else {
                                ParamMatch::Exact
                            },
                            params,
                        });
                    }
                    "param_match" => {
                        param_match = Some(match st.args().first().map(|t| t.text) {
                            None => ParamMatch::Exact,
                            Some("initial") => ParamMatch::Initial,
                            Some("partial") => ParamMatch::Partial,
                            Some(other) => {
                                let loc = st.args()[0].loc.clone();
                                self.err(
                                    &loc,
                                    format!("param_match: expected 'initial' or 'partial' (or nothing), found '{other}'"),
                                );
                                return Err(());
                            }
                        });
                    }
                    "full_command" => full_command = true,
                    "weight" => {
                        let t = self.one_or_two(st)?;
                        let loc = st.args()[0].loc.clone();
                        let w = values::int_in(&t, -254, 254, "weight");
                        weight = Some(i32::try_from(self.check(&loc, w)?).unwrap_or(0));
                        reverse = match st.args().get(1) {
                            None => false,
                            Some(r) if r.text == "reverse" => true,
                            Some(r) => {
                                self.err(
                                    &r.loc,
                                    format!(
                                        "weight: expected 'reverse' after the number, found '{}'",
                                        r.text
                                    ),
                                );
                                return Err(());
                            }
                        };
                    }
                    "quorum" => {
                        let q = self.u32v(st, 1, 65535)?;
                        quorum = Some((q, st.loc().clone()));
                    }
                    "quorum_max" => quorum_max = Some(self.u32v(st, 0, 65535)?),
                    "fork_delay" => fork_delay = self.timer(st, delay_range.0, delay_range.1)?,
                    "terminate_delay" => {
                        terminate_delay = self.timer(st, delay_range.0, delay_range.1)?
                    }
                    "delay" => {
                        let d = self.timer(st, delay_range.0, delay_range.1)?;
                        fork_delay = d;
                        terminate_delay = d;
                    }
                    _ => self.unknown(st, "vrrp_track_process"),
                }
                Ok(())
            })();
        }
        let Some(mut matching) = matching else {
            self.err(
                s.loc(),
                format!(
                    "vrrp_track_process {}: no 'process' line (which process to track?)",
                    name.text
                ),
            );
            return Err(());
        };
        if let Some(pm) = param_match {
            matching.param_match = pm;
            matching.full_command = true;
        }
        matching.full_command |= full_command;
        // keepalived: quorum_max 0 alone means quorum 0; a quorum above quorum_max is refused.
        let (quorum, quorum_max) = match (quorum, quorum_max) {
            (None, Some(0)) => (0, 0),
            (q, m) => {
                let q_v = q.as_ref().map_or(1, |(v, _)| *v);
                let m_v = m.unwrap_or(u32::MAX);
                if q_v > m_v {
                    let loc = q.map_or_else(|| s.loc().clone(), |(_, l)| l);
                    self.err(
                        &loc,
                        format!(
                            "vrrp_track_process {}: quorum {q_v} is above quorum_max {m_v}",
                            name.text
                        ),
                    );
                    return Err(());
                }
                (q_v, m_v)
            }
        };
        Ok(TrackProcess {
            name: name.text.to_string(),
            matching,
            weight: weight.unwrap_or(0),
            reverse,
            quorum,
            quorum_max,
            fork_delay,
            terminate_delay,
            loc: s.loc().clone(),
        })
    }
}

fn fam_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// The host prefix length of `addr`'s family (32 or 128).
fn host_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}
