//! The rendered nftables batches (insta snapshots of the JSON that `nft -j -f -` receives,
//! reviewed against `nft -j list ruleset` of the same rules written by hand in nft syntax).

use super::*;
use vigil_engine::checker::{Server, TableChange};
use vigil_engine::conf;
use vigil_engine::dataplane::{plan, ServiceTable};

const CONF: &str = "
virtual_server 192.0.2.10 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 8080 { weight 3 }
  real_server 198.51.100.12 8080 { weight 2 }
  real_server 198.51.100.13 8080 { weight 1 }
  sorry_server 203.0.113.99 8080
}
virtual_server fwmark 7 {
  lb_algo sh
  persistence_timeout 60
  persistence_granularity 255.255.255.0
  real_server 198.51.100.21 0 { }
  real_server 198.51.100.22 0 { }
}
virtual_server 2001:db8::10 443 {
  lb_algo dh
  protocol TCP
  real_server 2001:db8:1::11 8443 { }
  real_server 2001:db8:1::12 8443 { }
}
";

fn plans() -> Vec<ServicePlan> {
    let cfg = conf::parse_str(CONF).expect("parses");
    cfg.checkers
        .virtual_servers
        .iter()
        .enumerate()
        .map(|(i, vs)| {
            let mut t = ServiceTable::new(vs.real_servers.len());
            for (r, rs) in vs.real_servers.iter().enumerate() {
                t.apply(Server::Real(r as u32), TableChange::Add(rs.weight));
            }
            plan(i as u32, vs, &t).expect("applied")
        })
        .collect()
}

fn pretty(objects: Vec<NfObject<'static>>) -> String {
    let v: serde_json::Value = serde_json::from_str(&to_json(objects)).expect("valid JSON");
    serde_json::to_string_pretty(&v).expect("prints")
}

#[test]
fn the_ipv4_table_for_a_wrr_and_a_fwmark_service() {
    insta::assert_snapshot!(pretty(render_table(Family::V4, &plans())));
}

#[test]
fn the_ipv6_table_hashes_the_destination() {
    insta::assert_snapshot!(pretty(render_table(Family::V6, &plans())));
}

#[test]
fn an_update_flushes_and_refills_one_chain_in_one_batch() {
    let cfg = conf::parse_str(CONF).expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    // Quorum lost: the sorry server alone.
    let mut t = ServiceTable::new(3);
    t.apply(Server::Sorry, TableChange::Add(1));
    let p = plan(0, vs, &t).expect("applied");
    insta::assert_snapshot!(pretty(render_update(&p)));
}

#[test]
fn an_empty_table_leaves_the_chain_empty() {
    let cfg = conf::parse_str(CONF).expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    let p = plan(0, vs, &ServiceTable::new(3)).expect("applied");
    let batch = render_update(&p);
    assert_eq!(batch.len(), 1, "only the flush: {batch:?}");
}

#[test]
fn stop_deletes_only_vigils_table() {
    let json = to_json(render_remove(Family::V4));
    assert_eq!(
        json,
        r#"{"nftables":[{"add":{"table":{"family":"ip","name":"vigil"}}},{"delete":{"table":{"family":"ip","name":"vigil"}}}]}"#
    );
}

#[test]
fn a_flushed_chain_or_a_deleted_rule_is_noticed() {
    let all = plans();
    let v4: Vec<&ServicePlan> = all.iter().filter(|p| p.family == Family::V4).collect();
    // What `nft -j list table ip vigil` prints (metainfo, table, chains, rules; trimmed).
    // vs1 is persistent: 3 rules (one per live server, the scheduling rule) and a chain of one
    // rule per server.
    let listed_with = |vs0_rules: usize, dispatch: usize, vs1_rs1_rules: usize| {
        let mut o = vec![
            serde_json::json!({"metainfo": {"json_schema_version": 1}}),
            serde_json::json!({"table": {"family": "ip", "name": "vigil"}}),
            serde_json::json!({"chain": {"family": "ip", "table": "vigil", "name": "prerouting"}}),
            serde_json::json!({"chain": {"family": "ip", "table": "vigil", "name": "vs0"}}),
            serde_json::json!({"chain": {"family": "ip", "table": "vigil", "name": "vs1"}}),
            serde_json::json!({"chain": {"family": "ip", "table": "vigil", "name": "vs1_rs0"}}),
            serde_json::json!({"chain": {"family": "ip", "table": "vigil", "name": "vs1_rs1"}}),
            serde_json::json!({"rule": {"family": "ip", "table": "vigil", "chain": "vs1_rs0", "expr": []}}),
        ];
        for _ in 0..3 {
            o.push(serde_json::json!({"rule": {"chain": "vs1", "expr": []}}));
        }
        for _ in 0..vs1_rs1_rules {
            o.push(serde_json::json!({"rule": {"chain": "vs1_rs1", "expr": []}}));
        }
        for _ in 0..dispatch {
            o.push(serde_json::json!({"rule": {"chain": "prerouting", "expr": []}}));
        }
        for _ in 0..vs0_rules {
            o.push(serde_json::json!({"rule": {"chain": "vs0", "expr": []}}));
        }
        serde_json::json!({ "nftables": o })
    };
    let listed = |vs0_rules, dispatch| listed_with(vs0_rules, dispatch, 1);
    assert!(shape_matches(&listed(1, 2), &v4));
    assert!(
        !shape_matches(&listed_with(1, 2, 0), &v4),
        "a persistent service's server chain flushed"
    );
    assert!(!shape_matches(&listed(0, 2), &v4), "flushed service chain");
    assert!(
        !shape_matches(&listed(1, 1), &v4),
        "a dispatch rule deleted"
    );
    assert!(!shape_matches(&serde_json::json!({"nftables": []}), &v4));
}

