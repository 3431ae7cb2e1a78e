//! The checker engine driven in virtual time by a scripted runner: tests named after the rules
//! of keepalived.conf(5), a property test over random outcomes, and snapshotted traces.

use core::time::Duration;
use std::fmt::Write as _;

use proptest::prelude::*;

use super::*;
use crate::conf;

/// How a real server answers a check started at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// Success after this long.
    Ok(Duration),
    /// Failure after this long.
    Fail(Duration),
    /// MISC_CHECK exit status after this long.
    Exit(u8, Duration),
    /// Never answers.
    Hang,
}

type Script = Box<dyn Fn(usize, Instant) -> Answer>;

/// A scripted runner: starts checks, answers them per `script`, records a trace.
struct Harness {
    engine: CheckerEngine,
    script: Script,
    /// (due, id, run, outcome)
    pending: Vec<(Instant, u32, u64, CheckOutcome)>,
    now: Instant,
    trace: String,
    actions: Vec<(Instant, CheckAction)>,
    /// The run each checker has outstanding (started, neither answered nor abandoned).
    outstanding: Vec<Option<u64>>,
    /// A run was started while the checker's previous run was outstanding.
    overlapped: bool,
}

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

fn at(secs: f64) -> Instant {
    Instant::from_nanos((secs * 1e9).round() as u64)
}

impl Harness {
    fn new(conf_text: &str, script: Script) -> Harness {
        let cfg = conf::parse_str(conf_text).unwrap_or_else(|e| panic!("{e}"));
        let setup = CheckerSetup::from_conf(&cfg);
        let mut h = Harness {
            engine: CheckerEngine::new(setup),
            script,
            pending: Vec::new(),
            now: Instant::ZERO,
            trace: String::new(),
            actions: Vec::new(),
            outstanding: Vec::new(),
            overlapped: false,
        };
        h.engine.handle_input(Instant::ZERO, CheckInput::Start);
        h.drain();
        h
    }

    fn drain(&mut self) {
        while let Some(a) = self.engine.poll_action() {
            if let CheckAction::Reloaded { checkers, .. } = &a {
                // The runner's side of a reload: runs of kept checkers go on under new numbers.
                let new_of = |id: u32| checkers.get(id as usize).copied().flatten();
                self.pending.retain_mut(|p| match new_of(p.1) {
                    Some(n) => {
                        p.1 = n.0;
                        true
                    }
                    None => false,
                });
                let mut outstanding = Vec::new();
                for (o, run) in self.outstanding.iter().enumerate() {
                    if let (Some(n), Some(run)) = (new_of(o as u32), run) {
                        let k = n.0 as usize;
                        if outstanding.len() <= k {
                            outstanding.resize(k + 1, None);
                        }
                        outstanding[k] = Some(*run);
                    }
                }
                self.outstanding = outstanding;
            }
            if let CheckAction::AbandonCheck { id, .. } = &a {
                if let Some(o) = self.outstanding.get_mut(id.0 as usize) {
                    *o = None;
                }
            }
            if let CheckAction::RunCheck { id, run, .. } = &a {
                let k = id.0 as usize;
                if self.outstanding.len() <= k {
                    self.outstanding.resize(k + 1, None);
                }
                self.overlapped |= self.outstanding[k].is_some();
                self.outstanding[k] = Some(*run);
                let ans = (self.script)(id.0 as usize, self.now);
                match ans {
                    Answer::Ok(d) => {
                        self.pending
                            .push((self.now + d, id.0, *run, CheckOutcome::Success))
                    }
                    Answer::Fail(d) => self.pending.push((
                        self.now + d,
                        id.0,
                        *run,
                        CheckOutcome::Failure("connection refused".into()),
                    )),
                    Answer::Exit(c, d) => {
                        self.pending
                            .push((self.now + d, id.0, *run, CheckOutcome::Exit(c)))
                    }
                    Answer::Hang => {}
                }
            }
            let _ = writeln!(self.trace, "{:>12} {}", self.now.to_string(), show(&a));
            self.actions.push((self.now, a));
        }
    }

