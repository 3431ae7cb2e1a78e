//! The process settings of `global_defs` against keepalived 2.2.7's grammar
//! (global_parser.c `get_priority`, `get_realtime_priority`, `get_cpu_affinity`,
//! `get_rt_rlimit`), each diagnostic at its file:line:column.

use crate::conf::{parse_str, Config, ProcessSettings};

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";

fn parse(lines: &str) -> Result<Config, Vec<String>> {
    parse_str(&format!("global_defs {{\n{lines}\n}}\n{INSTANCE}"))
        .map_err(|e| e.errors().map(|d| d.to_string()).collect())
}

fn ok(lines: &str) -> Config {
    parse(lines).unwrap_or_else(|e| panic!("{lines}: {e:?}"))
}

fn warnings(c: &Config) -> Vec<String> {
    c.warnings.iter().map(ToString::to_string).collect()
}

/// Each keyword lands in its process's settings; unset ones stay `None`, and the loop runs
/// with the `vrrp_` values, each missing one taken from its `checker_` twin.
#[test]
fn settings_are_read_and_checker_ones_fill_what_vrrp_leaves_unset() {
    let c = ok(
        " vrrp_priority -5\n vrrp_rt_priority 20\n vrrp_rlimit_rttime 400000\n \
                vrrp_cpu_affinity 3 1 1\n vrrp_no_swap\n checker_priority 7\n \
                checker_rt_priority 30\n checker_rlimit_rttime 1",
    );
    let v = &c.global.vrrp_process;
    assert_eq!(v.nice, Some(-5));
    assert_eq!(v.rt_priority, Some(20));
    assert_eq!(v.rlimit_rttime_us, Some(400_000));
    let (cpus, loc) = v.cpu_affinity.clone().expect("an affinity");
    assert_eq!(cpus, [1, 3], "sorted, once each");
    assert_eq!((loc.line, loc.col), (5, 2));
    assert!(v.no_swap);
    let k = &c.global.checker_process;
    assert_eq!((k.nice, k.rt_priority), (Some(7), Some(30)));
    assert_eq!(
        k.rlimit_rttime_us,
        Some(2),
        "1 is taken as 2, as keepalived does"
    );
    let p = c.global.process();
    assert_eq!((p.nice, p.rt_priority), (Some(-5), Some(20)), "vrrp_ wins");
    let only_checker = ok(" checker_rt_priority 30\n checker_cpu_affinity 0")
        .global
        .process();
    assert_eq!(only_checker.rt_priority, Some(30));
    assert_eq!(only_checker.cpu_affinity.map(|(c, _)| c), Some(vec![0]));
    assert_eq!(ok("").global.process(), ProcessSettings::default());
}

/// Out of range or malformed: an error at the value (keepalived clamps the priorities with a
/// configuration error and goes on; vigild does not start with a value it was not given).
#[test]
fn values_out_of_range_are_errors_at_the_value() {
    let cases = [
        (" vrrp_priority -21", "keepalived.conf:2:16: error:"),
        (" vrrp_priority 20", "keepalived.conf:2:16: error:"),
        (" vrrp_rt_priority 0", "keepalived.conf:2:19: error:"),
        (" checker_rt_priority 100", "keepalived.conf:2:22: error:"),
        (" vrrp_rlimit_rttime 0", "keepalived.conf:2:21: error:"),
        (" vrrp_cpu_affinity 0 1024", "keepalived.conf:2:22: error:"),
        (" vrrp_cpu_affinity x", "keepalived.conf:2:20: error:"),
        (
            " vrrp_cpu_affinity",
            "keepalived.conf:2:2: error: vrrp_cpu_affinity: expected one or more CPU numbers",
        ),
    ];
    for (line, want) in cases {
        let e = parse(line).expect_err(line);
        assert!(e.iter().any(|d| d.starts_with(want)), "{line}: {e:?}");
    }
}

/// `*_rlimit_rtime` is read with keepalived's deprecation notice; a `checker_` line that its
/// `vrrp_` twin overrides with another value is a warning at the `checker_` line.
#[test]
fn deprecated_spelling_and_overridden_checker_lines_are_reported() {
    let c = ok(
        " vrrp_rlimit_rtime 5000\n vrrp_rt_priority 20\n checker_rt_priority 20\n \
                checker_priority 3\n vrrp_priority 4\n checker_cpu_affinity 1",
    );
    assert_eq!(c.global.vrrp_process.rlimit_rttime_us, Some(5000));
    let w = warnings(&c);
    assert!(
        w.iter().any(|d| d.contains("2:2: notice: Keyword 'vrrp_rlimit_rtime' is deprecated - please use 'vrrp_rlimit_rttime'")),
        "{w:?}"
    );
    let overridden: Vec<&String> = w.iter().filter(|d| d.contains("differs from")).collect();
    assert_eq!(overridden.len(), 1, "only checker_priority differs: {w:?}");
    assert!(
        overridden[0].contains("5:2: warning: checker_priority differs from vrrp_priority"),
        "{w:?}"
    );
}

/// The same settings written on other lines are the same scheduling; another value is not.
#[test]
fn same_as_ignores_where_a_cpu_list_was_written() {
    let a = ok(" vrrp_cpu_affinity 0 1").global.process();
    let b = ok("\n\n vrrp_cpu_affinity 1 0").global.process();
    assert_ne!(a, b, "the locations differ");
    assert!(a.same_as(&b));
    assert!(!a.same_as(&ok(" vrrp_cpu_affinity 0").global.process()));
    assert!(!a.same_as(&ProcessSettings::default()));
}
