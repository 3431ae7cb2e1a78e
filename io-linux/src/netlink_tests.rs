//! Unit tests of `netlink.rs` (the pure helpers: primary and link-local address choice).

use super::*;
use std::net::Ipv4Addr;
use vigil_engine::Scope;

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn a(addr: IpAddr, secondary: bool, tentative: bool) -> Addr {
    Addr {
        index: 2,
        addr,
        prefix_len: 24,
        secondary,
        tentative,
    }
}

#[test]
fn primary_skips_secondaries_and_our_virtual_addresses() {
    let list = [
        a(v4("192.0.2.100"), false, false),
        a(v4("192.0.2.11"), false, false),
        a(v4("192.0.2.12"), true, false),
    ];
    let ours = [v4("192.0.2.100")].into_iter().collect();
    assert_eq!(primary_v4(&list, &ours), Some(v4("192.0.2.11")));
    assert_eq!(primary_v4(&list[2..], &Default::default()), None);
}

#[test]
fn link_local_skips_global_and_tentative() {
    let list = [
        a("2001:db8::1".parse().unwrap(), false, false),
        a("fe80::1".parse().unwrap(), false, true),
        a("fe80::2".parse().unwrap(), false, false),
    ];
    assert_eq!(link_local_v6(&list), Some("fe80::2".parse().unwrap()));
}

#[test]
fn an_address_request_carries_label_broadcast_and_scope() {
    let v = VirtualAddress {
        addr: v4("192.0.2.100"),
        prefix_len: 24,
        dev: None,
        broadcast: Some("192.0.2.255".parse().unwrap()),
        scope: Scope::Link,
        label: Some("eth0:vip".into()),
        ..VirtualAddress::new(v4("192.0.2.100"))
    };
    let m = Rtnl::addr_message(3, &v).unwrap();
    assert_eq!(m.header.index, 3);
    assert_eq!(m.header.prefix_len, 24);
    assert_eq!(m.header.scope, AddressScope::Link);
    assert!(m
        .attributes
        .contains(&AddressAttribute::Label("eth0:vip".into())));
    assert!(m
        .attributes
        .contains(&AddressAttribute::Broadcast("192.0.2.255".parse().unwrap())));
}

/// keepalived's netlink_ipaddress: IFA_LOCAL the address, IFA_ADDRESS the peer, the flags
/// in IFA_FLAGS, IFA_CACHEINFO for an IPv6 lifetime that is not forever, nodad on IPv6
/// unless `-nodad`.
#[test]
fn an_address_request_carries_peer_flags_and_lifetime() {
    let v = VirtualAddress {
        prefix_len: 30,
        peer: Some(v4("192.0.2.2")),
        flags: vigil_engine::AddrFlags {
            noprefixroute: true,
            mngtmpaddr: true,
            ..Default::default()
        },
        ..VirtualAddress::new(v4("192.0.2.1"))
    };
    let m = Rtnl::addr_message(3, &v).unwrap();
    assert!(m
        .attributes
        .contains(&AddressAttribute::Local(v4("192.0.2.1"))));
    assert!(m
        .attributes
        .contains(&AddressAttribute::Address(v4("192.0.2.2"))));
    assert!(m.attributes.contains(&AddressAttribute::Flags(
        AddressFlags::Noprefixroute | AddressFlags::Managetempaddr
    )));
    assert!(!m
        .attributes
        .iter()
        .any(|a| matches!(a, AddressAttribute::CacheInfo(_))));
    let six = |s: &str| -> IpAddr { s.parse().unwrap() };
    let v = VirtualAddress {
        preferred_lft: 0,
        flags: vigil_engine::AddrFlags {
            home: true,
            ..Default::default()
        },
        ..VirtualAddress::new(six("2001:db8::1"))
    };
    let m = Rtnl::addr_message(3, &v).unwrap();
    assert!(m.attributes.contains(&AddressAttribute::Flags(
        AddressFlags::Homeaddress | AddressFlags::Nodad
    )));
    let ci = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::CacheInfo(c) => Some(*c),
        _ => None,
    });
    assert_eq!(
        ci.map(|c| (c.ifa_preferred, c.ifa_valid)),
        Some((0, u32::MAX))
    );
    let v = VirtualAddress {
        flags: vigil_engine::AddrFlags {
            dad: true,
            ..Default::default()
        },
        ..VirtualAddress::new(six("2001:db8::1"))
    };
    let m = Rtnl::addr_message(3, &v).unwrap();
    assert!(!m.attributes.iter().any(|a| matches!(
        a,
        AddressAttribute::Flags(_) | AddressAttribute::CacheInfo(_)
    )));
}

/// The scope is typed (the parser checked the word): the request carries its number, the
/// default being global (universe), as `ip addr add` does.
#[test]
fn an_address_request_carries_the_scope_number() {
    let scope = |scope| {
        let v = VirtualAddress {
            scope,
            ..VirtualAddress::new(v4("192.0.2.1"))
        };
        Rtnl::addr_message(1, &v).unwrap().header.scope
    };
    assert_eq!(scope(Scope::Global), AddressScope::Universe);
    assert_eq!(scope(Scope::Host), AddressScope::Host);
    assert_eq!(scope(Scope::Number(254)), AddressScope::Host);
    assert_eq!(scope(Scope::Number(42)), AddressScope::from(42));
}

/// The removal prepared at addition time is, once its sequence number is set, byte for byte
/// the request the crate encodes with that sequence number (what was sent before it was
/// prepared), for IPv4, IPv6 and a point-to-point peer.
#[test]
fn prepared_removal_is_the_crates_request() {
    let keys: [DelKey; 3] = [
        (7, v4("192.0.2.100"), 24, None),
        (3, "2001:db8::5".parse().unwrap(), 64, None),
        (9, v4("198.51.100.1"), 32, Some(v4("198.51.100.2"))),
    ];
    for key in keys {
        let mut prepared = del_request(key).unwrap();
        set_sequence(&mut prepared, 0x0102_0304);
        let mut msg = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::from(RouteNetlinkMessage::DelAddress(
                Rtnl::del_message(key).unwrap(),
            )),
        );
        msg.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        msg.header.sequence_number = 0x0102_0304;
        msg.finalize();
        let mut expected = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut expected);
        assert_eq!(prepared, expected, "{key:?}");
        // And the kernel's view of it: RTM_DELADDR with IFA_LOCAL and IFA_ADDRESS.
        let back = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&prepared).unwrap();
        assert_eq!(back.header.sequence_number, 0x0102_0304);
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) = back.payload else {
            panic!("not an RTM_DELADDR: {back:?}");
        };
        assert_eq!(m.header.index, key.0);
        assert_eq!(m.header.prefix_len, key.2);
        assert!(m.attributes.contains(&AddressAttribute::Local(key.1)));
        assert!(m
            .attributes
            .contains(&AddressAttribute::Address(key.3.unwrap_or(key.1))));
    }
}
