//! Cross-section checks on a built configuration: names that must exist or be unique, VRIDs that
//! must not collide, sync-group membership.

use std::collections::HashMap;

use super::diag::Diagnostic;
use super::model::{Config, Family};

/// Checks `cfg`, pushing errors and warnings into `diags` and recording each instance's group.
// Long: the cross-section checks one after another (names, VRIDs, sync groups, tracked scripts and files), each a short independent block.
pub(crate) fn validate(cfg: &mut Config, diags: &mut Vec<Diagnostic>) {
    // Unique instance names.
    let mut by_name: HashMap<&str, usize> = HashMap::new();
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
    let mut vrids: HashMap<(Option<&str>, Family, u8), usize> = HashMap::new();
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
    let mut group_names: HashMap<&str, &super::lexer::Location> = HashMap::new();
    let mut member_of: HashMap<String, String> = HashMap::new();
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
    // Tracked scripts and files must exist (keepalived ignores the reference, and so does Vigil,
    // with a warning).
    let scripts: Vec<&str> = cfg.scripts.iter().map(|s| s.name.as_str()).collect();
    let files: Vec<&str> = cfg.track_files.iter().map(|s| s.name.as_str()).collect();
    let procs: Vec<&str> = cfg
        .track_processes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let mut missing = Vec::new();
    for inst in &cfg.instances {
        for t in &inst.track_processes {
            if !procs.contains(&t.name.as_str()) {
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
            if !scripts.contains(&t.name.as_str()) {
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
            if !files.contains(&t.name.as_str()) {
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
            if !procs.contains(&t.name.as_str()) {
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
            if !scripts.contains(&t.name.as_str()) {
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
            if !files.contains(&t.name.as_str()) {
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
        inst.track_scripts
            .retain(|t| scripts.contains(&t.name.as_str()));
        inst.track_files
            .retain(|t| files.contains(&t.name.as_str()));
        inst.track_processes
            .retain(|t| procs.contains(&t.name.as_str()));
    }
    for g in cfg.sync_groups.iter_mut() {
        g.track_scripts
            .retain(|t| scripts.contains(&t.name.as_str()));
        g.track_files.retain(|t| files.contains(&t.name.as_str()));
        g.track_processes
            .retain(|t| procs.contains(&t.name.as_str()));
    }
}
