// Long: the whole VRRP codec in smoltcp's shape (field ranges, checked view, setters, Repr) for v2 and v3; tests are in vrrp/tests.rs.
//! The VRRP wire codec: checked, zero-copy views of received advertisements and an emitter that
//! writes into a caller-supplied buffer.
//!
//! Formats: VRRPv3 (RFC 5798 section 5.1, unchanged by RFC 9568) over IPv4 and IPv6, and VRRPv2
//! (RFC 3768 section 5.3) over IPv4 with authentication type 0 (none) or 1 (simple text password).
//! The input to [`parse`] is the IP payload (the VRRP message) plus the IP context the checksum
//! needs ([`IpContext`]); the IP header itself (TTL, source) is the runner's to read and the
//! engine's to check.
//!
//! # Decisions
//!
//! * **Trailing bytes.** Packets longer than their declared content (fixed header, `count`
//!   addresses, and for v2 the 8 authentication bytes) exist in the wild: some stacks pad short
//!   frames into the IP payload. They are *accepted*. The checksum is verified over the whole
//!   payload as received (RFC 5798 section 5.2.8: the checksum covers "the entire VRRP message",
//!   which is what a padding sender summed), the extra bytes are otherwise ignored, and their
//!   number is reported in [`Advert::trailing`] so that the engine can count them
//!   ([`crate::stats::InstanceStats::trailing_bytes`]). A packet *shorter* than its declared
//!   content is always rejected ([`ParseError::LengthMismatch`]).
//! * **Reserved bits.** The 4 reserved bits of a v3 advert are ignored on receive (RFC 5798
//!   section 5.2.5) and sent as zero.
//! * **v2 authentication.** Type 0 and 1 parse; type 2 (IP Authentication Header, removed by
//!   RFC 3768) and unknown types are rejected by name. The data of a type-0 advert is ignored on
//!   receive (RFC 3768 section 5.3.6.1); matching the configured password is the engine's check
//!   (RFC 5798 section 7.1, the last receive check; docs/ARCHITECTURE.md lists them in order).
//! * **Checksum forms.** [`ChecksumForm::Plain`] sums the VRRP message only (v2, and the v3-over-IPv4
//!   form of some vendors, keepalived's `v3_checksum_as_v2`); [`ChecksumForm::PseudoHeader`] adds
//!   the IPv4/IPv6 pseudo-header (RFC 5798 section 5.2.8). A [`ChecksumPolicy`] says which forms a
//!   receiver accepts, and a parsed advert reports the form that matched.
//!
//! # Which corruptions are always caught
//!
//! With the RFC policy ([`ChecksumPolicy::Rfc`]), any change confined to one aligned 16-bit word
//! of the message, other than swapping 0x0000 and 0xFFFF, changes the one's-complement sum and is
//! rejected; so is every single-bit flip except one: flipping version 2 into version 3 makes the
//! packet be checked under the *other* checksum rule, which can pass when the pseudo-header
//! happens to sum to exactly the difference (the property tests check everything else, see
//! `tests` below). Version 3 flipped into 2 is caught by the length rule (v2 needs 8 more bytes).

use core::fmt;

use super::checksum;

