//! The nftables backend: renders the engine's [`ServicePlan`]s as nftables JSON commands (the
//! `nftables` crate's schema) and hands each batch to `nft -j -f -`, which applies a whole
//! batch as one netlink transaction (all of it or none of it).
//!
//! The rules live in one table per family of Vigil's own, `table ip vigil` / `table ip6
//! vigil`, and nothing else is touched:
//!
//! ```text
//! table ip vigil {
//!     chain prerouting {                     # nat hook: sees a connection's first packet only
//!         type nat hook prerouting priority dstnat; policy accept;
//!         ip daddr 192.0.2.10 tcp dport 80 goto vs0        # one dispatch rule per service
//!         ip daddr 192.0.2.20-192.0.2.22 tcp dport 80 goto vs1   # (per entry of a group)
//!         meta mark 7 goto vs1
//!     }
//!     chain vs0 {                            # one chain per service, rebuilt on each change
//!         meta l4proto tcp dnat ip to numgen inc mod 6 map { 0-2 : 198.51.100.11 . 8080, ... }
//!     }
//! }
//! ```
//!
//! A change of one service's table is `flush chain` + `add rule` of that service's chain in
//! one batch; start and reload delete and re-create the whole table in one batch; stop deletes
//! it. Established connections keep their real server: the nat hook is consulted only for a
//! connection's first packet and conntrack applies the recorded translation to the rest.

use std::borrow::Cow;
use std::net::IpAddr;

use nftables::expr::{self, Expression, NamedExpression};
use nftables::schema::{self, FlushObject, NfCmd, NfListObject, NfObject, Nftables};
use nftables::stmt::{self, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};
use vigil_engine::checker::Server;
use vigil_engine::conf::{Family, Granularity, Protocol, VirtualServer};
use vigil_engine::dataplane::{self as plan, Match, Persistence, Selector, ServicePlan};

use super::{Backend, Service};

/// The name of Vigil's table (in the `ip` and `ip6` families).
pub const TABLE: &str = "vigil";
/// nftables' `dstnat` priority (-100), where DNAT belongs in prerouting.
const DSTNAT: i32 = -100;
/// nftables' `srcnat` priority (100), where source NAT belongs in postrouting.
const SRCNAT: i32 = 100;

fn nf_family(f: Family) -> NfFamily {
    match f {
        Family::V4 => NfFamily::IP,
        Family::V6 => NfFamily::IP6,
    }
}

fn ip_proto(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

fn l4(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(expr::Payload::PayloadField(
        expr::PayloadField {
            protocol: Cow::Borrowed(protocol),
            field: Cow::Borrowed(field),
        },
    )))
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(stmt::Match {
        left,
        right,
        op: stmt::Operator::EQ,
    })
}

fn meta(key: expr::MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(expr::Meta { key }))
}

fn s(text: String) -> Expression<'static> {
    Expression::String(Cow::Owned(text))
}

/// The chain of service `index`.
pub fn chain_name(index: u32) -> String {
    format!("vs{index}")
}

fn chain(family: Family, name: String) -> schema::Chain<'static> {
    schema::Chain {
        family: nf_family(family),
        table: Cow::Borrowed(TABLE),
        name: Cow::Owned(name),
        ..schema::Chain::default()
    }
}

fn table(family: Family) -> schema::Table<'static> {
    schema::Table {
        family: nf_family(family),
        name: Cow::Borrowed(TABLE),
        handle: None,
    }
}

