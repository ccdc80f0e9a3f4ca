//! The HCL1 scanner (`hashicorp/hcl` v1 `hcl/scanner`): tokens, their
//! positions and the scanner's error texts, quirks included.

use std::fmt;

/// A source position: byte offset, 1-based line, 1-based column in
/// characters. Line 0 means "no position" and renders `-` as in Go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.line, self.column)
        } else {
            f.write_str("-")
        }
    }
}

/// Token kinds; `name()` is the text HCL's messages print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Illegal,
    Eof,
    Comment,
    Ident,
    Number,
    Float,
    Bool,
    String,
    Heredoc,
    LBrack,
    LBrace,
    Comma,
    Period,
    RBrack,
    RBrace,
    Assign,
    Add,
    Sub,
    /// JSON syntax only.
    Colon,
    /// JSON syntax only.
    Null,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Illegal => "ILLEGAL",
            Kind::Eof => "EOF",
            Kind::Comment => "COMMENT",
            Kind::Ident => "IDENT",
            Kind::Number => "NUMBER",
            Kind::Float => "FLOAT",
            Kind::Bool => "BOOL",
            Kind::String => "STRING",
            Kind::Heredoc => "HEREDOC",
            Kind::LBrack => "LBRACK",
            Kind::LBrace => "LBRACE",
            Kind::Comma => "COMMA",
            Kind::Period => "PERIOD",
            Kind::RBrack => "RBRACK",
            Kind::RBrace => "RBRACE",
            Kind::Assign => "ASSIGN",
            Kind::Add => "ADD",
            Kind::Sub => "SUB",
            Kind::Colon => "COLON",
            Kind::Null => "NULL",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One token with its raw source text (quotes and heredoc markers kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub pos: Pos,
    pub text: String,
    /// Read from HCL's JSON syntax: strings unquote the Go way, without
    /// HCL's `${…}` rule.
    pub json: bool,
}

/// HCL1 reads runes until it sees rune 0, so a NUL character in the source
/// behaves like the end of input wherever the scanner tests for it.
pub(super) const EOF: char = '\0';

/// Scans HCL1 source the way the Go scanner does, including where it puts
/// positions after reading past the end and which character an error
/// points at. Errors do not stop scanning; the parser reports the last one.
pub struct Scanner<'a> {
    pub(super) src: &'a str,
    /// Byte offset of the next character to read.
    read: usize,
    pub(super) src_pos: Pos,
    prev_pos: Pos,
    pub(super) last_char_len: usize,
    last_line_len: usize,
    /// Size of the last character read, while it may still be unread.
    unreadable: Option<usize>,
    /// The most recent scanner error (Go keeps only the last one).
    pub error: Option<(Pos, String)>,
}

impl<'a> Scanner<'a> {
    pub fn new(src: &'a str) -> Self {
        Scanner {
            src,
            read: 0,
            src_pos: Pos {
                offset: 0,
                line: 1,
                column: 0,
            },
            prev_pos: Pos::default(),
            last_char_len: 0,
            last_line_len: 0,
            unreadable: None,
            error: None,
        }
    }

    pub(super) fn next(&mut self) -> char {
        let Some(ch) = self.src.get(self.read..).and_then(|s| s.chars().next()) else {
            // Go still advances the column at the end of input.
            self.src_pos.column += 1;
            self.last_char_len = 0;
            self.unreadable = None;
            return EOF;
        };
        let size = ch.len_utf8();
        self.read += size;
        self.prev_pos = self.src_pos;
        self.src_pos.column += 1;
        self.last_char_len = size;
        self.src_pos.offset += size;
        self.unreadable = Some(size);
        if ch == '\n' {
            self.src_pos.line += 1;
            self.last_line_len = self.src_pos.column;
            self.src_pos.column = 0;
        }
        ch
    }

    pub(super) fn unread(&mut self) {
        // Go panics when it unreads after the end of input; here the read
        // offset simply stays put.
        if let Some(size) = self.unreadable.take() {
            self.read -= size;
        }
        self.src_pos = self.prev_pos;
    }

    pub(super) fn peek(&mut self) -> char {
        // A peek spends the one unread that bytes.Buffer allows.
        self.unreadable = None;
        self.src
            .get(self.read..)
            .and_then(|s| s.chars().next())
            .unwrap_or(EOF)
    }

