// Long: tests only, small parser texts one per rule (instances, addresses, globals, errors), sharing BASIC and ok().
//! End-to-end tests of the parser on small texts.

use super::*;
use core::time::Duration;

fn ok(src: &str) -> Config {
    match parse_str(src) {
        Ok(c) => c,
        Err(e) => panic!("expected a config, got:\n{e}"),
    }
}

fn errs(src: &str) -> Vec<String> {
    match parse_str(src) {
        Ok(c) => panic!("expected errors, got a config with {:?}", c.warnings),
        Err(e) => e.errors().map(|d| d.to_string()).collect(),
    }
}

/// The addresses of the first instance, as written.
fn first_vips(c: &Config) -> Vec<String> {
    c.instances[0]
        .virtual_addresses
        .iter()
        .map(|v| v.address.addr.to_string())
        .collect()
}

const BASIC: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";

#[test]
fn defaults_are_keepalived_s() {
    let c = ok(BASIC);
    let i = &c.instances[0];
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.version, Version::V2);
    assert!(i.preempt && i.accept);
    assert_eq!(i.garp.master_delay, Duration::from_secs(5));
    assert_eq!(i.garp.master_repeat, 5);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn state_master_without_priority_is_255() {
    let c = ok(&BASIC.replace("interface eth0", "state MASTER\n interface eth0"));
    assert_eq!(c.instances[0].priority, 255);
    let c = ok(&BASIC.replace(
        "interface eth0",
        "state MASTER\n priority 150\n interface eth0",
    ));
    assert_eq!(c.instances[0].priority, 150);
}

#[test]
fn the_state_is_keepalived_s_wantstate() {
    let with =
        |extra: &str| ok(&BASIC.replace("interface eth0", &format!("{extra}\n interface eth0")));
    // No state: derived from the priority (keepalived's vrrp_complete_instance).
    assert_eq!(with("").instances[0].state, InitialState::Backup);
    assert_eq!(
        with("priority 255").instances[0].state,
        InitialState::Master
    );
    assert_eq!(
        with("state BACKUP\n priority 255").instances[0].state,
        InitialState::Backup
    );
    // nopreempt and preempt_delay cannot work for an instance that wants MASTER: cleared, said.
    let c = with("state MASTER\n priority 150\n nopreempt\n preempt_delay 10");
    let i = &c.instances[0];
    assert_eq!(i.state, InitialState::Master);
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    let w: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("nopreempt will not work with initial state MASTER")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("preempt_delay will not work with initial state MASTER")),
        "{w:?}"
    );
    // With state BACKUP both stay.
    let i = &with("priority 150\n nopreempt\n preempt_delay 10").instances[0];
    assert!(!i.preempt);
    assert_eq!(i.preempt_delay, Duration::from_secs(10));
}

#[test]
fn a_sync_group_wants_master_only_when_every_member_is_an_owner_wanting_it() {
    let two = |a: &str, b: &str| {
        format!(
            "vrrp_sync_group G {{\n group {{\n A\n B\n }}\n}}\n\
             vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n {a}\n virtual_ipaddress {{\n 192.0.2.1\n }}\n}}\n\
             vrrp_instance B {{\n interface eth0\n virtual_router_id 2\n {b}\n virtual_ipaddress {{\n 192.0.2.2\n }}\n}}\n"
        )
    };
    let states = |a: &str, b: &str| -> Vec<InitialState> {
        ok(&two(a, b)).instances.iter().map(|i| i.state).collect()
    };
    use InitialState::{Backup, Master};
    assert_eq!(
        states("state MASTER\n priority 150", "state MASTER\n priority 150"),
        [Backup, Backup]
    );
    assert_eq!(states("priority 255", "priority 100"), [Backup, Backup]);
    assert_eq!(
        states("priority 255", "state BACKUP\n priority 255"),
        [Backup, Backup]
    );
    assert_eq!(states("priority 255", "state MASTER"), [Master, Master]);
    // Outside a group a non-owner keeps wanting MASTER.
    assert_eq!(
        ok(&BASIC.replace(
            "interface eth0",
            "state MASTER\n priority 150\n interface eth0"
        ))
        .instances[0]
            .state,
        Master
    );
}

#[test]
fn ranges_are_errors_with_locations() {
    let e = errs(&BASIC.replace("virtual_router_id 1", "virtual_router_id 0"));
    assert_eq!(e, ["keepalived.conf:3:20: error: virtual_router_id: expected an integer in 1..=255, found '0'"]);
    let e = errs(&BASIC.replace("interface eth0", "interface eth0\n priority 256"));
    assert_eq!(
        e,
        ["keepalived.conf:3:11: error: priority: expected an integer in 1..=255, found '256'"]
    );
    let e = errs(&BASIC.replace("interface eth0", "interface eth0\n advert_int 0.001"));
    assert!(
        e[0].contains("advert_int: expected a time in seconds between 0.01 and 255"),
        "{e:?}"
    );
}

