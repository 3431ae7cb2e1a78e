//! The nftables data plane's decisions: schedulers to buckets, refusals, and plans of
//! whole services (insta snapshots of the plans, reviewed).

use proptest::prelude::*;

use super::*;
use crate::checker::{Server, TableChange};
use crate::conf::{self, LbAlgo};

fn vs_of(body: &str) -> conf::VirtualServer {
    let text = format!("virtual_server 192.0.2.10 80 {{\n{body}\n}}\n");
    let cfg = conf::parse_str(&text).expect("test configuration parses");
    cfg.checkers.virtual_servers[0].clone()
}

const THREE: &str = "
  protocol TCP
  lb_kind NAT
  real_server 198.51.100.11 8080 { weight 3 }
  real_server 198.51.100.12 8080 { weight 2 }
  real_server 198.51.100.13 8080 { weight 1 }
  sorry_server 203.0.113.99 8080
";

fn full_table(vs: &conf::VirtualServer) -> ServiceTable {
    let mut t = ServiceTable::new(vs.real_servers.len());
    for (i, rs) in vs.real_servers.iter().enumerate() {
        t.apply(Server::Real(i as u32), TableChange::Add(rs.weight));
    }
    t
}

#[test]
fn wrr_gives_each_server_buckets_in_proportion_to_its_weight() {
    let vs = vs_of(&format!("lb_algo wrr\n{THREE}"));
    insta::assert_debug_snapshot!(plan(0, &vs, &full_table(&vs)));
}

#[test]
fn rr_gives_one_bucket_per_server_of_nonzero_weight() {
    let vs = vs_of(&format!("lb_algo rr\n{THREE}"));
    let mut t = full_table(&vs);
    // inhibit_on_failure: a dead server stays in the table at weight 0: no bucket.
    t.apply(Server::Real(1), TableChange::Weight(0));
    let p = plan(0, &vs, &t).expect("applied");
    assert_eq!(p.modulus, 2);
    assert!(p
        .buckets
        .iter()
        .all(|b| b.addr.to_string() != "198.51.100.12"));
}

#[test]
fn quorum_lost_sends_everything_to_the_sorry_server() {
    let vs = vs_of(&format!("lb_algo wrr\n{THREE}"));
    let mut t = ServiceTable::new(3);
    t.apply(Server::Sorry, TableChange::Add(1));
    insta::assert_debug_snapshot!(plan(0, &vs, &t));
}

#[test]
fn an_empty_table_has_no_buckets() {
    let vs = vs_of(&format!("lb_algo wrr\n{THREE}"));
    let p = plan(0, &vs, &ServiceTable::new(3)).expect("applied");
    assert_eq!((p.modulus, p.buckets.len()), (0, 0));
}

#[test]
fn sh_hashes_the_source_and_dh_the_destination() {
    let sh = plan(
        0,
        &vs_of(&format!("lb_algo sh\n{THREE}")),
        &full_table(&vs_of(THREE)),
    );
    let sh = sh.expect("applied");
    assert_eq!(sh.selector, Selector::SourceHash { port: false });
    assert_eq!(sh.modulus, 6, "sh is weighted");
    let dh = plan(
        0,
        &vs_of(&format!("lb_algo dh\n{THREE}")),
        &full_table(&vs_of(THREE)),
    );
    let dh = dh.expect("applied");
    assert_eq!((dh.selector, dh.modulus), (Selector::DestHash, 3));
}

#[test]
fn fo_sends_everything_to_the_highest_weight() {
    let vs = vs_of(&format!("lb_algo fo\n{THREE}"));
    let p = plan(0, &vs, &full_table(&vs)).expect("applied");
    assert_eq!(p.buckets.len(), 1);
    assert_eq!(p.buckets[0].addr.to_string(), "198.51.100.11");
}

