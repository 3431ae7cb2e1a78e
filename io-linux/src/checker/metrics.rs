//! The health checkers' Prometheus metrics, in node_exporter's textfile format, in a file of
//! their own beside vigild's (`--metrics-file DIR/vigil.prom` gives `DIR/vigil-checkers.prom`,
//! which the textfile collector reads too). Written atomically with the status file: at once on
//! a state change, else at most once a second.
//!
//! | metric | type | labels | meaning |
//! |--------|------|--------|---------|
//! | `vigil_virtual_server_quorum_up` | gauge | `vs` | 1 when the quorum is met |
//! | `vigil_virtual_server_sorry_in_use` | gauge | `vs` | 1 while the sorry server replaces the real servers |
//! | `vigil_real_server_up` | gauge | `vs`, `rs` | 1 when every checker of the real server is up |
//! | `vigil_real_server_weight` | gauge | `vs`, `rs` | configured weight plus checker adjustments |
//! | `vigil_real_server_in_table` | gauge | `vs`, `rs` | 1 when the table holds it (at any weight) |
//! | `vigil_checker_up` | gauge | `vs`, `rs`, `checker`, `n` | 1 when up |
//! | `vigil_checker_runs_total` | counter | as above | runs started |
//! | `vigil_checker_failures_total` | counter | as above | runs that failed (abandoned ones included) |

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vigil_engine::checker::{CheckId, CheckerEngine, VsId};
use vigil_engine::conf;

/// `DIR/NAME.prom` -> `DIR/NAME-checkers.prom`.
pub(super) fn path_beside(metrics_file: &Path) -> PathBuf {
    let stem = metrics_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vigil".into());
    metrics_file.with_file_name(format!("{stem}-checkers.prom"))
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The metrics text for `engine` running `cfg`'s virtual servers; `checkers` lists (virtual
/// server, real server, checker) per [`CheckId`].
pub(super) fn render(
    engine: &CheckerEngine,
    cfg: &conf::Config,
    checkers: &[(usize, usize, conf::Checker)],
) -> String {
    let mut s = String::new();
    let vss = &cfg.checkers.virtual_servers;
    let name = |v: usize| esc(&vss[v].key.to_string());
    let rs_name = |v: usize, r: usize| {
        let rs = &vss[v].real_servers[r];
        esc(&match rs.addr {
            std::net::IpAddr::V4(a) => format!("{a}:{}", rs.port),
            std::net::IpAddr::V6(a) => format!("[{a}]:{}", rs.port),
        })
    };
    let _ = writeln!(s, "# TYPE vigil_virtual_server_quorum_up gauge");
    let _ = writeln!(s, "# TYPE vigil_virtual_server_sorry_in_use gauge");
    for v in 0..vss.len() {
        let (up, sorry) = engine.quorum(VsId(v as u32)).unwrap_or((false, false));
        let _ = writeln!(
            s,
            "vigil_virtual_server_quorum_up{{vs=\"{}\"}} {}",
            name(v),
            u8::from(up)
        );
        let _ = writeln!(
            s,
            "vigil_virtual_server_sorry_in_use{{vs=\"{}\"}} {}",
            name(v),
            u8::from(sorry)
        );
    }
    let _ = writeln!(s, "# TYPE vigil_real_server_up gauge");
    let _ = writeln!(s, "# TYPE vigil_real_server_weight gauge");
    let _ = writeln!(s, "# TYPE vigil_real_server_in_table gauge");
    for (v, vs) in vss.iter().enumerate() {
        for r in 0..vs.real_servers.len() {
            let Some(view) = engine.real_server(VsId(v as u32), r as u32) else {
                continue;
            };
            let l = format!("vs=\"{}\",rs=\"{}\"", name(v), rs_name(v, r));
            let _ = writeln!(s, "vigil_real_server_up{{{l}}} {}", u8::from(view.alive));
            let _ = writeln!(s, "vigil_real_server_weight{{{l}}} {}", view.weight);
            let _ = writeln!(
                s,
                "vigil_real_server_in_table{{{l}}} {}",
                u8::from(view.table.is_some())
            );
        }
    }
    let _ = writeln!(s, "# TYPE vigil_checker_up gauge");
    let _ = writeln!(s, "# TYPE vigil_checker_runs_total counter");
    let _ = writeln!(s, "# TYPE vigil_checker_failures_total counter");
    for (i, (v, r, c)) in checkers.iter().enumerate() {
        let Some(k) = engine.checker(CheckId(i as u32)) else {
            continue;
        };
        let l = format!(
            "vs=\"{}\",rs=\"{}\",checker=\"{}\",n=\"{i}\"",
            name(*v),
            rs_name(*v, *r),
            c.kind.keyword()
        );
        let _ = writeln!(s, "vigil_checker_up{{{l}}} {}", u8::from(k.up));
        let _ = writeln!(s, "vigil_checker_runs_total{{{l}}} {}", k.runs);
        let _ = writeln!(s, "vigil_checker_failures_total{{{l}}} {}", k.failures);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_engine::checker::{CheckInput, CheckerSetup};
    use vigil_engine::Instant;

    #[test]
    fn metrics_follow_the_engine() {
        let cfg = conf::parse_str(
            "virtual_server 192.0.2.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n alpha\n real_server 198.51.100.1 8080 {\n  weight 3\n  TCP_CHECK {\n  }\n }\n}\n",
        )
        .unwrap();
        let mut e = CheckerEngine::new(CheckerSetup::from_conf(&cfg));
        e.handle_input(Instant::ZERO, CheckInput::Start);
        let list: Vec<_> = cfg.checkers.virtual_servers[0].real_servers[0]
            .checkers
            .iter()
            .map(|c| (0, 0, c.clone()))
            .collect();
        let m = render(&e, &cfg, &list);
        let rs = "vs=\"192.0.2.1:80\",rs=\"198.51.100.1:8080\"";
        assert!(
            m.contains(&format!("vigil_real_server_up{{{rs}}} 0\n")),
            "{m}"
        );
        assert!(
            m.contains(&format!("vigil_real_server_weight{{{rs}}} 3\n")),
            "{m}"
        );
        assert!(
            m.contains(&format!("vigil_real_server_in_table{{{rs}}} 0\n")),
            "{m}"
        );
        assert!(
            m.contains("vigil_virtual_server_quorum_up{vs=\"192.0.2.1:80\"} 0\n"),
            "{m}"
        );
        assert!(m.contains(&format!(
            "vigil_checker_up{{{rs},checker=\"TCP_CHECK\",n=\"0\"}} 0\n"
        )));
        assert_eq!(
            path_beside(Path::new("/var/lib/ne/vigil.prom")),
            PathBuf::from("/var/lib/ne/vigil-checkers.prom")
        );
    }
}
