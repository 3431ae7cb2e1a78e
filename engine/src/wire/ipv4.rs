//! The IPv4 header (RFC 791 section 3.1) of a datagram that a runner builds itself: the
//! simulator's pcap frames and vigild's packet-socket adverts (`--packet-socket-adverts`). No
//! options, DF clear (keepalived's adverts have it clear), fragment offset 0; the header checksum
//! by [`super::checksum`].

use std::net::Ipv4Addr;

use super::checksum;

/// What varies in the header of an IPv4 datagram a runner builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Identification.
    pub id: u16,
    /// Protocol (112 for VRRP).
    pub proto: u8,
    /// Type of service (0xc0 for VRRP, as keepalived).
    pub tos: u8,
    /// Time to live (255 for VRRP, RFC 5798 section 5.1.1.3).
    pub ttl: u8,
}

impl Header {
    /// The 20 header bytes for a payload of `payload` bytes (the total length saturates at
    /// 65,535), checksum filled in.
    pub fn emit(&self, payload: usize) -> [u8; 20] {
        let total = u16::try_from(20 + payload).unwrap_or(u16::MAX);
        let mut h = [0u8; 20];
        h[0] = 0x45;
        h[1] = self.tos;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&self.id.to_be_bytes());
        h[8] = self.ttl;
        h[9] = self.proto;
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::checksum(checksum::sum(0, &h));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_checksum_verifies_and_the_fields_are_where_rfc_791_puts_them() {
        let h = Header {
            src: Ipv4Addr::new(192, 0, 2, 11),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            id: 0x1234,
            proto: 112,
            tos: 0xc0,
            ttl: 254,
        }
        .emit(12);
        assert_eq!(checksum::fold(checksum::sum(0, &h)), 0xffff);
        assert_eq!(
            h[..10],
            [0x45, 0xc0, 0, 32, 0x12, 0x34, 0, 0, 254, 112],
            "version/IHL, TOS, total length, id, DF clear, TTL, protocol"
        );
        assert_eq!(h[12..], [192, 0, 2, 11, 224, 0, 0, 18]);
    }
}
