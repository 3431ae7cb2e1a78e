//! Cross-section checks on a built configuration: names that must exist or be unique, VRIDs that
//! must not collide, sync-group membership.

use super::fast_hash::FastMap as HashMap;

use super::diag::Diagnostic;
use super::model::{Config, Family, InitialState};
use crate::by_name::ByName;

/// Checks `cfg`, pushing errors and warnings into `diags` and recording each instance's group.
// Long: the cross-section checks one after another (names, VRIDs, sync groups, tracked scripts and files), each a short independent block.
pub(crate) fn validate(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    // Unique instance names.
    // Sized once: growing them through 1,000 instances rehashed them ten times each.
    let mut by_name: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(cfg.instances.len(), Default::default());
    for (i, inst) in cfg.instances.iter().enumerate() {
        if let Some(&j) = by_name.get(inst.name.as_str()) {
            diags.push(Diagnostic::error(
                &inst.loc,
                format!(
                    "vrrp_instance {} is already defined at {}: instance names must be unique",
                    inst.name, cfg.instances[j].loc
                ),
            ));
        } else {
            by_name.insert(&inst.name, i);
        }
    }
    // One VRID per interface and address family.
    let mut vrids: HashMap<(Option<&str>, Family, u8), usize> =
        HashMap::with_capacity_and_hasher(cfg.instances.len(), Default::default());
    for (i, inst) in cfg.instances.iter().enumerate() {
        let key = (inst.interface.as_deref(), inst.family, inst.vrid);
        if let Some(&j) = vrids.get(&key) {
            let other = &cfg.instances[j];
            diags.push(Diagnostic::error(
                &inst.loc,
                format!(
                    "vrrp_instance {} uses VRID {} with {} on interface {}, like vrrp_instance {} at {}: expected a VRID unique per interface and address family",
                    inst.name,
                    inst.vrid,
                    match inst.family { Family::V4 => "IPv4", Family::V6 => "IPv6" },
                    inst.interface.as_deref().unwrap_or("(none)"),
                    other.name,
                    other.loc
                ),
            ));
        } else {
            vrids.insert(key, i);
        }
    }
    // Sync groups: members exist and belong to one group only.
    let mut group_names: HashMap<&str, &super::lexer::Location> = HashMap::default();
    let mut member_of: HashMap<String, String> = HashMap::default();
    for g in &cfg.sync_groups {
        if let Some(prev) = group_names.get(g.name.as_str()) {
            diags.push(Diagnostic::error(
                &g.loc,
                format!("vrrp_sync_group {} is already defined at {prev}", g.name),
            ));
        }
        group_names.insert(&g.name, &g.loc);
        for m in &g.members {
            if !by_name.contains_key(m.as_str()) {
                diags.push(Diagnostic::error(
                    &g.loc,
                    format!(
                        "vrrp_sync_group {}: member '{m}' is not a vrrp_instance: expected the name of an instance defined in the configuration",
                        g.name
                    ),
                ));
            } else if let Some(other) = member_of.get(m) {
                diags.push(Diagnostic::error(
                    &g.loc,
                    format!(
                        "vrrp_sync_group {}: instance {m} is already in sync group {other}: an instance belongs to one group at most",
                        g.name
                    ),
                ));
            } else {
                member_of.insert(m.clone(), g.name.clone());
            }
        }
    }
    for inst in cfg.instances.iter_mut() {
        inst.sync_group = member_of.get(&inst.name).cloned();
    }
    // keepalived 2.2.7 (vrrp.c, vrrp_complete_init): a sync group starts in MASTER only when
    // every member may; a group with a member wanting MASTER and a member that wants BACKUP or
    // is not the address owner has all its members start wanting BACKUP (as one group).
    // Each group's members by index, found once: a scan of every instance per group was
    // groups x instances.
    let mut members: HashMap<&str, Vec<usize>> = HashMap::default();
    for (i, inst) in cfg.instances.iter().enumerate() {
        if let Some(g) = &inst.sync_group {
            members.entry(g.as_str()).or_default().push(i);
        }
    }
    let mut to_backup = Vec::new();
    for g in &cfg.sync_groups {
        let Some(of_g) = members.get(g.name.as_str()) else {
            continue;
        };
        let insts = || of_g.iter().map(|&i| &cfg.instances[i]);
        let wants_master = insts().any(|i| i.state == InitialState::Master);
        let has_backup = insts().any(|i| i.state == InitialState::Backup || i.priority != 255);
        if wants_master && has_backup {
            to_backup.extend_from_slice(of_g);
        }
    }
    drop(members);
    for i in to_backup {
        cfg.instances[i].state = InitialState::Backup;
    }
    // Tracked scripts and files must exist (keepalived ignores the reference, and so does Vigil,
    // with a warning).
    // Indexed: a list's `contains` per reference was references x definitions (20,000 scripts
    // tracked 20 at a time by 1,000 instances: 0.66 s to check, 0.30 s indexed).
    let scripts = ByName::new(cfg.scripts.iter().map(|s| s.name.as_str()));
    let files = ByName::new(cfg.track_files.iter().map(|s| s.name.as_str()));
    let procs = ByName::new(cfg.track_processes.iter().map(|s| s.name.as_str()));
    let mut missing = Vec::new();
    for inst in &cfg.instances {
        for t in &inst.track_processes {
            if !procs.contains(&t.name) {
                missing.push((
                    t.loc.clone(),
                    format!(
                        "vrrp_instance {}: track_process '{}' is not a vrrp_track_process (ignored)",
                        inst.name, t.name
                    ),
                ));
            }
        }
        for t in &inst.track_scripts {
            if !scripts.contains(&t.name) {
                missing.push((
                    t.loc.clone(),
                    format!(
                        "vrrp_instance {}: track_script '{}' is not a vrrp_script (ignored)",
                        inst.name, t.name
                    ),
                ));
            }
        }
        for t in &inst.track_files {
            if !files.contains(&t.name) {
                missing.push((
                    t.loc.clone(),
                    format!(
                        "vrrp_instance {}: track_file '{}' is not a vrrp_track_file (ignored)",
                        inst.name, t.name
                    ),
                ));
            }
        }
    }
    for g in &cfg.sync_groups {
        for t in &g.track_processes {
            if !procs.contains(&t.name) {
                missing.push((
                    t.loc.clone(),
                    format!(
                        "vrrp_sync_group {}: track_process '{}' is not a vrrp_track_process (ignored)",
                        g.name, t.name
                    ),
                ));
            }
        }
        for t in &g.track_scripts {
            if !scripts.contains(&t.name) {
                missing.push((
                    t.loc.clone(),
                    format!(
                        "vrrp_sync_group {}: track_script '{}' is not a vrrp_script (ignored)",
                        g.name, t.name
                    ),
                ));
            }
        }
        for t in &g.track_files {
            if !files.contains(&t.name) {
                missing.push((
                    t.loc.clone(),
                    format!(
                        "vrrp_sync_group {}: track_file '{}' is not a vrrp_track_file (ignored)",
                        g.name, t.name
                    ),
                ));
            }
        }
    }
    for (loc, msg) in missing {
        diags.push(Diagnostic::warning(&loc, msg));
    }
    for inst in cfg.instances.iter_mut() {
        inst.track_scripts.retain(|t| scripts.contains(&t.name));
        inst.track_files.retain(|t| files.contains(&t.name));
        inst.track_processes.retain(|t| procs.contains(&t.name));
    }
    for g in cfg.sync_groups.iter_mut() {
        g.track_scripts.retain(|t| scripts.contains(&t.name));
        g.track_files.retain(|t| files.contains(&t.name));
        g.track_processes.retain(|t| procs.contains(&t.name));
    }
    track_groups(cfg, diags);
    lvs_sync_daemon(cfg, diags);
}

