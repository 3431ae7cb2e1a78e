//! `vigild -d`: the effective configuration in keepalived's `-d` format, VRRP part
//! ([`vigil_engine::dump::dump_vrrp`]) then checker part ([`vigil_engine::conf::dump_checkers`]),
//! on stdout.
//!
//! What only the running system knows comes from [`SystemEnv`]: an interface's primary IPv4 or
//! IPv6 link-local address (the daemon's own rule, [`crate::netlink::primary_v4`] and
//! [`crate::netlink::link_local_v6`]) and index, read once through rtnetlink; where a program is
//! found (PATH, then the real path, as keepalived prints it); who a script runs as (the daemon's
//! rule, [`crate::operator::user`]); the host name.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, IpVlanFlags, IpVlanMode, LinkAttribute, LinkInfo,
    LinkMessage, MacVlanMode,
};
use vigil_engine::conf::{self, Config, RunAs};
use vigil_engine::dump::{dump_vrrp, DumpEnv, SystemLink, VlanLink};
use vigil_engine::wire::Family;

use crate::netlink::{self, Addr, Rtnl};
use crate::operator::{program, user};

/// The running system, as the dump needs it.
#[derive(Debug, Default)]
pub struct SystemEnv {
    /// Interface name -> (index, addresses).
    interfaces: HashMap<String, (u32, Vec<Addr>)>,
    /// Every interface as the "Interfaces" part prints it, in the kernel's order.
    links: Vec<SystemLink>,
    /// Every virtual address of the configuration (never a primary address).
    vips: HashSet<IpAddr>,
    /// `script_user` / `keepalived_script` / vigild's own identity.
    default_user: Option<(u32, u32)>,
    /// The same, for vetting scripts as the daemon does.
    default_creds: Option<user::Credentials>,
    /// `enable_script_security`.
    security: bool,
}

impl SystemEnv {
    /// Read the interfaces of the current network namespace (nothing when rtnetlink cannot be
    /// opened: sources then print as `(none)`).
    pub fn new(cfg: &Config) -> SystemEnv {
        let mut interfaces = HashMap::new();
        let mut system_links = Vec::new();
        if let Ok(mut rtnl) = Rtnl::open() {
            let links = rtnl.link_messages().unwrap_or_default();
            let addrs = rtnl.addrs().unwrap_or_default();
            for m in &links {
                let Some(l) = system_link(m, &addrs) else {
                    continue;
                };
                let mine: Vec<Addr> = addrs
                    .iter()
                    .filter(|a| a.index == l.index)
                    .cloned()
                    .collect();
                interfaces.insert(l.name.clone(), (l.index, mine));
                system_links.push(l);
            }
        }
        let vips = cfg
            .instances
            .iter()
            .flat_map(|i| i.virtual_addresses.iter().chain(&i.excluded_addresses))
            .chain(&cfg.static_addresses)
            .map(|v| v.address.addr)
            .collect();
        let default_creds = user::default_script_user(&cfg.global).ok().map(|(c, _)| c);
        SystemEnv {
            interfaces,
            links: system_links,
            vips,
            default_user: default_creds.as_ref().map(|c| (c.uid, c.gid)),
            default_creds,
            security: cfg.global.enable_script_security,
        }
    }
}

impl DumpEnv for SystemEnv {
    fn source_address(&self, interface: &str, family: Family) -> Option<IpAddr> {
        let (_, addrs) = self.interfaces.get(interface)?;
        match family {
            Family::V4 => netlink::primary_v4(addrs, &self.vips),
            Family::V6 => netlink::link_local_v6(addrs),
        }
    }

    fn ifindex(&self, interface: &str) -> Option<u32> {
        self.interfaces.get(interface).map(|(i, _)| *i)
    }

    /// As keepalived prints it: found on PATH, its directory's real path (`/bin/true` is
    /// `/usr/bin/true` where /bin links to /usr/bin; `sh` stays `/usr/bin/sh`, not `dash`).
    fn program(&self, argv0: &str) -> String {
        find_program(argv0)
            .and_then(|p| {
                let dir = std::fs::canonicalize(p.parent()?).ok()?;
                Some(dir.join(p.file_name()?))
            })
            .map_or_else(|| argv0.to_string(), |p| p.to_string_lossy().into_owned())
    }

    /// The daemon's vetting ([`program::vetted`]): a refused script is not dumped.
    fn command(&self, sc: &conf::Script) -> Option<String> {
        let default = self
            .default_creds
            .clone()
            .unwrap_or_else(user::Credentials::current);
        program::vetted(sc, &default, self.security).ok()?;
        let argv0 = sc.program()?;
        Some(vigil_engine::dump::quoted(sc, &self.program(&argv0)))
    }

    fn uid_gid(&self, run_as: Option<&RunAs>) -> Option<(u32, u32)> {
        match run_as {
            Some(r) => user::resolve(r).ok().map(|c| (c.uid, c.gid)),
            None => self.default_user,
        }
    }

    fn links(&self) -> Vec<SystemLink> {
        self.links.clone()
    }

    /// The one mail and notifications use ([`crate::operator::local_name`]).
    fn local_name(&self) -> Option<String> {
        crate::operator::local_name::local_name().map(str::to_string)
    }

    fn default_email_from(&self) -> Option<String> {
        crate::operator::local_name::default_email_from()
    }
}