    /// Runs until `end`, delivering results and timers in time order.
    fn run_until(&mut self, end: Instant) {
        loop {
            let t_timer = self.engine.poll_timeout().unwrap_or(Instant::MAX);
            let next_result = self
                .pending
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| (p.0, p.2))
                .map(|(i, p)| (p.0, i));
            let t_res = next_result.map(|r| r.0).unwrap_or(Instant::MAX);
            let t = t_timer.min(t_res);
            if t > end {
                self.now = end;
                return;
            }
            self.now = t;
            if t_res <= t_timer {
                let (_, i) = next_result.unwrap();
                let (_, id, run, outcome) = self.pending.remove(i);
                if let Some(o) = self.outstanding.get_mut(id as usize) {
                    if *o == Some(run) {
                        *o = None;
                    }
                }
                self.engine.handle_input(
                    t,
                    CheckInput::Result {
                        id: CheckId(id),
                        run,
                        outcome,
                    },
                );
            } else {
                self.engine.handle_timeout(t);
            }
            self.drain();
        }
    }

    fn reload(&mut self, conf_text: &str) {
        let cfg = conf::parse_str(conf_text).unwrap_or_else(|e| panic!("{e}"));
        self.input(CheckInput::Reload(Box::new(CheckerSetup::from_conf(&cfg))));
    }

    fn input(&mut self, input: CheckInput) {
        self.engine.handle_input(self.now, input);
        self.drain();
    }

    /// Times of the actions matching `f`.
    fn times(&self, f: impl Fn(&CheckAction) -> bool) -> Vec<Instant> {
        self.actions
            .iter()
            .filter(|(_, a)| f(a))
            .map(|(t, _)| *t)
            .collect()
    }

    fn runs_of(&self, id: u32) -> Vec<Instant> {
        self.times(|a| matches!(a, CheckAction::RunCheck { id: i, .. } if i.0 == id))
    }
}

fn show(a: &CheckAction) -> String {
    match a {
        CheckAction::Reloaded {
            checkers,
            virtual_servers,
        } => format!("reloaded: checkers {checkers:?}, virtual servers {virtual_servers:?}"),
        CheckAction::RunCheck {
            id, run, deadline, ..
        } => {
            format!("run check {} #{run} (deadline {deadline})", id.0)
        }
        CheckAction::AbandonCheck { id, run } => format!("abandon check {} #{run}", id.0),
        CheckAction::SetServer {
            vs,
            server,
            change,
            reason,
        } => format!("vs {} {server:?}: {change:?} ({reason})", vs.0),
        CheckAction::Notify(n) => format!("notify {n:?}"),
        CheckAction::CheckerState { id, up, why } => format!(
            "checker {} {} ({why})",
            id.0,
            if *up { "UP" } else { "DOWN" }
        ),
        CheckAction::RealServerState { vs, rs, up } => format!(
            "vs {} real server {rs} {}",
            vs.0,
            if *up { "UP" } else { "DOWN" }
        ),
        CheckAction::QuorumState {
            vs,
            up,
            weight_sum,
            threshold,
        } => format!(
            "vs {} quorum {} (weight {weight_sum}, threshold {threshold})",
            vs.0,
            if *up { "gained" } else { "lost" }
        ),
    }
}

const HEAD: &str = "virtual_server 192.0.2.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n";

fn vs_conf(vs_body: &str, reals: &[&str]) -> String {
    let mut s = format!("{HEAD}{vs_body}\n");
    for (i, r) in reals.iter().enumerate() {
        let _ = write!(s, " real_server 198.51.100.{} 80 {{\n{r}\n }}\n", i + 1);
    }
    s.push_str("}\n");
    s
}

/// A TCP_CHECK real server that answers in 10 ms while `up(t)`, else is refused in 1 ms.
fn tcp(up: impl Fn(usize, Instant) -> bool + 'static) -> Script {
    Box::new(move |id, t| {
        if up(id, t) {
            Answer::Ok(ms(10))
        } else {
            Answer::Fail(ms(1))
        }
    })
}

