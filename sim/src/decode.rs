//! `vigil-sim decode FILE.pcap`: one JSON object per VRRP packet of any capture, real ones too.
//!
//! Each object gives the frame number and time, the IP source, destination and TTL / hop limit,
//! the VRRP fields, which checksum form the packet matches (`pseudo-header`, `plain`, or `none`),
//! and a verdict: `ok`, or the name of the first receive rule of RFC 5798 section 7.1 it fails
//! (`ttl`, then the codec's rules: `unknown_version`, `length_mismatch`, `checksum`, ...), judged
//! by the RFC checksum forms (v2 plain, v3 with the pseudo-header). Operators run it on production
//! captures to see why a peer's adverts are dropped.
//!
//! Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked capture v1 and v2, raw IP.
//! Nothing in a capture makes it panic: a frame it cannot follow is skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;
use serde_json::{json, Value};
use vigil_engine::wire::{self, ChecksumForm, ChecksumPolicy, Interval, IpContext, Packet};

/// An IP packet carrying protocol 112, as found in a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpInIp<'a> {
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// The VRRP message (the IP payload, trimmed to the IP length).
    pub payload: &'a [u8],
}

/// Find a VRRP message in an IP packet (`ip` starts at the IP header).
pub fn vrrp_in_ip(ip: &[u8]) -> Option<VrrpInIp<'_>> {
    match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            if ihl < 20 || *ip.get(9)? != wire::IP_PROTO_VRRP {
                return None;
            }
            let src = Ipv4Addr::new(*ip.get(12)?, *ip.get(13)?, *ip.get(14)?, *ip.get(15)?);
            let dst = Ipv4Addr::new(*ip.get(16)?, *ip.get(17)?, *ip.get(18)?, *ip.get(19)?);
            let end = total.min(ip.len());
            Some(VrrpInIp {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                ttl: *ip.get(8)?,
                payload: ip.get(ihl..end)?,
            })
        }
        6 => {
            // Fixed header only: VRRP adverts carry no extension headers (keepalived, RFC 5798).
            let next = *ip.get(6)?;
            if next != wire::IP_PROTO_VRRP {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let addr = |at: usize| -> Option<Ipv6Addr> {
                let b: [u8; 16] = ip.get(at..at + 16)?.try_into().ok()?;
                Some(Ipv6Addr::from(b))
            };
            let end = (40 + len).min(ip.len());
            Some(VrrpInIp {
                src: IpAddr::V6(addr(8)?),
                dst: IpAddr::V6(addr(24)?),
                ttl: *ip.get(7)?,
                payload: ip.get(40..end)?,
            })
        }
        _ => None,
    }
}

/// The IP packet inside a frame of link type `link`.
pub fn ip_in_frame(link: DataLink, frame: &[u8]) -> Option<&[u8]> {
    let (mut ethertype, mut at) = match link {
        DataLink::ETHERNET => (u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]), 14),
        DataLink::LINUX_SLL => (u16::from_be_bytes([*frame.get(14)?, *frame.get(15)?]), 16),
        DataLink::LINUX_SLL2 => (u16::from_be_bytes([*frame.first()?, *frame.get(1)?]), 20),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => return Some(frame),
        _ => return None,
    };
    // 802.1Q / 802.1ad tags.
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        ethertype = u16::from_be_bytes([*frame.get(at + 2)?, *frame.get(at + 3)?]);
        at += 4;
    }
    match ethertype {
        0x0800 | 0x86dd => frame.get(at..),
        _ => None,
    }
}