    /// The position of the character read last, where errors point.
    fn recent_position(&self) -> Pos {
        let offset = self.src_pos.offset.saturating_sub(self.last_char_len);
        if self.src_pos.column > 0 {
            Pos {
                offset,
                line: self.src_pos.line,
                column: self.src_pos.column,
            }
        } else if self.last_line_len > 0 {
            Pos {
                offset,
                line: self.src_pos.line - 1,
                column: self.last_line_len,
            }
        } else {
            Pos {
                offset,
                line: 1,
                column: 1,
            }
        }
    }

    pub(super) fn err(&mut self, msg: &str) {
        self.error = Some((self.recent_position(), msg.to_string()));
    }

    /// The next token; comments are tokens too.
    pub fn scan(&mut self) -> Token {
        let (ch, tok_start, pos) = self.token_start();

        let kind = if is_letter(ch) {
            let lit = self.scan_identifier();
            if lit == "true" || lit == "false" {
                Kind::Bool
            } else {
                Kind::Ident
            }
        } else if is_decimal(ch) {
            self.scan_number(ch)
        } else {
            match ch {
                EOF => Kind::Eof,
                '"' => {
                    self.scan_string();
                    Kind::String
                }
                '#' | '/' => {
                    self.scan_comment(ch);
                    Kind::Comment
                }
                '.' => {
                    let ch = self.peek();
                    if is_decimal(ch) {
                        let ch = self.scan_mantissa(ch);
                        self.scan_exponent(ch);
                        Kind::Float
                    } else {
                        Kind::Period
                    }
                }
                '<' => {
                    self.scan_heredoc();
                    Kind::Heredoc
                }
                '[' => Kind::LBrack,
                ']' => Kind::RBrack,
                '{' => Kind::LBrace,
                '}' => Kind::RBrace,
                ',' => Kind::Comma,
                '=' => Kind::Assign,
                '+' => Kind::Add,
                '-' => {
                    if is_decimal(self.peek()) {
                        let ch = self.next();
                        self.scan_number(ch)
                    } else {
                        Kind::Sub
                    }
                }
                _ => {
                    self.err("illegal char");
                    Kind::Illegal
                }
            }
        };

        let text = self
            .src
            .get(tok_start..self.src_pos.offset)
            .unwrap_or("")
            .to_string();
        Token {
            kind,
            pos,
            text,
            json: false,
        }
    }

    /// Skips whitespace and reads the first character of the next token,
    /// returning it with the token's start offset and position.
    pub(super) fn token_start(&mut self) -> (char, usize, Pos) {
        let mut ch = self.next();
        while is_whitespace(ch) {
            ch = self.next();
        }
        let start = self.src_pos.offset.saturating_sub(self.last_char_len);
        let pos = if self.src_pos.column > 0 {
            Pos {
                offset: start,
                line: self.src_pos.line,
                column: self.src_pos.column,
            }
        } else {
            Pos {
                offset: start,
                line: self.src_pos.line.saturating_sub(1),
                column: self.last_line_len,
            }
        };
        (ch, start, pos)
    }