#[test]
fn connection_count_schedulers_are_mapped_with_a_reason() {
    for (name, algo) in LbAlgo::ALL {
        let s = Scheduling::of_algo(algo, false);
        let exact = matches!(
            algo,
            LbAlgo::Rr | LbAlgo::Wrr | LbAlgo::Sh | LbAlgo::Dh | LbAlgo::Fo
        );
        assert_eq!(s.note.is_none(), exact, "{name}");
    }
    let wlc = Scheduling::of_algo(LbAlgo::Wlc, false);
    assert!(wlc.weighted && wlc.selector == Selector::Counter);
}

#[test]
fn persistence_keeps_the_scheduler_and_lists_every_server() {
    let vs = vs_of(&format!(
        "lb_algo rr\npersistence_timeout 60\npersistence_granularity 255.255.255.0\n{THREE}"
    ));
    let mut t = full_table(&vs);
    t.apply(Server::Real(1), TableChange::Remove);
    let p = plan(0, &vs, &t).expect("applied");
    // The scheduler picks a new client's first server (IPVS does the same).
    assert_eq!((p.selector, p.modulus), (Selector::Counter, 2));
    assert_eq!(
        p.persistence,
        Some(Persistence {
            timeout: 60,
            mask: Some(conf::Granularity::V4("255.255.255.0".parse().unwrap()))
        })
    );
    // Every configured server (its set of clients exists whether or not it is live).
    let live: Vec<(Server, bool)> = p.endpoints.iter().map(|e| (e.server, e.live)).collect();
    assert_eq!(
        live,
        [
            (Server::Real(0), true),
            (Server::Real(1), false),
            (Server::Real(2), true),
            (Server::Sorry, false)
        ]
    );
    assert!(p
        .buckets
        .iter()
        .all(|b| p.endpoints[b.endpoint].addr == b.addr));
}

#[test]
fn dr_tun_and_mixed_families_are_refused_with_the_reason() {
    let dr = vs_of("lb_kind DR\nreal_server 198.51.100.11 80 { }");
    assert!(refusal(&dr).expect("refused").contains("lb_kind DR"));
    let tun = vs_of("lb_kind TUN\nreal_server 198.51.100.11 80 { }");
    assert!(refusal(&tun).expect("refused").contains("lb_kind TUN"));
    let rs_dr = vs_of("lb_kind NAT\nreal_server 198.51.100.11 80 { lvs_method DR }");
    assert!(refusal(&rs_dr).expect("refused").contains("real_server"));
    assert!(plan(0, &dr, &ServiceTable::new(1)).is_err());
}

/// keepalived.conf(5) "Virtual server group(s)": one virtual server (one set of real servers,
/// one scheduler) for every entry of its group: single addresses, ranges (last byte / last
/// 16 bits, or a prefix) and fwmarks, each a dispatch rule to the same chain; a repeated
/// entry once.
#[test]
fn a_group_is_one_plan_with_one_match_per_entry() {
    let cfg = conf::parse_str(
        "virtual_server_group web {\n 192.0.2.10 80\n 192.0.2.20-22 80\n 192.0.2.10 80\n 192.0.2.32/30 8080\n fwmark 7\n}\nvirtual_server group web {\n lb_algo wrr\n protocol TCP\n real_server 198.51.100.11 8080 { weight 2 }\n real_server 198.51.100.12 8080 { }\n}\n",
    )
    .expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    assert_eq!(refusal(vs), None);
    let p = plan(3, vs, &full_table(vs)).expect("applied");
    let a = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
    assert_eq!(
        p.matchers,
        vec![
            Match::Addr {
                addr: a("192.0.2.10"),
                protocol: conf::Protocol::Tcp,
                port: 80
            },
            Match::Range {
                first: a("192.0.2.20"),
                last: a("192.0.2.22"),
                protocol: conf::Protocol::Tcp,
                port: 80
            },
            Match::Range {
                first: a("192.0.2.32"),
                last: a("192.0.2.35"),
                protocol: conf::Protocol::Tcp,
                port: 8080
            },
            Match::Fwmark(7),
        ]
    );
    // One set of buckets for all entries, the real servers' ports applied (a group with
    // addresses), weights 2:1.
    assert_eq!(p.modulus, 3);
    assert!(p.buckets.iter().all(|b| b.port == 8080));
    let notes = nftables_notes(vs);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("virtual_server group web: 4 entries of the group")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("fwmark entries share")),
        "{notes:?}"
    );
    // A group of fwmarks only keeps the packets' ports, as a fwmark service.
    let cfg = conf::parse_str(
        "virtual_server_group marks {\n fwmark 7\n fwmark 8 inet\n}\nvirtual_server group marks {\n lb_algo rr\n real_server 198.51.100.11 8080 { }\n}\n",
    )
    .expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    let p = plan(0, vs, &full_table(vs)).expect("applied");
    assert_eq!(p.matchers, vec![Match::Fwmark(7), Match::Fwmark(8)]);
    assert!(p.buckets.iter().all(|b| b.port == 0));
    // IPv6: a range of the last 16 bits.
    let cfg = conf::parse_str(
        "virtual_server_group v6 {\n 2001:db8::10-1f 443\n}\nvirtual_server group v6 {\n lb_algo rr\n protocol TCP\n real_server 2001:db8:1::11 8443 { }\n}\n",
    )
    .expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    let p = plan(0, vs, &full_table(vs)).expect("applied");
    assert_eq!(p.family, conf::Family::V6);
    assert_eq!(
        p.matchers,
        vec![Match::Range {
            first: a("2001:db8::10"),
            last: a("2001:db8::1f"),
            protocol: conf::Protocol::Tcp,
            port: 443
        }]
    );
}

