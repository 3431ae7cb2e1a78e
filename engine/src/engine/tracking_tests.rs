// Long: tracking and announcement-schedule tests sharing one fixture set (engine_with, base); the gate's tests are in gate_tests.rs.
//! Tracking (rise / fall, weights, `reverse`, clamping, owner immunity, FAULT from weight 0,
//! sync groups without `sync_group_tracking_weight`) and announcement schedules with exact
//! virtual times.

use super::*;
use crate::setup::{
    Announce, ScriptConfig, SyncGroupConfig, Track, TrackFileConfig, TrackProcessConfig,
    TrackTarget,
};
use std::net::Ipv4Addr;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn base(prio: u8) -> InstanceConfig {
    InstanceConfig::new("VI_1", "eth0", 51, Version::V3, Family::V4)
        .priority(prio)
        .vips([IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))])
}

fn script(name: &str, rise: u32, fall: u32) -> ScriptConfig {
    ScriptConfig {
        name: name.into(),
        interval: core::time::Duration::from_secs(1),
        rise,
        fall,
        timeout: Duration::from_secs(2),
        init_fail: false,
    }
}

fn track(target: TrackTarget, weight: i32, reverse: bool) -> Track {
    Track {
        target,
        weight,
        reverse,
    }
}

fn engine_with(cfg: EngineConfig) -> Engine {
    let mut e = Engine::new(cfg).unwrap();
    let ifaces: Vec<IfaceId> = e.interfaces().map(|(id, _)| id).collect();
    for (k, iface) in ifaces.into_iter().enumerate() {
        e.handle_input(
            ms(0),
            Input::PrimaryAddress {
                iface,
                family: Family::V4,
                addr: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + k as u8))),
            },
        );
    }
    e.handle_input(ms(0), Input::Start);
    e
}

/// One instance tracking script `chk` with `weight` / `reverse`.
fn with_script(prio: u8, weight: i32, reverse: bool, s: ScriptConfig) -> Engine {
    let mut c = base(prio);
    c.track
        .push(track(TrackTarget::Script(s.name.clone()), weight, reverse));
    engine_with(EngineConfig {
        instances: vec![c],
        scripts: vec![s],
        ..Default::default()
    })
}

fn prio(e: &Engine) -> u8 {
    e.instance(InstanceId(0)).unwrap().priority()
}

fn state(e: &Engine) -> State {
    e.instance(InstanceId(0)).unwrap().state()
}

fn check(e: &mut Engine, now: Instant, result: CheckResult) {
    e.handle_input(
        now,
        Input::Check {
            script: ScriptId(0),
            result,
            ran_for: Duration::from_millis(50),
        },
    );
}