#[test]
fn advert_int_rounding_per_version() {
    let c = ok(&BASIC.replace("interface eth0", "interface eth0\n advert_int 1.5"));
    assert_eq!(c.instances[0].advert_int, Duration::from_secs(2));
    assert_eq!(c.warnings[0].severity, Severity::Warning);
    let c = ok(&BASIC.replace(
        "interface eth0",
        "interface eth0\n version 3\n advert_int 0.257",
    ));
    assert_eq!(c.instances[0].advert_int, Duration::from_millis(260));
    let c = ok(&BASIC.replace(
        "interface eth0",
        "interface eth0\n version 3\n advert_int 0.25",
    ));
    assert!(c.warnings.is_empty());
    let e = errs(&BASIC.replace(
        "interface eth0",
        "interface eth0\n version 3\n advert_int 41",
    ));
    assert!(e[0].contains("0.01..=40.95"), "{e:?}");
}

#[test]
fn ipv6_implies_v3_and_families_do_not_mix() {
    let c = ok(&BASIC.replace("192.0.2.1/24", "2001:db8::1/64"));
    assert_eq!(c.instances[0].version, Version::V3);
    assert_eq!(c.instances[0].family, Family::V6);
    let e = errs(&BASIC.replace("192.0.2.1/24", "192.0.2.1\n 2001:db8::1"));
    assert!(e[0].contains("one address family per instance"), "{e:?}");
}