/// keepalived's link_vsg_to_vs: a group of IPv4 and IPv6 entries with real servers that are
/// not tunnelled is ignored (a warning); an undefined group is ignored too (a warning, as
/// keepalived's "Virtual server group %s specified but not configured - ignoring").
#[test]
fn mixed_family_and_undefined_groups_are_ignored_with_a_warning() {
    let c = conf::parse_str(
        "virtual_server_group mixed {\n 192.0.2.10 80\n 2001:db8::10 80\n}\nvirtual_server group mixed {\n real_server 198.51.100.11 80 { }\n}\nvirtual_server group nowhere {\n real_server 198.51.100.11 80 { }\n}\n",
    )
    .expect("parses");
    assert!(c.checkers.virtual_servers.is_empty());
    let w: Vec<&str> = c.warnings.iter().map(|d| d.message.as_str()).collect();
    assert!(
        w.iter().any(|m| m.contains("IPv4 and IPv6 entries")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("no virtual_server_group of that name")),
        "{w:?}"
    );
}

#[test]
fn notes_for_vigild_t() {
    let vs = vs_of(&format!("lb_algo wlc\npersistence_timeout 300\n{THREE}"));
    insta::assert_debug_snapshot!(nftables_notes(&vs));
    // A refused virtual server has no notes: its refusal is an error (below).
    let dr = vs_of("lb_kind DR\nreal_server 198.51.100.11 80 { }");
    assert_eq!(nftables_notes(&dr), Vec::<String>::new());
}

#[test]
fn fwmark_and_ipv6_services() {
    let cfg = conf::parse_str(
        "virtual_server fwmark 7 {\n lb_algo rr\n real_server 198.51.100.11 0 { }\n}\nvirtual_server 2001:db8::10 443 {\n lb_algo rr\n protocol TCP\n real_server 2001:db8:1::11 8443 { }\n}\n",
    )
    .expect("parses");
    let vss = &cfg.checkers.virtual_servers;
    let p = plan(0, &vss[0], &full_table(&vss[0])).expect("applied");
    assert_eq!(p.matchers, vec![Match::Fwmark(7)]);
    assert_eq!(p.buckets[0].port, 0);
    let p6 = plan(1, &vss[1], &full_table(&vss[1])).expect("applied");
    assert_eq!(p6.family, conf::Family::V6);
}