fn drain(e: &mut Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

#[test]
fn fall_count_takes_the_script_down_and_rise_count_brings_it_up() {
    let mut e = with_script(100, -30, false, script("chk", 2, 3));
    drain(&mut e);
    check(&mut e, ms(1000), CheckResult::Failure);
    check(&mut e, ms(2000), CheckResult::Failure);
    assert_eq!(prio(&e), 100, "two failures of fall 3");
    check(&mut e, ms(3000), CheckResult::Failure);
    assert_eq!(prio(&e), 70);
    let a = drain(&mut e);
    assert_eq!(state(&e), State::Backup);
    assert!(a.contains(&Action::PriorityChange {
        instance: InstanceId(0),
        from: 100,
        to: 70,
        report: PriorityReport::Backup,
    }));
    check(&mut e, ms(4000), CheckResult::Success);
    assert_eq!(prio(&e), 70, "one success of rise 2");
    check(&mut e, ms(5000), CheckResult::Failure);
    check(&mut e, ms(6000), CheckResult::Success);
    assert_eq!(prio(&e), 70, "a failure resets the rise count");
    check(&mut e, ms(7000), CheckResult::Success);
    assert_eq!(prio(&e), 100);
}

#[test]
fn a_run_longer_than_the_timeout_is_a_failure_whatever_its_status() {
    let mut e = with_script(100, -30, false, script("chk", 1, 1));
    e.handle_input(
        ms(1000),
        Input::Check {
            script: ScriptId(0),
            result: CheckResult::Success,
            ran_for: Duration::from_millis(2001),
        },
    );
    assert_eq!(prio(&e), 70);
    check(&mut e, ms(2000), CheckResult::Success);
    assert_eq!(prio(&e), 100);
    check(&mut e, ms(3000), CheckResult::Timeout);
    assert_eq!(prio(&e), 70);
}

#[test]
fn positive_weight_is_added_while_up() {
    let mut e = with_script(100, 20, false, script("chk", 1, 1));
    assert_eq!(prio(&e), 120);
    check(&mut e, ms(1000), CheckResult::Failure);
    assert_eq!(prio(&e), 100);
}

#[test]
fn reverse_applies_a_negative_weight_while_up() {
    let mut e = with_script(100, -20, true, script("chk", 1, 1));
    assert_eq!(prio(&e), 80);
    check(&mut e, ms(1000), CheckResult::Failure);
    assert_eq!(prio(&e), 100);
}

#[test]
fn reverse_applies_a_positive_weight_while_down() {
    let mut e = with_script(100, 20, true, script("chk", 1, 1));
    assert_eq!(prio(&e), 100);
    check(&mut e, ms(1000), CheckResult::Failure);
    assert_eq!(prio(&e), 120);
}

#[test]
fn effective_priority_is_clamped_to_1_254() {
    let e = with_script(250, 50, false, script("chk", 1, 1));
    assert_eq!(prio(&e), 254);
    let mut e = with_script(10, -50, false, script("chk", 1, 1));
    check(&mut e, ms(1000), CheckResult::Failure);
    assert_eq!(prio(&e), 1);
}

#[test]
fn the_owner_priority_never_changes() {
    let mut e = with_script(255, -50, false, script("chk", 1, 1));
    check(&mut e, ms(1000), CheckResult::Failure);
    assert_eq!(prio(&e), 255);
    assert_eq!(state(&e), State::Master);
}

#[test]
fn weight_zero_failure_means_fault_and_recovery_means_backup() {
    let mut e = with_script(100, 0, false, script("chk", 1, 1));
    drain(&mut e);
    check(&mut e, ms(1000), CheckResult::Failure);
    let a = drain(&mut e);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::StateChange {
            to: State::Fault,
            reason: Reason::TrackerFailed,
            ..
        }
    )));
    check(&mut e, ms(2000), CheckResult::Success);
    assert_eq!(state(&e), State::Backup);
}

#[test]
fn init_fail_starts_in_the_failed_state() {
    let mut s = script("chk", 1, 1);
    s.init_fail = true;
    let e = with_script(100, 0, false, s);
    assert_eq!(state(&e), State::Fault);
}

#[test]
fn tracked_interface_weight_and_fault() {
    let mut c = base(100);
    c.track
        .push(track(TrackTarget::Interface("eth1".into()), -20, false));
    c.track
        .push(track(TrackTarget::Interface("eth2".into()), 0, false));
    let mut e = engine_with(EngineConfig::instances(vec![c]));
    let eth1 = e.interface_id("eth1").unwrap();
    let eth2 = e.interface_id("eth2").unwrap();
    e.handle_input(
        ms(1),
        Input::Link {
            iface: eth1,
            up: false,
        },
    );
    assert_eq!((prio(&e), state(&e)), (80, State::Backup));
    e.handle_input(
        ms(2),
        Input::Link {
            iface: eth2,
            up: false,
        },
    );
    assert_eq!(state(&e), State::Fault);
    let a = drain(&mut e);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::StateChange {
            reason: Reason::TrackedInterfaceDown,
            ..
        }
    )));
    e.handle_input(
        ms(3),
        Input::Link {
            iface: eth2,
            up: true,
        },
    );
    e.handle_input(
        ms(3),
        Input::Link {
            iface: eth1,
            up: true,
        },
    );
    assert_eq!((prio(&e), state(&e)), (100, State::Backup));
}

#[test]
fn track_file_value_times_weight() {
    let mut c = base(100);
    c.track
        .push(track(TrackTarget::File("f".into()), 10, false));
    let mut e = engine_with(EngineConfig {
        instances: vec![c],
        track_files: vec![TrackFileConfig {
            name: "f".into(),
            initial: 0,
        }],
        ..Default::default()
    });
    let f = e.track_file_id("f").unwrap();
    e.handle_input(ms(1), Input::TrackFile { file: f, value: 3 });
    assert_eq!(prio(&e), 130);
    e.handle_input(ms(2), Input::TrackFile { file: f, value: -5 });
    assert_eq!(prio(&e), 50);
    // -26 * 10 = -260: beyond -254 means FAULT, like keepalived.
    e.handle_input(
        ms(3),
        Input::TrackFile {
            file: f,
            value: -26,
        },
    );
    assert_eq!(state(&e), State::Fault);
}

