//! `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, `lvs_sync_daemon` and
//! `lvs_sync_daemon_interface` against keepalived 2.2.7's grammar (global_parser.c
//! `lvs_timeouts`, `lvs_syncd_handler`, `lvs_flush_on_stop_handler`; vrrp_parser.c
//! `vrrp_lvs_syncd_handler`; vrrp.c `vrrp_complete_init` for the instance and the sync id),
//! each diagnostic at its file:line:column.

use std::net::IpAddr;

use crate::conf::{
    parse_str, parse_text, LvsFlushOnStop, LvsGlobals, LvsTimeouts, MemoryLoader, ParseOptions,
};

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n";

fn with_global(lines: &str) -> String {
    format!("global_defs {{\n{lines}\n}}\n{INSTANCE}")
}

fn lvs(lines: &str) -> LvsGlobals {
    parse_str(&with_global(lines))
        .expect("parses")
        .global
        .checker
        .lvs
}

/// Every diagnostic, as `vigild -t` prints it.
fn said(lines: &str) -> Vec<String> {
    match parse_str(&with_global(lines)) {
        Ok(c) => c.warnings.iter().map(|d| d.to_string()).collect(),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn flush_and_flush_on_stop() {
    assert!(lvs(" lvs_flush").flush);
    assert!(!lvs("").flush);
    assert_eq!(lvs("").flush_on_stop, LvsFlushOnStop::No);
    assert_eq!(
        lvs(" lvs_flush_on_stop").flush_on_stop,
        LvsFlushOnStop::Full
    );
    assert_eq!(lvs(" lvs_flush_onstop").flush_on_stop, LvsFlushOnStop::Full);
    assert_eq!(
        lvs(" lvs_flush_on_stop VS").flush_on_stop,
        LvsFlushOnStop::Vs
    );
    // keepalived 2.2.7 knows VS only (no ALL): anything else is an unknown type.
    assert_eq!(
        said(" lvs_flush_on_stop ALL"),
        vec!["keepalived.conf:2:20: error: lvs_flush_on_stop: unknown type 'ALL': expected VS, or nothing for a full flush"]
    );
}

#[test]
fn timeouts() {
    assert_eq!(
        lvs(" lvs_timeouts tcp 900 tcpfin 120 udp 300").timeouts,
        LvsTimeouts {
            tcp: Some(900),
            tcpfin: Some(120),
            udp: Some(300)
        }
    );
    assert_eq!(
        lvs(" lvs_timeouts udp 2678400").timeouts.udp,
        Some(2_678_400),
        "31 days, LVS_MAX_TIMEOUT"
    );
    assert_eq!(
        said(" lvs_timeouts udp 2678401"),
        vec!["keepalived.conf:2:19: error: lvs_timeouts udp: expected an integer in 0..=2678400, found '2678401'"]
    );
    assert_eq!(
        said(" lvs_timeouts"),
        vec!["keepalived.conf:2:2: error: lvs_timeouts: expected at least one option (tcp N, tcpfin N, udp N)"]
    );
    assert_eq!(
        said(" lvs_timeouts tcp"),
        vec!["keepalived.conf:2:2: error: lvs_timeouts: expected at least one option (tcp N, tcpfin N, udp N)"]
    );
    assert_eq!(
        said(" lvs_timeouts tcp 5 udp"),
        vec!["keepalived.conf:2:21: error: lvs_timeouts: no value after 'udp'"]
    );
    let w = said(" lvs_timeouts fin 5 tcp 9");
    assert_eq!(
        w[0],
        "keepalived.conf:2:15: warning: lvs_timeouts: unknown option 'fin' (ignored): expected tcp, tcpfin or udp"
    );
}

#[test]
fn sync_daemon_with_keywords() {
    let d = lvs(" lvs_sync_daemon eth1 inst VI_1 id 4 maxlen 1472 port 8848 ttl 2 group ff02::81")
        .sync_daemon
        .expect("set");
    assert_eq!(d.interface, "eth1");
    assert_eq!(d.instance.as_deref(), Some("VI_1"));
    assert_eq!(d.syncid, Some(4));
    assert_eq!(d.maxlen, Some(1472));
    assert_eq!(d.port, Some(8848));
    assert_eq!(d.ttl, Some(2));
    assert_eq!(d.group, Some("ff02::81".parse::<IpAddr>().unwrap()));
    assert_eq!(d.loc.to_string(), "keepalived.conf:2:2");
}

#[test]
fn sync_daemon_positional_form_and_defaults() {
    // `lvs_sync_daemon IF VRRP_INSTANCE`: the sync id is the instance's VRID.
    let d = lvs(" lvs_sync_daemon eth1 VI_1").sync_daemon.expect("set");
    assert_eq!((d.instance.as_deref(), d.syncid), (Some("VI_1"), Some(51)));
    // No instance: the checker runs both daemons, sync id 0.
    let d = lvs(" lvs_sync_daemon eth1").sync_daemon.expect("set");
    assert_eq!((d.instance, d.syncid), (None, Some(0)));
    // The old third word is the sync id, with keepalived's request for the keyword.
    let text = with_global(" lvs_sync_daemon eth1 VI_1 9");
    let c = parse_str(&text).expect("parses");
    assert_eq!(c.global.checker.lvs.sync_daemon.unwrap().syncid, Some(9));
    assert_eq!(
        c.warnings[0].to_string(),
        "keepalived.conf:2:28: warning: lvs_sync_daemon: please write the keyword 'id' before the sync id (read as the sync id)"
    );
}

#[test]
fn sync_daemon_errors() {
    assert_eq!(
        said(" lvs_sync_daemon"),
        vec!["keepalived.conf:2:2: error: lvs_sync_daemon: expected an interface (lvs_sync_daemon INTERFACE [VRRP_INSTANCE] [id N] ...)"]
    );
    assert_eq!(
        said(" lvs_sync_daemon abcdefghijklmnop"),
        vec!["keepalived.conf:2:18: error: lvs_sync_daemon: interface name 'abcdefghijklmnop' is too long: at most 15 bytes (IP_VS_IFNAME_MAXLEN)"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 id 256"),
        vec!["keepalived.conf:2:26: error: lvs_sync_daemon id: expected an integer in 0..=255, found '256'"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 maxlen 65508"),
        vec!["keepalived.conf:2:30: error: lvs_sync_daemon maxlen: expected an integer in 1..=65507, found '65508'"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 ttl 0"),
        vec!["keepalived.conf:2:27: error: lvs_sync_daemon ttl: expected an integer in 1..=255, found '0'"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 port 0"),
        vec!["keepalived.conf:2:28: error: lvs_sync_daemon port: expected an integer in 1..=65535, found '0'"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 group 192.0.2.7"),
        vec!["keepalived.conf:2:29: error: lvs_sync_daemon group: 192.0.2.7 is not a multicast address"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 port"),
        vec!["keepalived.conf:2:23: error: lvs_sync_daemon: no value after 'port'"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 VI_1 id 3 mtu 9"),
        vec!["keepalived.conf:2:33: warning: lvs_sync_daemon: unknown option 'mtu' (ignored): expected inst, id, maxlen, port, ttl or group",
             "keepalived.conf:2:37: warning: lvs_sync_daemon: unknown option '9' (ignored): expected inst, id, maxlen, port, ttl or group"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 VI_9"),
        vec!["keepalived.conf:2:2: warning: lvs_sync_daemon: no vrrp_instance VI_9: no sync daemon is run (keepalived clears the setting too); expected the name of an instance defined in the configuration"]
    );
    assert_eq!(
        said(" lvs_sync_daemon eth1 VI_1\n lvs_sync_daemon eth2"),
        vec!["keepalived.conf:3:2: warning: lvs_sync_daemon has already been specified as eth1 VI_1 at keepalived.conf:2:2 (this one is ignored)"]
    );
}

#[test]
fn the_instance_keyword_is_deprecated_but_applied() {
    let text = INSTANCE.replace(
        " interface eth0\n",
        " interface eth0\n lvs_sync_daemon_interface eth1\n",
    );
    let c = parse_str(&text).expect("parses");
    let d = c.global.checker.lvs.sync_daemon.clone().expect("set");
    assert_eq!(
        (d.interface.as_str(), d.instance.as_deref(), d.syncid),
        ("eth1", Some("VI_1"), Some(0))
    );
    assert_eq!(
        c.warnings[0].to_string(),
        "keepalived.conf:3:2: warning: (VI_1) lvs_sync_daemon_interface in a vrrp_instance is deprecated: write global_defs lvs_sync_daemon eth1 VI_1 (applied)"
    );
    // The global keyword first: the instance's is ignored, with keepalived's complaint.
    let text = format!("global_defs {{\n lvs_sync_daemon eth2\n}}\n{text}");
    let c = parse_str(&text).expect("parses");
    assert_eq!(c.global.checker.lvs.sync_daemon.unwrap().interface, "eth2");
    assert!(
        c.warnings.iter().any(|w| w.to_string()
            == "keepalived.conf:6:2: warning: (VI_1) lvs_sync_daemon_interface has already been specified as eth2 at keepalived.conf:2:2 (this one is ignored)"),
        "{:?}",
        c.warnings
    );
}

/// keepalived 2.2.7 reads the file in order: the instance's keyword above a global
/// `lvs_sync_daemon` is taken (following VI_1, sync id 0) and the global one is ignored with a
/// warning at its line, although Vigil reads every `global_defs` first.
#[test]
fn the_instance_keyword_above_the_global_one_wins() {
    let inst = INSTANCE.replace(
        " interface eth0\n",
        " interface eth0\n lvs_sync_daemon_interface eth1\n",
    );
    let text = format!("{inst}global_defs {{\n lvs_sync_daemon eth2 VI_1 id 7\n}}\n");
    let c = parse_str(&text).expect("parses");
    let d = c.global.checker.lvs.sync_daemon.clone().expect("set");
    assert_eq!(
        (d.interface.as_str(), d.instance.as_deref(), d.syncid),
        ("eth1", Some("VI_1"), Some(0))
    );
    let lines: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        lines.contains(&"keepalived.conf:10:2: warning: lvs_sync_daemon has already been specified as eth1 VI_1 by lvs_sync_daemon_interface at keepalived.conf:3:2 (this one is ignored, also for the health checkers' sync daemons)".to_string()),
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("(VI_1) lvs_sync_daemon_interface has already")),
        "the instance's keyword is not the ignored one: {lines:#?}"
    );
    // A global one without an instance, below: the same (it does not become the checker's).
    let text = format!("{inst}global_defs {{\n lvs_sync_daemon eth2\n}}\n");
    let d = parse_str(&text)
        .expect("parses")
        .global
        .checker
        .lvs
        .sync_daemon
        .expect("set");
    assert_eq!(
        (d.interface.as_str(), d.instance.as_deref()),
        ("eth1", Some("VI_1"))
    );
    // Two global_defs, the first above the instance: the global one is first in the file.
    let text = format!("global_defs {{\n lvs_sync_daemon eth2\n}}\n{inst}global_defs {{\n}}\n");
    let d = parse_str(&text)
        .expect("parses")
        .global
        .checker
        .lvs
        .sync_daemon
        .expect("set");
    assert_eq!(
        (d.interface.as_str(), d.instance.as_deref()),
        ("eth2", None)
    );
}

/// On an nftables host each keyword says what happens there instead (a notice: the file
/// stays valid); on an IPVS host nothing is said (the IPVS data plane applies them).
#[test]
fn nftables_hosts_get_a_notice_per_keyword() {
    let text = with_global(
        " lvs_flush\n lvs_flush_on_stop VS\n lvs_timeouts tcp 60\n lvs_sync_daemon eth1 VI_1",
    );
    let parse = |b| {
        let opts = ParseOptions {
            data_plane: b,
            ..Default::default()
        };
        parse_text("k.conf", &text, &MemoryLoader::new(), &opts).expect("parses")
    };
    let nft = parse(crate::dataplane::Backend::Nftables);
    let lines: Vec<String> = nft.warnings.iter().map(|d| d.to_string()).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0], "k.conf:2:2: notice: 'lvs_flush' is for IPVS hosts: nftables hosts flush nothing at start: vigild's own table is created from nothing and nothing else is touched");
    assert!(lines[3].starts_with("k.conf:5:2: notice: 'lvs_sync_daemon' is for IPVS hosts: nftables hosts have no IPVS connection sync daemon"), "{}", lines[3]);
    assert_eq!(
        nft.global.checker.lvs,
        parse(crate::dataplane::Backend::Ipvs).global.checker.lvs
    );
    assert!(parse(crate::dataplane::Backend::Ipvs).warnings.is_empty());
}
