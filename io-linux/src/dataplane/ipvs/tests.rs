//! The IPVS messages against the kernel's include/uapi/linux/ip_vs.h (attribute numbers,
//! `struct ip_vs_flags`, flags) and net/netfilter/ipvs/ip_vs_ctl.c's attribute policies
//! (sizes, byte orders). Encoding only: no kernel here has IPVS.

use netlink_packet_core::{NlaBuffer, NlasIterator};

use super::*;
use vigil_engine::conf;

fn vs_of(text: &str) -> VirtualServer {
    conf::parse_str(text)
        .expect("parses")
        .checkers
        .virtual_servers[0]
        .clone()
}

/// (kind without flags, value bytes) of each attribute in `b`.
fn attrs(b: &[u8]) -> Vec<(u16, Vec<u8>)> {
    NlasIterator::new(b)
        .map(|n| {
            let n: NlaBuffer<&[u8]> = n.expect("well-formed attribute");
            (n.kind() & !NLA_F_NESTED, n.value().to_vec())
        })
        .collect()
}

#[test]
fn new_service_matches_ip_vs_h() {
    let vs = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_algo wrr\n persistence_timeout 300\n persistence_granularity 255.255.255.0\n real_server 198.51.100.11 8080 { }\n}\n",
    );
    let msg = message(0x1c, 7, cmd::NEW_SERVICE, &[CmdAttr::Service(service(&vs))]);
    // nlmsghdr: length, type = family id, NLM_F_REQUEST (1) | NLM_F_ACK (4), seq.
    assert_eq!(
        u32::from_ne_bytes(msg[0..4].try_into().unwrap()) as usize,
        msg.len()
    );
    assert_eq!(u16::from_ne_bytes([msg[4], msg[5]]), 0x1c);
    assert_eq!(u16::from_ne_bytes([msg[6], msg[7]]), 0x1 | 0x4);
    // genlmsghdr: IPVS_CMD_NEW_SERVICE = 1, IPVS_GENL_VERSION = 1.
    assert_eq!((msg[16], msg[17]), (1, 1));
    let top = attrs(&msg[20..]);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].0, 1, "IPVS_CMD_ATTR_SERVICE = 1");
    let svc = attrs(&top[0].1);
    let kinds: Vec<u16> = svc.iter().map(|a| a.0).collect();
    // AF 1, PROTOCOL 2, ADDR 3, PORT 4, SCHED_NAME 6, FLAGS 7, TIMEOUT 8, NETMASK 9.
    assert_eq!(kinds, [1, 2, 3, 4, 6, 7, 8, 9]);
    assert_eq!(svc[0].1, (libc::AF_INET as u16).to_ne_bytes());
    assert_eq!(svc[1].1, 6u16.to_ne_bytes(), "IPPROTO_TCP");
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&[192, 0, 2, 10]);
    assert_eq!(svc[2].1, addr, "union nf_inet_addr");
    assert_eq!(svc[3].1, [0, 80], "port in network order (nla_get_be16)");
    assert_eq!(svc[4].1, b"wrr\0", "NUL-terminated scheduler name");
    // struct ip_vs_flags { flags = IP_VS_SVC_F_PERSISTENT (1); mask }.
    let mut flags = 1u32.to_ne_bytes().to_vec();
    flags.extend(u32::MAX.to_ne_bytes());
    assert_eq!(svc[5].1, flags);
    assert_eq!(svc[6].1, 300u32.to_ne_bytes());
    assert_eq!(
        svc[7].1,
        [255, 255, 255, 0],
        "IPv4 netmask in network order"
    );
}

#[test]
fn fwmark_ipv6_service_and_scheduler_flags() {
    let vs = vs_of(
        "virtual_server fwmark 9 {\n ip_family inet6\n lb_algo sh\n sh-port\n sh-fallback\n real_server 2001:db8::11 80 { }\n}\n",
    );
    let svc = service(&vs);
    assert!(svc.contains(&SvcAttr::Af(libc::AF_INET6 as u16)));
    assert!(svc.contains(&SvcAttr::Fwmark(9)));
    assert!(svc.contains(&SvcAttr::Flags {
        flags: 0x0008 | 0x0010, // IP_VS_SVC_F_SCHED_SH_FALLBACK | IP_VS_SVC_F_SCHED_SH_PORT
        mask: u32::MAX
    }));
    assert!(svc.contains(&SvcAttr::Netmask(128u32.to_ne_bytes())));
    // IPVS_SVC_ATTR_FWMARK = 5 (u32).
    let b = svc.as_slice();
    let mut buf = vec![0u8; b.buffer_len()];
    b.emit(&mut buf);
    assert!(attrs(&buf).contains(&(5, 9u32.to_ne_bytes().to_vec())));
}

