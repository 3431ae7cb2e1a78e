//! Every class of malformed packet the engine rejects by name, one test each, through the public
//! API: the packet is delivered to a started engine, and the test checks the one
//! `Action::ProtocolError` it produces (its rule name, whether an instance was reached) and the
//! one counter it increments. FUZZING.md lists the classes.
//!
//! Four codec rules cannot be reached through the engine, because an earlier check of RFC 5798
//! section 7.1 rejects the packet first: `unknown_version` and `v2_over_ipv6` (the version check
//! against the configuration), `vrid_zero` (no instance has VRID 0), `family_mismatch` (the
//! engine's own family check). The codec's tests in `engine/src/wire.rs` (`tests::rules`) cover
//! those four, and every other codec rule, on the parser alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil_engine::stats::{InstanceStats, RouterStats};
use vigil_engine::wire::{
    self, Addrs, Advert, Auth, ChecksumForm, Family, Interval, IpContext, Version,
};
use vigil_engine::{
    Action, Engine, EngineConfig, IfaceId, Input, InstanceConfig, InstanceId, Instant, Received,
};

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn peer6() -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x20)
}

/// eth0: VRRPv3 over IPv4 and IPv6, VRID 51; eth1: VRRPv2 with password `secret1`, VRID 51.
fn engine() -> Engine {
    let v3 = InstanceConfig::new("V3_4", "eth0", 51, Version::V3, Family::V4).vips([VIP.into()]);
    let v6 = InstanceConfig::new("V3_6", "eth0", 51, Version::V3, Family::V6).vips([IpAddr::V6(
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100),
    )]);
    let mut v2 = InstanceConfig::new("V2", "eth1", 51, Version::V2, Family::V4).vips([VIP.into()]);
    v2.auth = Auth::simple(b"secret1");
    let mut e = Engine::new(EngineConfig::instances(vec![v3, v6, v2])).unwrap();
    for (iface, addr) in [
        ("eth0", IpAddr::V4(ME)),
        (
            "eth0",
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10)),
        ),
        ("eth1", IpAddr::V4(ME)),
    ] {
        let iface = e.interface_id(iface).unwrap();
        e.handle_input(
            Instant::ZERO,
            Input::PrimaryAddress {
                iface,
                family: Family::of(&addr),
                addr: Some(addr),
            },
        );
    }
    e.handle_input(Instant::ZERO, Input::Start);
    while e.poll_action().is_some() {}
    e
}

