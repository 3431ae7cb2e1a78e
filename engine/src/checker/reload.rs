//! A reloaded configuration (SIGHUP), diffed against the running one (keepalived 2.2.7
//! `ipwrapper.c`: `clear_diff_services`, `clear_diff_rs`, `clear_diff_s_srv`,
//! `migrate_checkers`, `check_new_rs_state`).
//!
//! * **Identity.** A virtual server is the same when its address and port (or fwmark, or group),
//!   protocol and family are (keepalived's `vs_iseq`); a real server of a kept virtual server
//!   when its address and port are (`rs_iseq`); the sorry server likewise. A checker of a kept
//!   real server is the same when everything it is configured with is (kind, target, timers,
//!   `retry`, `alpha`, ...): it keeps its state, counters, schedule and a run in progress.
//!   keepalived restarts every checker thread on reload and carries over the state of checkers
//!   whose type-specific settings compare equal; Vigil keeps the unchanged ones running and
//!   restarts the changed ones.
//! * **Removed** real servers (and every real server of a removed virtual server) leave the
//!   table, inhibited ones too; a live one that was in the table gets its `notify_down`
//!   (`clear_service_rs`). A removed virtual server that had its quorum gets its `quorum_down`
//!   (`update_vs_notifies`). A sorry server that is gone or moved leaves the table.
//! * **Added** real servers (in a kept or a new virtual server) start as at start-up: `alpha`
//!   checkers down, one failure enough, `notify_up` with `rs_init_notifies`.
//! * **Changed or added checkers of a kept real server** start up, except that `alpha` ones
//!   start down when another checker of the real server is down or the real server was down
//!   with no checker run yet (`migrate_checkers`); one failure is enough. A kept real server
//!   whose checkers are now all up comes up (`notify_up`); one that a new down checker takes
//!   down leaves the table without `notify_down`, as keepalived.
//! * A kept virtual server's quorum state carries over and is then re-evaluated with the new
//!   `quorum` / `hysteresis` and weights (`quorum_up` / `quorum_down` on a crossing); the table
//!   is diffed as after any event (weights, `inhibit_on_failure`).
//! * Changed and added checkers are spread over their `warmup` from the reload as at start.

use super::*;

