//! HCL1's JSON syntax (`hcl/json`): a file starting with `{` is read as
//! JSON, then "flattened" into the same items an HCL file gives.

use super::ast::{ListType, Node, ObjectItem, ObjectKey, ObjectType};
use super::literal::token_value;
use super::parser::{HclError, MAX_DEPTH};
use super::scanner::{is_decimal, is_digit, is_letter, Kind, Pos, Scanner, Token, EOF};

/// Parses a JSON-syntax file into top-level items.
pub fn parse(src: &str) -> Result<Vec<ObjectItem>, HclError> {
    let mut p = Parser {
        sc: Scanner::new(src),
        tok: Token {
            kind: Kind::Illegal,
            pos: Pos::default(),
            text: String::new(),
            json: true,
        },
        buffered: false,
        depth: 0,
        bad_key: None,
    };
    let result = p.object();
    // JSON's scanner errors read `line:col: msg`, without HCL's "At".
    if let Some((pos, msg)) = p.sc.error {
        return Err(HclError {
            message: format!("{pos}: {msg}"),
            pos,
        });
    }
    let mut items = match result {
        Ok(object) => object.items,
        Err(Stop::Eof) => {
            return Err(HclError {
                message: "EOF token found".into(),
                pos: p.tok.pos,
            })
        }
        Err(Stop::Err(e)) => return Err(e),
    };
    if let Some(e) = p.bad_key {
        return Err(e);
    }
    flatten(&mut items);
    Ok(items)
}

enum Stop {
    Eof,
    Err(HclError),
}

fn fail(pos: Pos, message: String) -> Stop {
    Stop::Err(HclError { message, pos })
}

struct Parser<'a> {
    sc: Scanner<'a>,
    tok: Token,
    buffered: bool,
    depth: usize,
    /// A key that does not unquote (Go would crash when using it).
    bad_key: Option<HclError>,
}

