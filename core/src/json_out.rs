//! A compact JSON encoder whose output is byte-identical to
//! `serde_json::to_vec`, written straight into a `Vec<u8>`.
//!
//! Why it exists: encoding the responses dominated large requests, and most
//! of that was `serde_json`'s per-byte escape table, consulted even for every
//! struct field name. This encoder checks eight bytes at a time and copies
//! the runs that need no escaping in one `extend_from_slice`. Every rule of
//! `serde_json`'s compact serializer is kept (the crate's tests compare the
//! two on generated and real values): integers through `itoa`, floats
//! through `zmij` with non-finite numbers as `null`, the same escapes, the
//! same map-key rules and errors, and `RawValue` copied verbatim. Errors are
//! `serde_json::Error`s with `serde_json`'s wording.

use std::fmt::{self, Display, Write as _};

use serde::ser::{self, Error as _, Impossible, Serialize};

pub use serde_json::Error;

type Result<T> = std::result::Result<T, Error>;

/// The struct name `serde_json::value::RawValue` serializes under; its one
/// field, of the same name, holds JSON text to copy as is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// `value` as compact JSON, the same bytes as `serde_json::to_vec`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// Appends `value` as compact JSON to `out`, the same bytes as
/// `serde_json::to_writer`. On error `out` holds a partial rendering.
pub fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<()> {
    value.serialize(&mut Encoder { out })
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

// --- strings -------------------------------------------------------------

use crate::swar::{first_special, special_bytes as escape_mask, ONES};

const SPACES: u64 = ONES * 0x20;

/// The eight bytes of `bytes` from `at` as a little-endian word.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The fewer than eight `bytes` as a little-endian word, padded with
/// spaces (which never need escaping). Two overlapping fixed-size loads
/// instead of a byte loop or a variable-length copy.
#[inline]
fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    debug_assert!(n < 8);
    let w = if n >= 4 {
        let mut lo = [0u8; 4];
        let mut hi = [0u8; 4];
        lo.copy_from_slice(&bytes[..4]);
        hi.copy_from_slice(&bytes[n - 4..]);
        u64::from(u32::from_le_bytes(lo)) | u64::from(u32::from_le_bytes(hi)) << (8 * (n - 4))
    } else if n >= 2 {
        let mut lo = [0u8; 2];
        let mut hi = [0u8; 2];
        lo.copy_from_slice(&bytes[..2]);
        hi.copy_from_slice(&bytes[n - 2..]);
        u64::from(u16::from_le_bytes(lo)) | u64::from(u16::from_le_bytes(hi)) << (8 * (n - 2))
    } else if n == 1 {
        u64::from(bytes[0])
    } else {
        0
    };
    // The overlapping lanes hold the same byte twice (OR keeps it); the
    // lanes from `n` up are zero and become spaces.
    w | SPACES << (8 * n)
}

/// Appends the first `n` (at most 8) bytes of `word`: one fixed-size
/// store and a truncation, cheaper than a `memcpy` call for a few bytes.
#[inline]
fn push_word(out: &mut Vec<u8>, word: u64, n: usize) {
    let len = out.len();
    out.extend_from_slice(&word.to_le_bytes());
    out.truncate(len + n);
}

/// Appends the escape sequence of `byte`, which needs one.
#[cold]
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Appends `s` escaped, without quotes, a word at a time. Only ASCII
/// bytes are escaped, so every multi-byte UTF-8 sequence is copied whole.
fn push_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = bytes.len();
    out.reserve(len + 8);
    let mut at = 0;
    while at < len {
        let (word, n) = if len - at >= 8 {
            (word_at(bytes, at), 8)
        } else {
            (short_word(&bytes[at..]), len - at)
        };
        let mask = escape_mask(word);
        if mask == 0 {
            push_word(out, word, n);
            at += n;
            continue;
        }
        let hit = first_special(mask);
        push_word(out, word, hit);
        push_escape(out, bytes[at + hit]);
        at += hit + 1;
    }
}

/// Up to eight `bytes` as a little-endian word padded with spaces.
#[inline]
fn word_upto8(bytes: &[u8]) -> u64 {
    if bytes.len() == 8 {
        word_at(bytes, 0)
    } else {
        short_word(bytes)
    }
}