proptest! {
    /// Buckets are contiguous from 0, every server of weight > 0 has at least one, weight-0
    /// servers none, there are never more than MAX_BUCKETS (or the live count, if larger),
    /// and with no scaling the counts are proportional to the weights.
    #[test]
    fn buckets_cover_the_modulus_in_proportion(
        weights in proptest::collection::vec(0u32..5000, 0..40),
        weighted in any::<bool>(),
    ) {
        let sched = Scheduling { selector: Selector::Counter, weighted, failover: false, note: None };
        let b = buckets(&sched, &weights);
        let mut next = 0;
        for (i, first, last) in &b {
            prop_assert_eq!(*first, next);
            prop_assert!(last >= first);
            prop_assert!(weights[*i] > 0);
            next = last + 1;
        }
        let live = weights.iter().filter(|w| **w > 0).count();
        prop_assert_eq!(b.len(), live);
        prop_assert!(next <= MAX_BUCKETS.max(live as u32));
        let sum: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        if weighted && sum > 0 && sum <= u64::from(MAX_BUCKETS) {
            // counts proportional: n_i * w_j == n_j * w_i
            for (i, f, l) in &b {
                for (j, g, m) in &b {
                    prop_assert_eq!(u64::from(l - f + 1) * u64::from(weights[*j]),
                                    u64::from(m - g + 1) * u64::from(weights[*i]));
                }
            }
        }
    }
}

#[test]
fn nat_mask_masquerades_each_real_server_network_once() {
    let vs = vs_of(&format!("lb_algo rr\nnat_mask 255.255.255.0\n{THREE}"));
    let p = plan(0, &vs, &full_table(&vs)).expect("applied");
    let m = p.masquerade.expect("nat_mask");
    let nets: Vec<String> = m.networks.iter().map(|n| n.to_string()).collect();
    assert_eq!(nets, ["198.51.100.0", "203.0.113.0"]);
    let notes = nftables_notes(&vs);
    assert!(
        notes.iter().any(|n| n.contains("nat_mask 255.255.255.0")),
        "{notes:?}"
    );
    assert_eq!(
        network_of("2001:db8:1::11".parse().unwrap(), conf::Granularity::V6(48)).to_string(),
        "2001:db8:1::"
    );
}

#[test]
fn nat_mask_is_parsed_checked_and_ignored_outside_nat() {
    let bad = conf::parse_str(
        "virtual_server 192.0.2.10 80 {\n nat_mask 24\n real_server 198.51.100.11 80 { }\n}\n",
    );
    let err = format!(
        "{:?}",
        bad.expect_err("a prefix length is not an IPv4 netmask")
    );
    assert!(err.contains("nat_mask: expected an IPv4 netmask"), "{err}");
    let dr = conf::parse_str(
        "virtual_server 192.0.2.10 80 {\n lb_kind DR\n nat_mask 255.255.255.0\n real_server 198.51.100.11 80 { }\n}\n",
    )
    .expect("parses");
    assert_eq!(dr.checkers.virtual_servers[0].nat_mask, None);
    assert!(
        format!("{:?}", dr.warnings).contains("nat_mask only applies to lb_kind NAT"),
        "{:?}",
        dr.warnings
    );
}

#[test]
fn ipvs_accepts_dr_and_tun_and_refuses_groups() {
    for body in [
        "lb_kind DR\nreal_server 198.51.100.11 80 { }",
        "lb_kind TUN\nreal_server 198.51.100.11 80 { }",
        "lb_kind NAT\nreal_server 198.51.100.11 80 { lvs_method DR }",
    ] {
        let vs = vs_of(body);
        assert_eq!(ipvs_refusal(&vs), None, "{body}");
        assert!(refusal(&vs).is_some(), "nftables refuses {body}");
        assert_eq!(Backend::Ipvs.refusal(&vs), None);
        let notes = Backend::Ipvs.notes(&vs);
        assert!(
            notes[0].contains("applied by the IPVS data plane"),
            "{notes:?}"
        );
    }
    let g = conf::parse_str(
        "virtual_server_group web { 192.0.2.10-12 80\n fwmark 5 }\nvirtual_server group web {\n persistence_granularity 255.255.255.0\n real_server 198.51.100.11 80 { }\n}\n",
    )
    .expect("parses");
    let vs = &g.checkers.virtual_servers[0];
    assert_eq!(ipvs_refusal(vs), None);
    let notes = ipvs_notes(vs);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("3 address services, 1 fwmark service")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("persistence_granularity: not applied to a group")),
        "{notes:?}"
    );
}