impl Parser<'_> {
    fn scan(&mut self) -> Token {
        if self.buffered {
            self.buffered = false;
        } else {
            self.tok = self.sc.scan_json();
        }
        self.tok.clone()
    }

    fn object(&mut self) -> Result<ObjectType, Stop> {
        let tok = self.scan();
        match tok.kind {
            Kind::LBrace => self.object_type(),
            Kind::Eof => Err(Stop::Eof),
            _ => Err(fail(
                tok.pos,
                format!(
                    "Expected object, got unknown token: {} {} {}",
                    tok.pos, tok.kind, tok.text
                ),
            )),
        }
    }

    fn object_list(&mut self) -> (Vec<ObjectItem>, Option<Stop>) {
        let mut items = Vec::new();
        loop {
            match self.object_item() {
                Ok(item) => items.push(item),
                Err(Stop::Eof) => break,
                Err(e) => return (items, Some(e)),
            }
            // Anything but a comma ends the list, and is consumed.
            if self.scan().kind != Kind::Comma {
                break;
            }
        }
        (items, None)
    }

    fn object_item(&mut self) -> Result<ObjectItem, Stop> {
        let keys = self.object_key()?;
        let val = self.object_value()?;
        Ok(ObjectItem { keys, val })
    }

    fn object_key(&mut self) -> Result<Vec<ObjectKey>, Stop> {
        let mut keys = Vec::new();
        loop {
            let tok = self.scan();
            match tok.kind {
                Kind::Eof => return Err(Stop::Eof),
                Kind::String => {
                    // JSON tokens lose their position on the way to HCL's.
                    let token = Token {
                        pos: Pos::default(),
                        ..tok
                    };
                    let value = token_value(&token).unwrap_or_else(|| {
                        self.bad_key.get_or_insert(HclError {
                            message: format!("unquote {} err: invalid syntax", token.text),
                            pos: tok.pos,
                        });
                        token.text.clone()
                    });
                    keys.push(ObjectKey { token, value });
                }
                Kind::Colon if !keys.is_empty() => return Ok(keys),
                // HCL prints "illegal" and reads on.
                Kind::Illegal => {}
                other => return Err(fail(tok.pos, format!("expected: STRING got: {other}"))),
            }
        }
    }

    fn object_value(&mut self) -> Result<Node, Stop> {
        let tok = self.scan();
        match tok.kind {
            Kind::Number | Kind::Float | Kind::Bool | Kind::Null | Kind::String => {
                Ok(Node::Literal(literal(tok)))
            }
            Kind::LBrace => Ok(Node::Object(self.object_type()?)),
            Kind::LBrack => Ok(Node::List(self.list_type()?)),
            Kind::Eof => Err(Stop::Eof),
            _ => Err(fail(
                tok.pos,
                format!(
                    "Expected object value, got unknown token: {} {} {}",
                    tok.pos, tok.kind, tok.text
                ),
            )),
        }
    }

    fn deeper(&mut self) -> Result<(), Stop> {
        if self.depth >= MAX_DEPTH {
            return Err(fail(
                self.tok.pos,
                format!(
                    "{}: objects and lists nest deeper than {MAX_DEPTH} levels",
                    self.tok.pos
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn object_type(&mut self) -> Result<ObjectType, Stop> {
        self.deeper()?;
        let (items, err) = self.object_list();
        self.depth -= 1;
        // The closing brace was read by the item list; JSON checks no more.
        if let Some(e) = err {
            if self.tok.kind != Kind::RBrace {
                return Err(e);
            }
        }
        Ok(ObjectType {
            lbrace: Pos::default(),
            items,
        })
    }

    fn list_type(&mut self) -> Result<ListType, Stop> {
        self.deeper()?;
        let result = self.list_items();
        self.depth -= 1;
        result
    }

    fn list_items(&mut self) -> Result<ListType, Stop> {
        let mut items = Vec::new();
        loop {
            let tok = self.scan();
            match tok.kind {
                Kind::Number | Kind::Float | Kind::String => {
                    items.push(Node::Literal(literal(tok)))
                }
                Kind::Comma | Kind::Bool | Kind::LBrack => {}
                Kind::LBrace => items.push(Node::Object(self.object_type()?)),
                Kind::RBrack => {
                    return Ok(ListType {
                        lbrack: Pos::default(),
                        items,
                    })
                }
                other => {
                    return Err(fail(
                        tok.pos,
                        format!("unexpected token while parsing list: {other}"),
                    ))
                }
            }
        }
    }
}

/// A JSON literal as HCL sees it: no position, `null` as an empty string.
fn literal(tok: Token) -> Token {
    let (kind, text) = match tok.kind {
        Kind::Null => (Kind::String, String::new()),
        k => (k, tok.text),
    };
    Token {
        kind,
        pos: Pos::default(),
        text,
        json: true,
    }
}

/// `flattenObjects`: an object whose values are all objects becomes items
/// with the keys joined (`"job": {"x": {…}}` → `job "x" {…}`), and a
/// list of objects becomes one item per object; top-down, order kept.
fn flatten(items: &mut Vec<ObjectItem>) {
    let mut out = Vec::with_capacity(items.len());
    let mut frontier: Vec<ObjectItem> = std::mem::take(items);
    while let Some(item) = frontier.pop() {
        match item.val {
            Node::Object(ref o)
                if !o.items.is_empty()
                    && o.items.iter().all(|i| matches!(i.val, Node::Object(_))) =>
            {
                let Node::Object(o) = item.val else { continue };
                for sub in o.items {
                    let mut keys = item.keys.clone();
                    keys.extend(sub.keys);
                    frontier.push(ObjectItem { keys, val: sub.val });
                }
            }
            Node::List(ref l)
                if !l.items.is_empty() && l.items.iter().all(|n| matches!(n, Node::Object(_))) =>
            {
                let Node::List(l) = item.val else { continue };
                for element in l.items {
                    frontier.push(ObjectItem {
                        keys: item.keys.clone(),
                        val: element,
                    });
                }
            }
            _ => out.push(item),
        }
    }
    out.reverse();
    for item in &mut out {
        flatten_node(&mut item.val);
    }
    *items = out;
}

fn flatten_node(node: &mut Node) {
    match node {
        Node::Object(o) => flatten(&mut o.items),
        Node::List(l) => l.items.iter_mut().for_each(flatten_node),
        Node::Literal(_) => {}
    }
}

impl Scanner<'_> {
    /// The JSON scanner: literals, `null`, punctuation; no comments,
    /// heredocs or bare identifiers.
    pub(super) fn scan_json(&mut self) -> Token {
        let (ch, start, pos) = self.token_start();
        let kind = if is_letter(ch) {
            let mut c = self.next();
            while is_letter(c) || is_digit(c) || c == '-' {
                c = self.next();
            }
            if c != EOF {
                self.unread();
            }
            match self.src.get(start..self.src_pos.offset).unwrap_or("") {
                "true" | "false" => Kind::Bool,
                "null" => Kind::Null,
                _ => {
                    self.err("illegal char");
                    Kind::Illegal
                }
            }
        } else if is_decimal(ch) {
            self.scan_json_number(ch)
        } else {
            match ch {
                EOF => Kind::Eof,
                '"' => {
                    self.scan_json_string();
                    Kind::String
                }
                '.' => {
                    let c = self.peek();
                    if is_decimal(c) {
                        let c = self.scan_mantissa(c);
                        self.scan_exponent(c);
                        Kind::Float
                    } else {
                        Kind::Period
                    }
                }
                '[' => Kind::LBrack,
                ']' => Kind::RBrack,
                '{' => Kind::LBrace,
                '}' => Kind::RBrace,
                ',' => Kind::Comma,
                ':' => Kind::Colon,
                '-' if is_decimal(self.peek()) => {
                    let c = self.next();
                    self.scan_json_number(c)
                }
                '-' => {
                    self.err("illegal char");
                    Kind::Illegal
                }
                other => {
                    self.err(&format!("illegal char: {other}"));
                    Kind::Illegal
                }
            }
        };
        let text = self
            .src
            .get(start..self.src_pos.offset)
            .unwrap_or("")
            .to_string();
        Token {
            kind,
            pos,
            text,
            json: true,
        }
    }

    fn scan_json_number(&mut self, first: char) -> Kind {
        let before = self.src_pos;
        self.scan_mantissa(first);
        let mut c = self.next();
        if c == 'e' || c == 'E' {
            self.scan_exponent(c);
            return Kind::Float;
        }
        if c == '.' {
            c = self.scan_fraction(c);
            if c == 'e' || c == 'E' {
                c = self.next();
                self.scan_exponent(c);
            }
            return Kind::Float;
        }
        if c != EOF {
            self.unread();
        }
        if first == '0' && before != self.src_pos {
            self.err("numbers cannot start with 0");
        }
        Kind::Number
    }

    fn scan_json_string(&mut self) {
        let mut braces = 0usize;
        loop {
            let ch = self.next();
            if ch == '\n' || ch == EOF {
                self.err("literal not terminated");
                return;
            }
            if ch == '"' {
                break;
            }
            if braces == 0 && ch == '$' && self.peek() == '{' {
                braces += 1;
                self.next();
            } else if braces > 0 && ch == '{' {
                braces += 1;
            }
            if braces > 0 && ch == '}' {
                braces -= 1;
            }
            if ch == '\\' {
                let c = self.next();
                let (first, base, count) = match c {
                    'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"' => continue,
                    '0'..='7' => (c, 8, 3),
                    'x' => (self.next(), 16, 2),
                    'u' => (self.next(), 16, 4),
                    'U' => (self.next(), 16, 8),
                    _ => {
                        self.err("illegal char escape");
                        continue;
                    }
                };
                // Unlike HCL's, JSON's digit scan always steps back one.
                let mut c = first;
                let mut left = count;
                while left > 0 && c.to_digit(16).is_some_and(|d| d < base) {
                    c = self.next();
                    left -= 1;
                }
                if left > 0 {
                    self.err("illegal char escape");
                }
                self.unread();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: &[ObjectItem]) -> Vec<Vec<String>> {
        items
            .iter()
            .map(|i| i.keys.iter().map(|k| k.value.clone()).collect())
            .collect()
    }

    #[test]
    fn objects_of_objects_flatten_into_labelled_items() {
        let items =
            parse(r#"{"job": {"x": {"group": [{"a": {}}, {"b": {"count": 1}}], "region": "r"}}}"#)
                .unwrap();
        assert_eq!(keys(&items), [["job", "x"]]);
        let Node::Object(job) = &items[0].val else {
            panic!()
        };
        assert_eq!(
            keys(&job.items),
            [vec!["group", "a"], vec!["group", "b"], vec!["region"]]
        );
    }

    #[test]
    fn json_errors() {
        let e = |src: &str| parse(src).unwrap_err().message;
        assert_eq!(e("{\"a\": nope}"), "1:10: illegal char");
        assert_eq!(e("{\"a\": 01}"), "1:8: numbers cannot start with 0");
        assert_eq!(e("{\"a\": \"x\n\"}"), "2:3: literal not terminated");
        assert_eq!(e("{: 1}"), "expected: STRING got: COLON");
        assert_eq!(
            e("{\"a\": ]}"),
            "Expected object value, got unknown token: 1:7 RBRACK ]"
        );
        assert_eq!(
            e("{\"a\": [null]}"),
            "unexpected token while parsing list: NULL"
        );
    }
}
