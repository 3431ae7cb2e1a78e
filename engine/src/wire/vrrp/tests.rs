//! Tests of the VRRP codec: keepalived frames byte for byte, every structural rule, and property
//! tests (round trip, corruption caught).

use super::*;
use proptest::prelude::*;

fn v4ctx() -> IpContext {
    IpContext {
        src: "192.0.2.12".parse().unwrap(),
        dst: IpAddr::V4(MCAST_V4),
    }
}

fn v6ctx() -> IpContext {
    IpContext {
        src: "fe80::ff:fe00:2".parse().unwrap(),
        dst: IpAddr::V6(MCAST_V6),
    }
}

fn v3(addrs: &[IpAddr]) -> Advert<'_> {
    Advert {
        version: Version::V3,
        vrid: 51,
        priority: 100,
        interval: Interval::Centiseconds(100),
        addrs: Addrs::List(addrs),
        auth: Auth::None,
        checksum: ChecksumForm::PseudoHeader,
        trailing: 0,
    }
}

fn v2(addrs: &[IpAddr]) -> Advert<'_> {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        interval: Interval::Seconds(1),
        addrs: Addrs::List(addrs),
        auth: Auth::None,
        checksum: ChecksumForm::Plain,
        trailing: 0,
    }
}

fn bytes(a: &Advert<'_>, ctx: &IpContext) -> Vec<u8> {
    let mut buf = [0u8; MAX_ADVERT_LEN];
    let n = emit(a, ctx, &mut buf).unwrap();
    buf[..n].to_vec()
}

// Literal bytes from tests/data/captures/vrrp3-ipv4.pcap frame 1 (tshark: checksum 0x0567 correct), and
// vrrp2-ipv4.pcap frame 1 (0xb865): the emitter's output, checked against the tshark text.
#[test]
fn emit_v3_ipv4_matches_keepalived_frame() {
    let vip = ["192.0.2.100".parse().unwrap()];
    let b = bytes(&v3(&vip), &v4ctx());
    assert_eq!(
        b,
        [0x31, 51, 100, 1, 0x00, 0x64, 0x05, 0x67, 192, 0, 2, 100]
    );
}

#[test]
fn emit_v2_matches_keepalived_frame() {
    let vip = ["192.0.2.100".parse().unwrap()];
    let b = bytes(&v2(&vip), &v4ctx());
    assert_eq!(&b[..8], &[0x21, 51, 100, 1, 0, 1, 0xb8, 0x65]);
    assert_eq!(b.len(), 20);
}

#[test]
fn v3_ipv4_plain_form_is_accepted_only_when_policy_allows() {
    let vip = ["192.0.2.100".parse().unwrap()];
    let mut a = v3(&vip);
    a.checksum = ChecksumForm::Plain;
    let b = bytes(&a, &v4ctx());
    assert_eq!(
        parse(&b, &v4ctx(), ChecksumPolicy::Rfc),
        Err(ParseError::Checksum {
            received: u16::from_be_bytes([b[6], b[7]])
        })
    );
    assert_eq!(
        parse(&b, &v4ctx(), ChecksumPolicy::Either)
            .unwrap()
            .checksum,
        ChecksumForm::Plain
    );
    assert_eq!(
        parse(&b, &v4ctx(), ChecksumPolicy::V3Plain)
            .unwrap()
            .checksum,
        ChecksumForm::Plain
    );
    let rfc = bytes(&v3(&vip), &v4ctx());
    assert_eq!(
        parse(&rfc, &v4ctx(), ChecksumPolicy::Either)
            .unwrap()
            .checksum,
        ChecksumForm::PseudoHeader
    );
    assert!(parse(&rfc, &v4ctx(), ChecksumPolicy::V3Plain).is_err());
}

#[test]
fn trailing_bytes_are_accepted_and_reported() {
    let vip = ["192.0.2.100".parse().unwrap()];
    // A v2 packet with 6 bytes of padding, checksum over all of it (zeros do not change it).
    let mut b = bytes(&v2(&vip), &v4ctx());
    b.extend_from_slice(&[0; 6]);
    let a = parse(&b, &v4ctx(), ChecksumPolicy::Rfc).unwrap();
    assert_eq!(a.trailing, 6);
    // Non-zero padding that the sender did not sum is a checksum error.
    b[21] = 1;
    assert!(matches!(
        parse(&b, &v4ctx(), ChecksumPolicy::Rfc),
        Err(ParseError::Checksum { .. })
    ));
}

/// One test per parse rule, named after it.
mod rules {
    use super::*;

    fn good() -> Vec<u8> {
        let vip = ["192.0.2.100".parse().unwrap()];
        bytes(&v3(&vip), &v4ctx())
    }

    fn err(b: &[u8]) -> ParseError {
        parse(b, &v4ctx(), ChecksumPolicy::Rfc).unwrap_err()
    }

