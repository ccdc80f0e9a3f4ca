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

    /// A random ID in Nomad's UUID format (8-4-4-4-12 lowercase hex): the
    /// bytes of two draws, most significant first.
    pub fn uuid(&mut self) -> String {
        // Each byte's two hex digits, looked up at once.
        const HEX2: [[u8; 2]; 256] = {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut t = [[0; 2]; 256];
            let mut i = 0;
            while i < 256 {
                t[i] = [HEX[i >> 4], HEX[i & 0xf]];
                i += 1;
            }
            t
        };
        // Where the 16 bytes' digits go, around the dashes at 8, 13, 18
        // and 23.
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let a = self.next_u64().to_be_bytes();
        let b = self.next_u64().to_be_bytes();
        let mut out = [b'-'; 36];
        for (&at, &byte) in AT.iter().zip(a.iter().chain(&b)) {
            out[at..at + 2].copy_from_slice(&HEX2[usize::from(byte)]);
        }
        // Hex digits and dashes: always UTF-8. Checked on the heap copy,
        // whose word alignment lets the check take 16 bytes at a time.
        String::from_utf8(out.to_vec()).unwrap_or_default()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// The positions `0..n` in the order [`Rng::shuffle`] would put `n`
    /// items (the same draws: they depend on the length alone).
    pub fn shuffled_positions(&mut self, n: usize) -> Vec<u32> {
        let mut positions: Vec<u32> = (0..n as u32).collect();
        self.shuffle(&mut positions);
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_positions_are_the_shuffle_of_the_items() {
        // The generic pass draws its ring as positions before it preloads;
        // the nodes must come out as shuffling them directly would put them.
        for n in [0usize, 1, 2, 7, 1000] {
            let items: Vec<usize> = (0..n).map(|i| i * 31 + 5).collect();
            let mut direct = items.clone();
            Rng::new(99).shuffle(&mut direct);
            let positions = Rng::new(99).shuffled_positions(n);
            let via: Vec<usize> = positions.iter().map(|&p| items[p as usize]).collect();
            assert_eq!(via, direct, "n={n}");
        }
    }

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
