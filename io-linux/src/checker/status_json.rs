//! The checker part of `vigild status --json`: `virtual_servers`, an array beside the VRRP
//! instances (docs/status-schema.md). The runner writes it beside the pid file
//! (`PID.checkers.json`, with the text table) whenever it writes the text; `vigild status
//! --json` adds it to the daemon's answer.

use serde::Serialize;
use vigil_engine::checker::{CheckId, CheckerEngine, VsId};
use vigil_engine::conf;

/// One virtual server.
#[derive(Debug, Serialize)]
pub struct VirtualServerStatus {
    /// keepalived's name: `[ADDR]:PROTO:PORT`, `FWM N`, `[GROUP]:N`.
    pub name: String,
    /// `quorum` as configured.
    pub quorum: u32,
    /// `hysteresis` as configured.
    pub hysteresis: u32,
    /// Whether the quorum is met (the real servers serve).
    pub quorum_up: bool,
    /// The sorry server, if configured.
    pub sorry_server: Option<SorryStatus>,
    /// Real servers, in configuration order.
    pub real_servers: Vec<RealServerStatus>,
}

/// A virtual server's sorry server.
#[derive(Debug, Serialize)]
pub struct SorryStatus {
    /// Its address.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// In use (the quorum is lost).
    pub in_use: bool,
}

/// One real server.
#[derive(Debug, Serialize)]
pub struct RealServerStatus {
    /// Its address.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// `UP` (every checker up) or `DOWN`.
    pub state: &'static str,
    /// Its weight now (configured plus `misc_dynamic` / FILE_CHECK adjustments).
    pub weight: u32,
    /// The weight the table holds for it; null: not in the table.
    pub table_weight: Option<u32>,
    /// Its checkers.
    pub checkers: Vec<CheckerStatus>,
}

/// One checker.
#[derive(Debug, Serialize)]
pub struct CheckerStatus {
    /// `TCP_CHECK`, `HTTP_GET`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `UP` or `DOWN`.
    pub state: &'static str,
    /// A run is in progress.
    pub running: bool,
    /// Runs started.
    pub runs: u64,
    /// Runs that failed (abandoned ones included).
    pub failures: u64,
    /// The last result, as logged; null before the first.
    pub last_result: Option<String>,
}

fn name(cfg: &conf::Config, v: usize) -> String {
    let vss = &cfg.checkers.virtual_servers;
    let vs = &vss[v];
    let proto = match vs.protocol {
        Some(conf::Protocol::Tcp) => "tcp",
        Some(conf::Protocol::Udp) => "udp",
        Some(conf::Protocol::Sctp) => "sctp",
        None => "none",
    };
    match &vs.key {
        conf::ServiceKey::Addr { addr, port } => format!("[{addr}]:{proto}:{port}"),
        conf::ServiceKey::Fwmark(m) => format!("FWM {m}"),
        conf::ServiceKey::Group(g) => {
            let n = vss[..v]
                .iter()
                .filter(|o| matches!(&o.key, conf::ServiceKey::Group(x) if x == g))
                .count();
            format!("[{g}]:{n}")
        }
    }
}

/// The `virtual_servers` array.
pub fn collect(
    engine: &CheckerEngine,
    cfg: &conf::Config,
    checkers: &[(usize, usize, conf::Checker)],
) -> Vec<VirtualServerStatus> {
    let mut out = Vec::new();
    for (v, vs) in cfg.checkers.virtual_servers.iter().enumerate() {
        let vid = VsId(v as u32);
        let (quorum_up, in_use) = engine.quorum(vid).unwrap_or((false, false));
        let mut reals = Vec::new();
        for (r, rs) in vs.real_servers.iter().enumerate() {
            let Some(view) = engine.real_server(vid, r as u32) else {
                continue;
            };
            let cks = checkers
                .iter()
                .enumerate()
                .filter(|(_, (cv, cr, _))| *cv == v && *cr == r)
                .filter_map(|(i, (_, _, c))| {
                    let k = engine.checker(CheckId(i as u32))?;
                    Some(CheckerStatus {
                        kind: c.kind.keyword(),
                        state: if k.up { "UP" } else { "DOWN" },
                        running: k.running,
                        runs: k.runs,
                        failures: k.failures,
                        last_result: k.last,
                    })
                })
                .collect();
            reals.push(RealServerStatus {
                address: rs.addr.to_string(),
                port: rs.port,
                state: if view.alive { "UP" } else { "DOWN" },
                weight: view.weight,
                table_weight: view.table,
                checkers: cks,
            });
        }
        out.push(VirtualServerStatus {
            name: name(cfg, v),
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
            quorum_up,
            sorry_server: vs.sorry_server.as_ref().map(|s| SorryStatus {
                address: s.addr.to_string(),
                port: s.port,
                in_use,
            }),
            real_servers: reals,
        });
    }
    out
}

/// Where the runner keeps the JSON: beside the pid file.
pub fn path_for_pid_file(pid_file: &std::path::Path) -> std::path::PathBuf {
    let mut s = pid_file.as_os_str().to_owned();
    s.push(".checkers.json");
    std::path::PathBuf::from(s)
}

/// Adds `virtual_servers` (from the runner's file; `[]` when there is none) to the daemon's
/// `status --json` answer. An answer that is not a JSON object is returned unchanged.
pub fn merge(answer: &str, pid_file: &std::path::Path) -> String {
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str::<serde_json::Value>(answer)
    else {
        return answer.to_string();
    };
    let vss = std::fs::read_to_string(path_for_pid_file(pid_file))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .unwrap_or(serde_json::Value::Array(Vec::new()));
    obj.insert("virtual_servers".into(), vss);
    let mut s = serde_json::to_string_pretty(&serde_json::Value::Object(obj))
        .unwrap_or_else(|_| answer.to_string());
    s.push('\n');
    s
}
