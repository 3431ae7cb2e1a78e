//! Each invariant of `checks/lvs.rs` fails on a wrong history or table, and holds on a right one.

use vigil_engine::checker::{CheckOutcome, CheckerSetup, Notify, VsId};

use super::*;

const S: u64 = 1_000_000_000;

fn setup(text: &str) -> CheckerSetup {
    let cfg = vigil_engine::conf::parse_str(text).expect("test configuration");
    CheckerSetup::from_conf(&cfg)
}

/// One virtual server, two real servers of weight 2 and 3, TCP_CHECK every 2 s with `retry`
/// and delay_before_retry 1 s, warmup 0; quorum 4, hysteresis 1, a sorry server.
fn web(retry: u32, extra: &str) -> CheckerSetup {
    setup(&format!(
        "virtual_server 192.0.2.100 80 {{\n delay_loop 2\n quorum 4\n hysteresis 1\n \
         sorry_server 198.51.100.99 80\n\
         real_server 198.51.100.21 80 {{\n  weight 2\n{extra}  TCP_CHECK {{\n   connect_timeout 1\n   \
         retry {retry}\n   delay_before_retry 1\n   warmup 0\n  }}\n }}\n\
         real_server 198.51.100.22 80 {{\n  weight 3\n  TCP_CHECK {{\n   connect_timeout 1\n   \
         retry {retry}\n   delay_before_retry 1\n   warmup 0\n  }}\n }}\n}}\n"
    ))
}

fn ok() -> RunEnd {
    RunEnd::Result(CheckOutcome::Success)
}

fn refused() -> RunEnd {
    RunEnd::Result(CheckOutcome::Failure("connection refused".into()))
}

/// A history of checker runs ending as `ends` say: (checker, end time in seconds x 10, end).
fn history(s: &CheckerSetup, ends: &[(usize, u64, RunEnd)]) -> History {
    let mut h = History::new(s);
    h.start = Some(0);
    h.steps.push(Step::Start);
    for (k, (id, t, end)) in ends.iter().enumerate() {
        let at = *t * S / 10;
        h.runs[*id].push(RunRecord {
            run: k as u64 + 1,
            start: at,
            deadline: at + S,
            end: Some((at, end.clone())),
        });
        h.steps.push(Step::Ended(*id, h.runs[*id].len() - 1));
    }
    h
}

fn rule_of(r: Result<(), Breach>) -> &'static str {
    match r {
        Ok(()) => "held",
        Err(b) => b.rule,
    }
}

#[test]
fn table_rules_fails_on_a_table_that_keeps_a_dead_server() {
    let s = web(1, "");
    // rs1 passes, then fails twice (retry 1): out. rs2 passes. Live weight 3 < quorum 4 - 1?
    // No: 3 >= 3, the quorum holds (hysteresis).
    let h = history(
        &s,
        &[
            (0, 0, ok()),
            (1, 0, ok()),
            (0, 20, refused()),
            (0, 30, refused()),
        ],
    );
    let want = expected_table(&s, &h);
    assert_eq!(want.reals[0], vec![None, Some(3)]);
    assert_eq!(want.sorry[0], None);
    assert_eq!(rule_of(table_rules(&s, &want, &want)), "held");
    let mut wrong = want.clone();
    wrong.reals[0][0] = Some(2);
    assert_eq!(rule_of(table_rules(&s, &want, &wrong)), "table-rules");
    let mut wrong = want.clone();
    wrong.sorry[0] = Some(1);
    assert_eq!(rule_of(table_rules(&s, &want, &wrong)), "table-rules");
}

