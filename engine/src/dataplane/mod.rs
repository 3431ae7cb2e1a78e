//! # The load-balancer data plane's decisions (pure)
//!
//! The checker engine ([`crate::checker`]) decides which real servers of a virtual server are
//! in its table and with what weight ([`CheckAction::SetServer`](crate::checker::CheckAction)).
//! This module decides what the kernel must do with that table when the data plane is
//! nftables (issue 17): which of keepalived.conf(5)'s settings can be honoured, which are
//! mapped to the nearest thing nftables can do (with the reason), which make the virtual
//! server impossible to apply (with the reason), and, for a table, the [`ServicePlan`]: how a
//! new connection picks its server (`numgen` or `jhash` over weighted buckets) and where it is
//! sent (DNAT). io-linux renders a plan as nftables rules; it decides nothing.
//!
//! One file per rule family:
//!
//! * `sched.rs`: `lb_algo` (IPVS schedulers) to nftables selectors, weights to buckets;
//! * `support.rs`: `lb_kind`, persistence, groups and the other virtual-server settings: what
//!   the nftables data plane honours, maps or refuses;
//! * `lvs.rs`: the IPVS-wide settings (`lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`,
//!   `lvs_sync_daemon`): what the IPVS data plane sends at start, reload and stop, and the
//!   sync daemon that follows a VRRP instance;
//! * this file: the table the data plane keeps and the plan built from it.

mod ipvs;
pub mod lvs;
mod sched;
mod support;

pub use ipvs::{group_range_len, ipvs_notes, ipvs_refusal, ipvs_refused};
pub use sched::{buckets, Scheduling, Selector, MAX_BUCKETS};
pub use support::{nftables_notes, refusal, refused};

/// The words of every data-plane refusal error (`conf`), after the backend's name: runners
/// find them to say which backend the host has and why.
pub const CANNOT_APPLY: &str = "data plane of this host cannot apply it";

/// Which kernel interface applies the virtual servers on a host (io-linux decides it from
/// the kernel: IPVS where the kernel has it, as keepalived, else nftables); the notes and
/// refusals that `vigild -t` prints depend on it. A refusal is a configuration error
/// (`conf`): the daemon does not start, and a reload keeps the running configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// Vigil's nftables table (NAT only; `support.rs`).
    Nftables,
    /// IPVS over generic netlink (`ipvs.rs`).
    Ipvs,
    /// No data plane: the configuration is read, not applied. `vigild -d` prints what it
    /// parsed whatever the host can apply (as keepalived's `-d`); library callers that only
    /// read a file get this by default. No notes, no refusals: a runner that applies the
    /// configuration names the host's backend.
    #[default]
    NotApplied,
}

impl Backend {
    /// The notes for this virtual server on this backend.
    pub fn notes(self, vs: &VirtualServer) -> Vec<String> {
        match self {
            Backend::Nftables => nftables_notes(vs),
            Backend::Ipvs => ipvs_notes(vs),
            Backend::NotApplied => Vec::new(),
        }
    }

    /// Why this backend cannot apply the virtual server, if it cannot.
    pub fn refusal(self, vs: &VirtualServer) -> Option<String> {
        self.refused(vs).map(|(_, why)| why)
    }

    /// [`Backend::refusal`], with the line of the configuration it is reported at.
    pub fn refused(self, vs: &VirtualServer) -> Option<(&Location, String)> {
        match self {
            Backend::Nftables => refused(vs),
            Backend::Ipvs => ipvs_refused(vs),
            Backend::NotApplied => None,
        }
    }

    /// The backend's name in diagnostics.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Nftables => "nftables",
            Backend::Ipvs => "IPVS",
            Backend::NotApplied => "no",
        }
    }
}

use std::net::IpAddr;

use crate::checker::{Server, TableChange};
use crate::conf::{Family, Granularity, Location, Protocol, ServiceKey, VirtualServer};

/// What a virtual server's table holds, as the checker engine announced it: `Some(weight)` for
/// a server in the table (weight 0: inhibited, no new connections), `None` for one out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceTable {
    /// The real servers, by their index in the virtual server.
    pub reals: Vec<Option<u32>>,
    /// The sorry server.
    pub sorry: Option<u32>,
}

impl ServiceTable {
    /// An empty table for a virtual server of `n` real servers.
    pub fn new(n: usize) -> ServiceTable {
        ServiceTable {
            reals: vec![None; n],
            sorry: None,
        }
    }

