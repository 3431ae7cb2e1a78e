//! The IPVS-wide decisions against keepalived 2.2.7's sequences (check_daemon.c,
//! ipwrapper.c `clear_services`, ipvswrapper.c `ipvs_syncd_master` / `ipvs_syncd_backup`,
//! vrrp.c, vrrp_scheduler.c `vrrp_init_state`, vrrp_daemon.c).

use super::*;
use crate::conf;

fn cfg(global: &str) -> Config {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {{\n  192.0.2.1/24\n }}\n}}\n"
    );
    conf::parse_str(&text).expect("parses")
}

fn lvs(global: &str) -> LvsGlobals {
    cfg(global).global.checker.lvs
}

fn start(role: SyncRole, d: &LvsSyncDaemon) -> LvsAction {
    LvsAction::StartSyncDaemon {
        role,
        daemon: d.clone(),
    }
}

fn stop(role: SyncRole, syncid: u8, may_be_absent: bool) -> LvsAction {
    LvsAction::StopSyncDaemon {
        role,
        syncid,
        may_be_absent,
    }
}

#[test]
fn nothing_configured_sends_nothing_but_keepalived_s_default_removal() {
    let l = lvs("");
    assert_eq!(checker_start(&l), vec![]);
    assert_eq!(checker_reload(&l, &l), vec![]);
    assert_eq!(
        checker_stop(&l),
        vec![
            LvsAction::RemoveServices {
                destinations_first: true
            },
            LvsAction::RestoreTimeouts
        ]
    );
}

#[test]
fn start_sets_timeouts_then_the_checker_s_daemons_then_flushes() {
    let l = lvs(" lvs_timeouts tcp 900 udp 60\n lvs_flush\n lvs_sync_daemon eth1 id 7");
    let d = l.sync_daemon.clone().expect("a sync daemon");
    assert_eq!(d.instance, None);
    assert_eq!(
        checker_start(&l),
        vec![
            LvsAction::SetTimeouts(LvsTimeouts {
                tcp: Some(900),
                tcpfin: None,
                udp: Some(60)
            }),
            stop(SyncRole::Master, 7, true),
            stop(SyncRole::Backup, 7, true),
            start(SyncRole::Master, &d),
            start(SyncRole::Backup, &d),
            LvsAction::Flush,
        ]
    );
    // Stop: the services, both daemons, the kernel's timeouts back.
    assert_eq!(
        checker_stop(&l),
        vec![
            LvsAction::RemoveServices {
                destinations_first: true
            },
            stop(SyncRole::Master, 7, true),
            stop(SyncRole::Backup, 7, true),
            LvsAction::RestoreTimeouts,
        ]
    );
}

#[test]
fn timeouts_of_zero_are_not_sent() {
    // keepalived's start_check sends SET_CONFIG only when a timeout is non-zero.
    assert_eq!(checker_start(&lvs(" lvs_timeouts tcp 0")), vec![]);
}

#[test]
fn flush_on_stop_vs_deletes_the_services_and_bare_flushes_everything() {
    let vs = lvs(" lvs_flush_on_stop VS");
    assert_eq!(
        checker_stop(&vs)[0],
        LvsAction::RemoveServices {
            destinations_first: false
        }
    );
    for bare in [" lvs_flush_on_stop", " lvs_flush_onstop"] {
        assert_eq!(checker_stop(&lvs(bare))[0], LvsAction::Flush, "{bare}");
    }
}

#[test]
fn a_daemon_that_follows_an_instance_is_not_the_checker_s() {
    let l = lvs(" lvs_sync_daemon eth1 VI_1");
    assert!(l.sync_daemon.is_some());
    assert_eq!(checker_start(&l), vec![]);
    assert_eq!(
        checker_stop(&l).len(),
        2,
        "the services and the timeouts only"
    );
}

#[test]
fn reload_restores_or_changes_timeouts_and_restarts_a_changed_daemon() {
    let none = lvs("");
    let t = lvs(" lvs_timeouts tcpfin 30");
    assert_eq!(checker_reload(&t, &none), vec![LvsAction::RestoreTimeouts]);
    assert_eq!(
        checker_reload(&none, &t),
        vec![LvsAction::SetTimeouts(t.timeouts)]
    );
    assert_eq!(checker_reload(&t, &t), vec![]);
    let a = lvs(" lvs_sync_daemon eth1 id 1");
    let b = lvs(" lvs_sync_daemon eth1 id 2");
    let (da, db) = (
        a.sync_daemon.clone().unwrap(),
        b.sync_daemon.clone().unwrap(),
    );
    assert_eq!(checker_reload(&a, &a), vec![]);
    assert_eq!(
        checker_reload(&a, &b),
        vec![
            stop(SyncRole::Master, 1, true),
            stop(SyncRole::Backup, 1, true),
            start(SyncRole::Master, &db),
            start(SyncRole::Backup, &db),
        ]
    );
    assert_eq!(
        checker_reload(&a, &none),
        vec![
            stop(SyncRole::Master, 1, true),
            stop(SyncRole::Backup, 1, true)
        ]
    );
    assert_eq!(checker_reload(&none, &a).len(), 4, "{da:?}");
}