#[test]
fn track_file_weight_zero_nonzero_value_means_fault() {
    let mut c = base(100);
    c.track.push(track(TrackTarget::File("f".into()), 0, false));
    let mut e = engine_with(EngineConfig {
        instances: vec![c],
        track_files: vec![TrackFileConfig {
            name: "f".into(),
            initial: 0,
        }],
        ..Default::default()
    });
    assert_eq!(state(&e), State::Backup);
    e.handle_input(
        ms(1),
        Input::TrackFile {
            file: FileId(0),
            value: 1,
        },
    );
    assert_eq!(state(&e), State::Fault);
}

fn grouped(tracking_weight: bool) -> Engine {
    let mut a = base(100);
    a.track
        .push(track(TrackTarget::Script("chk".into()), -30, false));
    let mut b = InstanceConfig::new("VI_2", "eth1", 52, Version::V3, Family::V4)
        .vips([IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))]);
    b.priority = 100;
    engine_with(EngineConfig {
        instances: vec![a, b],
        sync_groups: vec![SyncGroupConfig {
            name: "G".into(),
            members: vec!["VI_1".into(), "VI_2".into()],
            tracking_weight,
        }],
        scripts: vec![script("chk", 1, 1)],
        ..Default::default()
    })
}

#[test]
fn sync_group_without_tracking_weight_treats_a_weighted_failure_as_fault() {
    let mut e = grouped(false);
    check(&mut e, ms(1000), CheckResult::Failure);
    assert!(e.instances().all(|i| i.state() == State::Fault));
    assert_eq!(prio(&e), 100, "weights are ignored, not applied");
}

#[test]
fn sync_group_with_tracking_weight_applies_the_weight() {
    let mut e = grouped(true);
    check(&mut e, ms(1000), CheckResult::Failure);
    assert!(e.instances().all(|i| i.state() == State::Backup));
    assert_eq!(prio(&e), 70);
}

#[test]
fn new_priority_goes_into_the_next_advert_and_the_skew() {
    let mut e = with_script(200, -150, false, script("chk", 1, 1));
    // Become MASTER at 3.21875 s (priority 200).
    let t = Instant::from_micros(3_218_750);
    e.handle_timeout(t);
    drain(&mut e);
    check(&mut e, ms(3500), CheckResult::Failure);
    // The next advert (one interval after becoming MASTER at 3.21875 s, on the grid).
    e.handle_timeout(ms(5000));
    let sent: Vec<u8> = drain(&mut e)
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(s) => Some(s.priority),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![50]);
    assert_eq!(
        e.instance(InstanceId(0)).unwrap().master_down_interval(),
        Duration::from_nanos(3_804_687_500) // 3 s + (256 - 50) / 256 s
    );
}

// ----- announcements ------------------------------------------------------------------------

/// (time, announcements) for every call up to `until`, from an instance that becomes MASTER
/// at start-up (the owner).
fn announce_times(c: InstanceConfig, until: Instant) -> Vec<(Instant, usize)> {
    announce_times_with(EngineConfig::instances(vec![c]), until)
}

/// [`announce_times`] for a whole configuration (the interface gates are engine-wide).
fn announce_times_with(ec: EngineConfig, until: Instant) -> Vec<(Instant, usize)> {
    let mut e = engine_with(ec);
    let mut out = Vec::new();
    let mut record = |now: Instant, e: &mut Engine| {
        let n = drain(e)
            .iter()
            .filter(|a| matches!(a, Action::Announce { .. }))
            .count();
        if n > 0 {
            out.push((now, n));
        }
    };
    record(ms(0), &mut e);
    while let Some(t) = e.poll_timeout() {
        if t > until {
            break;
        }
        e.handle_timeout(t);
        record(t, &mut e);
    }
    out
}

#[test]
fn announce_default_is_five_now_and_five_after_five_seconds() {
    let got = announce_times(base(255), ms(60_000));
    assert_eq!(got, vec![(ms(0), 5), (ms(5000), 5)]);
}

