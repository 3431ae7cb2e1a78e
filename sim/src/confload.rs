//! keepalived.conf text as a node's configuration, through the engine's own parser
//! ([`vigil_engine::conf`]) and its conversion ([`vigil_engine::EngineConfig::from_conf`]), so that
//! a scenario runs exactly what an operator's file would make the daemon run.

use vigil_engine::EngineConfig;

/// Parse keepalived.conf `text` and convert it into what the engine runs. Settings the engine
/// does not act on are ignored, as by the daemon.
pub fn engine_config(text: &str) -> Result<EngineConfig, String> {
    let cfg = vigil_engine::conf::parse_str(text).map_err(|e| e.to_string())?;
    let converted = EngineConfig::from_conf(&cfg).map_err(|e| e.to_string())?;
    Ok(converted.engine)
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
}
