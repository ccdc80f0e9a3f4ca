//! The HCL1 parser (`hashicorp/hcl` v1 `hcl/parser`): items, objects and
//! lists, with the same acceptance, error texts and error precedence.

use super::ast::{ListType, Node, ObjectItem, ObjectKey, ObjectType};
use super::literal::token_value;
use super::scanner::{Kind, Pos, Scanner, Token};

/// A syntax error: `message` is what Go's `err.Error()` prints (with an
/// `At line:col: ` prefix where HCL attaches a position), `pos` is where
/// it happened even when the text does not say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HclError {
    pub message: String,
    pub pos: Pos,
}

impl HclError {
    fn at(pos: Pos, msg: impl std::fmt::Display) -> Self {
        HclError {
            message: format!("At {pos}: {msg}"),
            pos,
        }
    }

    fn plain(pos: Pos, msg: impl Into<String>) -> Self {
        HclError {
            message: msg.into(),
            pos,
        }
    }
}

/// Why parsing an item stopped: the input ran out (HCL's `errEofToken`,
/// which ends a list quietly) or a real error.
enum Stop {
    Eof,
    Err(HclError),
}

impl From<HclError> for Stop {
    fn from(e: HclError) -> Self {
        Stop::Err(e)
    }
}

/// Objects and lists nest at most this deep. HCL1 has no limit; one keeps
/// a hostile file from exhausting the stack (Go's grows, Rust's and
/// wasm's do not). Real job files nest fewer than ten levels.
pub const MAX_DEPTH: usize = 100;

/// Parses a whole file into its top-level items.
pub fn parse(src: &str) -> Result<Vec<ObjectItem>, HclError> {
    let mut p = Parser {
        sc: Scanner::new(src),
        tok: Token {
            kind: Kind::Illegal,
            pos: Pos::default(),
            text: String::new(),
            json: false,
        },
        buffered: false,
        depth: 0,
        bad_key: None,
    };
    let (items, err) = p.object_list(false);
    // A scanner error wins over whatever the parser made of the tokens.
    if let Some((pos, msg)) = p.sc.error {
        return Err(HclError::at(pos, &msg));
    }
    match err.or(p.bad_key) {
        Some(e) => Err(e),
        None => Ok(items),
    }
}

struct Parser<'a> {
    sc: Scanner<'a>,
    /// The last token read; HCL inspects (and once rewrites) it.
    tok: Token,
    buffered: bool,
    depth: usize,
    /// A quoted key that does not unquote. Go reads on and would crash
    /// only when the key is used; it is reported if nothing else is.
    bad_key: Option<HclError>,
}