    fn scan_identifier(&mut self) -> &'a str {
        let start = self.src_pos.offset.saturating_sub(self.last_char_len);
        let mut ch = self.next();
        while is_letter(ch) || is_digit(ch) || ch == '-' || ch == '.' {
            ch = self.next();
        }
        if ch != EOF {
            self.unread();
        }
        self.src.get(start..self.src_pos.offset).unwrap_or("")
    }

    fn scan_comment(&mut self, mut ch: char) {
        if ch == '#' || (ch == '/' && self.peek() != '*') {
            if ch == '/' && self.peek() != '/' {
                self.err("expected '/' for comment");
                return;
            }
            ch = self.next();
            while ch != '\n' && ch != EOF {
                ch = self.next();
            }
            if ch != EOF {
                self.unread();
            }
            return;
        }
        if ch == '/' {
            self.next();
            ch = self.next();
        }
        loop {
            if ch == EOF {
                self.err("comment not terminated");
                break;
            }
            let before = ch;
            ch = self.next();
            if before == '*' && ch == '/' {
                break;
            }
        }
    }

    fn scan_number(&mut self, mut ch: char) -> Kind {
        if ch == '0' {
            ch = self.next();
            if ch == 'x' || ch == 'X' {
                ch = self.next();
                let mut found = false;
                while ch.is_ascii_hexdigit() {
                    ch = self.next();
                    found = true;
                }
                if !found {
                    self.err("illegal hexadecimal number");
                }
                if ch != EOF {
                    self.unread();
                }
                return Kind::Number;
            }

            // Go tests the character *after* each digit, so `08` passes
            // the scanner and only fails when the number is decoded.
            let mut illegal_octal = false;
            while is_decimal(ch) {
                ch = self.next();
                if ch == '8' || ch == '9' {
                    illegal_octal = true;
                }
            }
            if ch == 'e' || ch == 'E' {
                self.scan_exponent(ch);
                return Kind::Float;
            }
            if ch == '.' {
                ch = self.scan_fraction(ch);
                if ch == 'e' || ch == 'E' {
                    ch = self.next();
                    self.scan_exponent(ch);
                }
                return Kind::Float;
            }
            if illegal_octal {
                self.err("illegal octal number");
            }
            if ch != EOF {
                self.unread();
            }
            return Kind::Number;
        }

        self.scan_mantissa(ch);
        ch = self.next();
        if ch == 'e' || ch == 'E' {
            self.scan_exponent(ch);
            return Kind::Float;
        }
        if ch == '.' {
            ch = self.scan_fraction(ch);
            if ch == 'e' || ch == 'E' {
                ch = self.next();
                self.scan_exponent(ch);
            }
            return Kind::Float;
        }
        if ch != EOF {
            self.unread();
        }
        Kind::Number
    }

    pub(super) fn scan_mantissa(&mut self, mut ch: char) -> char {
        let mut scanned = false;
        while is_decimal(ch) {
            ch = self.next();
            scanned = true;
        }
        if scanned && ch != EOF {
            self.unread();
        }
        ch
    }

    pub(super) fn scan_fraction(&mut self, mut ch: char) -> char {
        if ch == '.' {
            ch = self.peek();
            ch = self.scan_mantissa(ch);
        }
        ch
    }

    pub(super) fn scan_exponent(&mut self, mut ch: char) -> char {
        if ch == 'e' || ch == 'E' {
            ch = self.next();
            if ch == '-' || ch == '+' {
                ch = self.next();
            }
            ch = self.scan_mantissa(ch);
        }
        ch
    }

    fn scan_heredoc(&mut self) {
        if self.next() != '<' {
            self.err("heredoc expected second '<', didn't see it");
            return;
        }
        let anchor_start = self.src_pos.offset;
        let mut ch = self.next();
        if ch == '-' {
            ch = self.next();
        }
        while is_letter(ch) || is_digit(ch) {
            ch = self.next();
        }
        if ch == EOF {
            self.err("heredoc not terminated");
            return;
        }
        if ch == '\r' && self.peek() == '\n' {
            ch = self.next();
        }
        if ch != '\n' {
            self.err("invalid characters in heredoc anchor");
            return;
        }
        let anchor_end = self.src_pos.offset - self.last_char_len;
        let anchor = self.src.get(anchor_start..anchor_end).unwrap_or("");
        if anchor.is_empty() {
            self.err("zero-length heredoc anchor");
            return;
        }
        // Go matches `[[:space:]]*ANCHOR\z` unanchored at the start: any
        // line that merely ends with the anchor closes the heredoc.
        let ident = anchor.strip_prefix('-').unwrap_or(anchor);

        let mut line_start = self.src_pos.offset;
        loop {
            let ch = self.next();
            if ch == '\n' {
                let line_end = self.src_pos.offset - self.last_char_len;
                let line = self.src.get(line_start..line_end).unwrap_or("");
                if line.len() >= anchor.len() && line.ends_with(ident) {
                    break;
                }
                line_start = self.src_pos.offset;
            }
            if ch == EOF {
                self.err("heredoc not terminated");
                return;
            }
        }
    }

    fn scan_string(&mut self) {
        let mut braces = 0usize;
        loop {
            let ch = self.next();
            if ch == EOF {
                self.err("literal not terminated");
                return;
            }
            if ch == '"' && braces == 0 {
                break;
            }
            // Inside `${…}` quotes do not end the string.
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
                self.scan_escape();
            }
        }
    }

    fn scan_escape(&mut self) {
        let ch = self.next();
        match ch {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' | '"' => {}
            '0'..='7' => self.scan_digits(ch, 8, 3),
            'x' => {
                let ch = self.next();
                self.scan_digits(ch, 16, 2)
            }
            'u' => {
                let ch = self.next();
                self.scan_digits(ch, 16, 4)
            }
            'U' => {
                let ch = self.next();
                self.scan_digits(ch, 16, 8)
            }
            _ => self.err("illegal char escape"),
        }
    }

    fn scan_digits(&mut self, mut ch: char, base: u32, count: usize) {
        let mut left = count;
        while left > 0 && ch.to_digit(16).is_some_and(|d| d < base) {
            ch = self.next();
            if ch == EOF {
                break;
            }
            left -= 1;
        }
        if left > 0 {
            self.err("illegal char escape");
        }
        if left != count {
            self.unread();
        }
    }
}

