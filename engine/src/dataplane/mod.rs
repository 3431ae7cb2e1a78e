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
//! * this file: the table the data plane keeps and the plan built from it.

mod sched;
mod support;

pub use sched::{buckets, Scheduling, Selector, MAX_BUCKETS};
pub use support::{nftables_notes, refusal};

use std::net::IpAddr;

use crate::checker::{Server, TableChange};
use crate::conf::{Family, Protocol, ServiceKey, VirtualServer};

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
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// `virtual_server fwmark N`: packets whose mark is N (set by the operator's own rule in
    /// an earlier hook, as for IPVS).
    Fwmark(u32),
}

/// One bucket range of a service's selector: selector values `first..=last` go to `addr`,
/// `port` (0: keep the packet's destination port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// First selector value.
    pub first: u32,
    /// Last selector value (inclusive).
    pub last: u32,
    /// The server's address.
    pub addr: IpAddr,
    /// The server's port (0: unchanged).
    pub port: u16,
}

/// How the kernel must handle a virtual server's new connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePlan {
    /// The virtual server's index (its chain's name).
    pub index: u32,
    /// IPv4 or IPv6 (which table).
    pub family: Family,
    /// Which packets.
    pub matcher: Match,
    /// How a new connection picks its bucket.
    pub selector: Selector,
    /// The selector's modulus (the number of buckets); 0 when no server takes connections.
    pub modulus: u32,
    /// Buckets in order; empty when no server takes new connections (then new connections
    /// are not translated and reach the director itself, which refuses them unless something
    /// listens on the virtual address).
    pub buckets: Vec<Bucket>,
}

/// The plan for virtual server `index` with this table, or the reason the nftables data
/// plane cannot apply it ([`refusal`]).
pub fn plan(index: u32, vs: &VirtualServer, table: &ServiceTable) -> Result<ServicePlan, String> {
    if let Some(why) = refusal(vs) {
        return Err(why);
    }
    let matcher = match &vs.key {
        ServiceKey::Addr { addr, port } => Match::Addr {
            addr: *addr,
            protocol: vs.protocol.unwrap_or(Protocol::Tcp),
            port: *port,
        },
        ServiceKey::Fwmark(m) => Match::Fwmark(*m),
        // refusal() refuses groups.
        ServiceKey::Group(g) => return Err(format!("group {g}: not applied")),
    };
    let sched = Scheduling::of(vs);
    let mut servers: Vec<(IpAddr, u16, u32)> = Vec::new();
    for (r, w) in table.reals.iter().enumerate() {
        if let (Some(w), Some(rs)) = (w, vs.real_servers.get(r)) {
            servers.push((rs.addr, rs.port, *w));
        }
    }
    if let (Some(w), Some(s)) = (table.sorry, &vs.sorry_server) {
        servers.push((s.addr, s.port, w));
    }
    let weights: Vec<u32> = servers.iter().map(|s| s.2).collect();
    let ranges = buckets(&sched, &weights);
    let modulus = ranges
        .iter()
        .map(|(_, _, last)| last + 1)
        .max()
        .unwrap_or(0);
    // A fwmark service may span protocols: its packets keep their destination port (see
    // support.rs; the note says so at `vigild -t`).
    let keep_port = matches!(matcher, Match::Fwmark(_));
    let buckets = ranges
        .into_iter()
        .map(|(i, first, last)| Bucket {
            first,
            last,
            addr: servers[i].0,
            port: if keep_port { 0 } else { servers[i].1 },
        })
        .collect();
    Ok(ServicePlan {
        index,
        family: vs.family,
        matcher,
        selector: sched.selector,
        modulus,
        buckets,
    })
}

#[cfg(test)]
mod tests;
