//! Receiving an advert: the checks of RFC 5798 section 7.1, in the RFC's order (with keepalived's
//! unicast TTL range and source checks), each failure dropped, counted by name and reported; then
//! the accepted advert goes to `backup.rs` (section 6.4.2) or `master.rs` (section 6.4.3).

#[allow(unused_imports)]
use super::*;

impl Engine {
    /// Discard a received packet: one `ProtocolError` per packet, and a rate-limited notice
    /// for the log (RFC 5798 / RFC 9568 / RFC 3768 section 7.1: "SHOULD log the event (subject
    /// to rate-limiting)").
    pub(super) fn drop_packet(
        &mut self,
        now: Instant,
        p: &Received<'_>,
        instance: Option<usize>,
        rule: DropReason,
    ) {
        let id = instance.map(|i| self.instances[i].id);
        self.actions.push_back(Action::ProtocolError {
            iface: p.iface,
            instance: id,
            src: p.src,
            rule,
        });
        let gate = match instance {
            Some(i) => &mut self.instances[i].notices.dropped,
            None => &mut self.router_drops,
        };
        if let Some(held_back) = gate.pass(now) {
            self.actions
                .push_back(Action::Notice(Notice::AdvertDropped {
                    iface: p.iface,
                    instance: id,
                    src: p.src,
                    rule,
                    held_back,
                }));
        }
        // The address owner heard another router claim priority 255 (RFC 9568 sections 7.1
        // and 8.3.2). The codec accepted the packet, so its priority field is there.
        if let (Some(i), DropReason::OwnerDiscard) = (instance, rule) {
            if wire::peek_priority(p.payload) == Some(OWNER_PRIORITY) {
                self.owner_conflict(now, i, p.src, None);
            }
        }
    }

    /// Notice two routers claiming priority 255 for instance `i` (rate-limited).
    pub(super) fn owner_conflict(
        &mut self,
        now: Instant,
        i: usize,
        src: IpAddr,
        other: Option<IpAddr>,
    ) {
        let inst = &mut self.instances[i];
        if let Some(held_back) = inst.notices.owner.pass(now) {
            let instance = inst.id;
            self.actions
                .push_back(Action::Notice(Notice::OwnerConflict {
                    instance,
                    src,
                    other,
                    held_back,
                }));
        }
    }

    /// The operator notices an accepted advert can raise (RFC 9568 sections 7.1 and 8.3.2): a
    /// VRRPv3 interval other than ours, and priority 255 from two routers within one
    /// Master_Down_Interval.
    pub(super) fn accepted_notices(
        &mut self,
        now: Instant,
        i: usize,
        src: IpAddr,
        prio: u8,
        heard: Duration,
    ) {
        let inst = &mut self.instances[i];
        let ours = inst.cfg.advert_interval;
        if inst.cfg.version == Version::V3 && heard != ours {
            if let Some(held_back) = inst.notices.interval.pass(now) {
                let instance = inst.id;
                self.actions
                    .push_back(Action::Notice(Notice::IntervalDiffers {
                        instance,
                        src,
                        theirs: heard,
                        ours,
                        held_back,
                    }));
            }
        }
        let inst = &mut self.instances[i];
        if prio == OWNER_PRIORITY {
            let window = inst.master_down_interval();
            let previous = inst.notices.last_owner.replace((src, now));
            if let Some((other, at)) = previous {
                if other != src && now < at.saturating_add(window) {
                    self.owner_conflict(now, i, src, Some(other));
                }
            }
        }
    }

