//! A route's or nexthop's `encap` (keepalived.conf(5) "Virtual routes": `encap mpls LABEL |
//! ip ... | ip6 ... | ila LOCATOR`), word by word as keepalived 2.2.7 reads it (`vrrp_iproute.c`
//! `parse_encap`, `parse_encap_mpls` / `_ip` / `_ip6` / `_ila`; `vrrp_ip_rule_route_parser.c`
//! `parse_mpls_address`, `get_addr64`).
//!
//! As in keepalived, `encap ip` and `encap ip6` read `KEY VALUE` pairs until a word that is not
//! one of their keys: `198.51.100.0/24 encap ip dst 192.0.2.9 src 192.0.2.1 dev eth0` takes
//! `src` as the tunnel's outer source, not the route's preferred source (write the route's `src`
//! before `encap`). The tunnel needs `dst` or `id`.

use std::net::IpAddr;

use super::super::lexer::Token;
use super::super::model::{Encap, IpEncap};
use super::super::values;
use super::routes::{c_number, tos_number};
use super::{Builder, R};

/// keepalived's `MAX_MPLS_LABELS`: how many labels `encap mpls` pushes at most.
pub(crate) const MAX_MPLS_LABELS: usize = 2;

/// The largest MPLS label (20 bits, RFC 3032 section 2.1).
const MPLS_LABEL_MAX: u64 = 0xF_FFFF;

/// `LABEL[/LABEL]` (keepalived's `parse_mpls_address`: each label a C number, 20 bits).
fn mpls_labels(s: &str) -> Result<Vec<u32>, String> {
    let bad = |why: &str| format!("encap mpls '{s}': {why}");
    let mut out = Vec::new();
    for part in s.split('/') {
        if out.len() == MAX_MPLS_LABELS {
            return Err(bad(&format!(
                "at most {MAX_MPLS_LABELS} labels (keepalived's limit)"
            )));
        }
        let n =
            c_number(part).ok_or_else(|| bad("expected LABEL[/LABEL], labels being numbers"))?;
        if n > MPLS_LABEL_MAX {
            return Err(bad("a label is 20 bits (0..=1048575)"));
        }
        out.push(n as u32);
    }
    Ok(out)
}

/// An ILA locator: four hex groups of up to 16 bits, `XXXX:XXXX:XXXX:XXXX` (keepalived's
/// `get_addr64`), the first group the most significant.
fn ila_locator(s: &str) -> Result<u64, String> {
    let bad =
        || format!("encap ila '{s}': expected a locator of four hex groups, XXXX:XXXX:XXXX:XXXX");
    let groups: Vec<&str> = s.split(':').collect();
    if groups.len() != 4 {
        return Err(bad());
    }
    let mut v = 0u64;
    for g in groups {
        let digits = g
            .strip_prefix("0x")
            .or_else(|| g.strip_prefix("0X"))
            .unwrap_or(g);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let n = u64::from_str_radix(digits, 16).map_err(|_| bad())?;
        if n > 0xffff {
            return Err(bad());
        }
        v = v << 16 | n;
    }
    Ok(v)
}

/// A decimal number up to `max` (keepalived's `get_u8` / `get_u16` / `get_u64`: base 10).
fn decimal(s: &str, max: u64, what: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| format!("{what}: expected a decimal number 0..={max}, found '{s}'"))
}

impl Builder {
    /// `encap TYPE ...` starting at `words[i]` (the word `encap`): the encapsulation and how
    /// many words it took, `encap` included.
    pub(super) fn encap(&mut self, words: &[Token], i: usize) -> R<(Encap, usize)> {
        let Some(kind) = words.get(i + 1) else {
            self.err(
                &words[i].loc,
                "encap: expected a type after it (mpls, ip, ip6 or ila)",
            );
            return Err(());
        };
        let first = i + 2;
        match kind.text {
            "mpls" | "ila" => {
                let Some(v) = words.get(first) else {
                    self.err(
                        &kind.loc,
                        format!("encap {}: expected a value after it", kind.text),
                    );
                    return Err(());
                };
                let e = if kind.text == "mpls" {
                    let x = mpls_labels(v.text);
                    Encap::Mpls(self.check(&v.loc, x)?)
                } else {
                    let x = ila_locator(v.text);
                    Encap::Ila(self.check(&v.loc, x)?)
                };
                Ok((e, 3))
            }
            "ip" | "ip6" => {
                let ipv6 = kind.text == "ip6";
                let (e, used) = self.ip_encap(words, first, ipv6)?;
                if e.dst.is_none() && e.id.is_none() {
                    self.err(
                        &kind.loc,
                        format!(
                            "encap {}: the tunnel needs 'dst ADDRESS' or 'id N'",
                            kind.text
                        ),
                    );
                    return Err(());
                }
                let e = if ipv6 { Encap::Ip6(e) } else { Encap::Ip(e) };
                Ok((e, 2 + used))
            }
            other => {
                self.err(
                    &kind.loc,
                    format!("encap '{other}': unknown type (mpls, ip, ip6 or ila)"),
                );
                Err(())
            }
        }
    }