impl CheckerEngine {
    // Long: the reload's phases in order (match old to new, stop what goes, renumber, start what comes), each using the maps the previous built.
    pub(super) fn reload(&mut self, now: Instant, new: CheckerSetup) {
        if self.stopped {
            return;
        }
        if !self.started {
            let checkers = vec![None; self.setup.checkers.len()];
            let virtual_servers = vec![None; self.setup.virtual_servers.len()];
            self.actions.push_back(CheckAction::Reloaded {
                checkers,
                virtual_servers,
            });
            let actions = std::mem::take(&mut self.actions);
            *self = CheckerEngine::new(new);
            self.actions = actions;
            return;
        }
        let old = &self.setup;
        // Virtual servers: new -> old.
        let mut vs_old_to_new: Vec<Option<VsId>> = vec![None; old.virtual_servers.len()];
        let mut vs_new_to_old: Vec<Option<usize>> = vec![None; new.virtual_servers.len()];
        for (n, nv) in new.virtual_servers.iter().enumerate() {
            if let Some(o) = (0..old.virtual_servers.len())
                .find(|&o| vs_old_to_new[o].is_none() && old.virtual_servers[o].ident == nv.ident)
            {
                vs_old_to_new[o] = Some(VsId(n as u32));
                vs_new_to_old[n] = Some(o);
            }
        }
        // Real servers of kept virtual servers: [new vs][new rs] -> old rs.
        let mut rs_new_to_old: Vec<Vec<Option<usize>>> = Vec::new();
        let mut rs_old_kept: Vec<Vec<bool>> = old
            .virtual_servers
            .iter()
            .map(|v| vec![false; v.real_servers.len()])
            .collect();
        for (n, nv) in new.virtual_servers.iter().enumerate() {
            let mut map = vec![None; nv.real_servers.len()];
            if let Some(o) = vs_new_to_old[n] {
                for (nr, r) in nv.real_servers.iter().enumerate() {
                    let ov = &old.virtual_servers[o];
                    if let Some(or) = (0..ov.real_servers.len()).find(|&or| {
                        !rs_old_kept[o][or]
                            && ov.real_servers[or].addr == r.addr
                            && ov.real_servers[or].port == r.port
                    }) {
                        rs_old_kept[o][or] = true;
                        map[nr] = Some(or);
                    }
                }
            }
            rs_new_to_old.push(map);
        }
        // Checkers of kept real servers: new -> old when unchanged.
        let mut chk_old_to_new: Vec<Option<CheckId>> = vec![None; old.checkers.len()];
        let mut chk_new_to_old: Vec<Option<usize>> = vec![None; new.checkers.len()];
        for (i, c) in new.checkers.iter().enumerate() {
            let (nv, nr) = (c.vs.0 as usize, c.rs as usize);
            let (Some(ov), Some(or)) = (vs_new_to_old[nv], rs_new_to_old[nv][nr]) else {
                continue;
            };
            let found = old.virtual_servers[ov].real_servers[or]
                .checkers
                .iter()
                .map(|id| id.0 as usize)
                .find(|&o| chk_old_to_new[o].is_none() && old.checkers[o].same_check(c));
            if let Some(o) = found {
                chk_old_to_new[o] = Some(CheckId(i as u32));
                chk_new_to_old[i] = Some(o);
            }
        }

        // Phase 1, in the old numbering: stop what goes, empty the table of what is gone.
        for (o, c) in self.checks.iter_mut().enumerate() {
            if chk_old_to_new[o].is_none() {
                if let Some(r) = c.running.take() {
                    self.actions.push_back(CheckAction::AbandonCheck {
                        id: CheckId(o as u32),
                        run: r.run,
                    });
                }
            }
        }
        for o in 0..old.virtual_servers.len() {
            let vs = VsId(o as u32);
            let removed_vs = vs_old_to_new[o].is_none();
            for (r, st) in self.vss[o].reals.iter().enumerate() {
                if (removed_vs || !rs_old_kept[o][r]) && st.table.is_some() {
                    self.actions.push_back(CheckAction::SetServer {
                        vs,
                        server: Server::Real(r as u32),
                        change: TableChange::Remove,
                        reason: Reason::Removed,
                    });
                    if st.alive {
                        self.actions
                            .push_back(CheckAction::Notify(Notify::RealServerDown(vs, r as u32)));
                    }
                }
            }
            let sorry_gone = match vs_old_to_new[o] {
                None => true,
                Some(n) => {
                    new.virtual_servers[n.0 as usize].sorry_at != old.virtual_servers[o].sorry_at
                }
            };
            if sorry_gone && self.vss[o].sorry_table.is_some() {
                self.actions.push_back(CheckAction::SetServer {
                    vs,
                    server: Server::Sorry,
                    change: TableChange::Remove,
                    reason: Reason::Removed,
                });
            }
            if removed_vs && self.vss[o].quorum.up {
                self.actions
                    .push_back(CheckAction::Notify(Notify::QuorumDown(vs)));
            }
        }
        self.actions.push_back(CheckAction::Reloaded {
            checkers: chk_old_to_new.clone(),
            virtual_servers: vs_old_to_new.clone(),
        });

        // The new state: kept parts carried over.
        let mut checks: Vec<CheckState> = Vec::with_capacity(new.checkers.len());
        for (i, c) in new.checkers.iter().enumerate() {
            match chk_new_to_old[i] {
                Some(o) => {
                    let mut st = self.checks[o].clone();
                    st.queued = Instant::MAX;
                    checks.push(st);
                }
                None => checks.push(CheckState::fresh(c)),
            }
        }
        let mut vss: Vec<VsState> = Vec::with_capacity(new.virtual_servers.len());
        for (n, nv) in new.virtual_servers.iter().enumerate() {
            let st = match vs_new_to_old[n] {
                Some(o) => {
                    let ost = &self.vss[o];
                    VsState {
                        quorum: ost.quorum.clone(),
                        reals: rs_new_to_old[n]
                            .iter()
                            .map(|m| m.map(|or| ost.reals[or].clone()).unwrap_or_default())
                            .collect(),
                        sorry_table: if nv.sorry_at == self.setup.virtual_servers[o].sorry_at {
                            ost.sorry_table
                        } else {
                            None
                        },
                    }
                }
                None => VsState {
                    quorum: Quorum::default(),
                    reals: vec![RealState::default(); nv.real_servers.len()],
                    sorry_table: None,
                },
            };
            vss.push(st);
        }
        // The alpha rule for new checkers of kept real servers (migrate_checkers).
        for (n, nv) in new.virtual_servers.iter().enumerate() {
            for (nr, rs) in nv.real_servers.iter().enumerate() {
                if rs_new_to_old[n][nr].is_none() {
                    continue; // a new real server: alpha checkers start down (check_new_rs_state)
                }
                let kept: Vec<usize> = rs
                    .checkers
                    .iter()
                    .map(|c| c.0 as usize)
                    .filter(|&c| chk_new_to_old[c].is_some())
                    .collect();
                let failed = kept
                    .iter()
                    .any(|&c| checks[c].health.has_run && !checks[c].health.up);
                let any_run = kept.iter().any(|&c| checks[c].health.has_run);
                let was_alive = vss[n].reals[nr].alive;
                let alpha_down = failed || (!was_alive && !any_run);
                for c in rs.checkers.iter().map(|c| c.0 as usize) {
                    if chk_new_to_old[c].is_none() {
                        checks[c].health.up = !(new.checkers[c].alpha && alpha_down);
                    }
                }
            }
        }
        let mut files = vec![0; new.track_files.len()];
        for (k, name) in new.track_files.iter().enumerate() {
            if let Some(j) = self.setup.track_files.iter().position(|f| f == name) {
                files[k] = self.files[j];
            }
        }
        self.setup = new;
        self.checks = checks;
        self.vss = vss;
        self.files = files;
        self.heap.clear();

        // New FILE_CHECKs follow their file's known value; new checkers are spread over warmup.
        let fresh: Vec<usize> = (0..self.checks.len())
            .filter(|&i| chk_new_to_old[i].is_none())
            .collect();
        let runs: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&i| self.setup.checkers[i].runs())
            .collect();
        for &i in &fresh {
            if let CheckKind::File {
                track_file,
                weight,
                reverse,
            } = &self.setup.checkers[i].kind
            {
                let value = self
                    .setup
                    .track_files
                    .iter()
                    .position(|f| f == track_file)
                    .map_or(0, |k| self.files[k]);
                let _ = self.checks[i].health.apply_file(value, *weight, *reverse);
            }
        }
        for (k, &i) in runs.iter().enumerate() {
            self.checks[i].next =
                schedule::first_run(now, self.setup.checkers[i].warmup, k, runs.len());
        }
        for i in 0..self.checks.len() {
            self.queue(i);
        }

        // Phase 2, in the new numbering: real servers' states, quorum, the table.
        for v in 0..self.vss.len() {
            let vs = VsId(v as u32);
            for (r, kept) in rs_new_to_old[v].iter().map(Option::is_some).enumerate() {
                let failed = self.setup.virtual_servers[v].real_servers[r]
                    .checkers
                    .iter()
                    .filter(|c| !self.checks[c.0 as usize].health.up)
                    .count() as u32;
                let st = &mut self.vss[v].reals[r];
                let was = st.alive;
                st.failed = failed;
                st.alive = failed == 0;
                let alive = st.alive;
                if kept && alive != was {
                    self.actions.push_back(CheckAction::RealServerState {
                        vs,
                        rs: r as u32,
                        up: alive,
                    });
                    if alive {
                        self.actions
                            .push_back(CheckAction::Notify(Notify::RealServerUp(vs, r as u32)));
                    }
                } else if !kept && alive && self.setup.rs_init_notifies {
                    self.actions
                        .push_back(CheckAction::Notify(Notify::RealServerUp(vs, r as u32)));
                }
            }
            self.settle(v, vs_new_to_old[v].is_none(), Reason::Reload);
        }
    }
}
