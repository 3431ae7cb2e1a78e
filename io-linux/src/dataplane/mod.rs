//! The load-balancer data plane: makes the kernel serve each virtual server with the real
//! servers and weights that the checker engine decided ([`CheckAction::SetServer`]).
//!
//! One interface, [`DataPlane`], takes the engine's table changes; a [`Backend`] applies them.
//! The decisions (which `lb_algo`, `lb_kind` and persistence settings each backend can honour,
//! how weights become buckets) are the engine's ([`vigil_engine::dataplane`]); a backend only
//! renders them for its kernel interface. Backends ([`host_backend`] chooses, as keepalived:
//! IPVS where the kernel has it):
//!
//! * IPVS over generic netlink (`ipvs.rs`, `ipvs/kernel.rs`), for kernels with `CONFIG_IP_VS`:
//!   unit-tested only, never run against a kernel (docs/DATAPLANE.md);
//! * nftables (`nftables.rs`): live-tested; the one this development machine gets.
//!
//! The runner records each change with [`DataPlane::set_server`] and calls
//! [`DataPlane::commit`] once the engine's actions of an event are drained: every virtual
//! server that changed is applied at once. The first commit (start) and [`DataPlane::rebuild`]
//! (reload) rebuild the whole table from the engine's state; [`DataPlane::stop`] removes it.
//!
//! [`CheckAction::SetServer`]: vigil_engine::checker::CheckAction::SetServer

pub mod ipvs;
pub mod nftables;
#[allow(unsafe_code)] // recv(2) of the nftables change notifications on a netlink socket
pub mod watch;

use std::collections::BTreeSet;
use std::io;

use tracing::{error, info, warn};
use vigil_engine::checker::{Server, TableChange, VsId};
use vigil_engine::conf::{self, VirtualServer};
use vigil_engine::dataplane::lvs::{self, LvsAction};
use vigil_engine::dataplane::{self as plan, ServiceTable};

/// Which data plane this host gets, and why (`vigild -t` and the start-up log say it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostBackend {
    /// The backend.
    pub kind: plan::Backend,
    /// Why, in a sentence.
    pub why: String,
}

impl HostBackend {
    /// Its name in messages.
    pub fn name(&self) -> &'static str {
        backend_name(self.kind)
    }
}

/// Why the nftables data plane cannot stand in for IPVS with this configuration: the first
/// virtual server it cannot apply, with the reason.
fn nftables_fallback_refusal(cfg: &conf::Config) -> Option<String> {
    cfg.checkers.virtual_servers.iter().find_map(|vs| {
        plan::refusal(vs).map(|why| {
            format!(
                "the nftables data plane cannot apply virtual_server {} ({}): {why}",
                vs.key, vs.loc
            )
        })
    })
}

/// A backend's name in messages.
pub fn backend_name(kind: plan::Backend) -> &'static str {
    match kind {
        plan::Backend::Nftables => "nftables",
        plan::Backend::Ipvs => "IPVS",
        plan::Backend::NotApplied => "none",
    }
}

/// What the host's kernel says about IPVS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsProbe {
    /// The `IPVS` generic netlink family resolved (its id), or why not.
    pub family: Result<u16, String>,
    /// `/proc/net/ip_vs` exists (the module is loaded).
    pub proc_entry: bool,
    /// `ip_vs.ko` is listed in `/lib/modules/$(uname -r)/modules.dep` (modprobe could load it).
    pub module_available: bool,
}

/// Looks at the host's kernel (reads only: `vigild -t` loads no module).
pub fn probe_ipvs() -> IpvsProbe {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let module_available = !release.is_empty()
        && std::fs::read_to_string(format!("/lib/modules/{release}/modules.dep"))
            .is_ok_and(|d| d.lines().any(|l| l.contains("/ip_vs.ko")));
    IpvsProbe {
        family: ipvs::kernel::resolve_family(),
        proc_entry: std::path::Path::new("/proc/net/ip_vs").exists(),
        module_available,
    }
}

