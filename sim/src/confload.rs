//! keepalived.conf text as a node's configuration, through the engine's own parser
//! ([`vigil_engine::conf`]) and its conversion ([`vigil_engine::EngineConfig::from_conf`]), so that
//! a scenario runs exactly what an operator's file would make the daemon run.

use vigil_engine::EngineConfig;

/// Parse keepalived.conf `text` and convert it into what the engine runs. Settings the engine
/// does not act on are ignored, as by the daemon.
pub fn engine_config(text: &str) -> Result<EngineConfig, String> {
    load(text).map(|l| l.engine)
}

/// A node's keepalived.conf: what its engine runs, and what its runner does outside the engine.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// What the engine runs.
    /// (Each `vrrp_script`'s `interval`, `timeout`, `rise` and `fall` are in it: the engine
    /// schedules the runs, `Action::RunCheck`.)
    pub engine: EngineConfig,
    /// The health checkers of its `virtual_server` blocks, as vigild's checker engine runs them
    /// (`None` when there are none).
    pub checkers: Option<vigil_engine::checker::CheckerSetup>,
    /// Their notification scripts.
    pub notify_scripts: crate::scenario::NotifyScripts,
}

/// Parse keepalived.conf `text`: the engine's configuration.
pub fn load(text: &str) -> Result<Loaded, String> {
    let cfg = vigil_engine::conf::parse_str(text).map_err(|e| e.to_string())?;
    let converted = EngineConfig::from_conf(&cfg).map_err(|e| e.to_string())?;
    let checkers = (!cfg.checkers.virtual_servers.is_empty())
        .then(|| vigil_engine::checker::CheckerSetup::from_conf(&cfg));
    Ok(Loaded {
        engine: converted.engine,
        checkers,
        notify_scripts: crate::scenario::NotifyScripts::from_conf(&cfg),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_keepalived_conf_becomes_an_engine_config() {
        let cfg = super::engine_config(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n \
             advert_int 1\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n",
        )
        .unwrap();
        assert_eq!(cfg.instances[0].priority, 150);
        assert!(super::engine_config("vrrp_instance {").is_err());
    }

    #[test]
    fn a_vrrp_script_keeps_its_interval_and_its_counts() {
        let l = super::load(
            "vrrp_script chk {\n script \"/bin/true\"\n interval 3\n timeout 2\n rise 2\n \
             fall 4\n}\nvrrp_script dflt {\n script \"/bin/true\"\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
             virtual_ipaddress {\n  192.0.2.100/24\n }\n track_script {\n  chk\n  dflt\n }\n}\n",
        )
        .unwrap();
        let intervals: Vec<_> = l.engine.scripts.iter().map(|s| s.interval).collect();
        let s = core::time::Duration::from_secs;
        assert_eq!(intervals, [s(3), s(1)]);
        let chk = l.engine.scripts.iter().find(|s| s.name == "chk").unwrap();
        assert_eq!((chk.rise, chk.fall), (2, 4));
        assert_eq!(chk.timeout, core::time::Duration::from_secs(2));
    }
}
