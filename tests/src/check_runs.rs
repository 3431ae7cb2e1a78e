//! vigild's account of its health-check runs, read back from its `-D` log, and a judge of the
//! checker engine's schedule (engine/src/checker/schedule.rs) on it.
//!
//! With `-D` vigild's checker runner logs each run the engine asks for, with the engine's own
//! numbers (nanoseconds of the engine's clock): `check run checker="..." run=N retry=K
//! scheduled_ns=S started_ns=T deadline_ns=D late_ms=L`, then `check result checker="..."
//! run=N at_ns=E outcome=...` or `check abandoned checker="..." run=N at_ns=E`. The schedule is
//! the engine's decision and is judged exactly; when the runner served each run (T - S) is the
//! loaded machine's part and is only bounded.

/// How late a run may be served after its scheduled time (the real-world part, loose: a loaded
/// 2-core machine; the schedule itself is judged exactly).
pub const LATE_MAX_NS: u64 = 2_000_000_000;

/// One run of a checker as vigild's runner logged it (engine nanoseconds; line numbers in the
/// log, for ordering against other lines).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The run's number (the engine's).
    pub run: u64,
    /// 0 on the `delay_loop` schedule, k for the k-th retry.
    pub retry: u32,
    /// When the engine's schedule wanted it.
    pub scheduled: u64,
    /// When the runner served it.
    pub started: u64,
    /// When the engine abandons it.
    pub deadline: u64,
    /// Its `check run` line in the log (0-based).
    pub line: usize,
    /// When it ended (result or abandoned), whether it failed, and the line.
    pub end: Option<(u64, bool, usize)>,
    /// Abandoned at its deadline.
    pub abandoned: bool,
}

/// The `key=value` fields of a tracing line after `message` (values may be quoted).
pub fn fields(line: &str, message: &str) -> Option<Vec<(String, String)>> {
    let rest = &line[line.find(message)? + message.len()..];
    let mut out = Vec::new();
    let mut chars = rest.trim_start().chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let mut val = String::new();
        if key.trim() == "outcome" {
            // The last field, a Debug value that may hold spaces: `Failure("refused")`.
            val = chars.by_ref().collect();
        } else if chars.peek() == Some(&'"') {
            chars.next();
            let mut esc = false;
            for c in chars.by_ref() {
                match (esc, c) {
                    (false, '\\') => esc = true,
                    (false, '"') => break,
                    _ => {
                        esc = false;
                        val.push(c);
                    }
                }
            }
            // The space after the closing quote.
            chars.next();
        } else {
            val = chars.by_ref().take_while(|&c| c != ' ').collect();
        }
        out.push((key.trim().to_string(), val));
    }
    Some(out)
}

/// The value of field `key`, parsed.
pub fn field<T: std::str::FromStr>(f: &[(String, String)], key: &str) -> Option<T> {
    f.iter().find(|(k, _)| k == key)?.1.parse().ok()
}

/// The runs of the checker named `checker` ("HTTP_GET of 192.0.2.12:8080 (VS 192.0.2.100:80)"),
/// in order, from vigild's `-D` log.
pub fn runs_of(log: &str, checker: &str) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, line) in log.lines().enumerate() {
        let (msg, f) = if let Some(f) = fields(line, " check run ") {
            ("run", f)
        } else if let Some(f) = fields(line, " check result ") {
            ("result", f)
        } else if let Some(f) = fields(line, " check abandoned ") {
            ("abandoned", f)
        } else {
            continue;
        };
        if f.iter()
            .find(|(k, _)| k == "checker")
            .map(|(_, v)| v.as_str())
            != Some(checker)
        {
            continue;
        }
        let Some(run) = field::<u64>(&f, "run") else {
            continue;
        };
        match msg {
            "run" => runs.push(Run {
                run,
                retry: field(&f, "retry").unwrap_or(u32::MAX),
                scheduled: field(&f, "scheduled_ns").unwrap_or(0),
                started: field(&f, "started_ns").unwrap_or(0),
                deadline: field(&f, "deadline_ns").unwrap_or(0),
                line: i,
                end: None,
                abandoned: false,
            }),
            _ => {
                let at = field(&f, "at_ns").unwrap_or(0);
                let failed = msg == "abandoned"
                    || f.iter()
                        .find(|(k, _)| k == "outcome")
                        .is_none_or(|(_, v)| v != "Success" && v != "Exit(0)");
                if let Some(r) = runs.iter_mut().rev().find(|r| r.run == run) {
                    if r.end.is_none() {
                        r.end = Some((at, failed, i));
                        r.abandoned = msg == "abandoned";
                    }
                }
            }
        }
    }
    runs
}