#[test]
fn destinations_with_every_forwarding_method() {
    let nat = dest(
        "198.51.100.11".parse().unwrap(),
        8080,
        Forwarding::Nat,
        3,
        (Some(100), Some(10)),
    );
    let mut buf = vec![0u8; nat.as_slice().buffer_len()];
    nat.as_slice().emit(&mut buf);
    let a = attrs(&buf);
    // ADDR 1, PORT 2, ADDR_FAMILY 11, FWD_METHOD 3, WEIGHT 4, U_THRESH 5, L_THRESH 6.
    let kinds: Vec<u16> = a.iter().map(|x| x.0).collect();
    assert_eq!(kinds, [1, 2, 11, 3, 4, 5, 6]);
    assert_eq!(a[1].1, 8080u16.to_be_bytes());
    assert_eq!(a[3].1, 0u32.to_ne_bytes(), "IP_VS_CONN_F_MASQ");
    assert_eq!(a[4].1, 3u32.to_ne_bytes());
    assert_eq!(a[5].1, 100u32.to_ne_bytes());
    let dr = dest(
        "198.51.100.11".parse().unwrap(),
        80,
        Forwarding::Dr,
        1,
        (None, None),
    );
    assert!(dr.contains(&DestAttr::FwdMethod(3)), "IP_VS_CONN_F_DROUTE");
    let gue = dest(
        "198.51.100.11".parse().unwrap(),
        80,
        Forwarding::Tun {
            kind: TunnelKind::Gue,
            port: 6080,
            csum: TunnelCsum::RemCsum,
        },
        1,
        (None, None),
    );
    assert!(gue.contains(&DestAttr::FwdMethod(2)), "IP_VS_CONN_F_TUNNEL");
    assert!(
        gue.contains(&DestAttr::TunType(1)),
        "IP_VS_CONN_F_TUNNEL_TYPE_GUE"
    );
    assert!(
        gue.contains(&DestAttr::TunFlags(2)),
        "IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM"
    );
    let mut buf = vec![0u8; gue.as_slice().buffer_len()];
    gue.as_slice().emit(&mut buf);
    let a = attrs(&buf);
    // TUN_TYPE 13 (u8, padded to 4), TUN_PORT 14 (be16), TUN_FLAGS 15 (u16).
    assert!(a.contains(&(13, vec![1])));
    assert!(a.contains(&(14, 6080u16.to_be_bytes().to_vec())));
    assert!(a.contains(&(15, 2u16.to_ne_bytes().to_vec())));
    assert_eq!(buf.len() % 4, 0, "attributes aligned to 4 bytes");
}

#[test]
fn a_new_dest_message_carries_the_service_key_and_the_destination() {
    let vs = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol UDP\n real_server 198.51.100.11 53 { }\n}\n",
    );
    let d = dest(
        "198.51.100.11".parse().unwrap(),
        53,
        Forwarding::Nat,
        1,
        (None, None),
    );
    let msg = message(
        30,
        1,
        cmd::NEW_DEST,
        &[CmdAttr::Service(service_key(&vs)), CmdAttr::Dest(d)],
    );
    assert_eq!(msg[16], 5, "IPVS_CMD_NEW_DEST");
    let top = attrs(&msg[20..]);
    assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
    let key = attrs(&top[0].1);
    assert!(
        key.contains(&(2, 17u16.to_ne_bytes().to_vec())),
        "IPPROTO_UDP"
    );
    assert!(!key.iter().any(|k| k.0 == 6), "a key has no scheduler");
}

