//! The health checkers' invariants: functions of what the simulated runner saw (the runs it
//! started and how each ended, the notifications it ran, the table it holds), each returning the
//! broken rule. They never ask the checker engine: [`Rules`] is the simulator's own reading of
//! keepalived.conf(5), built only from the history of check results.
//!
//! - `checker-down-in-use`: a real server is never in use (in the table with a weight above 0)
//!   while its last `retry` + 1 runs of one of its checkers failed (keepalived's `retry` counts
//!   the attempts *after* the first failure: `retry 2` is three failures in a row), or while a
//!   checker has failed every run so far (at start-up one failure is enough), or before an
//!   `alpha` checker's first success.
//! - `table-rules`: after every engine call, the table equals what the rules say ([`Rules`]).
//! - `quorum-alternates`: a virtual server's `quorum_up` / `quorum_down` scripts alternate. The
//!   one exception is keepalived's: at shutdown with `omega`, `quorum_down` runs whatever the
//!   quorum was (keepalived 2.2.7 `ipwrapper.c`, `update_vs_notifies` with `stopping`).
//! - `check-overlap`: no run of a checker starts before its previous run ended.
//! - `check-schedule`: each run starts when the seed's rule says: the first at start + warmup *
//!   k / n (the k-th of n checkers), each next one at its predecessor's *scheduled* time plus
//!   `delay_loop` (or `delay_before_retry` when the failure calls for a retry), or as the
//!   predecessor ends if that is later (a slow check never shifts the schedule).
//! - `check-deadline`: a run's deadline is its start plus the checker's timeout; a run that has
//!   not ended by then is abandoned exactly then (and counts as a failure, which [`Rules`]
//!   applies); no result is taken after its deadline.

use vigil_engine::checker::{CheckOutcome, CheckerSetup, Notify, Server, VsId};
use vigil_engine::conf::CheckKind;

use crate::contract::Breach;

/// Slack for a time read on a drifting node clock (the simulator serves a local deadline at the
/// first virtual nanosecond whose local reading is at or past it).
pub const CLOCK_SLACK: u64 = 1_000;

/// How a run ended, as the runner saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Its result came back and was fed to the engine.
    Result(CheckOutcome),
    /// The engine abandoned it at its deadline (`AbandonCheck`).
    Abandoned,
}

/// One run of a checker (times on the director's clock, nanoseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// The engine's run number.
    pub run: u64,
    /// When the engine asked for it (`RunCheck`).
    pub start: u64,
    /// The deadline the engine gave.
    pub deadline: u64,
    /// When and how it ended.
    pub end: Option<(u64, RunEnd)>,
}

/// One notification the runner ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifyRecord {
    /// When (director's clock).
    pub at: u64,
    /// Which.
    pub notify: Notify,
    /// Run while the engine was shutting down.
    pub stopping: bool,
}

/// A virtual server table as the data plane would hold it: per real server and for the sorry
/// server, nothing (out) or a weight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// `reals[vs][rs]`.
    pub reals: Vec<Vec<Option<u32>>>,
    /// `sorry[vs]`.
    pub sorry: Vec<Option<u32>>,
}

impl Table {
    /// Everything out, shaped like `setup`.
    pub fn empty(setup: &CheckerSetup) -> Table {
        Table {
            reals: setup
                .virtual_servers
                .iter()
                .map(|v| vec![None; v.real_servers.len()])
                .collect(),
            sorry: vec![None; setup.virtual_servers.len()],
        }
    }

    /// The entry of `server` in virtual server `vs`.
    pub fn get(&self, vs: VsId, server: Server) -> Option<u32> {
        let v = vs.0 as usize;
        match server {
            Server::Real(r) => self
                .reals
                .get(v)
                .and_then(|x| x.get(r as usize))
                .copied()
                .flatten(),
            Server::Sorry => self.sorry.get(v).copied().flatten(),
        }
    }

    /// Mutable entry of `server` (`None` when the numbers are out of range).
    pub fn slot(&mut self, vs: VsId, server: Server) -> Option<&mut Option<u32>> {
        let v = vs.0 as usize;
        match server {
            Server::Real(r) => self.reals.get_mut(v)?.get_mut(r as usize),
            Server::Sorry => self.sorry.get_mut(v),
        }
    }
}

