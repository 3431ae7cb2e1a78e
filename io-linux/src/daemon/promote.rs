//! keepalived.conf(5) `promote_secondaries`: with it, the kernel promotes a secondary address
//! of the same subnet to primary when the interface's primary address is removed, instead of
//! removing every secondary with it (virtual addresses in the primary's subnet are
//! secondaries). keepalived 2.2.7 (vrrp_if_config.c, `set_promote_secondaries`) sets
//! `net.ipv4.conf.IFACE.promote_secondaries=1` on the instance's interface when the instance
//! starts, unless it is 1 already, and sets it back to 0 when it stops (`vrrp.c`,
//! `shutdown_vrrp_instances`), only on interfaces where it turned it on. vigild does the same:
//! at start and after a reload for every instance that asks, and at exit.

use tracing::{info, warn};

use super::Daemon;
use crate::vmac::{get_sysctl, set_sysctl};

impl Daemon {
    /// Turn `promote_secondaries` on for the interfaces of the instances that ask for it and
    /// do not have it yet; remember which, to turn them off at exit.
    pub(super) fn promote_secondaries(&mut self) {
        let wanted: Vec<(String, String)> = self
            .engine
            .instances()
            .map(|i| i.config())
            .filter(|c| c.promote_secondaries)
            .map(|c| (c.name.clone(), c.interface.clone()))
            .collect();
        for (inst, iface) in wanted {
            if self.promoted.contains(&iface) {
                continue;
            }
            match get_sysctl(&iface, "promote_secondaries") {
                Some(1) => {}
                Some(_) => match set_sysctl(&iface, "promote_secondaries", 1) {
                    Ok(()) => {
                        info!("({inst}) {iface}: promote_secondaries set");
                        self.promoted.push(iface);
                    }
                    Err(e) => warn!("({inst}) {iface}: cannot set promote_secondaries: {e}"),
                },
                None => warn!("({inst}) {iface}: cannot read promote_secondaries"),
            }
        }
    }

    /// At exit: clear `promote_secondaries` where vigild set it.
    pub(super) fn restore_promote_secondaries(&mut self) {
        for iface in std::mem::take(&mut self.promoted) {
            match set_sysctl(&iface, "promote_secondaries", 0) {
                Ok(()) => info!("{iface}: promote_secondaries cleared"),
                Err(e) => warn!("{iface}: cannot clear promote_secondaries: {e}"),
            }
        }
    }
}
