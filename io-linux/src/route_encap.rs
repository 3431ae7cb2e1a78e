//! A route's `encap` and `ttl-propagate` as rtnetlink attributes, byte for byte what keepalived
//! 2.2.7 sends (`vrrp_iproute.c` `add_encap`, `add_encap_mpls` / `_ip` / `_ila` / `_ip6`, and
//! `netlink_route`'s `RTA_TTL_PROPAGATE`), for a route and for each nexthop of a multipath route.
//!
//! The kernel's numbers (cited in the tests, which build the expected bytes from them):
//! `include/uapi/linux/rtnetlink.h` `RTA_ENCAP_TYPE` 21, `RTA_ENCAP` 22, `RTA_TTL_PROPAGATE` 26;
//! `lwtunnel.h` `LWTUNNEL_ENCAP_MPLS` 1, `_IP` 2, `_ILA` 3, `_IP6` 4 and the `LWTUNNEL_IP_*` /
//! `LWTUNNEL_IP6_*` members; `mpls_iptunnel.h` `MPLS_IPTUNNEL_DST` 1; `ila.h` `ILA_ATTR_LOCATOR`
//! 1. keepalived nests `RTA_ENCAP` without `NLA_F_NESTED` (its `rta_nest`), as here.
//!
//! What this host's kernel runs: `ip` and `ip6` (live-tested against keepalived in
//! `tests/tests/route_encap_netns.rs`); `mpls` and `ila` need the kernel's MPLS / ILA modules
//! (`CONFIG_MPLS_IPTUNNEL`, `CONFIG_IPV6_ILA`): without them the kernel answers "lwt
//! encapsulation type not supported" and vigild logs the failed install as for any other route.

use netlink_packet_core::DefaultNla;
use netlink_packet_route::route::{
    MplsLabel, RouteAttribute, RouteIp6Tunnel, RouteIp6TunnelFlags, RouteIpTunnel,
    RouteIpTunnelFlags, RouteLwEnCapType, RouteLwTunnelEncap, RouteMplsIpTunnel,
    RouteMplsTtlPropagation,
};
use vigil_engine::conf::{Encap, IpEncap};

/// `ila.h` `ILA_ATTR_LOCATOR`.
const ILA_ATTR_LOCATOR: u16 = 1;

/// `RTA_ENCAP` (the tunnel's attributes, in keepalived's order) and `RTA_ENCAP_TYPE`, in the
/// order keepalived's `add_encap` puts them.
pub fn attributes(e: &Encap) -> [RouteAttribute; 2] {
    let (kind, inner) = match e {
        Encap::Mpls(labels) => {
            let stack = labels
                .iter()
                .enumerate()
                .map(|(i, l)| MplsLabel {
                    label: *l,
                    traffic_class: 0,
                    bottom_of_stack: i + 1 == labels.len(),
                    ttl: 0,
                })
                .collect();
            (
                RouteLwEnCapType::Mpls,
                vec![RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(
                    stack,
                ))],
            )
        }
        Encap::Ip(x) => (RouteLwEnCapType::Ip, ip(x)),
        Encap::Ip6(x) => (RouteLwEnCapType::Ip6, ip6(x)),
        Encap::Ila(locator) => (
            RouteLwEnCapType::Ila,
            // keepalived's locator is kept in network byte order (get_addr64) and sent as is.
            vec![RouteLwTunnelEncap::Other(DefaultNla::new(
                ILA_ATTR_LOCATOR,
                locator.to_be_bytes().to_vec(),
            ))],
        ),
    };
    [
        RouteAttribute::Encap(inner),
        RouteAttribute::EncapType(kind),
    ]
}

/// keepalived sends `flags N` with `rta_addattr16`: N in host byte order. The crate writes its
/// flag bits big-endian (the kernel reads `__be16`), so N's host-order bytes are handed over as
/// the big-endian value that writes them.
fn host_order_flags(n: u16) -> u16 {
    u16::from_be_bytes(n.to_ne_bytes())
}