/// Whether a run's end counts as a pass, and the weight it gives its real server (added to the
/// configured weight): keepalived.conf(5) MISC_CHECK `misc_dynamic` (status 2..=255 sets the
/// weight to status - 2), UDP_CHECK without `require_reply` (silence until the deadline passes).
pub fn passed(setup: &CheckerSetup, id: usize, end: &RunEnd) -> (bool, i64) {
    let spec = &setup.checkers[id];
    let base = setup
        .virtual_servers
        .get(spec.vs.0 as usize)
        .and_then(|v| v.real_servers.get(spec.rs as usize))
        .map_or(0, |r| i64::from(r.weight));
    match end {
        RunEnd::Abandoned => (spec.silence_passes(), 0),
        RunEnd::Result(CheckOutcome::Success) | RunEnd::Result(CheckOutcome::Exit(0)) => (true, 0),
        RunEnd::Result(CheckOutcome::Exit(c)) if spec.dynamic() && *c >= 2 => {
            (true, i64::from(*c) - 2 - base)
        }
        RunEnd::Result(_) => (false, 0),
    }
}

/// One checker under the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CheckerRule {
    /// Runs ended so far.
    ended: u64,
    /// Failures in a row since the last pass.
    fails: u32,
    /// Whether any run passed.
    passed_ever: bool,
    /// The weight the last pass gave.
    weight: i64,
    /// When its current (or next) run is scheduled, director clock (`None`: not scheduled).
    scheduled: Option<u64>,
    /// FILE_CHECK: up and weight from its file's last value (`None`: no value yet).
    file: Option<(bool, i64)>,
}

/// The simulator's model of the checker rules (keepalived.conf(5): `retry`, `alpha`,
/// `misc_dynamic`, `weight`, `inhibit_on_failure`, `quorum`, `hysteresis`, `sorry_server`,
/// `sorry_server_inhibit`; the schedule of `delay_loop`, `delay_before_retry`, `warmup`), fed
/// only with how runs ended. Written from the manual page, not from the engine's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    checkers: Vec<CheckerRule>,
    /// Per virtual server: quorum met, sorry server in use.
    quorum: Vec<(bool, bool)>,
    /// The last value of each track file the runner fed (0 before any).
    files: Vec<(String, i64)>,
    started: Option<u64>,
    stopped: bool,
}

impl Rules {
    /// Before start-up.
    pub fn new(setup: &CheckerSetup) -> Rules {
        Rules {
            checkers: vec![CheckerRule::default(); setup.checkers.len()],
            quorum: vec![(false, false); setup.virtual_servers.len()],
            files: Vec::new(),
            started: None,
            stopped: false,
        }
    }

    /// Whether checker `id` is up: before its first result, unless `alpha`; after a pass; after
    /// a failure, when it has passed before and fewer than `retry` + 1 failures followed.
    pub fn checker_up(&self, setup: &CheckerSetup, id: usize) -> bool {
        let c = &self.checkers[id];
        let spec = &setup.checkers[id];
        if let Some((up, _)) = c.file {
            return up;
        }
        if c.ended == 0 {
            return !spec.alpha;
        }
        c.fails == 0 || (c.passed_ever && c.fails <= spec.retry)
    }

    /// A real server is alive when all its checkers are up.
    pub fn alive(&self, setup: &CheckerSetup, vs: usize, rs: usize) -> bool {
        setup.virtual_servers[vs].real_servers[rs]
            .checkers
            .iter()
            .all(|c| self.checker_up(setup, c.0 as usize))
    }

    /// Its weight: configured plus what its up checkers' last passes gave, clamped to IPVS's
    /// 0..=2^31-1.
    pub fn weight(&self, setup: &CheckerSetup, vs: usize, rs: usize) -> u32 {
        let spec = &setup.virtual_servers[vs].real_servers[rs];
        let adjust: i64 = spec
            .checkers
            .iter()
            .map(|c| c.0 as usize)
            .filter(|&c| self.checker_up(setup, c))
            .map(|c| match self.checkers[c].file {
                Some((_, w)) => w,
                None => self.checkers[c].weight,
            })
            .sum();
        let w = i64::from(spec.weight).saturating_add(adjust);
        u32::try_from(w.clamp(0, i64::from(i32::MAX))).unwrap_or(0)
    }

