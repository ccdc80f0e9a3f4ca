//! The two-pass decoder: serde_json parses the first value into a tree of
//! [`Node`]s, then [`GoDe`] walks it. Kept for bodies the tape refuses (its
//! serde_json errors give Go's syntax error texts) and for parsed values.

use std::borrow::Cow;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};

use super::{syntax_error_text, Ctx, GoJsonError, PathLink};

/// Decodes the first JSON value of `body` into `T` through a [`Node`] tree.
pub(super) fn from_slice<T: DeserializeOwned>(
    body: &[u8],
    root: &'static str,
) -> Result<T, GoJsonError> {
    // A body checked as UTF-8 once is parsed without checking each string.
    let first = match std::str::from_utf8(body) {
        Ok(text) => serde_json::Deserializer::from_str(text)
            .into_iter::<Node<'_>>()
            .next(),
        Err(_) => serde_json::Deserializer::from_slice(body)
            .into_iter::<Node<'_>>()
            .next(),
    };
    match first {
        None => Err(GoJsonError("EOF".into())),
        Some(Ok(node)) => decode(&node, root),
        Some(Err(e)) => Err(GoJsonError(syntax_error_text(body, &e))),
    }
}
pub(super) fn from_value<T: DeserializeOwned>(
    value: &Value,
    root: &'static str,
) -> Result<T, GoJsonError> {
    decode(&Node::of(value), root)
}

fn decode<T: DeserializeOwned>(node: &Node<'_>, root: &'static str) -> Result<T, GoJsonError> {
    T::deserialize(GoDe {
        v: node,
        ctx: Ctx {
            struct_name: "",
            path: None,
            field: "",
            root,
        },
    })
}
/// A parsed JSON value as Go's decoder sees it: object members stay in
/// document order with duplicates (the last one wins when decoded), and
/// strings without escapes borrow from the request body.
enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Borrows an already parsed value.
    fn of(v: &'a Value) -> Node<'a> {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(Cow::Borrowed(s)),
            Value::Array(items) => Node::Array(items.iter().map(Node::of).collect()),
            Value::Object(map) => Node::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::of(v)))
                    .collect(),
            ),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Node<'de>, E> {
        Number::from_f64(n)
            .map(Node::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(KeyStr(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Node::Object(members))
    }
}

/// An object key, borrowed from the body when it has no escapes.
struct KeyStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<KeyStr<'de>, E> {
                Ok(KeyStr(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<KeyStr<'de>, E> {
                Ok(KeyStr(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<KeyStr<'de>, E> {
                Ok(KeyStr(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}
struct GoDe<'a> {
    v: &'a Node<'a>,
    ctx: Ctx<'a>,
}

fn kind(v: &Node<'_>) -> String {
    match v {
        Node::Null => "null".into(),
        Node::Bool(_) => "bool".into(),
        Node::Number(n) => format!("number {n}"),
        Node::String(_) => "string".into(),
        Node::Array(_) => "array".into(),
        Node::Object(_) => "object".into(),
    }
}
impl GoDe<'_> {
    /// Hands the value to `visitor` as what it is (maps keep their keys).
    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        match self.v {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(0.0))
                }
            }
            Node::String(s) => visitor.visit_str(s),
            Node::Array(_) => de::Deserializer::deserialize_seq(self, visitor),
            Node::Object(_) => de::Deserializer::deserialize_map(self, visitor),
        }
    }

    fn type_error(&self, go_type: &str) -> GoJsonError {
        self.ctx.type_error(&kind(self.v), go_type)
    }
}