/// A valid advert from PEER to the IPv4 group: v3 (eth0) or v2 with the password (eth1).
fn advert(version: Version) -> Vec<u8> {
    let addrs = [IpAddr::V4(VIP)];
    let (interval, auth, checksum) = match version {
        Version::V2 => (
            Interval::Seconds(1),
            Auth::simple(b"secret1"),
            ChecksumForm::Plain,
        ),
        Version::V3 => (
            Interval::Centiseconds(100),
            Auth::None,
            ChecksumForm::PseudoHeader,
        ),
    };
    let a = Advert {
        version,
        vrid: 51,
        priority: 100,
        interval,
        addrs: Addrs::List(&addrs),
        auth,
        checksum,
        trailing: 0,
    };
    let mut buf = vec![0u8; wire::MAX_ADVERT_LEN];
    let n = wire::emit(&a, &ctx4(), &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn ctx4() -> IpContext {
    IpContext {
        src: PEER.into(),
        dst: wire::MCAST_V4.into(),
    }
}

/// Rewrite the checksum after a change, so that the change itself is what gets rejected.
fn fix_checksum(b: &mut [u8], pseudo: bool) {
    let form = if pseudo {
        wire::ChecksumForm::PseudoHeader
    } else {
        wire::ChecksumForm::Plain
    };
    wire::Packet::new_unchecked(b, wire::Family::V4).fill_checksum(&ctx4(), form);
}

/// What one delivery did: the rule of its ProtocolError, the instance it reached, and the
/// counters after.
struct Rejected {
    rule: &'static str,
    instance: Option<InstanceId>,
    stats: Vec<InstanceStats>,
    router: RouterStats,
}

fn deliver(iface: IfaceId, src: IpAddr, dst: IpAddr, ttl: u8, payload: &[u8]) -> Rejected {
    let mut e = engine();
    e.handle_input(
        Instant::from_millis(1),
        Input::Packet(Received {
            iface,
            src,
            dst,
            ttl,
            payload,
        }),
    );
    let errors: Vec<Action> = std::iter::from_fn(|| e.poll_action())
        .filter(|a| matches!(a, Action::ProtocolError { .. }))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one ProtocolError: {errors:?}");
    let Action::ProtocolError { rule, instance, .. } = &errors[0] else {
        unreachable!()
    };
    let stats: Vec<InstanceStats> = e.instances().map(|i| *i.stats()).collect();
    // Exactly one drop counted, on the instance reached or on the router.
    let drops: u64 = stats.iter().map(|s| s.drops()).sum();
    let r = e.router_stats();
    let router_drops = r.vrid_errors + r.packet_length_errors + r.unknown_interface_or_family;
    assert_eq!(drops + router_drops, 1, "exactly one drop counter");
    Rejected {
        rule: rule.name(),
        instance: *instance,
        stats,
        router: *r,
    }
}

const ETH0: IfaceId = IfaceId(0);
const ETH1: IfaceId = IfaceId(1);

fn on_eth0(payload: &[u8]) -> Rejected {
    deliver(ETH0, PEER.into(), wire::MCAST_V4.into(), 255, payload)
}

fn on_eth1(payload: &[u8]) -> Rejected {
    deliver(ETH1, PEER.into(), wire::MCAST_V4.into(), 255, payload)
}

/// A writable view of a test advert (IPv4).
fn view(b: &mut [u8]) -> wire::Packet<&mut [u8]> {
    wire::Packet::new_unchecked(b, Family::V4)
}

fn v3_with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = advert(Version::V3);
    f(&mut b);
    fix_checksum(&mut b, true);
    b
}

fn v2_with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = advert(Version::V2);
    f(&mut b);
    fix_checksum(&mut b, false);
    b
}

// ----- rejected by the codec (ParseError), counted on the instance ------------------------------

#[test]
fn too_short_for_the_header() {
    let r = on_eth0(&advert(Version::V3)[..7]);
    assert_eq!((r.rule, r.instance), ("too_short", Some(InstanceId(0))));
    assert_eq!(r.stats[0].packet_length_errors, 1);
}

#[test]
fn unknown_type() {
    let r = on_eth0(&v3_with(|b| view(b).set_msg_type(2)));
    assert_eq!(r.rule, "unknown_type");
    assert_eq!(r.stats[0].invalid_type_received, 1);
}

#[test]
fn address_count_zero() {
    let r = on_eth0(&v3_with(|b| view(b).set_count(0)));
    assert_eq!(r.rule, "address_count_zero");
    assert_eq!(r.stats[0].address_count_zero, 1);
}

#[test]
fn length_mismatch() {
    let r = on_eth0(&v3_with(|b| view(b).set_count(2)));
    assert_eq!(r.rule, "length_mismatch");
    assert_eq!(r.stats[0].packet_length_errors, 1);
}

#[test]
fn v2_interval_zero() {
    let r = on_eth1(&v2_with(|b| view(b).set_interval(0)));
    assert_eq!(
        (r.rule, r.instance),
        ("v2_interval_zero", Some(InstanceId(2)))
    );
    assert_eq!(r.stats[2].advert_interval_errors, 1);
}

#[test]
fn v3_interval_zero() {
    let r = on_eth0(&v3_with(|b| {
        let mut v = view(b);
        v.set_auth_type(0xf0); // the 4 reserved bits set, the interval's high bits clear
        v.set_interval(0);
    }));
    assert_eq!(r.rule, "v3_interval_zero");
    assert_eq!(r.stats[0].advert_interval_errors, 1);
}

#[test]
fn unsupported_auth_type() {
    let r = on_eth1(&v2_with(|b| view(b).set_auth_type(2)));
    assert_eq!(r.rule, "unsupported_auth_type");
    assert_eq!(r.stats[2].invalid_auth_type, 1);
}

