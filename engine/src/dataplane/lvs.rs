//! IPVS-wide decisions beyond the services (keepalived.conf(5) "global definitions":
//! `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, `lvs_sync_daemon`): what the IPVS data
//! plane sends at start, reload and stop, and how the IPVS connection sync daemon follows a
//! VRRP instance. io-linux encodes each [`LvsAction`] as a generic netlink request
//! (`IPVS_CMD_FLUSH`, `IPVS_CMD_SET_CONFIG`, `IPVS_CMD_NEW_DAEMON`, `IPVS_CMD_DEL_DAEMON`);
//! it decides nothing.
//!
//! As keepalived 2.2.7 does it:
//!
//! * Checker side, start (`check_daemon.c`, `start_check`): the timeouts
//!   (`ipvs_set_timeouts`); with a sync daemon that names no VRRP instance
//!   (`checker_ipvs_syncd_needed`), both daemons stopped (errors ignored: leftovers of a run
//!   that ended abnormally) then a master and a backup daemon started together; then
//!   `IPVS_CMD_FLUSH` with `lvs_flush` (not at reload), before any service is added.
//! * Checker side, reload: the new timeouts, or the kernel's own again when none is set
//!   (`ipvs_set_timeouts(NULL)`); the checker's sync daemons restarted when their settings
//!   changed.
//! * Checker side, stop (`clear_services`, `checker_terminate_phase2`, `ipvs_stop`): without
//!   `lvs_flush_on_stop` each destination then its service is deleted; with `VS` each service
//!   (the kernel deletes its destinations with it); bare, `IPVS_CMD_FLUSH`. Then the checker's
//!   sync daemons stopped (errors ignored) and the timeouts put back to the kernel's values of
//!   before the first change (`ipvs_set_timeout(NULL)` with `orig_ipvs_timeouts`).
//! * VRRP side (`vrrp_scheduler.c` `vrrp_init_state`, `vrrp.c` `vrrp_state_become_master` /
//!   `vrrp_state_leave_master`, `vrrp_daemon.c` `vrrp_terminate_phase1`): for a sync daemon
//!   that names an instance, the backup daemon is started at start (the master one when the
//!   instance is already MASTER); becoming MASTER stops the backup daemon and starts the
//!   master one (`ipvs_syncd_master`); leaving MASTER stops the master daemon and starts the
//!   backup one (`ipvs_syncd_backup`); stop stops the one that runs.
//!
//! Where Vigil differs, and why: at reload keepalived 2.2.7's VRRP process restarts the daemon
//! with no settings (`ipvs_syncd_cmd(IPVS_STARTDAEMON, NULL, ...)`: an empty interface the
//! kernel refuses) after `vrrp_init_state` tried to start it again (EEXIST): Vigil stops the
//! running daemon and starts it with the new settings when they changed, and sends nothing
//! when they did not. Likewise the checker's daemons are not started again (EEXIST) at a
//! reload that did not change them.

use crate::conf::{Config, LvsFlushOnStop, LvsGlobals, LvsSyncDaemon, LvsTimeouts};
use crate::io::{InstanceId, State};

/// Which IPVS sync daemon (`IP_VS_STATE_MASTER`, `IP_VS_STATE_BACKUP`: include/uapi/linux/
/// ip_vs.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncRole {
    /// Sends the connections this director serves.
    Master,
    /// Receives them from the director that serves.
    Backup,
}

impl SyncRole {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }
}

