//! Why a VRRP message does not parse ([`ParseError`], one variant per rule) or an advert does not
//! emit ([`EmitError`]).

use core::fmt;

#[allow(unused_imports)]
use super::*;

/// Why a packet is not a valid advertisement. Each variant names the rule that failed; the
/// engine counts each under a named statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Shorter than the 8-byte fixed header (RFC 5798 section 7.1: "at least the VRRP header").
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Version nibble is not 2 or 3.
    UnknownVersion(u8),
    /// A VRRPv2 packet over IPv6 (RFC 3768 is IPv4 only).
    V2OverIpv6,
    /// Type nibble is not 1 (ADVERTISEMENT), RFC 5798 section 5.2.2.
    UnknownType(u8),
    /// VRID 0 (RFC 5798 section 5.2.3: 1..=255).
    VridZero,
    /// Count of addresses is zero (RFC 5798 section 5.2.5: at least one).
    AddressCountZero,
    /// The payload is shorter than the header, `count` addresses and (v2) auth data.
    LengthMismatch {
        /// Bytes the declared content needs.
        needed: usize,
        /// Bytes received.
        len: usize,
    },
    /// v2 Adver Int of zero (RFC 3768 section 5.3.7; 0 would make every backup time out at once).
    V2IntervalZero,
    /// v3 Max Advertise Interval of zero.
    V3IntervalZero,
    /// v2 auth type 2 (IP AH, removed by RFC 3768) or any unknown type.
    UnsupportedAuthType(u8),
    /// The checksum matches none of the forms the policy accepts.
    Checksum {
        /// The checksum in the packet.
        received: u16,
    },
    /// IP source and destination are of different families.
    FamilyMismatch,
}

impl ParseError {
    /// A short stable name, used for counters, logs and `vigil-sim decode`.
    pub const fn rule(&self) -> &'static str {
        match self {
            ParseError::TooShort { .. } => "too_short",
            ParseError::UnknownVersion(_) => "unknown_version",
            ParseError::V2OverIpv6 => "v2_over_ipv6",
            ParseError::UnknownType(_) => "unknown_type",
            ParseError::VridZero => "vrid_zero",
            ParseError::AddressCountZero => "address_count_zero",
            ParseError::LengthMismatch { .. } => "length_mismatch",
            ParseError::V2IntervalZero => "v2_interval_zero",
            ParseError::V3IntervalZero => "v3_interval_zero",
            ParseError::UnsupportedAuthType(_) => "unsupported_auth_type",
            ParseError::Checksum { .. } => "checksum",
            ParseError::FamilyMismatch => "family_mismatch",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooShort { len } => {
                write!(f, "{len} bytes is shorter than the 8-byte VRRP header")
            }
            ParseError::UnknownVersion(v) => write!(f, "unknown VRRP version {v}"),
            ParseError::V2OverIpv6 => write!(f, "VRRPv2 is not defined over IPv6"),
            ParseError::UnknownType(t) => {
                write!(f, "unknown VRRP packet type {t} (only 1, ADVERTISEMENT)")
            }
            ParseError::VridZero => write!(f, "VRID 0 is not valid"),
            ParseError::AddressCountZero => write!(f, "address count is 0"),
            ParseError::LengthMismatch { needed, len } => {
                write!(f, "declared content needs {needed} bytes, packet has {len}")
            }
            ParseError::V2IntervalZero => write!(f, "VRRPv2 advertisement interval is 0"),
            ParseError::V3IntervalZero => write!(f, "VRRPv3 max advertise interval is 0"),
            ParseError::UnsupportedAuthType(t) => write!(f, "unsupported VRRPv2 auth type {t}"),
            ParseError::Checksum { received } => {
                write!(f, "checksum 0x{received:04x} matches no accepted form")
            }
            ParseError::FamilyMismatch => write!(f, "IP source and destination families differ"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why an advert could not be emitted. These are caller bugs or configuration errors that the
/// configuration layer rejects first; the emitter reports rather than panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// The buffer is shorter than [`Advert::encoded_len`].
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// No address, or more than 255.
    AddressCount(usize),
    /// An address of another family than the IP context, or v2 over IPv6.
    Family,
    /// The interval does not fit the version (v2 seconds with v3, zero, or above 4095 cs).
    Interval,
    /// VRID 0.
    VridZero,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooSmall { needed } => {
                write!(f, "buffer too small, need {needed} bytes")
            }
            EmitError::AddressCount(n) => write!(f, "{n} addresses (at most 255)"),
            EmitError::Family => write!(f, "address family does not match the IP context"),
            EmitError::Interval => write!(f, "interval does not fit the VRRP version"),
            EmitError::VridZero => write!(f, "VRID 0"),
        }
    }
}

impl std::error::Error for EmitError {}
