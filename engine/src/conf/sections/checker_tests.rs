//! The checker grammar: defaults and inheritance as keepalived 2.2.7 resolves them, fix-ups,
//! located errors.

use core::time::Duration;

use crate::conf::{self, CheckKind, Forwarding, LbAlgo, Protocol, ServiceKey};

fn vs(body: &str) -> String {
    format!(
        "virtual_server 192.0.2.1 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{body}\n}}\n"
    )
}

fn parse(src: &str) -> conf::Config {
    conf::parse_str(src).unwrap_or_else(|e| panic!("{e}"))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn checker_type_defaults_follow_keepalived() {
    let c = parse(&vs(" real_server 198.51.100.1 80 {\n  TCP_CHECK {\n  }\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n  DNS_CHECK {\n  }\n }"));
    let v = &c.checkers.virtual_servers[0];
    assert_eq!(v.delay_loop, secs(60.0));
    let ck = &v.real_servers[0].checkers;
    // (retry, delay_before_retry): keepalived.conf(5) "retry" and "delay_before_retry".
    let got: Vec<_> = ck
        .iter()
        .map(|c| (c.kind.keyword(), c.retry, c.delay_before_retry, c.warmup))
        .collect();
    assert_eq!(
        got,
        vec![
            ("TCP_CHECK", 1, secs(1.0), secs(60.0)),
            ("HTTP_GET", 1, secs(3.0), secs(60.0)),
            ("MISC_CHECK", 0, secs(1.0), secs(60.0)),
            ("DNS_CHECK", 3, secs(60.0), secs(60.0)),
        ]
    );
    assert_eq!(ck[0].conn.as_ref().map(|c| c.timeout), Some(secs(5.0)));
    assert!(ck[2].conn.is_none());
    match &ck[1].kind {
        CheckKind::Http { urls, .. } => assert_eq!(urls[0].status_codes, vec![(200, 299)]),
        k => panic!("{k:?}"),
    }
    match &ck[3].kind {
        CheckKind::Dns { qtype, name } => {
            assert_eq!(*qtype, conf::DnsType::Soa);
            assert_eq!(name, ".");
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn settings_inherit_checker_then_real_then_virtual_server() {
    let c = parse(&vs(" delay_loop 10\n retry 4\n connect_timeout 7\n delay_before_retry 2\n alpha\n weight 3\n inhibit_on_failure\n real_server 198.51.100.1 80 {\n  retry 5\n  warmup 1\n  TCP_CHECK {\n   delay_loop 2\n  }\n  TCP_CHECK {\n   retry 0\n   alpha no\n   connect_timeout 1\n  }\n }\n real_server 198.51.100.2 80 {\n  weight 9\n  inhibit_on_failure no\n  TCP_CHECK {\n  }\n }"));
    let v = &c.checkers.virtual_servers[0];
    let a = &v.real_servers[0];
    assert_eq!(a.weight, 3);
    assert!(a.inhibit_on_failure);
    let (c0, c1) = (&a.checkers[0], &a.checkers[1]);
    assert_eq!(
        (c0.retry, c0.delay_loop, c0.warmup),
        (5, secs(2.0), secs(1.0))
    );
    assert_eq!(c0.delay_before_retry, secs(2.0));
    assert!(c0.alpha);
    assert_eq!(c0.conn.as_ref().map(|c| c.timeout), Some(secs(7.0)));
    assert_eq!((c1.retry, c1.alpha, c1.delay_loop), (0, false, secs(10.0)));
    assert_eq!(c1.conn.as_ref().map(|c| c.timeout), Some(secs(1.0)));
    let b = &v.real_servers[1];
    assert_eq!((b.weight, b.inhibit_on_failure), (9, false));
    assert_eq!(b.checkers[0].retry, 4);
    assert_eq!(b.checkers[0].warmup, secs(10.0));
}

#[test]
fn misc_check_settings() {
    let c = parse(&vs(" real_server 198.51.100.1 80 {\n  MISC_CHECK {\n   misc_path \"/usr/local/bin/check.sh 198.51.100.1 'a b'\"\n   misc_timeout 4\n   misc_dynamic\n   user nobody nogroup\n  }\n }"));
    let k = &c.checkers.virtual_servers[0].real_servers[0].checkers[0].kind;
    match k {
        CheckKind::Misc {
            script,
            timeout,
            dynamic,
        } => {
            assert_eq!(
                script.argv(),
                ["/usr/local/bin/check.sh", "198.51.100.1", "a b"]
            );
            assert_eq!(*timeout, Some(secs(4.0)));
            assert!(*dynamic);
            assert_eq!(
                script.run_as.as_ref().map(|r| r.user.as_str()),
                Some("nobody")
            );
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn smtp_host_blocks_become_checkers() {
    let c = parse(&vs(" real_server 198.51.100.1 25 {\n  SMTP_CHECK {\n   host {\n    connect_ip 198.51.100.7\n   }\n   host {\n    connect_ip 198.51.100.8\n    connect_port 2525\n   }\n  }\n }"));
    let ck = &c.checkers.virtual_servers[0].real_servers[0].checkers;
    // The main block sets no connection option: it takes the first host's.
    let dst: Vec<_> = ck
        .iter()
        .map(|c| c.conn.as_ref().map(|o| (o.dst.to_string(), o.port)))
        .collect();
    assert_eq!(
        dst,
        vec![
            Some(("198.51.100.7".to_string(), 25)),
            Some(("198.51.100.8".to_string(), 2525))
        ]
    );
}

#[test]
fn groups_ranges_and_fwmarks() {
    let c = parse("virtual_server_group G {\n 192.0.2.1-3 80\n 192.0.2.8/30\n 2001:db8::1-a 80\n fwmark 5 inet\n}\nvirtual_server group G {\n lb_algo rr\n lb_kind DR\n persistence_timeout\n real_server 192.0.2.50 {\n  PING_CHECK {\n  }\n }\n}\n");
    let g = &c.checkers.groups[0];
    assert_eq!(g.ranges.len(), 3);
    assert_eq!(g.ranges[0].last.to_string(), "192.0.2.3");
    assert_eq!(g.ranges[1].last.to_string(), "192.0.2.11");
    assert_eq!(g.ranges[2].last.to_string(), "2001:db8::a");
    assert_eq!(g.fwmarks, vec![(5, Some(conf::Family::V4))]);
    // IPv4 and IPv6 entries with a real server that is not tunnelled: ignored, as keepalived's
    // link_vsg_to_vs ("virtual server group with IPv4 & IPv6 doesn't match virtual server").
    assert!(c.checkers.virtual_servers.is_empty());
    let c = parse("virtual_server_group G {\n 192.0.2.1-3 80\n 192.0.2.8/30\n fwmark 5 inet\n}\nvirtual_server group G {\n lb_algo rr\n lb_kind DR\n persistence_timeout\n real_server 192.0.2.50 {\n  PING_CHECK {\n  }\n }\n}\n");
    let v = &c.checkers.virtual_servers[0];
    assert_eq!(v.group.as_ref().map(|g| g.ranges.len()), Some(2));
    assert_eq!(v.key, ServiceKey::Group("G".into()));
    assert_eq!(v.persistence_timeout, Some(360));
    assert_eq!(v.forwarding, Forwarding::Dr);
}

#[test]
fn fixups_are_warnings_at_the_virtual_server() {
    let c = parse("virtual_server 192.0.2.1 80 {\n quorum 9\n real_server 198.51.100.1 {\n  weight 2\n  TCP_CHECK {\n  }\n }\n}\n");
    let v = &c.checkers.virtual_servers[0];
    assert_eq!(v.lb_algo, LbAlgo::Wlc);
    assert_eq!(v.protocol, Some(Protocol::Udp));
    assert_eq!(v.quorum, 2);
    // NAT real server without a port takes the virtual server's.
    assert_eq!(v.real_servers[0].port, 80);
    let w: Vec<String> = c
        .warnings
        .iter()
        .filter(|d| d.severity == conf::Severity::Warning)
        .map(|d| d.to_string())
        .collect();
    assert_eq!(w.len(), 4, "{w:?}");
    assert!(w
        .iter()
        .all(|m| m.starts_with("keepalived.conf:1:1: warning")));
}

#[test]
fn bad_values_are_located_errors() {
    let e = conf::parse_str(&vs(" delay_loop fast\n real_server 198.51.100.1 80 {\n  TCP_CHECK {\n   connect_port 70000\n  }\n }"))
        .unwrap_err();
    let msgs: Vec<String> = e.errors().map(|d| d.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].starts_with("keepalived.conf:5:13: error: delay_loop"),
        "{msgs:?}"
    );
    assert!(
        msgs[1].starts_with("keepalived.conf:8:17: error: connect_port"),
        "{msgs:?}"
    );
}

fn url_regex(url_body: &str) -> Result<conf::Config, conf::ConfError> {
    conf::parse_str(&vs(&format!(
        " real_server 198.51.100.1 80 {{\n  HTTP_GET {{\n   url {{\n    path /\n{url_body}\n   }}\n  }}\n }}"
    )))
}

fn the_regex(c: &conf::Config) -> Option<conf::BodyRegex> {
    match &c.checkers.virtual_servers[0].real_servers[0].checkers[0].kind {
        CheckKind::Http { urls, .. } => urls[0].regex.clone(),
        _ => None,
    }
}

#[test]
fn http_regex_and_its_options_are_read_like_keepalived() {
    let c = url_regex("    regex \"state: (up|ready)\"\n    regex_no_match\n    regex_options caseless multiline\n    regex_min_offset 2\n    regex_max_offset 100\n    regex_stack 1024 4096").unwrap_or_else(|e| panic!("{e}"));
    let r = the_regex(&c).expect("the regex");
    assert_eq!(r.pattern, "state: (up|ready)");
    assert!(r.no_match);
    assert_eq!(r.options, vec!["caseless", "multiline"]);
    assert_eq!(
        (r.min_offset, r.max_offset, r.stack),
        (2, Some(100), Some((1024, 4096)))
    );
    assert!(!r.passes(b"..STATE: UP"), "regex_no_match: a match fails");
}

#[test]
fn http_regex_vigil_cannot_run_is_refused_at_its_line() {
    let e = url_regex("    regex \"a(?=b)\"").unwrap_err().to_string();
    assert!(e.contains("look-around"), "{e}");
    assert!(
        e.contains("keepalived.conf:9:11: error: regex: cannot compile"),
        "{e}"
    );
    let e = url_regex("    regex ok\n    regex_options caseless alt_bsux")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("keepalived.conf:10:19: error: regex_options: 'alt_bsux'"),
        "{e}"
    );
}

#[test]
fn http_regex_settings_without_a_regex_are_warned_and_ignored_like_keepalived() {
    let c = url_regex("    regex_no_match").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(the_regex(&c), None);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.to_string().contains("regex settings without a regex")),
        "{:?}",
        c.warnings
    );
    let c = url_regex("    regex ok\n    regex_min_offset 9\n    regex_max_offset 3")
        .unwrap_or_else(|e| panic!("{e}"));
    let r = the_regex(&c).expect("the regex");
    assert_eq!((r.min_offset, r.max_offset), (0, None));
}

#[test]
fn udp_hex_strings_read_like_keepalived() {
    let c = parse(&vs(" real_server 198.51.100.1 80 {\n  UDP_CHECK {\n   payload Ab12f 3\n   require_reply x1 f X\n  }\n }"));
    match &c.checkers.virtual_servers[0].real_servers[0].checkers[0].kind {
        CheckKind::Udp {
            payload,
            require_reply,
            ..
        } => {
            assert_eq!(payload.as_deref(), Some(&[0xab, 0x12, 0x0f, 0x03][..]));
            assert_eq!(
                require_reply.as_deref(),
                Some(&[(0x01, 0x0f), (0x0f, 0xff), (0x00, 0xf0)][..])
            );
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn file_check_clears_alpha_as_keepalived_does() {
    // check_file.c: "Clear Alpha mode - we know the state of the checker immediately".
    let c = parse(&format!(
        "track_file f {{\n file /run/f\n}}\n{}",
        vs(" alpha\n real_server 198.51.100.1 80 {\n  FILE_CHECK {\n   track_file f\n  }\n  TCP_CHECK {\n  }\n }")
    ));
    let ck = &c.checkers.virtual_servers[0].real_servers[0].checkers;
    let alpha: Vec<_> = ck.iter().map(|c| (c.kind.keyword(), c.alpha)).collect();
    assert_eq!(alpha, vec![("FILE_CHECK", false), ("TCP_CHECK", true)]);
}