#[test]
fn announce_without_delay_sends_one_burst() {
    let mut c = base(255);
    c.announce.master_delay = Duration::ZERO;
    assert_eq!(announce_times(c, ms(60_000)), vec![(ms(0), 5)]);
}

#[test]
fn announce_spacing_repeat_delay_and_refresh() {
    let mut c = base(255);
    c.announce = Announce {
        master_repeat: 3,
        master_delay: Duration::from_secs(2),
        master_refresh: Some(Duration::from_secs(30)),
        master_refresh_repeat: 2,
        ..Announce::default()
    };
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.garp_interval = Duration::from_millis(100);
    let got = announce_times_with(ec, ms(61_000));
    // keepalived 2.2.7's gate: the repeats of a burst collapse into one pending announcement
    // of the (single) address, sent when the gate opens 100 ms later.
    assert_eq!(
        got,
        vec![
            (ms(0), 1),
            (ms(100), 1),
            (ms(2000), 1),
            (ms(2100), 1),
            (ms(30_000), 1),
            (ms(30_100), 1),
            (ms(60_000), 1),
            (ms(60_100), 1),
        ]
    );
}

#[test]
fn a_refresh_served_late_sends_one_burst_and_rearms_from_then() {
    // keepalived 2.2.7 vrrp_state_master_tx: one vrrp_send_link_update(garp_refresh_rep) once
    // the refresh timer has passed, then garp_refresh_timer = timer_add_now(garp_refresh). A
    // runner stalled for ten periods sends one refresh burst, not ten (found profiling the
    // engine fuzz target: long time steps served late replayed every missed refresh).
    let mut c = base(255);
    c.announce = Announce {
        master_repeat: 1,
        master_delay: Duration::ZERO,
        master_refresh: Some(Duration::from_secs(1)),
        master_refresh_repeat: 1,
        ..Announce::default()
    };
    let mut e = engine_with(EngineConfig::instances(vec![c]));
    drain(&mut e);
    let announces = |e: &mut Engine| {
        drain(e)
            .iter()
            .filter(|a| matches!(a, Action::Announce { .. }))
            .count()
    };
    e.handle_timeout(ms(10_500));
    assert_eq!(announces(&mut e), 1);
    // The next one period after the late one, not on the old schedule (11 s).
    e.handle_timeout(ms(11_000));
    assert_eq!(announces(&mut e), 0);
    e.handle_timeout(ms(11_500));
    assert_eq!(announces(&mut e), 1);
}

#[test]
fn announce_ipv6_follows_the_same_schedule() {
    let mut c = InstanceConfig::new("VI_6", "eth0", 51, Version::V3, Family::V6)
        .priority(255)
        .vips(["2001:db8::100".parse().unwrap()]);
    c.source = Some("fe80::1".parse().unwrap());
    c.announce.master_repeat = 2;
    let mut ec = EngineConfig::instances(vec![c]);
    ec.announce_gates.gna_interval = Duration::from_millis(10);
    let got = announce_times_with(ec, ms(10_000));
    assert_eq!(
        got,
        vec![(ms(0), 1), (ms(10), 1), (ms(5000), 1), (ms(5010), 1)]
    );
}

#[test]
fn master_hearing_lower_priority_reannounces() {
    let mut c = base(200);
    c.announce.lower_prio_repeat = 2;
    c.announce.lower_prio_delay = Duration::from_secs(1);
    c.announce.master_delay = Duration::ZERO;
    let mut e = engine_with(EngineConfig::instances(vec![c]));
    let t = Instant::from_micros(3_218_750);
    e.handle_timeout(t);
    drain(&mut e);
    let src: IpAddr = "192.0.2.50".parse().unwrap();
    let vip = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))];
    let a = wire::Advert {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        interval: wire::Interval::Centiseconds(100),
        addrs: wire::Addrs::List(&vip),
        auth: Auth::None,
        checksum: wire::ChecksumForm::PseudoHeader,
        trailing: 0,
    };
    let mut buf = [0u8; 64];
    let n = wire::emit(
        &a,
        &IpContext {
            src,
            dst: wire::MCAST_V4.into(),
        },
        &mut buf,
    )
    .unwrap();
    e.handle_input(
        ms(3500),
        Input::Packet(Received {
            iface: IfaceId(0),
            src,
            dst: wire::MCAST_V4.into(),
            ttl: 255,
            payload: &buf[..n],
        }),
    );
    let got = drain(&mut e);
    assert_eq!(
        got.iter()
            .filter(|a| matches!(a, Action::Announce { .. }))
            .count(),
        2
    );
    // (The next advert is due at 5 s: one interval after becoming MASTER, on the grid.)
    assert_eq!(
        e.poll_timeout(),
        Some(ms(4500)),
        "the delayed lower-priority burst"
    );
    e.handle_timeout(ms(4500));
    let got = drain(&mut e);
    assert_eq!(
        got.iter()
            .filter(|a| matches!(a, Action::Announce { .. }))
            .count(),
        2
    );
}