/// The parser's notes and errors follow the host's data plane (`ParseOptions::data_plane`):
/// what the host's backend cannot apply is an error at its line, so `vigild -t` fails and the
/// daemon does not start; `NotApplied` (`vigild -d`) reads it without a word.
#[test]
fn the_configuration_refusals_follow_the_host_backend() {
    let parse = |data_plane, text: &str| {
        let opts = conf::ParseOptions {
            data_plane,
            ..Default::default()
        };
        conf::parse_text("k.conf", text, &conf::MemoryLoader::new(), &opts)
    };
    let errors = |text: &str| -> Vec<String> {
        match parse(Backend::Nftables, text) {
            Ok(_) => panic!("nftables accepts:\n{text}"),
            Err(e) => e.errors().map(|d| d.to_string()).collect(),
        }
    };
    let text = "virtual_server 192.0.2.10 80 {\n protocol TCP\n lb_kind DR\n real_server 198.51.100.11 80 { }\n}\n";
    let nft = errors(text);
    assert_eq!(nft.len(), 1, "{nft:?}");
    assert!(
        nft[0].starts_with("k.conf:1:1: error: virtual_server 192.0.2.10:80: the nftables data plane of this host cannot apply it: lb_kind DR:"),
        "{nft:?}"
    );
    assert!(nft[0].contains("use lb_kind NAT"), "{nft:?}");
    let ipvs = parse(Backend::Ipvs, text).expect("IPVS applies DR");
    let ipvs: Vec<String> = ipvs.warnings.iter().map(|d| d.to_string()).collect();
    assert!(
        ipvs.iter()
            .any(|w| w.contains("applied by the IPVS data plane")),
        "{ipvs:?}"
    );
    let read = parse(Backend::NotApplied, text).expect("read only");
    assert!(
        read.warnings
            .iter()
            .all(|d| !d.message.contains("data plane")),
        "{:?}",
        read.warnings
    );
    // A real server's own lb_kind, a sorry server's: at its line.
    for (body, line, what) in [
        (" real_server 198.51.100.11 80 { }\n real_server 198.51.100.12 80 {\n  lvs_method TUN\n }\n", 3, "real_server 198.51.100.12: lb_kind TUN"),
        (" sorry_server 198.51.100.9 80\n sorry_server_lvs_method DR\n real_server 198.51.100.11 80 { }\n", 2, "sorry_server 198.51.100.9: lb_kind DR"),
        // (A server of the other family is kept only with TUN: the parser drops the others.)
        (" real_server 198.51.100.11 80 { }\n real_server 2001:db8::11 80 {\n  lvs_method TUN\n }\n", 3, "real_server 2001:db8::11: lb_kind TUN"),
    ] {
        let text = format!("virtual_server 192.0.2.10 80 {{\n{body}}}\n");
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with(&format!("k.conf:{line}:")), "{e:?}");
        assert!(e[0].contains(what), "{e:?}");
    }
    // Whole-service refusals: at the virtual_server line.
    for (text, what) in [
        ("virtual_server 192.0.2.10 80 {\n persistence_engine sip\n real_server 198.51.100.11 80 { }\n}\n", "persistence_engine sip"),
        // A group is applied; its virtual server's own lb_kind DR is what is refused.
        ("virtual_server_group web {\n 192.0.2.10 80\n}\nvirtual_server group web {\n lb_kind DR\n real_server 198.51.100.11 80 { }\n}\n", "virtual_server group web: the nftables data plane of this host cannot apply it: lb_kind DR"),
    ] {
        let e = errors(text);
        assert_eq!(e.len(), 1, "{e:?}");
        let vs_line = text.lines().position(|l| l.starts_with("virtual_server ")).map_or(0, |i| i + 1);
        assert!(e[0].starts_with(&format!("k.conf:{vs_line}:1:")), "{e:?}");
        assert!(e[0].contains(what), "{e:?}");
    }
}