#[test]
fn the_rules_follow_hysteresis_and_the_sorry_server() {
    let s = web(0, "");
    // quorum 4, hysteresis 1: lost below 3, gained at 5. Both up: 5, gained at start.
    let mut h = history(&s, &[(0, 0, ok()), (1, 0, ok())]);
    let t = expected_table(&s, &h);
    assert_eq!(
        (t.reals[0].clone(), t.sorry[0]),
        (vec![Some(2), Some(3)], None)
    );
    // rs1 down (retry 0): 3, not below 3: quorum kept, rs2 alone.
    h = history(&s, &[(0, 0, ok()), (1, 0, ok()), (0, 20, refused())]);
    let t = expected_table(&s, &h);
    assert_eq!(
        (t.reals[0].clone(), t.sorry[0]),
        (vec![None, Some(3)], None)
    );
    // rs2 down too: 0: lost, the sorry server is in.
    h = history(
        &s,
        &[
            (0, 0, ok()),
            (1, 0, ok()),
            (0, 20, refused()),
            (1, 20, refused()),
        ],
    );
    let t = expected_table(&s, &h);
    assert_eq!(
        (t.reals[0].clone(), t.sorry[0]),
        (vec![None, None], Some(1))
    );
    // rs2 back: 3, below 5: still the sorry server (hysteresis), rs2 not in.
    h = history(
        &s,
        &[
            (0, 0, ok()),
            (1, 0, ok()),
            (0, 20, refused()),
            (1, 20, refused()),
            (1, 40, ok()),
        ],
    );
    let t = expected_table(&s, &h);
    assert_eq!(
        (t.reals[0].clone(), t.sorry[0]),
        (vec![None, None], Some(1))
    );
    // A table that took rs2 back already breaks the rule.
    let mut wrong = t.clone();
    wrong.reals[0][1] = Some(3);
    wrong.sorry[0] = None;
    assert_eq!(rule_of(table_rules(&s, &t, &wrong)), "table-rules");
}

#[test]
fn down_not_in_use_fails_when_the_retries_are_used_up() {
    let s = web(2, "");
    let in_use = Table {
        reals: vec![vec![Some(2), Some(3)]],
        sorry: vec![None],
    };
    // Two failures after a pass, retry 2: the third attempt is still to come: may serve.
    let h = history(&s, &[(0, 0, ok()), (0, 20, refused()), (0, 30, refused())]);
    assert_eq!(rule_of(down_not_in_use(&s, &h, &in_use)), "held");
    // The third failure in a row: must not serve.
    let h = history(
        &s,
        &[
            (0, 0, ok()),
            (0, 20, refused()),
            (0, 30, refused()),
            (0, 40, refused()),
        ],
    );
    assert_eq!(
        rule_of(down_not_in_use(&s, &h, &in_use)),
        "checker-down-in-use"
    );
    // Weight 0 (inhibit_on_failure) or out is not "in use".
    let mut inhibited = in_use.clone();
    inhibited.reals[0][0] = Some(0);
    assert_eq!(rule_of(down_not_in_use(&s, &h, &inhibited)), "held");
    // At start-up one failure is enough.
    let h = history(&s, &[(0, 0, refused())]);
    assert_eq!(
        rule_of(down_not_in_use(&s, &h, &in_use)),
        "checker-down-in-use"
    );
    // An abandoned run is a failure.
    let h = history(&s, &[(0, 0, RunEnd::Abandoned)]);
    assert_eq!(
        rule_of(down_not_in_use(&s, &h, &in_use)),
        "checker-down-in-use"
    );
}

#[test]
fn down_not_in_use_fails_for_alpha_before_its_first_pass() {
    let s = setup(
        "virtual_server 192.0.2.100 80 {\n real_server 198.51.100.21 80 {\n  TCP_CHECK {\n   \
         alpha\n  }\n }\n}\n",
    );
    let h = history(&s, &[]);
    let t = Table {
        reals: vec![vec![Some(1)]],
        sorry: vec![None],
    };
    assert_eq!(rule_of(down_not_in_use(&s, &h, &t)), "checker-down-in-use");
    let h = history(&s, &[(0, 10, ok())]);
    assert_eq!(rule_of(down_not_in_use(&s, &h, &t)), "held");
}