#[test]
fn leaving_master_cancels_pending_announcements() {
    let mut e = engine_with(EngineConfig::instances(vec![base(255)]));
    drain(&mut e);
    e.handle_input(
        ms(100),
        Input::Link {
            iface: IfaceId(0),
            up: false,
        },
    );
    drain(&mut e);
    assert_eq!(
        e.poll_timeout(),
        None,
        "no delayed burst after leaving MASTER"
    );
}

#[test]
fn trackers_report_their_state_and_effect() {
    let mut c = base(100);
    c.track
        .push(track(TrackTarget::Script("chk".into()), -30, false));
    c.track
        .push(track(TrackTarget::Interface("eth1".into()), 0, false));
    let mut e = engine_with(EngineConfig {
        instances: vec![c],
        scripts: vec![script("chk", 1, 1)],
        ..Default::default()
    });
    check(&mut e, ms(1000), CheckResult::Failure);
    let t: Vec<_> = e.trackers(InstanceId(0)).collect();
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].up, t[0].effect), (false, Ok(-30)));
    assert_eq!((t[1].up, t[1].effect), (true, Ok(0)));
    let eth1 = e.interface_id("eth1").unwrap();
    e.handle_input(
        ms(2000),
        Input::Link {
            iface: eth1,
            up: false,
        },
    );
    let t: Vec<_> = e.trackers(InstanceId(0)).collect();
    assert_eq!(t[1].effect, Err(Reason::TrackedInterfaceDown));
}

#[test]
fn a_priority_change_rescales_a_running_master_down_timer() {
    // Priority 70 while the script is down (100 - 30), 100 when it comes back.
    let mut e = with_script(100, -30, false, script("chk", 1, 1));
    check(&mut e, ms(0), CheckResult::Failure);
    drain(&mut e);
    // (The instance's own deadline: the engine's next one is the check due at 1 s.)
    // Started at 0 with priority 100 and rescaled at once to 70: 3 s + 186/256 s.
    assert_eq!(
        e.instance(InstanceId(0)).unwrap().next_deadline(),
        Some(Instant::from_nanos(3_726_562_500))
    );
    check(&mut e, ms(1000), CheckResult::Success);
    // Back to 100: one Master_Down_Interval for priority 100 after the timer's start.
    assert_eq!(
        e.instance(InstanceId(0)).unwrap().next_deadline(),
        Some(Instant::from_micros(3_609_375))
    );
}

#[test]
fn a_priority_rise_past_the_new_master_down_interval_takes_over_at_once() {
    let mut s = script("chk", 1, 1);
    s.init_fail = true;
    let mut e = with_script(40, 160, false, s); // 40 while the script is down, 200 when up
    drain(&mut e);
    assert_eq!(prio(&e), 40);
    // At 3.5 s nothing was heard for longer than priority 200's 3.21875 s: MASTER now, and the
    // next deadline is in the future.
    check(&mut e, ms(3500), CheckResult::Success);
    assert_eq!((prio(&e), state(&e)), (200, State::Master));
    assert!(e
        .instance(InstanceId(0))
        .unwrap()
        .next_deadline()
        .is_some_and(|t| t > ms(3500)));
}

/// One instance tracking process set `p` with `weight` / `reverse`.
fn with_process(weight: i32, reverse: bool) -> (Engine, ProcessId) {
    let mut c = base(100);
    c.track
        .push(track(TrackTarget::Process("p".into()), weight, reverse));
    let e = engine_with(EngineConfig {
        instances: vec![c],
        track_processes: vec![TrackProcessConfig { name: "p".into() }],
        ..Default::default()
    });
    let id = e.track_process_id("p").unwrap();
    (e, id)
}

