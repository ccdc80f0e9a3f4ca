//! `hcl.DecodeObject(&m, node)` into a `map[string]interface{}`: the
//! dynamic values Nomad's parser reads blocks through, merge rules and all.

use std::collections::{BTreeMap, BTreeSet};

use super::ast::{filter, items, Item, NodeRef};
use super::goerror::GoError;
use super::gostrconv::{parse_float, parse_int};
use super::literal::token_value;
use super::scanner::{Kind, Token};

/// A Go `interface{}` value as HCL's decoder builds it.
#[derive(Debug, Clone, PartialEq)]
pub enum GoValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `[]interface{}`: an HCL list.
    List(Vec<GoValue>),
    /// `[]map[string]interface{}`: a block, or repeated blocks.
    MapList(Vec<GoMap>),
    /// `map[string]interface{}`: an object inside a list.
    Map(GoMap),
}

/// Go maps are unordered; sorted keys make every walk deterministic and
/// match the order Go's JSON encoder prints.
pub type GoMap = BTreeMap<String, GoValue>;

impl GoValue {
    /// Go's `%T`.
    pub fn type_name(&self) -> &'static str {
        match self {
            GoValue::Bool(_) => "bool",
            GoValue::Int(_) => "int",
            GoValue::Float(_) => "float64",
            GoValue::Str(_) => "string",
            GoValue::List(_) => "[]interface {}",
            GoValue::MapList(_) => "[]map[string]interface {}",
            GoValue::Map(_) => "map[string]interface {}",
        }
    }

    /// The `reflect.Kind` name mapstructure prints in some messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GoValue::Bool(_) => "bool",
            GoValue::Int(_) => "int",
            GoValue::Float(_) => "float64",
            GoValue::Str(_) => "string",
            GoValue::List(_) | GoValue::MapList(_) => "slice",
            GoValue::Map(_) => "map",
        }
    }
}

/// Decodes an object (or item, or object list) into a fresh map, the way
/// `hcl.DecodeObject(&m, node)` does; field names in errors start at
/// `root`.
pub fn decode_object(node: NodeRef<'_>) -> Result<GoMap, GoError> {
    let mut m = GoMap::new();
    decode_map("root", node, &mut m)?;
    Ok(m)
}

fn decode_map(name: &str, node: NodeRef<'_>, map: &mut GoMap) -> Result<(), GoError> {
    let list = match node {
        NodeRef::Item(i) => vec![i],
        NodeRef::Object(o) => items(&o.items),
        NodeRef::Items(v) => v,
        other => {
            return Err(GoError::new(
                other.pos(),
                format!(
                    "At {}: {name}: not an object type for map ({})",
                    other.pos(),
                    other.type_name()
                ),
            ))
        }
    };
    let mut done = BTreeSet::new();
    for item in &list {
        let Some(key) = item.key() else {
            let pos = list.first().map(Item::pos).unwrap_or_default();
            return Err(GoError::new(
                pos,
                format!("At {pos}: {name}: map must have string keys"),
            ));
        };
        if done.contains(key) {
            continue;
        }
        // `a "b" {}` and `a "c" {}` are decoded together, once, as the
        // list of every item keyed `a`.
        let value = if item.keys.len() > 1 {
            done.insert(key);
            NodeRef::Items(filter(&list, key))
        } else {
            NodeRef::of(item.val)
        };
        let field = format!("{name}.{key}");
        let mut slot = map.remove(key);
        decode_slot(&field, value, &mut slot, false)?;
        if let Some(v) = slot {
            map.insert(key.to_string(), v);
        }
    }
    Ok(())
}

/// Decodes into an `interface{}` slot: a fresh one takes the node's shape,
/// an existing value keeps its type (so repeated keys merge or clash).
fn decode_slot(
    name: &str,
    node: NodeRef<'_>,
    slot: &mut Option<GoValue>,
    in_slice: bool,
) -> Result<(), GoError> {
    let value = match slot.take() {
        None => decode_interface(name, node, in_slice)?,
        Some(GoValue::Bool(_)) => GoValue::Bool(decode_bool(name, &node)?),
        Some(GoValue::Int(_)) => GoValue::Int(decode_int(name, &node)?),
        Some(GoValue::Float(_)) => GoValue::Float(decode_float(name, &node)?),
        Some(GoValue::Str(_)) => GoValue::Str(decode_string(name, &node)?),
        Some(GoValue::List(mut v)) => {
            decode_slice(name, node, Slice::Values(&mut v))?;
            GoValue::List(v)
        }
        Some(GoValue::MapList(mut v)) => {
            decode_slice(name, node, Slice::Maps(&mut v))?;
            GoValue::MapList(v)
        }
        Some(GoValue::Map(mut m)) => {
            decode_map(name, node, &mut m)?;
            GoValue::Map(m)
        }
    };
    *slot = Some(value);
    Ok(())
}

