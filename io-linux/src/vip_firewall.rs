//! `no_accept` / `vrrp_strict` (RFC 5798 section 6.4.3, Accept_Mode False): a non-owner MASTER
//! drops packets addressed to, or sent from, its virtual addresses. Installed through nftables
//! exactly as keepalived 2.2.7 built with nftables does (vrrp_nftables.c), so that an operator's
//! `nft list ruleset` shows the same thing under either daemon:
//!
//! ```text
//! table ip keepalived {
//!     set vips { type ipv4_addr }             # the addresses of the MASTERs that drop
//!     chain out { type filter hook output priority filter - 1; policy accept;
//!         ip saddr @vips drop }
//!     chain in { type filter hook input priority filter - 1; policy accept;
//!         ip daddr @vips drop }
//! }
//! table ip6 keepalived {
//!     set vips { type ipv6_addr }
//!     set neighbor-discovery { type icmpv6_type; flags constant;
//!         elements = { nd-neighbor-solicit, nd-neighbor-advert } }
//!     chain out { ...output...; icmpv6 type @neighbor-discovery accept;
//!         ip6 saddr fe80::/10 goto out_link_local; ip6 saddr @vips drop }
//!     chain in { ...input...; icmpv6 type @neighbor-discovery accept;
//!         ip6 daddr fe80::/10 goto in_link_local; ip6 daddr @vips drop }
//!     chain in_link_local { }
//!     chain out_link_local { }
//! }
//! ```
//!
//! As keepalived: a family's table is created when the first such MASTER adds its addresses
//! (none exists while every instance is BACKUP), addresses join the `vips` set as they are added
//! and leave it as they are removed, and the tables are deleted at stop. The batches go to
//! `nft -j -f -` (nftables JSON, one transaction each), as the data plane does
//! (`dataplane/nftables.rs`). Not done: link-local virtual addresses (keepalived's
//! `vips_link_local` sets; warned at start) and `nftables_ifindex` (which only concerns them).
//! global_defs `nftables NAME`, `nftables_priority N` and `nftables_counters` are honoured
//! ([`Settings`]).

use std::net::IpAddr;

use serde_json::{json, Value};
use tracing::warn;

/// keepalived's default table name (global_defs `nftables` without a name).
pub const TABLE: &str = "keepalived";

/// global_defs `nftables [NAME]`, `nftables_priority`, `nftables_counters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The table name (both families).
    pub table: String,
    /// The `in` / `out` chains' hook priority (keepalived's default -1: just before `filter`).
    pub priority: i32,
    /// A `counter` before each rule's verdict.
    pub counters: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            table: TABLE.to_string(),
            priority: -1,
            counters: false,
        }
    }
}

impl Settings {
    /// From a configuration's global_defs.
    pub fn of(g: &vigil_engine::conf::GlobalDefs) -> Settings {
        Settings {
            table: g.nftables.clone().unwrap_or_else(|| TABLE.to_string()),
            priority: g.nftables_priority,
            counters: g.nftables_counters,
        }
    }

    fn add(&self, kind: &str, mut body: Value) -> Value {
        body["table"] = json!(self.table);
        json!({ "add": { kind: body } })
    }

    fn base_chain(&self, family: &str, name: &str, hook: &str) -> Value {
        self.add(
            "chain",
            json!({"family": family, "name": name, "type": "filter",
                   "hook": hook, "prio": self.priority, "policy": "accept"}),
        )
    }

    /// A rule: `matched` then (with counters) a counter, then `verdict`.
    fn rule(&self, family: &str, chain: &str, matched: Value, verdict: Value) -> Value {
        let mut expr = vec![matched];
        if self.counters {
            expr.push(json!({"counter": {"packets": 0, "bytes": 0}}));
        }
        expr.push(verdict);
        self.add(
            "rule",
            json!({"family": family, "chain": chain, "expr": expr}),
        )
    }
}

fn fam(a: &IpAddr) -> usize {
    usize::from(a.is_ipv6())
}

const FAMILY: [&str; 2] = ["ip", "ip6"];

fn vips_match(family: &str, field: &str) -> Value {
    json!({"match": {"op": "==", "left": {"payload": {"protocol": family, "field": field}},
                     "right": "@vips"}})
}

/// The batch that creates a family's table, in keepalived's order (objects are listed in
/// creation order).
pub fn render_table(st: &Settings, v6: bool) -> Vec<Value> {
    let f = FAMILY[usize::from(v6)];
    let drop = json!({"drop": null});
    let mut out = vec![
        json!({"add": {"table": {"family": f, "name": st.table}}}),
        st.add(
            "set",
            json!({"family": f, "name": "vips",
                   "type": if v6 { "ipv6_addr" } else { "ipv4_addr" }}),
        ),
    ];
    if !v6 {
        out.push(st.base_chain(f, "out", "output"));
        out.push(st.base_chain(f, "in", "input"));
        out.push(st.rule(f, "in", vips_match("ip", "daddr"), drop.clone()));
        out.push(st.rule(f, "out", vips_match("ip", "saddr"), drop));
        return out;
    }
    out.push(st.add(
        "set",
        json!({"family": f, "name": "neighbor-discovery", "type": "icmpv6_type",
               "flags": ["constant"], "elem": ["nd-neighbor-solicit", "nd-neighbor-advert"]}),
    ));
    out.push(st.base_chain(f, "out", "output"));
    out.push(st.base_chain(f, "in", "input"));
    for ll in ["in_link_local", "out_link_local"] {
        out.push(st.add("chain", json!({"family": f, "name": ll})));
    }
    let nd = json!({"match": {"op": "==",
                              "left": {"payload": {"protocol": "icmpv6", "field": "type"}},
                              "right": "@neighbor-discovery"}});
    let ll = |field: &str| {
        json!({"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": field}},
                         "right": {"prefix": {"addr": "fe80::", "len": 10}}}})
    };
    let accept = json!({"accept": null});
    out.push(st.rule(f, "in", nd.clone(), accept.clone()));
    out.push(st.rule(
        f,
        "in",
        ll("daddr"),
        json!({"goto": {"target": "in_link_local"}}),
    ));
    out.push(st.rule(f, "out", nd, accept));
    out.push(st.rule(
        f,
        "out",
        ll("saddr"),
        json!({"goto": {"target": "out_link_local"}}),
    ));
    out.push(st.rule(f, "in", vips_match("ip6", "daddr"), drop.clone()));
    out.push(st.rule(f, "out", vips_match("ip6", "saddr"), drop));
    out
}

