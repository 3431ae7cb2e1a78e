//! The Internet checksum (RFC 1071): the one one's-complement sum of the workspace, with the
//! pseudo-header forms of IPv4 (RFC 768 style, as RFC 5798 section 5.2.8 uses it) and IPv6
//! (RFC 8200 section 8.1). The VRRP codec, the ICMPv6 neighbour advertisement
//! ([`super::ndisc`]), the simulator's IPv4 headers and the fuzz harness all sum with it.
//!
//! A sum is kept unfolded in a `u64` ([`sum`], [`pseudo_header`]) so that pieces can be added
//! in any order; only [`fold`] of it is meaningful, and [`checksum`] is the value a header
//! carries (the complement of the fold).

use std::net::IpAddr;

/// Sum of big-endian 16-bit words of `data` (odd length padded with a zero byte) added to `acc`,
/// unfolded: only [`fold`] of it (or of sums of it) is meaningful. It adds 32-bit words where it
/// can (half the additions): 2^16 = 1 modulo 0xffff, so a 32-bit word is congruent to the sum of
/// its two 16-bit halves, the accumulator stays congruent to the 16-bit sum, and zero exactly
/// when it is; [`fold`] maps both to the same value.
#[inline]
pub fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let mut chunks = words.remainder().chunks_exact(2);
    for c in &mut chunks {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

/// Fold a one's-complement accumulator to 16 bits. A message whose sum (checksum field
/// included) folds to 0xffff is intact.
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum field value for an accumulated sum: the complement of its fold.
#[inline]
pub fn checksum(acc: u64) -> u16 {
    !fold(acc)
}

/// Sum of the pseudo-header of an upper-layer message of `len` bytes and protocol `proto` sent
/// from `src` to `dst`: the IPv4 form (addresses, zero, protocol, 16-bit length) or the IPv6 form
/// (addresses, 32-bit length, zeros, next header). Both sum the same for lengths below 64 KiB.
/// `src` and `dst` of different families sum each address in its own form.
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u64 {
    let mut acc = 0u64;
    for addr in [src, dst] {
        acc = match addr {
            // One 32-bit word (see `sum`).
            IpAddr::V4(a) => acc + u64::from(a.to_bits()),
            IpAddr::V6(a) => sum(acc, &a.octets()),
        };
    }
    // Upper-layer length (32 bits for IPv6, 16 for IPv4) and the protocol number in the low byte
    // of a zero-padded word.
    acc + (len as u64 & 0xffff) + (len as u64 >> 16) + u64::from(proto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The straightforward RFC 1071 sum, 16 bits at a time, to check the 32-bit shortcut.
    fn reference(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for c in data.chunks(2) {
            let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
            acc += u32::from(w);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
        assert_eq!(
            fold(sum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
    }

    #[test]
    fn an_ipv4_header_with_its_checksum_verifies() {
        let mut h = [
            0x45, 0xc0, 0, 40, 0, 1, 0, 0, 255, 112, 0, 0, 192, 0, 2, 11, 224, 0, 0, 18,
        ];
        let c = checksum(sum(0, &h));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(fold(sum(0, &h)), 0xffff);
    }

    proptest! {
        /// The sum over 32-bit words folds to the RFC 1071 sum over 16-bit words, whatever the
        /// bytes, the length (odd, not a multiple of 4) and the accumulator carried in.
        #[test]
        fn word_sum_folds_like_the_16_bit_sum(data in proptest::collection::vec(any::<u8>(), 0..80), acc in 0u64..0x1_0000_0000) {
            let mut reference = acc;
            for pair in data.chunks(2) {
                reference += u64::from(u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]));
            }
            prop_assert_eq!(fold(sum(acc, &data)), fold(reference));
        }

        #[test]
        fn the_32_bit_sum_folds_like_rfc1071(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let ours = fold(sum(0, &data));
            let want = reference(&data);
            // 0x0000 and 0xffff are the same number in one's complement; the wide sum only
            // reaches 0 for all-zero input, like the reference.
            prop_assert_eq!(ours, want);
        }
    }
}
