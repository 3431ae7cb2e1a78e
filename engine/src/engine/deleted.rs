//! Deletion tracking (keepalived 2.x, core/keepalived_netlink.c `set_vrrp_backup`): a virtual
//! address that someone else removes from a MASTER (an operator's `ip addr del`, networkd,
//! netplan) is not silently missing. keepalived's rule, followed here:
//!
//! - only a MASTER reacts (a BACKUP or FAULT instance holds no address), and only for an address
//!   of its own `virtual_ipaddress` that is not marked `no_track`;
//! - the instance leaves MASTER as for a goodbye: priority 0 advert, every address removed,
//!   BACKUP (notify_backup runs), and its Master_Down_Timer set to Skew_Time only ("we want a
//!   quick transition back to master"), so that, unless a peer takes over meanwhile, it is
//!   MASTER again one Skew_Time later with every address put back;
//! - every other MASTER member of its sync group does the same, and the group is BACKUP.
//!
//! The runner reports the deletion ([`crate::Input::AddressDeleted`]) only when it did not make
//! it itself.

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// An address of instance `i` was removed by someone else.
    pub(super) fn address_deleted(&mut self, now: Instant, i: usize, addr: IpAddr) {
        let inst = &self.instances[i];
        if inst.state != State::Master {
            return;
        }
        let tracked = inst
            .cfg
            .virtual_addresses
            .iter()
            .any(|v| v.addr == addr && !v.no_track);
        if !tracked {
            return;
        }
        self.leave_for_deletion(now, i, Reason::AddressDeleted);
    }

    /// A tracked virtual route or rule of instance `i` was deleted by someone else
    /// (keepalived_netlink.c `netlink_route_filter` / `netlink_rule_filter`: a MASTER calls
    /// `set_vrrp_backup`, exactly as for an address). The caller has checked `no_track`.
    pub(super) fn extra_deleted(&mut self, now: Instant, i: usize, reason: Reason) {
        if self.instances[i].state != State::Master {
            return;
        }
        self.leave_for_deletion(now, i, reason);
    }

    /// keepalived's `set_vrrp_backup`: the instance and its MASTER sync-group members withdraw.
    fn leave_for_deletion(&mut self, now: Instant, i: usize, reason: Reason) {
        self.withdraw(now, i, reason);
        if let Some(g) = self.instances[i].group {
            let g = usize::from(g);
            for k in 0..self.groups[g].members.len() {
                let m = self.groups[g].members[k] as usize;
                if self.instances[m].state == State::Master {
                    self.withdraw(now, m, Reason::SyncGroup);
                }
            }
            self.update_group_state(g, i, reason);
        }
        self.schedule_with_group(i);
    }

    /// keepalived's `vrrp_state_leave_master(vrrp, true)` then `ms_down_timer = skew`.
    fn withdraw(&mut self, now: Instant, i: usize, reason: Reason) {
        self.send_advert(i, 0);
        let own = self.instances[i].cfg.advert_interval;
        self.become_backup(now, i, reason, own);
        self.instances[i].skew_down_timer(now);
    }
}