#[test]
fn retry_failures_delay_before_retry_apart_take_a_server_down() {
    // delay_loop 6, retry 2, delay_before_retry 1: the server stops at 20 s; the run at 24 s
    // fails, the retries at 25 s and 26 s fail, and the server is down at 26.001 s.
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 6",
            &["  TCP_CHECK {\n   retry 2\n   delay_before_retry 1\n  }"],
        ),
        tcp(|_, t| t < at(20.0)),
    );
    h.run_until(at(40.0));
    assert_eq!(
        h.runs_of(0),
        [0.0, 6.0, 12.0, 18.0, 24.0, 25.0, 26.0, 32.0, 38.0].map(at)
    );
    // Each RunCheck says when the schedule wanted it and which retry it is (the runner logs
    // both beside when it served it): the failure at 24 s is retried twice, the run after the
    // server went down is not a retry.
    let told: Vec<(Instant, u32)> = h
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            CheckAction::RunCheck {
                scheduled, retry, ..
            } => Some((*scheduled, *retry)),
            _ => None,
        })
        .collect();
    assert_eq!(
        told,
        [
            (0.0, 0),
            (6.0, 0),
            (12.0, 0),
            (18.0, 0),
            (24.0, 0),
            (25.0, 1),
            (26.0, 2),
            (32.0, 0),
            (38.0, 0)
        ]
        .map(|(t, r)| (at(t), r))
    );
    let down = h.times(|a| matches!(a, CheckAction::RealServerState { up: false, .. }));
    assert_eq!(down, vec![at(26.001)]);
    let removed = h.times(|a| {
        matches!(
            a,
            CheckAction::SetServer {
                change: TableChange::Remove,
                ..
            }
        )
    });
    assert_eq!(removed, vec![at(26.001)]);
}

#[test]
fn one_success_brings_a_down_server_back() {
    let mut h = Harness::new(
        &vs_conf(" delay_loop 5", &["  TCP_CHECK {\n   retry 0\n  }"]),
        tcp(|_, t| !(at(7.0)..at(17.0)).contains(&t)),
    );
    h.run_until(at(30.0));
    let ups = h.times(|a| matches!(a, CheckAction::RealServerState { up: true, .. }));
    let downs = h.times(|a| matches!(a, CheckAction::RealServerState { up: false, .. }));
    assert_eq!(downs, vec![at(10.001)]);
    assert_eq!(ups, vec![at(20.010)]);
}

#[test]
fn warmup_spreads_first_runs_over_the_delay_loop() {
    let reals = ["  TCP_CHECK {\n  }"; 4];
    let mut h = Harness::new(&vs_conf(" delay_loop 4", &reals), tcp(|_, _| true));
    h.run_until(at(9.0));
    let first: Vec<_> = (0..4).map(|i| h.runs_of(i)[0]).collect();
    assert_eq!(first, [0.0, 1.0, 2.0, 3.0].map(at));
    // And they stay spread: each repeats every 4 s from its own start.
    assert_eq!(h.runs_of(2), [2.0, 6.0].map(at));
}

#[test]
fn a_slow_check_does_not_shift_the_schedule() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 3",
            &["  TCP_CHECK {\n   connect_timeout 2\n  }"],
        ),
        Box::new(|_, _| Answer::Ok(ms(1900))),
    );
    h.run_until(at(10.0));
    assert_eq!(h.runs_of(0), [0.0, 3.0, 6.0, 9.0].map(at));
}

#[test]
fn a_check_that_outlasts_its_timeout_is_abandoned_and_counts_as_a_failure() {
    // MISC_CHECK with misc_timeout 2 on a script that hangs from 10 s: abandoned at 2 s after
    // it started, a failure (retry 0: down at once), and the next run is still on schedule.
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 5",
            &["  MISC_CHECK {\n   misc_path /bin/check\n   misc_timeout 2\n  }"],
        ),
        Box::new(|_, t| {
            if t < at(10.0) {
                Answer::Exit(0, ms(50))
            } else {
                Answer::Hang
            }
        }),
    );
    h.run_until(at(21.0));
    let abandoned = h.times(|a| matches!(a, CheckAction::AbandonCheck { .. }));
    assert_eq!(abandoned, [12.0, 17.0].map(at));
    assert_eq!(h.runs_of(0), [0.0, 5.0, 10.0, 15.0, 20.0].map(at));
    let down = h.times(|a| matches!(a, CheckAction::RealServerState { up: false, .. }));
    assert_eq!(down, vec![at(12.0)]);
    let view = h.engine.checker(CheckId(0)).unwrap();
    assert_eq!(view.last.as_deref(), Some("timed out after 2s"));
}

