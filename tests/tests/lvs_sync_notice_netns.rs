//! `lvs_sync_daemon` on an nftables host (issue 17): vigild says once that no IPVS sync daemon
//! is started, not again at every SIGHUP (it did), and again when the setting changes.
//!
//! One host, vigild with one VRRP instance and `global_defs lvs_sync_daemon eth0 VI_1`. This
//! machine's kernel has no IPVS, so the host is an nftables host: the parser's notice at the
//! keyword and the runtime line "lvs_sync_daemon eth0 VI_1: not started" are each logged once
//! at start. Two reloads of the same file log neither again; a reload that adds `id 9` logs the
//! runtime line again (with the new settings), the parser's notice (the same text at the same
//! place) not; the next reload of that file nothing again. Counted in vigild's log, after each
//! reload's "reloaded:" line.

use std::time::Duration;

use vigil_tests::netns::{self, keepalived_conf, Instance, Kind, Lab};

const NOT_STARTED: &str = "not started: nftables hosts have no IPVS connection sync daemon";
const NOTICE: &str = "notice: 'lvs_sync_daemon' is for IPVS hosts";

fn conf(sync: &str) -> String {
    keepalived_conf(&[Instance::v4(3, 100, "1")]).replacen(
        "  router_id vigil_test\n",
        &format!("  router_id vigil_test\n  {sync}\n"),
        1,
    )
}

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn the_no_sync_daemon_line_is_logged_once_and_again_only_when_the_setting_changes() {
    if !netns::require_root() {
        return;
    }
    let mut lab = Lab::new("lvs-sync-notice", 1);
    let node = lab.start(Kind::Vigil, 1, &conf("lvs_sync_daemon eth0 VI_1"));
    let log = |lab: &Lab| lab.node_ref(node).log_text();
    assert!(
        netns::wait_until(Duration::from_secs(15), || count(&log(&lab), "(VI_1)") > 0
            && count(&log(&lab), NOT_STARTED) > 0),
        "vigild did not start its instance:\n{}",
        lab.logs()
    );
    let at_start = log(&lab);
    assert_eq!(
        (count(&at_start, NOT_STARTED), count(&at_start, NOTICE)),
        (1, 1),
        "once each at start:\n{at_start}"
    );
    // Each reload, then what the log holds once its "reloaded:" line is there.
    let mut reloads = 0;
    let mut reload = |lab: &mut Lab, text: &str| -> String {
        reloads += 1;
        let n = lab.node(node);
        std::fs::write(&n.conf, text).expect("write the configuration");
        netns::signal(n.pid, libc::SIGHUP);
        assert!(
            netns::wait_until(Duration::from_secs(15), || count(
                &lab.node_ref(node).log_text(),
                "reloaded:"
            ) == reloads),
            "reload {reloads} not done:\n{}",
            lab.logs()
        );
        lab.node_ref(node).log_text()
    };
    for _ in 0..2 {
        let l = reload(&mut lab, &conf("lvs_sync_daemon eth0 VI_1"));
        assert_eq!(
            (count(&l, NOT_STARTED), count(&l, NOTICE)),
            (1, 1),
            "a reload of the same file repeats neither:\n{l}"
        );
        assert!(
            l.contains("notice(s) as at the last load, not repeated"),
            "{l}"
        );
    }
    let l = reload(&mut lab, &conf("lvs_sync_daemon eth0 VI_1 id 9"));
    assert_eq!(
        (count(&l, NOT_STARTED), count(&l, NOTICE)),
        (2, 1),
        "a changed setting: the runtime line again, the same notice not:\n{l}"
    );
    let l = reload(&mut lab, &conf("lvs_sync_daemon eth0 VI_1 id 9"));
    assert_eq!(count(&l, NOT_STARTED), 2, "{l}");
    assert!(lab.node(node).running(), "vigild still runs:\n{l}");
    eprintln!("lvs_sync_daemon on nftables: noted once at start, once more after the change, over 4 reloads");
}
