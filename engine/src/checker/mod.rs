//! # The health-checker engine: keepalived's other half, sans I/O
//!
//! keepalived's checker framework keeps a load balancer's table of real servers true: it runs a
//! health check against every real server of every virtual server, decides from the results and
//! keepalived.conf(5)'s rules which real servers serve and with what weight, uses a virtual
//! server's sorry server when too few remain, and runs notification scripts. This module makes
//! those decisions; the runner (vigild, the simulator) only executes them. One file per rule
//! family:
//!
//! * [`schedule`](self#the-schedule): when checks run, their deadlines, the spread of first runs;
//! * `health`: a checker's up / down state (`retry`, `alpha`, `misc_dynamic`, FILE_CHECK);
//! * `pool`: a real server's liveness and weight, the table (`inhibit_on_failure`, the sorry
//!   server);
//! * `quorum`: quorum with hysteresis, `quorum_up` / `quorum_down`, `omega`.
//!
//! ## The run-loop contract (the VRRP engine's)
//!
//! Build a [`CheckerEngine`] from a [`CheckerSetup`], feed [`CheckInput::Start`], and after every
//! call drain [`CheckerEngine::poll_action`] and carry the actions out in order: start the
//! checks that [`CheckAction::RunCheck`] asks for (without blocking: the result comes back later
//! as [`CheckInput::Result`] with the run's number), stop the ones that
//! [`CheckAction::AbandonCheck`] names, apply [`CheckAction::SetServer`] to the data plane, run
//! [`CheckAction::Notify`] scripts, log the state records. Sleep until
//! [`CheckerEngine::poll_timeout`] or until a result arrives, then call
//! [`CheckerEngine::handle_timeout`] or [`CheckerEngine::handle_input`] with the current
//! [`Instant`]. The engine reads no clock and does no I/O: the same inputs at the same times give
//! the same actions.
//!
//! ## The schedule
//!
//! See `schedule.rs`: absolute schedules decided when a run starts (the seed's MISC_CHECK rule),
//! deadlines after which a run is abandoned and counts as a failure, and first runs spread
//! evenly over `warmup` so that checks of one `delay_loop` never bunch.

mod health;
pub mod io;
mod pool;
mod quorum;
mod reload;
mod schedule;
pub mod setup;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::conf::CheckKind;
use crate::time::Instant;

pub use io::{
    CheckAction, CheckId, CheckInput, CheckOutcome, Notify, Reason, Server, TableChange, VsId,
};
pub use setup::{CheckerSetup, CheckerSpec, RealServerSpec, VirtualServerSpec};

use health::{Health, Verdict};
use pool::RealState;
use quorum::Quorum;

/// A run in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Running {
    run: u64,
    /// When it was scheduled (the schedule counts from here).
    scheduled: Instant,
    deadline: Instant,
}

#[derive(Clone, Debug)]
struct CheckState {
    health: Health,
    /// The next run, when not running.
    next: Instant,
    /// Which retry the next run is (0: a run on the `delay_loop` schedule).
    next_retry: u32,
    running: Option<Running>,
    /// The instant the heap holds for it (`Instant::MAX`: none).
    queued: Instant,
    /// The last outcome, for status.
    last: Option<String>,
    runs: u64,
    failures: u64,
}

impl CheckState {
    /// A checker before its first run.
    fn fresh(spec: &CheckerSpec) -> CheckState {
        CheckState {
            health: Health::new(spec.alpha, spec.retry),
            next: Instant::MAX,
            next_retry: 0,
            running: None,
            queued: Instant::MAX,
            last: None,
            runs: 0,
            failures: 0,
        }
    }

    fn deadline(&self) -> Instant {
        match self.running {
            Some(r) => r.deadline,
            None => self.next,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct VsState {
    quorum: Quorum,
    reals: Vec<RealState>,
    sorry_table: Option<u32>,
}

/// A read-only view of a checker, for status output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerView {
    /// Up or down.
    pub up: bool,
    /// Whether a run is in progress.
    pub running: bool,
    /// When the next run starts (or the current one's deadline).
    pub next: Instant,
    /// The last outcome.
    pub last: Option<String>,
    /// Runs started.
    pub runs: u64,
    /// Runs that failed (including abandoned ones).
    pub failures: u64,
}

/// A read-only view of a real server, for status output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerView {
    /// Every checker up.
    pub alive: bool,
    /// Its weight now (configured plus adjustments).
    pub weight: u32,
    /// What the table holds for it (`None`: not in the table).
    pub table: Option<u32>,
}

/// The health-checker engine. See the [module documentation](self).
#[derive(Debug)]
pub struct CheckerEngine {
    setup: CheckerSetup,
    checks: Vec<CheckState>,
    vss: Vec<VsState>,
    files: Vec<i64>,
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    actions: VecDeque<CheckAction>,
    run_seq: u64,
    started: bool,
    stopped: bool,
}

impl CheckerEngine {
    /// An engine for `setup`; nothing happens before [`CheckInput::Start`].
    pub fn new(setup: CheckerSetup) -> CheckerEngine {
        let checks = setup.checkers.iter().map(CheckState::fresh).collect();
        let vss = setup
            .virtual_servers
            .iter()
            .map(|v| VsState {
                quorum: Quorum::default(),
                reals: vec![RealState::default(); v.real_servers.len()],
                sorry_table: None,
            })
            .collect();
        let files = vec![0; setup.track_files.len()];
        CheckerEngine {
            setup,
            checks,
            vss,
            files,
            heap: BinaryHeap::new(),
            actions: VecDeque::new(),
            run_seq: 0,
            started: false,
            stopped: false,
        }
    }

