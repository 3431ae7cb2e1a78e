//! The order in which the data plane hands the engine's IPVS-wide actions to its backend:
//! at the first rebuild, before the services (keepalived's `start_check`: timeouts, the
//! checker's sync daemons, `lvs_flush`, then `init_services`); at stop instead of the plain
//! removal; at a reload before the new services. The backend here records what it is asked
//! (the kernel side is the IPVS backend's, unit-tested byte for byte in `ipvs/`); a backend
//! that does not apply them (nftables) is asked for its own removal only.

use std::sync::{Arc, Mutex};

use vigil_engine::conf;
use vigil_engine::dataplane::lvs::{LvsAction, SyncRole};

use super::{Backend, DataPlane, Service};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: String) {
        self.0.lock().expect("log").push(s);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("log"))
    }
}

struct Recording {
    log: Log,
    lvs: bool,
}

impl Backend for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }
    fn refusal(&self, _vs: &conf::VirtualServer) -> Option<String> {
        None
    }
    fn rebuild(&mut self, services: &[Service<'_>]) -> Result<(), String> {
        self.log.push(format!("rebuild {}", services.len()));
        Ok(())
    }
    fn update(&mut self, _services: &[Service<'_>]) -> Result<(), String> {
        self.log.push("update".into());
        Ok(())
    }
    fn remove(&mut self) -> Result<(), String> {
        self.log.push("remove".into());
        Ok(())
    }
    fn intact(&mut self, _services: &[Service<'_>]) -> Result<bool, String> {
        Ok(true)
    }
    fn applies_lvs(&self) -> bool {
        self.lvs
    }
    fn lvs(&mut self, action: &LvsAction) -> Result<(), String> {
        self.log.push(match action {
            LvsAction::Flush => "flush".into(),
            LvsAction::SetTimeouts(t) => format!("timeouts {:?} {:?} {:?}", t.tcp, t.tcpfin, t.udp),
            LvsAction::RestoreTimeouts => "timeouts restored".into(),
            LvsAction::RemoveServices { destinations_first } => {
                format!("remove services (destinations first: {destinations_first})")
            }
            LvsAction::StartSyncDaemon { role, daemon } => {
                format!("start {} on {}", role.name(), daemon.interface)
            }
            LvsAction::StopSyncDaemon { role, .. } => format!(
                "stop {}",
                if *role == SyncRole::Master {
                    "master"
                } else {
                    "backup"
                }
            ),
        });
        Ok(())
    }
}

const VS: &str = "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_kind NAT\n real_server 198.51.100.11 80 { }\n}\n";

fn plane(global: &str, lvs: bool) -> (DataPlane, Log) {
    let cfg = conf::parse_str(&format!("global_defs {{\n{global}\n}}\n{VS}")).expect("parses");
    let log = Log::default();
    let b = Recording {
        log: log.clone(),
        lvs,
    };
    (DataPlane::with_backend(&cfg, Box::new(b)), log)
}

#[test]
fn ipvs_start_stop_and_reload_in_keepalived_s_order() {
    let (mut dp, log) = plane(
        " lvs_flush\n lvs_flush_on_stop VS\n lvs_timeouts tcp 900\n lvs_sync_daemon eth1",
        true,
    );
    dp.commit();
    assert_eq!(
        log.take(),
        [
            "timeouts Some(900) None None",
            "stop master",
            "stop backup",
            "start master on eth1",
            "start backup on eth1",
            "flush",
            "rebuild 1",
        ]
    );
    // A later rebuild (a repair, a reload) does not flush again.
    dp.rebuild();
    assert_eq!(log.take(), ["rebuild 1"]);
    // A reload that drops the timeouts puts the kernel's back.
    let cfg = conf::parse_str(&format!(
        "global_defs {{\n lvs_flush_on_stop VS\n lvs_sync_daemon eth1\n}}\n{VS}"
    ))
    .expect("parses");
    dp.reconfigure(&cfg, |_, _| None, |_| None);
    assert_eq!(log.take(), ["timeouts restored"]);
    dp.stop();
    assert_eq!(
        log.take(),
        [
            "remove services (destinations first: false)",
            "stop master",
            "stop backup",
            "timeouts restored",
        ]
    );
}

#[test]
fn nftables_gets_its_own_removal_whatever_the_lvs_settings() {
    let (mut dp, log) = plane(
        " lvs_flush\n lvs_flush_on_stop\n lvs_timeouts tcp 900",
        false,
    );
    dp.commit();
    assert_eq!(log.take(), ["rebuild 1"]);
    dp.stop();
    assert_eq!(log.take(), ["remove"]);
}