/// `lvs_sync_daemon`'s VRRP instance must exist (keepalived's `vrrp_complete_init`: "Unable
/// to find vrrp instance ... clearing lvs_syncd config": the setting is dropped, with a
/// warning); its sync id defaults to the instance's VRID, else 0.
fn lvs_sync_daemon(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    let lvs = &mut cfg.global.checker.lvs;
    let Some(d) = &mut lvs.sync_daemon else {
        return;
    };
    let Some(name) = &d.instance else {
        d.syncid.get_or_insert(0);
        return;
    };
    match cfg.instances.iter().find(|i| &i.name == name) {
        Some(i) => {
            d.syncid.get_or_insert(i.vrid);
        }
        None => {
            diags.push(Diagnostic::warning(
                &d.loc,
                format!(
                    "lvs_sync_daemon: no vrrp_instance {name}: no sync daemon is run (keepalived clears the setting too); expected the name of an instance defined in the configuration"
                ),
            ));
            lvs.sync_daemon = None;
        }
    }
}

/// `track_group` (keepalived 2.2.7 `vrrp_parser.c`, `vrrp_static_track.c` and the static
/// address / route / rule parsers): names unique, every reference names a group, only static
/// items name one, and the item has an interface to track.
fn track_groups(cfg: &Config, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, &super::lexer::Location> = HashMap::default();
    let instances = if cfg.track_groups.is_empty() {
        ByName::new([])
    } else {
        ByName::new(cfg.instances.iter().map(|i| i.name.as_str()))
    };
    for g in &cfg.track_groups {
        if let Some(prev) = seen.get(g.name.as_str()) {
            diags.push(Diagnostic::error(
                &g.loc,
                format!("track_group {} is already defined at {prev}", g.name),
            ));
            continue;
        }
        seen.insert(&g.name, &g.loc);
        let mut known = 0;
        for m in &g.members {
            if instances.contains(m) {
                known += 1;
            } else {
                diags.push(Diagnostic::warning(
                    &g.loc,
                    format!("track_group {}: vrrp instance {m} does not exist: ignored, as keepalived does", g.name),
                ));
            }
        }
        if known == 0 {
            diags.push(Diagnostic::warning(
                &g.loc,
                format!(
                    "track_group {}: no member is a vrrp_instance: the group tracks nothing",
                    g.name
                ),
            ));
        }
    }
    let default_if = cfg.global.default_interface.as_deref();
    // (what, reference, interface, no_track)
    let mut statics: Vec<(&str, &super::model::TrackGroupRef, Option<&str>, bool)> = Vec::new();
    for a in &cfg.static_addresses {
        if let Some(r) = &a.options.track_group {
            statics.push((
                "static address",
                r,
                a.address.dev.as_deref().or(default_if),
                a.address.no_track,
            ));
        }
    }
    for rt in &cfg.static_routes {
        if let Some(r) = &rt.track_group {
            statics.push(("static route", r, rt.dev.as_deref(), rt.no_track));
        }
    }
    for ru in &cfg.static_rules {
        if let Some(r) = &ru.track_group {
            statics.push(("static rule", r, ru.iif.as_deref(), ru.no_track));
        }
    }
    for (what, r, ifname, no_track) in statics {
        if !seen.contains_key(r.name.as_str()) {
            diags.push(Diagnostic::error(
                &r.loc,
                format!(
                    "track_group {} not found: expected the name of a track_group block",
                    r.name
                ),
            ));
        } else if ifname.is_none() {
            let need = if what == "static rule" {
                "'iif' (or 'dev')"
            } else {
                "'dev'"
            };
            diags.push(Diagnostic::error(
                &r.loc,
                format!("{what} cannot have track_group without an interface: expected {need}, whose state the group's instances track"),
            ));
        } else if no_track {
            diags.push(Diagnostic::warning(
                &r.loc,
                format!(
                    "{what} has both track_group and no_track: not tracked, as keepalived does"
                ),
            ));
        }
    }
    // keepalived accepts track_group on static items only (elsewhere it is an unknown word).
    for i in &cfg.instances {
        let refs = i
            .virtual_addresses
            .iter()
            .chain(&i.excluded_addresses)
            .filter_map(|a| a.options.track_group.as_ref())
            .chain(
                i.virtual_routes
                    .iter()
                    .filter_map(|r| r.track_group.as_ref()),
            )
            .chain(
                i.virtual_rules
                    .iter()
                    .filter_map(|r| r.track_group.as_ref()),
            );
        for r in refs {
            diags.push(Diagnostic::error(
                &r.loc,
                format!("vrrp_instance {}: track_group is only for static_ipaddress, static_routes and static_rules (a virtual address, route or rule follows its instance)", i.name),
            ));
        }
    }
}