#[test]
fn checksum() {
    let mut b = advert(Version::V3);
    view(&mut b).set_priority(101);
    let r = on_eth0(&b);
    assert_eq!(r.rule, "checksum");
    assert_eq!(r.stats[0].checksum_errors, 1);
    // The plain form (no pseudo-header) is accepted on VRRPv3 over IPv4 (both forms are, by
    // default: engine/src/engine/tests/receive.rs); a broken one is still a checksum error.
    let mut plain = advert(Version::V3);
    fix_checksum(&mut plain, false);
    view(&mut plain).set_priority(101);
    let r = on_eth0(&plain);
    assert_eq!(r.rule, "checksum");
}

// ----- rejected by the engine's receive checks (RFC 5798 section 7.1) --------------------------

#[test]
fn ttl_not_255() {
    let r = deliver(
        ETH0,
        PEER.into(),
        wire::MCAST_V4.into(),
        64,
        &advert(Version::V3),
    );
    assert_eq!(r.rule, "ttl");
    assert_eq!(r.stats[0].ip_ttl_errors, 1);
}

#[test]
fn version_not_configured() {
    let r = on_eth0(&v3_with(|b| view(b).set_version_number(2)));
    assert_eq!(r.rule, "version");
    assert_eq!(r.stats[0].version_errors, 1);
    // A version that does not exist is the same class here (the codec calls it unknown_version).
    let r = on_eth0(&v3_with(|b| view(b).set_version_number(4)));
    assert_eq!(r.rule, "version");
}

#[test]
fn vrid_not_configured() {
    let r = on_eth0(&v3_with(|b| view(b).set_vrid(52)));
    assert_eq!((r.rule, r.instance), ("vrid_not_configured", None));
    assert_eq!(r.router.vrid_errors, 1);
}

#[test]
fn too_short_for_a_vrid() {
    let r = on_eth0(&[0x31]);
    assert_eq!((r.rule, r.instance), ("too_short", None));
    assert_eq!(r.router.packet_length_errors, 1);
}

#[test]
fn unknown_interface_or_mixed_families() {
    let b = advert(Version::V3);
    let r = deliver(IfaceId(9), PEER.into(), wire::MCAST_V4.into(), 255, &b);
    assert_eq!((r.rule, r.instance), ("unknown_interface_or_family", None));
    let r = deliver(ETH0, PEER.into(), wire::MCAST_V6.into(), 255, &b);
    assert_eq!(r.rule, "unknown_interface_or_family");
    assert_eq!(r.router.unknown_interface_or_family, 1);
    let r = deliver(ETH0, peer6().into(), wire::MCAST_V4.into(), 255, &b);
    assert_eq!(r.rule, "unknown_interface_or_family");
}

#[test]
fn address_list_differs() {
    let r = on_eth0(&v3_with(|b| {
        let first = wire::Packet::new_unchecked(&b[..], Family::V4)
            .addrs()
            .get(0);
        let Some(IpAddr::V4(a)) = first else {
            panic!("the test advert has an IPv4 address")
        };
        let [w, x, y, _] = a.octets();
        view(b).set_addr(0, IpAddr::V4(Ipv4Addr::new(w, x, y, 101)));
    }));
    assert_eq!(r.rule, "address_list");
    assert_eq!(r.stats[0].address_list_drops, 1);
    assert_eq!(r.stats[0].address_list_errors, 1);
}

#[test]
fn v2_advert_interval_differs() {
    let r = on_eth1(&v2_with(|b| view(b).set_interval(2)));
    assert_eq!(r.rule, "advert_interval");
    assert_eq!(r.stats[2].advert_interval_errors, 1);
}

#[test]
fn v2_auth_type_differs() {
    let r = on_eth1(&v2_with(|b| {
        view(b).set_auth(Auth::None);
    }));
    assert_eq!(r.rule, "auth_type_mismatch");
    assert_eq!(r.stats[2].auth_type_mismatch, 1);
}

#[test]
fn v2_password_differs() {
    let r = on_eth1(&v2_with(|b| {
        let n = b.len();
        b[n - 2] = b'2';
    }));
    assert_eq!(r.rule, "auth_failure");
    assert_eq!(r.stats[2].auth_failures, 1);
}