    /// The sum of the alive real servers' weights.
    pub fn live_weight(&self, setup: &CheckerSetup, vs: usize) -> u64 {
        (0..setup.virtual_servers[vs].real_servers.len())
            .filter(|&r| self.alive(setup, vs, r))
            .map(|r| u64::from(self.weight(setup, vs, r)))
            .sum()
    }

    /// Quorum with hysteresis: gained when the live weight reaches `quorum + hysteresis`, lost
    /// when it falls below `quorum - hysteresis` or to 0; at start-up, below it with a sorry
    /// server, the sorry server is in use.
    fn settle(&mut self, setup: &CheckerSetup, vs: usize, init: bool) {
        let spec = &setup.virtual_servers[vs];
        let (q, h) = (u64::from(spec.quorum), u64::from(spec.hysteresis));
        let sum = self.live_weight(setup, vs);
        let has_sorry = spec.sorry.is_some();
        let (up, sorry) = &mut self.quorum[vs];
        if !*up && sum >= q + h {
            *up = true;
            *sorry = false;
        } else if *up && (sum == 0 || sum < q.saturating_sub(h)) {
            *up = false;
            *sorry = has_sorry;
        } else if init && !*up && has_sorry {
            *sorry = true;
        }
    }

    /// Start-up at `now`: the first runs are scheduled (the k-th of n checkers at now + warmup
    /// * k / n), every virtual server's quorum evaluated.
    pub fn start(&mut self, setup: &CheckerSetup, now: u64) {
        self.started = Some(now);
        let n = setup.checkers.len() as u128;
        for (k, spec) in setup.checkers.iter().enumerate() {
            if spec.runs() {
                let off = spec.warmup.as_nanos().saturating_mul(k as u128) / n.max(1);
                let off = u64::try_from(off).unwrap_or(u64::MAX);
                self.checkers[k].scheduled = Some(now.saturating_add(off));
            }
        }
        for v in 0..setup.virtual_servers.len() {
            self.settle(setup, v, true);
        }
    }

    /// When checker `id`'s next run is due (`None`: not scheduled).
    pub fn scheduled(&self, id: usize) -> Option<u64> {
        self.checkers.get(id).and_then(|c| c.scheduled)
    }

    /// Run of checker `id` ended at `now` with `end`: its state, the schedule of its next run
    /// (its scheduled time plus `delay_loop`, or `delay_before_retry` when the failure is one
    /// to retry, or `now` if that is later), and its virtual server's quorum.
    pub fn ended(&mut self, setup: &CheckerSetup, id: usize, now: u64, end: &RunEnd) {
        let spec = &setup.checkers[id];
        let vs = spec.vs.0 as usize;
        let rs = spec.rs as usize;
        let before = (
            self.alive(setup, vs, rs),
            self.weight(setup, vs, rs),
            self.checker_up(setup, id),
        );
        let (ok, w) = passed(setup, id, end);
        let c = &mut self.checkers[id];
        c.ended += 1;
        if ok {
            c.fails = 0;
            c.passed_ever = true;
            c.weight = w;
        } else {
            c.fails = c.fails.saturating_add(1);
        }
        let retry = !ok && c.passed_ever && c.fails <= spec.retry;
        let delay = if retry {
            spec.delay_before_retry
        } else {
            spec.delay_loop
        };
        let delay = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        c.scheduled = c.scheduled.map(|s| s.saturating_add(delay).max(now));
        let after = (
            self.alive(setup, vs, rs),
            self.weight(setup, vs, rs),
            self.checker_up(setup, id),
        );
        if before != after {
            self.settle(setup, vs, false);
        }
    }

