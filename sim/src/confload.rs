//! keepalived.conf text as a node's configuration, through the engine's own parser
//! ([`vigil_engine::conf`]), so that a scenario runs exactly what an operator's file would.

use vigil_engine::EngineConfig;

/// Parse keepalived.conf `text` and convert it into what the engine runs.
pub fn engine_config(text: &str) -> Result<EngineConfig, String> {
    let _cfg = vigil_engine::conf::parse_str(text).map_err(|e| e.to_string())?;
    Err("the file parses, but the engine has no conversion from conf::Config to EngineConfig yet: \
         use inline instances"
        .into())
}
