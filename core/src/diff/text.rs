//! [`DiffStr`], the string of diff names and values: a static name, a
//! short string kept inline, or a heap string. A big diff shows thousands
//! of fields, nearly all with short names and values; keeping those inline
//! spares two or three allocations (and frees) per field.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::gofmt;

/// The longest string kept inline (the enum is then as big as a `String`).
const INLINE: usize = 22;

/// An immutable string that behaves as a `&str` (equality, order, hash,
/// `Debug`, `Display` and serde are those of its text), whatever way it is
/// stored.
#[derive(Clone)]
pub struct DiffStr(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    /// The first `len` bytes are a whole `str` (copied from one).
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Heap(Box<str>),
}

impl DiffStr {
    /// The empty string.
    pub const fn new() -> Self {
        DiffStr(Repr::Static(""))
    }

    /// A static string, without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        DiffStr(Repr::Static(s))
    }

    /// A copy of `s`, inline when short enough.
    pub fn copy(s: &str) -> Self {
        if s.len() > INLINE {
            return DiffStr(Repr::Heap(s.into()));
        }
        let mut bytes = [0u8; INLINE];
        copy_short(&mut bytes[..s.len()], s.as_bytes());
        DiffStr(Repr::Inline {
            len: s.len() as u8,
            bytes,
        })
    }

    /// `field[key]`, the name of a map entry, inline when short enough.
    pub fn keyed(field: &str, key: &str) -> Self {
        let total = field.len() + key.len() + 2;
        if total > INLINE {
            return DiffStr::concat(&[field, "[", key, "]"]);
        }
        let mut bytes = [0u8; INLINE];
        let open = field.len();
        copy_short(&mut bytes[..open], field.as_bytes());
        bytes[open] = b'[';
        copy_short(&mut bytes[open + 1..total - 1], key.as_bytes());
        bytes[total - 1] = b']';
        DiffStr(Repr::Inline {
            len: total as u8,
            bytes,
        })
    }

    /// The concatenation of `parts`, inline when short enough.
    pub fn concat(parts: &[&str]) -> Self {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total <= INLINE {
            let mut bytes = [0u8; INLINE];
            let mut at = 0;
            for p in parts {
                bytes[at..at + p.len()].copy_from_slice(p.as_bytes());
                at += p.len();
            }
            return DiffStr(Repr::Inline {
                len: total as u8,
                bytes,
            });
        }
        let mut s = String::with_capacity(total);
        for p in parts {
            s.push_str(p);
        }
        DiffStr(Repr::Heap(s.into_boxed_str()))
    }

    /// `i` in decimal (always inline: at most 20 bytes), written in place
    /// two digits at a time.
    pub fn from_int(i: i64) -> Self {
        let mut bytes = [0u8; INLINE];
        let mut rest = i.unsigned_abs();
        let len = usize::from(i < 0) + gofmt::decimal_len(rest);
        if i < 0 {
            bytes[0] = b'-';
        }
        let mut at = len;
        while rest >= 100 {
            let pair = usize::try_from(rest % 100).unwrap_or_default() * 2;
            rest /= 100;
            at -= 2;
            bytes[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        if rest >= 10 {
            let pair = usize::try_from(rest).unwrap_or_default() * 2;
            bytes[at - 2..at].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        } else {
            bytes[at - 1] = b'0' + rest as u8;
        }
        DiffStr(Repr::Inline {
            len: len as u8,
            bytes,
        })
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            // Always valid: the bytes were copied from whole strs (or are
            // ASCII digits), so the fallback is never taken.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }
}

/// `00` to `99`, two bytes each.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// `dst.copy_from_slice(src)` for at most [`INLINE`] bytes, as two
/// overlapping fixed-size moves instead of a call to `memcpy` (most names
/// and values are a few bytes long, and the call costs more than the copy).
/// Always inlined: LLVM keeps it out of line otherwise, and the call then
/// costs as much as the copy again.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    debug_assert!(n == dst.len() && n <= INLINE);
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=15 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        _ => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
    }
}

