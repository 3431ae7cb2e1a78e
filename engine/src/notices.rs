//! What the engine tells the operator's log about the other routers on the link: the RFCs'
//! "SHOULD log the event (subject to rate-limiting)" rules, decided and rate-limited here so
//! that every runner logs the same lines at the same moments.
//!
//! - RFC 5798 / RFC 9568 section 7.1 and RFC 3768 section 7.1: a received advert that fails a
//!   check is discarded, and the receiver "SHOULD log the event (subject to rate-limiting)":
//!   [`Notice::AdvertDropped`].
//! - RFC 9568 section 7.1: "A receiver SHOULD also verify that the Max Advertise Interval in the
//!   received VRRP packet matches the Advertisement_Interval configured for the VRID ... If this
//!   check fails, the receiver SHOULD log the event": [`Notice::IntervalDiffers`] (VRRPv3; a
//!   VRRPv2 advert with another interval is discarded, RFC 3768 section 7.1, and is logged as a
//!   drop).
//! - RFC 9568 section 8.3.2: "If multiple VRRP Routers advertising priority 255 are detected,
//!   the condition SHOULD be logged (subject to rate-limiting)"; and section 7.1 (erratum 8298):
//!   the address owner logs an advert it receives: [`Notice::OwnerConflict`].
//!
//! - RFC 5798 / RFC 3768 section 7.1: an address list other than ours "SHOULD log the event";
//!   the owner's adverts are kept whatever their list: [`Notice::OwnerAddressListDiffers`].
//!
//! - The runner's receive queue lost adverts (its socket buffer was full): the operator must
//!   know, because the engine then defers takeovers by up to one interval (`backlog.rs`):
//!   [`Notice::ReceiveQueueDropped`], rate-limited per interface like the others.
//!
//! Rate limiting: at most one notice of each kind per instance (and one router-wide, for drops
//! that reach no instance) per [`NOTICE_WINDOW`]; the first one goes out at once, and the next
//! one carries how many were held back. The state is a few fixed fields per instance: a flood
//! of bad packets from many sources allocates nothing and logs one line a minute. A reload
//! starts the windows afresh.

use core::time::Duration;
use std::net::IpAddr;

use crate::io::{DropReason, IfaceId, InstanceId};
use crate::time::Instant;

/// The shortest time between two notices of one kind for one instance.
pub const NOTICE_WINDOW: Duration = Duration::from_secs(60);

/// A line for the operator's log (WARNING level: each says another router is misconfigured or
/// misbehaving), already rate-limited.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A received advert failed a receive check and was discarded (it is counted too).
    AdvertDropped {
        /// The interface it arrived on.
        iface: IfaceId,
        /// The instance it reached (None: no instance has its VRID / family on the interface).
        instance: Option<InstanceId>,
        /// Its IP source.
        src: IpAddr,
        /// The check it failed.
        rule: DropReason,
        /// Adverts dropped since the previous notice of this kind that were not reported one by
        /// one.
        held_back: u64,
    },
    /// A VRRPv3 advert accepted from `src` carries an interval other than our configured
    /// Advertisement_Interval (a BACKUP follows the master's, RFC 5798 section 6.4.2; the
    /// routers disagree on their configuration).
    IntervalDiffers {
        /// The instance.
        instance: InstanceId,
        /// The sender.
        src: IpAddr,
        /// The interval it advertises.
        theirs: Duration,
        /// Ours.
        ours: Duration,
        /// Such adverts since the previous notice that were not reported one by one.
        held_back: u64,
    },
    /// The address owner (priority 255) advertises an address list other than ours: its
    /// adverts are kept (RFC 5798 section 7.1: an owner's advert is not dropped for its list)
    /// and counted in `address_list_errors`; this says so in the log. Other routers' adverts
    /// with another list are dropped and logged as [`Notice::AdvertDropped`].
    OwnerAddressListDiffers {
        /// The instance.
        instance: InstanceId,
        /// The owner.
        src: IpAddr,
        /// Such adverts since the previous notice that were not reported one by one.
        held_back: u64,
    },
    /// Two routers claim to own the virtual router's addresses (priority 255): we are the owner
    /// and heard `src` advertise 255, or we heard 255 from `src` and from `other` within one
    /// Master_Down_Interval.
    OwnerConflict {
        /// The instance.
        instance: InstanceId,
        /// The router that advertised priority 255.
        src: IpAddr,
        /// The other owner: None when it is this router.
        other: Option<IpAddr>,
        /// Such adverts since the previous notice that were not reported one by one.
        held_back: u64,
    },
    /// A peer's VRRPv3-over-IPv4 adverts carry the checksum without the IPv4 pseudo-header
    /// (FRR's `no vrrp N checksum-with-ipv4-pseudoheader`, some vendors): accepted and counted
    /// per peer (`plain_checksum_received`, [`crate::stats::PeerChecksum`]). Said once per peer,
    /// when its first such advert is accepted: keepalived 2.2.7 and FRR's default drop them, so
    /// the operator should know the link mixes both forms.
    PeerChecksumForm {
        /// The instance.
        instance: InstanceId,
        /// The peer.
        src: IpAddr,
        /// The form it uses.
        form: crate::wire::ChecksumForm,
    },
    /// A unicast peer's VRRPv3/IPv4 adverts check only with keepalived 1.3.6's old checksum
    /// (the multicast group in the pseudo-header): accepted, and this instance sends that form
    /// from now on, as keepalived does ("Setting unicast VRRPv3 checksum to old version").
    /// `old_unicast_checksum never` turns the detection off.
    OldUnicastChecksum {
        /// The instance.
        instance: InstanceId,
        /// The peer.
        src: IpAddr,
    },
    /// The runner's receive queue of an interface lost adverts (a full socket buffer): counted
    /// in `receive_queue_drops`; Master_Down_Timers due meanwhile wait one more advert
    /// interval (`backlog.rs`).
    ReceiveQueueDropped {
        /// The interface.
        iface: IfaceId,
        /// Adverts lost in the report that raised this notice.
        lost: u32,
        /// Reports of losses since the previous notice that were not reported one by one.
        held_back: u64,
    },
}

/// One rate limiter: lets a notice through at most once per [`NOTICE_WINDOW`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Gate {
    last: Option<Instant>,
    held_back: u64,
}

impl Gate {
    /// An event at `now`: `Some(events held back since the last notice)` when a notice may go
    /// out, else `None` (and this one is held back).
    pub(crate) fn pass(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now < t.saturating_add(NOTICE_WINDOW) => {
                self.held_back = self.held_back.saturating_add(1);
                None
            }
            _ => {
                self.last = Some(now);
                Some(core::mem::take(&mut self.held_back))
            }
        }
    }
}

/// The notice state of one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct InstanceNotices {
    pub dropped: Gate,
    pub interval: Gate,
    pub owner: Gate,
    pub address_list: Gate,
    /// The last router heard advertising priority 255, and when.
    pub last_owner: Option<(IpAddr, Instant)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_lets_one_through_per_window_and_counts_the_rest() {
        let mut g = Gate::default();
        let t = Instant::from_millis(1_000);
        assert_eq!(g.pass(t), Some(0));
        for k in 1..=5 {
            assert_eq!(g.pass(t + Duration::from_secs(k)), None);
        }
        assert_eq!(g.pass(t + (NOTICE_WINDOW - Duration::from_nanos(1))), None);
        assert_eq!(g.pass(t + NOTICE_WINDOW), Some(6));
        assert_eq!(g.pass(t + NOTICE_WINDOW + Duration::from_secs(1)), None);
    }
}
