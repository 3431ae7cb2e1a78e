//! Golden vectors: every VRRP packet that real keepalived 2.2.7 sent (tests/data/captures, made by
//! scripts/record-captures.py; see the README.md there) parses to
//! the field values that tshark and the capture notes printed, and re-emits byte for byte.
//!
//! The pcaps are read with a pcap crate; the expected values come from the text files beside them
//! (`checksums.txt` lists every VRRP packet, the `*.txt` files are `tshark -V` of the first frames).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use vigil_engine::wire::{
    self, Addrs, Auth, ChecksumForm, ChecksumPolicy, Interval, IpContext, Version,
};

fn captures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures");
    assert!(
        dir.join("checksums.txt").is_file(),
        "golden vectors not found at {}: they are part of the repository (restore them with \
         `git checkout -- engine/tests/data/captures`, or record them again with scripts/record-captures.py)",
        dir.display()
    );
    dir
}

/// One VRRP packet out of a capture: IP context, TTL and the VRRP payload.
struct Captured {
    ctx: IpContext,
    ttl: u8,
    payload: Vec<u8>,
}

/// Read an Ethernet pcap and return its VRRP packets (IP protocol / next header 112).
fn vrrp_packets(name: &str) -> Vec<Captured> {
    let file = std::fs::File::open(captures().join(name)).expect("open pcap");
    let mut reader = pcap_file::pcap::PcapReader::new(file).expect("pcap header");
    let mut out = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("pcap record");
        let d = &pkt.data[..];
        let ethertype = u16::from_be_bytes([d[12], d[13]]);
        let ip = &d[14..];
        match ethertype {
            0x0800 => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                if ip[9] != wire::IP_PROTO_VRRP {
                    continue;
                }
                let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
                let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
                out.push(Captured {
                    ctx: IpContext {
                        src: src.into(),
                        dst: dst.into(),
                    },
                    ttl: ip[8],
                    payload: ip[ihl..total].to_vec(),
                });
            }
            0x86dd => {
                if ip[6] != wire::IP_PROTO_VRRP {
                    continue;
                }
                let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                let src: [u8; 16] = ip[8..24].try_into().unwrap();
                let dst: [u8; 16] = ip[24..40].try_into().unwrap();
                out.push(Captured {
                    ctx: IpContext {
                        src: Ipv6Addr::from(src).into(),
                        dst: Ipv6Addr::from(dst).into(),
                    },
                    ttl: ip[7],
                    payload: ip[40..40 + plen].to_vec(),
                });
            }
            _ => {}
        }
    }
    out
}

/// Expected values of one packet, from a line of checksums.txt.
#[derive(Debug)]
struct Expected {
    version: u8,
    vrid: u8,
    prio: u8,
    count: usize,
    auth_type: Option<u8>,
    interval: String,
    addrs: Vec<IpAddr>,
    cksum: u16,
    plain_ok: bool,
    pseudo_ok: bool,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line
        .find(&format!(" {key}="))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + key.len()
        + 2;
    let rest = &line[start..];
    if rest.starts_with('[') {
        &rest[..rest.find(']').unwrap() + 1]
    } else {
        rest.split(' ').next().unwrap()
    }
}

/// The lines of checksums.txt for one pcap.
fn expected(name: &str) -> Vec<Expected> {
    let text = std::fs::read_to_string(captures().join("checksums.txt")).unwrap();
    let mut lines = text
        .lines()
        .skip_while(|l| *l != format!("== {name}"))
        .skip(1);
    let mut out = Vec::new();
    for line in lines.by_ref() {
        if line.starts_with("--") || line.starts_with("==") {
            break;
        }
        let vrrp = &line[line.find("| VRRPv").unwrap()..];
        let version = vrrp.as_bytes()[7] - b'0';
        let addrs = field(vrrp, "addrs")
            .trim_matches(|c| c == '[' || c == ']')
            .split(", ")
            .map(|a| a.trim_matches('\'').parse().unwrap())
            .collect();
        out.push(Expected {
            version,
            vrid: field(vrrp, "vrid").parse().unwrap(),
            prio: field(vrrp, "prio").parse().unwrap(),
            count: field(vrrp, "count").parse().unwrap(),
            auth_type: vrrp
                .contains(" auth_type=")
                .then(|| field(vrrp, "auth_type").parse().unwrap()),
            interval: if vrrp.contains(" adver_int=") {
                field(vrrp, "adver_int").to_string()
            } else {
                field(vrrp, "max_adver_int").to_string()
            },
            addrs,
            cksum: u16::from_str_radix(field(vrrp, "cksum").trim_start_matches("0x"), 16).unwrap(),
            plain_ok: field(vrrp, "plain_ok") == "True",
            pseudo_ok: field(vrrp, "pseudo_ok") == "True",
        });
    }
    assert!(!out.is_empty(), "{name} not listed in checksums.txt");
    out
}

/// The tshark -V text beside a pcap: per VRRP frame, (vrid, priority, checksum, interval).
fn tshark_frames(name: &str) -> Vec<(u8, u8, u16, u16)> {
    let text = std::fs::read_to_string(captures().join(name.replace(".pcap", ".txt"))).unwrap();
    let mut out = Vec::new();
    let mut cur: (Option<u8>, Option<u8>, Option<u16>) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Virtual Rtr ID: ") {
            cur.0 = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("Priority: ") {
            cur.1 = v.split(' ').next().unwrap().parse().ok();
        } else if let Some(v) = line.strip_prefix("Checksum: 0x") {
            cur.2 = u16::from_str_radix(&v[..4], 16).ok();
            assert!(line.ends_with("[correct]"), "tshark flagged {line}");
        } else if line.contains("Adver Int: ") {
            let v: u16 = line.rsplit(' ').next().unwrap().parse().unwrap();
            if let (Some(a), Some(b), Some(c)) = cur {
                out.push((a, b, c, v));
            }
            cur = (None, None, None);
        }
    }
    out
}

