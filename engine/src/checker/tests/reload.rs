//! SIGHUP reload rules (`reload.rs`), named after keepalived's `clear_diff_services` family.

use super::*;

/// A virtual server 192.0.2.1:80 with real servers 198.51.100.N:80 (N given) and their checker.
fn vs_with(vs_body: &str, reals: &[(u8, &str)]) -> String {
    let mut s = format!("{HEAD}{vs_body}\n");
    for (n, r) in reals {
        let _ = write!(s, " real_server 198.51.100.{n} 80 {{\n{r}\n }}\n");
    }
    s.push_str("}\n");
    s
}

const TCP: &str = "  TCP_CHECK {\n   retry 0\n  }";

fn reloaded_at(h: &Harness) -> usize {
    h.actions
        .iter()
        .position(|(_, a)| matches!(a, CheckAction::Reloaded { .. }))
        .expect("a Reloaded action")
}

#[test]
fn an_unchanged_reload_keeps_state_counters_and_schedule() {
    let text = vs_with(" delay_loop 4", &[(1, TCP), (2, TCP)]);
    let mut h = Harness::new(&text, tcp(|id, t| id == 0 || t < at(5.0)));
    h.run_until(at(9.5));
    let before = (
        h.engine.checker(CheckId(0)),
        h.engine.checker(CheckId(1)),
        h.engine.real_server(VsId(0), 1),
    );
    let n = h.actions.len();
    h.reload(&text);
    // Nothing but the renumbering (identity) happens.
    let after: Vec<_> = h.actions[n..].iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(
        after,
        vec![CheckAction::Reloaded {
            checkers: vec![Some(CheckId(0)), Some(CheckId(1))],
            virtual_servers: vec![Some(VsId(0))],
        }]
    );
    assert_eq!(
        before,
        (
            h.engine.checker(CheckId(0)),
            h.engine.checker(CheckId(1)),
            h.engine.real_server(VsId(0), 1),
        )
    );
    h.run_until(at(20.0));
    // The schedule went on from where it was: 0, 4, 8, then 12, 16 (checker 0 of 2).
    assert_eq!(h.runs_of(0), [0.0, 4.0, 8.0, 12.0, 16.0, 20.0].map(at));
    assert_eq!(h.runs_of(1), [2.0, 6.0, 10.0, 14.0, 18.0].map(at));
}

#[test]
fn a_removed_real_server_leaves_the_table_with_notify_down_and_an_added_one_starts() {
    let mut h = Harness::new(
        &vs_with(" delay_loop 4", &[(1, TCP), (2, TCP)]),
        tcp(|_, _| true),
    );
    h.run_until(at(5.0));
    let n = h.actions.len();
    h.reload(&vs_with(" delay_loop 4", &[(1, TCP), (3, TCP)]));
    let r = reloaded_at(&h);
    let before: Vec<_> = h.actions[n..r].iter().map(|(_, a)| show(a)).collect();
    let after: Vec<_> = h.actions[r + 1..].iter().map(|(_, a)| show(a)).collect();
    // Old numbering: real server 1 (198.51.100.2) leaves, its notify_down runs.
    assert_eq!(
        before,
        vec![
            "vs 0 Real(1): Remove (removed from the configuration)",
            "notify RealServerDown(VsId(0), 1)",
        ]
    );
    // New numbering: real server 1 is now 198.51.100.3, added at once (not alpha).
    assert_eq!(after, vec!["vs 0 Real(1): Add(1) (reload)"]);
    assert_eq!(h.engine.checker(CheckId(0)).unwrap().runs, 2);
    assert_eq!(h.engine.checker(CheckId(1)).unwrap().runs, 0);
    h.run_until(at(10.0));
    // The kept checker keeps its schedule (0, 4, 8); the new one is spread over warmup from
    // the reload (alone: at the reload).
    assert_eq!(h.runs_of(0), [0.0, 4.0, 8.0].map(at));
    // Number 1 was 198.51.100.2 (at 2 s), then 198.51.100.3 (at 5 s and 9 s).
    assert_eq!(h.runs_of(1), [2.0, 5.0, 9.0].map(at));
}

#[test]
fn an_added_alpha_real_server_starts_down_and_joins_after_a_success() {
    let mut h = Harness::new(&vs_with(" delay_loop 4", &[(1, TCP)]), tcp(|_, _| true));
    h.run_until(at(1.0));
    let alpha = "  TCP_CHECK {\n   retry 0\n   alpha\n  }";
    h.reload(&vs_with(" delay_loop 4", &[(1, TCP), (2, alpha)]));
    assert_eq!(h.engine.real_server(VsId(0), 1).unwrap().table, None);
    assert!(!h.engine.real_server(VsId(0), 1).unwrap().alive);
    h.run_until(at(2.0));
    // Its first run (at the reload) succeeded 10 ms later: in.
    assert_eq!(h.engine.real_server(VsId(0), 1).unwrap().table, Some(1));
}

