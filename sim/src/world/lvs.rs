//! The simulated health-checker runner: what vigild's `io-linux/src/checker/` does around the
//! checker engine, on a node whose keepalived.conf has `virtual_server` blocks (a director).
//!
//! The node runs an unmodified [`CheckerEngine`] built by [`CheckerSetup::from_conf`] from its
//! keepalived.conf, exactly as vigild builds it. The runner feeds `Start` when the node boots,
//! `Shutdown` when it stops (a crash drops the engine), serves the engine's one deadline, and
//! carries out every action in order:
//!
//! * `RunCheck`: the check reaches a simulated real server ([`crate::scenario::ServerHealth`],
//!   set by `server` faults), which answers after the scenario's latency (plus a jitter drawn
//!   from the run's seed, stream [`crate::rng::Stream::Checks`]): success or refusal as its
//!   health says at the start of the run (a MISC_CHECK exits with the status given), after
//!   `delay` when slow, never when hanging. The result comes back as `CheckInput::Result` at
//!   that virtual time, unless the engine abandoned the run at its deadline first
//!   (`AbandonCheck`: the runner forgets it, as vigild closes the socket or kills the process
//!   group, and a late answer is dropped).
//! * `SetServer`: applied to the node's table (what the data plane would hold); `Notify`,
//!   `CheckerState`, `RealServerState`, `QuorumState`: recorded in the trace.
//!
//! After every engine call the invariants of [`crate::checks::lvs`] run on what the runner saw.

use std::net::SocketAddr;
use std::rc::Rc;

use vigil_engine::checker::{
    CheckAction, CheckId, CheckInput, CheckOutcome, CheckerEngine, CheckerSetup, Notify, Server,
    TableChange,
};
use vigil_engine::conf::CheckKind;
use vigil_engine::Instant;

use crate::checks::lvs::{self, History, NotifyRecord, Rules, RunEnd, RunRecord, Table};
use crate::checks::ViolationKind;
use crate::contract::Breach;
use crate::driver::{Event, Sim};
use crate::scenario::{NotifyScripts, ServerHealth};
use crate::trace::TraceEvent;

/// Where each checker's probe goes: `connect_ip` / `connect_port` (else the real server) for
/// network checkers, the real server itself for MISC_CHECK (the program checks it).
pub(crate) fn targets(setup: &CheckerSetup) -> Vec<SocketAddr> {
    setup
        .checkers
        .iter()
        .map(|c| match &c.conn {
            Some(conn) => SocketAddr::new(conn.dst, conn.port),
            None => {
                let rs = &setup.virtual_servers[c.vs.0 as usize].real_servers[c.rs as usize];
                SocketAddr::new(rs.addr, rs.port)
            }
        })
        .collect()
}

fn server_name(a: SocketAddr) -> String {
    a.to_string()
}

/// Names for the trace.
#[derive(Debug)]
pub(crate) struct LvsNames {
    /// `TCP_CHECK 192.0.2.21:80`.
    pub checkers: Vec<String>,
    /// `VS 192.0.2.100:80`.
    pub vss: Vec<String>,
    /// `192.0.2.21:80`, per virtual server.
    pub reals: Vec<Vec<String>>,
    /// The sorry server, per virtual server.
    pub sorry: Vec<String>,
    /// The notification scripts.
    pub scripts: NotifyScripts,
}

impl LvsNames {
    fn new(setup: &CheckerSetup, targets: &[SocketAddr], scripts: &NotifyScripts) -> LvsNames {
        LvsNames {
            scripts: scripts.clone(),
            checkers: setup
                .checkers
                .iter()
                .zip(targets)
                .map(|(c, t)| format!("{} {}", c.kind.keyword(), server_name(*t)))
                .collect(),
            vss: setup
                .virtual_servers
                .iter()
                .map(|v| format!("VS {}", v.name))
                .collect(),
            reals: setup
                .virtual_servers
                .iter()
                .map(|v| {
                    v.real_servers
                        .iter()
                        .map(|r| server_name(SocketAddr::new(r.addr, r.port)))
                        .collect()
                })
                .collect(),
            sorry: setup
                .virtual_servers
                .iter()
                .map(|v| match v.sorry_at {
                    Some((a, p)) => format!("sorry server {}", server_name(SocketAddr::new(a, p))),
                    None => "sorry server".into(),
                })
                .collect(),
        }
    }