    /// Applies one of the checker engine's table changes. A real server index out of range
    /// is ignored (the engine never sends one).
    pub fn apply(&mut self, server: Server, change: TableChange) {
        let slot = match server {
            Server::Real(r) => match self.reals.get_mut(r as usize) {
                Some(s) => s,
                None => return,
            },
            Server::Sorry => &mut self.sorry,
        };
        *slot = match change {
            TableChange::Add(w) | TableChange::Weight(w) => Some(w),
            TableChange::Remove => None,
        };
    }
}

/// Which packets a virtual server takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Match {
    /// `virtual_server IP PORT`: destination address, transport protocol and port (port 0:
    /// any port, keepalived's "all ports" service, which needs persistence).
    Addr {
        /// The virtual address.
        addr: IpAddr,
        /// The transport protocol.
        protocol: Protocol,
        /// The port, 0 for any.
        port: u16,
    },
    /// A `virtual_server_group` range entry (`192.0.2.10-20 80`, `192.0.2.8/30 80`):
    /// destination addresses `first..=last`, the transport protocol and port.
    Range {
        /// The first address.
        first: IpAddr,
        /// The last address (inclusive).
        last: IpAddr,
        /// The transport protocol.
        protocol: Protocol,
        /// The port, 0 for any.
        port: u16,
    },
    /// `virtual_server fwmark N` (or a group's `fwmark N` entry): packets whose mark is N
    /// (set by the operator's own rule in an earlier hook, as for IPVS).
    Fwmark(u32),
}

/// Which packets a virtual server takes: one [`Match`] for `IP PORT` and `fwmark N`; for
/// `group NAME`, one per entry of the group in its order (address entries, then fwmark
/// entries, as keepalived's `ipvs_group_cmd` walks them), a repeated entry once (keepalived's
/// second `IP_VS_SO_SET_ADD` of it fails with EEXIST, which it ignores).
pub fn matches_of(vs: &VirtualServer) -> Vec<Match> {
    let protocol = vs.protocol.unwrap_or(Protocol::Tcp);
    let mut out: Vec<Match> = Vec::new();
    // The entries taken so far: `out.contains` per entry was quadratic in the group's size
    // (40,000 entries took 1.3 s to check).
    let mut seen: crate::conf::fast_hash::FastSet<Match> = Default::default();
    let mut push = |m: Match| {
        if seen.insert(m.clone()) {
            out.push(m);
        }
    };
    match (&vs.key, &vs.group) {
        (ServiceKey::Addr { addr, port }, _) => push(Match::Addr {
            addr: *addr,
            protocol,
            port: *port,
        }),
        (ServiceKey::Fwmark(m), _) => push(Match::Fwmark(*m)),
        (ServiceKey::Group(_), Some(g)) => {
            for r in &g.ranges {
                push(if r.first == r.last {
                    Match::Addr {
                        addr: r.first,
                        protocol,
                        port: r.port,
                    }
                } else {
                    Match::Range {
                        first: r.first,
                        last: r.last,
                        protocol,
                        port: r.port,
                    }
                });
            }
            for (m, _) in &g.fwmarks {
                push(Match::Fwmark(*m));
            }
        }
        // A group the parser did not resolve has no entries (the parser ignores such a
        // virtual server, as keepalived).
        (ServiceKey::Group(_), None) => {}
    }
    out
}

/// One bucket range of a service's selector: selector values `first..=last` go to `addr`,
/// `port` (0: keep the packet's destination port), the server `endpoint` of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The server's index in [`ServicePlan::endpoints`].
    pub endpoint: usize,
    /// First selector value.
    pub first: u32,
    /// Last selector value (inclusive).
    pub last: u32,
    /// The server's address.
    pub addr: IpAddr,
    /// The server's port (0: unchanged).
    pub port: u16,
}

/// One server a virtual server may send connections to (a real server or the sorry server),
/// whether or not it takes new connections now: persistence keeps per-server state
/// (`support.rs`), which exists for every configured server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Which server of the virtual server.
    pub server: Server,
    /// Its address.
    pub addr: IpAddr,
    /// Its port (0: keep the packet's destination port, as for fwmark services).
    pub port: u16,
    /// It has buckets: it takes new connections.
    pub live: bool,
}

/// `persistence_timeout` and `persistence_granularity` as the nftables data plane applies
/// them (`support.rs`): a timed set of clients per server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persistence {
    /// Seconds a client's entry lives after its last new connection.
    pub timeout: u32,
    /// The mask applied to the client's address before it is recorded (clients of one
    /// masked network share their server).
    pub mask: Option<Granularity>,
}

/// `nat_mask`: the real servers' networks whose own outgoing connections through the director
/// are masqueraded (the seed's ipchains `MASQ` rule, `-s RS/nat_mask`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Masquerade {
    /// The mask.
    pub mask: Granularity,
    /// Each real server's (and the sorry server's) address under the mask, without repeats.
    pub networks: Vec<IpAddr>,
}

