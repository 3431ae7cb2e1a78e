//! Engine bugs found by the fuzzer (`fuzz/`, target `engine`), each as the smallest scenario that
//! shows it through the public API. The fuzzer's reproducer of each is replayed too, in
//! `fuzz/regressions/engine/` (tests/tests/fuzz_replay.rs).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vigil_engine::io::{CheckResult, FileId, ScriptId};
use vigil_engine::setup::{ScriptConfig, SyncGroupConfig, Track, TrackFileConfig, TrackTarget};
use vigil_engine::wire::{Family, Version};
use vigil_engine::{Action, Engine, EngineConfig, Input, InstanceConfig, Instant, State};

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

/// Run the engine as a runner does (handle_timeout at each poll_timeout) up to `until`.
fn run_until(e: &mut Engine, until: Instant) -> Vec<(Instant, Action)> {
    let mut out = Vec::new();
    while let Some(t) = e.poll_timeout() {
        if t > until {
            break;
        }
        e.handle_timeout(t);
        out.extend(drain(e).into_iter().map(|a| (t, a)));
    }
    out
}

/// Finding 1 (fuzz/regressions/engine/sync-group-member-never-rescheduled): when the
/// Master_Down_Timer of one sync-group member made the whole group MASTER, only that member was
/// put back in the timer schedule. A member whose own timer had run out earlier (it was waiting
/// for the group, with no timer) then never sent another advert: a silent MASTER holding the
/// addresses while a peer takes over.
#[test]
fn every_member_of_a_group_that_goes_master_on_a_timer_keeps_advertising() {
    let mut e = started(fast_and_slow(true));
    // FAST's timer runs out at 0.36 s (it waits for SLOW), SLOW's at 3.609375 s: both go MASTER.
    run_until(&mut e, Instant::from_millis(3_610));
    assert!(e.instances().all(|i| i.state() == State::Master));
    // From then on FAST advertises every 100 ms: its second advert at least one interval after
    // the first (3.609375 s), on the grid: 3.8 s, then every 100 ms to 5.0 s.
    let sent = run_until(&mut e, Instant::from_millis(5_000));
    let fast_adverts = sent
        .iter()
        .filter(|(_, a)| matches!(a, Action::SendAdvert(s) if s.vrid == 52))
        .count();
    assert_eq!(fast_adverts, 13, "FAST's adverts from 3.8 s to 5.0 s");
}

/// Finding 2 (fuzz/regressions/engine/track-file-priority-overflow): a tracked file's value times
/// its weight saturates at `i64::MAX`; adding the other trackers' weights, or the configured
/// priority, then overflowed (a panic in debug builds, a wrapped and so wrong priority in
/// release). The effective priority clamps to 254 instead.
#[test]
fn huge_track_file_values_clamp_the_priority_instead_of_overflowing() {
    let mut c = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
    c.track = vec![
        Track {
            target: TrackTarget::File("tf".into()),
            weight: 10,
            reverse: false,
        },
        Track {
            target: TrackTarget::Script("chk".into()),
            weight: 20,
            reverse: false,
        },
    ];
    let mut e = Engine::new(EngineConfig {
        instances: vec![c],
        scripts: vec![ScriptConfig {
            name: "chk".into(),
            interval: core::time::Duration::from_secs(1),
            rise: 1,
            fall: 1,
            timeout: Duration::from_secs(1),
            init_fail: false,
        }],
        track_files: vec![TrackFileConfig {
            name: "tf".into(),
            initial: 0,
        }],
        ..Default::default()
    })
    .unwrap();
    let t = Instant::from_millis(1);
    e.handle_input(
        t,
        Input::Check {
            script: ScriptId(0),
            result: CheckResult::Success,
            ran_for: Duration::ZERO,
        },
    );
    for (value, expected) in [(i64::MAX, 254), (i64::MAX / 10, 254), (3, 150), (0, 120)] {
        e.handle_input(
            t,
            Input::TrackFile {
                file: FileId(0),
                value,
            },
        );
        drain(&mut e);
        let prio = e.instances().next().map(|i| i.priority());
        assert_eq!(prio, Some(expected), "file value {value}");
    }
}