/// At most 16 `bytes` as a little-endian `u128` (zero past the end), or
/// `None` if one needs escaping.
#[inline]
fn small_plain(bytes: &[u8]) -> Option<u128> {
    let n = bytes.len();
    debug_assert!(n <= 16);
    let (lo, hi) = if n <= 8 {
        (word_upto8(bytes), SPACES)
    } else {
        (word_at(bytes, 0), word_upto8(&bytes[8..]))
    };
    if escape_mask(lo) | escape_mask(hi) != 0 {
        return None;
    }
    let keep = u128::MAX.checked_shr(128 - 8 * n as u32).unwrap_or(0);
    Some((u128::from(lo) | u128::from(hi) << 64) & keep)
}

/// Appends the first `n` (at most 16) bytes of `v`, as [`push_word`].
#[inline]
fn push_u128(out: &mut Vec<u8>, v: u128, n: usize) {
    let len = out.len();
    out.extend_from_slice(&v.to_le_bytes());
    out.truncate(len + n);
}

/// Appends `s` quoted and escaped. Strings of up to 14 bytes with nothing
/// to escape, the common case, take one 16-byte store.
#[inline]
fn push_str(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n <= 14 {
        if let Some(body) = small_plain(s.as_bytes()) {
            let quoted = u128::from(b'"') | body << 8 | u128::from(b'"') << (8 * (n + 1));
            push_u128(out, quoted, n + 2);
            return;
        }
    }
    out.reserve(n + 2);
    out.push(b'"');
    push_str_contents(out, s);
    out.push(b'"');
}

/// Appends `,"key":` (no comma for the first field). Struct field names
/// are short and hardly ever need escaping (they are checked anyway): up
/// to 12 bytes, the whole `,"key":` is one 16-byte store.
#[inline]
fn push_key(out: &mut Vec<u8>, first: bool, key: &str) {
    let n = key.len();
    if n <= 12 {
        if let Some(body) = small_plain(key.as_bytes()) {
            // `"key":`, then a leading comma unless first.
            let quoted = u128::from(b'"') | body << 8 | 0x3a22_u128 << (8 * (n + 1));
            if first {
                push_u128(out, quoted, n + 3);
            } else {
                push_u128(out, u128::from(b',') | quoted << 8, n + 4);
            }
            return;
        }
    }
    out.reserve(n + 12);
    if first {
        out.push(b'"');
    } else {
        out.extend_from_slice(b",\"");
    }
    push_str_contents(out, key);
    out.extend_from_slice(b"\":");
}

// --- numbers -------------------------------------------------------------

#[inline]
fn push_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A finite float the way `serde_json` writes it.
#[inline]
fn push_finite<F: zmij::Float>(out: &mut Vec<u8>, v: F) {
    out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
}

/// Whether an element or entry has been written yet; `Empty` is a
/// collection declared empty, already closed when it was opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    First,
    Rest,
}

impl<'a, 'b> Encoder<'a> {
    fn open(&'b mut self, open: u8, close: u8, len: Option<usize>) -> Compound<'a, 'b> {
        self.out.push(open);
        let state = if len == Some(0) {
            self.out.push(close);
            State::Empty
        } else {
            State::First
        };
        Compound::Collection { enc: self, state }
    }

    /// `{"variant":` of an externally tagged enum variant.
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
    }
}

impl<'a, 'b> ser::Serializer for &'b mut Encoder<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        push_int(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        if v.is_finite() {
            push_finite(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        if v.is_finite() {
            push_finite(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<()> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.out.reserve(v.len() * 4 + 2);
        self.out.push(b'[');
        for (i, byte) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            push_int(self.out, *byte);
        }
        self.out.push(b']');
        Ok(())
    }
    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, 'b>> {
        Ok(self.open(b'[', b']', len))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>> {
        Ok(self.open(b'[', b']', Some(len)))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, 'b>> {
        Ok(self.open(b'[', b']', Some(len)))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>> {
        self.open_variant(variant);
        Ok(self.open(b'[', b']', Some(len)))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, 'b>> {
        Ok(self.open(b'{', b'}', len))
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'a, 'b>> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Compound::RawValue { enc: self });
        }
        Ok(self.open(b'{', b'}', Some(len)))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'b>> {
        self.open_variant(variant);
        Ok(self.open(b'{', b'}', Some(len)))
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<()> {
        self.out.push(b'"');
        push_display(self.out, value)?;
        self.out.push(b'"');
        Ok(())
    }
}