#[test]
fn vip_full_syntax() {
    let c = ok(&BASIC.replace(
        "192.0.2.1/24",
        "192.0.2.1/24 brd 192.0.2.255 dev eth1 scope link label eth1:1 no_track",
    ));
    let v = &c.instances[0].virtual_addresses;
    let v: Vec<&VirtualAddress> = v.iter().map(|l| &l.address).collect();
    assert_eq!(v[0].broadcast, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(v[0].dev.as_deref(), Some("eth1"));
    assert_eq!(v[0].scope, Scope::Link);
    assert_eq!(v[0].label.as_deref(), Some("eth1:1"));
    // no_track is honoured: the address is not put back when someone else removes it.
    assert!(v[0].no_track);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // A point-to-point peer makes the address a /32 (keepalived 2.2.7's alloc_ipaddress); the
    // flags and the lifetime are read.
    let c = ok(&BASIC.replace("192.0.2.1/24", "198.51.100.1/32 peer 198.51.100.2"));
    let v = &c.instances[0].virtual_addresses;
    let v: Vec<&VirtualAddress> = v.iter().map(|l| &l.address).collect();
    assert_eq!(v[0].peer, Some("198.51.100.2".parse().unwrap()));
    assert_eq!(v[0].prefix_len, 32);
    let e = errs(&BASIC.replace("192.0.2.1/24", "198.51.100.1 peer 198.51.100.2/30"));
    assert!(e[0].contains("without a prefix length"), "{e:?}");
    let c = ok(&BASIC.replace(
        "192.0.2.1/24",
        "2001:db8::1/64 -nodad home mngtmpaddr noprefixroute autojoin preferred_lft 30",
    ));
    let v = &c.instances[0].virtual_addresses[0].address;
    assert_eq!(
        v.flags,
        crate::address::AddrFlags {
            home: true,
            dad: true,
            mngtmpaddr: true,
            noprefixroute: true,
            autojoin: true,
        }
    );
    assert_eq!(v.preferred_lft, 30);
    // A prefix on the address and a peer, a peer and a broadcast address, a peer of the other
    // family: errors at the line.
    let e = errs(&BASIC.replace("192.0.2.1/24", "198.51.100.1/24 peer 198.51.100.2"));
    assert!(e[0].contains("is a /32 (IPv4) or /128"), "{e:?}");
    let e = errs(&BASIC.replace("192.0.2.1/24", "198.51.100.1 peer 198.51.100.2 brd +"));
    assert!(e[0].contains("has no broadcast address"), "{e:?}");
    let e = errs(&BASIC.replace("192.0.2.1/24", "198.51.100.1 peer 2001:db8::2"));
    assert!(e[0].contains("same address family"), "{e:?}");
    // preferred_lft on IPv4: keepalived ignores it, Vigil says so.
    let c = ok(&BASIC.replace("192.0.2.1/24", "192.0.2.1/24 preferred_lft 0"));
    assert!(c
        .warnings
        .iter()
        .any(|w| w.to_string().contains("IPv6 addresses only")));
    // `brd +` / `brd -` are computed, as `ip addr` does (they were stored and dropped).
    let c = ok(&BASIC.replace("192.0.2.1/24", "192.0.2.1/24 brd +\n 192.0.2.9/25 brd -"));
    let v = &c.instances[0].virtual_addresses;
    assert_eq!(v[0].address.broadcast, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(v[1].address.broadcast, Some("192.0.2.0".parse().unwrap()));
    let e = errs(&BASIC.replace("192.0.2.1/24", "192.0.2.1 bogus"));
    assert!(e[0].contains("unknown address option 'bogus'"), "{e:?}");
}

#[test]
fn duplicate_vrid_and_sync_groups() {
    let two = format!(
        "{BASIC}{}",
        BASIC.replace("vrrp_instance A", "vrrp_instance B")
    );
    let e = errs(&two);
    assert!(
        e[0].contains("uses VRID 1 with IPv4 on interface eth0"),
        "{e:?}"
    );
    let e = errs(&format!("vrrp_sync_group G {{ group {{ A B }} }}\n{BASIC}"));
    assert!(e[0].contains("member 'B' is not a vrrp_instance"), "{e:?}");
    let c = ok(&format!(
        "vrrp_sync_group G {{\n group {{\n  A\n }}\n}}\n{BASIC}"
    ));
    assert_eq!(c.instances[0].sync_group.as_deref(), Some("G"));
}

#[test]
fn unknown_keywords_warn_and_lvs_defaults_are_reported() {
    // On an nftables host (the data plane's notes follow the host's backend).
    let opts = ParseOptions {
        data_plane: crate::dataplane::Backend::Nftables,
        ..ParseOptions::default()
    };
    let text = format!(
        "virtual_server 192.0.2.9 80 {{\n real_server 192.0.2.10 80 {{\n  weight 1\n }}\n}}\n{}",
        BASIC.replace("interface eth0", "interface eth0\n frobnicate 3")
    );
    let c = parse_text("keepalived.conf", &text, &MemoryLoader::new(), &opts).expect("parses");
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(w.len(), 6, "{w:?}");
    assert_eq!(
        w[0],
        "keepalived.conf:8:2: warning: unknown keyword 'frobnicate' in vrrp_instance (ignored)"
    );
    // keepalived's end-of-parse fix-ups, each failing `-t` as keepalived's do.
    assert!(w[1].contains("no protocol set: UDP"), "{w:?}");
    assert!(w[2].contains("no lb_algo set: wlc"), "{w:?}");
    assert!(w[3].contains("no lb_kind set: NAT"), "{w:?}");
    assert!(
        w[4].contains("notice: virtual_server 192.0.2.9:80: applied by the nftables data plane"),
        "{w:?}"
    );
    assert!(
        w[5].contains("lb_algo wlc: needs per-server connection counts"),
        "{w:?}"
    );
    assert_eq!(c.checkers.virtual_servers.len(), 1);
}

#[test]
fn includes_conditionals_and_parameters() {
    let mut m = MemoryLoader::new();
    m.add(
        "/etc/k/main.conf",
        "$IF=eth0\n@main $PRIO=200\n@^main $PRIO=50\ninclude conf.d/*.conf\n",
    );
    m.add(
        "/etc/k/conf.d/a.conf",
        "vrrp_instance A {\n interface $IF\n virtual_router_id 1\n priority ${PRIO}\n virtual_ipaddress { 192.0.2.1 }\n}\n",
    );
    let opts = ParseOptions {
        config_id: Some("main".into()),
        ..ParseOptions::default()
    };
    let c = parse_file("/etc/k/main.conf", &m, &opts).unwrap();
    assert_eq!(c.instances[0].priority, 200);
    assert_eq!(c.instances[0].interface.as_deref(), Some("eth0"));
    assert_eq!(c.instances[0].loc.to_string(), "/etc/k/conf.d/a.conf:1:1");
    let c = parse_file("/etc/k/main.conf", &m, &ParseOptions::default()).unwrap();
    assert_eq!(c.instances[0].priority, 50);
}

#[test]
fn include_cycle_is_an_error_not_a_hang() {
    let mut m = MemoryLoader::new();
    m.add("/a.conf", "include b.conf\n");
    m.add("/b.conf", "include a.conf\n");
    let e = parse_file("/a.conf", &m, &ParseOptions::default()).unwrap_err();
    assert_eq!(
        e.errors().next().unwrap().to_string(),
        "/b.conf:1:9: error: include cycle: /a.conf -> /b.conf -> /a.conf"
    );
}

#[test]
fn multiline_parameters() {
    let src = "$INST= \\\nvrrp_instance VI_${N} { \\\n interface eth0 \\\n virtual_router_id ${N} \\\n virtual_ipaddress { 192.0.2.${N} } \\\n}\n$N=1\n$INST\n$N=2\n$INST\n";
    let c = ok(src);
    assert_eq!(c.instances.len(), 2);
    assert_eq!(c.instances[1].name, "VI_2");
    assert_eq!(c.instances[1].vrid, 2);
}

/// keepalived's whitespace (lib/parser.c `WHITE_SPACE_STR`, `decomment`): words are separated
/// at the six ASCII whitespace characters only, and a line's start skips spaces and tabs only.
#[test]
fn words_and_line_starts_are_read_with_keepalived_s_whitespace() {
    // A no-break space is part of the name, as in keepalived; a vertical tab and a form feed
    // separate words.
    let c = ok(&BASIC
        .replace("vrrp_instance A", "vrrp_instance VI\u{a0}1")
        .replace("virtual_router_id 1", "virtual_router_id\u{0b}1\u{0c}"));
    assert_eq!(c.instances[0].name, "VI\u{a0}1");
    assert_eq!(c.instances[0].vrid, 1);
    // A carriage return before `~SEQ` is not skipped: the line is not a sequence but a keyword
    // (unknown at the top level), as keepalived reads it.
    let c = ok(&format!("\r~SEQ(i,1,3) vrrp_instance X$i {{\n}}\n{BASIC}"));
    assert_eq!(c.instances.len(), 1);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.to_string().contains("~SEQ(i,1,3)")),
        "{:?}",
        c.warnings
    );
    // Nor before a definition or a conditional.
    let c = ok(&format!("\r$P=7\n{BASIC}"));
    assert_eq!(c.instances[0].priority, 100);
    // Spaces and tabs are skipped.
    let c = ok(&format!(
        " \t~SEQ(i,1,2) $P=9\n{}",
        BASIC.replace(" interface", " priority $P\n interface")
    ));
    assert_eq!(c.instances[0].priority, 9);
}