#[test]
fn quorum_alternates_fails_on_two_ups_in_a_row() {
    let n = |at: u64, up: bool, stopping: bool| NotifyRecord {
        at,
        notify: if up {
            Notify::QuorumUp(VsId(0))
        } else {
            Notify::QuorumDown(VsId(0))
        },
        stopping,
    };
    let good = [n(0, true, false), n(1, false, false), n(2, true, false)];
    assert_eq!(rule_of(quorum_alternates(&good)), "held");
    let twice = [n(0, true, false), n(1, false, false), n(2, false, false)];
    assert_eq!(rule_of(quorum_alternates(&twice)), "quorum-alternates");
    let twice_up = [n(0, true, false), n(1, true, false)];
    assert_eq!(rule_of(quorum_alternates(&twice_up)), "quorum-alternates");
    // keepalived runs quorum_down at shutdown under omega whatever the quorum was.
    let omega = [n(0, false, false), n(1, false, true)];
    assert_eq!(rule_of(quorum_alternates(&omega)), "held");
}

#[test]
fn no_overlap_fails_on_a_run_that_starts_before_the_last_ended() {
    let r = |run: u64, start: u64, end: Option<u64>| RunRecord {
        run,
        start,
        deadline: start + S,
        end: end.map(|e| (e, ok())),
    };
    assert_eq!(
        rule_of(no_overlap(&[r(1, 0, Some(5)), r(2, 5, None)])),
        "held"
    );
    assert_eq!(
        rule_of(no_overlap(&[r(1, 0, Some(6)), r(2, 5, None)])),
        "check-overlap"
    );
    assert_eq!(
        rule_of(no_overlap(&[r(1, 0, None), r(2, 5, None)])),
        "check-overlap"
    );
}

#[test]
fn on_schedule_fails_on_an_early_or_late_start_and_a_wrong_deadline() {
    let r = |start: u64, deadline: u64| RunRecord {
        run: 7,
        start,
        deadline,
        end: None,
    };
    assert_eq!(
        rule_of(on_schedule(Some(2 * S), &r(2 * S, 3 * S), S)),
        "held"
    );
    assert_eq!(
        rule_of(on_schedule(
            Some(2 * S),
            &r(2 * S + 5_000, 3 * S + 5_000),
            S
        )),
        "check-schedule"
    );
    assert_eq!(
        rule_of(on_schedule(Some(2 * S), &r(2 * S - 1, 3 * S - 1), S)),
        "check-schedule"
    );
    assert_eq!(
        rule_of(on_schedule(None, &r(2 * S, 3 * S), S)),
        "check-schedule"
    );
    assert_eq!(
        rule_of(on_schedule(Some(2 * S), &r(2 * S, 4 * S), S)),
        "check-deadline"
    );
}

#[test]
fn announced_wants_the_rules_due_time_exactly() {
    assert_eq!(rule_of(announced(Some(2 * S), 7, 2 * S)), "held");
    assert_eq!(
        rule_of(announced(Some(2 * S), 7, 2 * S + 1)),
        "check-schedule"
    );
    assert_eq!(rule_of(announced(None, 7, 2 * S)), "check-schedule");
}

#[test]
fn ended_in_time_fails_on_an_early_abandon_or_a_late_result() {
    let r = |end: u64, how: RunEnd| RunRecord {
        run: 3,
        start: 0,
        deadline: S,
        end: Some((end, how)),
    };
    assert_eq!(rule_of(ended_in_time(&r(S, RunEnd::Abandoned))), "held");
    assert_eq!(rule_of(ended_in_time(&r(S / 2, ok()))), "held");
    assert_eq!(
        rule_of(ended_in_time(&r(S / 2, RunEnd::Abandoned))),
        "check-deadline"
    );
    assert_eq!(rule_of(ended_in_time(&r(S + 1, ok()))), "check-deadline");
}

