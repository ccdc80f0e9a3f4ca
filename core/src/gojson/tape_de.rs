//! Go's decoding rules over a [`Tape`]: the same field matching, null
//! handling and type errors as the tree decoder, without building a tree.

use std::borrow::Cow;
use std::cell::Cell;

use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::Number;

use super::tape::{self, Kind, Tape, Token};
use super::{Ctx, GoJsonError, PathLink};
use crate::fork::{map_halves, Fork};

pub(super) fn decode<T: DeserializeOwned>(
    tape: &Tape<'_>,
    root: &'static str,
) -> Result<T, GoJsonError> {
    T::deserialize(GoDe {
        tape,
        at: 0,
        ctx: root_ctx(root),
        hole: NoHole,
    })
}

fn root_ctx(root: &'static str) -> Ctx<'static> {
    Ctx {
        struct_name: "",
        path: None,
        field: "",
        root,
    }
}

/// Decodes like [`decode`], except that the array at the struct field path
/// `path` is left out of `T` and decoded by itself, its elements' two
/// halves over `fork` when it has at least `min` of them. `None` when any
/// part fails (or the value there is not an array): the caller decodes
/// again with [`decode`] for Go's first error.
pub(super) fn decode_split<T: DeserializeOwned, E: DeserializeOwned + Send>(
    tape: &Tape<'_>,
    root: &'static str,
    path: &'static [&'static str],
    min: usize,
    fork: &impl Fork,
) -> Option<(T, Option<Vec<E>>)> {
    let hole = Hole {
        path,
        found: Cell::new(None),
    };
    let value = T::deserialize(GoDe {
        tape,
        at: 0,
        ctx: root_ctx(root),
        hole: &hole,
    })
    .ok()?;
    let Some(at) = hole.found.get() else {
        return Some((value, None));
    };
    let array = tape.token(at);
    if array.kind != Kind::Array {
        return None;
    }
    let mut starts = Vec::with_capacity(array.count as usize);
    let mut next = at + 1;
    for _ in 0..array.count {
        starts.push(next);
        next = tape.skip(next);
    }
    let items = map_halves(fork, &starts, min, |&at| {
        E::deserialize(GoDe {
            tape,
            at,
            ctx: root_ctx(root),
            hole: NoHole,
        })
    });
    let items: Result<Vec<E>, GoJsonError> = items.into_iter().collect();
    Some((value, Some(items.ok()?)))
}

/// A struct field path whose value [`decode_split`] decodes apart: the
/// first pass reads it as absent and notes where it is.
struct Hole {
    path: &'static [&'static str],
    found: Cell<Option<usize>>,
}

impl Hole {
    /// Whether the field path `link`, from the root, is this hole's
    /// path (`Some(true)`), leads towards it (`Some(false)`), or leads
    /// elsewhere (`None`: nothing under it needs the hole).
    fn lies_on(&self, link: &PathLink<'_>) -> Option<bool> {
        let mut depth = 0;
        let mut l = Some(link);
        while let Some(at) = l {
            depth += 1;
            l = at.parent;
        }
        if depth > self.path.len() {
            return None;
        }
        let mut l = Some(link);
        for field in self.path[..depth].iter().rev() {
            match l {
                Some(at) if at.field == *field => l = at.parent,
                _ => return None,
            }
        }
        Some(depth == self.path.len())
    }
}

/// Where a decoder stands with respect to a [`Hole`]: `&Hole` on the
/// way from the root to it, [`NoHole`] anywhere else. A type rather than
/// an `Option` so that a decode without a hole carries and checks nothing.
trait HoleSlot: Copy {
    fn hole(&self) -> Option<&Hole>;
}

/// No hole to look for.
#[derive(Clone, Copy)]
struct NoHole;

impl HoleSlot for NoHole {
    #[inline(always)]
    fn hole(&self) -> Option<&Hole> {
        None
    }
}

impl HoleSlot for &Hole {
    #[inline(always)]
    fn hole(&self) -> Option<&Hole> {
        Some(self)
    }
}

/// `a == b`, looking at the length and first byte before comparing the
/// rest (most field names differ there).
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// The value at tape index `at`.
struct GoDe<'t, 'de, H> {
    tape: &'t Tape<'de>,
    at: usize,
    ctx: Ctx<'t>,
    /// `&Hole` on the way from the root to a [`Hole`] (struct fields only).
    hole: H,
}

/// Structs with at most this many declared fields resolve their members
/// into a buffer on the stack.
const INLINE_FIELDS: usize = 32;

