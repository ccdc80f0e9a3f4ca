//! A small deterministic PRNG (SplitMix64) seeded by the host: the same
//! seed gives the same shuffle, ports and IDs on every platform.

/// Deterministic random numbers from a host-chosen seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `[0, n)` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Rejection sampling keeps the distribution uniform.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// A random ID in Nomad's UUID format (8-4-4-4-12 lowercase hex).
    pub fn uuid(&mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Where the 32 nibbles go, around the dashes at 8, 13, 18 and 23.
        const AT: [usize; 32] = {
            let mut at = [0; 32];
            let (mut i, mut pos) = (0, 0);
            while i < 32 {
                if pos == 8 || pos == 13 || pos == 18 || pos == 23 {
                    pos += 1;
                }
                at[i] = pos;
                i += 1;
                pos += 1;
            }
            at
        };
        let a = self.next_u64();
        let b = self.next_u64();
        // The nibbles of `a` then `b`, most significant first, written in
        // place: no intermediate buffer.
        let mut out = [b'-'; 36];
        for i in 0..16 {
            let shift = 60 - 4 * i;
            out[AT[i]] = HEX[(a >> shift) as usize & 0xf];
            out[AT[16 + i]] = HEX[(b >> shift) as usize & 0xf];
        }
        // Hex digits and dashes: always UTF-8.
        std::str::from_utf8(&out).map_or_else(|_| String::new(), str::to_string)
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_well_formed() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        assert_eq!(a.next_u64(), b.next_u64());
        let id = a.uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        let mut c = Rng::new(42);
        c.next_u64();
        let (x, y) = (c.next_u64(), c.next_u64());
        let want = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            x >> 32,
            (x >> 16) & 0xffff,
            x & 0xffff,
            y >> 48,
            y & 0xffff_ffff_ffff
        );
        assert_eq!(id, want);
        let mut v: Vec<u32> = (0..10).collect();
        Rng::new(7).shuffle(&mut v);
        let mut w: Vec<u32> = (0..10).collect();
        Rng::new(7).shuffle(&mut w);
        assert_eq!(v, w);
        v.sort();
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        assert!((0..1000).all(|_| a.below(3) < 3));
    }
}