mod error;
pub use error::{EmitError, ParseError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (RFC 5798 section 5.1.1.3).
pub const IP_PROTO_VRRP: u8 = 112;
/// The IPv4 multicast group of VRRP (RFC 5798 section 5.1.1.2).
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP, ff02::12 (RFC 5798 section 5.1.2.2).
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every advert is sent with and must arrive with (RFC 5798 section 5.1.1.3).
pub const VRRP_TTL: u8 = 255;
/// Length of the fixed VRRP header, both versions.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data (RFC 3768 section 5.3.10).
pub const V2_AUTH_LEN: usize = 8;
/// The largest v3 Max Advertise Interval, in centiseconds (12 bits).
pub const V3_MAX_INTERVAL_CS: u16 = 0x0fff;
/// The longest advert the codec emits: 255 IPv6 addresses.
pub const MAX_ADVERT_LEN: usize = HEADER_LEN + 255 * 16 + V2_AUTH_LEN;

/// Byte positions of the VRRP header (RFC 5798 section 5.1, RFC 3768 section 5.3). Everything
/// that reads or writes a VRRP field by position does it through these, in this module.
pub mod field {
    /// A byte range.
    pub type Field = core::ops::Range<usize>;
    /// Version (high 4 bits) and type (low 4 bits).
    pub const VER_TYPE: usize = 0;
    /// Virtual router identifier.
    pub const VRID: usize = 1;
    /// Priority.
    pub const PRIORITY: usize = 2;
    /// Count of addresses.
    pub const COUNT: usize = 3;
    /// v2: authentication type. v3: 4 reserved bits and the interval's high 4 bits.
    pub const AUTH_TYPE: usize = 4;
    /// v2: advertisement interval in seconds.
    pub const V2_INTERVAL: usize = 5;
    /// v3: reserved bits and the 12-bit Max Advertise Interval in centiseconds.
    pub const V3_INTERVAL: Field = 4..6;
    /// Checksum.
    pub const CHECKSUM: Field = 6..8;
    /// Where the addresses start.
    pub const ADDRESSES: usize = 8;
}

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, interval in seconds, optional simple password.
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568: IPv4 or IPv6, interval in centiseconds.
    V3,
}

impl Version {
    /// The value of the version nibble.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of an instance and of the adverts it exchanges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4: 4-byte addresses, group 224.0.0.18.
    V4,
    /// IPv6: 16-byte addresses, group ff02::12.
    V6,
}

impl Family {
    /// Bytes per address in the advert's address list.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The VRRP multicast group of this family.
    pub fn multicast_group(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(MCAST_V4),
            Family::V6 => IpAddr::V6(MCAST_V6),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// The advertisement interval as carried on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interval {
    /// v2: whole seconds (RFC 3768 section 5.3.7), 1..=255.
    Seconds(u8),
    /// v3: Max Advertise Interval in centiseconds (RFC 5798 section 5.2.7), 1..=4095.
    Centiseconds(u16),
}

impl Interval {
    /// The interval as a duration.
    pub fn as_duration(self) -> core::time::Duration {
        match self {
            Interval::Seconds(s) => core::time::Duration::from_secs(u64::from(s)),
            Interval::Centiseconds(cs) => core::time::Duration::from_millis(u64::from(cs) * 10),
        }
    }
}

/// Which bytes a checksum covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumForm {
    /// The VRRP message only: VRRPv2, and VRRPv3 over IPv4 as some vendors compute it
    /// (keepalived's `v3_checksum_as_v2`).
    Plain,
    /// The VRRP message and the IPv4/IPv6 pseudo-header (RFC 5798 section 5.2.8).
    PseudoHeader,
}

/// Which checksum forms a receiver accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChecksumPolicy {
    /// The RFCs: v2 plain, v3 with the pseudo-header.
    #[default]
    Rfc,
    /// v3 over IPv4 must use the plain form (a peer known to compute it that way).
    V3Plain,
    /// v3 over IPv4 may use either form (mixed peers, e.g. during a migration); v2 stays plain
    /// and IPv6 stays pseudo-header, since no implementation does otherwise.
    Either,
}

impl ChecksumPolicy {
    /// The form an emitter uses for `version` over `family` under this policy.
    pub fn emit_form(self, version: Version, family: Family) -> ChecksumForm {
        match (version, family, self) {
            (Version::V2, _, _) => ChecksumForm::Plain,
            (Version::V3, Family::V4, ChecksumPolicy::V3Plain) => ChecksumForm::Plain,
            (Version::V3, _, _) => ChecksumForm::PseudoHeader,
        }
    }
}