#[test]
fn a_changed_checker_restarts_and_its_run_in_progress_is_abandoned() {
    let slow = "  TCP_CHECK {\n   retry 0\n   connect_timeout 3\n  }";
    let mut h = Harness::new(
        &vs_with(" delay_loop 10", &[(1, slow), (2, TCP)]),
        Box::new(|_, _| Answer::Hang),
    );
    h.run_until(at(1.0));
    // Checker 0 is running (hangs, deadline 3 s); checker 1 is waiting for its run at 5 s.
    assert!(h.engine.checker(CheckId(0)).unwrap().running);
    let changed = "  TCP_CHECK {\n   retry 0\n   connect_timeout 2\n  }";
    let n = h.actions.len();
    h.reload(&vs_with(" delay_loop 10", &[(1, changed), (2, TCP)]));
    let r = reloaded_at(&h);
    let shown: Vec<_> = h.actions[n..=r].iter().map(|(_, a)| show(a)).collect();
    assert_eq!(
        shown,
        vec![
            "abandon check 0 #1",
            "reloaded: checkers [None, Some(CheckId(1))], virtual servers [Some(VsId(0))]",
        ]
    );
    // The new checker 0 starts fresh (one failure enough), spread from the reload; checker 1
    // keeps its first run at 5 s.
    let c0 = h.engine.checker(CheckId(0)).unwrap();
    assert_eq!((c0.runs, c0.running, c0.up), (0, false, true));
    h.run_until(at(6.0));
    assert_eq!(h.runs_of(1), vec![at(5.0)]);
    assert!(!h.overlapped);
}

#[test]
fn a_removed_virtual_server_with_its_quorum_runs_quorum_down() {
    let two = format!(
        "{}virtual_server 192.0.2.2 80 {{\n protocol TCP\n delay_loop 4\n quorum_down /bin/down\n real_server 198.51.100.9 80 {{\n{TCP}\n }}\n}}\n",
        vs_with(" delay_loop 4", &[(1, TCP)])
    );
    let mut h = Harness::new(&two, tcp(|_, _| true));
    h.run_until(at(1.0));
    let n = h.actions.len();
    h.reload(&vs_with(" delay_loop 4", &[(1, TCP)]));
    let shown: Vec<_> = h.actions[n..].iter().map(|(_, a)| show(a)).collect();
    assert_eq!(
        shown,
        vec![
            "vs 1 Real(0): Remove (removed from the configuration)",
            "notify RealServerDown(VsId(1), 0)",
            "notify QuorumDown(VsId(1))",
            "reloaded: checkers [Some(CheckId(0)), None], virtual servers [Some(VsId(0)), None]",
        ]
    );
}

#[test]
fn a_reload_that_raises_the_quorum_above_the_live_weight_brings_the_sorry_server_in() {
    // 198.51.100.2 is down after its first check; quorum 1 is met by 198.51.100.1 alone.
    let q = |n: u32| {
        format!(" delay_loop 4\n quorum {n}\n sorry_server 203.0.113.9 80\n quorum_down /bin/down")
    };
    let mut h = Harness::new(&vs_with(&q(1), &[(1, TCP), (2, TCP)]), tcp(|id, _| id == 0));
    h.run_until(at(3.0));
    assert!(!h.engine.real_server(VsId(0), 1).unwrap().alive);
    let n = h.actions.len();
    h.reload(&vs_with(&q(2), &[(1, TCP), (2, TCP)]));
    let shown: Vec<_> = h.actions[n..].iter().map(|(_, a)| show(a)).collect();
    assert_eq!(
        shown,
        vec![
            "reloaded: checkers [Some(CheckId(0)), Some(CheckId(1))], virtual servers [Some(VsId(0))]",
            "vs 0 quorum lost (weight 1, threshold 2)",
            "notify QuorumDown(VsId(0))",
            "vs 0 Sorry: Add(1) (quorum lost)",
            "vs 0 Real(0): Remove (quorum lost)",
        ]
    );
}

#[test]
fn a_changed_weight_of_a_kept_real_server_changes_the_table_only() {
    let mut h = Harness::new(&vs_with(" delay_loop 4", &[(1, TCP)]), tcp(|_, _| true));
    h.run_until(at(1.0));
    let n = h.actions.len();
    let heavier = format!("  weight 5\n{TCP}");
    h.reload(&vs_with(" delay_loop 4", &[(1, &heavier)]));
    let shown: Vec<_> = h.actions[n..].iter().map(|(_, a)| show(a)).collect();
    assert_eq!(
        shown,
        vec![
            "reloaded: checkers [Some(CheckId(0))], virtual servers [Some(VsId(0))]",
            "vs 0 Real(0): Weight(5) (reload)",
        ]
    );
    assert_eq!(h.engine.checker(CheckId(0)).unwrap().runs, 1);
}

#[test]
fn a_down_real_server_stays_down_across_a_reload() {
    let mut h = Harness::new(&vs_with(" delay_loop 4", &[(1, TCP)]), tcp(|_, _| false));
    h.run_until(at(1.0));
    assert!(!h.engine.real_server(VsId(0), 0).unwrap().alive);
    let n = h.actions.len();
    h.reload(&vs_with(" delay_loop 4", &[(1, TCP), (2, TCP)]));
    // Not re-added "instantly" (keepalived: "Do not re-add failed RS instantly on reload");
    // the new one is up at once and brings the quorum.
    let shown: Vec<_> = h.actions[n..].iter().map(|(_, a)| show(a)).collect();
    assert_eq!(
        shown,
        vec![
            "reloaded: checkers [Some(CheckId(0))], virtual servers [Some(VsId(0))]",
            "vs 0 quorum gained (weight 1, threshold 1)",
            "notify QuorumUp(VsId(0))",
            "vs 0 Real(1): Add(1) (reload)",
        ]
    );
    assert!(!h.engine.real_server(VsId(0), 0).unwrap().alive);
}
