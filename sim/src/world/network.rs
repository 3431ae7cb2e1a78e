//! The network: L2 segments between the nodes. An advert is encoded once, captured, and
//! handed to every member of its segment through the segment's model (partitions, burst and
//! random loss, duplication, delay, jitter, reordering); the deliveries are queued as one batch.

use std::net::IpAddr;
use std::rc::Rc;

use vigil_engine::wire::Family;
use vigil_engine::{Input, InstanceId, Instant, Received, State};

use crate::checks::ViolationKind;
use crate::driver::{Event, Sim};
use crate::frames::{self, Captured};
use crate::oracle::{self};
use crate::rng::SimRng;
use crate::scenario::{LinkModel, NetworkSpec};
use crate::trace::TraceEvent;

/// A frame in flight: the IP addresses and the VRRP bytes the engine's codec produced.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) from: u16,
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit as received (255 for every advert a node sends).
    pub(crate) ttl: u8,
    pub(crate) payload: Payload,
}

/// VRRP bytes of a frame: inline when small (almost every advert: one allocation per frame
/// instead of two), on the heap otherwise.
#[derive(Debug)]
pub(crate) enum Payload {
    Inline { len: u8, bytes: [u8; 64] },
    Heap(Box<[u8]>),
}

impl Payload {
    pub(crate) fn new(b: &[u8]) -> Payload {
        match u8::try_from(b.len()) {
            Ok(len) if b.len() <= 64 => {
                let mut bytes = [0u8; 64];
                bytes[..b.len()].copy_from_slice(b);
                Payload::Inline { len, bytes }
            }
            _ => Payload::Heap(b.into()),
        }
    }

    /// Overwrite with `b`, in place when both fit inline (a reused frame: no zero-fill and
    /// no move of the whole array).
    pub(crate) fn set(&mut self, b: &[u8]) {
        if let (Payload::Inline { len, bytes }, Ok(n)) = (&mut *self, u8::try_from(b.len())) {
            if b.len() <= bytes.len() {
                bytes[..b.len()].copy_from_slice(b);
                *len = n;
                return;
            }
        }
        *self = Payload::new(b);
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Payload::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Payload::Heap(b) => b,
        }
    }
}

/// An L2 segment at run time.
#[derive(Debug)]
pub(crate) struct Segment {
    pub name: String,
    pub spec: NetworkSpec,
    pub model: LinkModel,
    /// (node, interface) members, in node order.
    pub members: Vec<(usize, usize)>,
    /// Partition side of each node (all 0: no partition).
    pub side: Vec<usize>,
    /// One-way blocks: `blocked[from * n + to]`.
    pub blocked: Vec<bool>,
    /// Gilbert-Elliott state per sender and receiver (`true`: bad).
    pub burst_bad: Vec<bool>,
}

impl Segment {
    pub(crate) fn cut(&self, n: usize, from: usize, to: usize) -> bool {
        self.side[from] != self.side[to] || self.blocked[from * n + to]
    }

    pub(crate) fn partitioned(&self) -> bool {
        self.side.iter().any(|&s| s != self.side[0]) || self.blocked.iter().any(|&b| b)
    }
}

/// What the segment does with one frame from one sender to one receiver.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Fate {
    /// Lost, and why (`partition`, `burst`, `loss`).
    Lost(&'static str),
    /// Delivered at `at[..copies]` (two copies when duplicated).
    Arrives {
        /// Arrival times, virtual.
        at: [u64; 2],
        /// How many of `at` are used.
        copies: usize,
    },
}

impl Segment {
    /// The fate of a frame sent at `now` from node `from` to node `to` (of `n` nodes): a
    /// partition or one-way block, then the Gilbert-Elliott burst state of the pair, random
    /// loss, duplication, and each copy's delay, jitter and reordering. Draws from `rng` in this
    /// order, which the traces of every seed depend on.
    pub(crate) fn fate(
        &mut self,
        rng: &mut SimRng,
        n: usize,
        from: usize,
        to: usize,
        now: u64,
    ) -> Fate {
        if self.cut(n, from, to) {
            return Fate::Lost("partition");
        }
        let model = self.model;
        if let Some(b) = model.burst {
            let k = from * n + to;
            let bad = self.burst_bad[k];
            let flip = if bad { b.leave } else { b.enter };
            let now_bad = bad ^ rng.chance(flip);
            self.burst_bad[k] = now_bad;
            if now_bad && rng.chance(b.loss) {
                return Fate::Lost("burst");
            }
        }
        if rng.chance(model.loss) {
            return Fate::Lost("loss");
        }
        let copies = if rng.chance(model.duplicate) { 2 } else { 1 };
        let mut at = [0u64; 2];
        for slot in at.iter_mut().take(copies) {
            let mut d = model.delay + rng.between(0, model.jitter);
            if rng.chance(model.reorder) {
                d += rng.between(0, model.reorder_delay);
            }
            *slot = now.saturating_add(d);
        }
        Fate::Arrives { at, copies }
    }
}