/// A fresh `interface{}`: objects become a map directly inside a list and
/// a list of maps anywhere else (which is why `labels { … }` in a driver
/// config comes out as `[{…}]`).
fn decode_interface(name: &str, node: NodeRef<'_>, in_slice: bool) -> Result<GoValue, GoError> {
    match node {
        NodeRef::Object(_) | NodeRef::Items(_) => {
            if in_slice {
                let mut m = GoMap::new();
                decode_map(name, node, &mut m)?;
                Ok(GoValue::Map(m))
            } else {
                let mut v = Vec::new();
                decode_slice(name, node, Slice::Maps(&mut v))?;
                Ok(GoValue::MapList(v))
            }
        }
        NodeRef::List(_) => {
            let mut v = Vec::new();
            decode_slice(name, node, Slice::Values(&mut v))?;
            Ok(GoValue::List(v))
        }
        NodeRef::Literal(t) => match t.kind {
            Kind::Bool => Ok(GoValue::Bool(decode_bool(name, &node)?)),
            Kind::Float => Ok(GoValue::Float(decode_float(name, &node)?)),
            Kind::Number => Ok(GoValue::Int(decode_int(name, &node)?)),
            Kind::String | Kind::Heredoc => Ok(GoValue::Str(decode_string(name, &node)?)),
            _ => Err(GoError::new(
                t.pos,
                format!(
                    "At {}: {name}: cannot decode into interface: *ast.LiteralType",
                    t.pos
                ),
            )),
        },
        NodeRef::Item(i) => Err(GoError::new(
            i.pos(),
            format!("{name}: cannot decode into interface: *ast.ObjectItem"),
        )),
    }
}

enum Slice<'v> {
    Values(&'v mut Vec<GoValue>),
    Maps(&'v mut Vec<GoMap>),
}

fn decode_slice(name: &str, node: NodeRef<'_>, out: Slice<'_>) -> Result<(), GoError> {
    let elements: Vec<NodeRef<'_>> = match &node {
        NodeRef::Items(v) => v.iter().map(|i| NodeRef::Item(*i)).collect(),
        NodeRef::Object(_) => vec![node.clone()],
        NodeRef::List(l) => l.items.iter().map(NodeRef::of).collect(),
        other => {
            return Err(GoError::new(
                other.pos(),
                format!(
                    "At {}: unknown slice type: {}",
                    other.pos(),
                    other.type_name()
                ),
            ))
        }
    };
    match out {
        Slice::Values(v) => {
            for (i, element) in elements.into_iter().enumerate() {
                v.push(decode_interface(&format!("{name}[{i}]"), element, true)?);
            }
        }
        Slice::Maps(v) => {
            for (i, element) in elements.into_iter().enumerate() {
                let mut m = GoMap::new();
                decode_map(&format!("{name}[{i}]"), element, &mut m)?;
                v.push(m);
            }
        }
    }
    Ok(())
}

fn unknown_type(name: &str, node: &NodeRef<'_>, what: &str) -> GoError {
    let pos = node.pos();
    GoError::new(
        pos,
        format!("At {pos}: {name}: {what} {}", node.type_name()),
    )
}

fn literal<'n>(node: &'n NodeRef<'_>) -> Option<&'n Token> {
    match node {
        NodeRef::Literal(t) => Some(t),
        _ => None,
    }
}

fn decode_bool(name: &str, node: &NodeRef<'_>) -> Result<bool, GoError> {
    match literal(node) {
        Some(t) if t.kind == Kind::Bool => Ok(t.text == "true"),
        _ => Err(unknown_type(name, node, "unknown type")),
    }
}

fn decode_float(name: &str, node: &NodeRef<'_>) -> Result<f64, GoError> {
    match literal(node) {
        Some(t) if t.kind == Kind::Float => {
            parse_float(&t.text).map_err(|e| GoError::new(t.pos, e))
        }
        _ => Err(unknown_type(name, node, "unknown type")),
    }
}