impl<'de, 'a> de::Deserializer<'de> for GoDe<'a> {
    type Error = GoJsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.any(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        match self.v {
            Node::Bool(b) => visitor.visit_bool(*b),
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
        match self.v {
            Node::Number(n) => match n.as_i64() {
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
        match self.v {
            Node::Number(n) => match n.as_u64() {
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
        match self.v {
            Node::Number(n) => visitor.visit_f64(n.as_f64().unwrap_or(0.0)),
            _ => Err(self.type_error("float64")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GoJsonError> {
        match self.v {
            Node::String(s) => visitor.visit_str(s),
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
        match self.v {
            Node::Null => visitor.visit_none(),
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
        match self.v {
            Node::Array(items) => visitor.visit_seq(SeqAccess {
                items: items.iter(),
                ctx: self.ctx,
            }),
            Node::Null => visitor.visit_seq(SeqAccess {
                items: [].iter(),
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
        match self.v {
            Node::Object(members) => visitor.visit_map(MapAccess {
                entries: members
                    .iter()
                    .map(|(k, v)| (Key::Plain(k), v))
                    .collect::<Vec<_>>()
                    .into_iter(),
                pending: None,
                ctx: self.ctx,
            }),
            Node::Null => visitor.visit_map(MapAccess {
                entries: Vec::new().into_iter(),
                pending: None,
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
        let map = match self.v {
            Node::Object(members) => Some(members),
            Node::Null => None,
            _ => {
                let go = format!("api.{name}");
                return Err(self.type_error(&go));
            }
        };
        // Resolve every key to a declared field (exact match first, then
        // ASCII case-insensitive, as Go does); the last occurrence wins.
        let mut chosen: Vec<(Key<'_>, &Node<'_>)> = Vec::with_capacity(map.map_or(0, |m| m.len()));
        // Fields already chosen once (by index), so that only a repeated
        // field costs a search of the chosen list.
        let mut seen: u128 = 0;
        for (key, value) in map.into_iter().flatten() {
            let key: &str = key;
            let Some(index) = fields
                .iter()
                .position(|f| *f == key)
                .or_else(|| fields.iter().position(|f| f.eq_ignore_ascii_case(key)))
            else {
                continue;
            };
            let field = fields[index];
            let bit = 1u128.checked_shl(index as u32).unwrap_or(0);
            if bit == 0 || seen & bit != 0 {
                chosen.retain(|(f, _)| !matches!(f, Key::Field(f) if *f == field));
            }
            seen |= bit;
            if !value.is_null() {
                chosen.push((Key::Field(field), value));
            }
        }
        let ctx = Ctx {
            struct_name: name,
            ..self.ctx
        };
        visitor.visit_map(MapAccess {
            entries: chosen.into_iter(),
            pending: None,
            ctx,
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

struct SeqAccess<'a> {
    items: std::slice::Iter<'a, Node<'a>>,
    ctx: Ctx<'a>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = GoJsonError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, GoJsonError> {
        match self.items.next() {
            None => Ok(None),
            Some(v) => seed.deserialize(GoDe { v, ctx: self.ctx }).map(Some),
        }
    }
}

#[derive(Clone, Copy)]
enum Key<'a> {
    /// A struct field: extends the error path and names the Go field.
    Field(&'static str),
    /// A key of a plain map.
    Plain(&'a str),
}

struct MapAccess<'a> {
    entries: std::vec::IntoIter<(Key<'a>, &'a Node<'a>)>,
    pending: Option<(Key<'a>, &'a Node<'a>)>,
    ctx: Ctx<'a>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = GoJsonError;

    fn next_key_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, GoJsonError> {
        match self.entries.next() {
            None => Ok(None),
            Some((k, v)) => {
                let name = match k {
                    Key::Field(f) => f,
                    Key::Plain(p) => p,
                };
                let key: de::value::StrDeserializer<'_, GoJsonError> = name.into_deserializer();
                let out = seed.deserialize(key).map(Some);
                self.pending = Some((k, v));
                out
            }
        }
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, GoJsonError> {
        let Some((k, v)) = self.pending.take() else {
            return Err(GoJsonError("value requested before key".into()));
        };
        match k {
            Key::Field(f) => {
                let link = PathLink {
                    field: f,
                    parent: self.ctx.path,
                };
                let ctx = Ctx {
                    path: Some(&link),
                    field: f,
                    ..self.ctx
                };
                seed.deserialize(GoDe { v, ctx })
            }
            Key::Plain(_) => seed.deserialize(GoDe { v, ctx: self.ctx }),
        }
    }
}