#[test]
fn udp_check_without_require_reply_passes_on_silence() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 5",
            &[
                "  UDP_CHECK {\n   connect_timeout 1\n   retry 0\n  }",
                "  UDP_CHECK {\n   require_reply\n   connect_timeout 1\n   retry 0\n  }",
            ],
        ),
        Box::new(|_, _| Answer::Hang),
    );
    h.run_until(at(4.0));
    // The first is up after its silent second; the second (a reply required) is down.
    assert!(h.engine.real_server(VsId(0), 0).unwrap().alive);
    assert!(!h.engine.real_server(VsId(0), 1).unwrap().alive);
}

#[test]
fn a_late_result_for_an_abandoned_run_is_ignored() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 5",
            &["  TCP_CHECK {\n   connect_timeout 1\n  }"],
        ),
        Box::new(|_, _| Answer::Hang),
    );
    h.run_until(at(1.5));
    assert!(!h.engine.checker(CheckId(0)).unwrap().up);
    h.input(CheckInput::Result {
        id: CheckId(0),
        run: 1,
        outcome: CheckOutcome::Success,
    });
    assert!(!h.engine.checker(CheckId(0)).unwrap().up);
}

#[test]
fn alpha_starts_down_and_joins_the_table_after_a_success() {
    let mut h = Harness::new(
        &vs_conf(" delay_loop 5\n alpha", &["  TCP_CHECK {\n  }"]),
        tcp(|_, _| true),
    );
    assert_eq!(
        h.engine.real_server(VsId(0), 0).map(|r| (r.alive, r.table)),
        Some((false, None))
    );
    h.run_until(at(1.0));
    assert_eq!(
        h.engine.real_server(VsId(0), 0).map(|r| (r.alive, r.table)),
        Some((true, Some(1)))
    );
}

#[test]
fn inhibit_on_failure_sets_weight_zero_instead_of_removing() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 5\n inhibit_on_failure",
            &["  weight 4\n  TCP_CHECK {\n   retry 0\n  }"],
        ),
        tcp(|_, t| t < at(4.0)),
    );
    h.run_until(at(6.0));
    let changes: Vec<_> = h
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            CheckAction::SetServer { change, .. } => Some(*change),
            _ => None,
        })
        .collect();
    assert_eq!(changes, vec![TableChange::Add(4), TableChange::Weight(0)]);
}

#[test]
fn misc_dynamic_exit_status_sets_the_real_server_weight() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 5",
            &["  weight 3\n  MISC_CHECK {\n   misc_path /bin/w\n   misc_dynamic\n  }"],
        ),
        Box::new(|_, t| Answer::Exit(if t < at(4.0) { 12 } else { 2 }, ms(5))),
    );
    h.run_until(at(6.0));
    let changes: Vec<_> = h
        .actions
        .iter()
        .filter_map(|(_, a)| match a {
            CheckAction::SetServer { change, .. } => Some(*change),
            _ => None,
        })
        .collect();
    // Added at its weight 3; exit 12 -> weight 10; exit 2 -> weight 0 (still alive).
    assert_eq!(
        changes,
        vec![
            TableChange::Add(3),
            TableChange::Weight(10),
            TableChange::Weight(0)
        ]
    );
    assert!(h.engine.real_server(VsId(0), 0).unwrap().alive);
}

const QUORUM: &str = " delay_loop 2\n quorum 2\n hysteresis 1\n sorry_server 203.0.113.9 80\n quorum_up /bin/up\n quorum_down /bin/down";

fn three_reals() -> [&'static str; 3] {
    ["  TCP_CHECK {\n   retry 0\n   warmup 0\n  }"; 3]
}

#[test]
fn quorum_lost_and_regained_with_hysteresis_uses_the_sorry_server_once_each_way() {
    // quorum 2, hysteresis 1 (down below 1, up at 3). Servers 1 and 2 stop at 5 s; server 0
    // at 9 s (quorum lost: sum 0); all return at 15 s (quorum regained at sum 3).
    let mut h = Harness::new(
        &vs_conf(QUORUM, &three_reals()),
        tcp(|id, t| {
            let stopped = match id {
                0 => (at(9.0)..at(15.0)).contains(&t),
                _ => (at(5.0)..at(15.0)).contains(&t),
            };
            !stopped
        }),
    );
    h.run_until(at(24.0));
    let q: Vec<_> = h
        .actions
        .iter()
        .filter_map(|(t, a)| match a {
            CheckAction::Notify(n @ (Notify::QuorumUp(_) | Notify::QuorumDown(_))) => {
                Some((*t, *n))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        q,
        vec![
            (at(0.0), Notify::QuorumUp(VsId(0))),
            (at(10.001), Notify::QuorumDown(VsId(0))),
            (at(16.01), Notify::QuorumUp(VsId(0))),
        ]
    );
    insta::assert_snapshot!("quorum_with_sorry_server", h.trace);
}

#[test]
fn omega_runs_the_down_scripts_at_shutdown() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 2\n omega",
            &["  notify_down /bin/d\n  TCP_CHECK {\n  }"],
        ),
        tcp(|_, _| true),
    );
    h.run_until(at(3.0));
    h.input(CheckInput::Shutdown);
    let tail: Vec<String> = h.trace.lines().rev().take(3).map(str::to_string).collect();
    assert!(tail[2].contains("notify RealServerDown"), "{tail:?}");
    assert!(tail[1].contains("Remove (shutdown)"), "{tail:?}");
    assert!(tail[0].contains("notify QuorumDown"), "{tail:?}");
    assert_eq!(h.engine.poll_timeout(), None);
}