fn rule(family: Family, chain: String, expr: Vec<Statement<'static>>) -> NfObject<'static> {
    NfObject::CmdObject(NfCmd::Add(NfListObject::Rule(schema::Rule {
        family: nf_family(family),
        table: Cow::Borrowed(TABLE),
        chain: Cow::Owned(chain),
        expr: Cow::Owned(expr),
        handle: None,
        index: None,
        comment: None,
    })))
}

/// `persistence_granularity` as the mask of the source address.
fn mask_of(g: Granularity) -> IpAddr {
    match g {
        Granularity::V4(m) => IpAddr::V4(m),
        Granularity::V6(len) => {
            let bits = if len >= 128 {
                u128::MAX
            } else {
                !(u128::MAX >> len)
            };
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
    }
}

/// The expression whose value picks a bucket.
fn selector(p: &ServicePlan) -> Expression<'static> {
    let ip = ip_proto(p.family);
    let numgen = |mode| {
        Expression::Named(NamedExpression::Numgen(expr::Numgen {
            mode,
            ng_mod: p.modulus,
            offset: None,
        }))
    };
    let jhash = |e: Expression<'static>| {
        Expression::Named(NamedExpression::JHash(expr::JHash {
            hash_mod: p.modulus,
            offset: None,
            expr: Box::new(e),
            seed: Some(0),
        }))
    };
    match p.selector {
        Selector::Counter => numgen(expr::NgMode::Inc),
        Selector::Random => numgen(expr::NgMode::Random),
        Selector::DestHash => jhash(payload(ip, "daddr")),
        Selector::SourceHash { port } => {
            let mut src = payload(ip, "saddr");
            if port {
                src = Expression::Named(NamedExpression::Concat(vec![src, payload("th", "sport")]));
            }
            jhash(src)
        }
    }
}

/// The packets of one entry of a service: a dispatch rule's matches (one rule per entry: a
/// group has several).
fn matches(p: &ServicePlan, m: &Match) -> Vec<Statement<'static>> {
    let addr_port = |dst: Expression<'static>, protocol: &Protocol, port: u16| {
        let mut v = vec![eq(payload(ip_proto(p.family), "daddr"), dst)];
        if port == 0 {
            v.push(eq(
                meta(expr::MetaKey::L4proto),
                Expression::String(Cow::Borrowed(l4(*protocol))),
            ));
        } else {
            v.push(eq(
                payload(l4(*protocol), "dport"),
                Expression::Number(u32::from(port)),
            ));
        }
        v
    };
    match m {
        Match::Addr {
            addr,
            protocol,
            port,
        } => addr_port(s(addr.to_string()), protocol, *port),
        Match::Range {
            first,
            last,
            protocol,
            port,
        } => addr_port(
            Expression::Range(Box::new(expr::Range {
                range: [s(first.to_string()), s(last.to_string())],
            })),
            protocol,
            *port,
        ),
        Match::Fwmark(m) => vec![eq(meta(expr::MetaKey::Mark), Expression::Number(*m))],
    }
}

/// The service chain's rule: DNAT to the bucket's server. `None` when no server takes new
/// connections (the chain stays empty: nothing is translated).
fn dnat_rule(p: &ServicePlan) -> Option<Vec<Statement<'static>>> {
    if p.buckets.is_empty() {
        return None;
    }
    let with_port = p.buckets.iter().any(|b| b.port != 0);
    let items = p
        .buckets
        .iter()
        .map(|b| {
            let key = if b.first == b.last {
                Expression::Number(b.first)
            } else {
                Expression::Range(Box::new(expr::Range {
                    range: [Expression::Number(b.first), Expression::Number(b.last)],
                }))
            };
            let addr = s(b.addr.to_string());
            let value = if with_port {
                Expression::Named(NamedExpression::Concat(vec![
                    addr,
                    Expression::Number(u32::from(b.port)),
                ]))
            } else {
                addr
            };
            expr::SetItem::Mapping(key, value)
        })
        .collect();
    let map = Expression::Named(NamedExpression::Map(Box::new(expr::Map {
        key: selector(p),
        data: Expression::Named(NamedExpression::Set(items)),
    })));
    let mut v = Vec::new();
    if with_port {
        // nftables: a port mapping is only valid after a transport protocol match.
        v.push(eq(
            meta(expr::MetaKey::L4proto),
            Expression::String(Cow::Borrowed(l4(l4_of(p)))),
        ));
    }
    v.push(Statement::DNAT(Some(stmt::NAT {
        addr: Some(map),
        family: Some(match p.family {
            Family::V4 => stmt::NATFamily::IP,
            Family::V6 => stmt::NATFamily::IP6,
        }),
        port: None,
        flags: None,
    })));
    Some(v)
}