/// One interface as keepalived's `dump_if` prints it: the link message's attributes, its
/// addresses (IPv4, and link-local IPv6: keepalived keeps no other IPv6 address of an
/// interface) and its IPv4 sysctls (keepalived reads them from the same kernel table,
/// `IFLA_INET_CONF`).
fn system_link(m: &LinkMessage, addrs: &[Addr]) -> Option<SystemLink> {
    let mut l = SystemLink {
        index: m.header.index,
        flags: m.header.flags.bits(),
        hw_type: u16::from(m.header.link_layer_type),
        ..SystemLink::default()
    };
    let mut kind = None;
    let mut data = None;
    let mut base = 0;
    let mut netns_id = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n.clone(),
            LinkAttribute::Address(b) => l.mac = b.clone(),
            LinkAttribute::Broadcast(b) => l.broadcast = b.clone(),
            LinkAttribute::Mtu(v) => l.mtu = *v,
            LinkAttribute::Link(i) => base = *i,
            LinkAttribute::LinkNetNsId(i) => netns_id = Some(*i),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(k) => kind = Some(k.clone()),
                        LinkInfo::Data(d) => data = Some(d.clone()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if l.name.is_empty() {
        return None;
    }
    l.has_kind = kind.is_some();
    l.vlan = match (kind, data) {
        (Some(InfoKind::MacVlan), Some(InfoData::MacVlan(d))) => d.iter().find_map(|x| match x {
            InfoMacVlan::Mode(m) => Some(VlanLink {
                ipvlan: false,
                ipvlan_mode: String::new(),
                vlan_type: macvlan_mode(*m).into(),
                base,
                netns_id,
            }),
            _ => None,
        }),
        (Some(InfoKind::IpVlan), Some(InfoData::IpVlan(d))) => {
            let mode = d.iter().find_map(|x| match x {
                InfoIpVlan::Mode(m) => Some(*m),
                _ => None,
            });
            let flags = d.iter().find_map(|x| match x {
                InfoIpVlan::Flags(f) => Some(*f),
                _ => None,
            });
            mode.map(|m| VlanLink {
                ipvlan: true,
                ipvlan_mode: match m {
                    IpVlanMode::L2 => "L2 ",
                    IpVlanMode::L3 => "L3 ",
                    IpVlanMode::L3S => "L3S ",
                    _ => "unknown mode ",
                }
                .into(),
                vlan_type: match flags {
                    Some(f) if f.contains(IpVlanFlags::Private) => "private",
                    Some(f) if f.contains(IpVlanFlags::Vepa) => "vepa",
                    _ => "bridge",
                }
                .into(),
                base,
                netns_id,
            })
        }
        _ => None,
    };
    for a in addrs.iter().filter(|a| a.index == l.index) {
        match a.addr {
            IpAddr::V4(v4) => l.ipv4.push(v4),
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => l.ipv6.push(v6),
            IpAddr::V6(_) => {}
        }
    }
    let sysctl = |p: &str| crate::vmac::get_sysctl(&l.name, p).unwrap_or(0);
    l.arp_ignore = sysctl("arp_ignore");
    l.arp_filter = sysctl("arp_filter");
    l.promote_secondaries = sysctl("promote_secondaries");
    Some(l)
}

/// keepalived's names of the macvlan modes.
fn macvlan_mode(m: MacVlanMode) -> &'static str {
    match m {
        MacVlanMode::Private => "private",
        MacVlanMode::Vepa => "vepa",
        MacVlanMode::Bridge => "bridge",
        MacVlanMode::Passthrough => "passthru",
        MacVlanMode::Source => "source",
        _ => "unknown",
    }
}

/// `argv0` as `execvp` finds it.
fn find_program(argv0: &str) -> Option<PathBuf> {
    if argv0.contains('/') {
        return Some(PathBuf::from(argv0));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(argv0))
        .find(|p| p.is_file())
}

/// The whole `-d` text for a parsed configuration; `Err` says why the VRRP part cannot be
/// dumped (the configuration does not convert: the daemon would refuse it).
pub fn text(cfg: &Config, env: &dyn DumpEnv) -> Result<String, String> {
    let vrrp = dump_vrrp(cfg, env).map_err(|e| e.to_string())?;
    Ok(format!("{vrrp}{}", conf::dump_checkers(cfg)))
}

/// `vigild -d`: print the dump of a parsed configuration on stdout. One that does not convert
/// prints its checker part and one line on stderr saying why the VRRP part is missing (`-t` and
/// the start report every error with its location).
pub fn print(cfg: &Config) {
    let env = SystemEnv::new(cfg);
    match text(cfg, &env) {
        Ok(t) => print!("{t}"),
        Err(e) => {
            eprintln!("vigild -d: the VRRP part cannot be dumped: {e}");
            print!("{}", conf::dump_checkers(cfg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_the_path_and_printed_by_their_real_path() {
        let env = SystemEnv::default();
        let sh = env.program("sh");
        assert!(sh.starts_with('/'), "{sh}");
        let dir = Path::new(&sh).parent().map(Path::to_path_buf);
        assert_eq!(
            dir.as_ref().and_then(|d| std::fs::canonicalize(d).ok()),
            dir,
            "its directory is a real path"
        );
        assert_eq!(env.program("/no/such/program"), "/no/such/program");
    }

    #[test]
    fn the_dump_holds_the_vrrp_then_the_checker_part() {
        let cfg = conf::parse_str(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n\
             virtual_ipaddress { 192.0.2.1 }\n}\n\
             virtual_server 192.0.2.1 80 {\n real_server 192.0.2.20 80 {\n TCP_CHECK {\n }\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t = text(&cfg, &SystemEnv::default()).unwrap_or_else(|e| panic!("{e}"));
        let vrrp = t.find("------< VRRP Topology >------");
        let lvs = t.find("------< LVS Topology >------");
        assert!(vrrp.is_some() && lvs.is_some() && vrrp < lvs, "{t}");
    }
}
