//! The IPVS-wide requests byte for byte against include/uapi/linux/ip_vs.h:
//!
//! ```text
//! enum { IPVS_CMD_UNSPEC = 0, NEW_SERVICE, SET_SERVICE, DEL_SERVICE, GET_SERVICE,   // 1..4
//!        NEW_DEST, SET_DEST, DEL_DEST, GET_DEST,                                  // 5..8
//!        NEW_DAEMON, DEL_DAEMON, GET_DAEMON,                                       // 9..11
//!        SET_CONFIG, GET_CONFIG, SET_INFO, GET_INFO, ZERO, FLUSH };               // 12..17
//! enum { IPVS_CMD_ATTR_UNSPEC = 0, SERVICE, DEST, DAEMON,                          // 1..3
//!        TIMEOUT_TCP, TIMEOUT_TCP_FIN, TIMEOUT_UDP };                              // 4..6
//! enum { IPVS_DAEMON_ATTR_UNSPEC = 0, STATE, MCAST_IFN, SYNC_ID, SYNC_MAXLEN,      // 1..4
//!        MCAST_GROUP, MCAST_GROUP6, MCAST_PORT, MCAST_TTL };                       // 5..8
//! #define IP_VS_STATE_MASTER 0x0001
//! #define IP_VS_STATE_BACKUP 0x0002
//! ```
//!
//! and the sizes of net/netfilter/ipvs/ip_vs_ctl.c's `ip_vs_daemon_policy` / `ip_vs_cmd_policy`
//! (u32 state, sync id and timeouts; u16 maxlen and port in host order; u8 TTL; the IPv4 group
//! in network order; 16-byte IPv6 group; the interface NUL-terminated). The expected bytes are
//! written out here from those numbers, not from the encoder's constants.

use super::global::*;
use super::*;
use vigil_engine::conf::{self, LvsTimeouts};
use vigil_engine::dataplane::lvs::SyncRole;

/// `struct nlattr` (u16 length with the header, u16 type) then the value padded to 4 bytes.
fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut b = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
    b.extend(kind.to_ne_bytes());
    b.extend(value);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

/// The request's nlmsghdr + genlmsghdr checked; its attributes returned.
fn body(msg: &[u8], family: u16, seq: u32, cmd: u8) -> Vec<u8> {
    assert_eq!(
        u32::from_ne_bytes(msg[0..4].try_into().unwrap()) as usize,
        msg.len()
    );
    assert_eq!(u16::from_ne_bytes([msg[4], msg[5]]), family);
    // NLM_F_REQUEST (1) | NLM_F_ACK (4): the kernel answers with an acknowledgement.
    assert_eq!(u16::from_ne_bytes([msg[6], msg[7]]), 0x1 | 0x4);
    assert_eq!(u32::from_ne_bytes(msg[8..12].try_into().unwrap()), seq);
    assert_eq!(&msg[16..20], &[cmd, 1, 0, 0], "genlmsghdr: cmd, version 1");
    msg[20..].to_vec()
}

fn daemon(global: &str) -> conf::LvsSyncDaemon {
    let text = format!(
        "global_defs {{\n {global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  192.0.2.1/24\n }}\n}}\n"
    );
    conf::parse_str(&text)
        .expect("parses")
        .global
        .checker
        .lvs
        .sync_daemon
        .expect("a sync daemon")
}

#[test]
fn flush_is_command_17_without_attributes() {
    let msg = message(0x21, 3, cmd::FLUSH, &[]);
    assert_eq!(body(&msg, 0x21, 3, 17), Vec::<u8>::new());
    assert_eq!(msg.len(), 20);
}