impl<'de, H: HoleSlot> GoDe<'_, 'de, H> {
    fn token(&self) -> Token {
        self.tape.token(self.at)
    }

    /// A number token's value (the tape checked that it has one).
    fn number(&self, t: Token) -> Number {
        tape::number(self.tape.text(t)).unwrap_or_else(|| 0.into())
    }

    /// An escaped string's value (the tape checked its escapes).
    fn unescape(&self, t: Token) -> Result<String, GoJsonError> {
        match self.tape.string(t) {
            Ok(s) => Ok(s.into_owned()),
            Err(e) => Err(GoJsonError(e.to_string())),
        }
    }

    fn visit_string<V: Visitor<'de>>(&self, t: Token, visitor: V) -> Result<V::Value, GoJsonError> {
        match t.kind {
            Kind::Str => visitor.visit_borrowed_str(self.tape.text(t)),
            _ => visitor.visit_string(self.unescape(t)?),
        }
    }

    /// Hands the value to `visitor` as what it is (maps keep their keys).
    fn any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::False => visitor.visit_bool(false),
            Kind::True => visitor.visit_bool(true),
            Kind::Number => {
                let n = self.number(t);
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(0.0))
                }
            }
            Kind::Str | Kind::EscapedStr => self.visit_string(t, visitor),
            Kind::Array => de::Deserializer::deserialize_seq(self, visitor),
            Kind::Object => de::Deserializer::deserialize_map(self, visitor),
        }
    }

    fn type_error(&self, go_type: &str) -> GoJsonError {
        let t = self.token();
        let kind: Cow<'_, str> = match t.kind {
            Kind::Null => "null".into(),
            Kind::False | Kind::True => "bool".into(),
            Kind::Number => format!("number {}", self.number(t)).into(),
            Kind::Str | Kind::EscapedStr => "string".into(),
            Kind::Array => "array".into(),
            Kind::Object => "object".into(),
        };
        self.ctx.type_error(&kind, go_type)
    }

    /// The members of the object at `self.at`, resolved to the declared
    /// `fields` (exact match first, then ASCII case-insensitive, as Go
    /// does): the index of each chosen field and of its value, in document
    /// order of their last occurrence, nulls left out. Returns how many
    /// entries of `chosen` it filled; `chosen` must hold `fields.len()`.
    fn choose(
        &self,
        fields: &'static [&'static str],
        chosen: &mut [(u32, u32)],
    ) -> Result<usize, GoJsonError> {
        let t = self.token();
        let mut len = 0;
        // Fields chosen once (by index), so that only a repeated field costs
        // a search of the chosen list.
        let mut seen: u128 = 0;
        let mut at = self.at + 1;
        // Members usually come in the order the fields are declared, some
        // left out: look for an exact match from the field after the last
        // one on (field names are distinct, so the order of that search
        // does not matter).
        let mut next = 0;
        while at < t.end as usize {
            let key_token = self.tape.token(at);
            let value = at + 1;
            at = self.tape.skip(value);
            let unescaped;
            let key: &str = match key_token.kind {
                Kind::Str => self.tape.text(key_token),
                _ => {
                    unescaped = self.unescape(key_token)?;
                    &unescaped
                }
            };
            let exact = fields[next..]
                .iter()
                .position(|f| same(f, key))
                .map(|i| i + next)
                .or_else(|| fields[..next].iter().position(|f| same(f, key)));
            let Some(index) =
                exact.or_else(|| fields.iter().position(|f| f.eq_ignore_ascii_case(key)))
            else {
                continue;
            };
            next = index + 1;
            let bit = 1u128.checked_shl(index as u32).unwrap_or(0);
            if bit == 0 || seen & bit != 0 {
                if let Some(earlier) = chosen[..len].iter().position(|c| c.0 == index as u32) {
                    chosen.copy_within(earlier + 1..len, earlier);
                    len -= 1;
                }
            }
            seen |= bit;
            if self.tape.token(value).kind != Kind::Null {
                chosen[len] = (index as u32, value as u32);
                len += 1;
            }
        }
        Ok(len)
    }
}

