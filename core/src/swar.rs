//! Eight bytes at a time: the string bytes JSON treats specially, found
//! with word arithmetic (shared by the decoder's tape and the encoder).

/// `0x01` in every byte.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that ends a run of plain string
/// text: a control byte below 0x20, `"` or `\`. Bits *above* the lowest
/// true one may be spurious (the subtractions borrow upward), so the lowest
/// set bit is always exact and zero means "no such byte".
#[inline]
pub(crate) fn special_bytes(word: u64) -> u64 {
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let q = word ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = word ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGHS
}

/// The index (0..8) of the first special byte of a little-endian `word`
/// whose [`special_bytes`] are `mask` (not zero).
#[inline]
pub(crate) fn first_special(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special(b: u8) -> bool {
        b < 0x20 || b == b'"' || b == b'\\'
    }

    /// Every byte value at every lane, with plain or special neighbours:
    /// the first special byte is found exactly.
    #[test]
    fn the_first_special_byte_is_exact() {
        for fill in [b'a', 0x00, b'"', 0xff, 0x1f, 0x20, 0x80] {
            for lane in 0..8 {
                for v in 0..=255u8 {
                    let mut bytes = [b'a'; 8];
                    bytes[lane] = v;
                    // Lanes above `lane` hold `fill`, which may be special.
                    for b in bytes.iter_mut().skip(lane + 1) {
                        *b = fill;
                    }
                    let want = bytes.iter().position(|&b| special(b));
                    let mask = special_bytes(u64::from_le_bytes(bytes));
                    let got = (mask != 0).then(|| first_special(mask));
                    assert_eq!(got, want, "{bytes:?}");
                }
            }
        }
    }
}
