//! Decoding request bodies the way Go's `encoding/json` does: only the
//! first JSON value is read, object keys match struct fields
//! case-insensitively, unknown keys and `null`s are ignored, and errors carry
//! Go's texts (`EOF`, `unexpected EOF`, `json: cannot unmarshal …`).

use std::borrow::Cow;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};

/// A decoding failure, rendered with Go's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GoJsonError(pub String);

impl de::Error for GoJsonError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        GoJsonError(msg.to_string())
    }
}

/// Decodes the first JSON value of `body` into `T` (`root` is the Go type
/// name used in top-level type errors, e.g. `api.JobRegisterRequest`).
pub fn from_slice<T: DeserializeOwned>(body: &[u8], root: &'static str) -> Result<T, GoJsonError> {
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

/// Reads the first JSON value of `body`, ignoring whatever follows it, as
/// `json.Decoder.Decode` does.
pub fn first_value(body: &[u8]) -> Result<Value, GoJsonError> {
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    match stream.next() {
        None => Err(GoJsonError("EOF".into())),
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(GoJsonError(syntax_error_text(body, &e))),
    }
}

/// Decodes an already parsed value with Go's field matching.
pub fn from_value<T: DeserializeOwned>(
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

fn syntax_error_text(body: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected EOF".into();
    }
    // Locate the offending byte from serde_json's line/column.
    let offset = byte_offset(body, e.line(), e.column());
    match body.get(offset.saturating_sub(1)) {
        Some(&b) if e.is_syntax() => {
            format!(
                "invalid character {} {}",
                go_quote_char(b),
                syntax_context(body, offset)
            )
        }
        _ => e.to_string(),
    }
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut current = 1;
    let mut start = 0;
    for (i, b) in body.iter().enumerate() {
        if current == line {
            break;
        }
        if *b == b'\n' {
            current += 1;
            start = i + 1;
        }
    }
    (start + column).min(body.len())
}

fn go_quote_char(b: u8) -> String {
    match b {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("'\\x{b:02x}'"),
    }
}

/// Go's scanner names what it was looking for; approximate it from the last
/// significant byte before the error.
fn syntax_context(body: &[u8], offset: usize) -> &'static str {
    let before = body[..offset.saturating_sub(1)]
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace());
    match before {
        Some(b'{') => "looking for beginning of object key string",
        Some(b',') | Some(b':') | Some(b'[') | None => "looking for beginning of value",
        Some(b'"') => "after object key",
        _ => "after object key:value pair",
    }
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

/// One field of the path from the root to the value being decoded, kept on
/// the stack of the decoding calls and joined only for an error message.
struct PathLink<'p> {
    field: &'static str,
    parent: Option<&'p PathLink<'p>>,
}

/// The dotted field path from the root (`Job.TaskGroups.Count`).
fn dotted(mut link: Option<&PathLink<'_>>) -> String {
    let mut fields = Vec::new();
    while let Some(l) = link {
        fields.push(l.field);
        link = l.parent;
    }
    fields.reverse();
    fields.join(".")
}

#[derive(Clone, Copy)]
struct Ctx<'p> {
    /// Go name of the innermost struct being decoded.
    struct_name: &'static str,
    /// The innermost struct field on the way to the value.
    path: Option<&'p PathLink<'p>>,
    /// The field being decoded (selects Go type names).
    field: &'static str,
    root: &'static str,
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

