//! The "Gratuitous ARP delays" part of `vigild -d`: keepalived 2.2.7's `dump_data_vrrp` prints
//! its list of per-interface announcement gates (`garp_delay_t`) right after the global
//! definitions (vrrp_if.c `dump_garp_delay`), in the order keepalived builds the list:
//! - each `garp_group` block, in file order (vrrp_parser.c `garp_group_handler`); a block with
//!   an `interfaces { }` list is numbered 1, 2, ... (its `aggregation_group`: one more than the
//!   earlier numbered blocks), a block with only `interface IF` is group 0;
//! - then, when `vrrp_garp_interval` or `vrrp_gna_interval` is set, one group 0 per interface
//!   that an instance uses and no `garp_group` names (vrrp_if.c `set_default_garp_delay`): for
//!   each instance in file order, its interface, then the `dev` of its virtual and excluded
//!   addresses; each such interface gets a group of its own.
//!
//! Each group prints its intervals with C's `%g` (an interval the block leaves out is not
//! printed; a group always has one), then its interfaces in the kernel's interface order
//! (keepalived walks its interface list, which it reads from the kernel in index order).
//! keepalived's `GARP next time` / `GNA next time` lines are run-time state (when the gate next
//! opens; zero before the first send) and are not printed.
//!
//! These are the gates the engine runs: [`crate::setup::AnnounceGates::of`] gives an interface
//! its group's intervals, else the global ones, as these groups do.

use core::time::Duration;

use super::{line, DumpEnv};
use crate::conf::Config;

/// One `garp_delay_t` as keepalived lists it.
pub(super) struct Group<'a> {
    /// keepalived's `aggregation_group` (0: not an `interfaces { }` block, or a default).
    pub(super) number: u32,
    /// `garp_interval`.
    pub(super) garp: Option<Duration>,
    /// `gna_interval`.
    pub(super) gna: Option<Duration>,
    /// The interfaces it gates.
    pub(super) interfaces: Vec<&'a str>,
}

/// The groups of `cfg` in keepalived's order (see the module docs).
pub(super) fn groups(cfg: &Config) -> Vec<Group<'_>> {
    let mut out = Vec::new();
    let mut numbered = 0u32;
    for g in &cfg.garp_groups {
        let number = if g.aggregation {
            numbered += 1;
            numbered
        } else {
            0
        };
        out.push(Group {
            number,
            garp: g.garp_interval,
            gna: g.gna_interval,
            interfaces: g.interfaces.iter().map(String::as_str).collect(),
        });
    }
    let global = &cfg.global;
    if global.vrrp_garp_interval.is_zero() && global.vrrp_gna_interval.is_zero() {
        return out;
    }
    let default_if = global.default_interface.as_deref();
    for i in &cfg.instances {
        let Some(own) = i.interface.as_deref().or(default_if) else {
            continue;
        };
        let devs = i
            .virtual_addresses
            .iter()
            .chain(&i.excluded_addresses)
            .map(|a| a.address.dev.as_deref().unwrap_or(own));
        for name in core::iter::once(own).chain(devs) {
            if out.iter().any(|g| g.interfaces.contains(&name)) {
                continue;
            }
            out.push(Group {
                number: 0,
                garp: (!global.vrrp_garp_interval.is_zero()).then_some(global.vrrp_garp_interval),
                gna: (!global.vrrp_gna_interval.is_zero()).then_some(global.vrrp_gna_interval),
                interfaces: vec![name],
            });
        }
    }
    out
}

/// keepalived 2.2.7 `dump_data_vrrp`'s "Gratuitous ARP delays" section (nothing when there is
/// no gate).
pub(super) fn garp_delays(w: &mut String, cfg: &Config, env: &dyn DumpEnv) {
    let groups = groups(cfg);
    if groups.is_empty() {
        return;
    }
    line(w, "------< Gratuitous ARP delays >------");
    for mut g in groups {
        line(w, &format!("------< GARP delay group {} >------", g.number));
        if let Some(d) = g.garp {
            line(w, &format!(" GARP interval = {}", c_g(d.as_secs_f64())));
        }
        if let Some(d) = g.gna {
            line(w, &format!(" GNA interval = {}", c_g(d.as_secs_f64())));
        } else if g.garp.is_none() {
            line(w, " No configuration");
        }
        line(w, " Interfaces");
        // The kernel's order; a name the kernel does not know (yet) after the others.
        g.interfaces
            .sort_by_key(|n| env.ifindex(n).unwrap_or(u32::MAX));
        for n in g.interfaces {
            line(w, &format!("  {n}"));
        }
    }
}

/// C's `%g` (glibc: six significant digits from the correctly rounded value, exponent form
/// below 1e-4 or from 1e6 on, trailing zeros removed).
pub(super) fn c_g(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { v.to_string() };
    }
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&x) {
        let m = strip_zeros(mantissa.to_string());
        let sign = if x < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", x.unsigned_abs());
    }
    let decimals = usize::try_from(5 - x).unwrap_or(0);
    strip_zeros(format!("{v:.decimals$}"))
}

fn strip_zeros(mut t: String) -> String {
    if t.contains('.') {
        while t.ends_with('0') {
            t.pop();
        }
        if t.ends_with('.') {
            t.pop();
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_g_is_glibc_s_percent_g() {
        // Values printed by `printf '%g'` (glibc).
        for (v, want) in [
            (0.1, "0.1"),
            (0.25, "0.25"),
            (0.002, "0.002"),
            (0.000123, "0.000123"),
            (0.00005, "5e-05"),
            (0.000001, "1e-06"),
            (0.000015, "1.5e-05"),
            (1.0, "1"),
            (1.234567, "1.23457"),
            (2147.483647, "2147.48"),
            (0.0, "0"),
        ] {
            assert_eq!(c_g(v), want, "{v}");
        }
    }
}
