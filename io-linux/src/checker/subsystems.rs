//! keepalived's `-P` / `-C`: which halves of the configuration vigild runs.

use vigil_engine::conf;

/// Which halves of keepalived's configuration vigild runs: keepalived's `-P` (`--vrrp`, VRRP
/// only) and `-C` (`--check`, health checkers only); both by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subsystems {
    /// VRRP instances, sync groups, their scripts and the static addresses and routes.
    pub vrrp: bool,
    /// Virtual servers and their health checkers.
    pub checkers: bool,
}

impl Default for Subsystems {
    fn default() -> Self {
        Subsystems {
            vrrp: true,
            checkers: true,
        }
    }
}

impl Subsystems {
    /// From the command line's `-P` and `-C` (both given: both run, as keepalived).
    pub fn from_flags(vrrp_only: bool, check_only: bool) -> Subsystems {
        match (vrrp_only, check_only) {
            (true, false) => Subsystems {
                vrrp: true,
                checkers: false,
            },
            (false, true) => Subsystems {
                vrrp: false,
                checkers: true,
            },
            _ => Subsystems::default(),
        }
    }

    /// The part of `cfg` that runs. `track_file` blocks stay (FILE_CHECK reads them too).
    pub fn keep(self, mut cfg: conf::Config) -> conf::Config {
        if !self.vrrp {
            cfg.instances.clear();
            cfg.sync_groups.clear();
            cfg.scripts.clear();
            cfg.static_addresses.clear();
            cfg.static_routes.clear();
        }
        if !self.checkers {
            cfg.checkers = conf::CheckerConf::default();
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::CheckerRunner;

    const CONF: &str = "vrrp_script s {\n script /bin/true\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\nvirtual_server 192.0.2.2 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 198.51.100.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n";

    #[test]
    fn dash_p_and_dash_c_keep_one_half() {
        let cfg = conf::parse_str(CONF).unwrap();
        let c = Subsystems::from_flags(false, true).keep(cfg.clone());
        assert!(c.instances.is_empty() && c.scripts.is_empty());
        assert_eq!(c.checkers.virtual_servers.len(), 1);
        let p = Subsystems::from_flags(true, false).keep(cfg.clone());
        assert_eq!(p.instances.len(), 1);
        assert!(p.checkers.virtual_servers.is_empty());
        let both = Subsystems::from_flags(true, true).keep(cfg.clone());
        assert_eq!(both, cfg);
    }

    #[test]
    fn no_virtual_server_no_runner() {
        let cfg = Subsystems::from_flags(true, false).keep(conf::parse_str(CONF).unwrap());
        assert!(CheckerRunner::new(&cfg, None).unwrap().is_none());
    }
}
