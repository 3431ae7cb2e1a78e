//! Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) for virtual addresses,
//! built as whole Ethernet frames with `pnet_packet` and sent on an `AF_PACKET` socket from the
//! interface's own MAC address, in keepalived 2.2.7's format (engine/tests/data/captures/garp.txt, una.txt):
//!
//! - ARP request, Ethernet destination broadcast, sender IP = target IP = the VIP, target MAC
//!   ff:ff:ff:ff:ff:ff (RFC 5227 section 3 "ARP Announcement" uses a request; keepalived sends
//!   the broadcast target MAC);
//! - ICMPv6 136 from the VIP to ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255, flags
//!   S=0 O=1, target the VIP, one target link-layer address option (RFC 4861 section 4.4,
//!   7.2.6). The Router flag is set by default, as RFC 5798 section 6.4.2 asks ("with the Router
//!   Flag (R) set"); keepalived 2.2.7 leaves it clear, which the instance's `na_router_flag`
//!   reproduces.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes};
use pnet_packet::icmpv6::{self, Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use socket2::{Domain, Socket, Type};

/// Length of a gratuitous ARP frame (Ethernet 14 + ARP 28).
pub const GARP_LEN: usize = 42;
/// Length of an unsolicited NA frame (Ethernet 14 + IPv6 40 + NA 24 + option 8).
pub const UNA_LEN: usize = 86;
/// The NA Override flag (RFC 4861 section 4.4), in the first byte of the flags word.
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// The NA Router flag (RFC 4861 section 4.4).
const NA_FLAG_ROUTER: u8 = 0x80;

fn mac(b: [u8; 6]) -> MacAddr {
    MacAddr::new(b[0], b[1], b[2], b[3], b[4], b[5])
}

/// A gratuitous ARP frame announcing `vip` at `src_mac`.
pub fn garp_frame(src_mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut buf = [0u8; GARP_LEN];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut buf) {
        eth.set_destination(MacAddr::broadcast());
        eth.set_source(mac(src_mac));
        eth.set_ethertype(EtherTypes::Arp);
    }
    if let Some(mut arp) = MutableArpPacket::new(&mut buf[14..]) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(mac(src_mac));
        arp.set_sender_proto_addr(vip);
        arp.set_target_hw_addr(MacAddr::broadcast());
        arp.set_target_proto_addr(vip);
    }
    buf
}

/// An unsolicited neighbour advertisement frame announcing `vip` at `src_mac`, with the Router
/// flag when `router` (RFC 5798) or without it (keepalived 2.2.7).
pub fn una_frame(src_mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; UNA_LEN] {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut buf = [0u8; UNA_LEN];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut buf) {
        eth.set_destination(MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
        eth.set_source(mac(src_mac));
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    if let Some(mut ip) = MutableIpv6Packet::new(&mut buf[14..54]) {
        ip.set_version(6);
        ip.set_traffic_class(0);
        ip.set_flow_label(0);
        ip.set_payload_length(32);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(vip);
        ip.set_destination(all_nodes);
    }
    if let Some(mut na) = MutableNeighborAdvertPacket::new(&mut buf[54..]) {
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code(0));
        na.set_flags(if router {
            NA_FLAG_OVERRIDE | NA_FLAG_ROUTER
        } else {
            NA_FLAG_OVERRIDE
        });
        na.set_reserved(0);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: src_mac.to_vec(),
        }]);
    }
    let sum = Icmpv6Packet::new(&buf[54..]).map(|p| icmpv6::checksum(&p, &vip, &all_nodes));
    if let (Some(sum), Some(mut na)) = (sum, MutableNeighborAdvertPacket::new(&mut buf[54..])) {
        na.set_checksum(sum);
    }
    buf
}

/// The `AF_PACKET` socket announcements go out on (send only: protocol 0 receives nothing).
#[derive(Debug)]
pub struct Announcer {
    sock: Socket,
}

impl Announcer {
    /// Open the socket.
    pub fn open() -> io::Result<Announcer> {
        let sock = Socket::new(Domain::PACKET, Type::RAW, None)?;
        sock.set_cloexec(true)?;
        Ok(Announcer { sock })
    }

    fn send(&self, ifindex: u32, ethertype: EtherType, frame: &[u8]) -> io::Result<()> {
        // SAFETY: plain data.
        let mut to: libc::sockaddr_ll = unsafe { zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ethertype.0.to_be();
        to.sll_ifindex = ifindex as libc::c_int;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: `frame` and `to` are valid for the sizes given.
        let n = unsafe {
            libc::sendto(
                self.sock.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&to as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Send one gratuitous ARP for `vip` on interface `ifindex` from `src_mac`.
    pub fn garp(&self, ifindex: u32, src_mac: [u8; 6], vip: Ipv4Addr) -> io::Result<()> {
        self.send(ifindex, EtherTypes::Arp, &garp_frame(src_mac, vip))
    }

    /// Send one unsolicited NA for `vip` on interface `ifindex` from `src_mac`, with the Router
    /// flag when `router` (RFC 5798 section 6.4.2; the engine's `na_router_flag`).
    pub fn una(
        &self,
        ifindex: u32,
        src_mac: [u8; 6],
        vip: Ipv6Addr,
        router: bool,
    ) -> io::Result<()> {
        self.send(ifindex, EtherTypes::Ipv6, &una_frame(src_mac, vip, router))
    }
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
        assert_eq!(garp_frame(H2, Ipv4Addr::new(192, 0, 2, 100)), expected);
    }

    /// Frame 1 of engine/tests/data/captures/una.pcap: the fields tshark shows, and its checksum 0xf72b.
    #[test]
    fn una_matches_keepalived_capture() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = una_frame(H2, vip, false);
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
    fn una_sets_the_router_flag_by_default() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let keepalived = una_frame(H2, vip, false);
        let rfc = una_frame(H2, vip, true);
        assert_eq!(rfc[58], 0xa0);
        assert_eq!(&rfc[56..58], &[0x77, 0x2b]);
        assert_eq!(rfc[..56], keepalived[..56]);
        assert_eq!(rfc[59..], keepalived[59..]);
    }
}
