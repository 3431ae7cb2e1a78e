//! The IPVS-wide settings of `global_defs` (keepalived.conf(5) "global definitions"):
//! `lvs_flush`, `lvs_flush_on_stop` / `lvs_flush_onstop`, `lvs_timeouts`, `lvs_sync_daemon`,
//! and the deprecated `vrrp_instance` keyword `lvs_sync_daemon_interface`, read as keepalived
//! 2.2.7 reads them (`global_parser.c`: `lvs_flush_handler`, `lvs_flush_on_stop_handler`,
//! `lvs_timeouts`, `lvs_syncd_handler`; `vrrp_parser.c`: `vrrp_lvs_syncd_handler`).
//!
//! Severity, as elsewhere: a malformed value (a number out of range, an address that is not
//! one) is an error at the value; what keepalived ignores with a complaint (a second
//! `lvs_sync_daemon`, an unknown option, the deprecated instance keyword) is a warning there.
//! What the data plane does with them is `crate::dataplane::lvs`; on an nftables host each
//! keyword gets a notice saying what happens there instead ([`nftables_note`]).

use std::net::IpAddr;

use super::super::ast::Stmt;
use super::super::checker_model::{LvsFlushOnStop, LvsSyncDaemon};
use super::super::lexer::Token;
use super::super::model::GlobalDefs;
use super::super::values;
use super::{Builder, R};

/// The `global_defs` keywords this module reads.
pub(super) const GLOBAL_KEYWORDS: &[&str] = &[
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_timeouts",
    "lvs_sync_daemon",
];

/// keepalived's `LVS_MAX_TIMEOUT` (86400 * 31: 31 days).
const LVS_MAX_TIMEOUT: i64 = 86_400 * 31;
/// `IP_VS_IFNAME_MAXLEN` (include/uapi/linux/ip_vs.h): the name and its NUL.
const IFNAME_MAXLEN: usize = 16;
/// keepalived's bound on `maxlen`: 65535 - 20 (IPv4 header) - 8 (UDP header).
const MAXLEN_MAX: i64 = 65535 - 20 - 8;

/// What an nftables host does instead, per keyword (the notice `vigild -t` prints there).
pub(crate) fn nftables_note(kw: &str) -> &'static str {
    match kw {
        "lvs_flush" => "nftables hosts flush nothing at start: vigild's own table is created from nothing and nothing else is touched",
        "lvs_flush_on_stop" | "lvs_flush_onstop" => "nftables hosts delete vigild's own table at stop, always, and nothing else",
        "lvs_timeouts" => "nftables hosts keep conntrack's connection timeouts (the net.netfilter.nf_conntrack_*_timeout sysctls): vigild does not set them",
        _ => "nftables hosts have no IPVS connection sync daemon: conntrackd synchronises conntrack state between directors",
    }
}

