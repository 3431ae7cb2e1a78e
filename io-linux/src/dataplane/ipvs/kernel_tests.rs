//! The IPVS backend's message exchange, byte for byte, without a kernel (this machine's has
//! no IPVS): the requests it sends, and replies built the way the kernel builds them.
//!
//! Layouts: include/uapi/linux/netlink.h (`struct nlmsghdr` = len u32, type u16, flags u16,
//! seq u32, pid u32; `struct nlmsgerr` = error i32 then the request's nlmsghdr; `NLMSG_ERROR`
//! 2, `NLMSG_DONE` 3, `NLM_F_MULTI` 2, `NLM_F_DUMP` 0x300), include/uapi/linux/genetlink.h
//! (`struct genlmsghdr` = cmd u8, version u8, reserved u16; `GENL_ID_CTRL` 0x10,
//! `CTRL_CMD_NEWFAMILY` 1, `CTRL_CMD_GETFAMILY` 3, `CTRL_ATTR_FAMILY_ID` 1 (u16),
//! `CTRL_ATTR_FAMILY_NAME` 2), include/uapi/linux/ip_vs.h (`IPVS_CMD_*`, `IPVS_SVC_ATTR_*`,
//! `IPVS_DEST_ATTR_*`, `IP_VS_SVC_F_HASHED` 0x0002) and the kernel's dump writers in
//! net/netfilter/ipvs/ip_vs_ctl.c (`ip_vs_genl_fill_service`: AF, PROTOCOL, ADDR, PORT or
//! FWMARK, SCHED_NAME, PE_NAME if any, FLAGS {svc->flags, ~0}, TIMEOUT, NETMASK, STATS,
//! STATS64; `ip_vs_genl_fill_dest`: ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE, TUN_PORT,
//! TUN_FLAGS, U_THRESH, L_THRESH, ACTIVE_CONNS, INACT_CONNS, PERSIST_CONNS, ADDR_FAMILY,
//! STATS, STATS64).

use super::kernel::*;
use super::*;
use vigil_engine::conf;
use vigil_engine::dataplane::ServiceTable;

fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = 4 + value.len();
    let mut b = (len as u16).to_ne_bytes().to_vec();
    b.extend(kind.to_ne_bytes());
    b.extend(value);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

fn nlmsg(ty: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut b = ((16 + body.len()) as u32).to_ne_bytes().to_vec();
    b.extend(ty.to_ne_bytes());
    b.extend(flags.to_ne_bytes());
    b.extend(seq.to_ne_bytes());
    b.extend(4242u32.to_ne_bytes()); // the sender's port: 0 from the kernel; any value here
    b.extend(body);
    b
}

/// A generic netlink message body: genlmsghdr then attributes.
fn genl(cmd: u8, attrs: &[u8]) -> Vec<u8> {
    let mut b = vec![cmd, 1, 0, 0];
    b.extend(attrs);
    b
}

/// `struct nlmsgerr` for the request `req`.
fn nlmsgerr(errno: i32, req: &[u8]) -> Vec<u8> {
    let mut b = errno.to_ne_bytes().to_vec();
    b.extend(&req[..16]);
    b
}

fn vs_of(text: &str) -> conf::VirtualServer {
    conf::parse_str(text)
        .expect("parses")
        .checkers
        .virtual_servers[0]
        .clone()
}

const IPVS_ID: u16 = 0x23;

#[test]
fn the_family_request_is_ctrl_getfamily_ipvs() {
    let b = family_request(9);
    assert_eq!(
        u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize,
        b.len()
    );
    assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 0x10, "GENL_ID_CTRL");
    assert_eq!(u16::from_ne_bytes([b[6], b[7]]) & 1, 1, "NLM_F_REQUEST");
    assert_eq!(u32::from_ne_bytes(b[8..12].try_into().unwrap()), 9);
    assert_eq!(b[16], 3, "CTRL_CMD_GETFAMILY");
    assert_eq!(
        &b[20..],
        nla(2, b"IPVS\0").as_slice(),
        "CTRL_ATTR_FAMILY_NAME"
    );
}

