//! Wire formats, in smoltcp's shape: each format is a module with a `field` module of byte
//! ranges, views over a byte buffer with getters (and setters where something writes the
//! format), and typed forms to parse into and emit from. No byte offset of a VRRP, ARP or
//! neighbour-advertisement field is written anywhere else in the workspace: vigild, the
//! simulator and the fuzz harness read and write through these modules.
//!
//! * [`vrrp`]: VRRP advertisements (RFC 5798 section 5.1, RFC 3768 section 5.3), the codec every
//!   runner sends with. Its items are re-exported here (`wire::parse`, `wire::emit`, ...).
//! * [`checksum`]: the one one's-complement sum (RFC 1071) with the IPv4 and IPv6 pseudo-header
//!   forms.
//! * [`ipv4`]: the IPv4 header a runner builds itself (the simulator's pcaps, vigild's
//!   packet-socket adverts).
//! * [`ethernet`], [`arp`], [`ndisc`]: the gratuitous ARP and unsolicited neighbour
//!   advertisement frames a new MASTER announces its addresses with (RFC 5798 section 6.4).

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ndisc;
pub mod vrrp;

pub use vrrp::*;
