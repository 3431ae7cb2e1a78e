//! The IPVS connection sync daemon that follows a VRRP instance (`lvs_sync_daemon INTERFACE
//! VRRP_INSTANCE ...`, or a `vrrp_instance`'s `lvs_sync_daemon_interface`): the VRRP side
//! owns it, as keepalived's VRRP process does. When to start and stop which daemon is the
//! engine's decision (`vigil_engine::dataplane::lvs::SyncDaemonFollower`); this file opens an
//! IPVS generic netlink socket of its own and sends what the follower says.
//!
//! On an nftables host (no IPVS) nothing is sent: the parser noted the keyword, and the start
//! log says so once; a reload says it again only when the sync daemon's settings changed. Where the host was judged IPVS but the family cannot be opened, the error
//! is logged and VRRP runs on without the sync daemon (keepalived's VRRP process stops with a
//! fatal error there; Vigil's takeover does not depend on it).

use tracing::{error, info};
use vigil_engine::conf;
use vigil_engine::dataplane::lvs::{LvsAction, SyncDaemonFollower};
use vigil_engine::{Engine, InstanceId, State};

use crate::dataplane::ipvs::kernel::Ipvs;

/// The follower and its IPVS socket.
pub(super) struct LvsSync {
    follower: Option<SyncDaemonFollower>,
    ipvs: Option<Ipvs>,
    /// The settings last logged as "not started" on a host without IPVS (the line is not
    /// repeated at a reload that keeps them).
    noted: Option<conf::LvsSyncDaemon>,
}

/// Whether a sync daemon's settings differ from those last noted (its place in the file
/// aside: a line moved by an edit above it is the same setting).
fn changed_from(noted: Option<&conf::LvsSyncDaemon>, d: &conf::LvsSyncDaemon) -> bool {
    noted.is_none_or(|n| {
        let mut n = n.clone();
        n.loc = d.loc.clone();
        n != *d
    })
}

fn follower_of(cfg: &conf::Config, engine: &Engine) -> Option<SyncDaemonFollower> {
    SyncDaemonFollower::new(cfg, |n| engine.instance_id(n))
}

fn state_of(engine: &Engine, id: InstanceId) -> State {
    engine.instance(id).map_or(State::Init, |v| v.state())
}

impl LvsSync {
    /// No sync daemon (until the configuration is known).
    pub(super) fn none() -> LvsSync {
        LvsSync {
            follower: None,
            ipvs: None,
            noted: None,
        }
    }

    /// The sync daemon of `cfg` (none when it names no instance: the checker side runs that
    /// one), with an IPVS socket when the host has IPVS.
    pub(super) fn new(cfg: &conf::Config, engine: &Engine) -> LvsSync {
        let follower = follower_of(cfg, engine);
        let mut noted = None;
        let ipvs = follower.as_ref().and_then(|f| open(f, &mut noted));
        LvsSync {
            follower,
            ipvs,
            noted,
        }
    }

    fn send(&mut self, actions: Vec<LvsAction>) {
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        for a in actions {
            if let Err(e) = ipvs.lvs_action(&a) {
                error!("lvs_sync_daemon: IPVS: {e}");
            }
        }
    }

    /// Before the engine starts: the daemon for the instance's state (the backup one).
    pub(super) fn start(&mut self, engine: &Engine) {
        let acts = match self.follower.as_mut() {
            Some(f) => {
                let s = state_of(engine, f.instance());
                f.start(s)
            }
            None => return,
        };
        self.send(acts);
    }

    /// An instance changed state.
    pub(super) fn state_change(&mut self, instance: InstanceId, from: State, to: State) {
        let acts = match self.follower.as_mut() {
            Some(f) => f.on_state_change(instance, from, to),
            None => return,
        };
        self.send(acts);
    }

    /// Stop (before the instances release their addresses, as keepalived's
    /// `vrrp_terminate_phase1`): the daemon that runs is stopped.
    pub(super) fn stop(&mut self) {
        let acts = self.follower.as_mut().map(|f| f.stop()).unwrap_or_default();
        self.send(acts);
    }

    /// A reload: the new configuration's daemon (the engine already holds the new instances).
    pub(super) fn reload(&mut self, cfg: &conf::Config, engine: &Engine) {
        let new = follower_of(cfg, engine);
        let state = new
            .as_ref()
            .map_or(State::Init, |f| state_of(engine, f.instance()));
        if self.ipvs.is_none() {
            self.ipvs = match new.as_ref() {
                Some(f) => open(f, &mut self.noted),
                // Removed: a sync daemon configured again later is noted again.
                None => {
                    self.noted = None;
                    None
                }
            };
        }
        let (kept, acts) = SyncDaemonFollower::reload(self.follower.take(), new, state);
        self.follower = kept;
        self.send(acts);
    }
}

/// An IPVS socket for the follower, when the host has IPVS. Without IPVS the sync daemon is
/// not started, which is logged when its settings differ from `noted` (at start, and at a
/// reload that changed them), and `noted` becomes them.
fn open(f: &SyncDaemonFollower, noted: &mut Option<conf::LvsSyncDaemon>) -> Option<Ipvs> {
    let d = f.daemon();
    let host = crate::dataplane::host_backend();
    if host.kind != vigil_engine::dataplane::Backend::Ipvs {
        if !changed_from(noted.as_ref(), d) {
            return None;
        }
        *noted = Some(d.clone());
        info!(
            "lvs_sync_daemon {} {}: not started: {} ({})",
            d.interface,
            d.instance.as_deref().unwrap_or(""),
            vigil_engine::conf::lvs_nftables_note("lvs_sync_daemon"),
            host.why
        );
        return None;
    }
    match Ipvs::open() {
        Ok(i) => Some(i),
        Err(e) => {
            error!(
                "lvs_sync_daemon {}: IPVS cannot be used ({e}): no sync daemon",
                d.interface
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(text: &str) -> conf::LvsSyncDaemon {
        let c = conf::parse_str(&format!(
            "{text}vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n \
             virtual_ipaddress {{\n  192.0.2.1/24\n }}\n}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        c.global.checker.lvs.sync_daemon.expect("a sync daemon")
    }

    /// The "not started" line of an nftables host: at start; not again for the same settings
    /// (moved by a line above them too); again when they change.
    #[test]
    fn the_not_started_line_is_repeated_only_when_the_settings_change() {
        let a = daemon("global_defs {\n lvs_sync_daemon eth0 VI_1\n}\n");
        assert!(changed_from(None, &a));
        assert!(!changed_from(Some(&a), &a));
        let moved = daemon("global_defs {\n router_id r1\n lvs_sync_daemon eth0 VI_1\n}\n");
        assert_ne!(moved.loc, a.loc);
        assert!(!changed_from(Some(&a), &moved));
        let other = daemon("global_defs {\n lvs_sync_daemon eth0 VI_1 id 9\n}\n");
        assert!(changed_from(Some(&a), &other));
    }
}