fn ip(x: &IpEncap) -> Vec<RouteLwTunnelEncap> {
    let mut v = Vec::new();
    if let Some(id) = x.id {
        v.push(RouteIpTunnel::Id(id));
    }
    if let Some(std::net::IpAddr::V4(a)) = x.dst {
        v.push(RouteIpTunnel::Destination(a));
    }
    if let Some(std::net::IpAddr::V4(a)) = x.src {
        v.push(RouteIpTunnel::Source(a));
    }
    if let Some(t) = x.tos {
        v.push(RouteIpTunnel::Tos(t));
    }
    if let Some(t) = x.ttl {
        v.push(RouteIpTunnel::Ttl(t));
    }
    if let Some(f) = x.flags {
        v.push(RouteIpTunnel::Flags(RouteIpTunnelFlags::from_bits_retain(
            host_order_flags(f),
        )));
    }
    v.into_iter().map(RouteLwTunnelEncap::Ip).collect()
}

fn ip6(x: &IpEncap) -> Vec<RouteLwTunnelEncap> {
    let mut v = Vec::new();
    if let Some(id) = x.id {
        v.push(RouteIp6Tunnel::Id(id));
    }
    if let Some(std::net::IpAddr::V6(a)) = x.dst {
        v.push(RouteIp6Tunnel::Destination(a));
    }
    if let Some(std::net::IpAddr::V6(a)) = x.src {
        v.push(RouteIp6Tunnel::Source(a));
    }
    if let Some(t) = x.tos {
        v.push(RouteIp6Tunnel::Tc(t));
    }
    if let Some(t) = x.ttl {
        v.push(RouteIp6Tunnel::Hoplimit(t));
    }
    if let Some(f) = x.flags {
        v.push(RouteIp6Tunnel::Flags(
            RouteIp6TunnelFlags::from_bits_retain(host_order_flags(f)),
        ));
    }
    v.into_iter().map(RouteLwTunnelEncap::Ip6).collect()
}