#[test]
fn the_family_reply_gives_the_id_and_a_missing_family_is_enoent() {
    // The controller's answer: CTRL_CMD_NEWFAMILY with FAMILY_NAME, FAMILY_ID, VERSION, ...
    let mut attrs = nla(2, b"IPVS\0");
    attrs.extend(nla(1, &IPVS_ID.to_ne_bytes()));
    attrs.extend(nla(3, &1u32.to_ne_bytes()));
    let reply = nlmsg(0x10, 0, 9, &genl(1, &attrs));
    assert_eq!(parse_family_reply(&reply, 9), Ok(Some(IPVS_ID)));
    // Another request's answer is not this one's.
    assert_eq!(parse_family_reply(&reply, 10), Ok(None));
    // This machine's kernel: NLMSG_ERROR with -ENOENT (genl_ctrl: no such family).
    let req = family_request(9);
    let err = nlmsg(2, 0, 9, &nlmsgerr(-libc::ENOENT, &req));
    assert_eq!(parse_family_reply(&err, 9), Err(Errno(libc::ENOENT)));
}

#[test]
fn acks_and_errors_are_read_with_the_commands_meaning() {
    let vs = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n real_server 198.51.100.11 80 { }\n}\n",
    );
    let req = message(
        IPVS_ID,
        5,
        cmd::NEW_SERVICE,
        &[CmdAttr::Service(service(&vs))],
    );
    let ack = nlmsg(2, 0x100, 5, &nlmsgerr(0, &req)); // NLM_F_CAPPED: the request not echoed
    assert_eq!(parse_replies(&ack[..20 + 16], 5), Ok(vec![Reply::Ack]));
    let exists = nlmsg(2, 0, 5, &nlmsgerr(-libc::EEXIST, &req));
    assert_eq!(
        parse_replies(&exists, 5),
        Ok(vec![Reply::Error(Errno(libc::EEXIST))])
    );
    let m = explain(cmd::NEW_SERVICE, Errno(libc::EEXIST));
    assert!(m.starts_with("service already exists (errno 17"), "{m}");
    let m = explain(cmd::NEW_SERVICE, Errno(libc::ENOENT));
    assert!(
        m.contains("scheduler or persistence engine not found"),
        "{m}"
    );
    let m = explain(cmd::DEL_DEST, Errno(libc::ENOENT));
    assert!(m.starts_with("no such destination"), "{m}");
    let m = explain(cmd::DEL_SERVICE, Errno(libc::ESRCH));
    assert!(m.starts_with("no such service"), "{m}");
    let m = explain(cmd::NEW_DEST, Errno(libc::EPERM));
    assert!(m.contains("CAP_NET_ADMIN"), "{m}");
    // An errno with no IPVS meaning: strerror.
    let m = explain(cmd::NEW_DEST, Errno(libc::EBUSY));
    assert!(m.starts_with("errno 16: "), "{m}");
}

#[test]
fn dump_requests_have_nlm_f_dump_and_get_dest_names_its_service() {
    let b = dump_message(IPVS_ID, 3, GET_SERVICE, &[]);
    assert_eq!(b.len(), 20);
    assert_eq!(
        u16::from_ne_bytes([b[6], b[7]]),
        0x1 | 0x300,
        "NLM_F_REQUEST | NLM_F_DUMP"
    );
    assert_eq!((b[16], b[17]), (4, 1), "IPVS_CMD_GET_SERVICE, version 1");
    let key = SvcKey::Fwmark(libc::AF_INET6 as u16, 7);
    let b = dump_message(IPVS_ID, 4, GET_DEST, &[CmdAttr::Service(key.attrs())]);
    assert_eq!(b[16], 8, "IPVS_CMD_GET_DEST");
    let mut want = nla(1, &(libc::AF_INET6 as u16).to_ne_bytes());
    want.extend(nla(5, &7u32.to_ne_bytes()));
    assert_eq!(
        &b[20..],
        nla(1 | 0x8000, &want).as_slice(),
        "nested IPVS_CMD_ATTR_SERVICE"
    );
}

