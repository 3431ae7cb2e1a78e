//! Crafted defects: one advert with one defect arrives from a stranger or a peer, and the
//! receive check it trips (RFC 5798 section 7.1, in order) must be the one the engine names.

use std::net::IpAddr;

use vigil_engine::wire::{Family, MAX_ADVERT_LEN};
use vigil_engine::{IfaceId, Input, Received};

use crate::checks::ViolationKind;
use crate::driver::Sim;
use crate::scenario::Defect;
use crate::trace::TraceEvent;
use crate::world::network::{Frame, Payload};
impl Sim {
    /// A stranger's advert for `instance` of node `n`, with one `defect`, arrives on the
    /// instance's interface (only there: it is not a node of the cluster). The engine must drop
    /// it with the rule the defect trips and count it by that rule's name; the `counters` rule
    /// then compares every counter with what the drop implies.
    pub(crate) fn inject(
        &mut self,
        n: usize,
        from: Option<usize>,
        instance: usize,
        defect: Defect,
    ) {
        use vigil_engine::wire;
        let Some(cfg) = self.nodes[n].config.instances.get(instance).cloned() else {
            return;
        };
        let Some(fi) = self.nodes[n].insts.get(instance).map(|t| t.iface) else {
            return;
        };
        if !self.nodes[n].running || !self.nodes[n].ifaces[fi].up {
            return; // nothing is listening
        }
        let (src, stranger): (IpAddr, IpAddr) = match cfg.family {
            Family::V4 => ([198, 51, 100, 254].into(), [203, 0, 113, 254].into()),
            Family::V6 => (
                std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x5e, 0xfeed).into(),
                std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0x5e, 0xfeed).into(),
            ),
        };
        // A node's address on the instance's segment, when the advert claims to come from it.
        let node_addr = |k: usize, family: Family| -> Option<IpAddr> {
            let seg = self.nodes[n].ifaces[fi].plan.segment;
            let f = self
                .nodes
                .get(k)?
                .ifaces
                .iter()
                .find(|f| f.plan.segment == seg)?;
            match family {
                Family::V4 => f.plan.ipv4.map(IpAddr::V4),
                Family::V6 => f.plan.ipv6.map(IpAddr::V6),
            }
        };
        let src = match from {
            Some(k) => node_addr(k, cfg.family).unwrap_or(src),
            None => src,
        };
        let dst = match defect {
            Defect::UnicastTtl => node_addr(n, cfg.family).unwrap_or(cfg.family.multicast_group()),
            Defect::Family => match cfg.family {
                Family::V4 => Family::V6.multicast_group(),
                Family::V6 => Family::V4.multicast_group(),
            },
            _ => cfg.family.multicast_group(),
        };
        // Another VRID: the first one no instance of this family on the interface has.
        let used = |v: u8| {
            self.nodes[n]
                .insts
                .iter()
                .any(|t| t.iface == fi && t.family == cfg.family && t.vrid == v)
        };
        let vrid = match defect {
            Defect::Vrid => (1..=255).find(|&v| !used(v)).unwrap_or(cfg.vrid),
            _ => cfg.vrid,
        };
        let Some(bytes) = craft(&cfg, defect, src, dst, stranger, vrid) else {
            return;
        };
        let frame = Frame {
            from: u16::MAX,
            src,
            dst,
            ttl: if matches!(defect, Defect::Ttl | Defect::UnicastTtl) {
                64
            } else {
                wire::VRRP_TTL
            },
            payload: Payload::new(&bytes),
        };
        let want = expected_drop(defect, &cfg, src, !dst.is_multicast(), frame.ttl);
        self.last_drop = None;
        if defect == Defect::UnknownIface {
            let unknown = self.nodes[n]
                .engine
                .as_ref()
                .map_or(0, |e| e.interfaces().count());
            let iface = IfaceId(u16::try_from(unknown).unwrap_or(u16::MAX));
            self.input(
                n,
                Input::Packet(Received {
                    iface,
                    src,
                    dst,
                    ttl: frame.ttl,
                    payload: &bytes,
                }),
            );
        } else {
            self.deliver(n, fi, &frame);
        }
        if self.violation.is_some() {
            return;
        }
        let seen = self.last_drop.take();
        if seen == want {
            let what = match seen {
                Some(rule) => format!(
                    "{} drops an injected advert from {src} with a bad {defect}: rule {rule}",
                    cfg.name
                ),
                None => format!(
                    "{} accepts an injected advert from {src} with a {defect}",
                    cfg.name
                ),
            };
            return self.record(Some(n), TraceEvent::Track { what });
        }
        let rule = |r: Option<&str>| match r {
            Some(r) => format!("drops it by rule {r}"),
            None => "accepts it".to_string(),
        };
        self.violate(
            ViolationKind::Safety,
            "receive-check",
            Some(n),
            format!(
                "{} got an injected advert from {src} with a bad {defect}: RFC 5798 section 7.1 \
                 {}; the engine {}",
                cfg.name,
                rule(want),
                rule(seen)
            ),
        );
    }
}

