//! MASTER (RFC 5798 section 6.4.3, RFC 9568 section 6.4.3 / 8.3.2): sending adverts, and what a
//! MASTER does with an advert it accepted (priority 0: answer at once; a higher priority, or an
//! equal one from a greater address: go BACKUP; a lower one: re-announce, keepalived's
//! `garp_lower_prio_repeat`).

#[allow(unused_imports)]
use super::*;

impl Engine {
    pub(super) fn send_advert(&mut self, i: usize, priority: u8) {
        let Some(src) = self.source(i) else {
            return; // a FAULT condition; callers only send when a source exists
        };
        let inst = &mut self.instances[i];
        let dst = match &inst.peers {
            Some(p) => Destination::Unicast(Arc::clone(p)),
            None => Destination::Multicast(inst.cfg.multicast_group()),
        };
        inst.stats.adverts_sent += 1;
        if priority == 0 {
            inst.stats.priority_zero_sent += 1;
        }
        self.actions.push_back(Action::SendAdvert(SendAdvert {
            instance: inst.id,
            iface: inst.iface,
            version: inst.cfg.version,
            vrid: inst.cfg.vrid,
            priority,
            interval: inst.interval,
            addrs: Arc::clone(&inst.advert_addrs),
            auth: inst.cfg.auth,
            checksum: inst.cfg.send_checksum_form(),
            checksum_dst: (inst.old_checksum
                && inst.peers.is_some()
                && inst.cfg.version == Version::V3
                && inst.cfg.family == Family::V4)
                .then(|| inst.cfg.multicast_group()),
            src,
            ttl: inst
                .peers
                .is_some()
                .then_some(inst.cfg.unicast_send_ttl)
                .flatten(),
            dst: dst.clone(),
        }));
    }

    /// RFC 5798 section 6.4.3 (Master), with RFC 9568's answer to a lower priority.
    pub(super) fn master_rx(
        &mut self,
        now: Instant,
        i: usize,
        prio: u8,
        heard: Duration,
        src: IpAddr,
    ) {
        let inst = &self.instances[i];
        if prio == 0 {
            // Another master is leaving: advertise at once so that the backups do not take over,
            // and "Reset the Adver_Timer to Advertisement_Interval" (RFC 5798 section 6.4.3): the
            // next advert is one interval after this one (keepalived resets its timer too). The
            // instance leaves the shared advert grid until it next becomes MASTER; the gaps
            // between its adverts stay exactly one interval.
            self.send_advert(i, inst.priority);
            let inst = &mut self.instances[i];
            inst.set(Timer::Adver, now.saturating_add(inst.cfg.advert_interval));
            return;
        }
        let ours = self.source(i);
        let higher = prio > inst.priority
            || (prio == inst.priority && ours.is_some_and(|o| addr_greater(src, o)));
        if higher {
            if inst.cfg.advert_on_higher_priority {
                // keepalived.conf(5) higher_prio_send_advert: one advert of ours first, so that
                // the other master re-announces (it hears a lower priority).
                self.send_advert(i, inst.priority);
            }
            let inst = &self.instances[i];
            let mai = if inst.cfg.version == Version::V3 {
                heard
            } else {
                inst.cfg.advert_interval
            };
            self.fall_to_backup(now, i, mai);
            self.instances[i].master_addr = Some(src);
        } else {
            self.actions.push_back(Action::LowerPriorityHeard {
                instance: inst.id,
                src,
                priority: prio,
            });
            // One answer per Advertisement_Interval: it is there to make the other MASTER step
            // down now, and one does that; the periodic advert follows within the interval. A
            // backlog of lower-priority adverts (a process that was stopped, a burst of
            // duplicates) must not be answered advert for advert: the answers, each a lower
            // priority for any third MASTER, would be answered in turn (found by the
            // simulator's `stall` fault, an advert-storm between three routers).
            let due = inst
                .answered_at
                .is_none_or(|t| now >= t.saturating_add(inst.cfg.advert_interval));
            if !due {
                return;
            }
            self.instances[i].answered_at = Some(now);
            let inst = &self.instances[i];
            if inst.cfg.advert_on_lower_priority {
                // RFC 9568 section 6.4.3 / keepalived: answer a lower priority at once, so that
                // a healed split brain resolves within a fraction of the interval.
                self.send_advert(i, inst.priority);
            }
            self.announce_lower_priority_heard(now, i);
        }
    }
}

/// `a > b` as unsigned integers in network byte order (RFC 5798 section 6.4.3); addresses of
/// different families never compare greater.
fn addr_greater(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}