impl<'de, H: HoleSlot> de::Deserializer<'de> for GoDe<'_, 'de, H> {
    type Error = GoJsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.any(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        match self.token().kind {
            Kind::False => visitor.visit_bool(false),
            Kind::True => visitor.visit_bool(true),
            _ => Err(self.type_error("bool")),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Number => match self.number(t).as_i64() {
                Some(i) => visitor.visit_i64(i),
                None => Err(self.type_error("int")),
            },
            _ => Err(self.type_error("int")),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Number => match self.number(t).as_u64() {
                Some(u) => visitor.visit_u64(u),
                None => Err(self.type_error("uint64")),
            },
            _ => Err(self.type_error("uint64")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Number => visitor.visit_f64(self.number(t).as_f64().unwrap_or(0.0)),
            _ => Err(self.type_error("float64")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Str | Kind::EscapedStr => self.visit_string(t, visitor),
            _ => Err(self.type_error("string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        match self.token().kind {
            Kind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GoJsonError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GoJsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Array => visitor.visit_seq(SeqAccess {
                tape: self.tape,
                at: self.at + 1,
                left: t.count as usize,
                ctx: self.ctx,
            }),
            Kind::Null => visitor.visit_seq(SeqAccess {
                tape: self.tape,
                at: self.at,
                left: 0,
                ctx: self.ctx,
            }),
            _ => Err(self.type_error("[]interface {}")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, GoJsonError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, GoJsonError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        let t = self.token();
        match t.kind {
            Kind::Object => visitor.visit_map(MemberAccess {
                tape: self.tape,
                at: self.at + 1,
                left: t.count as usize,
                value: None,
                ctx: self.ctx,
            }),
            Kind::Null => visitor.visit_map(MemberAccess {
                tape: self.tape,
                at: self.at,
                left: 0,
                value: None,
                ctx: self.ctx,
            }),
            _ => Err(self.type_error("map[string]string")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GoJsonError> {
        let mut inline = [(0u32, 0u32); INLINE_FIELDS];
        let mut heap = Vec::new();
        let chosen: &mut [(u32, u32)] = if fields.len() <= INLINE_FIELDS {
            &mut inline
        } else {
            heap.resize(fields.len(), (0, 0));
            &mut heap
        };
        let len = match self.token().kind {
            Kind::Object => self.choose(fields, chosen)?,
            Kind::Null => 0,
            _ => {
                let go = format!("api.{name}");
                return Err(self.type_error(&go));
            }
        };
        let ctx = Ctx {
            struct_name: name,
            ..self.ctx
        };
        visitor.visit_map(FieldAccess {
            tape: self.tape,
            fields,
            entries: chosen[..len].iter(),
            value: None,
            ctx,
            hole: self.hole,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GoJsonError> {
        self.any(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        visitor.visit_unit()
    }
}

/// The elements of an array, from tape index `at` on.
struct SeqAccess<'t, 'de> {
    tape: &'t Tape<'de>,
    at: usize,
    left: usize,
    ctx: Ctx<'t>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, 'de> {
    type Error = GoJsonError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, GoJsonError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let at = self.at;
        self.at = self.tape.skip(at);
        seed.deserialize(GoDe {
            tape: self.tape,
            at,
            ctx: self.ctx,
            hole: NoHole,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The members of an object decoded as a map, from tape index `at` on.
struct MemberAccess<'t, 'de> {
    tape: &'t Tape<'de>,
    at: usize,
    left: usize,
    /// The tape index of the value of the key just read.
    value: Option<usize>,
    ctx: Ctx<'t>,
}

impl<'de> de::MapAccess<'de> for MemberAccess<'_, 'de> {
    type Error = GoJsonError;

    fn next_key_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, GoJsonError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key = self.tape.token(self.at);
        let value = self.at + 1;
        self.at = self.tape.skip(value);
        self.value = Some(value);
        let key = self
            .tape
            .string(key)
            .map_err(|e| GoJsonError(e.to_string()))?;
        match key {
            Cow::Borrowed(k) => seed.deserialize(de::value::BorrowedStrDeserializer::new(k)),
            Cow::Owned(k) => seed.deserialize(de::value::StringDeserializer::new(k)),
        }
        .map(Some)
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, GoJsonError> {
        let Some(at) = self.value.take() else {
            return Err(GoJsonError("value requested before key".into()));
        };
        seed.deserialize(GoDe {
            tape: self.tape,
            at,
            ctx: self.ctx,
            hole: NoHole,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The chosen members of an object decoded as a struct: (field index,
/// tape index of the value).
struct FieldAccess<'t, 'de, H> {
    tape: &'t Tape<'de>,
    fields: &'static [&'static str],
    entries: std::slice::Iter<'t, (u32, u32)>,
    /// The field and value of the key just read.
    value: Option<(&'static str, usize)>,
    ctx: Ctx<'t>,
    hole: H,
}

impl<'de, H: HoleSlot> de::MapAccess<'de> for FieldAccess<'_, 'de, H> {
    type Error = GoJsonError;

    fn next_key_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, GoJsonError> {
        let Some(&(field, value)) = self.entries.next() else {
            return Ok(None);
        };
        let field = self.fields[field as usize];
        self.value = Some((field, value as usize));
        seed.deserialize(de::value::BorrowedStrDeserializer::new(field))
            .map(Some)
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, GoJsonError> {
        let Some((field, at)) = self.value.take() else {
            return Err(GoJsonError("value requested before key".into()));
        };
        let link = PathLink {
            field,
            parent: self.ctx.path,
        };
        let ctx = Ctx {
            path: Some(&link),
            field,
            ..self.ctx
        };
        // Below a field off the hole's path the hole is dropped, so the
        // rest of the decode does not look for it.
        if let Some(hole) = self.hole.hole() {
            match hole.lies_on(&link) {
                Some(true) => {
                    hole.found.set(Some(at));
                    return seed.deserialize(de::value::UnitDeserializer::new());
                }
                Some(false) => {
                    return seed.deserialize(GoDe {
                        tape: self.tape,
                        at,
                        ctx,
                        hole: self.hole,
                    })
                }
                None => {}
            }
        }
        seed.deserialize(GoDe {
            tape: self.tape,
            at,
            ctx,
            hole: NoHole,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