#[test]
fn the_schedule_counts_from_the_scheduled_time_and_retries_sooner() {
    let s = web(1, "");
    let mut r = Rules::new(&s);
    r.start(&s, 10 * S);
    assert_eq!(
        (r.scheduled(0), r.scheduled(1)),
        (Some(10 * S), Some(10 * S))
    );
    // A slow pass that ended 1.5 s after its start: the next is still 2 s after the first.
    r.ended(&s, 0, 11 * S + S / 2, &ok());
    assert_eq!(r.scheduled(0), Some(12 * S));
    // A failure after a pass, retry 1: retried delay_before_retry (1 s) after the scheduled
    // time; the second failure takes it down and the next run is delay_loop later.
    r.ended(&s, 0, 12 * S, &refused());
    assert_eq!(r.scheduled(0), Some(13 * S));
    r.ended(&s, 0, 13 * S, &refused());
    assert_eq!(r.scheduled(0), Some(15 * S));
    assert!(!r.checker_up(&s, 0));
    // A run that outlasted its slot: the next starts when it ends.
    r.ended(&s, 1, 13 * S, &ok());
    assert_eq!(r.scheduled(1), Some(13 * S));
}

#[test]
fn misc_dynamic_exit_status_sets_the_weight() {
    let s = setup(
        "virtual_server 192.0.2.100 80 {\n real_server 198.51.100.21 80 {\n  weight 3\n  \
         MISC_CHECK {\n   misc_path \"/bin/true\"\n   misc_dynamic\n  }\n }\n}\n",
    );
    let h = history(&s, &[(0, 0, RunEnd::Result(CheckOutcome::Exit(12)))]);
    assert_eq!(expected_table(&s, &h).reals[0], vec![Some(10)]);
    let h = history(&s, &[(0, 0, RunEnd::Result(CheckOutcome::Exit(1)))]);
    assert_eq!(expected_table(&s, &h).reals[0], vec![None]);
}

#[test]
fn recovered_fails_on_a_server_left_out_or_a_sorry_server_left_in() {
    let s = web(1, "");
    let good = Table {
        reals: vec![vec![Some(2), Some(3)]],
        sorry: vec![None],
    };
    assert_eq!(rule_of(recovered(&s, &good)), "held");
    let mut out = good.clone();
    out.reals[0][1] = None;
    assert_eq!(rule_of(recovered(&s, &out)), "lvs-recovered");
    let mut zero = good.clone();
    zero.reals[0][0] = Some(0);
    assert_eq!(rule_of(recovered(&s, &zero)), "lvs-recovered");
    let mut sorry = good.clone();
    sorry.sorry[0] = Some(1);
    assert_eq!(rule_of(recovered(&s, &sorry)), "lvs-recovered");
}

#[test]
fn file_check_values_set_weight_and_state() {
    let s = setup(
        "track_file f {\n file /run/f\n}\nvirtual_server 192.0.2.100 80 {\n quorum 1\n \
         real_server 198.51.100.21 80 {\n  weight 1\n  FILE_CHECK {\n   track_file f\n   \
         weight 2 reverse\n  }\n }\n}\n",
    );
    let with = |values: &[i64]| {
        let mut h = History::new(&s);
        h.start = Some(0);
        h.steps.push(Step::Start);
        for v in values {
            h.steps.push(Step::File("f".into(), *v));
        }
        expected_table(&s, &h)
    };
    // reverse: value -5 adds 10; value 3 takes 6 away (clamped at 0).
    assert_eq!(with(&[-5]).reals[0], vec![Some(11)]);
    assert_eq!(with(&[3]).reals[0], vec![Some(0)]);
    // A product at or below -2^31 is down.
    assert_eq!(with(&[1_073_741_824]).reals[0], vec![None]);
    // Back to 0: up at the configured weight.
    assert_eq!(with(&[1_073_741_824, 0]).reals[0], vec![Some(1)]);
    // A table that kept the server at 11 after the value went back breaks `table-rules`.
    let mut wrong = with(&[-5, 0]);
    wrong.reals[0][0] = Some(11);
    assert_eq!(
        rule_of(table_rules(&s, &with(&[-5, 0]), &wrong)),
        "table-rules"
    );
}
