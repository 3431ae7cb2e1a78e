//! The schedule: each instance keeps a table of its timers (`instance::Timer`, one deadline
//! each, `Instance::next_deadline` the earliest) and the engine keeps one heap entry per instance
//! at that deadline, so a runner has exactly one next deadline to wait for
//! ([`Engine::poll_timeout`]). `fire_due` serves whatever timers of an instance fell due:
//! Adver_Timer (RFC 5798 section 6.4.3, on an absolute grid), Master_Down_Timer (section 6.4.2,
//! through the backlog rule of `backlog.rs`), and the announcement timers (`announce.rs`).

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// Whether the next deadline ([`Engine::poll_timeout`]) is a takeover: a BACKUP's
    /// Master_Down_Timer (RFC 5798 section 6.4.2), whose expiry may make it MASTER. A runner
    /// may serve such a deadline more precisely than others (vigild wakes a little early and
    /// waits out the rest on the CPU); the engine still decides at the deadline, the backlog
    /// rule included. False when no timer runs.
    ///
    /// Constant time in the usual cases (a runner asks at every wake-up): no BACKUP at all
    /// (a master), or the heap's top is the takeover; only otherwise are the instances scanned
    /// for one tied with it.
    pub fn next_deadline_is_takeover(&mut self) -> bool {
        let Some(d) = self.poll_timeout() else {
            return false;
        };
        if !self.waits.any_backup() {
            return false;
        }
        // poll_timeout left the heap's top valid: the earliest instance deadline.
        if let Some(&Reverse((when, idx))) = self.heap.peek() {
            let top = &self.instances[idx as usize];
            if when == d && top.state == State::Backup && top.get(Timer::MasterDown) == d {
                return true;
            }
        }
        self.instances
            .iter()
            .any(|i| i.state == State::Backup && i.get(Timer::MasterDown) == d)
    }

    /// Make sure the heap holds an entry no later than the instance's next deadline.
    pub(super) fn schedule(&mut self, i: usize) {
        let inst = &mut self.instances[i];
        let next = inst.next_deadline();
        if next < inst.queued {
            inst.queued = next;
            self.heap.push(Reverse((next, i as u32)));
        }
    }

    /// Schedule every member of `i`'s group (or `i` alone).
    pub(super) fn schedule_with_group(&mut self, i: usize) {
        match self.instances[i].group {
            Some(g) => {
                for k in 0..self.groups[usize::from(g)].members.len() {
                    let m = self.groups[usize::from(g)].members[k] as usize;
                    self.schedule(m);
                }
            }
            None => self.schedule(i),
        }
    }

    pub(super) fn fire_due(&mut self, now: Instant, i: usize) {
        for t in TIMERS {
            let at = self.instances[i].get(t);
            if at > now {
                continue;
            }
            match t {
                Timer::Adver => {
                    self.send_advert(i, self.instances[i].priority);
                    let inst = &mut self.instances[i];
                    // Absolute schedule: the next advert is one interval after the previous
                    // deadline, not after this (possibly late) send; after a stall longer than an
                    // interval, rejoin the grid instead of bursting to catch up, at least one
                    // interval after this send (`next_advert_after`).
                    let mut next = at.saturating_add(inst.cfg.advert_interval);
                    if next <= now {
                        next = next_advert_after(now, inst.cfg.advert_interval, inst.grid_phase);
                    }
                    inst.set(Timer::Adver, next);
                    // The advert's own time, not the (later) time it ran: the next is due one
                    // interval after this point of the advert schedule, so a 3 s interval with
                    // 1 s adverts gives 3 s gaps, as in keepalived, not 4 s.
                    self.announce_extra_if(at, i);
                }
                Timer::MasterDown => {
                    self.instances[i].set(Timer::MasterDown, Instant::MAX);
                    // Read before deciding: adverts waiting or lost in the runner's receive
                    // queue extend the timer once instead (backlog.rs).
                    if self.instances[i].state == State::Backup
                        && !self.extend_master_down(now, i, at)
                    {
                        self.master_down(now, i);
                    }
                }
                Timer::Announce | Timer::AnnounceDelayed | Timer::Refresh => {
                    self.announce_timer_due(t, at, now, i);
                }
            }
        }
    }
}