    fn server(&self, vs: usize, s: Server) -> String {
        match s {
            Server::Real(r) => format!(
                "real server {}",
                self.reals
                    .get(vs)
                    .and_then(|x| x.get(r as usize))
                    .map_or("?", |s| s.as_str())
            ),
            Server::Sorry => self.sorry.get(vs).cloned().unwrap_or_default(),
        }
    }
}

/// A director's checker runner.
#[derive(Debug)]
pub(crate) struct Director {
    pub setup: Rc<CheckerSetup>,
    pub targets: Vec<SocketAddr>,
    pub names: Rc<LvsNames>,
    pub engine: Option<CheckerEngine>,
    /// Engine generation: answers to an earlier engine's runs are dropped.
    pub inc: u64,
    pub timer_gen: u64,
    pub timer_at: u64,
    /// The run the runner has in progress, per checker.
    pub jobs: Vec<Option<u64>>,
    /// What the data plane holds.
    pub table: Table,
    /// What the runner saw since the engine started.
    pub hist: History,
    /// The simulator's model of the rules, fed with `hist`'s run ends.
    pub rules: Rules,
}

impl Director {
    pub(crate) fn new(setup: &CheckerSetup, scripts: &NotifyScripts) -> Director {
        let targets = targets(setup);
        Director {
            names: Rc::new(LvsNames::new(setup, &targets, scripts)),
            targets,
            engine: None,
            inc: 0,
            timer_gen: 0,
            timer_at: u64::MAX,
            jobs: vec![None; setup.checkers.len()],
            table: Table::empty(setup),
            hist: History::new(setup),
            rules: Rules::new(setup),
            setup: Rc::new(setup.clone()),
        }
    }
}

impl Sim {
    /// Node `n` boots (or starts again after a stop): a new checker engine, `Start`.
    pub(crate) fn lvs_boot(&mut self, n: usize) {
        let local = self.nodes[n].local(self.now);
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        self.lvs_disturbed = self.now;
        let setup = Rc::clone(&d.setup);
        d.inc += 1;
        d.timer_gen += 1;
        d.timer_at = u64::MAX;
        d.jobs.fill(None);
        d.table = Table::empty(&setup);
        d.hist = History::new(&setup);
        d.rules = Rules::new(&setup);
        let mut e = CheckerEngine::new(CheckerSetup::clone(&setup));
        // vigild feeds every track file's value before Start (FILE_CHECK): the value the
        // schedule set last, else the file's initial one.
        let node = &self.nodes[n];
        let files: Vec<(String, i64)> = node
            .config
            .track_files
            .iter()
            .map(|f| {
                let v = node
                    .files
                    .iter()
                    .find(|(x, _)| *x == f.name)
                    .map_or(f.initial, |x| x.1);
                (f.name.clone(), v)
            })
            .collect();
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        for (name, value) in files {
            d.hist.steps.push(lvs::Step::File(name.clone(), value));
            d.rules.file(&setup, &name, value);
            e.handle_input(
                Instant::from_nanos(local),
                CheckInput::TrackFile { name, value },
            );
        }
        d.hist.start = Some(local);
        d.hist.steps.push(lvs::Step::Start);
        d.rules.start(&setup, local);
        e.handle_input(Instant::from_nanos(local), CheckInput::Start);
        d.engine = Some(e);
        self.lvs_drain(n);
    }