#[test]
fn track_process_weight_zero_lost_quorum_means_fault() {
    // Not yet reported: down (the runner reports its first scan before Input::Start).
    let (mut e, p) = with_process(0, false);
    assert_eq!(state(&e), State::Fault);
    e.handle_input(
        ms(1),
        Input::TrackProcess {
            process: p,
            up: true,
        },
    );
    assert_eq!(state(&e), State::Backup);
    assert_eq!(e.track_process_up(p), Some(true));
    e.handle_input(
        ms(2),
        Input::TrackProcess {
            process: p,
            up: false,
        },
    );
    assert_eq!(state(&e), State::Fault);
}

#[test]
fn track_process_weights_like_a_script() {
    let (mut e, p) = with_process(-30, false);
    assert_eq!((prio(&e), state(&e)), (70, State::Backup));
    e.handle_input(
        ms(1),
        Input::TrackProcess {
            process: p,
            up: true,
        },
    );
    assert_eq!(prio(&e), 100);
    let (mut e, p) = with_process(20, true);
    assert_eq!(prio(&e), 120);
    e.handle_input(
        ms(1),
        Input::TrackProcess {
            process: p,
            up: true,
        },
    );
    assert_eq!(prio(&e), 100);
}

/// [`Engine::track_process_up`], which vigild's status output reads, is the quorum as the
/// runner last reported it ([`Input::TrackProcess`]): down until the first report, then up or
/// down as reported, and `None` for an id the engine does not have. (Mutation run 11: the
/// accessor made a constant `Some(true)` went unseen.)
#[test]
fn track_process_up_is_the_last_reported_quorum_and_none_for_an_unknown_set() {
    let (mut e, p) = with_process(-30, false);
    assert_eq!(e.track_process_up(p), Some(false), "not reported yet: down");
    for (n, up) in [true, false, true].into_iter().enumerate() {
        e.handle_input(ms(1 + n as u64), Input::TrackProcess { process: p, up });
        assert_eq!(e.track_process_up(p), Some(up));
    }
    assert_eq!(e.track_process_up(ProcessId(1)), None);
    assert_eq!(e.track_process_up(ProcessId(u16::MAX)), None);
}

/// A lone instance that became MASTER (its Master_Down_Timer ran out), actions drained.
fn lone_master(no_track: bool) -> Engine {
    let mut c = base(100);
    c.virtual_addresses[0].no_track = no_track;
    let mut e = engine_with(EngineConfig::instances(vec![c]));
    // Served at its deadline (a timer served later than Skew_Time is extended once, backlog.rs).
    while state(&e) != State::Master {
        let due = e.poll_timeout().expect("a timer runs");
        assert!(due < ms(10_000));
        e.handle_timeout(due);
    }
    drain(&mut e);
    e
}

#[test]
fn a_deleted_address_takes_the_master_to_backup_and_back_after_skew_time() {
    let mut e = lone_master(false);
    let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
    e.handle_input(
        ms(10_001),
        Input::AddressDeleted {
            instance: InstanceId(0),
            addr: vip,
        },
    );
    assert_eq!(state(&e), State::Backup);
    let acts = drain(&mut e);
    let goodbye = acts
        .iter()
        .position(|a| matches!(a, Action::SendAdvert(s) if s.priority == 0));
    let removed = acts
        .iter()
        .position(|a| matches!(a, Action::RemoveAddresses { .. }));
    assert!(
        matches!((goodbye, removed), (Some(g), Some(r)) if g < r),
        "priority 0 first, then the addresses go: {acts:?}"
    );
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::StateChange {
            reason: Reason::AddressDeleted,
            ..
        }
    )));
    // Skew_Time later (v3, priority 100, 1 s: (256 - 100) / 256 s), MASTER again, addresses back.
    let skew = Duration::from_micros(609_375);
    e.handle_timeout((ms(10_001) + skew).saturating_sub(Duration::from_micros(1)));
    assert_eq!(state(&e), State::Backup);
    e.handle_timeout(ms(10_001) + skew);
    assert_eq!(state(&e), State::Master);
    assert!(drain(&mut e)
        .iter()
        .any(|a| matches!(a, Action::AddAddresses { .. })));
}