/// An advert being delivered to one node: which instance it is for, as the simulator sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxCtx {
    pub(crate) inst: Option<usize>,
    pub(crate) src: IpAddr,
    pub(crate) prio: u8,
    pub(crate) heard: u64,
    pub(crate) before: State,
    pub(crate) dropped: bool,
    /// Bytes after the advert's declared content (counted as `trailing_bytes` if accepted).
    pub(crate) trailing: bool,
}

impl Sim {
    pub(crate) fn transmit(&mut self, n: usize, adv: &vigil_engine::SendAdvert) {
        let ni = self.engine_iface(n, adv.iface);
        let seg = self.nodes[n].ifaces[ni].plan.segment;
        let sender_up = self.nodes[n].ifaces[ni].up;
        let nn = self.nodes.len();
        for &dst in adv.destinations() {
            let len = match adv.encode(dst, &mut self.buf) {
                Ok(l) => l,
                Err(e) => {
                    return self.violate(
                        ViolationKind::Safety,
                        "advert-encodes",
                        Some(n),
                        format!("the engine asked for an advert its codec cannot encode: {e}"),
                    )
                }
            };
            if self.record_packets {
                self.record(
                    Some(n),
                    TraceEvent::Advert {
                        inst: self.lane(n, adv.instance),
                        priority: adv.priority,
                        dst,
                    },
                );
            }
            if self.captured.is_some() {
                let f = &mut self.nodes[n].ifaces[ni];
                f.ip_id = f.ip_id.wrapping_add(1);
                let frame = frames::vrrp(f.plan.mac, adv.src, dst, f.ip_id, &self.buf[..len]);
                let t = self.now;
                if let Some(c) = self.captured.as_mut() {
                    c.push(Captured { t, frame });
                }
            }
            if !sender_up {
                continue; // no carrier: nothing leaves the interface
            }
            let from = u16::try_from(n).unwrap_or(u16::MAX);
            let bytes = &self.buf[..len];
            // A frame whose deliveries are all done is reused (no allocation per frame).
            let reused = self.spare_frames.pop().and_then(|mut rc| {
                let f = Rc::get_mut(&mut rc)?;
                f.from = from;
                f.src = adv.src;
                f.dst = dst;
                f.ttl = adv.ttl.unwrap_or(vigil_engine::wire::VRRP_TTL);
                f.payload.set(bytes);
                Some(rc)
            });
            let frame = match reused {
                Some(rc) => rc,
                None => Rc::new(Frame {
                    from,
                    src: adv.src,
                    dst,
                    ttl: adv.ttl.unwrap_or(vigil_engine::wire::VRRP_TTL),
                    payload: Payload::new(bytes),
                }),
            };
            let unicast = !dst.is_multicast();
            for member in 0..self.segs[seg].members.len() {
                let (m, mi) = self.segs[seg].members[member];
                if m == n {
                    continue;
                }
                if unicast {
                    let p = &self.nodes[m].ifaces[mi].plan;
                    let owns =
                        p.ipv4.map(IpAddr::V4) == Some(dst) || p.ipv6.map(IpAddr::V6) == Some(dst);
                    if !owns {
                        continue;
                    }
                }
                match self.segs[seg].fate(&mut self.rng, nn, n, m, self.now) {
                    Fate::Lost(why) => self.lost(n, m, why),
                    Fate::Arrives { at, copies } => {
                        for &at in &at[..copies] {
                            self.in_flight_until = self.in_flight_until.max(at);
                            self.fanout.push((
                                at,
                                Event::Deliver {
                                    node: m,
                                    iface: mi,
                                    frame: Rc::clone(&frame),
                                },
                            ));
                        }
                    }
                }
            }
            self.queue.push_batch(0, &mut self.fanout);
            if Rc::strong_count(&frame) == 1 {
                self.spare_frames.push(frame); // nobody to deliver it to
            }
        }
    }

    pub(crate) fn lost(&mut self, from: usize, to: usize, why: &'static str) {
        if self.record_packets {
            self.record(
                Some(from),
                TraceEvent::Lost {
                    to: u16::try_from(to).unwrap_or(u16::MAX),
                    why,
                },
            );
        }
    }