    /// A track file's value changed (FILE_CHECK, keepalived.conf(5)): with `weight` 0 the
    /// checker is up while the value is 0; otherwise it is up with value x `weight` (negated
    /// with `reverse`) added to its real server's weight, and down when that product is at or
    /// below -2^31. A value equal to the last one changes nothing. Before start-up only the
    /// checkers' states are set (start-up evaluates the quorums).
    pub fn file(&mut self, setup: &CheckerSetup, name: &str, value: i64) {
        if self.stopped {
            return;
        }
        let last = self
            .files
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |f| f.1);
        if last == value {
            return;
        }
        match self.files.iter_mut().find(|(n, _)| n == name) {
            Some(f) => f.1 = value,
            None => self.files.push((name.to_string(), value)),
        }
        for (id, spec) in setup.checkers.iter().enumerate() {
            let CheckKind::File {
                track_file,
                weight,
                reverse,
            } = &spec.kind
            else {
                continue;
            };
            if track_file != name {
                continue;
            }
            let (vs, rs) = (spec.vs.0 as usize, spec.rs as usize);
            let before = (self.alive(setup, vs, rs), self.weight(setup, vs, rs));
            let state = if *weight == 0 {
                (value == 0, 0)
            } else {
                let sign = if *reverse { -1 } else { 1 };
                let p = value
                    .saturating_mul(i64::from(*weight))
                    .saturating_mul(sign);
                if p <= i64::from(i32::MIN) {
                    (false, 0)
                } else {
                    (true, p)
                }
            };
            self.checkers[id].file = Some(state);
            let after = (self.alive(setup, vs, rs), self.weight(setup, vs, rs));
            if self.started.is_some() && before != after {
                self.settle(setup, vs, false);
            }
        }
    }

    /// Shutdown: every server leaves the table.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether the quorum of `vs` is met and whether its sorry server is in use.
    pub fn quorum(&self, vs: usize) -> (bool, bool) {
        self.quorum.get(vs).copied().unwrap_or((false, false))
    }

    /// The table the rules call for: nothing after shutdown; while the sorry server is in use
    /// it is in at weight 1 and the real servers are out (or at 0 with `inhibit_on_failure`);
    /// otherwise an alive real server is in at its weight, a dead one out (or at 0 with
    /// `inhibit_on_failure`), and the sorry server out (or at 0 with `sorry_server_inhibit`).
    pub fn table(&self, setup: &CheckerSetup) -> Table {
        let mut t = Table::empty(setup);
        if self.stopped || self.started.is_none() {
            return t;
        }
        for (v, spec) in setup.virtual_servers.iter().enumerate() {
            let (_, sorry) = self.quorum[v];
            for (r, rs) in spec.real_servers.iter().enumerate() {
                t.reals[v][r] = if self.alive(setup, v, r) && !sorry {
                    Some(self.weight(setup, v, r))
                } else if rs.inhibit {
                    Some(0)
                } else {
                    None
                };
            }
            t.sorry[v] = match spec.sorry {
                None => None,
                Some(_) if sorry => Some(1),
                Some(true) => Some(0),
                Some(false) => None,
            };
        }
        t
    }
}

/// One thing the runner fed the engine that the rules depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `CheckInput::Start` (at [`History::start`]).
    Start,
    /// A run ended: (checker, index in its runs).
    Ended(usize, usize),
    /// A track file's value (FILE_CHECK).
    File(String, i64),
}

/// Everything a director's runner saw since its engine started: the input of the invariants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// When the engine got `Start` (director clock).
    pub start: Option<u64>,
    /// Runs, per checker, in order.
    pub runs: Vec<Vec<RunRecord>>,
    /// Run ends and track-file values, in the order the runner handled them.
    pub steps: Vec<Step>,
    /// Quorum notifications, per virtual server.
    pub quorum_notifies: Vec<Vec<NotifyRecord>>,
    /// Whether the engine was told to shut down.
    pub stopped: bool,
}

impl History {
    /// An empty history shaped like `setup`.
    pub fn new(setup: &CheckerSetup) -> History {
        History {
            start: None,
            runs: vec![Vec::new(); setup.checkers.len()],
            steps: Vec::new(),
            quorum_notifies: vec![Vec::new(); setup.virtual_servers.len()],
            stopped: false,
        }
    }
}

fn breach(rule: &'static str, detail: String) -> Result<(), Breach> {
    Err(Breach { rule, detail })
}

/// What the rules say the table is after `history` (every run end applied in the order the
/// runner handled them, from start-up).
pub fn expected_table(setup: &CheckerSetup, history: &History) -> Table {
    let mut r = Rules::new(setup);
    for step in &history.steps {
        match step {
            Step::Start => r.start(setup, history.start.unwrap_or(0)),
            Step::File(name, value) => r.file(setup, name, *value),
            Step::Ended(id, k) => {
                if let Some((at, end)) = history.runs.get(*id).and_then(|v| v.get(*k)?.end.as_ref())
                {
                    r.ended(setup, *id, *at, end);
                }
            }
        }
    }
    if history.stopped {
        r.stop();
    }
    r.table(setup)
}