    /// At the end of the run (`lvs-recovered`): when every real server has been healthy for the
    /// recovery bound, every running director's table holds every real server at its weight.
    pub(crate) fn lvs_finish(&mut self) {
        if self.violation.is_some()
            || !self.plan.checks.liveness
            || self.servers.iter().any(|(_, h)| *h != ServerHealth::Up(0))
        {
            return;
        }
        let latency = self
            .plan
            .server_latency
            .saturating_add(self.plan.server_jitter);
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            let Some(d) = node.lvs.as_ref() else { continue };
            if d.engine.is_none() || d.hist.stopped {
                continue;
            }
            // FILE_CHECK: recovered means every track file back at 0.
            let files_clear = node.config.track_files.iter().all(|f| {
                node.files
                    .iter()
                    .find(|(x, _)| *x == f.name)
                    .map_or(f.initial, |x| x.1)
                    == 0
            });
            if !files_clear {
                continue;
            }
            let bound = lvs::recovery_bound(&d.setup, latency);
            let bound = bound.saturating_add(node.slack(bound));
            // The run's end (an empty queue stops it before its duration).
            let end = self.now.max(self.plan.duration);
            if end.saturating_sub(self.lvs_disturbed) <= bound {
                continue;
            }
            if let Err(b) = lvs::recovered(&d.setup, &d.table) {
                self.now = end;
                return self.violate(ViolationKind::Liveness, b.rule, Some(n), b.detail);
            }
        }
    }

    /// Node `n` crashed: the engine and its runs are gone (the table stays as it was in the
    /// kernel; the next boot starts a new history).
    pub(crate) fn lvs_crash(&mut self, n: usize) {
        if let Some(d) = self.nodes[n].lvs.as_mut() {
            self.lvs_disturbed = self.now;
            d.engine = None;
            d.inc += 1;
            d.timer_gen += 1;
            d.timer_at = u64::MAX;
            d.jobs.fill(None);
        }
    }

    /// Node `n` stops gracefully: `Shutdown` (runs abandoned, table emptied, `omega` scripts).
    pub(crate) fn lvs_stop(&mut self, n: usize) {
        let local = self.nodes[n].local(self.now);
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        let Some(e) = d.engine.as_mut() else { return };
        self.lvs_disturbed = self.now;
        d.hist.stopped = true;
        d.rules.stop();
        e.handle_input(Instant::from_nanos(local), CheckInput::Shutdown);
        self.lvs_drain(n);
    }

    /// A track file of node `n` has a new value (`track_file` fault): FILE_CHECKs follow it.
    pub(crate) fn lvs_file(&mut self, n: usize, name: &str, value: i64) {
        let local = self.nodes[n].local(self.now);
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        let Some(e) = d.engine.as_mut() else { return };
        if d.hist.stopped {
            return;
        }
        d.hist.steps.push(lvs::Step::File(name.to_string(), value));
        d.rules.file(&d.setup, name, value);
        e.handle_input(
            Instant::from_nanos(local),
            CheckInput::TrackFile {
                name: name.to_string(),
                value,
            },
        );
        self.lvs_drain(n);
    }

    /// The checker engine's deadline on node `n`.
    pub(crate) fn lvs_timer(&mut self, n: usize, gen: u64) {
        let local = self.nodes[n].local(self.now);
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        if gen != d.timer_gen {
            return;
        }
        d.timer_at = u64::MAX;
        let Some(e) = d.engine.as_mut() else { return };
        e.handle_timeout(Instant::from_nanos(local));
        self.lvs_drain(n);
    }

    /// A simulated real server answered run `run` of checker `id` of node `n`'s engine `inc`.
    pub(crate) fn lvs_done(&mut self, n: usize, inc: u64, id: u32, run: u64, out: CheckOutcome) {
        let local = self.nodes[n].local(self.now);
        let record = self.record_packets;
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        let i = id as usize;
        if d.inc != inc || d.engine.is_none() || d.jobs.get(i).copied().flatten() != Some(run) {
            return; // abandoned at its deadline, or an earlier engine's
        }
        d.jobs[i] = None;
        let end = RunEnd::Result(out.clone());
        let checked = end_run(d, i, local, end);
        let name = d.names.checkers[i].clone();
        if record {
            let outcome = match &out {
                CheckOutcome::Success => "success".to_string(),
                CheckOutcome::Failure(w) => format!("failure: {w}"),
                CheckOutcome::Exit(c) => format!("exit status {c}"),
            };
            self.record(
                Some(n),
                TraceEvent::CheckEnd {
                    check: name,
                    run,
                    outcome,
                },
            );
        }
        if let Err(b) = checked {
            return self.violate(ViolationKind::Safety, b.rule, Some(n), b.detail);
        }
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return;
        };
        if let Some(e) = d.engine.as_mut() {
            e.handle_input(
                Instant::from_nanos(local),
                CheckInput::Result {
                    id: CheckId(id),
                    run,
                    outcome: out,
                },
            );
        }
        self.lvs_drain(n);
    }

    /// After every checker-engine call: carry out the actions, check, keep one timer.
    fn lvs_drain(&mut self, n: usize) {
        while let Some(a) = self.nodes[n]
            .lvs
            .as_mut()
            .and_then(|d| d.engine.as_mut())
            .and_then(|e| e.poll_action())
        {
            if let Err(b) = self.lvs_act(n, a) {
                return self.violate(ViolationKind::Safety, b.rule, Some(n), b.detail);
            }
        }
        let Some(d) = self.nodes[n].lvs.as_ref() else {
            return;
        };
        if d.engine.is_none() {
            return;
        }
        let expected = d.rules.table(&d.setup);
        let checked = lvs::table_rules(&d.setup, &expected, &d.table)
            .and_then(|()| lvs::down_not_in_use(&d.setup, &d.hist, &d.table));
        if let Err(b) = checked {
            return self.violate(ViolationKind::Safety, b.rule, Some(n), b.detail);
        }
        self.lvs_arm(n);
    }

    fn lvs_arm(&mut self, n: usize) {
        let now = self.now;
        let node = &mut self.nodes[n];
        let want = node
            .lvs
            .as_mut()
            .and_then(|d| d.engine.as_mut())
            .and_then(|e| e.poll_timeout());
        let at = want.map(|w| node.global(w.as_nanos(), now));
        let Some(d) = node.lvs.as_mut() else { return };
        match at {
            Some(at) if at != d.timer_at => {
                d.timer_gen += 1;
                d.timer_at = at;
                let gen = d.timer_gen;
                self.push(at, 0, Event::CheckTimer { node: n, gen });
            }
            Some(_) => {}
            None => {
                d.timer_gen += 1;
                d.timer_at = u64::MAX;
            }
        }
    }

    /// One action of node `n`'s checker engine.
    // Long: one arm per checker-engine action, as vigild's runner has (a flat table).
    fn lvs_act(&mut self, n: usize, a: CheckAction) -> Result<(), Breach> {
        let local = self.nodes[n].local(self.now);
        let Some(d) = self.nodes[n].lvs.as_mut() else {
            return Ok(());
        };
        let names = Rc::clone(&d.names);
        match a {
            CheckAction::RunCheck {
                id,
                run,
                deadline,
                scheduled,
                ..
            } => {
                let i = id.0 as usize;
                let rec = RunRecord {
                    run,
                    start: local,
                    deadline: deadline.as_nanos(),
                    end: None,
                };
                let timeout =
                    u64::try_from(d.setup.checkers[i].timeout.as_nanos()).unwrap_or(u64::MAX);
                let due = d.rules.scheduled(i);
                d.hist.runs[i].push(rec.clone());
                d.jobs[i] = Some(run);
                let runs = &d.hist.runs[i];
                lvs::announced(due, run, scheduled.as_nanos())?;
                lvs::on_schedule(due, &rec, timeout)?;
                lvs::no_overlap(&runs[runs.len().saturating_sub(2)..])?;
                let target = d.targets[i];
                let kind = d.setup.checkers[i].kind.clone();
                let inc = d.inc;
                if self.record_packets {
                    self.record(
                        Some(n),
                        TraceEvent::CheckRun {
                            check: names.checkers[i].clone(),
                            run,
                            deadline: deadline.as_nanos(),
                        },
                    );
                }
                self.probe(n, inc, id.0, run, target, &kind);
            }
            CheckAction::AbandonCheck { id, run } => {
                let i = id.0 as usize;
                if d.jobs.get(i).copied().flatten() == Some(run) {
                    d.jobs[i] = None;
                    let checked = end_run(d, i, local, RunEnd::Abandoned);
                    if self.record_packets {
                        self.record(
                            Some(n),
                            TraceEvent::CheckEnd {
                                check: names.checkers[i].clone(),
                                run,
                                outcome: "abandoned at its deadline".into(),
                            },
                        );
                    }
                    checked?;
                }
            }
            CheckAction::SetServer {
                vs,
                server,
                change,
                reason,
            } => {
                let v = vs.0 as usize;
                let who = names.server(v, server);
                let Some(slot) = d.table.slot(vs, server) else {
                    return Err(Breach {
                        rule: "table-change",
                        detail: format!("{who}: no such server in the setup"),
                    });
                };
                let (ok, weight, verb) = match change {
                    TableChange::Add(w) => (
                        slot.is_none(),
                        Some(w),
                        format!("adds {who} with weight {w}"),
                    ),
                    TableChange::Weight(w) => {
                        (slot.is_some(), Some(w), format!("sets {who} to weight {w}"))
                    }
                    TableChange::Remove => (slot.is_some(), None, format!("removes {who}")),
                };
                if !ok {
                    return Err(Breach {
                        rule: "table-change",
                        detail: format!(
                            "{}: {change:?} of {who}, which holds {slot:?}",
                            names.vss[v]
                        ),
                    });
                }
                *slot = weight;
                self.record(
                    Some(n),
                    TraceEvent::Table {
                        vs: vs.0,
                        server: match server {
                            Server::Real(r) => Some(r),
                            Server::Sorry => None,
                        },
                        weight,
                        who: match server {
                            Server::Real(r) => names
                                .reals
                                .get(v)
                                .and_then(|x| x.get(r as usize))
                                .cloned()
                                .unwrap_or_default(),
                            Server::Sorry => names.sorry[v].replace("sorry server", "sorry"),
                        },
                        what: format!("{} table {verb} ({reason})", names.vss[v]),
                    },
                );
            }
            CheckAction::Notify(note) => {
                let stopping = d.hist.stopped;
                let sc = &names.scripts;
                let rs = |vs: usize, r: u32| sc.reals.get(vs).and_then(|x| x.get(r as usize));
                let (what, script) = match note {
                    Notify::RealServerUp(vs, r) => (
                        format!(
                            "notify_up of {}",
                            names.server(vs.0 as usize, Server::Real(r))
                        ),
                        rs(vs.0 as usize, r).and_then(|x| x.0.clone()),
                    ),
                    Notify::RealServerDown(vs, r) => (
                        format!(
                            "notify_down of {}",
                            names.server(vs.0 as usize, Server::Real(r))
                        ),
                        rs(vs.0 as usize, r).and_then(|x| x.1.clone()),
                    ),
                    Notify::QuorumUp(vs) => (
                        format!("quorum_up of {}", names.vss[vs.0 as usize]),
                        sc.quorum.get(vs.0 as usize).and_then(|x| x.0.clone()),
                    ),
                    Notify::QuorumDown(vs) => (
                        format!("quorum_down of {}", names.vss[vs.0 as usize]),
                        sc.quorum.get(vs.0 as usize).and_then(|x| x.1.clone()),
                    ),
                };
                let what = match script {
                    Some(cmd) => format!("runs {what}: {cmd}"),
                    None => format!("{what} (no script configured: the FIFO line only)"),
                };
                let mut checked = Ok(());
                if let Notify::QuorumUp(vs) | Notify::QuorumDown(vs) = note {
                    if let Some(list) = d.hist.quorum_notifies.get_mut(vs.0 as usize) {
                        list.push(NotifyRecord {
                            at: local,
                            notify: note,
                            stopping,
                        });
                        checked = lvs::quorum_alternates(&list[list.len().saturating_sub(2)..]);
                    }
                }
                self.record(Some(n), TraceEvent::Notify { what });
                checked?;
            }
            CheckAction::CheckerState { id, up, why } => {
                self.record(
                    Some(n),
                    TraceEvent::Checker {
                        check: names.checkers[id.0 as usize].clone(),
                        up,
                        why,
                    },
                );
            }
            CheckAction::RealServerState { vs, rs, up } => {
                self.record(
                    Some(n),
                    TraceEvent::RealServer {
                        server: format!(
                            "{} of {}",
                            names.server(vs.0 as usize, Server::Real(rs)),
                            names.vss[vs.0 as usize]
                        ),
                        up,
                    },
                );
            }
            CheckAction::QuorumState {
                vs,
                up,
                weight_sum,
                threshold,
            } => {
                self.record(
                    Some(n),
                    TraceEvent::Quorum {
                        vs: names.vss[vs.0 as usize].clone(),
                        up,
                        sum: weight_sum,
                        threshold,
                    },
                );
            }
            CheckAction::Reloaded { .. } => {
                return Err(Breach {
                    rule: "table-change",
                    detail: "the checker engine reported a reload nobody asked for".into(),
                });
            }
        }
        Ok(())
    }

    /// Run `run` of checker `id` reaches the simulated server at `target`: its answer, if any,
    /// comes back after the latency (health as at the start of the run).
    fn probe(
        &mut self,
        n: usize,
        inc: u64,
        id: u32,
        run: u64,
        target: SocketAddr,
        kind: &CheckKind,
    ) {
        let health = self
            .servers
            .iter()
            .find(|(a, _)| *a == target)
            .map_or(ServerHealth::Up(0), |(_, h)| *h);
        let jitter = self.plan.server_jitter;
        let latency = self.plan.server_latency.saturating_add(if jitter > 0 {
            self.check_rng.below(jitter.saturating_add(1))
        } else {
            0
        });
        let misc = matches!(kind, CheckKind::Misc { .. });
        let (after, outcome) = match health {
            ServerHealth::Hanging => return,
            ServerHealth::Up(c) => (latency, pass(misc, c)),
            ServerHealth::Slow(d, c) => (d, pass(misc, c)),
            ServerHealth::Down => (latency, refuse(kind)),
        };
        let at = self.now.saturating_add(after);
        self.push(
            at,
            0,
            Event::CheckDone {
                node: n,
                inc,
                id,
                run,
                outcome,
            },
        );
    }
}