/// `RTA_TTL_PROPAGATE`: 1 for `enabled`, 0 for `disabled` (keepalived's `addattr8`).
pub fn ttl_propagate(enabled: bool) -> RouteAttribute {
    RouteAttribute::TtlPropagate(if enabled {
        RouteMplsTtlPropagation::Enabled
    } else {
        RouteMplsTtlPropagation::Disabled
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    // include/uapi/linux/rtnetlink.h (enum rtattr_type_t).
    const RTA_GATEWAY: u16 = 5;
    const RTA_MULTIPATH: u16 = 9;
    const RTA_ENCAP_TYPE: u16 = 21;
    const RTA_ENCAP: u16 = 22;
    const RTA_TTL_PROPAGATE: u16 = 26;
    // include/uapi/linux/lwtunnel.h (enum lwtunnel_encap_types, lwtunnel_ip_t, lwtunnel_ip6_t).
    const LWTUNNEL_ENCAP_MPLS: u16 = 1;
    const LWTUNNEL_ENCAP_IP: u16 = 2;
    const LWTUNNEL_ENCAP_ILA: u16 = 3;
    const LWTUNNEL_ENCAP_IP6: u16 = 4;
    const LWTUNNEL_IP_ID: u16 = 1;
    const LWTUNNEL_IP_DST: u16 = 2;
    const LWTUNNEL_IP_SRC: u16 = 3;
    const LWTUNNEL_IP_TTL: u16 = 4;
    const LWTUNNEL_IP_TOS: u16 = 5;
    const LWTUNNEL_IP_FLAGS: u16 = 6;
    const LWTUNNEL_IP6_ID: u16 = 1;
    const LWTUNNEL_IP6_DST: u16 = 2;
    const LWTUNNEL_IP6_SRC: u16 = 3;
    const LWTUNNEL_IP6_HOPLIMIT: u16 = 4;
    const LWTUNNEL_IP6_TC: u16 = 5;
    const LWTUNNEL_IP6_FLAGS: u16 = 6;
    // include/uapi/linux/mpls_iptunnel.h, include/uapi/linux/mpls.h.
    const MPLS_IPTUNNEL_DST: u16 = 1;
    const MPLS_LS_LABEL_SHIFT: u32 = 12;
    const MPLS_LS_S_SHIFT: u32 = 8;
    // include/uapi/linux/ila.h.
    const ILA_ATTR_LOCATOR_H: u16 = 1;

    /// One attribute as `struct rtattr` lays it out: `rta_len` (header + payload, host order),
    /// `rta_type`, the payload, zero padding to 4 bytes (`RTA_ALIGN`).
    fn rta(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(4 + payload.len() as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn bytes(attrs: &[RouteAttribute]) -> Vec<u8> {
        let mut buf = vec![0u8; attrs.buffer_len()];
        attrs.emit(&mut buf);
        buf
    }

    /// The encapsulation of the first route of a `virtual_routes` line.
    fn encap_of(line: &str) -> Encap {
        let text = format!(
            "vrrp_instance VI {{\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {{ 192.0.2.1/24 }}\n virtual_routes {{\n {line}\n }}\n}}\n"
        );
        let c = vigil_engine::conf::parse_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let r = &c.instances[0].virtual_routes[0];
        r.attrs
            .encap
            .clone()
            .or_else(|| r.attrs.nexthops.first().and_then(|n| n.encap.clone()))
            .expect("an encap")
    }

    fn expect(line: &str, encap_type: u16, nested: &[Vec<u8>]) {
        let mut want = rta(RTA_ENCAP, &nested.concat());
        want.extend(rta(RTA_ENCAP_TYPE, &encap_type.to_ne_bytes()));
        assert_eq!(bytes(&attributes(&encap_of(line))), want, "{line}");
    }

    #[test]
    fn encap_ip_is_lwtunnel_ip_in_keepalived_order() {
        expect(
            "198.51.100.0/24 dev eth0 encap ip id 7 dst 203.0.113.1 src 198.51.100.1 tos 4 ttl 9 flags 256",
            LWTUNNEL_ENCAP_IP,
            &[
                rta(LWTUNNEL_IP_ID, &7u64.to_be_bytes()),
                rta(LWTUNNEL_IP_DST, &[203, 0, 113, 1]),
                rta(LWTUNNEL_IP_SRC, &[198, 51, 100, 1]),
                rta(LWTUNNEL_IP_TOS, &[4]),
                rta(LWTUNNEL_IP_TTL, &[9]),
                // keepalived's rta_addattr16: the number in host order.
                rta(LWTUNNEL_IP_FLAGS, &256u16.to_ne_bytes()),
            ],
        );
        expect(
            "198.51.100.0/24 dev eth0 encap ip dst 203.0.113.1",
            LWTUNNEL_ENCAP_IP,
            &[rta(LWTUNNEL_IP_DST, &[203, 0, 113, 1])],
        );
        expect(
            "198.51.100.0/24 dev eth0 encap ip id 4294967297",
            LWTUNNEL_ENCAP_IP,
            &[rta(LWTUNNEL_IP_ID, &1u64.to_be_bytes())],
        );
    }

    #[test]
    fn encap_ip6_is_lwtunnel_ip6_in_keepalived_order() {
        let dst: std::net::Ipv6Addr = "2001:db8::99".parse().unwrap();
        let src: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        expect(
            "2001:db8:1::/64 dev eth0 encap ip6 id 5 dst 2001:db8::99 src 2001:db8::1 tc 8 hoplimit 3 flags 2",
            LWTUNNEL_ENCAP_IP6,
            &[
                rta(LWTUNNEL_IP6_ID, &5u64.to_be_bytes()),
                rta(LWTUNNEL_IP6_DST, &dst.octets()),
                rta(LWTUNNEL_IP6_SRC, &src.octets()),
                rta(LWTUNNEL_IP6_TC, &[8]),
                rta(LWTUNNEL_IP6_HOPLIMIT, &[3]),
                rta(LWTUNNEL_IP6_FLAGS, &2u16.to_ne_bytes()),
            ],
        );
    }

    #[test]
    fn encap_mpls_is_the_label_stack_with_bottom_of_stack_on_the_last() {
        let entry = |label: u32, bos: bool| {
            (label << MPLS_LS_LABEL_SHIFT | u32::from(bos) << MPLS_LS_S_SHIFT).to_be_bytes()
        };
        expect(
            "198.51.100.0/24 dev eth0 encap mpls 100/200",
            LWTUNNEL_ENCAP_MPLS,
            &[rta(
                MPLS_IPTUNNEL_DST,
                &[entry(100, false), entry(200, true)].concat(),
            )],
        );
        expect(
            "198.51.100.0/24 dev eth0 encap mpls 1048575",
            LWTUNNEL_ENCAP_MPLS,
            &[rta(MPLS_IPTUNNEL_DST, &entry(0xF_FFFF, true))],
        );
    }

    #[test]
    fn encap_ila_is_the_locator_in_network_order() {
        expect(
            "2001:db8:2::/64 dev eth0 encap ila 2001:0:0:1",
            LWTUNNEL_ENCAP_ILA,
            &[rta(ILA_ATTR_LOCATOR_H, &[0x20, 0x01, 0, 0, 0, 0, 0, 1])],
        );
    }

    #[test]
    fn ttl_propagate_is_one_byte() {
        assert_eq!(
            bytes(&[ttl_propagate(true), ttl_propagate(false)]),
            [rta(RTA_TTL_PROPAGATE, &[1]), rta(RTA_TTL_PROPAGATE, &[0])].concat()
        );
    }

    /// A route message as vigild builds it: the encapsulation and ttl-propagate of the route,
    /// and a nexthop's encapsulation inside its `struct rtnexthop` (whose `rtnh_len` covers it).
    #[test]
    fn route_and_nexthop_messages_carry_the_encapsulation() {
        let text = "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress { 192.0.2.1/24 }\n virtual_routes {\n \
             198.51.100.0/24 dev eth0 encap ip dst 203.0.113.1 ttl-propagate enabled\n \
             198.51.100.0/25 nexthop via 192.0.2.201 dev eth0 encap mpls 16\n }\n}\n";
        let cfg = vigil_engine::conf::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        let c = vigil_engine::EngineConfig::from_conf(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let r = &c.engine.instances[0].virtual_routes;
        let m = crate::routes::message(&r[0], Some(7), &[]);
        let want_encap = attributes(&encap_of(
            "198.51.100.0/24 dev eth0 encap ip dst 203.0.113.1",
        ));
        for a in want_encap.iter().chain([&ttl_propagate(true)]) {
            assert!(m.attributes.contains(a), "{a:?} in {m:?}");
        }
        let m = crate::routes::message(&r[1], None, &[Some(7)]);
        let hops = m
            .attributes
            .iter()
            .find(|a| matches!(a, RouteAttribute::MultiPath(_)))
            .expect("multipath");
        // struct rtnexthop { u16 rtnh_len; u8 rtnh_flags; u8 rtnh_hops; int rtnh_ifindex; }
        // then the nexthop's attributes: RTA_GATEWAY, RTA_ENCAP, RTA_ENCAP_TYPE.
        let label = (16u32 << MPLS_LS_LABEL_SHIFT | 1 << MPLS_LS_S_SHIFT).to_be_bytes();
        let mut inner = rta(RTA_GATEWAY, &[192, 0, 2, 201]);
        inner.extend(rta(RTA_ENCAP, &rta(MPLS_IPTUNNEL_DST, &label)));
        inner.extend(rta(RTA_ENCAP_TYPE, &LWTUNNEL_ENCAP_MPLS.to_ne_bytes()));
        let mut nh = Vec::new();
        nh.extend_from_slice(&(8 + inner.len() as u16).to_ne_bytes());
        nh.extend_from_slice(&[0, 0]);
        nh.extend_from_slice(&7i32.to_ne_bytes());
        nh.extend(inner);
        assert_eq!(bytes(std::slice::from_ref(hops)), rta(RTA_MULTIPATH, &nh));
    }
}