impl Builder {
    /// One of [`GLOBAL_KEYWORDS`].
    pub(super) fn lvs_global(&mut self, s: &Stmt, g: &mut GlobalDefs) -> R<()> {
        let kw = s.keyword().text;
        let lvs = &mut g.checker.lvs;
        match kw {
            "lvs_flush" => {
                // keepalived's handler takes no value and reads none.
                if let Some(x) = s.args().first() {
                    self.warn(
                        &x.loc,
                        format!("lvs_flush: unexpected '{}' (ignored)", x.text),
                    );
                }
                lvs.flush = true;
            }
            "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                lvs.flush_on_stop = match s.args().first() {
                    None => LvsFlushOnStop::Full,
                    Some(t) if t.text == "VS" => LvsFlushOnStop::Vs,
                    Some(t) => {
                        self.err(
                            &t.loc,
                            format!(
                                "{kw}: unknown type '{}': expected VS, or nothing for a full flush",
                                t.text
                            ),
                        );
                        return Err(());
                    }
                };
            }
            "lvs_timeouts" => self.lvs_timeouts(s, g)?,
            "lvs_sync_daemon" => self.lvs_sync_daemon(s, g)?,
            _ => self.unknown(s, "global_defs"),
        }
        if self.data_plane == crate::dataplane::Backend::Nftables {
            self.notice(
                s.loc(),
                format!("'{kw}' is for IPVS hosts: {}", nftables_note(kw)),
            );
        }
        Ok(())
    }

    /// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`: at least one option (keepalived checks for
    /// three words); each value 0..=31 days.
    fn lvs_timeouts(&mut self, s: &Stmt, g: &mut GlobalDefs) -> R<()> {
        let args = s.args();
        if args.len() < 2 {
            self.err(
                s.loc(),
                "lvs_timeouts: expected at least one option (tcp N, tcpfin N, udp N)",
            );
            return Err(());
        }
        let mut t = g.checker.lvs.timeouts;
        let mut i = 0;
        while i < args.len() {
            let opt = &args[i];
            let slot = match opt.text {
                "tcp" => &mut t.tcp,
                "tcpfin" => &mut t.tcpfin,
                "udp" => &mut t.udp,
                _ => {
                    self.warn(
                        &opt.loc,
                        format!(
                            "lvs_timeouts: unknown option '{}' (ignored): expected tcp, tcpfin or udp",
                            opt.text
                        ),
                    );
                    i += 1;
                    continue;
                }
            };
            let Some(v) = args.get(i + 1) else {
                self.err(
                    &opt.loc,
                    format!("lvs_timeouts: no value after '{}'", opt.text),
                );
                return Err(());
            };
            let what = format!("lvs_timeouts {}", opt.text);
            let r = values::int_in(v.text, 0, LVS_MAX_TIMEOUT, &what);
            let secs = self.check(&v.loc, r)?;
            *slot = u32::try_from(secs).ok();
            i += 2;
        }
        g.checker.lvs.timeouts = t;
        Ok(())
    }

    /// `lvs_sync_daemon INTERFACE [VRRP_INSTANCE [SYNC_ID]] [inst NAME] [id N] [maxlen N]
    /// [port N] [ttl N] [group IP]` (the positional instance and sync id are keepalived's
    /// older form, still read).
    fn lvs_sync_daemon(&mut self, s: &Stmt, g: &mut GlobalDefs) -> R<()> {
        if let Some(d) = &g.checker.lvs.sync_daemon {
            self.warn(
                s.loc(),
                format!(
                    "lvs_sync_daemon has already been specified as {} {} at {} (this one is ignored)",
                    d.interface,
                    d.instance.as_deref().unwrap_or(""),
                    d.loc
                ),
            );
            return Ok(());
        }
        let args = s.args();
        let Some(ifname) = args.first() else {
            self.err(
                s.loc(),
                "lvs_sync_daemon: expected an interface (lvs_sync_daemon INTERFACE [VRRP_INSTANCE] [id N] ...)",
            );
            return Err(());
        };
        if ifname.text.len() >= IFNAME_MAXLEN {
            self.err(
                &ifname.loc,
                format!(
                    "lvs_sync_daemon: interface name '{}' is too long: at most {} bytes (IP_VS_IFNAME_MAXLEN)",
                    ifname.text,
                    IFNAME_MAXLEN - 1
                ),
            );
            return Err(());
        }
        let mut d = LvsSyncDaemon {
            interface: ifname.text.to_string(),
            instance: None,
            syncid: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
            loc: s.loc().clone(),
        };
        // keepalived's index: 1 is the interface.
        let mut i = 1;
        while i < args.len() {
            let opt = &args[i];
            let value = args.get(i + 1);
            let kw_opt = matches!(
                opt.text,
                "inst" | "id" | "maxlen" | "port" | "ttl" | "group"
            );
            if kw_opt {
                let Some(v) = value else {
                    self.err(
                        &opt.loc,
                        format!("lvs_sync_daemon: no value after '{}'", opt.text),
                    );
                    return Err(());
                };
                self.lvs_sync_option(&mut d, opt, v)?;
                i += 2;
                continue;
            }
            match i {
                // The older positional form: `lvs_sync_daemon IF VRRP_INSTANCE [SYNC_ID]`.
                1 => d.instance = Some(opt.text.to_string()),
                2 => {
                    let r = values::int_in(opt.text, 0, 255, "lvs_sync_daemon sync id");
                    d.syncid = Some(u8::try_from(self.check(&opt.loc, r)?).unwrap_or(0));
                    self.warn(
                        &opt.loc,
                        "lvs_sync_daemon: please write the keyword 'id' before the sync id (read as the sync id)",
                    );
                }
                _ => self.warn(
                    &opt.loc,
                    format!(
                        "lvs_sync_daemon: unknown option '{}' (ignored): expected inst, id, maxlen, port, ttl or group",
                        opt.text
                    ),
                ),
            }
            i += 1;
        }
        g.checker.lvs.sync_daemon = Some(d);
        Ok(())
    }

    /// One `NAME VALUE` option of `lvs_sync_daemon`.
    fn lvs_sync_option(&mut self, d: &mut LvsSyncDaemon, opt: &Token, v: &Token) -> R<()> {
        let int = |b: &mut Builder, lo: i64, hi: i64| -> R<i64> {
            let what = format!("lvs_sync_daemon {}", opt.text);
            let r = values::int_in(v.text, lo, hi, &what);
            b.check(&v.loc, r)
        };
        match opt.text {
            "inst" => {
                if let Some(prev) = &d.instance {
                    self.warn(
                        &opt.loc,
                        format!(
                            "lvs_sync_daemon: the VRRP instance is already {prev} ('inst {}' ignored)",
                            v.text
                        ),
                    );
                } else {
                    d.instance = Some(v.text.to_string());
                }
            }
            "id" => d.syncid = Some(u8::try_from(int(self, 0, 255)?).unwrap_or(0)),
            "maxlen" => d.maxlen = Some(u16::try_from(int(self, 1, MAXLEN_MAX)?).unwrap_or(1)),
            "port" => d.port = Some(u16::try_from(int(self, 1, 65535)?).unwrap_or(1)),
            "ttl" => d.ttl = Some(u8::try_from(int(self, 1, 255)?).unwrap_or(1)),
            _ => {
                let r = values::ip(v.text, "lvs_sync_daemon group");
                let a: IpAddr = self.check(&v.loc, r)?;
                if !a.is_multicast() {
                    self.err(
                        &v.loc,
                        format!("lvs_sync_daemon group: {a} is not a multicast address"),
                    );
                    return Err(());
                }
                d.group = Some(a);
            }
        }
        Ok(())
    }

    /// A `vrrp_instance`'s `lvs_sync_daemon_interface INTERFACE` (deprecated since keepalived
    /// 1.2.19): the sync daemon follows this instance, with sync id 0 (keepalived fills in
    /// the VRID only for a named instance of the global keyword).
    ///
    /// keepalived 2.2.7's VRRP process reads the file in order and both keywords fill the one
    /// `global_data->lvs_syncd`: the first in the file is taken, the later one is ignored with
    /// a complaint (`vrrp_lvs_syncd_handler`, `lvs_syncd_handler`: "has already been specified
    /// ... - ignoring"). Vigil reads every `global_defs` first, so it compares places: a global
    /// `lvs_sync_daemon` in a `global_defs` below this instance loses to it. (keepalived's
    /// checker process never reads the instance keyword, so there the global one stands and,
    /// naming no instance, would start the checker's two daemons as well: two sync daemons
    /// from one file contending for the kernel's one master and one backup. Vigil ignores the
    /// global one on both sides, and says so.)
    pub(super) fn lvs_sync_daemon_interface(
        &mut self,
        s: &Stmt,
        instance: &str,
        g: &GlobalDefs,
    ) -> R<()> {
        let t = self.one(s)?;
        self.warn(
            s.loc(),
            format!(
                "({instance}) lvs_sync_daemon_interface in a vrrp_instance is deprecated: write global_defs lvs_sync_daemon {} {instance} (applied)",
                t.text
            ),
        );
        // The global one counts only when its global_defs is above this instance.
        let global_first = g
            .checker
            .lvs
            .sync_daemon
            .as_ref()
            .filter(|_| self.global_syncd_at.is_some_and(|at| at < self.top_index));
        if let Some(d) = global_first.or(self.instance_syncd.as_ref()) {
            self.warn(
                s.loc(),
                format!(
                    "({instance}) lvs_sync_daemon_interface has already been specified as {} at {} (this one is ignored)",
                    d.interface, d.loc
                ),
            );
            return Ok(());
        }
        if t.text.len() >= IFNAME_MAXLEN {
            self.err(
                &t.loc,
                format!(
                    "lvs_sync_daemon_interface: interface name '{}' is too long: at most {} bytes (IP_VS_IFNAME_MAXLEN)",
                    t.text,
                    IFNAME_MAXLEN - 1
                ),
            );
            return Err(());
        }
        // A global one below this instance is ignored, as keepalived ignores it.
        if let Some(d) = &g.checker.lvs.sync_daemon {
            self.warn(
                &d.loc,
                format!(
                    "lvs_sync_daemon has already been specified as {} {instance} by \
                     lvs_sync_daemon_interface at {} (this one is ignored, also for the \
                     health checkers' sync daemons)",
                    t.text,
                    s.loc()
                ),
            );
        }
        // Put into global_defs when the file is read (`Builder::config`).
        self.instance_syncd = Some(LvsSyncDaemon {
            interface: t.text.to_string(),
            instance: Some(instance.to_string()),
            syncid: Some(0),
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
            loc: s.loc().clone(),
        });
        if self.data_plane == crate::dataplane::Backend::Nftables {
            self.notice(
                s.loc(),
                format!(
                    "'lvs_sync_daemon_interface' is for IPVS hosts: {}",
                    nftables_note("lvs_sync_daemon")
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "lvs_tests.rs"]
mod tests;