/// v2 authentication (RFC 3768 section 5.3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0: no authentication; the 8 data bytes are sent as zero and ignored on receive.
    None,
    /// Type 1: simple text password, zero-padded to 8 bytes.
    Simple([u8; V2_AUTH_LEN]),
}

impl Auth {
    /// A type-1 password from text, truncated to 8 bytes and zero-padded, as keepalived does.
    pub fn simple(password: &[u8]) -> Auth {
        let mut data = [0u8; V2_AUTH_LEN];
        let n = password.len().min(V2_AUTH_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::Simple(data)
    }

    /// The auth type number on the wire.
    pub const fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Simple(_) => 1,
        }
    }
}

/// The IP context an advert travels in: its source and destination (the checksum's
/// pseudo-header, and the family that decides the address length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpContext {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the multicast group, or a unicast peer).
    pub dst: IpAddr,
}

impl IpContext {
    /// The family of the packet, or `None` when source and destination disagree.
    pub fn family(&self) -> Option<Family> {
        match (self.src, self.dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => Some(Family::V4),
            (IpAddr::V6(_), IpAddr::V6(_)) => Some(Family::V6),
            _ => None,
        }
    }
}

/// The address list of an advert: either still on the wire (parsed, zero-copy) or a slice of
/// addresses (to emit).
#[derive(Clone, Copy, Debug)]
pub enum Addrs<'a> {
    /// `count` addresses of `family` packed back to back, as received.
    Wire {
        /// Family of the addresses.
        family: Family,
        /// The packed bytes (a multiple of the address length).
        bytes: &'a [u8],
    },
    /// Addresses to emit.
    List(&'a [IpAddr]),
}

impl<'a> Addrs<'a> {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        match self {
            Addrs::Wire { family, bytes } => bytes.len() / family.addr_len(),
            Addrs::List(l) => l.len(),
        }
    }

    /// True when there is no address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses, in wire order.
    pub fn iter(&self) -> AddrIter<'a> {
        AddrIter {
            addrs: *self,
            pos: 0,
        }
    }

    /// The address at `i`, if any.
    pub fn get(&self, i: usize) -> Option<IpAddr> {
        match self {
            Addrs::Wire { family, bytes } => {
                let n = family.addr_len();
                let chunk = bytes.get(i * n..i * n + n)?;
                Some(match family {
                    Family::V4 => {
                        let b: [u8; 4] = chunk.try_into().ok()?;
                        IpAddr::V4(Ipv4Addr::from(b))
                    }
                    Family::V6 => {
                        let b: [u8; 16] = chunk.try_into().ok()?;
                        IpAddr::V6(Ipv6Addr::from(b))
                    }
                })
            }
            Addrs::List(l) => l.get(i).copied(),
        }
    }
}

impl PartialEq for Addrs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Iterator over an advert's addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct AddrIter<'a> {
    addrs: Addrs<'a>,
    pos: usize,
}

impl Iterator for AddrIter<'_> {
    type Item = IpAddr;
    fn next(&mut self) -> Option<IpAddr> {
        let a = self.addrs.get(self.pos)?;
        self.pos += 1;
        Some(a)
    }
}

/// A VRRP advertisement: the typed content of one packet.
///
/// Produced by [`parse`] (addresses borrowed from the receive buffer, no allocation) and
/// consumed by [`emit`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Advert<'a> {
    /// Protocol version.
    pub version: Version,
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Sender's priority: 0 = the master is leaving, 255 = the address owner.
    pub priority: u8,
    /// Advertisement interval (seconds for v2, centiseconds for v3).
    pub interval: Interval,
    /// Virtual addresses.
    pub addrs: Addrs<'a>,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
    /// On parse: the checksum form that matched. On emit: the form to write.
    pub checksum: ChecksumForm,
    /// On parse: bytes after the declared content (accepted, see the module docs). Ignored by
    /// [`emit`].
    pub trailing: usize,
}