#[test]
fn without_omega_shutdown_only_empties_the_table() {
    let mut h = Harness::new(
        &vs_conf(" delay_loop 2", &["  TCP_CHECK {\n  }"]),
        tcp(|_, _| true),
    );
    h.run_until(at(3.0));
    let before = h.actions.len();
    h.input(CheckInput::Shutdown);
    let after: Vec<_> = h.actions[before..].iter().map(|(_, a)| show(a)).collect();
    assert_eq!(after, vec!["vs 0 Real(0): Remove (shutdown)".to_string()]);
}

#[test]
fn file_check_follows_its_file() {
    let text = format!(
        "track_file f {{\n file /run/x\n weight 0\n}}\n{}",
        vs_conf(" delay_loop 2", &["  FILE_CHECK {\n   track_file f\n  }"])
    );
    let mut h = Harness::new(&text, tcp(|_, _| true));
    assert!(h.engine.real_server(VsId(0), 0).unwrap().alive);
    h.input(CheckInput::TrackFile {
        name: "f".into(),
        value: 1,
    });
    assert!(!h.engine.real_server(VsId(0), 0).unwrap().alive);
    assert_eq!(
        h.engine.poll_timeout(),
        None,
        "FILE_CHECK schedules no runs"
    );
}

#[test]
fn file_values_before_start_decide_the_first_table() {
    let text = format!(
        "track_file f {{\n file /run/x\n weight 3\n}}\n{}",
        vs_conf(
            " delay_loop 2",
            &["  weight 2\n  FILE_CHECK {\n   track_file f\n  }"]
        )
    );
    let cfg = conf::parse_str(&text).unwrap();
    let mut e = CheckerEngine::new(CheckerSetup::from_conf(&cfg));
    e.handle_input(
        Instant::ZERO,
        CheckInput::TrackFile {
            name: "f".into(),
            value: 4,
        },
    );
    assert_eq!(e.poll_action(), None, "nothing before Start");
    e.handle_input(Instant::ZERO, CheckInput::Start);
    // weight 2 + 4 x 3.
    assert_eq!(e.real_server(VsId(0), 0).unwrap().table, Some(14));
}

#[test]
fn retry_timing_trace() {
    let mut h = Harness::new(
        &vs_conf(
            " delay_loop 3",
            &[
                "  TCP_CHECK {\n   retry 2\n   delay_before_retry 0.5\n   connect_timeout 1\n  }",
                "  HTTP_GET {\n   url {\n    path /\n   }\n   connect_timeout 1\n  }",
            ],
        ),
        Box::new(|id, t| match id {
            0 if (at(4.0)..at(10.0)).contains(&t) => Answer::Hang,
            1 if (at(5.0)..at(8.0)).contains(&t) => Answer::Fail(ms(2)),
            _ => Answer::Ok(ms(20)),
        }),
    );
    h.run_until(at(14.0));
    insta::assert_snapshot!("retry_timing", h.trace);
}

// ----- properties ----------------------------------------------------------------------------

