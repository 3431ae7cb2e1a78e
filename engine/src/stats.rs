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
    /// VRRPv3-over-IPv4 adverts accepted whose checksum leaves out the IPv4 pseudo-header (the
    /// form of FRR's `no vrrp N checksum-with-ipv4-pseudoheader` and of some vendors' routers;
    /// keepalived's `v3_checksum_as_v2`). Not a drop: both forms are accepted. Which peer sends
    /// which form: [`PeerChecksum`].
    pub plain_checksum_received: u64,
}

/// How many VRRPv3-over-IPv4 adverts one peer sent in each checksum form (RFC 5798 section
/// 5.2.8's pseudo-header form, or the message-only form some implementations use): what
/// `vigild status` and the metrics report per peer. Both forms are accepted on receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerChecksum {
    /// The peer (the adverts' IP source).
    pub addr: std::net::IpAddr,
    /// Adverts accepted with the pseudo-header checksum (RFC 5798).
    pub pseudo_header: u64,
    /// Adverts accepted with the message-only checksum.
    pub plain: u64,
}

impl PeerChecksum {
    /// The form the peer uses, as `vigild status` names it: `pseudo-header`, `plain`, or
    /// `both` (a peer that changed its setting, or two routers behind one address).
    pub fn form(&self) -> &'static str {
        match (self.pseudo_header > 0, self.plain > 0) {
            (true, true) => "both",
            (false, true) => "plain",
            _ => "pseudo-header",
        }
    }
}

/// Peers recorded per instance in [`PeerChecksum`] (a LAN segment's VRRP routers; adverts from
/// further sources are still counted in [`InstanceStats`], so a spoofing flood allocates
/// nothing).
pub const PEER_CHECKSUMS_RECORDED: usize = 16;

impl InstanceStats {
    /// Every counter, in declaration order, with its name, help text and drop label: the one
    /// list `vigil status`, the metrics endpoint and the drop labels are written from.
    pub const fn fields() -> &'static [StatField] {
        FIELDS
    }

    /// Sum of the drop counters.
    #[inline]
    pub fn drops(&self) -> u64 {
        self.drop_sum()
    }
}

/// One counter of [`InstanceStats`], declared once for every reader: its field name (the key in
/// `vigil status --json` and the metric `vigil_instance_<name>_total`), what it counts, and, for
/// a drop counter, the rule's label (the `reason` of `vigil_instance_dropped_total` and of the
/// "dropped" line of `vigil status`).
#[derive(Clone, Copy, Debug)]
pub struct StatField {
    /// The field's name.
    pub name: &'static str,
    /// What it counts, one line.
    pub help: &'static str,
    /// For a drop counter, the label of the rule the packet failed; `None` otherwise.
    pub drop_label: Option<&'static str>,
    /// Read the counter.
    pub get: fn(&InstanceStats) -> u64,
}

macro_rules! stat_fields {
    ($($field:ident, $drop:expr, $help:expr;)*) => {
        /// Every counter of [`InstanceStats`], in declaration order.
        const FIELDS: &[StatField] = &[$(StatField {
            name: stringify!($field),
            help: $help,
            drop_label: $drop,
            get: |s| s.$field,
        }),*];
        // Every field is listed: a new counter that is not added here fails to compile.
        const _: fn(&InstanceStats) -> InstanceStats = |s| InstanceStats { $($field: s.$field),* };

        impl InstanceStats {
            /// The drop counters (the fields with a drop label) added directly: summing them
            /// through [`FIELDS`]' function pointers cost an indirect call per field, and a
            /// runner's checks ask after every call (1.8 % of the `engine` fuzz target's
            /// instructions). Wrapping, as the sum over the table was.
            #[inline]
            fn drop_sum(&self) -> u64 {
                0u64 $(.wrapping_add(if Option::<&str>::is_some(&$drop) { self.$field } else { 0 }))*
            }
        }
    };
}