/// One IPVS-wide command for the IPVS data plane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LvsAction {
    /// `IPVS_CMD_FLUSH`: every service and destination of the kernel, Vigil's or not.
    Flush,
    /// `IPVS_CMD_SET_CONFIG` with these timeouts; one unset (or 0) is sent as the kernel's
    /// value from before Vigil's first change, read once with `IPVS_CMD_GET_CONFIG`
    /// (keepalived's `orig_ipvs_timeouts`).
    SetTimeouts(LvsTimeouts),
    /// `IPVS_CMD_SET_CONFIG` with the kernel's timeouts from before Vigil's first change
    /// (nothing when Vigil changed none).
    RestoreTimeouts,
    /// Vigil's own services deleted (stop). `destinations_first`: each destination is
    /// deleted before its service (keepalived without `lvs_flush_on_stop`); the kernel state
    /// after is the same, the order is keepalived's.
    RemoveServices {
        /// Delete each destination before its service.
        destinations_first: bool,
    },
    /// `IPVS_CMD_NEW_DAEMON`: start this sync daemon with these settings.
    StartSyncDaemon {
        /// Master or backup.
        role: SyncRole,
        /// Interface, sync id, maxlen, port, TTL, group.
        daemon: LvsSyncDaemon,
    },
    /// `IPVS_CMD_DEL_DAEMON`: stop this sync daemon.
    StopSyncDaemon {
        /// Master or backup.
        role: SyncRole,
        /// The sync id (sent as keepalived does; the kernel stops the daemon by its role).
        syncid: u8,
        /// The daemon may well not run (a stop at start for leftovers, or at stop for both
        /// roles): an error is not worth more than a debug line (keepalived's `ignore_error`).
        may_be_absent: bool,
    },
}

/// Whether the checker side runs the sync daemons itself (a sync daemon that names no VRRP
/// instance: keepalived's `checker_ipvs_syncd_needed`).
fn checker_syncd(lvs: &LvsGlobals) -> Option<&LvsSyncDaemon> {
    lvs.sync_daemon.as_ref().filter(|d| d.instance.is_none())
}

fn stop_both(d: &LvsSyncDaemon) -> [LvsAction; 2] {
    [SyncRole::Master, SyncRole::Backup].map(|role| LvsAction::StopSyncDaemon {
        role,
        syncid: d.sync_id(),
        may_be_absent: true,
    })
}

fn start_both(d: &LvsSyncDaemon) -> [LvsAction; 2] {
    [SyncRole::Master, SyncRole::Backup].map(|role| LvsAction::StartSyncDaemon {
        role,
        daemon: d.clone(),
    })
}

/// What the checker side sends when it starts, before any service is added.
pub fn checker_start(lvs: &LvsGlobals) -> Vec<LvsAction> {
    let mut out = Vec::new();
    if lvs.timeouts.any() {
        out.push(LvsAction::SetTimeouts(lvs.timeouts));
    }
    if let Some(d) = checker_syncd(lvs) {
        out.extend(stop_both(d));
        out.extend(start_both(d));
    }
    if lvs.flush {
        out.push(LvsAction::Flush);
    }
    out
}

/// What the checker side sends at a reload from `old` to `new` (no flush: keepalived flushes
/// at start only).
pub fn checker_reload(old: &LvsGlobals, new: &LvsGlobals) -> Vec<LvsAction> {
    let mut out = Vec::new();
    if new.timeouts.any() {
        if new.timeouts != old.timeouts {
            out.push(LvsAction::SetTimeouts(new.timeouts));
        }
    } else if old.timeouts.any() {
        out.push(LvsAction::RestoreTimeouts);
    }
    match (checker_syncd(old), checker_syncd(new)) {
        (Some(o), Some(n)) if !same_daemon(o, n) => {
            out.extend(stop_both(o));
            out.extend(start_both(n));
        }
        (Some(o), None) => out.extend(stop_both(o)),
        (None, Some(n)) => {
            out.extend(stop_both(n));
            out.extend(start_both(n));
        }
        _ => {}
    }
    out
}