impl Advert<'_> {
    /// Length of the encoded message.
    pub fn encoded_len(&self) -> usize {
        let family = match self.addrs {
            Addrs::Wire { family, .. } => family,
            Addrs::List(l) => l.first().map(Family::of).unwrap_or(Family::V4),
        };
        content_len(self.version, family, self.addrs.len())
    }
}

/// Bytes of the declared content: header, addresses and (v2) auth data.
pub const fn content_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match version {
        Version::V2 => V2_AUTH_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + count * family.addr_len() + auth
}

/// A view of a VRRP message: `T` is the buffer (`&[u8]` to read, `&mut [u8]` or `Vec<u8>` to
/// write), `family` the IP family it travels over (it decides the address length).
///
/// [`Packet::new_checked`] verifies the structure (length, version, type, VRID, count, auth type,
/// interval); its getters then cannot fail. [`Packet::new_unchecked`] wraps any buffer of at
/// least [`HEADER_LEN`] bytes, for writing (the simulator's crafted defects); getters of a field
/// past the end of such a buffer panic. The checksum is verified by [`Packet::checksum_form`] or
/// by [`parse`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Packet<T> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap `buffer` without checking anything.
    pub const fn new_unchecked(buffer: T, family: Family) -> Packet<T> {
        Packet { buffer, family }
    }

    /// Check `buffer` (a VRRP message received over `family`) and wrap it. The rules are checked
    /// in RFC 5798 section 7.1 order (version, then length), each failure named by
    /// [`ParseError`].
    #[inline]
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, ParseError> {
        Self::new_checked_with(buffer, family, false)
    }

    /// [`Packet::new_checked`], with an address count of zero allowed when
    /// `allow_no_addresses`: what keepalived sends for an instance without virtual addresses
    /// (`no_virtual_ipaddress`, or a VRRPv2 instance with none), and what a receiver configured
    /// the same way must accept (RFC 5798 section 5.2.5 asks for at least one).
    #[inline]
    pub fn new_checked_with(
        buffer: T,
        family: Family,
        allow_no_addresses: bool,
    ) -> Result<Packet<T>, ParseError> {
        let buf = buffer.as_ref();
        let [b0, vrid, _prio, count, b4, b5, ..] = *buf else {
            return Err(ParseError::TooShort { len: buf.len() });
        };
        if buf.len() < HEADER_LEN {
            return Err(ParseError::TooShort { len: buf.len() });
        }
        let version = match b0 >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(ParseError::UnknownVersion(v)),
        };
        if version == Version::V2 && family == Family::V6 {
            return Err(ParseError::V2OverIpv6);
        }
        if b0 & 0x0f != 1 {
            return Err(ParseError::UnknownType(b0 & 0x0f));
        }
        if vrid == 0 {
            return Err(ParseError::VridZero);
        }
        if count == 0 && !allow_no_addresses {
            return Err(ParseError::AddressCountZero);
        }
        let content = content_len(version, family, usize::from(count));
        if buf.len() < content {
            return Err(ParseError::LengthMismatch {
                needed: content,
                len: buf.len(),
            });
        }
        match version {
            Version::V2 => {
                if b4 > 1 {
                    return Err(ParseError::UnsupportedAuthType(b4));
                }
                if b5 == 0 {
                    return Err(ParseError::V2IntervalZero);
                }
            }
            Version::V3 => {
                if u16::from_be_bytes([b4, b5]) & V3_MAX_INTERVAL_CS == 0 {
                    return Err(ParseError::V3IntervalZero);
                }
            }
        }
        Ok(Packet { buffer, family })
    }

    /// The buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The IP family the view reads addresses in.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The version number as written (2 or 3 in a checked packet).
    #[inline]
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The message type as written (1, ADVERTISEMENT, in a checked packet).
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// Protocol version (of a checked packet: anything but 2 reads as 3).
    #[inline]
    pub fn version(&self) -> Version {
        if self.version_number() == 2 {
            Version::V2
        } else {
            Version::V3
        }
    }

    /// VRID.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// Sender's priority.
    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count of addresses.
    #[inline]
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// The v2 authentication type byte (in v3: the reserved bits and the interval's high bits).
    #[inline]
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// The advertisement interval.
    #[inline]
    pub fn interval(&self) -> Interval {
        let b = self.buffer.as_ref();
        match self.version() {
            Version::V2 => Interval::Seconds(b[field::V2_INTERVAL]),
            Version::V3 => {
                let f = &b[field::V3_INTERVAL];
                Interval::Centiseconds(u16::from_be_bytes([f[0], f[1]]) & V3_MAX_INTERVAL_CS)
            }
        }
    }

    /// The checksum field.
    #[inline]
    pub fn checksum_field(&self) -> u16 {
        let f = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([f[0], f[1]])
    }

    /// Bytes of the declared content: header, addresses and (v2) auth data.
    #[inline]
    fn content(&self) -> usize {
        content_len(self.version(), self.family, usize::from(self.count()))
    }

    /// v2 authentication (type 0 or 1, as checked); [`Auth::None`] for v3.
    pub fn auth(&self) -> Auth {
        if self.version() == Version::V3 || self.auth_type() == 0 {
            return Auth::None;
        }
        let content = self.content();
        let mut data = [0u8; V2_AUTH_LEN];
        data.copy_from_slice(&self.buffer.as_ref()[content - V2_AUTH_LEN..content]);
        Auth::Simple(data)
    }

    /// Bytes after the declared content (0 when an unchecked buffer is shorter than it).
    #[inline]
    pub fn trailing(&self) -> usize {
        self.buffer.as_ref().len().saturating_sub(self.content())
    }

    /// Which accepted checksum form the packet matches under `policy` in `ctx`, if any. When the
    /// policy accepts both forms and both match (possible only if the pseudo-header sums to
    /// zero), the RFC form is reported.
    #[inline]
    pub fn checksum_form(&self, ctx: &IpContext, policy: ChecksumPolicy) -> Option<ChecksumForm> {
        let buf = self.buffer.as_ref();
        let plain = checksum::sum(0, buf);
        let plain_ok = checksum::fold(plain) == 0xffff;
        let pseudo_ok = || {
            checksum::fold(
                plain + checksum::pseudo_header(ctx.src, ctx.dst, IP_PROTO_VRRP, buf.len()),
            ) == 0xffff
        };
        match (self.version(), self.family, policy) {
            (Version::V2, _, _) => plain_ok.then_some(ChecksumForm::Plain),
            (Version::V3, Family::V4, ChecksumPolicy::V3Plain) => {
                plain_ok.then_some(ChecksumForm::Plain)
            }
            (Version::V3, Family::V4, ChecksumPolicy::Either) => {
                if pseudo_ok() {
                    Some(ChecksumForm::PseudoHeader)
                } else {
                    plain_ok.then_some(ChecksumForm::Plain)
                }
            }
            (Version::V3, _, _) => pseudo_ok().then_some(ChecksumForm::PseudoHeader),
        }
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The address list, borrowed from the buffer.
    #[inline]
    pub fn addrs(&self) -> Addrs<'a> {
        let end = field::ADDRESSES + usize::from(self.count()) * self.family.addr_len();
        Addrs::Wire {
            family: self.family,
            bytes: &self.buffer[field::ADDRESSES..end],
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Write the version number (the high 4 bits of the first byte).
    pub fn set_version_number(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Write the message type (the low 4 bits of the first byte).
    pub fn set_msg_type(&mut self, msg_type: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0xf0) | (msg_type & 0x0f);
    }

    /// Write the VRID.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Write the priority.
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Write the count of addresses.
    pub fn set_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// Write the v2 authentication type byte.
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    /// Write the advertisement interval as the version says: v2 seconds (the low byte of
    /// `interval`), v3 centiseconds (12 bits; the reserved bits are kept).
    pub fn set_interval(&mut self, interval: u16) {
        let version = self.version();
        let b = self.buffer.as_mut();
        match version {
            Version::V2 => b[field::V2_INTERVAL] = interval as u8,
            Version::V3 => {
                let [hi, lo] = (interval & V3_MAX_INTERVAL_CS).to_be_bytes();
                b[field::AUTH_TYPE] = (b[field::AUTH_TYPE] & 0xf0) | hi;
                b[field::V2_INTERVAL] = lo;
            }
        }
    }

    /// Write address `index` of the list (of the view's family; another family is ignored).
    pub fn set_addr(&mut self, index: usize, addr: IpAddr) {
        let n = self.family.addr_len();
        let slot = &mut self.buffer.as_mut()[field::ADDRESSES + index * n..][..n];
        match addr {
            IpAddr::V4(a) if n == 4 => slot.copy_from_slice(&a.octets()),
            IpAddr::V6(a) if n == 16 => slot.copy_from_slice(&a.octets()),
            _ => {}
        }
    }

    /// Write v2 authentication: the type byte and the 8 data bytes after the addresses.
    pub fn set_auth(&mut self, auth: Auth) {
        let content = self.content();
        let data = match auth {
            Auth::None => [0u8; V2_AUTH_LEN],
            Auth::Simple(d) => d,
        };
        self.set_auth_type(auth.type_number());
        self.buffer.as_mut()[content - V2_AUTH_LEN..content].copy_from_slice(&data);
    }

    /// Write the checksum field.
    pub fn set_checksum_field(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Compute and write the checksum of the whole buffer in `form` for `ctx` (the
    /// pseudo-header form applies to v3 only).
    pub fn fill_checksum(&mut self, ctx: &IpContext, form: ChecksumForm) {
        self.set_checksum_field(0);
        let version = self.version();
        let buf = self.buffer.as_ref();
        let mut sum = checksum::sum(0, buf);
        if form == ChecksumForm::PseudoHeader && version == Version::V3 {
            sum += checksum::pseudo_header(ctx.src, ctx.dst, IP_PROTO_VRRP, buf.len());
        }
        self.set_checksum_field(checksum::checksum(sum));
    }
}

/// The VRID of a message not checked yet (runners and the engine demultiplex on it before the
/// checks of RFC 5798 section 7.1); `None` when the message is too short to hold it.
#[inline]
pub fn peek_vrid(message: &[u8]) -> Option<u8> {
    message.get(field::VRID).copied()
}

/// The version number of a message not checked yet (0 when the message is empty).
#[inline]
pub fn peek_version(message: &[u8]) -> u8 {
    message.get(field::VER_TYPE).map_or(0, |b| b >> 4)
}

/// The priority of a message not checked yet; `None` when the message is too short to hold it.
#[inline]
pub fn peek_priority(message: &[u8]) -> Option<u8> {
    message.get(field::PRIORITY).copied()
}

/// Parse a received VRRP message: structure first (see [`Packet::new_checked`]), then the
/// checksum under `policy`. Returns the typed advert, borrowing its addresses from `buf`.
///
/// Never panics, whatever the bytes.
pub fn parse<'a>(
    buf: &'a [u8],
    ctx: &IpContext,
    policy: ChecksumPolicy,
) -> Result<Advert<'a>, ParseError> {
    parse_with(buf, ctx, policy, false)
}

/// [`parse`], with an address count of zero allowed when `allow_no_addresses` (an instance
/// without virtual addresses, see [`Packet::new_checked_with`]).
pub fn parse_with<'a>(
    buf: &'a [u8],
    ctx: &IpContext,
    policy: ChecksumPolicy,
    allow_no_addresses: bool,
) -> Result<Advert<'a>, ParseError> {
    let family = ctx.family().ok_or(ParseError::FamilyMismatch)?;
    let pkt = Packet::new_checked_with(buf, family, allow_no_addresses)?;
    let checksum = pkt.checksum_form(ctx, policy).ok_or(ParseError::Checksum {
        received: pkt.checksum_field(),
    })?;
    Ok(Advert {
        version: pkt.version(),
        vrid: pkt.vrid(),
        priority: pkt.priority(),
        interval: pkt.interval(),
        addrs: pkt.addrs(),
        auth: pkt.auth(),
        checksum,
        trailing: pkt.trailing(),
    })
}