stat_fields! {
    became_master, None, "Times the instance became MASTER.";
    released_master, None, "Times the instance left MASTER.";
    adverts_received, None, "Valid adverts accepted.";
    adverts_sent, None, "Adverts sent.";
    priority_zero_received, None, "Priority-0 adverts accepted.";
    priority_zero_sent, None, "Priority-0 adverts sent.";
    ip_ttl_errors, Some("ttl"), "Dropped: TTL / hop limit not 255.";
    version_errors, Some("version"), "Dropped: not the configured version.";
    packet_length_errors, Some("packet_length"), "Dropped: too short for its content.";
    invalid_type_received, Some("invalid_type"), "Dropped: not an ADVERTISEMENT.";
    checksum_errors, Some("checksum"), "Dropped: bad checksum.";
    owner_discards, Some("owner_discard"), "Dropped: this router is the address owner.";
    address_list_errors, None, "Adverts whose address list differs from ours (kept or dropped).";
    address_list_drops, Some("address_list"), "Dropped: address list differs, sender not the owner.";
    address_count_zero, Some("address_count_zero"), "Dropped: no address.";
    advert_interval_errors, Some("advert_interval"), "Dropped: interval differs (VRRPv2) or zero.";
    invalid_auth_type, Some("invalid_auth_type"), "Dropped: VRRPv2 auth type neither 0 nor 1.";
    auth_type_mismatch, Some("auth_type_mismatch"), "Dropped: VRRPv2 auth type differs from ours.";
    auth_failures, Some("auth_failure"), "Dropped: VRRPv2 password differs from ours.";
    unicast_source_errors, Some("unicast_source"), "Dropped: source not a unicast peer.";
    trailing_bytes, None, "Adverts accepted with bytes after their declared content.";
    plain_checksum_received, None, "VRRPv3/IPv4 adverts accepted with a checksum without the pseudo-header.";
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each field reads its own counter, and the drops are the thirteen drop counters.
    #[test]
    fn fields_read_their_own_counter() {
        for (k, f) in InstanceStats::fields().iter().enumerate() {
            let mut s = InstanceStats::default();
            // Set the k-th field through the list, by elimination: all others stay 0.
            let all: Vec<u64> = InstanceStats::fields()
                .iter()
                .map(|g| (g.get)(&s))
                .collect();
            assert!(all.iter().all(|&v| v == 0));
            match f.name {
                "became_master" => s.became_master = 7,
                "released_master" => s.released_master = 7,
                "adverts_received" => s.adverts_received = 7,
                "adverts_sent" => s.adverts_sent = 7,
                "priority_zero_received" => s.priority_zero_received = 7,
                "priority_zero_sent" => s.priority_zero_sent = 7,
                "ip_ttl_errors" => s.ip_ttl_errors = 7,
                "version_errors" => s.version_errors = 7,
                "packet_length_errors" => s.packet_length_errors = 7,
                "invalid_type_received" => s.invalid_type_received = 7,
                "checksum_errors" => s.checksum_errors = 7,
                "owner_discards" => s.owner_discards = 7,
                "address_list_errors" => s.address_list_errors = 7,
                "address_list_drops" => s.address_list_drops = 7,
                "address_count_zero" => s.address_count_zero = 7,
                "advert_interval_errors" => s.advert_interval_errors = 7,
                "invalid_auth_type" => s.invalid_auth_type = 7,
                "auth_type_mismatch" => s.auth_type_mismatch = 7,
                "auth_failures" => s.auth_failures = 7,
                "unicast_source_errors" => s.unicast_source_errors = 7,
                "trailing_bytes" => s.trailing_bytes = 7,
                "plain_checksum_received" => s.plain_checksum_received = 7,
                other => panic!("unknown field {other}"),
            }
            for (j, g) in InstanceStats::fields().iter().enumerate() {
                assert_eq!(
                    (g.get)(&s),
                    if j == k { 7 } else { 0 },
                    "{} read {}",
                    f.name,
                    g.name
                );
            }
            assert_eq!(
                s.drops(),
                if f.drop_label.is_some() { 7 } else { 0 },
                "{}",
                f.name
            );
        }
        let drops = InstanceStats::fields()
            .iter()
            .filter(|f| f.drop_label.is_some())
            .count();
        assert_eq!(drops, 13);
    }
}