/// Go type names of fields whose Rust type does not tell them apart.
fn go_type_of_field(field: &str, fallback: &str) -> String {
    const DURATIONS: &[&str] = &[
        "Interval",
        "Timeout",
        "Stagger",
        "MinHealthyTime",
        "HealthyDeadline",
        "KillTimeout",
        "ShutdownDelay",
        "Delay",
        "Splay",
        "VaultGrace",
        "Wait",
    ];
    const UINT64: &[&str] = &[
        "Version",
        "CreateIndex",
        "ModifyIndex",
        "JobModifyIndex",
        "JobVersion",
        "EnforcePriorVersion",
    ];
    const STRING_LISTS: &[&str] = &[
        "Datacenters",
        "MetaRequired",
        "MetaOptional",
        "Tags",
        "Args",
        "Policies",
    ];
    if DURATIONS.contains(&field) {
        "time.Duration".into()
    } else if UINT64.contains(&field) {
        "uint64".into()
    } else if field == "SubmitTime" {
        "int64".into()
    } else if STRING_LISTS.contains(&field) {
        "[]string".into()
    } else {
        fallback.into()
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
        let go_type = go_type_of_field(self.ctx.field, go_type);
        if self.ctx.struct_name.is_empty() {
            GoJsonError(format!(
                "json: cannot unmarshal {} into Go value of type {}",
                kind(self.v),
                if self.ctx.root.is_empty() {
                    &go_type
                } else {
                    self.ctx.root
                }
            ))
        } else {
            GoJsonError(format!(
                "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
                kind(self.v),
                self.ctx.struct_name,
                dotted(self.ctx.path),
                go_type
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename = "TaskGroup")]
    struct Group {
        #[serde(rename = "Name")]
        name: Option<String>,
        #[serde(rename = "Count")]
        count: Option<i64>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename = "Job")]
    struct Job {
        #[serde(rename = "ID")]
        id: Option<String>,
        #[serde(rename = "TaskGroups")]
        task_groups: Option<Vec<Group>>,
        #[serde(rename = "Meta")]
        meta: Option<std::collections::BTreeMap<String, String>>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename = "JobRegisterRequest")]
    struct Req {
        #[serde(rename = "Job")]
        job: Option<Job>,
    }

    #[test]
    fn keys_match_case_insensitively_and_last_wins() {
        let r: Req = from_slice(
            br#"{"job":{"id":"a","ID":"b","meta":{"Key":"v"},"Bogus":1}}"#,
            "api.JobRegisterRequest",
        )
        .unwrap();
        let job = r.job.unwrap();
        assert_eq!(job.id.as_deref(), Some("b"));
        assert_eq!(job.meta.unwrap().get("Key").map(String::as_str), Some("v"));
    }

    #[test]
    fn the_last_member_in_document_order_wins() {
        let r: Req = from_slice(
            br#"{"Job":{"ID":"a","id":"b","ID":"c","Meta":{"k":"1","k":"2"}}}"#,
            "api.JobRegisterRequest",
        )
        .unwrap();
        let job = r.job.unwrap();
        assert_eq!(job.id.as_deref(), Some("c"));
        assert_eq!(job.meta.unwrap()["k"], "2");
        // A later null clears an earlier value (the fields are pointers in Go).
        let r: Req =
            from_slice(br#"{"Job":{"ID":"a","id":null}}"#, "api.JobRegisterRequest").unwrap();
        assert_eq!(r.job.unwrap().id, None);
        // Not UTF-8: refused, not decoded.
        assert!(
            from_slice::<Req>(b"{\"Job\":{\"ID\":\"\xff\"}}", "api.JobRegisterRequest").is_err()
        );
    }

    #[test]
    fn escaped_strings_and_free_form_values_decode() {
        #[derive(Debug, Deserialize)]
        #[serde(rename = "Task")]
        struct Task {
            #[serde(rename = "Name")]
            name: Option<String>,
            #[serde(rename = "Config")]
            config: Option<serde_json::Map<String, Value>>,
        }
        let body = br#"{"name":"a\u0062\"c","Config":{"n":-3,"u":7,"f":1.5,"l":[true,null,"x\n"],"m":{"k":{}}}}"#;
        let t: Task = from_slice(body, "api.Task").unwrap();
        assert_eq!(t.name.as_deref(), Some("ab\"c"));
        let config = Value::Object(t.config.unwrap());
        assert_eq!(
            config,
            serde_json::json!({"n": -3, "u": 7, "f": 1.5, "l": [true, null, "x\n"], "m": {"k": {}}})
        );
        // The same through an already parsed value.
        let parsed: Value = serde_json::from_slice(body).unwrap();
        let again: Task = from_value(&parsed, "api.Task").unwrap();
        assert_eq!(Value::Object(again.config.unwrap()), config);
    }

    #[test]
    fn null_is_absent() {
        let r: Req = from_slice(br#"{"Job":{"ID":null}}"#, "api.JobRegisterRequest").unwrap();
        assert_eq!(r.job.unwrap().id, None);
    }

    #[test]
    fn trailing_data_is_ignored() {
        let r: Req =
            from_slice(br#"{"Job":{"ID":"x"}} garbage"#, "api.JobRegisterRequest").unwrap();
        assert_eq!(r.job.unwrap().id.as_deref(), Some("x"));
    }

    #[test]
    fn go_error_texts() {
        let err = |b: &[u8]| {
            from_slice::<Req>(b, "api.JobRegisterRequest")
                .unwrap_err()
                .0
        };
        assert_eq!(err(b""), "EOF");
        assert_eq!(err(b"   "), "EOF");
        assert_eq!(err(br#"{"Job": {"ID": "inv-malformed","#), "unexpected EOF");
        assert_eq!(
            err(br#"{"Job":{"ID":"x","TaskGroups":[{"Name":"g","Count":"3"}]}}"#),
            "json: cannot unmarshal string into Go struct field TaskGroup.Job.TaskGroups.Count of type int"
        );
        assert_eq!(
            err(br#"[1]"#),
            "json: cannot unmarshal array into Go value of type api.JobRegisterRequest"
        );
        assert_eq!(
            err(br#"{"Job":{"ID":5}}"#),
            "json: cannot unmarshal number 5 into Go struct field Job.Job.ID of type string"
        );
        assert_eq!(
            err(b"{x"),
            "invalid character 'x' looking for beginning of object key string"
        );
    }
}