fn pass(misc: bool, exit: u8) -> CheckOutcome {
    if misc {
        CheckOutcome::Exit(exit)
    } else {
        CheckOutcome::Success
    }
}

fn refuse(kind: &CheckKind) -> CheckOutcome {
    match kind {
        CheckKind::Misc { .. } => CheckOutcome::Exit(1),
        CheckKind::Udp { .. } => CheckOutcome::Failure("ICMP port unreachable".into()),
        CheckKind::Ping | CheckKind::Dns { .. } => {
            CheckOutcome::Failure("ICMP destination unreachable".into())
        }
        _ => CheckOutcome::Failure("connection refused".into()),
    }
}

/// Records the end of checker `i`'s last run and applies it to the rules (a shutdown's
/// abandonments end runs without counting); then `check-deadline`.
fn end_run(d: &mut Director, i: usize, local: u64, end: RunEnd) -> Result<(), Breach> {
    let stopping = d.hist.stopped;
    let Some(last) = d.hist.runs[i].last_mut() else {
        return Ok(());
    };
    last.end = Some((local, end.clone()));
    if stopping {
        return Ok(());
    }
    let k = d.hist.runs[i].len() - 1;
    d.hist.steps.push(lvs::Step::Ended(i, k));
    d.rules.ended(&d.setup, i, local, &end);
    lvs::ended_in_time(&d.hist.runs[i][k])
}
