//! The process scheduling settings of `global_defs` (keepalived.conf(5): `vrrp_priority`,
//! `vrrp_no_swap`, `vrrp_rt_priority`, `vrrp_cpu_affinity`, `vrrp_rlimit_rttime` and their
//! `checker_` twins), read as keepalived 2.2.7 reads them (core/global_parser.c:
//! `get_priority`, `get_realtime_priority`, `get_cpu_affinity`, `get_rt_rlimit`) into
//! [`ProcessSettings`]; vigild applies them at start-up (io-linux `sys::realtime`).
//!
//! Where keepalived clamps an out-of-range value with a configuration error and goes on, a
//! value out of range is an error here (the daemon does not start with a value it was not
//! given). The deprecated spelling `*_rlimit_rtime` is read with keepalived's notice. vigild is
//! one loop, so `checker_*` settings apply where the `vrrp_*` one is not set; both set and
//! different is reported (a warning: the `vrrp_` one is used).

use super::super::ast::Stmt;
use super::super::model::GlobalDefs;
use super::{Builder, R};

/// The `global_defs` keywords this module reads.
pub(super) const GLOBAL_KEYWORDS: &[&str] = &[
    "vrrp_priority",
    "vrrp_no_swap",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "vrrp_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "checker_priority",
    "checker_no_swap",
    "checker_rt_priority",
    "checker_cpu_affinity",
    "checker_rlimit_rttime",
    "checker_rlimit_rtime",
];

/// The highest CPU number `*_cpu_affinity` takes: glibc's `CPU_SETSIZE` (1024 CPUs), the set
/// keepalived fills.
const CPU_MAX: u32 = 1023;

impl Builder {
    /// One of [`GLOBAL_KEYWORDS`].
    pub(super) fn process_global(&mut self, s: &Stmt, g: &mut GlobalDefs) -> R<()> {
        let kw = s.keyword().text;
        let (p, setting) = match kw.split_once('_') {
            Some(("vrrp", rest)) => (&mut g.vrrp_process, rest),
            Some((_, rest)) => (&mut g.checker_process, rest),
            None => return Ok(()),
        };
        match setting {
            "priority" => {
                p.nice = Some(i32::try_from(self.int(s, -20, 19)?).unwrap_or(0));
            }
            "no_swap" => p.no_swap = true,
            "rt_priority" => {
                p.rt_priority = Some(u32::try_from(self.int(s, 1, 99)?).unwrap_or(1));
            }
            "rlimit_rttime" | "rlimit_rtime" => {
                if setting == "rlimit_rtime" {
                    let new = kw.replace("rlimit_rtime", "rlimit_rttime");
                    self.notice(
                        s.loc(),
                        format!("Keyword '{kw}' is deprecated - please use '{new}'"),
                    );
                }
                let v = self.u32v(s, 1, u32::MAX)?;
                p.rlimit_rttime_us = Some(u64::from(v.max(2)));
            }
            _ => {
                let mut cpus = Vec::new();
                if s.args().is_empty() {
                    self.err(s.loc(), format!("{kw}: expected one or more CPU numbers"));
                    return Err(());
                }
                for a in s.args() {
                    let r = super::super::values::int_in(a.text, 0, i64::from(CPU_MAX), kw);
                    let cpu = self.check(&a.loc, r)?;
                    cpus.push(u32::try_from(cpu).unwrap_or(0));
                }
                cpus.sort_unstable();
                cpus.dedup();
                p.cpu_affinity = Some((cpus, s.loc().clone()));
            }
        }
        Ok(())
    }

    /// After `global_defs`: a `checker_` setting that its `vrrp_` twin overrides is reported
    /// (vigild's one loop takes one value of each).
    pub(super) fn process_overridden(&mut self, body: &[Stmt], g: &GlobalDefs) {
        let (v, c) = (&g.vrrp_process, &g.checker_process);
        let cpus = |p: &super::super::ProcessSettings| p.cpu_affinity.clone().map(|(c, _)| c);
        let differs = |setting: &str| match setting {
            "priority" => both_differ(&v.nice, &c.nice),
            "rt_priority" => both_differ(&v.rt_priority, &c.rt_priority),
            "rlimit_rttime" | "rlimit_rtime" => {
                both_differ(&v.rlimit_rttime_us, &c.rlimit_rttime_us)
            }
            "cpu_affinity" => both_differ(&cpus(v), &cpus(c)),
            _ => false,
        };
        for s in body {
            let kw = s.keyword().text;
            let Some(setting) = kw.strip_prefix("checker_") else {
                continue;
            };
            if GLOBAL_KEYWORDS.contains(&kw) && differs(setting) {
                let twin = format!("vrrp_{setting}");
                self.warn(
                    s.loc(),
                    format!("{kw} differs from {twin}: vigild runs VRRP and the health checkers in one loop, scheduled by {twin} (this line is not applied)"),
                );
            }
        }
    }
}

/// Both set, to different values.
fn both_differ<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x != y)
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
