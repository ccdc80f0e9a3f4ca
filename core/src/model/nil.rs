//! Go's nil-vs-empty encoding: Nomad renders nil slices and maps as `null`
//! and canonicalizes empty ones to nil, so an empty collection is `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serializes an empty `Vec` as `null` (a Go nil slice).
pub fn vec<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    if v.is_empty() {
        s.serialize_none()
    } else {
        v.serialize(s)
    }
}

/// Serializes an empty map-like value as `null` (a Go nil map).
pub fn map<M, S>(m: &M, s: S) -> Result<S::Ok, S::Error>
where
    M: Serialize,
    for<'a> &'a M: IntoIterator,
    S: Serializer,
{
    if m.into_iter().next().is_none() {
        s.serialize_none()
    } else {
        m.serialize(s)
    }
}

/// Deserializes `null` or a missing value as the empty collection, with
/// no spare capacity (see [`Compact`]).
pub fn or_default<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: Deserialize<'de> + Default + Compact,
    D: Deserializer<'de>,
{
    let mut v = Option::<T>::deserialize(d)?.unwrap_or_default();
    v.compact();
    Ok(v)
}

/// Drops the spare capacity a decoded collection was left with. A decoded
/// `Vec` grows to at least 4 slots, so one task group of one task would
/// otherwise keep room for 4 × 4 tasks: most of a small stored job's heap,
/// decoded twice per job (snapshot and log) on every restart.
pub trait Compact {
    fn compact(&mut self) {}
}

impl<T> Compact for Vec<T> {
    fn compact(&mut self) {
        self.shrink_to_fit();
    }
}

impl<K, V> Compact for std::collections::BTreeMap<K, V> {}

impl<K, V> Compact for serde_json::Map<K, V> {}

impl<K, V> Compact for super::VecMap<K, V> {
    fn compact(&mut self) {
        self.shrink_to_fit();
    }
}

/// `[]byte` fields: base64 in JSON, `null` when empty.
pub mod bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            s.serialize_none()
        } else {
            s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(s) => decode_go(&s).map_err(serde::de::Error::custom),
        }
    }

    /// Standard base64 with Go's error text
    /// (`illegal base64 data at input byte <n>`).
    pub fn decode_go(s: &str) -> Result<Vec<u8>, String> {
        use base64::DecodeError;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| {
                let at = match e {
                    DecodeError::InvalidByte(at, _) | DecodeError::InvalidLastSymbol(at, _) => at,
                    DecodeError::InvalidLength(len) => len - len % 4,
                    DecodeError::InvalidPadding => s.find('=').unwrap_or(0),
                };
                format!("illegal base64 data at input byte {at}")
            })
    }
}