fn follower(global: &str) -> SyncDaemonFollower {
    let c = cfg(global);
    SyncDaemonFollower::new(&c, |n| (n == "VI_1").then_some(InstanceId(0))).expect("follows VI_1")
}

/// The instance's life: start as BACKUP (backup daemon), become MASTER (backup stopped,
/// master started), go to FAULT (master stopped, backup started), back to BACKUP (nothing),
/// MASTER again, stop (the master daemon stopped).
#[test]
fn the_daemon_follows_the_instance_as_keepalived_s_does() {
    let mut f = follower(" lvs_sync_daemon eth1 VI_1 maxlen 1400 port 8848 ttl 2 group 239.0.0.81");
    let d = f.daemon().clone();
    assert_eq!(
        d.sync_id(),
        51,
        "the sync id defaults to the instance's VRID"
    );
    let i = f.instance();
    assert_eq!(f.start(State::Init), vec![start(SyncRole::Backup, &d)]);
    assert_eq!(f.on_state_change(i, State::Init, State::Backup), vec![]);
    assert_eq!(
        f.on_state_change(i, State::Backup, State::Master),
        vec![
            stop(SyncRole::Backup, 51, false),
            start(SyncRole::Master, &d)
        ]
    );
    // Another instance's change is not this daemon's.
    assert_eq!(
        f.on_state_change(InstanceId(1), State::Master, State::Backup),
        vec![]
    );
    assert_eq!(
        f.on_state_change(i, State::Master, State::Fault),
        vec![
            stop(SyncRole::Master, 51, false),
            start(SyncRole::Backup, &d)
        ]
    );
    assert_eq!(f.on_state_change(i, State::Fault, State::Backup), vec![]);
    assert_eq!(f.on_state_change(i, State::Backup, State::Fault), vec![]);
    assert_eq!(
        f.on_state_change(i, State::Fault, State::Master),
        vec![
            stop(SyncRole::Backup, 51, false),
            start(SyncRole::Master, &d)
        ]
    );
    assert_eq!(f.stop(), vec![stop(SyncRole::Master, 51, false)]);
    assert_eq!(f.stop(), vec![], "stopped once");
    // vigild's stop then takes the instance to INIT: no daemon is started again.
    assert_eq!(f.on_state_change(i, State::Master, State::Init), vec![]);
}

#[test]
fn init_straight_to_master_switches_from_the_backup_daemon() {
    let mut f = follower(" lvs_sync_daemon eth1 inst VI_1 id 9");
    let d = f.daemon().clone();
    let i = f.instance();
    assert_eq!(f.start(State::Init), vec![start(SyncRole::Backup, &d)]);
    assert_eq!(
        f.on_state_change(i, State::Init, State::Master),
        vec![
            stop(SyncRole::Backup, 9, false),
            start(SyncRole::Master, &d)
        ]
    );
}

#[test]
fn reload_keeps_an_unchanged_daemon_and_restarts_a_changed_one() {
    let mut old = follower(" lvs_sync_daemon eth1 VI_1");
    old.start(State::Init);
    old.on_state_change(old.instance(), State::Backup, State::Master);
    let same = follower(" lvs_sync_daemon eth1 VI_1");
    let (kept, acts) = SyncDaemonFollower::reload(Some(old.clone()), Some(same), State::Master);
    assert_eq!(acts, vec![]);
    let mut kept = kept.expect("kept");
    assert_eq!(kept.stop(), vec![stop(SyncRole::Master, 51, false)]);
    let changed = follower(" lvs_sync_daemon eth1 VI_1 id 3");
    let d = changed.daemon().clone();
    let (_, acts) = SyncDaemonFollower::reload(Some(old.clone()), Some(changed), State::Master);
    assert_eq!(
        acts,
        vec![
            stop(SyncRole::Master, 51, false),
            start(SyncRole::Master, &d)
        ]
    );
    let (gone, acts) = SyncDaemonFollower::reload(Some(old), None, State::Master);
    assert!(gone.is_none());
    assert_eq!(acts, vec![stop(SyncRole::Master, 51, false)]);
}

#[test]
fn the_instance_keyword_follows_its_instance_with_sync_id_0() {
    let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n lvs_sync_daemon_interface eth1\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";
    let c = conf::parse_str(text).expect("parses");
    let f = SyncDaemonFollower::new(&c, |n| (n == "VI_1").then_some(InstanceId(0)))
        .expect("follows VI_1");
    assert_eq!(f.daemon().interface, "eth1");
    assert_eq!(f.daemon().sync_id(), 0);
    assert_eq!(checker_start(&c.global.checker.lvs), vec![]);
}

/// What `vigild -t` says an IPVS host does (insta snapshot, reviewed).
#[test]
fn described_for_vigild_t() {
    assert_eq!(describe(&lvs("")), Vec::<String>::new());
    let all = describe(&lvs(
        " lvs_flush\n lvs_flush_on_stop\n lvs_timeouts tcp 900 udp 60\n lvs_sync_daemon eth1 VI_1 maxlen 1472 group 239.0.0.81",
    ));
    let vs = describe(&lvs(" lvs_flush_on_stop VS\n lvs_sync_daemon eth1"));
    insta::assert_snapshot!([all, vs].concat().join("\n"));
}