/// `table-rules`: the runner's table equals `expected`.
pub fn table_rules(setup: &CheckerSetup, expected: &Table, actual: &Table) -> Result<(), Breach> {
    if expected == actual {
        return Ok(());
    }
    for (v, spec) in setup.virtual_servers.iter().enumerate() {
        let vs = VsId(v as u32);
        let servers = (0..spec.real_servers.len() as u32)
            .map(Server::Real)
            .chain([Server::Sorry]);
        for s in servers {
            let (e, a) = (expected.get(vs, s), actual.get(vs, s));
            if e != a {
                let who = match s {
                    Server::Real(r) => {
                        let rs = &spec.real_servers[r as usize];
                        format!("real server {}:{}", rs.addr, rs.port)
                    }
                    Server::Sorry => "the sorry server".into(),
                };
                return breach(
                    "table-rules",
                    format!(
                        "VS {}: {who} is {} in the table, the rules say {}",
                        spec.name,
                        show(a),
                        show(e)
                    ),
                );
            }
        }
    }
    breach(
        "table-rules",
        "the table's shape differs from the rules'".into(),
    )
}

fn show(w: Option<u32>) -> String {
    w.map_or("out".to_string(), |w| format!("weight {w}"))
}

/// `checker-down-in-use`: no real server with a checker whose last `retry` + 1 runs failed (or
/// every run so far, or an `alpha` checker that has not passed yet) is in the table above
/// weight 0.
pub fn down_not_in_use(
    setup: &CheckerSetup,
    history: &History,
    table: &Table,
) -> Result<(), Breach> {
    for (id, spec) in setup.checkers.iter().enumerate() {
        let Some(runs) = history.runs.get(id) else {
            continue;
        };
        let need = spec.retry as usize + 1;
        let mut seen = 0;
        let mut all_failed = true;
        for r in runs.iter().rev() {
            let Some((_, end)) = &r.end else { continue };
            seen += 1;
            if passed(setup, id, end).0 {
                all_failed = false;
                break;
            }
            if seen == need {
                break;
            }
        }
        let bad = (seen > 0 && all_failed) || (seen == 0 && spec.alpha);
        if !bad {
            continue;
        }
        let w = table.get(spec.vs, Server::Real(spec.rs));
        if w.is_some_and(|w| w > 0) {
            let v = &setup.virtual_servers[spec.vs.0 as usize];
            let rs = &v.real_servers[spec.rs as usize];
            let why = if seen == 0 {
                "its alpha checker has not passed yet".to_string()
            } else {
                format!(
                    "the last {seen} run(s) of its checker {id} failed (retry {})",
                    spec.retry
                )
            };
            return breach(
                "checker-down-in-use",
                format!(
                    "VS {}: real server {}:{} is in use (weight {}) while {why}",
                    v.name,
                    rs.addr,
                    rs.port,
                    w.unwrap_or(0)
                ),
            );
        }
    }
    Ok(())
}

/// `quorum-alternates`: the quorum notifications of one virtual server alternate up / down
/// (a `quorum_down` at shutdown, under `omega`, excepted).
pub fn quorum_alternates(notifies: &[NotifyRecord]) -> Result<(), Breach> {
    let up = |n: &NotifyRecord| matches!(n.notify, Notify::QuorumUp(_));
    for w in notifies.windows(2) {
        if up(&w[0]) == up(&w[1]) && !w[1].stopping {
            let name = if up(&w[1]) {
                "quorum_up"
            } else {
                "quorum_down"
            };
            return breach(
                "quorum-alternates",
                format!("{name} ran twice in a row (at {} and {})", w[0].at, w[1].at),
            );
        }
    }
    Ok(())
}

/// `check-overlap`: each run of one checker starts after the previous one ended.
pub fn no_overlap(runs: &[RunRecord]) -> Result<(), Breach> {
    for w in runs.windows(2) {
        match &w[0].end {
            Some((end, _)) if *end <= w[1].start => {}
            Some((end, _)) => {
                return breach(
                    "check-overlap",
                    format!(
                        "run {} started at {} before run {} ended at {end}",
                        w[1].run, w[1].start, w[0].run
                    ),
                )
            }
            None => {
                return breach(
                    "check-overlap",
                    format!(
                        "run {} started at {} while run {} was still running",
                        w[1].run, w[1].start, w[0].run
                    ),
                )
            }
        }
    }
    Ok(())
}

