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

use vigil_engine::conf::{self, Config, RunAs};
use vigil_engine::dump::{dump_vrrp, DumpEnv};
use vigil_engine::wire::Family;

use crate::netlink::{self, Addr, Rtnl};
use crate::operator::{program, user};

/// The running system, as the dump needs it.
#[derive(Debug, Default)]
pub struct SystemEnv {
    /// Interface name -> (index, addresses).
    interfaces: HashMap<String, (u32, Vec<Addr>)>,
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
        if let Ok(mut rtnl) = Rtnl::open() {
            let links = rtnl.links().unwrap_or_default();
            let addrs = rtnl.addrs().unwrap_or_default();
            for l in links {
                let mine: Vec<Addr> = addrs
                    .iter()
                    .filter(|a| a.index == l.index)
                    .cloned()
                    .collect();
                interfaces.insert(l.name.clone(), (l.index, mine));
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
        let argv0 = sc.argv.first()?;
        Some(vigil_engine::dump::quoted(sc, &self.program(argv0)))
    }

    fn uid_gid(&self, run_as: Option<&RunAs>) -> Option<(u32, u32)> {
        match run_as {
            Some(r) => user::resolve(r).ok().map(|c| (c.uid, c.gid)),
            None => self.default_user,
        }
    }

    /// The one mail and notifications use ([`crate::operator::mail::host_name`]).
    fn host_name(&self) -> Option<String> {
        let h = crate::operator::mail::host_name();
        (!h.is_empty()).then_some(h)
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
