//! Ethernet II framing (IEEE 802.3 clause 3.2.6) for the announcement frames that go out on a
//! packet socket ([`super::arp`], [`super::ndisc`]), and the multicast MAC mappings of RFC 1112
//! section 6.4 (IPv4) and RFC 2464 section 7 (IPv6); and the VRRP virtual router MAC address
//! (RFC 5798 section 7.3).

use std::net::IpAddr;

use super::vrrp::Family;

/// Byte ranges of the Ethernet II header.
pub mod field {
    /// A byte range.
    pub type Field = core::ops::Range<usize>;
    /// Destination MAC address.
    pub const DESTINATION: Field = 0..6;
    /// Source MAC address.
    pub const SOURCE: Field = 6..12;
    /// EtherType of the payload.
    pub const ETHERTYPE: Field = 12..14;
    /// Where the payload starts.
    pub const PAYLOAD: usize = 14;
}

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// The broadcast MAC address.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// The Ethernet destination of an IP multicast group (01:00:5e + the low 23 bits for IPv4,
/// 33:33 + the low 32 bits for IPv6); `None` for a unicast address.
pub fn multicast_mac(group: IpAddr) -> Option<[u8; 6]> {
    match group {
        IpAddr::V4(a) if a.is_multicast() => {
            let o = a.octets();
            Some([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        }
        IpAddr::V6(a) if a.is_multicast() => {
            let o = a.octets();
            Some([0x33, 0x33, o[12], o[13], o[14], o[15]])
        }
        _ => None,
    }
}

/// The virtual router MAC address of VRID `vrid` (RFC 5798 section 7.3, as RFC 3768 section 7.3
/// for IPv4): 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6. The IANA block
/// 00-00-5E-00-01 / 00-00-5E-00-02 is VRRP's own; the last octet is the VRID. A router sends
/// from it when the instance owns its MAC (keepalived's `use_vmac`).
pub fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let block = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, block, vrid]
}

/// Write an Ethernet II header at the start of `frame` (at least [`HEADER_LEN`] bytes).
pub fn write_header(frame: &mut [u8], dst: [u8; 6], src: [u8; 6], ethertype: u16) {
    frame[field::DESTINATION].copy_from_slice(&dst);
    frame[field::SOURCE].copy_from_slice(&src);
    frame[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
}

/// The EtherType of a frame, `None` when it is shorter than the header.
pub fn ethertype(frame: &[u8]) -> Option<u16> {
    let b = frame.get(field::ETHERTYPE)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_virtual_mac_follows_rfc_5798_section_7_3() {
        assert_eq!(
            virtual_mac(Family::V4, 51),
            [0x00, 0x00, 0x5e, 0x00, 0x01, 51]
        );
        assert_eq!(
            virtual_mac(Family::V6, 255),
            [0x00, 0x00, 0x5e, 0x00, 0x02, 255]
        );
        assert_eq!(virtual_mac(Family::V4, 1), [0, 0, 0x5e, 0, 1, 1]);
        // Not a multicast (group bit clear) nor a locally administered address.
        for f in [Family::V4, Family::V6] {
            assert_eq!(virtual_mac(f, 7)[0] & 0x03, 0);
        }
    }

    #[test]
    fn multicast_macs_of_the_vrrp_groups() {
        assert_eq!(
            multicast_mac(Family::V4.multicast_group()),
            Some([0x01, 0x00, 0x5e, 0, 0, 0x12])
        );
        assert_eq!(
            multicast_mac(Family::V6.multicast_group()),
            Some([0x33, 0x33, 0, 0, 0, 0x12])
        );
        assert_eq!(multicast_mac("192.0.2.1".parse().unwrap()), None);
    }
}
