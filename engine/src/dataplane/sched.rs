//! `lb_algo` (keepalived.conf(5) "lb_algo|lvs_sched rr|wrr|lc|wlc|lblc|sh|mh|dh|fo|ovf|lblcr|
//! sed|nq|twos"; the schedulers of ipvsadm(8)) on nftables.
//!
//! nftables picks a server for a new connection with an expression whose value indexes a map
//! of buckets: `numgen inc mod N` (a counter: round robin), `numgen random mod N`, or
//! `jhash EXPR mod N` (a hash of the source or destination address: the same client, or the
//! same destination, always lands in the same bucket while the table is unchanged). A server
//! of weight w owns w buckets, so weighted schedulers get their spread from the bucket count.
//! nftables keeps no per-server connection counts, so the schedulers that need them cannot be
//! built; each is mapped to the nearest scheduler that can, and [`Scheduling::note`] says
//! which and why (`vigild -t` prints it):
//!
//! | lb_algo | nftables | exact? |
//! |---------|----------|--------|
//! | rr | `numgen inc`, one bucket per server of weight > 0 | yes (IPVS rr ignores weights but skips weight 0) |
//! | wrr | `numgen inc`, w buckets per server (contiguous, not interleaved as IPVS does) | same proportions over every sum-of-weights connections |
//! | sh | `jhash` of the source address (and port with `sh-port`), w buckets per server | yes up to the hash function |
//! | dh | `jhash` of the destination address, one bucket per server | yes up to the hash function |
//! | fo | everything to the server of highest weight (the first of equals) | yes |
//! | lc, wlc, sed, nq | mapped: rr (lc) / wrr (the others) | no: they count active connections |
//! | lblc, lblcr | mapped: dh | no: locality with connection counts |
//! | ovf | mapped: fo | no: overflow needs connection counts |
//! | mh | mapped: sh, weighted (with the source port for `mh-port`) | no: not Maglev's minimal disruption on a change |
//! | twos | mapped: `numgen random`, weighted | no: not a choice of the less loaded of two |
//!
//! With `persistence_timeout` the scheduler picks a new client's server and the client's
//! later connections follow its timed entry: see `support.rs`.

use crate::conf::{LbAlgo, VirtualServer};

/// The most buckets a service gets: weights whose sum exceeds it are scaled down (each server
/// keeps at least one bucket, so a service never has fewer buckets than live servers).
pub const MAX_BUCKETS: u32 = 4096;

/// The expression whose value picks a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `numgen inc`: a counter, one step per new connection.
    Counter,
    /// `numgen random`.
    Random,
    /// `jhash` of the source address, plus its port with `port`.
    SourceHash {
        /// Hash the source port too (`sh-port`).
        port: bool,
    },
    /// `jhash` of the destination address.
    DestHash,
}

/// How a virtual server's `lb_algo` (and persistence) is carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduling {
    /// The selector.
    pub selector: Selector,
    /// Servers get buckets in proportion to their weights (else one each).
    pub weighted: bool,
    /// Only the server of highest weight takes connections (fo).
    pub failover: bool,
    /// When the scheduler is mapped to another: what it became and why.
    pub note: Option<String>,
}

impl Scheduling {
    /// The scheduling of a virtual server.
    pub fn of(vs: &VirtualServer) -> Scheduling {
        // With persistence the scheduler still picks a new client's first server, as in
        // IPVS; the client's later connections follow its entry (support.rs).
        // `flag-2` is IPVS's IP_VS_SVC_F_SCHED2, which sh and mh read as their port flag.
        let f = &vs.sched_flags;
        let port = match vs.lb_algo {
            LbAlgo::Sh => f.sh_port || f.flag2,
            LbAlgo::Mh => f.mh_port || f.flag2,
            _ => false,
        };
        Self::of_algo(vs.lb_algo, port)
    }