/// `ip_vs_genl_fill_service`'s attributes for 192.0.2.10:80/tcp, wrr, persistent 300 s,
/// netmask 255.255.255.0, with the HASHED bit and statistics.
fn kernel_service() -> Vec<u8> {
    let mut s = nla(1, &(libc::AF_INET as u16).to_ne_bytes());
    s.extend(nla(2, &6u16.to_ne_bytes()));
    s.extend(nla(3, &[192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    s.extend(nla(4, &80u16.to_be_bytes()));
    s.extend(nla(6, b"wrr\0"));
    let mut flags = (0x0001u32 | 0x0002).to_ne_bytes().to_vec();
    flags.extend(u32::MAX.to_ne_bytes());
    s.extend(nla(7, &flags));
    s.extend(nla(8, &300u32.to_ne_bytes()));
    s.extend(nla(9, &[255, 255, 255, 0]));
    let mut stats = nla(1, &12u32.to_ne_bytes()); // IPVS_STATS_ATTR_CONNS
    stats.extend(nla(2, &40u32.to_ne_bytes()));
    s.extend(nla(10 | 0x8000, &stats));
    s.extend(nla(12 | 0x8000, &nla(1, &12u64.to_ne_bytes())));
    nla(1 | 0x8000, &s)
}

#[test]
fn a_service_dump_reads_back_as_what_vigil_sends() {
    let vs = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_algo wrr\n persistence_timeout 300\n persistence_granularity 255.255.255.0\n real_server 198.51.100.11 8080 { }\n}\n",
    );
    // Two datagrams' worth in one: the service (NLM_F_MULTI) then NLMSG_DONE.
    let mut dg = nlmsg(IPVS_ID, 2, 3, &genl(cmd::NEW_SERVICE, &kernel_service()));
    dg.extend(nlmsg(3, 2, 3, &0i32.to_ne_bytes()));
    let replies = parse_replies(&dg, 3).expect("well-formed");
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[1], Reply::Done);
    let Reply::Data { cmd: c, attrs } = &replies[0] else {
        panic!("{replies:?}")
    };
    assert_eq!(*c, cmd::NEW_SERVICE);
    let got = parse_service(attrs).expect("a service");
    assert_eq!(SvcKey::of(&got), SvcKey::of(&service(&vs)));
    // Same settings: nothing to send.
    assert_eq!(service_command(&service(&vs), Some(&got)), None);
    // Another scheduler in the configuration: SET_SERVICE; absent from the kernel: NEW.
    let rr = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_algo rr\n persistence_timeout 300\n persistence_granularity 255.255.255.0\n real_server 198.51.100.11 8080 { }\n}\n",
    );
    assert_eq!(
        service_command(&service(&rr), Some(&got)),
        Some(cmd::SET_SERVICE)
    );
    assert_eq!(service_command(&service(&rr), None), Some(cmd::NEW_SERVICE));
}

/// `ip_vs_genl_fill_dest`'s attributes.
fn kernel_dest(addr: [u8; 4], port: u16, weight: u32) -> Vec<u8> {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&addr);
    let mut d = nla(1, &a);
    d.extend(nla(2, &port.to_be_bytes()));
    d.extend(nla(3, &0u32.to_ne_bytes())); // IP_VS_CONN_F_MASQ
    d.extend(nla(4, &weight.to_ne_bytes()));
    d.extend(nla(13, &[0])); // TUN_TYPE ipip (reported whatever the method)
    d.extend(nla(14, &0u16.to_be_bytes()));
    d.extend(nla(15, &0u16.to_ne_bytes()));
    d.extend(nla(5, &0u32.to_ne_bytes()));
    d.extend(nla(6, &0u32.to_ne_bytes()));
    d.extend(nla(7, &3u32.to_ne_bytes())); // ACTIVE_CONNS
    d.extend(nla(8, &1u32.to_ne_bytes()));
    d.extend(nla(9, &0u32.to_ne_bytes()));
    d.extend(nla(11, &(libc::AF_INET as u16).to_ne_bytes()));
    d.extend(nla(10 | 0x8000, &nla(1, &3u32.to_ne_bytes())));
    nla(2 | 0x8000, &d)
}