#[test]
fn nat_mask_adds_a_postrouting_masquerade_per_network() {
    let cfg = conf::parse_str(
        "virtual_server 192.0.2.10 80 {\n lb_algo rr\n protocol TCP\n nat_mask 255.255.255.0\n real_server 198.51.100.11 8080 { }\n real_server 198.51.100.12 8080 { }\n}\n",
    )
    .expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    let p = plan(0, vs, &ServiceTable::new(2)).expect("applied");
    let json = to_json(render_table(Family::V4, std::slice::from_ref(&p)));
    assert!(
        json.contains(r#""hook":"postrouting","prio":100"#),
        "{json}"
    );
    assert_eq!(json.matches(r#""masquerade":null"#).count(), 1, "{json}");
    assert!(json.contains(r#"{"&":[{"payload":{"protocol":"ip","field":"saddr"}},"255.255.255.0"]},"right":"198.51.100.0""#), "{json}");
    // The shape check wants the postrouting chain and its rule.
    let listed = |masq: usize| {
        let mut o = vec![
            serde_json::json!({"chain": {"name": "prerouting"}}),
            serde_json::json!({"chain": {"name": "vs0"}}),
            serde_json::json!({"chain": {"name": "postrouting"}}),
            serde_json::json!({"rule": {"chain": "prerouting"}}),
        ];
        for _ in 0..masq {
            o.push(serde_json::json!({"rule": {"chain": "postrouting"}}));
        }
        serde_json::json!({ "nftables": o })
    };
    assert!(shape_matches(&listed(1), &[&p]));
    assert!(!shape_matches(&listed(0), &[&p]), "masquerade rule deleted");
}

/// A virtual_server_group: one chain, one dispatch rule per entry (an address, a range, a
/// fwmark), all in the one batch that builds the table; the shape check counts every entry's
/// dispatch rule.
#[test]
fn a_group_is_one_chain_with_a_dispatch_rule_per_entry() {
    let cfg = conf::parse_str(
        "virtual_server_group web {\n 192.0.2.10 80\n 192.0.2.20-22 80\n fwmark 7\n}\nvirtual_server group web {\n lb_algo rr\n protocol TCP\n real_server 198.51.100.11 8080 { }\n real_server 198.51.100.12 8080 { }\n}\n",
    )
    .expect("parses");
    let vs = &cfg.checkers.virtual_servers[0];
    let mut t = ServiceTable::new(2);
    t.apply(Server::Real(0), TableChange::Add(1));
    t.apply(Server::Real(1), TableChange::Add(1));
    let p = plan(0, vs, &t).expect("applied");
    let batch = pretty(render_table(Family::V4, std::slice::from_ref(&p)));
    insta::assert_snapshot!(batch);
    // The kernel's listing of that table (rules without their expressions): 3 dispatch rules.
    let rule = |chain: &str| serde_json::json!({"rule": {"family": "ip", "table": "vigil", "chain": chain}});
    let chainj =
        |name: &str| serde_json::json!({"chain": {"family": "ip", "table": "vigil", "name": name}});
    let mut listed = vec![chainj("prerouting"), chainj("vs0"), rule("vs0")];
    listed.extend([rule("prerouting"), rule("prerouting"), rule("prerouting")]);
    let v = serde_json::json!({ "nftables": listed.clone() });
    assert!(shape_matches(&v, &[&p]));
    listed.pop();
    let v = serde_json::json!({ "nftables": listed });
    assert!(
        !shape_matches(&v, &[&p]),
        "a missing entry's rule is noticed"
    );
}