#[test]
fn new_daemon_master_with_every_option_ipv4_group() {
    let d = daemon("lvs_sync_daemon eth1 VI_1 id 7 maxlen 1472 port 8848 ttl 3 group 239.1.2.3");
    let msg = message(
        0x21,
        9,
        cmd::NEW_DAEMON,
        &[start_daemon(SyncRole::Master, &d)],
    );
    let mut inner = nla(1, &1u32.to_ne_bytes()); // STATE = IP_VS_STATE_MASTER
    inner.extend(nla(2, b"eth1\0")); // MCAST_IFN
    inner.extend(nla(3, &7u32.to_ne_bytes())); // SYNC_ID
    inner.extend(nla(4, &1472u16.to_ne_bytes())); // SYNC_MAXLEN
    inner.extend(nla(7, &8848u16.to_ne_bytes())); // MCAST_PORT (host order)
    inner.extend(nla(8, &[3])); // MCAST_TTL
    inner.extend(nla(5, &[239, 1, 2, 3])); // MCAST_GROUP (network order)
                                           // IPVS_CMD_ATTR_DAEMON (3) | NLA_F_NESTED (0x8000).
    assert_eq!(body(&msg, 0x21, 9, 9), nla(3 | 0x8000, &inner));
    // Literal check of the first bytes of the nest: length 4 + inner, type 0x8003.
    let b = body(&msg, 0x21, 9, 9);
    assert_eq!(u16::from_ne_bytes([b[0], b[1]]) as usize, 4 + inner.len());
    assert_eq!(u16::from_ne_bytes([b[2], b[3]]), 0x8003);
}

#[test]
fn new_daemon_backup_minimal_and_ipv6_group() {
    // No options: state, interface, sync id (the instance's VRID, 51) only.
    let d = daemon("lvs_sync_daemon eth1 VI_1");
    let msg = message(
        0x21,
        10,
        cmd::NEW_DAEMON,
        &[start_daemon(SyncRole::Backup, &d)],
    );
    let mut inner = nla(1, &2u32.to_ne_bytes()); // IP_VS_STATE_BACKUP
    inner.extend(nla(2, b"eth1\0"));
    inner.extend(nla(3, &51u32.to_ne_bytes()));
    assert_eq!(body(&msg, 0x21, 10, 9), nla(0x8003, &inner));
    // An IPv6 group is MCAST_GROUP6 (6), 16 bytes.
    let d = daemon("lvs_sync_daemon eth1 group ff02::81");
    let CmdAttr::Daemon(v) = start_daemon(SyncRole::Master, &d) else {
        panic!("a daemon attribute")
    };
    let mut group = [0u8; 16];
    group[0] = 0xff;
    group[1] = 0x02;
    group[15] = 0x81;
    let mut inner = nla(1, &1u32.to_ne_bytes());
    inner.extend(nla(2, b"eth1\0"));
    inner.extend(nla(3, &0u32.to_ne_bytes())); // no instance: sync id 0
    inner.extend(nla(6, &group));
    let mut got = vec![0u8; v.as_slice().buffer_len()];
    v.as_slice().emit(&mut got);
    assert_eq!(got, inner);
}

#[test]
fn del_daemon_is_state_and_sync_id() {
    let msg = message(
        0x21,
        11,
        cmd::DEL_DAEMON,
        &[stop_daemon(SyncRole::Backup, 51)],
    );
    let mut inner = nla(1, &2u32.to_ne_bytes());
    inner.extend(nla(3, &51u32.to_ne_bytes()));
    assert_eq!(body(&msg, 0x21, 11, 10), nla(0x8003, &inner));
}

#[test]
fn set_config_sends_the_three_timeouts_the_kernel_s_where_unset() {
    let orig = KernelTimeouts {
        tcp: 900,
        tcpfin: 120,
        udp: 300,
    };
    let to = LvsTimeouts {
        tcp: Some(7200),
        tcpfin: None,
        udp: Some(0),
    };
    let msg = message(0x21, 12, cmd::SET_CONFIG, &set_config(Some(&to), orig));
    let mut want = nla(4, &7200u32.to_ne_bytes()); // TIMEOUT_TCP
    want.extend(nla(5, &120u32.to_ne_bytes())); // TIMEOUT_TCP_FIN: the kernel's
    want.extend(nla(6, &300u32.to_ne_bytes())); // TIMEOUT_UDP: 0 is "unset"
    assert_eq!(body(&msg, 0x21, 12, 12), want);
    // Restoring: the kernel's values of before.
    let msg = message(0x21, 13, cmd::SET_CONFIG, &set_config(None, orig));
    let mut want = nla(4, &900u32.to_ne_bytes());
    want.extend(nla(5, &120u32.to_ne_bytes()));
    want.extend(nla(6, &300u32.to_ne_bytes()));
    assert_eq!(body(&msg, 0x21, 13, 12), want);
}