/// The chain of endpoint `e` of a persistent service: records the client, then translates.
pub fn endpoint_chain(p: &ServicePlan, e: usize) -> String {
    match p.endpoints[e].server {
        Server::Real(r) => format!("vs{}_rs{r}", p.index),
        Server::Sorry => format!("vs{}_sorry", p.index),
    }
}

/// The timed set of clients of endpoint `e` of a persistent service.
pub fn clients_set(p: &ServicePlan, e: usize) -> String {
    format!("{}_clients", endpoint_chain(p, e))
}

/// A persistent service's client key: the source address, masked by the granularity.
fn client_key(p: &ServicePlan, mask: Option<Granularity>) -> Expression<'static> {
    let src = payload(ip_proto(p.family), "saddr");
    match mask {
        Some(m) => Expression::BinaryOperation(Box::new(expr::BinaryOperation::AND(
            src,
            s(mask_of(m).to_string()),
        ))),
        None => src,
    }
}

fn clients_set_object(p: &ServicePlan, e: usize, timeout: u32) -> schema::Set<'static> {
    schema::Set {
        family: nf_family(p.family),
        table: Cow::Borrowed(TABLE),
        name: Cow::Owned(clients_set(p, e)),
        handle: None,
        set_type: schema::SetTypeValue::Single(match p.family {
            Family::V4 => schema::SetType::Ipv4Addr,
            Family::V6 => schema::SetType::Ipv6Addr,
        }),
        policy: None,
        // `dynamic` is implied by the `update` statement: nft 1.0.6 rejects it in JSON.
        flags: Some([schema::SetFlag::Timeout].into()),
        elem: None,
        timeout: Some(timeout),
        gc_interval: None,
        size: None,
        comment: None,
    }
}

/// The protocol of a service's address entries (TCP for a fwmark service).
fn l4_of(p: &ServicePlan) -> Protocol {
    p.matchers
        .iter()
        .find_map(|m| match m {
            Match::Addr { protocol, .. } | Match::Range { protocol, .. } => Some(*protocol),
            Match::Fwmark(_) => None,
        })
        .unwrap_or(Protocol::Tcp)
}

/// A persistent service's per-server set and chain (`update @set { client }`, DNAT to the
/// server), created at rebuild for every configured server; their contents never change.
fn endpoint_objects(p: &ServicePlan, per: Persistence, out: &mut Vec<NfObject<'static>>) {
    for (e, ep) in p.endpoints.iter().enumerate() {
        out.push(NfObject::CmdObject(NfCmd::Add(NfListObject::Set(
            Box::new(clients_set_object(p, e, per.timeout)),
        ))));
        out.push(NfObject::CmdObject(NfCmd::Add(NfListObject::Chain(chain(
            p.family,
            endpoint_chain(p, e),
        )))));
        let mut r = vec![Statement::Set(stmt::Set {
            op: stmt::SetOp::Update,
            elem: client_key(p, per.mask),
            set: Cow::Owned(format!("@{}", clients_set(p, e))),
        })];
        if ep.port != 0 {
            r.push(eq(
                meta(expr::MetaKey::L4proto),
                Expression::String(Cow::Borrowed(l4(l4_of(p)))),
            ));
        }
        r.push(Statement::DNAT(Some(stmt::NAT {
            addr: Some(s(ep.addr.to_string())),
            family: Some(match p.family {
                Family::V4 => stmt::NATFamily::IP,
                Family::V6 => stmt::NATFamily::IP6,
            }),
            port: (ep.port != 0).then_some(Expression::Number(u32::from(ep.port))),
            flags: None,
        })));
        out.push(rule(p.family, endpoint_chain(p, e), r));
    }
}