    pub(crate) fn deliver(&mut self, n: usize, fi: usize, frame: &Frame) {
        let node = &self.nodes[n];
        if !node.running || !node.ifaces[fi].up {
            if self.record_packets && node.engine.is_some() {
                self.record(
                    Some(usize::from(frame.from)),
                    TraceEvent::Lost {
                        to: u16::try_from(n).unwrap_or(u16::MAX),
                        why: "receiver-down",
                    },
                );
            }
            return;
        }
        let Some(id) = node.ifaces[fi].engine_id else {
            return; // no instance on that interface: the kernel would drop it
        };
        // Which instance it is for, to time takeovers ("no advert for ...").
        let family = Family::of(&frame.src);
        // A multicast group the interface did not join (vrrp_mcast_group4/6, mcast_dst_ip):
        // the kernel drops it before any socket sees it.
        if frame.dst.is_multicast()
            && Family::of(&frame.dst) == family
            && node
                .engine
                .as_ref()
                .is_some_and(|e| !e.multicast_groups(id, family).contains(&frame.dst))
        {
            return;
        }
        let payload = frame.payload.bytes();
        let vrid = vigil_engine::wire::peek_vrid(payload).unwrap_or(0);
        let target = node
            .insts
            .iter()
            .position(|i| i.iface == fi && i.family == family && i.vrid == vrid);
        // The target's received count and priority before the call, from one view.
        let view = target.and_then(|i| {
            let e = self.nodes[n].engine.as_ref()?;
            e.instance(InstanceId(u32::try_from(i).ok()?))
                .map(|v| (v.stats().adverts_received, v.priority()))
        });
        let (before, own) = (view.map(|v| v.0), view.map(|v| v.1));
        let prio = vigil_engine::wire::peek_priority(payload).unwrap_or(0);
        let resets = own.is_some_and(|p| prio >= p || prio == 0);
        let node = &self.nodes[n];
        let local = node.local(self.now);
        self.rx = Some(RxCtx {
            inst: target,
            src: frame.src,
            prio,
            heard: oracle::advert_interval(payload, family),
            before: target.map_or(State::Init, |i| node.insts[i].state),
            dropped: false,
            // Read only for adverts the engine accepted (at least a header long).
            trailing: payload.len() >= vigil_engine::wire::HEADER_LEN
                && vigil_engine::wire::Packet::new_unchecked(payload, family).trailing() > 0,
        });
        let node = &mut self.nodes[n];
        if let (Some(c), Some(e)) = (node.contract.as_mut(), node.engine.as_ref()) {
            let vrid = vigil_engine::wire::peek_vrid(payload);
            c.delivered(&node.running_config, e, id, frame.src, frame.dst, vrid);
        }
        if let Some(e) = self.nodes[n].engine.as_mut() {
            e.handle_input(
                Instant::from_nanos(local),
                Input::Packet(Received {
                    iface: id,
                    src: frame.src,
                    dst: frame.dst,
                    ttl: frame.ttl,
                    payload,
                }),
            );
        }
        if let Some(i) = target {
            if resets && self.received(n, i) != before {
                self.nodes[n].insts[i].last_rx = Some(self.now);
            }
        }
        self.after_call(n);
    }

    /// An advert was delivered: unless the engine dropped it, it counts as received and, for a
    /// BACKUP, restarts the Master_Down_Timer as the RFC says.
    pub(crate) fn accepted(&mut self, n: usize, rx: RxCtx) {
        let Some(i) = rx.inst.filter(|_| !rx.dropped) else {
            return;
        };
        let local = self.nodes[n].local(self.now);
        let Some(t) = self.nodes[n].insts.get_mut(i) else {
            return;
        };
        let m = &mut t.model;
        m.stats.adverts_received += 1;
        if rx.prio == 0 {
            m.stats.priority_zero_received += 1;
        }
        if rx.trailing {
            m.stats.trailing_bytes += 1;
        }
        if rx.prio == vigil_engine::setup::OWNER_PRIORITY {
            m.owner_adverts += 1;
        }
        if rx.before == State::Backup && t.state == State::Backup {
            m.backup_heard(rx.prio, rx.heard, rx.src, local);
        }
    }
}

pub(crate) fn describe_sides(
    side: &[usize],
    names: &[String],
    members: &[(usize, usize)],
) -> String {
    let mut sides: Vec<(usize, Vec<&str>)> = Vec::new();
    for &(m, _) in members {
        let s = side[m];
        match sides.iter_mut().find(|(k, _)| *k == s) {
            Some((_, v)) => v.push(&names[m]),
            None => sides.push((s, vec![&names[m]])),
        }
    }
    sides.sort_by_key(|(k, _)| *k);
    sides
        .iter()
        .map(|(_, v)| format!("[{}]", v.join(" ")))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A network model in words.
pub fn describe_model(m: &LinkModel) -> String {
    use crate::dur::Dur;
    let mut s = format!("delay {}", Dur(m.delay));
    if m.jitter > 0 {
        s.push_str(&format!(" + jitter {}", Dur(m.jitter)));
    }
    if m.loss > 0.0 {
        s.push_str(&format!(", loss {:.0}%", m.loss * 100.0));
    }
    if let Some(b) = m.burst {
        s.push_str(&format!(
            ", burst loss (enter {:.0}%, leave {:.0}%)",
            b.enter * 100.0,
            b.leave * 100.0
        ));
    }
    if m.duplicate > 0.0 {
        s.push_str(&format!(", duplicate {:.0}%", m.duplicate * 100.0));
    }
    if m.reorder > 0.0 {
        s.push_str(&format!(
            ", reorder {:.0}% by up to {}",
            m.reorder * 100.0,
            Dur(m.reorder_delay)
        ));
    }
    s
}

impl Segment {
    pub(crate) fn clean(&self) -> bool {
        !self.model.lossy() && !self.partitioned()
    }
}