#[test]
fn a_dest_dump_is_reconciled_with_the_engines_table() {
    let vs = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_algo wrr\n real_server 198.51.100.11 8080 { weight 3 }\n real_server 198.51.100.12 8080 { weight 2 }\n real_server 198.51.100.13 8080 { weight 1 }\n}\n",
    );
    // The kernel has .11 at 3 and .13 at 1 (and .14, which the table does not hold).
    let mut dg = Vec::new();
    for (a, w) in [
        ([198, 51, 100, 11], 3),
        ([198, 51, 100, 13], 1),
        ([198, 51, 100, 14], 5),
    ] {
        dg.extend(nlmsg(
            IPVS_ID,
            2,
            8,
            &genl(cmd::NEW_DEST, &kernel_dest(a, 8080, w)),
        ));
    }
    dg.extend(nlmsg(3, 2, 8, &0i32.to_ne_bytes()));
    let have: Vec<Vec<DestAttr>> = parse_replies(&dg, 8)
        .expect("well-formed")
        .iter()
        .filter_map(|r| match r {
            Reply::Data { attrs, .. } => parse_dest(attrs, libc::AF_INET as u16),
            _ => None,
        })
        .collect();
    assert_eq!(have.len(), 3);
    assert!(have[0].contains(&DestAttr::Weight(3)));
    // The engine's table: .11 at 3, .12 at 2 (up), .13 inhibited (weight 0), .14 absent.
    let table = ServiceTable {
        reals: vec![Some(3), Some(2), Some(0)],
        sorry: None,
    };
    let cmds = dest_commands(&wanted_dests(&vs, &table, None), &have);
    let summary: Vec<(u8, String)> = cmds
        .iter()
        .map(|(c, d)| {
            let a = d.iter().find_map(|x| match x {
                DestAttr::Addr(a) => Some(a.to_string()),
                _ => None,
            });
            let w = d.iter().find_map(|x| match x {
                DestAttr::Weight(w) => Some(*w),
                _ => None,
            });
            (*c, format!("{} {w:?}", a.unwrap_or_default()))
        })
        .collect();
    assert_eq!(
        summary,
        [
            (cmd::DEL_DEST, "198.51.100.14 None".to_string()),
            (cmd::NEW_DEST, "198.51.100.12 Some(2)".to_string()),
            (cmd::SET_DEST, "198.51.100.13 Some(0)".to_string()),
        ]
    );
    // The same table again: nothing to send.
    let mut now = have.clone();
    now.retain(|d| !d.contains(&DestAttr::Addr("198.51.100.14".parse().unwrap())));
    now.push(wanted_dests(&vs, &table, None)[1].clone());
    now[1] = wanted_dests(&vs, &table, None)[2].clone();
    assert!(dest_commands(&wanted_dests(&vs, &table, None), &now).is_empty());
    // The bytes of the SET_DEST: the service key then the destination.
    let (c, d) = &cmds[2];
    let key = SvcKey::of(&service(&vs)).expect("key");
    let msg = message(
        IPVS_ID,
        11,
        *c,
        &[CmdAttr::Service(key.attrs()), CmdAttr::Dest(d.clone())],
    );
    assert_eq!(msg[16], 6, "IPVS_CMD_SET_DEST");
}

#[test]
fn the_sorry_server_is_a_destination_and_dr_tun_are_kept() {
    let vs = vs_of(
        "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_kind DR\n sorry_server 198.51.100.20 80\n real_server 198.51.100.11 80 { weight 2 }\n real_server 198.51.100.12 80 { lvs_method TUN\n }\n}\n",
    );
    let table = ServiceTable {
        reals: vec![Some(2), Some(1)],
        sorry: Some(1),
    };
    let w = wanted_dests(&vs, &table, None);
    assert_eq!(w.len(), 3);
    assert!(w[0].contains(&DestAttr::FwdMethod(FWD_DROUTE)));
    assert!(w[1].contains(&DestAttr::FwdMethod(FWD_TUNNEL)));
    assert!(w[2].contains(&DestAttr::Addr("198.51.100.20".parse().unwrap())));
    assert_eq!(vigil_engine::dataplane::ipvs_refusal(&vs), None);
    assert!(
        vigil_engine::dataplane::refusal(&vs).is_some(),
        "nftables refuses DR"
    );
}