/// The receive check (RFC 5798 section 7.1, in its order, with keepalived's unicast TTL range
/// and source checks) that must drop an advert with `defect` from `src` sent to instance `cfg`,
/// by the engine's rule name; `None` when it must be accepted.
pub(crate) fn expected_drop(
    defect: Defect,
    cfg: &vigil_engine::setup::InstanceConfig,
    src: IpAddr,
    unicast: bool,
    ttl: u8,
) -> Option<&'static str> {
    use vigil_engine::wire::Auth;
    match defect {
        // Before any instance is looked for.
        Defect::Family | Defect::UnknownIface => return Some("unknown_interface_or_family"),
        Defect::Empty => return Some("too_short"),
        // The VRID selects the instance: nothing else is looked at.
        Defect::Vrid => return Some("vrid_not_configured"),
        _ => {}
    }
    // 1. TTL: 255 for the group; a unicast instance takes any TTL on unicast, within a peer's
    // configured range.
    let unicast_rx = unicast && !cfg.unicast_peers.is_empty();
    if ttl != vigil_engine::wire::VRRP_TTL && !unicast_rx {
        return Some("ttl");
    }
    if unicast_rx
        && cfg
            .unicast_ttl
            .iter()
            .any(|r| r.peer == src && (ttl < r.min || ttl > r.max))
    {
        return Some("ttl");
    }
    if cfg.check_unicast_src && !cfg.unicast_peers.is_empty() && !cfg.unicast_peers.contains(&src) {
        return Some("unicast_source");
    }
    match defect {
        Defect::Version => return Some("version"),
        Defect::Short => return Some("too_short"),
        Defect::Type => return Some("unknown_type"),
        Defect::Checksum => return Some("checksum"),
        Defect::NoAddresses => return Some("address_count_zero"),
        Defect::IntervalZero if cfg.version == vigil_engine::wire::Version::V2 => {
            return Some("v2_interval_zero")
        }
        Defect::IntervalZero => return Some("v3_interval_zero"),
        Defect::AuthType => return Some("unsupported_auth_type"),
        _ => {}
    }
    if cfg.priority == vigil_engine::setup::OWNER_PRIORITY {
        return Some("owner_discard");
    }
    match defect {
        Defect::Addresses if cfg.check_address_list => Some("address_list"),
        Defect::Interval => Some("advert_interval"),
        Defect::Auth if cfg.auth == Auth::None => Some("auth_type_mismatch"),
        Defect::Auth => Some("auth_failure"),
        _ => None,
    }
}

/// The bytes of one advert for instance `cfg` from `src` to `dst` with one `defect` (VRID
/// `vrid`; `stranger` is the address a wrong address list carries), built by the engine's
/// codec and then damaged; `None` if the codec refuses it.
fn craft(
    cfg: &vigil_engine::setup::InstanceConfig,
    defect: Defect,
    src: IpAddr,
    dst: IpAddr,
    stranger: IpAddr,
    vrid: u8,
) -> Option<Vec<u8>> {
    use vigil_engine::wire::{self, Addrs, Advert, Auth, Interval, IpContext, Version};
    let mut vips: Vec<IpAddr> = match defect {
        Defect::Addresses => vec![stranger],
        _ => cfg.virtual_addresses.iter().map(|v| v.addr).collect(),
    };
    if defect == Defect::LinkLocalFirst {
        vips.insert(0, src);
    }
    let ms = u64::try_from(cfg.advert_interval.as_millis()).unwrap_or(u64::MAX);
    let interval = match cfg.version {
        Version::V2 => {
            let s = u8::try_from(ms / 1000).unwrap_or(u8::MAX).max(1);
            Interval::Seconds(if defect == Defect::Interval {
                s.wrapping_add(1).max(1)
            } else {
                s
            })
        }
        Version::V3 => Interval::Centiseconds(u16::try_from(ms / 10).unwrap_or(4095).max(1)),
    };
    let auth = match (defect, cfg.auth) {
        (Defect::Auth, Auth::None) => Auth::simple(b"stranger"),
        (Defect::Auth, Auth::Simple(mut p)) => {
            p[0] ^= 0x20;
            Auth::Simple(p)
        }
        (_, a) => a,
    };
    let advert = Advert {
        version: cfg.version,
        vrid,
        priority: 1,
        interval,
        addrs: Addrs::List(&vips),
        auth,
        checksum: cfg.send_checksum_form(),
        trailing: 0,
    };
    let mut buf = vec![0u8; MAX_ADVERT_LEN];
    let emit_dst = match defect {
        Defect::Family => cfg.family.multicast_group(),
        _ => dst,
    };
    let Ok(len) = wire::emit(&advert, &IpContext { src, dst: emit_dst }, &mut buf) else {
        return None;
    };
    let mut bytes = buf[..len].to_vec();
    let mut view = wire::Packet::new_unchecked(&mut bytes[..], cfg.family);
    match defect {
        Defect::Version => view.set_version_number(view.version_number() ^ 1), // 2 <-> 3
        Defect::Checksum => view.set_checksum_field(view.checksum_field() ^ 0x0001),
        Defect::Type => view.set_msg_type(2),
        Defect::NoAddresses => view.set_count(0),
        Defect::IntervalZero => view.set_interval(0),
        Defect::AuthType => view.set_auth_type(2),
        _ => {}
    }
    match defect {
        Defect::Short => bytes.truncate(6),
        Defect::Empty => bytes.truncate(1),
        // Four bytes that keep the checksum right: zeros for a checksum over the message
        // only; with the pseudo-header, whose length grows by 4, the word 0xfffb (-4 in
        // ones' complement) cancels the growth.
        Defect::Trailing => match advert.checksum {
            wire::ChecksumForm::Plain => bytes.extend_from_slice(&[0; 4]),
            wire::ChecksumForm::PseudoHeader => bytes.extend_from_slice(&[0xff, 0xfb, 0, 0]),
        },
        _ => {}
    }
    Some(bytes)
}
