//! Sync groups (keepalived.conf(5) `vrrp_sync_group`): the seed's Transition State Matrix, as a
//! table in code.
//!
//! keepalived 0.7.1 named six handlers by the state before (S) and after (E) of the member that
//! moved; [`MATRIX`] holds them, indexed by (S, E), and [`Engine::group_moved`] dispatches
//! through it. Each handler moves the rest of the group inside the engine call that moved the
//! member, then [`Engine::update_group_state`] reports the group's new state once every member
//! has reached it (keepalived's `GROUP name STATE` notification). The crate docs ("Sync groups")
//! list what each handler does and the choices made where keepalived is ambiguous.
//!
//! Who calls the table: the takeover ([`Engine::master_down`], B->M), a MASTER member hearing a
//! higher priority ([`Engine::fall_to_backup`], M->B), and [`Engine::settle_group`] for faults
//! appearing (B->F, M->F) or clearing (F->B, F->M; start-up counts as leaving FAULT).

#[allow(unused_imports)]
use super::*;

/// What one move of a group member carries to its handler.
pub(super) struct GroupMove {
    /// The group.
    g: usize,
    /// The member that moved.
    cause: usize,
    /// Why it moved.
    reason: Reason,
    /// B->F, M->F: each member's own fault, in member order.
    faults: Vec<Option<Reason>>,
    /// M->B: the Master_Adver_Interval the cause learned from the advert it heard.
    mai: Duration,
}

/// A handler of the matrix.
type Handler = fn(&mut Engine, Instant, &GroupMove);

/// The seed's Transition State Matrix: (state before, state after) of the member that moved, and
/// what the group does.
pub(super) const MATRIX: [(State, State, Handler); 6] = [
    (State::Backup, State::Master, Engine::backup_to_master),
    (State::Backup, State::Fault, Engine::backup_to_fault),
    (State::Master, State::Backup, Engine::master_to_backup),
    (State::Master, State::Fault, Engine::master_to_fault),
    (State::Fault, State::Backup, Engine::fault_to_backup),
    (State::Fault, State::Master, Engine::fault_to_master),
];

impl Engine {
    /// Run the matrix's handler for a member of group `mv.g` moving `from` -> `to`, then report
    /// the group's state.
    fn group_moved(&mut self, now: Instant, from: State, to: State, mv: &GroupMove) {
        if let Some(&(_, _, handler)) = MATRIX.iter().find(|(s, e, _)| (*s, *e) == (from, to)) {
            handler(self, now, mv);
        }
        self.update_group_state(mv.g, mv.cause, mv.reason);
    }

    /// Faults appearing or clearing in `i`'s group `g` (and start-up): any member with a fault
    /// puts the whole group in FAULT (B->F, M->F); when no member has one, every FAULT member
    /// leaves together (F->B, or F->M when every member is an address owner). `startup` is the
    /// reason for a group leaving INIT, which counts as leaving FAULT.
    pub(super) fn settle_group(
        &mut self,
        now: Instant,
        g: usize,
        cause: usize,
        startup: Option<Reason>,
    ) {
        let members = self.groups[g].members.clone();
        let faults: Vec<Option<Reason>> = members.iter().map(|&m| self.fault(m as usize)).collect();
        if faults.iter().any(Option::is_some) {
            let reason = faults[members
                .iter()
                .position(|&m| m as usize == cause)
                .unwrap_or(0)]
            .or_else(|| faults.iter().flatten().next().copied())
            .unwrap_or(Reason::SyncGroup);
            // B->F and M->F do the same; a cause still in INIT or already in FAULT (another
            // member failed) takes the B->F entry.
            let from = match self.instances[cause].state {
                State::Master => State::Master,
                _ => State::Backup,
            };
            let mv = GroupMove {
                g,
                cause,
                reason,
                faults,
                mai: Duration::ZERO,
            };
            self.group_moved(now, from, State::Fault, &mv);
        } else if members
            .iter()
            .any(|&m| matches!(self.instances[m as usize].state, State::Fault | State::Init))
        {
            // An owner told `state BACKUP` starts as BACKUP (keepalived's wantstate; see
            // [`WantState`]), and so does its group.
            let all_owners = members.iter().all(|&m| {
                let inst = &self.instances[m as usize];
                inst.is_owner() && !(startup.is_some() && inst.cfg.want_state == WantState::Backup)
            });
            let to = if all_owners {
                State::Master
            } else {
                State::Backup
            };
            let mv = GroupMove {
                g,
                cause,
                reason: startup.unwrap_or(Reason::FaultCleared),
                faults,
                mai: Duration::ZERO,
            };
            self.group_moved(now, State::Fault, to, &mv);
        }
    }

    /// The takeover (RFC 5798 section 6.4.2, "If the Master_Down_Timer fires"): the
    /// Master_Down_Timer of `i` ran out. A lone instance becomes MASTER; a group member wants
    /// MASTER and the group moves (B->M) once every member does (its own timer ran out too), so
    /// the group never splits.
    pub(super) fn master_down(&mut self, now: Instant, i: usize) {
        let Some(g) = self.instances[i].group else {
            return self.become_master(now, i, Reason::MasterDownTimer);
        };
        self.instances[i].want_master = true;
        let g = usize::from(g);
        let ready = self.groups[g].members.iter().all(|&m| {
            let inst = &self.instances[m as usize];
            inst.state == State::Master || (inst.state == State::Backup && inst.want_master)
        });
        if !ready {
            return;
        }
        let mv = GroupMove {
            g,
            cause: i,
            reason: Reason::MasterDownTimer,
            faults: Vec::new(),
            mai: Duration::ZERO,
        };
        self.group_moved(now, State::Backup, State::Master, &mv);
    }

