//! Gratuitous ARP (RFC 5798 section 6.4.1 (2) and 6.4.2 (3): "broadcast a gratuitous ARP request
//! containing the virtual router MAC address for each IP address"), as a whole Ethernet frame, in
//! keepalived 2.2.7's format (engine/tests/data/captures/garp.pcap): an ARP request (RFC 826)
//! sent to the broadcast address, sender IP = target IP = the virtual address, target MAC
//! ff:ff:ff:ff:ff:ff (RFC 5227 section 3 "ARP Announcement" uses a request; keepalived sends the
//! broadcast target MAC). vigild sends these bytes on a packet socket and the simulator captures
//! the same bytes in its pcaps.

use std::net::Ipv4Addr;

use super::ethernet;

/// Byte ranges of an ARP-over-Ethernet frame (Ethernet header included).
pub mod field {
    use super::ethernet::field::PAYLOAD as A;
    /// A byte range.
    pub type Field = core::ops::Range<usize>;
    /// Hardware type (1 = Ethernet).
    pub const HTYPE: Field = A..A + 2;
    /// Protocol type (0x0800 = IPv4).
    pub const PTYPE: Field = A + 2..A + 4;
    /// Hardware address length.
    pub const HLEN: usize = A + 4;
    /// Protocol address length.
    pub const PLEN: usize = A + 5;
    /// Operation (1 = request).
    pub const OPER: Field = A + 6..A + 8;
    /// Sender hardware address.
    pub const SHA: Field = A + 8..A + 14;
    /// Sender protocol address.
    pub const SPA: Field = A + 14..A + 18;
    /// Target hardware address.
    pub const THA: Field = A + 18..A + 24;
    /// Target protocol address.
    pub const TPA: Field = A + 24..A + 28;
}

/// Length of a gratuitous ARP frame (Ethernet 14 + ARP 28).
pub const GARP_LEN: usize = field::TPA.end;
/// ARP operation: request.
pub const OP_REQUEST: u16 = 1;

/// A gratuitous ARP frame announcing `vip` at `src_mac`.
pub fn gratuitous_arp(src_mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    ethernet::write_header(
        &mut f,
        ethernet::BROADCAST,
        src_mac,
        ethernet::ETHERTYPE_ARP,
    );
    f[field::HTYPE].copy_from_slice(&1u16.to_be_bytes());
    f[field::PTYPE].copy_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
    f[field::HLEN] = 6;
    f[field::PLEN] = 4;
    f[field::OPER].copy_from_slice(&OP_REQUEST.to_be_bytes());
    f[field::SHA].copy_from_slice(&src_mac);
    f[field::SPA].copy_from_slice(&vip.octets());
    f[field::THA].copy_from_slice(&ethernet::BROADCAST);
    f[field::TPA].copy_from_slice(&vip.octets());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const H2: [u8; 6] = [2, 0, 0, 0, 0, 2];

    /// Frame 1 of engine/tests/data/captures/garp.pcap (keepalived 2.2.7), byte for byte.
    #[test]
    fn garp_matches_keepalived_capture() {
        let expected: [u8; GARP_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06, // Ethernet
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // ARP request
            2, 0, 0, 0, 0, 2, 192, 0, 2, 100, // sender
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 0, 2, 100, // target
        ];
        assert_eq!(gratuitous_arp(H2, Ipv4Addr::new(192, 0, 2, 100)), expected);
    }
}