/// keepalived's `find_definition`: an unbraced parameter name ends at a space, a tab, a comma,
/// a closing parenthesis or the end of the line; before anything else it is not a parameter.
#[test]
fn a_parameter_name_ends_where_keepalived_ends_it() {
    let c = ok(&format!(
        "$N=2\n$V=192.0.2.9\n{}",
        BASIC.replace("192.0.2.1/24", "$V\n  ~SEQ(i,1,$N) 198.51.100.$i")
    ));
    let vips = first_vips(&c);
    assert_eq!(vips, ["192.0.2.9", "198.51.100.1", "198.51.100.2"]);
    // After a conditional's prefix too (keepalived rechecks the line once the prefix is gone).
    let c = ok(&format!(
        "$N=2\n{}",
        BASIC.replace("192.0.2.1/24", "@^other ~SEQ(i,1,$N) 198.51.100.$i")
    ));
    assert_eq!(first_vips(&c), ["198.51.100.1", "198.51.100.2"]);
    // `$N` followed by a vertical tab, or a no-break space, is not a parameter.
    let e = errs(&format!(
        "$N=5\n{}",
        BASIC.replace("virtual_router_id 1", "virtual_router_id $N\u{a0}")
    ));
    assert!(e.iter().any(|l| l.contains("virtual_router_id")), "{e:?}");
}

/// keepalived.conf(5) "List blocks": `~LST` repeats the rest of its line once per value set,
/// nested `~LST` and `~SEQ` multiply.
#[test]
fn list_blocks_repeat_the_line_per_value_set() {
    let c = ok(&BASIC.replace(
        "192.0.2.1/24",
        "~LST({A, B}, {1,0},{2,5}) ~SEQ(C, 1, 2) 198.51.100.${A}${B}${C}\n  ~LST(X, 7, 8) 203.0.113.$X",
    ));
    let vips = first_vips(&c);
    assert_eq!(
        vips,
        [
            "198.51.100.101",
            "198.51.100.102",
            "198.51.100.251",
            "198.51.100.252",
            "203.0.113.7",
            "203.0.113.8"
        ]
    );
    let e = errs(&format!("~LST({{A, B}}, {{1, 2, 3}}) x\n{BASIC}"));
    assert!(e.iter().any(|l| l.contains("too many values")), "{e:?}");
}

#[test]
fn notify_scripts_keep_arguments() {
    let c = ok(&BASIC.replace(
        "interface eth0",
        "interface eth0\n notify_master \"/usr/local/bin/vrrp.sh  MASTER  'VI 1'\" root wheel",
    ));
    let s = c.instances[0].notify.master.as_ref().unwrap();
    assert_eq!(s.argv(), ["/usr/local/bin/vrrp.sh", "MASTER", "VI 1"]);
    assert_eq!(s.run_as.as_ref().unwrap().group.as_deref(), Some("wheel"));
}

#[test]
fn garbage_never_panics() {
    for s in [
        "",
        "{",
        "}",
        "{{}}",
        "\"",
        "'",
        "$",
        "${",
        "$A=${A}\n${A}",
        "@",
        "@^",
        "~SEQ(",
        "~SEQ(A,1,0,3)",
        "vrrp_instance",
        "vrrp_instance {",
        "vrrp_instance A { virtual_ipaddress { / } }",
        "include",
        "include /*",
        "global_defs { smtp_server }",
        "vrrp_script { }",
        "vrrp_instance A { virtual_routes { src } }",
        "\u{0}\u{ffff}{",
    ] {
        let _ = parse_str(s);
    }
}

#[test]
fn a_virtual_address_listed_twice_is_reported_at_the_second_line_and_held_once() {
    let c = ok(&BASIC.replace(
        "  192.0.2.1/24\n",
        "  192.0.2.1/24\n  192.0.2.2/24\n  192.0.2.1/24\n",
    ));
    let vips = first_vips(&c);
    assert_eq!(vips, ["192.0.2.1", "192.0.2.2"]);
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        w.iter().any(|d| d.contains("keepalived.conf:7:3")
            && d.contains("192.0.2.1 is listed twice (first at keepalived.conf:5:3)")),
        "{w:?}"
    );
}

/// The same address on another `dev` is another line of the list, and a third copy is reported
/// against the first (the look-up goes by address, then compares `dev`).
#[test]
fn a_virtual_address_on_two_devices_is_kept_twice_and_a_third_copy_names_the_first() {
    let c = ok(&BASIC.replace(
        "  192.0.2.1/24\n",
        "  192.0.2.1/24\n  192.0.2.1/24 dev eth1\n  192.0.2.1/24\n  192.0.2.1/24 dev eth1\n",
    ));
    let vips: Vec<(String, Option<String>)> = c.instances[0]
        .virtual_addresses
        .iter()
        .map(|a| (a.address.addr.to_string(), a.address.dev.clone()))
        .collect();
    assert_eq!(
        vips,
        [
            ("192.0.2.1".to_string(), None),
            ("192.0.2.1".to_string(), Some("eth1".to_string()))
        ]
    );
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    for (line, first) in [(7, 5), (8, 6)] {
        assert!(
            w.iter()
                .any(|d| d.contains(&format!("keepalived.conf:{line}:3"))
                    && d.contains(&format!(
                        "192.0.2.1 is listed twice (first at keepalived.conf:{first}:3)"
                    ))),
            "line {line}: {w:?}"
        );
    }
}