impl Default for DiffStr {
    fn default() -> Self {
        DiffStr::new()
    }
}

impl Deref for DiffStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for DiffStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for DiffStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for DiffStr {
    fn from(s: &str) -> Self {
        DiffStr::copy(s)
    }
}

impl From<&String> for DiffStr {
    fn from(s: &String) -> Self {
        DiffStr::copy(s)
    }
}

impl From<String> for DiffStr {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            DiffStr::copy(&s)
        } else {
            DiffStr(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<DiffStr> for String {
    fn from(s: DiffStr) -> Self {
        match s.0 {
            Repr::Heap(s) => s.into_string(),
            _ => s.as_str().to_string(),
        }
    }
}

impl PartialEq for DiffStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for DiffStr {}

impl PartialOrd for DiffStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DiffStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for DiffStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

macro_rules! eq_text {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for DiffStr {
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }

        impl PartialEq<DiffStr> for $t {
            fn eq(&self, other: &DiffStr) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}

eq_text!(str, &str, String);

impl fmt::Debug for DiffStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for DiffStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl Serialize for DiffStr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DiffStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(DiffStr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_representation_is_its_text() {
        let long = "a string longer than twenty-two bytes";
        let cases = [
            (DiffStr::new(), ""),
            (DiffStr::from_static("Count"), "Count"),
            (DiffStr::from("value-1-2-3"), "value-1-2-3"),
            (
                DiffStr::from("exactly 22 bytes long."),
                "exactly 22 bytes long.",
            ),
            (DiffStr::from("ünïcødé ✓"), "ünïcødé ✓"),
            (DiffStr::from(long), long),
            (DiffStr::from(long.to_string()), long),
            (DiffStr::from("short".to_string()), "short"),
            (DiffStr::concat(&["Env", "[", "ENV_0", "]"]), "Env[ENV_0]"),
            (DiffStr::keyed("Env", "ENV_0"), "Env[ENV_0]"),
            (DiffStr::keyed("Env", ""), "Env[]"),
            (
                DiffStr::keyed("Meta", "exactly-16-bytes"),
                "Meta[exactly-16-bytes]",
            ),
            (
                DiffStr::keyed("Meta", "exactly-17-bytes!"),
                "Meta[exactly-17-bytes!]",
            ),
            (
                DiffStr::concat(&["Meta", "[", long, "]"]),
                "Meta[a string longer than twenty-two bytes]",
            ),
        ];
        for (s, text) in &cases {
            assert_eq!(s.as_str(), *text);
            assert_eq!(s, text);
            assert_eq!(format!("{s:?}"), format!("{text:?}"));
            assert_eq!(format!("{s}"), *text);
            assert_eq!(
                serde_json::to_string(s).ok(),
                serde_json::to_string(text).ok()
            );
            assert_eq!(String::from(s.clone()), *text);
        }
        for (a, x) in &cases {
            for (b, y) in &cases {
                assert_eq!(a == b, x == y);
                assert_eq!(a.cmp(b), x.cmp(y));
            }
        }
    }

    #[test]
    fn short_copies_of_every_length_are_exact() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            assert_eq!(DiffStr::copy(&text[..n]), &text[..n]);
            for k in 0..=n {
                let (field, key) = text[..n].split_at(k);
                assert_eq!(DiffStr::keyed(field, key), format!("{field}[{key}]"));
            }
        }
    }

    #[test]
    fn integers_render_like_to_string() {
        let mut cases = vec![i64::MAX, i64::MIN, i64::MIN + 1, 5_000_000_000];
        let mut power = 1i64;
        for _ in 0..19 {
            cases.extend([power - 1, power, power + 1, -power, 3 * power, -7 * power]);
            power = power.saturating_mul(10);
        }
        for i in cases {
            assert_eq!(DiffStr::from_int(i), i.to_string());
        }
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let s: DiffStr = serde_json::from_str("\"a\\\"b\"").expect("a string");
        assert_eq!(s, "a\"b");
    }
}