/// A persistent service's chain: a returning client (in a live server's set) goes to that
/// server; a new one is scheduled (the selector's verdict map) to a server's chain, which
/// records it.
fn persistent_rules(p: &ServicePlan, per: Persistence, out: &mut Vec<NfObject<'static>>) {
    let goto = |e: usize| {
        Statement::Goto(stmt::JumpTarget {
            target: Cow::Owned(endpoint_chain(p, e)),
        })
    };
    for (e, _) in p.endpoints.iter().enumerate().filter(|(_, ep)| ep.live) {
        out.push(rule(
            p.family,
            chain_name(p.index),
            vec![
                eq(
                    client_key(p, per.mask),
                    s(format!("@{}", clients_set(p, e))),
                ),
                goto(e),
            ],
        ));
    }
    if p.buckets.is_empty() {
        return;
    }
    let items = p
        .buckets
        .iter()
        .map(|b| {
            let key = if b.first == b.last {
                Expression::Number(b.first)
            } else {
                Expression::Range(Box::new(expr::Range {
                    range: [Expression::Number(b.first), Expression::Number(b.last)],
                }))
            };
            let target = Expression::Verdict(expr::Verdict::Goto(stmt::JumpTarget {
                target: Cow::Owned(endpoint_chain(p, b.endpoint)),
            }));
            expr::SetItem::Mapping(key, target)
        })
        .collect();
    out.push(rule(
        p.family,
        chain_name(p.index),
        vec![Statement::VerdictMap(stmt::VerdictMap {
            key: selector(p),
            data: Expression::Named(NamedExpression::Set(items)),
        })],
    ));
}

fn service_rules(p: &ServicePlan, out: &mut Vec<NfObject<'static>>) {
    if let Some(per) = p.persistence {
        persistent_rules(p, per, out);
    } else if let Some(r) = dnat_rule(p) {
        out.push(rule(p.family, chain_name(p.index), r));
    }
}

/// `nat_mask`: one `ip saddr & MASK == NET masquerade` rule per real server network of the
/// family's services (without repeats).
fn masquerade_rules<'p>(
    family: Family,
    plans: impl Iterator<Item = &'p ServicePlan>,
) -> Vec<Vec<Statement<'static>>> {
    let mut seen: Vec<(String, IpAddr)> = Vec::new();
    for p in plans.filter(|p| p.family == family) {
        if let Some(m) = &p.masquerade {
            let mask = mask_of(m.mask).to_string();
            for n in &m.networks {
                if !seen.contains(&(mask.clone(), *n)) {
                    seen.push((mask.clone(), *n));
                }
            }
        }
    }
    seen.into_iter()
        .map(|(mask, net)| {
            let src = Expression::BinaryOperation(Box::new(expr::BinaryOperation::AND(
                payload(ip_proto(family), "saddr"),
                s(mask),
            )));
            vec![eq(src, s(net.to_string())), Statement::Masquerade(None)]
        })
        .collect()
}

/// The rules each chain of a service holds once built: `(chain, rule count)`.
fn expected_rules(p: &ServicePlan) -> Vec<(String, usize)> {
    let live = usize::from(!p.buckets.is_empty());
    match p.persistence {
        None => vec![(chain_name(p.index), live)],
        Some(_) => {
            let returning = p.endpoints.iter().filter(|e| e.live).count();
            let mut v = vec![(chain_name(p.index), returning + live)];
            v.extend((0..p.endpoints.len()).map(|e| (endpoint_chain(p, e), 1)));
            v
        }
    }
}