/// The host's data plane: IPVS where the kernel has it or can load it (as keepalived, which
/// loads `ip_vs` with modprobe when the family does not resolve), else nftables.
pub fn host_backend() -> HostBackend {
    host_backend_for(&probe_ipvs())
}

/// [`host_backend`] for what a probe found.
pub fn host_backend_for(p: &IpvsProbe) -> HostBackend {
    let ipvs = |why: String| {
        HostBackend {
        kind: plan::Backend::Ipvs,
        why: format!("{why} (Vigil's IPVS backend is unit-tested only, never run against a kernel: docs/DATAPLANE.md)"),
    }
    };
    match &p.family {
        Ok(id) => ipvs(format!(
            "this kernel has IPVS (the generic netlink family IPVS resolves, id {id}), which keepalived would drive"
        )),
        Err(_) if p.proc_entry => ipvs(
            "this kernel has IPVS (/proc/net/ip_vs exists), which keepalived would drive".into(),
        ),
        Err(_) if p.module_available => ipvs(
            "this kernel can load IPVS (ip_vs.ko is in modules.dep): vigild runs `modprobe ip_vs` at start, as keepalived".into(),
        ),
        Err(e) => HostBackend {
            kind: plan::Backend::Nftables,
            why: format!(
                "this kernel has no IPVS ({e}; /proc/net/ip_vs is absent; no ip_vs module to load): lb_kind NAT only"
            ),
        },
    }
}

/// One virtual server as a backend gets it: its configuration and the engine's table.
pub struct Service<'a> {
    /// Its index among the configuration's virtual servers (the nftables chain's name).
    pub index: u32,
    /// The configuration.
    pub vs: &'a VirtualServer,
    /// The real servers (and sorry server) in its table, with their weights.
    pub table: &'a ServiceTable,
}

/// The services `backend` applies among `which` (those it refuses are skipped).
fn services<'a>(
    backend: &dyn Backend,
    vss: &'a [VirtualServer],
    tables: &'a [ServiceTable],
    which: impl Iterator<Item = usize>,
) -> Vec<Service<'a>> {
    which
        .filter(|v| backend.refusal(&vss[*v]).is_none())
        .filter_map(|v| {
            Some(Service {
                index: v as u32,
                vs: vss.get(v)?,
                table: tables.get(v)?,
            })
        })
        .collect()
}

