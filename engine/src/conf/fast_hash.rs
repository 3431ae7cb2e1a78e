//! A hasher for the parser's own maps (keywords, instance names, VRIDs), and for any map whose
//! keys its owner makes (the fuzz harness's reload cache): their keys are short names from the
//! configuration file, which is trusted (a map that an attacker could fill with
//! colliding keys would need SipHash, `std`'s default). It takes eight bytes a step (FxHash's
//! scheme, the one rustc uses for its maps): FNV-1a took one byte a step, and SipHash costs
//! about 200 instructions per short key (callgrind, `vigild -t` on 1,000 instances).

/// The word-at-a-time hasher: for keys that no adversary chooses.
#[derive(Clone, Copy, Default)]
pub struct WordHasher(u64);

/// FxHash's multiplier.
const K: u64 = 0xf135_7aea_2e62_a9c5;

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl core::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        // The map takes its bucket from the low bits and its tag from the top ones: fold the
        // well-mixed high half into the low one.
        self.0 ^ (self.0 >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Byte by byte: a copy of a variable length was a `memcpy` call per key.
            let w = rest
                .iter()
                .rev()
                .fold(0u64, |w, &b| (w << 8) | u64::from(b));
            // The length keeps "a" and "a\0" apart.
            self.add(w ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// A `HashMap` with [`WordHasher`].
pub type FastMap<K, V> =
    std::collections::HashMap<K, V, core::hash::BuildHasherDefault<WordHasher>>;

/// A `HashSet` with [`WordHasher`].
pub type FastSet<K> = std::collections::HashSet<K, core::hash::BuildHasherDefault<WordHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::{BuildHasher, BuildHasherDefault};

    fn h(s: &str) -> u64 {
        BuildHasherDefault::<WordHasher>::default().hash_one(s)
    }

    #[test]
    fn distinct_short_keys_hash_apart() {
        // Every keyword of the table, and prefixes and padded forms of some.
        let mut seen = std::collections::HashMap::new();
        for k in super::super::keywords::KEYWORDS {
            for s in [k.name.to_string(), format!("{}\0", k.name)] {
                if let Some(prev) = seen.insert(h(&s), s.clone()) {
                    assert_eq!(prev, s, "collision");
                }
            }
        }
        assert_ne!(h(""), h("\0"));
        assert_ne!(h("a"), h("a\0"));
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut m: FastMap<&str, usize> = FastMap::default();
        let names: Vec<String> = (0..5000).map(|i| format!("VI_{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            m.insert(n, i);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(m.get(n.as_str()), Some(&i));
        }
        assert_eq!(m.get("VI_5000"), None);
    }
}