/// Two VRRPv3 instances on `eth0` in sync group `G` (when `grouped`): FAST (100 ms) and SLOW
/// (1 s), started at 0 with no master on the link.
fn fast_and_slow(grouped: bool) -> EngineConfig {
    let slow = InstanceConfig::new("SLOW", "eth0", 51, Version::V3, Family::V4)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
    let fast = InstanceConfig::new("FAST", "eth0", 52, Version::V3, Family::V4)
        .advert_interval(Duration::from_millis(100))
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101))]);
    let sync_groups = if grouped {
        vec![SyncGroupConfig {
            name: "G".into(),
            members: vec!["SLOW".into(), "FAST".into()],
            tracking_weight: false,
        }]
    } else {
        Vec::new()
    };
    EngineConfig {
        instances: vec![slow, fast],
        sync_groups,
        ..Default::default()
    }
}

/// The engine of `config` with eth0's primary address 192.0.2.10, started at 0.
fn started(config: EngineConfig) -> Engine {
    let mut e = Engine::new(config).unwrap();
    let eth0 = e.interface_id("eth0").unwrap();
    e.handle_input(
        Instant::ZERO,
        Input::PrimaryAddress {
            iface: eth0,
            family: Family::V4,
            addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
        },
    );
    e.handle_input(Instant::ZERO, Input::Start);
    drain(&mut e);
    e
}

fn state_of(e: &Engine, name: &str) -> Option<State> {
    e.instances().find(|i| i.name() == name).map(|i| i.state())
}

/// Finding 5 (fuzz/regressions/engine/reload-drops-the-sync-group-of-a-waiting-member): a
/// sync-group member whose Master_Down_Timer ran out waits for its group without a timer. A
/// reload that removed the group kept it that way: a BACKUP with no timer, which never took over
/// although no master was heard (an outage until an advert arrived). It now decides again at the
/// reload: alone, it becomes MASTER at once.
#[test]
fn a_member_waiting_for_its_sync_group_takes_over_when_a_reload_removes_the_group() {
    let mut e = started(fast_and_slow(true));
    // FAST's timer runs out at 0.36 s; it waits for SLOW (due at 3.609375 s), without a timer.
    run_until(&mut e, Instant::from_millis(1_000));
    assert_eq!(state_of(&e, "FAST"), Some(State::Backup));
    let fast = e
        .instances()
        .find(|i| i.name() == "FAST")
        .map(|i| i.next_deadline());
    assert_eq!(fast, Some(None), "FAST waits for its group without a timer");
    let now = Instant::from_millis(1_000);
    e.reload(now, fast_and_slow(false)).unwrap();
    let actions = drain(&mut e);
    assert_eq!(state_of(&e, "FAST"), Some(State::Master), "{actions:?}");
    assert_eq!(state_of(&e, "SLOW"), Some(State::Backup));
    assert!(e.instances().all(|i| i.next_deadline().is_some()));
    assert!(e.poll_timeout().is_some_and(|t| t > now));
}

/// Finding 7 (fuzz/regressions/engine/reload-forgets-tracked-priority-until-start): a reload
/// builds the new instances as a fresh engine would, then adopts the running environment (link
/// states, check results, tracked-file values), but their priority stayed the one of the fresh
/// engine. Before start (or for an instance the reload creates) the engine then reported a
/// priority its trackers do not give, and start corrected it silently: a `StateChange` with a
/// priority no `PriorityChange` had announced. The priority now follows the adopted trackers.
#[test]
fn a_reload_keeps_the_priority_that_the_tracked_file_gives() {
    let mut c = InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
        .priority(60)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))]);
    c.track = vec![Track {
        target: TrackTarget::File("tf".into()),
        weight: 10,
        reverse: false,
    }];
    let config = EngineConfig {
        instances: vec![c],
        track_files: vec![TrackFileConfig {
            name: "tf".into(),
            initial: 0,
        }],
        ..Default::default()
    };
    let mut e = Engine::new(config.clone()).unwrap();
    let t = Instant::from_millis(1);
    e.handle_input(
        t,
        Input::TrackFile {
            file: FileId(0),
            value: 5,
        },
    );
    drain(&mut e);
    let prio = |e: &Engine| e.instances().next().map(|i| i.priority());
    assert_eq!(prio(&e), Some(110));
    e.reload(t, config).unwrap();
    assert!(drain(&mut e).is_empty());
    assert_eq!(
        prio(&e),
        Some(110),
        "the reloaded instance forgot its tracker"
    );
    e.handle_input(t, Input::Start);
    let started = drain(&mut e);
    assert!(
        started
            .iter()
            .any(|a| matches!(a, Action::StateChange { priority: 110, .. })),
        "{started:?}"
    );
}