#[test]
fn malformed_replies_are_errors_not_panics() {
    let mut dg = nlmsg(IPVS_ID, 2, 3, &genl(cmd::NEW_SERVICE, &kernel_service()));
    dg.extend(nlmsg(
        IPVS_ID,
        2,
        3,
        &genl(cmd::NEW_DEST, &kernel_dest([198, 51, 100, 11], 80, 1)),
    ));
    for cut in 0..dg.len() {
        let part = &dg[..cut];
        if let Ok(rs) = parse_replies(part, 3) {
            for r in rs {
                if let Reply::Data { attrs, .. } = r {
                    let _ = parse_service(&attrs);
                    let _ = parse_dest(&attrs, libc::AF_INET as u16);
                }
            }
        }
        let _ = parse_family_reply(part, 3);
    }
    // A header whose length runs past the datagram.
    let mut bad = dg.clone();
    bad[0..4].copy_from_slice(&10_000u32.to_ne_bytes());
    assert_eq!(parse_replies(&bad, 3), Err(Errno(libc::EBADMSG)));
    // Attributes cut in the middle: the service is incomplete, not invented.
    let attrs = &genl(cmd::NEW_SERVICE, &kernel_service())[4..];
    assert!(parse_service(&attrs[..40]).is_none());
}

/// A group's destinations (keepalived's `ipvs_group_cmd`): NAT destinations keep the real
/// server's port on every entry's service; DR / TUN ones take the entry's port (0 for a
/// fwmark entry). The bytes of the NEW_DEST of a DR destination on a range member.
#[test]
fn a_groups_destinations_take_the_entry_port_unless_nat() {
    let vs = vs_of(
        "virtual_server_group web {\n 192.0.2.20-21 80\n fwmark 7\n}\nvirtual_server group web {\n protocol TCP\n lb_kind DR\n real_server 198.51.100.11 { weight 2 }\n real_server 198.51.100.12 8080 {\n  lvs_method NAT\n }\n}\n",
    );
    let mut table = ServiceTable::new(2);
    table.reals = vec![Some(2), Some(1)];
    let all = services(&vs);
    assert_eq!(all.len(), 3);
    let ports = |i: usize| -> Vec<u16> {
        wanted_dests(&vs, &table, all[i].entry_port)
            .iter()
            .filter_map(|d| {
                d.iter().find_map(|a| match a {
                    DestAttr::Port(p) => Some(*p),
                    _ => None,
                })
            })
            .collect()
    };
    assert_eq!(
        ports(0),
        [80, 8080],
        "range member: DR at the entry's port, NAT its own"
    );
    assert_eq!(ports(2), [0, 8080], "fwmark entry: DR port 0, NAT its own");
    let d = wanted_dests(&vs, &table, all[1].entry_port)[0].clone();
    let key = SvcKey::of(&all[1].attrs).expect("a key");
    let msg = message(
        0x1c,
        9,
        cmd::NEW_DEST,
        &[CmdAttr::Service(key.attrs()), CmdAttr::Dest(d)],
    );
    assert_eq!(msg[16], 5, "IPVS_CMD_NEW_DEST");
    // IPVS_CMD_ATTR_SERVICE (1, nested) { AF, PROTOCOL, ADDR 192.0.2.21, PORT 80 },
    // IPVS_CMD_ATTR_DEST (2, nested) { ADDR, PORT 80, ADDR_FAMILY, FWD_METHOD DROUTE 3, WEIGHT 2, U_THRESH, L_THRESH }.
    let mut want = Vec::new();
    let mut svc = nla(1, &(libc::AF_INET as u16).to_ne_bytes());
    svc.extend(nla(2, &6u16.to_ne_bytes()));
    svc.extend(nla(3, &[192, 0, 2, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    svc.extend(nla(4, &80u16.to_be_bytes()));
    want.extend(nla(1 | 0x8000, &svc));
    let mut dst = nla(1, &[198, 51, 100, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    dst.extend(nla(2, &80u16.to_be_bytes()));
    dst.extend(nla(11, &(libc::AF_INET as u16).to_ne_bytes()));
    dst.extend(nla(3, &3u32.to_ne_bytes()));
    dst.extend(nla(4, &2u32.to_ne_bytes()));
    dst.extend(nla(5, &0u32.to_ne_bytes()));
    dst.extend(nla(6, &0u32.to_ne_bytes()));
    want.extend(nla(2 | 0x8000, &dst));
    assert_eq!(&msg[20..], &want[..]);
}