#[test]
fn get_config_answers_are_read_and_bad_ones_are_not_trusted() {
    // ip_vs_genl_get_cmd's GET_CONFIG answer: TIMEOUT_TCP, TIMEOUT_TCP_FIN, TIMEOUT_UDP, u32 s.
    let mut attrs = nla(4, &900u32.to_ne_bytes());
    attrs.extend(nla(5, &120u32.to_ne_bytes()));
    attrs.extend(nla(6, &300u32.to_ne_bytes()));
    assert_eq!(
        parse_config(&attrs),
        Some(KernelTimeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300
        })
    );
    // A kernel without TCP support sends UDP only.
    assert_eq!(
        parse_config(&nla(6, &300u32.to_ne_bytes())),
        Some(KernelTimeouts {
            tcp: 0,
            tcpfin: 0,
            udp: 300
        })
    );
    assert_eq!(parse_config(&[]), None);
    // Truncated: a length past the end stops the walk, a short value is skipped.
    let mut bad = nla(4, &900u32.to_ne_bytes());
    bad[0] = 40;
    assert_eq!(parse_config(&bad), None);
    assert_eq!(parse_config(&nla(4, &[1, 2])), None);
}

#[test]
fn command_names_for_messages() {
    use super::kernel::command_name;
    assert_eq!(command_name(9), "NEW_DAEMON");
    assert_eq!(command_name(10), "DEL_DAEMON");
    assert_eq!(command_name(12), "SET_CONFIG");
    assert_eq!(command_name(13), "GET_CONFIG");
    assert_eq!(command_name(17), "FLUSH");
}

/// The kernel's answer to GET_CONFIG as `ip_vs_genl_get_cmd` builds it (a message of the
/// IPVS family with command `IPVS_CMD_SET_CONFIG` (12) and the three timeouts, then the
/// acknowledgement), read through the backend's reply parser.
#[test]
fn a_get_config_answer_of_the_kernel_s_shape() {
    use super::kernel::{parse_replies, Reply};
    let mut attrs = nla(4, &900u32.to_ne_bytes());
    attrs.extend(nla(5, &120u32.to_ne_bytes()));
    attrs.extend(nla(6, &300u32.to_ne_bytes()));
    let mut genl = vec![12u8, 1, 0, 0];
    genl.extend(&attrs);
    let mut dgram = ((16 + genl.len()) as u32).to_ne_bytes().to_vec();
    dgram.extend(0x21u16.to_ne_bytes());
    dgram.extend(0u16.to_ne_bytes());
    dgram.extend(5u32.to_ne_bytes());
    dgram.extend(0u32.to_ne_bytes());
    dgram.extend(&genl);
    let replies = parse_replies(&dgram, 5).expect("well-formed");
    let Some(Reply::Data { cmd: 12, attrs }) = replies.first() else {
        panic!("{replies:?}")
    };
    assert_eq!(
        parse_config(attrs),
        Some(KernelTimeouts {
            tcp: 900,
            tcpfin: 120,
            udp: 300
        })
    );
}

mod properties {
    use super::super::global::*;
    use super::super::CmdAttr;
    use netlink_packet_core::{Emitable, NlaBuffer, NlasIterator, NLA_F_NESTED};
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use vigil_engine::conf::{Location, LvsSyncDaemon, LvsTimeouts};
    use vigil_engine::dataplane::lvs::SyncRole;

    fn group() -> impl Strategy<Value = Option<IpAddr>> {
        prop_oneof![
            Just(None),
            (224u8..=239, any::<[u8; 3]>())
                .prop_map(|(a, r)| Some(IpAddr::V4(Ipv4Addr::new(a, r[0], r[1], r[2])))),
            any::<[u8; 15]>().prop_map(|r| {
                let mut b = [0xffu8; 16];
                b[1..].copy_from_slice(&r);
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }),
        ]
    }