/// Below and above the length at which the duplicate look-up switches from a scan of the list
/// to its index (`ADDRESS_SCAN_MAX`): the same lines are kept, and each repeated line names
/// the first line with its address and `dev`, as a naive scan of every earlier line says.
#[test]
fn repeated_addresses_are_found_the_same_in_short_and_long_lists() {
    for n in [3, 31, 32, 33, 80] {
        let lines: Vec<(String, Option<&str>)> = (0..n)
            .map(|k| {
                let dev = (k % 3 == 1).then_some("eth1");
                (format!("192.0.2.{}", k % 23), dev)
            })
            .collect();
        let body: String = lines
            .iter()
            .map(|(a, d)| match d {
                Some(d) => format!("  {a}/24 dev {d}\n"),
                None => format!("  {a}/24\n"),
            })
            .collect();
        let c = ok(&BASIC.replace("  192.0.2.1/24\n", &body));
        let kept: Vec<(String, Option<String>)> = c.instances[0]
            .virtual_addresses
            .iter()
            .map(|a| (a.address.addr.to_string(), a.address.dev.clone()))
            .collect();
        let mut want_kept = Vec::new();
        let mut want_notes = Vec::new();
        for (j, (a, d)) in lines.iter().enumerate() {
            match lines[..j].iter().position(|(b, e)| b == a && e == d) {
                Some(first) => want_notes.push(format!(
                    "keepalived.conf:{}:3: notice: virtual_ipaddress: {a} is listed twice (first at keepalived.conf:{}:3): the second is ignored",
                    5 + j,
                    5 + first
                )),
                None => want_kept.push((a.clone(), d.map(str::to_string))),
            }
        }
        assert_eq!(kept, want_kept, "{n} lines");
        let notes: Vec<String> = c
            .warnings
            .iter()
            .map(|d| d.to_string())
            .filter(|d| d.contains("listed twice"))
            .collect();
        assert_eq!(notes, want_notes, "{n} lines");
    }
}

/// `vrrp_min_garp`: one gratuitous ARP, no second burst (keepalived's handler: only settings
/// still at their default change, so an earlier explicit setting is kept).
#[test]
fn vrrp_min_garp_sends_one_announcement() {
    let c = ok(&format!("global_defs {{\n vrrp_min_garp\n}}\n{BASIC}"));
    let g = &c.instances[0].garp;
    assert_eq!((g.master_repeat, g.master_delay), (1, Duration::ZERO));
    let c = ok(&format!(
        "global_defs {{\n vrrp_garp_master_repeat 3\n vrrp_min_garp\n}}\n{BASIC}"
    ));
    let g = &c.instances[0].garp;
    assert_eq!((g.master_repeat, g.master_delay), (3, Duration::ZERO));
    let c = ok(&format!(
        "global_defs {{\n vrrp_min_garp false\n}}\n{BASIC}"
    ));
    assert_eq!(c.instances[0].garp.master_repeat, 5);
}

/// The global `vrrp_notify_priority_changes` is each instance's default (it was noted and
/// dropped).
#[test]
fn vrrp_notify_priority_changes_is_the_instances_default() {
    let c = ok(&format!(
        "global_defs {{\n vrrp_notify_priority_changes\n}}\n{BASIC}"
    ));
    assert!(c.instances[0].notify_priority_changes);
    let c = ok(&format!(
        "global_defs {{\n vrrp_notify_priority_changes\n}}\n{}",
        BASIC.replace(
            " interface eth0\n",
            " interface eth0\n notify_priority_changes false\n"
        )
    ));
    assert!(!c.instances[0].notify_priority_changes);
    assert!(!ok(BASIC).instances[0].notify_priority_changes);
}

/// `umask` in keepalived's two forms (it was noted and dropped; vigild applies it at start).
#[test]
fn umask_takes_numbers_and_bits() {
    for (text, want) in [
        ("022", 0o22),
        ("0x12", 0x12),
        ("18", 18),
        ("IWGRP|IWOTH", 0o22),
        ("IRWXO", 0),
    ] {
        let conf = format!("global_defs {{\n umask {text}\n}}\n{BASIC}");
        if want == 0 {
            let e = errs(&conf);
            assert!(e[0].contains("umask: expected"), "{text}: {e:?}");
        } else {
            assert_eq!(ok(&conf).global.umask, Some(want), "{text}");
        }
    }
}