pub(super) fn is_letter(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_' || (ch as u32 >= 0x80 && ch.is_alphabetic())
}

pub(super) fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit() || (ch as u32 >= 0x80 && ch.is_numeric())
}

pub(super) fn is_decimal(ch: char) -> bool {
    ch.is_ascii_digit()
}

fn is_whitespace(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\n' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        let mut s = Scanner::new(src);
        let mut out = Vec::new();
        loop {
            let t = s.scan();
            if t.kind == Kind::Eof {
                return out;
            }
            out.push((t.kind, t.text));
        }
    }

    #[test]
    fn tokens_and_texts() {
        let got = kinds("job \"x\" { a = 1.5e3 b = [0x1F, -2] # c\n c = true }");
        let want = [
            (Kind::Ident, "job"),
            (Kind::String, "\"x\""),
            (Kind::LBrace, "{"),
            (Kind::Ident, "a"),
            (Kind::Assign, "="),
            (Kind::Float, "1.5e3"),
            (Kind::Ident, "b"),
            (Kind::Assign, "="),
            (Kind::LBrack, "["),
            (Kind::Number, "0x1F"),
            (Kind::Comma, ","),
            (Kind::Number, "-2"),
            (Kind::RBrack, "]"),
            (Kind::Comment, "# c"),
            (Kind::Ident, "c"),
            (Kind::Assign, "="),
            (Kind::Bool, "true"),
            (Kind::RBrace, "}"),
        ];
        let want: Vec<(Kind, String)> = want.iter().map(|(k, t)| (*k, t.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn positions_count_characters() {
        let mut s = Scanner::new("a\n\tbé = 1");
        assert_eq!(
            s.scan().pos,
            Pos {
                offset: 0,
                line: 1,
                column: 1
            }
        );
        let t = s.scan();
        assert_eq!(
            (t.text.as_str(), t.pos),
            (
                "bé",
                Pos {
                    offset: 3,
                    line: 2,
                    column: 2
                }
            )
        );
        let t = s.scan();
        assert_eq!(
            t.pos,
            Pos {
                offset: 7,
                line: 2,
                column: 5
            }
        );
    }

    #[test]
    fn heredocs_end_on_a_line_ending_with_the_anchor() {
        let got = kinds("x = <<EOF\nhello\n  EOF\ny = 1");
        assert_eq!(got[2], (Kind::Heredoc, "<<EOF\nhello\n  EOF\n".into()));
        assert_eq!(got[3], (Kind::Ident, "y".into()));
        let mut s = Scanner::new("x = <<EOF\nhello\n");
        while s.scan().kind != Kind::Eof {}
        assert_eq!(
            s.error.as_ref().map(|(p, m)| (*p, m.as_str())),
            Some((
                Pos {
                    offset: 16,
                    line: 3,
                    column: 1
                },
                "heredoc not terminated"
            ))
        );
    }

    #[test]
    fn scanner_errors_point_at_the_last_character() {
        let mut s = Scanner::new("a = @");
        s.scan();
        s.scan();
        assert_eq!(s.scan().kind, Kind::Illegal);
        assert_eq!(
            s.error.as_ref().map(|(p, m)| (*p, m.as_str())),
            Some((
                Pos {
                    offset: 4,
                    line: 1,
                    column: 5
                },
                "illegal char"
            ))
        );

        let mut s = Scanner::new("a = \"x\\q\"");
        s.scan();
        s.scan();
        s.scan();
        assert_eq!(
            s.error.as_ref().map(|(p, m)| (*p, m.as_str())),
            Some((
                Pos {
                    offset: 7,
                    line: 1,
                    column: 8
                },
                "illegal char escape"
            ))
        );
    }

    #[test]
    fn quirks_kept() {
        // `08` is left to the decoder; `089` is refused here.
        assert_eq!(kinds("08"), vec![(Kind::Number, "08".into())]);
        let mut s = Scanner::new("089");
        s.scan();
        assert_eq!(
            s.error.map(|e| e.1).as_deref(),
            Some("illegal octal number")
        );
        // A NUL ends the input when a token starts there.
        assert_eq!(
            kinds("a\0b"),
            vec![(Kind::Ident, "a\0".into()), (Kind::Ident, "b".into())]
        );
        assert_eq!(kinds("\0b"), vec![]);
        // Interpolations may hold quotes.
        assert_eq!(
            kinds("\"${a(\"b\")}\""),
            vec![(Kind::String, "\"${a(\"b\")}\"".into())]
        );
    }
}
