//! The engine's self-report against the model, after every call: counters, priority,
//! timers, views, trackers, name lookups.

use super::*;
use vigil_engine::setup::TrackTarget;
use vigil_engine::wire::Version;
use vigil_engine::{Engine, EngineConfig, InstanceId, Instant, State};

/// Compare the engine's self-report for instance `i` with the model: `Err((rule, detail))` on
/// the first disagreement.
// Long: one comparison per reported field, in the order of the view (a flat list).
pub(crate) fn compare(
    engine: &Engine,
    cfg: &EngineConfig,
    i: usize,
    m: &Model,
    state: State,
    local: u64,
    call: Call,
) -> Result<(), (&'static str, String)> {
    let id = InstanceId(u32::try_from(i).unwrap_or(u32::MAX));
    let Some(v) = engine.instance(id) else {
        return Err(("view", format!("instance {i} has no view")));
    };
    let c = &cfg.instances[i];
    if v.id() != id || v.config().vrid != c.vrid {
        return Err((
            "view",
            format!(
                "instance {i} ({}) reports id {:?}, name {:?}",
                c.name,
                v.id(),
                v.name()
            ),
        ));
    }
    let st = v.stats();
    let mut expected = m.stats;
    // An owner's advert may count an address-list mismatch without being dropped: the engine
    // may count up to that many more, never fewer.
    let extra = st
        .address_list_errors
        .checked_sub(expected.address_list_errors);
    if extra.is_some_and(|x| x <= m.owner_adverts) {
        expected.address_list_errors = st.address_list_errors;
    }
    if *st != expected {
        return Err((
            "counters",
            format!(
                "{}: the engine's counters {:?} differ from what its actions and the deliveries \
                 imply {:?}",
                c.name, st, m.stats
            ),
        ));
    }
    if let Some(p) = m.prio {
        if v.priority() != p {
            return Err((
                "priority-report",
                format!(
                    "{} reports effective priority {} but its last report said {p}",
                    c.name,
                    v.priority()
                ),
            ));
        }
    }
    let mai_ns = u64::try_from(v.master_adver_interval().as_nanos()).unwrap_or(u64::MAX);
    if matches!(state, State::Backup | State::Master) {
        if let Some(mai) = m.mai {
            if mai_ns != mai {
                return Err((
                    "view",
                    format!(
                        "{} ({state}) reports Master_Adver_Interval {} ns, expected {mai} ns",
                        c.name, mai_ns
                    ),
                ));
            }
        }
    }
    let mdi = u64::try_from(v.master_down_interval().as_nanos()).unwrap_or(u64::MAX);
    let v3 = c.version == Version::V3;
    let want = down_interval_after(c.down_timer_adverts, v3, v.priority(), mai_ns);
    if mdi != want {
        return Err((
            "view",
            format!(
                "{} reports Master_Down_Interval {mdi} ns for priority {} and \
                 Master_Adver_Interval {mai_ns} ns; RFC {} with down_timer_adverts {} says \
                 {want} ns",
                c.name,
                v.priority(),
                if v3 { "5798" } else { "3768" },
                c.down_timer_adverts
            ),
        ));
    }
    if let Some(addr) = m.master_addr {
        if v.master_addr() != addr {
            return Err((
                "view",
                format!(
                    "{} ({state}) reports the master last heard as {:?}, expected {addr:?}",
                    c.name,
                    v.master_addr()
                ),
            ));
        }
    }
    let next = v.next_deadline().map(Instant::as_nanos);
    match state {
        State::Init | State::Fault => {
            if next.is_some() {
                return Err((
                    "view",
                    format!("{} is {state} but a timer of it runs: {next:?}", c.name),
                ));
            }
        }
        State::Master => {
            // Adver_Timer runs, within two intervals: the second advert after becoming MASTER
            // comes at least one interval after the first (RFC 5798 section 6.4.2), at the next
            // point of the shared grid, so less than two intervals later; later ones within one.
            if next.is_none_or(|d| d >= local.saturating_add(m.own.saturating_mul(2))) {
                return Err((
                    "view",
                    format!(
                        "{} is MASTER but its next deadline is {next:?} (now {local}, interval {})",
                        c.name, m.own
                    ),
                ));
            }
        }
        State::Backup => {
            if let (Some(d), false) = (m.deadline(), m.grouped) {
                // A node resuming from a stall reads its frames before it serves the timer.
                if (d < local && call != Call::Resuming) || (call == Call::Timeout && d <= local) {
                    return Err((
                        "takeover-late",
                        format!(
                            "{} is still BACKUP at {local} ns (local clock) but its \
                             Master_Down_Timer ran out at {d} ns",
                            c.name
                        ),
                    ));
                }
                if next != Some(d) {
                    return Err((
                        "takeover-late",
                        format!(
                            "{} is BACKUP with its Master_Down_Timer due at {d} ns (local \
                             clock), but the engine's next deadline for it is {next:?}",
                            c.name
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What the simulator fed one node's engine about the things its instances track.
pub(crate) struct Environment<'a> {
    /// Link state of an interface by name (unknown names: up, the engine's default).
    pub iface_up: &'a dyn Fn(&str) -> bool,
    /// A check program's state after its rise / fall counts, by name.
    pub script_up: &'a dyn Fn(&str) -> Option<bool>,
    /// A tracked file's value, by name.
    pub file_value: &'a dyn Fn(&str) -> Option<i64>,
}

/// One tracker's effect (keepalived's rules, as the engine documents them): `Err(())` when it
/// puts the instance in FAULT, else the priority adjustment.
fn effect(
    weight: i32,
    reverse: bool,
    up: bool,
    file: Option<i64>,
    ignored: bool,
) -> Result<i64, ()> {
    let weight = if ignored { 0 } else { i64::from(weight) };
    if let Some(value) = file {
        if weight == 0 {
            return if value != 0 { Err(()) } else { Ok(0) };
        }
        let adj = value.saturating_mul(if reverse { -weight } else { weight });
        return if adj <= -254 { Err(()) } else { Ok(adj) };
    }
    let effective_up = up != reverse;
    match weight {
        0 if !effective_up => Err(()),
        w if w > 0 && effective_up => Ok(w),
        w if w < 0 && !effective_up => Ok(w),
        _ => Ok(0),
    }
}

/// `tracking`: the engine's report of each tracker of instance `i` (state, file value, effect),
/// its check programs' states, and the instance's effective priority and FAULT agree with what
/// the simulator fed it.
///
/// `full`: also when `i` has no tracker configured, walk the engine's list to see that it is
/// empty. The caller asks for it after every boot and reload, and may skip it otherwise: the
/// list is the configuration's trackers ([`Engine::trackers`]: "in configuration order"), and
/// no input or timer the simulator gives the engine adds or removes trackers (only a new
/// configuration does, which is a boot or a reload), so its length cannot change between
/// them. Every tracker that is configured is still compared after every call (its state, file
/// value and effect change with the inputs), and so are the effective priority and FAULT.
pub(crate) fn compare_tracking(
    engine: &Engine,
    cfg: &EngineConfig,
    i: usize,
    state: State,
    env: &Environment<'_>,
    full: bool,
) -> Result<(), (&'static str, String)> {
    let c = &cfg.instances[i];
    let id = InstanceId(u32::try_from(i).unwrap_or(u32::MAX));
    let mut adj: i64 = 0;
    let mut fault = false;
    if full || !c.track.is_empty() {
        trackers_agree(engine, cfg, i, env, &mut adj, &mut fault)?;
    }
    let prio = if c.priority == vigil_engine::setup::OWNER_PRIORITY {
        c.priority
    } else {
        u8::try_from(i64::from(c.priority).saturating_add(adj).clamp(1, 254)).unwrap_or(1)
    };
    let seen = engine.instance(id).map(|v| v.priority());
    if seen != Some(prio) {
        return Err((
            "tracking",
            format!(
                "{}: configured priority {} with tracker adjustments {adj} makes {prio}; the \
                 engine says {seen:?}",
                c.name, c.priority
            ),
        ));
    }
    if fault && matches!(state, State::Backup | State::Master) {
        return Err((
            "tracking",
            format!("{} is {state} although a tracker puts it in FAULT", c.name),
        ));
    }
    Ok(())
}

/// The engine's list of trackers of instance `i` against the configuration, one by one (see
/// [`compare_tracking`]); adds each one's priority adjustment to `adj` and sets `fault` when one
/// puts the instance in FAULT.
fn trackers_agree(
    engine: &Engine,
    cfg: &EngineConfig,
    i: usize,
    env: &Environment<'_>,
    adj: &mut i64,
    fault: &mut bool,
) -> Result<(), (&'static str, String)> {
    let c = &cfg.instances[i];
    let id = InstanceId(u32::try_from(i).unwrap_or(u32::MAX));
    let ignored = cfg
        .sync_groups
        .iter()
        .any(|g| !g.tracking_weight && g.members.contains(&c.name));
    let mut reported = engine.trackers(id);
    for t in &c.track {
        let Some(r) = reported.next() else {
            return Err((
                "tracking",
                format!("{} has more trackers than the engine reports", c.name),
            ));
        };
        let (up, file, what) = match &t.target {
            TrackTarget::Interface(n) => ((env.iface_up)(n), None, n),
            TrackTarget::Script(n) => {
                let up = (env.script_up)(n).unwrap_or(true);
                let id = engine.script_id(n);
                if id.and_then(|id| engine.script_up(id)) != Some(up) {
                    return Err((
                        "tracking",
                        format!(
                            "check {n} should be {} after the results fed to it, the engine                              says {:?}",
                            if up { "up" } else { "down" },
                            id.and_then(|id| engine.script_up(id))
                        ),
                    ));
                }
                (up, None, n)
            }
            TrackTarget::File(n) => (true, (env.file_value)(n), n),
            // Scenarios report no process events: a tracked process set stays down (its
            // initial state in the engine until the runner reports it).
            TrackTarget::Process(n) => (false, None, n),
        };
        let e = effect(t.weight, t.reverse, up, file, ignored);
        let up_report = if file.is_some() { e.is_ok() } else { up };
        if r.up != up_report || r.file_value != file || r.effect.ok() != e.ok() {
            return Err((
                "tracking",
                format!(
                    "{}: tracker {what} should be up={up_report}, value {file:?}, effect {e:?};                      the engine reports up={}, value {:?}, effect {:?}",
                    c.name, r.up, r.file_value, r.effect
                ),
            ));
        }
        match e {
            Ok(a) => *adj = adj.saturating_add(a),
            Err(()) => *fault = true,
        }
    }
    if reported.next().is_some() {
        return Err((
            "tracking",
            format!("{} has fewer trackers than the engine reports", c.name),
        ));
    }
    Ok(())
}

/// `lookups`: the engine's name lookups and listings agree with the configuration (checked at
/// every boot and reload).
pub(crate) fn compare_lookups(engine: &Engine, cfg: &EngineConfig) -> Result<(), String> {
    if engine.instances().count() != cfg.instances.len() {
        return Err(format!(
            "the engine lists {} instances, the configuration has {}",
            engine.instances().count(),
            cfg.instances.len()
        ));
    }
    for (k, c) in cfg.instances.iter().enumerate() {
        let id = InstanceId(u32::try_from(k).unwrap_or(u32::MAX));
        if engine.instance_id(&c.name) != Some(id) {
            return Err(format!(
                "instance {} is number {k}, the engine's lookup says {:?}",
                c.name,
                engine.instance_id(&c.name)
            ));
        }
        let iface = engine.interface_id(&c.interface);
        if iface.is_none() || iface.and_then(|f| engine.interface_name(f)) != Some(&*c.interface) {
            return Err(format!(
                "interface {} of {} is not found by name",
                c.interface, c.name
            ));
        }
        let view = engine.instance(id);
        if view.map(|v| (v.id(), v.name(), Some(v.iface()), v.config().name.as_str()))
            != Some((id, c.name.as_str(), iface, c.name.as_str()))
        {
            return Err(format!(
                "instance {} ({k}) reports id, name, interface {:?}",
                c.name,
                view.map(|v| (v.id(), v.name(), v.iface()))
            ));
        }
    }
    for (k, s) in cfg.scripts.iter().enumerate() {
        if engine.script_id(&s.name).map(|x| usize::from(x.0)) != Some(k) {
            return Err(format!("check program {} is not number {k}", s.name));
        }
    }
    for (k, f) in cfg.track_files.iter().enumerate() {
        if engine.track_file_id(&f.name).map(|x| usize::from(x.0)) != Some(k) {
            return Err(format!("tracked file {} is not number {k}", f.name));
        }
    }
    if engine.groups().count() != cfg.sync_groups.len() {
        return Err(format!(
            "the engine lists {} sync groups, the configuration has {}",
            engine.groups().count(),
            cfg.sync_groups.len()
        ));
    }
    for (k, g) in cfg.sync_groups.iter().enumerate() {
        let id = engine.group_id(&g.name);
        if id.map(|x| usize::from(x.0)) != Some(k) {
            return Err(format!("sync group {} is not number {k}", g.name));
        }
        let members: Vec<u32> = id
            .and_then(|id| engine.group(id))
            .map(|(_, _, m)| m.map(|x| x.0).collect())
            .unwrap_or_default();
        let want: Vec<u32> = g
            .members
            .iter()
            .filter_map(|m| engine.instance_id(m).map(|x| x.0))
            .collect();
        if members != want {
            return Err(format!(
                "sync group {} has members {members:?}, configured {want:?}",
                g.name
            ));
        }
    }
    for name in ["vigil-sim-no-such-name"] {
        if engine.instance_id(name).is_some()
            || engine.script_id(name).is_some()
            || engine.track_file_id(name).is_some()
            || engine.group_id(name).is_some()
            || engine.interface_id(name).is_some()
        {
            return Err(format!("the engine finds something called {name}"));
        }
    }
    Ok(())
}
