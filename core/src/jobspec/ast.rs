//! The HCL1 syntax tree and the list views Nomad's parser works with
//! (`ObjectList.Filter`, `Children`, `Elem`), borrowed instead of copied.

use super::scanner::{Pos, Token};

/// A key of an item: an identifier or a quoted string, with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectKey {
    pub token: Token,
    /// The identifier, or the unquoted string.
    pub value: String,
}

/// `keys… = value` or `keys… { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectItem {
    pub keys: Vec<ObjectKey>,
    pub val: Node,
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Object(ObjectType),
    List(ListType),
    /// NUMBER, FLOAT, BOOL, STRING or HEREDOC.
    Literal(Token),
}

/// `{ items }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectType {
    pub lbrace: Pos,
    pub items: Vec<ObjectItem>,
}

/// `[ values ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListType {
    pub lbrack: Pos,
    pub items: Vec<Node>,
}

/// An item seen through `Filter`: the matched key prefix stripped off.
#[derive(Debug, Clone, Copy)]
pub struct Item<'t> {
    pub keys: &'t [ObjectKey],
    pub val: &'t Node,
    /// Where the item starts (its first key before any filtering), for
    /// errors about the item as a whole.
    pub at: Pos,
}

impl<'t> Item<'t> {
    /// `ObjectItem.Pos()`: the first key, or no position without keys.
    pub fn pos(&self) -> Pos {
        self.keys.first().map(|k| k.token.pos).unwrap_or_default()
    }

    pub fn key(&self) -> Option<&'t str> {
        self.keys.first().map(|k| k.value.as_str())
    }
}

/// An `ObjectList`: the items of an object, or a filtered view of them.
pub type Items<'t> = Vec<Item<'t>>;

pub fn items(list: &[ObjectItem]) -> Items<'_> {
    list.iter()
        .map(|i| Item {
            keys: &i.keys,
            val: &i.val,
            at: i.keys.first().map(|k| k.token.pos).unwrap_or_default(),
        })
        .collect()
}

/// Items whose first key equals `key` (ASCII-case-insensitively, as
/// `strings.EqualFold` does for these names), with that key stripped.
pub fn filter<'t>(list: &[Item<'t>], key: &str) -> Items<'t> {
    list.iter()
        .filter(|i| i.keys.first().is_some_and(|k| equal_fold(&k.value, key)))
        .map(|i| Item {
            keys: &i.keys[1..],
            val: i.val,
            at: i.at,
        })
        .collect()
}

/// Items that still have keys (`name "label" { … }` after filtering).
pub fn children<'t>(list: &[Item<'t>]) -> Items<'t> {
    list.iter()
        .filter(|i| !i.keys.is_empty())
        .copied()
        .collect()
}

/// Items without keys (`name { … }` and `name = …` after filtering).
pub fn elem<'t>(list: &[Item<'t>]) -> Items<'t> {
    list.iter().filter(|i| i.keys.is_empty()).copied().collect()
}

/// `strings.EqualFold` for the Unicode simple case folding that matters in
/// keys: compares character by character after lower-casing.
pub fn equal_fold(a: &str, b: &str) -> bool {
    a == b || {
        let mut x = a.chars().flat_map(char::to_lowercase);
        let mut y = b.chars().flat_map(char::to_lowercase);
        loop {
            match (x.next(), y.next()) {
                (None, None) => break true,
                (Some(p), Some(q)) if p == q => {}
                _ => break false,
            }
        }
    }
}

/// What the decoder and key checks are handed: a value, an object list or
/// a single item, as Go's `ast.Node` interface.
#[derive(Debug, Clone)]
pub enum NodeRef<'t> {
    Object(&'t ObjectType),
    List(&'t ListType),
    Literal(&'t Token),
    Items(Items<'t>),
    Item(Item<'t>),
}

impl<'t> NodeRef<'t> {
    pub fn of(node: &'t Node) -> Self {
        match node {
            Node::Object(o) => NodeRef::Object(o),
            Node::List(l) => NodeRef::List(l),
            Node::Literal(t) => NodeRef::Literal(t),
        }
    }

    /// `node.Pos()` in Go.
    pub fn pos(&self) -> Pos {
        match self {
            NodeRef::Object(o) => o.lbrace,
            NodeRef::List(l) => l.lbrack,
            NodeRef::Literal(t) => t.pos,
            NodeRef::Items(v) => v.first().map(Item::pos).unwrap_or_default(),
            NodeRef::Item(i) => i.pos(),
        }
    }

    /// Go's `%T` of the node.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeRef::Object(_) => "*ast.ObjectType",
            NodeRef::List(_) => "*ast.ListType",
            NodeRef::Literal(_) => "*ast.LiteralType",
            NodeRef::Items(_) => "*ast.ObjectList",
            NodeRef::Item(_) => "*ast.ObjectItem",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_fold_ignores_case_only() {
        assert!(equal_fold("Job", "job"));
        assert!(equal_fold("ÉTÉ", "été"));
        assert!(!equal_fold("jobs", "job"));
        assert!(!equal_fold("job", "jo"));
    }
}