/// Write `advert` into `buf` as it goes on the wire in `ctx`, with the checksum form
/// `advert.checksum`; returns the number of bytes written. Byte for byte what keepalived sends
/// for the same content (reserved bits zero, v2 auth data zero-padded).
pub fn emit(advert: &Advert<'_>, ctx: &IpContext, buf: &mut [u8]) -> Result<usize, EmitError> {
    let family = ctx.family().ok_or(EmitError::Family)?;
    let count = advert.addrs.len();
    // Zero: an instance without virtual addresses (keepalived sends a count of 0 then).
    if count > 255 {
        return Err(EmitError::AddressCount(count));
    }
    if advert.vrid == 0 {
        return Err(EmitError::VridZero);
    }
    if advert.version == Version::V2 && family == Family::V6 {
        return Err(EmitError::Family);
    }
    let len = content_len(advert.version, family, count);
    let out = buf
        .get_mut(..len)
        .ok_or(EmitError::BufferTooSmall { needed: len })?;
    let (b4, b5) = match (advert.version, advert.interval) {
        (Version::V2, Interval::Seconds(s)) if s > 0 => (advert.auth.type_number(), s),
        (Version::V3, Interval::Centiseconds(cs)) if cs > 0 && cs <= V3_MAX_INTERVAL_CS => {
            let [hi, lo] = cs.to_be_bytes();
            (hi, lo)
        }
        _ => return Err(EmitError::Interval),
    };
    out[field::VER_TYPE] = (advert.version.number() << 4) | 1;
    out[field::VRID] = advert.vrid;
    out[field::PRIORITY] = advert.priority;
    out[field::COUNT] = count as u8; // checked above: 1..=255
    out[field::AUTH_TYPE] = b4;
    out[field::V2_INTERVAL] = b5;
    out[field::CHECKSUM].fill(0);
    let n = family.addr_len();
    let put = |i: usize, addr: IpAddr, out: &mut [u8]| -> Result<(), EmitError> {
        let slot = &mut out[field::ADDRESSES + i * n..field::ADDRESSES + (i + 1) * n];
        match addr {
            IpAddr::V4(a) if family == Family::V4 => slot.copy_from_slice(&a.octets()),
            IpAddr::V6(a) if family == Family::V6 => slot.copy_from_slice(&a.octets()),
            _ => return Err(EmitError::Family),
        }
        Ok(())
    };
    match advert.addrs {
        // The usual case (the engine's own adverts): straight over the slice.
        Addrs::List(l) => {
            for (i, &addr) in l.iter().enumerate() {
                put(i, addr, out)?;
            }
        }
        Addrs::Wire { .. } => {
            for (i, addr) in advert.addrs.iter().enumerate() {
                put(i, addr, out)?;
            }
        }
    }
    if advert.version == Version::V2 {
        let data = match advert.auth {
            Auth::None => [0u8; V2_AUTH_LEN],
            Auth::Simple(d) => d,
        };
        out[len - V2_AUTH_LEN..].copy_from_slice(&data);
    }
    let mut sum = checksum::sum(0, out);
    if advert.checksum == ChecksumForm::PseudoHeader && advert.version == Version::V3 {
        sum += checksum::pseudo_header(ctx.src, ctx.dst, IP_PROTO_VRRP, len);
    }
    out[field::CHECKSUM].copy_from_slice(&checksum::checksum(sum).to_be_bytes());
    Ok(len)
}

#[cfg(test)]
mod tests;
