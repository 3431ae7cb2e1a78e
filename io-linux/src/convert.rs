//! From the keepalived.conf model ([`vigil_engine::conf::Config`]) to what the engine runs
//! ([`vigil_engine::EngineConfig`]).
//!
//! A pure mapping, kept in the runner because some settings are the runner's business (the
//! address attributes that only netlink needs travel inside [`vigil_engine::VirtualAddress`]).
//! Settings the daemon does not act on yet are listed as [`Unsupported`] notes, each with its
//! instance and keyword, so that an operator sees them in the log instead of discovering them in
//! production.

use std::net::IpAddr;

use vigil_engine::conf::{
    self, AuthType, Config, Scope, UnicastChecksum, VrrpInstance, VrrpVersion,
};
use vigil_engine::wire::{Auth, ChecksumPolicy, Family, Version};
use vigil_engine::{EngineConfig, InstanceConfig, VirtualAddress};

/// A setting that the daemon reads but does not act on yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The instance (or `global_defs`) it belongs to.
    pub owner: String,
    /// What is not done.
    pub what: String,
}

/// Why a configuration cannot run at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    /// The instance.
    pub instance: String,
    /// Why.
    pub message: String,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.instance, self.message)
    }
}

fn scope_name(s: &Scope) -> Option<String> {
    match s {
        Scope::Global => None,
        Scope::Site => Some("site".into()),
        Scope::Link => Some("link".into()),
        Scope::Host => Some("host".into()),
        Scope::Nowhere => Some("nowhere".into()),
        Scope::Number(n) => Some(n.to_string()),
    }
}

/// One virtual address in the engine's form.
pub fn virtual_address(v: &conf::VirtualAddress) -> VirtualAddress {
    VirtualAddress {
        addr: v.addr,
        prefix_len: v.prefix_len,
        dev: v.dev.clone(),
        broadcast: v.broadcast,
        scope: scope_name(&v.scope),
        label: v.label.clone(),
    }
}