    /// The scheduling of an `lb_algo` (`sh_port`: hash the source port too, the `sh-port` or
    /// `mh-port` flag of sh or mh).
    pub fn of_algo(algo: LbAlgo, sh_port: bool) -> Scheduling {
        let exact = |selector, weighted| Scheduling {
            selector,
            weighted,
            failover: false,
            note: None,
        };
        let mapped = |selector, weighted, failover, why: &str| Scheduling {
            selector,
            weighted,
            failover,
            note: Some(format!("lb_algo {}: {why}", algo.name())),
        };
        const COUNTS: &str = "needs per-server connection counts, which nftables does not keep";
        match algo {
            LbAlgo::Rr => exact(Selector::Counter, false),
            LbAlgo::Wrr => exact(Selector::Counter, true),
            LbAlgo::Sh => exact(
                Selector::SourceHash { port: sh_port },
                true,
            ),
            LbAlgo::Dh => exact(Selector::DestHash, false),
            LbAlgo::Fo => Scheduling {
                failover: true,
                ..exact(Selector::Counter, true)
            },
            LbAlgo::Lc => mapped(
                Selector::Counter,
                false,
                false,
                &format!("{COUNTS}: applied as rr"),
            ),
            LbAlgo::Wlc | LbAlgo::Sed | LbAlgo::Nq => mapped(
                Selector::Counter,
                true,
                false,
                &format!("{COUNTS}: applied as wrr"),
            ),
            LbAlgo::Lblc | LbAlgo::Lblcr => mapped(
                Selector::DestHash,
                false,
                false,
                &format!("{COUNTS}: applied as dh (same destination, same server)"),
            ),
            LbAlgo::Ovf => mapped(
                Selector::Counter,
                true,
                true,
                &format!("{COUNTS}: applied as fo (the highest weight takes everything)"),
            ),
            LbAlgo::Mh => mapped(
                Selector::SourceHash { port: sh_port },
                true,
                false,
                "Maglev hashing is not available in nftables: applied as sh (a change of the table can move more clients than Maglev would)",
            ),
            LbAlgo::Twos => mapped(
                Selector::Random,
                true,
                false,
                &format!("{COUNTS}: applied as a weighted random choice"),
            ),
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The buckets of servers with these table weights: `(server index, first, last)` ranges,
/// contiguous from 0, in server order. A server of weight 0 gets none (IPVS: weight 0 takes
/// no new connections, whatever the scheduler). Weights are divided by their greatest common
/// divisor, then scaled down to [`MAX_BUCKETS`] when their sum exceeds it (at least one
/// bucket per server).
pub fn buckets(sched: &Scheduling, weights: &[u32]) -> Vec<(usize, u32, u32)> {
    let live: Vec<(usize, u32)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| (i, *w))
        .collect();
    let shares: Vec<(usize, u32)> = if sched.failover {
        let best = live.iter().map(|(_, w)| *w).max();
        live.iter()
            .find(|(_, w)| Some(*w) == best)
            .map(|(i, _)| vec![(*i, 1)])
            .unwrap_or_default()
    } else if !sched.weighted {
        live.iter().map(|(i, _)| (*i, 1)).collect()
    } else {
        let g = live.iter().fold(0, |g, (_, w)| gcd(g, *w)).max(1);
        let reduced: Vec<(usize, u64)> = live.iter().map(|(i, w)| (*i, u64::from(w / g))).collect();
        let sum: u64 = reduced.iter().map(|(_, w)| w).sum();
        let cap = u64::from(MAX_BUCKETS);
        reduced
            .into_iter()
            .map(|(i, w)| {
                let w = if sum > cap { (w * cap / sum).max(1) } else { w };
                (i, u32::try_from(w).unwrap_or(MAX_BUCKETS))
            })
            .collect()
    };
    let mut out = Vec::with_capacity(shares.len());
    let mut next = 0u32;
    for (i, n) in shares {
        out.push((i, next, next + n - 1));
        next += n;
    }
    out
}