fn decode_int(name: &str, node: &NodeRef<'_>) -> Result<i64, GoError> {
    match literal(node) {
        Some(t) if t.kind == Kind::Number => {
            parse_int(&t.text, 64).map_err(|e| GoError::new(t.pos, e))
        }
        Some(t) if t.kind == Kind::String => {
            parse_int(&string_value(t)?, 64).map_err(|e| GoError::new(t.pos, e))
        }
        _ => Err(unknown_type(name, node, "unknown type")),
    }
}

fn decode_string(name: &str, node: &NodeRef<'_>) -> Result<String, GoError> {
    match literal(node) {
        Some(t) if t.kind == Kind::Number => Ok(t.text.clone()),
        Some(t) if matches!(t.kind, Kind::String | Kind::Heredoc) => string_value(t),
        _ => Err(unknown_type(name, node, "unknown type for string")),
    }
}

/// The value of a STRING or HEREDOC token. Go panics on a string it cannot
/// unquote; here it is an error at the literal.
pub fn string_value(t: &Token) -> Result<String, GoError> {
    token_value(t).ok_or_else(|| {
        GoError::new(
            t.pos,
            format!("At {}: unquote {} err: invalid syntax", t.pos, t.text),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobspec::ast::ObjectType;
    use crate::jobspec::parser::parse;
    use crate::jobspec::scanner::Pos;

    fn decode(src: &str) -> Result<GoMap, String> {
        let items = parse(src).map_err(|e| e.message)?;
        let object = ObjectType {
            lbrace: Pos::default(),
            items,
        };
        decode_object(NodeRef::Object(&object)).map_err(|e| e.text())
    }

    fn s(v: &str) -> GoValue {
        GoValue::Str(v.into())
    }

    #[test]
    fn scalars_lists_and_blocks() {
        let m = decode("a = 1\nb = 1.5\nc = \"x\"\nd = true\ne = [\"y\", 2]\nf { g = 3 }").unwrap();
        let want = GoMap::from([
            ("a".into(), GoValue::Int(1)),
            ("b".into(), GoValue::Float(1.5)),
            ("c".into(), s("x")),
            ("d".into(), GoValue::Bool(true)),
            ("e".into(), GoValue::List(vec![s("y"), GoValue::Int(2)])),
            (
                "f".into(),
                GoValue::MapList(vec![GoMap::from([("g".into(), GoValue::Int(3))])]),
            ),
        ]);
        assert_eq!(m, want);
    }

    #[test]
    fn repeated_keys_merge_or_clash() {
        // Repeated blocks append; a repeated scalar is overwritten with the
        // old value's type.
        let m = decode("a { x = 1 }\na { y = 2 }\nb = \"s\"\nb = 5").unwrap();
        assert_eq!(
            m["a"],
            GoValue::MapList(vec![
                GoMap::from([("x".into(), GoValue::Int(1))]),
                GoMap::from([("y".into(), GoValue::Int(2))]),
            ])
        );
        assert_eq!(m["b"], s("5"));
        assert_eq!(
            decode("b = 1\nb = \"s\"").unwrap_err(),
            "strconv.ParseInt: parsing \"s\": invalid syntax"
        );
        assert_eq!(
            decode("b = true\nb = 1").unwrap_err(),
            "At 2:5: root.b: unknown type *ast.LiteralType"
        );
    }

    #[test]
    fn labelled_blocks_nest_by_label() {
        let m = decode("port \"http\" { static = 80 }\nport \"db\" {}").unwrap();
        let want = GoValue::MapList(vec![
            GoMap::from([(
                "http".into(),
                GoValue::MapList(vec![GoMap::from([("static".into(), GoValue::Int(80))])]),
            )]),
            GoMap::from([("db".into(), GoValue::MapList(vec![GoMap::new()]))]),
        ]);
        assert_eq!(m["port"], want);
    }

    #[test]
    fn objects_inside_lists_are_maps() {
        let m = decode("a = [{ b = 1 }]").unwrap();
        assert_eq!(
            m["a"],
            GoValue::List(vec![GoValue::Map(GoMap::from([(
                "b".into(),
                GoValue::Int(1)
            )]))])
        );
    }

    #[test]
    fn number_overflow_is_an_error() {
        assert_eq!(
            decode("a = 99999999999999999999").unwrap_err(),
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
    }
}