/// keepalived's `ipvs_group_cmd` / `ipvs_group_range_cmd` (ipvswrapper.c): a group is one IPVS
/// service per address of each address entry (the range walked one address at a time) at the
/// entry's port, then one per fwmark entry (of the entry's family, else the virtual
/// server's), all with the same scheduler, flags and timeout, and the netmask reset to
/// 255.255.255.255 (128 for IPv6) whatever `persistence_granularity` says; a repeated entry
/// is one service. The bytes of NEW_SERVICE for a range member and a fwmark entry against
/// ip_vs.h (IPVS_SVC_ATTR_AF 1, PROTOCOL 2, ADDR 3, PORT 4, FWMARK 5, SCHED_NAME 6, FLAGS 7,
/// TIMEOUT 8, NETMASK 9).
#[test]
fn a_group_is_one_service_per_address_and_fwmark_entry() {
    let vs = vs_of(
        "virtual_server_group web {\n 192.0.2.10 80\n 192.0.2.20-22 80\n 192.0.2.10 80\n 192.0.2.32/31 443\n fwmark 7\n fwmark 8 inet\n}\nvirtual_server group web {\n protocol TCP\n lb_algo rr\n persistence_timeout 60\n persistence_granularity 255.255.255.0\n real_server 198.51.100.11 8080 { }\n}\n",
    );
    let all = services(&vs);
    let keys: Vec<String> = all
        .iter()
        .map(|i| {
            i.attrs
                .iter()
                .filter_map(|a| match a {
                    SvcAttr::Addr(x) => Some(x.to_string()),
                    SvcAttr::Port(p) => Some(format!(":{p}")),
                    SvcAttr::Fwmark(m) => Some(format!("fwmark {m}")),
                    _ => None,
                })
                .collect::<String>()
        })
        .collect();
    assert_eq!(
        keys,
        [
            "192.0.2.10:80",
            "192.0.2.20:80",
            "192.0.2.21:80",
            "192.0.2.22:80",
            "192.0.2.32:443",
            "192.0.2.33:443",
            "fwmark 7",
            "fwmark 8",
        ]
    );
    assert_eq!(
        all.iter().map(|i| i.entry_port).collect::<Vec<_>>(),
        [80, 80, 80, 80, 443, 443, 0, 0].map(Some)
    );
    // A range member, byte for byte.
    let msg = message(
        0x1c,
        3,
        cmd::NEW_SERVICE,
        &[CmdAttr::Service(all[2].attrs.clone())],
    );
    assert_eq!(
        (msg[16], msg[17]),
        (1, 1),
        "IPVS_CMD_NEW_SERVICE, version 1"
    );
    let top = attrs(&msg[20..]);
    let svc = attrs(&top[0].1);
    assert_eq!(
        svc.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 6, 7, 8, 9]
    );
    assert_eq!(svc[0].1, (libc::AF_INET as u16).to_ne_bytes());
    assert_eq!(svc[1].1, 6u16.to_ne_bytes(), "IPPROTO_TCP");
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&[192, 0, 2, 21]);
    assert_eq!(svc[2].1, addr);
    assert_eq!(svc[3].1, [0, 80], "the entry's port, network order");
    assert_eq!(svc[4].1, b"rr\0");
    let mut flags = 1u32.to_ne_bytes().to_vec(); // IP_VS_SVC_F_PERSISTENT
    flags.extend(u32::MAX.to_ne_bytes());
    assert_eq!(svc[5].1, flags);
    assert_eq!(svc[6].1, 60u32.to_ne_bytes());
    assert_eq!(
        svc[7].1,
        [255, 255, 255, 255],
        "a group's netmask is reset to /32 (ipvs_group_range_cmd)"
    );
    // A fwmark entry, byte for byte: AF, FWMARK, then the same settings.
    let msg = message(
        0x1c,
        4,
        cmd::NEW_SERVICE,
        &[CmdAttr::Service(all[6].attrs.clone())],
    );
    let svc = attrs(&attrs(&msg[20..])[0].1);
    assert_eq!(
        svc.iter().map(|a| a.0).collect::<Vec<_>>(),
        [1, 5, 6, 7, 8, 9]
    );
    assert_eq!(svc[1].1, 7u32.to_ne_bytes());
    assert_eq!(svc[5].1, [255, 255, 255, 255]);
}

/// IPv6 ranges vary the last 16 bits (`s6_addr16[7]`); a fwmark entry without a family takes
/// the virtual server's, `inet6` its own.
#[test]
fn an_ipv6_group_walks_the_last_hextet() {
    let vs = vs_of(
        "virtual_server_group v6 {\n 2001:db8::fe-101 443\n fwmark 9\n}\nvirtual_server group v6 {\n protocol TCP\n real_server 2001:db8:1::11 8443 { }\n}\n",
    );
    let all = services(&vs);
    let addrs: Vec<String> = all
        .iter()
        .filter_map(|i| {
            i.attrs.iter().find_map(|a| match a {
                SvcAttr::Addr(x) => Some(x.to_string()),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        addrs,
        [
            "2001:db8::fe",
            "2001:db8::ff",
            "2001:db8::100",
            "2001:db8::101"
        ]
    );
    let fwm = &all[4].attrs;
    assert_eq!(fwm[0], SvcAttr::Af(libc::AF_INET6 as u16));
    assert!(fwm.contains(&SvcAttr::Netmask(128u32.to_ne_bytes())));
}