/// What the checker side sends when it stops.
pub fn checker_stop(lvs: &LvsGlobals) -> Vec<LvsAction> {
    let mut out = vec![match lvs.flush_on_stop {
        LvsFlushOnStop::Full => LvsAction::Flush,
        LvsFlushOnStop::Vs => LvsAction::RemoveServices {
            destinations_first: false,
        },
        LvsFlushOnStop::No => LvsAction::RemoveServices {
            destinations_first: true,
        },
    }];
    if let Some(d) = checker_syncd(lvs) {
        out.extend(stop_both(d));
    }
    out.push(LvsAction::RestoreTimeouts);
    out
}

/// The settings keepalived compares at reload (`ipvs_syncd_changed`), with the instance.
fn same_daemon(a: &LvsSyncDaemon, b: &LvsSyncDaemon) -> bool {
    (
        &a.interface,
        &a.instance,
        a.sync_id(),
        a.maxlen,
        a.port,
        a.ttl,
        a.group,
    ) == (
        &b.interface,
        &b.instance,
        b.sync_id(),
        b.maxlen,
        b.port,
        b.ttl,
        b.group,
    )
}

/// The sync daemon that follows a VRRP instance (the VRRP side's): its settings, the
/// instance, and which daemon it started (so that stop and reload stop that one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemonFollower {
    daemon: LvsSyncDaemon,
    instance: InstanceId,
    running: Option<SyncRole>,
    /// Stopped (vigild's stop): the instance's last transitions (to INIT) start nothing.
    stopped: bool,
}

impl SyncDaemonFollower {
    /// The follower of `cfg`'s sync daemon, when it names a VRRP instance; `instance_id`
    /// gives the engine's id of an instance name.
    pub fn new(
        cfg: &Config,
        instance_id: impl Fn(&str) -> Option<InstanceId>,
    ) -> Option<SyncDaemonFollower> {
        let d = cfg.global.checker.lvs.sync_daemon.as_ref()?;
        let instance = instance_id(d.instance.as_deref()?)?;
        Some(SyncDaemonFollower {
            daemon: d.clone(),
            instance,
            running: None,
            stopped: false,
        })
    }

    /// The instance it follows.
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// The settings.
    pub fn daemon(&self) -> &LvsSyncDaemon {
        &self.daemon
    }

    fn switch_to(&mut self, role: SyncRole) -> Vec<LvsAction> {
        let mut out = Vec::new();
        let other = match role {
            SyncRole::Master => SyncRole::Backup,
            SyncRole::Backup => SyncRole::Master,
        };
        out.push(LvsAction::StopSyncDaemon {
            role: other,
            syncid: self.daemon.sync_id(),
            may_be_absent: self.running != Some(other),
        });
        out.push(LvsAction::StartSyncDaemon {
            role,
            daemon: self.daemon.clone(),
        });
        self.running = Some(role);
        out
    }

    /// At start (`vrrp_init_state`): the backup daemon, or the master one when the instance
    /// is MASTER already.
    pub fn start(&mut self, state: State) -> Vec<LvsAction> {
        let role = if state == State::Master {
            SyncRole::Master
        } else {
            SyncRole::Backup
        };
        self.running = Some(role);
        vec![LvsAction::StartSyncDaemon {
            role,
            daemon: self.daemon.clone(),
        }]
    }

    /// An instance changed state: entering MASTER switches to the master daemon, leaving it
    /// to the backup one; nothing else changes the daemon (BACKUP <-> FAULT keep the backup
    /// daemon, as keepalived).
    pub fn on_state_change(
        &mut self,
        instance: InstanceId,
        from: State,
        to: State,
    ) -> Vec<LvsAction> {
        if instance != self.instance || from == to || self.stopped {
            return Vec::new();
        }
        if to == State::Master {
            self.switch_to(SyncRole::Master)
        } else if from == State::Master {
            self.switch_to(SyncRole::Backup)
        } else {
            Vec::new()
        }
    }

    /// At stop: the daemon that runs is stopped; later state changes (the instance leaving
    /// for INIT) start nothing.
    pub fn stop(&mut self) -> Vec<LvsAction> {
        self.stopped = true;
        match self.running.take() {
            Some(role) => vec![LvsAction::StopSyncDaemon {
                role,
                syncid: self.daemon.sync_id(),
                may_be_absent: false,
            }],
            None => Vec::new(),
        }
    }