fn check_capture(name: &str, count: usize) {
    let packets = vrrp_packets(name);
    let expected = expected(name);
    assert_eq!(
        packets.len(),
        count,
        "{name}: packet count from the capture notes"
    );
    assert_eq!(
        packets.len(),
        expected.len(),
        "{name}: one checksums.txt line per packet"
    );

    for (i, (p, e)) in packets.iter().zip(&expected).enumerate() {
        assert_eq!(p.ttl, 255, "{name}#{i}: TTL");
        let a = wire::parse(&p.payload, &p.ctx, ChecksumPolicy::Rfc)
            .unwrap_or_else(|err| panic!("{name}#{i}: {err}"));
        assert_eq!(a.version.number(), e.version, "{name}#{i}");
        assert_eq!(a.vrid, e.vrid, "{name}#{i}");
        assert_eq!(a.priority, e.prio, "{name}#{i}");
        assert_eq!(a.addrs.len(), e.count, "{name}#{i}");
        assert_eq!(a.addrs.iter().collect::<Vec<_>>(), e.addrs, "{name}#{i}");
        assert_eq!(a.trailing, 0, "{name}#{i}");
        match a.interval {
            Interval::Seconds(s) => assert_eq!(format!("{s}s"), e.interval, "{name}#{i}"),
            Interval::Centiseconds(cs) => assert_eq!(format!("{cs}cs"), e.interval, "{name}#{i}"),
        }
        assert_eq!(a.auth.type_number(), e.auth_type.unwrap_or(0), "{name}#{i}");
        let form = if e.pseudo_ok {
            ChecksumForm::PseudoHeader
        } else {
            ChecksumForm::Plain
        };
        assert!(e.plain_ok || e.pseudo_ok);
        assert_eq!(a.checksum, form, "{name}#{i}: checksum form");
        // Either-policy reports the same form.
        let either = wire::parse(&p.payload, &p.ctx, ChecksumPolicy::Either).unwrap();
        assert_eq!(either.checksum, form);

        // Re-emit byte for byte from typed content (addresses as a list, not the wire bytes).
        let list: Vec<IpAddr> = a.addrs.iter().collect();
        let again = wire::Advert {
            addrs: Addrs::List(&list),
            ..a
        };
        let mut buf = [0u8; wire::MAX_ADVERT_LEN];
        let n = wire::emit(&again, &p.ctx, &mut buf).unwrap();
        assert_eq!(&buf[..n], &p.payload[..], "{name}#{i}: re-emitted bytes");
        assert_eq!(
            u16::from_be_bytes([buf[6], buf[7]]),
            e.cksum,
            "{name}#{i}: checksum"
        );
    }

    // The tshark text of the first frames: same values.
    let shark = tshark_frames(name);
    assert!(
        !shark.is_empty(),
        "{name}: no VRRP frame in the tshark text"
    );
    for (i, (vrid, prio, cksum, ival)) in shark.iter().enumerate() {
        let a = wire::parse(&packets[i].payload, &packets[i].ctx, ChecksumPolicy::Rfc).unwrap();
        assert_eq!(
            (a.vrid, a.priority),
            (*vrid, *prio),
            "{name} tshark frame {i}"
        );
        assert_eq!(
            wire::Packet::new_unchecked(&packets[i].payload[..], packets[i].ctx.family().unwrap())
                .checksum_field(),
            *cksum
        );
        let wire_ival = match a.interval {
            Interval::Seconds(s) => u16::from(s),
            Interval::Centiseconds(cs) => cs,
        };
        assert_eq!(wire_ival, *ival, "{name} tshark frame {i}: interval");
    }
}

#[test]
fn golden_vrrp2_ipv4() {
    check_capture("vrrp2-ipv4.pcap", 14);
}

#[test]
fn golden_vrrp2_ipv4_authpass() {
    check_capture("vrrp2-ipv4-authpass.pcap", 14);
    let p = &vrrp_packets("vrrp2-ipv4-authpass.pcap")[0];
    let a = wire::parse(&p.payload, &p.ctx, ChecksumPolicy::Rfc).unwrap();
    assert_eq!(a.auth, Auth::simple(b"secret1"));
    assert_eq!(a.version, Version::V2);
}

#[test]
fn golden_vrrp3_ipv4() {
    check_capture("vrrp3-ipv4.pcap", 17);
}

#[test]
fn golden_vrrp3_ipv4_ai0_1() {
    check_capture("vrrp3-ipv4-ai0.1.pcap", 25);
    let p = &vrrp_packets("vrrp3-ipv4-ai0.1.pcap")[0];
    let a = wire::parse(&p.payload, &p.ctx, ChecksumPolicy::Rfc).unwrap();
    assert_eq!(a.interval, Interval::Centiseconds(10));
}

#[test]
fn golden_vrrp3_ipv6() {
    check_capture("vrrp3-ipv6.pcap", 17);
}

#[test]
fn golden_vrrp3_plain_policy_rejects_keepalived_pseudo_header_form() {
    // keepalived 2.2.7 always sends the pseudo-header form; a receiver set to v3-as-v2 only must
    // reject it, by name.
    for p in vrrp_packets("vrrp3-ipv4.pcap") {
        let err = wire::parse(&p.payload, &p.ctx, ChecksumPolicy::V3Plain).unwrap_err();
        assert_eq!(err.rule(), "checksum");
    }
}
