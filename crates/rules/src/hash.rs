//! The hash behind the engine's string sets (`in` lists, `pmatch` prefixes, the event-type
//! index): FxHash, a multiply-rotate over eight bytes at a time, several times faster than the
//! standard SipHash on the short strings events carry. SipHash's resistance to flooding is not
//! needed: these tables are built once from the rules and only looked up with event values, so
//! what an event contains cannot lengthen any probe sequence.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash's multiplier (from Firefox and rustc).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            self.add(u64::from_le_bytes(*word));
            rest = tail;
        }
        if let Some((word, tail)) = rest.split_first_chunk::<4>() {
            self.add(u64::from(u32::from_le_bytes(*word)));
            rest = tail;
        }
        if let Some((word, tail)) = rest.split_first_chunk::<2>() {
            self.add(u64::from(u16::from_le_bytes(*word)));
            rest = tail;
        }
        if let [byte] = rest {
            self.add(u64::from(*byte));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// A set of strings looked up by event values.
pub(crate) type StrSet = HashSet<Box<str>, FxBuild>;

/// A map looked up by event values.
pub(crate) type StrMap<V> = HashMap<Box<str>, V, FxBuild>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_find_what_they_hold_and_only_that() {
        let set: StrSet = ["a", "/etc/shadow", "abcdefgh", "abcdefghi", ""]
            .into_iter()
            .map(Box::from)
            .collect();
        for s in ["a", "/etc/shadow", "abcdefgh", "abcdefghi", ""] {
            assert!(set.contains(s), "{s}");
        }
        for s in ["b", "/etc/shadow2", "abcdefg", "a\0"] {
            assert!(!set.contains(s), "{s}");
        }
    }
}