/// Adding (`add`) or deleting (`delete`) addresses of one family to / from its `vips` set.
pub fn render_elements(st: &Settings, op: &str, v6: bool, addrs: &[IpAddr]) -> Value {
    let elem: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    json!({ op: { "element": {"family": FAMILY[usize::from(v6)], "table": st.table,
                               "name": "vips", "elem": elem} } })
}

/// The tables and set elements this daemon installed.
#[derive(Debug, Default)]
pub struct VipFirewall {
    /// Table name, priority, counters.
    settings: Settings,
    /// The family tables created (IPv4, IPv6).
    created: [bool; 2],
    /// Addresses now in the `vips` sets.
    members: Vec<IpAddr>,
}

fn apply(objects: Vec<Value>) -> Result<(), String> {
    let json = json!({ "nftables": objects }).to_string();
    nftables::helper::apply_ruleset_raw(
        &json,
        nftables::helper::DEFAULT_NFT,
        nftables::helper::DEFAULT_ARGS,
    )
    .map(|_| ())
    .map_err(|e| match e {
        nftables::helper::NftablesError::NftFailed { stderr, .. } => {
            format!("nft refused the batch: {}", stderr.trim())
        }
        other => other.to_string(),
    })
}

impl VipFirewall {
    /// Nothing installed yet; these settings.
    pub fn new(settings: Settings) -> VipFirewall {
        VipFirewall {
            settings,
            ..Default::default()
        }
    }

    /// A MASTER that drops its addresses' traffic added `addrs`: into the sets (tables first
    /// when needed). Link-local addresses are left out (not supported, warned at start).
    pub fn add(&mut self, addrs: &[IpAddr]) {
        let mut batch = Vec::new();
        for v6 in [false, true] {
            let new: Vec<IpAddr> = addrs
                .iter()
                .copied()
                .filter(|a| a.is_ipv6() == v6 && !link_local(a) && !self.members.contains(a))
                .collect();
            if new.is_empty() {
                continue;
            }
            if !self.created[usize::from(v6)] {
                batch.extend(render_table(&self.settings, v6));
            }
            batch.push(render_elements(&self.settings, "add", v6, &new));
        }
        if batch.is_empty() {
            return;
        }
        match apply(batch) {
            Ok(()) => {
                for a in addrs {
                    if !link_local(a) && !self.members.contains(a) {
                        self.created[fam(a)] = true;
                        self.members.push(*a);
                    }
                }
            }
            Err(e) => warn!("no_accept: cannot install the drop rules for {addrs:?}: {e}"),
        }
    }

    /// Addresses removed (leaving MASTER): out of the sets.
    pub fn remove(&mut self, addrs: &[IpAddr]) {
        let mut batch = Vec::new();
        for v6 in [false, true] {
            let gone: Vec<IpAddr> = addrs
                .iter()
                .copied()
                .filter(|a| a.is_ipv6() == v6 && self.members.contains(a))
                .collect();
            if !gone.is_empty() {
                batch.push(render_elements(&self.settings, "delete", v6, &gone));
            }
        }
        if batch.is_empty() {
            return;
        }
        if let Err(e) = apply(batch) {
            warn!("no_accept: cannot remove {addrs:?} from the drop rules: {e}");
        }
        self.members.retain(|a| !addrs.contains(a));
    }

    /// Stop: the tables go.
    pub fn remove_all(&mut self) {
        let batch: Vec<Value> = (0..2)
            .filter(|&k| self.created[k])
            .map(|k| json!({"delete": {"table": {"family": FAMILY[k], "name": self.settings.table}}}))
            .collect();
        self.created = [false; 2];
        self.members.clear();
        if !batch.is_empty() {
            if let Err(e) = apply(batch) {
                warn!("no_accept: cannot delete the nftables tables: {e}");
            }
        }
    }
}

/// An IPv6 link-local address (fe80::/10).
pub fn link_local(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ipv4_table_is_keepalived_s() {
        let t = render_table(&Settings::default(), false);
        let text = serde_json::to_string(&t).unwrap();
        assert!(text.contains(r#""name":"keepalived""#));
        assert!(text.contains(r#""hook":"input","prio":-1"#) || text.contains(r#""prio":-1"#));
        assert_eq!(t.len(), 6);
        let e = render_elements(
            &Settings::default(),
            "add",
            false,
            &["192.0.2.100".parse().unwrap()],
        );
        assert_eq!(
            e.to_string(),
            r#"{"add":{"element":{"elem":["192.0.2.100"],"family":"ip","name":"vips","table":"keepalived"}}}"#
        );
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(link_local(&"fe80::1".parse().unwrap()));
        assert!(link_local(&"febf::1".parse().unwrap()));
        assert!(!link_local(&"fec0::1".parse().unwrap()));
        assert!(!link_local(&"2001:db8::1".parse().unwrap()));
    }
}