/// `check-schedule` for the time the engine says a run was scheduled at (`RunCheck`'s
/// `scheduled`, which vigild logs beside when it served the run): exactly the rules' `due`.
pub fn announced(due: Option<u64>, run: u64, scheduled: u64) -> Result<(), Breach> {
    if due == Some(scheduled) {
        return Ok(());
    }
    breach(
        "check-schedule",
        format!("run {run} says it was scheduled at {scheduled}, the schedule says {due:?}"),
    )
}

/// `check-schedule` and `check-deadline` for one run that just started: due at `due` (from
/// [`Rules::scheduled`]), deadline its start plus `timeout`.
pub fn on_schedule(due: Option<u64>, run: &RunRecord, timeout: u64) -> Result<(), Breach> {
    let Some(due) = due else {
        return breach(
            "check-schedule",
            format!("run {} started at {} but none was due", run.run, run.start),
        );
    };
    if run.start < due || run.start > due.saturating_add(CLOCK_SLACK) {
        return breach(
            "check-schedule",
            format!(
                "run {} started at {}, the schedule says {due}",
                run.run, run.start
            ),
        );
    }
    if run.deadline != run.start.saturating_add(timeout) {
        return breach(
            "check-deadline",
            format!(
                "run {} started at {} has its deadline at {}, not start + timeout {timeout}",
                run.run, run.start, run.deadline
            ),
        );
    }
    Ok(())
}

/// `check-deadline` for one run that ended: abandoned exactly at its deadline, a result taken
/// no later than it.
pub fn ended_in_time(run: &RunRecord) -> Result<(), Breach> {
    match &run.end {
        Some((at, RunEnd::Abandoned))
            if *at < run.deadline || *at > run.deadline.saturating_add(CLOCK_SLACK) =>
        {
            breach(
                "check-deadline",
                format!(
                    "run {} abandoned at {at}, its deadline was {}",
                    run.run, run.deadline
                ),
            )
        }
        Some((at, RunEnd::Result(_))) if *at > run.deadline => breach(
            "check-deadline",
            format!(
                "run {}'s result was taken at {at}, after its deadline {}",
                run.run, run.deadline
            ),
        ),
        _ => Ok(()),
    }
}

/// `lvs-recovered` (liveness): once every real server has answered well for long enough, every
/// real server is in the table at its configured weight and no sorry server is in use, in every
/// virtual server whose total weight can meet `quorum + hysteresis`.
pub fn recovered(setup: &CheckerSetup, table: &Table) -> Result<(), Breach> {
    for (v, spec) in setup.virtual_servers.iter().enumerate() {
        let total: u64 = spec.real_servers.iter().map(|r| u64::from(r.weight)).sum();
        if total < u64::from(spec.quorum) + u64::from(spec.hysteresis) {
            continue;
        }
        let vs = VsId(v as u32);
        for (r, rs) in spec.real_servers.iter().enumerate() {
            let have = table.get(vs, Server::Real(r as u32));
            if have != Some(rs.weight) {
                return breach(
                    "lvs-recovered",
                    format!(
                        "VS {}: real server {}:{} is {} in the table long after every server \
                         recovered (configured weight {})",
                        spec.name,
                        rs.addr,
                        rs.port,
                        show(have),
                        rs.weight
                    ),
                );
            }
        }
        if table.get(vs, Server::Sorry).is_some_and(|w| w > 0) {
            return breach(
                "lvs-recovered",
                format!(
                    "VS {}: the sorry server is still in use long after every server recovered",
                    spec.name
                ),
            );
        }
    }
    Ok(())
}

/// How long after the last disturbance (a server's health, a director's boot or stop) every
/// checker has seen its server well again: a run under way may hang until its timeout, the next
/// (or a retry) follows within `delay_loop`, after a boot the first run within `warmup`; plus
/// the answer's latency. A FILE_CHECK follows its file at once.
pub fn recovery_bound(setup: &CheckerSetup, latency: u64) -> u64 {
    let ns = |d: core::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    setup
        .checkers
        .iter()
        .filter(|c| c.runs())
        .map(|c| {
            ns(c.warmup)
                .saturating_add(ns(c.delay_loop))
                .saturating_add(ns(c.delay_before_retry))
                .saturating_add(ns(c.timeout).saturating_mul(2))
        })
        .max()
        .unwrap_or(0)
        .saturating_add(latency)
}

#[cfg(test)]
mod tests;