#[test]
fn a_deleted_no_track_address_or_a_backup_s_is_ignored() {
    let mut e = lone_master(true);
    let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
    e.handle_input(
        ms(10_001),
        Input::AddressDeleted {
            instance: InstanceId(0),
            addr: vip,
        },
    );
    assert_eq!(state(&e), State::Master);
    assert!(drain(&mut e).is_empty());
    // An address that is not the instance's, and a BACKUP's: nothing.
    let mut e = lone_master(false);
    e.handle_input(
        ms(10_001),
        Input::AddressDeleted {
            instance: InstanceId(0),
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        },
    );
    assert_eq!(state(&e), State::Master);
    let mut b = engine_with(EngineConfig::instances(vec![base(100)]));
    b.handle_input(
        ms(1),
        Input::AddressDeleted {
            instance: InstanceId(0),
            addr: vip,
        },
    );
    assert_eq!(state(&b), State::Backup);
}

/// An [`Input::AddressDeleted`] naming an instance the engine does not have (the id one past
/// the last, or any higher) changes nothing and does not panic: input from a runner is never
/// trusted to index the engine, as for `RouteDeleted`, `TrackFile` and `TrackProcess`.
/// (Mutation run 11: the bound `i < instances.len()` made `<=` went unseen; the id equal to the
/// number of instances is the boundary.)
#[test]
fn an_address_deleted_for_an_instance_the_engine_does_not_have_is_ignored() {
    let mut e = lone_master(false);
    assert_eq!(e.instances().count(), 1);
    for id in [1, u32::MAX] {
        e.handle_input(
            ms(10_001),
            Input::AddressDeleted {
                instance: InstanceId(id),
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
            },
        );
        assert_eq!(state(&e), State::Master);
        assert!(drain(&mut e).is_empty(), "instance {id}");
    }
}

/// A deleted address of one member takes its whole sync group out of MASTER: each member sends
/// one priority-0 advert and goes BACKUP (keepalived's `vrrp_state_leave_master` for every
/// MASTER of the group). (Mutation run 10: `address_deleted` withdrawing the members that are
/// not MASTER instead left VI_2 MASTER and sent VI_1's priority 0 twice.)
#[test]
fn a_deleted_address_of_a_group_member_withdraws_every_master_of_the_group_once() {
    let mut e = grouped(true);
    // Served at its deadlines (a timer served later than Skew_Time is extended once,
    // backlog.rs), as lone_master.
    while !e.instances().all(|i| i.state() == State::Master) {
        let due = e.poll_timeout().expect("a timer runs");
        assert!(due < ms(10_000));
        e.handle_timeout(due);
    }
    drain(&mut e);
    e.handle_input(
        ms(10_001),
        Input::AddressDeleted {
            instance: InstanceId(0),
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)),
        },
    );
    let states: Vec<State> = e.instances().map(|i| i.state()).collect();
    assert_eq!(states, [State::Backup, State::Backup]);
    let goodbyes: Vec<InstanceId> = drain(&mut e)
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(s) if s.priority == 0 => Some(s.instance),
            _ => None,
        })
        .collect();
    assert_eq!(goodbyes, [InstanceId(0), InstanceId(1)]);
}

/// A reload takes each tracked process's up / down state from the old engine by its name,
/// whatever its place in the new configuration: `p` up and `q` down stay so when the new
/// file lists them the other way round. (Mutation run 10: `adopt_environment`'s
/// `o.name == p.name` made into `!=` swapped the two and went unseen.)
#[test]
fn a_reload_keeps_each_tracked_process_s_own_state() {
    let config = |names: [&str; 2]| {
        let mut c = base(100);
        c.track
            .push(track(TrackTarget::Process("p".into()), -30, false));
        c.track
            .push(track(TrackTarget::Process("q".into()), -20, false));
        EngineConfig {
            instances: vec![c],
            track_processes: names
                .iter()
                .map(|n| TrackProcessConfig { name: (*n).into() })
                .collect(),
            ..Default::default()
        }
    };
    let mut e = engine_with(config(["p", "q"]));
    let p = e.track_process_id("p").unwrap();
    e.handle_input(
        ms(1),
        Input::TrackProcess {
            process: p,
            up: true,
        },
    );
    assert_eq!(prio(&e), 80, "p up, q down: 100 - 20");
    e.reload(ms(2), config(["q", "p"])).unwrap();
    let (p, q) = (
        e.track_process_id("p").unwrap(),
        e.track_process_id("q").unwrap(),
    );
    assert_eq!(
        (e.track_process_up(p), e.track_process_up(q)),
        (Some(true), Some(false))
    );
    assert_eq!(prio(&e), 80);
}