/// Appends `value`'s `Display` escaped, without quotes.
fn push_display<T: Display + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<()> {
    struct Escaping<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Escaping<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            push_str_contents(self.0, s);
            Ok(())
        }
    }
    // Writing into a Vec cannot fail, so an error here is the Display
    // impl's own (serde_json panics on it; an error is kinder).
    write!(Escaping(out), "{value}")
        .map_err(|_| Error::custom("a Display implementation returned an error"))
}

/// An array, object or raw value being written.
enum Compound<'a, 'b> {
    Collection {
        enc: &'b mut Encoder<'a>,
        state: State,
    },
    RawValue {
        enc: &'b mut Encoder<'a>,
    },
}

impl Compound<'_, '_> {
    #[inline]
    fn close(self, close: u8) -> Result<()> {
        match self {
            Compound::Collection { enc, state } => {
                if state != State::Empty {
                    enc.out.push(close);
                }
                Ok(())
            }
            Compound::RawValue { .. } => Ok(()),
        }
    }
}

/// serde_json's `ErrorCode::ExpectedSomeValue`, what it answers for a
/// misused `RawValue` token.
fn expected_raw_value() -> Error {
    Error::custom("expected value")
}

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

fn float_key_must_be_finite() -> Error {
    Error::custom("float key must be finite (got NaN or +/-inf)")
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        match self {
            Compound::Collection { enc, state } => {
                if *state != State::First {
                    enc.out.push(b',');
                }
                *state = State::Rest;
                value.serialize(&mut **enc)
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }
    #[inline]
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<()> {
        close_variant(self, b']')
    }
}

/// Closes the inner collection of a variant, then its `{"variant":…}`.
fn close_variant(c: Compound<'_, '_>, close: u8) -> Result<()> {
    match c {
        Compound::Collection { enc, state } => {
            if state != State::Empty {
                enc.out.push(close);
            }
            enc.out.push(b'}');
            Ok(())
        }
        Compound::RawValue { .. } => Err(expected_raw_value()),
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        match self {
            Compound::Collection { enc, state } => {
                if *state != State::First {
                    enc.out.push(b',');
                }
                *state = State::Rest;
                key.serialize(MapKey { out: enc.out })
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        match self {
            Compound::Collection { enc, .. } => {
                enc.out.push(b':');
                value.serialize(&mut **enc)
            }
            Compound::RawValue { .. } => Err(expected_raw_value()),
        }
    }
    #[inline]
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        match self {
            Compound::Collection { enc, state } => {
                push_key(enc.out, *state == State::First, key);
                *state = State::Rest;
                value.serialize(&mut **enc)
            }
            Compound::RawValue { enc } => {
                if key == RAW_VALUE_TOKEN {
                    value.serialize(RawFragment { out: enc.out })
                } else {
                    Err(expected_raw_value())
                }
            }
        }
    }
    #[inline]
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<()> {
        close_variant(self, b'}')
    }
}

/// Writes a map key: strings as strings, numbers and booleans quoted,
/// everything else refused, as serde_json's `MapKeySerializer` does.
struct MapKey<'o> {
    out: &'o mut Vec<u8>,
}

impl MapKey<'_> {
    fn quoted(self, f: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        self.out.push(b'"');
        f(self.out);
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.quoted(|out| out.extend_from_slice(if v { b"true" as &[u8] } else { b"false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.quoted(|out| push_int(out, v))
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(|out| push_finite(out, v))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(|out| push_finite(out, v))
    }
    fn serialize_char(self, v: char) -> Result<()> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<()> {
        self.out.push(b'"');
        push_display(self.out, value)?;
        self.out.push(b'"');
        Ok(())
    }
}

/// The inside of a `RawValue`: its JSON text, copied verbatim.
struct RawFragment<'o> {
    out: &'o mut Vec<u8>,
}

fn expected_raw() -> Error {
    Error::custom("expected RawValue")
}

impl ser::Serializer for RawFragment<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<()> {
        self.out.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<()> {
        self.serialize_str(&value.to_string())
    }
    fn serialize_bool(self, _v: bool) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_i8(self, _v: i8) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_i16(self, _v: i16) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_i32(self, _v: i32) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_i64(self, _v: i64) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_i128(self, _v: i128) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_u8(self, _v: u8) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_u16(self, _v: u16) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_u32(self, _v: u32) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_u64(self, _v: u64) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_u128(self, _v: u128) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_f32(self, _v: f32) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_f64(self, _v: f64) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_char(self, _v: char) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_none(self) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_unit(self) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(expected_raw())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(expected_raw())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(expected_raw())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(expected_raw())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(expected_raw())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(expected_raw())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(expected_raw())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(expected_raw())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{json, Map, Number, Value};

    use super::*;
    use std::result::Result;

    /// Both encoders' output of `v`, asserted equal; returned as text.
    fn same<T: Serialize + ?Sized>(v: &T) -> String {
        let ours = to_vec(v).expect("json_out encodes");
        let theirs = serde_json::to_vec(v).expect("serde_json encodes");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
        assert_eq!(ours, theirs);
        String::from_utf8(ours).expect("UTF-8")
    }

    fn escaped(s: &str) -> String {
        same(s)
    }

    #[test]
    fn every_ascii_byte_escapes_as_serde_json_does() {
        for b in 0u8..=0x7f {
            let s = (b as char).to_string();
            let want = match b {
                b'"' => "\"\\\"\"".to_string(),
                b'\\' => "\"\\\\\"".to_string(),
                b'\n' => "\"\\n\"".to_string(),
                b'\r' => "\"\\r\"".to_string(),
                b'\t' => "\"\\t\"".to_string(),
                0x08 => "\"\\b\"".to_string(),
                0x0c => "\"\\f\"".to_string(),
                0..=0x1f => format!("\"\\u{b:04x}\""),
                _ => format!("\"{}\"", b as char),
            };
            assert_eq!(escaped(&s), want, "byte {b:#04x}");
            // The same byte inside a longer string, at every word offset.
            for pad in 0..9 {
                let long = format!("{}{}{}", "a".repeat(pad), s, "z".repeat(9 - pad));
                escaped(&long);
            }
        }
    }

    #[test]
    fn named_escapes() {
        assert_eq!(escaped("\u{1f}"), r#""\u001f""#);
        assert_eq!(escaped("\u{0}"), r#""\u0000""#);
        assert_eq!(escaped("\u{7f}"), "\"\u{7f}\"");
        assert_eq!(escaped("a\"b\\c/d"), r#""a\"b\\c/d""#);
        assert_eq!(escaped(""), r#""""#);
        assert_eq!(escaped("\n\n\n\n\n\n\n\n\n"), r#""\n\n\n\n\n\n\n\n\n""#);
    }

    #[test]
    fn multi_byte_utf8_is_copied_whole() {
        assert_eq!(escaped("é"), "\"é\"");
        assert_eq!(escaped("日本語\n🚀\"x"), "\"日本語\\n🚀\\\"x\"");
        // Bytes >= 0x80 must never look like an escape to the word check:
        // U+2022 is E2 80 A2, U+00DC is C3 9C (0x9c ^ '\\' = 0xc0).
        assert_eq!(escaped("••••••••ÜÜÜÜ"), "\"••••••••ÜÜÜÜ\"");
        for c in [
            '\u{80}',
            '\u{a2}',
            '\u{dc}',
            '\u{7ff}',
            '\u{ffff}',
            '\u{10ffff}',
        ] {
            let s: String = std::iter::repeat_n(c, 9).collect();
            assert_eq!(escaped(&s), format!("\"{s}\""));
        }
    }

    #[test]
    fn an_escape_at_each_position_of_strings_up_to_40_bytes() {
        for len in 0..=40 {
            let plain = "x".repeat(len);
            assert_eq!(escaped(&plain), format!("\"{plain}\""));
            for at in 0..len {
                for esc in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                    let mut s = plain.clone();
                    s.replace_range(at..=at, &esc.to_string());
                    escaped(&s);
                }
                // Two escapes: at `at` and at the end.
                let mut s = plain.clone();
                s.replace_range(at..=at, "\"");
                s.push('\t');
                escaped(&s);
            }
        }
    }

    #[test]
    fn control_bytes_at_word_boundaries() {
        assert_eq!(escaped("1234567\u{1}"), r#""1234567\u0001""#);
        assert_eq!(escaped("12345678\u{1}"), r#""12345678\u0001""#);
        assert_eq!(escaped("1234567\u{1}\u{2}9"), r#""1234567\u0001\u00029""#);
        assert_eq!(escaped("abcdefghijklmno\"p"), r#""abcdefghijklmno\"p""#);
        // A byte just above the range next to a hit must stay literal
        // (the borrow of the word check only spills upward).
        assert_eq!(escaped("\u{1} !#[]"), r#""\u0001 !#[]""#);
        assert_eq!(escaped(" \u{0}\u{20}\u{21}"), r#"" \u0000 !""#);
    }

    #[test]
    fn struct_field_names_are_escaped_when_they_need_it() {
        #[derive(Serialize)]
        struct Odd {
            #[serde(rename = "a\"b")]
            quote: u8,
            #[serde(rename = "tab\there and a long tail")]
            tab: u8,
            #[serde(rename = "Plain")]
            plain: u8,
        }
        assert_eq!(
            same(&Odd {
                quote: 1,
                tab: 2,
                plain: 3
            }),
            r#"{"a\"b":1,"tab\there and a long tail":2,"Plain":3}"#
        );
    }

    /// A struct whose field names are chosen at run time (leaked to get
    /// the `&'static str` serde asks for).
    struct Fields(Vec<&'static str>);
    impl Serialize for Fields {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Fields", self.0.len())?;
            for (i, k) in self.0.iter().enumerate() {
                st.serialize_field(k, &i)?;
            }
            st.end()
        }
    }

    #[test]
    fn field_names_of_every_length_with_and_without_escapes() {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        // Up to 12 bytes a field name is one store; longer ones are not.
        for len in 0..=34 {
            let plain = "K".repeat(len);
            let one = Fields(vec![leak(plain.clone())]);
            assert_eq!(same(&one), format!("{{\"{plain}\":0}}"));
            let two = Fields(vec![leak("A".into()), leak(plain.clone())]);
            assert_eq!(same(&two), format!("{{\"A\":0,\"{plain}\":1}}"));
            for at in 0..len {
                for esc in ["\"", "\\", "\u{1}", "é"] {
                    let mut k = plain.clone();
                    k.replace_range(at..=at, esc);
                    same(&Fields(vec![leak(k.clone())]));
                    same(&Fields(vec![leak("B".into()), leak(k)]));
                }
            }
        }
    }

    #[test]
    fn floats() {
        assert_eq!(same(&0.0f64), "0.0");
        assert_eq!(same(&-0.0f64), "-0.0");
        assert_eq!(same(&1e300f64), "1e+300");
        assert_eq!(same(&5e-324f64), "5e-324");
        assert_eq!(same(&f64::NAN), "null");
        assert_eq!(same(&f64::INFINITY), "null");
        assert_eq!(same(&f64::NEG_INFINITY), "null");
        assert_eq!(same(&0.1f64), "0.1");
        assert_eq!(same(&f64::MAX), "1.7976931348623157e+308");
        assert_eq!(same(&1.5f32), "1.5");
        assert_eq!(same(&0.1f32), "0.1");
        assert_eq!(same(&f32::NAN), "null");
        assert_eq!(same(&f32::MIN_POSITIVE), "1.1754944e-38");
        assert_eq!(
            same(&vec![1.0f64, -2.5, 1e21, 1e-7]),
            "[1.0,-2.5,1e+21,1e-7]"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(same(&i64::MIN), "-9223372036854775808");
        assert_eq!(same(&u64::MAX), "18446744073709551615");
        assert_eq!(same(&i128::MIN), "-170141183460469231731687303715884105728");
        assert_eq!(same(&u128::MAX), "340282366920938463463374607431768211455");
        assert_eq!(same(&(-1i8, 2u16, -3i32, 4u32)), "[-1,2,-3,4]");
    }

    #[test]
    fn map_keys_follow_serde_json() {
        let ints: BTreeMap<i32, u8> = [(-1, 1), (7, 2)].into();
        assert_eq!(same(&ints), r#"{"-1":1,"7":2}"#);
        let bools: BTreeMap<bool, u8> = [(false, 0), (true, 1)].into();
        assert_eq!(same(&bools), r#"{"false":0,"true":1}"#);
        let chars: BTreeMap<char, u8> = [('"', 0)].into();
        assert_eq!(same(&chars), r#"{"\"":0}"#);
        let mut floats = serde_json::Map::new();
        floats.insert("x".into(), json!(1));
        assert_eq!(same(&floats), r#"{"x":1}"#);

        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum Unit {
            A,
        }
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        struct Id(String);
        let units: BTreeMap<Unit, u8> = [(Unit::A, 1)].into();
        assert_eq!(same(&units), r#"{"A":1}"#);
        let ids: BTreeMap<Id, u8> = [(Id("k\n".into()), 1)].into();
        assert_eq!(same(&ids), r#"{"k\n":1}"#);
        let opts: BTreeMap<Option<i32>, u8> = [(Some(3), 1)].into();
        assert_eq!(same(&opts), r#"{"3":1}"#);

        // Refused keys: the same message as serde_json's.
        let float_key = F64Key(f64::NAN);
        let mut m = BTreeMap::new();
        m.insert(float_key, 1);
        let ours = to_vec(&m).unwrap_err().to_string();
        let theirs = serde_json::to_vec(&m).unwrap_err().to_string();
        assert_eq!(ours, theirs);
        assert_eq!(ours, "float key must be finite (got NaN or +/-inf)");
        let fine: BTreeMap<F64Key, u8> = [(F64Key(2.5), 1)].into();
        assert_eq!(same(&fine), r#"{"2.5":1}"#);

        let none: BTreeMap<Option<i32>, u8> = [(None, 1)].into();
        let units: BTreeMap<(), u8> = [((), 1)].into();
        let seqs: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        for err in [
            to_vec(&none).unwrap_err(),
            to_vec(&units).unwrap_err(),
            to_vec(&seqs).unwrap_err(),
        ] {
            assert_eq!(err.to_string(), "key must be a string");
        }
        assert_eq!(
            serde_json::to_vec(&none).unwrap_err().to_string(),
            "key must be a string"
        );
    }

    /// An orderable f64 map key, to reach the float-key rules.
    #[derive(Serialize, PartialEq)]
    struct F64Key(f64);
    impl Eq for F64Key {}
    impl PartialOrd for F64Key {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for F64Key {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }

    #[test]
    fn enums_options_units_and_bytes() {
        #[derive(Serialize)]
        enum E {
            Unit,
            Newtype(u8),
            Tuple(u8, String),
            EmptyTuple(),
            Struct { a: u8, b: Option<u8> },
            EmptyStruct {},
        }
        #[derive(Serialize)]
        struct Skips {
            #[serde(skip_serializing_if = "Option::is_none")]
            gone: Option<u8>,
            #[serde(skip)]
            _never: u8,
            kept: Option<u8>,
            unit: (),
            #[serde(with = "serde_bytes_like")]
            bytes: Vec<u8>,
        }
        mod serde_bytes_like {
            pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(v)
            }
        }
        #[derive(Serialize)]
        struct Empty {}
        #[derive(Serialize)]
        struct UnitStruct;
        #[derive(Serialize)]
        struct Pair(u8, u8);

        let all = (
            vec![
                E::Unit,
                E::Newtype(1),
                E::Tuple(2, "t".into()),
                E::EmptyTuple(),
                E::Struct { a: 3, b: None },
                E::EmptyStruct {},
            ],
            Skips {
                gone: None,
                _never: 9,
                kept: None,
                unit: (),
                bytes: vec![0, 7, 255],
            },
            Empty {},
            UnitStruct,
            Pair(4, 5),
            'c',
            Vec::<u8>::new(),
            BTreeMap::<String, u8>::new(),
        );
        assert_eq!(
            same(&all),
            concat!(
                r#"[["Unit",{"Newtype":1},{"Tuple":[2,"t"]},{"EmptyTuple":[]},"#,
                r#"{"Struct":{"a":3,"b":null}},{"EmptyStruct":{}}],"#,
                r#"{"kept":null,"unit":null,"bytes":[0,7,255]},{},null,[4,5],"c",[],{}]"#
            )
        );
        let empty_bytes = Skips {
            gone: Some(1),
            _never: 0,
            kept: Some(2),
            unit: (),
            bytes: vec![],
        };
        assert_eq!(
            same(&empty_bytes),
            r#"{"gone":1,"kept":2,"unit":null,"bytes":[]}"#
        );
    }

    #[test]
    fn collect_str_escapes_what_it_formats() {
        struct Shown;
        impl std::fmt::Display for Shown {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a\"")?;
                writeln!(f, "{}", 42)
            }
        }
        impl Serialize for Shown {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        assert_eq!(same(&Shown), r#""a\"42\n""#);
        let keyed: BTreeMap<u8, ()> = BTreeMap::new();
        assert_eq!(same(&keyed), "{}");
        struct KeyedByShown;
        impl Serialize for KeyedByShown {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry(&Shown, &1)?;
                m.serialize_entry("b", &2)?;
                m.end()
            }
        }
        assert_eq!(same(&KeyedByShown), r#"{"a\"42\n":1,"b":2}"#);
    }

    #[test]
    fn raw_values_are_copied_verbatim() {
        let raw = serde_json::value::RawValue::from_string(r#"{ "a" : [1, 2] }"#.into())
            .expect("valid JSON");
        assert_eq!(same(&raw), r#"{ "a" : [1, 2] }"#);
        assert_eq!(
            same(&json!({"x": [1]}).as_object().map(|_| vec![&raw, &raw])),
            r#"[{ "a" : [1, 2] },{ "a" : [1, 2] }]"#
        );
    }

    #[test]
    fn to_writer_appends() {
        let mut out = b"{\"ok\":".to_vec();
        to_writer(&mut out, &json!({"a": "b"})).expect("encodes");
        assert_eq!(out, br#"{"ok":{"a":"b"}"#);
    }

    #[test]
    fn values_keep_insertion_order() {
        let v = json!({"z": 1, "a": [true, false, null, -1, 2.5, "s"], "m": {}});
        assert_eq!(
            same(&v),
            r#"{"z":1,"a":[true,false,null,-1,2.5,"s"],"m":{}}"#
        );
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9 \"\\\\\\x00-\\x1f\u{7f}-\u{ff}é🚀]{0,40}",
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<u64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
            arb_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((arb_string(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_encodes_as_serde_json_does(v in arb_value()) {
            let ours = to_vec(&v).expect("encodes");
            prop_assert_eq!(&ours, &serde_json::to_vec(&v).expect("encodes"));
            let back: Value = serde_json::from_slice(&ours).expect("valid JSON");
            // NaN never appears: from_f64 refused it above.
            prop_assert_eq!(back, v);
        }

        #[test]
        fn any_string_escapes_as_serde_json_does(s in arb_string()) {
            prop_assert_eq!(to_vec(&s).expect("encodes"), serde_json::to_vec(&s).expect("encodes"));
        }

        #[test]
        fn any_float_encodes_as_serde_json_does(f in any::<f64>(), g in any::<f32>()) {
            prop_assert_eq!(to_vec(&f).expect("encodes"), serde_json::to_vec(&f).expect("encodes"));
            prop_assert_eq!(to_vec(&g).expect("encodes"), serde_json::to_vec(&g).expect("encodes"));
        }
    }
}
