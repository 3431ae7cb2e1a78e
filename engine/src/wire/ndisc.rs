//! Unsolicited neighbour advertisements (RFC 5798 section 6.4.1 (2) and 6.4.2 (3): "for each IPv6
//! address ... send an Unsolicited ND Neighbor Advertisement with the Router Flag (R) set, the
//! Solicited Flag (S) unset, the Override flag (O) set"), as a whole Ethernet frame: ICMPv6 type
//! 136 (RFC 4861 section 4.4, 7.2.6) from the virtual address to ff02::1 (Ethernet
//! 33:33:00:00:00:01), hop limit 255, target the virtual address, one target link-layer address
//! option. keepalived 2.2.7 leaves the Router flag clear (engine/tests/data/captures/una.pcap),
//! which the instance's `na_router_flag` reproduces. vigild sends these bytes on a packet socket
//! and the simulator captures the same bytes.

use std::net::{IpAddr, Ipv6Addr};

use super::{checksum, ethernet};

/// Byte ranges of an unsolicited NA frame (Ethernet and IPv6 headers included).
pub mod field {
    use super::ethernet::field::PAYLOAD as E;
    /// A byte range.
    pub type Field = core::ops::Range<usize>;
    /// IPv6: version, traffic class, flow label.
    pub const IP_VERSION_CLASS_FLOW: Field = E..E + 4;
    /// IPv6: payload length.
    pub const IP_PAYLOAD_LEN: Field = E + 4..E + 6;
    /// IPv6: next header.
    pub const IP_NEXT_HEADER: usize = E + 6;
    /// IPv6: hop limit.
    pub const IP_HOP_LIMIT: usize = E + 7;
    /// IPv6: source address.
    pub const IP_SRC: Field = E + 8..E + 24;
    /// IPv6: destination address.
    pub const IP_DST: Field = E + 24..E + 40;
    /// Where the ICMPv6 message starts.
    pub const ICMP: usize = E + 40;
    /// ICMPv6 type (136).
    pub const TYPE: usize = ICMP;
    /// ICMPv6 code (0).
    pub const CODE: usize = ICMP + 1;
    /// ICMPv6 checksum.
    pub const CHECKSUM: Field = ICMP + 2..ICMP + 4;
    /// R, S, O flags (the high bits of the first byte).
    pub const FLAGS: usize = ICMP + 4;
    /// Reserved (the rest of the flags word).
    pub const RESERVED: Field = ICMP + 5..ICMP + 8;
    /// Target address.
    pub const TARGET: Field = ICMP + 8..ICMP + 24;
    /// Option type (2 = target link-layer address).
    pub const OPT_TYPE: usize = ICMP + 24;
    /// Option length in units of 8 bytes (1).
    pub const OPT_LEN: usize = ICMP + 25;
    /// The link-layer address of the option.
    pub const OPT_LLADDR: Field = ICMP + 26..ICMP + 32;
}

/// Length of an unsolicited NA frame (Ethernet 14 + IPv6 40 + NA 24 + option 8).
pub const UNA_LEN: usize = field::OPT_LLADDR.end;
/// ICMPv6 type of a neighbour advertisement.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// IP protocol number of ICMPv6.
pub const IP_PROTO_ICMPV6: u8 = 58;
/// The NA Router flag (RFC 4861 section 4.4).
pub const FLAG_ROUTER: u8 = 0x80;
/// The NA Solicited flag.
pub const FLAG_SOLICITED: u8 = 0x40;
/// The NA Override flag.
pub const FLAG_OVERRIDE: u8 = 0x20;
/// The all-nodes group an unsolicited NA goes to.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// NDP option type: target link-layer address.
const OPT_TARGET_LLADDR: u8 = 2;

/// An unsolicited neighbour advertisement frame announcing `vip` at `src_mac`: Override set,
/// Solicited clear, Router set when `router` (RFC 5798) or clear (keepalived 2.2.7).
pub fn unsolicited_na(src_mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; UNA_LEN] {
    let mut f = [0u8; UNA_LEN];
    let dst_mac = ethernet::multicast_mac(IpAddr::V6(ALL_NODES)).unwrap_or(ethernet::BROADCAST);
    ethernet::write_header(&mut f, dst_mac, src_mac, ethernet::ETHERTYPE_IPV6);
    let icmp_len = UNA_LEN - field::ICMP;
    f[field::IP_VERSION_CLASS_FLOW].copy_from_slice(&[0x60, 0, 0, 0]);
    f[field::IP_PAYLOAD_LEN].copy_from_slice(&(icmp_len as u16).to_be_bytes());
    f[field::IP_NEXT_HEADER] = IP_PROTO_ICMPV6;
    f[field::IP_HOP_LIMIT] = 255;
    f[field::IP_SRC].copy_from_slice(&vip.octets());
    f[field::IP_DST].copy_from_slice(&ALL_NODES.octets());
    f[field::TYPE] = ICMPV6_NEIGHBOR_ADVERT;
    f[field::CODE] = 0;
    f[field::FLAGS] = if router {
        FLAG_ROUTER | FLAG_OVERRIDE
    } else {
        FLAG_OVERRIDE
    };
    f[field::TARGET].copy_from_slice(&vip.octets());
    f[field::OPT_TYPE] = OPT_TARGET_LLADDR;
    f[field::OPT_LEN] = 1;
    f[field::OPT_LLADDR].copy_from_slice(&src_mac);
    let pseudo = checksum::pseudo_header(
        IpAddr::V6(vip),
        IpAddr::V6(ALL_NODES),
        IP_PROTO_ICMPV6,
        icmp_len,
    );
    let c = checksum::checksum(checksum::sum(pseudo, &f[field::ICMP..]));
    f[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const H2: [u8; 6] = [2, 0, 0, 0, 0, 2];

    /// Frame 1 of engine/tests/data/captures/una.pcap: the fields tshark shows, and its checksum 0xf72b.
    #[test]
    fn una_matches_keepalived_capture() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = unsolicited_na(H2, vip, false);
        assert_eq!(
            &f[..14],
            &[0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd]
        );
        assert_eq!(&f[14..18], &[0x60, 0, 0, 0]); // version 6, class 0, flow 0
        assert_eq!(&f[18..22], &[0, 32, 58, 255]); // payload 32, ICMPv6, hop limit 255
        assert_eq!(&f[22..38], &vip.octets());
        assert_eq!(&f[38..54], &"ff02::1".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(&f[54..58], &[136, 0, 0xf7, 0x2b]);
        assert_eq!(&f[58..62], &[0x20, 0, 0, 0]);
        assert_eq!(&f[62..78], &vip.octets());
        assert_eq!(&f[78..], &[2, 1, 2, 0, 0, 0, 0, 2]);
    }

    /// The RFC form differs only in the Router flag and, with it, the checksum (0xf72b less
    /// 0x8000 in ones' complement: 0x772b).
    #[test]
    fn una_sets_the_router_flag_on_request() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let keepalived = unsolicited_na(H2, vip, false);
        let rfc = unsolicited_na(H2, vip, true);
        assert_eq!(rfc[58], 0xa0);
        assert_eq!(&rfc[56..58], &[0x77, 0x2b]);
        assert_eq!(rfc[..56], keepalived[..56]);
        assert_eq!(rfc[59..], keepalived[59..]);
    }
}
