//! Ethernet II framing (IEEE 802.3 clause 3.2.6) for the announcement frames that go out on a
//! packet socket ([`super::arp`], [`super::ndisc`]), and the multicast MAC mappings of RFC 1112
//! section 6.4 (IPv4) and RFC 2464 section 7 (IPv6).

use std::net::IpAddr;

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
