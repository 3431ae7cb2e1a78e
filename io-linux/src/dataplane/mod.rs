//! The load-balancer data plane: makes the kernel serve each virtual server with the real
//! servers and weights that the checker engine decided ([`CheckAction::SetServer`]).
//!
//! One interface, [`DataPlane`], takes the engine's table changes; a [`Backend`] applies them.
//! The decisions (which `lb_algo`, `lb_kind` and persistence settings can be honoured, how
//! weights become buckets) are the engine's ([`vigil_engine::dataplane`]); a backend only
//! renders a [`ServicePlan`] for its kernel interface. Backends:
//!
//! * nftables (`nftables.rs`): the one built, and the one this host gets (IPVS over generic
//!   netlink, for kernels with `CONFIG_IP_VS`, is not built yet: docs/DATAPLANE.md).
//!
//! The runner records each change with [`DataPlane::set_server`] and calls
//! [`DataPlane::commit`] once the engine's actions of an event are drained: every virtual
//! server that changed is re-rendered and applied in one transaction. The first commit (start)
//! and [`DataPlane::rebuild`] (reload) rebuild the whole table from the engine's state;
//! [`DataPlane::stop`] removes it.
//!
//! [`CheckAction::SetServer`]: vigil_engine::checker::CheckAction::SetServer

pub mod ipvs;
pub mod nftables;
#[allow(unsafe_code)] // recv(2) of the nftables change notifications on a netlink socket
pub mod watch;

use std::collections::BTreeSet;

use tracing::{error, info, warn};
use vigil_engine::checker::{Server, TableChange, VsId};
use vigil_engine::conf::{self, VirtualServer};
use vigil_engine::dataplane::{self as plan, ServicePlan, ServiceTable};

/// Which backend this host gets, and why (`vigild -t` and the start-up log say it): nftables
/// everywhere today. A kernel with IPVS (`/proc/net/ip_vs` exists) would be IPVS's, as with
/// keepalived, but only the IPVS messages are built (`ipvs.rs`, never sent to a kernel), so
/// such a host gets nftables too, and is told so.
pub fn host_backend() -> (&'static str, String) {
    host_backend_for(std::path::Path::new("/proc/net/ip_vs").exists())
}

/// [`host_backend`] for a kernel with or without IPVS.
pub fn host_backend_for(kernel_has_ipvs: bool) -> (&'static str, String) {
    if kernel_has_ipvs {
        (
            "nftables",
            "this kernel has IPVS (/proc/net/ip_vs exists), which keepalived would drive, but Vigil's IPVS backend is not built (its netlink messages are encoded and unit-tested only): nftables is used".into(),
        )
    } else {
        (
            "nftables",
            "this kernel has no IPVS (/proc/net/ip_vs is absent: CONFIG_IP_VS not set or ip_vs not loaded)".into(),
        )
    }
}

/// A kernel interface that applies service plans.
pub trait Backend {
    /// Its name in logs.
    fn name(&self) -> &'static str;
    /// Replace everything of Vigil's with these services, in one transaction.
    fn rebuild(&mut self, plans: &[ServicePlan]) -> Result<(), String>;
    /// Replace these services' rules, in one transaction.
    fn update(&mut self, plans: &[ServicePlan]) -> Result<(), String>;
    /// Remove everything of Vigil's.
    fn remove(&mut self) -> Result<(), String>;
    /// Whether what is in the kernel is still what the last rebuild and updates put there
    /// for these services (someone else may have flushed or deleted it).
    fn intact(&mut self, plans: &[ServicePlan]) -> Result<bool, String>;
}

/// Rebuilds in a row after which the data plane stops repairing (a table that never reads back
/// as built means a fault, not a meddler: logged, not looped on).
const MAX_REPAIRS: u32 = 3;

/// The data plane: the engine's tables and the backend that applies them.
pub struct DataPlane {
    backend: Box<dyn Backend>,
    vss: Vec<VirtualServer>,
    tables: Vec<ServiceTable>,
    /// Virtual servers changed since the last commit.
    dirty: BTreeSet<usize>,
    /// The whole table was built (the first commit builds it).
    built: bool,
    /// Commits applied and failed (status, tests).
    pub applied: u64,
    /// Commits that the backend refused.
    pub failed: u64,
    /// nf_tables change notifications (None: the subscription failed; logged).
    watch: Option<watch::Watch>,
    /// Rebuilds in a row after a check found the table changed.
    repairs: u32,
}

impl DataPlane {
    /// The data plane of `cfg`'s virtual servers, on the host's backend; the virtual servers
    /// the backend cannot apply are logged with the reason (and skipped).
    pub fn new(cfg: &conf::Config) -> DataPlane {
        if !cfg.checkers.virtual_servers.is_empty() {
            let (name, why) = host_backend();
            info!("data plane: {name}: {why}");
        }
        Self::with_backend(cfg, Box::new(nftables::Nft::default()))
    }

    /// The same on a given backend.
    pub fn with_backend(cfg: &conf::Config, backend: Box<dyn Backend>) -> DataPlane {
        let vss = cfg.checkers.virtual_servers.clone();
        for vs in &vss {
            if let Some(why) = plan::refusal(vs) {
                warn!(
                    "virtual server {}: not applied by the {} data plane: {why}",
                    vs.key,
                    backend.name()
                );
            }
        }
        let tables = vss
            .iter()
            .map(|v| ServiceTable::new(v.real_servers.len()))
            .collect();
        let watch = match watch::Watch::new() {
            Ok(w) => Some(w),
            Err(e) => {
                warn!("data plane: cannot watch nftables for changes by others ({e}): a flushed table is rebuilt only at reload");
                None
            }
        };
        DataPlane {
            backend,
            vss,
            tables,
            dirty: BTreeSet::new(),
            built: false,
            applied: 0,
            failed: 0,
            watch,
            repairs: 0,
        }
    }