impl Parser<'_> {
    /// Runs `f` one nesting level deeper, refusing to go past `MAX_DEPTH`.
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, HclError>,
    ) -> Result<T, HclError> {
        if self.depth >= MAX_DEPTH {
            return Err(HclError::at(
                self.tok.pos,
                format!("objects and lists nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn scan(&mut self) -> Token {
        if self.buffered {
            self.buffered = false;
            return self.tok.clone();
        }
        loop {
            self.tok = self.sc.scan();
            if self.tok.kind != Kind::Comment {
                return self.tok.clone();
            }
        }
    }

    fn unscan(&mut self) {
        self.buffered = true;
    }

    /// Items until `}` (inside an object) or the end of input. Returns the
    /// items read so far together with the error that stopped it, as Go
    /// does: an enclosing object ignores the error if it stopped on `}`.
    fn object_list(&mut self, in_object: bool) -> (Vec<ObjectItem>, Option<HclError>) {
        let mut items = Vec::new();
        loop {
            if in_object {
                let tok = self.scan();
                self.unscan();
                if tok.kind == Kind::RBrace {
                    break;
                }
            }
            match self.object_item() {
                Ok(item) => items.push(item),
                Err(Stop::Eof) => break,
                Err(Stop::Err(e)) => return (items, Some(e)),
            }
            // Items may be separated by commas.
            let tok = self.scan();
            if tok.kind != Kind::Comma {
                self.unscan();
            }
        }
        (items, None)
    }

    fn object_item(&mut self) -> Result<ObjectItem, Stop> {
        let (keys, mut err) = self.object_key();
        if !keys.is_empty() && matches!(err, Some(Stop::Eof)) {
            err = None;
        }
        if !keys.is_empty() && err.is_some() && self.tok.kind == Kind::RBrace {
            // Keys without a value just before `}`: HCL forgets the error,
            // pretends the input ended and reports the missing value below.
            err = None;
            self.tok.kind = Kind::Eof;
        }
        if let Some(e) = err {
            return Err(e);
        }

        let val = match self.tok.kind {
            Kind::Assign => self.object()?,
            Kind::LBrace => Node::Object(self.object_type()?),
            _ => {
                let names: Vec<&str> = keys.iter().map(|k| k.token.text.as_str()).collect();
                return Err(Stop::Err(HclError::plain(
                    self.tok.pos,
                    format!(
                        "key '{}' expected start of object ('{{') or assignment ('=')",
                        names.join(" ")
                    ),
                )));
            }
        };

        // HCL looks one token ahead for a line comment; the look-ahead can
        // trip a scanner error, so it is kept.
        self.scan();
        self.unscan();
        Ok(ObjectItem { keys, val })
    }

    fn object_key(&mut self) -> (Vec<ObjectKey>, Option<Stop>) {
        let mut keys = Vec::new();
        loop {
            let tok = self.scan();
            match tok.kind {
                Kind::Eof => return (keys, Some(Stop::Eof)),
                Kind::Assign => {
                    if keys.len() > 1 {
                        let e = HclError::at(tok.pos, "nested object expected: LBRACE got: ASSIGN");
                        return (Vec::new(), Some(e.into()));
                    }
                    if keys.is_empty() {
                        let e = HclError::at(tok.pos, "no object keys found!");
                        return (Vec::new(), Some(e.into()));
                    }
                    return (keys, None);
                }
                Kind::LBrace => {
                    let err = keys.is_empty().then(|| {
                        Stop::Err(HclError::at(
                            tok.pos,
                            "expected: IDENT | STRING got: LBRACE",
                        ))
                    });
                    return (keys, err);
                }
                Kind::Ident | Kind::String => {
                    let value = key_value(&tok).unwrap_or_else(|e| {
                        self.bad_key.get_or_insert(e);
                        tok.text.clone()
                    });
                    keys.push(ObjectKey { token: tok, value });
                }
                // HCL prints "illegal" and reads on; the scanner error that
                // came with the token is reported at the end.
                Kind::Illegal => {}
                other => {
                    let e = HclError::at(
                        tok.pos,
                        format!("expected: IDENT | STRING | ASSIGN | LBRACE got: {other}"),
                    );
                    return (keys, Some(e.into()));
                }
            }
        }
    }

    fn object(&mut self) -> Result<Node, Stop> {
        let tok = self.scan();
        match tok.kind {
            Kind::Number | Kind::Float | Kind::Bool | Kind::String | Kind::Heredoc => {
                Ok(Node::Literal(tok))
            }
            Kind::LBrace => Ok(Node::Object(self.object_type()?)),
            Kind::LBrack => Ok(Node::List(self.list_type()?)),
            Kind::Eof => Err(Stop::Eof),
            // Go prints the token with `%+v`, i.e. its String() method.
            _ => Err(Stop::Err(HclError::at(
                tok.pos,
                format!("Unknown token: {} {} {}", tok.pos, tok.kind, tok.text),
            ))),
        }
    }

    fn object_type(&mut self) -> Result<ObjectType, HclError> {
        self.nested(Self::object_type_inner)
    }

    fn object_type_inner(&mut self) -> Result<ObjectType, HclError> {
        let lbrace = self.tok.pos;
        let (items, err) = self.object_list(true);
        if let Some(e) = err {
            if self.tok.kind != Kind::RBrace {
                return Err(e);
            }
        }
        let tok = self.scan();
        if tok.kind != Kind::RBrace {
            return Err(HclError::plain(
                tok.pos,
                format!("object expected closing RBRACE got: {}", tok.kind),
            ));
        }
        Ok(ObjectType { lbrace, items })
    }

    fn list_type(&mut self) -> Result<ListType, HclError> {
        self.nested(Self::list_type_inner)
    }

    fn list_type_inner(&mut self) -> Result<ListType, HclError> {
        let lbrack = self.tok.pos;
        let mut items = Vec::new();
        let mut need_comma = false;
        loop {
            let tok = self.scan();
            if need_comma && !matches!(tok.kind, Kind::Comma | Kind::RBrack) {
                return Err(HclError::at(
                    tok.pos,
                    format!(
                        "error parsing list, expected comma or list end, got: {}",
                        tok.kind
                    ),
                ));
            }
            match tok.kind {
                Kind::Number | Kind::Float | Kind::String | Kind::Heredoc => {
                    items.push(Node::Literal(tok));
                    need_comma = true;
                }
                Kind::Comma => {
                    self.scan();
                    self.unscan();
                    need_comma = false;
                }
                Kind::LBrace => {
                    let object = self.object_type().map_err(|e| {
                        HclError::at(
                            tok.pos,
                            format!(
                                "error while trying to parse object within list: {}",
                                e.message
                            ),
                        )
                    })?;
                    items.push(Node::Object(object));
                    need_comma = true;
                }
                // HCL1 skips booleans and nested `[` inside lists.
                Kind::Bool | Kind::LBrack => {}
                Kind::RBrack => return Ok(ListType { lbrack, items }),
                other => {
                    return Err(HclError::at(
                        tok.pos,
                        format!("unexpected token while parsing list: {other}"),
                    ))
                }
            }
        }
    }
}

/// The string value of a key token. Go would panic later on a string it
/// cannot unquote; that becomes an error here.
pub(super) fn key_value(tok: &Token) -> Result<String, HclError> {
    if tok.kind == Kind::Ident {
        return Ok(tok.text.clone());
    }
    token_value(tok)
        .ok_or_else(|| HclError::at(tok.pos, format!("unquote {} err: invalid syntax", tok.text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        match parse(src) {
            Ok(items) => panic!("parsed: {items:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn items_keys_and_values() {
        let items = parse("job \"x\" \"y\" { a = 1, b = [\"c\", 2.5] }\nz = {}").unwrap();
        assert_eq!(items.len(), 2);
        let keys: Vec<&str> = items[0].keys.iter().map(|k| k.value.as_str()).collect();
        assert_eq!(keys, ["job", "x", "y"]);
        let Node::Object(o) = &items[0].val else {
            panic!()
        };
        assert_eq!(o.items.len(), 2);
        let Node::List(l) = &o.items[1].val else {
            panic!()
        };
        assert_eq!(l.items.len(), 2);
        assert!(matches!(&items[1].val, Node::Object(o) if o.items.is_empty()));
    }

    #[test]
    fn syntax_errors_read_like_hcl1() {
        assert_eq!(
            err("job \"x\" {"),
            "object expected closing RBRACE got: EOF"
        );
        assert_eq!(
            err("a b = 1"),
            "At 1:5: nested object expected: LBRACE got: ASSIGN"
        );
        assert_eq!(err("= 1"), "At 1:1: no object keys found!");
        assert_eq!(err("{}"), "At 1:1: expected: IDENT | STRING got: LBRACE");
        assert_eq!(
            err("a 12 {}"),
            "At 1:3: expected: IDENT | STRING | ASSIGN | LBRACE got: NUMBER"
        );
        assert_eq!(
            err("job"),
            "key 'job' expected start of object ('{') or assignment ('=')"
        );
        assert_eq!(
            err("x { a }"),
            "key 'a' expected start of object ('{') or assignment ('=')"
        );
        assert_eq!(
            err("a = [1 2]"),
            "At 1:8: error parsing list, expected comma or list end, got: NUMBER"
        );
        assert_eq!(err("a = ]"), "At 1:5: Unknown token: 1:5 RBRACK ]");
        assert_eq!(err("a = @"), "At 1:5: illegal char");
        // The last scanner error is reported, after HCL read on.
        assert_eq!(
            err(r#"job "\x" { task "t" { tags = "a" } }"#),
            "At 1:37: literal not terminated"
        );
    }

    #[test]
    fn lists_drop_booleans_and_inner_brackets() {
        let items = parse("a = [true, \"x\", [\"y\"]").unwrap();
        let Node::List(l) = &items[0].val else {
            panic!()
        };
        let texts: Vec<&str> = l
            .items
            .iter()
            .map(|n| match n {
                Node::Literal(t) => t.text.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(texts, ["\"x\"", "\"y\""]);
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!(
            "a = {}{}",
            "{ b = ".repeat(MAX_DEPTH - 1) + "{",
            "}".repeat(MAX_DEPTH)
        );
        assert!(parse(&ok).is_ok());
        let deep = format!("a = {}", "[{ b = ".repeat(MAX_DEPTH));
        let e = err(&deep);
        assert!(e.starts_with("At 1:6: error while trying to parse object within list: At 1:13: "));
        assert!(
            e.ends_with("At 1:355: objects and lists nest deeper than 100 levels"),
            "{e}"
        );
        let deep = format!("a = {}", "{ b = ".repeat(MAX_DEPTH + 1));
        assert_eq!(
            err(&deep),
            "At 1:605: objects and lists nest deeper than 100 levels"
        );
    }

    #[test]
    fn missing_value_at_the_end_is_dropped() {
        // HCL1 treats a trailing `key =` at the top level as the end.
        assert_eq!(parse("a = 1\nb =").unwrap().len(), 1);
    }
}