/// The whole table of `family` for these plans, as one batch: the table is created (if
/// absent) and deleted, so the batch replaces whatever was there, then rebuilt.
pub fn render_table(family: Family, plans: &[ServicePlan]) -> Vec<NfObject<'static>> {
    let mut out = vec![
        NfObject::CmdObject(NfCmd::Add(NfListObject::Table(table(family)))),
        NfObject::CmdObject(NfCmd::Delete(NfListObject::Table(table(family)))),
        NfObject::CmdObject(NfCmd::Add(NfListObject::Table(table(family)))),
        NfObject::CmdObject(NfCmd::Add(NfListObject::Chain(schema::Chain {
            _type: Some(NfChainType::NAT),
            hook: Some(NfHook::Prerouting),
            prio: Some(DSTNAT),
            policy: Some(NfChainPolicy::Accept),
            ..chain(family, "prerouting".into())
        }))),
    ];
    let masq = masquerade_rules(family, plans.iter());
    if !masq.is_empty() {
        out.push(NfObject::CmdObject(NfCmd::Add(NfListObject::Chain(
            schema::Chain {
                _type: Some(NfChainType::NAT),
                hook: Some(NfHook::Postrouting),
                prio: Some(SRCNAT),
                policy: Some(NfChainPolicy::Accept),
                ..chain(family, "postrouting".into())
            },
        ))));
        out.extend(
            masq.into_iter()
                .map(|r| rule(family, "postrouting".into(), r)),
        );
    }
    for p in plans.iter().filter(|p| p.family == family) {
        out.push(NfObject::CmdObject(NfCmd::Add(NfListObject::Chain(chain(
            family,
            chain_name(p.index),
        )))));
        for entry in &p.matchers {
            let mut m = matches(p, entry);
            m.push(Statement::Goto(stmt::JumpTarget {
                target: Cow::Owned(chain_name(p.index)),
            }));
            out.push(rule(family, "prerouting".into(), m));
        }
        if let Some(per) = p.persistence {
            endpoint_objects(p, per, &mut out);
        }
        service_rules(p, &mut out);
    }
    out
}

/// One service's new rules: its chain flushed and refilled, in the same batch; with
/// persistence, the clients of every server that no longer takes new connections are
/// forgotten (their set flushed) in the same batch.
pub fn render_update(p: &ServicePlan) -> Vec<NfObject<'static>> {
    let mut out = vec![NfObject::CmdObject(NfCmd::Flush(FlushObject::Chain(
        chain(p.family, chain_name(p.index)),
    )))];
    if let Some(per) = p.persistence {
        for (e, _) in p.endpoints.iter().enumerate().filter(|(_, ep)| !ep.live) {
            out.push(NfObject::CmdObject(NfCmd::Flush(FlushObject::Set(
                Box::new(clients_set_object(p, e, per.timeout)),
            ))));
        }
    }
    service_rules(p, &mut out);
    out
}

/// Deleting Vigil's table of `family` (stop).
pub fn render_remove(family: Family) -> Vec<NfObject<'static>> {
    vec![
        NfObject::CmdObject(NfCmd::Add(NfListObject::Table(table(family)))),
        NfObject::CmdObject(NfCmd::Delete(NfListObject::Table(table(family)))),
    ]
}

/// A batch as the JSON `nft -j -f -` reads.
pub fn to_json(objects: Vec<NfObject<'static>>) -> String {
    let n = Nftables {
        objects: Cow::Owned(objects),
    };
    serde_json::to_string(&n).unwrap_or_default()
}