/// A kernel interface that applies the engine's tables.
pub trait Backend {
    /// Its name in logs.
    fn name(&self) -> &'static str;
    /// Why it cannot apply this virtual server, if it cannot (such a virtual server is skipped).
    fn refusal(&self, vs: &VirtualServer) -> Option<String>;
    /// Replace everything of Vigil's with these services (one transaction where the kernel
    /// interface has them: nftables does, IPVS does not).
    fn rebuild(&mut self, services: &[Service<'_>]) -> Result<(), String>;
    /// Apply these services' tables.
    fn update(&mut self, services: &[Service<'_>]) -> Result<(), String>;
    /// Remove everything of Vigil's.
    fn remove(&mut self) -> Result<(), String>;
    /// Whether what is in the kernel is still what the last rebuild and updates put there
    /// for these services (someone else may have flushed or deleted it).
    fn intact(&mut self, services: &[Service<'_>]) -> Result<bool, String>;
    /// Whether it applies the engine's IPVS-wide actions (`lvs_flush`, `lvs_flush_on_stop`,
    /// `lvs_timeouts`, `lvs_sync_daemon`): IPVS does; nftables has no such thing (the parser
    /// noted each keyword) and removes its own table at stop whatever they say.
    fn applies_lvs(&self) -> bool {
        false
    }
    /// Sends one IPVS-wide action (only called when [`Backend::applies_lvs`]).
    fn lvs(&mut self, _action: &LvsAction) -> Result<(), String> {
        Ok(())
    }
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
    /// The IPVS-wide settings (`lvs_flush`, `lvs_timeouts`, ...) of the configuration.
    lvs: conf::LvsGlobals,
    /// The start's IPVS-wide actions were sent (before the first rebuild).
    lvs_started: bool,
}

impl DataPlane {
    /// The data plane of `cfg`'s virtual servers, on the host's backend. The configuration was
    /// checked against that backend (a refusal is a configuration error); when the host was
    /// judged IPVS but IPVS cannot be opened at start, vigild falls back to nftables only if
    /// nftables can apply every virtual server, else it is an error (keepalived stops its
    /// checker process when it cannot initialise IPVS).
    pub fn new(cfg: &conf::Config) -> io::Result<DataPlane> {
        if cfg.checkers.virtual_servers.is_empty() {
            return Ok(Self::with_backend(cfg, Box::new(nftables::Nft::default())));
        }
        let host = host_backend();
        info!("data plane: {}: {}", host.name(), host.why);
        let backend: Box<dyn Backend> = match host.kind {
            plan::Backend::Ipvs => match ipvs::kernel::Ipvs::open() {
                Ok(b) => Box::new(b),
                Err(e) => {
                    if let Some(why) = nftables_fallback_refusal(cfg) {
                        return Err(io::Error::other(format!(
                            "IPVS cannot be used ({e}), and {why}"
                        )));
                    }
                    error!("data plane: IPVS cannot be used ({e}): the nftables data plane applies every virtual server (lb_kind NAT)");
                    Box::new(nftables::Nft::default())
                }
            },
            // host_backend() names a kernel interface, never NotApplied.
            plan::Backend::Nftables | plan::Backend::NotApplied => {
                Box::new(nftables::Nft::default())
            }
        };
        Ok(Self::with_backend(cfg, backend))
    }

    /// The same on a given backend.
    pub fn with_backend(cfg: &conf::Config, backend: Box<dyn Backend>) -> DataPlane {
        let vss = cfg.checkers.virtual_servers.clone();
        for vs in &vss {
            if let Some(why) = backend.refusal(vs) {
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
            lvs: cfg.global.checker.lvs.clone(),
            lvs_started: false,
        }
    }

    /// Sends the engine's IPVS-wide actions when the backend applies them (errors are logged:
    /// keepalived logs them and carries on too).
    fn send_lvs(&mut self, actions: Vec<LvsAction>) {
        if !self.backend.applies_lvs() {
            return;
        }
        for a in actions {
            if let Err(e) = self.backend.lvs(&a) {
                self.failed += 1;
                error!("data plane ({}): {e}", self.backend.name());
            }
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
        let services = services(&*self.backend, &self.vss, &self.tables, 0..self.vss.len());
        let intact = self.backend.intact(&services);
        match intact {
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
        let services = services(&*self.backend, &self.vss, &self.tables, dirty.into_iter());
        if services.is_empty() {
            return;
        }
        let updated = self.backend.update(&services);
        match updated {
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
        let reload = lvs::checker_reload(&self.lvs, &cfg.global.checker.lvs);
        self.lvs = cfg.global.checker.lvs.clone();
        self.send_lvs(reload);
        self.vss = cfg.checkers.virtual_servers.clone();
        for vs in &self.vss {
            if let Some(why) = self.backend.refusal(vs) {
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

    /// Rebuilds the whole table from the engine's state (start, reload). The first one sends
    /// the start's IPVS-wide actions before (timeouts, the checker's sync daemons,
    /// `lvs_flush`).
    pub fn rebuild(&mut self) {
        if !self.lvs_started {
            self.lvs_started = true;
            let start = lvs::checker_start(&self.lvs);
            self.send_lvs(start);
        }
        self.dirty.clear();
        let services = services(&*self.backend, &self.vss, &self.tables, 0..self.vss.len());
        let n = services.len();
        let rebuilt = self.backend.rebuild(&services);
        match rebuilt {
            Ok(()) => {
                self.built = true;
                self.applied += 1;
                info!(
                    "data plane ({}): {n} virtual server(s) applied",
                    self.backend.name(),
                );
            }
            Err(e) => {
                self.failed += 1;
                error!("data plane ({}): {e}", self.backend.name());
            }
        }
    }

    /// Removes everything of Vigil's from the kernel (stop). On IPVS, as `lvs_flush_on_stop`
    /// says (each destination then its service; each service; or `IPVS_CMD_FLUSH`), then the
    /// checker's sync daemons stopped and the kernel's timeouts put back.
    pub fn stop(&mut self) {
        if self.backend.applies_lvs() {
            let stop = lvs::checker_stop(&self.lvs);
            let failed = self.failed;
            self.send_lvs(stop);
            if self.failed == failed {
                info!("data plane ({}): removed", self.backend.name());
            }
            return;
        }
        match self.backend.remove() {
            Ok(()) => info!("data plane ({}): removed", self.backend.name()),
            Err(e) => error!("data plane ({}): cannot remove: {e}", self.backend.name()),
        }
    }
}

#[cfg(test)]
mod lvs_sequence_tests;

#[cfg(test)]
mod fallback_tests {
    use super::nftables_fallback_refusal;
    use vigil_engine::conf;

    /// IPVS judged present but not openable at start: nftables stands in only for what it can
    /// apply (NAT); a DR service makes the start fail, with its location and reason.
    #[test]
    fn nftables_stands_in_for_ipvs_only_when_it_can_apply_everything() {
        let nat = "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_kind NAT\n real_server 198.51.100.11 80 { }\n}\n";
        let cfg = conf::parse_str(nat).expect("parses");
        assert_eq!(nftables_fallback_refusal(&cfg), None);
        let dr = nat.replace("lb_kind NAT", "lb_kind DR");
        // Parsed as on an IPVS host (no data-plane check), as the daemon's load would.
        let opts = conf::ParseOptions {
            data_plane: vigil_engine::dataplane::Backend::Ipvs,
            ..Default::default()
        };
        let cfg = conf::parse_text("k.conf", &dr, &conf::MemoryLoader::new(), &opts)
            .expect("IPVS applies DR");
        let why = nftables_fallback_refusal(&cfg).expect("nftables cannot apply DR");
        assert!(
            why.contains("virtual_server 192.0.2.10:80 (k.conf:1:1)") && why.contains("lb_kind DR"),
            "{why}"
        );
    }
}

#[cfg(test)]
mod host_backend_tests {
    use super::{host_backend_for, probe_ipvs, IpvsProbe};
    use vigil_engine::dataplane::Backend;

    fn probe(family: Result<u16, String>, proc_entry: bool, module: bool) -> IpvsProbe {
        IpvsProbe {
            family,
            proc_entry,
            module_available: module,
        }
    }

    #[test]
    fn ipvs_where_the_kernel_has_it_else_nftables_and_why() {
        let none = || Err("no such family".to_string());
        let h = host_backend_for(&probe(Ok(30), false, false));
        assert_eq!(h.kind, Backend::Ipvs);
        assert!(h.why.contains("resolves, id 30"), "{}", h.why);
        assert!(h.why.contains("never run against a kernel"), "{}", h.why);
        let h = host_backend_for(&probe(none(), true, false));
        assert_eq!(h.kind, Backend::Ipvs);
        assert!(h.why.contains("/proc/net/ip_vs exists"), "{}", h.why);
        let h = host_backend_for(&probe(none(), false, true));
        assert_eq!(h.kind, Backend::Ipvs);
        assert!(h.why.contains("modprobe ip_vs"), "{}", h.why);
        let h = host_backend_for(&probe(none(), false, false));
        assert_eq!(h.kind, Backend::Nftables);
        assert!(h.why.contains("no IPVS (no such family"), "{}", h.why);
    }

    /// Live, on this host's kernel: this machine's has no IPVS (CONFIG_IP_VS is not set), so
    /// the family lookup fails cleanly (an error, no hang) and the host gets nftables. On a
    /// kernel with IPVS the test says so rather than pass for the wrong reason.
    #[test]
    fn this_kernel_family_lookup() {
        let p = probe_ipvs();
        match &p.family {
            Err(e) => {
                assert!(e.contains("does not resolve"), "{e}");
                if !p.proc_entry && !p.module_available {
                    assert_eq!(host_backend_for(&p).kind, Backend::Nftables);
                }
            }
            Ok(id) => panic!(
                "this kernel resolves the IPVS family (id {id}): the test expects the development machine's kernel without IPVS; the IPVS backend is not live-tested"
            ),
        }
    }
}