    pub(super) fn receive(&mut self, now: Instant, p: &Received<'_>) {
        // Find the instance: interface, family, VRID (byte 1). Everything after is checked
        // against that instance's configuration.
        let family = match (IpContext {
            src: p.src,
            dst: p.dst,
        })
        .family()
        {
            Some(f) if usize::from(p.iface.0) < self.ifaces.len() => f,
            _ => {
                self.stats.unknown_interface_or_family += 1;
                return self.drop_packet(now, p, None, DropReason::UnknownInterfaceOrFamily);
            }
        };
        let Some(vrid) = wire::peek_vrid(p.payload) else {
            self.stats.packet_length_errors += 1;
            return self.drop_packet(now, p, None, DropReason::TooShortForVrid);
        };
        let slot =
            self.ifaces[usize::from(p.iface.0)].vrids[family_index(family)][usize::from(vrid)];
        if slot == 0 {
            self.stats.vrid_errors += 1;
            return self.drop_packet(now, p, None, DropReason::VridNotConfigured);
        }
        let i = (slot - 1) as usize;
        let advert = match self.check(i, p) {
            Ok(a) => a,
            Err(rule) => return self.drop_packet(now, p, Some(i), rule),
        };
        let inst = &mut self.instances[i];
        inst.stats.adverts_received += 1;
        if advert.priority == 0 {
            inst.stats.priority_zero_received += 1;
        }
        if advert.trailing > 0 {
            inst.stats.trailing_bytes += 1;
        }
        let heard_interval = advert.interval.as_duration();
        if inst.old_checksum
            && !inst.old_checksum_said
            && inst.cfg.old_unicast_checksum == OldUnicastChecksum::Detect
        {
            inst.old_checksum_said = true;
            let instance = inst.id;
            self.actions
                .push_back(Action::Notice(Notice::OldUnicastChecksum {
                    instance,
                    src: p.src,
                }));
        }
        if advert.version == Version::V3 && family == Family::V4 {
            self.record_checksum_form(i, p.src, advert.checksum);
        }
        let inst = &mut self.instances[i];
        // The owner's adverts are kept whatever their address list (check 6); a differing list
        // is still worth a line in the log (RFC 5798 section 7.1: "SHOULD log the event").
        let owner_list_differs = advert.priority == OWNER_PRIORITY
            && inst.cfg.check_address_list
            && !same_addresses(&advert.addrs, &inst.advert_addrs);
        if owner_list_differs {
            if let Some(held_back) = inst.notices.address_list.pass(now) {
                let instance = inst.id;
                self.actions
                    .push_back(Action::Notice(Notice::OwnerAddressListDiffers {
                        instance,
                        src: p.src,
                        held_back,
                    }));
            }
        }
        if matches!(self.instances[i].state, State::Backup | State::Master) {
            self.accepted_notices(now, i, p.src, advert.priority, heard_interval);
        }
        let inst = &mut self.instances[i];
        match inst.state {
            State::Backup => {
                self.backup_rx(now, i, advert.priority, heard_interval, p.src);
                // A backup only moves its own deadline: no other member to reschedule.
                self.schedule(i);
            }
            State::Master => {
                self.master_rx(now, i, advert.priority, heard_interval, p.src);
                // A master may take its whole sync group to BACKUP (matrix handler 3).
                self.schedule_with_group(i);
            }
            State::Init | State::Fault => {}
        }
    }

    /// VRRPv3 over IPv4: both checksum forms are accepted (RFC 5798 section 5.2.8's
    /// pseudo-header form, and the message-only form of FRR's `no checksum-with-ipv4-
    /// pseudoheader` and some vendors); count which one each peer uses, and say so in the log
    /// the first time a peer is heard with the message-only form.
    fn record_checksum_form(&mut self, i: usize, src: IpAddr, form: wire::ChecksumForm) {
        let inst = &mut self.instances[i];
        let plain = form == wire::ChecksumForm::Plain;
        if plain {
            inst.stats.plain_checksum_received += 1;
        }
        let k = match inst.peer_checksums.iter().position(|p| p.addr == src) {
            Some(k) => k,
            None if inst.peer_checksums.len() < PEER_CHECKSUMS_RECORDED => {
                inst.peer_checksums.push(PeerChecksum {
                    addr: src,
                    pseudo_header: 0,
                    plain: 0,
                });
                inst.peer_checksums.len() - 1
            }
            None => return,
        };
        let peer = &mut inst.peer_checksums[k];
        if plain {
            peer.plain += 1;
            if peer.plain == 1 {
                let instance = inst.id;
                self.actions
                    .push_back(Action::Notice(Notice::PeerChecksumForm {
                        instance,
                        src,
                        form,
                    }));
            }
        } else {
            peer.pseudo_header += 1;
        }
    }