/// E-mail defaults as keepalived's vrrp.c resolves them: the instance's or group's own
/// `smtp_alert`, else `smtp_alert_vrrp`, else the global `smtp_alert`. (`smtp_alert_vrrp` was
/// noted and dropped; a sync group ignored the global `smtp_alert`.)
#[test]
fn smtp_alert_defaults_follow_keepalived() {
    let group = "vrrp_sync_group G {\n group {\n A\n }\n}\n";
    let c = ok(&format!("global_defs {{\n smtp_alert\n}}\n{BASIC}{group}"));
    assert!(c.instances[0].smtp_alert && c.sync_groups[0].smtp_alert);
    let c = ok(&format!(
        "global_defs {{\n smtp_alert\n smtp_alert_vrrp false\n}}\n{BASIC}{group}"
    ));
    assert!(!c.instances[0].smtp_alert && !c.sync_groups[0].smtp_alert);
    let c = ok(&format!(
        "global_defs {{\n smtp_alert_vrrp\n}}\n{BASIC}{group}"
    ));
    assert!(c.instances[0].smtp_alert && c.sync_groups[0].smtp_alert);
    let c = ok(&format!("{BASIC}{group}"));
    assert!(!c.instances[0].smtp_alert && !c.sync_groups[0].smtp_alert);
}

/// keepalived.conf(5) `use_vmac [<VMAC_INTERFACE_NAME>] [MAC_ADDRESS]`: a MAC of five octets
/// (the VRID becomes the sixth) is a MAC, not an interface name.
#[test]
fn use_vmac_takes_a_five_octet_mac() {
    let c = ok(&BASIC.replace(
        "interface eth0",
        "interface eth0\n use_vmac vrrp.1 02:00:5e:00:01",
    ));
    let v = c.instances[0].use_vmac.as_ref().unwrap();
    assert_eq!(v.name.as_deref(), Some("vrrp.1"));
    assert_eq!(v.mac.as_deref(), Some("02:00:5e:00:01"));
}

#[test]
fn track_process_block_and_references() {
    let src = "vrrp_track_process haproxy {\n process haproxy\n weight -20 reverse\n quorum 2\n quorum_max 4\n delay 0.5\n fork_delay 0.25\n}\n\
vrrp_track_process app {\n process /usr/bin/app -c \"a b\"\n param_match initial\n}\n\
vrrp_track_process none {\n process sshd\n quorum_max 0\n full_command\n}\n"
        .to_string()
        + &BASIC.replace(
            "interface eth0",
            "interface eth0\n track_process {\n  haproxy\n  app weight 5\n  nosuch\n }",
        );
    let c = ok(&src);
    let [h, a, n] = &c.track_processes[..] else {
        panic!("{:?}", c.track_processes)
    };
    assert_eq!(
        (h.weight, h.reverse, h.quorum, h.quorum_max),
        (-20, true, 2, 4)
    );
    assert_eq!(h.fork_delay, Duration::from_millis(250));
    assert_eq!(h.terminate_delay, Duration::from_millis(500));
    assert!(!h.matching.full_command);
    assert_eq!(a.matching.name, "/usr/bin/app");
    assert_eq!(a.matching.params, b"-c\0a b\0".to_vec());
    assert_eq!(
        a.matching.param_match,
        crate::track_process::ParamMatch::Initial
    );
    assert!(a.matching.full_command);
    assert_eq!((a.weight, a.quorum, a.quorum_max), (0, 1, u32::MAX));
    assert_eq!((n.quorum, n.quorum_max), (0, 0));
    assert!(n.matching.full_command);
    let names: Vec<&str> = c.instances[0]
        .track_processes
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["haproxy", "app"]);
    assert!(c.warnings.iter().any(|w| w
        .to_string()
        .contains("'nosuch' is not a vrrp_track_process")));
}

#[test]
fn track_process_bad_values_are_errors() {
    let e = errs("vrrp_track_process p {\n process x\n quorum 3\n quorum_max 2\n}\n");
    assert!(
        e.iter()
            .any(|m| m.contains("quorum 3 is above quorum_max 2")),
        "{e:?}"
    );
    let e = errs("vrrp_track_process p {\n weight 1\n}\n");
    assert!(e.iter().any(|m| m.contains("no 'process' line")), "{e:?}");
    let e = errs("vrrp_track_process p {\n process x\n weight 300\n}\n");
    assert!(e.iter().any(|m| m.contains("weight")), "{e:?}");
    let e = errs("vrrp_track_process p {\n process x\n delay 4000\n}\n");
    assert!(e.iter().any(|m| m.contains("delay")), "{e:?}");
}

#[test]
fn vrrp_strict_refuses_what_keepalived_refuses_and_changes_its_defaults() {
    let strict = |body: &str| {
        format!(
            "global_defs {{\n vrrp_strict\n}}\n{}",
            BASIC.replace("interface eth0", &format!("interface eth0\n{body}"))
        )
    };
    let c = ok(&strict(""));
    let i = &c.instances[0];
    assert!(!i.accept && i.lower_prio_no_advert && !i.higher_prio_send_advert);
    assert_eq!(
        (i.garp.lower_prio_repeat, i.garp.lower_prio_delay),
        (0, Duration::ZERO)
    );
    for (body, what) in [
        ("unicast_peer {\n 192.0.2.9\n}", "unicast peers"),
        ("state MASTER\n priority 100", "state MASTER must match"),
        (
            "authentication {\n auth_type PASS\n auth_pass x\n}",
            "authentication",
        ),
        ("preempt_delay 5", "preempt_delay"),
        ("down_timer_adverts 5", "down_timer_adverts"),
        ("accept", "accept cannot be set"),
        ("lower_prio_no_advert false", "lower_prio_no_advert"),
        ("higher_prio_send_advert", "higher_prio_send_advert"),
        ("garp_lower_prio_repeat 2", "gratuitous ARP"),
    ] {
        let e: Vec<String> = match parse_str(&strict(body)) {
            Ok(_) => panic!("{body}: accepted under vrrp_strict"),
            Err(e) => e.errors().map(|d| d.to_string()).collect(),
        };
        assert!(
            e.iter()
                .any(|m| m.contains("vrrp_strict") && m.contains(what)),
            "{body}: {e:?}"
        );
    }
    // The owner is MASTER with accept.
    let c = ok(&strict("state MASTER\n priority 255"));
    assert!(c.instances[0].accept);
}