/// The table the rules ask for, computed from the engine's views.
fn expected_table(e: &CheckerEngine, v: usize) -> Vec<Option<u32>> {
    let spec = &e.setup().virtual_servers[v];
    let (_, sorry) = e.quorum(VsId(v as u32)).unwrap();
    (0..spec.real_servers.len())
        .map(|r| {
            let rs = e.real_server(VsId(v as u32), r as u32).unwrap();
            pool::wanted_real(
                rs.alive,
                spec.real_servers[r].inhibit,
                rs.weight,
                sorry,
                false,
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn table_follows_the_rules_and_runs_never_overlap(
        answers in prop::collection::vec((0u8..4, 0u64..1500), 1..200),
        inhibit in any::<bool>(),
        sorry in any::<bool>(),
        retry in 0u32..3,
    ) {
        let vs_body = format!(
            " delay_loop 1\n quorum 2\n hysteresis 1\n{}{}",
            if inhibit { " inhibit_on_failure\n" } else { "" },
            if sorry { " sorry_server 203.0.113.9 80\n" } else { "" },
        );
        let r = format!("  TCP_CHECK {{\n   retry {retry}\n   delay_before_retry 0.3\n   connect_timeout 0.8\n  }}");
        let text = vs_conf(&vs_body, &[&r, &r, &r]);
        let answers = std::rc::Rc::new(answers);
        let counter = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let (a2, c2) = (answers.clone(), counter.clone());
        let mut h = Harness::new(&text, Box::new(move |_, _| {
            let k = c2.get();
            c2.set(k + 1);
            let (kind, d) = a2[k % a2.len()];
            match kind {
                0 | 1 => Answer::Ok(ms(d)),
                2 => Answer::Fail(ms(d)),
                _ => Answer::Hang,
            }
        }));
        let mut last_quorum: Option<bool> = None;
        let mut seen = 0;
        for step in 1..=60u64 {
            h.run_until(Instant::from_millis(step * 500));
            prop_assert!(!h.overlapped, "a run started while the previous one was outstanding");
            for (_, a) in &h.actions[seen..] {
                match a {
                    CheckAction::Notify(Notify::QuorumUp(_)) => {
                        prop_assert_ne!(last_quorum, Some(true), "quorum_up twice in a row");
                        last_quorum = Some(true);
                    }
                    CheckAction::Notify(Notify::QuorumDown(_)) => {
                        prop_assert_ne!(last_quorum, Some(false), "quorum_down twice in a row");
                        last_quorum = Some(false);
                    }
                    _ => {}
                }
            }
            seen = h.actions.len();
            // The table the engine announced equals what the rules say.
            let announced: Vec<_> = (0..3)
                .map(|r| h.engine.real_server(VsId(0), r).unwrap().table)
                .collect();
            prop_assert_eq!(announced, expected_table(&h.engine, 0));
            // A real server whose checker is down never has a non-zero weight in the table.
            for r in 0..3u32 {
                let rs = h.engine.real_server(VsId(0), r).unwrap();
                if !h.engine.checker(CheckId(r)).unwrap().up {
                    prop_assert!(rs.table.unwrap_or(0) == 0);
                }
            }
        }
    }
}

mod reload;

#[test]
fn a_run_served_late_says_when_it_was_scheduled_and_its_deadline_counts_from_the_real_start() {
    let cfg = conf::parse_str(&vs_conf(
        " delay_loop 6",
        &["  TCP_CHECK {\n   connect_timeout 2\n  }"],
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut e = CheckerEngine::new(CheckerSetup::from_conf(&cfg));
    e.handle_input(Instant::ZERO, CheckInput::Start);
    while e.poll_action().is_some() {}
    let served = |e: &mut CheckerEngine, now: Instant| {
        e.handle_timeout(now);
        std::iter::from_fn(|| e.poll_action())
            .find_map(|a| match a {
                CheckAction::RunCheck {
                    run,
                    deadline,
                    scheduled,
                    retry,
                    ..
                } => Some((run, scheduled, deadline, retry)),
                _ => None,
            })
            .expect("a run")
    };
    // Served 250 ms late: scheduled at 0, deadline 2 s after the real start.
    let (run, scheduled, deadline, retry) = served(&mut e, at(0.25));
    assert_eq!((scheduled, deadline, retry), (at(0.0), at(2.25), 0));
    e.handle_input(
        at(0.3),
        CheckInput::Result {
            id: CheckId(0),
            run,
            outcome: CheckOutcome::Success,
        },
    );
    // The next is still at 6 s (from the scheduled start), served at 6.7 s.
    let (_, scheduled, deadline, _) = served(&mut e, at(6.7));
    assert_eq!((scheduled, deadline), (at(6.0), at(8.7)));
}