    /// The configuration it runs.
    pub fn setup(&self) -> &CheckerSetup {
        &self.setup
    }

    /// Feed one input at `now`; drain [`CheckerEngine::poll_action`] afterwards.
    pub fn handle_input(&mut self, now: Instant, input: CheckInput) {
        match input {
            CheckInput::Start => self.start(now),
            CheckInput::Result { id, run, outcome } => {
                let i = id.0 as usize;
                let pending = self
                    .checks
                    .get(i)
                    .and_then(|c| c.running)
                    .is_some_and(|r| r.run == run);
                if pending && !self.stopped {
                    self.finish_run(now, i, &outcome);
                }
            }
            CheckInput::TrackFile { name, value } => self.track_file(now, &name, value),
            CheckInput::Shutdown => self.shutdown(),
            CheckInput::Reload(setup) => self.reload(now, *setup),
        }
    }

    /// Serve every run due at or before `now`: start scheduled runs, abandon runs past their
    /// deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((when, idx))) = self.heap.peek() {
            if when > now {
                break;
            }
            self.heap.pop();
            let i = idx as usize;
            if self.checks[i].queued != when {
                continue;
            }
            self.checks[i].queued = Instant::MAX;
            match self.checks[i].running {
                Some(r) if r.deadline <= now => {
                    self.actions.push_back(CheckAction::AbandonCheck {
                        id: CheckId(idx),
                        run: r.run,
                    });
                    let spec = &self.setup.checkers[i];
                    let secs = crate::conf::values::secs_str(spec.timeout) + "s";
                    let outcome = if spec.silence_passes() {
                        CheckOutcome::Success
                    } else {
                        CheckOutcome::Failure(format!("timed out after {secs}"))
                    };
                    self.finish_run(now, i, &outcome);
                }
                Some(_) => self.queue(i),
                None if self.checks[i].next <= now => self.start_run(now, i),
                None => self.queue(i),
            }
        }
    }

    /// The one next deadline, if any run is scheduled or in progress.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((when, idx))) = self.heap.peek() {
            if self.checks[idx as usize].queued == when {
                return Some(when);
            }
            self.heap.pop();
        }
        None
    }

    /// The next action, in the order decided.
    pub fn poll_action(&mut self) -> Option<CheckAction> {
        self.actions.pop_front()
    }

    /// A checker's state.
    pub fn checker(&self, id: CheckId) -> Option<CheckerView> {
        let c = self.checks.get(id.0 as usize)?;
        Some(CheckerView {
            up: c.health.up,
            running: c.running.is_some(),
            next: c.deadline(),
            last: c.last.clone(),
            runs: c.runs,
            failures: c.failures,
        })
    }

    /// A real server's state.
    pub fn real_server(&self, vs: VsId, rs: u32) -> Option<RealServerView> {
        let st = self.vss.get(vs.0 as usize)?.reals.get(rs as usize)?;
        Some(RealServerView {
            alive: st.alive,
            weight: self.weight(vs.0 as usize, rs as usize),
            table: st.table,
        })
    }

    /// The sorry server's weight in a virtual server's table (`None`: not in the table): with
    /// [`CheckerEngine::real_server`]'s `table`, what the data plane rebuilds from after a
    /// reload renumbers the virtual servers.
    pub fn sorry_table(&self, vs: VsId) -> Option<u32> {
        self.vss.get(vs.0 as usize)?.sorry_table
    }

    /// Whether a virtual server has its quorum, and whether its sorry server is in use.
    pub fn quorum(&self, vs: VsId) -> Option<(bool, bool)> {
        let v = self.vss.get(vs.0 as usize)?;
        Some((v.quorum.up, v.quorum.sorry_in_use))
    }

    // ----- rules ----------------------------------------------------------------------------

    fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        let n = self.setup.checkers.len();
        for i in 0..n {
            let spec = &self.setup.checkers[i];
            if spec.runs() {
                self.checks[i].next = schedule::first_run(now, spec.warmup, i, n);
                self.queue(i);
            }
        }
        for v in 0..self.vss.len() {
            for r in 0..self.vss[v].reals.len() {
                let failed = self.setup.virtual_servers[v].real_servers[r]
                    .checkers
                    .iter()
                    .filter(|c| !self.checks[c.0 as usize].health.up)
                    .count() as u32;
                let st = &mut self.vss[v].reals[r];
                st.failed = failed;
                st.alive = failed == 0;
                if st.alive && self.setup.rs_init_notifies {
                    self.actions
                        .push_back(CheckAction::Notify(Notify::RealServerUp(
                            VsId(v as u32),
                            r as u32,
                        )));
                }
            }
            self.settle(v, true, Reason::Start);
        }
    }

    fn queue(&mut self, i: usize) {
        let d = self.checks[i].deadline();
        if d != Instant::MAX && d != self.checks[i].queued {
            self.checks[i].queued = d;
            self.heap.push(Reverse((d, i as u32)));
        }
    }

    fn start_run(&mut self, now: Instant, i: usize) {
        self.run_seq += 1;
        let run = self.run_seq;
        let deadline = schedule::deadline(now, self.setup.checkers[i].timeout);
        let c = &mut self.checks[i];
        let scheduled = c.next;
        c.running = Some(Running {
            run,
            scheduled,
            deadline,
        });
        c.runs += 1;
        self.actions.push_back(CheckAction::RunCheck {
            id: CheckId(i as u32),
            run,
            deadline,
            scheduled,
            retry: c.next_retry,
        });
        self.queue(i);
    }

    fn finish_run(&mut self, now: Instant, i: usize, outcome: &CheckOutcome) {
        let Some(r) = self.checks[i].running.take() else {
            return;
        };
        let spec = &self.setup.checkers[i];
        let (v, rs) = (spec.vs.0 as usize, spec.rs as usize);
        let base = self.setup.virtual_servers[v].real_servers[rs].weight;
        let verdict = self.checks[i]
            .health
            .apply(outcome, spec.retry, spec.dynamic(), base);
        let next = schedule::next_run(
            r.scheduled,
            now,
            verdict.retry_pending,
            spec.delay_loop,
            spec.delay_before_retry,
        );
        let c = &mut self.checks[i];
        let passed = matches!(outcome, CheckOutcome::Success | CheckOutcome::Exit(0))
            || (spec.dynamic() && matches!(outcome, CheckOutcome::Exit(2..)));
        if !passed {
            c.failures += 1;
        }
        c.last = Some(verdict.why.clone());
        c.next = next;
        c.next_retry = if verdict.retry_pending {
            c.health.retry_it
        } else {
            0
        };
        self.queue(i);
        self.apply_verdict(i, verdict);
    }

    fn apply_verdict(&mut self, i: usize, verdict: Verdict) {
        let spec = &self.setup.checkers[i];
        let (v, rs) = (spec.vs.0 as usize, spec.rs as usize);
        let id = CheckId(i as u32);
        let alpha = spec.alpha;
        if verdict.first_confirmed && (alpha || !self.checks[i].health.up) {
            let st = &self.vss[v].reals[rs];
            let n = if st.alive {
                Notify::RealServerUp(VsId(v as u32), rs as u32)
            } else {
                Notify::RealServerDown(VsId(v as u32), rs as u32)
            };
            self.actions.push_back(CheckAction::Notify(n));
        }
        let mut reason = Reason::Weight(id);
        if let Some(up) = verdict.changed {
            self.actions.push_back(CheckAction::CheckerState {
                id,
                up,
                why: verdict.why.clone(),
            });
            reason = Reason::Checker(id, verdict.why.clone());
            let st = &mut self.vss[v].reals[rs];
            if up {
                st.failed = st.failed.saturating_sub(1);
            } else {
                st.failed += 1;
            }
            let alive = st.failed == 0;
            if alive != st.alive {
                st.alive = alive;
                self.actions.push_back(CheckAction::RealServerState {
                    vs: VsId(v as u32),
                    rs: rs as u32,
                    up: alive,
                });
                let n = if alive {
                    Notify::RealServerUp(VsId(v as u32), rs as u32)
                } else {
                    Notify::RealServerDown(VsId(v as u32), rs as u32)
                };
                self.actions.push_back(CheckAction::Notify(n));
            }
        } else if !verdict.weight_changed {
            return;
        }
        self.settle(v, false, reason);
    }

    fn track_file(&mut self, _now: Instant, name: &str, value: i64) {
        let Some(k) = self.setup.track_files.iter().position(|f| f == name) else {
            return;
        };
        if self.files[k] == value || self.stopped {
            return;
        }
        self.files[k] = value;
        for i in 0..self.setup.checkers.len() {
            let (weight, reverse) = match &self.setup.checkers[i].kind {
                CheckKind::File {
                    track_file,
                    weight,
                    reverse,
                } if track_file == name => (*weight, *reverse),
                _ => continue,
            };
            let verdict = self.checks[i].health.apply_file(value, weight, reverse);
            // Before Start the value only sets the checker's state: Start builds the table.
            if self.started {
                self.apply_verdict(i, verdict);
            }
        }
    }

    fn weight(&self, v: usize, rs: usize) -> u32 {
        let spec = &self.setup.virtual_servers[v].real_servers[rs];
        let adjust: i64 = spec
            .checkers
            .iter()
            .map(|c| self.checks[c.0 as usize].health.weight)
            .sum();
        pool::effective_weight(spec.weight, adjust)
    }

    /// Re-evaluates a virtual server's quorum and table after an event; emits the differences.
    fn settle(&mut self, v: usize, init: bool, reason: Reason) {
        let spec = &self.setup.virtual_servers[v];
        let sum: u64 = (0..spec.real_servers.len())
            .filter(|&r| self.vss[v].reals[r].alive)
            .map(|r| u64::from(self.weight(v, r)))
            .sum();
        let has_sorry = spec.sorry.is_some();
        let (quorum, hysteresis) = (spec.quorum, spec.hysteresis);
        let mut reason = reason;
        if let Some(ch) = self.vss[v]
            .quorum
            .update(sum, quorum, hysteresis, has_sorry, init)
        {
            let vs = VsId(v as u32);
            self.actions.push_back(CheckAction::QuorumState {
                vs,
                up: ch.up,
                weight_sum: sum,
                threshold: ch.threshold,
            });
            self.actions.push_back(CheckAction::Notify(if ch.up {
                Notify::QuorumUp(vs)
            } else {
                Notify::QuorumDown(vs)
            }));
            if has_sorry && !init {
                reason = if ch.up {
                    Reason::QuorumGained
                } else {
                    Reason::QuorumLost
                };
            }
        }
        self.sync_table(v, &reason);
    }

    /// Emits the table changes for virtual server `v`: additions and weight changes first,
    /// removals last (the sorry server is in before the real servers leave).
    fn sync_table(&mut self, v: usize, reason: &Reason) {
        let spec = &self.setup.virtual_servers[v];
        let stopping = self.stopped;
        let in_use = self.vss[v].quorum.sorry_in_use;
        let mut changes = Vec::new();
        for r in 0..spec.real_servers.len() {
            let st = &self.vss[v].reals[r];
            let want = pool::wanted_real(
                st.alive,
                spec.real_servers[r].inhibit,
                self.weight(v, r),
                in_use,
                stopping,
            );
            if let Some(ch) = pool::change(st.table, want) {
                changes.push((Server::Real(r as u32), ch, want));
            }
        }
        let want = pool::wanted_sorry(spec.sorry, in_use, stopping);
        if let Some(ch) = pool::change(self.vss[v].sorry_table, want) {
            changes.push((Server::Sorry, ch, want));
        }
        changes.sort_by_key(|(_, ch, _)| matches!(ch, TableChange::Remove));
        for (server, change, want) in changes {
            match server {
                Server::Real(r) => self.vss[v].reals[r as usize].table = want,
                Server::Sorry => self.vss[v].sorry_table = want,
            }
            self.actions.push_back(CheckAction::SetServer {
                vs: VsId(v as u32),
                server,
                change,
                reason: reason.clone(),
            });
        }
    }

    fn shutdown(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        for i in 0..self.checks.len() {
            if let Some(r) = self.checks[i].running.take() {
                self.actions.push_back(CheckAction::AbandonCheck {
                    id: CheckId(i as u32),
                    run: r.run,
                });
            }
            self.checks[i].next = Instant::MAX;
            self.checks[i].queued = Instant::MAX;
        }
        self.heap.clear();
        for v in 0..self.vss.len() {
            let omega = self.setup.virtual_servers[v].omega;
            let vs = VsId(v as u32);
            if omega {
                for r in 0..self.vss[v].reals.len() {
                    if self.vss[v].reals[r].alive && self.vss[v].reals[r].table.is_some() {
                        self.actions
                            .push_back(CheckAction::Notify(Notify::RealServerDown(vs, r as u32)));
                    }
                }
            }
            self.sync_table(v, &Reason::Shutdown);
            if omega {
                self.actions
                    .push_back(CheckAction::Notify(Notify::QuorumDown(vs)));
            }
        }
    }
}

#[cfg(test)]
mod tests;