/// The one-way rule of the module doc: the parser and its model use the crate's shared types
/// (wire, address, track_process, a constant of setup) and never the state machine or the
/// conversion to it. Reads the module's own sources (inside the repository).
#[test]
fn conf_depends_only_on_shared_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/conf");
    let mut files = vec![dir.clone()];
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&p).unwrap();
        // Spelled in two halves, so that this file does not match itself.
        for banned in [
            concat!("crate::", "engine"),
            concat!("crate::", "instance"),
            concat!("crate::", "from_conf"),
            concat!("crate::", "Engine"),
            concat!("super::super::", "engine"),
        ] {
            // Doc links to from_conf are fine; code paths are not.
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            for l in code {
                assert!(!l.contains(banned), "{}: '{l}' uses {banned}", p.display());
            }
        }
    }
    assert!(
        seen > 10,
        "found only {seen} source files under {}",
        dir.display()
    );
}

/// keepalived.conf(5) `native_ipv6`: an IPv6 instance without virtual addresses; with IPv4
/// ones, an error at the keyword.
#[test]
fn native_ipv6_makes_the_instance_ipv6() {
    let c = ok("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n native_ipv6\n no_virtual_ipaddress\n}\n");
    assert_eq!(c.instances[0].family, crate::wire::Family::V6);
    let e = errs(&BASIC.replace(" interface eth0\n", " interface eth0\n native_ipv6\n"));
    assert!(
        e[0].contains(":3:2: error") && e[0].contains("native_ipv6 with IPv4"),
        "{e:?}"
    );
}

/// `interface_up_down_delays { IFNAME DOWN [UP] }` (keepalived 2.2.7's order: down first).
#[test]
fn interface_up_down_delays_read_down_then_up() {
    let c = ok(&format!(
        "interface_up_down_delays {{\n eth0 2\n eth1 0.5 1.25\n eth0 3 1\n}}\n{BASIC}"
    ));
    let d: Vec<_> = c
        .interface_delays
        .iter()
        .map(|d| (d.interface.as_str(), d.down.as_millis(), d.up.as_millis()))
        .collect();
    assert_eq!(d, [("eth1", 500, 1250), ("eth0", 3000, 1000)]);
    let e = errs(&format!("interface_up_down_delays {{\n eth0\n}}\n{BASIC}"));
    assert!(
        e[0].contains(":2:2: error") && e[0].contains("DOWN_DELAY"),
        "{e:?}"
    );
    let e = errs(&format!(
        "interface_up_down_delays {{\n eth0 300\n}}\n{BASIC}"
    ));
    assert!(e[0].contains(":2:7: error"), "{e:?}");
}