/// Whether `nft -j list table` output has the chains and rule counts these plans make: the
/// `prerouting` chain with one dispatch rule per service entry, each service's chain with its one
/// DNAT rule (none when no server takes connections), or, with persistence, one rule per
/// live server and the scheduling rule, and each server's chain with its one rule. A flush
/// or a deletion by someone else changes a count.
pub fn shape_matches(listed: &serde_json::Value, plans: &[&ServicePlan]) -> bool {
    let Some(objects) = listed.get("nftables").and_then(|o| o.as_array()) else {
        return false;
    };
    let chains: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.get("chain")?.get("name")?.as_str())
        .collect();
    let rules = |chain: &str| {
        objects
            .iter()
            .filter(|o| {
                o.get("rule")
                    .and_then(|r| r.get("chain"))
                    .and_then(|c| c.as_str())
                    == Some(chain)
            })
            .count()
    };
    let dispatch: usize = plans.iter().map(|p| p.matchers.len()).sum();
    if !chains.contains(&"prerouting") || rules("prerouting") != dispatch {
        return false;
    }
    if let Some(f) = plans.first().map(|p| p.family) {
        let masq = masquerade_rules(f, plans.iter().copied()).len();
        if masq > 0 && (!chains.contains(&"postrouting") || rules("postrouting") != masq) {
            return false;
        }
    }
    plans.iter().all(|p| {
        expected_rules(p)
            .iter()
            .all(|(name, want)| chains.contains(&name.as_str()) && rules(name) == *want)
    })
}

/// The nftables backend (see the module documentation).
#[derive(Debug, Default)]
pub struct Nft {
    /// The families whose table this backend created (removed on stop).
    families: Vec<Family>,
}

impl Nft {
    fn apply(&self, objects: Vec<NfObject<'static>>) -> Result<(), String> {
        let json = to_json(objects);
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
}

/// The nftables plans of these services (the backend's refusals were filtered before).
fn plans_of(services: &[Service<'_>]) -> Vec<ServicePlan> {
    services
        .iter()
        .filter_map(|s| plan::plan(s.index, s.vs, s.table).ok())
        .collect()
}

impl Backend for Nft {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn refusal(&self, vs: &VirtualServer) -> Option<String> {
        plan::refusal(vs)
    }

    fn rebuild(&mut self, services: &[Service<'_>]) -> Result<(), String> {
        let plans = &plans_of(services)[..];
        let mut batch = Vec::new();
        let mut families = Vec::new();
        for f in [Family::V4, Family::V6] {
            if plans.iter().any(|p| p.family == f) {
                batch.extend(render_table(f, plans));
                families.push(f);
            } else if self.families.contains(&f) {
                batch.extend(render_remove(f));
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.apply(batch)?;
        self.families = families;
        Ok(())
    }

    fn update(&mut self, services: &[Service<'_>]) -> Result<(), String> {
        let plans = plans_of(services);
        let batch: Vec<_> = plans.iter().flat_map(render_update).collect();
        if batch.is_empty() {
            return Ok(());
        }
        self.apply(batch)
    }

    fn intact(&mut self, services: &[Service<'_>]) -> Result<bool, String> {
        let plans = plans_of(services);
        for f in [Family::V4, Family::V6] {
            let mine: Vec<&ServicePlan> = plans.iter().filter(|p| p.family == f).collect();
            if !self.families.contains(&f) {
                continue;
            }
            let fam = ip_proto(f);
            let listed = match nftables::helper::get_current_ruleset_raw(
                nftables::helper::DEFAULT_NFT,
                ["list", "table", fam, TABLE],
            ) {
                Ok(text) => text,
                // The table is gone (nft: "No such file or directory").
                Err(nftables::helper::NftablesError::NftFailed { .. }) => return Ok(false),
                Err(e) => return Err(e.to_string()),
            };
            let v: serde_json::Value =
                serde_json::from_str(&listed).map_err(|e| format!("nft -j list: {e}"))?;
            if !shape_matches(&v, &mine) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn remove(&mut self) -> Result<(), String> {
        let batch: Vec<_> = self
            .families
            .iter()
            .flat_map(|f| render_remove(*f))
            .collect();
        self.families.clear();
        if batch.is_empty() {
            return Ok(());
        }
        self.apply(batch)
    }
}

#[cfg(test)]
mod tests;