    #[test]
    fn too_short() {
        assert_eq!(err(&good()[..7]), ParseError::TooShort { len: 7 });
        assert_eq!(err(&[]), ParseError::TooShort { len: 0 });
    }
    #[test]
    fn unknown_version() {
        let mut b = good();
        b[0] = 0x41;
        assert_eq!(err(&b), ParseError::UnknownVersion(4));
    }
    #[test]
    fn v2_over_ipv6() {
        let vip = ["192.0.2.100".parse().unwrap()];
        let b = bytes(&v2(&vip), &v4ctx());
        assert_eq!(
            parse(&b, &v6ctx(), ChecksumPolicy::Rfc),
            Err(ParseError::V2OverIpv6)
        );
    }
    #[test]
    fn unknown_type() {
        let mut b = good();
        b[0] = 0x32;
        assert_eq!(err(&b), ParseError::UnknownType(2));
    }
    #[test]
    fn vrid_zero() {
        let mut b = good();
        b[1] = 0;
        assert_eq!(err(&b), ParseError::VridZero);
    }
    #[test]
    fn address_count_zero() {
        let mut b = good();
        b[3] = 0;
        assert_eq!(err(&b), ParseError::AddressCountZero);
    }
    #[test]
    fn length_mismatch() {
        let mut b = good();
        b[3] = 2;
        assert_eq!(
            err(&b),
            ParseError::LengthMismatch {
                needed: 16,
                len: 12
            }
        );
        assert_eq!(
            err(&good()[..11]),
            ParseError::LengthMismatch {
                needed: 12,
                len: 11
            }
        );
    }
    #[test]
    fn v2_interval_zero() {
        let vip = ["192.0.2.100".parse().unwrap()];
        let mut b = bytes(&v2(&vip), &v4ctx());
        b[5] = 0;
        assert_eq!(err(&b), ParseError::V2IntervalZero);
    }
    #[test]
    fn v3_interval_zero() {
        let mut b = good();
        b[4] = 0xf0; // reserved bits set, interval 0
        b[5] = 0;
        assert_eq!(err(&b), ParseError::V3IntervalZero);
    }
    #[test]
    fn unsupported_auth_type() {
        let vip = ["192.0.2.100".parse().unwrap()];
        let mut b = bytes(&v2(&vip), &v4ctx());
        b[4] = 2;
        assert_eq!(err(&b), ParseError::UnsupportedAuthType(2));
    }
    #[test]
    fn checksum() {
        let mut b = good();
        b[2] = 101;
        assert_eq!(err(&b), ParseError::Checksum { received: 0x0567 });
    }
    #[test]
    fn family_mismatch() {
        let ctx = IpContext {
            src: "192.0.2.1".parse().unwrap(),
            dst: IpAddr::V6(MCAST_V6),
        };
        assert_eq!(
            parse(&good(), &ctx, ChecksumPolicy::Rfc),
            Err(ParseError::FamilyMismatch)
        );
    }
    #[test]
    fn reserved_bits_are_ignored() {
        let mut b = good();
        b[4] |= 0xf0;
        // Recompute the checksum over the modified packet with the pseudo-header.
        Packet::new_unchecked(&mut b[..], Family::V4)
            .fill_checksum(&v4ctx(), ChecksumForm::PseudoHeader);
        let a = parse(&b, &v4ctx(), ChecksumPolicy::Rfc).unwrap();
        assert_eq!(a.interval, Interval::Centiseconds(100));
    }
}

/// (version, family, vrid, priority, interval, addresses, v2 password, source, destination,
/// checksum policy)
type ArbAdvert = (
    Version,
    Family,
    u8,
    u8,
    u16,
    Vec<IpAddr>,
    Option<[u8; 8]>,
    IpAddr,
    IpAddr,
    ChecksumPolicy,
);

fn arb_advert() -> impl Strategy<Value = ArbAdvert> {
    (any::<bool>(), any::<bool>()).prop_flat_map(|(is_v2, is_v6)| {
        let family = if is_v6 && !is_v2 {
            Family::V6
        } else {
            Family::V4
        };
        let version = if is_v2 { Version::V2 } else { Version::V3 };
        let addr = move || -> BoxedStrategy<IpAddr> {
            match family {
                Family::V4 => any::<[u8; 4]>()
                    .prop_map(|b| IpAddr::V4(Ipv4Addr::from(b)))
                    .boxed(),
                Family::V6 => any::<[u8; 16]>()
                    .prop_map(|b| IpAddr::V6(Ipv6Addr::from(b)))
                    .boxed(),
            }
        };
        let interval = match version {
            Version::V2 => (1u16..=255).boxed(),
            Version::V3 => (1u16..=V3_MAX_INTERVAL_CS).boxed(),
        };
        let auth = if is_v2 {
            proptest::option::of(any::<[u8; 8]>()).boxed()
        } else {
            Just(None).boxed()
        };
        let policy = prop_oneof![
            Just(ChecksumPolicy::Rfc),
            Just(ChecksumPolicy::V3Plain),
            Just(ChecksumPolicy::Either)
        ];
        (
            Just(version),
            Just(family),
            1u8..=255,
            any::<u8>(),
            interval,
            proptest::collection::vec(addr(), 1..20),
            auth,
            addr(),
            addr(),
            policy,
        )
    })
}