    /// The `KEY VALUE` pairs of `encap ip` (`id dst src tos ttl flags`) or `encap ip6` (`id dst
    /// src tc hoplimit flags`) from `words[j]` to the first word that is not a key (or a key
    /// with no value after it): the metadata and how many words it took.
    fn ip_encap(&mut self, words: &[Token], mut j: usize, ipv6: bool) -> R<(IpEncap, usize)> {
        let start = j;
        let mut e = IpEncap::default();
        let (tos_word, ttl_word, kind) = if ipv6 {
            ("tc", "hoplimit", "encap ip6")
        } else {
            ("tos", "ttl", "encap ip")
        };
        while j + 1 < words.len() {
            let key = words[j].text;
            let v = &words[j + 1];
            match key {
                "id" => {
                    let x = decimal(v.text, u64::MAX, &format!("{kind} id"));
                    let id = self.check(&v.loc, x)?;
                    if id > u64::from(u32::MAX) {
                        self.warn(
                            &v.loc,
                            format!("{kind} id {id}: keepalived 2.2.7 keeps the low 32 bits of the id ({}), and so does Vigil, so that the same file installs the same route", id & 0xffff_ffff),
                        );
                    }
                    e.id = Some(id & 0xffff_ffff);
                }
                "dst" | "src" => {
                    let x = values::ip(v.text, &format!("{kind} {key}"));
                    let a = self.check(&v.loc, x)?;
                    if a.is_ipv6() != ipv6 {
                        let fam = if ipv6 { "IPv6" } else { "IPv4" };
                        self.err(
                            &v.loc,
                            format!("{kind} {key} {a}: the tunnel's addresses are {fam}"),
                        );
                        return Err(());
                    }
                    let slot: &mut Option<IpAddr> =
                        if key == "dst" { &mut e.dst } else { &mut e.src };
                    *slot = Some(a);
                }
                k if k == tos_word => {
                    let x = tos_number(v.text, &self.rt_names).map_err(|m| format!("{kind} {m}"));
                    e.tos = Some(self.check(&v.loc, x)?);
                }
                k if k == ttl_word => {
                    let x = decimal(v.text, 255, &format!("{kind} {k}"));
                    e.ttl = Some(self.check(&v.loc, x)? as u8);
                }
                "flags" => {
                    let x = decimal(v.text, u64::from(u16::MAX), &format!("{kind} flags"));
                    e.flags = Some(self.check(&v.loc, x)? as u16);
                }
                _ => break,
            }
            j += 2;
        }
        Ok((e, j - start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpls_labels_are_read_as_keepalived_reads_them() {
        assert_eq!(mpls_labels("100"), Ok(vec![100]));
        assert_eq!(mpls_labels("100/0x10"), Ok(vec![100, 16]));
        assert_eq!(mpls_labels("1048575"), Ok(vec![0xF_FFFF]));
        for bad in ["1048576", "1/2/3", "", "1/", "-1", "a", "08"] {
            assert!(mpls_labels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ila_locators_are_four_hex_groups() {
        assert_eq!(ila_locator("2001:0:0:1"), Ok(0x2001_0000_0000_0001));
        assert_eq!(ila_locator("ffff:FFFF:0:0x12"), Ok(0xffff_ffff_0000_0012));
        for bad in [
            "2001:0:0",
            "2001:0:0:1:2",
            "2001::0:1",
            "10000:0:0:1",
            "g:0:0:1",
        ] {
            assert!(ila_locator(bad).is_err(), "{bad}");
        }
    }

    const HEAD: &str = "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n \
                        virtual_ipaddress { 192.0.2.1/24 }\n";

    fn routes(lines: &str) -> Result<Vec<crate::conf::Route>, String> {
        crate::conf::parse_str(&format!("{HEAD}virtual_routes {{\n{lines}\n}}\n}}\n"))
            .map(|c| c.instances[0].virtual_routes.clone())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_encap_form_is_typed() {
        let r = routes(
            " 203.0.113.0/25 dev eth0 encap ip id 7 dst 198.51.100.9 src 192.0.2.1 tos 0x10 ttl 9 flags 256 metric 5\n \
             2001:db8:1::/64 dev eth0 encap ip6 id 5 dst 2001:db8::99 src 2001:db8::1 tc 8 hoplimit 3 flags 2\n \
             198.51.100.0/26 dev eth0 encap mpls 100/200 ttl-propagate disabled\n \
             2001:db8:2::/64 dev eth0 encap ila 2001:0:0:1 ttl-propagate enabled\n \
             198.51.100.64/26 nexthop via 192.0.2.201 dev eth0 encap ip dst 203.0.113.2 weight 2 nexthop via 192.0.2.202 encap mpls 16 dev eth0",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(
            r[0].attrs.encap,
            Some(Encap::Ip(IpEncap {
                id: Some(7),
                dst: Some(a),
                src: Some("192.0.2.1".parse().unwrap()),
                tos: Some(0x10),
                ttl: Some(9),
                flags: Some(256),
            }))
        );
        // The words after the tunnel's pairs are the route's again.
        assert_eq!(r[0].metric, Some(5));
        assert_eq!(r[0].src, None, "the src after encap ip is the tunnel's");
        assert_eq!(
            r[1].attrs.encap,
            Some(Encap::Ip6(IpEncap {
                id: Some(5),
                dst: Some("2001:db8::99".parse().unwrap()),
                src: Some("2001:db8::1".parse().unwrap()),
                tos: Some(8),
                ttl: Some(3),
                flags: Some(2),
            }))
        );
        assert_eq!(r[2].attrs.encap, Some(Encap::Mpls(vec![100, 200])));
        assert_eq!(r[2].attrs.ttl_propagate, Some(false));
        assert_eq!(r[3].attrs.encap, Some(Encap::Ila(0x2001_0000_0000_0001)));
        assert_eq!(r[3].attrs.ttl_propagate, Some(true));
        let hops = &r[4].attrs.nexthops;
        assert_eq!(hops[0].weight, Some(2));
        assert_eq!(
            hops[0].encap,
            Some(Encap::Ip(IpEncap {
                dst: Some("203.0.113.2".parse().unwrap()),
                ..IpEncap::default()
            }))
        );
        assert_eq!(hops[1].encap, Some(Encap::Mpls(vec![16])));
        let c = crate::conf::parse_str(&format!(
            "{HEAD}virtual_routes {{\n 198.51.100.64/26 nexthop via 192.0.2.201 dev eth0 encap mpls 16\n}}\n}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            c.warnings.iter().any(|w| w
                .message
                .contains("keepalived 2.2.7 installs this nexthop without its encapsulation")),
            "{:?}",
            c.warnings
        );
        assert_eq!(hops[1].dev.as_deref(), Some("eth0"));
        assert_eq!(r[4].attrs.encap, None);
    }

    #[test]
    fn an_id_beyond_32_bits_keeps_its_low_32_bits_as_keepalived_does() {
        let c = crate::conf::parse_str(&format!(
            "{HEAD}virtual_routes {{\n 198.51.100.0/24 dev eth0 encap ip id 4294967297\n}}\n}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let r = &c.instances[0].virtual_routes[0];
        assert_eq!(
            r.attrs.encap,
            Some(Encap::Ip(IpEncap {
                id: Some(1),
                ..IpEncap::default()
            }))
        );
        assert!(c
            .warnings
            .iter()
            .any(|w| w.message.contains("keeps the low 32 bits")));
    }

    #[test]
    fn a_bad_encap_is_an_error_at_its_word() {
        // The route line is line 6; the column is that of the offending word (the last
        // occurrence of `at` in the line).
        for (line, at, expect) in [
            ("198.51.100.0/24 dev eth0 encap", "encap", "expected a type"),
            (
                "198.51.100.0/24 dev eth0 encap gre 1",
                "gre",
                "unknown type",
            ),
            (
                "198.51.100.0/24 dev eth0 encap mpls",
                "mpls",
                "expected a value",
            ),
            (
                "198.51.100.0/24 dev eth0 encap mpls 1048576",
                "1048576",
                "20 bits",
            ),
            (
                "198.51.100.0/24 dev eth0 encap mpls 1/2/3",
                "1/2/3",
                "at most 2 labels",
            ),
            (
                "198.51.100.0/24 dev eth0 encap ip ttl 9",
                "ip",
                "needs 'dst ADDRESS' or 'id N'",
            ),
            (
                "198.51.100.0/24 dev eth0 encap ip dst 2001:db8::1",
                "2001:db8::1",
                "addresses are IPv4",
            ),
            (
                "2001:db8::/64 dev eth0 encap ip6 dst 192.0.2.1",
                "192.0.2.1",
                "addresses are IPv6",
            ),
            (
                "198.51.100.0/24 dev eth0 encap ip id 1 ttl 256",
                "256",
                "0..=255",
            ),
            (
                "198.51.100.0/24 dev eth0 encap ip id 1 flags 0x2",
                "0x2",
                "decimal",
            ),
            (
                "198.51.100.0/24 dev eth0 encap ip dst nowhere",
                "nowhere",
                "dst",
            ),
            (
                "2001:db8::/64 dev eth0 encap ila 2001:0:1",
                "2001:0:1",
                "four hex groups",
            ),
            (
                "198.51.100.0/24 dev eth0 nexthop via 192.0.2.1 encap mpls x",
                "x",
                "encap mpls 'x'",
            ),
            (
                "198.51.100.0/24 dev eth0 ttl-propagate on",
                "on",
                "enabled or disabled",
            ),
        ] {
            let e = routes(&format!(" {line}")).unwrap_err();
            assert!(e.contains(expect), "{line}: {e}");
            let col = line.rfind(at).map_or(0, |i| i + 2);
            assert!(
                e.contains(&format!("keepalived.conf:6:{col}:")),
                "{line}: {e}"
            );
        }
    }

    fn ip_encap(
        addr: impl proptest::strategy::Strategy<Value = IpAddr> + Clone,
    ) -> impl proptest::strategy::Strategy<Value = IpEncap> {
        use proptest::prelude::*;
        (
            proptest::option::of(0..=u64::from(u32::MAX)),
            proptest::option::of(addr.clone()),
            proptest::option::of(addr),
            proptest::option::of(any::<u8>()),
            proptest::option::of(any::<u8>()),
            proptest::option::of(any::<u16>()),
        )
            .prop_map(|(id, dst, src, tos, ttl, flags)| IpEncap {
                // The tunnel needs an id or a destination.
                id: if dst.is_none() {
                    Some(id.unwrap_or(0))
                } else {
                    id
                },
                dst,
                src,
                tos,
                ttl,
                flags,
            })
    }

    fn any_encap() -> impl proptest::strategy::Strategy<Value = Encap> {
        use proptest::prelude::*;
        let v4 = any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4);
        let v6 = any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6);
        prop_oneof![
            proptest::collection::vec(0..=0xF_FFFFu32, 1..=MAX_MPLS_LABELS).prop_map(Encap::Mpls),
            any::<u64>().prop_map(Encap::Ila),
            ip_encap(v4).prop_map(Encap::Ip),
            ip_encap(v6).prop_map(Encap::Ip6),
        ]
    }

    proptest::proptest! {
        /// Any encapsulation written as the configuration writes it (its `Display`) reads back
        /// the same, on a route and on a nexthop, and the route's words after it stay the
        /// route's.
        #[test]
        fn written_encap_reads_back(e in any_encap()) {
            let r = routes(&format!(
                " 198.51.100.0/24 dev eth0 {e} metric 7\n \
                 198.51.100.0/25 nexthop via 192.0.2.1 {e} dev eth0 weight 3"
            ))
            .map_err(proptest::test_runner::TestCaseError::fail)?;
            proptest::prop_assert_eq!(r[0].attrs.encap.as_ref(), Some(&e));
            proptest::prop_assert_eq!(r[0].metric, Some(7));
            let hop = &r[1].attrs.nexthops[0];
            proptest::prop_assert_eq!(hop.encap.as_ref(), Some(&e));
            proptest::prop_assert_eq!((hop.dev.as_deref(), hop.weight), (Some("eth0"), Some(3)));
        }
    }
}