/// The sh / mh flags: the port flags (and flag-2, the same IPVS flag) hash the source port;
/// the fallback flags (and flag-1) and flag-3 are noted, never dropped without a word.
#[test]
fn scheduler_flags_are_applied_or_noted() {
    for body in [
        "lb_algo sh\nsh-port",
        "lb_algo mh\nmh-port",
        "lb_algo sh\nflag-2",
        "lb_algo mh\nflag-2",
    ] {
        let vs = vs_of(&format!("{body}\n{THREE}"));
        assert_eq!(
            Scheduling::of(&vs).selector,
            Selector::SourceHash { port: true },
            "{body}"
        );
    }
    let vs = vs_of(&format!("lb_algo mh\n{THREE}"));
    assert_eq!(
        Scheduling::of(&vs).selector,
        Selector::SourceHash { port: false }
    );
    let vs = vs_of(&format!("lb_algo rr\nflag-2\n{THREE}"));
    assert_eq!(Scheduling::of(&vs).selector, Selector::Counter);
    for (body, said) in [
        (
            "lb_algo sh\nsh-fallback",
            "sh-fallback: a server out of the table",
        ),
        (
            "lb_algo mh\nflag-1",
            "mh-fallback: a server out of the table",
        ),
        ("lb_algo rr\nflag-3", "flag-3: not honoured"),
    ] {
        let notes = nftables_notes(&vs_of(&format!("{body}\n{THREE}"))).join("\n");
        assert!(notes.contains(said), "{body}: {notes}");
    }
}

/// `hashed` and the other hashing scheduler's flag names change nothing (keepalived's
/// `lbflags_handler` has no branch for them): each is noted at its line, never dropped without a
/// word, and the scheduling stays as without it.
#[test]
fn flags_that_change_nothing_are_noted_at_their_line() {
    for (body, said) in [
        ("lb_algo sh\nhashed", "hashed: IPVS's own bookkeeping flag"),
        ("lb_algo rr\nhashed", "hashed: IPVS's own bookkeeping flag"),
        (
            "lb_algo sh\nmh-port",
            "mh-port belongs to the other hashing scheduler",
        ),
        (
            "lb_algo mh\nsh-fallback",
            "sh-fallback belongs to the other hashing scheduler",
        ),
    ] {
        let text = format!("virtual_server 192.0.2.10 80 {{\n{body}\n{THREE}}}\n");
        let cfg = conf::parse_str(&text).expect("test configuration parses");
        let said_at: Vec<String> = cfg.warnings.iter().map(|d| d.to_string()).collect();
        assert!(
            said_at
                .iter()
                .any(|d| d.contains(said) && d.contains(":3:")),
            "{body}: {said_at:?}"
        );
        let vs = &cfg.checkers.virtual_servers[0];
        assert!(!vs.sched_flags.sh_port && !vs.sched_flags.mh_port, "{body}");
    }
}

/// A group entry without a port (or with port 0) takes every port of its protocol; as
/// keepalived's validate_check_config, a group with such an entry and no persistence_timeout
/// gets the default 360 s (a warning), since a zero port is only valid for persistent
/// services.
#[test]
fn a_group_entry_without_a_port_takes_every_port_and_persistence() {
    let cfg = conf::parse_str(
        "virtual_server_group any {\n 192.0.2.10\n 192.0.2.11 0\n}\nvirtual_server group any {\n protocol TCP\n real_server 198.51.100.11 { }\n}\n",
    )
    .expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    assert_eq!(vs.persistence_timeout, Some(360));
    let p = plan(0, vs, &full_table(vs)).expect("applied");
    let a = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
    assert_eq!(
        p.matchers,
        vec![
            Match::Addr {
                addr: a("192.0.2.10"),
                protocol: conf::Protocol::Tcp,
                port: 0
            },
            Match::Addr {
                addr: a("192.0.2.11"),
                protocol: conf::Protocol::Tcp,
                port: 0
            },
        ]
    );
}