#[test]
fn track_group_errors_are_at_their_word() {
    let group = "track_group TG {\n group {\n  A\n }\n}\n";
    // An unknown group (keepalived: "track_group X not found").
    let e = errs(&format!(
        "{group}static_ipaddress {{\n 198.51.100.5/24 dev eth1 track_group NOPE\n}}\n{BASIC}"
    ));
    assert_eq!(
        e,
        ["keepalived.conf:7:39: error: track_group NOPE not found: expected the name of a track_group block"]
    );
    // A static route without an interface.
    let e = errs(&format!(
        "{group}static_routes {{\n 203.0.113.0/24 via 198.51.100.1 track_group TG\n}}\n{BASIC}"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("keepalived.conf:7:46: error: static route cannot have track_group without an interface"),
        "{e:?}"
    );
    // On a virtual address (keepalived knows the word on static items only).
    let e = errs(&format!(
        "{group}{}",
        BASIC.replace("192.0.2.1/24", "192.0.2.1/24 track_group TG")
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("keepalived.conf:10:28: error: vrrp_instance A: track_group is only for static_ipaddress"), "{e:?}");
    // Twice on one line, and a group defined twice.
    let e = errs(&format!(
        "{group}static_rules {{\n from 192.0.2.0/24 iif eth1 table 1 track_group TG track_group TG\n}}\n{BASIC}"
    ));
    assert!(e[0].contains("track_group TG is a duplicate"), "{e:?}");
    let e = errs(&format!("{group}{group}{BASIC}"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "keepalived.conf:6:1: error: track_group TG is already defined at keepalived.conf:1:1"
        ),
        "{e:?}"
    );
}

#[test]
fn track_group_warnings_follow_keepalived() {
    // A member that is not an instance is ignored; a group without members is removed (a
    // reference to it is then an error); no_track wins over track_group.
    let c = ok(&format!(
        "track_group TG {{\n group {{\n  A\n  GHOST\n }}\n}}\n\
         static_ipaddress {{\n 198.51.100.5/24 dev eth1 no_track track_group TG\n}}\n{BASIC}"
    ));
    let w: Vec<String> = c.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        w.iter()
            .any(|m| m.contains("vrrp instance GHOST does not exist")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m.contains(
            "keepalived.conf:8:48: warning: static address has both track_group and no_track"
        )),
        "{w:?}"
    );
    assert_eq!(c.track_groups[0].members, ["A", "GHOST"]);
    let e = errs(&format!(
        "track_group TG {{\n}}\nstatic_ipaddress {{\n 198.51.100.5/24 dev eth1 track_group TG\n}}\n{BASIC}"
    ));
    assert!(
        e.iter().any(|m| m.contains("track_group TG not found")),
        "{e:?}"
    );
}

/// `garp_group` (keepalived 2.2.7 vrrp_parser.c): intervals in seconds, `interface` and
/// `interfaces { }`, into the engine's per-interface gates.
#[test]
fn garp_group_reads_intervals_and_interfaces() {
    let c = ok(&format!(
        "garp_group {{\n garp_interval 0.25\n interface eth0\n}}\ngarp_group {{\n gna_interval 0.1\n interfaces {{\n  eth1\n  eth2\n }}\n}}\n{BASIC}"
    ));
    let g: Vec<_> = c
        .garp_groups
        .iter()
        .map(|g| (g.garp_interval, g.gna_interval, g.interfaces.clone()))
        .collect();
    assert_eq!(
        g,
        [
            (
                Some(Duration::from_millis(250)),
                None,
                vec!["eth0".to_string()]
            ),
            (
                None,
                Some(Duration::from_millis(100)),
                vec!["eth1".to_string(), "eth2".to_string()]
            ),
        ]
    );
    let ec = crate::setup::EngineConfig::from_conf(&c).unwrap().engine;
    assert_eq!(
        ec.announce_gates.of("eth0"),
        [Duration::from_millis(250), Duration::ZERO]
    );
    assert_eq!(
        ec.announce_gates.of("eth2"),
        [Duration::ZERO, Duration::from_millis(100)]
    );
    assert_eq!(ec.announce_gates.of("eth9"), [Duration::ZERO; 2]);
}

/// A `garp_group` without an interval, an interface in two groups, a bad interval: errors at
/// their line and column.
#[test]
fn garp_group_errors_are_located() {
    let e = errs(&format!("garp_group {{\n interface eth0\n}}\n{BASIC}"));
    assert!(
        e[0].contains(":1:1: error") && e[0].contains("neither garp_interval"),
        "{e:?}"
    );
    let e = errs(&format!(
        "garp_group {{\n garp_interval 1\n interface eth0\n}}\ngarp_group {{\n gna_interval 1\n interfaces {{\n  eth1 eth0\n }}\n}}\n{BASIC}"
    ));
    assert!(
        e[0].contains(":8:8: error") && e[0].contains("eth0 is already in a garp_group"),
        "{e:?}"
    );
    let e = errs(&format!(
        "garp_group {{\n garp_interval soon\n interface eth0\n}}\n{BASIC}"
    ));
    assert!(e[0].contains(":2:16: error"), "{e:?}"); // Twice in one group, and a failed group's interfaces are not taken by it.
    let e = errs(&format!(
        "garp_group {{\n garp_interval 1\n interface eth0\n interfaces {{\n  eth1 eth0\n }}\n}}\n{BASIC}"
    ));
    assert!(
        e[0].contains(":5:8: error") && e[0].contains("eth0 is already in a garp_group"),
        "{e:?}"
    );
    let e = errs(&format!(
        "garp_group {{\n interface eth0\n}}\ngarp_group {{\n gna_interval 1\n interface eth0\n}}\n{BASIC}"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
}

/// `instance NAME` (keepalived 2.2.7 `instance_handler`): the first one counts, a second is an
/// error at its line; `data_use_instance` takes an optional boolean.
#[test]
fn instance_name_and_data_use_instance() {
    let c = ok(&format!(
        "instance lb1\nglobal_defs {{\n data_use_instance\n}}\n{BASIC}"
    ));
    assert_eq!(c.global.instance_name.as_deref(), Some("lb1"));
    assert!(c.global.data_use_instance);
    let off = ok(&format!(
        "global_defs {{\n data_use_instance false\n}}\n{BASIC}"
    ));
    assert!(!off.global.data_use_instance && off.global.instance_name.is_none());
    for bad in [
        "instance ../x",
        "instance .",
        "net_namespace a/b",
        "net_namespace ..",
    ] {
        let e = errs(&format!("{bad}\n{BASIC}"));
        assert!(
            e.iter()
                .any(|d| d.contains(":1:1: error:") && d.contains("pid file")),
            "{bad}: {e:?}"
        );
    }
    let e = errs(&format!("instance a\ninstance b\n{BASIC}"));
    assert!(
        e.iter()
            .any(|d| d.contains(":2:1: error: Duplicate instance definition b - ignoring")),
        "{e:?}"
    );
}