    /// A MASTER heard a higher priority (RFC 5798 section 6.4.3): `i` goes BACKUP with the
    /// sender's interval `mai`, and so does every MASTER member of its group (M->B).
    pub(super) fn fall_to_backup(&mut self, now: Instant, i: usize, mai: Duration) {
        let Some(g) = self.instances[i].group else {
            return self.become_backup(now, i, Reason::HigherPriorityHeard, mai);
        };
        let mv = GroupMove {
            g: usize::from(g),
            cause: i,
            reason: Reason::HigherPriorityHeard,
            faults: Vec::new(),
            mai,
        };
        self.group_moved(now, State::Master, State::Backup, &mv);
    }

    // ----- the six handlers ------------------------------------------------------------------

    /// B->M (handler 1): every BACKUP member becomes MASTER with the one whose timer ran out.
    fn backup_to_master(&mut self, now: Instant, mv: &GroupMove) {
        for k in 0..self.groups[mv.g].members.len() {
            let m = self.groups[mv.g].members[k] as usize;
            if self.instances[m].state == State::Backup {
                let r = if m == mv.cause {
                    mv.reason
                } else {
                    Reason::SyncGroup
                };
                self.become_master(now, m, r);
            }
        }
    }

    /// B->F (handler 2): every member goes FAULT, each with its own fault or the group's.
    fn backup_to_fault(&mut self, now: Instant, mv: &GroupMove) {
        self.group_to_fault(now, mv);
    }

    /// M->B (handler 3): the member that heard a higher priority goes BACKUP, then every other
    /// MASTER member does (fresh Master_Down_Timer on its own interval).
    fn master_to_backup(&mut self, now: Instant, mv: &GroupMove) {
        self.become_backup(now, mv.cause, mv.reason, mv.mai);
        for k in 0..self.groups[mv.g].members.len() {
            let m = self.groups[mv.g].members[k] as usize;
            if self.instances[m].state == State::Master {
                let own = self.instances[m].cfg.advert_interval;
                self.become_backup(now, m, Reason::SyncGroup, own);
            }
        }
    }

    /// M->F (handler 4): every member goes FAULT; masters whose link works leave with a
    /// priority-0 advert (`become_fault`).
    fn master_to_fault(&mut self, now: Instant, mv: &GroupMove) {
        self.group_to_fault(now, mv);
    }

    /// F->B (handler 5): no member has a fault left; every FAULT (or INIT) member goes BACKUP.
    fn fault_to_backup(&mut self, now: Instant, mv: &GroupMove) {
        self.group_leaves_fault(now, mv, State::Backup);
    }

    /// F->M (handler 6): as F->B, straight to MASTER, when every member is an address owner.
    fn fault_to_master(&mut self, now: Instant, mv: &GroupMove) {
        self.group_leaves_fault(now, mv, State::Master);
    }

    /// The body of B->F and M->F.
    fn group_to_fault(&mut self, now: Instant, mv: &GroupMove) {
        for k in 0..self.groups[mv.g].members.len() {
            let m = self.groups[mv.g].members[k] as usize;
            if matches!(
                self.instances[m].state,
                State::Init | State::Backup | State::Master
            ) {
                let r = mv
                    .faults
                    .get(k)
                    .copied()
                    .flatten()
                    .unwrap_or(Reason::SyncGroup);
                self.become_fault(now, m, r);
            }
        }
    }

    /// The body of F->B and F->M.
    fn group_leaves_fault(&mut self, now: Instant, mv: &GroupMove, to: State) {
        for k in 0..self.groups[mv.g].members.len() {
            let m = self.groups[mv.g].members[k] as usize;
            if !matches!(self.instances[m].state, State::Fault | State::Init) {
                continue;
            }
            let r = if m == mv.cause {
                mv.reason
            } else {
                Reason::SyncGroup
            };
            if to == State::Master {
                let r = if r == Reason::Startup {
                    Reason::AddressOwner
                } else {
                    r
                };
                self.become_master(now, m, r);
            } else {
                let own = self.instances[m].cfg.advert_interval;
                self.become_backup(now, m, r, own);
            }
        }
    }

    /// Emit a group notification when every member now shares a new state.
    pub(super) fn update_group_state(&mut self, g: usize, cause: usize, reason: Reason) {
        let group = &self.groups[g];
        let Some(&first) = group.members.first() else {
            return;
        };
        let s = self.instances[first as usize].state;
        if group.state != s
            && group
                .members
                .iter()
                .all(|&m| self.instances[m as usize].state == s)
        {
            let from = group.state;
            self.groups[g].state = s;
            self.actions.push_back(Action::GroupStateChange {
                group: GroupId(g as u16),
                from,
                to: s,
                cause: (InstanceId(cause as u32), reason),
            });
        }
    }
}

#[cfg(test)]
mod matrix_tests {
    use super::*;

    /// The table holds the seed's six (S, E) pairs, each once, and nothing else.
    #[test]
    fn the_matrix_has_the_six_handlers_of_the_seed() {
        let pairs: Vec<(State, State)> = MATRIX.iter().map(|(s, e, _)| (*s, *e)).collect();
        for s in [State::Backup, State::Master, State::Fault] {
            for e in [State::Backup, State::Master, State::Fault] {
                let n = pairs.iter().filter(|p| **p == (s, e)).count();
                assert_eq!(n, usize::from(s != e), "{s} -> {e}");
            }
        }
    }
}