    /// A reload: `old` (the running follower) and `new` (the new configuration's, not
    /// started; `state`: its instance's state now). Unchanged settings and instance: the
    /// running daemon stays (the new follower takes it over). Changed: the old daemon is
    /// stopped and the new one started for the instance's state. Gone: stopped.
    pub fn reload(
        old: Option<SyncDaemonFollower>,
        new: Option<SyncDaemonFollower>,
        state: State,
    ) -> (Option<SyncDaemonFollower>, Vec<LvsAction>) {
        match (old, new) {
            (Some(o), Some(mut n)) if same_daemon(&o.daemon, &n.daemon) => {
                n.running = o.running;
                (Some(n), Vec::new())
            }
            (old, new) => {
                let mut out = old.map(|mut o| o.stop()).unwrap_or_default();
                let new = new.map(|mut n| {
                    out.extend(n.start(state));
                    n
                });
                (new, out)
            }
        }
    }
}

/// What an IPVS host does with these settings, one line each (`vigild -t` prints them on
/// every host, so that an nftables host's operator learns it too). Nothing configured:
/// nothing said (keepalived's default removal at stop is the data plane's normal stop).
pub fn describe(lvs: &LvsGlobals) -> Vec<String> {
    let mut out = Vec::new();
    if lvs.flush {
        out.push("lvs_flush: an IPVS host sends IPVS_CMD_FLUSH at start (not at reload): every service of the kernel, Vigil's or not, before Vigil's are added".to_string());
    }
    match lvs.flush_on_stop {
        LvsFlushOnStop::No => {}
        LvsFlushOnStop::Vs => out.push("lvs_flush_on_stop VS: at stop an IPVS host deletes each of Vigil's services (IPVS_CMD_DEL_SERVICE; the kernel deletes their destinations), and nothing else".to_string()),
        LvsFlushOnStop::Full => out.push("lvs_flush_on_stop: at stop an IPVS host sends IPVS_CMD_FLUSH: every service of the kernel, Vigil's or not".to_string()),
    }
    if lvs.timeouts.any() {
        let t = |v: Option<u32>| match v.filter(|x| *x > 0) {
            Some(x) => format!("{x} s"),
            None => "the kernel's".to_string(),
        };
        out.push(format!(
            "lvs_timeouts: an IPVS host sends IPVS_CMD_SET_CONFIG at start (tcp {}, tcpfin {}, udp {}) and the kernel's earlier values back at stop",
            t(lvs.timeouts.tcp),
            t(lvs.timeouts.tcpfin),
            t(lvs.timeouts.udp)
        ));
    }
    if let Some(d) = &lvs.sync_daemon {
        let mut opts = vec![format!("sync id {}", d.sync_id())];
        opts.extend(d.maxlen.map(|v| format!("maxlen {v}")));
        opts.extend(d.port.map(|v| format!("port {v}")));
        opts.extend(d.ttl.map(|v| format!("ttl {v}")));
        opts.extend(d.group.map(|v| format!("group {v}")));
        let what = match &d.instance {
            Some(i) => format!(
                "an IPVS host starts the backup sync daemon at start (IPVS_CMD_NEW_DAEMON), switches to the master one when {i} becomes MASTER and back to the backup one when it leaves MASTER (IPVS_CMD_DEL_DAEMON then NEW_DAEMON), and stops it at stop"
            ),
            None => "no VRRP instance: an IPVS host runs a master and a backup sync daemon together from start to stop".to_string(),
        };
        out.push(format!(
            "lvs_sync_daemon {} ({}): {what}",
            d.interface,
            opts.join(", ")
        ));
    }
    out
}

#[cfg(test)]
#[path = "lvs_tests.rs"]
mod tests;
