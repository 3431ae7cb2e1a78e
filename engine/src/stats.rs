//! Counters, named after the RFC 6527 VRRPv3 MIB (and keepalived's stats file) so that operators
//! can read them next to what they know.

/// Per-instance statistics (RFC 6527 `vrrpv3StatisticsTable`, plus keepalived's extras).
///
/// Every dropped packet increments exactly one drop counter; the sum of the drop counters plus
/// [`InstanceStats::adverts_received`] is the number of packets that reached the instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InstanceStats {
    /// Times the instance became MASTER (`vrrpv3StatisticsMasterTransitions`).
    pub became_master: u64,
    /// Times the instance left MASTER (keepalived's "released master").
    pub released_master: u64,
    /// Valid adverts accepted (`vrrpv3StatisticsRcvdAdvertisements`).
    pub adverts_received: u64,
    /// Adverts sent (keepalived's "advert sent"), priority-0 adverts included.
    pub adverts_sent: u64,
    /// Valid adverts with priority 0 accepted (`vrrpv3StatisticsRcvdPriZeroPackets`).
    pub priority_zero_received: u64,
    /// Adverts with priority 0 sent (`vrrpv3StatisticsSentPriZeroPackets`).
    pub priority_zero_sent: u64,
    /// Drop: TTL / hop limit not 255 (RFC 5798 section 7.1, step 1;
    /// `vrrpv3StatisticsIpTtlErrors`).
    pub ip_ttl_errors: u64,
    /// Drop: version is not the configured one (step 2; `vrrpRouterVersionErrors`).
    pub version_errors: u64,
    /// Drop: too short for the header, the addresses or the auth data (step 3;
    /// `vrrpv3StatisticsPacketLengthErrors`).
    pub packet_length_errors: u64,
    /// Drop: type is not ADVERTISEMENT (`vrrpv3StatisticsRcvdInvalidTypePackets`).
    pub invalid_type_received: u64,
    /// Drop: checksum matches no accepted form (step 4; `vrrpRouterChecksumErrors`).
    pub checksum_errors: u64,
    /// Drop: this router owns the addresses (priority 255) and discards every advert (step 5).
    pub owner_discards: u64,
    /// Address list differs from ours (step 6; `vrrpv3StatisticsAddressListErrors`). Counted
    /// whether or not the packet was then dropped (an owner's advert is kept).
    pub address_list_errors: u64,
    /// Drop: address list differs and the sender is not the owner (step 6).
    pub address_list_drops: u64,
    /// Drop: address count of zero (no valid advert has none).
    pub address_count_zero: u64,
    /// Drop: v2 interval differs from ours, or an interval of zero
    /// (`vrrpv3StatisticsAdvIntervalErrors`).
    pub advert_interval_errors: u64,
    /// Drop: v2 auth type is neither 0 nor 1 (RFC 2787 `vrrpStatsInvalidAuthType`).
    pub invalid_auth_type: u64,
    /// Drop: v2 auth type differs from ours (RFC 2787 `vrrpStatsAuthTypeMismatch`).
    pub auth_type_mismatch: u64,
    /// Drop: v2 password differs from ours (RFC 2787 `vrrpStatsAuthFailures`).
    pub auth_failures: u64,
    /// Drop: with `check_unicast_src`, the source is not one of the unicast peers.
    pub unicast_source_errors: u64,
    /// Adverts accepted that carried bytes after their declared content (not a drop).
    pub trailing_bytes: u64,
}

impl InstanceStats {
    /// Sum of the drop counters.
    pub fn drops(&self) -> u64 {
        self.ip_ttl_errors
            + self.version_errors
            + self.packet_length_errors
            + self.invalid_type_received
            + self.checksum_errors
            + self.owner_discards
            + self.address_count_zero
            + self.advert_interval_errors
            + self.invalid_auth_type
            + self.auth_type_mismatch
            + self.auth_failures
            + self.address_list_drops
            + self.unicast_source_errors
    }
}

/// Counters for packets that reached no instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RouterStats {
    /// Packets whose VRID is not configured on the receiving interface for their family (step 5;
    /// RFC 6527 `vrrpv3RouterVrIdErrors`). Such a packet is counted here whatever else is wrong
    /// with it: without an instance there is no configuration to check the rest against.
    pub vrid_errors: u64,
    /// Packets too short to carry a VRID (under 2 bytes).
    pub packet_length_errors: u64,
    /// Packets whose IP source and destination are of different families, or that arrived on an
    /// interface the engine does not know.
    pub unknown_interface_or_family: u64,
    /// Packets the runner's receive queues lost before the engine saw them (a socket's receive
    /// buffer overflowed), as reported with [`crate::Input::ReceiveQueue`].
    pub receive_queue_drops: u64,
    /// Master_Down_Timers extended once because adverts were waiting or lost in the runner's
    /// receive queue instead of taking over (read before deciding, see [`crate::Input::ReceiveQueue`]).
    pub master_down_extended: u64,
}