    /// The receive checks of RFC 5798 section 7.1, in order; each failure counted by name.
    pub(super) fn check<'a>(
        &mut self,
        i: usize,
        p: &Received<'a>,
    ) -> Result<wire::Advert<'a>, DropReason> {
        let inst = &mut self.instances[i];
        let st = &mut inst.stats;
        // 1. TTL / hop limit, for adverts sent to the group. A unicast advert to a unicast
        // instance is not held to 255: unicast peers may be routed, and keepalived 2.2.7 both
        // sends IPv6 unicast adverts with the default hop limit (64) and accepts any TTL on
        // unicast (it checks only per-peer min_ttl / max_ttl, applied just below).
        let unicast_rx = !inst.cfg.unicast_peers.is_empty() && !p.dst.is_multicast();
        if p.ttl != VRRP_TTL && !unicast_rx {
            st.ip_ttl_errors += 1;
            return Err(DropReason::Ttl(p.ttl));
        }
        // A unicast advert from a peer with a configured TTL range is held to it (keepalived's
        // min_ttl / max_ttl, counted as a TTL error as keepalived does).
        if unicast_rx {
            if let Some(r) = inst.cfg.unicast_ttl.iter().find(|r| r.peer == p.src) {
                if p.ttl < r.min || p.ttl > r.max {
                    st.ip_ttl_errors += 1;
                    return Err(DropReason::Ttl(p.ttl));
                }
            }
        }
        // keepalived's check_unicast_src: only the configured peers may speak to a unicast
        // instance.
        if inst.cfg.check_unicast_src
            && !inst.cfg.unicast_peers.is_empty()
            && !inst.cfg.unicast_peers.contains(&p.src)
        {
            st.unicast_source_errors += 1;
            return Err(DropReason::UnicastSource);
        }
        // 2. Version.
        let version = wire::peek_version(p.payload);
        if version != inst.cfg.version.number() {
            st.version_errors += 1;
            return Err(DropReason::Version(version));
        }
        // 3., 4. Length and checksum (and the structural rules), by the codec.
        let ctx = IpContext {
            src: p.src,
            dst: p.dst,
        };
        // An instance without virtual addresses hears peers configured the same way: their
        // adverts carry none (keepalived's no_virtual_ipaddress); any other instance still drops
        // a count of zero (RFC 5798 section 5.2.5: at least one).
        let no_addrs = inst.advert_addrs.is_empty();
        let policy = inst.cfg.checksum_policy;
        // keepalived.conf(5) old_unicast_checksum: keepalived 1.3.6 and earlier put the
        // multicast group, not the unicast peer, in the VRRPv3/IPv4 pseudo-header. Configured:
        // expected; by default: accepted when only it checks, and then sent (keepalived's
        // automatic detection); `never`: not accepted.
        let old_ctx = (unicast_rx
            && inst.cfg.version == Version::V3
            && inst.cfg.family == Family::V4
            && inst.cfg.old_unicast_checksum != OldUnicastChecksum::Never)
            .then(|| IpContext {
                src: p.src,
                dst: inst.cfg.multicast_group(),
            });
        let parsed = match (&old_ctx, inst.cfg.old_unicast_checksum) {
            (Some(old), OldUnicastChecksum::Always) => {
                wire::parse_with(p.payload, old, policy, no_addrs)
            }
            (Some(old), _) => match wire::parse_with(p.payload, &ctx, policy, no_addrs) {
                Err(ParseError::Checksum { .. }) => {
                    let r = wire::parse_with(p.payload, old, policy, no_addrs);
                    if r.is_ok() {
                        inst.old_checksum = true;
                    }
                    r
                }
                r => r,
            },
            (None, _) => wire::parse_with(p.payload, &ctx, policy, no_addrs),
        };
        let st = &mut inst.stats;
        let advert = match parsed {
            Ok(a) => a,
            Err(e) => {
                match e {
                    ParseError::TooShort { .. } | ParseError::LengthMismatch { .. } => {
                        st.packet_length_errors += 1
                    }
                    ParseError::UnknownVersion(_) | ParseError::V2OverIpv6 => {
                        st.version_errors += 1
                    }
                    ParseError::UnknownType(_) => st.invalid_type_received += 1,
                    ParseError::AddressCountZero => st.address_count_zero += 1,
                    ParseError::V2IntervalZero | ParseError::V3IntervalZero => {
                        st.advert_interval_errors += 1
                    }
                    ParseError::UnsupportedAuthType(_) => st.invalid_auth_type += 1,
                    ParseError::Checksum { .. } => st.checksum_errors += 1,
                    // Cannot happen: the VRID was found and the families agree.
                    ParseError::VridZero | ParseError::FamilyMismatch => {
                        st.packet_length_errors += 1
                    }
                }
                return Err(DropReason::Malformed(e));
            }
        };
        // 5. We are the address owner: discard.
        if inst.cfg.priority == OWNER_PRIORITY {
            st.owner_discards += 1;
            return Err(DropReason::OwnerDiscard);
        }
        // 6. Address list (the RFC's MAY, keepalived's default): count a mismatch; drop unless
        //    the sender is the owner. IPv6: a leading link-local (the RFC's form) is skipped.
        if inst.cfg.check_address_list && !same_addresses(&advert.addrs, &inst.advert_addrs) {
            st.address_list_errors += 1;
            if advert.priority != OWNER_PRIORITY {
                st.address_list_drops += 1;
                return Err(DropReason::AddressList);
            }
        }
        // 7. v2: authentication, and the interval (RFC 3768 section 7.1).
        if inst.cfg.version == Version::V2 {
            match (inst.cfg.auth, advert.auth) {
                (Auth::None, Auth::None) => {}
                (Auth::Simple(ours), Auth::Simple(theirs)) => {
                    if ours != theirs {
                        st.auth_failures += 1;
                        return Err(DropReason::AuthFailure);
                    }
                }
                _ => {
                    st.auth_type_mismatch += 1;
                    return Err(DropReason::AuthTypeMismatch);
                }
            }
            if advert.interval != inst.interval {
                st.advert_interval_errors += 1;
                return Err(DropReason::AdvertInterval);
            }
        }
        Ok(advert)
    }
}

/// Whether an advert's addresses are ours, in any order (keepalived compares them as a set); a
/// leading IPv6 link-local address (RFC 5798 section 5.2.9's form) is ignored.
fn same_addresses(theirs: &wire::Addrs<'_>, ours: &[IpAddr]) -> bool {
    let mut skip = 0;
    if let Some(IpAddr::V6(first)) = theirs.get(0) {
        if first.segments()[0] & 0xffc0 == 0xfe80 && !ours.contains(&IpAddr::V6(first)) {
            skip = 1;
        }
    }
    theirs.len() - skip == ours.len() && theirs.iter().skip(skip).all(|a| ours.contains(&a))
}
