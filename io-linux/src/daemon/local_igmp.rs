//! keepalived.conf(5) `disable_local_igmp` (global_defs): "stops IGMP join etc messages for
//! 224.0.0.0/24, since they should always be forwarded to all interfaces (see RFC4541)".
//! keepalived 2.2.7 (vrrp_daemon.c, `set_disable_local_igmp` / `reset_disable_local_igmp`)
//! does it with one sysctl of the network namespace, `net.ipv4.igmp_link_local_mcast_reports`
//! (Linux 4.3+): at start, if it reads 1, it writes 0; at exit it writes back 1 (only if it
//! changed it). It is not changed by a reload ("Cannot change disable_local_igmp at a reload -
//! please restart"). vigild does the same: the kernel then sends no IGMP membership report
//! for 224.0.0.18 (VRRP's group) nor any other 224.0.0.0/24 group it joins, on any interface
//! of the namespace, while vigild runs.

use tracing::{info, warn};

use super::Daemon;

/// The sysctl keepalived writes.
pub(crate) const IGMP_LINK_LOCAL_MCAST_REPORTS: &str =
    "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// At start, before any VRRP socket joins its group (keepalived does it before it opens its
/// sockets): with `disable_local_igmp`, turn the reports off if they are on, and remember to
/// turn them back on at exit.
pub(super) fn disable_local_igmp(wanted: bool) -> LocalIgmp {
    let mut state = LocalIgmp {
        configured: wanted,
        restore: false,
    };
    if !wanted {
        return state;
    }
    match std::fs::read(IGMP_LINK_LOCAL_MCAST_REPORTS) {
        Ok(v) if v.first() == Some(&b'1') => {
            match std::fs::write(IGMP_LINK_LOCAL_MCAST_REPORTS, b"0") {
                Ok(()) => {
                    info!("disable_local_igmp: net.ipv4.igmp_link_local_mcast_reports set to 0");
                    state.restore = true;
                }
                Err(e) => {
                    warn!("disable_local_igmp: cannot write {IGMP_LINK_LOCAL_MCAST_REPORTS}: {e}")
                }
            }
        }
        Ok(_) => info!("disable_local_igmp: net.ipv4.igmp_link_local_mcast_reports is 0 already"),
        Err(e) => warn!(
            "disable_local_igmp: cannot read {IGMP_LINK_LOCAL_MCAST_REPORTS} (Linux 4.3+): {e}"
        ),
    }
    state
}

impl Daemon {
    /// A reload does not change it (keepalived 2.2.7 `reload_config`): say so when the new
    /// file asks for the other setting.
    pub(super) fn local_igmp_on_reload(&self, wanted: bool) {
        if wanted != self.local_igmp.configured {
            warn!("disable_local_igmp cannot change at a reload: restart vigild to apply it");
        }
    }
}

/// Turn the reports back on if `state` says vigild turned them off.
pub(super) fn restore(state: LocalIgmp) {
    if state.restore {
        match std::fs::write(IGMP_LINK_LOCAL_MCAST_REPORTS, b"1") {
            Ok(()) => {
                info!("disable_local_igmp: net.ipv4.igmp_link_local_mcast_reports set back to 1")
            }
            Err(e) => {
                warn!("disable_local_igmp: cannot write {IGMP_LINK_LOCAL_MCAST_REPORTS}: {e}")
            }
        }
    }
}

/// What `disable_local_igmp` did at start.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LocalIgmp {
    /// The setting vigild started with.
    pub configured: bool,
    /// vigild wrote 0 over a 1: write 1 back at exit.
    pub restore: bool,
}