proptest! {
    #[test]
    fn emit_parse_round_trip((version, family, vrid, priority, ival, addrs, auth, src, dst, policy) in arb_advert()) {
        let advert = Advert {
            version,
            vrid,
            priority,
            interval: match version { Version::V2 => Interval::Seconds(ival as u8), Version::V3 => Interval::Centiseconds(ival) },
            addrs: Addrs::List(&addrs),
            auth: auth.map_or(Auth::None, Auth::Simple),
            checksum: policy.emit_form(version, family),
            trailing: 0,
        };
        let ctx = IpContext { src, dst };
        let mut buf = [0u8; MAX_ADVERT_LEN];
        let n = emit(&advert, &ctx, &mut buf).unwrap();
        prop_assert_eq!(n, advert.encoded_len());
        let back = parse(&buf[..n], &ctx, policy).unwrap();
        prop_assert_eq!(back, advert);
        // Re-emitting what was parsed gives the same bytes.
        let mut again = [0u8; MAX_ADVERT_LEN];
        let m = emit(&back, &ctx, &mut again).unwrap();
        prop_assert_eq!(&buf[..n], &again[..m]);
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), v6 in any::<bool>(), policy in 0u8..3) {
        let ctx = if v6 { v6ctx() } else { v4ctx() };
        let policy = [ChecksumPolicy::Rfc, ChecksumPolicy::V3Plain, ChecksumPolicy::Either][policy as usize];
        let _ = parse(&bytes, &ctx, policy);
    }

    /// Every single-bit flip of a valid packet is rejected under the RFC policy, except the
    /// version 2 -> 3 flip documented in the module docs.
    #[test]
    fn single_bit_flips_are_rejected((version, family, vrid, priority, ival, addrs, auth, src, dst, _p) in arb_advert(), bit in any::<prop::sample::Index>()) {
        let advert = Advert {
            version, vrid, priority,
            interval: match version { Version::V2 => Interval::Seconds(ival as u8), Version::V3 => Interval::Centiseconds(ival) },
            addrs: Addrs::List(&addrs),
            auth: auth.map_or(Auth::None, Auth::Simple),
            checksum: ChecksumPolicy::Rfc.emit_form(version, family),
            trailing: 0,
        };
        let ctx = IpContext { src, dst };
        let mut buf = [0u8; MAX_ADVERT_LEN];
        let n = emit(&advert, &ctx, &mut buf).unwrap();
        let bit = bit.index(n * 8);
        let version_2_to_3 = version == Version::V2 && bit == 3; // byte 0, mask 0x10
        buf[bit / 8] ^= 0x80 >> (bit % 8);
        if !version_2_to_3 {
            prop_assert!(parse(&buf[..n], &ctx, ChecksumPolicy::Rfc).is_err());
        }
    }

    /// Any change of one aligned 16-bit word (other than 0x0000 <-> 0xffff) is rejected.
    #[test]
    fn word_corruptions_are_rejected((version, family, vrid, priority, ival, addrs, auth, src, dst, _p) in arb_advert(), word in any::<prop::sample::Index>(), value in any::<u16>()) {
        let advert = Advert {
            version, vrid, priority,
            interval: match version { Version::V2 => Interval::Seconds(ival as u8), Version::V3 => Interval::Centiseconds(ival) },
            addrs: Addrs::List(&addrs),
            auth: auth.map_or(Auth::None, Auth::Simple),
            checksum: ChecksumPolicy::Rfc.emit_form(version, family),
            trailing: 0,
        };
        let ctx = IpContext { src, dst };
        let mut buf = [0u8; MAX_ADVERT_LEN];
        let n = emit(&advert, &ctx, &mut buf).unwrap();
        let w = word.index(n / 2) * 2;
        let old = u16::from_be_bytes([buf[w], buf[w + 1]]);
        // Skip the identity, the 0/ffff alias, and words that touch the version nibble.
        prop_assume!(value != old && !(old == 0 && value == 0xffff) && !(old == 0xffff && value == 0));
        prop_assume!(w != 0 || (value >> 12) == (old >> 12));
        buf[w..w + 2].copy_from_slice(&value.to_be_bytes());
        prop_assert!(parse(&buf[..n], &ctx, ChecksumPolicy::Rfc).is_err());
    }
}