/// `addr` under `mask` (a mask of the other family leaves it unchanged).
pub fn network_of(addr: IpAddr, mask: Granularity) -> IpAddr {
    match (addr, mask) {
        (IpAddr::V4(a), Granularity::V4(m)) => IpAddr::V4((u32::from(a) & u32::from(m)).into()),
        (IpAddr::V6(a), Granularity::V6(len)) => {
            let m = if len >= 128 {
                u128::MAX
            } else {
                !(u128::MAX >> len)
            };
            IpAddr::V6((u128::from(a) & m).into())
        }
        _ => addr,
    }
}

/// How the kernel must handle a virtual server's new connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePlan {
    /// The virtual server's index (its chain's name).
    pub index: u32,
    /// IPv4 or IPv6 (which table).
    pub family: Family,
    /// Which packets: one entry, or one per entry of a group (all sent to this one chain).
    pub matchers: Vec<Match>,
    /// How a new connection picks its bucket.
    pub selector: Selector,
    /// The selector's modulus (the number of buckets); 0 when no server takes connections.
    pub modulus: u32,
    /// Buckets in order; empty when no server takes new connections (then new connections
    /// are not translated and reach the director itself, which refuses them unless something
    /// listens on the virtual address).
    pub buckets: Vec<Bucket>,
    /// Every configured server, real servers in order then the sorry server.
    pub endpoints: Vec<Endpoint>,
    /// `persistence_timeout`: a client returns to its server within the timeout.
    pub persistence: Option<Persistence>,
    /// `nat_mask`: source NAT of the real servers' own connections.
    pub masquerade: Option<Masquerade>,
}

/// The plan for virtual server `index` with this table, or the reason the nftables data
/// plane cannot apply it ([`refusal`]).
pub fn plan(index: u32, vs: &VirtualServer, table: &ServiceTable) -> Result<ServicePlan, String> {
    if let Some(why) = refusal(vs) {
        return Err(why);
    }
    let matchers = matches_of(vs);
    if matchers.is_empty() {
        return Err(format!("virtual_server {}: no entries", vs.key));
    }
    let sched = Scheduling::of(vs);
    // A fwmark service may span protocols: its packets keep their destination port (see
    // support.rs; the note says so at `vigild -t`). A group with address entries applies the
    // real servers' ports to its fwmark entries too (for its protocol: one chain serves all).
    let keep_port = matchers.iter().all(|m| matches!(m, Match::Fwmark(_)));
    let port = |p: u16| if keep_port { 0 } else { p };
    let mut endpoints: Vec<Endpoint> = Vec::new();
    // (endpoint, weight) of the servers in the table.
    let mut servers: Vec<(usize, u32)> = Vec::new();
    for (r, rs) in vs.real_servers.iter().enumerate() {
        if let Some(Some(w)) = table.reals.get(r) {
            servers.push((endpoints.len(), *w));
        }
        endpoints.push(Endpoint {
            server: Server::Real(r as u32),
            addr: rs.addr,
            port: port(rs.port),
            live: false,
        });
    }
    if let Some(s) = &vs.sorry_server {
        if let Some(w) = table.sorry {
            servers.push((endpoints.len(), w));
        }
        endpoints.push(Endpoint {
            server: Server::Sorry,
            addr: s.addr,
            port: port(s.port),
            live: false,
        });
    }
    let weights: Vec<u32> = servers.iter().map(|s| s.1).collect();
    let ranges = buckets(&sched, &weights);
    let modulus = ranges
        .iter()
        .map(|(_, _, last)| last + 1)
        .max()
        .unwrap_or(0);
    let buckets: Vec<Bucket> = ranges
        .into_iter()
        .map(|(i, first, last)| {
            let e = &mut endpoints[servers[i].0];
            e.live = true;
            Bucket {
                endpoint: servers[i].0,
                first,
                last,
                addr: e.addr,
                port: e.port,
            }
        })
        .collect();
    let masquerade = vs.nat_mask.map(|mask| {
        let mut networks: Vec<IpAddr> = Vec::new();
        let mut seen: crate::conf::fast_hash::FastSet<IpAddr> = Default::default();
        for e in &endpoints {
            let n = network_of(e.addr, mask);
            if seen.insert(n) {
                networks.push(n);
            }
        }
        Masquerade { mask, networks }
    });
    Ok(ServicePlan {
        index,
        family: vs.family,
        matchers,
        selector: sched.selector,
        modulus,
        buckets,
        endpoints,
        persistence: vs.persistence_timeout.map(|timeout| Persistence {
            timeout,
            mask: vs.persistence_granularity,
        }),
        masquerade,
    })
}

#[cfg(test)]
mod tests;
