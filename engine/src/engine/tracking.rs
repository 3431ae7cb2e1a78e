//! Tracking (keepalived.conf(5) `track_interface`, `track_script` / `vrrp_script`,
//! `track_file` / `vrrp_track_file`): check results with rise / fall and the timeout rule, each
//! tracker's verdict (weight or FAULT), the effective priority (RFC 5798 section 5.2.4: 1..=254,
//! the owner's 255 fixed), the conditions for FAULT, and `settle`, which brings an instance in
//! line with them.

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// The seed's MISC_CHECK rule and keepalived's rise / fall: a run longer than the timeout
    /// is a failure whatever its status; `fall` failures in a row take the script down, `rise`
    /// successes in a row bring it up.
    pub(super) fn check_result(
        &mut self,
        now: Instant,
        script: ScriptId,
        result: CheckResult,
        ran_for: Duration,
    ) {
        let Some(s) = self.scripts.get_mut(usize::from(script.0)) else {
            return;
        };
        s.running = false;
        let failed = result != CheckResult::Success || ran_for > s.cfg.timeout;
        let was_up = s.up;
        if failed {
            s.successes = 0;
            s.failures = s.failures.saturating_add(1);
            if s.up && s.failures >= s.cfg.fall.max(1) {
                s.up = false;
            }
        } else {
            s.failures = 0;
            s.successes = s.successes.saturating_add(1);
            if !s.up && s.successes >= s.cfg.rise.max(1) {
                s.up = true;
            }
        }
        if s.up != was_up {
            for k in 0..self.scripts[usize::from(script.0)].watchers.len() {
                let i = self.scripts[usize::from(script.0)].watchers[k] as usize;
                self.settle(now, i);
            }
        }
    }

    /// Whether weights are ignored for this instance: a sync group member without
    /// `sync_group_tracking_weight` treats every tracker as weight 0 (keepalived's code).
    pub(super) fn weights_ignored(&self, i: usize) -> bool {
        self.instances[i]
            .group
            .is_some_and(|g| !self.groups[usize::from(g)].tracking_weight)
    }

    /// One tracker's verdict: `Err(reason)` when it puts the instance in FAULT, else the
    /// priority adjustment.
    pub(super) fn tracker(&self, t: &Tracked, weights_ignored: bool) -> Result<i64, Reason> {
        let weight = if weights_ignored {
            0
        } else {
            i64::from(t.weight)
        };
        let (up, fault_reason) = match t.target {
            TrackedRef::Interface(k) => {
                (self.ifaces[usize::from(k)].up, Reason::TrackedInterfaceDown)
            }
            TrackedRef::Script(k) => (self.scripts[usize::from(k)].up, Reason::TrackerFailed),
            TrackedRef::Process(k) => (self.processes[usize::from(k)].up, Reason::TrackerFailed),
            TrackedRef::File(k) => {
                let value = self.files[usize::from(k)].value;
                if weight == 0 {
                    return if value != 0 {
                        Err(Reason::TrackerFailed)
                    } else {
                        Ok(0)
                    };
                }
                let w = if t.reverse { -weight } else { weight };
                let adj = value.saturating_mul(w);
                // keepalived: a file that pulls the priority down by 254 or more means FAULT.
                return if adj <= -254 {
                    Err(Reason::TrackerFailed)
                } else {
                    Ok(adj)
                };
            }
        };
        let effective_up = up != t.reverse;
        match weight {
            0 if !effective_up => Err(fault_reason),
            w if w > 0 && effective_up => Ok(w),
            w if w < 0 && !effective_up => Ok(w),
            _ => Ok(0),
        }
    }

    /// The effective priority: the configured one plus the trackers' weights, clamped to
    /// 1..=254; the address owner's is always 255 (RFC 5798 section 5.2.4).
    pub(super) fn effective_priority(&self, i: usize) -> u8 {
        let inst = &self.instances[i];
        if inst.is_owner() {
            return OWNER_PRIORITY;
        }
        let ignored = self.weights_ignored(i);
        // Saturating: a tracked file's value times its weight may already be at i64::MAX.
        let adj: i64 = inst
            .tracked
            .iter()
            .map(|t| self.tracker(t, ignored).unwrap_or(0))
            .fold(0, i64::saturating_add);
        i64::from(inst.cfg.priority)
            .saturating_add(adj)
            .clamp(1, 254) as u8
    }

    /// Why the instance cannot run, if it cannot: its configuration (unicast without peers
    /// under `unicast_fault_no_peer`), its link, its source address, its trackers.
    pub(super) fn fault(&self, i: usize) -> Option<Reason> {
        let inst = &self.instances[i];
        if inst.cfg.unicast_no_peers_fault {
            return Some(Reason::NoUnicastPeers);
        }
        let iface = &self.ifaces[usize::from(inst.iface.0)];
        if !iface.up && !inst.cfg.dont_track_primary {
            return Some(Reason::LinkDown);
        }
        if self.source(i).is_none() {
            return Some(Reason::NoSourceAddress);
        }
        let ignored = self.weights_ignored(i);
        inst.tracked
            .iter()
            .find_map(|t| self.tracker(t, ignored).err())
    }

    /// The source address of our adverts: configured, or the interface's primary / link-local.
    pub(super) fn source(&self, i: usize) -> Option<IpAddr> {
        let inst = &self.instances[i];
        inst.cfg
            .source
            .or(self.ifaces[usize::from(inst.iface.0)].primary[family_index(inst.cfg.family)])
    }

    /// An interface changed: settle the instances on it and those tracking it.
    pub(super) fn settle_iface(&mut self, now: Instant, iface: IfaceId) {
        let k = usize::from(iface.0);
        for n in 0..self.ifaces[k].instances.len() {
            let i = self.ifaces[k].instances[n] as usize;
            self.settle(now, i);
        }
        for n in 0..self.ifaces[k].watchers.len() {
            let i = self.ifaces[k].watchers[n] as usize;
            self.settle(now, i);
        }
    }

    /// Bring an instance (and its sync group) in line with its conditions: recompute the
    /// effective priority, then enter or leave FAULT.
    pub(super) fn settle(&mut self, now: Instant, i: usize) {
        let prio = self.effective_priority(i);
        let inst = &mut self.instances[i];
        if prio != inst.priority {
            self.actions.push_back(Action::PriorityChange {
                instance: inst.id,
                from: inst.priority,
                to: prio,
                report: PriorityReport::of(inst.state),
            });
            inst.priority = prio;
            if inst.state == State::Backup {
                inst.rescale_down_timer();
            }
            self.note_wait(i);
        }
        // Not started, or still INIT: nothing to enter or leave yet. Wherever settle is reached,
        // the engine is started exactly when the instance is out of INIT (start() takes every
        // instance out of INIT before it returns, shutdown puts every one back before it clears
        // `started`, a reload starts the instances it adds before it returns), so either half
        // of this test decides alone; the assertion keeps that true (sim/MUTANTS.md, run 12).
        debug_assert_eq!(
            self.started,
            self.instances[i].state != State::Init,
            "settle of {} while {}started",
            self.instances[i].cfg.name,
            if self.started { "" } else { "not " }
        );
        if !self.started || self.instances[i].state == State::Init {
            return;
        }
        match self.instances[i].group {
            Some(g) => self.settle_group(now, usize::from(g), i, None),
            None => match (self.instances[i].state, self.fault(i)) {
                (State::Fault, None) => self.leave_fault(now, i, Reason::FaultCleared),
                (State::Backup | State::Master, Some(r)) => self.become_fault(now, i, r),
                _ => {}
            },
        }
        // A higher priority can make the rescaled Master_Down_Timer due already: no acceptable
        // advert was heard for a whole new Master_Down_Interval. Take over now, rather than leave
        // a deadline that is not in the future.
        if self.instances[i].state == State::Backup
            && self.instances[i].get(Timer::MasterDown) <= now
        {
            self.instances[i].set(Timer::MasterDown, Instant::MAX);
            self.master_down(now, i);
        }
        self.schedule_with_group(i);
    }
}