/// The JSON object for one VRRP packet.
pub fn describe(frame_no: usize, time_ns: u128, v: &VrrpInIp<'_>) -> Value {
    let ctx = IpContext {
        src: v.src,
        dst: v.dst,
    };
    let mut obj = json!({
        "frame": frame_no,
        "time": format!("{}.{:09}", time_ns / 1_000_000_000, time_ns % 1_000_000_000),
        "src": v.src.to_string(),
        "dst": v.dst.to_string(),
        "ttl": v.ttl,
        "length": v.payload.len(),
    });
    let Some(o) = obj.as_object_mut() else {
        return obj;
    };
    let family = ctx.family();
    let checked = family.map(|f| Packet::new_checked(v.payload, f));
    if let Some(Ok(p)) = checked {
        o.insert("version".into(), json!(p.version().number()));
        o.insert("vrid".into(), json!(p.vrid()));
        o.insert("priority".into(), json!(p.priority()));
        o.insert("count".into(), json!(p.count()));
        match p.interval() {
            Interval::Seconds(s) => o.insert("adver_int_s".into(), json!(s)),
            Interval::Centiseconds(cs) => o.insert("max_adver_int_cs".into(), json!(cs)),
        };
        let auth = p.auth();
        o.insert("auth_type".into(), json!(auth.type_number()));
        let addrs: Vec<String> = p.addrs().iter().map(|a| a.to_string()).collect();
        o.insert("addrs".into(), json!(addrs));
        o.insert(
            "checksum".into(),
            json!(format!("0x{:04x}", p.checksum_field())),
        );
        let form = match p.checksum_form(&ctx, ChecksumPolicy::Either) {
            Some(ChecksumForm::PseudoHeader) => "pseudo-header",
            Some(ChecksumForm::Plain) => "plain",
            None => {
                // Either accepts both forms only for v3 over IPv4; try the plain form too.
                if p.checksum_form(&ctx, ChecksumPolicy::V3Plain).is_some() {
                    "plain"
                } else {
                    "none"
                }
            }
        };
        o.insert("checksum_form".into(), json!(form));
        if p.trailing() > 0 {
            o.insert("trailing_bytes".into(), json!(p.trailing()));
        }
    }
    let verdict = if v.ttl != wire::VRRP_TTL {
        "ttl".to_string()
    } else {
        match wire::parse(v.payload, &ctx, ChecksumPolicy::Rfc) {
            Ok(_) => "ok".to_string(),
            Err(e) => {
                o.insert("reason".into(), json!(e.to_string()));
                e.rule().to_string()
            }
        }
    };
    o.insert("verdict".into(), json!(verdict));
    obj
}

/// Decode every VRRP packet of a pcap file (classic pcap format) into JSON objects.
pub fn decode_pcap(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut reader = PcapReader::new(bytes).map_err(|e| format!("not a pcap file: {e}"))?;
    let link = reader.header().datalink;
    let mut out = Vec::new();
    let mut n = 0usize;
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.map_err(|e| format!("frame {}: {e}", n + 1))?;
        n += 1;
        let Some(ip) = ip_in_frame(link, &pkt.data) else {
            continue;
        };
        let Some(v) = vrrp_in_ip(ip) else {
            continue;
        };
        out.push(describe(n, pkt.timestamp.as_nanos(), &v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_advert_decodes_ok_and_a_bad_ttl_is_named() {
        let adv = [0x31, 51, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100];
        let src: IpAddr = "192.0.2.11".parse().unwrap();
        let dst: IpAddr = "224.0.0.18".parse().unwrap();
        // Re-encode through the codec to get a valid checksum.
        let a = wire::parse(&adv, &IpContext { src, dst }, ChecksumPolicy::Either);
        assert!(a.is_err()); // zero checksum
        let list = ["192.0.2.100".parse().unwrap()];
        let advert = wire::Advert {
            version: wire::Version::V3,
            vrid: 51,
            priority: 100,
            interval: Interval::Centiseconds(100),
            addrs: wire::Addrs::List(&list),
            auth: wire::Auth::None,
            checksum: ChecksumForm::PseudoHeader,
            trailing: 0,
        };
        let mut buf = [0u8; 64];
        let len = wire::emit(&advert, &IpContext { src, dst }, &mut buf).unwrap();
        let frame = crate::frames::vrrp([2, 0, 0, 0, 0, 1], src, dst, 1, &buf[..len]);
        let ip = ip_in_frame(DataLink::ETHERNET, &frame).unwrap();
        let v = vrrp_in_ip(ip).unwrap();
        let j = describe(1, 0, &v);
        assert_eq!(j["verdict"], "ok");
        assert_eq!(j["checksum_form"], "pseudo-header");
        assert_eq!(j["vrid"], 51);
        let mut bad = v.clone();
        bad.ttl = 64;
        assert_eq!(describe(1, 0, &bad)["verdict"], "ttl");
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = ip_in_frame(DataLink::ETHERNET, &data).and_then(vrrp_in_ip);
            let _ = vrrp_in_ip(&data);
            let _ = decode_pcap(&data);
        }
    }
}
