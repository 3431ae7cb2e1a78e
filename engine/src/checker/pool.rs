//! A virtual server's table of servers (keepalived.conf(5): `weight`, `inhibit_on_failure`,
//! `sorry_server`, `sorry_server_inhibit`; keepalived 2.2.7 `ipwrapper.c`).
//!
//! * A real server is **alive** when every one of its checkers is up (a real server without
//!   checkers is always alive).
//! * Its **weight** is its configured `weight` plus what its checkers add (`misc_dynamic`,
//!   FILE_CHECK), clamped to 0..=2^31-1 as IPVS does.
//! * The table holds, for each server, nothing or a weight:
//!   - while the sorry server is in use (quorum lost), real servers are out of the table, or at
//!     weight 0 with `inhibit_on_failure`, and the sorry server is in at weight 1;
//!   - otherwise an alive real server is in at its weight; a dead one is out, or at weight 0
//!     with `inhibit_on_failure` (no new connections, established ones keep their server);
//!     the sorry server is out, or at weight 0 with `sorry_server_inhibit`;
//!   - at shutdown everything leaves.
//!
//! The engine computes the wanted table after every event and emits the differences, so the
//! table it announced always equals what these rules say.

use super::io::TableChange;

/// A real server's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RealState {
    /// Its checkers that are down.
    pub failed: u32,
    /// Every checker up.
    pub alive: bool,
    /// What the table holds for it (as announced).
    pub table: Option<u32>,
}

/// keepalived's `real_weight`: configured weight plus adjustments, clamped to IPVS's range.
pub(super) fn effective_weight(base: u32, adjust: i64) -> u32 {
    let w = i64::from(base).saturating_add(adjust);
    u32::try_from(w.clamp(0, i64::from(i32::MAX))).unwrap_or(0)
}

/// What the table should hold for a real server.
pub(super) fn wanted_real(
    alive: bool,
    inhibit: bool,
    weight: u32,
    sorry_in_use: bool,
    stopping: bool,
) -> Option<u32> {
    if stopping {
        None
    } else if alive && !sorry_in_use {
        Some(weight)
    } else if inhibit {
        Some(0)
    } else {
        None
    }
}

/// What the table should hold for the sorry server (`Some(inhibit)` when configured).
pub(super) fn wanted_sorry(sorry: Option<bool>, in_use: bool, stopping: bool) -> Option<u32> {
    match sorry {
        None => None,
        Some(_) if stopping => None,
        Some(_) if in_use => Some(1),
        Some(true) => Some(0),
        Some(false) => None,
    }
}

/// The change from `have` to `want`, if any.
pub(super) fn change(have: Option<u32>, want: Option<u32>) -> Option<TableChange> {
    match (have, want) {
        (None, Some(w)) => Some(TableChange::Add(w)),
        (Some(_), None) => Some(TableChange::Remove),
        (Some(a), Some(b)) if a != b => Some(TableChange::Weight(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inhibit_on_failure_keeps_a_dead_server_at_weight_zero() {
        assert_eq!(wanted_real(false, true, 5, false, false), Some(0));
        assert_eq!(wanted_real(false, false, 5, false, false), None);
        assert_eq!(wanted_real(true, false, 5, false, false), Some(5));
    }

    #[test]
    fn the_sorry_server_replaces_the_real_servers() {
        assert_eq!(wanted_real(true, false, 5, true, false), None);
        assert_eq!(wanted_real(true, true, 5, true, false), Some(0));
        assert_eq!(wanted_sorry(Some(false), true, false), Some(1));
        assert_eq!(wanted_sorry(Some(false), false, false), None);
        assert_eq!(wanted_sorry(Some(true), false, false), Some(0));
    }

    #[test]
    fn weight_is_clamped_like_ipvs() {
        assert_eq!(effective_weight(3, -10), 0);
        assert_eq!(effective_weight(3, 7), 10);
        assert_eq!(effective_weight(u32::MAX, 1), i32::MAX as u32);
    }

    #[test]
    fn changes() {
        assert_eq!(change(None, Some(2)), Some(TableChange::Add(2)));
        assert_eq!(change(Some(2), Some(0)), Some(TableChange::Weight(0)));
        assert_eq!(change(Some(2), None), Some(TableChange::Remove));
        assert_eq!(change(Some(2), Some(2)), None);
    }
}