fn instance(
    i: &VrrpInstance,
    notes: &mut Vec<Unsupported>,
) -> Result<InstanceConfig, ConvertError> {
    let err = |message: &str| ConvertError {
        instance: i.name.clone(),
        message: message.to_string(),
    };
    let mut note = |what: &str| {
        notes.push(Unsupported {
            owner: i.name.clone(),
            what: what.to_string(),
        })
    };
    let interface = i
        .interface
        .clone()
        .ok_or_else(|| err("an instance without `interface` is not supported yet"))?;
    let family = match i.family {
        conf::Family::V4 => Family::V4,
        conf::Family::V6 => Family::V6,
    };
    let version = match i.version {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let mut c = InstanceConfig::new(&i.name, &interface, i.vrid, version, family);
    c.priority = i.priority;
    c.advert_interval = i.advert_int;
    c.preempt = i.preempt;
    c.preempt_delay = i.preempt_delay;
    c.accept = i.accept;
    c.virtual_addresses = i.virtual_addresses.iter().map(virtual_address).collect();
    c.auth = match &i.authentication {
        None => Auth::None,
        Some(a) if a.kind == AuthType::Pass => Auth::simple(a.password.as_bytes()),
        Some(_) => return Err(err("auth_type AH is not supported")),
    };
    c.unicast_peers = i.unicast_peers.iter().map(|p| p.addr).collect();
    c.source = if c.unicast_peers.is_empty() {
        i.mcast_src_ip.or(i.unicast_src_ip)
    } else {
        i.unicast_src_ip.or(i.mcast_src_ip)
    };
    c.checksum_policy = match (i.unicast_checksum, c.unicast_peers.is_empty()) {
        (UnicastChecksum::Old, false) => ChecksumPolicy::V3Plain,
        _ => ChecksumPolicy::Rfc,
    };
    c.advert_on_lower_priority = !i.lower_prio_no_advert;
    c.check_address_list = !i.skip_check_adv_addr;

    if !i.excluded_addresses.is_empty() {
        note("virtual_ipaddress_excluded is not added");
    }
    if !i.virtual_routes.is_empty() {
        note("virtual_routes are not installed");
    }
    if i.use_vmac.is_some() {
        note("use_vmac is ignored: adverts use the interface's own MAC");
    }
    if !i.track_interfaces.is_empty() || !i.track_scripts.is_empty() || !i.track_files.is_empty() {
        note("track_interface / track_script / track_file are not run yet");
    }
    if i.notify != conf::Notify::default() {
        note("notify scripts are not run yet");
    }
    if i.mcast_dst_ip.is_some() {
        note("mcast_dst_ip is ignored: adverts go to the RFC group");
    }
    if i.sync_group.is_some() {
        note("sync groups are not run yet: the instance moves on its own");
    }
    Ok(c)
}

/// Convert a parsed configuration. Errors stop the daemon; notes are logged as warnings.
pub fn engine_config(cfg: &Config) -> Result<(EngineConfig, Vec<Unsupported>), ConvertError> {
    let mut notes = Vec::new();
    let mut instances = Vec::with_capacity(cfg.instances.len());
    for i in &cfg.instances {
        instances.push(instance(i, &mut notes)?);
    }
    if !cfg.scripts.is_empty() {
        notes.push(Unsupported {
            owner: "vrrp_script".into(),
            what: "check scripts are not run yet".into(),
        });
    }
    let ec = EngineConfig {
        instances,
        ..EngineConfig::default()
    };
    Ok((ec, notes))
}

/// Every virtual address of every instance (they never count as an interface's primary
/// address).
pub fn all_virtual_addresses(cfg: &EngineConfig) -> Vec<IpAddr> {
    cfg.instances
        .iter()
        .flat_map(|i| i.virtual_addresses.iter().map(|v| v.addr))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn a_keepalived_instance_maps_field_by_field() {
        let cfg = conf::parse_str(
            "global_defs { vrrp_version 3 }\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n\
             advert_int 0.1\n nopreempt\n\
             virtual_ipaddress { 192.0.2.100/24 brd 192.0.2.255 dev eth1 scope link label eth1:v }\n\
             unicast_src_ip 192.0.2.11\n unicast_peer { 192.0.2.12 }\n}\n",
        )
        .unwrap();
        let (ec, notes) = engine_config(&cfg).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        let i = &ec.instances[0];
        assert_eq!(i.name, "VI_1");
        assert_eq!(i.interface, "eth0");
        assert_eq!((i.vrid, i.priority), (51, 150));
        assert_eq!(i.version, Version::V3);
        assert_eq!(i.family, Family::V4);
        assert_eq!(i.advert_interval, Duration::from_millis(100));
        assert!(!i.preempt);
        assert_eq!(
            i.unicast_peers,
            vec!["192.0.2.12".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(i.source, Some("192.0.2.11".parse().unwrap()));
        let v = &i.virtual_addresses[0];
        assert_eq!(v.prefix_len, 24);
        assert_eq!(v.dev.as_deref(), Some("eth1"));
        assert_eq!(v.scope.as_deref(), Some("link"));
        assert_eq!(v.label.as_deref(), Some("eth1:v"));
        assert_eq!(v.broadcast, Some("192.0.2.255".parse().unwrap()));
    }

    #[test]
    fn pass_authentication_becomes_the_engine_password() {
        let cfg = conf::parse_str(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             authentication { auth_type PASS\n auth_pass secret1 }\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n",
        )
        .unwrap();
        let (ec, _) = engine_config(&cfg).unwrap();
        assert_eq!(ec.instances[0].auth, Auth::simple(b"secret1"));
        assert_eq!(ec.instances[0].version, Version::V2);
    }

    #[test]
    fn what_is_not_run_yet_is_reported() {
        let cfg = conf::parse_str(
            "vrrp_script chk { script \"/bin/true\" }\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             track_script { chk }\n virtual_ipaddress { 192.0.2.1 }\n}\n",
        )
        .unwrap();
        let (_, notes) = engine_config(&cfg).unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