    proptest! {
        /// Any sync daemon's NEW_DAEMON nest reads back attribute by attribute (ip_vs.h
        /// numbers, the sizes of ip_vs_daemon_policy), in libipvs's order, 4-byte aligned.
        #[test]
        fn new_daemon_reads_back(
            ifname in "[a-z][a-z0-9.]{0,14}",
            syncid in any::<u8>(),
            maxlen in proptest::option::of(1u16..=65507),
            port in proptest::option::of(1u16..),
            ttl in proptest::option::of(1u8..),
            group in group(),
            master in any::<bool>(),
        ) {
            let d = LvsSyncDaemon {
                interface: ifname.clone(),
                instance: None,
                syncid: Some(syncid),
                maxlen,
                port,
                ttl,
                group,
                loc: Location::new("k.conf".into(), 1, 1),
            };
            let role = if master { SyncRole::Master } else { SyncRole::Backup };
            let attr = start_daemon(role, &d);
            let mut buf = vec![0u8; [attr.clone()].as_slice().buffer_len()];
            [attr].as_slice().emit(&mut buf);
            let outer: Vec<_> = NlasIterator::new(&buf[..]).collect::<Result<Vec<NlaBuffer<&[u8]>>, _>>().expect("outer");
            prop_assert_eq!(outer.len(), 1);
            // NlaBuffer::kind() masks the flags off: the raw type carries NLA_F_NESTED.
            prop_assert_eq!(outer[0].kind(), 3);
            prop_assert_eq!(u16::from_ne_bytes([buf[2], buf[3]]), 3 | NLA_F_NESTED);
            let inner: Vec<(u16, Vec<u8>)> = NlasIterator::new(outer[0].value())
                .map(|n| { let n = n.expect("inner"); (n.kind(), n.value().to_vec()) })
                .collect();
            let mut want: Vec<(u16, Vec<u8>)> = vec![
                (1, (if master { 1u32 } else { 2 }).to_ne_bytes().to_vec()),
                (2, format!("{ifname}\0").into_bytes()),
                (3, u32::from(syncid).to_ne_bytes().to_vec()),
            ];
            want.extend(maxlen.map(|m| (4, m.to_ne_bytes().to_vec())));
            want.extend(port.map(|p| (7, p.to_ne_bytes().to_vec())));
            want.extend(ttl.map(|t| (8, vec![t])));
            match group {
                Some(IpAddr::V6(g)) => want.push((6, g.octets().to_vec())),
                Some(IpAddr::V4(g)) => want.push((5, g.octets().to_vec())),
                None => {}
            }
            prop_assert_eq!(inner, want);
            prop_assert_eq!(buf.len() % 4, 0);
        }

        /// SET_CONFIG: each timeout is the configured one when set and not 0, else the
        /// kernel's earlier value; GET_CONFIG's parser reads back what SET_CONFIG would send.
        #[test]
        fn set_config_picks_and_reads_back(
            tcp in proptest::option::of(0u32..=2_678_400),
            fin in proptest::option::of(0u32..=2_678_400),
            udp in proptest::option::of(0u32..=2_678_400),
            orig in any::<(u32, u32, u32)>(),
        ) {
            let o = KernelTimeouts { tcp: orig.0, tcpfin: orig.1, udp: orig.2 };
            let to = LvsTimeouts { tcp, tcpfin: fin, udp };
            let attrs = set_config(Some(&to), o);
            let mut buf = vec![0u8; attrs.as_slice().buffer_len()];
            attrs.as_slice().emit(&mut buf);
            let pick = |v: Option<u32>, o: u32| v.filter(|x| *x > 0).unwrap_or(o);
            prop_assert_eq!(
                parse_config(&buf),
                Some(KernelTimeouts { tcp: pick(tcp, o.tcp), tcpfin: pick(fin, o.tcpfin), udp: pick(udp, o.udp) })
            );
            prop_assert!(matches!(attrs[0], CmdAttr::TimeoutTcp(_)));
        }

        /// Any bytes: the GET_CONFIG parser never panics.
        #[test]
        fn get_config_parser_takes_any_bytes(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_config(&b);
        }
    }
}