    /// The descriptor that becomes readable when nftables changes (for the runner's epoll).
    pub fn watch_fd(&self) -> Option<std::os::fd::RawFd> {
        self.watch.as_ref().map(watch::Watch::fd)
    }

    /// nftables changed (someone's change, or ours): check the table, rebuild it from the
    /// engine's state if it is not what was put there.
    pub fn on_watch(&mut self) {
        let changed = self.watch.as_ref().is_some_and(watch::Watch::drain);
        if !changed || !self.built {
            return;
        }
        let plans = self.plans(0..self.vss.len());
        match self.backend.intact(&plans) {
            Ok(true) => self.repairs = 0,
            Ok(false) if self.repairs >= MAX_REPAIRS => {
                if self.repairs == MAX_REPAIRS {
                    error!(
                        "data plane ({}): the table still differs after {MAX_REPAIRS} rebuilds: not rebuilding it again until the next change",
                        self.backend.name()
                    );
                    self.repairs += 1;
                }
            }
            Ok(false) => {
                self.repairs += 1;
                warn!(
                    "data plane ({}): Vigil's table was changed or removed by someone else: rebuilding it",
                    self.backend.name()
                );
                self.rebuild();
            }
            Err(e) => warn!(
                "data plane ({}): cannot check the table: {e}",
                self.backend.name()
            ),
        }
    }

    /// Records one of the engine's table changes (applied at the next [`DataPlane::commit`]).
    pub fn set_server(&mut self, vs: VsId, server: Server, change: TableChange) {
        let v = vs.0 as usize;
        if let Some(t) = self.tables.get_mut(v) {
            t.apply(server, change);
            self.dirty.insert(v);
        }
    }

    fn plans(&self, which: impl Iterator<Item = usize>) -> Vec<ServicePlan> {
        which
            .filter_map(|v| plan::plan(v as u32, &self.vss[v], &self.tables[v]).ok())
            .collect()
    }

    /// Applies what changed since the last commit, in one transaction (the first commit
    /// builds the whole table).
    pub fn commit(&mut self) {
        if !self.built {
            self.rebuild();
            return;
        }
        if self.dirty.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        let plans = self.plans(dirty.into_iter());
        if plans.is_empty() {
            return;
        }
        match self.backend.update(&plans) {
            Ok(()) => {
                self.applied += 1;
                self.repairs = 0;
            }
            Err(e) => {
                self.failed += 1;
                error!("data plane ({}): {e}", self.backend.name());
            }
        }
    }

    /// A reload changed the virtual servers: the data plane takes the new configuration's and
    /// their tables as the checker engine holds them now (`table(vs, rs)`: a real server's
    /// weight in the table; `sorry(vs)`: the sorry server's), in the new numbering. The next
    /// [`DataPlane::rebuild`] applies it in one transaction.
    pub fn reconfigure(
        &mut self,
        cfg: &conf::Config,
        table: impl Fn(usize, usize) -> Option<u32>,
        sorry: impl Fn(usize) -> Option<u32>,
    ) {
        self.vss = cfg.checkers.virtual_servers.clone();
        for vs in &self.vss {
            if let Some(why) = plan::refusal(vs) {
                warn!(
                    "virtual server {}: not applied by the {} data plane: {why}",
                    vs.key,
                    self.backend.name()
                );
            }
        }
        self.tables = self
            .vss
            .iter()
            .enumerate()
            .map(|(v, vs)| ServiceTable {
                reals: (0..vs.real_servers.len()).map(|r| table(v, r)).collect(),
                sorry: sorry(v),
            })
            .collect();
        self.dirty.clear();
    }

    /// Rebuilds the whole table from the engine's state (start, reload).
    pub fn rebuild(&mut self) {
        self.dirty.clear();
        let plans = self.plans(0..self.vss.len());
        match self.backend.rebuild(&plans) {
            Ok(()) => {
                self.built = true;
                self.applied += 1;
                info!(
                    "data plane ({}): {} virtual server(s) applied",
                    self.backend.name(),
                    plans.len()
                );
            }
            Err(e) => {
                self.failed += 1;
                error!("data plane ({}): {e}", self.backend.name());
            }
        }
    }

    /// Removes everything of Vigil's from the kernel (stop).
    pub fn stop(&mut self) {
        match self.backend.remove() {
            Ok(()) => info!("data plane ({}): removed", self.backend.name()),
            Err(e) => error!("data plane ({}): cannot remove: {e}", self.backend.name()),
        }
    }
}

#[cfg(test)]
mod host_backend_tests {
    use super::host_backend_for;

    #[test]
    fn every_host_gets_nftables_and_is_told_why() {
        let (name, why) = host_backend_for(false);
        assert_eq!(name, "nftables");
        assert!(why.contains("no IPVS"), "{why}");
        let (name, why) = host_backend_for(true);
        assert_eq!(name, "nftables");
        assert!(why.contains("IPVS backend is not built"), "{why}");
    }
}
