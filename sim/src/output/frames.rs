//! Ethernet frames for `--pcap`: adverts inside IPv4/IPv6 as keepalived sends them, gratuitous
//! ARP and unsolicited neighbour advertisements, written with virtual timestamps.
//!
//! The frames follow what keepalived 2.2.7 puts on the wire (see `engine/tests/data/captures/`): IPv4 with
//! TOS 0xc0, TTL 255, DF clear, an IP identification counting from 1; IPv6 with traffic class
//! 0xc0 and hop limit 255; the interface's own MAC as the source (no VMAC). The unsolicited NA
//! carries the Router and Override flags (RFC 5798 section 6.4.2 asks for the router flag;
//! keepalived sets only Override).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, TsResolution};
use vigil_engine::wire::{arp, ethernet, ndisc};

/// A frame captured at a virtual instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// Virtual time, nanoseconds.
    pub t: u64,
    /// The Ethernet frame.
    pub frame: Vec<u8>,
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;

/// The Ethernet destination for an IP destination: the multicast mapping (RFC 1112 / RFC 2464),
/// broadcast for a unicast address (the simulator has no neighbour tables).
fn dst_mac(dst: IpAddr) -> [u8; 6] {
    ethernet::multicast_mac(dst).unwrap_or(ethernet::BROADCAST)
}

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// An advert's IPv4 header as keepalived sends it (TTL 255).
fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    proto: u8,
    tos: u8,
    payload: usize,
) -> [u8; 20] {
    vigil_engine::wire::ipv4::Header {
        src,
        dst,
        id,
        proto,
        tos,
        ttl: 255,
    }
    .emit(payload)
}

fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next: u8, tclass: u8, payload: usize) -> [u8; 40] {
    let mut h = [0u8; 40];
    h[0] = 0x60 | (tclass >> 4);
    h[1] = tclass << 4;
    let len = u16::try_from(payload).unwrap_or(u16::MAX);
    h[4..6].copy_from_slice(&len.to_be_bytes());
    h[6] = next;
    h[7] = 255;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    h
}

/// An advert in its Ethernet and IP headers. `vrrp` is the message exactly as the engine's codec
/// encoded it (checksum included).
pub fn vrrp(src_mac: [u8; 6], src: IpAddr, dst: IpAddr, ip_id: u16, vrrp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + 40 + vrrp.len());
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            ethernet(dst_mac(dst), src_mac, ETH_IPV4, &mut out);
            out.extend_from_slice(&ipv4_header(s, d, ip_id, 112, 0xc0, vrrp.len()));
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            ethernet(dst_mac(dst), src_mac, ETH_IPV6, &mut out);
            out.extend_from_slice(&ipv6_header(s, d, 112, 0xc0, vrrp.len()));
        }
        _ => ethernet(dst_mac(dst), src_mac, ETH_IPV4, &mut out),
    }
    out.extend_from_slice(vrrp);
    out
}

/// A gratuitous ARP (IPv4) or an unsolicited neighbour advertisement (IPv6: Override, and Router
/// when the engine's `Announce` action says so), built by the engine's wire module exactly as
/// vigild sends them.
pub fn announce(mac: [u8; 6], addr: IpAddr, router: bool) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => arp::gratuitous_arp(mac, a).to_vec(),
        IpAddr::V6(a) => ndisc::unsolicited_na(mac, a, router).to_vec(),
    }
}

/// Write `frames` as a pcap file (Ethernet, nanosecond timestamps counted from the epoch: virtual
/// time 0 shows as 1970-01-01 00:00:00).
pub fn write_pcap<W: Write>(out: W, frames: &[Captured]) -> Result<(), String> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(out, header).map_err(|e| e.to_string())?;
    for c in frames {
        let len = u32::try_from(c.frame.len()).unwrap_or(u32::MAX);
        let pkt = PcapPacket::new(core::time::Duration::from_nanos(c.t), len, &c.frame);
        w.write_packet(&pkt).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_is_42_bytes_and_na_86_like_keepalived() {
        let mac = [2, 0, 0, 0, 0, 2];
        assert_eq!(
            announce(mac, "192.0.2.100".parse().unwrap(), true).len(),
            42
        );
        let na = announce(mac, "2001:db8::100".parse().unwrap(), true);
        assert_eq!(na.len(), 86);
        assert_eq!(&na[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        let plain = announce(mac, "2001:db8::100".parse().unwrap(), false);
        assert_eq!(plain.len(), 86);
        assert_ne!(na, plain, "the Router flag follows the engine's action");
    }

    #[test]
    fn multicast_macs() {
        assert_eq!(
            dst_mac("224.0.0.18".parse().unwrap()),
            [0x01, 0x00, 0x5e, 0, 0, 0x12]
        );
        assert_eq!(
            dst_mac("ff02::12".parse().unwrap()),
            [0x33, 0x33, 0, 0, 0, 0x12]
        );
    }
}