/// The engine's schedule, judged exactly from the runs it logged (see the module documentation):
/// each run after the first at max(previous scheduled + `delay_loop`, or + `delay_before_retry`
/// for a retry; the previous run's end), its deadline at its start + `timeout`, served at or
/// after its scheduled time and at most [`LATE_MAX_NS`] after it.
pub fn judge_schedule(
    runs: &[Run],
    delay_loop: u64,
    delay_before_retry: u64,
    timeout: u64,
) -> Result<(), String> {
    for (k, b) in runs.iter().enumerate() {
        if b.started < b.scheduled || b.started - b.scheduled > LATE_MAX_NS {
            return Err(format!(
                "run {} served {} ns after its scheduled time (0..={LATE_MAX_NS}): {b:?}",
                b.run,
                b.started as i128 - b.scheduled as i128
            ));
        }
        if b.deadline != b.started + timeout {
            return Err(format!(
                "run {}: deadline is not its start + {timeout} ns: {b:?}",
                b.run
            ));
        }
        let Some(a) = k.checked_sub(1).map(|j| &runs[j]) else {
            continue;
        };
        let Some((end, _, _)) = a.end else {
            return Err(format!(
                "run {} started before run {} ended: {a:?} {b:?}",
                b.run, a.run
            ));
        };
        let delay = if b.retry > 0 {
            delay_before_retry
        } else {
            delay_loop
        };
        let want = (a.scheduled + delay).max(end);
        if b.scheduled != want {
            return Err(format!(
                "run {} (retry {}) scheduled at {} ns, the schedule says max({} + {delay}, end {end}) = {want} ns \
                 ({:+} ns)\nprevious: {a:?}\nthis: {b:?}",
                b.run,
                b.retry,
                b.scheduled,
                a.scheduled,
                b.scheduled as i128 - want as i128
            ));
        }
    }
    Ok(())
}

/// The judge's own tests: the schedule of a failure and its two retries, as vigild logs it,
/// passes; the same schedule off by one millisecond, a retry counted from the failed run's end
/// instead of its scheduled start, or a run served before its time does not.
#[cfg(test)]
#[test]
fn the_schedule_judge_wants_the_engine_s_schedule_exactly() {
    const S: u64 = 1_000_000_000;
    let line = "2026-12-04T03:10:00.000001Z DEBUG check run checker=\"HTTP_GET of 192.0.2.12:8080 \
                (VS 192.0.2.100:80)\" run=7 retry=1 scheduled_ns=11000000000 started_ns=11000400000 \
                deadline_ns=12000400000 late_ms=0";
    let f = fields(line, " check run ").expect("fields");
    assert_eq!(
        (
            f[0].1.as_str(),
            field::<u32>(&f, "retry"),
            field::<u64>(&f, "started_ns")
        ),
        (
            "HTTP_GET of 192.0.2.12:8080 (VS 192.0.2.100:80)",
            Some(1),
            Some(11_000_400_000)
        )
    );
    // Scheduled at 10 s, 11 s, 12 s (delay_before_retry 1 s), each served 0.4 s late and
    // ending 0.5 s after its start; then 14 s (delay_loop 2 s).
    let run = |n: u64, retry: u32, sched: u64| Run {
        run: n,
        retry,
        scheduled: sched,
        started: sched + 400_000_000,
        deadline: sched + 400_000_000 + S,
        line: n as usize,
        end: Some((sched + 900_000_000, true, n as usize)),
        abandoned: false,
    };
    let good = vec![
        run(1, 0, 10 * S),
        run(2, 1, 11 * S),
        run(3, 2, 12 * S),
        run(4, 0, 14 * S),
    ];
    assert_eq!(judge_schedule(&good, 2 * S, S, S), Ok(()));
    let mut off = good.clone();
    off[2].scheduled += 1_000_000;
    off[2].started += 1_000_000;
    off[2].deadline += 1_000_000;
    assert!(judge_schedule(&off, 2 * S, S, S).is_err());
    // Counted from the previous run's end (keepalived's network checkers): 11.9 s, 12.8 s.
    let mut from_end = good.clone();
    from_end[1].scheduled = 10 * S + 900_000_000 + S;
    from_end[1].started = from_end[1].scheduled + 400_000_000;
    from_end[1].deadline = from_end[1].started + S;
    assert!(judge_schedule(&from_end, 2 * S, S, S).is_err());
    // A run that ended after the next one's slot moves it to its end (not an error).
    let mut slow = good.clone();
    slow[0].end = Some((11 * S + 200_000_000, true, 1));
    slow[1].scheduled = 11 * S + 200_000_000;
    slow[1].started = slow[1].scheduled + 400_000_000;
    slow[1].deadline = slow[1].started + S;
    slow[2].scheduled = 12 * S + 200_000_000;
    slow[2].started = slow[2].scheduled + 400_000_000;
    slow[2].deadline = slow[2].started + S;
    slow[2].end = Some((slow[2].started + 500_000_000, true, 3));
    slow[3].scheduled = 14 * S + 200_000_000;
    slow[3].started = slow[3].scheduled + 400_000_000;
    slow[3].deadline = slow[3].started + S;
    assert_eq!(judge_schedule(&slow, 2 * S, S, S), Ok(()));
    let mut early = good.clone();
    early[3].started = early[3].scheduled - 1;
    early[3].deadline = early[3].started + S;
    assert!(judge_schedule(&early, 2 * S, S, S).is_err());
    let mut late = good;
    late[3].started = late[3].scheduled + LATE_MAX_NS + 1;
    late[3].deadline = late[3].started + S;
    assert!(judge_schedule(&late, 2 * S, S, S).is_err());
}
